//! The hotline desk and the office's daily queue: the caller look-up, calls
//! about existing cases, callbacks with the number read for them, the
//! identity read with a reason, possible duplicates, merges that keep the
//! facts, the assignment note, and the supervisor's one queue. The privacy
//! tests plant the complainant's values and search every body the unit and
//! the operator receive.

use chrono::{Duration, Utc};
use duban::auth::policy::Role;
use serde_json::{Value, json};

use crate::escalation::{at, get_json};
use crate::helpers::*;
use crate::workflow::{act, file, routed_body};

/// The complainant of `complaint_body()`, every value of it.
const IDENTITY: [&str; 5] = [
    "王小明",
    "13912345678",
    "wxm@example.cn",
    "11010519491231002X",
    "潋江镇解放路18号",
];

fn call(disposition: &str, phone: &str) -> Value {
    json!({
        "caller_phone": phone,
        "started_at": (Utc::now() - Duration::minutes(5)).to_rfc3339(),
        "duration_seconds": 120,
        "summary": "来电",
        "disposition": disposition,
    })
}

fn about(disposition: &str, phone: &str, no: &str) -> Value {
    let mut c = call(disposition, phone);
    c["tracking_no"] = json!(no);
    c
}

async fn log(app: &TestApp, op: &str, body: &Value) -> Value {
    ok_json(app.post_json("/api/v1/calls", body, Some(op)).await, "call").await
}

async fn must(resp: reqwest::Response, what: &str) -> Value {
    ok_json(resp, what).await
}

fn report() -> Value {
    json!({
        "findings": "经调查，反映的窗口民警服务态度生硬问题基本属实。",
        "measures": "对当事民警进行批评教育，全所开展服务规范培训。",
        "responsible_person": "户籍室负责人",
        "rectification_deadline": "2099-12-31",
        "target": "窗口服务规范，群众满意",
        "public_reply": "经核查，您反映的问题基本属实，已责成整改并加强培训。"
    })
}

/// Files `body` (routed to GAJ) and closes it.
async fn closed(app: &TestApp, body: &Value) -> String {
    let (no, _) = file(app, body).await;
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    let sup = app.token_for(Role::Supervisor, None).await;
    must(act(app, &no, "acknowledge", json!({}), &gaj).await, "ack").await;
    must(act(app, &no, "report", report(), &gaj).await, "report").await;
    must(
        act(app, &no, "review", json!({"decision": "accept"}), &sup).await,
        "accept",
    )
    .await;
    no
}

async fn queue(app: &TestApp, sup: &str) -> Value {
    get_json(app, "/api/v1/queue?limit=50", sup).await
}

fn bucket<'a>(q: &'a Value, name: &str) -> &'a Value {
    q["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["bucket"] == name)
        .unwrap_or_else(|| panic!("no bucket {name} in {q}"))
}

fn listed(q: &Value, name: &str, no: &str) -> bool {
    bucket(q, name)["oldest"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["tracking_no"] == no)
}

async fn events(app: &TestApp, action: &str) -> Value {
    let aud = app.token_for(Role::Auditor, None).await;
    get_json(app, &format!("/api/v1/audit/events?action={action}"), &aud).await
}

/// Every body a unit officer can fetch about its cases.
async fn unit_bodies(app: &TestApp, no: &str, token: &str) -> String {
    let mut all = String::new();
    for path in [
        format!("/api/v1/complaints/{no}"),
        "/api/v1/complaints".to_owned(),
        "/api/v1/letters".to_owned(),
        "/api/v1/notices".to_owned(),
    ] {
        let resp = app.get(&path, Some(token)).await;
        assert_eq!(resp.status(), 200, "{path}");
        all.push_str(&resp.text().await.unwrap());
    }
    all
}

#[tokio::test]
async fn an_operator_finds_a_callers_calls_and_cases_without_their_identity() {
    let app = spawn_app().await;
    let op = app.token_for(Role::Operator, None).await;
    // A complaint filed on the web with this number, and two calls from it.
    let (no, _) = file(&app, &routed_body()).await;
    log(&app, &op, &call("answered", "139 1234 5678")).await;
    log(&app, &op, &about("status_inquiry", "13912345678", &no)).await;
    // An anonymous complaint by phone from the same number.
    let mut anon = call("complaint", "13912345678");
    let mut body = routed_body();
    body["anonymous"] = json!(true);
    body.as_object_mut().unwrap().remove("complainant");
    anon["complaint"] = body;
    let anon_no = log(&app, &op, &anon).await["tracking_no"]
        .as_str()
        .unwrap()
        .to_owned();

    // Written as the caller gives it: spaces, dashes, +86.
    let resp = app
        .get("/api/v1/callers/+86%20139-1234-5678", Some(&op))
        .await;
    let (status, _, text) = read(resp).await;
    assert_eq!(status, 200, "{text}");
    let found: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(found["calls_last_30_days"], 3, "{found:#}");
    let calls = found["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 3);
    // The anonymous complaint's call is listed, its case is not.
    assert_eq!(calls[0]["disposition"], "complaint");
    assert!(calls[0]["tracking_no"].is_null(), "{found:#}");
    assert_eq!(calls[1]["disposition"], "status_inquiry");
    assert_eq!(calls[1]["tracking_no"], no.as_str());
    let cases = found["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 1, "{found:#}");
    let case = &cases[0];
    assert_eq!(case["tracking_no"], no.as_str());
    assert_eq!(case["status"], "assigned");
    assert_eq!(case["status_label"], "已转办");
    assert_eq!(case["responsible_unit"]["code"], "GAJ");
    assert!(case["due_at"].is_string());
    let note = case["last_public"]["note"].as_str().unwrap();
    assert!(note.starts_with("已转交县公安局办理"), "{note}");
    for value in IDENTITY {
        assert!(!text.contains(value), "{value} in {text}");
    }
    assert!(!text.contains(&anon_no), "{text}");
    // The look-up is an audit event naming the operator.
    let e = events(&app, "caller_looked_up").await;
    assert_eq!(e["total"], 1, "{e}");
    assert_eq!(e["items"][0]["actor_role"], "operator");
    // A bad number is named; units and auditors may not look.
    let bad = assert_problem(app.get("/api/v1/callers/12ab", Some(&op)).await, 422).await;
    assert_eq!(error_fields(&bad), vec!["phone"]);
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    assert_eq!(
        app.get("/api/v1/callers/13912345678", Some(&gaj))
            .await
            .status(),
        403
    );
}

#[tokio::test]
async fn a_citizen_chasing_twice_puts_the_case_on_the_queue_and_in_the_figures() {
    let app = spawn_app().await;
    let op = app.token_for(Role::Operator, None).await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    let (no, _) = file(&app, &routed_body()).await;
    let inquiry = log(&app, &op, &about("status_inquiry", "13912345678", &no)).await;
    assert_eq!(inquiry["tracking_no"], no.as_str());
    assert_eq!(inquiry["disposition_label"], "查询进度");
    log(&app, &op, &about("follow_up", "13912345678", &no)).await;
    assert!(!listed(&queue(&app, &sup).await, "chased", &no));
    log(&app, &op, &about("follow_up", "13912345678", &no)).await;
    let q = queue(&app, &sup).await;
    assert!(listed(&q, "chased", &no), "{q:#}");
    assert_eq!(bucket(&q, "chased")["label"], "群众多次催办");

    let office = app.case(&no, &sup).await;
    assert_eq!(office["follow_ups"], 2);
    let lines: Vec<&str> = office["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["summary"].as_str().unwrap())
        .collect();
    assert!(
        lines.iter().any(|l| l.starts_with("群众来电查询办理进度")),
        "{lines:?}"
    );
    assert!(lines.contains(&"群众来电催办（第2次）"), "{lines:?}");
    // The unit is told it is being chased, not who called.
    let unit = app.case(&no, &gaj).await;
    let unit_lines: Vec<&str> = unit["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["summary"].as_str().unwrap())
        .collect();
    assert!(
        unit_lines.contains(&"群众来电催办（第2次），请抓紧办理"),
        "{unit_lines:?}"
    );
    assert!(
        !unit_lines.iter().any(|l| l.contains("查询")),
        "{unit_lines:?}"
    );

    let stats = get_json(&app, "/api/v1/stats", &sup).await;
    assert_eq!(stats["summary"]["follow_ups"], 2, "{stats:#}");
    assert_eq!(stats["calls_by_disposition"]["follow_up"], 2);
    let ranking = get_json(&app, "/api/v1/ranking", &sup).await;
    let row = ranking["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["unit"] == "GAJ")
        .unwrap();
    assert_eq!(row["follow_ups"], 2, "{row}");
    // An unknown case is named on its field.
    let bad = assert_problem(
        app.post_json(
            "/api/v1/calls",
            &about("follow_up", "13912345678", "ZF20990101000001"),
            Some(&op),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&bad), vec!["tracking_no"]);
}

#[tokio::test]
async fn a_callers_supplement_is_redacted_added_and_sent_to_the_unit() {
    let app = spawn_app().await;
    let op = app.token_for(Role::Operator, None).await;
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let (no, _) = file(&app, &routed_body()).await;
    let mut body = about("supplement", "0797-5321234", &no);
    body["supplement"] =
        json!("我是王小明，电话0797-5321234，补充：当天下午三点在三号窗口，民警还把材料扔回给我。");
    log(&app, &op, &body).await;

    let unit = app.case(&no, &gaj).await;
    let supplements = unit["supplements"].as_array().unwrap();
    assert_eq!(supplements.len(), 1, "{unit:#}");
    let text = supplements[0]["content"].as_str().unwrap();
    assert!(text.contains("三号窗口"), "{text}");
    assert!(supplements[0].get("source").is_none());
    let notices = get_json(&app, "/api/v1/notices", &gaj).await;
    let notice = notices["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "supplement")
        .unwrap_or_else(|| panic!("no supplement notice in {notices}"))
        .clone();
    assert!(notice["body"].as_str().unwrap().contains("三号窗口"));
    let all = unit_bodies(&app, &no, &gaj).await;
    for value in IDENTITY.iter().chain(&["0797-5321234", "07975321234"]) {
        assert!(!all.contains(value), "{value} reached the unit");
    }
    let office = app.case(&no, &sup).await;
    assert_eq!(office["supplements"][0]["source"], "call");
    // A supplement needs its text; a closed or unknown case refuses.
    let mut empty = about("supplement", "0797-5321234", &no);
    empty["summary"] = json!("补充");
    let bad = assert_problem(app.post_json("/api/v1/calls", &empty, Some(&op)).await, 422).await;
    assert_eq!(error_fields(&bad), vec!["supplement"]);
}

#[tokio::test]
async fn calls_for_other_lines_are_transferred_and_fields_that_do_not_belong_are_named() {
    let app = spawn_app().await;
    let op = app.token_for(Role::Operator, None).await;
    let mut t = call("transferred", "13912345678");
    t["transferred_to"] = json!("12345");
    let logged = log(&app, &op, &t).await;
    assert_eq!(logged["transferred_to"], "12345");
    assert_eq!(logged["disposition_label"], "转办其他热线");
    let mut other = call("transferred", "13912345678");
    other["transferred_to"] = json!("other");
    let bad = assert_problem(app.post_json("/api/v1/calls", &other, Some(&op)).await, 422).await;
    assert_eq!(error_fields(&bad), vec!["transferred_to_name"]);
    other["transferred_to_name"] = json!("县市场监管局投诉热线");
    assert_eq!(
        log(&app, &op, &other).await["transferred_to_name"],
        "县市场监管局投诉热线"
    );
    // Fields of another disposition are refused, each by name.
    let mut mixed = call("answered", "13912345678");
    mixed["tracking_no"] = json!("ZF20260101000001");
    mixed["transferred_to"] = json!("110");
    mixed["supplement"] = json!("补充的情况写在这里");
    let bad = assert_problem(app.post_json("/api/v1/calls", &mixed, Some(&op)).await, 422).await;
    let mut fields = error_fields(&bad);
    fields.sort();
    assert_eq!(fields, vec!["supplement", "tracking_no", "transferred_to"]);
    let listed = get_json(&app, "/api/v1/calls?disposition=transferred", &op).await;
    assert_eq!(listed["total"], 2, "{listed}");
}

#[tokio::test]
async fn callbacks_fall_due_the_next_working_day_and_the_number_is_read_with_a_reason() {
    let app = spawn_app().await;
    let no = closed(&app, &routed_body()).await;
    let op = app.token_for(Role::Operator, None).await;
    let office = app.case(&no, &op).await;
    assert_eq!(office["callback_status"], "due");
    // Not before the next working day.
    let list = get_json(&app, "/api/v1/callbacks", &op).await;
    assert_eq!(list["total"], 0, "{list}");
    at(&app, Utc::now() + Duration::days(8));
    let op = app.token_for(Role::Operator, None).await;
    let list = get_json(&app, "/api/v1/callbacks", &op).await;
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["items"][0]["tracking_no"], no.as_str());
    assert_eq!(list["items"][0]["attempts"], json!([]));

    // The number needs a reason; the answer holds only the number.
    let path = format!("/api/v1/complaints/{no}/callback/contact");
    let bad = assert_problem(app.post_json(&path, &json!({}), Some(&op)).await, 422).await;
    assert_eq!(error_fields(&bad), vec!["reason"]);
    let contact = must(
        app.post_json(&path, &json!({"reason": "办结回访"}), Some(&op))
            .await,
        "contact",
    )
    .await;
    assert_eq!(contact, json!({"phone": "13912345678"}));
    let read = events(&app, "contact_viewed").await;
    assert_eq!(read["total"], 1);
    assert_eq!(read["items"][0]["actor_role"], "operator");
    assert!(read["items"][0]["actor_id"].is_i64(), "{read}");
    assert!(
        read["items"][0]["summary"]
            .as_str()
            .unwrap()
            .contains("办结回访")
    );
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    assert_eq!(
        app.post_json(&path, &json!({"reason": "办结回访"}), Some(&gaj))
            .await
            .status(),
        403
    );
    // The unit never learns of the callback or the number.
    let all = unit_bodies(&app, &no, &gaj).await;
    for word in ["contact_viewed", "回访", "13912345678", "callback_status"] {
        assert!(!all.contains(word), "{word} reached the unit");
    }
}

#[tokio::test]
async fn three_unanswered_days_end_a_callback_and_an_unsatisfied_answer_waits_for_the_office() {
    let app = spawn_app().await;
    let first = closed(&app, &routed_body()).await;
    let second = closed(&app, &routed_body()).await;
    let start = Utc::now() + Duration::days(8);
    let attempt = |outcome: &str| json!({"outcome": outcome});
    for day in 0..3 {
        at(&app, start + Duration::days(day));
        let op = app.token_for(Role::Operator, None).await;
        // Twice on the first day: days count, not attempts.
        let times = if day == 0 { 2 } else { 1 };
        for _ in 0..times {
            must(
                act(&app, &first, "callback", attempt("no_answer"), &op).await,
                "no answer",
            )
            .await;
        }
        let state = app.case(&first, &op).await["callback_status"].clone();
        let expected = if day == 2 { "unreachable" } else { "due" };
        assert_eq!(state, expected, "day {day}");
    }
    let op = app.token_for(Role::Operator, None).await;
    let list = get_json(&app, "/api/v1/callbacks", &op).await;
    let numbers: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["tracking_no"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, vec![second.as_str()], "{list:#}");
    // A reached citizen without a rating is a field error, a rating with
    // no_answer too.
    let bad = assert_problem(
        act(
            &app,
            &second,
            "callback",
            json!({"outcome": "reached"}),
            &op,
        )
        .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&bad), vec!["satisfaction"]);
    let bad = assert_problem(
        act(
            &app,
            &second,
            "callback",
            json!({"outcome": "no_answer", "satisfaction": "satisfied"}),
            &op,
        )
        .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&bad), vec!["satisfaction"]);
    // The callback as a call: reached, unsatisfied.
    let mut cb = about("callback", "13912345678", &second);
    cb["callback"] =
        json!({"outcome": "reached", "satisfaction": "unsatisfied", "note": "认为整改不到位"});
    cb["started_at"] = json!((start + Duration::days(2) - Duration::minutes(5)).to_rfc3339());
    log(&app, &op, &cb).await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let case = app.case(&second, &sup).await;
    assert_eq!(case["callback_status"], "reached");
    assert_eq!(case["satisfaction"], "unsatisfied");
    let q = queue(&app, &sup).await;
    assert!(listed(&q, "unsatisfied", &second), "{q:#}");
    assert!(!listed(&q, "callbacks_due", &second));
    // The office decides to keep it closed: it leaves the queue.
    must(
        act(
            &app,
            &second,
            "reopen",
            json!({"decision": "keep_closed", "reason": "已按规定整改，群众诉求超出职责范围"}),
            &sup,
        )
        .await,
        "keep closed",
    )
    .await;
    let q = queue(&app, &sup).await;
    assert!(!listed(&q, "unsatisfied", &second), "{q:#}");
    assert_eq!(app.case(&second, &sup).await["status"], "closed");
}

#[tokio::test]
async fn an_anonymous_case_has_no_callback_and_no_number() {
    let app = spawn_app().await;
    let mut body = routed_body();
    body["anonymous"] = json!(true);
    body.as_object_mut().unwrap().remove("complainant");
    let no = closed(&app, &body).await;
    let op = app.token_for(Role::Operator, None).await;
    assert_eq!(app.case(&no, &op).await["callback_status"], "not_possible");
    let p = assert_problem(
        app.post_json(
            &format!("/api/v1/complaints/{no}/callback/contact"),
            &json!({"reason": "办结回访"}),
            Some(&op),
        )
        .await,
        409,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("anonymous"), "{p}");
    assert_problem(
        act(
            &app,
            &no,
            "callback",
            json!({"satisfaction": "satisfied"}),
            &op,
        )
        .await,
        409,
    )
    .await;
    at(&app, Utc::now() + Duration::days(8));
    let op = app.token_for(Role::Operator, None).await;
    assert_eq!(get_json(&app, "/api/v1/callbacks", &op).await["total"], 0);
}

#[tokio::test]
async fn opening_a_case_is_not_reading_the_identity() {
    let app = spawn_app().await;
    let (no, _) = file(&app, &routed_body()).await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let case = app.case(&no, &sup).await;
    assert_eq!(case["has_identity"], true);
    let text = case.to_string();
    for value in IDENTITY {
        assert!(!text.contains(value), "{value} in the case view");
    }
    assert_eq!(events(&app, "identity_viewed").await["total"], 0);
    // The identity needs a reason, and is recorded with it.
    let path = format!("/api/v1/complaints/{no}/identity");
    let bad = assert_problem(app.get(&path, Some(&sup)).await, 422).await;
    assert_eq!(error_fields(&bad), vec!["reason"]);
    let id = must(
        app.get(
            &format!("{path}?reason=%E6%A0%B8%E5%AE%9E%E8%BA%AB%E4%BB%BD"),
            Some(&sup),
        )
        .await,
        "identity",
    )
    .await;
    assert_eq!(id["name"], "王小明");
    let read = events(&app, "identity_viewed").await;
    assert_eq!(read["total"], 1);
    assert_eq!(read["items"][0]["actor_role"], "supervisor");
    assert!(
        read["items"][0]["summary"]
            .as_str()
            .unwrap()
            .contains("理由：核实身份")
    );
    for role in [Role::Operator, Role::Auditor] {
        let t = app.token_for(role, None).await;
        let resp = app.get(&format!("{path}?reason=x%20y"), Some(&t)).await;
        assert_eq!(resp.status(), 403, "{role:?}");
    }
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    assert_eq!(
        app.get(&format!("{path}?reason=x%20y"), Some(&gaj))
            .await
            .status(),
        403
    );
    let unit = app.case(&no, &gaj).await;
    assert!(unit.get("has_identity").is_none(), "{unit}");
    // An anonymous case holds none.
    let mut body = routed_body();
    body["anonymous"] = json!(true);
    body.as_object_mut().unwrap().remove("complainant");
    let (anon, _) = file(&app, &body).await;
    assert_eq!(app.case(&anon, &sup).await["has_identity"], false);
    assert_problem(
        app.get(
            &format!("/api/v1/complaints/{anon}/identity?reason=x%20y"),
            Some(&sup),
        )
        .await,
        409,
    )
    .await;
}

#[tokio::test]
async fn possible_duplicates_are_found_at_intake_listed_and_dismissed() {
    let app = spawn_app().await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let (first, _) = file(&app, &routed_body()).await;
    // The same phone, another subject.
    let mut again = routed_body();
    again["title"] = json!("派出所民警出警推诿");
    let (second, _) = file(&app, &again).await;
    // Another citizen, the same unit and nearly the same title.
    let mut other = routed_body();
    other["title"] = json!("办理不动产登记时被索要好处");
    other["complainant"]["phone"] = json!("13800001111");
    let (third, _) = file(&app, &other).await;
    // Another citizen and another subject: no candidate.
    let mut unrelated = routed_body();
    unrelated["title"] = json!("乡镇食堂浪费严重");
    unrelated["complainant"]["phone"] = json!("13700002222");
    let (fourth, _) = file(&app, &unrelated).await;

    let view = app.case(&second, &sup).await;
    let dups = view["possible_duplicates"].as_array().unwrap();
    assert_eq!(dups.len(), 1, "{view:#}");
    assert_eq!(dups[0]["tracking_no"], first.as_str());
    assert_eq!(dups[0]["reason"], "same_phone");
    let view = app.case(&third, &sup).await;
    let dups = view["possible_duplicates"].as_array().unwrap();
    assert_eq!(dups[0]["tracking_no"], first.as_str(), "{view:#}");
    assert_eq!(dups[0]["reason"], "similar_title");
    assert!(dups[0]["similarity"].as_i64().unwrap() >= 60);
    assert_eq!(
        app.case(&fourth, &sup).await["possible_duplicates"],
        json!([])
    );
    let q = queue(&app, &sup).await;
    assert!(listed(&q, "possible_duplicate", &second));
    assert!(listed(&q, "possible_duplicate", &third));
    assert!(!listed(&q, "possible_duplicate", &first));
    assert!(!listed(&q, "possible_duplicate", &fourth));
    // Nothing is merged by itself; the office says it is not a duplicate.
    assert_eq!(app.case(&second, &sup).await["status"], "assigned");
    must(
        act(
            &app,
            &second,
            "screen",
            json!({"decision": "not_duplicate"}),
            &sup,
        )
        .await,
        "not duplicate",
    )
    .await;
    assert!(!listed(
        &queue(&app, &sup).await,
        "possible_duplicate",
        &second
    ));
    assert_problem(
        act(
            &app,
            &second,
            "screen",
            json!({"decision": "not_duplicate"}),
            &sup,
        )
        .await,
        409,
    )
    .await;
    // The unit never sees the candidates.
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    let unit = app.case(&third, &gaj).await;
    assert!(unit.get("possible_duplicates").is_none(), "{unit}");
}

#[tokio::test]
async fn a_merged_duplicate_adds_its_facts_to_the_case_without_telling_the_unit_of_the_merge() {
    let app = spawn_app().await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    let (kept, _) = file(&app, &routed_body()).await;
    // A second complaint, held for the office (it names an officer of the unit).
    let mut dup = routed_body();
    dup["subject_person"] = json!("户籍窗口民警");
    dup["content"] = json!("补充反映：户籍窗口民警还要求我找熟人打招呼才给办理，我叫王小明。");
    let (merged, _) = file(&app, &dup).await;
    assert_eq!(app.case(&merged, &sup).await["status"], "received");
    must(
        act(
            &app,
            &merged,
            "screen",
            json!({"decision": "duplicate", "duplicate_of": kept}),
            &sup,
        )
        .await,
        "merge",
    )
    .await;
    let office = app.case(&kept, &sup).await;
    assert_eq!(office["supplements"][0]["source"], "merge");
    assert_eq!(office["supplements"][0]["merged_from"], merged.as_str());
    let unit = app.case(&kept, &gaj).await;
    let text = unit["supplements"][0]["content"].as_str().unwrap();
    assert!(text.contains("找熟人打招呼"), "{text}");
    assert!(!text.contains("王小明"), "{text}");
    let all = unit_bodies(&app, &kept, &gaj).await;
    assert!(
        !all.contains(&merged),
        "the merged case's number reached the unit"
    );
    assert!(!all.contains("重复"), "the merge reached the unit");
    assert!(all.contains("作风办转来补充情况"));
}

#[tokio::test]
async fn the_assignment_note_is_printed_in_the_letter_and_shown_to_the_unit() {
    let app = spawn_app().await;
    let sup = app.token_for(Role::Supervisor, None).await;
    // Held for the office (an officer of the unit is named).
    let mut body = routed_body();
    body["subject_person"] = json!("户籍窗口民警");
    let (no, _) = file(&app, &body).await;
    must(
        act(
            &app,
            &no,
            "assign",
            json!({"unit": "GAJ", "confirm": true, "note": "请重点核查3号窗口"}),
            &sup,
        )
        .await,
        "assign",
    )
    .await;
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    let unit = app.case(&no, &gaj).await;
    assert_eq!(unit["assignment"]["note"], "请重点核查3号窗口", "{unit:#}");
    let letter = &unit["letters"][0];
    assert_eq!(letter["kind"], "transfer");
    assert!(
        letter["body"]
            .as_str()
            .unwrap()
            .contains("请重点核查3号窗口"),
        "{letter}"
    );
}

#[tokio::test]
async fn the_queue_lists_every_bucket_with_its_count_and_oldest_cases() {
    let app = spawn_app().await;
    let sup = app.token_for(Role::Supervisor, None).await;
    // Held for confirmation, and one routed case asking to be returned.
    let (held, _) = file(&app, &complaint_body()).await;
    let (routed, _) = file(&app, &routed_body()).await;
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    must(
        act(
            &app,
            &routed,
            "return",
            json!({"reason": "反映的问题不属于本单位职责范围。"}),
            &gaj,
        )
        .await,
        "return",
    )
    .await;
    let q = queue(&app, &sup).await;
    let names: Vec<&str> = q["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["bucket"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec![
            "unrouted",
            "needs_confirmation",
            "possible_duplicate",
            "return_requested",
            "extension_requested",
            "report_awaiting_review",
            "note_awaiting_approval",
            "overdue_reminder",
            "overdue_supervision",
            "overdue_accountability",
            "delivery_failed",
            "chased",
            "unsatisfied",
            "callbacks_due",
        ]
    );
    assert_eq!(bucket(&q, "needs_confirmation")["count"], 1, "{q:#}");
    assert!(listed(&q, "needs_confirmation", &held));
    assert_eq!(bucket(&q, "return_requested")["count"], 1);
    assert!(listed(&q, "return_requested", &routed));
    assert_eq!(bucket(&q, "unrouted")["count"], 0);
    // Past both deadlines, the routed case is overdue at the reminder rung
    // once the sweep has run.
    at(&app, Utc::now() + Duration::days(40));
    crate::escalation::sweep(&app).await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let q = queue(&app, &sup).await;
    let overdue: i64 = [
        "overdue_reminder",
        "overdue_supervision",
        "overdue_accountability",
    ]
    .iter()
    .map(|b| bucket(&q, b)["count"].as_i64().unwrap())
    .sum();
    assert_eq!(overdue, 1, "{q:#}");
    assert_eq!(bucket(&q, "overdue_accountability")["count"], 1, "{q:#}");
    // The limit bounds the items, not the count.
    let one = get_json(&app, "/api/v1/queue?limit=1", &sup).await;
    assert_eq!(
        bucket(&one, "overdue_accountability")["oldest"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let bad = assert_problem(app.get("/api/v1/queue?limit=0", Some(&sup)).await, 422).await;
    assert_eq!(error_fields(&bad), vec!["limit"]);
    let op = app.token_for(Role::Operator, None).await;
    assert_eq!(app.get("/api/v1/queue", Some(&op)).await.status(), 403);
}

#[tokio::test]
async fn the_overdue_buckets_split_by_the_rung_reached_on_the_current_deadlines() {
    use diesel::prelude::*;
    use diesel::sql_types::{BigInt, Integer, Text, Timestamp};
    let app = spawn_app().await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let mut nos = Vec::new();
    for _ in 0..3 {
        nos.push(file(&app, &routed_body()).await.0);
    }
    // Signed for, and past the handling deadline by 3, 2 and 1 days.
    let now = Utc::now();
    let mut conn = app.conn();
    let mut ids = Vec::new();
    for (i, no) in nos.iter().enumerate() {
        let due = duban::db::to_db(now - Duration::days(3 - i as i64));
        let sql = duban::db::placeholders(
            &conn,
            "UPDATE complaints SET status = 'in_progress', acknowledged_at = $1, due_at = $2 \
             WHERE tracking_no = $3",
        );
        diesel::sql_query(sql)
            .bind::<Timestamp, _>(due)
            .bind::<Timestamp, _>(due)
            .bind::<Text, _>(no)
            .execute(&mut *conn)
            .unwrap();
        #[derive(QueryableByName)]
        struct Ids {
            #[diesel(sql_type = BigInt)]
            complaint: i64,
            #[diesel(sql_type = BigInt)]
            assignment: i64,
        }
        let sql = duban::db::placeholders(
            &conn,
            "SELECT c.id AS complaint, a.id AS assignment FROM complaints c \
             JOIN assignments a ON a.complaint_id = c.id AND a.ended_at IS NULL \
             WHERE c.tracking_no = $1",
        );
        let found: Ids = diesel::sql_query(sql)
            .bind::<Text, _>(no)
            .get_result(&mut *conn)
            .unwrap();
        ids.push((found, due));
    }
    // The steps fired: the first case the reminder; the second the
    // supervision letter; the third only the warning on its deadline, and
    // accountability on a deadline it no longer has (an extension moved it).
    let steps: [(usize, i32, i64); 5] = [(0, 1, 0), (1, 1, 0), (1, 2, 0), (2, 0, 0), (2, 3, -30)];
    for (case, level, moved_days) in steps {
        let (found, due) = &ids[case];
        let sql = duban::db::placeholders(
            &conn,
            "INSERT INTO escalations (complaint_id, assignment_id, unit_code, clock, level, \
             deadline_at, fired_at) VALUES ($1, $2, 'GAJ', 'handling', $3, $4, $5)",
        );
        diesel::sql_query(sql)
            .bind::<BigInt, _>(found.complaint)
            .bind::<BigInt, _>(found.assignment)
            .bind::<Integer, _>(level)
            .bind::<Timestamp, _>(*due + Duration::days(moved_days))
            .bind::<Timestamp, _>(duban::db::to_db(now))
            .execute(&mut *conn)
            .unwrap();
    }
    drop(conn);
    let q = queue(&app, &sup).await;
    let listed = |b: &str| -> Vec<String> {
        bucket(&q, b)["oldest"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["tracking_no"].as_str().unwrap().to_owned())
            .collect()
    };
    // Most overdue first.
    assert_eq!(
        listed("overdue_reminder"),
        vec![nos[0].clone(), nos[2].clone()],
        "{q:#}"
    );
    assert_eq!(bucket(&q, "overdue_reminder")["count"], 2);
    assert_eq!(listed("overdue_supervision"), vec![nos[1].clone()]);
    assert_eq!(bucket(&q, "overdue_supervision")["count"], 1);
    assert_eq!(bucket(&q, "overdue_accountability")["count"], 0);
    assert!(listed("overdue_accountability").is_empty());
}
