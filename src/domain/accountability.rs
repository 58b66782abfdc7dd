//! Accountability (效能问责, docs/architecture.md, "Accountability and points"): the catalogue of situations, cases
//! opened by the escalation sweep or by a supervisor, the unit's defence, the
//! supervisor's decision, and the append-only score events they book.
//!
//! Points are kept in hundredths (`centipoints`) so sums are exact; the API
//! speaks points with up to two decimals. One sign convention everywhere in
//! the API: a number of `points` is a change to the unit's score, so a
//! deduction is negative (`-2` deducts two points), in requests and answers
//! alike. Only the configuration files (`provisional_points`, a situation's
//! `points`) give deductions as plain amounts.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, ensure};
use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};

use crate::auth::Actor;
use crate::auth::policy::{self, Action};
use crate::db::accountability::{
    self as rows, AccountabilityCase, AccountabilityFilter, Decision, NewAccountabilityCase,
    NewScoreEvent, ScoreEvent,
};
use crate::db::complaints::{self as complaint_rows, Complaint};
use crate::db::units::Unit;
use crate::db::{self, DbConn};
use crate::domain::audit::{self, AuditActor, Words};
use crate::domain::command::Command;
use crate::domain::commands::{
    AccountabilityDecision, DecideAccountability, FileDefence, OpenAccountability,
};
use crate::domain::env::Env;
use crate::domain::labels;
use crate::domain::letters::{self, NoticeKind};
// Kept here for the modules that read them from accountability.
use crate::domain::points::{centipoints, points};
use crate::error::{AppError, AppResult, Code, FieldErrors};

/// The decisions a supervisor may take.
pub const DECISIONS: &[&str] = AccountabilityDecision::CODES;

pub fn decision_title(d: &str) -> &'static str {
    match d {
        "dismissed" => "不予问责",
        "criticism" => "通报批评",
        "efficiency_warning" => "效能告诫",
        "admonishment" => "诫勉谈话",
        "organizational" => "组织处理",
        "economic_penalty" => "经济处罚",
        _ => "",
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    aspect: Vec<AspectEntry>,
    situation: Vec<SituationEntry>,
}

#[derive(Deserialize, Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AspectEntry {
    pub code: String,
    pub name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SituationEntry {
    code: String,
    aspect: String,
    name: String,
    points: f64,
    decision: String,
}

/// One situation of the catalogue.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Situation {
    pub code: String,
    pub aspect: String,
    pub aspect_name: String,
    pub name: String,
    /// Default deduction, in hundredths (positive).
    #[serde(skip)]
    pub centipoints: i32,
    /// The default change to the score: negative, a deduction.
    pub points: f64,
    /// The suggested decision.
    pub decision: String,
}

/// The catalogue of situations, from `config/accountability.toml`.
#[derive(Clone, Debug)]
pub struct Catalogue {
    pub aspects: Vec<AspectEntry>,
    pub situations: Vec<Situation>,
}

impl crate::domain::command::Situations for Catalogue {
    fn knows(&self, code: &str) -> bool {
        self.find(code).is_some()
    }
}

impl Catalogue {
    /// Reads and checks the catalogue: unique codes, known aspects, valid
    /// points and decisions. A bad file stops the start.
    pub fn load(config_dir: &Path) -> anyhow::Result<Self> {
        let path = config_dir.join("accountability.toml");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let file: CatalogueFile = toml::from_str(text)?;
        let aspects: HashMap<&str, &str> = file
            .aspect
            .iter()
            .map(|a| (a.code.as_str(), a.name.as_str()))
            .collect();
        ensure!(
            aspects.len() == file.aspect.len(),
            "aspect codes must be unique"
        );
        let mut situations = Vec::with_capacity(file.situation.len());
        for s in &file.situation {
            let aspect_name = aspects
                .get(s.aspect.as_str())
                .with_context(|| format!("situation {}: unknown aspect {:?}", s.code, s.aspect))?;
            ensure!(
                !s.code.is_empty() && s.code.len() <= 16,
                "situation codes must have 1 to 16 characters"
            );
            ensure!(
                !situations.iter().any(|x: &Situation| x.code == s.code),
                "situation {} is listed twice",
                s.code
            );
            let centi = centipoints(s.points).with_context(|| {
                format!(
                    "situation {}: points must be 0 to 100, two decimals",
                    s.code
                )
            })?;
            ensure!(
                DECISIONS.contains(&s.decision.as_str()) && s.decision != "dismissed",
                "situation {}: decision {:?} is not one of {}",
                s.code,
                s.decision,
                DECISIONS[1..].join(", ")
            );
            situations.push(Situation {
                code: s.code.clone(),
                aspect: s.aspect.clone(),
                aspect_name: (*aspect_name).to_owned(),
                name: s.name.clone(),
                centipoints: centi,
                points: points(-i64::from(centi)),
                decision: s.decision.clone(),
            });
        }
        Ok(Self {
            aspects: file.aspect,
            situations,
        })
    }

    pub fn find(&self, code: &str) -> Option<&Situation> {
        self.situations.iter().find(|s| s.code == code)
    }
}

/// What opening a case by escalation needs besides the case itself.
pub struct EscalationOpening<'a> {
    pub complaint: &'a Complaint,
    pub unit: &'a Unit,
    pub escalation_id: i64,
    pub situation: &'a Situation,
    pub provisional_centipoints: i32,
    pub defence_workdays: u32,
    /// The handling deadline that was missed.
    pub due_at: DateTime<Utc>,
    /// The steps taken on the case before, as its letters state them.
    pub history: &'a str,
}

fn local_year(env: &Env, t: DateTime<Utc>) -> i32 {
    t.with_timezone(&env.tz).year()
}

/// The audit chain of an accountability case.
pub fn chain(id: i64) -> String {
    format!("accountability:{id}")
}

fn record(
    conn: &mut DbConn,
    case: &AccountabilityCase,
    actor: &AuditActor,
    action: &str,
    words: &Words,
    now: DateTime<Utc>,
) -> AppResult<()> {
    audit::append(
        conn,
        &audit::Entry {
            chain: &chain(case.id),
            complaint_id: case.complaint_id,
            actor,
            action,
            summary: &words.staff,
            public_note: None,
            unit_note: words.unit.as_deref(),
        },
        now,
    )?;
    Ok(())
}

/// Opens the case the top of the ladder calls for, with its provisional
/// deduction. Runs in the sweep's transaction; the sweep issues the numbered
/// accountability notice with the batch's other letters (so that it can
/// cite them) and records the opening once it has its number. Returns the
/// case and its defence deadline.
pub fn open_for_escalation(
    conn: &mut DbConn,
    env: &Env,
    o: EscalationOpening<'_>,
    now: DateTime<Utc>,
) -> AppResult<(AccountabilityCase, DateTime<Utc>)> {
    let now_db = db::to_db(now);
    let defence_due = env.calendar.deadline(now, o.defence_workdays, env.tz);
    let year = local_year(env, now);
    let history = if o.history.is_empty() {
        String::new()
    } else {
        format!("，{}", o.history)
    };
    let case = rows::insert(
        conn,
        &NewAccountabilityCase {
            unit_code: &o.unit.code,
            person: None,
            complaint_id: Some(o.complaint.id),
            trigger: "escalation",
            escalation_id: Some(o.escalation_id),
            situation_code: Some(&o.situation.code),
            reason: &format!(
                "受理编号{}办理期限于{}届满{history}，截至{}仍未办结",
                o.complaint.tracking_no,
                env.letters.local_date(o.due_at),
                env.letters.local_date(now),
            ),
            status: "open",
            year,
            provisional_centipoints: o.provisional_centipoints,
            opened_by: None,
            opened_at: now_db,
            defence_due_at: db::to_db(defence_due),
        },
    )?;
    if o.provisional_centipoints > 0 {
        rows::book(
            conn,
            &NewScoreEvent {
                unit_code: &o.unit.code,
                year,
                centipoints: -o.provisional_centipoints,
                kind: "provisional",
                accountability_id: Some(case.id),
                complaint_id: Some(o.complaint.id),
                note: "扣分预警：启动效能问责程序",
                created_by: None,
                created_at: now_db,
            },
        )?;
    }
    Ok((case, defence_due))
}

/// The words of an escalated case's opening, once its notice has a number.
pub fn escalation_opened_words(
    case: &AccountabilityCase,
    unit: &Unit,
    number: &str,
    defence_due: &str,
) -> Words {
    let points = labels::points_text(i64::from(case.provisional_centipoints));
    Words::new(format!(
        "逾期未办结，对{}启动效能问责（问责编号{}，情形{}），预扣{points}分，问责通知{number}，申辩期限{defence_due}",
        unit.name,
        case.id,
        case.situation_code.as_deref().unwrap_or("-"),
    ))
    .to_unit(format!(
        "对你单位启动效能问责程序（问责通知{number}），预扣{points}分，请于{defence_due}前提交申辩材料"
    ))
}

/// Records the opening of an escalated case on its own chain.
pub fn record_escalation_opening(
    conn: &mut DbConn,
    case: &AccountabilityCase,
    words: &Words,
    letter_id: i64,
    now: DateTime<Utc>,
) -> AppResult<()> {
    rows::set_letter(conn, case.id, letter_id)?;
    record(
        conn,
        case,
        &AuditActor::system(),
        "accountability_opened",
        words,
        now,
    )
}

fn office(conn: &mut DbConn, env: &Env) -> AppResult<Option<Unit>> {
    Ok(db::units::find(conn, &env.letters.office_unit)?)
}

/// `POST /accountability` (supervisor): opens a case by hand against a
/// unit, optionally about a complaint and a person, optionally with a
/// provisional deduction. The unit is told by e-mail.
pub fn open_manual(
    conn: &mut DbConn,
    env: &Env,
    catalogue: &Catalogue,
    defence_workdays: u32,
    actor: &Actor,
    cmd: OpenAccountability,
    now: DateTime<Utc>,
) -> AppResult<AccountabilityView> {
    policy::require(actor, <OpenAccountability as Command>::ACTION)?;
    let mut errors = FieldErrors::new();
    let target = db::units::find(conn, &cmd.unit)?.filter(|u| u.active);
    if target.is_none() {
        errors.add_with("unit", Code::NotAUnit, "is not an active unit code");
    }
    let complaint = match &cmd.tracking_no {
        Some(no) => {
            let c = complaint_rows::by_tracking_no(conn, no)?;
            if c.is_none() {
                errors.add("tracking_no", Code::NotACase);
            }
            c
        }
        None => None,
    };
    errors.finish()?;
    let target = target.ok_or(AppError::NotFound)?;
    let person = cmd.person.map(String::from);
    let situation = cmd.situation.map(|s| s.0);
    let reason = cmd.reason.into_inner();
    let provisional = cmd.provisional_points.map_or(0, |d| d.0);
    let by = AuditActor::from(actor);
    db::write_tx(conn, |conn| {
        let now_db = db::to_db(now);
        let year = local_year(env, now);
        let defence_due = env.calendar.deadline(now, defence_workdays, env.tz);
        let case = rows::insert(
            conn,
            &NewAccountabilityCase {
                unit_code: &target.code,
                person: person.as_deref(),
                complaint_id: complaint.as_ref().map(|c| c.id),
                trigger: "manual",
                escalation_id: None,
                situation_code: situation.as_deref(),
                reason: &reason,
                status: "open",
                year,
                provisional_centipoints: provisional,
                opened_by: Some(actor.user_id),
                opened_at: now_db,
                defence_due_at: db::to_db(defence_due),
            },
        )?;
        if provisional > 0 {
            rows::book(
                conn,
                &NewScoreEvent {
                    unit_code: &target.code,
                    year,
                    centipoints: -provisional,
                    kind: "provisional",
                    accountability_id: Some(case.id),
                    complaint_id: case.complaint_id,
                    note: "扣分预警：启动效能问责程序",
                    created_by: Some(actor.user_id),
                    created_at: now_db,
                },
            )?;
        }
        let office = office(conn, env)?;
        let text = format!(
            "经研究，决定对你单位启动效能问责程序（问责编号{}）。事由：{}\n\n请于{}前通过督办系统提交书面申辩材料；逾期未申辩的，视为放弃申辩。",
            case.id,
            reason,
            env.letters.local_date(defence_due)
        );
        letters::notice_about(
            conn,
            &env.letters,
            complaint.as_ref(),
            &target,
            office.as_ref().map(|o| o.email.as_str()),
            NoticeKind::AccountabilityOpened,
            &text,
            now,
        )?;
        let defence_local = env.letters.local_date(defence_due);
        let pts = labels::points_text(i64::from(provisional));
        record(
            conn,
            &case,
            &by,
            "accountability_opened",
            &Words::new(format!(
                "督办员对{}启动效能问责（问责编号{}，情形{}），预扣{pts}分，申辩期限{defence_local}",
                target.name,
                case.id,
                situation.as_deref().unwrap_or("未定"),
            ))
            .to_unit(format!(
                "对你单位启动效能问责程序（问责编号{}），请于{defence_local}前提交申辩材料",
                case.id
            )),
            now,
        )?;
        view_one(conn, catalogue, case)
    })
}

/// `POST /accountability/{id}/defence` (unit): the unit's written defence,
/// once, before the defence deadline.
pub fn file_defence(
    conn: &mut DbConn,
    catalogue: &Catalogue,
    actor: &Actor,
    id: i64,
    cmd: FileDefence,
    now: DateTime<Utc>,
) -> AppResult<AccountabilityView> {
    policy::require(actor, <FileDefence as Command>::ACTION)?;
    let text = cmd.content.into_inner();
    db::write_tx(conn, |conn| {
        let case = rows::lock(conn, id)?.ok_or(AppError::NotFound)?;
        if policy::unit_scope(actor) != Some(case.unit_code.as_str()) {
            return Err(AppError::NotFound);
        }
        if case.status != "open" {
            return Err(AppError::Conflict(format!(
                "not possible while the accountability case is {}",
                case.status
            )));
        }
        if case.defence_waived_at.is_some() {
            return Err(AppError::Conflict(
                "the office recorded that the unit waived its defence".into(),
            ));
        }
        let now_db = db::to_db(now);
        if now_db > case.defence_due_at {
            return Err(AppError::Conflict(format!(
                "the defence period ended at {}",
                db::from_db(case.defence_due_at).to_rfc3339()
            )));
        }
        rows::file_defence(conn, case.id, &text, actor.user_id, now_db)?;
        record(
            conn,
            &case,
            &AuditActor::from(actor),
            "defence_filed",
            &Words::new(format!("承办单位提交申辩材料（问责编号{}）", case.id))
                .to_unit(format!("你单位提交申辩材料（问责编号{}）", case.id)),
            now,
        )?;
        let case = rows::by_id(conn, id)?.ok_or(AppError::NotFound)?;
        view_one(conn, catalogue, case)
    })
}

/// `POST /accountability/{id}/decision` (supervisor): decides once. Any
/// provisional deduction is reversed by a compensating event; a decision
/// other than `dismissed` books its own deduction.
pub fn decide(
    conn: &mut DbConn,
    env: &Env,
    catalogue: &Catalogue,
    actor: &Actor,
    id: i64,
    cmd: DecideAccountability,
    now: DateTime<Utc>,
) -> AppResult<AccountabilityView> {
    policy::require(actor, <DecideAccountability as Command>::ACTION)?;
    let dismissed = cmd.decision == AccountabilityDecision::Dismissed;
    let found = cmd.situation.as_deref().and_then(|c| catalogue.find(c));
    let decision = cmd.decision.as_str().to_owned();
    let (pts, waived) = (cmd.points.map(|d| d.0), cmd.defence_waived);
    let note = cmd.note.map(String::from);
    let by = AuditActor::from(actor);
    db::write_tx(conn, |conn| {
        let case = rows::lock(conn, id)?.ok_or(AppError::NotFound)?;
        if case.status == "decided" {
            return Err(AppError::Conflict(
                "not possible while the accountability case is decided".into(),
            ));
        }
        let now_db = db::to_db(now);
        heard(env, &case, waived, now)?;
        if waived && case.defence_waived_at.is_none() {
            rows::waive_defence(conn, case.id, actor.user_id, now_db)?;
            record(
                conn,
                &case,
                &by,
                "defence_waived",
                &Words::new(format!(
                    "督办员记录：承办单位放弃申辩（问责编号{}）",
                    case.id
                ))
                .to_unit(format!("作风办记录你单位放弃申辩（问责编号{}）", case.id)),
                now,
            )?;
        }
        // Without a situation in the body the case keeps the one it was
        // opened under; a deduction needs one (its default points).
        let situation = found.or_else(|| {
            case.situation_code
                .as_deref()
                .and_then(|c| catalogue.find(c))
        });
        if !dismissed && situation.is_none() {
            return Err(AppError::field_with(
                "situation",
                Code::Required,
                "is required: the case was opened without one",
            ));
        }
        let centi = if dismissed {
            0
        } else {
            pts.or(situation.map(|s| s.centipoints)).unwrap_or(0)
        };
        rows::decide(
            conn,
            case.id,
            &Decision {
                situation_code: situation.map(|s| s.code.as_str()),
                decision: &decision,
                centipoints: centi,
                note: note.as_deref(),
                by: actor.user_id,
                at: now_db,
            },
        )?;
        book_decision(conn, &case, &decision, centi, actor.user_id, now_db)?;
        tell_decision(conn, env, &case, &decision, centi, note.as_deref(), now)?;
        let title = decision_title(&decision);
        let pts = labels::points_text(i64::from(centi));
        record(
            conn,
            &case,
            &by,
            "accountability_decided",
            &Words::new(format!(
                "效能问责决定（问责编号{}）：{title}，情形{}，扣{pts}分",
                case.id,
                situation.map_or("-", |s| s.code.as_str())
            ))
            .to_unit(format!(
                "效能问责决定（问责编号{}）：{title}，扣{pts}分",
                case.id
            )),
            now,
        )?;
        let case = rows::by_id(conn, id)?.ok_or(AppError::NotFound)?;
        view_one(conn, catalogue, case)
    })
}

/// Due process: no decision before the defence period ends unless the unit
/// has defended itself or the office records that it waived (which it
/// cannot have done once it filed a defence).
fn heard(env: &Env, case: &AccountabilityCase, waived: bool, now: DateTime<Utc>) -> AppResult<()> {
    if waived && case.defence.is_some() {
        return Err(AppError::field_with(
            "defence_waived",
            Code::NotAllowed,
            "the unit has filed its defence: it cannot have waived it",
        ));
    }
    let heard = case.defence.is_some() || case.defence_waived_at.is_some() || waived;
    if !heard && db::to_db(now) <= case.defence_due_at {
        let due = db::from_db(case.defence_due_at);
        return Err(AppError::Conflict(format!(
            "the unit's defence period runs until {} ({}): decide after it, once the unit has \
             filed its defence, or record that it waived its defence (defence_waived: true, with a note)",
            due.to_rfc3339(),
            labels::local_minute(due, env.tz),
        )));
    }
    Ok(())
}

/// The score events of a decision: any provisional deduction reversed by a
/// compensating event, then the decision's own deduction.
fn book_decision(
    conn: &mut DbConn,
    case: &AccountabilityCase,
    decision: &str,
    centi: i32,
    by: i64,
    now_db: chrono::NaiveDateTime,
) -> AppResult<()> {
    let mut events: Vec<(i32, &str, String)> = Vec::with_capacity(2);
    if case.provisional_centipoints > 0 {
        events.push((
            case.provisional_centipoints,
            "compensation",
            "冲销扣分预警（问责决定作出）".to_owned(),
        ));
    }
    if centi > 0 {
        events.push((
            -centi,
            "deduction",
            format!("问责决定：{}", decision_title(decision)),
        ));
    }
    for (centipoints, kind, note) in &events {
        rows::book(
            conn,
            &NewScoreEvent {
                unit_code: &case.unit_code,
                year: case.year,
                centipoints: *centipoints,
                kind,
                accountability_id: Some(case.id),
                complaint_id: case.complaint_id,
                note,
                created_by: Some(by),
                created_at: now_db,
            },
        )?;
    }
    Ok(())
}

/// The notice telling the unit the decision.
fn tell_decision(
    conn: &mut DbConn,
    env: &Env,
    case: &AccountabilityCase,
    decision: &str,
    centi: i32,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let unit = db::units::find(conn, &case.unit_code)?.ok_or(AppError::NotFound)?;
    let complaint = match case.complaint_id {
        Some(cid) => complaint_rows::by_id(conn, cid)?,
        None => None,
    };
    let text = if decision == AccountabilityDecision::Dismissed.as_str() {
        format!(
            "经审查，对你单位的效能问责（问责编号{}）决定不予问责，预扣分值予以冲销。",
            case.id
        )
    } else {
        format!(
            "经审查，对你单位的效能问责（问责编号{}）作出如下决定：{}，扣效能分{}分。{}",
            case.id,
            decision_title(decision),
            points(i64::from(centi)),
            note.unwrap_or("")
        )
    };
    letters::notice_about(
        conn,
        &env.letters,
        complaint.as_ref(),
        &unit,
        None,
        NoticeKind::AccountabilityDecided,
        &text,
        now,
    )?;
    Ok(())
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UnitRef {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SituationRef {
    pub code: String,
    pub name: String,
    pub aspect: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DefenceView {
    pub content: String,
    pub filed_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DecisionView {
    pub decision: String,
    pub decision_title: &'static str,
    /// The change to the unit's score: negative, a deduction.
    pub points: f64,
    pub note: Option<String>,
    pub decided_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ScoreEventView {
    pub kind: String,
    /// The change to the unit's score (negative: a deduction).
    pub points: f64,
    pub year: i32,
    pub note: String,
    pub at: DateTime<Utc>,
}

/// An accountability case as staff and the unit read it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccountabilityView {
    pub id: i64,
    pub unit: UnitRef,
    pub person: Option<String>,
    pub tracking_no: Option<String>,
    pub trigger: String,
    pub escalation_id: Option<i64>,
    pub situation: Option<SituationRef>,
    pub reason: String,
    /// `open`, `defended` or `decided`.
    pub status: String,
    pub year: i32,
    /// The provisional change to the score booked at opening (negative).
    pub provisional_points: f64,
    pub opened_at: DateTime<Utc>,
    pub defence_due_at: DateTime<Utc>,
    pub letter_id: Option<i64>,
    pub defence: Option<DefenceView>,
    /// When the office recorded that the unit waived its defence.
    pub defence_waived_at: Option<DateTime<Utc>>,
    pub decision: Option<DecisionView>,
    pub score_events: Vec<ScoreEventView>,
}

fn views(
    conn: &mut DbConn,
    catalogue: &Catalogue,
    list: Vec<AccountabilityCase>,
) -> AppResult<Vec<AccountabilityView>> {
    let ids: Vec<i64> = list.iter().map(|c| c.id).collect();
    let mut events: HashMap<i64, Vec<ScoreEvent>> = HashMap::new();
    for e in rows::events_of(conn, &ids)? {
        if let Some(a) = e.accountability_id {
            events.entry(a).or_default().push(e);
        }
    }
    let codes: Vec<String> = list.iter().map(|c| c.unit_code.clone()).collect();
    let names: HashMap<String, String> = db::units::names(conn, &codes)?.into_iter().collect();
    let cids: Vec<i64> = list.iter().filter_map(|c| c.complaint_id).collect();
    let numbers: HashMap<i64, String> = complaint_rows::tracking_numbers(conn, &cids)?
        .into_iter()
        .collect();
    Ok(list
        .into_iter()
        .map(|c| AccountabilityView {
            id: c.id,
            unit: UnitRef {
                name: names.get(&c.unit_code).cloned().unwrap_or_default(),
                code: c.unit_code,
            },
            person: c.person,
            tracking_no: c.complaint_id.and_then(|i| numbers.get(&i).cloned()),
            trigger: c.trigger,
            escalation_id: c.escalation_id,
            situation: c.situation_code.as_deref().map(|code| SituationRef {
                code: code.to_owned(),
                name: catalogue
                    .find(code)
                    .map(|s| s.name.clone())
                    .unwrap_or_default(),
                aspect: catalogue
                    .find(code)
                    .map(|s| s.aspect_name.clone())
                    .unwrap_or_default(),
            }),
            reason: c.reason,
            status: c.status,
            year: c.year,
            provisional_points: points(-i64::from(c.provisional_centipoints)),
            defence_waived_at: c.defence_waived_at.map(db::from_db),
            opened_at: db::from_db(c.opened_at),
            defence_due_at: db::from_db(c.defence_due_at),
            letter_id: c.letter_id,
            defence: match (c.defence, c.defence_at) {
                (Some(content), Some(at)) => Some(DefenceView {
                    content,
                    filed_at: db::from_db(at),
                }),
                _ => None,
            },
            decision: match (c.decision, c.decided_at) {
                (Some(d), Some(at)) => Some(DecisionView {
                    decision_title: decision_title(&d),
                    decision: d,
                    points: points(-i64::from(c.decision_centipoints.unwrap_or(0))),
                    note: c.decision_note,
                    decided_at: db::from_db(at),
                }),
                _ => None,
            },
            score_events: events
                .remove(&c.id)
                .unwrap_or_default()
                .into_iter()
                .map(|e| ScoreEventView {
                    kind: e.kind,
                    points: points(i64::from(e.centipoints)),
                    year: e.year,
                    note: e.note,
                    at: db::from_db(e.created_at),
                })
                .collect(),
        })
        .collect())
}

fn view_one(
    conn: &mut DbConn,
    catalogue: &Catalogue,
    case: AccountabilityCase,
) -> AppResult<AccountabilityView> {
    Ok(views(conn, catalogue, vec![case])?.remove(0))
}

/// Accountability cases, newest first; a unit officer sees its own only.
pub fn list(
    conn: &mut DbConn,
    catalogue: &Catalogue,
    actor: &Actor,
    mut filter: AccountabilityFilter,
    tracking_no: Option<String>,
    page: i64,
    per_page: i64,
) -> AppResult<(Vec<AccountabilityView>, i64)> {
    policy::require(actor, Action::ReadAccountability)?;
    if let Some(own) = policy::unit_scope(actor) {
        filter.unit = Some(own.to_owned());
    }
    if let Some(no) = tracking_no {
        match complaint_rows::by_tracking_no(conn, &no)? {
            Some(c) => filter.complaint_id = Some(c.id),
            None => return Ok((Vec::new(), 0)),
        }
    }
    let (offset, limit) = db::page_window(page, per_page);
    let (items, total) = rows::list(conn, &filter, offset, limit)?;
    Ok((views(conn, catalogue, items)?, total))
}

/// One accountability case; another unit's is 404 to a unit officer.
pub fn get(
    conn: &mut DbConn,
    catalogue: &Catalogue,
    actor: &Actor,
    id: i64,
) -> AppResult<AccountabilityView> {
    policy::require(actor, Action::ReadAccountability)?;
    let case = rows::by_id(conn, id)?.ok_or(AppError::NotFound)?;
    if let Some(own) = policy::unit_scope(actor)
        && own != case.unit_code
    {
        return Err(AppError::NotFound);
    }
    view_one(conn, catalogue, case)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_catalogue_has_five_aspects_and_twenty_two_situations() {
        let c = Catalogue::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config"))).unwrap();
        assert_eq!(c.aspects.len(), 5);
        assert_eq!(c.situations.len(), 22);
        assert_eq!(c.find("B3").unwrap().aspect_name, "办事效率方面");
    }

    #[test]
    fn a_catalogue_with_an_unknown_aspect_or_bad_points_is_refused() {
        let base = "[[aspect]]\ncode = \"A\"\nname = \"x\"\n";
        let bad_aspect = format!(
            "{base}[[situation]]\ncode = \"Z1\"\naspect = \"Z\"\nname = \"y\"\npoints = 1.0\ndecision = \"criticism\"\n"
        );
        assert!(Catalogue::parse(&bad_aspect).is_err());
        let bad_points = format!(
            "{base}[[situation]]\ncode = \"A1\"\naspect = \"A\"\nname = \"y\"\npoints = 0.001\ndecision = \"criticism\"\n"
        );
        assert!(Catalogue::parse(&bad_points).is_err());
        let twice = format!(
            "{base}[[situation]]\ncode = \"A1\"\naspect = \"A\"\nname = \"y\"\npoints = 1.0\ndecision = \"criticism\"\n[[situation]]\ncode = \"A1\"\naspect = \"A\"\nname = \"z\"\npoints = 1.0\ndecision = \"criticism\"\n"
        );
        assert!(Catalogue::parse(&twice).is_err());
    }
}
