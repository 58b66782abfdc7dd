//! The supervisor's queue (docs/architecture.md, "The queue"): one statement
//! per bucket giving its oldest cases and, by a window count, how many it
//! holds. Each bucket's condition is served by an index of migration
//! `000007_hotline_desk`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamp};

use super::DbConn;

/// The highest rung fired on a case's current deadlines (the open
/// assignment's acknowledge clock, or its current handling deadline); -1
/// when none.
const LADDER_LEVEL: &str = "COALESCE((SELECT MAX(e.level) FROM escalations e \
     JOIN assignments a ON a.id = e.assignment_id \
     WHERE e.complaint_id = complaints.id AND a.ended_at IS NULL \
     AND (e.clock = 'acknowledge' OR e.deadline_at = complaints.due_at)), -1)";

const OVERDUE: &str = "complaints.status IN ('assigned', 'in_progress') \
     AND (complaints.due_at < $1 OR (complaints.acknowledged_at IS NULL AND complaints.ack_due_at < $1))";

const OPEN: &str = "complaints.status IN ('received', 'assigned', 'in_progress', 'reported')";

/// One bucket: its condition (`$1` is the time of reading when `at_now`) and
/// the column its oldest items are ordered by.
#[derive(Clone, Debug)]
pub struct Bucket {
    pub name: &'static str,
    filter: String,
    order: &'static str,
    at_now: bool,
}

impl Bucket {
    fn new(
        name: &'static str,
        filter: impl Into<String>,
        order: &'static str,
        at_now: bool,
    ) -> Self {
        Self {
            name,
            filter: filter.into(),
            order,
            at_now,
        }
    }
}

/// Every bucket, in the order the queue lists them.
pub fn buckets() -> Vec<Bucket> {
    let r = "complaints.received_at";
    vec![
        Bucket::new(
            "unrouted",
            "complaints.status = 'received' AND NOT complaints.needs_confirmation",
            r,
            false,
        ),
        Bucket::new(
            "needs_confirmation",
            "complaints.status = 'received' AND complaints.needs_confirmation",
            r,
            false,
        ),
        Bucket::new(
            "possible_duplicate",
            format!("complaints.possible_duplicate AND {OPEN}"),
            r,
            false,
        ),
        Bucket::new("return_requested", "complaints.return_requested", r, false),
        Bucket::new(
            "extension_requested",
            "complaints.extension_requested",
            r,
            false,
        ),
        Bucket::new(
            "report_awaiting_review",
            "complaints.status = 'reported'",
            r,
            false,
        ),
        Bucket::new(
            "note_awaiting_approval",
            "complaints.note_awaiting_approval",
            r,
            false,
        ),
        Bucket::new(
            "overdue_reminder",
            format!("{OVERDUE} AND {LADDER_LEVEL} <= 1"),
            "complaints.due_at",
            true,
        ),
        Bucket::new(
            "overdue_supervision",
            format!("{OVERDUE} AND {LADDER_LEVEL} = 2"),
            "complaints.due_at",
            true,
        ),
        Bucket::new(
            "overdue_accountability",
            format!("{OVERDUE} AND {LADDER_LEVEL} >= 3"),
            "complaints.due_at",
            true,
        ),
        Bucket::new("delivery_failed", "complaints.delivery_failed", r, false),
        Bucket::new(
            "chased",
            format!("complaints.follow_ups >= 2 AND {OPEN}"),
            r,
            false,
        ),
        Bucket::new(
            "unsatisfied",
            "complaints.reopen_review AND complaints.status = 'closed'",
            r,
            false,
        ),
        Bucket::new(
            "callbacks_due",
            "complaints.callback_status = 'due' AND complaints.callback_due_at <= $1 \
             AND complaints.status = 'closed'",
            "complaints.callback_due_at",
            true,
        ),
    ]
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// The ids of a bucket's `limit` oldest cases and the bucket's size.
pub fn read(
    conn: &mut DbConn,
    b: &Bucket,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<(Vec<i64>, i64)> {
    let limit_at = if b.at_now { "$2" } else { "$1" };
    let sql = super::placeholders(
        conn,
        &format!(
            "SELECT complaints.id AS id, COUNT(*) OVER () AS total FROM complaints \
             WHERE {} ORDER BY {} ASC, complaints.id ASC LIMIT {limit_at}",
            b.filter, b.order
        ),
    );
    let rows: Vec<Row> = if b.at_now {
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
