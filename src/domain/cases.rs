//! The staff read side of complaints: filtered lists and the case view.
//! The case view says only whether an identity is on file; the identity is
//! opened by its own request, for roles the policy allows, with a reason, and
//! each such read is an audit event written before the identity is returned
//! (docs/architecture.md, "The hotline desk"). A unit
//! reads the case as written for it (docs/architecture.md, "The unit's
//! view"): its own part of the case, a timeline worded for it, nothing of
//! intake, anonymity, routing, merges or who complained.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::auth::Actor;
use crate::auth::policy::{self, Action};
use crate::db::complaints::{self as rows, Complaint, ComplaintFilter};
use crate::db::{self, DbConn};
use crate::domain::audit::{self, AuditActor, Words};
use crate::domain::calendar::Calendar;
use crate::domain::privacy::PiiKeys;
use crate::domain::{escalation, intake, labels};
use crate::error::{AppError, AppResult};

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CodeName {
    pub code: String,
    pub name: Option<String>,
}

/// A complaint in a list. Never carries identity.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ComplaintSummary {
    pub tracking_no: String,
    /// How the complaint came in; not shown to units (an intake detail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    pub status: String,
    /// The status in words.
    pub status_label: &'static str,
    pub title: String,
    pub category: Option<CodeName>,
    pub subject_unit: Option<CodeName>,
    pub responsible_unit: Option<CodeName>,
    /// When the case was received; a unit sees the local day's start (the
    /// date, not the minute).
    pub received_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub ack_due_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    /// The deadlines were counted over a year without its State Council
    /// holiday notice (statutory holidays only).
    pub deadlines_provisional: bool,
    /// Set when a deadline of the open case has passed: by how much, and how
    /// far up the escalation ladder the case has climbed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overdue: Option<OverdueView>,
    /// Times the citizen called to chase the case (催办).
    pub follow_ups: i32,
}

/// How late an open case is.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct OverdueView {
    /// The clock that ran out: `acknowledge` (not signed for) or `handling`.
    pub clock: &'static str,
    pub deadline_at: DateTime<Utc>,
    /// Calendar days since the deadline (started days count).
    pub days: i64,
    /// Working days since the deadline's day.
    pub workdays: u32,
    /// The highest rung fired for the current deadlines (0 warning, 1
    /// reminder, 2 supervision, 3 accountability), if any.
    pub ladder_level: Option<i32>,
    pub ladder_level_name: Option<&'static str>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    /// Position in this reader's timeline (a unit's is numbered by itself).
    pub seq: i64,
    pub at: DateTime<Utc>,
    /// `at` in local time, as people read it.
    pub at_local: String,
    pub action: String,
    /// Who acted: the role for the office; `office` or `unit` for a unit.
    pub actor_role: String,
    /// The account that acted: auditors and administrators only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_username: Option<String>,
    /// What was done, in Chinese, written for this reader.
    pub summary: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IdentityView {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub id_number: Option<String>,
    pub address: Option<String>,
    /// Where it happened as the citizen wrote it (Open311 `address_string`
    /// naming no known place): kept sealed, shown like identity.
    pub location: Option<String>,
}

/// One case as staff see it. `anonymous` and `complainant` are present only
/// for roles allowed to know about the complainant; a unit reads the case as
/// written for it (docs/architecture.md, "The unit's view").
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ComplaintView {
    #[serde(flatten)]
    pub summary: ComplaintSummary,
    pub content: String,
    pub subject_person: Option<String>,
    pub township: Option<String>,
    pub occurred_on: Option<NaiveDate>,
    pub public_reply: Option<String>,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anonymous: Option<bool>,
    /// Whether the case holds a sealed identity (or location), read with
    /// `GET /complaints/{no}/identity` (not shown to units).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_identity: Option<bool>,
    /// Earlier cases this one may repeat, found at intake (not shown to
    /// units).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub possible_duplicates: Option<Vec<DuplicateView>>,
    /// The callback: `due`, `reached`, `refused`, `unreachable` or
    /// `not_possible` (not shown to units).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_status: Option<String>,
    /// Facts added after intake (by a caller, or from a merged duplicate).
    pub supplements: Vec<crate::domain::supplements::SupplementView>,
    pub return_requested: bool,
    pub delivery_failed: bool,
    pub needs_confirmation: bool,
    /// Why the case waits for a supervisor: `own_officer`, `leader_unsure`,
    /// `leader_without_parent` or `burst` (the office's only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_reason: Option<String>,
    pub extension_requested: bool,
    /// A note the unit marked public waits for the office's approval.
    pub note_awaiting_approval: bool,
    /// The case this one was merged into (not shown to units).
    pub duplicate_of: Option<String>,
    /// Why it was rejected (not shown to units).
    pub screen_reason: Option<String>,
    /// The latest rating: what counts for the statistics.
    pub satisfaction: Option<String>,
    /// The open assignment with both clocks.
    pub assignment: Option<AssignmentView>,
    /// Assignments of the case; a unit sees its own.
    pub assignments: Vec<AssignmentView>,
    pub letters: Vec<crate::domain::letters::LetterView>,
    pub progress: Vec<ProgressView>,
    pub extensions: Vec<ExtensionView>,
    pub reports: Vec<ReportView>,
    /// Every rating and callback, oldest first (not shown to units).
    pub feedback: Vec<FeedbackView>,
    pub timeline: Vec<TimelineEntry>,
}

/// What the reader of a case may be shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Audience<'a> {
    /// A unit officer: the case as written for its unit.
    Unit(&'a str),
    /// The office; `accounts`: who did what, by account (auditors, admins).
    Office { accounts: bool },
}

impl<'a> Audience<'a> {
    fn of(actor: &'a Actor) -> Self {
        match policy::unit_scope(actor) {
            Some(unit) => Audience::Unit(unit),
            None => Audience::Office {
                accounts: policy::permits(actor.role, Action::ReadAuditActors),
            },
        }
    }

    fn unit(self) -> Option<&'a str> {
        match self {
            Audience::Unit(u) => Some(u),
            Audience::Office { .. } => None,
        }
    }
}

/// What reading a case needs besides the connection: the county's zone, its
/// calendar (days overdue) and the time of reading.
#[derive(Clone, Copy)]
pub struct Reading<'a> {
    pub tz: Tz,
    pub calendar: &'a Calendar,
    pub now: DateTime<Utc>,
}

/// The start of `t`'s local day: what a unit is told of when a case came in.
fn day_of(t: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
    crate::domain::calendar::start_of_day(t.with_timezone(&tz).date_naive(), tz).unwrap_or(t)
}

/// Code → name maps for the units and categories a page mentions.
struct Names {
    units: HashMap<String, String>,
    categories: HashMap<String, String>,
}

impl Names {
    /// Names for the complaints' units and categories, and for `more_units`.
    fn load(
        conn: &mut DbConn,
        items: &[&Complaint],
        more_units: &[String],
    ) -> db::QueryResult<Self> {
        let mut unit_codes: Vec<String> = more_units.to_vec();
        let mut cat_codes: Vec<String> = Vec::new();
        for c in items {
            unit_codes.extend(c.subject_unit_code.iter().cloned());
            unit_codes.extend(c.responsible_unit_code.iter().cloned());
            cat_codes.extend(c.category_code.iter().cloned());
        }
        unit_codes.sort();
        unit_codes.dedup();
        cat_codes.sort();
        cat_codes.dedup();
        Ok(Self {
            units: db::units::names(conn, &unit_codes)?.into_iter().collect(),
            categories: db::categories::names(conn, &cat_codes)?
                .into_iter()
                .collect(),
        })
    }

    fn unit_of(&self, code: String) -> CodeName {
        CodeName {
            name: self.units.get(&code).cloned(),
            code,
        }
    }

    fn unit(&self, code: &Option<String>) -> Option<CodeName> {
        code.as_ref().map(|c| CodeName {
            code: c.clone(),
            name: self.units.get(c).cloned(),
        })
    }

    fn category(&self, code: &Option<String>) -> Option<CodeName> {
        code.as_ref().map(|c| CodeName {
            code: c.clone(),
            name: self.categories.get(c).cloned(),
        })
    }

    fn summary(
        &self,
        c: &Complaint,
        who: Audience<'_>,
        r: &Reading<'_>,
        ladder: &HashMap<i64, i32>,
    ) -> ComplaintSummary {
        let unit = who.unit().is_some();
        let received = db::from_db(c.received_at);
        ComplaintSummary {
            tracking_no: c.tracking_no.clone(),
            channel: (!unit).then(|| c.channel.clone()),
            status: c.status.clone(),
            status_label: labels::status_label(&c.status),
            title: c.title.clone(),
            category: self.category(&c.category_code),
            subject_unit: self.unit(&c.subject_unit_code),
            responsible_unit: self.unit(&c.responsible_unit_code),
            received_at: if unit {
                day_of(received, r.tz)
            } else {
                received
            },
            updated_at: db::from_db(c.updated_at),
            ack_due_at: c.ack_due_at.map(db::from_db),
            due_at: c.due_at.map(db::from_db),
            deadlines_provisional: c.calendar_provisional,
            overdue: overdue(c, r, ladder.get(&c.id).copied()),
            follow_ups: c.follow_ups,
        }
    }
}

/// How late an open case is at the time of reading, if it is.
fn overdue(c: &Complaint, r: &Reading<'_>, level: Option<i32>) -> Option<OverdueView> {
    if !matches!(c.status.as_str(), "assigned" | "in_progress") {
        return None;
    }
    let now = db::to_db(r.now);
    let (clock, due) = match (c.due_at, c.ack_due_at, c.acknowledged_at) {
        (Some(due), _, _) if due < now => ("handling", due),
        (_, Some(ack), None) if ack < now => ("acknowledge", ack),
        _ => return None,
    };
    let due = db::from_db(due);
    let late = r.now - due;
    let days = (late.num_seconds() + 86_399) / 86_400;
    let today = r.now.with_timezone(&r.tz).date_naive();
    let due_day = due.with_timezone(&r.tz).date_naive();
    Some(OverdueView {
        clock,
        deadline_at: due,
        days,
        workdays: r.calendar.workdays_between(due_day, today),
        ladder_level: level,
        ladder_level_name: level
            .and_then(|l| escalation::Rung::from_level(l).map(escalation::Rung::name)),
    })
}

/// The highest rung fired for each case's current deadlines (steps of the
/// open assignment on the acknowledge clock, or on the current handling
/// deadline): one query for a page.
fn ladder_levels(conn: &mut DbConn, cases: &[&Complaint]) -> AppResult<HashMap<i64, i32>> {
    let ids: Vec<i64> = cases
        .iter()
        .filter(|c| matches!(c.status.as_str(), "assigned" | "in_progress"))
        .map(|c| c.id)
        .collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let current: HashMap<i64, i64> = db::assignments::current_of(conn, &ids)?
        .into_iter()
        .map(|a| (a.complaint_id, a.id))
        .collect();
    let due: HashMap<i64, Option<chrono::NaiveDateTime>> =
        cases.iter().map(|c| (c.id, c.due_at)).collect();
    let mut out: HashMap<i64, i32> = HashMap::new();
    for e in db::escalations::of_cases(conn, &ids)? {
        let current_assignment = current.get(&e.complaint_id) == Some(&e.assignment_id);
        let current_deadline =
            e.clock == "acknowledge" || due.get(&e.complaint_id) == Some(&Some(e.deadline_at));
        if current_assignment && current_deadline {
            let level = out.entry(e.complaint_id).or_insert(e.level);
            *level = (*level).max(e.level);
        }
    }
    Ok(out)
}

/// One clock of an assignment: its deadline, when it stopped, and how it
/// stands at the time of reading.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ClockView {
    pub due_at: DateTime<Utc>,
    pub stopped_at: Option<DateTime<Utc>>,
    /// Seconds left (negative: overdue), at the stop if stopped.
    pub seconds_left: i64,
    pub overdue: bool,
}

fn clock(
    due: chrono::NaiveDateTime,
    stopped: Option<chrono::NaiveDateTime>,
    now: DateTime<Utc>,
) -> ClockView {
    let at = stopped.map(db::from_db).unwrap_or(now);
    let left = (db::from_db(due) - at).num_seconds();
    ClockView {
        due_at: db::from_db(due),
        stopped_at: stopped.map(db::from_db),
        seconds_left: left,
        overdue: left < 0,
    }
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AssignmentView {
    pub id: i64,
    pub unit: CodeName,
    pub how: String,
    pub assigned_at: DateTime<Utc>,
    pub ack_workdays: i32,
    pub handle_workdays: i32,
    pub acknowledge: ClockView,
    pub handling: ClockView,
    /// Until when the unit may ask to return the case (its transfer letter
    /// states it).
    pub return_due_at: Option<DateTime<Utc>>,
    /// The deadlines were counted over a provisional calendar year.
    pub deadlines_provisional: bool,
    /// The office's instruction with the assignment (also in the transfer
    /// letter).
    pub note: Option<String>,
    pub return_reason: Option<String>,
    pub ended_at: Option<DateTime<Utc>>,
    pub end_reason: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProgressView {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub unit: String,
    pub content: String,
    /// The unit asked for it to be public.
    pub public: bool,
    /// `none` (internal), `pending` (waits for the office), `approved` (on
    /// the citizen's page) or `denied`.
    pub publication: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExtensionView {
    pub id: i64,
    pub workdays: i32,
    pub reason: String,
    pub status: String,
    pub requested_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub old_due_at: DateTime<Utc>,
    pub new_due_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ItemView {
    pub content: String,
    pub responsible_person: String,
    pub deadline: NaiveDate,
    pub target: String,
    pub status: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReportView {
    pub id: i64,
    pub findings: String,
    pub measures: String,
    pub responsible_person: String,
    pub rectification_deadline: NaiveDate,
    pub target: String,
    pub public_reply: String,
    pub submitted_at: DateTime<Utc>,
    pub review: Option<String>,
    pub review_comment: Option<String>,
    pub rectification_items: Vec<ItemView>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FeedbackView {
    /// `public` (the citizen, on the tracking page) or `callback` (staff).
    pub source: String,
    pub satisfaction: String,
    pub satisfaction_label: &'static str,
    /// The citizen's or the caller's words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The staff member who made the callback.
    pub by_role: Option<String>,
    pub by_user_id: Option<i64>,
    pub at: DateTime<Utc>,
    /// Whether this is the latest rating, the one the statistics count.
    pub latest: bool,
}

/// One page of the case list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CasePage {
    pub items: Vec<ComplaintSummary>,
    /// The page asked for by number; `null` when the page was asked for with
    /// `after`.
    pub page: Option<i64>,
    pub per_page: i64,
    /// How many cases match: exact when `total_exact`, else at least this
    /// many (counting stops at 10,000).
    pub total: i64,
    pub total_exact: bool,
    /// Give it as `after` for the next page (any depth, in constant time);
    /// `null` when this page is the last.
    pub next_cursor: Option<String>,
}

/// `GET /complaints`: the page `window` of the cases matching `filter`,
/// newest first. A unit officer sees only its own unit's cases, whatever
/// `unit` filter it sends.
pub fn list(
    conn: &mut DbConn,
    actor: &Actor,
    mut filter: ComplaintFilter,
    window: rows::Window,
    per_page: i64,
    reading: &Reading<'_>,
) -> AppResult<CasePage> {
    policy::require(actor, Action::ListComplaints)?;
    if let Some(own) = policy::unit_scope(actor) {
        filter.unit = Some(own.to_owned());
    }
    let (items, total) = rows::list(conn, &filter, window, per_page)?;
    let next_cursor = (items.len() as i64 == per_page)
        .then(|| items.last().map(|c| rows::Cursor::of(c).encode()))
        .flatten();
    let refs: Vec<&Complaint> = items.iter().collect();
    let names = Names::load(conn, &refs, &[])?;
    let ladder = ladder_levels(conn, &refs)?;
    let who = Audience::of(actor);
    Ok(CasePage {
        items: items
            .iter()
            .map(|c| names.summary(c, who, reading, &ladder))
            .collect(),
        page: match window {
            rows::Window::Offset(offset) => Some(offset / per_page + 1),
            rows::Window::After(_) => None,
        },
        per_page,
        total: total.count,
        total_exact: total.exact,
        next_cursor,
    })
}

/// The case's timeline as `who` reads it. The office reads every event with
/// its own summary; a unit reads the events that have a line written for it,
/// numbered by themselves, with the day (not the minute) it was received.
fn timeline(
    conn: &mut DbConn,
    c: &Complaint,
    who: Audience<'_>,
    tz: Tz,
) -> AppResult<Vec<TimelineEntry>> {
    let events = db::audit::for_complaint(conn, c.id)?;
    if who.unit().is_some() {
        return Ok(events
            .into_iter()
            .filter_map(|e| {
                let summary = e.unit_note?;
                let at = db::from_db(e.created_at);
                let (at, at_local) = if e.action == "received" {
                    (day_of(at, tz), labels::local_date(at, tz))
                } else {
                    (at, labels::local_minute(at, tz))
                };
                let actor_role = if e.actor_role == "unit" {
                    "unit"
                } else {
                    "office"
                };
                Some((at, at_local, e.action, actor_role, summary))
            })
            .enumerate()
            .map(
                |(i, (at, at_local, action, actor_role, summary))| TimelineEntry {
                    seq: i as i64 + 1,
                    at,
                    at_local,
                    action,
                    actor_role: actor_role.into(),
                    actor_id: None,
                    actor_username: None,
                    summary,
                },
            )
            .collect());
    }
    let accounts = matches!(who, Audience::Office { accounts: true });
    let names: HashMap<i64, String> = if accounts {
        let ids: Vec<i64> = events.iter().filter_map(|e| e.actor_id).collect();
        db::users::usernames(conn, &ids)?.into_iter().collect()
    } else {
        HashMap::new()
    };
    Ok(events
        .into_iter()
        .map(|e| {
            let at = db::from_db(e.created_at);
            TimelineEntry {
                seq: e.seq,
                at,
                at_local: labels::local_minute(at, tz),
                action: e.action,
                actor_role: e.actor_role,
                actor_id: e.actor_id.filter(|_| accounts),
                actor_username: e
                    .actor_id
                    .filter(|_| accounts)
                    .and_then(|id| names.get(&id).cloned()),
                summary: e.summary,
            }
        })
        .collect())
}

/// An earlier case a new one may repeat.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DuplicateView {
    pub tracking_no: String,
    pub title: String,
    pub status: String,
    pub status_label: &'static str,
    pub received_at: DateTime<Utc>,
    /// `same_phone` or `similar_title`.
    pub reason: String,
    /// How alike the titles are, in percent of shared character pairs.
    pub similarity: i32,
}

fn duplicates(conn: &mut DbConn, c: &Complaint) -> AppResult<Vec<DuplicateView>> {
    let found = db::duplicates::for_case(conn, c.id)?;
    let ids: Vec<i64> = found.iter().map(|d| d.candidate_id).collect();
    let cases: HashMap<i64, Complaint> = rows::by_ids(conn, &ids)?
        .into_iter()
        .map(|k| (k.id, k))
        .collect();
    Ok(found
        .into_iter()
        .filter_map(|d| {
            let k = cases.get(&d.candidate_id)?;
            Some(DuplicateView {
                tracking_no: k.tracking_no.clone(),
                title: k.title.clone(),
                status: k.status.clone(),
                status_label: labels::status_label(&k.status),
                received_at: db::from_db(k.received_at),
                reason: d.reason,
                similarity: d.similarity,
            })
        })
        .collect())
}

/// `GET /complaints/{no}/identity` (supervisor, admin): the complainant's
/// identity, with a reason. The read is recorded first, naming the reader and
/// the reason: if the audit write fails, nothing is shown.
pub fn identity(
    conn: &mut DbConn,
    keys: &PiiKeys,
    actor: &Actor,
    tracking_no: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> AppResult<IdentityView> {
    policy::require(actor, Action::ViewIdentity)?;
    db::write_tx(conn, |tx| -> AppResult<IdentityView> {
        let c = rows::by_tracking_no(tx, tracking_no)?.ok_or(AppError::NotFound)?;
        let Some(sealed) = rows::identity(tx, c.id)? else {
            return Err(AppError::Conflict(
                "the case holds no identity: the complainant is anonymous or gave none".into(),
            ));
        };
        let words = Words::new(format!(
            "{}查看反映人身份信息，理由：{reason}",
            labels::role_label(actor.role.as_str())
        ));
        audit::record_case(
            tx,
            c.id,
            &c.tracking_no,
            &AuditActor::from(actor),
            "identity_viewed",
            &words,
            now,
        )?;
        let id =
            intake::open_identity(keys, &c.tracking_no, &sealed).map_err(AppError::Internal)?;
        let location = sealed
            .location_enc
            .as_ref()
            .map(|b| keys.open(b, &intake::seal_context(&c.tracking_no, "location")))
            .transpose()
            .map_err(AppError::Internal)?;
        Ok(IdentityView {
            name: id.name,
            phone: id.phone,
            email: id.email,
            id_number: id.id_number,
            address: id.address,
            location,
        })
    })
}

/// Summaries of these cases as `actor` reads them, by id (the queue's
/// items).
pub fn summaries(
    conn: &mut DbConn,
    actor: &Actor,
    ids: &[i64],
    reading: &Reading<'_>,
) -> AppResult<HashMap<i64, ComplaintSummary>> {
    let items = rows::by_ids(conn, ids)?;
    let refs: Vec<&Complaint> = items.iter().collect();
    let names = Names::load(conn, &refs, &[])?;
    let ladder = ladder_levels(conn, &refs)?;
    let who = Audience::of(actor);
    Ok(items
        .iter()
        .map(|c| (c.id, names.summary(c, who, reading, &ladder)))
        .collect())
}

/// The case `tracking_no`, if `actor` may read it.
fn visible_case(conn: &mut DbConn, actor: &Actor, tracking_no: &str) -> AppResult<Complaint> {
    policy::require(actor, Action::ViewComplaint)?;
    let c = rows::by_tracking_no(conn, tracking_no)?.ok_or(AppError::NotFound)?;
    if !policy::can_see_case(actor, c.responsible_unit_code.as_deref()) {
        return Err(AppError::NotFound);
    }
    Ok(c)
}

/// The assignments as read at `now`, with their clocks.
fn assignment_views(
    names: &Names,
    history: Vec<db::assignments::Assignment>,
    now: DateTime<Utc>,
) -> Vec<AssignmentView> {
    history
        .into_iter()
        .map(|a| AssignmentView {
            id: a.id,
            unit: names.unit_of(a.unit_code),
            how: a.how,
            assigned_at: db::from_db(a.assigned_at),
            ack_workdays: a.ack_workdays,
            handle_workdays: a.handle_workdays,
            acknowledge: clock(a.ack_due_at, a.acknowledged_at.or(a.ended_at), now),
            handling: clock(a.due_at, a.reported_at.or(a.ended_at), now),
            return_due_at: a.return_due_at.map(db::from_db),
            deadlines_provisional: a.calendar_provisional,
            note: a.note,
            return_reason: a.return_reason,
            ended_at: a.ended_at.map(db::from_db),
            end_reason: a.end_reason,
        })
        .collect()
}

/// The part of a case its reader reads: the office all of it, a unit its
/// own assignments and what it wrote.
struct Share<'a> {
    /// The reading unit; `None`: the office.
    unit: Option<&'a str>,
    /// The reading unit's assignments.
    assignments: &'a [i64],
}

impl Share<'_> {
    fn by_unit(&self, unit_code: &str) -> bool {
        self.unit.is_none_or(|u| unit_code == u)
    }

    fn of_assignment(&self, assignment_id: i64) -> bool {
        self.unit.is_none() || self.assignments.contains(&assignment_id)
    }
}

/// The progress notes the reader reads.
fn progress_views(
    conn: &mut DbConn,
    complaint_id: i64,
    share: &Share<'_>,
) -> AppResult<Vec<ProgressView>> {
    Ok(db::workflow::progress(conn, complaint_id)?
        .into_iter()
        .filter(|p| share.by_unit(&p.unit_code))
        .map(|p| ProgressView {
            id: p.id,
            at: db::from_db(p.created_at),
            unit: p.unit_code,
            content: p.content,
            public: p.public,
            publication: p.publication,
        })
        .collect())
}

/// The extension requests the reader reads.
fn extension_views(
    conn: &mut DbConn,
    complaint_id: i64,
    share: &Share<'_>,
) -> AppResult<Vec<ExtensionView>> {
    Ok(db::workflow::extensions(conn, complaint_id)?
        .into_iter()
        .filter(|e| share.of_assignment(e.assignment_id))
        .map(|e| ExtensionView {
            id: e.id,
            workdays: e.workdays,
            reason: e.reason,
            status: e.status,
            requested_at: db::from_db(e.requested_at),
            decided_at: e.decided_at.map(db::from_db),
            old_due_at: db::from_db(e.old_due_at),
            new_due_at: e.new_due_at.map(db::from_db),
        })
        .collect())
}

/// The handling reports the reader reads, with their rectification items.
fn report_views(
    conn: &mut DbConn,
    complaint_id: i64,
    share: &Share<'_>,
) -> AppResult<Vec<ReportView>> {
    let report_rows: Vec<_> = db::workflow::reports(conn, complaint_id)?
        .into_iter()
        .filter(|r| share.of_assignment(r.assignment_id))
        .collect();
    let items = db::workflow::items(conn, &report_rows.iter().map(|r| r.id).collect::<Vec<_>>())?;
    Ok(report_rows
        .into_iter()
        .map(|r| ReportView {
            rectification_items: items
                .iter()
                .filter(|i| i.report_id == r.id)
                .map(|i| ItemView {
                    content: i.content.clone(),
                    responsible_person: i.responsible_person.clone(),
                    deadline: i.deadline,
                    target: i.target.clone(),
                    status: i.status.clone(),
                })
                .collect(),
            id: r.id,
            findings: r.findings,
            measures: r.measures,
            responsible_person: r.responsible_person,
            rectification_deadline: r.rectification_deadline,
            target: r.target,
            public_reply: r.public_reply,
            submitted_at: db::from_db(r.submitted_at),
            review: r.review,
            review_comment: r.review_comment,
        })
        .collect())
}

/// The ratings and callbacks, the latest marked (the office's only).
fn feedback_views(conn: &mut DbConn, complaint_id: i64) -> AppResult<Vec<FeedbackView>> {
    let list = db::workflow::feedback_for(conn, complaint_id)?;
    let last = list.last().map(|f| f.id);
    let authors: Vec<i64> = list.iter().filter_map(|f| f.author_id).collect();
    let roles: HashMap<i64, String> = db::users::roles(conn, &authors)?.into_iter().collect();
    Ok(list
        .into_iter()
        .map(|f| FeedbackView {
            satisfaction_label: labels::satisfaction_label(&f.satisfaction),
            latest: Some(f.id) == last,
            source: f.source,
            satisfaction: f.satisfaction,
            comment: f.comment,
            by_role: f.author_id.and_then(|a| roles.get(&a).cloned()),
            by_user_id: f.author_id,
            at: db::from_db(f.created_at),
        })
        .collect())
}

/// One case. Unknown and not-yours are the same 404.
pub fn get(
    conn: &mut DbConn,
    actor: &Actor,
    tracking_no: &str,
    reading: &Reading<'_>,
) -> AppResult<ComplaintView> {
    let c = visible_case(conn, actor, tracking_no)?;
    let (tz, now) = (reading.tz, reading.now);
    let who = Audience::of(actor);
    let own = who.unit();
    // An anonymous case may still hold sealed location text.
    let has_identity = match own {
        Some(_) => None,
        None => Some(rows::identity(conn, c.id)?.is_some()),
    };
    let possible_duplicates = match own {
        Some(_) => None,
        None => Some(duplicates(conn, &c)?),
    };
    let supplements = crate::domain::supplements::for_case(conn, &c, own.is_some(), tz)?;
    let timeline = timeline(conn, &c, who, tz)?;
    // A unit reads its own part of the case: its assignments, letters,
    // notes, requests and reports, not another unit's.
    let history: Vec<_> = db::assignments::history(conn, c.id)?
        .into_iter()
        .filter(|a| own.is_none_or(|u| a.unit_code == u))
        .collect();
    let mine: Vec<i64> = history.iter().map(|a| a.id).collect();
    let share = Share {
        unit: own,
        assignments: &mine,
    };
    let history_units: Vec<String> = history.iter().map(|a| a.unit_code.clone()).collect();
    let names = Names::load(conn, &[&c], &history_units)?;
    let assignments = assignment_views(&names, history, now);
    let open = assignments.iter().rposition(|a| a.ended_at.is_none());
    let letters = crate::domain::letters::for_complaint(conn, c.id)?
        .into_iter()
        .filter(|l| share.by_unit(&l.unit))
        .collect();
    let progress = progress_views(conn, c.id, &share)?;
    let extensions = extension_views(conn, c.id, &share)?;
    let reports = report_views(conn, c.id, &share)?;
    // Ratings and callbacks are the office's: that a citizen was called back
    // would tell a unit the complaint was not anonymous.
    let feedback = if own.is_some() {
        Vec::new()
    } else {
        feedback_views(conn, c.id)?
    };
    let assignment = open.map(|i| assignments[i].clone());
    let ladder = ladder_levels(conn, &[&c])?;
    let created = db::from_db(c.created_at);
    Ok(ComplaintView {
        summary: names.summary(&c, who, reading, &ladder),
        content: c.content.clone(),
        subject_person: c.subject_person.clone(),
        township: c.township.clone(),
        occurred_on: c.occurred_on,
        public_reply: c.public_reply.clone(),
        created_at: if own.is_some() {
            day_of(created, tz)
        } else {
            created
        },
        anonymous: own.is_none().then_some(c.anonymous),
        has_identity,
        possible_duplicates,
        callback_status: c.callback_status.clone().filter(|_| own.is_none()),
        supplements,
        return_requested: c.return_requested,
        delivery_failed: c.delivery_failed,
        needs_confirmation: c.needs_confirmation && own.is_none(),
        hold_reason: c.hold_reason.clone().filter(|_| own.is_none()),
        extension_requested: c.extension_requested,
        note_awaiting_approval: c.note_awaiting_approval,
        duplicate_of: c.duplicate_of.clone().filter(|_| own.is_none()),
        screen_reason: c.screen_reason.clone().filter(|_| own.is_none()),
        satisfaction: c.satisfaction.clone(),
        assignment,
        assignments,
        letters,
        progress,
        extensions,
        reports,
        feedback,
        timeline,
    })
}
