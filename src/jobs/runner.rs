//! Watched background jobs (docs/architecture.md, "Background jobs"): every
//! periodic job of `duban serve` runs through [`Jobs::spawn_periodic`]. Each
//! turn runs in a task of its own, so a panic ends that turn only: it is
//! logged and counted (`duban_job_failures_total{job}` on `/metrics`) and the
//! job runs again at its next turn. [`Jobs::shutdown`] (after the HTTP server
//! has drained on SIGTERM) lets every job finish the turn it is in, then
//! stops them.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The periodic jobs of one instance.
#[derive(Clone)]
pub struct Jobs {
    stop: Arc<watch::Sender<bool>>,
    handles: Arc<Mutex<Vec<JoinHandle<()>>>>,
    /// Turns that panicked, per job (every started job is listed).
    failures: Arc<Mutex<BTreeMap<&'static str, u64>>>,
}

impl Default for Jobs {
    fn default() -> Self {
        Self::new()
    }
}

impl Jobs {
    pub fn new() -> Self {
        Self {
            stop: Arc::new(watch::channel(false).0),
            handles: Arc::default(),
            failures: Arc::default(),
        }
    }

    /// Runs `turn` every `every` (the first at once) until [`Jobs::shutdown`].
    /// A turn that overruns delays the next; turns never overlap.
    pub fn spawn_periodic<F, Fut>(&self, name: &'static str, every: Duration, turn: F)
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.lock_failures().entry(name).or_insert(0);
        let mut stop = self.stop.subscribe();
        let failures = self.failures.clone();
        let handle = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop.changed() => {}
                }
                if *stop.borrow() {
                    break;
                }
                if let Err(e) = tokio::spawn(turn()).await
                    && e.is_panic()
                {
                    *failures
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .entry(name)
                        .or_insert(0) += 1;
                    tracing::error!(
                        job = name,
                        "background job panicked; it runs again at its next turn"
                    );
                }
            }
            tracing::debug!(job = name, "background job stopped");
        });
        self.handles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(handle);
    }

    /// Every job started, with the turns of it that panicked.
    pub fn failures(&self) -> Vec<(&'static str, u64)> {
        self.lock_failures().iter().map(|(k, v)| (*k, *v)).collect()
    }

    fn lock_failures(&self) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, u64>> {
        self.failures.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stops every job once its current turn is done, waiting at most
    /// `grace` for them. Returns whether all stopped in time.
    pub async fn shutdown(&self, grace: Duration) -> bool {
        self.stop.send_replace(true);
        let handles: Vec<_> =
            std::mem::take(&mut *self.handles.lock().unwrap_or_else(PoisonError::into_inner));
        let all = async {
            for h in handles {
                let _ = h.await;
            }
        };
        tokio::time::timeout(grace, all).await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[tokio::test]
    async fn a_job_that_panics_is_counted_and_runs_again() {
        let jobs = Jobs::new();
        let turns = Arc::new(AtomicU64::new(0));
        let t = turns.clone();
        jobs.spawn_periodic("flaky", Duration::from_millis(5), move || {
            let t = t.clone();
            async move {
                if t.fetch_add(1, Ordering::SeqCst) == 0 {
                    panic!("first turn fails");
                }
            }
        });
        for _ in 0..200 {
            if turns.load(Ordering::SeqCst) >= 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(turns.load(Ordering::SeqCst) >= 3, "the job kept running");
        assert_eq!(jobs.failures(), vec![("flaky", 1)]);
        assert!(jobs.shutdown(Duration::from_secs(5)).await);
    }

    #[tokio::test]
    async fn shutdown_lets_the_current_turn_finish_and_stops_the_job() {
        let jobs = Jobs::new();
        let finished = Arc::new(AtomicU64::new(0));
        let f = finished.clone();
        jobs.spawn_periodic("slow", Duration::from_millis(1), move || {
            let f = f.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                f.fetch_add(1, Ordering::SeqCst);
            }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(jobs.shutdown(Duration::from_secs(5)).await);
        let done = finished.load(Ordering::SeqCst);
        assert_eq!(done, 1, "the turn under way finished, no other began");
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(finished.load(Ordering::SeqCst), done);
    }
}
