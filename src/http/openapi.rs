//! The OpenAPI 3.1 document at `/api/openapi.json`: the operations below, and the schemas of
//! their bodies generated from the Rust types (schemars, JSON Schema 2020-12, which is
//! OpenAPI 3.1's dialect). A test calls every operation listed here, so the list and the
//! router cannot drift apart unnoticed.

use schemars::generate::SchemaSettings;
use serde_json::{json, Map, Value};

/// One documented operation.
pub struct Operation {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    /// The least role it needs in the tenant (`None`: no tenant; see `summary`).
    pub role: Option<&'static str>,
    pub query: &'static [(&'static str, &'static str)],
    pub request: Option<&'static str>,
    pub status: u16,
    pub response: Option<&'static str>,
}

const PAGE: &[(&str, &str)] = &[
    ("cursor", "where the previous page ended (its next_cursor)"),
    ("limit", "page size, 1 to 500 (default 100)"),
];

pub const OPERATIONS: &[Operation] = &[
    Operation { method: "get", path: "/healthz", summary: "Liveness", role: None, query: &[], request: None, status: 200, response: None },
    Operation { method: "get", path: "/api/v1/tenants", summary: "The tenants the caller has a role in (all of them for an operator)", role: None, query: &[], request: None, status: 200, response: Some("TenantList") },
    Operation { method: "post", path: "/api/v1/tenants", summary: "Create a tenant (operator tokens)", role: None, query: &[], request: Some("NewTenant"), status: 201, response: Some("TenantView") },
    Operation { method: "get", path: "/api/v1/tenants/{slug}/connections", summary: "The tenant's connections (settings, never secrets)", role: Some("viewer"), query: &[], request: None, status: 200, response: Some("ConnectionList") },
    Operation { method: "post", path: "/api/v1/tenants/{slug}/connections", summary: "Connect a SaaS app: the settings `aispm connect` takes, secrets in the body; verified with the vendor before it is stored", role: Some("admin"), query: &[], request: Some("NewConnectionBody"), status: 201, response: Some("Created") },
    Operation { method: "delete", path: "/api/v1/tenants/{slug}/connections/{id}", summary: "Remove a connection, its scans and snapshots (its findings are resolved)", role: Some("admin"), query: &[], request: None, status: 204, response: None },
    Operation { method: "get", path: "/api/v1/tenants/{slug}/scans", summary: "The tenant's newest scans", role: Some("viewer"), query: &[("limit", "how many, 1 to 500 (default 20)")], request: None, status: 200, response: Some("ScanList") },
    Operation { method: "post", path: "/api/v1/tenants/{slug}/scans", summary: "Queue a scan of every connection", role: Some("admin"), query: &[], request: None, status: 202, response: Some("StartedScans") },
    Operation { method: "get", path: "/api/v1/tenants/{slug}/scans/{id}", summary: "A scan: status, resources done of total, requests spent, coverage", role: Some("viewer"), query: &[], request: None, status: 200, response: Some("ScanView") },
    Operation { method: "get", path: "/api/v1/tenants/{slug}/findings", summary: "Findings in report order, filtered, by cursor", role: Some("viewer"), query: &[
        ("severity", "info, low, medium, high or critical"),
        ("status", "open (default), resolved or all"),
        ("provider", "servicenow, m365, ..."),
        ("rule", "a rule id"),
        ("framework", "a framework (owasp_llm_2025), an entry (LLM06) or both (owasp_llm_2025:LLM06)"),
        ("cursor", "where the previous page ended (its next_cursor)"),
        ("limit", "page size, 1 to 500 (default 100)"),
    ], request: None, status: 200, response: Some("FindingPage") },
    Operation { method: "get", path: "/api/v1/tenants/{slug}/findings/{fingerprint}", summary: "One finding", role: Some("viewer"), query: &[], request: None, status: 200, response: Some("Finding") },
    Operation { method: "get", path: "/api/v1/tenants/{slug}/changes", summary: "What changed between consecutive snapshots of each connection, newest first: per resource the fields with old and new values; risk changes say how they widen exposure and name the findings they opened or resolved", role: Some("viewer"), query: &[
        ("since", "a date (2026-11-30, from its start in UTC) or an RFC 3339 time"),
        ("risk_only", "true: only risk changes"),
        ("cursor", "where the previous page ended (its next_cursor)"),
        ("limit", "page size, 1 to 500 (default 100)"),
    ], request: None, status: 200, response: Some("ChangePage") },
    Operation { method: "get", path: "/api/v1/tenants/{slug}/alerts", summary: "Alert channels: kind, minimum severity, mode, status (broken, and why), messages sent, pending and failed; never their URLs", role: Some("viewer"), query: &[], request: None, status: 200, response: Some("AlertChannelList") },
    Operation { method: "post", path: "/api/v1/tenants/{slug}/alerts", summary: "Add a Slack (https://hooks.slack.com/ only) or signed webhook channel; the URL is sealed and never returned, a webhook's signing key is returned this once", role: Some("admin"), query: &[], request: Some("NewAlertBody"), status: 201, response: Some("AddedChannel") },
    Operation { method: "delete", path: "/api/v1/tenants/{slug}/alerts/{id}", summary: "Remove an alert channel and its undelivered messages", role: Some("admin"), query: &[], request: None, status: 204, response: None },
    Operation { method: "post", path: "/api/v1/tenants/{slug}/alerts/{id}/test", summary: "Queue a test message (a broken channel tries again)", role: Some("admin"), query: &[], request: None, status: 202, response: Some("TestQueued") },
    Operation { method: "get", path: "/api/v1/tenants/{slug}/inventory", summary: "The newest complete snapshot of each connection", role: Some("viewer"), query: &[], request: None, status: 200, response: Some("InventoryList") },
    Operation { method: "get", path: "/api/v1/tenants/{slug}/agents", summary: "The tenant's agents", role: Some("viewer"), query: PAGE, request: None, status: 200, response: Some("AgentSummaryPage") },
    Operation { method: "get", path: "/api/v1/tenants/{slug}/agents/{id}", summary: "An agent: who may invoke it, whom it runs as, its tools, knowledge and findings", role: Some("viewer"), query: &[("connection", "the connection, when two share agent ids")], request: None, status: 200, response: Some("AgentView") },
    Operation { method: "get", path: "/api/v1/tenants/{slug}/tokens", summary: "The tenant's API tokens (never the tokens themselves)", role: Some("admin"), query: &[], request: None, status: 200, response: Some("TokenList") },
    Operation { method: "post", path: "/api/v1/tenants/{slug}/tokens", summary: "Create an API token; the answer holds it once", role: Some("admin"), query: &[], request: Some("NewTokenBody"), status: 201, response: Some("CreatedToken") },
    Operation { method: "delete", path: "/api/v1/tenants/{slug}/tokens/{id}", summary: "Revoke an API token", role: Some("admin"), query: &[], request: None, status: 204, response: None },
    Operation { method: "get", path: "/api/v1/tenants/{slug}/audit", summary: "Who connected, removed, scanned, granted, created or revoked what, newest first", role: Some("admin"), query: &[
        ("cursor", "entries older than this time (the last entry's `at`)"),
        ("limit", "page size, 1 to 500 (default 100)"),
    ], request: None, status: 200, response: Some("AuditEntryPage") },
    Operation { method: "get", path: "/api/v1/tenants/{slug}/schedules", summary: "The tenant's scan and report schedules, with the next due time and what the last firing did", role: Some("viewer"), query: &[], request: None, status: 200, response: Some("ScheduleList") },
    Operation { method: "put", path: "/api/v1/tenants/{slug}/schedules/{kind}", summary: "Set the `scan` or `report` schedule: a cron expression read in a time zone", role: Some("admin"), query: &[], request: Some("ScheduleBody"), status: 200, response: Some("ScheduleView") },
    Operation { method: "delete", path: "/api/v1/tenants/{slug}/schedules/{kind}", summary: "Remove the `scan` or `report` schedule", role: Some("admin"), query: &[], request: None, status: 204, response: None },
    Operation { method: "get", path: "/api/v1/tenants/{slug}/reports", summary: "Kept posture reports (scheduled or asked for), newest first", role: Some("viewer"), query: &[], request: None, status: 200, response: Some("ReportSummaryList") },
    Operation { method: "post", path: "/api/v1/tenants/{slug}/reports", summary: "Build a posture report now and keep it", role: Some("admin"), query: &[], request: None, status: 201, response: Some("Created") },
    Operation { method: "get", path: "/api/v1/tenants/{slug}/reports/{id}", summary: "A kept report, rendered from its model: the model itself (JSON), HTML, PDF, Markdown, CSV, SARIF 2.1.0 or OCSF Detection Finding lines", role: Some("viewer"), query: &[("format", "json (default), html, pdf, md, csv, sarif or ocsf")], request: None, status: 200, response: None },
];

fn components() -> Map<String, Value> {
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    let mut generator = settings.into_generator();
    let mut named: Vec<(&str, Value)> = Vec::new();
    macro_rules! schema {
        ($name:literal, $t:ty) => {
            named.push(($name, generator.subschema_for::<$t>().to_value()));
        };
    }
    use super::api::*;
    schema!("TenantView", TenantView);
    schema!("TenantList", Vec<TenantView>);
    schema!("NewTenant", NewTenant);
    schema!("ConnectionList", Vec<ConnectionView>);
    schema!("NewConnectionBody", NewConnectionBody);
    schema!("Created", Created);
    schema!("StartedScans", StartedScans);
    schema!("ScanView", service::ScanView);
    schema!("ScanList", Vec<service::ScanView>);
    schema!("FindingPage", service::Page<schemas::Finding>);
    schema!("Finding", schemas::Finding);
    schema!("ChangePage", service::Page<service::changes::ChangeView>);
    schema!("AlertChannelList", Vec<service::alerts::AlertChannelView>);
    schema!("AddedChannel", service::alerts::AddedChannel);
    schema!("NewAlertBody", NewAlertBody);
    schema!("TestQueued", TestQueued);
    schema!("InventoryList", Vec<schemas::Inventory>);
    schema!("AgentSummaryPage", service::Page<service::AgentSummary>);
    schema!("AgentView", service::AgentView);
    schema!("TokenList", Vec<service::TokenInfo>);
    schema!("NewTokenBody", NewTokenBody);
    schema!("CreatedToken", CreatedToken);
    schema!("AuditEntryPage", service::Page<service::AuditEntry>);
    schema!("ScheduleView", service::schedules::ScheduleView);
    schema!("ScheduleList", Vec<service::schedules::ScheduleView>);
    schema!("ScheduleBody", ScheduleBody);
    schema!("ReportSummaryList", Vec<ReportSummaryView>);
    let mut all = generator.take_definitions(true);
    for (name, schema) in named {
        // A named type is a `$ref` already; lists and pages are inline: name them too.
        if schema.get("$ref").and_then(Value::as_str) != Some(&format!("#/components/schemas/{name}")) {
            all.insert(name.to_string(), schema);
        }
    }
    all.insert(
        "Error".into(),
        json!({
            "type": "object",
            "required": ["error"],
            "properties": {"error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "description": "stable: unauthenticated, not_found, forbidden, invalid, invalid_body, invalid_query, conflict, connect_failed, no_route, method_not_allowed, internal"},
                    "message": {"type": "string", "description": "for people; may change"}
                }
            }}
        }),
    );
    all
}

fn parameters(op: &Operation) -> Vec<Value> {
    let mut params: Vec<Value> = op
        .path
        .split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    params.extend(op.query.iter().map(|(name, description)| {
        json!({"name": name, "in": "query", "required": false, "description": description, "schema": {"type": "string"}})
    }));
    params
}

fn error(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for op in OPERATIONS {
        let mut responses = Map::new();
        let ok = match op.response {
            Some(schema) => {
                json!({"description": "ok", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
            }
            None => json!({"description": "ok"}),
        };
        responses.insert(op.status.to_string(), ok);
        if op.path.starts_with("/api/v1") {
            responses.insert("400".into(), error("invalid input"));
            responses.insert("401".into(), error("no valid API token"));
            responses.insert("403".into(), error("the caller's role does not allow it"));
            responses.insert("404".into(), error("not found, or not the caller's tenant"));
        }
        let description = match op.role {
            Some(role) => format!("{}. Needs the {role} role in the tenant.", op.summary),
            None => format!("{}.", op.summary),
        };
        let mut operation = json!({
            "summary": op.summary,
            "description": description,
            "operationId": format!("{}{}", op.method, op.path.replace(['/', '{', '}'], "_")),
            "parameters": parameters(op),
            "responses": responses,
        });
        if let Some(schema) = op.request {
            operation["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}});
        }
        if op.path == "/healthz" {
            operation["security"] = json!([]);
        }
        paths
            .entry(op.path.to_string())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("a path item is an object")
            .insert(op.method.to_string(), operation);
    }
    json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "aispm",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "AI security posture for SaaS. Every /api/v1 route takes `Authorization: Bearer aispm_…` (see `aispm token create`); a tenant the token has no role in answers 404."
        },
        "paths": paths,
        "components": {
            "schemas": components(),
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}
        },
        "security": [{"token": []}]
    })
}
