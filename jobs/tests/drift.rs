//! Drift through the queue, on SQLite and PostgreSQL, against both simulators: the first scan
//! is a baseline, an identical rescan records nothing and stores no record again, and a
//! drifted tenant (an agent now running as an admin, an agent made public, an AI app given
//! write access to every file) yields change records that are risk changes naming the
//! findings they opened.

use schemas::{ChangeKind, FindingStatus};
use std::collections::BTreeMap;
use std::sync::Arc;
use store::{ChangeQuery, ScanStatus};

mod common;
use common::*;

async fn connect_sim(rt: &jobs::Runtime, tenant_id: &str, sim: &sandbox::SimulatedConnection) -> String {
    let id = store::new_id();
    let sealed = rt.secrets.seal(
        &store::SealContext::new(&id, tenant_id, sim.provider, &sim.settings),
        &sim.secrets,
    );
    rt.store
        .add_connection(&id, tenant_id, sim.provider, &sim.label, &sim.settings, sealed)
        .await
        .unwrap();
    id
}

async fn switch(sim: &sandbox::SimulatedConnection, scenario: &str) {
    let answer = reqwest::Client::new()
        .post(format!("{}/__sandbox/scenario/{scenario}", sim.server.base_url))
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{scenario}: {}", answer.status());
}

async fn scan_both(rt: &Arc<jobs::Runtime>, connections: &[&str]) {
    for conn in connections {
        let done = scan(rt, "acme", conn).await;
        assert_eq!(done.status, ScanStatus::Completed, "{done:?}");
    }
}

fn all() -> ChangeQuery {
    ChangeQuery {
        limit: 1000,
        ..Default::default()
    }
}

async fn drift_names_the_findings(db: TestDb) {
    let rt = runtime(&db.url).await;
    let tenant = rt.store.add_tenant("acme").await.unwrap();
    let now = sandbox::servicenow::simulated_connection("clean").await.unwrap();
    let m365 = sandbox::m365::simulated_connection("clean").await.unwrap();
    let sn = connect_sim(&rt, &tenant.id, &now).await;
    let ms = connect_sim(&rt, &tenant.id, &m365).await;

    // 1. The first snapshot of each connection is a baseline: no change records.
    scan_both(&rt, &[&sn, &ms]).await;
    assert!(rt.store.changes(&tenant.id, &all()).await.unwrap().is_empty());
    let records = (
        rt.store.snapshot_record_count(&sn).await.unwrap(),
        rt.store.snapshot_record_count(&ms).await.unwrap(),
    );
    assert!(records.0 > 10 && records.1 > 10, "{records:?}");

    // 2. An identical rescan: nothing changed, and no record is stored a second time.
    scan_both(&rt, &[&sn, &ms]).await;
    assert_eq!(rt.store.snapshot_count(&sn).await.unwrap(), 2);
    assert!(rt.store.changes(&tenant.id, &all()).await.unwrap().is_empty());
    assert_eq!(
        (
            rt.store.snapshot_record_count(&sn).await.unwrap(),
            rt.store.snapshot_record_count(&ms).await.unwrap(),
        ),
        records,
        "unchanged resources are not stored twice"
    );
    let inventories = rt.store.latest_inventories(&tenant.id).await.unwrap();
    assert_eq!(inventories.len(), 2, "snapshots read back from their records");

    // 3. Drift on both vendors.
    switch(&now, "drifted").await;
    switch(&m365, "drifted").await;
    scan_both(&rt, &[&sn, &ms]).await;
    let changes = rt.store.changes(&tenant.id, &all()).await.unwrap();
    let findings = rt.store.findings(&tenant.id).await.unwrap();
    let open_print = |rule: &str, resource: &str| -> String {
        findings
            .iter()
            .find(|f| f.rule_id == rule && f.resource.name == resource && f.status == FindingStatus::Open)
            .unwrap_or_else(|| panic!("{rule} open on {resource}: {findings:#?}"))
            .fingerprint
            .clone()
    };
    let change_of = |name: &str| {
        changes
            .iter()
            .find(|c| c.change.resource_name == name)
            .unwrap_or_else(|| panic!("a change of {name}: {changes:#?}"))
    };
    assert!(changes.iter().all(|c| c.evaluated), "{changes:#?}");

    // A changed run-as user.
    let ops = change_of("Record Operations Agent");
    assert_eq!(ops.change.change, ChangeKind::Changed);
    assert_eq!(ops.connection_id, sn);
    let run_as = ops
        .change
        .fields
        .iter()
        .find(|f| f.path == "run_as")
        .expect("run_as field");
    assert!(run_as.old.is_null(), "{run_as:?}");
    assert_eq!(
        run_as.new,
        format!(
            "servicenow:user:{}",
            sandbox::servicenow::scenarios::sid("user:jane.admin")
        )
    );
    assert!(ops.change.risk);
    assert!(
        ops.change.risks.iter().any(|r| r == "now runs as jane.admin"),
        "{:?}",
        ops.change.risks
    );
    assert!(
        ops.change
            .findings_opened
            .contains(&open_print("SNOW-001", "Record Operations Agent")),
        "{ops:#?}"
    );
    // Each finding it names is about the agent or about the admin it now runs as.
    for print in &ops.change.findings_opened {
        let f = findings.iter().find(|f| &f.fingerprint == print).unwrap();
        assert!(
            ["Record Operations Agent", "jane.admin"].contains(&f.resource.name.as_str()),
            "{f:#?}"
        );
    }

    // An agent made public.
    let triage = change_of("Ticket Triage Agent");
    assert!(triage.change.risk);
    assert!(
        triage
            .change
            .fields
            .iter()
            .any(|f| f.path.contains("public") && f.new == true),
        "{triage:#?}"
    );
    assert!(
        triage
            .change
            .findings_opened
            .contains(&open_print("SNOW-006", "Ticket Triage Agent")),
        "{triage:#?}"
    );

    // A new permission for an AI app (the HR agent's Entra identity).
    let identity = changes
        .iter()
        .find(|c| c.connection_id == ms && c.change.resource_kind == "principal")
        .unwrap_or_else(|| panic!("a principal change on Microsoft 365: {changes:#?}"));
    let roles = identity
        .change
        .fields
        .iter()
        .find(|f| f.path == "roles")
        .expect("roles field");
    assert!(
        !roles.old.as_array().unwrap().contains(&"Files.ReadWrite.All".into())
            && roles.new.as_array().unwrap().contains(&"Files.ReadWrite.All".into()),
        "{roles:?}"
    );
    assert!(
        identity
            .change
            .risks
            .iter()
            .any(|r| r.contains("AI app gained Files.ReadWrite.All")),
        "{:?}",
        identity.change.risks
    );
    let app = open_print("M365-APP-002", &identity.change.resource_name);
    assert!(identity.change.findings_opened.contains(&app), "{identity:#?}");

    // Risk changes only, on request; and the evaluation's finding events say what opened.
    let risky = rt
        .store
        .changes(
            &tenant.id,
            &ChangeQuery {
                risk_only: true,
                ..all()
            },
        )
        .await
        .unwrap();
    assert!(risky.iter().all(|c| c.change.risk) && risky.len() >= 3, "{risky:#?}");
    let events = rt.store.finding_events(&tenant.id, None).await.unwrap();
    let opened: BTreeMap<&str, &str> = events
        .iter()
        .map(|e| (e.fingerprint.as_str(), e.event.as_str()))
        .collect();
    assert_eq!(opened.get(app.as_str()), Some(&"opened"), "{events:#?}");

    // Only the changed records were stored again.
    let grown = rt.store.snapshot_record_count(&sn).await.unwrap() - records.0;
    assert!(
        (1..=4).contains(&grown),
        "the drifted ServiceNow scan stored {grown} new records"
    );

    // 4. Back to clean: the changes resolve what they opened.
    switch(&now, "clean").await;
    scan_both(&rt, &[&sn]).await;
    let back = rt.store.changes(&tenant.id, &all()).await.unwrap();
    let undone = back
        .iter()
        .find(|c| c.change.resource_name == "Record Operations Agent" && !c.change.findings_resolved.is_empty())
        .unwrap_or_else(|| panic!("the ops agent's change back: {back:#?}"));
    assert_eq!(undone.change.findings_resolved, ops.change.findings_opened);
    db.drop_db().await;
}

#[tokio::test]
async fn drift_on_sqlite_names_the_findings_each_change_opened() {
    drift_names_the_findings(sqlite().await).await;
}

#[tokio::test]
async fn drift_on_postgres_names_the_findings_each_change_opened() {
    if let Some(db) = postgres("the drift test").await {
        drift_names_the_findings(db).await;
    }
}
