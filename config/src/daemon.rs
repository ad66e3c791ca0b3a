//! How the node reaches its coin daemon: checked URLs and credentials.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// The daemon settings, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaemonConfig {
    /// JSON-RPC endpoints, never empty: the first is used, the others are failovers in order.
    pub urls: Vec<DaemonUrl>,
    /// How to log in.
    pub auth: DaemonAuth,
}

/// How the node logs in to the daemon's JSON-RPC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DaemonAuth {
    /// A fixed user and password (`rpcuser`/`rpcpassword` or `rpcauth` on the daemon).
    UserPassword {
        /// The user name.
        user: String,
        /// The password.
        password: Password,
    },
    /// The cookie file the daemon writes at each start. It is read when connecting, not when
    /// the configuration is resolved, because the daemon may start after the node and rewrites
    /// the file on every restart.
    Cookie {
        /// Where the daemon writes it.
        path: PathBuf,
    },
}

/// A secret that never shows in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Wraps a password.
    pub fn new(password: String) -> Password {
        Password(password)
    }

    /// The password itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<hidden>)")
    }
}

/// A daemon JSON-RPC endpoint: `http://HOST:PORT` or `https://HOST:PORT`, nothing more (no path,
/// no credentials inside the URL: they have their own settings, which keeps them out of logs).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DaemonUrl {
    /// Whether the scheme is `https`.
    pub tls: bool,
    /// Host name or IP address (an IPv6 address without its brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
}

/// Why a daemon URL was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}; expected http://HOST:PORT or https://HOST:PORT")]
pub struct BadDaemonUrl(String);

impl FromStr for DaemonUrl {
    type Err = BadDaemonUrl;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| BadDaemonUrl(why.to_owned());
        let (scheme, rest) = s.split_once("://").ok_or_else(|| bad("no scheme"))?;
        let tls = match scheme.to_ascii_lowercase().as_str() {
            "http" => false,
            "https" => true,
            _ => {
                return Err(BadDaemonUrl(format!(
                    "scheme `{scheme}` is not http or https"
                )))
            }
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains('@') {
            return Err(bad("credentials inside the URL are not accepted (use --daemon-user and --daemon-password, or --daemon-cookie)"));
        }
        if authority.contains(['/', '?', '#']) {
            return Err(bad("a path, query or fragment is not accepted"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(|| bad("unclosed `[`"))?;
            if host.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(BadDaemonUrl(format!("`{host}` is not an IPv6 address")));
            }
            let port = after.strip_prefix(':').ok_or_else(|| bad("no port"))?;
            (host, port)
        } else {
            let (host, port) = authority.rsplit_once(':').ok_or_else(|| bad("no port"))?;
            let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_');
            if host.is_empty() || !host.chars().all(valid) {
                return Err(BadDaemonUrl(format!("`{host}` is not a host name")));
            }
            (host, port)
        };
        let port = match port.parse::<u16>() {
            Ok(p) if p != 0 => p,
            _ => return Err(BadDaemonUrl(format!("`{port}` is not a port (1-65535)"))),
        };
        Ok(DaemonUrl {
            tls,
            host: host.to_owned(),
            port,
        })
    }
}

impl fmt::Display for DaemonUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "https" } else { "http" };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Result<DaemonUrl, BadDaemonUrl> {
        s.parse()
    }

    #[test]
    fn accepts_host_ipv4_ipv6_and_a_trailing_slash() {
        let u = url("http://127.0.0.1:9332").expect("valid");
        assert_eq!((u.tls, u.host.as_str(), u.port), (false, "127.0.0.1", 9332));
        let u = url("HTTPS://node.example:443/").expect("valid");
        assert_eq!(
            (u.tls, u.host.as_str(), u.port),
            (true, "node.example", 443)
        );
        let u = url("http://[::1]:18443").expect("valid");
        assert_eq!(u.host, "::1");
        assert_eq!(u.to_string(), "http://[::1]:18443");
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "http://127.0.0.1:9332",
            "https://a-b.c:1",
            "http://[fe80::1]:2",
        ] {
            assert_eq!(url(s).expect("valid").to_string(), s);
        }
    }

    #[test]
    fn refuses_what_is_not_scheme_host_port() {
        let cases = [
            ("127.0.0.1:9332", "no scheme"),
            ("ftp://a:1", "scheme `ftp` is not http or https"),
            ("http://a", "no port"),
            ("http://:1", "`` is not a host name"),
            ("http://a b:1", "`a b` is not a host name"),
            ("http://a:0", "`0` is not a port"),
            ("http://a:65536", "`65536` is not a port"),
            ("http://a:1/wallet/x", "a path"),
            ("http://u:p@a:1", "credentials"),
            ("http://[::1:1", "unclosed"),
            ("http://[zz]:1", "not an IPv6 address"),
        ];
        for (input, why) in cases {
            let err = url(input).unwrap_err().to_string();
            assert!(err.contains(why), "{input}: {err}");
            assert!(err.ends_with("expected http://HOST:PORT or https://HOST:PORT"));
        }
    }

    #[test]
    fn password_debug_hides_it() {
        let auth = DaemonAuth::UserPassword {
            user: "u".into(),
            password: Password::new("hunter2".into()),
        };
        assert!(!format!("{auth:?}").contains("hunter2"));
    }
}
