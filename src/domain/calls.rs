//! Hotline calls: every call an operator takes is logged with its
//! disposition; a `complaint` disposition files a complaint (channel
//! `hotline`) received at the moment the call started; a call about an
//! existing case (status inquiry, follow-up, supplement, callback) is written
//! on that case (docs/architecture.md, "The hotline desk").

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::auth::Actor;
use crate::auth::policy::{self, Action};
use crate::db::calls::{self as rows, CallFilter, NewCall};
use crate::db::complaints::{self as complaint_rows, Complaint};
use crate::db::{self, DbConn};
use crate::domain::audit::{self, AuditActor, Words};
use crate::domain::callbacks::{self, Attempt};
use crate::domain::fields::Reader;
use crate::domain::idempotency::{self, IdemRequest, Outcome};
use crate::domain::intake::{self, IntakeEnv};
use crate::domain::{labels, supplements, workflow};
use crate::error::{AppError, AppResult, FieldErrors};

/// What came of a call. The first four stand alone (a `complaint` files a
/// new case); the next four are about an existing case, named by
/// `tracking_no`; `transferred` passes the caller to another line.
pub const DISPOSITIONS: &[&str] = &[
    "answered",
    "consultation",
    "complaint",
    "invalid",
    "status_inquiry",
    "follow_up",
    "supplement",
    "callback",
    "transferred",
];
/// The dispositions about an existing case.
pub const LINKED: &[&str] = &["status_inquiry", "follow_up", "supplement", "callback"];
/// The lines a call may be passed to; `other` names the body.
pub const TRANSFER_TARGETS: &[&str] = &["110", "12345", "12388", "other"];
const CALL_FIELDS: &[&str] = &[
    "caller_phone",
    "started_at",
    "duration_seconds",
    "summary",
    "disposition",
    "complaint",
    "tracking_no",
    "supplement",
    "callback",
    "transferred_to",
    "transferred_to_name",
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

fn read_call(
    conn: &mut DbConn,
    env: &IntakeEnv,
    body: &Value,
    max_age: Duration,
    now: DateTime<Utc>,
) -> AppResult<CallInput> {
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
    let d = disposition.as_deref().unwrap_or("");
    let only = |r: &mut Reader<'_>, name: &str, when: bool, what: &str| {
        if !when && r.present(name) {
            r.errors
                .add(name, format!("is only accepted with disposition {what}"));
        }
    };
    let complaint = if d == "complaint" {
        let today = started_at
            .unwrap_or(now)
            .with_timezone(&env.tz)
            .date_naive();
        r.object("complaint", true)
            .map(|mut c| intake::read_complaint(&mut c, caller_phone.as_deref(), today))
    } else {
        None
    };
    only(&mut r, "complaint", d == "complaint", "complaint");
    let linked_case = LINKED.contains(&d);
    let tracking_no = if linked_case {
        r.text("tracking_no", true, 1, 40, false)
    } else {
        None
    };
    only(
        &mut r,
        "tracking_no",
        linked_case,
        LINKED.join(", ").as_str(),
    );
    let supplement = if d == "supplement" {
        r.text("supplement", true, 5, 10_000, true)
    } else {
        None
    };
    only(&mut r, "supplement", d == "supplement", "supplement");
    let attempt = if d == "callback" {
        r.object("callback", true).and_then(|mut c| {
            c.deny_unknown(&["outcome", "satisfaction", "note"]);
            callbacks::read_attempt(&mut c)
        })
    } else {
        None
    };
    only(&mut r, "callback", d == "callback", "callback");
    let transfer = if d == "transferred" {
        let to = r.choice("transferred_to", true, TRANSFER_TARGETS);
        let name = r.text(
            "transferred_to_name",
            to.as_deref() == Some("other"),
            1,
            100,
            false,
        );
        if to.as_deref().is_some_and(|t| t != "other") && name.is_some() {
            r.errors.add(
                "transferred_to_name",
                "is given only when transferred_to is other",
            );
        }
        to.map(|t| (t, name))
    } else {
        None
    };
    only(&mut r, "transferred_to", d == "transferred", "transferred");
    only(
        &mut r,
        "transferred_to_name",
        d == "transferred",
        "transferred",
    );
    if !errors.is_empty() {
        if let Some(input) = &complaint {
            intake::check_references(conn, input, "complaint.", &mut errors)?;
        }
        return Err(errors.into_error());
    }
    let linked = tracking_no.map(|no| {
        let what = match d {
            "status_inquiry" => Linked::StatusInquiry,
            "follow_up" => Linked::FollowUp,
            "supplement" => Linked::Supplement(supplement.clone().expect("validated")),
            _ => Linked::Callback(attempt.clone().expect("validated")),
        };
        (no, what)
    });
    Ok(CallInput {
        caller_phone,
        started_at: started_at.expect("validated"),
        duration: duration.expect("validated"),
        summary: summary.expect("validated"),
        disposition: disposition.expect("validated"),
        complaint,
        linked,
        transfer,
    })
}

/// Logs a call (operator only). `max_age` bounds how far back `started_at`
/// may lie; it may not lie in the future (one minute of clock skew allowed).
/// A call about an existing case is written on that case (its timeline for
/// the office; a chase is counted, a supplement is added and sent to the
/// unit, a callback attempt recorded) in the same transaction.
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
    let input = read_call(conn, env, body, max_age, now)?;
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
                    AppError::NotFound => {
                        AppError::field("tracking_no", "is not a known case's tracking number")
                    }
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
    env: &IntakeEnv,
    actor: &Actor,
    case: &Complaint,
    what: &Linked,
    call_id: i64,
    caller_phone: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let by = AuditActor::from(actor);
    let open = workflow::OPEN_STATUSES.contains(&case.status.as_str());
    let sent = matches!(
        case.status.as_str(),
        "assigned" | "in_progress" | "reported"
    );
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
