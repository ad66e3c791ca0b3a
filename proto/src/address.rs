//! Payout addresses: the text a miner gives as its stratum user name, turned into the output script
//! its share of every block pays, and back.
//!
//! [`PayoutAddress::parse`] reads every standard form for the chosen coin and network — base58check
//! P2PKH and P2SH with the network's version bytes, bech32 segwit v0 (P2WPKH, P2WSH) and bech32m v1
//! (taproot) with the network's prefix — and refuses everything else with an [`AddressError`] that
//! names the problem: a mistyped checksum, an address of another coin or network, a private key
//! pasted by mistake. [`PayoutAddress::from_script`] writes a standard script back as an address, so
//! the API can show payees the way their wallets do.
//!
//! Witness versions 2 to 16, and version 1 programs that are not 32 bytes, are valid BIP 350
//! addresses but are refused here: no soft fork gives them spending rules yet, so an output paying
//! one can be taken by anyone, and a miner's payout must never be.

use std::fmt;

use bitcoin::base58;
use bitcoin::bech32::primitives::decode::{CheckedHrpstring, UncheckedHrpstring};
use bitcoin::bech32::{segwit, Bech32, Bech32m, Fe32, Hrp};
use bitcoin::hashes::Hash;
use bitcoin::{PubkeyHash, Script, ScriptBuf, ScriptHash, WitnessProgram, WitnessVersion};

use crate::chain::{ChainParams, Coin, Network, UnsupportedNetwork};

/// The longest address accepted, in bytes: the segwit limit of BIP 173.
pub const MAX_ADDRESS_LEN: usize = 90;

/// The longest input looked at, in bytes; longer input is refused before any decoding, so a
/// hostile user name costs nothing. It leaves room to recognise the longer things miners paste
/// by mistake — extended keys (111 characters) and MWEB addresses (about 120) — and refuse them
/// by name.
const MAX_INPUT_LEN: usize = 128;

/// A base58check payload of a P2PKH or P2SH address: one version byte and a 20-byte hash.
const BASE58_PAYLOAD_LEN: usize = 21;

/// The kind of output script an address pays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddressKind {
    /// Pay to public key hash (base58, `1…`, `L…`, `m…`/`n…`).
    P2pkh,
    /// Pay to script hash (base58, `3…`, `M…`, `2…`, `Q…`).
    P2sh,
    /// Segwit v0 pay to witness public key hash (bech32, 20-byte program).
    P2wpkh,
    /// Segwit v0 pay to witness script hash (bech32, 32-byte program).
    P2wsh,
    /// Segwit v1 pay to taproot (bech32m, 32-byte program).
    P2tr,
}

impl AddressKind {
    /// The lower-case name of the kind.
    pub fn name(self) -> &'static str {
        match self {
            AddressKind::P2pkh => "p2pkh",
            AddressKind::P2sh => "p2sh",
            AddressKind::P2wpkh => "p2wpkh",
            AddressKind::P2wsh => "p2wsh",
            AddressKind::P2tr => "p2tr",
        }
    }
}

impl fmt::Display for AddressKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A list of (coin, network) pairs that an address prefix belongs to, for error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainList(pub Vec<(Coin, Network)>);

impl ChainList {
    fn matching(pred: impl Fn(&ChainParams) -> bool) -> ChainList {
        ChainList(
            ChainParams::all()
                .filter(|p| pred(p))
                .map(|p| (p.coin, p.network))
                .collect(),
        )
    }
}

impl fmt::Display for ChainList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        for (i, (coin, network)) in self.0.iter().enumerate() {
            let sep = match i {
                0 => "",
                _ if i + 1 == n => " or ",
                _ => ", ",
            };
            write!(f, "{sep}{coin} {network}")?;
        }
        Ok(())
    }
}

/// Why a string is not a payout address for the expected coin and network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddressError {
    /// The expected coin has no such network.
    #[error(transparent)]
    UnsupportedNetwork(#[from] UnsupportedNetwork),
    /// Nothing was given.
    #[error("the address is empty")]
    Empty,
    /// Longer than any address.
    #[error("the address is {len} bytes long; no address is longer than {max}")]
    TooLong {
        /// The length given, in bytes.
        len: usize,
        /// [`MAX_ADDRESS_LEN`].
        max: usize,
    },
    /// A character that appears in no address form (whitespace, punctuation, non-ASCII).
    #[error("character {ch:?} at position {pos} cannot appear in an address")]
    InvalidCharacter {
        /// The character.
        ch: char,
        /// Its byte offset in the input.
        pos: usize,
    },
    /// Neither a base58 string nor a bech32 string with a known prefix.
    #[error("not a base58 or bech32 address")]
    UnknownForm,
    /// A base58 string whose checksum does not match: most likely a typing error.
    #[error("bad base58 checksum: the address was mistyped or cut short")]
    Base58Checksum,
    /// A base58check payload of a length no address has.
    #[error("base58 payload is {len} bytes, an address has {BASE58_PAYLOAD_LEN}")]
    Base58PayloadLength {
        /// The decoded length, version byte included.
        len: usize,
    },
    /// A base58 version byte that belongs to another coin or network.
    #[error(
        "this is a {found} address (version byte {version}), expected a {expected_coin} \
         {expected_network} address"
    )]
    WrongNetworkVersion {
        /// The version byte found.
        version: u8,
        /// Where that version byte is used.
        found: ChainList,
        /// The coin asked for.
        expected_coin: Coin,
        /// The network asked for.
        expected_network: Network,
    },
    /// A base58 version byte that no supported coin uses for addresses.
    #[error("base58 version byte {version} is not an address prefix of any supported coin")]
    UnknownVersion {
        /// The version byte found.
        version: u8,
    },
    /// A private key in wallet import format: the miner pasted a secret instead of an address.
    #[error(
        "this is a private key (WIF), not an address: never share it; give an address instead"
    )]
    PrivateKey,
    /// A BIP 32 extended key (xpub, xprv and kin) rather than an address.
    #[error("this is an extended key (xpub/xprv), not an address")]
    ExtendedKey,
    /// A bech32 string whose prefix belongs to another coin or network.
    #[error(
        "this is a {found} address (prefix `{hrp}`), expected a {expected_coin} {expected_network} \
         address"
    )]
    WrongNetworkHrp {
        /// The human-readable part found, lower case.
        hrp: String,
        /// Where that prefix is used.
        found: ChainList,
        /// The coin asked for.
        expected_coin: Coin,
        /// The network asked for.
        expected_network: Network,
    },
    /// A checksummed bech32 string whose prefix is no supported coin's.
    #[error("bech32 prefix `{hrp}` is not used by any supported coin")]
    UnknownHrp {
        /// The human-readable part found, lower case.
        hrp: String,
    },
    /// A Litecoin MWEB stealth address, which a coinbase cannot pay.
    #[error("MWEB addresses (`{hrp}1…`) cannot receive coinbase payouts; give an ltc1… address")]
    MwebAddress {
        /// The human-readable part found, lower case.
        hrp: String,
    },
    /// Upper and lower case mixed in a bech32 address (BIP 173 forbids it).
    #[error("bech32 address mixes upper and lower case")]
    MixedCase,
    /// A bech32 string with a character outside the bech32 alphabet.
    #[error("character {ch:?} at position {pos} is not in the bech32 alphabet")]
    InvalidBech32Character {
        /// The character.
        ch: char,
        /// Its byte offset in the input.
        pos: usize,
    },
    /// A bech32 string whose checksum is neither bech32 nor bech32m: most likely a typing error.
    #[error("bad bech32 checksum: the address was mistyped or cut short")]
    Bech32Checksum,
    /// A bech32 string with no witness version or program after the prefix.
    #[error("bech32 address has no witness program")]
    MissingWitnessProgram,
    /// A witness version above 16.
    #[error("witness version {0} does not exist (versions are 0 to 16)")]
    InvalidWitnessVersion(u8),
    /// A version 1+ program with a bech32 checksum (BIP 350 requires bech32m).
    #[error("witness version {0} address uses a bech32 checksum; BIP 350 requires bech32m")]
    Bech32ForV1Plus(u8),
    /// A version 0 program with a bech32m checksum (BIP 350 requires bech32).
    #[error("witness version 0 address uses a bech32m checksum; it must use bech32")]
    Bech32mForV0,
    /// Leftover bits after the witness program that are too many or not zero.
    #[error("bech32 address has invalid padding bits")]
    InvalidPadding,
    /// A witness program of a length its version does not allow.
    #[error("witness version {version} program of {len} bytes is invalid ({allowed})")]
    InvalidProgramLength {
        /// The witness version.
        version: u8,
        /// The program length, in bytes.
        len: usize,
        /// What the version allows.
        allowed: &'static str,
    },
    /// A valid BIP 350 address of a witness program no soft fork has given meaning to yet: an
    /// output paying it could be spent by anyone.
    #[error(
        "witness version {version} program of {len} bytes has no spending rules yet (anyone could \
         take the payout); use a P2WPKH, P2WSH or taproot address"
    )]
    UnsupportedWitnessProgram {
        /// The witness version.
        version: u8,
        /// The program length, in bytes.
        len: usize,
    },
}

/// A checked payout address: the miner's text and the output script it stands for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PayoutAddress {
    /// The address as given, so that it is shown back exactly as the miner wrote it.
    text: String,
    script: ScriptBuf,
    kind: AddressKind,
    coin: Coin,
    network: Network,
}

impl PayoutAddress {
    /// Parses `s` as an address of `coin` on `network`.
    ///
    /// Accepts base58check P2PKH and P2SH (on Litecoin also the legacy P2SH version byte, as
    /// Litecoin Core does), bech32 segwit v0 with a 20- or 32-byte program and bech32m taproot,
    /// in either all lower or all upper case. Leading or trailing whitespace is an error, not
    /// trimmed.
    pub fn parse(s: &str, coin: Coin, network: Network) -> Result<PayoutAddress, AddressError> {
        let params = coin.params(network)?;
        if s.is_empty() {
            return Err(AddressError::Empty);
        }
        if s.len() > MAX_INPUT_LEN {
            return Err(AddressError::TooLong {
                len: s.len(),
                max: MAX_ADDRESS_LEN,
            });
        }
        if let Some((pos, ch)) = s.char_indices().find(|(_, c)| !c.is_ascii_alphanumeric()) {
            return Err(AddressError::InvalidCharacter { ch, pos });
        }
        let (script, kind) = if let Some(hrp) = known_hrp(s) {
            parse_segwit(s, &hrp, params)?
        } else if s.bytes().all(is_base58_char) {
            parse_base58(s, params)?
        } else {
            return Err(unknown_form(s));
        };
        Ok(PayoutAddress {
            text: s.to_owned(),
            script,
            kind,
            coin,
            network,
        })
    }

    /// Writes the standard address of `script` on `coin`'s `network`: base58 for P2PKH and P2SH
    /// (Litecoin's current P2SH prefix, `M…`/`Q…`), lower-case bech32 for segwit v0 and bech32m
    /// for taproot. Returns `None` for any other script, or a network the coin does not have.
    pub fn from_script(script: &Script, coin: Coin, network: Network) -> Option<String> {
        let params = coin.params(network).ok()?;
        let bytes = script.as_bytes();
        if script.is_p2pkh() {
            Some(base58_address(params.p2pkh_version, &bytes[3..23]))
        } else if script.is_p2sh() {
            Some(base58_address(params.p2sh_version, &bytes[2..22]))
        } else if script.is_p2wpkh() || script.is_p2wsh() || script.is_p2tr() {
            let version = if script.is_p2tr() {
                segwit::VERSION_1
            } else {
                segwit::VERSION_0
            };
            let hrp = Hrp::parse(params.bech32_hrp).expect("HRPs in the chain table are valid");
            let text = segwit::encode(hrp, version, &bytes[2..])
                .expect("a standard witness program fits a segwit address");
            Some(text)
        } else {
            None
        }
    }

    /// The output script the address pays.
    pub fn script_pubkey(&self) -> &Script {
        &self.script
    }

    /// The output script, taking it out of the address.
    pub fn into_script_pubkey(self) -> ScriptBuf {
        self.script
    }

    /// The address exactly as it was given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The kind of output script.
    pub fn kind(&self) -> AddressKind {
        self.kind
    }

    /// The coin the address was checked for.
    pub fn coin(&self) -> Coin {
        self.coin
    }

    /// The network the address was checked for.
    pub fn network(&self) -> Network {
        self.network
    }
}

impl fmt::Display for PayoutAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl AsRef<str> for PayoutAddress {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

fn base58_address(version: u8, hash: &[u8]) -> String {
    let mut payload = Vec::with_capacity(BASE58_PAYLOAD_LEN);
    payload.push(version);
    payload.extend_from_slice(hash);
    base58::encode_check(&payload)
}

fn is_base58_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() && !matches!(b, b'0' | b'O' | b'I' | b'l')
}

/// Every bech32 prefix some supported network uses, segwit or MWEB.
fn all_hrps() -> impl Iterator<Item = &'static str> {
    ChainParams::all().flat_map(|p| std::iter::once(p.bech32_hrp).chain(p.mweb_hrp))
}

/// The lower-cased human-readable part of `s` if it is one a supported network uses. The
/// separator is the last `1`, as in BIP 173 (the data alphabet has no `1`).
fn known_hrp(s: &str) -> Option<String> {
    let sep = s.rfind('1')?;
    let hrp = s[..sep].to_ascii_lowercase();
    all_hrps().any(|h| h == hrp).then_some(hrp)
}

/// Explains a string that is neither base58 nor a bech32 string with a known prefix.
fn unknown_form(s: &str) -> AddressError {
    if let Ok(unchecked) = UncheckedHrpstring::new(s) {
        if unchecked.has_valid_checksum::<Bech32>() || unchecked.has_valid_checksum::<Bech32m>() {
            return AddressError::UnknownHrp {
                hrp: unchecked.hrp().to_lowercase(),
            };
        }
    }
    AddressError::UnknownForm
}

fn parse_base58(s: &str, params: &ChainParams) -> Result<(ScriptBuf, AddressKind), AddressError> {
    let payload = base58::decode_check(s).map_err(|e| match e {
        base58::Error::IncorrectChecksum(_) => AddressError::Base58Checksum,
        // Fewer than four bytes cannot even hold a checksum.
        base58::Error::TooShort(_) => AddressError::Base58PayloadLength { len: 0 },
        _ => AddressError::UnknownForm,
    })?;
    let len = payload.len();
    let version = payload[0];
    if len != BASE58_PAYLOAD_LEN {
        return Err(match len {
            // Wallet import format: version, 32-byte secret, and a 0x01 flag if compressed.
            33 | 34 if matches!(version, 128 | 176 | 239) => AddressError::PrivateKey,
            // BIP 32: version, depth, parent fingerprint, child number, chain code, key.
            78 => AddressError::ExtendedKey,
            _ => AddressError::Base58PayloadLength { len },
        });
    }
    let hash: [u8; 20] = payload[1..]
        .try_into()
        .expect("a 21-byte payload holds a 20-byte hash");
    if version == params.p2pkh_version {
        let hash = PubkeyHash::from_byte_array(hash);
        Ok((ScriptBuf::new_p2pkh(&hash), AddressKind::P2pkh))
    } else if params.accepts_p2sh_version(version) {
        let hash = ScriptHash::from_byte_array(hash);
        Ok((ScriptBuf::new_p2sh(&hash), AddressKind::P2sh))
    } else {
        let found =
            ChainList::matching(|p| p.p2pkh_version == version || p.accepts_p2sh_version(version));
        if found.0.is_empty() {
            Err(AddressError::UnknownVersion { version })
        } else {
            Err(AddressError::WrongNetworkVersion {
                version,
                found,
                expected_coin: params.coin,
                expected_network: params.network,
            })
        }
    }
}

fn parse_segwit(
    s: &str,
    hrp: &str,
    params: &ChainParams,
) -> Result<(ScriptBuf, AddressKind), AddressError> {
    if s.bytes().any(|b| b.is_ascii_lowercase()) && s.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(AddressError::MixedCase);
    }
    if hrp != params.bech32_hrp {
        return Err(wrong_hrp(hrp, params));
    }
    if s.len() > MAX_ADDRESS_LEN {
        return Err(AddressError::TooLong {
            len: s.len(),
            max: MAX_ADDRESS_LEN,
        });
    }
    let start = hrp.len() + 1;
    if s.len() == start {
        return Err(AddressError::MissingWitnessProgram);
    }
    let unchecked = UncheckedHrpstring::new(s).map_err(|_| {
        // The prefix is known and the case consistent, so the fault is in the data part.
        match s[start..]
            .char_indices()
            .find(|(_, c)| Fe32::from_char(*c).is_err())
        {
            Some((i, ch)) => AddressError::InvalidBech32Character { ch, pos: start + i },
            None => AddressError::UnknownForm,
        }
    })?;
    let is_bech32 = unchecked.has_valid_checksum::<Bech32>();
    let mut checked: CheckedHrpstring<'_> = if is_bech32 {
        unchecked.remove_checksum::<Bech32>()
    } else if unchecked.has_valid_checksum::<Bech32m>() {
        unchecked.remove_checksum::<Bech32m>()
    } else {
        return Err(AddressError::Bech32Checksum);
    };
    let version = checked
        .remove_witness_version()
        .ok_or_else(|| match checked.data_part_ascii_no_checksum().first() {
            None => AddressError::MissingWitnessProgram,
            Some(&c) => AddressError::InvalidWitnessVersion(
                Fe32::from_char(c.into()).map_or(u8::MAX, Fe32::to_u8),
            ),
        })?
        .to_u8();
    match (version, is_bech32) {
        (0, false) => return Err(AddressError::Bech32mForV0),
        (1.., true) => return Err(AddressError::Bech32ForV1Plus(version)),
        _ => {}
    }
    checked
        .validate_segwit_padding()
        .map_err(|_| AddressError::InvalidPadding)?;
    let program: Vec<u8> = checked.byte_iter().collect();
    let len = program.len();
    let kind = match (version, len) {
        (0, 20) => AddressKind::P2wpkh,
        (0, 32) => AddressKind::P2wsh,
        (0, _) => {
            return Err(AddressError::InvalidProgramLength {
                version,
                len,
                allowed: "version 0 programs are 20 or 32 bytes",
            })
        }
        (_, 0..=1 | 41..) => {
            return Err(AddressError::InvalidProgramLength {
                version,
                len,
                allowed: "programs are 2 to 40 bytes",
            })
        }
        (1, 32) => AddressKind::P2tr,
        _ => return Err(AddressError::UnsupportedWitnessProgram { version, len }),
    };
    let witness_version = WitnessVersion::try_from(version).expect("version checked to be 0 or 1");
    let program = WitnessProgram::new(witness_version, &program)
        .expect("program length checked for its version");
    Ok((ScriptBuf::new_witness_program(&program), kind))
}

/// The error for a known prefix that is not the expected network's.
fn wrong_hrp(hrp: &str, params: &ChainParams) -> AddressError {
    let mweb = ChainList::matching(|p| p.mweb_hrp == Some(hrp));
    if !mweb.0.is_empty() && params.coin == Coin::Litecoin {
        return AddressError::MwebAddress {
            hrp: hrp.to_owned(),
        };
    }
    let segwit = ChainList::matching(|p| p.bech32_hrp == hrp);
    AddressError::WrongNetworkHrp {
        hrp: hrp.to_owned(),
        found: if segwit.0.is_empty() { mweb } else { segwit },
        expected_coin: params.coin,
        expected_network: params.network,
    }
}
