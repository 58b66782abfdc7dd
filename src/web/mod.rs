//! Public pages: the complaint form, the receipt, progress tracking and
//! feedback, in Chinese, as plain HTML forms that work without JavaScript.
//! Templates and the stylesheet are embedded in the binary. Handlers are thin:
//! they turn a form into the JSON body the API takes and call the same domain
//! functions as `api/complaints.rs` and `api/track.rs`. Nothing typed into a
//! form is logged.
//!
//! One file per subject: `render` (templates, stylesheet, headers), `input`
//! (reading a posted form), `errors` (page errors and their words),
//! `complaint` (the form and the receipt) and `tracking` (tracking and
//! feedback).

mod complaint;
mod errors;
mod input;
mod render;
mod tracking;

use actix_web::web;

pub use complaint::{complaint_json, show_form, submit_form};
pub use render::{CSP, stylesheet, templates};
pub use tracking::{show_track, submit_feedback, track_case};

/// The public pages' routes (mounted by `startup` beside `api::routes`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(show_form))
        .route("/", web::post().to(submit_form))
        .route("/track", web::get().to(show_track))
        .route("/track", web::post().to(track_case))
        .route("/track/feedback", web::post().to(submit_feedback))
        .route("/static/duban.css", web::get().to(stylesheet));
}
