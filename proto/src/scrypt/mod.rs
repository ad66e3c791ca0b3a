//! scrypt(N=1024, r=1, p=1) of an 80-byte header, as Litecoin's proof of work.
//!
//! This is the one scrypt core of the project, shared by share validation and the CPU miner.

/// The scrypt proof-of-work hash of an 80-byte header (password and salt are both the header),
/// in internal byte order (as a little-endian 256-bit number).
pub fn scrypt_1024_1_1(header: &[u8; 80]) -> [u8; 32] {
    let params = scrypt::Params::new(10, 1, 1, 32).expect("N=2^10, r=1, p=1 are valid parameters");
    let mut out = [0u8; 32];
    scrypt::scrypt(header, header, &params, &mut out).expect("a 32-byte output is a valid length");
    out
}
