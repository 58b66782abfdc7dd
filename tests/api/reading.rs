//! Staff reading cases: identity only for supervisors and admins (and each
//! such read audited), units confined to their own cases.

use duban::auth::policy::Role;
use serde_json::{Value, json};

use crate::helpers::*;

const PLANTED: [&str; 5] = [
    "王小明",
    "13912345678",
    "wxm@example.cn",
    "11010519491231002X",
    "潋江镇解放路18号",
];

#[tokio::test]
async fn supervisors_see_identity_and_the_read_is_audited() {
    let app = spawn_app().await;
    let no = app.file_complaint().await["tracking_no"]
        .as_str()
        .unwrap()
        .to_owned();
    let sup = app.token_for(Role::Supervisor, None).await;
    // The case view only says that an identity is on file.
    let case: Value = app.case(&no, &sup).await;
    assert_eq!(case["has_identity"], true);
    assert!(case.get("complainant").is_none(), "{case}");
    let id = app.identity(&no, &sup).await;
    assert_eq!(id["name"], "王小明");
    assert_eq!(id["phone"], "13912345678");
    assert_eq!(id["id_number"], "11010519491231002X");
    let case: Value = app.case(&no, &sup).await;
    assert_eq!(case["content"], complaint_body()["content"]);
    assert_eq!(case["category"]["name"], "吃拿卡要");
    assert_eq!(case["subject_unit"]["code"], "BDC");
    let actions: Vec<&str> = case["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    // The subject person works at the subject unit: routing waits for a supervisor.
    assert_eq!(actions, vec!["received", "routing_held", "identity_viewed"]);

    let admin = app.token_for(Role::Admin, None).await;
    assert_eq!(app.identity(&no, &admin).await["email"], "wxm@example.cn");
}

#[tokio::test]
async fn auditors_and_operators_never_see_identity() {
    let app = spawn_app().await;
    let no = app.file_complaint().await["tracking_no"]
        .as_str()
        .unwrap()
        .to_owned();
    for role in [Role::Auditor, Role::Operator] {
        let t = app.token_for(role, None).await;
        let resp = app.get(&format!("/api/v1/complaints/{no}"), Some(&t)).await;
        assert_eq!(resp.status(), 200);
        let text = resp.text().await.unwrap();
        for v in PLANTED {
            assert!(!text.contains(v), "{role:?} saw {v}");
        }
    }
}

#[tokio::test]
async fn a_unit_sees_its_own_cases_and_nothing_of_the_complainant() {
    let app = spawn_app().await;
    let mine = app.file_complaint().await["tracking_no"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = app.file_complaint().await["tracking_no"]
        .as_str()
        .unwrap()
        .to_owned();
    let unassigned = app.file_complaint().await["tracking_no"]
        .as_str()
        .unwrap()
        .to_owned();
    app.set_responsible(&mine, "BDC");
    app.set_responsible(&other, "GAJ");
    // A supervisor's look at identity must not show up for the unit.
    let sup = app.token_for(Role::Supervisor, None).await;
    app.get(&format!("/api/v1/complaints/{mine}"), Some(&sup))
        .await;

    let unit = app.token_for(Role::Unit, Some("BDC")).await;
    let resp = app
        .get(&format!("/api/v1/complaints/{mine}"), Some(&unit))
        .await;
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    for v in PLANTED {
        assert!(!text.contains(v), "unit saw {v}");
    }
    let case: Value = serde_json::from_str(&text).unwrap();
    assert!(case.get("complainant").is_none());
    assert!(case.get("anonymous").is_none());
    assert!(!text.contains("identity_viewed"));

    for hidden in [&other, &unassigned, &"XG20990101000001".to_owned()] {
        assert_problem(
            app.get(&format!("/api/v1/complaints/{hidden}"), Some(&unit))
                .await,
            404,
        )
        .await;
    }
    let list: Value = app
        .get("/api/v1/complaints?unit=GAJ", Some(&unit))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["tracking_no"], mine.as_str());
    assert!(!list.to_string().contains("王小明"));
}

#[tokio::test]
async fn the_list_filters_and_pages() {
    let app = spawn_app().await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let mut numbers = Vec::new();
    for i in 0..5 {
        let mut body = complaint_body();
        body["title"] = json!(format!(
            "第{i}件 {}",
            if i % 2 == 0 {
                "推诿扯皮"
            } else {
                "态度恶劣"
            }
        ));
        body["category"] = json!(if i % 2 == 0 {
            "buck_passing"
        } else {
            "service_attitude"
        });
        let r: Value = app.post_complaint(&body).await.json().await.unwrap();
        numbers.push(r["tracking_no"].as_str().unwrap().to_owned());
    }
    app.set_responsible(&numbers[0], "JTJ");

    let page: Value = app
        .get("/api/v1/complaints?per_page=2&page=2", Some(&sup))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 5);
    assert_eq!(page["page"], 2);
    assert_eq!(page["per_page"], 2);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    // Newest first.
    assert_eq!(page["items"][0]["tracking_no"], numbers[2].as_str());

    let by_cat: Value = app
        .get("/api/v1/complaints?category=buck_passing", Some(&sup))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_cat["total"], 3);
    let by_q: Value = app
        .get("/api/v1/complaints?q=态度恶劣", Some(&sup))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_q["total"], 2);
    let literal: Value = app
        .get("/api/v1/complaints?q=%25", Some(&sup))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(literal["total"], 0, "a % is matched literally");
    let by_status: Value = app
        .get("/api/v1/complaints?status=assigned", Some(&sup))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_status["total"], 1);
    let by_unit: Value = app
        .get("/api/v1/complaints?unit=JTJ", Some(&sup))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_unit["total"], 1);
    let by_channel: Value = app
        .get("/api/v1/complaints?channel=hotline", Some(&sup))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_channel["total"], 0);
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive();
    let in_range: Value = app
        .get(
            &format!("/api/v1/complaints?from={today}&to={today}"),
            Some(&sup),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(in_range["total"], 5);
    let before: Value = app
        .get("/api/v1/complaints?to=2020-01-01", Some(&sup))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(before["total"], 0);
}

#[tokio::test]
async fn roles_outside_the_list_get_403_and_strangers_401() {
    let app = spawn_app().await;
    assert_problem(app.get("/api/v1/complaints", None).await, 401).await;
    for role in [Role::Operator, Role::Admin] {
        let t = app.token_for(role, None).await;
        assert_problem(app.get("/api/v1/complaints", Some(&t)).await, 403).await;
    }
    let auditor = app.token_for(Role::Auditor, None).await;
    assert_eq!(
        app.get("/api/v1/complaints", Some(&auditor)).await.status(),
        200
    );
}

async fn list(app: &TestApp, query: &str, token: &str) -> Value {
    ok_json(
        app.get(&format!("/api/v1/complaints?{query}"), Some(token))
            .await,
        "list",
    )
    .await
}

fn numbers_of(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["tracking_no"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn pages_after_a_cursor_skip_and_repeat_nothing_while_cases_are_filed() {
    let app = spawn_app().await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let mut filed = Vec::new();
    for _ in 0..7 {
        filed.push(
            app.file_complaint().await["tracking_no"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let first = list(&app, "per_page=3", &sup).await;
    assert_eq!(
        (first["total"].as_i64(), first["total_exact"].as_bool()),
        (Some(7), Some(true))
    );
    assert_eq!(first["page"], 1);
    let mut seen = numbers_of(&first);
    let mut cursor = first["next_cursor"].as_str().unwrap().to_owned();
    loop {
        // New cases arrive between the pages: they are newer than every
        // case already listed, so they neither shift the pages nor repeat.
        app.file_complaint().await;
        let page = list(&app, &format!("per_page=3&after={cursor}"), &sup).await;
        assert!(page["page"].is_null());
        seen.extend(numbers_of(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    let newest_first: Vec<String> = filed.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first);

    // By number, a page past 10,000 cases is refused, and so is a cursor
    // this list did not give or one combined with a page.
    let bad = assert_problem(
        app.get("/api/v1/complaints?per_page=200&page=51", Some(&sup))
            .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&bad), vec!["page"]);
    assert_eq!(
        list(&app, "per_page=200&page=50", &sup).await["items"],
        json!([])
    );
    for (query, field) in [
        ("after=12345", "after"),
        ("after=abc.def", "after"),
        ("after=1764720000000000.-4", "after"),
        ("page=2&after=1764720000000000.4", "after"),
    ] {
        let bad = assert_problem(
            app.get(&format!("/api/v1/complaints?{query}"), Some(&sup))
                .await,
            422,
        )
        .await;
        assert_eq!(error_fields(&bad), vec![field], "{query}");
    }
}

#[tokio::test]
async fn the_total_is_exact_up_to_ten_thousand_and_says_so_beyond() {
    let app = spawn_app().await;
    let sup = app.token_for(Role::Supervisor, None).await;
    // 10,001 cases written straight into the database (filing them one by
    // one would take minutes); one is a unit's.
    insert_cases(&app, "BT", 10_000);
    let at_cap = list(&app, "per_page=1", &sup).await;
    assert_eq!(
        (at_cap["total"].as_i64(), at_cap["total_exact"].as_bool()),
        (Some(10_000), Some(true))
    );
    app.file_complaint().await;
    let beyond = list(&app, "per_page=1", &sup).await;
    assert_eq!(
        (beyond["total"].as_i64(), beyond["total_exact"].as_bool()),
        (Some(10_000), Some(false)),
        "at least 10,000"
    );
    // A filter that leaves few is counted exactly.
    let few = list(&app, "per_page=1&status=assigned", &sup).await;
    assert_eq!(few["total_exact"], true);
}

#[tokio::test]
async fn the_overdue_list_pages_newest_first_after_a_cursor() {
    let app = spawn_app().await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let mut routed = Vec::new();
    for _ in 0..3 {
        routed.push(
            crate::workflow::file(&app, &crate::workflow::routed_body())
                .await
                .0,
        );
    }
    // Not routed, so never overdue.
    app.file_complaint().await;
    assert_eq!(list(&app, "overdue=true", &sup).await["total"], 0);
    crate::escalation::at(&app, chrono::Utc::now() + chrono::Duration::days(40));
    let sup = app.token_for(Role::Supervisor, None).await;
    let first = list(&app, "overdue=true&per_page=2", &sup).await;
    assert_eq!(
        (first["total"].as_i64(), first["total_exact"].as_bool()),
        (Some(3), Some(true))
    );
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let rest = list(
        &app,
        &format!("overdue=true&per_page=2&after={cursor}"),
        &sup,
    )
    .await;
    let mut seen = numbers_of(&first);
    seen.extend(numbers_of(&rest));
    routed.reverse();
    assert_eq!(seen, routed);
    assert!(rest["next_cursor"].is_null());
}
