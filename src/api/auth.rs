//! `POST /api/v1/auth/token`: username and password for an access token.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use super::command::Cmd;
use super::responses::{BadBody, TooManyAttempts, Unauthorized, Unavailable};
use crate::domain::commands::TokenRequest;
use crate::domain::users;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/token",
    tag = "auth",
    summary = "Log in: an access token",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "A bearer token", body = crate::api::auth::TokenResponse),
        BadBody, Unauthorized, TooManyAttempts, Unavailable,
    ),
)]
pub async fn issue_token(
    req: HttpRequest,
    state: web::Data<AppState>,
    Cmd(cmd): Cmd<TokenRequest>,
) -> AppResult<HttpResponse> {
    let username = cmd.username.into_inner();
    let password = cmd.password.expose().to_owned();
    let client = crate::request::client_address(&req, &state);
    let now = state.clock.now();
    let st = state.clone();
    let (who, from) = (username.clone(), client.clone());
    let hold = state
        .db(move |c| users::login_gate(c, &st.intake.keys, &st.login, &from, &who, now))
        .await?;
    if !hold.is_zero() {
        actix_web::rt::time::sleep(hold).await;
    }
    let st = state.clone();
    let user = state
        .db(move |c| {
            users::log_in(
                c,
                &st.intake.keys,
                &st.login,
                &client,
                &username,
                &password,
                now,
            )
        })
        .await?;
    let token = state
        .tokens
        .issue(
            user.id,
            &user.role,
            user.unit_code.as_deref(),
            user.token_version,
            now,
        )
        .map_err(AppError::Internal)?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(TokenResponse {
            access_token: token,
            token_type: "Bearer",
            expires_in: state.tokens.ttl_seconds,
        }))
}
