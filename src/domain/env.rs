//! What the domain's actions run with (docs/architecture.md, *Layers*).

use std::sync::Arc;

use chrono::Duration;
use chrono_tz::Tz;

use crate::domain::calendar::Calendar;
use crate::domain::letters::LetterEnv;
use crate::domain::privacy::PiiKeys;
use crate::domain::routing::Rules;

/// What every domain action needs besides a connection, the actor and
/// `now`: the keys, the zone and calendar, the routing rules and intake
/// limits, the letter templates and the procedure's settings. Built once at
/// start-up (`startup::build_state`); a domain function never reads the wall
/// clock or global configuration (docs/architecture.md, *Layers*).
#[derive(Clone, Debug)]
pub struct Env {
    pub keys: PiiKeys,
    pub tracking_prefix: String,
    pub tz: Tz,
    pub limit_factor: f64,
    pub calendar: Arc<Calendar>,
    pub routing: Arc<Rules>,
    pub letters: Arc<LetterEnv>,
    /// Until when a unit may ask to return a case; the transfer letter says.
    pub return_window: crate::config::ReturnWindow,
    pub limits: IntakeLimits,
    /// Units whose notes marked public go on the citizen's page without the
    /// office's approval.
    pub trusted_units: Arc<Vec<String>>,
    /// When callbacks fall due and end unanswered.
    pub callbacks: CallbackRules,
    /// Which earlier cases a new one may repeat.
    pub duplicates: DuplicateRules,
}

/// How much the public may file: per client address, and how many filings
/// naming one unit make a burst that is screened before routing.
#[derive(Clone, Debug)]
pub struct IntakeLimits {
    pub per_address: i32,
    pub window: Duration,
    /// `None`: bursts are not held.
    pub burst_per_unit: Option<i64>,
    pub burst_window: Duration,
}

impl IntakeLimits {
    pub fn from_settings(s: &crate::config::IntakeSettings) -> Self {
        Self {
            per_address: s.max_filings_per_address,
            window: Duration::seconds(s.filing_window_seconds),
            burst_per_unit: (s.burst_per_unit > 0).then_some(s.burst_per_unit),
            burst_window: Duration::seconds(s.burst_window_seconds),
        }
    }
}

/// When callbacks fall due and when they end unanswered.
#[derive(Clone, Copy, Debug)]
pub struct CallbackRules {
    /// The callback is due from the start of this working day after closing.
    pub after_workdays: u32,
    /// Unanswered attempts on this many different days end it: unreachable.
    pub unreachable_days: usize,
}

/// Which earlier cases a new one may repeat: how far back to look and how
/// similar a title must be.
#[derive(Clone, Copy, Debug)]
pub struct DuplicateRules {
    pub window: Duration,
    /// Percent, 1–100.
    pub min_similarity: i32,
}
