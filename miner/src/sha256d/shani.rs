//! The SHA extensions back-end: `sha256rnds2` with several nonces in flight.
//!
//! One `sha256rnds2` does two rounds with a latency of 4 cycles but can start one per cycle (AMD
//! Zen 4), so a single stream leaves the SHA unit idle most of the time (that is the single-stream
//! figure of `openssl speed`). This back-end hashes several nonces at once, each step issued for
//! every lane before the next step, so the unit always has independent work. Per nonce it runs 30
//! double rounds for the first hash (rounds 0..3 come from the job's precomputed state) and 31 for
//! the second, which stops once e of round 60 (the final H7, less the IV) is known.
//!
//! Two builds of the same kernel: four nonces in flight where AVX-512VL gives the compiler 32
//! vector registers, two where only the 16 SSE registers exist (more lanes would spill).
//!
//! The state is kept as the instructions want it: `abef` holds a, b, e, f in lanes 3, 2, 1, 0 and
//! `cdgh` holds c, d, g, h the same way.

use std::arch::x86_64::{
    __m128i, _mm_add_epi32, _mm_alignr_epi8, _mm_cvtsi128_si32, _mm_set_epi32, _mm_setr_epi32,
    _mm_sha256msg1_epu32, _mm_sha256msg2_epu32, _mm_sha256rnds2_epu32, _mm_shuffle_epi32,
    _mm_unpackhi_epi64, _mm_unpacklo_epi64,
};

use super::precomp::{second, Precomp};
use super::reference::{IV, K};

/// A state (a..h) as the `abef` and `cdgh` vectors.
#[target_feature(enable = "sse2")]
fn abef_cdgh(s: &[u32; 8]) -> (__m128i, __m128i) {
    let v = |x: u32| x as i32;
    (
        _mm_set_epi32(v(s[0]), v(s[1]), v(s[4]), v(s[5])),
        _mm_set_epi32(v(s[2]), v(s[3]), v(s[6]), v(s[7])),
    )
}

/// Four words as one vector, the first in lane 0.
#[target_feature(enable = "sse2")]
fn words(w: &[u32]) -> __m128i {
    _mm_setr_epi32(w[0] as i32, w[1] as i32, w[2] as i32, w[3] as i32)
}

/// The job's constants in the vector forms the rounds use.
#[derive(Clone, Copy)]
struct Consts {
    /// State of the first hash after round 3 with the nonce word taken as zero.
    abef4: __m128i,
    cdgh4: __m128i,
    /// The midstate, added to the first hash's final state.
    mid_abef: __m128i,
    mid_cdgh: __m128i,
    /// First-hash message words 0..15 (word 3, the nonce, is zero here).
    m1: [__m128i; 4],
    /// Second-hash message words 8..15.
    m2: [__m128i; 2],
    /// `K + w` of the first hash for rounds 4..15, two rounds per vector in lanes 0 and 1.
    kw1: [__m128i; 6],
    /// `K + w` of the second hash for rounds 8..15 (the fixed padding), two rounds per vector.
    kw2: [__m128i; 4],
    /// The IV as `abef`, `cdgh`.
    iv_abef: __m128i,
    iv_cdgh: __m128i,
}

impl Consts {
    #[target_feature(enable = "sse2")]
    fn new(p: &Precomp) -> Self {
        let (abef4, cdgh4) = abef_cdgh(&p.s4);
        let (mid_abef, mid_cdgh) = abef_cdgh(&p.midstate);
        let (iv_abef, iv_cdgh) = abef_cdgh(&IV);
        let pair = |kw: &[u32; 16], t: usize| words(&[kw[t], kw[t + 1], 0, 0]);
        Self {
            abef4,
            cdgh4,
            mid_abef,
            mid_cdgh,
            m1: [
                words(&p.block[0..4]),
                words(&p.block[4..8]),
                words(&p.block[8..12]),
                words(&p.block[12..16]),
            ],
            m2: [words(&[0x8000_0000, 0, 0, 0]), words(&[0, 0, 0, 256])],
            kw1: [4, 6, 8, 10, 12, 14].map(|t| pair(&p.kw1, t)),
            kw2: [8, 10, 12, 14].map(|t| pair(&second::KW, t)),
            iv_abef,
            iv_cdgh,
        }
    }
}

/// Two rounds for every lane: `cdgh` takes the new `abef`, so callers alternate the two names.
macro_rules! rnds2 {
    ($cdgh:ident, $abef:ident, $kw:expr) => {
        for l in 0..LANES {
            $cdgh[l] = _mm_sha256rnds2_epu32($cdgh[l], $abef[l], $kw[l]);
        }
    };
}

/// Four rounds for every lane with `K + w` of the four rounds in `$kw` (per lane).
macro_rules! rounds4 {
    ($abef:ident, $cdgh:ident, $kw:expr) => {
        let kw: [__m128i; LANES] = $kw;
        rnds2!($cdgh, $abef, kw);
        let hi = kw.map(|v| _mm_shuffle_epi32::<0x0e>(v));
        rnds2!($abef, $cdgh, hi);
    };
}

/// Schedule words 4g..4g+3 of every lane into `$m[l][g % 4]`; returns `K + w` of them per lane.
macro_rules! schedule {
    ($m:ident, $g:expr) => {{
        let g: usize = $g;
        let mut kw = [_mm_setr_epi32(0, 0, 0, 0); LANES];
        for l in 0..LANES {
            let m = &mut $m[l];
            let x = _mm_add_epi32(
                _mm_sha256msg1_epu32(m[g % 4], m[(g + 1) % 4]),
                _mm_alignr_epi8::<4>(m[(g + 3) % 4], m[(g + 2) % 4]),
            );
            m[g % 4] = _mm_sha256msg2_epu32(x, m[(g + 3) % 4]);
            kw[l] = _mm_add_epi32(m[g % 4], words(&K[4 * g..4 * g + 4]));
        }
        kw
    }};
}

/// Defines `$final_h7` (the kernel) and `$scan` (its loop) for `$lanes` nonces in flight, compiled
/// for the CPU features `$features`.
macro_rules! shani_kernel {
    ($final_h7:ident, $scan:ident, $features:literal, $lanes:literal) => {
        /// Nonces hashed together per step.
        const LANES: usize = $lanes;

        /// H7 of sha256d for each of `LANES` nonces given as schedule word 3 (byte-swapped).
        #[target_feature(enable = $features)]
        fn $final_h7(c: &Consts, w3: [u32; LANES]) -> [u32; LANES] {
            // First hash: the nonce enters the state after round 3 (in a and e) and message word 3.
            let mut abef = w3.map(|n| _mm_add_epi32(c.abef4, _mm_set_epi32(n as i32, 0, n as i32, 0)));
            let mut cdgh = [c.cdgh4; LANES];
            let mut m = w3.map(|n| {
                let mut m = c.m1;
                m[0] = _mm_add_epi32(m[0], _mm_set_epi32(n as i32, 0, 0, 0));
                m
            });
            unroll!(P in [0 1 2] {
                rnds2!(cdgh, abef, [c.kw1[2 * P]; LANES]);
                rnds2!(abef, cdgh, [c.kw1[2 * P + 1]; LANES]);
            });
            unroll!(G in [4 5 6 7 8 9 10 11 12 13 14 15] {
                rounds4!(abef, cdgh, schedule!(m, G));
            });
            // The digest, as message words 0..3 and 4..7 of the second hash.
            for l in 0..LANES {
                let x = _mm_shuffle_epi32::<0x1b>(_mm_add_epi32(abef[l], c.mid_abef));
                let y = _mm_shuffle_epi32::<0x1b>(_mm_add_epi32(cdgh[l], c.mid_cdgh));
                m[l] = [
                    _mm_unpacklo_epi64(x, y),
                    _mm_unpackhi_epi64(x, y),
                    c.m2[0],
                    c.m2[1],
                ];
            }
            let mut abef = [c.iv_abef; LANES];
            let mut cdgh = [c.iv_cdgh; LANES];
            unroll!(G in [0 1] {
                rounds4!(abef, cdgh, m.map(|m| _mm_add_epi32(m[G], words(&K[4 * G..4 * G + 4]))));
            });
            unroll!(P in [0 1] {
                rnds2!(cdgh, abef, [c.kw2[2 * P]; LANES]);
                rnds2!(abef, cdgh, [c.kw2[2 * P + 1]; LANES]);
            });
            unroll!(G in [4 5 6 7 8 9 10 11 12 13 14] {
                rounds4!(abef, cdgh, schedule!(m, G));
            });
            // Rounds 60 and 61: f afterwards is e after round 60, which is H7 less the IV.
            let kw = schedule!(m, 15);
            rnds2!(cdgh, abef, kw);
            cdgh.map(|v| (_mm_cvtsi128_si32(v) as u32).wrapping_add(IV[7]))
        }

        /// The scanning loop, `LANES` nonces per step.
        #[target_feature(enable = $features)]
        pub(super) fn $scan(p: &Precomp, start: u32, count: u32, out: &mut Vec<u32>) {
            let c = Consts::new(p);
            let mut done = 0u64;
            while done < u64::from(count) {
                let base = start.wrapping_add(done as u32);
                let mut w3 = [0u32; LANES];
                for (i, w) in w3.iter_mut().enumerate() {
                    *w = base.wrapping_add(i as u32).swap_bytes();
                }
                let h7 = $final_h7(&c, w3);
                let mut mask = 0u32;
                for (i, h) in h7.iter().enumerate() {
                    mask |= u32::from(h.swap_bytes() <= p.target_hi) << i;
                }
                if mask != 0 {
                    crate::sha256d::push_lanes(mask, base, done, count, out);
                }
                done += LANES as u64;
            }
        }
    };
}

/// With AVX-512VL the compiler has 32 vector registers, enough to keep four nonces' states and
/// message windows out of memory (the SHA instructions themselves still take xmm0..xmm15).
mod vl {
    use super::*;
    shani_kernel!(
        final_h7,
        scan,
        "sha,sse2,ssse3,sse4.1,avx,avx2,avx512f,avx512vl",
        4
    );
}

/// Without AVX-512 only 16 registers: two nonces in flight is the most that fits.
mod sse {
    use super::*;
    shani_kernel!(final_h7, scan, "sha,sse2,ssse3,sse4.1", 2);
}

/// Whether this CPU can run the four-lane kernel (see [`vl`]).
fn has_vl() -> bool {
    is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512vl")
}

/// Scans `count` nonces from `start`; see [`super::scan`].
pub(crate) fn scan(p: &Precomp, start: u32, count: u32, out: &mut Vec<u32>) {
    assert!(
        is_x86_feature_detected!("sha") && is_x86_feature_detected!("sse4.1"),
        "the SHA-NI back-end needs the SHA extensions and SSE4.1"
    );
    if has_vl() {
        // SAFETY: every feature `vl::scan` enables was detected above (SSE2 to SSE4.1 come with
        // AVX2).
        unsafe { vl::scan(p, start, count, out) }
    } else {
        // SAFETY: the features `sse::scan` enables were detected above (SSE2 and SSSE3 come with
        // SSE4.1).
        unsafe { sse::scan(p, start, count, out) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sha256d::{portable, Sha256dJob};

    /// Both kernels (the scanner picks one per CPU) against the portable back-end.
    #[test]
    fn both_kernels_match_portable() {
        if !(is_x86_feature_detected!("sha") && is_x86_feature_detected!("sse4.1")) {
            return;
        }
        let mut header = [0u8; 80];
        for (i, b) in header.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(89).wrapping_add(3);
        }
        for target_hi in [0x3fff_ffff, u32::MAX] {
            let p = Precomp::new(&Sha256dJob::new(&header, target_hi));
            let (start, count) = (u32::MAX - 9, 23);
            let mut want = Vec::new();
            portable::scan(&p, start, count, &mut want);
            let mut got = Vec::new();
            // SAFETY: the features `sse::scan` enables were detected above.
            unsafe { sse::scan(&p, start, count, &mut got) };
            assert_eq!(got, want);
            if has_vl() {
                got.clear();
                // SAFETY: as above, plus `has_vl`.
                unsafe { vl::scan(&p, start, count, &mut got) };
                assert_eq!(got, want);
            }
        }
    }
}
