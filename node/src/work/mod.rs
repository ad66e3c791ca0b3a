//! The node's work: turning daemon templates and the sharechain into Stratum jobs, and found
//! shares into sharechain entries and blocks.

pub mod block;
pub mod chain;
pub mod coinbases;
pub mod found;
pub mod jobs;
pub mod shares;
