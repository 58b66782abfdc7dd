//! Malformed requests get problem+json answers, never a 500.

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
