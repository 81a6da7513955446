//! Drift: what changed between two snapshots of one connection, resource by resource, and which
//! of those changes widen exposure. Pure functions over the normalized model; the jobs store the
//! result beside the snapshot and, after the next evaluation, name the findings each change
//! opened or resolved ([`attribute`]).

use schemas::{
    Agent, ChangeKind, FieldChange, Finding, FindingEvent, Inventory, PrincipalKind, Record, RecordKind, ResourceChange,
};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Fields that move with use rather than with configuration: a change in them alone is not
/// drift (an agent used yesterday is the same agent).
const VOLATILE: &[&str] = &["last_used"];

/// Principals whose gain of a right means an AI app or agent identity got a new permission.
fn is_ai_principal(p: &schemas::Principal) -> bool {
    p.attributes.get("ai").and_then(Value::as_bool).unwrap_or(false) || matches!(p.kind, PrincipalKind::AiIdentity)
}

/// The special audience principals that mean "anyone" of some sort, in words.
fn open_audience(id: &str) -> Option<&'static str> {
    match id {
        "anonymous" => Some("anonymous users"),
        "everyone" => Some("everyone"),
        "authenticated_users" => Some("every signed-in user"),
        _ => None,
    }
}

/// Compares the previous snapshot of a connection with the new one. Resources that did not
/// change produce nothing; the result is ordered by kind, then name.
pub fn diff(before: &Inventory, after: &Inventory) -> Vec<ResourceChange> {
    let old: BTreeMap<(RecordKind, String), Record> = before
        .records()
        .into_iter()
        .map(|r| ((r.kind, r.key.clone()), r))
        .collect();
    let new: BTreeMap<(RecordKind, String), Record> = after
        .records()
        .into_iter()
        .map(|r| ((r.kind, r.key.clone()), r))
        .collect();
    let context = Context::new(after);
    let mut changes = Vec::new();
    for (key, record) in &new {
        match old.get(key) {
            None => changes.push(context.change(record, ChangeKind::Added, Vec::new(), None)),
            Some(previous) => {
                let mut fields = Vec::new();
                field_changes("", &previous.body, &record.body, &mut fields);
                if !fields.is_empty() {
                    changes.push(context.change(record, ChangeKind::Changed, fields, Some(previous)));
                }
            }
        }
    }
    let before_context = Context::new(before);
    for (key, record) in &old {
        if !new.contains_key(key) {
            let mut change = before_context.change(record, ChangeKind::Removed, Vec::new(), None);
            change.risks.clear(); // a removal narrows; its resolved findings speak for it
            change.risk = false;
            changes.push(change);
        }
    }
    changes.sort_by(|a, b| {
        (
            a.resource_kind.as_str(),
            a.resource_name.as_str(),
            a.resource_id.as_str(),
        )
            .cmp(&(
                b.resource_kind.as_str(),
                b.resource_name.as_str(),
                b.resource_id.as_str(),
            ))
    });
    changes
}

/// Objects are compared key by key (paths joined with '.'); anything else, lists included, as a
/// whole value, so a list's change reads as its old and new members.
fn field_changes(path: &str, old: &Value, new: &Value, out: &mut Vec<FieldChange>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                if path.is_empty() && VOLATILE.contains(&key.as_str()) {
                    continue;
                }
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                field_changes(
                    &child,
                    a.get(key).unwrap_or(&Value::Null),
                    b.get(key).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        _ if old != new => out.push(FieldChange {
            path: path.to_string(),
            old: old.clone(),
            new: new.clone(),
        }),
        _ => {}
    }
}

/// Members of a string list in `new` that `old` lacks.
fn gained(old: &Value, new: &Value) -> Vec<String> {
    let had: BTreeSet<&str> = old
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    new.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .filter(|s| !had.contains(s))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// What one snapshot says about who uses what, for naming and for risk.
struct Context<'a> {
    inventory: &'a Inventory,
    names: BTreeMap<&'a str, &'a str>,
}

impl<'a> Context<'a> {
    fn new(inventory: &'a Inventory) -> Context<'a> {
        let mut names = BTreeMap::new();
        for p in &inventory.principals {
            names.insert(p.id.as_str(), p.name.as_str());
        }
        for a in &inventory.agents {
            names.insert(a.id.as_str(), a.name.as_str());
        }
        for t in &inventory.tools {
            names.insert(t.id.as_str(), t.name.as_str());
        }
        for d in &inventory.data_stores {
            names.insert(d.id.as_str(), d.name.as_str());
        }
        Context { inventory, names }
    }

    fn name<'b>(&'b self, id: &'b str) -> &'b str {
        open_audience(id).unwrap_or_else(|| self.names.get(id).copied().unwrap_or(id))
    }

    fn names(&self, ids: &[String]) -> String {
        ids.iter().map(|id| self.name(id)).collect::<Vec<_>>().join(", ")
    }

    fn agents_where(&self, test: impl Fn(&Agent) -> bool) -> Vec<&'a Agent> {
        self.inventory.agents.iter().filter(|a| test(a)).collect()
    }

    fn change(
        &self,
        record: &Record,
        change: ChangeKind,
        fields: Vec<FieldChange>,
        previous: Option<&Record>,
    ) -> ResourceChange {
        let empty = Value::Object(Default::default());
        let old = previous.map(|p| &p.body).unwrap_or(&empty);
        let (name, related, risks) = match record.kind {
            RecordKind::Agent => self.agent(record, old, change),
            RecordKind::Principal => self.principal(record, old),
            RecordKind::Tool => self.tool(record, old, change),
            RecordKind::DataStore => self.data_store(record),
            RecordKind::Grant => self.grant(record, old, change),
            RecordKind::Setting => (record.name.clone(), vec![self.inventory.connection_id.clone()], vec![]),
            RecordKind::UntrustedInput => self.input(record, old),
            RecordKind::Team => self.team(record),
        };
        ResourceChange {
            resource_kind: record.kind.as_str().to_string(),
            resource_id: record.key.clone(),
            resource_name: name,
            change,
            fields,
            risk: !risks.is_empty(),
            risks,
            related,
            findings_opened: Vec::new(),
            findings_resolved: Vec::new(),
        }
    }

    fn agent(&self, record: &Record, old: &Value, change: ChangeKind) -> (String, Vec<String>, Vec<String>) {
        let new = &record.body;
        let mut risks = Vec::new();
        let added_audience = gained(&old["audience"], &new["audience"]);
        let open: Vec<&str> = added_audience.iter().filter_map(|id| open_audience(id)).collect();
        if !open.is_empty() {
            risks.push(format!("now open to {}", open.join(" and ")));
        } else if change == ChangeKind::Changed && !added_audience.is_empty() {
            risks.push(format!("audience widened to {}", self.names(&added_audience)));
        }
        if change == ChangeKind::Changed {
            let channels = gained(&old["channels"], &new["channels"]);
            if !channels.is_empty() {
                risks.push(format!("now reachable on {}", channels.join(", ")));
            }
            if new["run_as"] != old["run_as"] || new["identity"] != old["identity"] {
                match new["run_as"].as_str() {
                    Some(run_as) if new["identity"] == "fixed" => {
                        risks.push(format!("now runs as {}", self.name(run_as)));
                    }
                    _ if new["identity"] == "unknown" => risks.push("its run-as identity is no longer known".into()),
                    _ => {}
                }
            }
            if !old["role_mask"].is_null() && new["role_mask"].is_null() {
                risks.push("its role mask was removed".into());
            } else {
                let widened = gained(&old["role_mask"], &new["role_mask"]);
                if !widened.is_empty() {
                    risks.push(format!("its role mask now also grants {}", widened.join(", ")));
                }
            }
            let tool_ids = |v: &Value| -> Value {
                Value::Array(
                    v.as_array()
                        .map(|a| a.iter().map(|b| b["tool_id"].clone()).collect())
                        .unwrap_or_default(),
                )
            };
            let tools = gained(&tool_ids(&old["tools"]), &tool_ids(&new["tools"]));
            if !tools.is_empty() {
                risks.push(format!("new tools: {}", self.names(&tools)));
            }
            let knowledge = gained(&old["knowledge"], &new["knowledge"]);
            if !knowledge.is_empty() {
                risks.push(format!("now grounds on {}", self.names(&knowledge)));
            }
            if old["autonomy"] == "supervised" && new["autonomy"] == "autonomous" {
                risks.push("now acts without approval".into());
            }
            if old["active"] == false && new["active"] == true {
                risks.push("switched on".into());
            }
        }
        (record.name.clone(), vec![record.key.clone()], risks)
    }

    fn principal(&self, record: &Record, old: &Value) -> (String, Vec<String>, Vec<String>) {
        let id = record.key.as_str();
        let runs_as: Vec<&Agent> = self.agents_where(|a| a.run_as.as_deref() == Some(id));
        let invokes: Vec<&Agent> = self.agents_where(|a| a.audience.iter().any(|m| m == id));
        let mut related = vec![record.key.clone()];
        related.extend(runs_as.iter().chain(&invokes).map(|a| a.id.clone()));
        let mut risks = Vec::new();
        let roles = gained(&old["roles"], &record.body["roles"]);
        let ai = self
            .inventory
            .principals
            .iter()
            .find(|p| p.id == id)
            .is_some_and(is_ai_principal);
        let now_privileged = old["privileged"] == false && record.body["privileged"] == true;
        if !roles.is_empty() || now_privileged {
            let what = if roles.is_empty() {
                "an elevated right".to_string()
            } else {
                roles.join(", ")
            };
            if !runs_as.is_empty() {
                let agents: Vec<&str> = runs_as.iter().map(|a| a.name.as_str()).collect();
                risks.push(format!("the run-as user of {} gained {what}", agents.join(", ")));
            }
            if ai {
                risks.push(format!("AI app gained {what}"));
            }
            if runs_as.is_empty() && !ai && now_privileged {
                risks.push("now privileged".into());
            }
        }
        (record.name.clone(), related, risks)
    }

    fn tool(&self, record: &Record, old: &Value, change: ChangeKind) -> (String, Vec<String>, Vec<String>) {
        let id = record.key.as_str();
        let users: Vec<&Agent> = self.agents_where(|a| a.tools.iter().any(|b| b.tool_id == id));
        let mut related = vec![record.key.clone()];
        related.extend(users.iter().map(|a| a.id.clone()));
        let mut risks = Vec::new();
        if change == ChangeKind::Changed && !users.is_empty() {
            let capabilities = gained(&old["capabilities"], &record.body["capabilities"]);
            let targets = gained(&old["targets"], &record.body["targets"]);
            let agents: Vec<&str> = users.iter().map(|a| a.name.as_str()).collect();
            if !capabilities.is_empty() {
                risks.push(format!(
                    "a tool of {} can now {}",
                    agents.join(", "),
                    capabilities.join(", ").replace('_', " ")
                ));
            }
            if !targets.is_empty() {
                risks.push(format!(
                    "a tool of {} now reaches {}",
                    agents.join(", "),
                    self.names(&targets)
                ));
            }
        }
        (record.name.clone(), related, risks)
    }

    fn data_store(&self, record: &Record) -> (String, Vec<String>, Vec<String>) {
        let id = record.key.as_str();
        let mut related = vec![record.key.clone()];
        let tools: Vec<&str> = self
            .inventory
            .tools
            .iter()
            .filter(|t| t.targets.iter().any(|x| x == id))
            .map(|t| t.id.as_str())
            .collect();
        related.extend(tools.iter().map(|t| t.to_string()));
        related.extend(
            self.agents_where(|a| {
                a.knowledge.iter().any(|k| k == id) || a.tools.iter().any(|b| tools.contains(&b.tool_id.as_str()))
            })
            .iter()
            .map(|a| a.id.clone()),
        );
        (record.name.clone(), related, Vec::new())
    }

    fn grant(&self, record: &Record, old: &Value, change: ChangeKind) -> (String, Vec<String>, Vec<String>) {
        let holder = record.body["holder"].as_str().unwrap_or_default();
        let target = record.body["target"].as_str().unwrap_or_default();
        let permission = record.body["permission"].as_str().unwrap_or_default();
        let name = format!("{} on {} for {}", permission, self.name(target), self.name(holder));
        let ai = self
            .inventory
            .principals
            .iter()
            .find(|p| p.id == holder)
            .is_some_and(is_ai_principal);
        let rank = |v: &Value| match v.as_str() {
            Some("admin") => 3,
            Some("write") => 2,
            Some("read") => 1,
            _ => 0,
        };
        let mut risks = Vec::new();
        let widened = change == ChangeKind::Added || rank(&record.body["level"]) > rank(&old["level"]);
        if ai && widened {
            risks.push(format!(
                "AI app {} gained {permission} on {}",
                self.name(holder),
                self.name(target)
            ));
        }
        (name, vec![holder.to_string(), target.to_string()], risks)
    }

    fn input(&self, record: &Record, old: &Value) -> (String, Vec<String>, Vec<String>) {
        let mut related = vec![record.key.clone()];
        let reaches = gained(&old["reaches"], &record.body["reaches"]);
        related.extend(
            record.body["reaches"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string),
        );
        let mut risks = Vec::new();
        if !reaches.is_empty() {
            risks.push(format!("{} can now reach {}", record.name, self.names(&reaches)));
        }
        if old["unauthenticated"] == false && record.body["unauthenticated"] == true {
            risks.push(format!("{} no longer needs a sign-in", record.name));
        }
        (record.name.clone(), related, risks)
    }

    fn team(&self, record: &Record) -> (String, Vec<String>, Vec<String>) {
        let id = record.key.as_str();
        let mut related = vec![record.key.clone()];
        related.extend(
            self.agents_where(|a| a.teams.iter().any(|t| t == id))
                .iter()
                .map(|a| a.id.clone()),
        );
        related.extend(
            record.body["orchestrators"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string),
        );
        (record.name.clone(), related, Vec::new())
    }
}

/// A finding's change of state in one evaluation, from the stored findings before it and the
/// reconciled set it stores.
pub fn finding_events<'a>(previous: &[Finding], merged: &'a [Finding]) -> Vec<(FindingEvent, &'a Finding)> {
    use schemas::FindingStatus::{Open, Resolved};
    let before: BTreeMap<&str, schemas::FindingStatus> =
        previous.iter().map(|f| (f.fingerprint.as_str(), f.status)).collect();
    merged
        .iter()
        .filter_map(|f| match (before.get(f.fingerprint.as_str()), f.status) {
            (None, Open) => Some((FindingEvent::Opened, f)),
            (Some(Resolved), Open) => Some((FindingEvent::Reopened, f)),
            (Some(Open), Resolved) => Some((FindingEvent::Resolved, f)),
            _ => None,
        })
        .collect()
}

/// True when `value` holds `wanted` as a string anywhere inside.
fn mentions(value: &Value, wanted: &BTreeSet<&str>) -> bool {
    match value {
        Value::String(s) => wanted.contains(s.as_str()),
        Value::Array(items) => items.iter().any(|v| mentions(v, wanted)),
        Value::Object(map) => map.values().any(|v| mentions(v, wanted)),
        _ => false,
    }
}

/// Whether a finding is about one of the change's related resources: the finding's resource,
/// a node of its exposure path, or a value of its evidence, on the change's connection.
fn concerns(change: &ResourceChange, connection_id: &str, finding: &Finding) -> bool {
    if !finding.resource.connection_id.split('+').any(|c| c == connection_id) {
        return false;
    }
    let related: BTreeSet<&str> = change.related.iter().map(String::as_str).collect();
    related.contains(finding.resource.id.as_str())
        || finding
            .path
            .as_ref()
            .is_some_and(|p| p.nodes.iter().any(|n| related.contains(n.id.as_str())))
        || mentions(&finding.evidence, &related)
}

/// Names the findings an evaluation opened (or reopened) and resolved that concern `change`,
/// and marks the change a risk change when it flipped any.
pub fn attribute(change: &mut ResourceChange, connection_id: &str, events: &[(FindingEvent, &Finding)]) {
    for (event, finding) in events {
        if !concerns(change, connection_id, finding) {
            continue;
        }
        let list = match event {
            FindingEvent::Opened | FindingEvent::Reopened => &mut change.findings_opened,
            FindingEvent::Resolved => &mut change.findings_resolved,
        };
        if !list.contains(&finding.fingerprint) {
            list.push(finding.fingerprint.clone());
        }
    }
    if !change.findings_opened.is_empty() || !change.findings_resolved.is_empty() {
        change.risk = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use schemas::*;

    fn principal(id: &str, kind: PrincipalKind, roles: &[&str], ai: bool) -> Principal {
        let mut attributes = Attributes::new();
        if ai {
            attributes.insert("ai".into(), Value::Bool(true));
        }
        Principal {
            id: id.into(),
            kind,
            name: id.to_uppercase(),
            privileged: false,
            roles: roles.iter().map(|r| r.to_string()).collect(),
            attributes,
        }
    }

    fn agent(id: &str, run_as: Option<&str>, audience: &[&str]) -> Agent {
        Agent {
            id: id.into(),
            kind: "now_assist_agent".into(),
            name: format!("Agent {id}"),
            owner: None,
            identity: if run_as.is_some() {
                RunIdentity::Fixed
            } else {
                RunIdentity::Invoker
            },
            run_as: run_as.map(str::to_string),
            role_mask: None,
            audience: audience.iter().map(|a| a.to_string()).collect(),
            audience_unknown: false,
            channels: vec![],
            autonomy: Autonomy::Supervised,
            tools: vec![],
            knowledge: vec![],
            teams: vec![],
            active: true,
            last_used: Some("2026-11-01".into()),
            attributes: Attributes::new(),
        }
    }

    fn inventory() -> Inventory {
        Inventory {
            provider: "servicenow".into(),
            connection_id: "c1".into(),
            collected_at: "t1".into(),
            principals: vec![
                principal("svc", PrincipalKind::User, &["itil"], false),
                principal("bot-app", PrincipalKind::App, &[], true),
            ],
            agents: vec![agent("a1", Some("svc"), &["itil-group"])],
            ..Default::default()
        }
    }

    fn finding(print: &str, resource: &str) -> Finding {
        Finding {
            fingerprint: print.into(),
            rule_id: "R".into(),
            title: "t".into(),
            severity: Severity::High,
            status: FindingStatus::Open,
            resource: FindingResource {
                id: resource.into(),
                kind: "agent".into(),
                name: resource.into(),
                provider: "servicenow".into(),
                connection_id: "c1".into(),
            },
            message: "m".into(),
            evidence: Value::Null,
            path: None,
            remediation: "r".into(),
            frameworks: Default::default(),
            first_seen: "t".into(),
            last_seen: "t".into(),
        }
    }

    #[test]
    fn identical_snapshots_and_use_alone_are_no_drift() {
        let before = inventory();
        let mut after = inventory();
        after.collected_at = "t2".into();
        after.agents[0].last_used = Some("2026-11-30".into());
        assert!(diff(&before, &after).is_empty());
    }

    #[test]
    fn an_agent_made_public_is_a_risk_change_with_the_field_path() {
        let before = inventory();
        let mut after = inventory();
        after.agents[0].audience.push("anonymous".into());
        let changes = diff(&before, &after);
        assert_eq!(changes.len(), 1);
        let c = &changes[0];
        assert_eq!((c.resource_kind.as_str(), c.change), ("agent", ChangeKind::Changed));
        assert_eq!(c.fields.len(), 1);
        assert_eq!(c.fields[0].path, "audience");
        assert_eq!(c.fields[0].old, serde_json::json!(["itil-group"]));
        assert_eq!(c.fields[0].new, serde_json::json!(["itil-group", "anonymous"]));
        assert!(c.risk);
        assert_eq!(c.risks, vec!["now open to anonymous users".to_string()]);
    }

    #[test]
    fn a_new_run_as_user_and_its_roles_are_risk_changes() {
        let before = inventory();
        let mut after = inventory();
        after
            .principals
            .push(principal("admin", PrincipalKind::User, &["admin"], false));
        after.agents[0].run_as = Some("admin".into());
        let changes = diff(&before, &after);
        let agent = changes.iter().find(|c| c.resource_kind == "agent").unwrap();
        assert_eq!(agent.risks, vec!["now runs as ADMIN".to_string()]);
        let added = changes.iter().find(|c| c.resource_kind == "principal").unwrap();
        assert_eq!(added.change, ChangeKind::Added);

        let mut widened = inventory();
        widened.principals[0].roles.push("security_admin".into());
        let changes = diff(&before, &widened);
        assert_eq!(changes.len(), 1);
        assert_eq!(
            changes[0].risks,
            vec!["the run-as user of Agent a1 gained security_admin".to_string()]
        );
        assert!(
            changes[0].related.contains(&"a1".to_string()),
            "findings on the agent concern it"
        );
    }

    #[test]
    fn a_permission_added_to_an_ai_app_is_a_risk_change() {
        let before = inventory();
        let mut after = inventory();
        after.grants.push(Grant {
            holder: "bot-app".into(),
            target: "graph".into(),
            permission: "Sites.ReadWrite.All".into(),
            level: Level::Write,
            scope: "tenant".into(),
            consent: None,
        });
        after.principals[1].roles.push("Sites.ReadWrite.All".into());
        let changes = diff(&before, &after);
        let grant = changes.iter().find(|c| c.resource_kind == "grant").unwrap();
        assert_eq!(grant.change, ChangeKind::Added);
        assert_eq!(
            grant.risks,
            vec!["AI app BOT-APP gained Sites.ReadWrite.All on graph".to_string()]
        );
        let app = changes.iter().find(|c| c.resource_kind == "principal").unwrap();
        assert_eq!(app.risks, vec!["AI app gained Sites.ReadWrite.All".to_string()]);
        // The same grant on a person is drift, not a risk of its own.
        let mut person = inventory();
        person.grants.push(Grant {
            holder: "svc".into(),
            ..after.grants[0].clone()
        });
        let changes = diff(&before, &person);
        assert!(!changes[0].risk);
    }

    #[test]
    fn a_removal_is_recorded_but_not_a_risk_of_its_own() {
        let before = inventory();
        let mut after = inventory();
        after.agents.clear();
        let changes = diff(&before, &after);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].change, ChangeKind::Removed);
        assert!(!changes[0].risk);
    }

    #[test]
    fn events_follow_the_lifecycle_and_attribution_names_the_flipped_findings() {
        let mut resolved = finding("old", "a1");
        resolved.status = FindingStatus::Resolved;
        let previous = vec![finding("kept", "a1"), resolved.clone(), finding("gone", "a1")];
        let mut gone = finding("gone", "a1");
        gone.status = FindingStatus::Resolved;
        let merged = vec![
            finding("kept", "a1"),
            finding("old", "a1"),
            gone,
            finding("new", "a1"),
            finding("elsewhere", "a9"),
        ];
        let events = finding_events(&previous, &merged);
        let kinds: Vec<(FindingEvent, &str)> = events.iter().map(|(e, f)| (*e, f.fingerprint.as_str())).collect();
        assert_eq!(
            kinds,
            vec![
                (FindingEvent::Reopened, "old"),
                (FindingEvent::Resolved, "gone"),
                (FindingEvent::Opened, "new"),
                (FindingEvent::Opened, "elsewhere"),
            ]
        );
        let before = inventory();
        let mut after = inventory();
        after.agents[0].channels.push("web".into());
        let mut change = diff(&before, &after).remove(0);
        attribute(&mut change, "c1", &events);
        assert_eq!(change.findings_opened, vec!["old".to_string(), "new".to_string()]);
        assert_eq!(change.findings_resolved, vec!["gone".to_string()]);
        // Another connection's findings are not this change's doing.
        let mut other = diff(&before, &after).remove(0);
        attribute(&mut other, "c2", &events);
        assert!(other.findings_opened.is_empty());
    }
}
