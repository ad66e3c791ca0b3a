//! The `otedama` binary as a user runs it: help, configuration errors and their exit codes,
//! `node --print-config`, `node`, `status` against a stand-in HTTP server, and `devnet`.
//!
//! Every run starts from an empty environment with `HOME` in a temporary directory, so the
//! machine's own `OTEDAMA_*` variables and home directory never leak in.

use anyhow::{Context, Result};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::thread;

fn otedama(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_otedama"))
        .args(args)
        .env_clear()
        .env("HOME", home)
        .envs(env.iter().copied())
        .output()
        .expect("the otedama binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn help_lists_node_status_and_devnet() -> Result<()> {
    let home = tempfile::tempdir()?;
    let o = otedama(home.path(), &["--help"], &[]);
    assert!(o.status.success());
    let out = stdout(&o);
    for command in ["node", "status", "devnet"] {
        assert!(out.contains(&format!("\n  {command} ")), "{command}: {out}");
    }
    assert!(out.contains("Examples:"), "{out}");
    Ok(())
}

#[test]
fn node_help_explains_file_and_environment() -> Result<()> {
    let home = tempfile::tempdir()?;
    let out = stdout(&otedama(home.path(), &["node", "--help"], &[]));
    for needle in [
        "--daemon-url",
        "--daemon-cookie",
        "--daemon-zmq",
        "--stratum",
        "OTEDAMA_",
        "[stratum]",
    ] {
        assert!(out.contains(needle), "{needle}: {out}");
    }
    Ok(())
}

#[test]
fn print_config_shows_the_resolved_toml() -> Result<()> {
    let home = tempfile::tempdir()?;
    let o = otedama(
        home.path(),
        &[
            "node",
            "--coin",
            "bitcoin",
            "--daemon-zmq",
            "tcp://127.0.0.1:28332",
            "--daemon-zmq",
            "tcp://10.0.0.2:28332",
            "--print-config",
        ],
        &[("OTEDAMA_NETWORK", "regtest")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("coin = \"bitcoin\""), "{out}");
    assert!(out.contains("network = \"regtest\""), "{out}");
    assert!(
        out.contains("daemon_url = [\"http://127.0.0.1:18443\"]"),
        "{out}"
    );
    let printed = otedama_config::RawOptions::from_toml(&out, Path::new("stdout"))?;
    assert_eq!(
        printed.daemon_zmq,
        Some(vec![
            "tcp://127.0.0.1:28332".to_owned(),
            "tcp://10.0.0.2:28332".to_owned()
        ]),
        "{out}"
    );
    let cookie = home.path().join(".bitcoin/regtest/.cookie");
    assert!(
        out.contains(&format!(
            "daemon_cookie = {:?}",
            cookie.display().to_string()
        )),
        "{out}"
    );
    assert!(
        out.contains("[stratum]\nlisten = \"0.0.0.0:39347\""),
        "{out}"
    );
    Ok(())
}

#[test]
fn node_prepares_the_data_dir_and_names_a_stratum_port_in_use() -> Result<()> {
    let home = tempfile::tempdir()?;
    let data_dir = home.path().join("state/ltc");
    let data = data_dir.to_str().context("utf-8 temp path")?;
    let taken = std::net::TcpListener::bind("127.0.0.1:0")?;
    let stratum = taken.local_addr()?.to_string();
    let o = otedama(
        home.path(),
        &[
            "node",
            "--data-dir",
            data,
            "--stratum",
            &stratum,
            "--api",
            "127.0.0.1:0",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(data_dir.is_dir(), "the data directory is created");
    let err = stderr(&o);
    assert!(err.contains("coin=litecoin"), "the config is logged: {err}");
    assert!(
        err.contains(&format!("cannot listen for Stratum on {stratum}")),
        "{err}"
    );
    Ok(())
}

/// Arguments, environment, and a part of the error message expected.
type ErrorCase<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);

#[test]
fn config_errors_exit_non_zero_with_the_message() -> Result<()> {
    let home = tempfile::tempdir()?;
    let file = home.path().join("otedama.toml");
    std::fs::write(&file, "coin = \"litecoin\"\nstratum_port = 3333\n")?;
    let file = file.to_str().context("utf-8 temp path")?;
    let cases: [ErrorCase<'_>; 5] = [
        (
            &["node", "--config", file],
            &[],
            "unknown field `stratum_port`",
        ),
        (
            &["node"],
            &[("OTEDAMA_STRATUMM", "0.0.0.0:1")],
            "unknown environment variable OTEDAMA_STRATUMM: did you mean OTEDAMA_STRATUM?",
        ),
        (
            &["node", "--network", "signet"],
            &[],
            "--network: litecoin has no signet network",
        ),
        (
            &["node", "--daemon-url", "127.0.0.1:9332"],
            &[],
            "--daemon-url: invalid value `127.0.0.1:9332`: no scheme",
        ),
        (
            &[
                "node",
                "--daemon-user",
                "u",
                "--daemon-password",
                "p",
                "--daemon-cookie",
                "/c",
            ],
            &[],
            "both a daemon password (--daemon-password) and a daemon cookie (--daemon-cookie)",
        ),
    ];
    for (args, env, message) in cases {
        let o = otedama(home.path(), args, env);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let err = stderr(&o);
        assert!(err.starts_with("error: invalid configuration: "), "{err}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(o.stdout.is_empty());
    }
    // The unknown key's error also names the file.
    let err = stderr(&otedama(home.path(), &["node", "--config", file], &[]));
    assert!(err.contains(file), "{err}");
    Ok(())
}

#[test]
fn a_bad_flag_value_is_a_usage_error() -> Result<()> {
    let home = tempfile::tempdir()?;
    let o = otedama(home.path(), &["node", "--coin", "dogecoin"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("[possible values: litecoin, bitcoin]"));
    Ok(())
}

/// Serves one HTTP answer on a free loopback port; returns the port and the request it got.
fn serve_once(answer: &'static str) -> Result<(u16, thread::JoinHandle<String>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let handle = thread::spawn(move || {
        let (mut socket, _) = listener.accept().expect("the status command connects");
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.ends_with(b"\r\n\r\n") {
            let n = socket.read(&mut buf).expect("the request arrives");
            if n == 0 {
                break;
            }
            request.extend_from_slice(&buf[..n]);
        }
        socket
            .write_all(answer.as_bytes())
            .expect("the answer is sent");
        String::from_utf8_lossy(&request).into_owned()
    });
    Ok((port, handle))
}

#[test]
fn status_pretty_prints_the_nodes_json() -> Result<()> {
    let home = tempfile::tempdir()?;
    let (port, server) = serve_once(
        "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n\
         {\"coin\":\"litecoin\",\"height\":431,\"synced\":true}",
    )?;
    let api = format!("127.0.0.1:{port}");
    let o = otedama(home.path(), &["status", "--api", &api], &[]);
    let request = server.join().expect("the server thread ends");
    assert!(
        request.starts_with("GET /api/v1/status HTTP/1.0\r\n"),
        "{request}"
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "{\n  \"coin\": \"litecoin\",\n  \"height\": 431,\n  \"synced\": true\n}\n"
    );
    Ok(())
}

#[test]
fn status_reports_an_http_error() -> Result<()> {
    let home = tempfile::tempdir()?;
    let (port, server) = serve_once("HTTP/1.0 503 Service Unavailable\r\n\r\nsyncing")?;
    let api = format!("127.0.0.1:{port}");
    let o = otedama(home.path(), &["status", "--api", &api], &[]);
    server.join().expect("the server thread ends");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("HTTP status 503: syncing"),
        "{}",
        stderr(&o)
    );
    Ok(())
}

#[test]
fn status_says_clearly_when_nothing_listens() -> Result<()> {
    let home = tempfile::tempdir()?;
    // A port that was free a moment ago: bound, then released.
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let api = format!("127.0.0.1:{port}");
    let o = otedama(home.path(), &["status", "--api", &api], &[]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("nothing is listening at {api}")),
        "{err}"
    );
    Ok(())
}

#[test]
fn devnet_without_litecoind_says_what_to_install() -> Result<()> {
    let home = tempfile::tempdir()?;
    let o = otedama(
        home.path(),
        &["devnet", "--litecoind", "/nonexistent/litecoind"],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("self-test passed"), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(
        err.contains("/nonexistent/litecoind") && err.contains("scripts/setup"),
        "{err}"
    );
    Ok(())
}
