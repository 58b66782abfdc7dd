//! The escalation ladder (docs/architecture.md, "Escalation") and the
//! sweep that climbs it.
//!
//! Each open case carries `next_escalation_at`, the time the sweep should
//! next look at it: every change to a case sets it to "now", and the sweep
//! sets it to the time of the case's next step (or clears it). A sweep reads
//! only the cases due on that index, in batches, each batch one transaction
//! whose claimed rows other sweeps skip. A step is recorded under a unique
//! key (case, clock, deadline, level) before its letters are written, so it
//! fires once however many sweeps run at once on however many instances.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use serde_json::json;
use tracing::instrument;

use crate::auth::Actor;
use crate::auth::policy::{self, Action};
use crate::config::EscalationSettings;
use crate::db::accountability::AccountabilityCase;
use crate::db::assignments::{self, Assignment};
use crate::db::complaints::{self as complaint_rows, Complaint};
use crate::db::escalations::{self as rows, Escalation, EscalationFilter, NewEscalation};
use crate::db::units::Unit;
use crate::db::{self, DbConn};
use crate::domain::accountability::{self, Catalogue, EscalationOpening, Situation};
use crate::domain::audit::{self, AuditActor, Words};
use crate::domain::calendar::Calendar;
use crate::domain::env::Env;
use crate::domain::labels;
use crate::domain::letters::{self, Fact, LetterKind, LetterRequest, NoticeKind};
use crate::domain::points::{centipoints, points};
use crate::domain::status::Status;
use crate::error::{AppError, AppResult};

/// A rung of the ladder, stored as its level (0–3) in `escalations.level`.
/// Every use matches all four, so a rung added here is a compile error
/// wherever it needs a decision (what it issues, its words, its counter).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rung {
    /// 预警: a notice before the deadline.
    Warning = 0,
    /// 催办: a reminder letter once the deadline has passed.
    Reminder = 1,
    /// 督办: a letter to the unit's leader.
    Supervision = 2,
    /// 问责: an accountability case with a provisional deduction.
    Accountability = 3,
}

impl Rung {
    pub const ALL: [Rung; 4] = [
        Rung::Warning,
        Rung::Reminder,
        Rung::Supervision,
        Rung::Accountability,
    ];

    /// The level stored for it.
    pub const fn level(self) -> i32 {
        self as i32
    }

    pub fn from_level(level: i32) -> Option<Rung> {
        Self::ALL.into_iter().find(|r| r.level() == level)
    }

    /// Its code in the API and the metrics.
    pub const fn name(self) -> &'static str {
        match self {
            Rung::Warning => "warning",
            Rung::Reminder => "reminder",
            Rung::Supervision => "supervision",
            Rung::Accountability => "accountability",
        }
    }

    /// Its Chinese name.
    pub const fn title(self) -> &'static str {
        match self {
            Rung::Warning => "预警",
            Rung::Reminder => "催办",
            Rung::Supervision => "督办",
            Rung::Accountability => "问责",
        }
    }

    /// The kind of numbered letter it issues (a warning is a notice), as
    /// [`Rung::issues`] says.
    pub const fn letter_kind(self) -> Option<LetterKind> {
        match self.issues() {
            Issues::DeadlineNotice => None,
            Issues::Letter { kind, .. } => Some(kind),
            Issues::Accountability => Some(LetterKind::Accountability),
        }
    }

    /// What it issues, and to whom.
    pub const fn issues(self) -> Issues {
        match self {
            Rung::Warning => Issues::DeadlineNotice,
            Rung::Reminder => Issues::Letter {
                kind: LetterKind::Reminder,
                copy_office: false,
            },
            Rung::Supervision => Issues::Letter {
                kind: LetterKind::Supervision,
                copy_office: true,
            },
            Rung::Accountability => Issues::Accountability,
        }
    }

    /// The audit action that records it.
    pub const fn action(self) -> &'static str {
        match self {
            Rung::Warning => "escalation_warning",
            Rung::Reminder => "escalation_reminder",
            Rung::Supervision => "escalation_supervision",
            Rung::Accountability => "escalation_accountability",
        }
    }
}

/// The rungs' codes, by level (the API's `level` filter).
pub const LEVELS: [&str; 4] = [
    Rung::Warning.name(),
    Rung::Reminder.name(),
    Rung::Supervision.name(),
    Rung::Accountability.name(),
];

/// When a rung fires, in working days from its clock's deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// This many working days before the deadline (never before the
    /// assignment itself: the transfer letter has just stated the deadline).
    Before(u32),
    /// At the deadline.
    AtDeadline,
    /// This many working days after it.
    After(u32),
}

/// What a rung issues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Issues {
    /// A notice to the unit that its deadline nears.
    DeadlineNotice,
    /// A numbered letter to the unit, copied to the office when `copy_office`
    /// (to reach the unit's leader through it).
    Letter { kind: LetterKind, copy_office: bool },
    /// An accountability case with a provisional deduction, and its letter.
    Accountability,
}

/// One row of the ladder: a rung, when it fires, and on which clocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RungRow {
    pub rung: Rung,
    pub when: When,
    /// Whether it also fires on the acknowledge clock (the handling clock
    /// has every row).
    pub on_acknowledge: bool,
}

/// The two clocks of an assignment.
pub const ACKNOWLEDGE: &str = "acknowledge";
pub const HANDLING: &str = "handling";

/// How long a case whose step could not be processed waits before the next
/// try, so one bad case cannot stall a sweep.
const RETRY_FAILED_CASE: chrono::Duration = chrono::Duration::hours(1);

/// The ladder's settings with the catalogue, resolved at start-up.
#[derive(Clone, Debug)]
pub struct Ladder {
    /// The rungs in the order they fire (docs/architecture.md, *Escalation*).
    pub rows: Vec<RungRow>,
    pub provisional_centipoints: i32,
    pub situation: Situation,
    pub defence_workdays: u32,
    pub reminder_respond_workdays: u32,
    pub batch_size: i64,
    pub catalogue: Catalogue,
}

impl Ladder {
    /// Checks the settings against the catalogue: the situation an escalated
    /// case is opened under must exist.
    pub fn new(s: &EscalationSettings, catalogue: Catalogue) -> anyhow::Result<Self> {
        let situation = catalogue.find(&s.situation).cloned().ok_or_else(|| {
            anyhow::anyhow!(
                "escalation.situation {:?} is not in config/accountability.toml",
                s.situation
            )
        })?;
        let mut rows = Vec::with_capacity(Rung::ALL.len());
        if s.warning_workdays_before > 0 {
            rows.push(RungRow {
                rung: Rung::Warning,
                when: When::Before(s.warning_workdays_before),
                on_acknowledge: false,
            });
        }
        rows.extend([
            RungRow {
                rung: Rung::Reminder,
                when: When::AtDeadline,
                on_acknowledge: true,
            },
            RungRow {
                rung: Rung::Supervision,
                when: When::After(s.supervision_workdays_after),
                on_acknowledge: false,
            },
            RungRow {
                rung: Rung::Accountability,
                when: When::After(s.accountability_workdays_after),
                on_acknowledge: false,
            },
        ]);
        Ok(Self {
            rows,
            provisional_centipoints: centipoints(s.provisional_points)
                .ok_or_else(|| anyhow::anyhow!("escalation.provisional_points is invalid"))?,
            situation,
            defence_workdays: s.defence_workdays,
            reminder_respond_workdays: s.reminder_respond_workdays,
            batch_size: s.batch_size,
            catalogue,
        })
    }
}

/// One rung of one clock: fires once `now` is past `at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub clock: &'static str,
    pub level: Rung,
    /// The clock's deadline the step belongs to (part of its unique key).
    pub deadline: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

/// The clocks of an open assignment, as the ladder reads them.
#[derive(Clone, Debug)]
pub struct Clocks {
    pub assigned_at: DateTime<Utc>,
    /// Set while the case waits to be acknowledged.
    pub ack_due: Option<DateTime<Utc>>,
    pub due: DateTime<Utc>,
}

/// The steps of both clocks, in ladder order: each row of the ladder on the
/// handling clock, and the rows marked `on_acknowledge` on the acknowledge
/// clock while the case waits to be signed for. A step that would come
/// before the assignment itself is left out: the transfer letter has just
/// stated the deadline.
pub fn steps(ladder: &Ladder, cal: &Calendar, tz: Tz, clocks: &Clocks) -> Vec<Step> {
    let at = |when: When, deadline: DateTime<Utc>| match when {
        When::Before(n) => cal.before(deadline, n, tz),
        When::AtDeadline => deadline,
        When::After(n) => cal.deadline(deadline, n, tz),
    };
    let ack = clocks.ack_due.into_iter().flat_map(|deadline| {
        ladder
            .rows
            .iter()
            .filter(|r| r.on_acknowledge)
            .map(move |r| (ACKNOWLEDGE, r, deadline))
    });
    let handling = ladder.rows.iter().map(|r| (HANDLING, r, clocks.due));
    ack.chain(handling)
        .map(|(clock, row, deadline)| Step {
            clock,
            level: row.rung,
            deadline,
            at: at(row.when, deadline),
        })
        .filter(|s| s.at > clocks.assigned_at || s.at >= s.deadline)
        .collect()
}

/// What one sweep did.
#[derive(Debug, Default, Serialize, Clone, utoipa::ToSchema)]
pub struct SweepReport {
    pub started_at: Option<DateTime<Utc>>,
    /// Cases read from the schedule.
    pub cases_examined: usize,
    pub warnings: usize,
    pub reminders: usize,
    pub supervisions: usize,
    pub accountability_cases: usize,
    /// Numbered letters issued (reminder, supervision, accountability).
    pub letters: usize,
    /// Cases whose steps failed; they are retried an hour later.
    pub failed_cases: usize,
    pub batches: usize,
    /// Wall time of the sweep, in milliseconds (to the microsecond).
    pub duration_ms: f64,
    /// The steps fired, in order, at most [`REPORTED_STEPS`] of them.
    pub steps: Vec<FiredStep>,
    /// Steps fired beyond those listed.
    pub steps_omitted: usize,
}

/// Steps a sweep's answer lists; the counts cover all of them.
pub const REPORTED_STEPS: usize = 100;

/// One step a sweep fired.
#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct FiredStep {
    pub tracking_no: String,
    pub unit: String,
    /// `acknowledge` or `handling`.
    pub clock: &'static str,
    pub level: i32,
    pub level_name: &'static str,
    /// The deadline the step belongs to.
    pub deadline_at: DateTime<Utc>,
    /// The number of the letter it issued (a warning issues a notice only).
    pub letter_number: Option<String>,
    /// The accountability case it opened.
    pub accountability_id: Option<i64>,
}

impl SweepReport {
    pub fn fired(&self) -> usize {
        self.warnings + self.reminders + self.supervisions + self.accountability_cases
    }

    /// How many of `rung`'s steps were fired.
    pub fn count(&self, rung: Rung) -> usize {
        match rung {
            Rung::Warning => self.warnings,
            Rung::Reminder => self.reminders,
            Rung::Supervision => self.supervisions,
            Rung::Accountability => self.accountability_cases,
        }
    }

    /// The counter of `rung`'s steps.
    fn counter(&mut self, rung: Rung) -> &mut usize {
        match rung {
            Rung::Warning => &mut self.warnings,
            Rung::Reminder => &mut self.reminders,
            Rung::Supervision => &mut self.supervisions,
            Rung::Accountability => &mut self.accountability_cases,
        }
    }
}

/// Runs one sweep at `now`: batch after batch until no case is due.
///
/// A batch is one transaction. When a batch fails for anything but an
/// unavailable database, its cases are retried one per transaction, so
/// that only a case that fails by itself is held back (an hour).
#[instrument(skip_all)]
pub fn sweep(
    conn: &mut DbConn,
    env: &Env,
    ladder: &Ladder,
    now: DateTime<Utc>,
) -> AppResult<SweepReport> {
    let started = std::time::Instant::now();
    let mut report = SweepReport {
        started_at: Some(now),
        ..Default::default()
    };
    let now_db = db::to_db(now);
    loop {
        let outcome = db::write_tx(conn, |tx| {
            let ids = rows::claim_due(tx, now_db, ladder.batch_size)?;
            let counts = process(tx, env, ladder, &ids, now)?;
            Ok::<_, AppError>((ids.len(), counts))
        });
        let claimed = match outcome {
            Ok((claimed, counts)) => {
                report.add(&counts);
                claimed
            }
            Err(AppError::Unavailable(e)) => return Err(AppError::Unavailable(e)),
            Err(e) => {
                tracing::warn!(error = %e, "an escalation batch failed; retrying its cases one by one");
                one_by_one(conn, env, ladder, now, &mut report)?
            }
        };
        if claimed > 0 {
            report.batches += 1;
        }
        if claimed < ladder.batch_size as usize {
            break;
        }
    }
    report.duration_ms = (started.elapsed().as_secs_f64() * 1e6).round() / 1e3;
    for rung in Rung::ALL {
        let n = report.count(rung);
        if n > 0 {
            metrics::counter!("duban_escalations_total", "level" => rung.name())
                .increment(n as u64);
        }
    }
    Ok(report)
}

/// The due cases of a failed batch, one transaction each; a case that fails
/// again is looked at an hour later. Returns the cases handled.
fn one_by_one(
    conn: &mut DbConn,
    env: &Env,
    ladder: &Ladder,
    now: DateTime<Utc>,
    report: &mut SweepReport,
) -> AppResult<usize> {
    let now_db = db::to_db(now);
    let ids = rows::due(conn, now_db, ladder.batch_size)?;
    for &id in &ids {
        let outcome = db::write_tx(conn, |tx| {
            if !rows::claim_one(tx, id, now_db)? {
                return Ok(SweepReport::default());
            }
            process(tx, env, ladder, &[id], now)
        });
        match outcome {
            Ok(counts) => report.add(&counts),
            Err(AppError::Unavailable(e)) => return Err(AppError::Unavailable(e)),
            Err(e) => {
                tracing::warn!(case.id = id, error = %e, "escalation failed for a case; retrying it later");
                report.failed_cases += 1;
                let retry = db::to_db(now + RETRY_FAILED_CASE);
                db::write_tx(conn, |tx| rows::schedule(tx, id, Some(retry)))?;
            }
        }
    }
    Ok(ids.len())
}

impl SweepReport {
    fn add(&mut self, c: &SweepReport) {
        self.cases_examined += c.cases_examined;
        for rung in Rung::ALL {
            *self.counter(rung) += c.count(rung);
        }
        self.letters += c.letters;
        for s in &c.steps {
            self.list(s.clone());
        }
        self.steps_omitted += c.steps_omitted;
    }

    fn list(&mut self, step: FiredStep) {
        if self.steps.len() < REPORTED_STEPS {
            self.steps.push(step);
        } else {
            self.steps_omitted += 1;
        }
    }
}

/// One step to fire now.
struct Firing<'a> {
    case: &'a Complaint,
    assignment: &'a Assignment,
    unit: &'a Unit,
    step: Step,
    /// When the clock's next rung comes: what a letter asks the unit to beat.
    next_rung: Option<DateTime<Utc>>,
    /// What was done on this deadline before, as the letter states it.
    history: Vec<Fact>,
}

/// How a step already taken reads in a later letter.
fn fact_of(l: &letters::LetterEnv, e: &Escalation, number: Option<&String>) -> Fact {
    let date = l.local_date(db::from_db(e.fired_at));
    let text = match Rung::from_level(e.level) {
        Some(Rung::Warning) => "发出办理期限预警通知".to_owned(),
        Some(rung) => match (rung.letter_kind(), number) {
            (Some(kind), Some(n)) => return Fact::letter(date, kind, n),
            _ => format!("予以{}", rung.title()),
        },
        // Not a level the service writes (the row was edited): said as it is.
        None => format!("第{}级督办措施", e.level),
    };
    Fact { date, text }
}

/// A step of this sweep, with what it needs once the letters are numbered.
struct Effect<'a> {
    firing: &'a Firing<'a>,
    /// Its letter among the batch's requests.
    letter: Option<usize>,
    /// An accountability case opened by it (with its step's id and defence
    /// deadline).
    opened: Option<(AccountabilityCase, i64, DateTime<Utc>)>,
}

/// Climbs the ladder for the claimed cases `ids`, inside the caller's
/// transaction: works out every step due and not fired yet, writes their
/// effects in a few statements per kind (letters numbered together, last,
/// each stating the steps before it), records the steps under their unique
/// key, and schedules each case's next look.
fn process(
    conn: &mut DbConn,
    env: &Env,
    ladder: &Ladder,
    ids: &[i64],
    now: DateTime<Utc>,
) -> AppResult<SweepReport> {
    let mut counts = SweepReport::default();
    if ids.is_empty() {
        return Ok(counts);
    }
    counts.cases_examined = ids.len();
    let batch = Batch::load(conn, env, ids)?;
    let (firings, schedule) = batch.due(env, ladder, now)?;
    let planned = plan(conn, env, ladder, &batch, &firings, &mut counts, now)?;
    record_steps(conn, env, planned, &mut counts, now)?;
    rows::schedule_many(conn, &schedule)?;
    Ok(counts)
}

/// When each case of a batch should be looked at next (`None`: not again).
type Schedule = Vec<(i64, Option<NaiveDateTime>)>;

/// What a batch's cases need read once: their assignments, units and
/// category names, and the steps already fired with their letters' numbers.
struct Batch {
    cases: Vec<Complaint>,
    current: HashMap<i64, Assignment>,
    units: HashMap<String, Unit>,
    office: Option<String>,
    categories: HashMap<String, String>,
    past: Vec<Escalation>,
    fired: HashSet<(i64, String, NaiveDateTime, i32)>,
    past_numbers: HashMap<i64, String>,
}

impl Batch {
    fn load(conn: &mut DbConn, env: &Env, ids: &[i64]) -> AppResult<Batch> {
        let cases = complaint_rows::by_ids(conn, ids)?;
        let current: HashMap<i64, Assignment> = assignments::current_of(conn, ids)?
            .into_iter()
            .map(|a| (a.complaint_id, a))
            .collect();
        let mut codes: Vec<String> = current.values().map(|a| a.unit_code.clone()).collect();
        codes.push(env.letters.office_unit.clone());
        codes.sort();
        codes.dedup();
        let units: HashMap<String, Unit> = db::units::by_codes(conn, &codes)?
            .into_iter()
            .map(|u| (u.code.clone(), u))
            .collect();
        let category_codes: Vec<String> = cases
            .iter()
            .filter_map(|c| c.category_code.clone())
            .collect();
        let categories: HashMap<String, String> = db::categories::names(conn, &category_codes)?
            .into_iter()
            .collect();
        let past = rows::of_cases(conn, ids)?;
        let fired: HashSet<(i64, String, NaiveDateTime, i32)> = past
            .iter()
            .map(|e| (e.complaint_id, e.clock.clone(), e.deadline_at, e.level))
            .collect();
        let past_letters: Vec<i64> = past.iter().filter_map(|e| e.letter_id).collect();
        let past_numbers = letters::numbers(conn, &past_letters)?;
        Ok(Batch {
            cases,
            current,
            office: units
                .contains_key(&env.letters.office_unit)
                .then(|| env.letters.office_unit.clone()),
            units,
            categories,
            past,
            fired,
            past_numbers,
        })
    }

    fn office(&self) -> Option<&Unit> {
        self.office.as_ref().and_then(|c| self.units.get(c))
    }

    /// The steps due at `now` and not fired yet, and when each case should
    /// be looked at next.
    fn due<'b>(
        &'b self,
        env: &Env,
        ladder: &Ladder,
        now: DateTime<Utc>,
    ) -> AppResult<(Vec<Firing<'b>>, Schedule)> {
        let (cases, current, units, past, fired, past_numbers) = (
            &self.cases,
            &self.current,
            &self.units,
            &self.past,
            &self.fired,
            &self.past_numbers,
        );
        let l = &env.letters;
        let mut firings: Vec<Firing<'_>> = Vec::new();
        let mut schedule: Schedule = Vec::with_capacity(cases.len());
        for case in cases {
            let status = Status::parse(&case.status);
            let open = status.is_some_and(Status::clocks_run);
            let (Some(a), true, Some(due)) = (current.get(&case.id), open, case.due_at) else {
                schedule.push((case.id, None));
                continue;
            };
            let unit = units.get(&a.unit_code).ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!("unit {} not found", a.unit_code))
            })?;
            let clocks = Clocks {
                assigned_at: db::from_db(a.assigned_at),
                ack_due: match (status, case.acknowledged_at, case.ack_due_at) {
                    (Some(Status::Assigned), None, Some(t)) => Some(db::from_db(t)),
                    _ => None,
                },
                due: db::from_db(due),
            };
            // The steps already taken on this assignment's current deadlines,
            // oldest first: what the next letters state as the case's history.
            let mut history: Vec<Fact> = past
                .iter()
                .filter(|e| {
                    e.complaint_id == case.id
                        && e.assignment_id == a.id
                        && (e.clock == ACKNOWLEDGE || e.deadline_at == due)
                })
                .map(|e| fact_of(l, e, e.letter_id.and_then(|id| past_numbers.get(&id))))
                .collect();
            let all = steps(ladder, &env.calendar, env.tz, &clocks);
            for step in all.iter().filter(|s| s.at < now) {
                // A step meant before its deadline has nothing left to say after it.
                if step.at < step.deadline && now > step.deadline {
                    continue;
                }
                let key = (
                    case.id,
                    step.clock.to_owned(),
                    db::to_db(step.deadline),
                    step.level.level(),
                );
                if fired.contains(&key) {
                    continue;
                }
                firings.push(Firing {
                    case,
                    assignment: a,
                    unit,
                    // The clock's next row of the ladder.
                    next_rung: all
                        .iter()
                        .skip_while(|s| *s != step)
                        .skip(1)
                        .find(|s| s.clock == step.clock)
                        .map(|s| s.at),
                    step: step.clone(),
                    history: history.clone(),
                });
                // A warning of this sweep precedes its later letters; its
                // letters are added as they are numbered (letters::issue_many).
                if step.level.issues() == Issues::DeadlineNotice {
                    history.push(Fact {
                        date: l.local_date(now),
                        text: "发出办理期限预警通知".into(),
                    });
                }
            }
            let next = all.iter().filter(|s| s.at >= now).map(|s| s.at).min();
            schedule.push((case.id, next.map(db::to_db)));
        }
        Ok((firings, schedule))
    }
}

/// The effects of a batch's steps, before their letters are numbered.
struct Planned<'a> {
    notices: Vec<letters::NoticeDraft>,
    letter_requests: Vec<LetterRequest<'a>>,
    effects: Vec<Effect<'a>>,
}

/// Works out what each step issues: notices, letter requests and (written
/// at once, one by one: they are rare and need the step's id) the
/// accountability cases.
fn plan<'a>(
    conn: &mut DbConn,
    env: &Env,
    ladder: &Ladder,
    batch: &'a Batch,
    firings: &'a [Firing<'a>],
    counts: &mut SweepReport,
    now: DateTime<Utc>,
) -> AppResult<Planned<'a>> {
    let now_db = db::to_db(now);
    let (categories, office, l) = (&batch.categories, batch.office(), &env.letters);
    let mut notices = Vec::new();
    let mut letter_requests = Vec::new();
    let mut effects: Vec<Effect<'_>> = Vec::with_capacity(firings.len());
    for f in firings {
        let (case, unit, step) = (f.case, f.unit, &f.step);
        let category_name = case
            .category_code
            .as_ref()
            .and_then(|c| categories.get(c).cloned());
        let (clock_name, not_done, action_needed) = if step.clock == ACKNOWLEDGE {
            ("签收", "签收", "签收并组织办理")
        } else {
            ("办理", "办结", "办结并报送办结报告")
        };
        let mut effect = Effect {
            firing: f,
            letter: None,
            opened: None,
        };
        *counts.counter(step.level) += 1;
        match step.level.issues() {
            Issues::DeadlineNotice => {
                notices.push(letters::draft_notice(
                    l,
                    Some(case),
                    unit,
                    None,
                    NoticeKind::DeadlineWarning,
                    &format!(
                        "你单位承办的受理编号{}（{}）将于{}办理期限届满，请抓紧办理，按时报送办结报告。",
                        case.tracking_no,
                        case.title,
                        l.local_date(step.deadline)
                    ),
                    now,
                ));
            }
            Issues::Letter { kind, copy_office } => {
                let cc = office.filter(|_| copy_office).map(|o| o.email.clone());
                let respond_by = f.next_rung.unwrap_or_else(|| {
                    env.calendar
                        .deadline(now, ladder.reminder_respond_workdays, env.tz)
                });
                effect.letter = Some(letter_requests.len());
                letter_requests.push(LetterRequest {
                    kind,
                    complaint: case,
                    unit,
                    category_name,
                    cc,
                    history: f.history.clone(),
                    extra: json!({
                        "clock_name": clock_name,
                        "not_done": not_done,
                        "overdue_since_local": l.local_date(step.deadline),
                        "action_needed": action_needed,
                        "respond_by_local": l.local_date(respond_by),
                    }),
                });
            }
            Issues::Accountability => {
                // Rare, and the case needs the step's id: recorded here,
                // one by one.
                let entry = new_entry(f, now_db, None);
                let id = rows::try_insert(conn, &entry)?.ok_or_else(|| {
                    AppError::Conflict("an escalation step was fired by another sweep".into())
                })?;
                let history = letters::facts_text(&f.history);
                let (acc, defence_due) = accountability::open_for_escalation(
                    conn,
                    env,
                    EscalationOpening {
                        complaint: case,
                        unit,
                        escalation_id: id,
                        situation: &ladder.situation,
                        provisional_centipoints: ladder.provisional_centipoints,
                        defence_workdays: ladder.defence_workdays,
                        due_at: step.deadline,
                        history: &history,
                    },
                    now,
                )?;
                effect.letter = Some(letter_requests.len());
                letter_requests.push(LetterRequest {
                    kind: LetterKind::Accountability,
                    complaint: case,
                    unit,
                    category_name,
                    cc: office.map(|o| o.email.clone()),
                    history: f.history.clone(),
                    extra: json!({
                        "clock_name": "办理",
                        "due_local": l.local_date(step.deadline),
                        "overdue_since_local": l.local_date(step.deadline),
                        "respond_by_local": l.local_date(defence_due),
                        "points": points(i64::from(ladder.provisional_centipoints)),
                        "situation_name": ladder.situation.name,
                        "action_needed": "提交书面申辩材料",
                    }),
                });
                effect.opened = Some((acc, id, defence_due));
            }
        }
        effects.push(effect);
    }

    Ok(Planned {
        notices,
        letter_requests,
        effects,
    })
}

/// Numbers the letters (last: the counter rows stay locked only until
/// commit), records the steps under their unique key with their audit
/// events, and queues the notices.
fn record_steps(
    conn: &mut DbConn,
    env: &Env,
    planned: Planned<'_>,
    counts: &mut SweepReport,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let Planned {
        notices,
        letter_requests,
        effects,
    } = planned;
    let (now_db, l) = (db::to_db(now), &env.letters);
    let letter_ids = letters::issue_many(conn, l, &letter_requests, now)?;
    counts.letters += letter_ids.len();
    let numbers = letters::numbers(conn, &letter_ids)?;
    let mut rest: Vec<NewEscalation<'_>> = Vec::with_capacity(effects.len());
    let mut lines: Vec<(&'static str, Words, &Firing<'_>)> = Vec::with_capacity(effects.len());
    let system = AuditActor::system();
    for e in &effects {
        let f = e.firing;
        let letter_id = e.letter.map(|i| letter_ids[i]);
        let number = letter_id.and_then(|id| numbers.get(&id).cloned());
        let acc_id = e.opened.as_ref().map(|(acc, ..)| acc.id);
        if let Some((acc, step_id, defence_due)) = &e.opened {
            let id = letter_id.unwrap_or_default();
            rows::set_letter(conn, *step_id, id)?;
            let words = accountability::escalation_opened_words(
                acc,
                f.unit,
                number.as_deref().unwrap_or(""),
                &l.local_date(*defence_due),
            );
            accountability::record_escalation_opening(conn, acc, &words, id, now)?;
            lines.push(("escalation_accountability", words, f));
        } else {
            rest.push(new_entry(f, now_db, letter_id));
            lines.push((
                f.step.level.action(),
                step_words(l, f, number.as_deref()),
                f,
            ));
        }
        counts.list(FiredStep {
            tracking_no: f.case.tracking_no.clone(),
            unit: f.unit.code.clone(),
            clock: f.step.clock,
            level: f.step.level.level(),
            level_name: f.step.level.name(),
            deadline_at: f.step.deadline,
            letter_number: number,
            accountability_id: acc_id,
        });
    }
    // The unique key decides: a step another sweep recorded first undoes
    // this whole transaction (its letters and their numbers included).
    if rows::insert_many(conn, &rest)? < rest.len() {
        return Err(AppError::Conflict(
            "an escalation step was fired by another sweep".into(),
        ));
    }
    let chains: Vec<String> = lines
        .iter()
        .map(|(_, _, f)| audit::case_chain(&f.case.tracking_no))
        .collect();
    let entries: Vec<audit::Entry<'_>> = lines
        .iter()
        .zip(&chains)
        .map(|((action, words, f), chain)| audit::Entry {
            chain,
            complaint_id: Some(f.case.id),
            actor: &system,
            action,
            summary: &words.staff,
            public_note: words.public.as_deref(),
            unit_note: words.unit.as_deref(),
        })
        .collect();
    audit::append_many(conn, &entries, now)?;
    letters::queue_notices(conn, &notices, now)?;
    Ok(())
}

/// The row recording a step under its unique key.
fn new_entry<'a>(
    f: &Firing<'a>,
    now_db: NaiveDateTime,
    letter_id: Option<i64>,
) -> NewEscalation<'a> {
    NewEscalation {
        complaint_id: f.case.id,
        assignment_id: f.assignment.id,
        unit_code: &f.unit.code,
        clock: f.step.clock,
        level: f.step.level.level(),
        deadline_at: db::to_db(f.step.deadline),
        fired_at: now_db,
        letter_id,
    }
}

/// The words of a step for each reader.
fn step_words(l: &letters::LetterEnv, f: &Firing<'_>, number: Option<&str>) -> Words {
    let due = l.local_date(f.step.deadline);
    let clock = labels::clock_label(f.step.clock);
    let number = number.unwrap_or("");
    match f.step.level {
        Rung::Warning => Words::new(format!(
            "办理期限预警：期限{due}，已向{}发出预警通知",
            f.unit.name
        ))
        .to_unit(format!("办理期限预警：本件将于{due}办理期限届满")),
        Rung::Reminder => Words::new(format!(
            "{clock}期限{due}已过，向{}发出催办函{number}",
            f.unit.name
        ))
        .to_unit(format!("{clock}期限{due}已过，作风办发出催办函{number}"))
        .to_public("已向承办单位发出催办函"),
        Rung::Supervision => Words::new(format!(
            "办理期限{due}已过仍未办结，向{}主要负责人发出督办函{number}（抄送作风办）",
            f.unit.name
        ))
        .to_unit(format!(
            "办理期限{due}已过仍未办结，作风办向你单位主要负责人发出督办函{number}"
        ))
        .to_public("已向承办单位主要负责人发出督办函"),
        // The sweep words an accountability step with the case it opens
        // (`accountability::escalation_opened_words`); these are the words
        // should one be recorded without it.
        Rung::Accountability => Words::new(format!(
            "办理期限{due}已过仍未办结，对{}予以问责{number}",
            f.unit.name
        ))
        .to_unit(format!("办理期限{due}已过仍未办结，作风办予以问责{number}")),
    }
}

/// `POST /escalations/run` (admin, supervisor): a sweep now.
pub fn run_now(
    conn: &mut DbConn,
    env: &Env,
    ladder: &Ladder,
    actor: &Actor,
    now: DateTime<Utc>,
) -> AppResult<SweepReport> {
    policy::require(actor, Action::RunSweep)?;
    let report = sweep(conn, env, ladder, now)?;
    tracing::info!(
        user.id = actor.user_id,
        fired = report.fired(),
        cases = report.cases_examined,
        "sweep run on request"
    );
    Ok(report)
}

/// An escalation step as staff read it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EscalationView {
    pub id: i64,
    pub tracking_no: String,
    pub unit: String,
    pub clock: String,
    pub level: i32,
    pub level_name: &'static str,
    pub deadline_at: DateTime<Utc>,
    pub fired_at: DateTime<Utc>,
    pub letter_id: Option<i64>,
}

/// `GET /escalations` (supervisor, auditor), newest first.
pub fn list(
    conn: &mut DbConn,
    actor: &Actor,
    mut filter: EscalationFilter,
    tracking_no: Option<String>,
    page: i64,
    per_page: i64,
) -> AppResult<(Vec<EscalationView>, i64)> {
    policy::require(actor, Action::ReadEscalations)?;
    if let Some(no) = tracking_no {
        match complaint_rows::by_tracking_no(conn, &no)? {
            Some(c) => filter.complaint_id = Some(c.id),
            None => return Ok((Vec::new(), 0)),
        }
    }
    let (offset, limit) = db::page_window(page, per_page);
    let (items, total) = rows::list(conn, &filter, offset, limit)?;
    Ok((views(conn, items)?, total))
}

pub fn views(conn: &mut DbConn, items: Vec<Escalation>) -> AppResult<Vec<EscalationView>> {
    let ids: Vec<i64> = items.iter().map(|e| e.complaint_id).collect();
    let numbers: HashMap<i64, String> = complaint_rows::tracking_numbers(conn, &ids)?
        .into_iter()
        .collect();
    Ok(items
        .into_iter()
        .map(|e| EscalationView {
            id: e.id,
            tracking_no: numbers.get(&e.complaint_id).cloned().unwrap_or_default(),
            unit: e.unit_code,
            clock: e.clock,
            level: e.level,
            level_name: Rung::from_level(e.level).map_or("", Rung::name),
            deadline_at: db::from_db(e.deadline_at),
            fired_at: db::from_db(e.fired_at),
            letter_id: e.letter_id,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calendar::end_of_day;
    use chrono::NaiveDate;
    use chrono_tz::Asia::Shanghai;
    use std::path::Path;

    fn config() -> &'static Path {
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config"))
    }

    fn ladder() -> Ladder {
        let settings = EscalationSettings {
            enabled: true,
            interval_ms: 60_000,
            batch_size: 200,
            warning_workdays_before: 1,
            supervision_workdays_after: 3,
            accountability_workdays_after: 5,
            provisional_points: 1.0,
            situation: "B3".into(),
            defence_workdays: 5,
            reminder_respond_workdays: 1,
        };
        Ladder::new(&settings, Catalogue::load(config()).unwrap()).unwrap()
    }

    fn eod(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        end_of_day(NaiveDate::from_ymd_opt(y, m, d).unwrap(), Shanghai)
    }

    #[test]
    fn the_ladder_counts_working_days_around_the_deadline() {
        let cal = Calendar::load_dir(&config().join("calendar")).unwrap();
        // Assigned Monday 23 Nov 2026, due Monday 30 Nov, not yet signed for.
        let clocks = Clocks {
            assigned_at: eod(2026, 11, 23) - chrono::Duration::hours(10),
            ack_due: Some(eod(2026, 11, 24)),
            due: eod(2026, 11, 30),
        };
        let s = steps(&ladder(), &cal, Shanghai, &clocks);
        let at: Vec<(&str, Rung, DateTime<Utc>)> =
            s.iter().map(|s| (s.clock, s.level, s.at)).collect();
        assert_eq!(
            at,
            vec![
                (ACKNOWLEDGE, Rung::Reminder, eod(2026, 11, 24)),
                (HANDLING, Rung::Warning, eod(2026, 11, 27)), // the Friday before
                (HANDLING, Rung::Reminder, eod(2026, 11, 30)),
                (HANDLING, Rung::Supervision, eod(2026, 12, 3)),
                (HANDLING, Rung::Accountability, eod(2026, 12, 7)), // over the weekend
            ]
        );
        assert!(s.iter().skip(1).all(|s| s.deadline == eod(2026, 11, 30)));
    }

    #[test]
    fn each_rung_is_stored_as_its_level_and_climbs_to_accountability() {
        for (i, rung) in Rung::ALL.into_iter().enumerate() {
            assert_eq!(rung.level(), i as i32);
            assert_eq!(Rung::from_level(rung.level()), Some(rung));
            assert_eq!(LEVELS[i], rung.name());
        }
        assert_eq!(Rung::from_level(4), None);
        let climb: Vec<Rung> = ladder().rows.iter().map(|r| r.rung).collect();
        assert_eq!(
            climb,
            Rung::ALL,
            "the configured ladder climbs every rung in order"
        );
        assert_eq!(Rung::Warning.letter_kind(), None, "a warning is a notice");
        assert_eq!(
            Rung::Supervision.letter_kind(),
            Some(LetterKind::Supervision)
        );
        assert_eq!(
            Rung::Accountability.letter_kind(),
            Some(LetterKind::Accountability)
        );
    }

    /// The ladder is its table: a row taken out is a step gone, a row added
    /// (or moved) is a step at its place, on the clocks the row names.
    #[test]
    fn the_steps_follow_the_rows_of_the_ladder() {
        let cal = Calendar::load_dir(&config().join("calendar")).unwrap();
        let clocks = Clocks {
            assigned_at: eod(2026, 11, 23) - chrono::Duration::hours(10),
            ack_due: Some(eod(2026, 11, 24)),
            due: eod(2026, 11, 30),
        };
        let mut l = ladder();
        l.rows = vec![
            RungRow {
                rung: Rung::Reminder,
                when: When::AtDeadline,
                on_acknowledge: false,
            },
            RungRow {
                rung: Rung::Supervision,
                when: When::After(1),
                on_acknowledge: true,
            },
        ];
        let at: Vec<(&str, Rung, DateTime<Utc>)> = steps(&l, &cal, Shanghai, &clocks)
            .iter()
            .map(|s| (s.clock, s.level, s.at))
            .collect();
        assert_eq!(
            at,
            vec![
                (ACKNOWLEDGE, Rung::Supervision, eod(2026, 11, 25)),
                (HANDLING, Rung::Reminder, eod(2026, 11, 30)),
                (HANDLING, Rung::Supervision, eod(2026, 12, 1)),
            ]
        );
        l.rows.push(RungRow {
            rung: Rung::Accountability,
            when: When::After(3),
            on_acknowledge: false,
        });
        let last = steps(&l, &cal, Shanghai, &clocks).pop().unwrap();
        assert_eq!(
            (last.level, last.at),
            (Rung::Accountability, eod(2026, 12, 3))
        );
    }

    #[test]
    fn the_ladder_skips_the_national_day_holiday() {
        let cal = Calendar::load_dir(&config().join("calendar")).unwrap();
        // Due Wednesday 30 Sep 2026; 1–7 Oct are holidays, Sat 10 Oct is worked.
        let clocks = Clocks {
            assigned_at: eod(2026, 9, 20),
            ack_due: None,
            due: eod(2026, 9, 30),
        };
        let s = steps(&ladder(), &cal, Shanghai, &clocks);
        let sup = s.iter().find(|s| s.level == Rung::Supervision).unwrap();
        let acc = s.iter().find(|s| s.level == Rung::Accountability).unwrap();
        assert_eq!(sup.at, eod(2026, 10, 10), "8, 9 and the worked Saturday");
        assert_eq!(acc.at, eod(2026, 10, 13));
    }

    #[test]
    fn no_warning_before_the_assignment_itself() {
        let cal = Calendar::load_dir(&config().join("calendar")).unwrap();
        // A one-day limit assigned on Friday afternoon: due Monday, warning
        // would be Friday's end, after the assignment: kept. Assigned late on
        // Monday itself (a redo due the same day): no warning.
        let fri = Clocks {
            assigned_at: eod(2026, 11, 27) - chrono::Duration::hours(5),
            ack_due: None,
            due: eod(2026, 11, 30),
        };
        assert!(
            steps(&ladder(), &cal, Shanghai, &fri)
                .iter()
                .any(|s| s.level == Rung::Warning)
        );
        let mon = Clocks {
            assigned_at: eod(2026, 11, 30) - chrono::Duration::hours(5),
            ack_due: None,
            due: eod(2026, 11, 30),
        };
        assert!(
            !steps(&ladder(), &cal, Shanghai, &mon)
                .iter()
                .any(|s| s.level == Rung::Warning)
        );
    }
}
