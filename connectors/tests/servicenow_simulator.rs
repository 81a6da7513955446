//! The ServiceNow connector against the simulator: paging with short pages, 429 with
//! Retry-After, expired tokens, 403 tables, bad credentials.

use connectors::{collector, read_all, ConnectionSpec, Parts};
use sandbox::servicenow::{self, scenarios, SimConfig, SimStats};
use schemas::{CoverageStatus, Inventory, RunIdentity};
use serde_json::json;
use std::time::Duration;

fn spec(base_url: &str, page_size: u64, password_grant: bool) -> ConnectionSpec {
    let config = SimConfig::default();
    let mut settings = json!({
        "instance_url": base_url,
        "client_id": config.client_id,
        "page_size": page_size,
        "max_rps": 200.0,
    });
    let mut secrets = std::collections::BTreeMap::from([("client_secret".to_string(), config.client_secret.clone())]);
    if password_grant {
        settings["username"] = json!(config.users[0].0);
        secrets.insert("password".into(), config.users[0].1.clone());
    }
    ConnectionSpec {
        id: "conn-test".into(),
        provider: "servicenow".into(),
        settings,
        secrets,
    }
}

async fn collect(spec: &ConnectionSpec) -> (Parts, Inventory) {
    let c = collector(spec).expect("collector builds");
    let parts = read_all(c.as_ref()).await.expect("fetch does not abort the scan");
    let inventory = c.transform(&parts, &spec.id, "2026-11-24T00:00:00Z");
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

#[tokio::test]
async fn short_pages_are_followed_to_the_end() {
    let server = servicenow::start(SimConfig::default(), scenarios::risky(), 0)
        .await
        .unwrap();
    let (parts, inventory) = collect(&spec(&server.base_url, 2, false)).await;
    // 6 agent rows, one hidden by a row ACL: pages of 2 come back as 2, 2 and 1, and the
    // connector must not stop at the short page.
    let agents = &parts["servicenow.sn_aia_agent"];
    assert_eq!(agents.coverage.status, CoverageStatus::Collected);
    assert_eq!(agents.records.len(), 5);
    assert_eq!(agents.coverage.requests, 3);
    let names: Vec<_> = inventory.agents.iter().map(|a| a.name.as_str()).collect();
    assert!(names.contains(&"Knowledge Helper"), "{names:?}");
    let ops = inventory
        .agents
        .iter()
        .find(|a| a.name == "Record Operations Agent")
        .unwrap();
    assert_eq!(ops.identity, RunIdentity::Fixed);
    let run_as = inventory
        .principals
        .iter()
        .find(|p| Some(&p.id) == ops.run_as.as_ref())
        .unwrap();
    assert!(run_as.privileged, "run-as user holds admin: {run_as:?}");
    assert!(run_as.roles.contains(&"admin".to_string()));
    // Admins who are not run-as users are read too (privileged role holders).
    let jane = inventory
        .principals
        .iter()
        .find(|p| p.name == "jane.admin")
        .expect("admins are collected");
    assert!(jane.privileged);
    assert_eq!(jane.roles, ["admin"]);
    assert!(
        !inventory.principals.iter().any(|p| p.name == "svc.aispm.reader"),
        "non-privileged users are not"
    );
}

#[tokio::test]
async fn throttled_requests_are_retried_after_retry_after() {
    let config = SimConfig {
        throttle_every: Some(5),
        ..SimConfig::default()
    };
    let server = servicenow::start(config, scenarios::clean(), 0).await.unwrap();
    let (parts, _) = collect(&spec(&server.base_url, 50, false)).await;
    assert!(
        parts.values().all(|p| p.coverage.status == CoverageStatus::Collected),
        "{parts:#?}"
    );
    let s = stats(&server.base_url).await;
    assert!(s.throttled >= 3, "the simulator throttled {s:?}");
    // The scan's own request count is what the instance saw: refused requests count too.
    let counted: u64 = parts.values().map(|p| p.coverage.requests).sum();
    assert_eq!(counted, s.table_requests, "{s:?}");
    // Every table was read despite one request in five being refused.
    let records: usize = parts.values().map(|p| p.records.len()).sum();
    assert!(records > 20);
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once() {
    let config = SimConfig {
        token_ttl: Duration::from_secs(3600),
        ..SimConfig::default()
    };
    let server = servicenow::start(config, scenarios::clean(), 0).await.unwrap();
    let s = spec(&server.base_url, 50, true);
    let c = collector(&s).unwrap();
    let parts = Parts::new();
    let first = c.fetch("servicenow.sys_store_app", &parts).await.unwrap();
    assert_eq!(first.coverage.status, CoverageStatus::Collected);
    reqwest::Client::new()
        .post(format!("{}/__sandbox/expire_tokens", server.base_url))
        .send()
        .await
        .unwrap();
    let second = c.fetch("servicenow.sn_aia_agent", &parts).await.unwrap();
    assert_eq!(
        second.coverage.status,
        CoverageStatus::Collected,
        "{:?}",
        second.coverage
    );
    let st = stats(&server.base_url).await;
    assert_eq!(st.unauthorized, 1, "one 401, then the refreshed token worked: {st:?}");
    assert_eq!(st.token_requests, 2, "password grant, then refresh grant: {st:?}");
}

#[tokio::test]
async fn a_forbidden_table_becomes_a_coverage_gap_and_the_scan_goes_on() {
    let config = SimConfig {
        forbidden_tables: ["sys_properties".to_string()].into(),
        ..SimConfig::default()
    };
    let server = servicenow::start(config, scenarios::risky(), 0).await.unwrap();
    let (parts, inventory) = collect(&spec(&server.base_url, 100, false)).await;
    let props = &parts["servicenow.sys_properties"];
    assert_eq!(props.coverage.status, CoverageStatus::Forbidden);
    assert!(
        props.coverage.error.as_deref().unwrap().contains("403"),
        "{:?}",
        props.coverage.error
    );
    // Nothing from sys_properties is invented from defaults.
    assert!(!inventory
        .settings
        .iter()
        .any(|s| s.key.starts_with("servicenow.sn_aia.")));
    // The rest was still collected.
    assert_eq!(
        parts["servicenow.sn_aia_agent"].coverage.status,
        CoverageStatus::Collected
    );
}

#[tokio::test]
async fn a_bad_secret_is_refused_at_verify() {
    let server = servicenow::start(SimConfig::default(), scenarios::clean(), 0)
        .await
        .unwrap();
    let mut s = spec(&server.base_url, 50, false);
    s.secrets.insert("client_secret".into(), "wrong".into());
    let error = connectors::verify(&s).await.unwrap_err().to_string();
    assert!(error.contains("refused"), "{error}");
    assert!(
        !error.contains("wrong"),
        "the secret must not appear in the error: {error}"
    );
}

#[tokio::test]
async fn a_malformed_answer_is_a_coverage_gap_with_the_reason() {
    let config = SimConfig {
        malformed_tables: ["sn_aia_tool".to_string()].into(),
        ..SimConfig::default()
    };
    let server = servicenow::start(config, scenarios::risky(), 0).await.unwrap();
    let (parts, inventory) = collect(&spec(&server.base_url, 100, false)).await;
    let tools = &parts["servicenow.sn_aia_tool"];
    assert_eq!(tools.coverage.status, CoverageStatus::Failed);
    assert!(
        tools.coverage.error.as_deref().unwrap().contains("malformed"),
        "{:?}",
        tools.coverage.error
    );
    // The bindings still name their tools: what those do is unknown, not absent.
    assert!(!inventory.tools.is_empty());
    assert!(
        inventory.tools.iter().all(|t| t.capabilities_unknown.is_some()),
        "{:?}",
        inventory.tools
    );
    assert_eq!(
        parts["servicenow.sn_aia_agent"].coverage.status,
        CoverageStatus::Collected
    );
}

#[tokio::test]
async fn an_advertised_hourly_limit_slows_the_client_to_its_share() {
    // 20 requests per second (72,000 per hour advertised); the client is set to 100/s but may
    // use half the advertised budget: it settles at 10/s and is never refused.
    let config = SimConfig {
        rate_limit: Some(servicenow::RateLimit {
            limit: 20,
            window: Duration::from_secs(1),
        }),
        ..SimConfig::default()
    };
    let server = servicenow::start(config, scenarios::clean(), 0).await.unwrap();
    let mut s = spec(&server.base_url, 100, false);
    s.settings["max_rps"] = json!(100.0);
    let (parts, _) = collect(&s).await;
    assert!(parts.values().all(|p| p.coverage.status == CoverageStatus::Collected));
    let st = stats(&server.base_url).await;
    assert_eq!(st.throttled, 0, "{st:?}");
    assert!(st.table_requests > 20, "more requests than one window allows: {st:?}");
}
