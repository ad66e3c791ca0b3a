//! The node's configuration: built-in defaults, a TOML file, `OTEDAMA_*` environment variables and
//! command-line flags, resolved once into one checked [`NodeConfig`].
//!
//! # Layers
//!
//! From lowest to highest precedence: built-in defaults < TOML file (`--config FILE` or
//! `OTEDAMA_CONFIG`) < `OTEDAMA_*` environment variables < command-line flags. Each layer is parsed
//! into the same all-optional [`RawOptions`]; [`resolve`] then takes every setting from the highest
//! layer that gives it and checks it, so an error names the flag, variable or file key to fix.
//! Lists (`daemon_url`, `daemon_zmq`, `bootstrap`) are taken whole from one layer, never joined
//! across layers.
//! No file is read unless one is named.
//!
//! Strictness: an unknown key anywhere in the TOML file is an error naming the key and the file;
//! an unknown `OTEDAMA_*` variable is an error suggesting the closest known name (names under
//! `OTEDAMA_TEST_` are left to the test scripts). In the environment an empty value counts as
//! unset and lists are comma-separated.
//!
//! # Settings
//!
//! | flag | TOML key | environment | default |
//! |---|---|---|---|
//! | `--config FILE` | — | `OTEDAMA_CONFIG` | none |
//! | `--coin` | `coin` | `OTEDAMA_COIN` | `litecoin` |
//! | `--network` | `network` | `OTEDAMA_NETWORK` | `mainnet` |
//! | `--data-dir DIR` | `data_dir` | `OTEDAMA_DATA_DIR` | `~/.otedama/<coin>-<network>` |
//! | `--daemon-url URL`… | `daemon_url = [..]` | `OTEDAMA_DAEMON_URL` | `http://127.0.0.1:<daemon RPC port>` |
//! | `--daemon-user U` | `daemon_user` | `OTEDAMA_DAEMON_USER` | none |
//! | `--daemon-password P` | `daemon_password` | `OTEDAMA_DAEMON_PASSWORD` | none |
//! | `--daemon-cookie FILE` | `daemon_cookie` | `OTEDAMA_DAEMON_COOKIE` | the daemon's, e.g. `~/.litecoin/.cookie` |
//! | `--daemon-zmq tcp://HOST:PORT`… | `daemon_zmq = [..]` (or one string) | `OTEDAMA_DAEMON_ZMQ` | none (long-poll and tip poll only) |
//! | `--stratum IP:PORT` | `stratum.listen` | `OTEDAMA_STRATUM` | `0.0.0.0:9327` (Litecoin mainnet) |
//! | `--api IP:PORT` | `api` | `OTEDAMA_API` | `127.0.0.1:9329` (Litecoin mainnet) |
//! | `--p2p MULTIADDR` | `p2p` | `OTEDAMA_P2P` | `/ip4/0.0.0.0/tcp/9328` (Litecoin mainnet) |
//! | `--bootstrap MULTIADDR`… | `bootstrap = [..]` | `OTEDAMA_BOOTSTRAP` | none |
//! | `--p2p-limit-loopback` | `p2p_limit_loopback` | `OTEDAMA_P2P_LIMIT_LOOPBACK` | `false` |
//! | `--stratum-min-difficulty` | `stratum.min_difficulty` | `OTEDAMA_STRATUM_MIN_DIFFICULTY` | `0.001` |
//! | `--stratum-vardiff-target-secs` | `stratum.vardiff_target_secs` | `OTEDAMA_STRATUM_VARDIFF_TARGET_SECS` | `5` |
//! | `--stratum-max-connections` | `stratum.max_connections` | `OTEDAMA_STRATUM_MAX_CONNECTIONS` | `10000` |
//! | `--log-level` | `log.level` | `OTEDAMA_LOG_LEVEL` | `info` |
//!
//! `stratum.*` and `log.level` live in `[stratum]` and `[log]` sections of the file. Otedama's
//! default ports are explained in [`defaults`]; the daemon's come from
//! [`otedama_proto::chain::ChainParams`].
//!
//! # Rules checked
//!
//! - the network exists for the coin (Litecoin has no signet);
//! - daemon URLs are `http://HOST:PORT` or `https://HOST:PORT` (no path, no credentials inside);
//! - daemon ZMQ endpoints are `tcp://HOST:PORT` (no wildcard host, no path), each listed once;
//! - daemon login is user *and* password, *or* a cookie file, never both; with neither, the
//!   daemon's own default cookie file is used (as `bitcoin-cli` does), read when connecting;
//! - listening addresses are `IP:PORT` (port 0 picks a free port); Stratum and API do not share one;
//! - multiaddresses have the `/proto/value/…` shape (the network layer parses them fully);
//! - a relative path in the TOML file is relative to the file's directory; `~/` is `HOME`.
//!
//! # Example
//!
//! ```
//! let args = otedama_config::NodeArgs {
//!     coin: Some("bitcoin".into()),
//!     ..Default::default()
//! };
//! let env = [("HOME", "/home/miner"), ("OTEDAMA_NETWORK", "regtest")];
//! let config = otedama_config::load(&args, env).expect("a valid configuration");
//! assert_eq!(config.daemon.urls[0].to_string(), "http://127.0.0.1:18443");
//! assert_eq!(config.stratum.listen.to_string(), "0.0.0.0:39347");
//! ```

mod args;
mod daemon;
pub mod defaults;
mod env;
mod error;
mod node_config;
mod raw;
mod resolve;
mod setting;

pub use args::{NodeArgs, LOG_LEVELS};
pub use daemon::{
    BadDaemonUrl, BadZmqEndpoint, DaemonAuth, DaemonConfig, DaemonUrl, Password, ZmqEndpoint,
};
pub use env::EnvLayer;
pub use error::ConfigError;
pub use node_config::{LogConfig, LogLevel, NodeConfig, P2pConfig, StratumConfig};
pub use raw::{RawLog, RawOptions, RawStratum};
pub use resolve::{resolve, Layers};
pub use setting::{Origin, Place, Setting};

use std::ffi::OsStr;

/// Resolves the node's configuration from its flags and an environment (pass
/// `std::env::vars_os()` in the binary, a list in tests), reading the TOML file named by
/// `--config` or `OTEDAMA_CONFIG` if there is one.
pub fn load<I, K, V>(args: &NodeArgs, env: I) -> Result<NodeConfig, ConfigError>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<OsStr>,
    V: AsRef<OsStr>,
{
    let env = EnvLayer::parse(env)?;
    let file = match args.config.as_ref().or(env.config.as_ref()) {
        Some(path) => Some((RawOptions::from_toml_file(path)?, path.clone())),
        None => None,
    };
    resolve(&Layers {
        file,
        env: env.options,
        cli: args.to_raw(),
        home: env.home,
    })
}
