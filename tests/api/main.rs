//! The one integration-test binary: black-box tests over HTTP against the
//! real service, on SQLite by default and on PostgreSQL with
//! `TEST_DATABASE_URL`.

mod accountability;
mod audit;
mod auditlog;
mod auth;
mod authz;
mod browser;
mod calls;
mod cli;
mod compose;
mod desk;
mod errors;
mod escalation;
mod helpers;
mod hostile;
mod intake;
mod letters;
mod mail;
mod open311;
mod openapi;
mod ops;
mod procedure;
mod reading;
mod security;
mod tallies;
mod tracking;
mod web;
mod workflow;
