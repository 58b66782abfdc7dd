//! Field rules shared by every intake path: lengths in characters, control
//! characters, mainland phone numbers, e-mail addresses and resident ID numbers
//! (GB 11643 check digit). Each function returns the message for a bad value,
//! so callers can collect every bad field before answering.

use chrono::NaiveDate;

/// A single-line field must not contain any control character; a multi-line
/// field may contain line breaks and tabs but nothing else below U+0020.
/// Neither may hide text: bidirectional overrides are refused everywhere,
/// and in a single-line field also the invisible characters (zero-width
/// spaces and joiners, the word joiner, the byte-order mark) and the
/// line and paragraph separators, which would break a name or a code
/// across lines or make two different values look alike.
pub fn control_chars(value: &str, multiline: bool) -> Option<&'static str> {
    let bad = value.chars().any(|c| {
        c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t'))
            // Bidirectional overrides can disguise text in letters and lists.
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
            || (!multiline
                && matches!(
                    c,
                    '\u{200B}'..='\u{200F}' | '\u{2028}' | '\u{2029}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}'
                ))
    });
    bad.then_some(if multiline {
        "must not contain control characters other than line breaks and tabs"
    } else {
        "must not contain control characters or invisible characters"
    })
}

/// Length in characters (not bytes: Chinese text is three bytes a character).
pub fn length(value: &str, min: usize, max: usize) -> Option<String> {
    let n = value.chars().count();
    if n < min {
        Some(format!("must be at least {min} characters"))
    } else if n > max {
        Some(format!("must be at most {max} characters"))
    } else {
        None
    }
}

/// Normalises a mainland China phone number, or says why it is not one.
///
/// Mobile: 11 digits starting 1[3-9], optionally written with +86 / 0086 / 86
/// and spaces or dashes → `13800138000`. Landline: area code 0 + 2–3 digits
/// and a 7–8 digit number, e.g. `0797-5321234` → `07975321234`.
pub fn normalise_phone(raw: &str) -> Result<String, &'static str> {
    const MSG: &str = "must be a mainland mobile number (11 digits starting 1) or a landline with area code (e.g. 0797-5321234)";
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err("must not be empty");
    }
    if !trimmed
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '+' | '(' | ')'))
    {
        return Err(MSG);
    }
    let plus = trimmed.starts_with('+');
    let mut digits: String = trimmed.chars().filter(|c| c.is_ascii_digit()).collect();
    if plus || digits.starts_with("0086") || (digits.len() == 13 && digits.starts_with("86")) {
        let stripped = digits
            .strip_prefix("0086")
            .or_else(|| digits.strip_prefix("86"))
            .ok_or(MSG)?;
        digits = stripped.to_owned();
        // +86 797 5321234 → landline without its leading zero
        if !digits.starts_with('1') {
            digits.insert(0, '0');
        }
    }
    let bytes = digits.as_bytes();
    let mobile = bytes.len() == 11 && bytes[0] == b'1' && (b'3'..=b'9').contains(&bytes[1]);
    // 010/02x have 3-digit area codes with 8-digit numbers; others 4 + 7 or 8.
    let landline = bytes.first() == Some(&b'0')
        && bytes.get(1).is_some_and(|d| *d != b'0')
        && (10..=12).contains(&bytes.len());
    if mobile || landline {
        Ok(digits)
    } else {
        Err(MSG)
    }
}

/// A plain, strict-enough e-mail check: one `@`, a local part, a dotted domain
/// of letters, digits and hyphens, no spaces.
pub fn email(value: &str) -> Option<&'static str> {
    const MSG: &str = "must be an e-mail address such as name@example.cn";
    if value.len() > 254 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some(MSG);
    }
    let Some((local, domain)) = value.rsplit_once('@') else {
        return Some(MSG);
    };
    let local_ok = !local.is_empty() && local.len() <= 64 && !local.contains('@');
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.chars().all(char::is_alphabetic));
    if local_ok && domain_ok {
        None
    } else {
        Some(MSG)
    }
}

/// An 18-character resident identity number: 17 digits, a check character
/// (digit or X) per GB 11643-1999, and a real birth date. Returns the
/// normalised form (upper-case X).
pub fn id_number(raw: &str) -> Result<String, &'static str> {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let v = raw.trim().to_ascii_uppercase();
    let b = v.as_bytes();
    if b.len() != 18
        || !b[..17].iter().all(u8::is_ascii_digit)
        || !(b[17].is_ascii_digit() || b[17] == b'X')
    {
        return Err("must be 18 characters: 17 digits and a check digit or X");
    }
    let sum: u32 = b[..17]
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    if CHECK[(sum % 11) as usize] != b[17] {
        return Err("check digit does not match");
    }
    let birth = NaiveDate::parse_from_str(&v[6..14], "%Y%m%d")
        .map_err(|_| "contains an impossible birth date")?;
    if birth.year_ce().1 < 1900 {
        return Err("contains an impossible birth date");
    }
    Ok(v)
}

use chrono::Datelike;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobile_numbers_normalise_to_eleven_digits() {
        for raw in [
            "13800138000",
            "138 0013 8000",
            "+86 138-0013-8000",
            "008613800138000",
            "8613800138000",
        ] {
            assert_eq!(normalise_phone(raw).unwrap(), "13800138000", "{raw}");
        }
    }

    #[test]
    fn landlines_need_an_area_code() {
        assert_eq!(normalise_phone("0797-5321234").unwrap(), "07975321234");
        assert_eq!(normalise_phone("010-12345678").unwrap(), "01012345678");
        assert_eq!(normalise_phone("+86 797 5321234").unwrap(), "07975321234");
        assert!(normalise_phone("5321234").is_err());
    }

    #[test]
    fn bad_phone_numbers_are_refused() {
        for raw in [
            "",
            "12345",
            "12800138000",
            "1380013800",
            "138001380001",
            "abc",
            "13800138000x",
            "00-1234567",
        ] {
            assert!(normalise_phone(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn id_number_check_digit_is_verified() {
        // Check digits computed by GB 11643: weights 7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2.
        assert_eq!(
            id_number("11010519491231002X").unwrap(),
            "11010519491231002X"
        );
        assert_eq!(
            id_number("11010519491231002x").unwrap(),
            "11010519491231002X"
        );
        assert!(id_number("110105194912310021").is_err());
        assert!(id_number("360732199002301234").is_err()); // 30 February, whatever the digit
        assert!(id_number("3607321990").is_err());
    }

    #[test]
    fn e_mail_addresses() {
        assert!(email("citizen@example.cn").is_none());
        assert!(email("李@例子.中国").is_none());
        for bad in [
            "", "a", "a@b", "a@@b.cn", "a b@c.cn", "@c.cn", "a@-c.cn", "a@c.123",
        ] {
            assert!(email(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn control_characters() {
        assert!(control_chars("第一行\n第二行\t", true).is_none());
        assert!(control_chars("第一行\n第二行", false).is_some());
        assert!(control_chars("nul\0", true).is_some());
        assert!(control_chars("bell\u{7}", true).is_some());
        assert!(control_chars("rtl\u{202E}txt", true).is_some());
        for hidden in [
            "陈\u{200B}卫东",
            "陈\u{2028}卫东",
            "XG\u{FEFF}1",
            "a\u{2060}b",
        ] {
            assert!(control_chars(hidden, false).is_some(), "{hidden:?}");
        }
        assert!(control_chars("段落一\u{2029}段落二", true).is_none());
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        assert!(length(&"投".repeat(200), 1, 200).is_none());
        assert!(length(&"投".repeat(201), 1, 200).is_some());
        assert!(length("短", 10, 100).is_some());
    }
}
