//! The AVX2 back-end: the shared kernel on 8 nonces at once in 256-bit registers.
//!
//! AVX2 has no rotate and no three-input logic, so each Σ/σ function is built from shifts and
//! XORs, with the right and left shifts of the three terms kept in two separate chains.

use std::arch::x86_64::{
    __m256i, _mm256_add_epi32, _mm256_and_si256, _mm256_castsi256_ps, _mm256_cmpeq_epi32,
    _mm256_max_epu32, _mm256_movemask_ps, _mm256_or_si256, _mm256_set1_epi32, _mm256_setr_epi32,
    _mm256_setr_epi8, _mm256_shuffle_epi8, _mm256_slli_epi32, _mm256_srli_epi32, _mm256_xor_si256,
};

use super::kernel::{final_h7, Lanes};
use super::precomp::Precomp;
use super::push_lanes;

/// Eight 32-bit lanes. Only [`scan_avx2`] makes values of this type, so a value is proof that the
/// CPU has AVX2 and the intrinsics below may run.
#[derive(Clone, Copy)]
struct V8(__m256i);

/// `(x >> r1) ^ (x >> r2) ^ (x >> r3)` combined with the matching left shifts: the XOR of three
/// rotations (or, with `$shr`, of two rotations and one right shift).
macro_rules! sigma {
    ($x:expr, rotr $a:literal $b:literal $c:literal) => {{
        let x = $x;
        let r = _mm256_xor_si256(
            _mm256_xor_si256(_mm256_srli_epi32::<$a>(x), _mm256_srli_epi32::<$b>(x)),
            _mm256_srli_epi32::<$c>(x),
        );
        let l = _mm256_xor_si256(
            _mm256_xor_si256(
                _mm256_slli_epi32::<{ 32 - $a }>(x),
                _mm256_slli_epi32::<{ 32 - $b }>(x),
            ),
            _mm256_slli_epi32::<{ 32 - $c }>(x),
        );
        _mm256_xor_si256(r, l)
    }};
    ($x:expr, rotr $a:literal $b:literal shr $c:literal) => {{
        let x = $x;
        let r = _mm256_xor_si256(
            _mm256_xor_si256(_mm256_srli_epi32::<$a>(x), _mm256_srli_epi32::<$b>(x)),
            _mm256_srli_epi32::<$c>(x),
        );
        let l = _mm256_xor_si256(
            _mm256_slli_epi32::<{ 32 - $a }>(x),
            _mm256_slli_epi32::<{ 32 - $b }>(x),
        );
        _mm256_xor_si256(r, l)
    }};
}

impl Lanes for V8 {
    #[inline(always)]
    fn splat(self, x: u32) -> Self {
        // SAFETY: a V8 exists only where AVX2 is present (see the type's doc).
        Self(unsafe { _mm256_set1_epi32(x as i32) })
    }
    #[inline(always)]
    fn add(self, other: Self) -> Self {
        // SAFETY: as in `splat`.
        Self(unsafe { _mm256_add_epi32(self.0, other.0) })
    }
    #[inline(always)]
    fn big_sigma0(self) -> Self {
        // SAFETY: as in `splat`.
        Self(unsafe { sigma!(self.0, rotr 2 13 22) })
    }
    #[inline(always)]
    fn big_sigma1(self) -> Self {
        // SAFETY: as in `splat`.
        Self(unsafe { sigma!(self.0, rotr 6 11 25) })
    }
    #[inline(always)]
    fn small_sigma0(self) -> Self {
        // SAFETY: as in `splat`.
        Self(unsafe { sigma!(self.0, rotr 7 18 shr 3) })
    }
    #[inline(always)]
    fn small_sigma1(self) -> Self {
        // SAFETY: as in `splat`.
        Self(unsafe { sigma!(self.0, rotr 17 19 shr 10) })
    }
    #[inline(always)]
    fn ch(self, f: Self, g: Self) -> Self {
        // g ^ (e & (f ^ g)).
        // SAFETY: as in `splat`.
        Self(unsafe { _mm256_xor_si256(g.0, _mm256_and_si256(self.0, _mm256_xor_si256(f.0, g.0))) })
    }
    #[inline(always)]
    fn maj(self, b: Self, c: Self) -> Self {
        // (a & b) | (c & (a | b)).
        // SAFETY: as in `splat`.
        Self(unsafe {
            _mm256_or_si256(
                _mm256_and_si256(self.0, b.0),
                _mm256_and_si256(c.0, _mm256_or_si256(self.0, b.0)),
            )
        })
    }
}

/// Scans `count` nonces from `start`; see [`super::scan`].
pub(crate) fn scan(p: &Precomp, start: u32, count: u32, out: &mut Vec<u32>) {
    assert!(
        is_x86_feature_detected!("avx2"),
        "the AVX2 back-end needs AVX2"
    );
    // SAFETY: the CPU feature `scan_avx2` enables was detected just above.
    unsafe { scan_avx2(p, start, count, out) }
}

/// The scanning loop, 8 nonces per step (callable only where AVX2 exists).
#[target_feature(enable = "avx2")]
fn scan_avx2(p: &Precomp, start: u32, count: u32, out: &mut Vec<u32>) {
    let lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    // Byte order reversal within each 32-bit lane (the shuffle works per 128-bit half).
    #[rustfmt::skip]
    let bswap = _mm256_setr_epi8(
        3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12,
        3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12,
    );
    let target = _mm256_set1_epi32(p.target_hi as i32);
    let mut done = 0u64;
    while done < u64::from(count) {
        let base = start.wrapping_add(done as u32);
        let nonces = _mm256_add_epi32(_mm256_set1_epi32(base as i32), lane);
        let w3 = V8(_mm256_shuffle_epi8(nonces, bswap));
        let hi = _mm256_shuffle_epi8(final_h7(p, w3).0, bswap);
        // hi <= target (unsigned) exactly where max(hi, target) == target.
        let pass = _mm256_cmpeq_epi32(_mm256_max_epu32(hi, target), target);
        let mask = _mm256_movemask_ps(_mm256_castsi256_ps(pass)) as u32;
        if mask != 0 {
            push_lanes(mask, base, done, count, out);
        }
        done += 8;
    }
}
