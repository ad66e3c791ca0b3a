//! Portable back-end: scalar Salsa20/8 and ROMix, one hash at a time, for any CPU.
//!
//! It reads and writes blocks in the same diagonal word order as the SIMD back-ends (see
//! [`super::DIAGONAL`]), so every back-end shares one conversion; the order is folded into the
//! constant indices below and costs nothing. The compiler keeps the 16 words in registers, and the
//! four independent quarter-rounds of each round give the CPU some parallelism of its own.

use super::{Block, N};

/// Where standard Salsa20 word `k` sits in the diagonal order (the inverse of `DIAGONAL`).
const AT: [usize; 16] = [0, 13, 10, 7, 4, 1, 14, 11, 8, 5, 2, 15, 12, 9, 6, 3];

/// One quarter-round on standard words `a, b, c, d`.
#[inline(always)]
fn quarter(s: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
    let (a, b, c, d) = (AT[a], AT[b], AT[c], AT[d]);
    s[b] ^= s[a].wrapping_add(s[d]).rotate_left(7);
    s[c] ^= s[b].wrapping_add(s[a]).rotate_left(9);
    s[d] ^= s[c].wrapping_add(s[b]).rotate_left(13);
    s[a] ^= s[d].wrapping_add(s[c]).rotate_left(18);
}

/// Replaces `b` with Salsa20/8 of `b ^ x`.
#[inline(always)]
fn salsa8(b: &mut [u32; 16], x: &[u32; 16]) {
    for (w, v) in b.iter_mut().zip(x) {
        *w ^= v;
    }
    let mut s = *b;
    for _ in 0..4 {
        quarter(&mut s, 0, 4, 8, 12);
        quarter(&mut s, 5, 9, 13, 1);
        quarter(&mut s, 10, 14, 2, 6);
        quarter(&mut s, 15, 3, 7, 11);
        quarter(&mut s, 0, 1, 2, 3);
        quarter(&mut s, 5, 6, 7, 4);
        quarter(&mut s, 10, 11, 8, 9);
        quarter(&mut s, 15, 12, 13, 14);
    }
    for (w, v) in b.iter_mut().zip(s) {
        *w = w.wrapping_add(v);
    }
}

/// BlockMix with r = 1.
#[inline(always)]
fn block_mix(x: &mut [u32; 32]) {
    let (b0, b1) = x.split_at_mut(16);
    let b0: &mut [u32; 16] = b0.try_into().expect("32 words split in halves");
    let b1: &mut [u32; 16] = b1.try_into().expect("32 words split in halves");
    salsa8(b0, b1);
    salsa8(b1, b0);
}

/// ROMix (N = 1024, r = 1) of one block in diagonal word order, in place.
pub(super) fn romix(x: &mut [u32; 32], v: &mut [Block; N]) {
    for slot in v.iter_mut() {
        slot.0 = *x;
        block_mix(x);
    }
    for _ in 0..N {
        // Integerify: word 16 is the first word of the second half in either word order.
        let j = x[16] as usize % N;
        for (w, u) in x.iter_mut().zip(&v[j].0) {
            *w ^= u;
        }
        block_mix(x);
    }
}
