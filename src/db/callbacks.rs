//! `callback_attempts`: every attempt to call a citizen back (回访), kept as
//! history, and the callback columns of `complaints`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::{callback_attempts, complaints};

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = callback_attempts)]
pub struct CallbackAttempt {
    pub id: i64,
    pub complaint_id: i64,
    pub call_id: Option<i64>,
    pub operator_id: i64,
    pub outcome: String,
    pub satisfaction: Option<String>,
    pub note: Option<String>,
    pub attempted_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = callback_attempts)]
pub struct NewCallbackAttempt<'a> {
    pub complaint_id: i64,
    pub call_id: Option<i64>,
    pub operator_id: i64,
    pub outcome: &'a str,
    pub satisfaction: Option<&'a str>,
    pub note: Option<&'a str>,
    pub attempted_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, new: &NewCallbackAttempt<'_>) -> QueryResult<i64> {
    diesel::insert_into(callback_attempts::table)
        .values(new)
        .returning(callback_attempts::id)
        .get_result(conn)
}

/// The attempts on these cases, oldest first.
pub fn for_cases(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<CallbackAttempt>> {
    callback_attempts::table
        .filter(callback_attempts::complaint_id.eq_any(ids))
        .order((callback_attempts::complaint_id, callback_attempts::id))
        .select(CallbackAttempt::as_select())
        .load(conn)
}

/// Sets a case's callback state (`None` while the case is open).
pub fn set_state(
    conn: &mut DbConn,
    complaint_id: i64,
    status: Option<&str>,
    due_at: Option<NaiveDateTime>,
) -> QueryResult<()> {
    diesel::update(complaints::table.find(complaint_id))
        .set((
            complaints::callback_status.eq(status),
            complaints::callback_due_at.eq(due_at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Closed cases whose callback is due at `now`, oldest due first, with the
/// number of such cases.
pub fn due(
    conn: &mut DbConn,
    now: NaiveDateTime,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<super::complaints::Complaint>, i64)> {
    let filter = || {
        complaints::table
            .filter(complaints::callback_status.eq("due"))
            .filter(complaints::callback_due_at.le(now))
            .filter(complaints::status.eq("closed"))
    };
    let total = filter().count().get_result(conn)?;
    let items = filter()
        .order((complaints::callback_due_at.asc(), complaints::id.asc()))
        .offset(offset)
        .limit(limit)
        .select(super::complaints::Complaint::as_select())
        .load(conn)?;
    Ok((items, total))
}
