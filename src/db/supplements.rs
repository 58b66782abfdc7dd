//! `supplements`: facts added to a case after intake, by a caller or from a
//! duplicate merged into it (already redacted).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::supplements;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = supplements)]
pub struct Supplement {
    pub id: i64,
    pub complaint_id: i64,
    /// `call` or `merge`.
    pub source: String,
    pub call_id: Option<i64>,
    pub merged_from: Option<i64>,
    pub content: String,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = supplements)]
pub struct NewSupplement<'a> {
    pub complaint_id: i64,
    pub source: &'a str,
    pub call_id: Option<i64>,
    pub merged_from: Option<i64>,
    pub content: &'a str,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, new: &NewSupplement<'_>) -> QueryResult<i64> {
    diesel::insert_into(supplements::table)
        .values(new)
        .returning(supplements::id)
        .get_result(conn)
}

/// A case's supplements, oldest first.
pub fn for_case(conn: &mut DbConn, complaint_id: i64) -> QueryResult<Vec<Supplement>> {
    supplements::table
        .filter(supplements::complaint_id.eq(complaint_id))
        .order(supplements::id)
        .select(Supplement::as_select())
        .load(conn)
}
