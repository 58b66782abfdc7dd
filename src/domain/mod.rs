//! Rules with no HTTP in them. Functions take a connection, the actor and
//! `now`; they never read the wall clock or global configuration.

pub mod accountability;
pub mod audit;
pub mod audit_log;
pub mod calendar;
pub mod callbacks;
pub mod callers;
pub mod calls;
pub mod cases;
pub mod channels;
pub mod command;
pub mod commands;
pub mod duplicates;
pub mod env;
pub mod escalation;
pub mod export;
pub mod idempotency;
pub mod intake;
pub mod labels;
pub mod letters;
pub mod merkle;
pub mod notices;
pub mod open311;
pub mod points;
pub mod privacy;
pub mod queue;
pub mod ranking;
pub mod reference;
pub mod routing;
pub mod status;
pub mod supplements;
pub mod throttle;
pub mod tracking;
pub mod users;
pub mod validation;
pub mod workflow;
