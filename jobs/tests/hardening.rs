//! The queue and store when things go wrong, on SQLite and PostgreSQL: an absurd vendor wait,
//! a wrong master key, a job delivered twice, a kill between the snapshot and its evaluation,
//! two evaluations at once, two processes migrating a fresh database, and what is left on disk.

mod common;

use common::*;
use jobs::{CollectJob, Runtime};
use sandbox::servicenow::{self, scenarios, SimConfig};
use std::sync::Arc;
use std::time::Duration;
use store::{ScanStatus, SecretBox, Store};

/// Runs the workers until `done` says the scan is finished (bounded: 60 s).
async fn wait_for(rt: &Arc<Runtime>, scan_id: &str, done: impl Fn(ScanStatus) -> bool) -> store::entities::scan::Model {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let s = rt.store.scan(scan_id).await.unwrap();
        if done(s.status) {
            return s;
        }
        assert!(tokio::time::Instant::now() < deadline, "scan did not finish: {s:?}");
    }
}

async fn queue_scan(rt: &Runtime, tenant: &str, connection_id: &str) -> String {
    let t = rt.store.tenant(tenant).await.unwrap();
    let scan = rt.store.create_scan(&t.id, connection_id).await.unwrap();
    rt.queue
        .push_collect(CollectJob {
            scan_id: scan.id.clone(),
        })
        .await
        .unwrap();
    scan.id
}

fn finished(s: ScanStatus) -> bool {
    s.is_final()
}

async fn an_absurd_wait_fails_the_scan_and_the_worker_goes_on(db: TestDb) {
    let server = servicenow::start(SimConfig::default(), scenarios::clean(), 0)
        .await
        .unwrap();
    let rt = runtime(&db.url).await;
    let conn = connect(&rt, "acme", &server.base_url).await;
    let http = reqwest::Client::new();
    // The 5th request answers 429 with `Retry-After: 18446744073709551615`.
    http.post(format!("{}/__sandbox/throttle", server.base_url))
        .json(&serde_json::json!({"every": 5, "retry_after": u64::MAX}))
        .send()
        .await
        .unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let workers = tokio::spawn(jobs::run_workers(rt.clone(), async {
        let _ = rx.await;
    }));
    let first = queue_scan(&rt, "acme", &conn).await;
    let failed = wait_for(&rt, &first, finished).await;
    assert_eq!(failed.status, ScanStatus::Failed, "{failed:?}");
    let reason = failed.error.unwrap();
    assert!(reason.contains("more than a day"), "{reason}");
    // The same workers, a good instance again: the next scan of the connection completes.
    http.post(format!("{}/__sandbox/throttle", server.base_url))
        .json(&serde_json::json!({"every": null}))
        .send()
        .await
        .unwrap();
    let second = queue_scan(&rt, "acme", &conn).await;
    let done = wait_for(&rt, &second, finished).await;
    assert_eq!(done.status, ScanStatus::Completed, "{done:?}");
    tx.send(()).unwrap();
    workers.await.unwrap().unwrap();
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absurd_wait_fails_the_scan_and_the_worker_goes_on_sqlite() {
    an_absurd_wait_fails_the_scan_and_the_worker_goes_on(sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absurd_wait_fails_the_scan_and_the_worker_goes_on_postgres() {
    if let Some(db) = postgres("an_absurd_wait_fails_the_scan_and_the_worker_goes_on_postgres").await {
        an_absurd_wait_fails_the_scan_and_the_worker_goes_on(db).await;
    }
}

async fn a_wrong_master_key_fails_the_scan_with_that_message(db: TestDb) {
    let server = servicenow::start(SimConfig::default(), scenarios::clean(), 0)
        .await
        .unwrap();
    let rt = runtime(&db.url).await;
    let conn = connect(&rt, "acme", &server.base_url).await;
    // A second host on the same database with another key.
    let store = Store::open(&db.url).await.unwrap();
    let other = Arc::new(Runtime {
        queue: jobs::Queue::for_store(&store).await.unwrap(),
        store,
        secrets: SecretBox::from_key([7; 32]),
        rules: rt.rules.clone(),
    });
    let id = queue_scan(&other, "acme", &conn).await;
    let done = scan_with_workers(&other, &id).await;
    assert_eq!(done.status, ScanStatus::Failed);
    assert_eq!(done.error.as_deref(), Some(jobs::work::WRONG_KEY));
    db.drop_db().await;
}

async fn scan_with_workers(rt: &Arc<Runtime>, scan_id: &str) -> store::entities::scan::Model {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let workers = tokio::spawn(jobs::run_workers(rt.clone(), async {
        let _ = rx.await;
    }));
    let done = wait_for(rt, scan_id, finished).await;
    tx.send(()).unwrap();
    workers.await.unwrap().unwrap();
    done
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_master_key_fails_the_scan_with_that_message_sqlite() {
    a_wrong_master_key_fails_the_scan_with_that_message(sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_master_key_fails_the_scan_with_that_message_postgres() {
    if let Some(db) = postgres("a_wrong_master_key_fails_the_scan_with_that_message_postgres").await {
        a_wrong_master_key_fails_the_scan_with_that_message(db).await;
    }
}

async fn a_job_delivered_twice_commits_one_snapshot(db: TestDb) {
    let server = servicenow::start(SimConfig::default(), scenarios::risky(), 0)
        .await
        .unwrap();
    let rt = runtime(&db.url).await;
    let conn = connect(&rt, "acme", &server.base_url).await;
    let t = rt.store.tenant("acme").await.unwrap();
    let scan = rt.store.create_scan(&t.id, &conn).await.unwrap();
    // Two deliveries of the same job at once (an orphan re-enqueue while the first still runs).
    let (a, b) = tokio::join!(
        jobs::work::collect_job(&rt, &scan.id, false),
        jobs::work::collect_job(&rt, &scan.id, false)
    );
    a.unwrap();
    b.unwrap();
    assert_eq!(rt.store.snapshot_count(&conn).await.unwrap(), 1);
    let done = rt.store.scan(&scan.id).await.unwrap();
    assert_eq!(done.status, ScanStatus::Completed);
    // A late third delivery changes nothing either.
    jobs::work::collect_job(&rt, &scan.id, true).await.unwrap();
    assert_eq!(rt.store.scan(&scan.id).await.unwrap(), done);
    assert_eq!(rt.store.snapshot_count(&conn).await.unwrap(), 1);
    // The raw parts (live vendor data) are gone once the snapshot committed.
    assert!(rt.store.parts(&scan.id).await.unwrap().is_empty());
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_delivered_twice_commits_one_snapshot_sqlite() {
    a_job_delivered_twice_commits_one_snapshot(sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_delivered_twice_commits_one_snapshot_postgres() {
    if let Some(db) = postgres("a_job_delivered_twice_commits_one_snapshot_postgres").await {
        a_job_delivered_twice_commits_one_snapshot(db).await;
    }
}

async fn a_kill_after_the_commit_still_evaluates(db: TestDb) {
    let server = servicenow::start(SimConfig::default(), scenarios::risky(), 0)
        .await
        .unwrap();
    let rt = runtime(&db.url).await;
    let conn = connect(&rt, "acme", &server.base_url).await;
    let t = rt.store.tenant("acme").await.unwrap();
    let scan = rt.store.create_scan(&t.id, &conn).await.unwrap();
    // What a worker does up to the commit, then it "dies": the Evaluate job is never pushed.
    let spec = jobs::work::connection_spec(&rt, &rt.store.connection(&conn).await.unwrap()).unwrap();
    let collector = connectors::collector(&spec).unwrap();
    let parts = connectors::read_all(collector.as_ref()).await.unwrap();
    let inventory = collector.transform(&parts, &conn, &store::now());
    let outbox = rt.store.commit_snapshot(&scan, &inventory, &[], 1, 0).await.unwrap();
    assert!(outbox.is_some());
    assert!(rt.store.latest_evaluation(&t.id).await.unwrap().is_none());
    // The next worker to start delivers what the dead one owed.
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let workers = tokio::spawn(jobs::run_workers(rt.clone(), async {
        let _ = rx.await;
    }));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while rt.store.latest_evaluation(&t.id).await.unwrap().is_none() {
        assert!(tokio::time::Instant::now() < deadline, "never evaluated");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tx.send(()).unwrap();
    workers.await.unwrap().unwrap();
    assert!(!rt.store.findings(&t.id).await.unwrap().is_empty());
    assert!(rt.store.outbox_before("9999").await.unwrap().is_empty());
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_after_the_commit_still_evaluates_sqlite() {
    a_kill_after_the_commit_still_evaluates(sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_after_the_commit_still_evaluates_postgres() {
    if let Some(db) = postgres("a_kill_after_the_commit_still_evaluates_postgres").await {
        a_kill_after_the_commit_still_evaluates(db).await;
    }
}

async fn an_evaluation_computed_from_stale_findings_is_not_stored(db: TestDb) {
    let server = servicenow::start(SimConfig::default(), scenarios::risky(), 0)
        .await
        .unwrap();
    let rt = runtime(&db.url).await;
    let conn = connect(&rt, "acme", &server.base_url).await;
    let done = scan(&rt, "acme", &conn).await;
    assert_eq!(done.status, ScanStatus::Completed);
    let t = rt.store.tenant("acme").await.unwrap();
    let seq = rt.store.evaluation_seq(&t.id).await.unwrap();
    let findings = rt.store.findings(&t.id).await.unwrap();
    let summary = rt.store.latest_evaluation(&t.id).await.unwrap().unwrap();
    // Two evaluations read the same number; only the first to store wins.
    assert!(rt.store.save_evaluation(&t.id, seq, &findings, &summary).await.unwrap());
    assert!(!rt.store.save_evaluation(&t.id, seq, &[], &summary).await.unwrap());
    assert_eq!(
        rt.store.findings(&t.id).await.unwrap(),
        findings,
        "the stale evaluation wrote nothing"
    );
    // Evaluations racing each other all end stored, none lost.
    let (a, b) = tokio::join!(jobs::work::evaluate(&rt, &t.id), jobs::work::evaluate(&rt, &t.id));
    a.unwrap();
    b.unwrap();
    assert_eq!(rt.store.evaluation_seq(&t.id).await.unwrap(), seq + 3);
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_evaluation_computed_from_stale_findings_is_not_stored_sqlite() {
    an_evaluation_computed_from_stale_findings_is_not_stored(sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_evaluation_computed_from_stale_findings_is_not_stored_postgres() {
    if let Some(db) = postgres("an_evaluation_computed_from_stale_findings_is_not_stored_postgres").await {
        an_evaluation_computed_from_stale_findings_is_not_stored(db).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_migrate_a_fresh_postgres_database_at_once() {
    let Some(db) = postgres("two_processes_migrate_a_fresh_postgres_database_at_once").await else {
        return;
    };
    let (a, b, c) = tokio::join!(Store::open(&db.url), Store::open(&db.url), Store::open(&db.url));
    let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap());
    a.add_tenant("acme").await.unwrap();
    assert_eq!(b.tenants().await.unwrap().len(), 1);
    assert_eq!(c.tenant("acme").await.unwrap().evaluation_seq, 0);
    db.drop_db().await;
}

#[tokio::test]
async fn the_database_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let db = sqlite().await;
    let _store = Store::open(&db.url).await.unwrap();
    let path = db
        .url
        .trim_start_matches("sqlite://")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{path}: {mode:o}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_or_token_is_stored_in_clear_anywhere() {
    // Password grant, so a refresh token exists too; a scan that fails after tokens were
    // issued leaves a reason in `scans.error` and a result in the queue table.
    let config = SimConfig::default();
    let server = servicenow::start(config.clone(), scenarios::risky(), 0).await.unwrap();
    let db = sqlite().await;
    let rt = runtime(&db.url).await;
    let t = rt.store.add_tenant("acme").await.unwrap();
    let id = store::new_id();
    let (user, password) = config.users[0].clone();
    let secrets = std::collections::BTreeMap::from([
        ("client_secret".to_string(), config.client_secret.clone()),
        ("password".to_string(), password.clone()),
    ]);
    let settings = serde_json::json!({"instance_url": server.base_url, "client_id": config.client_id,
        "username": user, "max_rps": 200.0});
    let sealed = rt
        .secrets
        .seal(&store::SealContext::new(&id, &t.id, "servicenow", &settings), &secrets);
    rt.store
        .add_connection(&id, &t.id, "servicenow", &server.base_url, &settings, sealed)
        .await
        .unwrap();
    let done = scan(&rt, "acme", &id).await;
    assert_eq!(done.status, ScanStatus::Completed);
    let tokens: Vec<String> = reqwest::get(format!("{}/__sandbox/tokens", server.base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        tokens.len() >= 2,
        "an access and a refresh token were issued: {tokens:?}"
    );
    // Then the instance goes bad mid-scan: the failure is recorded in scans.error and the queue.
    reqwest::Client::new()
        .post(format!("{}/__sandbox/throttle", server.base_url))
        .json(&serde_json::json!({"every": 3, "retry_after": u64::MAX}))
        .send()
        .await
        .unwrap();
    let failed = scan(&rt, "acme", &id).await;
    assert_eq!(failed.status, ScanStatus::Failed);
    let dir = std::path::PathBuf::from(db.url.trim_start_matches("sqlite://").split('?').next().unwrap());
    let mut files = vec![std::fs::read(&dir).unwrap()];
    for suffix in ["-wal", "-shm"] {
        if let Ok(bytes) = std::fs::read(format!("{}{suffix}", dir.display())) {
            files.push(bytes);
        }
    }
    assert!(files.len() >= 2, "the WAL file is read too");
    let mut needles = vec![config.client_secret.clone(), password];
    needles.extend(tokens);
    for needle in &needles {
        for bytes in &files {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "a secret or token is stored in clear"
            );
        }
    }
}

async fn a_row_edited_to_send_the_secret_elsewhere_does_not_open(db: TestDb) {
    let server = servicenow::start(SimConfig::default(), scenarios::clean(), 0)
        .await
        .unwrap();
    let elsewhere = servicenow::start(SimConfig::default(), scenarios::clean(), 0)
        .await
        .unwrap();
    let rt = runtime(&db.url).await;
    let conn = connect(&rt, "acme", &server.base_url).await;
    // Someone with write access to the database points the connection at their own host.
    let row = rt.store.connection(&conn).await.unwrap();
    let mut settings: serde_json::Value = serde_json::from_str(&row.settings).unwrap();
    settings["instance_url"] = serde_json::json!(elsewhere.base_url);
    {
        use sea_orm::{ActiveModelTrait, Set};
        let mut edited: store::entities::connection::ActiveModel = row.into();
        edited.settings = Set(settings.to_string());
        edited.update(&rt.store.db).await.unwrap();
    }
    let id = queue_scan(&rt, "acme", &conn).await;
    let done = scan_with_workers(&rt, &id).await;
    assert_eq!(done.status, ScanStatus::Failed);
    assert_eq!(done.error.as_deref(), Some(jobs::work::ALTERED));
    let seen: sandbox::servicenow::SimStats = reqwest::get(format!("{}/__sandbox/stats", elsewhere.base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seen.token_requests, 0, "the secret never went to the other host");
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_edited_to_send_the_secret_elsewhere_does_not_open_sqlite() {
    a_row_edited_to_send_the_secret_elsewhere_does_not_open(sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_edited_to_send_the_secret_elsewhere_does_not_open_postgres() {
    if let Some(db) = postgres("a_row_edited_to_send_the_secret_elsewhere_does_not_open_postgres").await {
        a_row_edited_to_send_the_secret_elsewhere_does_not_open(db).await;
    }
}

async fn rotating_the_key_reseals_every_secret(db: TestDb) {
    let server = servicenow::start(SimConfig::default(), scenarios::clean(), 0)
        .await
        .unwrap();
    let rt = runtime(&db.url).await;
    let conn = connect(&rt, "acme", &server.base_url).await;
    let (new_key, _text) = SecretBox::generate();
    assert_eq!(rt.store.reseal_connections(&rt.secrets, &new_key).await.unwrap(), 1);
    // Idempotent: a second run (after an interrupted one) re-seals nothing.
    assert_eq!(rt.store.reseal_connections(&rt.secrets, &new_key).await.unwrap(), 0);
    let row = rt.store.connection(&conn).await.unwrap();
    assert!(row.secrets.starts_with(&format!("v2:{}:", new_key.key_id())));
    // The old key no longer opens it; the new one scans.
    let id = queue_scan(&rt, "acme", &conn).await;
    let failed = scan_with_workers(&rt, &id).await;
    assert_eq!(failed.error.as_deref(), Some(jobs::work::WRONG_KEY));
    let store = Store::open(&db.url).await.unwrap();
    let rotated = Arc::new(Runtime {
        queue: jobs::Queue::for_store(&store).await.unwrap(),
        store,
        secrets: new_key,
        rules: rt.rules.clone(),
    });
    let id = queue_scan(&rotated, "acme", &conn).await;
    let done = scan_with_workers(&rotated, &id).await;
    assert_eq!(done.status, ScanStatus::Completed, "{done:?}");
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_key_reseals_every_secret_sqlite() {
    rotating_the_key_reseals_every_secret(sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_key_reseals_every_secret_postgres() {
    if let Some(db) = postgres("rotating_the_key_reseals_every_secret_postgres").await {
        rotating_the_key_reseals_every_secret(db).await;
    }
}

async fn a_scans_queue_job_is_seen_alive_until_it_is_gone(db: TestDb) {
    let server = servicenow::start(SimConfig::default(), scenarios::clean(), 0)
        .await
        .unwrap();
    let rt = runtime(&db.url).await;
    let conn = connect(&rt, "acme", &server.base_url).await;
    let id = queue_scan(&rt, "acme", &conn).await;
    assert!(rt.queue.collect_job_alive(&id).await.unwrap(), "queued");
    assert!(
        !rt.queue.collect_job_alive(&store::new_id()).await.unwrap(),
        "no job for another scan"
    );
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let workers = tokio::spawn(jobs::run_workers(rt.clone(), async {
        let _ = rx.await;
    }));
    let done = wait_for(&rt, &id, finished).await;
    assert_eq!(done.status, ScanStatus::Completed);
    // The scan row completes inside the job; the queue marks the job done just after the
    // handler returns (with the workers still running), so give it a moment.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while rt.queue.collect_job_alive(&id).await.unwrap() {
        assert!(std::time::Instant::now() < deadline, "done jobs are not alive");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    tx.send(()).unwrap();
    workers.await.unwrap().unwrap();
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scans_queue_job_is_seen_alive_until_it_is_gone_sqlite() {
    a_scans_queue_job_is_seen_alive_until_it_is_gone(sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scans_queue_job_is_seen_alive_until_it_is_gone_postgres() {
    if let Some(db) = postgres("a_scans_queue_job_is_seen_alive_until_it_is_gone_postgres").await {
        a_scans_queue_job_is_seen_alive_until_it_is_gone(db).await;
    }
}
