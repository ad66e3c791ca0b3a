//! Stratum V1 framing: one JSON object per line. Decodes a miner's line into a [`Request`] and
//! writes the server's replies and notifications, each a complete line ending in `\n`.
//!
//! Replies echo the request's `id` exactly as sent (number or string). Errors use the classic
//! `[code, message, null]` form with the codes of [`ErrorCode`].

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

/// The Stratum error codes miners know.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 20: anything else (bad parameters, sizes, ntime out of range, unknown method).
    Other = 20,
    /// 21: the job is unknown or stale.
    JobNotFound = 21,
    /// 22: the same share was already submitted.
    Duplicate = 22,
    /// 23: the share's hash does not meet the difficulty its job was sent with.
    LowDifficulty = 23,
    /// 24: the worker is not authorized (or its user is not a payout address).
    Unauthorized = 24,
    /// 25: the connection has not subscribed.
    NotSubscribed = 25,
}

/// An error answered to a request: its code and a message saying what was wrong with what.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("error {}: {message}", *code as u8)]
pub struct RequestError {
    /// The code.
    pub code: ErrorCode,
    /// What was wrong.
    pub message: String,
}

impl RequestError {
    /// An error with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        RequestError {
            code,
            message: message.into(),
        }
    }

    /// Error 20 with `message`.
    pub fn other(message: impl Into<String>) -> Self {
        RequestError::new(ErrorCode::Other, message)
    }
}

/// A line that is not a Stratum message at all. The connection gets an error reply and is closed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GarbageError {
    /// Not UTF-8.
    #[error("the line is not UTF-8 text")]
    NotUtf8,
    /// Not JSON.
    #[error("the line is not JSON: {0}")]
    NotJson(String),
    /// JSON, but not an object.
    #[error("the line is JSON but not an object")]
    NotAnObject,
    /// Longer than the server's line cap.
    #[error("the line is longer than {0} bytes")]
    TooLong(usize),
}

/// One request (or notification, when `id` is null) from a miner.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// The id to echo in the reply; `Value::Null` for a notification, which gets no reply.
    pub id: Value,
    /// The method, such as `mining.submit`.
    pub method: String,
    /// The parameters; empty when absent.
    pub params: Vec<Value>,
}

/// What a line turned out to be.
#[derive(Clone, Debug, PartialEq)]
pub enum Incoming {
    /// A request or notification.
    Request(Request),
    /// An object with an id but no method: error 20.
    NoMethod(Value),
    /// Nothing to act on: a blank line, or a miner's reply to a server request.
    Ignore,
}

/// Decodes one line (without its newline).
pub fn parse_line(line: &[u8]) -> Result<Incoming, GarbageError> {
    let text = std::str::from_utf8(line).map_err(|_| GarbageError::NotUtf8)?;
    let text = text.trim();
    if text.is_empty() {
        return Ok(Incoming::Ignore);
    }
    let value: Value =
        serde_json::from_str(text).map_err(|e| GarbageError::NotJson(e.to_string()))?;
    let Value::Object(mut object) = value else {
        return Err(GarbageError::NotAnObject);
    };
    let id = object.remove("id").unwrap_or(Value::Null);
    let method = match object.remove("method") {
        Some(Value::String(method)) => method,
        _ if object.contains_key("result") || object.contains_key("error") => {
            return Ok(Incoming::Ignore)
        }
        _ => return Ok(Incoming::NoMethod(id)),
    };
    let params = match object.remove("params") {
        Some(Value::Array(params)) => params,
        None | Some(Value::Null) => Vec::new(),
        Some(other) => vec![other],
    };
    Ok(Incoming::Request(Request { id, method, params }))
}

/// One line for a miner, newline included. Job notifications are shared by every session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// A line built for this session.
    Owned(String),
    /// A line built once for every session (a job's `mining.notify`).
    Shared(Arc<str>),
}

impl Line {
    /// The text, newline included.
    pub fn as_str(&self) -> &str {
        match self {
            Line::Owned(s) => s,
            Line::Shared(s) => s,
        }
    }
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn id_text(id: &Value) -> String {
    serde_json::to_string(id).expect("a JSON value always serializes")
}

/// A successful reply whose result is the JSON text `result`.
pub fn reply(id: &Value, result: &str) -> Line {
    Line::Owned(format!(
        "{{\"id\":{},\"result\":{result},\"error\":null}}\n",
        id_text(id)
    ))
}

/// An error reply.
pub fn error_reply(id: &Value, error: &RequestError) -> Line {
    let message = serde_json::to_string(&error.message).expect("a string always serializes");
    Line::Owned(format!(
        "{{\"id\":{},\"result\":null,\"error\":[{},{message},null]}}\n",
        id_text(id),
        error.code as u8
    ))
}

/// A server notification: `{"id":null,"method":…,"params":…}` with `params` as JSON text.
pub fn notification(method: &str, params: &str) -> Line {
    Line::Owned(format!(
        "{{\"id\":null,\"method\":\"{method}\",\"params\":{params}}}\n"
    ))
}

/// A difficulty as a JSON number in plain decimal notation: `1024`, `0.001`, `0.00015`. Never
/// an exponent and never a trailing `.0`, which some firmware parses badly.
pub fn difficulty_text(difficulty: f64) -> String {
    // Rust's `Display` for f64 prints the shortest text that reads back exactly, without exponent.
    format!("{difficulty}")
}

/// `mining.set_difficulty`.
pub fn set_difficulty(difficulty: f64) -> Line {
    notification(
        "mining.set_difficulty",
        &format!("[{}]", difficulty_text(difficulty)),
    )
}

/// `client.reconnect` to `host`:`port` after `wait_secs`.
pub fn reconnect(host: &str, port: u16, wait_secs: u32) -> Line {
    let host = serde_json::to_string(host).expect("a string always serializes");
    notification("client.reconnect", &format!("[{host},{port},{wait_secs}]"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_requests_notifications_and_replies() {
        let line = br#"{"id":"a1","method":"mining.subscribe","params":["cgminer/4.11"]}"#;
        assert_eq!(
            parse_line(line),
            Ok(Incoming::Request(Request {
                id: json!("a1"),
                method: "mining.subscribe".into(),
                params: vec![json!("cgminer/4.11")],
            }))
        );
        let no_params = parse_line(br#"{"id":3,"method":"mining.extranonce.subscribe"}"#);
        assert!(matches!(no_params, Ok(Incoming::Request(r)) if r.params.is_empty()));
        assert_eq!(parse_line(b"  \r"), Ok(Incoming::Ignore));
        assert_eq!(
            parse_line(br#"{"id":7,"result":"v1","error":null}"#),
            Ok(Incoming::Ignore)
        );
        assert_eq!(parse_line(br#"{"id":7}"#), Ok(Incoming::NoMethod(json!(7))));
        assert_eq!(parse_line(b"[1,2]"), Err(GarbageError::NotAnObject));
        assert!(matches!(
            parse_line(b"GET / HTTP/1.1"),
            Err(GarbageError::NotJson(_))
        ));
        assert_eq!(parse_line(&[0xff, 0xfe]), Err(GarbageError::NotUtf8));
    }

    #[test]
    fn replies_echo_the_id_and_use_the_classic_error_form() {
        assert_eq!(
            reply(&json!(4), "true").as_str(),
            "{\"id\":4,\"result\":true,\"error\":null}\n"
        );
        let err = RequestError::new(ErrorCode::Duplicate, "duplicate \"share\"");
        assert_eq!(
            error_reply(&json!("x"), &err).as_str(),
            "{\"id\":\"x\",\"result\":null,\"error\":[22,\"duplicate \\\"share\\\"\",null]}\n"
        );
    }

    #[test]
    fn difficulties_are_plain_json_numbers() {
        assert_eq!(difficulty_text(1024.0), "1024");
        assert_eq!(difficulty_text(0.001), "0.001");
        assert_eq!(difficulty_text(0.00015), "0.00015");
        assert_eq!(difficulty_text(1e-9), "0.000000001");
        assert_eq!(
            set_difficulty(0.5).as_str(),
            "{\"id\":null,\"method\":\"mining.set_difficulty\",\"params\":[0.5]}\n"
        );
        let v: Value = serde_json::from_str(set_difficulty(0.00015).as_str()).unwrap();
        assert_eq!(v["params"][0].as_f64(), Some(0.00015));
    }

    #[test]
    fn reconnect_is_host_port_wait() {
        assert_eq!(
            reconnect("pool.example", 3333, 5).as_str(),
            "{\"id\":null,\"method\":\"client.reconnect\",\"params\":[\"pool.example\",3333,5]}\n"
        );
    }
}
