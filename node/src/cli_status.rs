//! `otedama status`: `GET /api/v1/status` (or `/api/v1/peers` with `--peers`) from a running
//! node and print the JSON readably.
//!
//! One request, so plain HTTP/1.0 over a `std` socket is enough: the node closes the connection
//! after the body, and HTTP/1.0 rules out chunked bodies.

use crate::cli::StatusCommand;
use anyhow::{bail, Context, Result};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// The largest answer read; a status document is a few hundred bytes.
const MAX_RESPONSE: u64 = 1 << 20;

/// Runs `otedama status`.
pub fn run(command: &StatusCommand) -> Result<()> {
    let timeout = Duration::from_secs(command.timeout.max(1));
    let path = if command.peers {
        "/api/v1/peers"
    } else {
        "/api/v1/status"
    };
    let body = http_get(&command.api, path, timeout)?;
    let json: serde_json::Value = serde_json::from_slice(&body).with_context(|| {
        format!(
            "the answer from {} is not JSON: {}",
            command.api,
            String::from_utf8_lossy(&body[..body.len().min(200)])
        )
    })?;
    println!("{}", serde_json::to_string_pretty(&json)?);
    Ok(())
}

/// Fetches `path` from `addr` and returns the body of a 2xx answer.
fn http_get(addr: &str, path: &str, timeout: Duration) -> Result<Vec<u8>> {
    let targets: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .with_context(|| format!("`{addr}` is not a HOST:PORT address"))?
        .collect();
    let mut stream = connect(addr, &targets, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let request = format!(
        "GET {path} HTTP/1.0\r\nHost: {addr}\r\nAccept: application/json\r\n\
         User-Agent: otedama/{}\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    );
    stream
        .write_all(request.as_bytes())
        .with_context(|| format!("cannot send the request to {addr}"))?;
    let mut raw = Vec::new();
    stream
        .take(MAX_RESPONSE + 1)
        .read_to_end(&mut raw)
        .with_context(|| format!("no complete answer from {addr}"))?;
    if raw.len() as u64 > MAX_RESPONSE {
        bail!("the answer from {addr} is larger than {MAX_RESPONSE} bytes");
    }
    let (status, body) = parse_response(&raw).with_context(|| format!("bad answer from {addr}"))?;
    if !(200..300).contains(&status) {
        bail!(
            "{addr} answered {path} with HTTP status {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)]).trim()
        );
    }
    Ok(body)
}

fn connect(addr: &str, targets: &[SocketAddr], timeout: Duration) -> Result<TcpStream> {
    let mut last = None;
    for target in targets {
        match TcpStream::connect_timeout(target, timeout) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = Some(e),
        }
    }
    match last {
        Some(e) if e.kind() == ErrorKind::ConnectionRefused => bail!(
            "nothing is listening at {addr}: is `otedama node` running, with its API on {addr} \
             (--api)?"
        ),
        Some(e) if e.kind() == ErrorKind::TimedOut => {
            bail!("no answer from {addr} within {} s", timeout.as_secs())
        }
        Some(e) => Err(e).with_context(|| format!("cannot connect to {addr}")),
        None => bail!("`{addr}` resolves to no address"),
    }
}

/// Splits an HTTP/1.x response into its status code and body (cut to `Content-Length` if given).
fn parse_response(raw: &[u8]) -> Result<(u16, Vec<u8>)> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("the headers never end")?;
    let head = std::str::from_utf8(&raw[..split]).context("the headers are not text")?;
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let (version, code) = (parts.next(), parts.next());
    if !version.is_some_and(|v| v.starts_with("HTTP/1.")) {
        bail!("not an HTTP/1 status line: {status_line:?}");
    }
    let status: u16 = code
        .and_then(|c| c.parse().ok())
        .with_context(|| format!("no status code in {status_line:?}"))?;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("transfer-encoding") && !value.eq_ignore_ascii_case("identity")
        {
            bail!("unsupported Transfer-Encoding {value:?} in an HTTP/1.0 answer");
        }
        if name.eq_ignore_ascii_case("content-length") {
            let len: usize = value
                .parse()
                .with_context(|| format!("bad Content-Length {value:?}"))?;
            if body.len() < len {
                bail!("the body is cut short: {} of {len} bytes", body.len());
            }
            body.truncate(len);
        }
    }
    Ok((status, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_and_body() {
        let raw = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"a\":1}";
        let (status, body) = parse_response(raw).expect("valid");
        assert_eq!((status, body.as_slice()), (200, &b"{\"a\":1}"[..]));
    }

    #[test]
    fn honours_content_length() {
        let raw = b"HTTP/1.1 404 Not Found\r\ncontent-length: 3\r\n\r\nabcdef";
        let (status, body) = parse_response(raw).expect("valid");
        assert_eq!((status, body.as_slice()), (404, &b"abc"[..]));
        let short = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
        assert!(parse_response(short).is_err());
    }

    #[test]
    fn refuses_what_is_not_http() {
        assert!(parse_response(b"SSH-2.0-OpenSSH\r\n").is_err());
        assert!(parse_response(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
        assert!(parse_response(b"HTTP/1.1 abc\r\n\r\n").is_err());
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
        assert!(parse_response(chunked).is_err());
    }
}
