//! `categories`: kinds of misconduct, each with its time limits.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::categories;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = categories)]
pub struct Category {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub aspect: String,
    pub statutory_workdays: i32,
    pub ack_workdays: i32,
    pub handle_workdays: i32,
    pub sort_order: i32,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CategoryFields {
    pub code: String,
    pub name: String,
    pub aspect: String,
    pub statutory_workdays: i32,
    pub ack_workdays: i32,
    pub handle_workdays: i32,
    pub sort_order: i32,
}

pub fn find(conn: &mut DbConn, code: &str) -> QueryResult<Option<Category>> {
    categories::table
        .filter(categories::code.eq(code))
        .select(Category::as_select())
        .first(conn)
        .optional()
}

pub fn exists_active(conn: &mut DbConn, code: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        categories::table
            .filter(categories::code.eq(code))
            .filter(categories::active.eq(true)),
    ))
    .get_result(conn)
}

pub fn list(conn: &mut DbConn, offset: i64, limit: i64) -> QueryResult<(Vec<Category>, i64)> {
    let total = categories::table
        .filter(categories::active.eq(true))
        .count()
        .get_result(conn)?;
    let items = categories::table
        .filter(categories::active.eq(true))
        .order((categories::sort_order.asc(), categories::id.asc()))
        .offset(offset)
        .limit(limit)
        .select(Category::as_select())
        .load(conn)?;
    Ok((items, total))
}

/// Inserts or updates by code; returns true when something changed.
pub fn upsert(conn: &mut DbConn, f: &CategoryFields, now: NaiveDateTime) -> QueryResult<bool> {
    match find(conn, &f.code)? {
        Some(c)
            if c.name == f.name
                && c.aspect == f.aspect
                && c.statutory_workdays == f.statutory_workdays
                && c.ack_workdays == f.ack_workdays
                && c.handle_workdays == f.handle_workdays
                && c.sort_order == f.sort_order
                && c.active =>
        {
            Ok(false)
        }
        Some(c) => {
            diesel::update(categories::table.find(c.id))
                .set((
                    categories::name.eq(&f.name),
                    categories::aspect.eq(&f.aspect),
                    categories::statutory_workdays.eq(f.statutory_workdays),
                    categories::ack_workdays.eq(f.ack_workdays),
                    categories::handle_workdays.eq(f.handle_workdays),
                    categories::sort_order.eq(f.sort_order),
                    categories::active.eq(true),
                    categories::updated_at.eq(now),
                ))
                .execute(conn)?;
            Ok(true)
        }
        None => {
            diesel::insert_into(categories::table)
                .values((
                    categories::code.eq(&f.code),
                    categories::name.eq(&f.name),
                    categories::aspect.eq(&f.aspect),
                    categories::statutory_workdays.eq(f.statutory_workdays),
                    categories::ack_workdays.eq(f.ack_workdays),
                    categories::handle_workdays.eq(f.handle_workdays),
                    categories::sort_order.eq(f.sort_order),
                    categories::active.eq(true),
                    categories::created_at.eq(now),
                    categories::updated_at.eq(now),
                ))
                .execute(conn)?;
            Ok(true)
        }
    }
}

pub fn names(conn: &mut DbConn, codes: &[String]) -> QueryResult<Vec<(String, String)>> {
    categories::table
        .filter(categories::code.eq_any(codes))
        .select((categories::code, categories::name))
        .load(conn)
}

/// When any category last changed (the Open311 discovery changeset).
pub fn last_change(conn: &mut DbConn) -> QueryResult<Option<NaiveDateTime>> {
    categories::table
        .select(diesel::dsl::max(categories::updated_at))
        .first(conn)
}
