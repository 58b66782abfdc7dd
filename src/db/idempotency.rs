//! `idempotency_keys`: the first answer to a request carrying an
//! `Idempotency-Key`, kept so a retry gets the same answer.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::idempotency_keys;

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys)]
pub struct IdempotencyRecord {
    pub scope: String,
    pub idem_key: String,
    pub request_hash: String,
    pub status_code: i32,
    pub response_body: String,
    pub created_at: NaiveDateTime,
}

pub fn find(conn: &mut DbConn, scope: &str, key: &str) -> QueryResult<Option<IdempotencyRecord>> {
    idempotency_keys::table
        .find((scope, key))
        .select(IdempotencyRecord::as_select())
        .first(conn)
        .optional()
}

pub fn insert(conn: &mut DbConn, r: &IdempotencyRecord) -> QueryResult<()> {
    diesel::insert_into(idempotency_keys::table)
        .values(r)
        .execute(conn)
        .map(|_| ())
}
