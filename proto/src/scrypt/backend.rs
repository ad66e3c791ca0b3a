//! The scrypt back-ends: which exist, which this CPU can run, and the dispatch into their kernels.

use std::fmt;
use std::str::FromStr;

#[cfg(target_arch = "x86_64")]
use super::{avx2, avx512, sse2};
use super::{portable, Block, N};

/// One implementation of scrypt's ROMix core (the part that takes 98 % of the time).
///
/// They all compute the same function; they differ in speed and in how many hashes they compute
/// together ([`ScryptBackend::lanes`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScryptBackend {
    /// Scalar Rust, one hash at a time; runs on any CPU.
    Portable,
    /// SSE2 (every x86-64 CPU), three hashes interleaved.
    Sse2,
    /// AVX2, six hashes: two per register, three register sets interleaved.
    Avx2,
    /// AVX-512F with AVX-512VL (rotates on 256-bit registers), twelve hashes: two per
    /// register, six register sets interleaved.
    Avx512,
}

/// A back-end name that [`ScryptBackend::from_str`] does not know.
#[derive(Debug, thiserror::Error)]
#[error("unknown scrypt back-end {0:?} (known: portable, sse2, avx2, avx512)")]
pub struct UnknownBackend(pub String);

/// A back-end was asked for that this CPU cannot run.
#[derive(Debug, thiserror::Error)]
#[error("this CPU cannot run the {0} scrypt back-end")]
pub struct BackendUnavailable(pub ScryptBackend);

impl ScryptBackend {
    /// Every back-end, slowest first.
    pub const ALL: [Self; 4] = [Self::Portable, Self::Sse2, Self::Avx2, Self::Avx512];

    /// The back-end's name, as [`FromStr`] reads it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Portable => "portable",
            Self::Sse2 => "sse2",
            Self::Avx2 => "avx2",
            Self::Avx512 => "avx512",
        }
    }

    /// Whether this CPU can run the back-end (detected at run time).
    pub fn is_available(self) -> bool {
        match self {
            Self::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Self::Sse2 => true,
            #[cfg(target_arch = "x86_64")]
            Self::Avx2 => is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            Self::Avx512 => {
                is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512vl")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The back-ends this CPU can run, slowest first.
    pub fn available() -> Vec<Self> {
        Self::ALL.into_iter().filter(|b| b.is_available()).collect()
    }

    /// The fastest back-end this CPU can run.
    pub fn detect_best() -> Self {
        Self::ALL
            .into_iter()
            .rev()
            .find(|b| b.is_available())
            .unwrap_or(Self::Portable)
    }

    /// How many hashes the back-end computes together; a batch of fewer costs as much.
    pub fn lanes(self) -> usize {
        match self {
            Self::Portable => 1,
            #[cfg(target_arch = "x86_64")]
            Self::Sse2 => sse2::LANES,
            #[cfg(target_arch = "x86_64")]
            Self::Avx2 => avx2::LANES,
            #[cfg(target_arch = "x86_64")]
            Self::Avx512 => avx512::LANES,
            #[cfg(not(target_arch = "x86_64"))]
            _ => 1,
        }
    }

    /// ROMix of `lanes()` blocks (diagonal word order) in place, with `lanes()·N` scratch blocks.
    ///
    /// # Panics
    /// If the CPU cannot run this back-end or the slices have the wrong lengths.
    pub(super) fn romix(self, x: &mut [[u32; 32]], v: &mut [Block]) {
        assert!(self.is_available(), "{}", BackendUnavailable(self));
        match self {
            Self::Portable => {
                for (block, pad) in x.iter_mut().zip(v.chunks_exact_mut(N)) {
                    portable::romix(block, pad.try_into().expect("chunks of N blocks"));
                }
            }
            // SAFETY (all three): `is_available` just confirmed that the CPU has the features the
            // kernel is compiled with (SSE2 is part of x86-64).
            #[cfg(target_arch = "x86_64")]
            Self::Sse2 => unsafe { sse2::romix::<{ sse2::CHAINS }, { sse2::GROUP_A }>(x, v) },
            #[cfg(target_arch = "x86_64")]
            Self::Avx2 => unsafe { avx2::romix::<{ avx2::CHAINS }, { avx2::GROUP_A }>(x, v) },
            #[cfg(target_arch = "x86_64")]
            Self::Avx512 => unsafe {
                avx512::romix::<{ avx512::CHAINS }, { avx512::GROUP_A }>(x, v)
            },
            #[cfg(not(target_arch = "x86_64"))]
            _ => unreachable!("only the portable back-end is available off x86-64"),
        }
    }

    /// Scratch blocks [`Self::romix_single`] needs.
    pub(super) fn single_scratch_len() -> usize {
        #[cfg(target_arch = "x86_64")]
        if Self::Avx512.is_available() {
            return 2 * N;
        }
        N
    }

    /// ROMix of one block with the lowest latency this CPU offers (share validation), with
    /// [`Self::single_scratch_len`] scratch blocks.
    pub(super) fn romix_single(x: &mut [u32; 32], v: &mut [Block]) {
        #[cfg(target_arch = "x86_64")]
        {
            if Self::Avx512.is_available() && v.len() == 2 * N {
                // One chain is latency-bound whatever its width, so AVX-512's shorter rotate
                // (ternary logic) wins even though the second lane only repeats the first.
                let mut pair = [*x; 2];
                // SAFETY: the CPU has AVX-512F, AVX-512VL (and so AVX2), checked just above.
                unsafe { avx512::romix::<1, 1>(&mut pair, v) };
                *x = pair[0];
            } else {
                // SAFETY: SSE2 is part of x86-64.
                unsafe { sse2::romix::<1, 1>(core::slice::from_mut(x), &mut v[..N]) };
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        portable::romix(x, (&mut v[..N]).try_into().expect("N blocks"));
    }
}

impl fmt::Display for ScryptBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ScryptBackend {
    type Err = UnknownBackend;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|b| b.name() == s)
            .ok_or_else(|| UnknownBackend(s.to_owned()))
    }
}
