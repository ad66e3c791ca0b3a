//! The node's work: turning daemon templates and the sharechain into Stratum jobs, and found
//! shares into sharechain entries and blocks.

pub mod block;
