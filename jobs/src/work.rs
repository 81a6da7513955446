//! What the jobs do, vendor-agnostic: collect a connection resource by resource (resuming from
//! stored parts), commit the snapshot atomically, then evaluate the tenant and reconcile
//! findings.

use crate::queue::{EvaluateJob, Queue};
use connectors::{ApiError, ConnectionSpec};
use engine::RuleSet;
use schemas::CoverageStatus;
use sea_orm::Set;
use std::sync::Arc;
use store::{ScanStatus, SecretBox, Store};

/// A throttle wait longer than this parks the scan in the queue instead of holding a worker.
const PARK_AFTER: std::time::Duration = std::time::Duration::from_secs(1);
/// How often a resource still being read reports the requests it has made.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Everything a worker needs.
pub struct Runtime {
    pub store: Store,
    pub secrets: SecretBox,
    pub rules: Arc<RuleSet>,
    pub queue: Queue,
}

#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    /// Worth another try later (throttled past patience, network); the queue retries.
    #[error("{0}")]
    Retry(String),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Queue(#[from] crate::queue::QueueError),
    #[error("{0}")]
    Other(String),
}

/// What a worker whose master key cannot open a connection's secrets says (the scan fails
/// with exactly this).
pub const WRONG_KEY: &str = "this worker's master key cannot open the connection's secrets: every host sharing one database must use the same AISPM_MASTER_KEY";

/// What a worker says when a connection's sealed secrets do not match its stored settings.
pub const ALTERED: &str = "the connection's sealed secrets do not match its stored settings (the row was altered, perhaps to send them elsewhere); connect it again";

/// Rebuilds the connector's view of a stored connection, secrets opened.
pub fn connection_spec(rt: &Runtime, conn: &store::entities::connection::Model) -> Result<ConnectionSpec, WorkError> {
    let settings: serde_json::Value =
        serde_json::from_str(&conn.settings).map_err(|e| WorkError::Other(format!("connection settings: {e}")))?;
    let context = store::SealContext::new(&conn.id, &conn.tenant_id, &conn.provider, &settings);
    let secrets = rt.secrets.open(&context, &conn.secrets).map_err(|e| match e {
        store::CryptoError::OtherKey { .. } => WorkError::Other(WRONG_KEY.into()),
        _ => WorkError::Other(ALTERED.into()),
    })?;
    Ok(ConnectionSpec {
        id: conn.id.clone(),
        provider: conn.provider.clone(),
        settings,
        secrets,
    })
}

async fn fail_scan(rt: &Runtime, scan: &store::entities::scan::Model, reason: &str) -> Result<(), WorkError> {
    rt.store.fail_scan(&scan.id, reason).await?;
    Ok(())
}

/// Why a collect attempt ended without a result.
enum Stop {
    /// Try again later (the queue's retry).
    Retry(String),
    /// The scan cannot succeed: fail it with the reason.
    Fail(String),
}

/// One attempt of a Collect job. Whatever goes wrong, the scan ends `failed` with the reason
/// or is retried; it is never left queued or running with no job behind it. A panic in a
/// connector fails the scan instead of killing the worker.
pub async fn collect_job(rt: &Runtime, scan_id: &str, last_try: bool) -> Result<(), WorkError> {
    use futures::FutureExt;
    let attempt = std::panic::AssertUnwindSafe(collect(rt, scan_id, last_try)).catch_unwind();
    let stop = match attempt.await {
        Ok(Ok(())) => return Ok(()),
        Ok(Err(WorkError::Retry(reason))) if !last_try => Stop::Retry(reason),
        Ok(Err(WorkError::Retry(reason))) => Stop::Fail(format!("gave up after the last attempt: {reason}")),
        // A database or queue hiccup is worth another try while tries remain.
        Ok(Err(e @ (WorkError::Store(_) | WorkError::Queue(_)))) if !last_try => Stop::Retry(e.to_string()),
        Ok(Err(e)) => Stop::Fail(e.to_string()),
        Err(panic) => Stop::Fail(format!(
            "internal error (a bug; please report it): {}",
            panic_text(&panic)
        )),
    };
    match stop {
        Stop::Retry(reason) => Err(WorkError::Retry(reason)),
        Stop::Fail(reason) => {
            tracing::warn!(scan = scan_id, "scan failed: {reason}");
            rt.store.fail_scan(scan_id, &reason).await?;
            Ok(())
        }
    }
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into());
    connectors::http::redact_secrets(&text).chars().take(300).collect()
}

/// Records why an attempt stopped before its resource part landed, keeping the requests it
/// spent in the scan's count.
async fn note_interrupted(
    rt: &Runtime,
    scan: &store::entities::scan::Model,
    parts: &connectors::Parts,
    spent_now: u64,
    throttled: i64,
    note: String,
) -> Result<(), WorkError> {
    let lost = scan.requests_lost + spent_now as i64;
    let mut update: store::entities::scan::ActiveModel = scan.clone().into();
    update.requests_lost = Set(lost);
    update.throttled = Set(throttled);
    update.requests = Set(spent(parts) + lost);
    update.error = Set(Some(note));
    rt.store.update_unfinished_scan(update).await?;
    Ok(())
}

/// Stores the secrets the vendor rotated during the scan (a refresh token that replaced the
/// one on record, which the vendor may no longer accept), as soon as it happens: a crash later
/// in the scan must not leave only a dead token behind.
async fn keep_rotated_secrets(
    rt: &Runtime,
    spec: &ConnectionSpec,
    collector: &dyn connectors::Collector,
    kept: &mut std::collections::BTreeMap<String, String>,
) -> Result<(), WorkError> {
    let changed: std::collections::BTreeMap<String, String> = collector
        .rotated_secrets()
        .into_iter()
        .filter(|(k, v)| kept.get(k) != Some(v))
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    rt.store
        .update_connection_secrets(&spec.id, &rt.secrets, &changed)
        .await?;
    kept.extend(changed);
    Ok(())
}

/// Requests spent on the stored parts (retries inside a part included).
fn spent(parts: &connectors::Parts) -> i64 {
    parts.values().map(|p| p.coverage.requests as i64).sum()
}

/// One scan of one connection. Resumable: parts already stored are not fetched again.
pub async fn collect(rt: &Runtime, scan_id: &str, last_try: bool) -> Result<(), WorkError> {
    let scan = rt.store.scan(scan_id).await?;
    if scan.status == ScanStatus::Completed || scan.status == ScanStatus::Failed {
        return Ok(()); // a duplicate delivery
    }
    let conn = rt.store.connection(&scan.connection_id).await?;
    let spec = connection_spec(rt, &conn)?;
    let collector = match connectors::collector(&spec) {
        Ok(c) => c,
        Err(e) => {
            fail_scan(rt, &scan, &e.to_string()).await?;
            return Ok(());
        }
    };
    let resources = collector.resources();
    let mut parts = rt.store.parts(scan_id).await?;
    let mut running: store::entities::scan::ActiveModel = scan.clone().into();
    running.status = Set(ScanStatus::Running);
    running.resources_total = Set(resources.len() as i32);
    running.resources_done = Set(parts.len() as i32);
    if scan.started_at.is_none() {
        running.started_at = Set(Some(store::now()));
    }
    let Some(mut scan) = rt.store.update_unfinished_scan(running).await? else {
        return Ok(()); // finished by another delivery of this job meanwhile
    };
    let finished_elsewhere = || async {
        rt.store.drop_parts_if_finished(scan_id).await?;
        Ok::<(), WorkError>(())
    };
    let stats = collector.stats();
    // Secrets as last written, so a rotated refresh token is stored once per rotation.
    let mut kept = spec.secrets.clone();
    // Counters carried over from earlier attempts of this scan (the collector's start at 0).
    let throttled_before = scan.throttled;
    for resource in &resources {
        if parts.contains_key(resource) {
            continue; // fetched before a crash or an earlier attempt
        }
        let sent_before = stats.requests();
        // A long read (one request per user, for tens of thousands of users) shows its
        // requests as they go, so progress does not stall on one resource.
        let fetched = {
            let fetch = collector.fetch(resource, &parts);
            tokio::pin!(fetch);
            loop {
                tokio::select! {
                    fetched = &mut fetch => break fetched,
                    _ = tokio::time::sleep(PROGRESS_EVERY) => {
                        let mut live: store::entities::scan::ActiveModel = scan.clone().into();
                        live.requests = Set(spent(&parts) + scan.requests_lost + (stats.requests() - sent_before) as i64);
                        // Progress only: a failed write here changes nothing the scan relies on.
                        let _ = rt.store.update_unfinished_scan(live).await;
                    }
                }
            }
        };
        keep_rotated_secrets(rt, &spec, collector.as_ref(), &mut kept).await?;
        match fetched {
            Ok(part) => {
                rt.store.save_part(scan_id, resource, &part).await?;
                parts.insert(resource.clone(), part);
            }
            Err(ApiError::Throttled {
                retry_after: Some(wait),
                ..
            }) if wait > PARK_AFTER => {
                // The instance's budget is spent for a while (hourly limits): park the scan
                // until the window resets instead of retrying now. Its parts are kept.
                let wait = wait.min(connectors::http::MAX_VENDOR_WAIT);
                let until = chrono::Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
                let note = format!(
                    "parked until {}: {resource} is rate-limited by the instance",
                    until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                );
                note_interrupted(
                    rt,
                    &scan,
                    &parts,
                    stats.requests() - sent_before,
                    throttled_before + stats.throttled() as i64,
                    note,
                )
                .await?;
                rt.queue
                    .push_collect_after(
                        crate::queue::CollectJob {
                            scan_id: scan_id.to_string(),
                        },
                        wait,
                    )
                    .await?;
                return Ok(());
            }
            Err(error) => {
                let reason = format!("{resource}: {error}");
                if error.is_retryable() && !last_try {
                    let note = format!("will retry: {reason}");
                    note_interrupted(
                        rt,
                        &scan,
                        &parts,
                        stats.requests() - sent_before,
                        throttled_before + stats.throttled() as i64,
                        note,
                    )
                    .await?;
                    return Err(WorkError::Retry(reason));
                }
                fail_scan(rt, &scan, &reason).await?;
                return Ok(());
            }
        }
        let mut progress: store::entities::scan::ActiveModel = scan.clone().into();
        progress.resources_done = Set(parts.len() as i32);
        progress.requests = Set(spent(&parts) + scan.requests_lost);
        progress.error = Set(None); // moving again: a parked or retry note is stale
        progress.throttled = Set(throttled_before + stats.throttled() as i64);
        scan = match rt.store.update_unfinished_scan(progress).await? {
            Some(s) => s,
            None => return finished_elsewhere().await,
        };
    }
    if !parts.values().any(|p| p.coverage.status == CoverageStatus::Collected) {
        let first = parts
            .values()
            .find_map(|p| p.coverage.error.clone())
            .unwrap_or_else(|| "no resource answered".into());
        fail_scan(rt, &scan, &format!("nothing could be collected: {first}")).await?;
        return Ok(());
    }
    let inventory = collector.transform(&parts, &conn.id, &store::now());
    // What changed since the connection's previous snapshot (none for its first: a baseline).
    // Only one scan of a connection runs at a time, so the previous one cannot move meanwhile.
    let changes = match rt.store.latest_snapshot(&conn.id).await? {
        Some((_, previous)) => engine::drift::diff(&previous, &inventory),
        None => Vec::new(),
    };
    let requests = spent(&parts) + scan.requests_lost;
    let committed = rt
        .store
        .commit_snapshot(
            &scan,
            &inventory,
            &changes,
            requests,
            throttled_before + stats.throttled() as i64,
        )
        .await?;
    let Some(outbox_id) = committed else {
        return finished_elsewhere().await;
    };
    // Committed: the evaluation is owed. If this push fails or the process dies first, the
    // outbox sweep queues it.
    let job = EvaluateJob {
        tenant_id: scan.tenant_id.clone(),
    };
    if rt.queue.push_evaluate(job).await.is_ok() {
        rt.store.outbox_done(&outbox_id).await?;
    }
    Ok(())
}

/// Queues the work that outbox rows older than `min_age` ask for, then deletes them. A row
/// whose push fails stays for the next sweep. Returns how many were delivered.
pub async fn sweep_outbox(rt: &Runtime, min_age: std::time::Duration) -> Result<usize, WorkError> {
    let before = chrono::Utc::now() - chrono::Duration::from_std(min_age).unwrap_or_default();
    let before = before.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut delivered = 0;
    for row in rt.store.outbox_before(&before).await? {
        if row.kind == store::OUTBOX_EVALUATE {
            let payload: serde_json::Value = serde_json::from_str(&row.payload).unwrap_or_default();
            let Some(tenant_id) = payload["tenant_id"].as_str() else {
                rt.store.outbox_done(&row.id).await?;
                continue;
            };
            rt.queue
                .push_evaluate(EvaluateJob {
                    tenant_id: tenant_id.to_string(),
                })
                .await?;
        }
        rt.store.outbox_done(&row.id).await?;
        delivered += 1;
    }
    Ok(delivered)
}

/// Evaluations of one tenant that lost the race to store their result before giving up.
const EVALUATION_TRIES: usize = 5;

/// Evaluates a tenant's latest snapshots and reconciles its findings. Two evaluations of one
/// tenant at once cannot lose each other's updates: the one that stores second sees the
/// tenant's evaluation number moved and evaluates again from the stored findings.
pub async fn evaluate(rt: &Runtime, tenant_id: &str) -> Result<(), WorkError> {
    for _ in 0..EVALUATION_TRIES {
        if evaluate_once(rt, tenant_id).await? {
            return Ok(());
        }
    }
    Err(WorkError::Other(format!(
        "tenant {tenant_id}: {EVALUATION_TRIES} evaluations in a row were overtaken by others"
    )))
}

async fn evaluate_once(rt: &Runtime, tenant_id: &str) -> Result<bool, WorkError> {
    let seq = rt.store.evaluation_seq(tenant_id).await?;
    // Before the snapshots: every pending change read here belongs to a snapshot evaluated now.
    let pending = rt.store.pending_changes(tenant_id).await?;
    let inventories = rt.store.latest_inventories(tenant_id).await?;
    let previous = rt.store.findings(tenant_id).await?;
    // Rule evaluation is CPU work: off the async runtime, so workers and heartbeats go on.
    let rules = rt.rules.clone();
    let (inventories, evaluation) = tokio::task::spawn_blocking(move || {
        let evaluation = engine::evaluate(&rules, &inventories, chrono::Utc::now());
        (inventories, evaluation)
    })
    .await
    .map_err(|e| WorkError::Other(format!("rule evaluation stopped: {e}")))?;
    let unassessed = evaluation.unassessed();
    let loaded: std::collections::BTreeSet<String> = rt.rules.rules.iter().map(|r| r.meta.id.clone()).collect();
    let merged = engine::reconcile(previous.clone(), evaluation.findings.clone(), &unassessed, &loaded);
    let channels = rt.store.alert_channels(Some(tenant_id)).await?;
    let mut drift = evaluation_drift(&previous, &merged, pending);
    if !channels.is_empty() {
        let tenant = rt.store.tenant_slug(tenant_id).await?;
        let providers: std::collections::BTreeMap<String, String> = rt
            .store
            .connections(tenant_id)
            .await?
            .into_iter()
            .map(|c| (c.id, c.provider))
            .collect();
        let events = engine::drift::finding_events(&previous, &merged);
        drift.alerts = crate::alerts::plan(&tenant, &channels, &events, &drift.changes, &providers, &merged);
    }
    let not_assessed_results = evaluation
        .results
        .iter()
        .filter(|r| r.outcome == engine::Outcome::NotAssessed)
        .map(|r| store::NotAssessed {
            rule_id: r.rule_id.clone(),
            resource_id: r.resource_id.clone(),
            reason: r.reason.clone(),
        })
        .collect();
    let coverage_gaps = inventories
        .iter()
        .flat_map(|i| i.coverage.iter())
        .filter(|c| c.status != CoverageStatus::Collected)
        .cloned()
        .collect();
    let by_severity = checks_by_severity(&rt.rules, &evaluation.results);
    let summary = store::EvaluationSummary {
        evaluated_at: store::now(),
        connections: inventories.iter().map(|i| i.connection_id.clone()).collect(),
        fail: evaluation.count(engine::Outcome::Fail),
        pass: evaluation.count(engine::Outcome::Pass),
        not_assessed: evaluation.count(engine::Outcome::NotAssessed),
        not_assessed_results,
        coverage_gaps,
        rules: rt.rules.rules.len(),
        by_severity,
    };
    Ok(rt
        .store
        .save_evaluation_with_drift(tenant_id, seq, &merged, &summary, &drift)
        .await?)
}

/// Rule results counted per severity of their rule (the posture score weighs them).
fn checks_by_severity(
    rules: &RuleSet,
    results: &[engine::RuleResult],
) -> std::collections::BTreeMap<String, store::CheckCounts> {
    let severity_of: std::collections::HashMap<&str, &'static str> = rules
        .rules
        .iter()
        .map(|r| (r.meta.id.as_str(), r.meta.severity.as_str()))
        .collect();
    let mut by_severity: std::collections::BTreeMap<String, store::CheckCounts> = Default::default();
    for r in results {
        let Some(severity) = severity_of.get(r.rule_id.as_str()) else {
            continue;
        };
        let counts = by_severity.entry(severity.to_string()).or_default();
        match r.outcome {
            engine::Outcome::Fail => counts.fail += 1,
            engine::Outcome::Pass => counts.pass += 1,
            engine::Outcome::NotAssessed => counts.not_assessed += 1,
        }
    }
    by_severity
}

/// The findings this evaluation opened, reopened and resolved, and the pending change records
/// with the findings each of them concerns.
fn evaluation_drift(
    previous: &[schemas::Finding],
    merged: &[schemas::Finding],
    pending: Vec<store::StoredChange>,
) -> store::EvaluationDrift {
    let events = engine::drift::finding_events(previous, merged);
    let changes = pending
        .into_iter()
        .map(|mut stored| {
            engine::drift::attribute(&mut stored.change, &stored.connection_id, &events);
            stored.evaluated = true;
            stored
        })
        .collect();
    store::EvaluationDrift {
        events: events
            .iter()
            .map(|(event, f)| store::FindingEventRecord {
                event: *event,
                fingerprint: f.fingerprint.clone(),
                rule_id: f.rule_id.clone(),
                severity: f.severity,
            })
            .collect(),
        changes,
        alerts: Vec::new(),
    }
}
