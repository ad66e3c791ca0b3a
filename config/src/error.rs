//! Everything that can be wrong with a node configuration, each error naming the input at fault.

use crate::setting::{Place, Setting};
use otedama_proto::chain::UnsupportedNetwork;
use std::net::SocketAddr;
use std::path::PathBuf;

/// A configuration that cannot be used, with the reason and where the bad value came from.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The TOML file could not be read.
    #[error("cannot read config file {path}: {source}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        #[source]
        source: std::io::Error,
    },

    /// The TOML file is not valid TOML, has an unknown key, or a value of the wrong type. The
    /// message from the TOML parser names the key, line and column.
    #[error("config file {path}: {message}")]
    ParseFile {
        /// The file.
        path: PathBuf,
        /// The parser's explanation.
        message: String,
    },

    /// An `OTEDAMA_*` environment variable that is not a setting (most likely a typo).
    #[error("unknown environment variable {name}: {}", unknown_env_hint(.suggestion))]
    UnknownEnv {
        /// The variable as set.
        name: String,
        /// The known variable it most resembles, if one is close.
        suggestion: Option<&'static str>,
    },

    /// An `OTEDAMA_*` variable whose value is not UTF-8 (only paths may be arbitrary bytes).
    #[error("environment variable {name} is not valid UTF-8")]
    EnvNotUnicode {
        /// The variable.
        name: &'static str,
    },

    /// A value that does not parse or is out of range.
    #[error("{place}: invalid value `{value}`: {reason}")]
    Invalid {
        /// The setting and the layer that gave it.
        place: Place,
        /// The value as given.
        value: String,
        /// What is wrong with it and what is expected.
        reason: String,
    },

    /// A network the coin does not have.
    #[error("{place}: {source}")]
    UnsupportedNetwork {
        /// Where the network was chosen.
        place: Place,
        /// The coin and network.
        #[source]
        source: UnsupportedNetwork,
    },

    /// Both ways to log in to the daemon were given.
    #[error(
        "both a daemon password ({password}) and a daemon cookie ({cookie}) are set: \
         give either --daemon-user with --daemon-password, or --daemon-cookie"
    )]
    PasswordAndCookie {
        /// Where the password came from.
        password: Place,
        /// Where the cookie came from.
        cookie: Place,
    },

    /// Half of a user/password pair.
    #[error("{given} is set but {} is not: the daemon needs both user and password", .missing.flag())]
    IncompleteCredentials {
        /// The half that was given.
        given: Place,
        /// The half that is missing.
        missing: Setting,
    },

    /// A default that depends on the home directory is needed but `HOME` is not set.
    #[error("HOME is not set, so there is no default {what}: set {}", .setting.flag())]
    NoHome {
        /// What needed the home directory.
        what: &'static str,
        /// The setting to give instead.
        setting: Setting,
    },

    /// Two services configured to listen on the same address.
    #[error("{first} and {second} both listen on {addr}: give them different ports")]
    SameAddress {
        /// The first service's setting.
        first: Place,
        /// The second service's setting.
        second: Place,
        /// The shared address.
        addr: SocketAddr,
    },

    /// The resolved configuration could not be written as TOML (a path that is not UTF-8).
    #[error("cannot write the configuration as TOML: {0}")]
    Render(String),
}

fn unknown_env_hint(suggestion: &Option<&'static str>) -> String {
    match suggestion {
        Some(name) => format!("did you mean {name}?"),
        None => format!(
            "the known ones are {}",
            Setting::ALL.map(Setting::env).join(", ")
        ),
    }
}
