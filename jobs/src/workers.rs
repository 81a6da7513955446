//! The apalis workers that run Collect and Evaluate jobs, and the outbox sweep beside them.

use crate::queue::{
    config_for, heartbeat, worker_name, CollectJob, EvaluateJob, Queue, QueueError, COLLECT_ATTEMPTS, COLLECT_QUEUE,
    EVALUATE_QUEUE,
};
use crate::work::{self, Runtime, WorkError};
use apalis::prelude::*;
use apalis_postgres::PostgresStorage;
use apalis_sqlite::SqliteStorage;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Collect jobs in flight per process (different connections in parallel).
const COLLECT_CONCURRENCY: usize = 4;

async fn collect_handler(job: CollectJob, rt: Data<Arc<Runtime>>, attempt: Attempt) -> Result<(), BoxDynError> {
    let last_try = attempt.current() + 1 >= COLLECT_ATTEMPTS;
    match work::collect_job(&rt, &job.scan_id, last_try).await {
        Ok(()) => Ok(()),
        Err(WorkError::Retry(reason)) => Err(reason.into()),
        Err(other) => Err(other.to_string().into()),
    }
}

async fn evaluate_handler(job: EvaluateJob, rt: Data<Arc<Runtime>>) -> Result<(), BoxDynError> {
    use futures::FutureExt;
    match std::panic::AssertUnwindSafe(work::evaluate(&rt, &job.tenant_id))
        .catch_unwind()
        .await
    {
        Ok(result) => result.map_err(|e| e.to_string().into()),
        Err(_) => Err("internal error: the evaluation panicked".into()),
    }
}

/// How often the workers deliver outbox rows that a dead process left behind.
const OUTBOX_SWEEP: Duration = Duration::from_secs(15);

/// Runs the collect and evaluate workers until `stop` resolves.
pub async fn run_workers(rt: Arc<Runtime>, stop: impl Future<Output = ()> + Send + 'static) -> Result<(), QueueError> {
    // The same two workers on either storage; only the storage and config types differ.
    macro_rules! register {
        ($monitor:expr, $storage:ident, $config:ty, $pool:expr) => {{
            let (rt1, rt2, pool1, pool2) = (rt.clone(), rt.clone(), $pool.clone(), $pool);
            $monitor
                .register(move |_| {
                    WorkerBuilder::new(worker_name(COLLECT_QUEUE))
                        .backend($storage::new(&pool1).with_config(config_for!($config, COLLECT_QUEUE)))
                        .data(rt1.clone())
                        .concurrency(COLLECT_CONCURRENCY)
                        .build(collect_handler)
                })
                .register(move |_| {
                    WorkerBuilder::new(worker_name(EVALUATE_QUEUE))
                        .backend($storage::new(&pool2).with_config(config_for!($config, EVALUATE_QUEUE)))
                        .data(rt2.clone())
                        .build(evaluate_handler)
                })
        }};
    }
    let monitor = Monitor::new().shutdown_timeout(Duration::from_secs(5));
    let monitor = match rt.queue.clone() {
        Queue::Sqlite(pool) => register!(monitor, SqliteStorage, apalis_sqlite::Config, pool),
        Queue::Postgres(pool) => register!(monitor, PostgresStorage, apalis_postgres::Config, pool),
    };
    // Work a process committed but did not queue before it died: all of it now, then what
    // stays undelivered for a while (a live process delivers its own within milliseconds).
    let sweeper = {
        let rt = rt.clone();
        tokio::spawn(async move {
            let mut min_age = Duration::ZERO;
            loop {
                if let Err(e) = work::sweep_outbox(&rt, min_age).await {
                    tracing::warn!("outbox sweep: {e}");
                }
                min_age = OUTBOX_SWEEP * 2;
                tokio::time::sleep(OUTBOX_SWEEP).await;
            }
        })
    };
    let result = monitor
        .run_with_signal(async move {
            stop.await;
            Ok(())
        })
        .await
        .map_err(|e| QueueError::Storage(e.to_string()));
    sweeper.abort();
    result
}
