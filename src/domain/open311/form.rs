//! `POST requests`: reading a GeoReport form into the body the web form
//! takes, and filing it through intake (which does the rest).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use crate::db::{DbConn, categories};
use crate::domain::command::Text;
use crate::domain::commands::CreateComplaint;
use crate::domain::env::Env;
use crate::domain::idempotency::IdemRequest;
use crate::domain::intake;

use super::document::{Doc, Node};
use super::error::{Open311Error, Open311Result};
use super::fields::{ATTRIBUTES, FieldNames};
use super::time::parse_w3;

/// Longest `description` the standard allows.
pub const MAX_DESCRIPTION: usize = 4000;

/// A POST form read and checked, ready for intake.
#[derive(Debug)]
pub struct Submission {
    pub service_code: String,
    /// The body the web form takes (`POST /api/v1/complaints`).
    pub body: Value,
    pub account_id: Option<String>,
    /// `address_string`: becomes the township only when it names a known
    /// township or unit; anything else is kept as sealed location text.
    pub address: Option<String>,
    pub names: FieldNames,
}

/// True when `given` is one of `keys` (compared in constant time).
pub fn key_matches(keys: &[String], given: &str) -> bool {
    keys.iter().fold(false, |hit, k| {
        hit | bool::from(k.as_bytes().ct_eq(given.as_bytes()))
    })
}

/// Reads a POST form: first the `api_key` (403), then every field, each
/// problem named at once (400). Empty values count as absent.
pub fn read_form(
    pairs: Vec<(String, String)>,
    api_keys: &[String],
    tz: Tz,
) -> Open311Result<Submission> {
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut problems = Vec::new();
    for (k, v) in pairs {
        if fields.iter().any(|(seen, _)| *seen == k) {
            problems.push(format!("{k}: given more than once"));
            continue;
        }
        fields.push((k, v));
    }
    let get = |name: &str| -> Option<String> {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    match get("api_key") {
        None => {
            return Err(Open311Error::new(
                403,
                "api_key: missing; POST requests need an API key",
            ));
        }
        Some(k) if !key_matches(api_keys, &k) => {
            return Err(Open311Error::new(
                403,
                "api_key: invalid api_key received, cannot create the request",
            ));
        }
        Some(_) => {}
    }
    // Attributes are ours to define, so an unknown one is an error; other
    // unknown arguments are ignored, as the standard's optional arguments
    // (jurisdiction_id, lat, long, address_id, device_id, media_url) and
    // extensions may be.
    for (k, _) in &fields {
        if let Some(code) = k.strip_prefix("attribute[") {
            let code = code.strip_suffix(']').unwrap_or(code);
            if !ATTRIBUTES.contains(&code) {
                problems.push(format!("{k}: is not an attribute of this service"));
            }
        }
    }
    let service_code = get("service_code");
    if service_code.is_none() {
        problems.push("service_code: is required (see GET services)".into());
    }
    let description = get("description");
    if let Some(d) = &description
        && d.chars().count() > MAX_DESCRIPTION
    {
        problems.push(format!(
            "description: must be at most {MAX_DESCRIPTION} characters"
        ));
    }
    let attribute = |code: &str| get(&format!("attribute[{code}]"));
    let occurred_on = match attribute("occurred_on") {
        None => None,
        Some(raw) => match parse_w3(&raw, tz) {
            Some(t) => Some(t.with_timezone(&tz).date_naive().to_string()),
            None => {
                problems.push(
                    "attribute[occurred_on]: must be a date such as 2026-11-20 or a W3C datetime"
                        .into(),
                );
                None
            }
        },
    };
    let names = FieldNames::default();
    let township = attribute("township");
    let address = get("address_string");
    let (first, last) = (get("first_name"), get("last_name"));
    let (phone, email) = (get("phone"), get("email"));
    let name = match (first, last) {
        (Some(f), Some(l)) if f.is_ascii() && l.is_ascii() => Some(format!("{f} {l}")),
        // Chinese names: family name first, no space.
        (Some(f), Some(l)) => Some(format!("{l}{f}")),
        (f, l) => f.or(l),
    };
    let anonymous = name.is_none() && phone.is_none() && email.is_none();
    let mut body = Map::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            body.insert(k.to_owned(), Value::String(v));
        }
    };
    put("title", attribute("title"));
    put("content", description);
    put("category", service_code.clone());
    put("subject_unit", attribute("subject_unit"));
    put("subject_person", attribute("subject_person"));
    put("township", township);
    put("occurred_on", occurred_on);
    body.insert("anonymous".into(), Value::Bool(anonymous));
    if !anonymous {
        let mut c = Map::new();
        for (k, v) in [("name", name), ("phone", phone), ("email", email)] {
            if let Some(v) = v {
                c.insert(k.into(), Value::String(v));
            }
        }
        body.insert("complainant".into(), Value::Object(c));
    }
    if !problems.is_empty() {
        return Err(Open311Error {
            status: 400,
            descriptions: problems,
        });
    }
    Ok(Submission {
        service_code: service_code.unwrap_or_default(),
        body: Value::Object(body),
        account_id: get("account_id"),
        address,
        names,
    })
}

/// The text handed to the citizen with the tracking number: the query code,
/// shown this once.
pub fn service_notice(tracking_no: &str, query_code: &str) -> String {
    format!(
        "已受理，受理编号 {tracking_no}。请保存查询码 {query_code}（只显示这一次），\
         凭受理编号和查询码查询办理进度。"
    )
}

/// `POST requests`: files the complaint through intake (channel `open311`).
/// An unknown service is 404, as the standard says. `address_string` is the
/// township when it is the name of a known township or unit and no
/// `attribute[township]` is given; otherwise it may be someone's home, and
/// is kept sealed for the office, out of what the unit reads.
pub fn file_request(
    conn: &mut DbConn,
    env: &Env,
    sub: &Submission,
    mut cmd: CreateComplaint,
    client: &str,
    idem: Option<&IdemRequest>,
    now: DateTime<Utc>,
) -> Open311Result<Doc> {
    if !categories::exists_active(conn, &sub.service_code)? {
        return Err(Open311Error::not_found(format!(
            "service_code: no service {}",
            sub.service_code
        )));
    }
    let mut names = sub.names.clone();
    let mut location = None;
    if let Some(address) = sub.address.as_deref().map(str::trim) {
        let known = crate::db::units::active(conn)?
            .iter()
            .any(|u| u.name == address);
        let township = known.then(|| Text::new(address)).flatten();
        if cmd.township.is_none() && township.is_some() {
            cmd.township = township;
            names.township_from_address = true;
        } else {
            location = Some(address);
        }
    }
    let filing = intake::PublicFiling {
        channel: "open311",
        client,
        location,
    };
    let outcome = intake::submit(conn, env, cmd, &filing, idem, now)
        .map_err(|e| Open311Error::from_app(e, &names))?;
    let field = |k: &str| outcome.body[k].as_str().unwrap_or_default().to_owned();
    let (tracking_no, query_code) = (field("tracking_no"), field("query_code"));
    Ok(Doc {
        root: "service_requests",
        node: Node::List {
            item: "request",
            items: vec![Node::Record(vec![
                ("service_request_id", Node::text(tracking_no.clone())),
                (
                    "service_notice",
                    Node::text(service_notice(&tracking_no, &query_code)),
                ),
                ("account_id", Node::opt(sub.account_id.clone())),
            ])],
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_must_match_exactly() {
        let keys = vec!["alpha".to_owned(), "beta".to_owned()];
        assert!(key_matches(&keys, "beta"));
        assert!(!key_matches(&keys, "bet"));
        assert!(!key_matches(&keys, "betaa"));
        assert!(!key_matches(&[], "alpha"));
    }
}
