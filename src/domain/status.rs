//! A case's status and the actions that move it (docs/architecture.md, *The
//! case lifecycle*): one table says which action each status allows and
//! where it leads, so every 409 for a case in the wrong state comes from
//! [`Status::apply`]. Stored as its text; a leaf module (the storage layer
//! names statuses and flags through it too).

use crate::choice;
use crate::error::{AppError, AppResult};

choice!(
    /// Where a case stands.
    pub enum Status {
        /// Filed; waiting to be routed (or screened).
        Received = "received",
        /// Sent to a unit; waiting for it to sign for it.
        Assigned = "assigned",
        /// Signed for; the unit is handling it.
        InProgress = "in_progress",
        /// The unit reported; waiting for the office's review.
        Reported = "reported",
        /// Accepted by the office.
        Closed = "closed",
        /// Not taken up (screened out or voided).
        Rejected = "rejected",
        /// Merged into another case.
        Merged = "merged",
    }
);

/// What can be done to a case, as far as its status is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    /// Screened out as invalid: a received case is rejected, one already
    /// sent out is voided.
    ScreenInvalid,
    /// The possible-duplicate flag dismissed.
    DismissDuplicate,
    /// Merged into another case.
    Merge,
    /// Sent to a unit (routing, by hand, or re-routing).
    Assign,
    /// Signed for by the unit.
    Acknowledge,
    /// The unit asks to return it.
    AskReturn,
    /// The office agrees to take it back.
    ApproveReturn,
    /// The office keeps it with the unit.
    DenyReturn,
    /// A progress note.
    Progress,
    /// The unit asks for more working days, or the office decides on it.
    Extension,
    /// The unit's final report.
    Report,
    /// The office accepts the report.
    Accept,
    /// The office orders the unit to redo it.
    Redo,
    /// A rating: a callback or the citizen's own feedback.
    Rate,
    /// Sent back to its unit because the citizen is unsatisfied.
    Reopen,
    /// Kept closed although the citizen is unsatisfied.
    KeepClosed,
}

impl Status {
    /// The statuses in which a case still asks something of someone.
    pub const OPEN: &'static [Status] = &[
        Status::Received,
        Status::Assigned,
        Status::InProgress,
        Status::Reported,
    ];

    pub fn is_open(self) -> bool {
        Status::OPEN.contains(&self)
    }

    /// The unit holds the case (it was sent out and is not closed).
    pub fn is_with_unit(self) -> bool {
        matches!(
            self,
            Status::Assigned | Status::InProgress | Status::Reported
        )
    }

    /// The unit's clocks run: sent out, not yet reported.
    pub fn clocks_run(self) -> bool {
        matches!(self, Status::Assigned | Status::InProgress)
    }

    /// Not taken up, or folded into another case.
    pub fn is_dropped(self) -> bool {
        matches!(self, Status::Rejected | Status::Merged)
    }

    /// The status a stored text names (the column only ever holds these).
    pub fn of(text: &str) -> AppResult<Status> {
        Status::parse(text)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("unknown case status {text:?}")))
    }

    /// Where `act` leads from this status, if it is allowed here.
    pub fn after(self, act: Act) -> Option<Status> {
        use Act::*;
        use Status::*;
        match (act, self) {
            (ScreenInvalid, Received | Assigned | InProgress | Reported) => Some(Rejected),
            (DismissDuplicate, s) if s.is_open() => Some(s),
            (Merge, Received) => Some(Merged),
            (Assign, Received | Assigned | InProgress) => Some(Assigned),
            (Acknowledge, Assigned) => Some(InProgress),
            (AskReturn | DenyReturn | Extension, s @ (Assigned | InProgress)) => Some(s),
            (ApproveReturn, Assigned | InProgress) => Some(Received),
            (Progress, InProgress) => Some(InProgress),
            (Report, InProgress) => Some(Reported),
            (Accept, Reported) => Some(Closed),
            (Redo, Reported) => Some(InProgress),
            (Rate | KeepClosed, Closed) => Some(Closed),
            (Reopen, Closed) => Some(InProgress),
            _ => None,
        }
    }

    /// Where `act` leads, or the 409 naming the status that does not allow
    /// it.
    pub fn apply(self, act: Act) -> AppResult<Status> {
        self.after(act).ok_or_else(|| {
            AppError::Conflict(format!("not possible while the case is {}", self.as_str()))
        })
    }

    /// The words a person reads for it.
    pub fn label(self) -> &'static str {
        match self {
            Status::Received => "已受理",
            Status::Assigned => "已转办",
            Status::InProgress => "办理中",
            Status::Reported => "已办结待审核",
            Status::Closed => "已办结",
            Status::Rejected => "不予受理",
            Status::Merged => "已合并",
        }
    }
}

/// The stored text of [`Status::OPEN`], for the storage layer's filters (a
/// test holds the two together).
pub const OPEN_CODES: &[&str] = &["received", "assigned", "in_progress", "reported"];

choice!(
    /// What a case waits for the office to do: the filters of the case list
    /// (`flag=`) and the office's queue.
    pub enum Flag {
        ReturnRequested = "return_requested",
        NeedsConfirmation = "needs_confirmation",
        DeliveryFailed = "delivery_failed",
        Unsatisfied = "unsatisfied",
        ExtensionRequested = "extension_requested",
        ReportAwaitingReview = "report_awaiting_review",
        NoteAwaitingApproval = "note_awaiting_approval",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    const ACTS: &[Act] = &[
        Act::ScreenInvalid,
        Act::DismissDuplicate,
        Act::Merge,
        Act::Assign,
        Act::Acknowledge,
        Act::AskReturn,
        Act::ApproveReturn,
        Act::DenyReturn,
        Act::Progress,
        Act::Extension,
        Act::Report,
        Act::Accept,
        Act::Redo,
        Act::Rate,
        Act::Reopen,
        Act::KeepClosed,
    ];

    fn all() -> impl Iterator<Item = Status> {
        Status::CODES.iter().map(|c| Status::of(c).unwrap())
    }

    #[test]
    fn rejected_and_merged_cases_allow_nothing_and_every_act_is_possible_somewhere() {
        for act in ACTS {
            assert_eq!(Status::Rejected.after(*act), None, "{act:?}");
            assert_eq!(Status::Merged.after(*act), None, "{act:?}");
            assert!(all().any(|s| s.after(*act).is_some()), "{act:?}");
        }
    }

    #[test]
    fn a_case_goes_from_filing_to_closing_and_back_by_its_acts() {
        let mut s = Status::Received;
        for (act, to) in [
            (Act::Assign, Status::Assigned),
            (Act::Acknowledge, Status::InProgress),
            (Act::Report, Status::Reported),
            (Act::Redo, Status::InProgress),
            (Act::Report, Status::Reported),
            (Act::Accept, Status::Closed),
            (Act::Reopen, Status::InProgress),
        ] {
            s = s.apply(act).unwrap();
            assert_eq!(s, to, "{act:?}");
        }
        let e = Status::Closed.apply(Act::Report).unwrap_err();
        assert!(e.to_string().contains("closed"), "{e}");
        assert!(matches!(e, AppError::Conflict(_)));
    }

    #[test]
    fn open_statuses_and_labels() {
        let open: Vec<&str> = Status::OPEN.iter().map(|s| s.as_str()).collect();
        assert_eq!(open, ["received", "assigned", "in_progress", "reported"]);
        assert!(!Status::Closed.is_open());
        assert!(Status::of("lost").is_err());
        assert_eq!(
            open, OPEN_CODES,
            "the stored texts the storage layer filters on"
        );
    }
}
