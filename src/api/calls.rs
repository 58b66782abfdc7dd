//! Hotline calls, logged by operators.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

use super::responses::{BadBody, Forbidden, Invalid, Unauthorized, Unavailable};
use super::{Page, Params};
use crate::auth::Actor;
use crate::auth::policy;
use crate::db::calls::CallFilter;
use crate::domain::calls::{self, DISPOSITIONS};
use crate::domain::command::{Command, Source};
use crate::domain::commands::LogCall;
use crate::error::AppResult;
use crate::state::AppState;

/// `POST /api/v1/calls` (operator).
#[utoipa::path(
    post,
    path = "/api/v1/calls",
    tag = "calls",
    summary = "Log a hotline call",
    request_body = LogCall,
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key and body gets the first answer"),
    ),
    responses(
        (status = 201, description = "The call, and the new complaint's receipt when it filed one", body = crate::domain::calls::LoggedCall),
        BadBody, Unauthorized, Forbidden, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn log_call(
    req: HttpRequest,
    actor: Actor,
    state: web::Data<AppState>,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    let body = body.into_inner();
    policy::require(&actor, LogCall::ACTION)?;
    let idem = super::idempotency(
        &req,
        format!("POST /api/v1/calls user:{}", actor.user_id),
        &body,
    )?;
    let cmd = state.parse::<LogCall>(&body, Source::Json).await?;
    let now = state.clock.now();
    let st = state.clone();
    let outcome = state
        .db_write(move |c| calls::log_call(c, &st.intake, &actor, cmd, idem.as_ref(), now))
        .await?;
    Ok(super::outcome_response(outcome))
}

/// `GET /api/v1/calls` (operator, supervisor): by time and disposition.
#[utoipa::path(
    get,
    path = "/api/v1/calls",
    tag = "calls",
    summary = "Hotline calls",
    params(
        ("from" = Option<String>, Query, description = "From: a local date or an RFC 3339 time"),
        ("to" = Option<String>, Query, description = "Up to: a local date (included) or an RFC 3339 time"),
        ("disposition" = Option<String>, Query, description = "answered, consultation, complaint or invalid"),
        crate::api::responses::Paging,
    ),
    responses(
        (status = 200, description = "Calls, newest first", body = crate::api::Page<crate::domain::calls::CallView>),
        Invalid, Unauthorized, Forbidden, Unavailable,
    ),
    security(("bearer" = [])),
)]
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
    let (page, per_page) = p.paging(super::DEFAULT_PER_PAGE);
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
    Ok(Page::answer(items, total, page, per_page))
}

/// `GET /api/v1/callers/{phone}` (operator, supervisor).
#[utoipa::path(
    get,
    path = "/api/v1/callers/{phone}",
    tag = "calls",
    summary = "A caller's earlier calls and cases, to read out (an audit event)",
    params(
        ("phone" = String, Path, description = "The caller's number, written as at intake (spaces, dashes, +86 allowed)"),
    ),
    responses(
        (status = 200, description = "The calls and cases of this number, newest first; no name, e-mail, ID number or address", body = crate::domain::callers::CallerHistory),
        Invalid, Unauthorized, Forbidden, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn look_up_caller(
    actor: Actor,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let phone = path.into_inner();
    let now = state.clock.now();
    let st = state.clone();
    let history = state
        .db(move |c| crate::domain::callers::look_up(c, &st.intake, &actor, &phone, now))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(history))
}

/// `GET /api/v1/callbacks` (operator, supervisor).
#[utoipa::path(
    get,
    path = "/api/v1/callbacks",
    tag = "calls",
    summary = "Closed cases whose callback is due",
    params(crate::api::responses::Paging),
    responses(
        (status = 200, description = "Oldest due first, with the attempts so far", body = crate::api::Page<crate::domain::callbacks::DueCallback>),
        Invalid, Unauthorized, Forbidden, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn list_callbacks(
    actor: Actor,
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    let mut p = Params::new(query.into_inner(), &[]);
    let (page, per_page) = p.paging(super::DEFAULT_PER_PAGE);
    p.finish()?;
    let now = state.clock.now();
    let st = state.clone();
    let (items, total) = state
        .db(move |c| crate::domain::callbacks::due(c, &st.intake, &actor, page, per_page, now))
        .await?;
    Ok(Page::answer(items, total, page, per_page))
}
