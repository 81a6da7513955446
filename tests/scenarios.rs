//! The simulator scenarios against the built-in rule pack, through the real connector:
//! `risky` makes every built-in ServiceNow rule fail at least once; `clean` makes none fail.

use connectors::{collector, ConnectionSpec, Parts};
use engine::{evaluate, Outcome, RuleSet};
use sandbox::servicenow::{self, scenarios, SimConfig};
use serde_json::json;
use std::collections::BTreeSet;

async fn inventory(tables: sandbox::servicenow::Tables) -> schemas::Inventory {
    let config = SimConfig::default();
    let server = servicenow::start(config.clone(), tables, 0).await.unwrap();
    let spec = ConnectionSpec {
        id: "conn".into(),
        provider: "servicenow".into(),
        settings: json!({"instance_url": server.base_url, "client_id": config.client_id, "max_rps": 500.0}),
        secrets: [("client_secret".to_string(), config.client_secret.clone())].into(),
    };
    let c = collector(&spec).unwrap();
    let mut parts = Parts::new();
    for resource in c.resources() {
        let part = c.fetch(&resource, &parts).await.unwrap();
        parts.insert(resource, part);
    }
    c.transform(&parts, "conn", "2026-11-24T00:00:00Z")
}

#[tokio::test]
async fn risky_fires_every_builtin_rule() {
    let rules = RuleSet::builtin().unwrap();
    let inv = inventory(scenarios::risky()).await;
    let eval = evaluate(&rules, &[inv], chrono::Utc::now());
    let failed: BTreeSet<&str> = eval
        .results
        .iter()
        .filter(|r| r.outcome == Outcome::Fail)
        .map(|r| r.rule_id.as_str())
        .collect();
    let not_fired: Vec<&str> = rules
        .rules
        .iter()
        .map(|r| r.meta.id.as_str())
        .filter(|id| !failed.contains(id))
        .collect();
    let unassessed: Vec<_> = eval
        .results
        .iter()
        .filter(|r| r.outcome == Outcome::NotAssessed)
        .collect();
    assert!(
        not_fired.is_empty(),
        "rules that did not fire on risky: {not_fired:?}\nnot assessed: {unassessed:#?}"
    );
    // A workflow orchestrates its team: a team member never recruits the workflow.
    for f in eval.findings.iter().filter_map(|f| f.path.as_ref()) {
        for e in &f.edges {
            let into = &f.nodes[e.to];
            assert!(!(e.kind == "recruits" && into.name == "Incident resolution"), "{f:?}");
        }
    }
    let orchestrated = eval
        .findings
        .iter()
        .filter_map(|f| f.path.as_ref())
        .any(|p| p.edges.iter().any(|e| e.kind == "orchestrates"));
    assert!(
        orchestrated,
        "the trigger reaches the team through the workflow it starts"
    );
}

#[tokio::test]
async fn clean_fires_no_rule() {
    let rules = RuleSet::builtin().unwrap();
    let inv = inventory(scenarios::clean()).await;
    let eval = evaluate(&rules, &[inv], chrono::Utc::now());
    let fired: Vec<String> = eval
        .findings
        .iter()
        .map(|f| format!("{} {}", f.rule_id, f.resource.name))
        .collect();
    assert!(fired.is_empty(), "rules that fired on clean: {fired:#?}");
    let unassessed: Vec<_> = eval
        .results
        .iter()
        .filter(|r| r.outcome == Outcome::NotAssessed)
        .collect();
    assert!(
        unassessed.is_empty(),
        "clean collects everything, so everything is assessed: {unassessed:#?}"
    );
    assert!(eval.count(Outcome::Pass) > 40);
}
