//! Public tracking with tracking number and query code.

use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn the_right_pair_shows_status_and_timeline_without_content_or_identity() {
    let app = spawn_app().await;
    let r = app.file_complaint().await;
    let (no, code) = (
        r["tracking_no"].as_str().unwrap(),
        r["query_code"].as_str().unwrap(),
    );
    let resp = app.track(no, code).await;
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    let view: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(view["tracking_no"], no);
    assert_eq!(view["status"], "received");
    assert_eq!(view["status_label"], "已受理");
    assert_eq!(view["category"], "吃拿卡要");
    assert!(view["responsible_unit"].is_null());
    assert_eq!(view["timeline"][0]["event"], "received");
    assert_eq!(view["timeline"][0]["note"], "已受理");
    for secret in ["王小明", "13912345678", "请客吃饭"] {
        assert!(!text.contains(secret), "{secret}");
    }
    // Citizens type codes loosely.
    let loose = format!("{}-{}", &code[..4].to_lowercase(), &code[4..]);
    assert_eq!(app.track(&no.to_lowercase(), &loose).await.status(), 200);
}

#[tokio::test]
async fn any_wrong_pair_gets_the_same_404() {
    let app = spawn_app().await;
    let r = app.file_complaint().await;
    let no = r["tracking_no"].as_str().unwrap();
    let wrong_code = assert_problem(app.track(no, "AAAAAAAA").await, 404).await;
    let wrong_no = assert_problem(
        app.track("XG20990101000001", r["query_code"].as_str().unwrap())
            .await,
        404,
    )
    .await;
    assert_eq!(wrong_code, wrong_no);
}

#[tokio::test]
async fn missing_fields_are_named() {
    let app = spawn_app().await;
    let problem = assert_problem(app.post_json("/api/v1/track", &json!({}), None).await, 422).await;
    let mut fields = error_fields(&problem);
    fields.sort();
    assert_eq!(fields, vec!["query_code", "tracking_no"]);
}

#[tokio::test]
async fn an_address_that_keeps_failing_is_refused_even_with_the_right_code() {
    let app = spawn_with(behind_proxy(3, 100)).await;
    let r = app.file_complaint().await;
    let (no, code) = (
        r["tracking_no"].as_str().unwrap(),
        r["query_code"].as_str().unwrap(),
    );
    for _ in 0..3 {
        assert_eq!(
            track_from(&app, "203.0.113.7", no, "WRONGWRG")
                .await
                .status(),
            404
        );
    }
    let resp = track_from(&app, "203.0.113.7", no, code).await;
    assert!(resp.headers().contains_key("retry-after"));
    assert_problem(resp, 429).await;
    // Another address is unaffected.
    assert_eq!(
        track_from(&app, "198.51.100.2", no, code).await.status(),
        200
    );
    // The window ends.
    app.state.clock.advance(chrono::Duration::seconds(901));
    assert_eq!(
        track_from(&app, "203.0.113.7", no, code).await.status(),
        200
    );
}

#[tokio::test]
async fn a_case_under_attack_stays_open_to_its_complainant() {
    let app = spawn_with(behind_proxy(100, 3)).await;
    let r = app.file_complaint().await;
    let (no, code) = (
        r["tracking_no"].as_str().unwrap(),
        r["query_code"].as_str().unwrap(),
    );
    // Several addresses guess at one case.
    for i in 0..4 {
        assert_eq!(
            track_from(&app, &format!("203.0.113.{i}"), no, "WRONGWRG")
                .await
                .status(),
            404
        );
    }
    // Failures on a case never refuse the right pair: the complainant gets
    // in, whatever strangers did (an address over its own limit is another
    // matter: see the test above).
    assert_eq!(
        track_from(&app, "198.51.100.9", no, code).await.status(),
        200
    );
    assert_eq!(
        track_from(&app, "203.0.113.1", no, code).await.status(),
        200,
        "an address under its own limit with the right code"
    );
}
