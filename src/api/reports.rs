//! Reporting: the ranking, the statistics and the CSV export.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use futures_util::{StreamExt, stream};

use super::Params;
use super::responses::{Forbidden, Invalid, Unauthorized, Unavailable};
use crate::auth::Actor;
use crate::domain::export;
use crate::domain::ranking::{self, RankingRules};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// `GET /api/v1/ranking?year=` (staff): the year defaults to this one.
#[utoipa::path(
    get,
    path = "/api/v1/ranking",
    tag = "reports",
    summary = "The units ranked for a year",
    params(
        ("year" = Option<i32>, Query, description = "Year (default: this year)"),
    ),
    responses(
        (status = 200, description = "Every unit with its figures", body = crate::domain::ranking::Ranking),
        Invalid, Unauthorized, Forbidden, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn get_ranking(
    actor: Actor,
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now();
    let tz = state.intake.tz;
    let mut p = Params::new(query.into_inner(), &["year"]);
    let year = p.int(
        "year",
        i64::from(ranking::current_year(now, tz)),
        2000,
        2100,
    ) as i32;
    p.finish()?;
    let s = &state.settings.ranking;
    let rules = RankingRules {
        base_centipoints: (s.base_score * 100.0).round() as i64,
        min_cases: s.min_cases,
    };
    let result = state
        .db(move |c| ranking::ranking(c, &actor, rules, tz, year, now, ranking::Source::Aggregates))
        .await?;
    Ok(HttpResponse::Ok().json(result))
}

/// `GET /api/v1/stats?from=&to=` (supervisor, auditor): dates are local
/// days, both included; the default is this year up to now.
#[utoipa::path(
    get,
    path = "/api/v1/stats",
    tag = "reports",
    summary = "Counts for a period",
    params(
        ("from" = Option<String>, Query, description = "From: a local date (default: 1 January)"),
        ("to" = Option<String>, Query, description = "Up to: a local date (included; default: now)"),
    ),
    responses(
        (status = 200, description = "The period's counts", body = crate::domain::ranking::Stats),
        Invalid, Unauthorized, Forbidden, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn get_stats(
    actor: Actor,
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now();
    let tz = state.intake.tz;
    let mut p = Params::new(query.into_inner(), &["from", "to"]);
    let year_start = ranking::year_bounds(ranking::current_year(now, tz), tz).0;
    let from = p.instant("from", tz, false).unwrap_or(year_start);
    let to = p
        .instant("to", tz, true)
        .unwrap_or_else(|| crate::db::to_db(now));
    p.ordered(Some(from), Some(to));
    p.finish()?;
    let result = state
        .db(move |c| ranking::stats(c, &actor, from, to, ranking::Source::Aggregates))
        .await?;
    Ok(HttpResponse::Ok().json(result))
}

/// `GET /api/v1/complaints.csv` (supervisor, auditor): the filters of the
/// case list; streamed in chunks, without identity.
#[utoipa::path(
    get,
    path = "/api/v1/complaints.csv",
    tag = "reports",
    summary = "Export the case list as CSV (no identity)",
    params(
        crate::api::responses::CaseFilter,
    ),
    responses(
        (status = 200, description = "CSV, UTF-8 with BOM", body = String, content_type = "text/csv"),
        Invalid, Unauthorized, Forbidden, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn export_complaints(
    actor: Actor,
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now();
    let tz = state.intake.tz;
    let (filter, _) = super::complaints::read_filter(query.into_inner(), tz, now)?;
    // The first chunk before answering, so that a refusal is a proper status.
    let (f, a) = (filter.clone(), actor.clone());
    let (first, next) = state.db(move |c| export::chunk(c, &a, &f, 0, tz)).await?;
    let head = web::Bytes::from(export::header() + &first);
    let rest = stream::unfold(
        Some((state.clone(), actor, filter, next)),
        move |cursor| async move {
            let (state, actor, filter, after) = cursor?;
            let after = after?;
            let (f, a) = (filter.clone(), actor.clone());
            match state.db(move |c| export::chunk(c, &a, &f, after, tz)).await {
                Ok((text, last)) => Some((
                    Ok(web::Bytes::from(text)),
                    Some((state, actor, filter, last)),
                )),
                Err(e) => {
                    tracing::warn!(error = %e, "CSV export stopped");
                    Some((Err(e), None))
                }
            }
        },
    );
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}\"", export::file_name(now, tz)),
        ))
        .streaming(stream::once(async { Ok::<_, AppError>(head) }).chain(rest)))
}
