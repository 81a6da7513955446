//! Cloud Identity Policy API settings, effective per org unit (reference §2.1, §8.1, §8.2,
//! §9.1.6, §9.2).
//!
//! The API returns only what was set explicitly. An org unit without its own policy inherits
//! from its nearest ancestor, the root falls back to Google's documented default, and when
//! several policies target the same org unit the higher `sortOrder` wins. Group policies
//! override org units; they are reported beside them (group membership is not read).

use super::{rows, setting, text};
use crate::Parts;
use schemas::*;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};

/// On/off switches of AI and AI-adjacent services (§2.1.1, §8.2).
pub const SERVICES: &[&str] = &[
    "gemini_app",
    "notebooklm",
    "ai_studio",
    "colab",
    "early_access_apps",
    "experimental_apps",
    "enterprise_service_restrictions",
    "search_and_assistant",
    "drive_and_docs",
];

/// Value-object settings and Google's default when the root has none (§2.1.2, §2.1.3).
fn value_settings() -> Vec<(&'static str, Value)> {
    vec![
        (
            "drive_and_docs.external_sharing",
            json!({"externalSharingMode": "ALLOWED", "allowPublishingFiles": true, "allowNonGoogleInvites": true,
                   "allowReceivingExternalFiles": true, "accessCheckerSuggestions": "RECIPIENTS_OR_AUDIENCE_OR_PUBLIC",
                   "allowedPartiesForDistributingContent": "ALL_ELIGIBLE_USERS"}),
        ),
        (
            "drive_and_docs.general_access_default",
            json!({"defaultFileAccess": "PRIVATE_TO_OWNER"}),
        ),
        ("drive_and_docs.drive_sdk", json!({"enableDriveSdkApiAccess": true})),
        ("calendar.external_invitations", json!({"warnOnInvite": true})),
        (
            "workspace_marketplace.apps_access_options",
            json!({"accessLevel": "ALLOW_ALL", "allowAllInternalApps": false}),
        ),
        // Absent means any app may be authorised (§2.1.3; Google's default is open).
        (
            "api_controls.unconfigured_third_party_apps",
            json!({"accessLevel": "ALLOW_ALL"}),
        ),
        ("api_controls.internal_apps", json!({"trustInternalApps": false})),
        ("api_controls.google_services", json!({"services": []})),
        (
            "api_controls.app_approval_requests",
            json!({"allowedForAll": "OPTION_UNSPECIFIED"}),
        ),
    ]
}

/// One org unit: its path and its parent's id (ids without the `id:` prefix, §2.2).
struct OrgUnit {
    path: String,
    parent: Option<String>,
}

struct OrgTree {
    root: Option<String>,
    units: BTreeMap<String, OrgUnit>,
}

fn strip_id(id: &str) -> String {
    id.trim_start_matches("id:").to_string()
}

fn org_tree(parts: &Parts) -> OrgTree {
    let mut units = BTreeMap::new();
    let mut root = None;
    for ou in rows(parts, "orgunits") {
        let id = strip_id(text(ou, "orgUnitId"));
        if id.is_empty() {
            continue;
        }
        let path = text(ou, "orgUnitPath").to_string();
        let parent = Some(strip_id(text(ou, "parentOrgUnitId"))).filter(|p| !p.is_empty());
        if path == "/" {
            root = Some(id.clone());
        }
        units.insert(id, OrgUnit { path, parent });
    }
    if root.is_none() {
        // `allIncludingParent` should include the root; else it is the parent of the top units.
        root = units
            .values()
            .filter_map(|u| u.parent.clone())
            .find(|p| !units.contains_key(p));
    }
    OrgTree { root, units }
}

impl OrgTree {
    fn path(&self, id: &str) -> String {
        match self.units.get(id) {
            Some(u) => u.path.clone(),
            None if Some(id) == self.root.as_deref() => "/".into(),
            None => format!("id:{id}"),
        }
    }

    /// The org unit and its ancestors, nearest first (bounded: a cycle in the answer ends it).
    fn lineage(&self, id: &str) -> Vec<String> {
        let mut out = vec![id.to_string()];
        let mut at = id.to_string();
        while let Some(parent) = self.units.get(&at).and_then(|u| u.parent.clone()) {
            if out.contains(&parent) || out.len() > 64 {
                break;
            }
            out.push(parent.clone());
            at = parent;
        }
        if let Some(root) = &self.root {
            if !out.contains(root) {
                out.push(root.clone());
            }
        }
        out
    }
}

/// The policies of one setting type: per org unit and per group, the winning value.
#[derive(Default)]
struct Targeted {
    org_units: HashMap<String, (f64, Value)>,
    groups: BTreeMap<String, (f64, Value)>,
    set_by_admin: bool,
}

fn keep(slot: &mut Option<(f64, Value)>, order: f64, value: Value) {
    if slot.as_ref().is_none_or(|(o, _)| order >= *o) {
        *slot = Some((order, value));
    }
}

/// Policies by setting type (without the `settings/` prefix), with the winner per target.
fn by_type(parts: &Parts) -> HashMap<String, Targeted> {
    let groups: HashMap<String, String> = rows(parts, "groups")
        .iter()
        .map(|g| (text(g, "id").to_string(), text(g, "email").to_string()))
        .collect();
    let mut out: HashMap<String, Targeted> = HashMap::new();
    for p in rows(parts, "policies") {
        let kind = text(&p["setting"], "type").trim_start_matches("settings/").to_string();
        if kind.is_empty() {
            continue;
        }
        let mut value = p["setting"]["value"].clone();
        if let Some(map) = value.as_object_mut() {
            // Timestamps inside values are not part of the setting (§8.1).
            for k in ["createTime", "updateTime", "deleteTime"] {
                map.remove(k);
            }
        }
        let query = &p["policyQuery"];
        let order = query["sortOrder"].as_f64().unwrap_or(0.0);
        let entry = out.entry(kind).or_default();
        entry.set_by_admin |= text(p, "type") == "ADMIN";
        // `group` is "" or absent when none applies, and can be a non-conforming name (§2.1).
        let group = text(query, "group");
        if let Some(id) = group.strip_prefix("groups/") {
            let name = groups
                .get(id)
                .filter(|e| !e.is_empty())
                .cloned()
                .unwrap_or_else(|| id.to_string());
            let mut slot = entry.groups.remove(&name);
            keep(&mut slot, order, value);
            entry.groups.extend(slot.map(|s| (name, s)));
            continue;
        }
        if !group.is_empty() {
            let mut slot = entry.groups.remove(group);
            keep(&mut slot, order, value);
            entry.groups.extend(slot.map(|s| (group.to_string(), s)));
            continue;
        }
        let ou = text(query, "orgUnit").trim_start_matches("orgUnits/").to_string();
        // A policy only expressed in `query` (negated or licence-scoped, §9.2) names no single
        // org unit: it is kept against the org unit its query mentions first, else skipped.
        let ou = if ou.is_empty() {
            org_unit_in_query(text(query, "query"))
        } else {
            Some(ou)
        };
        if let Some(ou) = ou {
            let mut slot = entry.org_units.remove(&ou);
            keep(&mut slot, order, value);
            entry.org_units.extend(slot.map(|s| (ou, s)));
        }
    }
    out
}

/// The first `orgUnitId('…')` in a policy query.
fn org_unit_in_query(query: &str) -> Option<String> {
    let start = query.find("orgUnitId(")? + "orgUnitId(".len();
    let rest = query[start..].trim_start_matches(['\'', '"']);
    let end = rest.find(['\'', '"'])?;
    Some(rest[..end].to_string()).filter(|s| !s.is_empty())
}

/// Effective value per org unit path: its own policy, else the nearest ancestor's, else
/// `default`.
fn effective(tree: &OrgTree, targeted: Option<&Targeted>, default: &Value) -> BTreeMap<String, Value> {
    let mut ids: Vec<String> = tree.units.keys().cloned().collect();
    if let Some(root) = &tree.root {
        if !ids.contains(root) {
            ids.push(root.clone());
        }
    }
    ids.into_iter()
        .map(|id| {
            let value = tree
                .lineage(&id)
                .iter()
                .find_map(|ou| targeted.and_then(|t| t.org_units.get(ou)).map(|(_, v)| v.clone()))
                .unwrap_or_else(|| default.clone());
            (tree.path(&id), value)
        })
        .collect()
}

fn merged(default: &Value, value: &Value) -> Value {
    let mut out = default.as_object().cloned().unwrap_or_default();
    if let Some(map) = value.as_object() {
        out.extend(map.clone());
    }
    Value::Object(out)
}

/// Google's spellings of one setting, made one (§8.2: both enum sets occur).
fn normalise(kind: &str, value: Value) -> Value {
    let mut value = value;
    let Some(map) = value.as_object_mut() else {
        return value;
    };
    match kind {
        "api_controls.unconfigured_third_party_apps" => {
            let level = match map.get("accessLevel").and_then(Value::as_str).unwrap_or("") {
                "BLOCK_ALL" | "BLOCK_ALL_SCOPES" => "BLOCK_ALL",
                "ALLOW_SIGN_IN_ONLY" | "ALLOW_SIGN_IN_SCOPES_ONLY" => "SIGN_IN_ONLY",
                _ => "ALLOW_ALL",
            };
            map.insert("accessLevel".into(), json!(level));
        }
        "drive_and_docs.general_access_default"
            if map.get("defaultFileAccess").and_then(Value::as_str) == Some("LINK_SHARING_PRIVATE") =>
        {
            map.insert("defaultFileAccess".into(), json!("PRIVATE_TO_OWNER"));
        }
        "api_controls.google_services" => {
            // An entry means that service is restricted, whatever its `isEnabled` (whose
            // meaning is not documented; ScubaGoggles goes by presence, §2.1.3); only
            // `*_HIGH_RISK` means untrusted apps still get its lower-risk scopes.
            let groups: Vec<String> = map
                .get("services")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|s| s["scopesGroup"].as_str().map(str::to_string))
                .collect();
            let service = |g: &str| g.trim_end_matches("_ALL").trim_end_matches("_HIGH_RISK").to_string();
            let mut restricted: Vec<String> = groups.iter().map(|g| service(g)).collect();
            restricted.sort();
            restricted.dedup();
            let high_risk_only: Vec<String> = restricted
                .iter()
                .filter(|s| !groups.contains(&format!("{s}_ALL")))
                .cloned()
                .collect();
            map.insert("restricted".into(), json!(restricted));
            map.insert("high_risk_only".into(), json!(high_risk_only));
        }
        _ => {}
    }
    value
}

fn service_setting(tree: &OrgTree, name: &str, targeted: Option<&Targeted>) -> AiSetting {
    // Google's default for the AI services named here is on for most editions; an unset
    // switch is reported as its default with `source: default`.
    let default =
        json!({"serviceState": if name == "enterprise_service_restrictions" { "DISABLED" } else { "ENABLED" }});
    let per_ou = effective(tree, targeted, &default);
    let state = |v: &Value| text(v, "serviceState").to_string();
    let root = per_ou.get("/").map(state).unwrap_or_else(|| state(&default));
    let on: Vec<String> = per_ou
        .iter()
        .filter(|(_, v)| state(v) == "ENABLED")
        .map(|(p, _)| p.clone())
        .collect();
    let groups_on: Vec<String> = targeted
        .map(|t| {
            t.groups
                .iter()
                .filter(|(_, (_, v))| state(v) == "ENABLED")
                .map(|(g, _)| g.clone())
                .collect()
        })
        .unwrap_or_default();
    let on_everywhere = !per_ou.is_empty() && on.len() == per_ou.len();
    let value = json!({
        "root": root, "on_everywhere": on_everywhere, "on_somewhere": !on.is_empty() || !groups_on.is_empty(),
        "org_units_on": on, "groups_on": groups_on, "set_by_admin": targeted.is_some_and(|t| t.set_by_admin),
    });
    let source = if targeted.is_some() {
        SettingSource::Explicit
    } else {
        SettingSource::Default
    };
    setting(&format!("{name}.service_status"), value, source, Evidence::Api, None)
}

fn value_setting(tree: &OrgTree, kind: &str, default: &Value, targeted: Option<&Targeted>) -> AiSetting {
    let per_ou: BTreeMap<String, Value> = effective(tree, targeted, &Value::Null)
        .into_iter()
        .map(|(path, v)| (path, normalise(kind, merged(default, &v))))
        .collect();
    let root = per_ou
        .get("/")
        .cloned()
        .unwrap_or_else(|| normalise(kind, default.clone()));
    let org_units: Vec<Value> = per_ou
        .iter()
        .filter(|(path, v)| path.as_str() != "/" && **v != root)
        .map(|(path, v)| {
            let mut entry = Map::new();
            entry.insert("org_unit".into(), json!(path));
            entry.extend(v.as_object().cloned().unwrap_or_default());
            Value::Object(entry)
        })
        .collect();
    let groups: Vec<Value> = targeted
        .map(|t| {
            t.groups
                .iter()
                .map(|(g, (_, v))| {
                    let mut entry = Map::new();
                    entry.insert("group".into(), json!(g));
                    entry.extend(
                        normalise(kind, merged(default, v))
                            .as_object()
                            .cloned()
                            .unwrap_or_default(),
                    );
                    Value::Object(entry)
                })
                .collect()
        })
        .unwrap_or_default();
    let source = if targeted.is_some() {
        SettingSource::Explicit
    } else {
        SettingSource::Default
    };
    setting(
        kind,
        json!({"root": root, "org_units": org_units, "groups": groups}),
        source,
        Evidence::Api,
        None,
    )
}

/// The AI-relevant Policy API settings; none when the policies or the org units were not
/// read (without the tree, inheritance is unknown: rules that need them are not assessed).
pub fn settings(parts: &Parts) -> Vec<AiSetting> {
    if !super::collected(parts, "policies") || !super::collected(parts, "orgunits") {
        return Vec::new();
    }
    let tree = org_tree(parts);
    let types = by_type(parts);
    let mut out: Vec<AiSetting> = SERVICES
        .iter()
        .map(|name| service_setting(&tree, name, types.get(&format!("{name}.service_status"))))
        .collect();
    for (kind, default) in value_settings() {
        out.push(value_setting(&tree, kind, &default, types.get(kind)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ResourcePart;

    fn parts(orgunits: Value, policies: Value) -> Parts {
        let mut p = Parts::new();
        for (name, records) in [
            ("orgunits", orgunits),
            ("policies", policies),
            ("groups", json!([{"id": "02g", "email": "ai-pilot@example.com"}])),
        ] {
            let resource = format!("google_workspace.{name}");
            p.insert(
                resource.clone(),
                ResourcePart::collected(&resource, records.as_array().unwrap().clone(), 1),
            );
        }
        p
    }

    fn find<'a>(s: &'a [AiSetting], key: &str) -> &'a AiSetting {
        s.iter().find(|x| x.key == format!("google_workspace.{key}")).unwrap()
    }

    #[test]
    fn org_units_inherit_and_the_higher_sort_order_wins() {
        let ous = json!([
            {"orgUnitId": "id:root", "orgUnitPath": "/", "name": "Example"},
            {"orgUnitId": "id:legal", "orgUnitPath": "/Legal", "parentOrgUnitId": "id:root"},
            {"orgUnitId": "id:eu", "orgUnitPath": "/Legal/EU", "parentOrgUnitId": "id:legal"},
            {"orgUnitId": "id:eng", "orgUnitPath": "/Engineering", "parentOrgUnitId": "id:root"},
        ]);
        let policies = json!([
            {"policyQuery": {"orgUnit": "orgUnits/root", "sortOrder": 101}, "type": "SYSTEM",
             "setting": {"type": "settings/gemini_app.service_status", "value": {"serviceState": "ENABLED"}}},
            {"policyQuery": {"orgUnit": "orgUnits/legal", "sortOrder": 201.5}, "type": "ADMIN",
             "setting": {"type": "settings/gemini_app.service_status", "value": {"serviceState": "DISABLED"}}},
            {"policyQuery": {"orgUnit": "orgUnits/legal", "sortOrder": 150}, "type": "ADMIN",
             "setting": {"type": "settings/gemini_app.service_status", "value": {"serviceState": "ENABLED"}}},
            {"policyQuery": {"orgUnit": "orgUnits/root", "group": "groups/02g", "sortOrder": 399}, "type": "ADMIN",
             "setting": {"type": "settings/early_access_apps.service_status", "value": {"serviceState": "ENABLED"}}},
            {"policyQuery": {"query": "entity.org_units.exists(orgUnit, orgUnit.org_unit_id == orgUnitId('eng'))", "sortOrder": 202}, "type": "ADMIN",
             "setting": {"type": "settings/api_controls.unconfigured_third_party_apps", "value": {"accessLevel": "ALLOW_SIGN_IN_SCOPES_ONLY", "createTime": "2026-01-01T00:00:00Z"}}},
            {"policyQuery": {"orgUnit": "orgUnits/root", "group": "WORKSPACE_ALL_ADMIN_GROUP", "sortOrder": 300}, "type": "ADMIN",
             "setting": {"type": "settings/drive_and_docs.drive_sdk", "value": {"enableDriveSdkApiAccess": false}}},
        ]);
        let s = settings(&parts(ous, policies));
        let gemini = &find(&s, "gemini_app.service_status").value;
        assert_eq!(gemini["root"], "ENABLED");
        assert_eq!(
            gemini["org_units_on"],
            json!(["/", "/Engineering"]),
            "Legal and its child are off"
        );
        assert_eq!(gemini["on_everywhere"], false);
        assert_eq!(gemini["set_by_admin"], true);
        let early = &find(&s, "early_access_apps.service_status");
        assert_eq!(early.value["groups_on"], json!(["ai-pilot@example.com"]));
        assert_eq!(early.value["on_somewhere"], true);
        let apps = &find(&s, "api_controls.unconfigured_third_party_apps").value;
        assert_eq!(apps["root"]["accessLevel"], "ALLOW_ALL", "unset: Google's open default");
        assert_eq!(
            apps["org_units"],
            json!([{"org_unit": "/Engineering", "accessLevel": "SIGN_IN_ONLY"}]),
            "read from the query, normalised, without its timestamp"
        );
        let sdk = &find(&s, "drive_and_docs.drive_sdk").value;
        assert_eq!(sdk["groups"][0]["group"], "WORKSPACE_ALL_ADMIN_GROUP");
        assert_eq!(sdk["root"]["enableDriveSdkApiAccess"], true);
        let notebook = find(&s, "notebooklm.service_status");
        assert_eq!(notebook.source, SettingSource::Default);
        assert_eq!(notebook.value["set_by_admin"], false);
    }

    #[test]
    fn api_controls_name_restricted_and_high_risk_only_services() {
        let ous = json!([{"orgUnitId": "id:root", "orgUnitPath": "/"}]);
        let policies = json!([{"policyQuery": {"orgUnit": "orgUnits/root", "sortOrder": 201}, "type": "ADMIN",
            "setting": {"type": "settings/api_controls.google_services", "value": {"services": [
                {"scopesGroup": "DRIVE_ALL", "isEnabled": true}, {"scopesGroup": "GMAIL_HIGH_RISK", "isEnabled": true}]}}}]);
        let s = settings(&parts(ous, policies));
        let v = &find(&s, "api_controls.google_services").value["root"];
        assert_eq!(v["restricted"], json!(["DRIVE", "GMAIL"]));
        assert_eq!(v["high_risk_only"], json!(["GMAIL"]));
    }

    #[test]
    fn no_settings_when_the_policies_were_not_read() {
        let mut p = parts(json!([]), json!([]));
        p.remove("google_workspace.policies");
        assert!(settings(&p).is_empty());
    }
}
