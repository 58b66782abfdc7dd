//! Every request body the service reads, as a type (docs/architecture.md,
//! *Commands*). Each is filled by [`crate::domain::command::parse`] from JSON,
//! a page's form or Open311's fields, and its schema in the OpenAPI document
//! is generated from it. What the fields alone cannot say — one field needed
//! because of another, a date against today — is the command's [`Check`].

use chrono::NaiveDate;

use crate::auth::policy::{Action, Role};
use crate::domain::command::{
    CallStart, CategoryCode, Check, Command, Deduction, Due, Email, IdNumber, Int, Lines, Occurred,
    Parse, Phone, Scalar, SituationCode, Source, Text, UnitCode, Workdays, given, path,
};
use crate::error::Code;
use crate::{choice, command};

choice!(
    /// How a satisfaction question was answered.
    pub enum Satisfaction {
        Satisfied = "satisfied",
        BasicallySatisfied = "basically_satisfied",
        Unsatisfied = "unsatisfied",
    }
);

impl Scalar for Role {
    fn scalar(v: &serde_json::Value, _: Source) -> Result<Self, (Code, Option<String>)> {
        v.as_str()
            .and_then(|s| Role::parse(s.trim()))
            .ok_or_else(|| {
                (
                    Code::OneOf {
                        allowed: Role::NAMES.iter().map(|s| (*s).to_owned()).collect(),
                    },
                    None,
                )
            })
    }
}

impl utoipa::PartialSchema for Role {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(Role::NAMES.iter().copied()))
            .into()
    }
}

impl utoipa::ToSchema for Role {}

impl<'de> serde::Deserialize<'de> for Role {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Role::parse(&s).ok_or_else(|| serde::de::Error::unknown_variant(&s, Role::NAMES))
    }
}

// ---- Intake -----------------------------------------------------------------

command!(
    /// Who complains. Kept sealed; no unit ever sees it.
    pub struct Complainant {
        pub name: Text<1, 50>,
        /// Required when the complaint is filed on its own; on a hotline
        /// call the caller's number stands in.
        pub phone: Option<Phone>,
        pub email: Option<Email>,
        pub id_number: Option<IdNumber>,
        pub address: Option<Text<1, 200>>,
    }
);

command!(
    /// A complaint (the public form, the API, inside a hotline call). Name
    /// and phone of the complainant are required unless it is anonymous.
    pub struct CreateComplaint {
        #[schema(example = "办证被索要好处费")]
        pub title: Text<1, 200>,
        pub content: Lines<10, 10000>,
        /// Category code (`GET /api/v1/categories`).
        pub category: Option<CategoryCode>,
        /// Code of the unit complained about (`GET /api/v1/units`).
        pub subject_unit: Option<UnitCode>,
        pub subject_person: Option<Text<1, 50>>,
        pub township: Option<Text<1, 50>>,
        /// When it happened: not in the future, not before 1990.
        pub occurred_on: Option<Occurred>,
        /// Nothing about an anonymous complainant is stored.
        pub anonymous: bool = false,
        pub complainant: Option<Complainant>,
    },
    checked as CreateComplaintDraft
);

impl Check for CreateComplaintDraft {
    fn check(&self, prefix: &str, p: &mut Parse<'_>) {
        let Some(anonymous) = self.anonymous else {
            return;
        };
        match (&self.complainant, anonymous) {
            (c, true) if given(c) => p.add_with(
                path(prefix, "complainant"),
                Code::NotAllowed,
                "must be left out when anonymous is true (nothing about an anonymous \
                 complainant is stored)",
            ),
            (Some(None), false) => p.add(path(prefix, "complainant"), Code::Required),
            // Filed on its own, the complaint needs a number to call back;
            // in a call, `LogCall` lets the caller's number stand in.
            (Some(Some(c)), false) if prefix.is_empty() && c.phone.is_none() => {
                p.add("complainant.phone", Code::Required)
            }
            _ => {}
        }
    }
}

// ---- Public tracking --------------------------------------------------------

command!(
    /// A tracking number and its query code.
    pub struct TrackRequest {
        pub tracking_no: Text<1, 40>,
        pub query_code: Text<1, 40>,
    }
);

command!(
    /// The citizen's rating of a closed case, once.
    pub struct FeedbackRequest {
        pub tracking_no: Text<1, 40>,
        pub query_code: Text<1, 40>,
        pub satisfaction: Satisfaction,
        pub comment: Option<Lines<1, 1000>>,
    }
);

// ---- Accounts ---------------------------------------------------------------

/// A password as typed: not trimmed, 1 to 1024 bytes, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(…)")
    }
}

impl Scalar for Password {
    fn scalar(v: &serde_json::Value, _: Source) -> Result<Self, (Code, Option<String>)> {
        match v.as_str() {
            Some(s) if s.len() <= 1024 => Ok(Password(s.to_owned())),
            Some(_) => Err((Code::TooLong { max: 1024 }, None)),
            None => Err((
                Code::WrongType {
                    expected: "a string",
                },
                None,
            )),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Password {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Password(String::deserialize(d)?))
    }
}

impl utoipa::PartialSchema for Password {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Password,
            )))
            .min_length(Some(1))
            .max_length(Some(1024))
            .into()
    }
}

impl utoipa::ToSchema for Password {}

command!(
    /// A log-in.
    pub struct TokenRequest {
        pub username: Text<1, 64>,
        pub password: Password,
    }
);

command!(
    /// A new staff account. `unit` is required for role `unit` and refused
    /// for the others; the password must be at least 12 characters.
    pub struct CreateUser {
        pub username: Text<1, 64>,
        pub role: Role,
        pub unit: Option<UnitCode>,
        pub password: Password,
    }
);

pub const MIN_PASSWORD_CHARS: usize = 12;

command!(
    /// Changes to an account; each one revokes the account's tokens.
    pub struct UpdateUser {
        pub active: Option<bool>,
        pub password: Option<Text<{ MIN_PASSWORD_CHARS }, 1024>>,
        pub role: Option<Role>,
        pub unit: Option<UnitCode>,
    }
);

// ---- The hotline -------------------------------------------------------------

choice!(
    /// What came of a call. The first four stand alone (a `complaint` files
    /// a new case); the next four are about an existing case, named by
    /// `tracking_no`; `transferred` passes the caller to another line.
    pub enum Disposition {
        Answered = "answered",
        Consultation = "consultation",
        Complaint = "complaint",
        Invalid = "invalid",
        StatusInquiry = "status_inquiry",
        FollowUp = "follow_up",
        Supplement = "supplement",
        Callback = "callback",
        Transferred = "transferred",
    }
);

impl Disposition {
    /// Whether the call is about an existing case.
    pub fn linked(self) -> bool {
        matches!(
            self,
            Disposition::StatusInquiry
                | Disposition::FollowUp
                | Disposition::Supplement
                | Disposition::Callback
        )
    }
}

choice!(
    /// The lines a call may be passed to; `other` names the body.
    pub enum TransferTarget {
        Police = "110",
        Hotline = "12345",
        Discipline = "12388",
        Other = "other",
    }
);

choice!(
    /// How a callback attempt went.
    pub enum CallOutcome {
        Reached = "reached",
        NoAnswer = "no_answer",
        Refused = "refused",
    }
    default Reached
);

command!(
    /// One callback attempt: `satisfaction` is required when the citizen was
    /// reached and refused otherwise.
    pub struct CallbackAttempt {
        pub outcome: CallOutcome = CallOutcome::Reached,
        pub satisfaction: Option<Satisfaction>,
        pub note: Option<Lines<1, 2000>>,
    },
    checked as CallbackAttemptDraft
);

impl Check for CallbackAttemptDraft {
    fn check(&self, prefix: &str, p: &mut Parse<'_>) {
        match (self.outcome, &self.satisfaction) {
            (Some(CallOutcome::Reached), Some(None)) => p.add_with(
                path(prefix, "satisfaction"),
                Code::Required,
                "is required when the citizen was reached",
            ),
            (Some(CallOutcome::NoAnswer | CallOutcome::Refused), s) if given(s) => p.add_with(
                path(prefix, "satisfaction"),
                Code::NotAllowed,
                "is given only when the citizen was reached",
            ),
            _ => {}
        }
    }
}

command!(
    /// A hotline call; `complaint` is required when `disposition` is
    /// `complaint`, and is then received at `started_at`. A call about an
    /// existing case (`status_inquiry`, `follow_up`, `supplement`,
    /// `callback`) names it by `tracking_no`; `supplement` carries the
    /// caller's added facts, `callback` the attempt; `transferred` names the
    /// line in `transferred_to`.
    pub struct LogCall {
        pub caller_phone: Option<Phone>,
        pub started_at: CallStart,
        pub duration_seconds: Int<0, 86400>,
        pub summary: Lines<1, 2000>,
        pub disposition: Disposition,
        pub complaint: Option<CreateComplaint>,
        pub tracking_no: Option<Text<1, 40>>,
        pub supplement: Option<Lines<5, 10000>>,
        pub callback: Option<CallbackAttempt>,
        pub transferred_to: Option<TransferTarget>,
        pub transferred_to_name: Option<Text<1, 100>>,
    },
    checked as LogCallDraft
);

impl Check for LogCallDraft {
    fn check(&self, _prefix: &str, p: &mut Parse<'_>) {
        let cx = p.context;
        let Some(d) = self.disposition else {
            return;
        };
        // Each field belongs to its disposition: required there, refused
        // elsewhere.
        let rules = [
            (
                "complaint",
                given(&self.complaint),
                d == Disposition::Complaint,
                "complaint",
            ),
            (
                "tracking_no",
                given(&self.tracking_no),
                d.linked(),
                "status_inquiry, follow_up, supplement, callback",
            ),
            (
                "supplement",
                given(&self.supplement),
                d == Disposition::Supplement,
                "supplement",
            ),
            (
                "callback",
                given(&self.callback),
                d == Disposition::Callback,
                "callback",
            ),
            (
                "transferred_to",
                given(&self.transferred_to),
                d == Disposition::Transferred,
                "transferred",
            ),
        ];
        for (name, given, belongs, what) in rules {
            match (given, belongs) {
                (false, true) => p.add(name, Code::Required),
                (true, false) => p.add_with(
                    name,
                    Code::NotAllowed,
                    format!("is only accepted with disposition {what}"),
                ),
                _ => {}
            }
        }
        let name = &self.transferred_to_name;
        match (self.transferred_to.flatten(), name) {
            (_, name) if given(name) && d != Disposition::Transferred => p.add_with(
                "transferred_to_name",
                Code::NotAllowed,
                "is only accepted with disposition transferred",
            ),
            (Some(TransferTarget::Other), Some(None)) => {
                p.add("transferred_to_name", Code::Required)
            }
            (Some(t), name) if given(name) && t != TransferTarget::Other => p.add_with(
                "transferred_to_name",
                Code::NotAllowed,
                "is given only when transferred_to is other",
            ),
            _ => {}
        }
        if let Some(Some(c)) = &self.complaint {
            if c.complainant.as_ref().is_some_and(|c| c.phone.is_none())
                && matches!(self.caller_phone, Some(None))
            {
                p.add("complaint.complainant.phone", Code::Required);
            }
            // The complaint is received when the call began.
            if let Some(start) = self.started_at
                && c.occurred_on.is_some_and(|o| o.0 > cx.local_date(start.0))
            {
                p.add("complaint.occurred_on", Code::InFuture);
            }
        }
    }
}

// ---- The case workflow -------------------------------------------------------

choice!(
    /// A screening: `invalid` rejects (with a reason), `duplicate` merges into
    /// the case `duplicate_of`, `not_duplicate` clears the possible-duplicate
    /// flag.
    pub enum ScreenDecision {
        Invalid = "invalid",
        Duplicate = "duplicate",
        NotDuplicate = "not_duplicate",
    }
);

command!(
    /// A supervisor's screening of a case.
    pub struct Screen {
        pub decision: ScreenDecision,
        pub reason: Option<Lines<1, 500>>,
        pub duplicate_of: Option<Text<1, 40>>,
    },
    checked as ScreenDraft
);

impl Check for ScreenDraft {
    fn check(&self, _: &str, p: &mut Parse<'_>) {
        match self.decision {
            Some(ScreenDecision::Invalid) if matches!(self.reason, Some(None)) => p.add_with(
                "reason",
                Code::Required,
                "is required for an invalid complaint",
            ),
            Some(ScreenDecision::Duplicate) if matches!(self.duplicate_of, Some(None)) => p
                .add_with(
                    "duplicate_of",
                    Code::Required,
                    "is required for a duplicate",
                ),
            _ => {}
        }
    }
}

command!(
    /// Routes a case to a unit by hand (or re-routes it).
    pub struct AssignCase {
        /// The unit's code (`GET /api/v1/units`).
        pub unit: UnitCode,
        /// Working days to handle the case (default: the category's limit).
        pub handle_workdays: Option<Workdays>,
        pub note: Option<Lines<1, 1000>>,
        /// Sent once the supervisor has checked a possible conflict of
        /// interest the service pointed out.
        pub confirm: bool = false,
    }
);

command!(
    /// A reason, as a unit asks to return a case.
    pub struct ReturnRequest {
        pub reason: Lines<5, 1000>,
    }
);

choice!(
    /// A supervisor's answer to a request.
    pub enum Approval {
        Approve = "approve",
        Deny = "deny",
    }
);

command!(
    /// A supervisor's decision on a return, an extension or a public note.
    pub struct Decide {
        pub decision: Approval,
        pub note: Option<Lines<1, 1000>>,
    }
);

command!(
    /// A progress note of the unit; `public` asks for it to be shown on the
    /// citizen's page (after the office's approval unless the unit is
    /// trusted).
    pub struct AddProgress {
        pub content: Lines<1, 2000>,
        pub public: bool = false,
    }
);

command!(
    /// More working days for the handling deadline.
    pub struct RequestExtension {
        pub workdays: Workdays,
        pub reason: Lines<5, 1000>,
    }
);

command!(
    /// One rectification measure of a report.
    pub struct RectificationItem {
        pub content: Lines<2, 2000>,
        pub responsible_person: Text<1, 100>,
        pub deadline: NaiveDate,
        pub target: Lines<2, 2000>,
    }
);

/// The most rectification items a report may list.
pub const MAX_RECTIFICATION_ITEMS: usize = 50;

command!(
    /// The unit's final report.
    pub struct SubmitReport {
        pub findings: Lines<10, 10000>,
        pub measures: Lines<5, 10000>,
        pub responsible_person: Text<1, 100>,
        pub rectification_deadline: Due,
        pub target: Lines<2, 2000>,
        /// What the citizen reads.
        pub public_reply: Lines<5, 5000>,
        #[schema(max_items = 50)]
        pub rectification_items: Vec<RectificationItem> = Vec::new(),
    },
    checked as SubmitReportDraft
);

impl Check for SubmitReportDraft {
    fn check(&self, _: &str, p: &mut Parse<'_>) {
        if self
            .rectification_items
            .as_ref()
            .is_some_and(|items| items.len() > MAX_RECTIFICATION_ITEMS)
        {
            p.add(
                "rectification_items",
                Code::TooMany {
                    max: MAX_RECTIFICATION_ITEMS,
                },
            );
        }
    }
}

choice!(
    /// The office's review of a report.
    pub enum ReviewDecision {
        Accept = "accept",
        Redo = "redo",
    }
);

command!(
    /// Accept a report, or order a redo (with a comment saying what is
    /// missing and optionally new working days).
    pub struct Review {
        pub decision: ReviewDecision,
        pub comment: Option<Lines<1, 2000>>,
        pub handle_workdays: Option<Workdays>,
    },
    checked as ReviewDraft
);

impl Check for ReviewDraft {
    fn check(&self, _: &str, p: &mut Parse<'_>) {
        if self.decision == Some(ReviewDecision::Redo) && matches!(self.comment, Some(None)) {
            p.add_with(
                "comment",
                Code::Required,
                "is required when ordering a redo: say what is missing",
            );
        }
    }
}

choice!(
    /// What the office does with an unsatisfied citizen's closed case.
    pub enum ReopenDecision {
        Reopen = "reopen",
        KeepClosed = "keep_closed",
    }
    default Reopen
);

command!(
    /// Reopen a closed case whose citizen is unsatisfied, or keep it closed.
    pub struct Reopen {
        pub reason: Lines<5, 2000>,
        pub handle_workdays: Option<Workdays>,
        pub decision: ReopenDecision = ReopenDecision::Reopen,
    }
);

command!(
    /// Why a closed case's complainant number is opened for a callback.
    pub struct ContactRequest {
        pub reason: Lines<2, 500>,
    }
);

// ---- Accountability ----------------------------------------------------------

choice!(
    /// The decisions of an accountability case.
    pub enum AccountabilityDecision {
        Dismissed = "dismissed",
        Criticism = "criticism",
        EfficiencyWarning = "efficiency_warning",
        Admonishment = "admonishment",
        Organizational = "organizational",
        EconomicPenalty = "economic_penalty",
    }
);

/// A case's tracking number, checked against the cases when the request is
/// refused anyway.
pub type CaseNo = crate::domain::command::RefCode<crate::domain::command::CaseRef>;

command!(
    /// Opens an accountability case by hand against a unit.
    pub struct OpenAccountability {
        pub unit: UnitCode,
        pub person: Option<Text<1, 50>>,
        /// The complaint it is about, if any.
        pub tracking_no: Option<CaseNo>,
        pub situation: Option<SituationCode>,
        pub reason: Lines<1, 2000>,
        /// A provisional deduction, booked at once and reversed by the
        /// decision.
        pub provisional_points: Option<Deduction>,
    }
);

command!(
    /// The unit's written defence.
    pub struct FileDefence {
        pub content: Lines<1, 5000>,
    }
);

command!(
    /// The decision of an accountability case. `points` (the change to the
    /// score, e.g. -2) defaults to the situation's; `defence_waived` records
    /// that the unit waived its defence (say how in `note`).
    pub struct DecideAccountability {
        pub decision: AccountabilityDecision,
        pub situation: Option<SituationCode>,
        pub points: Option<Deduction>,
        pub note: Option<Lines<1, 2000>>,
        pub defence_waived: bool = false,
    },
    checked as DecideAccountabilityDraft
);

impl Check for DecideAccountabilityDraft {
    fn check(&self, _: &str, p: &mut Parse<'_>) {
        if self.decision == Some(AccountabilityDecision::Dismissed)
            && matches!(self.points, Some(Some(d)) if d.0 != 0)
        {
            p.add_with(
                "points",
                Code::NotAllowed,
                "must be 0 or absent when the case is dismissed",
            );
        }
        if self.defence_waived == Some(true) && matches!(self.note, Some(None)) {
            p.add_with(
                "note",
                Code::Required,
                "is required with defence_waived: say how the unit waived its defence",
            );
        }
    }
}

// ---- The audit log -----------------------------------------------------------

impl crate::domain::command::FromInput for crate::domain::audit_log::Checkpoint {
    fn from_input(v: &serde_json::Value, path: &str, p: &mut Parse<'_>) -> Option<Self> {
        crate::domain::command::with_serde(v, path, p)
    }
}

command!(
    /// Checkpoints kept outside the service, to verify the log against.
    pub struct VerifyOutside {
        /// As `GET /audit/checkpoints`, the e-mails and the checkpoint file
        /// give them.
        #[schema(max_items = 100000)]
        pub checkpoints: Vec<crate::domain::audit_log::Checkpoint>,
    }
);

/// Who may send each staff command.
macro_rules! actions {
    ($($action:ident: $($cmd:ident),+;)+) => {
        $($(impl Command for $cmd {
            const ACTION: Action = Action::$action;
        })+)+
    };
}

actions! {
    Supervise: Screen, AssignCase, Decide, Review, Reopen, OpenAccountability, DecideAccountability;
    Handle: ReturnRequest, AddProgress, RequestExtension, SubmitReport, FileDefence;
    Callback: CallbackAttempt, ContactRequest;
    LogCall: LogCall;
    ManageUsers: CreateUser, UpdateUser;
    VerifyAudit: VerifyOutside;
}
