//! README's first command, `otedama devnet`, run for real: it must start litecoind, the node and
//! its miners, find blocks, print the API address and payouts, and stop when asked.

use std::process::Command;

#[test]
fn devnet_finds_blocks_prints_payouts_and_keeps_a_named_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("devnet");
    let out = Command::new(otedama_tests::binary("otedama").unwrap())
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
