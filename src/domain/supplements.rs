//! Supplements (补充情况, docs/architecture.md, "The hotline desk"): facts
//! added to a case after intake, by a caller or from a duplicate merged into
//! it. The text is redacted like the complaint's (the case's complainant and
//! the caller are taken out), is part of what the unit reads, and is sent to
//! the responsible unit as a notice. A merge stays the office's: the unit
//! reads the added facts, not where they came from.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::db::complaints::{self as complaint_rows, Complaint};
use crate::db::supplements::{self as rows, NewSupplement};
use crate::db::{self, DbConn};
use crate::domain::audit::{self, AuditActor, Words};
use crate::domain::env::Env;
use crate::domain::intake;
use crate::domain::labels;
use crate::domain::letters::{self, NoticeKind};
use crate::domain::privacy;
use crate::domain::status::Status;
use crate::error::{AppError, AppResult};

/// Where a supplement came from.
pub enum Source<'a> {
    /// A caller's additional facts, logged with this call.
    Call {
        call_id: i64,
        caller_phone: Option<&'a str>,
    },
    /// The text of a duplicate merged into the case.
    Merge { from: &'a Complaint },
}

/// A supplement as a reader of the case sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SupplementView {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub at_local: String,
    pub content: String,
    /// `call` or `merge` (not shown to units).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The merged case's tracking number (not shown to units).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_from: Option<String>,
}

/// `text` with the case's complainant (and `extra_phone`, a caller's
/// number) taken out, as at intake; the case's own places stay.
fn redact_for(
    conn: &mut DbConn,
    env: &Env,
    c: &Complaint,
    text: &str,
    extra_phone: Option<&str>,
) -> AppResult<String> {
    let identity = match complaint_rows::identity(conn, c.id)? {
        Some(sealed) => {
            intake::open_identity(&env.keys, &c.tracking_no, &sealed).map_err(AppError::Internal)?
        }
        None => intake::Identity::default(),
    };
    let own: Vec<&str> = [
        &identity.name,
        &identity.email,
        &identity.id_number,
        &identity.address,
    ]
    .into_iter()
    .flatten()
    .map(String::as_str)
    .collect();
    let subject_unit = match &c.subject_unit_code {
        Some(code) => db::units::find(conn, code)?.map(|u| u.name),
        None => None,
    };
    let places: Vec<&str> = [&c.township, &subject_unit]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    let once = privacy::redact(text, &own, identity.phone.as_deref(), &places);
    Ok(match extra_phone {
        Some(p) if Some(p) != identity.phone.as_deref() => {
            privacy::redact(&once, &[], Some(p), &places)
        }
        _ => once,
    })
}

/// Adds a supplement to `c` (the caller holds the case's lock), tells the
/// responsible unit, and records the event.
pub fn add(
    conn: &mut DbConn,
    env: &Env,
    c: &Complaint,
    source: Source<'_>,
    text: &str,
    by: &AuditActor,
    now: DateTime<Utc>,
) -> AppResult<i64> {
    let (kind, call_id, merged_from, phone) = match &source {
        Source::Call {
            call_id,
            caller_phone,
        } => ("call", Some(*call_id), None, *caller_phone),
        Source::Merge { from } => ("merge", None, Some(from.id), None),
    };
    let content = redact_for(conn, env, c, text, phone)?;
    let id = rows::insert(
        conn,
        &NewSupplement {
            complaint_id: c.id,
            source: kind,
            call_id,
            merged_from,
            content: &content,
            created_by: by.id,
            created_at: db::to_db(now),
        },
    )?;
    let staff = match &source {
        Source::Call { .. } => "群众来电补充情况".to_owned(),
        Source::Merge { from } => format!(
            "重复件（受理编号{}）的反映内容作为补充情况",
            from.tracking_no
        ),
    };
    let sent = Status::of(&c.status)?.is_with_unit();
    let unit = match (&c.responsible_unit_code, sent) {
        (Some(code), true) => db::units::find(conn, code)?,
        _ => None,
    };
    let mut words = Words::new(staff);
    if let Some(u) = &unit {
        letters::notice(
            conn,
            &env.letters,
            c,
            u,
            NoticeKind::Supplement,
            &format!(
                "受理编号{}有补充情况，请一并核查办理：\n{content}",
                c.tracking_no
            ),
            now,
        )?;
        words = words.to_unit("作风办转来补充情况");
    }
    audit::record_case(conn, c.id, &c.tracking_no, by, "supplemented", &words, now)?;
    Ok(id)
}

/// A case's supplements as `unit_reader` (a unit) or the office reads them.
pub fn for_case(
    conn: &mut DbConn,
    c: &Complaint,
    unit_reader: bool,
    tz: chrono_tz::Tz,
) -> AppResult<Vec<SupplementView>> {
    let list = rows::for_case(conn, c.id)?;
    let merged: Vec<i64> = list.iter().filter_map(|s| s.merged_from).collect();
    let numbers: std::collections::HashMap<i64, String> =
        complaint_rows::tracking_numbers(conn, &merged)?
            .into_iter()
            .collect();
    Ok(list
        .into_iter()
        .map(|s| {
            let at = db::from_db(s.created_at);
            SupplementView {
                id: s.id,
                at,
                at_local: if unit_reader {
                    labels::local_date(at, tz)
                } else {
                    labels::local_minute(at, tz)
                },
                content: s.content,
                source: (!unit_reader).then_some(s.source),
                merged_from: s
                    .merged_from
                    .filter(|_| !unit_reader)
                    .and_then(|id| numbers.get(&id).cloned()),
            }
        })
        .collect())
}
