//! The plain SHA-256 compression function, written for clarity, not speed.
//!
//! Every fast back-end is checked against this one; the scanner's candidates are re-hashed with it
//! before anyone trusts them. It also computes the per-job midstate, which is done once per job and
//! so need not be fast.

/// The SHA-256 round constants (FIPS 180-4, 4.2.2).
pub(crate) const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// The SHA-256 initial hash value (FIPS 180-4, 5.3.3).
pub(crate) const IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// Σ0 of the round function.
pub(crate) const fn big_sigma0(x: u32) -> u32 {
    x.rotate_right(2) ^ x.rotate_right(13) ^ x.rotate_right(22)
}

/// Σ1 of the round function.
pub(crate) const fn big_sigma1(x: u32) -> u32 {
    x.rotate_right(6) ^ x.rotate_right(11) ^ x.rotate_right(25)
}

/// σ0 of the message schedule.
pub(crate) const fn small_sigma0(x: u32) -> u32 {
    x.rotate_right(7) ^ x.rotate_right(18) ^ (x >> 3)
}

/// σ1 of the message schedule.
pub(crate) const fn small_sigma1(x: u32) -> u32 {
    x.rotate_right(17) ^ x.rotate_right(19) ^ (x >> 10)
}

/// Ch: for each bit, `f` where `e` is set and `g` where it is clear.
pub(crate) const fn ch(e: u32, f: u32, g: u32) -> u32 {
    (e & f) ^ (!e & g)
}

/// Maj: for each bit, the majority of the three inputs.
pub(crate) const fn maj(a: u32, b: u32, c: u32) -> u32 {
    (a & b) ^ (a & c) ^ (b & c)
}

/// One SHA-256 round applied to `s` (a..h) with the round's constant-plus-word `kw`.
pub(crate) const fn round(s: &mut [u32; 8], kw: u32) {
    let t1 = s[7]
        .wrapping_add(big_sigma1(s[4]))
        .wrapping_add(ch(s[4], s[5], s[6]))
        .wrapping_add(kw);
    let t2 = big_sigma0(s[0]).wrapping_add(maj(s[0], s[1], s[2]));
    *s = [
        t1.wrapping_add(t2),
        s[0],
        s[1],
        s[2],
        s[3].wrapping_add(t1),
        s[4],
        s[5],
        s[6],
    ];
}

/// The message schedule W0..W63 of one block given as sixteen big-endian words.
pub(crate) const fn schedule(block: &[u32; 16]) -> [u32; 64] {
    let mut w = [0u32; 64];
    let mut t = 0;
    while t < 64 {
        w[t] = if t < 16 {
            block[t]
        } else {
            small_sigma1(w[t - 2])
                .wrapping_add(w[t - 7])
                .wrapping_add(small_sigma0(w[t - 15]))
                .wrapping_add(w[t - 16])
        };
        t += 1;
    }
    w
}

/// Compresses one block (sixteen big-endian words) into `state`.
pub(crate) fn compress(state: &mut [u32; 8], block: &[u32; 16]) {
    let w = schedule(block);
    let mut s = *state;
    for t in 0..64 {
        round(&mut s, K[t].wrapping_add(w[t]));
    }
    for (h, x) in state.iter_mut().zip(s) {
        *h = h.wrapping_add(x);
    }
}

/// Reads 64 bytes as sixteen big-endian words.
pub(crate) fn block_words(bytes: &[u8; 64]) -> [u32; 16] {
    let mut w = [0u32; 16];
    for (word, chunk) in w.iter_mut().zip(bytes.chunks_exact(4)) {
        *word = u32::from_be_bytes(chunk.try_into().expect("chunks_exact gives 4 bytes"));
    }
    w
}

/// The state after compressing the first 64 bytes of a header, starting from the IV.
pub(crate) fn midstate(head: &[u8; 64]) -> [u32; 8] {
    let mut state = IV;
    compress(&mut state, &block_words(head));
    state
}

/// The second block of an 80-byte header: its last 16 bytes, then SHA-256 padding for 640 bits.
pub(crate) fn second_block(tail: &[u8; 16]) -> [u32; 16] {
    let mut w = [0u32; 16];
    for (word, chunk) in w.iter_mut().zip(tail.chunks_exact(4)) {
        *word = u32::from_be_bytes(chunk.try_into().expect("chunks_exact gives 4 bytes"));
    }
    w[4] = 0x8000_0000;
    w[15] = 640;
    w
}

/// The single block hashed by the second SHA-256: the 32-byte digest as words, then padding.
pub(crate) fn digest_block(digest: &[u32; 8]) -> [u32; 16] {
    let mut w = [0u32; 16];
    w[..8].copy_from_slice(digest);
    w[8] = 0x8000_0000;
    w[15] = 256;
    w
}

/// sha256d of a header given its midstate and last 16 bytes, as the final state words H0..H7.
pub(crate) fn sha256d_words(midstate: &[u32; 8], tail: &[u8; 16]) -> [u32; 8] {
    let mut first = *midstate;
    compress(&mut first, &second_block(tail));
    let mut second = IV;
    compress(&mut second, &digest_block(&first));
    second
}

/// The 32 digest bytes of final state words (each word big-endian, as SHA-256 writes them).
pub(crate) fn digest_bytes(words: &[u32; 8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (chunk, w) in out.chunks_exact_mut(4).zip(words) {
        chunk.copy_from_slice(&w.to_be_bytes());
    }
    out
}
