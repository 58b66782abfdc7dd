//! Callbacks (回访, docs/architecture.md, "The hotline desk"): when a case
//! closes its callback falls due from the next working day (or is marked not
//! possible: an anonymous complainant, or no phone number); the operator asks
//! for the number with a reason (an audit event naming the operator); each
//! attempt is kept; three days without an answer close the callback as
//! unreachable; an unsatisfied answer puts the case on the office's queue.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::auth::Actor;
use crate::auth::policy::{self, Action};
use crate::db::callbacks::{self as rows, NewCallbackAttempt};
use crate::db::complaints::{self as complaint_rows, Complaint};
use crate::db::{self, DbConn};
use crate::domain::audit::{self, AuditActor, Words};
use crate::domain::command::Command;
use crate::domain::commands::{CallbackAttempt, ContactRequest};
use crate::domain::env::Env;
use crate::domain::intake;
use crate::domain::labels;
use crate::domain::status::Status;
use crate::domain::workflow;
use crate::error::{AppError, AppResult};

pub const OUTCOMES: &[&str] = &["reached", "no_answer", "refused"];

pub use crate::domain::env::CallbackRules;

/// One attempt as the operator records it.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub outcome: String,
    pub satisfaction: Option<String>,
    pub note: Option<String>,
}

impl From<CallbackAttempt> for Attempt {
    fn from(a: CallbackAttempt) -> Self {
        Attempt {
            outcome: a.outcome.as_str().to_owned(),
            satisfaction: a.satisfaction.map(|s| s.as_str().to_owned()),
            note: a.note.map(String::from),
        }
    }
}

/// Records an attempt on a closed case (the caller holds the case's lock).
pub fn record(
    conn: &mut DbConn,
    env: &Env,
    actor: &Actor,
    c: &Complaint,
    a: &Attempt,
    call_id: Option<i64>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    if Status::of(&c.status)? != Status::Closed {
        return Err(AppError::Conflict(format!(
            "a callback is made on a closed case; this one is {}",
            c.status
        )));
    }
    if c.callback_status.as_deref() == Some("not_possible") {
        return Err(AppError::Conflict(
            "no callback possible: the complainant is anonymous or left no phone number".into(),
        ));
    }
    let now_db = db::to_db(now);
    rows::insert(
        conn,
        &NewCallbackAttempt {
            complaint_id: c.id,
            call_id,
            operator_id: actor.user_id,
            outcome: &a.outcome,
            satisfaction: a.satisfaction.as_deref(),
            note: a.note.as_deref(),
            attempted_at: now_db,
            created_at: now_db,
        },
    )?;
    let current = c.callback_status.as_deref();
    let (status, summary) = match a.outcome.as_str() {
        "reached" => {
            let satisfaction = a.satisfaction.as_deref().unwrap_or("satisfied");
            crate::domain::workflow::store_satisfaction(
                conn,
                c,
                "callback",
                satisfaction,
                a.note.as_deref(),
                Some(actor.user_id),
                now,
            )?;
            (
                "reached".to_owned(),
                format!("回访：{}", labels::satisfaction_label(satisfaction)),
            )
        }
        "refused" => (
            if current == Some("reached") {
                "reached"
            } else {
                "refused"
            }
            .to_owned(),
            "回访：群众拒绝接受回访".to_owned(),
        ),
        _ => {
            let days = unanswered_days(conn, env, c.id)?;
            if current == Some("due") && days >= env.callbacks.unreachable_days {
                (
                    "unreachable".to_owned(),
                    format!("回访未接通（{days}个不同日期），回访结束：无法联系"),
                )
            } else {
                (
                    current.unwrap_or("due").to_owned(),
                    format!("回访未接通（已有{days}个日期未接通）"),
                )
            }
        }
    };
    rows::set_state(conn, c.id, Some(&status), c.callback_due_at)?;
    // The unit is not told of callbacks: that the citizen could be called
    // back would tell it the complaint was not anonymous.
    audit::record_case(
        conn,
        c.id,
        &c.tracking_no,
        &AuditActor::from(actor),
        "callback",
        &Words::new(summary),
        now,
    )?;
    Ok(())
}

/// The different local days with an unanswered attempt.
fn unanswered_days(conn: &mut DbConn, env: &Env, id: i64) -> AppResult<usize> {
    let days: BTreeSet<_> = rows::for_cases(conn, &[id])?
        .into_iter()
        .filter(|a| a.outcome == "no_answer")
        .map(|a| {
            db::from_db(a.attempted_at)
                .with_timezone(&env.tz)
                .date_naive()
        })
        .collect();
    Ok(days.len())
}

/// One attempt as the callback list shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AttemptView {
    pub at: DateTime<Utc>,
    pub at_local: String,
    /// `reached`, `no_answer` or `refused`.
    pub outcome: String,
    pub outcome_label: &'static str,
    pub satisfaction: Option<String>,
    pub operator_id: i64,
}

/// A closed case whose callback is due.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DueCallback {
    pub tracking_no: String,
    pub title: String,
    pub responsible_unit: Option<String>,
    pub closed_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub due_at_local: String,
    pub attempts: Vec<AttemptView>,
}

pub fn outcome_label(outcome: &str) -> &'static str {
    match outcome {
        "reached" => "已联系",
        "no_answer" => "未接通",
        "refused" => "拒绝回访",
        _ => "其他",
    }
}

/// `GET /callbacks` (operator, supervisor): closed cases whose callback is
/// due, oldest first, with the attempts so far.
pub fn due(
    conn: &mut DbConn,
    env: &Env,
    actor: &Actor,
    page: i64,
    per_page: i64,
    now: DateTime<Utc>,
) -> AppResult<(Vec<DueCallback>, i64)> {
    policy::require(actor, Action::Callback)?;
    let (offset, limit) = db::page_window(page, per_page);
    let (cases, total) = rows::due(conn, db::to_db(now), offset, limit)?;
    let ids: Vec<i64> = cases.iter().map(|c| c.id).collect();
    let mut attempts: HashMap<i64, Vec<AttemptView>> = HashMap::new();
    for a in rows::for_cases(conn, &ids)? {
        let at = db::from_db(a.attempted_at);
        attempts
            .entry(a.complaint_id)
            .or_default()
            .push(AttemptView {
                at,
                at_local: labels::local_minute(at, env.tz),
                outcome_label: outcome_label(&a.outcome),
                outcome: a.outcome,
                satisfaction: a.satisfaction,
                operator_id: a.operator_id,
            });
    }
    let closed = db::assignments::closed_at(conn, &ids)?;
    let items = cases
        .into_iter()
        .map(|c| {
            let due_at = db::from_db(c.callback_due_at.unwrap_or(c.updated_at));
            DueCallback {
                closed_at: closed
                    .get(&c.id)
                    .copied()
                    .map_or(db::from_db(c.updated_at), db::from_db),
                due_at,
                due_at_local: labels::local_minute(due_at, env.tz),
                attempts: attempts.remove(&c.id).unwrap_or_default(),
                tracking_no: c.tracking_no,
                title: c.title,
                responsible_unit: c.responsible_unit_code,
            }
        })
        .collect();
    Ok((items, total))
}

/// The phone number for a callback.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Contact {
    pub phone: String,
}

/// `POST /complaints/{no}/callback/contact` (operator, supervisor): the
/// phone number of a closed case's complainant, for the callback. The read is
/// an audit event naming the reader and the reason, written before the
/// number is opened: if the record fails, nothing is shown.
pub fn contact(
    conn: &mut DbConn,
    env: &Env,
    actor: &Actor,
    no: &str,
    cmd: ContactRequest,
    now: DateTime<Utc>,
) -> AppResult<Contact> {
    policy::require(actor, <ContactRequest as Command>::ACTION)?;
    let reason = cmd.reason.into_inner();
    db::write_tx(conn, |tx| {
        let c = crate::domain::workflow::lock_case(tx, no)?;
        if Status::of(&c.status)? != Status::Closed {
            return Err(AppError::Conflict(format!(
                "the number is given for a callback on a closed case; this one is {}",
                c.status
            )));
        }
        let sealed = complaint_rows::identity(tx, c.id)?;
        let phone_enc = sealed.as_ref().and_then(|s| s.phone_enc.clone());
        let (false, Some(phone_enc)) = (c.anonymous, phone_enc) else {
            return Err(AppError::Conflict(
                "no callback possible: the complainant is anonymous or left no phone number".into(),
            ));
        };
        audit::record_case(
            tx,
            c.id,
            &c.tracking_no,
            &AuditActor::from(actor),
            "contact_viewed",
            &Words::new(format!(
                "{}为回访查看联系电话，理由：{reason}",
                labels::role_label(actor.role.as_str())
            )),
            now,
        )?;
        let phone = env
            .keys
            .open(&phone_enc, &intake::seal_context(&c.tracking_no, "phone"))
            .map_err(AppError::Internal)?;
        Ok(Contact { phone })
    })
}

/// `POST /complaints/{no}/callback` (operator, supervisor): an attempt to
/// call the citizen back about a closed case (docs/architecture.md, "The
/// hotline desk"): `reached` with their satisfaction, `no_answer` or
/// `refused`.
pub fn callback(
    conn: &mut DbConn,
    env: &Env,
    actor: &Actor,
    no: &str,
    cmd: CallbackAttempt,
    now: DateTime<Utc>,
) -> AppResult<workflow::CaseState> {
    policy::require(actor, <CallbackAttempt as Command>::ACTION)?;
    let attempt = Attempt::from(cmd);
    workflow::with_case(conn, no, now, |conn, c| {
        record(conn, env, actor, &c, &attempt, None, now)?;
        workflow::state_of(conn, c.id)
    })
}
