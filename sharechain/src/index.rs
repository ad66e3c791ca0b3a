//! The in-memory index of held shares: what validation, fork choice and the window need of
//! each share, without the share itself (that is in the store).
//!
//! Maps use fixed hashers: share ids are proof-of-work hashes (spreading them costs work) and the
//! crate takes no randomness, so nothing here depends on a random seed.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use bitcoin::{Script, ScriptBuf};
use otedama_proto::hash::ShareId;
use otedama_proto::target::{CompactTarget, Target};
use otedama_proto::uint::U256;

/// A hasher for share ids: their first eight bytes, which proof of work leaves random.
#[derive(Default, Debug)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(word);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = self.0.rotate_left(5) ^ v;
    }
    fn write_u32(&mut self, v: u32) {
        self.write_u64(u64::from(v).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    }
}

/// A map keyed by share id (or a small integer) with [`IdHasher`].
pub(crate) type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// A deterministic map keyed by scripts (SipHash with fixed keys).
type ScriptMap<V> =
    HashMap<ScriptBuf, V, BuildHasherDefault<std::collections::hash_map::DefaultHasher>>;

/// A payout script, interned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ScriptId(pub u32);

/// Interned payout scripts: the window counts credits per `ScriptId`.
#[derive(Debug, Default)]
pub(crate) struct Scripts {
    ids: ScriptMap<ScriptId>,
    scripts: Vec<ScriptBuf>,
}

impl Scripts {
    pub fn intern(&mut self, script: &Script) -> ScriptId {
        if let Some(id) = self.ids.get(script) {
            return *id;
        }
        let id =
            ScriptId(u32::try_from(self.scripts.len()).expect("fewer than 2^32 payout scripts"));
        self.scripts.push(script.to_owned());
        self.ids.insert(script.to_owned(), id);
        id
    }

    pub fn get(&self, id: ScriptId) -> &Script {
        &self.scripts[id.0 as usize]
    }
}

/// What the chain keeps of one share.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub id: ShareId,
    /// The parent's id (`None` for genesis); the parent may not be held.
    pub parent: Option<ShareId>,
    pub height: u32,
    pub time: u32,
    pub max_bits: CompactTarget,
    pub coin_height: u32,
    pub script: ScriptId,
    /// Work of the share's own target (what the window credits).
    pub work: U256,
    /// Work of the rule's target, `max_bits` (what fork choice counts, §9).
    pub rule_work: U256,
    /// The proof-of-work hash as a 256-bit number: the fork-choice tie-break (§9).
    pub pow_hash: U256,
    /// Own work plus the uncles' work: what fork choice and the window cap count.
    pub weight: U256,
    /// The parent's chain work plus the rule work of the share and of its uncles (§9).
    pub chain_work: U256,
    pub uncles: Vec<ShareId>,
    /// What the window credits for this share: its miner first, then each uncle's miner.
    pub credits: Vec<(ScriptId, U256)>,
    /// Added as a root (§11.4): ancestry walks stop here even if the parent arrives later, so
    /// windows and rankings already computed never change under the chain.
    pub root: bool,
}

impl Entry {
    /// Whether every uncle's credit is in `credits`: false only for a root (or a share whose
    /// uncles were pruned before a restart) naming an uncle the node does not hold.
    pub fn credits_known(&self) -> bool {
        self.credits.len() == self.uncles.len() + 1
    }

    /// The fork-choice order (§9): more chain work, then the lower proof-of-work hash, then
    /// (only for two shares with one header, which cannot both be held) the lower id.
    pub fn better_than(&self, other: &Entry) -> bool {
        (
            self.chain_work,
            std::cmp::Reverse(self.pow_hash),
            std::cmp::Reverse(id_number(&self.id)),
        ) > (
            other.chain_work,
            std::cmp::Reverse(other.pow_hash),
            std::cmp::Reverse(id_number(&other.id)),
        )
    }
}

/// A share id as a 256-bit number (little-endian, as proof of work reads hashes).
pub(crate) fn id_number(id: &ShareId) -> U256 {
    U256::from_le_bytes(id.to_byte_array())
}

/// The work of a compact target that validation already checked.
pub(crate) fn work_of(bits: CompactTarget) -> U256 {
    Target::from_compact(bits)
        .expect("validated compact target")
        .to_work()
        .to_u256()
}

/// Every held share, by id and by height.
#[derive(Debug, Default)]
pub(crate) struct Index {
    entries: IdMap<ShareId, Entry>,
    by_height: BTreeMap<u32, Vec<ShareId>>,
    pub scripts: Scripts,
    /// Entries looked up by id: tests bound the cost of a request with it.
    #[cfg(test)]
    pub lookups: std::cell::Cell<u64>,
}

impl Index {
    pub fn get(&self, id: &ShareId) -> Option<&Entry> {
        #[cfg(test)]
        self.lookups.set(self.lookups.get() + 1);
        self.entries.get(id)
    }

    pub fn contains(&self, id: &ShareId) -> bool {
        self.entries.contains_key(id)
    }

    pub fn ids(&self) -> impl Iterator<Item = &ShareId> + '_ {
        self.entries.keys()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn insert(&mut self, entry: Entry) {
        self.by_height
            .entry(entry.height)
            .or_default()
            .push(entry.id);
        self.entries.insert(entry.id, entry);
    }

    /// The held parent of `entry` (never the parent of a root).
    pub fn parent(&self, entry: &Entry) -> Option<&Entry> {
        if entry.root {
            return None;
        }
        entry.parent.as_ref().and_then(|p| self.get(p))
    }

    /// `start` and its held ancestors, newest first.
    pub fn ancestry<'a>(&'a self, start: &ShareId) -> impl Iterator<Item = &'a Entry> + 'a {
        let mut next = self.get(start);
        std::iter::from_fn(move || {
            let current = next?;
            next = self.parent(current);
            Some(current)
        })
    }

    /// The ancestor of `start` (or `start`) at `height`, if held.
    pub fn at_height(&self, start: &ShareId, height: u32) -> Option<&Entry> {
        self.ancestry(start)
            .take_while(|e| e.height >= height)
            .find(|e| e.height == height)
    }

    /// Ids of held shares at heights in `range`.
    pub fn ids_in_heights(
        &self,
        range: std::ops::RangeInclusive<u32>,
    ) -> impl Iterator<Item = &ShareId> {
        self.by_height.range(range).flat_map(|(_, ids)| ids.iter())
    }

    /// Removes every share below `height`; returns their ids.
    pub fn prune_below(&mut self, height: u32) -> Vec<ShareId> {
        let keep = self.by_height.split_off(&height);
        let gone = std::mem::replace(&mut self.by_height, keep);
        let ids: Vec<ShareId> = gone.into_values().flatten().collect();
        for id in &ids {
            self.entries.remove(id);
        }
        ids
    }

    /// The best held share by §9.
    pub fn best(&self) -> Option<&Entry> {
        self.entries
            .values()
            .fold(None, |best: Option<&Entry>, e| match best {
                Some(b) if !e.better_than(b) => Some(b),
                _ => Some(e),
            })
    }
}
