//! The authorization matrix: every `/api/v1` route, called as every role
//! (and anonymously) on real records, answers what the permission table
//! (`src/auth/policy.rs`) says. A unit never receives a
//! complainant's identity from any route.

use std::collections::BTreeSet;

use duban::auth::policy::Role;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::openapi::registered_routes;
use crate::workflow::{file, routed_body};

/// Who calls, in the order of the letters of a row's `expect`.
const CALLERS: [&str; 7] = [
    "anonymous",
    "admin",
    "supervisor",
    "operator",
    "unit GAJ",
    "unit JTJ",
    "auditor",
];

/// The identity planted by `complaint_body()`: none of it may reach a unit.
const IDENTITY: [&str; 5] = [
    "王小明",
    "13912345678",
    "wxm@example.cn",
    "11010519491231002X",
    "潋江镇解放路18号",
];

/// What a cell expects:
/// `O` 2xx (a read that must work); `A` permitted: 2xx, or 409 (the state
/// refuses) or 422 (the probe body is incomplete) — never 401/403/404;
/// `U` 401; `F` 403; `N` 404 (another unit's record does not exist for it).
fn matches(expect: char, status: u16) -> bool {
    match expect {
        'O' => (200..300).contains(&status),
        'A' => (200..300).contains(&status) || status == 409 || status == 422,
        'U' => status == 401,
        'F' => status == 403,
        'N' => status == 404,
        _ => panic!("unknown expectation {expect}"),
    }
}

struct Row {
    method: &'static str,
    /// The route as registered, with its `{placeholders}`.
    template: &'static str,
    /// One letter per caller of [`CALLERS`].
    expect: &'static str,
    body: Option<Value>,
}

fn row(method: &'static str, template: &'static str, expect: &'static str) -> Row {
    let body = (method != "GET").then(|| json!({}));
    Row {
        method,
        template,
        expect,
        body,
    }
}

/// The expected table, one row per route. Columns: anonymous, admin,
/// supervisor, operator, unit GAJ (the case's unit), unit JTJ (another
/// unit), auditor.
fn table() -> Vec<Row> {
    let mut complaint = row("POST", "/api/v1/complaints", "AAAAAAA");
    complaint.body = Some(complaint_body());
    // The unit's actions validate the body before looking the case up, so
    // they carry valid bodies: another unit's 404 is then about the case.
    let with = |mut r: Row, body: Value| {
        r.body = Some(body);
        r
    };
    vec![
        // Public.
        row("POST", "/api/v1/auth/token", "AAAAAAA"),
        row("GET", "/api/v1/units", "OOOOOOO"),
        row("GET", "/api/v1/categories", "OOOOOOO"),
        complaint,
        row("POST", "/api/v1/track", "AAAAAAA"),
        row("POST", "/api/v1/track/feedback", "AAAAAAA"),
        // Reading cases.
        row("GET", "/api/v1/complaints", "UFOFOOO"),
        row("GET", "/api/v1/complaints.csv", "UFOFFFO"),
        row("GET", "/api/v1/complaints/{tracking_no}", "UOOOONO"),
        // The identity: supervisors and admins, with a reason.
        row(
            "GET",
            "/api/v1/complaints/{tracking_no}/identity",
            "UOOFFFF",
        ),
        // The office's queue.
        row("GET", "/api/v1/queue", "UFOFFFF"),
        // The supervisor's decisions.
        row("POST", "/api/v1/complaints/{tracking_no}/screen", "UFAFFFF"),
        row("POST", "/api/v1/complaints/{tracking_no}/assign", "UFAFFFF"),
        row(
            "POST",
            "/api/v1/complaints/{tracking_no}/return/decision",
            "UFAFFFF",
        ),
        row(
            "POST",
            "/api/v1/complaints/{tracking_no}/extensions/{id}/decision",
            "UFAFFFF",
        ),
        row("POST", "/api/v1/complaints/{tracking_no}/review", "UFAFFFF"),
        row("POST", "/api/v1/complaints/{tracking_no}/reopen", "UFAFFFF"),
        // The unit's own work; another unit's case does not exist for it.
        row(
            "POST",
            "/api/v1/complaints/{tracking_no}/acknowledge",
            "UFFFANF",
        ),
        with(
            row("POST", "/api/v1/complaints/{tracking_no}/return", "UFFFANF"),
            json!({"reason": "反映的问题不属于本单位职责范围。"}),
        ),
        with(
            row(
                "POST",
                "/api/v1/complaints/{tracking_no}/progress",
                "UFFFANF",
            ),
            json!({"content": "已约谈当事民警。"}),
        ),
        row(
            "POST",
            "/api/v1/complaints/{tracking_no}/progress/{id}/publication",
            "UFAFFFF",
        ),
        with(
            row(
                "POST",
                "/api/v1/complaints/{tracking_no}/extensions",
                "UFFFANF",
            ),
            json!({"workdays": 2, "reason": "需要调取外地监控录像。"}),
        ),
        with(
            row("POST", "/api/v1/complaints/{tracking_no}/report", "UFFFANF"),
            json!({
                "findings": "经调查，反映的问题基本属实。",
                "measures": "批评教育，开展培训。",
                "responsible_person": "户籍室负责人",
                "rectification_deadline": "2099-12-31",
                "target": "窗口服务规范",
                "public_reply": "经核查，您反映的问题基本属实，已责成整改。"
            }),
        ),
        // Operators and supervisors call the citizen back.
        row(
            "POST",
            "/api/v1/complaints/{tracking_no}/callback",
            "UFAAFFF",
        ),
        // Letters: every staff member; a unit its own.
        row("GET", "/api/v1/letters", "UOOOOOO"),
        row("GET", "/api/v1/letters/{id}", "UOOOONO"),
        // Notices: the office reads all, a unit its own and marks them read.
        row("GET", "/api/v1/notices", "UOOFOOO"),
        row("GET", "/api/v1/notices/{id}", "UOOFONO"),
        row("POST", "/api/v1/notices/{id}/read", "UFFFANF"),
        // The hotline.
        row("POST", "/api/v1/calls", "UFFAFFF"),
        row("GET", "/api/v1/calls", "UFOOFFF"),
        row("GET", "/api/v1/callers/{phone}", "UFOOFFF"),
        row("GET", "/api/v1/callbacks", "UFOOFFF"),
        // The number for a callback (the case is not closed: 409).
        with(
            row(
                "POST",
                "/api/v1/complaints/{tracking_no}/callback/contact",
                "UFAAFFF",
            ),
            json!({"reason": "回访群众满意度"}),
        ),
        // Audit, escalation.
        row("GET", "/api/v1/audit/verify", "UOFFFFO"),
        row("POST", "/api/v1/audit/verify", "UAFFFFA"),
        row("GET", "/api/v1/audit/checkpoints", "UOFFFFO"),
        row("POST", "/api/v1/audit/checkpoints", "UOFFFFO"),
        row("GET", "/api/v1/audit/events", "UOFFFFO"),
        row("POST", "/api/v1/escalations/run", "UAAFFFF"),
        row("GET", "/api/v1/escalations", "UFOFFFO"),
        // Accountability.
        row("GET", "/api/v1/accountability", "UFOFOOO"),
        row("POST", "/api/v1/accountability", "UFAFFFF"),
        row("GET", "/api/v1/accountability/situations", "UOOOOOO"),
        row("GET", "/api/v1/accountability/{id}", "UFOFONO"),
        with(
            row("POST", "/api/v1/accountability/{id}/defence", "UFFFANF"),
            json!({"content": "因涉及外地调查，未能按期办结。"}),
        ),
        row("POST", "/api/v1/accountability/{id}/decision", "UFAFFFF"),
        // Reports.
        row("GET", "/api/v1/ranking", "UOOOOOO"),
        row("GET", "/api/v1/stats", "UFOFFFO"),
        // Administration.
        row("POST", "/api/v1/users", "UAFFFFF"),
        row("PATCH", "/api/v1/users/{id}", "UAFFFFF"),
    ]
}

/// The real records the path values name.
struct Records {
    tracking_no: String,
    extension_id: i64,
    letter_id: i64,
    notice_id: i64,
    accountability_id: i64,
    user_id: i64,
}

fn concrete(template: &str, r: &Records) -> String {
    let id = if template.contains("/letters/") {
        r.letter_id
    } else if template.contains("/notices/") {
        r.notice_id
    } else if template.contains("/accountability/") {
        r.accountability_id
    } else if template.contains("/users/") {
        r.user_id
    } else {
        r.extension_id
    };
    let path = template
        .replace("{tracking_no}", &r.tracking_no)
        .replace("{phone}", "13912345678")
        .replace("{id}", &id.to_string());
    if template.ends_with("/identity") {
        format!("{path}?reason=核实反映情况")
    } else {
        path
    }
}

/// A case routed to GAJ (with the helpers' identity), an extension request
/// on it, its transfer letter, an accountability case against GAJ and a user.
async fn records(app: &TestApp, sup: &str, gaj: &str) -> Records {
    let (no, _) = file(app, &routed_body()).await;
    let case = ok_json(
        app.get(&format!("/api/v1/complaints/{no}"), Some(sup))
            .await,
        "case",
    )
    .await;
    assert_eq!(case["responsible_unit"]["code"], "GAJ", "{case}");
    let letter_id = case["letters"][0]["id"].as_i64().expect("a letter");
    let path = |a: &str| format!("/api/v1/complaints/{no}/{a}");
    ok_json(
        app.post_json(&path("acknowledge"), &json!({}), Some(gaj))
            .await,
        "acknowledge",
    )
    .await;
    let ext = ok_json(
        app.post_json(
            &path("extensions"),
            &json!({"workdays": 3, "reason": "需要调取外地监控录像。"}),
            Some(gaj),
        )
        .await,
        "extension",
    )
    .await;
    let extension_id = ext["extension"]["id"]
        .as_i64()
        .or_else(|| ext["id"].as_i64())
        .unwrap_or_else(|| panic!("extension id in {ext}"));
    let acc = ok_json(
        app.post_json(
            "/api/v1/accountability",
            &json!({
                "unit": "GAJ",
                "person": "某民警",
                "tracking_no": no,
                "situation": "A2",
                "reason": "窗口民警对办事群众态度恶劣，经核查属实。",
                "provisional_points": -0.5
            }),
            Some(sup),
        )
        .await,
        "accountability",
    )
    .await;
    // Opening it sent GAJ a notice.
    let notices = ok_json(app.get("/api/v1/notices", Some(gaj)).await, "notices").await;
    let notice_id = notices["items"][0]["id"].as_i64().expect("a notice");
    Records {
        tracking_no: no,
        extension_id,
        letter_id,
        notice_id,
        accountability_id: acc["id"].as_i64().unwrap(),
        user_id: app.create_user("matrix.target", Role::Operator, None),
    }
}

#[tokio::test]
async fn every_route_answers_every_role_as_the_policy_says() {
    let app = spawn_app().await;
    let tokens = [
        None,
        Some(app.token_for(Role::Admin, None).await),
        Some(app.token_for(Role::Supervisor, None).await),
        Some(app.token_for(Role::Operator, None).await),
        Some(app.token_for(Role::Unit, Some("GAJ")).await),
        Some(app.token_for(Role::Unit, Some("JTJ")).await),
        Some(app.token_for(Role::Auditor, None).await),
    ];
    let sup = tokens[2].clone().unwrap();
    let gaj = tokens[4].clone().unwrap();
    let recs = records(&app, &sup, &gaj).await;

    // Every registered route has exactly one row.
    let table = table();
    let rows: BTreeSet<(String, String)> = table
        .iter()
        .map(|r| (r.method.to_owned(), r.template.to_owned()))
        .collect();
    assert_eq!(rows.len(), table.len(), "a route has two rows");
    let registered = registered_routes();
    let missing: Vec<_> = registered.difference(&rows).collect();
    let extra: Vec<_> = rows.difference(&registered).collect();
    assert!(missing.is_empty(), "routes without a row: {missing:?}");
    assert!(extra.is_empty(), "rows for no route: {extra:?}");

    let mut wrong = Vec::new();
    let mut cells = 0;
    for r in &table {
        assert_eq!(r.expect.chars().count(), CALLERS.len(), "{}", r.template);
        let url = app.url(&concrete(r.template, &recs));
        for ((caller, token), expect) in CALLERS.iter().zip(&tokens).zip(r.expect.chars()) {
            let method = reqwest::Method::from_bytes(r.method.as_bytes()).unwrap();
            let mut req = app.client.request(method, &url);
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            if let Some(b) = &r.body {
                req = req.json(b);
            }
            let (status, ct, text) = read(req.send().await.unwrap()).await;
            cells += 1;
            let what = format!("{} {} as {caller}", r.method, r.template);
            if !matches(expect, status) {
                wrong.push(format!(
                    "{what}: expected {expect}, got {status} {}",
                    text.chars().take(200).collect::<String>()
                ));
            }
            if status >= 400 && ct != "application/problem+json" {
                wrong.push(format!("{what}: {status} with content type {ct:?}"));
            }
            if caller.starts_with("unit") {
                for secret in IDENTITY {
                    assert!(!text.contains(secret), "{what} leaks {secret}: {text}");
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {cells} cells wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert_eq!(cells, table.len() * CALLERS.len());
    eprintln!(
        "authorization matrix: {} routes × {} callers = {cells} cells",
        table.len(),
        CALLERS.len()
    );

    // The identity was really there to leak: a supervisor sees it.
    let case = app
        .get(
            &format!(
                "/api/v1/complaints/{}/identity?reason=核实",
                recs.tracking_no
            ),
            Some(&sup),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        case.contains("王小明") && case.contains("13912345678"),
        "{case}"
    );
}
