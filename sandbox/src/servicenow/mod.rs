//! ServiceNow simulator: `/oauth_token.do` and the Table API (`/api/now/table/{t}`,
//! `/api/now/v2/table/{t}`), written from `shared/saas-apis/servicenow-now-assist.md`.
//!
//! What it reproduces: form-encoded OAuth with password, client-credentials and refresh
//! grants and expiring tokens; `{"result": [...]}` bodies where every scalar is a string;
//! reference fields as `{link, value}`; `sysparm_fields` (with one level of dot-walking),
//! `sysparm_query`, `sysparm_limit`/`sysparm_offset`, `sysparm_display_value`,
//! `sysparm_exclude_reference_link`; `Link` and `X-Total-Count` headers; rows hidden by ACLs
//! *after* the limit is applied (short pages); 403 tables; per-window rate limits answered
//! with 429, `Retry-After` and the `X-RateLimit-*` headers; ServiceNow's error envelope.

mod query;
pub mod scenarios;
mod tables;

pub use tables::{Row, Table, Tables};

use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A per-user request budget over a fixed window, as `sys_rate_limit_rules` enforces per hour.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    pub limit: u32,
    pub window: Duration,
}

/// How the simulated instance behaves.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub client_id: String,
    pub client_secret: String,
    /// Accounts accepted by the password grant.
    pub users: Vec<(String, String)>,
    /// Mirrors `glide.oauth.inbound.client.credential.grant_type.enabled`.
    pub allow_client_credentials: bool,
    pub token_ttl: Duration,
    pub rate_limit: Option<RateLimit>,
    /// Tables whose read ACL the integration user fails: 403 (`*`: every table).
    pub forbidden_tables: HashSet<String>,
    /// Tables whose answer is a truncated, invalid JSON body (a proxy cutting the response).
    pub malformed_tables: HashSet<String>,
    /// Every Nth Table API request is refused with 429 + `Retry-After` (a semaphore queue
    /// overflow), whatever the budget; for tests.
    pub throttle_every: Option<u64>,
    /// The `Retry-After` (seconds) sent with those refusals.
    pub throttle_retry_after: u64,
    /// The `sys_id` of the `sys_rate_limit_rules` record, echoed in `X-RateLimit-Rule`.
    pub rate_limit_rule: String,
    /// The Application Registry entry's redirect URLs: `/oauth_auth.do` refuses any other
    /// (exact match, as ServiceNow compares them).
    pub redirect_uris: Vec<String>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            client_id: "aispm-sandbox-client".into(),
            client_secret: "sandbox-secret".into(),
            users: vec![("svc.aispm.reader".into(), "sandbox-password".into())],
            allow_client_credentials: true,
            token_ttl: Duration::from_secs(1800),
            rate_limit: None,
            forbidden_tables: HashSet::new(),
            malformed_tables: HashSet::new(),
            throttle_every: None,
            throttle_retry_after: 1,
            rate_limit_rule: "a0c1e2f3a4b5c6d7e8f9a0b1c2d3e4f5".into(),
            redirect_uris: Vec::new(),
        }
    }
}

/// Counters a test can read through `GET /__sandbox/stats`.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct SimStats {
    pub table_requests: u64,
    pub token_requests: u64,
    pub throttled: u64,
    pub unauthorized: u64,
    pub forbidden: u64,
}

struct Token {
    expires: Instant,
    user: String,
}

struct Window {
    started: Instant,
    count: u32,
}

/// An authorization code waiting for its token exchange.
struct Code {
    redirect_uri: String,
    challenge: String,
    user: String,
    expires: Instant,
}

struct SimState {
    config: SimConfig,
    tables: Tables,
    access_tokens: HashMap<String, Token>,
    refresh_tokens: HashMap<String, String>,
    codes: HashMap<String, Code>,
    window: Window,
    stats: SimStats,
}

type Shared = Arc<Mutex<SimState>>;

/// Builds the simulator's router over the given tables.
pub fn router(config: SimConfig, tables: Tables) -> Router {
    let state: Shared = Arc::new(Mutex::new(SimState {
        config,
        tables,
        access_tokens: HashMap::new(),
        refresh_tokens: HashMap::new(),
        codes: HashMap::new(),
        window: Window {
            started: Instant::now(),
            count: 0,
        },
        stats: SimStats::default(),
    }));
    Router::new()
        .route("/oauth_token.do", post(token))
        .route("/oauth_auth.do", get(authorize_page).post(authorize))
        .route("/api/now/table/{table}", get(list))
        .route("/api/now/v2/table/{table}", get(list))
        .route("/api/now/table/{table}/{sys_id}", get(one))
        .route("/api/now/v2/table/{table}/{sys_id}", get(one))
        .route("/__sandbox/stats", get(stats))
        .route("/__sandbox/expire_tokens", post(expire_tokens))
        .route("/__sandbox/scenario/{name}", post(switch_scenario))
        .route("/__sandbox/client_secret", post(rotate_secret))
        .route("/__sandbox/throttle", post(set_throttle))
        .route("/__sandbox/tokens", get(issued_tokens))
        .with_state(state)
}

/// A simulated instance with `scenario` and the connection settings that reach it.
pub async fn simulated_connection(scenario: &str) -> std::io::Result<crate::SimulatedConnection> {
    let tables = scenarios::by_name(scenario)
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("no scenario {scenario:?}")))?;
    let config = SimConfig::default();
    let server = start(config.clone(), tables, 0).await?;
    Ok(crate::SimulatedConnection {
        provider: "servicenow",
        vendor: "ServiceNow",
        label: server.base_url.clone(),
        settings: json!({"instance_url": server.base_url, "client_id": config.client_id, "max_rps": 50.0}),
        secrets: [("client_secret".to_string(), config.client_secret)].into(),
        server,
    })
}

/// Starts a ServiceNow simulator on loopback (`port` 0 picks a free one).
pub async fn start(config: SimConfig, tables: Tables, port: u16) -> std::io::Result<crate::RunningServer> {
    crate::serve(router(config, tables), port).await
}

fn error_body(status: StatusCode, message: &str, detail: Value) -> Response {
    (
        status,
        Json(json!({"error": {"message": message, "detail": detail}, "status": "failure"})),
    )
        .into_response()
}

fn oauth_denied() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error_description": "access_denied", "error": "server_error"})),
    )
        .into_response()
}

async fn token(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let mut s = state.lock().unwrap();
    s.stats.token_requests += 1;
    let form_encoded = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form_encoded {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error_description": "invalid request", "error": "invalid_request"})),
        )
            .into_response();
    }
    let form: HashMap<String, String> = url_decode_form(&body);
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    // Client authentication may also come as HTTP Basic.
    let (mut client_id, mut client_secret) = (field("client_id").to_string(), field("client_secret").to_string());
    if client_id.is_empty() {
        if let Some((id, secret)) = basic_auth(&headers) {
            client_id = id;
            client_secret = secret;
        }
    }
    if client_id != s.config.client_id || client_secret != s.config.client_secret {
        return oauth_denied();
    }
    let ttl = s.config.token_ttl;
    let (user, with_refresh) = match field("grant_type") {
        "password" => {
            let ok = s
                .config
                .users
                .iter()
                .any(|(u, p)| u == field("username") && p == field("password"));
            if !ok {
                return oauth_denied();
            }
            (field("username").to_string(), true)
        }
        "client_credentials" if s.config.allow_client_credentials => ("oauth.application.user".to_string(), false),
        // Authorization code with PKCE: the code once, the same redirect URI, the verifier
        // whose SHA-256 is the challenge sent to /oauth_auth.do.
        "authorization_code" => match s.codes.remove(field("code")) {
            Some(code)
                if code.expires > Instant::now()
                    && code.redirect_uri == field("redirect_uri")
                    && crate::pkce_s256(field("code_verifier")) == code.challenge =>
            {
                (code.user, true)
            }
            _ => return oauth_denied(),
        },
        "refresh_token" => match s.refresh_tokens.get(field("refresh_token")) {
            Some(user) => (user.clone(), false),
            None => return oauth_denied(),
        },
        _ => return oauth_denied(),
    };
    // A request while the user's token is still valid returns the same token.
    let now = Instant::now();
    let existing = s
        .access_tokens
        .iter()
        .find(|(_, t)| t.user == user && t.expires > now + Duration::from_millis(200))
        .map(|(k, t)| (k.clone(), t.expires));
    let (access, expires) = match existing {
        Some(found) => found,
        None => {
            let access = crate::new_token();
            let expires = now + ttl;
            s.access_tokens.insert(
                access.clone(),
                Token {
                    expires,
                    user: user.clone(),
                },
            );
            (access, expires)
        }
    };
    let mut body = json!({
        "access_token": access,
        "scope": "useraccount",
        "token_type": "Bearer",
        "expires_in": expires.saturating_duration_since(now).as_secs().max(1),
    });
    if with_refresh {
        let refresh = crate::new_token();
        s.refresh_tokens.insert(refresh.clone(), user);
        body["refresh_token"] = json!(refresh);
    } else if field("grant_type") == "refresh_token" {
        body["refresh_token"] = json!(field("refresh_token"));
    }
    (StatusCode::OK, Json(body)).into_response()
}

fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    use base64_lite::decode;
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(decode(encoded)?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// Just enough base64 for HTTP Basic, to keep the simulator's dependencies small.
mod base64_lite {
    pub fn decode(input: &str) -> Option<Vec<u8>> {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = Vec::new();
        let mut buffer = 0u32;
        let mut bits = 0;
        for c in input.bytes().filter(|c| *c != b'=') {
            let v = ALPHABET.iter().position(|a| *a == c)? as u32;
            buffer = (buffer << 6) | v;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((buffer >> bits) as u8);
                buffer &= (1 << bits) - 1;
            }
        }
        Some(out)
    }
}

/// `GET /oauth_auth.do`: the instance's sign-in and consent page for an OAuth client, after
/// checking the client and the exact redirect URI, and that a PKCE S256 challenge came along.
async fn authorize_page(State(state): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let s = state.lock().unwrap();
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    if get("response_type") != "code" || get("client_id") != s.config.client_id {
        return (StatusCode::BAD_REQUEST, "Invalid client or response type").into_response();
    }
    if !s.config.redirect_uris.iter().any(|u| u == get("redirect_uri")) {
        return (StatusCode::BAD_REQUEST, "Invalid redirect_uri").into_response();
    }
    if get("code_challenge_method") != "S256" || get("code_challenge").is_empty() {
        return (StatusCode::BAD_REQUEST, "PKCE (S256) is required").into_response();
    }
    let hidden: String = ["client_id", "redirect_uri", "state", "code_challenge"]
        .iter()
        .map(|k| {
            format!(
                r#"<input type="hidden" name="{k}" value="{}">"#,
                crate::html_escape(get(k))
            )
        })
        .collect();
    axum::response::Html(format!(
        r#"<!doctype html><html><head><title>ServiceNow: Log in</title></head><body>
<h1>Connect to aispm</h1><p>aispm wants to read this instance's AI agents, tools and settings as you.</p>
<form method="post" action="/oauth_auth.do">{hidden}
<label>User name <input id="user_name" name="user_name"></label>
<label>Password <input id="user_password" name="user_password" type="password"></label>
<button id="allow" type="submit">Allow</button></form></body></html>"#
    ))
    .into_response()
}

/// `POST /oauth_auth.do`: the user signed in and allowed; back to the client with a code.
async fn authorize(State(state): State<Shared>, body: Bytes) -> Response {
    let form = url_decode_form(&body);
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let mut s = state.lock().unwrap();
    if !s.config.redirect_uris.iter().any(|u| u == get("redirect_uri")) || get("client_id") != s.config.client_id {
        return (StatusCode::BAD_REQUEST, "Invalid redirect_uri").into_response();
    }
    let known = s
        .config
        .users
        .iter()
        .any(|(u, p)| u == get("user_name") && p == get("user_password"));
    if !known {
        return (StatusCode::UNAUTHORIZED, "User name or password invalid").into_response();
    }
    let code = crate::new_token();
    s.codes.insert(
        code.clone(),
        Code {
            redirect_uri: get("redirect_uri").to_string(),
            challenge: get("code_challenge").to_string(),
            user: get("user_name").to_string(),
            expires: Instant::now() + Duration::from_secs(60),
        },
    );
    let mut target = url::Url::parse(get("redirect_uri")).expect("a registered redirect URI parses");
    target
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", get("state"));
    (StatusCode::FOUND, [(header::LOCATION, target.to_string())]).into_response()
}

fn url_decode_form(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// Checks the bearer token, the rate limit and the table ACL; returns the response headers to
/// add on success, or the refusal.
#[allow(clippy::result_large_err)] // a refusal is the response itself
fn admit(s: &mut SimState, headers: &HeaderMap, table: &str) -> Result<HeaderMap, Response> {
    s.stats.table_requests += 1;
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let now = Instant::now();
    let valid = s.access_tokens.get(bearer).is_some_and(|t| t.expires > now);
    if !valid {
        s.stats.unauthorized += 1;
        let mut response = error_body(
            StatusCode::UNAUTHORIZED,
            "User Not Authenticated",
            json!("Required to provide Auth information"),
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"Service-now\""),
        );
        return Err(response);
    }
    let mut out = HeaderMap::new();
    if let Some(every) = s.config.throttle_every {
        if s.stats.table_requests.is_multiple_of(every) {
            s.stats.throttled += 1;
            let mut response = error_body(
                StatusCode::TOO_MANY_REQUESTS,
                "Rate limit exceeded",
                json!("API_INT semaphore queue is full"),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s.config.throttle_retry_after));
            return Err(response);
        }
    }
    if let Some(limit) = s.config.rate_limit {
        if now.duration_since(s.window.started) >= limit.window {
            s.window = Window { started: now, count: 0 };
        }
        let reset_in = limit.window.saturating_sub(now.duration_since(s.window.started));
        let reset_at = SystemTime::now() + reset_in;
        let reset_unix = reset_at.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        // ServiceNow states its limits per hour; express the window's limit that way.
        let per_hour = (limit.limit as f64 * 3600.0 / limit.window.as_secs_f64()).round() as u64;
        out.insert("X-RateLimit-Limit", HeaderValue::from(per_hour));
        out.insert("X-RateLimit-Reset", HeaderValue::from(reset_unix));
        out.insert(
            "X-RateLimit-Rule",
            HeaderValue::from_str(&s.config.rate_limit_rule).unwrap(),
        );
        if s.window.count >= limit.limit {
            s.stats.throttled += 1;
            let mut response = error_body(
                StatusCode::TOO_MANY_REQUESTS,
                "Rate limit exceeded",
                json!(format!(
                    "Rate limit of {} requests per {} seconds for Table API exceeded",
                    limit.limit,
                    limit.window.as_secs_f64()
                )),
            );
            // Retry-After is whole seconds; round up so a client that obeys it is never early.
            let wait = reset_in.as_secs_f64().ceil().max(1.0) as u64;
            response.headers_mut().extend(out);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(wait));
            return Err(response);
        }
        s.window.count += 1;
    }
    if s.config.forbidden_tables.contains(table) || s.config.forbidden_tables.contains("*") {
        s.stats.forbidden += 1;
        return Err(error_body(
            StatusCode::FORBIDDEN,
            "Insufficient rights to query records",
            json!(format!("No permission to read table '{table}'")),
        ));
    }
    Ok(out)
}

async fn list(
    State(state): State<Shared>,
    Path(table_name): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let mut s = state.lock().unwrap();
    let mut extra = match admit(&mut s, &headers, &table_name) {
        Ok(h) => h,
        Err(refusal) => return refusal,
    };
    let Some(table) = s.tables.get(&table_name) else {
        return error_body(
            StatusCode::BAD_REQUEST,
            &format!("Invalid table {table_name}"),
            Value::Null,
        );
    };
    let param = |k: &str| params.iter().find(|(name, _)| name == k).map(|(_, v)| v.as_str());
    let base = crate::host_base(&headers);
    let request = query::ListRequest {
        query: param("sysparm_query").unwrap_or(""),
        fields: param("sysparm_fields"),
        limit: param("sysparm_limit").and_then(|v| v.parse().ok()).unwrap_or(10_000),
        offset: param("sysparm_offset").and_then(|v| v.parse().ok()).unwrap_or(0),
        display_value: param("sysparm_display_value").unwrap_or("false"),
        exclude_reference_link: param("sysparm_exclude_reference_link") == Some("true"),
        base: &base,
    };
    let page = match query::run(&s.tables, table, &request) {
        Ok(page) => page,
        Err(query::QueryError::UnknownField(field)) => {
            // Recent instances answer a query on an unknown or unreadable column with 403
            // (reference §8.7), not with a silently widened result.
            let _ = field;
            return error_body(
                StatusCode::FORBIDDEN,
                "Insufficient rights to query records",
                json!("Field(s) present in the query do not have permission to be read"),
            );
        }
    };
    if s.config.malformed_tables.contains(&table_name) {
        let mut response = (StatusCode::OK, "{\"result\":[{\"sys_id\":\"0a1b").into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json;charset=UTF-8"),
        );
        return response;
    }
    extra.insert("X-Total-Count", HeaderValue::from(page.total));
    let link = links(&base, &table_name, &params, request.offset, request.limit, page.total);
    if !link.is_empty() {
        extra.insert(header::LINK, HeaderValue::from_str(&link).unwrap());
    }
    let mut response = (StatusCode::OK, Json(json!({"result": page.rows}))).into_response();
    response.headers_mut().extend(extra);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    response
}

/// RFC 8288 `Link` header with first/prev/next/last, each a full URL carrying the original
/// parameters and a new `sysparm_offset`.
fn links(base: &str, table: &str, params: &[(String, String)], offset: usize, limit: usize, total: usize) -> String {
    if limit == 0 {
        return String::new();
    }
    let url_at = |at: usize| {
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in params {
            if k != "sysparm_offset" && k != "sysparm_limit" {
                serializer.append_pair(k, v);
            }
        }
        serializer.append_pair("sysparm_limit", &limit.to_string());
        serializer.append_pair("sysparm_offset", &at.to_string());
        format!("{base}/api/now/table/{table}?{}", serializer.finish())
    };
    let last = if total == 0 { 0 } else { (total - 1) / limit * limit };
    let mut parts = vec![format!("<{}>;rel=\"first\"", url_at(0))];
    if offset > 0 {
        parts.push(format!("<{}>;rel=\"prev\"", url_at(offset.saturating_sub(limit))));
    }
    if offset + limit < total {
        parts.push(format!("<{}>;rel=\"next\"", url_at(offset + limit)));
    }
    parts.push(format!("<{}>;rel=\"last\"", url_at(last)));
    parts.join(",")
}

async fn one(
    State(state): State<Shared>,
    Path((table_name, sys_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut s = state.lock().unwrap();
    let extra = match admit(&mut s, &headers, &table_name) {
        Ok(h) => h,
        Err(refusal) => return refusal,
    };
    let base = crate::host_base(&headers);
    let Some(table) = s.tables.get(&table_name) else {
        return error_body(
            StatusCode::BAD_REQUEST,
            &format!("Invalid table {table_name}"),
            Value::Null,
        );
    };
    let request = query::ListRequest {
        query: "",
        fields: None,
        limit: usize::MAX,
        offset: 0,
        display_value: "false",
        exclude_reference_link: false,
        base: &base,
    };
    let rows = table
        .rows
        .iter()
        .filter(|r| r.get("sys_id") == Some(sys_id.as_str()) && !r.hidden);
    match rows.map(|r| query::render(&s.tables, table, r, None, &request)).next() {
        Some(record) => {
            let mut response = Json(json!({"result": Value::Object(record)})).into_response();
            response.headers_mut().extend(extra);
            response
        }
        None => error_body(
            StatusCode::NOT_FOUND,
            "No Record found",
            json!("Record doesn't exist or ACL restricts the record retrieval"),
        ),
    }
}

/// Replaces the instance's tables with a named scenario (tests of drift and reconciliation).
async fn switch_scenario(State(state): State<Shared>, Path(name): Path<String>) -> StatusCode {
    match scenarios::by_name(&name) {
        Some(tables) => {
            state.lock().unwrap().tables = tables;
            StatusCode::NO_CONTENT
        }
        None => StatusCode::NOT_FOUND,
    }
}

/// Rotates the client secret (the body is the new one): the stored credentials stop working.
async fn rotate_secret(State(state): State<Shared>, body: String) -> StatusCode {
    let mut s = state.lock().unwrap();
    s.config.client_secret = body;
    s.access_tokens.clear();
    s.refresh_tokens.clear();
    StatusCode::NO_CONTENT
}

/// `{"every": N or null, "retry_after": seconds}`: refuse every Nth Table API request from now.
async fn set_throttle(State(state): State<Shared>, Json(body): Json<Value>) -> StatusCode {
    let mut s = state.lock().unwrap();
    s.config.throttle_every = body["every"].as_u64().filter(|n| *n > 0);
    if let Some(seconds) = body["retry_after"].as_u64() {
        s.config.throttle_retry_after = seconds;
    }
    StatusCode::NO_CONTENT
}

/// Every access and refresh token handed out, for tests that look for them where they must
/// not be.
async fn issued_tokens(State(state): State<Shared>) -> Json<Vec<String>> {
    let s = state.lock().unwrap();
    Json(s.access_tokens.keys().chain(s.refresh_tokens.keys()).cloned().collect())
}

async fn stats(State(state): State<Shared>) -> Json<SimStats> {
    Json(state.lock().unwrap().stats.clone())
}

async fn expire_tokens(State(state): State<Shared>) -> StatusCode {
    let mut s = state.lock().unwrap();
    let past = Instant::now() - Duration::from_millis(1);
    for token in s.access_tokens.values_mut() {
        token.expires = past;
    }
    StatusCode::NO_CONTENT
}
