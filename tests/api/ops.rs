//! Health, readiness, metrics, outages and what the logs may contain.

use diesel::prelude::*;
use diesel::{Connection, PgConnection};
use duban::auth::policy::Role;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let h = app.get("/healthz", None).await;
    assert_eq!(h.status(), 200);
    assert!(h.headers().contains_key("x-request-id"));
    let r: Value = app.get("/readyz", None).await.json().await.unwrap();
    assert_eq!(r["status"], "ready");
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_complaints_by_channel() {
    let app = spawn_app().await;
    app.file_complaint().await;
    app.post_complaint(&json!({})).await;
    let text = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("duban_http_requests_total")
                && l.contains("route=\"/api/v1/complaints\"")
                && l.contains("status=\"201\"")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("duban_http_requests_total") && l.contains("status=\"422\""))
    );
    assert!(text.contains("duban_http_request_duration_seconds_bucket"));
    assert!(
        text.lines()
            .any(|l| l.starts_with("duban_complaints_created_total")
                && l.contains("channel=\"web\""))
    );
}

#[tokio::test]
async fn logs_carry_no_identity_text_query_code_or_token() {
    let app = spawn_app().await;
    let mut body = complaint_body();
    body["title"] = json!("标题里有独特的词语甲乙丙丁");
    body["content"] = json!("内容里有独特的词语戊己庚辛壬癸，用来检查日志。");
    body["complainant"] = json!({
        "name": "欧阳日志测",
        "phone": "13700001111",
        "email": "log-probe@example.cn",
        "id_number": "11010519491231002X",
        "address": "日志检查路99号"
    });
    let receipt: Value = app.post_complaint(&body).await.json().await.unwrap();
    let code = receipt["query_code"].as_str().unwrap().to_owned();
    let no = receipt["tracking_no"].as_str().unwrap().to_owned();
    app.track(&no, &code).await;
    app.track(&no, "WRONGWRG").await;
    let sup = app.token_for(Role::Supervisor, None).await;
    app.get(&format!("/api/v1/complaints/{no}"), Some(&sup))
        .await;
    app.get("/api/v1/complaints?q=欧阳日志测", Some(&sup)).await;
    app.login("nobody-here", "secret-password-probe").await;
    let logs = captured_logs();
    assert!(logs.contains("request finished"), "logs were captured");
    for planted in [
        "甲乙丙丁",
        "戊己庚辛壬癸",
        "欧阳日志测",
        "13700001111",
        "log-probe@example.cn",
        "11010519491231002X",
        "日志检查路99号",
        code.as_str(),
        sup.as_str(),
        "secret-password-probe",
    ] {
        assert!(!logs.contains(planted), "log contains {planted}");
    }
}

/// Stops new connections to the test's database and ends the open ones, as
/// a database going away does, then brings it back.
pub fn set_database_reachable(admin_url: &str, name: &str, reachable: bool) {
    let mut admin = PgConnection::establish(&plain(admin_url)).unwrap();
    diesel::sql_query(format!(
        "ALTER DATABASE {name} ALLOW_CONNECTIONS {reachable}"
    ))
    .execute(&mut admin)
    .unwrap();
    if !reachable {
        diesel::sql_query(format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        ))
        .execute(&mut admin)
        .unwrap();
    }
}

#[tokio::test]
async fn a_database_that_goes_away_gives_503_and_service_resumes() {
    let Some(admin_url) = postgres_or_skip("for the outage test") else {
        return;
    };
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let db = std::sync::Arc::new(TestDb::create_postgres(&admin_url));
    let TestDb::Postgres { name, .. } = &*db else {
        unreachable!()
    };
    let name = name.clone();
    let app = spawn_with(Spawn {
        customise: Box::new(|s| s.database.connect_timeout_ms = 500),
        db: Some(db.clone()),
        dir: Some(dir),
    })
    .await;
    let stored = app.file_complaint().await;

    set_database_reachable(&admin_url, &name, false);
    let resp = app.post_complaint(&complaint_body()).await;
    assert_eq!(resp.headers()["retry-after"], "5");
    assert_problem(resp, 503).await;
    assert_problem(app.get("/readyz", None).await, 503).await;
    assert_eq!(
        app.get("/healthz", None).await.status(),
        200,
        "the process stays up"
    );

    set_database_reachable(&admin_url, &name, true);
    let mut recovered = false;
    for _ in 0..20 {
        if app.get("/readyz", None).await.status() == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(recovered, "readiness comes back by itself");
    assert_eq!(app.post_complaint(&complaint_body()).await.status(), 201);
    let code = stored["query_code"].as_str().unwrap();
    assert_eq!(
        app.track(stored["tracking_no"].as_str().unwrap(), code)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn instances_starting_together_migrate_once() {
    let Some(admin_url) = postgres_or_skip("for concurrent migrations") else {
        return;
    };
    let db = std::sync::Arc::new(TestDb::create_postgres(&admin_url));
    let url = db.url();
    let starts = (0..3).map(|_| {
        let url = url.clone();
        tokio::task::spawn_blocking(move || {
            let dir = tempfile::tempdir().unwrap();
            duban::startup::prepare_database(
                &test_settings(dir.path(), &url),
                std::time::Duration::from_secs(10),
            )
            .map(|_| ())
        })
    });
    for r in futures_util::future::join_all(starts).await {
        r.unwrap().expect("every instance starts");
    }
    let mut conn = PgConnection::establish(&url).unwrap();
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let units: N = diesel::sql_query("SELECT count(*) AS n FROM units")
        .get_result(&mut conn)
        .unwrap();
    let migrations: N = diesel::sql_query("SELECT count(*) AS n FROM __diesel_schema_migrations")
        .get_result(&mut conn)
        .unwrap();
    assert!(units.n >= 35);
    let shipped = std::fs::read_dir(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres"),
    )
    .unwrap()
    .count();
    assert_eq!(
        migrations.n as usize, shipped,
        "each migration applied once"
    );
    let app = spawn_with(Spawn {
        db: Some(db),
        ..Default::default()
    })
    .await;
    assert_eq!(app.file_complaint().await["status"], "received");
}

/// The value of an unlabelled gauge in the Prometheus text.
fn gauge(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

#[tokio::test]
async fn readyz_and_metrics_say_the_outbox_cannot_deliver_and_what_waits_how_long() {
    // The test configuration has no SMTP URL: letters wait.
    let app = spawn_app().await;
    let r: Value = app.get("/readyz", None).await.json().await.unwrap();
    assert_eq!(
        r["status"], "ready",
        "an instance without mail still serves"
    );
    let o = &r["outbox"];
    assert_eq!(o["deliverable"], false);
    assert_eq!(o["reason"], "no_smtp_url");
    assert!(o["note"].as_str().unwrap().contains("DUBAN_SMTP_URL"));
    assert_eq!(
        (o["waiting"].as_i64(), o["waiting_over_1h"].as_i64()),
        (Some(0), Some(0))
    );
    assert!(o["oldest_waiting_at"].is_null());

    // Two routed filings: two transfer letters wait; one was made two hours ago.
    crate::workflow::file(&app, &crate::workflow::routed_body()).await;
    crate::workflow::file(&app, &crate::workflow::routed_body()).await;
    let two_hours_ago = duban::db::to_db(chrono::Utc::now() - chrono::Duration::hours(2));
    {
        use duban::db::schema::outbox;
        let mut conn = app.conn();
        let first: i64 = outbox::table
            .select(diesel::dsl::min(outbox::id))
            .first::<Option<i64>>(&mut *conn)
            .unwrap()
            .unwrap();
        diesel::update(outbox::table.find(first))
            .set(outbox::created_at.eq(two_hours_ago))
            .execute(&mut *conn)
            .unwrap();
    }
    let r: Value = app.get("/readyz", None).await.json().await.unwrap();
    let o = &r["outbox"];
    assert_eq!(
        (o["waiting"].as_i64(), o["waiting_over_1h"].as_i64()),
        (Some(2), Some(1))
    );
    let oldest: chrono::DateTime<chrono::Utc> =
        o["oldest_waiting_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        oldest.timestamp(),
        duban::db::from_db(two_hours_ago).timestamp()
    );

    let text = app.get("/metrics", None).await.text().await.unwrap();
    assert_eq!(
        gauge(&text, "duban_outbox_deliverable"),
        Some(0.0),
        "{text}"
    );
    assert_eq!(gauge(&text, "duban_outbox_waiting"), Some(2.0), "{text}");
    assert_eq!(
        gauge(&text, "duban_outbox_waiting_over_1h"),
        Some(1.0),
        "{text}"
    );
}

#[tokio::test]
async fn readyz_says_the_outbox_delivers_with_an_smtp_url_and_waits_when_disabled() {
    let smtp = crate::mail::MailServer::start();
    let app = spawn_with(crate::letters::with_smtp(smtp.url(), 5)).await;
    let r: Value = app.get("/readyz", None).await.json().await.unwrap();
    assert_eq!(r["outbox"]["deliverable"], true);
    assert_eq!(r["outbox"]["reason"], "smtp");
    let text = app.get("/metrics", None).await.text().await.unwrap();
    assert_eq!(
        gauge(&text, "duban_outbox_deliverable"),
        Some(1.0),
        "{text}"
    );

    // Disabled wins over a URL: nothing is sent, and the answer says why.
    let url = smtp.url();
    let app = spawn_with(Spawn {
        customise: Box::new(move |s| {
            s.smtp.url = url;
            s.smtp.poll_interval_ms = 50;
            s.smtp.disabled = true;
        }),
        ..Default::default()
    })
    .await;
    crate::workflow::file(&app, &crate::workflow::routed_body()).await;
    let r: Value = app.get("/readyz", None).await.json().await.unwrap();
    assert_eq!(r["outbox"]["deliverable"], false);
    assert_eq!(r["outbox"]["reason"], "disabled");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let r: Value = app.get("/readyz", None).await.json().await.unwrap();
    assert_eq!(r["outbox"]["waiting"], 1, "the letter waits");
    assert!(smtp.messages().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn metrics_count_the_background_jobs_failures_per_job() {
    let app = spawn_app().await;
    let text = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        text.contains("# TYPE duban_job_failures_total counter"),
        "{text}"
    );
    // (The test configuration switches the sweep and the sequencer off.)
    for job in ["tallies", "purge", "metrics_upkeep"] {
        let line = format!("duban_job_failures_total{{job=\"{job}\"}} 0");
        assert!(text.contains(&line), "{line} in {text}");
    }
    // A turn that panics is counted, and the job is still there.
    app.state.jobs.spawn_periodic(
        "test_panics",
        std::time::Duration::from_secs(3600),
        || async { panic!("a job that fails") },
    );
    let mut text = String::new();
    for _ in 0..100 {
        text = app.get("/metrics", None).await.text().await.unwrap();
        if text.contains("duban_job_failures_total{job=\"test_panics\"} 1") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        text.contains("duban_job_failures_total{job=\"test_panics\"} 1"),
        "{text}"
    );
    assert_eq!(app.get("/healthz", None).await.status(), 200);
}
