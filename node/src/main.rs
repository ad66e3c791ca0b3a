//! `otedama`: the node's command line. It parses the flags and hands each subcommand to its
//! module; everything else lives in those modules and in the `otedama_node` library.

mod cli;
mod cli_devnet;
mod cli_log;
mod cli_node;
mod cli_status;

use clap::Parser;
use cli::{Cli, Command};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Node(command) => cli_node::run(*command, cli.verbose),
        Command::Status(command) => cli_log::init(cli_log::verbose_level(cli.verbose))
            .and_then(|()| cli_status::run(&command)),
        // The devnet prints its own progress; the node's log shows from -v on.
        Command::Devnet(command) => cli_log::init(if cli.verbose == 0 {
            "warn"
        } else {
            cli_log::verbose_level(cli.verbose - 1)
        })
        .and_then(|()| cli_devnet::run(&command)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
