//! Background work inside `duban serve`: the e-mail outbox worker.

pub mod outbox;
