//! The "ceilings" of the HTTP benchmarks: the database work of
//! `POST /api/v1/complaints` (`--op intake`, for `bench/intake.sh`), of
//! `POST /api/v1/track` (`--op track`, for `bench/tracking.sh`), of
//! `GET /api/v1/queue` (`--op queue`) or of `GET /api/v1/callers/{phone}`
//! (`--op caller`, both for `bench/queue.sh`), done in-process with no HTTP,
//! so the HTTP figures have something to be compared with.
//!
//! ```text
//! DATABASE_URL=sqlite://bench/out/ceiling.db \
//!     cargo run --release --example ceiling -- --clients 32 --seconds 20 \
//!     [--mode direct|group] [--op intake|track|queue|caller] [--cases N] \
//!     [--user NAME] [--phone NUMBER]
//! ```
//!
//! Run from the repository root (it reads `config/` and
//! `bench/complaint.json`). Two modes:
//!
//! - `direct` (default): N OS threads each loop for S seconds: take a pooled
//!   connection, call `submit_web` with the benchmark body (one transaction,
//!   one commit, per filing) or `tracking::track` with one receipt.
//! - `group`: N concurrent tasks on an actix runtime each loop the call the
//!   handler makes: `AppState::db_write(submit_web …)`, so the filings go
//!   through the group-commit writer when the state has one, or
//!   `AppState::db(tracking::track …)`.
//!
//! With `--op track`, `--cases` filings (default 2000) are made first and
//! the last one's tracking number and query code are looked up, as the HTTP
//! benchmark does. `--op queue` and `--op caller` read the database as it is
//! (bench/queue.sh seeds it) as the staff account `--user` (a supervisor for
//! the queue, an operator for the look-up of `--phone`); the phone hash is
//! keyed, so the keys must be the server's (`DUBAN_PII_KEY` and the others in
//! the environment, as `Secrets::load` reads them).
//!
//! Prints one JSON line:
//! `{"ops", "seconds", "throughput", "p50_ms", "p99_ms", "errors", "mode"}`
//! where `ops` counts successes (201 filed, 200 found), `errors` the rest
//! (pool timeouts included), `throughput` is `ops / seconds` and the
//! latencies cover every attempt, from pool checkout (or job hand-off) to
//! the answer.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use duban::auth::Actor;
use duban::auth::policy::Role;
use duban::config::{AppEnv, Secrets, Settings};
use duban::db::DbConn;
use duban::domain::command::{Source, parse};
use duban::domain::commands::CreateComplaint;
use duban::domain::intake::submit_web;
use duban::domain::{callers, queue, tracking};
use duban::startup::{build_state, prepare_database};
use duban::state::{AppState, Clock};

const BODY_FILE: &str = "bench/complaint.json";
/// At most this many error messages are printed (to stderr); the rest are counted.
const MAX_ERRORS_SHOWN: usize = 5;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Direct,
    Group,
}

/// The work measured.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    /// A web filing, as `POST /api/v1/complaints`.
    Intake,
    /// A public look-up, as `POST /api/v1/track`.
    Track,
    /// The supervisor's queue, as `GET /api/v1/queue`.
    Queue,
    /// The operator's caller look-up, as `GET /api/v1/callers/{phone}`.
    Caller,
}

struct Args {
    clients: u32,
    seconds: u64,
    mode: Mode,
    op: Op,
    /// Filings made before a tracking run.
    cases: u32,
    /// The staff account of `--op queue` and `--op caller`.
    user: Option<String>,
    /// The number `--op caller` looks up.
    phone: Option<String>,
    /// A database URL given on the command line overrides `DATABASE_URL`.
    url: Option<String>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        clients: 32,
        seconds: 20,
        mode: Mode::Direct,
        op: Op::Intake,
        cases: 2000,
        user: None,
        phone: None,
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
            "--mode" | "-m" => {
                args.mode = match it.next().as_deref() {
                    Some("direct") => Mode::Direct,
                    Some("group") => Mode::Group,
                    other => bail!("--mode must be direct or group, not {other:?}"),
                };
            }
            "--op" => {
                args.op = match it.next().as_deref() {
                    Some("intake") => Op::Intake,
                    Some("track") => Op::Track,
                    Some("queue") => Op::Queue,
                    Some("caller") => Op::Caller,
                    other => bail!("--op must be intake, track, queue or caller, not {other:?}"),
                };
            }
            "--user" => args.user = Some(it.next().context("--user needs a value")?),
            "--phone" => args.phone = Some(it.next().context("--phone needs a value")?),
            "--cases" => {
                let v = it.next().context("--cases needs a value")?;
                args.cases = v.parse().with_context(|| format!("--cases {v:?}"))?;
            }
            "-h" | "--help" => {
                println!(
                    "usage: ceiling [DATABASE_URL] [--clients N (32)] [--seconds S (20)] [--mode direct|group (direct)] [--op intake|track|queue|caller (intake)] [--cases N (2000)] [--user NAME] [--phone NUMBER]"
                );
                std::process::exit(0);
            }
            other if !other.starts_with('-') && args.url.is_none() => {
                args.url = Some(other.to_owned())
            }
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }
    if args.clients == 0 || args.seconds == 0 || args.cases == 0 {
        bail!("--clients, --seconds and --cases must be positive");
    }
    if matches!(args.op, Op::Queue | Op::Caller) && args.user.is_none() {
        bail!("--op queue and --op caller need --user");
    }
    if args.op == Op::Caller && args.phone.is_none() {
        bail!("--op caller needs --phone");
    }
    Ok(args)
}

/// What one client saw.
struct ClientResult {
    ok: u64,
    errors: u64,
    latencies_us: Vec<u32>,
    messages: Vec<String>,
}

impl ClientResult {
    fn new() -> Self {
        Self {
            ok: 0,
            errors: 0,
            latencies_us: Vec::with_capacity(1 << 14),
            messages: Vec::new(),
        }
    }

    /// One attempt: `Ok(())` a success, `Err` what went wrong.
    fn record(&mut self, started: Instant, outcome: Result<(), String>) {
        let us = started.elapsed().as_micros().min(u32::MAX as u128) as u32;
        self.latencies_us.push(us);
        let problem = match outcome {
            Ok(()) => {
                self.ok += 1;
                return;
            }
            Err(msg) => msg,
        };
        self.errors += 1;
        if self.messages.len() < MAX_ERRORS_SHOWN {
            self.messages.push(problem);
        }
    }
}

/// The work of one attempt.
#[derive(Clone)]
enum Work {
    /// File the benchmark body.
    Intake(Arc<serde_json::Value>),
    /// Look up one receipt.
    Track {
        tracking_no: Arc<str>,
        query_code: Arc<str>,
    },
    /// Read the queue as this supervisor, five cases a bucket (the API's default).
    Queue(Arc<Actor>),
    /// Look this number up as this operator.
    Caller(Arc<Actor>, Arc<str>),
}

/// The address every in-process call comes from.
const CLIENT: &str = "127.0.0.1";

/// What `POST /api/v1/complaints` does once its body is read: the parse
/// step, then the filing.
fn file(
    state: &AppState,
    conn: &mut DbConn,
    body: &serde_json::Value,
    now: chrono::DateTime<chrono::Utc>,
) -> duban::error::AppResult<duban::domain::idempotency::Outcome> {
    let cmd = parse::<CreateComplaint>(body, Source::Json, &state.context(now))?;
    submit_web(conn, &state.intake, cmd, CLIENT, None, now)
}

impl Work {
    /// The handler's closure, minus the hop to the blocking pool.
    fn run(&self, state: &AppState, conn: &mut DbConn) -> Result<(), String> {
        let now = chrono::Utc::now();
        match self {
            Work::Intake(body) => match file(state, conn, body, now) {
                Ok(o) if o.status == 201 => Ok(()),
                Ok(o) => Err(format!("status {}: {}", o.status, o.body)),
                Err(e) => Err(format!("submit_web: {e} ({e:?})")),
            },
            Work::Track {
                tracking_no,
                query_code,
            } => {
                let asked = tracking::Asked {
                    client: CLIENT,
                    tracking_no,
                    query_code,
                };
                tracking::track(conn, &state.intake, &state.tracking, &asked, now)
                    .and_then(|p| p.outcome)
                    .map(drop)
                    .map_err(|e| format!("track: {e} ({e:?})"))
            }
            Work::Queue(actor) => queue::read(conn, actor, 5, &state.reading(now))
                .map(drop)
                .map_err(|e| format!("queue: {e} ({e:?})")),
            Work::Caller(actor, phone) => callers::look_up(conn, &state.intake, actor, phone, now)
                .map(drop)
                .map_err(|e| format!("caller: {e} ({e:?})")),
        }
    }
}

/// `direct`: one OS thread per client, each on a pooled connection of its
/// own (one transaction per filing).
fn run_direct(
    state: Arc<AppState>,
    work: Work,
    clients: u32,
    deadline: Instant,
) -> anyhow::Result<Vec<ClientResult>> {
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            let (state, work) = (state.clone(), work.clone());
            std::thread::spawn(move || {
                let mut r = ClientResult::new();
                while Instant::now() < deadline {
                    let t0 = Instant::now();
                    let outcome = match state.pool.get() {
                        Ok(mut conn) => work.run(&state, &mut conn),
                        Err(e) => Err(format!("pool checkout: {e}")),
                    };
                    r.record(t0, outcome);
                }
                r
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| {
            h.join()
                .map_err(|_| anyhow::anyhow!("a client thread panicked"))
        })
        .collect()
}

/// `group`: one task per client on an actix runtime (as in the server),
/// each through the handler's own call: `AppState::db_write` for a filing,
/// `AppState::db` for a look-up.
fn run_group(
    state: Arc<AppState>,
    work: Work,
    clients: u32,
    deadline: Instant,
) -> anyhow::Result<Vec<ClientResult>> {
    actix_web::rt::System::new().block_on(async move {
        let tasks: Vec<_> = (0..clients)
            .map(|_| {
                let (state, work) = (state.clone(), work.clone());
                actix_web::rt::spawn(async move {
                    let mut r = ClientResult::new();
                    while Instant::now() < deadline {
                        let t0 = Instant::now();
                        let (st, w) = (state.clone(), work.clone());
                        let job = move |c: &mut DbConn| Ok(w.run(&st, c));
                        let answer = match work {
                            Work::Intake(_) => state.db_write(job).await,
                            _ => state.db(job).await,
                        };
                        let outcome = answer
                            .map_err(|e| format!("hand-off: {e} ({e:?})"))
                            .and_then(|r| r);
                        r.record(t0, outcome);
                    }
                    r
                })
            })
            .collect();
        let mut results = Vec::with_capacity(tasks.len());
        for t in tasks {
            results.push(
                t.await
                    .map_err(|_| anyhow::anyhow!("a client task panicked"))?,
            );
        }
        Ok(results)
    })
}

/// Files `cases` complaints and returns the last one's receipt, to be
/// looked up.
fn seed_cases(state: &AppState, body: &serde_json::Value, cases: u32) -> anyhow::Result<Work> {
    let mut conn = state.pool.get()?;
    let mut receipt = None;
    for _ in 0..cases {
        let o = file(state, &mut conn, body, chrono::Utc::now())
            .map_err(|e| anyhow::anyhow!("seeding: {e}"))?;
        if o.status != 201 {
            bail!("seeding: status {}: {}", o.status, o.body);
        }
        receipt = Some(o.body);
    }
    let receipt = receipt.context("no case filed")?;
    let field = |k: &str| -> anyhow::Result<Arc<str>> {
        Ok(receipt[k]
            .as_str()
            .with_context(|| format!("receipt without {k}"))?
            .into())
    };
    Ok(Work::Track {
        tracking_no: field("tracking_no")?,
        query_code: field("query_code")?,
    })
}

/// The account `username` as the request's actor.
fn staff_actor(state: &AppState, username: &str) -> anyhow::Result<Arc<Actor>> {
    let mut conn = state.pool.get()?;
    let user = duban::db::users::by_username(&mut conn, username)?
        .with_context(|| format!("no account {username:?}"))?;
    let role = Role::parse(&user.role).with_context(|| format!("role {:?}", user.role))?;
    Ok(Arc::new(Actor {
        user_id: user.id,
        role,
        unit_code: user.unit_code,
    }))
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
    // One client address files everything here, as the HTTP benchmark does
    // (bench/lib.sh raises the same limits on the server).
    settings.intake.max_filings_per_address = i32::MAX;
    settings.intake.burst_per_unit = 0;
    duban::telemetry::init(settings.env, "info,actix_server=warn"); // the server's filter (DUBAN_LOG)
    // The reads of bench/queue.sh need the server's keys (the phone hash is
    // keyed); the other work makes its own data and any keys will do.
    let secrets = match args.op {
        Op::Queue | Op::Caller => Secrets::load(&settings)?,
        Op::Intake | Op::Track => Secrets::random(),
    };
    let pool = prepare_database(&settings, Duration::from_secs(30))?;
    let state = Arc::new(build_state(settings, &secrets, pool, Clock::default())?);

    let text = std::fs::read_to_string(BODY_FILE)
        .with_context(|| format!("reading {BODY_FILE} (run from the repository root)"))?;
    let body: Arc<serde_json::Value> =
        Arc::new(serde_json::from_str(&text).context("parsing the body")?);
    let work = match args.op {
        Op::Intake => Work::Intake(body),
        Op::Track => seed_cases(&state, &body, args.cases)?,
        Op::Queue => Work::Queue(staff_actor(
            &state,
            args.user.as_deref().unwrap_or_default(),
        )?),
        Op::Caller => Work::Caller(
            staff_actor(&state, args.user.as_deref().unwrap_or_default())?,
            args.phone.as_deref().unwrap_or_default().into(),
        ),
    };

    let start = Instant::now();
    let deadline = start + Duration::from_secs(args.seconds);
    let results = match args.mode {
        Mode::Direct => run_direct(state, work, args.clients, deadline)?,
        Mode::Group => run_group(state, work, args.clients, deadline)?,
    };
    let seconds = start.elapsed().as_secs_f64();

    let mut ok = 0u64;
    let mut errors = 0u64;
    let mut latencies = Vec::new();
    let mut messages = Vec::new();
    for r in results {
        ok += r.ok;
        errors += r.errors;
        latencies.extend(r.latencies_us);
        messages.extend(r.messages);
    }
    latencies.sort_unstable();
    for m in messages.iter().take(MAX_ERRORS_SHOWN) {
        eprintln!("ceiling: error: {m}");
    }
    // Written by hand to keep the keys in this order.
    println!(
        r#"{{"ops":{ok},"seconds":{:.3},"throughput":{:.1},"p50_ms":{:.3},"p99_ms":{:.3},"errors":{errors},"mode":"{}"}}"#,
        seconds,
        ok as f64 / seconds,
        percentile_ms(&latencies, 50.0),
        percentile_ms(&latencies, 99.0),
        if args.mode == Mode::Direct {
            "direct"
        } else {
            "group"
        },
    );
    Ok(())
}
