//! `audit_events`: append-only, one hash chain per case (and one for
//! administration). Rows are never updated or deleted by the service.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::audit_events;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    pub id: i64,
    pub chain: String,
    pub seq: i64,
    pub complaint_id: Option<i64>,
    pub actor_id: Option<i64>,
    pub actor_role: String,
    pub action: String,
    pub summary: String,
    pub public_note: Option<String>,
    pub created_at: NaiveDateTime,
    pub prev_hash: String,
    pub hash: String,
    /// What the responsible unit reads of this event; `None`: not shown to it.
    pub unit_note: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = audit_events)]
pub struct NewAuditEvent<'a> {
    pub chain: &'a str,
    pub seq: i64,
    pub complaint_id: Option<i64>,
    pub actor_id: Option<i64>,
    pub actor_role: &'a str,
    pub action: &'a str,
    pub summary: &'a str,
    pub public_note: Option<&'a str>,
    pub created_at: NaiveDateTime,
    pub prev_hash: &'a str,
    pub hash: &'a str,
    pub unit_note: Option<&'a str>,
}

pub fn insert(conn: &mut DbConn, e: &NewAuditEvent<'_>) -> QueryResult<()> {
    diesel::insert_into(audit_events::table)
        .values(e)
        .execute(conn)
        .map(|_| ())
}

pub fn for_complaint(conn: &mut DbConn, complaint_id: i64) -> QueryResult<Vec<AuditEvent>> {
    audit_events::table
        .filter(audit_events::complaint_id.eq(complaint_id))
        .order(audit_events::seq.asc())
        .select(AuditEvent::as_select())
        .load(conn)
}

/// The latest event with a public note of each of these cases: its time
/// and the note (the citizen's timeline's last entry).
pub fn latest_public(
    conn: &mut DbConn,
    complaint_ids: &[i64],
) -> QueryResult<std::collections::HashMap<i64, (NaiveDateTime, String)>> {
    let rows: Vec<(Option<i64>, NaiveDateTime, Option<String>)> = audit_events::table
        .filter(audit_events::complaint_id.eq_any(complaint_ids))
        .filter(audit_events::public_note.is_not_null())
        .order((audit_events::complaint_id, audit_events::seq.desc()))
        .select((
            audit_events::complaint_id,
            audit_events::created_at,
            audit_events::public_note,
        ))
        .load(conn)?;
    let mut out = std::collections::HashMap::new();
    for (id, at, note) in rows {
        if let (Some(id), Some(note)) = (id, note) {
            out.entry(id).or_insert((at, note));
        }
    }
    Ok(out)
}

/// What auditors search the trail by.
#[derive(Debug, Default, Clone)]
pub struct EventFilter {
    pub actor_id: Option<i64>,
    pub action: Option<String>,
    pub complaint_id: Option<i64>,
    pub chain: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
}

fn filtered<'a>(f: &'a EventFilter) -> audit_events::BoxedQuery<'a, super::MultiBackend> {
    let mut q = audit_events::table.into_boxed();
    if let Some(a) = f.actor_id {
        q = q.filter(audit_events::actor_id.eq(a));
    }
    if let Some(a) = &f.action {
        q = q.filter(audit_events::action.eq(a));
    }
    if let Some(c) = f.complaint_id {
        q = q.filter(audit_events::complaint_id.eq(c));
    }
    if let Some(c) = &f.chain {
        q = q.filter(audit_events::chain.eq(c));
    }
    if let Some(t) = f.from {
        q = q.filter(audit_events::created_at.ge(t));
    }
    if let Some(t) = f.to {
        q = q.filter(audit_events::created_at.lt(t));
    }
    q
}

/// Events matching `f`, newest first, with the total.
pub fn search(
    conn: &mut DbConn,
    f: &EventFilter,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<AuditEvent>, i64)> {
    let total = filtered(f).count().get_result(conn)?;
    let items = filtered(f)
        .order(audit_events::id.desc())
        .offset(offset)
        .limit(limit)
        .select(AuditEvent::as_select())
        .load(conn)?;
    Ok((items, total))
}

/// A part of the trail to verify (`GET /audit/verify?chain=&from=&to=`):
/// one chain, the entries written in a period, or both. The default is all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Part {
    /// `case:<tracking no>` or `admin`.
    pub chain: Option<String>,
    /// The case of a case chain (its letters and score events belong to it).
    pub complaint_id: Option<i64>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
}

impl Part {
    pub fn is_whole(&self) -> bool {
        self.chain.is_none() && self.from.is_none() && self.to.is_none()
    }
}

/// Events of `part` in chain order after `after` (chain, seq), up to `limit`.
pub fn page_in_chain_order(
    conn: &mut DbConn,
    part: &Part,
    after: Option<(&str, i64)>,
    limit: i64,
) -> QueryResult<Vec<AuditEvent>> {
    use diesel::dsl::sql;
    use diesel::sql_types::{BigInt, Bool, Text};
    let mut q = audit_events::table.into_boxed();
    if let Some((chain, seq)) = after {
        // A row-value comparison, which both backends answer from the
        // (chain, seq) index; the equivalent OR of two conditions makes
        // PostgreSQL scan the table for every page.
        q = q.filter(
            sql::<Bool>("(chain, seq) > (")
                .bind::<Text, _>(chain.to_owned())
                .sql(", ")
                .bind::<BigInt, _>(seq)
                .sql(")"),
        );
    }
    if let Some(chain) = &part.chain {
        q = q.filter(audit_events::chain.eq(chain.clone()));
    }
    if let Some(from) = part.from {
        q = q.filter(audit_events::created_at.ge(from));
    }
    if let Some(to) = part.to {
        q = q.filter(audit_events::created_at.lt(to));
    }
    q.order((audit_events::chain.asc(), audit_events::seq.asc()))
        .limit(limit)
        .select(AuditEvent::as_select())
        .load(conn)
}

/// The hash of event `seq` of `chain`, if there is one.
pub fn hash_at(conn: &mut DbConn, chain: &str, seq: i64) -> QueryResult<Option<String>> {
    audit_events::table
        .filter(audit_events::chain.eq(chain))
        .filter(audit_events::seq.eq(seq))
        .select(audit_events::hash)
        .first(conn)
        .optional()
}

/// Whether any event is on `chain`.
pub fn chain_exists(conn: &mut DbConn, chain: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        audit_events::table.filter(audit_events::chain.eq(chain)),
    ))
    .get_result(conn)
}

/// The last event (seq, hash) of each of these chains that has one: the
/// highest seq per chain, then those rows (two indexed reads, whatever the
/// chains' length).
pub fn chain_heads(
    conn: &mut DbConn,
    chains: &[String],
) -> QueryResult<std::collections::HashMap<String, (i64, String)>> {
    use diesel::dsl::max;
    let last: Vec<(String, Option<i64>)> = audit_events::table
        .filter(audit_events::chain.eq_any(chains))
        .group_by(audit_events::chain)
        .select((audit_events::chain, max(audit_events::seq)))
        .load(conn)?;
    let wanted: std::collections::HashMap<String, i64> = last
        .into_iter()
        .filter_map(|(c, s)| s.map(|s| (c, s)))
        .collect();
    let seqs: Vec<i64> = wanted.values().copied().collect();
    let rows: Vec<(String, i64, String)> = audit_events::table
        .filter(audit_events::chain.eq_any(chains))
        .filter(audit_events::seq.eq_any(seqs))
        .select((audit_events::chain, audit_events::seq, audit_events::hash))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|(c, s, _)| wanted.get(c) == Some(s))
        .map(|(c, s, h)| (c, (s, h)))
        .collect())
}

/// Inside the caller's transaction: on PostgreSQL, takes the chains'
/// transaction-scoped advisory locks together, in sorted order so that two
/// appenders cannot deadlock; SQLite write transactions are serial already.
pub fn lock_chains(conn: &mut DbConn, chains: &[String]) -> QueryResult<()> {
    if let DbConn::Pg(pg) = conn {
        diesel::sql_query(
            "SELECT pg_advisory_xact_lock(hashtextextended(c, 0)) \
             FROM (SELECT c FROM unnest($1::text[]) AS c ORDER BY c) AS sorted",
        )
        .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(chains)
        .execute(pg)?;
    }
    Ok(())
}

/// Inserts several events: one statement on PostgreSQL, one per row on
/// SQLite (in-process, where a statement costs next to nothing).
pub fn insert_many(conn: &mut DbConn, events: &[NewAuditEvent<'_>]) -> QueryResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    match conn {
        DbConn::Pg(pg) => diesel::insert_into(audit_events::table)
            .values(events)
            .execute(pg)
            .map(|_| ()),
        DbConn::Sqlite(_) => events.iter().try_for_each(|e| insert(conn, e)),
    }
}
