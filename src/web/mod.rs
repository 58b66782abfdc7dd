//! Public pages: the complaint form, the receipt, progress tracking and
//! feedback, in Chinese, as plain HTML forms that work without JavaScript.
//! Templates and the stylesheet are embedded in the binary. Handlers are thin:
//! they turn a form into the JSON body the API takes and call the same domain
//! functions as `api/complaints.rs` and `api/track.rs`. Nothing typed into a
//! form is logged.

use std::collections::HashMap;
use std::sync::OnceLock;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use minijinja::{Environment, context};
use rand::Rng;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::domain::command::{Source, form_tree};
use crate::domain::commands::{CreateComplaint, FeedbackRequest};
use crate::domain::idempotency::IdemRequest;
use crate::domain::intake::{COMPLAINT_FIELDS, IDENTITY_FIELDS};
use crate::domain::{intake, tracking, workflow};
use crate::error::{AppError, Code, FieldError};
use crate::state::AppState;

const SITE_NAME: &str = "作风效能投诉平台";

/// `Content-Security-Policy` of every page: nothing from elsewhere, no inline
/// script, forms post only here, never framed.
pub const CSP: &str = "default-src 'self'; form-action 'self'; frame-ancestors 'none'";

const STYLESHEET: &str = include_str!("static/duban.css");

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("macros.html", include_str!("templates/macros.html")),
    ("form.html", include_str!("templates/form.html")),
    ("receipt.html", include_str!("templates/receipt.html")),
    ("track.html", include_str!("templates/track.html")),
    ("feedback.html", include_str!("templates/feedback.html")),
    ("error.html", include_str!("templates/error.html")),
];

/// The template environment, built once. Names end in `.html`, so minijinja
/// escapes every value it prints.
pub fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            // Embedded at compile time and rendered by the tests: a parse
            // error here is a bug caught before release, at start-up.
            env.add_template(name, source)
                .expect("embedded template parses");
        }
        env
    })
}

/// The public pages' routes (mounted by `startup` beside `api::routes`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(show_form))
        .route("/", web::post().to(submit_form))
        .route("/track", web::get().to(show_track))
        .route("/track", web::post().to(track_case))
        .route("/track/feedback", web::post().to(submit_feedback))
        .route("/static/duban.css", web::get().to(stylesheet));
}

type Form = web::Form<HashMap<String, String>>;

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

/// The values a form brings back, trimmed; unknown inputs are dropped.
fn known<'a>(
    form: &HashMap<String, String>,
    names: impl IntoIterator<Item = &'a str>,
) -> HashMap<String, String> {
    names
        .into_iter()
        .filter_map(|n| {
            form.get(n)
                .map(|v| (n.to_owned(), v.trim().to_owned()))
                .filter(|(_, v)| !v.is_empty())
        })
        .collect()
}

fn is_checked(form: &HashMap<String, String>, name: &str) -> bool {
    form.get(name)
        .is_some_and(|v| matches!(v.as_str(), "true" | "on" | "1"))
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

/// One line of the error summary: the input it links to, its label and the
/// message.
#[derive(Serialize)]
struct SummaryItem {
    id: Option<String>,
    label: String,
    message: String,
}

/// Field errors as the page shows them: a message per input id, and the
/// summary in page order (errors on no input last).
#[derive(Default)]
struct PageErrors {
    by_input: HashMap<String, String>,
    summary: Vec<SummaryItem>,
}

impl PageErrors {
    fn from_fields(errors: &[FieldError], inputs: &[(&str, &str, &str)]) -> Self {
        let mut out = PageErrors::default();
        let mut unplaced = Vec::new();
        for e in errors {
            // `complainant` itself (missing or refused) belongs to the name.
            let path = if e.field == "complainant" {
                "complainant.name"
            } else {
                e.field.as_str()
            };
            match inputs.iter().find(|(_, _, p)| *p == path) {
                Some((id, _, _)) => {
                    out.by_input
                        .entry((*id).to_owned())
                        .or_insert_with(|| message_zh(id, &e.code));
                }
                None => unplaced.push(e),
            }
        }
        for (id, label, _) in inputs {
            if let Some(message) = out.by_input.get(*id) {
                out.summary.push(SummaryItem {
                    id: Some((*id).to_owned()),
                    label: (*label).to_owned(),
                    message: message.clone(),
                });
            }
        }
        for e in unplaced {
            let message = message_zh(&e.field, &e.code);
            out.summary.push(SummaryItem {
                id: None,
                label: String::new(),
                message,
            });
        }
        out
    }

    fn add(&mut self, id: &str, label: &str, message: &str) {
        self.by_input.insert(id.to_owned(), message.to_owned());
        self.summary.push(SummaryItem {
            id: Some(id.to_owned()),
            label: label.to_owned(),
            message: message.to_owned(),
        });
    }
}

/// A field error in the words of the page: from its code, with the words
/// an input of the complaint form needs.
fn message_zh(input: &str, code: &Code) -> String {
    match (code, input) {
        (Code::Required, "category" | "subject_unit" | "satisfaction") => "请选择".into(),
        (Code::OneOf { .. } | Code::NotACategory, "category") => "请从列表中选择问题类别".into(),
        (Code::OneOf { .. } | Code::NotAUnit, "subject_unit") => "请从列表中选择被投诉单位".into(),
        (Code::OneOf { .. }, "satisfaction") => "请选择满意、基本满意或不满意".into(),
        (Code::InFuture, "occurred_on") => "发生日期不能晚于今天".into(),
        (Code::TooEarly, "occurred_on") => "发生日期不能早于 1990 年".into(),
        (Code::NotAllowed, "name") => "匿名投诉不保存身份信息，请清空身份信息或取消匿名".into(),
        _ => code_zh(code),
    }
}

/// Every code in Chinese (each code must have its words: the match is
/// exhaustive).
fn code_zh(code: &Code) -> String {
    match code {
        Code::Required => "请填写此项".into(),
        Code::UnknownField => "表单中有无法识别的内容，请刷新页面后重新填写".into(),
        Code::WrongType { .. } | Code::BadFormat => "格式不正确，请检查后重新填写".into(),
        Code::TooShort { min } => format!("至少需要 {min} 个字"),
        Code::TooLong { max } => format!("不能超过 {max} 个字"),
        Code::ControlCharacters => "含有无法识别的控制字符，请删除后重试".into(),
        Code::OutOfRange { min, max } => format!("请填写 {min} 到 {max} 之间的整数"),
        Code::OneOf { .. } => "请从列表中选择".into(),
        Code::BadPhone => {
            "请填写有效的电话号码：以 1 开头的 11 位手机号，或带区号的固定电话（如 0797-5321234）"
                .into()
        }
        Code::BadEmail => "请填写有效的电子邮箱，例如 name@example.cn".into(),
        Code::BadIdNumber => "请填写有效的 18 位居民身份证号码（最后一位可以是 X）".into(),
        Code::BadDate => "请按“年-月-日”填写日期，例如 2026-11-27".into(),
        Code::BadTime => "请填写有效的时间，例如 2026-11-27 09:30".into(),
        Code::InFuture => "不能晚于当前时间".into(),
        Code::TooEarly => "时间过早，请检查".into(),
        Code::NotAUnit => "请从列表中选择单位".into(),
        Code::NotACategory => "请从列表中选择问题类别".into(),
        Code::NotACase => "没有这个受理编号的投诉".into(),
        Code::NotASituation => "请从问责情形目录中选择".into(),
        Code::NotAllowed => "此项在当前选择下不应填写".into(),
        Code::Taken => "已被使用，请换一个".into(),
        Code::TooMany { max } => format!("最多 {max} 项"),
        Code::BadOrder => "结束时间应晚于开始时间".into(),
        Code::BadDeduction => "请填写 0 到 -100 之间、最多两位小数的扣分".into(),
        Code::LeaderConflict => "投诉涉及该单位负责人，请交上级单位或作风办办理".into(),
        Code::NeedsConfirmation => "请核实后勾选确认".into(),
        Code::LastAdmin => "至少要保留一个启用的管理员账号".into(),
        Code::KeyReused => "这份表单已经提交过。如需再投诉一件事，请重新打开投诉页面填写。".into(),
    }
}

/// An HTML page with the security headers. Every page is `no-store`: the
/// form carries its token and, after an error, what was typed; the receipt and
/// tracking pages show the query code and the case.
fn page(status: StatusCode, html: String) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        ))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(html)
}

fn render(status: StatusCode, name: &str, ctx: minijinja::Value) -> HttpResponse {
    let ctx = context! { site_name => SITE_NAME, ..ctx };
    match templates().get_template(name).and_then(|t| t.render(ctx)) {
        Ok(html) => page(status, html),
        Err(e) => {
            tracing::error!(template = name, error = %e, "page failed to render");
            HttpResponse::InternalServerError()
                .insert_header((header::CONTENT_TYPE, "text/plain; charset=utf-8"))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .body("系统错误，请稍后再试。")
        }
    }
}

/// An error the page cannot place on a field, as a page of its own.
fn error_page(e: &AppError) -> HttpResponse {
    let status = e.status_code();
    let (heading, message) = match e {
        AppError::Internal(cause) => {
            tracing::error!(error.cause_chain = ?cause, "internal error on a public page");
            ("系统错误", "系统出现错误，请稍后再试。".to_owned())
        }
        AppError::Unavailable(cause) => {
            tracing::warn!(error.cause = %cause, "dependency unavailable on a public page");
            ("系统繁忙", "系统暂时无法处理，请稍后再试。".to_owned())
        }
        AppError::TooManyRequests {
            retry_after_seconds,
        } => ("请稍后再试", too_many(*retry_after_seconds)),
        _ => ("无法处理", "请求无法处理，请返回重试。".to_owned()),
    };
    let mut resp = render(
        status,
        "error.html",
        context! { heading => heading, message => message },
    );
    if let AppError::TooManyRequests {
        retry_after_seconds,
    } = e
        && let Ok(v) = HeaderValue::from_str(&retry_after_seconds.to_string())
    {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

fn too_many(retry_after_seconds: u64) -> String {
    let minutes = retry_after_seconds.div_ceil(60).max(1);
    format!("查询失败次数过多，为保护投诉信息，请 {minutes} 分钟后再试。")
}

fn local(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
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

/// `GET /static/duban.css`.
pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/css; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(STYLESHEET)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        for (name, _) in TEMPLATES {
            assert!(templates().get_template(name).is_ok(), "{name}");
        }
    }

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
