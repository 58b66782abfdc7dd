//! `Actor` as a handler argument: reads the bearer token, checks it, and
//! checks the user in the database (active, same token version), so that
//! deactivation or a password change takes effect on the next request.

use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use futures_util::future::LocalBoxFuture;

use super::Actor;
use super::policy::Role;
use crate::error::AppError;
use crate::state::AppState;

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}

impl FromRequest for Actor {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Actor, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer(req);
        Box::pin(async move {
            let state =
                state.ok_or_else(|| AppError::Internal(anyhow::anyhow!("state missing")))?;
            let token = token.ok_or(AppError::Unauthorized)?;
            let claims = state
                .tokens
                .verify(&token, state.clock.now())
                .ok_or(AppError::Unauthorized)?;
            let user_id: i64 = claims.sub.parse().map_err(|_| AppError::Unauthorized)?;
            let user = state
                .db(move |c| Ok(crate::db::users::by_id(c, user_id)?))
                .await?
                .ok_or(AppError::Unauthorized)?;
            if !user.active || user.token_version != claims.ver || user.role != claims.role {
                return Err(AppError::Unauthorized);
            }
            let role = Role::parse(&user.role).ok_or(AppError::Unauthorized)?;
            tracing::Span::current().record("user.id", user.id);
            Ok(Actor {
                user_id: user.id,
                role,
                unit_code: user.unit_code,
            })
        })
    }
}
