//! Fuzzes the Stratum server's session (the protocol state of one connection, no I/O) the way the
//! server drives it: the input split at `\n` into lines, each over the line cap answered with
//! `line_too_long`, each other handed to `handle_line`, stopping at a close.
//!
//! The first byte shapes the session: bit 0 runs a valid subscribe + authorize first (so the
//! fuzzer reaches `mining.submit` and friends), bit 1 publishes a job first, bit 2 picks Litecoin
//! (scrypt) instead of Bitcoin, the high bits step the clock between lines. A line `!job`
//! publishes another job, `!en1` changes extranonce1 (what the server does between lines).
//! No input may panic; every line sent must be one JSON value ending in a newline.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use otedama_node::stratum::job::JobBroadcast;
use otedama_node::stratum::testkit::SimpleJob;
use otedama_node::stratum::{Outbound, Session, StatsRegistry, StratumConfig, Timestamp};
use otedama_proto::chain::{Coin, Network};
use otedama_proto::hash::BlockHash;
use otedama_proto::target::Target;

const BTC: &str = "bcrt1qdavt4j2sd7dlhqsavtnfxvzppw6k7qy97tmnu9";
const T0: u64 = 1_700_000_000;

fn job(config: &StratumConfig, n: u8) -> SimpleJob {
    // Easy, but within the algorithm's range (scrypt's difficulty-1 target is already high).
    let target = [1e-6, 1e-3, 1.0]
        .into_iter()
        .find_map(|d| Target::from_stratum_difficulty(config.algo(), d).ok())
        .expect("difficulty 1 has a target");
    SimpleJob {
        prev_hash: BlockHash([n; 32]),
        height: 100 + u32::from(n),
        version: 0x2000_0000,
        nbits: target.to_compact(),
        ntime: T0 as u32,
        share_target: target,
        clean: n % 2 == 0,
        other_transactions: n % 4,
    }
}

/// Checks what the session produced; returns whether it asked to close.
fn check(out: Vec<Outbound>) -> bool {
    let mut closed = false;
    for item in out {
        match item {
            Outbound::Send(line) => {
                let text = line.as_str();
                assert!(text.ends_with('\n'), "a line without its newline: {text:?}");
                serde_json::from_str::<serde_json::Value>(text)
                    .unwrap_or_else(|e| panic!("the session sent non-JSON {text:?}: {e}"));
            }
            Outbound::Share(_) => {}
            Outbound::Close => closed = true,
        }
    }
    closed
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let coin = if control & 4 == 0 { Coin::Bitcoin } else { Coin::Litecoin };
    let mut config = StratumConfig::new(coin, Network::Regtest);
    config.min_difficulty = 1e-12;
    config.initial_difficulty = 1e-6;
    let max_line = config.max_line_bytes;
    let jobs = JobBroadcast::new(config.algo());
    let config = Arc::new(config);
    let registry = Arc::new(StatsRegistry::default());
    let mut now = Timestamp::from_secs(T0);
    let step = u64::from(control >> 3) * 997;
    let mut session = Session::new(config.clone(), registry, [0xde, 0xad, 0xbe, 0xef], now);
    let mut published = 0u8;

    if control & 2 != 0 {
        let j = jobs.publish(job(&config, published).spec()).expect("a valid job");
        published += 1;
        check(session.on_job(&j, now));
    }
    if control & 1 != 0 && coin == Coin::Bitcoin {
        let subscribe = br#"{"id":1,"method":"mining.subscribe","params":["fuzz/1"]}"#;
        check(session.handle_line(subscribe, now));
        let authorize = format!(r#"{{"id":2,"method":"mining.authorize","params":["{BTC}.rig","x"]}}"#);
        check(session.handle_line(authorize.as_bytes(), now));
    }

    for line in rest.split(|&b| b == b'\n') {
        now = now.plus_millis(step);
        if line.len() + 1 > max_line {
            check(session.line_too_long());
            return;
        }
        let closed = match line {
            b"!job" => {
                let j = jobs.publish(job(&config, published).spec()).expect("a valid job");
                published = published.wrapping_add(1);
                check(session.on_job(&j, now))
            }
            b"!en1" => session
                .set_extranonce1([published, 1, 2, 3])
                .map(check)
                .unwrap_or(false),
            _ => check(session.handle_line(line, now)),
        };
        if closed {
            return;
        }
        let _ = (session.is_ready(), session.difficulty());
    }
});
