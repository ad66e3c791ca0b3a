//! The Otedama node: the coin-daemon client, the Stratum server, the peer-to-peer network and the
//! HTTP API, around the sharechain. The `otedama` binary is a thin layer over this library.

pub mod api;
pub mod daemon;
pub mod fdlimit;
pub mod node;
pub mod p2p;
pub mod stratum;
pub mod work;
