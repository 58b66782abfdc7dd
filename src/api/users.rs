//! Account administration (admin).

use actix_web::{HttpResponse, web};

use super::command::Authorized;
use super::responses::{BadBody, Conflict, Forbidden, NotFound, Unauthorized, Unavailable};
use crate::domain::commands::{CreateUser, UpdateUser};
use crate::domain::users::{self, UserView};
use crate::error::AppResult;
use crate::state::AppState;

/// `POST /api/v1/users`.
#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "users",
    summary = "Create an account",
    request_body = CreateUser,
    responses(
        (status = 201, description = "The account", body = crate::domain::users::UserView),
        BadBody, Unauthorized, Forbidden, Conflict, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn create_user(
    state: web::Data<AppState>,
    Authorized(actor, cmd): Authorized<CreateUser>,
) -> AppResult<HttpResponse> {
    let account = users::NewAccount::from(cmd);
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
    request_body = UpdateUser,
    params(
        ("id" = i64, Path, description = "The account"),
    ),
    responses(
        (status = 200, description = "The account", body = crate::domain::users::UserView),
        BadBody, Unauthorized, Forbidden, NotFound, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn update_user(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    Authorized(actor, cmd): Authorized<UpdateUser>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let now = state.clock.now();
    let user = state
        .db(move |c| users::update(c, &actor, id, cmd, now))
        .await?;
    Ok(HttpResponse::Ok().json(UserView::from(&user)))
}
