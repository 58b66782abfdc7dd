//! Letters, their numbering, their delivery by e-mail over real SMTP, and
//! what a unit may never see.

use std::collections::HashSet;

use duban::auth::policy::Role;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::mail::MailServer;
use crate::workflow::{act, file, routed_body};

pub fn with_smtp(url: String, max_attempts: i32) -> Spawn {
    Spawn {
        customise: Box::new(move |s| {
            s.smtp.url = url;
            s.smtp.poll_interval_ms = 50;
            s.smtp.max_attempts = max_attempts;
            s.smtp.backoff_base_seconds = 1;
        }),
        ..Default::default()
    }
}

async fn letters_of(app: &TestApp, no: &str, token: &str) -> Vec<Value> {
    let list: Value = app
        .get(&format!("/api/v1/letters?tracking_no={no}"), Some(token))
        .await
        .json()
        .await
        .unwrap();
    list["items"].as_array().unwrap().clone()
}

async fn wait_for_state(app: &TestApp, id: i64, token: &str, state: &str) -> Value {
    for _ in 0..200 {
        let l: Value = app
            .get(&format!("/api/v1/letters/{id}"), Some(token))
            .await
            .json()
            .await
            .unwrap();
        if l["delivery"]["state"] == state {
            return l;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("letter {id} never became {state}");
}

#[tokio::test]
async fn a_transfer_letter_arrives_by_smtp_with_its_number_and_no_identity() {
    let smtp = MailServer::start();
    let app = spawn_with(with_smtp(smtp.url(), 5)).await;
    let mut body = routed_body();
    // A complainant who writes their own name and number into the text.
    body["content"] =
        json!("我叫王小明，电话13912345678。户籍窗口民警态度恶劣，多次刁难，拖延办理。");
    let (no, _) = file(&app, &body).await;
    let mails = smtp.wait_for(1).await;
    let mail = &mails[0];
    let year = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y")
        .to_string();
    let number = format!("兴效转〔{year}〕1号");
    assert_eq!(mail.to, vec!["gaj@xingguo.example".to_owned()]);
    assert!(mail.subject.contains(&number), "{}", mail.subject);
    assert!(mail.subject.contains(&no));
    assert!(mail.body.contains(&number));
    assert!(mail.body.contains("县公安局"));
    assert!(mail.body.contains("一次性告知"));
    assert!(mail.body.contains("户籍窗口民警态度恶劣"));
    assert_eq!(
        mail.message_id,
        format!("<letter.transfer.{year}.1@duban.xingguo.example>")
    );
    for planted in [
        "王小明",
        "13912345678",
        "wxm@example.cn",
        "11010519491231002X",
        "潋江镇解放路18号",
    ] {
        assert!(!mail.body.contains(planted), "e-mail body has {planted}");
        assert!(!mail.raw.contains(planted), "e-mail has {planted}");
    }
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    let letters = letters_of(&app, &no, &gaj).await;
    assert_eq!(letters.len(), 1);
    let sent = wait_for_state(&app, letters[0]["id"].as_i64().unwrap(), &gaj, "sent").await;
    assert_eq!(sent["number"], number.as_str());
    assert_eq!(sent["delivery"]["attempts"], 1);
}

#[tokio::test]
async fn letters_wait_while_smtp_is_down_and_arrive_once_it_is_back() {
    let port = MailServer::unused_port();
    let app = spawn_with(with_smtp(format!("smtp://127.0.0.1:{port}"), 20)).await;
    let (no, _) = file(&app, &routed_body()).await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let id = letters_of(&app, &no, &sup).await[0]["id"].as_i64().unwrap();
    // Attempts fail and are spaced out; move the clock past each backoff.
    let mut failed_once = false;
    for _ in 0..100 {
        let l: Value = app
            .get(&format!("/api/v1/letters/{id}"), Some(&sup))
            .await
            .json()
            .await
            .unwrap();
        if l["delivery"]["attempts"].as_i64().unwrap() >= 2 {
            assert_eq!(l["delivery"]["state"], "pending");
            assert!(l["delivery"]["last_error"].is_string());
            failed_once = true;
            break;
        }
        app.state.clock.advance(chrono::Duration::seconds(2));
        tokio::time::sleep(std::time::Duration::from_millis(60)).await;
    }
    assert!(failed_once, "the worker kept trying");
    let smtp = MailServer::start_on(port);
    for _ in 0..200 {
        if !smtp.messages().is_empty() {
            break;
        }
        app.state.clock.advance(chrono::Duration::seconds(30));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    wait_for_state(&app, id, &sup, "sent").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(smtp.messages().len(), 1, "sent once");
}

#[tokio::test]
async fn a_letter_that_cannot_be_delivered_fails_and_flags_its_case() {
    let port = MailServer::unused_port();
    let app = spawn_with(with_smtp(format!("smtp://127.0.0.1:{port}"), 2)).await;
    let (no, _) = file(&app, &routed_body()).await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let id = letters_of(&app, &no, &sup).await[0]["id"].as_i64().unwrap();
    for _ in 0..100 {
        let l: Value = app
            .get(&format!("/api/v1/letters/{id}"), Some(&sup))
            .await
            .json()
            .await
            .unwrap();
        if l["delivery"]["state"] == "failed" {
            assert_eq!(l["delivery"]["attempts"], 2);
            let c: Value = app.case(&no, &sup).await;
            assert_eq!(c["delivery_failed"], true);
            return;
        }
        app.state.clock.advance(chrono::Duration::seconds(5));
        tokio::time::sleep(std::time::Duration::from_millis(60)).await;
    }
    panic!("the letter never failed");
}

#[tokio::test]
async fn letter_numbers_are_gapless_and_unique_under_concurrency() {
    let app = spawn_app().await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let mut numbers = Vec::new();
    for _ in 0..8 {
        let mut body = routed_body();
        body.as_object_mut().unwrap().remove("subject_unit");
        numbers.push(file(&app, &body).await.0);
    }
    let assigns = numbers
        .iter()
        .map(|no| act(&app, no, "assign", json!({"unit": "JTJ"}), &sup));
    for r in futures_util::future::join_all(assigns).await {
        assert_eq!(r.status(), 200);
    }
    let list: Value = app
        .get("/api/v1/letters?kind=transfer&per_page=50", Some(&sup))
        .await
        .json()
        .await
        .unwrap();
    let got: HashSet<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["number"].as_str().unwrap().to_owned())
        .collect();
    let year = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y")
        .to_string();
    let want: HashSet<String> = (1..=8).map(|n| format!("兴效转〔{year}〕{n}号")).collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn a_unit_never_sees_who_complained_anywhere() {
    let smtp = MailServer::start();
    let app = spawn_with(with_smtp(smtp.url(), 5)).await;
    let mut body = routed_body();
    body["title"] = json!("王小明反映户籍窗口问题");
    body["content"] = json!(
        "本人王小明（身份证11010519491231002X，电话139-1234-5678，住潋江镇解放路18号，邮箱wxm@example.cn）反映窗口民警刁难。"
    );
    let (no, code) = file(&app, &body).await;
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    let sup = app.token_for(Role::Supervisor, None).await;
    crate::workflow::act(&app, &no, "acknowledge", json!({}), &gaj).await;
    crate::workflow::act(
        &app,
        &no,
        "progress",
        json!({"content": "正在核查", "public": true}),
        &gaj,
    )
    .await;
    let _ = app
        .post_json(
            "/api/v1/track",
            &json!({"tracking_no": no, "query_code": code}),
            None,
        )
        .await;
    // The supervisor sees the identity (and that read is audited)...
    let sup_view = app.identity(&no, &sup).await.to_string();
    assert!(sup_view.contains("王小明"));
    // ...the unit sees none of it, in any body it can fetch.
    let mut bodies = Vec::new();
    for path in [
        format!("/api/v1/complaints/{no}"),
        "/api/v1/complaints".to_owned(),
        "/api/v1/letters".to_owned(),
        format!("/api/v1/letters?tracking_no={no}"),
    ] {
        let resp = app.get(&path, Some(&gaj)).await;
        assert_eq!(resp.status(), 200, "{path}");
        bodies.push(resp.text().await.unwrap());
    }
    let letters: Value = serde_json::from_str(&bodies[2]).unwrap();
    for l in letters["items"].as_array().unwrap() {
        bodies.push(
            app.get(&format!("/api/v1/letters/{}", l["id"]), Some(&gaj))
                .await
                .text()
                .await
                .unwrap(),
        );
    }
    for mail in smtp.wait_for(1).await {
        bodies.push(mail.raw);
        bodies.push(mail.body);
        bodies.push(mail.subject);
    }
    for text in &bodies {
        for planted in [
            "王小明",
            "13912345678",
            "139-1234-5678",
            "wxm@example.cn",
            "11010519491231002X",
            "潋江镇解放路18号",
        ] {
            assert!(
                !text.contains(planted),
                "unit-visible body contains {planted}: {text}"
            );
        }
    }
    assert!(
        bodies[0].contains("反映户籍窗口问题"),
        "the substance stays"
    );
}

#[tokio::test]
async fn a_unit_reads_only_its_own_letters() {
    let app = spawn_app().await;
    let (no, _) = file(&app, &routed_body()).await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let id = letters_of(&app, &no, &sup).await[0]["id"].as_i64().unwrap();
    let jtj = app.token_for(Role::Unit, Some("JTJ")).await;
    assert_problem(
        app.get(&format!("/api/v1/letters/{id}"), Some(&jtj)).await,
        404,
    )
    .await;
    let list: Value = app
        .get("/api/v1/letters", Some(&jtj))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 0);
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    assert_eq!(
        app.get(&format!("/api/v1/letters/{id}"), Some(&gaj))
            .await
            .status(),
        200
    );
    assert_problem(app.get("/api/v1/letters", None).await, 401).await;
}

#[tokio::test]
async fn two_instances_on_one_database_send_each_letter_once() {
    let Some(admin_url) = postgres_or_skip("for two instances") else {
        return;
    };
    let smtp = MailServer::start();
    let db = std::sync::Arc::new(TestDb::create_postgres(&admin_url));
    let instance = |db: std::sync::Arc<TestDb>| {
        let mut spawn = with_smtp(smtp.url(), 5);
        spawn.db = Some(db);
        spawn_with(spawn)
    };
    let a = instance(db.clone()).await;
    let b = instance(db.clone()).await;
    let body = routed_body();
    let filings = (0..16).map(|i| {
        let app = if i % 2 == 0 { &a } else { &b };
        file(app, &body)
    });
    let numbers: Vec<(String, String)> = futures_util::future::join_all(filings).await;
    assert_eq!(
        numbers.iter().map(|n| &n.0).collect::<HashSet<_>>().len(),
        16
    );
    smtp.wait_for(16).await;
    // Both workers keep polling; give them time to send anything twice.
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let mails = smtp.messages();
    assert_eq!(mails.len(), 16, "each letter sent once");
    let ids: HashSet<&str> = mails.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!(ids.len(), 16);
    let year = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y")
        .to_string();
    let subjects: HashSet<String> = (1..=16).map(|n| format!("兴效转〔{year}〕{n}号")).collect();
    for m in &mails {
        assert!(
            subjects.iter().any(|s| m.subject.contains(s.as_str())),
            "{}",
            m.subject
        );
    }
}
