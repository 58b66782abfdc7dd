//! The audit trail (auditor, admin): verification of the log, its signed
//! checkpoints, and search by actor, action, case and date.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};

use super::command::Authorized;
use super::responses::{Forbidden, Invalid, Unauthorized, Unavailable};
use super::{Page, Params};
use crate::auth::Actor;
use crate::auth::policy::{self, Action};
use crate::db::audit::EventFilter;
use crate::domain::commands::VerifyOutside;
use crate::domain::{audit, audit_log};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

#[utoipa::path(
    get,
    path = "/api/v1/audit/verify",
    tag = "audit",
    summary = "Verify the audit log: chains, entries, tree, checkpoints and case states",
    description = "Places what waits in the log first, then walks it on one snapshot. Each finding \
        is named (`kind`, Chinese `message`, position, table and row); the first 100 are listed \
        and `findings_total` counts all. With `chain`, `from` or `to`, only that part is verified \
        (its links, its entries' MACs, a case chain's case state; `scope.whole` is false): the \
        tree, the checkpoints and the log's completeness need the whole log.",
    params(
        ("chain" = Option<String>, Query, description = "One chain: `admin`, `case:<tracking no>` or the tracking number"),
        ("from" = Option<String>, Query, description = "Entries written from: a local date or an RFC 3339 time"),
        ("to" = Option<String>, Query, description = "Up to: a local date (included) or an RFC 3339 time"),
    ),
    responses(
        (status = 200, description = "What was checked and what was found", body = audit_log::AuditReport),
        Invalid, Unauthorized, Forbidden, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn verify_audit(
    actor: Actor,
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    policy::require(&actor, Action::VerifyAudit)?;
    let tz = state.intake.tz;
    let mut p = Params::new(query.into_inner(), &["chain", "from", "to"]);
    let chain = p.text("chain", 80);
    let from = p.instant("from", tz, false);
    let to = p.instant("to", tz, true);
    p.ordered(from, to);
    p.finish()?;
    if chain.is_none() && from.is_none() && to.is_none() {
        return run_verify(&state, Vec::new()).await;
    }
    let keys = state.audit.clone();
    let now = state.clock.now();
    let report = state
        .db(move |c| {
            let part = audit_log::part_of(c, chain.as_deref(), from, to)?;
            audit_log::verify_part(c, &keys, &part, now)
        })
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// `POST /api/v1/audit/verify`.
#[utoipa::path(
    post,
    path = "/api/v1/audit/verify",
    tag = "audit",
    summary = "Verify the audit log against checkpoints kept outside the system",
    request_body = VerifyOutside,
    responses(
        (status = 200, description = "What was checked and what was found", body = audit_log::AuditReport),
        Invalid, Unauthorized, Forbidden, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn verify_against(
    state: web::Data<AppState>,
    Authorized(_actor, cmd): Authorized<VerifyOutside>,
) -> AppResult<HttpResponse> {
    let outside = cmd.checkpoints;
    run_verify(&state, outside).await
}

async fn run_verify(
    state: &web::Data<AppState>,
    outside: Vec<audit_log::Checkpoint>,
) -> AppResult<HttpResponse> {
    let keys = state.audit.clone();
    let now = state.clock.now();
    let report = state
        .db(move |c| audit_log::verify_all(c, &keys, &outside, now, &mut |_| {}))
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// `GET /api/v1/audit/checkpoints`.
#[utoipa::path(
    get,
    path = "/api/v1/audit/checkpoints",
    tag = "audit",
    summary = "The signed checkpoints of the audit log, newest first",
    params(crate::api::responses::Paging),
    responses(
        (status = 200, description = "Checkpoints, newest first", body = crate::api::Page<audit_log::Checkpoint>),
        Invalid, Unauthorized, Forbidden, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn list_checkpoints(
    actor: Actor,
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    policy::require(&actor, Action::VerifyAudit)?;
    let mut p = Params::new(query.into_inner(), &[]);
    let (page, per_page) = p.paging(super::DEFAULT_PER_PAGE);
    p.finish()?;
    let (rows, total) = state
        .db(move |c| {
            let (offset, limit) = crate::db::page_window(page, per_page);
            Ok(crate::db::audit_log::list_checkpoints(c, offset, limit)?)
        })
        .await?;
    let items: Vec<audit_log::Checkpoint> = rows.into_iter().map(Into::into).collect();
    Ok(Page::answer(items, total, page, per_page))
}

/// `POST /api/v1/audit/checkpoints`.
#[utoipa::path(
    post,
    path = "/api/v1/audit/checkpoints",
    tag = "audit",
    summary = "Sign a checkpoint of the audit log now",
    description = "Also e-mailed to `audit.checkpoint_email` and appended to `audit.checkpoint_file` when set.",
    responses(
        (status = 201, description = "The new checkpoint", body = audit_log::Checkpoint),
        Unauthorized, Forbidden, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn make_checkpoint(actor: Actor, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    policy::require(&actor, Action::VerifyAudit)?;
    let made = state
        .db({
            let state = state.clone();
            move |c| {
                audit_log::checkpoint(
                    c,
                    &state.audit,
                    &checkpoint_out(&state),
                    state.clock.now(),
                    None,
                )
            }
        })
        .await?
        .ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("a checkpoint on demand is always made"))
        })?;
    Ok(HttpResponse::Created().json(made))
}

/// Where this instance sends checkpoints.
pub fn checkpoint_out(state: &AppState) -> audit_log::CheckpointOut {
    audit_log::CheckpointOut::from_settings(
        &state.settings.audit,
        &state.settings.smtp.message_id_domain,
    )
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
        crate::api::responses::Paging,
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
