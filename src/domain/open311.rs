//! Open311 GeoReport v2 (README, "Open311"): categories as services, complaints as
//! service requests. What belongs here: reading a GeoReport form into the
//! body the web form takes (intake does the rest), the public request view,
//! the query window, the standard's error shape, and rendering one response
//! tree as XML or JSON (the Spark convention: a list element becomes an
//! array, a record becomes an object).

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value, json};
use subtle::ConstantTimeEq;

use crate::config::OpenSettings;
use crate::db::complaints::{Complaint, PublicQuery};
use crate::db::{self, DbConn, categories, units};
use crate::domain::command::Text;
use crate::domain::commands::CreateComplaint;
use crate::domain::idempotency::IdemRequest;
use crate::domain::intake::{self, IntakeEnv};
use crate::domain::tracking::status_label;
use crate::error::AppError;

/// The specification token of discovery.
pub const SPECIFICATION: &str = "http://wiki.open311.org/GeoReport_v2";
/// Longest `description` the standard allows.
pub const MAX_DESCRIPTION: usize = 4000;
/// Most requests one `GET requests` returns, and its default window.
/// Ids one `GET requests` may ask for.
pub const MAX_RESULTS: i64 = 100;
pub const WINDOW_DAYS: i64 = 90;
/// Our statuses that GeoReport calls `closed`; every other is `open`.
pub const CLOSED: &[&str] = &["closed", "rejected", "merged"];
const OPEN: &[&str] = &["received", "assigned", "in_progress", "reported"];

// ---------------------------------------------------------------- documents

/// One node of a response, rendered as XML or JSON.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// JSON `null`, an empty XML element.
    Null,
    Text(String),
    Bool(bool),
    Int(i64),
    /// A JSON array; in XML a container whose children are all `item`.
    List {
        item: &'static str,
        items: Vec<Node>,
    },
    /// A JSON object; in XML one child element per field, in order.
    Record(Vec<(&'static str, Node)>),
}

impl Node {
    pub fn text(s: impl Into<String>) -> Self {
        Node::Text(s.into())
    }

    pub fn opt(s: Option<String>) -> Self {
        s.map_or(Node::Null, Node::Text)
    }

    pub fn to_json(&self) -> Value {
        match self {
            Node::Null => Value::Null,
            Node::Text(s) => Value::String(s.clone()),
            Node::Bool(b) => Value::Bool(*b),
            Node::Int(n) => json!(n),
            Node::List { items, .. } => Value::Array(items.iter().map(Node::to_json).collect()),
            Node::Record(fields) => {
                let mut map = Map::new();
                for (k, v) in fields {
                    map.insert((*k).to_owned(), v.to_json());
                }
                Value::Object(map)
            }
        }
    }

    /// The whole XML document with `root` as its root element.
    pub fn to_xml(&self, root: &str) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        write_xml(&mut out, root, self);
        out.push('\n');
        out
    }
}

fn write_xml(out: &mut String, tag: &str, node: &Node) {
    match node {
        Node::Null => {
            out.push('<');
            out.push_str(tag);
            out.push_str("/>");
            return;
        }
        _ => {
            out.push('<');
            out.push_str(tag);
            out.push('>');
        }
    }
    match node {
        Node::Null => {}
        Node::Text(s) => out.push_str(&escape_xml(s)),
        Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Node::Int(n) => out.push_str(&n.to_string()),
        Node::List { item, items } => {
            for i in items {
                write_xml(out, item, i);
            }
        }
        Node::Record(fields) => {
            for (k, v) in fields {
                write_xml(out, k, v);
            }
        }
    }
    out.push_str("</");
    out.push_str(tag);
    out.push('>');
}

/// Escapes text for element content or attribute values. Characters XML 1.0
/// cannot carry at all (most C0 controls) are dropped.
pub fn escape_xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// A response: the XML root element's name and the tree.
#[derive(Clone, Debug, PartialEq)]
pub struct Doc {
    pub root: &'static str,
    pub node: Node,
}

// ------------------------------------------------------------------- errors

/// The standard's error answer: an HTTP status (404 for what does not exist,
/// 403 for a missing or wrong `api_key`, 400 for everything else) and one
/// description per problem, each naming the Open311 field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Open311Error {
    pub status: u16,
    pub descriptions: Vec<String>,
}

impl Open311Error {
    pub fn new(status: u16, description: impl Into<String>) -> Self {
        Self {
            status,
            descriptions: vec![description.into()],
        }
    }

    pub fn bad(description: impl Into<String>) -> Self {
        Self::new(400, description)
    }

    pub fn not_found(description: impl Into<String>) -> Self {
        Self::new(404, description)
    }

    /// `<errors><error><code/><description/></error>…</errors>`.
    pub fn doc(&self) -> Doc {
        Doc {
            root: "errors",
            node: Node::List {
                item: "error",
                items: self
                    .descriptions
                    .iter()
                    .map(|d| {
                        Node::Record(vec![
                            ("code", Node::Int(i64::from(self.status))),
                            ("description", Node::text(d.clone())),
                        ])
                    })
                    .collect(),
            },
        }
    }

    /// Maps an error of the rest of the service, naming fields as Open311
    /// does (`names` translates intake's field paths).
    pub fn from_app(e: AppError, names: &FieldNames) -> Self {
        match e {
            AppError::Validation(fields) => Self {
                status: 400,
                descriptions: fields
                    .into_iter()
                    .map(|f| format!("{}: {}", names.open311(&f.field), f.message))
                    .collect(),
            },
            AppError::NotFound => Self::not_found("not found"),
            AppError::TooManyRequests {
                retry_after_seconds,
            } => Self::new(
                429,
                format!(
                    "too many requests from this address; try again in {retry_after_seconds} seconds"
                ),
            ),
            AppError::Unauthorized | AppError::Forbidden => Self::new(403, "not allowed"),
            AppError::Internal(cause) => {
                // The cause goes to the log, never to the client.
                tracing::error!(error.cause_chain = ?cause, "internal error");
                Self::bad("general service error; quote the X-Request-Id header when reporting it")
            }
            AppError::Unavailable(cause) => {
                tracing::warn!(error.cause = %cause, "dependency unavailable");
                Self::bad(
                    "general service error: the database is not available; please retry shortly",
                )
            }
            other => Self::bad(other.to_string()),
        }
    }
}

impl From<AppError> for Open311Error {
    fn from(e: AppError) -> Self {
        Self::from_app(e, &FieldNames::default())
    }
}

impl From<diesel::result::Error> for Open311Error {
    fn from(e: diesel::result::Error) -> Self {
        AppError::from(e).into()
    }
}

pub type Open311Result<T> = Result<T, Open311Error>;

// --------------------------------------------------------------- formatting

/// A stored UTC time as a W3C datetime with the county's offset.
pub fn w3(t: NaiveDateTime, tz: Tz) -> String {
    db::from_db(t)
        .with_timezone(&tz)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// A W3C datetime (the offset required) or a date (the local day's start).
/// A `+` of the offset sent unencoded in a query string arrives as a space.
pub fn parse_w3(raw: &str, tz: Tz) -> Option<DateTime<Utc>> {
    let s = raw.trim().replace(' ', "+");
    if let Ok(t) = DateTime::parse_from_rfc3339(&s) {
        return Some(t.with_timezone(&Utc));
    }
    // The W3C note also allows minutes without seconds.
    if let Ok(t) = DateTime::parse_from_str(&s.replace('Z', "+00:00"), "%Y-%m-%dT%H:%M%:z") {
        return Some(t.with_timezone(&Utc));
    }
    let d = NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok()?;
    crate::domain::calendar::start_of_day(d, tz)
}

// ---------------------------------------------------------------- discovery

/// `discovery`: one production endpoint at `url`, in XML and JSON.
pub fn discovery(conn: &mut DbConn, cfg: &OpenSettings, url: &str, tz: Tz) -> Open311Result<Doc> {
    let changeset = match (categories::last_change(conn)?, units::last_change(conn)?) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
    .map(|t| w3(t, tz))
    .unwrap_or_default();
    let endpoint = Node::Record(vec![
        ("specification", Node::text(SPECIFICATION)),
        ("url", Node::text(url)),
        ("changeset", Node::text(changeset.clone())),
        ("type", Node::text("production")),
        (
            "formats",
            Node::List {
                item: "format",
                items: vec![Node::text("text/xml"), Node::text("application/json")],
            },
        ),
    ]);
    Ok(Doc {
        root: "discovery",
        node: Node::Record(vec![
            ("changeset", Node::text(changeset)),
            ("contact", Node::text(cfg.contact.clone())),
            ("key_service", Node::text(cfg.key_service.clone())),
            (
                "endpoints",
                Node::List {
                    item: "endpoint",
                    items: vec![endpoint],
                },
            ),
        ]),
    })
}

// ----------------------------------------------------------------- services

/// `services`: one realtime service per active category.
pub fn services(conn: &mut DbConn) -> Open311Result<Doc> {
    let (cats, _) = categories::list(conn, 0, 10_000)?;
    let items = cats
        .into_iter()
        .map(|c| {
            Node::Record(vec![
                ("service_code", Node::text(c.code.clone())),
                ("service_name", Node::text(c.name.clone())),
                (
                    "description",
                    Node::text(format!("{}（{}）", c.name, c.aspect)),
                ),
                // Every service has attributes (title is required).
                ("metadata", Node::Bool(true)),
                ("type", Node::text("realtime")),
                (
                    "keywords",
                    Node::text(format!("{}, {}, {}", c.name, c.aspect, c.code)),
                ),
                ("group", Node::text(c.aspect)),
            ])
        })
        .collect();
    Ok(Doc {
        root: "services",
        node: Node::List {
            item: "service",
            items,
        },
    })
}

/// The attribute codes of every service, in order.
pub const ATTRIBUTES: &[&str] = &[
    "title",
    "subject_unit",
    "subject_person",
    "township",
    "occurred_on",
];

/// `services/{code}`: the attributes a request for `code` carries.
pub fn service_definition(conn: &mut DbConn, code: &str) -> Open311Result<Doc> {
    if code.chars().any(char::is_control) {
        return Err(Open311Error::bad(
            "service_code: must not contain control characters",
        ));
    }
    if !categories::exists_active(conn, code)? {
        return Err(Open311Error::not_found(format!(
            "service_code: no service {code}"
        )));
    }
    let unit_values = units::active(conn)?
        .into_iter()
        .map(|u| {
            Node::Record(vec![
                ("key", Node::text(u.code)),
                ("name", Node::text(u.name)),
            ])
        })
        .collect();
    let attr = |order: i64,
                code: &str,
                datatype: &str,
                required: bool,
                datatype_description: Option<&str>,
                description: &str,
                values: Vec<Node>| {
        Node::Record(vec![
            ("variable", Node::Bool(true)),
            ("code", Node::text(code)),
            ("datatype", Node::text(datatype)),
            ("required", Node::Bool(required)),
            (
                "datatype_description",
                Node::opt(datatype_description.map(str::to_owned)),
            ),
            ("order", Node::Int(order)),
            ("description", Node::text(description)),
            (
                "values",
                Node::List {
                    item: "value",
                    items: values,
                },
            ),
        ])
    };
    let attributes = vec![
        attr(
            1,
            "title",
            "string",
            true,
            Some("1 to 200 characters, one line"),
            "标题：一句话概括反映的问题",
            vec![],
        ),
        attr(
            2,
            "subject_unit",
            "singlevaluelist",
            false,
            None,
            "被反映单位",
            unit_values,
        ),
        attr(
            3,
            "subject_person",
            "string",
            false,
            Some("at most 50 characters"),
            "被反映人（姓名或职务）",
            vec![],
        ),
        attr(
            4,
            "township",
            "string",
            false,
            Some("at most 50 characters"),
            "问题发生的乡镇或地点（不填时取 address_string）",
            vec![],
        ),
        attr(
            5,
            "occurred_on",
            "datetime",
            false,
            Some("a date such as 2026-11-20, or a W3C datetime"),
            "问题发生的日期",
            vec![],
        ),
    ];
    Ok(Doc {
        root: "service_definition",
        node: Node::Record(vec![
            ("service_code", Node::text(code)),
            (
                "attributes",
                Node::List {
                    item: "attribute",
                    items: attributes,
                },
            ),
        ]),
    })
}

// ------------------------------------------------------------- POST requests

/// Translates intake's field paths into the Open311 names a client sent.
#[derive(Clone, Debug, Default)]
pub struct FieldNames {
    township_from_address: bool,
}

impl FieldNames {
    pub fn open311(&self, intake_path: &str) -> String {
        match intake_path {
            "content" => "description".into(),
            "category" => "service_code".into(),
            "township" if self.township_from_address => "address_string".into(),
            "complainant.name" | "complainant" => "first_name".into(),
            "complainant.phone" => "phone".into(),
            "complainant.email" => "email".into(),
            a if ATTRIBUTES.contains(&a) => format!("attribute[{a}]"),
            other => other.into(),
        }
    }
}

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
    env: &IntakeEnv,
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

// -------------------------------------------------------------- GET requests

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn w3_datetimes_need_an_offset_and_dates_are_local_midnight() {
        let tz = chrono_tz::Asia::Shanghai;
        let t = parse_w3("2026-11-27T09:30:00+08:00", tz).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-27T01:30:00+00:00");
        assert_eq!(parse_w3("2026-11-27T01:30Z", tz), Some(t));
        assert_eq!(
            parse_w3("2026-11-27T09:30:00 08:00", tz),
            Some(t),
            "+ sent raw"
        );
        assert_eq!(
            parse_w3("2026-11-27", tz).unwrap().to_rfc3339(),
            "2026-11-26T16:00:00+00:00"
        );
        assert_eq!(parse_w3("2026-11-27T09:30:00", tz), None, "no offset");
        assert_eq!(w3(crate::db::to_db(t), tz), "2026-11-27T09:30:00+08:00");
    }

    #[test]
    fn api_keys_must_match_exactly() {
        let keys = vec!["alpha".to_owned(), "beta".to_owned()];
        assert!(key_matches(&keys, "beta"));
        assert!(!key_matches(&keys, "bet"));
        assert!(!key_matches(&keys, "betaa"));
        assert!(!key_matches(&[], "alpha"));
    }

    #[test]
    fn xml_escapes_markup_and_drops_forbidden_controls() {
        assert_eq!(
            escape_xml("a&b<c>d\"e'f\u{1}g\nh"),
            "a&amp;b&lt;c&gt;d&quot;e&apos;fg\nh"
        );
    }

    #[test]
    fn lists_records_and_nulls_render_by_the_spark_convention() {
        let node = Node::List {
            item: "error",
            items: vec![Node::Record(vec![
                ("code", Node::Int(400)),
                ("description", Node::text("x<y")),
                ("extra", Node::Null),
            ])],
        };
        assert_eq!(
            node.to_xml("errors"),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<errors><error><code>400</code>\
             <description>x&lt;y</description><extra/></error></errors>\n"
        );
        assert_eq!(
            node.to_json(),
            json!([{"code": 400, "description": "x<y", "extra": null}])
        );
    }
}
