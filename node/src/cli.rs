//! The `otedama` command line: subcommands, flags and help texts (clap definitions only).

use clap::{ArgAction, Args, Parser, Subcommand};
use otedama_config::NodeArgs;
use otedama_proto::chain::{Coin, Network};
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  # A Litecoin node beside a local litecoind (cookie login, default ports)
  otedama node --coin litecoin

  # Bitcoin testnet, daemon on another host with a failover, password from the environment
  OTEDAMA_DAEMON_PASSWORD=secret otedama node --coin bitcoin --network testnet \\
      --daemon-url http://10.0.0.2:18332 --daemon-url http://10.0.0.3:18332 --daemon-user pool

  # Show the configuration a node would run with, as TOML
  otedama node --config /etc/otedama.toml --print-config

  # Ask a running node how it is doing
  otedama status --api 127.0.0.1:9329

  # The local demonstration network
  otedama devnet";

const NODE_HELP: &str = "\
Every flag can also be given in the TOML file (--config) and as an OTEDAMA_* environment \
variable; a flag beats the environment, which beats the file, which beats the built-in default. \
TOML keys are the flag names with underscores (daemon_url = [...], bootstrap = [...]); the Stratum \
address and tuning go in a [stratum] section (listen, min_difficulty, vardiff_target_secs, \
max_connections) and the log level in [log] (level). Environment variables are OTEDAMA_ and the \
flag name in capitals (OTEDAMA_DAEMON_URL, OTEDAMA_STRATUM_MIN_DIFFICULTY); lists are \
comma-separated. An unknown key or variable is an error.

Otedama's default ports: Litecoin Stratum 9327, P2P 9328, API 9329; Bitcoin 9347, 9348, 9349; \
plus 10000 on testnet, 20000 on signet, 30000 on regtest.

Example file:
  coin = \"litecoin\"
  network = \"mainnet\"
  daemon_url = [\"http://127.0.0.1:9332\"]
  daemon_cookie = \"~/.litecoin/.cookie\"
  api = \"127.0.0.1:9329\"
  bootstrap = [\"/ip4/203.0.113.5/tcp/9328/p2p/12D3KooW...\"]

  [stratum]
  listen = \"0.0.0.0:9327\"
  min_difficulty = 0.001

  [log]
  level = \"info\"";

/// Otedama: a decentralized, P2Pool-style mining pool node for Litecoin and Bitcoin.
///
/// There is no pool operator: every miner runs a node, the nodes keep a shared sharechain, and
/// every block found pays all recent contributors directly in its coinbase.
#[derive(Debug, Parser)]
#[command(name = "otedama", version, after_help = EXAMPLES)]
pub struct Cli {
    /// More log output on stderr: -v debug, -vv trace (RUST_LOG, when set, decides instead)
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a pool node beside a coin daemon
    #[command(after_help = NODE_HELP)]
    Node(Box<NodeCommand>),

    /// Show the status of a running node, from its HTTP API
    Status(StatusCommand),

    /// Run the local demonstration network
    Devnet(DevnetCommand),
}

/// `otedama node`.
#[derive(Debug, Args)]
pub struct NodeCommand {
    /// The node's configuration flags.
    #[command(flatten)]
    pub config: NodeArgs,

    /// Print the resolved configuration as TOML and exit (the daemon password is not shown)
    #[arg(long)]
    pub print_config: bool,
}

/// `otedama status`.
#[derive(Debug, Args)]
pub struct StatusCommand {
    /// The node's HTTP API address
    #[arg(long, value_name = "HOST:PORT", default_value_t = default_api())]
    pub api: String,

    /// Seconds to wait for the node to answer
    #[arg(long, value_name = "SECS", default_value_t = 5)]
    pub timeout: u64,

    /// Print the connected and banned peers (`/api/v1/peers`) instead of the status
    #[arg(long)]
    pub peers: bool,
}

/// `otedama devnet`.
#[derive(Debug, Args)]
#[command(
    after_help = "Starts two connected `litecoind -regtest` on free loopback ports, an Otedama \
    node beside them and CPU miners (`otedama-miner`, found next to this binary) paying distinct \
    regtest addresses; prints the API address, then blocks found, shares and payouts every few \
    seconds. Ctrl-C stops everything it started. A temporary data directory is removed on exit \
    unless --keep is given; a --data-dir you name is never removed.\n\nExample:\n  \
    otedama devnet --nodes 2 --miners 2 --threads 1"
)]
pub struct DevnetCommand {
    /// Number of Otedama nodes, joined over the peer-to-peer network (the first is the bootstrap)
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=8))]
    pub nodes: u32,

    /// Number of CPU miners, each with its own payout address, spread over the nodes
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=8))]
    pub miners: u32,

    /// Hashing threads per miner
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub threads: u32,

    /// Stop after this many blocks have been found (default: run until Ctrl-C)
    #[arg(long, value_name = "N")]
    pub blocks: Option<u64>,

    /// Directory for the devnet's daemons and node [default: a new temporary directory]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Keep the temporary data directory when the devnet stops
    #[arg(long)]
    pub keep: bool,

    /// The litecoind binary
    #[arg(long, value_name = "PATH", default_value = "litecoind")]
    pub litecoind: PathBuf,

    /// Where the first node's HTTP API listens
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:0")]
    pub api: String,

    /// Where the first node's Stratum server listens (point your own miners here too)
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:0")]
    pub stratum: String,
}

fn default_api() -> String {
    let port = otedama_config::defaults::api_port(Coin::Litecoin, Network::Mainnet);
    format!("127.0.0.1:{port}")
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
    fn verbose_is_global() {
        let cli = Cli::try_parse_from(["otedama", "status", "-vv"]).expect("valid");
        assert_eq!(cli.verbose, 2);
        let cli = Cli::try_parse_from(["otedama", "-v", "devnet"]).expect("valid");
        assert_eq!(cli.verbose, 1);
    }

    #[test]
    fn status_defaults_to_the_litecoin_mainnet_api() {
        let cli = Cli::try_parse_from(["otedama", "status"]).expect("valid");
        let Command::Status(status) = cli.command else {
            panic!("status expected");
        };
        assert_eq!(status.api, "127.0.0.1:9329");
    }
}
