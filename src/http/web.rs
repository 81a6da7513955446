//! The web pages: server-rendered (minijinja templates compiled into the binary, escaped
//! everywhere), no script. Sign-in makes a database session (cookie `HttpOnly`,
//! `SameSite=Lax`, `Secure` unless the public URL is plain-http loopback); every form that
//! changes something carries the session's form token; failed sign-ins are rate-limited per
//! email. Like the API, pages only ask the service for a scope and call it.

use super::AppState;
use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use minijinja::{context, Environment, Value as Ctx};
use serde::Deserialize;
use serde_json::{json, Value};
use service::report::svg;
use service::{Caller, FindingQuery, NewConnection, Role, ServiceError, TenantScope};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const SESSION_COOKIE: &str = "aispm_session";
const LOGIN_COOKIE: &str = "aispm_login";
/// Failed sign-ins per email within [`LOGIN_WINDOW`] before further attempts are refused.
const LOGIN_FAILURES: usize = 5;
const LOGIN_WINDOW: Duration = Duration::from_secs(300);
const PAGE: usize = 50;

/// What the pages share: the templates, the cookie policy, the sign-in limiter.
pub struct Web {
    /// Where people reach this server (links in alerts point here).
    pub public_url: String,
    templates: Environment<'static>,
    secure_cookies: bool,
    /// This server's OAuth redirect URI (`<public URL>/oauth/callback`).
    redirect_uri: String,
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl Web {
    pub fn new(public_url: &str) -> Web {
        let mut env = Environment::new();
        for (name, source) in [
            ("base.html", include_str!("templates/base.html")),
            ("login.html", include_str!("templates/login.html")),
            ("tenants.html", include_str!("templates/tenants.html")),
            ("overview.html", include_str!("templates/overview.html")),
            ("findings.html", include_str!("templates/findings.html")),
            ("finding.html", include_str!("templates/finding.html")),
            ("agents.html", include_str!("templates/agents.html")),
            ("agent.html", include_str!("templates/agent.html")),
            ("connections.html", include_str!("templates/connections.html")),
            ("scan.html", include_str!("templates/scan.html")),
            ("tokens.html", include_str!("templates/tokens.html")),
            ("audit.html", include_str!("templates/audit.html")),
            ("error.html", include_str!("templates/error.html")),
            ("continue.html", include_str!("templates/continue.html")),
            ("schedules.html", include_str!("templates/schedules.html")),
            ("alerts.html", include_str!("templates/alerts.html")),
        ] {
            env.add_template(name, source).expect("the templates parse");
        }
        Web {
            templates: env,
            public_url: public_url.trim_end_matches('/').to_string(),
            secure_cookies: super::secure_cookies(public_url),
            redirect_uri: format!("{}/oauth/callback", public_url.trim_end_matches('/')),
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn render(&self, name: &str, ctx: Ctx) -> Response {
        match self.templates.get_template(name).and_then(|t| t.render(ctx)) {
            Ok(html) => Html(html).into_response(),
            Err(e) => {
                tracing::error!("template {name}: {e}");
                (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be rendered").into_response()
            }
        }
    }

    fn cookie(&self, name: &str, value: &str, max_age: i64) -> HeaderValue {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
        ))
        .expect("cookie values are base64url")
    }

    /// `Some(wait)` when the email has had too many failed sign-ins lately.
    fn locked(&self, email: &str) -> Option<Duration> {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let list = map.entry(email.to_string()).or_default();
        list.retain(|t| now.duration_since(*t) < LOGIN_WINDOW);
        (list.len() >= LOGIN_FAILURES).then(|| LOGIN_WINDOW - now.duration_since(list[0]))
    }

    fn failed(&self, email: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            map.clear(); // bounded memory under a spray of emails
        }
        map.entry(email.to_string()).or_default().push(Instant::now());
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(tenants))
        .route("/static/app.css", get(css))
        .route("/static/connect.js", get(connect_js))
        .route("/login", get(login_page).post(login))
        .route("/login/link", get(sign_in_link))
        .route("/logout", post(logout))
        .route("/t/{slug}", get(overview))
        .route("/t/{slug}/findings", get(findings))
        .route("/t/{slug}/findings/{fingerprint}", get(finding))
        .route("/t/{slug}/agents", get(agents))
        .route("/t/{slug}/agents/{id}", get(agent))
        .route("/t/{slug}/connections", get(connections).post(connect))
        .route("/t/{slug}/connections/{id}/remove", post(remove_connection))
        .route("/t/{slug}/connect/servicenow", post(begin_servicenow))
        .route("/t/{slug}/connect/salesforce", post(begin_salesforce))
        .route("/t/{slug}/connect/m365", post(begin_m365_consent))
        .route(
            "/t/{slug}/connections/{id}/admin-sign-in",
            post(begin_m365_admin_sign_in),
        )
        .route("/oauth/callback", get(oauth_callback))
        .route("/t/{slug}/scans", post(start_scan))
        .route("/t/{slug}/scans/{id}", get(scan))
        .route("/t/{slug}/tokens", get(tokens).post(create_token))
        .route("/t/{slug}/tokens/{id}/revoke", post(revoke_token))
        .route("/t/{slug}/audit", get(audit))
        .route("/t/{slug}/schedules", get(schedules).post(set_schedule))
        .route("/t/{slug}/alerts", get(alerts).post(add_alert))
        .route("/t/{slug}/alerts/{id}/test", post(test_alert))
        .route("/t/{slug}/alerts/{id}/remove", post(remove_alert))
        .route("/t/{slug}/schedules/{kind}/remove", post(remove_schedule))
        .route("/t/{slug}/reports", post(keep_report))
        .route("/t/{slug}/reports/{id}", get(kept_report))
}

async fn css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("static/app.css"),
    )
        .into_response()
}

async fn connect_js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("static/connect.js"),
    )
        .into_response()
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A signed-in person with the session's form token.
struct Signed {
    caller: Caller,
    csrf: String,
    email: String,
}

/// Why a page is not shown.
enum PageError {
    SignIn,
    Service(ServiceError),
    BadForm,
}

impl From<ServiceError> for PageError {
    fn from(e: ServiceError) -> Self {
        PageError::Service(e)
    }
}

type PageResult = Result<Response, PageError>;

fn error_page(s: &AppState, e: PageError) -> Response {
    let (status, heading, message) = match e {
        PageError::SignIn => return Redirect::to("/login").into_response(),
        PageError::BadForm => (
            StatusCode::FORBIDDEN,
            "The form expired",
            "Reload the page and try again.".to_string(),
        ),
        PageError::Service(ServiceError::NotFound(m)) => (StatusCode::NOT_FOUND, "Not found", m),
        PageError::Service(ServiceError::Forbidden(m)) => (StatusCode::FORBIDDEN, "Not allowed", m),
        PageError::Service(ServiceError::Invalid(m)) => (StatusCode::BAD_REQUEST, "That did not work", m),
        PageError::Service(ServiceError::Conflict(m)) => (StatusCode::CONFLICT, "That did not work", m),
        PageError::Service(e @ ServiceError::Connect { .. }) => {
            (StatusCode::UNPROCESSABLE_ENTITY, "Could not connect", e.to_string())
        }
        PageError::Service(other) => {
            tracing::error!("page failed: {other}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The server could not complete the request.".to_string(),
            )
        }
    };
    let mut response = s
        .web
        .render("error.html", context! { status => status.as_u16(), heading, message });
    *response.status_mut() = status;
    response
}

async fn signed(s: &AppState, headers: &HeaderMap) -> Result<Signed, PageError> {
    let cookie = cookie_value(headers, SESSION_COOKIE).ok_or(PageError::SignIn)?;
    let (caller, csrf) = s.service.session(&cookie).await?.ok_or(PageError::SignIn)?;
    let Caller::User { email, .. } = &caller else {
        return Err(PageError::SignIn);
    };
    let email = email.clone();
    Ok(Signed { caller, csrf, email })
}

/// Refuses a state-changing form without the session's token.
fn check_form(signed: &Signed, sent: Option<&str>) -> Result<(), PageError> {
    let sent = sent.unwrap_or("");
    // Equal length and every byte compared (no early exit on the first difference).
    let same = sent.len() == signed.csrf.len()
        && sent
            .bytes()
            .zip(signed.csrf.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same {
        Ok(())
    } else {
        Err(PageError::BadForm)
    }
}

/// The context every signed-in page has, plus the page's own values.
fn page(signed: &Signed, scope: Option<&TenantScope>, own: Value) -> Ctx {
    let mut all = json!({"who": signed.email, "csrf": signed.csrf});
    if let Some(scope) = scope {
        all["tenant"] = json!({
            "slug": scope.tenant.slug,
            "role": scope.role.as_str(),
            "admin": scope.role >= Role::Admin,
        });
    }
    if let (Some(all), Value::Object(own)) = (all.as_object_mut(), own) {
        all.extend(own);
    }
    Ctx::from_serialize(all)
}

async fn with_scope(s: &AppState, headers: &HeaderMap, slug: &str) -> Result<(Signed, TenantScope), PageError> {
    let signed = signed(s, headers).await?;
    let scope = s.service.scope(&signed.caller, slug).await?;
    Ok((signed, scope))
}

macro_rules! page_handler {
    ($s:ident, $body:expr) => {
        match $body.await {
            Ok(response) => response,
            Err(e) => error_page(&$s, e),
        }
    };
}

// ---- sign-in

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    csrf: Option<String>,
}

async fn login_page(State(s): State<AppState>, headers: HeaderMap) -> Response {
    if let Ok(Some(_)) = match cookie_value(&headers, SESSION_COOKIE) {
        Some(c) => s.service.session(&c).await,
        None => Ok(None),
    } {
        return Redirect::to("/").into_response();
    }
    login_form(&s, "", None)
}

fn login_form(s: &AppState, email: &str, error: Option<&str>) -> Response {
    let token = service::new_form_token();
    let mut response = s
        .web
        .render("login.html", context! { login_csrf => token, email, error });
    response
        .headers_mut()
        .append(header::SET_COOKIE, s.web.cookie(LOGIN_COOKIE, &token, 600));
    if error.is_some() {
        *response.status_mut() = StatusCode::UNAUTHORIZED;
    }
    response
}

async fn login(State(s): State<AppState>, headers: HeaderMap, Form(form): Form<LoginForm>) -> Response {
    let email = form.email.trim().to_lowercase();
    let expected = cookie_value(&headers, LOGIN_COOKIE);
    if expected.is_none() || expected.as_deref() != form.csrf.as_deref() {
        return login_form(&s, &email, Some("The sign-in form expired; try again."));
    }
    if let Some(wait) = s.web.locked(&email) {
        let message = format!(
            "Too many failed sign-ins for this email; try again in {} minute(s).",
            wait.as_secs().div_ceil(60)
        );
        let mut response = login_form(&s, &email, Some(&message));
        *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        return response;
    }
    let caller = match s.service.sign_in(&email, &form.password).await {
        Ok(Some(caller)) => caller,
        Ok(None) => {
            s.web.failed(&email);
            return login_form(&s, &email, Some("Wrong email or password."));
        }
        Err(e) => return error_page(&s, e.into()),
    };
    match s.service.start_session(&caller).await {
        Ok(session) => {
            let mut response = Redirect::to("/").into_response();
            let headers = response.headers_mut();
            headers.append(
                header::SET_COOKIE,
                s.web
                    .cookie(SESSION_COOKIE, &session.cookie, service::SESSION_HOURS * 3600),
            );
            headers.append(header::SET_COOKIE, s.web.cookie(LOGIN_COOKIE, "", 0));
            response
        }
        Err(e) => error_page(&s, e.into()),
    }
}

#[derive(Deserialize)]
struct LinkParams {
    token: String,
}

/// A one-time sign-in link (`aispm demo --serve` prints one).
async fn sign_in_link(State(s): State<AppState>, Query(q): Query<LinkParams>) -> Response {
    match s.service.redeem_sign_in_link(&q.token).await {
        Ok(Some(session)) => {
            let mut response = Redirect::to("/").into_response();
            response.headers_mut().append(
                header::SET_COOKIE,
                s.web
                    .cookie(SESSION_COOKIE, &session.cookie, service::SESSION_HOURS * 3600),
            );
            response
        }
        Ok(None) => login_form(&s, "", Some("That sign-in link was used or has expired.")),
        Err(e) => error_page(&s, e.into()),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: Option<String>,
}

async fn logout(State(s): State<AppState>, headers: HeaderMap, Form(form): Form<CsrfForm>) -> Response {
    page_handler!(s, async {
        let signed = signed(&s, &headers).await?;
        check_form(&signed, form.csrf.as_deref())?;
        if let Some(cookie) = cookie_value(&headers, SESSION_COOKIE) {
            s.service.end_session(&cookie).await?;
        }
        let mut response = Redirect::to("/login").into_response();
        response
            .headers_mut()
            .append(header::SET_COOKIE, s.web.cookie(SESSION_COOKIE, "", 0));
        Ok(response)
    })
}

// ---- tenants and overview

async fn tenants(State(s): State<AppState>, headers: HeaderMap) -> Response {
    page_handler!(s, async {
        let signed = signed(&s, &headers).await?;
        let list: Vec<Value> = s
            .service
            .visible_tenants(&signed.caller)
            .await?
            .into_iter()
            .map(|(t, role)| json!({"slug": t.slug, "role": role.as_str(), "created_at": t.created_at}))
            .collect();
        Ok(s.web
            .render("tenants.html", page(&signed, None, json!({"tenants": list}))))
    })
}

async fn overview(State(s): State<AppState>, headers: HeaderMap, Path(slug): Path<String>) -> Response {
    page_handler!(s, async {
        let (signed, scope) = with_scope(&s, &headers, &slug).await?;
        let counts = s.service.open_severity_counts(&scope).await?;
        let open_total: usize = counts.iter().map(|(_, n)| n).sum();
        let scans = s.service.recent_scans(&scope, 50).await?;
        let points: Vec<(String, usize)> = s
            .service
            .evaluation_history(&scope, 30)
            .await?
            .into_iter()
            .map(|e| (e.evaluated_at, e.fail))
            .collect();
        let inventories = s.service.inventories(&scope).await?;
        let connections: Vec<Value> = s
            .service
            .connections(&scope)
            .await?
            .into_iter()
            .map(|c| {
                let last = scans.iter().find(|v| v.connection_id == c.id);
                let gaps: Vec<Value> = inventories
                    .iter()
                    .filter(|i| i.connection_id == c.id)
                    .flat_map(|i| i.coverage.iter())
                    .filter(|g| g.status != schemas::CoverageStatus::Collected)
                    .map(|g| json!({"resource": g.resource, "status": serde_json::to_value(g.status).unwrap_or_default(), "error": g.error}))
                    .collect();
                json!({
                    "label": c.label, "provider": c.provider,
                    "scan_id": last.map(|v| v.id.clone()), "status": last.map(|v| v.status.clone()),
                    "when": last.map(|v| v.finished_at.clone().unwrap_or_else(|| v.created_at.clone())),
                    "requests": last.map(|v| v.requests).unwrap_or(0), "gaps": gaps,
                })
            })
            .collect();
        let evaluated_at = s.service.latest_evaluation(&scope).await?.map(|e| e.evaluated_at);
        Ok(s.web.render(
            "overview.html",
            page(
                &signed,
                Some(&scope),
                json!({
                    "severity_chart": svg::severity_bars(&counts),
                    "posture_chart": svg::posture_line(&points),
                    "open_total": open_total,
                    "connections": connections,
                    "evaluated_at": evaluated_at,
                }),
            ),
        ))
    })
}

// ---- findings

#[derive(Deserialize, Default)]
struct FindingFilters {
    severity: Option<String>,
    status: Option<String>,
    provider: Option<String>,
    framework: Option<String>,
    cursor: Option<String>,
}

fn blank_none(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

async fn findings(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Query(q): Query<FindingFilters>,
) -> Response {
    page_handler!(s, async {
        let (signed, scope) = with_scope(&s, &headers, &slug).await?;
        let query = FindingQuery {
            severity: blank_none(q.severity.clone()),
            status: blank_none(q.status.clone()),
            provider: blank_none(q.provider.clone()),
            rule: None,
            framework: blank_none(q.framework.clone()),
            cursor: blank_none(q.cursor.clone()),
            limit: PAGE,
        };
        let result = s.service.finding_page(&scope, &query).await?;
        let next = result.next_cursor.as_ref().map(|c| {
            let mut url = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in [
                ("severity", &query.severity),
                ("status", &query.status),
                ("provider", &query.provider),
                ("framework", &query.framework),
            ] {
                if let Some(v) = v {
                    url.append_pair(k, v);
                }
            }
            url.append_pair("cursor", c);
            url.finish()
        });
        let providers: Vec<String> = {
            let mut p: Vec<String> = s
                .service
                .connections(&scope)
                .await?
                .into_iter()
                .map(|c| c.provider)
                .collect();
            p.sort();
            p.dedup();
            p
        };
        Ok(s.web.render(
            "findings.html",
            page(
                &signed,
                Some(&scope),
                json!({
                    "findings": result.items, "next": next, "providers": providers,
                    "q": {"severity": query.severity.unwrap_or_default(), "status": query.status.unwrap_or_else(|| "open".into()),
                          "provider": query.provider.unwrap_or_default(), "framework": query.framework.unwrap_or_default()},
                }),
            ),
        ))
    })
}

async fn finding(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path((slug, fingerprint)): Path<(String, String)>,
) -> Response {
    page_handler!(s, async {
        let (signed, scope) = with_scope(&s, &headers, &slug).await?;
        let f = s.service.finding(&scope, &fingerprint).await?;
        let fw = &f.frameworks;
        let frameworks: Vec<(&str, &Vec<String>)> = [
            ("OWASP LLM 2025", &fw.owasp_llm_2025),
            ("OWASP Agentic", &fw.owasp_agentic),
            ("MITRE ATLAS", &fw.mitre_atlas),
            ("NIST AI RMF", &fw.nist_ai_rmf),
        ]
        .into_iter()
        .filter(|(_, l)| !l.is_empty())
        .collect();
        Ok(s.web.render(
            "finding.html",
            page(
                &signed,
                Some(&scope),
                json!({
                    "f": f,
                    "path_svg": f.path.as_ref().map(svg::path),
                    "frameworks": frameworks,
                    "evidence": serde_json::to_string_pretty(&f.evidence).unwrap_or_default(),
                }),
            ),
        ))
    })
}

// ---- agents

#[derive(Deserialize, Default)]
struct CursorParams {
    cursor: Option<String>,
    connection: Option<String>,
}

async fn agents(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Query(q): Query<CursorParams>,
) -> Response {
    page_handler!(s, async {
        let (signed, scope) = with_scope(&s, &headers, &slug).await?;
        let result = s
            .service
            .agent_page(&scope, blank_none(q.cursor).as_deref(), PAGE)
            .await?;
        Ok(s.web.render(
            "agents.html",
            page(
                &signed,
                Some(&scope),
                json!({"agents": result.items, "next": result.next_cursor}),
            ),
        ))
    })
}

async fn agent(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path((slug, id)): Path<(String, String)>,
    Query(q): Query<CursorParams>,
) -> Response {
    page_handler!(s, async {
        let (signed, scope) = with_scope(&s, &headers, &slug).await?;
        let view = s
            .service
            .agent(&scope, &id, blank_none(q.connection).as_deref())
            .await?;
        Ok(s.web
            .render("agent.html", page(&signed, Some(&scope), json!({"v": view}))))
    })
}

// ---- connections and scans

fn vendors() -> Vec<Value> {
    connectors::VENDORS
        .iter()
        .map(|v| {
            json!({
                "id": v.id, "label": v.label, "secrets": v.secrets,
                "settings": v.settings.iter()
                    // Pacing knobs keep their defaults here; the API and CLI take them.
                    .filter(|s| s.required || matches!(s.kind, connectors::SettingKind::Url | connectors::SettingKind::Text))
                    .map(|s| json!({"name": s.name, "label": s.label, "required": s.required,
                        "kind": match s.kind { connectors::SettingKind::Url => "url", connectors::SettingKind::Text => "text", connectors::SettingKind::Number => "number" }}))
                    .collect::<Vec<_>>(),
            })
        })
        .collect()
}

async fn connections_page(s: &AppState, signed: &Signed, scope: &TenantScope, error: Option<String>) -> PageResult {
    let mut list: Vec<Value> = Vec::new();
    for c in s.service.connections(scope).await? {
        // Whether a Copilot admin signed in: shown to admins, who can sign in (again).
        let admin_sign_in = if c.provider == connectors::m365::PROVIDER && scope.role >= Role::Admin {
            s.service.has_admin_sign_in(scope, &c.id).await.unwrap_or(false)
        } else {
            false
        };
        list.push(
            json!({"id": c.id, "provider": c.provider, "label": c.label, "created_at": c.created_at,
            "m365": c.provider == connectors::m365::PROVIDER, "admin_sign_in": admin_sign_in}),
        );
    }
    let mut response = s.web.render(
        "connections.html",
        page(
            signed,
            Some(scope),
            json!({"connections": list, "vendors": vendors(), "error": error, "redirect_uri": s.web.redirect_uri,
                "m365_app": s.service.m365_app().map(|a| a.client_id.clone())}),
        ),
    );
    if error.is_some() {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

async fn connections(State(s): State<AppState>, headers: HeaderMap, Path(slug): Path<String>) -> Response {
    page_handler!(s, async {
        let (signed, scope) = with_scope(&s, &headers, &slug).await?;
        connections_page(&s, &signed, &scope, None).await
    })
}

async fn connect(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    page_handler!(s, async {
        let (signed, scope) = with_scope(&s, &headers, &slug).await?;
        let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        check_form(&signed, field("csrf"))?;
        let provider = field("provider").unwrap_or("").to_string();
        let vendor = connectors::vendor(&provider).map_err(|e| ServiceError::Invalid(e.to_string()))?;
        let mut settings = serde_json::Map::new();
        let mut secrets = std::collections::BTreeMap::new();
        for (k, v) in &fields {
            let v = v.trim();
            if v.is_empty() {
                continue;
            }
            if let Some(name) = k.strip_prefix("setting.") {
                let kind = vendor.settings.iter().find(|s| s.name == name).map(|s| &s.kind);
                let value = match kind {
                    Some(connectors::SettingKind::Number) => match v.parse::<f64>() {
                        Ok(n) => json!(n),
                        Err(_) => {
                            return connections_page(
                                &s,
                                &signed,
                                &scope,
                                Some(format!("{name}: {v:?} is not a number")),
                            )
                            .await
                        }
                    },
                    Some(connectors::SettingKind::Url) => json!(v.trim_end_matches('/')),
                    _ => json!(v),
                };
                settings.insert(name.to_string(), value);
            } else if let Some(name) = k.strip_prefix("secret.") {
                secrets.insert(name.to_string(), v.to_string());
            }
        }
        let place = ["instance_url", "directory_id", "login_url"]
            .iter()
            .find_map(|k| settings.get(*k).and_then(Value::as_str))
            // A Google Workspace domain is named by its admin's domain.
            .or_else(|| {
                settings
                    .get("admin_email")
                    .and_then(Value::as_str)
                    .and_then(|e| e.rsplit_once('@'))
                    .map(|(_, domain)| domain)
            })
            .unwrap_or("")
            .to_string();
        let new = NewConnection {
            provider,
            label: format!("{} {place}", vendor.label).trim().to_string(),
            settings: Value::Object(settings),
            secrets,
        };
        match s.service.connect(&scope, new).await {
            Ok(_) => Ok(Redirect::to(&format!("/t/{}/connections", scope.tenant.slug)).into_response()),
            Err(e @ (ServiceError::Invalid(_) | ServiceError::Connect { .. })) => {
                connections_page(&s, &signed, &scope, Some(e.to_string())).await
            }
            Err(e) => Err(e.into()),
        }
    })
}

#[derive(Deserialize)]
struct SignInForm {
    csrf: Option<String>,
    instance_url: String,
    client_id: String,
    client_secret: String,
}

/// Starts a connect through ServiceNow's own sign-in. A page with a link, not a redirect:
/// the CSP's `form-action 'self'` would stop a form's redirect to the instance.
async fn begin_servicenow(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Form(form): Form<SignInForm>,
) -> Response {
    page_handler!(s, async {
        let (signed, scope) = with_scope(&s, &headers, &slug).await?;
        check_form(&signed, form.csrf.as_deref())?;
        let started = s
            .service
            .begin_servicenow_sign_in(
                &scope,
                &signed.caller,
                &form.instance_url,
                &form.client_id,
                &form.client_secret,
                &s.web.redirect_uri,
            )
            .await;
        let what = "sign in at ServiceNow as the integration user and allow aispm to read";
        continue_page(&s, &signed, &scope, started, "ServiceNow", what).await
    })
}

#[derive(Deserialize)]
struct SalesforceSignInForm {
    csrf: Option<String>,
    login_url: String,
    client_id: String,
    #[serde(default)]
    client_secret: String,
}

/// Starts a connect through the Salesforce org's own sign-in (web server flow with PKCE).
async fn begin_salesforce(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Form(form): Form<SalesforceSignInForm>,
) -> Response {
    page_handler!(s, async {
        let (signed, scope) = with_scope(&s, &headers, &slug).await?;
        check_form(&signed, form.csrf.as_deref())?;
        let started = s
            .service
            .begin_salesforce_sign_in(
                &scope,
                &signed.caller,
                &form.login_url,
                &form.client_id,
                &form.client_secret,
                &s.web.redirect_uri,
            )
            .await;
        let what = "sign in at Salesforce as the read-only integration user and allow the app; aispm keeps only the refresh token, sealed, and reads the org as that user";
        continue_page(&s, &signed, &scope, started, "Salesforce", what).await
    })
}

/// Starts connecting a Microsoft 365 directory: admin consent to the operator's app.
async fn begin_m365_consent(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    page_handler!(s, async {
        let (signed, scope) = with_scope(&s, &headers, &slug).await?;
        check_form(&signed, form.csrf.as_deref())?;
        let started = s
            .service
            .begin_m365_admin_consent(&scope, &signed.caller, &s.web.redirect_uri)
            .await;
        continue_page(&s, &signed, &scope, started, "Microsoft", "sign in at Microsoft as a Global Administrator (or Privileged Role Administrator) of the directory and accept aispm's read-only permissions for your organisation").await
    })
}

/// Starts the optional sign-in of a Copilot or Power Platform admin for one M365 connection.
async fn begin_m365_admin_sign_in(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path((slug, id)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    page_handler!(s, async {
        let (signed, scope) = with_scope(&s, &headers, &slug).await?;
        check_form(&signed, form.csrf.as_deref())?;
        let started = s
            .service
            .begin_m365_admin_sign_in(&scope, &signed.caller, &id, &s.web.redirect_uri)
            .await;
        continue_page(&s, &signed, &scope, started, "Microsoft", "sign in at Microsoft as an AI Administrator or Global Reader who is also a Power Platform administrator; aispm keeps only the refresh token, sealed, and reads Copilot policy settings and the Copilot Studio inventory as that admin").await
    })
}

/// The "continue to the vendor" page of a started sign-in, or the connections page saying why
/// it could not start.
async fn continue_page(
    s: &AppState,
    signed: &Signed,
    scope: &TenantScope,
    started: service::Result<String>,
    vendor: &str,
    what: &str,
) -> PageResult {
    match started {
        Ok(url) => Ok(s.web.render(
            "continue.html",
            page(signed, Some(scope), json!({"vendor": vendor, "url": url, "what": what})),
        )),
        Err(e @ ServiceError::Invalid(_)) => connections_page(s, signed, scope, Some(e.to_string())).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    admin_consent: Option<String>,
    tenant: Option<String>,
}

/// Where vendors send the admin back after signing in (`/oauth/callback`).
async fn oauth_callback(State(s): State<AppState>, headers: HeaderMap, Query(q): Query<CallbackParams>) -> Response {
    page_handler!(s, async {
        let signed = signed(&s, &headers).await?;
        if let Some(error) = q.error {
            let why = q.error_description.unwrap_or(error);
            let why: String = why.chars().take(200).collect();
            return Err(ServiceError::Invalid(format!("the vendor did not grant access: {why}")).into());
        }
        let back = service::Callback {
            state: q.state.unwrap_or_default(),
            code: q.code,
            admin_consent: q.admin_consent,
            tenant: q.tenant,
        };
        let (slug, _) = s.service.finish_sign_in(&signed.caller, &back).await?;
        Ok(Redirect::to(&format!("/t/{slug}/connections")).into_response())
    })
}

async fn remove_connection(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path((slug, id)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    page_handler!(s, async {
        let (signed, scope) = with_scope(&s, &headers, &slug).await?;
        check_form(&signed, form.csrf.as_deref())?;
        s.service.remove_connection(&scope, &id).await?;
        Ok(Redirect::to(&format!("/t/{}/connections", scope.tenant.slug)).into_response())
    })
}

async fn start_scan(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    page_handler!(s, async {
        let (signed, scope) = with_scope(&s, &headers, &slug).await?;
        check_form(&signed, form.csrf.as_deref())?;
        let started = s.service.start_scan(&scope).await?;
        let first = started.first().map(|s| s.scan_id.clone()).unwrap_or_default();
        Ok(Redirect::to(&format!("/t/{}/scans/{first}", scope.tenant.slug)).into_response())
    })
}

async fn scan(State(s): State<AppState>, headers: HeaderMap, Path((slug, id)): Path<(String, String)>) -> Response {
    page_handler!(s, async {
        let (signed, scope) = with_scope(&s, &headers, &slug).await?;
        let view = s.service.scan(&scope, &id).await?;
        let label = s
            .service
            .connections(&scope)
            .await?
            .into_iter()
            .find(|c| c.id == view.connection_id)
            .map(|c| c.label)
            .unwrap_or_default();
        let done = view.status == "completed" || view.status == "failed";
        let percent = if view.resources_total > 0 {
            100 * view.resources_done / view.resources_total
        } else {
            0
        };
        Ok(s.web.render(
            "scan.html",
            page(
                &signed,
                Some(&scope),
                json!({"s": view, "label": label, "done": done, "percent": percent, "refresh": if done { None } else { Some(2) }}),
            ),
        ))
    })
}

// ---- tokens and audit

async fn schedules_page(s: &AppState, signed: &Signed, scope: &TenantScope, error: Option<String>) -> PageResult {
    let list = s.service.schedules(scope).await?;
    let reports: Vec<Value> = s
        .service
        .kept_reports(scope, 50)
        .await?
        .into_iter()
        .map(|r| json!({"id": r.id, "created_at": r.created_at, "trigger": r.trigger}))
        .collect();
    let mut response = s.web.render(
        "schedules.html",
        page(
            signed,
            Some(scope),
            json!({
                "schedules": list,
                "reports": reports,
                "error": error,
                "report_formats": [["html", "HTML"], ["pdf", "PDF"], ["json", "JSON"], ["md", "Markdown"], ["csv", "CSV"], ["sarif", "SARIF"], ["ocsf", "OCSF"]],
            }),
        ),
    );
    if error.is_some() {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

async fn schedules(State(s): State<AppState>, headers: HeaderMap, Path(slug): Path<String>) -> Response {
    page_handler!(s, async {
        let (signed, scope) = with_scope(&s, &headers, &slug).await?;
        schedules_page(&s, &signed, &scope, None).await
    })
}

#[derive(Deserialize)]
struct ScheduleForm {
    csrf: Option<String>,
    kind: String,
    cron: String,
    timezone: String,
}

fn schedule_kind(kind: &str) -> Result<service::schedules::ScheduleKind, ServiceError> {
    match kind {
        "scan" => Ok(service::schedules::ScheduleKind::Scan),
        "report" => Ok(service::schedules::ScheduleKind::Report),
        other => Err(ServiceError::Invalid(format!("{other:?} is not scan or report"))),
    }
}

async fn set_schedule(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Form(form): Form<ScheduleForm>,
) -> Response {
    page_handler!(s, async {
        let (signed, scope) = with_scope(&s, &headers, &slug).await?;
        check_form(&signed, form.csrf.as_deref())?;
        let kind = schedule_kind(&form.kind)?;
        match s.service.set_schedule(&scope, kind, &form.cron, &form.timezone).await {
            Ok(_) => Ok(Redirect::to(&format!("/t/{}/schedules", scope.tenant.slug)).into_response()),
            Err(e @ ServiceError::Invalid(_)) => schedules_page(&s, &signed, &scope, Some(e.to_string())).await,
            Err(e) => Err(e.into()),
        }
    })
}

async fn remove_schedule(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path((slug, kind)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    page_handler!(s, async {
        let (signed, scope) = with_scope(&s, &headers, &slug).await?;
        check_form(&signed, form.csrf.as_deref())?;
        s.service.remove_schedule(&scope, schedule_kind(&kind)?).await?;
        Ok(Redirect::to(&format!("/t/{}/schedules", scope.tenant.slug)).into_response())
    })
}

// ---- alerts

async fn alerts_page(
    s: &AppState,
    signed: &Signed,
    scope: &TenantScope,
    error: Option<String>,
    notice: Option<String>,
    signing_key: Option<String>,
) -> PageResult {
    let channels = s.service.alert_channels(scope).await?;
    let mut response = s.web.render(
        "alerts.html",
        page(
            signed,
            Some(scope),
            json!({"channels": channels, "error": error, "notice": notice, "signing_key": signing_key}),
        ),
    );
    if error.is_some() {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

async fn alerts(State(s): State<AppState>, headers: HeaderMap, Path(slug): Path<String>) -> Response {
    page_handler!(s, async {
        let (signed, scope) = with_scope(&s, &headers, &slug).await?;
        alerts_page(&s, &signed, &scope, None, None, None).await
    })
}

#[derive(Deserialize)]
struct AlertForm {
    csrf: Option<String>,
    kind: Option<String>,
    name: Option<String>,
    url: String,
    min_severity: String,
    mode: String,
    digest_cron: Option<String>,
    timezone: String,
}

async fn add_alert(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Form(form): Form<AlertForm>,
) -> Response {
    page_handler!(s, async {
        let (signed, scope) = with_scope(&s, &headers, &slug).await?;
        check_form(&signed, form.csrf.as_deref())?;
        let kind = match form.kind.as_deref() {
            Some("webhook") => service::alerts::ChannelKind::Webhook,
            _ => service::alerts::ChannelKind::Slack,
        };
        let new = service::alerts::NewAlertChannel {
            kind,
            url: form.url,
            name: form.name.filter(|n| !n.trim().is_empty()),
            min_severity: form.min_severity,
            mode: form.mode,
            digest_cron: form.digest_cron.filter(|c| !c.trim().is_empty()),
            timezone: form.timezone,
            link_base: Some(s.web.public_url.clone()),
        };
        match s.service.add_alert_channel(&scope, new).await {
            // A webhook's signing key is shown on this one answer, never again.
            Ok(added) if added.signing_key.is_some() => {
                alerts_page(&s, &signed, &scope, None, None, added.signing_key).await
            }
            Ok(_) => Ok(Redirect::to(&format!("/t/{}/alerts", scope.tenant.slug)).into_response()),
            Err(e @ ServiceError::Invalid(_)) => {
                alerts_page(&s, &signed, &scope, Some(e.to_string()), None, None).await
            }
            Err(e) => Err(e.into()),
        }
    })
}

async fn test_alert(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path((slug, id)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    page_handler!(s, async {
        let (signed, scope) = with_scope(&s, &headers, &slug).await?;
        check_form(&signed, form.csrf.as_deref())?;
        s.service.test_alert_channel(&scope, &id).await?;
        alerts_page(
            &s,
            &signed,
            &scope,
            None,
            Some("Test message queued: it goes out within seconds; this page shows whether it arrived.".into()),
            None,
        )
        .await
    })
}

async fn remove_alert(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path((slug, id)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    page_handler!(s, async {
        let (signed, scope) = with_scope(&s, &headers, &slug).await?;
        check_form(&signed, form.csrf.as_deref())?;
        s.service.remove_alert_channel(&scope, &id).await?;
        Ok(Redirect::to(&format!("/t/{}/alerts", scope.tenant.slug)).into_response())
    })
}

async fn keep_report(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    page_handler!(s, async {
        let (signed, scope) = with_scope(&s, &headers, &slug).await?;
        check_form(&signed, form.csrf.as_deref())?;
        scope.require(Role::Admin)?;
        s.service.keep_report(&scope, "manual").await?;
        Ok(Redirect::to(&format!("/t/{}/schedules", scope.tenant.slug)).into_response())
    })
}

#[derive(Deserialize)]
struct ReportQuery {
    format: Option<String>,
}

/// A kept report in the format asked for (JSON by default), as a download.
async fn kept_report(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path((slug, id)): Path<(String, String)>,
    Query(q): Query<ReportQuery>,
) -> Response {
    page_handler!(s, async {
        let (_, scope) = with_scope(&s, &headers, &slug).await?;
        let format =
            service::report::Format::parse(q.format.as_deref().unwrap_or("json")).map_err(ServiceError::Invalid)?;
        let (bytes, content_type, name) = s.service.kept_report_as(&scope, &id, format).await?;
        Ok((
            [
                (header::CONTENT_TYPE, content_type.to_string()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            ],
            bytes,
        )
            .into_response())
    })
}

async fn tokens_page(s: &AppState, signed: &Signed, scope: &TenantScope, created: Option<Value>) -> PageResult {
    let list = s.service.tokens(scope).await?;
    Ok(s.web.render(
        "tokens.html",
        page(signed, Some(scope), json!({"tokens": list, "created": created})),
    ))
}

async fn tokens(State(s): State<AppState>, headers: HeaderMap, Path(slug): Path<String>) -> Response {
    page_handler!(s, async {
        let (signed, scope) = with_scope(&s, &headers, &slug).await?;
        tokens_page(&s, &signed, &scope, None).await
    })
}

#[derive(Deserialize)]
struct TokenForm {
    csrf: Option<String>,
    name: String,
    role: String,
}

async fn create_token(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Form(form): Form<TokenForm>,
) -> Response {
    page_handler!(s, async {
        let (signed, scope) = with_scope(&s, &headers, &slug).await?;
        check_form(&signed, form.csrf.as_deref())?;
        let role = Role::parse(&form.role)?;
        let made = s.service.create_token(&scope, role, &form.name).await?;
        tokens_page(
            &s,
            &signed,
            &scope,
            Some(json!({"name": made.info.name, "token": made.token})),
        )
        .await
    })
}

async fn revoke_token(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path((slug, id)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    page_handler!(s, async {
        let (signed, scope) = with_scope(&s, &headers, &slug).await?;
        check_form(&signed, form.csrf.as_deref())?;
        s.service.revoke_token(&scope, &id).await?;
        Ok(Redirect::to(&format!("/t/{}/tokens", scope.tenant.slug)).into_response())
    })
}

async fn audit(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Query(q): Query<CursorParams>,
) -> Response {
    page_handler!(s, async {
        let (signed, scope) = with_scope(&s, &headers, &slug).await?;
        let entries = s
            .service
            .audit_log(&scope, blank_none(q.cursor).as_deref(), PAGE as u64)
            .await?;
        let next = (entries.len() == PAGE)
            .then(|| entries.last().map(|e| e.at.clone()))
            .flatten();
        Ok(s.web.render(
            "audit.html",
            page(&signed, Some(&scope), json!({"entries": entries, "next": next})),
        ))
    })
}
