//! The command-line layer: the node's configuration flags, for the binary to `#[command(flatten)]`.
//!
//! Flags stay strings here (only names with a fixed set of values are checked by clap, so that
//! `--help` lists them); [`crate::resolve`] checks the rest exactly as it checks the TOML file and
//! the environment, so a bad address gets the same message whichever layer gave it.

use crate::raw::{RawLog, RawOptions, RawStratum};
use clap::builder::PossibleValuesParser;
use otedama_proto::chain::{Coin, Network};
use std::path::PathBuf;

/// The log levels `--log-level` and `[log] level` accept.
pub const LOG_LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];

/// The node's configuration flags. Every flag also works as a TOML key and as an `OTEDAMA_*`
/// environment variable; a flag beats the environment, which beats the file.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct NodeArgs {
    /// TOML configuration file [env: OTEDAMA_CONFIG]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Coin to pool [default: litecoin]
    #[arg(long, value_name = "COIN", value_parser = PossibleValuesParser::new(Coin::ALL.map(Coin::name)))]
    pub coin: Option<String>,

    /// The coin's network (Litecoin has no signet) [default: mainnet]
    #[arg(long, value_name = "NETWORK", value_parser = PossibleValuesParser::new(Network::ALL.map(Network::name)))]
    pub network: Option<String>,

    /// Directory for the node's state [default: ~/.otedama/COIN-NETWORK]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Coin daemon JSON-RPC URL, http://HOST:PORT; repeat for failovers, tried in order
    /// [default: http://127.0.0.1:RPC_PORT of the coin and network]
    #[arg(long, value_name = "URL", help_heading = "Coin daemon")]
    pub daemon_url: Vec<String>,

    /// Daemon RPC user (with --daemon-password)
    #[arg(long, value_name = "USER", help_heading = "Coin daemon")]
    pub daemon_user: Option<String>,

    /// Daemon RPC password (with --daemon-user); prefer OTEDAMA_DAEMON_PASSWORD, which `ps`
    /// does not show
    #[arg(long, value_name = "PASSWORD", help_heading = "Coin daemon")]
    pub daemon_password: Option<String>,

    /// Daemon cookie file, instead of user and password
    /// [default: the daemon's own, e.g. ~/.litecoin/.cookie]
    #[arg(long, value_name = "FILE", help_heading = "Coin daemon")]
    pub daemon_cookie: Option<PathBuf>,

    /// A daemon's ZMQ `hashblock` publisher, tcp://HOST:PORT (its -zmqpubhashblock), for
    /// hearing of new blocks at once; repeat for one per daemon URL: an announcement from any
    /// brings a new template. Long-poll and a 500 ms tip poll remain the fallback
    #[arg(long, value_name = "tcp://HOST:PORT", help_heading = "Coin daemon")]
    pub daemon_zmq: Vec<String>,

    /// Stratum server address, IP:PORT [default: 0.0.0.0:9327 for Litecoin mainnet]
    #[arg(long, value_name = "IP:PORT", help_heading = "Services")]
    pub stratum: Option<String>,

    /// HTTP API address, IP:PORT [default: 127.0.0.1:9329 for Litecoin mainnet]
    #[arg(long, value_name = "IP:PORT", help_heading = "Services")]
    pub api: Option<String>,

    /// Peer-to-peer listening multiaddress [default: /ip4/0.0.0.0/tcp/9328 for Litecoin mainnet]
    #[arg(long, value_name = "MULTIADDR", help_heading = "Services")]
    pub p2p: Option<String>,

    /// Peer to contact first, e.g. /ip4/203.0.113.5/tcp/9328/p2p/12D3KooW…; repeatable
    #[arg(long, value_name = "MULTIADDR", help_heading = "Services")]
    pub bootstrap: Vec<String>,

    /// Apply the cap on inbound connections per address and bans by address to loopback peers
    /// too (nodes on one machine all connect from 127.0.0.1) [default: false]
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", help_heading = "Services")]
    pub p2p_limit_loopback: Option<bool>,

    /// Lowest share difficulty given to a miner, fractional allowed [default: 0.001]
    #[arg(long, value_name = "DIFF", help_heading = "Stratum tuning")]
    pub stratum_min_difficulty: Option<f64>,

    /// Seconds between shares that vardiff aims at, per connection [default: 5]
    #[arg(long, value_name = "SECS", help_heading = "Stratum tuning")]
    pub stratum_vardiff_target_secs: Option<u32>,

    /// Most Stratum connections held at once [default: 10000]
    #[arg(long, value_name = "N", help_heading = "Stratum tuning")]
    pub stratum_max_connections: Option<u32>,

    /// Log level when RUST_LOG is not set (-v is debug, -vv trace) [default: info]
    #[arg(long, value_name = "LEVEL", value_parser = PossibleValuesParser::new(LOG_LEVELS))]
    pub log_level: Option<String>,
}

impl NodeArgs {
    /// The settings these flags give, as a layer.
    pub fn to_raw(&self) -> RawOptions {
        let list = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
        RawOptions {
            coin: self.coin.clone(),
            network: self.network.clone(),
            data_dir: self.data_dir.clone(),
            daemon_url: list(&self.daemon_url),
            daemon_user: self.daemon_user.clone(),
            daemon_password: self.daemon_password.clone(),
            daemon_cookie: self.daemon_cookie.clone(),
            daemon_zmq: list(&self.daemon_zmq),
            api: self.api.clone(),
            p2p: self.p2p.clone(),
            bootstrap: list(&self.bootstrap),
            p2p_limit_loopback: self.p2p_limit_loopback,
            stratum: RawStratum {
                listen: self.stratum.clone(),
                min_difficulty: self.stratum_min_difficulty,
                vardiff_target_secs: self.stratum_vardiff_target_secs,
                max_connections: self.stratum_max_connections,
            },
            log: RawLog {
                level: self.log_level.clone(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: NodeArgs,
    }

    fn parse(argv: &[&str]) -> Result<NodeArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("otedama").chain(argv.iter().copied())).map(|c| c.args)
    }

    #[test]
    fn every_flag_lands_in_its_field() {
        let args = parse(&[
            "--config=/c.toml",
            "--coin=bitcoin",
            "--network=signet",
            "--data-dir=/d",
            "--daemon-url=http://a:1",
            "--daemon-url=http://b:2",
            "--daemon-user=u",
            "--daemon-password=p",
            "--daemon-cookie=/k",
            "--daemon-zmq=tcp://127.0.0.1:28332",
            "--stratum=0.0.0.0:1",
            "--api=127.0.0.1:2",
            "--p2p=/ip4/0.0.0.0/tcp/3",
            "--bootstrap=/ip4/1.1.1.1/tcp/3",
            "--bootstrap=/ip4/2.2.2.2/tcp/3",
            "--p2p-limit-loopback=false",
            "--stratum-min-difficulty=0.25",
            "--stratum-vardiff-target-secs=3",
            "--stratum-max-connections=4",
            "--log-level=trace",
        ])
        .expect("valid flags");
        assert_eq!(args.config, Some("/c.toml".into()));
        let raw = args.to_raw();
        assert_eq!(raw.coin.as_deref(), Some("bitcoin"));
        assert_eq!(raw.network.as_deref(), Some("signet"));
        assert_eq!(raw.data_dir, Some("/d".into()));
        assert_eq!(
            raw.daemon_url,
            Some(vec!["http://a:1".into(), "http://b:2".into()])
        );
        assert_eq!(raw.daemon_user.as_deref(), Some("u"));
        assert_eq!(raw.daemon_password.as_deref(), Some("p"));
        assert_eq!(raw.daemon_cookie, Some("/k".into()));
        assert_eq!(raw.daemon_zmq, Some(vec!["tcp://127.0.0.1:28332".into()]));
        assert_eq!(raw.stratum.listen.as_deref(), Some("0.0.0.0:1"));
        assert_eq!(raw.api.as_deref(), Some("127.0.0.1:2"));
        assert_eq!(raw.p2p.as_deref(), Some("/ip4/0.0.0.0/tcp/3"));
        assert_eq!(raw.bootstrap.as_ref().map(Vec::len), Some(2));
        assert_eq!(raw.p2p_limit_loopback, Some(false));
        assert_eq!(raw.stratum.min_difficulty, Some(0.25));
        assert_eq!(raw.stratum.vardiff_target_secs, Some(3));
        assert_eq!(raw.stratum.max_connections, Some(4));
        assert_eq!(raw.log.level.as_deref(), Some("trace"));
    }

    #[test]
    fn a_bare_switch_turns_loopback_limits_on() {
        let raw = parse(&["--p2p-limit-loopback"]).expect("valid").to_raw();
        assert_eq!(raw.p2p_limit_loopback, Some(true));
        assert_eq!(parse(&[]).expect("valid").to_raw().p2p_limit_loopback, None);
    }

    #[test]
    fn daemon_zmq_may_be_repeated_and_keeps_its_order() {
        let raw = parse(&[
            "--daemon-zmq=tcp://10.0.0.2:28332",
            "--daemon-zmq",
            "tcp://127.0.0.1:28332",
        ])
        .expect("valid flags")
        .to_raw();
        assert_eq!(
            raw.daemon_zmq,
            Some(vec![
                "tcp://10.0.0.2:28332".into(),
                "tcp://127.0.0.1:28332".into()
            ])
        );
    }

    #[test]
    fn no_flags_give_an_empty_layer() {
        assert_eq!(
            parse(&[]).expect("no flags").to_raw(),
            RawOptions::default()
        );
    }

    #[test]
    fn unknown_coin_is_refused_by_clap_with_the_choices() {
        let err = parse(&["--coin=dogecoin"]).unwrap_err().to_string();
        assert!(err.contains("litecoin") && err.contains("bitcoin"), "{err}");
    }
}
