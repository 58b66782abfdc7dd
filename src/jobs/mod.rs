//! Background work inside `duban serve`, each job run and watched by
//! `runner::Jobs`: the e-mail outbox worker, the escalation sweep, the audit
//! log's sequencer, the folding of the reporting aggregates and
//! housekeeping.

pub mod audit;
pub mod escalation;
pub mod housekeeping;
pub mod outbox;
pub mod runner;
pub mod tallies;
