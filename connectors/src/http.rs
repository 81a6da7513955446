//! The one HTTP client every vendor request passes through.
//!
//! Per connection it: waits on a governor rate limiter; caps concurrency; retries 429/503
//! honouring `Retry-After` (seconds, decimal seconds or an HTTP date) and, failing that,
//! `X-RateLimit-Reset`, with full-jitter exponential backoff; refreshes the token once on 401;
//! counts requests. It never logs a header or a body that could hold a secret.

use crate::auth::{AuthError, TokenSource};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use rand::Rng;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::StatusCode;
use serde_json::Value;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Semaphore;

/// Pacing for one connection.
#[derive(Debug, Clone)]
pub struct Pacing {
    /// Sustained requests per second.
    pub max_rps: f64,
    /// Requests in flight at once.
    pub max_concurrency: usize,
    /// Retries of one request after 429/503/5xx/network errors.
    pub max_retries: u32,
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// The longest single wait the client will sleep through; a longer `Retry-After` fails the
    /// request as [`ApiError::Throttled`] so the job can be parked instead.
    pub max_wait: Duration,
    /// Share of an advertised hourly budget (`X-RateLimit-Limit`) this client may use; the
    /// integration user's budget is usually shared with other integrations (reference §3.4).
    pub budget_share: f64,
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing {
            max_rps: 5.0,
            max_concurrency: 2,
            max_retries: 6,
            base_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(64),
            max_wait: Duration::from_secs(300),
            budget_share: 0.5,
        }
    }
}

/// What one connection's requests cost, for the scan record.
#[derive(Debug, Default)]
pub struct RequestStats {
    pub requests: AtomicU64,
    pub throttled: AtomicU64,
    pub retries: AtomicU64,
    pub token_refreshes: AtomicU64,
}

impl RequestStats {
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
    pub fn throttled(&self) -> u64 {
        self.throttled.load(Ordering::Relaxed)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("authentication failed: {0}")]
    Auth(#[from] AuthError),
    #[error("401 unauthorized after a token refresh: {0}")]
    Unauthorized(String),
    #[error("403 forbidden: {0}")]
    Forbidden(String),
    #[error("404 not found: {0}")]
    NotFound(String),
    #[error("throttled (HTTP {status}) and gave up after {attempts} attempts; retry after {retry_after:?}")]
    Throttled {
        status: u16,
        attempts: u32,
        retry_after: Option<Duration>,
    },
    #[error("HTTP {status}: {message}")]
    Status { status: u16, message: String },
    #[error("malformed response from {url}: {reason}")]
    Malformed { url: String, reason: String },
    #[error("network error: {0}")]
    Network(String),
}

impl ApiError {
    /// Whether trying the same request later could succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ApiError::Throttled { .. } | ApiError::Network(_) | ApiError::Status { status: 500.., .. }
        ) || matches!(self, ApiError::Auth(AuthError::Unreachable(_)))
    }
}

/// A successful response: headers and parsed JSON body.
#[derive(Debug)]
pub struct ApiResponse {
    pub headers: HeaderMap,
    pub body: Value,
}

pub struct ApiClient {
    http: reqwest::Client,
    limiter: DefaultDirectRateLimiter,
    /// A slower limiter installed once the vendor advertises an hourly budget below our rate.
    budget: std::sync::Mutex<Option<(u64, Arc<DefaultDirectRateLimiter>)>>,
    in_flight: Semaphore,
    tokens: Arc<dyn TokenSource>,
    pacing: Pacing,
    pub stats: Arc<RequestStats>,
}

impl ApiClient {
    pub fn new(tokens: Arc<dyn TokenSource>, pacing: Pacing) -> Result<Self, ApiError> {
        Self::with_options(tokens, pacing, Arc::new(RequestStats::default()), HeaderMap::new())
    }

    /// A client that counts into `stats` (shared by every API surface of one connection, each
    /// with its own token audience and pace) and sends `default_headers` on every request.
    pub fn with_options(
        tokens: Arc<dyn TokenSource>,
        pacing: Pacing,
        stats: Arc<RequestStats>,
        default_headers: HeaderMap,
    ) -> Result<Self, ApiError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("aispm/", env!("CARGO_PKG_VERSION")))
            .default_headers(default_headers)
            .build()
            .map_err(|e| ApiError::Network(e.to_string()))?;
        Ok(ApiClient {
            http,
            limiter: RateLimiter::direct(quota(pacing.max_rps)),
            budget: std::sync::Mutex::new(None),
            in_flight: Semaphore::new(pacing.max_concurrency.max(1)),
            tokens,
            pacing,
            stats,
        })
    }

    /// GETs `url` with a bearer token and returns the JSON body.
    pub async fn get_json(&self, url: &str) -> Result<ApiResponse, ApiError> {
        self.send(reqwest::Method::GET, url, &[], None).await
    }

    /// Sends one request (with per-request `headers` and an optional JSON `body`) under the
    /// connection's pace, retry and refresh policy, and returns the JSON answer.
    pub async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<ApiResponse, ApiError> {
        let mut refreshed = false;
        let mut attempt: u32 = 0;
        loop {
            self.limiter.until_ready().await;
            let budget = self
                .budget
                .lock()
                .expect("budget lock")
                .as_ref()
                .map(|(_, l)| l.clone());
            if let Some(budget) = budget {
                budget.until_ready().await;
            }
            let permit = self.in_flight.acquire().await.expect("semaphore never closed");
            let token = self.tokens.token(false).await?;
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let mut request = self
                .http
                .request(method.clone(), url)
                .bearer_auth(&token)
                .header(reqwest::header::ACCEPT, "application/json");
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            let sent = request.send().await;
            drop(permit);
            let response = match sent {
                Ok(r) => r,
                Err(e) => {
                    attempt += 1;
                    if attempt > self.pacing.max_retries {
                        return Err(ApiError::Network(network_error(e)));
                    }
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(self.backoff(attempt)).await;
                    continue;
                }
            };
            let status = response.status();
            let headers = response.headers().clone();
            self.observe_budget(&headers);
            if status.is_success() {
                let bytes = response
                    .bytes()
                    .await
                    .map_err(|e| ApiError::Network(network_error(e)))?;
                let body = serde_json::from_slice(&bytes).map_err(|e| ApiError::Malformed {
                    url: redact_query(url),
                    reason: e.to_string(),
                })?;
                return Ok(ApiResponse { headers, body });
            }
            let message = error_message(response.text().await.unwrap_or_default());
            match status {
                StatusCode::UNAUTHORIZED if !refreshed => {
                    // The token expired or was revoked: one refresh, then give up.
                    refreshed = true;
                    self.stats.token_refreshes.fetch_add(1, Ordering::Relaxed);
                    self.tokens.token(true).await?;
                }
                StatusCode::UNAUTHORIZED => return Err(ApiError::Unauthorized(message)),
                StatusCode::FORBIDDEN => return Err(ApiError::Forbidden(message)),
                StatusCode::NOT_FOUND => return Err(ApiError::NotFound(message)),
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
                    self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                    attempt += 1;
                    let wait = self.throttle_wait(status.as_u16(), attempt, wait_hint(&headers))?;
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(wait).await;
                }
                s if s.is_server_error() => {
                    attempt += 1;
                    if attempt > self.pacing.max_retries {
                        return Err(ApiError::Status {
                            status: s.as_u16(),
                            message,
                        });
                    }
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(self.backoff(attempt)).await;
                }
                s => {
                    return Err(ApiError::Status {
                        status: s.as_u16(),
                        message,
                    })
                }
            }
        }
    }

    /// How long to wait before the `attempt`-th retry of a throttled request: the server's hint
    /// plus a little jitter (so parallel workers do not all return at the same instant), else
    /// exponential backoff. Past `max_retries`, or when the hint exceeds `max_wait`, gives up
    /// with [`ApiError::Throttled`] so the job can be parked. Shared by plain requests and the
    /// items of a vendor's batch requests.
    pub fn throttle_wait(&self, status: u16, attempt: u32, hinted: Option<Duration>) -> Result<Duration, ApiError> {
        if attempt > self.pacing.max_retries || hinted.is_some_and(|w| w > self.pacing.max_wait) {
            return Err(ApiError::Throttled {
                status,
                attempts: attempt,
                retry_after: hinted,
            });
        }
        Ok(match hinted {
            Some(w) => w + jitter(Duration::from_millis(250)),
            None => self.backoff(attempt),
        })
    }

    /// Slows down to `budget_share` of an advertised hourly limit when that is below our rate.
    fn observe_budget(&self, headers: &HeaderMap) {
        let Some(per_hour) = headers
            .get("x-ratelimit-limit")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|n| *n > 0)
        else {
            return;
        };
        let rps = per_hour as f64 * self.pacing.budget_share / 3600.0;
        if rps >= self.pacing.max_rps {
            return;
        }
        let mut budget = self.budget.lock().expect("budget lock");
        if budget.as_ref().is_none_or(|(limit, _)| *limit != per_hour) {
            *budget = Some((per_hour, Arc::new(RateLimiter::direct(quota(rps)))));
        }
    }

    /// Full-jitter exponential backoff: uniform in [0, min(max, base * 2^attempt)].
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .pacing
            .base_backoff
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .min(self.pacing.max_backoff);
        jitter(ceiling)
    }
}

fn quota(max_rps: f64) -> Quota {
    // governor wants an integer burst; express fractional rates as one request per period.
    if max_rps >= 1.0 {
        let per_second = NonZeroU32::new(max_rps.round() as u32).unwrap_or(NonZeroU32::MIN);
        Quota::per_second(per_second).allow_burst(NonZeroU32::MIN)
    } else {
        let period = Duration::from_secs_f64(1.0 / max_rps.max(0.001));
        Quota::with_period(period)
            .expect("period is positive")
            .allow_burst(NonZeroU32::MIN)
    }
}

fn jitter(ceiling: Duration) -> Duration {
    if ceiling.is_zero() {
        return ceiling;
    }
    let millis = ceiling.as_millis().max(1) as u64;
    Duration::from_millis(rand::rng().random_range(0..=millis))
}

/// How long the server asked us to wait: `Retry-After` (delta seconds, possibly decimal, or an
/// HTTP date), else the vendor's window reset (`X-RateLimit-Reset`, UNIX seconds).
pub fn wait_hint(headers: &HeaderMap) -> Option<Duration> {
    if let Some(value) = headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok()) {
        let value = value.trim();
        if let Ok(seconds) = value.parse::<f64>() {
            if seconds.is_finite() && seconds >= 0.0 {
                return Some(Duration::from_secs_f64(seconds));
            }
        }
        if let Ok(when) = chrono::DateTime::parse_from_rfc2822(value) {
            let now = chrono::Utc::now();
            return Some((when.with_timezone(&chrono::Utc) - now).to_std().unwrap_or_default());
        }
    }
    let reset = headers
        .get("x-ratelimit-reset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(reset.saturating_sub(now).max(1)))
}

/// The vendor's error message from an error body, shortened; never the whole body.
pub fn error_message(body: String) -> String {
    let parsed: Option<Value> = serde_json::from_str(&body).ok();
    let message = parsed.as_ref().and_then(|v| {
        let error = v.get("error")?;
        let message = error.get("message").and_then(Value::as_str).or(error.as_str())?;
        // Microsoft's envelope names the failure in `code` (e.g. Authorization_RequestDenied).
        let message = match error.get("code").and_then(Value::as_str) {
            Some(code) if !code.is_empty() => format!("{code}: {message}"),
            _ => message.to_string(),
        };
        let detail = error.get("detail").and_then(Value::as_str).unwrap_or("");
        Some(if detail.is_empty() {
            message.to_string()
        } else {
            format!("{message}: {detail}")
        })
    });
    let text = message.unwrap_or(body);
    text.chars().take(200).collect()
}

/// A transport error without the URL (its query string is the caller's business, not the log's).
fn network_error(e: reqwest::Error) -> String {
    e.without_url().to_string()
}

/// `scheme://host:port` of a URL (empty when it does not parse).
pub fn origin(url: &str) -> String {
    url::Url::parse(url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

/// Whether two URLs share an origin: paging links must never carry a token to another host.
pub fn same_origin(a: &str, b: &str) -> bool {
    let (a, b) = (origin(a), origin(b));
    !a.is_empty() && a == b
}

pub fn redact_query(url: &str) -> String {
    url.split('?').next().unwrap_or(url).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_accepts_integer_decimal_and_date() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(wait_hint(&h), Some(Duration::from_secs(3)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("0.5"));
        assert_eq!(wait_hint(&h), Some(Duration::from_millis(500)));
        let later = (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        h.insert(RETRY_AFTER, HeaderValue::from_str(&later).unwrap());
        let wait = wait_hint(&h).unwrap();
        assert!(
            wait > Duration::from_secs(25) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
    }

    #[test]
    fn rate_limit_reset_used_when_no_retry_after() {
        let mut h = HeaderMap::new();
        let reset = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + 40;
        h.insert("X-RateLimit-Reset", HeaderValue::from(reset));
        let wait = wait_hint(&h).unwrap();
        assert!(
            wait >= Duration::from_secs(39) && wait <= Duration::from_secs(40),
            "{wait:?}"
        );
        assert_eq!(wait_hint(&HeaderMap::new()), None);
    }

    #[test]
    fn error_message_reads_servicenow_envelope() {
        let body = r#"{"error":{"message":"Insufficient rights to query records","detail":"No permission"},"status":"failure"}"#;
        assert_eq!(
            error_message(body.into()),
            "Insufficient rights to query records: No permission"
        );
        assert_eq!(error_message("plain".into()), "plain");
    }
}
