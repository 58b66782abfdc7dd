//! Notices sent to units, readable with the same text as their e-mail
//! (a unit: its own), and marked read by the unit.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};

use super::responses::{Forbidden, Invalid, NotFound, Unauthorized, Unavailable};
use super::{Page, Params};
use crate::auth::Actor;
use crate::db::notices::NoticeFilter;
use crate::domain::notices;
use crate::error::AppResult;
use crate::state::AppState;

/// `GET /api/v1/notices`: filters `unread`, `unit`, `tracking_no`.
#[utoipa::path(
    get,
    path = "/api/v1/notices",
    tag = "letters",
    summary = "Notices sent to units (a unit: its own)",
    params(
        ("unread" = Option<bool>, Query, description = "true: only unread; false: only read"),
        ("unit" = Option<String>, Query, description = "Unit code (a unit officer always sees its own)"),
        ("tracking_no" = Option<String>, Query, description = "Notices about one case"),
        crate::api::responses::Paging,
    ),
    responses(
        (status = 200, description = "Notices, newest first", body = crate::api::Page<crate::domain::notices::NoticeView>),
        Invalid, Unauthorized, Forbidden, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn list_notices(
    actor: Actor,
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    let mut p = Params::new(query.into_inner(), &["unread", "unit", "tracking_no"]);
    let (page, per_page) = p.paging(super::DEFAULT_PER_PAGE);
    let unread = p.choice("unread", &["true", "false"]).map(|v| v == "true");
    let unit = p.text("unit", 16);
    let tracking_no = p.text("tracking_no", 40);
    p.finish()?;
    let (items, total) = state
        .db(move |c| {
            let complaint_id = super::case_of(c, tracking_no.as_deref())?;
            let filter = NoticeFilter {
                unit,
                complaint_id,
                unread,
            };
            notices::list(c, &actor, filter, page, per_page)
        })
        .await?;
    Ok(Page::answer(items, total, page, per_page))
}

/// `GET /api/v1/notices/{id}`.
#[utoipa::path(
    get,
    path = "/api/v1/notices/{id}",
    tag = "letters",
    summary = "One notice",
    params(("id" = i64, Path, description = "The notice")),
    responses(
        (status = 200, description = "The notice", body = crate::domain::notices::NoticeView),
        Unauthorized, Forbidden, NotFound, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn get_notice(
    actor: Actor,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let view = state.db(move |c| notices::get(c, &actor, id)).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// `POST /api/v1/notices/{id}/read` (unit).
#[utoipa::path(
    post,
    path = "/api/v1/notices/{id}/read",
    tag = "letters",
    summary = "Mark a notice read (the unit)",
    params(("id" = i64, Path, description = "The notice")),
    responses(
        (status = 200, description = "The notice, read", body = crate::domain::notices::NoticeView),
        Unauthorized, Forbidden, NotFound, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn read_notice(
    actor: Actor,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let now = state.clock.now();
    let view = state
        .db(move |c| notices::mark_read(c, &actor, id, now))
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
