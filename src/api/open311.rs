//! Open311 GeoReport v2 under `/open311/v2/`: every resource in XML or JSON,
//! chosen by the extension (`services.xml`, `requests/XG….json`). Errors are
//! the standard's `errors` list in the same format, not problem+json.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

use crate::domain::command::Source;
use crate::domain::commands::CreateComplaint;
use crate::domain::open311::{self as o311, Doc, Open311Error};
use crate::domain::throttle;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The response format of a path's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Xml,
    Json,
}

impl Format {
    fn parse(ext: &str) -> Result<Self, Failure> {
        match ext {
            "xml" => Ok(Format::Xml),
            "json" => Ok(Format::Json),
            // XML is the standard's required format, so the error is in XML.
            _ => Err(Failure {
                format: Format::Xml,
                error: Open311Error::not_found("format: use .xml or .json"),
            }),
        }
    }

    fn render(self, status: StatusCode, doc: &Doc) -> HttpResponse {
        let mut resp = HttpResponse::build(status);
        resp.insert_header((header::CACHE_CONTROL, "no-store"));
        match self {
            Format::Xml => resp
                .insert_header((
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/xml; charset=utf-8"),
                ))
                .body(doc.node.to_xml(doc.root)),
            Format::Json => resp
                .insert_header((
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json; charset=utf-8"),
                ))
                .body(doc.node.to_json().to_string()),
        }
    }
}

/// An Open311 error in the format the client asked for.
#[derive(Debug, thiserror::Error)]
#[error("open311 error {}", .error.status)]
pub struct Failure {
    format: Format,
    error: Open311Error,
}

impl ResponseError for Failure {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.error.status).unwrap_or(StatusCode::BAD_REQUEST)
    }

    fn error_response(&self) -> HttpResponse {
        let mut resp = self.format.render(self.status_code(), &self.error.doc());
        if self.error.status == 408 {
            resp.head_mut()
                .set_connection_type(actix_web::http::ConnectionType::Close);
        }
        if self.error.status == 429 {
            // The limits' windows are minutes long; a minute is a fair pause.
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        }
        resp
    }
}

type Answer = Result<HttpResponse, Failure>;

fn ok(format: Format, doc: &Doc) -> Answer {
    Ok(format.render(StatusCode::OK, doc))
}

/// Counts a read against the client's address, whatever it asks for: more
/// than `open311.max_reads_per_address` in the window is 429.
async fn count_read(req: &HttpRequest, state: &web::Data<AppState>, format: Format) -> Answer {
    let client = crate::request::client_address(req, state);
    let st = state.clone();
    let now = state.clock.now();
    let counted = state
        .db(move |c| {
            let o = &st.settings.open311;
            let window = chrono::Duration::seconds(o.read_window_seconds);
            let key = throttle::use_key(&st.intake.keys, "o311read", &client);
            throttle::check_uses(c, &key, o.max_reads_per_address, window, now)?;
            throttle::count_use(c, &key, window, now)?;
            Ok(())
        })
        .await;
    match counted {
        Ok(()) => Ok(HttpResponse::Ok().finish()),
        Err(e) => Err(Failure {
            format,
            error: e.into(),
        }),
    }
}

/// Runs a read `f` on the blocking pool, once counted ([`count_read`]);
/// errors are answered in `format`.
async fn run<F>(req: &HttpRequest, state: &web::Data<AppState>, format: Format, f: F) -> Answer
where
    F: FnOnce(&mut crate::db::DbConn) -> o311::Open311Result<Doc> + Send + 'static,
{
    count_read(req, state, format).await?;
    answer(format, state.db(move |c| Ok(f(c))).await)
}

/// The answer to a database job: its document, or its error (the
/// database's own included) in `format`.
fn answer(format: Format, result: AppResult<o311::Open311Result<Doc>>) -> Answer {
    match result.map_err(Open311Error::from).and_then(|r| r) {
        Ok(doc) => ok(format, &doc),
        Err(error) => Err(Failure { format, error }),
    }
}

/// `GET /open311/v2/discovery.{format}`.
pub async fn discovery(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Answer {
    let format = Format::parse(&path.into_inner())?;
    let url = format!("{}/open311/v2", crate::request::public_base(&req, &state));
    let st = state.clone();
    run(&req, &state, format, move |c| {
        o311::discovery(c, &st.settings.open311, &url, st.intake.tz)
    })
    .await
}

/// `GET /open311/v2/services.{format}`.
pub async fn list_services(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Answer {
    let format = Format::parse(&path.into_inner())?;
    run(&req, &state, format, o311::services).await
}

/// `GET /open311/v2/services/{service_code}.{format}`.
pub async fn get_service(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Answer {
    let (code, ext) = path.into_inner();
    let format = Format::parse(&ext)?;
    run(&req, &state, format, move |c| {
        o311::service_definition(c, &code)
    })
    .await
}

/// `POST /open311/v2/requests.{format}` (form-encoded, with `api_key`).
pub async fn create_request(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Answer {
    let format = Format::parse(&path.into_inner())?;
    let fail = |error: Open311Error| Failure { format, error };
    let form_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !form_type {
        return Err(fail(Open311Error::bad(
            "Content-Type: send the request as application/x-www-form-urlencoded",
        )));
    }
    let limit = state.settings.server.body_limit_bytes;
    let bytes = match payload.to_bytes_limited(limit).await {
        Ok(Ok(b)) => b,
        Ok(Err(e))
            if e.as_error::<actix_web::error::PayloadError>()
                .is_some_and(super::deadline::timed_out) =>
        {
            return Err(fail(Open311Error::new(
                408,
                "the body did not arrive in time",
            )));
        }
        Ok(Err(_)) => return Err(fail(Open311Error::bad("the body could not be read"))),
        Err(_) => {
            return Err(fail(Open311Error::bad(format!(
                "the body is larger than {limit} bytes"
            ))));
        }
    };
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
        .map_err(|_| fail(Open311Error::bad("the body is not a valid form")))?;
    let sub =
        o311::read_form(pairs, &state.settings.open311.api_keys, state.intake.tz).map_err(fail)?;
    // The fingerprint covers the location text too, which stays out of the
    // complaint's body.
    let fingerprint = serde_json::json!({"body": sub.body, "address_string": sub.address});
    let idem = super::idempotency(&req, "POST /open311/v2/requests".into(), &fingerprint)
        .map_err(|e: AppError| fail(e.into()))?;
    let cmd = state
        .parse::<CreateComplaint>(&sub.body, Source::Form)
        .await
        .map_err(|e| fail(o311::Open311Error::from_app(e, &sub.names)))?;
    let now = state.clock.now();
    let st = state.clone();
    let client = crate::request::client_address(&req, &state);
    let result = state
        .db_write(move |c| {
            Ok(o311::file_request(
                c,
                &st.intake,
                &sub,
                cmd,
                &client,
                idem.as_ref(),
                now,
            ))
        })
        .await;
    answer(format, result)
}

/// The query string as pairs, in the Open311 error shape when unreadable.
fn query_pairs(req: &HttpRequest, format: Format) -> Result<Vec<(String, String)>, Failure> {
    serde_urlencoded::from_str(req.query_string()).map_err(|_| Failure {
        format,
        error: Open311Error::bad("the query string could not be read"),
    })
}

/// `GET /open311/v2/requests.{format}` with the standard's filters.
pub async fn list_requests(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Answer {
    let format = Format::parse(&path.into_inner())?;
    let tz = state.intake.tz;
    // Counted before it is read: a malformed query is a read too.
    count_read(&req, &state, format).await?;
    let o = &state.settings.open311;
    let query = o311::read_query(
        query_pairs(&req, format)?,
        o.publish_list,
        tz,
        state.clock.now(),
    )
    .map_err(|error| Failure { format, error })?;
    let (publish, limit) = (o.publish_description, o.list_limit);
    answer(
        format,
        state
            .db(move |c| Ok(o311::list_requests(c, &query, limit, publish, tz)))
            .await,
    )
}

/// `GET /open311/v2/requests/{service_request_id}.{format}`.
pub async fn get_request(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Answer {
    let (id, ext) = path.into_inner();
    let format = Format::parse(&ext)?;
    let tz = state.intake.tz;
    let publish = state.settings.open311.publish_description;
    run(&req, &state, format, move |c| {
        o311::get_request(c, &id, publish, tz)
    })
    .await
}

/// `GET /open311/v2/tokens/{token}.{format}`: always 404 (no tokens issued).
pub async fn get_token(path: web::Path<(String, String)>) -> Answer {
    let (token, ext) = path.into_inner();
    let format = Format::parse(&ext)?;
    Err(Failure {
        format,
        error: o311::token_not_found(&token),
    })
}

/// Anything else under `/open311/v2/` (a path without a format extension, a
/// wrong method): 404 in the standard's shape, in XML.
pub async fn not_found() -> Answer {
    Err(Failure {
        format: Format::Xml,
        error: Open311Error::not_found(
            "no such resource; paths end in .xml or .json, e.g. /open311/v2/services.xml",
        ),
    })
}
