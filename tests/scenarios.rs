//! The simulator scenarios against the built-in rule pack, through the real connectors:
//! each vendor's `risky` makes every built-in rule of that vendor fail at least once; `clean`
//! makes none fail and leaves nothing unassessed.

use connectors::{collector, read_all, ConnectionSpec};
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
    read_inventory(&spec).await
}

/// Reads every resource through the real connector and transforms it.
async fn read_inventory(spec: &ConnectionSpec) -> schemas::Inventory {
    let c = collector(spec).unwrap();
    let parts = read_all(c.as_ref()).await.unwrap();
    c.transform(&parts, &spec.id, "2026-11-25T00:00:00Z")
}

/// Asserts that every built-in rule of `providers` fails at least once on `eval`.
fn assert_every_rule_fires(rules: &RuleSet, eval: &engine::Evaluation, providers: &[&str]) {
    let failed: BTreeSet<&str> = eval
        .results
        .iter()
        .filter(|r| r.outcome == Outcome::Fail)
        .map(|r| r.rule_id.as_str())
        .collect();
    let not_fired: Vec<&str> = rules
        .rules
        .iter()
        .filter(|r| providers.contains(&r.meta.provider.as_str()))
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
}

/// Asserts that nothing fails on `eval` and that every rule could be assessed.
fn assert_clean(eval: &engine::Evaluation) {
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
}

#[tokio::test]
async fn risky_fires_every_builtin_rule() {
    let rules = RuleSet::builtin().unwrap();
    let inv = inventory(scenarios::risky()).await;
    let eval = evaluate(&rules, &[inv], chrono::Utc::now());
    assert_every_rule_fires(&rules, &eval, &["servicenow", "any"]);
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
    assert_clean(&eval);
    assert!(eval.count(Outcome::Pass) > 40);
}

/// A Microsoft 365 tenant read app-only, and with `as_admin` also as a signed-in Copilot admin.
async fn m365_inventory(tenant: sandbox::m365::Tenant, as_admin: bool) -> schemas::Inventory {
    let config = sandbox::m365::SimConfig::default();
    let server = sandbox::m365::start(config.clone(), tenant, 0).await.unwrap();
    let base = &server.base_url;
    let spec = ConnectionSpec {
        id: "m365-conn".into(),
        provider: "m365".into(),
        settings: json!({
            "directory_id": config.directory_id, "client_id": config.client_id,
            "login_url": format!("{base}/login"), "graph_url": format!("{base}/graph"),
            "bap_url": format!("{base}/bap"), "powerplatform_url": format!("{base}/pp"), "max_rps": 500.0,
        }),
        secrets: [("client_secret".to_string(), config.client_secret.clone())]
            .into_iter()
            .chain(as_admin.then(|| {
                (
                    "delegated_refresh_token".to_string(),
                    config.delegated_refresh_token.clone().unwrap(),
                )
            }))
            .collect(),
    };
    read_inventory(&spec).await
}

#[tokio::test]
async fn m365_risky_fires_every_m365_rule_including_the_echoleak_path() {
    let rules = RuleSet::builtin().unwrap();
    let inv = m365_inventory(sandbox::m365::scenarios::risky(), true).await;
    assert!(rules.rules.iter().filter(|r| r.meta.provider == "m365").count() >= 20);
    let eval = evaluate(&rules, &[inv], chrono::Utc::now());
    assert_every_rule_fires(&rules, &eval, &["m365"]);
    // The rule applies to AI apps only: the payroll app's Sites.Read.All is not reported.
    assert!(!eval.findings.iter().any(|f| f.resource.name == "Payroll Sync"));
    let echo = eval.findings.iter().find(|f| f.rule_id == "M365-PATH-002").unwrap();
    let path = echo.path.as_ref().unwrap();
    let kinds: Vec<&str> = path.nodes.iter().map(|n| n.kind.as_str()).collect();
    assert_eq!(kinds.first(), Some(&"untrusted_input"));
    assert_eq!(kinds.last(), Some(&"sink"));
    assert!(path.nodes.iter().any(|n| n.id == "m365:copilot"));
    // Access policy 3 (published bot table): users of any tenant reach the Projects site.
    let cross_tenant = eval
        .findings
        .iter()
        .filter(|f| f.rule_id == "M365-PATH-001")
        .filter_map(|f| f.path.as_ref())
        .find(|p| p.nodes.first().is_some_and(|n| n.id == "m365:any_tenant_users"))
        .expect("a path from users of any tenant");
    assert!(cross_tenant.nodes.iter().any(|n| n.name == "Partner Project Desk"));
    assert!(eval
        .findings
        .iter()
        .any(|f| f.rule_id == "M365-AGT-013" && f.resource.name == "Partner Project Desk"));
}

#[tokio::test]
async fn m365_clean_fires_no_rule_and_leaves_nothing_unassessed() {
    let rules = RuleSet::builtin().unwrap();
    let inv = m365_inventory(sandbox::m365::scenarios::clean(), true).await;
    let not_collected: Vec<_> = inv
        .coverage
        .iter()
        .filter(|c| c.status != schemas::CoverageStatus::Collected && c.resource != "m365.copilot_audit")
        .collect();
    assert!(
        not_collected.is_empty(),
        "a signed-in admin reads everything: {not_collected:#?}"
    );
    let eval = evaluate(&rules, &[inv], chrono::Utc::now());
    let fired: Vec<_> = eval.findings.iter().map(|f| &f.rule_id).collect();
    assert!(fired.is_empty(), "rules that fired on clean: {fired:?}");
    // The one thing left open by design: Microsoft has not published what the web-search
    // policy's values mean, so a configured value is never read as on or off.
    let unassessed: Vec<_> = eval
        .results
        .iter()
        .filter(|r| r.outcome == Outcome::NotAssessed)
        .collect();
    assert_eq!(unassessed.len(), 1, "{unassessed:#?}");
    assert_eq!(unassessed[0].rule_id, "M365-CFG-001");
    assert!(
        unassessed[0].reason.as_deref().unwrap_or("").contains("not published"),
        "{unassessed:?}"
    );
}

#[tokio::test]
async fn m365_without_an_admin_sign_in_the_delegated_rules_stay_not_assessed() {
    let rules = RuleSet::builtin().unwrap();
    let inv = m365_inventory(sandbox::m365::scenarios::clean(), false).await;
    // What needs a signed-in admin is reported as unavailable, never as collected.
    let unavailable: Vec<&str> = inv
        .coverage
        .iter()
        .filter(|c| c.status == schemas::CoverageStatus::Unavailable)
        .map(|c| c.resource.as_str())
        .collect();
    assert_eq!(
        unavailable,
        [
            "m365.copilot_limited_mode",
            "m365.copilot_policy_settings",
            "m365.powerplatform_inventory"
        ]
    );
    let eval = evaluate(&rules, &[inv], chrono::Utc::now());
    assert!(eval.findings.is_empty());
    let unassessed: BTreeSet<&str> = eval
        .results
        .iter()
        .filter(|r| r.outcome == Outcome::NotAssessed)
        .map(|r| r.rule_id.as_str())
        .collect();
    assert_eq!(
        unassessed,
        BTreeSet::from(["M365-AGT-002", "M365-CFG-001", "M365-CFG-008"]),
        "exactly the rules the admin sign-in unlocks"
    );
    assert!(eval.count(Outcome::Pass) > 25);
    // On risky, the anonymous agent's channels are unknown without the inventory.
    let risky = m365_inventory(sandbox::m365::scenarios::risky(), false).await;
    let eval = evaluate(&rules, &[risky], chrono::Utc::now());
    assert!(!eval.findings.iter().any(|f| f.rule_id == "M365-AGT-002"));
    assert!(eval
        .results
        .iter()
        .any(|r| r.rule_id == "M365-AGT-002" && r.outcome == Outcome::NotAssessed));
}

#[tokio::test]
async fn two_connections_of_one_vendor_keep_their_own_findings_and_no_path_joins_them() {
    // Production and its clone: the same ids on both instances mean different things.
    let rules = RuleSet::builtin().unwrap();
    let mut prod = inventory(scenarios::risky()).await;
    prod.connection_id = "prod".into();
    let mut clone = prod.clone();
    clone.connection_id = "clone".into();
    let alone = evaluate(&rules, std::slice::from_ref(&prod), chrono::Utc::now());
    let both = evaluate(&rules, &[prod.clone(), clone.clone()], chrono::Utc::now());
    assert_eq!(
        both.findings.len(),
        2 * alone.findings.len(),
        "neither merged nor extra paths"
    );
    let prints: BTreeSet<&str> = both.findings.iter().map(|f| f.fingerprint.as_str()).collect();
    assert_eq!(prints.len(), both.findings.len(), "each finding its own fingerprint");
    for connection in ["prod", "clone"] {
        let mine = both
            .findings
            .iter()
            .filter(|f| f.resource.connection_id == connection)
            .count();
        assert_eq!(mine, alone.findings.len(), "{connection}");
    }
    // Fingerprints are stable across scans of the same connection.
    let again = evaluate(&rules, &[prod.clone(), clone], chrono::Utc::now());
    let again_prints: BTreeSet<&str> = again.findings.iter().map(|f| f.fingerprint.as_str()).collect();
    assert_eq!(prints, again_prints);
    // A gap on one connection makes its path rules not assessed there, not on the other.
    let mut blind = prod.clone();
    blind.connection_id = "blind".into();
    for c in blind.coverage.iter_mut() {
        c.status = schemas::CoverageStatus::Forbidden;
    }
    let mixed = evaluate(&rules, &[prod, blind], chrono::Utc::now());
    let path_rule = "SNOW-PATH-001";
    let of = |conn: &str, outcome: Outcome| {
        mixed
            .results
            .iter()
            .any(|r| r.rule_id == path_rule && r.connection_id == conn && r.outcome == outcome)
    };
    assert!(of("prod", Outcome::Fail));
    assert!(of("blind", Outcome::NotAssessed));
    assert!(!of("blind", Outcome::Fail));
}

#[test]
fn every_resource_a_rule_needs_is_read_by_a_collector() {
    // A typo in `needs:` would make a rule not_assessed forever.
    let produced: BTreeSet<String> = connectors::VENDORS.iter().flat_map(|v| (v.resources)()).collect();
    let rules = RuleSet::builtin().unwrap();
    let mut unknown = Vec::new();
    for rule in &rules.rules {
        for need in &rule.meta.needs {
            if !produced.contains(need) {
                unknown.push(format!("{} ({}) needs {need}", rule.meta.id, rule.source));
            }
        }
    }
    assert!(unknown.is_empty(), "no collector reads: {unknown:#?}");
    assert!(produced.len() > 40, "{produced:?}");
}

#[test]
fn the_vendor_registry_describes_each_vendor_consistently() {
    for vendor in connectors::VENDORS {
        for name in vendor.destination_settings {
            assert!(
                vendor.settings.iter().any(|s| s.name == *name),
                "{}: {name} is not a setting",
                vendor.id
            );
        }
        assert!(vendor.settings.iter().any(|s| s.required), "{}", vendor.id);
        assert!(vendor.default_max_rps > 0.0);
        assert!(!(vendor.resources)().is_empty());
        // Settings are checked with one-line reasons naming the setting.
        let err = vendor.check_settings(&json!({})).unwrap_err();
        assert!(err.contains("is required"), "{err}");
        let err = vendor.check_settings(&json!({"no_such_setting": 1})).unwrap_err();
        assert!(err.contains("no_such_setting"), "{err}");
    }
    let sn = connectors::vendor("servicenow").unwrap();
    assert!(sn
        .check_settings(&json!({"instance_url": "https://acme.service-now.com", "client_id": "x", "max_rps": 5}))
        .is_ok());
    let err = sn
        .check_settings(&json!({"instance_url": "not a url", "client_id": "x"}))
        .unwrap_err();
    assert!(err.contains("instance_url") && err.contains("a URL"), "{err}");
    assert!(connectors::vendor("workday")
        .unwrap_err()
        .to_string()
        .contains("servicenow, m365, salesforce"));
}

/// A CRUD binding whose `inputs` cannot be read is a tool of unknown capabilities: rules that
/// depend on it are not assessed, with the reason, instead of passing as "no write tools".
#[tokio::test]
async fn an_unreadable_crud_binding_is_unknown_and_not_a_pass() {
    let mut tables = scenarios::risky();
    let partner = scenarios::sid("agent:partner");
    let binding = scenarios::sid(&format!("bind:{partner}:{}", scenarios::sid("tool:create")));
    tables.get_mut("sn_aia_agent_tool_m2m").set(&binding, "inputs", "");
    let inv = inventory(tables).await;
    let unknown = inv
        .tools
        .iter()
        .find(|t| t.name.contains("binding unreadable"))
        .unwrap();
    assert!(unknown.capabilities.is_empty() && unknown.targets.is_empty());
    assert!(unknown.capabilities_unknown.is_some(), "unknown, never 'no target'");
    let rules = RuleSet::builtin().unwrap();
    let eval = evaluate(&rules, std::slice::from_ref(&inv), chrono::Utc::now());
    let external_writer = eval
        .results
        .iter()
        .find(|r| r.rule_id == "SNOW-036" && r.resource_id == format!("servicenow:agent:{partner}"))
        .unwrap();
    assert_eq!(external_writer.outcome, Outcome::NotAssessed, "{external_writer:?}");
    assert!(external_writer
        .reason
        .as_deref()
        .is_some_and(|r| r.contains("binding could not be read")));
}

/// A Salesforce org read through the real connector (JWT bearer sign-in, REST, Tooling,
/// Metadata SOAP, RDAP).
async fn salesforce_inventory(scenario: &str) -> schemas::Inventory {
    let sim = sandbox::salesforce::simulated_connection(scenario).await.unwrap();
    let spec = ConnectionSpec {
        id: "sf-conn".into(),
        provider: "salesforce".into(),
        settings: sim.settings.clone(),
        secrets: sim.secrets.clone(),
    };
    read_inventory(&spec).await
}

#[tokio::test]
async fn salesforce_risky_fires_every_salesforce_rule_including_forcedleak() {
    let rules = RuleSet::builtin().unwrap();
    assert!(rules.rules.iter().filter(|r| r.meta.provider == "salesforce").count() >= 25);
    let inv = salesforce_inventory("risky").await;
    let eval = evaluate(&rules, &[inv], chrono::Utc::now());
    assert_every_rule_fires(&rules, &eval, &["salesforce"]);
    let leak = eval
        .findings
        .iter()
        .find(|f| f.rule_id == "SF-PATH-001")
        .expect("the ForcedLeak chain");
    let path = leak.path.as_ref().unwrap();
    let names: Vec<&str> = path.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(path.nodes.first().map(|n| n.kind.as_str()), Some("untrusted_input"));
    assert!(
        names.iter().any(|n| n.contains("old-campaign-site.example")),
        "{names:?}"
    );
    assert!(
        !names.iter().any(|n| n.contains("docs.acme.example")),
        "a registered domain is no exit: {names:?}"
    );
    assert!(
        leak.evidence["also_reaches"].to_string().contains("Lead"),
        "{}",
        leak.evidence
    );
    // Guests reach the service agent; the employee agent is not public.
    let guest_reach: Vec<&str> = eval
        .findings
        .iter()
        .filter(|f| f.rule_id == "SF-AI-006")
        .map(|f| f.resource.name.as_str())
        .collect();
    assert_eq!(guest_reach, ["Customer Support Agent"]);
}

#[tokio::test]
async fn salesforce_clean_fires_no_rule_and_leaves_nothing_unassessed() {
    let rules = RuleSet::builtin().unwrap();
    let inv = salesforce_inventory("clean").await;
    let eval = evaluate(&rules, &[inv], chrono::Utc::now());
    assert_clean(&eval);
    assert!(eval.count(Outcome::Pass) > 20);
}

/// A Google Workspace scan of `scenario` through the real connector, and what the simulator
/// saw of it.
async fn google_inventory(scenario: &str, settings: serde_json::Value) -> (schemas::Inventory, serde_json::Value) {
    let sim = sandbox::google_workspace::simulated_connection(scenario).await.unwrap();
    let mut merged = sim.settings.clone();
    for (k, v) in settings.as_object().unwrap() {
        merged[k] = v.clone();
    }
    let spec = ConnectionSpec {
        id: "gw".into(),
        provider: "google_workspace".into(),
        settings: merged,
        secrets: sim.secrets.clone(),
    };
    let inv = read_inventory(&spec).await;
    let stats = reqwest::get(format!("{}/__sandbox/stats", sim.server.base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (inv, stats)
}

#[tokio::test]
async fn google_risky_fires_every_google_rule_within_what_google_describes() {
    let rules = RuleSet::builtin().unwrap();
    let (inv, stats) = google_inventory("risky", json!({"max_rps": 500.0})).await;
    // Every request was one the discovery documents describe, none wrote, and the write-capable
    // tokens scope travelled alone in a token of its own.
    assert_eq!(stats["violations"], json!([]), "{stats}");
    assert_eq!(stats["writes"], 0);
    let scopes: Vec<&str> = stats["tokens_scopes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s.as_str())
        .collect();
    let security = "https://www.googleapis.com/auth/admin.directory.user.security";
    assert!(scopes.contains(&security), "{scopes:?}");
    assert!(
        scopes.iter().all(|s| *s == security || !s.contains(security)),
        "{scopes:?}"
    );
    let eval = evaluate(&rules, std::slice::from_ref(&inv), chrono::Utc::now());
    let failed: BTreeSet<&str> = eval
        .results
        .iter()
        .filter(|r| r.outcome == Outcome::Fail)
        .map(|r| r.rule_id.as_str())
        .collect();
    // The two rules on settings no API returns cannot fail before an admin attests them.
    let manual = ["GWS-AI-018", "GWS-AI-031"];
    let not_fired: Vec<&str> = rules
        .rules
        .iter()
        .filter(|r| r.meta.provider == "google_workspace" && !manual.contains(&r.meta.id.as_str()))
        .map(|r| r.meta.id.as_str())
        .filter(|id| !failed.contains(id))
        .collect();
    assert!(not_fired.is_empty(), "did not fire on risky: {not_fired:?}");
    for id in manual {
        assert!(
            eval.results
                .iter()
                .any(|r| r.rule_id == id && r.outcome == Outcome::NotAssessed),
            "{id} is not assessed, never passed"
        );
    }
    // The shadow-AI app is judged by app and by how many granted it.
    let app = inv
        .principals
        .iter()
        .find(|p| p.name == "MeetNotes AI Assistant")
        .unwrap();
    assert_eq!(app.attributes["user_count"], 6);
    assert_eq!(app.attributes["full_gmail"], true);
    assert!(
        app.attributes["first_granted"].is_string(),
        "dated from the token log: {app:?}"
    );
    let gemini = inv.agents.iter().find(|a| a.kind == "gemini_app").unwrap();
    assert!(
        gemini.last_used.is_some() && gemini.attributes["apps_used"].to_string().contains("gmail"),
        "{gemini:?}"
    );
    // The audit log's agent, owned outside the domain, with what it touched.
    let agent = inv.agents.iter().find(|a| a.kind == "workspace_agent").unwrap();
    assert_eq!(agent.name, "Inbox Triage Agent");
    assert_eq!(agent.attributes["owner_in_domain"], false);
    assert!(agent.attributes["resources_touched"]
        .to_string()
        .contains("Salary bands FY27"));
    // Settings say how they are known.
    let evidence = |key: &str| {
        inv.settings
            .iter()
            .find(|s| s.key == key)
            .map(|s| (s.evidence, s.as_of.is_some()))
    };
    assert_eq!(
        evidence("google_workspace.gemini_app.service_status"),
        Some((schemas::Evidence::Api, false))
    );
    assert_eq!(
        evidence("google_workspace.gemini_app.regardless_of_license"),
        Some((schemas::Evidence::AuditLogInferred, true))
    );
    assert_eq!(
        evidence("google_workspace.gemini_app.conversation_history"),
        Some((schemas::Evidence::Manual, false))
    );
    let path = eval
        .findings
        .iter()
        .find(|f| f.rule_id == "GWS-PATH-001")
        .expect("the injection path");
    let p = path.path.as_ref().unwrap();
    assert_eq!(p.nodes.first().map(|n| n.kind.as_str()), Some("untrusted_input"));
}

#[tokio::test]
async fn google_clean_fires_only_what_gemini_being_on_implies() {
    let rules = RuleSet::builtin().unwrap();
    let (inv, stats) = google_inventory("clean", json!({"max_rps": 500.0})).await;
    assert_eq!(stats["violations"], json!([]), "{stats}");
    let eval = evaluate(&rules, &[inv], chrono::Utc::now());
    // Gemini is on for Engineering: mail from outside reaches it whatever the settings (no
    // setting stops it), so the two exposure-path rules stand; nothing else fires.
    let fired: BTreeSet<&str> = eval.findings.iter().map(|f| f.rule_id.as_str()).collect();
    assert_eq!(fired, BTreeSet::from(["GWS-PATH-001", "XPATH-002"]), "{fired:?}");
    let unassessed: BTreeSet<&str> = eval
        .results
        .iter()
        .filter(|r| r.outcome == Outcome::NotAssessed)
        .map(|r| r.rule_id.as_str())
        .collect();
    assert_eq!(
        unassessed,
        BTreeSet::from(["GWS-AI-018", "GWS-AI-031"]),
        "only the manual checks"
    );
}

#[tokio::test]
async fn google_without_the_tokens_inventory_never_asks_for_its_scope() {
    let rules = RuleSet::builtin().unwrap();
    let (inv, stats) = google_inventory("risky", json!({"max_rps": 500.0, "tokens_inventory": "off"})).await;
    let scopes = stats["tokens_scopes"].to_string();
    assert!(!scopes.contains("admin.directory.user.security"), "{scopes}");
    let tokens = inv
        .coverage
        .iter()
        .find(|c| c.resource == "google_workspace.tokens")
        .unwrap();
    assert_eq!(tokens.status, schemas::CoverageStatus::Unavailable);
    let eval = evaluate(&rules, &[inv], chrono::Utc::now());
    for id in ["GWS-AI-001", "GWS-AI-022"] {
        assert!(
            !eval
                .results
                .iter()
                .any(|r| r.rule_id == id && r.outcome == Outcome::Fail),
            "{id} cannot fail on tokens not read"
        );
        assert!(
            eval.results
                .iter()
                .any(|r| r.rule_id == id && r.outcome == Outcome::NotAssessed),
            "{id}"
        );
    }
}
