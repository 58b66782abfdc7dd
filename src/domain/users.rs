//! Staff accounts: creation (CLI and API), log-in, and changes that revoke
//! tokens (deactivation, password, role or unit change).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::auth::Actor;
use crate::auth::password;
use crate::auth::policy::{self, Action, Role};
use crate::db::users::{self as rows, NewUser, User, UserChanges};
use crate::db::{self, DbConn};
use crate::domain::audit::{self, AuditActor};
use crate::domain::fields::Reader;
use crate::error::{AppError, AppResult, FieldErrors};

pub const MIN_PASSWORD_CHARS: usize = 12;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: i64,
    pub username: String,
    pub role: String,
    pub unit: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        Self {
            id: u.id,
            username: u.username.clone(),
            role: u.role.clone(),
            unit: u.unit_code.clone(),
            active: u.active,
            created_at: db::from_db(u.created_at),
            updated_at: db::from_db(u.updated_at),
        }
    }
}

fn username_ok(name: &str) -> bool {
    (3..=64).contains(&name.len())
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        })
}

/// A new account, as the CLI or an administrator asks for it.
pub struct NewAccount {
    pub username: String,
    pub role: Role,
    pub unit: Option<String>,
    pub password: String,
}

fn check_account(
    conn: &mut DbConn,
    a: &NewAccount,
    errors: &mut FieldErrors,
) -> diesel::QueryResult<()> {
    if !username_ok(&a.username) {
        errors.add("username", "must be 3–64 of a–z, 0–9, '.', '_', '-'");
    } else if rows::by_username(conn, &a.username)?.is_some() {
        errors.add("username", "is already taken");
    }
    check_role_unit(conn, a.role, a.unit.as_deref(), errors)?;
    if a.password.chars().count() < MIN_PASSWORD_CHARS {
        errors.add(
            "password",
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        );
    }
    Ok(())
}

fn check_role_unit(
    conn: &mut DbConn,
    role: Role,
    unit: Option<&str>,
    errors: &mut FieldErrors,
) -> diesel::QueryResult<()> {
    match (role, unit) {
        (Role::Unit, None) => errors.add("unit", "is required for role unit"),
        (Role::Unit, Some(code)) => {
            if !db::units::exists_active(conn, code)? {
                errors.add("unit", "is not a known unit code");
            }
        }
        (_, Some(_)) => errors.add("unit", "is only for role unit"),
        (_, None) => {}
    }
    Ok(())
}

/// Creates an account. `by` is the administrator, or `None` from the CLI.
pub fn create(
    conn: &mut DbConn,
    by: Option<&Actor>,
    a: &NewAccount,
    now: DateTime<Utc>,
) -> AppResult<User> {
    if let Some(actor) = by {
        policy::require(actor, Action::ManageUsers)?;
    }
    let mut errors = FieldErrors::new();
    check_account(conn, a, &mut errors)?;
    errors.finish()?;
    let hash = password::hash(&a.password).map_err(AppError::Internal)?;
    let actor = by.map(AuditActor::from).unwrap_or_else(AuditActor::system);
    db::write_tx(conn, |c| -> AppResult<User> {
        let now_db = db::to_db(now);
        let user = rows::insert(
            c,
            &NewUser {
                username: &a.username,
                password_hash: &hash,
                role: a.role.as_str(),
                unit_code: a.unit.as_deref(),
                active: true,
                token_version: 1,
                created_at: now_db,
                updated_at: now_db,
            },
        )
        .map_err(|e| {
            if db::is_unique_violation(&e) {
                AppError::field("username", "is already taken")
            } else {
                e.into()
            }
        })?;
        audit::append(
            c,
            &audit::Entry {
                chain: audit::ADMIN_CHAIN,
                complaint_id: None,
                actor: &actor,
                action: "user_created",
                summary: &format!("user {} created with role {}", user.id, a.role.as_str()),
                public_note: None,
                unit_note: None,
            },
            now,
        )?;
        Ok(user)
    })
}

/// Reads the body of `POST /api/v1/users`.
pub fn read_new_account(body: &Value) -> AppResult<NewAccount> {
    let mut errors = FieldErrors::new();
    let mut r = Reader::root(body, &mut errors);
    r.deny_unknown(&["username", "role", "unit", "password"]);
    let username = r.text("username", true, 1, 64, false);
    let role = r.choice("role", true, Role::NAMES);
    let unit = r.text("unit", false, 1, 16, false);
    let password = r.text("password", true, 1, 1024, false);
    errors.finish()?;
    Ok(NewAccount {
        username: username.expect("validated"),
        role: role.and_then(|r| Role::parse(&r)).expect("validated"),
        unit,
        password: password.expect("validated"),
    })
}

/// Applies `PATCH /api/v1/users/{id}`: `active`, `password`, `role`, `unit`.
/// Every change here revokes the user's tokens at once.
pub fn update(
    conn: &mut DbConn,
    by: &Actor,
    id: i64,
    body: &Value,
    now: DateTime<Utc>,
) -> AppResult<User> {
    policy::require(by, Action::ManageUsers)?;
    let mut errors = FieldErrors::new();
    let mut r = Reader::root(body, &mut errors);
    r.deny_unknown(&["active", "password", "role", "unit"]);
    let active = r.present("active").then(|| r.boolean("active", true));
    let password = r.text("password", false, MIN_PASSWORD_CHARS, 1024, false);
    let role = r
        .choice("role", false, Role::NAMES)
        .and_then(|s| Role::parse(&s));
    let unit_given = r.present("unit");
    let unit = r.text("unit", false, 1, 16, false);
    errors.finish()?;
    let user = rows::by_id(conn, id)?.ok_or(AppError::NotFound)?;
    let mut errors = FieldErrors::new();
    let new_role = role.unwrap_or_else(|| Role::parse(&user.role).unwrap_or(Role::Auditor));
    let new_unit = if unit_given {
        unit.clone()
    } else {
        user.unit_code.clone()
    };
    if role.is_some() || unit_given {
        let new_unit = if new_role == Role::Unit {
            new_unit.clone()
        } else {
            None
        };
        check_role_unit(conn, new_role, new_unit.as_deref(), &mut errors)?;
    }
    errors.finish()?;
    let password_hash = password
        .as_deref()
        .map(password::hash)
        .transpose()
        .map_err(AppError::Internal)?;
    let changes = UserChanges {
        password_hash,
        role: role.map(|r| r.as_str().to_owned()),
        unit_code: (role.is_some() || unit_given).then(|| {
            if new_role == Role::Unit {
                new_unit
            } else {
                None
            }
        }),
        active,
        revoke_tokens: true,
    };
    let what: Vec<&str> = [
        (changes.active.is_some(), "active"),
        (changes.password_hash.is_some(), "password"),
        (changes.role.is_some(), "role"),
        (changes.unit_code.is_some(), "unit"),
    ]
    .iter()
    .filter_map(|(set, name)| set.then_some(*name))
    .collect();
    db::write_tx(conn, |c| -> AppResult<User> {
        let updated = rows::update(c, &user, changes, db::to_db(now))?;
        audit::append(
            c,
            &audit::Entry {
                chain: audit::ADMIN_CHAIN,
                complaint_id: None,
                actor: &AuditActor::from(by),
                action: "user_updated",
                summary: &format!(
                    "user {} changed: {}; tokens revoked",
                    user.id,
                    what.join(",")
                ),
                public_note: None,
                unit_note: None,
            },
            now,
        )?;
        Ok(updated)
    })
}

/// Checks a username and password; the same 401 for every failure, and the
/// same hashing work whether or not the user exists.
pub fn authenticate(conn: &mut DbConn, username: &str, pass: &str) -> AppResult<User> {
    let user = rows::by_username(conn, username)?;
    let ok = match &user {
        Some(u) => password::verify(pass, &u.password_hash),
        None => {
            password::burn(pass);
            false
        }
    };
    match user {
        Some(u) if ok && u.active => Ok(u),
        _ => Err(AppError::Unauthorized),
    }
}
