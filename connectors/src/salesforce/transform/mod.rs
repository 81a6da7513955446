//! Pure functions from Salesforce records to the normalized model, one module per concern:
//! [`access`] (users, permission sets, object rights, connected apps), [`agents`] (agents,
//! their actions and prompt templates, where they are reachable, Trusted URLs) and
//! [`settings`] (Einstein and org settings).
//!
//! Reading rules from the reference: enums are open strings (§9.1.7); Metadata API answers
//! are text, so `"true"` is true; a reference that is not an id degrades to "unknown", never
//! to a guess that passes a rule.

pub mod access;
pub mod agents;
pub mod external_apps;
pub mod settings;

use crate::Parts;
use schemas::*;
use serde_json::Value;

pub(super) const P: &str = "salesforce";

/// Objects that hold people's data or the org's commercial records (§4 SF-AI-002, SF-AI-011).
pub const SENSITIVE_OBJECTS: &[&str] = &[
    "Lead",
    "Contact",
    "Account",
    "Case",
    "Opportunity",
    "User",
    "Individual",
    "Contract",
    "Order",
    "Quote",
    "EmailMessage",
    "ContactPointEmail",
    "ContactPointPhone",
    "PersonAccount",
];

/// The records of one resource (by its short name); empty when it was not read.
pub(super) fn rows<'a>(parts: &'a Parts, name: &str) -> &'a [Value] {
    parts
        .get(&format!("{P}.{name}"))
        .map(|p| p.records.as_slice())
        .unwrap_or(&[])
}

/// Whether a resource was read completely.
pub(super) fn collected(parts: &Parts, name: &str) -> bool {
    parts
        .get(&format!("{P}.{name}"))
        .is_some_and(|p| p.coverage.status == CoverageStatus::Collected)
}

/// A field as text ("" when absent or not a string).
pub fn text<'a>(record: &'a Value, field: &str) -> &'a str {
    record.get(field).and_then(Value::as_str).unwrap_or("")
}

/// A boolean from JSON (REST) or text (SOAP): `true`/`"true"`.
pub fn flag(record: &Value, field: &str) -> Option<bool> {
    match record.get(field)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// A Metadata API element that may repeat: always a list.
pub fn list(value: Option<&Value>) -> Vec<&Value> {
    match value {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(one) => vec![one],
    }
}

pub fn user_id(id: &str) -> String {
    format!("{P}:user:{id}")
}

pub fn object_id(object: &str) -> String {
    format!("{P}:object:{object}")
}

/// Every principal who signed in to the org (employee agents' audience).
pub fn org_users(connection_id: &str) -> String {
    format!("{P}:{connection_id}:org_users")
}

/// The normalized inventory of one scan.
pub fn inventory(parts: &Parts, connection_id: &str, collected_at: &str) -> Inventory {
    let now = chrono::DateTime::parse_from_rfc3339(collected_at)
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_else(|_| chrono::Utc::now());
    let users = access::users(parts);
    let mut principals = access::user_principals(&users);
    principals.push(Principal {
        id: org_users(connection_id),
        kind: PrincipalKind::AuthenticatedUsers,
        name: "Users of the org".into(),
        privileged: false,
        roles: Vec::new(),
        attributes: Default::default(),
    });
    principals.extend(access::app_principals(parts, &users, now));
    principals.extend(external_apps::principals(parts, &users, now));
    let mut grants = access::grants(&users);
    let graph = agents::AgentGraph::read(parts);
    let tools = agents::tools(parts, &graph, &users, now);
    let agent_list = agents::agents(parts, &graph, &users, &tools, connection_id);
    let inputs = agents::untrusted_inputs(parts, &agent_list, &tools);
    grants.extend(access::app_grants(parts));
    grants.extend(external_apps::grants(parts, &users));
    let data_stores = agents::data_stores(&grants, &tools);
    let coverage = parts.values().map(|p| p.coverage.clone()).collect();
    Inventory {
        provider: P.into(),
        connection_id: connection_id.into(),
        collected_at: collected_at.into(),
        principals,
        agents: agent_list,
        tools,
        data_stores,
        grants,
        settings: settings::settings(parts),
        untrusted_inputs: inputs,
        teams: Vec::new(),
        coverage,
    }
}
