//! Runs the rules: resource rules over each inventory's resources, path rules over the
//! tenant's access graph. Every (rule, resource) gets fail, pass or not_assessed; a needed
//! resource that was not collected is never read as a pass.

use crate::graph::AccessGraph;
use crate::rules::{NodePredicate, Rule, RuleSet};
use crate::view::{self, Index};
use cel::{Context, ExecutionError, Program};
use schemas::*;
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Fail,
    Pass,
    NotAssessed,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleResult {
    pub rule_id: String,
    pub connection_id: String,
    pub resource_id: String,
    pub resource_kind: String,
    pub outcome: Outcome,
    pub reason: Option<String>,
}

#[derive(Debug, Default, Serialize)]
pub struct Evaluation {
    pub results: Vec<RuleResult>,
    /// Failed results as findings (status open, first/last seen = the evaluation time).
    pub findings: Vec<Finding>,
}

impl Evaluation {
    pub fn count(&self, outcome: Outcome) -> usize {
        self.results.iter().filter(|r| r.outcome == outcome).count()
    }

    /// (rule id, connection id) pairs that could not be assessed at all, so earlier findings of
    /// theirs must not be resolved on this evidence.
    pub fn unassessed(&self) -> BTreeSet<(String, String)> {
        self.results
            .iter()
            .filter(|r| r.outcome == Outcome::NotAssessed)
            .map(|r| (r.rule_id.clone(), r.connection_id.clone()))
            .collect()
    }
}

/// A stable fingerprint: rule id + connection + resource id (or path signature). The
/// connection is part of it: the same agent id on two instances is two findings.
pub fn fingerprint(rule_id: &str, connection_id: &str, resource_id: &str) -> String {
    let digest = Sha256::digest(format!("{rule_id}\u{1f}{connection_id}\u{1f}{resource_id}").as_bytes());
    hex::encode(&digest[..16])
}

/// The root CEL context: the standard library plus aispm's helpers. Built once per evaluation.
pub fn root_context() -> Context<'static, 'static> {
    let mut ctx = Context::default();
    ctx.add_function("version_between", version_between)
        .expect("version_between is not a standard function");
    ctx.add_function("unknown", unknown)
        .expect("unknown is not a standard function");
    ctx
}

/// `version_between(v, lo, hi)`: lo <= v <= hi comparing dotted numeric versions.
fn version_between(v: Arc<String>, lo: Arc<String>, hi: Arc<String>) -> Result<bool, ExecutionError> {
    let parse = |s: &str| -> Result<Vec<u64>, ExecutionError> {
        s.split('.')
            .map(|p| p.trim().parse::<u64>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| ExecutionError::function_error("version_between", format!("not a version: {s:?}")))
    };
    let (v, lo, hi) = (parse(&v)?, parse(&lo)?, parse(&hi)?);
    Ok(lo <= v && v <= hi)
}

/// `unknown(reason)`: the rule cannot decide from what was collected; the result becomes
/// not_assessed with this reason instead of a silent pass.
fn unknown(reason: Arc<String>) -> Result<bool, ExecutionError> {
    Err(ExecutionError::function_error("unknown", reason.as_str()))
}

fn run_bool(program: &Program, ctx: &Context) -> Result<bool, String> {
    match program.execute(ctx) {
        Ok(cel::Value::Bool(b)) => Ok(b),
        Ok(other) => Err(format!("condition gave {other:?}, not a boolean")),
        Err(e) => Err(format!("could not evaluate: {e}")),
    }
}

fn cel_to_json(value: &cel::Value) -> Value {
    match value {
        cel::Value::Null => Value::Null,
        cel::Value::Bool(b) => json!(b),
        cel::Value::Int(i) => json!(i),
        cel::Value::UInt(u) => json!(u),
        cel::Value::Float(f) => json!(f),
        cel::Value::String(s) => json!(s.as_str()),
        cel::Value::List(items) => Value::Array(items.iter().map(cel_to_json).collect()),
        cel::Value::Map(m) => Value::Object(
            m.map
                .iter()
                .map(|(k, v)| (format!("{k}").trim_matches('"').to_string(), cel_to_json(v)))
                .collect(),
        ),
        other => json!(format!("{other:?}")),
    }
}

fn evidence(rule: &Rule, ctx: &Context) -> Value {
    let mut out = serde_json::Map::new();
    for (name, program) in &rule.evidence {
        let value = match program.execute(ctx) {
            Ok(v) => cel_to_json(&v),
            Err(e) => json!(format!("<could not evaluate: {e}>")),
        };
        out.insert(name.clone(), value);
    }
    if let Some(when) = &rule.meta.when {
        out.insert("condition".into(), json!(when.trim()));
    }
    Value::Object(out)
}

fn finding(rule: &Rule, resource: FindingResource, evidence: Value, path: Option<ExposurePath>, now: &str) -> Finding {
    Finding {
        fingerprint: fingerprint(&rule.meta.id, &resource.connection_id, &resource.id),
        rule_id: rule.meta.id.clone(),
        title: rule.meta.title.clone(),
        severity: rule.meta.severity,
        status: FindingStatus::Open,
        message: format!("{}: {}", rule.meta.title, resource.name),
        resource,
        evidence,
        path,
        remediation: rule.meta.remediation.trim().to_string(),
        frameworks: rule.meta.frameworks.clone(),
        first_seen: now.to_string(),
        last_seen: now.to_string(),
    }
}

/// Why a rule cannot be assessed on this inventory, if it cannot.
fn missing_coverage(rule: &Rule, coverage: &HashMap<&str, &Coverage>) -> Option<String> {
    let gaps: Vec<String> = rule
        .meta
        .needs
        .iter()
        .filter_map(|need| match coverage.get(need.as_str()) {
            Some(c) if c.status == CoverageStatus::Collected => None,
            Some(c) => Some(format!(
                "{need} was not collected ({:?}{})",
                c.status,
                c.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default()
            )),
            None => Some(format!("{need} was not collected")),
        })
        .collect();
    (!gaps.is_empty()).then(|| gaps.join("; "))
}

/// Bounds on evaluation work.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The longest one rule may take on one resource. A rule that takes longer is
    /// `not_assessed` there, with the reason, and is not run on the connection's remaining
    /// resources; the evaluation goes on with the other rules.
    pub per_rule_and_resource: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            per_rule_and_resource: std::time::Duration::from_millis(250),
        }
    }
}

/// Evaluates every rule against the tenant's latest inventories.
pub fn evaluate(rules: &RuleSet, inventories: &[Inventory], now: chrono::DateTime<chrono::Utc>) -> Evaluation {
    evaluate_with(rules, inventories, now, Limits::default())
}

/// [`evaluate`] with explicit [`Limits`].
pub fn evaluate_with(
    rules: &RuleSet,
    inventories: &[Inventory],
    now: chrono::DateTime<chrono::Utc>,
    limits: Limits,
) -> Evaluation {
    let now_text = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let root = root_context();
    let mut out = Evaluation::default();
    for inv in inventories {
        evaluate_inventory(rules, inv, &root, &now, &now_text, limits, &mut out);
    }
    evaluate_paths(rules, inventories, &root, &now_text, &mut out);
    out
}

fn evaluate_inventory(
    rules: &RuleSet,
    inv: &Inventory,
    root: &Context,
    now: &chrono::DateTime<chrono::Utc>,
    now_text: &str,
    limits: Limits,
    out: &mut Evaluation,
) {
    let budget = limits.per_rule_and_resource;
    // Rules that overran their budget on this connection, and by how much.
    let mut overran: HashMap<String, std::time::Duration> = HashMap::new();
    let ix = Index::new(inv);
    let coverage: HashMap<&str, &Coverage> = inv.coverage.iter().map(|c| (c.resource.as_str(), c)).collect();
    let tenant = view::to_cel(&view::tenant_view(inv));
    let applicable: Vec<&Rule> = rules
        .rules
        .iter()
        .filter(|r| r.when.is_some() && (r.meta.provider == inv.provider || r.meta.provider == "any"))
        .collect();
    // The tenant view is bound once, in a scope every resource scope sits under.
    let mut tenant_scope = root.new_inner_scope();
    tenant_scope.add_variable_from_value("tenant", tenant.clone());
    let needed: BTreeSet<&str> = applicable.iter().map(|r| r.meta.resource.as_str()).collect();
    for kind in needed {
        let rules_of_kind: Vec<(&Rule, Option<String>)> = applicable
            .iter()
            .filter(|r| r.meta.resource == kind)
            .map(|r| (*r, missing_coverage(r, &coverage)))
            .collect();
        let result = |rule: &Rule, id: &str, outcome: Outcome, reason: Option<String>| RuleResult {
            rule_id: rule.meta.id.clone(),
            connection_id: inv.connection_id.clone(),
            resource_id: id.to_string(),
            resource_kind: kind.to_string(),
            outcome,
            reason,
        };
        // (id, name, view) per resource, built lazily so a large tenant is converted once.
        let items: Box<dyn Iterator<Item = (&str, String, cel::Value)>> = match kind {
            "agent" => Box::new(inv.agents.iter().map(|a| {
                (
                    a.id.as_str(),
                    a.name.clone(),
                    view::to_cel(&view::agent_view(&ix, a, now)),
                )
            })),
            "tool" => Box::new(
                inv.tools
                    .iter()
                    .map(|t| (t.id.as_str(), t.name.clone(), view::to_cel(&view::tool_view(&ix, t)))),
            ),
            "principal" => Box::new(inv.principals.iter().map(|p| {
                (
                    p.id.as_str(),
                    p.name.clone(),
                    view::to_cel(&view::principal_view(&ix, p)),
                )
            })),
            "untrusted_input" => Box::new(
                inv.untrusted_inputs
                    .iter()
                    .map(|i| (i.id.as_str(), i.name.clone(), view::to_cel(&view::input_view(&ix, i)))),
            ),
            "tenant" => Box::new(std::iter::once((
                inv.connection_id.as_str(),
                format!("{} connection", inv.provider),
                tenant.clone(),
            ))),
            _ => Box::new(std::iter::empty()),
        };
        let variable = if kind == "untrusted_input" { "input" } else { kind };
        // Rules with a gap that were reported not_assessed on at least one resource.
        let mut judged: BTreeSet<&str> = BTreeSet::new();
        for (id, name, value) in items {
            // Bind the resource once; every rule of its kind runs against this one scope.
            let mut ctx = tenant_scope.new_inner_scope();
            ctx.add_variable_from_value(variable, value);
            for (rule, gap) in &rules_of_kind {
                if let Some(filter) = &rule.applies_to {
                    match run_bool(filter, &ctx) {
                        Ok(true) => {}
                        Ok(false) => continue,
                        Err(e) => {
                            out.results
                                .push(result(rule, id, Outcome::NotAssessed, Some(format!("applies_to {e}"))));
                            continue;
                        }
                    }
                }
                if let Some(reason) = gap {
                    out.results
                        .push(result(rule, id, Outcome::NotAssessed, Some(reason.clone())));
                    judged.insert(rule.meta.id.as_str());
                    continue;
                }
                if let Some(took) = overran.get(&rule.meta.id) {
                    let reason = format!(
                        "not evaluated: the rule took {} ms on an earlier resource, over its {} ms budget",
                        took.as_millis(),
                        budget.as_millis()
                    );
                    out.results.push(result(rule, id, Outcome::NotAssessed, Some(reason)));
                    continue;
                }
                let started = std::time::Instant::now();
                let outcome = run_bool(rule.when.as_ref().expect("resource rule"), &ctx);
                let took = started.elapsed();
                if took > budget {
                    let reason = format!(
                        "the rule took {} ms here, over its {} ms budget",
                        took.as_millis(),
                        budget.as_millis()
                    );
                    out.results.push(result(rule, id, Outcome::NotAssessed, Some(reason)));
                    overran.insert(rule.meta.id.clone(), took);
                    continue;
                }
                match outcome {
                    Ok(true) => {
                        out.results.push(result(rule, id, Outcome::Fail, None));
                        let resource = FindingResource {
                            id: id.to_string(),
                            kind: kind.to_string(),
                            name: name.clone(),
                            provider: inv.provider.clone(),
                            connection_id: inv.connection_id.clone(),
                        };
                        out.findings
                            .push(finding(rule, resource, evidence(rule, &ctx), None, now_text));
                    }
                    Ok(false) => out.results.push(result(rule, id, Outcome::Pass, None)),
                    Err(e) => out.results.push(result(rule, id, Outcome::NotAssessed, Some(e))),
                }
            }
        }
        // A rule with a gap that judged no resource (none there, or none it applies to, which
        // may be because of what could not be read) is not assessed on the connection as a
        // whole, so its earlier findings stay open instead of resolving unseen.
        for (rule, gap) in &rules_of_kind {
            if let Some(reason) = gap {
                if !judged.contains(rule.meta.id.as_str()) {
                    out.results.push(result(
                        rule,
                        &inv.connection_id,
                        Outcome::NotAssessed,
                        Some(reason.clone()),
                    ));
                }
            }
        }
    }
}

/// At most this many paths are reported per rule and start node, so one open door into a
/// large tenant does not drown the report.
const MAX_PATHS_PER_START: usize = 25;

fn evaluate_paths(rules: &RuleSet, inventories: &[Inventory], root: &Context, now_text: &str, out: &mut Evaluation) {
    let path_rules: Vec<&Rule> = rules
        .rules
        .iter()
        .filter(|r| r.path.is_some())
        .filter(|r| r.meta.provider == "any" || inventories.iter().any(|i| i.provider == r.meta.provider))
        .collect();
    if path_rules.is_empty() {
        return;
    }
    let graph = AccessGraph::build(inventories);
    // Coverage per connection: one connection's gap is not hidden by another's success.
    let coverage: HashMap<&str, HashMap<&str, &Coverage>> = inventories
        .iter()
        .map(|i| {
            let of_connection = i.coverage.iter().map(|c| (c.resource.as_str(), c)).collect();
            (i.connection_id.as_str(), of_connection)
        })
        .collect();
    for rule in path_rules {
        let spec = rule.path.as_ref().expect("path rule");
        let result = |connection_id: &str, resource_id: &str, outcome, reason| RuleResult {
            rule_id: rule.meta.id.clone(),
            connection_id: connection_id.to_string(),
            resource_id: resource_id.to_string(),
            resource_kind: "path".into(),
            outcome,
            reason,
        };
        // The connections this rule is about, and whether each was seen well enough. Paths
        // never cross connections (the graph does not join them), so each is judged alone.
        let mut assessable: Vec<&str> = Vec::new();
        for inv in inventories
            .iter()
            .filter(|i| rule.meta.provider == "any" || i.provider == rule.meta.provider)
        {
            match missing_coverage(rule, &coverage[inv.connection_id.as_str()]) {
                Some(reason) => out.results.push(result(
                    &inv.connection_id,
                    &inv.connection_id,
                    Outcome::NotAssessed,
                    Some(reason),
                )),
                None => assessable.push(&inv.connection_id),
            }
        }
        if assessable.is_empty() {
            continue;
        }
        // Every node, so a predicate's marks are indexed by node index; nodes of connections
        // that cannot be assessed never match.
        let nodes: Vec<_> = graph.graph.node_indices().collect();
        let mut failed_predicate = None;
        let mut mark = |predicate: &NodePredicate| -> Vec<bool> {
            nodes
                .iter()
                .map(|n| {
                    let node = &graph.graph[*n];
                    if rule.meta.provider != "any" && node.provider != rule.meta.provider {
                        return false;
                    }
                    if !assessable.contains(&node.connection_id.as_str()) {
                        return false;
                    }
                    if predicate.kind.as_deref().is_some_and(|k| k != node.kind) {
                        return false;
                    }
                    let mut ctx = root.new_inner_scope();
                    ctx.add_variable_from_value("node", node.view.clone());
                    match run_bool(&predicate.program, &ctx) {
                        Ok(b) => b,
                        Err(e) => {
                            // Name the node (e.g. a tool whose capabilities are unknown).
                            failed_predicate.get_or_insert_with(|| format!("{} {:?}: {e}", node.kind, node.name));
                            false
                        }
                    }
                })
                .collect()
        };
        let from = mark(&spec.from);
        let mut via = mark(&spec.via);
        let to = mark(&spec.to);
        // The trifecta's third leg: a via node only counts if it also reaches a matching node.
        let mut second_legs = HashMap::new();
        if let Some(also) = &spec.also_reaches {
            let also = mark(also);
            // One reverse search from every matching node at once, instead of a search from
            // every via node: linear in the graph, whatever the number of agents.
            let toward = graph.toward(&also, spec.max_hops);
            for n in &nodes {
                if !via[n.index()] {
                    continue;
                }
                match graph.leg_from(*n, &toward) {
                    Some(steps) => {
                        second_legs.insert(*n, graph.exposure_path(&steps));
                    }
                    None => via[n.index()] = false,
                }
            }
        }
        let mut failures: HashMap<&str, usize> = HashMap::new();
        for start in nodes.iter().filter(|n| from[n.index()]) {
            let paths = graph.paths_from(*start, &via, &to, spec.through.as_deref(), spec.max_hops);
            for steps in paths.into_iter().take(MAX_PATHS_PER_START) {
                let path = graph.exposure_path(&steps);
                let first = &graph.graph[steps[0].0];
                let last = &graph.graph[steps.last().expect("path has nodes").0];
                let via_node = steps.iter().map(|s| s.0).find(|n| via[n.index()] && *n != steps[0].0);
                let mut evidence = json!({"hops": steps.len() - 1});
                if let Some(leg) = via_node.and_then(|v| second_legs.get(&v)) {
                    evidence["also_reaches"] = serde_json::to_value(leg).expect("path serializes");
                }
                let signature = format!("{}->{}", first.id, last.id);
                let resource = FindingResource {
                    id: signature.clone(),
                    kind: "path".into(),
                    name: format!("{} → {}", first.name, last.name),
                    provider: first.provider.clone(),
                    connection_id: first.connection_id.clone(),
                };
                out.results
                    .push(result(&first.connection_id, &signature, Outcome::Fail, None));
                out.findings
                    .push(finding(rule, resource, evidence, Some(path), now_text));
                *failures.entry(first.connection_id.as_str()).or_default() += 1;
            }
        }
        for connection in assessable.iter().filter(|c| !failures.contains_key(**c)) {
            match &failed_predicate {
                Some(e) => out
                    .results
                    .push(result(connection, connection, Outcome::NotAssessed, Some(e.clone()))),
                None => out.results.push(result(connection, connection, Outcome::Pass, None)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_between_compares_numerically() {
        let v = |s: &str| Arc::new(s.to_string());
        assert!(version_between(v("5.1.10"), v("5.0.24"), v("5.1.17")).unwrap());
        assert!(!version_between(v("5.1.18"), v("5.0.24"), v("5.1.17")).unwrap());
        assert!(!version_between(v("5.0.9"), v("5.0.24"), v("5.1.17")).unwrap());
        assert!(version_between(v("x"), v("1"), v("2")).is_err());
    }

    #[test]
    fn fingerprints_are_stable_and_distinct() {
        assert_eq!(fingerprint("R1", "c1", "a"), fingerprint("R1", "c1", "a"));
        assert_ne!(fingerprint("R1", "c1", "a"), fingerprint("R2", "c1", "a"));
        assert_ne!(fingerprint("R1", "c1", "a"), fingerprint("R1", "c2", "a"));
        assert_eq!(fingerprint("R1", "c1", "a").len(), 32);
    }
}
