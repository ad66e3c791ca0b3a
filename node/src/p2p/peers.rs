//! The actor's table of peers: connections, what identify and ping told, scores and bans
//! (`docs/protocol.md` §6).

use super::wire::ChainStatus;
use super::{BanView, PeerView};
use libp2p::{Multiaddr, PeerId};
use otedama_proto::target::Work;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The score at or below which a peer is banned.
pub const BAN_SCORE: i32 = -100;
/// How long a ban lasts.
pub const BAN_DURATION: Duration = Duration::from_secs(3600);
/// The gossipsub score below which a peer is banned (one invalid message costs 100).
pub const BAN_GOSSIP_SCORE: f64 = -50.0;
/// The most scores remembered for peers no longer connected.
const MAX_SCORES: usize = 4096;
/// Sync request budget a peer earns per second (a `Shares` or `Status` request costs 1, an
/// `Ids` request [`IDS_COST`]): far above what a syncing node asks (a few batches in flight),
/// far below what keeps our chain lock busy.
pub const REQUEST_RATE: f64 = 100.0;
/// The budget a peer may spend at once.
pub const REQUEST_BURST: f64 = 200.0;
/// What an `Ids` request costs (it walks the chain from the locator to the tip).
pub const IDS_COST: f64 = 5.0;
/// How long the chain work a peer claims is ignored after its sync fell far short of it.
pub const DOUBT_DURATION: Duration = Duration::from_secs(1800);

/// Whether a sync that brought our chain to `ours` kept a claim of `claimed` work: a peer may
/// have grown or lost a little since it answered, but not delivered less than half its claim.
pub fn claim_kept(claimed: Work, ours: Work) -> bool {
    ours.checked_mul_u64(2).is_none_or(|twice| twice >= claimed)
}

/// What a fault costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// An invalid share, an undecodable message, an unsolicited answer: proof of a lie.
    Invalid,
    /// A failed or timed-out request, a refusal: could be bad luck.
    Unhelpful,
}

impl Fault {
    fn cost(self) -> i32 {
        match self {
            Fault::Invalid => 100,
            Fault::Unhelpful => 5,
        }
    }
}

/// A connected peer.
#[derive(Debug)]
pub struct Peer {
    /// The address of its first connection.
    pub address: Multiaddr,
    /// Whether we dialled it.
    pub outbound: bool,
    /// Open connections.
    pub connections: u32,
    /// Its agent string.
    pub agent: Option<String>,
    /// The addresses it listens on (from identify).
    pub listen_addrs: Vec<Multiaddr>,
    /// The last ping.
    pub latency: Option<Duration>,
    /// Its best chain, as it last told us.
    pub status: Option<ChainStatus>,
    /// Whether it serves our sharechain's sync protocol (from identify; `None` before): peers
    /// of other chains share the DHT but are never used for sync.
    pub member: Option<bool>,
    /// Its sync request budget: tokens left, and when they were last counted.
    budget: (f64, Instant),
}

#[derive(Debug)]
struct Ban {
    reason: String,
    until: Instant,
}

/// Peers, scores and bans.
#[derive(Debug, Default)]
pub struct PeerTable {
    /// Connected peers.
    pub connected: HashMap<PeerId, Peer>,
    scores: HashMap<PeerId, i32>,
    bans: HashMap<PeerId, Ban>,
    /// Peers whose claimed work is ignored, until when.
    doubted: HashMap<PeerId, Instant>,
}

impl PeerTable {
    /// Records a new connection.
    pub fn connected(&mut self, peer: PeerId, address: Multiaddr, outbound: bool) {
        self.connected
            .entry(peer)
            .or_insert_with(|| Peer {
                address,
                outbound,
                connections: 0,
                agent: None,
                listen_addrs: Vec::new(),
                latency: None,
                status: None,
                member: None,
                budget: (REQUEST_BURST, Instant::now()),
            })
            .connections += 1;
    }

    /// Ignores `peer`'s claimed work until [`DOUBT_DURATION`] from `now`.
    pub fn doubt(&mut self, peer: PeerId, now: Instant) {
        self.doubted.retain(|_, until| *until > now);
        if self.doubted.len() < MAX_SCORES {
            self.doubted.insert(peer, now + DOUBT_DURATION);
        }
    }

    /// Whether the chain work `peer` claims counts (it is not doubted at `now`).
    pub fn believed(&self, peer: &PeerId, now: Instant) -> bool {
        self.doubted.get(peer).is_none_or(|until| *until <= now)
    }

    /// Records a closed connection; `true` when it was the peer's last.
    pub fn disconnected(&mut self, peer: &PeerId, remaining: u32) -> bool {
        if remaining == 0 {
            self.connected.remove(peer);
            true
        } else {
            if let Some(p) = self.connected.get_mut(peer) {
                p.connections = remaining;
            }
            false
        }
    }

    /// Spends `cost` of `peer`'s sync request budget; `false` when the peer is over its rate
    /// and the request should be refused. A peer not in the table is not limited here.
    pub fn spend(&mut self, peer: &PeerId, cost: f64, now: Instant) -> bool {
        let Some(p) = self.connected.get_mut(peer) else {
            return true;
        };
        let (tokens, last) = &mut p.budget;
        let earned = now.saturating_duration_since(*last).as_secs_f64() * REQUEST_RATE;
        *tokens = (*tokens + earned).min(REQUEST_BURST);
        *last = now;
        if *tokens < cost {
            return false;
        }
        *tokens -= cost;
        true
    }

    /// Connected peers that are, or may yet turn out to be, of our sharechain.
    pub fn members(&self) -> usize {
        self.connected
            .values()
            .filter(|p| p.member != Some(false))
            .count()
    }

    /// Whether `peer` is banned now.
    pub fn is_banned(&self, peer: &PeerId) -> bool {
        self.bans.contains_key(peer)
    }

    /// Lowers `peer`'s score; returns the ban reason when this fault bans it.
    pub fn fault(&mut self, peer: PeerId, fault: Fault, reason: &str) -> Option<String> {
        if self.is_banned(&peer) {
            return None;
        }
        let score = self.scores.entry(peer).or_insert(0);
        *score = score.saturating_sub(fault.cost());
        let banned = *score <= BAN_SCORE;
        if self.scores.len() > MAX_SCORES {
            let keep: Vec<PeerId> = self.connected.keys().copied().collect();
            self.scores
                .retain(|p, s| *s < 0 && (keep.contains(p) || *p == peer));
        }
        banned.then(|| self.ban(peer, reason))
    }

    /// Bans `peer` for [`BAN_DURATION`].
    pub fn ban(&mut self, peer: PeerId, reason: &str) -> String {
        self.bans.insert(
            peer,
            Ban {
                reason: reason.to_owned(),
                until: Instant::now() + BAN_DURATION,
            },
        );
        reason.to_owned()
    }

    /// Ends the bans that are over and lets scores recover by one point; returns the peers
    /// whose bans ended.
    pub fn tick(&mut self, now: Instant) -> Vec<PeerId> {
        for score in self.scores.values_mut() {
            *score = (*score + 1).min(0);
        }
        self.scores.retain(|_, s| *s < 0);
        let over: Vec<PeerId> = self
            .bans
            .iter()
            .filter(|(_, b)| b.until <= now)
            .map(|(p, _)| *p)
            .collect();
        for peer in &over {
            self.bans.remove(peer);
            self.scores.remove(peer);
        }
        over
    }

    /// A peer's score.
    pub fn score(&self, peer: &PeerId) -> i32 {
        self.scores.get(peer).copied().unwrap_or(0)
    }

    /// The API's list of connected peers.
    pub fn views(&self, gossip_score: impl Fn(&PeerId) -> f64) -> Vec<PeerView> {
        let mut out: Vec<PeerView> = self
            .connected
            .iter()
            .map(|(id, p)| PeerView {
                peer_id: id.to_string(),
                address: p.address.to_string(),
                outbound: p.outbound,
                agent: p.agent.clone(),
                latency_ms: p.latency.map(|l| l.as_secs_f64() * 1000.0),
                score: self.score(id),
                gossip_score: gossip_score(id),
                height: p.status.as_ref().and_then(|s| s.tip.map(|_| s.height)),
                same_chain: p.member,
            })
            .collect();
        out.sort_by(|a, b| a.peer_id.cmp(&b.peer_id));
        out
    }

    /// The API's list of bans.
    pub fn ban_views(&self, now: Instant) -> Vec<BanView> {
        let mut out: Vec<BanView> = self
            .bans
            .iter()
            .map(|(id, b)| BanView {
                peer_id: id.to_string(),
                reason: b.reason.clone(),
                remaining_secs: b.until.saturating_duration_since(now).as_secs(),
            })
            .collect();
        out.sort_by(|a, b| a.peer_id.cmp(&b.peer_id));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otedama_proto::uint::U256;

    #[test]
    fn one_invalid_share_bans_and_small_faults_add_up() {
        let mut table = PeerTable::default();
        let liar = PeerId::random();
        assert!(table.fault(liar, Fault::Invalid, "bad pow").is_some());
        assert!(table.is_banned(&liar));
        let slow = PeerId::random();
        for _ in 0..19 {
            assert!(table.fault(slow, Fault::Unhelpful, "timeout").is_none());
        }
        assert_eq!(table.score(&slow), -95);
        table.tick(Instant::now());
        assert_eq!(table.score(&slow), -94);
        assert!(table.fault(slow, Fault::Unhelpful, "timeout").is_none());
        assert!(table.fault(slow, Fault::Unhelpful, "timeout").is_some());
        let ended = table.tick(Instant::now() + BAN_DURATION + Duration::from_secs(1));
        assert_eq!(ended.len(), 2);
        assert!(!table.is_banned(&liar));
        assert_eq!(table.score(&liar), 0);
    }

    #[test]
    fn sync_requests_are_rate_limited_per_peer() {
        let mut table = PeerTable::default();
        let (greedy, other) = (PeerId::random(), PeerId::random());
        table.connected(greedy, "/ip4/127.0.0.1/tcp/1".parse().unwrap(), false);
        table.connected(other, "/ip4/127.0.0.1/tcp/2".parse().unwrap(), false);
        let t0 = Instant::now();
        let burst = (0..1000)
            .take_while(|_| table.spend(&greedy, 1.0, t0))
            .count();
        assert_eq!(burst, REQUEST_BURST as usize);
        assert!(!table.spend(&greedy, IDS_COST, t0));
        // The other peer's budget is its own.
        assert!(table.spend(&other, IDS_COST, t0));
        // A tenth of a second earns a tenth of the rate back.
        let later = t0 + Duration::from_millis(100);
        let refilled = (0..1000)
            .take_while(|_| table.spend(&greedy, 1.0, later))
            .count();
        assert_eq!(refilled, (REQUEST_RATE / 10.0) as usize);
        // The budget never grows past the burst, however long the peer is quiet.
        let much_later = t0 + Duration::from_secs(3600);
        let capped = (0..1000)
            .take_while(|_| table.spend(&greedy, 1.0, much_later))
            .count();
        assert_eq!(capped, REQUEST_BURST as usize);
    }

    #[test]
    fn a_claim_sync_fell_far_short_of_is_doubted_for_a_while() {
        let claimed = Work::from_u256(U256::from_u64(1_000_000));
        assert!(claim_kept(claimed, claimed));
        assert!(claim_kept(
            claimed,
            Work::from_u256(U256::from_u64(600_000))
        ));
        assert!(!claim_kept(
            claimed,
            Work::from_u256(U256::from_u64(400_000))
        ));
        assert!(!claim_kept(claimed, Work::ZERO));
        let mut table = PeerTable::default();
        let peer = PeerId::random();
        let now = Instant::now();
        assert!(table.believed(&peer, now));
        table.doubt(peer, now);
        assert!(!table.believed(&peer, now));
        assert!(!table.believed(&peer, now + DOUBT_DURATION / 2));
        assert!(table.believed(&peer, now + DOUBT_DURATION));
    }
}
