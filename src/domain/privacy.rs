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

/// What replaces a complainant's own identity found in free text.
pub const REDACTED: &str = "[已隐去]";

/// Removes the complainant's own identity values from free text (a citizen
/// may write "我叫王小明，电话139…" into the complaint), so the text can go to
/// the unit and into letters. Phone numbers are found whatever spaces or
/// dashes the writer put between the digits.
pub fn redact(text: &str, values: &[&str], phone: Option<&str>) -> String {
    let mut out = text.to_owned();
    let mut sorted: Vec<&str> = values
        .iter()
        .copied()
        .filter(|v| v.chars().count() >= 2)
        .collect();
    sorted.sort_by_key(|v| std::cmp::Reverse(v.len()));
    for v in sorted {
        if out.contains(v) {
            out = out.replace(v, REDACTED);
        }
        let upper = v.to_uppercase();
        if upper != v && out.to_uppercase().contains(&upper) {
            out = replace_case_insensitive(&out, v);
        }
    }
    if let Some(p) = phone.filter(|p| p.len() >= 7) {
        out = redact_digits(&out, p);
        // A mobile number written with its country code.
        if p.starts_with('1') {
            out = redact_digits(&out, &format!("86{p}"));
        }
    }
    out
}

fn replace_case_insensitive(text: &str, needle: &str) -> String {
    let lower_text = text.to_lowercase();
    let lower_needle = needle.to_lowercase();
    if lower_text.len() != text.len() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(pos) = lower_text[i..].find(&lower_needle) {
        out.push_str(&text[i..i + pos]);
        out.push_str(REDACTED);
        i += pos + lower_needle.len();
    }
    out.push_str(&text[i..]);
    out
}

/// Replaces every run of `digits` in `text`, allowing spaces, dashes and
/// brackets between them.
fn redact_digits(text: &str, digits: &str) -> String {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let want: Vec<char> = digits.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied_to = 0;
    while i < chars.len() {
        if chars[i].1 == want[0] {
            let (mut j, mut k) = (i, 0);
            while j < chars.len() && k < want.len() {
                let c = chars[j].1;
                if c == want[k] {
                    k += 1;
                } else if !(k > 0 && matches!(c, ' ' | '-' | '(' | ')')) {
                    break;
                }
                j += 1;
            }
            if k == want.len() {
                out.push_str(&text[copied_to..chars[i].0]);
                out.push_str(REDACTED);
                copied_to = chars.get(j).map_or(text.len(), |c| c.0);
                i = j;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&text[copied_to..]);
    out
}

#[cfg(test)]
mod redaction_tests {
    use super::*;

    #[test]
    fn own_identity_is_taken_out_of_free_text() {
        let text = "我叫王小明，电话139 1234-5678，邮箱WXM@example.cn，住潋江镇解放路18号。王小明再次反映。";
        let out = redact(
            text,
            &["王小明", "wxm@example.cn", "潋江镇解放路18号"],
            Some("13912345678"),
        );
        assert_eq!(
            out,
            "我叫[已隐去]，电话[已隐去]，邮箱[已隐去]，住[已隐去]。[已隐去]再次反映。"
        );
    }

    #[test]
    fn other_numbers_are_left_alone() {
        assert_eq!(
            redact("案号13900000000", &[], Some("13912345678")),
            "案号13900000000"
        );
        assert_eq!(redact("名字王", &["王"], None), "名字王");
    }
}
