//! OpenCL nonce scanning for both proofs of work, on GPUs and on CPU drivers such as pocl.
//!
//! [`devices`] lists every OpenCL device of every platform under one flat index;
//! [`OpenClMiner::new`] builds the kernel of one algorithm for one of them once, and its
//! `scan_sha256d` / `scan_scrypt` hash a nonce range in batches of
//! [`OpenClMiner::batch_nonces`] nonces (each work item hashes
//! [`nonces_per_item`](OpenClConfig::nonces_per_item) consecutive ones). Each work group
//! collects its passing nonces in local memory and one work item appends them to a small result
//! buffer through an atomic counter (branch-free hashing, so CPU drivers vectorize it); when
//! more pass than the buffer holds, the host scans that batch again in halves, so nothing is
//! lost. The host hashes
//! every reported nonce again on the CPU, and the scans return only nonces that pass there: a
//! nonce the device reported wrongly is counted as a hardware error and dropped.
//!
//! The kernels are `sha256.cl` (shared SHA-256), `sha256d.cl` (midstate, early exit on the
//! top word) and `scrypt.cl` (N=1024, r=1, p=1, scratchpad in device memory with a configurable
//! lookup gap).

mod bench;
mod device;
mod jobs;
mod miner;
mod settings;

pub use bench::{bench, bench_miner, BenchReport};
pub use device::{devices, DeviceInfo, DeviceKind};
pub use miner::OpenClMiner;

use otedama_proto::chain::PowAlgo;

/// Why the OpenCL back-end cannot run or failed.
#[derive(Debug, thiserror::Error)]
pub enum OpenClError {
    /// No OpenCL platform, or platforms without devices.
    #[error(
        "no OpenCL device found: install pocl-opencl-icd for CPU OpenCL or your GPU's driver \
         ({0})"
    )]
    NoDevice(String),
    /// A device index past the end of [`devices`].
    #[error("there is no OpenCL device {index}: {count} device(s) found, numbered from 0")]
    BadDeviceIndex {
        /// The index asked for.
        index: usize,
        /// How many devices there are.
        count: usize,
    },
    /// The OpenCL compiler rejected a kernel.
    #[error("building the OpenCL {algo} kernel for {device} failed: {log}")]
    Build {
        /// The kernel's algorithm.
        algo: &'static str,
        /// The device's name.
        device: String,
        /// The compiler's message and build log.
        log: String,
    },
    /// A setting that cannot work on this device.
    #[error("invalid OpenCL setting: {0}")]
    Config(String),
    /// A scan for the other algorithm than the one the miner was built for.
    #[error("this OpenCL miner was built for {built}, not {called}")]
    WrongAlgo {
        /// The algorithm of the built kernel.
        built: &'static str,
        /// The algorithm of the scan called.
        called: &'static str,
    },
    /// An OpenCL call failed.
    #[error("OpenCL {what} failed: {source}")]
    Ocl {
        /// What was being done.
        what: &'static str,
        /// The driver's error.
        source: ocl::Error,
    },
}

impl OpenClError {
    /// Wraps an `ocl` error with what was being done; for `map_err`.
    fn ocl(what: &'static str) -> impl FnOnce(ocl::Error) -> Self {
        move |source| Self::Ocl { what, source }
    }
}

/// Tuning of one [`OpenClMiner`]; `None` picks a value from the device (see each field).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenClConfig {
    /// Work items per kernel launch, rounded up to a multiple of the local size. Default:
    /// sha256d 32768 per compute unit on a CPU, 2^24 on a GPU; scrypt 16 per compute unit on a
    /// CPU, 512 per compute unit on a GPU, halved until the scratchpad fits the device's largest
    /// allocation and half its memory.
    pub global_work_size: Option<usize>,
    /// Work items per work group. Default: sha256d 64 on a CPU, 256 on a GPU; scrypt 4 on a CPU,
    /// 128 on a GPU; never above the device's maximum.
    pub local_work_size: Option<usize>,
    /// Consecutive nonces each work item hashes, 1 to 32. Default 1: CPU drivers vectorize
    /// across work items only when a work item does not loop.
    pub nonces_per_item: Option<u32>,
    /// scrypt only: keep every n-th ROMix block and recompute the others (1 to 1024). Memory per
    /// work item is 128 KiB / n. Default: 1 on a CPU, 2 on a GPU.
    pub lookup_gap: Option<u32>,
    /// Nonces one launch can report before its result buffer overflows (at least 1). The
    /// default, 1024, is far more than a real target lets through.
    pub max_candidates: u32,
}

impl Default for OpenClConfig {
    fn default() -> Self {
        Self {
            global_work_size: None,
            local_work_size: None,
            nonces_per_item: None,
            lookup_gap: None,
            max_candidates: 1024,
        }
    }
}

/// The kernel sources of `algo`, the shared SHA-256 part first.
fn kernel_source(algo: PowAlgo) -> String {
    let body = match algo {
        PowAlgo::Sha256d => include_str!("sha256d.cl"),
        PowAlgo::Scrypt => include_str!("scrypt.cl"),
    };
    [include_str!("sha256.cl"), body].join("\n")
}

/// The kernel function of `algo` in [`kernel_source`].
fn kernel_name(algo: PowAlgo) -> &'static str {
    match algo {
        PowAlgo::Sha256d => "sha256d_scan",
        PowAlgo::Scrypt => "scrypt_scan",
    }
}
