//! The portable back-end: the shared kernel on plain `u32`, one nonce at a time.
//!
//! It runs on any CPU and is the fallback where no SIMD back-end is available; it is also the
//! scalar twin of the SIMD back-ends, which run the very same kernel on wider lane types.

use super::kernel::{final_h7, Lanes};
use super::precomp::Precomp;
use super::reference::{big_sigma0, big_sigma1, small_sigma0, small_sigma1};

impl Lanes for u32 {
    #[inline(always)]
    fn splat(self, x: u32) -> Self {
        x
    }
    #[inline(always)]
    fn add(self, other: Self) -> Self {
        self.wrapping_add(other)
    }
    #[inline(always)]
    fn big_sigma0(self) -> Self {
        big_sigma0(self)
    }
    #[inline(always)]
    fn big_sigma1(self) -> Self {
        big_sigma1(self)
    }
    #[inline(always)]
    fn small_sigma0(self) -> Self {
        small_sigma0(self)
    }
    #[inline(always)]
    fn small_sigma1(self) -> Self {
        small_sigma1(self)
    }
    #[inline(always)]
    fn ch(self, f: Self, g: Self) -> Self {
        // Same as (e & f) ^ (!e & g), one operation shorter.
        g ^ (self & (f ^ g))
    }
    #[inline(always)]
    fn maj(self, b: Self, c: Self) -> Self {
        // Same as (a & b) ^ (a & c) ^ (b & c).
        (self & b) | (c & (self | b))
    }
}

/// H7 of sha256d(header) for one nonce, from the job's constants.
pub(crate) fn final_h7_one(p: &Precomp, nonce: u32) -> u32 {
    final_h7(p, nonce.swap_bytes())
}

/// Scans `count` nonces from `start` (wrapping) and appends those whose top word passes.
pub(crate) fn scan(p: &Precomp, start: u32, count: u32, out: &mut Vec<u32>) {
    for i in 0..count {
        let nonce = start.wrapping_add(i);
        if final_h7_one(p, nonce).swap_bytes() <= p.target_hi {
            out.push(nonce);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sha256d::reference::sha256d_words;
    use crate::sha256d::{Midstate, Sha256dJob};

    #[test]
    fn kernel_matches_reference_h7() {
        let mut header = [0u8; 80];
        for (i, b) in header.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(151).wrapping_add(7);
        }
        let job = Sha256dJob::new(&header, u32::MAX);
        let p = Precomp::new(&job);
        for nonce in [0u32, 1, 0x1234_5678, u32::MAX] {
            let mut tail = job.tail;
            tail[12..].copy_from_slice(&nonce.to_le_bytes());
            let words = sha256d_words(&Midstate::of_header(&header).0, &tail);
            assert_eq!(final_h7_one(&p, nonce), words[7], "nonce {nonce:#x}");
        }
    }
}
