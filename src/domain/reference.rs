//! Reference data from `config/`: units and categories, loaded at start-up by
//! insert-or-update on their codes (never duplicated, never deleted), and the
//! checks that keep a bad file from half-loading.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::{Context, ensure};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::db::categories::{self, CategoryFields};
use crate::db::units::{self, UnitFields};
use crate::db::{self, DbConn};
use crate::domain::calendar::effective_workdays;
use crate::domain::validation;

pub const UNIT_KINDS: &[&str] = &[
    "commission",
    "office",
    "department",
    "institution",
    "township",
];

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct UnitsFile {
    #[serde(default)]
    unit: Vec<UnitEntry>,
}

#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct UnitEntry {
    pub code: String,
    pub name: String,
    pub kind: String,
    #[serde(default)]
    pub parent: String,
    pub email: String,
    pub leader_name: String,
    pub leader_title: String,
}

impl UnitEntry {
    /// What the database keeps of this entry, its parent apart.
    pub fn fields(&self) -> UnitFields {
        UnitFields {
            code: self.code.clone(),
            name: self.name.clone(),
            kind: self.kind.clone(),
            email: self.email.clone(),
            leader_name: self.leader_name.clone(),
            leader_title: self.leader_title.clone(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoriesFile {
    #[serde(default)]
    category: Vec<CategoryEntry>,
}

#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct CategoryEntry {
    pub code: String,
    pub name: String,
    pub aspect: String,
    pub statutory_workdays: i32,
    #[serde(default = "one")]
    pub ack_workdays: i32,
}

fn one() -> i32 {
    1
}

fn valid_unit_code(code: &str) -> bool {
    (2..=16).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

fn valid_category_code(code: &str) -> bool {
    (1..=32).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Parses and checks a units file: codes, kinds, e-mails, parents.
pub fn parse_units(text: &str) -> anyhow::Result<Vec<UnitEntry>> {
    let file: UnitsFile = toml::from_str(text)?;
    let labelled: Vec<(String, UnitEntry)> = file
        .unit
        .into_iter()
        .map(|u| (format!("unit {}", u.code), u))
        .collect();
    let problems = unit_problems(&labelled);
    ensure!(problems.is_empty(), "{}", problems.join("; "));
    Ok(labelled.into_iter().map(|(_, u)| u).collect())
}

/// Every problem of a unit list (codes, kinds, names, e-mails, parents),
/// each prefixed with where its unit is (`unit GAJ`, `line 7`).
fn unit_problems(units: &[(String, UnitEntry)]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut first: HashMap<&str, &str> = HashMap::new();
    for (at, u) in units {
        if !valid_unit_code(&u.code) {
            problems.push(format!(
                "{at}: code {:?} must be 2–16 of A–Z, 0–9, _",
                u.code
            ));
        } else if let Some(other) = first.insert(&u.code, at) {
            first.insert(&u.code, other);
            problems.push(format!("{at}: code {} appears twice ({other})", u.code));
        }
        if !UNIT_KINDS.contains(&u.kind.as_str()) {
            problems.push(format!(
                "{at}: unknown kind {:?} (one of {})",
                u.kind,
                UNIT_KINDS.join(", ")
            ));
        }
        if u.name.trim().is_empty() {
            problems.push(format!("{at}: name is empty"));
        }
        if let Some(msg) = validation::email(&u.email) {
            problems.push(format!("{at}: email {msg}"));
        }
    }
    for (at, u) in units {
        if u.parent == u.code {
            problems.push(format!("{at}: {} is its own parent", u.code));
        } else if !u.parent.is_empty() && !first.contains_key(u.parent.as_str()) {
            problems.push(format!("{at}: parent {} is not in the list", u.parent));
        }
    }
    problems
}

/// Spreadsheet columns, by their English or Chinese headers.
const CSV_COLUMNS: &[(&str, &[&str])] = &[
    ("code", &["code", "编码", "单位编码"]),
    ("name", &["name", "名称", "单位名称"]),
    ("kind", &["kind", "类型", "单位类型"]),
    ("parent", &["parent", "上级", "上级编码", "上级单位编码"]),
    ("email", &["email", "邮箱", "电子邮箱"]),
    ("leader_name", &["leader_name", "负责人", "负责人姓名"]),
    ("leader_title", &["leader_title", "职务", "负责人职务"]),
];

/// Unit kinds as a Chinese spreadsheet may name them.
const CSV_KINDS: &[(&str, &str)] = &[
    ("纪委监委", "commission"),
    ("作风办", "office"),
    ("效能办", "office"),
    ("部门", "department"),
    ("事业单位", "institution"),
    ("乡镇", "township"),
];

/// Reads a unit list exported from a spreadsheet: UTF-8 CSV (a byte-order
/// mark is fine), quoted fields as RFC 4180 has them, a header row naming
/// the columns in English or Chinese (`parent` may be left out), one unit per
/// row. Every problem is named with its line.
pub fn parse_units_csv(text: &str) -> Result<Vec<UnitEntry>, Vec<String>> {
    let rows = csv_rows(text.strip_prefix('\u{feff}').unwrap_or(text))?;
    let Some((_, header)) = rows.first() else {
        return Err(vec!["the file is empty: a header row is needed".into()]);
    };
    let mut problems = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, h) in header.iter().enumerate() {
        let h = h.trim();
        match CSV_COLUMNS.iter().find(|(_, names)| names.contains(&h)) {
            Some((key, _)) if index.insert(key, i).is_some() => {
                problems.push(format!("line 1: column {key} appears twice"))
            }
            Some(_) => {}
            None => problems.push(format!(
                "line 1: unknown column {h:?} (columns: {})",
                CSV_COLUMNS
                    .iter()
                    .map(|(k, names)| format!("{k}/{}", names[1]))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
    for (key, names) in CSV_COLUMNS {
        if *key != "parent" && !index.contains_key(key) {
            problems.push(format!("line 1: column {key} ({}) is missing", names[1]));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut units = Vec::new();
    for (line, row) in &rows[1..] {
        if row.len() != header.len() {
            problems.push(format!(
                "line {line}: {} fields, the header has {}",
                row.len(),
                header.len()
            ));
            continue;
        }
        let get = |key: &str| index.get(key).map_or("", |&i| row[i].trim()).to_owned();
        let kind = get("kind");
        let kind = CSV_KINDS
            .iter()
            .find(|(zh, _)| *zh == kind)
            .map_or(kind.clone(), |(_, en)| (*en).to_owned());
        let unit = UnitEntry {
            code: get("code"),
            name: get("name"),
            kind,
            parent: get("parent"),
            email: get("email"),
            leader_name: get("leader_name"),
            leader_title: get("leader_title"),
        };
        units.push((format!("line {line}"), unit));
    }
    problems.extend(unit_problems(&units));
    if units.is_empty() && problems.is_empty() {
        problems.push("no unit below the header row".into());
    }
    if problems.is_empty() {
        Ok(units.into_iter().map(|(_, u)| u).collect())
    } else {
        Err(problems)
    }
}

/// The records of a CSV text with the line each starts on; blank lines are
/// skipped.
fn csv_rows(text: &str) -> Result<Vec<(usize, Vec<String>)>, Vec<String>> {
    let mut rows = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while chars.peek().is_some() {
        let start = line;
        let mut fields = vec![String::new()];
        let mut quoted = false;
        loop {
            let Some(c) = chars.next() else {
                if quoted {
                    return Err(vec![format!(
                        "line {start}: a quoted field is never closed"
                    )]);
                }
                break;
            };
            let field = fields.last_mut().expect("one field at least");
            match c {
                '"' if quoted && chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' if quoted => quoted = false,
                '"' if field.is_empty() => quoted = true,
                ',' if !quoted => fields.push(String::new()),
                '\r' if !quoted && chars.peek() == Some(&'\n') => {}
                '\n' if !quoted => {
                    line += 1;
                    break;
                }
                c => {
                    if c == '\n' {
                        line += 1;
                    }
                    field.push(c);
                }
            }
        }
        if !(fields.len() == 1 && fields[0].trim().is_empty()) {
            rows.push((start, fields));
        }
    }
    Ok(rows)
}

/// The text of a `units.toml` holding `units`.
pub fn units_toml(units: &[UnitEntry], header: &str) -> anyhow::Result<String> {
    let body = toml::to_string(&UnitsFile {
        unit: units.to_vec(),
    })?;
    let comment: String = header.lines().map(|l| format!("# {l}\n")).collect();
    Ok(format!("{comment}\n{body}"))
}

pub fn parse_categories(text: &str) -> anyhow::Result<Vec<CategoryEntry>> {
    let file: CategoriesFile = toml::from_str(text)?;
    let mut seen = HashSet::new();
    for c in &file.category {
        ensure!(
            valid_category_code(&c.code),
            "category code {:?} must be a-z, 0-9, _",
            c.code
        );
        ensure!(
            seen.insert(c.code.clone()),
            "category code {} appears twice",
            c.code
        );
        ensure!(
            c.statutory_workdays >= 1,
            "category {}: statutory_workdays < 1",
            c.code
        );
        ensure!(c.ack_workdays >= 1, "category {}: ack_workdays < 1", c.code);
    }
    Ok(file.category)
}

/// What a load changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    pub units_changed: usize,
    pub categories_changed: usize,
}

/// Writes units (insert or update by code, parents in a second pass so the
/// order in the file does not matter), all in the caller's transaction.
pub fn store_units(
    conn: &mut DbConn,
    entries: &[UnitEntry],
    now: DateTime<Utc>,
) -> db::QueryResult<usize> {
    let now = db::to_db(now);
    let mut changed = HashSet::new();
    for u in entries {
        if units::upsert(conn, &u.fields(), now)? {
            changed.insert(&u.code);
        }
    }
    for u in entries {
        let parent = (!u.parent.is_empty()).then_some(u.parent.as_str());
        if units::set_parent(conn, &u.code, parent, now)? {
            changed.insert(&u.code);
        }
    }
    Ok(changed.len())
}

/// What an import of a unit list changed (or, on a dry run, would change).
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct ImportReport {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    /// Active units the list leaves out, now inactive.
    pub deactivated: Vec<String>,
    pub unchanged: usize,
    /// Cases the deactivated units are still handling (they stay with them).
    pub open_cases_of_deactivated: i64,
}

/// Makes the database's unit list `units`, in one transaction: adds and
/// updates by code, and deactivates the active units the list leaves out
/// (never deletes them: routed cases keep their units). With `dry_run`
/// nothing is written.
pub fn import_units(
    conn: &mut DbConn,
    units: &[UnitEntry],
    dry_run: bool,
    now: DateTime<Utc>,
) -> anyhow::Result<ImportReport> {
    // Read and written under the reference-data lock, so the report is
    // what this transaction did.
    db::write_tx(conn, |c| -> anyhow::Result<ImportReport> {
        db::setup_lock(c)?;
        let current: HashMap<String, units::Unit> = units::all(c)?
            .into_iter()
            .map(|u| (u.code.clone(), u))
            .collect();
        let mut report = ImportReport::default();
        for u in units {
            match current.get(&u.code) {
                None => report.added.push(u.code.clone()),
                Some(c)
                    if u.fields().held_by(c)
                        && c.parent_code.as_deref().unwrap_or("") == u.parent =>
                {
                    report.unchanged += 1
                }
                Some(_) => report.changed.push(u.code.clone()),
            }
        }
        let listed: HashSet<&str> = units.iter().map(|u| u.code.as_str()).collect();
        report.deactivated = current
            .values()
            .filter(|c| c.active && !listed.contains(c.code.as_str()))
            .map(|c| c.code.clone())
            .collect();
        report.deactivated.sort();
        report.open_cases_of_deactivated = units::open_assignments(c, &report.deactivated)?;
        if !dry_run {
            store_units(c, units, now)?;
            units::deactivate(c, &report.deactivated, db::to_db(now))?;
        }
        Ok(report)
    })
}

/// Loads `units.toml` and `categories.toml` from the config folder in one
/// transaction: a broken file changes nothing.
pub fn load(
    conn: &mut DbConn,
    config_dir: &Path,
    limit_factor: f64,
    now: DateTime<Utc>,
) -> anyhow::Result<LoadReport> {
    let read = |name: &str| {
        let path = config_dir.join(name);
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
    };
    let units = parse_units(&read("units.toml")?).context("config/units.toml")?;
    let cats = parse_categories(&read("categories.toml")?).context("config/categories.toml")?;
    let report = db::write_tx(conn, |c| -> db::QueryResult<LoadReport> {
        db::setup_lock(c)?;
        let units_changed = store_units(c, &units, now)?;
        let db_now = db::to_db(now);
        let mut categories_changed = 0;
        for (i, cat) in cats.iter().enumerate() {
            let fields = CategoryFields {
                code: cat.code.clone(),
                name: cat.name.clone(),
                aspect: cat.aspect.clone(),
                statutory_workdays: cat.statutory_workdays,
                ack_workdays: cat.ack_workdays,
                handle_workdays: effective_workdays(cat.statutory_workdays, limit_factor),
                sort_order: i32::try_from(i).unwrap_or(i32::MAX),
            };
            if categories::upsert(c, &fields, db_now)? {
                categories_changed += 1;
            }
        }
        Ok(LoadReport {
            units_changed,
            categories_changed,
        })
    })?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_files_parse() {
        let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config"));
        let units = parse_units(&std::fs::read_to_string(dir.join("units.toml")).unwrap()).unwrap();
        assert!(units.len() >= 35);
        assert!(units.iter().any(|u| u.code == "ZFB" && u.kind == "office"));
        assert!(units.iter().filter(|u| u.kind == "township").count() >= 20);
        let cats = parse_categories(&std::fs::read_to_string(dir.join("categories.toml")).unwrap())
            .unwrap();
        for name in [
            "讲阔气比排场",
            "轻事业重玩乐",
            "走过场混日子",
            "喜钻营好投机",
            "耍权术谋私利",
            "吃拿卡要",
            "其他",
        ] {
            assert!(cats.iter().any(|c| c.name == name), "{name}");
        }
    }

    #[test]
    fn csv_reads_quotes_doubled_quotes_and_newlines_in_fields() {
        let text = "code,name,kind,email,leader_name,leader_title\n\
                    AB,\"甲局, \"\"新\"\"\",department,a@x.example,某,局长\r\n\
                    \n\
                    CD,\"两行\n名称\",乡镇,c@x.example,某,乡长\n";
        let units = parse_units_csv(text).unwrap();
        assert_eq!(units.len(), 2);
        assert_eq!(units[0].name, "甲局, \"新\"");
        assert_eq!(units[0].parent, "");
        assert_eq!(units[1].name, "两行\n名称");
        assert_eq!(units[1].kind, "township");
    }

    #[test]
    fn csv_names_missing_and_unknown_columns_and_unclosed_quotes() {
        let problems = parse_units_csv("code,名称,colour\nAB,甲,red\n").unwrap_err();
        let all = problems.join("\n");
        for expected in [
            "unknown column \"colour\"",
            "column kind (类型) is missing",
            "column email (邮箱) is missing",
        ] {
            assert!(all.contains(expected), "{expected} in {all}");
        }
        let problems = parse_units_csv("code,name\n\"AB,甲\n").unwrap_err();
        assert_eq!(problems, ["line 2: a quoted field is never closed"]);
        assert!(parse_units_csv("").is_err());
    }

    #[test]
    fn a_unit_with_an_unknown_parent_is_refused() {
        let text = r#"
[[unit]]
code = "AA"
name = "甲"
kind = "department"
parent = "ZZ"
email = "a@x.example"
leader_name = "某"
leader_title = "局长"
"#;
        assert!(
            parse_units(text)
                .unwrap_err()
                .to_string()
                .contains("parent ZZ")
        );
    }
}
