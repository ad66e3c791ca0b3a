//! The command line of `otedama-miner`: what users type, and how it becomes one validated
//! configuration for each action (mining, `bench`, `hash`, `selftest`).
//!
//! Mining is the default action: `otedama-miner --url … --user … --algo …` mines; the
//! subcommands do everything else.

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use otedama_miner::client::PoolUrl;
use otedama_proto::chain::PowAlgo;

const EXAMPLES: &str = "\
Examples:
  # Mine Litecoin on an Otedama node (or any Stratum pool), with a failover pool
  otedama-miner --url stratum+tcp://127.0.0.1:3333 --url stratum+tcp://backup.example:3333 \\
      --user ltc1qexampleaddress.rig1 --algo scrypt

  # How fast is this machine, as one JSON object
  otedama-miner bench --algo sha256d --threads 2 --seconds 10 --json

  # The proof of work of Bitcoin's genesis block, as explorers show it
  otedama-miner hash --algo sha256d 0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c

  # Check both hashers against real Bitcoin and Litecoin blocks
  otedama-miner selftest";

/// Otedama's miner: mines sha256d (Bitcoin) and scrypt (Litecoin) on a Stratum V1 pool with the
/// CPU's fastest hashers (and OpenCL devices).
#[derive(Debug, Parser)]
#[command(name = "otedama-miner", version, after_help = EXAMPLES)]
pub struct Cli {
    /// More log output on stderr: -v debug, -vv trace (RUST_LOG, when set, decides instead)
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(flatten)]
    pub mine: MineArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Where hashing runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// CPU threads only
    Cpu,
    /// One OpenCL device only
    Opencl,
    /// CPU threads and one OpenCL device
    Both,
}

/// The options of mining (the default action).
#[derive(Debug, Args)]
pub struct MineArgs {
    /// Pool to mine on, stratum+tcp://HOST:PORT; repeat for failover pools, tried in order
    #[arg(long = "url", value_name = "URL", value_parser = parse_url)]
    pub urls: Vec<PoolUrl>,

    /// While on a failover pool, check this often whether an earlier --url is back (a real
    /// login) and return to it; 0 stays on the failover pool
    #[arg(
        long,
        value_name = "SECONDS",
        env = "OTEDAMA_MINER_FAILBACK_SECS",
        default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(0..=86_400)
    )]
    pub failback_secs: u64,

    /// Login: your payout address, optionally followed by .WORKER
    #[arg(short, long, value_name = "ADDRESS[.WORKER]")]
    pub user: Option<String>,

    /// Password (most pools ignore it; some read options such as d=DIFF)
    #[arg(short, long, value_name = "PASS", default_value = "x")]
    pub pass: String,

    /// Proof-of-work function: sha256d (Bitcoin) or scrypt (Litecoin)
    #[arg(short, long, value_name = "ALGO", value_parser = algo_parser())]
    pub algo: Option<PowAlgo>,

    /// CPU hashing threads [default: the number of cores]
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=4096))]
    pub threads: Option<u16>,

    /// Where to hash
    #[arg(long, value_enum, default_value_t = Backend::Cpu)]
    pub backend: Backend,

    /// The OpenCL device to use, numbered from 0 across all platforms
    #[arg(long, value_name = "I", default_value_t = 0)]
    pub opencl_device: usize,

    /// Ask the pool for this share difficulty (mining.suggest_difficulty)
    #[arg(long, value_name = "DIFF", value_parser = parse_difficulty)]
    pub suggest_difficulty: Option<f64>,

    /// Do not send mining.extranonce.subscribe
    #[arg(long)]
    pub no_extranonce_subscribe: bool,

    /// Do not ask for version rolling (sha256d; BIP 310)
    #[arg(long)]
    pub no_version_rolling: bool,

    /// Seconds between hash-rate and share reports
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0, value_parser = parse_seconds)]
    pub report_every: f64,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Measure the hash rate of the mining threads on a synthetic job
    Bench {
        /// Proof-of-work function
        #[arg(short, long, value_name = "ALGO", value_parser = algo_parser())]
        algo: PowAlgo,

        /// Where to hash: cpu or opencl
        #[arg(long, value_enum, default_value_t = Backend::Cpu)]
        backend: Backend,

        /// CPU threads [default: the number of cores]
        #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=4096))]
        threads: Option<u16>,

        /// The OpenCL device to use, numbered from 0
        #[arg(long, value_name = "I", default_value_t = 0)]
        opencl_device: usize,

        /// Length of the timed part, after a short warm-up
        #[arg(long, value_name = "S", default_value_t = 10.0, value_parser = parse_seconds)]
        seconds: f64,

        /// Print one JSON object: {"algo","backend","threads","hashes","seconds","hashrate"}
        #[arg(long)]
        json: bool,
    },

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

impl MineArgs {
    /// Whether any mining option was given (they make no sense with a subcommand).
    pub fn any_given(&self) -> bool {
        !self.urls.is_empty()
            || self.user.is_some()
            || self.algo.is_some()
            || self.threads.is_some()
            || self.suggest_difficulty.is_some()
    }
}

fn algo_parser() -> impl TypedValueParser<Value = PowAlgo> {
    PossibleValuesParser::new([PowAlgo::Sha256d.name(), PowAlgo::Scrypt.name()])
        .try_map(|name| name.parse::<PowAlgo>())
}

fn parse_url(text: &str) -> Result<PoolUrl, String> {
    text.parse()
        .map_err(|e: otedama_miner::client::PoolUrlError| e.to_string())
}

fn parse_difficulty(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(d) if d.is_finite() && d > 0.0 => Ok(d),
        _ => Err(format!("`{text}` is not a positive number")),
    }
}

fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && (0.05..=86_400.0).contains(&s) => Ok(s),
        _ => Err(format!(
            "`{text}` is not a number of seconds from 0.05 to 86400"
        )),
    }
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
    fn mining_is_the_default_action_and_subcommands_stay() {
        let cli = Cli::try_parse_from([
            "otedama-miner",
            "--url",
            "stratum+tcp://a:1",
            "--url",
            "b:2",
            "--user",
            "addr.w",
            "--algo",
            "scrypt",
            "--threads",
            "3",
        ])
        .expect("valid");
        assert!(cli.command.is_none());
        assert_eq!(cli.mine.urls.len(), 2);
        assert_eq!(cli.mine.urls[1].to_string(), "stratum+tcp://b:2");
        assert_eq!(cli.mine.threads, Some(3));
        if std::env::var_os("OTEDAMA_MINER_FAILBACK_SECS").is_none() {
            assert_eq!(cli.mine.failback_secs, 60, "failback is on by default");
        }
        let cli = Cli::try_parse_from(["otedama-miner", "bench", "--algo", "sha256d", "--json"])
            .expect("valid");
        assert!(matches!(
            cli.command,
            Some(Command::Bench { json: true, .. })
        ));
        let cli =
            Cli::try_parse_from(["otedama-miner", "--url", "a:1", "selftest"]).expect("parses");
        assert!(
            cli.mine.any_given(),
            "main refuses mining options with a subcommand"
        );
        let cli = Cli::try_parse_from(["otedama-miner", "-v", "selftest"]).expect("parses");
        assert!(!cli.mine.any_given());
        assert!(Cli::try_parse_from(["otedama-miner", "--url", "a"]).is_err());
        assert!(Cli::try_parse_from(["otedama-miner", "--threads", "0"]).is_err());
        let cli = Cli::try_parse_from(["otedama-miner", "--failback-secs", "0"]).expect("valid");
        assert_eq!(cli.mine.failback_secs, 0, "0 turns failback off");
        assert!(Cli::try_parse_from(["otedama-miner", "--failback-secs", "-1"]).is_err());
        assert!(Cli::try_parse_from(["otedama-miner", "--failback-secs", "86401"]).is_err());
    }
}
