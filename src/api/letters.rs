//! Letters with their delivery state (staff; a unit: its own).

use std::collections::HashMap;

use actix_web::{HttpResponse, web};

use super::responses::{Forbidden, Invalid, NotFound, Unauthorized, Unavailable};
use super::{Page, Params};
use crate::auth::Actor;
use crate::db::letters::LetterFilter;
use crate::domain::letters::{self, KINDS};
use crate::error::AppResult;
use crate::state::AppState;

/// `GET /api/v1/letters`: filters `kind`, `unit`, `tracking_no`.
#[utoipa::path(
    get,
    path = "/api/v1/letters",
    tag = "letters",
    summary = "Letters with their delivery state",
    params(
        ("kind" = Option<String>, Query, description = "transfer, reminder, supervision or accountability"),
        ("unit" = Option<String>, Query, description = "Unit code"),
        ("tracking_no" = Option<String>, Query, description = "Letters of one case"),
        crate::api::responses::Paging,
    ),
    responses(
        (status = 200, description = "Letters, newest first (a unit: its own)", body = crate::api::Page<crate::domain::letters::LetterView>),
        Invalid, Unauthorized, Forbidden, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn list_letters(
    actor: Actor,
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    let mut p = Params::new(query.into_inner(), &["kind", "unit", "tracking_no"]);
    let (page, per_page) = p.paging(super::DEFAULT_PER_PAGE);
    let kind = p.choice("kind", KINDS);
    let unit = p.text("unit", 16);
    let tracking_no = p.text("tracking_no", 40);
    p.finish()?;
    let (items, total) = state
        .db(move |c| {
            let complaint_id = super::case_of(c, tracking_no.as_deref())?;
            let filter = LetterFilter {
                unit,
                kind,
                complaint_id,
            };
            letters::list_letters(c, &actor, filter, page, per_page)
        })
        .await?;
    Ok(Page::answer(items, total, page, per_page))
}

/// `GET /api/v1/letters/{id}`.
#[utoipa::path(
    get,
    path = "/api/v1/letters/{id}",
    tag = "letters",
    summary = "One letter",
    params(
        ("id" = i64, Path, description = "The letter"),
    ),
    responses(
        (status = 200, description = "The letter", body = crate::domain::letters::LetterView),
        Unauthorized, Forbidden, NotFound, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn get_letter(
    actor: Actor,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let letter = state
        .db(move |c| letters::get_letter(c, &actor, id))
        .await?;
    Ok(HttpResponse::Ok().json(letter))
}
