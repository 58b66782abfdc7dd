//! The case workflow over HTTP: supervisor and unit actions on one case.
//! Each answers with the case's new state.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::auth::Actor;
use crate::db::DbConn;
use crate::domain::intake::IntakeEnv;
use crate::domain::workflow;
use crate::error::AppResult;
use crate::state::AppState;

type Body = web::Json<Value>;
type No = web::Path<String>;

/// Runs one workflow action on the blocking pool.
async fn act<T, F>(state: web::Data<AppState>, f: F) -> AppResult<HttpResponse>
where
    T: Serialize + Send + 'static,
    F: FnOnce(&mut DbConn, &IntakeEnv, DateTime<Utc>) -> AppResult<T> + Send + 'static,
{
    let now = state.clock.now();
    let st = state.clone();
    let result = state.db(move |c| f(c, &st.intake, now)).await?;
    Ok(HttpResponse::Ok().json(result))
}

pub async fn screen_complaint(
    actor: Actor,
    state: web::Data<AppState>,
    no: No,
    body: Body,
) -> AppResult<HttpResponse> {
    act(state, move |c, _, now| {
        workflow::screen(c, &actor, &no, &body, now)
    })
    .await
}

pub async fn assign_complaint(
    actor: Actor,
    state: web::Data<AppState>,
    no: No,
    body: Body,
) -> AppResult<HttpResponse> {
    act(state, move |c, env, now| {
        workflow::assign(c, env, &actor, &no, &body, now)
    })
    .await
}

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

pub async fn return_complaint(
    actor: Actor,
    state: web::Data<AppState>,
    no: No,
    body: Body,
) -> AppResult<HttpResponse> {
    act(state, move |c, _, now| {
        workflow::request_return(c, &actor, &no, &body, now)
    })
    .await
}

pub async fn decide_return(
    actor: Actor,
    state: web::Data<AppState>,
    no: No,
    body: Body,
) -> AppResult<HttpResponse> {
    act(state, move |c, env, now| {
        workflow::decide_return(c, env, &actor, &no, &body, now)
    })
    .await
}

pub async fn add_progress(
    actor: Actor,
    state: web::Data<AppState>,
    no: No,
    body: Body,
) -> AppResult<HttpResponse> {
    act(state, move |c, _, now| {
        workflow::add_progress(c, &actor, &no, &body, now)
    })
    .await
}

pub async fn request_extension(
    actor: Actor,
    state: web::Data<AppState>,
    no: No,
    body: Body,
) -> AppResult<HttpResponse> {
    let now = state.clock.now();
    let created = state
        .db(move |c| workflow::request_extension(c, &actor, &no, &body, now))
        .await?;
    Ok(HttpResponse::Created().json(created))
}

pub async fn decide_extension(
    actor: Actor,
    state: web::Data<AppState>,
    path: web::Path<(String, i64)>,
    body: Body,
) -> AppResult<HttpResponse> {
    let (no, id) = path.into_inner();
    act(state, move |c, env, now| {
        workflow::decide_extension(c, env, &actor, &no, id, &body, now)
    })
    .await
}

pub async fn submit_report(
    actor: Actor,
    state: web::Data<AppState>,
    no: No,
    body: Body,
) -> AppResult<HttpResponse> {
    act(state, move |c, env, now| {
        let today = now.with_timezone(&env.tz).date_naive();
        workflow::submit_report(c, &actor, &no, &body, today, now)
    })
    .await
}

pub async fn review_report(
    actor: Actor,
    state: web::Data<AppState>,
    no: No,
    body: Body,
) -> AppResult<HttpResponse> {
    act(state, move |c, env, now| {
        workflow::review(c, env, &actor, &no, &body, now)
    })
    .await
}

pub async fn record_callback(
    actor: Actor,
    state: web::Data<AppState>,
    no: No,
    body: Body,
) -> AppResult<HttpResponse> {
    act(state, move |c, _, now| {
        workflow::callback(c, &actor, &no, &body, now)
    })
    .await
}

pub async fn reopen_complaint(
    actor: Actor,
    state: web::Data<AppState>,
    no: No,
    body: Body,
) -> AppResult<HttpResponse> {
    act(state, move |c, env, now| {
        workflow::reopen(c, env, &actor, &no, &body, now)
    })
    .await
}
