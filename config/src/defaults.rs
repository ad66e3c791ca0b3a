//! Built-in defaults: the lowest layer.
//!
//! Otedama's own ports follow one rule so that a node of every coin and network can run on one
//! machine, and none of them collides with a coin daemon's default RPC or P2P port:
//!
//! | | base | Stratum | P2P | API |
//! |---|---|---|---|---|
//! | Litecoin | 9320 | base + 7 = 9327 | base + 8 = 9328 | base + 9 = 9329 |
//! | Bitcoin | 9340 | base + 7 = 9347 | base + 8 = 9348 | base + 9 = 9349 |
//!
//! plus 10000 on testnet, 20000 on signet and 30000 on regtest (Litecoin regtest Stratum is 39327).
//! Stratum and P2P listen on every interface, the API only on loopback (it is read-only, but not
//! meant for the open internet). The coin daemon's address comes from [`ChainParams`]; its cookie
//! file from the daemon's own data-directory layout.

use otedama_proto::chain::{ChainParams, Coin, Network};
use std::path::{Path, PathBuf};

/// The coin when none is given.
pub const COIN: Coin = Coin::Litecoin;
/// The network when none is given.
pub const NETWORK: Network = Network::Mainnet;
/// The floor of a miner's share difficulty. Low enough that one CPU thread finds sha256d shares
/// several times a second; vardiff raises every faster miner above it.
pub const MIN_DIFFICULTY: f64 = 0.001;
/// Seconds between one connection's shares that vardiff aims at.
pub const VARDIFF_TARGET_SECS: u32 = 5;
/// Stratum connections held at once (the node is measured at 5,000).
pub const MAX_CONNECTIONS: u32 = 10_000;

fn port_base(coin: Coin, network: Network) -> u16 {
    let coin_base = match coin {
        Coin::Litecoin => 9320,
        Coin::Bitcoin => 9340,
    };
    let network_offset = match network {
        Network::Mainnet => 0,
        Network::Testnet => 10_000,
        Network::Signet => 20_000,
        Network::Regtest => 30_000,
    };
    coin_base + network_offset
}

/// The default Stratum port.
pub fn stratum_port(coin: Coin, network: Network) -> u16 {
    port_base(coin, network) + 7
}

/// The default peer-to-peer port.
pub fn p2p_port(coin: Coin, network: Network) -> u16 {
    port_base(coin, network) + 8
}

/// The default HTTP API port.
pub fn api_port(coin: Coin, network: Network) -> u16 {
    port_base(coin, network) + 9
}

/// The default data directory: `~/.otedama/<coin>-<network>`.
pub fn data_dir(home: &Path, coin: Coin, network: Network) -> PathBuf {
    home.join(".otedama").join(format!("{coin}-{network}"))
}

/// The default daemon URL: the coin daemon's default RPC port on loopback.
pub fn daemon_url(params: &ChainParams) -> String {
    format!("http://127.0.0.1:{}", params.rpc_port)
}

/// The cookie file the coin daemon writes by default on Linux: `~/.litecoin/.cookie`,
/// `~/.bitcoin/testnet3/.cookie`, …
// TODO(proto): the daemon's data-directory names are per-coin, per-network parameters and belong
// in `ChainParams`; they are here until it has them.
pub fn daemon_cookie(home: &Path, coin: Coin, network: Network) -> PathBuf {
    let dir = match coin {
        Coin::Litecoin => ".litecoin",
        Coin::Bitcoin => ".bitcoin",
    };
    let sub = match (coin, network) {
        (_, Network::Mainnet) => None,
        (Coin::Litecoin, Network::Testnet) => Some("testnet4"),
        (Coin::Bitcoin, Network::Testnet) => Some("testnet3"),
        (_, Network::Signet) => Some("signet"),
        (_, Network::Regtest) => Some("regtest"),
    };
    let base = home.join(dir);
    match sub {
        Some(sub) => base.join(sub).join(".cookie"),
        None => base.join(".cookie"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn no_two_defaults_share_a_port_and_none_is_a_daemon_port() {
        let mut ours = HashSet::new();
        for p in ChainParams::all() {
            for port in [
                stratum_port(p.coin, p.network),
                p2p_port(p.coin, p.network),
                api_port(p.coin, p.network),
            ] {
                assert!(ours.insert(port), "port {port} used twice");
            }
        }
        for p in ChainParams::all() {
            assert!(!ours.contains(&p.rpc_port), "{} {}", p.coin, p.network);
            assert!(!ours.contains(&p.p2p_port), "{} {}", p.coin, p.network);
        }
    }

    #[test]
    fn documented_ports() {
        assert_eq!(stratum_port(Coin::Litecoin, Network::Mainnet), 9327);
        assert_eq!(p2p_port(Coin::Litecoin, Network::Mainnet), 9328);
        assert_eq!(api_port(Coin::Litecoin, Network::Mainnet), 9329);
        assert_eq!(stratum_port(Coin::Bitcoin, Network::Mainnet), 9347);
        assert_eq!(stratum_port(Coin::Litecoin, Network::Regtest), 39327);
    }

    #[test]
    fn cookie_paths_follow_the_daemons_layout() {
        let home = Path::new("/h");
        assert_eq!(
            daemon_cookie(home, Coin::Litecoin, Network::Mainnet),
            Path::new("/h/.litecoin/.cookie")
        );
        assert_eq!(
            daemon_cookie(home, Coin::Litecoin, Network::Testnet),
            Path::new("/h/.litecoin/testnet4/.cookie")
        );
        assert_eq!(
            daemon_cookie(home, Coin::Bitcoin, Network::Testnet),
            Path::new("/h/.bitcoin/testnet3/.cookie")
        );
        assert_eq!(
            daemon_cookie(home, Coin::Bitcoin, Network::Regtest),
            Path::new("/h/.bitcoin/regtest/.cookie")
        );
    }
}
