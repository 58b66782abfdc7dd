//! The audit log's sequencer inside `duban serve` (docs/architecture.md,
//! "The audit log"): every `audit.sequence_interval_ms` it places what was
//! recorded since in the log; once a minute it signs a checkpoint when the
//! last is older than `audit.checkpoint_interval_minutes` and the log grew.
//! Several instances may run it: the log's lock makes them take turns.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix_web::web;

use crate::domain::audit_log;
use crate::state::AppState;

pub fn spawn(state: web::Data<AppState>) {
    if !state.settings.audit.background {
        tracing::info!("audit log sequencer switched off on this instance");
        return;
    }
    let every = Duration::from_millis(state.settings.audit.sequence_interval_ms);
    let ticks_per_minute = (60_000 / state.settings.audit.sequence_interval_ms).max(1);
    let turns = Arc::new(AtomicU64::new(0));
    let jobs = state.jobs.clone();
    jobs.spawn_periodic("audit", every, move || {
        let state = state.clone();
        let n = turns.fetch_add(1, Ordering::Relaxed) + 1;
        async move {
            let st = state.clone();
            let sign = n % ticks_per_minute == 1;
            let result = state
                .db(move |c| {
                    let now = st.clock.now();
                    audit_log::sequence(c, &st.audit, now)?;
                    if sign {
                        let every = chrono::Duration::minutes(
                            st.settings.audit.checkpoint_interval_minutes,
                        );
                        let out = crate::api::audit::checkpoint_out(&st);
                        if let Some(cp) =
                            audit_log::checkpoint(c, &st.audit, &out, now, Some(every))?
                        {
                            tracing::info!(tree_size = cp.tree_size, "audit checkpoint signed");
                        }
                    }
                    Ok(())
                })
                .await;
            if let Err(e) = result {
                tracing::warn!(error = %e, "audit log sequencing failed; the next run retries");
            }
        }
    });
}
