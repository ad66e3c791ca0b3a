//! Otedama's sharechain: the consensus of a decentralized PPLNS pool, as specified in
//! `docs/consensus.md`.
//!
//! Pure: no clock, socket, thread or randomness. [`ShareChain`] takes shares (or their bytes)
//! and `now`, validates them in a fixed order, keeps the best chain, the PPLNS window and the
//! orphans, and stores accepted shares through a [`ShareStore`] (in memory, or sled). The node
//! builds its jobs with [`ShareChain::template`] and checks found shares with
//! [`ShareChain::add`]; both compute payouts with the one function [`payout::split`].

pub mod chain;
pub mod codec;
pub mod coinbase;
mod index;
mod orphans;
pub mod params;
pub mod payout;
pub mod retarget;
pub mod share;
pub mod store;
pub mod template;
pub mod testkit;
pub mod validate;
mod window;

pub use chain::{Accepted, AddOutcome, ChainConfig, ChainError, ChainEvent, ShareChain};
pub use params::{Consensus, ConsensusId, ConsensusParams};
pub use payout::Payout;
pub use share::{CoinbaseParts, Share, ShareCommitment, ShareData};
pub use store::{MemoryStore, ShareStore, SledStore, StoreError, StoredShare};
pub use template::{ShareTemplate, TemplateError, TemplateRequest};
pub use validate::RejectReason;
