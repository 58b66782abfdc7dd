//! Aggregate reads for the ranking and the statistics. Counting happens in
//! the database (a province's year does not fit in memory); the SQL is the
//! same on both backends apart from placeholders.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

use super::{DbConn, placeholders};

#[derive(QueryableByName, Debug, Clone)]
pub struct KeyCount {
    #[diesel(sql_type = Text)]
    pub key: String,
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

/// What `count_by` may group: (table, key expression, time column). A fixed
/// list, so no caller text ever reaches the SQL.
#[derive(Clone, Copy, Debug)]
pub enum Tally {
    ComplaintsByChannel,
    ComplaintsByCategory,
    ComplaintsByStatus,
    ComplaintsByUnit,
    LettersByKind,
    EscalationsByLevel,
    AccountabilityByTrigger,
    AccountabilityByDecision,
    FeedbackBySatisfaction,
    CallsByDisposition,
    ClosuresByUnit,
}

impl Tally {
    fn parts(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Tally::ComplaintsByChannel => ("complaints", "channel", "received_at"),
            Tally::ComplaintsByCategory => {
                ("complaints", "COALESCE(category_code, '')", "received_at")
            }
            Tally::ComplaintsByStatus => ("complaints", "status", "received_at"),
            Tally::ComplaintsByUnit => (
                "complaints",
                "COALESCE(responsible_unit_code, '')",
                "received_at",
            ),
            Tally::LettersByKind => ("letters", "kind", "created_at"),
            Tally::EscalationsByLevel => ("escalations", "CAST(level AS TEXT)", "fired_at"),
            Tally::AccountabilityByTrigger => ("accountability_cases", "trigger", "opened_at"),
            Tally::AccountabilityByDecision => (
                "accountability_cases",
                "COALESCE(decision, '')",
                "decided_at",
            ),
            // Each case once, by its latest rating.
            Tally::FeedbackBySatisfaction => (
                "(SELECT * FROM feedback f WHERE f.id = \
                  (SELECT MAX(l.id) FROM feedback l WHERE l.complaint_id = f.complaint_id)) latest",
                "satisfaction",
                "created_at",
            ),
            Tally::CallsByDisposition => ("calls", "disposition", "started_at"),
            Tally::ClosuresByUnit => (
                "assignments",
                "unit_code",
                "CASE WHEN end_reason = 'closed' THEN ended_at END",
            ),
        }
    }
}

/// Rows per key whose time falls in `[from, to)`.
pub fn count_by(
    conn: &mut DbConn,
    tally: Tally,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<KeyCount>> {
    let (table, key, time) = tally.parts();
    let sql = format!(
        "SELECT {key} AS key, COUNT(*) AS n FROM {table} \
         WHERE {time} >= $1 AND {time} < $2 GROUP BY {key} ORDER BY n DESC, key"
    );
    diesel::sql_query(placeholders(conn, &sql))
        .bind::<Timestamp, _>(from)
        .bind::<Timestamp, _>(to)
        .load(conn)
}

/// Sum of score events booked in `[from, to)`, in hundredths of a point:
/// (deductions, additions).
pub fn score_movements(
    conn: &mut DbConn,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<(i64, i64)> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        minus: i64,
        #[diesel(sql_type = BigInt)]
        plus: i64,
    }
    let sql = "SELECT \
         COALESCE(SUM(CASE WHEN centipoints < 0 THEN centipoints ELSE 0 END), 0) AS minus, \
         COALESCE(SUM(CASE WHEN centipoints > 0 THEN centipoints ELSE 0 END), 0) AS plus \
         FROM score_events WHERE created_at >= $1 AND created_at < $2";
    let r: Row = diesel::sql_query(placeholders(conn, sql))
        .bind::<Timestamp, _>(from)
        .bind::<Timestamp, _>(to)
        .get_result(conn)?;
    Ok((r.minus, r.plus))
}

/// One unit's handling figures for assignments made in a period.
#[derive(QueryableByName, Debug, Clone, Default)]
pub struct UnitWork {
    #[diesel(sql_type = Text)]
    pub unit_code: String,
    #[diesel(sql_type = BigInt)]
    pub cases: i64,
    /// Assignments whose acknowledge clock has run out or stopped.
    #[diesel(sql_type = BigInt)]
    pub ack_due: i64,
    #[diesel(sql_type = BigInt)]
    pub ack_on_time: i64,
    /// Assignments whose handling clock has run out or stopped.
    #[diesel(sql_type = BigInt)]
    pub handle_due: i64,
    #[diesel(sql_type = BigInt)]
    pub handle_on_time: i64,
    #[diesel(sql_type = BigInt)]
    pub returns: i64,
}

// An assignment's clock counts once it stopped or ran out while the unit held
// the case; a case taken back because the unit rightly returned it does not
// count against its clocks (the return itself counts, in the return rate).
const UNIT_WORK: &str = "SELECT unit_code, \
     COUNT(DISTINCT complaint_id) AS cases, \
     SUM(CASE WHEN COALESCE(end_reason, '') <> 'returned' AND (acknowledged_at IS NOT NULL \
         OR ack_due_at < COALESCE(ended_at, $3)) THEN 1 ELSE 0 END) AS ack_due, \
     SUM(CASE WHEN COALESCE(end_reason, '') <> 'returned' AND acknowledged_at IS NOT NULL \
         AND acknowledged_at <= ack_due_at THEN 1 ELSE 0 END) AS ack_on_time, \
     SUM(CASE WHEN COALESCE(end_reason, '') <> 'returned' AND (reported_at IS NOT NULL \
         OR due_at < COALESCE(ended_at, $3)) THEN 1 ELSE 0 END) AS handle_due, \
     SUM(CASE WHEN COALESCE(end_reason, '') <> 'returned' AND reported_at IS NOT NULL \
         AND reported_at <= due_at THEN 1 ELSE 0 END) AS handle_on_time, \
     SUM(CASE WHEN return_reason IS NOT NULL THEN 1 ELSE 0 END) AS returns \
     FROM assignments WHERE assigned_at >= $1 AND assigned_at < $2 GROUP BY unit_code";

pub fn unit_work(
    conn: &mut DbConn,
    from: NaiveDateTime,
    to: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<Vec<UnitWork>> {
    diesel::sql_query(placeholders(conn, UNIT_WORK))
        .bind::<Timestamp, _>(from)
        .bind::<Timestamp, _>(to)
        .bind::<Timestamp, _>(now)
        .load(conn)
}

/// (unit, part, of): e.g. reports sent back for redo out of reports reviewed.
#[derive(QueryableByName, Debug, Clone)]
pub struct UnitRatio {
    #[diesel(sql_type = Text)]
    pub unit_code: String,
    #[diesel(sql_type = BigInt)]
    pub part: i64,
    #[diesel(sql_type = BigInt)]
    pub total: i64,
}

const REDO: &str = "SELECT a.unit_code AS unit_code, \
     SUM(CASE WHEN r.review = 'redo' THEN 1 ELSE 0 END) AS part, COUNT(*) AS total \
     FROM reports r JOIN assignments a ON a.id = r.assignment_id \
     WHERE r.review IS NOT NULL AND a.assigned_at >= $1 AND a.assigned_at < $2 \
     GROUP BY a.unit_code";

/// Reports sent back for redo, of reports reviewed, per unit.
pub fn redo(
    conn: &mut DbConn,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<UnitRatio>> {
    diesel::sql_query(placeholders(conn, REDO))
        .bind::<Timestamp, _>(from)
        .bind::<Timestamp, _>(to)
        .load(conn)
}

// Each case counts once, with its latest rating (callbacks are history: a
// second one does not erase the first, but only the latest counts).
const SATISFACTION: &str = "SELECT c.responsible_unit_code AS unit_code, \
     SUM(CASE WHEN f.satisfaction IN ('satisfied', 'basically_satisfied') THEN 1 ELSE 0 END) AS part, \
     COUNT(*) AS total \
     FROM feedback f JOIN complaints c ON c.id = f.complaint_id \
     WHERE f.created_at >= $1 AND f.created_at < $2 AND c.responsible_unit_code IS NOT NULL \
       AND f.id = (SELECT MAX(l.id) FROM feedback l WHERE l.complaint_id = f.complaint_id) \
     GROUP BY c.responsible_unit_code";

/// Satisfied or basically satisfied cases, of all rated cases, per unit:
/// each case by its latest rating.
pub fn satisfaction(
    conn: &mut DbConn,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<UnitRatio>> {
    diesel::sql_query(placeholders(conn, SATISFACTION))
        .bind::<Timestamp, _>(from)
        .bind::<Timestamp, _>(to)
        .load(conn)
}

/// (unit, count): a per-unit tally.
#[derive(QueryableByName, Debug, Clone)]
pub struct UnitCount {
    #[diesel(sql_type = Text)]
    pub unit_code: String,
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

// A chase counts against the unit responsible for the case when it is read.
const FOLLOW_UPS: &str = "SELECT c.responsible_unit_code AS unit_code, COUNT(*) AS n \
     FROM calls k JOIN complaints c ON c.id = k.complaint_id \
     WHERE k.disposition = 'follow_up' AND k.started_at >= $1 AND k.started_at < $2 \
       AND c.responsible_unit_code IS NOT NULL \
     GROUP BY c.responsible_unit_code";

/// The citizens' chasing calls (催办) in a period, per responsible unit.
pub fn follow_ups(
    conn: &mut DbConn,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<UnitCount>> {
    diesel::sql_query(placeholders(conn, FOLLOW_UPS))
        .bind::<Timestamp, _>(from)
        .bind::<Timestamp, _>(to)
        .load(conn)
}
