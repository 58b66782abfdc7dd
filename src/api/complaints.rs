//! Complaints: public filing, and the staff list and case view.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

use super::Params;
use super::responses::{
    BadBody, Conflict, Forbidden, Invalid, NotFound, Unauthorized, Unavailable,
};
use crate::auth::Actor;
use crate::db::complaints::{ComplaintFilter, Cursor, TOTAL_CAP, Window};
use crate::domain::cases;
use crate::domain::channels::CHANNELS;
use crate::domain::command::Source;
use crate::domain::intake;
use crate::domain::status::Flag;
use crate::domain::status::Status;
use crate::error::{AppError, AppResult, Code};
use crate::state::AppState;

/// `POST /api/v1/complaints` (public, channel `web`).
#[utoipa::path(
    post,
    path = "/api/v1/complaints",
    tag = "complaints",
    summary = "File a complaint (channel web)",
    request_body = crate::domain::commands::CreateComplaint,
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key and body gets the first answer"),
    ),
    responses(
        (status = 201, description = "Filed: keep the tracking number and query code", body = crate::api::responses::Receipt),
        BadBody, Unavailable,
    ),
)]
pub async fn create_complaint(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    let body = body.into_inner();
    let idem = super::idempotency(&req, "POST /api/v1/complaints".into(), &body)?;
    let cmd = state.parse(&body, Source::Json).await?;
    let now = state.clock.now();
    let st = state.clone();
    let client = crate::request::client_address(&req, &state);
    let outcome = state
        .db_write(move |c| intake::submit_web(c, &st.intake, cmd, &client, idem.as_ref(), now))
        .await?;
    Ok(super::outcome_response(outcome))
}

/// Which page of the case list is asked for.
#[derive(Clone, Copy, Debug)]
pub struct CasePaging {
    pub window: Window,
    pub per_page: i64,
}

/// The case-list filters of a query string (also the CSV export's), with
/// paging; every bad parameter is named at once.
pub fn read_filter(
    query: HashMap<String, String>,
    tz: chrono_tz::Tz,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<(ComplaintFilter, CasePaging)> {
    let mut p = Params::new(
        query,
        &[
            "status",
            "unit",
            "subject_unit",
            "category",
            "channel",
            "from",
            "to",
            "q",
            "overdue",
            "flag",
            "after",
        ],
    );
    let asked_page = p.present("page");
    let (page, per_page) = p.paging(super::DEFAULT_PER_PAGE);
    let offset = (page - 1) * per_page;
    let window = match p.text("after", 40) {
        Some(after) => {
            if asked_page {
                p.errors
                    .add_with("after", Code::NotAllowed, "cannot be combined with page");
            }
            match Cursor::decode(&after) {
                Some(c) => Window::After(c),
                None => {
                    p.errors.add_with(
                        "after",
                        Code::BadFormat,
                        "is not a cursor this list gave (its next_cursor)",
                    );
                    Window::Offset(0)
                }
            }
        }
        None => {
            if offset + per_page > TOTAL_CAP {
                p.errors.add_with(
                    "page",
                    Code::OutOfRange {
                        min: 1,
                        max: TOTAL_CAP / per_page,
                    },
                    format!(
                        "reaches past the first {TOTAL_CAP} cases: page on with after \
                         (each answer's next_cursor)"
                    ),
                );
            }
            Window::Offset(offset)
        }
    };
    let filter = ComplaintFilter {
        status: p.choice("status", Status::CODES),
        unit: p.text("unit", 16),
        subject_unit: p.text("subject_unit", 16),
        category: p.text("category", 32),
        channel: p.choice("channel", CHANNELS),
        from: p.instant("from", tz, false),
        to: p.instant("to", tz, true),
        q: p.text("q", 100),
        overdue_at: (p.choice("overdue", &["true", "false"]).as_deref() == Some("true"))
            .then(|| crate::db::to_db(now)),
        flag: p
            .choice("flag", Flag::CODES)
            .as_deref()
            .and_then(Flag::parse),
    };
    p.finish()?;
    Ok((filter, CasePaging { window, per_page }))
}

/// `GET /api/v1/complaints` with filters and paging.
#[utoipa::path(
    get,
    path = "/api/v1/complaints",
    tag = "complaints",
    summary = "List cases",
    params(
        crate::api::responses::CaseFilter,
        crate::api::responses::CasePaging,
    ),
    responses(
        (status = 200, description = "Cases, newest first; the total exact up to 10,000 (`total_exact`), and `next_cursor` for the next page", body = crate::domain::cases::CasePage),
        Invalid, Unauthorized, Forbidden, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn list_complaints(
    actor: Actor,
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now();
    let (filter, paging) = read_filter(query.into_inner(), state.intake.tz, now)?;
    let st = state.clone();
    let page = state
        .db(move |c| {
            cases::list(
                c,
                &actor,
                filter,
                paging.window,
                paging.per_page,
                &st.reading(now),
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// `GET /api/v1/complaints/{tracking_no}`.
#[utoipa::path(
    get,
    path = "/api/v1/complaints/{tracking_no}",
    tag = "complaints",
    summary = "One case with its clocks, letters and timeline",
    params(
        ("tracking_no" = String, Path, description = "The case's tracking number"),
    ),
    responses(
        (status = 200, description = "The case; whether an identity is on file, never the identity itself", body = crate::domain::cases::ComplaintView),
        Unauthorized, Forbidden, NotFound, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn get_complaint(
    actor: Actor,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let tracking_no = path.into_inner();
    let now = state.clock.now();
    let st = state.clone();
    let view = state
        .db(move |c| cases::get(c, &actor, &tracking_no, &st.reading(now)))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(view))
}

/// `GET /api/v1/complaints/{tracking_no}/identity` (supervisor, admin).
#[utoipa::path(
    get,
    path = "/api/v1/complaints/{tracking_no}/identity",
    tag = "complaints",
    summary = "The complainant's identity, read with a reason (an audit event)",
    params(
        ("tracking_no" = String, Path, description = "The case's tracking number"),
        ("reason" = String, Query, description = "Why the identity is needed (2 to 500 characters); recorded with the reader"),
    ),
    responses(
        (status = 200, description = "The sealed identity, opened", body = crate::domain::cases::IdentityView),
        Invalid, Unauthorized, Forbidden, NotFound, Conflict, Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn get_identity(
    actor: Actor,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    let tracking_no = path.into_inner();
    let mut p = Params::new(query.into_inner(), &["reason"]);
    let reason = p.required_text("reason", 2, 500);
    p.finish()?;
    // `finish` refused a missing or bad reason.
    let reason = reason.ok_or(AppError::field("reason", Code::Required))?;
    let now = state.clock.now();
    let st = state.clone();
    let view = state
        .db(move |c| cases::identity(c, &st.intake.keys, &actor, &tracking_no, &reason, now))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(view))
}
