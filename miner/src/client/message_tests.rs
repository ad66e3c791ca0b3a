//! Tests of Stratum message decoding, on lines shaped as real pools send them.

use super::*;
use otedama_proto::hash::BlockHash;

#[test]
fn classifies_replies_notifications_and_requests() {
    assert_eq!(
        parse_line(r#"{"id":3,"result":true,"error":null}"#),
        Ok(Incoming::Response {
            id: Some(3),
            result: json!(true),
            error: None
        })
    );
    assert_eq!(
        parse_line(r#"{"id":null,"method":"mining.set_difficulty","params":[0.5]}"#),
        Ok(Incoming::Request {
            id: None,
            method: "mining.set_difficulty".into(),
            params: json!([0.5])
        })
    );
    assert_eq!(
        parse_line(r#"{"id":"x","method":"client.get_version"}"#),
        Ok(Incoming::Request {
            id: Some(json!("x")),
            method: "client.get_version".into(),
            params: json!([])
        })
    );
    assert!(matches!(parse_line("[1,2]"), Err(MessageError::NotJson(_))));
    assert!(matches!(
        parse_line("{\"id\":"),
        Err(MessageError::NotJson(_))
    ));
}

#[test]
fn errors_in_both_shapes_with_named_codes() {
    let e = PoolError::from_json(&json!([23, "Low difficulty share", null])).expect("an error");
    assert_eq!(
        e.to_string(),
        "error 23 (low difficulty share): Low difficulty share"
    );
    assert_eq!(e.reason(), "23 low difficulty share");
    let e = PoolError::from_json(&json!({"code": 21, "message": "Job not found"})).expect("error");
    assert_eq!(
        e.to_string(),
        "error 21 (job not found (stale)): Job not found"
    );
    let e = PoolError::from_json(&json!("banned")).expect("an error");
    assert_eq!(e.to_string(), "error: banned");
    assert_eq!(e.reason(), "no code");
    assert_eq!(PoolError::from_json(&Value::Null), None);
    assert_eq!(code_name(22), Some("duplicate share"));
    assert_eq!(code_name(24), Some("unauthorized worker"));
}

#[test]
fn decodes_a_notify() {
    // The prevhash is Bitcoin block 125551's hash with its 4-byte words reversed in order.
    let mut params = json!([
        "4f",
        "ab02cd818b9e567ee21793cddef299feb29ad444a41b85b8000008a300000000",
        "01000000010000",
        "ffffffff",
        ["aa".repeat(32)],
        "20002000",
        "1a44b9f2",
        "4dd7f5c7",
        true
    ]);
    let job = parse_notify(&params).expect("valid notify");
    assert_eq!(job.id, "4f");
    assert_eq!(
        job.prev_hash,
        "00000000000008a3a41b85b8b29ad444def299fee21793cd8b9e567eab02cd81"
            .parse::<BlockHash>()
            .expect("hash")
    );
    assert_eq!(job.coinb1, vec![1, 0, 0, 0, 1, 0, 0]);
    assert_eq!(job.branch, vec![MerkleNode([0xaa; 32])]);
    assert_eq!(job.version, 0x2000_2000);
    assert_eq!(job.nbits, CompactTarget::from_consensus(0x1a44b9f2));
    assert_eq!(job.ntime, 0x4dd7f5c7);
    assert!(job.clean);
    params[4] = json!(["abc"]);
    assert!(parse_notify(&params)
        .unwrap_err()
        .to_string()
        .contains("merkle branch entry"));
    params[4] = json!([]);
    params[7] = json!("4dd7f5");
    assert!(matches!(parse_notify(&params), Err(MessageError::Field(_))));
}

#[test]
fn decodes_subscription_difficulty_configure_and_reconnect() {
    let result = json!([
        [["mining.notify", "ae6812eb4cd7735a302a8a9dd95cf71f"]],
        "08000002",
        4
    ]);
    assert_eq!(
        parse_extranonce("mining.subscribe", &result, 1),
        Ok((vec![8, 0, 0, 2], 4))
    );
    assert!(parse_extranonce("mining.subscribe", &json!([null, "08", 64]), 1).is_err());
    assert_eq!(parse_difficulty(&json!([0.00015])), Ok(0.00015));
    assert_eq!(parse_difficulty(&json!(["1024"])), Ok(1024.0));
    assert!(parse_difficulty(&json!([])).is_err());
    assert_eq!(
        parse_configure(&json!({"version-rolling": true, "version-rolling.mask": "1fffe000"})),
        Ok(Some(0x1fff_e000))
    );
    assert_eq!(
        parse_configure(&json!({"version-rolling": false})),
        Ok(None)
    );
    assert_eq!(
        parse_reconnect(&json!(["pool2.example", "3334", 5])),
        (Some("pool2.example".into()), Some(3334), 5)
    );
    assert_eq!(parse_reconnect(&json!([])), (None, None, 0));
}

#[test]
fn writes_requests_and_replies() {
    let line = request(7, "mining.authorize", json!(["addr.w", "x"]));
    let back: Value = serde_json::from_str(&line).expect("JSON");
    assert_eq!(
        back,
        json!({"id": 7, "method": "mining.authorize", "params": ["addr.w", "x"]})
    );
    let line = reply(&json!("q"), Value::Null, Some((20, "unknown method")));
    let back: Value = serde_json::from_str(&line).expect("JSON");
    assert_eq!(
        back,
        json!({"id": "q", "result": null, "error": [20, "unknown method", null]})
    );
}
