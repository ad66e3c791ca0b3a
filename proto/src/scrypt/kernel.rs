//! The SIMD ROMix kernel, written once and expanded into each x86-64 back-end.
//!
//! Every back-end keeps a 64-byte Salsa20 block in four 128-bit rows laid out along the matrix's
//! diagonals (see [`super::DIAGONAL`]), so that each quarter-round step is one add, one rotate and
//! one xor across a whole row, and the only shuffles are the three row rotations between the
//! column round and the row round. A wider register holds `P` such rows side by side, one per
//! 128-bit lane, each lane a different hash; and the kernel runs `K` such register sets
//! ("chains") at once. The `K·P` hashes are independent, so while one chain waits out the latency
//! of its add→rotate→xor sequence the others keep the vector units busy. The chains form two
//! groups half a BlockMix apart, so that when one group waits for its scratchpad reads in ROMix's
//! second loop the other still has work.
//!
//! The scratchpad of a chain holds its registers' images (`[V; 8]` per step), so the first loop
//! stores whole registers and the second loop picks each lane's row out of the image its own
//! index selects, with blends rather than shuffles.
//!
//! A back-end module defines its vector type `V`, its lane count `P`, and `#[target_feature]`
//! helpers `zero`, `add`, `xor`, `xor_rotl::<L, R>`, `shuf::<IMM>`, `load8`, `store8`,
//! `xor_lanes` and `word0`; `romix_kernel!("its features")` then expands to `romix` compiled
//! with those features, and [`salsa8!`] inlines Salsa20/8 into it, so every helper inlines.

/// Expands (inside `romix`, so that it is always inlined) to Salsa20/8 of one half of each
/// chain's block xored with the other half, replacing that half: rows `$oa..$oa + 4` in chains
/// `..$ka`, rows `$ob..$ob + 4` in the others. Offset 0 is BlockMix's first half, 4 its second.
macro_rules! salsa8 {
    ($x:ident, $ka:expr, $oa:expr, $ob:expr) => {{
        // With one or two chains the rounds are latency-bound: ask for the shortest rotate.
        let short = K <= 2;
        let mut s = [[zero(); 4]; K];
        for k in 0..K {
            let o = if k < $ka { $oa } else { $ob };
            for r in 0..4 {
                s[k][r] = xor($x[k][o + r], $x[k][(o + 4) % 8 + r]);
            }
        }
        let input = s;
        for _ in 0..4 {
            // Column round: rows are (a, b, c, d) = (s[0], s[1], s[2], s[3]).
            for k in 0..K {
                s[k][1] = xor_rotl::<7, 25>(s[k][1], add(s[k][0], s[k][3]), short);
            }
            for k in 0..K {
                s[k][2] = xor_rotl::<9, 23>(s[k][2], add(s[k][1], s[k][0]), short);
            }
            for k in 0..K {
                s[k][3] = xor_rotl::<13, 19>(s[k][3], add(s[k][2], s[k][1]), short);
            }
            for k in 0..K {
                s[k][0] = xor_rotl::<18, 14>(s[k][0], add(s[k][3], s[k][2]), short);
            }
            for k in 0..K {
                s[k][1] = shuf::<0x93>(s[k][1]);
                s[k][2] = shuf::<0x4e>(s[k][2]);
                s[k][3] = shuf::<0x39>(s[k][3]);
            }
            // Row round: after those rotations rows 1 and 3 have swapped roles.
            for k in 0..K {
                s[k][3] = xor_rotl::<7, 25>(s[k][3], add(s[k][0], s[k][1]), short);
            }
            for k in 0..K {
                s[k][2] = xor_rotl::<9, 23>(s[k][2], add(s[k][3], s[k][0]), short);
            }
            for k in 0..K {
                s[k][1] = xor_rotl::<13, 19>(s[k][1], add(s[k][2], s[k][3]), short);
            }
            for k in 0..K {
                s[k][0] = xor_rotl::<18, 14>(s[k][0], add(s[k][1], s[k][2]), short);
            }
            for k in 0..K {
                s[k][1] = shuf::<0x39>(s[k][1]);
                s[k][2] = shuf::<0x4e>(s[k][2]);
                s[k][3] = shuf::<0x93>(s[k][3]);
            }
        }
        for k in 0..K {
            let o = if k < $ka { $oa } else { $ob };
            for r in 0..4 {
                $x[k][o + r] = add(s[k][r], input[k][r]);
            }
        }
    }};
}

pub(super) use salsa8;

/// Expands to `romix` (and its helper) for the back-end module it is invoked in.
macro_rules! romix_kernel {
    ($feature:literal) => {
        /// ROMix's second-loop step before a BlockMix: xors into a chain the scratchpad entry
        /// that Integerify (word 16: the first word of the second half's first row) picks for
        /// each lane.
        #[inline]
        #[target_feature(enable = $feature)]
        fn xor_integerified(chain: &mut [V; 8], pad: &[[V; 8]; N]) {
            let j = word0(chain[4]);
            xor_lanes(chain, core::array::from_fn(|p| &pad[j[p] as usize % N]));
        }

        /// ROMix (N = 1024, r = 1) of `K·P` independent blocks in diagonal word order, in place,
        /// with `v` as scratch (`N` blocks per lane). Chains `KA..K` run half a BlockMix ahead
        /// of chains `..KA`; with `KA == K` all run in lock step.
        ///
        /// # Panics
        /// If `x` does not hold `K·P` blocks or `v` does not hold `K·P·N` scratch blocks.
        ///
        /// # Safety
        /// The CPU must support every feature in this back-end's feature string.
        #[target_feature(enable = $feature)]
        pub(super) unsafe fn romix<const K: usize, const KA: usize>(
            x: &mut [[u32; 32]],
            v: &mut [Block],
        ) {
            const { assert!(0 < KA && KA <= K) };
            const { assert!(core::mem::size_of::<[V; 8]>() == P * core::mem::size_of::<Block>()) };
            const { assert!(core::mem::align_of::<V>() <= core::mem::align_of::<Block>()) };
            assert_eq!(x.len(), K * P, "one block per lane");
            assert_eq!(v.len(), K * P * N, "one scratchpad per lane");
            // SAFETY: `v` holds K·P·N blocks, exactly K·N register images `[V; 8]` (asserted
            // above); its alignment suffices for `V`; every bit pattern is a valid `V`; and the
            // new slice reborrows `v` mutably for its whole life.
            let images: &mut [[V; 8]] =
                unsafe { core::slice::from_raw_parts_mut(v.as_mut_ptr().cast::<[V; 8]>(), K * N) };
            let mut pads = images
                .chunks_exact_mut(N)
                .map(|pad| <&mut [[V; 8]; N]>::try_from(pad).expect("chunks of N images"));
            let pad: [&mut [[V; 8]; N]; K] =
                core::array::from_fn(|_| pads.next().expect("K scratchpads were checked"));

            let mut st = [[zero(); 8]; K];
            for (k, chain) in st.iter_mut().enumerate() {
                *chain = load8(core::array::from_fn(|p| &x[k * P + p]));
            }
            // Group B's head start: its first half-BlockMix (group A's result is discarded).
            if KA < K {
                for k in KA..K {
                    pad[k][0] = st[k];
                }
                let keep = st;
                salsa8!(st, KA, 0, 0);
                st[..KA].copy_from_slice(&keep[..KA]);
            }
            // First loop: V[i] = X; X = BlockMix(X).
            for i in 0..N {
                for k in 0..KA {
                    pad[k][i] = st[k];
                }
                salsa8!(st, KA, 0, 4);
                for k in KA..K {
                    if i + 1 < N {
                        pad[k][i + 1] = st[k];
                    } else {
                        // Group B's first step of the second loop.
                        xor_integerified(&mut st[k], pad[k]);
                    }
                }
                salsa8!(st, KA, 4, 0);
            }
            // Second loop: X = BlockMix(X ^ V[Integerify(X) mod N]).
            for m in 0..N {
                for k in 0..KA {
                    xor_integerified(&mut st[k], pad[k]);
                }
                salsa8!(st, KA, 0, 4);
                if m + 1 < N {
                    for k in KA..K {
                        xor_integerified(&mut st[k], pad[k]);
                    }
                    salsa8!(st, KA, 4, 0);
                } else {
                    // Group B is done: group A's last half (B's result is discarded).
                    let keep = st;
                    salsa8!(st, KA, 4, 0);
                    st[KA..].copy_from_slice(&keep[KA..]);
                }
            }
            for (chain, out) in st.iter().zip(x.chunks_exact_mut(P)) {
                let out = <&mut [[u32; 32]; P]>::try_from(out).expect("chunks of P blocks");
                store8(chain, out.each_mut());
            }
        }
    };
}

pub(super) use romix_kernel;
