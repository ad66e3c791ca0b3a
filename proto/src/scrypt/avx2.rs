//! AVX2 back-end: two hashes per 256-bit register, three register sets interleaved (six hashes).
//!
//! Each 128-bit lane of a YMM register holds one row of a different hash, so the in-lane shuffles
//! of the diagonal layout work unchanged. Rotations are two shifts and an or (AVX2 has no
//! rotate). Three chains in lock step fill the 16 YMM registers (a fourth only spills); six
//! 128 KiB scratchpads are 768 KiB, inside a 1 MiB L2 cache.

use core::arch::x86_64::*;

use super::kernel::{romix_kernel, salsa8};
use super::{Block, N};

/// The vector type: one row each of two hashes.
type V = __m256i;
/// Hashes per register.
const P: usize = 2;
/// Register sets ("chains") run together.
pub(super) const CHAINS: usize = 3;
/// Chains in the group that runs behind; the rest run half a BlockMix ahead (none here: all
/// chains in lock step).
pub(super) const GROUP_A: usize = 3;
/// Hashes per call.
pub(super) const LANES: usize = CHAINS * P;

#[inline]
#[target_feature(enable = "avx2")]
fn zero() -> V {
    _mm256_setzero_si256()
}

#[inline]
#[target_feature(enable = "avx2")]
fn add(a: V, b: V) -> V {
    _mm256_add_epi32(a, b)
}

#[inline]
#[target_feature(enable = "avx2")]
fn xor(a: V, b: V) -> V {
    _mm256_xor_si256(a, b)
}

/// `b ^ (t <<< L)` (`R` must be `32 - L`): two shifts and an or, as there is no rotate; the
/// latency hint is moot.
#[inline]
#[target_feature(enable = "avx2")]
fn xor_rotl<const L: i32, const R: i32>(b: V, t: V, _short: bool) -> V {
    const { assert!(L + R == 32) };
    xor(
        b,
        _mm256_or_si256(_mm256_slli_epi32::<L>(t), _mm256_srli_epi32::<R>(t)),
    )
}

#[inline]
#[target_feature(enable = "avx2")]
fn shuf<const IMM: i32>(a: V) -> V {
    _mm256_shuffle_epi32::<IMM>(a)
}

/// Loads the eight rows of two blocks, the first block into the low lanes.
#[inline]
#[target_feature(enable = "avx2")]
fn load8(src: [&[u32; 32]; P]) -> [V; 8] {
    let mut out = [zero(); 8];
    for (r, row) in out.iter_mut().enumerate() {
        // SAFETY: r < 8, so the four words at 4r lie inside each 32-word block; loadu has no
        // alignment requirement.
        let (lo, hi) = unsafe {
            (
                _mm_loadu_si128(src[0].as_ptr().add(4 * r).cast()),
                _mm_loadu_si128(src[1].as_ptr().add(4 * r).cast()),
            )
        };
        *row = _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(lo), hi);
    }
    out
}

/// Stores the eight rows of two blocks, the low lanes into the first.
#[inline]
#[target_feature(enable = "avx2")]
fn store8(x: &[V; 8], dst: [&mut [u32; 32]; P]) {
    let [d0, d1] = dst;
    for (r, row) in x.iter().enumerate() {
        let (lo, hi) = (
            _mm256_castsi256_si128(*row),
            _mm256_extracti128_si256::<1>(*row),
        );
        // SAFETY: r < 8, so the four words at 4r lie inside each 32-word block, both borrowed
        // mutably; storeu has no alignment requirement.
        unsafe {
            _mm_storeu_si128(d0.as_mut_ptr().add(4 * r).cast(), lo);
            _mm_storeu_si128(d1.as_mut_ptr().add(4 * r).cast(), hi);
        }
    }
}

/// Xors into `x` the scratchpad image `rows[p]` in lane `p`: each lane reads its own hash's
/// earlier state.
#[inline]
#[target_feature(enable = "avx2")]
fn xor_lanes(x: &mut [V; 8], rows: [&[V; 8]; P]) {
    for (r, row) in x.iter_mut().enumerate() {
        *row = xor(*row, _mm256_blend_epi32::<0xf0>(rows[0][r], rows[1][r]));
    }
}

/// The first word of each lane.
#[inline]
#[target_feature(enable = "avx2")]
fn word0(a: V) -> [u32; P] {
    [
        _mm256_extract_epi32::<0>(a) as u32,
        _mm256_extract_epi32::<4>(a) as u32,
    ]
}

romix_kernel!("avx2");
