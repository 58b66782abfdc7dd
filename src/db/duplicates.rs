//! `duplicate_candidates`: earlier cases a new case may repeat, found at
//! intake; and the look-ups that find them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::complaints::Complaint;
use super::schema::{calls, complainants, complaints, duplicate_candidates};

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = duplicate_candidates)]
pub struct Candidate {
    pub complaint_id: i64,
    pub candidate_id: i64,
    /// `same_phone` or `similar_title`.
    pub reason: String,
    /// Percent, 0–100.
    pub similarity: i32,
    pub created_at: NaiveDateTime,
}

/// Inserts the candidates (at most ten), one statement each: the backend
/// enum has no multi-row insert.
pub fn insert_many(conn: &mut DbConn, rows: &[Candidate]) -> QueryResult<()> {
    for row in rows {
        diesel::insert_into(duplicate_candidates::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

pub fn for_case(conn: &mut DbConn, complaint_id: i64) -> QueryResult<Vec<Candidate>> {
    duplicate_candidates::table
        .filter(duplicate_candidates::complaint_id.eq(complaint_id))
        .order((
            duplicate_candidates::similarity.desc(),
            duplicate_candidates::candidate_id.desc(),
        ))
        .select(Candidate::as_select())
        .load(conn)
}

/// Cases (not `except`) whose complainant phone or hotline caller has this
/// keyed hash, received since `since`, newest first. Anonymous cases are
/// never found by a phone number: nobody may link them to a caller.
pub fn by_phone_hash(
    conn: &mut DbConn,
    hash: &str,
    except: Option<i64>,
    since: Option<NaiveDateTime>,
    limit: i64,
) -> QueryResult<Vec<Complaint>> {
    // The two look-ups by hash are indexed; the cases are then read by id.
    let mut ids: Vec<i64> = complainants::table
        .filter(complainants::phone_hash.eq(hash))
        .order(complainants::complaint_id.desc())
        .limit(limit)
        .select(complainants::complaint_id)
        .load(conn)?;
    ids.extend(
        calls::table
            .filter(calls::caller_phone_hash.eq(hash))
            .filter(calls::complaint_id.is_not_null())
            .order(calls::id.desc())
            .limit(limit)
            .select(calls::complaint_id.assume_not_null())
            .load::<i64>(conn)?,
    );
    ids.sort_unstable();
    ids.dedup();
    let mut q = complaints::table
        .filter(complaints::id.eq_any(ids))
        .filter(complaints::anonymous.eq(false))
        .into_boxed();
    if let Some(id) = except {
        q = q.filter(complaints::id.ne(id));
    }
    if let Some(t) = since {
        q = q.filter(complaints::received_at.ge(t));
    }
    q.order(complaints::id.desc())
        .limit(limit)
        .select(Complaint::as_select())
        .load(conn)
}

/// Titles of the cases (not `except`) naming this subject unit received
/// since `since`, not merged or rejected; newest first.
pub fn naming_unit(
    conn: &mut DbConn,
    unit: &str,
    except: i64,
    since: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<(i64, String)>> {
    complaints::table
        .filter(complaints::subject_unit_code.eq(unit))
        .filter(complaints::received_at.ge(since))
        .filter(complaints::id.ne(except))
        .filter(complaints::status.ne_all(["merged", "rejected"]))
        .order(complaints::received_at.desc())
        .limit(limit)
        .select((complaints::id, complaints::title))
        .load(conn)
}
