//! [`OpenClMiner`]: one algorithm's kernel built for one device, its buffers, and the scan loop
//! that launches it batch by batch and re-checks every reported nonce on the CPU.

use ocl::flags::MemFlags;
use ocl::prm::Uint4;
use ocl::{Buffer, Context, Device, Kernel, Program, Queue};
use otedama_proto::chain::PowAlgo;
use otedama_proto::hash::PowHash;
use otedama_proto::scrypt::scrypt_1024_1_1;
use otedama_proto::target::Target;

use super::device::{select, DeviceInfo};
use super::settings::{scratch_bytes, Settings};
use super::{jobs, kernel_name, kernel_source, OpenClConfig, OpenClError};
use crate::sha256d::{top_word, Sha256dJob};

/// A built kernel for one device and one algorithm, ready to scan nonce ranges.
///
/// Building compiles the kernel, which takes seconds, so a miner is built once per device and
/// reused for every job. It is `Send` (not `Sync`): one mining thread owns it.
#[derive(Debug)]
pub struct OpenClMiner {
    device: DeviceInfo,
    algo: PowAlgo,
    settings: Settings,
    kernel: Kernel,
    job: Buffer<u32>,
    /// out[0]: nonces reported by the last launch; out[1..=cap]: the first `cap` of them.
    out: Buffer<u32>,
    /// scrypt's scratchpads; the kernel holds the buffer too, kept here to say so.
    _scratch: Option<Buffer<Uint4>>,
    /// The nonces read back from the last launch.
    reported: Vec<u32>,
    hardware_errors: u64,
    overflows: u64,
}

impl OpenClMiner {
    /// Builds `algo`'s kernel for device `device_index` of [`devices`](super::devices) and
    /// allocates its buffers (for scrypt, the scratchpads of every work item).
    pub fn new(
        device_index: usize,
        algo: PowAlgo,
        config: &OpenClConfig,
    ) -> Result<Self, OpenClError> {
        let (device_info, platform, device) = select(device_index)?;
        let settings = Settings::resolve(config, algo, &device_info)?;
        let ocl = OpenClError::ocl;
        let context = Context::builder()
            .platform(platform)
            .devices(device)
            .build()
            .map_err(ocl("creating a context"))?;
        let queue = Queue::new(&context, device, None).map_err(ocl("creating a queue"))?;
        let program =
            build_program(&context, device, &kernel_source(algo), &settings).map_err(|log| {
                OpenClError::Build {
                    algo: algo.name(),
                    device: device_info.name.clone(),
                    log,
                }
            })?;
        let job = Buffer::<u32>::builder()
            .queue(queue.clone())
            .flags(MemFlags::new().read_only())
            .len(jobs::SHA256D_JOB_WORDS.max(jobs::SCRYPT_JOB_WORDS))
            .build()
            .map_err(ocl("allocating the job buffer"))?;
        let out = Buffer::<u32>::builder()
            .queue(queue.clone())
            .len(1 + settings.max_candidates as usize)
            .build()
            .map_err(ocl("allocating the result buffer"))?;
        let scratch = match algo {
            PowAlgo::Sha256d => None,
            PowAlgo::Scrypt => Some(
                Buffer::<Uint4>::builder()
                    .queue(queue.clone())
                    .len(
                        (scratch_bytes(algo, settings.lookup_gap, settings.global_work_size) / 16)
                            as usize,
                    )
                    .build()
                    .map_err(ocl("allocating the scrypt scratchpads"))?,
            ),
        };
        let mut builder = Kernel::builder();
        builder
            .program(&program)
            .name(kernel_name(algo))
            .queue(queue.clone())
            .arg(&job)
            .arg(0u32)
            .arg(0u32)
            .arg(&out)
            .arg(settings.max_candidates)
            .arg_local::<u32>(settings.local_work_size);
        if let Some(scratch) = &scratch {
            builder.arg(scratch);
        }
        let kernel = builder.build().map_err(ocl("creating the kernel"))?;
        tracing::debug!(
            device = %device_info,
            algo = algo.name(),
            ?settings,
            "OpenCL kernel built"
        );
        Ok(Self {
            device: device_info,
            algo,
            settings,
            kernel,
            job,
            out,
            _scratch: scratch,
            reported: Vec::new(),
            hardware_errors: 0,
            overflows: 0,
        })
    }

    /// Hashes the `count` nonces `start_nonce, start_nonce + 1, …` (wrapping past `u32::MAX`)
    /// of `job` and appends to `out`, in nonce order, each nonce whose hash's top word is at
    /// most `job.target_hi` — the same nonces as the CPU scanner
    /// [`sha256d::scan`](crate::sha256d::scan), each checked with [`Sha256dJob::hash`] before
    /// it is returned. Returns the number of hashes done (`count`).
    pub fn scan_sha256d(
        &mut self,
        job: &Sha256dJob,
        start_nonce: u32,
        count: u32,
        out: &mut Vec<u32>,
    ) -> Result<u64, OpenClError> {
        self.expect_algo(PowAlgo::Sha256d)?;
        self.write_job(&jobs::sha256d_words(job))?;
        self.run(start_nonce, count, out, |nonce| {
            top_word(&job.hash(nonce).0) <= job.target_hi
        })?;
        Ok(u64::from(count))
    }

    /// Hashes the headers `header_prefix ‖ nonce` (nonce little-endian) for the `count` nonces
    /// from `start_nonce` on (wrapping past `u32::MAX`) with scrypt, and appends to `out`, in
    /// nonce order, each nonce whose hash meets `target`, checked with the CPU's
    /// [`scrypt_1024_1_1`] before it is returned. Returns the number of hashes done (`count`).
    pub fn scan_scrypt(
        &mut self,
        header_prefix: &[u8; 76],
        start_nonce: u32,
        count: u32,
        target: &Target,
        out: &mut Vec<u32>,
    ) -> Result<u64, OpenClError> {
        self.expect_algo(PowAlgo::Scrypt)?;
        self.write_job(&jobs::scrypt_words(header_prefix, target))?;
        let mut header = [0u8; 80];
        header[..76].copy_from_slice(header_prefix);
        self.run(start_nonce, count, out, |nonce| {
            header[76..].copy_from_slice(&nonce.to_le_bytes());
            target.meets(&PowHash(scrypt_1024_1_1(&header)))
        })?;
        Ok(u64::from(count))
    }

    /// The device the kernel runs on.
    pub fn device(&self) -> &DeviceInfo {
        &self.device
    }

    /// The algorithm the kernel computes.
    pub fn algo(&self) -> PowAlgo {
        self.algo
    }

    /// Nonces one kernel launch hashes (work items × nonces per item): a scan of a multiple of
    /// this keeps every launch full.
    pub fn batch_nonces(&self) -> u32 {
        (self.settings.global_work_size * self.settings.nonces_per_item as usize) as u32
    }

    /// Work items per launch, as resolved from the configuration.
    pub fn global_work_size(&self) -> usize {
        self.settings.global_work_size
    }

    /// The scrypt lookup gap in use (1 for sha256d, where it has no meaning).
    pub fn lookup_gap(&self) -> u32 {
        match self.algo {
            PowAlgo::Sha256d => 1,
            PowAlgo::Scrypt => self.settings.lookup_gap,
        }
    }

    /// Nonces the device reported that failed the CPU check since the miner was built; above
    /// zero means a broken driver or an overclocked card.
    pub fn hardware_errors(&self) -> u64 {
        self.hardware_errors
    }

    /// Launches whose result buffer overflowed and were scanned again in halves.
    pub fn overflows(&self) -> u64 {
        self.overflows
    }

    fn expect_algo(&self, called: PowAlgo) -> Result<(), OpenClError> {
        if self.algo == called {
            Ok(())
        } else {
            Err(OpenClError::WrongAlgo {
                built: self.algo.name(),
                called: called.name(),
            })
        }
    }

    fn write_job(&mut self, words: &[u32]) -> Result<(), OpenClError> {
        self.job
            .write(words)
            .enq()
            .map_err(OpenClError::ocl("writing the job"))
    }

    /// Scans `count` nonces from `start` in launches of at most [`Self::batch_nonces`], keeps
    /// the reported nonces that `verify` accepts, and appends them to `out` in nonce order.
    fn run(
        &mut self,
        start: u32,
        count: u32,
        out: &mut Vec<u32>,
        mut verify: impl FnMut(u32) -> bool,
    ) -> Result<(), OpenClError> {
        let batch = self.batch_nonces();
        let cap = self.settings.max_candidates as usize;
        let mut found = Vec::new();
        // Ranges (offset from start, length) to scan again after an overflow, last one first.
        let mut retry: Vec<(u32, u32)> = Vec::new();
        let mut next = 0u32;
        while next < count || !retry.is_empty() {
            let (offset, len) = retry.pop().unwrap_or_else(|| {
                let len = batch.min(count - next);
                next += len;
                (next - len, len)
            });
            let base = start.wrapping_add(offset);
            let reported = self.launch(base, len)?;
            if reported > cap {
                // len > cap >= 1, so both halves are non-empty and the split ends.
                self.overflows += 1;
                tracing::warn!(
                    reported,
                    cap,
                    "OpenCL result buffer overflowed; scanning the batch again in halves \
                     (the target is very easy: raise max_candidates)"
                );
                let half = len / 2;
                retry.push((offset + half, len - half));
                retry.push((offset, half));
                continue;
            }
            for &nonce in &self.reported {
                if nonce.wrapping_sub(base) < len && verify(nonce) {
                    found.push(nonce);
                } else {
                    self.hardware_errors += 1;
                    tracing::warn!(
                        nonce,
                        device = %self.device.name,
                        "OpenCL device reported a nonce that fails the CPU check"
                    );
                }
            }
        }
        found.sort_unstable_by_key(|n| n.wrapping_sub(start));
        found.dedup();
        out.extend(found);
        Ok(())
    }

    /// Runs the kernel on the `len` nonces from `base`, reads the reported nonces into
    /// `self.reported` (at most the buffer's capacity), and returns how many were reported.
    fn launch(&mut self, base: u32, len: u32) -> Result<usize, OpenClError> {
        let ocl = OpenClError::ocl;
        self.out
            .write(&[0u32][..])
            .enq()
            .map_err(ocl("clearing the result counter"))?;
        let items = (len as usize).div_ceil(self.settings.nonces_per_item as usize);
        let lws = self.settings.local_work_size;
        let gws = items.div_ceil(lws) * lws;
        self.kernel
            .set_arg(1, base)
            .and_then(|()| self.kernel.set_arg(2, len))
            .map_err(ocl("setting the kernel's nonce range"))?;
        let cmd = self.kernel.cmd().global_work_size(gws).local_work_size(lws);
        // SAFETY: the kernel's arguments are all set (in `new` and just above) to buffers this
        // miner owns for as long as the kernel; it reads `job` (sized for both layouts) and
        // writes `out` only at index 0 and at indices 1..=cap (it checks the slot against cap,
        // the buffer's length less one), and the local `hits` array, one word per work item of
        // a group of `lws`; `gws` is at most the global size the scrypt scratchpad was sized for
        // (len <= batch_nonces, rounded up to the local size the global size is a multiple of),
        // so every scratchpad index is inside the buffer.
        unsafe { cmd.enq() }.map_err(ocl("running the kernel"))?;
        // A blocking read on the same in-order queue: it waits for the kernel.
        let mut counter = [0u32];
        self.out
            .read(&mut counter[..])
            .enq()
            .map_err(ocl("reading the result counter"))?;
        let reported = counter[0] as usize;
        let stored = reported.min(self.settings.max_candidates as usize);
        self.reported.clear();
        self.reported.resize(stored, 0);
        if stored > 0 {
            self.out
                .read(&mut self.reported[..])
                .offset(1)
                .enq()
                .map_err(ocl("reading the results"))?;
        }
        Ok(reported)
    }
}

/// Compiles `source` for `device` with the build-time defines of `settings`; on failure, the
/// compiler's message with its build log.
fn build_program(
    context: &Context,
    device: Device,
    source: &str,
    settings: &Settings,
) -> Result<Program, String> {
    Program::builder()
        .devices(device)
        .src(source)
        .cmplr_def("NONCES_PER_ITEM", settings.nonces_per_item as i32)
        .cmplr_def("LOOKUP_GAP", settings.lookup_gap as i32)
        .build(context)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kernel that does not compile gives the build log (pocl in CI; any device elsewhere).
    #[test]
    fn a_broken_kernel_reports_the_build_log() {
        let (info, platform, device) = select(0).unwrap_or_else(|e| panic!("{e}"));
        let settings = Settings::resolve(&OpenClConfig::default(), PowAlgo::Sha256d, &info)
            .expect("default settings fit");
        let context = Context::builder()
            .platform(platform)
            .devices(device)
            .build()
            .expect("a context");
        let source = "__kernel void k(__global uint *o) { o[0] = undeclared_name; }";
        let log = build_program(&context, device, source, &settings).expect_err("broken");
        assert!(log.contains("undeclared_name"), "{log}");
    }
}
