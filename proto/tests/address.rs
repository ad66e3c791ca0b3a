//! Payout address tests: real addresses of every form on every network, each checked against its
//! known output script, and every way an address can be wrong checked for its specific error.
//!
//! Where the vectors come from:
//! - `[core]`: Bitcoin Core `src/test/data/key_io_valid.json` (its `testnet4` entries use the
//!   same prefixes as testnet3);
//! - `[ltc-core]`: Litecoin Core `src/test/data/key_io_valid.json`;
//! - `[bip350]`, `[bip86]`: the test vectors of those BIPs;
//! - `[thor]`: THORChain's `common/pubkey_test.go`, which encodes one public key for every coin and
//!   network; the expected script is rebuilt here from the key's hash160;
//! - `[ltc-rs]`, `[mrt]`, `[litecointx]`: a Litecoin port of rust-bitcoin, mrtnetwork's
//!   blockchain_utils vectors and python-litecointx's README.
//!
//! Litecoin bech32 addresses that no source gives a script for are checked against a second,
//! independent decoder (the `bech32` crate's own `segwit::decode`) and against the same witness
//! program under Bitcoin's prefix.

use std::str::FromStr;

use bitcoin::bech32::{segwit, Hrp};
use bitcoin::hashes::{hash160, Hash};
use bitcoin::ScriptBuf;
use otedama_proto::address::{AddressError, AddressKind, ChainList, PayoutAddress};
use otedama_proto::chain::{ChainParams, Coin, Network};
use proptest::prelude::*;

use AddressKind::*;
use Coin::*;
use Network::*;

/// (address, coin, network, kind, script hex).
#[rustfmt::skip]
const VALID: &[(&str, Coin, Network, AddressKind, &str)] = &[
    // Litecoin mainnet.
    ("LT2KVaAy1ppRuxRgrS5RNU3vBsy7RibPeA", Litecoin, Mainnet, P2pkh, "76a914558dbca7118cd5894502767c7b2ffc21a22f54db88ac"), // [ltc-core]
    ("LbfVMz974gbbGFqXF7FZUpSBWSbwBHDwR5", Litecoin, Mainnet, P2pkh, "76a914b4565f467408e9e1c1d2a3b0ccdeff84db3a3b9388ac"), // [ltc-core]
    ("LM2WMpR1Rp6j3Sa59cMXMs1SPzj9eXpGc1", Litecoin, Mainnet, P2pkh, "76a91413c60d8e68d7349f5b4ca362c3954b15045061b188ac"), // [ltc-rs]
    ("MHrYRxAiMNBTku3eoDHwhA1LQGDjUStZW2", Litecoin, Mainnet, P2sh, "a9146d328a5b2a20d943a641c8d29b6cc3c2d2df85d387"), // [ltc-core]
    ("M9dw1FAoWpHC6PcMzoCHhqQ9McvTyG5Ywj", Litecoin, Mainnet, P2sh, "a914130ef8742ad7492b389509252c6721775fb1127387"), // [ltc-core]
    ("MVcg9uEvtWuP5N6V48EHfEtbz48qR8TKZ9", Litecoin, Mainnet, P2sh, "a914ee34ac676bdaf6e370c8c820b948edfad3a873d887"), // [ltc-rs]
    ("36j4NfKv6Akva9amjWrLG6MuSQym1GuEmm", Litecoin, Mainnet, P2sh, "a914373b819a068f32b7a6b38b6b38729647cfde01c287"), // legacy 3…, [core]
    ("ltc1qx88q7zjd74lxwgkjmmwlqv5pd3vujuehexfttt", Litecoin, Mainnet, P2wpkh, "001431ce0f0a4df57e6722d2deddf032816c59c97337"), // [mrt]
    ("ltc1qudhthew8h03vzc7x99m3qg0z8wjq2f759hp4ej", Litecoin, Mainnet, P2wpkh, "0014e36ebbe5c7bbe2c163c629771021e23ba40527d4"), // [mrt]
    ("ltc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxq4arnzx", Litecoin, Mainnet, P2tr, "5120a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c"), // [ltc-rs] of [bip86]
    // Litecoin testnet.
    ("mwXn5Vhicdav8Av3KMokx4YNuHoGRKxtWs", Litecoin, Testnet, P2pkh, "76a914afa9e672141e283dfbcc1cf28f3793a856d3878488ac"), // [ltc-core]
    ("mnJYjG654G354sX1xEBaPGvGCoe34M1Pqr", Litecoin, Testnet, P2pkh, "76a9144a7037b0cc4ae15278e7a62549e2acde3f60186688ac"), // [ltc-core]
    ("QXaUgLHkZcbJb2j5XgMYzY8cF9YM48Y81Z", Litecoin, Testnet, P2sh, "a9147860667e60a6545e18e541984094b29c9c46991b87"), // [ltc-core]
    ("QQjXG2nbVfxysmaEZQVL9TsS359WjDT5ux", Litecoin, Testnet, P2sh, "a9142d4d6b05448a911116292a177c04f7f6bd29ea2c87"), // [ltc-core]
    ("2NC2hEhe28ULKAJkW5MjZ3jtTMJdvXmByvK", Litecoin, Testnet, P2sh, "a914ce0bba75891ff9ec60148d4bd4a09ee2dc5c933187"), // legacy 2…, [core]
    // Litecoin regtest.
    ("mpWvR79tSrA5xeziB6mjNYWdaVRwBpgnUP", Litecoin, Regtest, P2pkh, "76a91462b790654f809d32202587c6a43456ffc1965d8388ac"), // [ltc-core]
    ("mtJ7NFSGv2WuwsigXhQymzMhxFh9uANCTY", Litecoin, Regtest, P2pkh, "76a9148c2bcd075a332c4eafaf30876ca9e7a091d037de88ac"), // [ltc-core]
    ("QgDNrG4nJpE4VV7PcFMFhkTgwAHWxWS7pj", Litecoin, Regtest, P2sh, "a914d71bee7a1395c10c9ca9a7f53ac086b53e74369d87"), // [ltc-core]
    ("QfS38XTvXmuNFeyS8orinxHkDkonMDS1ih", Litecoin, Regtest, P2sh, "a914ce88c090d0ee540cab7e2d2286f686434d33d61987"), // [ltc-core]
    ("2MxFajLApXpYk4VodBSZSt7rw8y4ryABkfA", Litecoin, Regtest, P2sh, "a91436e9f191e0b75036a77f65e2eaa4752443233fbe87"), // legacy 2…, [core]
    // Bitcoin mainnet.
    ("1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mo", Bitcoin, Mainnet, P2pkh, "76a914a31c06bd463e3923bc1aadbde48b16976c08071788ac"), // [core]
    ("1FjL87pn8ky6Vbavd1ZHeChRXtoxwRGCRd", Bitcoin, Mainnet, P2pkh, "76a914a19331b7b2627e663e25a7b001e4c0dcc5e21bc788ac"), // [core]
    ("36j4NfKv6Akva9amjWrLG6MuSQym1GuEmm", Bitcoin, Mainnet, P2sh, "a914373b819a068f32b7a6b38b6b38729647cfde01c287"), // [core]
    ("3BZECeAH8gSKkjrTx8PwMrNQBLG18yHpvf", Bitcoin, Mainnet, P2sh, "a9146c382dcdf5b284760c8e3fead91f7422cd76aa8787"), // [core]
    ("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", Bitcoin, Mainnet, P2wpkh, "0014751e76e8199196d454941c45d1b3a323f1433bd6"), // [bip350]
    ("bc1qvyq0cc6rahyvsazfdje0twl7ez82ndmuac2lhv", Bitcoin, Mainnet, P2wpkh, "00146100fc6343edc8c874496cb2f5bbfec88ea9b77c"), // [core]
    ("bc1qyucykdlhp62tezs0hagqury402qwhk589q80tqs5myh3rxq34nwqhkdhv7", Bitcoin, Mainnet, P2wsh, "002027304b37f70e94bc8a0fbf500e0c957a80ebda87280ef58214d92f119811acdc"), // [core]
    ("bc1qgc9ljrvdf2e0zg9rmmq86xklqwfys7r6wptjlacdgrcdc7sa6ggqu4rrxf", Bitcoin, Mainnet, P2wsh, "0020460bf90d8d4ab2f120a3dec07d1adf039248787a70572ff70d40f0dc7a1dd210"), // [core]
    ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", Bitcoin, Mainnet, P2tr, "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"), // [bip350]
    ("bc1p83n3au0rjylefxq2nc2xh2y4jzz4pm6zxj4mw5pagdjjr2a9f36s6jjnnu", Bitcoin, Mainnet, P2tr, "51203c671ef1e3913f94980a9e146ba895908550ef4234abb7503d436521aba54c75"), // [core]
    ("bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr", Bitcoin, Mainnet, P2tr, "5120a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c"), // [bip86]
    // Bitcoin testnet.
    ("mzK2FFDEhxqHcmrJw1ysqFkVyhUULo45hZ", Bitcoin, Testnet, P2pkh, "76a914ce28b26c57472737f5c3561a1761185bd8589a4388ac"), // [core]
    ("n4YNbYuFdPwFrxSP8sjHFbAhUbLMUiY9jE", Bitcoin, Testnet, P2pkh, "76a914fc8f9851f3c1e4719cd0b8e4816dd4e88c72e52888ac"), // [core]
    ("2NC2hEhe28ULKAJkW5MjZ3jtTMJdvXmByvK", Bitcoin, Testnet, P2sh, "a914ce0bba75891ff9ec60148d4bd4a09ee2dc5c933187"), // [core]
    ("tb1qcrh3yqn4nlleplcez2yndq2ry8h9ncg3qh7n54", Bitcoin, Testnet, P2wpkh, "0014c0ef1202759fff90ff19128936814321ee59e111"), // [core]
    ("tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", Bitcoin, Testnet, P2wsh, "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262"), // [bip350]
    ("tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy", Bitcoin, Testnet, P2wsh, "0020000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433"), // [bip350]
    ("tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c", Bitcoin, Testnet, P2tr, "5120000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433"), // [bip350]
    ("tb1p35n52jy6xkm4wd905tdy8qtagrn73kqdz73xe4zxpvq9t3fp50aqk3s6gz", Bitcoin, Testnet, P2tr, "51208d2745489a35b75734afa2da43817d40e7e8d80d17a26cd4460b0055c521a3fa"), // [core]
    // Bitcoin signet.
    ("mww4LvqtTMKvmeQvizPz2EQv26xTneWrbg", Bitcoin, Signet, P2pkh, "76a914b4110ba93ac54afc14da3bdd19614774a2d55d2988ac"), // [core]
    ("2N1r7aC69VHeE7yQJPDLi9T1PYq4wnwvjuT", Bitcoin, Signet, P2sh, "a9145e5a35ab44b3efaea5129ba22b88ba3e2976614587"), // [core]
    ("tb1q3vya2h5435jkugq2few7dmktlrwq4ejmfaw7kr", Bitcoin, Signet, P2wpkh, "00148b09d55e958d256e200a4e5de6eecbf8dc0ae65b"), // [core]
    ("tb1qxkhrl2s6ttrclckldruea0e8anhrehffl8xv7t0pdyrzm08v2hyqy408nf", Bitcoin, Signet, P2wsh, "002035ae3faa1a5ac78fe2df68f99ebf27ecee3cdd29f9cccf2de169062dbcec55c8"), // [core]
    ("tb1pae5um27ahn8n73pgexe3kcwlp8dhswpn684h2k2w6t9a7w3eq65qephd5y", Bitcoin, Signet, P2tr, "5120ee69cdabddbccf3f4428c9b31b61df09db783833d1eb75594ed2cbdf3a3906a8"), // [core]
    // Bitcoin regtest.
    ("n4fajahJrAuKbN7uNsKjLjQkz9Qn5ewJXQ", Bitcoin, Regtest, P2pkh, "76a914fdeca3b08e38af53d7c4c60e3ad208ce5066441088ac"), // [core]
    ("mfhE6jAUwjUDNZhaX1PAsDTKfneQF2Nshc", Bitcoin, Regtest, P2pkh, "76a91401f15a4cc063dae4f4d56b89bfbc8bcc9ae5387c88ac"), // [core]
    ("2MxFajLApXpYk4VodBSZSt7rw8y4ryABkfA", Bitcoin, Regtest, P2sh, "a91436e9f191e0b75036a77f65e2eaa4752443233fbe87"), // [core]
    ("2MxNm1VHyVU4RuP3u1c1v5aQLk2dQjwy1Qk", Bitcoin, Regtest, P2sh, "a91438456f7c076356abadcc67b92ad777eb20fb9f8887"), // [core]
    ("bcrt1qdavt4j2sd7dlhqsavtnfxvzppw6k7qy97tmnu9", Bitcoin, Regtest, P2wpkh, "00146f58bac9506f9bfb821d62e69330410bb56f0085"), // [core]
    ("bcrt1qan8gntac7z7me2ejt4hpru42ad2f759fmy0m3ejvs98656znv7eqga4uhv", Bitcoin, Regtest, P2wsh, "0020ecce89afb8f0bdbcab325d6e11f2aaeb549f50a9d91fb8e64c814faa685367b2"), // [core]
    ("bcrt1pfwxjqvtt4tcxrtdluukfmy2dv7xd2qzdfy6kajv5nwn4yam3wxkq3553uh", Bitcoin, Regtest, P2tr, "51204b8d20316baaf061adbfe72c9d914d678cd5004d49356ec9949ba752777171ac"), // [core]
    ("bcrt1p39a4s4vdcw9kqa8w2t0rp7aj8kfxyw7mce5sk5d70x6wnnmpvt7skf2kxy", Bitcoin, Regtest, P2tr, "5120897b58558dc38b6074ee52de30fbb23d92623bdbc6690b51be79b4e9cf6162fd"), // [core]
];

fn parse(s: &str, coin: Coin, network: Network) -> Result<PayoutAddress, AddressError> {
    PayoutAddress::parse(s, coin, network)
}

fn script(hex: &str) -> ScriptBuf {
    ScriptBuf::from_hex(hex).expect("test script hex")
}

#[test]
fn real_addresses_give_their_known_scripts() {
    for &(text, coin, network, kind, hex) in VALID {
        let addr = parse(text, coin, network)
            .unwrap_or_else(|e| panic!("{text} on {coin} {network}: {e}"));
        assert_eq!(addr.script_pubkey(), script(hex).as_script(), "{text}");
        assert_eq!(addr.kind(), kind, "{text}");
        assert_eq!((addr.coin(), addr.network()), (coin, network));
        assert_eq!(
            addr.to_string(),
            text,
            "Display gives back the text as given"
        );
        assert_eq!(addr.as_str(), text);
    }
}

#[test]
fn from_script_writes_the_standard_form_back() {
    for &(text, coin, network, kind, hex) in VALID {
        let written = PayoutAddress::from_script(&script(hex), coin, network)
            .unwrap_or_else(|| panic!("{text}: no address for its own script"));
        let params = coin.params(network).unwrap();
        let is_legacy_p2sh = kind == P2sh && {
            let version = bitcoin::base58::decode_check(text).unwrap()[0];
            version != params.p2sh_version
        };
        if is_legacy_p2sh {
            // Litecoin writes its own P2SH prefix (M…, Q…) for the legacy 3…/2… form.
            let first = if network == Mainnet { 'M' } else { 'Q' };
            assert!(written.starts_with(first), "{text} written as {written}");
        } else if is_base58(kind) {
            assert_eq!(written, text);
        } else {
            assert_eq!(written, text.to_ascii_lowercase(), "{text}");
        }
        let again = parse(&written, coin, network).unwrap();
        assert_eq!(again.script_pubkey(), script(hex).as_script());
    }
}

fn is_base58(kind: AddressKind) -> bool {
    matches!(kind, P2pkh | P2sh)
}

#[test]
fn bech32_is_read_in_either_case() {
    for &(text, coin, network, kind, hex) in VALID {
        if !is_base58(kind) {
            for flipped in [text.to_ascii_uppercase(), text.to_ascii_lowercase()] {
                let addr = parse(&flipped, coin, network).unwrap();
                assert_eq!(addr.script_pubkey(), script(hex).as_script(), "{flipped}");
            }
        }
    }
}

/// Litecoin's legacy 3… P2SH and its M… form are the same script (python-litecointx README).
#[test]
fn litecoin_legacy_p2sh_is_the_same_script_as_its_m_form() {
    let legacy = parse("3F1c6UWAs9RLN2Mbt5bAJue12VhVCorXzs", Litecoin, Mainnet).unwrap();
    let modern = parse("MMDkQMv8pGGmAXdVyxaW8YtQMCHw7eouma", Litecoin, Mainnet).unwrap();
    assert_eq!(legacy.script_pubkey(), modern.script_pubkey());
    assert_eq!(legacy.kind(), P2sh);
    assert_eq!(
        PayoutAddress::from_script(legacy.script_pubkey(), Litecoin, Mainnet).as_deref(),
        Some("MMDkQMv8pGGmAXdVyxaW8YtQMCHw7eouma")
    );
    assert_eq!(
        PayoutAddress::from_script(legacy.script_pubkey(), Bitcoin, Mainnet).as_deref(),
        Some("3F1c6UWAs9RLN2Mbt5bAJue12VhVCorXzs")
    );
}

/// One public key written for every network by THORChain's tests: each address must pay that
/// key's hash160.
#[test]
fn one_key_on_every_network() {
    #[rustfmt::skip]
    let keys = [
        (
            "02b4632d08485ff1df2db55b9dafd23347d1c47a457072a1e87be26896549a8737",
            [
                ("bc1qj08ys4ct2hzzc2hcz6h2hgrvlmsjynawlht528", Bitcoin, Mainnet),
                ("tb1qj08ys4ct2hzzc2hcz6h2hgrvlmsjynaw43s835", Bitcoin, Testnet),
                ("bcrt1qj08ys4ct2hzzc2hcz6h2hgrvlmsjynawhcf2xa", Bitcoin, Regtest),
                ("ltc1qj08ys4ct2hzzc2hcz6h2hgrvlmsjynawmt3sjh", Litecoin, Mainnet),
                ("tltc1qj08ys4ct2hzzc2hcz6h2hgrvlmsjynawvejepa", Litecoin, Testnet),
                ("rltc1qj08ys4ct2hzzc2hcz6h2hgrvlmsjynawf4nr3r", Litecoin, Regtest),
            ],
            // Its Dogecoin regtest address has version byte 111, Bitcoin's and Litecoin's test one.
            "mtzUk1zTJzTdyC8Pz6PPPyCHTEL5RLVyDJ",
        ),
        (
            "037db227d7094ce215c3a0f57e1bcc732551fe351f94249471934567e0f5dc1bf7",
            [
                ("bc1qzupk5lmc84r2dh738a9g3zscavannjy38ghlxu", Bitcoin, Mainnet),
                ("tb1qzupk5lmc84r2dh738a9g3zscavannjy3dwvva0", Bitcoin, Signet),
                ("bcrt1qzupk5lmc84r2dh738a9g3zscavannjy3084p2x", Bitcoin, Regtest),
                ("ltc1qzupk5lmc84r2dh738a9g3zscavannjy3r5dm7v", Litecoin, Mainnet),
                ("tltc1qzupk5lmc84r2dh738a9g3zscavannjy35xwjdx", Litecoin, Testnet),
                ("rltc1qzupk5lmc84r2dh738a9g3zscavannjy3320gac", Litecoin, Regtest),
            ],
            "mhcdvpCBUL3RRNW2y8LuksADWfecEmkzju",
        ),
    ];
    for (pubkey, segwit_addrs, p2pkh_testnet) in keys {
        let hash = hash160::Hash::hash(&hex::decode(pubkey).unwrap()).to_byte_array();
        let p2wpkh = format!("0014{}", hex::encode(hash));
        for (text, coin, network) in segwit_addrs {
            let addr = parse(text, coin, network).unwrap();
            assert_eq!(addr.script_pubkey(), script(&p2wpkh).as_script(), "{text}");
        }
        let p2pkh = format!("76a914{}88ac", hex::encode(hash));
        for coin in Coin::ALL {
            let addr = parse(p2pkh_testnet, coin, Regtest).unwrap();
            assert_eq!(addr.script_pubkey(), script(&p2pkh).as_script());
        }
    }
}

/// Litecoin bech32 addresses from public code with no published script: a second decoder, and
/// the same data under Bitcoin's prefix decoded by rust-bitcoin, must agree with ours.
#[test]
fn litecoin_bech32_agrees_with_independent_decoders() {
    let cases = [
        (
            "ltc1qwqdg6squsna38e46795at95yu9atm8azzmyvckulcc7kytlcckxsdgzjrh",
            Mainnet,
            P2wsh,
        ), // [ltc-rs]
        (
            "ltc1qvzvkjn4q3nszqxrv3nraga2r822xjty3q2kjy7",
            Mainnet,
            P2wpkh,
        ), // [ltc-rs]
        (
            "ltc1paardr2nczq0rx5rqpfwnvpzm497zvux64y0f7wjgcs7xuuuh2nnqd8yawa",
            Mainnet,
            P2tr,
        ), // [ltc-rs]
        (
            "ltc1qw508d6qejxtdg4y5r3zarvary0c5xw7kgmn4n9",
            Mainnet,
            P2wpkh,
        ), // [ltc-rs]
        (
            "tltc1qeh6wxfsj4cfwh5dmp0nnpqj52s9u5gkc59gyj94qllg7wnjxx6qsnda7vj",
            Testnet,
            P2wsh,
        ),
        (
            "tltc1qxzv66jwlm5pphum53alctrsdr7stfahcrl3cfp",
            Testnet,
            P2wpkh,
        ), // BTCPay test data
        (
            "rltc1qlkp8904tzjyd8qwzjl550k040qz08ulaeajgcn",
            Regtest,
            P2wpkh,
        ), // lnd-ltc itest
    ];
    for (text, network, kind) in cases {
        let addr = parse(text, Litecoin, network).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(addr.kind(), kind, "{text}");
        let (_, version, program) = segwit::decode(text).unwrap();
        let expected = bitcoin::WitnessProgram::new(
            bitcoin::WitnessVersion::try_from(version).unwrap(),
            &program,
        )
        .unwrap();
        assert_eq!(
            addr.script_pubkey(),
            ScriptBuf::new_witness_program(&expected).as_script()
        );
    }
    // The same witness program as the first case, under Bitcoin's prefix, read by rust-bitcoin.
    let btc = bitcoin::Address::from_str(
        "bc1qwqdg6squsna38e46795at95yu9atm8azzmyvckulcc7kytlcckxswvvzej",
    )
    .unwrap()
    .assume_checked();
    let ltc = parse(cases[0].0, Litecoin, Mainnet).unwrap();
    assert_eq!(ltc.script_pubkey(), btc.script_pubkey().as_script());
    assert_eq!(
        PayoutAddress::from_script(&btc.script_pubkey(), Litecoin, Mainnet).as_deref(),
        Some(cases[0].0)
    );
}

/// Litecoin P2WSH and taproot on testnet and regtest, derived from known programs: written by
/// `from_script`, read back, and checked against the `bech32` crate's own encoder.
#[test]
fn litecoin_test_networks_segwit_forms() {
    let scripts = [
        "0020ecce89afb8f0bdbcab325d6e11f2aaeb549f50a9d91fb8e64c814faa685367b2",
        "5120a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c",
        "00146f58bac9506f9bfb821d62e69330410bb56f0085",
    ];
    for network in [Testnet, Regtest] {
        let hrp = Hrp::parse(Litecoin.params(network).unwrap().bech32_hrp).unwrap();
        for hex in scripts {
            let spk = script(hex);
            let text = PayoutAddress::from_script(&spk, Litecoin, network).unwrap();
            let version = spk.witness_version().unwrap().to_fe();
            let expected = segwit::encode(hrp, version, &spk.as_bytes()[2..]).unwrap();
            assert_eq!(text, expected);
            let addr = parse(&text, Litecoin, network).unwrap();
            assert_eq!(addr.script_pubkey(), spk.as_script());
        }
    }
}

#[test]
fn from_script_refuses_non_standard_scripts() {
    let scripts = [
        "6a0401020304",                         // OP_RETURN
        "5210751e76e8199196d454941c45d1b3a323", // witness v2
        "5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6", // v1, 40 bytes
        "2102b4632d08485ff1df2db55b9dafd23347d1c47a457072a1e87be26896549a8737ac", // bare P2PK
        "",
    ];
    for hex in scripts {
        assert_eq!(
            PayoutAddress::from_script(&script(hex), Bitcoin, Mainnet),
            None,
            "{hex}"
        );
    }
    let p2wpkh = script("0014751e76e8199196d454941c45d1b3a323f1433bd6");
    assert_eq!(PayoutAddress::from_script(&p2wpkh, Litecoin, Signet), None);
}

fn err(s: &str, coin: Coin, network: Network) -> AddressError {
    match parse(s, coin, network) {
        Ok(a) => panic!("{s} parsed as {:?} on {coin} {network}", a.kind()),
        Err(e) => e,
    }
}

#[test]
fn empty_long_and_stray_characters() {
    assert_eq!(err("", Litecoin, Mainnet), AddressError::Empty);
    assert!(matches!(
        err(&"q".repeat(129), Litecoin, Mainnet),
        AddressError::TooLong { len: 129, max: 90 }
    ));
    assert!(matches!(
        err(&format!("ltc1{}", "q".repeat(91)), Litecoin, Mainnet),
        AddressError::TooLong { len: 95, max: 90 }
    ));
    assert_eq!(
        err(" LT2KVaAy1ppRuxRgrS5RNU3vBsy7RibPeA", Litecoin, Mainnet),
        AddressError::InvalidCharacter { ch: ' ', pos: 0 }
    );
    assert_eq!(
        err("LT2KVaAy1ppRuxRgrS5RNU3vBsy7RibPeA\n", Litecoin, Mainnet),
        AddressError::InvalidCharacter { ch: '\n', pos: 34 }
    );
    assert_eq!(
        err("ltc1q\u{e9}", Litecoin, Mainnet),
        AddressError::InvalidCharacter {
            ch: '\u{e9}',
            pos: 5
        }
    );
    assert_eq!(
        err("LT2KVaAy1ppRuxRgrS5RNU3vBsy7RibPeA.rig1", Litecoin, Mainnet),
        AddressError::InvalidCharacter { ch: '.', pos: 34 }
    );
    // An Ethereum address is neither base58 ('0') nor bech32.
    assert_eq!(
        err(
            "0x3fd2d4ce97b082d4bce3f9fee2a3d60668d2f473",
            Bitcoin,
            Mainnet
        ),
        AddressError::UnknownForm
    );
}

#[test]
fn base58_errors() {
    // Last character changed.
    assert_eq!(
        err("LT2KVaAy1ppRuxRgrS5RNU3vBsy7RibPeB", Litecoin, Mainnet),
        AddressError::Base58Checksum
    );
    // Cut short.
    assert_eq!(
        err("1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2m", Bitcoin, Mainnet),
        AddressError::Base58Checksum
    );
    let mut long = vec![0_u8; 22];
    long[0] = 48;
    assert_eq!(
        err(&bitcoin::base58::encode_check(&long), Litecoin, Mainnet),
        AddressError::Base58PayloadLength { len: 22 }
    );
    assert_eq!(
        err(&bitcoin::base58::encode_check(&[48]), Litecoin, Mainnet),
        AddressError::Base58PayloadLength { len: 1 }
    );
    // Dogecoin's 'D' prefix is no supported coin's.
    assert_eq!(
        err("DJcczDr7oNvfj5qP17Qa7p9ZUNTfnYYDJC", Litecoin, Mainnet),
        AddressError::UnknownVersion { version: 30 }
    );
}

#[test]
fn base58_of_another_coin_or_network_names_it() {
    let e = err("1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mo", Litecoin, Regtest);
    assert_eq!(
        e,
        AddressError::WrongNetworkVersion {
            version: 0,
            found: ChainList(vec![(Bitcoin, Mainnet)]),
            expected_coin: Litecoin,
            expected_network: Regtest,
        }
    );
    assert_eq!(
        e.to_string(),
        "this is a bitcoin mainnet address (version byte 0), expected a litecoin regtest address"
    );
    let e = err("LT2KVaAy1ppRuxRgrS5RNU3vBsy7RibPeA", Bitcoin, Mainnet);
    assert!(
        matches!(&e, AddressError::WrongNetworkVersion { version: 48, found, .. }
        if found.0 == [(Litecoin, Mainnet)])
    );
    let e = err("MHrYRxAiMNBTku3eoDHwhA1LQGDjUStZW2", Litecoin, Testnet);
    assert!(
        matches!(&e, AddressError::WrongNetworkVersion { version: 50, found, .. }
        if found.0 == [(Litecoin, Mainnet)])
    );
    let e = err("QXaUgLHkZcbJb2j5XgMYzY8cF9YM48Y81Z", Bitcoin, Testnet);
    assert!(
        matches!(&e, AddressError::WrongNetworkVersion { version: 58, found, .. }
        if found.0 == [(Litecoin, Testnet), (Litecoin, Regtest)])
    );
    let e = err("mzK2FFDEhxqHcmrJw1ysqFkVyhUULo45hZ", Bitcoin, Mainnet);
    assert_eq!(
        e.to_string(),
        "this is a litecoin testnet, litecoin regtest, bitcoin testnet, bitcoin signet or \
         bitcoin regtest address (version byte 111), expected a bitcoin mainnet address"
    );
    // A test-network P2SH on mainnet.
    let e = err("2NC2hEhe28ULKAJkW5MjZ3jtTMJdvXmByvK", Litecoin, Mainnet);
    assert!(matches!(
        e,
        AddressError::WrongNetworkVersion { version: 196, .. }
    ));
}

#[test]
fn keys_pasted_instead_of_addresses() {
    for (wif, coin, network) in [
        (
            "T5MZ5z9WqJxzVxYyVPecTJUSDkzDWrUYe1JuSX2AqJ9jKmLJrvTE",
            Litecoin,
            Mainnet,
        ), // [ltc-core]
        (
            "6vqpCruyRS9bEY6ZVrL8S9EL5h2MnQZffzzqrpNP9i8YozvXTKs",
            Litecoin,
            Mainnet,
        ), // [ltc-core]
        (
            "cQaeKQwuakynYD9iebyxsKiBKF8RT3G6zoqRNUDybMsAimANRypo",
            Litecoin,
            Testnet,
        ), // [ltc-core]
        (
            "5JuW2AMDYu4xVwRG9DZW18VbzQrGcd5RCgb99sS6ehJsNQXu5b9",
            Bitcoin,
            Mainnet,
        ), // [core]
        (
            "L5nJeqKmpHp4P7F8ZYyjwc5a7P4d8EabuGAzfGJk7yC1BJyzNaEd",
            Bitcoin,
            Mainnet,
        ), // [core]
        (
            "cRez45VGSp5EXNqm89K3NJJPSKKapJg5Kbw3atxr2337x2gtgYed",
            Bitcoin,
            Regtest,
        ), // [core]
    ] {
        assert_eq!(err(wif, coin, network), AddressError::PrivateKey, "{wif}");
    }
    // BIP 32 test vector 1, master xpub.
    let xpub =
        "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGq\
                sefD265TMg7usUDFdp6W1EGMcet8";
    assert_eq!(err(xpub, Bitcoin, Mainnet), AddressError::ExtendedKey);
}

#[test]
fn bech32_of_another_coin_or_network_names_it() {
    let e = err(
        "bc1qvyq0cc6rahyvsazfdje0twl7ez82ndmuac2lhv",
        Litecoin,
        Mainnet,
    );
    assert_eq!(
        e.to_string(),
        "this is a bitcoin mainnet address (prefix `bc`), expected a litecoin mainnet address"
    );
    let e = err(
        "TB1QCRH3YQN4NLLEPLCEZ2YNDQ2RY8H9NCG3QH7N54",
        Bitcoin,
        Regtest,
    );
    assert_eq!(
        e,
        AddressError::WrongNetworkHrp {
            hrp: "tb".into(),
            found: ChainList(vec![(Bitcoin, Testnet), (Bitcoin, Signet)]),
            expected_coin: Bitcoin,
            expected_network: Regtest,
        }
    );
    let e = err(
        "ltc1qx88q7zjd74lxwgkjmmwlqv5pd3vujuehexfttt",
        Bitcoin,
        Mainnet,
    );
    assert!(
        matches!(&e, AddressError::WrongNetworkHrp { hrp, found, .. }
        if hrp == "ltc" && found.0 == [(Litecoin, Mainnet)])
    );
    let e = err(
        "tltc1qj08ys4ct2hzzc2hcz6h2hgrvlmsjynawvejepa",
        Litecoin,
        Regtest,
    );
    assert!(matches!(&e, AddressError::WrongNetworkHrp { hrp, .. } if hrp == "tltc"));
    let e = err(
        "rltc1qj08ys4ct2hzzc2hcz6h2hgrvlmsjynawf4nr3r",
        Litecoin,
        Mainnet,
    );
    assert!(matches!(&e, AddressError::WrongNetworkHrp { hrp, .. } if hrp == "rltc"));
    // [bip350] "Invalid human-readable part": a valid bech32m string with an unknown prefix.
    assert_eq!(
        err(
            "tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut",
            Bitcoin,
            Testnet
        ),
        AddressError::UnknownHrp { hrp: "tc".into() }
    );
}

#[test]
fn mweb_addresses_are_refused_by_name() {
    // A Litecoin MWEB stealth address found in public code (121 characters).
    let mweb =
        "ltcmweb1qq20e2arnhvxw97katjkmsd35agw3capxjkrkh7dk8d30rczm8ypxuq329nwh2twmchhqn3jqh7ua4\
                ps539f6aazh79jy76urqht4qa59ts3at6gf";
    assert_eq!(
        err(mweb, Litecoin, Mainnet),
        AddressError::MwebAddress {
            hrp: "ltcmweb".into()
        }
    );
    let e = err(mweb, Bitcoin, Mainnet);
    assert!(matches!(&e, AddressError::WrongNetworkHrp { found, .. }
        if found.0 == [(Litecoin, Mainnet)]));
}

/// The invalid segwit addresses of BIP 350, each with its own error.
#[test]
fn bip350_invalid_addresses() {
    use AddressError::*;
    #[rustfmt::skip]
    let cases: &[(&str, Network, AddressError)] = &[
        ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd", Mainnet, Bech32ForV1Plus(1)),
        ("tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf", Testnet, Bech32ForV1Plus(2)),
        ("BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL", Mainnet, Bech32ForV1Plus(16)),
        ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh", Mainnet, Bech32mForV0),
        ("tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47", Testnet, Bech32mForV0),
        ("bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4", Mainnet, InvalidBech32Character { ch: 'o', pos: 59 }),
        ("BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R", Mainnet, InvalidWitnessVersion(17)),
        ("bc1pw5dgrnzv", Mainnet, InvalidProgramLength { version: 1, len: 1, allowed: "programs are 2 to 40 bytes" }),
        ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav", Mainnet, InvalidProgramLength { version: 1, len: 41, allowed: "programs are 2 to 40 bytes" }),
        ("BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P", Mainnet, InvalidProgramLength { version: 0, len: 16, allowed: "version 0 programs are 20 or 32 bytes" }),
        ("tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq", Testnet, MixedCase),
        ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf", Mainnet, InvalidPadding),
        ("tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j", Testnet, InvalidPadding),
        ("bc1gmk9yu", Mainnet, MissingWitnessProgram),
    ];
    for (text, network, expected) in cases {
        assert_eq!(&err(text, Bitcoin, *network), expected, "{text}");
    }
}

#[test]
fn bech32_typing_errors() {
    // Last character changed.
    assert_eq!(
        err(
            "ltc1qx88q7zjd74lxwgkjmmwlqv5pd3vujuehexfttq",
            Litecoin,
            Mainnet
        ),
        AddressError::Bech32Checksum
    );
    // A character dropped from the middle.
    assert_eq!(
        err(
            "bc1qvyq0cc6rahyvsazfdje0twl7ez82dmuac2lhv",
            Bitcoin,
            Mainnet
        ),
        AddressError::Bech32Checksum
    );
    assert_eq!(
        err("bc1", Bitcoin, Mainnet),
        AddressError::MissingWitnessProgram
    );
    assert_eq!(
        err("bc1qqq", Bitcoin, Mainnet),
        AddressError::Bech32Checksum
    );
    assert_eq!(
        err("bc1qbbbbbbbbbbb", Bitcoin, Mainnet),
        AddressError::InvalidBech32Character { ch: 'b', pos: 4 }
    );
    assert_eq!(
        err(
            "Ltc1qx88q7zjd74lxwgkjmmwlqv5pd3vujuehexfttt",
            Litecoin,
            Mainnet
        ),
        AddressError::MixedCase
    );
}

/// Valid BIP 350 addresses of witness programs with no spending rules are refused: a payout to
/// one could be taken by anyone.
#[test]
fn future_witness_versions_are_refused() {
    for (text, version, len) in [
        (
            "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
            1,
            40,
        ), // [bip350]
        ("BC1SW50QGDZ25J", 16, 2),                       // [bip350]
        ("bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", 2, 16), // [bip350]
        ("bc1z2rksukkjr8", 2, 2),                        // [core]
    ] {
        assert_eq!(
            err(text, Bitcoin, Mainnet),
            AddressError::UnsupportedWitnessProgram { version, len },
            "{text}"
        );
    }
    assert_eq!(
        err("tb1rgv5m6uvdk3kc7qsuz0c79v88ycr5w4wa", Bitcoin, Testnet), // [core]
        AddressError::UnsupportedWitnessProgram {
            version: 3,
            len: 16
        }
    );
}

#[test]
fn litecoin_has_no_signet() {
    assert!(matches!(
        err(
            "tb1q3vya2h5435jkugq2few7dmktlrwq4ejmfaw7kr",
            Litecoin,
            Signet
        ),
        AddressError::UnsupportedNetwork(_)
    ));
}

fn every_chain() -> impl Strategy<Value = &'static ChainParams> {
    prop::sample::select(ChainParams::all().collect::<Vec<_>>())
}

/// The output scripts a payout address can stand for, from a hash or witness program.
fn standard_script() -> impl Strategy<Value = ScriptBuf> {
    prop_oneof![
        any::<[u8; 20]>()
            .prop_map(|h| ScriptBuf::new_p2pkh(&bitcoin::PubkeyHash::from_byte_array(h))),
        any::<[u8; 20]>()
            .prop_map(|h| ScriptBuf::new_p2sh(&bitcoin::ScriptHash::from_byte_array(h))),
        any::<[u8; 20]>()
            .prop_map(|h| ScriptBuf::new_p2wpkh(&bitcoin::WPubkeyHash::from_byte_array(h))),
        any::<[u8; 32]>()
            .prop_map(|h| ScriptBuf::new_p2wsh(&bitcoin::WScriptHash::from_byte_array(h))),
        any::<[u8; 32]>().prop_map(|k| {
            let program = bitcoin::WitnessProgram::new(bitcoin::WitnessVersion::V1, &k).unwrap();
            ScriptBuf::new_witness_program(&program)
        }),
    ]
}

fn bitcoin_network(network: Network) -> bitcoin::Network {
    match network {
        Mainnet => bitcoin::Network::Bitcoin,
        Testnet => bitcoin::Network::Testnet,
        Signet => bitcoin::Network::Signet,
        Regtest => bitcoin::Network::Regtest,
    }
}

proptest! {
    /// Any 20- or 32-byte program, written as an address and read back, gives the same script
    /// on every coin and network; on Bitcoin the text is what rust-bitcoin writes too.
    #[test]
    fn every_standard_script_round_trips(params in every_chain(), spk in standard_script()) {
        let text = PayoutAddress::from_script(&spk, params.coin, params.network).unwrap();
        let addr = PayoutAddress::parse(&text, params.coin, params.network).unwrap();
        prop_assert_eq!(addr.script_pubkey(), spk.as_script());
        prop_assert_eq!(addr.as_str(), text.as_str());
        if params.coin == Bitcoin {
            let theirs = bitcoin::Address::from_script(&spk, bitcoin_network(params.network)).unwrap();
            prop_assert_eq!(theirs.to_string(), text);
        }
    }

    /// Parsing never panics, whatever the input.
    #[test]
    fn any_text_is_answered(s in ".{0,140}", params in every_chain()) {
        let _ = PayoutAddress::parse(&s, params.coin, params.network);
    }

    /// Strings made of address characters, which get further into the decoders, never panic
    /// either; and whatever parses writes back to the same script.
    #[test]
    fn address_like_text_is_answered(
        prefix in prop::sample::select(vec!["", "ltc1", "tltc1", "rltc1", "bc1", "tb1", "bcrt1", "BC1", "ltcmweb1", "L", "M", "3", "2", "m"]),
        body in "[a-zA-Z0-9]{0,100}",
        params in every_chain(),
    ) {
        let s = format!("{prefix}{body}");
        if let Ok(addr) = PayoutAddress::parse(&s, params.coin, params.network) {
            let text = PayoutAddress::from_script(addr.script_pubkey(), params.coin, params.network).unwrap();
            let again = PayoutAddress::parse(&text, params.coin, params.network).unwrap();
            prop_assert_eq!(again.script_pubkey(), addr.script_pubkey());
        }
    }
}
