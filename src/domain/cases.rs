//! The staff read side of complaints: filtered lists and the case view.
//! Identity is opened only for roles the policy allows, and each such read is
//! itself an audit event, written before the identity is returned.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::auth::Actor;
use crate::auth::policy::{self, Action};
use crate::db::complaints::{self as rows, Complaint, ComplaintFilter};
use crate::db::{self, DbConn};
use crate::domain::audit::{self, AuditActor};
use crate::domain::intake;
use crate::domain::privacy::PiiKeys;
use crate::error::{AppError, AppResult};

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CodeName {
    pub code: String,
    pub name: Option<String>,
}

/// A complaint in a list. Never carries identity.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ComplaintSummary {
    pub tracking_no: String,
    pub channel: String,
    pub status: String,
    pub title: String,
    pub category: Option<CodeName>,
    pub subject_unit: Option<CodeName>,
    pub responsible_unit: Option<CodeName>,
    pub received_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub ack_due_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub action: String,
    pub actor_role: String,
    pub summary: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IdentityView {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub id_number: Option<String>,
    pub address: Option<String>,
}

/// One case as staff see it. `anonymous` and `complainant` are present only
/// for roles allowed to know about the complainant.
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub complainant: Option<IdentityView>,
    pub return_requested: bool,
    pub delivery_failed: bool,
    pub needs_confirmation: bool,
    pub duplicate_of: Option<String>,
    pub screen_reason: Option<String>,
    pub satisfaction: Option<String>,
    /// The open assignment with both clocks.
    pub assignment: Option<AssignmentView>,
    pub assignments: Vec<AssignmentView>,
    pub letters: Vec<crate::domain::letters::LetterView>,
    pub progress: Vec<ProgressView>,
    pub extensions: Vec<ExtensionView>,
    pub reports: Vec<ReportView>,
    pub feedback: Vec<FeedbackView>,
    pub timeline: Vec<TimelineEntry>,
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
    ) -> diesel::QueryResult<Self> {
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

    fn summary(&self, c: &Complaint) -> ComplaintSummary {
        ComplaintSummary {
            tracking_no: c.tracking_no.clone(),
            channel: c.channel.clone(),
            status: c.status.clone(),
            title: c.title.clone(),
            category: self.category(&c.category_code),
            subject_unit: self.unit(&c.subject_unit_code),
            responsible_unit: self.unit(&c.responsible_unit_code),
            received_at: db::from_db(c.received_at),
            updated_at: db::from_db(c.updated_at),
            ack_due_at: c.ack_due_at.map(db::from_db),
            due_at: c.due_at.map(db::from_db),
        }
    }
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
    pub return_reason: Option<String>,
    pub ended_at: Option<DateTime<Utc>>,
    pub end_reason: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProgressView {
    pub at: DateTime<Utc>,
    pub unit: String,
    pub content: String,
    pub public: bool,
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
    pub source: String,
    pub satisfaction: String,
    /// The citizen's own words may name them: not shown to units.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub at: DateTime<Utc>,
}

/// Lists complaints. A unit officer sees only its own unit's cases, whatever
/// `unit` filter it sends.
pub fn list(
    conn: &mut DbConn,
    actor: &Actor,
    mut filter: ComplaintFilter,
    page: i64,
    per_page: i64,
) -> AppResult<(Vec<ComplaintSummary>, i64)> {
    policy::require(actor, Action::ListComplaints)?;
    if let Some(own) = policy::unit_scope(actor) {
        filter.unit = Some(own.to_owned());
    }
    let (offset, limit) = db::page_window(page, per_page);
    let (items, total) = rows::list(conn, &filter, offset, limit)?;
    let refs: Vec<&Complaint> = items.iter().collect();
    let names = Names::load(conn, &refs, &[])?;
    Ok((items.iter().map(|c| names.summary(c)).collect(), total))
}

/// Audit actions a unit officer does not see on its cases' timelines.
const HIDDEN_FROM_UNITS: &[&str] = &["identity_viewed"];

/// One case. Unknown and not-yours are the same 404.
pub fn get(
    conn: &mut DbConn,
    keys: &PiiKeys,
    actor: &Actor,
    tracking_no: &str,
    now: DateTime<Utc>,
) -> AppResult<ComplaintView> {
    policy::require(actor, Action::ViewComplaint)?;
    let c = rows::by_tracking_no(conn, tracking_no)?.ok_or(AppError::NotFound)?;
    if !policy::can_see_case(actor, c.responsible_unit_code.as_deref()) {
        return Err(AppError::NotFound);
    }
    let sees_identity = policy::permits(actor.role, Action::ViewIdentity);
    let complainant = if sees_identity && !c.anonymous {
        // Record the read first: if the audit write fails, nothing is shown.
        db::write_tx(conn, |tx| -> AppResult<Option<IdentityView>> {
            let Some(sealed) = rows::identity(tx, c.id)? else {
                return Ok(None);
            };
            audit::append(
                tx,
                &audit::Entry {
                    chain: &audit::case_chain(&c.tracking_no),
                    complaint_id: Some(c.id),
                    actor: &AuditActor::from(actor),
                    action: "identity_viewed",
                    summary: "complainant identity shown to staff",
                    public_note: None,
                },
                now,
            )?;
            let id =
                intake::open_identity(keys, &c.tracking_no, &sealed).map_err(AppError::Internal)?;
            Ok(Some(IdentityView {
                name: id.name,
                phone: id.phone,
                email: id.email,
                id_number: id.id_number,
                address: id.address,
            }))
        })?
    } else {
        None
    };
    let events = db::audit::for_complaint(conn, c.id)?;
    let is_unit = policy::unit_scope(actor).is_some();
    let timeline = events
        .into_iter()
        .filter(|e| !(is_unit && HIDDEN_FROM_UNITS.contains(&e.action.as_str())))
        .map(|e| TimelineEntry {
            seq: e.seq,
            at: db::from_db(e.created_at),
            action: e.action,
            actor_role: e.actor_role,
            summary: e.summary,
        })
        .collect();
    let history = db::assignments::history(conn, c.id)?;
    let history_units: Vec<String> = history.iter().map(|a| a.unit_code.clone()).collect();
    let names = Names::load(conn, &[&c], &history_units)?;
    let assignments: Vec<AssignmentView> = history
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
            return_reason: a.return_reason,
            ended_at: a.ended_at.map(db::from_db),
            end_reason: a.end_reason,
        })
        .collect();
    let open = assignments.iter().rposition(|a| a.ended_at.is_none());
    let letters = crate::domain::letters::for_complaint(conn, c.id)?;
    let progress = db::workflow::progress(conn, c.id)?
        .into_iter()
        .map(|p| ProgressView {
            at: db::from_db(p.created_at),
            unit: p.unit_code,
            content: p.content,
            public: p.public,
        })
        .collect();
    let extensions = db::workflow::extensions(conn, c.id)?
        .into_iter()
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
        .collect();
    let report_rows = db::workflow::reports(conn, c.id)?;
    let items = db::workflow::items(conn, &report_rows.iter().map(|r| r.id).collect::<Vec<_>>())?;
    let reports = report_rows
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
        .collect();
    let feedback = db::workflow::feedback_for(conn, c.id)?
        .into_iter()
        .map(|f| FeedbackView {
            source: f.source,
            satisfaction: f.satisfaction,
            comment: if is_unit { None } else { f.comment },
            at: db::from_db(f.created_at),
        })
        .collect();
    let assignment = open.map(|i| assignments[i].clone());
    Ok(ComplaintView {
        summary: names.summary(&c),
        content: c.content.clone(),
        subject_person: c.subject_person.clone(),
        township: c.township.clone(),
        occurred_on: c.occurred_on,
        public_reply: c.public_reply.clone(),
        created_at: db::from_db(c.created_at),
        anonymous: (!is_unit).then_some(c.anonymous),
        complainant,
        return_requested: c.return_requested,
        delivery_failed: c.delivery_failed,
        needs_confirmation: c.needs_confirmation,
        duplicate_of: c.duplicate_of.clone(),
        screen_reason: c.screen_reason.clone(),
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
