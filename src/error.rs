//! The one error type. Every failure a client can see becomes an RFC 9457
//! `application/problem+json` body; a 5xx says only "internal error" while the
//! cause goes to the log. Actix's own extractor failures are mapped here too so
//! malformed input gets the same shape as everything else.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;

/// One bad field of a request: where, what kind of problem (`code`, with its
/// parameters beside it: `{"code": "too_long", "max": 200}`), and a message a
/// person can act on. Pages word the problem from the code, never from the
/// message.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    #[serde(flatten)]
    pub code: Code,
    pub message: String,
}

/// What is wrong with a field. The codes are part of the API: a client may
/// branch on them, the staff and public pages word them in Chinese.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Code {
    /// Missing or empty, and needed (perhaps only together with another
    /// field's value: the message says when).
    Required,
    /// Not a field of this request (typos must not vanish silently).
    UnknownField,
    /// A value of the wrong JSON type.
    WrongType {
        expected: &'static str,
    },
    TooShort {
        min: usize,
    },
    TooLong {
        max: usize,
    },
    /// Control or invisible characters that would hide or break text.
    ControlCharacters,
    /// A number outside its range (also: not a whole number).
    OutOfRange {
        min: i64,
        max: i64,
    },
    /// Not one of the listed codes.
    OneOf {
        allowed: Vec<String>,
    },
    BadPhone,
    BadEmail,
    BadIdNumber,
    BadDate,
    BadTime,
    /// A date or time later than now allows.
    InFuture,
    /// A date or time earlier than allowed (the message says the bound).
    TooEarly,
    NotAUnit,
    NotACategory,
    NotACase,
    NotASituation,
    /// Given where it does not belong (the message says when it does).
    NotAllowed,
    /// Already used by another record.
    Taken,
    /// Not in the required form (the message says which).
    BadFormat,
    /// More entries than allowed.
    TooMany {
        max: usize,
    },
    /// A bound before the other bound.
    BadOrder,
    /// Not a point deduction (0 to -100, two decimals).
    BadDeduction,
    /// The complaint concerns the chosen unit's leader.
    LeaderConflict,
    /// Possible only with `confirm: true`, once the supervisor has checked.
    NeedsConfirmation,
    /// The change would leave the service without an administrator.
    LastAdmin,
    /// An `Idempotency-Key` sent again with a different body.
    KeyReused,
}

impl Code {
    /// The English message for a code whose words need no context.
    pub fn message(&self) -> String {
        match self {
            Code::Required => "is required".into(),
            Code::UnknownField => "is not a known field".into(),
            Code::WrongType { expected } => format!("must be {expected}"),
            Code::TooShort { min } => format!("must be at least {min} characters"),
            Code::TooLong { max } => format!("must be at most {max} characters"),
            Code::ControlCharacters => {
                "must not contain control characters or invisible characters".into()
            }
            Code::OutOfRange { min, max } => format!("must be a whole number from {min} to {max}"),
            Code::OneOf { allowed } => format!("must be one of: {}", allowed.join(", ")),
            Code::BadPhone => "must be a mainland mobile number (11 digits starting 1) or a \
                               landline with area code (e.g. 0797-5321234)"
                .into(),
            Code::BadEmail => "must be an e-mail address".into(),
            Code::BadIdNumber => "must be an 18-character resident ID number".into(),
            Code::BadDate => "must be a date such as 2026-11-27".into(),
            Code::BadTime => "must be an RFC 3339 time such as 2026-11-27T09:30:00+08:00".into(),
            Code::InFuture => "must not be in the future".into(),
            Code::TooEarly => "is too early".into(),
            Code::NotAUnit => "is not a known unit code (see GET /api/v1/units)".into(),
            Code::NotACategory => {
                "is not a known category code (see GET /api/v1/categories)".into()
            }
            Code::NotACase => "is not a known case's tracking number".into(),
            Code::NotASituation => "is not a situation of the catalogue".into(),
            Code::NotAllowed => "is not accepted here".into(),
            Code::Taken => "is already taken".into(),
            Code::BadFormat => "is not in the required form".into(),
            Code::TooMany { max } => format!("must have at most {max} entries"),
            Code::BadOrder => "must not be before the start".into(),
            Code::BadDeduction => "must be a deduction: the change to the score, from -100 to 0 \
                                   with at most two decimals (-2 deducts two points)"
                .into(),
            Code::LeaderConflict => "the complaint is about this unit's leader".into(),
            Code::NeedsConfirmation => "needs confirm: true".into(),
            Code::LastAdmin => "would leave no active administrator".into(),
            Code::KeyReused => "was already used with a different request body".into(),
        }
    }
}

impl FieldError {
    /// An error worded by its code.
    pub fn new(field: impl Into<String>, code: Code) -> Self {
        let message = code.message();
        Self::with(field, code, message)
    }

    /// An error whose message says more than its code.
    pub fn with(field: impl Into<String>, code: Code, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 422: the request was well-formed but these fields are wrong.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// 400: the body or query could not be read at all.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 415
    #[error("unsupported media type")]
    UnsupportedMediaType(String),
    /// 413
    #[error("payload too large")]
    PayloadTooLarge,
    /// 408: the body did not arrive in time; the connection is closed.
    #[error("request timeout")]
    RequestTimeout,
    /// 401
    #[error("unauthorized")]
    Unauthorized,
    /// 403
    #[error("forbidden")]
    Forbidden,
    /// 404, also for records the caller may not know exist.
    #[error("not found")]
    NotFound,
    /// 409: a transition the current state does not allow, or a clash.
    #[error("conflict: {0}")]
    Conflict(String),
    /// 429
    #[error("too many requests")]
    TooManyRequests { retry_after_seconds: u64 },
    /// 503: the database (or another dependency) cannot serve now.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// 500: a bug or an unexpected failure; details only in the log.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// A 422 on one field, worded by its code.
    pub fn field(field: &str, code: Code) -> Self {
        AppError::Validation(vec![FieldError::new(field, code)])
    }

    /// A 422 on one field whose message says more than its code.
    pub fn field_with(field: &str, code: Code, message: &str) -> Self {
        AppError::Validation(vec![FieldError::with(field, code, message)])
    }

    fn slug_and_title(&self) -> (&'static str, &'static str) {
        match self {
            AppError::Validation(_) => ("validation", "The request has invalid fields"),
            AppError::BadRequest(_) => ("bad-request", "The request could not be read"),
            AppError::UnsupportedMediaType(_) => {
                ("unsupported-media-type", "Unsupported content type")
            }
            AppError::PayloadTooLarge => ("payload-too-large", "The request body is too large"),
            AppError::RequestTimeout => ("request-timeout", "The request body came too slowly"),
            AppError::Unauthorized => ("unauthorized", "Authentication required"),
            AppError::Forbidden => ("forbidden", "Not allowed"),
            AppError::NotFound => ("not-found", "Not found"),
            AppError::Conflict(_) => ("conflict", "Not possible in the current state"),
            AppError::TooManyRequests { .. } => ("too-many-requests", "Too many attempts"),
            AppError::Unavailable(_) => ("unavailable", "Service temporarily unavailable"),
            AppError::Internal(_) => ("internal", "Internal error"),
        }
    }

    fn detail(&self) -> String {
        match self {
            AppError::Validation(errors) => {
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                format!("Invalid fields: {}", fields.join(", "))
            }
            AppError::BadRequest(m) | AppError::UnsupportedMediaType(m) | AppError::Conflict(m) => {
                m.clone()
            }
            AppError::PayloadTooLarge => "The request body exceeds the size limit.".into(),
            AppError::RequestTimeout => {
                "The request body did not arrive in time; the connection is closed.".into()
            }
            AppError::Unauthorized => "A valid bearer token is required.".into(),
            AppError::Forbidden => "Your role may not do this.".into(),
            AppError::NotFound => "No such record.".into(),
            AppError::TooManyRequests {
                retry_after_seconds,
            } => {
                format!("Too many failed attempts; try again in {retry_after_seconds} seconds.")
            }
            AppError::Unavailable(_) => {
                "The database is not available right now; please retry shortly.".into()
            }
            AppError::Internal(_) => {
                "Internal error; quote the X-Request-Id header when reporting it.".into()
            }
        }
    }
}

/// The problem+json body.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

pub const PROBLEM_JSON: &str = "application/problem+json";

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        match self {
            // The cause chain goes to the log, never to the client.
            AppError::Internal(e) => tracing::error!(error.cause_chain = ?e, "internal error"),
            AppError::Unavailable(cause) => {
                tracing::warn!(error.cause = %cause, "dependency unavailable")
            }
            _ => {}
        }
        let (slug, title) = self.slug_and_title();
        let body = Problem {
            kind: format!("/problems/{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: self.detail(),
            errors: match self {
                AppError::Validation(errors) => errors.clone(),
                _ => Vec::new(),
            },
        };
        let mut resp = HttpResponse::build(status);
        resp.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        match self {
            AppError::Unauthorized => {
                resp.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            AppError::TooManyRequests {
                retry_after_seconds,
            } => {
                resp.insert_header((header::RETRY_AFTER, retry_after_seconds.to_string()));
            }
            AppError::Unavailable(_) => {
                resp.insert_header((header::RETRY_AFTER, "5"));
            }
            AppError::RequestTimeout => {
                resp.force_close();
            }
            _ => {}
        }
        resp.body(serde_json::to_string(&body).unwrap_or_default())
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        if matches!(e, diesel::result::Error::NotFound) {
            AppError::NotFound
        } else if crate::db::is_unavailable(&e) {
            AppError::Unavailable(e.to_string())
        } else {
            AppError::Internal(anyhow::Error::new(e).context("database error"))
        }
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        AppError::Unavailable(format!("no database connection: {e}"))
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        AppError::Internal(anyhow::anyhow!("blocking task failed: {e}"))
    }
}

/// JSON extractor failures: wrong content type 415, too large 413, a body
/// that is not JSON 400, JSON of the wrong shape 422.
pub fn json_error(err: actix_web::error::JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as J;
    let app = match &err {
        J::ContentType => {
            AppError::UnsupportedMediaType("Send the body as application/json.".into())
        }
        J::OverflowKnownLength { .. } | J::Overflow { .. } => AppError::PayloadTooLarge,
        J::Deserialize(e) => match e.classify() {
            serde_json::error::Category::Data => AppError::Validation(vec![FieldError::with(
                "body",
                Code::WrongType {
                    expected: "a JSON object of the documented shape",
                },
                e.to_string(),
            )]),
            _ => AppError::BadRequest(format!("The body is not valid JSON: {e}")),
        },
        J::Payload(actix_web::error::PayloadError::Overflow) => AppError::PayloadTooLarge,
        J::Payload(e) if crate::api::deadline::timed_out(e) => AppError::RequestTimeout,
        other => AppError::BadRequest(format!("The body could not be read: {other}")),
    };
    app.into()
}

/// Form extractor failures (Open311 and the public pages post forms).
pub fn form_error(err: actix_web::error::UrlencodedError, _req: &HttpRequest) -> actix_web::Error {
    use actix_web::error::UrlencodedError as U;
    let app = match &err {
        U::ContentType => AppError::UnsupportedMediaType(
            "Send the body as application/x-www-form-urlencoded.".into(),
        ),
        U::Overflow { .. } => AppError::PayloadTooLarge,
        U::Payload(e) if crate::api::deadline::timed_out(e) => AppError::RequestTimeout,
        U::Parse(_) => AppError::Validation(vec![FieldError::with(
            "body",
            Code::BadFormat,
            err.to_string(),
        )]),
        other => AppError::BadRequest(format!("The form could not be read: {other}")),
    };
    app.into()
}

/// Query-string failures name the parameters.
pub fn query_error(
    err: actix_web::error::QueryPayloadError,
    _req: &HttpRequest,
) -> actix_web::Error {
    AppError::Validation(vec![FieldError::with(
        "query",
        Code::BadFormat,
        err.to_string(),
    )])
    .into()
}

/// A path that does not parse names no record: 404.
pub fn path_error(_err: actix_web::error::PathError, _req: &HttpRequest) -> actix_web::Error {
    AppError::NotFound.into()
}

/// Collects field errors so a request is judged whole, not field by field.
#[derive(Default, Debug)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds an error worded by its code.
    pub fn add(&mut self, field: impl Into<String>, code: Code) {
        self.0.push(FieldError::new(field, code));
    }
    /// Adds an error whose message says more than its code.
    pub fn add_with(&mut self, field: impl Into<String>, code: Code, message: impl Into<String>) {
        self.0.push(FieldError::with(field, code, message));
    }
    /// The errors so far.
    pub fn as_slice(&self) -> &[FieldError] {
        &self.0
    }
    /// Whether `field` has an error already.
    pub fn has(&self, field: &str) -> bool {
        self.0.iter().any(|e| e.field == field)
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The 422 naming every field added so far.
    pub fn into_error(self) -> AppError {
        AppError::Validation(self.0)
    }
    /// `Ok(())` when nothing was added, else the 422 naming every field.
    pub fn finish(self) -> AppResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self.0))
        }
    }
}
