//! Hostile input beyond `errors.rs` (which covers the complaint form): every
//! path parameter of every route fed traversal, NUL and oversized values;
//! every operation that takes a body fed oversized, deeply nested, non-UTF-8
//! and wrongly typed bodies; and a representative write of each resource fed
//! NUL-carrying and huge-number fields. Every answer is a problem+json 4xx,
//! never a 5xx.

use duban::auth::policy::Role;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::openapi::{document, registered_routes};

/// Values no path parameter may choke on.
fn hostile_values() -> Vec<String> {
    vec![
        "..%2F..%2Fetc%2Fpasswd".into(),
        "..%2F..%2F..%2F..%2Fetc%2Fshadow".into(),
        "%2e%2e".into(),
        "%00".into(),
        "XG20261127%00000001".into(),
        "%27%20OR%20%271%27%3D%271".into(),
        "-1".into(),
        "99999999999999999999999".into(),
        "1e400".into(),
        "%F0%9F%92%A9".into(),
        "%FF%FE".into(),
        "A".repeat(4000),
    ]
}

struct Tokens {
    admin: String,
    sup: String,
    gaj: String,
    op: String,
}

impl Tokens {
    async fn new(app: &TestApp) -> Self {
        Self {
            admin: app.token_for(Role::Admin, None).await,
            sup: app.token_for(Role::Supervisor, None).await,
            gaj: app.token_for(Role::Unit, Some("GAJ")).await,
            op: app.token_for(Role::Operator, None).await,
        }
    }

    /// A role the route permits, so the request gets past the 403.
    fn for_route(&self, path: &str) -> &str {
        const HANDLE: [&str; 6] = [
            "/acknowledge",
            "/return",
            "/progress",
            "/extensions",
            "/report",
            "/defence",
        ];
        if path.starts_with("/api/v1/users") {
            &self.admin
        } else if path.starts_with("/api/v1/calls") {
            &self.op
        } else if HANDLE.iter().any(|h| path.ends_with(h)) {
            &self.gaj
        } else {
            &self.sup
        }
    }
}

async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: Option<(&str, Vec<u8>)>,
) -> reqwest::Response {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some((ct, bytes)) = body {
        req = req.header("content-type", ct).body(bytes);
    }
    req.send().await.unwrap()
}

/// A 4xx problem+json among `allowed`; returns the status.
async fn problem_among(resp: reqwest::Response, allowed: &[u16], what: &str) -> u16 {
    let (status, ct, text) = read(resp).await;
    assert!(
        allowed.contains(&status),
        "{what}: {status} (wanted one of {allowed:?}) {}",
        text.chars().take(300).collect::<String>()
    );
    assert_eq!(ct, "application/problem+json", "{what}: {text}");
    let p: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(p["status"], status, "{what}");
    status
}

#[tokio::test]
async fn every_path_parameter_of_every_route_refuses_hostile_values_with_404_or_422() {
    let app = spawn_app().await;
    let tokens = Tokens::new(&app).await;
    let routes: Vec<_> = registered_routes()
        .into_iter()
        .filter(|(_, p)| p.contains('{'))
        .collect();
    assert!(routes.len() >= 18, "{routes:?}");
    let mut checked = 0;
    for (method, template) in &routes {
        let params: Vec<&str> = template
            .split('{')
            .skip(1)
            .map(|s| s.split('}').next().unwrap())
            .collect();
        for param in &params {
            for value in hostile_values() {
                // The other parameters get plausible but unknown values.
                let mut path = template.replace(&format!("{{{param}}}"), &value);
                path = path
                    .replace("{tracking_no}", "XG20990101000001")
                    .replace("{id}", "424242");
                let body = (method != "GET").then(|| ("application/json", b"{}".to_vec()));
                let what = format!("{method} {template} with {param}={value:.40}");
                let resp = send(&app, method, &path, tokens.for_route(template), body).await;
                problem_among(resp, &[404, 422], &what).await;
                checked += 1;
            }
        }
    }
    eprintln!("hostile path values: {checked} requests");
}

/// Every operation the OpenAPI document gives a JSON body refuses, before
/// anything is read or written: a body over the limit (413), deep nesting
/// (400), invalid UTF-8 (400) and a body of another content type (415).
#[tokio::test]
async fn every_operation_with_a_body_refuses_oversize_deep_non_utf8_and_foreign_bodies() {
    let app = spawn_app().await;
    let tokens = Tokens::new(&app).await;
    let no = app.file_complaint().await["tracking_no"]
        .as_str()
        .unwrap()
        .to_owned();
    let doc = document(&app).await;
    let mut operations = Vec::new();
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if op["requestBody"]["content"]["application/json"].is_object() {
                operations.push((method.to_uppercase(), template.clone()));
            }
        }
    }
    assert!(operations.len() >= 20, "{operations:?}");
    let deep_array = format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes();
    let deep_object = format!(
        "{{\"note\": {}1{}}}",
        "{\"a\":".repeat(3000),
        "}".repeat(3000)
    )
    .into_bytes();
    let mut non_utf8 = b"{\"note\": \"".to_vec();
    non_utf8.extend_from_slice(b"\xff\xfe\xc0\xaf\"}");
    let oversize = json!({ "note": "长".repeat(40_000) })
        .to_string()
        .into_bytes();
    let plain = br#"{"note": "x"}"#.to_vec();
    let variants: Vec<(&str, &str, Vec<u8>, u16)> = vec![
        ("oversize", "application/json", oversize, 413),
        ("deep nesting", "application/json", deep_array, 400),
        ("deep object", "application/json", deep_object, 400),
        ("invalid UTF-8", "application/json", non_utf8, 400),
        ("text/plain", "text/plain", plain.clone(), 415),
        (
            "form",
            "application/x-www-form-urlencoded",
            plain.clone(),
            415,
        ),
        (
            "multipart",
            "multipart/form-data; boundary=x",
            plain.clone(),
            415,
        ),
        ("XML", "application/xml", plain, 415),
    ];
    let mut checked = 0;
    for (method, template) in &operations {
        let path = template.replace("{tracking_no}", &no).replace("{id}", "1");
        for (label, ct, bytes, status) in &variants {
            let what = format!("{method} {template}: {label}");
            let resp = send(
                &app,
                method,
                &path,
                tokens.for_route(template),
                Some((ct, bytes.clone())),
            )
            .await;
            problem_among(resp, &[*status], &what).await;
            checked += 1;
        }
    }
    eprintln!(
        "hostile bodies: {} operations × {} variants = {checked} requests",
        operations.len(),
        variants.len()
    );
}

/// A representative write of each resource, with a string field and a
/// numeric field to poison.
struct Write {
    method: &'static str,
    path: String,
    body: Value,
    text_field: &'static str,
    number_field: &'static str,
}

async fn writes(app: &TestApp) -> Vec<Write> {
    let receipt = app.file_complaint().await;
    let no = receipt["tracking_no"].as_str().unwrap().to_owned();
    let code = receipt["query_code"].as_str().unwrap().to_owned();
    let user = app.create_user("hostile.target", Role::Operator, None);
    let w = |method, path: &str, body, text_field, number_field| Write {
        method,
        path: path.to_owned(),
        body,
        text_field,
        number_field,
    };
    vec![
        w(
            "POST",
            "/api/v1/auth/token",
            json!({"username": "nobody", "password": "x"}),
            "username",
            "password",
        ),
        w(
            "POST",
            "/api/v1/complaints",
            complaint_body(),
            "title",
            "anonymous",
        ),
        w(
            "POST",
            "/api/v1/track",
            json!({"tracking_no": no, "query_code": code}),
            "query_code",
            "tracking_no",
        ),
        w(
            "POST",
            "/api/v1/track/feedback",
            json!({"tracking_no": no, "query_code": code, "satisfaction": "satisfied"}),
            "comment",
            "satisfaction",
        ),
        w(
            "POST",
            "/api/v1/calls",
            json!({"caller_phone": "13800000000", "started_at": "2026-11-27T09:00:00+08:00",
                   "duration_seconds": 60, "summary": "咨询", "disposition": "consultation"}),
            "summary",
            "duration_seconds",
        ),
        w(
            "POST",
            &format!("/api/v1/complaints/{no}/assign"),
            json!({"unit": "GAJ", "handle_workdays": 5}),
            "note",
            "handle_workdays",
        ),
        w(
            "POST",
            "/api/v1/accountability",
            json!({"unit": "GAJ", "situation": "A2", "reason": "态度恶劣", "provisional_points": -0.5}),
            "reason",
            "provisional_points",
        ),
        w(
            "POST",
            "/api/v1/users",
            json!({"username": "hostile.new", "role": "operator", "password": "long enough password"}),
            "username",
            "unit",
        ),
        w(
            "PATCH",
            &format!("/api/v1/users/{user}"),
            json!({"active": true}),
            "password",
            "active",
        ),
    ]
}

#[tokio::test]
async fn nul_bytes_and_huge_numbers_in_the_fields_of_each_resource_get_422_or_400() {
    let app = spawn_app().await;
    let tokens = Tokens::new(&app).await;
    let json_ct = "application/json";
    for w in writes(&app).await {
        let token = tokens.for_route(&w.path);
        let what = |k: &str| format!("{} {}: {k}", w.method, w.path);
        let go = |ct: &'static str, bytes: Vec<u8>| {
            send(&app, w.method, &w.path, token, Some((ct, bytes)))
        };

        // A NUL byte in a string.
        let mut nul = w.body.clone();
        nul[w.text_field] = json!("abc\u{0}def");
        let resp = go(json_ct, nul.to_string().into_bytes()).await;
        let status = problem_among(resp, &[401, 422], &what("NUL")).await;
        assert!(
            status == 422 || w.path.ends_with("/auth/token"),
            "{}",
            what("NUL is a validation failure")
        );

        // Numbers no field can hold.
        for huge in [
            "1e400",
            "18446744073709551616",
            "-1e308",
            "123456789012345678901234567890",
        ] {
            // Written by hand: serde_json cannot hold such a number.
            let mut rest = w.body.clone();
            rest.as_object_mut().unwrap().remove(w.number_field);
            let rest = rest.to_string();
            let poisoned = match rest.as_str() {
                "{}" => format!("{{\"{}\": {huge}}}", w.number_field),
                _ => format!(
                    "{{\"{}\": {huge}, {}",
                    w.number_field,
                    rest.strip_prefix('{').unwrap()
                ),
            };
            let resp = go(json_ct, poisoned.into_bytes()).await;
            problem_among(resp, &[400, 422], &what(huge)).await;
        }
    }
}

#[tokio::test]
async fn invisible_characters_in_single_line_fields_get_422() {
    let app = spawn_app().await;
    let tokens = Tokens::new(&app).await;
    let (no, _) = crate::workflow::file(&app, &complaint_body()).await;
    let probes = [
        ("/api/v1/complaints".to_owned(), complaint_body(), "title"),
        (
            "/api/v1/track".to_owned(),
            json!({"tracking_no": no, "query_code": "ABCDEFGH"}),
            "tracking_no",
        ),
        (
            "/api/v1/users".to_owned(),
            json!({"username": "hostile.zw", "role": "operator", "password": "long enough password"}),
            "username",
        ),
        (
            format!("/api/v1/complaints/{no}/assign"),
            json!({"unit": "GAJ"}),
            "unit",
        ),
    ];
    for (path, body, field) in probes {
        for hidden in [
            "\u{200B}", "\u{200D}", "\u{2028}", "\u{2029}", "\u{FEFF}", "\u{2060}",
        ] {
            let mut b = body.clone();
            b[field] = json!(format!("GAJ{hidden}X"));
            let token = tokens.for_route(&path);
            let resp = send(
                &app,
                "POST",
                &path,
                token,
                Some(("application/json", b.to_string().into_bytes())),
            )
            .await;
            let problem = assert_problem(resp, 422).await;
            assert!(
                error_fields(&problem).contains(&field.to_owned()),
                "{path} {field} with {hidden:?}: {problem}"
            );
        }
    }
}

#[tokio::test]
async fn open311_query_values_with_nul_are_400_not_5xx() {
    let app = spawn_with(Spawn {
        customise: Box::new(|s| s.open311.publish_list = true),
        ..Default::default()
    })
    .await;
    for query in [
        "service_request_id=XG%00",
        "service_code=bribe%00seeking",
        "status=open%00",
        "start_date=2026-01-01T00:00:00Z%00",
    ] {
        let status = app
            .get(&format!("/open311/v2/requests.json?{query}"), None)
            .await
            .status()
            .as_u16();
        assert_eq!(status, 400, "{query}");
    }
}

#[tokio::test]
async fn open311_path_values_with_nul_or_traversal_are_4xx_not_5xx() {
    let app = spawn_app().await;
    for value in hostile_values() {
        for template in [
            "/open311/v2/services/{}.json",
            "/open311/v2/requests/{}.json",
            "/open311/v2/tokens/{}.xml",
        ] {
            let path = template.replace("{}", &value);
            let status = app.get(&path, None).await.status().as_u16();
            assert!(
                (400..500).contains(&status),
                "{template} with {value:.40}: {status}"
            );
        }
    }
}
