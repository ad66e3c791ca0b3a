//! Fuzzes the ZMQ subscriber's decoder (`node::daemon::zmtp`): a greeting check and a stream of
//! frames fed through `decode_frame` and `Multipart`, as the subscriber reads a publisher's
//! bytes. Any input must decode or fail with an error, never panic; a frame never claims more bytes
//! than the input holds, and a message never has more parts than the limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otedama_node::daemon::zmtp::{self, Frame, Multipart, GREETING_LEN};

fuzz_target!(|data: &[u8]| {
    if let Ok(greeting) = <&[u8; GREETING_LEN]>::try_from(data.get(..GREETING_LEN).unwrap_or(&[])) {
        let _ = zmtp::check_signature(greeting);
        let _ = zmtp::check_greeting(greeting);
    }
    let mut rest = data;
    let mut parts = Multipart::default();
    loop {
        match zmtp::decode_frame(rest) {
            Ok(Some((frame, used))) => {
                assert!(used > 0 && used <= rest.len(), "a frame took {used} of {} bytes", rest.len());
                rest = &rest[used..];
                if let Frame::Message { body, more } = frame {
                    if parts.push(body, more).is_err() {
                        break;
                    }
                }
            }
            Ok(None) | Err(_) => break,
        }
    }
});
