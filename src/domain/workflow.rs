//! The case lifecycle (docs/architecture.md, "The case lifecycle"): routing
//! at intake, the supervisor's screen / assign / return decision / extension
//! decision / review / reopen, the unit's acknowledge / return / progress /
//! extension / report, and callbacks. Every action runs in one write
//! transaction with its audit event and any letter or notice; a transition
//! the current status does not allow is a 409 naming that status.
//!
//! Each event is worded for its three readers (see [`Words`]): the office,
//! the unit (what was done and when, never intake details, routing reasons or
//! merges) and the citizen.

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
    AddProgress, Approval, AssignCase, CallbackAttempt, Decide, FeedbackRequest, Reopen,
    ReopenDecision, RequestExtension, ReturnRequest, Review, ReviewDecision, Satisfaction, Screen,
    ScreenDecision, SubmitReport,
};
use crate::domain::intake::IntakeEnv;
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

/// The statuses of a case still open for work; leaving them clears every
/// flag that asks the office to act.
/// The stored text of the open statuses (see [`Status::OPEN`]).
pub const OPEN_STATUSES: &[&str] = &["received", "assigned", "in_progress", "reported"];

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

/// How an assignment comes about.
pub struct AssignOrder<'a> {
    pub how: &'a str,
    pub by: &'a AuditActor,
    pub handle_workdays: Option<i32>,
    pub note: Option<&'a str>,
    /// `Assign`, or `Reopen`: a reopened case goes straight back to work,
    /// acknowledged.
    pub act: Act,
}

/// Sends a case to `unit` with both clocks and a transfer letter. Ends the
/// case's open assignment, if any.
fn assign_to(
    conn: &mut DbConn,
    env: &IntakeEnv,
    c: &Complaint,
    unit: &Unit,
    order: AssignOrder<'_>,
    now: DateTime<Utc>,
) -> AppResult<Complaint> {
    let now_db = db::to_db(now);
    if let Some(open) = assignments::current(conn, c.id)? {
        assignments::end(conn, open.id, "reassigned", now_db)?;
        // A request the old unit made lapses with its assignment.
        records::lapse_pending_extensions(conn, c.id, now_db)?;
    }
    let cat = category(conn, c)?;
    let (ack_days, default_handle) = limits(cat.as_ref(), env.limit_factor);
    let handle_days = order.handle_workdays.unwrap_or(default_handle);
    let ack_due = env.calendar.due(now, ack_days as u32, env.tz);
    let due = env.calendar.due(now, handle_days as u32, env.tz);
    let provisional = ack_due.provisional || due.provisional;
    // The window the transfer letter states is the one the check applies.
    let return_due = match env.return_window {
        ReturnWindow::Acknowledge => ack_due.at,
        ReturnWindow::Handling => due.at,
    };
    // A reopened case goes back to the unit that signed for it.
    let acknowledged_at = (order.act == Act::Reopen).then_some(now_db);
    let a = assignments::insert(
        conn,
        &NewAssignment {
            complaint_id: c.id,
            unit_code: &unit.code,
            assigned_at: now_db,
            assigned_by: order.by.id,
            how: order.how,
            note: order.note,
            ack_workdays: ack_days,
            handle_workdays: handle_days,
            ack_due_at: db::to_db(ack_due.at),
            due_at: db::to_db(due.at),
            acknowledged_at,
            return_due_at: Some(db::to_db(return_due)),
            calendar_provisional: provisional,
        },
    )?;
    let status = apply(c, order.act)?;
    change(
        conn,
        c,
        CaseChanges {
            status: Some(status.as_str()),
            responsible_unit_code: Some(Some(&unit.code)),
            ack_due_at: Some(Some(a.ack_due_at)),
            due_at: Some(Some(a.due_at)),
            acknowledged_at: Some(acknowledged_at),
            return_requested: Some(false),
            needs_confirmation: Some(false),
            extension_requested: Some(false),
            calendar_provisional: Some(provisional),
            updated_at: Some(now_db),
            // The sweep works out this assignment's ladder at its next run.
            next_escalation_at: Some(Some(now_db)),
            ..Default::default()
        },
    )?;
    let updated = reload(conn, c.id)?;
    let category_name = cat.map(|x| x.name);
    let l = &env.letters;
    let letter_id = letters::issue(
        conn,
        l,
        LetterRequest {
            kind: crate::domain::letters::LetterKind::Transfer,
            complaint: &updated,
            unit,
            category_name,
            cc: None,
            history: Vec::new(),
            extra: json!({
                "ack_due_local": l.local_date(ack_due.at),
                "due_local": l.local_date(due.at),
                "return_due_local": l.local_date(return_due),
                "return_within_ack": env.return_window == ReturnWindow::Acknowledge,
                "handle_workdays": handle_days,
                "note": order.note,
                "provisional": provisional,
            }),
        },
        now,
    )?;
    let number = letters::numbers(conn, &[letter_id])?
        .remove(&letter_id)
        .unwrap_or_default();
    let (ack_local, due_local) = (l.local_date(ack_due.at), l.local_date(due.at));
    let words = Words::new(format!(
        "{}至{}（{}），签收期限{ack_local}，办理期限{due_local}（{handle_days}个工作日{}），转办单{number}",
        if order.act == Act::Reopen { "重新交" } else { "转" },
        unit.name,
        labels::how_label(order.how),
        if provisional { "，按法定节假日暂定" } else { "" },
    ))
    .to_unit(format!(
        "作风办将本件交你单位办理（转办单{number}），签收期限{ack_local}，办理期限{due_local}"
    ))
    .to_public(format!("已转交{}办理，办理期限至{due_local}", unit.name));
    record(conn, &updated, order.by, "assigned", words, now)?;
    Ok(updated)
}

/// Where routing would send a case, after the conflict check.
enum Route {
    To(Box<Unit>),
    Hold(HoldReason),
    None,
}

/// Why a case waits for a supervisor instead of going out: shown on the
/// office's queue, never to a unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoldReason {
    /// The subject person works at the unit routing chose.
    OwnOfficer,
    /// A leader title is named without a unit, or a surname with a title.
    LeaderUnsure,
    /// The subject person leads the unit and there is no unit above it.
    LeaderWithoutParent,
    /// Unusually many filings name the same unit: screened before routing.
    Burst,
}

impl HoldReason {
    pub fn code(self) -> &'static str {
        match self {
            HoldReason::OwnOfficer => "own_officer",
            HoldReason::LeaderUnsure => "leader_unsure",
            HoldReason::LeaderWithoutParent => "leader_without_parent",
            HoldReason::Burst => "burst",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            HoldReason::OwnOfficer => "被反映人为拟承办单位工作人员",
            HoldReason::LeaderUnsure => "提及领导职务但无法确定所属单位",
            HoldReason::LeaderWithoutParent => "被反映人为拟承办单位负责人，且无上级单位",
            HoldReason::Burst => "短时间内针对同一单位的投诉异常集中，待甄别",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        [
            HoldReason::OwnOfficer,
            HoldReason::LeaderUnsure,
            HoldReason::LeaderWithoutParent,
            HoldReason::Burst,
        ]
        .into_iter()
        .find(|r| r.code() == code)
    }
}

fn resolve_target(conn: &mut DbConn, target: &Target, c: &Complaint) -> AppResult<Option<Unit>> {
    let code = match target {
        Target::Unit(code) => Some(code.clone()),
        Target::SubjectUnit => c.subject_unit_code.clone(),
        Target::SubjectUnitParent => match &c.subject_unit_code {
            Some(s) => db::units::find(conn, s)?.and_then(|u| u.parent_code),
            None => None,
        },
        Target::TownshipUnit => match &c.township {
            Some(name) => db::units::township_named(conn, name)?,
            None => None,
        },
    };
    Ok(match code {
        Some(code) => db::units::find(conn, &code)?.filter(|u| u.active),
        None => None,
    })
}

/// The unit above `u` for a conflict: its parent, or the office.
fn escalate_conflict(conn: &mut DbConn, env: &IntakeEnv, u: &Unit) -> AppResult<Option<Unit>> {
    let up = u
        .parent_code
        .clone()
        .unwrap_or_else(|| env.letters.office_unit.clone());
    if up == u.code {
        return Ok(None);
    }
    Ok(db::units::find(conn, &up)?.filter(|x| x.active))
}

fn route(conn: &mut DbConn, env: &IntakeEnv, c: &Complaint) -> AppResult<Route> {
    let facts = Facts {
        category: c.category_code.as_deref(),
        subject_unit: c.subject_unit_code.as_deref(),
        township: c.township.as_deref(),
        title: &c.title,
        content: &c.content,
    };
    let Some(rule) = env.routing.first_match(&facts) else {
        return Ok(Route::None);
    };
    let Some(mut target) = resolve_target(conn, &rule.target, c)? else {
        return Ok(Route::None);
    };
    let units: Vec<UnitInfo> = db::units::active(conn)?.iter().map(info).collect();
    // Up the chain of parents while the complaint is about the leader of
    // the unit it would go to (a chain, never a loop: at most its length).
    for _ in 0..=units.len() {
        match routing::conflict(
            &info(&target),
            &units,
            &mentions(c),
            &env.routing.leader_titles,
        ) {
            Conflict::None => return Ok(Route::To(Box::new(target))),
            Conflict::OwnOfficer => return Ok(Route::Hold(HoldReason::OwnOfficer)),
            Conflict::Unsure => return Ok(Route::Hold(HoldReason::LeaderUnsure)),
            Conflict::Leader => match escalate_conflict(conn, env, &target)? {
                Some(up) => target = up,
                None => return Ok(Route::Hold(HoldReason::LeaderWithoutParent)),
            },
        }
    }
    Ok(Route::Hold(HoldReason::LeaderWithoutParent))
}

/// Whether this filing is one of a burst naming the same unit: more public
/// filings naming it in the window than `intake.burst_per_unit`. Such a case
/// is screened by a supervisor before any letter goes out (a flood of junk
/// must not turn into a flood of numbered letters). Counted on the index of
/// subject unit and time, without a counter row that every filing would
/// lock.
fn burst(conn: &mut DbConn, env: &IntakeEnv, c: &Complaint, now: DateTime<Utc>) -> AppResult<bool> {
    let (Some(unit), Some(limit)) = (&c.subject_unit_code, env.limits.burst_per_unit) else {
        return Ok(false);
    };
    if !crate::domain::intake::PUBLIC_CHANNELS.contains(&c.channel.as_str()) {
        return Ok(false);
    }
    let since = db::to_db(now - env.limits.burst_window);
    let recent = complaint_rows::count_naming(
        conn,
        unit,
        crate::domain::intake::PUBLIC_CHANNELS,
        since,
        limit + 1,
    )?;
    Ok(recent > limit)
}

/// What the conflict check reads in a case.
fn mentions(c: &Complaint) -> routing::Mentions<'_> {
    routing::Mentions {
        subject_unit: c.subject_unit_code.as_deref(),
        subject_person: c.subject_person.as_deref(),
        title: &c.title,
        content: &c.content,
    }
}

/// Applies the routing rules to a just-received case (inside the intake
/// transaction). Unmatched or held cases wait as `received`.
#[instrument(skip_all, fields(complaint.id = c.id))]
pub fn auto_route(
    conn: &mut DbConn,
    env: &IntakeEnv,
    c: &Complaint,
    now: DateTime<Utc>,
) -> AppResult<Complaint> {
    let system = AuditActor::system();
    let route = if burst(conn, env, c, now)? {
        Route::Hold(HoldReason::Burst)
    } else {
        route(conn, env, c)?
    };
    match route {
        Route::To(unit) => assign_to(
            conn,
            env,
            c,
            &unit,
            AssignOrder {
                how: "auto",
                by: &system,
                handle_workdays: None,
                note: None,
                act: Act::Assign,
            },
            now,
        ),
        Route::Hold(why) => {
            change(
                conn,
                c,
                CaseChanges {
                    needs_confirmation: Some(true),
                    hold_reason: Some(Some(why.code())),
                    ..Default::default()
                },
            )?;
            if why == HoldReason::Burst {
                metrics::counter!("duban_intake_bursts_held_total").increment(1);
            }
            // The routing reason is the office's alone.
            record(
                conn,
                c,
                &system,
                "routing_held",
                Words::new(format!("待督办员确认后转办：{}", why.label())),
                now,
            )?;
            reload(conn, c.id)
        }
        Route::None => Ok(c.clone()),
    }
}

/// Runs `f` on the locked case in one write transaction. Whatever `f`
/// changed, the escalation sweep looks at the case again at its next run
/// (or drops it from its schedule once the case is no longer open).
fn with_case<T>(
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
        complaint_rows::clear_flags_unless_open(c, id, OPEN_STATUSES)?;
        Ok(out)
    })
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

/// `POST /complaints/{no}/screen` (supervisor): invalid → rejected,
/// duplicate → merged into another case (its text becomes a supplement of
/// that case), not_duplicate → the possible-duplicate flag is cleared.
pub fn screen(
    conn: &mut DbConn,
    env: &IntakeEnv,
    actor: &Actor,
    no: &str,
    cmd: Screen,
    now: DateTime<Utc>,
) -> AppResult<CaseState> {
    policy::require(actor, <Screen as Command>::ACTION)?;
    let decision = cmd.decision;
    let reason = cmd.reason.map(String::from);
    let dup = cmd.duplicate_of.map(String::from);
    let by = AuditActor::from(actor);
    with_case(conn, no, now, |conn, c| {
        let now_db = db::to_db(now);
        if decision == ScreenDecision::NotDuplicate {
            apply(&c, Act::DismissDuplicate)?;
            if !c.possible_duplicate {
                return Err(AppError::Conflict(
                    "the case is not marked as a possible duplicate".into(),
                ));
            }
            complaint_rows::set_possible_duplicate(conn, c.id, false)?;
            record(
                conn,
                &c,
                &by,
                "duplicate_dismissed",
                Words::new(match &reason {
                    Some(r) => format!("经核实不是重复件：{r}"),
                    None => "经核实不是重复件".to_owned(),
                }),
                now,
            )?;
        } else if decision == ScreenDecision::Invalid {
            // Any open case can be voided: a junk case already sent out is
            // withdrawn from its unit.
            let status = apply(&c, Act::ScreenInvalid)?;
            if c.status != Status::Received.as_str() {
                return void(conn, env, &c, &by, reason.as_deref(), now);
            }
            change(
                conn,
                &c,
                CaseChanges {
                    status: Some(status.as_str()),
                    screen_reason: Some(reason.as_deref()),
                    updated_at: Some(now_db),
                    ..Default::default()
                },
            )?;
            record(
                conn,
                &c,
                &by,
                "screened_invalid",
                Words::new("经审查不予受理").to_public("经审查不予受理"),
                now,
            )?;
        } else {
            let status = apply(&c, Act::Merge)?;
            let target_no = complaint_rows::normalise_tracking_no(&dup.clone().unwrap_or_default());
            let target = complaint_rows::by_tracking_no(conn, &target_no)?.filter(|t| {
                t.id != c.id
                    && !matches!(
                        Status::parse(&t.status),
                        Some(Status::Merged | Status::Rejected)
                    )
            });
            let Some(target) = target else {
                return Err(AppError::field_with(
                    "duplicate_of",
                    Code::NotACase,
                    "must be another open case's tracking number",
                ));
            };
            change(
                conn,
                &c,
                CaseChanges {
                    status: Some(status.as_str()),
                    duplicate_of: Some(Some(&target.tracking_no)),
                    updated_at: Some(now_db),
                    ..Default::default()
                },
            )?;
            let note = format!("与受理编号{}合并办理", target.tracking_no);
            record(
                conn,
                &c,
                &by,
                "merged",
                Words::new(format!("作为重复件并入受理编号{}", target.tracking_no)).to_public(note),
                now,
            )?;
            // Merges are the office's: the unit of the kept case is not told
            // of the merge, only sent the facts the second case adds.
            record(
                conn,
                &target,
                &by,
                "duplicate_linked",
                Words::new(format!("受理编号{}作为重复件并入本件", c.tracking_no)),
                now,
            )?;
            let target = lock_case(conn, &target.tracking_no)?;
            crate::domain::supplements::add(
                conn,
                env,
                &target,
                crate::domain::supplements::Source::Merge { from: &c },
                &format!("{}\n{}", c.title, c.content),
                &by,
                now,
            )?;
            db::escalations::touch(conn, target.id, now_db)?;
        }
        Ok(CaseState::from(&reload(conn, c.id)?))
    })
}

/// Voids a case that was already sent to a unit (docs/architecture.md,
/// "Voiding a case"): the assignment ends, its clocks stop and no further
/// escalation step fires (the case is no longer open), pending extension
/// requests lapse, the letters sent for it stay numbered but are marked
/// withdrawn (their unsent e-mails are cancelled), and the unit is told in a
/// notice citing the transfer letter.
fn void(
    conn: &mut DbConn,
    env: &IntakeEnv,
    c: &Complaint,
    by: &AuditActor,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<CaseState> {
    let now_db = db::to_db(now);
    let a = assignments::current(conn, c.id)?.ok_or_else(|| conflict_status(c))?;
    assignments::end(conn, a.id, "withdrawn", now_db)?;
    records::lapse_pending_extensions(conn, c.id, now_db)?;
    let numbers = db::letters::withdraw_for_complaint(conn, c.id, &a.unit_code, now_db)?;
    let status = apply(c, Act::ScreenInvalid)?;
    change(
        conn,
        c,
        CaseChanges {
            status: Some(status.as_str()),
            screen_reason: Some(reason),
            updated_at: Some(now_db),
            ..Default::default()
        },
    )?;
    let u = unit(conn, &a.unit_code)?;
    let cited = if numbers.is_empty() {
        String::new()
    } else {
        format!("（{}）", numbers.join("、"))
    };
    letters::notice(
        conn,
        &env.letters,
        c,
        &u,
        NoticeKind::Withdrawn,
        &format!(
            "经审查，受理编号{}不予受理，撤销此前的交办{cited}。请停止办理，本件不再计入你单位的办理期限。",
            c.tracking_no
        ),
        now,
    )?;
    record(
        conn,
        c,
        by,
        "screened_invalid",
        Words::new(format!("经审查不予受理，撤销对{}的交办{cited}", u.name))
            .to_unit(format!("作风办撤销交办{cited}，本件不再由你单位办理"))
            .to_public("经审查不予受理"),
        now,
    )?;
    Ok(CaseState::from(&reload(conn, c.id)?))
}

/// `POST /complaints/{no}/assign` (supervisor): manual routing or re-routing.
pub fn assign(
    conn: &mut DbConn,
    env: &IntakeEnv,
    actor: &Actor,
    no: &str,
    cmd: AssignCase,
    now: DateTime<Utc>,
) -> AppResult<CaseState> {
    policy::require(actor, <AssignCase as Command>::ACTION)?;
    let (unit_code, handle, confirm) = (
        cmd.unit.into_inner(),
        days(cmd.handle_workdays),
        cmd.confirm,
    );
    let note = cmd.note.map(String::from);
    let by = AuditActor::from(actor);
    with_case(conn, no, now, |conn, c| {
        apply(&c, Act::Assign)?;
        let Some(target) = db::units::find(conn, &unit_code)?.filter(|u| u.active) else {
            return Err(AppError::field("unit", Code::NotAUnit));
        };
        let units: Vec<UnitInfo> = db::units::active(conn)?.iter().map(info).collect();
        match routing::conflict(
            &info(&target),
            &units,
            &mentions(&c),
            &env.routing.leader_titles,
        ) {
            Conflict::Leader => {
                return Err(AppError::field_with(
                    "unit",
                    Code::LeaderConflict,
                    "the complaint is about this unit's leader: assign the case to its parent unit or the office",
                ));
            }
            Conflict::OwnOfficer if !confirm => {
                return Err(AppError::field_with(
                    "confirm",
                    Code::NeedsConfirmation,
                    "the subject person works at this unit: send confirm: true to assign it there anyway",
                ));
            }
            Conflict::Unsure if !confirm => {
                return Err(AppError::field_with(
                    "confirm",
                    Code::NeedsConfirmation,
                    "the complaint names a leader's title that may be this unit's: send confirm: true \
                     once you have checked it is not",
                ));
            }
            _ => {}
        }
        let order = AssignOrder {
            how: if c.status == Status::Received.as_str() {
                "manual"
            } else {
                "rerouted"
            },
            by: &by,
            handle_workdays: handle,
            note: note.as_deref(),
            act: Act::Assign,
        };
        Ok(CaseState::from(&assign_to(
            conn, env, &c, &target, order, now,
        )?))
    })
}

/// `POST /complaints/{no}/acknowledge` (unit): signs for the case; the
/// acknowledge clock stops.
pub fn acknowledge(
    conn: &mut DbConn,
    actor: &Actor,
    no: &str,
    now: DateTime<Utc>,
) -> AppResult<CaseState> {
    policy::require(actor, Action::Handle)?;
    with_case(conn, no, now, |conn, c| {
        own_case(actor, &c)?;
        let status = apply(&c, Act::Acknowledge)?;
        let now_db = db::to_db(now);
        let a = assignments::current(conn, c.id)?.ok_or_else(|| conflict_status(&c))?;
        assignments::update(
            conn,
            a.id,
            &AssignmentChanges {
                acknowledged_at: Some(Some(now_db)),
                ..Default::default()
            },
        )?;
        change(
            conn,
            &c,
            CaseChanges {
                status: Some(status.as_str()),
                acknowledged_at: Some(Some(now_db)),
                updated_at: Some(now_db),
                ..Default::default()
            },
        )?;
        let u = unit(conn, &a.unit_code)?;
        let late = late(now_db, a.ack_due_at);
        record(
            conn,
            &c,
            &AuditActor::from(actor),
            "acknowledged",
            Words::new(format!("{}签收{late}", u.name))
                .to_unit(format!("你单位已签收{late}"))
                .to_public(format!("{}已签收", u.name)),
            now,
        )?;
        Ok(CaseState::from(&reload(conn, c.id)?))
    })
}

/// `POST /complaints/{no}/return` (unit): "not ours", within the return
/// window its transfer letter stated. The case stays with the unit, flagged,
/// clocks running, until a supervisor decides.
pub fn request_return(
    conn: &mut DbConn,
    env: &IntakeEnv,
    actor: &Actor,
    no: &str,
    cmd: ReturnRequest,
    now: DateTime<Utc>,
) -> AppResult<CaseState> {
    policy::require(actor, <ReturnRequest as Command>::ACTION)?;
    let reason = cmd.reason.into_inner();
    with_case(conn, no, now, |conn, c| {
        own_case(actor, &c)?;
        apply(&c, Act::AskReturn)?;
        if c.return_requested {
            return Err(AppError::Conflict(
                "a return request is already waiting for a decision".into(),
            ));
        }
        let a = assignments::current(conn, c.id)?.ok_or_else(|| conflict_status(&c))?;
        // The window the transfer letter stated (rows from before it was
        // kept: the sign-for deadline, the default).
        let window_end = a.return_due_at.unwrap_or(a.ack_due_at);
        if db::to_db(now) > window_end {
            let end = db::from_db(window_end);
            return Err(AppError::Conflict(format!(
                "the return window ended at {} ({}): the unit must handle the case; \
                 ask for an extension if more time is needed",
                end.to_rfc3339(),
                labels::local_minute(end, env.tz),
            )));
        }
        assignments::update(
            conn,
            a.id,
            &AssignmentChanges {
                return_reason: Some(Some(&reason)),
                ..Default::default()
            },
        )?;
        change(
            conn,
            &c,
            CaseChanges {
                return_requested: Some(true),
                updated_at: Some(db::to_db(now)),
                ..Default::default()
            },
        )?;
        let u = unit(conn, &a.unit_code)?;
        record(
            conn,
            &c,
            &AuditActor::from(actor),
            "return_requested",
            Words::new(format!("{}申请退回", u.name)).to_unit("你单位申请退回，待作风办决定"),
            now,
        )?;
        Ok(CaseState::from(&reload(conn, c.id)?))
    })
}

/// `POST /complaints/{no}/return/decision` (supervisor): approve → back to
/// `received` with clocks cleared; deny → the unit keeps it, clocks as they were.
pub fn decide_return(
    conn: &mut DbConn,
    env: &IntakeEnv,
    actor: &Actor,
    no: &str,
    cmd: Decide,
    now: DateTime<Utc>,
) -> AppResult<CaseState> {
    policy::require(actor, <Decide as Command>::ACTION)?;
    let (approve, note) = decision(cmd);
    let by = AuditActor::from(actor);
    with_case(conn, no, now, |conn, c| {
        if !c.return_requested {
            return Err(AppError::Conflict(format!(
                "no return request is waiting (the case is {})",
                c.status
            )));
        }
        let a = assignments::current(conn, c.id)?.ok_or_else(|| conflict_status(&c))?;
        let u = unit(conn, &a.unit_code)?;
        let now_db = db::to_db(now);
        if approve {
            let status = apply(&c, Act::ApproveReturn)?;
            assignments::end(conn, a.id, "returned", now_db)?;
            records::lapse_pending_extensions(conn, c.id, now_db)?;
            change(
                conn,
                &c,
                CaseChanges {
                    status: Some(status.as_str()),
                    responsible_unit_code: Some(None),
                    ack_due_at: Some(None),
                    due_at: Some(None),
                    acknowledged_at: Some(None),
                    return_requested: Some(false),
                    extension_requested: Some(false),
                    calendar_provisional: Some(false),
                    updated_at: Some(now_db),
                    ..Default::default()
                },
            )?;
            record(
                conn,
                &c,
                &by,
                "return_approved",
                Words::new(format!("同意{}退回，待重新确定承办单位", u.name))
                    .to_unit("作风办同意你单位退回本件")
                    .to_public("重新确定承办单位"),
                now,
            )?;
        } else {
            apply(&c, Act::DenyReturn)?;
            change(
                conn,
                &c,
                CaseChanges {
                    return_requested: Some(false),
                    updated_at: Some(now_db),
                    ..Default::default()
                },
            )?;
            let body = format!(
                "你单位的退回申请未获同意，请继续办理。{}",
                note.as_deref().unwrap_or("")
            );
            letters::notice(
                conn,
                &env.letters,
                &c,
                &u,
                NoticeKind::ReturnDenied,
                &body,
                now,
            )?;
            record(
                conn,
                &c,
                &by,
                "return_denied",
                Words::new(format!("不同意{}退回", u.name)).to_unit("作风办不同意退回，请继续办理"),
                now,
            )?;
        }
        Ok(CaseState::from(&reload(conn, c.id)?))
    })
}

/// `POST /complaints/{no}/progress` (unit): an interim update, public if the
/// unit marks it so.
pub fn add_progress(
    conn: &mut DbConn,
    env: &IntakeEnv,
    actor: &Actor,
    no: &str,
    cmd: AddProgress,
    now: DateTime<Utc>,
) -> AppResult<CaseState> {
    policy::require(actor, <AddProgress as Command>::ACTION)?;
    let (content, public) = (cmd.content.into_inner(), cmd.public);
    with_case(conn, no, now, |conn, c| {
        own_case(actor, &c)?;
        if c.status == Status::Assigned.as_str() {
            return Err(AppError::Conflict(
                "the case is assigned: acknowledge it before reporting progress".into(),
            ));
        }
        apply(&c, Act::Progress)?;
        let unit_code = c.responsible_unit_code.clone().unwrap_or_default();
        // The unit complained about does not write straight onto the
        // citizen's page: its public note waits for the office, unless the
        // office trusts the unit (`workflow.trusted_units`).
        let trusted = env.trusted_units.contains(&unit_code);
        let publication = match (public, trusted) {
            (false, _) => "none",
            (true, true) => "approved",
            (true, false) => "pending",
        };
        let note_id = records::add_progress(
            conn,
            &NewProgressNote {
                complaint_id: c.id,
                unit_code: &unit_code,
                author_id: actor.user_id,
                content: &content,
                public,
                created_at: db::to_db(now),
                publication,
            },
        )?;
        if publication == "pending" {
            change(
                conn,
                &c,
                CaseChanges {
                    note_awaiting_approval: Some(true),
                    ..Default::default()
                },
            )?;
        }
        let u = unit(conn, &unit_code)?;
        let (staff, to_unit) = match publication {
            "pending" => (
                format!("{}报送办理进展（进展{note_id}，申请公开，待审核）", u.name),
                "你单位报送办理进展，申请公开，待作风办审核",
            ),
            "approved" => (
                format!("{}报送办理进展（进展{note_id}，公开）", u.name),
                "你单位报送办理进展（已公开）",
            ),
            _ => (
                format!("{}报送办理进展（进展{note_id}，内部）", u.name),
                "你单位报送办理进展",
            ),
        };
        let mut words = Words::new(staff).to_unit(to_unit);
        if publication == "approved" {
            words = words.to_public(content.clone());
        }
        record(conn, &c, &AuditActor::from(actor), "progress", words, now)?;
        Ok(CaseState::from(&reload(conn, c.id)?))
    })
}

/// `POST /complaints/{no}/progress/{id}/publication` (supervisor): a note
/// the unit marked public goes on the citizen's page (`approve`) or stays
/// internal (`deny`).
pub fn decide_publication(
    conn: &mut DbConn,
    actor: &Actor,
    no: &str,
    note_id: i64,
    cmd: Decide,
    now: DateTime<Utc>,
) -> AppResult<CaseState> {
    policy::require(actor, <Decide as Command>::ACTION)?;
    let (approve, note) = decision(cmd);
    let by = AuditActor::from(actor);
    with_case(conn, no, now, |conn, c| {
        let n = records::progress(conn, c.id)?
            .into_iter()
            .find(|n| n.id == note_id)
            .ok_or(AppError::NotFound)?;
        if n.publication != "pending" {
            return Err(AppError::Conflict(format!(
                "the note's publication is already decided ({})",
                n.publication
            )));
        }
        let now_db = db::to_db(now);
        let outcome = if approve { "approved" } else { "denied" };
        records::decide_publication(conn, n.id, outcome, actor.user_id, now_db)?;
        if records::pending_publication(conn, c.id)? == 0 {
            change(
                conn,
                &c,
                CaseChanges {
                    note_awaiting_approval: Some(false),
                    ..Default::default()
                },
            )?;
        }
        let words = if approve {
            Words::new(format!("同意公开办理进展（进展{}）", n.id))
                .to_unit("作风办同意公开你单位报送的办理进展")
                .to_public(n.content.clone())
        } else {
            Words::new(format!(
                "不同意公开办理进展（进展{}）{}",
                n.id,
                note.as_deref()
                    .map(|x| format!("：{x}"))
                    .unwrap_or_default()
            ))
            .to_unit("作风办未同意公开你单位报送的该条进展")
        };
        let action = if approve {
            "progress_published"
        } else {
            "progress_publication_denied"
        };
        record(conn, &c, &by, action, words, now)?;
        Ok(CaseState::from(&reload(conn, c.id)?))
    })
}

/// An extension request as filed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExtensionCreated {
    pub id: i64,
    #[schema(example = "pending")]
    pub status: String,
    pub workdays: i32,
    pub requested_at: DateTime<Utc>,
}

/// `POST /complaints/{no}/extensions` (unit): only before `due_at`, one
/// pending request at a time.
pub fn request_extension(
    conn: &mut DbConn,
    actor: &Actor,
    no: &str,
    cmd: RequestExtension,
    now: DateTime<Utc>,
) -> AppResult<ExtensionCreated> {
    policy::require(actor, <RequestExtension as Command>::ACTION)?;
    let (days, reason) = (cmd.workdays.get() as i32, cmd.reason.into_inner());
    with_case(conn, no, now, |conn, c| {
        own_case(actor, &c)?;
        apply(&c, Act::Extension)?;
        let a = assignments::current(conn, c.id)?.ok_or_else(|| conflict_status(&c))?;
        let now_db = db::to_db(now);
        if now_db >= a.due_at {
            return Err(AppError::Conflict(
                "the handling deadline has passed: an extension must be asked for before it".into(),
            ));
        }
        let pending = records::pending_extensions(conn, c.id)?;
        if pending > 0 || c.extension_requested {
            return Err(AppError::Conflict(
                "an extension request is already waiting for a decision".into(),
            ));
        }
        let e = records::add_extension(
            conn,
            &NewExtension {
                complaint_id: c.id,
                assignment_id: a.id,
                workdays: days,
                reason: &reason,
                status: "pending",
                requested_by: actor.user_id,
                requested_at: now_db,
                old_due_at: a.due_at,
            },
        )?;
        change(
            conn,
            &c,
            CaseChanges {
                extension_requested: Some(true),
                updated_at: Some(now_db),
                ..Default::default()
            },
        )?;
        let u = unit(conn, &a.unit_code)?;
        record(
            conn,
            &c,
            &AuditActor::from(actor),
            "extension_requested",
            Words::new(format!("{}申请延期{days}个工作日", u.name))
                .to_unit(format!("你单位申请延期{days}个工作日，待作风办审批")),
            now,
        )?;
        Ok(ExtensionCreated {
            id: e.id,
            status: e.status,
            workdays: e.workdays,
            requested_at: db::from_db(e.requested_at),
        })
    })
}

/// `POST /complaints/{no}/extensions/{id}/decision` (supervisor): approval
/// moves `due_at` by the working days asked, counted from the old deadline.
pub fn decide_extension(
    conn: &mut DbConn,
    env: &IntakeEnv,
    actor: &Actor,
    no: &str,
    id: i64,
    cmd: Decide,
    now: DateTime<Utc>,
) -> AppResult<CaseState> {
    policy::require(actor, <Decide as Command>::ACTION)?;
    let (approve, note) = decision(cmd);
    let by = AuditActor::from(actor);
    with_case(conn, no, now, |conn, c| {
        let e = records::extensions(conn, c.id)?
            .into_iter()
            .find(|e| e.id == id)
            .ok_or(AppError::NotFound)?;
        if e.status != "pending" {
            return Err(AppError::Conflict(format!(
                "the extension request is already {}",
                e.status
            )));
        }
        apply(&c, Act::Extension)?;
        let a = assignments::current(conn, c.id)?
            .filter(|a| a.id == e.assignment_id)
            .ok_or_else(|| {
                AppError::Conflict("the case has been reassigned since the request".into())
            })?;
        let u = unit(conn, &a.unit_code)?;
        let now_db = db::to_db(now);
        change(
            conn,
            &c,
            CaseChanges {
                extension_requested: Some(false),
                ..Default::default()
            },
        )?;
        if approve {
            let moved = env
                .calendar
                .due(db::from_db(a.due_at), e.workdays as u32, env.tz);
            let new_due = moved.at;
            let new_due_db = db::to_db(new_due);
            let provisional = a.calendar_provisional || moved.provisional;
            records::decide_extension(
                conn,
                e.id,
                "approved",
                actor.user_id,
                now_db,
                note.as_deref(),
                Some(new_due_db),
            )?;
            assignments::update(
                conn,
                a.id,
                &AssignmentChanges {
                    due_at: Some(new_due_db),
                    handle_workdays: Some(a.handle_workdays + e.workdays),
                    calendar_provisional: Some(provisional),
                    ..Default::default()
                },
            )?;
            change(
                conn,
                &c,
                CaseChanges {
                    due_at: Some(Some(new_due_db)),
                    calendar_provisional: Some(provisional),
                    updated_at: Some(now_db),
                    ..Default::default()
                },
            )?;
            let date = env.letters.local_date(new_due);
            let caveat = if moved.provisional {
                "（该期限按法定节假日暂定，国务院办公厅公布当年放假安排后以正式安排为准）"
            } else {
                ""
            };
            letters::notice(
                conn,
                &env.letters,
                &c,
                &u,
                NoticeKind::ExtensionApproved,
                &format!("你单位的延期申请已批准，办理期限延至{date}。{caveat}"),
                now,
            )?;
            record(
                conn,
                &c,
                &by,
                "extension_approved",
                Words::new(format!(
                    "批准延期{}个工作日，办理期限延至{date}{caveat}",
                    e.workdays
                ))
                .to_unit(format!("延期申请已批准，办理期限延至{date}"))
                .to_public(format!("办理期限延至{date}")),
                now,
            )?;
        } else {
            records::decide_extension(
                conn,
                e.id,
                "denied",
                actor.user_id,
                now_db,
                note.as_deref(),
                None,
            )?;
            let body = format!(
                "你单位的延期申请未获批准，请按原期限办结。{}",
                note.as_deref().unwrap_or("")
            );
            letters::notice(
                conn,
                &env.letters,
                &c,
                &u,
                NoticeKind::ExtensionDenied,
                &body,
                now,
            )?;
            record(
                conn,
                &c,
                &by,
                "extension_denied",
                Words::new(format!("不批准延期{}个工作日", e.workdays))
                    .to_unit("延期申请未获批准，请按原期限办结"),
                now,
            )?;
        }
        Ok(CaseState::from(&reload(conn, c.id)?))
    })
}

/// `POST /complaints/{no}/report` (unit): the final answer; the handling
/// clock stops.
pub fn submit_report(
    conn: &mut DbConn,
    actor: &Actor,
    no: &str,
    cmd: SubmitReport,
    now: DateTime<Utc>,
) -> AppResult<CaseState> {
    policy::require(actor, <SubmitReport as Command>::ACTION)?;
    let deadline = cmd.rectification_deadline.0;
    let items = cmd.rectification_items;
    let (findings, measures, person, target, reply) = (
        cmd.findings.into_inner(),
        cmd.measures.into_inner(),
        cmd.responsible_person.into_inner(),
        cmd.target.into_inner(),
        cmd.public_reply.into_inner(),
    );
    with_case(conn, no, now, |conn, c| {
        own_case(actor, &c)?;
        let status = apply(&c, Act::Report)?;
        let a = assignments::current(conn, c.id)?.ok_or_else(|| conflict_status(&c))?;
        let now_db = db::to_db(now);
        let report_id = records::add_report(
            conn,
            &NewReport {
                complaint_id: c.id,
                assignment_id: a.id,
                findings: &findings,
                measures: &measures,
                responsible_person: &person,
                rectification_deadline: deadline,
                target: &target,
                public_reply: &reply,
                submitted_by: actor.user_id,
                submitted_at: now_db,
            },
        )?;
        for i in &items {
            records::add_item(
                conn,
                &NewRectificationItem {
                    report_id,
                    content: &i.content,
                    responsible_person: &i.responsible_person,
                    deadline: i.deadline,
                    target: &i.target,
                    status: "open",
                },
            )?;
        }
        assignments::update(
            conn,
            a.id,
            &AssignmentChanges {
                reported_at: Some(Some(now_db)),
                ..Default::default()
            },
        )?;
        change(
            conn,
            &c,
            CaseChanges {
                status: Some(status.as_str()),
                updated_at: Some(now_db),
                ..Default::default()
            },
        )?;
        let late = late(now_db, a.due_at);
        let u = unit(conn, &a.unit_code)?;
        record(
            conn,
            &c,
            &AuditActor::from(actor),
            "reported",
            Words::new(format!(
                "{}报送办结报告{late}（报告{report_id}，整改事项{}项）",
                u.name,
                items.len()
            ))
            .to_unit(format!("你单位报送办结报告{late}，待作风办审核"))
            .to_public("承办单位已报送办理结果，待审核"),
            now,
        )?;
        Ok(CaseState::from(&reload(conn, c.id)?))
    })
}

/// `POST /complaints/{no}/review` (supervisor): accept closes the case and
/// publishes the reply; redo sends it back with a new deadline.
pub fn review(
    conn: &mut DbConn,
    env: &IntakeEnv,
    actor: &Actor,
    no: &str,
    cmd: Review,
    now: DateTime<Utc>,
) -> AppResult<CaseState> {
    policy::require(actor, <Review as Command>::ACTION)?;
    let (decision, handle) = (cmd.decision, days(cmd.handle_workdays));
    let comment = cmd.comment.map(String::from);
    let by = AuditActor::from(actor);
    with_case(conn, no, now, |conn, c| {
        let status = apply(
            &c,
            match decision {
                ReviewDecision::Accept => Act::Accept,
                ReviewDecision::Redo => Act::Redo,
            },
        )?;
        let a = assignments::current(conn, c.id)?.ok_or_else(|| conflict_status(&c))?;
        let report = records::reports(conn, c.id)?
            .pop()
            .ok_or_else(|| conflict_status(&c))?;
        let now_db = db::to_db(now);
        if decision == ReviewDecision::Accept {
            records::review_report(
                conn,
                report.id,
                "accepted",
                comment.as_deref(),
                actor.user_id,
                now_db,
            )?;
            assignments::end(conn, a.id, "closed", now_db)?;
            change(
                conn,
                &c,
                CaseChanges {
                    status: Some(status.as_str()),
                    public_reply: Some(Some(&report.public_reply)),
                    satisfaction: Some(None),
                    updated_at: Some(now_db),
                    ..Default::default()
                },
            )?;
            record(
                conn,
                &c,
                &by,
                "closed",
                Words::new(format!("办结报告（报告{}）审核通过，办结", report.id))
                    .to_unit("办结报告审核通过，本件办结")
                    .to_public("已办结"),
                now,
            )?;
            crate::domain::callbacks::open_on_close(conn, env, &c, now)?;
        } else {
            let days = handle.unwrap_or(a.handle_workdays);
            let redo_due = env.calendar.due(now, days as u32, env.tz);
            let due = redo_due.at;
            records::review_report(
                conn,
                report.id,
                "redo",
                comment.as_deref(),
                actor.user_id,
                now_db,
            )?;
            let provisional = a.calendar_provisional || redo_due.provisional;
            assignments::update(
                conn,
                a.id,
                &AssignmentChanges {
                    due_at: Some(db::to_db(due)),
                    reported_at: Some(None),
                    calendar_provisional: Some(provisional),
                    ..Default::default()
                },
            )?;
            change(
                conn,
                &c,
                CaseChanges {
                    status: Some(status.as_str()),
                    due_at: Some(Some(db::to_db(due))),
                    calendar_provisional: Some(provisional),
                    updated_at: Some(now_db),
                    ..Default::default()
                },
            )?;
            let u = unit(conn, &a.unit_code)?;
            let date = env.letters.local_date(due);
            let text = format!(
                "你单位报送的办理结果未通过审核，请重新办理，于{date}前重新报送。审核意见：{}",
                comment.as_deref().unwrap_or("")
            );
            letters::notice(
                conn,
                &env.letters,
                &c,
                &u,
                NoticeKind::RedoOrdered,
                &text,
                now,
            )?;
            record(
                conn,
                &c,
                &by,
                "redo_ordered",
                Words::new(format!(
                    "办结报告（报告{}）未通过审核，责令重办，{days}个工作日，期限{date}",
                    report.id
                ))
                .to_unit(format!("办结报告未通过审核，责令重新办理，期限至{date}"))
                .to_public(format!("责令重新办理，期限至{date}")),
                now,
            )?;
        }
        Ok(CaseState::from(&reload(conn, c.id)?))
    })
}

/// `POST /complaints/{no}/callback` (operator, supervisor): an attempt to
/// call the citizen back about a closed case (docs/architecture.md, "The
/// hotline desk"): `reached` with their satisfaction, `no_answer` or
/// `refused`.
pub fn callback(
    conn: &mut DbConn,
    env: &IntakeEnv,
    actor: &Actor,
    no: &str,
    cmd: CallbackAttempt,
    now: DateTime<Utc>,
) -> AppResult<CaseState> {
    policy::require(actor, <CallbackAttempt as Command>::ACTION)?;
    let attempt = crate::domain::callbacks::Attempt::from(cmd);
    with_case(conn, no, now, |conn, c| {
        crate::domain::callbacks::record(conn, env, actor, &c, &attempt, None, now)?;
        Ok(CaseState::from(&reload(conn, c.id)?))
    })
}

/// Stores a rating (a callback's or the citizen's own): the feedback row,
/// the case's latest satisfaction, and whether the office must decide on
/// reopening (an unsatisfied answer puts the case on its queue).
pub(crate) fn store_satisfaction(
    conn: &mut DbConn,
    c: &Complaint,
    source: &str,
    satisfaction: &str,
    comment: Option<&str>,
    author: Option<i64>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let now_db = db::to_db(now);
    records::add_feedback(
        conn,
        &NewFeedback {
            complaint_id: c.id,
            source,
            satisfaction,
            comment,
            author_id: author,
            created_at: now_db,
        },
    )?;
    change(
        conn,
        c,
        CaseChanges {
            satisfaction: Some(Some(satisfaction)),
            reopen_review: Some(satisfaction == Satisfaction::Unsatisfied.as_str()),
            updated_at: Some(now_db),
            ..Default::default()
        },
    )?;
    Ok(())
}

/// The citizen's own rating of a closed case, once per closure (the caller
/// has checked the query code).
/// Whether the citizen may still rate the case: it is closed and has no
/// public rating since its last closure (an operator's callback does not
/// take the citizen's turn).
pub fn public_feedback_open(conn: &mut DbConn, c: &Complaint) -> AppResult<bool> {
    if Status::of(&c.status)?.after(Act::Rate).is_none() {
        return Ok(false);
    }
    let closed_at = assignments::closed_at(conn, &[c.id])?.remove(&c.id);
    let given = records::feedback_for(conn, c.id)?
        .iter()
        .any(|f| f.source == "public" && closed_at.is_none_or(|t| f.created_at >= t));
    Ok(!given)
}

/// What the citizen is told after rating a case.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FeedbackReceipt {
    /// `recorded`.
    pub status: &'static str,
    /// What happens next, in words that fit the case: an anonymous
    /// complainant is never promised a call.
    pub message: &'static str,
}

/// The words after a rating: whether staff may call back depends on
/// whether the citizen left a way to reach them.
pub fn feedback_message(anonymous: bool, satisfaction: &str) -> &'static str {
    match (satisfaction, anonymous) {
        ("unsatisfied", false) => {
            "您的评价已记录。作风办将复核办理质量，必要时责成承办单位重新办理，工作人员也可能按您留下的电话与您联系。"
        }
        ("unsatisfied", true) => {
            "您的评价已记录。作风办将复核办理质量，必要时责成承办单位重新办理。您是匿名反映，工作人员无法与您联系，请凭受理编号和查询码继续查询办理进展。"
        }
        _ => "您的评价已记录，感谢您对作风建设工作的支持。",
    }
}

pub fn public_feedback(
    conn: &mut DbConn,
    c: &Complaint,
    cmd: &FeedbackRequest,
    now: DateTime<Utc>,
) -> AppResult<FeedbackReceipt> {
    let satisfaction = cmd.satisfaction.as_str();
    let comment = cmd.comment.as_deref();
    with_case(conn, &c.tracking_no, now, |conn, c| {
        apply(&c, Act::Rate)?;
        if !public_feedback_open(conn, &c)? {
            return Err(AppError::Conflict(
                "feedback for this case has already been given".into(),
            ));
        }
        store_satisfaction(conn, &c, "public", satisfaction, comment, None, now)?;
        record(
            conn,
            &c,
            &AuditActor::public(),
            "feedback",
            Words::new(format!(
                "群众评价：{}",
                labels::satisfaction_label(satisfaction)
            ))
            .to_public("群众已评价"),
            now,
        )?;
        Ok(FeedbackReceipt {
            status: "recorded",
            message: feedback_message(c.anonymous, satisfaction),
        })
    })
}

/// `POST /complaints/{no}/reopen` (supervisor): a closed case whose citizen
/// is unsatisfied goes back to its unit with a new deadline, or, with
/// `decision: keep_closed`, stays closed with the office's reason (it leaves
/// the queue).
pub fn reopen(
    conn: &mut DbConn,
    env: &IntakeEnv,
    actor: &Actor,
    no: &str,
    cmd: Reopen,
    now: DateTime<Utc>,
) -> AppResult<CaseState> {
    policy::require(actor, <Reopen as Command>::ACTION)?;
    let (reason, handle, decision) = (
        cmd.reason.into_inner(),
        days(cmd.handle_workdays),
        cmd.decision,
    );
    let by = AuditActor::from(actor);
    with_case(conn, no, now, |conn, c| {
        apply(
            &c,
            match decision {
                ReopenDecision::Reopen => Act::Reopen,
                ReopenDecision::KeepClosed => Act::KeepClosed,
            },
        )?;
        if c.satisfaction.as_deref() != Some("unsatisfied") {
            return Err(AppError::Conflict(
                "only a closed case whose citizen is unsatisfied (callback or feedback) can be reopened".into(),
            ));
        }
        if decision == ReopenDecision::KeepClosed {
            complaint_rows::set_reopen_review(conn, c.id, false)?;
            record(
                conn,
                &c,
                &by,
                "reopen_declined",
                Words::new(format!("群众不满意，经研究不重新交办：{reason}")),
                now,
            )?;
            return Ok(CaseState::from(&reload(conn, c.id)?));
        }
        let last: Assignment = assignments::history(conn, c.id)?
            .pop()
            .ok_or_else(|| conflict_status(&c))?;
        let u = unit(conn, &last.unit_code)?;
        let order = AssignOrder {
            how: "reopen",
            by: &by,
            handle_workdays: handle,
            note: Some(&reason),
            act: Act::Reopen,
        };
        let updated = assign_to(conn, env, &c, &u, order, now)?;
        complaint_rows::set_reopen_review(conn, c.id, false)?;
        crate::db::callbacks::set_state(conn, c.id, None, None)?;
        let updated = reload(conn, updated.id)?;
        letters::notice(
            conn,
            &env.letters,
            &updated,
            &u,
            NoticeKind::Reopened,
            &format!("群众对办理结果不满意，本件重新交你单位办理。原因：{reason}"),
            now,
        )?;
        record(
            conn,
            &updated,
            &by,
            "reopened",
            Words::new("群众不满意，重新交办")
                .to_unit("群众对办理结果不满意，本件重新交你单位办理")
                .to_public("群众不满意，重新办理"),
            now,
        )?;
        Ok(CaseState::from(&updated))
    })
}
