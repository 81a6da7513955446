//! Schema migrations (sea-orm-migration), applied automatically at start on SQLite and
//! PostgreSQL alike. Times are stored as RFC 3339 text and documents as JSON text so both
//! databases read them the same way.

pub use sea_orm_migration::prelude::*;

mod m0001_initial;
mod m0002_outbox_and_evaluation_seq;
mod m0003_users_tokens_audit;
mod m0004_sessions;
mod m0005_oauth_states;
mod m0006_schedules_and_reports;
mod m0007_drift;
mod m0008_alerts;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_initial::Migration),
            Box::new(m0002_outbox_and_evaluation_seq::Migration),
            Box::new(m0003_users_tokens_audit::Migration),
            Box::new(m0004_sessions::Migration),
            Box::new(m0005_oauth_states::Migration),
            Box::new(m0006_schedules_and_reports::Migration),
            Box::new(m0007_drift::Migration),
            Box::new(m0008_alerts::Migration),
        ]
    }
}
