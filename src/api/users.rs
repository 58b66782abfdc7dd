//! Account administration (admin).

use actix_web::{HttpResponse, web};
use serde_json::Value;

use crate::auth::Actor;
use crate::domain::users::{self, UserView};
use crate::error::AppResult;
use crate::state::AppState;

/// `POST /api/v1/users`.
#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "users",
    summary = "Create an account",
    request_body = crate::api::docs::CreateUser,
    responses(
        (status = 201, description = "The account", body = crate::domain::users::UserView),
        (status = 400, description = "The body or query could not be read", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not do this", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not possible in the current state", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is too large", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body must be JSON", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, each named", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is not available (see Retry-After)", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn create_user(
    actor: Actor,
    state: web::Data<AppState>,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    crate::auth::policy::require(&actor, crate::auth::policy::Action::ManageUsers)?;
    let account = users::read_new_account(&body)?;
    let now = state.clock.now();
    let user = state
        .db(move |c| users::create(c, Some(&actor), &account, now))
        .await?;
    Ok(HttpResponse::Created().json(UserView::from(&user)))
}

/// `PATCH /api/v1/users/{id}`: `active`, `password`, `role`, `unit`; every
/// change revokes the user's tokens.
#[utoipa::path(
    patch,
    path = "/api/v1/users/{id}",
    tag = "users",
    summary = "Change an account (revokes its tokens)",
    request_body = crate::api::docs::UpdateUser,
    params(
        ("id" = i64, Path, description = "The account"),
    ),
    responses(
        (status = 200, description = "The account", body = crate::domain::users::UserView),
        (status = 400, description = "The body or query could not be read", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not do this", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such record (or not yours)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is too large", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body must be JSON", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, each named", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is not available (see Retry-After)", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn update_user(
    actor: Actor,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let now = state.clock.now();
    let body = body.into_inner();
    let user = state
        .db(move |c| users::update(c, &actor, id, &body, now))
        .await?;
    Ok(HttpResponse::Ok().json(UserView::from(&user)))
}
