//! The escalation sweep on demand, and the steps it fired.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};

use super::responses::{Forbidden, Invalid, Unauthorized, Unavailable};
use super::{Page, Params};
use crate::auth::Actor;
use crate::db::escalations::EscalationFilter;
use crate::domain::escalation::{self, LEVELS};
use crate::error::AppResult;
use crate::state::AppState;

/// `POST /api/v1/escalations/run` (admin, supervisor): one sweep now;
/// answers with what it did.
#[utoipa::path(
    post,
    path = "/api/v1/escalations/run",
    tag = "escalations",
    summary = "Run an escalation sweep now",
    responses(
        (status = 200, description = "What the sweep did", body = crate::domain::escalation::SweepReport),
        Unauthorized, Forbidden, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn run_sweep(actor: Actor, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let now = state.clock.now();
    let st = state.clone();
    let report = state
        .db(move |c| escalation::run_now(c, &st.intake, &st.ladder, &actor, now))
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// `GET /api/v1/escalations`: filters `level` (name), `unit`,
/// `tracking_no`, `from`, `to` (when fired).
#[utoipa::path(
    get,
    path = "/api/v1/escalations",
    tag = "escalations",
    summary = "Escalation steps fired",
    params(
        ("level" = Option<String>, Query, description = "warning, reminder, supervision or accountability"),
        ("unit" = Option<String>, Query, description = "Unit code"),
        ("tracking_no" = Option<String>, Query, description = "Steps of one case"),
        ("from" = Option<String>, Query, description = "Fired from: a local date or an RFC 3339 time"),
        ("to" = Option<String>, Query, description = "Fired up to: a local date (included) or an RFC 3339 time"),
        crate::api::responses::Paging,
    ),
    responses(
        (status = 200, description = "Steps, newest first", body = crate::api::Page<crate::domain::escalation::EscalationView>),
        Invalid, Unauthorized, Forbidden, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn list_escalations(
    actor: Actor,
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    let tz = state.intake.tz;
    let mut p = Params::new(
        query.into_inner(),
        &["level", "unit", "tracking_no", "from", "to"],
    );
    let (page, per_page) = p.paging(super::DEFAULT_PER_PAGE);
    let level = p
        .choice("level", &LEVELS)
        .and_then(|l| LEVELS.iter().position(|x| *x == l))
        .map(|l| l as i32);
    let filter = EscalationFilter {
        level,
        unit: p.text("unit", 16),
        complaint_id: None,
        from: p.instant("from", tz, false),
        to: p.instant("to", tz, true),
    };
    let tracking_no = p.text("tracking_no", 40);
    p.finish()?;
    let (items, total) = state
        .db(move |c| escalation::list(c, &actor, filter, tracking_no, page, per_page))
        .await?;
    Ok(Page::answer(items, total, page, per_page))
}
