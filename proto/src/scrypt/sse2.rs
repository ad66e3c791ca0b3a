//! SSE2 back-end: one hash per 128-bit register, three hashes interleaved.
//!
//! SSE2 is part of x86-64 itself, so this back-end runs on every x86-64 CPU. Rotations are two
//! shifts and an or (SSE2 has no rotate). Three chains in lock step use 12 of the 16 XMM
//! registers for the working rows; one chain is the single-hash path on CPUs without AVX-512.

use core::arch::x86_64::*;

use super::kernel::{romix_kernel, salsa8};
use super::{Block, N};

/// The vector type: one row of one hash.
type V = __m128i;
/// Hashes per register.
const P: usize = 1;
/// Register sets ("chains") of the mining path.
pub(super) const CHAINS: usize = 3;
/// Chains in the group that runs behind; the rest run half a BlockMix ahead (none here: all
/// chains in lock step).
pub(super) const GROUP_A: usize = 3;
/// Hashes per call of the mining path.
pub(super) const LANES: usize = CHAINS * P;

#[inline]
#[target_feature(enable = "sse2")]
fn zero() -> V {
    _mm_setzero_si128()
}

#[inline]
#[target_feature(enable = "sse2")]
fn add(a: V, b: V) -> V {
    _mm_add_epi32(a, b)
}

#[inline]
#[target_feature(enable = "sse2")]
fn xor(a: V, b: V) -> V {
    _mm_xor_si128(a, b)
}

/// `b ^ (t <<< L)` (`R` must be `32 - L`): two shifts and an or, as there is no rotate; the
/// latency hint is moot.
#[inline]
#[target_feature(enable = "sse2")]
fn xor_rotl<const L: i32, const R: i32>(b: V, t: V, _short: bool) -> V {
    const { assert!(L + R == 32) };
    xor(
        b,
        _mm_or_si128(_mm_slli_epi32::<L>(t), _mm_srli_epi32::<R>(t)),
    )
}

#[inline]
#[target_feature(enable = "sse2")]
fn shuf<const IMM: i32>(a: V) -> V {
    _mm_shuffle_epi32::<IMM>(a)
}

/// Loads the eight rows of a block.
#[inline]
#[target_feature(enable = "sse2")]
fn load8(src: [&[u32; 32]; P]) -> [V; 8] {
    let mut out = [zero(); 8];
    for (r, row) in out.iter_mut().enumerate() {
        // SAFETY: r < 8, so the four words at 4r lie inside the 32-word block; loadu has no
        // alignment requirement.
        *row = unsafe { _mm_loadu_si128(src[0].as_ptr().add(4 * r).cast()) };
    }
    out
}

/// Stores the eight rows of a block.
#[inline]
#[target_feature(enable = "sse2")]
fn store8(x: &[V; 8], dst: [&mut [u32; 32]; P]) {
    let [d0] = dst;
    for (r, row) in x.iter().enumerate() {
        // SAFETY: r < 8, so the four words at 4r lie inside the 32-word block, which is borrowed
        // mutably; storeu has no alignment requirement.
        unsafe { _mm_storeu_si128(d0.as_mut_ptr().add(4 * r).cast(), *row) };
    }
}

/// Xors into `x` the scratchpad image `rows[p]` in lane `p`: each lane reads its own hash's
/// earlier state.
#[inline]
#[target_feature(enable = "sse2")]
fn xor_lanes(x: &mut [V; 8], rows: [&[V; 8]; P]) {
    for (r, row) in x.iter_mut().enumerate() {
        *row = xor(*row, rows[0][r]);
    }
}

/// The first word of each lane.
#[inline]
#[target_feature(enable = "sse2")]
fn word0(a: V) -> [u32; P] {
    [_mm_cvtsi128_si32(a) as u32]
}

romix_kernel!("sse2");
