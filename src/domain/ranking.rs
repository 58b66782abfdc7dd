//! Reporting (docs/architecture.md, "Accountability and points"): the units' yearly ranking (红黑榜) and the
//! office's period statistics, read from the aggregates the database keeps
//! in every writing transaction (docs/architecture.md, "Ranking and
//! statistics").

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::auth::Actor;
use crate::auth::policy::{self, Action};
pub use crate::db::tallies::Source;
use crate::db::tallies::{self, Family};
use crate::db::{self, DbConn};
use crate::domain::escalation::Rung;
use crate::domain::letters::LetterKind;
use crate::domain::points::points;
use crate::error::{AppError, AppResult};

/// Start of a local day, in the stored form.
pub fn local_midnight(day: NaiveDate, tz: Tz) -> NaiveDateTime {
    let t = crate::domain::calendar::start_of_day(day, tz)
        .unwrap_or_else(|| day.and_time(NaiveTime::MIN).and_utc());
    db::to_db(t)
}

/// The local year's bounds `[1 Jan, next 1 Jan)`.
pub fn year_bounds(year: i32, tz: Tz) -> (NaiveDateTime, NaiveDateTime) {
    let start = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(NaiveDate::MIN);
    let end = NaiveDate::from_ymd_opt(year + 1, 1, 1).unwrap_or(NaiveDate::MAX);
    (local_midnight(start, tz), local_midnight(end, tz))
}

/// Ranking settings.
#[derive(Clone, Copy, Debug)]
pub struct RankingRules {
    pub base_centipoints: i64,
    pub min_cases: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UnitRow {
    /// Position among ranked units (equal scores share a place); `None`
    /// for units under the minimum number of cases.
    pub rank: Option<usize>,
    pub ranked: bool,
    pub unit: String,
    pub unit_name: String,
    pub unit_kind: String,
    pub cases: i64,
    pub on_time_acknowledge_rate: Option<f64>,
    pub on_time_handling_rate: Option<f64>,
    pub return_rate: Option<f64>,
    pub redo_rate: Option<f64>,
    pub satisfaction_rate: Option<f64>,
    /// Calls in the year from citizens chasing the unit's cases (催办).
    pub follow_ups: i64,
    /// Sum of the year's score events (negative: deductions).
    pub points: f64,
    pub score: f64,
    #[serde(skip)]
    score_centi: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Ranking {
    pub year: i32,
    pub base_score: f64,
    pub min_cases: i64,
    pub generated_at: DateTime<Utc>,
    pub units: Vec<UnitRow>,
}

fn rate(part: i64, of: i64) -> Option<f64> {
    (of > 0).then(|| (part as f64 / of as f64 * 10_000.0).round() / 10_000.0)
}

/// A unit's figures for a period, as the aggregates hold them.
#[derive(Clone, Debug, Default)]
struct Figures {
    cases: i64,
    ack_due: i64,
    ack_on_time: i64,
    handle_due: i64,
    handle_on_time: i64,
    returns: i64,
    reviewed: i64,
    redo: i64,
    rated: i64,
    satisfied: i64,
    follow_ups: i64,
    points: i64,
}

impl Figures {
    fn add(&mut self, metric: &str, n: i64) {
        let slot = match metric {
            tallies::CASES => &mut self.cases,
            tallies::ACK_DUE => &mut self.ack_due,
            tallies::ACK_ON_TIME => &mut self.ack_on_time,
            tallies::HANDLE_DUE => &mut self.handle_due,
            tallies::HANDLE_ON_TIME => &mut self.handle_on_time,
            tallies::RETURNS => &mut self.returns,
            tallies::REVIEWED => &mut self.reviewed,
            tallies::REDO => &mut self.redo,
            tallies::RATED => &mut self.rated,
            tallies::SATISFIED => &mut self.satisfied,
            tallies::FOLLOW_UPS => &mut self.follow_ups,
            tallies::POINTS => &mut self.points,
            _ => return,
        };
        *slot += n;
    }
}

/// `GET /ranking?year=` (all staff): every unit with its figures for the
/// year, ranked by score; units under the minimum case count come after,
/// unranked. Read from the aggregates ([`Source::Aggregates`]) or counted
/// afresh ([`Source::Recount`], which must give the same answer).
#[allow(clippy::too_many_arguments)]
pub fn ranking(
    conn: &mut DbConn,
    actor: &Actor,
    rules: RankingRules,
    tz: Tz,
    year: i32,
    now: DateTime<Utc>,
    source: Source,
) -> AppResult<Ranking> {
    policy::require(actor, Action::ReadRanking)?;
    let (from, to) = year_bounds(year, tz);
    let now_db = db::to_db(now);
    let (sums, running, units) = db::read_snapshot(conn, |c| {
        let sums = tallies::sums(c, Family::Ranking, source, from, to)?;
        let running = tallies::running(c, from, to, now_db)?;
        let (units, _) = db::units::list(c, 0, 100_000)?;
        Ok::<_, AppError>((sums, running, units))
    })?;
    let mut figures: HashMap<String, Figures> = HashMap::new();
    for s in sums {
        figures.entry(s.key).or_default().add(&s.metric, s.n);
    }
    for r in running {
        let f = figures.entry(r.unit_code).or_default();
        f.ack_due += r.ack_due;
        f.handle_due += r.handle_due;
    }
    let mut rows_out: Vec<UnitRow> = units
        .into_iter()
        .filter(|u| u.active || figures.contains_key(&u.code))
        .map(|u| {
            let w = figures.get(&u.code).cloned().unwrap_or_default();
            let score_centi = rules.base_centipoints + w.points;
            UnitRow {
                rank: None,
                ranked: w.cases >= rules.min_cases && w.cases > 0,
                unit_name: u.name,
                unit_kind: u.kind,
                unit: u.code,
                cases: w.cases,
                on_time_acknowledge_rate: rate(w.ack_on_time, w.ack_due),
                on_time_handling_rate: rate(w.handle_on_time, w.handle_due),
                return_rate: rate(w.returns, w.cases),
                redo_rate: rate(w.redo, w.reviewed),
                satisfaction_rate: rate(w.satisfied, w.rated),
                follow_ups: w.follow_ups,
                points: points(w.points),
                score: points(score_centi),
                score_centi,
            }
        })
        .collect();
    rows_out.sort_by(|a, b| {
        b.ranked
            .cmp(&a.ranked)
            .then(b.score_centi.cmp(&a.score_centi))
            .then(
                b.on_time_handling_rate
                    .unwrap_or(0.0)
                    .total_cmp(&a.on_time_handling_rate.unwrap_or(0.0)),
            )
            .then(a.unit.cmp(&b.unit))
    });
    let mut last: Option<(i64, usize)> = None;
    for (i, r) in rows_out.iter_mut().enumerate().filter(|(_, r)| r.ranked) {
        let place = match last {
            Some((score, place)) if score == r.score_centi => place,
            _ => i + 1,
        };
        r.rank = Some(place);
        last = Some((r.score_centi, place));
    }
    Ok(Ranking {
        year,
        base_score: points(rules.base_centipoints),
        min_cases: rules.min_cases,
        generated_at: now,
        units: rows_out,
    })
}

/// A count under a code, with its display name where there is one.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Named {
    pub code: String,
    pub name: String,
    pub count: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Summary {
    pub complaints_received: i64,
    pub cases_closed: i64,
    pub letters_issued: i64,
    pub transfer_letters: i64,
    pub reminder_letters: i64,
    pub supervision_letters: i64,
    pub accountability_notices: i64,
    pub escalations: i64,
    pub accountability_cases_opened: i64,
    pub accountability_cases_decided: i64,
    pub calls_logged: i64,
    /// Calls from citizens chasing a case (催办).
    pub follow_ups: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ComplaintStats {
    pub by_channel: BTreeMap<String, i64>,
    pub by_status: BTreeMap<String, i64>,
    pub by_category: Vec<Named>,
    pub by_unit: Vec<Named>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccountabilityStats {
    pub opened: i64,
    pub by_trigger: BTreeMap<String, i64>,
    pub decided: i64,
    pub by_decision: BTreeMap<String, i64>,
    pub points_deducted: f64,
    pub points_restored: f64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SatisfactionStats {
    pub answers: i64,
    pub by_answer: BTreeMap<String, i64>,
    /// Satisfied or basically satisfied, of all answers.
    pub rate: Option<f64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Stats {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub summary: Summary,
    pub complaints: ComplaintStats,
    pub letters_by_kind: BTreeMap<String, i64>,
    pub escalations_by_level: BTreeMap<String, i64>,
    pub accountability: AccountabilityStats,
    pub satisfaction: SatisfactionStats,
    pub calls_by_disposition: BTreeMap<String, i64>,
    pub closed_by_unit: Vec<Named>,
}

/// One metric's counts per key, largest first (then by key).
type Counts = Vec<(String, i64)>;

fn map(list: &Counts) -> BTreeMap<String, i64> {
    list.iter().cloned().collect()
}

fn total(list: &Counts) -> i64 {
    list.iter().map(|k| k.1).sum()
}

fn named(list: Counts, names: &HashMap<String, String>, none: &str) -> Vec<Named> {
    list.into_iter()
        .map(|(code, count)| Named {
            name: if code.is_empty() {
                none.to_owned()
            } else {
                names.get(&code).cloned().unwrap_or_default()
            },
            code,
            count,
        })
        .collect()
}

/// `GET /stats?from=&to=` (supervisor, auditor): the period's counts, from
/// the aggregates or counted afresh (see [`ranking`]).
pub fn stats(
    conn: &mut DbConn,
    actor: &Actor,
    from: NaiveDateTime,
    to: NaiveDateTime,
    source: Source,
) -> AppResult<Stats> {
    policy::require(actor, Action::ReadStats)?;
    let sums = tallies::sums(conn, Family::Stats, source, from, to)?;
    let mut by: HashMap<String, Counts> = HashMap::new();
    for s in sums {
        by.entry(s.metric).or_default().push((s.key, s.n));
    }
    let mut take = |metric: &str| {
        let mut list = by.remove(metric).unwrap_or_default();
        list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        list
    };
    let channel = take(tallies::CHANNEL);
    let status = take(tallies::STATUS);
    let category = take(tallies::CATEGORY);
    let unit = take(tallies::UNIT);
    let letters = take(tallies::LETTER_KIND);
    let levels = take(tallies::ESCALATION_LEVEL);
    let triggers = take(tallies::ACCOUNTABILITY_TRIGGER);
    let decisions = take(tallies::ACCOUNTABILITY_DECISION);
    let feedback = take(tallies::SATISFACTION);
    let calls = take(tallies::DISPOSITION);
    let closures = take(tallies::CLOSED);
    let minus = total(&take(tallies::POINTS_MINUS));
    let plus = total(&take(tallies::POINTS_PLUS));
    let mut unit_codes: Vec<String> = unit.iter().map(|k| k.0.clone()).collect();
    unit_codes.extend(closures.iter().map(|k| k.0.clone()));
    let unit_names: HashMap<String, String> =
        db::units::names(conn, &unit_codes)?.into_iter().collect();
    let cat_codes: Vec<String> = category.iter().map(|k| k.0.clone()).collect();
    let cat_names: HashMap<String, String> = db::categories::names(conn, &cat_codes)?
        .into_iter()
        .collect();
    let letters_by_kind = map(&letters);
    let kind = |k: &str| letters_by_kind.get(k).copied().unwrap_or(0);
    let escalations_by_level: BTreeMap<String, i64> = levels
        .iter()
        .map(|(key, n)| {
            let name = key
                .parse::<i32>()
                .ok()
                .and_then(|l| Rung::from_level(l).map(Rung::name))
                .map_or(key.clone(), |s| (*s).to_owned());
            (name, *n)
        })
        .collect();
    let by_answer = map(&feedback);
    let good = by_answer.get("satisfied").copied().unwrap_or(0)
        + by_answer.get("basically_satisfied").copied().unwrap_or(0);
    Ok(Stats {
        from: db::from_db(from),
        to: db::from_db(to),
        summary: Summary {
            complaints_received: total(&channel),
            cases_closed: total(&closures),
            letters_issued: total(&letters),
            transfer_letters: kind(LetterKind::Transfer.code()),
            reminder_letters: kind(LetterKind::Reminder.code()),
            supervision_letters: kind(LetterKind::Supervision.code()),
            accountability_notices: kind(LetterKind::Accountability.code()),
            escalations: total(&levels),
            accountability_cases_opened: total(&triggers),
            accountability_cases_decided: total(&decisions),
            calls_logged: total(&calls),
            follow_ups: calls
                .iter()
                .filter(|k| k.0 == "follow_up")
                .map(|k| k.1)
                .sum(),
        },
        complaints: ComplaintStats {
            by_channel: map(&channel),
            by_status: map(&status),
            by_category: named(category, &cat_names, "未分类"),
            by_unit: named(unit, &unit_names, "未分派"),
        },
        letters_by_kind,
        escalations_by_level,
        accountability: AccountabilityStats {
            opened: total(&triggers),
            by_trigger: map(&triggers),
            decided: total(&decisions),
            by_decision: map(&decisions),
            points_deducted: points(-minus),
            points_restored: points(plus),
        },
        satisfaction: SatisfactionStats {
            answers: total(&feedback),
            rate: rate(good, total(&feedback)),
            by_answer,
        },
        calls_by_disposition: map(&calls),
        closed_by_unit: named(closures, &unit_names, ""),
    })
}

/// The current local year.
pub fn current_year(now: DateTime<Utc>, tz: Tz) -> i32 {
    now.with_timezone(&tz).year()
}
