//! Unit tests of the subscriber against scripted publishers over in-memory pipes.

use super::*;
use tokio::io::{duplex, DuplexStream};

/// A block hash as RPC shows it, and the same 32 bytes as bitcoind publishes them.
const HASH_HEX: &str = "6efa5133e2b0fefc0c3d7546be60ea250444d9163baf805e4f3f59da32542239";

fn frame(flags: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![flags, u8::try_from(body.len()).expect("short test frames")];
    out.extend_from_slice(body);
    out
}

fn ready_frame(socket_type: &str) -> Vec<u8> {
    let mut body = b"\x05READY\x0bSocket-Type".to_vec();
    body.extend_from_slice(&(socket_type.len() as u32).to_be_bytes());
    body.extend_from_slice(socket_type.as_bytes());
    frame(0x04, &body)
}

fn hashblock_message(hash: &[u8], sequence: u32) -> Vec<u8> {
    let mut out = frame(0x01, b"hashblock");
    out.extend(frame(0x01, hash));
    out.extend(frame(0x00, &sequence.to_le_bytes()));
    out
}

fn publisher_greeting() -> Vec<u8> {
    let mut g = zmtp::greeting().to_vec();
    g[11] = 1; // libzmq 4.3 announces ZMTP 3.1
    g
}

/// Plays a publisher's side of the handshake and checks what the subscriber sent.
async fn accept(server: &mut DuplexStream, socket_type: &str) {
    server.write_all(&publisher_greeting()).await.unwrap();
    server.write_all(&ready_frame(socket_type)).await.unwrap();
    let mut greeting = [0u8; GREETING_LEN];
    server.read_exact(&mut greeting).await.unwrap();
    assert_eq!(greeting, zmtp::greeting());
    let ready = zmtp::ready("SUB");
    let mut got = vec![0u8; ready.len()];
    server.read_exact(&mut got).await.unwrap();
    assert_eq!(got, ready);
}

async fn subscribed() -> (Subscriber<DuplexStream>, DuplexStream) {
    let (client, mut server) = duplex(8192);
    let (subscriber, ()) = tokio::join!(Subscriber::handshake(client), accept(&mut server, "PUB"));
    let subscriber = subscriber.expect("handshake with a PUB socket");
    let sub = zmtp::subscribe(b"hashblock");
    let mut got = vec![0u8; sub.len()];
    server.read_exact(&mut got).await.unwrap();
    assert_eq!(got, sub, "the subscription follows the handshake");
    (subscriber, server)
}

#[test]
fn hashblock_keeps_the_rpc_byte_order_for_display() {
    let published = hex::decode(HASH_HEX).unwrap();
    let parts = vec![
        b"hashblock".to_vec(),
        published,
        7u32.to_le_bytes().to_vec(),
    ];
    let block = parse_hashblock(&parts).unwrap().expect("a hashblock");
    assert_eq!(block.hash.to_string(), HASH_HEX);
    assert_eq!(block.sequence, 7);
}

#[test]
fn other_topics_and_malformed_hashblocks_are_told_apart() {
    assert_eq!(
        parse_hashblock(&[b"hashtx".to_vec(), vec![0; 32]]),
        Ok(None)
    );
    assert_eq!(parse_hashblock(&[]), Ok(None));
    let err = parse_hashblock(&[b"hashblock".to_vec(), vec![0; 32]]).unwrap_err();
    assert_eq!(err, "2 parts, expected 3 (topic, hash, sequence)");
    let err = parse_hashblock(&[b"hashblock".to_vec(), vec![0; 31], vec![0; 4]]).unwrap_err();
    assert_eq!(err, "a 31-byte hash, expected 32");
    let err = parse_hashblock(&[b"hashblock".to_vec(), vec![0; 32], vec![0; 2]]).unwrap_err();
    assert_eq!(err, "a 2-byte sequence number, expected 4");
}

#[tokio::test]
async fn announcements_arrive_in_order_across_any_split_of_the_bytes() {
    let (mut subscriber, mut server) = subscribed().await;
    let hash = hex::decode(HASH_HEX).unwrap();
    let mut bytes = hashblock_message(&hash, 41);
    bytes.extend(hashblock_message(&[0xAB; 32], 42));
    // One byte at a time: every frame boundary falls between reads.
    let writer = async {
        for b in &bytes {
            server.write_all(std::slice::from_ref(b)).await.unwrap();
        }
    };
    let reader = async {
        let first = subscriber.next_hashblock().await.unwrap();
        let second = subscriber.next_hashblock().await.unwrap();
        (first, second)
    };
    let ((), (first, second)) = tokio::join!(writer, reader);
    assert_eq!(
        (first.hash.to_string(), first.sequence),
        (HASH_HEX.into(), 41)
    );
    assert_eq!(
        (second.hash.to_string(), second.sequence),
        ("ab".repeat(32), 42)
    );
}

#[tokio::test]
async fn malformed_and_foreign_messages_are_skipped_and_pings_answered() {
    let (mut subscriber, mut server) = subscribed().await;
    let mut bytes = frame(0x00, b"hashblockX"); // another topic with our prefix
    bytes.extend(frame(0x01, b"hashblock"));
    bytes.extend(frame(0x00, &[0; 31])); // two parts only
    bytes.extend(frame(0x04, b"\x04PING\x00\x0acx"));
    bytes.extend(hashblock_message(&[1; 32], 5));
    server.write_all(&bytes).await.unwrap();
    let block = subscriber.next_hashblock().await.unwrap();
    assert_eq!(block.sequence, 5);
    let pong = zmtp::pong(b"cx");
    let mut got = vec![0u8; pong.len()];
    server.read_exact(&mut got).await.unwrap();
    assert_eq!(got, pong);
}

#[tokio::test]
async fn an_oversized_frame_ends_the_connection_with_its_size() {
    let (mut subscriber, mut server) = subscribed().await;
    let mut header = vec![0x02];
    header.extend_from_slice(&(1u64 << 40).to_be_bytes());
    server.write_all(&header).await.unwrap();
    let err = subscriber.next_hashblock().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("a {}-byte frame exceeds the 1024-byte limit", 1u64 << 40)
    );
}

#[tokio::test]
async fn too_many_parts_and_a_closed_socket_end_the_connection() {
    let (mut subscriber, mut server) = subscribed().await;
    for _ in 0..5 {
        server.write_all(&frame(0x01, b"x")).await.unwrap();
    }
    let err = subscriber.next_hashblock().await.unwrap_err();
    assert!(
        matches!(err, ZmqError::Protocol(ZmtpError::TooManyParts)),
        "{err}"
    );

    let (mut subscriber, server) = subscribed().await;
    drop(server);
    let err = subscriber.next_hashblock().await.unwrap_err();
    assert_eq!(err.to_string(), "the publisher closed the connection");
}

#[tokio::test]
async fn a_non_publisher_or_a_refusal_fails_the_handshake() {
    let (client, mut server) = duplex(8192);
    let (result, ()) = tokio::join!(Subscriber::handshake(client), accept(&mut server, "REQ"));
    assert_eq!(
        result.unwrap_err().to_string(),
        "the peer is a REQ socket, not a publisher (PUB or XPUB)"
    );

    let (client, mut server) = duplex(8192);
    let refuse = async {
        server.write_all(&publisher_greeting()).await.unwrap();
        server
            .write_all(&frame(0x04, b"\x05ERROR\x0dnot permitted"))
            .await
            .unwrap();
    };
    let (result, ()) = tokio::join!(Subscriber::handshake(client), refuse);
    assert_eq!(
        result.unwrap_err().to_string(),
        "the publisher refused the connection: not permitted"
    );
}

#[tokio::test]
async fn a_service_that_is_not_zmq_is_named_by_what_it_sent() {
    let (client, mut server) = duplex(8192);
    let http = async {
        server
            .write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n")
            .await
            .unwrap();
        drop(server);
    };
    let (result, ()) = tokio::join!(Subscriber::handshake(client), http);
    let err = result.unwrap_err().to_string();
    assert!(
        err.starts_with("not a ZMQ greeting (it began with \"HTTP/1.1 4\")"),
        "{err}"
    );

    let (client, mut server) = duplex(8192);
    let short = async {
        server.write_all(&[0xFF, 0, 0]).await.unwrap();
        drop(server);
    };
    let (result, ()) = tokio::join!(Subscriber::handshake(client), short);
    let err = result.unwrap_err().to_string();
    assert!(err.contains("0xff0000"), "{err}");

    let (client, server) = duplex(8192);
    drop(server);
    let err = Subscriber::handshake(client).await.unwrap_err();
    assert!(matches!(err, ZmqError::Closed | ZmqError::Io(_)), "{err}");
}

#[test]
fn state_reads_as_the_status_shows_it() {
    assert_eq!(ZmqState::Connecting.to_string(), "connecting");
    assert_eq!(ZmqState::Connected.to_string(), "connected");
    assert_eq!(
        ZmqState::Failed("the publisher closed the connection".into()).to_string(),
        "error: the publisher closed the connection"
    );
}
