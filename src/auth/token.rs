//! HS256 access tokens. Claims: subject (user id), role, unit, token version,
//! issuer, issued-at and expiry. Only HS256 is accepted; a token issued in the
//! future (beyond a minute of clock skew) is refused.

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    pub ver: i32,
    pub iss: String,
    pub iat: i64,
    pub exp: i64,
}

/// Signs and checks tokens with the one secret.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    issuer: String,
    pub ttl_seconds: i64,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys(..)")
    }
}

const SKEW_SECONDS: i64 = 60;

impl TokenKeys {
    pub fn new(secret: &[u8], issuer: &str, ttl_seconds: i64) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            issuer: issuer.to_owned(),
            ttl_seconds,
        }
    }

    pub fn issue(
        &self,
        user_id: i64,
        role: &str,
        unit: Option<&str>,
        version: i32,
        now: DateTime<Utc>,
    ) -> anyhow::Result<String> {
        let claims = Claims {
            sub: user_id.to_string(),
            role: role.to_owned(),
            unit: unit.map(str::to_owned),
            ver: version,
            iss: self.issuer.clone(),
            iat: now.timestamp(),
            exp: now.timestamp() + self.ttl_seconds,
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    /// Checks signature, algorithm, issuer, expiry and issue time against
    /// `now`. Revocation (version, deactivation) is checked by the caller
    /// against the database.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Option<Claims> {
        let mut v = Validation::new(Algorithm::HS256);
        v.algorithms = vec![Algorithm::HS256];
        v.set_issuer(&[&self.issuer]);
        v.set_required_spec_claims(&["exp", "iat", "iss", "sub"]);
        // Expiry is checked below against the service clock (tests set it).
        v.validate_exp = false;
        v.leeway = 0;
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &v)
            .ok()?
            .claims;
        let t = now.timestamp();
        if claims.exp <= t || claims.iat > t + SKEW_SECONDS || claims.iat > claims.exp {
            return None;
        }
        Some(claims)
    }
}
