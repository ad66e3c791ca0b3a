// scrypt(N=1024, r=1, p=1) nonce scanning, Litecoin's proof of work: one hash per nonce, one
// work item per NONCES_PER_ITEM nonces, the scratchpad in global memory.
//
// scrypt(header) = PBKDF2-SHA256(header, ROMix(PBKDF2-SHA256(header, header, 1, 128)), 1, 32).
// The HMAC key is the header itself, longer than a block, so the key is SHA-256(header): the
// host hashes the header's first 64 bytes once per job (the midstate) and each nonce costs one
// compression for the key, two for the ipad/opad states, then 1 + 4 x 2 for the first PBKDF2
// and 3 + 1 for the last. ROMix works on 32 little-endian words; SHA-256 on big-endian ones.
//
// Lookup gap (LOOKUP_GAP, a build-time define): ROMix stores only every LOOKUP_GAP-th of its
// 1024 blocks, and rebuilds a missing one from the stored block before it with up to
// LOOKUP_GAP - 1 extra BlockMix steps: 128 KiB / LOOKUP_GAP of scratchpad per work item for
// about (LOOKUP_GAP - 1) / 2 extra BlockMix steps per read. GPUs trade memory for threads this
// way; a CPU has the memory and wants 1.
//
// Scratchpad layout: block `slot` of work item `gid` is at ((slot * items) + gid) * 8 uint4s,
// items = the global size, so that neighbouring work items touch neighbouring 128-byte blocks.
//
// `job` layout (35 words, written by jobs.rs): [0..8) SHA-256 state after the header's
// first 64 bytes; [8..27) header words 0..18 big-endian (the nonce is word 19); [27..35) the
// target as little-endian words, least significant first.

#ifndef LOOKUP_GAP
#define LOOKUP_GAP 1
#endif

#define SCRYPT_N 1024

#define QR(a, b, c, d)                  \
    b ^= ROTL(a + d, 7);                \
    c ^= ROTL(b + a, 9);                \
    d ^= ROTL(c + b, 13);               \
    a ^= ROTL(d + c, 18);

// Salsa20/8 core of the 16 words at `b`, added back into them.
inline void salsa20_8(uint b[16])
{
    uint x[16];
#pragma unroll
    for (int i = 0; i < 16; i++)
        x[i] = b[i];
#pragma unroll
    for (int i = 0; i < 4; i++) {
        // Column round, then row round.
        QR(x[0], x[4], x[8], x[12]);
        QR(x[5], x[9], x[13], x[1]);
        QR(x[10], x[14], x[2], x[6]);
        QR(x[15], x[3], x[7], x[11]);
        QR(x[0], x[1], x[2], x[3]);
        QR(x[5], x[6], x[7], x[4]);
        QR(x[10], x[11], x[8], x[9]);
        QR(x[15], x[12], x[13], x[14]);
    }
#pragma unroll
    for (int i = 0; i < 16; i++)
        b[i] += x[i];
}

// BlockMix with r = 1: X0 ^= X1, X0 = salsa(X0), X1 ^= X0, X1 = salsa(X1).
inline void block_mix(uint x[32])
{
#pragma unroll
    for (int i = 0; i < 16; i++)
        x[i] ^= x[16 + i];
    salsa20_8(x);
#pragma unroll
    for (int i = 0; i < 16; i++)
        x[16 + i] ^= x[i];
    salsa20_8(x + 16);
}

inline void store_block(__global uint4 *v, const uint x[32])
{
#pragma unroll
    for (int q = 0; q < 8; q++)
        v[q] = (uint4)(x[4 * q], x[4 * q + 1], x[4 * q + 2], x[4 * q + 3]);
}

inline void load_block(uint y[32], const __global uint4 *v)
{
#pragma unroll
    for (int q = 0; q < 8; q++) {
        uint4 t = v[q];
        y[4 * q] = t.s0;
        y[4 * q + 1] = t.s1;
        y[4 * q + 2] = t.s2;
        y[4 * q + 3] = t.s3;
    }
}

// ROMix on `x` with this work item's scratchpad, blocks `stride` uint4s apart.
inline void romix(uint x[32], __global uint4 *v, ulong stride)
{
    for (uint i = 0; i < SCRYPT_N; i++) {
        if (i % LOOKUP_GAP == 0)
            store_block(v + (ulong)(i / LOOKUP_GAP) * stride, x);
        block_mix(x);
    }
    for (uint i = 0; i < SCRYPT_N; i++) {
        const uint j = x[16] & (SCRYPT_N - 1);
        uint y[32];
        load_block(y, v + (ulong)(j / LOOKUP_GAP) * stride);
#if LOOKUP_GAP > 1
        for (uint k = 0; k < j % LOOKUP_GAP; k++)
            block_mix(y);
#endif
#pragma unroll
        for (int k = 0; k < 32; k++)
            x[k] ^= y[k];
        block_mix(x);
    }
}

// The HMAC-SHA256 inner or outer start state: the key block XOR `pad` compressed from the IV.
inline void hmac_pad_state(uint state[8], const uint key[8], uint pad)
{
    uint blk[16];
#pragma unroll
    for (int i = 0; i < 8; i++)
        blk[i] = key[i] ^ pad;
#pragma unroll
    for (int i = 8; i < 16; i++)
        blk[i] = pad;
    sha256_init(state);
    sha256_compress(state, blk);
}

// Finishes an HMAC: the outer hash of the 32-byte inner digest `inner` from the opad state.
inline void hmac_outer(uint out[8], const uint ostate[8], const uint inner[8])
{
    uint blk[16];
#pragma unroll
    for (int i = 0; i < 8; i++) {
        blk[i] = inner[i];
        out[i] = ostate[i];
    }
    blk[8] = 0x80000000u;
#pragma unroll
    for (int i = 9; i < 15; i++)
        blk[i] = 0;
    blk[15] = (64 + 32) * 8;
    sha256_compress(out, blk);
}

__kernel void scrypt_scan(__constant uint *job, uint base, uint limit,
                          volatile __global uint *out, uint cap, __local uint *hits,
                          __global uint4 *scratch)
{
    const ulong stride = (ulong)get_global_size(0) * 8;
    __global uint4 *v = scratch + (ulong)get_global_id(0) * 8;
    const uint first = (uint)get_global_id(0) * NONCES_PER_ITEM;
    uint mask = 0;

    for (uint n = 0; n < NONCES_PER_ITEM; n++) {
        // Nonces past `limit` are hashed too and masked out: every work item must reach the
        // barrier in report_hits.
        const uint offset = first + n;
        const uint nonce = base + offset;
        uint blk[16];

        // The HMAC key: SHA-256 of the 80-byte header, from the job's midstate.
        uint key[8];
#pragma unroll
        for (int i = 0; i < 8; i++)
            key[i] = job[i];
        blk[0] = job[8 + 16];
        blk[1] = job[8 + 17];
        blk[2] = job[8 + 18];
        blk[3] = BSWAP(nonce);
        blk[4] = 0x80000000u;
#pragma unroll
        for (int i = 5; i < 15; i++)
            blk[i] = 0;
        blk[15] = 80 * 8;
        sha256_compress(key, blk);

        uint istate[8], ostate[8];
        hmac_pad_state(istate, key, 0x36363636u);
        hmac_pad_state(ostate, key, 0x5c5c5c5cu);

        // PBKDF2 block i (1..4) = HMAC(header || be32(i)); the header's first 64 bytes are
        // hashed once into `ihead`.
        uint ihead[8];
#pragma unroll
        for (int i = 0; i < 8; i++)
            ihead[i] = istate[i];
#pragma unroll
        for (int i = 0; i < 16; i++)
            blk[i] = job[8 + i];
        sha256_compress(ihead, blk);

        uint x[32];
        for (uint b = 1; b <= 4; b++) {
            uint inner[8], outer[8];
#pragma unroll
            for (int i = 0; i < 8; i++)
                inner[i] = ihead[i];
            blk[0] = job[8 + 16];
            blk[1] = job[8 + 17];
            blk[2] = job[8 + 18];
            blk[3] = BSWAP(nonce);
            blk[4] = b;
            blk[5] = 0x80000000u;
#pragma unroll
            for (int i = 6; i < 15; i++)
                blk[i] = 0;
            blk[15] = (64 + 80 + 4) * 8;
            sha256_compress(inner, blk);
            hmac_outer(outer, ostate, inner);
#pragma unroll
            for (int i = 0; i < 8; i++)
                x[8 * (b - 1) + i] = BSWAP(outer[i]);
        }

        romix(x, v, stride);

        // The closing PBKDF2: HMAC(ROMix output || be32(1)), 32 bytes.
        uint inner[8], hash[8];
#pragma unroll
        for (int i = 0; i < 8; i++)
            inner[i] = istate[i];
#pragma unroll
        for (int i = 0; i < 16; i++)
            blk[i] = BSWAP(x[i]);
        sha256_compress(inner, blk);
#pragma unroll
        for (int i = 0; i < 16; i++)
            blk[i] = BSWAP(x[16 + i]);
        sha256_compress(inner, blk);
        blk[0] = 1;
        blk[1] = 0x80000000u;
#pragma unroll
        for (int i = 2; i < 15; i++)
            blk[i] = 0;
        blk[15] = (64 + 128 + 4) * 8;
        sha256_compress(inner, blk);
        hmac_outer(hash, ostate, inner);

        // hash <= target as little-endian 256-bit numbers, from the least significant word up:
        // after word i, `below` says whether hash <= target on words 0..=i.
        uint below = 1;
#pragma unroll
        for (int i = 0; i < 8; i++) {
            const uint h = BSWAP(hash[i]);
            const uint t = job[27 + i];
            below = LESS(h, t) | ((NOT_ZERO(h ^ t) ^ 1) & below);
        }
        mask |= (LESS(offset, limit) & below) << n;
    }
    report_hits(hits, mask, base, out, cap);
}
