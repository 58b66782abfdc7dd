//! Log-in, tokens and revocation.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use duban::auth::policy::Role;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::*;

/// A route any staff token may read.
const PROBE: &str = "/api/v1/complaints/XG20990101000001";

async fn status_with(app: &TestApp, token: &str) -> u16 {
    app.get(PROBE, Some(token)).await.status().as_u16()
}

/// An RSA key the attacker made (PKCS#1 DER, base64; test data only,
/// never trusted anywhere).
const ATTACKER_RSA_KEY: &str = concat!(
    "MIIEpAIBAAKCAQEAzjSfP4acIXrr9UA7dNTpHguEkNH5OpzONVUcVKdb895khpcGNVw6kpjYfRw8",
    "m+nc+pjaMflBO124uG96wxFzpttG160LRnn3JiABYjHQ96QOSl9TR4k0esWqn+fs2Hdj+iF6tRPT",
    "4E3ePWe7Cv+UPbMXE1TFWd+xCQxu/8C/uMsaZmuujCgJwMS1blCWKjmX3SB2lm2pQxXRrpPSwqpx",
    "2t3sPqI9NN6NUb0Zc6LLJ9Pl0hHt35twh55/9q6+sHgxuOKvAg85xnaZD0I2bKQX2oN7CVizFwKV",
    "P0Q7liul/8ao9tnZUfoqFyV94TKiuBLIA4qDj0epeMF2hBXxJQMczwIDAQABAoIBACOpShksaHgJ",
    "0CDb+OxdnetKRqTdC2MtlyP2Ei45u1dTkMMN/07fImoT8OzCI2E7crIMGUAnQTbJIJcVAIAX1o52",
    "wauvC5Imqa14P4UB5IfPYYFPNxHaEq9g2/9Hlthg3XN2ssf6I9xY2yR3eguO484/2K/JK1A9tVpB",
    "QjkM1ptYhR7eCjftGo4tIlWr5HDEiKtGo69UcQlq4Tz3eZgel+D2/7AD++lwS8ikYOHb8PYX7tXl",
    "WC9W2s40MNpL5tXLsxgB6EKp1GK9XWkpOyildNMDdfln8uvGaHU9GDC0iTLaazmvHHc4g7+KdIyF",
    "XmOQx+WuCnd/KJPb8jw1TqpXfYECgYEA86hCFC9xbe9PmH8bc8v3DKikw1BpnWeglw32CO1ziQEH",
    "U3ZfhgKHbs3RSxyGaTlAEaKfK0bhBJpgp+nM1Y1PIxVM3QvNxUmNGSC2MiwKaJzyq57rV8cOsFr3",
    "FT6y7YUBPUa5VhzDz1ogk0TxPyawO5aN9eF36/Rg01vNVUXMy+ECgYEA2Kaw61B8jKfzIuygpTjJ",
    "8UHHqTNPnSOxVy5D7M56tytykTcf42PBedXobcDYGzvwo9ptVmPOYpjVmqXqD8SN6QQNy7cONEh4",
    "j9I1XbMC/yRxTUAZ3jt1fhWNCdduvUgj1Qfv8oI2JuCoIJ2/fmFLKR+PXXGabvtmDlnwor8Lfq8C",
    "gYEApKvenM3Dl0zZOnMNFqGOgduoHuhFuL/EZNJmqXnxT3KGhP3HaUZkSZqIDH9mx86NYl3JvPHW",
    "Ocor8M+uQ9WQ2mEW5X2IwAEJfyYAfMAO+My5pQtuepBpeP7BZnZNbwEo6UTXFT+zhnue8Gjzsn5v",
    "NJZ3sumCptEubynoB+14j4ECgYBsYifL8P3+F99Ir3xGa7yLF09dVDAV+s8zQA/3HezCSdgM0bkA",
    "Nt2Jp/uZPIpgRYJDVniwaUnMhY0Gys3niXs9ASwtp6xRd5foy06rS2zKW17bOKA4TyKeKwXd0Iqz",
    "4q0aW9gsR/vzQxyZBJHSFbZWIlXEd5q8vsP1lgUORejoPQKBgQC4vTRuNcpHMlhwf6Z9V5ajtNyI",
    "7SnVs0R7QepCEGEnHnZ7fXedfL1G5f+6omuMyRNDjA7mCI5ZDcPoqECwIpBDBbCvM1/HfLsqwZle",
    "c0IEoGYx3qH1LKLpC3LNVBDFp+GS+n+rjiRgg6c+pCx/7PqaXsGf1jXrPz0yAPufxQZ8SA==",
);

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&B64.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn log_in_returns_a_bearer_token() {
    let app = spawn_app().await;
    app.create_user("sup1", Role::Supervisor, None);
    let resp = app.login("sup1", PASSWORD).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(claims_of(token)["role"], "supervisor");
    // A valid token for an unknown case is a 404, not a 401.
    assert_eq!(status_with(&app, token).await, 404);
}

#[tokio::test]
async fn wrong_passwords_and_unknown_users_get_the_same_401() {
    let app = spawn_app().await;
    app.create_user("sup2", Role::Supervisor, None);
    let a = assert_problem(app.login("sup2", "wrong password!!").await, 401).await;
    let b = assert_problem(app.login("nobody", PASSWORD).await, 401).await;
    assert_eq!(a, b);
    let problem = assert_problem(
        app.post_json("/api/v1/auth/token", &json!({}), None).await,
        422,
    )
    .await;
    let mut fields = error_fields(&problem);
    fields.sort();
    assert_eq!(fields, vec!["password", "username"]);
}

#[tokio::test]
async fn repeated_failed_log_ins_are_limited() {
    let app = spawn_with(Spawn {
        customise: Box::new(|s| {
            s.auth.max_login_failures_per_user = 3;
            s.auth.max_login_failures_per_address = 100;
        }),
        ..Default::default()
    })
    .await;
    app.create_user("sup3", Role::Supervisor, None);
    for _ in 0..3 {
        assert_eq!(app.login("sup3", "guess guess guess").await.status(), 401);
    }
    // This address has failed: locked out of the account even with the right password.
    assert_problem(app.login("sup3", PASSWORD).await, 429).await;
    app.state.clock.advance(chrono::Duration::seconds(901));
    assert_eq!(app.login("sup3", PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn forged_expired_and_malformed_tokens_get_401() {
    let app = spawn_app().await;
    let good = app.token_for(Role::Auditor, None).await;
    let claims = claims_of(&good);
    let secret = test_secrets().jwt_secret;
    let now = chrono::Utc::now().timestamp();

    let hs384 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS384),
        &claims,
        &EncodingKey::from_secret(&secret),
    )
    .unwrap();
    let wrong_key = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(b"another secret of at least 32 bytes!!"),
    )
    .unwrap();
    let none = format!(
        "{}.{}.",
        B64.encode(br#"{"alg":"none","typ":"JWT"}"#),
        B64.encode(claims.to_string())
    );
    let mut promoted = claims.clone();
    promoted["role"] = json!("admin");
    let parts: Vec<&str> = good.split('.').collect();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        B64.encode(promoted.to_string()),
        parts[2]
    );
    let mut future = claims.clone();
    future["iat"] = json!(now + 3600);
    future["exp"] = json!(now + 7200);
    let future = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &future,
        &EncodingKey::from_secret(&secret),
    )
    .unwrap();
    // RS256 with a key pair of the attacker's: the service only trusts HS256.
    let rs256 = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &claims,
        &EncodingKey::from_rsa_der(
            &base64::engine::general_purpose::STANDARD
                .decode(ATTACKER_RSA_KEY)
                .unwrap(),
        ),
    )
    .unwrap();
    // Algorithm confusion: the header says RS256 but the signature is an
    // HMAC with the service's own secret (what a verifier that trusts the
    // header's `alg` and uses its key as bytes would accept).
    let confused = {
        let head = B64.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
        let message = format!("{head}.{}", B64.encode(claims.to_string()));
        let sig = jsonwebtoken::crypto::sign(
            message.as_bytes(),
            &EncodingKey::from_secret(&secret),
            Algorithm::HS256,
        )
        .unwrap();
        format!("{message}.{sig}")
    };
    let mut foreign = claims.clone();
    foreign["iss"] = json!("someone-else");
    let foreign = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &foreign,
        &EncodingKey::from_secret(&secret),
    )
    .unwrap();

    for (name, token) in [
        ("HS384", hs384.as_str()),
        ("RS256", &rs256),
        ("RS256 header over an HMAC", &confused),
        ("wrong key", &wrong_key),
        ("alg none", &none),
        ("tampered role", &tampered),
        ("future iat", &future),
        ("foreign issuer", &foreign),
        ("garbage", "not.a.token"),
    ] {
        assert_eq!(status_with(&app, token).await, 401, "{name}");
    }
    let resp = app.get(PROBE, Some(&none)).await;
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    assert_problem(resp, 401).await;
    let resp = app
        .client
        .get(app.url(PROBE))
        .header("Authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 401).await;

    assert_eq!(status_with(&app, &good).await, 404);
    app.state.clock.advance(chrono::Duration::seconds(3601));
    assert_eq!(status_with(&app, &good).await, 401, "expired");
}

#[tokio::test]
async fn deactivation_and_password_changes_revoke_tokens_at_once() {
    let app = spawn_app().await;
    let admin = app.token_for(Role::Admin, None).await;
    let id = app.create_user("op1", Role::Operator, None);
    let b: Value = app.login("op1", PASSWORD).await.json().await.unwrap();
    let before = b["access_token"].as_str().unwrap().to_owned();
    assert_eq!(status_with(&app, &before).await, 404);
    let resp = app
        .client
        .patch(app.url(&format!("/api/v1/users/{id}")))
        .bearer_auth(&admin)
        .json(&json!({"password": "a brand new password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(status_with(&app, &before).await, 401, "old token revoked");
    assert_eq!(app.login("op1", PASSWORD).await.status(), 401);
    let b: Value = app
        .login("op1", "a brand new password")
        .await
        .json()
        .await
        .unwrap();
    let after = b["access_token"].as_str().unwrap().to_owned();
    assert_eq!(status_with(&app, &after).await, 404);

    let resp = app
        .client
        .patch(app.url(&format!("/api/v1/users/{id}")))
        .bearer_auth(&admin)
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.json::<Value>().await.unwrap()["active"], false);
    assert_eq!(status_with(&app, &after).await, 401, "deactivated");
    assert_eq!(app.login("op1", "a brand new password").await.status(), 401);
}

#[tokio::test]
async fn administrators_create_users_and_nobody_else_does() {
    let app = spawn_app().await;
    let admin = app.token_for(Role::Admin, None).await;
    let body = json!({"username": "gaj.officer", "role": "unit", "unit": "GAJ", "password": "long enough password"});
    let resp = app.post_json("/api/v1/users", &body, Some(&admin)).await;
    assert_eq!(resp.status(), 201);
    let user: Value = resp.json().await.unwrap();
    assert_eq!(user["unit"], "GAJ");
    assert!(user.get("password_hash").is_none());
    assert_eq!(
        app.login("gaj.officer", "long enough password")
            .await
            .status(),
        200
    );

    let bad = json!({"username": "X", "role": "unit", "password": "short"});
    let problem = assert_problem(
        app.post_json("/api/v1/users", &bad, Some(&admin)).await,
        422,
    )
    .await;
    let mut fields = error_fields(&problem);
    fields.sort();
    assert_eq!(fields, vec!["password", "unit", "username"]);
    let dup = assert_problem(
        app.post_json("/api/v1/users", &body, Some(&admin)).await,
        422,
    )
    .await;
    assert_eq!(error_fields(&dup), vec!["username"]);

    let sup = app.token_for(Role::Supervisor, None).await;
    assert_problem(app.post_json("/api/v1/users", &body, Some(&sup)).await, 403).await;
    assert_problem(app.post_json("/api/v1/users", &body, None).await, 401).await;
}
