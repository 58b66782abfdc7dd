//! `units`: government bodies that complaints are about and that handle them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::units;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = units)]
pub struct Unit {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub parent_code: Option<String>,
    pub email: String,
    pub leader_name: String,
    pub leader_title: String,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Fields a loader or an administrator sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitFields {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub email: String,
    pub leader_name: String,
    pub leader_title: String,
}

pub fn find(conn: &mut DbConn, code: &str) -> QueryResult<Option<Unit>> {
    units::table
        .filter(units::code.eq(code))
        .select(Unit::as_select())
        .first(conn)
        .optional()
}

/// The code of the township called `name`.
pub fn township_named(conn: &mut DbConn, name: &str) -> QueryResult<Option<String>> {
    units::table
        .filter(units::name.eq(name))
        .filter(units::kind.eq("township"))
        .select(units::code)
        .first::<String>(conn)
        .optional()
}

pub fn exists_active(conn: &mut DbConn, code: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        units::table
            .filter(units::code.eq(code))
            .filter(units::active.eq(true)),
    ))
    .get_result(conn)
}

pub fn list(conn: &mut DbConn, offset: i64, limit: i64) -> QueryResult<(Vec<Unit>, i64)> {
    let total = units::table
        .filter(units::active.eq(true))
        .count()
        .get_result(conn)?;
    let items = units::table
        .filter(units::active.eq(true))
        .order(units::id.asc())
        .offset(offset)
        .limit(limit)
        .select(Unit::as_select())
        .load(conn)?;
    Ok((items, total))
}

impl UnitFields {
    /// Whether `u` is active and already holds these fields (parents apart).
    pub fn held_by(&self, u: &Unit) -> bool {
        u.active
            && u.name == self.name
            && u.kind == self.kind
            && u.email == self.email
            && u.leader_name == self.leader_name
            && u.leader_title == self.leader_title
    }
}

/// Inserts or updates by code; returns true when something changed.
pub fn upsert(conn: &mut DbConn, f: &UnitFields, now: NaiveDateTime) -> QueryResult<bool> {
    match find(conn, &f.code)? {
        Some(u) if f.held_by(&u) => Ok(false),
        Some(u) => {
            diesel::update(units::table.find(u.id))
                .set((
                    units::name.eq(&f.name),
                    units::kind.eq(&f.kind),
                    units::email.eq(&f.email),
                    units::leader_name.eq(&f.leader_name),
                    units::leader_title.eq(&f.leader_title),
                    units::active.eq(true),
                    units::updated_at.eq(now),
                ))
                .execute(conn)?;
            Ok(true)
        }
        None => {
            diesel::insert_into(units::table)
                .values((
                    units::code.eq(&f.code),
                    units::name.eq(&f.name),
                    units::kind.eq(&f.kind),
                    units::email.eq(&f.email),
                    units::leader_name.eq(&f.leader_name),
                    units::leader_title.eq(&f.leader_title),
                    units::active.eq(true),
                    units::created_at.eq(now),
                    units::updated_at.eq(now),
                ))
                .execute(conn)?;
            Ok(true)
        }
    }
}

/// Sets the parent of `code`; returns true when it changed.
pub fn set_parent(
    conn: &mut DbConn,
    code: &str,
    parent: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let current: Option<Option<String>> = units::table
        .filter(units::code.eq(code))
        .select(units::parent_code)
        .first(conn)
        .optional()?;
    match current {
        Some(p) if p.as_deref() != parent => {
            diesel::update(units::table.filter(units::code.eq(code)))
                .set((units::parent_code.eq(parent), units::updated_at.eq(now)))
                .execute(conn)?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

pub fn names(conn: &mut DbConn, codes: &[String]) -> QueryResult<Vec<(String, String)>> {
    units::table
        .filter(units::code.eq_any(codes))
        .select((units::code, units::name))
        .load(conn)
}

/// Several units by code.
pub fn by_codes(conn: &mut DbConn, codes: &[String]) -> QueryResult<Vec<Unit>> {
    units::table
        .filter(units::code.eq_any(codes))
        .select(Unit::as_select())
        .load(conn)
}

/// When any unit last changed (the Open311 discovery changeset).
pub fn last_change(conn: &mut DbConn) -> QueryResult<Option<NaiveDateTime>> {
    units::table
        .select(diesel::dsl::max(units::updated_at))
        .first(conn)
}

/// Every active unit, by code.
pub fn active(conn: &mut DbConn) -> QueryResult<Vec<Unit>> {
    units::table
        .filter(units::active.eq(true))
        .order(units::code.asc())
        .select(Unit::as_select())
        .load(conn)
}

/// Every unit, active or not, by code.
pub fn all(conn: &mut DbConn) -> QueryResult<Vec<Unit>> {
    units::table
        .order(units::code.asc())
        .select(Unit::as_select())
        .load(conn)
}

/// Marks units inactive (never deleted: their cases keep them); returns how
/// many changed.
pub fn deactivate(conn: &mut DbConn, codes: &[String], now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        units::table
            .filter(units::code.eq_any(codes))
            .filter(units::active.eq(true)),
    )
    .set((units::active.eq(false), units::updated_at.eq(now)))
    .execute(conn)
}

/// Open assignments (cases being handled) of these units.
pub fn open_assignments(conn: &mut DbConn, codes: &[String]) -> QueryResult<i64> {
    use super::schema::assignments;
    assignments::table
        .filter(assignments::unit_code.eq_any(codes))
        .filter(assignments::ended_at.is_null())
        .count()
        .get_result(conn)
}
