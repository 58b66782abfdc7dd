//! Authentication and authorization: argon2id passwords, HS256 access tokens
//! with a per-user version for instant revocation, the extractor that turns a
//! bearer token into an [`Actor`] handler argument, and the policy module that
//! decides every permission.

pub mod extractor;
pub mod password;
pub mod policy;
pub mod token;

use policy::Role;

/// The authenticated user a request acts as.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: i64,
    pub role: Role,
    /// The unit of a `unit` officer.
    pub unit_code: Option<String>,
}
