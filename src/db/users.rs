//! `users`: staff accounts. Passwords are argon2id hashes; `token_version`
//! is raised to revoke every token a user holds.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::users;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub unit_code: Option<String>,
    pub active: bool,
    pub token_version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub unit_code: Option<&'a str>,
    pub active: bool,
    pub token_version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, new: &NewUser<'_>) -> QueryResult<User> {
    diesel::insert_into(users::table)
        .values(new)
        .returning(users::all_columns)
        .get_result(conn)
}

pub fn by_username(conn: &mut DbConn, username: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::username.eq(username))
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// Active accounts with the admin role.
pub fn active_admins(conn: &mut DbConn) -> QueryResult<i64> {
    users::table
        .filter(users::role.eq("admin"))
        .filter(users::active.eq(true))
        .count()
        .get_result(conn)
}

/// Roles of some accounts, by id.
pub fn roles(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<(i64, String)>> {
    users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::role))
        .load(conn)
}

/// Usernames of some accounts, by id (for the audit trail's readers).
pub fn usernames(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<(i64, String)>> {
    users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::username))
        .load(conn)
}

pub fn by_id(conn: &mut DbConn, id: i64) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// What an administrator may change; `None` leaves a field alone.
#[derive(Default, Debug)]
pub struct UserChanges {
    pub password_hash: Option<String>,
    pub role: Option<String>,
    pub unit_code: Option<Option<String>>,
    pub active: Option<bool>,
    /// Raise the token version (revokes every token of the user).
    pub revoke_tokens: bool,
}

#[derive(AsChangeset)]
#[diesel(table_name = users)]
struct UserChangeset {
    password_hash: Option<String>,
    role: Option<String>,
    unit_code: Option<Option<String>>,
    active: Option<bool>,
    token_version: Option<i32>,
    updated_at: NaiveDateTime,
}

pub fn update(
    conn: &mut DbConn,
    user: &User,
    c: UserChanges,
    now: NaiveDateTime,
) -> QueryResult<User> {
    let set = UserChangeset {
        password_hash: c.password_hash,
        role: c.role,
        unit_code: c.unit_code,
        active: c.active,
        token_version: c.revoke_tokens.then_some(user.token_version + 1),
        updated_at: now,
    };
    diesel::update(users::table.find(user.id))
        .set(&set)
        .execute(conn)?;
    by_id(conn, user.id)?.ok_or(diesel::result::Error::NotFound)
}
