//! Possible duplicates (docs/architecture.md, "The hotline desk"): at
//! intake, earlier cases of the last `window` from the same phone (keyed
//! hash), or naming the same subject unit with a similar title, are recorded
//! as candidates and the case is flagged for the office's queue. Nothing is
//! merged automatically. Similarity is the Dice coefficient of the titles'
//! character bigrams (letters and digits only), computed here so both backends agree.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::db::complaints::{self as complaint_rows, Complaint};
use crate::db::duplicates::{self as rows, Candidate};
use crate::db::{self, DbConn};
use crate::domain::status::Status;
use crate::error::AppResult;

pub use crate::domain::env::DuplicateRules;

/// How many earlier cases of one unit are compared with a new title.
const MAX_COMPARED: i64 = 200;
/// How many candidates are kept per case.
const MAX_KEPT: usize = 10;

/// The character bigrams of a title's letters and digits, lower-cased (a
/// one-character title is its own gram). Cheaper than the routing fold: up
/// to 200 titles are compared per filing.
fn grams(title: &str) -> Vec<(char, char)> {
    let chars: Vec<char> = title
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    if chars.len() == 1 {
        return vec![(chars[0], '\u{0}')];
    }
    let mut g: Vec<(char, char)> = chars.windows(2).map(|w| (w[0], w[1])).collect();
    g.sort_unstable();
    g
}

/// Dice similarity of two titles in percent: 2·|A∩B| / (|A|+|B|) over
/// bigram multisets.
pub fn similarity(a: &str, b: &str) -> i32 {
    let (ga, gb) = (grams(a), grams(b));
    if ga.is_empty() || gb.is_empty() {
        return 0;
    }
    let (mut i, mut j, mut common) = (0, 0, 0);
    while i < ga.len() && j < gb.len() {
        match ga[i].cmp(&gb[j]) {
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
        }
    }
    ((200 * common) / (ga.len() + gb.len())) as i32
}

/// Finds and records the candidates of a new case; `phone_hash` is the
/// complainant's or caller's keyed phone hash. Runs in the intake
/// transaction.
pub fn find(
    conn: &mut DbConn,
    rules: &DuplicateRules,
    c: &Complaint,
    phone_hash: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let since = db::to_db(now - rules.window);
    let mut found: HashMap<i64, (String, i32)> = HashMap::new();
    if let (Some(hash), false) = (phone_hash, c.anonymous) {
        for other in rows::by_phone_hash(conn, hash, Some(c.id), Some(since), MAX_COMPARED)? {
            if !Status::parse(&other.status).is_some_and(Status::is_dropped) {
                found.insert(
                    other.id,
                    ("same_phone".into(), similarity(&c.title, &other.title)),
                );
            }
        }
    }
    if let Some(unit) = &c.subject_unit_code {
        for (id, title) in rows::naming_unit(conn, unit, c.id, since, MAX_COMPARED)? {
            let s = similarity(&c.title, &title);
            if s >= rules.min_similarity && !found.contains_key(&id) {
                found.insert(id, ("similar_title".into(), s));
            }
        }
    }
    if found.is_empty() {
        return Ok(0);
    }
    let mut list: Vec<(i64, (String, i32))> = found.into_iter().collect();
    list.sort_by_key(|&(id, (_, similarity))| std::cmp::Reverse((similarity, id)));
    list.truncate(MAX_KEPT);
    let at = db::to_db(now);
    let candidates: Vec<Candidate> = list
        .into_iter()
        .map(|(id, (reason, similarity))| Candidate {
            complaint_id: c.id,
            candidate_id: id,
            reason,
            similarity,
            created_at: at,
        })
        .collect();
    rows::insert_many(conn, &candidates)?;
    complaint_rows::set_possible_duplicate(conn, c.id, true)?;
    Ok(candidates.len())
}

#[cfg(test)]
mod tests {
    use super::similarity;

    #[test]
    fn similar_titles_score_high_and_different_ones_low() {
        assert_eq!(similarity("窗口办事拖延", "窗口办事拖延"), 100);
        assert!(similarity("派出所窗口办事拖延", "派出所窗口办事拖拉") >= 70);
        assert!(similarity("窗口 办事，拖延", "窗口办事拖延") == 100);
        assert!(similarity("窗口办事拖延", "食堂卫生很差") < 20);
        assert_eq!(similarity("", "窗口"), 0);
    }
}
