//! The OpenAPI 3 document of `/api/v1`, generated with utoipa from the
//! handlers' `#[utoipa::path]` annotations, served at `/api-docs/openapi.json`
//! with a browsable page at `/api-docs/` (Swagger UI, vendored into the
//! binary: nothing is fetched at build or run time).
//!
//! Handlers read their bodies field by field (so that every bad field is
//! named at once); the request types below describe those bodies for the
//! document only.

#![allow(dead_code)] // The request types are read by utoipa, not by code.

use chrono::{DateTime, NaiveDate, Utc};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::error::Problem;

/// The complainant. Name and a valid phone are required unless the
/// complaint is anonymous.
#[derive(ToSchema)]
pub struct Complainant {
    #[schema(max_length = 50)]
    name: Option<String>,
    /// Mainland mobile (11 digits starting 1) or landline with area code.
    #[schema(example = "139 1234 5678")]
    phone: Option<String>,
    #[schema(max_length = 254)]
    email: Option<String>,
    /// 18-character resident ID number, checksum verified.
    #[schema(max_length = 18)]
    id_number: Option<String>,
    #[schema(max_length = 200)]
    address: Option<String>,
}

/// A complaint from the public web form (channel `web`).
#[derive(ToSchema)]
pub struct CreateComplaint {
    #[schema(min_length = 1, max_length = 200, example = "办证被索要好处费")]
    title: String,
    #[schema(min_length = 10, max_length = 10000)]
    content: String,
    /// Category code (`GET /api/v1/categories`).
    category: Option<String>,
    /// Code of the unit complained about (`GET /api/v1/units`).
    subject_unit: Option<String>,
    #[schema(max_length = 50)]
    subject_person: Option<String>,
    #[schema(max_length = 50)]
    township: Option<String>,
    occurred_on: Option<NaiveDate>,
    #[schema(default = false)]
    anonymous: Option<bool>,
    complainant: Option<Complainant>,
}

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

#[derive(ToSchema)]
pub struct TokenRequest {
    username: String,
    password: String,
}

#[derive(ToSchema)]
pub struct TrackRequest {
    tracking_no: String,
    query_code: String,
}

#[derive(ToSchema)]
pub struct FeedbackRequest {
    tracking_no: String,
    query_code: String,
    /// `satisfied`, `basically_satisfied` or `unsatisfied`.
    satisfaction: String,
    #[schema(max_length = 2000)]
    comment: Option<String>,
}

/// A hotline call; `complaint` is required when `disposition` is
/// `complaint`, and is then received at `started_at`. A call about an
/// existing case (`status_inquiry`, `follow_up`, `supplement`, `callback`)
/// names it by `tracking_no`; `supplement` carries the caller's added facts,
/// `callback` the attempt; `transferred` names the line in `transferred_to`.
#[derive(ToSchema)]
pub struct LogCall {
    caller_phone: Option<String>,
    started_at: DateTime<Utc>,
    #[schema(minimum = 0, maximum = 86400)]
    duration_seconds: i32,
    #[schema(max_length = 2000)]
    summary: String,
    /// `answered`, `consultation`, `complaint`, `invalid`, `status_inquiry`,
    /// `follow_up`, `supplement`, `callback` or `transferred`.
    disposition: String,
    complaint: Option<CreateComplaint>,
    #[schema(max_length = 40)]
    tracking_no: Option<String>,
    #[schema(min_length = 5, max_length = 10000)]
    supplement: Option<String>,
    callback: Option<Callback>,
    /// `110`, `12345`, `12388` or `other` (then `transferred_to_name`).
    transferred_to: Option<String>,
    #[schema(max_length = 100)]
    transferred_to_name: Option<String>,
}

#[derive(ToSchema)]
pub struct Screen {
    /// `invalid` (with `reason`), `duplicate` (with `duplicate_of`) or
    /// `not_duplicate` (clears a possible-duplicate mark).
    decision: String,
    reason: Option<String>,
    duplicate_of: Option<String>,
}

#[derive(ToSchema)]
pub struct Assign {
    unit: String,
    #[schema(minimum = 1, maximum = 120)]
    handle_workdays: Option<i32>,
    note: Option<String>,
    /// Required to assign a case that names an officer of the unit.
    confirm: Option<bool>,
}

#[derive(ToSchema)]
pub struct Reason {
    #[schema(min_length = 5, max_length = 2000)]
    reason: String,
}

#[derive(ToSchema)]
pub struct Reopen {
    #[schema(min_length = 5, max_length = 2000)]
    reason: String,
    #[schema(minimum = 1, maximum = 120)]
    handle_workdays: Option<i32>,
    /// `reopen` (default) or `keep_closed` (the case stays closed and leaves
    /// the queue, with `reason`).
    decision: Option<String>,
}

/// Why the callback needs the complainant's number.
#[derive(ToSchema)]
pub struct ContactRequest {
    #[schema(min_length = 2, max_length = 500)]
    reason: String,
}

/// `approve` or `deny`.
#[derive(ToSchema)]
pub struct Decide {
    decision: String,
    note: Option<String>,
}

#[derive(ToSchema)]
pub struct Progress {
    #[schema(max_length = 2000)]
    content: String,
    /// Ask for the note to be shown on the citizen's public timeline: it
    /// waits for a supervisor's approval (unless the office trusts the unit).
    #[schema(default = false)]
    public: Option<bool>,
}

#[derive(ToSchema)]
pub struct ExtensionRequest {
    #[schema(minimum = 1, maximum = 120)]
    workdays: i32,
    #[schema(min_length = 5, max_length = 1000)]
    reason: String,
}

#[derive(ToSchema)]
pub struct RectificationItem {
    content: String,
    responsible_person: String,
    deadline: NaiveDate,
    target: String,
}

#[derive(ToSchema)]
pub struct Report {
    #[schema(min_length = 10)]
    findings: String,
    #[schema(min_length = 5)]
    measures: String,
    responsible_person: String,
    rectification_deadline: NaiveDate,
    target: String,
    /// Published to the citizen when the case closes.
    #[schema(min_length = 5)]
    public_reply: String,
    rectification_items: Option<Vec<RectificationItem>>,
}

#[derive(ToSchema)]
pub struct Review {
    /// `accept` or `redo`.
    decision: String,
    comment: Option<String>,
    #[schema(minimum = 1, maximum = 120)]
    handle_workdays: Option<i32>,
}

#[derive(ToSchema)]
pub struct Callback {
    /// `reached` (default), `no_answer` or `refused`.
    outcome: Option<String>,
    /// `satisfied`, `basically_satisfied` or `unsatisfied`; required when
    /// the citizen was reached, refused otherwise.
    satisfaction: Option<String>,
    #[schema(max_length = 2000)]
    note: Option<String>,
}

#[derive(ToSchema)]
pub struct OpenAccountability {
    unit: String,
    #[schema(max_length = 2000)]
    reason: String,
    person: Option<String>,
    tracking_no: Option<String>,
    /// A situation code of the catalogue.
    situation: Option<String>,
    /// A provisional deduction, as the change to the score: -100 to 0, at
    /// most two decimals (-1 deducts one point).
    #[schema(minimum = -100, maximum = 0)]
    provisional_points: Option<f64>,
}

#[derive(ToSchema)]
pub struct Defence {
    #[schema(max_length = 5000)]
    content: String,
}

#[derive(ToSchema)]
pub struct AccountabilityDecision {
    /// `dismissed`, `criticism`, `efficiency_warning`, `admonishment`,
    /// `organizational` or `economic_penalty`.
    decision: String,
    situation: Option<String>,
    /// The deduction, as the change to the score: -100 to 0, at most two
    /// decimals (-2 deducts two points). Default: the situation's; 0 or
    /// absent when dismissed.
    #[schema(minimum = -100, maximum = 0)]
    points: Option<f64>,
    /// Required with `defence_waived`.
    note: Option<String>,
    /// The unit waived its defence (recorded): lets the decision come before
    /// the defence period ends. Otherwise a decision before `defence_due_at`
    /// needs the unit's defence on file.
    defence_waived: Option<bool>,
}

#[derive(ToSchema)]
pub struct CreateUser {
    username: String,
    /// `admin`, `supervisor`, `operator`, `unit` or `auditor`.
    role: String,
    /// Required for role `unit`.
    unit: Option<String>,
    #[schema(min_length = 12)]
    password: String,
}

/// Any change revokes the user's tokens.
#[derive(ToSchema)]
pub struct UpdateUser {
    active: Option<bool>,
    #[schema(min_length = 12)]
    password: Option<String>,
    role: Option<String>,
    unit: Option<String>,
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

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from POST /api/v1/auth/token (HS256, short-lived).",
                    ))
                    .build(),
            ),
        );
    }
}

/// A new extension request.
#[derive(ToSchema)]
pub struct ExtensionCreated {
    id: i64,
    #[schema(example = "pending")]
    status: String,
    workdays: i32,
    requested_at: DateTime<Utc>,
}

/// The accountability catalogue.
#[derive(ToSchema)]
pub struct CatalogueView {
    aspects: Vec<crate::domain::accountability::AspectEntry>,
    situations: Vec<crate::domain::accountability::Situation>,
    decisions: Vec<String>,
}

/// The document: every `/api/v1` operation.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Duban (督办) API",
        description = "Complaints about officials' conduct: intake, routing to the responsible unit, the unit's answers, two deadlines per case on the Chinese working-day calendar, escalation and accountability. Errors are application/problem+json (RFC 9457) naming every bad field; lists take page and per_page (at most 200).",
        license(name = "Proprietary"),
    ),
    paths(
        crate::api::auth::issue_token,
        crate::api::reference::list_units,
        crate::api::reference::list_categories,
        crate::api::complaints::create_complaint,
        crate::api::complaints::list_complaints,
        crate::api::reports::export_complaints,
        crate::api::complaints::get_complaint,
        crate::api::workflow::screen_complaint,
        crate::api::workflow::assign_complaint,
        crate::api::workflow::acknowledge_complaint,
        crate::api::workflow::return_complaint,
        crate::api::workflow::decide_return,
        crate::api::workflow::add_progress,
        crate::api::workflow::decide_publication,
        crate::api::workflow::request_extension,
        crate::api::workflow::decide_extension,
        crate::api::workflow::submit_report,
        crate::api::workflow::review_report,
        crate::api::workflow::record_callback,
        crate::api::workflow::callback_contact,
        crate::api::complaints::get_identity,
        crate::api::queue::get_queue,
        crate::api::workflow::reopen_complaint,
        crate::api::letters::list_letters,
        crate::api::letters::get_letter,
        crate::api::notices::list_notices,
        crate::api::notices::get_notice,
        crate::api::notices::read_notice,
        crate::api::track::track_complaint,
        crate::api::track::submit_feedback,
        crate::api::calls::log_call,
        crate::api::calls::list_calls,
        crate::api::calls::look_up_caller,
        crate::api::calls::list_callbacks,
        crate::api::audit::verify_audit,
        crate::api::audit::verify_against,
        crate::api::audit::list_checkpoints,
        crate::api::audit::make_checkpoint,
        crate::api::audit::search_events,
        crate::api::escalations::run_sweep,
        crate::api::escalations::list_escalations,
        crate::api::accountability::list_accountability,
        crate::api::accountability::open_accountability,
        crate::api::accountability::list_situations,
        crate::api::accountability::get_accountability,
        crate::api::accountability::file_defence,
        crate::api::accountability::decide_accountability,
        crate::api::reports::get_ranking,
        crate::api::reports::get_stats,
        crate::api::users::create_user,
        crate::api::users::update_user
    ),
    // Every error answer's body; the shared error responses above name it
    // by reference, which does not register it by itself.
    components(schemas(Problem)),
    modifiers(&BearerAuth),
    tags(
        (name = "public", description = "Citizens: tracking and feedback"),
        (name = "complaints", description = "Filing and reading cases"),
        (name = "workflow", description = "The case lifecycle: supervisors and units"),
        (name = "letters", description = "Numbered letters and their delivery; notices to units"),
        (name = "calls", description = "Hotline calls"),
        (name = "escalations", description = "The escalation ladder"),
        (name = "accountability", description = "Accountability cases and scores"),
        (name = "reports", description = "Ranking, statistics and export"),
        (name = "reference", description = "Units and categories"),
        (name = "auth", description = "Access tokens"),
        (name = "audit", description = "The audit trail: verification and search"),
        (name = "users", description = "Accounts"),
    )
)]
pub struct ApiDoc;
