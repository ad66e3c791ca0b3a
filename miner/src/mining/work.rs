//! From a Stratum job to headers to hash: the job as `mining.notify` sent it, the work a session
//! derives from it (extranonce1, share target, version-rolling mask), and the units of work that
//! the hashing threads take one at a time.
//!
//! A unit is one header with its full 2^32 nonce space: a distinct (version bits, extranonce2)
//! pair. Units are numbered; unit `u` rolls the version first (`u`'s low bits, one per bit of the
//! negotiated mask, deposited into the mask) and the extranonce2 counter with the rest, as ASICs
//! do: a new version costs one midstate, a new extranonce2 a coinbase hash and the merkle branch.
//! Unit 0 is the job's own version and extranonce2 zero. Every thread takes the next unit number
//! from one atomic counter per job, so no two threads ever hash the same header.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use otedama_proto::chain::PowAlgo;
use otedama_proto::hash::{BlockHash, MerkleNode, PowHash, Txid};
use otedama_proto::merkle::root_from_branch;
use otedama_proto::pow::sha256d;
use otedama_proto::stratum::{roll_version, StratumHeader};
use otedama_proto::target::{CompactTarget, Target};

/// A job as `mining.notify` announced it, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// The pool's id for the job, echoed in `mining.submit`.
    pub id: String,
    /// The previous block hash (internal byte order).
    pub prev_hash: BlockHash,
    /// The coinbase up to the extranonces.
    pub coinb1: Vec<u8>,
    /// The coinbase after the extranonces.
    pub coinb2: Vec<u8>,
    /// The merkle branch of the coinbase, bottom up.
    pub branch: Vec<MerkleNode>,
    /// The block version the pool asks for.
    pub version: u32,
    /// The block's compact target.
    pub nbits: CompactTarget,
    /// The header time; not rolled (the nonce, extranonce2 and version spaces suffice).
    pub ntime: u32,
    /// Whether work on earlier jobs is worthless from now on (a new block).
    pub clean: bool,
}

impl Job {
    /// Whether `other` asks for the very same headers: every field but the id and the
    /// clean flag is equal. A pool re-sends a job so under a new id after a difficulty change;
    /// the nonce walk must then go on, or every share already found would be found again.
    pub fn same_work(&self, other: &Job) -> bool {
        self.prev_hash == other.prev_hash
            && self.coinb1 == other.coinb1
            && self.coinb2 == other.coinb2
            && self.branch == other.branch
            && self.version == other.version
            && self.nbits == other.nbits
            && self.ntime == other.ntime
    }
}

/// Everything the hashing threads need to work on a job.
#[derive(Debug)]
pub struct Work {
    /// The job.
    pub job: Arc<Job>,
    /// The proof-of-work function.
    pub algo: PowAlgo,
    /// The connection this work came from; shares of another connection are never submitted.
    pub session: u64,
    /// The pool's extranonce1 for this connection.
    pub extranonce1: Vec<u8>,
    /// How many bytes of extranonce2 the miner chooses.
    pub extranonce2_size: usize,
    /// The share target (from the Stratum difficulty).
    pub target: Target,
    /// The Stratum difficulty of [`Work::target`], for logs.
    pub difficulty: f64,
    /// The version bits the pool lets the miner change (0: no version rolling).
    pub version_mask: u32,
    /// The next unit number; shared by every `Work` of the same job and mask, so that a new
    /// difficulty re-publishes the job without repeating a header.
    pub units: Arc<AtomicU64>,
}

/// One header to scan: a distinct extranonce2 and version of a job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unit {
    /// The extranonce2 bytes (big-endian counter, `extranonce2_size` bytes).
    pub extranonce2: Vec<u8>,
    /// The header's version after rolling.
    pub version: u32,
    /// The bits submitted as `mining.submit`'s sixth parameter when version rolling is on:
    /// the rolled version's bits inside the mask.
    pub version_bits: Option<u32>,
}

/// A share found by a hashing thread, ready to submit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Share {
    /// The connection the work came from.
    pub session: u64,
    /// The job id.
    pub job_id: String,
    /// The extranonce1 the share was found under: after `mining.set_extranonce` a share under
    /// the old one is not submitted (the pool would reject it).
    pub extranonce1: Vec<u8>,
    /// The extranonce2 bytes.
    pub extranonce2: Vec<u8>,
    /// The header time.
    pub ntime: u32,
    /// The winning nonce.
    pub nonce: u32,
    /// The version bits, when version rolling is on.
    pub version_bits: Option<u32>,
    /// The proof-of-work hash, already checked against the share target.
    pub hash: PowHash,
    /// The index of the thread that found it.
    pub thread: usize,
}

/// Spreads the low bits of `value` over the set bits of `mask`, lowest first (the x86 `pdep`).
pub fn deposit_bits(mut value: u32, mut mask: u32) -> u32 {
    let mut out = 0;
    while mask != 0 {
        let lowest = mask & mask.wrapping_neg();
        if value & 1 != 0 {
            out |= lowest;
        }
        value >>= 1;
        mask &= mask - 1;
    }
    out
}

impl Work {
    /// The same job with another mask, handing out units whose extranonce2 values were never
    /// used under the old mask (so no header can repeat).
    pub fn with_mask(&self, version_mask: u32) -> Work {
        let old_roll_bits = self.version_mask.count_ones();
        let used_en2 = self.units.load(Ordering::Relaxed) >> old_roll_bits;
        let first = (used_en2 + 1)
            .checked_shl(version_mask.count_ones())
            .unwrap_or(u64::MAX);
        Work {
            job: Arc::clone(&self.job),
            algo: self.algo,
            session: self.session,
            extranonce1: self.extranonce1.clone(),
            extranonce2_size: self.extranonce2_size,
            target: self.target,
            difficulty: self.difficulty,
            version_mask,
            units: Arc::new(AtomicU64::new(first)),
        }
    }

    /// Takes the next unit, or `None` when the job's whole space has been handed out.
    pub fn next_unit(&self) -> Option<Unit> {
        self.unit(self.units.fetch_add(1, Ordering::Relaxed))
    }

    /// Unit number `index`, or `None` past the end of the job's space.
    pub fn unit(&self, index: u64) -> Option<Unit> {
        let roll_bits = self.version_mask.count_ones();
        let roll = (index & ((1u64 << roll_bits) - 1)) as u32;
        let en2 = index >> roll_bits;
        let en2_bits = 8 * self.extranonce2_size.min(8) as u32;
        if en2_bits < 64 && en2 >> en2_bits != 0 {
            return None;
        }
        let mut extranonce2 = vec![0u8; self.extranonce2_size];
        let keep = self.extranonce2_size.min(8);
        extranonce2[self.extranonce2_size - keep..].copy_from_slice(&en2.to_be_bytes()[8 - keep..]);
        let (version, version_bits) = if self.version_mask == 0 {
            (self.job.version, None)
        } else {
            let bits =
                (self.job.version ^ deposit_bits(roll, self.version_mask)) & self.version_mask;
            (
                roll_version(self.job.version, self.version_mask, bits),
                Some(bits),
            )
        };
        Some(Unit {
            extranonce2,
            version,
            version_bits,
        })
    }

    /// The coinbase transaction of `unit`: coinb1 ‖ extranonce1 ‖ extranonce2 ‖ coinb2.
    pub fn coinbase(&self, unit: &Unit) -> Vec<u8> {
        let job = &self.job;
        let mut coinbase = Vec::with_capacity(
            job.coinb1.len() + self.extranonce1.len() + unit.extranonce2.len() + job.coinb2.len(),
        );
        coinbase.extend_from_slice(&job.coinb1);
        coinbase.extend_from_slice(&self.extranonce1);
        coinbase.extend_from_slice(&unit.extranonce2);
        coinbase.extend_from_slice(&job.coinb2);
        coinbase
    }

    /// The 80-byte header of `unit`, with nonce zero.
    pub fn header(&self, unit: &Unit) -> [u8; 80] {
        let txid = Txid(sha256d(&self.coinbase(unit)));
        StratumHeader {
            version: unit.version,
            prev_hash: self.job.prev_hash,
            merkle_root: root_from_branch(&txid, &self.job.branch),
            ntime: self.job.ntime,
            nbits: self.job.nbits,
            nonce: 0,
        }
        .to_bytes()
    }

    /// The share of `unit` with `nonce`, whose hash `hash` the caller checked.
    pub fn share(&self, unit: &Unit, nonce: u32, hash: PowHash, thread: usize) -> Share {
        Share {
            session: self.session,
            job_id: self.job.id.clone(),
            extranonce1: self.extranonce1.clone(),
            extranonce2: unit.extranonce2.clone(),
            ntime: self.job.ntime,
            nonce,
            version_bits: unit.version_bits,
            hash,
            thread,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use otedama_proto::stratum::BIP320_VERSION_MASK;

    pub(crate) fn work(version: u32, mask: u32, en2_size: usize) -> Work {
        Work {
            job: Arc::new(Job {
                id: "j1".into(),
                prev_hash: BlockHash([7; 32]),
                coinb1: vec![1, 2, 3],
                coinb2: vec![4, 5],
                branch: vec![MerkleNode([9; 32])],
                version,
                nbits: CompactTarget::from_consensus(0x1d00ffff),
                ntime: 0x6000_0000,
                clean: true,
            }),
            algo: PowAlgo::Sha256d,
            session: 1,
            extranonce1: vec![0xaa, 0xbb],
            extranonce2_size: en2_size,
            target: Target::MAX,
            difficulty: 1.0,
            version_mask: mask,
            units: Arc::new(AtomicU64::new(0)),
        }
    }

    #[test]
    fn deposit_spreads_bits_into_the_mask() {
        assert_eq!(deposit_bits(0, BIP320_VERSION_MASK), 0);
        assert_eq!(deposit_bits(1, BIP320_VERSION_MASK), 0x2000);
        assert_eq!(deposit_bits(0b101, 0b1011_0000), 0b1000_0000 | 0b1_0000);
        assert_eq!(
            deposit_bits(u32::MAX, BIP320_VERSION_MASK),
            BIP320_VERSION_MASK
        );
    }

    #[test]
    fn units_roll_the_version_first_then_extranonce2() {
        let w = work(0x2000_2000, BIP320_VERSION_MASK, 4);
        let u0 = w.unit(0).expect("unit 0");
        assert_eq!(u0.version, 0x2000_2000, "unit 0 keeps the job's version");
        assert_eq!(
            u0.version_bits,
            Some(0x2000),
            "bits are the version inside the mask"
        );
        assert_eq!(u0.extranonce2, vec![0, 0, 0, 0]);
        let u1 = w.unit(1).expect("unit 1");
        assert_eq!(u1.version, 0x2000_0000);
        assert_eq!(u1.version_bits, Some(0));
        let next_en2 = w.unit(1 << 16).expect("first unit of extranonce2 1");
        assert_eq!(next_en2.extranonce2, vec![0, 0, 0, 1]);
        assert_eq!(next_en2.version, 0x2000_2000);
        for i in [0u64, 1, 2, 77, 65535] {
            let u = w.unit(i).expect("in range");
            assert_eq!(
                roll_version(
                    w.job.version,
                    w.version_mask,
                    u.version_bits.expect("rolling")
                ),
                u.version
            );
        }
    }

    #[test]
    fn space_ends_with_the_extranonce2_counter() {
        let w = work(0x2000_0000, 0, 1);
        assert_eq!(w.unit(255).expect("last").extranonce2, vec![0xff]);
        assert_eq!(w.unit(255).expect("last").version_bits, None);
        assert_eq!(w.unit(256), None);
        let w = work(0x2000_0000, 0, 0);
        assert_eq!(
            w.unit(0).expect("the one unit").extranonce2,
            Vec::<u8>::new()
        );
        assert_eq!(w.unit(1), None);
        let w = work(0x2000_0000, 0, 10);
        assert_eq!(
            w.unit(0x0102).expect("wide").extranonce2,
            vec![0, 0, 0, 0, 0, 0, 0, 0, 1, 2]
        );
    }

    #[test]
    fn a_new_mask_never_repeats_an_extranonce2() {
        let w = work(0x2000_0000, BIP320_VERSION_MASK, 4);
        w.units.store(3 << 16 | 5, Ordering::Relaxed);
        let narrower = w.with_mask(0x0000_6000);
        assert_eq!(
            narrower.next_unit().expect("unit").extranonce2,
            vec![0, 0, 0, 4]
        );
    }

    #[test]
    fn header_commits_to_the_coinbase_through_the_branch() {
        let w = work(0x2000_0000, 0, 4);
        let unit = w.unit(5).expect("unit");
        assert_eq!(
            w.coinbase(&unit),
            vec![1, 2, 3, 0xaa, 0xbb, 0, 0, 0, 5, 4, 5]
        );
        let header = w.header(&unit);
        let txid = sha256d(&w.coinbase(&unit));
        let mut pair = [0u8; 64];
        pair[..32].copy_from_slice(&txid);
        pair[32..].copy_from_slice(&[9; 32]);
        assert_eq!(header[36..68], sha256d(&pair));
        assert_eq!(header[..4], 0x2000_0000u32.to_le_bytes());
        assert_eq!(header[4..36], [7; 32]);
        assert_eq!(header[68..72], 0x6000_0000u32.to_le_bytes());
        assert_eq!(header[72..76], 0x1d00ffffu32.to_le_bytes());
        assert_eq!(header[76..], [0; 4]);
    }
}
