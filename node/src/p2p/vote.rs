//! Where a sync starts (`docs/protocol.md` §5.4): the first `Ids` answers of a sync are held
//! until two peers agree on a start, so that one peer's answer alone does not choose the root
//! (a share added with only its context-free checks) while other peers can be asked.

use libp2p::PeerId;
use otedama_proto::hash::ShareId;
use std::time::{Duration, Instant};

/// How long the first answers of a sync wait for the other peers asked.
pub const ROOT_WAIT: Duration = Duration::from_secs(10);

/// One peer's first `Ids` answer of a sync (never empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Who answered.
    pub peer: PeerId,
    /// The ids, oldest first.
    pub ids: Vec<ShareId>,
    /// Whether it has more after them.
    pub more: bool,
}

/// The first answers of a sync, until the start is decided.
#[derive(Debug, Default)]
pub struct RootVote {
    answers: Vec<Answer>,
    since: Option<Instant>,
}

impl RootVote {
    /// Whether no answer is held.
    pub fn is_empty(&self) -> bool {
        self.answers.is_empty()
    }

    /// Holds `answer` (in place of an earlier one of the same peer); an empty one is ignored.
    pub fn add(&mut self, answer: Answer, now: Instant) {
        if answer.ids.is_empty() {
            return;
        }
        self.answers.retain(|a| a.peer != answer.peer);
        self.answers.push(answer);
        self.since.get_or_insert(now);
    }

    /// The answers to start the sync from, once decided; `waiting` counts the other peers whose
    /// first answer may still come. Each answer taken starts with a root, the first one is the
    /// exchange that continues.
    ///
    /// - An answer whose first id another answer also lists is taken alone (the one listed by
    ///   most; the first received among equals): two peers agree that the chain passes there,
    ///   and its ids from there on are all the sync needs.
    /// - Otherwise the vote waits while other answers may come, for at most [`ROOT_WAIT`].
    /// - Then, without agreement, every answer is taken, each from its own root: fork choice,
    ///   not the first answer, decides between the branches once their shares are fetched.
    pub fn decide(&mut self, waiting: usize, now: Instant) -> Option<Vec<Answer>> {
        let since = self.since?;
        let support = |a: &Answer| {
            self.answers
                .iter()
                .filter(|b| b.peer != a.peer && b.ids.contains(&a.ids[0]))
                .count()
        };
        let mut best: Option<(usize, usize)> = None;
        for (i, a) in self.answers.iter().enumerate() {
            let n = support(a);
            if n > 0 && best.is_none_or(|(_, m)| n > m) {
                best = Some((i, n));
            }
        }
        let taken = match best {
            Some((i, _)) => vec![self.answers.swap_remove(i)],
            None if waiting > 0 && now.saturating_duration_since(since) < ROOT_WAIT => {
                return None;
            }
            None => std::mem::take(&mut self.answers),
        };
        self.answers.clear();
        self.since = None;
        Some(taken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(range: std::ops::Range<u8>) -> Vec<ShareId> {
        range.map(|n| ShareId::from_byte_array([n; 32])).collect()
    }

    fn answer(peer: PeerId, ids: Vec<ShareId>) -> Answer {
        Answer {
            peer,
            ids,
            more: false,
        }
    }

    #[test]
    fn a_lying_first_answer_does_not_choose_the_root_while_others_are_asked() {
        let (liar, honest, other) = (PeerId::random(), PeerId::random(), PeerId::random());
        let t0 = Instant::now();
        let mut vote = RootVote::default();
        // The liar answers first, with a chain of its own.
        vote.add(answer(liar, ids(200..230)), t0);
        assert_eq!(vote.decide(2, t0), None, "two more peers were asked");
        // An honest peer at a slightly higher tip: its start is inside nothing held yet.
        vote.add(answer(honest, ids(12..40)), t0);
        assert_eq!(vote.decide(1, t0), None, "no two answers agree yet");
        // A second honest peer agrees with it: the later start, which both list, wins.
        vote.add(answer(other, ids(10..38)), t0);
        let taken = vote.decide(0, t0).expect("decided");
        assert_eq!(taken, [answer(honest, ids(12..40))]);
        assert!(vote.is_empty());
    }

    #[test]
    fn without_agreement_every_answer_starts_a_branch_once_the_wait_is_over() {
        let (liar, honest) = (PeerId::random(), PeerId::random());
        let t0 = Instant::now();
        let mut vote = RootVote::default();
        vote.add(answer(liar, ids(200..230)), t0);
        vote.add(answer(honest, ids(10..38)), t0);
        assert_eq!(vote.decide(1, t0 + ROOT_WAIT / 2), None);
        let taken = vote.decide(1, t0 + ROOT_WAIT).expect("the wait is over");
        assert_eq!(
            taken,
            [answer(liar, ids(200..230)), answer(honest, ids(10..38))]
        );
        // With nobody else asked, one answer is taken at once.
        vote.add(answer(honest, ids(10..38)), t0);
        assert_eq!(vote.decide(0, t0), Some(vec![answer(honest, ids(10..38))]));
        assert_eq!(vote.decide(0, t0), None, "nothing held");
    }
}
