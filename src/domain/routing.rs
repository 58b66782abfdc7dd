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
    pub name: String,
    pub parent_code: Option<String>,
    pub leader_name: String,
    pub leader_title: String,
}

/// The verdict of the conflict-of-interest check for one target unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Conflict {
    /// No one at the target is named.
    None,
    /// The complaint is about the target's leader: the case must go up.
    Leader,
    /// A leader title is named without a unit it can be tied to (or a
    /// surname with a title): a supervisor must look before the case goes
    /// anywhere.
    Unsure,
    /// The subject person works at the target (the subject unit): a
    /// supervisor must confirm before it goes there.
    OwnOfficer,
}

/// What the conflict check reads in a complaint.
#[derive(Clone, Copy, Debug)]
pub struct Mentions<'a> {
    pub subject_unit: Option<&'a str>,
    pub subject_person: Option<&'a str>,
    pub title: &'a str,
    pub content: &'a str,
}

/// Text folded for matching names and titles: traditional characters to
/// simplified, full-width forms to ASCII, and whitespace, punctuation,
/// symbols and invisible characters removed ("陈 卫東" and "陈卫东" match).
pub fn fold(s: &str) -> String {
    let widened: String = s
        .chars()
        .map(|c| match c {
            // Full-width ASCII forms.
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect();
    zhconv::zhconv(&widened, zhconv::Variant::ZhHans)
        .chars()
        .filter(|c| !ignorable(*c))
        .collect()
}

/// Characters that carry no name: spaces, punctuation, symbols, and the
/// invisible ones (zero-width, direction marks, the byte-order mark).
fn ignorable(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || c.is_ascii_punctuation()
        || matches!(
            c,
            '\u{00A0}'..='\u{00BF}'    // Latin-1 punctuation and symbols
                | '\u{2000}'..='\u{206F}' // general punctuation, zero-width, bidi
                | '\u{2190}'..='\u{21FF}' // arrows
                | '\u{2500}'..='\u{27BF}' // box drawing, shapes, dingbats
                | '\u{3000}'..='\u{303F}' // CJK punctuation
                | '\u{FE10}'..='\u{FE1F}' // vertical forms
                | '\u{FE30}'..='\u{FE6F}' // CJK compatibility and small forms
                | '\u{FEFF}'               // byte-order mark
                | '\u{FF00}'..='\u{FF0F}' // full-width punctuation
                | '\u{FF1A}'..='\u{FF20}'
                | '\u{FF3B}'..='\u{FF40}'
                | '\u{FF5B}'..='\u{FF65}'
        )
}

/// Words a unit's name ends in that people leave out ("公安局" → "公安").
const UNIT_SUFFIXES: &[&str] = &[
    "委员会",
    "办公室",
    "管理局",
    "服务中心",
    "中心",
    "局",
    "委",
    "办",
    "院",
    "所",
    "站",
    "队",
    "镇人民政府",
    "乡人民政府",
    "人民政府",
    "政府",
    "街道办事处",
    "街道",
];

/// The names a unit goes by in a complaint, folded, longest first: its
/// full name, the name without the county's "县" (or "X县"), and that
/// without the kind of body it is ("县公安局" → 公安局, 公安).
pub fn unit_forms(name: &str) -> Vec<String> {
    let full = fold(name);
    let mut forms = vec![full.clone()];
    let short = match full.find('县') {
        Some(i) if i + '县'.len_utf8() < full.len() => full[i + '县'.len_utf8()..].to_owned(),
        _ => full.clone(),
    };
    forms.push(short.clone());
    for suffix in UNIT_SUFFIXES {
        if let Some(core) = short.strip_suffix(suffix)
            && core.chars().count() >= 2
        {
            forms.push(core.to_owned());
            break;
        }
    }
    forms.retain(|f| f.chars().count() >= 2);
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    forms.dedup();
    forms
}

/// How far before a title (in characters) a unit's name still owns it:
/// "公安局局长", "潋江镇党委书记", "县公安局的局长".
const TITLE_WINDOW: usize = 4;

/// Checks whether `target` may handle a complaint, reading the subject
/// person, the title and the text — whatever subject unit was picked:
///
/// - the target's leader by name (folded: spaces, punctuation, traditional
///   characters do not hide it), or a leader title right after one of the
///   target's names ("公安局局长", "县公安局长", "公安局党委书记") →
///   [`Conflict::Leader`];
/// - a leader title that no unit's name precedes ("局长", "陈局长",
///   "某书记") → [`Conflict::Unsure`]: a supervisor decides; a title right
///   after another unit's name belongs to that unit;
/// - a subject person at the subject unit itself → [`Conflict::OwnOfficer`].
pub fn conflict(
    target: &UnitInfo,
    units: &[UnitInfo],
    m: &Mentions<'_>,
    leader_titles: &[String],
) -> Conflict {
    let texts: Vec<String> = [m.subject_person.unwrap_or(""), m.title, m.content]
        .iter()
        .map(|t| fold(t))
        .collect();
    let leader = fold(&target.leader_name);
    if leader.chars().count() >= 2 && texts.iter().any(|t| t.contains(&leader)) {
        return Conflict::Leader;
    }
    let mut titles: Vec<String> = leader_titles
        .iter()
        .chain(std::iter::once(&target.leader_title))
        .map(|t| fold(t))
        .filter(|t| !t.is_empty())
        .collect();
    titles.sort_by_key(|t| std::cmp::Reverse(t.len()));
    titles.dedup();
    // Every unit's names, with whose they are.
    let mut forms: Vec<(String, &str)> = units
        .iter()
        .chain(std::iter::once(target))
        .flat_map(|u| {
            unit_forms(&u.name)
                .into_iter()
                .map(move |f| (f, u.code.as_str()))
        })
        .collect();
    forms.sort_by_key(|(f, _)| std::cmp::Reverse(f.len()));
    let mut unsure = false;
    for text in &texts {
        for at in title_positions(text, &titles) {
            match owner_before(text, at, &forms) {
                Some(code) if code == target.code => return Conflict::Leader,
                Some(_) => {}
                None => unsure = true,
            }
        }
    }
    let person = m.subject_person.map(str::trim).filter(|p| !p.is_empty());
    if unsure {
        Conflict::Unsure
    } else if person.is_some() && m.subject_unit == Some(target.code.as_str()) {
        Conflict::OwnOfficer
    } else {
        Conflict::None
    }
}

/// Byte offsets where a title starts in `text`, longest titles first and
/// never inside an occurrence already found ("副局长" is not also "局长").
fn title_positions(text: &str, titles: &[String]) -> Vec<usize> {
    let mut taken: Vec<(usize, usize)> = Vec::new();
    for t in titles {
        for (at, _) in text.match_indices(t.as_str()) {
            let end = at + t.len();
            if !taken.iter().any(|(a, b)| at < *b && end > *a) {
                taken.push((at, end));
            }
        }
    }
    taken.into_iter().map(|(a, _)| a).collect()
}

/// The unit whose name ends at most [`TITLE_WINDOW`] characters before
/// byte `at` of `text` (the nearest; of two ending together, the longer).
fn owner_before<'a>(text: &str, at: usize, forms: &[(String, &'a str)]) -> Option<&'a str> {
    let before = &text[..at];
    let window_start = before
        .char_indices()
        .rev()
        .nth(TITLE_WINDOW.saturating_sub(1))
        .map_or(0, |(i, _)| i);
    let mut best: Option<(usize, usize, &str)> = None; // (end, length, code)
    for (form, code) in forms {
        for (start, _) in before.match_indices(form.as_str()) {
            let end = start + form.len();
            if end < window_start {
                continue;
            }
            if best.is_none_or(|(e, l, _)| (end, form.len()) > (e, l)) {
                best = Some((end, form.len(), *code));
            }
        }
    }
    best.map(|(_, _, code)| code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(code: &str, name: &str, leader: &str, title: &str) -> UnitInfo {
        UnitInfo {
            code: code.into(),
            name: name.into(),
            parent_code: None,
            leader_name: leader.into(),
            leader_title: title.into(),
        }
    }

    fn titles() -> Vec<String> {
        [
            "局长",
            "副局长",
            "书记",
            "副书记",
            "主任",
            "副主任",
            "镇长",
            "乡长",
            "院长",
            "大队长",
            "所长",
            "站长",
        ]
        .map(String::from)
        .to_vec()
    }

    fn county() -> Vec<UnitInfo> {
        vec![
            unit("GAJ", "县公安局", "陈卫东", "局长"),
            unit("JTJ", "县交通运输局", "温海涛", "局长"),
            unit("LJZ", "潋江镇", "赖文华", "党委书记"),
            unit("BDC", "县不动产登记中心", "林雪梅", "主任"),
        ]
    }

    /// What a complaint says: subject unit, subject person, title, content.
    type Said<'a> = (Option<&'a str>, Option<&'a str>, &'a str, &'a str);

    /// The verdict for the unit `target` on a complaint that says `m`.
    fn check(target: &str, m: Said<'_>) -> Conflict {
        let units = county();
        let t = units.iter().find(|u| u.code == target).unwrap();
        let mentions = Mentions {
            subject_unit: m.0,
            subject_person: m.1,
            title: m.2,
            content: m.3,
        };
        conflict(t, &units, &mentions, &titles())
    }

    #[test]
    fn names_fold_spaces_punctuation_width_and_traditional_characters() {
        assert_eq!(fold("陈 卫東"), "陈卫东");
        assert_eq!(fold("陳衛東（局長）"), "陈卫东局长");
        assert_eq!(fold("陈\u{3000}卫\u{200B}东"), "陈卫东");
        assert_eq!(fold("ＧＡＪ·公安局"), "GAJ公安局");
        assert_eq!(unit_forms("县公安局"), ["县公安局", "公安局", "公安"]);
        assert_eq!(unit_forms("潋江镇"), ["潋江镇"]);
        assert!(unit_forms("县不动产登记中心").contains(&"不动产登记".to_owned()));
    }

    #[test]
    fn twenty_and_more_ways_of_naming_a_units_leader() {
        use Conflict::{Leader, OwnOfficer, Unsure};
        let none = "窗口民警态度恶劣，多次推诿。";
        let table: Vec<(&str, Said<'_>, Conflict)> = vec![
            // The penetration test's filing.
            (
                "GAJ",
                (
                    None,
                    Some("公安局局长陈某"),
                    "路由测试",
                    "县公安局局长参与赌博，影响恶劣。",
                ),
                Leader,
            ),
            (
                "GAJ",
                (Some("GAJ"), Some("陈卫东"), "反映问题", none),
                Leader,
            ),
            (
                "GAJ",
                (Some("GAJ"), Some("陈 卫东"), "反映问题", none),
                Leader,
            ),
            (
                "GAJ",
                (Some("GAJ"), Some("陈卫東"), "反映问题", none),
                Leader,
            ),
            (
                "GAJ",
                (Some("GAJ"), Some("陈\u{3000}卫东"), "反映问题", none),
                Leader,
            ),
            (
                "GAJ",
                (Some("GAJ"), Some("陈卫东（局长）"), "反映问题", none),
                Leader,
            ),
            (
                "GAJ",
                (None, None, "举报", "举报县公安局局长陈某参与赌博。"),
                Leader,
            ),
            ("GAJ", (None, Some("县公安局长"), "反映问题", none), Leader),
            ("GAJ", (None, None, "公安局副局长违规", none), Leader),
            (
                "GAJ",
                (None, None, "反映", "县公安局党委书记插手案件。"),
                Leader,
            ),
            (
                "GAJ",
                (None, None, "反映", "縣公安局局長收受紅包。"),
                Leader,
            ),
            ("GAJ", (None, None, "反映", "公安局的局长不作为。"), Leader),
            (
                "GAJ",
                (None, None, "反映", "陳衛東局長經常打麻將。"),
                Leader,
            ),
            // Whatever subject unit the citizen picked.
            (
                "GAJ",
                (Some("JTJ"), None, "反映", "县公安局局长插手交通事故处理。"),
                Leader,
            ),
            (
                "LJZ",
                (None, None, "反映", "潋江镇党委书记强占农田。"),
                Leader,
            ),
            (
                "BDC",
                (None, None, "反映", "不动产登记中心主任吃拿卡要。"),
                Leader,
            ),
            // A title the check cannot place: a supervisor decides.
            ("GAJ", (Some("GAJ"), Some("局长"), "反映问题", none), Unsure),
            (
                "GAJ",
                (Some("GAJ"), Some("陈局长"), "反映问题", none),
                Unsure,
            ),
            ("GAJ", (None, None, "反映", "某局长参与赌博。"), Unsure),
            ("GAJ", (None, None, "反映", "他们书记说了算。"), Unsure),
            (
                "GAJ",
                (Some("GAJ"), Some("王所长"), "反映问题", none),
                Unsure,
            ),
            // Another unit's leader is not this unit's.
            (
                "GAJ",
                (None, None, "反映", "县交通运输局局长温某违规。"),
                Conflict::None,
            ),
            (
                "GAJ",
                (None, None, "反映", "潋江镇党委书记强占农田。"),
                Conflict::None,
            ),
            // No leader at all.
            ("GAJ", (Some("GAJ"), None, "反映问题", none), Conflict::None),
            (
                "GAJ",
                (Some("GAJ"), Some("窗口民警"), "反映问题", none),
                OwnOfficer,
            ),
            (
                "GAJ",
                (Some("JTJ"), Some("某民警"), "反映问题", none),
                Conflict::None,
            ),
            (
                "GAJ",
                (Some("GAJ"), Some("陈卫"), "反映问题", none),
                OwnOfficer,
            ),
            (
                "GAJ",
                (Some("GAJ"), Some("  "), "反映问题", none),
                Conflict::None,
            ),
        ];
        assert!(table.len() >= 20);
        for (target, m, want) in table {
            assert_eq!(check(target, m), want, "{target}: {m:?}");
        }
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
