//! Fuzzes the 80-byte header decoder and the Stratum hex field parsers. Accepted values must
//! round-trip: header bytes exactly, hex fields up to letter case.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otedama_proto::hash::MerkleNode;
use otedama_proto::header::Header;
use otedama_proto::stratum::{
    prevhash_from_stratum, prevhash_to_stratum, u32_from_hex, u32_to_hex, StratumHeader,
};

fuzz_target!(|data: &[u8]| {
    match Header::from_bytes(data) {
        Ok(header) => {
            assert_eq!(data.len(), 80, "a header of {} bytes was accepted", data.len());
            assert_eq!(&header.to_bytes()[..], data, "header round-trip");
            let again = Header::from_bytes(&header.to_bytes()).expect("80 bytes decode");
            assert_eq!(again, header);
            // The accessors must not panic either.
            let _ = (header.version(), header.time(), header.nonce(), header.target());
        }
        Err(_) => assert_ne!(data.len(), 80, "80 bytes were refused"),
    }

    let text = String::from_utf8_lossy(data);
    if let Ok(hash) = prevhash_from_stratum(&text) {
        let back = prevhash_to_stratum(&hash);
        assert_eq!(back, text.to_ascii_lowercase(), "prevhash round-trip");
        assert_eq!(prevhash_from_stratum(&back), Ok(hash));
    }
    if let Ok(value) = u32_from_hex("fuzz", &text) {
        let back = u32_to_hex(value);
        assert_eq!(back, text.to_ascii_lowercase(), "u32 field round-trip");
        assert_eq!(u32_from_hex("fuzz", &back), Ok(value));
    }

    // The same text split into the six fields of a notify + submit.
    let fields: Vec<&str> = text.split(',').collect();
    if let [version, prevhash, ntime, nbits, nonce] = fields[..] {
        if let Ok(h) =
            StratumHeader::from_hex_fields(version, prevhash, MerkleNode([7; 32]), ntime, nbits, nonce)
        {
            let header = Header::from_bytes(&h.to_bytes()).expect("80 bytes");
            assert_eq!(header, h.to_header());
            assert_eq!(header.nonce(), h.nonce);
            assert_eq!(header.time(), h.ntime);
        }
    }
});
