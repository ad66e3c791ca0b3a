//! `otedama node`: resolve and check the configuration, prepare the data directory, and run the
//! node until Ctrl-C or SIGTERM stops it.

use crate::cli::NodeCommand;
use crate::cli_log;
use anyhow::{Context, Result};
use otedama_config::{DaemonAuth, NodeConfig};
use tracing::info;

/// Runs `otedama node`.
pub fn run(command: NodeCommand, verbose: u8) -> Result<()> {
    let mut args = command.config;
    // -v is a command-line way of saying --log-level, so it sits in the flag layer.
    if args.log_level.is_none() && verbose > 0 {
        args.log_level = Some(cli_log::verbose_level(verbose).to_owned());
    }
    let config =
        otedama_config::load(&args, std::env::vars_os()).context("invalid configuration")?;
    if command.print_config {
        print!("{}", config.to_toml()?);
        return Ok(());
    }
    cli_log::init(config.log.level.name())?;
    log_config(&config);

    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.data_dir.display()
        )
    })?;
    info!(data_dir = %config.data_dir.display(), "data directory ready");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listeners = otedama_node::node::Listeners::bind(&config).await?;
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            wait_for_stop_signal().await;
            info!("stop signal received");
            let _ = stop.send(true);
        });
        otedama_node::node::run(config, listeners, shutdown).await
    })
}

/// Logs the resolved configuration, one line per part, without the daemon password.
fn log_config(c: &NodeConfig) {
    match &c.config_file {
        Some(file) => info!(file = %file.display(), "configuration file read"),
        None => info!("no configuration file (give one with --config)"),
    }
    info!(coin = %c.coin, network = %c.network, data_dir = %c.data_dir.display(), "pool");
    let urls: Vec<String> = c.daemon.urls.iter().map(ToString::to_string).collect();
    let auth = match &c.daemon.auth {
        DaemonAuth::UserPassword { user, .. } => format!("user {user} with a password"),
        DaemonAuth::Cookie { path } => format!("cookie file {}", path.display()),
    };
    info!(urls = %urls.join(", "), login = %auth, "coin daemon");
    info!(
        listen = %c.stratum.listen,
        min_difficulty = c.stratum.min_difficulty,
        vardiff_target_secs = c.stratum.vardiff_target_secs,
        max_connections = c.stratum.max_connections,
        "stratum"
    );
    info!(listen = %c.api, "http api");
    let bootstrap = match c.p2p.bootstrap.as_slice() {
        [] => "(none)".to_owned(),
        peers => peers.join(", "),
    };
    info!(listen = %c.p2p.listen, %bootstrap, "p2p");
}

/// Returns on Ctrl-C (SIGINT) or SIGTERM.
pub(crate) async fn wait_for_stop_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing a SIGTERM handler works on Unix");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
