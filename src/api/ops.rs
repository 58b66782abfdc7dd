//! Liveness, readiness and metrics.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::db::{self, letters, letters::Waiting};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// How long a letter may wait before it counts as late
/// (`waiting_over_1h`, `duban_outbox_waiting_over_1h`).
const LATE_MAIL: chrono::Duration = chrono::Duration::hours(1);

/// What waits in the outbox, read with the handler's own connection; an
/// answer is also the proof that the database answers.
async fn outbox_waiting(state: &AppState) -> AppResult<Waiting> {
    let before = db::to_db(state.clock.now() - LATE_MAIL);
    state
        .db(move |c| letters::waiting(c, before).map_err(|e| AppError::Unavailable(e.to_string())))
        .await
}

/// The database answers. The details also say which of this year and the
/// next has no calendar file yet (deadlines in such a year are
/// provisional), and whether the outbox can deliver: an instance whose mail
/// cannot go out still serves requests, so it stays ready, but says so.
pub async fn readyz(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let waiting = outbox_waiting(&state).await?;
    let now = state.clock.now();
    let year = chrono::Datelike::year(&now.with_timezone(&state.intake.tz));
    let provisional = state.calendar.provisional_among([year, year + 1]);
    Ok(HttpResponse::Ok().json(json!({
        "status": "ready",
        "database": "ok",
        "calendar": {
            "official_years": state.calendar.years(),
            "provisional_years": provisional,
            "note": if provisional.is_empty() {
                "this year and the next have their State Council holiday notice".to_owned()
            } else {
                format!(
                    "no config/calendar file for {provisional:?}: deadlines there count the statutory holidays only, \
                     without adjusted working days, until the notice is added"
                )
            },
        },
        "outbox": {
            "deliverable": state.delivery.deliverable(),
            "reason": state.delivery.reason(),
            "note": state.delivery.note(),
            "waiting": waiting.waiting,
            "waiting_over_1h": waiting.waiting_before,
            "oldest_waiting_at": waiting.oldest.map(db::from_db),
        },
    })))
}

/// Prometheus text format.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let now = state.clock.now();
    let year = chrono::Datelike::year(&now.with_timezone(&state.intake.tz));
    for y in [year, year + 1] {
        let flag = if state.calendar.is_provisional(y) {
            1.0
        } else {
            0.0
        };
        metrics::gauge!("duban_calendar_provisional", "year" => y.to_string()).set(flag);
    }
    let mut body = state
        .metrics
        .as_ref()
        .map(|h| h.render())
        .unwrap_or_default();
    // The outbox's figures are this instance's own (whether it can deliver)
    // or read from the database at scrape time (what waits, for every
    // instance on it), so they are written here rather than kept in the
    // process-wide registry. A scrape while the database is away leaves
    // out the waiting figures.
    let mut gauge = |name: &str, help: &str, value: i64| {
        body.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n"
        ));
    };
    gauge(
        "duban_outbox_deliverable",
        "1 when this instance can send the outbox's e-mail, 0 when letters wait (see /readyz)",
        i64::from(state.delivery.deliverable()),
    );
    if let Ok(w) = outbox_waiting(&state).await {
        gauge(
            "duban_outbox_waiting",
            "E-mails (letters and notices) not yet sent",
            w.waiting,
        );
        gauge(
            "duban_outbox_waiting_over_1h",
            "E-mails not yet sent an hour after they were written",
            w.waiting_before,
        );
    }
    // Per instance too: this process's own jobs.
    body.push_str(
        "# HELP duban_job_failures_total Turns of a background job that panicked \
         (logged; the job runs again at its next turn)\n\
         # TYPE duban_job_failures_total counter\n",
    );
    for (job, n) in state.jobs.failures() {
        body.push_str(&format!("duban_job_failures_total{{job=\"{job}\"}} {n}\n"));
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body)
}
