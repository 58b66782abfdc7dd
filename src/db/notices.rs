//! `notices`: every notice sent to a unit (deadline warnings, redo orders,
//! decisions), kept with the text of its e-mail so the unit can read it
//! through the API, with whether the unit has read it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::notices;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = notices)]
pub struct Notice {
    pub id: i64,
    pub unit_code: String,
    pub complaint_id: Option<i64>,
    pub kind: String,
    pub subject: String,
    pub body: String,
    pub message_id: String,
    pub created_at: NaiveDateTime,
    pub read_at: Option<NaiveDateTime>,
    pub read_by: Option<i64>,
}

#[derive(Insertable)]
#[diesel(table_name = notices)]
pub struct NewNotice<'a> {
    pub unit_code: &'a str,
    pub complaint_id: Option<i64>,
    pub kind: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub message_id: &'a str,
    pub created_at: NaiveDateTime,
}

/// Inserts notices; returns their ids in the order given (matched by the
/// unique Message-ID, not by the order of `RETURNING`).
pub fn insert_many(conn: &mut DbConn, list: &[NewNotice<'_>]) -> QueryResult<Vec<i64>> {
    if list.is_empty() {
        return Ok(Vec::new());
    }
    match conn {
        DbConn::Pg(pg) => {
            let rows: Vec<(i64, String)> = diesel::insert_into(notices::table)
                .values(list)
                .returning((notices::id, notices::message_id))
                .get_results(pg)?;
            let ids: std::collections::HashMap<String, i64> =
                rows.into_iter().map(|(id, m)| (m, id)).collect();
            Ok(list
                .iter()
                .map(|n| ids.get(n.message_id).copied().unwrap_or(0))
                .collect())
        }
        DbConn::Sqlite(_) => list
            .iter()
            .map(|n| {
                diesel::insert_into(notices::table)
                    .values(n)
                    .returning(notices::id)
                    .get_result(conn)
            })
            .collect(),
    }
}

#[derive(Debug, Default, Clone)]
pub struct NoticeFilter {
    pub unit: Option<String>,
    pub complaint_id: Option<i64>,
    /// `Some(true)`: only unread; `Some(false)`: only read.
    pub unread: Option<bool>,
}

fn filtered<'a>(f: &'a NoticeFilter) -> notices::BoxedQuery<'a, super::MultiBackend> {
    let mut q = notices::table.into_boxed();
    if let Some(u) = &f.unit {
        q = q.filter(notices::unit_code.eq(u));
    }
    if let Some(c) = f.complaint_id {
        q = q.filter(notices::complaint_id.eq(c));
    }
    match f.unread {
        Some(true) => q = q.filter(notices::read_at.is_null()),
        Some(false) => q = q.filter(notices::read_at.is_not_null()),
        None => {}
    }
    q
}

/// Notices, newest first, with the total matching.
pub fn list(
    conn: &mut DbConn,
    f: &NoticeFilter,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<Notice>, i64)> {
    let total = filtered(f).count().get_result(conn)?;
    let items = filtered(f)
        .order(notices::id.desc())
        .offset(offset)
        .limit(limit)
        .select(Notice::as_select())
        .load(conn)?;
    Ok((items, total))
}

pub fn by_id(conn: &mut DbConn, id: i64) -> QueryResult<Option<Notice>> {
    notices::table
        .find(id)
        .select(Notice::as_select())
        .first(conn)
        .optional()
}

/// Marks a notice read, once: the first reader and time are kept.
pub fn mark_read(conn: &mut DbConn, id: i64, by: i64, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(notices::table.find(id).filter(notices::read_at.is_null()))
        .set((notices::read_at.eq(at), notices::read_by.eq(by)))
        .execute(conn)
        .map(|_| ())
}
