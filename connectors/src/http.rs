//! The one HTTP client every vendor request passes through.
//!
//! Per connection it: waits on a governor rate limiter; caps concurrency; retries 429/503
//! honouring `Retry-After` (seconds, decimal seconds or an HTTP date) and, failing that, the
//! vendor's window reset ([`ApiHooks`]), with full-jitter exponential backoff; refreshes the token once on 401;
//! counts requests. It never logs a header or a body that could hold a secret.
//!
//! Vendor answers are hostile until proven otherwise: redirects are not followed, bodies are
//! read up to a size cap, every wait a vendor asks for is capped ([`MAX_VENDOR_WAIT`]), and
//! error excerpts are cut and have anything that looks like a token removed.

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

/// The longest wait a vendor may ask for. A longer `Retry-After`, window reset or
/// budget period is not slept through or parked: the request fails with
/// [`ApiError::WaitTooLong`], which stops the scan with the reason.
pub const MAX_VENDOR_WAIT: Duration = Duration::from_secs(24 * 3600);
/// Pages read for one collection before the read is given up as endless.
pub const MAX_PAGES: usize = 10_000;
/// The largest answer body read into memory; a larger one is a coverage gap.
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
/// How much of an error body is read for its message.
const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

/// How one vendor's answers are read where they go beyond plain HTTP. Each vendor module
/// defines its own; this module knows no vendor.
pub struct ApiHooks {
    /// The vendor's own message in a JSON error body (its error envelope), if it has one.
    pub error_message: fn(&Value) -> Option<String>,
    /// An hourly request budget the vendor advertises in response headers.
    pub hourly_budget: fn(&HeaderMap) -> Option<u64>,
    /// When the vendor's rate window resets (UNIX seconds), for a refusal without
    /// `Retry-After`.
    pub window_reset: fn(&HeaderMap) -> Option<u64>,
    /// What an error answer means when its status alone does not say (a vendor that throttles
    /// with 403, or reports an expired session in a SOAP fault with 500): the status and the
    /// first part of the body. `None` leaves the status to decide.
    pub disposition: fn(u16, &str) -> Option<Disposition>,
}

/// How to treat an error answer, when a vendor's hook knows better than its status code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// The session expired: refresh the token once and retry, as after a 401.
    Refresh,
    /// Throttled: back off and retry, as after a 429 without a hint.
    Throttle,
    /// The vendor's whole allowance is spent: stop the scan ([`ApiError::Throttled`]), to be
    /// retried later, without retrying now.
    Exhausted,
    /// A final answer with this message (no retry, whatever the status).
    Fail(String),
}

/// Plain HTTP: `Retry-After` only, and an error body's `error_description` or `message`.
pub const PLAIN_HTTP: ApiHooks = ApiHooks {
    error_message: |_| None,
    hourly_budget: |_| None,
    window_reset: |_| None,
    disposition: |_, _| None,
};

/// A header as an unsigned number (for the vendors' budget headers).
pub fn header_number(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

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
    /// Share of an hourly budget the vendor advertises (its hook) this client may use; the
    /// integration user's budget is usually shared with other integrations (reference §3.4).
    pub budget_share: f64,
    /// Answers larger than this are refused ([`ApiError::TooLarge`]).
    pub max_body_bytes: usize,
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
            max_body_bytes: MAX_BODY_BYTES,
        }
    }
}

impl Pacing {
    /// The pace a connection's settings ask for, over the vendor's defaults. Nonsense (a rate
    /// that is zero, negative or not a number; a share outside (0, 1]) falls back to the
    /// default rather than stalling or flooding.
    pub fn from_settings(
        default_rps: f64,
        max_concurrency: usize,
        max_rps: Option<f64>,
        max_wait_secs: Option<u64>,
        budget_share: Option<f64>,
    ) -> Pacing {
        let defaults = Pacing::default();
        Pacing {
            max_rps: max_rps.filter(|r| r.is_finite() && *r > 0.0).unwrap_or(default_rps),
            max_concurrency: max_concurrency.max(1),
            // How long one request may sleep on Retry-After before the scan is parked instead.
            max_wait: max_wait_secs
                .map(|s| Duration::from_secs(s).min(MAX_VENDOR_WAIT))
                .unwrap_or(defaults.max_wait),
            budget_share: budget_share
                .filter(|s| *s > 0.0 && *s <= 1.0)
                .unwrap_or(defaults.budget_share),
            ..defaults
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
    /// The vendor asked for a wait beyond [`MAX_VENDOR_WAIT`]: not a pause worth making.
    #[error("the service asked to wait {asked} (HTTP {status}), beyond the {} h ceiling; not retried", MAX_VENDOR_WAIT.as_secs() / 3600)]
    WaitTooLong { status: u16, asked: String },
    /// Redirects are not followed for vendor APIs: an answer from another place is not the
    /// vendor's answer, and the bearer token must not travel there.
    #[error("HTTP {status} redirect to {target}; redirects are not followed")]
    Redirected { status: u16, target: String },
    #[error("the answer is larger than {limit} bytes; not read")]
    TooLarge { limit: usize },
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

    /// Whether the whole scan must stop here (credentials refused, throttled past patience, an
    /// absurd wait) rather than record one resource's gap and go on. The one policy every
    /// collector follows.
    pub fn stops_scan(&self) -> bool {
        matches!(
            self,
            ApiError::Auth(_) | ApiError::Throttled { .. } | ApiError::WaitTooLong { .. }
        )
    }
}

/// A successful response: headers and parsed JSON body.
#[derive(Debug)]
pub struct ApiResponse {
    pub headers: HeaderMap,
    pub body: Value,
}

/// A successful response read as bytes (an XML answer).
#[derive(Debug)]
pub struct RawResponse {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// A request body that is not JSON: its content type and bytes.
pub struct RawBody<'a> {
    pub content_type: &'a str,
    pub bytes: &'a [u8],
}

pub struct ApiClient {
    http: reqwest::Client,
    limiter: DefaultDirectRateLimiter,
    /// A slower limiter installed once the vendor advertises an hourly budget below our rate.
    budget: std::sync::Mutex<Option<(u64, Arc<DefaultDirectRateLimiter>)>>,
    in_flight: Semaphore,
    tokens: Arc<dyn TokenSource>,
    pacing: Pacing,
    hooks: &'static ApiHooks,
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
            .redirect(reqwest::redirect::Policy::none())
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
            hooks: &PLAIN_HTTP,
            stats,
        })
    }

    /// Reads answers with a vendor's hooks (error envelope, budget headers).
    pub fn with_hooks(mut self, hooks: &'static ApiHooks) -> Self {
        self.hooks = hooks;
        self
    }

    pub fn hooks(&self) -> &'static ApiHooks {
        self.hooks
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
        let json = body.map(|b| serde_json::to_vec(b).expect("a JSON value serializes"));
        let raw = json.as_deref().map(|bytes| RawBody {
            content_type: "application/json",
            bytes,
        });
        let answer = self.send_raw(method, url, headers, raw, "application/json").await?;
        let body = serde_json::from_slice(&answer.body).map_err(|e| ApiError::Malformed {
            url: redact_query(url),
            reason: json_error(&e),
        })?;
        Ok(ApiResponse {
            headers: answer.headers,
            body,
        })
    }

    /// Like [`ApiClient::send`] for any body and answer type (SOAP): the answer's bytes, read
    /// up to the size cap.
    pub async fn send_raw(
        &self,
        method: reqwest::Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<RawBody<'_>>,
        accept: &str,
    ) -> Result<RawResponse, ApiError> {
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
                // A budget so small that the next slot is further off than we would sleep (an
                // advertised budget of one request an hour): park the job instead of waiting in line.
                if let Err(not_until) = budget.check() {
                    let wait = not_until.wait_time_from(governor::clock::Clock::now(budget.clock()));
                    if wait > self.pacing.max_wait {
                        return Err(ApiError::Throttled {
                            status: 429,
                            attempts: attempt,
                            retry_after: Some(wait.min(MAX_VENDOR_WAIT)),
                        });
                    }
                    budget.until_ready().await;
                }
            }
            let permit = self.in_flight.acquire().await.expect("semaphore never closed");
            let token = self.tokens.token(false).await?;
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let mut request = self
                .http
                .request(method.clone(), url)
                .bearer_auth(&token)
                .header(reqwest::header::ACCEPT, accept);
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            if let Some(body) = &body {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, body.content_type)
                    .body(body.bytes.to_vec());
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
                let bytes = read_capped(response, self.pacing.max_body_bytes)
                    .await?
                    .ok_or(ApiError::TooLarge {
                        limit: self.pacing.max_body_bytes,
                    })?;
                return Ok(RawResponse { headers, body: bytes });
            }
            if status.is_redirection() {
                let target = headers
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map(|l| match url::Url::parse(url).and_then(|base| base.join(l)) {
                        Ok(u) => u.origin().ascii_serialization(),
                        Err(_) => "an unreadable location".into(),
                    })
                    .unwrap_or_else(|| "nowhere (no Location)".into());
                return Err(ApiError::Redirected {
                    status: status.as_u16(),
                    target,
                });
            }
            let error_body = read_capped(response, MAX_ERROR_BODY_BYTES)
                .await
                .ok()
                .flatten()
                .unwrap_or_default();
            let error_text = String::from_utf8_lossy(&error_body).into_owned();
            let disposition = (self.hooks.disposition)(status.as_u16(), &error_text);
            let message = match &disposition {
                Some(Disposition::Fail(message)) => redact_secrets(message).chars().take(200).collect(),
                _ => error_message(error_text, self.hooks),
            };
            match (disposition, status) {
                (Some(Disposition::Refresh), _) | (None, StatusCode::UNAUTHORIZED) if !refreshed => {
                    // The token expired or was revoked: one refresh, then give up.
                    refreshed = true;
                    self.stats.token_refreshes.fetch_add(1, Ordering::Relaxed);
                    self.tokens.token(true).await?;
                }
                (Some(Disposition::Refresh), _) | (None, StatusCode::UNAUTHORIZED) => {
                    return Err(ApiError::Unauthorized(message))
                }
                (Some(Disposition::Fail(_)), s) => {
                    return Err(ApiError::Status {
                        status: s.as_u16(),
                        message,
                    })
                }
                (Some(Disposition::Exhausted), s) => {
                    self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                    return Err(ApiError::Throttled {
                        status: s.as_u16(),
                        attempts: attempt + 1,
                        retry_after: None,
                    });
                }
                (None, StatusCode::FORBIDDEN) => return Err(ApiError::Forbidden(message)),
                (None, StatusCode::NOT_FOUND) => return Err(ApiError::NotFound(message)),
                (Some(Disposition::Throttle), _)
                | (None, StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE) => {
                    self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                    attempt += 1;
                    let wait = self.throttle_wait(status.as_u16(), attempt, wait_hint(&headers, self.hooks))?;
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(wait).await;
                }
                (None, s) if s.is_server_error() => {
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
                (None, s) => {
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
        if let Some(asked) = hinted.filter(|w| *w > MAX_VENDOR_WAIT) {
            return Err(ApiError::WaitTooLong {
                status,
                asked: describe_wait(asked),
            });
        }
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
        let Some(per_hour) = (self.hooks.hourly_budget)(headers).filter(|n| *n > 0) else {
            return;
        };
        let rps = per_hour as f64 * self.pacing.budget_share.clamp(0.0, 1.0) / 3600.0;
        if rps.is_nan() || rps <= 0.0 || rps >= self.pacing.max_rps {
            return;
        }
        let mut budget = self.budget.lock().expect("budget lock");
        if budget.as_ref().is_none_or(|(limit, _)| *limit != per_hour) {
            let limiter = RateLimiter::direct(quota(rps));
            // The request that brought the header already spent this slot.
            let _ = limiter.check();
            *budget = Some((per_hour, Arc::new(limiter)));
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
        let per_second = NonZeroU32::new(max_rps.min(1e6).round() as u32).unwrap_or(NonZeroU32::MIN);
        Quota::per_second(per_second).allow_burst(NonZeroU32::MIN)
    } else {
        // Slower than one a second: one request per period, the period capped at the longest
        // wait we would ever make (a slower budget parks the job, see `send`).
        let period = Duration::try_from_secs_f64(1.0 / max_rps)
            .unwrap_or(MAX_VENDOR_WAIT)
            .clamp(Duration::from_millis(1), MAX_VENDOR_WAIT);
        Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
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
/// HTTP date), else the vendor's window reset (its hook, UNIX seconds). Never panics on a
/// number: anything beyond [`MAX_VENDOR_WAIT`] comes back as just over it, which the callers
/// refuse ([`ApiError::WaitTooLong`]).
pub fn wait_hint(headers: &HeaderMap, hooks: &ApiHooks) -> Option<Duration> {
    let beyond = MAX_VENDOR_WAIT + Duration::from_secs(1);
    if let Some(value) = headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok()) {
        let value = value.trim();
        if let Ok(seconds) = value.parse::<f64>() {
            if seconds.is_finite() && seconds >= 0.0 {
                return Some(Duration::try_from_secs_f64(seconds).map_or(beyond, |d| d.min(beyond)));
            }
        }
        if let Ok(when) = chrono::DateTime::parse_from_rfc2822(value) {
            let now = chrono::Utc::now();
            let wait = when.with_timezone(&chrono::Utc).signed_duration_since(now);
            return Some(wait.to_std().map_or(Duration::ZERO, |d| d.min(beyond)));
        }
    }
    let reset = (hooks.window_reset)(headers)?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(reset.saturating_sub(now).max(1)).min(beyond))
}

/// A wait for a message: "more than a day", or seconds.
fn describe_wait(wait: Duration) -> String {
    if wait > MAX_VENDOR_WAIT {
        "more than a day".into()
    } else {
        format!("{} s", wait.as_secs())
    }
}

/// Reads a body up to `limit` bytes; `None` when it is larger (the rest is not read).
async fn read_capped(mut response: reqwest::Response, limit: usize) -> Result<Option<Vec<u8>>, ApiError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Ok(None);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| ApiError::Network(network_error(e)))?
    {
        if body.len() + chunk.len() > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// A JSON parse error without the text it quotes (serde quotes offending values, which in a
/// vendor answer may be a token): only the category and position.
fn json_error(e: &serde_json::Error) -> String {
    let what = match e.classify() {
        serde_json::error::Category::Io => "read error",
        serde_json::error::Category::Syntax => "not valid JSON",
        serde_json::error::Category::Data => "unexpected JSON shape",
        serde_json::error::Category::Eof => "truncated JSON",
    };
    format!("{what} at line {} column {}", e.line(), e.column())
}

/// The message of an error body, shortened and with credentials removed; never the whole
/// body. The vendor's envelope (its hook) first, then the common `error_description`,
/// `message` or string `error`, then the text itself.
pub fn error_message(body: String, hooks: &ApiHooks) -> String {
    let parsed: Option<Value> = serde_json::from_str(&body).ok();
    let message = parsed.as_ref().and_then(|v| {
        (hooks.error_message)(v).or_else(|| {
            ["error_description", "message", "error"]
                .iter()
                .find_map(|k| v.get(*k).and_then(Value::as_str))
                .map(str::to_string)
        })
    });
    let text = message.unwrap_or(body);
    let text: String = text.chars().take(2000).collect();
    redact_secrets(&text).chars().take(200).collect()
}

/// Removes what looks like a credential from a text that came from a vendor: the values of
/// token, secret and password fields (JSON or form style), bearer tokens and JWTs.
pub fn redact_secrets(text: &str) -> String {
    use std::sync::OnceLock;
    static PATTERNS: OnceLock<[regex::Regex; 3]> = OnceLock::new();
    let [fields, bearer, jwt] = PATTERNS.get_or_init(|| {
        [
            // "access_token": "…", refresh_token=…, "client_secret":"…", password: …
            regex::Regex::new(
                r#"(?i)("?[a-z_]*(?:token|secret|password|assertion|api[_-]?key)[a-z_]*"?\s*[:=]\s*"?)[^"&,\s}]+"#,
            )
            .expect("valid pattern"),
            regex::Regex::new(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+").expect("valid pattern"),
            regex::Regex::new(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*").expect("valid pattern"),
        ]
    });
    let text = jwt.replace_all(text, "[redacted]");
    let text = bearer.replace_all(&text, "$1 [redacted]");
    fields.replace_all(&text, "${1}[redacted]").into_owned()
}

/// Percent-encodes one path segment (a vendor id placed in a URL path), so `/`, `?`, `#`,
/// `%` or `..` in a vendor value cannot change which resource is asked for.
pub fn path_segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'~' => out.push(b as char),
            b'.' if value.trim_matches('.').is_empty() => out.push_str("%2E"),
            b'.' => out.push('.'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
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
        assert_eq!(wait_hint(&h, &PLAIN_HTTP), Some(Duration::from_secs(3)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("0.5"));
        assert_eq!(wait_hint(&h, &PLAIN_HTTP), Some(Duration::from_millis(500)));
        let later = (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        h.insert(RETRY_AFTER, HeaderValue::from_str(&later).unwrap());
        let wait = wait_hint(&h, &PLAIN_HTTP).unwrap();
        assert!(
            wait > Duration::from_secs(25) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
    }

    #[test]
    fn absurd_waits_come_back_just_over_the_ceiling_without_panicking() {
        let over = MAX_VENDOR_WAIT + Duration::from_secs(1);
        for value in ["1e20", "18446744073709551615", "1e308"] {
            let mut h = HeaderMap::new();
            h.insert(RETRY_AFTER, HeaderValue::from_static(value));
            assert_eq!(wait_hint(&h, &PLAIN_HTTP), Some(over), "{value}");
        }
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("Fri, 31 Dec 9999 23:59:59 GMT"));
        assert_eq!(wait_hint(&h, &PLAIN_HTTP), Some(over));
        // Nonsense is no hint at all.
        h.insert(RETRY_AFTER, HeaderValue::from_static("-5"));
        assert_eq!(wait_hint(&h, &PLAIN_HTTP), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("NaN"));
        assert_eq!(wait_hint(&h, &PLAIN_HTTP), None);
    }

    #[test]
    fn credentials_are_removed_from_vendor_text() {
        let cases = [
            r#"{"access_token":"abc123SECRET","token_type":"Bearer"}"#,
            "refresh_token=abc123SECRET&x=1",
            "Authorization: Bearer abc123SECRET",
            r#"{"client_secret": "abc123SECRET"}"#,
            "token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhYmMxMjNTRUNSRVQifQ.c2lnbmF0dXJl here",
        ];
        for text in cases {
            let clean = redact_secrets(text);
            assert!(
                !clean.contains("abc123SECRET") && !clean.contains("eyJzdWIi"),
                "{text} -> {clean}"
            );
            assert!(clean.contains("[redacted]"), "{clean}");
        }
        assert_eq!(
            redact_secrets("Insufficient rights to query records"),
            "Insufficient rights to query records"
        );
        let long = format!("{{\"error\":{{\"message\":\"bad access_token={}\"}}}}", "x".repeat(500));
        assert!(error_message(long, &PLAIN_HTTP).len() <= 200);
    }

    #[test]
    fn path_segments_cannot_change_the_path() {
        assert_eq!(path_segment("0a1b-2c"), "0a1b-2c");
        assert_eq!(path_segment("../me?x=1#y"), "..%2Fme%3Fx%3D1%23y");
        assert_eq!(path_segment(".."), "%2E%2E");
        assert_eq!(path_segment("a b/c"), "a%20b%2Fc");
    }

    #[test]
    fn error_message_without_a_vendor_envelope() {
        assert_eq!(
            error_message(
                r#"{"error":"invalid_client","error_description":"bad"}"#.into(),
                &PLAIN_HTTP
            ),
            "bad"
        );
        assert_eq!(error_message("plain".into(), &PLAIN_HTTP), "plain");
    }
}
