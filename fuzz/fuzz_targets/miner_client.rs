//! Fuzzes the miner's Stratum client: the line classifier and every parameter decoder of
//! `client::message`, then the pure `client::Session` fed the input line by line as the
//! connection would (stopping at the first error, which ends the connection there too).
//!
//! The first byte shapes the session: bit 0 picks scrypt instead of sha256d, bit 1 runs a valid
//! handshake first (configure, subscribe, authorize replies) so that notifies make work, bit 2
//! turns on `mining.extranonce.subscribe`. No input may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otedama_miner::client::message::{
    parse_configure, parse_difficulty, parse_extranonce, parse_line, parse_notify,
    parse_reconnect, Incoming,
};
use otedama_miner::client::{Session, SessionConfig};
use otedama_proto::chain::PowAlgo;

fn decoders(line: &str) {
    match parse_line(line) {
        Ok(Incoming::Request { params, .. }) => {
            let _ = parse_notify(&params);
            let _ = parse_extranonce("mining.set_extranonce", &params, 0);
            let _ = parse_difficulty(&params);
            let _ = parse_reconnect(&params);
        }
        Ok(Incoming::Response { result, .. }) => {
            let _ = parse_configure(&result);
            let _ = parse_extranonce("mining.subscribe", &result, 1);
        }
        Err(_) => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let algo = if control & 1 == 0 { PowAlgo::Sha256d } else { PowAlgo::Scrypt };
    let mut session = Session::new(
        SessionConfig {
            user: "addr.w1".into(),
            password: "x".into(),
            algo,
            user_agent: "otedama-miner/fuzz".into(),
            suggest_difficulty: (control & 8 != 0).then_some(0.5),
            extranonce_subscribe: control & 4 != 0,
            version_rolling: algo == PowAlgo::Sha256d,
        },
        7,
    );
    let _ = session.start();
    if control & 2 != 0 {
        let mut id = 1;
        let mut handshake = Vec::new();
        if algo == PowAlgo::Sha256d {
            handshake.push(format!(
                r#"{{"id":{id},"result":{{"version-rolling":true,"version-rolling.mask":"1fffe000"}},"error":null}}"#
            ));
            id += 1;
        }
        handshake.push(format!(
            r#"{{"id":{id},"result":[[["mining.notify","s"]],"0a0b0c0d",4],"error":null}}"#
        ));
        handshake.push(format!(r#"{{"id":{},"result":true,"error":null}}"#, id + 1));
        for line in &handshake {
            if session.handle_line(line).is_err() {
                return;
            }
        }
    }

    let text = String::from_utf8_lossy(rest);
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        decoders(line);
        if session.handle_line(line).is_err() {
            return;
        }
        let _ = (session.is_authorized(), session.version_mask(), session.difficulty());
    }
});
