//! `assignments`: each sending of a case to a unit, with its two clocks.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::assignments;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = assignments)]
pub struct Assignment {
    pub id: i64,
    pub complaint_id: i64,
    pub unit_code: String,
    pub assigned_at: NaiveDateTime,
    pub assigned_by: Option<i64>,
    pub how: String,
    pub note: Option<String>,
    pub ack_workdays: i32,
    pub handle_workdays: i32,
    pub ack_due_at: NaiveDateTime,
    pub due_at: NaiveDateTime,
    pub acknowledged_at: Option<NaiveDateTime>,
    pub reported_at: Option<NaiveDateTime>,
    pub return_reason: Option<String>,
    pub ended_at: Option<NaiveDateTime>,
    pub end_reason: Option<String>,
    /// Until when the unit may ask to return the case (what its transfer
    /// letter states); `None` on rows from before the return window was kept.
    pub return_due_at: Option<NaiveDateTime>,
    /// The deadlines were counted over a provisional calendar year.
    pub calendar_provisional: bool,
}

#[derive(Insertable)]
#[diesel(table_name = assignments)]
pub struct NewAssignment<'a> {
    pub complaint_id: i64,
    pub unit_code: &'a str,
    pub assigned_at: NaiveDateTime,
    pub assigned_by: Option<i64>,
    pub how: &'a str,
    pub note: Option<&'a str>,
    pub ack_workdays: i32,
    pub handle_workdays: i32,
    pub ack_due_at: NaiveDateTime,
    pub due_at: NaiveDateTime,
    pub acknowledged_at: Option<NaiveDateTime>,
    pub return_due_at: Option<NaiveDateTime>,
    pub calendar_provisional: bool,
}

/// Changes to an assignment's row (`None` leaves a column as it is).
#[derive(AsChangeset, Default)]
#[diesel(table_name = assignments)]
pub struct AssignmentChanges<'a> {
    pub due_at: Option<NaiveDateTime>,
    pub acknowledged_at: Option<Option<NaiveDateTime>>,
    pub reported_at: Option<Option<NaiveDateTime>>,
    pub return_reason: Option<Option<&'a str>>,
    pub handle_workdays: Option<i32>,
    pub calendar_provisional: Option<bool>,
}

/// Applies `changes` to assignment `id`.
pub fn update(conn: &mut DbConn, id: i64, changes: &AssignmentChanges<'_>) -> QueryResult<()> {
    diesel::update(assignments::table.find(id))
        .set(changes)
        .execute(conn)
        .map(|_| ())
}

pub fn insert(conn: &mut DbConn, a: &NewAssignment<'_>) -> QueryResult<Assignment> {
    diesel::insert_into(assignments::table)
        .values(a)
        .returning(assignments::all_columns)
        .get_result(conn)
}

/// The open assignment of a case, if any.
pub fn current(conn: &mut DbConn, complaint_id: i64) -> QueryResult<Option<Assignment>> {
    assignments::table
        .filter(assignments::complaint_id.eq(complaint_id))
        .filter(assignments::ended_at.is_null())
        .order(assignments::id.desc())
        .select(Assignment::as_select())
        .first(conn)
        .optional()
}

pub fn history(conn: &mut DbConn, complaint_id: i64) -> QueryResult<Vec<Assignment>> {
    assignments::table
        .filter(assignments::complaint_id.eq(complaint_id))
        .order(assignments::id.asc())
        .select(Assignment::as_select())
        .load(conn)
}

pub fn end(conn: &mut DbConn, id: i64, reason: &str, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(assignments::table.find(id))
        .set((
            assignments::ended_at.eq(at),
            assignments::end_reason.eq(reason),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The open assignments of several cases.
pub fn current_of(conn: &mut DbConn, complaint_ids: &[i64]) -> QueryResult<Vec<Assignment>> {
    assignments::table
        .filter(assignments::complaint_id.eq_any(complaint_ids))
        .filter(assignments::ended_at.is_null())
        .order(assignments::id.asc())
        .select(Assignment::as_select())
        .load(conn)
}

/// When each of these cases was last closed.
pub fn closed_at(
    conn: &mut DbConn,
    complaint_ids: &[i64],
) -> QueryResult<std::collections::HashMap<i64, NaiveDateTime>> {
    let rows: Vec<(i64, Option<NaiveDateTime>)> = assignments::table
        .filter(assignments::complaint_id.eq_any(complaint_ids))
        .filter(assignments::end_reason.eq("closed"))
        .order(assignments::id.asc())
        .select((assignments::complaint_id, assignments::ended_at))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, at)| Some((id, at?)))
        .collect())
}
