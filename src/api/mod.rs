//! HTTP only: the one place URLs are listed, request parsing helpers and
//! response envelopes. Handlers extract, call one domain function on the
//! blocking pool, and shape the response.

pub mod accountability;
pub mod audit;
pub mod auth;
pub mod calls;
pub mod command;
pub mod complaints;
pub mod deadline;
pub mod docs;
pub mod escalations;
pub mod letters;
pub mod notices;
pub mod open311;
pub mod ops;
pub mod queue;
pub mod reference;
pub mod reports;
pub mod responses;
pub mod track;
pub mod users;
pub mod workflow;

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDateTime;
use chrono_tz::Tz;
use serde::Serialize;

use crate::domain::idempotency::{self, IdemRequest, Outcome};
use crate::error::{AppError, AppResult, Code, FieldErrors};

/// The routes of the API, its document and the operations endpoints (the
/// public pages' are `web::routes`; `startup` mounts both).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(utoipa_swagger_ui::SwaggerUi::new("/api-docs/{_:.*}").url(
        "/api-docs/openapi.json",
        <docs::ApiDoc as utoipa::OpenApi>::openapi(),
    ))
    .route("/healthz", web::get().to(ops::healthz))
    .route("/readyz", web::get().to(ops::readyz))
    .route("/metrics", web::get().to(ops::metrics))
    .service(
        web::scope("/api/v1")
            .route("/auth/token", web::post().to(auth::issue_token))
            .route("/units", web::get().to(reference::list_units))
            .route("/categories", web::get().to(reference::list_categories))
            .route("/complaints", web::post().to(complaints::create_complaint))
            .route("/complaints", web::get().to(complaints::list_complaints))
            .route("/complaints.csv", web::get().to(reports::export_complaints))
            .route(
                "/complaints/{tracking_no}",
                web::get().to(complaints::get_complaint),
            )
            .route(
                "/complaints/{tracking_no}/screen",
                web::post().to(workflow::screen_complaint),
            )
            .route(
                "/complaints/{tracking_no}/assign",
                web::post().to(workflow::assign_complaint),
            )
            .route(
                "/complaints/{tracking_no}/acknowledge",
                web::post().to(workflow::acknowledge_complaint),
            )
            .route(
                "/complaints/{tracking_no}/return",
                web::post().to(workflow::return_complaint),
            )
            .route(
                "/complaints/{tracking_no}/return/decision",
                web::post().to(workflow::decide_return),
            )
            .route(
                "/complaints/{tracking_no}/progress",
                web::post().to(workflow::add_progress),
            )
            .route(
                "/complaints/{tracking_no}/progress/{id}/publication",
                web::post().to(workflow::decide_publication),
            )
            .route(
                "/complaints/{tracking_no}/extensions",
                web::post().to(workflow::request_extension),
            )
            .route(
                "/complaints/{tracking_no}/extensions/{id}/decision",
                web::post().to(workflow::decide_extension),
            )
            .route(
                "/complaints/{tracking_no}/report",
                web::post().to(workflow::submit_report),
            )
            .route(
                "/complaints/{tracking_no}/review",
                web::post().to(workflow::review_report),
            )
            .route(
                "/complaints/{tracking_no}/callback",
                web::post().to(workflow::record_callback),
            )
            .route(
                "/complaints/{tracking_no}/identity",
                web::get().to(complaints::get_identity),
            )
            .route(
                "/complaints/{tracking_no}/callback/contact",
                web::post().to(workflow::callback_contact),
            )
            .route(
                "/complaints/{tracking_no}/reopen",
                web::post().to(workflow::reopen_complaint),
            )
            .route("/letters", web::get().to(letters::list_letters))
            .route("/letters/{id}", web::get().to(letters::get_letter))
            .route("/notices", web::get().to(notices::list_notices))
            .route("/notices/{id}", web::get().to(notices::get_notice))
            .route("/notices/{id}/read", web::post().to(notices::read_notice))
            .route("/track/feedback", web::post().to(track::submit_feedback))
            .route("/calls", web::post().to(calls::log_call))
            .route("/calls", web::get().to(calls::list_calls))
            .route("/callers/{phone}", web::get().to(calls::look_up_caller))
            .route("/callbacks", web::get().to(calls::list_callbacks))
            .route("/queue", web::get().to(queue::get_queue))
            .route("/track", web::post().to(track::track_complaint))
            .route("/audit/verify", web::get().to(audit::verify_audit))
            .route("/audit/verify", web::post().to(audit::verify_against))
            .route("/audit/checkpoints", web::get().to(audit::list_checkpoints))
            .route("/audit/checkpoints", web::post().to(audit::make_checkpoint))
            .route("/audit/events", web::get().to(audit::search_events))
            .route("/escalations/run", web::post().to(escalations::run_sweep))
            .route("/escalations", web::get().to(escalations::list_escalations))
            .route(
                "/accountability",
                web::get().to(accountability::list_accountability),
            )
            .route(
                "/accountability",
                web::post().to(accountability::open_accountability),
            )
            .route(
                "/accountability/situations",
                web::get().to(accountability::list_situations),
            )
            .route(
                "/accountability/{id}",
                web::get().to(accountability::get_accountability),
            )
            .route(
                "/accountability/{id}/defence",
                web::post().to(accountability::file_defence),
            )
            .route(
                "/accountability/{id}/decision",
                web::post().to(accountability::decide_accountability),
            )
            .route("/ranking", web::get().to(reports::get_ranking))
            .route("/stats", web::get().to(reports::get_stats))
            .route("/users", web::post().to(users::create_user))
            .route("/users/{id}", web::patch().to(users::update_user)),
    )
    .service(
        web::scope("/open311/v2")
            .route("/discovery.{format}", web::get().to(open311::discovery))
            .route("/services.{format}", web::get().to(open311::list_services))
            .route(
                "/services/{service_code}.{format}",
                web::get().to(open311::get_service),
            )
            .route("/requests.{format}", web::get().to(open311::list_requests))
            .route(
                "/requests.{format}",
                web::post().to(open311::create_request),
            )
            .route(
                "/requests/{service_request_id}.{format}",
                web::get().to(open311::get_request),
            )
            .route(
                "/tokens/{token}.{format}",
                web::get().to(open311::get_token),
            )
            .default_service(web::to(open311::not_found)),
    );
}

/// The list envelope: `items`, `page`, `per_page`, `total`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Page<T: Serialize> {
    pub items: Vec<T>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

impl<T: Serialize> Page<T> {
    /// The 200 answer of a list.
    pub fn answer(items: Vec<T>, total: i64, page: i64, per_page: i64) -> HttpResponse {
        HttpResponse::Ok().json(Page {
            items,
            page,
            per_page,
            total,
        })
    }
}

/// The case a list is narrowed to by a `tracking_no` parameter: its id, or
/// an id no record has when the number is unknown (the list is then empty).
pub fn case_of(
    conn: &mut crate::db::DbConn,
    tracking_no: Option<&str>,
) -> diesel::QueryResult<Option<i64>> {
    Ok(match tracking_no {
        Some(no) => Some(crate::db::complaints::by_tracking_no(conn, no)?.map_or(-1, |x| x.id)),
        None => None,
    })
}

pub const MAX_PER_PAGE: i64 = 200;
/// Items per page when a list is not told (the reference lists give all).
pub const DEFAULT_PER_PAGE: i64 = 50;

/// Query parameters read like a body: every bad one named at once.
pub struct Params {
    map: HashMap<String, String>,
    pub errors: FieldErrors,
}

impl Params {
    pub fn new(map: HashMap<String, String>, allowed: &[&str]) -> Self {
        let mut errors = FieldErrors::new();
        for key in map.keys() {
            if !allowed.contains(&key.as_str()) && key != "page" && key != "per_page" {
                errors.add_with(
                    key.clone(),
                    Code::UnknownField,
                    "is not a known query parameter",
                );
            }
        }
        Self { map, errors }
    }

    fn raw(&self, name: &str) -> Option<&str> {
        self.map
            .get(name)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }

    /// The parameter was given (not empty).
    pub fn present(&self, name: &str) -> bool {
        self.raw(name).is_some()
    }

    /// `page` (from 1) and `per_page` (1 to 200, default `default`).
    pub fn paging(&mut self, default: i64) -> (i64, i64) {
        let page = self.int("page", 1, 1, 1_000_000);
        let per_page = self.int("per_page", default, 1, MAX_PER_PAGE);
        (page, per_page)
    }

    pub fn int(&mut self, name: &str, default: i64, min: i64, max: i64) -> i64 {
        match self.raw(name) {
            None => default,
            Some(s) => match s.parse::<i64>() {
                Ok(n) if (min..=max).contains(&n) => n,
                _ => {
                    self.errors.add(name, Code::OutOfRange { min, max });
                    default
                }
            },
        }
    }

    pub fn text(&mut self, name: &str, max: usize) -> Option<String> {
        let s = self.raw(name)?.to_owned();
        if s.chars().any(char::is_control) {
            self.errors.add(name, Code::ControlCharacters);
            return None;
        }
        if s.chars().count() > max {
            self.errors.add(name, Code::TooLong { max });
            return None;
        }
        Some(s)
    }

    /// A required text of `min` to `max` characters.
    pub fn required_text(&mut self, name: &str, min: usize, max: usize) -> Option<String> {
        let value = self.text(name, max);
        match &value {
            None if !self.errors.has(name) => self.errors.add(name, Code::Required),
            Some(v) if v.chars().count() < min => {
                self.errors.add(name, Code::TooShort { min });
                return None;
            }
            _ => {}
        }
        value
    }

    pub fn choice(&mut self, name: &str, allowed: &[&str]) -> Option<String> {
        let s = self.raw(name)?.to_owned();
        if allowed.contains(&s.as_str()) {
            Some(s)
        } else {
            self.errors.add(
                name,
                Code::OneOf {
                    allowed: allowed.iter().map(|a| (*a).to_owned()).collect(),
                },
            );
            None
        }
    }

    /// A date (`2026-11-27`, the local day's start; with `end`, the next
    /// day's start) or an RFC 3339 instant.
    pub fn instant(&mut self, name: &str, tz: Tz, end: bool) -> Option<NaiveDateTime> {
        let s = self.raw(name)?.to_owned();
        if let Some(t) = crate::domain::calendar::instant_of(&s, tz, end) {
            return Some(crate::db::to_db(t));
        }
        self.errors.add_with(
            name,
            Code::BadTime,
            "must be a date (2026-11-27) or an RFC 3339 time",
        );
        None
    }

    /// `to` must come after `from` (when both are given).
    pub fn ordered(&mut self, from: Option<NaiveDateTime>, to: Option<NaiveDateTime>) {
        if let (Some(f), Some(t)) = (from, to)
            && f >= t
        {
            self.errors
                .add_with("to", Code::BadOrder, "must be after from");
        }
    }

    pub fn finish(self) -> AppResult<()> {
        self.errors.finish()
    }
}

/// The `Idempotency-Key` of a request, scoped, with the body's fingerprint.
pub fn idempotency(
    req: &HttpRequest,
    scope: String,
    body: &serde_json::Value,
) -> AppResult<Option<IdemRequest>> {
    match req.headers().get(idempotency::HEADER) {
        None => Ok(None),
        Some(v) => {
            let key = v.to_str().map_err(|_| {
                AppError::field_with(
                    idempotency::HEADER,
                    Code::BadFormat,
                    "must be visible ASCII",
                )
            })?;
            IdemRequest::new(scope, key, body).map(Some)
        }
    }
}

/// Shapes an idempotent outcome; replays are marked.
pub fn outcome_response(o: Outcome) -> HttpResponse {
    let status =
        actix_web::http::StatusCode::from_u16(o.status).unwrap_or(actix_web::http::StatusCode::OK);
    let mut resp = HttpResponse::build(status);
    if o.replayed {
        resp.insert_header(("Idempotent-Replayed", "true"));
    }
    resp.json(o.body)
}
