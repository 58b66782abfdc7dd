//! Filing complaints from the public web form.

use std::collections::HashSet;

use diesel::prelude::*;
use duban::db::DbConn;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn a_web_complaint_gets_a_tracking_number_and_a_query_code() {
    let app = spawn_app().await;
    let resp = app.post_complaint(&complaint_body()).await;
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    let no = body["tracking_no"].as_str().unwrap();
    let local_day = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y%m%d")
        .to_string();
    assert_eq!(no, format!("XG{local_day}000001"));
    let code = body["query_code"].as_str().unwrap();
    assert_eq!(code.len(), 8);
    assert!(
        code.chars()
            .all(|c| "23456789ABCDEFGHJKMNPQRSTUVWXYZ".contains(c)),
        "{code}"
    );
    assert_eq!(body["status"], "received");
    assert!(chrono::DateTime::parse_from_rfc3339(body["received_at"].as_str().unwrap()).is_ok());

    let second: Value = app
        .post_complaint(&complaint_body())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(second["tracking_no"], format!("XG{local_day}000002"));
}

#[tokio::test]
async fn concurrent_submissions_get_distinct_tracking_numbers() {
    let app = spawn_app().await;
    let body = complaint_body();
    let futures = (0..24).map(|_| app.post_complaint(&body));
    let responses = futures_util::future::join_all(futures).await;
    let mut numbers = HashSet::new();
    for r in responses {
        assert_eq!(r.status(), 201);
        let b: Value = r.json().await.unwrap();
        assert!(numbers.insert(b["tracking_no"].as_str().unwrap().to_owned()));
    }
    assert_eq!(numbers.len(), 24);
}

#[tokio::test]
async fn filings_that_arrive_together_each_get_their_own_answer() {
    let app = spawn_app().await;
    let good = complaint_body();
    let mut bad = complaint_body();
    bad["category"] = json!("no_such_category");
    let mut keyed = complaint_body();
    keyed["title"] = json!("带幂等键的投诉");
    let futures = (0..30).map(|i| {
        let mut req = app.client.post(app.url("/api/v1/complaints"));
        let body = match i % 3 {
            0 => &good,
            1 => &bad,
            _ => {
                req = req.header("Idempotency-Key", "together");
                &keyed
            }
        };
        req.json(body).send()
    });
    let mut created = HashSet::new();
    let mut keyed_numbers = HashSet::new();
    for (i, r) in futures_util::future::join_all(futures)
        .await
        .into_iter()
        .enumerate()
    {
        let r = r.unwrap();
        match i % 3 {
            1 => assert_eq!(r.status(), 422),
            n => {
                assert_eq!(r.status(), 201);
                let no = r.json::<Value>().await.unwrap()["tracking_no"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                if n == 2 {
                    keyed_numbers.insert(no.clone());
                }
                created.insert(no);
            }
        }
    }
    assert_eq!(keyed_numbers.len(), 1, "one complaint for one key");
    assert_eq!(created.len(), 11);
    assert_eq!(
        app.complaint_count(),
        11,
        "the refused ones left nothing behind"
    );
}

#[tokio::test]
async fn validation_names_every_bad_field_at_once() {
    let app = spawn_app().await;
    let body = json!({
        "title": "题".repeat(201),
        "content": "太短",
        "category": "no_such_category",
        "subject_unit": "NOPE",
        "subject_person": "控制\u{0007}字符",
        "occurred_on": "2026-02-30",
        "anonymous": "yes",
        "complainant": {
            "name": "",
            "phone": "12345",
            "email": "not-an-email",
            "id_number": "110105194912310021"
        },
        "unexpected": true
    });
    let problem = assert_problem(app.post_complaint(&body).await, 422).await;
    let fields: HashSet<String> = error_fields(&problem).into_iter().collect();
    for f in [
        "title",
        "content",
        "category",
        "subject_unit",
        "subject_person",
        "occurred_on",
        "anonymous",
        "complainant.name",
        "complainant.phone",
        "complainant.email",
        "complainant.id_number",
        "unexpected",
    ] {
        assert!(fields.contains(f), "{f} not named in {problem}");
    }
    // Nothing was stored.
    assert_eq!(app.complaint_count(), 0);
}

#[tokio::test]
async fn name_and_phone_are_required_unless_anonymous() {
    let app = spawn_app().await;
    let mut body = complaint_body();
    body.as_object_mut().unwrap().remove("complainant");
    let problem = assert_problem(app.post_complaint(&body).await, 422).await;
    assert_eq!(error_fields(&problem), vec!["complainant"]);

    body["anonymous"] = json!(true);
    assert_eq!(app.post_complaint(&body).await.status(), 201);

    // Anonymous means nothing about the complainant is taken.
    let mut with_identity = complaint_body();
    with_identity["anonymous"] = json!(true);
    let problem = assert_problem(app.post_complaint(&with_identity).await, 422).await;
    assert_eq!(error_fields(&problem), vec!["complainant"]);
}

#[tokio::test]
async fn landline_numbers_and_loose_mobile_formats_are_accepted() {
    let app = spawn_app().await;
    for phone in ["0797-5321234", "+86 139 1234 5678", "139-1234-5678"] {
        let mut body = complaint_body();
        body["complainant"]["phone"] = json!(phone);
        assert_eq!(app.post_complaint(&body).await.status(), 201, "{phone}");
    }
}

#[tokio::test]
async fn content_may_have_line_breaks_but_not_other_control_characters() {
    let app = spawn_app().await;
    let mut body = complaint_body();
    body["content"] = json!("第一段：情况说明。\n第二段：\t具体经过。");
    assert_eq!(app.post_complaint(&body).await.status(), 201);
    body["content"] = json!("第一段：情况说明。\u{0000}第二段");
    let problem = assert_problem(app.post_complaint(&body).await, 422).await;
    assert_eq!(error_fields(&problem), vec!["content"]);
}

#[tokio::test]
async fn an_occurrence_date_in_the_future_is_refused() {
    let app = spawn_app().await;
    let mut body = complaint_body();
    body["occurred_on"] = json!("2099-01-01");
    let problem = assert_problem(app.post_complaint(&body).await, 422).await;
    assert_eq!(error_fields(&problem), vec!["occurred_on"]);
}

#[tokio::test]
async fn identity_is_encrypted_at_rest_with_a_phone_hash() {
    let app = spawn_app().await;
    let receipt = app.file_complaint().await;
    let mut conn = app.conn();
    let conn = &mut *conn as &mut DbConn;
    use duban::db::schema::complainants::dsl as c;
    type Sealed = Option<Vec<u8>>;
    let (name, phone, id_no, hash): (Sealed, Sealed, Sealed, Option<String>) = c::complainants
        .select((c::name_enc, c::phone_enc, c::id_number_enc, c::phone_hash))
        .first(conn)
        .unwrap();
    for (sealed, plain) in [
        (name, "王小明"),
        (phone, "13912345678"),
        (id_no, "11010519491231002X"),
    ] {
        let sealed = sealed.expect("stored");
        assert!(
            !sealed.windows(plain.len()).any(|w| w == plain.as_bytes()),
            "{plain} in clear"
        );
    }
    let hash = hash.unwrap();
    assert_eq!(hash.len(), 64);
    assert!(!hash.contains("13912345678"));
    // The same phone written differently hashes the same: repeat complainants are found.
    let mut body = complaint_body();
    body["complainant"]["phone"] = json!("+86 139-1234-5678");
    assert_eq!(app.post_complaint(&body).await.status(), 201);
    let hashes: Vec<Option<String>> = c::complainants.select(c::phone_hash).load(conn).unwrap();
    assert_eq!(hashes.len(), 2);
    assert_eq!(hashes[0], hashes[1]);
    // The query code is stored only as a keyed hash.
    use duban::db::schema::complaints::dsl as k;
    let stored: String = k::complaints
        .select(k::query_code_hash)
        .first(conn)
        .unwrap();
    assert_ne!(stored, receipt["query_code"].as_str().unwrap());
    assert_eq!(stored.len(), 64);
}

#[tokio::test]
async fn a_retry_with_the_same_idempotency_key_returns_the_first_answer() {
    let app = spawn_app().await;
    let send = |body: Value, key: &'static str| {
        app.client
            .post(app.url("/api/v1/complaints"))
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let first = send(complaint_body(), "retry-1").await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = send(complaint_body(), "retry-1").await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap(), first);

    let mut other = complaint_body();
    other["title"] = json!("另一件事");
    let problem = assert_problem(send(other, "retry-1").await.unwrap(), 422).await;
    assert_eq!(error_fields(&problem), vec!["Idempotency-Key"]);

    assert_eq!(app.complaint_count(), 1);
}

#[tokio::test]
async fn concurrent_retries_with_one_key_create_one_complaint() {
    let app = spawn_app().await;
    let futures = (0..12).map(|_| {
        app.client
            .post(app.url("/api/v1/complaints"))
            .header("Idempotency-Key", "same-key-everywhere")
            .json(&complaint_body())
            .send()
    });
    let mut numbers = HashSet::new();
    for r in futures_util::future::join_all(futures).await {
        let r = r.unwrap();
        assert_eq!(r.status(), 201);
        numbers.insert(
            r.json::<Value>().await.unwrap()["tracking_no"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(numbers.len(), 1);
    assert_eq!(app.complaint_count(), 1);
}

#[tokio::test]
async fn a_malformed_idempotency_key_is_refused() {
    let app = spawn_app().await;
    let resp = app
        .client
        .post(app.url("/api/v1/complaints"))
        .header("Idempotency-Key", "x".repeat(300))
        .json(&complaint_body())
        .send()
        .await
        .unwrap();
    let problem = assert_problem(resp, 422).await;
    assert_eq!(error_fields(&problem), vec!["Idempotency-Key"]);
}

#[tokio::test]
async fn reference_lists_give_what_the_form_needs() {
    let app = spawn_app().await;
    let units: Value = app.get("/api/v1/units", None).await.json().await.unwrap();
    let items = units["items"].as_array().unwrap();
    assert!(units["total"].as_i64().unwrap() >= 35);
    let hospital = items.iter().find(|u| u["code"] == "RMYY").unwrap();
    assert_eq!(hospital["parent_code"], "WJW");
    for key in [
        "code",
        "name",
        "kind",
        "parent_code",
        "leader_name",
        "leader_title",
    ] {
        assert!(hospital.get(key).is_some(), "{key}");
    }
    assert!(
        hospital.get("email").is_none(),
        "contact e-mails are not public"
    );

    let cats: Value = app
        .get("/api/v1/categories", None)
        .await
        .json()
        .await
        .unwrap();
    let bribe = cats["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "bribe_seeking")
        .unwrap();
    assert_eq!(bribe["name"], "吃拿卡要");
    // statutory 20 working days × 0.5
    assert_eq!(bribe["handle_workdays"], 10);
    assert_eq!(bribe["ack_workdays"], 1);
    assert!(
        cats["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "耍权术谋私利")
    );
}

#[tokio::test]
async fn reference_data_loads_idempotently_and_follows_the_files() {
    let app = spawn_app().await;
    let count = |app: &TestApp| {
        let mut conn = app.conn();
        duban::db::schema::units::table
            .count()
            .get_result::<i64>(&mut *conn as &mut DbConn)
            .unwrap()
    };
    let before = count(&app);
    // A second start on the same database, with an edited units file.
    let config = copy_config();
    let units = std::fs::read_to_string(config.path().join("units.toml")).unwrap();
    std::fs::write(
        config.path().join("units.toml"),
        units.replace("name = \"县人民医院\"", "name = \"县人民医院（总院）\""),
    )
    .unwrap();
    let cfg = config.path().to_path_buf();
    let again = spawn_with(Spawn {
        customise: Box::new(move |s| s.config_dir = cfg),
        db: Some(app.db.clone()),
        dir: Some(app.dir.clone()),
    })
    .await;
    assert_eq!(count(&again), before, "no unit duplicated");
    let units: Value = again.get("/api/v1/units", None).await.json().await.unwrap();
    let hospital = units["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["code"] == "RMYY")
        .unwrap()
        .clone();
    assert_eq!(hospital["name"], "县人民医院（总院）");
}
