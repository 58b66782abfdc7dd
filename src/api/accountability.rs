//! Accountability cases: list, read, open by hand, the unit's defence and
//! the supervisor's decision; and the catalogue of situations.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::{Page, Params};
use crate::auth::Actor;
use crate::db::accountability::AccountabilityFilter;
use crate::domain::accountability;
use crate::error::AppResult;
use crate::state::AppState;

/// `GET /api/v1/accountability`: filters `unit`, `status`, `year`,
/// `tracking_no`; a unit officer sees its own unit's only.
pub async fn list_accountability(
    actor: Actor,
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    let mut p = Params::new(
        query.into_inner(),
        &["unit", "status", "year", "tracking_no"],
    );
    let (page, per_page) = p.paging(50);
    let year = p
        .text("year", 4)
        .map(|_| p.int("year", 0, 2000, 2100) as i32);
    let filter = AccountabilityFilter {
        unit: p.text("unit", 16),
        status: p.choice("status", &["open", "defended", "decided"]),
        complaint_id: None,
        year,
    };
    let tracking_no = p.text("tracking_no", 40);
    p.finish()?;
    let st = state.clone();
    let (items, total) = state
        .db(move |c| {
            accountability::list(
                c,
                &st.ladder.catalogue,
                &actor,
                filter,
                tracking_no,
                page,
                per_page,
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page {
        items,
        page,
        per_page,
        total,
    }))
}

/// `GET /api/v1/accountability/{id}`.
pub async fn get_accountability(
    actor: Actor,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let st = state.clone();
    let view = state
        .db(move |c| accountability::get(c, &st.ladder.catalogue, &actor, id))
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// `POST /api/v1/accountability` (supervisor): 201 with the new case.
pub async fn open_accountability(
    actor: Actor,
    state: web::Data<AppState>,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now();
    let st = state.clone();
    let view = state
        .db(move |c| {
            accountability::open_manual(
                c,
                &st.intake,
                &st.ladder.catalogue,
                st.ladder.defence_workdays,
                &actor,
                &body,
                now,
            )
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// `POST /api/v1/accountability/{id}/defence` (unit).
pub async fn file_defence(
    actor: Actor,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    let (id, now, st) = (path.into_inner(), state.clock.now(), state.clone());
    let view = state
        .db(move |c| accountability::file_defence(c, &st.ladder.catalogue, &actor, id, &body, now))
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// `POST /api/v1/accountability/{id}/decision` (supervisor).
pub async fn decide_accountability(
    actor: Actor,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    let (id, now, st) = (path.into_inner(), state.clock.now(), state.clone());
    let view = state
        .db(move |c| {
            accountability::decide(c, &st.intake, &st.ladder.catalogue, &actor, id, &body, now)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// `GET /api/v1/accountability/situations` (staff): the catalogue.
pub async fn list_situations(_actor: Actor, state: web::Data<AppState>) -> HttpResponse {
    let c = &state.ladder.catalogue;
    HttpResponse::Ok().json(json!({
        "aspects": c.aspects,
        "situations": c.situations,
        "decisions": accountability::DECISIONS,
    }))
}
