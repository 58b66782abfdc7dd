//! Tracking a case (`GET /track`, `POST /track`) and the citizen's feedback
//! on a closed one (`POST /track/feedback`), as `POST /api/v1/track` and
//! `POST /api/v1/track/feedback` do.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono_tz::Tz;
use minijinja::context;
use serde::Serialize;
use serde_json::json;

use crate::domain::command::{Source, form_tree};
use crate::domain::commands::FeedbackRequest;
use crate::domain::{tracking, workflow};
use crate::error::AppError;
use crate::state::AppState;

use super::errors::{PageErrors, error_page, too_many};
use super::input::{Form, known};
use super::render::{local, render};

/// The tracking number and query code a tracking form brings.
#[derive(Serialize, Clone)]
struct Pair {
    tracking_no: String,
    query_code: String,
}

/// Reads the pair, or says which input is empty or too long.
fn read_pair(form: &HashMap<String, String>) -> Result<Pair, PageErrors> {
    let mut errors = PageErrors::default();
    let mut get = |id: &str, label: &str| {
        let v = form.get(id).map(|s| s.trim()).unwrap_or_default();
        if v.is_empty() {
            errors.add(id, label, "请填写此项");
        } else if v.chars().count() > 40 {
            errors.add(id, label, "不能超过 40 个字符");
        }
        v.to_owned()
    };
    let tracking_no = get("tracking_no", "投诉编号");
    let query_code = get("query_code", "查询码");
    if errors.summary.is_empty() {
        Ok(Pair {
            tracking_no,
            query_code,
        })
    } else {
        Err(errors)
    }
}

const SATISFACTION_LABELS: &[(&str, &str)] = &[
    ("satisfied", "满意"),
    ("basically_satisfied", "基本满意"),
    ("unsatisfied", "不满意"),
];

fn satisfaction_label(code: &str) -> &'static str {
    SATISFACTION_LABELS
        .iter()
        .find(|(c, _)| *c == code)
        .map_or("已评价", |(_, l)| l)
}

#[derive(Serialize)]
struct EventView {
    at: String,
    at_iso: String,
    note: String,
}

/// What the tracking page shows of a case: the public view, in local time.
#[derive(Serialize)]
struct CaseView {
    tracking_no: String,
    status_label: &'static str,
    received_at: String,
    category: Option<String>,
    responsible_unit: Option<String>,
    ack_due_at: Option<String>,
    due_at: Option<String>,
    timeline: Vec<EventView>,
    public_reply: Option<String>,
    feedback_open: bool,
    satisfaction_label: Option<&'static str>,
}

impl CaseView {
    fn new(v: tracking::TrackView, tz: Tz) -> Self {
        Self {
            feedback_open: v.feedback_open,
            satisfaction_label: v.satisfaction.as_deref().map(satisfaction_label),
            tracking_no: v.tracking_no,
            status_label: v.status_label,
            received_at: local(v.received_at, tz),
            category: v.category,
            responsible_unit: v.responsible_unit,
            ack_due_at: v.deadlines.ack_due_at.map(|t| local(t, tz)),
            due_at: v.deadlines.due_at.map(|t| local(t, tz)),
            timeline: v
                .timeline
                .into_iter()
                .map(|e| EventView {
                    at: local(e.at, tz),
                    at_iso: e.at.to_rfc3339(),
                    note: e.note,
                })
                .collect(),
            public_reply: v.public_reply,
        }
    }
}

/// The tracking page: the lookup form (with errors or a message), or a case.
fn track_page(
    status: StatusCode,
    case: Option<CaseView>,
    pair: Option<&Pair>,
    values: HashMap<String, String>,
    errors: PageErrors,
    message: Option<String>,
) -> HttpResponse {
    let choices: Vec<_> = SATISFACTION_LABELS
        .iter()
        .map(|(value, label)| json!({"value": value, "label": label}))
        .collect();
    render(
        status,
        "track.html",
        context! {
            nav => "track",
            case => case,
            pair => pair,
            values => values,
            errors => errors.by_input,
            summary => errors.summary,
            message => message,
            satisfaction_choices => choices,
        },
    )
}

/// The answer for a failed lookup: one message whichever of the two was
/// wrong; past the limits, "try again later".
fn track_failure(e: &AppError, tracking_no: &str) -> HttpResponse {
    let values = HashMap::from([("tracking_no".to_owned(), tracking_no.to_owned())]);
    match e {
        AppError::NotFound => track_page(
            StatusCode::NOT_FOUND,
            None,
            None,
            values,
            PageErrors::default(),
            Some("投诉编号或查询码不正确，请核对后重试。".into()),
        ),
        AppError::TooManyRequests {
            retry_after_seconds,
        } => {
            let mut resp = track_page(
                StatusCode::TOO_MANY_REQUESTS,
                None,
                None,
                values,
                PageErrors::default(),
                Some(too_many(*retry_after_seconds)),
            );
            if let Ok(v) = HeaderValue::from_str(&retry_after_seconds.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            resp
        }
        other => error_page(other),
    }
}

/// `GET /track`: the lookup form.
pub async fn show_track() -> HttpResponse {
    track_page(
        StatusCode::OK,
        None,
        None,
        HashMap::new(),
        PageErrors::default(),
        None,
    )
}

async fn lookup(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    pair: &Pair,
) -> Result<tracking::TrackView, AppError> {
    let client = crate::request::client_address(req, state);
    let now = state.clock.now();
    let st = state.clone();
    let p = pair.clone();
    let paced = state
        .db(move |c| {
            let asked = tracking::Asked {
                client: &client,
                tracking_no: &p.tracking_no,
                query_code: &p.query_code,
            };
            tracking::track(c, &st.intake, &st.tracking, &asked, now)
        })
        .await?;
    crate::request::paced(paced).await
}

/// `POST /track`: looks the case up as `POST /api/v1/track` does.
pub async fn track_case(req: HttpRequest, state: web::Data<AppState>, form: Form) -> HttpResponse {
    let form = form.into_inner();
    let pair = match read_pair(&form) {
        Ok(p) => p,
        Err(errors) => {
            let values = known(&form, ["tracking_no"]);
            return track_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                None,
                values,
                errors,
                None,
            );
        }
    };
    match lookup(&req, &state, &pair).await {
        Ok(view) => track_page(
            StatusCode::OK,
            Some(CaseView::new(view, state.intake.tz)),
            Some(&pair),
            HashMap::new(),
            PageErrors::default(),
            None,
        ),
        Err(e) => track_failure(&e, &pair.tracking_no),
    }
}

/// `POST /track/feedback`: the citizen rates a closed case, once, as
/// `POST /api/v1/track/feedback` does.
pub async fn submit_feedback(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: Form,
) -> HttpResponse {
    let form = form.into_inner();
    let pair = match read_pair(&form) {
        Ok(p) => p,
        // The pair comes from hidden inputs: without it, start over.
        Err(_) => return track_failure(&AppError::NotFound, ""),
    };
    let given = ["satisfaction", "comment"]
        .into_iter()
        .filter_map(|k| form.get(k).map(|v| (k, v.as_str())));
    let body = form_tree(
        [
            ("tracking_no", pair.tracking_no.as_str()),
            ("query_code", pair.query_code.as_str()),
        ]
        .into_iter()
        .chain(given),
    );
    let parsed = state.parse::<FeedbackRequest>(&body, Source::Form).await;
    let client = crate::request::client_address(&req, &state);
    let now = state.clock.now();
    let st = state.clone();
    let p = pair.clone();
    let result = match parsed {
        Ok(cmd) => {
            let paced = state
                .db(move |c| {
                    let asked = tracking::Asked {
                        client: &client,
                        tracking_no: &p.tracking_no,
                        query_code: &p.query_code,
                    };
                    let paced = tracking::verify_pair(c, &st.intake, &st.tracking, &asked, now)?;
                    Ok(tracking::Paced {
                        outcome: paced
                            .outcome
                            .and_then(|case| workflow::public_feedback(c, &case, &cmd, now)),
                        hold: paced.hold,
                    })
                })
                .await;
            match paced {
                Ok(p) => crate::request::paced(p).await,
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    };
    let done = |status: StatusCode, heading: &str, message: &str, tone: &str| {
        render(
            status,
            "feedback.html",
            context! {
                heading => heading,
                message => message,
                tone => tone,
                pair => &pair,
            },
        )
    };
    match result {
        Ok(receipt) => done(StatusCode::OK, "感谢您的评价", receipt.message, "ok"),
        Err(AppError::Conflict(_)) => done(
            StatusCode::CONFLICT,
            "无法评价",
            "这件投诉已经评价过，或尚未办结，暂时不能评价。",
            "warn",
        ),
        Err(AppError::Validation(errors)) => {
            // Show the case again with the messages beside the choices.
            let inputs: &[(&str, &str, &str)] = &[
                ("satisfaction", "满意度", "satisfaction"),
                ("comment", "意见或建议", "comment"),
            ];
            let errors = PageErrors::from_fields(&errors, inputs);
            let values = known(&form, ["satisfaction", "comment"]);
            match lookup(&req, &state, &pair).await {
                Ok(view) => track_page(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Some(CaseView::new(view, state.intake.tz)),
                    Some(&pair),
                    values,
                    errors,
                    None,
                ),
                Err(e) => track_failure(&e, &pair.tracking_no),
            }
        }
        Err(e) => track_failure(&e, &pair.tracking_no),
    }
}
