//! Notices as their units read them: every notice a unit was sent (deadline
//! warnings, redo orders, decisions on returns, extensions and
//! accountability), with the same text as its e-mail, and whether the unit
//! has read it. A unit reads its own; the office reads all.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::auth::Actor;
use crate::auth::policy::{self, Action};
use crate::db::notices::{self as rows, Notice, NoticeFilter};
use crate::db::{self, DbConn};
use crate::error::{AppError, AppResult};

/// A notice as its unit (or the office) reads it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NoticeView {
    pub id: i64,
    /// `deadline_warning`, `redo_ordered`, `extension_approved`,
    /// `extension_denied`, `return_denied`, `reopened`,
    /// `accountability_opened` or `accountability_decided`.
    pub kind: String,
    pub unit: String,
    pub tracking_no: Option<String>,
    pub subject: String,
    /// The text of the e-mail, word for word.
    pub body: String,
    pub sent_at: DateTime<Utc>,
    pub read: bool,
    pub read_at: Option<DateTime<Utc>>,
}

fn views(conn: &mut DbConn, list: Vec<Notice>) -> AppResult<Vec<NoticeView>> {
    let ids: Vec<i64> = list.iter().filter_map(|n| n.complaint_id).collect();
    let numbers: std::collections::HashMap<i64, String> =
        db::complaints::tracking_numbers(conn, &ids)?
            .into_iter()
            .collect();
    Ok(list
        .into_iter()
        .map(|n| NoticeView {
            id: n.id,
            kind: n.kind,
            unit: n.unit_code,
            tracking_no: n.complaint_id.and_then(|id| numbers.get(&id).cloned()),
            subject: n.subject,
            body: n.body,
            sent_at: db::from_db(n.created_at),
            read: n.read_at.is_some(),
            read_at: n.read_at.map(db::from_db),
        })
        .collect())
}

/// Notices, newest first; a unit officer sees its own unit's only.
pub fn list(
    conn: &mut DbConn,
    actor: &Actor,
    mut filter: NoticeFilter,
    page: i64,
    per_page: i64,
) -> AppResult<(Vec<NoticeView>, i64)> {
    policy::require(actor, Action::ReadNotices)?;
    if let Some(own) = policy::unit_scope(actor) {
        filter.unit = Some(own.to_owned());
    }
    let (offset, limit) = db::page_window(page, per_page);
    let (list, total) = rows::list(conn, &filter, offset, limit)?;
    Ok((views(conn, list)?, total))
}

/// One notice; another unit's is 404 to a unit officer.
fn visible(conn: &mut DbConn, actor: &Actor, id: i64) -> AppResult<Notice> {
    policy::require(actor, Action::ReadNotices)?;
    let n = rows::by_id(conn, id)?.ok_or(AppError::NotFound)?;
    match policy::unit_scope(actor) {
        Some(own) if own != n.unit_code => Err(AppError::NotFound),
        _ => Ok(n),
    }
}

pub fn get(conn: &mut DbConn, actor: &Actor, id: i64) -> AppResult<NoticeView> {
    let n = visible(conn, actor, id)?;
    Ok(views(conn, vec![n])?.remove(0))
}

/// `POST /notices/{id}/read` (the unit): marks the notice read for the unit;
/// the first reading is kept. The office's reading marks nothing.
pub fn mark_read(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    now: DateTime<Utc>,
) -> AppResult<NoticeView> {
    visible(conn, actor, id)?;
    if policy::unit_scope(actor).is_none() {
        return Err(AppError::Forbidden);
    }
    rows::mark_read(conn, id, actor.user_id, db::to_db(now))?;
    get(conn, actor, id)
}
