//! Extractors of commands (docs/architecture.md, *Commands*): a handler
//! starts with a checked command or never runs.
//!
//! - `Cmd<C>`: a public command from the JSON body.
//! - `Authorized<C>`: a staff command: the bearer token makes the `Actor`
//!   (401), the body must be JSON within the limits (413, 400, 415), the
//!   actor's role must have the command's action (403), and only then are
//!   the fields read (422) — so a role learns nothing of a command it may
//!   not send.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use serde_json::Value;

use crate::auth::{Actor, policy};
use crate::domain::command::{Command, Fields, Source};
use crate::error::AppError;
use crate::state::AppState;

type Extracting<T> = Pin<Box<dyn Future<Output = Result<T, actix_web::Error>>>>;

/// A public command read from the request's JSON body.
pub struct Cmd<C>(pub C);

/// A staff command and who sends it.
pub struct Authorized<C>(pub Actor, pub C);

fn state_of(req: &HttpRequest) -> Result<web::Data<AppState>, AppError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("the application state is not registered"))
        })
}

impl<C: Fields + 'static> FromRequest for Cmd<C> {
    type Error = actix_web::Error;
    type Future = Extracting<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Json::<Value>::from_request(req, payload);
        let state = state_of(req);
        Box::pin(async move {
            let body = body.await?.into_inner();
            Ok(Cmd(state?.parse::<C>(&body, Source::Json).await?))
        })
    }
}

impl<C: Command + 'static> FromRequest for Authorized<C> {
    type Error = actix_web::Error;
    type Future = Extracting<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let actor = Actor::from_request(req, payload);
        let body = web::Json::<Value>::from_request(req, payload);
        let state = state_of(req);
        Box::pin(async move {
            let actor = actor.await?;
            let body = body.await?.into_inner();
            policy::require(&actor, C::ACTION)?;
            let cmd = state?.parse::<C>(&body, Source::Json).await?;
            Ok(Authorized(actor, cmd))
        })
    }
}
