//! The `otedama-miner` binary as a user runs it: output and exit codes of `hash`, `selftest`,
//! `bench` and of mining's argument checks (mining itself is in `stratum.rs`).
//!
//! Expected hashes were computed with an independent implementation (Python's `hashlib.sha256`
//! and `hashlib.scrypt`); the sha256d ones are also the block ids explorers show.

use std::process::{Command, Output};

fn miner(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_otedama-miner"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("the otedama-miner binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Bitcoin block 125552 (not one of the self-test's headers).
const BTC_125552: &str = "0100000081cd02ab7e569e8bcd9317e2fe99f2de44d49ab2b8851ba4a308000000000000e320b6c2fffc8d750423db8b1eb942ae710e951ed797f7affc8892b0f1fc122bc7f5d74df2b9441a42a14695";
/// Litecoin genesis: version 1, merkle root 97ddfbba…d4ced9, time 1317972665, bits 1e0ffff0,
/// nonce 2084524493.
const LTC_GENESIS: &str = "010000000000000000000000000000000000000000000000000000000000000000000000d9ced4ed1130f7b7faad9be25323ffafa33232a17c3edf6cfd97bee6bafbdd97b9aa8e4ef0ff0f1ecd513f7c";
/// A Litecoin-format header with nonce 0 (previous block 7dcf1304…, bits 1b44dfdb).
const LTC_NONCE_ZERO: &str = "020000000413cf7d02794eb094cd66404e46aa816679e12f6fdf9ee11f0e97337702b6e00b1edc1ccf82d3214423fc68234f4946119e39df2cc2137e31ebc186191d54229b8f1753dbdf441b00000000";

#[test]
fn hash_sha256d_prints_the_block_id() {
    let o = miner(&["hash", "--algo", "sha256d", BTC_125552]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "00000000000000001e8d6829a8a21adc5d38d0a473b144b6765798e61f98bd1d\n"
    );
}

#[test]
fn hash_scrypt_of_litecoin_headers() {
    let o = miner(&["hash", "--algo", "scrypt", LTC_GENESIS]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "0000050c34a64b415b6b15b37f2216634b5b1669cb9a2e38d76f7213b0671e00\n"
    );
    let o = miner(&["hash", "--algo=scrypt", LTC_NONCE_ZERO]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "d0ddef8a0a2a17c416aed430d9c21c9fe90e69788aab92e151f2a40a353ef1f6\n"
    );
}

#[test]
fn hash_sha256d_of_a_litecoin_header_is_its_block_id() {
    let o = miner(&["hash", "--algo", "sha256d", LTC_GENESIS]);
    assert_eq!(
        stdout(&o),
        "12a765e31ffd4059bada1e25190f6e98c99d9714d334efa41a195a7e7e04bfe2\n"
    );
}

#[test]
fn hash_refuses_bad_hex() {
    let bad = format!("{}zz", &BTC_125552[..158]);
    let o = miner(&["hash", "--algo", "sha256d", &bad]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    assert_eq!(
        stderr(&o),
        "error: HEADER_HEX is not hex: 'z' at position 158\n"
    );
}

#[test]
fn hash_refuses_a_wrong_length_and_says_the_length() {
    let o = miner(&["hash", "--algo", "scrypt", &BTC_125552[..158]]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "error: a block header is 80 bytes (160 hex digits), but HEADER_HEX is 79 bytes (158 hex \
         digits)\n"
    );
    let long = format!("{BTC_125552}00");
    let o = miner(&["hash", "--algo", "scrypt", &long]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("81 bytes (162 hex digits)"),
        "{}",
        stderr(&o)
    );
    let o = miner(&["hash", "--algo", "scrypt", &BTC_125552[..159]]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("odd number of hex digits (159)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn hash_refuses_an_unknown_algorithm_as_a_usage_error() {
    let o = miner(&["hash", "--algo", "x11", BTC_125552]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("[possible values: sha256d, scrypt]"),
        "{}",
        stderr(&o)
    );
    let o = miner(&["hash", BTC_125552]);
    assert_eq!(o.status.code(), Some(2), "--algo is required");
}

#[test]
fn selftest_passes_on_real_headers() {
    let o = miner(&["selftest"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("litecoin block 2000000"), "{out}");
    assert!(out.contains("bitcoin block 100000"), "{out}");
    assert!(!out.contains("FAILED"), "{out}");
    assert!(out.contains("Self-test passed"), "{out}");
}

#[test]
fn help_lists_the_subcommands() {
    let o = miner(&["--help"]);
    assert!(o.status.success());
    let out = stdout(&o);
    for needle in [
        "hash",
        "selftest",
        "bench",
        "--url",
        "--user",
        "--algo",
        "--threads",
        "--backend",
    ] {
        assert!(out.contains(needle), "{needle} in {out}");
    }
}

#[test]
fn verbose_logs_go_to_stderr_only() {
    let o = miner(&["-v", "hash", "--algo", "sha256d", BTC_125552]);
    assert!(o.status.success());
    assert_eq!(stdout(&o).lines().count(), 1);
    assert!(stderr(&o).contains("DEBUG"), "{}", stderr(&o));
}

#[test]
fn bench_json_prints_one_object_with_the_fields() {
    for algo in ["sha256d", "scrypt"] {
        let o = miner(&[
            "bench",
            "--algo",
            algo,
            "--threads",
            "1",
            "--seconds",
            "1",
            "--json",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let out = stdout(&o);
        assert_eq!(out.lines().count(), 1, "{out}");
        let v: serde_json::Value = serde_json::from_str(&out).expect("one JSON object");
        let mut keys: Vec<&str> = v
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["algo", "backend", "hashes", "hashrate", "seconds", "threads"],
            "{out}"
        );
        assert_eq!(v["algo"], algo);
        assert_eq!(v["backend"], "cpu");
        assert_eq!(v["threads"], 1);
        let hashes = v["hashes"].as_u64().expect("hashes is a count");
        let seconds = v["seconds"].as_f64().expect("seconds is a number");
        let rate = v["hashrate"].as_f64().expect("hashrate is a number");
        assert!(hashes > 0, "{out}");
        assert!(
            (0.9..5.0).contains(&seconds),
            "timed about one second: {out}"
        );
        assert!(
            (rate - hashes as f64 / seconds).abs() <= 1e-6 * rate,
            "{out}"
        );
    }
}

#[test]
fn bench_prints_per_thread_rates() {
    let o = miner(&[
        "bench",
        "--algo",
        "scrypt",
        "--threads",
        "2",
        "--seconds",
        "0.3",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for needle in ["2 thread(s)", "thread 0: ", "thread 1: ", "total: ", "H/s"] {
        assert!(out.contains(needle), "{needle:?} in {out}");
    }
}

#[test]
fn mining_needs_a_url_user_and_algo() {
    let o = miner(&[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("give --url"), "{}", stderr(&o));
    let o = miner(&["--url", "stratum+tcp://127.0.0.1:1", "--algo", "sha256d"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--user"), "{}", stderr(&o));
    let o = miner(&[
        "--url",
        "stratum+ssl://pool:443",
        "--user",
        "a",
        "--algo",
        "sha256d",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("TLS is not supported"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn mining_options_do_not_mix_with_a_subcommand() {
    let o = miner(&["--url", "stratum+tcp://127.0.0.1:1", "selftest"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("go without a subcommand"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_missing_opencl_device_is_a_clear_error() {
    let o = miner(&[
        "bench",
        "--algo",
        "sha256d",
        "--backend",
        "opencl",
        "--opencl-device",
        "999",
        "--seconds",
        "0.1",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.starts_with("error: cannot set up sha256d on OpenCL device 999: "),
        "{e}"
    );
    assert!(e.contains("no OpenCL device"), "{e}");
}
