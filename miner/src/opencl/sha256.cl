// SHA-256 for Otedama's OpenCL kernels: the round constants, the FIPS 180-4 functions, one
// compression, and the result slot writer both kernels share. Prepended to sha256d.cl and
// scrypt.cl before the program is built.
//
// Words are big-endian as SHA-256 reads them; BSWAP converts to and from the little-endian
// words of a header or a hash read as a 256-bit number.

// Consecutive nonces per work item; the host always defines it (-D), at most 32.
#ifndef NONCES_PER_ITEM
#define NONCES_PER_ITEM 1
#endif

// Rotations and selections are written with plain operators rather than rotate() and
// bitselect(): every compiler turns them into its rotate and bit-select instructions, and pocl
// then keeps them inline, where its builtin calls would stop it vectorizing across work items.
#define ROTL(x, n) (((uint)(x) << (n)) | ((uint)(x) >> (32 - (n))))
#define ROTR(x, n) (((uint)(x) >> (n)) | ((uint)(x) << (32 - (n))))
#define BIG_S0(x) (ROTR(x, 2) ^ ROTR(x, 13) ^ ROTR(x, 22))
#define BIG_S1(x) (ROTR(x, 6) ^ ROTR(x, 11) ^ ROTR(x, 25))
#define SMALL_S0(x) (ROTR(x, 7) ^ ROTR(x, 18) ^ ((x) >> 3))
#define SMALL_S1(x) (ROTR(x, 17) ^ ROTR(x, 19) ^ ((x) >> 10))
// ch(e, f, g): f where e is set, else g. maj(a, b, c): b where a and c differ, else a.
#define CH(e, f, g) ((g) ^ ((e) & ((f) ^ (g))))
#define MAJ(a, b, c) (((a) & (b)) | ((c) & ((a) | (b))))
#define BSWAP(x) (ROTL((uint)(x) & 0x00ff00ffu, 24) | ROTL((uint)(x) & 0xff00ff00u, 8))
// Comparisons as 0/1 integers built from bit operations: LESS(x, y) is the borrow out of
// x - y. A plain comparison where a kernel sets its hit mask stops pocl's LLVM from vectorizing
// across work items ("instruction return type cannot be vectorized"); these forms leave only
// integer arithmetic, which GPUs do as fast.
#define LESS(x, y) ((((~(x)) & (y)) | ((~((x) ^ (y))) & ((x) - (y)))) >> 31)
#define NOT_ZERO(x) (((x) | (0u - (x))) >> 31)

__constant uint SHA_K[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u,
    0xab1c5ed5u, 0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu,
    0x9bdc06a7u, 0xc19bf174u, 0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu,
    0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau, 0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u,
    0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu,
    0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u, 0xa2bfe8a1u, 0xa81a664bu,
    0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u, 0x19a4c116u,
    0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u,
    0xc67178f2u,
};

#define SHA_IV0 0x6a09e667u
#define SHA_IV1 0xbb67ae85u
#define SHA_IV2 0x3c6ef372u
#define SHA_IV3 0xa54ff53au
#define SHA_IV4 0x510e527fu
#define SHA_IV5 0x9b05688cu
#define SHA_IV6 0x1f83d9abu
#define SHA_IV7 0x5be0cd19u

// One SHA-256 round on the state array `s` (a..h = s[0]..s[7]) with `kw` = K[t] + w[t]. Written
// as moves; once the rounds are unrolled the compiler renames instead of moving.
#define SHA_STEP(s, kw)                                                            \
    {                                                                              \
        uint t1_ = s[7] + BIG_S1(s[4]) + CH(s[4], s[5], s[6]) + (kw);              \
        uint t2_ = BIG_S0(s[0]) + MAJ(s[0], s[1], s[2]);                           \
        s[7] = s[6];                                                               \
        s[6] = s[5];                                                               \
        s[5] = s[4];                                                               \
        s[4] = s[3] + t1_;                                                         \
        s[3] = s[2];                                                               \
        s[2] = s[1];                                                               \
        s[1] = s[0];                                                               \
        s[0] = t1_ + t2_;                                                          \
    }

// Schedule word t >= 16 of the full 64-word schedule `w`.
#define SHA_EXPAND(w, t)                                                           \
    (SMALL_S1(w[(t) - 2]) + w[(t) - 7] + SMALL_S0(w[(t) - 15]) + w[(t) - 16])

// Compresses the 16-word block `in` into `state` (both big-endian words).
inline void sha256_compress(uint state[8], const uint in[16])
{
    uint w[64];
    uint s[8];
#pragma unroll
    for (int i = 0; i < 16; i++)
        w[i] = in[i];
#pragma unroll
    for (int t = 16; t < 64; t++)
        w[t] = SHA_EXPAND(w, t);
#pragma unroll
    for (int i = 0; i < 8; i++)
        s[i] = state[i];
#pragma unroll
    for (int t = 0; t < 64; t++)
        SHA_STEP(s, SHA_K[t] + w[t]);
#pragma unroll
    for (int i = 0; i < 8; i++)
        state[i] += s[i];
}

// Sets `state` to the SHA-256 initial hash value.
inline void sha256_init(uint state[8])
{
    state[0] = SHA_IV0;
    state[1] = SHA_IV1;
    state[2] = SHA_IV2;
    state[3] = SHA_IV3;
    state[4] = SHA_IV4;
    state[5] = SHA_IV5;
    state[6] = SHA_IV6;
    state[7] = SHA_IV7;
}

// Reports the work group's passing nonces. Every work item of the group calls this with `mask`,
// bit k set when its k-th nonce (base + item * NONCES_PER_ITEM + k) passed; `hits` holds one
// word per work item. After the barrier one work item appends the group's nonces to `out`
// (out[0] counts every report, out[1..=cap] hold the nonces); the host treats count > cap as
// an overflow and scans that range again in smaller pieces.
//
// Doing the rare atomic append in one work item after a barrier, rather than in a branch of
// every work item, keeps the hashing free of control flow, so that CPU drivers (pocl) can run
// the work items of a group in SIMD lanes; on a GPU the cost is one local word per work item.
inline void report_hits(__local uint *hits, uint mask, uint base, volatile __global uint *out,
                        uint cap)
{
    const uint lid = (uint)get_local_id(0);
    hits[lid] = mask;
    barrier(CLK_LOCAL_MEM_FENCE);
    if (lid == 0) {
        const uint size = (uint)get_local_size(0);
        const uint first_item = (uint)get_group_id(0) * size;
        for (uint i = 0; i < size; i++) {
            uint m = hits[i];
            while (m != 0) {
                const uint k = 31 - clz(m & (0u - m));
                m &= m - 1;
                const uint slot = atomic_inc(&out[0]);
                if (slot < cap)
                    out[1 + slot] = base + (first_item + i) * NONCES_PER_ITEM + k;
            }
        }
    }
}
