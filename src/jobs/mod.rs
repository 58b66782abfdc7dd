//! Background work inside `duban serve`: the e-mail outbox worker and the
//! escalation sweep.

pub mod escalation;
pub mod outbox;
