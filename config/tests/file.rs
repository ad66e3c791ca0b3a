//! The TOML file on disk: errors that name the file, and the resolved configuration written back
//! as TOML resolving to the same configuration.

use anyhow::{Context, Result};
use otedama_config::{load, ConfigError, DaemonAuth, NodeArgs};
use std::path::Path;

fn args_with_file(path: &Path) -> NodeArgs {
    NodeArgs {
        config: Some(path.to_owned()),
        ..NodeArgs::default()
    }
}

#[test]
fn unknown_key_names_the_key_the_line_and_the_file() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("otedama.toml");
    std::fs::write(
        &path,
        "coin = 'litecoin'\n\n[stratum]\nmax_conections = 5\n",
    )?;
    let err = load(&args_with_file(&path), [("HOME", "/h")]).expect_err("unknown key");
    assert!(matches!(err, ConfigError::ParseFile { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("unknown field `max_conections`"), "{text}");
    assert!(text.contains("line 4"), "{text}");
    Ok(())
}

#[test]
fn missing_file_is_an_error_naming_it() {
    let path = Path::new("/nonexistent/otedama.toml");
    let err = load(&args_with_file(path), [("HOME", "/h")]).expect_err("no such file");
    assert!(
        err.to_string()
            .starts_with("cannot read config file /nonexistent/otedama.toml:"),
        "{err}"
    );
}

#[test]
fn env_errors_come_before_the_file_is_read() {
    let path = Path::new("/nonexistent/otedama.toml");
    let err = load(&args_with_file(path), [("OTEDAMA_STRATUMM", "x")]).expect_err("typo");
    assert_eq!(
        err.to_string(),
        "unknown environment variable OTEDAMA_STRATUMM: did you mean OTEDAMA_STRATUM?"
    );
}

#[test]
fn printed_config_resolves_to_the_same_config() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let args = NodeArgs {
        coin: Some("bitcoin".into()),
        network: Some("signet".into()),
        daemon_url: vec!["http://10.0.0.1:38332".into(), "https://[::1]:38332".into()],
        daemon_cookie: Some("/var/lib/bitcoind/signet/.cookie".into()),
        daemon_zmq: vec!["tcp://[::1]:28332".into(), "tcp://10.0.0.1:28332".into()],
        bootstrap: vec!["/ip4/203.0.113.5/tcp/29348".into()],
        stratum_min_difficulty: Some(0.125),
        log_level: Some("debug".into()),
        ..NodeArgs::default()
    };
    let first = load(&args, [("HOME", "/home/m")])?;
    let text = first.to_toml()?;
    let path = dir.path().join("printed.toml");
    std::fs::write(&path, &text)?;

    // Without HOME: every default that needs it is now written in the file.
    let second = load(&args_with_file(&path), std::iter::empty::<(&str, &str)>())
        .with_context(|| text.clone())?;
    assert_eq!(second.config_file.as_deref(), Some(path.as_path()));
    assert_eq!(
        otedama_config::NodeConfig {
            config_file: None,
            ..second
        },
        first
    );
    Ok(())
}

#[test]
fn printed_config_hides_the_password() -> Result<()> {
    let args = NodeArgs {
        daemon_user: Some("rpc".into()),
        daemon_password: Some("hunter2".into()),
        ..NodeArgs::default()
    };
    let config = load(&args, [("HOME", "/home/m")])?;
    assert!(matches!(
        config.daemon.auth,
        DaemonAuth::UserPassword { .. }
    ));
    let text = config.to_toml()?;
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("daemon_user = \"rpc\""), "{text}");
    assert!(
        text.contains("daemon_password is set but not shown"),
        "{text}"
    );
    Ok(())
}
