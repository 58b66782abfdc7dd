//! The `duban` command itself.

use std::process::{Command, Stdio};

use std::io::Write;

use crate::helpers::*;

fn duban(dir: &std::path::Path, db_url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_duban"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db_url)
        .env("DUBAN_CONFIG_DIR", config_dir())
        .env("DUBAN_PATHS__DATA_DIR", dir)
        .env("DUBAN_LOG", "warn")
        .current_dir(dir);
    cmd
}

/// `duban` with the test binary's secrets, on the database of a test app.
pub fn duban_keyed(dir: &std::path::Path, db_url: &str) -> Command {
    let s = test_secret_texts();
    let mut cmd = duban(dir, db_url);
    cmd.env("DUBAN_JWT_SECRET", &s.jwt_secret)
        .env("DUBAN_PII_KEY", &s.pii_key)
        .env("DUBAN_AUDIT_SIGNING_KEY", &s.audit_signing_key);
    cmd
}

#[tokio::test]
async fn user_add_prints_a_generated_password_that_logs_in() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let db = std::sync::Arc::new(fresh_db(dir.path()));
    let out = duban(dir.path(), &db.url())
        .args([
            "user",
            "add",
            "--username",
            "zfb.chen",
            "--role",
            "supervisor",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let password = stdout
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .expect("password printed")
        .to_owned();
    assert!(password.len() >= 16);

    let mut child = duban(dir.path(), &db.url())
        .args([
            "user",
            "add",
            "--username",
            "gaj.li",
            "--role",
            "unit",
            "--unit",
            "GAJ",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"piped in password\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("password:"));

    let bad = duban(dir.path(), &db.url())
        .args(["user", "add", "--username", "x.y", "--role", "unit"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unit: is required"));

    let app = spawn_with(Spawn {
        db: Some(db),
        dir: Some(dir),
        ..Default::default()
    })
    .await;
    assert_eq!(app.login("zfb.chen", &password).await.status(), 200);
    assert_eq!(app.login("gaj.li", "piped in password").await.status(), 200);
}

#[test]
fn production_refuses_to_start_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let out = duban(
        dir.path(),
        &format!("sqlite://{}/d.db", dir.path().display()),
    )
    .env("APP_ENV", "production")
    .args(["serve", "--bind", "127.0.0.1:0"])
    .output()
    .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("DUBAN_JWT_SECRET"));
}

#[test]
fn production_refuses_to_start_when_letters_could_not_be_sent() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/d.db", dir.path().display());
    let serve = |smtp: Option<&str>| {
        let mut cmd = duban_keyed(dir.path(), &url);
        cmd.env("APP_ENV", "production")
            .args(["serve", "--bind", "127.0.0.1:0"]);
        if let Some(smtp) = smtp {
            cmd.env("DUBAN_SMTP_URL", smtp);
        }
        let out = cmd.output().unwrap();
        assert!(!out.status.success(), "it started");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let none = serve(None);
    assert!(none.contains("DUBAN_SMTP_URL"), "{none}");
    assert!(none.contains("DUBAN_SMTP__DISABLED=true"), "{none}");
    // A URL lettre cannot use is refused too, without printing it: it may
    // carry the mail server's password.
    let bad = serve(Some("mailto://duban:planted-smtp-password@mail.example"));
    assert!(bad.contains("cannot be used"), "{bad}");
    assert!(!bad.contains("planted-smtp-password"), "{bad}");
}

/// A free port on 127.0.0.1 (nothing listens on it once this returns).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn production_starts_with_mail_disabled_on_purpose_and_readyz_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/d.db", dir.path().display());
    let port = free_port();
    let mut child = duban_keyed(dir.path(), &url)
        .env("APP_ENV", "production")
        .env("DUBAN_SMTP__DISABLED", "true")
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let mut ready = None;
    for _ in 0..300 {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            panic!("duban serve exited ({status}): {err}");
        }
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            && r.status() == 200
        {
            ready = Some(r.json::<serde_json::Value>().await.unwrap());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let ready = ready.expect("ready within 30 s");
    assert_eq!(ready["outbox"]["deliverable"], false);
    assert_eq!(ready["outbox"]["reason"], "disabled");
}

#[test]
fn development_generates_secrets_once_and_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/d.db", dir.path().display());
    for _ in 0..2 {
        let out = duban(dir.path(), &url).arg("migrate").output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let settings = test_settings(dir.path(), &url);
    let first = duban::config::Secrets::load(&settings).unwrap();
    let again = duban::config::Secrets::load(&settings).unwrap();
    assert_eq!(first.pii_key, again.pii_key);
    assert!(dir.path().join("dev-secrets.toml").is_file());
}

#[test]
fn the_test_harness_variables_are_not_taken_for_settings() {
    let dir = tempfile::tempdir().unwrap();
    let out = duban(
        dir.path(),
        &format!("sqlite://{}/d.db", dir.path().display()),
    )
    .env("DUBAN_REQUIRE_ALL", "1")
    .env(
        "DUBAN_TEST_POSTGRES_URL",
        "postgres://postgres@127.0.0.1:5432/test",
    )
    .env("DUBAN_SCREENSHOTS", "docs/screenshots")
    .arg("migrate")
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The shipped unit list as a spreadsheet would export it: Chinese headers,
/// a byte-order mark, CRLF line ends, kinds in Chinese where they have a
/// name, and every field quoted where it holds a comma or a quote.
fn units_csv(units: &[duban::domain::reference::UnitEntry]) -> String {
    let quote = |v: &str| {
        if v.contains([',', '"', '\n']) {
            format!("\"{}\"", v.replace('"', "\"\""))
        } else {
            v.to_owned()
        }
    };
    let mut out = String::from("\u{feff}编码,名称,类型,上级编码,邮箱,负责人,职务\r\n");
    for u in units {
        let kind = match u.kind.as_str() {
            "department" => "部门",
            "township" => "乡镇",
            other => other,
        };
        let row = [
            &u.code,
            &u.name,
            kind,
            &u.parent,
            &u.email,
            &u.leader_name,
            &u.leader_title,
        ];
        out += &row.map(quote).join(",");
        out += "\r\n";
    }
    out
}

fn shipped_units() -> Vec<duban::domain::reference::UnitEntry> {
    let text = std::fs::read_to_string(config_dir().join("units.toml")).unwrap();
    duban::domain::reference::parse_units(&text).unwrap()
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn import_units_replaces_the_list_from_a_spreadsheet_and_a_restart_keeps_it() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let db = std::sync::Arc::new(fresh_db(dir.path()));
    let config = copy_config();
    let cfg = config.path().to_owned();
    // The county's list: GAJ has a new e-mail, a bureau is new (its name
    // holds a comma), and the township 长冈乡 (CHANGGX) is gone.
    let mut units = shipped_units();
    units.retain(|u| u.code != "CHANGGX");
    units.iter_mut().find(|u| u.code == "GAJ").unwrap().email = "gaj-new@xingguo.example".into();
    units.push(duban::domain::reference::UnitEntry {
        code: "SJJ".into(),
        name: "县数据局（政务服务, 数据管理）".into(),
        kind: "department".into(),
        parent: String::new(),
        email: "sjj@xingguo.example".into(),
        leader_name: "钟数据".into(),
        leader_title: "局长".into(),
    });
    let csv = dir.path().join("units.csv");
    std::fs::write(&csv, units_csv(&units)).unwrap();
    let import = |extra: &[&str]| {
        let mut cmd = duban(dir.path(), &db.url());
        cmd.env("DUBAN_CONFIG_DIR", &cfg)
            .arg("import-units")
            .arg(&csv)
            .args(extra);
        cmd
    };

    // A dry run tells what would change and writes nothing.
    let shipped_file = std::fs::read_to_string(cfg.join("units.toml")).unwrap();
    let out = run_ok(&mut import(&["--dry-run"]));
    assert!(out.contains("dry run, nothing written"), "{out}");
    assert!(
        out.contains("1 added (SJJ), 1 changed (GAJ), 1 deactivated (CHANGGX)"),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(cfg.join("units.toml")).unwrap(),
        shipped_file
    );

    let out = run_ok(&mut import(&[]));
    assert!(
        out.contains("1 added (SJJ), 1 changed (GAJ), 1 deactivated (CHANGGX)"),
        "{out}"
    );
    // The written file is the list, and loads as config/units.toml does.
    let written = std::fs::read_to_string(cfg.join("units.toml")).unwrap();
    assert!(written.starts_with("# Units (责任单位), written by `duban import-units`"));
    assert_eq!(
        duban::domain::reference::parse_units(&written).unwrap(),
        units
    );
    // Importing the same list again changes nothing.
    let out = run_ok(&mut import(&[]));
    assert!(out.contains("0 added, 0 changed, 0 deactivated"), "{out}");

    // A service started on that configuration keeps the imported list.
    let app = spawn_with(Spawn {
        customise: Box::new(move |s| s.config_dir = cfg),
        db: Some(db.clone()),
        dir: Some(dir.clone()),
    })
    .await;
    let listed: serde_json::Value = app
        .get("/api/v1/units?per_page=200", None)
        .await
        .json()
        .await
        .unwrap();
    let items = listed["items"].as_array().unwrap();
    let find = |code: &str| items.iter().find(|u| u["code"] == code);
    assert_eq!(
        find("SJJ").unwrap()["name"],
        "县数据局（政务服务, 数据管理）"
    );
    assert!(
        find("CHANGGX").is_none(),
        "a deactivated unit is not offered"
    );
    assert_eq!(items.len(), units.len());
    let gaj = duban::db::units::find(&mut app.conn(), "GAJ")
        .unwrap()
        .unwrap();
    assert_eq!(gaj.email, "gaj-new@xingguo.example");
    drop(config);
}

#[tokio::test]
async fn import_units_names_every_problem_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_db(dir.path());
    let config = copy_config();
    let shipped_file = std::fs::read_to_string(config.path().join("units.toml")).unwrap();
    let mut units = shipped_units();
    units[1].email = "not-an-address".into();
    units[2].code = units[3].code.clone();
    units[4].kind = "局".into();
    units[5].parent = "NOPE".into();
    let mut csv = units_csv(&units);
    csv += "JUNK,只有两列\r\n";
    let file = dir.path().join("units.csv");
    let import = |extra: &[&str]| {
        let mut cmd = duban(dir.path(), &db.url());
        cmd.env("DUBAN_CONFIG_DIR", config.path())
            .arg("import-units")
            .args(extra)
            .arg(&file);
        cmd
    };
    std::fs::write(&file, csv).unwrap();
    let out = import(&[]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    // Line 1 is the header: unit i is on line i + 2.
    for expected in [
        "line 3: email",
        &format!("line 5: code {} appears twice (line 4)", units[3].code),
        "line 6: unknown kind \"局\"",
        "line 7: parent NOPE is not in the list",
        &format!("line {}: 2 fields, the header has 7", units.len() + 2),
        "nothing imported",
    ] {
        assert!(err.contains(expected), "{expected:?} in {err}");
    }
    // The office must stay: a list without it is refused on its own.
    let mut units = shipped_units();
    units.retain(|u| u.code != "ZFB");
    std::fs::write(&file, units_csv(&units)).unwrap();
    let out = import(&[]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("leaves out ZFB"));
    // Nothing was written: neither the file nor the database.
    assert_eq!(
        std::fs::read_to_string(config.path().join("units.toml")).unwrap(),
        shipped_file
    );
    std::fs::write(&file, units_csv(&shipped_units())).unwrap();
    let out = run_ok(&mut import(&["--dry-run"]));
    assert!(out.contains("0 added, 0 changed, 0 deactivated"), "{out}");
}

#[tokio::test]
async fn user_add_states_the_password_rule_and_logs_nothing_when_it_works() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let db = std::sync::Arc::new(fresh_db(dir.path()));
    let help = duban(dir.path(), &db.url())
        .args(["user", "add", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    let rule = format!(
        "at least {} characters",
        duban::domain::users::MIN_PASSWORD_CHARS
    );
    assert!(help.contains(&rule), "{help}");
    // Without DUBAN_LOG the command says only what it did.
    let out = duban(dir.path(), &db.url())
        .env_remove("DUBAN_LOG")
        .args([
            "user",
            "add",
            "--username",
            "zfb.quiet",
            "--role",
            "auditor",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.trim().is_empty(), "log lines: {stderr}");
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(stdout.starts_with("created user zfb.quiet"));
}

#[tokio::test]
async fn audit_checkpoint_and_verify_from_the_command_line() {
    let app = spawn_app().await;
    app.file_complaint().await;
    let dir = app.dir.path();
    let url = app.db.url();
    let out = duban_keyed(dir, &url)
        .args(["audit", "checkpoint"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8(out.stdout).unwrap();
    let cp: serde_json::Value = serde_json::from_str(line.trim()).expect(&line);
    assert!(cp["tree_size"].as_i64().unwrap() > 0);
    let kept = dir.join("kept.jsonl");
    std::fs::write(&kept, &line).unwrap();

    let verify = |extra: &[&str]| {
        let mut cmd = duban_keyed(dir, &url);
        cmd.args(["audit", "verify"]).args(extra);
        cmd.output().unwrap()
    };
    let out = verify(&["--checkpoints", kept.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["outside_checkpoints_checked"], 1);
    // The whole log is walked with progress on standard error.
    let progress = String::from_utf8_lossy(&out.stderr);
    for stage in ["chain events", "log entries", "cases"] {
        assert!(progress.contains(stage), "{stage}: {progress}");
    }
    // One chain alone.
    let no = app.file_complaint().await["tracking_no"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = verify(&["--chain", &no]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let part: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(part["scope"]["chain"], format!("case:{no}"));
    assert_eq!(part["chains"], 1);

    // An edited case: exit 1, and the finding named.
    app.tamper();
    {
        use diesel::RunQueryDsl;
        let mut conn = app.conn();
        diesel::sql_query("UPDATE complaints SET status = 'closed'")
            .execute(&mut *conn as &mut duban::db::DbConn)
            .unwrap();
    }
    let out = verify(&["--checkpoints", kept.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("record_changed"));
    // A file that is not checkpoints is refused before anything is read.
    std::fs::write(&kept, "not json\n").unwrap();
    let out = verify(&["--checkpoints", kept.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 1"));
}

#[tokio::test]
async fn the_aggregates_are_checked_and_rebuilt_from_the_command_line() {
    let app = spawn_app().await;
    app.file_complaint().await;
    let dir = app.dir.path();
    let url = app.db.url();
    let run = |what: &str| duban(dir, &url).args(["tallies", what]).output().unwrap();
    // More than one batch of deltas (four a case): folded in batches, then
    // (PostgreSQL) the deltas table vacuumed.
    insert_cases(&app, "BF", 6_000);
    let out = run("fold");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let folded = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(folded.starts_with("2400"), "{folded}");
    assert_eq!(duban::db::tallies::pending(&mut app.conn()).unwrap(), 0);
    let out = run("check");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // A bucket changed behind the service's back is found, and a rebuild
    // counts it afresh.
    {
        use diesel::RunQueryDsl;
        let mut conn = app.conn();
        diesel::sql_query("UPDATE tallies SET n = n + 1 WHERE metric = 'c.channel'")
            .execute(&mut *conn as &mut duban::db::DbConn)
            .unwrap();
    }
    let out = run("check");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        text.contains("c.channel h") && text.contains("stored 2, counted 1"),
        "{text}"
    );
    assert!(run("rebuild").status.success());
    assert!(run("check").status.success());
}

#[tokio::test]
async fn sigterm_under_load_answers_what_it_accepted_stops_the_jobs_and_exits_0() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let db = std::sync::Arc::new(fresh_db(dir.path()));
    let port = free_port();
    let mut child = duban_keyed(dir.path(), &db.url())
        .env("DUBAN_INTAKE__MAX_FILINGS_PER_ADDRESS", "100000")
        .env("DUBAN_LOG", "info")
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..300 {
        assert!(child.try_wait().unwrap().is_none(), "duban serve exited");
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Eight clients filing until the server stops taking connections.
    let accepted = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut clients = Vec::new();
    for _ in 0..8 {
        let (client, base, accepted) = (client.clone(), base.clone(), accepted.clone());
        clients.push(tokio::spawn(async move {
            let mut refused = 0;
            while let Ok(r) = client
                .post(format!("{base}/api/v1/complaints"))
                .json(&complaint_body())
                .send()
                .await
            {
                if r.status() == 201 {
                    let v: serde_json::Value = r.json().await.unwrap();
                    let no = v["tracking_no"].as_str().unwrap().to_owned();
                    accepted.lock().unwrap().push(no);
                } else {
                    refused += 1;
                }
            }
            refused
        }));
    }
    while accepted.lock().unwrap().len() < 30 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    for c in clients {
        c.await.unwrap();
    }
    let status = tokio::task::spawn_blocking(move || {
        let status = child.wait().unwrap();
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        (status, err)
    })
    .await
    .unwrap();
    assert_eq!(status.0.code(), Some(0), "{}", status.1);

    // Every filing answered 201 is stored (and the audit log of the run
    // verifies when the app below is dropped).
    let accepted = accepted.lock().unwrap().clone();
    let app = spawn_with(Spawn {
        db: Some(db),
        dir: Some(dir),
        ..Default::default()
    })
    .await;
    let stored = app.complaint_count();
    assert!(accepted.len() >= 30);
    assert_eq!(stored, accepted.len() as i64, "every 201 and nothing else");
}
