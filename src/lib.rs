//! Duban (督办): complaint intake, routing and supervision for a county
//! efficiency office. README.md says what it does; docs/architecture.md how.

pub mod api;
pub mod auth;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod jobs;
pub mod request;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod web;
