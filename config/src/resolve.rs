//! Merging the layers and checking every value: the one place a [`NodeConfig`] is made.
//!
//! Each setting is taken from the highest layer that gives it (flags, then environment, then
//! file, then the built-in default); lists are taken whole, never concatenated across layers.
//! Values are then checked with the layer remembered, so an error names the flag, variable or
//! file key the user has to fix.

use crate::daemon::{DaemonAuth, DaemonConfig, DaemonUrl, Password, ZmqEndpoint};
use crate::defaults;
use crate::error::ConfigError;
use crate::node_config::{LogConfig, LogLevel, NodeConfig, P2pConfig, StratumConfig};
use crate::raw::RawOptions;
use crate::setting::{Origin, Place, Setting};
use std::fmt::Display;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The layers to merge, each already parsed, and what defaults need from the environment.
#[derive(Clone, Debug, Default)]
pub struct Layers {
    /// The TOML file and its path, if one was given.
    pub file: Option<(RawOptions, PathBuf)>,
    /// The `OTEDAMA_*` variables.
    pub env: RawOptions,
    /// The command-line flags.
    pub cli: RawOptions,
    /// The home directory, for defaults under it and for `~/` in paths.
    pub home: Option<PathBuf>,
}

/// Merges and checks the layers into the node's configuration.
pub fn resolve(layers: &Layers) -> Result<NodeConfig, ConfigError> {
    let stack = Stack::new(layers);
    let home = layers.home.as_deref();

    let coin_pick = stack.parsed(Setting::Coin, |r| r.coin.as_deref())?;
    let coin = coin_pick.map_or(defaults::COIN, |(c, _)| c);
    let (network, network_place) = stack
        .parsed(Setting::Network, |r| r.network.as_deref())?
        .unwrap_or((defaults::NETWORK, default_place(Setting::Network)));
    let params = coin
        .params(network)
        .map_err(|source| ConfigError::UnsupportedNetwork {
            place: network_place,
            source,
        })?;

    let data_dir = match stack.path(Setting::DataDir, home, |r| r.data_dir.as_deref())? {
        Some((dir, _)) => dir,
        None => defaults::data_dir(
            home.ok_or_else(|| no_home("data directory", Setting::DataDir))?,
            coin,
            network,
        ),
    };

    let urls = match stack.pick(Setting::DaemonUrl, |r| r.daemon_url.as_deref()) {
        Some((list, place)) => daemon_urls(list, &place)?,
        None => vec![defaults::daemon_url(params)
            .parse()
            .expect("a loopback URL with a port is valid")],
    };
    let auth = daemon_auth(&stack, home, || {
        Ok(defaults::daemon_cookie(
            home.ok_or_else(|| no_home("daemon cookie file", Setting::DaemonCookie))?,
            coin,
            network,
        ))
    })?;

    let zmq = match stack.pick(Setting::DaemonZmq, |r| r.daemon_zmq.as_deref()) {
        Some((list, place)) => zmq_endpoints(list, &place)?,
        None => Vec::new(),
    };

    let (stratum_listen, stratum_place) = stack
        .checked(
            Setting::Stratum,
            |r| r.stratum.listen.as_deref(),
            listen_addr,
        )?
        .unwrap_or_else(|| {
            let port = defaults::stratum_port(coin, network);
            (([0, 0, 0, 0], port).into(), default_place(Setting::Stratum))
        });
    let (api, api_place) = stack
        .checked(Setting::Api, |r| r.api.as_deref(), listen_addr)?
        .unwrap_or_else(|| {
            let port = defaults::api_port(coin, network);
            (([127, 0, 0, 1], port).into(), default_place(Setting::Api))
        });
    if clash(stratum_listen, api) {
        return Err(ConfigError::SameAddress {
            first: stratum_place,
            second: api_place,
            addr: api,
        });
    }

    let stratum = StratumConfig {
        listen: stratum_listen,
        min_difficulty: stack
            .number(
                Setting::StratumMinDifficulty,
                |r| r.stratum.min_difficulty,
                |d| {
                    (d.is_finite() && d > 0.0)
                        .then_some(())
                        .ok_or("must be a positive number")
                },
            )?
            .unwrap_or(defaults::MIN_DIFFICULTY),
        vardiff_target_secs: stack
            .number(
                Setting::StratumVardiffTargetSecs,
                |r| r.stratum.vardiff_target_secs,
                |s| {
                    (1..=3600)
                        .contains(&s)
                        .then_some(())
                        .ok_or("must be 1 to 3600 seconds")
                },
            )?
            .unwrap_or(defaults::VARDIFF_TARGET_SECS),
        max_connections: stack
            .number(
                Setting::StratumMaxConnections,
                |r| r.stratum.max_connections,
                |n| (n >= 1).then_some(()).ok_or("must be at least 1"),
            )?
            .unwrap_or(defaults::MAX_CONNECTIONS),
    };

    let p2p = P2pConfig {
        listen: match stack.checked(Setting::P2p, |r| r.p2p.as_deref(), multiaddr)? {
            Some((addr, _)) => addr,
            None => format!("/ip4/0.0.0.0/tcp/{}", defaults::p2p_port(coin, network)),
        },
        bootstrap: match stack.pick(Setting::Bootstrap, |r| r.bootstrap.as_deref()) {
            Some((list, place)) => list
                .iter()
                .map(|a| multiaddr(a).map_err(|reason| invalid(&place, a, reason)))
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        },
        limit_loopback: stack
            .number(
                Setting::P2pLimitLoopback,
                |r| r.p2p_limit_loopback,
                |_| Ok(()),
            )?
            .unwrap_or(false),
    };

    let level = stack
        .parsed::<LogLevel>(Setting::LogLevel, |r| r.log.level.as_deref())?
        .map_or(LogLevel::Info, |(l, _)| l);

    Ok(NodeConfig {
        coin,
        network,
        data_dir,
        daemon: DaemonConfig { urls, auth, zmq },
        stratum,
        api,
        p2p,
        log: LogConfig { level },
        config_file: layers.file.as_ref().map(|(_, path)| path.clone()),
    })
}

/// The layers in precedence order, highest first.
struct Stack<'a> {
    layers: Vec<(Origin, &'a RawOptions)>,
}

impl<'a> Stack<'a> {
    fn new(layers: &'a Layers) -> Stack<'a> {
        let mut stack = vec![(Origin::Cli, &layers.cli), (Origin::Env, &layers.env)];
        if let Some((raw, path)) = &layers.file {
            stack.push((Origin::File(path.clone()), raw));
        }
        Stack { layers: stack }
    }

    /// The value of the highest layer that gives `setting`, and where it came from.
    fn pick<T: ?Sized>(
        &self,
        setting: Setting,
        get: impl Fn(&'a RawOptions) -> Option<&'a T>,
    ) -> Option<(&'a T, Place)> {
        self.layers.iter().find_map(|(origin, raw)| {
            get(raw).map(|v| {
                let origin = origin.clone();
                (v, Place { setting, origin })
            })
        })
    }

    /// Like [`Stack::pick`], then checked by `check`, which returns the typed value or a reason.
    fn checked<T, E: Display>(
        &self,
        setting: Setting,
        get: impl Fn(&'a RawOptions) -> Option<&'a str>,
        check: impl Fn(&str) -> Result<T, E>,
    ) -> Result<Option<(T, Place)>, ConfigError> {
        self.pick(setting, get)
            .map(|(text, place)| match check(text) {
                Ok(value) => Ok((value, place)),
                Err(reason) => Err(invalid(&place, text, reason)),
            })
            .transpose()
    }

    /// A text setting parsed with its type's `FromStr`.
    fn parsed<T>(
        &self,
        setting: Setting,
        get: impl Fn(&'a RawOptions) -> Option<&'a str>,
    ) -> Result<Option<(T, Place)>, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.checked(setting, get, str::parse::<T>)
    }

    /// A number setting (already typed by its layer), checked against its range.
    fn number<T: Copy + Display>(
        &self,
        setting: Setting,
        get: impl Fn(&'a RawOptions) -> Option<T>,
        check: impl Fn(T) -> Result<(), &'static str>,
    ) -> Result<Option<T>, ConfigError> {
        let found = self.layers.iter().find_map(|(origin, raw)| {
            get(raw).map(|v| {
                let origin = origin.clone();
                (v, Place { setting, origin })
            })
        });
        match found {
            Some((value, place)) => match check(value) {
                Ok(()) => Ok(Some(value)),
                Err(reason) => Err(invalid(&place, value, reason)),
            },
            None => Ok(None),
        }
    }

    /// A path setting: `~/` is the home directory, and a relative path in the TOML file is
    /// relative to the file's directory (on the command line and in the environment, to the
    /// working directory, as shells do).
    fn path(
        &self,
        setting: Setting,
        home: Option<&Path>,
        get: impl Fn(&'a RawOptions) -> Option<&'a Path>,
    ) -> Result<Option<(PathBuf, Place)>, ConfigError> {
        let Some((path, place)) = self.pick(setting, get) else {
            return Ok(None);
        };
        if path.as_os_str().is_empty() {
            return Err(invalid(&place, "", "must not be empty"));
        }
        let path = match path.strip_prefix("~") {
            Ok(rest) => match home {
                Some(home) => home.join(rest),
                None => {
                    let reason = "`~` needs HOME, which is not set";
                    return Err(invalid(&place, path.display(), reason));
                }
            },
            Err(_) => match &place.origin {
                Origin::File(file) if path.is_relative() => {
                    file.parent().unwrap_or(Path::new("")).join(path)
                }
                _ => path.to_owned(),
            },
        };
        Ok(Some((path, place)))
    }
}

fn daemon_urls(list: &[String], place: &Place) -> Result<Vec<DaemonUrl>, ConfigError> {
    if list.is_empty() {
        return Err(invalid(place, "[]", "at least one URL is needed"));
    }
    let mut urls: Vec<DaemonUrl> = Vec::with_capacity(list.len());
    for text in list {
        let url: DaemonUrl = text.parse().map_err(|e| invalid(place, text, e))?;
        if urls.contains(&url) {
            return Err(invalid(place, text, "listed twice"));
        }
        urls.push(url);
    }
    Ok(urls)
}

/// The ZMQ publishers, each checked and listed once (an empty list means none, overriding a
/// lower layer's).
fn zmq_endpoints(list: &[String], place: &Place) -> Result<Vec<ZmqEndpoint>, ConfigError> {
    let mut endpoints: Vec<ZmqEndpoint> = Vec::with_capacity(list.len());
    for text in list {
        let endpoint: ZmqEndpoint = text.parse().map_err(|e| invalid(place, text, e))?;
        if endpoints.contains(&endpoint) {
            let reason = format!("{endpoint} is listed twice; give each publisher once");
            return Err(invalid(place, text, reason));
        }
        endpoints.push(endpoint);
    }
    Ok(endpoints)
}

/// User and password, or a cookie file: exactly one of the two, defaulting to the daemon's own
/// cookie file when neither is given.
fn daemon_auth(
    stack: &Stack<'_>,
    home: Option<&Path>,
    default_cookie: impl FnOnce() -> Result<PathBuf, ConfigError>,
) -> Result<DaemonAuth, ConfigError> {
    let user = stack.pick(Setting::DaemonUser, |r| r.daemon_user.as_deref());
    let password = stack.pick(Setting::DaemonPassword, |r| r.daemon_password.as_deref());
    let cookie = stack.path(Setting::DaemonCookie, home, |r| r.daemon_cookie.as_deref())?;
    for (text, place) in user.iter().chain(password.iter()) {
        if text.is_empty() {
            return Err(invalid(place, "", "must not be empty"));
        }
    }
    match (user, password, cookie) {
        (_, Some((_, password)), Some((_, cookie))) => {
            Err(ConfigError::PasswordAndCookie { password, cookie })
        }
        (Some((user, _)), Some((password, _)), None) => Ok(DaemonAuth::UserPassword {
            user: user.to_owned(),
            password: Password::new(password.to_owned()),
        }),
        (Some((_, given)), None, _) => Err(ConfigError::IncompleteCredentials {
            given,
            missing: Setting::DaemonPassword,
        }),
        (None, Some((_, given)), None) => Err(ConfigError::IncompleteCredentials {
            given,
            missing: Setting::DaemonUser,
        }),
        (None, None, Some((path, _))) => Ok(DaemonAuth::Cookie { path }),
        (None, None, None) => Ok(DaemonAuth::Cookie {
            path: default_cookie()?,
        }),
    }
}

/// A listening address: an IP address and a port (0 for any free port), no host names.
fn listen_addr(text: &str) -> Result<SocketAddr, &'static str> {
    text.trim()
        .parse()
        .map_err(|_| "expected IP:PORT, such as 0.0.0.0:9327 or [::]:9327 (not a host name)")
}

/// Whether two listeners would fight for one port: same port, and the same IP or one of them on
/// every interface.
fn clash(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() != 0
        && a.port() == b.port()
        && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
}

/// The shape of a multiaddress (`/proto/value/…`); the network layer parses it fully.
fn multiaddr(text: &str) -> Result<String, &'static str> {
    let shape = "expected a multiaddress such as /ip4/0.0.0.0/tcp/9328";
    let rest = text.strip_prefix('/').ok_or(shape)?;
    let parts: Vec<&str> = rest.split('/').collect();
    if parts.len() < 2
        || parts
            .iter()
            .any(|p| p.is_empty() || p.contains(char::is_whitespace))
    {
        return Err(shape);
    }
    Ok(text.to_owned())
}

fn invalid(place: &Place, value: impl Display, reason: impl Display) -> ConfigError {
    ConfigError::Invalid {
        place: place.clone(),
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

fn default_place(setting: Setting) -> Place {
    Place {
        setting,
        origin: Origin::Default,
    }
}

fn no_home(what: &'static str, setting: Setting) -> ConfigError {
    ConfigError::NoHome { what, setting }
}

#[cfg(test)]
#[path = "resolve_tests.rs"]
mod tests;
