//! Storage: one diesel `MultiConnection` over SQLite and PostgreSQL, the r2d2
//! pool, embedded migrations, write transactions, and the few statements whose
//! SQL differs by backend (counters, throttle). Everything above this module
//! speaks to `DbConn` and never to a backend directly.

pub mod batch;
pub mod schema;

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Timelike, Utc};
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sql_types::{BigInt, Integer, Text, Timestamp};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, QueryableByName, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Advisory-lock key under which PostgreSQL migrations run, so that several
/// instances starting together migrate once.
const MIGRATION_LOCK_KEY: i64 = 0x4455_4241_4e4d_4947; // "DUBANMIG"

/// What a statement gives back. The layers above name it through `db`, so
/// that storage stays in this module (docs/architecture.md, "Layers").
pub use diesel::QueryResult;
/// A storage error (what `QueryResult` fails with).
pub use diesel::result::Error;

/// The connection to whichever backend `DATABASE_URL` names.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

pub type Pool = r2d2::Pool<DbManager>;
pub type PooledConn = r2d2::PooledConnection<DbManager>;

/// Which backend a URL selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A parsed `DATABASE_URL`.
#[derive(Clone, Debug)]
pub struct DbTarget {
    pub backend: Backend,
    /// What the driver is given: a file path for SQLite, the URL for PostgreSQL.
    pub location: String,
}

impl DbTarget {
    /// Chooses the backend by scheme: `sqlite://path` (or `sqlite:path`) and
    /// `postgres://` / `postgresql://`.
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        if let Some(rest) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            anyhow::ensure!(
                !rest.is_empty(),
                "DATABASE_URL: sqlite:// needs a file path"
            );
            return Ok(Self {
                backend: Backend::Sqlite,
                location: rest.to_owned(),
            });
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self {
                backend: Backend::Postgres,
                location: url.to_owned(),
            });
        }
        anyhow::bail!("DATABASE_URL must start with sqlite:// or postgres://")
    }
}

/// Set on every PostgreSQL connection the pool opens.
const PG_SESSION: &str = "SET jit = off";
/// SQLite settings applied on every connection and re-asserted on every
/// checkout (they are per-connection state and cost no I/O).
const SQLITE_PRAGMAS: &str = "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;";

/// r2d2 manager that opens the right backend, prepares SQLite connections, and
/// validates each checkout.
#[derive(Clone, Debug)]
pub struct DbManager {
    target: DbTarget,
    busy_timeout_ms: u64,
}

impl DbManager {
    fn sqlite_checkout_sql(&self) -> String {
        format!(
            "PRAGMA busy_timeout = {}; {SQLITE_PRAGMAS}",
            self.busy_timeout_ms
        )
    }
}

impl ManageConnection for DbManager {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConn, r2d2::Error> {
        match self.target.backend {
            Backend::Postgres => {
                let mut conn = PgConnection::establish(&self.target.location)
                    .map_err(r2d2::Error::ConnectionError)?;
                // No JIT compilation: the service's statements are short, and
                // a cost estimate over `jit_above_cost` (a window count over
                // a bucket, a statistics read) made PostgreSQL spend ~45 ms
                // compiling a statement that runs in a few (docs/architecture.md,
                // "The queue").
                conn.batch_execute(PG_SESSION)
                    .map_err(r2d2::Error::QueryError)?;
                Ok(DbConn::Pg(conn))
            }
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(&self.target.location)
                    .map_err(r2d2::Error::ConnectionError)?;
                // The busy timeout first, so that switching to WAL (a property
                // of the file, a no-op once set) waits for a concurrent opener.
                conn.batch_execute(&format!(
                    "{} PRAGMA journal_mode = WAL;",
                    self.sqlite_checkout_sql()
                ))
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConn::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        match conn {
            DbConn::Sqlite(c) => c.batch_execute(&self.sqlite_checkout_sql()),
            DbConn::Pg(c) => c.batch_execute("SELECT 1"),
        }
        .map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        conn.is_broken()
    }
}

/// Pool settings, from `[database]` in the configuration.
#[derive(Clone, Debug)]
pub struct PoolOptions {
    pub max_size: u32,
    pub min_idle: u32,
    pub connect_timeout: Duration,
    pub busy_timeout_ms: u64,
}

/// Builds the pool. The SQLite file and its folder are created when missing.
/// The pool is built without waiting for a connection so a server can start
/// (and report itself unready) while PostgreSQL is still coming up.
pub fn build_pool(target: &DbTarget, opts: &PoolOptions) -> anyhow::Result<Pool> {
    if target.backend == Backend::Sqlite {
        if let Some(dir) = std::path::Path::new(&target.location).parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)?;
        }
        // Switch a new file to WAL once, alone: pool connections opening
        // together would otherwise race for the exclusive lock it needs.
        let mut first = SqliteConnection::establish(&target.location)?;
        first.batch_execute(&format!(
            "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL;",
            opts.busy_timeout_ms
        ))?;
    }
    let manager = DbManager {
        target: target.clone(),
        busy_timeout_ms: opts.busy_timeout_ms,
    };
    Ok(r2d2::Pool::builder()
        .max_size(opts.max_size)
        .min_idle(Some(opts.min_idle.min(opts.max_size)))
        .connection_timeout(opts.connect_timeout)
        .test_on_check_out(true)
        .build_unchecked(manager))
}

/// Runs pending migrations of the backend's tree. On PostgreSQL this holds an
/// advisory lock so that instances starting together do not race.
pub fn run_migrations(conn: &mut DbConn) -> anyhow::Result<usize> {
    let applied = match conn {
        DbConn::Sqlite(c) => c
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?
            .len(),
        DbConn::Pg(c) => {
            diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
                .execute(c)?;
            let result = c
                .run_pending_migrations(PG_MIGRATIONS)
                .map(|v| v.len())
                .map_err(|e| anyhow::anyhow!("migration failed: {e}"));
            diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
                .execute(c)?;
            result?
        }
    };
    Ok(applied)
}

/// Reverts every migration of the backend's tree, newest first (each
/// `down.sql` must undo its `up.sql`; a test runs them down and up again).
/// Returns how many were reverted.
pub fn revert_all_migrations(conn: &mut DbConn) -> anyhow::Result<usize> {
    let reverted = match conn {
        DbConn::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS),
        DbConn::Pg(c) => c.revert_all_migrations(PG_MIGRATIONS),
    }
    .map_err(|e| anyhow::anyhow!("reverting migrations failed: {e}"))?;
    Ok(reverted.len())
}

/// Inside a transaction: makes instances that start together take turns at
/// start-up work (reference data) until commit. SQLite's write transactions
/// take turns already.
pub fn setup_lock(conn: &mut DbConn) -> QueryResult<()> {
    if let DbConn::Pg(c) = conn {
        diesel::sql_query(format!(
            "SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})"
        ))
        .execute(c)?;
    }
    Ok(())
}

/// SQLite takes one writer at a time. This process's writers queue here, in
/// order, before `BEGIN IMMEDIATE`, instead of polling the file lock: SQLite's
/// busy handler sleeps in steps of up to 100 ms, so under load the lock would
/// sit idle while waiters sleep. The busy timeout still covers other
/// processes (`duban migrate`, `duban user add`) on the same file.
static SQLITE_WRITE_GATE: WriteGate = WriteGate::new();

/// A first-come, first-served lock (a ticket lock): a plain mutex lets a
/// thread that just released it take it again, and under load some writers
/// would wait for hundreds of milliseconds.
struct WriteGate {
    tickets: std::sync::Mutex<(u64, u64)>,
    turn: std::sync::Condvar,
}

struct GateTurn<'a>(&'a WriteGate);

impl WriteGate {
    const fn new() -> Self {
        Self {
            tickets: std::sync::Mutex::new((0, 0)),
            turn: std::sync::Condvar::new(),
        }
    }

    fn enter(&self) -> GateTurn<'_> {
        let mut t = self.tickets.lock().unwrap_or_else(|p| p.into_inner());
        let mine = t.0;
        t.0 += 1;
        while t.1 != mine {
            t = self.turn.wait(t).unwrap_or_else(|p| p.into_inner());
        }
        GateTurn(self)
    }
}

impl Drop for GateTurn<'_> {
    fn drop(&mut self) {
        let mut t = self.0.tickets.lock().unwrap_or_else(|p| p.into_inner());
        t.1 += 1;
        drop(t);
        self.0.turn.notify_all();
    }
}

/// Runs `f` in a write transaction. SQLite gets `BEGIN IMMEDIATE`, which takes
/// the write lock up front (waiting up to the busy timeout) so a transaction
/// that reads before it writes can never fail on a stale snapshot.
pub fn write_tx<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<DieselError>,
{
    // Inside a transaction already (a batch of the group-commit writer):
    // a savepoint, so this unit of work rolls back alone if it fails.
    let nested = in_transaction(conn)?;
    let _gate = match conn {
        DbConn::Sqlite(_) if !nested => Some(SQLITE_WRITE_GATE.enter()),
        _ => None,
    };
    match conn {
        DbConn::Sqlite(c) if !nested => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
        }
        _ => <DbConn as Connection>::TransactionManager::begin_transaction(conn)?,
    }
    match f(conn) {
        Ok(value) => {
            if let Err(e) = <DbConn as Connection>::TransactionManager::commit_transaction(conn) {
                let _ = <DbConn as Connection>::TransactionManager::rollback_transaction(conn);
                return Err(e.into());
            }
            Ok(value)
        }
        Err(e) => {
            <DbConn as Connection>::TransactionManager::rollback_transaction(conn)?;
            Err(e)
        }
    }
}

/// Runs `f` on one consistent snapshot of the database, read-only: on
/// PostgreSQL a `REPEATABLE READ READ ONLY` transaction, on SQLite a deferred
/// one (its first read fixes the snapshot under WAL). Long reads that page
/// through several tables (audit verification) see no commit made meanwhile.
pub fn read_snapshot<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<DieselError>,
{
    match conn {
        DbConn::Pg(c) => AnsiTransactionManager::begin_transaction_sql(
            c,
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        )?,
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN")?,
    }
    let out = f(conn);
    // Nothing was written: ending it either way is the same; a failed end
    // is reported only when `f` succeeded.
    let end = <DbConn as Connection>::TransactionManager::rollback_transaction(conn);
    match (out, end) {
        (Ok(v), Ok(())) => Ok(v),
        (Ok(_), Err(e)) => Err(e.into()),
        (Err(e), _) => Err(e),
    }
}

fn in_transaction(conn: &mut DbConn) -> QueryResult<bool> {
    Ok(
        <DbConn as Connection>::TransactionManager::transaction_manager_status_mut(conn)
            .transaction_depth()?
            .is_some(),
    )
}

/// UTC instant → the `TIMESTAMP` both backends store, truncated to
/// microseconds so SQLite and PostgreSQL round-trip the same value.
pub fn to_db(t: DateTime<Utc>) -> NaiveDateTime {
    let naive = t.naive_utc();
    naive
        .with_nanosecond(naive.nanosecond() / 1_000 * 1_000)
        .unwrap_or(naive)
}

/// Stored `TIMESTAMP` → UTC instant.
pub fn from_db(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// True when a diesel error means the database cannot be reached or cannot
/// take writes right now (down, restarting, full, locked too long): a 503,
/// not a bug.
pub fn is_unavailable(err: &DieselError) -> bool {
    match err {
        DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => true,
        DieselError::DatabaseError(DatabaseErrorKind::UnableToSendCommand, _) => true,
        DieselError::DatabaseError(_, info) => {
            let m = info.message().to_ascii_lowercase();
            m.contains("database is locked")
                || m.contains("database or disk is full")
                || m.contains("disk i/o error")
                || m.contains("terminating connection")
                || m.contains("server closed the connection")
                || m.contains("no connection to the server")
                || m.contains("could not write")
                || m.contains("no space left")
        }
        DieselError::BrokenTransactionManager => true,
        _ => false,
    }
}

pub fn is_unique_violation(err: &DieselError) -> bool {
    matches!(
        err,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    )
}

#[derive(QueryableByName)]
struct CounterValue {
    #[diesel(sql_type = BigInt)]
    value: i64,
}

const COUNTER_SQL: &str = "INSERT INTO counters (name, value) VALUES ($1, 1) \
     ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value";
const TAKE_SQL: &str = "INSERT INTO counters (name, value) VALUES ($1, $2) \
     ON CONFLICT (name) DO UPDATE SET value = counters.value + excluded.value RETURNING value";

/// Increments the named counter and returns its new value. Inside a
/// transaction the row stays locked until commit, so the numbers it hands out
/// are gapless and unique across instances (letter numbers need this).
pub fn next_counter(conn: &mut DbConn, name: &str) -> QueryResult<i64> {
    let sql = placeholders(conn, COUNTER_SQL);
    let row: CounterValue = diesel::sql_query(sql)
        .bind::<Text, _>(name)
        .get_result(conn)?;
    Ok(row.value)
}

/// Takes `n` consecutive numbers from the named counter in one statement and
/// returns the first; as [`next_counter`], gapless when the caller's
/// transaction uses them all. Taken last in a transaction, the counter row
/// stays locked only until that transaction commits.
pub fn take_counter(conn: &mut DbConn, name: &str, n: i64) -> QueryResult<i64> {
    let sql = placeholders(conn, TAKE_SQL);
    let row: CounterValue = diesel::sql_query(sql)
        .bind::<Text, _>(name)
        .bind::<BigInt, _>(n)
        .get_result(conn)?;
    Ok(row.value - n + 1)
}

/// Takes a number from the named counter for a value that must be unique but
/// may have gaps (tracking numbers). Call it before the caller's transaction.
///
/// On PostgreSQL it commits in its own short transaction, without waiting for
/// the WAL flush: the hot counter row is then not locked for the length of
/// every intake. That is safe: any later durable commit flushes this one first,
/// so a durable complaint never carries a number the counter could hand out
/// again. Returns `None` on SQLite, where writers are serialised anyway and the
/// caller takes the number inside its own transaction with [`next_counter`]
/// (as it also does inside a group-commit batch).
pub fn reserve_counter(conn: &mut DbConn, name: &str) -> QueryResult<Option<i64>> {
    // Inside a group-commit batch, `SET LOCAL` would make the whole batch's
    // commit asynchronous: take the number inside the caller's transaction.
    if in_transaction(conn)? {
        return Ok(None);
    }
    match conn {
        DbConn::Sqlite(_) => Ok(None),
        DbConn::Pg(c) => c
            .transaction(|c| {
                diesel::sql_query("SET LOCAL synchronous_commit = off").execute(c)?;
                diesel::sql_query(COUNTER_SQL)
                    .bind::<Text, _>(name)
                    .get_result::<CounterValue>(c)
            })
            .map(|r| Some(r.value)),
    }
}

#[derive(QueryableByName)]
struct FailureCount {
    #[diesel(sql_type = Integer)]
    failures: i32,
}

const THROTTLE_HIT: &str = "INSERT INTO throttle (key, window_start, failures) VALUES ($1, $2, 1) \
     ON CONFLICT (key) DO UPDATE SET \
       failures = CASE WHEN throttle.window_start <= $3 THEN 1 ELSE throttle.failures + 1 END, \
       window_start = CASE WHEN throttle.window_start <= $3 THEN excluded.window_start ELSE throttle.window_start END \
     RETURNING failures";

/// Records one failure under `key` in a fixed window of `window` length and
/// returns the failures counted in the current window (a window that began
/// at or before `now - window` is over, and counting starts again).
pub fn throttle_hit(
    conn: &mut DbConn,
    key: &str,
    now: DateTime<Utc>,
    window: chrono::Duration,
) -> QueryResult<i32> {
    let now_db = to_db(now);
    let expired_before = to_db(now - window);
    let sql = placeholders(conn, THROTTLE_HIT);
    let row: FailureCount = diesel::sql_query(sql)
        .bind::<Text, _>(key)
        .bind::<Timestamp, _>(now_db)
        .bind::<Timestamp, _>(expired_before)
        .get_result(conn)?;
    Ok(row.failures)
}

/// Failures counted under `key` in the window that is still running at `now`.
pub fn throttle_count(
    conn: &mut DbConn,
    key: &str,
    now: DateTime<Utc>,
    window: chrono::Duration,
) -> QueryResult<i32> {
    use diesel::prelude::*;
    use schema::throttle::dsl;
    let count = dsl::throttle
        .filter(dsl::key.eq(key))
        .filter(dsl::window_start.gt(to_db(now - window)))
        .select(dsl::failures)
        .first::<i32>(conn)
        .optional()?;
    Ok(count.unwrap_or(0))
}

/// Deletes throttle windows that ended and idempotency records past their
/// retention. Returns the rows removed.
pub fn purge_expired(
    conn: &mut DbConn,
    throttle_before: DateTime<Utc>,
    idempotency_before: DateTime<Utc>,
) -> QueryResult<usize> {
    use diesel::prelude::*;
    let a = diesel::delete(
        schema::throttle::table.filter(schema::throttle::window_start.le(to_db(throttle_before))),
    )
    .execute(conn)?;
    let b = diesel::delete(
        schema::idempotency_keys::table
            .filter(schema::idempotency_keys::created_at.lt(to_db(idempotency_before))),
    )
    .execute(conn)?;
    Ok(a + b)
}

pub mod audit;
pub mod audit_log;
pub mod callbacks;
pub mod calls;
pub mod categories;
pub mod complaints;
pub mod duplicates;
pub mod idempotency;
pub mod queue;
pub mod supplements;
pub mod tallies;
pub mod units;
pub mod users;

/// SQL written with PostgreSQL's `$n` placeholders, for the connection's
/// backend (SQLite numbers them `?n`). For statements both backends share
/// apart from placeholders; the text must hold no other `$`.
pub fn placeholders(conn: &DbConn, pg_sql: &str) -> String {
    match conn {
        DbConn::Pg(_) => pg_sql.to_owned(),
        DbConn::Sqlite(_) => pg_sql.replace('$', "?"),
    }
}

/// The row-lock clause that ends a claiming `SELECT`: on PostgreSQL the
/// rows taken stay locked until commit and rows another transaction holds
/// are skipped; SQLite has one writer at a time and no such clause.
pub fn skip_locked(conn: &DbConn) -> &'static str {
    match conn {
        DbConn::Pg(_) => " FOR UPDATE SKIP LOCKED",
        DbConn::Sqlite(_) => "",
    }
}

/// Offset and limit from 1-based `page` and `per_page`.
pub fn page_window(page: i64, per_page: i64) -> (i64, i64) {
    ((page - 1).max(0) * per_page, per_page)
}
pub mod accountability;
pub mod assignments;
pub mod escalations;
pub mod letters;
pub mod notices;
pub mod workflow;
