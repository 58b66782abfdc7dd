//! Housekeeping inside `duban serve`: the metrics histograms drained every
//! minute; ended throttle windows and old idempotency records dropped every
//! ten minutes.

use std::time::Duration;

use actix_web::web;

use crate::db;
use crate::state::AppState;

pub fn spawn(state: web::Data<AppState>) {
    let jobs = state.jobs.clone();
    let s = state.clone();
    jobs.spawn_periodic("metrics_upkeep", Duration::from_secs(60), move || {
        let state = s.clone();
        async move {
            if let Some(h) = &state.metrics {
                h.run_upkeep();
            }
        }
    });
    jobs.spawn_periodic("purge", Duration::from_secs(600), move || {
        let state = state.clone();
        async move {
            let now = state.clock.now();
            // Counters live as long as the longest window any limit counts.
            let longest = [
                state.tracking.window,
                state.login.window,
                state.intake.limits.window,
                chrono::Duration::seconds(state.settings.open311.read_window_seconds),
            ]
            .into_iter()
            .max()
            .unwrap_or(state.tracking.window);
            let throttle_before = now - longest;
            let idem_before =
                now - chrono::Duration::hours(state.settings.intake.idempotency_retention_hours);
            match state
                .db(move |c| Ok(db::purge_expired(c, throttle_before, idem_before)?))
                .await
            {
                Ok(removed) if removed > 0 => tracing::info!(removed, "expired records purged"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "housekeeping failed"),
            }
        }
    });
}
