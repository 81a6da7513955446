//! A Google Workspace domain through the queue, on SQLite and on PostgreSQL: the simulated
//! domain scanned by the workers, Google's throttling ridden out, a delegation withdrawn at
//! Google stopping the scan with the admin's fix in its words (and resolving nothing), and the
//! findings following the domain to `clean`.

use schemas::FindingStatus;
use std::collections::BTreeSet;
use store::ScanStatus;

mod common;
use common::*;

const PROVIDER: &str = "google_workspace";

async fn connect_domain(rt: &jobs::Runtime, tenant: &str, sim: &sandbox::SimulatedConnection) -> String {
    let t = rt.store.add_tenant(tenant).await.unwrap();
    let id = store::new_id();
    let sealed = rt.secrets.seal(
        &store::SealContext::new(&id, &t.id, PROVIDER, &sim.settings),
        &sim.secrets,
    );
    rt.store
        .add_connection(&id, &t.id, PROVIDER, &sim.label, &sim.settings, sealed)
        .await
        .unwrap();
    id
}

async fn control(sim: &sandbox::SimulatedConnection, path: &str, body: serde_json::Value) {
    let answer = reqwest::Client::new()
        .post(format!("{}/__sandbox/{path}", sim.server.base_url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{path}");
}

fn open_rules(findings: &[schemas::Finding]) -> BTreeSet<String> {
    findings
        .iter()
        .filter(|f| f.status == FindingStatus::Open && f.rule_id.starts_with("GWS-"))
        .map(|f| f.rule_id.clone())
        .collect()
}

async fn domain_lifecycle(db: TestDb) {
    let sim = sandbox::google_workspace::simulated_connection("risky").await.unwrap();
    let rt = runtime(&db.url).await;
    let conn = connect_domain(&rt, "acme", &sim).await;
    let tenant = rt.store.tenant("acme").await.unwrap();

    // Risky: every Google Workspace rule but the two only an admin can settle opens a finding.
    let first = scan(&rt, "acme", &conn).await;
    assert_eq!(first.status, ScanStatus::Completed, "{first:?}");
    let risky = open_rules(&rt.store.findings(&tenant.id).await.unwrap());
    assert_eq!(risky.len(), 29, "{risky:?}");
    assert!(!risky.contains("GWS-AI-018") && !risky.contains("GWS-AI-031"));

    // Google throttles the Directory API: the scan backs off and completes, nothing changes.
    control(&sim, "throttle", serde_json::json!({"api": "directory", "count": 2})).await;
    let throttled = scan(&rt, "acme", &conn).await;
    assert_eq!(throttled.status, ScanStatus::Completed, "{throttled:?}");
    assert!(throttled.throttled >= 2, "{throttled:?}");
    assert_eq!(open_rules(&rt.store.findings(&tenant.id).await.unwrap()), risky);

    // The admin withdraws the tokens scope from the delegation: the scan stops, names the fix,
    // and resolves nothing (the last complete snapshot stands).
    control(
        &sim,
        "revoke_delegation",
        serde_json::json!({"scopes": ["https://www.googleapis.com/auth/admin.directory.user.security"]}),
    )
    .await;
    let refused = scan(&rt, "acme", &conn).await;
    assert_eq!(refused.status, ScanStatus::Failed, "{refused:?}");
    let error = refused.error.clone().unwrap_or_default();
    assert!(
        error.contains("unauthorized_client") && error.contains("Domain-wide delegation"),
        "{error}"
    );
    assert!(!error.contains("PRIVATE KEY"), "{error}");
    assert_eq!(open_rules(&rt.store.findings(&tenant.id).await.unwrap()), risky);

    // The admin delegates it again and cleans the domain up: everything resolves but the
    // injection path, which stands wherever Gemini is on.
    control(
        &sim,
        "delegate",
        serde_json::json!({"scopes": ["https://www.googleapis.com/auth/admin.directory.user.security"]}),
    )
    .await;
    control(&sim, "scenario/clean", serde_json::json!({})).await;
    let clean = scan(&rt, "acme", &conn).await;
    assert_eq!(clean.status, ScanStatus::Completed, "{clean:?}");
    let open = open_rules(&rt.store.findings(&tenant.id).await.unwrap());
    assert_eq!(open, BTreeSet::from(["GWS-PATH-001".to_string()]), "{open:?}");

    // The key file is sealed at rest.
    let row = rt.store.connection(&conn).await.unwrap();
    assert!(!row.secrets.contains("PRIVATE KEY") && !row.secrets.contains("private_key"));
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn google_workspace_domain_lifecycle_on_sqlite() {
    domain_lifecycle(sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn google_workspace_domain_lifecycle_on_postgres() {
    if let Some(db) = postgres("google_workspace_domain_lifecycle_on_postgres").await {
        domain_lifecycle(db).await;
    }
}
