//! Starting scans and following them to the end: one scan per connection through the queue,
//! progress handed to the caller as data.

use crate::{Result, Role, Service, ServiceError, TenantScope};
use jobs::CollectJob;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use store::ScanStatus;

/// Why a scan whose queue job is gone was failed.
const ORPHANED: &str = "its queue job ended without finishing the scan (its tries were used up)";

/// A scan that `start_scan` queued, or found unfinished and left to resume.
#[derive(Debug, Clone)]
pub struct StartedScan {
    pub scan_id: String,
    pub connection_label: String,
    /// An unfinished scan (interrupted by a crash) that resumes from what it had read.
    pub resumed: bool,
    /// Its status when found (queued or running).
    pub status: ScanStatus,
}

/// Where one scan is.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanProgress {
    pub connection_label: String,
    pub status: ScanStatus,
    pub resources_done: i32,
    pub resources_total: i32,
    pub requests: i64,
    pub throttled: i64,
    /// Why a running scan waits (parked until a rate window resets, retrying), or why a
    /// scan failed.
    pub note: Option<String>,
}

/// How a set of scans ended.
#[derive(Debug, Clone)]
pub struct ScanOutcome {
    pub completed: usize,
    /// `label: reason` per failed scan.
    pub failed: Vec<String>,
    pub requests: i64,
}

impl Service {
    /// Queues a scan per connection of the tenant, or resumes the one already unfinished
    /// (failing it first if its queue job is gone, so it can never block the connection).
    pub async fn start_scan(&self, scope: &TenantScope) -> Result<Vec<StartedScan>> {
        scope.require(Role::Admin)?;
        let tenant = &scope.tenant;
        let store = &self.rt.store;
        let connections = store.connections(&tenant.id).await?;
        if connections.is_empty() {
            return Err(ServiceError::Invalid(format!(
                "tenant {} has no connections (add one with `aispm connect`)",
                tenant.slug
            )));
        }
        let mut started = Vec::new();
        for conn in connections {
            if let Some(scan) = store.unfinished_scans(&conn.id).await?.first() {
                if self.rt.queue.collect_job_alive(&scan.id).await? {
                    started.push(StartedScan {
                        scan_id: scan.id.clone(),
                        connection_label: conn.label.clone(),
                        resumed: true,
                        status: scan.status,
                    });
                    continue;
                }
                store.fail_scan(&scan.id, ORPHANED).await?;
            }
            let scan = store.create_scan(&tenant.id, &conn.id).await?;
            self.rt
                .queue
                .push_collect(CollectJob {
                    scan_id: scan.id.clone(),
                })
                .await?;
            started.push(StartedScan {
                scan_id: scan.id,
                connection_label: conn.label,
                resumed: false,
                status: ScanStatus::Queued,
            });
        }
        let ids: Vec<&str> = started.iter().map(|s| s.scan_id.as_str()).collect();
        self.record(scope, "scan.start", &ids.join(", ")).await?;
        Ok(started)
    }

    /// Runs the queue's workers in this process until every scan has finished and the tenant
    /// has been evaluated after them, calling `on_progress` whenever a scan moved. A scan
    /// whose job left the queue is failed rather than waited for.
    pub async fn wait_for_scans(
        &self,
        scope: &TenantScope,
        scan_ids: &[String],
        timeout: Duration,
        mut on_progress: impl FnMut(&[ScanProgress]),
    ) -> Result<ScanOutcome> {
        let tenant = &scope.tenant;
        let store = &self.rt.store;
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let workers = tokio::spawn(jobs::run_workers(self.rt.clone(), async {
            let _ = stop_rx.await;
        }));
        let labels: BTreeMap<String, String> = store
            .connections(&tenant.id)
            .await?
            .into_iter()
            .map(|c| (c.id, c.label))
            .collect();
        let label_of = |id: &str| labels.get(id).cloned().unwrap_or_else(|| "?".into());
        let started = Instant::now();
        let mut last: Vec<ScanProgress> = Vec::new();
        let mut last_liveness = Instant::now();
        let outcome = loop {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let mut scans = Vec::new();
            for id in scan_ids {
                let scan = store.scan(id).await?;
                if scan.tenant_id != tenant.id {
                    return Err(ServiceError::NotFound(format!("no scan {id:?}")));
                }
                scans.push(scan);
            }
            let progress: Vec<ScanProgress> = scans
                .iter()
                .map(|s| ScanProgress {
                    connection_label: label_of(&s.connection_id),
                    status: s.status,
                    resources_done: s.resources_done,
                    resources_total: s.resources_total,
                    requests: s.requests,
                    throttled: s.throttled,
                    note: s.error.clone(),
                })
                .collect();
            if progress != last {
                on_progress(&progress);
                last = progress;
            }
            let finished = scans.iter().all(|s| s.status.is_final());
            if !finished && last_liveness.elapsed() > Duration::from_secs(5) {
                last_liveness = Instant::now();
                for s in scans.iter().filter(|s| !s.status.is_final()) {
                    if !self.rt.queue.collect_job_alive(&s.id).await? {
                        store.fail_scan(&s.id, ORPHANED).await?;
                    }
                }
            }
            if finished {
                let completed: Vec<_> = scans.iter().filter(|s| s.status == ScanStatus::Completed).collect();
                let last_finish = completed.iter().filter_map(|s| s.finished_at.clone()).max();
                let evaluated = match (&last_finish, store.latest_evaluation(&tenant.id).await?) {
                    (None, _) => true, // nothing to evaluate
                    (Some(done), Some(summary)) => summary.evaluated_at.as_str() >= done.as_str(),
                    (Some(_), None) => false,
                };
                if evaluated {
                    break ScanOutcome {
                        completed: completed.len(),
                        failed: scans
                            .iter()
                            .filter(|s| s.status == ScanStatus::Failed)
                            .map(|s| {
                                format!(
                                    "{}: {}",
                                    label_of(&s.connection_id),
                                    s.error.as_deref().unwrap_or("failed")
                                )
                            })
                            .collect(),
                        requests: scans.iter().map(|s| s.requests).sum(),
                    };
                }
            }
            if workers.is_finished() {
                // The workers stopped on their own: a queue or database failure.
                workers
                    .await
                    .map_err(|e| ServiceError::Other(format!("worker task: {e}")))??;
                return Err(ServiceError::Other(
                    "the queue workers stopped before the scan finished".into(),
                ));
            }
            if started.elapsed() > timeout {
                let _ = stop_tx.send(());
                return Err(ServiceError::Other(format!(
                    "the scan did not finish within {} s; it stays queued and resumes with `aispm worker` or the next `aispm scan --wait`",
                    timeout.as_secs()
                )));
            }
        };
        let _ = stop_tx.send(());
        workers
            .await
            .map_err(|e| ServiceError::Other(format!("worker task: {e}")))??;
        Ok(outcome)
    }
}
