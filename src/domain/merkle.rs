//! The audit log's cryptography, with no database in it (docs/architecture.md,
//! "The audit log"): the keys, the unambiguous encoding of an entry, its MAC,
//! RFC 9162 leaf and node hashing, the tree's right edge, and signed
//! checkpoints.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, SecondsFormat, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

pub use super::privacy::hex;

pub type Hash = [u8; 32];

type HmacSha256 = Hmac<Sha256>;

/// The first line of every checkpoint note: what the signature is for.
pub const CHECKPOINT_HEADER: &str = "duban audit checkpoint v1";

/// The audit signing key and what is derived from it. Neither half is ever
/// stored in the database: whoever can write the database cannot forge an
/// entry's MAC or a checkpoint's signature.
#[derive(Clone)]
pub struct AuditKeys {
    signing: SigningKey,
    mac_key: [u8; 32],
    key_id: String,
}

impl std::fmt::Debug for AuditKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditKeys({})", self.key_id)
    }
}

impl AuditKeys {
    /// From the 32-byte seed of `DUBAN_AUDIT_SIGNING_KEY`.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let signing = SigningKey::from_bytes(seed);
        let mut mac = <HmacSha256 as Mac>::new_from_slice(seed).expect("any key length");
        mac.update(b"duban audit log entry mac");
        let mac_key: [u8; 32] = mac.finalize().into_bytes().into();
        let key_id = key_id_of(&signing.verifying_key());
        Self {
            signing,
            mac_key,
            key_id,
        }
    }

    /// The public key's name: the first 8 bytes of its SHA-256, in hex.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The public key, base64, for auditors who check signatures themselves.
    pub fn public_key_b64(&self) -> String {
        B64.encode(self.signing.verifying_key().as_bytes())
    }

    pub fn mac(&self, bytes: &[u8]) -> Hash {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.mac_key).expect("any key length");
        mac.update(bytes);
        mac.finalize().into_bytes().into()
    }

    /// Whether `tag` is the MAC of `bytes` (compared in constant time).
    pub fn mac_matches(&self, bytes: &[u8], tag: &str) -> bool {
        let Some(tag) = from_hex(tag) else {
            return false;
        };
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.mac_key).expect("any key length");
        mac.update(bytes);
        mac.verify_slice(&tag).is_ok()
    }

    /// Signs a tree head.
    pub fn sign(&self, head: &TreeHead) -> String {
        B64.encode(self.signing.sign(head.note().as_bytes()).to_bytes())
    }

    /// Whether `signature` (base64) is this key's signature of `head`.
    pub fn signature_valid(&self, head: &TreeHead, signature: &str) -> bool {
        let Ok(bytes) = B64.decode(signature.trim()) else {
            return false;
        };
        let Ok(sig) = Signature::from_slice(&bytes) else {
            return false;
        };
        self.signing
            .verifying_key()
            .verify(head.note().as_bytes(), &sig)
            .is_ok()
    }
}

fn key_id_of(key: &VerifyingKey) -> String {
    hex(&Sha256::digest(key.as_bytes())[..8])
}

pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

pub fn hash_from_hex(text: &str) -> Option<Hash> {
    from_hex(text)?.try_into().ok()
}

/// An entry's fields in an encoding no two different entries share: each
/// field is its length (4 bytes, big-endian) and its bytes; an absent field
/// is the length `0xFFFFFFFF` alone.
#[derive(Default)]
pub struct Canonical(Vec<u8>);

impl Canonical {
    pub fn new(kind: &str) -> Self {
        let mut c = Self(Vec::with_capacity(256));
        c.text(kind);
        c
    }

    pub fn text(&mut self, s: &str) -> &mut Self {
        self.bytes(s.as_bytes())
    }

    pub fn opt_text(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => self.text(s),
            None => {
                self.0.extend_from_slice(&u32::MAX.to_be_bytes());
                self
            }
        }
    }

    pub fn int(&mut self, n: i64) -> &mut Self {
        self.text(&n.to_string())
    }

    pub fn opt_int(&mut self, n: Option<i64>) -> &mut Self {
        self.opt_text(n.map(|n| n.to_string()).as_deref())
    }

    pub fn time(&mut self, t: chrono::NaiveDateTime) -> &mut Self {
        self.text(&t.and_utc().to_rfc3339_opts(SecondsFormat::Micros, true))
    }

    pub fn opt_time(&mut self, t: Option<chrono::NaiveDateTime>) -> &mut Self {
        match t {
            Some(t) => self.time(t),
            None => self.opt_text(None),
        }
    }

    fn bytes(&mut self, b: &[u8]) -> &mut Self {
        let len = u32::try_from(b.len()).expect("an entry field is under 4 GiB");
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0.extend_from_slice(b);
        self
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// SHA-256 of the encoding, hex: the digest of a record's state.
    pub fn digest(&self) -> String {
        hex(&Sha256::digest(&self.0))
    }
}

/// RFC 9162 §2.1.1: the hash of a leaf, over the entry and its MAC.
pub fn leaf_hash(entry: &[u8], mac: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry);
    h.update(mac);
    h.finalize().into()
}

/// RFC 9162 §2.1.1: the hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The right edge of the tree: the roots of the perfect subtrees that make
/// up a tree of `size` leaves, largest first (one per set bit of `size`).
/// Appending a leaf touches O(log n) of them; the root folds them from the
/// right, which is RFC 9162's tree hash for any size.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    nodes: Vec<Hash>,
}

impl Frontier {
    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn push(&mut self, leaf: Hash) {
        let mut node = leaf;
        // A subtree closes for every trailing one bit of the old size.
        let mut size = self.size;
        while size & 1 == 1 {
            let left = self.nodes.pop().expect("one node per set bit");
            node = node_hash(&left, &node);
            size >>= 1;
        }
        self.nodes.push(node);
        self.size += 1;
    }

    /// RFC 9162's tree hash; the empty tree's is SHA-256 of nothing.
    pub fn root(&self) -> Hash {
        let mut nodes = self.nodes.iter().rev();
        let Some(last) = nodes.next() else {
            return Sha256::digest([]).into();
        };
        nodes.fold(*last, |acc, left| node_hash(left, &acc))
    }

    /// The stored form: hex roots joined by ','.
    pub fn encode(&self) -> String {
        self.nodes
            .iter()
            .map(|n| hex(n))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Reads the stored form back; `None` when it cannot be a right edge of
    /// `size` leaves.
    pub fn decode(size: u64, text: &str) -> Option<Self> {
        let nodes: Vec<Hash> = if text.is_empty() {
            Vec::new()
        } else {
            text.split(',').map(hash_from_hex).collect::<Option<_>>()?
        };
        (nodes.len() == size.count_ones() as usize).then_some(Self { size, nodes })
    }
}

/// A tree head: what a checkpoint signs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeHead {
    /// Entries in the log when it was signed.
    pub tree_size: i64,
    /// The RFC 9162 tree hash of those entries, hex.
    pub root_hash: String,
    pub signed_at: DateTime<Utc>,
}

impl TreeHead {
    /// The signed text: a header, the size, the root and the time, a line each.
    pub fn note(&self) -> String {
        format!(
            "{CHECKPOINT_HEADER}\n{}\n{}\n{}\n",
            self.tree_size,
            self.root_hash,
            self.signed_at.to_rfc3339_opts(SecondsFormat::Micros, true)
        )
    }
}

/// What the MAC sealing the stored tree head covers: size, root and right edge.
pub fn tree_state(size: i64, root: &str, frontier: &str) -> Canonical {
    let mut c = Canonical::new("tree_state");
    c.int(size).text(root).text(frontier);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9162 §2.1.1 by its definition, recursively, to check the right edge.
    fn reference_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => Sha256::digest([]).into(),
            1 => leaves[0],
            n => {
                let mut k = 1;
                while k * 2 < n {
                    k *= 2;
                }
                node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
            }
        }
    }

    fn keys() -> AuditKeys {
        AuditKeys::from_seed(&[7u8; 32])
    }

    #[test]
    fn the_right_edge_gives_the_rfc_9162_root_for_every_size() {
        let k = keys();
        let mut f = Frontier::default();
        let mut leaves = Vec::new();
        assert_eq!(f.root(), reference_root(&leaves));
        for i in 0..70u32 {
            let entry = Canonical::new("t").int(i.into()).as_bytes().to_vec();
            let leaf = leaf_hash(&entry, &k.mac(&entry));
            f.push(leaf);
            leaves.push(leaf);
            assert_eq!(f.root(), reference_root(&leaves), "size {}", i + 1);
            let back = Frontier::decode(f.size(), &f.encode()).unwrap();
            assert_eq!(back, f);
        }
        assert!(Frontier::decode(5, &Frontier::default().encode()).is_none());
    }

    #[test]
    fn the_reference_splits_at_the_largest_power_of_two_below_n() {
        let l: Vec<Hash> = (0..3u8).map(|i| [i; 32]).collect();
        let expect = node_hash(&node_hash(&l[0], &l[1]), &l[2]);
        assert_eq!(reference_root(&l), expect);
    }

    #[test]
    fn signatures_and_macs_hold_only_for_what_was_signed() {
        let k = keys();
        let head = TreeHead {
            tree_size: 12,
            root_hash: hex(&[3u8; 32]),
            signed_at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        };
        let sig = k.sign(&head);
        assert!(k.signature_valid(&head, &sig));
        let mut other = head.clone();
        other.tree_size = 11;
        assert!(!k.signature_valid(&other, &sig));
        assert!(!AuditKeys::from_seed(&[8u8; 32]).signature_valid(&head, &sig));
        assert!(!k.signature_valid(&head, "not base64!"));
        let tag = hex(&k.mac(b"entry"));
        assert!(k.mac_matches(b"entry", &tag));
        assert!(!k.mac_matches(b"entrY", &tag));
        assert!(!k.mac_matches(b"entry", "zz"));
    }

    #[test]
    fn the_encoding_separates_fields_and_absence() {
        let a = Canonical::new("k").text("ab").text("c").as_bytes().to_vec();
        let b = Canonical::new("k").text("a").text("bc").as_bytes().to_vec();
        assert_ne!(a, b);
        let none = Canonical::new("k").opt_text(None).as_bytes().to_vec();
        let empty = Canonical::new("k").opt_text(Some("")).as_bytes().to_vec();
        assert_ne!(none, empty);
    }
}
