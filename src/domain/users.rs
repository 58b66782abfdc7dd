//! Staff accounts: creation (CLI and API), log-in, and changes that revoke
//! tokens (deactivation, password, role or unit change).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::auth::Actor;
use crate::auth::password;
use crate::auth::policy::{self, Action, Role};
use crate::db::users::{self as rows, NewUser, User, UserChanges};
use crate::db::{self, DbConn};
use crate::domain::audit::{self, AuditActor};
use crate::domain::command::Command;
use crate::domain::commands::{CreateUser, UpdateUser};
use crate::domain::throttle;
use crate::error::{AppError, AppResult, Code, FieldErrors};

pub use crate::domain::commands::MIN_PASSWORD_CHARS;

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
) -> db::QueryResult<()> {
    if !username_ok(&a.username) {
        errors.add_with(
            "username",
            Code::BadFormat,
            "must be 3–64 of a–z, 0–9, '.', '_', '-'",
        );
    } else if rows::by_username(conn, &a.username)?.is_some() {
        errors.add("username", Code::Taken);
    }
    check_role_unit(conn, a.role, a.unit.as_deref(), errors)?;
    if a.password.chars().count() < MIN_PASSWORD_CHARS {
        errors.add(
            "password",
            Code::TooShort {
                min: MIN_PASSWORD_CHARS,
            },
        );
    }
    Ok(())
}

fn check_role_unit(
    conn: &mut DbConn,
    role: Role,
    unit: Option<&str>,
    errors: &mut FieldErrors,
) -> db::QueryResult<()> {
    match (role, unit) {
        (Role::Unit, None) => errors.add_with("unit", Code::Required, "is required for role unit"),
        (Role::Unit, Some(code)) => {
            if !db::units::exists_active(conn, code)? {
                errors.add("unit", Code::NotAUnit);
            }
        }
        (_, Some(_)) => errors.add_with("unit", Code::NotAllowed, "is only for role unit"),
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
                AppError::field("username", Code::Taken)
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
                summary: &format!(
                    "创建账号{}（角色：{}）",
                    user.id,
                    crate::domain::labels::role_label(a.role.as_str())
                ),
                public_note: None,
                unit_note: None,
            },
            now,
        )?;
        Ok(user)
    })
}

impl From<CreateUser> for NewAccount {
    fn from(cmd: CreateUser) -> Self {
        NewAccount {
            username: cmd.username.into_inner(),
            role: cmd.role,
            unit: cmd.unit.map(|u| u.into_inner()),
            password: cmd.password.expose().to_owned(),
        }
    }
}

/// Applies `PATCH /api/v1/users/{id}`: `active`, `password`, `role`, `unit`.
/// Every change here revokes the user's tokens at once.
pub fn update(
    conn: &mut DbConn,
    by: &Actor,
    id: i64,
    cmd: UpdateUser,
    now: DateTime<Utc>,
) -> AppResult<User> {
    policy::require(by, <UpdateUser as Command>::ACTION)?;
    let active = cmd.active;
    let password = cmd.password.map(String::from);
    let role = cmd.role;
    let unit = cmd.unit.map(|u| u.into_inner());
    let unit_given = unit.is_some();
    let user = rows::by_id(conn, id)?.ok_or(AppError::NotFound)?;
    let mut errors = FieldErrors::new();
    let new_role = role.unwrap_or_else(|| Role::parse(&user.role).unwrap_or(Role::Auditor));
    let new_unit = if unit_given {
        unit.clone()
    } else {
        user.unit_code.clone()
    };
    if role.is_some() || unit_given {
        // A unit sent for another role is refused, not dropped; a unit
        // account moved to another role loses its unit.
        let new_unit = if new_role == Role::Unit || (unit_given && unit.is_some()) {
            new_unit.clone()
        } else {
            None
        };
        check_role_unit(conn, new_role, new_unit.as_deref(), &mut errors)?;
    }
    // The service must keep an administrator who can undo mistakes.
    let was_admin = user.role == Role::Admin.as_str() && user.active;
    let stays_admin = new_role == Role::Admin && active.unwrap_or(user.active);
    if was_admin && !stays_admin && rows::active_admins(conn)? <= 1 {
        let field = if new_role != Role::Admin {
            "role"
        } else {
            "active"
        };
        errors.add_with(
            field,
            Code::LastAdmin,
            "would leave no active administrator: make another account admin first",
        );
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
        (changes.active.is_some(), "启用状态"),
        (changes.password_hash.is_some(), "密码"),
        (changes.role.is_some(), "角色"),
        (changes.unit_code.is_some(), "所属单位"),
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
                summary: &format!("变更账号{}：{}；其全部令牌已失效", user.id, what.join("、")),
                public_note: None,
                unit_note: None,
            },
            now,
        )?;
        Ok(updated)
    })
}

/// Before a log-in attempt (docs/architecture.md, "Limits"): an address over
/// its failure limit is refused (429); an account whose failures, from all
/// addresses together, have reached its limit may be tried only from an
/// address that has not failed itself — so strangers alone never lock the
/// owner out — and every attempt on an account under attack is held back a
/// growing time (returned, for the caller to wait before [`log_in`]).
pub fn login_gate(
    conn: &mut DbConn,
    keys: &crate::domain::privacy::PiiKeys,
    limits: &throttle::Limits,
    client: &str,
    username: &str,
    now: DateTime<Utc>,
) -> AppResult<std::time::Duration> {
    let k = throttle::Keys::new(keys, "login", client, username);
    let s = throttle::standing(conn, limits, &k, now)?;
    if s.address_failures >= limits.max_per_address
        || (s.subject_failures >= limits.max_per_subject && s.address_failures > 0)
    {
        return Err(throttle::too_many(limits.window));
    }
    Ok(throttle::pace(
        s.subject_failures,
        limits.max_per_subject,
        limits.max_delay,
    ))
}

/// The log-in attempt itself: the account, or the uniform 401, counted
/// against the address and the account.
pub fn log_in(
    conn: &mut DbConn,
    keys: &crate::domain::privacy::PiiKeys,
    limits: &throttle::Limits,
    client: &str,
    username: &str,
    password: &str,
    now: DateTime<Utc>,
) -> AppResult<User> {
    match authenticate(conn, username, password) {
        Err(AppError::Unauthorized) => {
            let k = throttle::Keys::new(keys, "login", client, username);
            throttle::fail(conn, limits, &k, now)?;
            metrics::counter!("duban_login_failures_total").increment(1);
            Err(AppError::Unauthorized)
        }
        other => other,
    }
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
