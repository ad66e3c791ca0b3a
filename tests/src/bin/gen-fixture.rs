//! Writes the network tests' sharechain fixture, `tests/fixtures/litecoin-regtest-chain.bin`
//! (format in `otedama_tests::fixture`): 2200 Litecoin regtest shares starting three hours ago.
//!
//! Run in release (a debug build hashes far slower):
//! `cargo run --release -p otedama-tests --bin gen-fixture`.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use otedama_sharechain::codec;
use otedama_sharechain::testkit;
use otedama_tests::fixture;

fn main() -> Result<()> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the clock is before 1970")?
        .as_secs();
    // Three hours ago, rounded down to the hour.
    let start = u32::try_from((now - 3 * 3600) / 3600 * 3600).context("time past 2106")?;
    let consensus = fixture::regtest_consensus();
    let began = Instant::now();
    let shares = testkit::mine_chain(
        &consensus,
        fixture::FIXTURE_SHARES,
        start,
        &fixture::regtest_payout_scripts(),
    );
    let mined = began.elapsed();
    let encoded: Vec<Vec<u8>> = shares.iter().map(codec::encode_share).collect();
    let bytes = fixture::encode_fixture(consensus.id(), &encoded);
    let path = fixture::fixture_path();
    std::fs::create_dir_all(path.parent().context("the path has a folder")?)?;
    std::fs::write(&path, &bytes).with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!(
        "wrote {} shares ({} bytes, first time {start}) to {} in {:.1} s",
        shares.len(),
        bytes.len(),
        path.display(),
        mined.as_secs_f64()
    );
    Ok(())
}
