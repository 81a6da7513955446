//! `aispm serve`: the HTTP API over the application layer. Routes only translate HTTP to
//! service calls and back; who may see what is decided in `service` (every tenant route asks
//! it for a scope first).

mod api;
pub mod openapi;

mod web;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::json;
use service::{Service, ServiceError};
use std::sync::Arc;

/// The largest request body accepted (a connection with its secrets is a few KiB).
pub const MAX_BODY: usize = 256 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub service: Arc<Service>,
    web: Arc<web::Web>,
}

impl AppState {
    /// Where people reach this server.
    pub fn public_url(&self) -> &str {
        &self.web.public_url
    }
}

/// Whether cookies must be `Secure`: always, except for a plain-http loopback public URL
/// (a developer's machine, the demo), where a browser would not send them back otherwise.
pub fn secure_cookies(public_url: &str) -> bool {
    match url::Url::parse(public_url) {
        Ok(u) if u.scheme() == "http" => {
            !matches!(u.host(), Some(url::Host::Domain("localhost")))
                && !u
                    .host_str()
                    .and_then(|h| h.trim_matches(['[', ']']).parse::<std::net::IpAddr>().ok())
                    .is_some_and(|ip| ip.is_loopback())
        }
        _ => true,
    }
}

/// The whole HTTP surface: pages, the API, the OpenAPI document.
pub fn router(service: Arc<Service>, public_url: &str) -> Router {
    api::routes()
        .merge(web::routes())
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no_route", "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method",
            )
        })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn(security_headers))
        .with_state(AppState {
            service,
            web: Arc::new(web::Web::new(public_url)),
        })
}

/// Headers on every answer: no framing, no inline script, no referrer leaks, no caching of
/// tenant data.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Every error answer: `{"error": {"code", "message"}}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({"error": {"code": self.code, "message": self.message}})),
        )
            .into_response()
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(m) => ApiError::new(StatusCode::BAD_REQUEST, "invalid", m),
            ServiceError::NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, "not_found", m),
            ServiceError::Forbidden(m) => ApiError::new(StatusCode::FORBIDDEN, "forbidden", m),
            ServiceError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            e @ ServiceError::Connect { .. } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "connect_failed", e.to_string())
            }
            other => {
                // Service and store messages carry no secrets (they are redacted where
                // vendor text enters them); the details stay in the server's log.
                tracing::error!("request failed: {other}");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the server could not complete the request",
                )
            }
        }
    }
}

/// Serves `router` on `listener` until `stop` resolves, then lets in-flight requests finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    service: Arc<Service>,
    public_url: &str,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(service, public_url))
        .with_graceful_shutdown(stop)
        .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn cookies_are_secure_except_on_plain_http_loopback() {
        assert!(!super::secure_cookies("http://127.0.0.1:8080"));
        assert!(!super::secure_cookies("http://localhost:8080"));
        assert!(!super::secure_cookies("http://[::1]:8080"));
        assert!(super::secure_cookies("http://aispm.internal:8080"));
        assert!(super::secure_cookies("https://aispm.example.com"));
    }
}
