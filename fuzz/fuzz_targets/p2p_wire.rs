//! Fuzzes the sync protocol's messages (`docs/protocol.md` §6): `p2p::wire::decode_request` and
//! `decode_response`. Any input must decode or fail without a panic; whatever decodes must pass
//! its limits, re-encode to the same bytes (the encoding is canonical: fixed-width integers, a
//! one-byte bool and Option tag, no trailing bytes) and decode again to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otedama_node::p2p::wire::{self, decode_request, decode_response};

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = decode_request(data) {
        request.validate().expect("a decoded request is within the limits");
        let bytes = wire::encode(&request);
        assert_eq!(bytes, data, "a decoded request re-encodes to other bytes");
        let again = decode_request(&bytes).expect("an encoded request decodes");
        assert_eq!(again, request, "request round-trip changed the value");
    }

    if let Ok(response) = decode_response(data) {
        response.validate().expect("a decoded response is within the limits");
        let bytes = wire::encode(&response);
        assert_eq!(bytes, data, "a decoded response re-encodes to other bytes");
        let again = decode_response(&bytes).expect("an encoded response decodes");
        assert_eq!(again, response, "response round-trip changed the value");
    }
});
