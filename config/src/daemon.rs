//! How the node reaches its coin daemons: checked URLs, credentials and the ZMQ endpoints.

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
    /// The daemons' ZMQ publishers (`zmqpubhashblock`), typically one per URL, each listed once:
    /// the node subscribes to all of them and an announcement from any brings a new template.
    /// Empty when none is configured (long-poll and the tip poll still find new blocks).
    pub zmq: Vec<ZmqEndpoint>,
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
        let (host, port) = host_port(authority).map_err(BadDaemonUrl)?;
        Ok(DaemonUrl { tls, host, port })
    }
}

impl fmt::Display for DaemonUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "https" } else { "http" };
        write!(f, "{scheme}://")?;
        write_host_port(f, &self.host, self.port)
    }
}

/// Splits `HOST:PORT` (an IPv6 address in brackets) into a checked host and a non-zero port.
fn host_port(authority: &str) -> Result<(String, u16), String> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or("unclosed `[`")?;
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("`{host}` is not an IPv6 address"));
        }
        (host, after.strip_prefix(':').ok_or("no port")?)
    } else {
        let (host, port) = authority.rsplit_once(':').ok_or("no port")?;
        let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_');
        if host.is_empty() || !host.chars().all(valid) {
            return Err(format!("`{host}` is not a host name"));
        }
        (host, port)
    };
    match port.parse::<u16>() {
        Ok(p) if p != 0 => Ok((host.to_owned(), p)),
        _ => Err(format!("`{port}` is not a port (1-65535)")),
    }
}

/// `HOST:PORT`, with an IPv6 address in brackets.
fn write_host_port(f: &mut fmt::Formatter<'_>, host: &str, port: u16) -> fmt::Result {
    if host.contains(':') {
        write!(f, "[{host}]:{port}")
    } else {
        write!(f, "{host}:{port}")
    }
}

/// The daemon's ZMQ publisher: `tcp://HOST:PORT`, the address given to the daemon's
/// `-zmqpubhashblock` (with a wildcard bind address there, the daemon's reachable address here).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ZmqEndpoint {
    /// Host name or IP address (an IPv6 address without its brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl ZmqEndpoint {
    /// `HOST:PORT` (IPv6 in brackets), as a TCP connect takes it.
    pub fn address(&self) -> String {
        let text = self.to_string();
        text["tcp://".len()..].to_owned()
    }
}

/// Why a ZMQ endpoint was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}; expected tcp://HOST:PORT, such as tcp://127.0.0.1:28332")]
pub struct BadZmqEndpoint(String);

impl FromStr for ZmqEndpoint {
    type Err = BadZmqEndpoint;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (scheme, authority) = s
            .split_once("://")
            .ok_or_else(|| BadZmqEndpoint("no scheme".into()))?;
        if !scheme.eq_ignore_ascii_case("tcp") {
            return Err(BadZmqEndpoint(format!(
                "scheme `{scheme}` is not tcp (only ZMQ over TCP is supported)"
            )));
        }
        if authority.contains(['/', '?', '#', '@', ';']) {
            return Err(BadZmqEndpoint(
                "a path, credentials or a source address is not accepted".into(),
            ));
        }
        let (host, port) = host_port(authority).map_err(BadZmqEndpoint)?;
        Ok(ZmqEndpoint { host, port })
    }
}

impl fmt::Display for ZmqEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tcp://")?;
        write_host_port(f, &self.host, self.port)
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
    fn zmq_endpoint_accepts_tcp_host_port_and_round_trips() {
        for (text, host, port) in [
            ("tcp://127.0.0.1:28332", "127.0.0.1", 28332),
            ("tcp://litecoind.lan:28332", "litecoind.lan", 28332),
            ("tcp://[::1]:28332", "::1", 28332),
        ] {
            let z: ZmqEndpoint = text.parse().expect("valid");
            assert_eq!((z.host.as_str(), z.port), (host, port));
            assert_eq!(z.to_string(), text);
        }
        let z: ZmqEndpoint = "TCP://[::1]:5".parse().expect("valid");
        assert_eq!(z.address(), "[::1]:5");
        assert_eq!(z.to_string(), "tcp://[::1]:5");
    }

    #[test]
    fn zmq_endpoint_refuses_what_is_not_tcp_host_port() {
        let cases = [
            ("127.0.0.1:28332", "no scheme"),
            ("ipc:///tmp/zmq", "scheme `ipc` is not tcp"),
            ("http://a:1", "scheme `http` is not tcp"),
            ("tcp://a", "no port"),
            ("tcp://*:28332", "`*` is not a host name"),
            ("tcp://a:0", "`0` is not a port"),
            ("tcp://a:1/", "a path"),
            ("tcp://10.0.0.1;127.0.0.1:1", "source address"),
            ("tcp://[::1:1", "unclosed"),
        ];
        for (input, why) in cases {
            let err = input.parse::<ZmqEndpoint>().unwrap_err().to_string();
            assert!(err.contains(why), "{input}: {err}");
            assert!(err.ends_with("expected tcp://HOST:PORT, such as tcp://127.0.0.1:28332"));
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
