//! Logging and metrics. One span per request with a request id (also sent
//! back as `X-Request-Id`); one access line per request naming the route
//! pattern, never the raw path or query (they can carry search text). JSON
//! lines in production, compact text elsewhere. Never log identity fields,
//! complaint text, query codes or tokens.

use std::sync::OnceLock;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use rand::RngCore;
use tracing::Instrument;
use tracing_subscriber::EnvFilter;

use crate::config::AppEnv;

/// Installs the global subscriber. `DUBAN_LOG` (or `RUST_LOG`) filters,
/// else `default_filter`.
pub fn init(env: AppEnv, default_filter: &str) {
    init_to(env, default_filter, LogOutput::Stdout);
}

/// Where log lines go: the service's to standard output; a command that
/// prints its result (JSON a script reads) logs to standard error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogOutput {
    Stdout,
    Stderr,
}

pub fn init_to(env: AppEnv, default_filter: &str, output: LogOutput) {
    let filter = EnvFilter::try_from_env("DUBAN_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new(default_filter));
    let writer = move || -> Box<dyn std::io::Write> {
        match output {
            LogOutput::Stdout => Box::new(std::io::stdout()),
            LogOutput::Stderr => Box::new(std::io::stderr()),
        }
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let _ = if env == AppEnv::Production {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.compact().with_target(false).try_init()
    };
}

pub const REQUEST_DURATION: &str = "duban_http_request_duration_seconds";

/// The process-wide Prometheus recorder (installed once; later calls, as in
/// tests with several apps, share it).
pub fn metrics_handle() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(REQUEST_DURATION.into()),
                    &[
                        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    ],
                )
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            Some(handle)
        })
        .clone()
}

fn new_request_id() -> String {
    let mut b = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut b);
    crate::domain::privacy::hex(&b)
}

/// Middleware: request id, span, access line, request metrics.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = new_request_id();
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().clone();
    let span = tracing::info_span!(
        "request",
        request.id = %request_id,
        http.method = %method,
        http.route = %route,
        user.id = tracing::field::Empty,
    );
    let started = Instant::now();
    let result = next.call(req).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let mut res = result?;
    let status = res.status().as_u16();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut()
            .insert(HeaderName::from_static("x-request-id"), v);
    }
    span.in_scope(|| {
        tracing::info!(
            http.status = status,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "request finished"
        );
    });
    let labels = [
        ("route", route),
        ("method", method.to_string()),
        ("status", status.to_string()),
    ];
    metrics::counter!("duban_http_requests_total", &labels).increment(1);
    metrics::histogram!(REQUEST_DURATION, "route" => labels[0].1.clone(), "method" => labels[1].1.clone())
        .record(elapsed.as_secs_f64());
    Ok(res)
}

/// The calendar years that matter now — this one and the next, which
/// deadlines near the year's end reach into — that have no calendar file.
/// Sets `duban_calendar_provisional{year}` (1: provisional, 0: official) and
/// warns once per call for each provisional year; readiness reports the same.
pub fn report_calendar(
    calendar: &crate::domain::calendar::Calendar,
    tz: chrono_tz::Tz,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<i32> {
    use chrono::Datelike;
    let year = now.with_timezone(&tz).year();
    let provisional = calendar.provisional_among([year, year + 1]);
    for y in [year, year + 1] {
        let flag = if provisional.contains(&y) { 1.0 } else { 0.0 };
        metrics::gauge!("duban_calendar_provisional", "year" => y.to_string()).set(flag);
    }
    for y in &provisional {
        tracing::warn!(
            year = y,
            "no config/calendar file for this year: deadlines in it are provisional \
             (statutory holidays only) until the State Council's notice is added"
        );
    }
    provisional
}
