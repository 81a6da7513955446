//! Pure functions from Google's answers to the normalized model, one module per concern:
//! [`policies`] (Cloud Identity settings, effective per org unit), [`directory`] (users,
//! admin roles, the third-party apps users granted, and what those apps reach), [`audit`]
//! (settings known only from the admin log, delegation grants, agents and notebooks seen in
//! the audit applications) and [`gemini`] (Gemini and NotebookLM as agents, the data they
//! ground on, and how outside content reaches them).
//!
//! Reading rules from the reference: enums are open strings and both spellings occur (§8.2);
//! a setting the API does not return at all is Google's documented default (`source:
//! default`), one the API cannot return is `unavailable` or `manual`, never a pass.

pub mod audit;
pub mod directory;
pub mod gemini;
pub mod policies;

use crate::Parts;
use schemas::*;
use serde_json::Value;

pub(super) const P: &str = "google_workspace";

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

pub fn text<'a>(record: &'a Value, field: &str) -> &'a str {
    record.get(field).and_then(Value::as_str).unwrap_or("")
}

pub(super) fn setting(
    key: &str,
    value: Value,
    source: SettingSource,
    evidence: Evidence,
    as_of: Option<String>,
) -> AiSetting {
    AiSetting {
        key: format!("{P}.{key}"),
        value,
        scope: "customer".into(),
        source,
        evidence,
        as_of,
    }
}

/// Every signed-in user of the domain (the Gemini app's audience where it is on everywhere).
pub fn all_users(connection_id: &str) -> String {
    format!("{P}:{connection_id}:all_users")
}

/// The normalized inventory of one scan. `own_client_id` is the service account this
/// connection reads with: its own delegation grant is marked, not judged like a stranger's.
pub fn inventory(parts: &Parts, connection_id: &str, collected_at: &str, own_client_id: Option<&str>) -> Inventory {
    let mut settings = policies::settings(parts);
    settings.extend(audit::settings(parts));
    settings.extend(audit::manual_settings());
    let apps = directory::apps(parts);
    let mut principals = directory::users(parts, &apps);
    principals.push(Principal {
        id: all_users(connection_id),
        kind: PrincipalKind::AuthenticatedUsers,
        name: "Every user in the domain".into(),
        privileged: false,
        roles: Vec::new(),
        attributes: Default::default(),
    });
    principals.extend(directory::app_principals(parts, &apps));
    principals.extend(audit::delegated_clients(parts, own_client_id));
    let mut agents = gemini::agents(&settings, parts, connection_id);
    agents.extend(audit::acting_agents(parts));
    let untrusted_inputs = gemini::untrusted_inputs(&settings, &agents);
    Inventory {
        provider: P.into(),
        connection_id: connection_id.into(),
        collected_at: collected_at.into(),
        principals,
        agents,
        tools: gemini::tools(),
        data_stores: gemini::data_stores(&settings),
        grants: directory::grants(&apps),
        settings,
        untrusted_inputs,
        teams: Vec::new(),
        coverage: parts.values().map(|p| p.coverage.clone()).collect(),
    }
}
