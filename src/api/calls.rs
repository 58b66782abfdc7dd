//! Hotline calls, logged by operators.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

use super::{Page, Params};
use crate::auth::Actor;
use crate::db::calls::CallFilter;
use crate::domain::calls::{self, DISPOSITIONS};
use crate::domain::intake;
use crate::error::AppResult;
use crate::state::AppState;

/// `POST /api/v1/calls` (operator).
pub async fn log_call(
    req: HttpRequest,
    actor: Actor,
    state: web::Data<AppState>,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    let body = body.into_inner();
    let idem = super::idempotency(
        &req,
        format!("POST /api/v1/calls user:{}", actor.user_id),
        &body,
    )?;
    let now = state.clock.now();
    let max_age = intake::hotline_window(state.settings.intake.hotline_max_age_days);
    let st = state.clone();
    let outcome = state
        .db_write(move |c| {
            calls::log_call(c, &st.intake, &actor, &body, idem.as_ref(), max_age, now)
        })
        .await?;
    Ok(super::outcome_response(outcome))
}

/// `GET /api/v1/calls` (operator, supervisor): by time and disposition.
pub async fn list_calls(
    actor: Actor,
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    let tz = state.intake.tz;
    let mut p = Params::new(
        query.into_inner(),
        &["from", "to", "disposition", "operator_id"],
    );
    let (page, per_page) = p.paging(50);
    let operator = p.int("operator_id", 0, 1, i64::MAX);
    let filter = CallFilter {
        from: p.instant("from", tz, false),
        to: p.instant("to", tz, true),
        disposition: p.choice("disposition", DISPOSITIONS),
        operator_id: (operator > 0).then_some(operator),
    };
    p.finish()?;
    let (items, total) = state
        .db(move |c| calls::list_calls(c, &actor, &filter, page, per_page))
        .await?;
    Ok(HttpResponse::Ok().json(Page {
        items,
        page,
        per_page,
        total,
    }))
}
