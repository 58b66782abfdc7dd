//! The caller look-up (docs/architecture.md, "The hotline desk"): what an
//! operator reads out to a caller — the earlier calls from the same number
//! and the cases filed with it, by the keyed phone hash the service keeps.
//! No name, e-mail, ID number or address; an anonymous case is never found
//! by a number (its call is listed without its case). The look-up is an
//! audit event.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::auth::Actor;
use crate::auth::policy::{self, Action};
use crate::db::{self, DbConn};
use crate::domain::audit::{self, AuditActor, Entry};
use crate::domain::cases::CodeName;
use crate::domain::env::Env;
use crate::domain::{labels, validation};
use crate::error::{AppError, AppResult, Code};

/// How many calls and cases are listed.
const LISTED: i64 = 50;
/// The audit chain of the hotline desk's reads that concern no one case.
pub const DESK_CHAIN: &str = "desk";

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CallerCall {
    pub id: i64,
    pub started_at: DateTime<Utc>,
    pub started_at_local: String,
    pub disposition: String,
    pub disposition_label: &'static str,
    /// The case the call filed or was about (never an anonymous case's).
    pub tracking_no: Option<String>,
    pub transferred_to: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PublicEntry {
    pub at: DateTime<Utc>,
    pub at_local: String,
    pub note: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CallerCase {
    pub tracking_no: String,
    pub received_at: DateTime<Utc>,
    pub received_at_local: String,
    pub channel: String,
    pub channel_label: &'static str,
    pub category: Option<CodeName>,
    pub status: String,
    pub status_label: &'static str,
    pub responsible_unit: Option<CodeName>,
    pub ack_due_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub due_at_local: Option<String>,
    pub follow_ups: i32,
    /// The last entry of the citizen's public timeline.
    pub last_public: Option<PublicEntry>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CallerHistory {
    pub calls_last_30_days: i64,
    pub calls: Vec<CallerCall>,
    pub cases: Vec<CallerCase>,
}

/// `GET /callers/{phone}` (operator, supervisor).
pub fn look_up(
    conn: &mut DbConn,
    env: &Env,
    actor: &Actor,
    raw_phone: &str,
    now: DateTime<Utc>,
) -> AppResult<CallerHistory> {
    policy::require(actor, Action::ListCalls)?;
    let phone = validation::normalise_phone(raw_phone)
        .map_err(|msg| AppError::field_with("phone", Code::BadPhone, msg))?;
    let hash = env.keys.phone_hash(&phone);
    db::write_tx(conn, |c| {
        let calls = db::calls::by_phone_hash(c, &hash, LISTED)?;
        let recent = db::calls::count_since(c, &hash, db::to_db(now - Duration::days(30)))?;
        let cases = db::duplicates::by_phone_hash(c, &hash, None, None, LISTED)?;
        let linked: Vec<i64> = calls.iter().filter_map(|k| k.complaint_id).collect();
        // Calls about anonymous cases keep their disposition, not the case.
        let named: HashMap<i64, String> = db::complaints::by_ids(c, &linked)?
            .into_iter()
            .filter(|k| !k.anonymous)
            .map(|k| (k.id, k.tracking_no))
            .collect();
        let mut units: Vec<String> = cases
            .iter()
            .filter_map(|k| k.responsible_unit_code.clone())
            .collect();
        units.sort();
        units.dedup();
        let unit_names: HashMap<String, String> =
            db::units::names(c, &units)?.into_iter().collect();
        let mut cats: Vec<String> = cases
            .iter()
            .filter_map(|k| k.category_code.clone())
            .collect();
        cats.sort();
        cats.dedup();
        let cat_names: HashMap<String, String> =
            db::categories::names(c, &cats)?.into_iter().collect();
        let ids: Vec<i64> = cases.iter().map(|k| k.id).collect();
        let mut last = db::audit::latest_public(c, &ids)?;
        let summary = format!(
            "{}按来电号码查询历史记录：来电{}次，案件{}件",
            labels::role_label(actor.role.as_str()),
            calls.len(),
            cases.len()
        );
        audit::append(
            c,
            &Entry {
                chain: DESK_CHAIN,
                complaint_id: None,
                actor: &AuditActor::from(actor),
                action: "caller_looked_up",
                summary: &summary,
                public_note: None,
                unit_note: None,
            },
            now,
        )?;
        let tz = env.tz;
        let code_name = |code: &Option<String>, names: &HashMap<String, String>| {
            code.as_ref().map(|k| CodeName {
                code: k.clone(),
                name: names.get(k).cloned(),
            })
        };
        Ok(CallerHistory {
            calls_last_30_days: recent,
            calls: calls
                .into_iter()
                .map(|k| {
                    let at = db::from_db(k.started_at);
                    CallerCall {
                        id: k.id,
                        started_at: at,
                        started_at_local: labels::local_minute(at, tz),
                        disposition_label: labels::disposition_label(&k.disposition),
                        disposition: k.disposition,
                        tracking_no: k.complaint_id.and_then(|id| named.get(&id).cloned()),
                        transferred_to: k.transferred_to_name.or(k.transferred_to),
                    }
                })
                .collect(),
            cases: cases
                .into_iter()
                .map(|k| {
                    let received = db::from_db(k.received_at);
                    let due = k.due_at.map(db::from_db);
                    CallerCase {
                        received_at: received,
                        received_at_local: labels::local_minute(received, tz),
                        channel_label: labels::channel_label(&k.channel),
                        channel: k.channel,
                        category: code_name(&k.category_code, &cat_names),
                        status_label: labels::status_label(&k.status),
                        status: k.status,
                        responsible_unit: code_name(&k.responsible_unit_code, &unit_names),
                        ack_due_at: k.ack_due_at.map(db::from_db),
                        due_at: due,
                        due_at_local: due.map(|d| labels::local_minute(d, tz)),
                        follow_ups: k.follow_ups,
                        last_public: last.remove(&k.id).map(|(at, note)| {
                            let at = db::from_db(at);
                            PublicEntry {
                                at,
                                at_local: labels::local_minute(at, tz),
                                note,
                            }
                        }),
                        tracking_no: k.tracking_no,
                    }
                })
                .collect(),
        })
    })
}
