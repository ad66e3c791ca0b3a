//! Hash and id newtypes: block hash, share id, txid and proof-of-work hash.
//!
//! Bytes are kept in internal order (as hashed); `Display` and `FromStr` use the reversed hex that
//! block explorers and RPC show.

// The foundation helper fills this in; the interface below is fixed for the other crates.

/// The proof-of-work hash of a header, in internal byte order (a little-endian 256-bit number).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct PowHash(pub [u8; 32]);

impl PowHash {
    /// The 32 bytes in internal order.
    pub fn to_byte_array(self) -> [u8; 32] {
        self.0
    }
}

impl std::fmt::Display for PowHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut rev = self.0;
        rev.reverse();
        f.write_str(&hex::encode(rev))
    }
}
