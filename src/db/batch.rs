//! Group commit for intake. Concurrent filings would otherwise queue behind
//! each other's commits: on SQLite, which writes one transaction at a time and
//! pays one fsync per commit (`synchronous = FULL`), and on PostgreSQL because
//! a routed filing numbers its transfer letter, and gapless numbering holds
//! the counter row until commit. This writer thread runs the jobs waiting at
//! a given moment together in one transaction (`BEGIN IMMEDIATE` on SQLite),
//! each in its own savepoint so a failing job rolls back alone, commits once,
//! and only then answers each caller: an answer still means "durable".
//!
//! When the database is down, taking a connection fails only after the
//! pool's connect timeout. Every job waiting at that moment is answered
//! "unavailable" with the batch, so nobody waits for more than one timeout
//! however many filings queue up during an outage.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use diesel::connection::{AnsiTransactionManager, Connection, TransactionManager};

use super::{DbConn, Pool};
use crate::error::{AppError, AppResult};

/// The most jobs one transaction takes.
const MAX_BATCH: usize = 64;

type Reply = Box<dyn FnOnce(Result<(), String>) + Send>;
type Job = Box<dyn FnOnce(&mut DbConn) -> Reply + Send>;

/// Handle to the writer thread.
#[derive(Clone)]
pub struct GroupWriter {
    jobs: mpsc::Sender<Job>,
    checkouts: Arc<Checkouts>,
}

/// How often the writer asked the pool for a connection, and how often it
/// got none.
#[derive(Default)]
struct Checkouts {
    tried: AtomicU64,
    failed: AtomicU64,
}

impl GroupWriter {
    /// Starts the writer on a connection of its own from `pool`.
    pub fn start(pool: Pool) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let checkouts = Arc::new(Checkouts::default());
        let counts = checkouts.clone();
        std::thread::Builder::new()
            .name("duban-group-commit".into())
            .spawn(move || run(pool, rx, &counts))
            .expect("spawning the group-commit writer");
        Self {
            jobs: tx,
            checkouts,
        }
    }

    /// Connection check-outs tried and failed so far.
    pub fn checkouts(&self) -> (u64, u64) {
        (
            self.checkouts.tried.load(Ordering::SeqCst),
            self.checkouts.failed.load(Ordering::SeqCst),
        )
    }

    /// Runs `f` in the next batch; answers after that batch commits.
    pub async fn run<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> AppResult<T> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel::<AppResult<T>>();
        let job: Job = Box::new(move |conn: &mut DbConn| {
            let result =
                std::panic::catch_unwind(AssertUnwindSafe(|| f(conn))).unwrap_or_else(|_| {
                    Err(AppError::Internal(anyhow::anyhow!("a write job panicked")))
                });
            Box::new(move |committed: Result<(), String>| {
                let answer = match (committed, result) {
                    (Ok(()), r) => r,
                    // Nothing of this batch is stored: a retry is safe.
                    (Err(e), _) => Err(AppError::Unavailable(format!("commit failed: {e}"))),
                };
                let _ = tx.send(answer);
            })
        });
        self.jobs.send(job).map_err(|_| {
            AppError::Internal(anyhow::anyhow!("the group-commit writer has stopped"))
        })?;
        // A job dropped unrun means its batch could not begin: nothing of it
        // is stored, and a retry is safe.
        rx.await
            .map_err(|_| AppError::Unavailable("the write batch could not begin".into()))?
    }
}

fn run(pool: Pool, rx: mpsc::Receiver<Job>, checkouts: &Checkouts) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        checkouts.tried.fetch_add(1, Ordering::SeqCst);
        let mut conn = match pool.get() {
            Ok(c) => c,
            Err(e) => {
                // The database is unreachable: drop the batch unrun, and every
                // job that queued behind it while the pool waited, so each
                // caller is answered 503 now (nothing of them was written)
                // instead of after one more timeout per batch.
                checkouts.failed.fetch_add(1, Ordering::SeqCst);
                let queued: Vec<Job> = rx.try_iter().collect();
                tracing::warn!(error = %e, jobs = batch.len() + queued.len(),
                    "group-commit writer has no connection");
                drop(batch);
                drop(queued);
                continue;
            }
        };
        let (committed, replies) = run_batch(&mut conn, batch);
        metrics::histogram!("duban_group_commit_batch_size").record(replies.len() as f64);
        for reply in replies {
            reply(committed.clone());
        }
    }
}

fn run_batch(conn: &mut DbConn, batch: Vec<Job>) -> (Result<(), String>, Vec<Reply>) {
    let gate = matches!(conn, DbConn::Sqlite(_)).then(|| super::SQLITE_WRITE_GATE.enter());
    let begun = match &mut *conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE"),
        DbConn::Pg(_) => <DbConn as Connection>::TransactionManager::begin_transaction(conn),
    };
    if let Err(e) = begun {
        // No job runs without the transaction; dropping them answers each
        // caller "unavailable, retry" (see `GroupWriter::run`).
        tracing::warn!(error = %e, "group commit could not begin");
        return (Err(e.to_string()), Vec::new());
    }
    // Each job's own write_tx becomes a savepoint inside this transaction.
    let replies: Vec<Reply> = batch.into_iter().map(|job| job(conn)).collect();
    let committed =
        <DbConn as Connection>::TransactionManager::commit_transaction(conn).map_err(|e| {
            let _ = <DbConn as Connection>::TransactionManager::rollback_transaction(conn);
            e.to_string()
        });
    drop(gate);
    (committed, replies)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::db::{DbTarget, PoolOptions, build_pool};

    /// A pool whose database never answers: nothing listens on port 9.
    fn unreachable_pool() -> Pool {
        let target = DbTarget::parse("postgres://duban@127.0.0.1:9/duban").unwrap();
        let opts = PoolOptions {
            max_size: 1,
            min_idle: 0,
            connect_timeout: Duration::from_millis(1500),
            busy_timeout_ms: 0,
        };
        build_pool(&target, &opts).unwrap()
    }

    #[actix_web::test]
    async fn jobs_queued_behind_a_failed_checkout_are_answered_with_it() {
        let writer = GroupWriter::start(unreachable_pool());
        let job = || {
            let w = writer.clone();
            async move { w.run(|_: &mut DbConn| Ok(())).await }
        };
        let first = actix_web::rt::spawn(job());
        // Once the writer waits for a connection, five more filings queue.
        while writer.checkouts().0 == 0 {
            actix_web::rt::time::sleep(Duration::from_millis(5)).await;
        }
        let queued: Vec<_> = (0..5).map(|_| actix_web::rt::spawn(job())).collect();
        for answer in std::iter::once(first).chain(queued) {
            let answer = answer.await.unwrap();
            assert!(
                matches!(answer, Err(AppError::Unavailable(_))),
                "{answer:?}"
            );
        }
        // All six were answered by the one failed check-out: none waited
        // for a second timeout.
        assert_eq!(writer.checkouts(), (1, 1));
    }
}
