//! The unit workflow's records: `progress_notes`, `extension_requests`,
//! `reports` with their `rectification_items`, and `feedback`.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::DbConn;
use super::schema::{extension_requests, feedback, progress_notes, rectification_items, reports};

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = progress_notes)]
pub struct ProgressNote {
    pub id: i64,
    pub complaint_id: i64,
    pub unit_code: String,
    pub author_id: i64,
    pub content: String,
    pub public: bool,
    pub created_at: NaiveDateTime,
    /// For a note marked public: `pending` (the office has not decided),
    /// `approved` (on the citizen's page) or `denied`; `none` otherwise.
    pub publication: String,
    pub publication_decided_by: Option<i64>,
    pub publication_decided_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = progress_notes)]
pub struct NewProgressNote<'a> {
    pub complaint_id: i64,
    pub unit_code: &'a str,
    pub author_id: i64,
    pub content: &'a str,
    pub public: bool,
    pub created_at: NaiveDateTime,
    pub publication: &'a str,
}

/// Records the office's decision on publishing a note.
pub fn decide_publication(
    conn: &mut DbConn,
    id: i64,
    decision: &str,
    by: i64,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(progress_notes::table.find(id))
        .set((
            progress_notes::publication.eq(decision),
            progress_notes::publication_decided_by.eq(by),
            progress_notes::publication_decided_at.eq(at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Notes of a case still waiting for the office's decision on publication.
pub fn pending_publication(conn: &mut DbConn, complaint_id: i64) -> QueryResult<i64> {
    progress_notes::table
        .filter(progress_notes::complaint_id.eq(complaint_id))
        .filter(progress_notes::publication.eq("pending"))
        .count()
        .get_result(conn)
}

/// Extension requests of a case still waiting for a decision.
pub fn pending_extensions(conn: &mut DbConn, complaint_id: i64) -> QueryResult<i64> {
    extension_requests::table
        .filter(extension_requests::complaint_id.eq(complaint_id))
        .filter(extension_requests::status.eq("pending"))
        .count()
        .get_result(conn)
}

pub fn add_progress(conn: &mut DbConn, n: &NewProgressNote<'_>) -> QueryResult<i64> {
    diesel::insert_into(progress_notes::table)
        .values(n)
        .returning(progress_notes::id)
        .get_result(conn)
}

pub fn progress(conn: &mut DbConn, complaint_id: i64) -> QueryResult<Vec<ProgressNote>> {
    progress_notes::table
        .filter(progress_notes::complaint_id.eq(complaint_id))
        .order(progress_notes::id.asc())
        .select(ProgressNote::as_select())
        .load(conn)
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = extension_requests)]
pub struct Extension {
    pub id: i64,
    pub complaint_id: i64,
    pub assignment_id: i64,
    pub workdays: i32,
    pub reason: String,
    pub status: String,
    pub requested_by: i64,
    pub requested_at: NaiveDateTime,
    pub decided_by: Option<i64>,
    pub decided_at: Option<NaiveDateTime>,
    pub decision_note: Option<String>,
    pub old_due_at: NaiveDateTime,
    pub new_due_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = extension_requests)]
pub struct NewExtension<'a> {
    pub complaint_id: i64,
    pub assignment_id: i64,
    pub workdays: i32,
    pub reason: &'a str,
    pub status: &'a str,
    pub requested_by: i64,
    pub requested_at: NaiveDateTime,
    pub old_due_at: NaiveDateTime,
}

pub fn add_extension(conn: &mut DbConn, e: &NewExtension<'_>) -> QueryResult<Extension> {
    diesel::insert_into(extension_requests::table)
        .values(e)
        .returning(extension_requests::all_columns)
        .get_result(conn)
}

pub fn extensions(conn: &mut DbConn, complaint_id: i64) -> QueryResult<Vec<Extension>> {
    extension_requests::table
        .filter(extension_requests::complaint_id.eq(complaint_id))
        .order(extension_requests::id.asc())
        .select(Extension::as_select())
        .load(conn)
}

/// Pending extension requests of a case lapse when its assignment ends
/// (re-routed or returned): the unit that asked no longer holds the case.
pub fn lapse_pending_extensions(
    conn: &mut DbConn,
    complaint_id: i64,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(
        extension_requests::table
            .filter(extension_requests::complaint_id.eq(complaint_id))
            .filter(extension_requests::status.eq("pending")),
    )
    .set((
        extension_requests::status.eq("lapsed"),
        extension_requests::decided_at.eq(at),
    ))
    .execute(conn)
    .map(|_| ())
}

pub fn decide_extension(
    conn: &mut DbConn,
    id: i64,
    status: &str,
    by: i64,
    at: NaiveDateTime,
    note: Option<&str>,
    new_due_at: Option<NaiveDateTime>,
) -> QueryResult<()> {
    diesel::update(extension_requests::table.find(id))
        .set((
            extension_requests::status.eq(status),
            extension_requests::decided_by.eq(by),
            extension_requests::decided_at.eq(at),
            extension_requests::decision_note.eq(note),
            extension_requests::new_due_at.eq(new_due_at),
        ))
        .execute(conn)
        .map(|_| ())
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = reports)]
pub struct Report {
    pub id: i64,
    pub complaint_id: i64,
    pub assignment_id: i64,
    pub findings: String,
    pub measures: String,
    pub responsible_person: String,
    pub rectification_deadline: NaiveDate,
    pub target: String,
    pub public_reply: String,
    pub submitted_by: i64,
    pub submitted_at: NaiveDateTime,
    pub review: Option<String>,
    pub review_comment: Option<String>,
    pub reviewed_by: Option<i64>,
    pub reviewed_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = reports)]
pub struct NewReport<'a> {
    pub complaint_id: i64,
    pub assignment_id: i64,
    pub findings: &'a str,
    pub measures: &'a str,
    pub responsible_person: &'a str,
    pub rectification_deadline: NaiveDate,
    pub target: &'a str,
    pub public_reply: &'a str,
    pub submitted_by: i64,
    pub submitted_at: NaiveDateTime,
}

pub fn add_report(conn: &mut DbConn, r: &NewReport<'_>) -> QueryResult<i64> {
    diesel::insert_into(reports::table)
        .values(r)
        .returning(reports::id)
        .get_result(conn)
}

pub fn reports(conn: &mut DbConn, complaint_id: i64) -> QueryResult<Vec<Report>> {
    reports::table
        .filter(reports::complaint_id.eq(complaint_id))
        .order(reports::id.asc())
        .select(Report::as_select())
        .load(conn)
}

pub fn review_report(
    conn: &mut DbConn,
    id: i64,
    review: &str,
    comment: Option<&str>,
    by: i64,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(reports::table.find(id))
        .set((
            reports::review.eq(review),
            reports::review_comment.eq(comment),
            reports::reviewed_by.eq(by),
            reports::reviewed_at.eq(at),
        ))
        .execute(conn)
        .map(|_| ())
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = rectification_items)]
pub struct RectificationItem {
    pub id: i64,
    pub report_id: i64,
    pub content: String,
    pub responsible_person: String,
    pub deadline: NaiveDate,
    pub target: String,
    pub status: String,
}

#[derive(Insertable)]
#[diesel(table_name = rectification_items)]
pub struct NewRectificationItem<'a> {
    pub report_id: i64,
    pub content: &'a str,
    pub responsible_person: &'a str,
    pub deadline: NaiveDate,
    pub target: &'a str,
    pub status: &'a str,
}

pub fn add_item(conn: &mut DbConn, i: &NewRectificationItem<'_>) -> QueryResult<()> {
    diesel::insert_into(rectification_items::table)
        .values(i)
        .execute(conn)
        .map(|_| ())
}

pub fn items(conn: &mut DbConn, report_ids: &[i64]) -> QueryResult<Vec<RectificationItem>> {
    rectification_items::table
        .filter(rectification_items::report_id.eq_any(report_ids))
        .order(rectification_items::id.asc())
        .select(RectificationItem::as_select())
        .load(conn)
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = feedback)]
pub struct Feedback {
    pub id: i64,
    pub complaint_id: i64,
    pub source: String,
    pub satisfaction: String,
    pub comment: Option<String>,
    pub author_id: Option<i64>,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = feedback)]
pub struct NewFeedback<'a> {
    pub complaint_id: i64,
    pub source: &'a str,
    pub satisfaction: &'a str,
    pub comment: Option<&'a str>,
    pub author_id: Option<i64>,
    pub created_at: NaiveDateTime,
}

pub fn add_feedback(conn: &mut DbConn, f: &NewFeedback<'_>) -> QueryResult<()> {
    diesel::insert_into(feedback::table)
        .values(f)
        .execute(conn)
        .map(|_| ())
}

pub fn feedback_for(conn: &mut DbConn, complaint_id: i64) -> QueryResult<Vec<Feedback>> {
    feedback::table
        .filter(feedback::complaint_id.eq(complaint_id))
        .order(feedback::id.asc())
        .select(Feedback::as_select())
        .load(conn)
}
