//! What the fate of a share from the network means for relaying it and for the peer that sent
//! it (`docs/protocol.md` §3.3, §6). Pure functions: the rules that decide bans are tested
//! without sockets.
//!
//! The principle: a peer is banned only for what proves it wrong. A share invalid whatever the
//! receiver holds (encoding, proof of work, commitment, consensus id, …) proves it; a share
//! rejected against context this node lacks (history cut off by a sync from a root), against
//! this node's clock or against its local policy does not, because a correct node could have
//! accepted it. Likewise a node forwards only shares every check ran on, so that it never
//! relays what a node with the whole history rejects.

use libp2p::gossipsub::MessageAcceptance;
use otedama_sharechain::RejectReason;

use super::peers::Fault;

/// How a rejected share reflects on the peer that sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blame {
    /// Invalid for every node, or invalid against the share's whole history held here: the
    /// sender lied or relayed without checking. Costs [`Fault::Invalid`] (a ban).
    Proof,
    /// A correct node could have accepted it (our clock, our policy, our missing history): no
    /// penalty, and not forwarded.
    None,
}

/// Whether a share that fails with `reason` proves its sender wrong. `context_complete`: whether
/// this node holds the share's history deep enough for every contextual check
/// (`ShareChain::has_context` of its parent).
pub fn blame(reason: &RejectReason, context_complete: bool) -> Blame {
    if !reason.is_fault() {
        return Blame::None;
    }
    match reason {
        // Checks 1–12: the share alone decides them.
        RejectReason::Oversized { .. }
        | RejectReason::Malformed(_)
        | RejectReason::UnsupportedVersion(_)
        | RejectReason::WrongConsensusId { .. }
        | RejectReason::TooManyUncles(_)
        | RejectReason::DuplicateUncle(_)
        | RejectReason::UnclesNotSorted
        | RejectReason::MerkleBranchTooLong(_)
        | RejectReason::BadScriptSig
        | RejectReason::NonStandardPayoutScript
        | RejectReason::ValueTooLarge(_)
        | RejectReason::BadGenesis
        | RejectReason::BadCompactTarget(_)
        | RejectReason::BadBlockBits(_)
        | RejectReason::TargetOutOfRange
        | RejectReason::TargetAboveMax { .. }
        | RejectReason::InsufficientWork
        | RejectReason::WrongCommitment
        | RejectReason::BadMerkleBranch => Blame::Proof,
        // Checks 14–18: decided by the share's ancestors, which its parent id commits to; they
        // prove a lie only when this node holds enough of them.
        RejectReason::BadHeight { .. }
        | RejectReason::TargetEasierThanRule { .. }
        | RejectReason::MaxTargetMismatch { .. }
        | RejectReason::TimestampBelowMedian { .. }
        | RejectReason::UncleTooDeep(_)
        | RejectReason::UncleTooRecent(_)
        | RejectReason::UncleIsAncestor(_)
        | RejectReason::UncleNotSibling(_)
        | RejectReason::UncleAlreadyIncluded(_)
        | RejectReason::PayoutsMismatch
            if context_complete =>
        {
            Blame::Proof
        }
        // Anything else (a rule that reads local state, a reason added later) bans no one.
        _ => Blame::None,
    }
}

/// What gossipsub is told of an accepted share: forwarded only when every check ran on it.
pub fn accepted(fully_checked: bool) -> MessageAcceptance {
    if fully_checked {
        MessageAcceptance::Accept
    } else {
        MessageAcceptance::Ignore
    }
}

/// What gossipsub is told of a rejected share, and what its sender's score pays.
/// `Reject` costs the sender gossipsub score as well, so it goes only with proof.
pub fn rejected(blame: Blame) -> (MessageAcceptance, Option<Fault>) {
    match blame {
        Blame::Proof => (MessageAcceptance::Reject, Some(Fault::Invalid)),
        Blame::None => (MessageAcceptance::Ignore, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otedama_proto::hash::ShareId;

    #[test]
    fn a_share_some_check_was_skipped_for_is_stored_but_never_forwarded() {
        // `MessageAcceptance` has no `PartialEq`.
        assert!(matches!(accepted(true), MessageAcceptance::Accept));
        assert!(matches!(accepted(false), MessageAcceptance::Ignore));
    }

    #[test]
    fn a_share_held_back_by_the_storage_policy_costs_no_ban() {
        // A correct peer relays a share of a light branch or a crowded parent during a race
        // or a partition (`docs/consensus.md` §11.6): neither is proof of anything.
        for reason in [RejectReason::BranchTooLight, RejectReason::TooManyChildren] {
            assert!(!reason.is_fault(), "{reason:?}");
            for context in [true, false] {
                assert_eq!(blame(&reason, context), Blame::None, "{reason:?}");
            }
        }
    }

    #[test]
    fn only_proof_of_a_lie_costs_a_ban() {
        // Invalid whatever the receiver holds: banned, with or without history.
        for reason in [
            RejectReason::InsufficientWork,
            RejectReason::WrongCommitment,
            RejectReason::BadMerkleBranch,
            RejectReason::BadScriptSig,
        ] {
            for context in [true, false] {
                assert_eq!(blame(&reason, context), Blame::Proof, "{reason:?}");
            }
        }
        // Decided by history: proof only when this node holds it.
        let contextual = [
            RejectReason::PayoutsMismatch,
            RejectReason::TimestampBelowMedian { time: 1, median: 2 },
            RejectReason::UncleNotSibling(ShareId::from_byte_array([7; 32])),
            RejectReason::BadHeight { got: 5, want: 4 },
        ];
        for reason in contextual {
            assert_eq!(blame(&reason, true), Blame::Proof, "{reason:?}");
            assert_eq!(blame(&reason, false), Blame::None, "{reason:?}");
        }
        // Our clock and our policy prove nothing about the sender.
        for reason in [
            RejectReason::TimestampTooFarInFuture { time: 10, now: 5 },
            RejectReason::Duplicate,
            RejectReason::GenesisNotAllowed,
        ] {
            assert_eq!(blame(&reason, true), Blame::None, "{reason:?}");
        }
        assert!(matches!(
            rejected(Blame::Proof),
            (MessageAcceptance::Reject, Some(Fault::Invalid))
        ));
        assert!(matches!(
            rejected(Blame::None),
            (MessageAcceptance::Ignore, None)
        ));
    }
}
