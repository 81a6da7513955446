//! Store, queue and workers on SQLite and on PostgreSQL, against the ServiceNow simulator:
//! scans through the apalis queue, snapshots, finding lifecycle across rescans, a failed scan
//! leaving the previous snapshot authoritative, secrets sealed at rest.
//!
//! PostgreSQL runs when AISPM_TEST_POSTGRES_URL names a server (each test creates and drops
//! its own database); otherwise those cases say they were skipped.

use jobs::store::{status, Store};
use jobs::{CollectJob, Queue, Runtime, SecretBox};
use sandbox::servicenow::{self, scenarios, SimConfig};
use schemas::FindingStatus;
use sea_orm::{ConnectionTrait, Database};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

struct TestDb {
    url: String,
    cleanup: Option<(String, String)>,
    _dir: Option<TempDir>,
}

struct TempDir(std::path::PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir(tag: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("aispm-{tag}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

async fn sqlite() -> TestDb {
    let dir = temp_dir("sqlite");
    TestDb {
        url: format!("sqlite://{}?mode=rwc", dir.0.join("aispm.db").display()),
        cleanup: None,
        _dir: Some(dir),
    }
}

/// A fresh PostgreSQL database, or None (skipped) when no server is configured.
async fn postgres(test: &str) -> Option<TestDb> {
    let Ok(server) = std::env::var("AISPM_TEST_POSTGRES_URL") else {
        // Straight to stderr, past the test harness's capture, so the skip is visible.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "skipped: AISPM_TEST_POSTGRES_URL is not set, so {test} did not run on PostgreSQL"
        );
        return None;
    };
    let server = server.trim_end_matches('/').to_string();
    let name = format!("aispm_test_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(format!("{server}/postgres"))
        .await
        .expect("PostgreSQL reachable");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    Some(TestDb {
        url: format!("{server}/{name}"),
        cleanup: Some((server, name)),
        _dir: None,
    })
}

impl TestDb {
    async fn drop_db(self) {
        if let Some((server, name)) = &self.cleanup {
            let admin = Database::connect(format!("{server}/postgres")).await.unwrap();
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await;
        }
    }
}

async fn runtime(url: &str) -> Arc<Runtime> {
    let store = Store::open(url).await.unwrap();
    let queue = Queue::for_store(&store).await.unwrap();
    Arc::new(Runtime {
        store,
        secrets: SecretBox::from_key([42; 32]),
        rules: Arc::new(engine::RuleSet::builtin().unwrap()),
        queue,
    })
}

async fn connect(rt: &Runtime, tenant: &str, base_url: &str) -> String {
    let config = SimConfig::default();
    let t = rt.store.add_tenant(tenant).await.unwrap();
    let id = jobs::store::new_id();
    let secrets = BTreeMap::from([("client_secret".to_string(), config.client_secret.clone())]);
    let sealed = rt.secrets.seal(&id, &secrets);
    let settings = json!({"instance_url": base_url, "client_id": config.client_id, "max_rps": 200.0});
    rt.store
        .add_connection(&id, &t.id, "servicenow", base_url, &settings, sealed)
        .await
        .unwrap();
    id
}

/// Queues a scan and runs the workers until it and the evaluation after it are done.
async fn scan(rt: &Arc<Runtime>, tenant: &str, connection_id: &str) -> jobs::store::entities::scan::Model {
    let t = rt.store.tenant(tenant).await.unwrap();
    let scan = rt.store.create_scan(&t.id, connection_id).await.unwrap();
    rt.queue
        .push_collect(CollectJob {
            scan_id: scan.id.clone(),
        })
        .await
        .unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let workers = tokio::spawn(jobs::run_workers(rt.clone(), async {
        let _ = rx.await;
    }));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let done = loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let s = rt.store.scan(&scan.id).await.unwrap();
        let evaluated = match (&s.finished_at, rt.store.latest_evaluation(&t.id).await.unwrap()) {
            (Some(f), Some(e)) => e["evaluated_at"].as_str().unwrap() >= f.as_str(),
            _ => false,
        };
        if s.status == status::FAILED || (s.status == status::COMPLETED && evaluated) {
            break s;
        }
        assert!(tokio::time::Instant::now() < deadline, "scan did not finish: {s:?}");
    };
    tx.send(()).unwrap();
    workers.await.unwrap().unwrap();
    done
}

async fn lifecycle(db: TestDb) {
    let server = servicenow::start(SimConfig::default(), scenarios::risky(), 0)
        .await
        .unwrap();
    let rt = runtime(&db.url).await;
    let conn = connect(&rt, "acme", &server.base_url).await;
    let tenant = rt.store.tenant("acme").await.unwrap();

    // 1. A risky instance: the scan completes through the queue and findings open.
    let first = scan(&rt, "acme", &conn).await;
    assert_eq!(first.status, status::COMPLETED, "{first:?}");
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
    assert_eq!(second.status, status::COMPLETED);
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
    assert_eq!(failed.status, status::FAILED);
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
    assert!(row.secrets.starts_with("v1:"));
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
    let id = jobs::store::new_id();
    let sealed = rt.secrets.seal(
        &id,
        &BTreeMap::from([("client_secret".to_string(), config.client_secret.clone())]),
    );
    let settings =
        json!({"instance_url": server.base_url, "client_id": config.client_id, "max_rps": 100.0, "max_wait_secs": 1});
    rt.store
        .add_connection(&id, &t.id, "servicenow", &server.base_url, &settings, sealed)
        .await
        .unwrap();
    let done = scan(&rt, "acme", &id).await;
    assert_eq!(done.status, status::COMPLETED, "{done:?}");
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
