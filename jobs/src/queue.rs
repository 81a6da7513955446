//! The job queue: apalis with SQLite storage by default and PostgreSQL storage when the
//! database is PostgreSQL, sharing the store's connection pool.
//!
//! Jobs: `CollectJob` (one scan of one connection) and `EvaluateJob` (one tenant). Both are
//! idempotent, so a retry or an orphan re-enqueue after a crash is safe. This module only
//! queues and inspects jobs; `workers` runs them.

use apalis::prelude::*;
use apalis_postgres::{PgPool, PostgresStorage};
use apalis_sqlite::{SqlitePool, SqliteStorage};
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CollectJob {
    pub scan_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvaluateJob {
    pub tenant_id: String,
}

pub const COLLECT_QUEUE: &str = "aispm::collect";
pub const EVALUATE_QUEUE: &str = "aispm::evaluate";
/// Tries per job; a collect job resumes from its stored parts each time.
pub const COLLECT_ATTEMPTS: usize = 5;
pub const EVALUATE_ATTEMPTS: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("queue storage: {0}")]
    Storage(String),
}

#[derive(Clone)]
pub enum Queue {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Heartbeats every few seconds: a worker killed mid-job is noticed quickly and its job
/// re-enqueued (at once by the next worker with its name, by any other after 3 missed beats).
pub(crate) fn heartbeat() -> Duration {
    std::env::var("AISPM_HEARTBEAT_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(3))
}

macro_rules! config_for {
    ($config:ty, $queue:expr) => {
        <$config>::default()
            .queue($queue)
            .heartbeat_interval(heartbeat())
            .missed_heartbeats(3)
            .batch_size(4)
    };
}
pub(crate) use config_for;

/// A worker name per host, process, run and queue (apalis refuses a name that is still
/// heartbeating). A process killed mid-job leaves its worker row behind; any other worker
/// re-queues that job once the row has missed 3 heartbeats.
pub(crate) fn worker_name(queue: &str) -> String {
    let host = std::env::var("AISPM_WORKER_NAME")
        .ok()
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "local".into());
    let run = &uuid::Uuid::new_v4().simple().to_string()[..8];
    format!("{queue}@{host}-{}-{run}", std::process::id())
}

impl Queue {
    /// Sets up the queue tables beside the store's.
    pub async fn for_store(store: &store::Store) -> Result<Queue, QueueError> {
        let err = |e: &dyn std::fmt::Display| QueueError::Storage(e.to_string());
        if store.is_postgres() {
            let pool = store.db.get_postgres_connection_pool().clone();
            PostgresStorage::setup(&pool).await.map_err(|e| err(&e))?;
            Ok(Queue::Postgres(pool))
        } else {
            let pool = store.db.get_sqlite_connection_pool().clone();
            SqliteStorage::setup(&pool).await.map_err(|e| err(&e))?;
            Ok(Queue::Sqlite(pool))
        }
    }

    pub async fn push_collect(&self, job: CollectJob) -> Result<(), QueueError> {
        self.push(COLLECT_QUEUE, job, COLLECT_ATTEMPTS, None).await
    }

    /// Queues a collect job that no worker takes before `delay` has passed (a parked scan).
    /// The delay is capped at the longest vendor wait there is, so no clock arithmetic can
    /// overflow.
    pub async fn push_collect_after(&self, job: CollectJob, delay: Duration) -> Result<(), QueueError> {
        let delay = delay.min(connectors::http::MAX_VENDOR_WAIT);
        self.push(COLLECT_QUEUE, job, COLLECT_ATTEMPTS, Some(delay)).await
    }

    /// Whether a collect job for `scan_id` is still in the queue with tries left (pending,
    /// queued, running, or failed and due for a retry). A scan whose job is gone can never
    /// finish by itself.
    pub async fn collect_job_alive(&self, scan_id: &str) -> Result<bool, QueueError> {
        use sea_orm::{ConnectionTrait, DbBackend, Statement};
        // The job is stored as JSON bytes: `{"scan_id":"<uuid>"}`.
        let needle = format!("%\"scan_id\":\"{scan_id}\"%");
        let (db, sql) = match self {
            Queue::Sqlite(pool) => (
                sea_orm::SqlxSqliteConnector::from_sqlx_sqlite_pool(pool.clone()),
                "SELECT COUNT(*) AS n FROM Jobs WHERE job_type = ? AND status IN ('Pending', 'Queued', 'Running', 'Failed') \
                 AND attempts < max_attempts AND CAST(job AS TEXT) LIKE ?",
            ),
            Queue::Postgres(pool) => (
                sea_orm::SqlxPostgresConnector::from_sqlx_postgres_pool(pool.clone()),
                "SELECT COUNT(*) AS n FROM apalis.jobs WHERE job_type = $1 AND status IN ('Pending', 'Queued', 'Running', 'Failed') \
                 AND attempts < max_attempts AND convert_from(job, 'UTF8') LIKE $2",
            ),
        };
        let backend = match self {
            Queue::Sqlite(_) => DbBackend::Sqlite,
            Queue::Postgres(_) => DbBackend::Postgres,
        };
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                sql,
                [COLLECT_QUEUE.into(), needle.into()],
            ))
            .await
            .map_err(|e| QueueError::Storage(e.to_string()))?;
        let count: i64 = row
            .map(|r| r.try_get("", "n"))
            .transpose()
            .map_err(|e| QueueError::Storage(e.to_string()))?
            .unwrap_or(0);
        Ok(count > 0)
    }

    pub async fn push_evaluate(&self, job: EvaluateJob) -> Result<(), QueueError> {
        self.push(EVALUATE_QUEUE, job, EVALUATE_ATTEMPTS, None).await
    }

    async fn push<T>(&self, queue: &str, job: T, attempts: usize, delay: Option<Duration>) -> Result<(), QueueError>
    where
        T: Serialize + for<'de> Deserialize<'de> + Send + Sync + Unpin + 'static,
    {
        let mut builder = TaskBuilder::new(job).max_attempts(attempts);
        if let Some(delay) = delay {
            builder = builder.run_after(delay);
        }
        let task = builder.build();
        let result = match self {
            Queue::Sqlite(pool) => SqliteStorage::new(pool)
                .with_config(config_for!(apalis_sqlite::Config, queue))
                .push_task(task)
                .await
                .map_err(|e| e.to_string()),
            Queue::Postgres(pool) => PostgresStorage::new(pool)
                .with_config(config_for!(apalis_postgres::Config, queue))
                .push_task(task)
                .await
                .map_err(|e| e.to_string()),
        };
        result.map_err(QueueError::Storage)
    }
}
