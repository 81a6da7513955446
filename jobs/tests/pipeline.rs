//! Store, queue and workers on SQLite and on PostgreSQL, against the ServiceNow simulator:
//! scans through the apalis queue, snapshots, finding lifecycle across rescans, a failed scan
//! leaving the previous snapshot authoritative, secrets sealed at rest.
//!
//! PostgreSQL runs when AISPM_TEST_POSTGRES_URL names a server (each test creates and drops
//! its own database); otherwise those cases say they were skipped.

use sandbox::servicenow::{self, scenarios, SimConfig};
use schemas::FindingStatus;
use serde_json::json;
use std::collections::BTreeMap;
use store::{ScanStatus, Store};

mod common;
use common::*;

async fn lifecycle(db: TestDb) {
    let server = servicenow::start(SimConfig::default(), scenarios::risky(), 0)
        .await
        .unwrap();
    let rt = runtime(&db.url).await;
    let conn = connect(&rt, "acme", &server.base_url).await;
    let tenant = rt.store.tenant("acme").await.unwrap();

    // 1. A risky instance: the scan completes through the queue and findings open.
    let first = scan(&rt, "acme", &conn).await;
    assert_eq!(first.status, ScanStatus::Completed, "{first:?}");
    assert_eq!(first.resources_done, first.resources_total);
    assert!(first.requests >= first.resources_total as i64);
    let findings = rt.store.findings(&tenant.id).await.unwrap();
    let open: Vec<_> = findings.iter().filter(|f| f.status == FindingStatus::Open).collect();
    assert!(
        open.len() >= 36,
        "risky opens at least one finding per rule: {}",
        open.len()
    );
    let snooped = open
        .iter()
        .find(|f| f.rule_id == "SNOW-001")
        .map(|f| (*f).clone())
        .expect("SNOW-001 open");

    // 2. Hardened: every finding resolves; first_seen is kept.
    reqwest::Client::new()
        .post(format!("{}/__sandbox/scenario/clean", server.base_url))
        .send()
        .await
        .unwrap();
    let second = scan(&rt, "acme", &conn).await;
    assert_eq!(second.status, ScanStatus::Completed);
    let after = rt.store.findings(&tenant.id).await.unwrap();
    assert!(
        after.iter().all(|f| f.status == FindingStatus::Resolved),
        "clean resolves everything"
    );
    let resolved = after.iter().find(|f| f.fingerprint == snooped.fingerprint).unwrap();
    assert_eq!(resolved.first_seen, snooped.first_seen);

    // 3. The risk comes back: the same finding reopens with its original first_seen.
    reqwest::Client::new()
        .post(format!("{}/__sandbox/scenario/risky", server.base_url))
        .send()
        .await
        .unwrap();
    scan(&rt, "acme", &conn).await;
    let again = rt.store.findings(&tenant.id).await.unwrap();
    let reopened = again.iter().find(|f| f.fingerprint == snooped.fingerprint).unwrap();
    assert_eq!(reopened.status, FindingStatus::Open);
    assert_eq!(reopened.first_seen, snooped.first_seen);
    assert!(reopened.last_seen > snooped.last_seen);

    // 4. Credentials stop working: the scan fails with the reason, nothing is lost, the last
    //    complete snapshot stays authoritative and findings stay as they were.
    let snapshots_before = rt.store.snapshot_count(&conn).await.unwrap();
    let inventory_before = rt.store.latest_inventories(&tenant.id).await.unwrap();
    reqwest::Client::new()
        .post(format!("{}/__sandbox/client_secret", server.base_url))
        .body("rotated")
        .send()
        .await
        .unwrap();
    let failed = scan(&rt, "acme", &conn).await;
    assert_eq!(failed.status, ScanStatus::Failed);
    assert!(
        failed.error.as_deref().unwrap().contains("refused"),
        "{:?}",
        failed.error
    );
    assert_eq!(rt.store.snapshot_count(&conn).await.unwrap(), snapshots_before);
    assert_eq!(rt.store.latest_inventories(&tenant.id).await.unwrap(), inventory_before);
    let still = rt.store.findings(&tenant.id).await.unwrap();
    assert_eq!(
        still.iter().filter(|f| f.status == FindingStatus::Open).count(),
        again.iter().filter(|f| f.status == FindingStatus::Open).count()
    );

    // 5. Secrets are sealed at rest.
    let row = rt.store.connection(&conn).await.unwrap();
    assert!(!row.secrets.contains(&SimConfig::default().client_secret));
    assert!(row.secrets.starts_with("v2:"));
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_lifecycle_on_sqlite() {
    lifecycle(sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_lifecycle_on_postgres() {
    if let Some(db) = postgres("finding_lifecycle_on_postgres").await {
        lifecycle(db).await;
    }
}

async fn migrations_and_tenants(db: TestDb) {
    // Migrations apply at every open; the second open is a no-op.
    let store = Store::open(&db.url).await.unwrap();
    let again = Store::open(&db.url).await.unwrap();
    store.add_tenant("acme").await.unwrap();
    let err = again.add_tenant("acme").await.unwrap_err().to_string();
    assert!(err.contains("already exists"), "{err}");
    let err = store.tenant("nobody").await.unwrap_err().to_string();
    assert!(err.contains("no tenant"), "{err}");
    db.drop_db().await;
}

#[tokio::test]
async fn migrations_and_tenants_on_sqlite() {
    migrations_and_tenants(sqlite().await).await;
}

#[tokio::test]
async fn migrations_and_tenants_on_postgres() {
    if let Some(db) = postgres("migrations_and_tenants_on_postgres").await {
        migrations_and_tenants(db).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_scan_is_parked_in_the_queue_and_resumes() {
    // Every 10th request is refused with Retry-After: 3; the client may sleep at most 1 s on a
    // Retry-After, so each refusal parks the scan in the queue for 3 s.
    let config = SimConfig {
        throttle_every: Some(10),
        throttle_retry_after: 3,
        ..SimConfig::default()
    };
    let server = servicenow::start(config.clone(), scenarios::clean(), 0).await.unwrap();
    let db = sqlite().await;
    let rt = runtime(&db.url).await;
    let t = rt.store.add_tenant("acme").await.unwrap();
    let id = store::new_id();
    let settings =
        json!({"instance_url": server.base_url, "client_id": config.client_id, "max_rps": 100.0, "max_wait_secs": 1});
    let sealed = rt.secrets.seal(
        &store::SealContext::new(&id, &t.id, "servicenow", &settings),
        &BTreeMap::from([("client_secret".to_string(), config.client_secret.clone())]),
    );
    rt.store
        .add_connection(&id, &t.id, "servicenow", &server.base_url, &settings, sealed)
        .await
        .unwrap();
    let done = scan(&rt, "acme", &id).await;
    assert_eq!(done.status, ScanStatus::Completed, "{done:?}");
    let stats: sandbox::servicenow::SimStats = reqwest::get(format!("{}/__sandbox/stats", server.base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // About 26 requests: parked two or three times, one refused request each.
    assert!((1..=4).contains(&stats.throttled), "{stats:?}");
    assert_eq!(done.requests as u64, stats.table_requests, "every request is counted");
}
