//! Everything about a job's sha256d that does not depend on the nonce, computed once per scan.
//!
//! The header's second block holds three fixed words (the end of the merkle root, the time, the
//! bits), then the nonce, then fixed padding. So the first three rounds are the same for every
//! nonce, the fourth adds the nonce to two otherwise fixed words, twelve of the first sixteen
//! schedule words are constants, and many later schedule words are a constant plus a short
//! nonce-dependent term. The second SHA-256 hashes a 32-byte digest with fixed padding, which makes
//! its words 8..15 and parts of 16..31 constant too. The names below follow FIPS 180-4: `w[t]` is
//! schedule word t, and a "base" is the constant part of a word or state value.

use super::reference::{
    big_sigma0, big_sigma1, ch, maj, round, second_block, small_sigma0, small_sigma1, IV, K,
};
use super::Sha256dJob;

/// The nonce-independent constants of one job, shared by the SIMD and scalar back-ends.
#[derive(Clone, Debug)]
pub(crate) struct Precomp {
    /// State after the header's first 64 bytes.
    pub midstate: [u32; 8],
    /// The header's second block as sixteen words (with padding), the nonce word 3 set to zero.
    pub block: [u32; 16],
    /// State of the first hash after rounds 0..3 with the nonce word taken as zero: adding the
    /// byte-swapped nonce to `s4[0]` (a) and `s4[4]` (e) gives the real state after round 3.
    pub s4: [u32; 8],
    /// `K[t] + w[t]` of the first hash for the fixed words t = 4..15 (0..3 unused).
    pub kw1: [u32; 16],
    /// Constant parts of the first hash's schedule words 16..33 (index = t - 16).
    pub w1_base: [u32; 18],
    /// The highest top word (byte-swapped H7) a hash may have to be reported.
    pub target_hi: u32,
}

/// First-hash schedule words 16..33 with the nonce word taken as zero, keeping only the terms
/// that are fixed: the SIMD code adds the nonce-dependent terms itself (see `kernel.rs`).
fn first_hash_bases(w: &[u32; 16]) -> [u32; 18] {
    let w16 = small_sigma0(w[1]).wrapping_add(w[0]);
    let w17 = small_sigma1(w[15])
        .wrapping_add(small_sigma0(w[2]))
        .wrapping_add(w[1]);
    let mut b = [0u32; 18];
    b[0] = w16;
    b[1] = w17;
    // w18 = σ1(w16) + σ0(w3) + w2
    b[2] = small_sigma1(w16).wrapping_add(w[2]);
    // w19 = σ1(w17) + σ0(w4) + w3
    b[3] = small_sigma1(w17).wrapping_add(small_sigma0(w[4]));
    // w20 = σ1(w18) + w4
    b[4] = w[4];
    // w21 = σ1(w19), w22 = σ1(w20) + w15, w23 = σ1(w21) + w16, w24 = σ1(w22) + w17
    b[6] = w[15];
    b[7] = w16;
    b[8] = w17;
    // w25..w29 = σ1(w[t-2]) + w[t-7]: no constant term.
    // w30 = σ1(w28) + w23 + σ0(w15)
    b[14] = small_sigma0(w[15]);
    // w31 = σ1(w29) + w24 + σ0(w16) + w15
    b[15] = small_sigma0(w16).wrapping_add(w[15]);
    // w32 = σ1(w30) + w25 + σ0(w17) + w16
    b[16] = small_sigma0(w17).wrapping_add(w16);
    // w33 = σ1(w31) + w26 + σ0(w18) + w17
    b[17] = w17;
    b
}

impl Precomp {
    /// Computes the constants of `job`.
    pub(crate) fn new(job: &Sha256dJob) -> Self {
        let mut block = second_block(&job.tail);
        block[3] = 0;
        let mut s = job.midstate.0;
        for t in 0..3 {
            round(&mut s, K[t].wrapping_add(block[t]));
        }
        // Round 3 with w3 = 0: the nonce enters only through T1, which both new a and new e add.
        round(&mut s, K[3]);
        let mut kw1 = [0u32; 16];
        for t in 4..16 {
            kw1[t] = K[t].wrapping_add(block[t]);
        }
        Self {
            midstate: job.midstate.0,
            block,
            s4: s,
            kw1,
            w1_base: first_hash_bases(&block),
            target_hi: job.target_hi,
        }
    }
}

/// Constants of the second SHA-256, which hashes a 32-byte digest from the IV.
pub(crate) mod second {
    use super::*;

    /// T1 of round 0 without w0, and T2 of round 0 (both fixed: the state is the IV).
    const T1_0: u32 = IV[7]
        .wrapping_add(big_sigma1(IV[4]))
        .wrapping_add(ch(IV[4], IV[5], IV[6]))
        .wrapping_add(K[0]);
    const T2_0: u32 = big_sigma0(IV[0]).wrapping_add(maj(IV[0], IV[1], IV[2]));

    /// State after round 0 with w0 taken as zero: add w0 to a (index 0) and e (index 4).
    pub(crate) const S1: [u32; 8] = [
        T1_0.wrapping_add(T2_0),
        IV[0],
        IV[1],
        IV[2],
        IV[3].wrapping_add(T1_0),
        IV[4],
        IV[5],
        IV[6],
    ];

    /// `K[t] + w[t]` for the padding words t = 8..15 (0..7 unused).
    pub(crate) const KW: [u32; 16] = {
        let mut kw = [0u32; 16];
        let mut t = 8;
        while t < 16 {
            kw[t] = K[t];
            t += 1;
        }
        kw[8] = K[8].wrapping_add(0x8000_0000);
        kw[15] = K[15].wrapping_add(256);
        kw
    };

    /// σ1(w15) = σ1(256), the constant term of w17.
    pub(crate) const SS1_W15: u32 = small_sigma1(256);
    /// σ0(w8) = σ0(0x80000000), the constant term of w23.
    pub(crate) const SS0_W8: u32 = small_sigma0(0x8000_0000);
    /// σ0(w15) = σ0(256), the constant term of w30.
    pub(crate) const SS0_W15: u32 = small_sigma0(256);
}
