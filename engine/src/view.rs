//! What a rule sees: each resource as a JSON object enriched with what it connects to (an
//! agent's run-as principal, its tools with their capabilities, its teammates), converted once
//! into a CEL value. Vendor-neutral: everything here comes from the normalized model.

use schemas::*;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};

/// Lookups over one inventory.
pub struct Index<'a> {
    pub inventory: &'a Inventory,
    pub principals: HashMap<&'a str, &'a Principal>,
    pub tools: HashMap<&'a str, &'a Tool>,
    pub agents: HashMap<&'a str, &'a Agent>,
    /// team id -> member agent ids
    pub teams: BTreeMap<&'a str, Vec<&'a str>>,
    /// agent id -> untrusted inputs that reach it
    pub inputs_by_agent: HashMap<&'a str, Vec<&'a UntrustedInput>>,
    /// principal id -> agents that run as it
    pub run_as_of: HashMap<&'a str, Vec<&'a str>>,
    /// tool id -> agents that use it
    pub used_by: HashMap<&'a str, Vec<&'a str>>,
}

impl<'a> Index<'a> {
    pub fn new(inventory: &'a Inventory) -> Self {
        let mut teams: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        let mut run_as_of: HashMap<&str, Vec<&str>> = HashMap::new();
        let mut used_by: HashMap<&str, Vec<&str>> = HashMap::new();
        for a in &inventory.agents {
            for t in &a.teams {
                teams.entry(t).or_default().push(&a.id);
            }
            if let Some(p) = &a.run_as {
                run_as_of.entry(p).or_default().push(&a.id);
            }
            for b in &a.tools {
                used_by.entry(&b.tool_id).or_default().push(&a.id);
            }
        }
        let mut inputs_by_agent: HashMap<&str, Vec<&UntrustedInput>> = HashMap::new();
        for input in &inventory.untrusted_inputs {
            for a in &input.reaches {
                inputs_by_agent.entry(a).or_default().push(input);
            }
        }
        Index {
            inventory,
            principals: inventory.principals.iter().map(|p| (p.id.as_str(), p)).collect(),
            tools: inventory.tools.iter().map(|t| (t.id.as_str(), t)).collect(),
            agents: inventory.agents.iter().map(|a| (a.id.as_str(), a)).collect(),
            teams,
            inputs_by_agent,
            run_as_of,
            used_by,
        }
    }

    /// Whether a binding can change things: `None` when the tool's capabilities are unknown.
    fn tool_writes(&self, binding: &ToolBinding) -> Option<bool> {
        if !binding.active {
            return Some(false);
        }
        let tool = self.tools.get(binding.tool_id.as_str())?;
        let writes = tool.capabilities.iter().any(|c| {
            matches!(
                c,
                Capability::Write | Capability::ExecuteCode | Capability::SendExternal
            )
        });
        if !writes && tool.capabilities_unknown.is_some() {
            return None;
        }
        Some(writes)
    }

    /// Any of the bindings writes: true if one surely does, unknown (`None`) if none surely
    /// does but one might.
    fn any_writes<'b>(&self, bindings: impl Iterator<Item = &'b ToolBinding>) -> Option<bool> {
        let mut unknown = false;
        for b in bindings {
            match self.tool_writes(b) {
                Some(true) => return Some(true),
                None => unknown = true,
                Some(false) => {}
            }
        }
        (!unknown).then_some(false)
    }

    fn has_write_tools(&self, agent: &Agent) -> Option<bool> {
        self.any_writes(agent.tools.iter())
    }

    fn autonomous_write_tools(&self, agent: &Agent) -> Option<bool> {
        self.any_writes(agent.tools.iter().filter(|b| b.autonomy == Autonomy::Autonomous))
    }

    /// Any teammate has (autonomous) write tools, with the same three-valued reading.
    fn team_writes(&self, mates: &[&Agent], autonomous: bool) -> Option<bool> {
        let mut unknown = false;
        for m in mates {
            let w = if autonomous {
                self.autonomous_write_tools(m)
            } else {
                self.has_write_tools(m)
            };
            match w {
                Some(true) => return Some(true),
                None => unknown = true,
                Some(false) => {}
            }
        }
        (!unknown).then_some(false)
    }

    /// Agents that share a team with `agent`, as a member or as the team's orchestrator.
    fn teammates(&self, agent: &Agent) -> Vec<&'a Agent> {
        let mut out: Vec<&Agent> = Vec::new();
        let orchestrated = self
            .inventory
            .teams
            .iter()
            .filter(|t| t.orchestrators.contains(&agent.id))
            .map(|t| &t.id);
        for team in agent.teams.iter().chain(orchestrated) {
            for member in self.teams.get(team.as_str()).into_iter().flatten() {
                if *member != agent.id && !out.iter().any(|a| a.id == *member) {
                    if let Some(a) = self.agents.get(member) {
                        out.push(a);
                    }
                }
            }
        }
        out
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("model types serialize")
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Whole days between an RFC 3339 or `YYYY-MM-DD HH:MM:SS` (UTC) time and `now`.
pub fn days_between(then: &str, now: &chrono::DateTime<chrono::Utc>) -> Option<i64> {
    let parsed = chrono::DateTime::parse_from_rfc3339(then)
        .map(|d| d.with_timezone(&chrono::Utc))
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(then, "%Y-%m-%d %H:%M:%S").map(|n| n.and_utc()))
        .ok()?;
    Some((*now - parsed).num_days())
}

pub fn principal_view(ix: &Index, p: &Principal) -> Value {
    let mut v = object(to_json(p));
    let runs: Vec<&str> = ix.run_as_of.get(p.id.as_str()).cloned().unwrap_or_default();
    v.insert("runs_agents".into(), json!(runs));
    Value::Object(v)
}

fn tool_entry(ix: &Index, b: &ToolBinding) -> Value {
    let mut v = match ix.tools.get(b.tool_id.as_str()) {
        Some(t) => object(to_json(t)),
        None => object(
            json!({"id": b.tool_id, "capabilities": [], "attributes": {}, "unknown": true,
            "capabilities_unknown": "the tool is not in the inventory"}),
        ),
    };
    v.insert("autonomy".into(), to_json(&b.autonomy));
    v.insert("binding_active".into(), json!(b.active));
    v.insert("writes".into(), json!(ix.tool_writes(b)));
    // Binding attributes (e.g. the per-agent execution budget) sit beside the tool's own.
    let mut attributes = v.get("attributes").cloned().map(object).unwrap_or_default();
    for (k, val) in &b.attributes {
        attributes.insert(k.clone(), val.clone());
    }
    v.insert("attributes".into(), Value::Object(attributes));
    Value::Object(v)
}

fn agent_summary(ix: &Index, a: &Agent) -> Value {
    json!({
        "id": a.id,
        "name": a.name,
        "kind": a.kind,
        "identity": a.identity,
        "autonomy": a.autonomy,
        "active": a.active,
        "has_write_tools": ix.has_write_tools(a),
        "autonomous_write_tools": ix.autonomous_write_tools(a),
        "attributes": a.attributes,
    })
}

pub fn agent_view(ix: &Index, a: &Agent, now: &chrono::DateTime<chrono::Utc>) -> Value {
    let mut v = object(to_json(a));
    let run_as = a
        .run_as
        .as_deref()
        .and_then(|id| ix.principals.get(id))
        .map(|p| principal_view(ix, p))
        .unwrap_or(Value::Null);
    v.insert("run_as_principal".into(), run_as);
    let audience_kinds: Vec<Value> = a
        .audience
        .iter()
        .filter_map(|id| ix.principals.get(id.as_str()))
        .map(|p| to_json(&p.kind))
        .collect();
    let broad = audience_kinds.iter().any(|k| {
        matches!(
            k.as_str(),
            Some("anonymous" | "everyone" | "authenticated_users" | "guest")
        )
    });
    let public = audience_kinds
        .iter()
        .any(|k| matches!(k.as_str(), Some("anonymous" | "everyone" | "guest")));
    v.insert("audience_kinds".into(), Value::Array(audience_kinds));
    // Unknown audience: null, so a rule that depends on it cannot evaluate (not_assessed)
    // instead of passing.
    let known = |b: bool| if a.audience_unknown { Value::Null } else { json!(b) };
    v.insert("broad_audience".into(), known(broad));
    v.insert("public".into(), known(public));
    v.insert(
        "tools".into(),
        Value::Array(a.tools.iter().map(|b| tool_entry(ix, b)).collect()),
    );
    v.insert("has_write_tools".into(), json!(ix.has_write_tools(a)));
    v.insert("autonomous_write_tools".into(), json!(ix.autonomous_write_tools(a)));
    let mates = ix.teammates(a);
    v.insert("team_write_tools".into(), json!(ix.team_writes(&mates, false)));
    v.insert(
        "team_autonomous_write_tools".into(),
        json!(ix.team_writes(&mates, true)),
    );
    v.insert(
        "teammates".into(),
        Value::Array(mates.iter().map(|m| agent_summary(ix, m)).collect()),
    );
    let inputs: Vec<Value> = ix
        .inputs_by_agent
        .get(a.id.as_str())
        .into_iter()
        .flatten()
        .map(|i| json!({"id": i.id, "kind": i.kind, "name": i.name, "unauthenticated": i.unauthenticated}))
        .collect();
    v.insert("inputs".into(), Value::Array(inputs));
    let days = a.last_used.as_deref().and_then(|t| days_between(t, now));
    v.insert("days_since_used".into(), json!(days));
    Value::Object(v)
}

pub fn tool_view(ix: &Index, t: &Tool) -> Value {
    let mut v = object(to_json(t));
    let users: Vec<&str> = ix.used_by.get(t.id.as_str()).cloned().unwrap_or_default();
    v.insert("used_by".into(), json!(users));
    Value::Object(v)
}

pub fn input_view(ix: &Index, i: &UntrustedInput) -> Value {
    let mut v = object(to_json(i));
    let reached: Vec<Value> = i
        .reaches
        .iter()
        .filter_map(|id| ix.agents.get(id.as_str()))
        .map(|a| {
            let mut s = object(agent_summary(ix, a));
            let mates = ix.teammates(a);
            s.insert("team_write_tools".into(), json!(ix.team_writes(&mates, false)));
            s.insert(
                "team_autonomous_write_tools".into(),
                json!(ix.team_writes(&mates, true)),
            );
            Value::Object(s)
        })
        .collect();
    v.insert("reaches_agents".into(), Value::Array(reached));
    Value::Object(v)
}

/// The connection-wide view: effective settings by key.
pub fn tenant_view(inv: &Inventory) -> Value {
    let settings: Map<String, Value> = inv.settings.iter().map(|s| (s.key.clone(), s.value.clone())).collect();
    let sources: Map<String, Value> = inv
        .settings
        .iter()
        .map(|s| (s.key.clone(), to_json(&s.source)))
        .collect();
    // How each value is known, for rules that must not pass on an inference or an absence.
    let evidence: Map<String, Value> = inv
        .settings
        .iter()
        .map(|s| {
            (
                s.key.clone(),
                json!({"evidence": to_json(&s.evidence), "as_of": s.as_of}),
            )
        })
        .collect();
    json!({
        "id": inv.connection_id,
        "name": format!("{} connection {}", inv.provider, inv.connection_id),
        "provider": inv.provider,
        "settings": settings,
        "setting_sources": sources,
        "setting_evidence": evidence,
    })
}

/// JSON to CEL. Integers become `int` whatever their sign so rules can compare with literals.
pub fn to_cel(value: &Value) -> cel::Value {
    match value {
        Value::Null => cel::Value::Null,
        Value::Bool(b) => cel::Value::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => cel::Value::Int(i),
            None => cel::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => cel::Value::String(std::sync::Arc::new(s.clone())),
        Value::Array(items) => cel::Value::List(std::sync::Arc::new(items.iter().map(to_cel).collect())),
        Value::Object(map) => {
            let m: HashMap<String, cel::Value> = map.iter().map(|(k, v)| (k.clone(), to_cel(v))).collect();
            m.into()
        }
    }
}
