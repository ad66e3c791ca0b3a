//! Pool addresses as users write them: `stratum+tcp://HOST:PORT`.

use std::fmt;
use std::str::FromStr;

/// A pool's host and port.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PoolUrl {
    /// A host name or IP address (IPv6 without brackets).
    pub host: String,
    /// The TCP port.
    pub port: u16,
}

/// A pool URL that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolUrlError {
    /// A scheme other than plain Stratum over TCP.
    #[error(
        "pool URL `{url}`: scheme `{scheme}` is not supported (use stratum+tcp://HOST:PORT{hint})"
    )]
    Scheme {
        /// The URL given.
        url: String,
        /// Its scheme.
        scheme: String,
        /// Extra advice for known schemes.
        hint: &'static str,
    },
    /// No `:PORT`, or a port that is not a number from 1 to 65535.
    #[error("pool URL `{0}` needs a port from 1 to 65535: stratum+tcp://HOST:PORT")]
    Port(String),
    /// An empty host, or a path after the port.
    #[error("pool URL `{0}` is not HOST:PORT: stratum+tcp://HOST:PORT")]
    Shape(String),
}

impl PoolUrl {
    /// The `host:port` to connect to (brackets around an IPv6 address).
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for PoolUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stratum+tcp://{}", self.authority())
    }
}

impl FromStr for PoolUrl {
    type Err = PoolUrlError;

    /// Reads `stratum+tcp://HOST:PORT`; `stratum://`, `tcp://` and a bare `HOST:PORT` are
    /// accepted too. A trailing `/` is ignored.
    fn from_str(url: &str) -> Result<Self, Self::Err> {
        let rest = match url.split_once("://") {
            Some((scheme, rest)) => {
                match scheme.to_ascii_lowercase().as_str() {
                    "stratum+tcp" | "stratum" | "tcp" => {}
                    other => {
                        let hint = if other.contains("ssl") || other.contains("tls") {
                            "; TLS is not supported yet"
                        } else {
                            ""
                        };
                        return Err(PoolUrlError::Scheme {
                            url: url.to_owned(),
                            scheme: scheme.to_owned(),
                            hint,
                        });
                    }
                }
                rest
            }
            None => url,
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| PoolUrlError::Shape(url.to_owned()))?;
            let port = after
                .strip_prefix(':')
                .ok_or_else(|| PoolUrlError::Port(url.to_owned()))?;
            (host, port)
        } else {
            rest.rsplit_once(':')
                .ok_or_else(|| PoolUrlError::Port(url.to_owned()))?
        };
        if host.is_empty() || host.contains('/') || port.contains('/') {
            return Err(PoolUrlError::Shape(url.to_owned()));
        }
        let port = port
            .parse::<u16>()
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| PoolUrlError::Port(url.to_owned()))?;
        Ok(PoolUrl {
            host: host.to_owned(),
            port,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(host: &str, port: u16) -> PoolUrl {
        PoolUrl {
            host: host.into(),
            port,
        }
    }

    #[test]
    fn reads_the_usual_forms() {
        assert_eq!(
            "stratum+tcp://pool.example:3333".parse(),
            Ok(url("pool.example", 3333))
        );
        assert_eq!(
            "STRATUM+TCP://10.0.0.1:3333/".parse(),
            Ok(url("10.0.0.1", 3333))
        );
        assert_eq!("127.0.0.1:9".parse(), Ok(url("127.0.0.1", 9)));
        assert_eq!("stratum+tcp://[::1]:3333".parse(), Ok(url("::1", 3333)));
        assert_eq!(url("::1", 3333).to_string(), "stratum+tcp://[::1]:3333");
        assert_eq!(url("a", 1).authority(), "a:1");
    }

    #[test]
    fn says_what_is_wrong() {
        let e = "stratum+ssl://pool:443".parse::<PoolUrl>().unwrap_err();
        assert!(e.to_string().contains("TLS is not supported yet"), "{e}");
        assert_eq!(
            "stratum+tcp://pool".parse::<PoolUrl>(),
            Err(PoolUrlError::Port("stratum+tcp://pool".into()))
        );
        assert!(matches!(
            "pool:0".parse::<PoolUrl>(),
            Err(PoolUrlError::Port(_))
        ));
        assert!(matches!(
            "pool:99999".parse::<PoolUrl>(),
            Err(PoolUrlError::Port(_))
        ));
        assert!(matches!(
            ":3333".parse::<PoolUrl>(),
            Err(PoolUrlError::Shape(_))
        ));
        assert!(matches!(
            "http://pool:80".parse::<PoolUrl>(),
            Err(PoolUrlError::Scheme { .. })
        ));
    }
}
