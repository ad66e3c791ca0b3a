//! The coins and networks Otedama mines, and every per-coin, per-network parameter in one place.
//!
//! [`ChainParams`] holds what the rest of the node needs to know about one (coin, network) pair:
//! address prefixes, default daemon ports, the genesis block, the block-time and subsidy schedule,
//! and the proof-of-work limit. Every constant was checked against the coin daemons' own
//! `chainparams.cpp` / `chainparamsbase.cpp` (Bitcoin Core `src/kernel/`, Litecoin Core 0.21);
//! the unit tests below rebuild each genesis block from its parts to prove the hashes.

use std::fmt;
use std::str::FromStr;

/// A coin Otedama can pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Coin {
    /// Litecoin: scrypt proof of work.
    Litecoin,
    /// Bitcoin: sha256d proof of work.
    Bitcoin,
}

/// Which of a coin's networks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Network {
    /// The real network, where coins have value.
    Mainnet,
    /// The public test network (Bitcoin testnet3, Litecoin testnet4).
    Testnet,
    /// Bitcoin's signet. Litecoin has none.
    Signet,
    /// A private regression-test network with trivial difficulty.
    Regtest,
}

/// The proof-of-work function of a coin's block headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PowAlgo {
    /// Double SHA-256 of the 80-byte header (Bitcoin).
    Sha256d,
    /// scrypt with N=1024, r=1, p=1 of the 80-byte header, salted with itself (Litecoin).
    Scrypt,
}

impl Coin {
    /// Every coin, in a fixed order.
    pub const ALL: [Coin; 2] = [Coin::Litecoin, Coin::Bitcoin];

    /// The lower-case name used in configuration and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Coin::Litecoin => "litecoin",
            Coin::Bitcoin => "bitcoin",
        }
    }

    /// The proof-of-work function of the coin's headers.
    pub fn pow_algo(self) -> PowAlgo {
        match self {
            Coin::Litecoin => PowAlgo::Scrypt,
            Coin::Bitcoin => PowAlgo::Sha256d,
        }
    }
}

impl Network {
    /// Every network, in a fixed order.
    pub const ALL: [Network; 4] = [
        Network::Mainnet,
        Network::Testnet,
        Network::Signet,
        Network::Regtest,
    ];

    /// The lower-case name used in configuration and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Network::Mainnet => "mainnet",
            Network::Testnet => "testnet",
            Network::Signet => "signet",
            Network::Regtest => "regtest",
        }
    }
}

impl PowAlgo {
    /// The lower-case name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            PowAlgo::Sha256d => "sha256d",
            PowAlgo::Scrypt => "scrypt",
        }
    }
}

/// A name on the command line or in configuration that is not a known coin, network or algorithm.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{given}` (expected one of: {expected})")]
pub struct UnknownName {
    kind: &'static str,
    given: String,
    expected: String,
}

fn parse_name<T: Copy>(
    kind: &'static str,
    given: &str,
    all: &[T],
    name: fn(T) -> &'static str,
) -> Result<T, UnknownName> {
    let lower = given.trim().to_ascii_lowercase();
    all.iter()
        .copied()
        .find(|v| name(*v) == lower)
        .ok_or_else(|| UnknownName {
            kind,
            given: given.to_owned(),
            expected: all.iter().map(|v| name(*v)).collect::<Vec<_>>().join(", "),
        })
}

impl FromStr for Coin {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_name("coin", s, &Coin::ALL, Coin::name)
    }
}

impl FromStr for Network {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_name("network", s, &Network::ALL, Network::name)
    }
}

impl FromStr for PowAlgo {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_name(
            "algorithm",
            s,
            &[PowAlgo::Sha256d, PowAlgo::Scrypt],
            PowAlgo::name,
        )
    }
}

impl fmt::Display for Coin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for PowAlgo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A (coin, network) pair that does not exist, such as a Litecoin signet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{coin} has no {network} network (it has: {})", list_networks(*coin))]
pub struct UnsupportedNetwork {
    /// The coin asked for.
    pub coin: Coin,
    /// The network it does not have.
    pub network: Network,
}

fn list_networks(coin: Coin) -> String {
    coin.networks()
        .iter()
        .map(|n| n.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Everything Otedama needs to know about one network of one coin.
///
/// The values are those of the coin's reference daemon (Bitcoin Core, Litecoin Core); get them with
/// [`Coin::params`] or [`ChainParams::all`], never build one by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainParams {
    /// The coin.
    pub coin: Coin,
    /// The network.
    pub network: Network,
    /// The proof-of-work function of the coin's headers.
    pub pow_algo: PowAlgo,
    /// Base58check version byte of pay-to-pubkey-hash addresses.
    pub p2pkh_version: u8,
    /// Base58check version byte of pay-to-script-hash addresses, the one used when writing them.
    pub p2sh_version: u8,
    /// An older P2SH version byte still accepted when reading (Litecoin's `3…`/`2…` prefix, which
    /// it shares with Bitcoin; Litecoin Core decodes both and writes only the new one).
    pub p2sh_legacy_version: Option<u8>,
    /// Human-readable part of the network's bech32/bech32m segwit addresses.
    pub bech32_hrp: &'static str,
    /// Human-readable part of MWEB stealth addresses (Litecoin only). Such addresses cannot be
    /// paid by a coinbase, so they are recognised only to refuse them clearly.
    pub mweb_hrp: Option<&'static str>,
    /// The daemon's default JSON-RPC port.
    pub rpc_port: u16,
    /// The daemon's default peer-to-peer port.
    pub p2p_port: u16,
    /// The genesis block's hash, hex in display order (as block explorers show it).
    pub genesis_hash: &'static str,
    /// The target time between blocks, in seconds.
    pub block_time_secs: u32,
    /// The number of blocks between two halvings of the block subsidy.
    pub halving_interval: u32,
    /// The subsidy of the first blocks, in base units (satoshis, litoshis).
    pub initial_subsidy: u64,
    /// How many blocks a coinbase output must wait before it can be spent.
    pub coinbase_maturity: u32,
    /// Whether `getblocktemplate` must be called with the `mweb` rule (Litecoin) as well as
    /// `segwit`.
    pub gbt_needs_mweb: bool,
    /// The consensus limit on block weight (BIP 141).
    pub max_block_weight: u32,
    /// The easiest target a block may have (`powLimit`), as compact `nBits`.
    pub pow_limit_bits: u32,
}

/// One coin's worth of base units: 10^8 satoshis or litoshis.
const COIN: u64 = 100_000_000;
const MAX_BLOCK_WEIGHT: u32 = 4_000_000;
const COINBASE_MATURITY: u32 = 100;
const REGTEST_POW_LIMIT: u32 = 0x207f_ffff;

static LITECOIN_MAINNET: ChainParams = ChainParams {
    coin: Coin::Litecoin,
    network: Network::Mainnet,
    pow_algo: PowAlgo::Scrypt,
    p2pkh_version: 48,            // 'L'
    p2sh_version: 50,             // 'M'
    p2sh_legacy_version: Some(5), // '3'
    bech32_hrp: "ltc",
    mweb_hrp: Some("ltcmweb"),
    rpc_port: 9332,
    p2p_port: 9333,
    genesis_hash: "12a765e31ffd4059bada1e25190f6e98c99d9714d334efa41a195a7e7e04bfe2",
    block_time_secs: 150,
    halving_interval: 840_000,
    initial_subsidy: 50 * COIN,
    coinbase_maturity: COINBASE_MATURITY,
    gbt_needs_mweb: true,
    max_block_weight: MAX_BLOCK_WEIGHT,
    pow_limit_bits: 0x1e0f_ffff,
};

static LITECOIN_TESTNET: ChainParams = ChainParams {
    coin: Coin::Litecoin,
    network: Network::Testnet,
    pow_algo: PowAlgo::Scrypt,
    p2pkh_version: 111,             // 'm' or 'n'
    p2sh_version: 58,               // 'Q'
    p2sh_legacy_version: Some(196), // '2'
    bech32_hrp: "tltc",
    mweb_hrp: Some("tmweb"),
    rpc_port: 19332,
    p2p_port: 19335,
    genesis_hash: "4966625a4b2851d9fdee139e56211a0d88575f59ed816ff5e6a63deb4e3e29a0",
    block_time_secs: 150,
    halving_interval: 840_000,
    initial_subsidy: 50 * COIN,
    coinbase_maturity: COINBASE_MATURITY,
    gbt_needs_mweb: true,
    max_block_weight: MAX_BLOCK_WEIGHT,
    pow_limit_bits: 0x1e0f_ffff,
};

static LITECOIN_REGTEST: ChainParams = ChainParams {
    coin: Coin::Litecoin,
    network: Network::Regtest,
    pow_algo: PowAlgo::Scrypt,
    p2pkh_version: 111,
    p2sh_version: 58,
    p2sh_legacy_version: Some(196),
    bech32_hrp: "rltc",
    mweb_hrp: Some("tmweb"),
    rpc_port: 19443,
    p2p_port: 19444,
    genesis_hash: "530827f38f93b43ed12af0b3ad25a288dc02ed74d6d7857862df51fc56c416f9",
    block_time_secs: 150,
    halving_interval: 150,
    initial_subsidy: 50 * COIN,
    coinbase_maturity: COINBASE_MATURITY,
    gbt_needs_mweb: true,
    max_block_weight: MAX_BLOCK_WEIGHT,
    pow_limit_bits: REGTEST_POW_LIMIT,
};

static BITCOIN_MAINNET: ChainParams = ChainParams {
    coin: Coin::Bitcoin,
    network: Network::Mainnet,
    pow_algo: PowAlgo::Sha256d,
    p2pkh_version: 0, // '1'
    p2sh_version: 5,  // '3'
    p2sh_legacy_version: None,
    bech32_hrp: "bc",
    mweb_hrp: None,
    rpc_port: 8332,
    p2p_port: 8333,
    genesis_hash: "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f",
    block_time_secs: 600,
    halving_interval: 210_000,
    initial_subsidy: 50 * COIN,
    coinbase_maturity: COINBASE_MATURITY,
    gbt_needs_mweb: false,
    max_block_weight: MAX_BLOCK_WEIGHT,
    pow_limit_bits: 0x1d00_ffff,
};

/// Bitcoin testnet3 (the chain Bitcoin Core calls `test`, data directory `testnet3`).
static BITCOIN_TESTNET: ChainParams = ChainParams {
    coin: Coin::Bitcoin,
    network: Network::Testnet,
    pow_algo: PowAlgo::Sha256d,
    p2pkh_version: 111, // 'm' or 'n'
    p2sh_version: 196,  // '2'
    p2sh_legacy_version: None,
    bech32_hrp: "tb",
    mweb_hrp: None,
    rpc_port: 18332,
    p2p_port: 18333,
    genesis_hash: "000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943",
    block_time_secs: 600,
    halving_interval: 210_000,
    initial_subsidy: 50 * COIN,
    coinbase_maturity: COINBASE_MATURITY,
    gbt_needs_mweb: false,
    max_block_weight: MAX_BLOCK_WEIGHT,
    pow_limit_bits: 0x1d00_ffff,
};

/// The default public signet (challenge `512103ad5e…52ae`); a custom signet has other blocks.
static BITCOIN_SIGNET: ChainParams = ChainParams {
    coin: Coin::Bitcoin,
    network: Network::Signet,
    pow_algo: PowAlgo::Sha256d,
    p2pkh_version: 111,
    p2sh_version: 196,
    p2sh_legacy_version: None,
    bech32_hrp: "tb",
    mweb_hrp: None,
    rpc_port: 38332,
    p2p_port: 38333,
    genesis_hash: "00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6",
    block_time_secs: 600,
    halving_interval: 210_000,
    initial_subsidy: 50 * COIN,
    coinbase_maturity: COINBASE_MATURITY,
    gbt_needs_mweb: false,
    max_block_weight: MAX_BLOCK_WEIGHT,
    pow_limit_bits: 0x1e03_77ae,
};

static BITCOIN_REGTEST: ChainParams = ChainParams {
    coin: Coin::Bitcoin,
    network: Network::Regtest,
    pow_algo: PowAlgo::Sha256d,
    p2pkh_version: 111,
    p2sh_version: 196,
    p2sh_legacy_version: None,
    bech32_hrp: "bcrt",
    mweb_hrp: None,
    rpc_port: 18443,
    p2p_port: 18444,
    genesis_hash: "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206",
    block_time_secs: 600,
    halving_interval: 150,
    initial_subsidy: 50 * COIN,
    coinbase_maturity: COINBASE_MATURITY,
    gbt_needs_mweb: false,
    max_block_weight: MAX_BLOCK_WEIGHT,
    pow_limit_bits: REGTEST_POW_LIMIT,
};

static ALL_PARAMS: [&ChainParams; 7] = [
    &LITECOIN_MAINNET,
    &LITECOIN_TESTNET,
    &LITECOIN_REGTEST,
    &BITCOIN_MAINNET,
    &BITCOIN_TESTNET,
    &BITCOIN_SIGNET,
    &BITCOIN_REGTEST,
];

impl Coin {
    /// The networks the coin has, in [`Network::ALL`] order.
    pub fn networks(self) -> &'static [Network] {
        match self {
            Coin::Litecoin => &[Network::Mainnet, Network::Testnet, Network::Regtest],
            Coin::Bitcoin => &Network::ALL,
        }
    }

    /// The parameters of one of the coin's networks, or an error for a network it does not have
    /// (Litecoin has no signet).
    pub fn params(self, network: Network) -> Result<&'static ChainParams, UnsupportedNetwork> {
        match (self, network) {
            (Coin::Litecoin, Network::Mainnet) => Ok(&LITECOIN_MAINNET),
            (Coin::Litecoin, Network::Testnet) => Ok(&LITECOIN_TESTNET),
            (Coin::Litecoin, Network::Regtest) => Ok(&LITECOIN_REGTEST),
            (Coin::Litecoin, Network::Signet) => Err(UnsupportedNetwork {
                coin: self,
                network,
            }),
            (Coin::Bitcoin, Network::Mainnet) => Ok(&BITCOIN_MAINNET),
            (Coin::Bitcoin, Network::Testnet) => Ok(&BITCOIN_TESTNET),
            (Coin::Bitcoin, Network::Signet) => Ok(&BITCOIN_SIGNET),
            (Coin::Bitcoin, Network::Regtest) => Ok(&BITCOIN_REGTEST),
        }
    }
}

impl ChainParams {
    /// The parameters of every supported (coin, network) pair, Litecoin first.
    pub fn all() -> impl Iterator<Item = &'static ChainParams> {
        ALL_PARAMS.iter().copied()
    }

    /// The block subsidy at `height`, in base units: the initial subsidy halved once per
    /// completed halving interval, and zero once it has been halved 64 times (as in both daemons'
    /// `GetBlockSubsidy`).
    pub fn subsidy(&self, height: u32) -> u64 {
        let halvings = height / self.halving_interval;
        if halvings >= 64 {
            0
        } else {
            self.initial_subsidy >> halvings
        }
    }

    /// The genesis block's hash as a `bitcoin` block hash.
    pub fn genesis_block_hash(&self) -> bitcoin::BlockHash {
        self.genesis_hash
            .parse()
            .expect("genesis hashes in the chain table are 64 hex digits")
    }

    /// The `rules` to pass to `getblocktemplate`.
    pub fn gbt_rules(&self) -> &'static [&'static str] {
        if self.gbt_needs_mweb {
            &["mweb", "segwit"]
        } else {
            &["segwit"]
        }
    }

    /// Whether `version` is a P2SH version byte this network reads (the current or the legacy one).
    pub fn accepts_p2sh_version(&self, version: u8) -> bool {
        version == self.p2sh_version || self.p2sh_legacy_version == Some(version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::blockdata::constants::genesis_block;
    use bitcoin::hashes::Hash;
    use bitcoin::{absolute, block, opcodes, script, transaction, Amount, Target, TxMerkleNode};

    fn every_pair() -> impl Iterator<Item = (Coin, Network)> {
        Coin::ALL
            .into_iter()
            .flat_map(|c| c.networks().iter().map(move |n| (c, *n)))
    }

    #[test]
    fn every_pair_has_its_own_params() {
        let mut seen = 0;
        for (coin, network) in every_pair() {
            let p = coin.params(network).expect("listed network");
            assert_eq!((p.coin, p.network), (coin, network));
            assert_eq!(p.pow_algo, coin.pow_algo());
            seen += 1;
        }
        assert_eq!(seen, 7);
        assert_eq!(ChainParams::all().count(), 7);
        for p in ChainParams::all() {
            assert_eq!(p.coin.params(p.network), Ok(p));
        }
    }

    #[test]
    fn litecoin_signet_is_a_clear_error() {
        let err = Coin::Litecoin.params(Network::Signet).unwrap_err();
        assert_eq!(
            err,
            UnsupportedNetwork {
                coin: Coin::Litecoin,
                network: Network::Signet
            }
        );
        assert_eq!(
            err.to_string(),
            "litecoin has no signet network (it has: mainnet, testnet, regtest)"
        );
    }

    #[test]
    fn address_prefixes_match_the_daemons() {
        let ltc = Coin::Litecoin.params(Network::Mainnet).unwrap();
        assert_eq!((ltc.p2pkh_version, ltc.p2sh_version), (0x30, 0x32));
        assert!(ltc.accepts_p2sh_version(0x05) && ltc.accepts_p2sh_version(0x32));
        assert!(!ltc.accepts_p2sh_version(0x30));
        let tltc = Coin::Litecoin.params(Network::Testnet).unwrap();
        assert_eq!(
            (tltc.p2sh_version, tltc.p2sh_legacy_version),
            (0x3a, Some(0xc4))
        );
        let btc = Coin::Bitcoin.params(Network::Mainnet).unwrap();
        assert!(btc.accepts_p2sh_version(5) && !btc.accepts_p2sh_version(0x32));
        let hrps: Vec<_> = ChainParams::all().map(|p| p.bech32_hrp).collect();
        assert_eq!(hrps, ["ltc", "tltc", "rltc", "bc", "tb", "tb", "bcrt"]);
    }

    #[test]
    fn subsidy_halves_on_schedule() {
        let btc = Coin::Bitcoin.params(Network::Mainnet).unwrap();
        assert_eq!(btc.subsidy(0), 5_000_000_000);
        assert_eq!(btc.subsidy(209_999), 5_000_000_000);
        assert_eq!(btc.subsidy(210_000), 2_500_000_000);
        assert_eq!(btc.subsidy(840_000), 312_500_000);
        assert_eq!(btc.subsidy(210_000 * 33), 0);
        assert_eq!(btc.subsidy(210_000 * 64), 0);
        assert_eq!(btc.subsidy(u32::MAX), 0);
        let ltc = Coin::Litecoin.params(Network::Mainnet).unwrap();
        assert_eq!(ltc.subsidy(839_999), 5_000_000_000);
        assert_eq!(ltc.subsidy(840_000), 2_500_000_000);
        assert_eq!(ltc.subsidy(2 * 840_000), 1_250_000_000);
        for coin in Coin::ALL {
            let reg = coin.params(Network::Regtest).unwrap();
            assert_eq!(reg.halving_interval, 150);
            assert_eq!(reg.subsidy(149), 5_000_000_000);
            assert_eq!(reg.subsidy(150), 2_500_000_000);
            assert_eq!(reg.subsidy(431), 1_250_000_000);
            assert_eq!(reg.subsidy(150 * 63), 0); // 50 coins >> 63 rounds to nothing
            assert_eq!(reg.subsidy(u32::MAX), 0);
        }
    }

    #[test]
    fn gbt_rules_ask_for_mweb_only_on_litecoin() {
        for p in ChainParams::all() {
            let expected: &[&str] = match p.coin {
                Coin::Litecoin => &["mweb", "segwit"],
                Coin::Bitcoin => &["segwit"],
            };
            assert_eq!(p.gbt_rules(), expected);
        }
    }

    /// The pow limits are `powLimit` from the daemons' chainparams, in compact form.
    #[test]
    fn pow_limits_are_the_compact_pow_limit() {
        let mut litecoin_limit = [0xff_u8; 32];
        litecoin_limit[..3].copy_from_slice(&[0x00, 0x00, 0x0f]);
        let mut regtest_limit = [0xff_u8; 32];
        regtest_limit[0] = 0x7f;
        let compact = |be: [u8; 32]| Target::from_be_bytes(be).to_compact_lossy().to_consensus();
        assert_eq!(compact(litecoin_limit), 0x1e0f_ffff);
        assert_eq!(compact(regtest_limit), 0x207f_ffff);
        for n in [Network::Mainnet, Network::Testnet] {
            assert_eq!(
                Coin::Litecoin.params(n).unwrap().pow_limit_bits,
                0x1e0f_ffff
            );
        }
        assert_eq!(
            Coin::Litecoin
                .params(Network::Regtest)
                .unwrap()
                .pow_limit_bits,
            0x207f_ffff
        );
    }

    fn bitcoin_network(network: Network) -> bitcoin::Network {
        match network {
            Network::Mainnet => bitcoin::Network::Bitcoin,
            Network::Testnet => bitcoin::Network::Testnet,
            Network::Signet => bitcoin::Network::Signet,
            Network::Regtest => bitcoin::Network::Regtest,
        }
    }

    /// rust-bitcoin carries its own copy of Bitcoin's parameters: ours must agree.
    #[test]
    fn bitcoin_params_agree_with_rust_bitcoin() {
        for &network in Coin::Bitcoin.networks() {
            let ours = Coin::Bitcoin.params(network).unwrap();
            let net = bitcoin_network(network);
            let theirs = bitcoin::params::Params::new(net);
            assert_eq!(genesis_block(net).block_hash(), ours.genesis_block_hash());
            assert_eq!(
                theirs
                    .max_attainable_target
                    .to_compact_lossy()
                    .to_consensus(),
                ours.pow_limit_bits,
                "{network}"
            );
            assert_eq!(theirs.pow_target_spacing, u64::from(ours.block_time_secs));
        }
    }

    /// Rebuilds Litecoin's genesis blocks from the parts in Litecoin Core's `chainparams.cpp`
    /// and checks the merkle root and block hash (sha256d of the header, as for Bitcoin).
    #[test]
    fn litecoin_genesis_hashes_are_those_of_the_genesis_blocks() {
        let timestamp = "NY Times 05/Oct/2011 Steve Jobs, Apple\u{2019}s Visionary, Dies at 56";
        let pubkey = hex::decode(
            "040184710fa689ad5023690c80f3a49c8f13f8d45b8c857fbcbc8bc4a8e4d3eb4b10f4d4604fa08dce\
             601aaf0f470216fe1b51850b4acf21b179c45070ac7b03a9",
        )
        .unwrap();
        let script_sig = script::Builder::new()
            .push_int(486_604_799)
            .push_slice([4_u8]) // CScriptNum(4): a one-byte push, not OP_4
            .push_slice(<&script::PushBytes>::try_from(timestamp.as_bytes()).unwrap())
            .into_script();
        let script_pubkey = script::Builder::new()
            .push_slice(<&script::PushBytes>::try_from(pubkey.as_slice()).unwrap())
            .push_opcode(opcodes::all::OP_CHECKSIG)
            .into_script();
        let coinbase = transaction::Transaction {
            version: transaction::Version::ONE,
            lock_time: absolute::LockTime::ZERO,
            input: vec![transaction::TxIn {
                script_sig,
                ..Default::default()
            }],
            output: vec![transaction::TxOut {
                value: Amount::from_sat(50 * COIN),
                script_pubkey,
            }],
        };
        let merkle_root = TxMerkleNode::from_raw_hash(coinbase.compute_txid().to_raw_hash());
        assert_eq!(
            merkle_root.to_string(),
            "97ddfbbae6be97fd6cdf3e7ca13232a3afff2353e29badfab7f73011edd4ced9"
        );
        for (network, time, nonce, bits) in [
            (Network::Mainnet, 1_317_972_665, 2_084_524_493, 0x1e0f_fff0),
            (Network::Testnet, 1_486_949_366, 293_345, 0x1e0f_fff0),
            (Network::Regtest, 1_296_688_602, 0, 0x207f_ffff),
        ] {
            let header = block::Header {
                version: block::Version::ONE,
                prev_blockhash: bitcoin::BlockHash::all_zeros(),
                merkle_root,
                time,
                bits: bitcoin::CompactTarget::from_consensus(bits),
                nonce,
            };
            let params = Coin::Litecoin.params(network).unwrap();
            assert_eq!(
                header.block_hash(),
                params.genesis_block_hash(),
                "{network}"
            );
        }
    }
}
