//! What a node keeps about the network in its data directory: its identity (an ed25519 key) and
//! the peers it has met, so that a restart finds the pool again without a bootstrap address.

use anyhow::{bail, Context, Result};
use libp2p::identity::Keypair;
use libp2p::{Multiaddr, PeerId};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file of the node's key, under the data directory's `p2p/`.
const KEY_FILE: &str = "identity.key";
/// The file of remembered peers, under the data directory's `p2p/`.
const PEERS_FILE: &str = "peers.json";
/// The most peers remembered.
pub const MAX_REMEMBERED: usize = 256;
/// The most addresses remembered per peer.
const MAX_ADDRS: usize = 8;

/// Loads the node's key from `dir`, or makes one and writes it (mode 0600) if there is none.
pub fn load_or_create_keypair(dir: &Path) -> Result<Keypair> {
    let path = dir.join(KEY_FILE);
    match fs::read(&path) {
        Ok(bytes) => Keypair::from_protobuf_encoding(&bytes).with_context(|| {
            format!(
                "{} is not a libp2p key; move it away to make a new identity",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = Keypair::generate_ed25519();
            let bytes = key
                .to_protobuf_encoding()
                .context("cannot encode the new key")?;
            write_atomically(&path, &bytes, true)?;
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename, so a crash leaves the old
/// file or the new one, never half of one.
fn write_atomically(path: &Path, bytes: &[u8], private: bool) -> Result<()> {
    let dir = path.parent().context("a file path has a parent")?;
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = path.with_extension("tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

/// One remembered peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownPeer {
    /// Its id.
    pub peer_id: String,
    /// Addresses it was reached at or announced, newest first.
    pub addrs: Vec<String>,
    /// When it was last connected (Unix seconds).
    pub last_seen: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct PeersFile {
    peers: Vec<KnownPeer>,
}

/// The peers a node remembers across restarts.
#[derive(Debug)]
pub struct PeerBook {
    path: PathBuf,
    peers: HashMap<PeerId, (Vec<Multiaddr>, u64)>,
    dirty: bool,
}

impl PeerBook {
    /// Loads the book of `dir`; a missing file is an empty book, an unreadable one is an error
    /// (a damaged file is renamed aside so the node can start).
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(PEERS_FILE);
        let mut book = PeerBook {
            path: path.clone(),
            peers: HashMap::new(),
            dirty: false,
        };
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(book),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let file: PeersFile = match serde_json::from_str(&text) {
            Ok(file) => file,
            Err(e) => {
                let aside = path.with_extension("json.damaged");
                tracing::warn!(file = %path.display(), error = %e, "remembered peers unreadable; starting without them");
                let _ = fs::rename(&path, &aside);
                return Ok(book);
            }
        };
        for peer in file.peers {
            let Ok(id) = peer.peer_id.parse::<PeerId>() else {
                continue;
            };
            let addrs: Vec<Multiaddr> = peer
                .addrs
                .iter()
                .filter_map(|a| a.parse().ok())
                .take(MAX_ADDRS)
                .collect();
            if !addrs.is_empty() && book.peers.len() < MAX_REMEMBERED {
                book.peers.insert(id, (addrs, peer.last_seen));
            }
        }
        Ok(book)
    }

    /// The remembered peers, most recently seen first.
    pub fn peers(&self) -> Vec<(PeerId, Vec<Multiaddr>)> {
        let mut peers: Vec<_> = self.peers.iter().collect();
        peers.sort_by(|a, b| b.1 .1.cmp(&a.1 .1).then(a.0.cmp(b.0)));
        peers
            .into_iter()
            .map(|(id, (addrs, _))| (*id, addrs.clone()))
            .collect()
    }

    /// Whether no peer is remembered.
    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }

    /// Records that `peer` was seen now at `addr`.
    pub fn seen(&mut self, peer: PeerId, addr: Multiaddr, now: u64) {
        let entry = self.peers.entry(peer).or_insert_with(|| (Vec::new(), now));
        entry.0.retain(|a| a != &addr);
        entry.0.insert(0, addr);
        entry.0.truncate(MAX_ADDRS);
        entry.1 = now;
        self.dirty = true;
        if self.peers.len() > MAX_REMEMBERED {
            if let Some(oldest) = self
                .peers
                .iter()
                .min_by_key(|(id, (_, seen))| (*seen, **id))
                .map(|(id, _)| *id)
            {
                self.peers.remove(&oldest);
            }
        }
    }

    /// Forgets `peer` (it was banned).
    pub fn forget(&mut self, peer: &PeerId) {
        self.dirty |= self.peers.remove(peer).is_some();
    }

    /// Writes the book if it changed.
    pub fn save(&mut self) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let file = PeersFile {
            peers: self
                .peers()
                .into_iter()
                .map(|(id, addrs)| KnownPeer {
                    peer_id: id.to_string(),
                    addrs: addrs.iter().map(ToString::to_string).collect(),
                    last_seen: self.peers.get(&id).map_or(0, |p| p.1),
                })
                .collect(),
        };
        let text = serde_json::to_string_pretty(&file).context("cannot encode peers")?;
        write_atomically(&self.path, text.as_bytes(), false)?;
        self.dirty = false;
        Ok(())
    }
}

/// Splits a bootstrap address into the peer id its `/p2p/` part names (if any) and the rest.
pub fn split_peer_addr(addr: &Multiaddr) -> (Option<PeerId>, Multiaddr) {
    let mut rest = addr.clone();
    match rest.pop() {
        Some(libp2p::multiaddr::Protocol::P2p(id)) => (Some(id), rest),
        Some(other) => {
            rest.push(other);
            (None, rest)
        }
        None => (None, rest),
    }
}

/// Parses a bootstrap address given in the configuration.
pub fn parse_bootstrap(text: &str) -> Result<Multiaddr> {
    let addr: Multiaddr = text
        .parse()
        .with_context(|| format!("bootstrap address {text:?} is not a multiaddr"))?;
    if addr.is_empty() {
        bail!("bootstrap address {text:?} is empty");
    }
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create_keypair(dir.path()).unwrap();
        let b = load_or_create_keypair(dir.path()).unwrap();
        assert_eq!(a.public().to_peer_id(), b.public().to_peer_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        fs::write(dir.path().join(KEY_FILE), b"garbage").unwrap();
        let err = load_or_create_keypair(dir.path()).unwrap_err();
        assert!(format!("{err:#}").contains("not a libp2p key"), "{err:#}");
    }

    #[test]
    fn peers_are_remembered_newest_first_and_damage_is_survived() {
        let dir = tempfile::tempdir().unwrap();
        let mut book = PeerBook::load(dir.path()).unwrap();
        assert!(book.is_empty());
        let (p1, p2) = (PeerId::random(), PeerId::random());
        let addr: Multiaddr = "/ip4/127.0.0.1/tcp/4001".parse().unwrap();
        book.seen(p1, addr.clone(), 10);
        book.seen(p2, addr.clone(), 20);
        book.save().unwrap();
        let again = PeerBook::load(dir.path()).unwrap();
        assert_eq!(
            again.peers().iter().map(|p| p.0).collect::<Vec<_>>(),
            vec![p2, p1]
        );
        fs::write(dir.path().join(PEERS_FILE), "{not json").unwrap();
        assert!(PeerBook::load(dir.path()).unwrap().is_empty());
        assert!(dir.path().join("peers.json.damaged").exists());
    }

    #[test]
    fn bootstrap_addresses_split_off_their_peer_id() {
        let id = PeerId::random();
        let addr = parse_bootstrap(&format!("/ip4/127.0.0.1/tcp/9328/p2p/{id}")).unwrap();
        let (peer, rest) = split_peer_addr(&addr);
        assert_eq!(peer, Some(id));
        assert_eq!(rest.to_string(), "/ip4/127.0.0.1/tcp/9328");
        assert!(parse_bootstrap("not an address").is_err());
    }
}
