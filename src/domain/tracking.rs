//! Public tracking: a citizen looks up a case with its tracking number and
//! query code. Any wrong pair gets the same 404; failures are counted per
//! client address and per tracking number (see [`throttle`]), and past the
//! limits the answer is 429 for the rest of the window.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::db::{self, DbConn};
use crate::domain::privacy::PiiKeys;
use crate::domain::throttle::{self, Limits};
use crate::error::{AppError, AppResult};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PublicEvent {
    pub at: DateTime<Utc>,
    pub event: String,
    pub note: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Deadlines {
    pub ack_due_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
}

/// What the public may see of a case: no content, no identity.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TrackView {
    pub tracking_no: String,
    pub status: String,
    pub status_label: &'static str,
    pub received_at: DateTime<Utc>,
    pub category: Option<String>,
    pub responsible_unit: Option<String>,
    pub deadlines: Deadlines,
    pub timeline: Vec<PublicEvent>,
    pub public_reply: Option<String>,
    /// A closed case can be rated once (`POST /api/v1/track/feedback`).
    pub satisfaction: Option<String>,
    /// The citizen may rate the result now (`POST /track/feedback`).
    pub feedback_open: bool,
}

pub use super::labels::status_label;

/// The case behind a tracking number and query code, or the uniform 404
/// (failures counted, limits enforced). `client` is the caller's address.
pub fn verify_pair(
    conn: &mut DbConn,
    keys: &PiiKeys,
    limits: &Limits,
    client: &str,
    tracking_no: &str,
    query_code: &str,
    now: DateTime<Utc>,
) -> AppResult<crate::db::complaints::Complaint> {
    let number = db::complaints::normalise_tracking_no(tracking_no);
    let keys_ = throttle::Keys::new("track", client, &number);
    throttle::check(conn, limits, &keys_, now)?;
    let found = db::complaints::by_tracking_no(conn, &number)?;
    let matches = match &found {
        Some(c) => keys.query_code_matches(&c.tracking_no, query_code, &c.query_code_hash),
        None => {
            // Same work as a real check, so timing does not tell which was wrong.
            let _ = keys.query_code_hash(&number, query_code);
            false
        }
    };
    let Some(c) = found.filter(|_| matches) else {
        throttle::fail(conn, limits, &keys_, now)?;
        metrics::counter!("duban_track_failures_total").increment(1);
        return Err(AppError::NotFound);
    };
    Ok(c)
}

/// Looks a case up for the public.
pub fn track(
    conn: &mut DbConn,
    keys: &PiiKeys,
    limits: &Limits,
    client: &str,
    tracking_no: &str,
    query_code: &str,
    now: DateTime<Utc>,
) -> AppResult<TrackView> {
    let c = verify_pair(conn, keys, limits, client, tracking_no, query_code, now)?;
    let events = db::audit::for_complaint(conn, c.id)?;
    let timeline = events
        .into_iter()
        .filter_map(|e| {
            e.public_note.map(|note| PublicEvent {
                at: db::from_db(e.created_at),
                event: e.action,
                note,
            })
        })
        .collect();
    let category = match &c.category_code {
        Some(code) => db::categories::find(conn, code)?.map(|x| x.name),
        None => None,
    };
    let responsible_unit = match &c.responsible_unit_code {
        Some(code) => db::units::find(conn, code)?.map(|u| u.name),
        None => None,
    };
    let feedback_open = super::workflow::public_feedback_open(conn, &c)?;
    Ok(TrackView {
        status_label: status_label(&c.status),
        tracking_no: c.tracking_no,
        status: c.status,
        received_at: db::from_db(c.received_at),
        category,
        responsible_unit,
        deadlines: Deadlines {
            ack_due_at: c.ack_due_at.map(db::from_db),
            due_at: c.due_at.map(db::from_db),
        },
        timeline,
        feedback_open,
        public_reply: c.public_reply,
        satisfaction: c.satisfaction,
    })
}
