//! Unit tests of the ZMTP codec: greetings, frames of both sizes, commands, limits and garbage.

use super::*;

/// A libzmq 4.3 PUB socket's greeting (ZMTP 3.1, NULL, not a server), as sent on the wire.
fn libzmq_greeting() -> [u8; GREETING_LEN] {
    let mut g = [0u8; GREETING_LEN];
    g[0] = 0xFF;
    g[8] = 0x01;
    g[9] = 0x7F;
    g[10] = 3;
    g[11] = 1;
    g[12..16].copy_from_slice(b"NULL");
    g
}

/// A libzmq PUB socket's READY command, byte for byte.
const LIBZMQ_PUB_READY: &[u8] = b"\x04\x19\x05READY\x0bSocket-Type\x00\x00\x00\x03PUB";

#[test]
fn our_greeting_is_zmtp_3_0_null_client() {
    let g = greeting();
    assert_eq!(g.len(), 64);
    assert_eq!((g[0], g[9], g[10], g[11]), (0xFF, 0x7F, 3, 0));
    assert_eq!(&g[12..20], b"NULL\0\0\0\0");
    assert_eq!(g[32], 0, "as-server is false");
    assert!(g[33..].iter().all(|&b| b == 0));
    check_greeting(&g).expect("our own greeting is valid");
}

#[test]
fn greetings_of_libzmq_and_later_versions_are_accepted() {
    check_greeting(&libzmq_greeting()).expect("libzmq 4.3");
    let mut g = libzmq_greeting();
    g[10] = 4;
    check_greeting(&g).expect("a later major version downgrades to ours");
}

#[test]
fn greetings_that_are_not_zmtp_3_null_are_refused() {
    let mut g = libzmq_greeting();
    g[10..12].copy_from_slice(&[2, 0]);
    assert_eq!(
        check_greeting(&g),
        Err(ZmtpError::Version { major: 2, minor: 0 })
    );

    let mut g = libzmq_greeting();
    g[12..32].copy_from_slice(b"CURVE\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
    let err = check_greeting(&g).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the peer asks for the \"CURVE\" security mechanism; only NULL is supported"
    );

    let mut g = libzmq_greeting();
    g[16] = b'X'; // "NULLX"
    assert!(matches!(check_greeting(&g), Err(ZmtpError::Mechanism(_))));

    let err = check_signature(b"HTTP/1.1 400 Bad Request").unwrap_err();
    assert_eq!(
        err.to_string(),
        "not a ZMQ greeting (it began with \"HTTP/1.1 4\"); is this the daemon's \
         -zmqpubhashblock port?"
    );
    let err = check_signature(&[0x16, 0x03, 0x01]).unwrap_err();
    assert!(err.to_string().contains("0x160301"), "{err}");
}

#[test]
fn short_and_long_frames_decode_and_report_their_length() {
    let (frame, used) = decode_frame(b"\x01\x09hashblock\xff")
        .expect("valid")
        .expect("complete");
    assert_eq!(used, 11, "the trailing byte belongs to the next frame");
    assert_eq!(
        frame,
        Frame::Message {
            body: b"hashblock".to_vec(),
            more: true
        }
    );

    let mut long = vec![0x02];
    long.extend_from_slice(&300u64.to_be_bytes());
    long.extend_from_slice(&[7; 300]);
    let (frame, used) = decode_frame(&long).expect("valid").expect("complete");
    assert_eq!(used, 309);
    assert_eq!(
        frame,
        Frame::Message {
            body: vec![7; 300],
            more: false
        }
    );
}

#[test]
fn every_prefix_of_a_frame_asks_for_more() {
    let mut long = vec![0x03];
    long.extend_from_slice(&40u64.to_be_bytes());
    long.extend_from_slice(&[1; 40]);
    for whole in [&b"\x00\x04abcd"[..], &long, LIBZMQ_PUB_READY] {
        for cut in 0..whole.len() {
            assert_eq!(decode_frame(&whole[..cut]), Ok(None), "{cut} of {whole:?}");
        }
        assert!(decode_frame(whole).expect("valid").is_some());
    }
}

#[test]
fn an_oversized_frame_is_refused_from_its_header_alone() {
    let mut header = vec![0x02];
    header.extend_from_slice(&(MAX_FRAME as u64 + 1).to_be_bytes());
    assert_eq!(
        decode_frame(&header),
        Err(ZmtpError::TooLong {
            size: MAX_FRAME as u64 + 1
        })
    );
    let mut header = vec![0x06];
    header.extend_from_slice(&u64::MAX.to_be_bytes());
    let err = decode_frame(&header).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("a {}-byte frame exceeds the 1024-byte limit", u64::MAX)
    );
    let mut at_limit = vec![0x02];
    at_limit.extend_from_slice(&(MAX_FRAME as u64).to_be_bytes());
    at_limit.resize(9 + MAX_FRAME, 0);
    assert!(decode_frame(&at_limit).expect("at the limit").is_some());
}

#[test]
fn reserved_flags_and_multipart_commands_are_refused() {
    assert_eq!(decode_frame(b"\x08\x00"), Err(ZmtpError::Flags(0x08)));
    assert_eq!(decode_frame(b"\x80"), Err(ZmtpError::Flags(0x80)));
    assert_eq!(
        decode_frame(b"\x05\x05\x04PONG"),
        Err(ZmtpError::MultipartCommand)
    );
}

#[test]
fn libzmq_ready_and_our_ready_decode_to_their_socket_types() {
    let (frame, used) = decode_frame(LIBZMQ_PUB_READY)
        .expect("valid")
        .expect("complete");
    assert_eq!(used, LIBZMQ_PUB_READY.len());
    assert_eq!(
        frame,
        Frame::Command(Command::Ready(vec![(
            "Socket-Type".into(),
            b"PUB".to_vec()
        )]))
    );
    let ours = ready("SUB");
    let (frame, _) = decode_frame(&ours).expect("valid").expect("complete");
    assert_eq!(
        frame,
        Frame::Command(Command::Ready(vec![(
            "Socket-Type".into(),
            b"SUB".to_vec()
        )]))
    );
}

#[test]
fn error_ping_and_unknown_commands_decode() {
    let (frame, _) = decode_frame(b"\x04\x0b\x05ERROR\x04nope").unwrap().unwrap();
    assert_eq!(frame, Frame::Command(Command::Error("nope".into())));
    let (frame, _) = decode_frame(b"\x04\x09\x04PING\x00\x0aab")
        .unwrap()
        .unwrap();
    assert_eq!(
        frame,
        Frame::Command(Command::Ping {
            context: b"ab".to_vec()
        })
    );
    let (frame, _) = decode_frame(b"\x04\x07\x06CANCEL").unwrap().unwrap();
    assert_eq!(frame, Frame::Command(Command::Other("CANCEL".into())));
}

#[test]
fn malformed_commands_are_refused() {
    for (bytes, reason) in [
        (&b"\x04\x00"[..], "empty"),
        (b"\x04\x02\x05R", "the name runs past the frame"),
        (
            b"\x04\x08\x05READY\x0bS",
            "a property name runs past the frame",
        ),
        (
            b"\x04\x0f\x05READY\x01S\x00\x00\x00\x09PUB",
            "a property value runs past the frame",
        ),
        (
            b"\x04\x0a\x05ERROR\x09abc",
            "the reason's length does not match the frame",
        ),
        (b"\x04\x06\x04PING\x00", "not a TTL and a context"),
    ] {
        let err = decode_frame(bytes).unwrap_err().to_string();
        assert!(err.contains(reason), "{bytes:?}: {err}");
    }
}

#[test]
fn subscribe_and_pong_encode_as_zmtp_frames() {
    assert_eq!(subscribe(b"hashblock"), b"\x00\x0a\x01hashblock");
    assert_eq!(pong(b"ab"), b"\x04\x07\x04PONGab");
}

#[test]
fn multipart_messages_assemble_and_are_bounded() {
    let mut m = Multipart::default();
    assert_eq!(m.push(b"hashblock".to_vec(), true), Ok(None));
    assert_eq!(m.push(vec![0; 32], true), Ok(None));
    let parts = m.push(vec![1, 0, 0, 0], false).unwrap().expect("complete");
    assert_eq!(parts.len(), 3);
    assert_eq!(m.push(b"next".to_vec(), false).unwrap().unwrap().len(), 1);

    for _ in 0..MAX_PARTS {
        assert_eq!(m.push(vec![], true), Ok(None));
    }
    assert_eq!(m.push(vec![], false), Err(ZmtpError::TooManyParts));
}

#[test]
fn garbage_never_panics_and_never_overreads() {
    // A fixed xorshift stream, so a failure reproduces.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..20_000 {
        let len = (next() % 64) as usize;
        let mut buf: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        // Bias the flags byte towards valid ones so that bodies get decoded too.
        if let Some(first) = buf.first_mut() {
            *first &= 0x07;
        }
        if let Ok(Some((_, used))) = decode_frame(&buf) {
            assert!(used <= buf.len());
        }
        let mut g = [0u8; GREETING_LEN];
        g[..len].copy_from_slice(&buf);
        let _ = check_greeting(&g);
    }
}
