//! The audit log's rows (docs/architecture.md, "The audit log"): the
//! positions and MACs of audit events, score events and letters, the stored
//! tree head, the signed checkpoints, and the case states the digests cover.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::accountability::ScoreEvent;
use super::audit::{AuditEvent, Part};
use super::letters::Letter;
use super::schema::{
    audit_checkpoints, audit_events, audit_tree, complaints, letters, score_events,
};

/// An audit event with its place in the log.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct LoggedEvent {
    #[diesel(embed)]
    pub event: AuditEvent,
    pub log_seq: Option<i64>,
    pub log_mac: Option<String>,
    pub record_digest: Option<String>,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = score_events)]
pub struct LoggedScore {
    #[diesel(embed)]
    pub score: ScoreEvent,
    pub log_seq: Option<i64>,
    pub log_mac: Option<String>,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = letters)]
pub struct LoggedLetter {
    #[diesel(embed)]
    pub letter: Letter,
    pub log_seq: Option<i64>,
    pub log_mac: Option<String>,
}

/// The advisory lock every sequencer and checkpoint holds on PostgreSQL.
const LOG_LOCK: i64 = 0x6475_6261_6e4c_6f67; // "dubanLog"

/// Inside the caller's transaction: on PostgreSQL, waits for the log's
/// advisory lock and holds it until commit, so one sequencer or checkpoint
/// writes at a time; SQLite write transactions are serial already.
pub fn lock_log(conn: &mut DbConn) -> QueryResult<()> {
    if let DbConn::Pg(pg) = conn {
        diesel::sql_query(format!("SELECT pg_advisory_xact_lock({LOG_LOCK})")).execute(pg)?;
    }
    Ok(())
}

/// Entries not in the log yet, oldest first, up to `limit` of each table.
/// Each read starts at the smallest unplaced id (from the partial index of
/// unplaced rows), so that however stale the planner's statistics, it never
/// walks the placed rows before them.
pub fn unsequenced(
    conn: &mut DbConn,
    limit: i64,
) -> QueryResult<(Vec<LoggedEvent>, Vec<LoggedScore>, Vec<LoggedLetter>)> {
    // The smallest unplaced id, then the rows from there in id order.
    macro_rules! unplaced {
        ($table:ident, $row:ty) => {{
            let first: Option<i64> = $table::table
                .filter($table::log_seq.is_null())
                .select(diesel::dsl::min($table::id))
                .first(conn)?;
            match first {
                None => Vec::new(),
                Some(first) => $table::table
                    .filter($table::id.ge(first))
                    .filter($table::log_seq.is_null())
                    .order($table::id.asc())
                    .limit(limit)
                    .select(<$row>::as_select())
                    .load(conn)?,
            }
        }};
    }
    let events = unplaced!(audit_events, LoggedEvent);
    let scores = unplaced!(score_events, LoggedScore);
    let letters = unplaced!(letters, LoggedLetter);
    Ok((events, scores, letters))
}

/// Entries of the log after position `after`, in log order, up to `limit`
/// of each table (the caller merges the three by position).
pub fn page_from(
    conn: &mut DbConn,
    after: (i64, i64, i64),
    limit: i64,
) -> QueryResult<(Vec<LoggedEvent>, Vec<LoggedScore>, Vec<LoggedLetter>)> {
    macro_rules! placed_after {
        ($table:ident, $row:ty, $after:expr) => {
            $table::table
                .filter($table::log_seq.gt($after))
                .order($table::log_seq.asc())
                .limit(limit)
                .select(<$row>::as_select())
                .load(conn)?
        };
    }
    let events = placed_after!(audit_events, LoggedEvent, after.0);
    let scores = placed_after!(score_events, LoggedScore, after.1);
    let letters = placed_after!(letters, LoggedLetter, after.2);
    Ok((events, scores, letters))
}

/// Entries of a part of the trail ([`Part`]) after the ids `after`, in id
/// order, up to `limit` of each table: the events of the part, and the
/// letters and score events of its case (a case chain) or period.
pub fn part_page(
    conn: &mut DbConn,
    part: &Part,
    after: (i64, i64, i64),
    limit: i64,
) -> QueryResult<(Vec<LoggedEvent>, Vec<LoggedScore>, Vec<LoggedLetter>)> {
    macro_rules! part_of {
        ($table:ident, $row:ty, $after:expr) => {{
            let mut q = $table::table.filter($table::id.gt($after)).into_boxed();
            if let Some(from) = part.from {
                q = q.filter($table::created_at.ge(from));
            }
            if let Some(to) = part.to {
                q = q.filter($table::created_at.lt(to));
            }
            q
        }};
    }
    let mut events = part_of!(audit_events, LoggedEvent, after.0);
    if let Some(chain) = &part.chain {
        events = events.filter(audit_events::chain.eq(chain.clone()));
    }
    let events = events
        .order(audit_events::id.asc())
        .limit(limit)
        .select(LoggedEvent::as_select())
        .load(conn)?;
    // The administration chain has no letters or score events of its own.
    if part.chain.is_some() && part.complaint_id.is_none() {
        return Ok((events, Vec::new(), Vec::new()));
    }
    let mut scores = part_of!(score_events, LoggedScore, after.1);
    let mut letters_q = part_of!(letters, LoggedLetter, after.2);
    if let Some(id) = part.complaint_id {
        scores = scores.filter(score_events::complaint_id.eq(id));
        letters_q = letters_q.filter(letters::complaint_id.eq(id));
    }
    let scores = scores
        .order(score_events::id.asc())
        .limit(limit)
        .select(LoggedScore::as_select())
        .load(conn)?;
    let letters = letters_q
        .order(letters::id.asc())
        .limit(limit)
        .select(LoggedLetter::as_select())
        .load(conn)?;
    Ok((events, scores, letters))
}

/// About how much a whole verification reads: (audit events, entries in
/// the log by the stored head, cases).
pub fn sizes(conn: &mut DbConn) -> QueryResult<(u64, u64, u64)> {
    let events: i64 = audit_events::table.count().get_result(conn)?;
    let entries = tree(conn)?.map_or(0, |t| t.size);
    let cases: i64 = complaints::table.count().get_result(conn)?;
    let u = |n: i64| u64::try_from(n).unwrap_or(0);
    Ok((u(events), u(entries), u(cases)))
}

/// Rows of the three tables not in the log yet.
pub fn count_unsequenced(conn: &mut DbConn) -> QueryResult<i64> {
    macro_rules! unplaced_count {
        ($table:ident) => {
            $table::table
                .filter($table::log_seq.is_null())
                .count()
                .get_result::<i64>(conn)?
        };
    }
    Ok(unplaced_count!(audit_events) + unplaced_count!(score_events) + unplaced_count!(letters))
}

/// Where the sequencer put a row: its position, MAC and (audit events
/// about a case) the case's state digest.
pub struct Placement {
    pub id: i64,
    pub seq: i64,
    pub mac: String,
    pub digest: Option<String>,
}

/// The three tables of the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogTable {
    AuditEvents = 0,
    ScoreEvents = 1,
    Letters = 2,
}

impl LogTable {
    pub const ALL: [LogTable; 3] = [
        LogTable::AuditEvents,
        LogTable::ScoreEvents,
        LogTable::Letters,
    ];

    pub fn name(self) -> &'static str {
        match self {
            LogTable::AuditEvents => "audit_events",
            LogTable::ScoreEvents => "score_events",
            LogTable::Letters => "letters",
        }
    }
}

/// Writes the placements of one table: one statement on PostgreSQL (one
/// round trip per batch), one per row on SQLite (in-process).
pub fn place_many(conn: &mut DbConn, table: LogTable, rows: &[Placement]) -> QueryResult<()> {
    use diesel::sql_types::{Array, BigInt, Nullable, Text};
    if rows.is_empty() {
        return Ok(());
    }
    let digest = matches!(table, LogTable::AuditEvents);
    let name = table.name();
    match conn {
        DbConn::Pg(pg) => {
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
            let macs: Vec<&str> = rows.iter().map(|r| r.mac.as_str()).collect();
            let digests: Vec<Option<&str>> = rows.iter().map(|r| r.digest.as_deref()).collect();
            let set_digest = if digest { ", record_digest = v.d" } else { "" };
            diesel::sql_query(format!(
                "UPDATE {name} AS t SET log_seq = v.s, log_mac = v.m{set_digest} \
                 FROM (SELECT unnest($1::bigint[]) AS id, unnest($2::bigint[]) AS s, \
                 unnest($3::text[]) AS m, unnest($4::text[]) AS d) AS v WHERE t.id = v.id"
            ))
            .bind::<Array<BigInt>, _>(ids)
            .bind::<Array<BigInt>, _>(seqs)
            .bind::<Array<Text>, _>(macs)
            .bind::<Array<Nullable<Text>>, _>(digests)
            .execute(pg)
            .map(|_| ())
        }
        DbConn::Sqlite(c) => {
            let set_digest = if digest { ", record_digest = ?" } else { "" };
            let sql =
                format!("UPDATE {name} SET log_seq = ?, log_mac = ?{set_digest} WHERE id = ?");
            for r in rows {
                let q = diesel::sql_query(&sql)
                    .bind::<BigInt, _>(r.seq)
                    .bind::<Text, _>(&r.mac);
                if digest {
                    q.bind::<Nullable<Text>, _>(r.digest.as_deref())
                        .bind::<BigInt, _>(r.id)
                        .execute(c)?;
                } else {
                    q.bind::<BigInt, _>(r.id).execute(c)?;
                }
            }
            Ok(())
        }
    }
}

/// The stored tree head.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = audit_tree)]
pub struct TreeRow {
    pub size: i64,
    pub root_hash: String,
    pub frontier: String,
    pub mac: String,
    pub updated_at: NaiveDateTime,
}

pub fn tree(conn: &mut DbConn) -> QueryResult<Option<TreeRow>> {
    audit_tree::table
        .find(1)
        .select(TreeRow::as_select())
        .first(conn)
        .optional()
}

pub fn save_tree(conn: &mut DbConn, t: &TreeRow) -> QueryResult<()> {
    let changed = diesel::update(audit_tree::table.find(1))
        .set((
            audit_tree::size.eq(t.size),
            audit_tree::root_hash.eq(&t.root_hash),
            audit_tree::frontier.eq(&t.frontier),
            audit_tree::mac.eq(&t.mac),
            audit_tree::updated_at.eq(t.updated_at),
        ))
        .execute(conn)?;
    if changed == 0 {
        diesel::insert_into(audit_tree::table)
            .values((
                audit_tree::id.eq(1),
                audit_tree::size.eq(t.size),
                audit_tree::root_hash.eq(&t.root_hash),
                audit_tree::frontier.eq(&t.frontier),
                audit_tree::mac.eq(&t.mac),
                audit_tree::updated_at.eq(t.updated_at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = audit_checkpoints)]
pub struct CheckpointRow {
    pub id: i64,
    pub tree_size: i64,
    pub root_hash: String,
    pub signed_at: NaiveDateTime,
    pub key_id: String,
    pub signature: String,
}

pub fn insert_checkpoint(
    conn: &mut DbConn,
    size: i64,
    root: &str,
    at: NaiveDateTime,
    key_id: &str,
    signature: &str,
) -> QueryResult<CheckpointRow> {
    let id: i64 = diesel::insert_into(audit_checkpoints::table)
        .values((
            audit_checkpoints::tree_size.eq(size),
            audit_checkpoints::root_hash.eq(root),
            audit_checkpoints::signed_at.eq(at),
            audit_checkpoints::key_id.eq(key_id),
            audit_checkpoints::signature.eq(signature),
        ))
        .returning(audit_checkpoints::id)
        .get_result(conn)?;
    Ok(CheckpointRow {
        id,
        tree_size: size,
        root_hash: root.to_owned(),
        signed_at: at,
        key_id: key_id.to_owned(),
        signature: signature.to_owned(),
    })
}

/// Every checkpoint, in the order of the log (about one an hour: a year's
/// fit in memory).
pub fn checkpoints_by_size(conn: &mut DbConn) -> QueryResult<Vec<CheckpointRow>> {
    audit_checkpoints::table
        .order((
            audit_checkpoints::tree_size.asc(),
            audit_checkpoints::id.asc(),
        ))
        .select(CheckpointRow::as_select())
        .load(conn)
}

pub fn latest_checkpoint(conn: &mut DbConn) -> QueryResult<Option<CheckpointRow>> {
    audit_checkpoints::table
        .order(audit_checkpoints::id.desc())
        .select(CheckpointRow::as_select())
        .first(conn)
        .optional()
}

/// Checkpoints newest first, with the total.
pub fn list_checkpoints(
    conn: &mut DbConn,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<CheckpointRow>, i64)> {
    let total = audit_checkpoints::table.count().get_result(conn)?;
    let items = audit_checkpoints::table
        .order(audit_checkpoints::id.desc())
        .offset(offset)
        .limit(limit)
        .select(CheckpointRow::as_select())
        .load(conn)?;
    Ok((items, total))
}

/// What a case's digest covers: status, unit, deadlines, flags and the
/// public reply.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = complaints)]
pub struct CaseState {
    pub id: i64,
    pub status: String,
    pub responsible_unit_code: Option<String>,
    pub ack_due_at: Option<NaiveDateTime>,
    pub due_at: Option<NaiveDateTime>,
    pub acknowledged_at: Option<NaiveDateTime>,
    pub return_requested: bool,
    pub delivery_failed: bool,
    pub needs_confirmation: bool,
    pub extension_requested: bool,
    pub note_awaiting_approval: bool,
    pub duplicate_of: Option<String>,
    pub public_reply: Option<String>,
}

pub fn case_states(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<CaseState>> {
    complaints::table
        .filter(complaints::id.eq_any(ids))
        .select(CaseState::as_select())
        .load(conn)
}

/// Cases after id `after`, by id, up to `limit`.
pub fn case_states_page(conn: &mut DbConn, after: i64, limit: i64) -> QueryResult<Vec<CaseState>> {
    complaints::table
        .filter(complaints::id.gt(after))
        .order(complaints::id.asc())
        .limit(limit)
        .select(CaseState::as_select())
        .load(conn)
}

/// For cases with ids in `from..=to`: the digest of each one's latest
/// entry that carries one. One statement led by the index of case and
/// position; each case's latest position from its own few events (not a
/// list of positions looked up afterwards, which SQLite planned as a scan
/// of the table when its statistics were taken before the log was filled).
pub fn latest_digests(conn: &mut DbConn, from: i64, to: i64) -> QueryResult<Vec<(i64, String)>> {
    use diesel::sql_types::{BigInt, Text};
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        complaint_id: i64,
        #[diesel(sql_type = Text)]
        digest: String,
    }
    let rows: Vec<Row> = diesel::sql_query(super::placeholders(
        conn,
        "SELECT a.complaint_id AS complaint_id, a.record_digest AS digest FROM audit_events a \
         WHERE a.complaint_id BETWEEN $1 AND $2 AND a.record_digest IS NOT NULL \
           AND a.log_seq = (SELECT MAX(b.log_seq) FROM audit_events b \
             WHERE b.complaint_id = a.complaint_id AND b.record_digest IS NOT NULL)",
    ))
    .bind::<BigInt, _>(from)
    .bind::<BigInt, _>(to)
    .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| (r.complaint_id, r.digest))
        .collect())
}

/// Cases with ids in `from..=to` that have entries not in the log yet
/// (their state may be ahead of their last digest).
pub fn cases_with_unsequenced(conn: &mut DbConn, from: i64, to: i64) -> QueryResult<Vec<i64>> {
    let ids: Vec<Option<i64>> = audit_events::table
        .filter(audit_events::log_seq.is_null())
        .filter(audit_events::complaint_id.between(from, to))
        .select(audit_events::complaint_id)
        .distinct()
        .load(conn)?;
    Ok(ids.into_iter().flatten().collect())
}
