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

/// Interned payout scripts: the window counts credits per `ScriptId`. Each script counts the
/// references held entries make to it ([`Entry::script_refs`]) and is freed when the last
/// entry naming it is pruned, so a chain paying ever-new scripts keeps only those still held.
/// Ids of freed scripts are reused; nothing orders by id (payouts rank by script bytes).
#[derive(Debug, Default)]
pub(crate) struct Scripts {
    ids: ScriptMap<ScriptId>,
    /// By id: the script and how many references held entries make to it; `None` when free.
    slots: Vec<Option<(ScriptBuf, u32)>>,
    /// Free ids, reused last freed first.
    free: Vec<ScriptId>,
}

impl Scripts {
    /// The id of `script`, interned (without a reference) if it is new.
    pub fn intern(&mut self, script: &Script) -> ScriptId {
        if let Some(id) = self.ids.get(script) {
            return *id;
        }
        let slot = Some((script.to_owned(), 0));
        let id = match self.free.pop() {
            Some(id) => {
                self.slots[id.0 as usize] = slot;
                id
            }
            None => {
                let id = ScriptId(
                    u32::try_from(self.slots.len()).expect("fewer than 2^32 payout scripts"),
                );
                self.slots.push(slot);
                id
            }
        };
        self.ids.insert(script.to_owned(), id);
        id
    }

    /// The script of `id`, which a held entry (or one being built) refers to.
    pub fn get(&self, id: ScriptId) -> &Script {
        &self.slots[id.0 as usize]
            .as_ref()
            .expect("a script in use is interned")
            .0
    }

    /// Counts one more reference to `id`.
    fn retain(&mut self, id: ScriptId) {
        let slot = self.slots[id.0 as usize]
            .as_mut()
            .expect("a script in use is interned");
        slot.1 += 1;
    }

    /// Drops one reference to `id`, freeing the script when it was the last.
    fn release(&mut self, id: ScriptId) {
        let slot = self.slots[id.0 as usize]
            .as_mut()
            .expect("a released script is interned");
        slot.1 -= 1;
        if slot.1 == 0 {
            self.forget_unused(id);
        }
    }

    /// Frees `id` if no entry refers to it (one interned for an entry that was never held).
    pub fn forget_unused(&mut self, id: ScriptId) {
        if let Some((script, 0)) = &self.slots[id.0 as usize] {
            self.ids.remove(script.as_script());
            self.slots[id.0 as usize] = None;
            self.free.push(id);
        }
    }

    /// How many scripts are interned.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.ids.len()
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
    /// The scripts this entry refers to, one reference each: its miner's, then each credited
    /// uncle's miner's (`credits[0]` is its own miner again and is not counted twice).
    pub fn script_refs(&self) -> impl Iterator<Item = ScriptId> + '_ {
        std::iter::once(self.script).chain(self.credits.iter().skip(1).map(|c| c.0))
    }

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
        for script in entry.script_refs() {
            self.scripts.retain(script);
        }
        let id = entry.id;
        if let Some(old) = self.entries.insert(id, entry) {
            for script in old.script_refs() {
                self.scripts.release(script);
            }
        } else {
            self.by_height
                .entry(self.entries[&id].height)
                .or_default()
                .push(id);
        }
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

    /// How many held shares name `parent` (at `height`) as their parent.
    pub fn children(&self, parent: &ShareId, height: u32) -> usize {
        let Some(next) = height.checked_add(1) else {
            return 0;
        };
        self.by_height.get(&next).map_or(0, |ids| {
            ids.iter()
                .filter(|id| self.entries.get(id).and_then(|e| e.parent) == Some(*parent))
                .count()
        })
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
            if let Some(entry) = self.entries.remove(id) {
                for script in entry.script_refs() {
                    self.scripts.release(script);
                }
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(index: &mut Index, n: u8, height: u32, uncle_script: Option<&Script>) -> Entry {
        let own = ScriptBuf::from_bytes(vec![0x51, n]);
        let script = index.scripts.intern(&own);
        let mut credits = vec![(script, U256::ONE)];
        if let Some(uncle) = uncle_script {
            credits.push((index.scripts.intern(uncle), U256::ONE));
        }
        Entry {
            id: ShareId::from_byte_array([n; 32]),
            parent: None,
            height,
            time: 0,
            max_bits: CompactTarget::from_consensus(0x207f_ffff),
            coin_height: 0,
            script,
            work: U256::ONE,
            rule_work: U256::ONE,
            pow_hash: U256::ONE,
            weight: U256::ONE,
            chain_work: U256::ONE,
            uncles: Vec::new(),
            credits,
            root: false,
        }
    }

    /// A share credited as an uncle keeps its miner's script interned after the uncle itself
    /// is pruned, for as long as the share that credits it is held.
    #[test]
    fn a_nephew_keeps_its_uncles_script_until_it_is_pruned() {
        let mut index = Index::default();
        let uncle = entry(&mut index, 1, 0, None);
        let uncle_script = index.scripts.get(uncle.script).to_owned();
        index.insert(uncle);
        let nephew = entry(&mut index, 2, 1, Some(&uncle_script));
        index.insert(nephew);
        assert_eq!(index.scripts.len(), 2);
        index.prune_below(1);
        assert_eq!(
            index.scripts.len(),
            2,
            "the nephew still credits the uncle's miner"
        );
        index.prune_below(2);
        assert_eq!(index.scripts.len(), 0);
        let again = entry(&mut index, 3, 2, None);
        assert_eq!(index.scripts.get(again.script).as_bytes(), &[0x51, 3]);
        index.insert(again);
        assert_eq!(index.scripts.len(), 1);
    }
}
