//! The standard's error answer and how the rest of the service's errors map
//! to its HTTP statuses.

use crate::error::AppError;

use super::document::{Doc, Node};
use super::fields::FieldNames;

/// The standard's error answer: an HTTP status (404 for what does not exist,
/// 403 for a missing or wrong `api_key`, 400 for everything else) and one
/// description per problem, each naming the Open311 field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Open311Error {
    pub status: u16,
    pub descriptions: Vec<String>,
}

impl Open311Error {
    pub fn new(status: u16, description: impl Into<String>) -> Self {
        Self {
            status,
            descriptions: vec![description.into()],
        }
    }

    pub fn bad(description: impl Into<String>) -> Self {
        Self::new(400, description)
    }

    pub fn not_found(description: impl Into<String>) -> Self {
        Self::new(404, description)
    }

    /// `<errors><error><code/><description/></error>…</errors>`.
    pub fn doc(&self) -> Doc {
        Doc {
            root: "errors",
            node: Node::List {
                item: "error",
                items: self
                    .descriptions
                    .iter()
                    .map(|d| {
                        Node::Record(vec![
                            ("code", Node::Int(i64::from(self.status))),
                            ("description", Node::text(d.clone())),
                        ])
                    })
                    .collect(),
            },
        }
    }

    /// Maps an error of the rest of the service, naming fields as Open311
    /// does (`names` translates intake's field paths).
    pub fn from_app(e: AppError, names: &FieldNames) -> Self {
        match e {
            AppError::Validation(fields) => Self {
                status: 400,
                descriptions: fields
                    .into_iter()
                    .map(|f| format!("{}: {}", names.open311(&f.field), f.message))
                    .collect(),
            },
            AppError::NotFound => Self::not_found("not found"),
            AppError::TooManyRequests {
                retry_after_seconds,
            } => Self::new(
                429,
                format!(
                    "too many requests from this address; try again in {retry_after_seconds} seconds"
                ),
            ),
            AppError::Unauthorized | AppError::Forbidden => Self::new(403, "not allowed"),
            AppError::Internal(cause) => {
                // The cause goes to the log, never to the client.
                tracing::error!(error.cause_chain = ?cause, "internal error");
                Self::bad("general service error; quote the X-Request-Id header when reporting it")
            }
            AppError::Unavailable(cause) => {
                tracing::warn!(error.cause = %cause, "dependency unavailable");
                Self::bad(
                    "general service error: the database is not available; please retry shortly",
                )
            }
            other => Self::bad(other.to_string()),
        }
    }
}

impl From<AppError> for Open311Error {
    fn from(e: AppError) -> Self {
        Self::from_app(e, &FieldNames::default())
    }
}

impl From<crate::db::Error> for Open311Error {
    fn from(e: crate::db::Error) -> Self {
        AppError::from(e).into()
    }
}

pub type Open311Result<T> = Result<T, Open311Error>;
