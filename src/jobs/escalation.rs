//! The escalation sweep inside `duban serve`: one sweep every
//! `escalation.interval_ms`, unless switched off for this instance. Several
//! instances may sweep at once; each step still happens once (see
//! `domain::escalation`).

use std::time::Duration;

use actix_web::web;

use crate::domain::escalation;
use crate::state::AppState;

/// Starts the periodic sweep when `escalation.enabled`.
pub fn spawn(state: web::Data<AppState>) {
    let settings = &state.settings.escalation;
    if !settings.enabled {
        tracing::info!("escalation sweep switched off on this instance");
        return;
    }
    let every = Duration::from_millis(settings.interval_ms);
    let jobs = state.jobs.clone();
    jobs.spawn_periodic("escalation", every, move || {
        let state = state.clone();
        async move {
            let now = state.clock.now();
            let st = state.clone();
            match state
                .db(move |c| escalation::sweep(c, &st.intake, &st.ladder, now))
                .await
            {
                Ok(r) if r.fired() > 0 || r.failed_cases > 0 => tracing::info!(
                    cases = r.cases_examined,
                    warnings = r.warnings,
                    reminders = r.reminders,
                    supervisions = r.supervisions,
                    accountability = r.accountability_cases,
                    failed = r.failed_cases,
                    duration_ms = r.duration_ms,
                    "escalation sweep"
                ),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "escalation sweep failed; the next run retries")
                }
            }
        }
    });
}
