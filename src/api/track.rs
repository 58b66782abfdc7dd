//! `POST /api/v1/track`: public lookup with tracking number and query code.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

use super::docs::{BadBody, Conflict, NotFound, TooManyAttempts, Unavailable};
use crate::domain::fields::Reader;
use crate::domain::tracking;
use crate::error::{AppResult, FieldErrors};
use crate::state::AppState;

#[utoipa::path(
    post,
    path = "/api/v1/track",
    tag = "public",
    summary = "Track a case with its tracking number and query code",
    request_body = crate::api::docs::TrackRequest,
    responses(
        (status = 200, description = "What the public may see of the case", body = crate::domain::tracking::TrackView),
        BadBody, NotFound, TooManyAttempts, Unavailable,
    ),
)]
pub async fn track_complaint(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    let mut errors = FieldErrors::new();
    let mut r = Reader::root(&body, &mut errors);
    r.deny_unknown(&["tracking_no", "query_code"]);
    let tracking_no = r.text("tracking_no", true, 1, 40, false);
    let query_code = r.text("query_code", true, 1, 40, false);
    errors.finish()?;
    let (tracking_no, query_code) = (
        tracking_no.expect("validated"),
        query_code.expect("validated"),
    );
    let client = super::client_address(&req, &state);
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
    let view = super::paced(paced).await?;
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
    request_body = crate::api::docs::FeedbackRequest,
    responses(
        (status = 201, description = "Recorded, with what happens next", body = crate::domain::workflow::FeedbackReceipt),
        BadBody, NotFound, Conflict, TooManyAttempts, Unavailable,
    ),
)]
pub async fn submit_feedback(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    let body = body.into_inner();
    let mut errors = FieldErrors::new();
    let mut r = Reader::root(&body, &mut errors);
    let tracking_no = r.text("tracking_no", true, 1, 40, false);
    let query_code = r.text("query_code", true, 1, 40, false);
    if !r.present("satisfaction") {
        r.errors.add("satisfaction", "is required");
    }
    errors.finish()?;
    let (tracking_no, query_code) = (
        tracking_no.expect("validated"),
        query_code.expect("validated"),
    );
    let client = super::client_address(&req, &state);
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
                outcome: paced.outcome.and_then(|case| {
                    crate::domain::workflow::public_feedback(c, &case, &body, now)
                }),
                hold: paced.hold,
            })
        })
        .await?;
    let receipt = super::paced(paced).await?;
    Ok(HttpResponse::Created().json(receipt))
}
