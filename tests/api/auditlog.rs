//! The tamper-evident audit log (README, "The audit log"): one log over audit
//! events, score events and letters, with MACs, a Merkle tree and signed
//! checkpoints; every kind of tampering an administrator of the database
//! could try, done here by editing the database directly, is found and named.

use diesel::prelude::*;
use duban::auth::policy::Role;
use duban::db::DbConn;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::workflow::{file, routed_body};

async fn verify(app: &TestApp, auditor: &str) -> Value {
    ok_json(
        app.get("/api/v1/audit/verify", Some(auditor)).await,
        "verify",
    )
    .await
}

async fn verify_with(app: &TestApp, auditor: &str, outside: &[Value]) -> Value {
    ok_json(
        app.post_json(
            "/api/v1/audit/verify",
            &json!({ "checkpoints": outside }),
            Some(auditor),
        )
        .await,
        "verify against checkpoints",
    )
    .await
}

async fn checkpoint(app: &TestApp, auditor: &str) -> Value {
    let resp = app
        .post_json("/api/v1/audit/checkpoints", &json!({}), Some(auditor))
        .await;
    assert_eq!(resp.status(), 201);
    resp.json().await.unwrap()
}

/// The findings of one kind.
fn found<'a>(report: &'a Value, kind: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == kind)
        .collect()
}

fn assert_found(report: &Value, kind: &str) -> Value {
    assert_eq!(report["ok"], false, "{report:#}");
    let list = found(report, kind);
    assert!(!list.is_empty(), "no {kind} in {report:#}");
    let f = list[0].clone();
    assert!(
        f["message"].as_str().is_some_and(|m| !m.is_ascii()),
        "a finding says what it means, in Chinese: {f}"
    );
    f
}

/// Runs statements written for both backends, as an administrator of the
/// database would.
fn exec(app: &TestApp, statements: &[&str]) {
    app.tamper();
    let mut conn = app.conn();
    for sql in statements {
        diesel::sql_query(*sql)
            .execute(&mut *conn as &mut DbConn)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

fn scalar(app: &TestApp, sql: &str) -> i64 {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = app.conn();
    diesel::sql_query(sql)
        .get_result::<N>(&mut *conn as &mut DbConn)
        .unwrap()
        .n
}

/// The last event of a case's chain, as stored.
fn last_event(app: &TestApp, no: &str) -> duban::db::audit::AuditEvent {
    use duban::db::schema::audit_events::dsl as a;
    let mut conn = app.conn();
    a::audit_events
        .filter(a::chain.eq(format!("case:{no}")))
        .order(a::seq.desc())
        .select(duban::db::audit::AuditEvent::as_select())
        .first(&mut *conn as &mut DbConn)
        .unwrap()
}

/// Rewrites the last event of a case's chain and recomputes its plain
/// SHA-256, as anyone with the database can; returns its id.
fn rewrite_last_event(app: &TestApp, no: &str) -> i64 {
    use duban::db::schema::audit_events::dsl as a;
    app.tamper();
    let mut ev = last_event(app, no);
    ev.summary = "无人查看举报人身份".into();
    let hash = duban::domain::audit::chain_hash(&ev);
    let mut conn = app.conn();
    diesel::update(a::audit_events.find(ev.id))
        .set((a::summary.eq(&ev.summary), a::hash.eq(hash)))
        .execute(&mut *conn as &mut DbConn)
        .unwrap();
    ev.id
}

async fn accountability_case(app: &TestApp, sup: &str) -> String {
    let (no, _) = file(app, &routed_body()).await;
    let resp = app
        .post_json(
            "/api/v1/accountability",
            &json!({
                "unit": "JTJ",
                "person": "某科长",
                "tracking_no": no,
                "situation": "A2",
                "reason": "窗口工作人员对办事群众态度恶劣，经核查属实。",
                "provisional_points": -0.5
            }),
            Some(sup),
        )
        .await;
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    no
}

async fn view_identity(app: &TestApp, sup: &str, no: &str) {
    app.identity(no, sup).await;
}

#[tokio::test]
async fn every_event_score_and_letter_is_an_entry_and_checkpoints_are_signed() {
    let app = spawn_app().await;
    let aud = app.token_for(Role::Auditor, None).await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let no = accountability_case(&app, &sup).await;
    view_identity(&app, &sup, &no).await;
    let cp = checkpoint(&app, &aud).await;
    assert_eq!(cp["id"], 1);
    assert!(cp["tree_size"].as_i64().unwrap() > 3, "{cp}");
    assert_eq!(cp["root_hash"].as_str().unwrap().len(), 64);
    assert!(cp["signature"].as_str().unwrap().len() > 80);

    let report = verify(&app, &aud).await;
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(report["entries"], cp["tree_size"]);
    assert_eq!(report["tree_head_size"], cp["tree_size"]);
    assert_eq!(report["root_hash"], cp["root_hash"]);
    assert_eq!(report["checkpoints_checked"], 1);
    assert!(report["records_checked"].as_u64().unwrap() >= 1);
    // Every row of the three tables has its place, once.
    let placed = scalar(
        &app,
        "SELECT (SELECT count(*) FROM audit_events WHERE log_seq IS NOT NULL) \
         + (SELECT count(*) FROM score_events WHERE log_seq IS NOT NULL) \
         + (SELECT count(*) FROM letters WHERE log_seq IS NOT NULL) AS n",
    );
    assert_eq!(placed, report["entries"].as_i64().unwrap());
    assert!(
        scalar(
            &app,
            "SELECT count(*) AS n FROM score_events WHERE log_seq IS NOT NULL"
        ) >= 1
    );
    assert!(
        scalar(
            &app,
            "SELECT count(*) AS n FROM letters WHERE log_seq IS NOT NULL"
        ) >= 1
    );
    assert_eq!(
        scalar(
            &app,
            "SELECT count(*) AS n FROM audit_events WHERE log_seq IS NULL"
        ),
        0
    );

    let auditor = aud.clone();
    let list = ok_json(
        app.get("/api/v1/audit/checkpoints", Some(&auditor)).await,
        "checkpoints",
    )
    .await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0], cp);
    // The checkpoint as served verifies from outside as well.
    let outside = verify_with(&app, &aud, std::slice::from_ref(&cp)).await;
    assert_eq!(outside["ok"], true, "{outside:#}");
    assert_eq!(outside["outside_checkpoints_checked"], 1);
}

#[tokio::test]
async fn deleting_the_last_events_of_a_chain_is_named() {
    let app = spawn_app().await;
    let aud = app.token_for(Role::Auditor, None).await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let no = app.file_complaint().await["tracking_no"]
        .as_str()
        .unwrap()
        .to_owned();
    view_identity(&app, &sup, &no).await;
    view_identity(&app, &sup, &no).await;
    assert_eq!(verify(&app, &aud).await["ok"], true);
    exec(
        &app,
        &["DELETE FROM audit_events WHERE action = 'identity_viewed'"],
    );
    let report = verify(&app, &aud).await;
    // The chain itself still links: only the log knows.
    assert_eq!(report["broken_total"], 0, "{report:#}");
    assert_found(&report, "entries_removed");
}

#[tokio::test]
async fn deleting_a_whole_chain_is_named() {
    let app = spawn_app().await;
    let aud = app.token_for(Role::Auditor, None).await;
    let first = app.file_complaint().await["tracking_no"]
        .as_str()
        .unwrap()
        .to_owned();
    app.file_complaint().await;
    assert_eq!(verify(&app, &aud).await["ok"], true);
    exec(
        &app,
        &[&format!(
            "DELETE FROM audit_events WHERE chain = 'case:{first}'"
        )],
    );
    let report = verify(&app, &aud).await;
    let f = assert_found(&report, "entries_missing");
    assert!(f["position"].as_i64().unwrap() > 1, "{f}");
    // And the case left without any entry is named too.
    let orphan = assert_found(&report, "record_without_entry");
    assert_eq!(orphan["table"], "complaints");
}

#[tokio::test]
async fn a_rewritten_event_with_its_hash_recomputed_is_named() {
    let app = spawn_app().await;
    let aud = app.token_for(Role::Auditor, None).await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let no = app.file_complaint().await["tracking_no"]
        .as_str()
        .unwrap()
        .to_owned();
    view_identity(&app, &sup, &no).await;
    assert_eq!(verify(&app, &aud).await["ok"], true);
    // The chain's last event, rewritten, its plain SHA-256 recomputed.
    let id = rewrite_last_event(&app, &no);
    let report = verify(&app, &aud).await;
    assert_eq!(
        report["broken_total"], 0,
        "the chain alone is fooled: {report:#}"
    );
    let f = assert_found(&report, "entry_altered");
    assert_eq!(f["table"], "audit_events");
    assert_eq!(f["row_id"], id);
}

#[tokio::test]
async fn a_case_changed_without_an_entry_is_named() {
    let app = spawn_app().await;
    let aud = app.token_for(Role::Auditor, None).await;
    let no = app.file_complaint().await["tracking_no"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(verify(&app, &aud).await["ok"], true);
    exec(
        &app,
        &[&format!(
            "UPDATE complaints SET status = 'closed', public_reply = '已办结（伪造）' \
             WHERE tracking_no = '{no}'"
        )],
    );
    let report = verify(&app, &aud).await;
    let f = assert_found(&report, "record_changed");
    assert_eq!(f["table"], "complaints");
    let id = scalar(
        &app,
        &format!("SELECT id AS n FROM complaints WHERE tracking_no = '{no}'"),
    );
    assert_eq!(f["row_id"], id);
}

#[tokio::test]
async fn an_edited_score_event_is_named() {
    let app = spawn_app().await;
    let aud = app.token_for(Role::Auditor, None).await;
    let sup = app.token_for(Role::Supervisor, None).await;
    accountability_case(&app, &sup).await;
    assert_eq!(verify(&app, &aud).await["ok"], true);
    exec(&app, &["UPDATE score_events SET centipoints = 5000"]);
    let report = verify(&app, &aud).await;
    let f = assert_found(&report, "entry_altered");
    assert_eq!(f["table"], "score_events");
}

#[tokio::test]
async fn deleting_the_admin_chains_last_event_is_named() {
    let app = spawn_app().await;
    let aud = app.token_for(Role::Auditor, None).await;
    app.create_user("zfb.extra", Role::Admin, None);
    assert_eq!(verify(&app, &aud).await["ok"], true);
    let last = scalar(
        &app,
        "SELECT max(seq) AS n FROM audit_events WHERE chain = 'admin'",
    );
    exec(
        &app,
        &[&format!(
            "DELETE FROM audit_events WHERE chain = 'admin' AND seq = {last}"
        )],
    );
    let report = verify(&app, &aud).await;
    assert!(
        !found(&report, "entries_removed").is_empty()
            || !found(&report, "entries_missing").is_empty(),
        "{report:#}"
    );
    assert_eq!(report["ok"], false);
}

#[tokio::test]
async fn an_inserted_entry_is_named() {
    use duban::db::schema::audit_events::dsl as a;
    let app = spawn_app().await;
    let aud = app.token_for(Role::Auditor, None).await;
    let no = app.file_complaint().await["tracking_no"]
        .as_str()
        .unwrap()
        .to_owned();
    let size = verify(&app, &aud).await["entries"].as_i64().unwrap();
    app.tamper();
    {
        // A well-linked event at the end of the chain, placed in the log
        // after the last entry, with a made-up MAC.
        let mut ev = last_event(&app, &no);
        let mut conn = app.conn();
        let conn = &mut *conn as &mut DbConn;
        ev.prev_hash = ev.hash.clone();
        ev.seq += 1;
        ev.action = "closed".into();
        ev.summary = "办结".into();
        let hash = duban::domain::audit::chain_hash(&ev);
        diesel::insert_into(a::audit_events)
            .values((
                a::chain.eq(&ev.chain),
                a::seq.eq(ev.seq),
                a::complaint_id.eq(ev.complaint_id),
                a::actor_id.eq(ev.actor_id),
                a::actor_role.eq(&ev.actor_role),
                a::action.eq(&ev.action),
                a::summary.eq(&ev.summary),
                a::public_note.eq(&ev.public_note),
                a::created_at.eq(ev.created_at),
                a::prev_hash.eq(&ev.prev_hash),
                a::hash.eq(&hash),
                a::unit_note.eq(&ev.unit_note),
                a::log_seq.eq(size + 1),
                a::log_mac.eq("ab".repeat(32)),
            ))
            .execute(conn)
            .unwrap();
    }
    let report = verify(&app, &aud).await;
    assert_eq!(report["broken_total"], 0, "{report:#}");
    let f = assert_found(&report, "entry_altered");
    assert_eq!(f["position"], size + 1);
    assert_found(&report, "entries_unknown");
}

#[tokio::test]
async fn a_reordered_pair_is_named() {
    let app = spawn_app().await;
    let aud = app.token_for(Role::Auditor, None).await;
    app.file_complaint().await;
    app.file_complaint().await;
    let cp = checkpoint(&app, &aud).await;
    let (x, y) = (
        scalar(&app, "SELECT min(log_seq) AS n FROM audit_events"),
        scalar(&app, "SELECT max(log_seq) AS n FROM audit_events"),
    );
    exec(
        &app,
        &[
            &format!("UPDATE audit_events SET log_seq = -1 WHERE log_seq = {x}"),
            &format!("UPDATE audit_events SET log_seq = {x} WHERE log_seq = {y}"),
            &format!("UPDATE audit_events SET log_seq = {y} WHERE log_seq = -1"),
        ],
    );
    let report = verify(&app, &aud).await;
    let altered: Vec<i64> = found(&report, "entry_altered")
        .iter()
        .map(|f| f["position"].as_i64().unwrap())
        .collect();
    assert_eq!(altered, [x, y], "{report:#}");
    let f = assert_found(&report, "checkpoint_mismatch");
    assert_eq!(f["checkpoint_id"], cp["id"]);
}

#[tokio::test]
async fn a_checkpoint_with_a_bad_signature_is_named() {
    let app = spawn_app().await;
    let aud = app.token_for(Role::Auditor, None).await;
    app.file_complaint().await;
    let cp = checkpoint(&app, &aud).await;
    // A smaller log "signed" by copying a signature onto another head.
    exec(
        &app,
        &["UPDATE audit_checkpoints SET tree_size = tree_size - 1"],
    );
    let report = verify(&app, &aud).await;
    let f = assert_found(&report, "signature_invalid");
    assert_eq!(f["checkpoint_id"], cp["id"]);
    // A checkpoint from outside with its root changed is refused alike.
    let mut forged = cp.clone();
    forged["root_hash"] = json!("00".repeat(32));
    let report = verify_with(&app, &aud, &[forged]).await;
    assert!(!found(&report, "signature_invalid").is_empty());
}

#[tokio::test]
async fn a_log_truncated_below_a_checkpoint_is_named() {
    let app = spawn_app().await;
    let aud = app.token_for(Role::Auditor, None).await;
    for _ in 0..3 {
        app.file_complaint().await;
    }
    let cp = checkpoint(&app, &aud).await;
    let size = cp["tree_size"].as_i64().unwrap();
    let keep = size - 2;
    exec(
        &app,
        &[
            &format!("DELETE FROM audit_events WHERE log_seq > {keep}"),
            &format!("DELETE FROM letters WHERE log_seq > {keep}"),
        ],
    );
    let report = verify(&app, &aud).await;
    let removed = found(&report, "entries_removed");
    assert!(
        removed.iter().any(|f| f["checkpoint_id"] == cp["id"]),
        "{report:#}"
    );
    assert_eq!(report["entries"], keep);
}

#[tokio::test]
async fn a_rehashed_log_is_caught_by_the_checkpoints_kept_outside() {
    let app = spawn_app().await;
    let aud = app.token_for(Role::Auditor, None).await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let no = app.file_complaint().await["tracking_no"]
        .as_str()
        .unwrap()
        .to_owned();
    view_identity(&app, &sup, &no).await;
    let kept = checkpoint(&app, &aud).await;
    // History rewritten and every trace of the old log wiped: positions,
    // MACs, the tree head and the stored checkpoints. The service then
    // seals the rewritten rows as new, consistently.
    rewrite_last_event(&app, &no);
    exec(
        &app,
        &[
            "UPDATE audit_events SET log_seq = NULL, log_mac = NULL, record_digest = NULL",
            "UPDATE letters SET log_seq = NULL, log_mac = NULL",
            "UPDATE score_events SET log_seq = NULL, log_mac = NULL",
            "DELETE FROM audit_tree",
            "DELETE FROM audit_checkpoints",
        ],
    );
    // On its own the database now tells a consistent story…
    let inside = verify(&app, &aud).await;
    assert_eq!(inside["ok"], true, "{inside:#}");
    assert_eq!(inside["entries"], kept["tree_size"]);
    // …which the checkpoint kept outside contradicts.
    let report = verify_with(&app, &aud, std::slice::from_ref(&kept)).await;
    let f = assert_found(&report, "checkpoint_mismatch");
    assert!(f["message"].as_str().unwrap().contains("外部"), "{f}");
}

#[tokio::test]
async fn checkpoints_are_emailed_and_appended_to_a_file_outside_the_database() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let file_path = dir.path().join("checkpoints.jsonl");
    let path = file_path.clone();
    let app = spawn_with(Spawn {
        customise: Box::new(move |s| {
            s.audit.checkpoint_email = "shenji@example.gov.cn".into();
            s.audit.checkpoint_file = path.display().to_string();
        }),
        dir: Some(dir.clone()),
        ..Default::default()
    })
    .await;
    let aud = app.token_for(Role::Auditor, None).await;
    app.file_complaint().await;
    let first = checkpoint(&app, &aud).await;
    app.file_complaint().await;
    let second = checkpoint(&app, &aud).await;
    let text = std::fs::read_to_string(&file_path).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines, [first.clone(), second.clone()]);
    assert_eq!(
        scalar(
            &app,
            "SELECT count(*) AS n FROM outbox WHERE recipient = 'shenji@example.gov.cn' \
             AND subject LIKE '审计日志检查点%'"
        ),
        2
    );
    // The file as kept is what `duban audit verify --checkpoints` reads.
    let parsed = duban::domain::audit_log::read_checkpoint_lines(&text).unwrap();
    assert_eq!(parsed.len(), 2);
    let report = verify_with(&app, &aud, &lines).await;
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(report["outside_checkpoints_checked"], 2);
}

#[tokio::test]
async fn outside_checkpoints_that_cannot_be_read_are_named_field_by_field() {
    let app = spawn_app().await;
    let aud = app.token_for(Role::Auditor, None).await;
    let auditor = aud.clone();
    let problem = assert_problem(
        app.post_json(
            "/api/v1/audit/verify",
            &json!({"checkpoints": [{"tree_size": "many"}, {"tree_size": 1}], "extra": 1}),
            Some(&auditor),
        )
        .await,
        422,
    )
    .await;
    let mut fields = error_fields(&problem);
    fields.sort();
    assert_eq!(fields, ["checkpoints[0]", "checkpoints[1]", "extra"]);
    let problem = assert_problem(
        app.post_json("/api/v1/audit/verify", &json!({}), Some(&auditor))
            .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&problem), ["checkpoints"]);
    assert!(
        duban::domain::audit_log::read_checkpoint_lines("# kept\n\n{\"tree_size\": 1}\n")
            .unwrap_err()
            .starts_with("line 3:")
    );
}

#[tokio::test]
async fn the_background_sequencer_places_entries_and_signs_when_due() {
    let app = spawn_with(Spawn {
        customise: Box::new(|s| {
            s.audit.background = true;
            s.audit.sequence_interval_ms = 50;
        }),
        ..Default::default()
    })
    .await;
    let aud = app.token_for(Role::Auditor, None).await;
    app.file_complaint().await;
    let mut placed = false;
    for _ in 0..200 {
        if scalar(
            &app,
            "SELECT count(*) AS n FROM audit_events WHERE log_seq IS NULL",
        ) == 0
            && scalar(&app, "SELECT count(*) AS n FROM audit_checkpoints") == 1
        {
            placed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(placed, "entries placed and the first checkpoint signed");
    assert_eq!(verify(&app, &aud).await["ok"], true);
}

#[tokio::test]
async fn a_tree_head_edited_in_the_database_stops_the_sequencer_and_is_named() {
    let app = spawn_app().await;
    let aud = app.token_for(Role::Auditor, None).await;
    app.file_complaint().await;
    assert_eq!(verify(&app, &aud).await["ok"], true);
    exec(&app, &["UPDATE audit_tree SET size = size - 1"]);
    app.file_complaint().await;
    // Nothing is added to a log whose head cannot be trusted; the report
    // says why.
    let report = verify(&app, &aud).await;
    assert_found(&report, "tree_head_invalid");
    assert!(report["unsequenced"].as_i64().unwrap() > 0, "{report:#}");
}

#[tokio::test]
async fn a_verification_finding_many_broken_chains_lists_the_first_100_and_counts_all() {
    let app = spawn_app().await;
    let aud = app.token_for(Role::Auditor, None).await;
    app.file_complaint().await;
    // 150 chains written behind the service's back, each with a hash that
    // is not its own.
    exec(
        &app,
        &[
            "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 150) \
           INSERT INTO audit_events (chain, seq, actor_role, action, summary, created_at, \
             prev_hash, hash) \
           SELECT 'case:FAKE' || i, 1, 'public', 'received', '伪造', '2026-12-01 00:00:00', \
             '0000000000000000000000000000000000000000000000000000000000000000', 'forged' \
           FROM s",
        ],
    );
    let resp = app.get("/api/v1/audit/verify", Some(&aud)).await;
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    let report: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["ok"], false);
    assert_eq!(report["broken_total"], 150);
    assert_eq!(report["broken"].as_array().unwrap().len(), 100);
    assert_eq!(report["findings"].as_array().unwrap().len(), 100);
    assert!(
        report["findings_total"].as_u64().unwrap() >= 150,
        "{report:#}"
    );
    assert!(
        text.len() < 100_000,
        "the answer stays small: {} bytes",
        text.len()
    );
}

#[tokio::test]
async fn a_part_of_the_trail_is_verified_by_chain_and_by_period() {
    let app = spawn_app().await;
    let aud = app.token_for(Role::Auditor, None).await;
    let sup = app.token_for(Role::Supervisor, None).await;
    let a = app.file_complaint().await["tracking_no"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = app.file_complaint().await["tracking_no"]
        .as_str()
        .unwrap()
        .to_owned();
    view_identity(&app, &sup, &b).await;
    let part = |q: String| {
        let app = &app;
        let aud = aud.clone();
        async move {
            ok_json(
                app.get(&format!("/api/v1/audit/verify?{q}"), Some(&aud))
                    .await,
                "verify a part",
            )
            .await
        }
    };
    let only_a = part(format!("chain={a}")).await;
    assert_eq!(only_a["ok"], true, "{only_a:#}");
    assert_eq!(only_a["scope"]["whole"], false);
    assert_eq!(only_a["scope"]["chain"], format!("case:{a}"));
    assert_eq!(only_a["chains"], 1);
    assert!(
        only_a["entries"].as_i64().unwrap() >= 2,
        "the event and the letter"
    );
    assert_eq!(only_a["records_checked"], 1, "the case's state");

    // B's last event rewritten: B's chain and today's entries name it, A's
    // chain and another period do not.
    let id = rewrite_last_event(&app, &b);
    assert_eq!(part(format!("chain={a}")).await["ok"], true);
    let only_b = part(format!("chain=case:{b}")).await;
    assert_eq!(assert_found(&only_b, "entry_altered")["row_id"], id);
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m-%d")
        .to_string();
    let period = part(format!("from={today}&to={today}")).await;
    assert_eq!(assert_found(&period, "entry_altered")["row_id"], id);
    assert!(period["chains"].as_u64().unwrap() >= 2);
    let past = part("from=2020-01-01&to=2020-01-31".into()).await;
    assert_eq!(
        (past["ok"].clone(), past["events"].clone()),
        (json!(true), json!(0))
    );

    // The first event of B's chain deleted: the part starting after it is
    // held against the link before it, and the gap is named.
    exec(
        &app,
        &[&format!(
            "DELETE FROM audit_events WHERE chain = 'case:{b}' AND seq = 1"
        )],
    );
    let gap = part(format!("chain={b}")).await;
    assert_eq!(gap["broken_total"], 1, "{gap:#}");
    assert!(
        gap["broken"][0]["problem"]
            .as_str()
            .unwrap()
            .contains("missing")
    );

    // A chain that is not there and a bad date are bad fields.
    let bad = assert_problem(
        app.get(
            "/api/v1/audit/verify?chain=XG000000000000&from=yesterday",
            Some(&aud),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&bad), vec!["from"]);
    let bad = assert_problem(
        app.get("/api/v1/audit/verify?chain=case:XG0000", Some(&aud))
            .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&bad), vec!["chain"]);
}
