//! Liveness, readiness and metrics.

use actix_web::{HttpResponse, web};
use diesel::connection::SimpleConnection;
use serde_json::json;

use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The database answers. The details also say which of this year and the
/// next has no calendar file yet: deadlines in such a year are provisional.
pub async fn readyz(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    state
        .db(|c| {
            c.batch_execute("SELECT 1")
                .map_err(|e| AppError::Unavailable(e.to_string()))
        })
        .await?;
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
    let body = state
        .metrics
        .as_ref()
        .map(|h| h.render())
        .unwrap_or_default();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body)
}
