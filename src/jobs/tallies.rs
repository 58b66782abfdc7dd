//! Folds the reporting deltas into their buckets inside `duban serve`
//! (docs/architecture.md, "Ranking and statistics"): every
//! `ranking.fold_interval_ms`, until none is left. Several instances may
//! fold at once; each delta is folded once.

use std::time::Duration;

use actix_web::web;

use crate::db::tallies;
use crate::state::AppState;

pub fn spawn(state: web::Data<AppState>) {
    let every = Duration::from_millis(state.settings.ranking.fold_interval_ms);
    let jobs = state.jobs.clone();
    jobs.spawn_periodic("tallies", every, move || {
        let state = state.clone();
        async move {
            match state.db(|c| Ok(tallies::fold_all(c)?)).await {
                Ok(folded) if folded > tallies::FOLD_BATCH as usize => {
                    tracing::info!(folded, "reporting deltas folded")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(
                    error = %e,
                    "folding the reporting deltas failed; the next run retries"
                ),
            }
        }
    });
}
