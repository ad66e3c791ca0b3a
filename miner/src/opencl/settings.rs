//! The tuning an [`OpenClMiner`](super::OpenClMiner) runs with: [`OpenClConfig`]'s choices
//! checked against the device, and defaults picked for what was left open.

use otedama_proto::chain::PowAlgo;

use super::device::{DeviceInfo, DeviceKind};
use super::{OpenClConfig, OpenClError};

/// Bytes of one ROMix block (r = 1).
const BLOCK_BYTES: u64 = 128;
/// ROMix blocks (N).
pub(super) const SCRYPT_N: u32 = 1024;

/// The tuning actually used, every choice made.
#[derive(Clone, Copy, Debug)]
pub(super) struct Settings {
    pub(super) global_work_size: usize,
    pub(super) local_work_size: usize,
    pub(super) nonces_per_item: u32,
    pub(super) lookup_gap: u32,
    pub(super) max_candidates: u32,
}

impl Settings {
    /// Resolves `config` for `algo` on `device`, checking every explicit choice.
    pub(super) fn resolve(
        config: &OpenClConfig,
        algo: PowAlgo,
        device: &DeviceInfo,
    ) -> Result<Self, OpenClError> {
        let bad = |msg: String| Err(OpenClError::Config(msg));
        let gpu = device.kind == DeviceKind::Gpu;
        let nonces_per_item = config.nonces_per_item.unwrap_or(1);
        let lookup_gap = config.lookup_gap.unwrap_or(if gpu { 2 } else { 1 });
        if !(1..=32).contains(&nonces_per_item) {
            return bad(format!(
                "{nonces_per_item} nonces per work item is not between 1 and 32"
            ));
        }
        if !(1..=SCRYPT_N).contains(&lookup_gap) {
            return bad(format!(
                "lookup gap {lookup_gap} is not between 1 and {SCRYPT_N}"
            ));
        }
        if config.max_candidates == 0 {
            return bad("the result buffer must hold at least one nonce".into());
        }
        let max_lws = device.max_work_group_size.max(1);
        let lws = match config.local_work_size {
            Some(l) if l == 0 || l > max_lws => {
                return bad(format!(
                    "local work size {l} is not between 1 and the device's maximum {max_lws}"
                ))
            }
            Some(l) => l,
            None => match (algo, gpu) {
                (PowAlgo::Sha256d, false) => 64,
                (PowAlgo::Sha256d, true) => 256,
                (PowAlgo::Scrypt, false) => 4,
                (PowAlgo::Scrypt, true) => 128,
            }
            .min(max_lws),
        };
        let round_up = |n: usize| n.div_ceil(lws) * lws;
        // Leave half the device's memory to others (the display, other miners).
        let mem = device.max_alloc_bytes.min(device.global_mem_bytes / 2);
        let fits = |items: usize| scratch_bytes(algo, lookup_gap, items) <= mem;
        let gws = match config.global_work_size {
            Some(0) => return bad("global work size must be at least 1".into()),
            Some(n) => round_up(n),
            None => {
                let cus = device.compute_units as usize;
                let want = match (algo, gpu) {
                    (PowAlgo::Sha256d, false) => cus * 32768,
                    (PowAlgo::Sha256d, true) => 1 << 24,
                    (PowAlgo::Scrypt, false) => cus * 16,
                    (PowAlgo::Scrypt, true) => cus * 512,
                };
                let mut n = round_up(want);
                while n > lws && !fits(n) {
                    n = round_up(n / 2);
                }
                n
            }
        };
        if !fits(gws) {
            return bad(format!(
                "{gws} work items need {} MiB of scrypt scratchpad; the device allows {} MiB \
                 (raise the lookup gap or lower the global work size)",
                scratch_bytes(algo, lookup_gap, gws) >> 20,
                mem >> 20
            ));
        }
        if (gws as u64) * u64::from(nonces_per_item) > 1 << 31 {
            return bad(format!(
                "{gws} work items x {nonces_per_item} nonces exceeds 2^31 nonces per launch"
            ));
        }
        Ok(Self {
            global_work_size: gws,
            local_work_size: lws,
            nonces_per_item,
            lookup_gap,
            max_candidates: config.max_candidates,
        })
    }
}

/// Bytes of scrypt scratchpad for `items` work items (0 for sha256d).
pub(super) fn scratch_bytes(algo: PowAlgo, lookup_gap: u32, items: usize) -> u64 {
    match algo {
        PowAlgo::Sha256d => 0,
        PowAlgo::Scrypt => u64::from(SCRYPT_N.div_ceil(lookup_gap)) * BLOCK_BYTES * items as u64,
    }
}
