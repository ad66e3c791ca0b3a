//! The committed sharechain fixture: it decodes, is for today's Litecoin regtest consensus, and
//! seeds a node's data directory with a chain a full window high.

use otedama_sharechain::{codec, ShareChain, SledStore};
use otedama_tests::fixture::{self, FIXTURE_SHARES};

#[test]
fn fixture_seeds_a_full_window() -> anyhow::Result<()> {
    let shares = otedama_tests::regtest_chain();
    assert_eq!(shares.len(), FIXTURE_SHARES);
    let last = codec::decode_share(shares.last().expect("not empty"))?;
    let scripts = fixture::regtest_payout_scripts();
    assert_eq!(last.data.payout_script, scripts[(FIXTURE_SHARES - 1) % 4]);

    let dir = tempfile::tempdir()?;
    otedama_tests::seed_store(dir.path(), &shares)?;

    let store = SledStore::open(&dir.path().join("sharechain"))?;
    let chain = ShareChain::open(fixture::regtest_consensus(), store)?;
    assert_eq!(chain.len(), FIXTURE_SHARES);
    assert_eq!(chain.height(), Some(FIXTURE_SHARES as u32 - 1));
    assert_eq!(chain.tip(), Some(last.id()));
    assert_eq!(chain.window_len(), 2160);
    Ok(())
}

#[test]
fn fixture_round_trips_and_rejects_damage() {
    let shares = otedama_tests::regtest_chain();
    let id = fixture::regtest_consensus().id();
    let bytes = fixture::encode_fixture(id, &shares);
    let on_disk = std::fs::read(fixture::fixture_path()).expect("fixture is committed");
    assert_eq!(bytes, on_disk);
    let (got_id, got) = fixture::decode_fixture(&bytes).expect("decodes");
    assert_eq!((got_id, got.len()), (id, shares.len()));
    assert!(fixture::decode_fixture(&bytes[..bytes.len() - 1]).is_err());
    let mut extra = bytes.clone();
    extra.push(0);
    assert!(fixture::decode_fixture(&extra).is_err());
    let mut bad_magic = bytes;
    bad_magic[0] ^= 1;
    assert!(fixture::decode_fixture(&bad_magic).is_err());
}
