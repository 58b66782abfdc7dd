//! Failure limits for guessable secrets (query codes, passwords), kept in the
//! database so every instance counts the same failures.
//!
//! Two counters per attempt: the client address and the subject (a tracking
//! number or a username). An address over its limit is refused outright. A
//! subject over its limit is refused only to addresses that have failed
//! themselves in the window, so strangers cannot lock a citizen out of their
//! case, or an officer out of their account, by failing on purpose.

use chrono::{DateTime, Duration, Utc};

use crate::db::{self, DbConn};
use crate::error::{AppError, AppResult};

#[derive(Clone, Debug)]
pub struct Limits {
    pub window: Duration,
    pub max_per_address: i32,
    pub max_per_subject: i32,
}

/// The two counters of one kind of attempt.
pub struct Keys {
    pub address: String,
    pub subject: String,
}

impl Keys {
    pub fn new(kind: &str, address: &str, subject: &str) -> Self {
        Self {
            address: format!("{kind}:addr:{address}"),
            subject: format!("{kind}:subject:{subject}"),
        }
    }
}

fn too_many(limits: &Limits) -> AppError {
    AppError::TooManyRequests {
        retry_after_seconds: u64::try_from(limits.window.num_seconds()).unwrap_or(900),
    }
}

/// 429 when this address may not try now.
pub fn check(conn: &mut DbConn, limits: &Limits, keys: &Keys, now: DateTime<Utc>) -> AppResult<()> {
    let by_address = db::throttle_count(conn, &keys.address, now, limits.window)?;
    if by_address >= limits.max_per_address {
        return Err(too_many(limits));
    }
    if by_address > 0
        && db::throttle_count(conn, &keys.subject, now, limits.window)? >= limits.max_per_subject
    {
        return Err(too_many(limits));
    }
    Ok(())
}

/// Counts a failed attempt against both keys.
pub fn fail(conn: &mut DbConn, limits: &Limits, keys: &Keys, now: DateTime<Utc>) -> AppResult<()> {
    db::write_tx(conn, |tx| -> diesel::QueryResult<()> {
        db::throttle_hit(tx, &keys.address, now, limits.window)?;
        db::throttle_hit(tx, &keys.subject, now, limits.window)?;
        Ok(())
    })?;
    Ok(())
}
