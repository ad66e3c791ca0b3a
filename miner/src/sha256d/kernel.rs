//! The sha256d-of-a-header kernel, written once for any lane type (scalar, AVX2, AVX-512).
//!
//! It computes, for each lane's nonce, only what decides whether the hash can meet a target: the
//! final state word H7 of the second SHA-256. The first hash starts after round 3 from the job's
//! precomputed state; words that are constant for the job are folded in (see `precomp.rs`); the
//! second hash stops after round 60, since H7 is `IV[7]` plus the value of e after round 60, and
//! rounds 57..60 skip T2 because the a values they would make are never read.
//!
//! Every round is unrolled with constant indices (`unroll!`), so the compiler keeps the state and
//! the schedule in registers and folds every constant-index branch below.

use super::precomp::{second, Precomp};
use super::reference::{IV, K};

/// A vector of independent 32-bit lanes with the operations SHA-256 needs.
///
/// An implementation for a SIMD type may assume its CPU feature is present: values of such a type
/// exist only inside the back-end function that checked for it, so `self` is the witness.
pub(crate) trait Lanes: Copy {
    /// A vector of the same kind with every lane equal to `x`.
    fn splat(self, x: u32) -> Self;
    /// Lane-wise wrapping addition.
    fn add(self, other: Self) -> Self;
    /// Σ0 in each lane.
    fn big_sigma0(self) -> Self;
    /// Σ1 in each lane.
    fn big_sigma1(self) -> Self;
    /// σ0 in each lane.
    fn small_sigma0(self) -> Self;
    /// σ1 in each lane.
    fn small_sigma1(self) -> Self;
    /// Ch(self, f, g) in each lane.
    fn ch(self, f: Self, g: Self) -> Self;
    /// Maj(self, b, c) in each lane.
    fn maj(self, b: Self, c: Self) -> Self;

    /// Lane-wise addition of the constant `x`.
    #[inline(always)]
    fn add_c(self, x: u32) -> Self {
        self.add(self.splat(x))
    }
}

/// One full round: state a..h in, state after the round out.
#[inline(always)]
fn round<V: Lanes>(s: [V; 8], kw: V) -> [V; 8] {
    let [a, b, c, d, e, f, g, h] = s;
    let t1 = h.add(kw).add(e.ch(f, g)).add(e.big_sigma1());
    let t2 = a.big_sigma0().add(a.maj(b, c));
    [t1.add(t2), a, b, c, d.add(t1), e, f, g]
}

/// A round whose new a is never read: T2 is skipped and the new a is left meaningless.
#[inline(always)]
fn round_e_only<V: Lanes>(s: [V; 8], kw: V) -> [V; 8] {
    let [a, b, c, d, e, f, g, _] = s;
    let t1 = s[7].add(kw).add(e.ch(f, g)).add(e.big_sigma1());
    [t1, a, b, c, d.add(t1), e, f, g]
}

/// The general schedule step: w[t] from w[t-2], w[t-7], w[t-15], w[t-16].
#[inline(always)]
fn expand<V: Lanes>(w: &[V; 64], t: usize) -> V {
    w[t - 2]
        .small_sigma1()
        .add(w[t - 7])
        .add(w[t - 15].small_sigma0())
        .add(w[t - 16])
}

/// First-hash schedule word `t` (16..63), with the job's constant terms folded in.
#[inline(always)]
fn first_word<V: Lanes>(p: &Precomp, w: &[V; 64], t: usize) -> V {
    let base = if t < 34 { p.w1_base[t - 16] } else { 0 };
    match t {
        16 | 17 => w[3].splat(base),
        18 => w[3].small_sigma0().add_c(base),
        19 => w[3].add_c(base),
        20 | 22 => w[t - 2].small_sigma1().add_c(base),
        21 => w[19].small_sigma1(),
        23 | 24 => w[t - 2].small_sigma1().add_c(base),
        25..=29 => w[t - 2].small_sigma1().add(w[t - 7]),
        30..=32 => w[t - 2].small_sigma1().add(w[t - 7]).add_c(base),
        33 => w[31]
            .small_sigma1()
            .add(w[26])
            .add(w[18].small_sigma0())
            .add_c(base),
        _ => expand(w, t),
    }
}

/// Second-hash schedule word `t` (16..60), whose words 8..15 are the fixed padding.
#[inline(always)]
fn second_word<V: Lanes>(w: &[V; 64], t: usize) -> V {
    match t {
        16 => w[1].small_sigma0().add(w[0]),
        17 => w[2].small_sigma0().add(w[1]).add_c(second::SS1_W15),
        18..=21 => w[t - 2]
            .small_sigma1()
            .add(w[t - 15].small_sigma0())
            .add(w[t - 16]),
        22 => w[20]
            .small_sigma1()
            .add(w[7].small_sigma0())
            .add(w[6])
            .add_c(256),
        23 => w[21]
            .small_sigma1()
            .add(w[16])
            .add(w[7])
            .add_c(second::SS0_W8),
        24 => w[22].small_sigma1().add(w[17]).add_c(0x8000_0000),
        25..=29 => w[t - 2].small_sigma1().add(w[t - 7]),
        30 => w[28].small_sigma1().add(w[23]).add_c(second::SS0_W15),
        31 => w[29]
            .small_sigma1()
            .add(w[24])
            .add(w[16].small_sigma0())
            .add_c(256),
        _ => expand(w, t),
    }
}

/// The final state word H7 of sha256d(header) for each lane, where `w3` holds each lane's nonce
/// as schedule word 3 (the nonce's four header bytes read big-endian).
#[inline(always)]
pub(crate) fn final_h7<V: Lanes>(p: &Precomp, w3: V) -> V {
    let z = w3;
    // First hash, from the state after round 3.
    let mut s = [
        z.splat(p.s4[0]).add(w3),
        z.splat(p.s4[1]),
        z.splat(p.s4[2]),
        z.splat(p.s4[3]),
        z.splat(p.s4[4]).add(w3),
        z.splat(p.s4[5]),
        z.splat(p.s4[6]),
        z.splat(p.s4[7]),
    ];
    unroll!(T in [4 5 6 7 8 9 10 11 12 13 14 15] {
        s = round(s, z.splat(p.kw1[T]));
    });
    let mut w = [z; 64];
    w[3] = w3;
    unroll!(T in [16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31
                  32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47
                  48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63] {
        w[T] = first_word(p, &w, T);
        s = round(s, w[T].add_c(K[T]));
    });
    // The first digest is the second hash's message words 0..7.
    for i in 0..8 {
        w[i] = s[i].add_c(p.midstate[i]);
    }
    let mut s = second::S1.map(|x| z.splat(x));
    s[0] = s[0].add(w[0]);
    s[4] = s[4].add(w[0]);
    unroll!(T in [1 2 3 4 5 6 7] {
        s = round(s, w[T].add_c(K[T]));
    });
    unroll!(T in [8 9 10 11 12 13 14 15] {
        s = round(s, z.splat(second::KW[T]));
    });
    unroll!(T in [16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31
                  32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47
                  48 49 50 51 52 53 54 55 56] {
        w[T] = second_word(&w, T);
        s = round(s, w[T].add_c(K[T]));
    });
    unroll!(T in [57 58 59 60] {
        w[T] = second_word(&w, T);
        s = round_e_only(s, w[T].add_c(K[T]));
    });
    s[4].add_c(IV[7])
}
