//! `GET /complaints.csv`: the case list as CSV for the office's own
//! reporting, without any identity field. Read in chunks by id, so an export
//! of a whole year streams without holding it in memory.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;

use crate::auth::Actor;
use crate::auth::policy::{self, Action};
use crate::db::complaints::{self as rows, ComplaintFilter};
use crate::db::{self, DbConn};
use crate::domain::labels;
use crate::error::AppResult;

/// Column titles, in the order of every row.
pub const HEADER: &[&str] = &[
    "受理编号",
    "来源渠道",
    "状态",
    "受理时间",
    "问题类别",
    "被反映单位",
    "被反映人",
    "乡镇",
    "标题",
    "承办单位",
    "签收期限",
    "签收时间",
    "办理期限",
    "满意度",
    "退回申请",
    "投递失败",
];

/// Rows per chunk: about 400 kB of CSV, one read each.
pub const CHUNK: i64 = 2000;

/// One CSV field (RFC 4180). A value a spreadsheet would run as a formula
/// gets a leading apostrophe: an export opened in Excel must not execute
/// what a citizen typed.
pub fn field(out: &mut String, value: &str) {
    let guarded;
    let v = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        guarded = format!("'{value}");
        guarded.as_str()
    } else {
        value
    };
    if v.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&v.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(v);
    }
}

fn line(out: &mut String, values: &[&str]) {
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        field(out, v);
    }
    out.push_str("\r\n");
}

/// The header line, after a UTF-8 byte-order mark so that Excel reads the
/// Chinese correctly.
pub fn header() -> String {
    let mut out = String::from("\u{feff}");
    line(&mut out, HEADER);
    out
}

fn local(t: Option<NaiveDateTime>, tz: Tz) -> String {
    t.map(|t| {
        db::from_db(t)
            .with_timezone(&tz)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    })
    .unwrap_or_default()
}

/// The CSV lines of the next chunk after `after_id`, and the last id in it
/// (`None` when the list is exhausted). Checks the caller's role first.
pub fn chunk(
    conn: &mut DbConn,
    actor: &Actor,
    filter: &ComplaintFilter,
    after_id: i64,
    tz: Tz,
) -> AppResult<(String, Option<i64>)> {
    policy::require(actor, Action::ReadStats)?;
    let list = rows::after(conn, filter, after_id, CHUNK)?;
    let mut codes: Vec<String> = list
        .iter()
        .flat_map(|c| [c.subject_unit_code.clone(), c.responsible_unit_code.clone()])
        .flatten()
        .collect();
    codes.sort();
    codes.dedup();
    let units: HashMap<String, String> = db::units::names(conn, &codes)?.into_iter().collect();
    let cats: Vec<String> = list
        .iter()
        .filter_map(|c| c.category_code.clone())
        .collect();
    let categories: HashMap<String, String> =
        db::categories::names(conn, &cats)?.into_iter().collect();
    let name = |map: &HashMap<String, String>, code: &Option<String>| {
        code.as_ref()
            .map(|c| map.get(c).cloned().unwrap_or_else(|| c.clone()))
            .unwrap_or_default()
    };
    let mut out = String::with_capacity(list.len() * 200);
    for c in &list {
        let yes_no = |b: bool| if b { "是" } else { "" };
        line(
            &mut out,
            &[
                &c.tracking_no,
                labels::channel_label(&c.channel),
                labels::status_label(&c.status),
                &local(Some(c.received_at), tz),
                &name(&categories, &c.category_code),
                &name(&units, &c.subject_unit_code),
                c.subject_person.as_deref().unwrap_or(""),
                c.township.as_deref().unwrap_or(""),
                &c.title,
                &name(&units, &c.responsible_unit_code),
                &local(c.ack_due_at, tz),
                &local(c.acknowledged_at, tz),
                &local(c.due_at, tz),
                c.satisfaction
                    .as_deref()
                    .map_or("", labels::satisfaction_label),
                yes_no(c.return_requested),
                yes_no(c.delivery_failed),
            ],
        );
    }
    let last = (list.len() as i64 == CHUNK)
        .then(|| list.last().map(|c| c.id))
        .flatten();
    Ok((out, last))
}

/// The export's file name: `complaints-20261127.csv`.
pub fn file_name(now: DateTime<Utc>, tz: Tz) -> String {
    format!("complaints-{}.csv", now.with_timezone(&tz).format("%Y%m%d"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(v: &str) -> String {
        let mut s = String::new();
        field(&mut s, v);
        s
    }

    #[test]
    fn fields_are_quoted_and_formulas_are_defused() {
        assert_eq!(one("plain"), "plain");
        assert_eq!(one("a,b"), "\"a,b\"");
        assert_eq!(one("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(one("two\nlines"), "\"two\nlines\"");
        assert_eq!(one("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(one("+1"), "'+1");
        assert_eq!(one("@cmd"), "'@cmd");
    }
}
