//! The process's open-file limit.
//!
//! A node holds a descriptor for every miner, peer and API client, plus sled's files. Many
//! systems start processes with a soft limit of 1024, which a pool of a few hundred rigs
//! exhausts: accepts then fail and miners are refused. The node raises its soft limit towards
//! what its connection caps need (never above the hard limit, which only root may raise) and
//! says plainly when that is not enough.

/// Descriptors the node needs beside its Stratum connections: peers (at most 64), API clients
/// (at most 512 by default), sled, logs and slack.
pub const BASE_DESCRIPTORS: u64 = 1024;

/// What [`raise_open_files`] found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFiles {
    /// The soft limit before.
    pub before: u64,
    /// The soft limit now.
    pub now: u64,
    /// The hard limit.
    pub hard: u64,
}

impl OpenFiles {
    /// Whether the soft limit now covers `wanted`.
    pub fn covers(&self, wanted: u64) -> bool {
        self.now >= wanted
    }
}

/// Raises the soft open-file limit to `wanted` (or to the hard limit, if lower); never lowers it.
#[cfg(unix)]
pub fn raise_open_files(wanted: u64) -> std::io::Result<OpenFiles> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own; RLIMIT_NOFILE is a valid resource.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // rlim_t is u64 on Linux and the BSDs; the conversion is for the platforms where it is not.
    #[allow(clippy::useless_conversion)]
    let (before, hard) = (u64::from(limit.rlim_cur), u64::from(limit.rlim_max));
    let target = wanted.min(hard);
    if target <= before {
        return Ok(OpenFiles {
            before,
            now: before,
            hard,
        });
    }
    limit.rlim_cur = libc::rlim_t::try_from(target).unwrap_or(limit.rlim_max);
    // SAFETY: setrlimit reads the struct we own; the new soft limit is at most the hard one.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(OpenFiles {
        before,
        now: target,
        hard,
    })
}

/// Elsewhere the limit is left as it is.
#[cfg(not(unix))]
pub fn raise_open_files(wanted: u64) -> std::io::Result<OpenFiles> {
    Ok(OpenFiles {
        before: wanted,
        now: wanted,
        hard: wanted,
    })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_rises_to_the_hard_one_and_never_falls() {
        let first = raise_open_files(0).unwrap();
        assert_eq!(first.before, first.now, "asking for less changes nothing");
        assert!(first.now <= first.hard);
        // Asking for more than the hard limit gets the hard limit.
        let raised = raise_open_files(u64::MAX).unwrap();
        assert_eq!(raised.now, raised.hard);
        assert!(!raised.covers(u64::MAX));
        assert!(raised.covers(raised.hard));
        // And the process really has it now.
        let again = raise_open_files(0).unwrap();
        assert_eq!(again.before, raised.hard);
    }
}
