//! Whistleblower protection primitives: identity fields sealed with
//! AES-256-GCM, keyed hashes (phone numbers, query codes), and query-code
//! generation. Sub-keys are derived from the one master key so that a leak of
//! one use's key does not expose another.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use rand::{Rng, RngCore};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Format byte in front of every sealed value, so keys can be rotated later.
const SEAL_V1: u8 = 1;
/// Unambiguous query-code alphabet: no 0/O, 1/I/L.
pub const QUERY_CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
pub const QUERY_CODE_LEN: usize = 8;

/// The keys derived from `DUBAN_PII_KEY`.
#[derive(Clone)]
pub struct PiiKeys {
    seal: Aes256Gcm,
    phone: [u8; 32],
    query_code: [u8; 32],
}

impl std::fmt::Debug for PiiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PiiKeys(..)")
    }
}

fn derive(master: &[u8; 32], label: &str) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(master).expect("HMAC takes any key length");
    mac.update(b"duban/v1/");
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}

impl PiiKeys {
    pub fn new(master: &[u8; 32]) -> Self {
        let seal_key = derive(master, "seal");
        Self {
            seal: Aes256Gcm::new_from_slice(&seal_key).expect("32-byte key"),
            phone: derive(master, "phone-hash"),
            query_code: derive(master, "query-code"),
        }
    }

    /// Seals `plain`; `context` (e.g. `"XG2026…/phone"`) is bound as associated
    /// data so a sealed value cannot be moved to another case or field.
    pub fn seal(&self, plain: &str, context: &str) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let sealed = self
            .seal
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of a bounded string cannot fail");
        let mut out = Vec::with_capacity(1 + 12 + sealed.len());
        out.push(SEAL_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens a value sealed by [`seal`](Self::seal) with the same context.
    pub fn open(&self, sealed: &[u8], context: &str) -> anyhow::Result<String> {
        anyhow::ensure!(
            sealed.len() > 13 && sealed[0] == SEAL_V1,
            "sealed value has an unknown format"
        );
        let plain = self
            .seal
            .decrypt(
                Nonce::from_slice(&sealed[1..13]),
                Payload {
                    msg: &sealed[13..],
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| anyhow::anyhow!("sealed value does not open with this key"))?;
        Ok(String::from_utf8(plain)?)
    }

    /// Keyed hash of a normalised phone number, to find repeat complainants
    /// without decrypting anything.
    pub fn phone_hash(&self, normalised_phone: &str) -> String {
        hex(&keyed(&self.phone, &[normalised_phone.as_bytes()]))
    }

    /// Keyed hash of a query code, bound to its tracking number.
    pub fn query_code_hash(&self, tracking_no: &str, code: &str) -> String {
        hex(&keyed(
            &self.query_code,
            &[
                tracking_no.as_bytes(),
                b"\0",
                normalise_query_code(code).as_bytes(),
            ],
        ))
    }

    /// Constant-time check of a query code against its stored hash.
    pub fn query_code_matches(&self, tracking_no: &str, code: &str, stored_hex: &str) -> bool {
        let Some(stored) = unhex(stored_hex) else {
            return false;
        };
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(&self.query_code).expect("any key length");
        mac.update(tracking_no.as_bytes());
        mac.update(b"\0");
        mac.update(normalise_query_code(code).as_bytes());
        mac.verify_slice(&stored).is_ok()
    }
}

fn keyed(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("any key length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

/// A fresh query code: 8 characters from [`QUERY_CODE_ALPHABET`]
/// (31⁸ ≈ 8.5 × 10¹¹ possibilities).
pub fn new_query_code() -> String {
    let mut rng = rand::thread_rng();
    (0..QUERY_CODE_LEN)
        .map(|_| QUERY_CODE_ALPHABET[rng.gen_range(0..QUERY_CODE_ALPHABET.len())] as char)
        .collect()
}

/// Citizens type codes loosely: case, spaces and dashes do not matter.
pub fn normalise_query_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Plain SHA-256 in hex (request fingerprints, audit hashes).
pub fn sha256_hex(parts: &[&[u8]]) -> String {
    use sha2::Digest;
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    hex(&h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> PiiKeys {
        PiiKeys::new(&[7u8; 32])
    }

    #[test]
    fn sealed_values_open_only_in_their_context() {
        let k = keys();
        let sealed = k.seal("张三", "XG1/name");
        assert!(!sealed.windows(6).any(|w| w == "张三".as_bytes()));
        assert_eq!(k.open(&sealed, "XG1/name").unwrap(), "张三");
        assert!(k.open(&sealed, "XG2/name").is_err());
        assert!(PiiKeys::new(&[8u8; 32]).open(&sealed, "XG1/name").is_err());
    }

    #[test]
    fn sealing_twice_gives_different_ciphertexts() {
        let k = keys();
        assert_ne!(k.seal("13800138000", "c"), k.seal("13800138000", "c"));
    }

    #[test]
    fn query_codes_use_the_unambiguous_alphabet_and_match_loosely() {
        let k = keys();
        for _ in 0..200 {
            let code = new_query_code();
            assert_eq!(code.len(), 8);
            assert!(code.bytes().all(|b| QUERY_CODE_ALPHABET.contains(&b)));
            let stored = k.query_code_hash("XG1", &code);
            let loose = format!(" {}-{} ", &code[..4].to_lowercase(), &code[4..]);
            assert!(k.query_code_matches("XG1", &loose, &stored));
            assert!(!k.query_code_matches("XG2", &code, &stored));
        }
        assert!(!b"01OIL".iter().any(|c| QUERY_CODE_ALPHABET.contains(c)));
    }

    #[test]
    fn phone_hash_is_keyed() {
        assert_eq!(
            keys().phone_hash("13800138000"),
            keys().phone_hash("13800138000")
        );
        assert_ne!(
            keys().phone_hash("13800138000"),
            PiiKeys::new(&[9u8; 32]).phone_hash("13800138000")
        );
    }
}
