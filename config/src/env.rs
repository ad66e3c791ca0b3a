//! The environment layer: `OTEDAMA_*` variables into [`RawOptions`], plus `HOME` for defaults.
//!
//! It reads whatever variables it is handed, never the process environment itself, so tests
//! can pass a plain list. Rules: an `OTEDAMA_*` name that is not a setting is an error (with the
//! closest known name); an empty value counts as unset; list settings (`OTEDAMA_DAEMON_URL`,
//! `OTEDAMA_DAEMON_ZMQ`, `OTEDAMA_BOOTSTRAP`) are comma-separated; path settings may be any
//! bytes, the others must be UTF-8. Names under `OTEDAMA_TEST_` belong to the test scripts
//! (`OTEDAMA_TEST_THREADS`) and are ignored, so that a node started by a test does not refuse the
//! variables its harness set.

use crate::error::ConfigError;
use crate::raw::RawOptions;
use crate::setting::{Origin, Place, Setting};
use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::str::FromStr;

/// Variables for the test scripts, not settings of the node.
const TEST_PREFIX: &str = "OTEDAMA_TEST_";

/// What the environment contributes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EnvLayer {
    /// The settings given by `OTEDAMA_*` variables.
    pub options: RawOptions,
    /// `OTEDAMA_CONFIG`: the TOML file to read when `--config` is not given.
    pub config: Option<PathBuf>,
    /// `HOME`, the base of the default data directory and daemon cookie path.
    pub home: Option<PathBuf>,
}

impl EnvLayer {
    /// Reads the layer from `vars` (pass `std::env::vars_os()` for the real process).
    pub fn parse<I, K, V>(vars: I) -> Result<EnvLayer, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        // Sorted, so that with several bad variables the same one is reported every time.
        let mut vars: Vec<(String, OsString)> = vars
            .into_iter()
            .filter_map(|(k, v)| {
                let name = k.as_ref().to_str()?.to_owned();
                let ours = name == "HOME"
                    || (name.starts_with("OTEDAMA_") && !name.starts_with(TEST_PREFIX));
                (ours && !v.as_ref().is_empty()).then(|| (name, v.as_ref().to_owned()))
            })
            .collect();
        vars.sort();

        let mut layer = EnvLayer::default();
        for (name, value) in vars {
            if name == "HOME" {
                layer.home = Some(PathBuf::from(value));
                continue;
            }
            let Some(setting) = Setting::from_env_name(&name) else {
                return Err(ConfigError::UnknownEnv {
                    suggestion: Setting::closest_env_name(&name),
                    name,
                });
            };
            layer.set(setting, value)?;
        }
        Ok(layer)
    }

    fn set(&mut self, setting: Setting, value: OsString) -> Result<(), ConfigError> {
        let o = &mut self.options;
        match setting {
            Setting::Config => self.config = Some(value.into()),
            Setting::DataDir => o.data_dir = Some(value.into()),
            Setting::DaemonCookie => o.daemon_cookie = Some(value.into()),
            _ => {
                let text = value
                    .into_string()
                    .map_err(|_| ConfigError::EnvNotUnicode {
                        name: setting.env(),
                    })?;
                match setting {
                    Setting::Coin => o.coin = Some(text),
                    Setting::Network => o.network = Some(text),
                    Setting::DaemonUrl => o.daemon_url = Some(split_list(&text)),
                    Setting::DaemonUser => o.daemon_user = Some(text),
                    Setting::DaemonPassword => o.daemon_password = Some(text),
                    Setting::DaemonZmq => o.daemon_zmq = Some(split_list(&text)),
                    Setting::Stratum => o.stratum.listen = Some(text),
                    Setting::Api => o.api = Some(text),
                    Setting::P2p => o.p2p = Some(text),
                    Setting::Bootstrap => o.bootstrap = Some(split_list(&text)),
                    Setting::P2pLimitLoopback => {
                        o.p2p_limit_loopback = Some(number(setting, &text)?);
                    }
                    Setting::StratumMinDifficulty => {
                        o.stratum.min_difficulty = Some(number(setting, &text)?);
                    }
                    Setting::StratumVardiffTargetSecs => {
                        o.stratum.vardiff_target_secs = Some(number(setting, &text)?);
                    }
                    Setting::StratumMaxConnections => {
                        o.stratum.max_connections = Some(number(setting, &text)?);
                    }
                    Setting::LogLevel => o.log.level = Some(text),
                    Setting::Config | Setting::DataDir | Setting::DaemonCookie => {
                        unreachable!("path settings are handled above")
                    }
                }
            }
        }
        Ok(())
    }
}

/// Splits a comma-separated list, trimming spaces around items. Empty items are kept so that
/// validation reports them instead of silently dropping a typo like `a,,b`.
fn split_list(text: &str) -> Vec<String> {
    text.split(',').map(|s| s.trim().to_owned()).collect()
}

fn number<T>(setting: Setting, text: &str) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    text.trim()
        .parse()
        .map_err(|e: T::Err| ConfigError::Invalid {
            place: Place {
                setting,
                origin: Origin::Env,
            },
            value: text.to_owned(),
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(vars: &[(&str, &str)]) -> Result<EnvLayer, ConfigError> {
        EnvLayer::parse(vars.iter().copied())
    }

    #[test]
    fn every_variable_lands_in_its_field() {
        let layer = parse(&[
            ("OTEDAMA_CONFIG", "/etc/o.toml"),
            ("OTEDAMA_COIN", "bitcoin"),
            ("OTEDAMA_NETWORK", "signet"),
            ("OTEDAMA_DATA_DIR", "/d"),
            ("OTEDAMA_DAEMON_URL", "http://a:1, http://b:2"),
            ("OTEDAMA_DAEMON_USER", "u"),
            ("OTEDAMA_DAEMON_PASSWORD", "p"),
            ("OTEDAMA_DAEMON_COOKIE", "/c"),
            ("OTEDAMA_DAEMON_ZMQ", "tcp://127.0.0.1:28332"),
            ("OTEDAMA_STRATUM", "0.0.0.0:1"),
            ("OTEDAMA_API", "127.0.0.1:2"),
            ("OTEDAMA_P2P", "/ip4/0.0.0.0/tcp/3"),
            ("OTEDAMA_BOOTSTRAP", "/ip4/1.2.3.4/tcp/3"),
            ("OTEDAMA_P2P_LIMIT_LOOPBACK", "true"),
            ("OTEDAMA_STRATUM_MIN_DIFFICULTY", "0.5"),
            ("OTEDAMA_STRATUM_VARDIFF_TARGET_SECS", "7"),
            ("OTEDAMA_STRATUM_MAX_CONNECTIONS", "9"),
            ("OTEDAMA_LOG_LEVEL", "debug"),
            ("HOME", "/home/m"),
            ("PATH", "/bin"),
        ])
        .expect("all known");
        let o = &layer.options;
        assert_eq!(layer.config, Some("/etc/o.toml".into()));
        assert_eq!(layer.home, Some("/home/m".into()));
        assert_eq!(o.coin.as_deref(), Some("bitcoin"));
        assert_eq!(o.network.as_deref(), Some("signet"));
        assert_eq!(o.data_dir, Some("/d".into()));
        assert_eq!(
            o.daemon_url,
            Some(vec!["http://a:1".into(), "http://b:2".into()])
        );
        assert_eq!(o.daemon_user.as_deref(), Some("u"));
        assert_eq!(o.daemon_password.as_deref(), Some("p"));
        assert_eq!(o.daemon_cookie, Some("/c".into()));
        assert_eq!(o.daemon_zmq, Some(vec!["tcp://127.0.0.1:28332".into()]));
        assert_eq!(o.stratum.listen.as_deref(), Some("0.0.0.0:1"));
        assert_eq!(o.api.as_deref(), Some("127.0.0.1:2"));
        assert_eq!(o.p2p.as_deref(), Some("/ip4/0.0.0.0/tcp/3"));
        assert_eq!(o.bootstrap, Some(vec!["/ip4/1.2.3.4/tcp/3".into()]));
        assert_eq!(o.p2p_limit_loopback, Some(true));
        assert_eq!(o.stratum.min_difficulty, Some(0.5));
        assert_eq!(o.stratum.vardiff_target_secs, Some(7));
        assert_eq!(o.stratum.max_connections, Some(9));
        assert_eq!(o.log.level.as_deref(), Some("debug"));
    }

    #[test]
    fn daemon_zmq_is_a_comma_separated_list() {
        let layer = parse(&[(
            "OTEDAMA_DAEMON_ZMQ",
            "tcp://127.0.0.1:28332, tcp://10.0.0.2:28332",
        )])
        .expect("a list");
        assert_eq!(
            layer.options.daemon_zmq,
            Some(vec![
                "tcp://127.0.0.1:28332".into(),
                "tcp://10.0.0.2:28332".into()
            ])
        );
    }

    #[test]
    fn unknown_variable_suggests_the_closest() {
        let err = parse(&[("OTEDAMA_STRATUMM", "0.0.0.0:1")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown environment variable OTEDAMA_STRATUMM: did you mean OTEDAMA_STRATUM?"
        );
    }

    #[test]
    fn unknown_variable_far_from_all_lists_the_known_ones() {
        let err = parse(&[("OTEDAMA_WALLET_SEED", "x")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("the known ones are OTEDAMA_CONFIG"), "{err}");
    }

    #[test]
    fn empty_values_count_as_unset() {
        let layer = parse(&[("OTEDAMA_COIN", ""), ("OTEDAMA_NOPE", "")]).expect("empty ignored");
        assert_eq!(layer, EnvLayer::default());
    }

    #[test]
    fn other_variables_are_ignored() {
        let layer = parse(&[
            ("OTEDAMAX", "1"),
            ("RUST_LOG", "debug"),
            ("OTEDAMA_TEST_THREADS", "4"),
        ])
        .expect("not ours");
        assert_eq!(layer, EnvLayer::default());
    }

    #[test]
    fn bad_numbers_name_the_variable() {
        let err = parse(&[("OTEDAMA_STRATUM_MAX_CONNECTIONS", "many")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "OTEDAMA_STRATUM_MAX_CONNECTIONS: invalid value `many`: invalid digit found in string"
        );
    }

    #[cfg(unix)]
    #[test]
    fn paths_may_be_any_bytes_but_names_must_be_utf8() {
        use std::os::unix::ffi::OsStringExt;
        let bytes = OsString::from_vec(vec![b'/', 0xff]);
        let layer = EnvLayer::parse([("OTEDAMA_DATA_DIR", bytes.clone())]).expect("a path");
        assert_eq!(layer.options.data_dir, Some(PathBuf::from(bytes.clone())));
        let err = EnvLayer::parse([("OTEDAMA_COIN", bytes)]).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::EnvNotUnicode {
                name: "OTEDAMA_COIN"
            }
        ));
    }
}
