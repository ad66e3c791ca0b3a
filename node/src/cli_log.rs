//! Logging for the `otedama` binary: `tracing` to stderr, at the level `RUST_LOG` sets, or else
//! the one the command asks for.

use anyhow::{Context, Result};
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// The level `-v` (debug) or `-vv` and more (trace) asks for; info without `-v`.
pub fn verbose_level(verbose: u8) -> &'static str {
    match verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    }
}

/// Starts logging to stderr: `RUST_LOG` when it is set and not empty, otherwise `level`.
pub fn init(level: &str) -> Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => EnvFilter::try_new(&spec)
            .with_context(|| format!("RUST_LOG={spec} is not a valid filter"))?,
        _ => EnvFilter::new(level),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    Ok(())
}
