//! The case workflow over HTTP: supervisor and unit actions on one case.
//! Each answers with the case's new state.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::command::Authorized;
use super::responses::{BadBody, Conflict, Forbidden, NotFound, Unauthorized, Unavailable};
use crate::auth::Actor;
use crate::db::DbConn;
use crate::domain::commands::{
    AddProgress, AssignCase, CallbackAttempt, ContactRequest, Decide, Reopen, RequestExtension,
    ReturnRequest, Review, Screen, SubmitReport,
};
use crate::domain::env::Env;
use crate::domain::workflow;
use crate::error::AppResult;
use crate::state::AppState;

type No = web::Path<String>;

/// Runs one workflow action on the blocking pool.
async fn act<T, F>(state: web::Data<AppState>, f: F) -> AppResult<HttpResponse>
where
    T: Serialize + Send + 'static,
    F: FnOnce(&mut DbConn, &Env, DateTime<Utc>) -> AppResult<T> + Send + 'static,
{
    let now = state.clock.now();
    let st = state.clone();
    let result = state.db(move |c| f(c, &st.intake, now)).await?;
    Ok(HttpResponse::Ok().json(result))
}

#[utoipa::path(
    post,
    path = "/api/v1/complaints/{tracking_no}/screen",
    tag = "workflow",
    summary = "Screen: invalid or duplicate",
    request_body = Screen,
    params(
        ("tracking_no" = String, Path, description = "The case's tracking number"),
    ),
    responses(
        (status = 200, description = "The case's new state", body = crate::domain::workflow::CaseState),
        BadBody, Unauthorized, Forbidden, NotFound, Conflict, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn screen_complaint(
    state: web::Data<AppState>,
    no: No,
    Authorized(actor, cmd): Authorized<Screen>,
) -> AppResult<HttpResponse> {
    act(state, move |c, env, now| {
        workflow::screen(c, env, &actor, &no, cmd, now)
    })
    .await
}

#[utoipa::path(
    post,
    path = "/api/v1/complaints/{tracking_no}/assign",
    tag = "workflow",
    summary = "Assign to a unit, with a transfer letter",
    request_body = AssignCase,
    params(
        ("tracking_no" = String, Path, description = "The case's tracking number"),
    ),
    responses(
        (status = 200, description = "The case's new state", body = crate::domain::workflow::CaseState),
        BadBody, Unauthorized, Forbidden, NotFound, Conflict, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn assign_complaint(
    state: web::Data<AppState>,
    no: No,
    Authorized(actor, cmd): Authorized<AssignCase>,
) -> AppResult<HttpResponse> {
    act(state, move |c, env, now| {
        workflow::assign(c, env, &actor, &no, cmd, now)
    })
    .await
}

#[utoipa::path(
    post,
    path = "/api/v1/complaints/{tracking_no}/acknowledge",
    tag = "workflow",
    summary = "Sign for the case (unit)",
    params(
        ("tracking_no" = String, Path, description = "The case's tracking number"),
    ),
    responses(
        (status = 200, description = "The case's new state", body = crate::domain::workflow::CaseState),
        Unauthorized, Forbidden, NotFound, Conflict, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn acknowledge_complaint(
    actor: Actor,
    state: web::Data<AppState>,
    no: No,
) -> AppResult<HttpResponse> {
    act(state, move |c, _, now| {
        workflow::acknowledge(c, &actor, &no, now)
    })
    .await
}

#[utoipa::path(
    post,
    path = "/api/v1/complaints/{tracking_no}/return",
    tag = "workflow",
    summary = "Ask to return the case (unit)",
    request_body = ReturnRequest,
    params(
        ("tracking_no" = String, Path, description = "The case's tracking number"),
    ),
    responses(
        (status = 200, description = "The case's new state", body = crate::domain::workflow::CaseState),
        BadBody, Unauthorized, Forbidden, NotFound, Conflict, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn return_complaint(
    state: web::Data<AppState>,
    no: No,
    Authorized(actor, cmd): Authorized<ReturnRequest>,
) -> AppResult<HttpResponse> {
    act(state, move |c, env, now| {
        workflow::request_return(c, env, &actor, &no, cmd, now)
    })
    .await
}

#[utoipa::path(
    post,
    path = "/api/v1/complaints/{tracking_no}/return/decision",
    tag = "workflow",
    summary = "Decide a return request",
    request_body = Decide,
    params(
        ("tracking_no" = String, Path, description = "The case's tracking number"),
    ),
    responses(
        (status = 200, description = "The case's new state", body = crate::domain::workflow::CaseState),
        BadBody, Unauthorized, Forbidden, NotFound, Conflict, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn decide_return(
    state: web::Data<AppState>,
    no: No,
    Authorized(actor, cmd): Authorized<Decide>,
) -> AppResult<HttpResponse> {
    act(state, move |c, env, now| {
        workflow::decide_return(c, env, &actor, &no, cmd, now)
    })
    .await
}

#[utoipa::path(
    post,
    path = "/api/v1/complaints/{tracking_no}/progress",
    tag = "workflow",
    summary = "Add a progress note (unit)",
    request_body = AddProgress,
    params(
        ("tracking_no" = String, Path, description = "The case's tracking number"),
    ),
    responses(
        (status = 200, description = "The case's new state", body = crate::domain::workflow::CaseState),
        BadBody, Unauthorized, Forbidden, NotFound, Conflict, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn add_progress(
    state: web::Data<AppState>,
    no: No,
    Authorized(actor, cmd): Authorized<AddProgress>,
) -> AppResult<HttpResponse> {
    act(state, move |c, env, now| {
        workflow::add_progress(c, env, &actor, &no, cmd, now)
    })
    .await
}

#[utoipa::path(
    post,
    path = "/api/v1/complaints/{tracking_no}/progress/{id}/publication",
    tag = "workflow",
    summary = "Decide whether a unit's public note goes on the citizen's page",
    request_body = Decide,
    params(
        ("tracking_no" = String, Path, description = "The case's tracking number"),
        ("id" = i64, Path, description = "The progress note"),
    ),
    responses(
        (status = 200, description = "The case's new state", body = crate::domain::workflow::CaseState),
        BadBody, Unauthorized, Forbidden, NotFound, Conflict, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn decide_publication(
    state: web::Data<AppState>,
    path: web::Path<(String, i64)>,
    Authorized(actor, cmd): Authorized<Decide>,
) -> AppResult<HttpResponse> {
    let (no, id) = path.into_inner();
    act(state, move |c, _, now| {
        workflow::decide_publication(c, &actor, &no, id, cmd, now)
    })
    .await
}

#[utoipa::path(
    post,
    path = "/api/v1/complaints/{tracking_no}/extensions",
    tag = "workflow",
    summary = "Ask for more time, before the deadline (unit)",
    request_body = RequestExtension,
    params(
        ("tracking_no" = String, Path, description = "The case's tracking number"),
    ),
    responses(
        (status = 201, description = "The extension request", body = crate::domain::workflow::ExtensionCreated),
        BadBody, Unauthorized, Forbidden, NotFound, Conflict, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn request_extension(
    state: web::Data<AppState>,
    no: No,
    Authorized(actor, cmd): Authorized<RequestExtension>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now();
    let created = state
        .db(move |c| workflow::request_extension(c, &actor, &no, cmd, now))
        .await?;
    Ok(HttpResponse::Created().json(created))
}

#[utoipa::path(
    post,
    path = "/api/v1/complaints/{tracking_no}/extensions/{id}/decision",
    tag = "workflow",
    summary = "Decide an extension request",
    request_body = Decide,
    params(
        ("tracking_no" = String, Path, description = "The case's tracking number"),
        ("id" = i64, Path, description = "The extension request"),
    ),
    responses(
        (status = 200, description = "The case's new state", body = crate::domain::workflow::CaseState),
        BadBody, Unauthorized, Forbidden, NotFound, Conflict, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn decide_extension(
    state: web::Data<AppState>,
    path: web::Path<(String, i64)>,
    Authorized(actor, cmd): Authorized<Decide>,
) -> AppResult<HttpResponse> {
    let (no, id) = path.into_inner();
    act(state, move |c, env, now| {
        workflow::decide_extension(c, env, &actor, &no, id, cmd, now)
    })
    .await
}

#[utoipa::path(
    post,
    path = "/api/v1/complaints/{tracking_no}/report",
    tag = "workflow",
    summary = "Report the result (unit)",
    request_body = SubmitReport,
    params(
        ("tracking_no" = String, Path, description = "The case's tracking number"),
    ),
    responses(
        (status = 200, description = "The case's new state", body = crate::domain::workflow::CaseState),
        BadBody, Unauthorized, Forbidden, NotFound, Conflict, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn submit_report(
    state: web::Data<AppState>,
    no: No,
    Authorized(actor, cmd): Authorized<SubmitReport>,
) -> AppResult<HttpResponse> {
    act(state, move |c, _, now| {
        workflow::submit_report(c, &actor, &no, cmd, now)
    })
    .await
}

#[utoipa::path(
    post,
    path = "/api/v1/complaints/{tracking_no}/review",
    tag = "workflow",
    summary = "Accept the report or order a redo",
    request_body = Review,
    params(
        ("tracking_no" = String, Path, description = "The case's tracking number"),
    ),
    responses(
        (status = 200, description = "The case's new state", body = crate::domain::workflow::CaseState),
        BadBody, Unauthorized, Forbidden, NotFound, Conflict, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn review_report(
    state: web::Data<AppState>,
    no: No,
    Authorized(actor, cmd): Authorized<Review>,
) -> AppResult<HttpResponse> {
    act(state, move |c, env, now| {
        workflow::review(c, env, &actor, &no, cmd, now)
    })
    .await
}

#[utoipa::path(
    post,
    path = "/api/v1/complaints/{tracking_no}/callback",
    tag = "workflow",
    summary = "Record the citizen's satisfaction (callback)",
    request_body = CallbackAttempt,
    params(
        ("tracking_no" = String, Path, description = "The case's tracking number"),
    ),
    responses(
        (status = 200, description = "The case's new state", body = crate::domain::workflow::CaseState),
        BadBody, Unauthorized, Forbidden, NotFound, Conflict, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn record_callback(
    state: web::Data<AppState>,
    no: No,
    Authorized(actor, cmd): Authorized<CallbackAttempt>,
) -> AppResult<HttpResponse> {
    act(state, move |c, env, now| {
        crate::domain::callbacks::callback(c, env, &actor, &no, cmd, now)
    })
    .await
}

#[utoipa::path(
    post,
    path = "/api/v1/complaints/{tracking_no}/callback/contact",
    tag = "workflow",
    summary = "The phone number for a callback, with a reason (an audit event)",
    request_body = ContactRequest,
    params(
        ("tracking_no" = String, Path, description = "The case's tracking number"),
    ),
    responses(
        (status = 200, description = "Only the phone number", body = crate::domain::callbacks::Contact),
        BadBody, Unauthorized, Forbidden, NotFound, Conflict, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn callback_contact(
    state: web::Data<AppState>,
    no: No,
    Authorized(actor, cmd): Authorized<ContactRequest>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now();
    let st = state.clone();
    let contact = state
        .db(move |c| crate::domain::callbacks::contact(c, &st.intake, &actor, &no, cmd, now))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(contact))
}

#[utoipa::path(
    post,
    path = "/api/v1/complaints/{tracking_no}/reopen",
    tag = "workflow",
    summary = "Reopen after an unsatisfied answer",
    request_body = Reopen,
    params(
        ("tracking_no" = String, Path, description = "The case's tracking number"),
    ),
    responses(
        (status = 200, description = "The case's new state", body = crate::domain::workflow::CaseState),
        BadBody, Unauthorized, Forbidden, NotFound, Conflict, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn reopen_complaint(
    state: web::Data<AppState>,
    no: No,
    Authorized(actor, cmd): Authorized<Reopen>,
) -> AppResult<HttpResponse> {
    act(state, move |c, env, now| {
        workflow::reopen(c, env, &actor, &no, cmd, now)
    })
    .await
}
