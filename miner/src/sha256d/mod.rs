//! CPU sha256d nonce scanning: the fastest path the CPU has, chosen at run time.
//!
//! A job is an 80-byte header whose nonce (bytes 76..80, little-endian) the miner varies. The
//! first 64 bytes are hashed once per job into a [`Midstate`]; per nonce only the second block and
//! the second SHA-256 are computed, and only as far as the final state word H7, whose byte-swapped
//! value is the hash's most significant 32 bits. [`scan`] reports the nonces whose top word is at
//! most the job's `target_hi`: candidates, which the caller re-hashes in full with
//! [`Sha256dJob::hash`] and compares with the whole target before submitting anything.
//!
//! Back-ends ([`Sha256dBackend`]): the SHA extensions with several nonces in flight, AVX-512 with
//! 16 lanes, AVX2 with 8 lanes, and a portable scalar one. All give the same candidates.

/// Repeats `$body` once per listed index, with `$i` a constant equal to that index, so that
/// every array index in the body is a constant and the compiler keeps the arrays in registers.
macro_rules! unroll {
    ($i:ident in [$($t:literal)*] $body:block) => {
        $( { const $i: usize = $t; $body } )*
    };
}

mod kernel;
mod portable;
mod precomp;
mod reference;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(target_arch = "x86_64")]
mod shani;

use otedama_proto::hash::PowHash;
use precomp::Precomp;

/// A sha256d implementation; see [`Sha256dBackend::available`] for those this CPU can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sha256dBackend {
    /// Scalar code that runs anywhere.
    Portable,
    /// 8 nonces per step in 256-bit AVX2 registers.
    Avx2,
    /// 16 nonces per step in 512-bit AVX-512 registers.
    Avx512,
    /// The SHA extensions (SHA-NI), several nonces interleaved to hide the rounds' latency.
    ShaNi,
}

/// The error for a back-end name that [`Sha256dBackend::from_str`](std::str::FromStr) does not
/// know.
#[derive(Debug, thiserror::Error)]
#[error("unknown sha256d back-end {0:?} (expected portable, avx2, avx512 or sha-ni)")]
pub struct UnknownBackend(String);

impl Sha256dBackend {
    /// Every back-end, fastest first as measured on AMD Zen 4 with one thread (million hashes per
    /// CPU second: SHA-NI 34, AVX-512 33, AVX2 16, portable 2.8).
    pub const ALL: [Self; 4] = [Self::ShaNi, Self::Avx512, Self::Avx2, Self::Portable];

    /// The back-end's name, as [`FromStr`](std::str::FromStr) reads it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Portable => "portable",
            Self::Avx2 => "avx2",
            Self::Avx512 => "avx512",
            Self::ShaNi => "sha-ni",
        }
    }

    /// Whether this CPU can run the back-end.
    pub fn is_available(self) -> bool {
        match self {
            Self::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Self::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            Self::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
            }
            #[cfg(target_arch = "x86_64")]
            Self::ShaNi => {
                std::arch::is_x86_feature_detected!("sha")
                    && std::arch::is_x86_feature_detected!("sse4.1")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The back-ends this CPU can run, fastest first.
    pub fn available() -> Vec<Self> {
        Self::ALL.into_iter().filter(|b| b.is_available()).collect()
    }

    /// The fastest back-end this CPU can run.
    pub fn detect_best() -> Self {
        Self::ALL
            .into_iter()
            .find(|b| b.is_available())
            .unwrap_or(Self::Portable)
    }
}

impl std::fmt::Display for Sha256dBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Sha256dBackend {
    type Err = UnknownBackend;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "portable" | "scalar" => Ok(Self::Portable),
            "avx2" => Ok(Self::Avx2),
            "avx512" | "avx-512" => Ok(Self::Avx512),
            "sha-ni" | "shani" | "sha" => Ok(Self::ShaNi),
            _ => Err(UnknownBackend(s.to_owned())),
        }
    }
}

/// The SHA-256 state after the first 64 bytes of a header (state words H0..H7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Midstate(pub [u32; 8]);

impl Midstate {
    /// The midstate of `header`'s first 64 bytes.
    pub fn of_header(header: &[u8; 80]) -> Self {
        let head: &[u8; 64] = header[..64].try_into().expect("80 bytes hold 64");
        Self(reference::midstate(head))
    }
}

/// One header to scan: its midstate, its last 16 bytes and the top word of its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sha256dJob {
    /// The state after the header's first 64 bytes.
    pub midstate: Midstate,
    /// Header bytes 64..80: the end of the merkle root, time, bits, and the nonce at 12..16 (the
    /// scanner overwrites the nonce).
    pub tail: [u8; 16],
    /// The highest top word (most significant 32 bits of the hash read as a little-endian
    /// 256-bit number) a hash may have to be reported; `u32::MAX` reports every nonce.
    pub target_hi: u32,
}

impl Sha256dJob {
    /// The job of scanning `header` against a target whose top word is `target_hi`.
    pub fn new(header: &[u8; 80], target_hi: u32) -> Self {
        Self {
            midstate: Midstate::of_header(header),
            tail: header[64..].try_into().expect("80 bytes hold 16 after 64"),
            target_hi,
        }
    }

    /// The full sha256d of the header with `nonce`, by the portable reference code.
    pub fn hash(&self, nonce: u32) -> PowHash {
        let mut tail = self.tail;
        tail[12..].copy_from_slice(&nonce.to_le_bytes());
        PowHash(reference::digest_bytes(&reference::sha256d_words(
            &self.midstate.0,
            &tail,
        )))
    }
}

/// The most significant 32 bits of a 256-bit number stored little-endian (a hash or a target
/// in internal byte order), as [`Sha256dJob::target_hi`] and the scanner compare them.
pub fn top_word(le_bytes: &[u8; 32]) -> u32 {
    u32::from_le_bytes(le_bytes[28..].try_into().expect("32 bytes hold 4 after 28"))
}

/// sha256d of an 80-byte header by the portable reference code.
pub fn sha256d_header(header: &[u8; 80]) -> PowHash {
    Sha256dJob::new(header, 0).hash(u32::from_le_bytes(
        header[76..].try_into().expect("80 bytes hold 4 after 76"),
    ))
}

/// Hashes the `count` nonces `start_nonce, start_nonce + 1, …` (wrapping past `u32::MAX`) with
/// `backend` and appends to `out`, in order, each nonce whose hash's top word is at most
/// `job.target_hi`. Returns the number of hashes done (`count`).
///
/// # Panics
///
/// If this CPU cannot run `backend` (see [`Sha256dBackend::is_available`]).
pub fn scan(
    backend: Sha256dBackend,
    job: &Sha256dJob,
    start_nonce: u32,
    count: u32,
    out: &mut Vec<u32>,
) -> u64 {
    assert!(
        backend.is_available(),
        "sha256d back-end {backend} is not supported by this CPU"
    );
    let p = Precomp::new(job);
    match backend {
        Sha256dBackend::Portable => portable::scan(&p, start_nonce, count, out),
        #[cfg(target_arch = "x86_64")]
        Sha256dBackend::Avx2 => avx2::scan(&p, start_nonce, count, out),
        #[cfg(target_arch = "x86_64")]
        Sha256dBackend::Avx512 => avx512::scan(&p, start_nonce, count, out),
        #[cfg(target_arch = "x86_64")]
        Sha256dBackend::ShaNi => shani::scan(&p, start_nonce, count, out),
        #[cfg(not(target_arch = "x86_64"))]
        _ => unreachable!("only the portable back-end is available off x86_64"),
    }
    u64::from(count)
}

/// Appends the nonces `base + i` for each set bit i of `mask` with `done + i < count`.
///
/// The SIMD back-ends hash whole groups of lanes; this drops the lanes past the end of the range.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
fn push_lanes(mut mask: u32, base: u32, done: u64, count: u32, out: &mut Vec<u32>) {
    while mask != 0 {
        let i = mask.trailing_zeros();
        mask &= mask - 1;
        if done + u64::from(i) < u64::from(count) {
            out.push(base.wrapping_add(i));
        }
    }
}
