//! Finding OpenCL devices: every device of every platform under one flat index, the number
//! `--opencl-device` takes.

use std::fmt;
use std::sync::{Mutex, OnceLock, PoisonError};

use ocl::core::{DeviceInfo as Info, DeviceInfoResult as InfoResult, DeviceType, PlatformId};
use ocl::{Device, Platform};

use super::OpenClError;

/// What kind of processor an OpenCL device is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    /// A CPU driver, such as pocl.
    Cpu,
    /// A GPU.
    Gpu,
    /// Anything else (accelerators, custom devices).
    Other,
}

/// One OpenCL device, as [`devices`] lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Position in [`devices`]; what [`OpenClMiner::new`](super::OpenClMiner::new) takes.
    pub index: usize,
    /// Position of the device's platform in the driver's platform list.
    pub platform_index: usize,
    /// The platform's name, such as "Portable Computing Language".
    pub platform_name: String,
    /// Position of the device within its platform.
    pub device_index: usize,
    /// The device's name.
    pub name: String,
    /// CPU, GPU or other.
    pub kind: DeviceKind,
    /// Parallel compute units (GPU multiprocessors, CPU threads for pocl).
    pub compute_units: u32,
    /// Global memory in bytes.
    pub global_mem_bytes: u64,
    /// The largest single buffer the device allows, in bytes.
    pub max_alloc_bytes: u64,
    /// The largest work group the device allows.
    pub max_work_group_size: usize,
}

impl fmt::Display for DeviceInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            DeviceKind::Cpu => "CPU",
            DeviceKind::Gpu => "GPU",
            DeviceKind::Other => "other",
        };
        write!(
            f,
            "#{} {} ({}, {kind}, {} compute units, {:.1} GiB)",
            self.index,
            self.name,
            self.platform_name,
            self.compute_units,
            self.global_mem_bytes as f64 / f64::from(1u32 << 30),
        )
    }
}

/// Every OpenCL device of every platform, in platform order.
///
/// Fails with [`OpenClError::NoDevice`] when there is no platform or no platform has a device
/// (so an empty list is never returned).
pub fn devices() -> Result<Vec<DeviceInfo>, OpenClError> {
    Ok(list()?.into_iter().map(|(info, _, _)| info).collect())
}

/// The device at flat `index`, with its platform.
pub(super) fn select(index: usize) -> Result<(DeviceInfo, Platform, Device), OpenClError> {
    let mut all = list()?;
    let count = all.len();
    if index >= count {
        return Err(OpenClError::BadDeviceIndex { index, count });
    }
    Ok(all.swap_remove(index))
}

/// Every device with its platform.
fn list() -> Result<Vec<(DeviceInfo, Platform, Device)>, OpenClError> {
    // Some drivers (pocl) set themselves up on the first enumeration and can answer "no
    // devices" to a second thread enumerating at the same time: one at a time per process.
    static ENUMERATING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = ENUMERATING.lock().unwrap_or_else(PoisonError::into_inner);
    let platforms = platform_ids()
        .as_ref()
        .map_err(|e| OpenClError::NoDevice(e.clone()))?;
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for (platform_index, &id) in platforms.iter().enumerate() {
        let platform = Platform::new(id);
        let platform_name = platform
            .name()
            .unwrap_or_else(|_| "unnamed platform".into());
        // A platform without devices answers with an error (CL_DEVICE_NOT_FOUND).
        // (`Device::list` would turn every error into an empty list.)
        let found = match ocl::core::get_device_ids(id, Some(DeviceType::ALL), None) {
            Ok(found) => found.into_iter().map(Device::from).collect::<Vec<_>>(),
            Err(e) => {
                skipped.push(format!("{platform_name}: {e}"));
                continue;
            }
        };
        for (device_index, device) in found.into_iter().enumerate() {
            let info = describe(
                &device,
                out.len(),
                platform_index,
                &platform_name,
                device_index,
            )
            .map_err(OpenClError::ocl("reading device information"))?;
            out.push((info, platform, device));
        }
    }
    if out.is_empty() {
        let why = if skipped.is_empty() {
            "the platforms have no devices".to_owned()
        } else {
            skipped.join("; ")
        };
        return Err(OpenClError::NoDevice(why));
    }
    Ok(out)
}

/// The OpenCL platforms, asked for once per process: with no driver installed the loader
/// retries for about ten seconds before it gives up, which should not happen on every call.
fn platform_ids() -> &'static Result<Vec<PlatformId>, String> {
    static PLATFORMS: OnceLock<Result<Vec<PlatformId>, String>> = OnceLock::new();
    PLATFORMS.get_or_init(|| {
        // `Platform::list` panics when the loader fails; the core call returns the error.
        match ocl::core::get_platform_ids() {
            Ok(ids) if ids.is_empty() => Err("no OpenCL platform".into()),
            Ok(ids) => Ok(ids),
            Err(e) => Err(format!("no OpenCL platform: {e}")),
        }
    })
}

fn describe(
    device: &Device,
    index: usize,
    platform_index: usize,
    platform_name: &str,
    device_index: usize,
) -> ocl::Result<DeviceInfo> {
    let kind = match device.info(Info::Type)? {
        InfoResult::Type(t) if t.contains(DeviceType::GPU) => DeviceKind::Gpu,
        InfoResult::Type(t) if t.contains(DeviceType::CPU) => DeviceKind::Cpu,
        _ => DeviceKind::Other,
    };
    let compute_units = match device.info(Info::MaxComputeUnits)? {
        InfoResult::MaxComputeUnits(n) => n,
        _ => 1,
    };
    let global_mem_bytes = match device.info(Info::GlobalMemSize)? {
        InfoResult::GlobalMemSize(n) => n,
        _ => 0,
    };
    let max_alloc_bytes = match device.info(Info::MaxMemAllocSize)? {
        InfoResult::MaxMemAllocSize(n) => n,
        _ => 0,
    };
    Ok(DeviceInfo {
        index,
        platform_index,
        platform_name: platform_name.to_owned(),
        device_index,
        name: device.name()?.trim().to_owned(),
        kind,
        compute_units: compute_units.max(1),
        global_mem_bytes,
        max_alloc_bytes,
        max_work_group_size: device.max_wg_size()?,
    })
}
