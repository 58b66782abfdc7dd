//! Letters (docs/architecture.md, "Letters"): numbered per kind and year
//! without gaps (the number is taken inside the transaction that creates the
//! letter), rendered from the editable templates in
//! `config/templates/letters/`, and queued for e-mail in the same
//! transaction. A letter states facts from the case's real history (which
//! steps were taken, when, under which numbers) and the date it is issued.
//! Notices are e-mails without a number, kept so the unit can read them
//! through the API.

use std::path::Path;

use anyhow::Context;
use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use minijinja::Environment;
use rand::RngCore;
use serde::Serialize;

use crate::config::{LetterSettings, SmtpSettings};
use crate::db::complaints::Complaint;
use crate::db::letters::{self as rows, Letter, NewLetter, NewOutbox};
use crate::db::units::Unit;
use crate::db::{self, DbConn};
use crate::error::{AppError, AppResult};

/// A kind of numbered letter, stored as its code in `letters.kind`, and
/// naming its template (`config/templates/letters/<code>.txt`), its number
/// prefix (`[letters]`), its counter and its Message-IDs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LetterKind {
    /// 转办单: a case sent to the unit responsible.
    Transfer,
    /// 催办函: a deadline passed.
    Reminder,
    /// 督办函: to the unit's leader, copy to the office.
    Supervision,
    /// 效能问责通知: an accountability case opened by the ladder.
    Accountability,
}

impl LetterKind {
    pub const ALL: [LetterKind; 4] = [
        LetterKind::Transfer,
        LetterKind::Reminder,
        LetterKind::Supervision,
        LetterKind::Accountability,
    ];

    pub const fn code(self) -> &'static str {
        match self {
            LetterKind::Transfer => "transfer",
            LetterKind::Reminder => "reminder",
            LetterKind::Supervision => "supervision",
            LetterKind::Accountability => "accountability",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    /// Its Chinese name, as subjects and timelines say it.
    pub const fn title(self) -> &'static str {
        match self {
            LetterKind::Transfer => "转办单",
            LetterKind::Reminder => "催办函",
            LetterKind::Supervision => "督办函",
            LetterKind::Accountability => "效能问责通知",
        }
    }
}

/// The kinds' codes (the API's `kind` filter).
pub const KINDS: &[&str] = &[
    LetterKind::Transfer.code(),
    LetterKind::Reminder.code(),
    LetterKind::Supervision.code(),
    LetterKind::Accountability.code(),
];

/// The Chinese name of a stored kind (`函` for a code the service does not
/// write).
pub fn kind_title(code: &str) -> &'static str {
    LetterKind::parse(code).map_or("函", LetterKind::title)
}

/// Templates and numbering settings, loaded once at start-up.
pub struct LetterEnv {
    templates: Environment<'static>,
    pub office_name: String,
    pub office_unit: String,
    /// Number prefixes, in the order of [`LetterKind::ALL`].
    prefixes: [String; 4],
    pub tz: Tz,
    message_id_domain: String,
}

impl std::fmt::Debug for LetterEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LetterEnv")
            .field("office_unit", &self.office_unit)
            .finish()
    }
}

impl LetterEnv {
    /// Loads `<kind>.txt` for every kind; a template that does not compile
    /// stops the start (better than a broken letter at 3 a.m.).
    pub fn load(
        config_dir: &Path,
        letters: &LetterSettings,
        smtp: &SmtpSettings,
        tz: Tz,
    ) -> anyhow::Result<Self> {
        let mut templates = Environment::new();
        templates.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        templates.set_keep_trailing_newline(true);
        for kind in LetterKind::ALL {
            let path = config_dir
                .join("templates/letters")
                .join(format!("{}.txt", kind.code()));
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            templates
                .add_template_owned(kind.code(), text)
                .with_context(|| format!("template {}", path.display()))?;
        }
        Ok(Self {
            templates,
            office_name: letters.office_name.clone(),
            office_unit: letters.office_unit.clone(),
            prefixes: LetterKind::ALL.map(|k| {
                match k {
                    LetterKind::Transfer => &letters.transfer_prefix,
                    LetterKind::Reminder => &letters.reminder_prefix,
                    LetterKind::Supervision => &letters.supervision_prefix,
                    LetterKind::Accountability => &letters.accountability_prefix,
                }
                .clone()
            }),
            tz,
            message_id_domain: smtp.message_id_domain.clone(),
        })
    }

    fn prefix(&self, kind: LetterKind) -> &str {
        &self.prefixes[kind as usize]
    }

    /// A local date as letters write it: 2026年11月27日.
    pub fn local_date(&self, t: DateTime<Utc>) -> String {
        super::labels::local_date(t, self.tz)
    }

    /// The stable Message-ID of a letter's e-mail: duplicates of one letter
    /// carry the same one and can be recognised.
    pub fn letter_message_id(&self, kind: &str, year: i32, seq: i64) -> String {
        format!("<letter.{kind}.{year}.{seq}@{}>", self.message_id_domain)
    }

    fn notice_message_id(&self) -> String {
        let mut b = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut b);
        format!(
            "<notice.{}@{}>",
            super::privacy::hex(&b),
            self.message_id_domain
        )
    }
}

/// An e-mail about a case failed for good: an open case is flagged for the
/// office, and its trail says so (the flag is part of the case's state that
/// the audit log's digests cover).
pub fn delivery_failed(conn: &mut DbConn, complaint_id: i64, now: DateTime<Utc>) -> AppResult<()> {
    use crate::domain::audit::{self, AuditActor, Words};
    crate::db::complaints::flag_delivery_failed(
        conn,
        complaint_id,
        crate::domain::status::OPEN_CODES,
    )?;
    let Some((_, tracking_no)) = crate::db::complaints::tracking_numbers(conn, &[complaint_id])?
        .into_iter()
        .next()
    else {
        return Ok(());
    };
    audit::record_case(
        conn,
        complaint_id,
        &tracking_no,
        &AuditActor::system(),
        "delivery_failed",
        &Words::new("邮件多次投递失败，案件已标记，待办公室核实承办单位邮箱后处理"),
        now,
    )?;
    Ok(())
}

/// One thing that happened to a case, as a letter states it: the local date
/// and what was done ("发出催办函（兴效催〔2026〕3号）").
#[derive(Clone, Debug, Serialize)]
pub struct Fact {
    pub date: String,
    pub text: String,
}

impl Fact {
    /// A letter of `kind` issued under `number` on `date`.
    pub fn letter(date: String, kind: LetterKind, number: &str) -> Self {
        Self {
            date,
            text: format!("发出{}（{number}）", kind.title()),
        }
    }
}

/// Facts in one sentence: "2026年12月8日发出办理期限预警通知；2026年12月10日…".
pub fn facts_text(facts: &[Fact]) -> String {
    facts
        .iter()
        .map(|f| format!("{}{}", f.date, f.text))
        .collect::<Vec<_>>()
        .join("；")
}

/// What a letter is about; `extra` adds the kind's own fields to the
/// template, `history` the steps taken on the case before this letter.
pub struct LetterRequest<'a> {
    pub kind: LetterKind,
    pub complaint: &'a Complaint,
    pub unit: &'a Unit,
    pub category_name: Option<String>,
    pub cc: Option<String>,
    pub history: Vec<Fact>,
    pub extra: serde_json::Value,
}

#[derive(Serialize)]
struct LetterContext<'a> {
    number: &'a str,
    unit_name: &'a str,
    leader_name: &'a str,
    leader_title: &'a str,
    tracking_no: &'a str,
    title: &'a str,
    content: &'a str,
    category_name: &'a str,
    subject_person: Option<&'a str>,
    office_name: &'a str,
    issued_local: String,
    /// What was done before this letter, oldest first.
    history: &'a [Fact],
    history_text: String,
    #[serde(flatten)]
    extra: &'a serde_json::Value,
}

/// An e-mail about to be queued.
#[derive(Clone)]
struct Mail {
    complaint_id: Option<i64>,
    recipient: String,
    cc: Option<String>,
    subject: String,
    body: String,
    message_id: String,
}

impl Mail {
    /// Its outbox row, due at once.
    fn outbox_row(
        &self,
        letter_id: Option<i64>,
        notice_id: Option<i64>,
        now_db: chrono::NaiveDateTime,
    ) -> NewOutbox<'_> {
        NewOutbox {
            letter_id,
            notice_id,
            complaint_id: self.complaint_id,
            recipient: &self.recipient,
            cc: self.cc.as_deref(),
            subject: &self.subject,
            body: &self.body,
            message_id: &self.message_id,
            status: "pending",
            attempts: 0,
            next_attempt_at: now_db,
            created_at: now_db,
        }
    }
}

/// A letter rendered under its number, ready to store and send.
struct Drafted {
    kind: LetterKind,
    year: i32,
    seq: i64,
    number: String,
    unit_code: String,
    mail: Mail,
}

fn draft(
    env: &LetterEnv,
    req: &LetterRequest<'_>,
    year: i32,
    seq: i64,
    now: DateTime<Utc>,
) -> AppResult<Drafted> {
    let number = format!("{}〔{year}〕{seq}号", env.prefix(req.kind));
    let c = req.complaint;
    let ctx = LetterContext {
        number: &number,
        unit_name: &req.unit.name,
        leader_name: &req.unit.leader_name,
        leader_title: &req.unit.leader_title,
        tracking_no: &c.tracking_no,
        title: &c.title,
        content: &c.content,
        category_name: req.category_name.as_deref().unwrap_or("未分类"),
        subject_person: c.subject_person.as_deref(),
        office_name: &env.office_name,
        issued_local: env.local_date(now),
        history: &req.history,
        history_text: facts_text(&req.history),
        extra: &req.extra,
    };
    let body = env
        .templates
        .get_template(req.kind.code())
        .and_then(|t| t.render(&ctx))
        .map_err(|e| {
            AppError::Internal(anyhow::anyhow!("letter template {}: {e}", req.kind.code()))
        })?;
    let subject = format!(
        "【{}】{} 受理编号{}",
        req.kind.title(),
        number,
        c.tracking_no
    );
    Ok(Drafted {
        kind: req.kind,
        year,
        seq,
        number,
        unit_code: req.unit.code.clone(),
        mail: Mail {
            complaint_id: Some(c.id),
            recipient: req.unit.email.clone(),
            cc: req.cc.clone(),
            subject,
            body,
            message_id: env.letter_message_id(req.kind.code(), year, seq),
        },
    })
}

/// Stores drafted letters and queues their e-mails; ids in draft order.
fn store(conn: &mut DbConn, drafts: &[Drafted], now: DateTime<Utc>) -> AppResult<Vec<i64>> {
    let now_db = db::to_db(now);
    let ids = rows::insert_many(
        conn,
        &drafts
            .iter()
            .map(|d| NewLetter {
                kind: d.kind.code(),
                year: d.year,
                seq: d.seq,
                number: &d.number,
                complaint_id: d.mail.complaint_id,
                unit_code: &d.unit_code,
                recipient: &d.mail.recipient,
                subject: &d.mail.subject,
                body: &d.mail.body,
                created_at: now_db,
            })
            .collect::<Vec<_>>(),
    )?;
    rows::enqueue_many(
        conn,
        &drafts
            .iter()
            .zip(&ids)
            .map(|(d, id)| d.mail.outbox_row(Some(*id), None, now_db))
            .collect::<Vec<_>>(),
    )?;
    for d in drafts {
        metrics::counter!("duban_letters_issued_total", "kind" => d.kind.code()).increment(1);
    }
    Ok(ids)
}

fn counter_name(kind: LetterKind, year: i32) -> String {
    format!("letter:{}:{year}", kind.code())
}

/// Issues a letter: takes the next number of its kind and year, renders it,
/// stores it and queues its e-mail — all in the caller's transaction.
/// Returns the letter's id.
pub fn issue(
    conn: &mut DbConn,
    env: &LetterEnv,
    req: LetterRequest<'_>,
    now: DateTime<Utc>,
) -> AppResult<i64> {
    let year = now.with_timezone(&env.tz).year();
    let seq = db::next_counter(conn, &counter_name(req.kind, year))?;
    let d = draft(env, &req, year, seq, now)?;
    Ok(store(conn, std::slice::from_ref(&d), now)?[0])
}

/// Issues several letters at once, as the escalation sweep does: the numbers
/// of each kind are taken together in one statement, then all letters and
/// e-mails are written in a few statements. Call it last in the
/// transaction: the counter rows stay locked until commit. Returns the new
/// letters' ids in the order of `reqs`.
pub fn issue_many(
    conn: &mut DbConn,
    env: &LetterEnv,
    reqs: &[LetterRequest<'_>],
    now: DateTime<Utc>,
) -> AppResult<Vec<i64>> {
    let year = now.with_timezone(&env.tz).year();
    let mut next: std::collections::HashMap<LetterKind, i64> = std::collections::HashMap::new();
    for kind in LetterKind::ALL {
        let n = reqs.iter().filter(|r| r.kind == kind).count() as i64;
        if n > 0 {
            next.insert(kind, db::take_counter(conn, &counter_name(kind, year), n)?);
        }
    }
    let mut drafts: Vec<Drafted> = Vec::with_capacity(reqs.len());
    for req in reqs {
        let seq = next.get_mut(&req.kind).ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("no number taken for {}", req.kind.code()))
        })?;
        // A letter states the letters this batch issued on the same case
        // before it (a sweep that finds a reminder and a supervision due at
        // once issues both, the second citing the first).
        let mut history = req.history.clone();
        history.extend(
            drafts
                .iter()
                .filter(|d| d.mail.complaint_id == Some(req.complaint.id))
                .map(|d| Fact::letter(env.local_date(now), d.kind, &d.number)),
        );
        let req = LetterRequest {
            history,
            kind: req.kind,
            complaint: req.complaint,
            unit: req.unit,
            category_name: req.category_name.clone(),
            cc: req.cc.clone(),
            extra: req.extra.clone(),
        };
        drafts.push(draft(env, &req, year, *seq, now)?);
        *seq += 1;
    }
    store(conn, &drafts, now)
}

/// The numbers of letters just issued, by id (for the sweep's report and
/// the audit lines written after numbering).
pub fn numbers(
    conn: &mut DbConn,
    ids: &[i64],
) -> AppResult<std::collections::HashMap<i64, String>> {
    Ok(rows::numbers(conn, ids)?.into_iter().collect())
}

/// What a notice is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticeKind {
    DeadlineWarning,
    RedoOrdered,
    ExtensionApproved,
    ExtensionDenied,
    ReturnDenied,
    Reopened,
    AccountabilityOpened,
    AccountabilityDecided,
    /// To the office: strangers are guessing at a case's query code.
    TrackingAlert,
    /// The office withdrew a case it had sent (voided as invalid).
    Withdrawn,
    /// The office sends the unit facts added to a case after intake.
    Supplement,
}

impl NoticeKind {
    pub const ALL: [NoticeKind; 11] = [
        NoticeKind::DeadlineWarning,
        NoticeKind::RedoOrdered,
        NoticeKind::ExtensionApproved,
        NoticeKind::ExtensionDenied,
        NoticeKind::ReturnDenied,
        NoticeKind::Reopened,
        NoticeKind::AccountabilityOpened,
        NoticeKind::AccountabilityDecided,
        NoticeKind::TrackingAlert,
        NoticeKind::Withdrawn,
        NoticeKind::Supplement,
    ];

    /// The stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::DeadlineWarning => "deadline_warning",
            NoticeKind::RedoOrdered => "redo_ordered",
            NoticeKind::ExtensionApproved => "extension_approved",
            NoticeKind::ExtensionDenied => "extension_denied",
            NoticeKind::ReturnDenied => "return_denied",
            NoticeKind::Reopened => "reopened",
            NoticeKind::AccountabilityOpened => "accountability_opened",
            NoticeKind::AccountabilityDecided => "accountability_decided",
            NoticeKind::TrackingAlert => "tracking_alert",
            NoticeKind::Withdrawn => "withdrawn",
            NoticeKind::Supplement => "supplement",
        }
    }

    /// The notice's subject line.
    pub fn title(self) -> &'static str {
        match self {
            NoticeKind::DeadlineWarning => "办理期限预警",
            NoticeKind::RedoOrdered => "责令重办",
            NoticeKind::ExtensionApproved => "延期申请已批准",
            NoticeKind::ExtensionDenied => "延期申请未获批准",
            NoticeKind::ReturnDenied => "退回申请未获同意",
            NoticeKind::Reopened => "案件重新办理",
            NoticeKind::AccountabilityOpened => "启动效能问责程序",
            NoticeKind::AccountabilityDecided => "效能问责决定",
            NoticeKind::TrackingAlert => "查询码多次输入错误提醒",
            NoticeKind::Withdrawn => "撤销交办",
            NoticeKind::Supplement => "补充情况",
        }
    }
}

/// Queues a notice (an e-mail without a letter number) to a unit.
pub fn notice(
    conn: &mut DbConn,
    env: &LetterEnv,
    complaint: &Complaint,
    unit: &Unit,
    kind: NoticeKind,
    body: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    notice_about(conn, env, Some(complaint), unit, None, kind, body, now)
}

/// A notice ready to queue: an e-mail without a letter number, and its
/// record for the unit's notice list.
pub struct NoticeDraft {
    mail: Mail,
    kind: NoticeKind,
    unit_code: String,
}

/// Words a notice to a unit about a case, or about no case (an
/// accountability procedure opened by hand), with an optional copy.
#[allow(clippy::too_many_arguments)]
pub fn draft_notice(
    env: &LetterEnv,
    complaint: Option<&Complaint>,
    unit: &Unit,
    cc: Option<&str>,
    kind: NoticeKind,
    body: &str,
    now: DateTime<Utc>,
) -> NoticeDraft {
    let subject = kind.title();
    let (subject, reference) = match complaint {
        Some(c) => (
            format!("【督办通知】{subject} 受理编号{}", c.tracking_no),
            format!("\n\n受理编号：{}", c.tracking_no),
        ),
        None => (format!("【督办通知】{subject}"), String::new()),
    };
    NoticeDraft {
        mail: Mail {
            complaint_id: complaint.map(|c| c.id),
            recipient: unit.email.clone(),
            cc: cc.map(str::to_owned),
            body: format!(
                "{}：\n\n{body}{reference}\n\n{}\n{}\n",
                unit.name,
                env.office_name,
                env.local_date(now)
            ),
            subject,
            message_id: env.notice_message_id(),
        },
        kind,
        unit_code: unit.code.clone(),
    }
}

/// Stores drafted notices for the units to read and queues their e-mails
/// (the same text), in few statements whatever their number.
pub fn queue_notices(
    conn: &mut DbConn,
    drafts: &[NoticeDraft],
    now: DateTime<Utc>,
) -> AppResult<()> {
    if drafts.is_empty() {
        return Ok(());
    }
    let now_db = db::to_db(now);
    let records: Vec<crate::db::notices::NewNotice<'_>> = drafts
        .iter()
        .map(|d| crate::db::notices::NewNotice {
            unit_code: &d.unit_code,
            complaint_id: d.mail.complaint_id,
            kind: d.kind.as_str(),
            subject: &d.mail.subject,
            body: &d.mail.body,
            message_id: &d.mail.message_id,
            created_at: now_db,
        })
        .collect();
    let ids = crate::db::notices::insert_many(conn, &records)?;
    let rows_to_queue: Vec<NewOutbox<'_>> = drafts
        .iter()
        .zip(&ids)
        .map(|(d, id)| d.mail.outbox_row(None, Some(*id), now_db))
        .collect();
    rows::enqueue_many(conn, &rows_to_queue)?;
    for d in drafts {
        metrics::counter!("duban_notices_sent_total", "kind" => d.kind.as_str()).increment(1);
    }
    Ok(())
}

/// Queues a notice to a unit about a case, or about no case, with an
/// optional copy.
#[allow(clippy::too_many_arguments)]
pub fn notice_about(
    conn: &mut DbConn,
    env: &LetterEnv,
    complaint: Option<&Complaint>,
    unit: &Unit,
    cc: Option<&str>,
    kind: NoticeKind,
    body: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let d = draft_notice(env, complaint, unit, cc, kind, body, now);
    queue_notices(conn, std::slice::from_ref(&d), now)
}

/// A letter as staff and units read it, with its delivery state.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LetterView {
    pub id: i64,
    pub number: String,
    pub kind: String,
    pub kind_title: &'static str,
    pub unit: String,
    pub tracking_no: Option<String>,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    /// Set when the office voided the case and withdrew its letters.
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub delivery: Delivery,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Delivery {
    /// `pending`, `sent`, `failed`, or `cancelled` (withdrawn before it
    /// went out).
    pub state: String,
    pub attempts: i32,
    pub sent_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub message_id: Option<String>,
}

fn views(conn: &mut DbConn, list: Vec<Letter>) -> AppResult<Vec<LetterView>> {
    let ids: Vec<i64> = list.iter().map(|l| l.id).collect();
    let outbox = rows::deliveries(conn, &ids)?;
    let complaint_ids: Vec<i64> = list.iter().filter_map(|l| l.complaint_id).collect();
    let numbers: std::collections::HashMap<i64, String> =
        db::complaints::tracking_numbers(conn, &complaint_ids)?
            .into_iter()
            .collect();
    Ok(list
        .into_iter()
        .map(|l| {
            let rows: Vec<_> = outbox
                .iter()
                .filter(|o| o.letter_id == Some(l.id))
                .collect();
            let state = if rows.iter().any(|o| o.status == "failed") {
                "failed"
            } else if !rows.is_empty() && rows.iter().all(|o| o.status == "sent") {
                "sent"
            } else if rows.iter().any(|o| o.status == "cancelled") {
                "cancelled"
            } else {
                "pending"
            };
            let delivery = Delivery {
                state: state.into(),
                attempts: rows.iter().map(|o| o.attempts).sum(),
                sent_at: rows.iter().filter_map(|o| o.sent_at).max().map(db::from_db),
                last_error: rows.iter().rev().find_map(|o| o.last_error.clone()),
                message_id: rows.first().map(|o| o.message_id.clone()),
            };
            LetterView {
                id: l.id,
                kind_title: kind_title(&l.kind),
                number: l.number,
                kind: l.kind,
                unit: l.unit_code,
                tracking_no: l.complaint_id.and_then(|id| numbers.get(&id).cloned()),
                recipient: l.recipient,
                subject: l.subject,
                body: l.body,
                created_at: db::from_db(l.created_at),
                withdrawn_at: l.withdrawn_at.map(db::from_db),
                delivery,
            }
        })
        .collect())
}

/// Letters, newest first; a unit officer sees its own unit's only.
pub fn list_letters(
    conn: &mut DbConn,
    actor: &crate::auth::Actor,
    mut filter: rows::LetterFilter,
    page: i64,
    per_page: i64,
) -> AppResult<(Vec<LetterView>, i64)> {
    crate::auth::policy::require(actor, crate::auth::policy::Action::ReadLetters)?;
    if let Some(own) = crate::auth::policy::unit_scope(actor) {
        filter.unit = Some(own.to_owned());
    }
    let (offset, limit) = db::page_window(page, per_page);
    let (list, total) = rows::list(conn, &filter, offset, limit)?;
    Ok((views(conn, list)?, total))
}

/// One letter; another unit's letter is 404 to a unit officer.
pub fn get_letter(conn: &mut DbConn, actor: &crate::auth::Actor, id: i64) -> AppResult<LetterView> {
    crate::auth::policy::require(actor, crate::auth::policy::Action::ReadLetters)?;
    let letter = rows::by_id(conn, id)?.ok_or(AppError::NotFound)?;
    if let Some(own) = crate::auth::policy::unit_scope(actor)
        && own != letter.unit_code
    {
        return Err(AppError::NotFound);
    }
    Ok(views(conn, vec![letter])?.remove(0))
}

/// The letters of one case, for its view.
pub fn for_complaint(conn: &mut DbConn, complaint_id: i64) -> AppResult<Vec<LetterView>> {
    let filter = rows::LetterFilter {
        complaint_id: Some(complaint_id),
        ..Default::default()
    };
    let (list, _) = rows::list(conn, &filter, 0, 1_000)?;
    views(conn, list)
}

#[cfg(test)]
mod kind_tests {
    use super::*;

    #[test]
    fn each_kind_is_stored_as_its_code_and_has_a_template() {
        let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        for (i, kind) in LetterKind::ALL.into_iter().enumerate() {
            assert_eq!(LetterKind::parse(kind.code()), Some(kind));
            assert_eq!(KINDS[i], kind.code());
            assert_eq!(kind_title(kind.code()), kind.title());
            let template = config
                .join("templates/letters")
                .join(format!("{}.txt", kind.code()));
            assert!(template.is_file(), "{}", template.display());
        }
        assert_eq!(LetterKind::parse("memo"), None);
        assert_eq!(kind_title("memo"), "函");
    }
}
