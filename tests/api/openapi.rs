//! The OpenAPI document: served, complete (every registered `/api/v1`
//! route, and nothing else), internally consistent, and valid OpenAPI 3.

use std::collections::BTreeSet;

use duban::auth::policy::Role;
use serde_json::{Value, json};

use crate::helpers::*;

pub async fn document(app: &TestApp) -> Value {
    let resp = app.get("/api-docs/openapi.json", None).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// `(METHOD, path)` of every route registered under `/api/v1`, read from
/// the one file that lists them.
pub fn registered_routes() -> BTreeSet<(String, String)> {
    let src =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/api/mod.rs")).unwrap();
    let scope = src
        .split("web::scope(\"/api/v1\")")
        .nth(1)
        .expect("the /api/v1 scope");
    let scope = scope.split("web::scope(").next().unwrap();
    let mut routes = BTreeSet::new();
    let mut rest = scope;
    while let Some(i) = rest.find(".route(") {
        rest = &rest[i + ".route(".len()..];
        let path = rest.split('"').nth(1).unwrap().to_owned();
        let method = rest
            .split("web::")
            .nth(1)
            .unwrap()
            .split("()")
            .next()
            .unwrap()
            .to_uppercase();
        routes.insert((method, format!("/api/v1{path}")));
    }
    assert!(routes.len() > 30, "parsed {routes:?}");
    routes
}

fn documented_routes(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            out.insert((method.to_uppercase(), path.clone()));
        }
    }
    out
}

#[tokio::test]
async fn every_registered_route_is_in_the_document_and_nothing_else() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let registered = registered_routes();
    let documented = documented_routes(&doc);
    let missing: Vec<_> = registered.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&registered).collect();
    assert!(missing.is_empty(), "not documented: {missing:?}");
    assert!(extra.is_empty(), "documented but not served: {extra:?}");
}

/// Every `$ref` in `v`.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|x| refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_is_consistent_openapi_3_with_errors_and_the_bearer_scheme() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let scheme = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    // Every reference resolves.
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in &all {
        let name = r.strip_prefix("#/components/schemas/").expect(r);
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "unresolved {r}"
        );
    }
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let what = format!("{method} {path}");
            // Path parameters are declared.
            for name in path
                .split('{')
                .skip(1)
                .map(|s| s.split('}').next().unwrap())
            {
                let declared = op["parameters"].as_array().is_some_and(|ps| {
                    ps.iter()
                        .any(|p| p["name"] == name && p["in"] == "path" && p["required"] == true)
                });
                assert!(declared, "{what}: path parameter {name}");
            }
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{what}: a success response"
            );
            // Errors are problem+json.
            let unavailable = &responses["503"]["content"]["application/problem+json"];
            assert!(unavailable.is_object(), "{what}: 503 problem");
            let staff = op.get("security").is_some();
            if staff {
                assert!(responses.contains_key("401"), "{what}: 401");
            }
            if op.get("requestBody").is_some() {
                assert!(responses.contains_key("422"), "{what}: 422");
            }
        }
    }
    // The public routes need no token; staff routes do.
    assert!(
        doc["paths"]["/api/v1/complaints"]["post"]
            .get("security")
            .is_none()
    );
    assert!(
        doc["paths"]["/api/v1/complaints"]["get"]
            .get("security")
            .is_some()
    );
}

#[tokio::test]
async fn the_document_passes_an_openapi_3_validator() {
    let check = std::process::Command::new("python3")
        .args(["-c", "import openapi_spec_validator"])
        .output();
    if !matches!(check, Ok(o) if o.status.success()) {
        require_or_skip("python3 with openapi-spec-validator (pip install openapi-spec-validator)");
        return;
    }
    let app = spawn_app().await;
    let text = app
        .get("/api-docs/openapi.json", None)
        .await
        .text()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, text).unwrap();
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import json, sys; from openapi_spec_validator import validate; \
             validate(json.load(open(sys.argv[1]))); print('valid')",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn the_docs_page_is_served_from_the_binary() {
    let app = spawn_app().await;
    let resp = app.get("/api-docs/", None).await;
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    for asset in ["swagger-ui.css", "swagger-ui-bundle.js"] {
        assert!(html.contains(asset), "{asset}");
        let r = app.get(&format!("/api-docs/{asset}"), None).await;
        assert_eq!(r.status(), 200, "{asset}");
    }
    assert!(
        !html.contains("https://") && !html.contains("http://unpkg"),
        "no external assets"
    );
}

/// The 422 of `body` sent as the first role the operation lets through to
/// the parse (the others get 403).
async fn refusal(
    app: &TestApp,
    tokens: &[String],
    method: &reqwest::Method,
    path: &str,
    body: Value,
) -> Value {
    for token in tokens {
        let resp = app
            .client
            .request(method.clone(), app.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        if resp.status() == 422 {
            return resp.json().await.unwrap();
        }
        assert_eq!(resp.status(), 403, "{method} {path}");
    }
    panic!("{method} {path}: no role reached the parse");
}

/// The document's request bodies are the types the service parses (no
/// hand-written copy to drift): for every operation with a JSON body, each
/// property the schema lists is a field the service knows (sent as null, it
/// is not "unknown"), a field the schema does not list is refused, and each
/// property the schema requires is reported missing when left out.
#[tokio::test]
async fn every_request_schema_is_what_the_service_reads() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let no = app.file_complaint().await["tracking_no"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut tokens = Vec::new();
    for (role, unit) in [
        (Role::Supervisor, None),
        (Role::Unit, Some("GAJ")),
        (Role::Operator, None),
        (Role::Admin, None),
        (Role::Auditor, None),
    ] {
        tokens.push(app.token_for(role, unit).await);
    }
    let schemas = &doc["components"]["schemas"];
    let resolve = |s: &Value| -> Value {
        match s["$ref"].as_str() {
            Some(r) => schemas[r.trim_start_matches("#/components/schemas/")].clone(),
            None => s.clone(),
        }
    };
    let mut checked = 0;
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(schema) = op["requestBody"]["content"]["application/json"]
                .get("schema")
                .map(resolve)
            else {
                continue;
            };
            let what = format!("{method} {template}");
            let props = schema["properties"].as_object().expect(&what);
            let mut body = serde_json::Map::new();
            for name in props.keys() {
                body.insert(name.clone(), Value::Null);
            }
            body.insert("zz_not_a_field".into(), json!(1));
            let path = template.replace("{tracking_no}", &no).replace("{id}", "1");
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let problem = refusal(&app, &tokens, &method, &path, Value::Object(body)).await;
            let errors = problem["errors"].as_array().unwrap();
            let unknown: Vec<&str> = errors
                .iter()
                .filter(|e| e["code"] == "unknown_field")
                .map(|e| e["field"].as_str().unwrap())
                .collect();
            assert_eq!(unknown, ["zz_not_a_field"], "{what}: {problem}");
            // A choice's codes in the document are the codes it accepts.
            for (name, prop) in props {
                let listed = prop["enum"].as_array().or_else(|| {
                    prop["oneOf"]
                        .as_array()?
                        .iter()
                        .find_map(|s| s["enum"].as_array())
                });
                let Some(listed) = listed else { continue };
                let mut one = serde_json::Map::new();
                one.insert(name.clone(), json!("zz-not-a-code"));
                let p = refusal(&app, &tokens, &method, &path, Value::Object(one)).await;
                let allowed = p["errors"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|e| e["field"] == *name)
                    .map(|e| e["allowed"].clone());
                assert_eq!(
                    allowed.as_ref(),
                    Some(&Value::Array(listed.clone())),
                    "{what}: {name}"
                );
            }
            for name in schema["required"].as_array().into_iter().flatten() {
                assert!(
                    errors
                        .iter()
                        .any(|e| e["field"] == *name && e["code"] == "required"),
                    "{what}: {name} is required by the document, not by the service: {problem}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "{checked} operations");
}
