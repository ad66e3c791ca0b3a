//! AVX-512 back-end: four hashes per 512-bit register, two register sets interleaved (eight).
//!
//! Each 128-bit lane of a ZMM register holds one row of a different hash, so the in-lane shuffles
//! of the diagonal layout work unchanged, and AVX-512's rotate (`vprold`) turns each
//! quarter-round step into three instructions instead of five. Two chains of four hashes are
//! enough to cover the add→rotate→xor latency; eight 128 KiB scratchpads (1 MiB) stay mostly in
//! L2.

use core::arch::x86_64::*;

use super::kernel::{romix_kernel, salsa8};
use super::{Block, N};

/// The vector type: one row each of four hashes.
type V = __m512i;
/// Hashes per register.
const P: usize = 4;
/// Register sets run in lock step.
pub(super) const CHAINS: usize = 2;
/// Hashes per call.
pub(super) const LANES: usize = CHAINS * P;

#[inline]
#[target_feature(enable = "avx512f")]
fn zero() -> V {
    _mm512_setzero_si512()
}

#[inline]
#[target_feature(enable = "avx512f")]
fn add(a: V, b: V) -> V {
    _mm512_add_epi32(a, b)
}

#[inline]
#[target_feature(enable = "avx512f")]
fn xor(a: V, b: V) -> V {
    _mm512_xor_si512(a, b)
}

/// Rotates each word left by `L` (`R`, which must be `32 - L`, is unused: this is one instruction).
#[inline]
#[target_feature(enable = "avx512f")]
fn rotl<const L: i32, const R: i32>(a: V) -> V {
    const { assert!(L + R == 32) };
    _mm512_rol_epi32::<L>(a)
}

#[inline]
#[target_feature(enable = "avx512f")]
fn shuf<const IMM: i32>(a: V) -> V {
    _mm512_shuffle_epi32::<IMM>(a)
}

/// Loads the eight rows of four blocks, block `p` into lane `p`.
#[inline]
#[target_feature(enable = "avx512f")]
fn load8(src: [&[u32; 32]; P]) -> [V; 8] {
    let mut out = [zero(); 8];
    for (r, row) in out.iter_mut().enumerate() {
        // SAFETY: r < 8, so the four words at 4r lie inside each 32-word block; loadu has no
        // alignment requirement.
        let [l0, l1, l2, l3] =
            src.map(|block| unsafe { _mm_loadu_si128(block.as_ptr().add(4 * r).cast()) });
        let v = _mm512_castsi128_si512(l0);
        let v = _mm512_inserti32x4::<1>(v, l1);
        let v = _mm512_inserti32x4::<2>(v, l2);
        *row = _mm512_inserti32x4::<3>(v, l3);
    }
    out
}

/// Stores the eight rows of four blocks, lane `p` into block `p`.
#[inline]
#[target_feature(enable = "avx512f")]
fn store8(x: &[V; 8], dst: [&mut [u32; 32]; P]) {
    let [d0, d1, d2, d3] = dst;
    for (r, row) in x.iter().enumerate() {
        let l0 = _mm512_castsi512_si128(*row);
        let l1 = _mm512_extracti32x4_epi32::<1>(*row);
        let l2 = _mm512_extracti32x4_epi32::<2>(*row);
        let l3 = _mm512_extracti32x4_epi32::<3>(*row);
        // SAFETY: r < 8, so the four words at 4r lie inside each 32-word block, all borrowed
        // mutably; storeu has no alignment requirement.
        unsafe {
            _mm_storeu_si128(d0.as_mut_ptr().add(4 * r).cast(), l0);
            _mm_storeu_si128(d1.as_mut_ptr().add(4 * r).cast(), l1);
            _mm_storeu_si128(d2.as_mut_ptr().add(4 * r).cast(), l2);
            _mm_storeu_si128(d3.as_mut_ptr().add(4 * r).cast(), l3);
        }
    }
}

/// Xors into `x` the scratchpad image `rows[p]` in lane `p`: each lane reads its own hash's
/// earlier state.
#[inline]
#[target_feature(enable = "avx512f")]
fn xor_lanes(x: &mut [V; 8], rows: [&[V; 8]; P]) {
    for (r, row) in x.iter_mut().enumerate() {
        for (p, lane) in rows.iter().enumerate() {
            *row = _mm512_mask_xor_epi32(*row, 0x000f << (4 * p), *row, lane[r]);
        }
    }
}

/// The first word of each lane.
#[inline]
#[target_feature(enable = "avx512f")]
fn word0(a: V) -> [u32; P] {
    [
        _mm_cvtsi128_si32(_mm512_castsi512_si128(a)) as u32,
        _mm_cvtsi128_si32(_mm512_extracti32x4_epi32::<1>(a)) as u32,
        _mm_cvtsi128_si32(_mm512_extracti32x4_epi32::<2>(a)) as u32,
        _mm_cvtsi128_si32(_mm512_extracti32x4_epi32::<3>(a)) as u32,
    ]
}

romix_kernel!("avx512f");
