//! Stratum conformance over real TCP: the handshake of `STRATUM-NOTES.md` exactly as written,
//! framing (partial lines, several messages per write, the line cap, garbage), error codes, and
//! jobs on new blocks.

mod stratum_support;

use std::time::Duration;

use otedama_proto::chain::{Coin, PowAlgo};
use serde_json::{json, Value};
use stratum_support::{code, config, job, Miner, TestServer, BTC};

async fn next(client: &mut otedama_node::stratum::testkit::TestClient) -> Value {
    client
        .read_message()
        .await
        .expect("read")
        .expect("a message, not EOF")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_typical_asic_handshake_as_written_in_the_notes() {
    let mut server = TestServer::start(config(Coin::Bitcoin)).await;
    // The share target caps the difficulty well below the suggested 1000, so the test can mine.
    server.publish(job(PowAlgo::Sha256d, 1, true, 0.0001));
    let mut c = server.client().await;
    let user = format!("{BTC}.bitaxe1");
    let handshake = [
        json!({"id":1,"method":"mining.configure","params":[["version-rolling"],{"version-rolling.mask":"ffffffff","version-rolling.min-bit-count":2}]}),
        json!({"id":2,"method":"mining.subscribe","params":["bitaxe/BM1368/v2.9.0"]}),
        json!({"id":3,"method":"mining.authorize","params":[user,"x"]}),
        json!({"id":4,"method":"mining.suggest_difficulty","params":[1000]}),
        json!({"id":5,"method":"mining.extranonce.subscribe","params":[]}),
    ];
    let text: String = handshake.iter().map(|m| m.to_string() + "\n").collect();
    c.send_raw(text.as_bytes()).await.unwrap();

    let m = next(&mut c).await;
    assert_eq!(
        m,
        json!({"id":1,"result":{"version-rolling":true,"version-rolling.mask":"1fffe000"},"error":null})
    );
    let m = next(&mut c).await;
    assert_eq!(m["id"], json!(2));
    assert_eq!(m["error"], Value::Null);
    let sid = m["result"][0][0][1].clone();
    assert_eq!(
        m["result"][0],
        json!([["mining.set_difficulty", sid], ["mining.notify", sid]])
    );
    let extranonce1 = hex::decode(m["result"][1].as_str().unwrap()).unwrap();
    assert_eq!((extranonce1.len(), m["result"][2].clone()), (4, json!(4)));
    assert_eq!(
        next(&mut c).await,
        json!({"id":3,"result":true,"error":null})
    );
    let m = next(&mut c).await;
    assert_eq!(
        (m["id"].clone(), m["method"].clone()),
        (Value::Null, json!("mining.set_difficulty"))
    );
    assert_eq!(m["params"], json!([1e-6]));
    let m = next(&mut c).await;
    assert_eq!(m["method"], json!("mining.notify"));
    assert_eq!(m["params"].as_array().unwrap().len(), 9);
    assert_eq!(m["params"][8], json!(true));
    assert_eq!(
        next(&mut c).await,
        json!({"id":4,"result":true,"error":null})
    );
    let m = next(&mut c).await;
    assert_eq!(m["method"], json!("mining.set_difficulty"));
    let difficulty = m["params"][0].as_f64().unwrap();
    assert!(
        (difficulty / 0.0001 - 1.0).abs() < 1e-9,
        "capped at the share difficulty: {difficulty}"
    );
    let notify = next(&mut c).await;
    assert_eq!(notify["method"], json!("mining.notify"));
    assert_eq!(
        next(&mut c).await,
        json!({"id":5,"result":true,"error":null})
    );

    // The miner rolls version bits and submits with id 9.
    let mut miner = Miner {
        client: c,
        user: user.clone(),
        extranonce1,
        difficulty,
        job: otedama_node::stratum::testkit::MinerJob::from_notify(&notify["params"]).unwrap(),
    };
    let bits = 0x0012_e000;
    let nonce = miner.mine(PowAlgo::Sha256d, 0, 0x2000_0000 | bits, difficulty, None);
    let reply = miner.submit(0, nonce, Some(bits)).await;
    assert_eq!(reply["result"], json!(true), "{reply}");
    let share = server.shares.recv().await.expect("the share is handed on");
    assert_eq!(
        u32::from_le_bytes(share.header[..4].try_into().unwrap()),
        0x2012_e000
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorize_before_subscribe_is_accepted() {
    let server = TestServer::start(config(Coin::Bitcoin)).await;
    server.publish(job(PowAlgo::Sha256d, 1, true, 0.0001));
    let mut c = server.client().await;
    let reply = c.authorize(BTC, "x").await.unwrap();
    assert_eq!(reply["result"], json!(true));
    let sub = c.subscribe().await.unwrap();
    assert_eq!(sub.extranonce1.len(), 4);
    c.notification("mining.set_difficulty").await.unwrap();
    let notify = c.notification("mining.notify").await.unwrap();
    assert_eq!(notify[8], json!(true));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_lines_several_messages_per_write_and_crlf() {
    let server = TestServer::start(config(Coin::Bitcoin)).await;
    let mut c = server.client().await;
    c.send_raw(br#"{"id":1,"method":"mining.sub"#)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    c.send_raw(br#"scribe","params":[]}"#).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    // The newline of the first message, two whole messages (one with CRLF), half of a fourth.
    c.send_raw(b"\n{\"id\":2,\"method\":\"mining.extranonce.subscribe\",\"params\":[]}\r\n\n{\"id\":3,\"method\":\"mining.nope\"}\n{\"id\":4,")
        .await
        .unwrap();
    assert_eq!(next(&mut c).await["id"], json!(1));
    assert_eq!(
        next(&mut c).await,
        json!({"id":2,"result":true,"error":null})
    );
    assert_eq!(code(&next(&mut c).await), 20);
    c.send_raw(b"\"method\":\"mining.extranonce.subscribe\"}\n")
        .await
        .unwrap();
    assert_eq!(
        next(&mut c).await,
        json!({"id":4,"result":true,"error":null})
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_line_gets_an_error_then_a_disconnect() {
    let server = TestServer::start(config(Coin::Bitcoin)).await;
    // A partial line past the cap.
    let mut c = server.client().await;
    c.send_raw(&vec![b'x'; 5000]).await.unwrap();
    let reply = next(&mut c).await;
    assert_eq!(code(&reply), 20);
    assert!(
        reply["error"][1]
            .as_str()
            .unwrap()
            .contains("longer than 4096"),
        "{reply}"
    );
    assert!(c.read_message().await.unwrap().is_none(), "disconnected");
    // A complete line past the cap, with a valid request in front of it.
    let mut c = server.client().await;
    let mut long = br#"{"id":1,"method":"mining.extranonce.subscribe"}"#.to_vec();
    long.push(b'\n');
    long.extend(
        format!(
            r#"{{"id":2,"method":"mining.subscribe","params":["{}"]}}"#,
            "a".repeat(4200)
        )
        .bytes(),
    );
    long.push(b'\n');
    c.send_raw(&long).await.unwrap();
    assert_eq!(next(&mut c).await["id"], json!(1));
    assert_eq!(code(&next(&mut c).await), 20);
    assert!(c.read_message().await.unwrap().is_none(), "disconnected");
    // Garbage: an error reply, then a disconnect, and the server keeps serving others.
    let mut c = server.client().await;
    c.send_raw(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let reply = next(&mut c).await;
    assert_eq!((code(&reply), reply["id"].clone()), (20, Value::Null));
    assert!(c.read_message().await.unwrap().is_none(), "disconnected");
    let mut c = server.client().await;
    assert_eq!(c.subscribe().await.unwrap().extranonce2_size, 4);
    assert_eq!(
        server
            .stats
            .dropped_garbage
            .load(std::sync::atomic::Ordering::Relaxed),
        3
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_methods_get_error_20_and_the_connection_stays() {
    let server = TestServer::start(config(Coin::Bitcoin)).await;
    let mut c = server.client().await;
    for method in [
        "mining.get_transactions",
        "client.show_message",
        "mining.multi_version",
        "x",
    ] {
        let reply = c.request(method, json!([])).await.unwrap();
        assert_eq!(code(&reply), 20, "{method}");
    }
    // A string id is echoed as it came.
    c.send_raw(b"{\"id\":\"abc\",\"method\":\"mining.nope\",\"params\":[]}\n")
        .await
        .unwrap();
    assert_eq!(next(&mut c).await["id"], json!("abc"));
    assert_eq!(c.subscribe().await.unwrap().extranonce1.len(), 4);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_before_subscribe_is_25_and_an_unknown_worker_is_24() {
    let server = TestServer::start(config(Coin::Bitcoin)).await;
    server.publish(job(PowAlgo::Sha256d, 1, true, 0.0001));
    let mut c = server.client().await;
    let reply = c
        .submit(BTC, "1", &[0; 4], stratum_support::T0, 0, None)
        .await
        .unwrap();
    assert_eq!(code(&reply), 25);
    c.subscribe().await.unwrap();
    let reply = c
        .submit(BTC, "1", &[0; 4], stratum_support::T0, 0, None)
        .await
        .unwrap();
    assert_eq!(code(&reply), 24);
    // A user that is not a payout address of the node's coin and network: 24 with the reason.
    let reply = c
        .authorize("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2.rig", "x")
        .await
        .unwrap();
    assert_eq!(code(&reply), 24);
    let reason = reply["error"][1].as_str().unwrap();
    assert!(
        reason.contains("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2") && reason.contains("bitcoin regtest"),
        "{reason}"
    );
    let reply = c.authorize(&format!("{BTC}.rig"), "x").await.unwrap();
    assert_eq!(reply["result"], json!(true));
    let reply = c
        .submit(
            &format!("{BTC}.other"),
            "1",
            &[0; 4],
            stratum_support::T0,
            0,
            None,
        )
        .await
        .unwrap();
    assert_eq!(code(&reply), 24);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_blocks_reach_every_miner_as_clean_jobs() {
    let server = TestServer::start(config(Coin::Bitcoin)).await;
    server.publish(job(PowAlgo::Sha256d, 1, true, 0.0001));
    let mut a = Miner::start(&server, BTC, "x").await;
    let mut b = Miner::start(&server, &format!("{BTC}.b"), "x").await;
    assert_ne!(a.extranonce1, b.extranonce1);
    assert_eq!(a.job.job_id, b.job.job_id);
    server.publish(job(PowAlgo::Sha256d, 1, false, 0.0001));
    for m in [&mut a, &mut b] {
        assert!(!m.next_job().await.clean);
    }
    server.publish(job(PowAlgo::Sha256d, 2, true, 0.0001));
    let mut ids = Vec::new();
    for m in [&mut a, &mut b] {
        let job = m.next_job().await;
        assert!(job.clean);
        ids.push(job.job_id);
    }
    assert_eq!(ids[0], ids[1]);
    assert_eq!(server.stats.connected(), 2);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fixed_difficulty_password_is_honoured() {
    let server = TestServer::start(config(Coin::Bitcoin)).await;
    server.publish(job(PowAlgo::Sha256d, 1, true, 10.0));
    let m = Miner::start(&server, BTC, "d=0.0005").await;
    assert_eq!(m.difficulty, 0.0005);
    let m = Miner::start(&server, BTC, "x,d=3").await;
    assert_eq!(m.difficulty, 3.0);
    // Never above the job's share (and block) difficulty.
    let m = Miner::start(&server, BTC, "d=50").await;
    assert!((m.difficulty / 10.0 - 1.0).abs() < 1e-9, "{}", m.difficulty);
    server.shutdown().await;
}
