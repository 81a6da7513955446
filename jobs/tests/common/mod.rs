//! Helpers shared by the jobs tests: a fresh SQLite or PostgreSQL database, a runtime on it,
//! a ServiceNow connection to a simulator, and a scan run through the queue.
#![allow(dead_code)]

use jobs::{CollectJob, Queue, Runtime};
use sandbox::servicenow::SimConfig;
use sea_orm::{ConnectionTrait, Database};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use store::{ScanStatus, SecretBox, Store};

pub struct TestDb {
    pub url: String,
    cleanup: Option<(String, String)>,
    _dir: Option<TempDir>,
}

pub struct TempDir(pub std::path::PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn temp_dir(tag: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("aispm-{tag}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

pub async fn sqlite() -> TestDb {
    let dir = temp_dir("sqlite");
    TestDb {
        url: format!("sqlite://{}?mode=rwc", dir.0.join("aispm.db").display()),
        cleanup: None,
        _dir: Some(dir),
    }
}

/// A fresh PostgreSQL database, or None (skipped) when no server is configured.
pub async fn postgres(test: &str) -> Option<TestDb> {
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
    pub async fn drop_db(self) {
        if let Some((server, name)) = &self.cleanup {
            let admin = Database::connect(format!("{server}/postgres")).await.unwrap();
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await;
        }
    }
}

pub async fn runtime(url: &str) -> Arc<Runtime> {
    let store = Store::open(url).await.unwrap();
    let queue = Queue::for_store(&store).await.unwrap();
    Arc::new(Runtime {
        store,
        secrets: SecretBox::from_key([42; 32]),
        rules: Arc::new(engine::RuleSet::builtin().unwrap()),
        queue,
    })
}

pub async fn connect(rt: &Runtime, tenant: &str, base_url: &str) -> String {
    let config = SimConfig::default();
    let t = rt.store.add_tenant(tenant).await.unwrap();
    let id = store::new_id();
    let secrets = BTreeMap::from([("client_secret".to_string(), config.client_secret.clone())]);
    let settings = json!({"instance_url": base_url, "client_id": config.client_id, "max_rps": 200.0});
    let sealed = rt
        .secrets
        .seal(&store::SealContext::new(&id, &t.id, "servicenow", &settings), &secrets);
    rt.store
        .add_connection(&id, &t.id, "servicenow", base_url, &settings, sealed)
        .await
        .unwrap();
    id
}

/// Queues a scan and runs the workers until it and the evaluation after it are done.
pub async fn scan(rt: &Arc<Runtime>, tenant: &str, connection_id: &str) -> store::entities::scan::Model {
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
            (Some(f), Some(e)) => e.evaluated_at.as_str() >= f.as_str(),
            _ => false,
        };
        if s.status == ScanStatus::Failed || (s.status == ScanStatus::Completed && evaluated) {
            break s;
        }
        assert!(tokio::time::Instant::now() < deadline, "scan did not finish: {s:?}");
    };
    tx.send(()).unwrap();
    workers.await.unwrap().unwrap();
    done
}
