//! README's first command, `otedama devnet`, run for real: it must start litecoind, the node and
//! its miners, find blocks, print the API address and payouts, and stop when asked.

use std::process::Command;

#[test]
fn devnet_finds_blocks_prints_payouts_and_keeps_a_named_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("devnet");
    // The devnet looks for otedama-miner next to itself; building the miner's tests builds it
    // there in a workspace test run, and the harness makes sure of it here.
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "-p", "otedama-miner", "--bin", "otedama-miner"])
        .status()
        .unwrap();
    assert!(status.success());
    let out = Command::new(env!("CARGO_BIN_EXE_otedama"))
        .args(["devnet", "--blocks", "3", "--miners", "2", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("API:     http://127.0.0.1:"), "{stdout}");
    assert!(stdout.contains("blocks found; stopping."), "{stdout}");
    assert!(stdout.contains("next block pays"), "{stdout}");
    assert!(
        stdout.contains(&format!("Data kept in {}", data.display())),
        "a named data dir is kept: {stdout}"
    );
    assert!(data.join("node/sharechain").is_dir());
    assert!(data.join("miner-1.log").is_file() && data.join("miner-2.log").is_file());
}
