//! Request helpers shared by the API and the public pages: who is asking,
//! where the public reaches the service, and the pacing of a citizen's
//! answer. Below both `api/` and `web/`, which depend on it and not on each
//! other.

use actix_web::HttpRequest;

use crate::error::AppResult;
use crate::state::AppState;

/// Where the public reaches this service, for answers that name it:
/// `server.public_url` when set; otherwise the request's own scheme and
/// `Host`, or the proxy's forwarded ones only behind a trusted proxy (an
/// arbitrary client must not make the service advertise another host).
pub fn public_base(req: &HttpRequest, state: &AppState) -> String {
    let server = &state.settings.server;
    if !server.public_url.is_empty() {
        return server.public_url.clone();
    }
    if server.trust_forwarded_for {
        let info = req.connection_info();
        return format!("{}://{}", info.scheme(), info.host());
    }
    let host = req
        .headers()
        .get(actix_web::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| state.settings.server.bind.clone());
    format!("{}://{host}", req.uri().scheme_str().unwrap_or("http"))
}

/// A citizen's answer, held back as long as the domain said (a case
/// strangers are guessing at is answered slowly, never refused).
pub async fn paced<T>(p: crate::domain::tracking::Paced<T>) -> AppResult<T> {
    if !p.hold.is_zero() {
        actix_web::rt::time::sleep(p.hold).await;
    }
    p.outcome
}

/// The client address used for rate limits.
pub fn client_address(req: &HttpRequest, state: &AppState) -> String {
    if state.settings.server.trust_forwarded_for
        && let Some(ip) = req.connection_info().realip_remote_addr()
    {
        return ip.to_owned();
    }
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}
