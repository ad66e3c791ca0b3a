//! The words each kernel reads from its `job` buffer: everything about a job that does not
//! depend on the nonce, computed once per scan on the host (layouts in the `.cl` headers).

use otedama_proto::target::Target;

use crate::sha256d::{Midstate, Sha256dJob};

/// Words in the sha256d kernel's job buffer.
pub(super) const SHA256D_JOB_WORDS: usize = 35;
/// Words in the scrypt kernel's job buffer.
pub(super) const SCRYPT_JOB_WORDS: usize = 35;

/// The first SHA-256 round constants, for the three rounds the host runs.
const K: [u32; 3] = [0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf];

fn small_sigma0(x: u32) -> u32 {
    x.rotate_right(7) ^ x.rotate_right(18) ^ (x >> 3)
}

fn small_sigma1(x: u32) -> u32 {
    x.rotate_right(17) ^ x.rotate_right(19) ^ (x >> 10)
}

/// One SHA-256 round on `s` (a..h) with schedule word `w` and constant `k`.
fn round(s: &mut [u32; 8], k: u32, w: u32) {
    let [a, b, c, d, e, f, g, h] = *s;
    let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
    let ch = (e & f) ^ (!e & g);
    let t1 = h
        .wrapping_add(s1)
        .wrapping_add(ch)
        .wrapping_add(k)
        .wrapping_add(w);
    let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
    let maj = (a & b) ^ (a & c) ^ (b & c);
    *s = [
        t1.wrapping_add(s0).wrapping_add(maj),
        a,
        b,
        c,
        d.wrapping_add(t1),
        e,
        f,
        g,
    ];
}

/// Big-endian words of `bytes` (a multiple of 4 long).
fn be_words(bytes: &[u8]) -> impl Iterator<Item = u32> + '_ {
    bytes
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes(c.try_into().expect("chunks of 4")))
}

/// The sha256d kernel's job words for `job` (see `sha256d.cl`).
pub(super) fn sha256d_words(job: &Sha256dJob) -> [u32; SHA256D_JOB_WORDS] {
    // The header's second block: three fixed words, the nonce (left zero), padding, 640 bits.
    let mut block = [0u32; 16];
    for (w, v) in block.iter_mut().zip(be_words(&job.tail[..12])) {
        *w = v;
    }
    block[4] = 0x8000_0000;
    block[15] = 640;
    let mut state = job.midstate.0;
    for t in 0..3 {
        round(&mut state, K[t], block[t]);
    }
    let w16 = small_sigma1(block[14])
        .wrapping_add(block[9])
        .wrapping_add(small_sigma0(block[1]))
        .wrapping_add(block[0]);
    let w17 = small_sigma1(block[15])
        .wrapping_add(block[10])
        .wrapping_add(small_sigma0(block[2]))
        .wrapping_add(block[1]);
    let mut words = [0u32; SHA256D_JOB_WORDS];
    words[..8].copy_from_slice(&job.midstate.0);
    words[8..16].copy_from_slice(&state);
    words[16..32].copy_from_slice(&block);
    words[32] = job.target_hi;
    words[33] = w16;
    words[34] = w17;
    words
}

/// The scrypt kernel's job words for headers `header_prefix ‖ nonce` and `target` (see
/// `scrypt.cl`).
pub(super) fn scrypt_words(header_prefix: &[u8; 76], target: &Target) -> [u32; SCRYPT_JOB_WORDS] {
    let mut header = [0u8; 80];
    header[..76].copy_from_slice(header_prefix);
    let mut words = [0u32; SCRYPT_JOB_WORDS];
    words[..8].copy_from_slice(&Midstate::of_header(&header).0);
    for (w, v) in words[8..27].iter_mut().zip(be_words(header_prefix)) {
        *w = v;
    }
    let target = target.to_le_bytes();
    for (w, c) in words[27..].iter_mut().zip(target.chunks_exact(4)) {
        *w = u32::from_le_bytes(c.try_into().expect("chunks of 4"));
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precomputed_schedule_words_follow_the_recurrence() {
        // The rounds themselves are checked end to end against the CPU scanner (tests/opencl.rs).
        let mut header = [0u8; 80];
        for (i, b) in header.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37).wrapping_add(11);
        }
        let job = Sha256dJob::new(&header, u32::MAX);
        let words = sha256d_words(&job);
        let w: Vec<u32> = words[16..32].to_vec();
        let expand = |t: usize, w: &[u32]| {
            small_sigma1(w[t - 2])
                .wrapping_add(w[t - 7])
                .wrapping_add(small_sigma0(w[t - 15]))
                .wrapping_add(w[t - 16])
        };
        assert_eq!(words[33], expand(16, &w));
        let mut w17 = w.clone();
        w17.push(words[33]);
        assert_eq!(words[34], expand(17, &w17));
        assert_eq!(words[32], u32::MAX);
        assert_eq!(&words[..8], &job.midstate.0);
    }

    #[test]
    fn scrypt_words_hold_the_target_least_significant_word_first() {
        let mut target = [0u8; 32];
        target[28..].copy_from_slice(&0x0000_ffffu32.to_le_bytes());
        let words = scrypt_words(&[0u8; 76], &Target::from_le_bytes(target));
        assert_eq!(words[34], 0x0000_ffff);
        assert!(words[27..34].iter().all(|&w| w == 0));
    }
}
