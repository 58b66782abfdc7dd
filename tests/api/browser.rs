//! The public pages in a real browser: headless Chromium on a phone-sized
//! screen, driven through chromedriver (WebDriver) with fantoccini, with no
//! JavaScript of ours on the pages.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian: `apt-get
//! install chromium chromium-driver`); without them the tests skip, or fail
//! under `DUBAN_REQUIRE_ALL=1`. A failing test saves a screenshot under
//! `target/browser-failures/`. With `DUBAN_SCREENSHOTS=<folder>` every page
//! visited is saved there (the README's pictures come from such a run; install
//! a Chinese font first, e.g. Debian's `fonts-wqy-microhei`).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::helpers::*;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// A common phone's viewport, in CSS pixels.
const WIDTH: u32 = 412;
const HEIGHT: u32 = 915;

/// chromedriver on a port of its own, and a browser session in it.
struct Browser {
    driver: Child,
    client: Client,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium, or `None` when they are
    /// not installed (after `require_or_skip`).
    async fn start() -> Option<Self> {
        if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
            require_or_skip("chromium and chromedriver (apt install chromium chromium-driver)");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        let ready = async {
            for _ in 0..100 {
                if let Ok(r) = reqwest::get(format!("{url}/status")).await
                    && r.status().is_success()
                {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            false
        };
        let mut driver = driver;
        if !ready.await {
            let _ = driver.kill();
            panic!("chromedriver did not answer on port {port}");
        }
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-dev-shm-usage",
                    format!("--window-size={WIDTH},{HEIGHT}"),
                    "--lang=zh-CN",
                ],
            }),
        );
        // Two rustls crypto providers are compiled into the test binary (ring
        // and aws-lc-rs, through other crates): name one. The session is
        // plain HTTP to chromedriver anyway.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = match ClientBuilder::rustls()
            .expect("TLS roots for the WebDriver client")
            .capabilities(caps)
            .connect(&url)
            .await
        {
            Ok(c) => c,
            Err(e) => {
                let _ = driver.kill();
                panic!("no browser session: {e}");
            }
        };
        Some(Self { driver, client })
    }

    /// Ends the session; a failed scenario leaves a screenshot and panics.
    async fn finish(mut self, test: &str, outcome: anyhow::Result<()>) {
        if let Err(e) = &outcome {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-failures");
            let path = dir.join(format!("{test}.png"));
            match self.client.screenshot().await {
                Ok(png) => {
                    let _ = std::fs::create_dir_all(&dir);
                    if std::fs::write(&path, png).is_ok() {
                        eprintln!("screenshot of the failure: {}", path.display());
                    }
                }
                Err(shot) => eprintln!("no screenshot of the failure: {shot}"),
            }
            if let Ok(url) = self.client.current_url().await {
                eprintln!("page at the failure: {url}");
            }
            eprintln!("{e:?}");
        }
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        if let Err(e) = outcome {
            panic!("{test} failed: {e:#}");
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A panic inside a scenario must not leave chromedriver running.
        let _ = self.driver.kill();
    }
}

/// Runs a scenario against a fresh service in a task of its own, so that a
/// panic in it still comes back here: the session is then closed properly
/// (Chromium quits) and the failure gets its screenshot.
async fn scenario<F, Fut>(browser: &Browser, run: F) -> anyhow::Result<()>
where
    F: FnOnce(Client, TestApp) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let client = browser.client.clone();
    let app = spawn_app().await;
    tokio::spawn(run(client, app))
        .await
        .unwrap_or_else(|e| Err(anyhow::anyhow!("the scenario panicked: {e}")))
}

/// Saves the whole page as `<DUBAN_SCREENSHOTS>/<name>.png`, when asked.
async fn snapshot(c: &Client, name: &str) -> anyhow::Result<()> {
    let Some(dir) = std::env::var_os("DUBAN_SCREENSHOTS").map(PathBuf::from) else {
        return Ok(());
    };
    let dir = if dir.is_relative() {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)
    } else {
        dir
    };
    std::fs::create_dir_all(&dir)?;
    // The page at its full height, on the phone's width.
    let height = c
        .execute("return document.documentElement.scrollHeight;", vec![])
        .await?
        .as_u64()
        .unwrap_or(u64::from(HEIGHT));
    let height = u32::try_from(height).unwrap_or(HEIGHT).clamp(HEIGHT, 6000);
    c.set_window_size(WIDTH, height).await?;
    c.execute("window.scrollTo(0, 0);", vec![]).await?;
    let png = c.screenshot().await;
    c.set_window_size(WIDTH, HEIGHT).await?;
    std::fs::write(dir.join(format!("{name}.png")), png?)?;
    Ok(())
}

async fn by_id(c: &Client, id: &str) -> anyhow::Result<fantoccini::elements::Element> {
    let found = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id(id))
        .await;
    match found {
        Ok(e) => Ok(e),
        Err(e) => {
            let url = c
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            Err(e).with_context(|| format!("no element #{id} on {url}"))
        }
    }
}

async fn type_into(c: &Client, id: &str, text: &str) -> anyhow::Result<()> {
    by_id(c, id).await?.send_keys(text).await?;
    Ok(())
}

async fn value_of(c: &Client, id: &str) -> anyhow::Result<String> {
    Ok(by_id(c, id).await?.prop("value").await?.unwrap_or_default())
}

async fn submit(c: &Client) -> anyhow::Result<()> {
    c.find(Locator::Css("main form button[type=submit]"))
        .await?
        .click()
        .await?;
    Ok(())
}

/// Fills the complaint form as a citizen would, with `phone` and `content`.
async fn fill_form(c: &Client, app: &TestApp, phone: &str, content: &str) -> anyhow::Result<()> {
    c.goto(&app.url("/")).await?;
    by_id(c, "category")
        .await?
        .select_by_value("bribe_seeking")
        .await?;
    by_id(c, "subject_unit")
        .await?
        .select_by_value("BDC")
        .await?;
    type_into(c, "title", "办理不动产登记时被索要好处费").await?;
    type_into(c, "content", content).await?;
    // Ticking "anonymous" hides the identity inputs (CSS only, no script).
    let anonymous = by_id(c, "anonymous").await?;
    anonymous.click().await?;
    ensure!(
        !by_id(c, "name").await?.is_displayed().await?,
        "identity inputs hidden when anonymous"
    );
    anonymous.click().await?;
    ensure!(by_id(c, "name").await?.is_displayed().await?);
    type_into(c, "name", "王小明").await?;
    type_into(c, "phone", phone).await?;
    Ok(())
}

async fn file_and_track(c: &Client, app: &TestApp) -> anyhow::Result<()> {
    fill_form(
        c,
        app,
        "13912345678",
        "在县不动产登记中心窗口办理过户，工作人员暗示要请客吃饭才能加快办理。",
    )
    .await?;
    snapshot(c, "form").await?;
    submit(c).await?;

    let no = by_id(c, "tracking-no").await?.text().await?;
    let code = by_id(c, "query-code").await?.text().await?;
    ensure!(!no.is_empty() && !code.is_empty(), "receipt without codes");
    ensure!(app.complaint_count() == 1, "one complaint stored");
    snapshot(c, "receipt").await?;

    c.find(Locator::LinkText("查询办理进度"))
        .await?
        .click()
        .await?;
    type_into(c, "tracking_no", &no).await?;
    type_into(c, "query_code", &code).await?;
    submit(c).await?;

    let status = by_id(c, "case-status").await?.text().await?;
    let api: Value = app.track(&no, &code).await.json().await?;
    ensure!(
        status == api["status_label"].as_str().unwrap_or_default(),
        "status {status:?}, the API says {}",
        api["status_label"]
    );
    let timeline = by_id(c, "timeline").await?.text().await?;
    ensure!(timeline.contains("已受理"), "timeline: {timeline:?}");
    let page = c.source().await?;
    ensure!(
        !page.contains("13912345678"),
        "identity on the tracking page"
    );
    snapshot(c, "tracking").await?;
    Ok(())
}

async fn errors_beside_fields(c: &Client, app: &TestApp) -> anyhow::Result<()> {
    fill_form(c, app, "12345", "太短了").await?;
    submit(c).await?;

    let summary = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(".error-summary"))
        .await?
        .text()
        .await?;
    ensure!(
        summary.contains("详细情况") && summary.contains("联系电话"),
        "summary: {summary:?}"
    );
    let content_error = by_id(c, "content-error").await?.text().await?;
    ensure!(
        content_error.contains("至少需要 10 个字"),
        "content error: {content_error:?}"
    );
    let phone_error = by_id(c, "phone-error").await?.text().await?;
    ensure!(
        phone_error.contains("手机号"),
        "phone error: {phone_error:?}"
    );
    let phone = by_id(c, "phone").await?;
    ensure!(phone.attr("aria-invalid").await?.as_deref() == Some("true"));
    ensure!(
        phone
            .attr("aria-describedby")
            .await?
            .is_some_and(|d| d.contains("phone-error")),
        "the message is tied to its input"
    );
    // What was typed is all still there.
    for (id, want) in [
        ("name", "王小明"),
        ("phone", "12345"),
        ("title", "办理不动产登记时被索要好处费"),
        ("content", "太短了"),
        ("category", "bribe_seeking"),
        ("subject_unit", "BDC"),
    ] {
        let got = value_of(c, id).await?;
        if got != want {
            bail!("#{id} holds {got:?}, not {want:?}");
        }
    }
    ensure!(app.complaint_count() == 0, "nothing stored");
    // The summary's links lead to the inputs.
    c.find(Locator::Css(".error-summary a[href='#phone']"))
        .await?
        .click()
        .await?;
    let focused = c.active_element().await?.attr("id").await?;
    ensure!(
        focused.as_deref() == Some("phone"),
        "the summary's link moves the focus to the input, not {focused:?}"
    );
    snapshot(c, "form-errors").await?;
    Ok(())
}

#[tokio::test]
async fn browser_files_a_complaint_and_tracks_it() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let outcome = scenario(
        &browser,
        |c, app| async move { file_and_track(&c, &app).await },
    )
    .await;
    browser
        .finish("browser_files_a_complaint_and_tracks_it", outcome)
        .await;
}

#[tokio::test]
async fn browser_shows_errors_beside_the_fields_and_keeps_the_input() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let outcome = scenario(&browser, |c, app| async move {
        errors_beside_fields(&c, &app).await
    })
    .await;
    browser
        .finish(
            "browser_shows_errors_beside_the_fields_and_keeps_the_input",
            outcome,
        )
        .await;
}
