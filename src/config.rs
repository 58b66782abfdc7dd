//! Settings: `config/default.toml`, then `config/<APP_ENV>.toml`, then the
//! environment. Validated once at start-up; secrets only from the environment
//! (or, in development, generated once into the data folder).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail, ensure};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use rand::RngCore;
use serde::Deserialize;

/// The deployment environment, from `APP_ENV`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppEnv {
    Development,
    Test,
    Production,
}

impl AppEnv {
    pub fn from_env() -> anyhow::Result<Self> {
        match std::env::var("APP_ENV").as_deref() {
            Err(_) | Ok("") | Ok("development") | Ok("dev") => Ok(Self::Development),
            Ok("test") => Ok(Self::Test),
            Ok("production") | Ok("prod") => Ok(Self::Production),
            Ok(other) => bail!("APP_ENV must be development, test or production, not {other:?}"),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Test => "test",
            Self::Production => "production",
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub county: CountySettings,
    pub intake: IntakeSettings,
    pub tracking: TrackingSettings,
    pub paths: PathSettings,
    pub routing: RoutingSettings,
    pub letters: LetterSettings,
    pub smtp: SmtpSettings,
    pub escalation: EscalationSettings,
    pub ranking: RankingSettings,
    pub open311: OpenSettings,
    pub workflow: WorkflowSettings,
    pub audit: AuditSettings,
    /// Folder of the data files (units, categories, calendars); not a file key.
    #[serde(skip)]
    pub config_dir: PathBuf,
    #[serde(skip, default = "default_env")]
    pub env: AppEnv,
}

fn default_env() -> AppEnv {
    AppEnv::Development
}

/// The audit log (docs/architecture.md, "The audit log").
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// Run the sequencer and the checkpoints in the background.
    pub background: bool,
    /// How often new entries are given their place in the log.
    pub sequence_interval_ms: u64,
    /// A checkpoint is signed at most this often, when the log has grown.
    pub checkpoint_interval_minutes: i64,
    /// Where each checkpoint is e-mailed (empty: nowhere).
    pub checkpoint_email: String,
    /// A file each checkpoint is appended to, one JSON line each (empty: none).
    pub checkpoint_file: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub bind: String,
    pub workers: usize,
    pub body_limit_bytes: usize,
    /// A request's body must arrive within this time of its head (408).
    pub body_timeout_ms: u64,
    /// A request's head must arrive within this time of the connection.
    pub request_head_timeout_ms: u64,
    /// An idle keep-alive connection is closed after this long.
    pub keep_alive_seconds: u64,
    /// On SIGTERM: how long in-flight requests may take to be answered, and
    /// then how long the background jobs may take to finish their turn.
    pub shutdown_timeout_seconds: u64,
    pub trust_forwarded_for: bool,
    /// `scheme://host[:port][/prefix]` without a trailing slash, or empty.
    pub public_url: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: String,
    pub pool_size: u32,
    /// Idle connections the pool keeps open (and reopens in the background).
    pub min_idle: u32,
    pub connect_timeout_ms: u64,
    pub busy_timeout_ms: u64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub token_ttl_seconds: i64,
    pub issuer: String,
    pub login_window_seconds: i64,
    pub max_login_failures_per_address: i32,
    pub max_login_failures_per_user: i32,
    /// The longest a log-in on an account under attack is held back.
    pub max_login_delay_ms: u64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountySettings {
    pub time_zone: String,
    pub tracking_prefix: String,
    pub limit_factor: f64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntakeSettings {
    pub hotline_max_age_days: i64,
    pub idempotency_retention_hours: i64,
    /// Public filings (web form, JSON API, Open311 POST) one client address
    /// may make in a window (IPv6 counted per /64); more is 429.
    pub max_filings_per_address: i32,
    pub filing_window_seconds: i64,
    /// Public filings naming one unit in a window beyond which new ones are
    /// held for screening instead of routed (0: never).
    pub burst_per_unit: i64,
    pub burst_window_seconds: i64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackingSettings {
    pub window_seconds: i64,
    pub max_failures_per_address: i32,
    pub max_failures_per_case: i32,
    /// The longest an answer about a case strangers guess at is held back.
    pub max_delay_ms: u64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathSettings {
    pub data_dir: PathBuf,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingSettings {
    pub leader_titles: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LetterSettings {
    pub office_unit: String,
    pub office_name: String,
    pub transfer_prefix: String,
    pub reminder_prefix: String,
    pub supervision_prefix: String,
    pub accountability_prefix: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub url: String,
    /// Letters are meant to wait in the outbox: no mail is sent, and a
    /// production start without an SMTP URL is allowed (docs/architecture.md,
    /// "Mail").
    pub disabled: bool,
    pub from: String,
    pub message_id_domain: String,
    pub max_attempts: i32,
    pub backoff_base_seconds: i64,
    pub poll_interval_ms: u64,
    pub timeout_seconds: u64,
}

/// The escalation ladder (docs/architecture.md, "Escalation").
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationSettings {
    /// Run the sweep inside `duban serve` (off: cron runs `duban escalate`).
    pub enabled: bool,
    pub interval_ms: u64,
    /// Cases per transaction.
    pub batch_size: i64,
    /// Level 0: a warning this many working days before `due_at` (0: none).
    pub warning_workdays_before: u32,
    /// Level 2: a supervision letter this many working days after `due_at`.
    pub supervision_workdays_after: u32,
    /// Level 3: accountability this many working days after `due_at`.
    pub accountability_workdays_after: u32,
    /// Deduction booked provisionally when the sweep opens accountability.
    pub provisional_points: f64,
    /// The catalogue situation an escalated case is opened under.
    pub situation: String,
    /// Working days a unit has to file its defence.
    pub defence_workdays: u32,
    /// Working days an acknowledge reminder gives the unit to sign.
    pub reminder_respond_workdays: u32,
}

/// Rules of the case workflow that letters state to the units.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowSettings {
    /// Until when a unit may ask to return a case as not its own (退回).
    pub return_window: ReturnWindow,
    /// Units whose progress notes marked public go on the citizen's page at
    /// once; every other unit's wait for a supervisor's approval.
    pub trusted_units: Vec<String>,
    /// A closed case's callback (回访) is due from the start of this working
    /// day after closing.
    pub callback_after_workdays: u32,
    /// Unanswered callback attempts on this many different days end the
    /// callback as unreachable.
    pub callback_unreachable_days: usize,
    /// Earlier cases received within this many days are compared with a new
    /// one for possible duplicates.
    pub duplicate_window_days: i64,
    /// How similar (percent of shared character pairs) a title naming the
    /// same unit must be to count as a possible duplicate.
    pub duplicate_min_similarity: i32,
}

/// The return window: the transfer letter states it, and a return asked
/// for after it is refused.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ReturnWindow {
    /// Within the sign-for period, until `ack_due_at` (12345 practice).
    Acknowledge,
    /// Until the handling deadline.
    Handling,
}

/// The year-end ranking (红黑榜).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RankingSettings {
    /// Every unit's score starts the year here.
    pub base_score: f64,
    /// Units with fewer cases in the period are listed but not ranked.
    pub min_cases: i64,
    /// How often `duban serve` folds the reporting deltas into their
    /// buckets (docs/architecture.md, "Ranking and statistics"). Reads are
    /// exact either way; folding keeps them short.
    pub fold_interval_ms: u64,
}

/// The Open311 GeoReport v2 endpoint (README, "Open311").
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenSettings {
    /// Keys a client must send as `api_key` to POST a request. Empty: POST is
    /// refused (403). Also `DUBAN_OPEN311_API_KEYS`, comma-separated.
    pub api_keys: Vec<String>,
    /// Publish the complaint text as `description` in GET requests.
    pub publish_description: bool,
    /// Discovery `contact`: how to reach the people running this endpoint.
    pub contact: String,
    /// Discovery `key_service`: how to get an API key.
    pub key_service: String,
    /// Answer `GET requests` without `service_request_id` (the office's
    /// decision: a complaint about an official is not public by default).
    pub publish_list: bool,
    /// Requests such a list answers at most, newest first.
    pub list_limit: i64,
    /// Open311 reads one client address may make in a window (IPv6 per
    /// /64); more is 429.
    pub max_reads_per_address: i32,
    pub read_window_seconds: i64,
}

/// Environment variable with the Open311 API keys, comma-separated.
pub const OPEN311_API_KEYS_VAR: &str = "DUBAN_OPEN311_API_KEYS";

/// Environment variable with the SMTP server URL (`smtp.url`).
pub const SMTP_URL_VAR: &str = "DUBAN_SMTP_URL";

/// Environment variables that are secrets or read elsewhere, never settings.
const NOT_SETTINGS: &[&str] = &[
    "JWT_SECRET",
    "PII_KEY",
    "AUDIT_SIGNING_KEY",
    "CONFIG_DIR",
    "LOG",
    "SMTP_URL",
    "OPEN311_API_KEYS",
    // The test harness's own variables (`.ci/run` exports them to every
    // process it starts, servers included).
    "REQUIRE_ALL",
    "TEST_POSTGRES_URL",
    "SCREENSHOTS",
];

impl Settings {
    /// Loads settings for `APP_ENV` from `DUBAN_CONFIG_DIR` (default `config`).
    pub fn load() -> anyhow::Result<Self> {
        let env = AppEnv::from_env()?;
        let dir = std::env::var_os("DUBAN_CONFIG_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("config"));
        Self::load_from(&dir, env, true)
    }

    /// Loads the file layers from `dir`, and the environment layer when asked
    /// (tests leave it out so the developer's shell cannot change them).
    pub fn load_from(dir: &Path, env: AppEnv, with_env_vars: bool) -> anyhow::Result<Self> {
        let default = dir.join("default.toml");
        ensure!(
            default.is_file(),
            "configuration file {} not found (set DUBAN_CONFIG_DIR or run from the project folder)",
            default.display()
        );
        let mut figment = Figment::new()
            .merge(Toml::file(default))
            .merge(Toml::file(dir.join(format!("{}.toml", env.as_str()))));
        if with_env_vars {
            figment = figment
                .merge(Env::prefixed("DUBAN_").ignore(NOT_SETTINGS).split("__"))
                .merge(
                    Env::raw()
                        .only(&["DATABASE_URL"])
                        .map(|_| "database.url".into()),
                );
        }
        let mut settings: Settings = figment.extract().context("invalid configuration")?;
        if with_env_vars && let Ok(keys) = std::env::var(OPEN311_API_KEYS_VAR) {
            settings.open311.api_keys = split_keys(&keys);
        }
        // The SMTP URL may carry a password, so it is read like a secret.
        if with_env_vars && let Ok(url) = std::env::var(SMTP_URL_VAR) {
            settings.smtp.url = url;
        }
        settings.config_dir = dir.to_path_buf();
        settings.env = env;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks what serde cannot: ranges, the time zone, the bind address.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.server.bind.parse::<SocketAddr>().with_context(|| {
            format!("server.bind {:?} is not an address:port", self.server.bind)
        })?;
        let url = &self.server.public_url;
        ensure!(
            url.is_empty()
                || ((url.starts_with("https://") || url.starts_with("http://"))
                    && !url.ends_with('/')
                    && url.split("://").nth(1).is_some_and(|rest| !rest.is_empty())
                    && !url.contains(['?', '#', ' '])),
            "server.public_url {url:?} must be empty or an http(s) URL without a trailing slash, \
             query or fragment"
        );
        ensure!(
            self.audit.sequence_interval_ms >= 10 && self.audit.checkpoint_interval_minutes >= 1,
            "audit.sequence_interval_ms must be at least 10 and audit.checkpoint_interval_minutes at least 1"
        );
        ensure!(
            self.audit.checkpoint_email.is_empty() || self.audit.checkpoint_email.contains('@'),
            "audit.checkpoint_email must be empty or an e-mail address"
        );
        ensure!(
            self.database.pool_size >= 1,
            "database.pool_size must be at least 1"
        );
        let w = &self.workflow;
        ensure!(
            (1..=30).contains(&w.callback_after_workdays)
                && (1..=30).contains(&w.callback_unreachable_days)
                && (1..=365).contains(&w.duplicate_window_days)
                && (1..=100).contains(&w.duplicate_min_similarity),
            "workflow: callback_after_workdays and callback_unreachable_days must be 1 to 30, \
             duplicate_window_days 1 to 365, duplicate_min_similarity 1 to 100"
        );
        ensure!(
            self.auth.token_ttl_seconds >= 60,
            "auth.token_ttl_seconds must be at least 60"
        );
        self.county
            .time_zone
            .parse::<chrono_tz::Tz>()
            .map_err(|e| anyhow::anyhow!("county.time_zone: {e}"))?;
        let prefix = &self.county.tracking_prefix;
        ensure!(
            (1..=6).contains(&prefix.len()) && prefix.chars().all(|c| c.is_ascii_uppercase()),
            "county.tracking_prefix must be 1 to 6 uppercase ASCII letters"
        );
        ensure!(
            self.county.limit_factor > 0.0 && self.county.limit_factor <= 1.0,
            "county.limit_factor must be in (0, 1]"
        );
        ensure!(
            self.tracking.window_seconds > 0,
            "tracking.window_seconds must be positive"
        );
        ensure!(
            self.intake.max_filings_per_address > 0
                && self.intake.filing_window_seconds > 0
                && self.intake.burst_per_unit >= 0
                && self.intake.burst_window_seconds > 0,
            "intake: the filing limits must be positive (burst_per_unit may be 0: off)"
        );
        ensure!(
            self.tracking.max_failures_per_address > 0 && self.tracking.max_failures_per_case > 0,
            "tracking limits must be positive"
        );
        let e = &self.escalation;
        ensure!(
            e.interval_ms >= 10,
            "escalation.interval_ms must be at least 10"
        );
        ensure!(
            (1..=10_000).contains(&e.batch_size),
            "escalation.batch_size must be from 1 to 10000"
        );
        ensure!(
            e.supervision_workdays_after >= 1
                && e.accountability_workdays_after > e.supervision_workdays_after,
            "escalation: supervision must come at least 1 working day after due_at, \
             and accountability after supervision"
        );
        ensure!(
            crate::domain::points::Points::parse(e.provisional_points).is_some(),
            "escalation.provisional_points must be from 0 to 100 with at most two decimals"
        );
        ensure!(
            e.defence_workdays >= 1 && e.reminder_respond_workdays >= 1,
            "escalation.defence_workdays and reminder_respond_workdays must be at least 1"
        );
        ensure!(
            self.ranking.min_cases >= 0,
            "ranking.min_cases must not be negative"
        );
        ensure!(
            (100..=600_000).contains(&self.ranking.fold_interval_ms),
            "ranking.fold_interval_ms must be from 100 to 600000"
        );
        ensure!(
            (1..=200).contains(&self.open311.list_limit)
                && self.open311.max_reads_per_address > 0
                && self.open311.read_window_seconds > 0,
            "open311: list_limit must be 1 to 200, the read limits positive"
        );
        // The keys themselves are never part of a message.
        ensure!(
            self.open311
                .api_keys
                .iter()
                .all(|k| !k.is_empty() && !k.contains(',') && !k.chars().any(char::is_whitespace)),
            "open311.api_keys: every key must be non-empty, without commas or spaces"
        );
        Ok(())
    }

    pub fn time_zone(&self) -> chrono_tz::Tz {
        // Validated at load.
        self.county
            .time_zone
            .parse()
            .unwrap_or(chrono_tz::Asia::Shanghai)
    }
}

/// The keys of `DUBAN_OPEN311_API_KEYS`: comma-separated, blanks dropped.
pub fn split_keys(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Keys the service cannot run without.
#[derive(Clone)]
pub struct Secrets {
    /// HS256 signing key for access tokens.
    pub jwt_secret: Vec<u8>,
    /// Master key for identity encryption and keyed hashes.
    pub pii_key: [u8; 32],
    /// Seed of the Ed25519 key that signs the audit log's checkpoints and
    /// of the key of its entries' MACs.
    pub audit_seed: [u8; 32],
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(..)")
    }
}

/// Different bytes a secret must hold at least: 48 random bytes hold about
/// 44, a base64 text of them about 40; `aaaa…` holds one.
const MIN_DISTINCT_SECRET_BYTES: usize = 16;
/// 32 random bytes hold about 30 different values.
const MIN_DISTINCT_KEY_BYTES: usize = 16;

/// Placeholders people paste into an environment file.
const WEAK_SECRETS: &[&str] = &[
    "secret",
    "password",
    "changeme",
    "change_me",
    "example",
    "default",
    "123456",
    "qwerty",
    "abcdef",
    "duban",
];

fn distinct(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

/// Whether a signing secret can be taken for random: enough different
/// characters, and none of the usual placeholders.
fn strong(secret: &[u8]) -> bool {
    let lower = String::from_utf8_lossy(secret).to_ascii_lowercase();
    distinct(secret) >= MIN_DISTINCT_SECRET_BYTES && !WEAK_SECRETS.iter().any(|w| lower.contains(w))
}

/// File under the data folder where development secrets are kept.
const DEV_SECRETS_FILE: &str = "dev-secrets.toml";

#[derive(Deserialize, serde::Serialize)]
struct DevSecretsFile {
    jwt_secret: String,
    pii_key: String,
    /// Absent in files written before the audit log had a key.
    #[serde(default)]
    audit_signing_key: Option<String>,
}

/// Fresh random secrets, as their environment variables hold them.
pub struct GeneratedSecrets {
    pub jwt_secret: String,
    pub pii_key: String,
    pub audit_signing_key: String,
}

impl Secrets {
    /// Reads `DUBAN_JWT_SECRET`, `DUBAN_PII_KEY` and
    /// `DUBAN_AUDIT_SIGNING_KEY`. Outside production a missing secret is
    /// generated once and kept in the data folder (with a warning); in
    /// production a missing secret stops the start.
    pub fn load(settings: &Settings) -> anyhow::Result<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|s| !s.is_empty());
        let jwt = var("DUBAN_JWT_SECRET");
        let pii = var("DUBAN_PII_KEY");
        let audit = var("DUBAN_AUDIT_SIGNING_KEY");
        if settings.env == AppEnv::Production {
            let (Some(jwt), Some(pii), Some(audit)) = (&jwt, &pii, &audit) else {
                bail!(
                    "APP_ENV=production needs DUBAN_JWT_SECRET, DUBAN_PII_KEY and \
                     DUBAN_AUDIT_SIGNING_KEY in the environment"
                );
            };
            return Self::from_parts(jwt, pii, audit);
        }
        let stored = if jwt.is_none() || pii.is_none() || audit.is_none() {
            Some(Self::dev_file(&settings.paths.data_dir)?)
        } else {
            None
        };
        let from_file = |f: fn(&GeneratedSecrets) -> &String| {
            stored.as_ref().map(|s| f(s).clone()).unwrap_or_default()
        };
        let jwt = jwt.unwrap_or_else(|| from_file(|s| &s.jwt_secret));
        let pii = pii.unwrap_or_else(|| from_file(|s| &s.pii_key));
        let audit = audit.unwrap_or_else(|| from_file(|s| &s.audit_signing_key));
        Self::from_parts(&jwt, &pii, &audit)
    }

    /// Validates the three secrets as given in the environment.
    pub fn from_parts(
        jwt_secret: &str,
        pii_key_b64: &str,
        audit_b64: &str,
    ) -> anyhow::Result<Self> {
        ensure!(
            jwt_secret.len() >= 32,
            "DUBAN_JWT_SECRET must be at least 32 characters; make one with \
             `head -c 48 /dev/urandom | base64`"
        );
        ensure!(
            strong(jwt_secret.as_bytes()),
            "DUBAN_JWT_SECRET looks guessable (too few different characters, or a known \
             placeholder); make one with `head -c 48 /dev/urandom | base64`"
        );
        Ok(Self {
            jwt_secret: jwt_secret.as_bytes().to_vec(),
            pii_key: random_key("DUBAN_PII_KEY", pii_key_b64)?,
            audit_seed: random_key("DUBAN_AUDIT_SIGNING_KEY", audit_b64)?,
        })
    }

    /// Fresh random secrets (tests, and the development file).
    pub fn generate() -> GeneratedSecrets {
        let mut rng = rand::thread_rng();
        let mut jwt = [0u8; 48];
        rng.fill_bytes(&mut jwt);
        let mut key = || {
            let mut k = [0u8; 32];
            rng.fill_bytes(&mut k);
            B64.encode(k)
        };
        let (pii_key, audit_signing_key) = (key(), key());
        GeneratedSecrets {
            jwt_secret: B64.encode(jwt),
            pii_key,
            audit_signing_key,
        }
    }

    /// The generated secrets, parsed (tests and examples).
    pub fn random() -> Self {
        let g = Self::generate();
        Self::from_parts(&g.jwt_secret, &g.pii_key, &g.audit_signing_key)
            .expect("generated secrets are valid")
    }

    fn dev_file(data_dir: &Path) -> anyhow::Result<GeneratedSecrets> {
        let path = data_dir.join(DEV_SECRETS_FILE);
        let fresh = Self::generate();
        if path.is_file() {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let file: DevSecretsFile =
                toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
            if let Some(audit_signing_key) = file.audit_signing_key {
                return Ok(GeneratedSecrets {
                    jwt_secret: file.jwt_secret,
                    pii_key: file.pii_key,
                    audit_signing_key,
                });
            }
            // Written before the audit log had a key: the other two stay.
            let kept = GeneratedSecrets {
                audit_signing_key: fresh.audit_signing_key,
                jwt_secret: file.jwt_secret,
                pii_key: file.pii_key,
            };
            let tmp = path.with_extension("toml.new");
            let _ = std::fs::remove_file(&tmp);
            write_private(&tmp, &Self::dev_text(&kept)?)?;
            std::fs::rename(&tmp, &path)?;
            tracing::warn!(path = %path.display(), "DUBAN_AUDIT_SIGNING_KEY not set: generated a development key");
            return Ok(kept);
        }
        std::fs::create_dir_all(data_dir)?;
        write_private(&path, &Self::dev_text(&fresh)?)?;
        tracing::warn!(
            path = %path.display(),
            "DUBAN_JWT_SECRET / DUBAN_PII_KEY / DUBAN_AUDIT_SIGNING_KEY not set: generated development secrets"
        );
        Ok(fresh)
    }

    fn dev_text(s: &GeneratedSecrets) -> anyhow::Result<String> {
        let file = DevSecretsFile {
            jwt_secret: s.jwt_secret.clone(),
            pii_key: s.pii_key.clone(),
            audit_signing_key: Some(s.audit_signing_key.clone()),
        };
        Ok(format!(
            "# Generated development secrets. Never use in production: set\n\
             # DUBAN_JWT_SECRET, DUBAN_PII_KEY and DUBAN_AUDIT_SIGNING_KEY instead.\n\
             # Losing pii_key makes stored complainant identities unreadable;\n\
             # losing audit_signing_key makes the audit log unverifiable.\n{}",
            toml::to_string(&file)?
        ))
    }
}

/// A 32-byte key given as base64, refused when it cannot be random.
fn random_key(name: &str, b64: &str) -> anyhow::Result<[u8; 32]> {
    let key = B64
        .decode(b64.trim())
        .with_context(|| format!("{name} is not valid base64"))?;
    let key: [u8; 32] = key
        .try_into()
        .map_err(|_| anyhow::anyhow!("{name} must decode to exactly 32 bytes"))?;
    ensure!(
        distinct(&key) >= MIN_DISTINCT_KEY_BYTES,
        "{name} is not random (too few different bytes); make one with \
         `head -c 32 /dev/urandom | base64`"
    );
    Ok(key)
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("creating {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Settings {
        let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config"));
        Settings::load_from(dir, AppEnv::Test, false).unwrap()
    }

    #[test]
    fn guessable_secrets_are_refused_and_random_ones_accepted() {
        let GeneratedSecrets {
            jwt_secret: jwt,
            pii_key: pii,
            audit_signing_key: audit,
        } = Secrets::generate();
        assert!(Secrets::from_parts(&jwt, &pii, &audit).is_ok());
        let aaaa = "a".repeat(32);
        let err = Secrets::from_parts(&aaaa, &pii, &audit)
            .unwrap_err()
            .to_string();
        assert!(err.contains("urandom"), "{err}");
        assert!(Secrets::from_parts("my-super-secret-key-for-duban-2026!", &pii, &audit).is_err());
        let zeros = B64.encode([0u8; 32]);
        assert!(Secrets::from_parts(&jwt, &zeros, &audit).is_err());
        let err = Secrets::from_parts(&jwt, &pii, &zeros)
            .unwrap_err()
            .to_string();
        assert!(err.contains("DUBAN_AUDIT_SIGNING_KEY"), "{err}");
    }

    #[test]
    fn public_url_is_empty_or_a_plain_http_url() {
        for good in [
            "",
            "https://duban.example.gov.cn",
            "http://10.0.0.5:8080",
            "https://example.cn/duban",
        ] {
            let mut s = shipped();
            s.server.public_url = good.into();
            assert!(s.validate().is_ok(), "{good}");
        }
        for bad in [
            "duban.example.gov.cn",
            "https://duban.example.gov.cn/",
            "ftp://duban.example.gov.cn",
            "https://",
            "https://a.cn/?x=1",
            "https://a.cn/#top",
        ] {
            let mut s = shipped();
            s.server.public_url = bad.into();
            let err = s.validate().unwrap_err().to_string();
            assert!(err.contains("server.public_url"), "{bad}: {err}");
        }
    }
}
