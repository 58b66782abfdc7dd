//! Hotline calls: every call an operator takes is logged with its
//! disposition; a `complaint` disposition files a complaint (channel
//! `hotline`) received at the moment the call started; a call about an
//! existing case (status inquiry, follow-up, supplement, callback) is written
//! on that case (docs/architecture.md, "The hotline desk").

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::auth::Actor;
use crate::auth::policy::{self, Action};
use crate::db::calls::{self as rows, CallFilter, NewCall};
use crate::db::complaints::{self as complaint_rows, Complaint};
use crate::db::{self, DbConn};
use crate::domain::audit::{self, AuditActor, Words};
use crate::domain::callbacks::{self, Attempt};
use crate::domain::command::Command;
use crate::domain::commands::{Disposition, LogCall};
use crate::domain::env::Env;
use crate::domain::idempotency::{self, IdemRequest, Outcome};
use crate::domain::intake;
use crate::domain::status::Status;
use crate::domain::{labels, supplements, workflow};
use crate::error::{AppError, AppResult, Code, FieldErrors};

/// What came of a call (see [`Disposition`]).
pub const DISPOSITIONS: &[&str] = Disposition::CODES;

/// A call as staff see it. The caller's number is sealed and not shown here.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CallView {
    pub id: i64,
    pub operator_id: i64,
    pub started_at: DateTime<Utc>,
    pub duration_seconds: i32,
    pub summary: String,
    pub disposition: String,
    pub disposition_label: &'static str,
    /// The case the call filed or was about.
    pub tracking_no: Option<String>,
    /// `110`, `12345`, `12388` or `other` (then `transferred_to_name`).
    pub transferred_to: Option<String>,
    pub transferred_to_name: Option<String>,
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

/// What a call about an existing case carries besides its number.
enum Linked {
    StatusInquiry,
    FollowUp,
    Supplement(String),
    Callback(Attempt),
}

/// A call read from its body, every field checked.
struct CallInput {
    caller_phone: Option<String>,
    started_at: DateTime<Utc>,
    duration: i64,
    summary: String,
    disposition: String,
    complaint: Option<intake::ComplaintInput>,
    linked: Option<(String, Linked)>,
    transfer: Option<(String, Option<String>)>,
}

impl From<LogCall> for CallInput {
    fn from(cmd: LogCall) -> Self {
        let disposition = cmd.disposition;
        let what = match disposition {
            Disposition::StatusInquiry => Some(Linked::StatusInquiry),
            Disposition::FollowUp => Some(Linked::FollowUp),
            Disposition::Supplement => cmd.supplement.map(|s| Linked::Supplement(s.into())),
            Disposition::Callback => cmd.callback.map(|a| Linked::Callback(a.into())),
            _ => None,
        };
        let caller_phone = cmd.caller_phone.map(|p| p.into_inner());
        CallInput {
            started_at: cmd.started_at.0,
            duration: cmd.duration_seconds.get(),
            summary: cmd.summary.into_inner(),
            disposition: disposition.as_str().to_owned(),
            complaint: cmd
                .complaint
                .map(|c| intake::ComplaintInput::from_command(c, caller_phone.as_deref())),
            linked: cmd.tracking_no.map(String::from).zip(what),
            transfer: cmd.transferred_to.map(|t| {
                (
                    t.as_str().to_owned(),
                    cmd.transferred_to_name.map(String::from),
                )
            }),
            caller_phone,
        }
    }
}

/// Logs a call (operator only). `max_age` bounds how far back `started_at`
/// may lie; it may not lie in the future (one minute of clock skew allowed).
/// A call about an existing case is written on that case (its timeline for
/// the office; a chase is counted, a supplement is added and sent to the
/// unit, a callback attempt recorded) in the same transaction.
pub fn log_call(
    conn: &mut DbConn,
    env: &Env,
    actor: &Actor,
    cmd: LogCall,
    idem: Option<&IdemRequest>,
    now: DateTime<Utc>,
) -> AppResult<Outcome> {
    policy::require(actor, <LogCall as Command>::ACTION)?;
    let input = CallInput::from(cmd);
    let (counter, _) = intake::tracking_counter(input.started_at, env.tz);
    let audit_actor = AuditActor::from(actor);
    idempotency::run(
        conn,
        &env.keys,
        idem,
        now,
        201,
        |c| match &input.complaint {
            Some(_) => Ok(db::reserve_counter(c, &counter)?),
            None => Ok(None),
        },
        |c, reserved| {
            let receipt = match &input.complaint {
                Some(complaint) => {
                    let mut errors = FieldErrors::new();
                    intake::check_references(c, complaint, "complaint.", &mut errors)?;
                    errors.finish()?;
                    let arrival = intake::Arrival {
                        channel: "hotline",
                        received_at: input.started_at,
                        actor: &audit_actor,
                        reserved,
                    };
                    Some(intake::receive(c, env, complaint, arrival, now)?)
                }
                None => None,
            };
            let case = match &input.linked {
                Some((no, _)) => Some(workflow::lock_case(c, no).map_err(|e| match e {
                    AppError::NotFound => AppError::field("tracking_no", Code::NotACase),
                    e => e,
                })?),
                None => None,
            };
            let now_db = db::to_db(now);
            let phone_enc = input
                .caller_phone
                .as_ref()
                .map(|p| env.keys.seal(p, "call/caller_phone"));
            let phone_hash = input.caller_phone.as_ref().map(|p| env.keys.phone_hash(p));
            let (transferred_to, transferred_to_name) = match &input.transfer {
                Some((to, name)) => (Some(to.as_str()), name.as_deref()),
                None => (None, None),
            };
            let id = rows::insert(
                c,
                &NewCall {
                    operator_id: actor.user_id,
                    caller_phone_enc: phone_enc,
                    caller_phone_hash: phone_hash.as_deref(),
                    started_at: db::to_db(input.started_at),
                    duration_seconds: i32::try_from(input.duration).unwrap_or(i32::MAX),
                    summary: &input.summary,
                    disposition: &input.disposition,
                    complaint_id: receipt
                        .as_ref()
                        .map(|(id, _)| *id)
                        .or(case.as_ref().map(|k| k.id)),
                    created_at: now_db,
                    transferred_to,
                    transferred_to_name,
                },
            )?;
            if let (Some(case), Some((_, what))) = (&case, &input.linked) {
                on_case(
                    c,
                    env,
                    actor,
                    case,
                    what,
                    id,
                    input.caller_phone.as_deref(),
                    now,
                )?;
            }
            metrics::counter!("duban_calls_logged_total", "disposition" => input.disposition.clone())
                .increment(1);
            let r = receipt.map(|(_, r)| r);
            let logged = LoggedCall {
                call: CallView {
                    id,
                    operator_id: actor.user_id,
                    started_at: db::from_db(db::to_db(input.started_at)),
                    duration_seconds: i32::try_from(input.duration).unwrap_or(i32::MAX),
                    summary: input.summary.clone(),
                    disposition_label: labels::disposition_label(&input.disposition),
                    disposition: input.disposition.clone(),
                    tracking_no: r
                        .as_ref()
                        .map(|r| r.tracking_no.clone())
                        .or(case.as_ref().map(|k| k.tracking_no.clone())),
                    transferred_to: transferred_to.map(str::to_owned),
                    transferred_to_name: transferred_to_name.map(str::to_owned),
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

/// What a call about an existing case does to it (its row is locked).
#[allow(clippy::too_many_arguments)]
fn on_case(
    conn: &mut DbConn,
    env: &Env,
    actor: &Actor,
    case: &Complaint,
    what: &Linked,
    call_id: i64,
    caller_phone: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let by = AuditActor::from(actor);
    let status = Status::of(&case.status)?;
    let (open, sent) = (status.is_open(), status.is_with_unit());
    let record = |conn: &mut DbConn, action: &str, words: Words| {
        audit::record_case(conn, case.id, &case.tracking_no, &by, action, &words, now)
    };
    match what {
        Linked::StatusInquiry => record(
            conn,
            "call_status_inquiry",
            Words::new(format!(
                "群众来电查询办理进度（当前：{}）",
                labels::status_label(&case.status)
            )),
        )?,
        Linked::FollowUp => {
            if !open {
                return Err(AppError::Conflict(format!(
                    "a case that is {} cannot be chased: log a status inquiry or a callback",
                    case.status
                )));
            }
            let n = complaint_rows::add_follow_up(conn, case.id)?;
            let mut words = Words::new(format!("群众来电催办（第{n}次）"));
            if sent {
                words = words.to_unit(format!("群众来电催办（第{n}次），请抓紧办理"));
            }
            record(conn, "follow_up", words)?;
        }
        Linked::Supplement(text) => {
            if !open {
                return Err(AppError::Conflict(format!(
                    "facts are added to an open case; this one is {}",
                    case.status
                )));
            }
            supplements::add(
                conn,
                env,
                case,
                supplements::Source::Call {
                    call_id,
                    caller_phone,
                },
                text,
                &by,
                now,
            )?;
        }
        Linked::Callback(attempt) => {
            callbacks::record(conn, env, actor, case, attempt, Some(call_id), now)?
        }
    }
    Ok(())
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
            disposition_label: labels::disposition_label(&c.disposition),
            disposition: c.disposition,
            tracking_no: c.complaint_id.and_then(|id| numbers.get(&id).cloned()),
            transferred_to: c.transferred_to,
            transferred_to_name: c.transferred_to_name,
            created_at: db::from_db(c.created_at),
        })
        .collect();
    Ok((views, total))
}
