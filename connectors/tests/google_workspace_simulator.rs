//! The Google Workspace connector against the simulated domain (`sandbox::google_workspace`):
//! the service account's signed assertion, Google's refusals in the admin's terms, a delegated
//! admin where a super admin is needed, throttling, and a scan's request count against the
//! fewest Google's paging allows.

use connectors::google_workspace::GoogleWorkspace;
use connectors::{collector, read_all, ConnectionSpec};
use sandbox::google_workspace::{key_file, scenarios, start, SimConfig, ADMIN_EMAIL, CLIENT_ID};
use schemas::CoverageStatus;
use serde_json::{json, Value};

const SECURITY: &str = "https://www.googleapis.com/auth/admin.directory.user.security";

fn spec(base: &str, key: String, extra: Value) -> ConnectionSpec {
    let mut settings = json!({"admin_email": ADMIN_EMAIL, "api_base_url": base, "max_rps": 500.0});
    for (k, v) in extra.as_object().unwrap() {
        settings[k] = v.clone();
    }
    ConnectionSpec {
        id: "gw".into(),
        provider: "google_workspace".into(),
        settings,
        secrets: [("service_account_key".to_string(), key)].into(),
    }
}

async fn stats(base: &str) -> Value {
    reqwest::get(format!("{base}/__sandbox/stats"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn control(base: &str, path: &str, body: Value) {
    let answer = reqwest::Client::new()
        .post(format!("{base}/__sandbox/{path}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{path}");
}

#[tokio::test]
async fn a_scan_signs_in_once_per_scope_set_and_reads_at_the_fewest_requests_paging_allows() {
    let scenario = scenarios::risky();
    // The fewest requests Google's paging allows (§9.1.11), from the domain's own records:
    // one page per list at each method's cap, one tokens.list per active user, and one page
    // per audit application (each holds fewer than 1,000 events).
    let pages = |n: usize, cap: usize| n.div_ceil(cap).max(1) as u64;
    let active = scenario.users.iter().filter(|u| !u.suspended).count() as u64;
    let minimum = 1 // customers.get
        + 1 // orgunits (no paging)
        + pages(scenario.users.len(), 500)
        + pages(scenario.roles.len(), 100)
        + pages(scenario.role_assignments.len(), 200)
        + pages(scenario.groups.len(), 200)
        + pages(scenario.policies.len(), 100)
        + active
        + 6; // admin, token, gemini_in_workspace_apps, gemini_notebook, workspace_studio, access_evaluation
    let server = start(SimConfig::default(), scenario, 0).await.unwrap();
    let base = server.base_url.clone();
    let c = collector(&spec(&base, key_file(&base), json!({}))).unwrap();
    let parts = read_all(c.as_ref()).await.unwrap();
    for part in parts.values() {
        assert_eq!(part.coverage.status, CoverageStatus::Collected, "{:?}", part.coverage);
    }
    let seen = stats(&base).await;
    assert_eq!(seen["token_requests"], 2, "one token per scope set, reused: {seen}");
    assert_eq!(seen["requests"].as_u64().unwrap(), minimum, "{seen}");
    assert_eq!(c.stats().requests(), minimum);
    let scopes: Vec<&str> = seen["tokens_scopes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(scopes.iter().filter(|s| s.contains(SECURITY)).count(), 1);
    assert!(
        scopes.contains(&SECURITY),
        "the write-capable scope travels alone: {scopes:?}"
    );
}

#[tokio::test]
async fn a_scope_not_delegated_is_a_connect_time_error_that_says_what_to_delegate() {
    let config = SimConfig {
        delegated_scopes: sandbox::google_workspace::read_scopes(),
        ..SimConfig::default()
    };
    let server = start(config, scenarios::clean(), 0).await.unwrap();
    let base = server.base_url.clone();
    let gw = GoogleWorkspace::from_spec(&spec(&base, key_file(&base), json!({}))).unwrap();
    let error = gw.verify().await.unwrap_err().to_string();
    assert!(error.contains("unauthorized_client"), "{error}");
    assert!(
        error.contains("Domain-wide delegation") && error.contains(CLIENT_ID),
        "{error}"
    );
    assert!(error.contains(SECURITY), "names the scope list: {error}");
    // Without the tokens inventory the same delegation is enough.
    let gw = GoogleWorkspace::from_spec(&spec(&base, key_file(&base), json!({"tokens_inventory": "off"}))).unwrap();
    gw.verify().await.unwrap();
}

#[tokio::test]
async fn google_refuses_a_wrong_key_and_an_unknown_admin_in_its_own_words() {
    let server = start(SimConfig::default(), scenarios::clean(), 0).await.unwrap();
    let base = server.base_url.clone();
    // The right key file with another key in it: the signature does not verify.
    let mut file: Value = serde_json::from_str(&key_file(&base)).unwrap();
    file["private_key"] = json!(sandbox::salesforce::TEST_PRIVATE_KEY_PEM);
    let gw = GoogleWorkspace::from_spec(&spec(&base, file.to_string(), json!({}))).unwrap();
    let error = gw.verify().await.unwrap_err().to_string();
    assert!(
        error.contains("invalid_grant") && error.contains("did not accept the assertion"),
        "{error}"
    );
    assert!(!error.contains("BEGIN"), "{error}");
    let gw = GoogleWorkspace::from_spec(&spec(
        &base,
        key_file(&base),
        json!({"admin_email": "nobody@example.com"}),
    ))
    .unwrap();
    let error = gw.verify().await.unwrap_err().to_string();
    assert!(
        error.contains("Invalid email or User ID") && error.contains("nobody@example.com"),
        "{error}"
    );
    // Settings and key files that cannot work are named in one line before anything is sent.
    for (settings, key, word) in [
        (json!({"admin_email": "not-an-email"}), key_file(&base), "admin_email"),
        (
            json!({"tokens_inventory": "maybe"}),
            key_file(&base),
            "tokens_inventory",
        ),
        (json!({"customer_id": "C01; DROP"}), key_file(&base), "customer_id"),
        (
            json!({}),
            "{\"type\": \"authorized_user\"}".to_string(),
            "service_account",
        ),
    ] {
        let error = GoogleWorkspace::from_spec(&spec(&base, key, settings))
            .err()
            .expect(word)
            .to_string();
        assert!(error.contains(word) && !error.contains('\n'), "{error}");
    }
}

#[tokio::test]
async fn a_delegated_admin_gets_the_directory_but_not_the_policy_api_and_throttling_is_ridden_out() {
    let server = start(SimConfig::default(), scenarios::risky(), 0).await.unwrap();
    let base = server.base_url.clone();
    control(&base, "throttle", json!({"api": "policies", "count": 1})).await;
    control(&base, "throttle", json!({"api": "reports", "count": 1})).await;
    let delegated = json!({"admin_email": "dana.ortiz@example.com"});
    let c = collector(&spec(&base, key_file(&base), delegated)).unwrap();
    let parts = read_all(c.as_ref()).await.unwrap();
    let policies = &parts["google_workspace.policies"].coverage;
    assert_eq!(policies.status, CoverageStatus::Forbidden, "{policies:?}");
    assert!(
        policies.error.as_deref().unwrap_or("").contains("super admins only"),
        "{policies:?}"
    );
    assert_eq!(
        parts["google_workspace.users"].coverage.status,
        CoverageStatus::Collected
    );
    assert_eq!(
        parts["google_workspace.admin_events"].coverage.status,
        CoverageStatus::Collected
    );
    assert!(c.stats().throttled() >= 1, "the throttled read was retried");
    // Without the policies, no Policy API setting is reported (not even a default).
    let inv = c.transform(&parts, "gw", "2026-12-04T00:00:00Z");
    assert!(!inv
        .settings
        .iter()
        .any(|s| s.key == "google_workspace.gemini_app.service_status"));
    let seen = stats(&base).await;
    assert_eq!(seen["writes"], 0);
}
