//! The intake "ceiling": the transactional database work of
//! `POST /api/v1/complaints`, done in-process with no HTTP, so the HTTP
//! benchmark (`bench/intake.sh`) has something to be compared with.
//!
//! ```text
//! DATABASE_URL=sqlite://bench/out/ceiling.db \
//!     cargo run --release --example ceiling -- --clients 32 --seconds 20
//! ```
//!
//! Run from the repository root (it reads `config/` and
//! `bench/complaint.json`). N OS threads each loop for S seconds: take a
//! pooled connection, call `submit_web` with the benchmark body. Prints one
//! JSON line: `{"ops", "seconds", "throughput", "p50_ms", "p99_ms", "errors"}`
//! where `ops` counts successful filings (status 201), `errors` the rest
//! (pool timeouts included), `throughput` is `ops / seconds` and the
//! latencies cover every attempt, from pool checkout to commit.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use duban::config::{AppEnv, Secrets, Settings};
use duban::domain::intake::submit_web;
use duban::startup::{build_state, prepare_database};
use duban::state::{AppState, Clock};

const BODY_FILE: &str = "bench/complaint.json";
/// At most this many error messages are printed (to stderr); the rest are counted.
const MAX_ERRORS_SHOWN: usize = 5;

struct Args {
    clients: u32,
    seconds: u64,
    /// A database URL given on the command line overrides `DATABASE_URL`.
    url: Option<String>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        clients: 32,
        seconds: 20,
        url: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--clients" | "-c" => {
                let v = it.next().context("--clients needs a value")?;
                args.clients = v.parse().with_context(|| format!("--clients {v:?}"))?;
            }
            "--seconds" | "-s" => {
                let v = it.next().context("--seconds needs a value")?;
                args.seconds = v.parse().with_context(|| format!("--seconds {v:?}"))?;
            }
            "-h" | "--help" => {
                println!("usage: ceiling [DATABASE_URL] [--clients N (32)] [--seconds S (20)]");
                std::process::exit(0);
            }
            other if !other.starts_with('-') && args.url.is_none() => {
                args.url = Some(other.to_owned())
            }
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }
    if args.clients == 0 || args.seconds == 0 {
        bail!("--clients and --seconds must be positive");
    }
    Ok(args)
}

/// What one client thread saw.
struct ThreadResult {
    ok: u64,
    errors: u64,
    latencies_us: Vec<u32>,
    messages: Vec<String>,
}

fn client(state: &AppState, body: &serde_json::Value, deadline: Instant) -> ThreadResult {
    let mut r = ThreadResult {
        ok: 0,
        errors: 0,
        latencies_us: Vec::with_capacity(1 << 14),
        messages: Vec::new(),
    };
    while Instant::now() < deadline {
        let t0 = Instant::now();
        // Same steps as the handler's `state.db(...)` closure, minus the
        // hop to the blocking pool: checkout, then the intake transaction.
        let outcome = match state.pool.get() {
            Ok(mut conn) => submit_web(&mut conn, &state.intake, body, None, chrono::Utc::now())
                .map_err(|e| format!("submit_web: {e} ({e:?})")),
            Err(e) => Err(format!("pool checkout: {e}")),
        };
        let us = t0.elapsed().as_micros().min(u32::MAX as u128) as u32;
        r.latencies_us.push(us);
        match outcome {
            Ok(o) if o.status == 201 => r.ok += 1,
            Ok(o) => {
                r.errors += 1;
                if r.messages.len() < MAX_ERRORS_SHOWN {
                    r.messages.push(format!("status {}: {}", o.status, o.body));
                }
            }
            Err(msg) => {
                r.errors += 1;
                if r.messages.len() < MAX_ERRORS_SHOWN {
                    r.messages.push(msg);
                }
            }
        }
    }
    r
}

/// Nearest-rank percentile of sorted microseconds, in milliseconds.
fn percentile_ms(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;

    // Settings, secrets, pool and state exactly as `duban serve` builds them
    // (development layering, environment variables included).
    let mut settings = Settings::load_from(Path::new("config"), AppEnv::Development, true)?;
    if let Some(url) = args.url.clone() {
        settings.database.url = url;
    }
    settings.database.pool_size = args.clients;
    duban::telemetry::init(settings.env); // same log filter (DUBAN_LOG) as the server
    let (jwt, pii) = Secrets::generate();
    let secrets = Secrets::from_parts(&jwt, &pii)?;
    let pool = prepare_database(&settings, Duration::from_secs(30))?;
    let state = Arc::new(build_state(settings, &secrets, pool, Clock::default())?);

    let text = std::fs::read_to_string(BODY_FILE)
        .with_context(|| format!("reading {BODY_FILE} (run from the repository root)"))?;
    let body: Arc<serde_json::Value> =
        Arc::new(serde_json::from_str(&text).context("parsing the body")?);

    let start = Instant::now();
    let deadline = start + Duration::from_secs(args.seconds);
    let handles: Vec<_> = (0..args.clients)
        .map(|_| {
            let (state, body) = (state.clone(), body.clone());
            std::thread::spawn(move || client(&state, &body, deadline))
        })
        .collect();
    let mut ok = 0u64;
    let mut errors = 0u64;
    let mut latencies = Vec::new();
    let mut messages = Vec::new();
    for h in handles {
        let r = h
            .join()
            .map_err(|_| anyhow::anyhow!("a client thread panicked"))?;
        ok += r.ok;
        errors += r.errors;
        latencies.extend(r.latencies_us);
        messages.extend(r.messages);
    }
    let seconds = start.elapsed().as_secs_f64();
    latencies.sort_unstable();

    for m in messages.iter().take(MAX_ERRORS_SHOWN) {
        eprintln!("ceiling: error: {m}");
    }
    let out = serde_json::json!({
        "ops": ok,
        "seconds": (seconds * 1000.0).round() / 1000.0,
        "throughput": ((ok as f64 / seconds) * 10.0).round() / 10.0,
        "p50_ms": percentile_ms(&latencies, 50.0),
        "p99_ms": percentile_ms(&latencies, 99.0),
        "errors": errors,
    });
    println!("{out}");
    Ok(())
}
