//! The case lifecycle through HTTP: routing, the unit's work, the
//! supervisor's decisions, every refused transition, and the clocks.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use duban::auth::policy::Role;
use serde_json::{Value, json};

use crate::helpers::*;

/// A complaint about the county public security bureau, naming no person:
/// the rules route it to the bureau.
pub fn routed_body() -> Value {
    let mut b = complaint_body();
    b["subject_unit"] = json!("GAJ");
    b["category"] = json!("service_attitude");
    b["occurred_on"] = json!("2025-12-01");
    b.as_object_mut().unwrap().remove("subject_person");
    b
}

pub async fn file(app: &TestApp, body: &Value) -> (String, String) {
    let r: Value = app.post_complaint(body).await.json().await.unwrap();
    (
        r["tracking_no"].as_str().unwrap().to_owned(),
        r["query_code"].as_str().unwrap().to_owned(),
    )
}

pub async fn act(
    app: &TestApp,
    no: &str,
    action: &str,
    body: Value,
    token: &str,
) -> reqwest::Response {
    app.post_json(
        &format!("/api/v1/complaints/{no}/{action}"),
        &body,
        Some(token),
    )
    .await
}

async fn ok(app: &TestApp, no: &str, action: &str, body: Value, token: &str) -> Value {
    let resp = act(app, no, action, body, token).await;
    let status = resp.status();
    let text = resp.text().await.unwrap();
    assert!(status.is_success(), "{action}: {status} {text}");
    serde_json::from_str(&text).unwrap()
}

fn report() -> Value {
    json!({
        "findings": "经调查，反映的窗口民警服务态度生硬问题基本属实。",
        "measures": "对当事民警进行批评教育，全所开展服务规范培训。",
        "responsible_person": "户籍室负责人",
        "rectification_deadline": "2099-12-31",
        "target": "窗口服务规范，群众满意",
        "public_reply": "经核查，您反映的问题基本属实，已责成整改并加强培训。",
        "rectification_items": [
            {"content": "开展窗口服务规范培训", "responsible_person": "户籍室负责人", "deadline": "2099-06-30", "target": "全员参训"}
        ]
    })
}

async fn conflict_names(resp: reqwest::Response, status: &str) {
    let p = assert_problem(resp, 409).await;
    assert!(p["detail"].as_str().unwrap().contains(status), "{p}");
}

#[tokio::test]
async fn a_case_runs_from_intake_to_closure_and_the_citizen_rates_it() {
    let app = spawn_app().await;
    let (no, code) = file(&app, &routed_body()).await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;

    let c = app.case(&no, &sup).await;
    assert_eq!(c["status"], "assigned");
    assert_eq!(c["responsible_unit"]["code"], "GAJ");
    assert_eq!(c["assignment"]["how"], "auto");
    assert_eq!(c["assignment"]["ack_workdays"], 1);
    assert_eq!(c["assignment"]["handle_workdays"], 5, "10 statutory × 0.5");
    assert_eq!(c["assignment"]["handling"]["overdue"], false);
    assert!(
        c["assignment"]["handling"]["seconds_left"]
            .as_i64()
            .unwrap()
            > 0
    );
    let letter = &c["letters"][0];
    assert_eq!(letter["kind"], "transfer");
    let year = Utc::now().with_timezone(&Shanghai).format("%Y").to_string();
    assert_eq!(letter["number"], format!("兴效转〔{year}〕1号"));
    assert_eq!(
        letter["delivery"]["state"], "pending",
        "no SMTP server configured"
    );

    ok(&app, &no, "acknowledge", json!({}), &gaj).await;
    ok(
        &app,
        &no,
        "progress",
        json!({"content": "已约谈当事民警，正在调取监控。", "public": true}),
        &gaj,
    )
    .await;
    // A public note reaches the citizen once the office approves it.
    let note = app.case(&no, &sup).await["progress"][0]["id"].clone();
    let approved = app
        .post_json(
            &format!("/api/v1/complaints/{no}/progress/{note}/publication"),
            &json!({"decision": "approve"}),
            Some(&sup),
        )
        .await;
    assert_eq!(approved.status(), 200);
    ok(
        &app,
        &no,
        "progress",
        json!({"content": "内部记录：涉及两名辅警。"}),
        &gaj,
    )
    .await;
    let state = ok(&app, &no, "report", report(), &gaj).await;
    assert_eq!(state["status"], "reported");
    let state = ok(&app, &no, "review", json!({"decision": "accept"}), &sup).await;
    assert_eq!(state["status"], "closed");

    let track: Value = app.track(&no, &code).await.json().await.unwrap();
    assert_eq!(track["status"], "closed");
    assert_eq!(track["responsible_unit"], "县公安局");
    assert_eq!(
        track["public_reply"],
        "经核查，您反映的问题基本属实，已责成整改并加强培训。"
    );
    let notes: Vec<&str> = track["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["note"].as_str().unwrap())
        .collect();
    assert!(
        notes.contains(&"已调取监控") || notes.iter().any(|n| n.contains("正在调取监控")),
        "{notes:?}"
    );
    assert!(
        !notes.iter().any(|n| n.contains("内部记录")),
        "private progress stays private"
    );
    assert!(track["deadlines"]["due_at"].is_string());

    let feedback = |s: &str| json!({"tracking_no": no, "query_code": code, "satisfaction": s, "comment": "满意"});
    assert_eq!(
        app.post_json("/api/v1/track/feedback", &feedback("satisfied"), None)
            .await
            .status(),
        201
    );
    assert_problem(
        app.post_json("/api/v1/track/feedback", &feedback("satisfied"), None)
            .await,
        409,
    )
    .await;
    let wrong = json!({"tracking_no": no, "query_code": "WRONGWRG", "satisfaction": "satisfied"});
    assert_problem(
        app.post_json("/api/v1/track/feedback", &wrong, None).await,
        404,
    )
    .await;

    let c = app.case(&no, &sup).await;
    assert_eq!(c["satisfaction"], "satisfied");
    assert_eq!(
        c["reports"][0]["rectification_items"][0]["target"],
        "全员参训"
    );
    assert_eq!(c["assignments"].as_array().unwrap().len(), 1);
    let actions: Vec<&str> = c["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "received",
        "assigned",
        "acknowledged",
        "progress",
        "reported",
        "closed",
        "feedback",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    let auditor = app.token_for(Role::Auditor, None).await;
    let report: Value = app
        .get("/api/v1/audit/verify", Some(&auditor))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["ok"], true);
}

#[tokio::test]
async fn every_transition_the_status_does_not_allow_is_refused_with_409() {
    let app = spawn_app().await;
    let (no, _) = file(&app, &routed_body()).await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let op = app.token_for(Role::Operator, None).await;
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    // assigned
    conflict_names(
        act(&app, &no, "progress", json!({"content": "进展"}), &gaj).await,
        "assigned",
    )
    .await;
    conflict_names(act(&app, &no, "report", report(), &gaj).await, "assigned").await;
    conflict_names(
        act(&app, &no, "review", json!({"decision": "accept"}), &sup).await,
        "assigned",
    )
    .await;
    // An assigned case can be voided (security.rs), but not merged.
    conflict_names(
        act(
            &app,
            &no,
            "screen",
            json!({"decision": "duplicate", "duplicate_of": no}),
            &sup,
        )
        .await,
        "assigned",
    )
    .await;
    conflict_names(
        act(
            &app,
            &no,
            "callback",
            json!({"satisfaction": "satisfied"}),
            &op,
        )
        .await,
        "assigned",
    )
    .await;
    conflict_names(
        act(&app, &no, "reopen", json!({"reason": "群众不满意"}), &sup).await,
        "assigned",
    )
    .await;
    assert_problem(
        act(
            &app,
            &no,
            "return/decision",
            json!({"decision": "approve"}),
            &sup,
        )
        .await,
        409,
    )
    .await;
    ok(&app, &no, "acknowledge", json!({}), &gaj).await;
    // in_progress
    conflict_names(
        act(&app, &no, "acknowledge", json!({}), &gaj).await,
        "in_progress",
    )
    .await;
    conflict_names(
        act(&app, &no, "review", json!({"decision": "accept"}), &sup).await,
        "in_progress",
    )
    .await;
    ok(&app, &no, "report", report(), &gaj).await;
    // reported
    conflict_names(act(&app, &no, "report", report(), &gaj).await, "reported").await;
    conflict_names(
        act(
            &app,
            &no,
            "extensions",
            json!({"workdays": 3, "reason": "需要补充调查"}),
            &gaj,
        )
        .await,
        "reported",
    )
    .await;
    conflict_names(
        act(&app, &no, "assign", json!({"unit": "JTJ"}), &sup).await,
        "reported",
    )
    .await;
    ok(&app, &no, "review", json!({"decision": "accept"}), &sup).await;
    // closed, satisfied
    ok(
        &app,
        &no,
        "callback",
        json!({"satisfaction": "satisfied", "note": "回访满意"}),
        &op,
    )
    .await;
    assert_problem(
        act(&app, &no, "reopen", json!({"reason": "再次反映问题"}), &sup).await,
        409,
    )
    .await;
    conflict_names(
        act(
            &app,
            &no,
            "return",
            json!({"reason": "不属于我单位职责"}),
            &gaj,
        )
        .await,
        "closed",
    )
    .await;
}

#[tokio::test]
async fn roles_are_enforced_on_every_action() {
    let app = spawn_app().await;
    let (no, _) = file(&app, &routed_body()).await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let jtj = app.token_for(Role::Unit, Some("JTJ")).await;
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    // Another unit's case does not exist for it.
    assert_problem(
        app.get(&format!("/api/v1/complaints/{no}"), Some(&jtj))
            .await,
        404,
    )
    .await;
    assert_problem(act(&app, &no, "acknowledge", json!({}), &jtj).await, 404).await;
    assert_problem(
        act(
            &app,
            &no,
            "return",
            json!({"reason": "不是我们的事情"}),
            &jtj,
        )
        .await,
        404,
    )
    .await;
    // Unit actions are not the supervisor's, and the reverse.
    assert_problem(act(&app, &no, "acknowledge", json!({}), &sup).await, 403).await;
    assert_problem(
        act(&app, &no, "assign", json!({"unit": "JTJ"}), &gaj).await,
        403,
    )
    .await;
    assert_problem(
        act(&app, &no, "review", json!({"decision": "accept"}), &gaj).await,
        403,
    )
    .await;
    assert_problem(act(&app, &no, "acknowledge", json!({}), "").await, 401).await;
    let auditor = app.token_for(Role::Auditor, None).await;
    assert_problem(
        act(
            &app,
            &no,
            "screen",
            json!({"decision": "invalid", "reason": "x"}),
            &auditor,
        )
        .await,
        403,
    )
    .await;
}

#[tokio::test]
async fn a_return_keeps_the_clocks_until_approved_and_then_the_case_is_rerouted() {
    let app = spawn_app().await;
    let (no, _) = file(&app, &routed_body()).await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    let before = app.case(&no, &sup).await;
    let state = ok(
        &app,
        &no,
        "return",
        json!({"reason": "该事项属于交警大队职责"}),
        &gaj,
    )
    .await;
    assert_eq!(state["status"], "assigned");
    assert_eq!(state["return_requested"], true);
    assert_eq!(
        state["due_at"], before["due_at"],
        "a return does not stop the clock"
    );
    assert_problem(
        act(&app, &no, "return", json!({"reason": "再次申请退回"}), &gaj).await,
        409,
    )
    .await;
    let state = ok(
        &app,
        &no,
        "return/decision",
        json!({"decision": "deny", "note": "请继续办理"}),
        &sup,
    )
    .await;
    assert_eq!(state["return_requested"], false);
    assert_eq!(state["due_at"], before["due_at"]);
    assert_eq!(state["responsible_unit"], "GAJ");

    ok(
        &app,
        &no,
        "return",
        json!({"reason": "该事项属于交警大队职责"}),
        &gaj,
    )
    .await;
    let state = ok(
        &app,
        &no,
        "return/decision",
        json!({"decision": "approve"}),
        &sup,
    )
    .await;
    assert_eq!(state["status"], "received");
    assert!(state["due_at"].is_null() && state["ack_due_at"].is_null());
    assert_problem(
        app.get(&format!("/api/v1/complaints/{no}"), Some(&gaj))
            .await,
        404,
    )
    .await;

    let state = ok(
        &app,
        &no,
        "assign",
        json!({"unit": "JJDD", "note": "交警大队办理"}),
        &sup,
    )
    .await;
    assert_eq!(state["status"], "assigned");
    assert_eq!(state["responsible_unit"], "JJDD");
    let c = app.case(&no, &sup).await;
    let history = c["assignments"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["end_reason"], "returned");
    assert_eq!(history[0]["return_reason"], "该事项属于交警大队职责");
    assert_eq!(
        c["letters"].as_array().unwrap().len(),
        2,
        "a transfer letter per assignment"
    );
}

#[tokio::test]
async fn an_approved_extension_moves_the_deadline_and_the_public_sees_it() {
    let app = spawn_app().await;
    let (no, code) = file(&app, &routed_body()).await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    ok(&app, &no, "acknowledge", json!({}), &gaj).await;
    let resp = act(
        &app,
        &no,
        "extensions",
        json!({"workdays": 3, "reason": "需要调取外地监控录像"}),
        &gaj,
    )
    .await;
    assert_eq!(resp.status(), 201);
    let ext: Value = resp.json().await.unwrap();
    assert_problem(
        act(
            &app,
            &no,
            "extensions",
            json!({"workdays": 2, "reason": "再申请一次"}),
            &gaj,
        )
        .await,
        409,
    )
    .await;
    let before = app.case(&no, &sup).await;
    let old_due: DateTime<Utc> = before["due_at"].as_str().unwrap().parse().unwrap();
    let state = ok(
        &app,
        &no,
        &format!("extensions/{}/decision", ext["id"]),
        json!({"decision": "approve"}),
        &sup,
    )
    .await;
    let new_due: DateTime<Utc> = state["due_at"].as_str().unwrap().parse().unwrap();
    let cal = app.state.calendar.clone();
    assert_eq!(new_due, cal.deadline(old_due, 3, Shanghai));
    assert!(new_due > old_due);
    assert_problem(
        act(
            &app,
            &no,
            &format!("extensions/{}/decision", ext["id"]),
            json!({"decision": "deny"}),
            &sup,
        )
        .await,
        409,
    )
    .await;
    let track: Value = app.track(&no, &code).await.json().await.unwrap();
    assert_eq!(track["deadlines"]["due_at"], state["due_at"]);
    let local = new_due.with_timezone(&Shanghai);
    let date = format!(
        "{}年{}月{}日",
        local.format("%Y"),
        local.format("%-m"),
        local.format("%-d")
    );
    assert!(
        track["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["note"].as_str().unwrap().contains(&date))
    );
}

#[tokio::test]
async fn an_extension_must_be_asked_for_before_the_deadline() {
    let app = spawn_app().await;
    let (no, _) = file(&app, &routed_body()).await;
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    app.state.clock.advance(chrono::Duration::days(30));
    let gaj_later = app.token_for(Role::Unit, Some("GAJ")).await;
    let _ = gaj;
    let p = assert_problem(
        act(
            &app,
            &no,
            "extensions",
            json!({"workdays": 3, "reason": "来不及了，申请延期"}),
            &gaj_later,
        )
        .await,
        409,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("deadline"));
    let sup = app.token_for(Role::Supervisor, None).await;
    let overdue: Value = app
        .get("/api/v1/complaints?overdue=true", Some(&sup))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(overdue["total"], 1, "{overdue}");
    assert_eq!(
        app.case(&no, &sup).await["assignment"]["handling"]["overdue"],
        true
    );
}

#[tokio::test]
async fn a_redo_reopens_work_with_a_new_deadline_and_an_unsatisfied_citizen_gets_a_reopen() {
    let app = spawn_app().await;
    let (no, code) = file(&app, &routed_body()).await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    ok(&app, &no, "acknowledge", json!({}), &gaj).await;
    ok(&app, &no, "report", report(), &gaj).await;
    let p = assert_problem(
        act(&app, &no, "review", json!({"decision": "redo"}), &sup).await,
        422,
    )
    .await;
    assert_eq!(error_fields(&p), vec!["comment"]);
    let state = ok(
        &app,
        &no,
        "review",
        json!({"decision": "redo", "comment": "未说明对当事人的处理结果", "handle_workdays": 2}),
        &sup,
    )
    .await;
    assert_eq!(state["status"], "in_progress");
    let expected = app.state.calendar.deadline(Utc::now(), 2, Shanghai);
    let due: DateTime<Utc> = state["due_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(due, expected);
    ok(&app, &no, "report", report(), &gaj).await;
    ok(&app, &no, "review", json!({"decision": "accept"}), &sup).await;
    let fb = json!({"tracking_no": no, "query_code": code, "satisfaction": "unsatisfied", "comment": "问题没有解决"});
    assert_eq!(
        app.post_json("/api/v1/track/feedback", &fb, None)
            .await
            .status(),
        201
    );
    let waiting: Value = app
        .get("/api/v1/complaints?flag=unsatisfied", Some(&sup))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        waiting["total"], 1,
        "unsatisfied cases are there for the office"
    );
    let state = ok(
        &app,
        &no,
        "reopen",
        json!({"reason": "群众不满意，要求重新核查"}),
        &sup,
    )
    .await;
    assert_eq!(state["status"], "in_progress");
    assert_eq!(state["responsible_unit"], "GAJ");
    let c = app.case(&no, &sup).await;
    assert_eq!(c["assignments"].as_array().unwrap().len(), 2);
    assert_eq!(c["assignment"]["how"], "reopen");
    assert_eq!(c["reports"][0]["review"], "redo");
}

#[tokio::test]
async fn screening_rejects_invalid_complaints_and_merges_duplicates() {
    let app = spawn_app().await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let (first, _) = file(&app, &complaint_body()).await;
    let (dup, dup_code) = file(&app, &complaint_body()).await;
    let (junk, _) = file(&app, &complaint_body()).await;
    let p = assert_problem(
        act(&app, &dup, "screen", json!({"decision": "duplicate"}), &sup).await,
        422,
    )
    .await;
    assert_eq!(error_fields(&p), vec!["duplicate_of"]);
    assert_problem(
        act(
            &app,
            &dup,
            "screen",
            json!({"decision": "duplicate", "duplicate_of": dup}),
            &sup,
        )
        .await,
        422,
    )
    .await;
    let state = ok(
        &app,
        &dup,
        "screen",
        json!({"decision": "duplicate", "duplicate_of": first}),
        &sup,
    )
    .await;
    assert_eq!(state["status"], "merged");
    let state = ok(
        &app,
        &junk,
        "screen",
        json!({"decision": "invalid", "reason": "内容与作风问题无关"}),
        &sup,
    )
    .await;
    assert_eq!(state["status"], "rejected");
    let c = app.case(&first, &sup).await;
    assert!(
        c["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "duplicate_linked")
    );
    let track: Value = app.track(&dup, &dup_code).await.json().await.unwrap();
    assert_eq!(track["status"], "merged");
    assert!(
        track["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["note"].as_str().unwrap().contains(&first))
    );
}

#[tokio::test]
async fn a_complaint_about_a_units_leader_never_goes_to_that_unit() {
    let app = spawn_app().await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let units: Value = app.get("/api/v1/units", None).await.json().await.unwrap();
    let leader = |code: &str| {
        units["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["code"] == code)
            .unwrap()["leader_name"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // The hospital's director, by name: the case goes up to the health commission.
    let mut body = routed_body();
    body["subject_unit"] = json!("RMYY");
    body["subject_person"] = json!(leader("RMYY"));
    let (no, _) = file(&app, &body).await;
    let c = app.case(&no, &sup).await;
    assert_eq!(c["responsible_unit"]["code"], "WJW");
    // The bureau chief, by title: the bureau has no parent, so the office takes it.
    let mut body = routed_body();
    body["subject_person"] = json!("公安局某副局长");
    let (no, _) = file(&app, &body).await;
    let c = app.case(&no, &sup).await;
    assert_eq!(c["responsible_unit"]["code"], "ZFB");
    // And a supervisor cannot send it to the bureau by hand.
    let p = assert_problem(
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
    assert_eq!(error_fields(&p), vec!["unit"]);
}

#[tokio::test]
async fn a_case_naming_an_officer_of_the_subject_unit_waits_for_confirmation() {
    let app = spawn_app().await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let mut body = routed_body();
    body["subject_person"] = json!("户籍窗口民警");
    let (no, _) = file(&app, &body).await;
    let c = app.case(&no, &sup).await;
    assert_eq!(c["status"], "received");
    assert_eq!(c["needs_confirmation"], true);
    let held: Value = app
        .get("/api/v1/complaints?flag=needs_confirmation", Some(&sup))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(held["total"], 1);
    let p = assert_problem(
        act(&app, &no, "assign", json!({"unit": "GAJ"}), &sup).await,
        422,
    )
    .await;
    assert_eq!(error_fields(&p), vec!["confirm"]);
    let state = ok(
        &app,
        &no,
        "assign",
        json!({"unit": "GAJ", "confirm": true}),
        &sup,
    )
    .await;
    assert_eq!(state["status"], "assigned");
    assert_eq!(state["needs_confirmation"], false);
}

#[tokio::test]
async fn unmatched_complaints_wait_for_a_supervisor() {
    let app = spawn_app().await;
    let mut body = routed_body();
    body.as_object_mut().unwrap().remove("subject_unit");
    let (no, _) = file(&app, &body).await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let c = app.case(&no, &sup).await;
    assert_eq!(c["status"], "received");
    assert!(c["assignment"].is_null());
    // Rules by category: illegal construction goes to natural resources.
    body["category"] = json!("illegal_construction");
    let (no, _) = file(&app, &body).await;
    assert_eq!(
        app.case(&no, &sup).await["responsible_unit"]["code"],
        "ZRZY"
    );
}

#[tokio::test]
async fn deadlines_follow_the_2026_spring_festival_and_national_day() {
    let app = spawn_app().await;
    // Friday 13 February 2026, 10:00 in the county.
    app.state.clock.set(
        Shanghai
            .with_ymd_and_hms(2026, 2, 13, 10, 0, 0)
            .unwrap()
            .with_timezone(&Utc),
    );
    let sup = app.token_for(Role::Supervisor, None).await;
    let (no, _) = file(&app, &routed_body()).await;
    let c = app.case(&no, &sup).await;
    // Saturday 14 February is a working day; the holiday runs 15–23 February.
    assert_eq!(c["ack_due_at"], "2026-02-14T15:59:59Z");
    // 5 working days: 14, 24, 25, 26, 27 February.
    assert_eq!(c["due_at"], "2026-02-27T15:59:59Z");
    let state = ok(
        &app,
        &no,
        "assign",
        json!({"unit": "JTJ", "handle_workdays": 10}),
        &sup,
    )
    .await;
    // 10: … 27, Saturday 28 February (worked), 2, 3, 4, 5 March.
    assert_eq!(state["due_at"], "2026-03-05T15:59:59Z");

    app.state.clock.set(
        Shanghai
            .with_ymd_and_hms(2026, 9, 30, 10, 0, 0)
            .unwrap()
            .with_timezone(&Utc),
    );
    let sup = app.token_for(Role::Supervisor, None).await;
    let (no, _) = file(&app, &routed_body()).await;
    let state = ok(
        &app,
        &no,
        "assign",
        json!({"unit": "JTJ", "handle_workdays": 3}),
        &sup,
    )
    .await;
    // 1–7 October off; 8, 9 and Saturday 10 October are working days.
    assert_eq!(state["due_at"], "2026-10-10T15:59:59Z");
    assert_eq!(state["ack_due_at"], "2026-10-08T15:59:59Z");
}
