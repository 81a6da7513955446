//! Google Workspace (Gemini) simulator, written from `shared/saas-apis/google-workspace-gemini.md`
//! (sections 8 and 9 correct the body and win where they disagree; §5 is the checklist).
//!
//! One loopback server plays every Google host the connector talks to:
//!
//! - `POST /token` ([`oauth`]): the service account's JWT bearer grant with domain-wide
//!   delegation (`oauth2.googleapis.com`);
//! - `/admin/directory/v1/...` ([`directory`]) and `/admin/reports/v1/...` ([`reports`])
//!   (`admin.googleapis.com`);
//! - `/v1/policies` ([`policies`]) (`cloudidentity.googleapis.com`).
//!
//! Every API request is held against Google's discovery documents ([`discovery`]): unknown
//! parameters, values outside an enum, range or pattern, and tokens without one of the
//! method's scopes are refused the way Google refuses them, and recorded as violations for
//! the tests to read at `GET /__sandbox/stats`. The tenant is read-only: any write is
//! refused and counted. Control endpoints (`/__sandbox/...`) inject throttling and revoke
//! delegated scopes.

mod directory;
mod discovery;
mod oauth;
mod pattern;
mod policies;
mod reports;
pub mod scenarios;

pub use scenarios::Scenario;

use axum::{
    extract::State,
    http::{header, HeaderMap, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use base64::Engine;
use discovery::Api;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The service account (the key file's `client_email`): the assertion's `iss`.
pub const CLIENT_EMAIL: &str = "aispm-reader@aispm-sandbox.iam.gserviceaccount.com";
/// The service account's numeric OAuth client id: what domain-wide delegation authorises.
pub const CLIENT_ID: &str = "109876543210987654321";
/// A super admin in every scenario: the `sub` the connector acts as.
pub const ADMIN_EMAIL: &str = "it-admin@example.com";
/// The committed RSA 2048 test key (PKCS#8 PEM) of the service account.
pub const TEST_PRIVATE_KEY_PEM: &str = include_str!("test-key.pem");
/// The key file's `private_key_id` (an assertion's `kid`, when it sends one).
pub const PRIVATE_KEY_ID: &str = "0123456789abcdef0123456789abcdef01234567";

/// The scopes a read-only scan asks for (§1.3).
pub const READ_SCOPES: &[&str] = &[
    "https://www.googleapis.com/auth/cloud-identity.policies.readonly",
    "https://www.googleapis.com/auth/admin.directory.user.readonly",
    "https://www.googleapis.com/auth/admin.directory.rolemanagement.readonly",
    "https://www.googleapis.com/auth/admin.directory.orgunit.readonly",
    "https://www.googleapis.com/auth/admin.directory.customer.readonly",
    "https://www.googleapis.com/auth/admin.directory.group.readonly",
    "https://www.googleapis.com/auth/admin.directory.domain.readonly",
    "https://www.googleapis.com/auth/admin.reports.audit.readonly",
];
/// The only scope of `tokens.list` (§9.1.1; not read-only).
pub const TOKENS_SCOPE: &str = "https://www.googleapis.com/auth/admin.directory.user.security";

/// [`READ_SCOPES`] as owned strings.
pub fn read_scopes() -> Vec<String> {
    READ_SCOPES.iter().map(|s| s.to_string()).collect()
}

/// How the simulated tenant behaves.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The scopes domain-wide delegation grants [`CLIENT_ID`] (default: the read scopes and
    /// the tokens scope).
    pub delegated_scopes: Vec<String>,
    /// `expires_in` of an access token, and its life.
    pub token_ttl_secs: u64,
    /// After the last page of policies, one empty page that still carries a `nextPageToken`
    /// (§2.1, §8.1: seen on real tenants); following it gives an empty last page.
    pub policy_page_blank_pages: bool,
    /// Two policy requests closer than this answer 429 `RESOURCE_EXHAUSTED` (§2.1: about a
    /// second on real tenants); 0 turns it off.
    pub min_policy_interval_ms: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        let mut delegated_scopes = read_scopes();
        delegated_scopes.push(TOKENS_SCOPE.to_string());
        SimConfig {
            delegated_scopes,
            token_ttl_secs: 3599,
            policy_page_blank_pages: false,
            min_policy_interval_ms: 0,
        }
    }
}

/// What `GET /__sandbox/stats` answers.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SimStats {
    pub token_requests: u64,
    /// `directory`, `reports`, `policies`.
    pub requests_by_api: BTreeMap<String, u64>,
    /// Every request that was not a token or control request.
    pub requests: u64,
    /// Non-GET requests to an API path.
    pub writes: u64,
    /// Requests that broke Google's description or asked for what a real tenant refuses.
    pub violations: Vec<String>,
    /// The `scope` of each token issued, in order.
    pub tokens_scopes: Vec<String>,
    /// Throttling answers given (injected or for policy requests too close together).
    pub throttled: u64,
}

impl Default for SimStats {
    fn default() -> Self {
        SimStats {
            token_requests: 0,
            requests_by_api: ["directory", "reports", "policies"]
                .iter()
                .map(|a| (a.to_string(), 0))
                .collect(),
            requests: 0,
            writes: 0,
            violations: Vec::new(),
            tokens_scopes: Vec::new(),
            throttled: 0,
        }
    }
}

/// A live access token.
#[derive(Debug, Clone)]
struct Session {
    /// The impersonated user's primary email; `None` for the service account itself.
    sub: Option<String>,
    scopes: Vec<String>,
    expires: Instant,
}

struct SimState {
    config: SimConfig,
    scenario: Scenario,
    /// Lower-cased primary emails, aliases and ids → index into `scenario.users`.
    user_keys: HashMap<String, usize>,
    sessions: HashMap<String, Session>,
    /// API → how many more requests answer its throttling error.
    throttles: HashMap<&'static str, u64>,
    last_policy_request: Option<Instant>,
    stats: SimStats,
}

impl SimState {
    fn new(config: SimConfig, scenario: Scenario) -> SimState {
        let mut user_keys = HashMap::new();
        for (i, u) in scenario.users.iter().enumerate() {
            user_keys.insert(u.email.to_ascii_lowercase(), i);
            user_keys.insert(u.id.clone(), i);
            for alias in &u.aliases {
                user_keys.insert(alias.to_ascii_lowercase(), i);
            }
        }
        SimState {
            config,
            scenario,
            user_keys,
            sessions: HashMap::new(),
            throttles: HashMap::new(),
            last_policy_request: None,
            stats: SimStats::default(),
        }
    }

    /// A user by primary email, alias or numeric id (`userKey`).
    fn user(&self, key: &str) -> Option<&scenarios::User> {
        self.user_keys
            .get(&key.to_ascii_lowercase())
            .map(|&i| &self.scenario.users[i])
    }

    fn violation(&mut self, text: String) {
        self.stats.violations.push(text);
    }

    /// `my_customer` or the tenant's own id.
    fn is_our_customer(&self, customer: &str) -> bool {
        customer == "my_customer" || customer == self.scenario.customer_id
    }
}

type Shared = Arc<Mutex<SimState>>;

/// What a handler refuses with (boxed: a `Response` is large).
type Refusal = Box<Response>;

/// A poisoned lock still holds a consistent state (no handler leaves it half-written).
fn lock(state: &Shared) -> MutexGuard<'_, SimState> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// One API request, found in the discovery documents and checked against them.
struct Call {
    method: &'static discovery::Method,
    /// Path variables by the discovery names (`userKey`, `applicationName`, `customer`...).
    vars: BTreeMap<String, String>,
    query: Vec<(String, String)>,
    /// The impersonated user's email.
    sub: Option<String>,
    /// `GET /path?query`, for violation messages.
    label: String,
}

impl Call {
    /// A query parameter (the last value when repeated).
    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn var(&self, name: &str) -> &str {
        self.vars.get(name).map(String::as_str).unwrap_or("")
    }

    /// What a page token must agree with: the request minus paging and standard parameters
    /// (§2.1: "all other params must match the original request").
    fn fingerprint(&self) -> String {
        const IGNORED: &[&str] = &[
            "pageToken",
            "maxResults",
            "pageSize",
            "fields",
            "quotaUser",
            "prettyPrint",
            "alt",
            "key",
            "$.xgafv",
            "access_token",
            "callback",
            "oauth_token",
            "upload_protocol",
            "uploadType",
        ];
        let mut parts: Vec<String> = self
            .query
            .iter()
            .filter(|(k, _)| !IGNORED.contains(&k.as_str()))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        parts.sort();
        format!(
            "{}|{}|{}",
            self.method.id,
            self.vars.values().cloned().collect::<Vec<_>>().join("/"),
            parts.join("&")
        )
    }

    /// The requested page size: the parameter, or `default` when absent.
    fn page_size(&self, name: &str, default: usize) -> usize {
        self.param(name)
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or(default)
    }
}

// ---------------------------------------------------------------------------------------
// Paging

fn short_hash(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An opaque page token for `offset` into the results of the request `fingerprint` names.
fn page_token(fingerprint: &str, offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}:{offset}", short_hash(fingerprint)))
}

/// The offset a page token stands for, if it was issued for this request.
fn read_page_token(token: &str, fingerprint: &str) -> Option<usize> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (hash, offset) = raw.split_once(':')?;
    (hash == short_hash(fingerprint)).then(|| offset.parse().ok())?
}

/// The page of `total` items a request asks for: (start, end, next page token). A page token
/// from another request is Google's 400.
fn page_bounds(
    s: &mut SimState,
    call: &Call,
    total: usize,
    size: usize,
) -> Result<(usize, usize, Option<String>), Refusal> {
    let fingerprint = call.fingerprint();
    let start = match call.param("pageToken").filter(|t| !t.is_empty()) {
        None => 0,
        Some(token) => match read_page_token(token, &fingerprint) {
            Some(offset) => offset.min(total),
            None => {
                s.violation(format!("{}: a page token this request did not issue", call.label));
                return Err(bad_request(call.method.api, "Invalid page token", "pageToken").into());
            }
        },
    };
    let end = (start + size).min(total);
    let next = (end < total).then(|| page_token(&fingerprint, end));
    Ok((start, end, next))
}

// ---------------------------------------------------------------------------------------
// Google's answers

fn json_response(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

/// The Admin SDK's v1 error (`errors[]`).
fn v1_error(status: StatusCode, message: &str, reason: &str) -> Response {
    json_response(
        status,
        json!({"error": {"code": status.as_u16(), "message": message,
            "errors": [{"message": message, "domain": "global", "reason": reason}]}}),
    )
}

/// Cloud-style error (Cloud Identity): `code`, `message`, `status`.
fn cloud_error(status: StatusCode, message: &str, status_name: &str) -> Response {
    json_response(
        status,
        json!({"error": {"code": status.as_u16(), "message": message, "status": status_name}}),
    )
}

/// 400 for a parameter, in the API's style.
fn bad_request(api: Api, message: &str, parameter: &str) -> Response {
    match api {
        Api::Policies => cloud_error(StatusCode::BAD_REQUEST, message, "INVALID_ARGUMENT"),
        _ => json_response(
            StatusCode::BAD_REQUEST,
            json!({"error": {"code": 400, "message": message, "errors": [{
                "message": message, "domain": "global", "reason": "invalid",
                "location": parameter, "locationType": "parameter"}], "status": "INVALID_ARGUMENT"}}),
        ),
    }
}

fn not_authorized(api: Api) -> Response {
    match api {
        Api::Policies => cloud_error(
            StatusCode::FORBIDDEN,
            "The caller does not have permission",
            "PERMISSION_DENIED",
        ),
        _ => v1_error(
            StatusCode::FORBIDDEN,
            "Not Authorized to access this resource/api",
            "forbidden",
        ),
    }
}

fn unauthenticated() -> Response {
    json_response(
        StatusCode::UNAUTHORIZED,
        json!({"error": {"code": 401,
            "message": "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
            "errors": [{"message": "Invalid Credentials", "domain": "global", "reason": "authError",
                "location": "Authorization", "locationType": "header"}],
            "status": "UNAUTHENTICATED"}}),
    )
}

/// §8.5: the current 403 for a token without the method's scope, with `WWW-Authenticate`.
fn insufficient_scope(method: &discovery::Method) -> Response {
    let service = match method.api {
        Api::Policies => "cloudidentity.googleapis.com",
        _ => "admin.googleapis.com",
    };
    let body = json!({"error": {"code": 403, "message": "Request had insufficient authentication scopes.",
        "errors": [{"message": "Insufficient Permission", "domain": "global", "reason": "insufficientPermissions"}],
        "status": "PERMISSION_DENIED",
        "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
            "domain": "googleapis.com", "metadata": {"service": service, "method": rpc_method(method)}}]}});
    let challenge = format!(
        "Bearer realm=\"https://accounts.google.com/\", error=insufficient_scope, scope=\"{}\"",
        discovery::scope_list(method)
    );
    (
        StatusCode::FORBIDDEN,
        [(header::WWW_AUTHENTICATE, challenge)],
        Json(body),
    )
        .into_response()
}

/// `ccc.hosted.frontend.directory.v1.DirectoryUsers.List` (§8.5), built from the method id.
fn rpc_method(method: &discovery::Method) -> String {
    let parts: Vec<&str> = method.id.split('.').collect();
    let cap = |s: &str| {
        let mut c = s.chars();
        c.next()
            .map(|f| f.to_uppercase().chain(c).collect::<String>())
            .unwrap_or_default()
    };
    match parts.as_slice() {
        ["cloudidentity", resource, verb] => {
            format!(
                "google.apps.cloudidentity.{resource}.v1.{}Service.{}{}",
                cap(resource),
                cap(verb),
                cap(resource)
            )
        }
        [service, resource @ .., verb] => format!(
            "ccc.hosted.frontend.{service}.v1.{}{}.{}",
            cap(service),
            resource.iter().map(|r| cap(r)).collect::<String>(),
            cap(verb)
        ),
        _ => method.id.clone(),
    }
}

/// Google's HTML 404 for a URL no API has (§8.5: not every error body is JSON).
fn html_not_found(path: &str) -> Response {
    let body = format!(
        "<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n  <title>Error 404 (Not Found)!!1</title>\n  \
         <p><b>404.</b> <ins>That\u{2019}s an error.</ins>\n  <p>The requested URL <code>{}</code> was not found on this \
         server.  <ins>That\u{2019}s all we know.</ins>\n",
        crate::html_escape(path)
    );
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
        body,
    )
        .into_response()
}

/// Each API's quota answer (§3, §8.5).
fn throttled(api: Api) -> Response {
    match api {
        Api::Directory | Api::Licensing => {
            let message =
                "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service \
                           'admin.googleapis.com' for consumer 'project_number:123456789012'.";
            json_response(
                StatusCode::FORBIDDEN,
                json!({"error": {"code": 403, "message": message,
                    "errors": [{"message": message, "domain": "usageLimits", "reason": "userRateLimitExceeded"}]}}),
            )
        }
        Api::Reports => {
            let message = "Quota exceeded for the current request";
            json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": {"code": 503, "message": message,
                    "errors": [{"message": message, "domain": "global", "reason": "backendError"}],
                    "status": "UNAVAILABLE"}}),
            )
        }
        Api::Policies => json_response(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"error": {"code": 429,
            "message": "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute' of service 'cloudidentity.googleapis.com' for consumer 'project_number:123456789012'.",
            "status": "RESOURCE_EXHAUSTED",
            "details": [
                {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE_LIMIT_EXCEEDED",
                 "domain": "googleapis.com", "metadata": {
                    "service": "cloudidentity.googleapis.com",
                    "quota_metric": "cloudidentity.googleapis.com/read_requests",
                    "quota_limit": "ReadRequestsPerMinutePerProject",
                    "quota_limit_value": "60", "quota_location": "global", "quota_unit": "1/min/{project}",
                    "consumer": "projects/123456789012"}},
                {"@type": "type.googleapis.com/google.rpc.Help", "links": [{
                    "description": "Request a higher quota limit.",
                    "url": "https://cloud.google.com/docs/quotas/help/request_increase"}]}
            ]}}),
        ),
    }
}

// ---------------------------------------------------------------------------------------
// Partial responses (`fields`)

/// A `fields` selection: name → everything (`None`) or a sub-selection.
#[derive(Debug, Default)]
struct Selection(BTreeMap<String, Option<Selection>>);

fn parse_fields(text: &str) -> Result<Selection, String> {
    let chars: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
    let mut pos = 0;
    let selection = parse_selection(&chars, &mut pos)?;
    if pos != chars.len() {
        return Err(format!("Invalid field selection {text}"));
    }
    Ok(selection)
}

fn parse_selection(chars: &[char], pos: &mut usize) -> Result<Selection, String> {
    let mut out = Selection::default();
    loop {
        let mut path = vec![String::new()];
        while *pos < chars.len() && !matches!(chars[*pos], ',' | '(' | ')') {
            if chars[*pos] == '/' {
                path.push(String::new());
            } else if let Some(last) = path.last_mut() {
                last.push(chars[*pos]);
            }
            *pos += 1;
        }
        if path.iter().any(String::is_empty) {
            return Err("Invalid field selection".into());
        }
        let mut node: Option<Selection> = None;
        if *pos < chars.len() && chars[*pos] == '(' {
            *pos += 1;
            node = Some(parse_selection(chars, pos)?);
            if *pos >= chars.len() || chars[*pos] != ')' {
                return Err("Invalid field selection: missing )".into());
            }
            *pos += 1;
        }
        // a/b/c(x) → a: {b: {c: {x}}}
        for name in path.iter().skip(1).rev() {
            let mut sel = Selection::default();
            sel.0.insert(name.clone(), node);
            node = Some(sel);
        }
        merge_selection(&mut out, path[0].clone(), node);
        if *pos < chars.len() && chars[*pos] == ',' {
            *pos += 1;
            continue;
        }
        return Ok(out);
    }
}

fn merge_selection(into: &mut Selection, name: String, node: Option<Selection>) {
    match (into.0.get_mut(&name), node) {
        (None, node) => {
            into.0.insert(name, node);
        }
        (Some(Some(existing)), Some(new)) => {
            for (k, v) in new.0 {
                merge_selection(existing, k, v);
            }
        }
        // Everything already selected stays so.
        (Some(None), _) => {}
        (Some(existing), None) => *existing = None,
    }
}

fn apply_fields(value: &Value, selection: &Selection) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(|v| apply_fields(v, selection)).collect()),
        Value::Object(map) => {
            if selection.0.contains_key("*") {
                return value.clone();
            }
            let mut out = serde_json::Map::new();
            for (name, sub) in &selection.0 {
                if let Some(v) = map.get(name) {
                    let picked = match sub {
                        None => v.clone(),
                        Some(sub) => apply_fields(v, sub),
                    };
                    out.insert(name.clone(), picked);
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

// ---------------------------------------------------------------------------------------
// The server

/// Which API a path belongs to, by its host's path prefix.
fn api_of(path: &str) -> Option<Api> {
    if path.starts_with("/admin/directory/") {
        Some(Api::Directory)
    } else if path.starts_with("/admin/reports/") {
        Some(Api::Reports)
    } else if path.starts_with("/v1/") || path.starts_with("/v1beta1/") {
        Some(Api::Policies)
    } else {
        None
    }
}

fn bearer(headers: &HeaderMap, query: &[(String, String)]) -> Option<String> {
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|v| v.trim().to_string());
    header.or_else(|| {
        query
            .iter()
            .find(|(k, _)| k == "access_token" || k == "oauth_token")
            .map(|(_, v)| v.clone())
    })
}

/// Every request that is not a token or control request.
async fn api(State(state): State<Shared>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let mut s = lock(&state);
    let path = uri.path().to_string();
    let raw_query = uri.query().unwrap_or("");
    let query: Vec<(String, String)> = url::form_urlencoded::parse(raw_query.as_bytes()).into_owned().collect();
    let label = if raw_query.is_empty() {
        format!("{method} {path}")
    } else {
        format!("{method} {path}?{raw_query}")
    };
    let api = api_of(&path);
    s.stats.requests += 1;
    if let Some(api) = api {
        *s.stats.requests_by_api.entry(api.as_str().to_string()).or_default() += 1;
    }

    // The tenant is read-only, and an auditor never writes (§9.1.1: even tokens.delete).
    if method != Method::GET {
        if let Some(api) = api {
            s.stats.writes += 1;
            s.violation(format!("{label}: a write"));
            return not_authorized(api);
        }
        s.violation(format!("{label}: no such path"));
        return html_not_found(&path);
    }

    // Google routes before it authenticates: an unknown URL is a 404 with or without a token.
    let Some((described, vars)) = discovery::find("GET", &path) else {
        s.violation(format!("{label}: no such method in the discovery documents"));
        return html_not_found(&path);
    };
    let token = bearer(&headers, &query);
    let session = token
        .and_then(|t| s.sessions.get(&t).cloned())
        .filter(|t| t.expires > Instant::now());
    let Some(session) = session else {
        return unauthenticated();
    };

    if let Some(api) = api {
        if let Some(left) = s.throttles.get_mut(api.as_str()).filter(|n| **n > 0) {
            *left -= 1;
            s.stats.throttled += 1;
            return throttled(api);
        }
        if api == Api::Policies && s.config.min_policy_interval_ms > 0 {
            let min = Duration::from_millis(s.config.min_policy_interval_ms);
            let too_soon = s.last_policy_request.is_some_and(|last| last.elapsed() < min);
            s.last_policy_request = Some(Instant::now());
            if too_soon {
                s.stats.throttled += 1;
                return throttled(api);
            }
        }
    }

    if described.api == Api::Licensing {
        return v1_error(StatusCode::NOT_FOUND, "Not simulated: the licensing API", "notFound");
    }
    if let Err(invalid) = discovery::check(described, &query, &vars) {
        s.violation(format!("{label}: {} ({})", invalid.message, invalid.parameter));
        return bad_request(described.api, &invalid.message, &invalid.parameter);
    }
    if !session.scopes.iter().any(|granted| described.scopes.contains(granted)) {
        s.violation(format!(
            "{label}: the token's scopes ({}) have none of {}",
            session.scopes.join(" "),
            discovery::scope_list(described)
        ));
        return insufficient_scope(described);
    }
    // Admin APIs answer administrators only; the service account itself is nobody here.
    let caller_is_admin = session
        .sub
        .as_deref()
        .and_then(|sub| s.user(sub))
        .is_some_and(|u| u.is_admin || u.is_delegated_admin);
    if !caller_is_admin {
        s.violation(format!(
            "{label}: the token acts as {:?}, not an administrator",
            session.sub
        ));
        return not_authorized(described.api);
    }

    let call = Call {
        method: described,
        vars,
        query,
        sub: session.sub.clone(),
        label,
    };
    let answer = match described.api {
        Api::Directory => directory::handle(&mut s, &call),
        Api::Reports => reports::handle(&mut s, &call),
        Api::Policies => policies::handle(&mut s, &call),
        Api::Licensing => unreachable!("answered above"),
    };
    let body = match answer {
        Ok(body) => body,
        Err(response) => return *response,
    };
    match call.param("fields").filter(|f| !f.is_empty()) {
        None => json_response(StatusCode::OK, body),
        Some(fields) => match parse_fields(fields) {
            Ok(selection) => json_response(StatusCode::OK, apply_fields(&body, &selection)),
            Err(message) => {
                s.violation(format!("{}: {message}", call.label));
                bad_request(described.api, &message, "fields")
            }
        },
    }
}

async fn stats(State(state): State<Shared>) -> Json<SimStats> {
    Json(lock(&state).stats.clone())
}

/// `{"api": "directory"|"reports"|"policies", "count": n}`: the next `n` requests to that API
/// answer its throttling error.
async fn throttle(State(state): State<Shared>, Json(body): Json<Value>) -> Response {
    let api = match body.get("api").and_then(Value::as_str) {
        Some("directory") => "directory",
        Some("reports") => "reports",
        Some("policies") => "policies",
        _ => return (StatusCode::BAD_REQUEST, "api must be directory, reports or policies").into_response(),
    };
    let count = body.get("count").and_then(Value::as_u64).unwrap_or(1);
    lock(&state).throttles.insert(api, count);
    StatusCode::NO_CONTENT.into_response()
}

/// `{"scopes": [...]}`: removes scopes from the delegation grant (tokens already issued live
/// on, as Google's do). Answers the scopes still granted.
async fn revoke_delegation(State(state): State<Shared>, Json(body): Json<Value>) -> Json<Value> {
    let revoked: Vec<String> = body
        .get("scopes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    let mut s = lock(&state);
    s.config.delegated_scopes.retain(|scope| !revoked.contains(scope));
    Json(json!({"delegated_scopes": s.config.delegated_scopes}))
}

/// `{"scopes": [...]}`: adds scopes to the delegation grant (an admin granting them again).
async fn delegate(State(state): State<Shared>, Json(body): Json<Value>) -> Json<Value> {
    let mut s = lock(&state);
    for scope in body
        .get("scopes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !s.config.delegated_scopes.iter().any(|d| d == scope) {
            s.config.delegated_scopes.push(scope.to_string());
        }
    }
    Json(json!({"delegated_scopes": s.config.delegated_scopes}))
}

/// Ends every access token now (the next API call answers 401).
async fn expire_tokens(State(state): State<Shared>) -> StatusCode {
    let mut s = lock(&state);
    let past = Instant::now() - Duration::from_millis(1);
    for session in s.sessions.values_mut() {
        session.expires = past;
    }
    StatusCode::NO_CONTENT
}

/// `POST /__sandbox/scenario/{name}`: the tenant becomes another scenario (sessions live on).
async fn switch_scenario(
    State(state): State<Shared>,
    axum::extract::Path(name): axum::extract::Path<String>,
) -> Response {
    let Some(scenario) = scenarios::by_name(&name) else {
        return (StatusCode::NOT_FOUND, format!("no scenario {name:?}")).into_response();
    };
    let mut s = lock(&state);
    let sessions = std::mem::take(&mut s.sessions);
    let stats = std::mem::take(&mut s.stats);
    *s = SimState::new(s.config.clone(), scenario);
    s.sessions = sessions;
    s.stats = stats;
    StatusCode::NO_CONTENT.into_response()
}

fn router(config: SimConfig, scenario: Scenario) -> Router {
    let state: Shared = Arc::new(Mutex::new(SimState::new(config, scenario)));
    Router::new()
        .route("/token", post(oauth::token))
        .route("/__sandbox/stats", get(stats))
        .route("/__sandbox/throttle", post(throttle))
        .route("/__sandbox/revoke_delegation", post(revoke_delegation))
        .route("/__sandbox/delegate", post(delegate))
        .route("/__sandbox/expire_tokens", post(expire_tokens))
        .route("/__sandbox/scenario/{name}", post(switch_scenario))
        .fallback(api)
        .with_state(state)
}

/// Starts a simulated tenant on loopback (`port` 0 picks a free one).
pub async fn start(config: SimConfig, scenario: Scenario, port: u16) -> std::io::Result<crate::RunningServer> {
    crate::serve(router(config, scenario), port).await
}

/// A service account key file like the one Google's console downloads, whose `token_uri`
/// is this simulator's.
pub fn key_file(base_url: &str) -> String {
    let key = json!({
        "type": "service_account",
        "project_id": "aispm-sandbox",
        "private_key_id": PRIVATE_KEY_ID,
        "private_key": TEST_PRIVATE_KEY_PEM,
        "client_email": CLIENT_EMAIL,
        "client_id": CLIENT_ID,
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": format!("{base_url}/token"),
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/aispm-reader%40aispm-sandbox.iam.gserviceaccount.com",
        "universe_domain": "googleapis.com",
    });
    serde_json::to_string_pretty(&key).unwrap_or_default()
}

/// A simulated tenant with `scenario` and the connection settings that reach it.
pub async fn simulated_connection(scenario: &str) -> std::io::Result<crate::SimulatedConnection> {
    let tenant = scenarios::by_name(scenario)
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("no scenario {scenario:?}")))?;
    let server = start(SimConfig::default(), tenant, 0).await?;
    let base = server.base_url.clone();
    Ok(crate::SimulatedConnection {
        provider: "google_workspace",
        vendor: "Google Workspace",
        label: format!("Google Workspace {} ({base})", scenarios::DOMAIN),
        settings: json!({"admin_email": ADMIN_EMAIL, "customer_id": "my_customer", "api_base_url": base, "max_rps": 50.0}),
        secrets: [("service_account_key".to_string(), key_file(&base))].into(),
        server,
    })
}

#[cfg(test)]
mod tests;
