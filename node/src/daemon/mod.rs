//! The coin daemon: a JSON-RPC client for litecoind / bitcoind and the block templates it serves.
//!
//! `rpc` speaks JSON-RPC over HTTP with user/password or cookie authentication; `template` decodes
//! `getblocktemplate`; `source` keeps the node supplied with templates; `zmq` (over the `zmtp`
//! codec) hears of new blocks from the daemon's ZMQ publisher; `regtest` starts and stops local
//! regtest daemons for tests and the demo.

pub mod regtest;
pub mod rpc;
#[cfg(test)]
pub(crate) mod rpc_double;
pub mod source;
pub mod template;
pub mod zmq;
pub mod zmtp;

pub use rpc::{Auth, RpcClient, RpcError};
pub use template::BlockTemplate;
