//! Discovery and the services: categories as Open311 services and the
//! attributes a request for one carries.

use chrono_tz::Tz;

use crate::config::OpenSettings;
use crate::db::{DbConn, categories, units};

use super::document::{Doc, Node};
use super::error::{Open311Error, Open311Result};
use super::time::w3;

/// The specification token of discovery.
pub const SPECIFICATION: &str = "http://wiki.open311.org/GeoReport_v2";

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
