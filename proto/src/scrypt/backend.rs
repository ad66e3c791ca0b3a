//! The scrypt back-ends: which exist, which this CPU can run, and the dispatch into their kernels.

use std::fmt;
use std::str::FromStr;

#[cfg(target_arch = "x86_64")]
use super::{avx2, avx512, avx512vl, sse2};
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
    /// AVX-512F, eight hashes: four per register, two register sets interleaved.
    Avx512,
    /// experiment
    Avx512Vl,
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
    pub const ALL: [Self; 5] = [
        Self::Portable,
        Self::Sse2,
        Self::Avx2,
        Self::Avx512Vl,
        Self::Avx512,
    ];

    /// The back-end's name, as [`FromStr`] reads it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Portable => "portable",
            Self::Sse2 => "sse2",
            Self::Avx2 => "avx2",
            Self::Avx512 => "avx512",
            Self::Avx512Vl => "avx512vl",
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
            Self::Avx512 => is_x86_feature_detected!("avx512f"),
            #[cfg(target_arch = "x86_64")]
            Self::Avx512Vl => is_x86_feature_detected!("avx512vl"),
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
            #[cfg(target_arch = "x86_64")]
            Self::Avx2 if std::env::var("ZK").is_ok() => 4 * expk(),
            Self::Avx2 => avx2::LANES,
            #[cfg(target_arch = "x86_64")]
            Self::Avx512 => avx512::LANES,
            #[cfg(target_arch = "x86_64")]
            Self::Avx512Vl => 2 * expk(),
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
            // SAFETY (all three): `is_available` just confirmed the CPU has the features the
            // kernel is compiled with (SSE2 is part of x86-64).
            #[cfg(target_arch = "x86_64")]
            Self::Sse2 => unsafe { sse2::romix::<{ sse2::CHAINS }, { sse2::CHAINS }>(x, v) },
            #[cfg(target_arch = "x86_64")]
            #[cfg(target_arch = "x86_64")]
            Self::Avx2 if std::env::var("ZK").is_ok() => unsafe {
                match expk() {
                    1 => {
                        if stag() {
                            avx512::romix::<1, 0>(x, v)
                        } else {
                            avx512::romix::<1, 1>(x, v)
                        }
                    }
                    2 => {
                        if stag() {
                            avx512::romix::<2, 1>(x, v)
                        } else {
                            avx512::romix::<2, 2>(x, v)
                        }
                    }
                    3 => {
                        if stag() {
                            avx512::romix::<3, 1>(x, v)
                        } else {
                            avx512::romix::<3, 3>(x, v)
                        }
                    }
                    4 => {
                        if stag() {
                            avx512::romix::<4, 2>(x, v)
                        } else {
                            avx512::romix::<4, 4>(x, v)
                        }
                    }
                    _ => panic!(),
                }
            },
            Self::Avx2 => unsafe { avx2::romix::<{ avx2::CHAINS }, { avx2::CHAINS }>(x, v) },
            #[cfg(target_arch = "x86_64")]
            Self::Avx512 => unsafe {
                avx512::romix::<{ avx512::CHAINS }, { avx512::CHAINS }>(x, v)
            },
            #[cfg(target_arch = "x86_64")]
            Self::Avx512Vl => unsafe {
                match expk() {
                    1 => {
                        if stag() {
                            avx512vl::romix::<1, 0>(x, v)
                        } else {
                            avx512vl::romix::<1, 1>(x, v)
                        }
                    }
                    2 => {
                        if stag() {
                            avx512vl::romix::<2, 1>(x, v)
                        } else {
                            avx512vl::romix::<2, 2>(x, v)
                        }
                    }
                    3 => {
                        if stag() {
                            avx512vl::romix::<3, 1>(x, v)
                        } else {
                            avx512vl::romix::<3, 3>(x, v)
                        }
                    }
                    4 => {
                        if stag() {
                            avx512vl::romix::<4, 2>(x, v)
                        } else {
                            avx512vl::romix::<4, 4>(x, v)
                        }
                    }
                    5 => {
                        if stag() {
                            avx512vl::romix::<5, 2>(x, v)
                        } else {
                            avx512vl::romix::<5, 5>(x, v)
                        }
                    }
                    6 => {
                        if stag() {
                            avx512vl::romix::<6, 3>(x, v)
                        } else {
                            avx512vl::romix::<6, 6>(x, v)
                        }
                    }
                    _ => panic!(),
                }
            },
            #[cfg(not(target_arch = "x86_64"))]
            _ => unreachable!("only the portable back-end is available off x86-64"),
        }
    }

    /// ROMix of one block with the lowest latency this CPU offers (share validation).
    pub(super) fn romix_single(x: &mut [u32; 32], v: &mut [Block; N]) {
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: SSE2 is part of x86-64.
            unsafe { sse2::romix::<1, 1>(core::slice::from_mut(x), v) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        portable::romix(x, v);
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

fn expk() -> usize {
    std::env::var("K")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4)
}
fn stag() -> bool {
    std::env::var("STAG").is_ok()
}
