//! `otedama-miner`: the command line of Otedama's miner.
//!
//! Today it hashes headers (`hash`) and checks its hashers against real blocks (`selftest`);
//! mining against a Stratum pool is added as subcommands once the Stratum client exists.

use anyhow::{bail, Context, Result};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{ArgAction, Parser, Subcommand};
use otedama_proto::chain::PowAlgo;
use otedama_proto::pow::pow_hash;
use otedama_proto::selftest;
use std::io::IsTerminal;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

const EXAMPLES: &str = "\
Examples:
  # The proof of work of Bitcoin's genesis block, as explorers show it
  otedama-miner hash --algo sha256d 0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c

  # Check both hashers against real Bitcoin and Litecoin blocks
  otedama-miner selftest";

/// Otedama's miner: CPU proof-of-work hashers for sha256d (Bitcoin) and scrypt (Litecoin).
#[derive(Debug, Parser)]
#[command(name = "otedama-miner", version, after_help = EXAMPLES)]
struct Cli {
    /// More log output on stderr: -v debug, -vv trace (RUST_LOG, when set, decides instead)
    #[arg(short, long, action = ArgAction::Count, global = true)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the proof-of-work hash of an 80-byte block header, in display order
    #[command(
        after_help = "The hash is printed as block explorers show hashes (byte-reversed \
        hex). For a Bitcoin header it is also the block id; for Litecoin the block id is the \
        sha256d hash (use --algo sha256d to get it)."
    )]
    Hash {
        /// Proof-of-work function: sha256d (Bitcoin) or scrypt (Litecoin, N=1024 r=1 p=1)
        #[arg(long, value_name = "ALGO", value_parser = algo_parser())]
        algo: PowAlgo,

        /// The header, 160 hex digits in serialization order (as `getblockheader HASH false`
        /// prints it)
        #[arg(value_name = "HEADER_HEX")]
        header: String,
    },

    /// Hash real Bitcoin and Litecoin block headers and check each meets its own target
    Selftest,
}

fn algo_parser() -> impl TypedValueParser<Value = PowAlgo> {
    PossibleValuesParser::new([PowAlgo::Sha256d.name(), PowAlgo::Scrypt.name()])
        .try_map(|name| name.parse::<PowAlgo>())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = init_logging(cli.verbose) {
        eprintln!("error: {e:#}");
        return ExitCode::FAILURE;
    }
    match run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Hash { algo, header } => {
            let header = parse_header(&header)?;
            tracing::debug!(%algo, "hashing an 80-byte header");
            println!("{}", pow_hash(algo, &header));
            Ok(ExitCode::SUCCESS)
        }
        Command::Selftest => Ok(print_selftest()),
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
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

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
