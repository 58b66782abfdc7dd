//! `complaints` and `complainants`. The identity row is written and read only
//! through the functions marked as such; nothing else joins it.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::DbConn;
use super::schema::{complainants, complaints};
use crate::domain::status::{Flag, Status};

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = complaints)]
pub struct Complaint {
    pub id: i64,
    pub tracking_no: String,
    pub query_code_hash: String,
    pub channel: String,
    pub status: String,
    pub title: String,
    pub content: String,
    pub category_code: Option<String>,
    pub subject_unit_code: Option<String>,
    pub subject_person: Option<String>,
    pub township: Option<String>,
    pub occurred_on: Option<NaiveDate>,
    pub anonymous: bool,
    pub responsible_unit_code: Option<String>,
    pub public_reply: Option<String>,
    pub received_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub ack_due_at: Option<NaiveDateTime>,
    pub due_at: Option<NaiveDateTime>,
    pub acknowledged_at: Option<NaiveDateTime>,
    pub return_requested: bool,
    pub delivery_failed: bool,
    pub duplicate_of: Option<String>,
    pub screen_reason: Option<String>,
    pub satisfaction: Option<String>,
    pub needs_confirmation: bool,
    /// The current deadlines were counted over a provisional calendar year.
    pub calendar_provisional: bool,
    /// An extension request waits for the office.
    pub extension_requested: bool,
    /// Why the case waits for a supervisor (`needs_confirmation`).
    pub hold_reason: Option<String>,
    /// A progress note the unit marked public waits for the office.
    pub note_awaiting_approval: bool,
    /// Times the citizen called to chase the case (催办).
    pub follow_ups: i32,
    /// Intake found earlier cases this one may repeat.
    pub possible_duplicate: bool,
    /// The citizen is unsatisfied with the closed case: reopen or not.
    pub reopen_review: bool,
    /// The callback of a closed case: `due`, `reached`, `refused`,
    /// `unreachable`, `not_possible`.
    pub callback_status: Option<String>,
    pub callback_due_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = complaints)]
pub struct NewComplaint<'a> {
    pub tracking_no: &'a str,
    pub query_code_hash: &'a str,
    pub channel: &'a str,
    pub status: &'a str,
    pub title: &'a str,
    pub content: &'a str,
    pub category_code: Option<&'a str>,
    pub subject_unit_code: Option<&'a str>,
    pub subject_person: Option<&'a str>,
    pub township: Option<&'a str>,
    pub occurred_on: Option<NaiveDate>,
    pub anonymous: bool,
    pub received_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Sealed identity of a complainant.
#[derive(Clone, Debug, Default, Queryable, Selectable, Insertable)]
#[diesel(table_name = complainants)]
pub struct SealedIdentity {
    pub complaint_id: i64,
    pub name_enc: Option<Vec<u8>>,
    pub phone_enc: Option<Vec<u8>>,
    pub email_enc: Option<Vec<u8>>,
    pub id_number_enc: Option<Vec<u8>>,
    pub address_enc: Option<Vec<u8>>,
    pub phone_hash: Option<String>,
    /// Where something happened as the citizen wrote it, when it names no
    /// known township or unit (Open311 `address_string`): sealed.
    pub location_enc: Option<Vec<u8>>,
}

pub fn insert(conn: &mut DbConn, new: &NewComplaint<'_>) -> QueryResult<i64> {
    diesel::insert_into(complaints::table)
        .values(new)
        .returning(complaints::id)
        .get_result(conn)
}

pub fn insert_identity(conn: &mut DbConn, sealed: &SealedIdentity) -> QueryResult<()> {
    diesel::insert_into(complainants::table)
        .values(sealed)
        .execute(conn)
        .map(|_| ())
}

/// Reads the sealed identity. Callers must have checked the policy and must
/// write the audit event for the read.
pub fn identity(conn: &mut DbConn, complaint_id: i64) -> QueryResult<Option<SealedIdentity>> {
    complainants::table
        .find(complaint_id)
        .select(SealedIdentity::as_select())
        .first(conn)
        .optional()
}

/// Whether the case's sealed identity holds a phone number.
pub fn has_phone(conn: &mut DbConn, complaint_id: i64) -> QueryResult<bool> {
    complainants::table
        .find(complaint_id)
        .filter(complainants::phone_enc.is_not_null())
        .count()
        .get_result::<i64>(conn)
        .map(|n| n > 0)
}

/// Adds one to the times the citizen chased the case; the new count.
pub fn add_follow_up(conn: &mut DbConn, id: i64) -> QueryResult<i32> {
    diesel::update(complaints::table.find(id))
        .set(complaints::follow_ups.eq(complaints::follow_ups + 1))
        .returning(complaints::follow_ups)
        .get_result(conn)
}

/// Marks or clears the possible-duplicate flag.
pub fn set_possible_duplicate(conn: &mut DbConn, id: i64, value: bool) -> QueryResult<()> {
    diesel::update(complaints::table.find(id))
        .set(complaints::possible_duplicate.eq(value))
        .execute(conn)
        .map(|_| ())
}

/// Marks or clears the flag asking the office whether to reopen.
pub fn set_reopen_review(conn: &mut DbConn, id: i64, value: bool) -> QueryResult<()> {
    diesel::update(complaints::table.find(id))
        .set(complaints::reopen_review.eq(value))
        .execute(conn)
        .map(|_| ())
}

pub fn by_id(conn: &mut DbConn, id: i64) -> QueryResult<Option<Complaint>> {
    complaints::table
        .find(id)
        .select(Complaint::as_select())
        .first(conn)
        .optional()
}

/// Several cases by id, in id order.
pub fn by_ids(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<Complaint>> {
    complaints::table
        .filter(complaints::id.eq_any(ids))
        .order(complaints::id.asc())
        .select(Complaint::as_select())
        .load(conn)
}

/// A tracking number as people type it — any case, spaces around — in the
/// stored form. Every look-up by tracking number goes through this.
pub fn normalise_tracking_no(tracking_no: &str) -> String {
    tracking_no.trim().to_ascii_uppercase()
}

pub fn by_tracking_no(conn: &mut DbConn, tracking_no: &str) -> QueryResult<Option<Complaint>> {
    if !storable(tracking_no) {
        return Ok(None);
    }
    complaints::table
        .filter(complaints::tracking_no.eq(normalise_tracking_no(tracking_no)))
        .select(Complaint::as_select())
        .first(conn)
        .optional()
}

/// Whether a text could be a stored value at all. PostgreSQL refuses a NUL
/// byte in any text parameter (an error, so a 500), while no tracking number
/// can hold one: such a value is simply not found.
pub fn storable(text: &str) -> bool {
    !text.contains('\0')
}

/// Filters of the staff list. `unit` restricts to a responsible unit.
#[derive(Debug, Default, Clone)]
pub struct ComplaintFilter {
    pub status: Option<String>,
    pub unit: Option<String>,
    pub subject_unit: Option<String>,
    pub category: Option<String>,
    pub channel: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    pub q: Option<String>,
    /// `Some(now)`: only open cases past a deadline at `now`.
    pub overdue_at: Option<NaiveDateTime>,
    /// Cases waiting for the office: see [`Flag`].
    pub flag: Option<Flag>,
}

/// The statuses in which a case can be overdue, as the partial indexes
/// `complaints_queue_overdue` and `…_ack_overdue` state them (a condition
/// must repeat this text for SQLite to use them).
pub const OVERDUE_STATUS: &str = "complaints.status IN ('assigned', 'in_progress')";

/// Changes to a case's row. `None` leaves a column as it is; for a
/// nullable column `Some(None)` clears it.
#[derive(AsChangeset, Default)]
#[diesel(table_name = complaints)]
pub struct CaseChanges<'a> {
    pub status: Option<&'a str>,
    pub responsible_unit_code: Option<Option<&'a str>>,
    pub ack_due_at: Option<Option<NaiveDateTime>>,
    pub due_at: Option<Option<NaiveDateTime>>,
    pub acknowledged_at: Option<Option<NaiveDateTime>>,
    pub return_requested: Option<bool>,
    pub duplicate_of: Option<Option<&'a str>>,
    pub screen_reason: Option<Option<&'a str>>,
    pub satisfaction: Option<Option<&'a str>>,
    pub needs_confirmation: Option<bool>,
    pub next_escalation_at: Option<Option<NaiveDateTime>>,
    pub calendar_provisional: Option<bool>,
    pub extension_requested: Option<bool>,
    pub hold_reason: Option<Option<&'a str>>,
    pub note_awaiting_approval: Option<bool>,
    pub public_reply: Option<Option<&'a str>>,
    pub reopen_review: Option<bool>,
    pub updated_at: Option<NaiveDateTime>,
}

/// Applies `changes` to case `id`.
pub fn update(conn: &mut DbConn, id: i64, changes: &CaseChanges<'_>) -> QueryResult<()> {
    diesel::update(complaints::table.find(id))
        .set(changes)
        .execute(conn)
        .map(|_| ())
}

/// Takes the row lock of the case `tracking_no` until the transaction ends
/// (PostgreSQL `FOR UPDATE`; a SQLite write transaction holds the whole
/// database already).
pub fn lock(conn: &mut DbConn, tracking_no: &str) -> QueryResult<()> {
    if let DbConn::Pg(pg) = conn {
        diesel::sql_query("SELECT id FROM complaints WHERE tracking_no = $1 FOR UPDATE")
            .bind::<diesel::sql_types::Text, _>(tracking_no)
            .execute(pg)?;
    }
    Ok(())
}

/// Filings through `channels` naming `unit` as the subject unit since
/// `since`, counted up to `cap` (on the index of subject unit and time).
pub fn count_naming(
    conn: &mut DbConn,
    unit: &str,
    channels: &[&str],
    since: NaiveDateTime,
    cap: i64,
) -> QueryResult<i64> {
    let ids: Vec<i64> = complaints::table
        .filter(complaints::subject_unit_code.eq(unit))
        .filter(complaints::received_at.ge(since))
        .filter(complaints::channel.eq_any(channels))
        .select(complaints::id)
        .limit(cap)
        .load(conn)?;
    Ok(ids.len() as i64)
}

/// Flags an open case whose letter could not be delivered (a closed,
/// rejected or merged case asks nothing more of the office).
pub fn flag_delivery_failed(conn: &mut DbConn, id: i64, open: &[&str]) -> QueryResult<()> {
    diesel::update(
        complaints::table
            .find(id)
            .filter(complaints::status.eq_any(open)),
    )
    .set(complaints::delivery_failed.eq(true))
    .execute(conn)
    .map(|_| ())
}

/// Clears every flag that asks the office to act when the case is no longer
/// in one of `open` (rejected, merged or closed cases ask nothing more).
pub fn clear_flags_unless_open(conn: &mut DbConn, id: i64, open: &[&str]) -> QueryResult<()> {
    diesel::update(
        complaints::table
            .find(id)
            .filter(complaints::status.ne_all(open)),
    )
    .set((
        complaints::needs_confirmation.eq(false),
        complaints::return_requested.eq(false),
        complaints::extension_requested.eq(false),
        complaints::delivery_failed.eq(false),
        complaints::note_awaiting_approval.eq(false),
        complaints::possible_duplicate.eq(false),
    ))
    .execute(conn)
    .map(|_| ())
}

fn filtered<'a>(f: &'a ComplaintFilter) -> complaints::BoxedQuery<'a, super::MultiBackend> {
    let mut q = complaints::table.into_boxed();
    if let Some(s) = &f.status {
        q = q.filter(complaints::status.eq(s));
    }
    if let Some(u) = &f.unit {
        q = q.filter(complaints::responsible_unit_code.eq(u));
    }
    if let Some(u) = &f.subject_unit {
        q = q.filter(complaints::subject_unit_code.eq(u));
    }
    if let Some(c) = &f.category {
        q = q.filter(complaints::category_code.eq(c));
    }
    if let Some(c) = &f.channel {
        q = q.filter(complaints::channel.eq(c));
    }
    if let Some(from) = f.from {
        q = q.filter(complaints::received_at.ge(from));
    }
    if let Some(to) = f.to {
        q = q.filter(complaints::received_at.lt(to));
    }
    if let Some(now) = f.overdue_at {
        // As the queue's overdue buckets: each half of the condition is
        // served by its own partial index (migration 000009), whose
        // condition it repeats in literal SQL.
        let open = || diesel::dsl::sql::<diesel::sql_types::Bool>(OVERDUE_STATUS);
        q = q.filter(
            open().and(complaints::due_at.lt(now)).or(open()
                .and(complaints::acknowledged_at.is_null())
                .and(complaints::ack_due_at.lt(now))),
        );
    }
    // The flags as bare columns, not `= $n`: a partial index `WHERE flag`
    // serves only a condition that names the column itself.
    match f.flag {
        Some(Flag::ReturnRequested) => q = q.filter(complaints::return_requested),
        Some(Flag::NeedsConfirmation) => q = q.filter(complaints::needs_confirmation),
        Some(Flag::DeliveryFailed) => q = q.filter(complaints::delivery_failed),
        Some(Flag::ExtensionRequested) => q = q.filter(complaints::extension_requested),
        Some(Flag::ReportAwaitingReview) => {
            q = q.filter(complaints::status.eq(Status::Reported.as_str()))
        }
        Some(Flag::NoteAwaitingApproval) => q = q.filter(complaints::note_awaiting_approval),
        Some(Flag::Unsatisfied) => {
            q = q
                .filter(complaints::status.eq(Status::Closed.as_str()))
                .filter(complaints::satisfaction.eq("unsatisfied"))
        }
        None => {}
    }
    if let Some(text) = &f.q {
        let pattern = format!("%{}%", escape_like(text));
        q = q.filter(
            complaints::title
                .like(pattern.clone())
                .escape('\\')
                .or(complaints::content.like(pattern.clone()).escape('\\'))
                .or(complaints::tracking_no.like(pattern).escape('\\')),
        );
    }
    q
}

/// Escapes LIKE wildcards so user text matches literally.
fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Where a page of the case list starts: just after this case, in the
/// list's order (newest first: `received_at`, then `id`, descending). A
/// page read this way costs the same however deep it is, and a case filed
/// meanwhile neither shifts the pages nor appears twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub received_at: NaiveDateTime,
    pub id: i64,
}

impl Cursor {
    pub fn of(c: &Complaint) -> Self {
        Self {
            received_at: c.received_at,
            id: c.id,
        }
    }

    /// The `next_cursor` text: `<received_at in µs since 1970>.<id>`.
    pub fn encode(&self) -> String {
        format!(
            "{}.{}",
            self.received_at.and_utc().timestamp_micros(),
            self.id
        )
    }

    pub fn decode(s: &str) -> Option<Self> {
        let (micros, id) = s.split_once('.')?;
        let received_at =
            chrono::DateTime::from_timestamp_micros(micros.parse().ok()?)?.naive_utc();
        let id = id.parse().ok().filter(|n: &i64| *n > 0)?;
        Some(Self { received_at, id })
    }
}

/// Which cases of the list a page holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// Skip this many (the first pages, by number).
    Offset(i64),
    /// The cases after this one.
    After(Cursor),
}

/// A list's total is counted up to this many cases; beyond, the answer says
/// "at least" rather than count a million rows on every page.
pub const TOTAL_CAP: i64 = 10_000;

/// How many cases a list holds: exact up to [`TOTAL_CAP`], else the cap
/// with `exact` false.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Total {
    pub count: i64,
    pub exact: bool,
}

pub fn list(
    conn: &mut DbConn,
    f: &ComplaintFilter,
    window: Window,
    limit: i64,
) -> QueryResult<(Vec<Complaint>, Total)> {
    // Both planners would serve the order from `complaints_received` and test
    // every case against a rare condition (overdue, a flag), newest first: a
    // million rows read when the matching cases are old (1,061 ms on
    // PostgreSQL, 3.2 s on SQLite, with a million cases). An order by an
    // expression (`+t` on SQLite, `t + interval '0 seconds'` on PostgreSQL)
    // keeps it off that index, so the condition's own (partial) indexes are
    // read and their few cases sorted (40 ms).
    let rare = f.overdue_at.is_some() || f.flag.is_some();
    let mut q = if rare {
        let unindexed = match conn {
            DbConn::Sqlite(_) => "+complaints.received_at",
            DbConn::Pg(_) => "complaints.received_at + interval '0 seconds'",
        };
        filtered(f).order((
            diesel::dsl::sql::<diesel::sql_types::Timestamp>(unindexed).desc(),
            complaints::id.desc(),
        ))
    } else {
        filtered(f).order((complaints::received_at.desc(), complaints::id.desc()))
    };
    q = match window {
        Window::Offset(offset) => q.offset(offset),
        // `received_at <= t` first, so that the index is entered at the
        // cursor (an OR alone is tested row by row).
        Window::After(c) => q.filter(
            complaints::received_at.le(c.received_at).and(
                complaints::received_at
                    .lt(c.received_at)
                    .or(complaints::id.lt(c.id)),
            ),
        ),
    };
    let items = q.limit(limit).select(Complaint::as_select()).load(conn)?;
    // The total: the first page, if not full, is the whole list; otherwise
    // at most TOTAL_CAP + 1 ids are read, from the filter's index.
    let total = if window == Window::Offset(0) && (items.len() as i64) < limit {
        Total {
            count: items.len() as i64,
            exact: true,
        }
    } else {
        let ids: Vec<i64> = filtered(f)
            .select(complaints::id)
            .limit(TOTAL_CAP + 1)
            .load(conn)?;
        let n = ids.len() as i64;
        Total {
            count: n.min(TOTAL_CAP),
            exact: n <= TOTAL_CAP,
        }
    };
    Ok((items, total))
}

/// The columns of a case the CSV export writes (no identity, no text
/// beyond the title): an export reads only these.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = complaints)]
pub struct ExportRow {
    pub id: i64,
    pub tracking_no: String,
    pub channel: String,
    pub status: String,
    pub received_at: NaiveDateTime,
    pub category_code: Option<String>,
    pub subject_unit_code: Option<String>,
    pub subject_person: Option<String>,
    pub township: Option<String>,
    pub title: String,
    pub responsible_unit_code: Option<String>,
    pub ack_due_at: Option<NaiveDateTime>,
    pub acknowledged_at: Option<NaiveDateTime>,
    pub due_at: Option<NaiveDateTime>,
    pub satisfaction: Option<String>,
    pub return_requested: bool,
    pub delivery_failed: bool,
}

/// The next `limit` cases after `after_id` in id order (an export walks the
/// whole list this way without offsets).
pub fn after(
    conn: &mut DbConn,
    f: &ComplaintFilter,
    after_id: i64,
    limit: i64,
) -> QueryResult<Vec<ExportRow>> {
    filtered(f)
        .filter(complaints::id.gt(after_id))
        .order(complaints::id.asc())
        .limit(limit)
        .select(ExportRow::as_select())
        .load(conn)
}

pub fn tracking_numbers(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<(i64, String)>> {
    complaints::table
        .filter(complaints::id.eq_any(ids))
        .select((complaints::id, complaints::tracking_no))
        .load(conn)
}

/// The public Open311 query (GeoReport v2 `GET requests`). Every `Some` list
/// restricts to its values; the time range is on `received_at`, both ends
/// inclusive.
#[derive(Debug, Default, Clone)]
pub struct PublicQuery {
    pub tracking_nos: Option<Vec<String>>,
    pub categories: Option<Vec<String>>,
    pub statuses: Option<Vec<String>>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
}

/// Cases matching `q`, newest first, at most `limit`.
pub fn public_list(conn: &mut DbConn, q: &PublicQuery, limit: i64) -> QueryResult<Vec<Complaint>> {
    let mut query = complaints::table.into_boxed();
    if let Some(nos) = &q.tracking_nos {
        query = query.filter(complaints::tracking_no.eq_any(nos));
    }
    if let Some(codes) = &q.categories {
        query = query.filter(complaints::category_code.eq_any(codes));
    }
    if let Some(statuses) = &q.statuses {
        query = query.filter(complaints::status.eq_any(statuses));
    }
    if let Some(from) = q.from {
        query = query.filter(complaints::received_at.ge(from));
    }
    if let Some(to) = q.to {
        query = query.filter(complaints::received_at.le(to));
    }
    query
        .order((complaints::received_at.desc(), complaints::id.desc()))
        .limit(limit)
        .select(Complaint::as_select())
        .load(conn)
}
