//! The case lifecycle (docs/architecture.md, "The case lifecycle"): routing
//! at intake, the supervisor's screen / assign / return decision / extension
//! decision / review / reopen, the unit's acknowledge / return / progress /
//! extension / report, and callbacks. Every action runs in one write
//! transaction with its audit event and any letter or notice; a transition
//! the current status does not allow is a 409 naming that status.
//!
//! The actions live by subject: `assign` (routing at intake and by hand),
//! `screen`, `handling` (the unit's work and the office's answers to its
//! requests), `closing` (review, callbacks, ratings, reopening); what they
//! share — the locked case, its status moves, the audit record — is here.
//!
//! Each event is worded for its three readers (see [`Words`]): the office,
//! the unit (what was done and when, never intake details, routing reasons or
//! merges) and the citizen.

mod assign;
mod closing;
mod handling;
mod screen;

use assign::assign_to;
pub use assign::{AssignOrder, HoldReason, assign, auto_route};
pub(crate) use closing::store_satisfaction;
pub use closing::{
    FeedbackReceipt, feedback_message, public_feedback, public_feedback_open, reopen, review,
};
pub use handling::{
    ExtensionCreated, acknowledge, add_progress, decide_extension, decide_publication,
    decide_return, request_extension, request_return, submit_report,
};
pub use screen::screen;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use tracing::instrument;

use crate::auth::Actor;
use crate::auth::policy::{self, Action};
use crate::config::ReturnWindow;
use crate::db::assignments::AssignmentChanges;
use crate::db::assignments::{self, Assignment, NewAssignment};
use crate::db::categories::Category;
use crate::db::complaints::{self as complaint_rows, CaseChanges, Complaint};
use crate::db::units::Unit;
use crate::db::workflow::{
    self as records, NewExtension, NewFeedback, NewProgressNote, NewRectificationItem, NewReport,
};
use crate::db::{self, DbConn};
use crate::domain::audit::{self, AuditActor, Words};
use crate::domain::calendar::effective_workdays;
use crate::domain::command::{Command, Workdays};
use crate::domain::commands::{
    AddProgress, Approval, AssignCase, Decide, FeedbackRequest, Reopen, ReopenDecision,
    RequestExtension, ReturnRequest, Review, ReviewDecision, Satisfaction, Screen, ScreenDecision,
    SubmitReport,
};
use crate::domain::env::Env;
use crate::domain::labels;
use crate::domain::letters::{self, LetterRequest, NoticeKind};
use crate::domain::routing::{self, Conflict, Facts, Target, UnitInfo};
use crate::domain::status::{Act, Status};
use crate::error::{AppError, AppResult, Code};

pub const SATISFACTION: &[&str] = crate::domain::commands::Satisfaction::CODES;
/// Defaults when a complaint has no category.
const DEFAULT_ACK_WORKDAYS: i32 = 1;
const DEFAULT_STATUTORY_WORKDAYS: i32 = 15;

/// The state of a case after an action.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseState {
    pub tracking_no: String,
    pub status: String,
    pub responsible_unit: Option<String>,
    pub ack_due_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub return_requested: bool,
    pub needs_confirmation: bool,
    /// An extension request waits for the office.
    pub extension_requested: bool,
    /// The deadlines were counted over a year whose State Council holiday
    /// notice is not in the calendar yet (statutory holidays only).
    pub deadlines_provisional: bool,
}

impl From<&Complaint> for CaseState {
    fn from(c: &Complaint) -> Self {
        Self {
            tracking_no: c.tracking_no.clone(),
            status: c.status.clone(),
            responsible_unit: c.responsible_unit_code.clone(),
            ack_due_at: c.ack_due_at.map(db::from_db),
            due_at: c.due_at.map(db::from_db),
            return_requested: c.return_requested,
            needs_confirmation: c.needs_confirmation,
            extension_requested: c.extension_requested,
            deadlines_provisional: c.calendar_provisional,
        }
    }
}

fn conflict_status(c: &Complaint) -> AppError {
    AppError::Conflict(format!("not possible while the case is {}", c.status))
}

/// Loads a case for change, locking its row on PostgreSQL (SQLite's write
/// transaction is exclusive already).
pub(crate) fn lock_case(conn: &mut DbConn, tracking_no: &str) -> AppResult<Complaint> {
    if !complaint_rows::storable(tracking_no) {
        return Err(AppError::NotFound);
    }
    let tracking_no = complaint_rows::normalise_tracking_no(tracking_no);
    complaint_rows::lock(conn, &tracking_no)?;
    complaint_rows::by_tracking_no(conn, &tracking_no)?.ok_or(AppError::NotFound)
}

/// The state of case `id` after an action.
pub(crate) fn state_of(conn: &mut DbConn, id: i64) -> AppResult<CaseState> {
    Ok(CaseState::from(&reload(conn, id)?))
}

fn reload(conn: &mut DbConn, id: i64) -> AppResult<Complaint> {
    complaint_rows::by_id(conn, id)?.ok_or(AppError::NotFound)
}

/// The case's status, and where `act` takes it (409 if it does not allow it).
fn apply(c: &Complaint, act: Act) -> AppResult<Status> {
    Status::of(&c.status)?.apply(act)
}

/// Changes the case's row.
fn change(conn: &mut DbConn, c: &Complaint, changes: CaseChanges<'_>) -> AppResult<()> {
    Ok(complaint_rows::update(conn, c.id, &changes)?)
}

fn unit(conn: &mut DbConn, code: &str) -> AppResult<Unit> {
    db::units::find(conn, code)?.ok_or(AppError::NotFound)
}

fn info(u: &Unit) -> UnitInfo {
    UnitInfo {
        code: u.code.clone(),
        name: u.name.clone(),
        parent_code: u.parent_code.clone(),
        leader_name: u.leader_name.clone(),
        leader_title: u.leader_title.clone(),
    }
}

fn record(
    conn: &mut DbConn,
    c: &Complaint,
    actor: &AuditActor,
    action: &str,
    words: Words,
    now: DateTime<Utc>,
) -> AppResult<()> {
    audit::record_case(conn, c.id, &c.tracking_no, actor, action, &words, now)?;
    Ok(())
}

/// " (逾期)" when `at` is past `due`.
fn late(at: chrono::NaiveDateTime, due: chrono::NaiveDateTime) -> &'static str {
    if at > due { "（逾期）" } else { "" }
}

/// The case's category, if it has one.
fn category(conn: &mut DbConn, c: &Complaint) -> AppResult<Option<Category>> {
    Ok(match &c.category_code {
        Some(code) => db::categories::find(conn, code)?,
        None => None,
    })
}

/// The category's limits: (ack, handle) working days.
fn limits(cat: Option<&Category>, factor: f64) -> (i32, i32) {
    match cat {
        Some(cat) => (cat.ack_workdays, cat.handle_workdays),
        None => (
            DEFAULT_ACK_WORKDAYS,
            effective_workdays(DEFAULT_STATUTORY_WORKDAYS, factor),
        ),
    }
}

/// Runs `f` on the locked case in one write transaction. Whatever `f`
/// changed, the escalation sweep looks at the case again at its next run
/// (or drops it from its schedule once the case is no longer open).
pub(crate) fn with_case<T>(
    conn: &mut DbConn,
    tracking_no: &str,
    now: DateTime<Utc>,
    f: impl FnOnce(&mut DbConn, Complaint) -> AppResult<T>,
) -> AppResult<T> {
    db::write_tx(conn, |c| {
        let case = lock_case(c, tracking_no)?;
        let id = case.id;
        let out = f(c, case)?;
        db::escalations::touch(c, id, db::to_db(now))?;
        // A case that left the open statuses asks nothing more of the office.
        complaint_rows::clear_flags_unless_open(c, id, crate::domain::status::OPEN_CODES)?;
        Ok(out)
    })
}

/// What the unit is told of an office decision, and how its timeline records
/// it.
struct Told<'a> {
    kind: NoticeKind,
    text: &'a str,
    action: &'a str,
    words: Words,
}

/// Tells the unit of an office decision in a notice, and records the event
/// on the case's timeline: the pair most decisions write.
fn tell_unit(
    conn: &mut DbConn,
    env: &Env,
    c: &Complaint,
    u: &Unit,
    by: &AuditActor,
    told: Told<'_>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    letters::notice(conn, &env.letters, c, u, told.kind, told.text, now)?;
    record(conn, c, by, told.action, told.words, now)?;
    Ok(())
}

/// The request `id` among a case's `items` that still waits for the office:
/// 404 when the case has none by that id, 409 (`already` words its state)
/// when it was decided.
fn pending<T>(
    items: Vec<T>,
    id: i64,
    key: impl Fn(&T) -> (i64, &String),
    already: impl FnOnce(&str) -> String,
) -> AppResult<T> {
    let item = items
        .into_iter()
        .find(|i| key(i).0 == id)
        .ok_or(AppError::NotFound)?;
    match key(&item).1.as_str() {
        "pending" => Ok(item),
        state => Err(AppError::Conflict(already(state))),
    }
}

/// A unit officer may act only on its own unit's cases; others are 404.
fn own_case(actor: &Actor, c: &Complaint) -> AppResult<()> {
    if policy::can_see_case(actor, c.responsible_unit_code.as_deref()) {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

/// A supervisor's `approve` or `deny`, with an optional `note`.
fn decision(cmd: Decide) -> (bool, Option<String>) {
    (
        cmd.decision == Approval::Approve,
        cmd.note.map(String::from),
    )
}

/// Working days as the clocks count them.
fn days(w: Option<Workdays>) -> Option<i32> {
    w.map(|w| w.get() as i32)
}
