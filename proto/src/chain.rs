//! The coins and networks Otedama mines, and every per-coin, per-network parameter in one place.

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
