//! The complaint form (`GET /` and `POST /`) and the receipt: the form is
//! turned into the JSON body `POST /api/v1/complaints` takes and filed
//! through the same domain function.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use minijinja::context;
use rand::Rng;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::domain::command::Source;
use crate::domain::commands::CreateComplaint;
use crate::domain::idempotency::IdemRequest;
use crate::domain::intake::{self, COMPLAINT_FIELDS, IDENTITY_FIELDS};
use crate::domain::tracking;
use crate::error::AppError;
use crate::state::AppState;

use super::errors::{PageErrors, SummaryItem, error_page};
use super::input::{Form, is_checked, known};
use super::render::{local, render};

/// The inputs of the complaint form, in page order: input id, label, and the
/// JSON path the domain names in its errors.
const COMPLAINT_INPUTS: &[(&str, &str, &str)] = &[
    ("category", "问题类别", "category"),
    ("subject_unit", "被投诉单位", "subject_unit"),
    ("subject_person", "被投诉人", "subject_person"),
    ("township", "发生地点", "township"),
    ("occurred_on", "发生日期", "occurred_on"),
    ("title", "标题", "title"),
    ("content", "详细情况", "content"),
    ("anonymous", "匿名投诉", "anonymous"),
    ("name", "姓名", "complainant.name"),
    ("phone", "联系电话", "complainant.phone"),
    ("email", "电子邮箱", "complainant.email"),
    ("id_number", "身份证号码", "complainant.id_number"),
    ("address", "联系地址", "complainant.address"),
];

/// The complaint's own text inputs: the fields of the JSON body but the
/// anonymous box and the complainant (whose inputs are `IDENTITY_FIELDS`).
fn complaint_text() -> impl Iterator<Item = &'static str> {
    COMPLAINT_FIELDS
        .iter()
        .copied()
        .filter(|f| !matches!(*f, "anonymous" | "complainant"))
}

/// The JSON body `POST /api/v1/complaints` takes, from the form. Empty inputs
/// are left out; an anonymous complaint carries no identity at all (the page
/// says identity inputs are ignored then).
pub fn complaint_json(form: &HashMap<String, String>) -> Value {
    let mut body = Map::new();
    for (k, v) in known(form, complaint_text()) {
        body.insert(k, Value::String(v));
    }
    let anonymous = is_checked(form, "anonymous");
    body.insert("anonymous".into(), Value::Bool(anonymous));
    if !anonymous {
        let identity: Map<String, Value> = known(form, IDENTITY_FIELDS.iter().copied())
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        body.insert("complainant".into(), Value::Object(identity));
    }
    Value::Object(body)
}

/// A per-form random token; sent back as the `Idempotency-Key` so a double
/// submission files one complaint and shows the same receipt.
fn new_form_token() -> String {
    format!("{:032x}", rand::thread_rng().r#gen::<u128>())
}

fn form_token(form: &HashMap<String, String>) -> Option<String> {
    form.get("form_token")
        .filter(|t| t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .cloned()
}

#[derive(Serialize)]
struct Choice {
    code: String,
    name: String,
}

/// Active categories and units, for the form's lists.
async fn choices(state: &AppState) -> Result<(Vec<Choice>, Vec<Choice>), AppError> {
    state
        .db(|c| {
            let (cats, _) = crate::db::categories::list(c, 0, 1000)?;
            let (units, _) = crate::db::units::list(c, 0, 1000)?;
            Ok((
                cats.into_iter()
                    .map(|x| Choice {
                        code: x.code,
                        name: x.name,
                    })
                    .collect(),
                units
                    .into_iter()
                    .map(|x| Choice {
                        code: x.code,
                        name: x.name,
                    })
                    .collect(),
            ))
        })
        .await
}

async fn form_page(
    state: &AppState,
    status: StatusCode,
    values: HashMap<String, String>,
    errors: PageErrors,
) -> HttpResponse {
    let (categories, units) = match choices(state).await {
        Ok(x) => x,
        // Re-showing a form the database could not take: keep what was
        // typed, and the chosen codes, rather than lose it to an error page.
        Err(_) if status == StatusCode::SERVICE_UNAVAILABLE => {
            let chosen = |k: &str| {
                values
                    .get(k)
                    .map(|code| Choice {
                        code: code.clone(),
                        name: code.clone(),
                    })
                    .into_iter()
                    .collect::<Vec<_>>()
            };
            (chosen("category"), chosen("subject_unit"))
        }
        Err(e) => return error_page(&e),
    };
    let today = state
        .clock
        .now()
        .with_timezone(&state.intake.tz)
        .format("%Y-%m-%d")
        .to_string();
    render(
        status,
        "form.html",
        context! {
            nav => "form",
            categories => categories,
            units => units,
            values => values,
            errors => errors.by_input,
            summary => errors.summary,
            today => today,
        },
    )
}

/// `GET /`: the complaint form.
pub async fn show_form(state: web::Data<AppState>) -> HttpResponse {
    let values = HashMap::from([("form_token".to_owned(), new_form_token())]);
    form_page(&state, StatusCode::OK, values, PageErrors::default()).await
}

/// `POST /`: files the complaint as `POST /api/v1/complaints` does; a bad
/// field re-renders the form (422) with every message beside its input.
pub async fn submit_form(req: HttpRequest, state: web::Data<AppState>, form: Form) -> HttpResponse {
    let form = form.into_inner();
    let body = complaint_json(&form);
    let idem = form_token(&form)
        .and_then(|t| IdemRequest::new("POST / (web form)".into(), &t, &body).ok());
    let now = state.clock.now();
    let st = state.clone();
    let client = crate::request::client_address(&req, &state);
    let result = match state.parse::<CreateComplaint>(&body, Source::Form).await {
        Ok(cmd) => {
            state
                .db_write(move |c| {
                    intake::submit_web(c, &st.intake, cmd, &client, idem.as_ref(), now)
                })
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(outcome) => receipt_page(&state, &outcome.body),
        Err(AppError::Validation(errors)) => {
            let errors = PageErrors::from_fields(&errors, COMPLAINT_INPUTS);
            form_page(
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                kept_values(&form),
                errors,
            )
            .await
        }
        // The database is busy or down: keep what was typed, ask to retry.
        Err(AppError::Unavailable(cause)) => {
            tracing::warn!(error.cause = %cause, "complaint form not filed: database unavailable");
            let errors = PageErrors {
                by_input: HashMap::new(),
                summary: vec![SummaryItem {
                    id: None,
                    label: String::new(),
                    message:
                        "系统暂时繁忙，投诉尚未提交。您填写的内容已保留，请稍后再点“提交投诉”。"
                            .into(),
                }],
            };
            form_page(
                &state,
                StatusCode::SERVICE_UNAVAILABLE,
                kept_values(&form),
                errors,
            )
            .await
        }
        // The address filed its share for now: keep what was typed.
        Err(AppError::TooManyRequests { .. }) => {
            let errors = PageErrors {
                by_input: HashMap::new(),
                summary: vec![SummaryItem {
                    id: None,
                    label: String::new(),
                    message: "您所在的网络短时间内提交的投诉较多，本次尚未提交。您填写的内容已保留，请一小时后再提交，或拨打热线反映。"
                        .into(),
                }],
            };
            form_page(
                &state,
                StatusCode::TOO_MANY_REQUESTS,
                kept_values(&form),
                errors,
            )
            .await
        }
        Err(e) => error_page(&e),
    }
}

/// What the form shows again after a failed submission: everything typed,
/// and the same token (a retry of the same complaint stays one complaint).
fn kept_values(form: &HashMap<String, String>) -> HashMap<String, String> {
    let mut values = known(form, complaint_text());
    values.extend(known(form, IDENTITY_FIELDS.iter().copied()));
    if is_checked(form, "anonymous") {
        values.insert("anonymous".into(), "true".into());
    }
    values.insert(
        "form_token".into(),
        form_token(form).unwrap_or_else(new_form_token),
    );
    values
}

fn receipt_page(state: &AppState, receipt: &Value) -> HttpResponse {
    let text = |k: &str| receipt[k].as_str().unwrap_or_default().to_owned();
    let received_at = DateTime::parse_from_rfc3339(&text("received_at"))
        .map(|t| local(t.with_timezone(&Utc), state.intake.tz))
        .unwrap_or_default();
    render(
        StatusCode::CREATED,
        "receipt.html",
        context! {
            tracking_no => text("tracking_no"),
            query_code => text("query_code"),
            status_label => tracking::status_label(&text("status")),
            received_at => received_at,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Code, FieldError};
    use serde_json::json;

    #[test]
    fn an_anonymous_form_carries_no_identity_and_empty_inputs_are_left_out() {
        let form = HashMap::from([
            ("title".to_owned(), " 标题 ".to_owned()),
            ("township".to_owned(), "".to_owned()),
            ("anonymous".to_owned(), "true".to_owned()),
            ("name".to_owned(), "王小明".to_owned()),
        ]);
        assert_eq!(
            complaint_json(&form),
            json!({"title": "标题", "anonymous": true})
        );
        let form = HashMap::from([("phone".to_owned(), "13912345678".to_owned())]);
        assert_eq!(
            complaint_json(&form),
            json!({"anonymous": false, "complainant": {"phone": "13912345678"}})
        );
    }

    #[test]
    fn errors_land_on_their_inputs_in_page_order() {
        let errors = vec![
            FieldError::new("complainant.phone", Code::BadPhone),
            // The page words the code, whatever the message says.
            FieldError::with("content", Code::TooShort { min: 10 }, "anything"),
        ];
        let e = PageErrors::from_fields(&errors, COMPLAINT_INPUTS);
        assert_eq!(e.by_input["content"], "至少需要 10 个字");
        assert!(e.by_input["phone"].contains("11 位手机号"));
        let order: Vec<_> = e.summary.iter().map(|s| s.id.clone().unwrap()).collect();
        assert_eq!(order, ["content", "phone"]);
    }
}
