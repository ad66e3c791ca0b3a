//! The network's messages and their one encoding (`docs/protocol.md` §3–§4): bincode 2 with fixed
//! options, a size limit checked before and enforced during every decode, no trailing bytes.
//!
//! Gossip carries one encoded share (the sharechain codec's bytes, at most
//! [`MAX_SHARE_BYTES`]); sync carries [`SyncRequest`] / [`SyncResponse`].

use bincode::config::{self, Configuration, Fixint, LittleEndian, NoLimit};
use bincode::{Decode, Encode};
use otedama_proto::hash::ShareId;
use otedama_proto::target::Work;
use otedama_proto::uint::U256;
use otedama_sharechain::params::MAX_SHARE_BYTES;
use otedama_sharechain::ConsensusId;

/// The largest encoded sync request.
pub const MAX_REQUEST_BYTES: usize = 16 * 1024;
/// The largest encoded sync response: a full batch of the largest shares, plus framing.
pub const MAX_RESPONSE_BYTES: usize = MAX_SHARES_PER_REQUEST * (MAX_SHARE_BYTES + 8) + 1024;
/// The most ids in a locator.
pub const MAX_LOCATOR: usize = 64;
/// The most ids a peer may ask for, or answer with, in one `Ids` exchange.
pub const MAX_IDS_PER_REQUEST: usize = 2000;
/// The most shares asked for in one `Shares` request.
pub const MAX_SHARES_PER_REQUEST: usize = 128;
/// The largest gossip message accepted on the share topic (one share and gossipsub's framing).
pub const MAX_GOSSIP_BYTES: usize = MAX_SHARE_BYTES + 600;

/// The encoding options, fixed. Limits are checked by length before decoding; the size limit is
/// then also enforced by each `Vec` length check in [`SyncRequest::validate`] /
/// [`SyncResponse::validate`].
const CONFIG: Configuration<LittleEndian, Fixint, NoLimit> = config::standard()
    .with_little_endian()
    .with_fixed_int_encoding();

/// The gossipsub topic of the sharechain `id`.
pub fn share_topic(id: &ConsensusId) -> String {
    format!("/otedama/{}/shares/1", hex::encode(id.0))
}

/// The sync protocol name of the sharechain `id`: peers on another chain do not speak it.
pub fn sync_protocol(id: &ConsensusId) -> String {
    format!("/otedama/{}/sync/1", hex::encode(&id.0[..8]))
}

/// The Kademlia protocol name of Otedama's DHT (kept apart from the public IPFS DHT).
pub const KAD_PROTOCOL: &str = "/otedama/kad/1.0.0";
/// The identify protocol version Otedama nodes announce.
pub const IDENTIFY_PROTOCOL: &str = "/otedama/1.0.0";

/// A node's best chain, as told to a peer.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct ChainStatus {
    /// The tip, or none for an empty chain.
    pub tip: Option<[u8; 32]>,
    /// The tip's height.
    pub height: u32,
    /// The cumulative work of the best chain, big-endian.
    pub work: [u8; 32],
}

impl ChainStatus {
    /// An empty chain.
    pub const EMPTY: ChainStatus = ChainStatus {
        tip: None,
        height: 0,
        work: [0; 32],
    };

    /// The status of a chain with `tip` at `height` and `work`.
    pub fn new(tip: Option<ShareId>, height: Option<u32>, work: Option<Work>) -> Self {
        ChainStatus {
            tip: tip.map(ShareId::to_byte_array),
            height: height.unwrap_or(0),
            work: work.unwrap_or(Work::ZERO).to_u256().to_be_bytes(),
        }
    }

    /// The work, as a number.
    pub fn work(&self) -> Work {
        Work::from_u256(U256::from_be_bytes(self.work))
    }

    /// The tip id.
    pub fn tip(&self) -> Option<ShareId> {
        self.tip.map(ShareId::from_byte_array)
    }
}

/// A request of the sync protocol.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum SyncRequest {
    /// "What is your best chain?"
    Status,
    /// "Which ids of your best chain follow the newest of these that you have?" A locator
    /// (newest first, at most [`MAX_LOCATOR`]); an empty locator asks from the sync depth below
    /// the tip. At most `max` ids back, oldest first.
    Ids {
        /// Ids of the asker's chain, newest first.
        locator: Vec<[u8; 32]>,
        /// The most ids wanted; more than [`MAX_IDS_PER_REQUEST`] is read as that many.
        max: u32,
    },
    /// "Send me these shares." At most [`MAX_SHARES_PER_REQUEST`].
    Shares(Vec<[u8; 32]>),
}

/// A response of the sync protocol.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum SyncResponse {
    /// The answerer's best chain.
    Status(ChainStatus),
    /// Ids of the best chain after the fork point, oldest first; `more` when the answer stopped
    /// at `max` and the chain goes on.
    Ids {
        /// The ids.
        ids: Vec<[u8; 32]>,
        /// Whether more ids follow the last one.
        more: bool,
    },
    /// The shares asked for that the answerer has, in the order asked, each as the sharechain
    /// codec encodes it. Shares it does not have are left out.
    Shares(Vec<Vec<u8>>),
    /// The request was refused (malformed, or over a limit).
    Refused(String),
}

/// A message that could not be decoded, or broke a limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// More bytes than the limit; nothing was decoded.
    #[error("{len} bytes is over the {limit}-byte limit")]
    TooLong {
        /// The length given.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// Not a message.
    #[error("undecodable: {0}")]
    Decode(String),
    /// Bytes were left after the message.
    #[error("{0} trailing bytes after the message")]
    TrailingBytes(usize),
    /// A list longer than the protocol allows.
    #[error("{what}: {len} entries, at most {limit}")]
    TooMany {
        /// The list.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        limit: usize,
    },
}

fn too_many(what: &'static str, len: usize, limit: usize) -> Result<(), WireError> {
    if len > limit {
        Err(WireError::TooMany { what, len, limit })
    } else {
        Ok(())
    }
}

impl SyncRequest {
    /// Checks the protocol's limits on what the request carries. `Ids.max` is not one: it is
    /// clamped by [`decode_request`] (a wish for more ids than an answer holds is no lie).
    pub fn validate(&self) -> Result<(), WireError> {
        match self {
            SyncRequest::Status => Ok(()),
            SyncRequest::Ids { locator, .. } => too_many("locator", locator.len(), MAX_LOCATOR),
            SyncRequest::Shares(ids) => too_many("shares asked", ids.len(), MAX_SHARES_PER_REQUEST),
        }
    }
}

impl SyncResponse {
    /// Checks the protocol's limits.
    pub fn validate(&self) -> Result<(), WireError> {
        match self {
            SyncResponse::Status(_) => Ok(()),
            SyncResponse::Ids { ids, .. } => too_many("ids", ids.len(), MAX_IDS_PER_REQUEST),
            SyncResponse::Shares(shares) => {
                too_many("shares", shares.len(), MAX_SHARES_PER_REQUEST)?;
                match shares.iter().find(|s| s.len() > MAX_SHARE_BYTES) {
                    Some(s) => Err(WireError::TooLong {
                        len: s.len(),
                        limit: MAX_SHARE_BYTES,
                    }),
                    None => Ok(()),
                }
            }
            SyncResponse::Refused(reason) => too_many("refusal bytes", reason.len(), 256),
        }
    }
}

/// Encodes a message.
pub fn encode<T: Encode>(value: &T) -> Vec<u8> {
    bincode::encode_to_vec(value, CONFIG).expect("encoding into a Vec cannot fail")
}

/// Decodes a message of at most `limit` bytes.
pub fn decode<T: Decode<()>>(bytes: &[u8], limit: usize) -> Result<T, WireError> {
    if bytes.len() > limit {
        return Err(WireError::TooLong {
            len: bytes.len(),
            limit,
        });
    }
    // bincode refuses any length prefix that would read past this limit, so no decode allocates
    // more than the largest response.
    let config = CONFIG.with_limit::<{ MAX_RESPONSE_BYTES }>();
    let (value, read) =
        bincode::decode_from_slice(bytes, config).map_err(|e| WireError::Decode(e.to_string()))?;
    if read != bytes.len() {
        return Err(WireError::TrailingBytes(bytes.len() - read));
    }
    Ok(value)
}

/// Decodes a sync request, checks its limits and clamps `Ids.max` to [`MAX_IDS_PER_REQUEST`].
pub fn decode_request(bytes: &[u8]) -> Result<SyncRequest, WireError> {
    let mut request: SyncRequest = decode(bytes, MAX_REQUEST_BYTES)?;
    request.validate()?;
    if let SyncRequest::Ids { max, .. } = &mut request {
        *max = (*max).min(MAX_IDS_PER_REQUEST as u32);
    }
    Ok(request)
}

/// Decodes a sync response and checks its limits.
pub fn decode_response(bytes: &[u8]) -> Result<SyncResponse, WireError> {
    let response: SyncResponse = decode(bytes, MAX_RESPONSE_BYTES)?;
    response.validate()?;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_limits_hold() {
        let req = SyncRequest::Ids {
            locator: vec![[7; 32]; 3],
            max: 500,
        };
        assert_eq!(decode_request(&encode(&req)).unwrap(), req);
        let too_many = SyncRequest::Shares(vec![[1; 32]; MAX_SHARES_PER_REQUEST + 1]);
        assert!(matches!(
            decode_request(&encode(&too_many)),
            Err(WireError::TooMany { .. })
        ));
    }

    /// `Ids.max` is a wish, not a size (`docs/protocol.md` §5.3): a peer that asks for more than
    /// the limit is answered with at most the limit, not refused or banned.
    #[test]
    fn an_ids_request_asking_more_than_the_limit_is_clamped() {
        for max in [MAX_IDS_PER_REQUEST as u32 + 1, 5000, u32::MAX] {
            let greedy = SyncRequest::Ids {
                locator: vec![[7; 32]],
                max,
            };
            assert_eq!(
                decode_request(&encode(&greedy)),
                Ok(SyncRequest::Ids {
                    locator: vec![[7; 32]],
                    max: MAX_IDS_PER_REQUEST as u32,
                })
            );
        }
    }

    #[test]
    fn hostile_bytes_are_refused_without_allocating() {
        // A Vec length prefix claiming 2^60 entries.
        let mut bytes = vec![2u8, 0, 0, 0];
        bytes.extend_from_slice(&(1u64 << 60).to_le_bytes());
        assert!(decode_request(&bytes).is_err());
        assert!(decode_response(&[0xff; 10]).is_err());
        let mut trailing = encode(&SyncRequest::Status);
        trailing.push(0);
        assert_eq!(decode_request(&trailing), Err(WireError::TrailingBytes(1)));
        assert!(matches!(
            decode_request(&vec![0; MAX_REQUEST_BYTES + 1]),
            Err(WireError::TooLong { .. })
        ));
    }

    #[test]
    fn responses_round_trip() {
        let status = SyncResponse::Status(ChainStatus {
            tip: Some([3; 32]),
            height: 9,
            work: [1; 32],
        });
        assert_eq!(decode_response(&encode(&status)).unwrap(), status);
        let shares = SyncResponse::Shares(vec![vec![1, 2, 3], vec![]]);
        assert_eq!(decode_response(&encode(&shares)).unwrap(), shares);
        let big = SyncResponse::Shares(vec![vec![0; MAX_SHARE_BYTES + 1]]);
        assert!(decode_response(&encode(&big)).is_err());
    }
}
