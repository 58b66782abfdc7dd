//! `calls`: hotline calls logged by operators.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::calls;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = calls)]
pub struct Call {
    pub id: i64,
    pub operator_id: i64,
    pub caller_phone_enc: Option<Vec<u8>>,
    pub caller_phone_hash: Option<String>,
    pub started_at: NaiveDateTime,
    pub duration_seconds: i32,
    pub summary: String,
    pub disposition: String,
    pub complaint_id: Option<i64>,
    pub created_at: NaiveDateTime,
    pub transferred_to: Option<String>,
    pub transferred_to_name: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = calls)]
pub struct NewCall<'a> {
    pub operator_id: i64,
    pub caller_phone_enc: Option<Vec<u8>>,
    pub caller_phone_hash: Option<&'a str>,
    pub started_at: NaiveDateTime,
    pub duration_seconds: i32,
    pub summary: &'a str,
    pub disposition: &'a str,
    pub complaint_id: Option<i64>,
    pub created_at: NaiveDateTime,
    pub transferred_to: Option<&'a str>,
    pub transferred_to_name: Option<&'a str>,
}

pub fn insert(conn: &mut DbConn, new: &NewCall<'_>) -> QueryResult<i64> {
    diesel::insert_into(calls::table)
        .values(new)
        .returning(calls::id)
        .get_result(conn)
}

#[derive(Debug, Default, Clone)]
pub struct CallFilter {
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    pub disposition: Option<String>,
    pub operator_id: Option<i64>,
}

fn filtered<'a>(f: &'a CallFilter) -> calls::BoxedQuery<'a, super::MultiBackend> {
    let mut q = calls::table.into_boxed();
    if let Some(from) = f.from {
        q = q.filter(calls::started_at.ge(from));
    }
    if let Some(to) = f.to {
        q = q.filter(calls::started_at.lt(to));
    }
    if let Some(d) = &f.disposition {
        q = q.filter(calls::disposition.eq(d));
    }
    if let Some(op) = f.operator_id {
        q = q.filter(calls::operator_id.eq(op));
    }
    q
}

pub fn list(
    conn: &mut DbConn,
    f: &CallFilter,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<Call>, i64)> {
    let total = filtered(f).count().get_result(conn)?;
    let items = filtered(f)
        .order((calls::started_at.desc(), calls::id.desc()))
        .offset(offset)
        .limit(limit)
        .select(Call::as_select())
        .load(conn)?;
    Ok((items, total))
}

/// A caller's calls (by the keyed hash of the number), newest first.
pub fn by_phone_hash(conn: &mut DbConn, hash: &str, limit: i64) -> QueryResult<Vec<Call>> {
    calls::table
        .filter(calls::caller_phone_hash.eq(hash))
        .order((calls::started_at.desc(), calls::id.desc()))
        .limit(limit)
        .select(Call::as_select())
        .load(conn)
}

/// How many calls came from this number since `since`.
pub fn count_since(conn: &mut DbConn, hash: &str, since: NaiveDateTime) -> QueryResult<i64> {
    calls::table
        .filter(calls::caller_phone_hash.eq(hash))
        .filter(calls::started_at.ge(since))
        .count()
        .get_result(conn)
}
