//! Group commit for intake. Concurrent filings would otherwise queue behind
//! each other's commits: on SQLite, which writes one transaction at a time and
//! pays one fsync per commit (`synchronous = FULL`), and on PostgreSQL because
//! a routed filing numbers its transfer letter, and gapless numbering holds
//! the counter row until commit. This writer thread runs the jobs waiting at
//! a given moment together in one transaction (`BEGIN IMMEDIATE` on SQLite),
//! each in its own savepoint so a failing job rolls back alone, commits once,
//! and only then answers each caller: an answer still means "durable".

use std::panic::AssertUnwindSafe;
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
}

impl GroupWriter {
    /// Starts the writer on a connection of its own from `pool`.
    pub fn start(pool: Pool) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("duban-group-commit".into())
            .spawn(move || run(pool, rx))
            .expect("spawning the group-commit writer");
        Self { jobs: tx }
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

fn run(pool: Pool, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut conn = match pool.get() {
            Ok(c) => c,
            Err(e) => {
                // The database is unreachable: drop the batch unrun, so each
                // caller is answered 503 at once (nothing of it was written).
                tracing::warn!(error = %e, "group-commit writer has no connection");
                drop(batch);
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
