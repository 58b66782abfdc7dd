//! Who may do what: the one place permissions are decided. Domain functions
//! call [`require`] before acting and [`can_see_case`] before showing a case.

use serde::Serialize;

use super::Actor;
use crate::error::{AppError, AppResult};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Supervisor,
    Operator,
    Unit,
    Auditor,
}

impl Role {
    pub const NAMES: &'static [&'static str] =
        &["admin", "supervisor", "operator", "unit", "auditor"];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Operator => "operator",
            Role::Unit => "unit",
            Role::Auditor => "auditor",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "admin" => Role::Admin,
            "supervisor" => Role::Supervisor,
            "operator" => Role::Operator,
            "unit" => Role::Unit,
            "auditor" => Role::Auditor,
            _ => return None,
        })
    }
}

/// Everything a staff member can ask to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    LogCall,
    ListCalls,
    ListComplaints,
    ViewComplaint,
    /// See a complainant's name, phone, e-mail, ID number and address.
    ViewIdentity,
    VerifyAudit,
    ManageUsers,
    /// Screen, assign, decide returns and extensions, review, reopen.
    Supervise,
    /// A unit's own work on its cases: acknowledge, return, progress,
    /// extensions, report.
    Handle,
    /// Ask the citizen whether they are satisfied.
    Callback,
    /// Read letters (a unit: its own).
    ReadLetters,
    /// Run an escalation sweep now.
    RunSweep,
    /// Read the escalation steps fired.
    ReadEscalations,
    /// Read accountability cases (a unit: its own).
    ReadAccountability,
    /// Read the units' ranking.
    ReadRanking,
    /// Read the statistics and export the case list.
    ReadStats,
    /// See which account did what in the audit trail, and search it.
    ReadAuditActors,
    /// Read the notices sent to units (a unit: its own).
    ReadNotices,
}

/// The permission table (README, "The API in brief").
pub fn permits(role: Role, action: Action) -> bool {
    use Action::*;
    use Role::*;
    match action {
        LogCall => role == Operator,
        ListCalls => matches!(role, Operator | Supervisor),
        ListComplaints => matches!(role, Supervisor | Auditor | Unit),
        ViewComplaint => true,
        ViewIdentity => matches!(role, Supervisor | Admin),
        VerifyAudit => matches!(role, Auditor | Admin),
        ManageUsers => role == Admin,
        Supervise => role == Supervisor,
        Handle => role == Unit,
        Callback => matches!(role, Operator | Supervisor),
        ReadLetters => true,
        RunSweep => matches!(role, Admin | Supervisor),
        ReadEscalations => matches!(role, Supervisor | Auditor),
        ReadAccountability => matches!(role, Supervisor | Auditor | Unit),
        ReadRanking => true,
        ReadStats => matches!(role, Supervisor | Auditor),
        ReadAuditActors => matches!(role, Auditor | Admin),
        ReadNotices => matches!(role, Unit | Supervisor | Auditor | Admin),
    }
}

/// 403 unless the actor's role permits the action.
pub fn require(actor: &Actor, action: Action) -> AppResult<()> {
    if permits(actor.role, action) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// The unit a `unit` officer is confined to; `None` for every other role.
pub fn unit_scope(actor: &Actor) -> Option<&str> {
    match actor.role {
        Role::Unit => Some(actor.unit_code.as_deref().unwrap_or("")),
        _ => None,
    }
}

/// A unit officer sees only cases its unit is responsible for; other staff
/// see every case.
pub fn can_see_case(actor: &Actor, responsible_unit: Option<&str>) -> bool {
    match unit_scope(actor) {
        Some(own) => responsible_unit == Some(own) && !own.is_empty(),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, unit: Option<&str>) -> Actor {
        Actor {
            user_id: 1,
            role,
            unit_code: unit.map(str::to_owned),
        }
    }

    #[test]
    fn only_supervisors_and_admins_see_identity() {
        for role in [Role::Operator, Role::Unit, Role::Auditor] {
            assert!(!permits(role, Action::ViewIdentity), "{role:?}");
        }
        assert!(permits(Role::Supervisor, Action::ViewIdentity));
        assert!(permits(Role::Admin, Action::ViewIdentity));
    }

    #[test]
    fn a_unit_sees_only_its_own_cases() {
        let u = actor(Role::Unit, Some("GAJ"));
        assert!(can_see_case(&u, Some("GAJ")));
        assert!(!can_see_case(&u, Some("JTJ")));
        assert!(!can_see_case(&u, None));
        assert!(!can_see_case(&actor(Role::Unit, None), None));
        assert!(can_see_case(&actor(Role::Auditor, None), Some("JTJ")));
    }
}
