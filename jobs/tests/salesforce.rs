//! A Salesforce org through the queue, on SQLite and on PostgreSQL: the simulated org scanned
//! by the workers, its findings opened, resolved and changed with the org, and a scan cut short
//! by the daily API share leaving what it could not read unjudged rather than resolved.

use schemas::FindingStatus;
use std::collections::BTreeSet;
use store::ScanStatus;

mod common;
use common::*;

async fn connect_org(rt: &jobs::Runtime, tenant: &str, sim: &sandbox::SimulatedConnection) -> String {
    let t = rt.store.add_tenant(tenant).await.unwrap();
    let id = store::new_id();
    let sealed = rt.secrets.seal(
        &store::SealContext::new(&id, &t.id, "salesforce", &sim.settings),
        &sim.secrets,
    );
    rt.store
        .add_connection(&id, &t.id, "salesforce", &sim.label, &sim.settings, sealed)
        .await
        .unwrap();
    id
}

async fn control(sim: &sandbox::SimulatedConnection, path: &str) {
    let answer = reqwest::Client::new()
        .post(format!("{}/__sandbox/{path}", sim.server.base_url))
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{path}");
}

fn open_rules(findings: &[schemas::Finding]) -> BTreeSet<String> {
    findings
        .iter()
        .filter(|f| f.status == FindingStatus::Open && f.rule_id.starts_with("SF-"))
        .map(|f| f.rule_id.clone())
        .collect()
}

async fn org_lifecycle(db: TestDb) {
    let sim = sandbox::salesforce::simulated_connection("risky").await.unwrap();
    let rt = runtime(&db.url).await;
    let conn = connect_org(&rt, "acme", &sim).await;
    let tenant = rt.store.tenant("acme").await.unwrap();

    // Risky: every Salesforce rule opens a finding, the ForcedLeak path among them.
    let first = scan(&rt, "acme", &conn).await;
    assert_eq!(first.status, ScanStatus::Completed, "{first:?}");
    assert_eq!(first.resources_done, first.resources_total);
    let findings = rt.store.findings(&tenant.id).await.unwrap();
    let risky = open_rules(&findings);
    assert_eq!(risky.len(), 33, "{risky:?}");
    let risky_prints: BTreeSet<String> = findings.iter().map(|f| f.fingerprint.clone()).collect();

    // A scan cut short by the daily share: what it could not read is not judged, so findings
    // about it stay open instead of resolving.
    control(&sim, "budget/100/200").await;
    let short = scan(&rt, "acme", &conn).await;
    assert_eq!(
        short.status,
        ScanStatus::Completed,
        "deferring is not failing: {short:?}"
    );
    let after_short = open_rules(&rt.store.findings(&tenant.id).await.unwrap());
    assert_eq!(after_short, risky, "a deferred read resolves nothing");
    control(&sim, "budget/0/115000").await;

    // Clean: everything resolves.
    control(&sim, "scenario/clean").await;
    let clean = scan(&rt, "acme", &conn).await;
    assert_eq!(clean.status, ScanStatus::Completed);
    let after = rt.store.findings(&tenant.id).await.unwrap();
    assert!(open_rules(&after).is_empty(), "{:?}", open_rules(&after));

    // Drifted: risky plus a new Apex action without sharing on the employee agent, which is
    // a finding of its own.
    control(&sim, "scenario/drifted").await;
    let drifted = scan(&rt, "acme", &conn).await;
    assert_eq!(drifted.status, ScanStatus::Completed);
    let now = rt.store.findings(&tenant.id).await.unwrap();
    let new_apex: Vec<&schemas::Finding> = now
        .iter()
        .filter(|f| {
            f.status == FindingStatus::Open && f.rule_id == "SF-AI-008" && !risky_prints.contains(&f.fingerprint)
        })
        .collect();
    assert_eq!(new_apex.len(), 1, "{new_apex:#?}");
    assert!(
        new_apex[0].evidence.to_string().contains("OpportunityBulkUpdater"),
        "{}",
        new_apex[0].evidence
    );

    // The private key is sealed at rest.
    let row = rt.store.connection(&conn).await.unwrap();
    assert!(!row.secrets.contains("PRIVATE KEY"));
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn salesforce_org_lifecycle_on_sqlite() {
    org_lifecycle(sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn salesforce_org_lifecycle_on_postgres() {
    if let Some(db) = postgres("salesforce_org_lifecycle_on_postgres").await {
        org_lifecycle(db).await;
    }
}
