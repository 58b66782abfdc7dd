//! Building the service: pool, migrations, reference data, state, HTTP
//! server and background housekeeping.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::Context;

use crate::auth::token::TokenKeys;
use crate::config::{Secrets, Settings};
use crate::db::{self, DbTarget, Pool, PoolOptions};
use crate::domain::accountability::Catalogue;
use crate::domain::calendar::Calendar;
use crate::domain::env::Env;
use crate::domain::escalation::Ladder;
use crate::domain::letters::LetterEnv;
use crate::domain::merkle::AuditKeys;
use crate::domain::privacy::PiiKeys;
use crate::domain::reference;
use crate::domain::routing::Rules;
use crate::domain::throttle::Limits;
use crate::error::{self, AppError};
use crate::state::{AppState, Clock};
use crate::{api, telemetry};

/// Opens the pool, migrates and loads reference data. Waits up to
/// `patience` for the database to come up.
pub fn prepare_database(settings: &Settings, patience: Duration) -> anyhow::Result<Pool> {
    let target = DbTarget::parse(&settings.database.url)?;
    let pool = db::build_pool(
        &target,
        &PoolOptions {
            max_size: settings.database.pool_size,
            min_idle: settings.database.min_idle,
            connect_timeout: Duration::from_millis(settings.database.connect_timeout_ms),
            busy_timeout_ms: settings.database.busy_timeout_ms,
        },
    )?;
    let deadline = std::time::Instant::now() + patience;
    let mut conn = loop {
        match pool.get() {
            Ok(c) => break c,
            Err(e) if std::time::Instant::now() < deadline => {
                tracing::warn!(error = %e, "database not reachable yet; retrying");
                std::thread::sleep(Duration::from_secs(1));
            }
            Err(e) => return Err(e).context("cannot connect to the database"),
        }
    };
    let applied = db::run_migrations(&mut conn)?;
    if applied > 0 {
        tracing::info!(migrations = applied, "database migrated");
    }
    let report = reference::load(
        &mut conn,
        &settings.config_dir,
        settings.county.limit_factor,
        chrono::Utc::now(),
    )?;
    tracing::info!(
        units_changed = report.units_changed,
        categories_changed = report.categories_changed,
        "reference data loaded"
    );
    Ok(pool)
}

/// Builds the shared state from settings, secrets and a ready pool.
pub fn build_state(
    settings: Settings,
    secrets: &Secrets,
    pool: Pool,
    clock: Clock,
) -> anyhow::Result<AppState> {
    let calendar = Arc::new(Calendar::load_dir(&settings.config_dir.join("calendar"))?);
    tracing::info!(years = ?calendar.years(), "working-day calendar loaded");
    crate::telemetry::report_calendar(&calendar, settings.time_zone(), chrono::Utc::now());
    let routing = Rules::load(&settings.config_dir, settings.routing.leader_titles.clone())?;
    {
        // A rule naming a unit that does not exist never routes anything.
        let mut conn = pool.get()?;
        for code in routing.named_units() {
            if !db::units::exists_active(&mut conn, code)? {
                tracing::warn!(
                    unit = code,
                    "config/routing.toml names an unknown or inactive unit"
                );
            }
        }
    }
    // The public pages' templates are parsed once, here, not on a first visit.
    crate::web::templates();
    let ladder = Ladder::new(&settings.escalation, Catalogue::load(&settings.config_dir)?)?;
    let letters = LetterEnv::load(
        &settings.config_dir,
        &settings.letters,
        &settings.smtp,
        settings.time_zone(),
    )?;
    Ok(AppState {
        delivery: crate::jobs::outbox::Delivery::of(&settings.smtp),
        jobs: crate::jobs::runner::Jobs::new(),
        pool: pool.clone(),
        tokens: TokenKeys::new(
            &secrets.jwt_secret,
            &settings.auth.issuer,
            settings.auth.token_ttl_seconds,
        ),
        intake: Env {
            keys: PiiKeys::new(&secrets.pii_key),
            tracking_prefix: settings.county.tracking_prefix.clone(),
            tz: settings.time_zone(),
            limit_factor: settings.county.limit_factor,
            calendar: calendar.clone(),
            routing: Arc::new(routing),
            letters: Arc::new(letters),
            return_window: settings.workflow.return_window,
            limits: crate::domain::env::IntakeLimits::from_settings(&settings.intake),
            trusted_units: Arc::new(settings.workflow.trusted_units.clone()),
            callbacks: crate::domain::callbacks::CallbackRules {
                after_workdays: settings.workflow.callback_after_workdays,
                unreachable_days: settings.workflow.callback_unreachable_days,
            },
            duplicates: crate::domain::duplicates::DuplicateRules {
                window: chrono::Duration::days(settings.workflow.duplicate_window_days),
                min_similarity: settings.workflow.duplicate_min_similarity,
            },
        },
        tracking: Limits {
            window: chrono::Duration::seconds(settings.tracking.window_seconds),
            max_per_address: settings.tracking.max_failures_per_address,
            max_per_subject: settings.tracking.max_failures_per_case,
            max_delay: Duration::from_millis(settings.tracking.max_delay_ms),
        },
        login: Limits {
            window: chrono::Duration::seconds(settings.auth.login_window_seconds),
            max_per_address: settings.auth.max_login_failures_per_address,
            max_per_subject: settings.auth.max_login_failures_per_user,
            max_delay: Duration::from_millis(settings.auth.max_login_delay_ms),
        },
        calendar,
        ladder: Arc::new(ladder),
        clock,
        metrics: telemetry::metrics_handle(),
        writer: Some(db::batch::GroupWriter::start(pool.clone())),
        audit: Arc::new(AuditKeys::from_seed(&secrets.audit_seed)),
        settings: Arc::new(settings),
    })
}

async fn not_found() -> Result<actix_web::HttpResponse, AppError> {
    Err(AppError::NotFound)
}

/// A bound, not yet running, server.
pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
}

impl Application {
    /// Binds `settings.server.bind` (port 0 picks a free port).
    pub async fn build(settings: Settings, secrets: Secrets, clock: Clock) -> anyhow::Result<Self> {
        crate::jobs::outbox::check_production(settings.env, &settings.smtp)?;
        let listener = TcpListener::bind(&settings.server.bind)
            .with_context(|| format!("cannot bind {}", settings.server.bind))?;
        let settings_for_db = settings.clone();
        let pool = tokio::task::spawn_blocking(move || {
            prepare_database(&settings_for_db, Duration::from_secs(30))
        })
        .await??;
        let state = web::Data::new(build_state(settings, &secrets, pool, clock)?);
        Self::serve(listener, state)
    }

    fn serve(listener: TcpListener, state: web::Data<AppState>) -> anyhow::Result<Self> {
        let port = listener.local_addr()?.port();
        let workers = match state.settings.server.workers {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let limit = state.settings.server.body_limit_bytes;
        let data = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(api::deadline::body_deadline))
                .wrap(from_fn(telemetry::observe))
                .app_data(data.clone())
                .app_data(
                    web::JsonConfig::default()
                        .limit(limit)
                        .error_handler(error::json_error),
                )
                .app_data(
                    web::FormConfig::default()
                        .limit(limit)
                        .error_handler(error::form_error),
                )
                .app_data(web::PayloadConfig::default().limit(limit))
                .app_data(web::PathConfig::default().error_handler(error::path_error))
                .app_data(web::QueryConfig::default().error_handler(error::query_error))
                .configure(crate::web::routes)
                .configure(api::routes)
                .default_service(web::to(not_found))
        })
        .workers(workers)
        .client_request_timeout(Duration::from_millis(
            state.settings.server.request_head_timeout_ms,
        ))
        .keep_alive(Duration::from_secs(
            state.settings.server.keep_alive_seconds,
        ))
        .shutdown_timeout(state.settings.server.shutdown_timeout_seconds)
        .listen(listener)?
        .run();
        crate::jobs::housekeeping::spawn(state.clone());
        crate::jobs::audit::spawn(state.clone());
        crate::jobs::escalation::spawn(state.clone());
        crate::jobs::tallies::spawn(state.clone());
        crate::jobs::outbox::spawn(
            &state.jobs,
            state.pool.clone(),
            state.settings.smtp.clone(),
            state.delivery,
            state.clock.clone(),
        );
        Ok(Self {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Stops the server from outside (tests, signals handled by actix).
    pub fn server_handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until the server stops (SIGTERM or SIGINT: in-flight requests
    /// are answered first), then lets every background job finish the turn
    /// it is in and stops them.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        let grace = Duration::from_secs(self.state.settings.server.shutdown_timeout_seconds);
        if !self.state.jobs.shutdown(grace).await {
            tracing::warn!("background jobs still busy at the end of the shutdown grace period");
        }
        tracing::info!("stopped");
        served
    }
}
