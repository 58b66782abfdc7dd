//! `escalations` (each step of the ladder fired, once per case, clock,
//! deadline and level) and the sweep's schedule on `complaints`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamp};

use super::schema::{complaints, escalations};
use super::{DbConn, placeholders, skip_locked};

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = escalations)]
pub struct Escalation {
    pub id: i64,
    pub complaint_id: i64,
    pub assignment_id: i64,
    pub unit_code: String,
    pub clock: String,
    pub level: i32,
    pub deadline_at: NaiveDateTime,
    pub fired_at: NaiveDateTime,
    pub letter_id: Option<i64>,
}

/// A step about to fire.
#[derive(Insertable)]
#[diesel(table_name = escalations)]
pub struct NewEscalation<'a> {
    pub complaint_id: i64,
    pub assignment_id: i64,
    pub unit_code: &'a str,
    pub clock: &'a str,
    pub level: i32,
    pub deadline_at: NaiveDateTime,
    pub fired_at: NaiveDateTime,
    pub letter_id: Option<i64>,
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

const INSERT: &str = "INSERT INTO escalations \
     (complaint_id, assignment_id, unit_code, clock, level, deadline_at, fired_at, letter_id) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
     ON CONFLICT (complaint_id, clock, deadline_at, level) DO NOTHING RETURNING id";

/// Records a step unless it has fired already: `Some(id)` to the one caller
/// that recorded it, `None` to everyone else. The unique key decides, not a
/// read before the write, so concurrent sweeps cannot both fire a step (on
/// PostgreSQL the second waits for the first to commit, then skips).
pub fn try_insert(conn: &mut DbConn, e: &NewEscalation<'_>) -> QueryResult<Option<i64>> {
    let sql = placeholders(conn, INSERT);
    let q = diesel::sql_query(sql)
        .bind::<BigInt, _>(e.complaint_id)
        .bind::<BigInt, _>(e.assignment_id)
        .bind::<Text, _>(e.unit_code)
        .bind::<Text, _>(e.clock)
        .bind::<Integer, _>(e.level)
        .bind::<Timestamp, _>(e.deadline_at)
        .bind::<Timestamp, _>(e.fired_at)
        .bind::<Nullable<BigInt>, _>(e.letter_id);
    Ok(q.get_result::<Id>(conn).optional()?.map(|r| r.id))
}

/// Records several steps under the unique key; returns how many were new
/// (fewer than given means another sweep fired some of them first).
pub fn insert_many(conn: &mut DbConn, list: &[NewEscalation<'_>]) -> QueryResult<usize> {
    if list.is_empty() {
        return Ok(0);
    }
    match conn {
        DbConn::Pg(pg) => diesel::insert_into(escalations::table)
            .values(list)
            .on_conflict_do_nothing()
            .execute(pg),
        DbConn::Sqlite(_) => {
            let mut n = 0;
            for e in list {
                n += usize::from(try_insert(conn, e)?.is_some());
            }
            Ok(n)
        }
    }
}

pub fn set_letter(conn: &mut DbConn, id: i64, letter_id: i64) -> QueryResult<()> {
    diesel::update(escalations::table.find(id))
        .set(escalations::letter_id.eq(letter_id))
        .execute(conn)
        .map(|_| ())
}

/// The steps already fired for these cases, oldest first.
pub fn of_cases(conn: &mut DbConn, complaint_ids: &[i64]) -> QueryResult<Vec<Escalation>> {
    escalations::table
        .filter(escalations::complaint_id.eq_any(complaint_ids))
        .order(escalations::id.asc())
        .select(Escalation::as_select())
        .load(conn)
}

#[derive(Debug, Default, Clone)]
pub struct EscalationFilter {
    pub level: Option<i32>,
    pub unit: Option<String>,
    pub complaint_id: Option<i64>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
}

fn filtered<'a>(f: &'a EscalationFilter) -> escalations::BoxedQuery<'a, super::MultiBackend> {
    let mut q = escalations::table.into_boxed();
    if let Some(l) = f.level {
        q = q.filter(escalations::level.eq(l));
    }
    if let Some(u) = &f.unit {
        q = q.filter(escalations::unit_code.eq(u));
    }
    if let Some(c) = f.complaint_id {
        q = q.filter(escalations::complaint_id.eq(c));
    }
    if let Some(t) = f.from {
        q = q.filter(escalations::fired_at.ge(t));
    }
    if let Some(t) = f.to {
        q = q.filter(escalations::fired_at.lt(t));
    }
    q
}

pub fn list(
    conn: &mut DbConn,
    f: &EscalationFilter,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<Escalation>, i64)> {
    let total = filtered(f).count().get_result(conn)?;
    let items = filtered(f)
        .order(escalations::id.desc())
        .offset(offset)
        .limit(limit)
        .select(Escalation::as_select())
        .load(conn)?;
    Ok((items, total))
}

/// The sweep's claim, with `{lock}` for [`skip_locked`]'s clause.
const CLAIM: &str = "SELECT id FROM complaints \
     WHERE next_escalation_at IS NOT NULL AND next_escalation_at <= $1 \
     ORDER BY next_escalation_at LIMIT $2{lock}";

/// Inside the caller's transaction: up to `limit` cases whose next step is
/// due at `now`, from the schedule index. On PostgreSQL the rows stay locked
/// until commit and rows another sweep (or a workflow action) holds are
/// skipped, so concurrent sweeps share the work instead of waiting.
pub fn claim_due(conn: &mut DbConn, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<i64>> {
    let sql = placeholders(conn, &CLAIM.replace("{lock}", skip_locked(conn)));
    let rows: Vec<Id> = diesel::sql_query(sql)
        .bind::<Timestamp, _>(now)
        .bind::<BigInt, _>(limit)
        .load(conn)?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// Cases due at `now`, without claiming them (to retry them one by one).
pub fn due(conn: &mut DbConn, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<i64>> {
    complaints::table
        .filter(complaints::next_escalation_at.le(now))
        .order(complaints::next_escalation_at.asc())
        .limit(limit)
        .select(complaints::id)
        .load(conn)
}

const CLAIM_ONE: &str = "SELECT id FROM complaints WHERE id = $1 \
     AND next_escalation_at IS NOT NULL AND next_escalation_at <= $2";

/// Inside the caller's transaction: claims one case if it is still due and
/// no other sweep holds it.
pub fn claim_one(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> QueryResult<bool> {
    let mut sql = placeholders(conn, CLAIM_ONE);
    sql.push_str(skip_locked(conn));
    let rows: Vec<Id> = diesel::sql_query(sql)
        .bind::<BigInt, _>(id)
        .bind::<Timestamp, _>(now)
        .load(conn)?;
    Ok(!rows.is_empty())
}

/// Sets when the sweep should next look at a case (`None`: never again
/// unless the case changes).
pub fn schedule(
    conn: &mut DbConn,
    complaint_id: i64,
    at: Option<NaiveDateTime>,
) -> QueryResult<()> {
    diesel::update(complaints::table.find(complaint_id))
        .set(complaints::next_escalation_at.eq(at))
        .execute(conn)
        .map(|_| ())
}

/// Sets the schedule of several cases at once.
pub fn schedule_many(conn: &mut DbConn, plan: &[(i64, Option<NaiveDateTime>)]) -> QueryResult<()> {
    match conn {
        DbConn::Pg(pg) => {
            let ids: Vec<i64> = plan.iter().map(|p| p.0).collect();
            let at: Vec<Option<NaiveDateTime>> = plan.iter().map(|p| p.1).collect();
            diesel::sql_query(
                "UPDATE complaints AS c SET next_escalation_at = v.t \
                 FROM (SELECT unnest($1::bigint[]) AS id, unnest($2::timestamp[]) AS t) AS v \
                 WHERE c.id = v.id",
            )
            .bind::<diesel::sql_types::Array<BigInt>, _>(ids)
            .bind::<diesel::sql_types::Array<Nullable<Timestamp>>, _>(at)
            .execute(pg)
            .map(|_| ())
        }
        DbConn::Sqlite(_) => plan
            .iter()
            .try_for_each(|(id, at)| schedule(conn, *id, *at)),
    }
}

const TOUCH: &str = "UPDATE complaints SET next_escalation_at = \
     CASE WHEN status IN ('assigned', 'in_progress') THEN $1 ELSE NULL END WHERE id = $2";

/// After any change to a case: an open case is looked at by the next sweep
/// (which works out its precise next step with the calendar); a case that
/// left the open statuses leaves the schedule.
pub fn touch(conn: &mut DbConn, complaint_id: i64, now: NaiveDateTime) -> QueryResult<()> {
    let sql = placeholders(conn, TOUCH);
    diesel::sql_query(sql)
        .bind::<Nullable<Timestamp>, _>(Some(now))
        .bind::<BigInt, _>(complaint_id)
        .execute(conn)
        .map(|_| ())
}
