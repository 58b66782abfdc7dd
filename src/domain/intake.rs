//! Intake: turning a web submission or a hotline call into a complaint. The
//! complaint, its sealed identity, its first audit event and the idempotency
//! record are written in one transaction; the answer is given after commit.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use tracing::instrument;

use crate::db::complaints::{self as rows, NewComplaint, SealedIdentity};
use crate::db::{self, DbConn, categories, units};
use crate::domain::audit::{self, AuditActor};
use crate::domain::command::Fields;
use crate::domain::commands::{Complainant, CreateComplaint};
use crate::domain::env::Env;
use crate::domain::labels;
use crate::domain::privacy::{self, PiiKeys};
use crate::domain::status::Status;
use crate::domain::throttle;
use crate::error::{AppError, AppResult, Code, FieldErrors};

/// Identity of a complainant, validated and normalised; never logged.
#[derive(Clone, Debug, Default)]
pub struct Identity {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub id_number: Option<String>,
    pub address: Option<String>,
}

impl Identity {
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.phone.is_none()
            && self.email.is_none()
            && self.id_number.is_none()
            && self.address.is_none()
    }
}

/// A complaint as submitted, after validation.
#[derive(Clone, Debug)]
pub struct ComplaintInput {
    pub title: String,
    pub content: String,
    pub category: Option<String>,
    pub subject_unit: Option<String>,
    pub subject_person: Option<String>,
    pub township: Option<String>,
    pub occurred_on: Option<NaiveDate>,
    pub anonymous: bool,
    pub complainant: Identity,
    /// Where it happened as the citizen wrote it, when it names no known
    /// township or unit (Open311 `address_string`): it may be a home, so it
    /// is sealed like identity and taken out of the text the unit reads.
    pub location: Option<String>,
}

/// The fields of a complaint, and of its complainant (the form's inputs).
pub const COMPLAINT_FIELDS: &[&str] = <CreateComplaint as Fields>::NAMES;
pub const IDENTITY_FIELDS: &[&str] = <Complainant as Fields>::NAMES;

impl ComplaintInput {
    /// The complaint of a parsed command. `default_phone` (the hotline
    /// caller's number) stands in for a missing complainant phone.
    pub fn from_command(cmd: CreateComplaint, default_phone: Option<&str>) -> Self {
        let complainant = match cmd.complainant {
            Some(c) if !cmd.anonymous => Identity {
                name: Some(c.name.into_inner()),
                phone: c
                    .phone
                    .map(|p| p.into_inner())
                    .or(default_phone.map(str::to_owned)),
                email: c.email.map(|e| e.into_inner()),
                id_number: c.id_number.map(|i| i.into_inner()),
                address: c.address.map(String::from),
            },
            _ => Identity::default(),
        };
        ComplaintInput {
            title: cmd.title.into_inner(),
            content: cmd.content.into_inner(),
            category: cmd.category.map(|c| c.into_inner()),
            subject_unit: cmd.subject_unit.map(|u| u.into_inner()),
            subject_person: cmd.subject_person.map(String::from),
            township: cmd.township.map(String::from),
            occurred_on: cmd.occurred_on.map(|d| d.0),
            anonymous: cmd.anonymous,
            complainant,
            location: None,
        }
    }
}

/// Checks codes against the reference data (inside the write transaction, so
/// what is checked is what the foreign keys see).
pub fn check_references(
    conn: &mut DbConn,
    input: &ComplaintInput,
    prefix: &str,
    errors: &mut FieldErrors,
) -> db::QueryResult<()> {
    if let Some(code) = &input.category
        && !categories::exists_active(conn, code)?
    {
        errors.add(format!("{prefix}category"), Code::NotACategory);
    }
    if let Some(code) = &input.subject_unit
        && !units::exists_active(conn, code)?
    {
        errors.add(format!("{prefix}subject_unit"), Code::NotAUnit);
    }
    Ok(())
}

/// What the citizen is given once: the tracking number and the query code.
#[derive(Debug, Serialize, Clone)]
pub struct Receipt {
    pub tracking_no: String,
    pub query_code: String,
    pub status: String,
    pub received_at: DateTime<Utc>,
}

/// The counter of the tracking-number sequence for a local day.
pub fn tracking_counter(received_at: DateTime<Utc>, tz: Tz) -> (String, String) {
    let day = received_at.with_timezone(&tz).format("%Y%m%d").to_string();
    (format!("tracking:{day}"), day)
}

/// How a complaint arrived: channel, the moment it counts as received, who
/// filed it, and a tracking sequence number taken before the transaction
/// (PostgreSQL) or `None` to take it inside (SQLite).
pub struct Arrival<'a> {
    pub channel: &'a str,
    pub received_at: DateTime<Utc>,
    pub actor: &'a AuditActor,
    pub reserved: Option<i64>,
}

/// Writes a new complaint with its identity and first audit event. Runs in
/// the caller's write transaction.
#[instrument(skip_all, fields(complaint.channel = arrival.channel))]
pub fn receive(
    conn: &mut DbConn,
    env: &Env,
    input: &ComplaintInput,
    arrival: Arrival<'_>,
    now: DateTime<Utc>,
) -> AppResult<(i64, Receipt)> {
    let Arrival {
        channel,
        received_at,
        actor,
        reserved,
    } = arrival;
    let (counter, day) = tracking_counter(received_at, env.tz);
    let seq = match reserved {
        Some(n) => n,
        None => db::next_counter(conn, &counter)?,
    };
    let tracking_no = format!("{}{}{:06}", env.tracking_prefix, day, seq);
    // The unit and every letter see this text: the complainant's own identity
    // is taken out of it first.
    let id = &input.complainant;
    let own: Vec<&str> = [
        &id.name,
        &id.email,
        &id.id_number,
        &id.address,
        &input.location,
    ]
    .into_iter()
    .flatten()
    .map(String::as_str)
    .collect();
    // Where the conduct happened is the case's own fact, never removed.
    let subject_unit_name = match &input.subject_unit {
        Some(code) => units::find(conn, code)?.map(|u| u.name),
        None => None,
    };
    let places: Vec<&str> = [&input.township, &subject_unit_name]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    let title = privacy::redact(&input.title, &own, id.phone.as_deref(), &places);
    let content = privacy::redact(&input.content, &own, id.phone.as_deref(), &places);
    let query_code = privacy::new_query_code();
    let code_hash = env.keys.query_code_hash(&tracking_no, &query_code);
    let received_db = db::to_db(received_at);
    let now_db = db::to_db(now);
    let id = rows::insert(
        conn,
        &NewComplaint {
            tracking_no: &tracking_no,
            query_code_hash: &code_hash,
            channel,
            status: Status::Received.as_str(),
            title: &title,
            content: &content,
            category_code: input.category.as_deref(),
            subject_unit_code: input.subject_unit.as_deref(),
            subject_person: input.subject_person.as_deref(),
            township: input.township.as_deref(),
            occurred_on: input.occurred_on,
            anonymous: input.anonymous,
            received_at: received_db,
            created_at: now_db,
            updated_at: now_db,
        },
    )?;
    let identity = (!input.anonymous).then_some(&input.complainant);
    if identity.is_some_and(|i| !i.is_empty()) || input.location.is_some() {
        let mut sealed = seal_identity(
            &env.keys,
            id,
            &tracking_no,
            identity.unwrap_or(&Identity::default()),
        );
        sealed.location_enc = input
            .location
            .as_ref()
            .map(|l| env.keys.seal(l, &seal_context(&tracking_no, "location")));
        rows::insert_identity(conn, &sealed)?;
    }
    // Intake details are the office's; the unit reads only that the office
    // received the case (and, from its view, on which day).
    let words = audit::Words::new(format!(
        "经{}受理{}；类别：{}；被反映单位：{}",
        labels::channel_label(channel),
        if input.anonymous { "（匿名）" } else { "" },
        input.category.as_deref().unwrap_or("未选择"),
        input.subject_unit.as_deref().unwrap_or("未选择"),
    ))
    .to_unit("作风办受理本件")
    .to_public("已受理");
    audit::record_case(conn, id, &tracking_no, actor, "received", &words, now)?;
    // Routing happens in the same transaction: a routed case is stored
    // assigned, with its transfer letter queued, or not at all.
    let stored = rows::by_tracking_no(conn, &tracking_no)?.ok_or(AppError::NotFound)?;
    // Earlier cases this one may repeat go on the office's queue with it.
    let phone_hash = input
        .complainant
        .phone
        .as_ref()
        .filter(|_| !input.anonymous)
        .map(|p| env.keys.phone_hash(p));
    super::duplicates::find(conn, &env.duplicates, &stored, phone_hash.as_deref(), now)?;
    let routed = super::workflow::auto_route(conn, env, &stored, now)?;
    metrics::counter!("duban_complaints_created_total", "channel" => channel.to_owned())
        .increment(1);
    tracing::info!(complaint.id = id, "complaint received");
    Ok((
        id,
        Receipt {
            tracking_no,
            query_code,
            status: routed.status,
            received_at: db::from_db(received_db),
        },
    ))
}

/// Context string binding a sealed field to its case and field name.
pub fn seal_context(tracking_no: &str, field: &str) -> String {
    format!("{tracking_no}/{field}")
}

fn seal_identity(
    keys: &PiiKeys,
    complaint_id: i64,
    tracking_no: &str,
    id: &Identity,
) -> SealedIdentity {
    let seal = |v: &Option<String>, field: &str| {
        v.as_ref()
            .map(|s| keys.seal(s, &seal_context(tracking_no, field)))
    };
    SealedIdentity {
        complaint_id,
        name_enc: seal(&id.name, "name"),
        phone_enc: seal(&id.phone, "phone"),
        email_enc: seal(&id.email, "email"),
        id_number_enc: seal(&id.id_number, "id_number"),
        address_enc: seal(&id.address, "address"),
        phone_hash: id.phone.as_ref().map(|p| keys.phone_hash(p)),
        location_enc: None,
    }
}

/// Opens a sealed identity for a reader the policy allows.
pub fn open_identity(
    keys: &PiiKeys,
    tracking_no: &str,
    s: &SealedIdentity,
) -> anyhow::Result<Identity> {
    let open = |v: &Option<Vec<u8>>, field: &str| -> anyhow::Result<Option<String>> {
        v.as_ref()
            .map(|b| keys.open(b, &seal_context(tracking_no, field)))
            .transpose()
    };
    Ok(Identity {
        name: open(&s.name_enc, "name")?,
        phone: open(&s.phone_enc, "phone")?,
        email: open(&s.email_enc, "email")?,
        id_number: open(&s.id_number_enc, "id_number")?,
        address: open(&s.address_enc, "address")?,
    })
}

/// How a public filing arrived: its channel, the client's address (for the
/// per-address limit) and, from Open311, location text that named no known
/// place.
#[derive(Clone, Copy, Debug)]
pub struct PublicFiling<'a> {
    pub channel: &'a str,
    pub client: &'a str,
    pub location: Option<&'a str>,
}

/// Files a complaint from the public web form or the JSON API (channel
/// `web`).
pub fn submit_web(
    conn: &mut DbConn,
    env: &Env,
    cmd: CreateComplaint,
    client: &str,
    idem: Option<&super::idempotency::IdemRequest>,
    now: DateTime<Utc>,
) -> AppResult<super::idempotency::Outcome> {
    let filing = PublicFiling {
        channel: "web",
        client,
        location: None,
    };
    submit(conn, env, cmd, &filing, idem, now)
}

/// Files a complaint that arrives as a JSON body on a public channel. An
/// address that used up its filings for the window gets 429 (a retry of an
/// answered request still replays its answer); the filing counts in the
/// transaction that stores it.
pub fn submit(
    conn: &mut DbConn,
    env: &Env,
    cmd: CreateComplaint,
    filing: &PublicFiling<'_>,
    idem: Option<&super::idempotency::IdemRequest>,
    now: DateTime<Utc>,
) -> AppResult<super::idempotency::Outcome> {
    let mut input = ComplaintInput::from_command(cmd, None);
    input.location = filing.location.map(str::to_owned);
    let (counter, _) = tracking_counter(now, env.tz);
    let uses = throttle::use_key(
        &env.keys,
        &format!("file:{}", filing.channel),
        filing.client,
    );
    let limits = &env.limits;
    super::idempotency::run(
        conn,
        &env.keys,
        idem,
        now,
        201,
        |c| {
            throttle::check_uses(c, &uses, limits.per_address, limits.window, now)?;
            Ok(db::reserve_counter(c, &counter)?)
        },
        |c, reserved| {
            let mut errors = FieldErrors::new();
            check_references(c, &input, "", &mut errors)?;
            errors.finish()?;
            let arrival = Arrival {
                channel: filing.channel,
                received_at: now,
                actor: &AuditActor::public(),
                reserved,
            };
            let (_, receipt) = receive(c, env, &input, arrival, now)?;
            throttle::count_use(c, &uses, limits.window, now)?;
            Ok(serde_json::to_value(receipt).map_err(anyhow::Error::from)?)
        },
    )
}

/// Oldest a hotline call may be when logged.
pub fn hotline_window(max_age_days: i64) -> Duration {
    Duration::days(max_age_days)
}
