//! `GET /api/v1/audit/verify` (auditor, admin): recompute every chain.

use actix_web::{HttpResponse, web};

use crate::auth::Actor;
use crate::auth::policy::{self, Action};
use crate::domain::audit;
use crate::error::AppResult;
use crate::state::AppState;

pub async fn verify_audit(actor: Actor, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    policy::require(&actor, Action::VerifyAudit)?;
    let report = state.db(|c| Ok(audit::verify(c)?)).await?;
    Ok(HttpResponse::Ok().json(report))
}
