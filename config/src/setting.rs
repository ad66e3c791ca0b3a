//! The table of every node setting and its three spellings (flag, TOML key, environment variable),
//! and where a resolved value came from.
//!
//! One table keeps the spellings from drifting apart: the environment layer looks names up here,
//! errors name the setting the way its source spelled it, and the crate documentation lists it.

use std::fmt;
use std::path::PathBuf;

/// One setting of the node, whatever layer it is given in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Setting {
    /// The TOML file to read (flag and environment only: a file cannot name another file).
    Config,
    /// The coin to pool.
    Coin,
    /// The coin's network.
    Network,
    /// Where the node keeps its state.
    DataDir,
    /// The coin daemon's JSON-RPC URLs, the first preferred, the others failovers.
    DaemonUrl,
    /// The daemon's RPC user name.
    DaemonUser,
    /// The daemon's RPC password.
    DaemonPassword,
    /// The daemon's cookie file (the alternative to user and password).
    DaemonCookie,
    /// The daemons' ZMQ publishers, for `hashblock` announcements.
    DaemonZmq,
    /// The Stratum server's listening address.
    Stratum,
    /// The HTTP API's listening address.
    Api,
    /// The peer-to-peer listening multiaddress.
    P2p,
    /// Peers to contact first.
    Bootstrap,
    /// Whether the peer-to-peer rules by address apply to loopback peers too.
    P2pLimitLoopback,
    /// The lowest difficulty the Stratum server gives a miner.
    StratumMinDifficulty,
    /// Seconds between shares that vardiff aims at, per connection.
    StratumVardiffTargetSecs,
    /// The most Stratum connections held at once.
    StratumMaxConnections,
    /// The log level when `RUST_LOG` is not set.
    LogLevel,
}

impl Setting {
    /// Every setting, in the order the documentation lists them.
    pub const ALL: [Setting; 18] = [
        Setting::Config,
        Setting::Coin,
        Setting::Network,
        Setting::DataDir,
        Setting::DaemonUrl,
        Setting::DaemonUser,
        Setting::DaemonPassword,
        Setting::DaemonCookie,
        Setting::DaemonZmq,
        Setting::Stratum,
        Setting::Api,
        Setting::P2p,
        Setting::Bootstrap,
        Setting::P2pLimitLoopback,
        Setting::StratumMinDifficulty,
        Setting::StratumVardiffTargetSecs,
        Setting::StratumMaxConnections,
        Setting::LogLevel,
    ];

    /// The command-line flag, with its dashes.
    pub fn flag(self) -> &'static str {
        match self {
            Setting::Config => "--config",
            Setting::Coin => "--coin",
            Setting::Network => "--network",
            Setting::DataDir => "--data-dir",
            Setting::DaemonUrl => "--daemon-url",
            Setting::DaemonUser => "--daemon-user",
            Setting::DaemonPassword => "--daemon-password",
            Setting::DaemonCookie => "--daemon-cookie",
            Setting::DaemonZmq => "--daemon-zmq",
            Setting::Stratum => "--stratum",
            Setting::Api => "--api",
            Setting::P2p => "--p2p",
            Setting::Bootstrap => "--bootstrap",
            Setting::P2pLimitLoopback => "--p2p-limit-loopback",
            Setting::StratumMinDifficulty => "--stratum-min-difficulty",
            Setting::StratumVardiffTargetSecs => "--stratum-vardiff-target-secs",
            Setting::StratumMaxConnections => "--stratum-max-connections",
            Setting::LogLevel => "--log-level",
        }
    }

    /// The key in the TOML file, dotted for keys inside a section; `None` for `--config`.
    pub fn key(self) -> Option<&'static str> {
        Some(match self {
            Setting::Config => return None,
            Setting::Coin => "coin",
            Setting::Network => "network",
            Setting::DataDir => "data_dir",
            Setting::DaemonUrl => "daemon_url",
            Setting::DaemonUser => "daemon_user",
            Setting::DaemonPassword => "daemon_password",
            Setting::DaemonCookie => "daemon_cookie",
            Setting::DaemonZmq => "daemon_zmq",
            Setting::Stratum => "stratum.listen",
            Setting::Api => "api",
            Setting::P2p => "p2p",
            Setting::Bootstrap => "bootstrap",
            Setting::P2pLimitLoopback => "p2p_limit_loopback",
            Setting::StratumMinDifficulty => "stratum.min_difficulty",
            Setting::StratumVardiffTargetSecs => "stratum.vardiff_target_secs",
            Setting::StratumMaxConnections => "stratum.max_connections",
            Setting::LogLevel => "log.level",
        })
    }

    /// The environment variable: `OTEDAMA_` and the flag's name in upper snake case.
    pub fn env(self) -> &'static str {
        match self {
            Setting::Config => "OTEDAMA_CONFIG",
            Setting::Coin => "OTEDAMA_COIN",
            Setting::Network => "OTEDAMA_NETWORK",
            Setting::DataDir => "OTEDAMA_DATA_DIR",
            Setting::DaemonUrl => "OTEDAMA_DAEMON_URL",
            Setting::DaemonUser => "OTEDAMA_DAEMON_USER",
            Setting::DaemonPassword => "OTEDAMA_DAEMON_PASSWORD",
            Setting::DaemonCookie => "OTEDAMA_DAEMON_COOKIE",
            Setting::DaemonZmq => "OTEDAMA_DAEMON_ZMQ",
            Setting::Stratum => "OTEDAMA_STRATUM",
            Setting::Api => "OTEDAMA_API",
            Setting::P2p => "OTEDAMA_P2P",
            Setting::Bootstrap => "OTEDAMA_BOOTSTRAP",
            Setting::P2pLimitLoopback => "OTEDAMA_P2P_LIMIT_LOOPBACK",
            Setting::StratumMinDifficulty => "OTEDAMA_STRATUM_MIN_DIFFICULTY",
            Setting::StratumVardiffTargetSecs => "OTEDAMA_STRATUM_VARDIFF_TARGET_SECS",
            Setting::StratumMaxConnections => "OTEDAMA_STRATUM_MAX_CONNECTIONS",
            Setting::LogLevel => "OTEDAMA_LOG_LEVEL",
        }
    }

    /// The setting whose environment variable is `name`, if any.
    pub fn from_env_name(name: &str) -> Option<Setting> {
        Setting::ALL.into_iter().find(|s| s.env() == name)
    }

    /// The known environment variable closest to `name`, if it is close enough to be a likely typo.
    pub fn closest_env_name(name: &str) -> Option<&'static str> {
        Setting::ALL
            .into_iter()
            .map(|s| (edit_distance(name, s.env()), s.env()))
            .filter(|&(d, _)| d <= 3)
            .min_by_key(|&(d, _)| d)
            .map(|(_, env)| env)
    }
}

/// The Levenshtein distance between two ASCII-ish strings (by `char`).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            let substitute = prev[j] + usize::from(ca != cb);
            cur[j + 1] = substitute.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Which layer a resolved value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The built-in default.
    Default,
    /// The TOML file at this path.
    File(PathBuf),
    /// An `OTEDAMA_*` environment variable.
    Env,
    /// A command-line flag.
    Cli,
}

/// A setting as its source spells it, for error messages: `--stratum`, `OTEDAMA_STRATUM`,
/// `` `stratum.listen` in /etc/otedama.toml `` or `the default stratum.listen`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    /// The setting.
    pub setting: Setting,
    /// Where its value came from.
    pub origin: Origin,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = self.setting.key().unwrap_or("config");
        match &self.origin {
            Origin::Default => write!(f, "the default {key}"),
            Origin::File(path) => write!(f, "`{key}` in {}", path.display()),
            Origin::Env => f.write_str(self.setting.env()),
            Origin::Cli => f.write_str(self.setting.flag()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_follow_one_rule() {
        for s in Setting::ALL {
            let flag = s.flag().trim_start_matches("--");
            let env = format!("OTEDAMA_{}", flag.replace('-', "_").to_ascii_uppercase());
            assert_eq!(s.env(), env, "{s:?}");
            assert_eq!(Setting::from_env_name(s.env()), Some(s));
        }
    }

    #[test]
    fn typo_suggests_the_closest_name() {
        assert_eq!(
            Setting::closest_env_name("OTEDAMA_STRATUMM"),
            Some("OTEDAMA_STRATUM")
        );
        assert_eq!(
            Setting::closest_env_name("OTEDAMA_DAEMON_URLS"),
            Some("OTEDAMA_DAEMON_URL")
        );
        assert_eq!(Setting::closest_env_name("OTEDAMA_WALLET_SEED"), None);
    }

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    #[test]
    fn place_names_the_setting_as_its_source_spells_it() {
        let place = |origin| Place {
            setting: Setting::Stratum,
            origin,
        };
        assert_eq!(place(Origin::Cli).to_string(), "--stratum");
        assert_eq!(place(Origin::Env).to_string(), "OTEDAMA_STRATUM");
        assert_eq!(
            place(Origin::File("/etc/o.toml".into())).to_string(),
            "`stratum.listen` in /etc/o.toml"
        );
        assert_eq!(
            place(Origin::Default).to_string(),
            "the default stratum.listen"
        );
    }
}
