//! The Microsoft 365 connector held against what Microsoft publishes itself: every Graph path
//! and `$select`, and every Dataverse column, it sends is checked against the extracts of
//! Graph's v1.0/beta metadata and the Dataverse table reference (`connectors/src/m365/published/`),
//! (the simulator answers what those do not declare with the services' 400: see
//! `m365_simulator.rs`). The connector that selected `publisherName` on v1.0 lost every service
//! principal to that 400.

use connectors::{collector, read_all, ConnectionSpec, Parts};
use sandbox::m365;
use sandbox::m365::published::{
    dataverse_query_columns, dataverse_unknown_column, graph_resolve, graph_undeclared_select,
};
use schemas::{CoverageStatus, Inventory};
use serde_json::json;
use std::collections::BTreeSet;

/// Scans `risky` and returns the parts, the inventory and every request the simulator saw.
async fn scan_risky() -> (Parts, Inventory, Vec<String>) {
    let mut sim = m365::simulated_connection("risky").await.unwrap();
    sim.settings["max_rps"] = json!(500.0);
    let spec = ConnectionSpec {
        id: "conn-m365".into(),
        provider: sim.provider.into(),
        settings: sim.settings.clone(),
        secrets: sim.secrets.clone(),
    };
    let c = collector(&spec).unwrap();
    let parts = read_all(c.as_ref()).await.unwrap();
    let inventory = c.transform(&parts, &spec.id, "2026-12-02T00:00:00Z");
    let requests: Vec<String> = reqwest::get(format!("{}/__sandbox/requests", sim.server.base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (parts, inventory, requests)
}

fn decode(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

/// A request's path with ids replaced by `{id}`, for the list of distinct shapes.
fn shape(path: &str) -> String {
    path.split('/')
        .map(|s| {
            if s.len() >= 20 && s.chars().any(|c| c.is_ascii_digit()) && !s.starts_with("microsoft.") {
                "{id}"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_request_the_connector_sends_exists_in_microsofts_metadata() {
    let (parts, _, requests) = scan_risky().await;
    let mut shapes = BTreeSet::new();
    let mut wrong = Vec::new();
    for line in &requests {
        let (surface, rest) = line.split_once(' ').unwrap();
        match surface {
            "graph" => {
                let (version, target) = rest.split_once(' ').unwrap();
                let (path, query) = target.split_once('?').unwrap_or((target, ""));
                shapes.insert(format!("graph {version} {}", shape(path)));
                match graph_resolve(version, path) {
                    Ok(returned) => {
                        let params = decode(query);
                        let select = params.iter().find(|(k, _)| k == "$select").map(|(_, v)| v.as_str());
                        if let Some(e) = select.and_then(|s| graph_undeclared_select(version, &returned, s)) {
                            wrong.push(format!("{line}: {e}"));
                        }
                    }
                    Err(e) => wrong.push(format!("{line}: {e}")),
                }
            }
            "dataverse" => {
                let (entity, query) = rest.split_once('?').unwrap_or((rest, ""));
                shapes.insert(format!("dataverse {entity}"));
                let params = decode(query);
                if let Some(e) = dataverse_unknown_column(entity, dataverse_query_columns(&params)) {
                    wrong.push(format!("{line}: {e}"));
                }
            }
            // No machine-readable description is published for the inventory API: its body
            // is held against the documented query shape (reference addendum B2).
            "pp" => {
                let body: serde_json::Value = serde_json::from_str(rest.strip_prefix("query ").unwrap()).unwrap();
                shapes.insert("pp query".to_string());
                let options = &body["Options"];
                if body["TableName"] != "PowerPlatformResources"
                    || !body["Clauses"].is_array()
                    || !(options["Top"].is_u64() && options["Skip"].is_u64() && options["SkipToken"].is_string())
                {
                    wrong.push(format!("{line}: not the documented query shape"));
                }
            }
            other => panic!("unexpected surface {other}"),
        }
    }
    assert!(
        wrong.is_empty(),
        "requests Microsoft's metadata does not have:\n{}",
        wrong.join("\n")
    );
    // Every surface the connector reads was exercised, so the check above is not vacuous.
    for expected in [
        "graph v1.0 /servicePrincipals",
        "graph v1.0 /servicePrincipals/{id}/owners",
        "graph v1.0 /servicePrincipals/{id}/appRoleAssignments",
        "graph v1.0 /servicePrincipals/{id}",
        "graph v1.0 /copilot/admin/catalog/packages/{id}",
        "graph v1.0 /servicePrincipals/microsoft.graph.agentIdentity",
        "graph beta /security/informationProtection/sensitivityLabels",
        // As the signed-in admin (the delegated-only APIs).
        "graph v1.0 /copilot/admin/settings/limitedMode",
        "graph beta /copilot/admin/policySettings/microsoft.copilot.allowwebsearch",
        "pp query",
        "dataverse bots",
        "dataverse botcomponents",
        "dataverse systemusers",
        "dataverse conversationtranscripts",
    ] {
        assert!(shapes.contains(expected), "{expected} not sent; sent: {shapes:#?}");
    }
    for short in [
        "service_principals",
        "service_principal_owners",
        "app_role_assignments",
        "copilot_studio_bots",
    ] {
        let part = &parts[&format!("m365.{short}")];
        assert_eq!(
            part.coverage.status,
            CoverageStatus::Collected,
            "{short}: {:?}",
            part.coverage
        );
    }
}

#[tokio::test]
async fn what_microsofts_description_changes_is_read() {
    let (_, inv, _) = scan_risky().await;
    // AI apps are classified from v1.0 fields (no publisherName there).
    let chatgpt = inv
        .principals
        .iter()
        .find(|p| p.name == "ChatGPT Enterprise Connector")
        .unwrap();
    assert_eq!(chatgpt.attributes["publisher"], "OpenAI", "the verified publisher");
    assert_eq!(chatgpt.attributes["ai"], true);
    // Access control policy 3, "Any (multi-tenant)".
    let partners = inv.agents.iter().find(|a| a.name == "Partner Project Desk").unwrap();
    assert_eq!(partners.attributes["access_policy"], "any_tenant");
    assert_eq!(partners.audience, ["m365:all_users", "m365:any_tenant_users"]);
    assert!(!partners.audience_unknown);
    // Manifests returned as objects (`Edm.Untyped`) are read: the plugin and its auth.
    let research = inv.agents.iter().find(|a| a.name == "Contoso Research Helper").unwrap();
    assert_eq!(research.attributes["internal_knowledge"], true);
    assert_eq!(research.attributes["unreadable_manifests"], json!([]));
    let plugin = inv
        .tools
        .iter()
        .find(|t| research.tools.iter().any(|b| b.tool_id == t.id))
        .expect("the plugin's tool");
    assert_eq!(plugin.attributes["auth_type"], "none");
}
