//! `otedama devnet`: the local demonstration network.
//!
//! Until the node's mining services exist, the devnet runs the part of the pipeline that does:
//! proof of work. It hashes real mainnet block headers of both coins with both algorithms
//! through `otedama_proto` and shows that each header meets the target its own `nBits` sets under
//! its coin's algorithm (and that its sha256d hash is the block id explorers show).

use crate::cli::DevnetCommand;
use anyhow::{bail, Result};
use otedama_proto::chain::PowAlgo;
use otedama_proto::header::Header;
use otedama_proto::selftest::KNOWN_HEADERS;
use tracing::info;

/// Runs `otedama devnet`.
pub fn run(command: &DevnetCommand) -> Result<()> {
    info!(
        nodes = command.nodes,
        keep = command.keep,
        "the devnet's daemons, nodes and miners arrive with the node's mining services; \
         running its proof-of-work self-test"
    );
    println!("Otedama devnet: proof-of-work self-test on real mainnet block headers");
    let mut failures = 0;
    for block in &KNOWN_HEADERS {
        let header: Header = block
            .header_hex
            .parse()
            .expect("the known headers are 160 hex digits");
        let target = header.target().expect("real headers have valid nBits");
        let coin_algo = block.coin.pow_algo();
        println!(
            "\n{} block {} (nBits {})",
            block.coin,
            block.height,
            header.bits()
        );
        println!("  target  {target}");
        for algo in [PowAlgo::Sha256d, PowAlgo::Scrypt] {
            let hash = header.pow_hash(algo);
            let meets = target.meets(&hash);
            let note = match (algo == coin_algo, meets) {
                (true, true) => "meets the target: valid proof of work",
                (true, false) => "ABOVE the target: proof of work FAILED",
                (false, _) => "(not this coin's proof of work)",
            };
            println!("  {:<7} {hash}  {note}", algo.name());
            failures += usize::from(algo == coin_algo && !meets);
        }
        let id = header.block_hash().to_string();
        if id == block.block_id {
            println!("  block id {id} matches the chain");
        } else {
            println!(
                "  block id {id} does NOT match the chain's {}",
                block.block_id
            );
            failures += 1;
        }
    }
    if failures > 0 {
        bail!("the proof-of-work self-test failed {failures} check(s)");
    }
    println!("\nAll {} headers meet their targets.", KNOWN_HEADERS.len());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_self_test_passes() {
        let command = DevnetCommand {
            nodes: 2,
            data_dir: None,
            keep: false,
        };
        run(&command).expect("real headers meet their targets");
    }
}
