//! The unvalidated settings of one layer (TOML file, environment or command line).
//!
//! Every layer parses into the same [`RawOptions`], where every field is optional: `None` means
//! "this layer does not say". Values that need checking (addresses, URLs, names) stay strings here
//! and are checked once, in [`crate::resolve`], where the error can say which layer gave them.
//! The same struct is the TOML file's schema, so an unknown key anywhere is an error.

use crate::error::ConfigError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The settings one layer gives, none of them checked yet.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawOptions {
    /// `litecoin` or `bitcoin`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coin: Option<String>,
    /// `mainnet`, `testnet`, `signet` or `regtest`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// Where the node keeps its state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// Daemon JSON-RPC URLs, preferred first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daemon_url: Option<Vec<String>>,
    /// Daemon RPC user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daemon_user: Option<String>,
    /// Daemon RPC password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daemon_password: Option<String>,
    /// Daemon cookie file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daemon_cookie: Option<PathBuf>,
    /// The daemons' ZMQ publishers, `tcp://HOST:PORT` each. The file may give one as a plain
    /// string (as before lists were accepted) or several as an array.
    #[serde(
        default,
        deserialize_with = "one_or_many",
        skip_serializing_if = "Option::is_none"
    )]
    pub daemon_zmq: Option<Vec<String>>,
    /// HTTP API listening address, `IP:PORT`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    /// Peer-to-peer listening multiaddress.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p2p: Option<String>,
    /// Bootstrap peers' multiaddresses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<Vec<String>>,
    /// Whether the peer-to-peer rules by address apply to loopback peers too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p2p_limit_loopback: Option<bool>,
    /// The `[stratum]` section. Sections come last: TOML writes tables after plain keys.
    #[serde(default, skip_serializing_if = "RawStratum::is_empty")]
    pub stratum: RawStratum,
    /// The `[log]` section.
    #[serde(default, skip_serializing_if = "RawLog::is_empty")]
    pub log: RawLog,
}

/// The `[stratum]` section.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawStratum {
    /// Listening address, `IP:PORT` (the `--stratum` flag).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    /// The lowest share difficulty handed to a miner (fractional allowed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_difficulty: Option<f64>,
    /// Seconds between shares vardiff aims at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vardiff_target_secs: Option<u32>,
    /// The most connections held at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u32>,
}

/// The `[log]` section.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawLog {
    /// `error`, `warn`, `info`, `debug` or `trace`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
}

/// A list setting that also accepts a single string, read as a list of one.
fn one_or_many<'de, D>(deserializer: D) -> Result<Option<Vec<String>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct OneOrMany;

    impl<'de> serde::de::Visitor<'de> for OneOrMany {
        type Value = Vec<String>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string or an array of strings")
        }

        fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Self::Value, E> {
            Ok(vec![value.to_owned()])
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut list = Vec::new();
            while let Some(item) = seq.next_element()? {
                list.push(item);
            }
            Ok(list)
        }
    }

    deserializer.deserialize_any(OneOrMany).map(Some)
}

impl RawStratum {
    fn is_empty(&self) -> bool {
        *self == RawStratum::default()
    }
}

impl RawLog {
    fn is_empty(&self) -> bool {
        *self == RawLog::default()
    }
}

impl RawOptions {
    /// Parses TOML text; `path` only names the file in errors.
    pub fn from_toml(text: &str, path: &Path) -> Result<RawOptions, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::ParseFile {
            path: path.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })
    }

    /// Reads and parses a TOML file.
    pub fn from_toml_file(path: &Path) -> Result<RawOptions, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
            path: path.to_owned(),
            source,
        })?;
        RawOptions::from_toml(&text, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RawOptions, ConfigError> {
        RawOptions::from_toml(text, Path::new("/etc/otedama.toml"))
    }

    #[test]
    fn every_key_parses() {
        let raw = parse(
            r#"
            coin = "bitcoin"
            network = "regtest"
            data_dir = "/var/lib/otedama"
            daemon_url = ["http://127.0.0.1:18443", "http://10.0.0.2:18443"]
            daemon_user = "u"
            daemon_password = "p"
            daemon_zmq = "tcp://127.0.0.1:28332"
            api = "127.0.0.1:1"
            p2p = "/ip4/0.0.0.0/tcp/2"
            bootstrap = ["/ip4/10.0.0.3/tcp/2"]
            [stratum]
            listen = "0.0.0.0:3"
            min_difficulty = 1
            vardiff_target_secs = 5
            max_connections = 100
            [log]
            level = "debug"
            "#,
        )
        .expect("valid file");
        assert_eq!(raw.coin.as_deref(), Some("bitcoin"));
        assert_eq!(raw.daemon_url.as_ref().map(Vec::len), Some(2));
        assert_eq!(
            raw.daemon_zmq,
            Some(vec!["tcp://127.0.0.1:28332".to_owned()]),
            "a plain string is a list of one"
        );
        // An integer is accepted where a fractional difficulty is expected.
        assert_eq!(raw.stratum.min_difficulty, Some(1.0));
        assert_eq!(raw.log.level.as_deref(), Some("debug"));
    }

    #[test]
    fn daemon_zmq_takes_an_array_or_a_string() {
        let raw = parse("daemon_zmq = ['tcp://a:1', 'tcp://b:2']\n").expect("an array");
        assert_eq!(
            raw.daemon_zmq,
            Some(vec!["tcp://a:1".to_owned(), "tcp://b:2".to_owned()])
        );
        let raw = parse("daemon_zmq = 'tcp://a:1'\n").expect("a string");
        assert_eq!(raw.daemon_zmq, Some(vec!["tcp://a:1".to_owned()]));
        let raw = parse("daemon_zmq = []\n").expect("an empty array");
        assert_eq!(raw.daemon_zmq, Some(Vec::new()));
        assert_eq!(parse("").expect("empty").daemon_zmq, None);
        for bad in ["daemon_zmq = 28332\n", "daemon_zmq = ['tcp://a:1', 2]\n"] {
            let err = parse(bad).unwrap_err().to_string();
            assert!(err.contains("daemon_zmq"), "{bad}: {err}");
        }
        let err = parse("daemon_zmq = 28332\n").unwrap_err().to_string();
        assert!(
            err.contains("expected a string or an array of strings"),
            "{err}"
        );
    }

    #[test]
    fn a_list_of_zmq_endpoints_renders_as_an_array_and_reads_back() {
        let raw = RawOptions {
            daemon_zmq: Some(vec!["tcp://a:1".into(), "tcp://b:2".into()]),
            ..RawOptions::default()
        };
        let text = toml::to_string(&raw).expect("renders");
        assert_eq!(text, "daemon_zmq = [\"tcp://a:1\", \"tcp://b:2\"]\n");
        assert_eq!(parse(&text).expect("reads back"), raw);
    }

    #[test]
    fn unknown_top_level_key_is_named_with_the_file() {
        let err = parse("stratumm = \"0.0.0.0:1\"\n").unwrap_err().to_string();
        assert!(err.contains("/etc/otedama.toml"), "{err}");
        assert!(err.contains("unknown field `stratumm`"), "{err}");
    }

    #[test]
    fn unknown_key_in_a_section_is_an_error() {
        let err = parse("[stratum]\nmin_diff = 1\n").unwrap_err().to_string();
        assert!(err.contains("unknown field `min_diff`"), "{err}");
        let err = parse("[log]\nlevell = \"info\"\n").unwrap_err().to_string();
        assert!(err.contains("unknown field `levell`"), "{err}");
    }

    #[test]
    fn unknown_section_is_an_error() {
        let err = parse("[wallet]\nseed = 1\n").unwrap_err().to_string();
        assert!(err.contains("unknown field `wallet`"), "{err}");
    }

    #[test]
    fn wrong_types_are_errors() {
        let err = parse("daemon_url = \"http://a:1\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("daemon_url"), "{err}");
        let err = parse("[stratum]\nmax_connections = -1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("max_connections"), "{err}");
    }

    #[test]
    fn empty_file_gives_empty_options() {
        assert_eq!(parse("").expect("empty is valid"), RawOptions::default());
    }
}
