//! Rendering the public pages: the embedded templates and stylesheet, and
//! every page's security headers.

use std::sync::OnceLock;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use minijinja::{Environment, context};

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

pub(super) fn render(status: StatusCode, name: &str, ctx: minijinja::Value) -> HttpResponse {
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

/// A time as the pages show it, in the county's zone.
pub(super) fn local(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
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
}
