//! docker-compose.yml, read as Compose reads it (no container engine runs
//! here; `.ci/compose-check` validates the file with docker-compose itself):
//! every instance can reach the database, has the secrets, sends its mail,
//! sits behind the proxy and trusts only it; the proxy serves every instance.

use std::collections::BTreeMap;
use std::path::PathBuf;

use duban::config::AppEnv;
use duban::jobs::outbox::{Delivery, check_production};
use serde_yaml::Value;

use crate::helpers::*;

fn repo_file(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn compose() -> Value {
    let text = std::fs::read_to_string(repo_file("docker-compose.yml")).unwrap();
    serde_yaml::from_str(&text).expect("docker-compose.yml is YAML")
}

/// An instance's environment, aliases resolved (a list or a map in Compose).
fn environment(service: &Value) -> BTreeMap<String, String> {
    match &service["environment"] {
        Value::Mapping(m) => m
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) => s.clone(),
                    other => panic!("{k:?}: quote the value {other:?} (Compose wants strings)"),
                };
                (k.as_str().unwrap().to_owned(), v)
            })
            .collect(),
        Value::Sequence(items) => items
            .iter()
            .map(|i| {
                let (k, v) = i.as_str().unwrap().split_once('=').unwrap();
                (k.to_owned(), v.to_owned())
            })
            .collect(),
        other => panic!("no environment: {other:?}"),
    }
}

/// The services that run `duban serve` (built from this repository).
fn instances(doc: &Value) -> Vec<(String, Value)> {
    doc["services"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, s)| s.get("build").is_some())
        .map(|(k, s)| (k.as_str().unwrap().to_owned(), s.clone()))
        .collect()
}

#[test]
fn every_instance_has_the_database_the_secrets_mail_and_the_trusted_proxy() {
    let doc = compose();
    let instances = instances(&doc);
    assert!(
        instances.len() >= 2,
        "two instances show the stateless design"
    );
    let services = doc["services"].as_mapping().unwrap();
    for (name, service) in &instances {
        let env = environment(service);
        let var = |k: &str| {
            env.get(k)
                .unwrap_or_else(|| panic!("{name}: no {k}"))
                .as_str()
        };
        assert_eq!(var("APP_ENV"), "production", "{name}");
        assert!(var("DATABASE_URL").starts_with("postgres://"), "{name}");
        let db_host = var("DATABASE_URL")
            .split('@')
            .nth(1)
            .unwrap()
            .split(':')
            .next()
            .unwrap();
        assert!(
            services.contains_key(db_host),
            "{name}: no service {db_host}"
        );
        for secret in [
            "DUBAN_JWT_SECRET",
            "DUBAN_PII_KEY",
            "DUBAN_AUDIT_SIGNING_KEY",
        ] {
            // Taken from the operator's environment, required, never written here.
            assert_eq!(
                var(secret),
                format!("${{{secret}:?set {secret}}}"),
                "{name}"
            );
        }
        let smtp = var("DUBAN_SMTP_URL");
        let mail_host = smtp
            .strip_prefix("smtp://")
            .unwrap()
            .split(':')
            .next()
            .unwrap();
        assert!(
            services.contains_key(mail_host),
            "{name}: no service {mail_host}"
        );
        // The service would start with this mail setting in production.
        let mut settings = test_settings(std::path::Path::new("."), "sqlite://unused.db");
        settings.smtp.url = smtp.to_owned();
        assert_eq!(Delivery::of(&settings.smtp), Delivery::Smtp, "{name}");
        check_production(AppEnv::Production, &settings.smtp).unwrap();
        assert_eq!(var("DUBAN_SERVER__TRUST_FORWARDED_FOR"), "true", "{name}");
        assert!(
            var("DUBAN_SERVER__PUBLIC_URL").starts_with("http"),
            "{name}"
        );
        // Trusting X-Forwarded-For is safe only if nothing but the proxy
        // reaches the instance.
        assert!(
            service.get("ports").is_none(),
            "{name} publishes a port beside the proxy"
        );
    }
}

#[test]
fn the_instances_environment_is_settings_the_service_accepts() {
    // `duban migrate` loads every DUBAN_* variable as a setting and stops on
    // one it does not know, so a misspelt name fails here.
    let doc = compose();
    let (name, service) = &instances(&doc)[0];
    let dir = tempfile::tempdir().unwrap();
    let secrets = test_secret_texts();
    let mut cmd = crate::cli::duban_keyed(
        dir.path(),
        &format!("sqlite://{}/d.db", dir.path().display()),
    );
    for (k, v) in environment(service) {
        if k.starts_with("DUBAN_") && !v.starts_with("${") {
            cmd.env(k, v);
        }
    }
    cmd.env("APP_ENV", "production")
        .env("DUBAN_JWT_SECRET", &secrets.jwt_secret)
        .arg("migrate");
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_proxy_serves_every_instance_and_sets_the_client_address_itself() {
    let doc = compose();
    let proxy = &doc["services"]["proxy"];
    assert!(proxy["image"].as_str().unwrap().starts_with("nginx:"));
    let ports: Vec<&str> = proxy["ports"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(ports.contains(&"8080:80"), "{ports:?}");
    let conf = std::fs::read_to_string(repo_file("deploy/nginx/duban.conf")).unwrap();
    let mounted = proxy["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(mounted.contains("./deploy/nginx/duban.conf:"), "{mounted}");
    assert!(mounted.contains("./deploy/nginx/proxy.inc:"), "{mounted}");
    for (name, _) in instances(&doc) {
        assert!(
            conf.lines()
                .any(|l| l.trim_start().starts_with(&format!("server {name}:8080"))),
            "the proxy does not serve {name}"
        );
    }
    let inc = std::fs::read_to_string(repo_file("deploy/nginx/proxy.inc")).unwrap();
    let directives: Vec<&str> = inc
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .collect();
    // Replaced, not appended to ($proxy_add_x_forwarded_for would keep what
    // the client sent, and the instances read the first address).
    assert!(directives.contains(&"proxy_set_header X-Forwarded-For $remote_addr;"));
    assert!(directives.contains(&"proxy_set_header Forwarded \"\";"));
    assert!(!inc.contains("$proxy_add_x_forwarded_for"));
}
