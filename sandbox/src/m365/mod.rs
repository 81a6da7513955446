//! Microsoft 365 simulator, written from `shared/saas-apis/m365-copilot.md` (with its §6
//! addendum). One loopback server plays every surface, each under its own path prefix:
//!
//! - `/login/{tenant}/oauth2/v2.0/token`: Entra client credentials (form body); checks tenant,
//!   client id and secret; issues expiring tokens **per audience** (the `scope`), and every API
//!   refuses a token minted for another audience. Authorization code (PKCE) and refresh token
//!   grants issue **delegated** tokens, which the delegated-only APIs accept ([`signin`]: the
//!   admin-consent and sign-in pages).
//! - `/graph/{v1.0|beta}/...`: the Graph paths the connector reads, with `$select`, `$top`,
//!   `@odata.nextLink` paging, the Graph error envelope, delegated-only Copilot admin APIs that
//!   answer 403 to app-only tokens, the package API answering 403 without an Agent 365 licence,
//!   and `$batch` (20-request cap, per-item statuses, per-item 429 with its own `Retry-After`).
//! - `/bap/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments`: the BAP admin
//!   environment list, `linkedEnvironmentMetadata.instanceUrl` pointing at this server.
//! - `/pp/resourcequery/resources/query`: the inventory API, 403 to app-only tokens.
//! - `/dataverse/{org}/api/data/v9.2/{entity}`: Dataverse OData with `$select`, `$filter`
//!   (`eq`/`gt` joined by `or`/`and`), the `$apply` filter+groupby+max aggregate,
//!   `Prefer: odata.maxpagesize`, `@odata.nextLink` with `$skiptoken`, `Preference-Applied`.
//!
//! Throttling: every Nth API request (a batch item counts as a request) is refused with 429,
//! the Graph throttling envelope and a `Retry-After` (decimal seconds allowed).

pub mod published;
pub mod scenarios;
mod signin;

use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One tenant's data, as the vendor APIs would return it.
#[derive(Debug, Clone, Default)]
pub struct Tenant {
    pub subscribed_skus: Vec<Value>,
    pub users: Vec<Value>,
    pub service_principals: Vec<Value>,
    /// Entra agent identities (the `microsoft.graph.agentIdentity` cast, v1.0 and beta).
    pub agent_identities: Vec<Value>,
    /// appRoleAssignments by client service principal id.
    pub app_role_assignments: BTreeMap<String, Vec<Value>>,
    pub oauth2_permission_grants: Vec<Value>,
    /// Owners by service principal id.
    pub owners: BTreeMap<String, Vec<Value>>,
    /// Package details (`copilotPackageDetail`); the list returns the summary fields.
    pub packages: Vec<Value>,
    pub sharepoint_settings: Value,
    pub sensitivity_labels: Vec<Value>,
    /// BAP environments; `{org}` in `instanceUrl` becomes this server's Dataverse URL.
    pub environments: Vec<Value>,
    /// Dataverse tables by org, then entity set name (`bots`, `botcomponents`, ...).
    pub dataverse: BTreeMap<String, BTreeMap<String, Vec<Value>>>,
    /// Delegated only: `copilotAdminLimitedMode`.
    pub limited_mode: Value,
    /// Delegated only: `copilotPolicySetting` by id; `{"@sandbox.status": 422}` answers the
    /// group-scoped error instead. Ids not listed answer "not configured" (null value).
    pub policy_settings: BTreeMap<String, Value>,
    /// Delegated only: the Power Platform inventory's rows (`microsoft.copilotstudio/agents`).
    pub inventory: Vec<Value>,
}

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub directory_id: String,
    pub client_id: String,
    pub client_secret: String,
    pub token_ttl: Duration,
    /// Whether the tenant holds a Microsoft Agent 365 licence (the package API needs it).
    pub agent365_licensed: bool,
    /// Largest Graph page, whatever `$top` asks (small values force paging in tests).
    pub graph_page_size: usize,
    /// Every Nth API request (batch items included) is throttled; `None`: never.
    pub throttle_every: Option<u64>,
    /// The `Retry-After` sent with a throttled answer, e.g. `"1"` or `"0.25"`.
    pub retry_after: String,
    /// Surfaces that answer 403: a Graph path's first segment (`servicePrincipals`), `bap`, or
    /// `dataverse:{org}`.
    pub forbidden: HashSet<String>,
    /// The app registration's redirect URIs (exact match).
    pub redirect_uris: Vec<String>,
    /// Admins who can sign in at the consent and sign-in pages: (email, password).
    pub admins: Vec<(String, String)>,
    /// Whether the directory has consented to the app; before that, client credentials fail.
    pub consented: bool,
    /// A refresh token already issued to the first admin (a sign-in done before the test).
    pub delegated_refresh_token: Option<String>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            directory_id: "8a1b2c3d-0000-4000-8000-00000000d1d1".into(),
            client_id: "aispm-sandbox-app".into(),
            client_secret: "sandbox-m365-secret".into(),
            token_ttl: Duration::from_secs(3599),
            agent365_licensed: true,
            graph_page_size: 100,
            throttle_every: None,
            retry_after: "1".into(),
            forbidden: HashSet::new(),
            redirect_uris: Vec::new(),
            admins: vec![("admin@contoso.example".into(), "sandbox-admin-password".into())],
            consented: true,
            delegated_refresh_token: Some("sandbox-m365-delegated-refresh".into()),
        }
    }
}

/// Counters a test reads through `GET /__sandbox/stats`.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct SimStats {
    /// HTTP requests to the APIs (a `$batch` is one).
    pub api_requests: u64,
    pub batch_requests: u64,
    pub batch_items: u64,
    pub token_requests: u64,
    /// Tokens issued per audience key (`graph`, `bap`, `pp`, `dataverse:{org}`).
    pub tokens_by_audience: BTreeMap<String, u64>,
    pub throttled: u64,
    pub unauthorized: u64,
    pub wrong_audience: u64,
    pub forbidden: u64,
    /// The largest `odata.maxpagesize` Dataverse was asked for.
    pub dataverse_max_page: u64,
}

struct Token {
    audience: String,
    expires: Instant,
    /// Issued to a signed-in user, not to the app alone.
    delegated: bool,
}

struct SimState {
    config: SimConfig,
    tenant: Tenant,
    tokens: HashMap<String, Token>,
    stats: SimStats,
    counter: u64,
    /// Every API request answered (`graph v1.0 /users?$select=...`, `dataverse bots?...`),
    /// the most recent [`REQUEST_LOG_CAP`], for tests that hold them against Microsoft's metadata.
    requests: std::collections::VecDeque<String>,
    consented: bool,
    codes: HashMap<String, signin::Code>,
    /// Live refresh tokens and the user each stands for.
    refresh_tokens: HashMap<String, String>,
}

const REQUEST_LOG_CAP: usize = 10_000;

fn log_request(s: &mut SimState, line: String) {
    if s.requests.len() == REQUEST_LOG_CAP {
        s.requests.pop_front();
    }
    s.requests.push_back(line);
}

type Shared = Arc<Mutex<SimState>>;

pub fn router(config: SimConfig, tenant: Tenant) -> Router {
    let refresh_tokens = match (&config.delegated_refresh_token, config.admins.first()) {
        (Some(token), Some((admin, _))) => HashMap::from([(token.clone(), admin.clone())]),
        _ => HashMap::new(),
    };
    let state: Shared = Arc::new(Mutex::new(SimState {
        consented: config.consented,
        config,
        tenant,
        tokens: HashMap::new(),
        stats: SimStats::default(),
        counter: 0,
        requests: Default::default(),
        codes: HashMap::new(),
        refresh_tokens,
    }));
    Router::new()
        .route("/login/{tenant}/oauth2/v2.0/token", post(token))
        .route(
            "/login/{tenant}/v2.0/adminconsent",
            get(signin::consent_page).post(signin::consent),
        )
        .route(
            "/login/{tenant}/oauth2/v2.0/authorize",
            get(signin::authorize_page).post(signin::authorize),
        )
        .route("/__sandbox/redirect_uris", post(set_redirect_uris))
        .route("/graph/{version}/$batch", post(batch))
        .route("/graph/{version}/{*path}", get(graph))
        .route(
            "/bap/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments",
            get(environments),
        )
        .route("/pp/resourcequery/resources/query", post(inventory_query))
        .route("/dataverse/{org}/api/data/v9.2/{entity}", get(dataverse))
        .route("/__sandbox/stats", get(stats))
        .route("/__sandbox/requests", get(requests))
        .route("/__sandbox/expire_tokens", post(expire_tokens))
        .route("/__sandbox/scenario/{name}", post(switch_scenario))
        .route("/__sandbox/client_secret", post(rotate_secret))
        .with_state(state)
}

/// A simulated tenant with `scenario` and the connection settings that reach it (one server
/// plays login, Graph, BAP, the Power Platform API and Dataverse).
pub async fn simulated_connection(scenario: &str) -> std::io::Result<crate::SimulatedConnection> {
    let tenant = scenarios::by_name(scenario)
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("no scenario {scenario:?}")))?;
    let config = SimConfig::default();
    let server = start(config.clone(), tenant, 0).await?;
    let base = server.base_url.clone();
    Ok(crate::SimulatedConnection {
        provider: "m365",
        vendor: "Microsoft 365",
        label: format!("Microsoft 365 {}", config.directory_id),
        settings: json!({
            "directory_id": config.directory_id, "client_id": config.client_id,
            "login_url": format!("{base}/login"), "graph_url": format!("{base}/graph"),
            "bap_url": format!("{base}/bap"), "powerplatform_url": format!("{base}/pp"), "max_rps": 50.0,
        }),
        secrets: [
            ("client_secret".to_string(), config.client_secret),
            (
                "delegated_refresh_token".to_string(),
                config.delegated_refresh_token.unwrap_or_default(),
            ),
        ]
        .into(),
        server,
    })
}

/// Starts a Microsoft 365 simulator on loopback (`port` 0 picks a free one).
pub async fn start(config: SimConfig, tenant: Tenant, port: u16) -> std::io::Result<crate::RunningServer> {
    crate::serve(router(config, tenant), port).await
}

/// Entra's token error: `error`, `error_description` with an AADSTS code, `error_codes`.
fn token_error(status: StatusCode, error: &str, code: u32, description: &str) -> Response {
    (
        status,
        Json(json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {description}"),
            "error_codes": [code],
            "timestamp": chrono::Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string(),
            "trace_id": uuid::Uuid::new_v4().to_string(),
            "correlation_id": uuid::Uuid::new_v4().to_string(),
        })),
    )
        .into_response()
}

/// The audience key of a `scope` like `http://host/graph/.default`; a delegated request may
/// name permissions (`http://host/graph/CopilotPolicySettings.Read`) beside OIDC scopes.
fn audience_key(scope: &str, delegated: bool) -> Option<String> {
    let first = scope
        .split_whitespace()
        .find(|s| !["offline_access", "openid", "profile", "email"].contains(s))?;
    let resource = match first.strip_suffix("/.default") {
        Some(r) => r,
        None if delegated => first.rsplit_once('/')?.0,
        None => return None,
    };
    let path = url::Url::parse(resource).ok()?.path().trim_matches('/').to_string();
    match path.split('/').collect::<Vec<_>>().as_slice() {
        ["graph"] => Some("graph".into()),
        ["bap"] => Some("bap".into()),
        ["pp"] => Some("pp".into()),
        ["dataverse", org] => Some(format!("dataverse:{org}")),
        _ => None,
    }
}

async fn token(State(state): State<Shared>, Path(tenant): Path<String>, body: Bytes) -> Response {
    let mut s = state.lock().unwrap();
    s.stats.token_requests += 1;
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if tenant != s.config.directory_id {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            &format!("Tenant '{tenant}' not found."),
        );
    }
    let delegated = match field("grant_type") {
        "client_credentials" => false,
        "authorization_code" | "refresh_token" => true,
        _ => {
            return token_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                70003,
                "The app requested an unsupported grant type.",
            )
        }
    };
    if field("client_id") != s.config.client_id {
        return token_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            "Application not found in the directory.",
        );
    }
    if field("client_secret") != s.config.client_secret {
        return token_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            "Invalid client secret provided.",
        );
    }
    if !s.consented {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            7000229,
            "The client application is missing service principal in the tenant: an administrator has not consented to it.",
        );
    }
    // The code or refresh token is spent here, whatever comes next (as at Entra).
    let user = if delegated {
        match signin::redeem(&mut s, &form) {
            Some(user) => Some(user),
            None => {
                return token_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    70000,
                    "The provided authorization code or refresh token is invalid, expired or already used.",
                )
            }
        }
    } else {
        None
    };
    // An authorization code redeemed without a scope gets a token for the scopes it was
    // asked with; the connector always names one.
    let scope = match field("scope") {
        "" if delegated => "http://sandbox/graph/.default",
        scope => scope,
    };
    let Some(audience) = audience_key(scope, delegated) else {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_resource",
            500011,
            "The resource principal was not found in the tenant.",
        );
    };
    if let Some(org) = audience.strip_prefix("dataverse:") {
        if !s.tenant.dataverse.contains_key(org) {
            return token_error(
                StatusCode::BAD_REQUEST,
                "invalid_resource",
                500011,
                "The resource principal was not found in the tenant.",
            );
        }
    }
    *s.stats.tokens_by_audience.entry(audience.clone()).or_default() += 1;
    let ttl = s.config.token_ttl;
    let access = crate::new_token();
    s.tokens.insert(
        access.clone(),
        Token {
            audience,
            expires: Instant::now() + ttl,
            delegated,
        },
    );
    let mut answer = json!({
        "token_type": "Bearer",
        "expires_in": ttl.as_secs(),
        "ext_expires_in": ttl.as_secs(),
        "access_token": access,
    });
    // No refresh token for client credentials (reference §1.3); a new one with every
    // delegated answer.
    if let Some(user) = user {
        let refresh = crate::new_token();
        s.refresh_tokens.insert(refresh.clone(), user);
        answer["refresh_token"] = json!(refresh);
        answer["scope"] = json!(scope);
    }
    Json(answer).into_response()
}

/// Graph's error envelope.
fn graph_error(status: StatusCode, code: &str, message: &str) -> (StatusCode, Value) {
    (
        status,
        json!({"error": {"code": code, "message": message, "innerError": {
            "date": chrono::Utc::now().to_rfc3339(),
            "request-id": uuid::Uuid::new_v4().to_string(),
            "client-request-id": uuid::Uuid::new_v4().to_string(),
        }}}),
    )
}

/// An answer before it becomes an HTTP response or a batch item.
struct Answer {
    status: StatusCode,
    body: Value,
    headers: Vec<(&'static str, String)>,
}

impl Answer {
    fn ok(body: Value) -> Self {
        Answer {
            status: StatusCode::OK,
            body,
            headers: vec![],
        }
    }
    fn error(status: StatusCode, code: &str, message: &str) -> Self {
        let (status, body) = graph_error(status, code, message);
        Answer {
            status,
            body,
            headers: vec![],
        }
    }
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        for (k, v) in self.headers {
            if let Ok(v) = v.parse() {
                response.headers_mut().insert(k, v);
            }
        }
        response
    }
}

/// Checks the bearer token's validity and audience; says whether it is a signed-in user's.
fn authorize(s: &mut SimState, headers: &HeaderMap, audience: &str) -> Result<bool, Answer> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let Some(token) = s.tokens.get(bearer) else {
        s.stats.unauthorized += 1;
        return Err(Answer::error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token is empty or invalid.",
        ));
    };
    if token.expires <= Instant::now() {
        s.stats.unauthorized += 1;
        return Err(Answer::error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Lifetime validation failed, the token is expired.",
        ));
    }
    if token.audience != audience {
        s.stats.unauthorized += 1;
        s.stats.wrong_audience += 1;
        return Err(Answer::error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token validation failure. Invalid audience.",
        ));
    }
    Ok(token.delegated)
}

/// Counts a request and decides whether it is throttled.
fn throttled(s: &mut SimState) -> Option<Answer> {
    s.counter += 1;
    let every = s.config.throttle_every?;
    if every == 0 || !s.counter.is_multiple_of(every) {
        return None;
    }
    s.stats.throttled += 1;
    let (_, body) = graph_error(
        StatusCode::TOO_MANY_REQUESTS,
        "TooManyRequests",
        "Please retry again later.",
    );
    let mut body = body;
    body["error"]["innerError"]["code"] = json!("429");
    body["error"]["innerError"]["status"] = json!("429");
    body["error"]["innerError"]["message"] = json!("Please retry after");
    Some(Answer {
        status: StatusCode::TOO_MANY_REQUESTS,
        body,
        headers: vec![("Retry-After", s.config.retry_after.clone())],
    })
}

fn forbidden(s: &mut SimState, key: &str) -> Option<Answer> {
    if !s.config.forbidden.contains(key) {
        return None;
    }
    s.stats.forbidden += 1;
    Some(Answer::error(
        StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    ))
}

fn parse_query(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// `$select`: keep the named properties (and OData annotations).
fn select(items: Vec<Value>, fields: Option<&str>) -> Vec<Value> {
    let Some(fields) = fields else { return items };
    let wanted: HashSet<&str> = fields.split(',').map(str::trim).collect();
    items
        .into_iter()
        .map(|item| match item {
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .filter(|(k, _)| wanted.contains(k.as_str()) || k.starts_with('@'))
                    .collect::<Map<String, Value>>(),
            ),
            other => other,
        })
        .collect()
}

/// One page of a collection with `@odata.nextLink` (`$skiptoken` = offset) when more remain.
fn page(items: Vec<Value>, params: &[(String, String)], limit: usize, next_base: &str, context: &str) -> Value {
    let offset: usize = param(params, "$skiptoken").and_then(|t| t.parse().ok()).unwrap_or(0);
    let limit = limit.max(1);
    let total = items.len();
    let page: Vec<Value> = select(
        items.into_iter().skip(offset).take(limit).collect(),
        param(params, "$select"),
    );
    let mut body = json!({"@odata.context": context, "value": page});
    if offset + limit < total {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in params.iter().filter(|(k, _)| k != "$skiptoken") {
            q.append_pair(k, v);
        }
        q.append_pair("$skiptoken", &(offset + limit).to_string());
        body["@odata.nextLink"] = json!(format!("{next_base}?{}", q.finish()));
    }
    body
}

/// A Graph GET, shared by plain requests and batch items. `path` has no version prefix.
fn graph_answer(s: &mut SimState, base: &str, version: &str, path: &str, query: &str, delegated: bool) -> Answer {
    log_request(s, format!("graph {version} /{}?{query}", path.trim_matches('/')));
    if let Some(t) = throttled(s) {
        return t;
    }
    let path = path.trim_matches('/');
    let first = path.split(['/', '(']).next().unwrap_or("");
    if let Some(f) = forbidden(s, first) {
        return f;
    }
    let params = parse_query(query);
    // Graph refuses a path or a `$select` its published metadata does not have.
    let returned = match published::graph_resolve(version, path) {
        Ok(r) => r,
        Err(message) => return Answer::error(StatusCode::BAD_REQUEST, "BadRequest", &message),
    };
    if let Some(message) =
        param(&params, "$select").and_then(|fields| published::graph_undeclared_select(version, &returned, fields))
    {
        return Answer::error(StatusCode::BAD_REQUEST, "BadRequest", &message);
    }
    let top: usize = param(&params, "$top").and_then(|t| t.parse().ok()).unwrap_or(100);
    if !(1..=999).contains(&top) {
        return Answer::error(
            StatusCode::BAD_REQUEST,
            "Request_UnsupportedQuery",
            "Invalid page size specified: Must be between 1 and 999 inclusive.",
        );
    }
    let limit = top.min(s.config.graph_page_size);
    let next_base = format!("{base}/graph/{version}/{path}");
    let context = format!("https://graph.microsoft.com/{version}/$metadata#{path}");
    let list = |items: &[Value]| Answer::ok(page(items.to_vec(), &params, limit, &next_base, &context));
    let t = &s.tenant;
    let segments: Vec<&str> = path.split('/').collect();
    match (version, segments.as_slice()) {
        (_, ["subscribedSkus"]) => list(&t.subscribed_skus),
        (_, ["users"]) => list(&t.users),
        (_, ["servicePrincipals"]) => list(&t.service_principals),
        (_, ["servicePrincipals", "microsoft.graph.agentIdentity"]) => list(&t.agent_identities),
        (_, ["servicePrincipals", id]) => match t.service_principals.iter().find(|sp| sp["id"] == *id) {
            Some(sp) => Answer::ok(select(vec![sp.clone()], param(&params, "$select")).remove(0)),
            None => Answer::error(
                StatusCode::NOT_FOUND,
                "Request_ResourceNotFound",
                &format!("Resource '{id}' does not exist."),
            ),
        },
        (_, ["servicePrincipals", id, "appRoleAssignments"]) => {
            list(t.app_role_assignments.get(*id).map(Vec::as_slice).unwrap_or(&[]))
        }
        (_, ["servicePrincipals", id, "owners"]) => list(t.owners.get(*id).map(Vec::as_slice).unwrap_or(&[])),
        (_, ["oauth2PermissionGrants"]) => list(&t.oauth2_permission_grants),
        // Delegated-only: "Application: Not supported" (reference §2.1).
        (_, ["copilot", "admin", "settings", "limitedMode"]) | ("beta", ["copilot", "admin", "policySettings", _])
            if !delegated =>
        {
            Answer::error(
                StatusCode::FORBIDDEN,
                "Authorization_RequestDenied",
                "Application permissions are not supported for this API.",
            )
        }
        (_, ["copilot", "admin", "settings", "limitedMode"]) => {
            let mut body = t.limited_mode.clone();
            if !body.is_object() {
                body = json!({"isEnabledForGroup": false, "groupId": null});
            }
            body["@odata.context"] = json!(format!(
                "https://graph.microsoft.com/{version}/$metadata#copilot/admin/settings/limitedMode/$entity"
            ));
            body["@odata.type"] = json!("#microsoft.graph.copilotAdminLimitedMode");
            Answer::ok(body)
        }
        ("beta", ["copilot", "admin", "policySettings", id]) => policy_setting(t, id),
        (_, ["copilot", "admin", "catalog", "packages", rest @ ..]) => {
            if !s.config.agent365_licensed {
                return Answer::error(
                    StatusCode::FORBIDDEN,
                    "Forbidden",
                    "Customer must be a licensed for Agent 365 in order to use Agent 365 Graph APIs.",
                );
            }
            match rest {
                [] => {
                    let summaries: Vec<Value> = t
                        .packages
                        .iter()
                        .map(|p| {
                            let mut p = p.clone();
                            for detail in [
                                "longDescription",
                                "categories",
                                "sensitivity",
                                "allowedUsersAndGroups",
                                "acquireUsersAndGroups",
                                "elementDetails",
                            ] {
                                p.as_object_mut().map(|m| m.remove(detail));
                            }
                            p
                        })
                        .collect();
                    list(&summaries)
                }
                [id] => match t.packages.iter().find(|p| p["id"] == *id) {
                    Some(p) => Answer::ok(p.clone()),
                    None => Answer::error(StatusCode::NOT_FOUND, "NotFound", "Package not found."),
                },
                _ => Answer::error(StatusCode::NOT_FOUND, "NotFound", "Resource not found."),
            }
        }
        ("v1.0", ["admin", "sharepoint", "settings"]) => Answer::ok(t.sharepoint_settings.clone()),
        ("beta", ["security", "informationProtection", "sensitivityLabels"]) => list(&t.sensitivity_labels),
        _ => Answer::error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("Resource not found for the segment '{first}'."),
        ),
    }
}

async fn graph(
    State(state): State<Shared>,
    Path((version, path)): Path<(String, String)>,
    headers: HeaderMap,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    let mut s = state.lock().unwrap();
    s.stats.api_requests += 1;
    let delegated = match authorize(&mut s, &headers, "graph") {
        Ok(d) => d,
        Err(refusal) => return refusal.into_response(),
    };
    graph_answer(
        &mut s,
        &crate::host_base(&headers),
        &version,
        &path,
        query.as_deref().unwrap_or(""),
        delegated,
    )
    .into_response()
}

/// JSON batching (reference §2.7): at most 20 requests, unique ids, relative URLs; each item
/// answered (and throttled) on its own; the outer status is 200 when the batch parses.
async fn batch(State(state): State<Shared>, Path(version): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let mut s = state.lock().unwrap();
    s.stats.api_requests += 1;
    s.stats.batch_requests += 1;
    let delegated = match authorize(&mut s, &headers, "graph") {
        Ok(d) => d,
        Err(refusal) => return refusal.into_response(),
    };
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    let Some(requests) = parsed
        .as_ref()
        .and_then(|b| b.get("requests"))
        .and_then(Value::as_array)
    else {
        return Answer::error(StatusCode::BAD_REQUEST, "BadRequest", "Invalid batch payload format.").into_response();
    };
    if requests.len() > 20 {
        return Answer::error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Number of requests inside batch exceeds the limit.",
        )
        .into_response();
    }
    let ids: HashSet<String> = requests
        .iter()
        .filter_map(|r| r.get("id").and_then(Value::as_str))
        .map(str::to_lowercase)
        .collect();
    if ids.len() != requests.len() {
        return Answer::error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Batch request ids must be unique.",
        )
        .into_response();
    }
    let base = crate::host_base(&headers);
    let mut responses = Vec::new();
    // Answered in reverse: the order of responses is not the order of requests.
    for r in requests.iter().rev() {
        s.stats.batch_items += 1;
        let id = r.get("id").and_then(Value::as_str).unwrap_or("");
        let url = r.get("url").and_then(Value::as_str).unwrap_or("");
        let method = r.get("method").and_then(Value::as_str).unwrap_or("");
        let answer = if !method.eq_ignore_ascii_case("GET") {
            Answer::error(StatusCode::METHOD_NOT_ALLOWED, "BadRequest", "Only GET is simulated.")
        } else if url.starts_with("http") {
            Answer::error(StatusCode::BAD_REQUEST, "BadRequest", "Batch URLs must be relative.")
        } else {
            let (path, query) = url.split_once('?').unwrap_or((url, ""));
            graph_answer(&mut s, &base, &version, path, query, delegated)
        };
        let headers: Map<String, Value> = answer
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .chain([("Content-Type".to_string(), json!("application/json"))])
            .collect();
        responses.push(json!({"id": id, "status": answer.status.as_u16(), "headers": headers, "body": answer.body}));
    }
    Json(json!({"responses": responses})).into_response()
}

async fn environments(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let mut s = state.lock().unwrap();
    s.stats.api_requests += 1;
    if let Err(refusal) = authorize(&mut s, &headers, "bap") {
        return refusal.into_response();
    }
    if let Some(t) = throttled(&mut s) {
        return t.into_response();
    }
    if s.config.forbidden.contains("bap") {
        s.stats.forbidden += 1;
        // The body Microsoft's Terraform provider matches on (addendum A2).
        return (
            StatusCode::FORBIDDEN,
            Json(json!({"error": {"code": "Forbidden", "message": "The service principal does not have permission to access the path '/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments'."}})),
        )
            .into_response();
    }
    if !params.contains_key("api-version") {
        return Answer::error(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "The api-version query parameter is required.",
        )
        .into_response();
    }
    let base = crate::host_base(&headers);
    let envs: Vec<Value> = s
        .tenant
        .environments
        .iter()
        .map(|e| {
            let text = e.to_string().replace("{dataverse}", &format!("{base}/dataverse"));
            serde_json::from_str(&text).expect("environment JSON")
        })
        .collect();
    Json(json!({"value": envs})).into_response()
}

/// The inventory API supports only delegated users: app-only tokens get 403 (addendum B1).
/// Pages by `Options.Top` with the offset as `skipToken` (Azure Resource Graph rules, B2).
async fn inventory_query(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let mut s = state.lock().unwrap();
    s.stats.api_requests += 1;
    log_request(&mut s, format!("pp query {}", String::from_utf8_lossy(&body)));
    match authorize(&mut s, &headers, "pp") {
        Err(refusal) => return refusal.into_response(),
        Ok(false) => {
            s.stats.forbidden += 1;
            return (
                StatusCode::FORBIDDEN,
                Json(json!({"error": {"code": "Forbidden", "message": "Service principal authentication is not supported for this API."}})),
            )
                .into_response();
        }
        Ok(true) => {}
    }
    if let Some(t) = throttled(&mut s) {
        return t.into_response();
    }
    let version = params.get("api-version").map(String::as_str).unwrap_or("");
    let query: Option<Value> = serde_json::from_slice(&body).ok();
    let Some(query) = query.filter(|q| {
        q["TableName"] == "PowerPlatformResources"
            && q["Clauses"].is_array()
            && ["2024-10-01", "2022-03-01-preview"].contains(&version)
    }) else {
        return Answer::error(StatusCode::BAD_REQUEST, "BadRequest", "The query is not valid.").into_response();
    };
    let wanted_type = query["Clauses"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["$type"] == "where" && c["FieldName"] == "type")
        .and_then(|c| c["Values"][0].as_str())
        .map(|v| v.trim_matches('\'').to_ascii_lowercase());
    let rows: Vec<Value> = s
        .tenant
        .inventory
        .iter()
        .filter(|r| {
            wanted_type
                .as_deref()
                .is_none_or(|t| r["type"].as_str().is_some_and(|rt| rt.eq_ignore_ascii_case(t)))
        })
        .cloned()
        .collect();
    let top = query["Options"]["Top"].as_u64().unwrap_or(1000).clamp(1, 1000) as usize;
    let skip: usize = query["Options"]["SkipToken"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let page: Vec<Value> = rows.iter().skip(skip).take(top).cloned().collect();
    let next = (skip + top < rows.len()).then(|| (skip + top).to_string());
    Json(json!({
        "totalRecords": rows.len(), "count": page.len(),
        "resultTruncated": if next.is_some() { 1 } else { 0 },
        "skipToken": next, "data": page,
    }))
    .into_response()
}

/// One Copilot policy setting as the beta API answers it (reference §2.1.2).
fn policy_setting(t: &Tenant, id: &str) -> Answer {
    if !POLICY_IDS.contains(&id) {
        let mut a = Answer::error(StatusCode::NOT_FOUND, "NotFound", "The setting is not supported.");
        a.body["error"]["innerError"]["code"] = json!("unsupportedSetting");
        return a;
    }
    let mut body = t
        .policy_settings
        .get(id)
        .cloned()
        .unwrap_or_else(|| json!({"policyId": null, "value": null}));
    if body.get("@sandbox.status").and_then(Value::as_u64) == Some(422) {
        let mut a = Answer::error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "UnprocessableContent",
            "The setting is configured in a group-level policy, which is not supported.",
        );
        a.body["error"]["innerError"]["code"] = json!("groupScopedSettingNotSupported");
        return a;
    }
    body["@odata.context"] = json!("https://graph.microsoft.com/beta/$metadata#copilot/admin/policySettings/$entity");
    body["@odata.type"] = json!("#microsoft.graph.copilotPolicySetting");
    body["id"] = json!(id);
    Answer::ok(body)
}

/// The ids the policy API knows (reference §2.1.2).
pub const POLICY_IDS: &[&str] = &[
    "microsoft.copilot.copilotchatpinning",
    "microsoft.copilot.blockaccesstoopenfiles",
    "microsoft.copilot.imagegeneration",
    "microsoft.copilot.allowwebsearch",
    "microsoft.copilot.allowinadmincenters",
];

/// One comparison of a Dataverse `$filter`: `field eq value` or `field gt value`.
fn matches_clause(row: &Value, clause: &str) -> bool {
    let parts: Vec<&str> = clause.trim().splitn(3, ' ').collect();
    let [field, op, literal] = parts.as_slice() else {
        return false;
    };
    let literal = literal.trim().trim_matches('\'');
    let value = match row.get(*field) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "null".into(),
        Some(other) => other.to_string(),
    };
    match *op {
        "eq" => value.eq_ignore_ascii_case(literal),
        "ne" => !value.eq_ignore_ascii_case(literal),
        "gt" => value.as_str() > literal,
        "lt" => value.as_str() < literal,
        _ => false,
    }
}

/// `$filter` with `or` of `and` groups of simple comparisons (what the connector sends).
fn matches_filter(row: &Value, filter: &str) -> bool {
    filter
        .split(" or ")
        .any(|group| group.split(" and ").all(|clause| matches_clause(row, clause)))
}

/// `filter(<cond>)/groupby((<col>),aggregate(<field> with max as <alias>))`.
fn apply(rows: Vec<Value>, expression: &str) -> Option<Vec<Value>> {
    let (filter, rest) = match expression.strip_prefix("filter(") {
        Some(r) => {
            let end = r.find(")/")?;
            (Some(&r[..end]), &r[end + 2..])
        }
        None => (None, expression),
    };
    let inner = rest.strip_prefix("groupby((")?;
    let (column, rest) = inner.split_once("),aggregate(")?;
    let aggregate = rest.strip_suffix("))")?;
    let words: Vec<&str> = aggregate.split_whitespace().collect();
    let [field, "with", "max", "as", alias] = words.as_slice() else {
        return None;
    };
    let mut groups: BTreeMap<String, String> = BTreeMap::new();
    for row in rows.iter().filter(|r| filter.is_none_or(|f| matches_filter(r, f))) {
        let key = row.get(column).and_then(Value::as_str).unwrap_or("").to_string();
        let value = row.get(*field).and_then(Value::as_str).unwrap_or("").to_string();
        let entry = groups.entry(key).or_default();
        if value > *entry {
            *entry = value;
        }
    }
    Some(
        groups
            .into_iter()
            .map(|(k, v)| {
                let mut row = Map::new();
                row.insert(column.to_string(), json!(k));
                row.insert(alias.to_string(), json!(v));
                Value::Object(row)
            })
            .collect(),
    )
}

async fn dataverse(
    State(state): State<Shared>,
    Path((org, entity)): Path<(String, String)>,
    headers: HeaderMap,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    let mut s = state.lock().unwrap();
    s.stats.api_requests += 1;
    if let Err(refusal) = authorize(&mut s, &headers, &format!("dataverse:{org}")) {
        return refusal.into_response();
    }
    if let Some(t) = throttled(&mut s) {
        return t.into_response();
    }
    if let Some(f) = forbidden(&mut s, &format!("dataverse:{org}")) {
        return f.into_response();
    }
    let query = query.as_deref().unwrap_or("");
    log_request(&mut s, format!("dataverse {entity}?{query}"));
    let params = parse_query(query);
    // Dataverse refuses a column its table does not have (published table reference).
    if let Some(message) = published::dataverse_unknown_column(&entity, published::dataverse_query_columns(&params)) {
        return Answer::error(StatusCode::BAD_REQUEST, "0x80060888", &message).into_response();
    }
    let Some(table) = s.tenant.dataverse.get(&org).and_then(|t| t.get(&entity)).cloned() else {
        return Answer::error(
            StatusCode::NOT_FOUND,
            "0x80060888",
            &format!("Resource not found for the segment '{entity}'."),
        )
        .into_response();
    };
    if param(&params, "$skip").is_some() {
        return Answer::error(
            StatusCode::BAD_REQUEST,
            "0x80060888",
            "The query parameter $skip is not supported",
        )
        .into_response();
    }
    let mut rows: Vec<Value> = match param(&params, "$filter") {
        Some(f) => table.into_iter().filter(|r| matches_filter(r, f)).collect(),
        None => table,
    };
    if let Some(expression) = param(&params, "$apply") {
        match apply(rows, expression) {
            Some(grouped) => rows = grouped,
            None => {
                return Answer::error(StatusCode::BAD_REQUEST, "0x80040203", "Invalid $apply expression.")
                    .into_response()
            }
        }
    }
    // Up to 5,000 rows per page when no size is asked for (addendum C1).
    let asked = headers
        .get("prefer")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').find_map(|p| p.trim().strip_prefix("odata.maxpagesize=")))
        .and_then(|n| n.parse::<usize>().ok());
    let size = asked.unwrap_or(5000).clamp(1, 5000);
    s.stats.dataverse_max_page = s.stats.dataverse_max_page.max(asked.unwrap_or(0) as u64);
    let next_base = format!("{}/dataverse/{org}/api/data/v9.2/{entity}", crate::host_base(&headers));
    let context = format!("{next_base}/$metadata#{entity}");
    let body = page(rows, &params, size, &next_base, &context);
    let mut response = Json(body).into_response();
    if let Some(n) = asked {
        if let Ok(v) = format!("odata.maxpagesize={n}").parse() {
            response.headers_mut().insert("Preference-Applied", v);
        }
    }
    response
}

async fn requests(State(state): State<Shared>) -> Json<Vec<String>> {
    Json(state.lock().unwrap().requests.iter().cloned().collect())
}

async fn stats(State(state): State<Shared>) -> Json<SimStats> {
    Json(state.lock().unwrap().stats.clone())
}

async fn expire_tokens(State(state): State<Shared>) -> StatusCode {
    let mut s = state.lock().unwrap();
    let past = Instant::now();
    for t in s.tokens.values_mut() {
        t.expires = past;
    }
    StatusCode::NO_CONTENT
}

async fn switch_scenario(State(state): State<Shared>, Path(name): Path<String>) -> StatusCode {
    match scenarios::by_name(&name) {
        Some(tenant) => {
            state.lock().unwrap().tenant = tenant;
            StatusCode::NO_CONTENT
        }
        None => StatusCode::NOT_FOUND,
    }
}

/// Replaces the app registration's redirect URIs (a JSON array of strings).
async fn set_redirect_uris(State(state): State<Shared>, Json(uris): Json<Vec<String>>) -> StatusCode {
    state.lock().unwrap().config.redirect_uris = uris;
    StatusCode::NO_CONTENT
}

async fn rotate_secret(State(state): State<Shared>, body: String) -> StatusCode {
    state.lock().unwrap().config.client_secret = body.trim().to_string();
    StatusCode::NO_CONTENT
}
