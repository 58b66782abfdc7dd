//! Public tracking: a citizen looks up a case with its tracking number and
//! query code. Any wrong pair gets the same 404; failures are counted per
//! client address and per tracking number (see [`throttle`]), and past the
//! limits the answer is 429 for the rest of the window.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::db::complaints::Complaint;
use crate::db::{self, DbConn};
use crate::domain::audit::{self, AuditActor, Words};
use crate::domain::env::Env;
use crate::domain::letters::{self, NoticeKind};
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

/// What a citizen gets for a pair: the answer, and how long to hold it back
/// (a case strangers are guessing at is answered slowly, never refused).
pub struct Paced<T> {
    pub outcome: AppResult<T>,
    pub hold: std::time::Duration,
}

/// A look-up as the citizen asked it.
#[derive(Clone, Copy, Debug)]
pub struct Asked<'a> {
    /// The client's address (counted hashed, IPv6 per /64).
    pub client: &'a str,
    pub tracking_no: &'a str,
    pub query_code: &'a str,
}

/// The case behind a tracking number and query code, or the uniform 404.
///
/// An address over its own failure limit is refused (429), whatever it
/// sends. Failures on the tracking number never refuse the right pair from
/// any other address: they slow the answers down ([`throttle::pace`]), and
/// when they reach the limit the office is alerted once per window.
pub fn verify_pair(
    conn: &mut DbConn,
    env: &Env,
    limits: &Limits,
    asked: &Asked<'_>,
    now: DateTime<Utc>,
) -> AppResult<Paced<Complaint>> {
    let number = db::complaints::normalise_tracking_no(asked.tracking_no);
    let keys = throttle::Keys::new(&env.keys, "track", asked.client, &number);
    let standing = throttle::standing(conn, limits, &keys, now)?;
    if standing.address_failures >= limits.max_per_address {
        return Err(throttle::too_many(limits.window));
    }
    let found = db::complaints::by_tracking_no(conn, &number)?;
    let matches = match &found {
        Some(c) => {
            env.keys
                .query_code_matches(&c.tracking_no, asked.query_code, &c.query_code_hash)
        }
        None => {
            // Same work as a real check, so timing does not tell which was wrong.
            let _ = env.keys.query_code_hash(&number, asked.query_code);
            false
        }
    };
    let hold = |failures| throttle::pace(failures, limits.max_per_subject, limits.max_delay);
    match found {
        Some(c) if matches => Ok(Paced {
            outcome: Ok(c),
            hold: hold(standing.subject_failures),
        }),
        found => {
            let failures = throttle::fail(conn, limits, &keys, now)?;
            metrics::counter!("duban_track_failures_total").increment(1);
            if failures == limits.max_per_subject
                && let Some(c) = &found
            {
                alert_office(conn, env, c, failures, limits, now)?;
            }
            Ok(Paced {
                outcome: Err(AppError::NotFound),
                hold: hold(failures),
            })
        }
    }
}

/// Tells the office that strangers are guessing at a case's query code:
/// a notice to the office and an event on the case (the office's only).
fn alert_office(
    conn: &mut DbConn,
    env: &Env,
    c: &Complaint,
    failures: i32,
    limits: &Limits,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let minutes = limits.window.num_minutes();
    metrics::counter!("duban_track_case_alerts_total").increment(1);
    tracing::warn!(
        complaint.id = c.id,
        failures,
        "repeated wrong query codes for one case: the office is alerted"
    );
    db::write_tx(conn, |tx| -> AppResult<()> {
        if let Some(office) = db::units::find(tx, &env.letters.office_unit)? {
            letters::notice(
                tx,
                &env.letters,
                c,
                &office,
                NoticeKind::TrackingAlert,
                &format!(
                    "{minutes}分钟内，受理编号{}的查询码被错误输入{failures}次，可能有人试图查询他人的投诉。\
                     正确的查询码仍可正常查询；请关注该件，如有异常及时处置。",
                    c.tracking_no
                ),
                now,
            )?;
        }
        audit::record_case(
            tx,
            c.id,
            &c.tracking_no,
            &AuditActor::system(),
            "tracking_alert",
            &Words::new(format!(
                "{minutes}分钟内查询码错误{failures}次，已提醒作风办"
            )),
            now,
        )?;
        Ok(())
    })
}

/// Looks a case up for the public.
pub fn track(
    conn: &mut DbConn,
    env: &Env,
    limits: &Limits,
    asked: &Asked<'_>,
    now: DateTime<Utc>,
) -> AppResult<Paced<TrackView>> {
    let paced = verify_pair(conn, env, limits, asked, now)?;
    let c = match paced.outcome {
        Ok(c) => c,
        Err(e) => {
            return Ok(Paced {
                outcome: Err(e),
                hold: paced.hold,
            });
        }
    };
    Ok(Paced {
        outcome: Ok(view(conn, c)?),
        hold: paced.hold,
    })
}

/// The public view of a case the pair opened.
fn view(conn: &mut DbConn, c: Complaint) -> AppResult<TrackView> {
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
