//! `Idempotency-Key` handling: the first successful answer is stored in the
//! same transaction as the work, and a retry with the same key and body gets
//! it back; the same key with another body is refused.
//!
//! The stored answer of a filing holds the citizen's query code, which is
//! otherwise kept only as a keyed hash: it is sealed with the identity key
//! (AES-256-GCM, bound to the key's scope and value) and opened only to
//! replay it.

use chrono::{DateTime, Utc};

use crate::db::idempotency::{self as rows, IdempotencyRecord};
use crate::db::{self, DbConn};
use crate::domain::privacy::{PiiKeys, sha256_hex};
use crate::error::{AppError, AppResult, Code};

pub const HEADER: &str = "Idempotency-Key";

/// A request that carries an idempotency key.
#[derive(Clone, Debug)]
pub struct IdemRequest {
    /// Namespace of the key: the route, and the user for staff routes.
    pub scope: String,
    pub key: String,
    /// Fingerprint of the request body.
    pub request_hash: String,
}

impl IdemRequest {
    /// Checks the header value and fingerprints the (canonical) body.
    pub fn new(scope: String, key: &str, body: &serde_json::Value) -> AppResult<Self> {
        if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            return Err(AppError::field_with(
                HEADER,
                Code::BadFormat,
                "must be 1 to 255 visible ASCII characters",
            ));
        }
        // serde_json's map is ordered, so equal bodies serialise equally.
        let canonical = serde_json::to_vec(body).unwrap_or_default();
        Ok(Self {
            scope,
            key: key.to_owned(),
            request_hash: sha256_hex(&[&canonical]),
        })
    }
}

/// The answer to send: the new one, or the stored one on a replay.
#[derive(Debug)]
pub struct Outcome {
    pub status: u16,
    pub body: serde_json::Value,
    pub replayed: bool,
}

/// The prefix of a sealed stored answer (records from before sealing hold
/// the JSON itself).
const SEALED: &str = "sealed:v1:";

fn seal_context(req: &IdemRequest) -> String {
    format!("idempotency/{}/{}", req.scope, req.key)
}

fn seal(keys: &PiiKeys, req: &IdemRequest, body: &serde_json::Value) -> String {
    use base64::Engine;
    let sealed = keys.seal(&body.to_string(), &seal_context(req));
    format!(
        "{SEALED}{}",
        base64::engine::general_purpose::STANDARD.encode(sealed)
    )
}

fn open(keys: &PiiKeys, req: &IdemRequest, stored: &str) -> AppResult<serde_json::Value> {
    use base64::Engine;
    let text = match stored.strip_prefix(SEALED) {
        Some(b64) => {
            let sealed = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| AppError::Internal(e.into()))?;
            keys.open(&sealed, &seal_context(req))
                .map_err(AppError::Internal)?
        }
        None => stored.to_owned(),
    };
    serde_json::from_str(&text).map_err(|e| AppError::Internal(e.into()))
}

fn replay(keys: &PiiKeys, rec: IdempotencyRecord, req: &IdemRequest) -> AppResult<Outcome> {
    if rec.request_hash != req.request_hash {
        return Err(AppError::field_with(
            HEADER,
            Code::KeyReused,
            "was already used with a different request body; use a new key for a new request",
        ));
    }
    Ok(Outcome {
        status: u16::try_from(rec.status_code).unwrap_or(200),
        body: open(keys, req, &rec.response_body)?,
        replayed: true,
    })
}

/// Runs `prepare` (outside any transaction) and then `work` in one write
/// transaction that also stores the answer under the key. A retry finds the
/// stored answer; two concurrent first attempts are settled by the key's
/// primary key, and the loser replays the winner's answer.
pub fn run<P>(
    conn: &mut DbConn,
    keys: &PiiKeys,
    idem: Option<&IdemRequest>,
    now: DateTime<Utc>,
    status: u16,
    prepare: impl FnOnce(&mut DbConn) -> AppResult<P>,
    work: impl FnOnce(&mut DbConn, P) -> AppResult<serde_json::Value>,
) -> AppResult<Outcome> {
    if let Some(req) = idem
        && let Some(rec) = rows::find(conn, &req.scope, &req.key)?
    {
        return replay(keys, rec, req);
    }
    let prepared = prepare(conn)?;
    let result = db::write_tx(conn, |c| {
        if let Some(req) = idem {
            // Under SQLite's write lock this sees any answer committed since.
            if let Some(rec) = rows::find(c, &req.scope, &req.key)? {
                return Ok(Err(rec));
            }
        }
        let body = work(c, prepared)?;
        if let Some(req) = idem {
            let rec = IdempotencyRecord {
                scope: req.scope.clone(),
                idem_key: req.key.clone(),
                request_hash: req.request_hash.clone(),
                status_code: i32::from(status),
                response_body: seal(keys, req, &body),
                created_at: db::to_db(now),
            };
            if let Err(e) = rows::insert(c, &rec) {
                return if db::is_unique_violation(&e) {
                    Err(AppError::Conflict(RACE.into()))
                } else {
                    Err(e.into())
                };
            }
        }
        Ok(Ok(body))
    });
    match (result, idem) {
        (Ok(Ok(body)), _) => Ok(Outcome {
            status,
            body,
            replayed: false,
        }),
        (Ok(Err(rec)), Some(req)) => replay(keys, rec, req),
        (Err(AppError::Conflict(m)), Some(req)) if m == RACE => {
            let rec = rows::find(conn, &req.scope, &req.key)?.ok_or(AppError::Conflict(
                "a concurrent request with this Idempotency-Key did not finish".into(),
            ))?;
            replay(keys, rec, req)
        }
        (Ok(Err(_)), None) => unreachable!("no record is looked up without a key"),
        (Err(e), _) => Err(e),
    }
}

const RACE: &str = "idempotency key taken concurrently";
