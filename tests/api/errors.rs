//! Malformed requests get problem+json answers, never a 500.

use duban::auth::policy::Role;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_body_that_is_not_json_is_400() {
    let app = spawn_app().await;
    let resp = app
        .client
        .post(app.url("/api/v1/complaints"))
        .header("content-type", "application/json")
        .body("{\"title\": ")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 400).await;
}

#[tokio::test]
async fn invalid_utf8_and_deep_nesting_are_400() {
    let app = spawn_app().await;
    for body in [
        b"{\"title\": \"\xff\xfe\"}".to_vec(),
        format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes(),
    ] {
        let resp = app
            .client
            .post(app.url("/api/v1/complaints"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_problem(resp, 400).await;
    }
}

#[tokio::test]
async fn a_json_value_that_is_not_an_object_is_422() {
    let app = spawn_app().await;
    let problem = assert_problem(app.post_complaint(&json!([1, 2, 3])).await, 422).await;
    assert_eq!(error_fields(&problem), vec!["body"]);
}

#[tokio::test]
async fn a_wrong_content_type_is_415() {
    let app = spawn_app().await;
    let resp = app
        .client
        .post(app.url("/api/v1/complaints"))
        .header("content-type", "text/plain")
        .body(complaint_body().to_string())
        .send()
        .await
        .unwrap();
    assert_problem(resp, 415).await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let app = spawn_app().await;
    let mut body = complaint_body();
    body["content"] = json!("长".repeat(40_000));
    assert_problem(app.post_complaint(&body).await, 413).await;
}

#[tokio::test]
async fn unknown_routes_and_bad_path_parameters_are_404() {
    let app = spawn_app().await;
    assert_problem(app.get("/api/v1/nothing-here", None).await, 404).await;
    let token = app.token_for(duban::auth::policy::Role::Admin, None).await;
    let resp = app
        .client
        .patch(app.url("/api/v1/users/not-a-number"))
        .bearer_auth(&token)
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 404).await;
}

#[tokio::test]
async fn bad_query_parameters_are_named() {
    let app = spawn_app().await;
    let token = app
        .token_for(duban::auth::policy::Role::Supervisor, None)
        .await;
    let resp = app
        .get(
            "/api/v1/complaints?per_page=500&page=0&status=lost&from=yesterday&colour=red",
            Some(&token),
        )
        .await;
    let problem = assert_problem(resp, 422).await;
    let mut fields = error_fields(&problem);
    fields.sort();
    assert_eq!(fields, vec!["colour", "from", "page", "per_page", "status"]);
}

/// Each field error carries a code with its parameters beside the English
/// message: a client branches on the code, the pages word it in Chinese.
#[tokio::test]
async fn field_errors_carry_codes_and_name_a_wrong_type() {
    let app = spawn_app().await;
    let body = json!({
        "title": "题".repeat(201),
        "content": 5,
        "category": "no_such_category",
        "occurred_on": "2099-01-01",
        "anonymous": "yes",
        "zz_typo": 1
    });
    let problem = assert_problem(app.post_complaint(&body).await, 422).await;
    let errors = problem["errors"].as_array().unwrap();
    let find = |field: &str| {
        errors
            .iter()
            .find(|e| e["field"] == field)
            .unwrap_or_else(|| panic!("{field} not named in {problem}"))
            .clone()
    };
    let title = find("title");
    assert_eq!(title["code"], "too_long", "{title}");
    assert_eq!(title["max"], 200, "{title}");
    assert!(title["message"].as_str().unwrap().contains("200"));
    // A value of the wrong JSON type names its field and what was expected.
    let content = find("content");
    assert_eq!(content["code"], "wrong_type");
    assert_eq!(content["expected"], "a string");
    assert_eq!(find("anonymous")["code"], "wrong_type");
    assert_eq!(find("occurred_on")["code"], "in_future");
    assert_eq!(find("zz_typo")["code"], "unknown_field");
    // A reference code is looked up too, when the request is refused anyway.
    assert_eq!(find("category")["code"], "not_a_category");
    for e in errors {
        assert!(e["code"].is_string() && e["message"].is_string(), "{e}");
    }
    assert_eq!(app.complaint_count(), 0);

    // The codes of a list's choices name what is allowed.
    let op = app.token_for(Role::Operator, None).await;
    let problem = assert_problem(
        app.post_json(
            "/api/v1/calls",
            &json!({"started_at": "now", "duration_seconds": "5", "summary": "来电",
                    "disposition": "chat"}),
            Some(&op),
        )
        .await,
        422,
    )
    .await;
    let errors = problem["errors"].as_array().unwrap();
    let code = |field: &str| {
        errors
            .iter()
            .find(|e| e["field"] == field)
            .map(|e| e["code"].clone())
    };
    assert_eq!(code("started_at"), Some(json!("bad_time")));
    // JSON keeps its types: "5" is not a number (a form's "5" is).
    assert_eq!(code("duration_seconds"), Some(json!("out_of_range")));
    let disposition = errors.iter().find(|e| e["field"] == "disposition").unwrap();
    assert_eq!(disposition["code"], "one_of");
    assert!(
        disposition["allowed"]
            .as_array()
            .unwrap()
            .contains(&json!("complaint")),
        "{disposition}"
    );
}
