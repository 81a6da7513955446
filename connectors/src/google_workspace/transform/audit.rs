//! What only the audit log tells (reference §2.3, §2.4, §8.4, §9.2): Gemini switches the
//! Policy API does not return, inferred from the latest change event; domain-wide delegation
//! grants; AI agents that act in the domain; notebooks shared outside it.
//!
//! A setting inferred from the log is as old as its latest event. With no event within the
//! log's 180 days the value is unknown (`unavailable`), not Google's default: it may have been
//! changed before the window.

use super::{collected, rows, setting, text, P};
use crate::Parts;
use schemas::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// One audit event with its activity's time and actor.
pub struct Event<'a> {
    pub time: &'a str,
    pub actor: &'a Value,
    pub activity: &'a Value,
    pub name: &'a str,
    pub params: BTreeMap<&'a str, &'a Value>,
}

impl Event<'_> {
    /// A parameter as text: `value`, `boolValue` or `intValue` (int64 comes as a string).
    pub fn text(&self, name: &str) -> Option<String> {
        let p = self.params.get(name)?;
        if let Some(v) = p["value"].as_str() {
            return Some(v.to_string());
        }
        if let Some(b) = p["boolValue"].as_bool() {
            return Some(b.to_string());
        }
        p["intValue"].as_str().map(str::to_string)
    }

    /// A parameter as a list: `multiValue`, or a comma-separated `value`.
    pub fn list(&self, name: &str) -> Vec<String> {
        let Some(p) = self.params.get(name) else {
            return Vec::new();
        };
        match p["multiValue"].as_array() {
            Some(items) => items.iter().filter_map(Value::as_str).map(str::to_string).collect(),
            None => p["value"]
                .as_str()
                .map(|v| {
                    v.split([',', ' '])
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// Every event of one audit resource, newest first as Google sends them.
pub fn events<'a>(parts: &'a Parts, resource: &str) -> Vec<Event<'a>> {
    rows(parts, resource)
        .iter()
        .flat_map(|activity| {
            let time = text(&activity["id"], "time");
            activity["events"].as_array().into_iter().flatten().map(move |e| Event {
                time,
                actor: &activity["actor"],
                activity,
                name: text(e, "name"),
                params: e["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p["name"].as_str().map(|n| (n, p)))
                    .collect(),
            })
        })
        .collect()
}

/// Gemini switches read from setting-change events: (our key, the `SETTING_NAME`s that carry
/// it, old name first; the newest event of any of them wins).
const LOGGED_SETTINGS: &[(&str, &[&str])] = &[
    (
        "gemini_app.regardless_of_license",
        &["BardNonDuetEnablementProto enable_bard_non_duet_access"],
    ),
    (
        "gemini.beta_features",
        &[
            "GenAiAlphaSettingsProto alpha_enabled",
            "Beta Gemini Features Beta Features enabled",
        ],
    ),
    (
        "gemini.multi_region_processing",
        &["GeminiNonRegionalizedFunctionalityStateSettingsProto state"],
    ),
    (
        "gemini_app.conversation_sharing",
        &["BardSharingDasherProto sharing_modality"],
    ),
];

const SETTING_EVENTS: &[&str] = &["CHANGE_APPLICATION_SETTING", "CREATE_APPLICATION_SETTING"];

/// The latest value per org unit or group, from matching events (newest first or not).
fn latest<'a>(events: impl Iterator<Item = &'a Event<'a>>) -> (Value, Option<String>) {
    let mut by_target: BTreeMap<(String, String), (String, String)> = BTreeMap::new();
    for e in events {
        let Some(value) = e.text("NEW_VALUE") else {
            continue;
        };
        // One console change is logged once per edition (§8.4): same time, same target.
        let key = (
            e.text("ORG_UNIT_NAME").unwrap_or_default(),
            e.text("GROUP_EMAIL").unwrap_or_default(),
        );
        let newer = by_target.get(&key).is_none_or(|(t, _)| e.time > t.as_str());
        if newer {
            by_target.insert(key, (e.time.to_string(), value));
        }
    }
    if by_target.is_empty() {
        return (Value::Null, None);
    }
    let as_of = by_target.values().map(|(t, _)| t.clone()).max();
    let entries: Vec<Value> = by_target
        .into_iter()
        .map(|((ou, group), (time, value))| {
            json!({"org_unit": if ou.is_empty() { Value::Null } else { json!(ou) },
                   "group": if group.is_empty() { Value::Null } else { json!(group) },
                   "value": value, "time": time})
        })
        .collect();
    (Value::Array(entries), as_of)
}

fn logged(key: &str, (value, as_of): (Value, Option<String>)) -> AiSetting {
    let evidence = if value.is_null() {
        Evidence::Unavailable
    } else {
        Evidence::AuditLogInferred
    };
    setting(key, value, SettingSource::Explicit, evidence, as_of)
}

/// Settings inferred from the admin log; none when the log was not read.
pub fn settings(parts: &Parts) -> Vec<AiSetting> {
    if !collected(parts, "admin_events") {
        return Vec::new();
    }
    let all = events(parts, "admin_events");
    let mut out: Vec<AiSetting> = LOGGED_SETTINGS
        .iter()
        .map(|(key, names)| {
            let matching = all.iter().filter(|e| {
                SETTING_EVENTS.contains(&e.name) && e.text("SETTING_NAME").is_some_and(|n| names.contains(&n.as_str()))
            });
            logged(key, latest(matching))
        })
        .collect();
    // "Automatically turn on new services and pre-release features" (§8.4).
    let auto_add = all.iter().filter(|e| e.name == "TOGGLE_AUTO_ADD_NEW_SERVICE");
    out.push(logged("new_services_auto_enabled", latest(auto_add)));
    out
}

/// Settings no API returns (§0, §4 GWS-AI-018): an admin confirms them in the console. Until
/// an attestation is recorded the value is null and rules on them are not assessed.
pub fn manual_settings() -> Vec<AiSetting> {
    ["gemini_app.conversation_history", "gemini_app.temporary_chats"]
        .iter()
        .map(|key| setting(key, Value::Null, SettingSource::Explicit, Evidence::Manual, None))
        .collect()
}

/// Mail, full Drive, cloud-platform, or an admin scope that can change things.
fn broad(scope: &str) -> bool {
    super::directory::full_gmail(scope)
        || super::directory::full_drive(scope)
        || (super::directory::admin_scope(scope) && !scope.ends_with(".readonly"))
        || scope.contains("gmail.")
}

/// Service accounts granted domain-wide delegation (§2.4: no list API; the admin log's
/// `AUTHORIZE_API_CLIENT_ACCESS`, and `access_evaluation` for those seen acting).
pub fn delegated_clients(parts: &Parts, own_client_id: Option<&str>) -> Vec<Principal> {
    let mut clients: BTreeMap<String, (Vec<String>, String, String, bool)> = BTreeMap::new();
    let mut admin = events(parts, "admin_events");
    admin.sort_by(|a, b| a.time.cmp(b.time));
    for e in &admin {
        let Some(client) = e.text("API_CLIENT_NAME") else {
            continue;
        };
        match e.name {
            "AUTHORIZE_API_CLIENT_ACCESS" => {
                let by = text(e.actor, "email").to_string();
                clients.insert(client, (e.list("API_SCOPES"), e.time.to_string(), by, false));
            }
            "REMOVE_API_CLIENT_ACCESS" => {
                clients.remove(&client);
            }
            _ => {}
        }
    }
    for e in events(parts, "dwd_events") {
        let client = text(&e.actor["applicationInfo"], "oauthClientId").to_string();
        let client = if client.is_empty() {
            e.text("client_id").unwrap_or_default()
        } else {
            client
        };
        if client.is_empty() {
            continue;
        }
        let requested = e.list("scopes_requested");
        let entry = clients
            .entry(client)
            .or_insert_with(|| (Vec::new(), String::new(), String::new(), false));
        entry.3 = true;
        for s in requested {
            if !entry.0.contains(&s) {
                entry.0.push(s);
            }
        }
    }
    clients
        .into_iter()
        .map(|(client, (scopes, granted_at, granted_by, in_use))| Principal {
            privileged: scopes.iter().any(|s| broad(s)),
            id: format!("{P}:dwd:{client}"),
            kind: PrincipalKind::ServiceAccount,
            name: format!("Domain-wide delegation client {client}"),
            roles: Vec::new(),
            attributes: [
                ("client_id", json!(client)),
                ("dwd", json!(true)),
                ("broad_scopes", json!(scopes.iter().any(|s| broad(s)))),
                ("dwd_scopes", json!(scopes)),
                ("ai", json!(false)),
                ("granted_at", json!(Some(granted_at).filter(|t| !t.is_empty()))),
                ("granted_by", json!(Some(granted_by).filter(|t| !t.is_empty()))),
                ("seen_in_use", json!(in_use)),
                ("this_connection", json!(Some(client.as_str()) == own_client_id)),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        })
        .collect()
}

/// The audit resources whose events may carry AI-agent attribution (§9.2).
const AGENT_SOURCES: &[&str] = &[
    "gemini_events",
    "agent_events",
    "notebook_events",
    "admin_events",
    "token_events",
];

/// Agents the audit log says acted in the domain (`isAgenticAction`,
/// `actor.agentAttributionInfo`), with what they did and touched.
pub fn acting_agents(parts: &Parts) -> Vec<Agent> {
    #[derive(Default)]
    struct Seen {
        name: String,
        kind: String,
        owner: String,
        applications: BTreeSet<String>,
        event_names: BTreeSet<String>,
        resources: BTreeSet<String>,
        events: u64,
        last: String,
    }
    let domain = rows(parts, "customer")
        .first()
        .map(|c| text(c, "customerDomain").to_lowercase())
        .unwrap_or_default();
    let mut agents: BTreeMap<String, Seen> = BTreeMap::new();
    for source in AGENT_SOURCES {
        for activity in rows(parts, source) {
            let info = &activity["actor"]["agentAttributionInfo"];
            if activity["isAgenticAction"].as_bool() != Some(true) && !info.is_object() {
                continue;
            }
            let id = match text(info, "agentId") {
                "" => "unattributed".to_string(),
                id => id.to_string(),
            };
            let seen = agents.entry(id).or_default();
            seen.name = match text(info, "agentName") {
                "" if seen.name.is_empty() => "An unnamed agent".into(),
                "" => std::mem::take(&mut seen.name),
                n => n.to_string(),
            };
            seen.kind = text(info, "agentType").to_string();
            if seen.owner.is_empty() {
                seen.owner = text(&info["agentOwner"], "email").to_string();
            }
            seen.applications
                .insert(text(&activity["id"], "applicationName").to_string());
            let time = text(&activity["id"], "time");
            if time > seen.last.as_str() {
                seen.last = time.to_string();
            }
            for e in activity["events"].as_array().into_iter().flatten() {
                seen.events += 1;
                if seen.event_names.len() < 20 {
                    seen.event_names.insert(text(e, "name").to_string());
                }
                for p in e["parameters"].as_array().into_iter().flatten() {
                    if matches!(text(p, "name"), "doc_title" | "title" | "doc_id") && seen.resources.len() < 20 {
                        seen.resources.insert(text(p, "value").to_string());
                    }
                }
            }
            for r in activity["resourceDetails"].as_array().into_iter().flatten() {
                let label = match text(r, "title") {
                    "" => text(r, "id"),
                    t => t,
                };
                if !label.is_empty() && seen.resources.len() < 20 {
                    seen.resources.insert(label.to_string());
                }
            }
        }
    }
    agents
        .into_iter()
        .map(|(id, s)| {
            let owner_domain = s.owner.rsplit_once('@').map(|(_, d)| d.to_lowercase());
            let owner_in_domain = match (&owner_domain, domain.is_empty()) {
                (Some(d), false) => json!(d == &domain || d.ends_with(&format!(".{domain}"))),
                _ => Value::Null,
            };
            Agent {
                id: format!("{P}:agent:audit:{id}"),
                kind: "workspace_agent".into(),
                name: s.name,
                owner: Some(s.owner).filter(|o| !o.is_empty()),
                identity: RunIdentity::Unknown,
                run_as: None,
                role_mask: None,
                audience: Vec::new(),
                audience_unknown: true,
                channels: Vec::new(),
                autonomy: Autonomy::Autonomous,
                tools: Vec::new(),
                knowledge: Vec::new(),
                teams: Vec::new(),
                active: true,
                last_used: Some(s.last).filter(|t| !t.is_empty()),
                attributes: [
                    ("agent_id", json!(id)),
                    ("agent_type", json!(s.kind)),
                    ("owner_in_domain", owner_in_domain),
                    ("applications", json!(s.applications)),
                    ("event_names", json!(s.event_names)),
                    ("events", json!(s.events)),
                    ("resources_touched", json!(s.resources)),
                    ("evidence", json!("audit_log_inferred")),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            }
        })
        .collect()
}

/// Notebooks whose latest visibility reaches beyond the domain (`gemini_notebook`, §8.4).
pub fn public_notebooks(parts: &Parts) -> Vec<Value> {
    const OUTSIDE: &[&str] = &[
        "public",
        "anyone_with_link",
        "shared_externally",
        "shared_externally_trusted_domain",
    ];
    let mut latest: BTreeMap<String, (String, String, String, String)> = BTreeMap::new();
    for e in events(parts, "notebook_events") {
        let Some(visibility) = e.text("visibility") else {
            continue;
        };
        let resource = e.activity["resourceDetails"].as_array().and_then(|r| r.first());
        let id = resource
            .map(|r| text(r, "id").to_string())
            .filter(|s| !s.is_empty())
            .or_else(|| e.text("notebook_id"))
            .unwrap_or_default();
        let title = resource
            .map(|r| text(r, "title").to_string())
            .filter(|s| !s.is_empty())
            .or_else(|| e.text("notebook_title"))
            .or_else(|| e.text("title"))
            .unwrap_or_else(|| id.clone());
        let key = if id.is_empty() { title.clone() } else { id.clone() };
        if key.is_empty() {
            continue;
        }
        let newer = latest.get(&key).is_none_or(|(t, ..)| e.time > t.as_str());
        if newer {
            let actor = text(e.actor, "email").to_string();
            latest.insert(key, (e.time.to_string(), visibility, title, actor));
        }
    }
    latest
        .into_iter()
        .filter(|(_, (_, visibility, ..))| OUTSIDE.contains(&visibility.as_str()))
        .map(|(id, (time, visibility, title, actor))| {
            json!({"notebook": title, "id": id, "visibility": visibility, "actor": actor, "time": time})
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ResourcePart;

    fn part(name: &str, records: Value) -> (String, ResourcePart) {
        let resource = format!("google_workspace.{name}");
        let part = ResourcePart::collected(&resource, records.as_array().unwrap().clone(), 1);
        (resource, part)
    }

    fn change(time: &str, app: &str, setting: &str, value: &str, edition: Option<&str>) -> Value {
        let mut params = vec![
            json!({"name": "APPLICATION_NAME", "value": app}),
            json!({"name": "SETTING_NAME", "value": setting}),
            json!({"name": "NEW_VALUE", "value": value}),
            json!({"name": "ORG_UNIT_NAME", "value": "Example Corp"}),
        ];
        if let Some(e) = edition {
            params.push(json!({"name": "APPLICATION_EDITION", "value": e}));
        }
        json!({"id": {"time": time, "applicationName": "admin"}, "actor": {"email": "it-admin@example.com"},
               "events": [{"type": "APPLICATION_SETTINGS", "name": "CHANGE_APPLICATION_SETTING", "parameters": params}]})
    }

    #[test]
    fn the_latest_change_of_either_name_wins_and_no_change_is_unknown() {
        let parts: Parts = [part(
            "admin_events",
            json!([
                change(
                    "2026-11-02T10:00:00Z",
                    "Gemini in Workspace",
                    "Beta Gemini Features Beta Features enabled",
                    "false",
                    None
                ),
                change(
                    "2026-10-01T10:00:00Z",
                    "Gemini in Workspace apps",
                    "GenAiAlphaSettingsProto alpha_enabled",
                    "true",
                    Some("enterprise")
                ),
                change(
                    "2026-10-01T10:00:00Z",
                    "Gemini in Workspace apps",
                    "GenAiAlphaSettingsProto alpha_enabled",
                    "true",
                    Some("duet_edition")
                ),
            ]),
        )]
        .into();
        let s = settings(&parts);
        let beta = s.iter().find(|x| x.key.ends_with("gemini.beta_features")).unwrap();
        assert_eq!(beta.evidence, Evidence::AuditLogInferred);
        assert_eq!(beta.as_of.as_deref(), Some("2026-11-02T10:00:00Z"));
        assert_eq!(
            beta.value,
            json!([{"org_unit": "Example Corp", "group": null, "value": "false", "time": "2026-11-02T10:00:00Z"}])
        );
        let licence = s.iter().find(|x| x.key.ends_with("regardless_of_license")).unwrap();
        assert_eq!(
            (licence.value.clone(), licence.evidence),
            (Value::Null, Evidence::Unavailable)
        );
        assert!(settings(&Parts::new()).is_empty(), "no log read: nothing inferred");
    }

    #[test]
    fn agents_are_grouped_by_their_attribution() {
        let activity = |time: &str, title: &str| {
            json!({"id": {"time": time, "applicationName": "gemini_in_workspace_apps"}, "isAgenticAction": true,
                   "actor": {"email": "dana@example.com", "agentAttributionInfo": {"agentId": "a1", "agentName": "Triage", "agentType": "WORKSPACE_FLOW", "agentOwner": {"email": "x@partner.example"}}},
                   "resourceDetails": [{"id": "f1", "title": title, "type": "DRIVE_FILE"}],
                   "events": [{"type": "ai_usage_event", "name": "feature_utilization", "parameters": []}]})
        };
        let parts: Parts = [
            part("customer", json!([{"id": "C01", "customerDomain": "example.com"}])),
            part(
                "gemini_events",
                json!([
                    activity("2026-11-03T00:00:00Z", "Board deck"),
                    activity("2026-11-01T00:00:00Z", "Payroll")
                ]),
            ),
        ]
        .into();
        let agents = acting_agents(&parts);
        assert_eq!(agents.len(), 1);
        let a = &agents[0];
        assert_eq!(
            (a.name.as_str(), a.owner.as_deref()),
            ("Triage", Some("x@partner.example"))
        );
        assert_eq!(a.attributes["owner_in_domain"], false);
        assert_eq!(a.attributes["events"], 2);
        assert_eq!(a.attributes["resources_touched"], json!(["Board deck", "Payroll"]));
        assert_eq!(a.last_used.as_deref(), Some("2026-11-03T00:00:00Z"));
    }
}
