//! The supervisor's queue.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};

use super::Params;
use super::responses::{Forbidden, Invalid, Unauthorized, Unavailable};
use crate::auth::Actor;
use crate::error::AppResult;
use crate::state::AppState;

/// `GET /api/v1/queue` (supervisor).
#[utoipa::path(
    get,
    path = "/api/v1/queue",
    tag = "complaints",
    summary = "The office's queue: every bucket's count and oldest cases",
    params(
        ("limit" = Option<i64>, Query, description = "Oldest cases listed per bucket, 1 to 50 (default 5)"),
    ),
    responses(
        (status = 200, description = "The buckets, in the order of the day's work", body = crate::domain::queue::Queue),
        Invalid, Unauthorized, Forbidden, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn get_queue(
    actor: Actor,
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    let mut p = Params::new(query.into_inner(), &["limit"]);
    let limit = p.int("limit", 5, 1, 50);
    p.finish()?;
    let now = state.clock.now();
    let st = state.clone();
    let queue = state
        .db(move |c| crate::domain::queue::read(c, &actor, limit, &st.reading(now)))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(queue))
}
