//! `GET /api/v1/audit/verify` (auditor, admin): recompute every chain.

use actix_web::{HttpResponse, web};

use super::docs::{Forbidden, Unauthorized, Unavailable};
use crate::auth::Actor;
use crate::auth::policy::{self, Action};
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
