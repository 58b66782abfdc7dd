//! The shared parts of the OpenAPI document that handlers name in their
//! `#[utoipa::path]` annotations: the error answers, the receipt, the query
//! parameters of the lists and the catalogue's shape. A leaf: it imports
//! nothing from the other `api` modules, so handlers and `api/docs.rs` both
//! depend on it and not on each other.

#![allow(dead_code)] // The query and answer types below are read by utoipa, not by code.

use chrono::{DateTime, Utc};
use utoipa::ToSchema;

use crate::error::Problem;

/// What the citizen is given once.
#[derive(ToSchema)]
pub struct Receipt {
    #[schema(example = "XG20261127000123")]
    tracking_no: String,
    /// Shown only here; stored only as a keyed hash.
    #[schema(example = "DPQR9JHJ")]
    query_code: String,
    #[schema(example = "assigned")]
    status: String,
    received_at: DateTime<Utc>,
}

/// The paging of the lists (`api::Params::paging` with `DEFAULT_PER_PAGE`).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Page number, from 1
    #[param(nullable = false)]
    page: Option<i64>,
    /// Items per page, 1 to 200 (default 50)
    #[param(nullable = false)]
    per_page: Option<i64>,
}

/// The paging of the case list: by number for the first 10,000 cases, or
/// after a case (`next_cursor`) at any depth.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CasePaging {
    /// Page number, from 1; `page` × `per_page` at most 10,000
    #[param(nullable = false)]
    page: Option<i64>,
    /// Items per page, 1 to 200 (default 50)
    #[param(nullable = false)]
    per_page: Option<i64>,
    /// The `next_cursor` of the page before (not with `page`): the next page
    /// in constant time however deep, unshifted by cases filed meanwhile
    #[param(nullable = false)]
    after: Option<String>,
}

/// The paging of the reference lists, which give every item by default.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReferencePaging {
    /// Page number, from 1
    #[param(nullable = false)]
    page: Option<i64>,
    /// Items per page, 1 to 200 (default 200)
    #[param(nullable = false)]
    per_page: Option<i64>,
}

/// The case-list filters, read by `api::complaints::read_filter` for the
/// list and for the CSV export alike.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseFilter {
    /// received, assigned, in_progress, reported, closed, rejected or merged
    #[param(nullable = false)]
    status: Option<String>,
    /// Responsible unit code (a unit officer always sees its own only)
    #[param(nullable = false)]
    unit: Option<String>,
    /// Subject unit code
    #[param(nullable = false)]
    subject_unit: Option<String>,
    /// Category code
    #[param(nullable = false)]
    category: Option<String>,
    /// web, hotline, letter, visit, email or open311
    #[param(nullable = false)]
    channel: Option<String>,
    /// Received from: a local date (2026-11-27) or an RFC 3339 time
    #[param(nullable = false)]
    from: Option<String>,
    /// Received up to: a local date (included) or an RFC 3339 time
    #[param(nullable = false)]
    to: Option<String>,
    /// Text in title, content or tracking number
    #[param(nullable = false)]
    q: Option<String>,
    /// true: open cases past a deadline (each item then says by how many
    /// days and how far up the ladder it is, in `overdue`)
    #[param(nullable = false)]
    overdue: Option<String>,
    /// Cases waiting for the office: return_requested, needs_confirmation,
    /// delivery_failed, unsatisfied, extension_requested (a pending extension
    /// request) or report_awaiting_review (status reported)
    #[param(nullable = false)]
    flag: Option<String>,
}

// The error answers, each a problem+json body with one description per
// status, so that an operation names the ones it can give in its
// `responses(...)` instead of spelling each out again.

/// The answers of an operation that reads a JSON body: it could not be read
/// (400), came too slowly (408), is too large (413), is not JSON (415), or
/// has invalid fields (422).
#[derive(utoipa::IntoResponses)]
pub enum BadBody {
    #[response(
        status = 400,
        description = "The body or query could not be read",
        content_type = "application/problem+json"
    )]
    Unreadable(Problem),
    #[response(
        status = 408,
        description = "The body did not arrive in time; the connection is closed",
        content_type = "application/problem+json"
    )]
    TooSlow(Problem),
    #[response(
        status = 413,
        description = "The body is too large",
        content_type = "application/problem+json"
    )]
    TooLarge(Problem),
    #[response(
        status = 415,
        description = "The body must be JSON",
        content_type = "application/problem+json"
    )]
    NotJson(Problem),
    #[response(
        status = 422,
        description = "Invalid fields, each named",
        content_type = "application/problem+json"
    )]
    Invalid(Problem),
}

/// 422 for an operation without a body (its query parameters).
#[derive(utoipa::IntoResponses)]
#[response(
    status = 422,
    description = "Invalid fields, each named",
    content_type = "application/problem+json"
)]
pub struct Invalid(Problem);

#[derive(utoipa::IntoResponses)]
#[response(
    status = 401,
    description = "Missing or invalid token",
    content_type = "application/problem+json"
)]
pub struct Unauthorized(Problem);

#[derive(utoipa::IntoResponses)]
#[response(
    status = 403,
    description = "The role may not do this",
    content_type = "application/problem+json"
)]
pub struct Forbidden(Problem);

#[derive(utoipa::IntoResponses)]
#[response(
    status = 404,
    description = "No such record (or not yours)",
    content_type = "application/problem+json"
)]
pub struct NotFound(Problem);

#[derive(utoipa::IntoResponses)]
#[response(
    status = 409,
    description = "Not possible in the current state",
    content_type = "application/problem+json"
)]
pub struct Conflict(Problem);

#[derive(utoipa::IntoResponses)]
#[response(
    status = 429,
    description = "Too many failed attempts (see Retry-After)",
    content_type = "application/problem+json"
)]
pub struct TooManyAttempts(Problem);

#[derive(utoipa::IntoResponses)]
#[response(
    status = 503,
    description = "The database is not available (see Retry-After)",
    content_type = "application/problem+json"
)]
pub struct Unavailable(Problem);

/// The accountability catalogue.
#[derive(ToSchema)]
pub struct CatalogueView {
    aspects: Vec<crate::domain::accountability::AspectEntry>,
    situations: Vec<crate::domain::accountability::Situation>,
    decisions: Vec<String>,
}
