//! Open311 GeoReport v2 (README, "Open311"): categories as services, complaints as
//! service requests. What belongs here: reading a GeoReport form into the
//! body the web form takes (intake does the rest), the public request view,
//! the query window, the standard's error shape, and rendering one response
//! tree as XML or JSON (the Spark convention: a list element becomes an
//! array, a record becomes an object).
//!
//! One file per subject: `document` (the response tree), `error` (the
//! standard's error answer and its HTTP statuses), `time`, `fields` (the
//! Open311 field names), `services` (discovery and services), `form`
//! (`POST requests`) and `requests` (`GET requests`).

mod document;
mod error;
mod fields;
mod form;
mod requests;
mod services;
mod time;

pub use document::{Doc, Node, escape_xml};
pub use error::{Open311Error, Open311Result};
pub use fields::{ATTRIBUTES, FieldNames};
pub use form::{MAX_DESCRIPTION, Submission, file_request, key_matches, read_form, service_notice};
pub use requests::{
    CLOSED, MAX_RESULTS, WINDOW_DAYS, get_request, list_requests, open_or_closed, read_query,
    request_docs, token_not_found,
};
pub use services::{SPECIFICATION, discovery, service_definition, services};
pub use time::{parse_w3, w3};
