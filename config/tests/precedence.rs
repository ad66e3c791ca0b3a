//! Every setting through every layer: defaults < TOML file < `OTEDAMA_*` environment < flags.
//!
//! For each setting the test gives a different value in each layer, resolves, and then removes
//! the layers from the top one by one, checking each time that the highest remaining layer wins.
//! The file is a real file on disk, the flags are parsed by clap, the environment is a list.

use anyhow::{Context, Result};
use clap::Parser;
use otedama_config::{load, DaemonAuth, NodeArgs, NodeConfig, Setting};
use std::io::Write;

#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    args: NodeArgs,
}

/// One setting, its value in each layer (file, environment, flag) and its default, all as the
/// resolved configuration shows them.
struct Case {
    setting: Setting,
    /// Values for file, environment, flag: each differs from the next one down.
    values: [&'static str; 3],
    default: &'static str,
    /// Extra TOML the file always has (the other half of a user/password pair); a case with a
    /// base is not resolved with zero layers.
    base: &'static str,
    show: fn(&NodeConfig) -> String,
}

fn cases() -> Vec<Case> {
    fn case(
        setting: Setting,
        values: [&'static str; 3],
        default: &'static str,
        show: fn(&NodeConfig) -> String,
    ) -> Case {
        Case {
            setting,
            values,
            default,
            base: "",
            show,
        }
    }
    vec![
        case(
            Setting::Coin,
            ["bitcoin", "litecoin", "bitcoin"],
            "litecoin",
            |c| c.coin.to_string(),
        ),
        case(
            Setting::Network,
            ["testnet", "regtest", "testnet"],
            "mainnet",
            |c| c.network.to_string(),
        ),
        case(
            Setting::DataDir,
            ["/file", "/env", "/cli"],
            "/home/m/.otedama/litecoin-mainnet",
            |c| c.data_dir.display().to_string(),
        ),
        case(
            Setting::DaemonUrl,
            ["http://f:1", "http://e:2", "http://c:3"],
            "http://127.0.0.1:9332",
            |c| c.daemon.urls[0].to_string(),
        ),
        Case {
            base: "daemon_password = 'p'",
            ..case(Setting::DaemonUser, ["f", "e", "c"], "", |c| {
                match &c.daemon.auth {
                    DaemonAuth::UserPassword { user, .. } => user.clone(),
                    DaemonAuth::Cookie { .. } => String::new(),
                }
            })
        },
        Case {
            base: "daemon_user = 'u'",
            ..case(Setting::DaemonPassword, ["f", "e", "c"], "", |c| {
                match &c.daemon.auth {
                    DaemonAuth::UserPassword { password, .. } => password.expose().to_owned(),
                    DaemonAuth::Cookie { .. } => String::new(),
                }
            })
        },
        case(
            Setting::DaemonCookie,
            ["/f.cookie", "/e.cookie", "/c.cookie"],
            "/home/m/.litecoin/.cookie",
            |c| match &c.daemon.auth {
                DaemonAuth::Cookie { path } => path.display().to_string(),
                DaemonAuth::UserPassword { .. } => String::new(),
            },
        ),
        case(
            Setting::DaemonZmq,
            ["tcp://f:1", "tcp://e:2", "tcp://[::1]:3"],
            "",
            |c| {
                let zmq: Vec<String> = c.daemon.zmq.iter().map(|z| z.to_string()).collect();
                zmq.join(",")
            },
        ),
        case(
            Setting::Stratum,
            ["0.0.0.0:1", "0.0.0.0:2", "0.0.0.0:3"],
            "0.0.0.0:9327",
            |c| c.stratum.listen.to_string(),
        ),
        case(
            Setting::Api,
            ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"],
            "127.0.0.1:9329",
            |c| c.api.to_string(),
        ),
        case(
            Setting::P2p,
            [
                "/ip4/0.0.0.0/tcp/1",
                "/ip4/0.0.0.0/tcp/2",
                "/ip4/0.0.0.0/tcp/3",
            ],
            "/ip4/0.0.0.0/tcp/9328",
            |c| c.p2p.listen.clone(),
        ),
        case(
            Setting::Bootstrap,
            ["/dns4/f/tcp/1", "/dns4/e/tcp/2", "/dns4/c/tcp/3"],
            "",
            |c| c.p2p.bootstrap.join(","),
        ),
        case(
            Setting::P2pLimitLoopback,
            ["true", "false", "true"],
            "false",
            |c| c.p2p.limit_loopback.to_string(),
        ),
        case(
            Setting::StratumMinDifficulty,
            ["0.5", "2", "0.25"],
            "0.001",
            |c| c.stratum.min_difficulty.to_string(),
        ),
        case(
            Setting::StratumVardiffTargetSecs,
            ["10", "20", "30"],
            "5",
            |c| c.stratum.vardiff_target_secs.to_string(),
        ),
        case(
            Setting::StratumMaxConnections,
            ["10", "20", "30"],
            "10000",
            |c| c.stratum.max_connections.to_string(),
        ),
        case(Setting::LogLevel, ["warn", "debug", "trace"], "info", |c| {
            c.log.level.to_string()
        }),
    ]
}

/// The value as a TOML value: numbers bare, lists for list settings, strings quoted.
fn toml_value(setting: Setting, value: &str) -> String {
    match setting {
        Setting::DaemonUrl | Setting::DaemonZmq | Setting::Bootstrap => format!("[{value:?}]"),
        Setting::P2pLimitLoopback
        | Setting::StratumMinDifficulty
        | Setting::StratumVardiffTargetSecs
        | Setting::StratumMaxConnections => value.to_owned(),
        _ => format!("{value:?}"),
    }
}

/// Resolves with the first `layers` of (file, environment, flag) giving the case's value.
fn resolve_with(case: &Case, layers: usize, dir: &tempfile::TempDir) -> Result<NodeConfig> {
    let key = case.setting.key().context("every case has a key")?;
    let path = dir.path().join("otedama.toml");
    let mut file = std::fs::File::create(&path)?;
    writeln!(file, "{}", case.base)?;
    if layers >= 1 {
        writeln!(file, "{key} = {}", toml_value(case.setting, case.values[0]))?;
    }
    let mut env = vec![("HOME".to_owned(), "/home/m".to_owned())];
    if layers >= 2 {
        env.push((case.setting.env().to_owned(), case.values[1].to_owned()));
    }
    let mut argv = vec!["otedama".to_owned(), format!("--config={}", path.display())];
    if layers >= 3 {
        argv.push(format!("{}={}", case.setting.flag(), case.values[2]));
    }
    let cli = Cli::try_parse_from(&argv).with_context(|| format!("{argv:?}"))?;
    Ok(load(&cli.args, env)?)
}

#[test]
fn the_highest_layer_wins_for_every_setting() -> Result<()> {
    let dir = tempfile::tempdir()?;
    for case in cases() {
        let name = case.setting.flag();
        // Half a user/password pair has no default: it is an error, tested in the unit tests.
        let lowest = if case.base.is_empty() { 0 } else { 1 };
        for layers in (lowest..=3).rev() {
            let config = resolve_with(&case, layers, &dir)
                .with_context(|| format!("{name} with {layers} layers"))?;
            let expected = if layers == 0 {
                case.default
            } else {
                case.values[layers - 1]
            };
            assert_eq!(
                (case.show)(&config),
                expected,
                "{name} with {layers} layers"
            );
        }
    }
    Ok(())
}

#[test]
fn every_setting_but_config_is_covered() {
    let covered: Vec<Setting> = cases().iter().map(|c| c.setting).collect();
    for s in Setting::ALL {
        assert!(s == Setting::Config || covered.contains(&s), "{s:?}");
    }
}

#[test]
fn the_config_flag_beats_otedama_config() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let from_flag = dir.path().join("flag.toml");
    let from_env = dir.path().join("env.toml");
    std::fs::write(&from_flag, "coin = 'bitcoin'\n")?;
    std::fs::write(&from_env, "network = 'regtest'\n")?;
    let env = [
        ("HOME", "/h"),
        ("OTEDAMA_CONFIG", from_env.to_str().context("utf-8")?),
    ];

    let config = load(&NodeArgs::default(), env)?;
    assert_eq!(config.network.name(), "regtest");
    assert_eq!(config.config_file.as_deref(), Some(from_env.as_path()));

    let args = NodeArgs {
        config: Some(from_flag.clone()),
        ..NodeArgs::default()
    };
    let config = load(&args, env)?;
    assert_eq!(
        (config.coin.name(), config.network.name()),
        ("bitcoin", "mainnet")
    );
    Ok(())
}
