//! Procedure, privacy and the truth of documents, as the office's users
//! would check them: what a unit reads of a case, the citizen's wording, the
//! defence before a decision, the return window the letter states, the
//! office's queues, callbacks as history, letters that state what really
//! happened, notices a unit can read, provisional calendar years, and the
//! audit trail by account.

use diesel::prelude::*;
use duban::auth::policy::Role;
use serde_json::{Value, json};

use crate::escalation::{at, get_json, local, routed_case_with_code, sweep};
use crate::helpers::*;
use crate::workflow::{act, file, routed_body};

async fn ok(resp: reqwest::Response, what: &str) -> Value {
    ok_json(resp, what).await
}

/// The unit asks to return the case as not its own.
async fn ask_return(app: &TestApp, no: &str, token: &str) -> reqwest::Response {
    act(
        app,
        no,
        "return",
        json!({"reason": "不属于本单位职责范围"}),
        token,
    )
    .await
}

fn report() -> Value {
    json!({
        "findings": "经调查，反映的窗口民警服务态度生硬问题基本属实。",
        "measures": "对当事民警进行批评教育，全所开展服务规范培训。",
        "responsible_person": "户籍室负责人",
        "rectification_deadline": "2099-12-31",
        "target": "窗口服务规范，群众满意",
        "public_reply": "经核查，您反映的问题基本属实，已责成整改。"
    })
}

/// Runs a routed case to closure; returns its tracking number and query code.
async fn closed_case(app: &TestApp, body: &Value) -> (String, String) {
    let (no, code) = file(app, body).await;
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    let sup = app.token_for(Role::Supervisor, None).await;
    ok(act(app, &no, "acknowledge", json!({}), &gaj).await, "ack").await;
    ok(act(app, &no, "report", report(), &gaj).await, "report").await;
    ok(
        act(app, &no, "review", json!({"decision": "accept"}), &sup).await,
        "accept",
    )
    .await;
    (no, code)
}

fn anonymous(mut body: Value) -> Value {
    body["anonymous"] = json!(true);
    body.as_object_mut().unwrap().remove("complainant");
    body
}

/// Every body a unit officer can fetch about its cases.
async fn unit_bodies(app: &TestApp, no: &str, token: &str) -> Vec<String> {
    let mut bodies = Vec::new();
    for path in [
        format!("/api/v1/complaints/{no}"),
        "/api/v1/complaints".to_owned(),
        "/api/v1/letters".to_owned(),
        "/api/v1/notices".to_owned(),
        "/api/v1/accountability".to_owned(),
    ] {
        let resp = app.get(&path, Some(token)).await;
        assert_eq!(resp.status(), 200, "{path}");
        bodies.push(resp.text().await.unwrap());
    }
    bodies
}

#[tokio::test]
async fn a_unit_reads_a_timeline_written_for_it_and_nothing_of_intake_routing_or_merges() {
    let app = spawn_app().await;
    let sup = app.token_for(Role::Supervisor, None).await;
    // Anonymous, and naming an officer of the subject unit: routing waits
    // for a supervisor's confirmation.
    let mut body = anonymous(routed_body());
    body["subject_person"] = json!("户籍窗口民警");
    let (no, _) = file(&app, &body).await;
    let held = app.case(&no, &sup).await;
    assert_eq!(held["status"], "received");
    assert_eq!(held["needs_confirmation"], true);
    // A second caller's complaint is merged into it.
    let (dup, _) = file(&app, &body).await;
    ok(
        act(
            &app,
            &dup,
            "screen",
            json!({"decision": "duplicate", "duplicate_of": no}),
            &sup,
        )
        .await,
        "merge",
    )
    .await;
    ok(
        act(
            &app,
            &no,
            "assign",
            json!({"unit": "GAJ", "confirm": true, "note": "请重点核查户籍窗口"}),
            &sup,
        )
        .await,
        "assign",
    )
    .await;
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    ok(act(&app, &no, "acknowledge", json!({}), &gaj).await, "ack").await;

    // The office reads every event, in Chinese.
    let office = app.case(&no, &sup).await;
    let office_actions: Vec<&str> = office["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        office_actions.contains(&"routing_held"),
        "{office_actions:?}"
    );
    assert!(office_actions.contains(&"duplicate_linked"));
    assert!(
        office["timeline"][0]["summary"]
            .as_str()
            .unwrap()
            .contains("匿名")
    );

    // The unit reads what was done and when, written for it.
    let case = app.case(&no, &gaj).await;
    let timeline = case["timeline"].as_array().unwrap();
    let actions: Vec<&str> = timeline
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["received", "assigned", "acknowledged"]);
    let seqs: Vec<i64> = timeline
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, [1, 2, 3], "numbered by itself, without gaps");
    assert!(
        timeline
            .iter()
            .all(|e| e["actor_role"] == "office" || e["actor_role"] == "unit")
    );
    assert_eq!(timeline[0]["summary"], "作风办受理本件");
    // The day it came in, not the minute.
    let received = chrono::DateTime::parse_from_rfc3339(timeline[0]["at"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono_tz::Asia::Shanghai);
    assert_eq!(received.format("%H:%M:%S").to_string(), "00:00:00");
    assert_eq!(case["received_at"], timeline[0]["at"]);
    assert!(
        case.get("channel").is_none(),
        "the channel is an intake detail"
    );
    assert!(case["duplicate_of"].is_null() && case["feedback"] == json!([]));
    assert_eq!(case["assignment"]["note"], "请重点核查户籍窗口");

    // A planted-value search of everything the unit can read.
    for text in unit_bodies(&app, &no, &gaj).await {
        for word in [
            "anonymous",
            "匿名",
            "routing",
            "待督办员确认",
            "被反映人为拟承办单位",
            "重复件",
            "合并",
            dup.as_str(),
            "网站",
            "\"public\"",
            "identity",
            "身份信息",
        ] {
            assert!(!text.contains(word), "a unit read {word:?} in {text}");
        }
    }
}

#[tokio::test]
async fn a_unit_never_learns_that_identity_was_read_or_that_a_citizen_was_called_back() {
    let app = spawn_app().await;
    let (no, _) = closed_case(&app, &routed_body()).await;
    let sup = app.token_for(Role::Supervisor, None).await;
    app.identity(&no, &sup).await; // identity_viewed
    let op = app.token_for(Role::Operator, None).await;
    ok(
        act(
            &app,
            &no,
            "callback",
            json!({"satisfaction": "satisfied"}),
            &op,
        )
        .await,
        "callback",
    )
    .await;
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    let case = app.case(&no, &gaj).await;
    let seqs: Vec<i64> = case["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
    for text in unit_bodies(&app, &no, &gaj).await {
        for word in [
            "identity_viewed",
            "callback",
            "回访",
            "身份",
            "王小明",
            "13912345678",
        ] {
            assert!(!text.contains(word), "a unit read {word:?} in {text}");
        }
    }
}

#[tokio::test]
async fn an_anonymous_citizen_is_not_promised_a_call() {
    let app = spawn_app().await;
    let (no, code) = closed_case(&app, &anonymous(routed_body())).await;
    let answer = ok(
        app.post_json(
            "/api/v1/track/feedback",
            &json!({"tracking_no": no, "query_code": code, "satisfaction": "unsatisfied"}),
            None,
        )
        .await,
        "feedback",
    )
    .await;
    let message = answer["message"].as_str().unwrap();
    assert!(
        !message.contains("联系您") && !message.contains("电话与您联系"),
        "{message}"
    );
    assert!(message.contains("匿名"), "{message}");

    let (no, code) = closed_case(&app, &routed_body()).await;
    let answer = ok(
        app.post_json(
            "/api/v1/track/feedback",
            &json!({"tracking_no": no, "query_code": code, "satisfaction": "unsatisfied"}),
            None,
        )
        .await,
        "feedback",
    )
    .await;
    assert!(answer["message"].as_str().unwrap().contains("电话"));
}

#[tokio::test]
async fn redaction_takes_out_the_complainants_own_words_and_keeps_where_it_happened() {
    let app = spawn_app().await;
    let mut body = routed_body();
    body["township"] = json!("潋江镇");
    body["complainant"]["address"] = json!("潋江镇");
    body["title"] = json!("潋江镇派出所户籍窗口推诿");
    body["content"] = json!(
        "我叫王小明，电话139 1234 5678。潋江镇派出所户籍窗口民警推诿扯皮，让我跑了三趟，王小明的材料至今未办。"
    );
    let (no, _) = file(&app, &body).await;
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    let case = app.case(&no, &gaj).await;
    assert_eq!(case["township"], "潋江镇");
    assert_eq!(case["title"], "潋江镇派出所户籍窗口推诿");
    assert_eq!(
        case["content"],
        "潋江镇派出所户籍窗口民警推诿扯皮，让我跑了三趟，[已隐去]的材料至今未办。"
    );
}

/// A case escalated to accountability (clock left at Tue 8 Dec 2026) and
/// the accountability case's id.
async fn escalated(app: &TestApp) -> (String, i64) {
    let (no, _) = routed_case_with_code(app).await;
    at(app, local(2026, 12, 8, 0, 10));
    assert_eq!(sweep(app).await["accountability_cases"], 1);
    let sup = app.token_for(Role::Supervisor, None).await;
    let list = get_json(
        app,
        &format!("/api/v1/accountability?tracking_no={no}"),
        &sup,
    )
    .await;
    (no, list["items"][0]["id"].as_i64().unwrap())
}

#[tokio::test]
async fn no_decision_before_the_defence_period_ends_unless_the_unit_was_heard_or_waived() {
    let app = spawn_app().await;
    let (_, id) = escalated(&app).await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let path = format!("/api/v1/accountability/{id}/decision");
    let early = assert_problem(
        app.post_json(&path, &json!({"decision": "criticism"}), Some(&sup))
            .await,
        409,
    )
    .await;
    let detail = early["detail"].as_str().unwrap();
    assert!(
        detail.contains("2026-12-15") && detail.contains("defence"),
        "{detail}"
    );
    // The case is untouched.
    let v = get_json(&app, &format!("/api/v1/accountability/{id}"), &sup).await;
    assert_eq!(v["status"], "open");
    assert!(v["decision"].is_null());
    // A waiver needs the note that records it.
    let bad = assert_problem(
        app.post_json(
            &path,
            &json!({"decision": "criticism", "defence_waived": true}),
            Some(&sup),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&bad), ["note"]);
    // Positive points are refused: a decision deducts.
    let bad = assert_problem(
        app.post_json(
            &path,
            &json!({"decision": "criticism", "points": 2, "defence_waived": true, "note": "x"}),
            Some(&sup),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&bad), ["points"]);
    let v = ok(
        app.post_json(
            &path,
            &json!({"decision": "criticism", "defence_waived": true, "note": "局长书面表示不申辩"}),
            Some(&sup),
        )
        .await,
        "decision",
    )
    .await;
    assert_eq!(v["status"], "decided");
    assert!(v["defence_waived_at"].is_string());
    assert_eq!(v["decision"]["points"], -2.0, "B3's default, as a change");
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    assert_problem(
        app.post_json(
            &format!("/api/v1/accountability/{id}/defence"),
            &json!({"content": "补充申辩"}),
            Some(&gaj),
        )
        .await,
        409,
    )
    .await;
    // The waiver is on the audit trail.
    let aud = app.token_for(Role::Auditor, None).await;
    let events = get_json(&app, "/api/v1/audit/events?action=defence_waived", &aud).await;
    assert_eq!(events["total"], 1);
}

#[tokio::test]
async fn a_return_after_the_window_the_transfer_letter_states_is_refused() {
    let app = spawn_app().await;
    let (no, _) = routed_case_with_code(&app).await; // Mon 23 Nov, sign by Tue 24
    let sup = app.token_for(Role::Supervisor, None).await;
    let letter = &app.case(&no, &sup).await["letters"][0]["body"];
    assert!(
        letter
            .as_str()
            .unwrap()
            .contains("请于 2026年11月24日 前（签收期限内）通过系统申请退回"),
        "{letter}"
    );
    at(&app, local(2026, 11, 25, 9, 0));
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    let late = assert_problem(ask_return(&app, &no, &gaj).await, 409).await;
    assert!(
        late["detail"].as_str().unwrap().contains("return window"),
        "{late}"
    );
    let sup = app.token_for(Role::Supervisor, None).await;
    assert_eq!(app.case(&no, &sup).await["return_requested"], false);

    // Within the window it is accepted.
    at(&app, local(2026, 11, 23, 11, 0));
    let (no, _) = file(&app, &routed_body()).await;
    at(&app, local(2026, 11, 24, 23, 0));
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    ok(ask_return(&app, &no, &gaj).await, "return").await;
}

#[tokio::test]
async fn the_return_window_is_one_setting_for_the_letter_and_the_check() {
    let app = spawn_with(Spawn {
        customise: Box::new(|s| s.workflow.return_window = duban::config::ReturnWindow::Handling),
        ..Default::default()
    })
    .await;
    let (no, _) = routed_case_with_code(&app).await; // handle by Mon 30 Nov
    let sup = app.token_for(Role::Supervisor, None).await;
    let letter = app.case(&no, &sup).await["letters"][0]["body"].clone();
    assert!(
        letter
            .as_str()
            .unwrap()
            .contains("请于 2026年11月30日 前通过系统申请退回"),
        "{letter}"
    );
    at(&app, local(2026, 11, 27, 9, 0));
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    ok(ask_return(&app, &no, &gaj).await, "return").await;
}

#[tokio::test]
async fn a_case_that_leaves_the_open_statuses_leaves_the_offices_queues() {
    let app = spawn_app().await;
    let sup = app.token_for(Role::Supervisor, None).await;
    // complaint_body() names an officer of BDC: it waits for confirmation.
    let (merged, _) = file(&app, &complaint_body()).await;
    let (rejected, _) = file(&app, &complaint_body()).await;
    let (kept, _) = file(&app, &complaint_body()).await;
    let queue = get_json(&app, "/api/v1/complaints?flag=needs_confirmation", &sup).await;
    assert_eq!(queue["total"], 3);
    ok(
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
    ok(
        act(
            &app,
            &rejected,
            "screen",
            json!({"decision": "invalid", "reason": "内容与作风问题无关"}),
            &sup,
        )
        .await,
        "reject",
    )
    .await;
    let queue = get_json(&app, "/api/v1/complaints?flag=needs_confirmation", &sup).await;
    assert_eq!(queue["total"], 1);
    assert_eq!(queue["items"][0]["tracking_no"], kept.as_str());
    for no in [&merged, &rejected] {
        assert_eq!(app.case(no, &sup).await["needs_confirmation"], false);
    }
}

#[tokio::test]
async fn pending_extensions_reports_to_review_and_overdue_cases_are_listed() {
    let app = spawn_app().await;
    let (asks, _) = routed_case_with_code(&app).await;
    let (reports, _) = file(&app, &routed_body()).await;
    let (late, _) = file(&app, &routed_body()).await;
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    let sup = app.token_for(Role::Supervisor, None).await;
    for no in [&asks, &reports] {
        ok(act(&app, no, "acknowledge", json!({}), &gaj).await, "ack").await;
    }
    let ext = ok(
        act(
            &app,
            &asks,
            "extensions",
            json!({"workdays": 3, "reason": "需调取外地监控录像"}),
            &gaj,
        )
        .await,
        "extension",
    )
    .await;
    ok(
        act(&app, &reports, "report", report(), &gaj).await,
        "report",
    )
    .await;

    let pending = get_json(&app, "/api/v1/complaints?flag=extension_requested", &sup).await;
    assert_eq!(pending["total"], 1);
    assert_eq!(pending["items"][0]["tracking_no"], asks.as_str());
    let review = get_json(&app, "/api/v1/complaints?flag=report_awaiting_review", &sup).await;
    assert_eq!(review["total"], 1);
    assert_eq!(review["items"][0]["tracking_no"], reports.as_str());
    ok(
        app.post_json(
            &format!(
                "/api/v1/complaints/{asks}/extensions/{}/decision",
                ext["id"]
            ),
            &json!({"decision": "deny"}),
            Some(&sup),
        )
        .await,
        "deny",
    )
    .await;
    let pending = get_json(&app, "/api/v1/complaints?flag=extension_requested", &sup).await;
    assert_eq!(pending["total"], 0);

    // Wed 2 Dec: the never-signed case is late on its handling deadline
    // (Mon 30 Nov) after its reminders went out.
    at(&app, local(2026, 12, 2, 9, 0));
    sweep(&app).await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let overdue = get_json(&app, "/api/v1/complaints?overdue=true", &sup).await;
    let item = overdue["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["tracking_no"] == late.as_str())
        .unwrap()
        .clone();
    let o = &item["overdue"];
    assert_eq!(o["clock"], "handling");
    assert_eq!(o["days"], 2, "{o}");
    assert_eq!(o["workdays"], 2, "Tue 1 and Wed 2 Dec");
    assert_eq!(o["ladder_level"], 1);
    assert_eq!(o["ladder_level_name"], "reminder");
}

#[tokio::test]
async fn callbacks_are_kept_as_history_and_only_the_latest_counts() {
    let app = spawn_app().await;
    at(&app, local(2026, 11, 23, 10, 0));
    let (no, _) = closed_case(&app, &routed_body()).await;
    let op = app.token_for(Role::Operator, None).await;
    let sup = app.token_for(Role::Supervisor, None).await;
    ok(
        act(
            &app,
            &no,
            "callback",
            json!({"satisfaction": "satisfied", "note": "首次回访"}),
            &op,
        )
        .await,
        "first",
    )
    .await;
    ok(
        act(
            &app,
            &no,
            "callback",
            json!({"satisfaction": "unsatisfied", "note": "改变评价"}),
            &sup,
        )
        .await,
        "second",
    )
    .await;
    let case = app.case(&no, &sup).await;
    let feedback = case["feedback"].as_array().unwrap();
    assert_eq!(feedback.len(), 2, "history, not overwrite");
    assert_eq!(feedback[0]["by_role"], "operator");
    assert_eq!(feedback[0]["latest"], false);
    assert_eq!(feedback[1]["by_role"], "supervisor");
    assert_eq!(feedback[1]["latest"], true);
    assert_eq!(case["satisfaction"], "unsatisfied");
    let stats = get_json(&app, "/api/v1/stats?from=2026-11-01&to=2026-12-31", &sup).await;
    assert_eq!(
        stats["satisfaction"],
        json!({"answers": 1, "by_answer": {"unsatisfied": 1}, "rate": 0.0}),
        "the case counts once, by its latest answer"
    );
    let ranking = get_json(&app, "/api/v1/ranking?year=2026", &sup).await;
    let gaj = ranking["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["unit"] == "GAJ")
        .unwrap()
        .clone();
    assert_eq!(gaj["satisfaction_rate"], 0.0);
}

fn letter<'a>(case: &'a Value, kind: &str) -> &'a str {
    case["letters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} letter"))["body"]
        .as_str()
        .unwrap()
}

#[tokio::test]
async fn letters_state_the_steps_that_really_happened_one_sweep_at_a_time() {
    let app = spawn_app().await;
    let (no, _) = routed_case_with_code(&app).await;
    at(&app, local(2026, 11, 24, 9, 0));
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    ok(act(&app, &no, "acknowledge", json!({}), &gaj).await, "ack").await;
    for (y, m, d) in [(2026, 11, 28), (2026, 12, 1), (2026, 12, 4), (2026, 12, 8)] {
        at(&app, local(y, m, d, 0, 10));
        sweep(&app).await;
    }
    let sup = app.token_for(Role::Supervisor, None).await;
    let case = app.case(&no, &sup).await;
    let reminder = letter(&case, "reminder");
    assert!(
        reminder.contains("办理期限已于 2026年11月30日 届满"),
        "{reminder}"
    );
    assert!(
        reminder.contains("2026年11月28日发出办理期限预警通知"),
        "{reminder}"
    );
    assert!(reminder.contains("截至 2026年12月1日"), "{reminder}");
    let supervision = letter(&case, "supervision");
    assert!(
        supervision.contains(
            "2026年11月28日发出办理期限预警通知；2026年12月1日发出催办函（兴效催〔2026〕1号）"
        ),
        "{supervision}"
    );
    assert!(supervision.contains("截至 2026年12月4日"), "{supervision}");
    let notice = letter(&case, "accountability");
    assert!(
        notice.contains("2026年12月4日发出督办函（兴效督〔2026〕1号）"),
        "{notice}"
    );
    assert!(
        notice.contains("截至 2026年12月8日，该件仍未办结"),
        "{notice}"
    );
    assert!(
        notice.contains("办理期限已于 2026年11月30日 届满"),
        "{notice}"
    );
}

#[tokio::test]
async fn a_case_the_sweep_reaches_late_is_not_said_to_have_been_warned() {
    let app = spawn_app().await;
    let (no, _) = routed_case_with_code(&app).await;
    // The first sweep runs on Tue 8 Dec: the warning is stale and skipped;
    // reminders, supervision and accountability go out together.
    at(&app, local(2026, 12, 8, 0, 10));
    let r = sweep(&app).await;
    assert_eq!(r["warnings"], 0);
    let sup = app.token_for(Role::Supervisor, None).await;
    let case = app.case(&no, &sup).await;
    // The acknowledge clock's reminder speaks of signing for the case.
    let ack = case["letters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["number"] == "兴效催〔2026〕1号")
        .unwrap()["body"]
        .as_str()
        .unwrap();
    assert!(ack.contains("签收期限已于 2026年11月24日 届满"), "{ack}");
    assert!(ack.contains("你单位仍未签收"), "{ack}");
    let notice = letter(&case, "accountability");
    assert!(!notice.contains("预警"), "never warned: {notice}");
    assert!(
        notice.contains("2026年12月8日发出督办函（兴效督〔2026〕1号）"),
        "{notice}"
    );
    assert!(notice.contains("2026年12月8日发出催办函"), "{notice}");
    assert!(!notice.contains("至 2026年12月9日"), "{notice}");
    let acc = get_json(
        &app,
        &format!("/api/v1/accountability?tracking_no={no}"),
        &sup,
    )
    .await;
    let reason = acc["items"][0]["reason"].as_str().unwrap();
    assert!(
        !reason.contains("预警") && reason.contains("截至2026年12月8日"),
        "{reason}"
    );

    // The sweep's answer lists the steps it fired with their letters.
    let steps: Vec<(String, String, Option<String>)> = r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert_eq!(s["tracking_no"], no.as_str());
            (
                s["clock"].as_str().unwrap().to_owned(),
                s["level_name"].as_str().unwrap().to_owned(),
                s["letter_number"].as_str().map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("acknowledge", "reminder", Some("兴效催〔2026〕1号")),
            ("handling", "reminder", Some("兴效催〔2026〕2号")),
            ("handling", "supervision", Some("兴效督〔2026〕1号")),
            ("handling", "accountability", Some("兴效问〔2026〕1号")),
        ]
        .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.map(str::to_owned)))
    );
    assert_eq!(r["steps_omitted"], 0);
}

#[tokio::test]
async fn the_transfer_letter_prints_the_supervisors_instruction() {
    let app = spawn_app().await;
    let (no, _) = file(&app, &complaint_body()).await; // waits for confirmation
    let sup = app.token_for(Role::Supervisor, None).await;
    ok(
        act(
            &app,
            &no,
            "assign",
            json!({"unit": "BDC", "confirm": true, "note": "请重点核查3号窗口"}),
            &sup,
        )
        .await,
        "assign",
    )
    .await;
    let bdc = app.token_for(Role::Unit, Some("BDC")).await;
    let case = app.case(&no, &bdc).await;
    let body = letter(&case, "transfer");
    assert!(body.contains("二、交办意见\n请重点核查3号窗口"), "{body}");
    assert!(body.contains("三、办理要求"), "{body}");
}

#[tokio::test]
async fn what_people_read_is_chinese_with_local_times() {
    let app = spawn_app().await;
    let (no, _) = routed_case_with_code(&app).await;
    at(&app, local(2026, 12, 1, 0, 10));
    sweep(&app).await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let case = app.case(&no, &sup).await;
    for e in case["timeline"].as_array().unwrap() {
        let s = e["summary"].as_str().unwrap();
        assert!(
            s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{s}"
        );
        for english in ["level", "assigned to", "letter", "+00:00", "T15:59"] {
            assert!(!s.contains(english), "{s}");
        }
        assert!(e["at_local"].as_str().unwrap().contains('年'));
    }
    let reminder = case["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| {
            e["action"] == "escalation_reminder"
                && e["summary"].as_str().unwrap().contains("办理期限")
        })
        .unwrap()["summary"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        reminder.contains("2026年11月30日"),
        "the local date: {reminder}"
    );
    let csv = app
        .get("/api/v1/complaints.csv", Some(&sup))
        .await
        .text()
        .await
        .unwrap();
    let row = csv.lines().find(|l| l.starts_with(&no)).unwrap();
    assert!(row.contains(",网站,已转办,"), "{row}");
}

fn outbox_bodies(app: &TestApp) -> Vec<String> {
    use duban::db::schema::outbox::dsl;
    let mut conn = app.conn();
    dsl::outbox
        .order(dsl::id.asc())
        .select(dsl::body)
        .load(&mut *conn as &mut duban::db::DbConn)
        .unwrap()
}

#[tokio::test]
async fn a_unit_reads_every_notice_it_was_sent_with_the_text_of_its_email() {
    let app = spawn_app().await;
    let (no, _) = routed_case_with_code(&app).await;
    at(&app, local(2026, 11, 24, 9, 0));
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    ok(act(&app, &no, "acknowledge", json!({}), &gaj).await, "ack").await;
    at(&app, local(2026, 11, 28, 9, 0));
    assert_eq!(sweep(&app).await["warnings"], 1);
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    let ext = ok(
        act(
            &app,
            &no,
            "extensions",
            json!({"workdays": 2, "reason": "需调取外地监控录像"}),
            &gaj,
        )
        .await,
        "extension",
    )
    .await;
    let sup = app.token_for(Role::Supervisor, None).await;
    ok(
        app.post_json(
            &format!("/api/v1/complaints/{no}/extensions/{}/decision", ext["id"]),
            &json!({"decision": "approve"}),
            Some(&sup),
        )
        .await,
        "approve",
    )
    .await;

    let list = get_json(&app, "/api/v1/notices?unread=true", &gaj).await;
    assert_eq!(list["total"], 2);
    let kinds: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["extension_approved", "deadline_warning"]);
    let mails = outbox_bodies(&app);
    for n in list["items"].as_array().unwrap() {
        assert_eq!(n["tracking_no"], no.as_str());
        assert!(
            mails.contains(&n["body"].as_str().unwrap().to_owned()),
            "{n}"
        );
    }
    let id = list["items"][0]["id"].as_i64().unwrap();
    // Another unit cannot read it; the office can, without marking it read.
    let jtj = app.token_for(Role::Unit, Some("JTJ")).await;
    assert_problem(
        app.get(&format!("/api/v1/notices/{id}"), Some(&jtj)).await,
        404,
    )
    .await;
    assert_eq!(get_json(&app, "/api/v1/notices", &jtj).await["total"], 0);
    assert_eq!(
        get_json(&app, &format!("/api/v1/notices/{id}"), &sup).await["read"],
        false
    );
    let read = ok(
        app.post_json(
            &format!("/api/v1/notices/{id}/read"),
            &json!({}),
            Some(&gaj),
        )
        .await,
        "read",
    )
    .await;
    assert_eq!(read["read"], true);
    assert_eq!(
        get_json(&app, "/api/v1/notices?unread=true", &gaj).await["total"],
        1
    );
}

#[tokio::test]
async fn deadlines_in_a_year_without_a_notice_keep_its_statutory_holidays_and_say_so() {
    let app = spawn_app().await;
    let sup = app.token_for(Role::Supervisor, None).await;
    at(&app, local(2026, 12, 23, 10, 0));
    let (no, _) = file(&app, &complaint_body()).await; // waits for confirmation
    let sup2 = app.token_for(Role::Supervisor, None).await;
    let _ = sup;
    let state = ok(
        act(
            &app,
            &no,
            "assign",
            json!({"unit": "BDC", "confirm": true, "handle_workdays": 10}),
            &sup2,
        )
        .await,
        "assign",
    )
    .await;
    // 24, 25, 28–31 Dec; 1 Jan is New Year's Day even without 2027's notice;
    // 4–7 Jan: the tenth working day is Thursday 7 January.
    let due = chrono::DateTime::parse_from_rfc3339(state["due_at"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono_tz::Asia::Shanghai);
    assert_eq!(due.date_naive().to_string(), "2027-01-07");
    assert_eq!(state["deadlines_provisional"], true);
    let case = app.case(&no, &sup2).await;
    assert_eq!(case["assignment"]["deadlines_provisional"], true);
    assert!(letter(&case, "transfer").contains("暂按法定节假日计算"));
    // Readiness and the metric name the year.
    let ready: Value = app.get("/readyz", None).await.json().await.unwrap();
    assert_eq!(ready["calendar"]["provisional_years"], json!([2027]));
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        metrics.contains("duban_calendar_provisional{year=\"2027\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn tracking_numbers_are_read_in_any_case_everywhere() {
    let app = spawn_app().await;
    let (no, _) = file(&app, &routed_body()).await;
    let lower = no.to_lowercase();
    let sup = app.token_for(Role::Supervisor, None).await;
    let resp = app
        .get(&format!("/api/v1/complaints/{lower}"), Some(&sup))
        .await;
    assert_eq!(resp.status(), 200);
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    let state = ok(
        act(&app, &format!(" {lower}"), "acknowledge", json!({}), &gaj).await,
        "ack",
    )
    .await;
    assert_eq!(state["tracking_no"], no.as_str());
    let letters = get_json(&app, &format!("/api/v1/letters?tracking_no={lower}"), &sup).await;
    assert_eq!(letters["total"], 1);
}

#[tokio::test]
async fn auditors_see_which_account_did_what_and_search_the_trail_by_it() {
    let app = spawn_app().await;
    let (no, _) = file(&app, &routed_body()).await;
    let sup_id = app.create_user("zfb.wang", Role::Supervisor, None);
    let sup = ok(app.login("zfb.wang", PASSWORD).await, "login").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.identity(&no, &sup).await; // reads the identity
    let aud = app.token_for(Role::Auditor, None).await;
    let found = get_json(
        &app,
        "/api/v1/audit/events?actor=zfb.wang&action=identity_viewed",
        &aud,
    )
    .await;
    assert_eq!(found["total"], 1, "{found}");
    let e = &found["items"][0];
    assert_eq!(e["actor_id"], sup_id);
    assert_eq!(e["actor_username"], "zfb.wang");
    assert_eq!(e["tracking_no"], no.as_str());
    let by_id = get_json(&app, &format!("/api/v1/audit/events?actor={sup_id}"), &aud).await;
    assert_eq!(by_id["total"], 1);
    let none = get_json(
        &app,
        "/api/v1/audit/events?from=2020-01-01&to=2020-12-31",
        &aud,
    )
    .await;
    assert_eq!(none["total"], 0);
    // In a case's timeline only auditors and admins see the account.
    let audited = app.case(&no, &aud).await;
    let read = audited["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "identity_viewed")
        .unwrap()
        .clone();
    assert_eq!(read["actor_username"], "zfb.wang");
    let office = app.case(&no, &sup).await;
    assert!(office["timeline"][0].get("actor_id").is_none());
    assert_problem(app.get("/api/v1/audit/events", Some(&sup)).await, 403).await;
}

/// The migrations of the run's backend reverse and apply again.
#[tokio::test]
async fn every_migration_reverses_cleanly_and_applies_again() {
    let app = spawn_app().await;
    let mut conn = app.conn();
    let conn: &mut duban::db::DbConn = &mut conn;
    let reverted = duban::db::revert_all_migrations(conn).expect("down.sql runs");
    assert!(reverted >= 4);
    let applied = duban::db::run_migrations(conn).expect("up.sql runs again");
    assert_eq!(applied, reverted);
    let units: i64 = duban::db::schema::units::table
        .count()
        .get_result(conn)
        .unwrap();
    assert_eq!(units, 0, "a fresh schema");
}
