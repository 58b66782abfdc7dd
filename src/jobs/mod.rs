//! Background work inside `duban serve`: the e-mail outbox worker, the
//! escalation sweep and the audit log's sequencer.

pub mod audit;
pub mod escalation;
pub mod outbox;
