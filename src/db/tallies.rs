//! The reporting aggregates (docs/architecture.md, "Ranking and
//! statistics"): what the ranking and the statistics count is kept by
//! triggers in the transaction of every change (migration
//! `2026-12-04-000011_tallies`), as append-only deltas that [`fold`] sums
//! into hour and day buckets. A read for a period adds whole days, whole
//! hours, the deltas not yet folded, and — for the minutes at either end —
//! the source rows themselves, read through the same views that define
//! what counts. So a year's ranking reads a few thousand bucket rows
//! however many cases the year holds, and is exact.

use std::collections::BTreeMap;

use chrono::{NaiveDateTime, Timelike};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use super::{DbConn, placeholders};

/// The metrics one report reads. Every name is a constant of this module,
/// never caller text, so they may be written into the SQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// `GET /stats`.
    Stats,
    /// `GET /ranking`.
    Ranking,
}

impl Family {
    pub fn metrics(self) -> &'static [&'static str] {
        match self {
            Family::Stats => &[
                CHANNEL,
                STATUS,
                CATEGORY,
                UNIT,
                LETTER_KIND,
                ESCALATION_LEVEL,
                ACCOUNTABILITY_TRIGGER,
                ACCOUNTABILITY_DECISION,
                SATISFACTION,
                DISPOSITION,
                CLOSED,
                POINTS_MINUS,
                POINTS_PLUS,
            ],
            Family::Ranking => &[
                CASES,
                ACK_DUE,
                ACK_ON_TIME,
                HANDLE_DUE,
                HANDLE_ON_TIME,
                RETURNS,
                REVIEWED,
                REDO,
                RATED,
                SATISFIED,
                FOLLOW_UPS,
                POINTS,
            ],
        }
    }

    fn in_list(self) -> String {
        let quoted: Vec<String> = self.metrics().iter().map(|m| format!("'{m}'")).collect();
        quoted.join(", ")
    }
}

// Statistics: complaints by the time they were received, the rest by the
// time of their event (see the views for each).
pub const CHANNEL: &str = "c.channel";
pub const STATUS: &str = "c.status";
pub const CATEGORY: &str = "c.category";
pub const UNIT: &str = "c.unit";
pub const LETTER_KIND: &str = "l.kind";
pub const ESCALATION_LEVEL: &str = "e.level";
pub const ACCOUNTABILITY_TRIGGER: &str = "a.trigger";
pub const ACCOUNTABILITY_DECISION: &str = "a.decision";
pub const SATISFACTION: &str = "f.satisfaction";
pub const DISPOSITION: &str = "k.disposition";
pub const CLOSED: &str = "s.closed";
pub const POINTS_MINUS: &str = "p.minus";
pub const POINTS_PLUS: &str = "p.plus";
// The ranking, per unit: work by the time the case was given to the unit.
pub const CASES: &str = "r.cases";
pub const ACK_DUE: &str = "r.ack_due";
pub const ACK_ON_TIME: &str = "r.ack_on_time";
pub const HANDLE_DUE: &str = "r.handle_due";
pub const HANDLE_ON_TIME: &str = "r.handle_on_time";
pub const RETURNS: &str = "r.returns";
pub const REVIEWED: &str = "r.reviewed";
pub const REDO: &str = "r.redo";
pub const RATED: &str = "r.rated";
pub const SATISFIED: &str = "r.satisfied";
pub const FOLLOW_UPS: &str = "r.follow_ups";
pub const POINTS: &str = "r.points";

/// A metric's sum for one key over a period.
#[derive(QueryableByName, Debug, Clone, PartialEq, Eq)]
pub struct Sum {
    #[diesel(sql_type = Text)]
    pub metric: String,
    #[diesel(sql_type = Text)]
    pub key: String,
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

/// Where a read takes its figures from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The buckets (what the API serves).
    Aggregates,
    /// The source rows, counted afresh: the full recomputation that the
    /// aggregates must always equal (`duban tallies check`, the tests).
    Recount,
}

const HOUR: i64 = 3_600;

fn secs(t: NaiveDateTime) -> (i64, bool) {
    let u = t.and_utc();
    (u.timestamp(), u.nanosecond() != 0)
}

fn hour_start(h: i64) -> NaiveDateTime {
    chrono::DateTime::from_timestamp(h * HOUR, 0)
        .map(|t| t.naive_utc())
        .unwrap_or_default()
}

/// How `[from, to)` splits: whole days, whole hours on either side of them,
/// and the minutes before the first and after the last whole hour.
#[derive(Debug, PartialEq, Eq)]
struct Pieces {
    days: (i64, i64),
    hours: [(i64, i64); 2],
    /// Deltas not yet folded, by hour: the whole-hour span.
    pending: (i64, i64),
    edges: [(NaiveDateTime, NaiveDateTime); 2],
}

fn pieces(from: NaiveDateTime, to: NaiveDateTime) -> Pieces {
    let (fs, fsub) = secs(from);
    let (ts, _) = secs(to);
    let h1 = fs.div_euclid(HOUR) + i64::from(fsub || fs.rem_euclid(HOUR) != 0);
    let h2 = ts.div_euclid(HOUR);
    if h1 >= h2 {
        return Pieces {
            days: (0, 0),
            hours: [(0, 0), (0, 0)],
            pending: (0, 0),
            edges: [(from, to), (to, to)],
        };
    }
    let d1 = h1.div_euclid(24) + i64::from(h1.rem_euclid(24) != 0);
    let d2 = h2.div_euclid(24);
    let (days, hours) = if d1 < d2 {
        ((d1, d2), [(h1, d1 * 24), (d2 * 24, h2)])
    } else {
        ((0, 0), [(h1, h2), (0, 0)])
    };
    Pieces {
        days,
        hours,
        pending: (h1, h2),
        edges: [(from, hour_start(h1)), (hour_start(h2), to)],
    }
}

/// Every metric of `family` per key over `[from, to)`; keys whose sum is
/// zero are left out.
pub fn sums(
    conn: &mut DbConn,
    family: Family,
    source: Source,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<Sum>> {
    let metrics = family.in_list();
    if source == Source::Recount {
        let sql = format!(
            "SELECT metric, key, CAST(SUM(n) AS BIGINT) AS n FROM tally_all \
             WHERE metric IN ({metrics}) AND at >= $1 AND at < $2 \
             GROUP BY metric, key HAVING SUM(n) <> 0 ORDER BY metric, key"
        );
        return diesel::sql_query(placeholders(conn, &sql))
            .bind::<Timestamp, _>(from)
            .bind::<Timestamp, _>(to)
            .load(conn);
    }
    let p = pieces(from, to);
    let sql = format!(
        "SELECT metric, key, CAST(SUM(n) AS BIGINT) AS n FROM ( \
           SELECT metric, key, n FROM tallies WHERE metric IN ({metrics}) AND grain = 'd' \
             AND bucket >= $1 AND bucket < $2 \
           UNION ALL SELECT metric, key, n FROM tallies WHERE metric IN ({metrics}) \
             AND grain = 'h' AND bucket >= $3 AND bucket < $4 \
           UNION ALL SELECT metric, key, n FROM tallies WHERE metric IN ({metrics}) \
             AND grain = 'h' AND bucket >= $5 AND bucket < $6 \
           UNION ALL SELECT metric, key, n FROM tally_deltas WHERE metric IN ({metrics}) \
             AND at_hour >= $7 AND at_hour < $8 \
           UNION ALL SELECT metric, key, n FROM tally_all WHERE metric IN ({metrics}) \
             AND at >= $9 AND at < $10 \
           UNION ALL SELECT metric, key, n FROM tally_all WHERE metric IN ({metrics}) \
             AND at >= $11 AND at < $12 \
         ) t GROUP BY metric, key HAVING SUM(n) <> 0 ORDER BY metric, key"
    );
    diesel::sql_query(placeholders(conn, &sql))
        .bind::<BigInt, _>(p.days.0)
        .bind::<BigInt, _>(p.days.1)
        .bind::<BigInt, _>(p.hours[0].0)
        .bind::<BigInt, _>(p.hours[0].1)
        .bind::<BigInt, _>(p.hours[1].0)
        .bind::<BigInt, _>(p.hours[1].1)
        .bind::<BigInt, _>(p.pending.0)
        .bind::<BigInt, _>(p.pending.1)
        .bind::<Timestamp, _>(p.edges[0].0)
        .bind::<Timestamp, _>(p.edges[0].1)
        .bind::<Timestamp, _>(p.edges[1].0)
        .bind::<Timestamp, _>(p.edges[1].1)
        .load(conn)
}

/// Clocks still running past their deadline, per unit, for assignments
/// made in `[from, to)`: they count as due at the hour of reading, so no
/// trigger can count them. Read from the running clocks' own indexes, so
/// the cost follows the open late work, not the cases stored.
#[derive(QueryableByName, Debug, Clone, PartialEq, Eq)]
pub struct Running {
    #[diesel(sql_type = Text)]
    pub unit_code: String,
    #[diesel(sql_type = BigInt)]
    pub ack_due: i64,
    #[diesel(sql_type = BigInt)]
    pub handle_due: i64,
}

pub fn running(
    conn: &mut DbConn,
    from: NaiveDateTime,
    to: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<Vec<Running>> {
    // SQLite's planner would rather walk the year by assigned_at; the
    // partial indexes hold only the open clocks.
    let (ack, handle) = match conn {
        DbConn::Sqlite(_) => (
            "INDEXED BY assignments_ack_running",
            "INDEXED BY assignments_handling_running",
        ),
        DbConn::Pg(_) => ("", ""),
    };
    let sql = format!(
        "SELECT unit_code, CAST(SUM(a) AS BIGINT) AS ack_due, CAST(SUM(h) AS BIGINT) AS handle_due \
         FROM ( \
           SELECT unit_code, 1 AS a, 0 AS h FROM assignments {ack} \
           WHERE ended_at IS NULL AND acknowledged_at IS NULL AND ack_due_at < $3 \
             AND assigned_at >= $1 AND assigned_at < $2 \
           UNION ALL SELECT unit_code, 0, 1 FROM assignments {handle} \
           WHERE ended_at IS NULL AND reported_at IS NULL AND due_at < $3 \
             AND assigned_at >= $1 AND assigned_at < $2 \
         ) t GROUP BY unit_code ORDER BY unit_code"
    );
    diesel::sql_query(placeholders(conn, &sql))
        .bind::<Timestamp, _>(from)
        .bind::<Timestamp, _>(to)
        .bind::<Timestamp, _>(now)
        .load(conn)
}

/// Deltas folded per transaction: a short hold of SQLite's write lock.
pub const FOLD_BATCH: i64 = 20_000;

/// Folds up to [`FOLD_BATCH`] of the oldest deltas into the buckets, in one
/// transaction; returns how many it folded (fewer than the batch: none are
/// left). Several instances may fold at once: on PostgreSQL each delta is
/// deleted, and so added, by exactly one of them.
pub fn fold(conn: &mut DbConn) -> QueryResult<usize> {
    super::write_tx(conn, |c| {
        #[derive(QueryableByName)]
        struct Batch {
            #[diesel(sql_type = BigInt)]
            n: i64,
            #[diesel(sql_type = Nullable<BigInt>)]
            last: Option<i64>,
        }
        let batch: Batch = diesel::sql_query(placeholders(
            c,
            "SELECT COUNT(*) AS n, MAX(id) AS last \
             FROM (SELECT id FROM tally_deltas ORDER BY id LIMIT $1) b",
        ))
        .bind::<BigInt, _>(FOLD_BATCH)
        .get_result(c)?;
        let Some(last) = batch.last else {
            return Ok(0);
        };
        let folded = usize::try_from(batch.n).unwrap_or(0);
        const UPSERT: &str = "ON CONFLICT (metric, grain, bucket, key) \
                              DO UPDATE SET n = tallies.n + excluded.n";
        match c {
            DbConn::Pg(_) => {
                let sql = format!(
                    "WITH moved AS (DELETE FROM tally_deltas WHERE id <= $1 \
                       RETURNING metric, key, at_hour, n) \
                     INSERT INTO tallies (metric, grain, bucket, key, n) \
                     SELECT metric, 'h', at_hour, key, SUM(n) FROM moved \
                     GROUP BY metric, at_hour, key \
                     UNION ALL SELECT metric, 'd', at_hour / 24, key, SUM(n) FROM moved \
                     GROUP BY metric, at_hour / 24, key {UPSERT}"
                );
                diesel::sql_query(sql).bind::<BigInt, _>(last).execute(c)?;
            }
            DbConn::Sqlite(_) => {
                let sql = format!(
                    "INSERT INTO tallies (metric, grain, bucket, key, n) \
                     SELECT metric, grain, bucket, key, n FROM ( \
                       SELECT metric, 'h' AS grain, at_hour AS bucket, key, SUM(n) AS n \
                       FROM tally_deltas WHERE id <= ?1 GROUP BY metric, at_hour, key \
                       UNION ALL SELECT metric, 'd', at_hour / 24, key, SUM(n) \
                       FROM tally_deltas WHERE id <= ?1 GROUP BY metric, at_hour / 24, key \
                     ) t WHERE true {UPSERT}"
                );
                diesel::sql_query(sql).bind::<BigInt, _>(last).execute(c)?;
                diesel::sql_query("DELETE FROM tally_deltas WHERE id <= ?1")
                    .bind::<BigInt, _>(last)
                    .execute(c)?;
            }
        }
        Ok(folded)
    })
}

/// Folds until no delta is left; returns how many it folded. After a
/// backlog (more than one batch: a bulk import, an instance that was down)
/// PostgreSQL's deltas table is vacuumed at once, since reads scan what is
/// left of it and dead rows would make them slow until autovacuum came by.
/// Must not run inside a transaction.
pub fn fold_all(conn: &mut DbConn) -> QueryResult<usize> {
    let mut folded = 0;
    loop {
        let n = fold(conn)?;
        folded += n;
        if n < FOLD_BATCH as usize {
            break;
        }
    }
    if folded > FOLD_BATCH as usize
        && let DbConn::Pg(_) = conn
    {
        diesel::sql_query("VACUUM tally_deltas").execute(conn)?;
    }
    Ok(folded)
}

/// How many deltas wait to be folded.
pub fn pending(conn: &mut DbConn) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let c: Count = diesel::sql_query("SELECT COUNT(*) AS n FROM tally_deltas").get_result(conn)?;
    Ok(c.n)
}

/// Counts everything afresh from the source rows, replacing the buckets.
/// Writers wait meanwhile (on PostgreSQL the deltas table is locked), so no
/// change is counted twice or lost.
pub fn rebuild(conn: &mut DbConn) -> QueryResult<()> {
    super::write_tx(conn, |c| {
        if let DbConn::Pg(_) = c {
            diesel::sql_query("LOCK TABLE tally_deltas IN EXCLUSIVE MODE").execute(c)?;
        }
        diesel::sql_query("DELETE FROM tally_deltas").execute(c)?;
        diesel::sql_query("DELETE FROM tallies").execute(c)?;
        let hour = hour_of_at(c);
        for (grain, bucket) in [("h", hour.clone()), ("d", format!("({hour}) / 24"))] {
            diesel::sql_query(format!(
                "INSERT INTO tallies (metric, grain, bucket, key, n) \
                 SELECT metric, '{grain}', {bucket}, key, SUM(n) FROM tally_all \
                 GROUP BY metric, {bucket}, key"
            ))
            .execute(c)?;
        }
        Ok(())
    })
}

fn hour_of_at(conn: &DbConn) -> String {
    match conn {
        DbConn::Pg(_) => "tally_hour(at)".to_owned(),
        DbConn::Sqlite(_) => "CAST(strftime('%s', at) AS INTEGER) / 3600".to_owned(),
    }
}

/// A bucket whose stored sum differs from a fresh count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub metric: String,
    pub grain: &'static str,
    pub bucket: i64,
    pub key: String,
    pub stored: i64,
    pub counted: i64,
}

/// Compares every bucket (stored plus pending deltas) with a count from the
/// source rows, on one snapshot.
pub fn check(conn: &mut DbConn) -> QueryResult<Vec<Mismatch>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        metric: String,
        #[diesel(sql_type = Text)]
        grain: String,
        #[diesel(sql_type = BigInt)]
        bucket: i64,
        #[diesel(sql_type = Text)]
        key: String,
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    type Buckets = BTreeMap<(String, &'static str, i64, String), i64>;
    fn add(map: &mut Buckets, rows: Vec<Row>) {
        for r in rows {
            let grain = if r.grain == "h" { "h" } else { "d" };
            *map.entry((r.metric, grain, r.bucket, r.key)).or_default() += r.n;
        }
    }
    super::read_snapshot(conn, |c| {
        let hour = hour_of_at(c);
        let mut stored = Buckets::new();
        let mut counted = Buckets::new();
        add(
            &mut stored,
            diesel::sql_query("SELECT metric, grain, bucket, key, n FROM tallies").load(c)?,
        );
        add(
            &mut stored,
            diesel::sql_query(
                "SELECT metric, 'h' AS grain, at_hour AS bucket, key, n FROM tally_deltas \
                 UNION ALL SELECT metric, 'd', at_hour / 24, key, n FROM tally_deltas",
            )
            .load(c)?,
        );
        add(
            &mut counted,
            diesel::sql_query(format!(
                "SELECT metric, 'h' AS grain, {hour} AS bucket, key, CAST(n AS BIGINT) AS n \
                 FROM tally_all UNION ALL \
                 SELECT metric, 'd', ({hour}) / 24, key, CAST(n AS BIGINT) FROM tally_all"
            ))
            .load(c)?,
        );
        let mut out = Vec::new();
        let mut keys: Vec<_> = stored.keys().chain(counted.keys()).cloned().collect();
        keys.sort();
        keys.dedup();
        for k in keys {
            let s = stored.get(&k).copied().unwrap_or(0);
            let n = counted.get(&k).copied().unwrap_or(0);
            if s != n {
                out.push(Mismatch {
                    metric: k.0,
                    grain: k.1,
                    bucket: k.2,
                    key: k.3,
                    stored: s,
                    counted: n,
                });
            }
        }
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(d: u32, h: u32, m: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 1, d)
            .and_then(|x| x.and_hms_opt(h, m, 0))
            .unwrap_or_default()
    }

    fn hour_no(t: NaiveDateTime) -> i64 {
        t.and_utc().timestamp() / HOUR
    }

    #[test]
    fn a_local_year_splits_into_its_hours_and_days() {
        // 1 Jan to 1 Jan in UTC+8: 16:00 UTC on 31 Dec each side.
        let from = NaiveDate::from_ymd_opt(2025, 12, 31)
            .and_then(|d| d.and_hms_opt(16, 0, 0))
            .unwrap_or_default();
        let to = NaiveDate::from_ymd_opt(2026, 12, 31)
            .and_then(|d| d.and_hms_opt(16, 0, 0))
            .unwrap_or_default();
        let p = pieces(from, to);
        assert_eq!(p.edges[0], (from, from));
        assert_eq!(p.edges[1], (to, to));
        assert_eq!(p.hours[0], (hour_no(from), hour_no(at(1, 0, 0))));
        assert_eq!(p.days.0 * 24, hour_no(at(1, 0, 0)));
        assert_eq!(p.days.1 - p.days.0, 364);
        assert_eq!(p.hours[1].1 - p.hours[1].0, 16);
        assert_eq!(p.pending, (hour_no(from), hour_no(to)));
    }

    #[test]
    fn minutes_at_either_end_are_read_from_the_rows() {
        let (from, to) = (at(2, 10, 30), at(2, 13, 15));
        let p = pieces(from, to);
        assert_eq!(p.edges, [(from, at(2, 11, 0)), (at(2, 13, 0), to)]);
        assert_eq!(
            p.hours,
            [(hour_no(at(2, 11, 0)), hour_no(at(2, 13, 0))), (0, 0)]
        );
        assert_eq!(p.days, (0, 0));
        // Within one hour: the rows alone.
        let p = pieces(at(2, 10, 5), at(2, 10, 50));
        assert_eq!(p.edges[0], (at(2, 10, 5), at(2, 10, 50)));
        assert_eq!((p.days, p.pending), ((0, 0), (0, 0)));
        // A part of a second counts as the minutes before the next hour.
        let sub = at(2, 10, 0) + chrono::Duration::microseconds(1);
        assert_eq!(pieces(sub, at(2, 12, 0)).edges[0], (sub, at(2, 11, 0)));
    }
}
