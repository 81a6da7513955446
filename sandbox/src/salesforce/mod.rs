//! Salesforce (Einstein / Agentforce) simulator, written from
//! `shared/saas-apis/salesforce-einstein.md` (sections 8 and 9 correct the body; where they
//! disagree, 9 wins, then 8).
//!
//! Two loopback servers share one org:
//!
//! - the **login host** (plays `login.salesforce.com`): `POST /services/oauth2/token` (JWT
//!   bearer, authorization code with PKCE, refresh; client credentials refused, §8.1), the
//!   authorize page, revocation, the identity URL, and an RDAP server at `/rdap/domain/{d}`
//!   ([`rdap`]);
//! - the **instance host** (the org's My Domain, the token answer's `instance_url`): the
//!   same token endpoint (client credentials accepted), REST under `/services/data/` ([`rest`]:
//!   versions, limits, data and Tooling SOQL with paging, Connect prompt templates,
//!   `/composite`, `/composite/batch`), and the Metadata API over SOAP at
//!   `/services/Soap/m/{NN.N}` ([`soap`]).
//!
//! Every REST answer but the versions list carries `Sforce-Limit-Info: api-usage=used/max`;
//! the daily allocation runs out into 403 `REQUEST_LIMIT_EXCEEDED`, and a control endpoint
//! starts a run of concurrency refusals. Errors are Salesforce's JSON arrays
//! (`[{"message","errorCode"}]`). Control endpoints (`/__sandbox/...`) answer on both hosts.

mod oauth;
pub mod published;
mod rdap;
mod rest;
pub mod scenarios;
mod soap;
pub mod soql;

pub use oauth::{verify_assertion, JwtCheck, TEST_PRIVATE_KEY_PEM};
pub use scenarios::Org;

use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{any, get, post},
    Json, Router,
};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The consumer key of the tool's own connected app (`aispm_reader` in the scenarios).
pub fn default_consumer_key() -> String {
    scenarios::consumer_key("AispmR")
}

/// How the simulated org behaves.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The connected app's consumer key: JWT `iss`, `client_id`.
    pub consumer_key: String,
    pub consumer_secret: String,
    /// Users who may act through the app: JWT `sub`, the sign-in page.
    pub usernames: Vec<String>,
    /// The sign-in page's password for those users.
    pub sign_in_password: String,
    /// The app's client-credentials "Run As" user; `None`: `no client credentials user enabled`.
    pub client_credentials_user: Option<String>,
    /// Session lifetime of an access token.
    pub token_ttl: Duration,
    /// "Issue JSON Web Token (JWT)-based access tokens": tokens with three base64url parts,
    /// which the Metadata API refuses at version 67.0 and below (reference §9.1.1).
    pub jwt_shaped_tokens: bool,
    /// API versions `GET /services/data/` lists (`"62.0"` ...); others answer 404.
    pub versions: Vec<String>,
    /// The newest Metadata SOAP version served (a real org's release caps it; 68.0 lets the
    /// §9.1.1 path work against the default versions).
    pub soap_max_version: f64,
    /// Largest query page (Salesforce: 2000); `Sforce-Query-Options: batchSize` (200..2000)
    /// lowers it. Small values force paging in tests.
    pub page_size: usize,
    /// The daily API request allocation, and how much of it is used at start.
    pub daily_max: u64,
    pub daily_used: u64,
    /// Whether Tooling answers `GenAiPromptTemplate` queries (reference §9.1.4); otherwise it
    /// is `INVALID_TYPE` and the connector falls back to Connect (§8.3).
    pub prompt_templates_on_tooling: bool,
    /// Whether the integration user may use the Metadata API (Modify Metadata); otherwise
    /// every SOAP call faults `INSUFFICIENT_ACCESS`.
    pub metadata_access: bool,
    /// The connected app's callback URLs (exact match).
    pub redirect_uris: Vec<String>,
    /// Refresh token rotation: each refresh answers a new refresh token and kills the old one.
    pub rotate_refresh_tokens: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            consumer_key: default_consumer_key(),
            consumer_secret: "sandbox-salesforce-consumer-secret".into(),
            usernames: vec![scenarios::USERNAME_READER.into()],
            sign_in_password: "sandbox-password".into(),
            client_credentials_user: Some(scenarios::USERNAME_READER.into()),
            token_ttl: Duration::from_secs(7200),
            jwt_shaped_tokens: false,
            versions: ["62.0", "63.0", "64.0", "65.0", "66.0"].map(String::from).to_vec(),
            soap_max_version: 68.0,
            page_size: 2000,
            daily_max: 115_000,
            daily_used: 1_200,
            prompt_templates_on_tooling: false,
            metadata_access: true,
            redirect_uris: Vec::new(),
            rotate_refresh_tokens: false,
        }
    }
}

/// Counters a test reads through `GET /__sandbox/stats`.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct SimStats {
    /// HTTP requests under `/services/data` (a `/composite` or `/composite/batch` is one).
    pub rest_requests: u64,
    pub token_requests: u64,
    pub soap_requests: u64,
    pub rdap_requests: u64,
    pub composite_subrequests: u64,
    pub batch_subrequests: u64,
    /// `nextRecordsUrl` pages fetched.
    pub query_more: u64,
    /// 401 `INVALID_SESSION_ID` answers (REST) and SOAP session faults.
    pub unauthorized: u64,
    /// 403 `REQUEST_LIMIT_EXCEEDED` answers (daily and concurrency).
    pub limited: u64,
    /// SOQL queries by `FROM` object (data and Tooling, composite and batch items included).
    pub by_object: BTreeMap<String, u64>,
    /// Metadata API calls by type.
    pub by_metadata_type: BTreeMap<String, u64>,
    /// The daily API counter now.
    pub api_used: u64,
    pub api_max: u64,
}

/// An access token's session.
#[derive(Debug, Clone)]
struct Session {
    username: String,
    user_id: String,
    expires: Instant,
    /// Three base64url parts (reference §9.1.1).
    jwt: bool,
}

#[derive(Debug, Clone)]
struct Grant {
    username: String,
    scope: String,
}

/// An authorization code waiting for its token exchange.
struct Code {
    redirect_uri: String,
    challenge: String,
    username: String,
    scope: String,
    expires: Instant,
}

/// The rest of a query result, for `nextRecordsUrl`.
struct Locator {
    api: published::Api,
    entity: String,
    records: Vec<Value>,
    page: usize,
}

struct SimState {
    config: SimConfig,
    org: Org,
    instance_url: String,
    sessions: HashMap<String, Session>,
    refresh_tokens: HashMap<String, Grant>,
    codes: HashMap<String, Code>,
    locators: VecDeque<(String, Locator)>,
    locator_seq: u64,
    api_used: u64,
    /// How many more REST requests the concurrency limit refuses.
    storm: u64,
    stats: SimStats,
    requests: VecDeque<Value>,
}

/// Request log entries kept (`/__sandbox/requests`).
const REQUEST_LOG_CAP: usize = 1000;
/// Open query locators kept (oldest dropped; a dropped one answers `INVALID_QUERY_LOCATOR`).
const LOCATOR_CAP: usize = 200;

/// Logs a request that has nothing more to say than its method and path, if it came to the
/// instance host (the log is the instance host's).
fn log_plain(s: &mut SimState, host: Host, method: &str, path: &str) {
    if host == Host::Instance {
        log_request(s, json!({"method": method, "path": path}));
    }
}

fn log_request(s: &mut SimState, entry: Value) {
    if s.requests.len() == REQUEST_LOG_CAP {
        s.requests.pop_front();
    }
    s.requests.push_back(entry);
}

/// A poisoned lock still holds a consistent state here (no handler leaves it half-written).
fn lock(state: &Shared) -> MutexGuard<'_, SimState> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// The live session of the request's bearer token.
fn session<'a>(s: &'a SimState, headers: &HeaderMap) -> Option<&'a Session> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("OAuth ")))?;
    live_session(s, bearer.trim())
}

fn live_session<'a>(s: &'a SimState, token: &str) -> Option<&'a Session> {
    s.sessions.get(token).filter(|t| t.expires > Instant::now())
}

type Shared = Arc<Mutex<SimState>>;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Host {
    Login,
    Instance,
}

#[derive(Clone)]
struct Ctx {
    state: Shared,
    host: Host,
}

fn control_routes(router: Router<Ctx>) -> Router<Ctx> {
    router
        .route("/__sandbox/stats", get(stats))
        .route("/__sandbox/requests", get(requests))
        .route("/__sandbox/tokens", get(issued_tokens))
        .route("/__sandbox/expire_tokens", post(expire_tokens))
        .route("/__sandbox/scenario/{name}", post(switch_scenario))
        .route("/__sandbox/concurrency_storm/{n}", post(concurrency_storm))
        .route("/__sandbox/budget/{used}/{max}", post(set_budget))
        .route("/__sandbox/flags", post(set_flags))
}

fn oauth_routes(router: Router<Ctx>) -> Router<Ctx> {
    router
        .route("/services/oauth2/token", post(oauth::token))
        .route(
            "/services/oauth2/authorize",
            get(oauth::authorize_page).post(oauth::authorize),
        )
        .route("/services/oauth2/revoke", post(oauth::revoke))
        .route("/id/{org}/{user}", get(oauth::identity))
}

/// The two routers over one shared state: (login host, instance host).
fn routers(config: SimConfig, org: Org) -> (Router, Router, Shared) {
    let api_used = config.daily_used;
    let state: Shared = Arc::new(Mutex::new(SimState {
        config,
        org,
        instance_url: String::new(),
        sessions: HashMap::new(),
        refresh_tokens: HashMap::new(),
        codes: HashMap::new(),
        locators: VecDeque::new(),
        locator_seq: 0,
        api_used,
        storm: 0,
        stats: SimStats::default(),
        requests: VecDeque::new(),
    }));
    let login = control_routes(oauth_routes(Router::new()))
        .route("/rdap/domain/{domain}", get(rdap::handle))
        .with_state(Ctx {
            state: state.clone(),
            host: Host::Login,
        });
    let instance = control_routes(oauth_routes(Router::new()))
        .route("/services/data", get(rest::versions))
        .route("/services/data/", get(rest::versions))
        .route("/services/data/{*rest}", any(rest::handle))
        .route("/services/Soap/m/{version}", post(soap::handle))
        .fallback(instance_fallback)
        .with_state(Ctx {
            state: state.clone(),
            host: Host::Instance,
        });
    (login, instance, state)
}

/// Both hosts of a running simulated org.
pub struct Servers {
    pub login: crate::RunningServer,
    pub instance: crate::RunningServer,
}

impl Servers {
    /// One handle that keeps both alive: the login host, with the instance as its companion.
    pub fn into_server(self) -> crate::RunningServer {
        self.login.with_companion(self.instance)
    }
}

/// Starts a simulated org on loopback. `port` is the login host's (0 picks free ports for
/// both; otherwise the instance host takes `port + 1`).
pub async fn start(config: SimConfig, org: Org, port: u16) -> std::io::Result<Servers> {
    let (login, instance, state) = routers(config, org);
    let login = crate::serve(login, port).await?;
    let instance = crate::serve(instance, if port == 0 { 0 } else { port.saturating_add(1) }).await?;
    lock(&state).instance_url = instance.base_url.clone();
    Ok(Servers { login, instance })
}

/// A simulated org with `scenario` and the connection settings that reach it (JWT bearer
/// with the committed test key).
pub async fn simulated_connection(scenario: &str) -> std::io::Result<crate::SimulatedConnection> {
    let org = scenarios::by_name(scenario)
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("no scenario {scenario:?}")))?;
    let config = SimConfig::default();
    let servers = start(config.clone(), org, 0).await?;
    let login = servers.login.base_url.clone();
    Ok(crate::SimulatedConnection {
        provider: "salesforce",
        vendor: "Salesforce",
        label: format!("Salesforce {} ({})", scenarios::ORG_NAME, servers.instance.base_url),
        settings: json!({
            "login_url": login, "client_id": config.consumer_key, "username": scenarios::USERNAME_READER,
            "rdap_url": format!("{login}/rdap/"), "max_rps": 50.0,
        }),
        secrets: [("private_key".to_string(), TEST_PRIVATE_KEY_PEM.to_string())].into(),
        server: servers.into_server(),
    })
}

/// Anything else on the instance host: logged, and Salesforce's `NOT_FOUND`.
async fn instance_fallback(State(ctx): State<Ctx>, method: axum::http::Method, uri: axum::http::Uri) -> Response {
    let mut s = lock(&ctx.state);
    log_plain(&mut s, ctx.host, method.as_str(), uri.path());
    (
        StatusCode::NOT_FOUND,
        Json(json!([{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}])),
    )
        .into_response()
}

async fn stats(State(ctx): State<Ctx>) -> Json<SimStats> {
    let s = lock(&ctx.state);
    let mut stats = s.stats.clone();
    stats.api_used = s.api_used;
    stats.api_max = s.config.daily_max;
    Json(stats)
}

/// The last [`REQUEST_LOG_CAP`] requests the instance host received: method, path, and the
/// decoded `q` or the SOAP call's type and names.
async fn requests(State(ctx): State<Ctx>) -> Json<Vec<Value>> {
    Json(lock(&ctx.state).requests.iter().cloned().collect())
}

/// Every live access and refresh token, for tests that look for them where they must not be.
async fn issued_tokens(State(ctx): State<Ctx>) -> Json<Vec<String>> {
    let s = lock(&ctx.state);
    Json(s.sessions.keys().chain(s.refresh_tokens.keys()).cloned().collect())
}

async fn expire_tokens(State(ctx): State<Ctx>) -> StatusCode {
    let mut s = lock(&ctx.state);
    let past = Instant::now() - Duration::from_millis(1);
    for session in s.sessions.values_mut() {
        session.expires = past;
    }
    StatusCode::NO_CONTENT
}

/// Replaces the org with a named scenario (drift tests); sessions survive.
async fn switch_scenario(State(ctx): State<Ctx>, Path(name): Path<String>) -> StatusCode {
    match scenarios::by_name(&name) {
        Some(org) => {
            let mut s = lock(&ctx.state);
            s.org = org;
            s.locators.clear();
            StatusCode::NO_CONTENT
        }
        None => StatusCode::NOT_FOUND,
    }
}

/// The next `n` REST requests answer 403 `ConcurrentPerOrgLongTxn Limit exceeded.`.
async fn concurrency_storm(State(ctx): State<Ctx>, Path(n): Path<u64>) -> StatusCode {
    lock(&ctx.state).storm = n;
    StatusCode::NO_CONTENT
}

/// Sets the daily API counter: `used` of `max`.
async fn set_budget(State(ctx): State<Ctx>, Path((used, max)): Path<(u64, u64)>) -> StatusCode {
    let mut s = lock(&ctx.state);
    s.api_used = used;
    s.config.daily_max = max;
    StatusCode::NO_CONTENT
}

/// Flips switches at run time: `{"prompt_templates_on_tooling", "metadata_access",
/// "jwt_shaped_tokens", "rotate_refresh_tokens"}` (each optional, boolean).
async fn set_flags(State(ctx): State<Ctx>, Json(body): Json<Value>) -> StatusCode {
    let mut s = lock(&ctx.state);
    let flag = |k: &str| body.get(k).and_then(Value::as_bool);
    if let Some(v) = flag("prompt_templates_on_tooling") {
        s.config.prompt_templates_on_tooling = v;
    }
    if let Some(v) = flag("metadata_access") {
        s.config.metadata_access = v;
    }
    if let Some(v) = flag("jwt_shaped_tokens") {
        s.config.jwt_shaped_tokens = v;
    }
    if let Some(v) = flag("rotate_refresh_tokens") {
        s.config.rotate_refresh_tokens = v;
    }
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests;
