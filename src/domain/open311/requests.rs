//! `GET requests`: the query window and the public view of cases as service
//! requests.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use crate::db::complaints::{Complaint, PublicQuery};
use crate::db::{self, DbConn, categories, units};
use crate::domain::tracking::status_label;

use super::document::{Doc, Node};
use super::error::{Open311Error, Open311Result};
use super::time::{parse_w3, w3};

/// Most requests one `GET requests` returns, and its default window.
/// Ids one `GET requests` may ask for.
pub const MAX_RESULTS: i64 = 100;
pub const WINDOW_DAYS: i64 = 90;
/// Our statuses that GeoReport calls `closed`; every other is `open`.
pub const CLOSED: &[&str] = &["closed", "rejected", "merged"];
const OPEN: &[&str] = &["received", "assigned", "in_progress", "reported"];

/// Reads the query of `GET requests`. `service_request_id` overrides every
/// other argument; otherwise the window is at most 90 days (the most recent
/// 90 by default) and at most [`MAX_RESULTS`] requests.
pub fn read_query(
    pairs: Vec<(String, String)>,
    publish_list: bool,
    tz: Tz,
    now: DateTime<Utc>,
) -> Open311Result<PublicQuery> {
    // A NUL or other control character is no id, code or date: refused
    // before it reaches the database (PostgreSQL refuses NUL in any text).
    if let Some((k, _)) = pairs.iter().find(|(_, v)| v.chars().any(char::is_control)) {
        return Err(Open311Error::bad(format!(
            "{k}: must not contain control characters"
        )));
    }
    // Repeated arguments are read like one comma-separated list.
    let get = |name: &str| -> Option<Vec<String>> {
        let items: Vec<String> = pairs
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(','))
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        (!items.is_empty()).then_some(items)
    };
    let mut problems = Vec::new();
    if let Some(ids) = get("service_request_id") {
        if ids.len() as i64 > MAX_RESULTS {
            problems.push(format!(
                "service_request_id: at most {MAX_RESULTS} ids at once"
            ));
        }
        if !problems.is_empty() {
            return Err(Open311Error {
                status: 400,
                descriptions: problems,
            });
        }
        return Ok(PublicQuery {
            tracking_nos: Some(ids.into_iter().map(|s| s.to_ascii_uppercase()).collect()),
            ..PublicQuery::default()
        });
    }
    if !publish_list {
        return Err(Open311Error::bad(
            "service_request_id: is required; this endpoint does not publish its list of \
             requests, ask for the requests you hold by their ids",
        ));
    }
    let statuses = match get("status") {
        None => None,
        Some(list) => {
            let mut ours: Vec<String> = Vec::new();
            for s in &list {
                match s.as_str() {
                    "open" => ours.extend(OPEN.iter().map(|s| (*s).to_owned())),
                    "closed" => ours.extend(CLOSED.iter().map(|s| (*s).to_owned())),
                    _ => problems.push(format!("status: {s} is not open or closed")),
                }
            }
            Some(ours)
        }
    };
    let mut date = |name: &str| -> Option<DateTime<Utc>> {
        let raw = get(name)?.join(",");
        let t = parse_w3(&raw, tz);
        if t.is_none() {
            problems.push(format!(
                "{name}: must be a W3C datetime such as 2026-11-27T00:00:00+08:00"
            ));
        }
        t
    };
    let (start, end) = (date("start_date"), date("end_date"));
    let window = Duration::days(WINDOW_DAYS);
    let (from, to) = match (start, end) {
        (Some(s), Some(e)) => {
            if e < s {
                problems.push("end_date: must not be before start_date".into());
            } else if e - s > window {
                problems.push(format!(
                    "start_date, end_date: may not span more than {WINDOW_DAYS} days"
                ));
            }
            (s, Some(e))
        }
        (Some(s), None) => (s, Some(s + window)),
        (None, Some(e)) => (e - window, Some(e)),
        (None, None) => (now - window, None),
    };
    if !problems.is_empty() {
        return Err(Open311Error {
            status: 400,
            descriptions: problems,
        });
    }
    Ok(PublicQuery {
        tracking_nos: None,
        categories: get("service_code"),
        statuses,
        from: Some(db::to_db(from)),
        to: to.map(db::to_db),
    })
}

/// GeoReport's two statuses.
pub fn open_or_closed(status: &str) -> &'static str {
    if CLOSED.contains(&status) {
        "closed"
    } else {
        "open"
    }
}

/// The public view of cases: status, dates, category, responsible unit and
/// public reply; the complaint text only when `publish_description`. Never
/// identity, title, township or the query code.
pub fn request_docs(
    conn: &mut DbConn,
    cases: Vec<Complaint>,
    publish_description: bool,
    tz: Tz,
) -> Open311Result<Doc> {
    let mut cat_codes: Vec<String> = cases
        .iter()
        .filter_map(|c| c.category_code.clone())
        .collect();
    cat_codes.sort();
    cat_codes.dedup();
    let mut unit_codes: Vec<String> = cases
        .iter()
        .filter_map(|c| c.responsible_unit_code.clone())
        .collect();
    unit_codes.sort();
    unit_codes.dedup();
    let cat_names = categories::names(conn, &cat_codes)?;
    let unit_names = units::names(conn, &unit_codes)?;
    let lookup = |list: &[(String, String)], code: &Option<String>| {
        code.as_ref()
            .and_then(|code| list.iter().find(|(c, _)| c == code).map(|(_, n)| n.clone()))
    };
    let items = cases
        .into_iter()
        .map(|c| {
            let notes = c
                .public_reply
                .clone()
                .unwrap_or_else(|| status_label(&c.status).to_owned());
            Node::Record(vec![
                ("service_request_id", Node::text(c.tracking_no.clone())),
                ("status", Node::text(open_or_closed(&c.status))),
                ("status_notes", Node::text(notes)),
                (
                    "service_name",
                    Node::opt(lookup(&cat_names, &c.category_code)),
                ),
                ("service_code", Node::opt(c.category_code.clone())),
                (
                    "description",
                    Node::opt(publish_description.then(|| c.content.clone())),
                ),
                (
                    "agency_responsible",
                    Node::opt(lookup(&unit_names, &c.responsible_unit_code)),
                ),
                ("service_notice", Node::Null),
                ("requested_datetime", Node::text(w3(c.received_at, tz))),
                ("updated_datetime", Node::text(w3(c.updated_at, tz))),
                ("expected_datetime", Node::opt(c.due_at.map(|t| w3(t, tz)))),
                ("address", Node::Null),
                ("address_id", Node::Null),
                ("zipcode", Node::Null),
                ("lat", Node::Null),
                ("long", Node::Null),
                ("media_url", Node::Null),
            ])
        })
        .collect();
    Ok(Doc {
        root: "service_requests",
        node: Node::List {
            item: "request",
            items,
        },
    })
}

/// `GET requests`.
pub fn list_requests(
    conn: &mut DbConn,
    q: &PublicQuery,
    limit: i64,
    publish_description: bool,
    tz: Tz,
) -> Open311Result<Doc> {
    let limit = if q.tracking_nos.is_some() {
        MAX_RESULTS
    } else {
        limit
    };
    let cases = db::complaints::public_list(conn, q, limit)?;
    request_docs(conn, cases, publish_description, tz)
}

/// `GET requests/{id}`: a list of one, or 404.
pub fn get_request(
    conn: &mut DbConn,
    id: &str,
    publish_description: bool,
    tz: Tz,
) -> Open311Result<Doc> {
    let number = id.trim().to_ascii_uppercase();
    let Some(c) = db::complaints::by_tracking_no(conn, &number)? else {
        return Err(Open311Error::not_found(format!(
            "service_request_id: no request {number}"
        )));
    };
    request_docs(conn, vec![c], publish_description, tz)
}

/// `GET tokens/{token}`: POST answers with the `service_request_id` at once
/// (every service is `realtime`), so no token exists.
pub fn token_not_found(token: &str) -> Open311Error {
    let shown: String = token.chars().take(64).collect();
    Open311Error::not_found(format!(
        "token: no token {shown}; requests are created synchronously and no tokens are issued"
    ))
}
