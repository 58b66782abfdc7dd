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
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let result = state.db(|c| Ok(tallies::fold_all(c)?)).await;
            match result {
                Ok(batches) if batches > 1 => tracing::info!(batches, "reporting deltas folded"),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "folding the reporting deltas failed; the next run retries")
                }
            }
        }
    });
}
