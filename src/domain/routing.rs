//! Routing (docs/architecture.md, "Routing"): ordered rules from `config/routing.toml` pick a
//! target unit; the conflict-of-interest check then decides whether the
//! case may go there, must go one level up, or waits for a supervisor.
//! Pure: the caller supplies the units involved.

use std::path::Path;

use anyhow::{Context, bail, ensure};
use serde::Deserialize;

/// Where a rule sends a case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    SubjectUnit,
    SubjectUnitParent,
    TownshipUnit,
    Unit(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleEntry {
    name: String,
    #[serde(default)]
    categories: Vec<String>,
    #[serde(default)]
    subject_units: Vec<String>,
    #[serde(default)]
    townships: Vec<String>,
    #[serde(default)]
    keywords: Vec<String>,
    has_subject_unit: Option<bool>,
    target: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    rule: Vec<RuleEntry>,
}

#[derive(Clone, Debug)]
pub struct Rule {
    pub name: String,
    categories: Vec<String>,
    subject_units: Vec<String>,
    townships: Vec<String>,
    keywords: Vec<String>,
    has_subject_unit: Option<bool>,
    pub target: Target,
}

/// What routing looks at in a complaint.
pub struct Facts<'a> {
    pub category: Option<&'a str>,
    pub subject_unit: Option<&'a str>,
    pub township: Option<&'a str>,
    pub title: &'a str,
    pub content: &'a str,
}

impl Rule {
    fn matches(&self, f: &Facts<'_>) -> bool {
        let any = |list: &[String], v: Option<&str>| {
            list.is_empty() || v.is_some_and(|v| list.iter().any(|x| x == v))
        };
        any(&self.categories, f.category)
            && any(&self.subject_units, f.subject_unit)
            && any(&self.townships, f.township)
            && (self.keywords.is_empty()
                || self
                    .keywords
                    .iter()
                    .any(|k| f.title.contains(k.as_str()) || f.content.contains(k.as_str())))
            && self
                .has_subject_unit
                .is_none_or(|want| want == f.subject_unit.is_some())
    }
}

#[derive(Clone, Debug, Default)]
pub struct Rules {
    pub rules: Vec<Rule>,
    pub leader_titles: Vec<String>,
}

impl Rules {
    pub fn parse(text: &str, leader_titles: Vec<String>) -> anyhow::Result<Self> {
        let file: RulesFile = toml::from_str(text)?;
        let mut rules = Vec::new();
        for r in file.rule {
            let target = match r.target.as_str() {
                "subject_unit" => Target::SubjectUnit,
                "subject_unit_parent" => Target::SubjectUnitParent,
                "township_unit" => Target::TownshipUnit,
                code if !code.is_empty()
                    && code
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_') =>
                {
                    Target::Unit(code.to_owned())
                }
                other => bail!("rule {:?}: unknown target {other:?}", r.name),
            };
            ensure!(!r.name.trim().is_empty(), "a rule has no name");
            rules.push(Rule {
                name: r.name,
                categories: r.categories,
                subject_units: r.subject_units,
                townships: r.townships,
                keywords: r.keywords,
                has_subject_unit: r.has_subject_unit,
                target,
            });
        }
        Ok(Self {
            rules,
            leader_titles,
        })
    }

    /// `config/routing.toml`; a missing file means no automatic routing.
    pub fn load(config_dir: &Path, leader_titles: Vec<String>) -> anyhow::Result<Self> {
        let path = config_dir.join("routing.toml");
        if !path.is_file() {
            return Ok(Self {
                rules: Vec::new(),
                leader_titles,
            });
        }
        let text = std::fs::read_to_string(&path)?;
        Self::parse(&text, leader_titles).with_context(|| format!("{}", path.display()))
    }

    /// Unit codes named by rules, to check against the database at start-up.
    pub fn named_units(&self) -> Vec<&str> {
        self.rules
            .iter()
            .filter_map(|r| match &r.target {
                Target::Unit(c) => Some(c.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The first matching rule.
    pub fn first_match(&self, f: &Facts<'_>) -> Option<&Rule> {
        self.rules.iter().find(|r| r.matches(f))
    }
}

/// The parts of a unit the conflict check needs.
#[derive(Clone, Debug)]
pub struct UnitInfo {
    pub code: String,
    pub parent_code: Option<String>,
    pub leader_name: String,
    pub leader_title: String,
}

/// The verdict of the conflict-of-interest check for one target unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Conflict {
    /// No one at the target is named.
    None,
    /// The subject person is the target's leader: the case must go up.
    Leader,
    /// The subject person works at the target (the subject unit): a
    /// supervisor must confirm before it goes there.
    OwnOfficer,
}

/// Checks whether `target` may handle a complaint about `subject_person` at
/// `subject_unit`.
pub fn conflict(
    target: &UnitInfo,
    subject_unit: Option<&str>,
    subject_person: Option<&str>,
    leader_titles: &[String],
) -> Conflict {
    let Some(person) = subject_person.map(str::trim).filter(|p| !p.is_empty()) else {
        return Conflict::None;
    };
    let is_subject_unit = subject_unit == Some(target.code.as_str());
    let names_leader =
        !target.leader_name.is_empty() && person.contains(target.leader_name.as_str());
    let names_title = is_subject_unit
        && (person.contains(target.leader_title.as_str()) && !target.leader_title.is_empty()
            || leader_titles
                .iter()
                .any(|t| !t.is_empty() && person.contains(t.as_str())));
    if names_leader || names_title {
        Conflict::Leader
    } else if is_subject_unit {
        Conflict::OwnOfficer
    } else {
        Conflict::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(code: &str, parent: Option<&str>, leader: &str, title: &str) -> UnitInfo {
        UnitInfo {
            code: code.into(),
            parent_code: parent.map(Into::into),
            leader_name: leader.into(),
            leader_title: title.into(),
        }
    }

    fn titles() -> Vec<String> {
        vec!["局长".into(), "书记".into(), "主任".into()]
    }

    #[test]
    fn the_leader_by_name_or_title_is_a_conflict() {
        let gaj = unit("GAJ", None, "赵建国", "局长");
        assert_eq!(
            conflict(&gaj, Some("GAJ"), Some("赵建国"), &titles()),
            Conflict::Leader
        );
        assert_eq!(
            conflict(&gaj, Some("GAJ"), Some("公安局副局长"), &titles()),
            Conflict::Leader
        );
        // The leader's name names him wherever the complaint says he works.
        assert_eq!(
            conflict(&gaj, Some("JTJ"), Some("赵建国"), &titles()),
            Conflict::Leader
        );
        // A title at another unit is not this unit's leader.
        assert_eq!(
            conflict(&gaj, Some("JTJ"), Some("某局长"), &titles()),
            Conflict::None
        );
    }

    #[test]
    fn an_officer_of_the_subject_unit_needs_confirmation() {
        let gaj = unit("GAJ", None, "赵建国", "局长");
        assert_eq!(
            conflict(&gaj, Some("GAJ"), Some("窗口民警"), &titles()),
            Conflict::OwnOfficer
        );
        assert_eq!(conflict(&gaj, Some("GAJ"), None, &titles()), Conflict::None);
        assert_eq!(
            conflict(&gaj, Some("GAJ"), Some("  "), &titles()),
            Conflict::None
        );
    }

    #[test]
    fn rules_match_in_order() {
        let rules = Rules::parse(
            r#"
[[rule]]
name = "a"
categories = ["gambling"]
target = "GAJ"
[[rule]]
name = "b"
has_subject_unit = true
target = "subject_unit"
"#,
            titles(),
        )
        .unwrap();
        let f = |cat: Option<&'static str>, unit: Option<&'static str>| Facts {
            category: cat,
            subject_unit: unit,
            township: None,
            title: "",
            content: "",
        };
        assert_eq!(
            rules
                .first_match(&f(Some("gambling"), Some("JTJ")))
                .unwrap()
                .name,
            "a"
        );
        assert_eq!(
            rules
                .first_match(&f(Some("other"), Some("JTJ")))
                .unwrap()
                .name,
            "b"
        );
        assert!(rules.first_match(&f(Some("other"), None)).is_none());
    }

    #[test]
    fn the_shipped_rules_parse() {
        let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config"));
        let rules = Rules::load(dir, titles()).unwrap();
        assert!(rules.rules.len() >= 3);
        assert!(rules.named_units().contains(&"ZRZY"));
    }

    #[test]
    fn unknown_targets_are_refused() {
        assert!(
            Rules::parse("[[rule]]\nname = \"x\"\ntarget = \"somewhere\"\n", titles()).is_err()
        );
    }
}
