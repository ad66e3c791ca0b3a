//! AVX-512 back-end (F + VL): two hashes per 256-bit register, six register sets (twelve hashes).
//!
//! Each 128-bit lane of a YMM register holds one row of a different hash, so the in-lane shuffles
//! of the diagonal layout work unchanged. AVX-512VL brings a rotate (`vprold`) and 32 vector
//! registers to 256-bit code: a quarter-round step is three instructions instead of AVX2's five.
//! The rotate has two cycles of latency, so one round of one chain takes 16 cycles but only
//! about 4 cycles of issue; six chains (in two groups half a BlockMix apart) fill the gap. On the
//! reference machine (Zen 4, where 512-bit operations are split in two) 512-bit registers with
//! four hashes each were no faster, and 256-bit code avoids the frequency penalty some Intel
//! CPUs apply to 512-bit work. Twelve 128 KiB scratchpads are 1.5 MiB per thread.
//!
//! With one chain the kernel is latency-bound whatever the width, and serves single hashes: then
//! the rotate is two shifts and a three-way xor (`vpternlogd`), 3 cycles a step instead of 4.

use core::arch::x86_64::*;

use super::kernel::{romix_kernel, salsa8};
use super::{Block, N};

/// The vector type: one row each of two hashes.
type V = __m256i;
/// Hashes per register.
const P: usize = 2;
/// Register sets ("chains") run together.
pub(super) const CHAINS: usize = 6;
/// Chains in the group that runs behind; the other three run half a BlockMix ahead.
pub(super) const GROUP_A: usize = 3;
/// Hashes per call.
pub(super) const LANES: usize = CHAINS * P;

#[inline]
#[target_feature(enable = "avx2,avx512f,avx512vl")]
fn zero() -> V {
    _mm256_setzero_si256()
}

#[inline]
#[target_feature(enable = "avx2,avx512f,avx512vl")]
fn add(a: V, b: V) -> V {
    _mm256_add_epi32(a, b)
}

#[inline]
#[target_feature(enable = "avx2,avx512f,avx512vl")]
fn xor(a: V, b: V) -> V {
    _mm256_xor_si256(a, b)
}

/// `b ^ (t <<< L)` (`R` must be `32 - L`). For throughput, one `vprold` (two cycles of latency)
/// and an xor; when `short` asks for latency, two shifts and one three-way xor (`vpternlogd`),
/// a cycle shorter, for the kernel's one- and two-chain uses.
#[inline]
#[target_feature(enable = "avx2,avx512f,avx512vl")]
fn xor_rotl<const L: i32, const R: i32>(b: V, t: V, short: bool) -> V {
    const { assert!(L + R == 32) };
    if short {
        _mm256_ternarylogic_epi32::<0x96>(b, _mm256_slli_epi32::<L>(t), _mm256_srli_epi32::<R>(t))
    } else {
        xor(b, _mm256_rol_epi32::<L>(t))
    }
}

#[inline]
#[target_feature(enable = "avx2,avx512f,avx512vl")]
fn shuf<const IMM: i32>(a: V) -> V {
    _mm256_shuffle_epi32::<IMM>(a)
}

/// Loads the eight rows of two blocks, the first block into the low lanes.
#[inline]
#[target_feature(enable = "avx2,avx512f,avx512vl")]
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
#[target_feature(enable = "avx2,avx512f,avx512vl")]
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
#[target_feature(enable = "avx2,avx512f,avx512vl")]
fn xor_lanes(x: &mut [V; 8], rows: [&[V; 8]; P]) {
    for (r, row) in x.iter_mut().enumerate() {
        *row = xor(*row, _mm256_blend_epi32::<0xf0>(rows[0][r], rows[1][r]));
    }
}

/// The first word of each lane.
#[inline]
#[target_feature(enable = "avx2,avx512f,avx512vl")]
fn word0(a: V) -> [u32; P] {
    [
        _mm256_extract_epi32::<0>(a) as u32,
        _mm256_extract_epi32::<4>(a) as u32,
    ]
}

romix_kernel!("avx2,avx512f,avx512vl");
