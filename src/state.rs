//! What every handler shares: the pool, settings, keys, the clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use actix_web::web;
use chrono::{DateTime, Duration, Utc};

use crate::auth::token::TokenKeys;
use crate::config::Settings;
use crate::db::{DbConn, Pool};
use crate::domain::calendar::Calendar;
use crate::domain::env::Env;
use crate::domain::escalation::Ladder;
use crate::domain::throttle::Limits;
use crate::error::{AppError, AppResult};

/// The service clock. Production reads the system time; tests move it
/// forward instead of sleeping.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Moves this clock (and every copy of it) forward by `d`.
    pub fn advance(&self, d: Duration) {
        self.offset_ms
            .fetch_add(d.num_milliseconds(), Ordering::Relaxed);
    }

    /// Sets the clock so that `now()` is about `t`.
    pub fn set(&self, t: DateTime<Utc>) {
        self.offset_ms
            .store((t - Utc::now()).num_milliseconds(), Ordering::Relaxed);
    }
}

pub struct AppState {
    pub pool: Pool,
    pub settings: Arc<Settings>,
    pub tokens: TokenKeys,
    pub intake: Env,
    pub tracking: Limits,
    pub login: Limits,
    pub calendar: Arc<Calendar>,
    /// The escalation ladder with the accountability catalogue.
    pub ladder: Arc<Ladder>,
    pub clock: Clock,
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// The group-commit writer for intake (`None` runs writes directly).
    pub writer: Option<crate::db::batch::GroupWriter>,
    /// Whether the outbox's e-mail can go out from this instance.
    pub delivery: crate::jobs::outbox::Delivery,
    /// This instance's periodic jobs, watched and stopped at shutdown.
    pub jobs: crate::jobs::runner::Jobs,
    /// The audit log's keys (never in the database).
    pub audit: Arc<crate::domain::merkle::AuditKeys>,
}

impl AppState {
    /// What a read needs to show dates and lateness: zone, calendar, time.
    pub fn reading(&self, now: DateTime<Utc>) -> crate::domain::cases::Reading<'_> {
        crate::domain::cases::Reading {
            tz: self.intake.tz,
            calendar: &self.calendar,
            now,
        }
    }

    /// What parsing a command needs besides its fields, at `now`.
    pub fn context(&self, now: DateTime<Utc>) -> crate::domain::command::Context<'_> {
        crate::domain::command::Context {
            now,
            tz: self.intake.tz,
            oldest_call: now
                - crate::domain::intake::hotline_window(self.settings.intake.hotline_max_age_days),
            situations: &self.ladder.catalogue,
        }
    }

    /// Parses a command from `body` (docs/architecture.md, *Commands*). A
    /// refusal names every bad field, and also the unknown codes among the
    /// good ones (looked up only then: an accepted command is checked in
    /// its own transaction).
    pub async fn parse<C: crate::domain::command::Fields>(
        &self,
        body: &serde_json::Value,
        source: crate::domain::command::Source,
    ) -> AppResult<C> {
        let refused = {
            let context = self.context(self.clock.now());
            match crate::domain::command::parse::<C>(body, source, &context) {
                Ok(c) => return Ok(c),
                Err(r) => r,
            }
        };
        if refused.references.is_empty() {
            return Err(refused.into());
        }
        Err(self.db(move |c| Ok(refused.check_references(c))).await?)
    }

    /// Runs a short write job whose answer the caller waits for, such as
    /// filing a complaint, through the group-commit writer (one commit for
    /// all the filings waiting at that moment). The job's own `write_tx`
    /// becomes a savepoint there.
    pub async fn db_write<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut DbConn) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        match &self.writer {
            Some(w) => w.run(f).await,
            None => self.db(f).await,
        }
    }

    /// Runs `f` with a pooled connection on the blocking pool (diesel is
    /// synchronous). No connection within the timeout is a 503.
    pub async fn db<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut DbConn) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        web::block(move || {
            let mut conn = pool.get().map_err(AppError::from)?;
            f(&mut conn)
        })
        .await?
    }
}
