//! Otedama's sharechain: the consensus of a decentralized PPLNS pool, as specified in
//! `docs/consensus.md`.
//!
//! Pure: no clock, socket, thread or randomness. [`ShareChain`] takes shares (or their bytes)
//! and `now`, validates them in a fixed order, keeps the best chain, the PPLNS window and the
//! orphans, and stores accepted shares through a [`ShareStore`] (in memory, or sled). The node
//! builds its jobs with [`ShareChain::template`] and checks found shares with
//! [`ShareChain::add`]; both compute payouts with the one function [`payout::split_ranked`].
//!
//! # How a node uses it
//!
//! ```no_run
//! # use otedama_sharechain::*;
//! # use otedama_proto::{chain::{Coin, Network}, header::Header, hash::MerkleNode};
//! # fn demo(req: TemplateRequest, coin_height: u32, header: Header, branch: Vec<MerkleNode>,
//! #         extranonce: [u8; 8], peer_bytes: &[u8], now: u64) -> Result<(), Box<dyn std::error::Error>> {
//! let consensus = Consensus::for_network(Coin::Litecoin, Network::Regtest).expect("known network");
//! let mut chain = ShareChain::open(consensus, SledStore::open("data/shares".as_ref())?)?;
//!
//! // A job: the share template on the tip, its payouts, and Stratum's coinbase halves.
//! let template = chain.template(&req)?;           // req: payout script, coin value, bits, witness commitment
//! let halves = template.stratum_coinbase(coin_height, coinbase::DEFAULT_TAG);
//! // ... mining.notify with halves.coinb1 / coinb2, merkle branch, template.min_time as the
//! // earliest ntime, template.share_target as the share target ...
//!
//! // A submit that meets template.share_target: the block (if it is one) uses
//! // template.coinbase(script_sig); the share goes to the chain.
//! let script_sig = coinbase::otedama_script_sig(coin_height, extranonce, coinbase::DEFAULT_TAG);
//! let share = template.share(header, script_sig, branch);
//! let outcome = chain.add(share, now)?;
//! // A share from a peer:
//! let outcome = chain.add_encoded(peer_bytes, now)?;
//! if let AddOutcome::Accepted(accepted) = &outcome {
//!     chain.flush()?;                              // durable before acknowledging or gossiping
//!     // accepted.event: Some(ChainEvent::NewTip{..} | ChainEvent::Reorg{..}) → new jobs
//! }
//! # Ok(()) }
//! ```

pub mod chain;
pub mod codec;
pub mod coinbase;
mod commit;
mod index;
mod orphans;
pub mod params;
pub mod payout;
pub mod retarget;
pub mod share;
pub mod store;
mod sync;
pub mod template;
pub mod testkit;
pub mod validate;
mod window;

pub use chain::{
    Accepted, AddOutcome, ChainConfig, ChainError, ChainEvent, ShareChain, CHEAP_FACTOR,
    LIGHT_MARGIN_SHARES, MAX_CHILDREN, MAX_HELD_BACK,
};
pub use params::{Consensus, ConsensusId, ConsensusParams};
pub use payout::Payout;
pub use share::{CoinbaseParts, Share, ShareCommitment, ShareData};
pub use store::{MemoryStore, ShareStore, SledStore, StoreError, StoreSyncer, StoredShare};
pub use template::{ShareTemplate, TemplateError, TemplateRequest};
pub use validate::RejectReason;
pub use window::hash_rate;
