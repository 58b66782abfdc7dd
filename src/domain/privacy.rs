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
    address: [u8; 32],
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
            address: derive(master, "address-hash"),
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

    /// Keyed hash of a client address (rate limits count by it, so the
    /// database never holds the address), shortened: 16 bytes suffice.
    pub fn address_hash(&self, address: &str) -> String {
        hex(&keyed(&self.address, &[address.as_bytes()])[..16])
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

/// What replaces a complainant's own identity found in free text: one mark
/// for every kind of value, so it says neither what was removed nor how many.
pub const REDACTED: &str = "[已隐去]";

/// Words that only introduce an identity value ("我叫", "电话", "家住"…): a
/// clause made of them and identity values alone says nothing about the
/// complaint and is dropped whole, so no mark shows where the complainant
/// wrote their name, number or address.
const INTRODUCERS: &[&str] = &[
    "身份证号码",
    "身份证号",
    "身份证",
    "联系电话",
    "联系方式",
    "手机号码",
    "手机号",
    "电子邮箱",
    "电子邮件",
    "我的名字",
    "我的电话",
    "我的手机",
    "我的地址",
    "我的邮箱",
    "我的",
    "姓名",
    "名字",
    "电话",
    "手机",
    "号码",
    "邮箱",
    "邮件",
    "email",
    "e-mail",
    "住址",
    "地址",
    "家住",
    "现住",
    "住在",
    "居住",
    "我叫",
    "我是",
    "本人",
    "叫",
    "住",
    "是",
    "为",
    "我",
    "的",
];

/// Where clauses end (brackets too: "本人王小明（电话…）" is two clauses).
fn clause_end(c: char) -> bool {
    matches!(
        c,
        '，' | ','
            | '。'
            | '；'
            | ';'
            | '！'
            | '!'
            | '？'
            | '?'
            | '\n'
            | '、'
            | '（'
            | '）'
            | '('
            | ')'
    )
}

/// Separators a dropped clause may leave at the start or end of the text.
const LOOSE: &[char] = &['，', ',', '。', '；', ';', '、'];

/// Removes the complainant's own identity values from free text (a citizen
/// may write "我叫王小明，电话139…" into the complaint), so the text can go to
/// the unit and into letters, and keeps the facts (docs/architecture.md,
/// "Redaction"):
///
/// - every occurrence of a value is found: names, e-mail, ID number and
///   address whole (Latin letters in any case), the phone number whatever
///   spaces, dashes or brackets sit between its digits, with or without 86;
/// - a clause that holds nothing but identity values and the words that
///   introduce them is dropped whole; elsewhere a value becomes one mark
///   ([`REDACTED`]), runs of marks merging into one;
/// - `places` (the township and the unit where the conduct happened, the
///   county's unit names) are the case's own facts: a value that is one of
///   them is not removed, and the text around a removed value keeps them;
/// - values under two characters are left alone (they would hit ordinary
///   words).
pub fn redact(text: &str, values: &[&str], phone: Option<&str>, places: &[&str]) -> String {
    let spans = identity_spans(text, values, phone, places);
    if spans.is_empty() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if clause_end(c) {
            let end = i + c.len_utf8();
            write_clause(&mut out, text, start, i, end, &spans);
            start = end;
        }
    }
    write_clause(&mut out, text, start, text.len(), text.len(), &spans);
    // A dropped first clause leaves its neighbour's delimiter in front.
    out.trim_start_matches(LOOSE)
        .trim_end_matches(['，', ',', '、', '；', ';'])
        .to_owned()
}

/// Writes the clause `text[start..body_end]` with its delimiter
/// `text[body_end..end]`: whole, dropped, or with its values marked.
fn write_clause(
    out: &mut String,
    text: &str,
    start: usize,
    body_end: usize,
    end: usize,
    spans: &[(usize, usize)],
) {
    let inside: Vec<(usize, usize)> = spans
        .iter()
        .filter(|(a, b)| *a < body_end && *b > start)
        .map(|(a, b)| ((*a).max(start), (*b).min(body_end)))
        .collect();
    if inside.is_empty() {
        out.push_str(&text[start..end]);
        return;
    }
    let mut rest = String::new();
    let mut at = start;
    for (a, b) in &inside {
        rest.push_str(&text[at..*a]);
        at = *b;
    }
    rest.push_str(&text[at..body_end]);
    if only_introducers(&rest) {
        let delimiter = &text[body_end..end];
        match delimiter {
            // Keep a line break, so the next paragraph stays one, and an
            // opening bracket, whose closing one follows.
            "\n" | "（" | "(" => out.push_str(delimiter),
            // A bracket whose whole content was dropped goes too.
            "）" | ")" if out.ends_with(['（', '(']) => {
                out.pop();
            }
            _ => {}
        }
        return;
    }
    let mut at = start;
    for (a, b) in &inside {
        let between = &text[at..*a];
        // Marks with only spaces between them are one mark.
        if !(out.ends_with(REDACTED) && between.trim().is_empty()) {
            out.push_str(between);
            out.push_str(REDACTED);
        }
        at = *b;
    }
    out.push_str(&text[at..end]);
}

/// Whether what is left of a clause is only words that introduce identity,
/// punctuation and spaces.
fn only_introducers(rest: &str) -> bool {
    let mut r: String = rest
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '：' | ':' | '（' | '）' | '(' | ')' | '-'))
        .collect::<String>()
        .to_lowercase();
    loop {
        let before = r.len();
        for w in INTRODUCERS {
            r = r.replace(w, "");
        }
        if r.len() == before {
            break;
        }
    }
    r.is_empty()
}

/// Byte ranges of `text` holding identity values, sorted and merged.
fn identity_spans(
    text: &str,
    values: &[&str],
    phone: Option<&str>,
    places: &[&str],
) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let is_place = |v: &str| places.iter().any(|p| !p.is_empty() && p.trim() == v);
    for v in values.iter().map(|v| v.trim()) {
        if v.chars().count() < 2 || is_place(v) {
            continue;
        }
        spans.extend(find_all(text, v));
    }
    if let Some(p) = phone.filter(|p| p.len() >= 7) {
        spans.extend(digit_runs(text, p));
        // A mobile number written with its country code.
        if p.starts_with('1') {
            spans.extend(digit_runs(text, &format!("86{p}")));
        }
    }
    spans.sort();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
    for (a, b) in spans {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    merged
}

/// Every occurrence of `needle`, Latin letters compared without case.
fn find_all(text: &str, needle: &str) -> Vec<(usize, usize)> {
    let hay = text.to_lowercase();
    let pin = needle.to_lowercase();
    // Lower-casing changed byte lengths (rare letters): exact matches only.
    let (hay, pin) = if hay.len() == text.len() && pin.len() == needle.len() {
        (hay, pin)
    } else {
        (text.to_owned(), needle.to_owned())
    };
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = hay[from..].find(&pin) {
        let a = from + pos;
        out.push((a, a + pin.len()));
        from = a + pin.len();
    }
    out
}

/// Every run of `digits` in `text`, allowing spaces, dashes and brackets
/// between them.
fn digit_runs(text: &str, digits: &str) -> Vec<(usize, usize)> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let want: Vec<char> = digits.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
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
                let end = chars.get(j).map_or(text.len(), |c| c.0);
                out.push((chars[i].0, end));
                i = j;
                continue;
            }
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod redaction_tests {
    use super::*;

    const OWN: [&str; 3] = ["王小明", "wxm@example.cn", "潋江镇解放路18号"];

    #[test]
    fn clauses_of_identity_alone_leave_no_mark() {
        let text = "我叫王小明，电话139 1234-5678，邮箱WXM@example.cn，住潋江镇解放路18号。\
                    反映潋江镇派出所窗口民警推诿。";
        let out = redact(text, &OWN, Some("13912345678"), &["潋江镇"]);
        assert_eq!(out, "反映潋江镇派出所窗口民警推诿。");
    }

    #[test]
    fn a_bracket_of_identity_goes_with_it() {
        let text = "本人王小明（身份证11010519491231002X，电话139-1234-5678，住潋江镇解放路18号，\
                    邮箱wxm@example.cn）反映窗口民警刁难。";
        let own = [
            "王小明",
            "11010519491231002X",
            "wxm@example.cn",
            "潋江镇解放路18号",
        ];
        let out = redact(text, &own, Some("13912345678"), &[]);
        assert_eq!(out, "反映窗口民警刁难。");
        assert_eq!(
            redact("民警（3号窗口）态度差", &own, None, &[]),
            "民警（3号窗口）态度差"
        );
    }

    #[test]
    fn a_value_inside_a_fact_becomes_one_mark() {
        let text = "王小明去潋江镇办事，王小明 13912345678 被刁难。";
        let out = redact(text, &OWN, Some("13912345678"), &["潋江镇"]);
        assert_eq!(out, "[已隐去]去潋江镇办事，[已隐去] 被刁难。");
        assert!(!out.contains("1391"));
    }

    #[test]
    fn the_place_of_the_conduct_is_never_removed() {
        // The complainant gave only the township as address: it is where the
        // conduct happened too, and stays.
        let out = redact(
            "潋江镇政府的干部推诿扯皮。",
            &["潋江镇"],
            None,
            &["潋江镇", "县公安局"],
        );
        assert_eq!(out, "潋江镇政府的干部推诿扯皮。");
    }

    #[test]
    fn other_numbers_and_short_values_are_left_alone() {
        assert_eq!(
            redact("案号13900000000", &[], Some("13912345678"), &[]),
            "案号13900000000"
        );
        assert_eq!(redact("名字王", &["王"], None, &[]), "名字王");
        assert_eq!(
            redact(
                "拨打86 139 1234 5678无人接听",
                &[],
                Some("13912345678"),
                &[]
            ),
            "拨打[已隐去]无人接听"
        );
    }
}
