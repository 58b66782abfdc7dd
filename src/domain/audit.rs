//! The audit trail: every change appends an event whose hash covers the
//! previous event of the same chain (one chain per case, `admin` for
//! accounts), so an edited or deleted row breaks the chain visibly.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::auth::Actor;
use crate::db::audit::{self as rows, AuditEvent, NewAuditEvent};
use crate::db::{self, DbConn};
use crate::domain::privacy::sha256_hex;

/// The `prev_hash` of the first event of every chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
pub const ADMIN_CHAIN: &str = "admin";

/// Findings listed in a report; the rest are counted.
pub const MAX_FINDINGS: usize = 100;

pub fn case_chain(tracking_no: &str) -> String {
    format!("case:{tracking_no}")
}

/// Who did it, as the audit trail records it (no names, no identity).
#[derive(Clone, Debug)]
pub struct AuditActor {
    pub id: Option<i64>,
    pub role: String,
}

impl AuditActor {
    pub fn public() -> Self {
        Self {
            id: None,
            role: "public".into(),
        }
    }
    pub fn system() -> Self {
        Self {
            id: None,
            role: "system".into(),
        }
    }
}

impl From<&Actor> for AuditActor {
    fn from(a: &Actor) -> Self {
        Self {
            id: Some(a.user_id),
            role: a.role.as_str().into(),
        }
    }
}

/// One event to append.
pub struct Entry<'a> {
    pub chain: &'a str,
    pub complaint_id: Option<i64>,
    pub actor: &'a AuditActor,
    pub action: &'a str,
    /// Non-identifying summary: codes, statuses, counts; never names or text.
    pub summary: &'a str,
    /// Shown on the citizen's public timeline when set.
    pub public_note: Option<&'a str>,
    /// What the responsible unit reads of this event, written for it; `None`
    /// keeps the event off the unit's timeline (docs/architecture.md, "The
    /// unit's view").
    pub unit_note: Option<&'a str>,
}

/// What an event says to each of its readers: the office always; the
/// responsible unit only what was done to the case and when, written for it
/// (never intake details, anonymity, routing reasons, merges or identity
/// reads); the citizen on the public timeline.
#[derive(Clone, Debug, Default)]
pub struct Words {
    pub staff: String,
    pub unit: Option<String>,
    pub public: Option<String>,
}

impl Words {
    pub fn new(staff: impl Into<String>) -> Self {
        Self {
            staff: staff.into(),
            ..Self::default()
        }
    }

    /// The line on the unit's timeline.
    pub fn to_unit(mut self, text: impl Into<String>) -> Self {
        self.unit = Some(text.into());
        self
    }

    /// The line on the citizen's public timeline.
    pub fn to_public(mut self, text: impl Into<String>) -> Self {
        self.public = Some(text.into());
        self
    }
}

/// Appends an event to a case's chain with its words for each reader.
pub fn record_case(
    conn: &mut DbConn,
    complaint_id: i64,
    tracking_no: &str,
    actor: &AuditActor,
    action: &str,
    words: &Words,
    now: DateTime<Utc>,
) -> db::QueryResult<()> {
    append(
        conn,
        &Entry {
            chain: &case_chain(tracking_no),
            complaint_id: Some(complaint_id),
            actor,
            action,
            summary: &words.staff,
            public_note: words.public.as_deref(),
            unit_note: words.unit.as_deref(),
        },
        now,
    )
}

fn event_hash(prev: &str, chain: &str, seq: i64, e: &Entry<'_>, at: &str) -> String {
    let complaint = e.complaint_id.map(|i| i.to_string()).unwrap_or_default();
    let actor = e.actor.id.map(|i| i.to_string()).unwrap_or_default();
    let seq = seq.to_string();
    let fields: [&str; 10] = [
        prev,
        chain,
        &seq,
        &complaint,
        &actor,
        &e.actor.role,
        e.action,
        e.summary,
        e.public_note.unwrap_or("\u{0}"),
        at,
    ];
    let mut parts: Vec<&[u8]> = Vec::with_capacity(24);
    for f in &fields {
        parts.push(f.as_bytes());
        parts.push(b"\x1f");
    }
    // Appended only when present, so events written before units had notes
    // keep their hashes.
    if let Some(note) = e.unit_note {
        parts.extend_from_slice(&[b"unit".as_slice(), b"\x1f", note.as_bytes(), b"\x1f"]);
    }
    sha256_hex(&parts)
}

fn timestamp_text(t: chrono::NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Appends an event. Call inside the transaction of the change it records.
/// On PostgreSQL a transaction-scoped advisory lock on the chain serialises
/// appenders; SQLite write transactions are serial already.
pub fn append(conn: &mut DbConn, e: &Entry<'_>, now: DateTime<Utc>) -> db::QueryResult<()> {
    append_many(conn, std::slice::from_ref(e), now)
}

/// Appends several events, in order (events of one chain follow each other
/// in the order given), with a few statements whatever their number. On
/// PostgreSQL the chains' advisory locks are taken together, in sorted
/// order so that two such callers cannot deadlock.
pub fn append_many(
    conn: &mut DbConn,
    entries: &[Entry<'_>],
    now: DateTime<Utc>,
) -> db::QueryResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut chains: Vec<String> = entries.iter().map(|e| e.chain.to_owned()).collect();
    chains.sort();
    chains.dedup();
    rows::lock_chains(conn, &chains)?;
    let mut heads = rows::chain_heads(conn, &chains)?;
    let at = db::to_db(now);
    let stamp = timestamp_text(at);
    let mut links: Vec<(i64, String, String)> = Vec::with_capacity(entries.len());
    for e in entries {
        let (seq, prev) = match heads.get(e.chain) {
            Some((seq, hash)) => (seq + 1, hash.clone()),
            None => (1, GENESIS.to_owned()),
        };
        let hash = event_hash(&prev, e.chain, seq, e, &stamp);
        heads.insert(e.chain.to_owned(), (seq, hash.clone()));
        links.push((seq, prev, hash));
    }
    let rows_to_insert: Vec<NewAuditEvent<'_>> = entries
        .iter()
        .zip(&links)
        .map(|(e, (seq, prev, hash))| NewAuditEvent {
            chain: e.chain,
            seq: *seq,
            complaint_id: e.complaint_id,
            actor_id: e.actor.id,
            actor_role: &e.actor.role,
            action: e.action,
            summary: e.summary,
            public_note: e.public_note,
            created_at: at,
            prev_hash: prev,
            hash,
            unit_note: e.unit_note,
        })
        .collect();
    rows::insert_many(conn, &rows_to_insert)
}

/// The first problem found in one chain.
#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct BrokenLink {
    pub chain: String,
    pub seq: i64,
    pub event_id: i64,
    pub problem: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VerifyReport {
    pub ok: bool,
    pub chains: u64,
    pub events: u64,
    /// The first broken link of the whole trail, if any.
    pub first_broken: Option<BrokenLink>,
    /// The first broken link of each broken chain (the first 100 chains).
    pub broken: Vec<BrokenLink>,
    /// Broken chains, all of them.
    pub broken_total: u64,
}

/// Recomputes every chain (or those events of `part`), page by page, and
/// names the first broken link of each (ordered by chain; the first 100,
/// and how many). A part's first event in a chain is held against the
/// event before it, wherever that lies. `progress` hears the events
/// walked after every page.
pub fn verify(
    conn: &mut DbConn,
    part: &rows::Part,
    progress: &mut dyn FnMut(u64),
) -> db::QueryResult<VerifyReport> {
    const PAGE: i64 = 5_000;
    let mut report = VerifyReport {
        ok: true,
        chains: 0,
        events: 0,
        first_broken: None,
        broken: Vec::new(),
        broken_total: 0,
    };
    let mut cursor: Option<(String, i64)> = None;
    // State of the chain being walked: name, expected seq, previous hash, broken?
    let mut current: Option<(String, i64, String, bool)> = None;
    loop {
        let page: Vec<AuditEvent> = rows::page_in_chain_order(
            conn,
            part,
            cursor.as_ref().map(|(c, s)| (c.as_str(), *s)),
            PAGE,
        )?;
        let Some(last) = page.last() else { break };
        cursor = Some((last.chain.clone(), last.seq));
        for ev in &page {
            report.events += 1;
            let starts_chain = current.as_ref().is_none_or(|(name, ..)| *name != ev.chain);
            if starts_chain {
                report.chains += 1;
                // Walking all of a chain starts at its genesis; a part
                // starts at the link before its first event.
                let (seq, before) = if part.is_whole() || ev.seq <= 1 {
                    (1, Some(GENESIS.to_owned()))
                } else {
                    (ev.seq, rows::hash_at(conn, &ev.chain, ev.seq - 1)?)
                };
                current = Some(match before {
                    Some(hash) => (ev.chain.clone(), seq, hash, false),
                    // The event before is gone: expect it, so the link is
                    // named broken.
                    None => (ev.chain.clone(), ev.seq - 1, String::new(), false),
                });
            }
            let (_, expected_seq, prev_hash, broken) = current.as_mut().expect("set above");
            if !*broken {
                let problem = check_event(ev, *expected_seq, prev_hash);
                if let Some(problem) = problem {
                    *broken = true;
                    let link = BrokenLink {
                        chain: ev.chain.clone(),
                        seq: ev.seq,
                        event_id: ev.id,
                        problem,
                    };
                    if report
                        .first_broken
                        .as_ref()
                        .is_none_or(|f| f.event_id > link.event_id)
                    {
                        report.first_broken = Some(link.clone());
                    }
                    report.broken_total += 1;
                    if report.broken.len() < MAX_FINDINGS {
                        report.broken.push(link);
                    }
                }
            }
            *expected_seq = ev.seq + 1;
            *prev_hash = ev.hash.clone();
        }
        progress(report.events);
    }
    report.ok = report.broken_total == 0;
    Ok(report)
}

fn check_event(ev: &AuditEvent, expected_seq: i64, prev_hash: &str) -> Option<String> {
    if ev.seq != expected_seq {
        return Some(format!(
            "expected seq {expected_seq}, found {}: an event is missing",
            ev.seq
        ));
    }
    if ev.prev_hash != prev_hash {
        return Some("prev_hash does not match the previous event".into());
    }
    (chain_hash(ev) != ev.hash)
        .then(|| "content does not match its hash: the event was altered".into())
}

/// The chain hash a stored event should carry: plain SHA-256 over its
/// fields and the previous hash. Anyone can recompute it, which is why the
/// audit log's MACs and checkpoints stand behind it (docs/architecture.md,
/// "The audit log").
pub fn chain_hash(ev: &AuditEvent) -> String {
    let actor = AuditActor {
        id: ev.actor_id,
        role: ev.actor_role.clone(),
    };
    let entry = Entry {
        chain: &ev.chain,
        complaint_id: ev.complaint_id,
        actor: &actor,
        action: &ev.action,
        summary: &ev.summary,
        public_note: ev.public_note.as_deref(),
        unit_note: ev.unit_note.as_deref(),
    };
    event_hash(
        &ev.prev_hash,
        &ev.chain,
        ev.seq,
        &entry,
        &timestamp_text(ev.created_at),
    )
}

/// One event of the audit trail as auditors search it: who (by account)
/// did what, when, to which record.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventView {
    pub id: i64,
    pub chain: String,
    pub seq: i64,
    pub tracking_no: Option<String>,
    pub at: DateTime<Utc>,
    pub at_local: String,
    pub action: String,
    pub actor_role: String,
    pub actor_id: Option<i64>,
    pub actor_username: Option<String>,
    pub summary: String,
}

/// `GET /audit/events` (auditor, admin): the trail searched by actor,
/// action, case and date, newest first.
pub fn search(
    conn: &mut DbConn,
    actor: &Actor,
    filter: &rows::EventFilter,
    page: i64,
    per_page: i64,
    tz: chrono_tz::Tz,
) -> crate::error::AppResult<(Vec<EventView>, i64)> {
    use crate::auth::policy::{self, Action};
    policy::require(actor, Action::ReadAuditActors)?;
    let (offset, limit) = db::page_window(page, per_page);
    let (events, total) = rows::search(conn, filter, offset, limit)?;
    let actors: Vec<i64> = events.iter().filter_map(|e| e.actor_id).collect();
    let names: std::collections::HashMap<i64, String> =
        db::users::usernames(conn, &actors)?.into_iter().collect();
    let cases: Vec<i64> = events.iter().filter_map(|e| e.complaint_id).collect();
    let numbers: std::collections::HashMap<i64, String> =
        db::complaints::tracking_numbers(conn, &cases)?
            .into_iter()
            .collect();
    Ok((
        events
            .into_iter()
            .map(|e| {
                let at = db::from_db(e.created_at);
                EventView {
                    id: e.id,
                    tracking_no: e.complaint_id.and_then(|c| numbers.get(&c).cloned()),
                    at_local: crate::domain::labels::local_minute(at, tz),
                    at,
                    actor_username: e.actor_id.and_then(|a| names.get(&a).cloned()),
                    chain: e.chain,
                    seq: e.seq,
                    action: e.action,
                    actor_role: e.actor_role,
                    actor_id: e.actor_id,
                    summary: e.summary,
                }
            })
            .collect(),
        total,
    ))
}
