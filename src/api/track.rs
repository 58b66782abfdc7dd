//! `POST /api/v1/track`: public lookup with tracking number and query code.

use actix_web::{HttpRequest, HttpResponse, web};

use super::command::Cmd;
use super::responses::{BadBody, Conflict, NotFound, TooManyAttempts, Unavailable};
use crate::domain::commands::{FeedbackRequest, TrackRequest};
use crate::domain::tracking;
use crate::error::AppResult;
use crate::state::AppState;

#[utoipa::path(
    post,
    path = "/api/v1/track",
    tag = "public",
    summary = "Track a case with its tracking number and query code",
    request_body = TrackRequest,
    responses(
        (status = 200, description = "What the public may see of the case", body = crate::domain::tracking::TrackView),
        BadBody, NotFound, TooManyAttempts, Unavailable,
    ),
)]
pub async fn track_complaint(
    req: HttpRequest,
    state: web::Data<AppState>,
    Cmd(cmd): Cmd<TrackRequest>,
) -> AppResult<HttpResponse> {
    let (tracking_no, query_code) = (cmd.tracking_no.into_inner(), cmd.query_code.into_inner());
    let client = crate::request::client_address(&req, &state);
    let now = state.clock.now();
    let st = state.clone();
    let paced = state
        .db(move |c| {
            let asked = tracking::Asked {
                client: &client,
                tracking_no: &tracking_no,
                query_code: &query_code,
            };
            tracking::track(c, &st.intake, &st.tracking, &asked, now)
        })
        .await?;
    let view = crate::request::paced(paced).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(view))
}

/// `POST /api/v1/track/feedback`: the citizen rates a closed case, once.
#[utoipa::path(
    post,
    path = "/api/v1/track/feedback",
    tag = "public",
    summary = "Rate the result of a closed case",
    request_body = FeedbackRequest,
    responses(
        (status = 201, description = "Recorded, with what happens next", body = crate::domain::workflow::FeedbackReceipt),
        BadBody, NotFound, Conflict, TooManyAttempts, Unavailable,
    ),
)]
pub async fn submit_feedback(
    req: HttpRequest,
    state: web::Data<AppState>,
    Cmd(cmd): Cmd<FeedbackRequest>,
) -> AppResult<HttpResponse> {
    let (tracking_no, query_code) = (cmd.tracking_no.to_string(), cmd.query_code.to_string());
    let client = crate::request::client_address(&req, &state);
    let now = state.clock.now();
    let st = state.clone();
    let paced = state
        .db(move |c| {
            let asked = tracking::Asked {
                client: &client,
                tracking_no: &tracking_no,
                query_code: &query_code,
            };
            let paced = tracking::verify_pair(c, &st.intake, &st.tracking, &asked, now)?;
            Ok(tracking::Paced {
                outcome: paced
                    .outcome
                    .and_then(|case| crate::domain::workflow::public_feedback(c, &case, &cmd, now)),
                hold: paced.hold,
            })
        })
        .await?;
    let receipt = crate::request::paced(paced).await?;
    Ok(HttpResponse::Created().json(receipt))
}
