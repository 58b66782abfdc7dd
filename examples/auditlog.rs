//! `bench/audit.sh`'s driver (release build): the audit log's costs on the
//! database of `DATABASE_URL`.
//!
//!   auditlog seed N    N entries in ten tenths: one case (a complaint row
//!                      and its `received` event) per ten events, appended by
//!                      the service's own `append_many`, then sequenced;
//!                      prints a JSON line per tenth, then the checkpoints'
//!   auditlog floor     reads every entry in log order, checking nothing
//!   auditlog verify    `verify_all` (what `duban audit verify` runs)
//!
//! Each mode prints one JSON object a line; `verify` and `floor` end with
//! their peak resident memory (VmHWM).

use std::time::{Duration, Instant};

use anyhow::Context;
use duban::config::{Secrets, Settings};
use duban::db::{self, DbConn};
use duban::domain::audit::{self, AuditActor, Entry};
use duban::domain::audit_log;
use duban::domain::merkle::AuditKeys;
use serde_json::json;

const BATCH: usize = 1000;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let settings = Settings::load()?;
    duban::telemetry::init_to(settings.env, "warn", duban::telemetry::LogOutput::Stderr);
    let secrets = Secrets::load(&settings)?;
    let keys = AuditKeys::from_seed(&secrets.audit_seed);
    let pool = duban::startup::prepare_database(&settings, Duration::from_secs(30))?;
    let mut conn = pool.get()?;
    let conn: &mut DbConn = &mut conn;
    match args.first().map(String::as_str) {
        Some("seed") => {
            let n: usize = args.get(1).context("auditlog seed N")?.parse()?;
            seed(conn, &keys, n)
        }
        Some("floor") => floor(conn),
        Some("verify") => {
            let t = Instant::now();
            let report = audit_log::verify_all(conn, &keys, &[], chrono::Utc::now(), &mut |_| {})
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "{}",
                json!({
                    "mode": "verify",
                    "seconds": t.elapsed().as_secs_f64(),
                    "entries": report.log.entries,
                    "ok": report.ok,
                    "findings": report.log.findings_total,
                    "kinds": report.log.findings.iter().map(|f| f.kind).collect::<std::collections::BTreeSet<_>>(),
                    "peak_rss_mib": peak_rss_mib(),
                })
            );
            Ok(())
        }
        _ => anyhow::bail!("usage: auditlog seed N | floor | verify"),
    }
}

fn seed(conn: &mut DbConn, keys: &AuditKeys, n: usize) -> anyhow::Result<()> {
    let actor = AuditActor::system();
    let tenth = (n / 10).max(BATCH);
    let mut made = 0usize;
    let mut case = 0usize;
    let mut cases: Vec<(i64, String)> = Vec::new();
    for part in 1..=10 {
        let t = Instant::now();
        let goal = (made + tenth).min(n);
        while made < goal {
            let now = chrono::Utc::now();
            let at = db::to_db(now);
            let size = BATCH.min(goal - made);
            db::write_tx(conn, |c| -> anyhow::Result<()> {
                // One new case per ten entries; the rest are reads of cases.
                let mut entries = Vec::with_capacity(size);
                let mut chains = Vec::with_capacity(size);
                for i in 0..size {
                    if (made + i).is_multiple_of(10) {
                        case += 1;
                        let no = format!("BA{case:012}");
                        let id = db::complaints::insert(
                            c,
                            &db::complaints::NewComplaint {
                                tracking_no: &no,
                                query_code_hash: "x",
                                channel: "web",
                                status: "received",
                                title: "基准",
                                content: "审计日志基准",
                                category_code: None,
                                subject_unit_code: None,
                                subject_person: None,
                                township: None,
                                occurred_on: None,
                                anonymous: true,
                                received_at: at,
                                created_at: at,
                                updated_at: at,
                            },
                        )?;
                        cases.push((id, no));
                    }
                    // A new case's own `received` first; otherwise one of the
                    // fifty newest cases.
                    let back = if (made + i).is_multiple_of(10) {
                        0
                    } else {
                        (made + i) % cases.len().min(50)
                    };
                    let (id, no) = &cases[cases.len() - 1 - back];
                    chains.push((Some(*id), audit::case_chain(no)));
                }
                for (i, (id, chain)) in chains.iter().enumerate() {
                    entries.push(Entry {
                        chain,
                        complaint_id: *id,
                        actor: &actor,
                        action: if (made + i).is_multiple_of(10) {
                            "received"
                        } else {
                            "identity_viewed"
                        },
                        summary: "基准记录",
                        public_note: None,
                        unit_note: None,
                    });
                }
                audit::append_many(c, &entries, now)?;
                Ok(())
            })?;
            made += size;
        }
        let appended = t.elapsed();
        let t = Instant::now();
        let placed = audit_log::sequence(conn, keys, chrono::Utc::now())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let sequenced = t.elapsed();
        let count = tenth.min(n) as f64;
        println!(
            "{}",
            json!({
                "mode": "seed",
                "tenth": part,
                "entries": placed.tree_size,
                "append_us_per_entry": appended.as_secs_f64() * 1e6 / count,
                "sequence_us_per_entry": sequenced.as_secs_f64() * 1e6 / placed.added.max(1) as f64,
            })
        );
        if made >= n {
            break;
        }
    }
    let out = audit_log::CheckpointOut::default();
    let mut times = Vec::new();
    for _ in 0..5 {
        // Each signs the same head again: the cost of a checkpoint itself.
        let t = Instant::now();
        audit_log::checkpoint(conn, keys, &out, chrono::Utc::now(), None)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{}",
        json!({"mode": "checkpoint", "median_ms": times[2], "max_ms": times[4]})
    );
    Ok(())
}

/// The floor under verification: every entry read in log order, nothing checked.
fn floor(conn: &mut DbConn) -> anyhow::Result<()> {
    let t = Instant::now();
    let mut cursors = (0i64, 0i64, 0i64);
    let mut rows = 0u64;
    db::read_snapshot(conn, |c| -> anyhow::Result<()> {
        loop {
            let (e, s, l) = db::audit_log::page_from(c, cursors, 5000)?;
            if e.is_empty() && s.is_empty() && l.is_empty() {
                return Ok(());
            }
            rows += (e.len() + s.len() + l.len()) as u64;
            cursors.0 = e.last().and_then(|x| x.log_seq).unwrap_or(cursors.0);
            cursors.1 = s.last().and_then(|x| x.log_seq).unwrap_or(cursors.1);
            cursors.2 = l.last().and_then(|x| x.log_seq).unwrap_or(cursors.2);
        }
    })?;
    println!(
        "{}",
        json!({"mode": "floor", "seconds": t.elapsed().as_secs_f64(), "rows": rows, "peak_rss_mib": peak_rss_mib()})
    );
    Ok(())
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}
