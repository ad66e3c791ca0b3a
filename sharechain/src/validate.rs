//! Share validation in the order of `docs/consensus.md` §5, cheapest first, each failure with its
//! own [`RejectReason`].
//!
//! `precheck` needs only the share, the parameters and `now` (checks 3–12, the duplicate check
//! is the chain's); `contextual` needs the parent, the uncles and the window (checks 14–18).

use otedama_proto::amount::Amount;
use otedama_proto::hash::{ShareId, Txid};
use otedama_proto::target::{CompactTarget, Target};
use otedama_proto::uint::U256;

use crate::codec::CodecError;
use crate::coinbase;
use crate::index::Index;
use crate::params::{Consensus, ConsensusId};
use crate::payout::Payout;
use crate::retarget::{self, ParentTiming};
use crate::share::Share;

/// Why a share was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RejectReason {
    /// More bytes than `max_share_bytes`.
    #[error("share of {len} bytes is over the {limit}-byte limit")]
    Oversized { len: usize, limit: usize },
    /// The bytes are not a share.
    #[error("share does not decode: {0}")]
    Malformed(CodecError),
    /// A share format version this node does not speak.
    #[error("share version {0} is not supported (this node speaks 1)")]
    UnsupportedVersion(u16),
    /// A share of another sharechain.
    #[error("share is for consensus id {got}, this chain is {want}")]
    WrongConsensusId { got: ConsensusId, want: ConsensusId },
    /// Already held (in the chain or waiting for its parent). Not a fault.
    #[error("share is already held")]
    Duplicate,
    /// More uncles than `max_uncles`.
    #[error("share names {0} uncles, more than allowed")]
    TooManyUncles(usize),
    /// The same uncle named twice.
    #[error("uncle {0} is named twice")]
    DuplicateUncle(ShareId),
    /// Uncles not in strictly ascending order.
    #[error("uncles are not in ascending order")]
    UnclesNotSorted,
    /// A merkle branch longer than `max_merkle_branch`.
    #[error("merkle branch of {0} hashes is too long")]
    MerkleBranchTooLong(usize),
    /// The coinbase input script is not 2..=100 bytes starting with a BIP34 height.
    #[error("coinbase input script must be 2..=100 bytes starting with a minimal height push")]
    BadScriptSig,
    /// The payout script is not a standard form.
    #[error("payout script is not P2PKH, P2SH, P2WPKH, P2WSH or P2TR")]
    NonStandardPayoutScript,
    /// The coinbase value is above the coin's supply.
    #[error("coinbase value {0} is above the coin's supply")]
    ValueTooLarge(Amount),
    /// The coinbase value is below the block subsidy at the share's coin height: the share
    /// could not be a block.
    #[error("coinbase value {value} is below the subsidy {subsidy} at its coin height")]
    ValueBelowSubsidy { value: Amount, subsidy: Amount },
    /// A zero parent without height 0, height 0 with a parent, or a genesis share with uncles.
    #[error("genesis shape is wrong: a zero parent goes with height 0 and no uncles")]
    BadGenesis,
    /// A genesis share offered to a chain at least one window high (node policy).
    #[error("a genesis share is accepted only while the chain is younger than one window")]
    GenesisNotAllowed,
    /// A share target that is not canonical or does not decode.
    #[error("share target {0} is not a canonical compact target")]
    BadCompactTarget(CompactTarget),
    /// The header's block target does not decode.
    #[error("header bits {0} do not decode to a block target")]
    BadBlockBits(CompactTarget),
    /// A share target below 2^min_target_log2 or a rule target above the share pow limit.
    #[error("share target is outside the allowed range")]
    TargetOutOfRange,
    /// The share's own target is easier than the `max_bits` it carries.
    #[error("share target {bits} is easier than its max_bits {max_bits}")]
    TargetAboveMax {
        bits: CompactTarget,
        max_bits: CompactTarget,
    },
    /// The time is too far ahead of the validator's clock. Not a fault: retry later.
    #[error("share time {time} is more than the allowed margin ahead of now ({now})")]
    TimestampTooFarInFuture { time: u32, now: u64 },
    /// The proof-of-work hash does not meet the share's target.
    #[error("proof of work does not meet the share target")]
    InsufficientWork,
    /// The carried commitment is not that of the share data.
    #[error("share-data commitment does not match the share data")]
    WrongCommitment,
    /// The merkle branch does not link the coinbase txid to the header.
    #[error("merkle branch does not link the coinbase to the header's merkle root")]
    BadMerkleBranch,
    /// The height is not the parent's plus one.
    #[error("share height {got}, expected {want}")]
    BadHeight { got: u32, want: u32 },
    /// The parent is at the greatest height (2^32 − 1): no share can follow it.
    #[error("the parent is at the greatest height, a child's height would overflow")]
    HeightOverflow,
    /// The share's target is easier than the difficulty rule allows.
    #[error("share target {bits} is easier than the rule's {rule}")]
    TargetEasierThanRule {
        bits: CompactTarget,
        rule: CompactTarget,
    },
    /// `max_bits` is not the rule's target.
    #[error("max_bits {got} is not the rule's {want}")]
    MaxTargetMismatch {
        got: CompactTarget,
        want: CompactTarget,
    },
    /// The coin height is further above the ancestors' than blocks could have come since.
    #[error("coin height {got} is above the bound {max} set by the ancestors")]
    CoinHeightTooFarAhead { got: u32, max: u32 },
    /// The time is below the median of the ancestors' times.
    #[error("share time {time} is below the median {median} of its ancestors")]
    TimestampBelowMedian { time: u32, median: u32 },
    /// An uncle more than `max_uncle_depth` below the share.
    #[error("uncle {0} is too deep")]
    UncleTooDeep(ShareId),
    /// An uncle at or above the share's height.
    #[error("uncle {0} is not below the share")]
    UncleTooRecent(ShareId),
    /// An uncle that is an ancestor.
    #[error("uncle {0} is an ancestor of the share")]
    UncleIsAncestor(ShareId),
    /// An uncle whose parent is not an ancestor.
    #[error("uncle {0} does not branch off the share's chain")]
    UncleNotSibling(ShareId),
    /// An uncle already named by an ancestor.
    #[error("uncle {0} was already included by an ancestor")]
    UncleAlreadyIncluded(ShareId),
    /// The coinbase rebuilt with the window's payouts is not the one the header commits to.
    #[error("coinbase does not pay the window's payouts (rebuilt txid differs)")]
    PayoutsMismatch,
    /// Not stored (node policy, §11.6): its branch, with every share waiting for it, is far
    /// below the best chain's work, or the rule asked it for far less work than the tip's.
    /// Held in memory, and checked in full (checks 14–18) and taken once a heavier descendant
    /// arrives. Not a fault: a correct peer relays such a share during a race or a partition.
    #[error("share's branch is far below the best chain's work (held back, not stored)")]
    BranchTooLight,
    /// Not stored (node policy, §11.6): its parent already has the most children a node
    /// stores, and it would not become the tip. Held in memory like
    /// [`RejectReason::BranchTooLight`]. Not a fault.
    #[error("the share's parent already has the most children stored (held back, not stored)")]
    TooManyChildren,
}

impl RejectReason {
    /// Whether the share proves its sender wrong (every node rejects it forever). `Duplicate`,
    /// `TimestampTooFarInFuture` and the node policies (`GenesisNotAllowed`, `BranchTooLight`,
    /// `TooManyChildren`) do not.
    pub fn is_fault(&self) -> bool {
        !matches!(
            self,
            RejectReason::Duplicate
                | RejectReason::TimestampTooFarInFuture { .. }
                | RejectReason::GenesisNotAllowed
                | RejectReason::BranchTooLight
                | RejectReason::TooManyChildren
        )
    }
}

/// What the context-free checks computed.
#[derive(Debug, Clone)]
pub(crate) struct Prechecked {
    pub id: ShareId,
    pub coin_height: u32,
    pub work: U256,
    /// The proof-of-work hash as a number (the fork-choice tie-break, §9).
    pub pow_hash: U256,
}

/// Checks 3–4 (version, consensus id).
pub(crate) fn check_identity(consensus: &Consensus, share: &Share) -> Result<(), RejectReason> {
    if share.data.version != consensus.params().share_version {
        return Err(RejectReason::UnsupportedVersion(share.data.version));
    }
    if share.data.consensus_id != consensus.id() {
        return Err(RejectReason::WrongConsensusId {
            got: share.data.consensus_id,
            want: consensus.id(),
        });
    }
    Ok(())
}

/// Checks 6–12: field limits, genesis shape, targets, time against `now`, proof of work,
/// commitment, merkle link.
pub(crate) fn precheck(
    consensus: &Consensus,
    share: &Share,
    id: ShareId,
    now: u64,
) -> Result<Prechecked, RejectReason> {
    let p = consensus.params();
    let d = &share.data;
    if d.uncles.len() > p.max_uncles as usize {
        return Err(RejectReason::TooManyUncles(d.uncles.len()));
    }
    for (i, u) in d.uncles.iter().enumerate() {
        if d.uncles[..i].contains(u) {
            return Err(RejectReason::DuplicateUncle(*u));
        }
    }
    if d.uncles
        .windows(2)
        .any(|w| crate::index::id_number(&w[0]) >= crate::index::id_number(&w[1]))
    {
        return Err(RejectReason::UnclesNotSorted);
    }
    if share.merkle_branch.len() > p.max_merkle_branch as usize {
        return Err(RejectReason::MerkleBranchTooLong(share.merkle_branch.len()));
    }
    let script_sig = &share.coinbase.script_sig;
    let coin_height = coinbase::parse_coin_height(script_sig)
        .filter(|_| coinbase::SCRIPT_SIG_LEN.contains(&script_sig.len()))
        .ok_or(RejectReason::BadScriptSig)?;
    if !coinbase::is_standard_payout_script(&d.payout_script) {
        return Err(RejectReason::NonStandardPayoutScript);
    }
    if share.coinbase.value > p.max_money {
        return Err(RejectReason::ValueTooLarge(share.coinbase.value));
    }
    // A block's coinbase may claim up to subsidy + fees; a share claiming less than the subsidy
    // is a block its miner means to burn (§5 check 6).
    let subsidy = p
        .coin
        .params(p.network)
        .map_or(0, |chain| chain.subsidy(coin_height));
    if share.coinbase.value.to_sat() < subsidy {
        return Err(RejectReason::ValueBelowSubsidy {
            value: share.coinbase.value,
            subsidy: Amount::from_sat(subsidy),
        });
    }
    if share.is_genesis() != (d.height == 0) || (share.is_genesis() && !d.uncles.is_empty()) {
        return Err(RejectReason::BadGenesis);
    }
    let target = canonical(d.bits)?;
    let max_target = canonical(d.max_bits)?;
    match share.header.target() {
        Ok(t) if t != Target::ZERO => {}
        _ => return Err(RejectReason::BadBlockBits(share.header.bits())),
    }
    if target < consensus.min_target() || max_target > consensus.pow_limit() {
        return Err(RejectReason::TargetOutOfRange);
    }
    if target > max_target {
        return Err(RejectReason::TargetAboveMax {
            bits: d.bits,
            max_bits: d.max_bits,
        });
    }
    if u64::from(share.time()) > now.saturating_add(u64::from(p.max_future)) {
        return Err(RejectReason::TimestampTooFarInFuture {
            time: share.time(),
            now,
        });
    }
    let pow_hash = share.header.pow_hash(consensus.pow_algo());
    if !target.meets(&pow_hash) {
        return Err(RejectReason::InsufficientWork);
    }
    if coinbase::share_commitment(d) != share.commitment {
        return Err(RejectReason::WrongCommitment);
    }
    if coinbase::merkle_root(&share.coinbase_txid, &share.merkle_branch)
        != share.header.merkle_root()
    {
        return Err(RejectReason::BadMerkleBranch);
    }
    Ok(Prechecked {
        id,
        coin_height,
        work: target.to_work().to_u256(),
        pow_hash: U256::from_le_bytes(pow_hash.to_byte_array()),
    })
}

fn canonical(bits: CompactTarget) -> Result<Target, RejectReason> {
    match Target::from_compact(bits) {
        Ok(t) if t != Target::ZERO && t.to_compact() == bits => Ok(t),
        _ => Err(RejectReason::BadCompactTarget(bits)),
    }
}

/// Checks 14–18 for a share whose parent (unless genesis) and uncles are held. `payouts_at`
/// returns the payouts of §10 for this share at a parent (`None`: genesis) under a work cap, and
/// whether the window was known in full.
pub(crate) fn contextual(
    consensus: &Consensus,
    index: &Index,
    share: &Share,
    payouts_at: impl FnOnce(Option<&ShareId>, Option<U256>) -> (Vec<Payout>, bool),
) -> Result<(), RejectReason> {
    let d = &share.data;
    let parent = if share.is_genesis() {
        None
    } else {
        Some(index.get(&d.prev_share).expect("parent is held"))
    };
    // 14: height.
    if let Some(parent) = parent {
        // A root may claim any height, even the greatest: then no child can follow it.
        let want = parent
            .height
            .checked_add(1)
            .ok_or(RejectReason::HeightOverflow)?;
        if d.height != want {
            return Err(RejectReason::BadHeight {
                got: d.height,
                want,
            });
        }
    }
    // 15: the difficulty rule. A root's child cannot know the grandparent's time: skipped (§11.4).
    let timing = parent.map(|p| {
        let gp_time = match p.parent {
            None => Some(None),
            Some(gp) => index.get(&gp).map(|g| Some(g.time)),
        };
        gp_time.map(|grandparent_time| ParentTiming {
            max_bits: p.max_bits,
            time: p.time,
            grandparent_time,
        })
    });
    let rule = match timing {
        None => Some(retarget::next_max_target(consensus, None)),
        Some(Some(t)) => Some(retarget::next_max_target(consensus, Some(&t))),
        Some(None) => None,
    };
    if let Some(rule) = rule {
        let rule_bits = rule.to_compact();
        let rule = Target::from_compact(rule_bits).expect("a compact of a target decodes");
        if Target::from_compact(d.bits).expect("prechecked") > rule {
            return Err(RejectReason::TargetEasierThanRule {
                bits: d.bits,
                rule: rule_bits,
            });
        }
        if d.max_bits != rule_bits {
            return Err(RejectReason::MaxTargetMismatch {
                got: d.max_bits,
                want: rule_bits,
            });
        }
    }
    // 16: median time of the ancestors; 16b: the coin height against theirs.
    if let Some(parent) = parent {
        let span = consensus.params().median_span as usize;
        let (mut times, mut heights): (Vec<u32>, Vec<u32>) = index
            .ancestry(&parent.id)
            .take(span)
            .map(|e| (e.time, e.coin_height))
            .unzip();
        times.sort_unstable();
        heights.sort_unstable();
        let median = times[times.len() / 2];
        if share.time() < median {
            return Err(RejectReason::TimestampBelowMedian {
                time: share.time(),
                median,
            });
        }
        check_coin_height(consensus, share, median, heights[heights.len() / 2])?;
    }
    // 17: uncles, except those this node cannot verify (§11.4): they are not credited.
    for uncle_id in &d.uncles {
        if !uncle_unverifiable(consensus, index, d.height, &d.prev_share, uncle_id) {
            check_uncle(consensus, index, d.height, &d.prev_share, uncle_id)?;
        }
    }
    // 18: the coinbase pays exactly the window's payouts.
    let cap = crate::window::work_cap(consensus, share.header.bits());
    let (payouts, complete) = payouts_at(parent.map(|p| &p.id), cap);
    if complete {
        let coinbase = coinbase::build_coinbase_from(&share.coinbase, payouts, &share.commitment);
        if Txid::of(&coinbase) != share.coinbase_txid {
            return Err(RejectReason::PayoutsMismatch);
        }
    }
    Ok(())
}

/// Check 16b: `coin_height <= M + lead + (time - median_time) / (block_time / 4)`, `M` the
/// median coin height of the same ancestors as the median time. The median, not the parent:
/// a minority cannot move it, so a share claiming a false coin height (higher or lower) can
/// neither raise the bound nor make its honest children break it. The time term keeps the
/// chain alive after a stall of any length (a quarter of the block time: blocks would have to
/// come four times faster than the coin's target for an honest share to fail).
fn check_coin_height(
    consensus: &Consensus,
    share: &Share,
    median_time: u32,
    median_height: u32,
) -> Result<(), RejectReason> {
    let p = consensus.params();
    if p.max_coin_height_lead == 0 {
        return Ok(());
    }
    let got = coinbase::parse_coin_height(&share.coinbase.script_sig).unwrap_or(u32::MAX);
    let quarter = p
        .coin
        .params(p.network)
        .map_or(0, |c| u64::from(c.block_time_secs / 4));
    let elapsed = u64::from(share.time().saturating_sub(median_time));
    let lag = elapsed.checked_div(quarter).unwrap_or(0);
    let max = u64::from(median_height) + u64::from(p.max_coin_height_lead) + lag;
    if u64::from(got) > max {
        return Err(RejectReason::CoinHeightTooFarAhead {
            got,
            max: u32::try_from(max).unwrap_or(u32::MAX),
        });
    }
    Ok(())
}

/// Whether uncle `uncle_id` of a share at `height` on `prev_share` (a held parent) can never be
/// verified on this node (§11.4): the share's ancestry is cut short (a sync root, or a share
/// whose parent was pruned) at a height `c` an uncle may reach down to, and the uncle is not
/// held or is at or below `c`. Its parent would be below the cut, where walks never go, so the
/// sibling check could not pass even though a node holding the whole chain accepts it.
pub(crate) fn uncle_unverifiable(
    consensus: &Consensus,
    index: &Index,
    height: u32,
    prev_share: &ShareId,
    uncle_id: &ShareId,
) -> bool {
    let low = height.saturating_sub(consensus.params().max_uncle_depth);
    let cut = index
        .ancestry(prev_share)
        .take_while(|e| e.height >= low)
        .find(|e| e.parent.is_some() && index.parent(e).is_none())
        .map(|e| e.height);
    match (cut, index.get(uncle_id)) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(c), Some(uncle)) => uncle.height <= c,
    }
}

/// Check 17 for one held uncle of a share at `height` on `prev_share` (§8).
pub(crate) fn check_uncle(
    consensus: &Consensus,
    index: &Index,
    height: u32,
    prev_share: &ShareId,
    uncle_id: &ShareId,
) -> Result<(), RejectReason> {
    let uncle = index.get(uncle_id).expect("uncles are held");
    let depth = i64::from(height) - i64::from(uncle.height);
    if depth < 1 {
        return Err(RejectReason::UncleTooRecent(*uncle_id));
    }
    if depth > i64::from(consensus.params().max_uncle_depth) {
        return Err(RejectReason::UncleTooDeep(*uncle_id));
    }
    if index
        .at_height(prev_share, uncle.height)
        .is_some_and(|a| a.id == *uncle_id)
    {
        return Err(RejectReason::UncleIsAncestor(*uncle_id));
    }
    let forks_off_chain = match (uncle.parent, uncle.height.checked_sub(1)) {
        (Some(up), Some(h)) => index.at_height(prev_share, h).is_some_and(|a| a.id == up),
        _ => false,
    };
    if !forks_off_chain {
        return Err(RejectReason::UncleNotSibling(*uncle_id));
    }
    let included = index
        .ancestry(prev_share)
        .take_while(|a| a.height > uncle.height)
        .any(|a| a.uncles.contains(uncle_id));
    if included {
        return Err(RejectReason::UncleAlreadyIncluded(*uncle_id));
    }
    Ok(())
}
