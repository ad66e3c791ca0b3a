//! Stratum V1 messages as JSON: the pool's lines classified and their parameters decoded, and
//! the miner's requests written.
//!
//! Decoding is strict about what the miner needs (every `mining.notify` field, the subscription's
//! extranonce) and lenient about what varies between pools (an error as `[code, message, data]`
//! or as an object, a job id as a number, a difficulty as a string).

use std::fmt;

use otedama_proto::hash::MerkleNode;
use otedama_proto::stratum::{prevhash_from_stratum, u32_from_hex, StratumError};
use otedama_proto::target::CompactTarget;
use serde_json::{json, Value};

use crate::mining::Job;

/// The longest extranonce1 and extranonce2 the miner accepts, in bytes (real pools use 2 to 8).
pub const MAX_EXTRANONCE: usize = 32;

/// A line from the pool.
#[derive(Clone, Debug, PartialEq)]
pub enum Incoming {
    /// The reply to one of the miner's requests.
    Response {
        /// The request's id (`None`: not a number the miner could have sent).
        id: Option<u64>,
        /// The result (`null` when absent).
        result: Value,
        /// The error, if the pool gave one.
        error: Option<PoolError>,
    },
    /// A notification (`id` null) or a request from the pool.
    Request {
        /// The id to answer with, if the pool expects an answer.
        id: Option<Value>,
        /// The method, such as `mining.notify`.
        method: String,
        /// The parameters (`[]` when absent).
        params: Value,
    },
}

/// An error the pool reported, with the Stratum code when it gave one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolError {
    /// The numeric code (20 to 25 are the usual ones).
    pub code: Option<i64>,
    /// The pool's words.
    pub message: String,
}

/// A pool message that does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// Not a JSON object.
    #[error("the pool sent a line that is not a JSON object: {0}")]
    NotJson(String),
    /// A field is missing or of the wrong kind.
    #[error("{method}: {what}")]
    Shape {
        /// The method or reply concerned.
        method: &'static str,
        /// What is wrong.
        what: String,
    },
    /// A hex field that does not decode.
    #[error(transparent)]
    Field(#[from] StratumError),
}

fn shape(method: &'static str, what: impl Into<String>) -> MessageError {
    MessageError::Shape {
        method,
        what: what.into(),
    }
}

/// The usual meaning of a Stratum error code.
pub fn code_name(code: i64) -> Option<&'static str> {
    Some(match code {
        20 => "other",
        21 => "job not found (stale)",
        22 => "duplicate share",
        23 => "low difficulty share",
        24 => "unauthorized worker",
        25 => "not subscribed",
        _ => return None,
    })
}

impl PoolError {
    /// The error of a reply's `error` field, `None` for `null`.
    pub fn from_json(error: &Value) -> Option<PoolError> {
        let text = |v: Option<&Value>| match v {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        match error {
            Value::Null => None,
            Value::Array(items) => Some(PoolError {
                code: items.first().and_then(Value::as_i64),
                message: text(items.get(1)),
            }),
            Value::Object(map) => Some(PoolError {
                code: map.get("code").and_then(Value::as_i64),
                message: text(map.get("message")),
            }),
            other => Some(PoolError {
                code: other.as_i64(),
                message: text(Some(other)),
            }),
        }
    }

    /// A short label for counting rejections by reason: `23 low difficulty share`.
    pub fn reason(&self) -> String {
        match self.code {
            Some(code) => match code_name(code) {
                Some(name) => format!("{code} {name}"),
                None => format!("{code}"),
            },
            None => "no code".to_owned(),
        }
    }
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.code, self.code.and_then(code_name)) {
            (Some(code), Some(name)) => write!(f, "error {code} ({name})")?,
            (Some(code), None) => write!(f, "error {code}")?,
            (None, _) => f.write_str("error")?,
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

/// Classifies one line from the pool.
pub fn parse_line(line: &str) -> Result<Incoming, MessageError> {
    let value: Value =
        serde_json::from_str(line).map_err(|e| MessageError::NotJson(e.to_string()))?;
    let Value::Object(mut map) = value else {
        return Err(MessageError::NotJson(format!("`{line}`")));
    };
    let id = map.remove("id").filter(|id| !id.is_null());
    if let Some(method) = map.get("method").and_then(Value::as_str) {
        return Ok(Incoming::Request {
            id,
            method: method.to_owned(),
            params: map.remove("params").unwrap_or_else(|| json!([])),
        });
    }
    Ok(Incoming::Response {
        id: id.as_ref().and_then(Value::as_u64),
        result: map.remove("result").unwrap_or(Value::Null),
        error: map.get("error").and_then(PoolError::from_json),
    })
}

/// A request line of the miner (without the newline).
pub fn request(id: u64, method: &str, params: Value) -> String {
    json!({ "id": id, "method": method, "params": params }).to_string()
}

/// A reply line to a request of the pool (without the newline).
pub fn reply(id: &Value, result: Value, error: Option<(i64, &str)>) -> String {
    let error = error.map_or(Value::Null, |(code, text)| json!([code, text, null]));
    json!({ "id": id, "result": result, "error": error }).to_string()
}

fn param(params: &Value, i: usize) -> Option<&Value> {
    params.as_array().and_then(|a| a.get(i))
}

fn hex_param(
    method: &'static str,
    params: &Value,
    i: usize,
    name: &str,
) -> Result<Vec<u8>, MessageError> {
    let text = param(params, i).and_then(Value::as_str).ok_or_else(|| {
        shape(
            method,
            format!("parameter {i} ({name}) must be a hex string"),
        )
    })?;
    hex::decode(text).map_err(|_| {
        shape(
            method,
            format!("parameter {i} ({name}) `{text}` is not hex"),
        )
    })
}

fn str_param<'a>(
    method: &'static str,
    params: &'a Value,
    i: usize,
    name: &str,
) -> Result<&'a str, MessageError> {
    param(params, i)
        .and_then(Value::as_str)
        .ok_or_else(|| shape(method, format!("parameter {i} ({name}) must be a string")))
}

/// Decodes `mining.notify`: job id, prevhash, coinb1, coinb2, branch, version, nbits, ntime,
/// clean jobs.
pub fn parse_notify(params: &Value) -> Result<Job, MessageError> {
    const M: &str = "mining.notify";
    let id = match param(params, 0) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(shape(M, "parameter 0 (job id) must be a string")),
    };
    let branch = param(params, 4)
        .and_then(Value::as_array)
        .ok_or_else(|| shape(M, "parameter 4 (merkle branch) must be an array"))?
        .iter()
        .map(|node| {
            let mut bytes = [0u8; 32];
            let text = node.as_str().unwrap_or_default();
            hex::decode_to_slice(text, &mut bytes)
                .map(|()| MerkleNode(bytes))
                .map_err(|_| {
                    shape(
                        M,
                        format!("merkle branch entry {node} is not 64 hex digits"),
                    )
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Job {
        prev_hash: prevhash_from_stratum(str_param(M, params, 1, "prevhash")?)?,
        coinb1: hex_param(M, params, 2, "coinb1")?,
        coinb2: hex_param(M, params, 3, "coinb2")?,
        branch,
        version: u32_from_hex("version", str_param(M, params, 5, "version")?)?,
        nbits: CompactTarget::from_consensus(u32_from_hex(
            "nbits",
            str_param(M, params, 6, "nbits")?,
        )?),
        ntime: u32_from_hex("ntime", str_param(M, params, 7, "ntime")?)?,
        clean: param(params, 8).and_then(Value::as_bool).unwrap_or(false),
        id,
    })
}

/// Decodes an extranonce1 and extranonce2 size: the subscribe result's items 1 and 2, or
/// `mining.set_extranonce`'s parameters 0 and 1.
pub fn parse_extranonce(
    method: &'static str,
    values: &Value,
    first: usize,
) -> Result<(Vec<u8>, usize), MessageError> {
    let extranonce1 = hex_param(method, values, first, "extranonce1")?;
    let size = param(values, first + 1)
        .and_then(Value::as_u64)
        .ok_or_else(|| {
            shape(
                method,
                format!("item {} (extranonce2 size) must be a number", first + 1),
            )
        })?;
    if extranonce1.len() > MAX_EXTRANONCE || size > MAX_EXTRANONCE as u64 {
        return Err(shape(
            method,
            format!("extranonce1 of {} bytes or extranonce2 of {size} bytes is more than {MAX_EXTRANONCE}", extranonce1.len()),
        ));
    }
    Ok((extranonce1, size as usize))
}

/// Decodes `mining.set_difficulty`'s number (a string holding a number is accepted too).
pub fn parse_difficulty(params: &Value) -> Result<f64, MessageError> {
    match param(params, 0) {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| shape("mining.set_difficulty", "parameter 0 must be a number"))
}

/// Decodes the version-rolling part of a `mining.configure` result: the mask, or `None` when the
/// pool declined.
pub fn parse_configure(result: &Value) -> Result<Option<u32>, MessageError> {
    if result.get("version-rolling").and_then(Value::as_bool) != Some(true) {
        return Ok(None);
    }
    let mask = result
        .get("version-rolling.mask")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            shape(
                "mining.configure",
                "version-rolling.mask must be a hex string",
            )
        })?;
    Ok(Some(u32_from_hex("version-rolling.mask", mask)?))
}

/// Decodes `client.reconnect`'s optional host, port and wait in seconds.
pub fn parse_reconnect(params: &Value) -> (Option<String>, Option<u16>, u64) {
    let host = param(params, 0)
        .and_then(Value::as_str)
        .filter(|h| !h.is_empty())
        .map(str::to_owned);
    let port = param(params, 1).and_then(|p| match p {
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Value::String(s) => s.parse().ok(),
        _ => None,
    });
    let wait = param(params, 2).and_then(Value::as_u64).unwrap_or(0);
    (host, port, wait)
}

#[cfg(test)]
#[path = "message_tests.rs"]
mod tests;
