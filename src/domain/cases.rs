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

#[derive(Debug, Serialize)]
pub struct CodeName {
    pub code: String,
    pub name: Option<String>,
}

/// A complaint in a list. Never carries identity.
#[derive(Debug, Serialize)]
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
}

#[derive(Debug, Serialize)]
pub struct TimelineEntry {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub action: String,
    pub actor_role: String,
    pub summary: String,
}

#[derive(Debug, Serialize)]
pub struct IdentityView {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub id_number: Option<String>,
    pub address: Option<String>,
}

/// One case as staff see it. `anonymous` and `complainant` are present only
/// for roles allowed to know about the complainant.
#[derive(Debug, Serialize)]
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
    pub timeline: Vec<TimelineEntry>,
}

/// Code → name maps for the units and categories a page mentions.
struct Names {
    units: HashMap<String, String>,
    categories: HashMap<String, String>,
}

impl Names {
    fn load(conn: &mut DbConn, items: &[&Complaint]) -> diesel::QueryResult<Self> {
        let mut unit_codes: Vec<String> = Vec::new();
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
        }
    }
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
    let names = Names::load(conn, &refs)?;
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
    let names = Names::load(conn, &[&c])?;
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
        timeline,
    })
}
