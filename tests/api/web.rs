//! The public pages over HTTP, without a browser: the form and its errors,
//! the receipt, tracking, feedback, and the headers every page carries.

use duban::auth::policy::Role;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::workflow::{act, file, routed_body};

pub struct Page {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub html: String,
}

impl Page {
    async fn from(resp: reqwest::Response) -> Self {
        Self {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            html: resp.text().await.unwrap(),
        }
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or_default()
    }

    /// The text between `start` and the next `end`.
    pub fn between(&self, start: &str, end: &str) -> String {
        let from = self.html.find(start).unwrap_or_else(|| {
            panic!("{start:?} not in the page:\n{}", self.html);
        }) + start.len();
        let len = self.html[from..].find(end).unwrap();
        self.html[from..from + len].to_owned()
    }

    fn assert_secure(&self) {
        assert_eq!(
            self.header("content-security-policy"),
            "default-src 'self'; form-action 'self'; frame-ancestors 'none'"
        );
        assert_eq!(self.header("x-content-type-options"), "nosniff");
        assert_eq!(self.header("referrer-policy"), "no-referrer");
        assert_eq!(self.header("cache-control"), "no-store");
        assert!(self.header("content-type").starts_with("text/html"));
        assert!(self.html.contains(r#"<html lang="zh-CN">"#));
    }
}

async fn get_page(app: &TestApp, path: &str) -> Page {
    Page::from(app.get(path, None).await).await
}

async fn post_form(app: &TestApp, path: &str, form: &[(&str, &str)]) -> Page {
    let resp = app
        .client
        .post(app.url(path))
        .form(form)
        .send()
        .await
        .expect("request sent");
    Page::from(resp).await
}

/// A valid complaint as the form sends it.
fn valid_form() -> Vec<(&'static str, &'static str)> {
    vec![
        ("category", "bribe_seeking"),
        ("subject_unit", "BDC"),
        ("title", "办理不动产登记时被索要好处费"),
        (
            "content",
            "在县不动产登记中心窗口办理过户，工作人员暗示要请客吃饭才能加快办理。",
        ),
        ("subject_person", ""),
        ("township", ""),
        ("occurred_on", "2026-11-20"),
        ("name", "王小明"),
        ("phone", "13912345678"),
        ("email", ""),
        ("id_number", ""),
        ("address", "潋江镇解放路18号"),
    ]
}

fn with(
    form: &[(&'static str, &'static str)],
    k: &'static str,
    v: &'static str,
) -> Vec<(&'static str, &'static str)> {
    let mut f: Vec<_> = form.iter().filter(|(n, _)| *n != k).copied().collect();
    f.push((k, v));
    f
}

/// Files a complaint through the form; returns the tracking number and query code.
async fn file_by_form(app: &TestApp) -> (String, String) {
    let page = post_form(app, "/", &valid_form()).await;
    assert_eq!(page.status, 201, "{}", page.html);
    (
        page.between(r#"id="tracking-no">"#, "<"),
        page.between(r#"id="query-code">"#, "<"),
    )
}

async fn track_page(app: &TestApp, no: &str, code: &str) -> Page {
    post_form(app, "/track", &[("tracking_no", no), ("query_code", code)]).await
}

#[tokio::test]
async fn web_form_lists_the_active_categories_and_units() {
    let app = spawn_app().await;
    let page = get_page(&app, "/").await;
    assert_eq!(page.status, 200);
    page.assert_secure();
    assert!(page.html.contains(r#"<option value="bribe_seeking""#));
    assert!(page.html.contains(r#"<option value="BDC""#));
    for id in [
        "category",
        "subject_unit",
        "title",
        "content",
        "anonymous",
        "name",
        "phone",
    ] {
        assert!(
            page.html.contains(&format!(r#"<label for="{id}">"#)),
            "label for {id}"
        );
    }
    assert!(page.html.contains(r#"type="date""#));
    assert!(page.html.contains("加密"), "the identity notice");
    assert!(!page.html.contains("<script"), "no script at all");
    assert!(
        !page.html.contains("http://") && !page.html.contains("https://"),
        "no external assets"
    );
}

#[tokio::test]
async fn web_stylesheet_is_served_with_a_cache_header() {
    let app = spawn_app().await;
    let resp = app.get("/static/duban.css", None).await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    assert!(
        resp.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    assert!(resp.text().await.unwrap().contains(".error-summary"));
}

#[tokio::test]
async fn web_form_with_errors_is_shown_again_with_every_message_beside_its_input() {
    let app = spawn_app().await;
    let form = with(&with(&valid_form(), "phone", "12345"), "content", "太短了");
    let form = with(&form, "title", "<script>alert('x')</script>");
    let page = post_form(&app, "/", &form).await;
    assert_eq!(page.status, 422);
    page.assert_secure();
    assert_eq!(app.complaint_count(), 0);
    // The summary links to the inputs; each message sits beside its input.
    assert!(
        page.html.contains(r##"<a href="#content">"##),
        "{}",
        page.html
    );
    assert!(page.html.contains(r##"<a href="#phone">"##));
    assert!(page.html.contains(r#"id="content-error""#));
    assert!(page.html.contains("至少需要 10 个字"));
    assert!(page.html.contains(r#"id="phone-error""#));
    assert!(page.html.contains("11 位手机号"));
    let phone_input = page.between(r#"<input id="phone""#, ">");
    assert!(
        phone_input.contains(r#"aria-invalid="true""#),
        "{phone_input}"
    );
    assert!(phone_input.contains("phone-error"), "{phone_input}");
    assert!(phone_input.contains(r#"value="12345""#));
    // The rest of the input is kept, and escaped.
    assert!(page.html.contains(r#"value="王小明""#));
    assert!(page.html.contains("太短了</textarea>"));
    assert!(page.html.contains(r#"<option value="BDC" selected>"#));
    assert!(!page.html.contains("<script>alert"), "never echoed raw");
    assert!(page.html.contains("&lt;script&gt;alert("));
    let name_input = page.between(r#"<input id="name""#, ">");
    assert!(
        !name_input.contains("aria-invalid"),
        "only bad fields are marked"
    );
}

#[tokio::test]
async fn web_form_files_a_complaint_and_shows_the_receipt_once() {
    let app = spawn_app().await;
    let page = post_form(&app, "/", &valid_form()).await;
    assert_eq!(page.status, 201, "{}", page.html);
    page.assert_secure();
    assert_eq!(app.complaint_count(), 1);
    let no = page.between(r#"id="tracking-no">"#, "<");
    let code = page.between(r#"id="query-code">"#, "<");
    assert!(no.starts_with("XG"), "{no}");
    assert!(!code.is_empty());
    assert!(page.html.contains("只显示这一次"));
    assert!(page.html.contains(r#"href="/track""#));
    // The code works with the JSON API too: one complaint, one pair.
    assert_eq!(app.track(&no, &code).await.status(), 200);
}

#[tokio::test]
async fn web_form_submitted_twice_files_one_complaint() {
    let app = spawn_app().await;
    let form_page = get_page(&app, "/").await;
    let token = form_page.between(r#"name="form_token" value=""#, "\"");
    assert_eq!(token.len(), 32);
    let mut form: Vec<(&str, &str)> = valid_form();
    form.push(("form_token", &token));
    let first = post_form(&app, "/", &form).await;
    let second = post_form(&app, "/", &form).await;
    assert_eq!(first.status, 201);
    assert_eq!(
        first.between(r#"id="tracking-no">"#, "<"),
        second.between(r#"id="tracking-no">"#, "<")
    );
    assert_eq!(app.complaint_count(), 1);
}

#[tokio::test]
async fn web_anonymous_form_ignores_the_identity_inputs() {
    let app = spawn_app().await;
    let form = with(&valid_form(), "anonymous", "true");
    let form = with(&form, "phone", "not a phone");
    let page = post_form(&app, "/", &form).await;
    assert_eq!(page.status, 201, "{}", page.html);
    let count: i64 = {
        use diesel::prelude::*;
        let mut conn = app.conn();
        duban::db::schema::complainants::table
            .count()
            .get_result(&mut *conn as &mut duban::db::DbConn)
            .unwrap()
    };
    assert_eq!(count, 0, "nothing about an anonymous complainant is stored");
}

#[tokio::test]
async fn web_tracking_shows_the_status_and_timeline_without_identity() {
    let app = spawn_app().await;
    let (no, code) = file_by_form(&app).await;
    let form = get_page(&app, "/track").await;
    assert_eq!(form.status, 200);
    assert!(form.html.contains(r#"<label for="tracking_no">"#));
    assert!(form.html.contains(r#"<label for="query_code">"#));

    let page = track_page(&app, &no.to_lowercase(), &code).await;
    assert_eq!(page.status, 200, "{}", page.html);
    page.assert_secure();
    assert!(page.html.contains(&no));
    assert!(page.between(r#"id="case-status">"#, "<").contains("已"));
    assert!(
        page.between(r#"id="timeline">"#, "</ol>")
            .contains("已受理")
    );
    for identity in ["王小明", "13912345678", "潋江镇解放路18号"] {
        assert!(
            !page.html.contains(identity),
            "{identity} on the tracking page"
        );
    }
    assert!(!page.html.contains("请客吃饭"), "no complaint text");
    assert!(
        !page.html.contains(r#"action="/track/feedback""#),
        "no feedback before closure"
    );
}

#[tokio::test]
async fn web_tracking_with_a_wrong_pair_says_the_same_whichever_was_wrong() {
    let app = spawn_app().await;
    let (no, code) = file_by_form(&app).await;
    let wrong_code = track_page(&app, &no, "WRONGWRONG").await;
    let wrong_number = track_page(&app, "XG19990101000001", &code).await;
    assert_eq!(wrong_code.status, 404);
    assert_eq!(wrong_number.status, 404);
    let message = wrong_code.between(r#"id="track-message">"#, "</div>");
    assert!(message.contains("投诉编号或查询码不正确"), "{message}");
    assert_eq!(
        message,
        wrong_number.between(r#"id="track-message">"#, "</div>")
    );
    assert!(!wrong_code.html.contains(&code), "the code is not echoed");

    let empty = track_page(&app, "", "").await;
    assert_eq!(empty.status, 422);
    assert!(empty.html.contains(r##"<a href="#tracking_no">"##));
}

#[tokio::test]
async fn web_tracking_past_the_failure_limit_says_try_again_later() {
    let app = spawn_app().await;
    let (no, code) = file_by_form(&app).await;
    let mut last = 0;
    for _ in 0..12 {
        last = track_page(&app, &no, "WRONGWRONG").await.status;
        if last == 429 {
            break;
        }
    }
    assert_eq!(last, 429);
    let page = track_page(&app, &no, &code).await;
    assert_eq!(page.status, 429);
    assert!(page.header("retry-after").parse::<u64>().is_ok());
    assert!(page.html.contains("分钟后再试"), "{}", page.html);
}

#[tokio::test]
async fn web_feedback_form_appears_only_for_closed_cases_and_is_stored() {
    let app = spawn_app().await;
    let (no, code) = file(&app, &routed_body()).await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;

    let open = track_page(&app, &no, &code).await;
    assert!(!open.html.contains(r#"action="/track/feedback""#));

    for (action, body, token) in [
        ("acknowledge", json!({}), &gaj),
        (
            "report",
            json!({
                "findings": "经调查，反映的窗口民警服务态度生硬问题基本属实。",
                "measures": "对当事民警进行批评教育。",
                "responsible_person": "户籍室负责人",
                "rectification_deadline": "2099-12-31",
                "target": "窗口服务规范",
                "public_reply": "经核查，您反映的问题<b>基本属实</b>，已责成整改。"
            }),
            &gaj,
        ),
        ("review", json!({"decision": "accept"}), &sup),
    ] {
        let resp = act(&app, &no, action, body, token).await;
        assert!(resp.status().is_success(), "{action}: {}", resp.status());
    }

    // An operator's callback does not take the citizen's turn to rate.
    let op = app.token_for(Role::Operator, None).await;
    let callback = act(
        &app,
        &no,
        "callback",
        json!({"satisfaction": "satisfied", "note": "电话回访"}),
        &op,
    )
    .await;
    assert_eq!(callback.status(), 200);
    let api: serde_json::Value = app.track(&no, &code).await.json().await.unwrap();
    assert_eq!(api["feedback_open"], true);

    let closed = track_page(&app, &no, &code).await;
    assert_eq!(closed.status, 200);
    assert!(
        closed
            .between(r#"id="case-status">"#, "<")
            .contains("已办结")
    );
    assert!(closed.html.contains("县公安局"), "the responsible unit");
    assert!(
        closed.html.contains("&lt;b&gt;基本属实&lt;") && !closed.html.contains("<b>"),
        "the public reply, escaped: {}",
        closed.between(r#"id="public-reply">"#, "</p>")
    );
    assert!(closed.html.contains(r#"action="/track/feedback""#));
    assert!(closed.html.contains(r#"value="basically_satisfied""#));

    let missing = post_form(
        &app,
        "/track/feedback",
        &[
            ("tracking_no", no.as_str()),
            ("query_code", code.as_str()),
            ("comment", "还行"),
        ],
    )
    .await;
    assert_eq!(missing.status, 422);
    assert!(
        missing.html.contains(r#"id="satisfaction-error""#),
        "{}",
        missing.html
    );
    assert!(
        missing.html.contains("还行</textarea>"),
        "the comment is kept"
    );

    let done = post_form(
        &app,
        "/track/feedback",
        &[
            ("tracking_no", no.as_str()),
            ("query_code", code.as_str()),
            ("satisfaction", "basically_satisfied"),
            ("comment", "处理及时"),
        ],
    )
    .await;
    assert_eq!(done.status, 200, "{}", done.html);
    done.assert_secure();
    assert!(done.html.contains("感谢您的评价"));

    let case: Value = app.case(&no, &sup).await;
    assert_eq!(case["satisfaction"], "basically_satisfied");

    let again = track_page(&app, &no, &code).await;
    assert!(!again.html.contains(r#"action="/track/feedback""#));
    let api: Value = app.track(&no, &code).await.json().await.unwrap();
    assert_eq!(api["feedback_open"], false);
    assert!(again.html.contains("已评价：基本满意"));
    assert!(
        again
            .between(r#"id="timeline">"#, "</ol>")
            .contains("群众已评价")
    );

    let twice = post_form(
        &app,
        "/track/feedback",
        &[
            ("tracking_no", no.as_str()),
            ("query_code", code.as_str()),
            ("satisfaction", "satisfied"),
        ],
    )
    .await;
    assert_eq!(twice.status, 409);
    assert!(twice.html.contains("已经评价过"));

    let wrong = post_form(
        &app,
        "/track/feedback",
        &[
            ("tracking_no", no.as_str()),
            ("query_code", "WRONGWRONG"),
            ("satisfaction", "satisfied"),
        ],
    )
    .await;
    assert_eq!(wrong.status, 404);
    assert!(wrong.html.contains("投诉编号或查询码不正确"));
}

#[tokio::test]
async fn web_pages_log_no_identity_text_or_query_code() {
    let app = spawn_app().await;
    let (no, code) = file_by_form(&app).await;
    track_page(&app, &no, &code).await;
    let logs = captured_logs();
    for secret in ["王小明", "13912345678", "请客吃饭", code.as_str()] {
        assert!(!logs.contains(secret), "{secret} in the logs");
    }
}

#[tokio::test]
async fn web_form_keeps_the_input_when_the_database_is_down() {
    let Some(admin_url) = postgres_or_skip("for the outage test") else {
        return;
    };
    let db = std::sync::Arc::new(TestDb::create_postgres(&admin_url));
    let TestDb::Postgres { name, .. } = &*db else {
        unreachable!()
    };
    let name = name.clone();
    let app = spawn_with(Spawn {
        customise: Box::new(|s| s.database.connect_timeout_ms = 500),
        db: Some(db.clone()),
        dir: None,
    })
    .await;
    crate::ops::set_database_reachable(&admin_url, &name, false);
    let page = post_form(&app, "/", &valid_form()).await;
    crate::ops::set_database_reachable(&admin_url, &name, true);
    assert_eq!(page.status, 503, "{}", page.html);
    page.assert_secure();
    assert!(page.html.contains("您填写的内容已保留"));
    assert!(page.html.contains("工作人员暗示要请客吃饭"));
    assert!(page.html.contains(r#"value="王小明""#));
    assert!(page.html.contains(r#"<option value="BDC" selected>"#));
}
