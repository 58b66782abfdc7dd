//! Accountability cases (opened by the ladder or by hand), the unit's
//! defence, decisions and the score events they book; the ranking, the
//! statistics and the CSV export.

use duban::auth::policy::Role;
use serde_json::{Value, json};

use crate::escalation::{at, get_json, local, routed_case_on_monday, sweep};
use crate::helpers::*;
use crate::workflow::{act, file, routed_body};

/// A GAJ case driven to the top of the ladder: returns the tracking number
/// and the accountability case's id. The clock is left at Tue 8 Dec 2026.
async fn escalated_case(app: &TestApp) -> (String, i64) {
    let no = routed_case_on_monday(app).await;
    at(app, local(2026, 12, 8, 0, 10));
    let r = sweep(app).await;
    assert_eq!(r["accountability_cases"], 1, "{r}");
    let sup = app.token_for(Role::Supervisor, None).await;
    let list = get_json(
        app,
        &format!("/api/v1/accountability?tracking_no={no}"),
        &sup,
    )
    .await;
    (no, list["items"][0]["id"].as_i64().unwrap())
}

async fn post(app: &TestApp, path: &str, body: Value, token: &str) -> reqwest::Response {
    app.post_json(path, &body, Some(token)).await
}

fn kinds_and_points(view: &Value) -> Vec<(String, f64)> {
    view["score_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["points"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_unit_defends_itself_and_the_decision_replaces_the_provisional_deduction() {
    let app = spawn_app().await;
    let (_, id) = escalated_case(&app).await;
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    let jtj = app.token_for(Role::Unit, Some("JTJ")).await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let path = format!("/api/v1/accountability/{id}");

    // Another unit cannot see or defend it.
    assert_problem(app.get(&path, Some(&jtj)).await, 404).await;
    let defence = json!({"content": "因涉及外地调查，未能按期办结，已于12月7日报送。"});
    assert_problem(
        post(&app, &format!("{path}/defence"), defence.clone(), &jtj).await,
        404,
    )
    .await;
    assert_problem(
        post(&app, &format!("{path}/defence"), json!({}), &gaj).await,
        422,
    )
    .await;
    let v: Value = post(&app, &format!("{path}/defence"), defence.clone(), &gaj)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "defended");
    assert!(
        v["defence"]["content"]
            .as_str()
            .unwrap()
            .contains("外地调查")
    );
    assert_problem(
        post(&app, &format!("{path}/defence"), defence, &gaj).await,
        409,
    )
    .await;

    // Bad decisions name every bad field.
    let bad = assert_problem(
        post(
            &app,
            &format!("{path}/decision"),
            json!({"decision": "flogging", "situation": "Z9", "points": 0.125}),
            &sup,
        )
        .await,
        422,
    )
    .await;
    let mut fields = error_fields(&bad);
    fields.sort();
    assert_eq!(fields, ["decision", "points", "situation"]);
    assert_problem(
        post(
            &app,
            &format!("{path}/decision"),
            json!({"decision": "criticism"}),
            &gaj,
        )
        .await,
        403,
    )
    .await;

    let v: Value = post(
        &app,
        &format!("{path}/decision"),
        json!({"decision": "efficiency_warning", "points": -2.5, "note": "申辩理由不成立"}),
        &sup,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(v["status"], "decided");
    assert_eq!(v["decision"]["decision"], "efficiency_warning");
    // One sign convention: points are the change to the score.
    assert_eq!(v["decision"]["points"], -2.5);
    assert_eq!(v["situation"]["code"], "B3", "kept from the opening");
    assert_eq!(
        kinds_and_points(&v),
        [
            ("provisional".to_owned(), -1.0),
            ("compensation".to_owned(), 1.0),
            ("deduction".to_owned(), -2.5)
        ]
    );
    assert_problem(
        post(
            &app,
            &format!("{path}/decision"),
            json!({"decision": "dismissed"}),
            &sup,
        )
        .await,
        409,
    )
    .await;

    // The unit is told; the ranking counts the final 2.5 points only.
    let ranking = get_json(&app, "/api/v1/ranking?year=2026", &gaj).await;
    let row = ranking["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["unit"] == "GAJ")
        .unwrap()
        .clone();
    assert_eq!(row["points"], -2.5);
    assert_eq!(row["score"], 97.5);
}

#[tokio::test]
async fn a_dismissal_books_a_compensating_event_and_deletes_nothing() {
    let app = spawn_app().await;
    let (_, id) = escalated_case(&app).await;
    // After the defence period (to Tue 15 Dec) with no defence filed.
    at(&app, local(2026, 12, 16, 9, 0));
    let sup = app.token_for(Role::Supervisor, None).await;
    let bad = assert_problem(
        post(
            &app,
            &format!("/api/v1/accountability/{id}/decision"),
            json!({"decision": "dismissed", "points": 3}),
            &sup,
        )
        .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&bad), ["points"]);
    let v: Value = post(
        &app,
        &format!("/api/v1/accountability/{id}/decision"),
        json!({"decision": "dismissed", "note": "系上级部门原因延误"}),
        &sup,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        kinds_and_points(&v),
        [
            ("provisional".to_owned(), -1.0),
            ("compensation".to_owned(), 1.0)
        ]
    );
    let ranking = get_json(&app, "/api/v1/ranking?year=2026", &sup).await;
    let gaj = ranking["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["unit"] == "GAJ")
        .unwrap()
        .clone();
    assert_eq!(gaj["points"], 0.0);
    assert_eq!(gaj["score"], 100.0);
}

#[tokio::test]
async fn the_defence_period_ends_and_then_the_unit_is_too_late() {
    let app = spawn_app().await;
    let (_, id) = escalated_case(&app).await;
    // Opened Tue 8 Dec; five working days: end of Tue 15 Dec.
    let sup = app.token_for(Role::Supervisor, None).await;
    let v = get_json(&app, &format!("/api/v1/accountability/{id}"), &sup).await;
    assert_eq!(
        v["defence_due_at"],
        local(2026, 12, 15, 23, 59)
            .checked_add_signed(chrono::Duration::seconds(59))
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    at(&app, local(2026, 12, 16, 9, 0));
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    let p = assert_problem(
        post(
            &app,
            &format!("/api/v1/accountability/{id}/defence"),
            json!({"content": "迟到的申辩"}),
            &gaj,
        )
        .await,
        409,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("defence period"));
}

#[tokio::test]
async fn a_supervisor_opens_a_case_by_hand_and_the_unit_sees_only_its_own() {
    let app = spawn_app().await;
    at(&app, local(2026, 11, 23, 10, 0));
    let (no, _) = file(&app, &routed_body()).await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let bad = assert_problem(
        post(
            &app,
            "/api/v1/accountability",
            json!({"unit": "NOPE", "tracking_no": "XG0", "situation": "Q1", "colour": "red"}),
            &sup,
        )
        .await,
        422,
    )
    .await;
    let mut fields = error_fields(&bad);
    fields.sort();
    assert_eq!(
        fields,
        ["colour", "reason", "situation", "tracking_no", "unit"],
        "every bad field at once"
    );

    let resp = post(
        &app,
        "/api/v1/accountability",
        json!({
            "unit": "JTJ",
            "person": "某科长",
            "tracking_no": no,
            "situation": "A2",
            "reason": "窗口工作人员对办事群众态度恶劣，经核查属实。",
            "provisional_points": -0.5
        }),
        &sup,
    )
    .await;
    assert_eq!(resp.status(), 201);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["trigger"], "manual");
    assert_eq!(v["situation"]["aspect"], "服务态度方面");
    assert_eq!(kinds_and_points(&v), [("provisional".to_owned(), -0.5)]);
    let jtj = app.token_for(Role::Unit, Some("JTJ")).await;
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    assert_eq!(
        get_json(&app, "/api/v1/accountability", &jtj).await["total"],
        1
    );
    assert_eq!(
        get_json(&app, "/api/v1/accountability?unit=JTJ", &gaj).await["total"],
        0,
        "a unit's filter cannot widen its scope"
    );
    let op = app.token_for(Role::Operator, None).await;
    assert_problem(app.get("/api/v1/accountability", Some(&op)).await, 403).await;
    assert_problem(
        post(
            &app,
            "/api/v1/accountability",
            json!({"unit": "JTJ", "reason": "x"}),
            &gaj,
        )
        .await,
        403,
    )
    .await;
    let situations = get_json(&app, "/api/v1/accountability/situations", &gaj).await;
    assert_eq!(situations["situations"].as_array().unwrap().len(), 22);
}

#[tokio::test]
async fn the_ranking_lists_every_unit_with_its_rates_and_ranks_those_with_enough_cases() {
    let app = spawn_with(Spawn {
        customise: Box::new(|s| s.ranking.min_cases = 2),
        ..Default::default()
    })
    .await;
    at(&app, local(2026, 11, 23, 10, 0));
    // GAJ: three cases. One signed for in time and reported in time, one
    // signed for late, one never signed for.
    let (a, _) = file(&app, &routed_body()).await;
    let (b, _) = file(&app, &routed_body()).await;
    let (_c, _) = file(&app, &routed_body()).await;
    // JTJ: one case, assigned by hand (under the minimum: listed, unranked).
    let mut body = routed_body();
    body["subject_unit"] = json!("JTJ");
    let (d, _) = file(&app, &body).await;
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    assert_eq!(
        act(&app, &a, "acknowledge", json!({}), &gaj).await.status(),
        200
    );
    let report = json!({
        "findings": "经调查，反映问题基本属实。", "measures": "批评教育，开展培训。",
        "responsible_person": "负责人", "rectification_deadline": "2099-12-31",
        "target": "服务规范", "public_reply": "经核查，已责成整改。"
    });
    assert_eq!(act(&app, &a, "report", report, &gaj).await.status(), 200);
    assert_eq!(
        act(
            &app,
            &d,
            "return",
            json!({"reason": "不属于本单位职责"}),
            &app.token_for(Role::Unit, Some("JTJ")).await
        )
        .await
        .status(),
        200
    );
    at(&app, local(2026, 11, 26, 9, 0));
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    assert_eq!(
        act(&app, &b, "acknowledge", json!({}), &gaj).await.status(),
        200
    );

    at(&app, local(2026, 12, 2, 9, 0));
    let aud = app.token_for(Role::Auditor, None).await;
    let r = get_json(&app, "/api/v1/ranking?year=2026", &aud).await;
    let units = r["units"].as_array().unwrap();
    assert!(units.len() >= 40, "every unit is listed");
    let gaj = units.iter().find(|u| u["unit"] == "GAJ").unwrap();
    assert_eq!(gaj["rank"], 1);
    assert_eq!(gaj["ranked"], true);
    assert_eq!(gaj["cases"], 3);
    // Acknowledge clock: three ran out or stopped, one in time.
    assert_eq!(gaj["on_time_acknowledge_rate"], 0.3333);
    // Handling: due Mon 30 Nov; one reported in time, two overdue.
    assert_eq!(gaj["on_time_handling_rate"], 0.3333);
    assert_eq!(gaj["return_rate"], 0.0);
    assert_eq!(gaj["score"], 100.0);
    let jtj = units.iter().find(|u| u["unit"] == "JTJ").unwrap();
    assert_eq!(jtj["ranked"], false);
    assert!(jtj["rank"].is_null());
    assert_eq!(jtj["return_rate"], 1.0);
    assert_eq!(units[0]["unit"], "GAJ", "ranked units come first");

    let bad = assert_problem(app.get("/api/v1/ranking?year=1066", Some(&aud)).await, 422).await;
    assert_eq!(error_fields(&bad), ["year"]);
}

#[tokio::test]
async fn the_statistics_count_what_the_office_reports() {
    let app = spawn_app().await;
    let (no, id) = escalated_case(&app).await;
    let _ = no;
    let sup = app.token_for(Role::Supervisor, None).await;
    let decided = post(
        &app,
        &format!("/api/v1/accountability/{id}/decision"),
        json!({"decision": "criticism", "defence_waived": true, "note": "承办单位书面表示放弃申辩"}),
        &sup,
    )
    .await;
    assert_eq!(decided.status(), 200);
    // A second, unrouted complaint and a hotline call.
    file(&app, &complaint_body()).await;
    let op = app.token_for(Role::Operator, None).await;
    let call = app
        .post_json(
            "/api/v1/calls",
            &json!({
                "caller_phone": "13800000000",
                "started_at": local(2026, 12, 8, 0, 5).to_rfc3339(),
                "duration_seconds": 120,
                "summary": "咨询投诉办理进度",
                "disposition": "consultation"
            }),
            Some(&op),
        )
        .await;
    assert_eq!(call.status(), 201, "{}", call.text().await.unwrap());

    let s = get_json(&app, "/api/v1/stats?from=2026-11-01&to=2026-12-31", &sup).await;
    let sum = &s["summary"];
    assert_eq!(sum["complaints_received"], 2);
    assert_eq!(sum["transfer_letters"], 1);
    assert_eq!(sum["reminder_letters"], 2);
    assert_eq!(sum["supervision_letters"], 1);
    assert_eq!(sum["accountability_notices"], 1);
    assert_eq!(sum["letters_issued"], 5);
    assert_eq!(sum["escalations"], 4);
    assert_eq!(sum["accountability_cases_opened"], 1);
    assert_eq!(sum["accountability_cases_decided"], 1);
    assert_eq!(sum["calls_logged"], 1);
    assert_eq!(s["complaints"]["by_channel"]["web"], 2);
    assert_eq!(s["escalations_by_level"]["reminder"], 2);
    assert_eq!(s["escalations_by_level"]["accountability"], 1);
    assert_eq!(s["accountability"]["by_decision"]["criticism"], 1);
    // B3's default is 2 points; the provisional point came back.
    assert_eq!(s["accountability"]["points_deducted"], 3.0);
    assert_eq!(s["accountability"]["points_restored"], 1.0);
    assert_eq!(s["calls_by_disposition"]["consultation"], 1);
    let gaj = s["complaints"]["by_unit"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["code"] == "GAJ")
        .unwrap()
        .clone();
    assert_eq!(gaj["name"], "县公安局");

    // Another period is empty; a reversed period is refused.
    let empty = get_json(&app, "/api/v1/stats?from=2025-01-01&to=2025-12-31", &sup).await;
    assert_eq!(empty["summary"]["complaints_received"], 0);
    let bad = assert_problem(
        app.get("/api/v1/stats?from=2026-12-31&to=2026-01-01", Some(&sup))
            .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&bad), ["to"]);
    let gaj_token = app.token_for(Role::Unit, Some("GAJ")).await;
    assert_problem(app.get("/api/v1/stats", Some(&gaj_token)).await, 403).await;
}

#[tokio::test]
async fn the_csv_export_lists_cases_without_identity_and_defuses_formulas() {
    let app = spawn_app().await;
    let mut body = routed_body();
    body["title"] = json!("=HYPERLINK(\"http://evil.example\",\"点我\")");
    let (no, _) = file(&app, &body).await;
    file(&app, &complaint_body()).await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let resp = app.get("/api/v1/complaints.csv", Some(&sup)).await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("complaints-")
    );
    let text = resp.text().await.unwrap();
    assert!(text.starts_with('\u{feff}'), "a BOM for Excel");
    let lines: Vec<&str> = text.trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].contains("受理编号") && lines[0].contains("承办单位"));
    let row = lines.iter().find(|l| l.starts_with(&no)).unwrap();
    assert!(row.contains("县公安局"), "{row}");
    assert!(row.contains("\"'=HYPERLINK("), "formula defused: {row}");
    for planted in [
        "王小明",
        "13912345678",
        "wxm@example.cn",
        "11010519491231002X",
        "解放路18号",
    ] {
        assert!(!text.contains(planted), "identity {planted} leaked");
    }
    // Filters apply; the export is for the office and the auditors.
    let only = app
        .get("/api/v1/complaints.csv?status=received", Some(&sup))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(only.trim_end().split("\r\n").count(), 2);
    let aud = app.token_for(Role::Auditor, None).await;
    assert_eq!(
        app.get("/api/v1/complaints.csv", Some(&aud)).await.status(),
        200
    );
    for (role, unit) in [(Role::Unit, Some("GAJ")), (Role::Operator, None)] {
        let t = app.token_for(role, unit).await;
        assert_problem(app.get("/api/v1/complaints.csv", Some(&t)).await, 403).await;
    }
    let bad = assert_problem(
        app.get("/api/v1/complaints.csv?status=lost", Some(&sup))
            .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&bad), ["status"]);
}

#[tokio::test]
async fn a_long_export_streams_every_case_once() {
    let app = spawn_app().await;
    file(&app, &complaint_body()).await;
    insert_cases(&app, "BE", duban::domain::export::CHUNK + 6);
    let sup = app.token_for(Role::Supervisor, None).await;
    let text = app
        .get("/api/v1/complaints.csv", Some(&sup))
        .await
        .text()
        .await
        .unwrap();
    let rows: Vec<&str> = text.trim_end().split("\r\n").skip(1).collect();
    assert_eq!(rows.len() as i64, duban::domain::export::CHUNK + 7);
    let distinct: std::collections::HashSet<&str> =
        rows.iter().map(|r| r.split(',').next().unwrap()).collect();
    assert_eq!(distinct.len(), rows.len());
}
