//! `otedama-loadgen`: load for the Stratum server.
//!
//! `otedama-loadgen run` starts a Stratum server in a child process (`otedama-loadgen serve`, so
//! that its memory is measured alone), opens N miner connections to it, and measures: miners
//! connected and errors, server memory per idle connection, new block → `mining.notify` latency
//! to all N (p50/p99/max), and valid share submissions checked per second.
//!
//! `otedama-loadgen serve` is that server: it prints `listening ADDR`, then reads commands on
//! stdin: `block` (publish a clean job), `job` (a job on the same block), `stats` (one JSON line
//! of counters), `reset` (forget the notify delays), `quit`.

mod client;
mod run;
mod serve;

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Load generator for the Otedama Stratum server.
#[derive(Debug, Parser)]
#[command(name = "otedama-loadgen", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start a server child, load it, print the figures.
    Run(run::RunArgs),
    /// Run a Stratum server driven from stdin (what `run` starts).
    Serve {
        /// Where to listen.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// Worker threads of the server's runtime.
        #[arg(long, default_value_t = 2)]
        threads: usize,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run::main(args),
        Command::Serve { listen, threads } => serve::main(listen, threads),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
