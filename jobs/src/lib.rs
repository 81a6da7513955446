//! Jobs and persistence: the apalis queue (SQLite or PostgreSQL), the collect and evaluate
//! workers, the sea-orm store and secret sealing. Vendor-agnostic: connectors are reached only
//! through `connectors::collector`.

pub mod crypto;
pub mod queue;
pub mod store;
pub mod work;

pub use crypto::{SealContext, SecretBox};
pub use queue::{run_workers, CollectJob, EvaluateJob, Queue};
pub use store::Store;
pub use work::Runtime;
