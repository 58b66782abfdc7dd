//! The audit trail: verification (auditor, admin) and search by actor,
//! action, case and date (auditor, admin).

use std::collections::HashMap;

use actix_web::{HttpResponse, web};

use super::docs::{Forbidden, Invalid, Unauthorized, Unavailable};
use super::{Page, Params};
use crate::auth::Actor;
use crate::auth::policy::{self, Action};
use crate::db::audit::EventFilter;
use crate::domain::audit;
use crate::error::AppResult;
use crate::state::AppState;

#[utoipa::path(
    get,
    path = "/api/v1/audit/verify",
    tag = "audit",
    summary = "Recompute every audit chain",
    responses(
        (status = 200, description = "The chains checked and the first broken link, if any", body = crate::domain::audit::VerifyReport),
        Unauthorized, Forbidden, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn verify_audit(actor: Actor, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    policy::require(&actor, Action::VerifyAudit)?;
    let report = state.db(|c| Ok(audit::verify(c)?)).await?;
    Ok(HttpResponse::Ok().json(report))
}

/// `GET /api/v1/audit/events`.
#[utoipa::path(
    get,
    path = "/api/v1/audit/events",
    tag = "audit",
    summary = "Search the audit trail by actor, action, case and date",
    params(
        ("actor" = Option<String>, Query, description = "The acting account: its user id or username"),
        ("action" = Option<String>, Query, description = "An action code, e.g. identity_viewed or assigned"),
        ("tracking_no" = Option<String>, Query, description = "Events of one case"),
        ("chain" = Option<String>, Query, description = "One chain, e.g. admin or case:XG20261127000001"),
        ("from" = Option<String>, Query, description = "From a local date (2026-11-27) or an RFC 3339 time"),
        ("to" = Option<String>, Query, description = "Up to a local date (included) or an RFC 3339 time"),
        crate::api::docs::Paging,
    ),
    responses(
        (status = 200, description = "Events, newest first", body = crate::api::Page<crate::domain::audit::EventView>),
        Invalid, Unauthorized, Forbidden, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn search_events(
    actor: Actor,
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    let tz = state.intake.tz;
    let mut p = Params::new(
        query.into_inner(),
        &["actor", "action", "tracking_no", "chain", "from", "to"],
    );
    let (page, per_page) = p.paging(super::DEFAULT_PER_PAGE);
    let who = p.text("actor", 64);
    let action = p.text("action", 64);
    let tracking_no = p.text("tracking_no", 40);
    let chain = p.text("chain", 80);
    let from = p.instant("from", tz, false);
    let to = p.instant("to", tz, true);
    p.finish()?;
    let (items, total) = state
        .db(move |c| {
            let mut filter = EventFilter {
                action,
                chain,
                from,
                to,
                ..Default::default()
            };
            if let Some(who) = &who {
                // An id, or a username; an unknown account matches nothing.
                filter.actor_id = Some(match who.parse::<i64>() {
                    Ok(id) => id,
                    Err(_) => crate::db::users::by_username(c, who)?.map_or(-1, |u| u.id),
                });
            }
            filter.complaint_id = super::case_of(c, tracking_no.as_deref())?;
            audit::search(c, &actor, &filter, page, per_page, tz)
        })
        .await?;
    Ok(Page::answer(items, total, page, per_page))
}
