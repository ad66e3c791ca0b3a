// sha256d nonce scanning. Each work item hashes NONCES_PER_ITEM consecutive nonces of the batch
// (a build-time define, at most 32) and reports those whose hash's top word is at most the job's
// target_hi (see report_hits in sha256.cl).
//
// The host hashes the header's first 64 bytes once (the midstate) and runs the first three
// rounds of the second block, which do not depend on the nonce; it also precomputes schedule
// words 16 and 17, which do not either. Per nonce the kernel runs rounds 3..63 of the first
// SHA-256 and rounds 0..60 of the second: the final state word H7 is IV7 plus the value of e
// after round 60 (rounds 61..63 only move it down to h), and H7 byte-swapped is the hash's most
// significant 32 bits. That is the early exit: nothing else of the second hash is computed.
//
// `job` layout (35 words, written by jobs.rs): [0..8) midstate; [8..16) state a..h
// after rounds 0..2; [16..32) second block words w0..w15 (w3, the nonce, left zero); [32]
// target_hi; [33] w16; [34] w17.

__kernel void sha256d_scan(__constant uint *job, uint base, uint limit,
                           volatile __global uint *out, uint cap, __local uint *hits)
{
    const uint first = (uint)get_global_id(0) * NONCES_PER_ITEM;
    const uint target_hi = job[32];
    uint mask = 0;

    for (uint k = 0; k < NONCES_PER_ITEM; k++) {
        // Nonces past `limit` are hashed too (no branch) and masked out.
        const uint offset = first + k;
        const uint nonce = base + offset;

        // First SHA-256, second block, from round 3 on.
        uint w[64];
        uint s[8];
#pragma unroll
        for (int i = 0; i < 16; i++)
            w[i] = job[16 + i];
        w[3] = BSWAP(nonce);
        w[16] = job[33];
        w[17] = job[34];
#pragma unroll
        for (int t = 18; t < 64; t++)
            w[t] = SHA_EXPAND(w, t);
#pragma unroll
        for (int i = 0; i < 8; i++)
            s[i] = job[8 + i];
#pragma unroll
        for (int t = 3; t < 64; t++)
            SHA_STEP(s, SHA_K[t] + w[t]);

        // Second SHA-256 of the 32-byte digest: words 8..15 are fixed padding.
        uint v[64];
#pragma unroll
        for (int i = 0; i < 8; i++)
            v[i] = s[i] + job[i];
        v[8] = 0x80000000u;
#pragma unroll
        for (int i = 9; i < 15; i++)
            v[i] = 0;
        v[15] = 256;
#pragma unroll
        for (int t = 16; t < 61; t++)
            v[t] = SHA_EXPAND(v, t);
        uint r[8];
        sha256_init(r);
#pragma unroll
        for (int t = 0; t < 61; t++)
            SHA_STEP(r, SHA_K[t] + v[t]);

        const uint h7 = SHA_IV7 + r[4];
        // Reported when offset < limit and BSWAP(h7) <= target_hi.
        mask |= (LESS(offset, limit) & (LESS(target_hi, BSWAP(h7)) ^ 1)) << k;
    }
    report_hits(hits, mask, base, out, cap);
}
