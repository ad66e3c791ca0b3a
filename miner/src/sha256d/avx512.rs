//! The AVX-512 back-end: the shared kernel on 16 nonces at once in 512-bit registers.
//!
//! AVX-512 suits SHA-256 well: `vprord` rotates in one instruction, `vpternlogd` computes Ch, Maj
//! and each three-way XOR of the Σ/σ functions in one, and the 32 registers hold the state and the
//! whole 16-word schedule window without spilling.

use std::arch::x86_64::{
    __m512i, _mm512_add_epi32, _mm512_cmple_epu32_mask, _mm512_ror_epi32, _mm512_set1_epi32,
    _mm512_set4_epi32, _mm512_setr_epi32, _mm512_shuffle_epi8, _mm512_srli_epi32,
    _mm512_ternarylogic_epi32,
};

use super::kernel::{final_h7, Lanes};
use super::precomp::Precomp;
use super::push_lanes;

/// Sixteen 32-bit lanes. Only [`scan_avx512`] makes values of this type, so a value is proof that
/// the CPU has AVX-512F and the intrinsics below may run.
#[derive(Clone, Copy)]
struct V16(__m512i);

/// `vpternlogd` truth tables: a ^ b ^ c, a ? b : c, majority(a, b, c).
const XOR3: i32 = 0x96;
const CH: i32 = 0xca;
const MAJ: i32 = 0xe8;

impl Lanes for V16 {
    #[inline(always)]
    fn splat(self, x: u32) -> Self {
        // SAFETY: a V16 exists only where AVX-512F is present (see the type's doc).
        Self(unsafe { _mm512_set1_epi32(x as i32) })
    }
    #[inline(always)]
    fn add(self, other: Self) -> Self {
        // SAFETY: as in `splat`.
        Self(unsafe { _mm512_add_epi32(self.0, other.0) })
    }
    #[inline(always)]
    fn big_sigma0(self) -> Self {
        let x = self.0;
        // SAFETY: as in `splat`.
        Self(unsafe {
            _mm512_ternarylogic_epi32::<XOR3>(
                _mm512_ror_epi32::<2>(x),
                _mm512_ror_epi32::<13>(x),
                _mm512_ror_epi32::<22>(x),
            )
        })
    }
    #[inline(always)]
    fn big_sigma1(self) -> Self {
        let x = self.0;
        // SAFETY: as in `splat`.
        Self(unsafe {
            _mm512_ternarylogic_epi32::<XOR3>(
                _mm512_ror_epi32::<6>(x),
                _mm512_ror_epi32::<11>(x),
                _mm512_ror_epi32::<25>(x),
            )
        })
    }
    #[inline(always)]
    fn small_sigma0(self) -> Self {
        let x = self.0;
        // SAFETY: as in `splat`.
        Self(unsafe {
            _mm512_ternarylogic_epi32::<XOR3>(
                _mm512_ror_epi32::<7>(x),
                _mm512_ror_epi32::<18>(x),
                _mm512_srli_epi32::<3>(x),
            )
        })
    }
    #[inline(always)]
    fn small_sigma1(self) -> Self {
        let x = self.0;
        // SAFETY: as in `splat`.
        Self(unsafe {
            _mm512_ternarylogic_epi32::<XOR3>(
                _mm512_ror_epi32::<17>(x),
                _mm512_ror_epi32::<19>(x),
                _mm512_srli_epi32::<10>(x),
            )
        })
    }
    #[inline(always)]
    fn ch(self, f: Self, g: Self) -> Self {
        // SAFETY: as in `splat`.
        Self(unsafe { _mm512_ternarylogic_epi32::<CH>(self.0, f.0, g.0) })
    }
    #[inline(always)]
    fn maj(self, b: Self, c: Self) -> Self {
        // SAFETY: as in `splat`.
        Self(unsafe { _mm512_ternarylogic_epi32::<MAJ>(self.0, b.0, c.0) })
    }
}

/// Scans `count` nonces from `start`; see [`super::scan`].
pub(crate) fn scan(p: &Precomp, start: u32, count: u32, out: &mut Vec<u32>) {
    assert!(
        is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bw"),
        "the AVX-512 back-end needs AVX-512F and AVX-512BW"
    );
    // SAFETY: the CPU features `scan_avx512` enables were detected just above.
    unsafe { scan_avx512(p, start, count, out) }
}

/// The scanning loop, 16 nonces per step (callable only where AVX-512F and AVX-512BW exist).
#[target_feature(enable = "avx512f,avx512bw")]
fn scan_avx512(p: &Precomp, start: u32, count: u32, out: &mut Vec<u32>) {
    let lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    // Byte order reversal within each 32-bit lane (the shuffle works per 128-bit block).
    let bswap = _mm512_set4_epi32(0x0c0d0e0f, 0x08090a0b, 0x04050607, 0x00010203);
    let target = _mm512_set1_epi32(p.target_hi as i32);
    let mut done = 0u64;
    while done < u64::from(count) {
        let base = start.wrapping_add(done as u32);
        let nonces = _mm512_add_epi32(_mm512_set1_epi32(base as i32), lane);
        let w3 = V16(_mm512_shuffle_epi8(nonces, bswap));
        let h7 = final_h7(p, w3).0;
        let mask = _mm512_cmple_epu32_mask(_mm512_shuffle_epi8(h7, bswap), target);
        if mask != 0 {
            push_lanes(u32::from(mask), base, done, count, out);
        }
        done += 16;
    }
}
