//! Test harness: `spawn_app()` starts the real service on port 0 with its own
//! database — a fresh SQLite file, or a fresh PostgreSQL database when
//! `TEST_DATABASE_URL` names one — and offers one helper per endpoint.
//!
//! Tests that need something outside cargo (PostgreSQL for PostgreSQL-only
//! behaviour) call [`require_or_skip`]: it prints why it skips, and turns the
//! skip into a failure when `DUBAN_REQUIRE_ALL=1` (set by `.ci/run`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use actix_web::web;
use diesel::prelude::*;
use diesel::{Connection, PgConnection};
use duban::auth::policy::Role;
use duban::config::{AppEnv, Secrets, Settings};
use duban::db::DbConn;
use duban::domain::users::{self, NewAccount};
use duban::startup::Application;
use duban::state::{AppState, Clock};
use rand::Rng;
use serde_json::{Value, json};

pub const PASSWORD: &str = "correct horse battery staple";

/// Everything the service logged while tests ran (see `log_capture`).
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&LOG_BUFFER.get_or_init(Default::default).lock().unwrap()).into_owned()
}

static LOG_BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

#[derive(Clone)]
struct BufferWriter(Arc<Mutex<Vec<u8>>>);

impl Write for BufferWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        if std::env::var_os("TEST_LOG").is_some() {
            std::io::stderr().write_all(buf)?;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every test's service logs into one buffer, at the level production uses
/// and one finer for Duban itself, so tests can search the logs.
fn init_logs() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let buf = LOG_BUFFER.get_or_init(Default::default).clone();
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info,duban=debug"))
            .json()
            .with_current_span(true)
            .with_writer(move || BufferWriter(buf.clone()))
            .try_init();
    });
}

/// Skips (with the reason printed) or, under `DUBAN_REQUIRE_ALL=1`, fails.
pub fn require_or_skip(what: &str) -> bool {
    if std::env::var("DUBAN_REQUIRE_ALL").is_ok_and(|v| v == "1") {
        panic!("required by DUBAN_REQUIRE_ALL=1 but missing: {what}");
    }
    eprintln!("SKIPPED: {what}");
    false
}

/// The PostgreSQL server for PostgreSQL-only tests: `DUBAN_TEST_POSTGRES_URL`,
/// or `TEST_DATABASE_URL` when it is a PostgreSQL URL.
pub fn postgres_admin_url() -> Option<String> {
    std::env::var("DUBAN_TEST_POSTGRES_URL")
        .ok()
        .or_else(|| std::env::var("TEST_DATABASE_URL").ok())
        .filter(|u| u.starts_with("postgres"))
}

/// The PostgreSQL server for a PostgreSQL-only test, or `None` after the
/// test is reported skipped (a failure under `DUBAN_REQUIRE_ALL=1`).
pub fn postgres_or_skip(purpose: &str) -> Option<String> {
    let url = postgres_admin_url();
    if url.is_none() {
        require_or_skip(&format!(
            "PostgreSQL (DUBAN_TEST_POSTGRES_URL or TEST_DATABASE_URL) {purpose}"
        ));
    }
    url
}

/// A database of the test's own.
pub enum TestDb {
    Sqlite { path: PathBuf },
    Postgres { admin_url: String, name: String },
}

/// The test's PostgreSQL URL without TLS unless it asks for it. The test
/// binary ends while servers of finished tests are still winding down in
/// their own threads; a libpq connection closing over TLS as the process
/// runs OpenSSL's exit-time cleanup crashes it (SIGSEGV after every test
/// passed). Local test databases need no TLS.
pub fn plain(url: &str) -> String {
    if url.contains("sslmode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&sslmode=disable")
    } else {
        format!("{url}?sslmode=disable")
    }
}

impl TestDb {
    pub fn url(&self) -> String {
        match self {
            TestDb::Sqlite { path } => format!("sqlite://{}", path.display()),
            TestDb::Postgres { admin_url, name } => plain(&replace_db_name(admin_url, name)),
        }
    }

    pub fn create_postgres(admin_url: &str) -> Self {
        let name = format!("duban_test_{:016x}", rand::thread_rng().r#gen::<u64>());
        let mut admin = PgConnection::establish(&plain(admin_url))
            .expect("TEST_DATABASE_URL must be reachable");
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .expect("create test database");
        TestDb::Postgres {
            admin_url: admin_url.to_owned(),
            name,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { admin_url, name } = self
            && let Ok(mut admin) = PgConnection::establish(&plain(admin_url))
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin);
        }
    }
}

pub fn replace_db_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let base = match base.rsplit_once('/') {
        Some((head, _)) if head.contains("://") && head.len() > head.find("://").unwrap() + 3 => {
            head
        }
        _ => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

pub fn config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config")
}

/// A copy of the shipped configuration folder, for tests that edit it.
pub fn copy_config() -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.path().is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(&config_dir(), dir.path());
    dir
}

/// Settings as tests use them: the shipped config files, `APP_ENV=test`, no
/// environment variables (the developer's shell must not change results).
pub fn test_settings(data_dir: &Path, db_url: &str) -> Settings {
    let mut s = Settings::load_from(&config_dir(), AppEnv::Test, false).expect("config loads");
    s.server.bind = "127.0.0.1:0".into();
    s.server.workers = 2;
    s.paths.data_dir = data_dir.to_path_buf();
    s.database.url = db_url.to_owned();
    s
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub state: web::Data<AppState>,
    pub db: Arc<TestDb>,
    pub dir: Arc<tempfile::TempDir>,
    server: Option<actix_web::dev::ServerHandle>,
    /// Set by a test that edits the database behind the service's back.
    tampered: std::sync::atomic::AtomicBool,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(h) = self.server.take() {
            // Stop accepting; the runtime ends with the test anyway.
            drop(h.stop(false));
        }
        // Whatever a test did through the service, the audit log still
        // verifies: every change has its entry (no false alarm), on both
        // backends. Tests that edit rows directly say so with `tamper()`.
        if std::thread::panicking() || self.tampered.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        let Ok(mut conn) = self.state.pool.get() else {
            return;
        };
        let report = duban::domain::audit_log::verify_all(
            &mut conn,
            &self.state.audit,
            &[],
            chrono::Utc::now(),
            &mut |_| {},
        )
        .expect("the audit log can be verified");
        assert!(
            report.ok,
            "the audit log found something after this test: {}",
            serde_json::to_string_pretty(&report).unwrap()
        );
    }
}

pub struct Spawn {
    pub customise: Box<dyn FnOnce(&mut Settings)>,
    pub db: Option<Arc<TestDb>>,
    pub dir: Option<Arc<tempfile::TempDir>>,
}

impl Default for Spawn {
    fn default() -> Self {
        Self {
            customise: Box::new(|_| {}),
            db: None,
            dir: None,
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_with(Spawn::default()).await
}

/// A fresh database of the kind the run is for (PostgreSQL when
/// `TEST_DATABASE_URL` is set, else SQLite in `dir`).
pub fn fresh_db(dir: &Path) -> TestDb {
    match std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        Some(url) if url.starts_with("postgres") => TestDb::create_postgres(&url),
        Some(url) => panic!("TEST_DATABASE_URL must be a postgres:// URL, not {url}"),
        None => TestDb::Sqlite {
            path: dir.join("duban.db"),
        },
    }
}

pub async fn spawn_with(opts: Spawn) -> TestApp {
    init_logs();
    let dir = opts
        .dir
        .unwrap_or_else(|| Arc::new(tempfile::tempdir().expect("temp dir")));
    let db = opts.db.unwrap_or_else(|| Arc::new(fresh_db(dir.path())));
    let mut settings = test_settings(dir.path(), &db.url());
    (opts.customise)(&mut settings);
    let secrets = test_secrets();
    let app = Application::build(settings, secrets.clone(), Clock::default())
        .await
        .expect("application starts");
    let port = app.port();
    let state = app.state();
    let server = app.server_handle();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        state,
        db,
        dir,
        server: Some(server),
        tampered: Default::default(),
    }
}

/// One set of secrets for the whole test binary, so two apps on one
/// database (restarts) can read each other's sealed values.
pub fn test_secrets() -> Secrets {
    let t = test_secret_texts();
    Secrets::from_parts(&t.jwt_secret, &t.pii_key, &t.audit_signing_key).unwrap()
}

/// The test binary's secrets as their environment variables hold them, for
/// the `duban` commands a test runs on an app's database.
pub fn test_secret_texts() -> &'static duban::config::GeneratedSecrets {
    static SECRETS: OnceLock<duban::config::GeneratedSecrets> = OnceLock::new();
    SECRETS.get_or_init(Secrets::generate)
}

/// A valid complaint body; tests change what they test.
pub fn complaint_body() -> Value {
    json!({
        "title": "办理不动产登记时被索要好处费",
        "content": "在县不动产登记中心窗口办理过户，工作人员暗示要请客吃饭才能加快办理，拖了两周没有结果。",
        "category": "bribe_seeking",
        "subject_unit": "BDC",
        "subject_person": "窗口工作人员",
        "occurred_on": "2026-11-20",
        "anonymous": false,
        "complainant": {
            "name": "王小明",
            "phone": "13912345678",
            "email": "wxm@example.cn",
            "id_number": "11010519491231002X",
            "address": "潋江镇解放路18号"
        }
    })
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn conn(&self) -> duban::db::PooledConn {
        self.state.pool.get().expect("db connection")
    }

    pub async fn post_json(
        &self,
        path: &str,
        body: &Value,
        token: Option<&str>,
    ) -> reqwest::Response {
        let mut req = self.client.post(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request sent")
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self.client.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request sent")
    }

    pub async fn post_complaint(&self, body: &Value) -> reqwest::Response {
        self.post_json("/api/v1/complaints", body, None).await
    }

    /// Files a valid complaint and returns the receipt.
    pub async fn file_complaint(&self) -> Value {
        let resp = self.post_complaint(&complaint_body()).await;
        assert_eq!(resp.status(), 201);
        resp.json().await.unwrap()
    }

    /// The case view as `token` sees it.
    pub async fn case(&self, tracking_no: &str, token: &str) -> Value {
        self.get(&format!("/api/v1/complaints/{tracking_no}"), Some(token))
            .await
            .json()
            .await
            .unwrap()
    }

    /// The complainant's identity as a supervisor or admin reads it, with a
    /// reason (an audit event).
    pub async fn identity(&self, tracking_no: &str, token: &str) -> Value {
        let res = self
            .get(
                &format!("/api/v1/complaints/{tracking_no}/identity?reason=核实反映情况"),
                Some(token),
            )
            .await;
        assert_eq!(res.status(), 200, "identity of {tracking_no}");
        res.json().await.unwrap()
    }

    pub async fn track(&self, tracking_no: &str, code: &str) -> reqwest::Response {
        self.post_json(
            "/api/v1/track",
            &json!({"tracking_no": tracking_no, "query_code": code}),
            None,
        )
        .await
    }

    /// Creates a user directly (as `duban user add` does) and returns its id.
    pub fn create_user(&self, username: &str, role: Role, unit: Option<&str>) -> i64 {
        let mut conn = self.conn();
        users::create(
            &mut conn,
            None,
            &NewAccount {
                username: username.into(),
                role,
                unit: unit.map(str::to_owned),
                password: PASSWORD.into(),
            },
            chrono::Utc::now(),
        )
        .expect("user created")
        .id
    }

    pub async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        self.post_json(
            "/api/v1/auth/token",
            &json!({"username": username, "password": password}),
            None,
        )
        .await
    }

    /// Creates a user of `role` and returns a bearer token for it.
    pub async fn token_for(&self, role: Role, unit: Option<&str>) -> String {
        let username = format!("{}-{}", role.as_str(), rand::thread_rng().r#gen::<u32>());
        self.create_user(&username, role, unit);
        let resp = self.login(&username, PASSWORD).await;
        assert_eq!(resp.status(), 200, "login works");
        let body: Value = resp.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// How many complaints are stored.
    pub fn complaint_count(&self) -> i64 {
        let mut conn = self.conn();
        duban::db::schema::complaints::table
            .count()
            .get_result(&mut *conn as &mut DbConn)
            .unwrap()
    }

    /// Marks this test as one that edits rows behind the service's back:
    /// the audit log would rightly name them, so it is not verified at the end.
    pub fn tamper(&self) {
        self.tampered
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Makes `unit` responsible for a case, as routing will (a change with
    /// no audit entry: see [`TestApp::tamper`]).
    pub fn set_responsible(&self, tracking_no: &str, unit: &str) {
        self.tamper();
        use duban::db::schema::complaints::dsl;
        let mut conn = self.conn();
        diesel::update(dsl::complaints.filter(dsl::tracking_no.eq(tracking_no)))
            .set((
                dsl::responsible_unit_code.eq(unit),
                dsl::status.eq("assigned"),
            ))
            .execute(&mut *conn as &mut DbConn)
            .unwrap();
    }
}

/// POSTs `body` to `path` as if from client address `addr` (the service
/// must trust `X-Forwarded-For`), with an optional `Idempotency-Key`.
pub async fn post_from(
    app: &TestApp,
    addr: &str,
    path: &str,
    body: &Value,
    key: Option<&str>,
) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url(path))
        .header("X-Forwarded-For", addr)
        .json(body);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    req.send().await.expect("request sent")
}

/// Settings behind a trusted proxy with these tracking limits.
pub fn behind_proxy(max_per_address: i32, max_per_case: i32) -> Spawn {
    Spawn {
        customise: Box::new(move |s| {
            s.server.trust_forwarded_for = true;
            s.tracking.max_failures_per_address = max_per_address;
            s.tracking.max_failures_per_case = max_per_case;
        }),
        ..Default::default()
    }
}

/// A look-up from client address `addr`.
pub async fn track_from(app: &TestApp, addr: &str, no: &str, code: &str) -> reqwest::Response {
    let pair = json!({"tracking_no": no, "query_code": code});
    post_from(app, addr, "/api/v1/track", &pair, None).await
}

/// An answer's status, content type (empty when none) and body text.
pub async fn read(resp: reqwest::Response) -> (u16, String, String) {
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, ct, resp.text().await.unwrap())
}

/// Asserts a 2xx answer and returns its JSON body (`what` names the call in
/// the failure).
pub async fn ok_json(resp: reqwest::Response, what: &str) -> Value {
    let status = resp.status();
    let text = resp.text().await.unwrap();
    assert!(status.is_success(), "{what}: {status} {text}");
    serde_json::from_str(&text).unwrap()
}

/// Asserts a problem+json answer with `status`, returning its body.
pub async fn assert_problem(resp: reqwest::Response, status: u16) -> Value {
    let (got, ct, text) = read(resp).await;
    assert_eq!(got, status, "status");
    assert_eq!(ct, "application/problem+json", "content type");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["status"], status);
    assert!(body["type"].is_string() && body["title"].is_string() && body["detail"].is_string());
    body
}

/// The fields a 422 names.
pub fn error_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["field"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// `n` received cases (`{prefix}1`, `{prefix}2`, …, received 5 Jan 2026)
/// written straight into the database, where filing them one by one over
/// HTTP would take minutes. They carry no audit events, so the app is marked
/// tampered.
pub fn insert_cases(app: &TestApp, prefix: &str, n: i64) {
    use diesel::RunQueryDsl;
    app.tamper();
    let cols = "tracking_no, query_code_hash, channel, status, title, content, anonymous, \
                received_at, created_at, updated_at, return_requested, delivery_failed, \
                needs_confirmation";
    let row = format!(
        "'{prefix}' || i, 'x', 'web', 'received', '标题', '内容', false, \
         TIMESTAMP '2026-01-05 08:00:00', TIMESTAMP '2026-01-05 08:00:00', \
         TIMESTAMP '2026-01-05 08:00:00', false, false, false"
    );
    let mut conn = app.conn();
    let sql = match &*conn {
        duban::db::DbConn::Pg(_) => format!(
            "INSERT INTO complaints ({cols}) SELECT {row} FROM generate_series(1, {n}) AS i"
        ),
        duban::db::DbConn::Sqlite(_) => format!(
            "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) \
             INSERT INTO complaints ({cols}) SELECT {} FROM s",
            row.replace("TIMESTAMP ", "").replace("false", "0")
        ),
    };
    diesel::sql_query(sql)
        .execute(&mut *conn as &mut duban::db::DbConn)
        .expect("cases inserted");
}
