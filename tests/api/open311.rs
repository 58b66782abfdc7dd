//! Open311 GeoReport v2 under `/open311/v2/`: discovery, services, service
//! definitions, POST and GET requests and tokens, in XML and JSON, with the
//! standard's error shape; reads never carry identity or the query code.

use chrono::Duration;
use diesel::prelude::*;
use duban::db::DbConn;
use serde_json::Value;

use crate::helpers::*;

const KEY: &str = "k1-open311-test-key";

async fn spawn_open311(publish_description: bool) -> TestApp {
    spawn_with(Spawn {
        customise: Box::new(move |s| {
            s.open311.api_keys = vec![KEY.into(), "second-key".into()];
            s.open311.publish_description = publish_description;
            // These tests read the list; publishing it is the office's choice
            // (off by default, see security.rs).
            s.open311.publish_list = true;
            s.open311.list_limit = 200;
        }),
        ..Spawn::default()
    })
    .await
}

/// A complete valid form: a complaint about the public security bureau,
/// routed to it by the rules.
fn form() -> Vec<(&'static str, String)> {
    vec![
        ("api_key", KEY.into()),
        ("service_code", "service_attitude".into()),
        (
            "description",
            "到县公安局户籍窗口办理业务，窗口民警态度恶劣，多次推诿不予办理。".into(),
        ),
        ("first_name", "小明".into()),
        ("last_name", "王".into()),
        ("phone", "13912345678".into()),
        ("email", "wxm@example.cn".into()),
        ("address_string", "潋江镇".into()),
        ("account_id", "acct-42".into()),
        ("device_id", "device-7".into()),
        ("media_url", "http://example.cn/p.jpg".into()),
        ("attribute[title]", "户籍窗口民警态度恶劣".into()),
        ("attribute[subject_unit]", "GAJ".into()),
        ("attribute[occurred_on]", "2025-12-01".into()),
    ]
}

fn without(mut f: Vec<(&'static str, String)>, key: &str) -> Vec<(&'static str, String)> {
    f.retain(|(k, _)| *k != key);
    f
}

fn with(
    mut f: Vec<(&'static str, String)>,
    key: &'static str,
    v: &str,
) -> Vec<(&'static str, String)> {
    f.retain(|(k, _)| *k != key);
    f.push((key, v.into()));
    f
}

async fn post(app: &TestApp, ext: &str, form: &[(&'static str, String)]) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/open311/v2/requests.{ext}")))
        .form(form)
        .send()
        .await
        .expect("request sent")
}

/// Status, content type and body text.
async fn get_json(app: &TestApp, path: &str) -> (u16, Value) {
    let (status, ct, body) = read(app.get(path, None).await).await;
    assert_eq!(ct, "application/json; charset=utf-8", "{path}: {body}");
    (status, serde_json::from_str(&body).unwrap())
}

async fn get_xml(app: &TestApp, path: &str) -> (u16, Element) {
    let (status, ct, body) = read(app.get(path, None).await).await;
    assert_eq!(ct, "text/xml; charset=utf-8", "{path}: {body}");
    (status, parse_xml(&body))
}

/// Files the standard form and returns (service_request_id, query code).
async fn file(app: &TestApp, form: &[(&'static str, String)]) -> (String, String) {
    let (status, _, body) = read(post(app, "json", form).await).await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let no = v[0]["service_request_id"].as_str().unwrap().to_owned();
    let code = query_code(v[0]["service_notice"].as_str().unwrap());
    (no, code)
}

/// The query code in a service notice (after "查询码 ").
fn query_code(notice: &str) -> String {
    let (_, rest) = notice
        .split_once("查询码 ")
        .expect("notice names the query code");
    rest.chars().take(8).collect()
}

fn error_descriptions(v: &Value, status: u16) -> Vec<String> {
    let list = v.as_array().expect("errors are a list");
    assert!(!list.is_empty());
    list.iter()
        .map(|e| {
            assert_eq!(e["code"], status, "{v}");
            e["description"].as_str().unwrap().to_owned()
        })
        .collect()
}

fn xml_errors(doc: &Element, status: u16) -> Vec<String> {
    assert_eq!(doc.name, "errors");
    assert!(!doc.children.is_empty());
    doc.children
        .iter()
        .map(|e| {
            assert_eq!(e.name, "error");
            assert_eq!(e.child("code").text, status.to_string());
            e.child("description").text.clone()
        })
        .collect()
}

fn set_case(app: &TestApp, no: &str, status: &str, reply: Option<&str>) {
    use duban::db::schema::complaints::dsl;
    app.tamper();
    let mut conn = app.conn();
    diesel::update(dsl::complaints.filter(dsl::tracking_no.eq(no)))
        .set((dsl::status.eq(status), dsl::public_reply.eq(reply)))
        .execute(&mut *conn as &mut DbConn)
        .unwrap();
}

/// Discovery as a client behind no trusted proxy could ask for it, with
/// forwarded headers naming another host.
async fn spoofed_discovery(app: &TestApp, format: &str) -> String {
    app.client
        .get(app.url(&format!("/open311/v2/discovery.{format}")))
        .header("Forwarded", "host=evil.example;proto=https")
        .header("X-Forwarded-Host", "evil.example")
        .header("X-Forwarded-Proto", "https")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn discovery_names_the_public_url_and_never_a_forwarded_host_it_does_not_trust() {
    // No public_url, no trusted proxy: the request's own Host.
    let app = spawn_app().await;
    let v: Value = serde_json::from_str(&spoofed_discovery(&app, "json").await).unwrap();
    assert_eq!(
        v["endpoints"][0]["url"],
        format!("{}/open311/v2", app.address)
    );
    let x = parse_xml(&spoofed_discovery(&app, "xml").await);
    let url = &x.child("endpoints").child("endpoint").child("url").text;
    assert_eq!(url, &format!("{}/open311/v2", app.address));

    // server.public_url set: that, whatever the request says.
    let app = spawn_with(Spawn {
        customise: Box::new(|s| s.server.public_url = "https://duban.example.gov.cn".into()),
        ..Spawn::default()
    })
    .await;
    let v: Value = serde_json::from_str(&spoofed_discovery(&app, "json").await).unwrap();
    assert_eq!(
        v["endpoints"][0]["url"],
        "https://duban.example.gov.cn/open311/v2"
    );
    let x = parse_xml(&spoofed_discovery(&app, "xml").await);
    let url = &x.child("endpoints").child("endpoint").child("url").text;
    assert_eq!(url, "https://duban.example.gov.cn/open311/v2");
}

#[tokio::test]
async fn discovery_names_this_endpoint_in_xml_and_json() {
    let app = spawn_app().await;
    let (status, v) = get_json(&app, "/open311/v2/discovery.json").await;
    assert_eq!(status, 200);
    let ep = &v["endpoints"][0];
    assert_eq!(ep["specification"], "http://wiki.open311.org/GeoReport_v2");
    assert_eq!(ep["url"], format!("{}/open311/v2", app.address));
    assert_eq!(ep["type"], "production");
    assert_eq!(
        ep["formats"],
        serde_json::json!(["text/xml", "application/json"])
    );
    assert!(v["changeset"].as_str().unwrap().len() >= 20, "{v}");
    assert!(v["contact"].is_string() && v["key_service"].is_string());

    let (status, x) = get_xml(&app, "/open311/v2/discovery.xml").await;
    assert_eq!(status, 200);
    assert_eq!(x.name, "discovery");
    let ep = x.child("endpoints").child("endpoint");
    assert_eq!(ep.child("url").text, format!("{}/open311/v2", app.address));
    let formats: Vec<&str> = ep
        .child("formats")
        .children
        .iter()
        .map(|f| {
            assert_eq!(f.name, "format");
            f.text.as_str()
        })
        .collect();
    assert_eq!(formats, ["text/xml", "application/json"]);
}

#[tokio::test]
async fn services_are_the_active_categories_in_both_formats() {
    let app = spawn_app().await;
    let (status, v) = get_json(&app, "/open311/v2/services.json").await;
    assert_eq!(status, 200);
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 18, "one service per category");
    let s = list
        .iter()
        .find(|s| s["service_code"] == "bribe_seeking")
        .unwrap();
    assert!(s["service_name"].is_string() && s["group"].is_string());
    assert_eq!(s["metadata"], true);
    assert_eq!(s["type"], "realtime");

    let (status, x) = get_xml(&app, "/open311/v2/services.xml").await;
    assert_eq!(status, 200);
    assert_eq!(x.name, "services");
    assert_eq!(x.children.len(), 18);
    let s = x
        .children
        .iter()
        .find(|s| s.child("service_code").text == "bribe_seeking")
        .unwrap();
    assert_eq!(s.name, "service");
    assert_eq!(s.child("metadata").text, "true");
    assert_eq!(s.child("type").text, "realtime");
    for field in ["service_name", "description", "keywords", "group"] {
        assert!(!s.child(field).text.is_empty(), "{field}");
    }
}

#[tokio::test]
async fn a_service_definition_lists_its_attributes_and_an_unknown_one_is_404() {
    let app = spawn_app().await;
    let (status, v) = get_json(&app, "/open311/v2/services/bribe_seeking.json").await;
    assert_eq!(status, 200);
    assert_eq!(v["service_code"], "bribe_seeking");
    let attrs = v["attributes"].as_array().unwrap();
    let codes: Vec<&str> = attrs.iter().map(|a| a["code"].as_str().unwrap()).collect();
    assert_eq!(
        codes,
        [
            "title",
            "subject_unit",
            "subject_person",
            "township",
            "occurred_on"
        ]
    );
    assert_eq!(attrs[0]["datatype"], "string");
    assert_eq!(attrs[0]["required"], true);
    assert_eq!(attrs[1]["datatype"], "singlevaluelist");
    assert_eq!(attrs[1]["required"], false);
    let units = attrs[1]["values"].as_array().unwrap();
    assert!(
        units
            .iter()
            .any(|u| u["key"] == "GAJ" && u["name"].is_string())
    );
    assert_eq!(attrs[4]["datatype"], "datetime");

    let (status, x) = get_xml(&app, "/open311/v2/services/bribe_seeking.xml").await;
    assert_eq!(status, 200);
    assert_eq!(x.name, "service_definition");
    let attrs = &x.child("attributes").children;
    assert_eq!(attrs.len(), 5);
    assert_eq!(attrs[0].name, "attribute");
    assert_eq!(attrs[0].child("order").text, "1");
    assert_eq!(attrs[0].child("variable").text, "true");
    let values = &attrs[1].child("values").children;
    assert!(
        values
            .iter()
            .any(|v| v.name == "value" && v.child("key").text == "GAJ")
    );

    let (status, v) = get_json(&app, "/open311/v2/services/no_such.json").await;
    assert_eq!(status, 404);
    assert!(error_descriptions(&v, 404)[0].contains("service_code"));
    let (status, x) = get_xml(&app, "/open311/v2/services/no_such.xml").await;
    assert_eq!(status, 404);
    xml_errors(&x, 404);
}

#[tokio::test]
async fn a_post_files_a_complaint_that_the_citizen_can_track() {
    let app = spawn_open311(false).await;
    let (status, _, body) = read(post(&app, "json", &form()).await).await;
    assert_eq!(status, 200, "the standard answers POST with 200: {body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 1);
    let no = list[0]["service_request_id"].as_str().unwrap();
    assert!(no.starts_with("XG"), "{no}");
    assert_eq!(list[0]["account_id"], "acct-42");
    assert!(list[0].get("token").is_none(), "realtime: no token");
    let code = query_code(list[0]["service_notice"].as_str().unwrap());
    assert_eq!(code.len(), 8);

    let resp = app.track(no, &code).await;
    assert_eq!(resp.status(), 200);
    let t: Value = resp.json().await.unwrap();
    assert_eq!(t["tracking_no"], no);
    assert_eq!(
        t["status"], "assigned",
        "routed to GAJ like a web complaint"
    );

    // Stored on the open311 channel, identity sealed like any complaint.
    let sup = app
        .token_for(duban::auth::policy::Role::Supervisor, None)
        .await;
    let case: Value = app.case(no, &sup).await;
    assert_eq!(case["channel"], "open311", "{case}");
    assert_eq!(case["title"], "户籍窗口民警态度恶劣");
    assert_eq!(case["township"], "潋江镇", "address_string is the location");

    // XML: the same answer shape.
    let (status, ct, body) = read(post(&app, "xml", &form()).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ct, "text/xml; charset=utf-8");
    let x = parse_xml(&body);
    assert_eq!(x.name, "service_requests");
    let r = x.child("request");
    assert!(r.child("service_request_id").text.starts_with("XG"));
    assert_eq!(r.child("account_id").text, "acct-42");
    assert_eq!(query_code(&r.child("service_notice").text).len(), 8);
    assert_eq!(app.complaint_count(), 2);
}

#[tokio::test]
async fn a_post_without_identity_files_an_anonymous_complaint() {
    let app = spawn_open311(false).await;
    let mut f = form();
    for k in ["first_name", "last_name", "phone", "email"] {
        f = without(f, k);
    }
    let (no, code) = file(&app, &f).await;
    assert_eq!(app.track(&no, &code).await.status(), 200);
}

#[tokio::test]
async fn a_post_without_or_with_a_wrong_api_key_is_403_in_both_formats() {
    let app = spawn_open311(false).await;
    for (f, what) in [
        (without(form(), "api_key"), "missing"),
        (with(form(), "api_key", "wrong"), "invalid"),
    ] {
        let (status, ct, body) = read(post(&app, "json", &f).await).await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(ct, "application/json; charset=utf-8");
        let d = error_descriptions(&serde_json::from_str(&body).unwrap(), 403);
        assert!(d[0].contains("api_key") && d[0].contains(what), "{d:?}");

        let (status, ct, body) = read(post(&app, "xml", &f).await).await;
        assert_eq!(status, 403);
        assert_eq!(ct, "text/xml; charset=utf-8");
        xml_errors(&parse_xml(&body), 403);
    }
    // The second configured key works too.
    file(&app, &with(form(), "api_key", "second-key")).await;
    assert_eq!(app.complaint_count(), 1);
    assert!(!captured_logs().contains(KEY), "api keys are never logged");
}

#[tokio::test]
async fn with_no_keys_configured_every_post_is_403() {
    let app = spawn_app().await;
    let (status, _, body) = read(post(&app, "json", &form()).await).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(app.complaint_count(), 0);
}

#[tokio::test]
async fn a_post_with_bad_fields_names_each_open311_field() {
    let app = spawn_open311(false).await;
    let mut f = without(form(), "attribute[title]");
    f = with(f, "description", "太短");
    f = with(f, "phone", "12");
    f = with(f, "email", "not-an-email");
    f = with(f, "attribute[occurred_on]", "yesterday");
    f = with(f, "attribute[colour]", "red");
    let (status, _, body) = read(post(&app, "json", &f).await).await;
    assert_eq!(status, 400, "{body}");
    let d = error_descriptions(&serde_json::from_str(&body).unwrap(), 400);
    // Form-level problems are reported first, before intake sees the body.
    assert!(
        d.iter().any(|e| e.starts_with("attribute[occurred_on]:")),
        "{d:?}"
    );
    assert!(
        d.iter().any(|e| e.starts_with("attribute[colour]:")),
        "{d:?}"
    );

    let f = with(
        without(f, "attribute[colour]"),
        "attribute[occurred_on]",
        "2025-12-01",
    );
    let (status, ct, body) = read(post(&app, "xml", &f).await).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(ct, "text/xml; charset=utf-8");
    let d = xml_errors(&parse_xml(&body), 400);
    for field in ["attribute[title]", "description", "phone", "email"] {
        assert!(
            d.iter().any(|e| e.starts_with(&format!("{field}:"))),
            "{field} in {d:?}"
        );
    }
    assert!(
        !d.iter()
            .any(|e| e.starts_with("content") || e.starts_with("complainant"))
    );

    let long = "很".repeat(4001);
    let (status, _, body) =
        read(post(&app, "json", &with(form(), "description", &long)).await).await;
    assert_eq!(status, 400);
    assert!(body.contains("description"), "{body}");

    let (status, _, body) = read(post(&app, "json", &without(form(), "service_code")).await).await;
    assert_eq!(status, 400);
    assert!(body.contains("service_code"), "{body}");
    assert_eq!(app.complaint_count(), 0);
}

#[tokio::test]
async fn a_post_for_an_unknown_service_is_404() {
    let app = spawn_open311(false).await;
    let (status, _, body) =
        read(post(&app, "json", &with(form(), "service_code", "potholes")).await).await;
    assert_eq!(status, 404, "{body}");
    let d = error_descriptions(&serde_json::from_str(&body).unwrap(), 404);
    assert!(d[0].contains("service_code"), "{d:?}");
    assert_eq!(app.complaint_count(), 0);
}

#[tokio::test]
async fn requests_are_filtered_by_code_status_dates_and_ids() {
    let app = spawn_open311(false).await;
    let (old, _) = file(&app, &form()).await;
    app.state.clock.advance(Duration::days(40));
    let (bribe, _) = file(&app, &with(form(), "service_code", "bribe_seeking")).await;
    let (closed, _) = file(&app, &form()).await;
    set_case(&app, &closed, "closed", Some("经核查，已责成整改。"));

    let ids = |v: &Value| -> Vec<String> {
        let mut ids: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["service_request_id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    let sorted = |mut v: Vec<&String>| {
        v.sort();
        v.into_iter().cloned().collect::<Vec<String>>()
    };

    let (status, all) = get_json(&app, "/open311/v2/requests.json").await;
    assert_eq!(status, 200);
    assert_eq!(ids(&all), sorted(vec![&old, &bribe, &closed]));

    let (_, v) = get_json(&app, "/open311/v2/requests.json?service_code=bribe_seeking").await;
    assert_eq!(ids(&v), vec![bribe.clone()]);
    let (_, v) = get_json(
        &app,
        "/open311/v2/requests.json?service_code=bribe_seeking,service_attitude",
    )
    .await;
    assert_eq!(ids(&v).len(), 3);

    let (_, v) = get_json(&app, "/open311/v2/requests.json?status=closed").await;
    assert_eq!(ids(&v), vec![closed.clone()]);
    assert_eq!(v[0]["status"], "closed");
    assert_eq!(v[0]["status_notes"], "经核查，已责成整改。");
    let (_, v) = get_json(&app, "/open311/v2/requests.json?status=open").await;
    assert_eq!(ids(&v), sorted(vec![&old, &bribe]));

    // Dates: the old case is 40 days before the other two.
    let now = app.state.clock.now();
    let w3 = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&chrono_tz::Asia::Shanghai)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
            .replace('+', "%2B")
    };
    let recent = format!(
        "/open311/v2/requests.json?start_date={}&end_date={}",
        w3(now - Duration::days(10)),
        w3(now + Duration::days(1))
    );
    let (status, v) = get_json(&app, &recent).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(ids(&v), sorted(vec![&bribe, &closed]));
    let earlier = format!(
        "/open311/v2/requests.json?end_date={}",
        w3(now - Duration::days(20))
    );
    let (_, v) = get_json(&app, &earlier).await;
    assert_eq!(ids(&v), vec![old.clone()]);
    // UTC with Z works too.
    let utc = format!(
        "/open311/v2/requests.json?start_date={}",
        (now - Duration::days(10)).format("%Y-%m-%dT%H:%M:%SZ")
    );
    let (_, v) = get_json(&app, &utc).await;
    assert_eq!(ids(&v), sorted(vec![&bribe, &closed]));

    // Beyond the default 90 days: out of the default window.
    app.state.clock.advance(Duration::days(60));
    let (_, v) = get_json(&app, "/open311/v2/requests.json").await;
    assert_eq!(
        ids(&v),
        sorted(vec![&bribe, &closed]),
        "the most recent 90 days"
    );

    // service_request_id overrides every other argument.
    let (_, v) = get_json(
        &app,
        &format!("/open311/v2/requests.json?service_request_id={old},{bribe}&status=closed"),
    )
    .await;
    assert_eq!(ids(&v), sorted(vec![&old, &bribe]));

    // Bad arguments: every one named.
    let (status, v) = get_json(
        &app,
        "/open311/v2/requests.json?status=pending&start_date=yesterday",
    )
    .await;
    assert_eq!(status, 400);
    let d = error_descriptions(&v, 400);
    assert!(d.iter().any(|e| e.starts_with("status:")), "{d:?}");
    assert!(d.iter().any(|e| e.starts_with("start_date:")), "{d:?}");
    let (status, v) = get_json(
        &app,
        "/open311/v2/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z",
    )
    .await;
    assert_eq!(status, 400);
    assert!(error_descriptions(&v, 400)[0].contains("90 days"));

    // XML: the same list.
    let (status, x) = get_xml(&app, "/open311/v2/requests.xml?status=closed").await;
    assert_eq!(status, 200);
    assert_eq!(x.name, "service_requests");
    assert_eq!(x.children.len(), 1);
    let r = &x.children[0];
    assert_eq!(r.name, "request");
    assert_eq!(r.child("service_request_id").text, closed);
    assert_eq!(r.child("status").text, "closed");
}

#[tokio::test]
async fn one_request_is_a_list_of_one_and_an_unknown_one_is_404() {
    let app = spawn_open311(false).await;
    let (no, _) = file(&app, &form()).await;
    let (status, v) = get_json(&app, &format!("/open311/v2/requests/{no}.json")).await;
    assert_eq!(status, 200);
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 1);
    let r = &list[0];
    assert_eq!(r["service_request_id"], no.as_str());
    assert_eq!(r["status"], "open");
    assert_eq!(r["service_code"], "service_attitude");
    assert!(r["service_name"].is_string());
    assert!(
        r["agency_responsible"].as_str().unwrap().contains("公安"),
        "{r}"
    );
    for field in [
        "requested_datetime",
        "updated_datetime",
        "expected_datetime",
    ] {
        let t = r[field].as_str().unwrap();
        assert!(t.ends_with("+08:00"), "{field}: {t}");
        chrono::DateTime::parse_from_rfc3339(t).unwrap();
    }
    for field in [
        "address",
        "address_id",
        "zipcode",
        "lat",
        "long",
        "media_url",
    ] {
        assert!(r[field].is_null(), "{field}");
    }

    let (status, x) = get_xml(&app, &format!("/open311/v2/requests/{no}.xml")).await;
    assert_eq!(status, 200);
    assert_eq!(x.child("request").child("service_request_id").text, no);

    let (status, v) = get_json(&app, "/open311/v2/requests/XG20990101000001.json").await;
    assert_eq!(status, 404);
    error_descriptions(&v, 404);
    let (status, x) = get_xml(&app, "/open311/v2/requests/XG20990101000001.xml").await;
    assert_eq!(status, 404);
    xml_errors(&x, 404);
}

#[tokio::test]
async fn reads_never_show_identity_or_the_query_code_and_text_only_when_configured() {
    for publish in [false, true] {
        let app = spawn_open311(publish).await;
        let (no, code) = file(&app, &form()).await;
        let description = form()
            .into_iter()
            .find(|(k, _)| *k == "description")
            .unwrap()
            .1;
        for path in [
            format!("/open311/v2/requests/{no}.json"),
            format!("/open311/v2/requests/{no}.xml"),
            "/open311/v2/requests.json".to_owned(),
            "/open311/v2/requests.xml".to_owned(),
        ] {
            let (status, _, body) = read(app.get(&path, None).await).await;
            assert_eq!(status, 200);
            for secret in ["王小明", "13912345678", "wxm@example.cn", "acct-42", &code] {
                assert!(!body.contains(secret), "{path} shows {secret}: {body}");
            }
            assert!(!body.contains("潋江镇"), "the location is not published");
            assert_eq!(body.contains(&description), publish, "{path}: {body}");
        }
        assert!(
            !captured_logs().contains(&code),
            "query codes are never logged"
        );
    }
}

#[tokio::test]
async fn tokens_are_never_issued_so_every_token_is_404() {
    let app = spawn_app().await;
    let (status, v) = get_json(&app, "/open311/v2/tokens/12345.json").await;
    assert_eq!(status, 404);
    assert!(error_descriptions(&v, 404)[0].contains("token"));
    let (status, x) = get_xml(&app, "/open311/v2/tokens/12345.xml").await;
    assert_eq!(status, 404);
    xml_errors(&x, 404);
}

#[tokio::test]
async fn a_path_without_a_known_format_is_404_in_the_standard_shape() {
    let app = spawn_app().await;
    for path in [
        "/open311/v2/services",
        "/open311/v2/services.html",
        "/open311/v2/discovery",
        "/open311/v2/requests/XG1.csv",
    ] {
        let (status, x) = get_xml(&app, path).await;
        assert_eq!(status, 404, "{path}");
        xml_errors(&x, 404);
    }
}

#[tokio::test]
async fn api_keys_come_from_duban_open311_api_keys() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_db(dir.path());
    let migrate = |keys: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_duban"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", db.url())
            .env("DUBAN_CONFIG_DIR", config_dir())
            .env("DUBAN_PATHS__DATA_DIR", dir.path())
            .env("DUBAN_LOG", "warn")
            .env("DUBAN_OPEN311_API_KEYS", keys)
            .current_dir(dir.path())
            .arg("migrate")
            .output()
            .unwrap()
    };
    let out = migrate("key-one, key-two");
    assert!(
        out.status.success(),
        "the variable is not a figment setting: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A key with a space inside is refused at start-up: the variable is read.
    let out = migrate("key one");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("open311.api_keys"), "{stderr}");
    assert!(!stderr.contains("key one"), "keys are never printed");
}

// ------------------------------------------------------ a small XML reader

/// An element with its children and its text (entities decoded).
#[derive(Debug)]
pub struct Element {
    pub name: String,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    /// The first child called `name` (panics when there is none).
    pub fn child(&self, name: &str) -> &Element {
        self.children
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("<{}> has no <{name}>", self.name))
    }
}

/// Parses the documents the service writes: a declaration, elements
/// without attributes, text with the five entities. Panics when the
/// document is not well-formed.
pub fn parse_xml(doc: &str) -> Element {
    let rest = doc
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        .expect("XML declaration with UTF-8 encoding");
    let mut pos = 0;
    let chars: Vec<char> = rest.trim().chars().collect();
    let root = element(&chars, &mut pos);
    assert_eq!(pos, chars.len(), "one root element and nothing after it");
    root
}

fn element(c: &[char], pos: &mut usize) -> Element {
    assert_eq!(c[*pos], '<', "element expected at {pos}");
    *pos += 1;
    let mut name = String::new();
    while c[*pos] != '>' && c[*pos] != '/' {
        assert!(
            c[*pos].is_alphanumeric() || c[*pos] == '_',
            "bad tag character {:?}",
            c[*pos]
        );
        name.push(c[*pos]);
        *pos += 1;
    }
    if c[*pos] == '/' {
        assert_eq!(c[*pos + 1], '>');
        *pos += 2;
        return Element {
            name,
            children: vec![],
            text: String::new(),
        };
    }
    *pos += 1;
    let mut children = Vec::new();
    let mut raw = String::new();
    loop {
        if c[*pos] == '<' {
            if c[*pos + 1] == '/' {
                *pos += 2;
                let mut close = String::new();
                while c[*pos] != '>' {
                    close.push(c[*pos]);
                    *pos += 1;
                }
                *pos += 1;
                assert_eq!(close, name, "mismatched closing tag");
                break;
            }
            children.push(element(c, pos));
        } else {
            assert!(c[*pos] != '>', "unescaped > in text");
            raw.push(c[*pos]);
            *pos += 1;
        }
    }
    assert!(
        children.is_empty() || raw.trim().is_empty(),
        "mixed content in <{name}>"
    );
    Element {
        name,
        children,
        text: decode(&raw),
    }
}

fn decode(raw: &str) -> String {
    let mut out = String::new();
    let mut rest = raw;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let end = rest[i..].find(';').expect("entity ends with ;") + i;
        out.push(match &rest[i + 1..end] {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            other => panic!("unknown entity {other}"),
        });
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}
