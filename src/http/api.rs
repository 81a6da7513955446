//! `/api/v1`: JSON over the service. Each handler authenticates the bearer token, asks the
//! service for the tenant's scope (404 when the caller has no role there) and calls one
//! service function.

use super::{ApiError, AppState};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use service::{Caller, FindingQuery, NewConnection, Role, ServiceError, TenantScope};
use std::collections::BTreeMap;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/openapi.json", get(openapi))
        .route("/api/v1/tenants", get(list_tenants).post(create_tenant))
        .route(
            "/api/v1/tenants/{slug}/connections",
            get(list_connections).post(create_connection),
        )
        .route("/api/v1/tenants/{slug}/connections/{id}", delete(remove_connection))
        .route("/api/v1/tenants/{slug}/scans", get(list_scans).post(start_scan))
        .route("/api/v1/tenants/{slug}/scans/{id}", get(get_scan))
        .route("/api/v1/tenants/{slug}/findings", get(list_findings))
        .route("/api/v1/tenants/{slug}/findings/{fingerprint}", get(get_finding))
        .route("/api/v1/tenants/{slug}/changes", get(list_changes))
        .route("/api/v1/tenants/{slug}/alerts", get(list_alerts).post(add_alert))
        .route(
            "/api/v1/tenants/{slug}/alerts/{id}",
            axum::routing::delete(remove_alert),
        )
        .route(
            "/api/v1/tenants/{slug}/alerts/{id}/test",
            axum::routing::post(test_alert),
        )
        .route("/api/v1/tenants/{slug}/inventory", get(get_inventory))
        .route("/api/v1/tenants/{slug}/agents", get(list_agents))
        .route("/api/v1/tenants/{slug}/agents/{id}", get(get_agent))
        .route("/api/v1/tenants/{slug}/tokens", get(list_tokens).post(create_token))
        .route("/api/v1/tenants/{slug}/tokens/{id}", delete(revoke_token))
        .route("/api/v1/tenants/{slug}/audit", get(audit_log))
        .route("/api/v1/tenants/{slug}/schedules", get(list_schedules))
        .route(
            "/api/v1/tenants/{slug}/schedules/{kind}",
            axum::routing::put(set_schedule).delete(remove_schedule),
        )
        .route("/api/v1/tenants/{slug}/reports", get(list_reports).post(keep_report))
        .route("/api/v1/tenants/{slug}/reports/{id}", get(get_report))
}

type ApiResult<T> = Result<T, ApiError>;

/// The caller behind `Authorization: Bearer aispm_…`.
pub struct Authed(pub Caller);

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let unauthenticated = || {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "send an API token: Authorization: Bearer aispm_…",
            )
        };
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(unauthenticated)?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(unauthenticated)?;
        match state.service.authenticate_token(token.trim()).await? {
            Some(caller) => Ok(Authed(caller)),
            None => Err(unauthenticated()),
        }
    }
}

/// A JSON body whose rejections use the error shape (and never echo the body).
pub struct Body<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(rejection) => {
                let status = rejection.status();
                let message = match status {
                    StatusCode::PAYLOAD_TOO_LARGE => format!("the body is larger than {} bytes", super::MAX_BODY),
                    StatusCode::UNSUPPORTED_MEDIA_TYPE => "send the body as Content-Type: application/json".into(),
                    _ => rejection.body_text(),
                };
                Err(ApiError::new(status, "invalid_body", message))
            }
        }
    }
}

/// Query strings with the error shape too.
pub struct Params<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| Params(v))
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.body_text()))
    }
}

async fn scope(state: &AppState, caller: &Caller, slug: &str) -> ApiResult<TenantScope> {
    Ok(state.service.scope(caller, slug).await?)
}

async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn openapi() -> Json<Value> {
    Json(super::openapi::document())
}

// ---- tenants

#[derive(Serialize, schemars::JsonSchema)]
pub struct TenantView {
    pub slug: String,
    pub id: String,
    pub created_at: String,
    /// The caller's role in it.
    pub role: Role,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    /// Lowercase letters, digits and '-'.
    pub slug: String,
}

async fn list_tenants(State(s): State<AppState>, Authed(caller): Authed) -> ApiResult<Json<Vec<TenantView>>> {
    let tenants = s.service.visible_tenants(&caller).await?;
    Ok(Json(
        tenants
            .into_iter()
            .map(|(t, role)| TenantView {
                slug: t.slug,
                id: t.id,
                created_at: t.created_at,
                role,
            })
            .collect(),
    ))
}

async fn create_tenant(
    State(s): State<AppState>,
    Authed(caller): Authed,
    Body(body): Body<NewTenant>,
) -> ApiResult<Response> {
    let t = s.service.create_tenant(&caller, &body.slug).await?;
    let view = TenantView {
        slug: t.slug,
        id: t.id,
        created_at: t.created_at,
        role: Role::Admin,
    };
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

// ---- connections

#[derive(Serialize, schemars::JsonSchema)]
pub struct ConnectionView {
    pub id: String,
    pub provider: String,
    pub label: String,
    /// The non-secret settings (secrets are never returned).
    pub settings: Value,
    pub created_at: String,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConnectionBody {
    /// `servicenow` or `m365`.
    pub provider: String,
    /// What people call it; default: the vendor and its instance or directory.
    pub label: Option<String>,
    /// The vendor's settings, as `aispm connect` takes them (`instance_url`, `client_id`, ...).
    pub settings: Value,
    /// The vendor's secrets (`client_secret`, `password`). Stored sealed, never returned.
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct Created {
    pub id: String,
}

async fn list_connections(
    State(s): State<AppState>,
    Authed(caller): Authed,
    Path(slug): Path<String>,
) -> ApiResult<Json<Vec<ConnectionView>>> {
    let scope = scope(&s, &caller, &slug).await?;
    let list = s.service.connections(&scope).await?;
    Ok(Json(
        list.into_iter()
            .map(|c| ConnectionView {
                id: c.id,
                provider: c.provider,
                label: c.label,
                settings: serde_json::from_str(&c.settings).unwrap_or(Value::Null),
                created_at: c.created_at,
            })
            .collect(),
    ))
}

async fn create_connection(
    State(s): State<AppState>,
    Authed(caller): Authed,
    Path(slug): Path<String>,
    Body(body): Body<NewConnectionBody>,
) -> ApiResult<Response> {
    let scope = scope(&s, &caller, &slug).await?;
    if !body.settings.is_object() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid",
            "settings must be a JSON object",
        ));
    }
    let label = match body.label.filter(|l| !l.trim().is_empty()) {
        Some(l) if l.chars().count() <= 200 => l,
        Some(_) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid",
                "the label is longer than 200 characters",
            ))
        }
        None => default_label(&body.provider, &body.settings),
    };
    let new = NewConnection {
        provider: body.provider,
        label,
        settings: body.settings,
        secrets: body.secrets,
    };
    let id = s.service.connect(&scope, new).await?;
    Ok((StatusCode::CREATED, Json(Created { id })).into_response())
}

fn default_label(provider: &str, settings: &Value) -> String {
    let vendor = connectors::vendor(provider).map(|v| v.label).unwrap_or(provider);
    let place = ["instance_url", "directory_id"]
        .iter()
        .find_map(|k| settings.get(*k).and_then(Value::as_str))
        .unwrap_or("");
    format!("{vendor} {place}").trim().to_string()
}

async fn remove_connection(
    State(s): State<AppState>,
    Authed(caller): Authed,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let scope = scope(&s, &caller, &slug).await?;
    s.service.remove_connection(&scope, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- scans

#[derive(Serialize, schemars::JsonSchema)]
pub struct StartedScanView {
    pub id: String,
    pub connection_label: String,
    /// An unfinished scan that resumes instead of a new one.
    pub resumed: bool,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct StartedScans {
    pub scans: Vec<StartedScanView>,
}

async fn start_scan(
    State(s): State<AppState>,
    Authed(caller): Authed,
    Path(slug): Path<String>,
) -> ApiResult<Response> {
    let scope = scope(&s, &caller, &slug).await?;
    let started = s.service.start_scan(&scope).await?;
    let scans = started
        .into_iter()
        .map(|s| StartedScanView {
            id: s.scan_id,
            connection_label: s.connection_label,
            resumed: s.resumed,
        })
        .collect();
    Ok((StatusCode::ACCEPTED, Json(StartedScans { scans })).into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LimitParams {
    limit: Option<usize>,
}

async fn list_scans(
    State(s): State<AppState>,
    Authed(caller): Authed,
    Path(slug): Path<String>,
    Params(p): Params<LimitParams>,
) -> ApiResult<Json<Vec<service::ScanView>>> {
    let scope = scope(&s, &caller, &slug).await?;
    Ok(Json(s.service.recent_scans(&scope, p.limit.unwrap_or(20)).await?))
}

async fn get_scan(
    State(s): State<AppState>,
    Authed(caller): Authed,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<Json<service::ScanView>> {
    let scope = scope(&s, &caller, &slug).await?;
    Ok(Json(s.service.scan(&scope, &id).await?))
}

// ---- findings, inventory, agents

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FindingParams {
    severity: Option<String>,
    status: Option<String>,
    provider: Option<String>,
    rule: Option<String>,
    framework: Option<String>,
    cursor: Option<String>,
    limit: Option<usize>,
}

/// Page size when the caller does not say.
const DEFAULT_PAGE: usize = 100;

async fn list_findings(
    State(s): State<AppState>,
    Authed(caller): Authed,
    Path(slug): Path<String>,
    Params(p): Params<FindingParams>,
) -> ApiResult<Json<service::Page<schemas::Finding>>> {
    let scope = scope(&s, &caller, &slug).await?;
    let query = FindingQuery {
        severity: p.severity,
        status: p.status,
        provider: p.provider,
        rule: p.rule,
        framework: p.framework,
        cursor: p.cursor,
        limit: p.limit.unwrap_or(DEFAULT_PAGE),
    };
    Ok(Json(s.service.finding_page(&scope, &query).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeParams {
    since: Option<String>,
    risk_only: Option<bool>,
    cursor: Option<String>,
    limit: Option<usize>,
}

async fn list_changes(
    State(s): State<AppState>,
    Authed(caller): Authed,
    Path(slug): Path<String>,
    Params(p): Params<ChangeParams>,
) -> ApiResult<Json<service::Page<service::changes::ChangeView>>> {
    let scope = scope(&s, &caller, &slug).await?;
    let filter = service::changes::ChangeFilter {
        since: p.since,
        risk_only: p.risk_only.unwrap_or(false),
        cursor: p.cursor,
        limit: p.limit.unwrap_or(DEFAULT_PAGE),
    };
    Ok(Json(s.service.changes(&scope, &filter).await?))
}

// ---- alert channels

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAlertBody {
    /// `slack` or `webhook`.
    pub kind: service::alerts::ChannelKind,
    /// A Slack incoming-webhook URL (`https://hooks.slack.com/...`) or an https webhook URL.
    /// Sealed; never returned.
    pub url: String,
    pub name: Option<String>,
    /// `info`, `low`, `medium`, `high` (default) or `critical`.
    pub min_severity: Option<String>,
    /// `immediate` (default) or `digest`.
    pub mode: Option<String>,
    /// With `digest`: when digests go out (cron), read in `timezone`.
    pub digest_cron: Option<String>,
    pub timezone: Option<String>,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct TestQueued {
    pub message_id: String,
}

async fn list_alerts(
    State(s): State<AppState>,
    Authed(caller): Authed,
    Path(slug): Path<String>,
) -> ApiResult<Json<Vec<service::alerts::AlertChannelView>>> {
    let scope = scope(&s, &caller, &slug).await?;
    Ok(Json(s.service.alert_channels(&scope).await?))
}

async fn add_alert(
    State(s): State<AppState>,
    Authed(caller): Authed,
    Path(slug): Path<String>,
    Body(body): Body<NewAlertBody>,
) -> ApiResult<(StatusCode, Json<service::alerts::AddedChannel>)> {
    let scope = scope(&s, &caller, &slug).await?;
    let added = s
        .service
        .add_alert_channel(
            &scope,
            service::alerts::NewAlertChannel {
                kind: body.kind,
                url: body.url,
                name: body.name,
                min_severity: body.min_severity.unwrap_or_else(|| "high".into()),
                mode: body.mode.unwrap_or_else(|| "immediate".into()),
                digest_cron: body.digest_cron,
                timezone: body.timezone.unwrap_or_else(|| "UTC".into()),
                link_base: Some(s.public_url().to_string()),
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(added)))
}

async fn remove_alert(
    State(s): State<AppState>,
    Authed(caller): Authed,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let scope = scope(&s, &caller, &slug).await?;
    s.service.remove_alert_channel(&scope, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn test_alert(
    State(s): State<AppState>,
    Authed(caller): Authed,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<(StatusCode, Json<TestQueued>)> {
    let scope = scope(&s, &caller, &slug).await?;
    let message_id = s.service.test_alert_channel(&scope, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(TestQueued { message_id })))
}

async fn get_finding(
    State(s): State<AppState>,
    Authed(caller): Authed,
    Path((slug, fingerprint)): Path<(String, String)>,
) -> ApiResult<Json<schemas::Finding>> {
    let scope = scope(&s, &caller, &slug).await?;
    Ok(Json(s.service.finding(&scope, &fingerprint).await?))
}

async fn get_inventory(
    State(s): State<AppState>,
    Authed(caller): Authed,
    Path(slug): Path<String>,
) -> ApiResult<Json<Vec<schemas::Inventory>>> {
    let scope = scope(&s, &caller, &slug).await?;
    Ok(Json(s.service.inventories(&scope).await?))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    cursor: Option<String>,
    limit: Option<usize>,
}

async fn list_agents(
    State(s): State<AppState>,
    Authed(caller): Authed,
    Path(slug): Path<String>,
    Params(p): Params<PageParams>,
) -> ApiResult<Json<service::Page<service::AgentSummary>>> {
    let scope = scope(&s, &caller, &slug).await?;
    let page = s
        .service
        .agent_page(&scope, p.cursor.as_deref(), p.limit.unwrap_or(DEFAULT_PAGE))
        .await?;
    Ok(Json(page))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AgentParams {
    connection: Option<String>,
}

async fn get_agent(
    State(s): State<AppState>,
    Authed(caller): Authed,
    Path((slug, id)): Path<(String, String)>,
    Params(p): Params<AgentParams>,
) -> ApiResult<Json<service::AgentView>> {
    let scope = scope(&s, &caller, &slug).await?;
    Ok(Json(s.service.agent(&scope, &id, p.connection.as_deref()).await?))
}

// ---- tokens and the audit log

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenBody {
    pub role: Role,
    pub name: String,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub info: service::TokenInfo,
    /// Shown once; only its hash is stored.
    pub token: String,
}

async fn list_tokens(
    State(s): State<AppState>,
    Authed(caller): Authed,
    Path(slug): Path<String>,
) -> ApiResult<Json<Vec<service::TokenInfo>>> {
    let scope = scope(&s, &caller, &slug).await?;
    Ok(Json(s.service.tokens(&scope).await?))
}

async fn create_token(
    State(s): State<AppState>,
    Authed(caller): Authed,
    Path(slug): Path<String>,
    Body(body): Body<NewTokenBody>,
) -> ApiResult<Response> {
    let scope = scope(&s, &caller, &slug).await?;
    let created = s.service.create_token(&scope, body.role, &body.name).await?;
    let view = CreatedToken {
        info: created.info,
        token: created.token,
    };
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

async fn revoke_token(
    State(s): State<AppState>,
    Authed(caller): Authed,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let scope = scope(&s, &caller, &slug).await?;
    s.service.revoke_token(&scope, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- schedules and kept reports

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleBody {
    /// Five fields (minute hour day-of-month month day-of-week), e.g. `0 7 * * MON`; six with
    /// seconds first.
    pub cron: String,
    /// The IANA time zone the expression is read in (default UTC).
    #[serde(default = "utc")]
    pub timezone: String,
}

fn utc() -> String {
    "UTC".into()
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct ReportSummaryView {
    pub id: String,
    pub created_at: String,
    /// `schedule <due time>` or `manual`.
    pub trigger: String,
}

fn schedule_kind(kind: &str) -> Result<service::schedules::ScheduleKind, ServiceError> {
    match kind {
        "scan" => Ok(service::schedules::ScheduleKind::Scan),
        "report" => Ok(service::schedules::ScheduleKind::Report),
        other => Err(ServiceError::NotFound(format!(
            "no schedule kind {other:?} (scan or report)"
        ))),
    }
}

async fn list_schedules(
    State(s): State<AppState>,
    Authed(caller): Authed,
    Path(slug): Path<String>,
) -> ApiResult<Json<Vec<service::schedules::ScheduleView>>> {
    let scope = scope(&s, &caller, &slug).await?;
    Ok(Json(s.service.schedules(&scope).await?))
}

async fn set_schedule(
    State(s): State<AppState>,
    Authed(caller): Authed,
    Path((slug, kind)): Path<(String, String)>,
    Body(body): Body<ScheduleBody>,
) -> ApiResult<Json<service::schedules::ScheduleView>> {
    let scope = scope(&s, &caller, &slug).await?;
    let kind = schedule_kind(&kind)?;
    Ok(Json(
        s.service.set_schedule(&scope, kind, &body.cron, &body.timezone).await?,
    ))
}

async fn remove_schedule(
    State(s): State<AppState>,
    Authed(caller): Authed,
    Path((slug, kind)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let scope = scope(&s, &caller, &slug).await?;
    s.service.remove_schedule(&scope, schedule_kind(&kind)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_reports(
    State(s): State<AppState>,
    Authed(caller): Authed,
    Path(slug): Path<String>,
) -> ApiResult<Json<Vec<ReportSummaryView>>> {
    let scope = scope(&s, &caller, &slug).await?;
    let list = s.service.kept_reports(&scope, 100).await?;
    Ok(Json(
        list.into_iter()
            .map(|r| ReportSummaryView {
                id: r.id,
                created_at: r.created_at,
                trigger: r.trigger,
            })
            .collect(),
    ))
}

async fn keep_report(
    State(s): State<AppState>,
    Authed(caller): Authed,
    Path(slug): Path<String>,
) -> ApiResult<Response> {
    let scope = scope(&s, &caller, &slug).await?;
    scope.require(Role::Admin)?;
    let id = s.service.keep_report(&scope, "manual").await?;
    Ok((StatusCode::CREATED, Json(Created { id })).into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    format: Option<String>,
}

async fn get_report(
    State(s): State<AppState>,
    Authed(caller): Authed,
    Path((slug, id)): Path<(String, String)>,
    Params(p): Params<ReportParams>,
) -> ApiResult<Response> {
    let scope = scope(&s, &caller, &slug).await?;
    let format =
        service::report::Format::parse(p.format.as_deref().unwrap_or("json")).map_err(ServiceError::Invalid)?;
    let (bytes, content_type, name) = s.service.kept_report_as(&scope, &id, format).await?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, content_type.to_string()),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// Entries older than this time (the `at` of the last entry of the previous page).
    cursor: Option<String>,
    limit: Option<u64>,
}

async fn audit_log(
    State(s): State<AppState>,
    Authed(caller): Authed,
    Path(slug): Path<String>,
    Params(p): Params<AuditParams>,
) -> ApiResult<Json<service::Page<service::AuditEntry>>> {
    let scope = scope(&s, &caller, &slug).await?;
    let limit = p
        .limit
        .unwrap_or(DEFAULT_PAGE as u64)
        .clamp(1, service::MAX_PAGE as u64);
    let items = s.service.audit_log(&scope, p.cursor.as_deref(), limit).await?;
    let next_cursor = (items.len() as u64 == limit)
        .then(|| items.last().map(|e| e.at.clone()))
        .flatten();
    Ok(Json(service::Page { items, next_cursor }))
}
