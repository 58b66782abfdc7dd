//! The case lifecycle (DESIGN §3): routing at intake, the supervisor's
//! screen / assign / return decision / extension decision / review /
//! reopen, the unit's acknowledge / return / progress / extension / report,
//! and callbacks. Every action runs in one write transaction with its audit
//! event and any letter or notice; a transition the current status does not
//! allow is a 409 naming that status.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::Text;
use serde::Serialize;
use serde_json::{Value, json};
use tracing::instrument;

use crate::auth::Actor;
use crate::auth::policy::{self, Action};
use crate::db::assignments::{self, Assignment, NewAssignment};
use crate::db::categories::Category;
use crate::db::complaints::{self as complaint_rows, Complaint};
use crate::db::schema::{assignments as asg, complaints as cmp, extension_requests as ext};
use crate::db::units::Unit;
use crate::db::workflow::{
    self as records, NewExtension, NewFeedback, NewProgressNote, NewRectificationItem, NewReport,
};
use crate::db::{self, DbConn};
use crate::domain::audit::{self, AuditActor};
use crate::domain::calendar::effective_workdays;
use crate::domain::fields::Reader;
use crate::domain::intake::IntakeEnv;
use crate::domain::letters::{self, LetterRequest};
use crate::domain::routing::{self, Conflict, Facts, Target, UnitInfo};
use crate::error::{AppError, AppResult};

pub const SATISFACTION: &[&str] = &["satisfied", "basically_satisfied", "unsatisfied"];
/// Defaults when a complaint has no category.
const DEFAULT_ACK_WORKDAYS: i32 = 1;
const DEFAULT_STATUTORY_WORKDAYS: i32 = 15;
const MAX_WORKDAYS: i64 = 120;

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
        }
    }
}

fn conflict_status(c: &Complaint) -> AppError {
    AppError::Conflict(format!("not possible while the case is {}", c.status))
}

fn require_status(c: &Complaint, allowed: &[&str]) -> AppResult<()> {
    if allowed.contains(&c.status.as_str()) {
        Ok(())
    } else {
        Err(conflict_status(c))
    }
}

/// Loads a case for change, locking its row on PostgreSQL (SQLite's write
/// transaction is exclusive already).
fn lock_case(conn: &mut DbConn, tracking_no: &str) -> AppResult<Complaint> {
    if !complaint_rows::storable(tracking_no) {
        return Err(AppError::NotFound);
    }
    if let DbConn::Pg(pg) = conn {
        diesel::sql_query("SELECT id FROM complaints WHERE tracking_no = $1 FOR UPDATE")
            .bind::<Text, _>(tracking_no)
            .execute(pg)?;
    }
    complaint_rows::by_tracking_no(conn, tracking_no)?.ok_or(AppError::NotFound)
}

fn reload(conn: &mut DbConn, id: i64) -> AppResult<Complaint> {
    Ok(cmp::table
        .find(id)
        .select(Complaint::as_select())
        .first(conn)?)
}

fn unit(conn: &mut DbConn, code: &str) -> AppResult<Unit> {
    db::units::find(conn, code)?.ok_or(AppError::NotFound)
}

fn info(u: &Unit) -> UnitInfo {
    UnitInfo {
        code: u.code.clone(),
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
    summary: &str,
    public_note: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    audit::append(
        conn,
        &audit::Entry {
            chain: &audit::case_chain(&c.tracking_no),
            complaint_id: Some(c.id),
            actor,
            action,
            summary,
            public_note,
        },
        now,
    )?;
    Ok(())
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
    /// Already acknowledged (a reopened case goes straight back to work).
    pub acknowledged: bool,
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
    }
    let cat = category(conn, c)?;
    let (ack_days, default_handle) = limits(cat.as_ref(), env.limit_factor);
    let handle_days = order.handle_workdays.unwrap_or(default_handle);
    let ack_due = env.calendar.deadline(now, ack_days as u32, env.tz);
    let due = env.calendar.deadline(now, handle_days as u32, env.tz);
    let acknowledged_at = order.acknowledged.then_some(now_db);
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
            ack_due_at: db::to_db(ack_due),
            due_at: db::to_db(due),
            acknowledged_at,
        },
    )?;
    let status = if order.acknowledged {
        "in_progress"
    } else {
        "assigned"
    };
    diesel::update(cmp::table.find(c.id))
        .set((
            cmp::status.eq(status),
            cmp::responsible_unit_code.eq(&unit.code),
            cmp::ack_due_at.eq(a.ack_due_at),
            cmp::due_at.eq(a.due_at),
            cmp::acknowledged_at.eq(acknowledged_at),
            cmp::return_requested.eq(false),
            cmp::needs_confirmation.eq(false),
            cmp::updated_at.eq(now_db),
            // The sweep works out this assignment's ladder at its next run.
            cmp::next_escalation_at.eq(Some(now_db)),
        ))
        .execute(conn)?;
    let updated = reload(conn, c.id)?;
    let category_name = cat.map(|x| x.name);
    let letter_id = letters::issue(
        conn,
        &env.letters,
        LetterRequest {
            kind: "transfer",
            complaint: &updated,
            unit,
            category_name,
            cc: None,
            extra: json!({
                "ack_due_local": env.letters.local_date(ack_due),
                "due_local": env.letters.local_date(due),
                "handle_workdays": handle_days,
            }),
        },
        now,
    )?;
    let public = format!(
        "已转交{}办理，办理期限至{}",
        unit.name,
        env.letters.local_date(due)
    );
    record(
        conn,
        &updated,
        order.by,
        "assigned",
        &format!(
            "assigned to {} ({}); ack {} / handle {} working days; letter {}",
            unit.code, order.how, ack_days, handle_days, letter_id
        ),
        Some(&public),
        now,
    )?;
    Ok(updated)
}

/// Where routing would send a case, after the conflict check.
enum Route {
    To(Unit),
    Hold(&'static str),
    None,
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
            Some(name) => db::schema::units::table
                .filter(db::schema::units::name.eq(name))
                .filter(db::schema::units::kind.eq("township"))
                .select(db::schema::units::code)
                .first::<String>(conn)
                .optional()?,
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
    let Some(target) = resolve_target(conn, &rule.target, c)? else {
        return Ok(Route::None);
    };
    match routing::conflict(
        &info(&target),
        facts.subject_unit,
        c.subject_person.as_deref(),
        &env.routing.leader_titles,
    ) {
        Conflict::None => Ok(Route::To(target)),
        Conflict::OwnOfficer => Ok(Route::Hold("the subject person works at the target unit")),
        Conflict::Leader => Ok(match escalate_conflict(conn, env, &target)? {
            Some(up) => Route::To(up),
            None => Route::Hold(
                "the subject person leads the target unit and there is no unit above it",
            ),
        }),
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
    match route(conn, env, c)? {
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
                acknowledged: false,
            },
            now,
        ),
        Route::Hold(why) => {
            diesel::update(cmp::table.find(c.id))
                .set(cmp::needs_confirmation.eq(true))
                .execute(conn)?;
            record(
                conn,
                c,
                &system,
                "routing_held",
                &format!("waits for a supervisor: {why}"),
                None,
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

fn read(body: &Value, allowed: &[&str], f: impl FnOnce(&mut Reader<'_>)) -> AppResult<()> {
    Reader::body(body, allowed, f).finish()
}

fn workdays(r: &mut Reader<'_>, name: &str, required: bool) -> Option<i32> {
    r.integer(name, required, 1, MAX_WORKDAYS).map(|n| n as i32)
}

/// `POST /complaints/{no}/screen` (supervisor): invalid → rejected,
/// duplicate → merged into another case.
pub fn screen(
    conn: &mut DbConn,
    actor: &Actor,
    no: &str,
    body: &Value,
    now: DateTime<Utc>,
) -> AppResult<CaseState> {
    policy::require(actor, Action::Supervise)?;
    let (mut decision, mut reason, mut dup) = (None, None, None);
    read(body, &["decision", "reason", "duplicate_of"], |r| {
        decision = r.choice("decision", true, &["invalid", "duplicate"]);
        reason = r.text("reason", false, 1, 500, true);
        dup = r.text("duplicate_of", false, 1, 40, false);
        match decision.as_deref() {
            Some("invalid") if reason.is_none() => r
                .errors
                .add("reason", "is required for an invalid complaint"),
            Some("duplicate") if dup.is_none() => {
                r.errors.add("duplicate_of", "is required for a duplicate")
            }
            _ => {}
        }
    })?;
    let by = AuditActor::from(actor);
    with_case(conn, no, now, |conn, c| {
        require_status(&c, &["received"])?;
        let now_db = db::to_db(now);
        if decision.as_deref() == Some("invalid") {
            diesel::update(cmp::table.find(c.id))
                .set((
                    cmp::status.eq("rejected"),
                    cmp::screen_reason.eq(&reason),
                    cmp::updated_at.eq(now_db),
                ))
                .execute(conn)?;
            record(
                conn,
                &c,
                &by,
                "screened_invalid",
                "rejected as invalid",
                Some("经审查不予受理"),
                now,
            )?;
        } else {
            let target_no = dup.clone().unwrap_or_default().to_ascii_uppercase();
            let target = complaint_rows::by_tracking_no(conn, &target_no)?
                .filter(|t| t.id != c.id && !matches!(t.status.as_str(), "merged" | "rejected"));
            let Some(target) = target else {
                return Err(AppError::field(
                    "duplicate_of",
                    "must be another open case's tracking number",
                ));
            };
            diesel::update(cmp::table.find(c.id))
                .set((
                    cmp::status.eq("merged"),
                    cmp::duplicate_of.eq(&target.tracking_no),
                    cmp::updated_at.eq(now_db),
                ))
                .execute(conn)?;
            let note = format!("与受理编号{}合并办理", target.tracking_no);
            record(
                conn,
                &c,
                &by,
                "merged",
                &format!("merged into {}", target.tracking_no),
                Some(&note),
                now,
            )?;
            record(
                conn,
                &target,
                &by,
                "duplicate_linked",
                &format!("{} merged into this case", c.tracking_no),
                None,
                now,
            )?;
        }
        Ok(CaseState::from(&reload(conn, c.id)?))
    })
}

/// `POST /complaints/{no}/assign` (supervisor): manual routing or re-routing.
pub fn assign(
    conn: &mut DbConn,
    env: &IntakeEnv,
    actor: &Actor,
    no: &str,
    body: &Value,
    now: DateTime<Utc>,
) -> AppResult<CaseState> {
    policy::require(actor, Action::Supervise)?;
    let (mut unit_code, mut handle, mut note, mut confirm) = (None, None, None, false);
    read(body, &["unit", "handle_workdays", "note", "confirm"], |r| {
        unit_code = r.text("unit", true, 1, 16, false);
        handle = workdays(r, "handle_workdays", false);
        note = r.text("note", false, 1, 1000, true);
        confirm = r.boolean("confirm", false);
    })?;
    let unit_code = unit_code.expect("validated");
    let by = AuditActor::from(actor);
    with_case(conn, no, now, |conn, c| {
        require_status(&c, &["received", "assigned", "in_progress"])?;
        let Some(target) = db::units::find(conn, &unit_code)?.filter(|u| u.active) else {
            return Err(AppError::field("unit", "is not a known unit code"));
        };
        match routing::conflict(
            &info(&target),
            c.subject_unit_code.as_deref(),
            c.subject_person.as_deref(),
            &env.routing.leader_titles,
        ) {
            Conflict::Leader => {
                return Err(AppError::field(
                    "unit",
                    "the subject person leads this unit: assign the case to its parent unit or the office",
                ));
            }
            Conflict::OwnOfficer if !confirm => {
                return Err(AppError::field(
                    "confirm",
                    "the subject person works at this unit: send confirm: true to assign it there anyway",
                ));
            }
            _ => {}
        }
        let order = AssignOrder {
            how: if c.status == "received" {
                "manual"
            } else {
                "rerouted"
            },
            by: &by,
            handle_workdays: handle,
            note: note.as_deref(),
            acknowledged: false,
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
        require_status(&c, &["assigned"])?;
        let now_db = db::to_db(now);
        let a = assignments::current(conn, c.id)?.ok_or_else(|| conflict_status(&c))?;
        diesel::update(asg::table.find(a.id))
            .set(asg::acknowledged_at.eq(now_db))
            .execute(conn)?;
        diesel::update(cmp::table.find(c.id))
            .set((
                cmp::status.eq("in_progress"),
                cmp::acknowledged_at.eq(now_db),
                cmp::updated_at.eq(now_db),
            ))
            .execute(conn)?;
        let u = unit(conn, &a.unit_code)?;
        let late = if now_db > a.ack_due_at { " (late)" } else { "" };
        record(
            conn,
            &c,
            &AuditActor::from(actor),
            "acknowledged",
            &format!("acknowledged by {}{late}", u.code),
            Some(&format!("{}已签收", u.name)),
            now,
        )?;
        Ok(CaseState::from(&reload(conn, c.id)?))
    })
}

/// `POST /complaints/{no}/return` (unit): "not ours". The case stays with the
/// unit, flagged, clocks running, until a supervisor decides.
pub fn request_return(
    conn: &mut DbConn,
    actor: &Actor,
    no: &str,
    body: &Value,
    now: DateTime<Utc>,
) -> AppResult<CaseState> {
    policy::require(actor, Action::Handle)?;
    let mut reason = None;
    read(body, &["reason"], |r| {
        reason = r.text("reason", true, 5, 1000, true)
    })?;
    with_case(conn, no, now, |conn, c| {
        own_case(actor, &c)?;
        require_status(&c, &["assigned", "in_progress"])?;
        if c.return_requested {
            return Err(AppError::Conflict(
                "a return request is already waiting for a decision".into(),
            ));
        }
        let a = assignments::current(conn, c.id)?.ok_or_else(|| conflict_status(&c))?;
        diesel::update(asg::table.find(a.id))
            .set(asg::return_reason.eq(&reason))
            .execute(conn)?;
        diesel::update(cmp::table.find(c.id))
            .set((
                cmp::return_requested.eq(true),
                cmp::updated_at.eq(db::to_db(now)),
            ))
            .execute(conn)?;
        record(
            conn,
            &c,
            &AuditActor::from(actor),
            "return_requested",
            &format!("{} asks to return the case", a.unit_code),
            None,
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
    body: &Value,
    now: DateTime<Utc>,
) -> AppResult<CaseState> {
    policy::require(actor, Action::Supervise)?;
    let (mut decision, mut note) = (None, None);
    read(body, &["decision", "note"], |r| {
        decision = r.choice("decision", true, &["approve", "deny"]);
        note = r.text("note", false, 1, 1000, true);
    })?;
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
        if decision.as_deref() == Some("approve") {
            assignments::end(conn, a.id, "returned", now_db)?;
            diesel::update(cmp::table.find(c.id))
                .set((
                    cmp::status.eq("received"),
                    cmp::responsible_unit_code.eq(None::<String>),
                    cmp::ack_due_at.eq(None::<chrono::NaiveDateTime>),
                    cmp::due_at.eq(None::<chrono::NaiveDateTime>),
                    cmp::acknowledged_at.eq(None::<chrono::NaiveDateTime>),
                    cmp::return_requested.eq(false),
                    cmp::updated_at.eq(now_db),
                ))
                .execute(conn)?;
            record(
                conn,
                &c,
                &by,
                "return_approved",
                &format!("return by {} approved", u.code),
                Some("重新确定承办单位"),
                now,
            )?;
        } else {
            diesel::update(cmp::table.find(c.id))
                .set((cmp::return_requested.eq(false), cmp::updated_at.eq(now_db)))
                .execute(conn)?;
            let body = format!(
                "你单位的退回申请未获同意，请继续办理。{}",
                note.as_deref().unwrap_or("")
            );
            letters::notice(conn, &env.letters, &c, &u, "退回申请未获同意", &body, now)?;
            record(
                conn,
                &c,
                &by,
                "return_denied",
                &format!("return by {} denied", u.code),
                None,
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
    actor: &Actor,
    no: &str,
    body: &Value,
    now: DateTime<Utc>,
) -> AppResult<CaseState> {
    policy::require(actor, Action::Handle)?;
    let (mut content, mut public) = (None, false);
    read(body, &["content", "public"], |r| {
        content = r.text("content", true, 1, 2000, true);
        public = r.boolean("public", false);
    })?;
    let content = content.expect("validated");
    with_case(conn, no, now, |conn, c| {
        own_case(actor, &c)?;
        if c.status == "assigned" {
            return Err(AppError::Conflict(
                "the case is assigned: acknowledge it before reporting progress".into(),
            ));
        }
        require_status(&c, &["in_progress"])?;
        let unit_code = c.responsible_unit_code.clone().unwrap_or_default();
        records::add_progress(
            conn,
            &NewProgressNote {
                complaint_id: c.id,
                unit_code: &unit_code,
                author_id: actor.user_id,
                content: &content,
                public,
                created_at: db::to_db(now),
            },
        )?;
        let public_note = public.then_some(content.as_str());
        record(
            conn,
            &c,
            &AuditActor::from(actor),
            "progress",
            &format!("progress note by {unit_code} (public: {public})"),
            public_note,
            now,
        )?;
        Ok(CaseState::from(&c))
    })
}

/// `POST /complaints/{no}/extensions` (unit): only before `due_at`, one
/// pending request at a time.
pub fn request_extension(
    conn: &mut DbConn,
    actor: &Actor,
    no: &str,
    body: &Value,
    now: DateTime<Utc>,
) -> AppResult<Value> {
    policy::require(actor, Action::Handle)?;
    let (mut days, mut reason) = (None, None);
    read(body, &["workdays", "reason"], |r| {
        days = workdays(r, "workdays", true);
        reason = r.text("reason", true, 5, 1000, true);
    })?;
    let (days, reason) = (days.expect("validated"), reason.expect("validated"));
    with_case(conn, no, now, |conn, c| {
        own_case(actor, &c)?;
        require_status(&c, &["assigned", "in_progress"])?;
        let a = assignments::current(conn, c.id)?.ok_or_else(|| conflict_status(&c))?;
        let now_db = db::to_db(now);
        if now_db >= a.due_at {
            return Err(AppError::Conflict(
                "the handling deadline has passed: an extension must be asked for before it".into(),
            ));
        }
        let pending: i64 = ext::table
            .filter(ext::complaint_id.eq(c.id))
            .filter(ext::status.eq("pending"))
            .count()
            .get_result(conn)?;
        if pending > 0 {
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
        record(
            conn,
            &c,
            &AuditActor::from(actor),
            "extension_requested",
            &format!("extension {} of {days} working days asked", e.id),
            None,
            now,
        )?;
        Ok(
            json!({"id": e.id, "status": e.status, "workdays": e.workdays, "requested_at": db::from_db(e.requested_at)}),
        )
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
    body: &Value,
    now: DateTime<Utc>,
) -> AppResult<CaseState> {
    policy::require(actor, Action::Supervise)?;
    let (mut decision, mut note) = (None, None);
    read(body, &["decision", "note"], |r| {
        decision = r.choice("decision", true, &["approve", "deny"]);
        note = r.text("note", false, 1, 1000, true);
    })?;
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
        require_status(&c, &["assigned", "in_progress"])?;
        let a = assignments::current(conn, c.id)?
            .filter(|a| a.id == e.assignment_id)
            .ok_or_else(|| {
                AppError::Conflict("the case has been reassigned since the request".into())
            })?;
        let u = unit(conn, &a.unit_code)?;
        let now_db = db::to_db(now);
        if decision.as_deref() == Some("approve") {
            let new_due = env
                .calendar
                .deadline(db::from_db(a.due_at), e.workdays as u32, env.tz);
            let new_due_db = db::to_db(new_due);
            records::decide_extension(
                conn,
                e.id,
                "approved",
                actor.user_id,
                now_db,
                note.as_deref(),
                Some(new_due_db),
            )?;
            diesel::update(asg::table.find(a.id))
                .set((
                    asg::due_at.eq(new_due_db),
                    asg::handle_workdays.eq(a.handle_workdays + e.workdays),
                ))
                .execute(conn)?;
            diesel::update(cmp::table.find(c.id))
                .set((cmp::due_at.eq(new_due_db), cmp::updated_at.eq(now_db)))
                .execute(conn)?;
            let date = env.letters.local_date(new_due);
            letters::notice(
                conn,
                &env.letters,
                &c,
                &u,
                "延期申请已批准",
                &format!("你单位的延期申请已批准，办理期限延至{date}。"),
                now,
            )?;
            record(
                conn,
                &c,
                &by,
                "extension_approved",
                &format!("extension {} approved", e.id),
                Some(&format!("办理期限延至{date}")),
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
            letters::notice(conn, &env.letters, &c, &u, "延期申请未获批准", &body, now)?;
            record(
                conn,
                &c,
                &by,
                "extension_denied",
                &format!("extension {} denied", e.id),
                None,
                now,
            )?;
        }
        Ok(CaseState::from(&reload(conn, c.id)?))
    })
}

struct ItemInput {
    content: String,
    responsible_person: String,
    deadline: NaiveDate,
    target: String,
}

/// `POST /complaints/{no}/report` (unit): the final answer; the handling
/// clock stops.
pub fn submit_report(
    conn: &mut DbConn,
    actor: &Actor,
    no: &str,
    body: &Value,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> AppResult<CaseState> {
    policy::require(actor, Action::Handle)?;
    const FIELDS: &[&str] = &[
        "findings",
        "measures",
        "responsible_person",
        "rectification_deadline",
        "target",
        "public_reply",
        "rectification_items",
    ];
    let mut f: [Option<String>; 5] = Default::default();
    let mut deadline = None;
    let mut items = Vec::new();
    read(body, FIELDS, |r| {
        f[0] = r.text("findings", true, 10, 10_000, true);
        f[1] = r.text("measures", true, 5, 10_000, true);
        f[2] = r.text("responsible_person", true, 1, 100, false);
        f[3] = r.text("target", true, 2, 2_000, true);
        f[4] = r.text("public_reply", true, 5, 5_000, true);
        deadline = r.date("rectification_deadline", true);
        if deadline.is_some_and(|d| d < today) {
            r.errors
                .add("rectification_deadline", "must not be in the past");
        }
        match body.get("rectification_items") {
            None | Some(Value::Null) => {}
            Some(Value::Array(list)) if list.len() <= 50 => {
                for (i, item) in list.iter().enumerate() {
                    let mut ir = Reader::at(item, format!("rectification_items[{i}]."), r.errors);
                    ir.deny_unknown(&["content", "responsible_person", "deadline", "target"]);
                    let content = ir.text("content", true, 2, 2_000, true);
                    let person = ir.text("responsible_person", true, 1, 100, false);
                    let due = ir.date("deadline", true);
                    let target = ir.text("target", true, 2, 2_000, true);
                    if let (Some(content), Some(person), Some(due), Some(target)) =
                        (content, person, due, target)
                    {
                        items.push(ItemInput {
                            content,
                            responsible_person: person,
                            deadline: due,
                            target,
                        });
                    }
                }
            }
            Some(_) => r
                .errors
                .add("rectification_items", "must be a list of at most 50 items"),
        }
    })?;
    let [findings, measures, person, target, reply] = f.map(|x| x.expect("validated"));
    let deadline = deadline.expect("validated");
    with_case(conn, no, now, |conn, c| {
        own_case(actor, &c)?;
        require_status(&c, &["in_progress"])?;
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
        diesel::update(asg::table.find(a.id))
            .set(asg::reported_at.eq(now_db))
            .execute(conn)?;
        diesel::update(cmp::table.find(c.id))
            .set((cmp::status.eq("reported"), cmp::updated_at.eq(now_db)))
            .execute(conn)?;
        let late = if now_db > a.due_at { " (late)" } else { "" };
        record(
            conn,
            &c,
            &AuditActor::from(actor),
            "reported",
            &format!(
                "report {report_id} by {}{late}; {} rectification items",
                a.unit_code,
                items.len()
            ),
            Some("承办单位已报送办理结果，待审核"),
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
    body: &Value,
    now: DateTime<Utc>,
) -> AppResult<CaseState> {
    policy::require(actor, Action::Supervise)?;
    let (mut decision, mut comment, mut handle) = (None, None, None);
    read(body, &["decision", "comment", "handle_workdays"], |r| {
        decision = r.choice("decision", true, &["accept", "redo"]);
        comment = r.text("comment", false, 1, 2000, true);
        handle = workdays(r, "handle_workdays", false);
        if decision.as_deref() == Some("redo") && comment.is_none() {
            r.errors.add(
                "comment",
                "is required when ordering a redo: say what is missing",
            );
        }
    })?;
    let by = AuditActor::from(actor);
    with_case(conn, no, now, |conn, c| {
        require_status(&c, &["reported"])?;
        let a = assignments::current(conn, c.id)?.ok_or_else(|| conflict_status(&c))?;
        let report = records::reports(conn, c.id)?
            .pop()
            .ok_or_else(|| conflict_status(&c))?;
        let now_db = db::to_db(now);
        if decision.as_deref() == Some("accept") {
            records::review_report(
                conn,
                report.id,
                "accepted",
                comment.as_deref(),
                actor.user_id,
                now_db,
            )?;
            assignments::end(conn, a.id, "closed", now_db)?;
            diesel::update(cmp::table.find(c.id))
                .set((
                    cmp::status.eq("closed"),
                    cmp::public_reply.eq(&report.public_reply),
                    cmp::satisfaction.eq(None::<String>),
                    cmp::updated_at.eq(now_db),
                ))
                .execute(conn)?;
            record(
                conn,
                &c,
                &by,
                "closed",
                &format!("report {} accepted", report.id),
                Some("已办结"),
                now,
            )?;
        } else {
            let days = handle.unwrap_or(a.handle_workdays);
            let due = env.calendar.deadline(now, days as u32, env.tz);
            records::review_report(
                conn,
                report.id,
                "redo",
                comment.as_deref(),
                actor.user_id,
                now_db,
            )?;
            diesel::update(asg::table.find(a.id))
                .set((
                    asg::due_at.eq(db::to_db(due)),
                    asg::reported_at.eq(None::<chrono::NaiveDateTime>),
                ))
                .execute(conn)?;
            diesel::update(cmp::table.find(c.id))
                .set((
                    cmp::status.eq("in_progress"),
                    cmp::due_at.eq(db::to_db(due)),
                    cmp::updated_at.eq(now_db),
                ))
                .execute(conn)?;
            let u = unit(conn, &a.unit_code)?;
            let date = env.letters.local_date(due);
            let text = format!(
                "你单位报送的办理结果未通过审核，请重新办理，于{date}前重新报送。审核意见：{}",
                comment.as_deref().unwrap_or("")
            );
            letters::notice(conn, &env.letters, &c, &u, "责令重办", &text, now)?;
            record(
                conn,
                &c,
                &by,
                "redo_ordered",
                &format!("report {} sent back; {days} working days", report.id),
                Some(&format!("责令重新办理，期限至{date}")),
                now,
            )?;
        }
        Ok(CaseState::from(&reload(conn, c.id)?))
    })
}

/// `POST /complaints/{no}/callback` (operator, supervisor): the citizen's
/// satisfaction with a closed case.
pub fn callback(
    conn: &mut DbConn,
    actor: &Actor,
    no: &str,
    body: &Value,
    now: DateTime<Utc>,
) -> AppResult<CaseState> {
    policy::require(actor, Action::Callback)?;
    let (mut satisfaction, mut note) = (None, None);
    read(body, &["satisfaction", "note"], |r| {
        satisfaction = r.choice("satisfaction", true, SATISFACTION);
        note = r.text("note", false, 1, 2000, true);
    })?;
    let satisfaction = satisfaction.expect("validated");
    with_case(conn, no, now, |conn, c| {
        require_status(&c, &["closed"])?;
        store_satisfaction(
            conn,
            &c,
            "callback",
            &satisfaction,
            note.as_deref(),
            Some(actor.user_id),
            now,
        )?;
        record(
            conn,
            &c,
            &AuditActor::from(actor),
            "callback",
            &format!("callback: {satisfaction}"),
            None,
            now,
        )?;
        Ok(CaseState::from(&reload(conn, c.id)?))
    })
}

fn store_satisfaction(
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
    diesel::update(cmp::table.find(c.id))
        .set((
            cmp::satisfaction.eq(satisfaction),
            cmp::updated_at.eq(now_db),
        ))
        .execute(conn)?;
    Ok(())
}

/// The citizen's own rating of a closed case, once per closure (the caller
/// has checked the query code).
/// Whether the citizen may still rate the case: it is closed and has no
/// public rating since its last closure (an operator's callback does not
/// take the citizen's turn).
pub fn public_feedback_open(conn: &mut DbConn, c: &Complaint) -> AppResult<bool> {
    if c.status != "closed" {
        return Ok(false);
    }
    let closed_at: Option<chrono::NaiveDateTime> = asg::table
        .filter(asg::complaint_id.eq(c.id))
        .filter(asg::end_reason.eq("closed"))
        .select(asg::ended_at)
        .order(asg::id.desc())
        .first::<Option<chrono::NaiveDateTime>>(conn)
        .optional()?
        .flatten();
    let given = records::feedback_for(conn, c.id)?
        .iter()
        .any(|f| f.source == "public" && closed_at.is_none_or(|t| f.created_at >= t));
    Ok(!given)
}

pub fn public_feedback(
    conn: &mut DbConn,
    c: &Complaint,
    body: &Value,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let (mut satisfaction, mut comment) = (None, None);
    read(
        body,
        &["tracking_no", "query_code", "satisfaction", "comment"],
        |r| {
            satisfaction = r.choice("satisfaction", true, SATISFACTION);
            comment = r.text("comment", false, 1, 1000, true);
        },
    )?;
    let satisfaction = satisfaction.expect("validated");
    with_case(conn, &c.tracking_no, now, |conn, c| {
        require_status(&c, &["closed"])?;
        if !public_feedback_open(conn, &c)? {
            return Err(AppError::Conflict(
                "feedback for this case has already been given".into(),
            ));
        }
        store_satisfaction(
            conn,
            &c,
            "public",
            &satisfaction,
            comment.as_deref(),
            None,
            now,
        )?;
        record(
            conn,
            &c,
            &AuditActor::public(),
            "feedback",
            &format!("public feedback: {satisfaction}"),
            Some("群众已评价"),
            now,
        )?;
        Ok(())
    })
}

/// `POST /complaints/{no}/reopen` (supervisor): a closed case whose citizen
/// is unsatisfied goes back to its unit with a new deadline.
pub fn reopen(
    conn: &mut DbConn,
    env: &IntakeEnv,
    actor: &Actor,
    no: &str,
    body: &Value,
    now: DateTime<Utc>,
) -> AppResult<CaseState> {
    policy::require(actor, Action::Supervise)?;
    let (mut reason, mut handle) = (None, None);
    read(body, &["reason", "handle_workdays"], |r| {
        reason = r.text("reason", true, 5, 2000, true);
        handle = workdays(r, "handle_workdays", false);
    })?;
    let reason = reason.expect("validated");
    let by = AuditActor::from(actor);
    with_case(conn, no, now, |conn, c| {
        require_status(&c, &["closed"])?;
        if c.satisfaction.as_deref() != Some("unsatisfied") {
            return Err(AppError::Conflict(
                "only a closed case whose citizen is unsatisfied (callback or feedback) can be reopened".into(),
            ));
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
            acknowledged: true,
        };
        let updated = assign_to(conn, env, &c, &u, order, now)?;
        letters::notice(
            conn,
            &env.letters,
            &updated,
            &u,
            "案件重新办理",
            &format!("群众对办理结果不满意，本件重新交你单位办理。原因：{reason}"),
            now,
        )?;
        record(
            conn,
            &updated,
            &by,
            "reopened",
            "reopened after an unsatisfied answer",
            Some("群众不满意，重新办理"),
            now,
        )?;
        Ok(CaseState::from(&updated))
    })
}
