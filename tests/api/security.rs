//! The findings of the penetration test, each probed as an attacker would:
//! conflict-of-interest routing however the leader is written, junk floods,
//! lock-outs by strangers, slow bodies, query codes at rest, Open311 as an
//! amplifier, the unit writing on the citizen's page, location text, and
//! the smaller ones.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use duban::auth::policy::Role;
use serde_json::{Value, json};

use crate::escalation::{at, get_json, local, routed_case_with_code, sweep};
use crate::helpers::*;
use crate::workflow::{act, file, routed_body};

fn anonymous(body: Value) -> Value {
    let mut b = body;
    b["anonymous"] = json!(true);
    b.as_object_mut().unwrap().remove("complainant");
    b
}

/// The case's unit as a supervisor sees it, and whether it waits.
async fn routed_to(app: &TestApp, no: &str) -> (Option<String>, String, Value) {
    let sup = app.token_for(Role::Supervisor, None).await;
    let c = app.case(no, &sup).await;
    (
        c["responsible_unit"]["code"].as_str().map(str::to_owned),
        c["status"].as_str().unwrap().to_owned(),
        c["hold_reason"].clone(),
    )
}

#[tokio::test]
async fn a_complaint_about_a_units_leader_never_reaches_that_unit_however_it_is_written() {
    let app = spawn_app().await;
    // The penetration test's own filing, word for word.
    let r = app
        .post_complaint(&json!({
            "title": "路由测试",
            "content": "县公安局局长参与赌博，影响恶劣。",
            "category": "gambling",
            "subject_person": "公安局局长陈某",
            "anonymous": true
        }))
        .await;
    assert_eq!(r.status(), 201);
    let no = r.json::<Value>().await.unwrap()["tracking_no"]
        .as_str()
        .unwrap()
        .to_owned();
    let (unit, status, _) = routed_to(&app, &no).await;
    assert_eq!(unit.as_deref(), Some("ZFB"), "up to the office, not GAJ");
    assert_eq!(status, "assigned");

    // The leader's name with a space, in traditional characters, with a
    // full-width space, inside the text: never GAJ.
    for person in ["陈 卫东", "陈卫東", "陈\u{3000}卫东", "陳衛東"] {
        let mut body = anonymous(routed_body());
        body["category"] = json!("gambling");
        body["subject_person"] = json!(person);
        let (no, _) = file(&app, &body).await;
        let (unit, ..) = routed_to(&app, &no).await;
        assert_ne!(unit.as_deref(), Some("GAJ"), "{person}");
    }
    let mut body = anonymous(routed_body());
    body["content"] = json!("听说縣公安局局長經常在外面打麻將，群众意见很大。");
    let (no, _) = file(&app, &body).await;
    assert_ne!(routed_to(&app, &no).await.0.as_deref(), Some("GAJ"));

    // GAJ got nothing: no case, no letter, no mail.
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    assert_eq!(get_json(&app, "/api/v1/complaints", &gaj).await["total"], 0);
    assert_eq!(get_json(&app, "/api/v1/letters", &gaj).await["total"], 0);
}

#[tokio::test]
async fn a_title_the_check_cannot_place_waits_for_a_supervisor() {
    let app = spawn_app().await;
    let mut body = anonymous(routed_body());
    body["category"] = json!("gambling");
    body["subject_person"] = json!("陈局长");
    let (no, _) = file(&app, &body).await;
    let (unit, status, hold) = routed_to(&app, &no).await;
    assert_eq!((unit, status.as_str()), (None, "received"));
    assert_eq!(hold, "leader_unsure");
    let sup = app.token_for(Role::Supervisor, None).await;
    let queue = get_json(&app, "/api/v1/complaints?flag=needs_confirmation", &sup).await;
    assert_eq!(queue["total"], 1);
    // Assigning it to GAJ needs the supervisor's confirmation.
    let bad = assert_problem(
        act(&app, &no, "assign", json!({"unit": "GAJ"}), &sup).await,
        422,
    )
    .await;
    assert_eq!(error_fields(&bad), ["confirm"]);
    let ok = act(
        &app,
        &no,
        "assign",
        json!({"unit": "GAJ", "confirm": true}),
        &sup,
    )
    .await;
    assert_eq!(ok.status(), 200);
    // A supervisor can never assign a case about GAJ's leader to GAJ.
    let mut body = anonymous(routed_body());
    body["subject_person"] = json!("县公安局长");
    let (no, _) = file(&app, &body).await;
    let refused = assert_problem(
        act(
            &app,
            &no,
            "assign",
            json!({"unit": "GAJ", "confirm": true}),
            &sup,
        )
        .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&refused), ["unit"]);
}

fn limited(per_address: i32, burst: i64) -> Spawn {
    Spawn {
        customise: Box::new(move |s| {
            s.server.trust_forwarded_for = true;
            s.intake.max_filings_per_address = per_address;
            s.intake.burst_per_unit = burst;
        }),
        ..Default::default()
    }
}

async fn file_from(
    app: &TestApp,
    addr: &str,
    body: &Value,
    key: Option<&str>,
) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url("/api/v1/complaints"))
        .header("X-Forwarded-For", addr)
        .json(body);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn an_address_files_its_share_and_then_gets_429() {
    let app = spawn_with(limited(3, 0)).await;
    let body = anonymous(routed_body());
    for i in 0..3 {
        let key = format!("k-{i}");
        assert_eq!(
            file_from(&app, "203.0.113.5", &body, Some(&key))
                .await
                .status(),
            201
        );
    }
    let refused = file_from(&app, "203.0.113.5", &body, Some("k-new")).await;
    assert!(refused.headers().contains_key("retry-after"));
    assert_problem(refused, 429).await;
    // A retry of an answered filing still gets its answer.
    let replay = file_from(&app, "203.0.113.5", &body, Some("k-0")).await;
    assert_eq!(replay.status(), 201);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    // IPv6 counts per /64: a new interface id is the same customer.
    for host in ["1", "2", "3"] {
        let addr = format!("2001:db8:7:8::{host}");
        assert_eq!(file_from(&app, &addr, &body, None).await.status(), 201);
    }
    assert_problem(
        file_from(&app, "2001:db8:7:8::ffff", &body, None).await,
        429,
    )
    .await;
    assert_eq!(
        file_from(&app, "2001:db8:7:9::1", &body, None)
            .await
            .status(),
        201,
        "another /64 is another customer"
    );
    assert_eq!(app.complaint_count(), 7);
}

#[tokio::test]
async fn a_burst_naming_one_unit_is_held_for_screening_instead_of_sent() {
    let app = spawn_with(limited(1000, 3)).await;
    let mut body = anonymous(routed_body());
    body["subject_unit"] = json!("JTJ");
    let mut numbers = Vec::new();
    for i in 0..5 {
        let r = file_from(&app, &format!("198.51.100.{i}"), &body, None).await;
        assert_eq!(r.status(), 201);
        numbers.push(
            r.json::<Value>().await.unwrap()["tracking_no"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let sup = app.token_for(Role::Supervisor, None).await;
    let held = get_json(&app, "/api/v1/complaints?flag=needs_confirmation", &sup).await;
    assert_eq!(held["total"], 2, "the fourth and fifth wait");
    for no in &numbers[3..] {
        let (unit, status, hold) = routed_to(&app, no).await;
        assert_eq!(
            (unit, status.as_str(), hold),
            (None, "received", json!("burst"))
        );
    }
    let jtj = app.token_for(Role::Unit, Some("JTJ")).await;
    assert_eq!(get_json(&app, "/api/v1/letters", &jtj).await["total"], 3);
}

#[tokio::test]
async fn a_supervisor_voids_a_junk_case_already_sent_and_the_unit_is_told() {
    let app = spawn_app().await;
    let (no, _) = routed_case_with_code(&app).await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let state = act(
        &app,
        &no,
        "screen",
        json!({"decision": "invalid", "reason": "批量垃圾投诉"}),
        &sup,
    )
    .await;
    assert_eq!(state.status(), 200);
    let case = app.case(&no, &sup).await;
    assert_eq!(case["status"], "rejected");
    let letter = &case["letters"][0];
    assert_eq!(letter["number"], "兴效转〔2026〕1号");
    assert!(
        letter["withdrawn_at"].is_string(),
        "the letter stays, withdrawn"
    );
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    let notices = get_json(&app, "/api/v1/notices", &gaj).await;
    let n = &notices["items"][0];
    assert_eq!(n["kind"], "withdrawn");
    assert!(
        n["body"].as_str().unwrap().contains("兴效转〔2026〕1号"),
        "{n}"
    );
    // No step of the ladder fires for it any more.
    at(&app, local(2026, 12, 9, 9, 0));
    assert_eq!(sweep(&app).await["steps"], json!([]));
    // Numbers stay gapless: the next transfer letter is number 2.
    let (next, _) = file(&app, &routed_body()).await;
    let sup = app.token_for(Role::Supervisor, None).await;
    assert_eq!(
        app.case(&next, &sup).await["letters"][0]["number"],
        "兴效转〔2026〕2号"
    );
}

#[tokio::test]
async fn strangers_cannot_lock_a_citizen_out_of_their_case_and_the_office_is_alerted() {
    let app = spawn_with(behind_proxy(10, 5)).await;
    let r = app.file_complaint().await;
    let (no, code) = (
        r["tracking_no"].as_str().unwrap().to_owned(),
        r["query_code"].as_str().unwrap().to_owned(),
    );
    for i in 0..6 {
        let addr = format!("203.0.113.{i}");
        assert_eq!(track_from(&app, &addr, &no, "WRONGWRG").await.status(), 404);
    }
    // The citizen makes one typo, then types the right code: 200.
    assert_eq!(
        track_from(&app, "198.51.100.9", &no, "WRONGWRX")
            .await
            .status(),
        404
    );
    assert_eq!(
        track_from(&app, "198.51.100.9", &no, &code).await.status(),
        200
    );
    // The office heard of it once.
    let sup = app.token_for(Role::Supervisor, None).await;
    let alerts = get_json(&app, "/api/v1/notices?unit=ZFB", &sup).await;
    let kinds: Vec<&str> = alerts["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["tracking_alert"]);
    let case = app.case(&no, &sup).await;
    assert!(case["timeline"].to_string().contains("tracking_alert"));
    // An address over its own limit is refused whatever it sends.
    for _ in 0..10 {
        track_from(&app, "192.0.2.66", &no, "WRONGWRG").await;
    }
    assert_problem(track_from(&app, "192.0.2.66", &no, &code).await, 429).await;
}

async fn login_from(app: &TestApp, addr: &str, user: &str, password: &str) -> reqwest::Response {
    let body = json!({"username": user, "password": password});
    post_from(app, addr, "/api/v1/auth/token", &body, None).await
}

#[tokio::test]
async fn strangers_from_many_addresses_slow_an_account_down_but_never_lock_its_owner_out() {
    let app = spawn_with(Spawn {
        customise: Box::new(|s| {
            s.server.trust_forwarded_for = true;
            s.auth.max_login_failures_per_user = 5;
            s.auth.max_login_failures_per_address = 20;
        }),
        ..Default::default()
    })
    .await;
    app.create_user("zfb.target", Role::Supervisor, None);
    for i in 0..30 {
        let addr = format!("203.0.113.{i}");
        let status = login_from(&app, &addr, "zfb.target", "guess guess guess")
            .await
            .status();
        assert_eq!(status, 401, "a first try from {addr}");
    }
    // Past the account's limit, an address that has failed is refused.
    let again = login_from(&app, "203.0.113.3", "zfb.target", "guess again guess").await;
    assert_problem(again, 429).await;
    let again = login_from(&app, "203.0.113.3", "zfb.target", PASSWORD).await;
    assert_problem(again, 429).await;
    // The owner, from an address that has not failed, logs in.
    assert_eq!(
        login_from(&app, "198.51.100.1", "zfb.target", PASSWORD)
            .await
            .status(),
        200
    );
    // Address limits count IPv6 per /64.
    for host in 0..20 {
        let addr = format!("2001:db8:5:6::{host:x}");
        login_from(&app, &addr, "nobody", "guess guess guess").await;
    }
    assert_problem(
        login_from(&app, "2001:db8:5:6:ffff::1", "zfb.target", PASSWORD).await,
        429,
    )
    .await;
}

fn slow_server() -> Spawn {
    Spawn {
        customise: Box::new(|s| {
            s.server.body_timeout_ms = 1000;
            s.server.request_head_timeout_ms = 1000;
            s.server.keep_alive_seconds = 1;
        }),
        ..Default::default()
    }
}

/// Reads from the socket until the server closes it; the text read and
/// whether it closed before `limit`.
fn read_until_closed(s: &mut TcpStream, limit: Duration) -> (String, bool) {
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while start.elapsed() < limit {
        match s.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), true),
        }
    }
    (String::from_utf8_lossy(&got).into_owned(), false)
}

#[tokio::test]
async fn a_body_that_trickles_in_is_refused_with_408_and_its_connection_closed() {
    let app = spawn_with(slow_server()).await;
    let addr = app.address.trim_start_matches("http://").to_owned();
    let result = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(&addr).unwrap();
        s.write_all(
            b"POST /api/v1/complaints HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n{",
        )
        .unwrap();
        // A byte every 300 ms: the body would take five hours.
        let writer = s.try_clone().unwrap();
        let trickle = std::thread::spawn(move || {
            let mut w = writer;
            for _ in 0..40 {
                std::thread::sleep(Duration::from_millis(300));
                if w.write_all(b" ").is_err() {
                    break;
                }
            }
        });
        let out = read_until_closed(&mut s, Duration::from_secs(12));
        drop(trickle);
        out
    })
    .await
    .unwrap();
    let (text, closed) = result;
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("application/problem+json"), "{text}");
    assert!(closed, "the connection is closed");
}

#[tokio::test]
async fn silent_and_idle_connections_are_closed() {
    let app = spawn_with(slow_server()).await;
    let addr = app.address.trim_start_matches("http://").to_owned();
    let (silent, idle) = tokio::task::spawn_blocking(move || {
        // Connects and says nothing.
        let mut s = TcpStream::connect(&addr).unwrap();
        let (_, silent_closed) = read_until_closed(&mut s, Duration::from_secs(12));
        // One request, then nothing on the kept-alive connection.
        let mut k = TcpStream::connect(&addr).unwrap();
        k.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let (text, idle_closed) = read_until_closed(&mut k, Duration::from_secs(12));
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        (silent_closed, idle_closed)
    })
    .await
    .unwrap();
    assert!(silent, "a silent connection is closed");
    assert!(idle, "an idle keep-alive connection is closed");
}

#[tokio::test]
async fn the_query_code_is_nowhere_in_the_database_in_plain_text() {
    let app = spawn_app().await;
    let resp = app
        .client
        .post(app.url("/api/v1/complaints"))
        .header("Idempotency-Key", "plain-code-probe")
        .json(&routed_body())
        .send()
        .await
        .unwrap();
    let receipt: Value = resp.json().await.unwrap();
    let code = receipt["query_code"].as_str().unwrap().to_owned();
    // The replay still gives it back.
    let replay: Value = app
        .client
        .post(app.url("/api/v1/complaints"))
        .header("Idempotency-Key", "plain-code-probe")
        .json(&routed_body())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(replay["query_code"], code.as_str());
    let dump = match &*app.db {
        TestDb::Sqlite { path } => {
            let mut bytes = std::fs::read(path).unwrap();
            let wal = path.with_extension("db-wal");
            if let Ok(more) = std::fs::read(&wal) {
                bytes.extend(more);
            }
            bytes
        }
        TestDb::Postgres { .. } => {
            let url = app.db.url();
            let out = std::process::Command::new("pg_dump")
                .arg(url.split('?').next().unwrap())
                .output();
            match out {
                Ok(o) if o.status.success() => o.stdout,
                _ => {
                    require_or_skip("pg_dump (Debian postgresql-client)");
                    return;
                }
            }
        }
    };
    let found = dump.windows(code.len()).any(|w| w == code.as_bytes());
    assert!(!found, "the query code {code} is stored in plain text");
}

const OPEN311_KEY: &str = "k1-open311-security-key";

fn open311_server(publish_list: bool, reads: i32) -> Spawn {
    Spawn {
        customise: Box::new(move |s| {
            s.open311.api_keys = vec![OPEN311_KEY.into()];
            s.open311.publish_list = publish_list;
            s.open311.list_limit = 2;
            s.open311.max_reads_per_address = reads;
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn open311_lists_nothing_it_was_not_asked_for_and_limits_its_readers() {
    let app = spawn_with(open311_server(false, 5)).await;
    let (no, _) = file(&app, &routed_body()).await;
    let (status, _, body) = read(app.get("/open311/v2/requests.json", None).await).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("service_request_id"));
    let (status, _, body) = read(
        app.get(
            &format!("/open311/v2/requests.json?service_request_id={no}"),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.contains(&no));
    // A NUL is refused as bad input, before the database.
    for path in [
        "/open311/v2/requests.json?service_request_id=XG%00",
        "/open311/v2/services/bribe%00seeking.json",
    ] {
        let (status, _, body) = read(app.get(path, None).await).await;
        assert_eq!(status, 400, "{path}: {body}");
    }
    // Reads are counted per address, malformed ones too: four so far, the
    // fifth is the last in the window.
    let (status, _, _) = read(app.get("/open311/v2/services.json", None).await).await;
    assert_eq!(status, 200);
    let resp = app.get("/open311/v2/services.json", None).await;
    let retry = resp.headers().contains_key("retry-after");
    let (status, _, body) = read(resp).await;
    assert_eq!(status, 429, "{body}");
    assert!(retry);
}

#[tokio::test]
async fn a_published_open311_list_is_short() {
    let app = spawn_with(open311_server(true, 1000)).await;
    for _ in 0..4 {
        file(&app, &routed_body()).await;
    }
    let (status, _, body) = read(app.get("/open311/v2/requests.json", None).await).await;
    assert_eq!(status, 200);
    let list: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2, "list_limit");
}

#[tokio::test]
async fn an_address_string_that_names_no_known_place_is_kept_from_the_unit() {
    let app = spawn_with(open311_server(false, 1000)).await;
    let form = [
        ("api_key", OPEN311_KEY),
        ("service_code", "service_attitude"),
        (
            "description",
            "到县公安局户籍窗口办理业务，窗口民警态度恶劣，多次推诿不予办理。",
        ),
        ("address_string", "潋江镇解放路18号3栋"),
        ("attribute[title]", "户籍窗口民警态度恶劣"),
        ("attribute[subject_unit]", "GAJ"),
    ];
    let resp = app
        .client
        .post(app.url("/open311/v2/requests.json"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let no = resp.json::<Value>().await.unwrap()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    let case = app
        .get(&format!("/api/v1/complaints/{no}"), Some(&gaj))
        .await
        .text()
        .await
        .unwrap();
    assert!(!case.contains("解放路"), "{case}");
    let sup = app.token_for(Role::Supervisor, None).await;
    let office = app.case(&no, &sup).await;
    assert!(office["township"].is_null());
    assert_eq!(office["has_identity"], true);
    assert_eq!(
        app.identity(&no, &sup).await["location"],
        "潋江镇解放路18号3栋"
    );
    // A known township becomes the township.
    let mut known = form;
    known[3] = ("address_string", "潋江镇");
    let resp = app
        .client
        .post(app.url("/open311/v2/requests.json"))
        .form(&known)
        .send()
        .await
        .unwrap();
    let no = resp.json::<Value>().await.unwrap()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.case(&no, &sup).await["township"], "潋江镇");
}

#[tokio::test]
async fn a_units_public_note_waits_for_the_office_before_the_citizen_reads_it() {
    let app = spawn_app().await;
    let (no, code) = file(&app, &routed_body()).await;
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    act(&app, &no, "acknowledge", json!({}), &gaj).await;
    let note = "投诉人所述情况不实，系无理取闹。";
    let state = act(
        &app,
        &no,
        "progress",
        json!({"content": note, "public": true}),
        &gaj,
    )
    .await;
    assert_eq!(state.status(), 200);
    let page = app.track(&no, &code).await.text().await.unwrap();
    assert!(!page.contains(note), "not on the citizen's page yet");
    let sup = app.token_for(Role::Supervisor, None).await;
    let queue = get_json(&app, "/api/v1/complaints?flag=note_awaiting_approval", &sup).await;
    assert_eq!(queue["total"], 1);
    let id = app.case(&no, &sup).await["progress"][0]["id"]
        .as_i64()
        .unwrap();
    let decided = app
        .post_json(
            &format!("/api/v1/complaints/{no}/progress/{id}/publication"),
            &json!({"decision": "deny", "note": "措辞不当"}),
            Some(&sup),
        )
        .await;
    assert_eq!(decided.status(), 200);
    assert!(
        !app.track(&no, &code)
            .await
            .text()
            .await
            .unwrap()
            .contains(note)
    );
    // A fitting note, approved, appears.
    let fitting = "已约谈当事民警，正在调取监控核实。";
    act(
        &app,
        &no,
        "progress",
        json!({"content": fitting, "public": true}),
        &gaj,
    )
    .await;
    let id = app.case(&no, &sup).await["progress"][1]["id"]
        .as_i64()
        .unwrap();
    app.post_json(
        &format!("/api/v1/complaints/{no}/progress/{id}/publication"),
        &json!({"decision": "approve"}),
        Some(&sup),
    )
    .await;
    assert!(
        app.track(&no, &code)
            .await
            .text()
            .await
            .unwrap()
            .contains(fitting)
    );
    assert_eq!(
        get_json(&app, "/api/v1/complaints?flag=note_awaiting_approval", &sup).await["total"],
        0
    );
}

#[tokio::test]
async fn a_trusted_units_public_note_goes_out_at_once() {
    let app = spawn_with(Spawn {
        customise: Box::new(|s| s.workflow.trusted_units = vec!["GAJ".into()]),
        ..Default::default()
    })
    .await;
    let (no, code) = file(&app, &routed_body()).await;
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    act(&app, &no, "acknowledge", json!({}), &gaj).await;
    let note = "已约谈当事民警，正在调取监控核实。";
    act(
        &app,
        &no,
        "progress",
        json!({"content": note, "public": true}),
        &gaj,
    )
    .await;
    assert!(
        app.track(&no, &code)
            .await
            .text()
            .await
            .unwrap()
            .contains(note)
    );
}

#[tokio::test]
async fn invisible_characters_are_refused_in_single_line_fields() {
    let app = spawn_app().await;
    for bad in ["陈\u{200B}卫东", "窗口\u{2028}民警", "\u{FEFF}窗口民警"] {
        let mut body = routed_body();
        body["subject_person"] = json!(bad);
        let problem = assert_problem(app.post_complaint(&body).await, 422).await;
        assert_eq!(error_fields(&problem), ["subject_person"], "{bad:?}");
    }
}

#[tokio::test]
async fn the_last_administrator_stays_and_a_stray_unit_is_named() {
    let app = spawn_app().await;
    let admin_id = app.create_user("only.admin", Role::Admin, None);
    let token = ok_json(app.login("only.admin", PASSWORD).await, "login").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/users/{admin_id}");
    let patch = |body: Value| {
        app.client
            .patch(app.url(&path))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let demote = assert_problem(patch(json!({"role": "auditor"})).await.unwrap(), 422).await;
    assert_eq!(error_fields(&demote), ["role"]);
    let disable = assert_problem(patch(json!({"active": false})).await.unwrap(), 422).await;
    assert_eq!(error_fields(&disable), ["active"]);
    let op = app.create_user("op.one", Role::Operator, None);
    let stray = assert_problem(
        app.client
            .patch(app.url(&format!("/api/v1/users/{op}")))
            .bearer_auth(&token)
            .json(&json!({"role": "supervisor", "unit": "GAJ"}))
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
    assert_eq!(error_fields(&stray), ["unit"]);
    // With a second administrator the first may step down.
    app.create_user("second.admin", Role::Admin, None);
    assert_eq!(
        patch(json!({"role": "auditor"})).await.unwrap().status(),
        200
    );
}
