//! Hash and id newtypes: block hash, share id, txid, wtxid, merkle node, witness commitment and
//! proof-of-work hash.
//!
//! Bytes are kept in internal order (as hashed); `Display` and `FromStr` use the reversed hex that
//! block explorers and RPC show. Serde writes the reversed hex string in human-readable formats
//! and the 32 raw bytes in binary ones. `Ord` compares the internal bytes lexicographically,
//! which is a fixed total order (good for tie-breaks and sorting) but not the numeric order of
//! the hash as a little-endian number; compare [`crate::target::Target`]s or
//! [`crate::uint::U256`]s for that.

use std::fmt;
use std::str::FromStr;

use bitcoin::hashes::Hash as _;

/// Text that is not a 64-digit hex hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashParseError {
    /// The text is not 64 characters long.
    #[error("{kind} `{text}` has {len} characters, expected 64 hex digits")]
    WrongLength {
        /// Which kind of hash was expected.
        kind: &'static str,
        /// The text given.
        text: String,
        /// Its length in characters.
        len: usize,
    },
    /// The text has a character that is not a hex digit.
    #[error("{kind} `{text}` is not hex: bad character {bad:?}")]
    BadHex {
        /// Which kind of hash was expected.
        kind: &'static str,
        /// The text given.
        text: String,
        /// The first character that is not a hex digit.
        bad: char,
    },
}

/// Parses the reversed-hex form of a 32-byte hash into internal byte order.
pub(crate) fn parse_reversed_hex(
    kind: &'static str,
    text: &str,
) -> Result<[u8; 32], HashParseError> {
    if let Some(bad) = text.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(HashParseError::BadHex {
            kind,
            text: text.to_owned(),
            bad,
        });
    }
    let mut bytes = [0u8; 32];
    if text.len() != 64 || hex::decode_to_slice(text, &mut bytes).is_err() {
        return Err(HashParseError::WrongLength {
            kind,
            text: text.to_owned(),
            len: text.chars().count(),
        });
    }
    bytes.reverse();
    Ok(bytes)
}

macro_rules! hash_newtype {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            /// All zero bytes.
            pub const ZERO: $name = $name([0; 32]);

            /// Wraps 32 bytes in internal order.
            pub const fn from_byte_array(bytes: [u8; 32]) -> Self {
                $name(bytes)
            }

            /// The 32 bytes in internal order.
            pub const fn to_byte_array(self) -> [u8; 32] {
                self.0
            }

            /// The 32 bytes in internal order, borrowed.
            pub const fn as_byte_array(&self) -> &[u8; 32] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut rev = self.0;
                rev.reverse();
                f.write_str(&hex::encode(rev))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }

        impl FromStr for $name {
            type Err = HashParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_reversed_hex($kind, s).map($name)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                if s.is_human_readable() {
                    s.collect_str(self)
                } else {
                    self.0.serialize(s)
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                if d.is_human_readable() {
                    let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                    text.parse().map_err(serde::de::Error::custom)
                } else {
                    <[u8; 32]>::deserialize(d).map($name)
                }
            }
        }
    };
}

macro_rules! bitcoin_conversions {
    ($name:ident, $theirs:ty) => {
        impl From<$theirs> for $name {
            fn from(h: $theirs) -> Self {
                $name(h.to_byte_array())
            }
        }

        impl From<$name> for $theirs {
            fn from(h: $name) -> Self {
                <$theirs>::from_byte_array(h.0)
            }
        }
    };
}

hash_newtype!(
    /// The id of a coin block: sha256d of its 80-byte header (both coins).
    BlockHash,
    "block hash"
);
hash_newtype!(
    /// The id of a share in the sharechain.
    ShareId,
    "share id"
);
hash_newtype!(
    /// The id of a transaction: sha256d of its serialization without witness data.
    Txid,
    "txid"
);
hash_newtype!(
    /// The witness id of a transaction: sha256d of its serialization with witness data.
    Wtxid,
    "wtxid"
);
hash_newtype!(
    /// A node of a transaction merkle tree: a merkle root, or one entry of a merkle branch.
    MerkleNode,
    "merkle node"
);
hash_newtype!(
    /// The BIP 141 witness commitment: sha256d(witness merkle root || witness reserved value).
    WitnessCommitment,
    "witness commitment"
);
hash_newtype!(
    /// The proof-of-work hash of a header, in internal byte order (a little-endian 256-bit number).
    PowHash,
    "proof-of-work hash"
);

bitcoin_conversions!(BlockHash, bitcoin::BlockHash);
bitcoin_conversions!(Txid, bitcoin::Txid);
bitcoin_conversions!(Wtxid, bitcoin::Wtxid);
bitcoin_conversions!(MerkleNode, bitcoin::TxMerkleNode);
bitcoin_conversions!(WitnessCommitment, bitcoin::WitnessCommitment);

impl From<bitcoin::WitnessMerkleNode> for MerkleNode {
    fn from(h: bitcoin::WitnessMerkleNode) -> Self {
        MerkleNode(h.to_byte_array())
    }
}

impl From<MerkleNode> for bitcoin::WitnessMerkleNode {
    fn from(h: MerkleNode) -> Self {
        bitcoin::WitnessMerkleNode::from_byte_array(h.0)
    }
}

impl Txid {
    /// The txid of a transaction.
    pub fn of(tx: &bitcoin::Transaction) -> Self {
        tx.compute_txid().into()
    }
}

impl Wtxid {
    /// The wtxid of a transaction (equal to its txid when it has no witness data).
    pub fn of(tx: &bitcoin::Transaction) -> Self {
        tx.compute_wtxid().into()
    }
}

impl From<Txid> for MerkleNode {
    /// A txid is the leaf of the transaction merkle tree.
    fn from(txid: Txid) -> Self {
        MerkleNode(txid.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GENESIS: &str = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f";

    #[test]
    fn display_is_reversed_hex_and_round_trips() {
        let hash: BlockHash = GENESIS.parse().expect("valid hash");
        assert_eq!(hash.0[31], 0x00);
        assert_eq!(hash.0[0], 0x6f);
        assert_eq!(hash.to_string(), GENESIS);
        assert_eq!(format!("{hash:?}"), format!("BlockHash({GENESIS})"));
        let theirs: bitcoin::BlockHash = hash.into();
        assert_eq!(theirs.to_string(), GENESIS);
        assert_eq!(BlockHash::from(theirs), hash);
    }

    #[test]
    fn bad_text_gets_a_specific_error() {
        let short = "abcd".parse::<Txid>().unwrap_err();
        assert!(
            matches!(short, HashParseError::WrongLength { len: 4, .. }),
            "{short}"
        );
        assert!(short.to_string().contains("txid"));
        let bad = format!("{}g", &GENESIS[..63])
            .parse::<ShareId>()
            .unwrap_err();
        assert!(
            matches!(bad, HashParseError::BadHex { bad: 'g', .. }),
            "{bad}"
        );
        assert!(bad.to_string().contains("share id"));
        let long = format!("{GENESIS}00").parse::<PowHash>().unwrap_err();
        assert!(matches!(long, HashParseError::WrongLength { len: 66, .. }));
    }

    #[test]
    fn serde_json_uses_the_display_form() {
        let hash: Txid = GENESIS.parse().expect("valid hash");
        let json = serde_json::to_string(&hash).expect("serializes");
        assert_eq!(json, format!("\"{GENESIS}\""));
        let back: Txid = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, hash);
        assert!(serde_json::from_str::<Txid>("\"00\"").is_err());
    }
}
