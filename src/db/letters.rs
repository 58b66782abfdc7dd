//! `letters` (numbered formal documents) and `outbox` (e-mail waiting to be
//! sent, with attempts, backoff and claims).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::{letters, outbox};

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = letters)]
pub struct Letter {
    pub id: i64,
    pub kind: String,
    pub year: i32,
    pub seq: i64,
    pub number: String,
    pub complaint_id: Option<i64>,
    pub unit_code: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub created_at: NaiveDateTime,
    /// The office withdrew the case the letter was about.
    pub withdrawn_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = letters)]
pub struct NewLetter<'a> {
    pub kind: &'a str,
    pub year: i32,
    pub seq: i64,
    pub number: &'a str,
    pub complaint_id: Option<i64>,
    pub unit_code: &'a str,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, l: &NewLetter<'_>) -> QueryResult<Letter> {
    diesel::insert_into(letters::table)
        .values(l)
        .returning((
            letters::id,
            letters::kind,
            letters::year,
            letters::seq,
            letters::number,
            letters::complaint_id,
            letters::unit_code,
            letters::recipient,
            letters::subject,
            letters::body,
            letters::created_at,
            letters::withdrawn_at,
        ))
        .get_result(conn)
}

/// Inserts several letters; returns their ids in the order given.
pub fn insert_many(conn: &mut DbConn, list: &[NewLetter<'_>]) -> QueryResult<Vec<i64>> {
    if list.is_empty() {
        return Ok(Vec::new());
    }
    match conn {
        DbConn::Pg(pg) => {
            let rows: Vec<(i64, String, i64)> = diesel::insert_into(letters::table)
                .values(list)
                .returning((letters::id, letters::kind, letters::seq))
                .get_results(pg)?;
            // Matched by (kind, seq), which is unique: no reliance on the
            // order of RETURNING.
            let ids: std::collections::HashMap<(String, i64), i64> =
                rows.into_iter().map(|(id, k, s)| ((k, s), id)).collect();
            Ok(list
                .iter()
                .map(|l| ids.get(&(l.kind.to_owned(), l.seq)).copied().unwrap_or(0))
                .collect())
        }
        DbConn::Sqlite(_) => list.iter().map(|l| insert(conn, l).map(|x| x.id)).collect(),
    }
}

/// Marks a case's letters to `unit` withdrawn (they stay, numbered) and
/// cancels their e-mails not sent yet; returns their numbers.
pub fn withdraw_for_complaint(
    conn: &mut DbConn,
    complaint_id: i64,
    unit: &str,
    at: NaiveDateTime,
) -> QueryResult<Vec<String>> {
    let mine = letters::table
        .filter(letters::complaint_id.eq(complaint_id))
        .filter(letters::unit_code.eq(unit))
        .filter(letters::withdrawn_at.is_null());
    let list: Vec<(i64, String)> = mine
        .select((letters::id, letters::number))
        .order(letters::id.asc())
        .load(conn)?;
    let ids: Vec<i64> = list.iter().map(|(id, _)| *id).collect();
    diesel::update(letters::table.filter(letters::id.eq_any(&ids)))
        .set(letters::withdrawn_at.eq(at))
        .execute(conn)?;
    diesel::update(
        outbox::table
            .filter(outbox::letter_id.eq_any(&ids))
            .filter(outbox::status.eq("pending")),
    )
    .set(outbox::status.eq("cancelled"))
    .execute(conn)?;
    Ok(list.into_iter().map(|(_, n)| n).collect())
}

/// The numbers of some letters, by id.
pub fn numbers(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<(i64, String)>> {
    letters::table
        .filter(letters::id.eq_any(ids))
        .select((letters::id, letters::number))
        .load(conn)
}

pub fn by_id(conn: &mut DbConn, id: i64) -> QueryResult<Option<Letter>> {
    letters::table
        .find(id)
        .select(Letter::as_select())
        .first(conn)
        .optional()
}

#[derive(Debug, Default, Clone)]
pub struct LetterFilter {
    pub unit: Option<String>,
    pub kind: Option<String>,
    pub complaint_id: Option<i64>,
}

fn filtered<'a>(f: &'a LetterFilter) -> letters::BoxedQuery<'a, super::MultiBackend> {
    let mut q = letters::table.into_boxed();
    if let Some(u) = &f.unit {
        q = q.filter(letters::unit_code.eq(u));
    }
    if let Some(k) = &f.kind {
        q = q.filter(letters::kind.eq(k));
    }
    if let Some(c) = f.complaint_id {
        q = q.filter(letters::complaint_id.eq(c));
    }
    q
}

pub fn list(
    conn: &mut DbConn,
    f: &LetterFilter,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<Letter>, i64)> {
    let total = filtered(f).count().get_result(conn)?;
    let items = filtered(f)
        .order(letters::id.desc())
        .offset(offset)
        .limit(limit)
        .select(Letter::as_select())
        .load(conn)?;
    Ok((items, total))
}

#[derive(Clone, Debug, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: i64,
    pub letter_id: Option<i64>,
    pub complaint_id: Option<i64>,
    pub recipient: String,
    pub cc: Option<String>,
    pub subject: String,
    pub body: String,
    pub message_id: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub claimed_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = outbox)]
pub struct NewOutbox<'a> {
    pub letter_id: Option<i64>,
    pub complaint_id: Option<i64>,
    pub recipient: &'a str,
    pub cc: Option<&'a str>,
    pub subject: &'a str,
    pub body: &'a str,
    pub message_id: &'a str,
    pub status: &'a str,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub notice_id: Option<i64>,
}

pub fn enqueue(conn: &mut DbConn, row: &NewOutbox<'_>) -> QueryResult<()> {
    diesel::insert_into(outbox::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// Queues several e-mails: one statement on PostgreSQL.
pub fn enqueue_many(conn: &mut DbConn, rows: &[NewOutbox<'_>]) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    match conn {
        DbConn::Pg(pg) => diesel::insert_into(outbox::table)
            .values(rows)
            .execute(pg)
            .map(|_| ()),
        DbConn::Sqlite(_) => rows.iter().try_for_each(|r| enqueue(conn, r)),
    }
}

/// Delivery rows of the given letters.
pub fn deliveries(conn: &mut DbConn, letter_ids: &[i64]) -> QueryResult<Vec<OutboxRow>> {
    outbox::table
        .filter(outbox::letter_id.eq_any(letter_ids))
        .order(outbox::id.asc())
        .select(OutboxRow::as_select())
        .load(conn)
}

/// The e-mail still waiting to be sent (pending, whether or not tried yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiting {
    pub waiting: i64,
    /// Of those, created before the given time.
    pub waiting_before: i64,
    pub oldest: Option<NaiveDateTime>,
}

/// What waits in the outbox, and how much of it since before `before`
/// (served by the partial index `outbox_waiting`).
pub fn waiting(conn: &mut DbConn, before: NaiveDateTime) -> QueryResult<Waiting> {
    let pending = || outbox::table.filter(outbox::status.eq("pending"));
    Ok(Waiting {
        waiting: pending().count().get_result(conn)?,
        waiting_before: pending()
            .filter(outbox::created_at.lt(before))
            .count()
            .get_result(conn)?,
        oldest: pending()
            .select(diesel::dsl::min(outbox::created_at))
            .first(conn)?,
    })
}

/// The worker's claim, with `{lock}` for [`super::skip_locked`]'s clause.
const CLAIM: &str = "UPDATE outbox SET claimed_until = $1 WHERE id IN (\
     SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $2 \
     AND (claimed_until IS NULL OR claimed_until < $2) ORDER BY id LIMIT $3{lock}) \
     RETURNING *";

/// Claims up to `limit` due rows until `lease_until`, so no other worker (on
/// this or another instance) takes them meanwhile. A worker that dies leaves
/// its claim to expire, and the row is retried: delivery is at least once.
pub fn claim_due(
    conn: &mut DbConn,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<OutboxRow>> {
    use diesel::sql_types::{BigInt, Timestamp};
    let sql = super::placeholders(conn, &CLAIM.replace("{lock}", super::skip_locked(conn)));
    let mut rows: Vec<OutboxRow> = diesel::sql_query(sql)
        .bind::<Timestamp, _>(lease_until)
        .bind::<Timestamp, _>(now)
        .bind::<BigInt, _>(limit)
        .load(conn)?;
    rows.sort_by_key(|r| r.id);
    Ok(rows)
}

pub fn mark_sent(conn: &mut DbConn, id: i64, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::status.eq("sent"),
            outbox::sent_at.eq(at),
            outbox::attempts.eq(outbox::attempts + 1),
            outbox::claimed_until.eq(None::<NaiveDateTime>),
            outbox::last_error.eq(None::<String>),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Records a failed attempt: retry at `retry_at`, or `failed` for good.
pub fn mark_failed_attempt(
    conn: &mut DbConn,
    id: i64,
    error: &str,
    retry_at: Option<NaiveDateTime>,
) -> QueryResult<()> {
    let status = if retry_at.is_some() {
        "pending"
    } else {
        "failed"
    };
    diesel::update(outbox::table.find(id))
        .set((
            outbox::status.eq(status),
            outbox::attempts.eq(outbox::attempts + 1),
            outbox::claimed_until.eq(None::<NaiveDateTime>),
            outbox::last_error.eq(error),
        ))
        .execute(conn)?;
    if let Some(at) = retry_at {
        diesel::update(outbox::table.find(id))
            .set(outbox::next_attempt_at.eq(at))
            .execute(conn)?;
    }
    Ok(())
}
