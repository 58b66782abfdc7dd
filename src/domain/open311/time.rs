//! Times as Open311 writes and reads them: W3C datetimes in the county's
//! offset, or local dates.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use chrono_tz::Tz;

use crate::db;

/// A stored UTC time as a W3C datetime with the county's offset.
pub fn w3(t: NaiveDateTime, tz: Tz) -> String {
    db::from_db(t)
        .with_timezone(&tz)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// A W3C datetime (the offset required) or a date (the local day's start).
/// A `+` of the offset sent unencoded in a query string arrives as a space.
pub fn parse_w3(raw: &str, tz: Tz) -> Option<DateTime<Utc>> {
    let s = raw.trim().replace(' ', "+");
    if let Ok(t) = DateTime::parse_from_rfc3339(&s) {
        return Some(t.with_timezone(&Utc));
    }
    // The W3C note also allows minutes without seconds.
    if let Ok(t) = DateTime::parse_from_str(&s.replace('Z', "+00:00"), "%Y-%m-%dT%H:%M%:z") {
        return Some(t.with_timezone(&Utc));
    }
    let d = NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok()?;
    crate::domain::calendar::start_of_day(d, tz)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn w3_datetimes_need_an_offset_and_dates_are_local_midnight() {
        let tz = chrono_tz::Asia::Shanghai;
        let t = parse_w3("2026-11-27T09:30:00+08:00", tz).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-27T01:30:00+00:00");
        assert_eq!(parse_w3("2026-11-27T01:30Z", tz), Some(t));
        assert_eq!(
            parse_w3("2026-11-27T09:30:00 08:00", tz),
            Some(t),
            "+ sent raw"
        );
        assert_eq!(
            parse_w3("2026-11-27", tz).unwrap().to_rfc3339(),
            "2026-11-26T16:00:00+00:00"
        );
        assert_eq!(parse_w3("2026-11-27T09:30:00", tz), None, "no offset");
        assert_eq!(w3(crate::db::to_db(t), tz), "2026-11-27T09:30:00+08:00");
    }
}
