//! The committed sharechain fixture for network tests: 2200 valid Litecoin regtest shares, so a
//! test can start nodes with a full PPLNS window (2160 shares) without mining one.
//!
//! `tests/fixtures/litecoin-regtest-chain.bin` is written by
//! `cargo run --release -p otedama-tests --bin gen-fixture` (with
//! `otedama_sharechain::testkit::mine_chain`). Its format:
//!
//! ```text
//! magic        8 bytes   "OTDFIX01"
//! consensus    32 bytes  the consensus id the shares were made for
//! count        u32 LE    number of shares
//! count times:
//!   len        u16 LE    length of the encoded share
//!   share      len bytes otedama_sharechain::codec::encode_share, parents before children
//! ```
//!
//! Share `i` has height `i`, time `start + i` (regtest `T` = 1 s, so the share target stays at
//! the floor) where `start` was three hours before generation, and pays
//! [`regtest_payout_scripts`]`()[i % 4]`. No consensus rule limits how old a share may be (only
//! how far ahead of `now`, §7), so the fixture stays valid until the consensus changes.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, ensure, Context, Result};
use bitcoin::ScriptBuf;
use otedama_proto::chain::{Coin, Network};
use otedama_sharechain::{AddOutcome, Consensus, ConsensusId, ShareChain, SledStore};

/// The first 8 bytes of a fixture file.
pub const MAGIC: &[u8; 8] = b"OTDFIX01";

/// How many shares the fixture holds: a window (2160) and some.
pub const FIXTURE_SHARES: usize = 2200;

/// The path of the committed fixture.
pub fn fixture_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/litecoin-regtest-chain.bin")
}

/// The consensus of the fixture: Litecoin regtest with the default pool name, as the node uses.
pub fn regtest_consensus() -> Consensus {
    Consensus::for_network(Coin::Litecoin, Network::Regtest).expect("litecoin regtest exists")
}

/// The four P2WPKH payout scripts the fixture's shares pay in turn (witness programs `[n; 20]`
/// for n = 1..=4; `rltc1q…` addresses on Litecoin regtest).
pub fn regtest_payout_scripts() -> Vec<ScriptBuf> {
    (1..=4u8)
        .map(|n| {
            let mut bytes = vec![0x00, 0x14];
            bytes.extend_from_slice(&[n; 20]);
            ScriptBuf::from_bytes(bytes)
        })
        .collect()
}

/// The fixture file's bytes for encoded `shares` of consensus `id`.
pub fn encode_fixture(id: ConsensusId, shares: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(44 + shares.iter().map(|s| s.len() + 2).sum::<usize>());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&id.0);
    let count = u32::try_from(shares.len()).expect("fewer than 2^32 shares");
    out.extend_from_slice(&count.to_le_bytes());
    for share in shares {
        let len = u16::try_from(share.len()).expect("an encoded share is at most 1400 bytes");
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(share);
    }
    out
}

/// Reads a fixture file's bytes: its consensus id and its encoded shares.
pub fn decode_fixture(bytes: &[u8]) -> Result<(ConsensusId, Vec<Vec<u8>>)> {
    let mut rest = bytes;
    let mut take = |n: usize, what: &str| -> Result<&[u8]> {
        ensure!(rest.len() >= n, "fixture ends inside the {what}");
        let (head, tail) = rest.split_at(n);
        rest = tail;
        Ok(head)
    };
    ensure!(
        take(8, "magic")? == MAGIC,
        "fixture does not start with OTDFIX01"
    );
    let id = ConsensusId(take(32, "consensus id")?.try_into().expect("32 bytes"));
    let count = u32::from_le_bytes(take(4, "count")?.try_into().expect("4 bytes"));
    let mut shares = Vec::with_capacity(count.min(100_000) as usize);
    for i in 0..count {
        let len = u16::from_le_bytes(take(2, "share length")?.try_into().expect("2 bytes"));
        shares.push(take(usize::from(len), &format!("share {i}"))?.to_vec());
    }
    ensure!(rest.is_empty(), "{} bytes after the last share", rest.len());
    Ok((id, shares))
}

/// The fixture's encoded shares, parents first.
///
/// # Panics
/// If the file is missing or damaged, or was made for another consensus id than today's
/// Litecoin regtest consensus (then regenerate it).
pub fn regtest_chain() -> Vec<Vec<u8>> {
    let path = fixture_path();
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("cannot read the fixture {}: {e}", path.display()));
    let (id, shares) = decode_fixture(&bytes)
        .unwrap_or_else(|e| panic!("the fixture {} is damaged: {e:#}", path.display()));
    let want = regtest_consensus().id();
    assert!(
        id == want,
        "the fixture {} was made for consensus id {id}, but Litecoin regtest's is now {want}: \
         the consensus changed; regenerate it with \
         `cargo run --release -p otedama-tests --bin gen-fixture`",
        path.display()
    );
    shares
}

/// Writes `shares` (encoded, parents first) into the sharechain store of a node whose data
/// directory is `data_dir`, exactly as the node opens it (`data_dir/sharechain`, sled, Litecoin
/// regtest), checking that each is accepted; the store is flushed and closed on return.
pub fn seed_store(data_dir: &Path, shares: &[Vec<u8>]) -> Result<()> {
    let chain_dir = data_dir.join("sharechain");
    let store = SledStore::open(&chain_dir).with_context(|| {
        format!(
            "cannot open the sharechain store in {}",
            chain_dir.display()
        )
    })?;
    let mut chain =
        ShareChain::open(regtest_consensus(), store).context("cannot load the sharechain")?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the clock is before 1970")?
        .as_secs();
    for (i, bytes) in shares.iter().enumerate() {
        match chain.add_encoded(bytes, now)? {
            AddOutcome::Accepted(_) => {}
            AddOutcome::Rejected(reason) => bail!("fixture share {i} was rejected: {reason}"),
            AddOutcome::WaitingForParent(missing) => {
                bail!("fixture share {i} waits for missing shares {missing:?}")
            }
        }
    }
    chain.flush().context("cannot flush the sharechain store")?;
    drop(chain);
    Ok(())
}
