//! `accountability_cases` and the append-only `score_events`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::{accountability_cases as acc, score_events};

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = acc)]
pub struct AccountabilityCase {
    pub id: i64,
    pub unit_code: String,
    pub person: Option<String>,
    pub complaint_id: Option<i64>,
    pub trigger: String,
    pub escalation_id: Option<i64>,
    pub situation_code: Option<String>,
    pub reason: String,
    pub status: String,
    pub year: i32,
    pub provisional_centipoints: i32,
    pub opened_by: Option<i64>,
    pub opened_at: NaiveDateTime,
    pub defence_due_at: NaiveDateTime,
    pub letter_id: Option<i64>,
    pub defence: Option<String>,
    pub defence_by: Option<i64>,
    pub defence_at: Option<NaiveDateTime>,
    pub decision: Option<String>,
    pub decision_centipoints: Option<i32>,
    pub decision_note: Option<String>,
    pub decided_by: Option<i64>,
    pub decided_at: Option<NaiveDateTime>,
    pub defence_waived_by: Option<i64>,
    pub defence_waived_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = acc)]
pub struct NewAccountabilityCase<'a> {
    pub unit_code: &'a str,
    pub person: Option<&'a str>,
    pub complaint_id: Option<i64>,
    pub trigger: &'a str,
    pub escalation_id: Option<i64>,
    pub situation_code: Option<&'a str>,
    pub reason: &'a str,
    pub status: &'a str,
    pub year: i32,
    pub provisional_centipoints: i32,
    pub opened_by: Option<i64>,
    pub opened_at: NaiveDateTime,
    pub defence_due_at: NaiveDateTime,
}

pub fn insert(
    conn: &mut DbConn,
    new: &NewAccountabilityCase<'_>,
) -> QueryResult<AccountabilityCase> {
    diesel::insert_into(acc::table)
        .values(new)
        .returning(acc::all_columns)
        .get_result(conn)
}

pub fn by_id(conn: &mut DbConn, id: i64) -> QueryResult<Option<AccountabilityCase>> {
    acc::table
        .find(id)
        .select(AccountabilityCase::as_select())
        .first(conn)
        .optional()
}

/// Loads a case for change, locking its row on PostgreSQL.
pub fn lock(conn: &mut DbConn, id: i64) -> QueryResult<Option<AccountabilityCase>> {
    if let DbConn::Pg(pg) = conn {
        diesel::sql_query("SELECT id FROM accountability_cases WHERE id = $1 FOR UPDATE")
            .bind::<diesel::sql_types::BigInt, _>(id)
            .execute(pg)?;
    }
    by_id(conn, id)
}

pub fn set_letter(conn: &mut DbConn, id: i64, letter_id: i64) -> QueryResult<()> {
    diesel::update(acc::table.find(id))
        .set(acc::letter_id.eq(letter_id))
        .execute(conn)
        .map(|_| ())
}

pub fn file_defence(
    conn: &mut DbConn,
    id: i64,
    text: &str,
    by: i64,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(acc::table.find(id))
        .set((
            acc::defence.eq(text),
            acc::defence_by.eq(by),
            acc::defence_at.eq(at),
            acc::status.eq("defended"),
        ))
        .execute(conn)
        .map(|_| ())
}

pub struct Decision<'a> {
    pub situation_code: Option<&'a str>,
    pub decision: &'a str,
    pub centipoints: i32,
    pub note: Option<&'a str>,
    pub by: i64,
    pub at: NaiveDateTime,
}

pub fn decide(conn: &mut DbConn, id: i64, d: &Decision<'_>) -> QueryResult<()> {
    diesel::update(acc::table.find(id))
        .set((
            acc::status.eq("decided"),
            acc::situation_code.eq(d.situation_code),
            acc::decision.eq(d.decision),
            acc::decision_centipoints.eq(d.centipoints),
            acc::decision_note.eq(d.note),
            acc::decided_by.eq(d.by),
            acc::decided_at.eq(d.at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Records that the unit waived its defence (the supervisor states it).
pub fn waive_defence(conn: &mut DbConn, id: i64, by: i64, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(acc::table.find(id))
        .set((acc::defence_waived_by.eq(by), acc::defence_waived_at.eq(at)))
        .execute(conn)
        .map(|_| ())
}

#[derive(Debug, Default, Clone)]
pub struct AccountabilityFilter {
    pub unit: Option<String>,
    pub status: Option<String>,
    pub complaint_id: Option<i64>,
    pub year: Option<i32>,
}

fn filtered<'a>(f: &'a AccountabilityFilter) -> acc::BoxedQuery<'a, super::MultiBackend> {
    let mut q = acc::table.into_boxed();
    if let Some(u) = &f.unit {
        q = q.filter(acc::unit_code.eq(u));
    }
    if let Some(s) = &f.status {
        q = q.filter(acc::status.eq(s));
    }
    if let Some(c) = f.complaint_id {
        q = q.filter(acc::complaint_id.eq(c));
    }
    if let Some(y) = f.year {
        q = q.filter(acc::year.eq(y));
    }
    q
}

pub fn list(
    conn: &mut DbConn,
    f: &AccountabilityFilter,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<AccountabilityCase>, i64)> {
    let total = filtered(f).count().get_result(conn)?;
    let items = filtered(f)
        .order(acc::id.desc())
        .offset(offset)
        .limit(limit)
        .select(AccountabilityCase::as_select())
        .load(conn)?;
    Ok((items, total))
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = score_events)]
pub struct ScoreEvent {
    pub id: i64,
    pub unit_code: String,
    pub year: i32,
    pub centipoints: i32,
    pub kind: String,
    pub accountability_id: Option<i64>,
    pub complaint_id: Option<i64>,
    pub note: String,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = score_events)]
pub struct NewScoreEvent<'a> {
    pub unit_code: &'a str,
    pub year: i32,
    pub centipoints: i32,
    pub kind: &'a str,
    pub accountability_id: Option<i64>,
    pub complaint_id: Option<i64>,
    pub note: &'a str,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
}

/// Appends a score event. There is no update or delete of score events.
pub fn book(conn: &mut DbConn, e: &NewScoreEvent<'_>) -> QueryResult<()> {
    diesel::insert_into(score_events::table)
        .values(e)
        .execute(conn)
        .map(|_| ())
}

/// The score events of some accountability cases, oldest first.
pub fn events_of(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<ScoreEvent>> {
    score_events::table
        .filter(score_events::accountability_id.eq_any(ids))
        .order(score_events::id.asc())
        .select(ScoreEvent::as_select())
        .load(conn)
}
