//! `otedama-miner`: the binary. Parses the command line ([`cli`]), resolves it into the
//! library's configurations, and runs one action: mining (the default), `bench`, `hash` or
//! `selftest`. Exit codes: 0 done, 1 failed (a refused login, a broken device, a bad header),
//! 2 usage error.

mod cli;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use cli::{Backend, Cli, Command, MineArgs};
use otedama_miner::bench::{self, BenchConfig, BenchReport};
use otedama_miner::client::{self, MinerConfig, SessionConfig};
use otedama_miner::mining::{default_threads, format_hashrate, CpuKernel, Engine};
use otedama_proto::chain::PowAlgo;
use otedama_proto::pow::pow_hash;
use otedama_proto::selftest;
use tokio::sync::watch;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = init_logging(cli.verbose) {
        eprintln!("error: {e:#}");
        return ExitCode::FAILURE;
    }
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Exits with a usage error (code 2), as clap does for its own checks.
fn usage_error(message: &str) -> ! {
    Cli::command()
        .error(ErrorKind::MissingRequiredArgument, message)
        .exit()
}

fn run(cli: Cli) -> Result<ExitCode> {
    if cli.command.is_some() && cli.mine.any_given() {
        usage_error("mining options (--url, --user, --algo, …) go without a subcommand; subcommands take their own options after their name");
    }
    match cli.command {
        Some(Command::Hash { algo, header }) => {
            let header = parse_header(&header)?;
            tracing::debug!(%algo, "hashing an 80-byte header");
            println!("{}", pow_hash(algo, &header));
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Selftest) => Ok(print_selftest()),
        Some(Command::Bench {
            algo,
            backend,
            threads,
            opencl_device,
            seconds,
            json,
        }) => {
            if backend == Backend::Both {
                usage_error(
                    "bench measures one back-end at a time: --backend cpu or --backend opencl",
                );
            }
            let config = BenchConfig {
                engines: engines(algo, backend, threads, opencl_device),
                duration: Duration::from_secs_f64(seconds),
                warmup: Duration::from_secs_f64((seconds / 4.0).clamp(0.2, 1.0)),
            };
            let report = bench::run(&config)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string(&report).expect("a report serializes")
                );
            } else {
                print_bench(&report, &config);
            }
            Ok(ExitCode::SUCCESS)
        }
        None => mine(cli.mine),
    }
}

/// One engine per hashing thread for `backend`.
fn engines(
    algo: PowAlgo,
    backend: Backend,
    threads: Option<u16>,
    opencl_device: usize,
) -> Vec<Engine> {
    if backend == Backend::Opencl && threads.is_some() {
        tracing::warn!(
            "--threads is ignored with --backend opencl (--backend both adds CPU threads)"
        );
    }
    let cpu =
        vec![Engine::Cpu(CpuKernel::best(algo)); threads.map_or_else(default_threads, usize::from)];
    let opencl = Engine::OpenCl {
        device: opencl_device,
        algo,
    };
    match backend {
        Backend::Cpu => cpu,
        Backend::Opencl => vec![opencl],
        Backend::Both => cpu.into_iter().chain([opencl]).collect(),
    }
}

fn mine(args: MineArgs) -> Result<ExitCode> {
    if args.urls.is_empty() {
        usage_error("nothing to do: give --url (with --user and --algo) to mine, or a subcommand");
    }
    let Some(user) = args.user else {
        usage_error("mining needs --user ADDRESS[.WORKER]");
    };
    let Some(algo) = args.algo else {
        usage_error("mining needs --algo sha256d|scrypt");
    };
    let config = MinerConfig {
        urls: args.urls,
        session: SessionConfig {
            user,
            password: args.pass,
            algo,
            user_agent: client::user_agent(),
            suggest_difficulty: args.suggest_difficulty,
            extranonce_subscribe: !args.no_extranonce_subscribe,
            version_rolling: algo == PowAlgo::Sha256d && !args.no_version_rolling,
        },
        engines: engines(algo, args.backend, args.threads, args.opencl_device),
        report_every: Duration::from_secs_f64(args.report_every),
        backoff_initial: Duration::from_secs(1),
        backoff_max: Duration::from_secs(60),
        failback_every: (args.failback_secs > 0).then(|| Duration::from_secs(args.failback_secs)),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let counts = runtime.block_on(async {
        let (stop, shutdown) = watch::channel(false);
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("stopping");
            let _ = stop.send(true);
            // Keep the sender: dropping it would also read as a stop, which is what we want now.
        });
        client::mine(config, shutdown).await
    })?;
    tracing::info!("stopped; shares: {counts}");
    Ok(ExitCode::SUCCESS)
}

/// Returns on Ctrl-C or SIGTERM; never if no signal handler can be installed.
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                r = tokio::signal::ctrl_c() => if r.is_err() { std::future::pending::<()>().await },
                _ = term.recv() => {}
            }
            return;
        }
    }
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

fn print_bench(report: &BenchReport, config: &BenchConfig) {
    println!(
        "{}: {} thread(s), {:.2} s timed after a {:.2} s warm-up",
        report.engine,
        report.threads,
        report.seconds,
        config.warmup.as_secs_f64()
    );
    for (i, rate) in report.per_thread.iter().enumerate() {
        println!("  thread {i}: {}", format_hashrate(*rate));
    }
    println!(
        "  total:    {} ({} hashes)",
        format_hashrate(report.hashrate),
        report.hashes
    );
    if let Some(cpu) = report.cpu_seconds.filter(|&c| c > 0.0) {
        let available = report.seconds * report.threads as f64;
        println!(
            "  CPU time: {cpu:.2} s for {available:.2} thread-seconds ({:.0} %); {} per CPU second",
            100.0 * cpu / available,
            format_hashrate(report.hashes as f64 / cpu)
        );
    }
}

fn print_selftest() -> ExitCode {
    let checks = selftest::run();
    println!("Hashing {} real mainnet block headers:", checks.len());
    for c in &checks {
        let verdict = |ok: bool| if ok { "ok" } else { "FAILED" };
        println!(
            "  {} block {}: block id {} {}",
            c.known.coin,
            c.known.height,
            c.block_id,
            verdict(c.id_ok)
        );
        println!(
            "    {:<7} {}\n    target  {} (bits {}) {}",
            c.algo.name(),
            c.pow,
            match &c.target {
                Ok(target) => target.to_string(),
                Err(e) => e.to_string(),
            },
            c.bits,
            if c.pow_ok {
                "ok: the hash is at or below the target"
            } else {
                "FAILED: the hash is above the target"
            }
        );
    }
    let failed = checks.iter().filter(|c| !c.passed()).count();
    if failed == 0 {
        println!("Self-test passed: sha256d and scrypt agree with both chains.");
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "error: self-test failed for {failed} of {} headers",
            checks.len()
        );
        ExitCode::FAILURE
    }
}

/// Parses an 80-byte header from hex, saying exactly what is wrong with bad input.
fn parse_header(text: &str) -> Result<[u8; 80]> {
    let text = text.trim();
    if let Some((i, c)) = text.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        bail!("HEADER_HEX is not hex: {c:?} at position {i}");
    }
    let digits = text.len();
    if digits & 1 == 1 {
        bail!("HEADER_HEX has an odd number of hex digits ({digits}); a block header is 80 bytes, 160 hex digits");
    }
    if digits != 160 {
        bail!(
            "a block header is 80 bytes (160 hex digits), but HEADER_HEX is {} bytes ({digits} hex digits)",
            digits / 2
        );
    }
    let mut header = [0u8; 80];
    hex::decode_to_slice(text, &mut header).context("HEADER_HEX is not hex")?;
    Ok(header)
}

/// Logs to stderr: `RUST_LOG` when set, otherwise info, or debug/trace with `-v`/`-vv`.
fn init_logging(verbose: u8) -> Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => EnvFilter::try_new(&spec)
            .with_context(|| format!("RUST_LOG={spec} is not a valid filter"))?,
        _ => EnvFilter::new(match verbose {
            0 => "info",
            1 => "debug",
            _ => "trace",
        }),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_header_reports_what_is_wrong() {
        let good = "00".repeat(80);
        assert_eq!(parse_header(&good).expect("80 zero bytes"), [0u8; 80]);
        assert_eq!(
            parse_header(&format!(" {good}\n")).expect("trimmed"),
            [0u8; 80]
        );
        let e = parse_header(&format!("{}zz", "00".repeat(79)))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "HEADER_HEX is not hex: 'z' at position 158");
        let e = parse_header(&"0".repeat(159)).unwrap_err().to_string();
        assert!(
            e.starts_with("HEADER_HEX has an odd number of hex digits (159)"),
            "{e}"
        );
        let e = parse_header(&"00".repeat(79)).unwrap_err().to_string();
        assert_eq!(
            e,
            "a block header is 80 bytes (160 hex digits), but HEADER_HEX is 79 bytes (158 hex digits)"
        );
    }
}
