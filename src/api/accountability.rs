//! Accountability cases: list, read, open by hand, the unit's defence and
//! the supervisor's decision; and the catalogue of situations.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use serde_json::json;

use super::command::Authorized;
use super::responses::{
    BadBody, Conflict, Forbidden, Invalid, NotFound, Unauthorized, Unavailable,
};
use super::{Page, Params};
use crate::auth::Actor;
use crate::db::accountability::AccountabilityFilter;
use crate::domain::accountability;
use crate::domain::commands::{DecideAccountability, FileDefence, OpenAccountability};
use crate::error::AppResult;
use crate::state::AppState;

/// `GET /api/v1/accountability`: filters `unit`, `status`, `year`,
/// `tracking_no`; a unit officer sees its own unit's only.
#[utoipa::path(
    get,
    path = "/api/v1/accountability",
    tag = "accountability",
    summary = "Accountability cases",
    params(
        ("unit" = Option<String>, Query, description = "Unit code"),
        ("status" = Option<String>, Query, description = "open, defended or decided"),
        ("year" = Option<i32>, Query, description = "Score year"),
        ("tracking_no" = Option<String>, Query, description = "Cases about one complaint"),
        crate::api::responses::Paging,
    ),
    responses(
        (status = 200, description = "Cases, newest first (a unit: its own)", body = crate::api::Page<crate::domain::accountability::AccountabilityView>),
        Invalid, Unauthorized, Forbidden, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn list_accountability(
    actor: Actor,
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    let mut p = Params::new(
        query.into_inner(),
        &["unit", "status", "year", "tracking_no"],
    );
    let (page, per_page) = p.paging(super::DEFAULT_PER_PAGE);
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
    Ok(Page::answer(items, total, page, per_page))
}

/// `GET /api/v1/accountability/{id}`.
#[utoipa::path(
    get,
    path = "/api/v1/accountability/{id}",
    tag = "accountability",
    summary = "One accountability case",
    params(
        ("id" = i64, Path, description = "The accountability case"),
    ),
    responses(
        (status = 200, description = "The case", body = crate::domain::accountability::AccountabilityView),
        Unauthorized, Forbidden, NotFound, Unavailable,
    ),
    security(("bearer" = [])),
)]
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
#[utoipa::path(
    post,
    path = "/api/v1/accountability",
    tag = "accountability",
    summary = "Open an accountability case by hand",
    request_body = OpenAccountability,
    responses(
        (status = 201, description = "The new case", body = crate::domain::accountability::AccountabilityView),
        BadBody, Unauthorized, Forbidden, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn open_accountability(
    state: web::Data<AppState>,
    Authorized(actor, cmd): Authorized<OpenAccountability>,
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
                cmd,
                now,
            )
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// `POST /api/v1/accountability/{id}/defence` (unit).
#[utoipa::path(
    post,
    path = "/api/v1/accountability/{id}/defence",
    tag = "accountability",
    summary = "File the unit's defence (unit)",
    request_body = FileDefence,
    params(
        ("id" = i64, Path, description = "The accountability case"),
    ),
    responses(
        (status = 200, description = "The case", body = crate::domain::accountability::AccountabilityView),
        BadBody, Unauthorized, Forbidden, NotFound, Conflict, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn file_defence(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    Authorized(actor, cmd): Authorized<FileDefence>,
) -> AppResult<HttpResponse> {
    let (id, now, st) = (path.into_inner(), state.clock.now(), state.clone());
    let view = state
        .db(move |c| accountability::file_defence(c, &st.ladder.catalogue, &actor, id, cmd, now))
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// `POST /api/v1/accountability/{id}/decision` (supervisor).
#[utoipa::path(
    post,
    path = "/api/v1/accountability/{id}/decision",
    tag = "accountability",
    summary = "Decide an accountability case",
    request_body = DecideAccountability,
    params(
        ("id" = i64, Path, description = "The accountability case"),
    ),
    responses(
        (status = 200, description = "The case", body = crate::domain::accountability::AccountabilityView),
        BadBody, Unauthorized, Forbidden, NotFound, Conflict, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn decide_accountability(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    Authorized(actor, cmd): Authorized<DecideAccountability>,
) -> AppResult<HttpResponse> {
    let (id, now, st) = (path.into_inner(), state.clock.now(), state.clone());
    let view = state
        .db(move |c| {
            accountability::decide(c, &st.intake, &st.ladder.catalogue, &actor, id, cmd, now)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// `GET /api/v1/accountability/situations` (staff): the catalogue.
#[utoipa::path(
    get,
    path = "/api/v1/accountability/situations",
    tag = "accountability",
    summary = "The catalogue of situations and the decisions",
    responses(
        (status = 200, description = "The catalogue", body = crate::api::responses::CatalogueView),
        Unauthorized, Forbidden, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn list_situations(_actor: Actor, state: web::Data<AppState>) -> HttpResponse {
    let c = &state.ladder.catalogue;
    HttpResponse::Ok().json(json!({
        "aspects": c.aspects,
        "situations": c.situations,
        "decisions": accountability::DECISIONS,
    }))
}
