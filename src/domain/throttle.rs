//! Limits on what the public and strangers can do, kept in the database so
//! every instance counts the same (docs/architecture.md, "Limits").
//!
//! Addresses are counted by a keyed hash of the client address (IPv6 per
//! /64, so one machine cannot take a fresh address for each try), never by
//! the address itself: the database holds no client addresses.
//!
//! - Guessable secrets (query codes, passwords) count failures per address
//!   and per subject (a tracking number, an account). An address over its
//!   limit is refused. A subject under attack is never closed to its owner:
//!   its failures slow every answer down, and (a case) alert the office, or
//!   (an account) past a threshold refuse only addresses that have failed
//!   themselves.
//! - Counted actions (filings, Open311 reads) count uses per address.

use chrono::{DateTime, Duration, Utc};

use crate::db::{self, DbConn};
use crate::domain::privacy::PiiKeys;
use crate::error::{AppError, AppResult};

#[derive(Clone, Debug)]
pub struct Limits {
    pub window: Duration,
    pub max_per_address: i32,
    pub max_per_subject: i32,
    /// The longest an answer about a subject under attack is held back.
    pub max_delay: std::time::Duration,
}

/// The address part of a client: an IPv4 address as it is, an IPv6 address
/// cut to its /64 (the part a single customer is given).
pub fn address_prefix(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(std::net::IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => ip.to_owned(),
    }
}

/// The counters of one kind of attempt: the client address (hashed, per
/// /64) and the subject.
pub struct Keys {
    pub address: String,
    pub subject: String,
}

impl Keys {
    pub fn new(keys: &PiiKeys, kind: &str, address: &str, subject: &str) -> Self {
        Self {
            address: format!(
                "{kind}:addr:{}",
                keys.address_hash(&address_prefix(address))
            ),
            subject: format!("{kind}:subject:{subject}"),
        }
    }
}

/// The 429 of a limit whose window runs `window` long.
pub fn too_many(window: Duration) -> AppError {
    AppError::TooManyRequests {
        retry_after_seconds: u64::try_from(window.num_seconds()).unwrap_or(900),
    }
}

/// How the counters stand for one attempt, read before it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Standing {
    pub address_failures: i32,
    pub subject_failures: i32,
}

/// Reads both counters; the subject's only when it matters (an address
/// that never failed on a subject below its limit costs one read).
pub fn standing(
    conn: &mut DbConn,
    limits: &Limits,
    keys: &Keys,
    now: DateTime<Utc>,
) -> AppResult<Standing> {
    Ok(Standing {
        address_failures: db::throttle_count(conn, &keys.address, now, limits.window)?,
        subject_failures: db::throttle_count(conn, &keys.subject, now, limits.window)?,
    })
}

/// Counts a failed attempt against both keys; returns the subject's
/// failures in the window, this one included.
pub fn fail(conn: &mut DbConn, limits: &Limits, keys: &Keys, now: DateTime<Utc>) -> AppResult<i32> {
    Ok(db::write_tx(conn, |tx| -> db::QueryResult<i32> {
        db::throttle_hit(tx, &keys.address, now, limits.window)?;
        db::throttle_hit(tx, &keys.subject, now, limits.window)
    })?)
}

/// How long to hold an answer about a subject with `failures` in the window
/// against its limit: nothing below half the limit, then doubling from 250
/// ms up to `max`. Strangers' failures slow the guessing down without ever
/// refusing the right secret.
pub fn pace(failures: i32, limit: i32, max: std::time::Duration) -> std::time::Duration {
    let soft = (limit / 2).max(1);
    if failures < soft {
        return std::time::Duration::ZERO;
    }
    let steps = u32::try_from(failures - soft).unwrap_or(0).min(16);
    std::time::Duration::from_millis(250u64 << steps).min(max)
}

/// A counted use by an address (a filing, an Open311 read): 429 once the
/// address has used up its window.
pub fn check_uses(
    conn: &mut DbConn,
    key: &str,
    max: i32,
    window: Duration,
    now: DateTime<Utc>,
) -> AppResult<()> {
    if db::throttle_count(conn, key, now, window)? >= max {
        return Err(too_many(window));
    }
    Ok(())
}

/// Counts a use (inside the transaction of the use itself).
pub fn count_use(
    conn: &mut DbConn,
    key: &str,
    window: Duration,
    now: DateTime<Utc>,
) -> AppResult<()> {
    db::throttle_hit(conn, key, now, window)?;
    Ok(())
}

/// The key counting an address's uses of `kind` (hashed, per /64).
pub fn use_key(keys: &PiiKeys, kind: &str, address: &str) -> String {
    format!(
        "{kind}:addr:{}",
        keys.address_hash(&address_prefix(address))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_count_per_64_and_ipv4_as_they_are() {
        assert_eq!(address_prefix("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
        assert_eq!(
            address_prefix("2001:db8:1:2:ffff::1"),
            address_prefix("2001:db8:1:2::9")
        );
        assert_ne!(
            address_prefix("2001:db8:1:2::1"),
            address_prefix("2001:db8:1:3::1")
        );
        assert_eq!(address_prefix("203.0.113.7"), "203.0.113.7");
        assert_eq!(address_prefix("::ffff:203.0.113.7"), "203.0.113.7");
    }

    #[test]
    fn the_pace_grows_after_half_the_limit_and_stops_at_its_ceiling() {
        let max = std::time::Duration::from_secs(4);
        assert_eq!(pace(0, 6, max), std::time::Duration::ZERO);
        assert_eq!(pace(2, 6, max), std::time::Duration::ZERO);
        assert_eq!(pace(3, 6, max).as_millis(), 250);
        assert_eq!(pace(4, 6, max).as_millis(), 500);
        assert_eq!(pace(40, 6, max), max);
    }
}
