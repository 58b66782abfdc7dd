//! Hotline operators logging calls.

use chrono::{Duration, Utc};
use duban::auth::policy::Role;
use serde_json::{Value, json};

use crate::helpers::*;

fn call(disposition: &str) -> Value {
    json!({
        "caller_phone": "0797-5321234",
        "started_at": (Utc::now() - Duration::hours(2)).to_rfc3339(),
        "duration_seconds": 240,
        "summary": "来电反映乡镇干部推诿",
        "disposition": disposition,
    })
}

fn complaint_call() -> Value {
    let mut c = call("complaint");
    let mut complaint = complaint_body();
    complaint["complainant"]
        .as_object_mut()
        .unwrap()
        .remove("phone");
    c["complaint"] = complaint;
    c
}

#[tokio::test]
async fn a_complaint_call_files_a_hotline_complaint_received_when_the_call_started() {
    let app = spawn_app().await;
    let op = app.token_for(Role::Operator, None).await;
    let body = complaint_call();
    let resp = app.post_json("/api/v1/calls", &body, Some(&op)).await;
    assert_eq!(resp.status(), 201);
    let logged: Value = resp.json().await.unwrap();
    let no = logged["tracking_no"].as_str().unwrap().to_owned();
    assert_eq!(logged["query_code"].as_str().unwrap().len(), 8);
    assert_eq!(logged["disposition"], "complaint");
    let started =
        chrono::DateTime::parse_from_rfc3339(body["started_at"].as_str().unwrap()).unwrap();
    let received =
        chrono::DateTime::parse_from_rfc3339(logged["received_at"].as_str().unwrap()).unwrap();
    // Stored to the microsecond, as both backends keep it.
    assert_eq!(received.timestamp_micros(), started.timestamp_micros());

    let sup = app.token_for(Role::Supervisor, None).await;
    let case: Value = app.case(&no, &sup).await;
    assert_eq!(case["channel"], "hotline");
    // The caller's number stands in for the complainant's.
    let id = app.identity(&no, &sup).await;
    assert_eq!(id["phone"], "07975321234");
    assert_eq!(id["name"], "王小明");
}

#[tokio::test]
async fn calls_without_a_complaint_are_logged_alone() {
    let app = spawn_app().await;
    let op = app.token_for(Role::Operator, None).await;
    for d in ["answered", "consultation", "invalid"] {
        let resp = app.post_json("/api/v1/calls", &call(d), Some(&op)).await;
        assert_eq!(resp.status(), 201, "{d}");
        let logged: Value = resp.json().await.unwrap();
        assert!(logged["tracking_no"].is_null());
        assert!(logged["query_code"].is_null());
    }
    let sup = app.token_for(Role::Supervisor, None).await;
    let list: Value = app
        .get("/api/v1/calls?disposition=consultation", Some(&sup))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["disposition"], "consultation");
    let all: Value = app
        .get("/api/v1/calls", Some(&op))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["total"], 3);
    assert!(
        all["items"][0].get("caller_phone").is_none(),
        "caller numbers stay sealed"
    );
}

#[tokio::test]
async fn call_times_may_not_lie_in_the_future_nor_over_thirty_days_back() {
    let app = spawn_app().await;
    let op = app.token_for(Role::Operator, None).await;
    for (t, why) in [
        (Utc::now() + Duration::hours(1), "future"),
        (Utc::now() - Duration::days(31), "old"),
    ] {
        let mut body = complaint_call();
        body["started_at"] = json!(t.to_rfc3339());
        body["complaint"]
            .as_object_mut()
            .unwrap()
            .remove("occurred_on");
        let problem =
            assert_problem(app.post_json("/api/v1/calls", &body, Some(&op)).await, 422).await;
        assert_eq!(error_fields(&problem), vec!["started_at"], "{why}");
    }
}

#[tokio::test]
async fn call_validation_names_call_and_complaint_fields_together() {
    let app = spawn_app().await;
    let op = app.token_for(Role::Operator, None).await;
    let mut body = complaint_call();
    body["duration_seconds"] = json!(-5);
    body["disposition"] = json!("complaint");
    body["complaint"]["content"] = json!("短");
    body["complaint"]["category"] = json!("unknown_code");
    let problem = assert_problem(app.post_json("/api/v1/calls", &body, Some(&op)).await, 422).await;
    let mut fields = error_fields(&problem);
    fields.sort();
    assert_eq!(
        fields,
        vec![
            "complaint.category",
            "complaint.content",
            "duration_seconds"
        ]
    );

    let mut missing = call("complaint");
    missing.as_object_mut().unwrap().remove("summary");
    let problem = assert_problem(
        app.post_json("/api/v1/calls", &missing, Some(&op)).await,
        422,
    )
    .await;
    let mut fields = error_fields(&problem);
    fields.sort();
    assert_eq!(fields, vec!["complaint", "summary"]);

    let mut stray = call("answered");
    stray["complaint"] = complaint_body();
    let problem =
        assert_problem(app.post_json("/api/v1/calls", &stray, Some(&op)).await, 422).await;
    assert_eq!(error_fields(&problem), vec!["complaint"]);
}

#[tokio::test]
async fn only_operators_log_calls_and_units_cannot_list_them() {
    let app = spawn_app().await;
    assert_problem(
        app.post_json("/api/v1/calls", &call("answered"), None)
            .await,
        401,
    )
    .await;
    for role in [Role::Supervisor, Role::Auditor, Role::Admin] {
        let t = app.token_for(role, None).await;
        assert_problem(
            app.post_json("/api/v1/calls", &call("answered"), Some(&t))
                .await,
            403,
        )
        .await;
    }
    let unit = app.token_for(Role::Unit, Some("GAJ")).await;
    assert_problem(
        app.post_json("/api/v1/calls", &call("answered"), Some(&unit))
            .await,
        403,
    )
    .await;
    assert_problem(app.get("/api/v1/calls", Some(&unit)).await, 403).await;
    let auditor = app.token_for(Role::Auditor, None).await;
    assert_problem(app.get("/api/v1/calls", Some(&auditor)).await, 403).await;
}

#[tokio::test]
async fn a_call_retried_with_its_idempotency_key_is_logged_once() {
    let app = spawn_app().await;
    let op = app.token_for(Role::Operator, None).await;
    let body = complaint_call();
    let mut answers = Vec::new();
    for _ in 0..2 {
        let resp = app
            .client
            .post(app.url("/api/v1/calls"))
            .bearer_auth(&op)
            .header("Idempotency-Key", "call-42")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        answers.push(resp.json::<Value>().await.unwrap());
    }
    assert_eq!(answers[0], answers[1]);
    let list: Value = app
        .get("/api/v1/calls", Some(&op))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1);
}
