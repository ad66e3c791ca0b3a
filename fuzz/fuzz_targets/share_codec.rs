//! Fuzzes the sharechain codec: shares, stored records and the stored tip. Any input must decode
//! or fail without a panic; whatever decodes must re-encode to the same bytes (the share encoding
//! is canonical) and decode again to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otedama_sharechain::codec::{
    decode_record, decode_share, decode_tip, encode_record, encode_share, encode_tip,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(share) = decode_share(data) {
        let bytes = encode_share(&share);
        assert_eq!(bytes, data, "a decoded share re-encodes to other bytes");
        let again = decode_share(&bytes).expect("an encoded share decodes");
        assert_eq!(again, share, "share round-trip changed the value");
    }

    // A stored record: the flags byte is read as `& 1`, so only the value must round-trip.
    if let Ok(record) = decode_record(data) {
        let bytes = encode_record(&record);
        let again = decode_record(&bytes).expect("an encoded record decodes");
        assert_eq!(again, record, "record round-trip changed the value");
        assert_eq!(encode_record(&again), bytes, "record encoding is not stable");
    }

    if let Ok(tip) = decode_tip(data) {
        let bytes = encode_tip(&tip);
        assert_eq!(bytes, data, "a decoded tip re-encodes to other bytes");
        assert_eq!(decode_tip(&bytes).expect("an encoded tip decodes"), tip);
    }
});
