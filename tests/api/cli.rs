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
