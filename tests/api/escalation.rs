//! The escalation ladder through HTTP: cases driven past each threshold by
//! moving the service clock, the letters and notices each step writes,
//! reruns that change nothing, and concurrent sweeps.

use std::collections::HashSet;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use duban::auth::policy::Role;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::workflow::{act, file, routed_body};

/// Local (Beijing) time as UTC.
pub fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Shanghai
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&Utc)
}

/// Moves the service clock to `t`. Tokens must be taken afterwards (their
/// issue time is checked against the clock).
pub fn at(app: &TestApp, t: DateTime<Utc>) {
    app.state.clock.set(t);
}

/// Runs a sweep as a supervisor and returns its report.
pub async fn sweep(app: &TestApp) -> Value {
    let sup = app.token_for(Role::Supervisor, None).await;
    let resp = app
        .post_json("/api/v1/escalations/run", &json!({}), Some(&sup))
        .await;
    let status = resp.status();
    let text = resp.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

pub async fn get_json(app: &TestApp, path: &str, token: &str) -> Value {
    let resp = app.get(path, Some(token)).await;
    let status = resp.status();
    let text = resp.text().await.unwrap();
    assert_eq!(status, 200, "{path}: {text}");
    serde_json::from_str(&text).unwrap()
}

fn fired(r: &Value) -> (i64, i64, i64, i64) {
    (
        r["warnings"].as_i64().unwrap(),
        r["reminders"].as_i64().unwrap(),
        r["supervisions"].as_i64().unwrap(),
        r["accountability_cases"].as_i64().unwrap(),
    )
}

/// Files the routed complaint (GAJ, 1 working day to sign, 5 to handle) on
/// Monday 23 Nov 2026 at 10:00: sign by the end of Tue 24, handle by the
/// end of Mon 30 Nov.
pub async fn routed_case_on_monday(app: &TestApp) -> String {
    routed_case_with_code(app).await.0
}

/// As [`routed_case_on_monday`], with the citizen's query code.
pub async fn routed_case_with_code(app: &TestApp) -> (String, String) {
    at(app, local(2026, 11, 23, 10, 0));
    file(app, &routed_body()).await
}

fn outbox_subjects(app: &TestApp) -> Vec<(String, Option<String>)> {
    use diesel::prelude::*;
    use duban::db::schema::outbox::dsl;
    let mut conn = app.conn();
    dsl::outbox
        .order(dsl::id.asc())
        .select((dsl::subject, dsl::cc))
        .load(&mut *conn as &mut duban::db::DbConn)
        .unwrap()
}

#[tokio::test]
async fn an_overdue_case_climbs_the_ladder_one_step_at_a_time_and_each_step_fires_once() {
    let app = spawn_app().await;
    let (no, code) = routed_case_with_code(&app).await;
    assert_eq!(fired(&sweep(&app).await), (0, 0, 0, 0), "nothing due yet");

    // Wednesday just after midnight: the case was never signed for.
    at(&app, local(2026, 11, 25, 0, 30));
    let r = sweep(&app).await;
    assert_eq!(fired(&r), (0, 1, 0, 0), "{r}");
    assert_eq!(r["letters"], 1);
    assert_eq!(
        fired(&sweep(&app).await),
        (0, 0, 0, 0),
        "a rerun changes nothing"
    );
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    assert_eq!(
        act(&app, &no, "acknowledge", json!({}), &gaj)
            .await
            .status(),
        200
    );

    // Saturday: the last working day before the deadline (Friday) is over.
    at(&app, local(2026, 11, 28, 9, 0));
    assert_eq!(fired(&sweep(&app).await), (1, 0, 0, 0));
    assert_eq!(fired(&sweep(&app).await), (0, 0, 0, 0));

    // Tuesday 1 Dec: the deadline (end of Monday) passed.
    at(&app, local(2026, 12, 1, 0, 10));
    assert_eq!(fired(&sweep(&app).await), (0, 1, 0, 0));
    // Thursday: not yet three working days over.
    at(&app, local(2026, 12, 3, 12, 0));
    assert_eq!(fired(&sweep(&app).await), (0, 0, 0, 0));
    // Friday 4 Dec: three working days over → supervision letter.
    at(&app, local(2026, 12, 4, 0, 10));
    assert_eq!(fired(&sweep(&app).await), (0, 0, 1, 0));
    // Tuesday 8 Dec: five working days over (across the weekend).
    at(&app, local(2026, 12, 8, 0, 10));
    assert_eq!(fired(&sweep(&app).await), (0, 0, 0, 1));
    at(&app, local(2026, 12, 9, 9, 0));
    assert_eq!(fired(&sweep(&app).await), (0, 0, 0, 0), "top of the ladder");

    let sup = app.token_for(Role::Supervisor, None).await;
    let list = get_json(&app, &format!("/api/v1/escalations?tracking_no={no}"), &sup).await;
    assert_eq!(list["total"], 5);
    let steps: Vec<(String, String)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|e| {
            (
                e["clock"].as_str().unwrap().to_owned(),
                e["level_name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("acknowledge", "reminder"),
            ("handling", "warning"),
            ("handling", "reminder"),
            ("handling", "supervision"),
            ("handling", "accountability"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );

    let case = get_json(&app, &format!("/api/v1/complaints/{no}"), &sup).await;
    let numbers: Vec<&str> = case["letters"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|l| l["number"].as_str().unwrap())
        .collect();
    assert_eq!(
        numbers,
        [
            "兴效转〔2026〕1号",
            "兴效催〔2026〕1号",
            "兴效催〔2026〕2号",
            "兴效督〔2026〕1号",
            "兴效问〔2026〕1号"
        ]
    );
    let supervision = case["letters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["kind"] == "supervision")
        .unwrap();
    let body = supervision["body"].as_str().unwrap();
    assert!(body.contains("县公安局"), "{body}");
    assert!(
        body.contains("2026年11月30日"),
        "the missed deadline: {body}"
    );
    assert!(
        body.contains("2026年12月7日"),
        "answer before accountability: {body}"
    );

    // The warning went out as a notice; supervision and accountability are
    // copied to the office.
    let mails = outbox_subjects(&app);
    assert!(mails.iter().any(|(s, _)| s.contains("办理期限预警")));
    let office = Some("zfb@xingguo.example".to_owned());
    for kind in ["督办函", "效能问责通知"] {
        let (_, cc) = mails.iter().find(|(s, _)| s.contains(kind)).unwrap();
        assert_eq!(cc, &office, "{kind}");
    }

    // The accountability case with its provisional deduction.
    let acc = get_json(&app, "/api/v1/accountability", &sup).await;
    assert_eq!(acc["total"], 1);
    let a = &acc["items"][0];
    assert_eq!(a["unit"]["code"], "GAJ");
    assert_eq!(a["trigger"], "escalation");
    assert_eq!(a["status"], "open");
    assert_eq!(a["situation"]["code"], "B3");
    assert_eq!(a["tracking_no"], no.as_str());
    assert_eq!(a["provisional_points"], -1.0, "the change to the score");
    assert_eq!(a["score_events"][0]["kind"], "provisional");
    assert_eq!(a["score_events"][0]["points"], -1.0);

    // The citizen's timeline shows that the office pressed the unit, but
    // not the internal accountability procedure.
    let track: Value = app.track(&no, &code).await.json().await.unwrap();
    let notes: Vec<&str> = track["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["note"].as_str())
        .collect();
    assert_eq!(
        notes
            .iter()
            .filter(|n| **n == "已向承办单位发出催办函")
            .count(),
        2,
        "{notes:?}"
    );
    assert!(
        notes.contains(&"已向承办单位主要负责人发出督办函"),
        "{notes:?}"
    );
    assert!(!notes.iter().any(|n| n.contains("问责")), "{notes:?}");
    let audit = get_json(
        &app,
        "/api/v1/audit/verify",
        &app.token_for(Role::Auditor, None).await,
    )
    .await;
    assert_eq!(audit["ok"], true, "{audit}");
}

#[tokio::test]
async fn a_case_the_sweep_did_not_see_for_days_fires_every_passed_step_but_no_stale_warning() {
    let app = spawn_app().await;
    let no = routed_case_on_monday(&app).await;
    at(&app, local(2026, 12, 8, 0, 10));
    let r = sweep(&app).await;
    // Acknowledge reminder, handling reminder, supervision, accountability.
    assert_eq!(fired(&r), (0, 2, 1, 1), "{r}");
    assert_eq!(r["letters"], 4);
    assert_eq!(fired(&sweep(&app).await), (0, 0, 0, 0));
    let sup = app.token_for(Role::Supervisor, None).await;
    let list = get_json(
        &app,
        &format!("/api/v1/escalations?tracking_no={no}&level=warning"),
        &sup,
    )
    .await;
    assert_eq!(
        list["total"], 0,
        "a warning after the deadline is pointless"
    );
}

#[tokio::test]
async fn reporting_in_time_stops_the_ladder_and_an_extension_gives_the_new_deadline_its_own() {
    let app = spawn_app().await;
    let no = routed_case_on_monday(&app).await;
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    assert_eq!(
        act(&app, &no, "acknowledge", json!({}), &gaj)
            .await
            .status(),
        200
    );
    let ext = act(
        &app,
        &no,
        "extensions",
        json!({"workdays": 3, "reason": "需调取外地监控录像"}),
        &gaj,
    )
    .await;
    assert_eq!(ext.status(), 201);
    let ext: Value = ext.json().await.unwrap();
    let sup = app.token_for(Role::Supervisor, None).await;
    let decided = app
        .post_json(
            &format!("/api/v1/complaints/{no}/extensions/{}/decision", ext["id"]),
            &json!({"decision": "approve"}),
            Some(&sup),
        )
        .await;
    assert_eq!(decided.status(), 200);
    // The old deadline (Mon 30 Nov) passes without a step: the new one is
    // the end of Thursday 3 December, warned on Wednesday's end.
    at(&app, local(2026, 12, 1, 0, 10));
    assert_eq!(fired(&sweep(&app).await), (0, 0, 0, 0));
    at(&app, local(2026, 12, 3, 9, 0));
    assert_eq!(fired(&sweep(&app).await), (1, 0, 0, 0));

    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    let report = json!({
        "findings": "经调查，反映问题基本属实。",
        "measures": "批评教育，开展培训。",
        "responsible_person": "户籍室负责人",
        "rectification_deadline": "2099-12-31",
        "target": "服务规范",
        "public_reply": "经核查，已责成整改。"
    });
    assert_eq!(act(&app, &no, "report", report, &gaj).await.status(), 200);
    at(&app, local(2026, 12, 20, 9, 0));
    assert_eq!(
        fired(&sweep(&app).await),
        (0, 0, 0, 0),
        "a reported case does not climb"
    );
}

#[tokio::test]
async fn concurrent_sweeps_fire_each_step_exactly_once() {
    let app = spawn_app().await;
    at(&app, local(2026, 11, 23, 10, 0));
    let mut numbers = Vec::new();
    for _ in 0..12 {
        numbers.push(file(&app, &routed_body()).await.0);
    }
    at(&app, local(2026, 12, 1, 0, 10));
    let sup = app.token_for(Role::Supervisor, None).await;
    let empty = json!({});
    let runs = (0..4).map(|_| app.post_json("/api/v1/escalations/run", &empty, Some(&sup)));
    let mut reminders = 0;
    for resp in futures_util::future::join_all(runs).await {
        assert_eq!(resp.status(), 200);
        let r: Value = resp.json().await.unwrap();
        reminders += r["reminders"].as_i64().unwrap();
    }
    assert_eq!(
        reminders, 24,
        "an acknowledge and a handling reminder per case"
    );
    let letters = get_json(&app, "/api/v1/letters?kind=reminder&per_page=200", &sup).await;
    assert_eq!(letters["total"], 24);
    let got: HashSet<String> = letters["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["number"].as_str().unwrap().to_owned())
        .collect();
    let want: HashSet<String> = (1..=24).map(|n| format!("兴效催〔2026〕{n}号")).collect();
    assert_eq!(got, want, "gapless and unique");
    let esc = get_json(&app, "/api/v1/escalations?per_page=200", &sup).await;
    assert_eq!(esc["total"], 24);
}

#[tokio::test]
async fn only_supervisors_and_admins_run_sweeps_and_units_do_not_read_escalations() {
    let app = spawn_app().await;
    for (role, unit, status) in [
        (Role::Admin, None, 200),
        (Role::Supervisor, None, 200),
        (Role::Auditor, None, 403),
        (Role::Operator, None, 403),
        (Role::Unit, Some("GAJ"), 403),
    ] {
        let t = app.token_for(role, unit).await;
        let resp = app
            .post_json("/api/v1/escalations/run", &json!({}), Some(&t))
            .await;
        assert_eq!(resp.status(), status, "{role:?}");
    }
    assert_problem(
        app.post_json("/api/v1/escalations/run", &json!({}), None)
            .await,
        401,
    )
    .await;
    let gaj = app.token_for(Role::Unit, Some("GAJ")).await;
    assert_problem(app.get("/api/v1/escalations", Some(&gaj)).await, 403).await;
    let aud = app.token_for(Role::Auditor, None).await;
    assert_eq!(
        app.get("/api/v1/escalations", Some(&aud)).await.status(),
        200
    );
    let bad = assert_problem(
        app.get("/api/v1/escalations?level=doom&from=yesterday", Some(&aud))
            .await,
        422,
    )
    .await;
    let fields = error_fields(&bad);
    assert!(fields.contains(&"level".to_owned()) && fields.contains(&"from".to_owned()));
}

#[tokio::test]
async fn the_background_sweep_escalates_without_being_asked() {
    let app = spawn_with(Spawn {
        customise: Box::new(|s| {
            s.escalation.enabled = true;
            s.escalation.interval_ms = 50;
        }),
        ..Default::default()
    })
    .await;
    routed_case_on_monday(&app).await;
    at(&app, local(2026, 11, 25, 0, 30));
    let sup = app.token_for(Role::Supervisor, None).await;
    let mut total = 0;
    for _ in 0..200 {
        let list = get_json(&app, "/api/v1/escalations", &sup).await;
        total = list["total"].as_i64().unwrap();
        if total > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        total, 1,
        "the acknowledge reminder, fired by the server itself"
    );
}

/// Kills a child process when the test ends, however it ends.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn count(app: &TestApp, sql: &str) -> i64 {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = app.conn();
    diesel::sql_query(sql)
        .get_result::<N>(&mut *conn as &mut duban::db::DbConn)
        .unwrap()
        .n
}

#[tokio::test]
async fn two_serve_processes_sweeping_one_database_fire_each_step_and_number_each_letter_once() {
    use diesel::RunQueryDsl;
    let Some(admin_url) = postgres_or_skip("for two processes") else {
        return;
    };
    const CASES: i64 = 8;
    let db = std::sync::Arc::new(TestDb::create_postgres(&admin_url));
    // An in-process instance (its sweep off) files the cases.
    let app = spawn_with(Spawn {
        db: Some(db.clone()),
        ..Default::default()
    })
    .await;
    for _ in 0..CASES {
        file(&app, &routed_body()).await;
    }
    // Thirty days ago, as far as the clocks are concerned: every rung of the
    // ladder is due (deadlines moved behind the service's back).
    app.tamper();
    {
        let mut conn = app.conn();
        let c = &mut *conn as &mut duban::db::DbConn;
        diesel::sql_query(
            "UPDATE assignments SET assigned_at = assigned_at - INTERVAL '30 days', \
             ack_due_at = ack_due_at - INTERVAL '30 days', due_at = due_at - INTERVAL '30 days'",
        )
        .execute(c)
        .unwrap();
        diesel::sql_query(
            "UPDATE complaints SET ack_due_at = ack_due_at - INTERVAL '30 days', \
             due_at = due_at - INTERVAL '30 days'",
        )
        .execute(c)
        .unwrap();
    }
    let secrets = duban::config::Secrets::generate();
    let data = tempfile::tempdir().unwrap();
    let spawn = || {
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_duban"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", db.url())
            .env("DUBAN_CONFIG_DIR", config_dir())
            .env("DUBAN_PATHS__DATA_DIR", data.path())
            .env("DUBAN_JWT_SECRET", &secrets.jwt_secret)
            .env("DUBAN_PII_KEY", &secrets.pii_key)
            .env("DUBAN_AUDIT_SIGNING_KEY", &secrets.audit_signing_key)
            .env("DUBAN_ESCALATION__INTERVAL_MS", "100")
            .env("DUBAN_ESCALATION__BATCH_SIZE", "3")
            .env("DUBAN_LOG", "warn")
            .args(["serve", "--bind", "127.0.0.1:0"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("duban serve starts");
        Running(child)
    };
    let mut a = spawn();
    let mut b = spawn();
    // Four steps per case: the acknowledge reminder, then the handling
    // reminder, supervision and accountability (the warning is stale).
    let want = CASES * 4;
    let mut got = 0;
    for _ in 0..600 {
        got = count(&app, "SELECT COUNT(*) AS n FROM escalations");
        if got >= want {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(got, want, "every step fired");
    // Let both keep sweeping for a while: nothing may happen twice.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(a.0.try_wait().unwrap().is_none(), "instance a still runs");
    assert!(b.0.try_wait().unwrap().is_none(), "instance b still runs");
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM escalations"), want);
    for (kind, n) in [
        ("transfer", CASES),
        ("reminder", CASES * 2),
        ("supervision", CASES),
        ("accountability", CASES),
    ] {
        assert_eq!(
            count(
                &app,
                &format!("SELECT COUNT(*) AS n FROM letters WHERE kind = '{kind}'")
            ),
            n,
            "{kind} letters"
        );
        assert_eq!(
            count(
                &app,
                &format!(
                    "SELECT COUNT(DISTINCT seq) AS n FROM letters WHERE kind = '{kind}' AND seq BETWEEN 1 AND {n}"
                )
            ),
            n,
            "{kind} numbers 1..{n}, each once"
        );
    }
    assert_eq!(
        count(&app, "SELECT COUNT(*) AS n FROM accountability_cases"),
        CASES
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) AS n FROM score_events WHERE kind = 'provisional'"
        ),
        CASES
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) AS n FROM (SELECT letter_id FROM outbox WHERE letter_id IS NOT NULL \
             GROUP BY letter_id HAVING COUNT(*) > 1) d"
        ),
        0,
        "one e-mail per letter"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) AS n FROM complaints WHERE next_escalation_at IS NOT NULL"
        ),
        0,
        "nothing left on the schedule"
    );
}

/// Makes every escalation of one case fail to insert, as a fault would.
fn break_escalations_of(app: &TestApp, tracking_no: &str, broken: bool) {
    use diesel::RunQueryDsl;
    let mut conn = app.conn();
    let c = &mut *conn as &mut duban::db::DbConn;
    let statements: Vec<String> = match (&*c, broken) {
        (duban::db::DbConn::Sqlite(_), true) => vec![format!(
            "CREATE TRIGGER fail_one BEFORE INSERT ON escalations \
             WHEN NEW.complaint_id = (SELECT id FROM complaints WHERE tracking_no = '{tracking_no}') \
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
        )],
        (duban::db::DbConn::Sqlite(_), false) => vec!["DROP TRIGGER fail_one".into()],
        (duban::db::DbConn::Pg(_), true) => vec![
            format!(
                "CREATE FUNCTION fail_one() RETURNS trigger AS $$ BEGIN \
                 IF NEW.complaint_id = (SELECT id FROM complaints WHERE tracking_no = '{tracking_no}') \
                 THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            ),
            "CREATE TRIGGER fail_one BEFORE INSERT ON escalations FOR EACH ROW EXECUTE FUNCTION fail_one()"
                .into(),
        ],
        (duban::db::DbConn::Pg(_), false) => vec![
            "DROP TRIGGER fail_one ON escalations".into(),
            "DROP FUNCTION fail_one()".into(),
        ],
    };
    for sql in statements {
        diesel::sql_query(sql).execute(c).unwrap();
    }
}

#[tokio::test]
async fn a_case_that_cannot_be_escalated_is_held_back_and_the_others_still_climb() {
    let app = spawn_app().await;
    at(&app, local(2026, 11, 23, 10, 0));
    let (a, _) = file(&app, &routed_body()).await;
    let (b, _) = file(&app, &routed_body()).await;
    let (c, _) = file(&app, &routed_body()).await;
    break_escalations_of(&app, &b, true);
    at(&app, local(2026, 12, 1, 0, 10));
    let r = sweep(&app).await;
    assert_eq!(r["reminders"], 4, "two per healthy case: {r}");
    assert_eq!(r["failed_cases"], 1);
    let sup = app.token_for(Role::Supervisor, None).await;
    for (no, n) in [(&a, 2), (&b, 0), (&c, 2)] {
        let list = get_json(&app, &format!("/api/v1/escalations?tracking_no={no}"), &sup).await;
        assert_eq!(list["total"], n, "{no}");
    }
    let letters = get_json(&app, "/api/v1/letters?kind=reminder", &sup).await;
    assert_eq!(letters["total"], 4, "no letter of the failed case survives");
    // Held back for an hour, then retried once the fault is gone.
    assert_eq!(sweep(&app).await["failed_cases"], 0);
    break_escalations_of(&app, &b, false);
    at(&app, local(2026, 12, 1, 1, 20));
    let r = sweep(&app).await;
    assert_eq!(r["reminders"], 2, "{r}");
    let letters = get_json(
        &app,
        "/api/v1/letters?kind=reminder",
        &app.token_for(Role::Supervisor, None).await,
    )
    .await;
    let numbers: HashSet<String> = letters["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["number"].as_str().unwrap().to_owned())
        .collect();
    let want: HashSet<String> = (1..=6).map(|n| format!("兴效催〔2026〕{n}号")).collect();
    assert_eq!(numbers, want, "still gapless");
}
