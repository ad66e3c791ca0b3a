//! The resolved, checked configuration of a node, and its rendering back to TOML.

use crate::daemon::{DaemonAuth, DaemonConfig};
use crate::error::ConfigError;
use crate::raw::{RawLog, RawOptions, RawStratum};
use otedama_proto::chain::{Coin, Network};
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

/// Everything the node needs to know to start, every value checked.
///
/// Built once by [`crate::load`] (or [`crate::resolve`]) and then only read.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeConfig {
    /// The coin pooled.
    pub coin: Coin,
    /// The coin's network; a network the coin has.
    pub network: Network,
    /// Where the node keeps its state (peer key, sharechain, known peers).
    pub data_dir: PathBuf,
    /// The coin daemon.
    pub daemon: DaemonConfig,
    /// The Stratum server.
    pub stratum: StratumConfig,
    /// The HTTP API's listening address.
    pub api: SocketAddr,
    /// The peer-to-peer network.
    pub p2p: P2pConfig,
    /// Logging.
    pub log: LogConfig,
    /// The TOML file that was read, if any (for the log; not a setting).
    pub config_file: Option<PathBuf>,
}

/// The Stratum server's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct StratumConfig {
    /// Listening address; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The lowest share difficulty handed to a miner; positive and finite.
    pub min_difficulty: f64,
    /// Seconds between one connection's shares that vardiff aims at; at least 1.
    pub vardiff_target_secs: u32,
    /// The most connections held at once; at least 1.
    pub max_connections: u32,
}

/// The peer-to-peer settings. Multiaddresses are only checked for shape here; the network layer
/// parses them fully when it binds and dials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct P2pConfig {
    /// Listening multiaddress, such as `/ip4/0.0.0.0/tcp/9328`.
    pub listen: String,
    /// Peers to contact first.
    pub bootstrap: Vec<String>,
    /// Whether the cap on inbound connections per address and bans by address apply to
    /// loopback peers too.
    pub limit_loopback: bool,
}

/// Logging settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogConfig {
    /// The level used when `RUST_LOG` is not set.
    pub level: LogLevel,
}

/// A log level, as `tracing` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Warnings and errors.
    Warn,
    /// What an operator wants to see (the default).
    Info,
    /// What a developer wants to see.
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    /// Every level, quietest first.
    pub const ALL: [LogLevel; 5] = [
        LogLevel::Error,
        LogLevel::Warn,
        LogLevel::Info,
        LogLevel::Debug,
        LogLevel::Trace,
    ];

    /// The lower-case name, as `RUST_LOG` and `tracing` spell it.
    pub fn name(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for LogLevel {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        LogLevel::ALL
            .into_iter()
            .find(|l| l.name() == lower)
            .ok_or_else(|| "expected one of: error, warn, info, debug, trace".to_owned())
    }
}

impl NodeConfig {
    /// The configuration as a TOML file that would resolve to the same configuration.
    ///
    /// A daemon password is not written (a comment says that one is set), so the text can be
    /// shown and shared; give the password again through `OTEDAMA_DAEMON_PASSWORD`.
    pub fn to_toml(&self) -> Result<String, ConfigError> {
        let (user, cookie, has_password) = match &self.daemon.auth {
            DaemonAuth::UserPassword { user, .. } => (Some(user.clone()), None, true),
            DaemonAuth::Cookie { path } => (None, Some(path.clone()), false),
        };
        let raw = RawOptions {
            coin: Some(self.coin.name().to_owned()),
            network: Some(self.network.name().to_owned()),
            data_dir: Some(self.data_dir.clone()),
            daemon_url: Some(self.daemon.urls.iter().map(|u| u.to_string()).collect()),
            daemon_user: user,
            daemon_password: None,
            daemon_cookie: cookie,
            daemon_zmq: Some(self.daemon.zmq.iter().map(|z| z.to_string()).collect()),
            api: Some(self.api.to_string()),
            p2p: Some(self.p2p.listen.clone()),
            bootstrap: Some(self.p2p.bootstrap.clone()),
            p2p_limit_loopback: Some(self.p2p.limit_loopback),
            stratum: RawStratum {
                listen: Some(self.stratum.listen.to_string()),
                min_difficulty: Some(self.stratum.min_difficulty),
                vardiff_target_secs: Some(self.stratum.vardiff_target_secs),
                max_connections: Some(self.stratum.max_connections),
            },
            log: RawLog {
                level: Some(self.log.level.name().to_owned()),
            },
        };
        let body = toml::to_string_pretty(&raw).map_err(|e| ConfigError::Render(e.to_string()))?;
        let mut text = String::from("# Otedama node configuration, as resolved from defaults, file, environment and flags.\n");
        if let Some(file) = &self.config_file {
            text.push_str(&format!("# Read from {}.\n", file.display()));
        }
        if has_password {
            text.push_str(
                "# daemon_password is set but not shown; give it with OTEDAMA_DAEMON_PASSWORD.\n",
            );
        }
        text.push('\n');
        text.push_str(&body);
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_level_names_round_trip() {
        for level in LogLevel::ALL {
            assert_eq!(level.name().parse::<LogLevel>(), Ok(level));
        }
        assert_eq!("DEBUG".parse::<LogLevel>(), Ok(LogLevel::Debug));
        assert!("loud".parse::<LogLevel>().is_err());
    }

    #[test]
    fn log_levels_match_the_flag_choices() {
        assert_eq!(LogLevel::ALL.map(LogLevel::name), crate::args::LOG_LEVELS);
    }
}
