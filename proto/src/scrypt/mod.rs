//! scrypt(N=1024, r=1, p=1) of an 80-byte header, as Litecoin's proof of work.
//!
//! This is the one scrypt core of the project, shared by share validation (one hash at a time,
//! [`scrypt_1024_1_1`]) and the CPU miner (many at a time, [`ScryptHasher`]).
//!
//! scrypt here is: B = PBKDF2-HMAC-SHA256(header, header, 1, 128); ROMix(B) with a 1024-block
//! (128 KiB) scratchpad; result = PBKDF2-HMAC-SHA256(header, B', 1, 32). The two PBKDF2 steps
//! (module `pbkdf2`) are 16 SHA-256 compressions; ROMix is 4096 Salsa20/8 cores and 128 KiB of
//! scratchpad traffic, nearly all the time. ROMix has several back-ends ([`ScryptBackend`]),
//! chosen at run time: SIMD ones that keep each Salsa20 block in four rows along its diagonals
//! (`DIAGONAL`) and compute several independent hashes side by side, and a portable one.
//! Scratchpads are allocated once per [`ScryptHasher`] (or per thread for [`scrypt_1024_1_1`])
//! and reused.

mod backend;
mod kernel;
mod pbkdf2;
mod portable;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(target_arch = "x86_64")]
mod sse2;

#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::fmt;

pub use backend::{BackendUnavailable, ScryptBackend, UnknownBackend};
use pbkdf2::{key_midstate, HmacKey};

/// ROMix's cost parameter: blocks in the scratchpad.
const N: usize = 1024;

/// One 128-byte ROMix block (r = 1), aligned so that it spans exactly two cache lines.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Block([u32; 32]);

impl Block {
    const ZERO: Self = Self([0; 32]);
}

/// The diagonal word order: position `i` of a 16-word Salsa20 block holds standard word
/// `DIAGONAL[i]`. Read as four rows of four, the rows are the matrix's diagonals
/// (0 5 10 15 / 4 9 14 3 / 8 13 2 7 / 12 1 6 11), so every quarter-round of a column round
/// works on the same row positions at once, and a row round needs only three in-row rotations.
/// Word 0 stays in place, so Integerify reads word 16 in either order.
const DIAGONAL: [usize; 16] = [0, 5, 10, 15, 4, 9, 14, 3, 8, 13, 2, 7, 12, 1, 6, 11];

/// Standard word order to diagonal order, for each of the two 16-word halves.
fn to_diagonal(b: &[u32; 32]) -> [u32; 32] {
    let mut out = [0u32; 32];
    for half in 0..2 {
        for (i, &k) in DIAGONAL.iter().enumerate() {
            out[16 * half + i] = b[16 * half + k];
        }
    }
    out
}

/// Diagonal word order back to standard order.
fn from_diagonal(d: &[u32; 32]) -> [u32; 32] {
    let mut out = [0u32; 32];
    for half in 0..2 {
        for (i, &k) in DIAGONAL.iter().enumerate() {
            out[16 * half + k] = d[16 * half + i];
        }
    }
    out
}

thread_local! {
    /// The scratch [`scrypt_1024_1_1`] reuses on this thread (allocated on first use).
    static SINGLE_SCRATCH: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// The scrypt proof-of-work hash of an 80-byte header (password and salt are both the header),
/// in internal byte order (as a little-endian 256-bit number).
///
/// Computes one hash with the lowest latency this CPU offers and reuses a per-thread
/// scratchpad; to hash many headers, a [`ScryptHasher`] is several times faster per hash.
pub fn scrypt_1024_1_1(header: &[u8; 80]) -> [u8; 32] {
    SINGLE_SCRATCH
        .try_with(|cell| {
            let mut v = cell.try_borrow_mut().ok()?;
            v.resize(ScryptBackend::single_scratch_len(), Block::ZERO);
            Some(hash_single(header, &mut v))
        })
        .ok()
        .flatten()
        // Only while this thread's storage is being torn down (or re-entered).
        .unwrap_or_else(|| {
            let mut v = vec![Block::ZERO; ScryptBackend::single_scratch_len()];
            hash_single(header, &mut v)
        })
}

/// One hash on the single-hash path, with `v` as scratch (see
/// [`ScryptBackend::romix_single`]).
fn hash_single(header: &[u8; 80], v: &mut [Block]) -> [u8; 32] {
    let key = HmacKey::for_header(header, &key_midstate(prefix64(header)));
    let mut x = to_diagonal(&key.expand_header(header));
    ScryptBackend::romix_single(&mut x, v);
    key.compress_block(&from_diagonal(&x))
}

/// The header's first 64 bytes: the part of the HMAC key's hash that is fixed per job.
fn prefix64(header: &[u8]) -> &[u8; 64] {
    header[..64]
        .try_into()
        .expect("a header is longer than 64 bytes")
}

/// Whether a hash, read as a little-endian 256-bit number, is at most `target` (same encoding).
fn meets_target(hash: &[u8; 32], target: &[u8; 32]) -> bool {
    hash.iter().rev().cmp(target.iter().rev()).is_le()
}

/// Computes many scrypt hashes on one thread, [`ScryptBackend::lanes`] at a time, with
/// scratchpads allocated once (128 KiB per lane). One per mining thread.
pub struct ScryptHasher {
    backend: ScryptBackend,
    /// One scratchpad per lane, back to back.
    scratch: Vec<Block>,
    /// The working block of each lane (diagonal word order).
    x: Vec<[u32; 32]>,
    /// The HMAC key of each lane's header.
    keys: Vec<HmacKey>,
    /// The headers of the batch in flight (a short batch repeats its last header).
    batch: Vec<[u8; 80]>,
}

impl fmt::Debug for ScryptHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScryptHasher")
            .field("backend", &self.backend)
            .field("lanes", &self.lanes())
            .finish_non_exhaustive()
    }
}

impl Default for ScryptHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl ScryptHasher {
    /// A hasher on the fastest back-end this CPU can run.
    pub fn new() -> Self {
        Self::with_backend(ScryptBackend::detect_best())
            .expect("the detected back-end is available")
    }

    /// A hasher on `backend`, if this CPU can run it.
    pub fn with_backend(backend: ScryptBackend) -> Result<Self, BackendUnavailable> {
        if !backend.is_available() {
            return Err(BackendUnavailable(backend));
        }
        let lanes = backend.lanes();
        Ok(Self {
            backend,
            scratch: vec![Block::ZERO; lanes * N],
            x: vec![[0; 32]; lanes],
            keys: vec![HmacKey::new(&[]); lanes],
            batch: vec![[0; 80]; lanes],
        })
    }

    /// The back-end in use.
    pub fn backend(&self) -> ScryptBackend {
        self.backend
    }

    /// Hashes computed together; a multiple of this is the efficient batch size.
    pub fn lanes(&self) -> usize {
        self.backend.lanes()
    }

    /// Hashes every header of `headers` into the same position of `out`.
    ///
    /// # Panics
    /// If `out` is not as long as `headers`.
    pub fn hash_many(&mut self, headers: &[[u8; 80]], out: &mut [[u8; 32]]) {
        assert_eq!(headers.len(), out.len(), "one output per header");
        let lanes = self.lanes();
        for (headers, out) in headers.chunks(lanes).zip(out.chunks_mut(lanes)) {
            for (lane, slot) in self.batch.iter_mut().enumerate() {
                *slot = headers[lane.min(headers.len() - 1)];
            }
            self.run_batch(None);
            for (lane, hash) in out.iter_mut().enumerate() {
                *hash = self.result(lane);
            }
        }
    }

    /// Hashes the headers `header_prefix ‖ nonce` (nonce little-endian) for the `count` nonces
    /// from `start_nonce` on (wrapping past `u32::MAX`), and appends to `found` each nonce whose
    /// hash is at most `target` (both read as little-endian 256-bit numbers). Returns the number
    /// of hashes tried, `count`.
    pub fn scan(
        &mut self,
        header_prefix: &[u8; 76],
        start_nonce: u32,
        count: u32,
        target: &[u8; 32],
        found: &mut Vec<u32>,
    ) -> u64 {
        let midstate = key_midstate(prefix64(header_prefix));
        let lanes = self.lanes() as u32;
        let mut done = 0u32;
        while done < count {
            let n = lanes.min(count - done);
            let nonce = |lane: u32| start_nonce.wrapping_add(done + lane.min(n - 1));
            for (lane, header) in (0..).zip(self.batch.iter_mut()) {
                header[..76].copy_from_slice(header_prefix);
                header[76..].copy_from_slice(&nonce(lane).to_le_bytes());
            }
            self.run_batch(Some(&midstate));
            for lane in 0..n {
                if meets_target(&self.result(lane as usize), target) {
                    found.push(nonce(lane));
                }
            }
            done += n;
        }
        u64::from(count)
    }

    /// Runs the opening PBKDF2 and ROMix for every lane of `self.batch`; `midstate` is
    /// [`key_midstate`] of the headers' shared first 64 bytes, if they share them.
    fn run_batch(&mut self, midstate: Option<&[u32; 8]>) {
        for ((header, key), x) in self.batch.iter().zip(&mut self.keys).zip(&mut self.x) {
            let own;
            let midstate = match midstate {
                Some(m) => m,
                None => {
                    own = key_midstate(prefix64(header));
                    &own
                }
            };
            *key = HmacKey::for_header(header, midstate);
            *x = to_diagonal(&key.expand_header(header));
        }
        self.backend.romix(&mut self.x, &mut self.scratch);
    }

    /// The closing PBKDF2 of one lane after [`Self::run_batch`].
    fn result(&self, lane: usize) -> [u8; 32] {
        self.keys[lane].compress_block(&from_diagonal(&self.x[lane]))
    }
}
