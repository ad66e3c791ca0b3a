//! placeholder
pub mod sha256d;
