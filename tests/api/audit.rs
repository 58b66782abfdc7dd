//! The audit chain and its verification.

use diesel::prelude::*;
use duban::auth::policy::Role;
use duban::db::DbConn;
use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn an_intact_trail_verifies() {
    let app = spawn_app().await;
    for _ in 0..3 {
        app.file_complaint().await;
    }
    let auditor = app.token_for(Role::Auditor, None).await;
    let report: Value = app
        .get("/api/v1/audit/verify", Some(&auditor))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["ok"], true);
    // Three case chains plus the admin chain (user creation).
    assert_eq!(report["chains"], 4);
    assert!(report["first_broken"].is_null());
}

#[tokio::test]
async fn an_edited_audit_row_is_named() {
    let app = spawn_app().await;
    let no = app.file_complaint().await["tracking_no"]
        .as_str()
        .unwrap()
        .to_owned();
    app.file_complaint().await;
    let sup = app.token_for(Role::Supervisor, None).await;
    app.identity(&no, &sup).await; // identity_viewed
    use duban::db::schema::audit_events::dsl as a;
    app.tamper();
    let chain = format!("case:{no}");
    let target: i64 = {
        let mut conn = app.conn();
        let conn = &mut *conn as &mut DbConn;
        let id: i64 = a::audit_events
            .filter(a::chain.eq(&chain))
            .filter(a::seq.eq(1))
            .select(a::id)
            .first(conn)
            .unwrap();
        diesel::update(a::audit_events.find(id))
            .set(a::summary.eq("received via visit"))
            .execute(conn)
            .unwrap();
        id
    };
    let admin = app.token_for(Role::Admin, None).await;
    let report: Value = app
        .get("/api/v1/audit/verify", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["ok"], false);
    assert_eq!(report["first_broken"]["chain"], chain.as_str());
    assert_eq!(report["first_broken"]["event_id"], target);
    assert_eq!(report["first_broken"]["seq"], 1);
    assert_eq!(report["broken"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_deleted_audit_row_is_named() {
    let app = spawn_app().await;
    let no = app.file_complaint().await["tracking_no"]
        .as_str()
        .unwrap()
        .to_owned();
    let sup = app.token_for(Role::Supervisor, None).await;
    app.identity(&no, &sup).await;
    app.identity(&no, &sup).await;
    use duban::db::schema::audit_events::dsl as a;
    app.tamper();
    {
        let mut conn = app.conn();
        diesel::delete(
            a::audit_events
                .filter(a::chain.eq(format!("case:{no}")))
                .filter(a::seq.eq(2)),
        )
        .execute(&mut *conn as &mut DbConn)
        .unwrap();
    }
    let auditor = app.token_for(Role::Auditor, None).await;
    let report: Value = app
        .get("/api/v1/audit/verify", Some(&auditor))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["ok"], false);
    assert_eq!(report["first_broken"]["seq"], 3);
    assert!(
        report["first_broken"]["problem"]
            .as_str()
            .unwrap()
            .contains("missing")
    );
}

#[tokio::test]
async fn only_auditors_and_admins_verify() {
    let app = spawn_app().await;
    for role in [Role::Supervisor, Role::Operator] {
        let t = app.token_for(role, None).await;
        assert_problem(app.get("/api/v1/audit/verify", Some(&t)).await, 403).await;
    }
    let unit = app.token_for(Role::Unit, Some("GAJ")).await;
    assert_problem(app.get("/api/v1/audit/verify", Some(&unit)).await, 403).await;
    assert_problem(app.get("/api/v1/audit/verify", None).await, 401).await;
}
