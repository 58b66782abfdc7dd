//! Reference data from `config/`: units and categories, loaded at start-up by
//! insert-or-update on their codes (never duplicated, never deleted), and the
//! checks that keep a bad file from half-loading.

use std::collections::HashSet;
use std::path::Path;

use anyhow::{Context, bail, ensure};
use chrono::{DateTime, Utc};
use serde::Deserialize;

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnitsFile {
    #[serde(default)]
    unit: Vec<UnitEntry>,
}

#[derive(Deserialize, Clone, Debug)]
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
    let mut seen = HashSet::new();
    for u in &file.unit {
        ensure!(
            valid_unit_code(&u.code),
            "unit code {:?} must be 2–16 of A–Z, 0–9, _",
            u.code
        );
        ensure!(
            seen.insert(u.code.clone()),
            "unit code {} appears twice",
            u.code
        );
        ensure!(
            UNIT_KINDS.contains(&u.kind.as_str()),
            "unit {}: unknown kind {:?}",
            u.code,
            u.kind
        );
        ensure!(!u.name.trim().is_empty(), "unit {}: name is empty", u.code);
        if let Some(msg) = validation::email(&u.email) {
            bail!("unit {}: email {msg}", u.code);
        }
    }
    for u in &file.unit {
        ensure!(
            u.parent.is_empty() || seen.contains(&u.parent),
            "unit {}: parent {} is not in the file",
            u.code,
            u.parent
        );
        ensure!(u.parent != u.code, "unit {} is its own parent", u.code);
    }
    Ok(file.unit)
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
) -> diesel::QueryResult<usize> {
    let now = db::to_db(now);
    let mut changed = HashSet::new();
    for u in entries {
        let fields = UnitFields {
            code: u.code.clone(),
            name: u.name.clone(),
            kind: u.kind.clone(),
            email: u.email.clone(),
            leader_name: u.leader_name.clone(),
            leader_title: u.leader_title.clone(),
        };
        if units::upsert(conn, &fields, now)? {
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
    let report = db::write_tx(conn, |c| -> diesel::QueryResult<LoadReport> {
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
