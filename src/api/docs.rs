//! The OpenAPI 3 document of `/api/v1`, generated with utoipa from the
//! handlers' `#[utoipa::path]` annotations, served at `/api-docs/openapi.json`
//! with a browsable page at `/api-docs/` (Swagger UI, vendored into the
//! binary: nothing is fetched at build or run time).
//!
//! Request bodies are described by the command types themselves
//! (`domain::commands`): the schema is generated from the type the body is
//! parsed into. The shared error answers, the receipt, the query parameters
//! of the lists and the catalogue's shape are in `api/responses.rs`; this
//! file holds the document and its security scheme.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::Problem;

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
