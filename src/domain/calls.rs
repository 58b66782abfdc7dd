//! Hotline calls: every call an operator takes is logged with its
//! disposition; a `complaint` disposition files a complaint (channel
//! `hotline`) received at the moment the call started.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::auth::Actor;
use crate::auth::policy::{self, Action};
use crate::db::calls::{self as rows, CallFilter, NewCall};
use crate::db::{self, DbConn};
use crate::domain::audit::AuditActor;
use crate::domain::fields::Reader;
use crate::domain::idempotency::{self, IdemRequest, Outcome};
use crate::domain::intake::{self, IntakeEnv};
use crate::error::{AppResult, FieldErrors};

pub const DISPOSITIONS: &[&str] = &["answered", "consultation", "complaint", "invalid"];
const CALL_FIELDS: &[&str] = &[
    "caller_phone",
    "started_at",
    "duration_seconds",
    "summary",
    "disposition",
    "complaint",
];

/// A call as staff see it. The caller's number is sealed and not shown here.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CallView {
    pub id: i64,
    pub operator_id: i64,
    pub started_at: DateTime<Utc>,
    pub duration_seconds: i32,
    pub summary: String,
    pub disposition: String,
    pub tracking_no: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// The answer to logging a call: the call, and the new complaint's receipt.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoggedCall {
    #[serde(flatten)]
    pub call: CallView,
    pub query_code: Option<String>,
    pub status: Option<String>,
    pub received_at: Option<DateTime<Utc>>,
}

/// Logs a call (operator only). `max_age` bounds how far back `started_at`
/// may lie; it may not lie in the future (one minute of clock skew allowed).
pub fn log_call(
    conn: &mut DbConn,
    env: &IntakeEnv,
    actor: &Actor,
    body: &Value,
    idem: Option<&IdemRequest>,
    max_age: Duration,
    now: DateTime<Utc>,
) -> AppResult<Outcome> {
    policy::require(actor, Action::LogCall)?;
    let mut errors = FieldErrors::new();
    let mut r = Reader::root(body, &mut errors);
    r.deny_unknown(CALL_FIELDS);
    let caller_phone = r.phone("caller_phone", false);
    let started_at = r.instant("started_at", true);
    if let Some(t) = started_at {
        if t > now + Duration::minutes(1) {
            r.errors.add("started_at", "must not be in the future");
        } else if t < now - max_age {
            r.errors.add(
                "started_at",
                format!("must be within the last {} days", max_age.num_days()),
            );
        }
    }
    let duration = r.integer("duration_seconds", true, 0, 86_400);
    let summary = r.text("summary", true, 1, 2_000, true);
    let disposition = r.choice("disposition", true, DISPOSITIONS);
    let complaint = if disposition.as_deref() == Some("complaint") {
        let today = started_at
            .unwrap_or(now)
            .with_timezone(&env.tz)
            .date_naive();
        r.object("complaint", true)
            .map(|mut c| intake::read_complaint(&mut c, caller_phone.as_deref(), today))
    } else {
        if r.present("complaint") {
            r.errors
                .add("complaint", "is only accepted with disposition complaint");
        }
        None
    };
    if !errors.is_empty() {
        if let Some(input) = &complaint {
            intake::check_references(conn, input, "complaint.", &mut errors)?;
        }
        return Err(errors.into_error());
    }
    let (started_at, duration, summary, disposition) = (
        started_at.expect("validated"),
        duration.expect("validated"),
        summary.expect("validated"),
        disposition.expect("validated"),
    );
    let (counter, _) = intake::tracking_counter(started_at, env.tz);
    let audit_actor = AuditActor::from(actor);
    idempotency::run(
        conn,
        &env.keys,
        idem,
        now,
        201,
        |c| match &complaint {
            Some(_) => Ok(db::reserve_counter(c, &counter)?),
            None => Ok(None),
        },
        |c, reserved| {
            let receipt = match &complaint {
                Some(input) => {
                    let mut errors = FieldErrors::new();
                    intake::check_references(c, input, "complaint.", &mut errors)?;
                    errors.finish()?;
                    let arrival = intake::Arrival {
                        channel: "hotline",
                        received_at: started_at,
                        actor: &audit_actor,
                        reserved,
                    };
                    Some(intake::receive(c, env, input, arrival, now)?)
                }
                None => None,
            };
            let now_db = db::to_db(now);
            let phone_enc = caller_phone
                .as_ref()
                .map(|p| env.keys.seal(p, "call/caller_phone"));
            let phone_hash = caller_phone.as_ref().map(|p| env.keys.phone_hash(p));
            let id = rows::insert(
                c,
                &NewCall {
                    operator_id: actor.user_id,
                    caller_phone_enc: phone_enc,
                    caller_phone_hash: phone_hash.as_deref(),
                    started_at: db::to_db(started_at),
                    duration_seconds: i32::try_from(duration).unwrap_or(i32::MAX),
                    summary: &summary,
                    disposition: &disposition,
                    complaint_id: receipt.as_ref().map(|(id, _)| *id),
                    created_at: now_db,
                },
            )?;
            metrics::counter!("duban_calls_logged_total", "disposition" => disposition.clone())
                .increment(1);
            let r = receipt.map(|(_, r)| r);
            let logged = LoggedCall {
                call: CallView {
                    id,
                    operator_id: actor.user_id,
                    started_at: db::from_db(db::to_db(started_at)),
                    duration_seconds: i32::try_from(duration).unwrap_or(i32::MAX),
                    summary: summary.clone(),
                    disposition: disposition.clone(),
                    tracking_no: r.as_ref().map(|r| r.tracking_no.clone()),
                    created_at: db::from_db(now_db),
                },
                query_code: r.as_ref().map(|r| r.query_code.clone()),
                status: r.as_ref().map(|r| r.status.clone()),
                received_at: r.as_ref().map(|r| r.received_at),
            };
            Ok(serde_json::to_value(logged).map_err(anyhow::Error::from)?)
        },
    )
}

/// Lists calls (operators and supervisors), newest first.
pub fn list_calls(
    conn: &mut DbConn,
    actor: &Actor,
    filter: &CallFilter,
    page: i64,
    per_page: i64,
) -> AppResult<(Vec<CallView>, i64)> {
    policy::require(actor, Action::ListCalls)?;
    let (offset, limit) = db::page_window(page, per_page);
    let (calls, total) = rows::list(conn, filter, offset, limit)?;
    let ids: Vec<i64> = calls.iter().filter_map(|c| c.complaint_id).collect();
    let numbers: std::collections::HashMap<i64, String> =
        db::complaints::tracking_numbers(conn, &ids)?
            .into_iter()
            .collect();
    let views = calls
        .into_iter()
        .map(|c| CallView {
            id: c.id,
            operator_id: c.operator_id,
            started_at: db::from_db(c.started_at),
            duration_seconds: c.duration_seconds,
            summary: c.summary,
            disposition: c.disposition,
            tracking_no: c.complaint_id.and_then(|id| numbers.get(&id).cloned()),
            created_at: db::from_db(c.created_at),
        })
        .collect();
    Ok((views, total))
}
