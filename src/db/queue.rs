//! The supervisor's queue (docs/architecture.md, "The queue"): one statement
//! per bucket giving its oldest cases and, by a window count, how many it
//! holds, and one statement for the three overdue buckets together (the
//! ladder's rung of each overdue case is looked up once, not once a
//! bucket). Each bucket's condition is served by a partial index of
//! migrations `000007_hotline_desk` and `000009_queue_indexes`, written so
//! that the condition here repeats the index's term for term.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

use super::DbConn;

/// The rung of the ladder a case's current deadlines have reached, as the
/// overdue buckets split it: 1 (nothing yet, the warning or the reminder),
/// 2 (the supervision letter) or 3 (accountability). Steps count on the open
/// assignment's acknowledge clock or on the current handling deadline.
const LADDER_RUNG: &str = "COALESCE((SELECT MAX(CASE WHEN e.level >= 3 THEN 3 WHEN e.level <= 1 THEN 1 \
     ELSE e.level END) FROM escalations e \
     JOIN assignments a ON a.id = e.assignment_id \
     WHERE e.complaint_id = complaints.id AND a.ended_at IS NULL \
     AND (e.clock = 'acknowledge' OR e.deadline_at = complaints.due_at)), 1)";

/// Past the handling deadline, or not signed for past the acknowledge
/// deadline (`$1` is the time of reading); each half served by its own
/// partial index.
fn overdue() -> String {
    let s = super::complaints::OVERDUE_STATUS;
    format!(
        "({s} AND complaints.due_at < $1) \
         OR ({s} AND complaints.acknowledged_at IS NULL AND complaints.ack_due_at < $1)"
    )
}

const OPEN: &str = "complaints.status IN ('received', 'assigned', 'in_progress', 'reported')";

/// The three overdue buckets, by rung.
const OVERDUE_BUCKETS: [&str; 3] = [
    "overdue_reminder",
    "overdue_supervision",
    "overdue_accountability",
];

/// How a bucket is read.
#[derive(Clone, Debug)]
enum Source {
    /// Its own statement: its condition (`$1` is the time of reading when
    /// `at_now`) and the column its oldest items are ordered by.
    Own {
        /// Its partial index. SQLite is told to use it (`INDEXED BY`, an
        /// error if the condition stops matching the index): its planner
        /// would rather walk `complaints_received` in order to skip a sort,
        /// which reads most of the table for a bucket of recent cases.
        index: &'static str,
        filter: String,
        order: &'static str,
        at_now: bool,
    },
    /// With the other overdue buckets, by [`read_overdue`].
    Overdue,
}

/// One bucket of the queue.
#[derive(Clone, Debug)]
struct Bucket {
    pub name: &'static str,
    source: Source,
}

impl Bucket {
    fn new(
        name: &'static str,
        index: &'static str,
        filter: &str,
        order: &'static str,
        at_now: bool,
    ) -> Self {
        Self {
            name,
            source: Source::Own {
                index,
                filter: filter.to_owned(),
                order,
                at_now,
            },
        }
    }

    fn overdue(name: &'static str) -> Self {
        Self {
            name,
            source: Source::Overdue,
        }
    }
}

/// Every bucket, in the order the queue lists them: name, the partial index
/// that holds its cases, condition, order, whether `$1` is the time of
/// reading.
fn buckets() -> Vec<Bucket> {
    let r = "complaints.received_at";
    let open_dup = format!("complaints.possible_duplicate AND {OPEN}");
    let chased = format!("complaints.follow_ups >= 2 AND {OPEN}");
    let [reminder, supervision, accountability] = OVERDUE_BUCKETS;
    #[rustfmt::skip]
    let list = vec![
        Bucket::new("unrouted", "complaints_queue_unrouted",
            "complaints.status = 'received' AND NOT complaints.needs_confirmation", r, false),
        Bucket::new("needs_confirmation", "complaints_queue_unrouted",
            "complaints.status = 'received' AND complaints.needs_confirmation", r, false),
        Bucket::new("possible_duplicate", "complaints_queue_duplicate", &open_dup, r, false),
        Bucket::new("return_requested", "complaints_queue_return", "complaints.return_requested", r, false),
        Bucket::new("extension_requested", "complaints_queue_extension", "complaints.extension_requested", r, false),
        Bucket::new("report_awaiting_review", "complaints_queue_reported", "complaints.status = 'reported'", r, false),
        Bucket::new("note_awaiting_approval", "complaints_queue_note", "complaints.note_awaiting_approval", r, false),
        Bucket::overdue(reminder),
        Bucket::overdue(supervision),
        Bucket::overdue(accountability),
        Bucket::new("delivery_failed", "complaints_queue_delivery", "complaints.delivery_failed", r, false),
        Bucket::new("chased", "complaints_queue_chased", &chased, r, false),
        Bucket::new("unsatisfied", "complaints_queue_reopen",
            "complaints.reopen_review AND complaints.status = 'closed'", r, false),
        Bucket::new("callbacks_due", "complaints_queue_callback",
            "complaints.callback_status = 'due' AND complaints.callback_due_at <= $1 \
             AND complaints.status = 'closed'", "complaints.callback_due_at", true),
    ];
    list
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    total: i64,
}

#[derive(QueryableByName)]
struct BucketRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    bucket: String,
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// Every bucket in the queue's order: its name, the ids of its `limit`
/// oldest cases (oldest first) and its size.
pub fn read_all(
    conn: &mut DbConn,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<(&'static str, Vec<i64>, i64)>> {
    let mut overdue = read_overdue(conn, now, limit)?;
    buckets()
        .into_iter()
        .map(|b| {
            let (ids, count) = match &b.source {
                Source::Own {
                    index,
                    filter,
                    order,
                    at_now,
                } => read_own(conn, index, filter, order, *at_now, now, limit)?,
                Source::Overdue => overdue.remove(b.name).unwrap_or_default(),
            };
            Ok((b.name, ids, count))
        })
        .collect()
}

/// One bucket of its own.
fn read_own(
    conn: &mut DbConn,
    index: &str,
    filter: &str,
    order: &str,
    at_now: bool,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<(Vec<i64>, i64)> {
    let limit_at = if at_now { "$2" } else { "$1" };
    let hint = match conn {
        DbConn::Sqlite(_) => format!(" INDEXED BY {index}"),
        DbConn::Pg(_) => String::new(),
    };
    let sql = super::placeholders(
        conn,
        &format!(
            "SELECT complaints.id AS id, COUNT(*) OVER () AS total FROM complaints{hint} \
             WHERE {filter} ORDER BY {order} ASC, complaints.id ASC LIMIT {limit_at}"
        ),
    );
    let rows: Vec<Row> = if at_now {
        diesel::sql_query(sql)
            .bind::<Timestamp, _>(now)
            .bind::<BigInt, _>(limit)
            .load(conn)?
    } else {
        diesel::sql_query(sql).bind::<BigInt, _>(limit).load(conn)?
    };
    let total = rows.first().map_or(0, |r| r.total);
    Ok((rows.into_iter().map(|r| r.id).collect(), total))
}

/// The three overdue buckets in one statement: every overdue case's rung
/// found once (a simple `CASE` evaluates its operand once), then counted and
/// cut to the `limit` most overdue per bucket.
fn read_overdue(
    conn: &mut DbConn,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<HashMap<&'static str, (Vec<i64>, i64)>> {
    let [reminder, supervision, accountability] = OVERDUE_BUCKETS;
    let overdue = overdue();
    let sql = super::placeholders(
        conn,
        &format!(
            "SELECT id, bucket, total FROM (\
               SELECT id, bucket, due_at, COUNT(*) OVER (PARTITION BY bucket) AS total, \
                 ROW_NUMBER() OVER (PARTITION BY bucket ORDER BY due_at ASC, id ASC) AS n \
               FROM (SELECT complaints.id AS id, complaints.due_at AS due_at, \
                   CASE {LADDER_RUNG} WHEN 3 THEN '{accountability}' WHEN 2 THEN '{supervision}' \
                   ELSE '{reminder}' END AS bucket \
                 FROM complaints WHERE {overdue}) o\
             ) r WHERE n <= $2 ORDER BY bucket, n"
        ),
    );
    let rows: Vec<BucketRow> = diesel::sql_query(sql)
        .bind::<Timestamp, _>(now)
        .bind::<BigInt, _>(limit)
        .load(conn)?;
    let mut out: HashMap<&'static str, (Vec<i64>, i64)> = HashMap::new();
    for r in rows {
        let Some(name) = OVERDUE_BUCKETS.iter().find(|n| **n == r.bucket) else {
            continue;
        };
        let entry = out.entry(name).or_default();
        entry.0.push(r.id);
        entry.1 = r.total;
    }
    Ok(out)
}
