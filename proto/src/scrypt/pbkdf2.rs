//! PBKDF2-HMAC-SHA256 with one iteration, shaped for scrypt of an 80-byte block header.
//!
//! scrypt(P, S, N, r, p) opens with B = PBKDF2(P, S, 1, 128·r·p) and closes with
//! PBKDF2(P, B', 1, 32). For Litecoin's proof of work P = S = the 80-byte header. The header is
//! longer than SHA-256's 64-byte block, so the HMAC key is SHA-256(header). That key depends on the
//! nonce (the header's last 4 bytes), so the ipad/opad states must be rebuilt per nonce; only the
//! first block of the key's own hash (header bytes 0..64: version, previous block, most of the
//! merkle root) is the same for every nonce of a job, and a miner hashes it once
//! ([`key_midstate`]). Per hash this costs 1 compression to finish the key, 2 for the pads,
//! 1 + 4×2 for B and 3 + 1 for the result: 16 SHA-256 compressions, about 2 % of a hash.
//!
//! Blocks go straight to `sha2::compress256` (which uses the SHA extensions where the CPU has them)
//! with the padding laid out here, so nothing is buffered or allocated.

use sha2::digest::generic_array::GenericArray;

/// SHA-256's initial state.
const IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// Compresses one 64-byte block into `state`.
fn compress(state: &mut [u32; 8], block: &[u8; 64]) {
    sha2::compress256(
        state,
        core::slice::from_ref(GenericArray::from_slice(block)),
    );
}

/// Hashes `data` into `state`, which has already absorbed `done` bytes (a multiple of 64), and
/// applies SHA-256's final padding: the returned state is the digest.
fn finish(mut state: [u32; 8], data: &[u8], done: usize) -> [u32; 8] {
    let mut blocks = data.chunks_exact(64);
    for block in &mut blocks {
        compress(
            &mut state,
            block.try_into().expect("chunks_exact yields 64 bytes"),
        );
    }
    let rest = blocks.remainder();
    let mut last = [0u8; 128];
    last[..rest.len()].copy_from_slice(rest);
    last[rest.len()] = 0x80;
    let end = if rest.len() < 56 { 64 } else { 128 };
    let bits = ((done + data.len()) as u64) * 8;
    last[end - 8..end].copy_from_slice(&bits.to_be_bytes());
    for block in last[..end].chunks_exact(64) {
        compress(
            &mut state,
            block.try_into().expect("chunks_exact yields 64 bytes"),
        );
    }
    state
}

/// A SHA-256 state as the 32 digest bytes (big-endian words).
fn digest_bytes(state: &[u32; 8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// The SHA-256 state after the header's first 64 bytes: the reusable start of the HMAC key's hash.
pub(crate) fn key_midstate(prefix: &[u8; 64]) -> [u32; 8] {
    let mut state = IV;
    compress(&mut state, prefix);
    state
}

/// An HMAC-SHA256 key, kept as the SHA-256 states after its ipad and opad blocks.
#[derive(Clone, Debug)]
pub(crate) struct HmacKey {
    inner: [u32; 8],
    outer: [u32; 8],
}

impl HmacKey {
    /// The HMAC key for `key` of any length (keys longer than a block are hashed first).
    pub(crate) fn new(key: &[u8]) -> Self {
        if key.len() > 64 {
            Self::from_block_key(&digest_bytes(&finish(IV, key, 0)))
        } else {
            Self::from_block_key(key)
        }
    }

    /// The HMAC key of an 80-byte header, given [`key_midstate`] of its first 64 bytes.
    pub(crate) fn for_header(header: &[u8; 80], midstate: &[u32; 8]) -> Self {
        let tail: &[u8; 16] = header[64..]
            .try_into()
            .expect("an 80-byte header has 16 more bytes");
        Self::from_block_key(&digest_bytes(&finish(*midstate, tail, 64)))
    }

    /// Builds the pad states from a key of at most 64 bytes.
    fn from_block_key(key: &[u8]) -> Self {
        assert!(key.len() <= 64, "a block key has at most 64 bytes");
        let mut ipad = [0x36u8; 64];
        let mut opad = [0x5cu8; 64];
        for (i, byte) in key.iter().enumerate() {
            ipad[i] ^= byte;
            opad[i] ^= byte;
        }
        let (mut inner, mut outer) = (IV, IV);
        compress(&mut inner, &ipad);
        compress(&mut outer, &opad);
        Self { inner, outer }
    }

    /// The outer hash over an inner digest.
    fn outer(&self, inner: &[u32; 8]) -> [u32; 8] {
        finish(self.outer, &digest_bytes(inner), 64)
    }

    /// HMAC-SHA256 of `message` under this key.
    pub(crate) fn mac(&self, message: &[u8]) -> [u8; 32] {
        digest_bytes(&self.outer(&finish(self.inner, message, 64)))
    }

    /// scrypt's opening step B = PBKDF2(header, header, 1, 128) (this key must be the header's),
    /// as 32 little-endian words.
    pub(crate) fn expand_header(&self, header: &[u8; 80]) -> [u32; 32] {
        // The salt's first 64 bytes are shared by all four output blocks.
        let mut salted = self.inner;
        compress(
            &mut salted,
            header[..64].try_into().expect("80 bytes hold 64"),
        );
        let mut tail = [0u8; 20];
        tail[..16].copy_from_slice(&header[64..]);
        let mut out = [0u32; 32];
        for (i, chunk) in out.chunks_exact_mut(8).enumerate() {
            tail[16..].copy_from_slice(&(i as u32 + 1).to_be_bytes());
            let t = self.outer(&finish(salted, &tail, 128));
            // Digest bytes are big-endian words; scrypt reads them as little-endian words.
            for (word, digest_word) in chunk.iter_mut().zip(t) {
                *word = digest_word.swap_bytes();
            }
        }
        out
    }

    /// scrypt's closing step PBKDF2(header, B', 1, 32), with B' as 32 little-endian words.
    pub(crate) fn compress_block(&self, x: &[u32; 32]) -> [u8; 32] {
        let mut message = [0u8; 132];
        for (chunk, word) in message.chunks_exact_mut(4).zip(x) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        message[128..].copy_from_slice(&1u32.to_be_bytes());
        self.mac(&message)
    }
}

/// PBKDF2-HMAC-SHA256 with one iteration and any output length, for the tests.
#[cfg(test)]
pub(crate) fn pbkdf2_sha256_once(password: &[u8], salt: &[u8], out: &mut [u8]) {
    let key = HmacKey::new(password);
    for (i, chunk) in out.chunks_mut(32).enumerate() {
        let mut message = salt.to_vec();
        message.extend_from_slice(&(i as u32 + 1).to_be_bytes());
        let t = key.mac(&message);
        chunk.copy_from_slice(&t[..chunk.len()]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        hex::encode(bytes)
    }

    #[test]
    fn rfc7914_pbkdf2_sha256_c1() {
        // RFC 7914 §11: PBKDF2-HMAC-SHA256 (P="passwd", S="salt", c=1, dkLen=64).
        let mut out = [0u8; 64];
        pbkdf2_sha256_once(b"passwd", b"salt", &mut out);
        assert_eq!(
            hex(&out),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc\
             49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"
        );
    }

    #[test]
    fn rfc4231_hmac_sha256() {
        // Test case 1: a short key.
        assert_eq!(
            hex(&HmacKey::new(&[0x0b; 20]).mac(b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        // Test case 6: a key longer than a block, hashed first (as an 80-byte header is).
        assert_eq!(
            hex(&HmacKey::new(&[0xaa; 131])
                .mac(b"Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn header_paths_match_generic_pbkdf2() {
        let mut header = [0u8; 80];
        for (i, byte) in header.iter_mut().enumerate() {
            *byte = (i as u8).wrapping_mul(37).wrapping_add(11);
        }
        let key = HmacKey::for_header(&header, &key_midstate(header[..64].try_into().unwrap()));

        let mut expected = [0u8; 128];
        pbkdf2_sha256_once(&header, &header, &mut expected);
        let words = key.expand_header(&header);
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        assert_eq!(hex(&bytes), hex(&expected));

        let mut final_expected = [0u8; 32];
        pbkdf2_sha256_once(&header, &bytes, &mut final_expected);
        assert_eq!(key.compress_block(&words), final_expected);
    }
}
