//! The outbox worker: claims due e-mails (`FOR UPDATE SKIP LOCKED` on
//! PostgreSQL, so several instances never take the same row), sends them with
//! lettre over SMTP, and records the outcome. A failure is retried with
//! exponential backoff; after the configured attempts the row is `failed`
//! and its case is flagged for the office. Delivery is at least once; every
//! e-mail of a letter carries the letter's stable Message-ID.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tracing::instrument;

use crate::config::{AppEnv, SmtpSettings};
use crate::db::letters::{self as rows, OutboxRow};
use crate::db::{self, DbConn, Pool};
use crate::error::{AppError, AppResult};
use crate::jobs::runner::Jobs;
use crate::state::Clock;

/// How long a claim keeps other workers off a row.
const LEASE_SECONDS: i64 = 120;
const BATCH: i64 = 20;
const MAX_BACKOFF_SECONDS: i64 = 3600;

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    pub fn new(s: &SmtpSettings) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&s.url)?
            .timeout(Some(Duration::from_secs(s.timeout_seconds)))
            .build();
        Ok(Self {
            transport,
            from: s.from.parse()?,
        })
    }

    async fn send(&self, row: &OutboxRow) -> anyhow::Result<()> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(row.recipient.parse()?)
            .subject(row.subject.clone())
            .message_id(Some(row.message_id.clone()))
            .header(ContentType::TEXT_PLAIN);
        if let Some(cc) = row.cc.as_deref().filter(|c| !c.is_empty()) {
            builder = builder.cc(cc.parse()?);
        }
        let message = builder.body(row.body.clone())?;
        self.transport.send(message).await?;
        Ok(())
    }
}

/// Whether this instance can deliver the outbox's e-mail, and if not why
/// (docs/architecture.md, "Mail"). Shown by `/readyz` and the metric
/// `duban_outbox_deliverable`; in production anything but `Smtp` or a
/// stated `Disabled` stops `duban serve` from starting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// A usable SMTP URL: the worker sends.
    Smtp,
    /// `smtp.disabled`: letters wait on purpose.
    Disabled,
    /// No `DUBAN_SMTP_URL`.
    NoSmtpUrl,
    /// `DUBAN_SMTP_URL` is set but lettre cannot use it (or the sender
    /// address `smtp.from` is not an address).
    UnusableSmtpUrl,
}

impl Delivery {
    pub fn of(s: &SmtpSettings) -> Self {
        if s.disabled {
            Self::Disabled
        } else if s.url.trim().is_empty() {
            Self::NoSmtpUrl
        } else if Mailer::new(s).is_err() {
            Self::UnusableSmtpUrl
        } else {
            Self::Smtp
        }
    }

    pub fn deliverable(self) -> bool {
        self == Self::Smtp
    }

    /// The code `/readyz` gives.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Smtp => "smtp",
            Self::Disabled => "disabled",
            Self::NoSmtpUrl => "no_smtp_url",
            Self::UnusableSmtpUrl => "unusable_smtp_url",
        }
    }

    /// What it means, for whoever reads `/readyz` or the log. Never the URL
    /// itself: it may carry the mail server's password.
    pub fn note(self) -> &'static str {
        match self {
            Self::Smtp => "letters and notices are sent through the configured SMTP server",
            Self::Disabled => {
                "mail delivery is switched off (smtp.disabled): letters and notices wait in the outbox"
            }
            Self::NoSmtpUrl => {
                "no SMTP server is configured (DUBAN_SMTP_URL): letters and notices wait in the outbox"
            }
            Self::UnusableSmtpUrl => {
                "DUBAN_SMTP_URL (or smtp.from) cannot be used: give smtp:// or smtps:// with a host, \
                 e.g. smtp://mail.example:25; letters and notices wait in the outbox"
            }
        }
    }
}

/// `duban serve` with `APP_ENV=production` does not start when its letters
/// could not go out, unless the settings say they are meant to wait.
pub fn check_production(env: AppEnv, s: &SmtpSettings) -> anyhow::Result<()> {
    let delivery = Delivery::of(s);
    if env != AppEnv::Production || matches!(delivery, Delivery::Smtp | Delivery::Disabled) {
        return Ok(());
    }
    anyhow::bail!(
        "APP_ENV=production and {}. Set DUBAN_SMTP_URL to the mail server \
         (e.g. smtp://mail.example:25 or smtps://user:password@mail.example:465), or set \
         DUBAN_SMTP__DISABLED=true if letters are meant to wait in the outbox",
        delivery.note()
    )
}

/// The wait before retry number `attempt` (1-based).
pub fn backoff(base_seconds: i64, attempt: i32) -> chrono::Duration {
    let exp = u32::try_from(attempt.clamp(1, 20) - 1).unwrap_or(0);
    chrono::Duration::seconds(
        base_seconds
            .saturating_mul(1_i64 << exp)
            .min(MAX_BACKOFF_SECONDS),
    )
}

async fn on_pool<T: Send + 'static>(
    pool: &Pool,
    f: impl FnOnce(&mut DbConn) -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = pool.get()?;
        f(&mut conn)
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?
}

/// What one pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pass {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
}

/// Claims and sends what is due at `now`.
#[instrument(skip_all)]
pub async fn run_once(
    pool: &Pool,
    mailer: &Mailer,
    s: &SmtpSettings,
    now: DateTime<Utc>,
) -> AppResult<Pass> {
    let now_db = db::to_db(now);
    let lease = db::to_db(now + chrono::Duration::seconds(LEASE_SECONDS));
    let claimed = on_pool(pool, move |c| {
        Ok(db::write_tx(c, |tx| {
            rows::claim_due(tx, now_db, lease, BATCH)
        })?)
    })
    .await?;
    let mut pass = Pass::default();
    for row in claimed {
        let result = mailer.send(&row).await;
        let (max, base) = (s.max_attempts, s.backoff_base_seconds);
        let id = row.id;
        match result {
            Ok(()) => {
                on_pool(pool, move |c| Ok(rows::mark_sent(c, id, now_db)?)).await?;
                tracing::info!(outbox.id = id, "e-mail sent");
                pass.sent += 1;
            }
            Err(e) => {
                // The error names the server and the failure, never the body.
                let error: String = e.to_string().chars().take(500).collect();
                let attempt = row.attempts + 1;
                let give_up = attempt >= max;
                let retry_at = (!give_up).then(|| db::to_db(now + backoff(base, attempt)));
                let complaint = row.complaint_id;
                let logged = error.clone();
                on_pool(pool, move |c| {
                    db::write_tx(c, |tx| -> AppResult<()> {
                        rows::mark_failed_attempt(tx, id, &error, retry_at)?;
                        if give_up && let Some(cid) = complaint {
                            crate::domain::letters::delivery_failed(tx, cid, now)?;
                        }
                        Ok(())
                    })
                })
                .await?;
                if give_up {
                    tracing::error!(outbox.id = id, attempts = attempt, error = %logged, "e-mail failed for good; case flagged");
                    pass.failed += 1;
                } else {
                    tracing::warn!(outbox.id = id, attempts = attempt, error = %logged, "e-mail failed; will retry");
                    pass.retried += 1;
                }
            }
        }
    }
    Ok(pass)
}

/// The worker loop of `duban serve`, given what [`Delivery::of`] found for
/// `settings`. Without a usable SMTP URL, or with delivery disabled, e-mails
/// wait (and the log says which).
pub fn spawn(jobs: &Jobs, pool: Pool, settings: SmtpSettings, delivery: Delivery, clock: Clock) {
    let mailer = match delivery {
        Delivery::Smtp => match Mailer::new(&settings) {
            Ok(m) => m,
            Err(_) => return,
        },
        Delivery::Disabled => {
            tracing::info!(reason = delivery.reason(), "{}", delivery.note());
            return;
        }
        Delivery::NoSmtpUrl | Delivery::UnusableSmtpUrl => {
            tracing::warn!(reason = delivery.reason(), "{}", delivery.note());
            return;
        }
    };
    let every = Duration::from_millis(settings.poll_interval_ms.max(50));
    let (mailer, settings) = (Arc::new(mailer), Arc::new(settings));
    jobs.spawn_periodic("outbox", every, move || {
        let (pool, mailer, settings, clock) = (
            pool.clone(),
            mailer.clone(),
            settings.clone(),
            clock.clone(),
        );
        async move {
            if let Err(e) = run_once(&pool, &mailer, &settings, clock.now()).await {
                tracing::warn!(error = %e, "outbox pass failed");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff(30, 1).num_seconds(), 30);
        assert_eq!(backoff(30, 2).num_seconds(), 60);
        assert_eq!(backoff(30, 5).num_seconds(), 480);
        assert_eq!(backoff(30, 30).num_seconds(), 3600);
    }
}
