//! The job queue and what its jobs do: the apalis queue (SQLite or PostgreSQL), the Collect and
//! Evaluate jobs, and the workers that run them. Vendor-agnostic: connectors are reached only
//! through `connectors::collector`; persistence is the `store` crate.
//!
//! Layers, each using only the ones before it: `queue` (job types, pushing, liveness) →
//! `work` (collect and evaluate) → `workers` (apalis workers and the outbox sweep); `alerts`
//! plans messages for the evaluation to store and delivers the alert outbox.

pub mod alerts;
pub mod cron;
pub mod queue;
pub mod work;
pub mod workers;

pub use queue::{CollectJob, EvaluateJob, Queue};
pub use work::Runtime;
pub use workers::run_workers;
