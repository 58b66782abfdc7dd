//! Background work inside `duban serve`: the e-mail outbox worker, the
//! escalation sweep, the audit log's sequencer and the folding of the
//! reporting aggregates.

pub mod audit;
pub mod escalation;
pub mod housekeeping;
pub mod outbox;
pub mod runner;
pub mod tallies;
