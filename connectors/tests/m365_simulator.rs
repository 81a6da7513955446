//! The Microsoft 365 connector against the simulator: tokens per audience, Graph paging,
//! `$batch` with throttled items, delegated-only and unlicensed APIs, expired tokens, 403s.

use connectors::{collector, read_all, ConnectionSpec, Parts};
use sandbox::m365::{self, scenarios, SimConfig, SimStats};
use schemas::{CoverageStatus, Inventory, PrincipalKind, RunIdentity};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};

fn spec(base: &str) -> ConnectionSpec {
    let config = SimConfig::default();
    ConnectionSpec {
        id: "conn-m365".into(),
        provider: "m365".into(),
        settings: json!({
            "directory_id": config.directory_id,
            "client_id": config.client_id,
            "login_url": format!("{base}/login"),
            "graph_url": format!("{base}/graph"),
            "bap_url": format!("{base}/bap"),
            "powerplatform_url": format!("{base}/pp"),
            "max_rps": 200.0,
            "page_size": 1,
        }),
        secrets: BTreeMap::from([("client_secret".to_string(), config.client_secret.clone())]),
    }
}

async fn collect(spec: &ConnectionSpec) -> (Parts, Inventory) {
    let c = collector(spec).expect("collector builds");
    let parts = read_all(c.as_ref()).await.expect("fetch does not abort the scan");
    let inventory = c.transform(&parts, &spec.id, "2026-11-25T00:00:00Z");
    (parts, inventory)
}

async fn stats(base: &str) -> SimStats {
    reqwest::get(format!("{base}/__sandbox/stats"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn status(parts: &Parts, short: &str) -> CoverageStatus {
    parts[&format!("m365.{short}")].coverage.status
}

const DELEGATED_ONLY: &[&str] = &[
    "copilot_limited_mode",
    "copilot_policy_settings",
    "powerplatform_inventory",
];

#[tokio::test]
async fn risky_tenant_is_read_through_every_surface_with_one_token_per_audience() {
    let config = SimConfig {
        graph_page_size: 2,
        ..Default::default()
    };
    let server = m365::start(config, scenarios::risky(), 0).await.unwrap();
    let (parts, inv) = collect(&spec(&server.base_url)).await;
    for (resource, part) in &parts {
        let short = resource.trim_start_matches("m365.");
        if short == "copilot_audit" {
            assert_eq!(part.coverage.status, CoverageStatus::Unsupported);
            assert_eq!(part.coverage.requests, 0);
        } else if DELEGATED_ONLY.contains(&short) {
            assert_eq!(part.coverage.status, CoverageStatus::Unavailable, "{resource}");
            assert!(part
                .coverage
                .error
                .as_deref()
                .unwrap()
                .contains("delegated admin sign-in"));
        } else {
            assert_eq!(
                part.coverage.status,
                CoverageStatus::Collected,
                "{resource}: {:?}",
                part.coverage.error
            );
        }
    }
    // 5 users in pages of 2; Dataverse pages of 1 (three bots) followed by @odata.nextLink.
    assert_eq!(parts["m365.users"].records.len(), 5);
    assert_eq!(parts["m365.copilot_studio_bots"].records.len(), 3);
    // The environment without Dataverse is skipped; topics (type 0) are filtered out.
    assert_eq!(parts["m365.copilot_studio_components"].records.len(), 5);
    let s = stats(&server.base_url).await;
    for audience in ["graph", "bap", "pp", "dataverse:org1"] {
        assert_eq!(
            s.tokens_by_audience.get(audience),
            Some(&1),
            "{audience}: {:?}",
            s.tokens_by_audience
        );
    }
    assert_eq!(s.wrong_audience, 0);
    assert_eq!(s.dataverse_max_page, 1, "Prefer: odata.maxpagesize is sent");
    assert!(s.batch_requests >= 3 && s.batch_items >= 8, "{s:?}");
    // Every HTTP request the simulator saw is counted in the scan's record.
    let counted: u64 = parts.values().map(|p| p.coverage.requests).sum();
    assert_eq!(counted, s.api_requests);

    // App roles resolved to names from the tenant's own Graph and SharePoint principals.
    let chatgpt = inv
        .principals
        .iter()
        .find(|p| p.name == "ChatGPT Enterprise Connector")
        .unwrap();
    assert_eq!(
        chatgpt.roles,
        vec!["Chat.Read.All", "Files.ReadWrite.All", "Sites.FullControl.All"]
    );
    assert_eq!(chatgpt.attributes["ai"], json!(true));
    let acme = inv
        .principals
        .iter()
        .find(|p| p.name == "Acme AI Meeting Assistant")
        .unwrap();
    assert_eq!(acme.attributes["active_owner_count"], json!(0));
    assert_eq!(acme.attributes["user_consent_count"], json!(2));
    let identity = inv.principals.iter().find(|p| p.name == "HR Onboarding Agent").unwrap();
    assert_eq!(identity.kind, PrincipalKind::AiIdentity);
    assert!(identity.privileged);
    let payroll = inv.principals.iter().find(|p| p.name == "Payroll Sync").unwrap();
    assert_eq!(payroll.attributes["ai"], json!(false));

    let hr = inv.agents.iter().find(|a| a.name == "HR Helper").unwrap();
    assert_eq!(hr.audience, vec!["m365:anonymous"]);
    assert_eq!(hr.identity, RunIdentity::Fixed);
    assert_eq!(hr.attributes["maker_credential_actions"], json!(["Send email"]));
    assert!(hr
        .knowledge
        .contains(&"m365:site:https://contoso.sharepoint.com/sites/hr".to_string()));
    let it = inv.agents.iter().find(|a| a.name == "IT Support Bot").unwrap();
    assert_eq!(it.attributes["owner_state"], json!("disabled"));
    assert_eq!(it.last_used, None, "only a conversation older than 90 days");
    assert!(hr.last_used.is_some());
    assert!(inv.agents.iter().any(|a| a.kind == "m365_copilot"));
    let plugin = inv.tools.iter().find(|t| t.kind == "api_plugin").unwrap();
    assert_eq!(plugin.attributes["auth_type"], json!("none"));
}

#[tokio::test]
async fn batch_items_throttled_with_decimal_retry_after_are_retried_alone() {
    let config = SimConfig {
        throttle_every: Some(4),
        retry_after: "0.2".into(),
        ..Default::default()
    };
    let server = m365::start(config, scenarios::risky(), 0).await.unwrap();
    let spec = spec(&server.base_url);
    let c = collector(&spec).unwrap();
    let parts = read_all(c.as_ref()).await.unwrap();
    for short in [
        "app_role_assignments",
        "service_principal_owners",
        "permission_catalog",
        "copilot_packages",
    ] {
        assert_eq!(status(&parts, short), CoverageStatus::Collected, "{short}");
    }
    let s = stats(&server.base_url).await;
    assert!(s.throttled >= 5, "{s:?}");
    assert_eq!(
        c.stats().throttled(),
        s.throttled,
        "every refusal is counted, inside batches too"
    );
    // Same data as an unthrottled read.
    let clean_server = m365::start(SimConfig::default(), scenarios::risky(), 0).await.unwrap();
    let (reference, _) = collect(&self::spec(&clean_server.base_url)).await;
    for short in ["app_role_assignments", "service_principal_owners", "permission_catalog"] {
        let key = format!("m365.{short}");
        let ids = |p: &Parts| -> HashSet<String> { p[&key].records.iter().map(|r| r.to_string()).collect() };
        assert_eq!(ids(&parts), ids(&reference), "{short}");
    }
}

#[tokio::test]
async fn a_batch_never_carries_more_than_twenty_requests() {
    let server = m365::start(SimConfig::default(), scenarios::generated(45, 0), 0)
        .await
        .unwrap();
    let (parts, inv) = collect(&spec(&server.base_url)).await;
    assert_eq!(status(&parts, "app_role_assignments"), CoverageStatus::Collected);
    let s = stats(&server.base_url).await;
    // 48 principals of interest: 3 batches for assignments and 3 for owners, plus the rest.
    assert!(s.batch_requests >= 6, "{s:?}");
    let generated = inv
        .principals
        .iter()
        .filter(|p| p.name.starts_with("Generated AI Writer"))
        .count();
    assert_eq!(generated, 45);
    assert!(inv
        .principals
        .iter()
        .filter(|p| p.name.starts_with("Generated AI Writer"))
        .all(|p| p.roles == vec!["Files.Read.All"]));
}

#[tokio::test]
async fn expired_tokens_are_renewed_once_per_audience() {
    let server = m365::start(SimConfig::default(), scenarios::risky(), 0).await.unwrap();
    let spec = spec(&server.base_url);
    let c = collector(&spec).unwrap();
    let mut parts = Parts::new();
    for (i, resource) in c.resources().into_iter().enumerate() {
        if i == 3 || i == 16 {
            reqwest::Client::new()
                .post(format!("{}/__sandbox/expire_tokens", server.base_url))
                .send()
                .await
                .unwrap();
        }
        let part = c.fetch(&resource, &parts).await.unwrap();
        parts.insert(resource, part);
    }
    assert_eq!(status(&parts, "copilot_studio_owners"), CoverageStatus::Collected);
    assert_eq!(status(&parts, "copilot_packages"), CoverageStatus::Collected);
    let s = stats(&server.base_url).await;
    assert_eq!(s.tokens_by_audience["graph"], 2, "{s:?}");
    assert_eq!(s.tokens_by_audience["dataverse:org1"], 2, "{s:?}");
    assert!(s.unauthorized >= 2);
}

#[tokio::test]
async fn a_forbidden_endpoint_is_a_gap_and_its_dependents_say_why() {
    let config = SimConfig {
        forbidden: ["servicePrincipals".to_string(), "dataverse:org1".to_string()].into(),
        ..Default::default()
    };
    let server = m365::start(config, scenarios::risky(), 0).await.unwrap();
    let (parts, inv) = collect(&spec(&server.base_url)).await;
    assert_eq!(status(&parts, "service_principals"), CoverageStatus::Forbidden);
    assert_eq!(status(&parts, "app_role_assignments"), CoverageStatus::Failed);
    assert!(parts["m365.app_role_assignments"]
        .coverage
        .error
        .as_deref()
        .unwrap()
        .contains("m365.service_principals"));
    assert_eq!(status(&parts, "copilot_studio_bots"), CoverageStatus::Forbidden);
    assert!(parts["m365.copilot_studio_bots"]
        .coverage
        .error
        .as_deref()
        .unwrap()
        .contains("environment"));
    // What was readable still arrives.
    assert_eq!(status(&parts, "users"), CoverageStatus::Collected);
    assert!(inv.agents.iter().any(|a| a.kind == "copilot_package_agent"));
    assert!(!inv.agents.iter().any(|a| a.kind == "copilot_studio_agent"));
}

#[tokio::test]
async fn no_agent365_licence_is_feature_unavailable_not_a_credential_failure() {
    let config = SimConfig {
        agent365_licensed: false,
        ..Default::default()
    };
    let server = m365::start(config, scenarios::risky(), 0).await.unwrap();
    let (parts, _) = collect(&spec(&server.base_url)).await;
    assert_eq!(status(&parts, "copilot_packages"), CoverageStatus::NotLicensed);
    assert!(parts["m365.copilot_packages"]
        .coverage
        .error
        .as_deref()
        .unwrap()
        .contains("feature unavailable"));
    assert_eq!(status(&parts, "service_principals"), CoverageStatus::Collected);
}

#[tokio::test]
async fn a_wrong_secret_is_refused_at_the_token_endpoint() {
    let server = m365::start(SimConfig::default(), scenarios::risky(), 0).await.unwrap();
    let mut spec = spec(&server.base_url);
    spec.secrets.insert("client_secret".into(), "wrong".into());
    let error = connectors::verify(&spec).await.unwrap_err().to_string();
    assert!(error.contains("invalid_client"), "{error}");
    assert!(!error.contains("wrong"), "the secret is never echoed: {error}");
}

#[tokio::test]
async fn a_token_for_one_audience_is_refused_by_another() {
    let server = m365::start(SimConfig::default(), scenarios::risky(), 0).await.unwrap();
    let base = &server.base_url;
    let access = &token(base, "graph").await;
    let at = |url: String| reqwest::Client::new().get(url).bearer_auth(access).send();
    assert_eq!(at(format!("{base}/graph/v1.0/users")).await.unwrap().status(), 200);
    let bap = at(format!(
        "{base}/bap/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments?api-version=2020-10-01"
    ))
    .await
    .unwrap();
    assert_eq!(bap.status(), 401);
    assert_eq!(stats(base).await.wrong_audience, 1);
}

#[tokio::test]
async fn every_agent_owner_is_looked_up_however_many_there_are() {
    // 45 agents with 45 different makers: more owners than one Dataverse filter carries.
    let server = m365::start(SimConfig::default(), scenarios::generated(0, 45), 0)
        .await
        .unwrap();
    let mut spec = spec(&server.base_url);
    spec.settings["page_size"] = json!(500); // Dataverse is paced at 10 requests/s
    let (parts, inv) = collect(&spec).await;
    assert_eq!(status(&parts, "copilot_studio_owners"), CoverageStatus::Collected);
    // 47 owners in this environment: two filtered lookups of at most 40.
    assert_eq!(parts["m365.copilot_studio_owners"].coverage.requests, 2);
    let generated: Vec<_> = inv
        .agents
        .iter()
        .filter(|a| a.name.starts_with("Generated agent"))
        .collect();
    assert_eq!(generated.len(), 45);
    for agent in generated {
        assert_eq!(agent.attributes["owner_state"], json!("active"), "{}", agent.name);
        assert!(agent.owner.is_some(), "{}", agent.name);
    }
}

#[tokio::test]
async fn a_dataverse_url_off_microsofts_domains_gets_no_token() {
    // BAP is the vendor's answer: an environment whose instanceUrl points at another host
    // must not receive a bearer token (or any request).
    let elsewhere = m365::start(SimConfig::default(), scenarios::risky(), 0).await.unwrap();
    let mut tenant = scenarios::risky();
    for env in &mut tenant.environments {
        if let Some(meta) = env.pointer_mut("/properties/linkedEnvironmentMetadata") {
            meta["instanceUrl"] = json!(format!("{}/dataverse/org1/", elsewhere.base_url));
        }
    }
    let server = m365::start(SimConfig::default(), tenant, 0).await.unwrap();
    let (parts, _) = collect(&spec(&server.base_url)).await;
    let bots = &parts["m365.copilot_studio_bots"].coverage;
    assert_eq!(bots.status, CoverageStatus::Failed, "{bots:?}");
    let reason = bots.error.as_deref().unwrap();
    assert!(reason.contains("not on a Dataverse domain"), "{reason}");
    let other = stats(&elsewhere.base_url).await;
    assert_eq!(other.api_requests, 0, "{other:?}");
    assert!(other.tokens_by_audience.is_empty(), "{other:?}");
}

/// A token for one audience from the simulator's token endpoint.
async fn token(base: &str, audience: &str) -> String {
    let config = SimConfig::default();
    let body: Value = reqwest::Client::new()
        .post(format!("{base}/login/{}/oauth2/v2.0/token", config.directory_id))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", config.client_id.as_str()),
            ("client_secret", config.client_secret.as_str()),
            ("scope", &format!("{base}/{audience}/.default")),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["access_token"].as_str().unwrap().to_string()
}

async fn get(url: &str, token: &str) -> (u16, Value) {
    let response = reqwest::Client::new().get(url).bearer_auth(token).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn the_simulator_refuses_what_the_metadata_does_not_declare_as_microsoft_does() {
    let server = m365::start(SimConfig::default(), scenarios::risky(), 0).await.unwrap();
    let base = &server.base_url;
    let graph = token(base, "graph").await;
    let (status, body) = get(
        &format!("{base}/graph/v1.0/servicePrincipals?$select=id,publisherName"),
        &graph,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "BadRequest");
    assert_eq!(
        body["error"]["message"],
        "Could not find a property named 'publisherName' on type 'microsoft.graph.servicePrincipal'."
    );
    // Beta declares it.
    let (status, _) = get(
        &format!("{base}/graph/beta/servicePrincipals?$select=id,publisherName"),
        &graph,
    )
    .await;
    assert_eq!(status, 200);
    // A beta-only path on v1.0.
    let (status, body) = get(
        &format!("{base}/graph/v1.0/security/informationProtection/sensitivityLabels"),
        &graph,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error"]["message"],
        "Resource not found for the segment 'informationProtection'."
    );
    // Dataverse names a lookup only as `_<name>_value`.
    let dataverse = token(base, "dataverse/org1").await;
    let url = format!("{base}/dataverse/org1/api/data/v9.2/bots?$select=botid,ownerid");
    let (status, body) = get(&url, &dataverse).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error"]["message"],
        "Could not find a property named 'ownerid' on type 'Microsoft.Dynamics.CRM.bot'."
    );
}
