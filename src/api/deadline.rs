//! The request body deadline: a body that does not arrive within
//! `server.body_timeout_ms` of its headers (a client trickling a byte every
//! few seconds to hold a connection open) ends the request with 408 and the
//! connection is closed. The head of a request and idle keep-alive
//! connections have their own limits (`server.request_head_timeout_ms`,
//! `server.keep_alive_seconds`), set on the server.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use futures_util::Stream;

use crate::state::AppState;

/// What the body stream yields once the deadline passed.
pub const TOO_SLOW: &str = "the request body did not arrive in time";

/// Whether a payload error is the deadline's.
pub fn timed_out(e: &PayloadError) -> bool {
    matches!(e, PayloadError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut)
}

/// A body stream that fails once its deadline has passed.
struct Deadline<S> {
    inner: S,
    sleep: Pin<Box<actix_web::rt::time::Sleep>>,
    expired: bool,
}

impl<S> Stream for Deadline<S>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.expired {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = Pin::new(&mut self.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            self.expired = true;
            return Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                TOO_SLOW,
            )))));
        }
        Poll::Pending
    }
}

/// Middleware: puts the deadline on every request's body.
pub async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let timeout = req
        .app_data::<web::Data<AppState>>()
        .map(|s| Duration::from_millis(s.settings.server.body_timeout_ms))
        .unwrap_or(Duration::from_secs(10));
    let inner = req.take_payload();
    let timed: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> = Box::pin(Deadline {
        inner,
        sleep: Box::pin(actix_web::rt::time::sleep(timeout)),
        expired: false,
    });
    req.set_payload(Payload::from(timed));
    next.call(req).await
}
