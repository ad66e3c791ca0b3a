//! One hashing thread's engine: a CPU kernel or an OpenCL device for the algorithm, set to one
//! header and target at a time, scanning ranges of nonces; and the full re-check of every
//! candidate it reports.
//!
//! CPU sha256d goes through [`crate::sha256d::scan`], which filters on the hash's top word only,
//! so its candidates can miss the full target. CPU scrypt goes through proto's [`ScryptHasher`],
//! which compares whole hashes. OpenCL goes through [`OpenClMiner`]. Whatever the engine,
//! [`verify`] re-hashes a candidate with proto's reference [`pow_hash`] (independent code) and
//! compares it with the whole target before anything is submitted.

use std::fmt;

use otedama_proto::chain::PowAlgo;
use otedama_proto::hash::PowHash;
use otedama_proto::pow::pow_hash;
use otedama_proto::scrypt::{ScryptBackend, ScryptHasher};
use otedama_proto::target::Target;

use crate::opencl::{OpenClConfig, OpenClError, OpenClMiner};
use crate::sha256d::{self, top_word, Sha256dBackend, Sha256dJob};

/// A CPU implementation of one algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuKernel {
    /// sha256d on one of the miner's back-ends.
    Sha256d(Sha256dBackend),
    /// scrypt on one of proto's back-ends.
    Scrypt(ScryptBackend),
}

impl CpuKernel {
    /// The fastest kernel this CPU has for `algo`.
    pub fn best(algo: PowAlgo) -> Self {
        match algo {
            PowAlgo::Sha256d => Self::Sha256d(Sha256dBackend::detect_best()),
            PowAlgo::Scrypt => Self::Scrypt(ScryptBackend::detect_best()),
        }
    }

    /// The algorithm it computes.
    pub fn algo(self) -> PowAlgo {
        match self {
            Self::Sha256d(_) => PowAlgo::Sha256d,
            Self::Scrypt(_) => PowAlgo::Scrypt,
        }
    }

    /// The back-end's name (`sha-ni`, `avx512`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256d(b) => b.name(),
            Self::Scrypt(b) => b.name(),
        }
    }
}

impl fmt::Display for CpuKernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on {}", self.algo(), self.name())
    }
}

/// What one hashing thread hashes with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// A CPU kernel.
    Cpu(CpuKernel),
    /// OpenCL device `device` (index into [`crate::opencl::devices`]).
    OpenCl {
        /// The device index.
        device: usize,
        /// The algorithm.
        algo: PowAlgo,
    },
}

impl Engine {
    /// The algorithm it computes.
    pub fn algo(self) -> PowAlgo {
        match self {
            Self::Cpu(kernel) => kernel.algo(),
            Self::OpenCl { algo, .. } => algo,
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cpu(kernel) => write!(f, "CPU {kernel}"),
            Self::OpenCl { device, algo } => write!(f, "{algo} on OpenCL device {device}"),
        }
    }
}

/// An engine that cannot be set up or failed.
#[derive(Debug, thiserror::Error)]
pub enum HasherError {
    /// The OpenCL device failed.
    #[error(transparent)]
    OpenCl(#[from] OpenClError),
    /// The CPU cannot run the scrypt back-end asked for.
    #[error(transparent)]
    Scrypt(#[from] otedama_proto::scrypt::BackendUnavailable),
    /// The CPU cannot run the sha256d back-end asked for.
    #[error("this CPU cannot run the {0} sha256d back-end")]
    Sha256d(Sha256dBackend),
}

/// An engine with its per-thread state (scrypt scratchpads, an OpenCL kernel), set to one
/// header at a time.
#[derive(Debug)]
pub enum Hasher {
    /// sha256d: the header's midstate and the target's top word.
    Sha256d {
        /// The back-end.
        backend: Sha256dBackend,
        /// The current header.
        job: Sha256dJob,
    },
    /// scrypt: the hasher with its scratchpads, the header without its nonce, the target.
    Scrypt {
        /// The hasher (allocated once per thread).
        hasher: Box<ScryptHasher>,
        /// The current header's first 76 bytes.
        prefix: [u8; 76],
        /// The target, little-endian.
        target: [u8; 32],
    },
    /// An OpenCL device; it keeps the state of both algorithms' jobs, only its own is used.
    OpenCl {
        /// The device's kernel and buffers.
        miner: Box<OpenClMiner>,
        /// sha256d: the current header.
        job: Sha256dJob,
        /// scrypt: the current header's first 76 bytes.
        prefix: [u8; 76],
        /// scrypt: the target.
        target: Target,
    },
}

impl Hasher {
    /// A hasher for `engine`, with nothing to hash yet (an OpenCL kernel is built here).
    pub fn new(engine: Engine) -> Result<Self, HasherError> {
        Ok(match engine {
            Engine::Cpu(CpuKernel::Sha256d(backend)) => {
                if !backend.is_available() {
                    return Err(HasherError::Sha256d(backend));
                }
                Self::Sha256d {
                    backend,
                    job: Sha256dJob::new(&[0; 80], 0),
                }
            }
            Engine::Cpu(CpuKernel::Scrypt(backend)) => Self::Scrypt {
                hasher: Box::new(ScryptHasher::with_backend(backend)?),
                prefix: [0; 76],
                target: [0; 32],
            },
            Engine::OpenCl { device, algo } => Self::OpenCl {
                miner: Box::new(OpenClMiner::new(device, algo, &OpenClConfig::default())?),
                job: Sha256dJob::new(&[0; 80], 0),
                prefix: [0; 76],
                target: Target::ZERO,
            },
        })
    }

    /// How many nonces the engine hashes together; chunks should be a multiple of it.
    pub fn granularity(&self) -> u32 {
        match self {
            Self::Sha256d { .. } => 16,
            Self::Scrypt { hasher, .. } => hasher.lanes() as u32,
            Self::OpenCl { miner, .. } => miner.batch_nonces().max(1),
        }
    }

    /// Sets the header to scan (its nonce is ignored) and the share target.
    pub fn set_header(&mut self, header: &[u8; 80], target: &Target) {
        match self {
            Self::Sha256d { job, .. } => {
                *job = Sha256dJob::new(header, top_word(&target.to_le_bytes()));
            }
            Self::Scrypt {
                prefix, target: t, ..
            } => {
                prefix.copy_from_slice(&header[..76]);
                *t = target.to_le_bytes();
            }
            Self::OpenCl {
                job,
                prefix,
                target: t,
                ..
            } => {
                *job = Sha256dJob::new(header, top_word(&target.to_le_bytes()));
                prefix.copy_from_slice(&header[..76]);
                *t = *target;
            }
        }
    }

    /// Hashes `count` nonces from `start` and appends the candidates to `out`; returns the
    /// number of hashes done. Only an OpenCL device can fail.
    pub fn scan(&mut self, start: u32, count: u32, out: &mut Vec<u32>) -> Result<u64, HasherError> {
        Ok(match self {
            Self::Sha256d { backend, job } => sha256d::scan(*backend, job, start, count, out),
            Self::Scrypt {
                hasher,
                prefix,
                target,
            } => hasher.scan(prefix, start, count, target, out),
            Self::OpenCl {
                miner,
                job,
                prefix,
                target,
            } => match miner.algo() {
                PowAlgo::Sha256d => miner.scan_sha256d(job, start, count, out)?,
                PowAlgo::Scrypt => miner.scan_scrypt(prefix, start, count, target, out)?,
            },
        })
    }
}

/// The proof-of-work hash of `header` with `nonce`, if it meets `target`: the full re-check of a
/// candidate, by proto's reference hashing.
pub fn verify(algo: PowAlgo, header: &[u8; 80], nonce: u32, target: &Target) -> Option<PowHash> {
    let mut header = *header;
    header[76..].copy_from_slice(&nonce.to_le_bytes());
    let hash = pow_hash(algo, &header);
    target.meets(&hash).then_some(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> [u8; 80] {
        let mut h = [0u8; 80];
        for (i, b) in h.iter_mut().enumerate() {
            *b = (i * 7 + 3) as u8;
        }
        h
    }

    /// A target whose most significant byte is `top` (about one hash in 256 / (top + 1)).
    fn easy(top: u8) -> Target {
        let mut le = [0xff; 32];
        le[31] = top;
        Target::from_le_bytes(le)
    }

    fn candidates_meet_and_agree(algo: PowAlgo, count: u32, target: Target) {
        let header = header();
        let mut hasher =
            Hasher::new(Engine::Cpu(CpuKernel::best(algo))).expect("best is available");
        hasher.set_header(&header, &target);
        let mut found = Vec::new();
        assert_eq!(
            hasher.scan(1000, count, &mut found).expect("CPU"),
            u64::from(count)
        );
        let verified: Vec<u32> = found
            .iter()
            .copied()
            .filter(|&n| verify(algo, &header, n, &target).is_some())
            .collect();
        let expected: Vec<u32> = (1000..1000 + count)
            .filter(|&n| verify(algo, &header, n, &target).is_some())
            .collect();
        assert!(!expected.is_empty(), "the target is easy enough to hit");
        assert_eq!(
            verified, expected,
            "{algo}: every share found, none invented"
        );
    }

    #[test]
    fn sha256d_candidates_contain_every_share() {
        candidates_meet_and_agree(PowAlgo::Sha256d, 4096, easy(0));
    }

    #[test]
    fn scrypt_candidates_are_exactly_the_shares() {
        candidates_meet_and_agree(PowAlgo::Scrypt, 256, easy(0x0f));
    }
}
