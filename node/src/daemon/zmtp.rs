//! ZMTP 3.x, the wire protocol of ZeroMQ, as far as a subscriber to a coin daemon needs it: the
//! greeting, the NULL security handshake, frames, and the commands a publisher sends.
//!
//! The codec does no I/O: it encodes what the subscriber sends and decodes frames from the front
//! of a buffer. Every length is checked against a small limit before anything is allocated, so a
//! peer that is not a daemon's publisher (or a hostile one) gets an error, never a large buffer.
//! Spec: <https://rfc.zeromq.org/spec/23/> (ZMTP 3.0) and <https://rfc.zeromq.org/spec/37/> (3.1).

/// The length of a ZMTP 3 greeting.
pub const GREETING_LEN: usize = 64;
/// The greeting's signature: `0xFF`, eight bytes of padding and `0x7F`.
pub const SIGNATURE_LEN: usize = 10;
/// The largest frame body accepted. A `hashblock` message's largest part is 32 bytes and a
/// publisher's READY is tens of bytes; anything near this limit is not a block announcement.
pub const MAX_FRAME: usize = 1024;
/// The most parts a message may have (a `hashblock` message has three).
pub const MAX_PARTS: usize = 4;

const FLAG_MORE: u8 = 0x01;
const FLAG_LONG: u8 = 0x02;
const FLAG_COMMAND: u8 = 0x04;

/// What is wrong with the bytes a peer sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ZmtpError {
    /// The first bytes are not a ZMTP signature: another service listens on the port.
    #[error("not a ZMQ greeting (it began with {0}); is this the daemon's -zmqpubhashblock port?")]
    NotZmtp(String),
    /// A ZMTP version before 3.0.
    #[error("the peer speaks ZMTP {major}.{minor}; only ZMTP 3.x is supported")]
    Version {
        /// Major version.
        major: u8,
        /// Minor version.
        minor: u8,
    },
    /// A security mechanism other than NULL (CURVE or PLAIN need keys Otedama does not have).
    #[error("the peer asks for the {0:?} security mechanism; only NULL is supported")]
    Mechanism(String),
    /// Flag bits that ZMTP reserves are set.
    #[error("a frame has reserved flag bits set ({0:#04x})")]
    Flags(u8),
    /// A frame larger than [`MAX_FRAME`].
    #[error("a {size}-byte frame exceeds the {MAX_FRAME}-byte limit")]
    TooLong {
        /// The size the frame header announced.
        size: u64,
    },
    /// A command frame with the MORE flag, which ZMTP does not allow.
    #[error("a command frame is marked as multipart")]
    MultipartCommand,
    /// A message of more than [`MAX_PARTS`] parts.
    #[error("a message has more than {MAX_PARTS} parts")]
    TooManyParts,
    /// A command whose body does not parse.
    #[error("malformed {command} command: {reason}")]
    BadCommand {
        /// The command's name as far as it could be read.
        command: String,
        /// What is wrong.
        reason: &'static str,
    },
}

/// One decoded frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A part of a message; `more` says another part follows.
    Message {
        /// The part's bytes.
        body: Vec<u8>,
        /// Whether more parts of the same message follow.
        more: bool,
    },
    /// A command.
    Command(Command),
}

/// The commands a publisher may send a subscriber.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// The end of the peer's handshake, with its metadata (`Socket-Type` and others).
    Ready(Vec<(String, Vec<u8>)>),
    /// The peer refuses the connection, with its reason.
    Error(String),
    /// A heartbeat (ZMTP 3.1) to answer with PONG and the same context.
    Ping {
        /// Up to 16 bytes to echo back.
        context: Vec<u8>,
    },
    /// Any other command, named; subscribers ignore them.
    Other(String),
}

/// The greeting a subscriber sends: ZMTP 3.0, the NULL mechanism, not a server. ZMTP 3.0 lets it
/// subscribe with a message frame, which every libzmq 4.x publisher accepts.
pub fn greeting() -> [u8; GREETING_LEN] {
    let mut g = [0u8; GREETING_LEN];
    g[0] = 0xFF;
    g[9] = 0x7F;
    g[10] = 3; // version 3.0
    g[12..16].copy_from_slice(b"NULL");
    g
}

/// Checks the first [`SIGNATURE_LEN`] bytes of the peer's greeting.
pub fn check_signature(bytes: &[u8]) -> Result<(), ZmtpError> {
    match bytes {
        [0xFF, _, _, _, _, _, _, _, _, 0x7F, ..] => Ok(()),
        _ => Err(ZmtpError::NotZmtp(printable(bytes))),
    }
}

/// Checks the peer's whole greeting: a ZMTP signature, version 3 or later (a later one talks 3.0
/// with us, as the spec requires) and the NULL mechanism.
pub fn check_greeting(g: &[u8; GREETING_LEN]) -> Result<(), ZmtpError> {
    check_signature(&g[..SIGNATURE_LEN])?;
    let (major, minor) = (g[10], g[11]);
    if major < 3 {
        return Err(ZmtpError::Version { major, minor });
    }
    let mechanism = &g[12..32];
    let name_len = mechanism.iter().position(|&b| b == 0).unwrap_or(20);
    if &mechanism[..name_len] != b"NULL" || mechanism[name_len..].iter().any(|&b| b != 0) {
        let name = String::from_utf8_lossy(&mechanism[..name_len]).into_owned();
        return Err(ZmtpError::Mechanism(name));
    }
    Ok(())
}

/// The READY command announcing our socket type (`SUB`).
pub fn ready(socket_type: &str) -> Vec<u8> {
    let mut body = command_name("READY");
    property(&mut body, "Socket-Type", socket_type.as_bytes());
    frame(FLAG_COMMAND, &body)
}

/// The ZMTP 3.0 subscription: a message frame of `0x01` and the topic prefix.
pub fn subscribe(topic: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(1 + topic.len());
    body.push(0x01);
    body.extend_from_slice(topic);
    frame(0, &body)
}

/// The PONG answering a PING with `context`.
pub fn pong(context: &[u8]) -> Vec<u8> {
    let mut body = command_name("PONG");
    body.extend_from_slice(context);
    frame(FLAG_COMMAND, &body)
}

/// Decodes the frame at the front of `buf`: `Ok(None)` while more bytes are needed, else the
/// frame and how many bytes it took.
pub fn decode_frame(buf: &[u8]) -> Result<Option<(Frame, usize)>, ZmtpError> {
    let Some(&flags) = buf.first() else {
        return Ok(None);
    };
    if flags & !(FLAG_MORE | FLAG_LONG | FLAG_COMMAND) != 0 {
        return Err(ZmtpError::Flags(flags));
    }
    let (size, header) = if flags & FLAG_LONG != 0 {
        let Some(bytes) = buf.get(1..9) else {
            return Ok(None);
        };
        let size = u64::from_be_bytes(bytes.try_into().expect("a slice of 8 bytes"));
        (size, 9)
    } else {
        let Some(&size) = buf.get(1) else {
            return Ok(None);
        };
        (u64::from(size), 2)
    };
    if size > MAX_FRAME as u64 {
        return Err(ZmtpError::TooLong { size });
    }
    let end = header + size as usize;
    let Some(body) = buf.get(header..end) else {
        return Ok(None);
    };
    let more = flags & FLAG_MORE != 0;
    let frame = if flags & FLAG_COMMAND != 0 {
        if more {
            return Err(ZmtpError::MultipartCommand);
        }
        Frame::Command(decode_command(body)?)
    } else {
        Frame::Message {
            body: body.to_vec(),
            more,
        }
    };
    Ok(Some((frame, end)))
}

/// Collects the parts of one message, at most [`MAX_PARTS`].
#[derive(Debug, Default)]
pub struct Multipart {
    parts: Vec<Vec<u8>>,
}

impl Multipart {
    /// Adds a part; returns the whole message once its last part arrived.
    pub fn push(&mut self, body: Vec<u8>, more: bool) -> Result<Option<Vec<Vec<u8>>>, ZmtpError> {
        if self.parts.len() == MAX_PARTS {
            return Err(ZmtpError::TooManyParts);
        }
        self.parts.push(body);
        Ok((!more).then(|| std::mem::take(&mut self.parts)))
    }
}

fn decode_command(body: &[u8]) -> Result<Command, ZmtpError> {
    let bad = |command: &str, reason| ZmtpError::BadCommand {
        command: command.to_owned(),
        reason,
    };
    let (&name_len, rest) = body.split_first().ok_or_else(|| bad("?", "empty"))?;
    let name_len = usize::from(name_len);
    if rest.len() < name_len {
        return Err(bad("?", "the name runs past the frame"));
    }
    let (name, data) = rest.split_at(name_len);
    let name = String::from_utf8_lossy(name).into_owned();
    Ok(match name.as_str() {
        "READY" => Command::Ready(properties(data).map_err(|reason| bad(&name, reason))?),
        "ERROR" => {
            let (&len, reason) = data.split_first().ok_or_else(|| bad(&name, "no reason"))?;
            if reason.len() != usize::from(len) {
                return Err(bad(&name, "the reason's length does not match the frame"));
            }
            Command::Error(String::from_utf8_lossy(reason).into_owned())
        }
        "PING" => {
            if !(2..=18).contains(&data.len()) {
                return Err(bad(&name, "not a TTL and a context of at most 16 bytes"));
            }
            Command::Ping {
                context: data[2..].to_vec(),
            }
        }
        _ => Command::Other(name),
    })
}

/// Metadata properties: a one-byte name length, the name, a four-byte big-endian value length and
/// the value, repeated to the end of the frame.
fn properties(mut data: &[u8]) -> Result<Vec<(String, Vec<u8>)>, &'static str> {
    let mut props = Vec::new();
    while let Some((&name_len, rest)) = data.split_first() {
        let name_len = usize::from(name_len);
        if name_len == 0 || rest.len() < name_len + 4 {
            return Err("a property name runs past the frame");
        }
        let (name, rest) = rest.split_at(name_len);
        let (len, rest) = rest.split_at(4);
        let len = u32::from_be_bytes(len.try_into().expect("4 bytes")) as usize;
        if rest.len() < len {
            return Err("a property value runs past the frame");
        }
        let (value, rest) = rest.split_at(len);
        props.push((String::from_utf8_lossy(name).into_owned(), value.to_vec()));
        data = rest;
    }
    Ok(props)
}

fn command_name(name: &str) -> Vec<u8> {
    let mut body = vec![name.len() as u8];
    body.extend_from_slice(name.as_bytes());
    body
}

fn property(body: &mut Vec<u8>, name: &str, value: &[u8]) {
    body.push(name.len() as u8);
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(&(value.len() as u32).to_be_bytes());
    body.extend_from_slice(value);
}

/// A frame with `flags` around `body`, short or long as its size needs.
fn frame(flags: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 9);
    match u8::try_from(body.len()) {
        Ok(len) => out.extend_from_slice(&[flags, len]),
        Err(_) => {
            out.push(flags | FLAG_LONG);
            out.extend_from_slice(&(body.len() as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(body);
    out
}

/// The first bytes a peer sent, for an error message: text if they are printable, else hex.
fn printable(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(SIGNATURE_LEN)];
    if !head.is_empty() && head.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        format!("{:?}", String::from_utf8_lossy(head))
    } else {
        format!("0x{}", hex::encode(head))
    }
}

#[cfg(test)]
#[path = "zmtp_tests.rs"]
mod tests;
