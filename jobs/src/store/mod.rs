//! Persistence: tenants, connections (secrets sealed), scans and their per-resource parts,
//! snapshots, findings. SQLite by default, PostgreSQL with the same code; migrations run at
//! open.

pub mod entities;

use connectors::{Parts, ResourcePart};
use entities::*;
use migrations::{Migrator, MigratorTrait};
use schemas::{Finding, Inventory};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectOptions, Database, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, Set, TransactionTrait,
};
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("cannot open the database at {url}: {reason}")]
    Open { url: String, reason: String },
    #[error("tenant {0:?} already exists")]
    TenantExists(String),
    #[error("no tenant {0:?} (create it with `aispm tenant add {0}`)")]
    NoTenant(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A tenant slug: 1 to 63 of a-z, 0-9 and '-', starting with a letter or digit.
pub fn parse_slug(text: &str) -> Result<String, String> {
    let ok = !text.is_empty()
        && text.len() <= 63
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !text.starts_with('-');
    if ok {
        Ok(text.to_string())
    } else {
        Err(format!(
            "invalid tenant slug {text:?}: use 1-63 lowercase letters, digits and '-', not starting with '-'"
        ))
    }
}

/// Hides the password in a database URL for messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

#[derive(Clone)]
pub struct Store {
    pub db: DatabaseConnection,
}

/// Scan states.
pub mod status {
    pub const QUEUED: &str = "queued";
    pub const RUNNING: &str = "running";
    pub const COMPLETED: &str = "completed";
    pub const FAILED: &str = "failed";
}

impl Store {
    /// Connects and applies migrations.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let mut options = ConnectOptions::new(url.to_string());
        options
            .max_connections(if url.starts_with("sqlite") { 4 } else { 10 })
            .connect_timeout(Duration::from_secs(10))
            .sqlx_logging(false);
        let db = Database::connect(options).await.map_err(|e| StoreError::Open {
            url: redact_url(url),
            reason: e.to_string(),
        })?;
        if db.get_database_backend() == DbBackend::Sqlite {
            // Several writers (the CLI and its workers) share the file.
            use sea_orm::ConnectionTrait;
            db.execute_unprepared("PRAGMA journal_mode=WAL; PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON;")
                .await?;
        }
        Migrator::up(&db, None).await?;
        Ok(Store { db })
    }

    pub fn is_postgres(&self) -> bool {
        self.db.get_database_backend() == DbBackend::Postgres
    }

    // ---- tenants

    pub async fn add_tenant(&self, slug: &str) -> Result<tenant::Model, StoreError> {
        if self.tenant(slug).await.is_ok() {
            return Err(StoreError::TenantExists(slug.to_string()));
        }
        let model = tenant::ActiveModel {
            id: Set(new_id()),
            slug: Set(slug.to_string()),
            created_at: Set(now()),
        };
        Ok(model.insert(&self.db).await?)
    }

    pub async fn tenant(&self, slug: &str) -> Result<tenant::Model, StoreError> {
        tenant::Entity::find()
            .filter(tenant::Column::Slug.eq(slug))
            .one(&self.db)
            .await?
            .ok_or_else(|| StoreError::NoTenant(slug.to_string()))
    }

    pub async fn tenants(&self) -> Result<Vec<tenant::Model>, StoreError> {
        Ok(tenant::Entity::find()
            .order_by_asc(tenant::Column::Slug)
            .all(&self.db)
            .await?)
    }

    // ---- connections

    pub async fn add_connection(
        &self,
        id: &str,
        tenant_id: &str,
        provider: &str,
        label: &str,
        settings: &serde_json::Value,
        sealed_secrets: String,
    ) -> Result<connection::Model, StoreError> {
        let model = connection::ActiveModel {
            id: Set(id.to_string()),
            tenant_id: Set(tenant_id.to_string()),
            provider: Set(provider.to_string()),
            label: Set(label.to_string()),
            settings: Set(settings.to_string()),
            secrets: Set(sealed_secrets),
            created_at: Set(now()),
        };
        Ok(model.insert(&self.db).await?)
    }

    pub async fn connections(&self, tenant_id: &str) -> Result<Vec<connection::Model>, StoreError> {
        Ok(connection::Entity::find()
            .filter(connection::Column::TenantId.eq(tenant_id))
            .order_by_asc(connection::Column::CreatedAt)
            .all(&self.db)
            .await?)
    }

    pub async fn connection(&self, id: &str) -> Result<connection::Model, StoreError> {
        connection::Entity::find_by_id(id.to_string())
            .one(&self.db)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("connection {id} is gone")))
    }

    // ---- scans

    pub async fn create_scan(&self, tenant_id: &str, connection_id: &str) -> Result<scan::Model, StoreError> {
        let model = scan::ActiveModel {
            id: Set(new_id()),
            tenant_id: Set(tenant_id.to_string()),
            connection_id: Set(connection_id.to_string()),
            status: Set(status::QUEUED.into()),
            created_at: Set(now()),
            started_at: Set(None),
            finished_at: Set(None),
            resources_total: Set(0),
            resources_done: Set(0),
            requests: Set(0),
            requests_lost: Set(0),
            throttled: Set(0),
            error: Set(None),
        };
        Ok(model.insert(&self.db).await?)
    }

    pub async fn scan(&self, id: &str) -> Result<scan::Model, StoreError> {
        scan::Entity::find_by_id(id.to_string())
            .one(&self.db)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("scan {id} is gone")))
    }

    /// Queued or running scans of a connection.
    pub async fn unfinished_scans(&self, connection_id: &str) -> Result<Vec<scan::Model>, StoreError> {
        Ok(scan::Entity::find()
            .filter(scan::Column::ConnectionId.eq(connection_id))
            .filter(scan::Column::Status.is_in([status::QUEUED, status::RUNNING]))
            .all(&self.db)
            .await?)
    }

    pub async fn update_scan(&self, model: scan::ActiveModel) -> Result<scan::Model, StoreError> {
        Ok(model.update(&self.db).await?)
    }

    /// Records one resource's part; replaces an earlier attempt's part for the same resource.
    pub async fn save_part(&self, scan_id: &str, resource: &str, part: &ResourcePart) -> Result<(), StoreError> {
        let body = serde_json::to_string(part).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let model = scan_part::ActiveModel {
            scan_id: Set(scan_id.to_string()),
            resource: Set(resource.to_string()),
            status: Set(format!("{:?}", part.coverage.status).to_lowercase()),
            requests: Set(part.coverage.requests as i64),
            body: Set(body),
            ..Default::default()
        };
        scan_part::Entity::insert(model)
            .on_conflict(
                OnConflict::columns([scan_part::Column::ScanId, scan_part::Column::Resource])
                    .update_columns([
                        scan_part::Column::Status,
                        scan_part::Column::Requests,
                        scan_part::Column::Body,
                    ])
                    .to_owned(),
            )
            .exec(&self.db)
            .await?;
        Ok(())
    }

    pub async fn parts(&self, scan_id: &str) -> Result<Parts, StoreError> {
        let rows = scan_part::Entity::find()
            .filter(scan_part::Column::ScanId.eq(scan_id))
            .all(&self.db)
            .await?;
        rows.into_iter()
            .map(|r| {
                let part: ResourcePart =
                    serde_json::from_str(&r.body).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok((r.resource, part))
            })
            .collect()
    }

    /// Commits the snapshot and completes the scan in one transaction: until this commits,
    /// the previous complete snapshot stays the authoritative one.
    pub async fn commit_snapshot(
        &self,
        scan: &scan::Model,
        inventory: &Inventory,
        requests: i64,
        throttled: i64,
    ) -> Result<(), StoreError> {
        let body = serde_json::to_string(inventory).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let txn = self.db.begin().await?;
        snapshot::ActiveModel {
            id: Set(new_id()),
            tenant_id: Set(scan.tenant_id.clone()),
            connection_id: Set(scan.connection_id.clone()),
            scan_id: Set(scan.id.clone()),
            inventory: Set(body),
            created_at: Set(now()),
        }
        .insert(&txn)
        .await?;
        let mut done: scan::ActiveModel = scan.clone().into();
        done.status = Set(status::COMPLETED.into());
        done.finished_at = Set(Some(now()));
        done.requests = Set(requests);
        done.throttled = Set(throttled);
        done.error = Set(None);
        done.update(&txn).await?;
        txn.commit().await?;
        Ok(())
    }

    /// The newest complete snapshot of each of the tenant's connections.
    pub async fn latest_inventories(&self, tenant_id: &str) -> Result<Vec<Inventory>, StoreError> {
        let rows = snapshot::Entity::find()
            .filter(snapshot::Column::TenantId.eq(tenant_id))
            .order_by_desc(snapshot::Column::CreatedAt)
            .all(&self.db)
            .await?;
        let mut latest: BTreeMap<String, Inventory> = BTreeMap::new();
        for row in rows {
            if latest.contains_key(&row.connection_id) {
                continue;
            }
            let inventory = serde_json::from_str(&row.inventory).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            latest.insert(row.connection_id, inventory);
        }
        Ok(latest.into_values().collect())
    }

    pub async fn snapshot_count(&self, connection_id: &str) -> Result<usize, StoreError> {
        Ok(snapshot::Entity::find()
            .filter(snapshot::Column::ConnectionId.eq(connection_id))
            .all(&self.db)
            .await?
            .len())
    }

    // ---- findings

    pub async fn findings(&self, tenant_id: &str) -> Result<Vec<Finding>, StoreError> {
        let rows = finding::Entity::find()
            .filter(finding::Column::TenantId.eq(tenant_id))
            .all(&self.db)
            .await?;
        rows.into_iter()
            .map(|r| serde_json::from_str(&r.body).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect()
    }

    /// Writes the reconciled findings and the evaluation summary in one transaction.
    pub async fn save_evaluation(
        &self,
        tenant_id: &str,
        findings: &[Finding],
        summary: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let txn = self.db.begin().await?;
        for f in findings {
            let body = serde_json::to_string(f).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let model = finding::ActiveModel {
                tenant_id: Set(tenant_id.to_string()),
                fingerprint: Set(f.fingerprint.clone()),
                rule_id: Set(f.rule_id.clone()),
                severity: Set(f.severity.as_str().to_string()),
                status: Set(serde_json::to_value(f.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()),
                first_seen: Set(f.first_seen.clone()),
                last_seen: Set(f.last_seen.clone()),
                body: Set(body),
                ..Default::default()
            };
            finding::Entity::insert(model)
                .on_conflict(
                    OnConflict::columns([finding::Column::TenantId, finding::Column::Fingerprint])
                        .update_columns([
                            finding::Column::Severity,
                            finding::Column::Status,
                            finding::Column::FirstSeen,
                            finding::Column::LastSeen,
                            finding::Column::Body,
                        ])
                        .to_owned(),
                )
                .exec(&txn)
                .await?;
        }
        evaluation::ActiveModel {
            id: Set(new_id()),
            tenant_id: Set(tenant_id.to_string()),
            created_at: Set(now()),
            summary: Set(summary.to_string()),
        }
        .insert(&txn)
        .await?;
        txn.commit().await?;
        Ok(())
    }

    pub async fn latest_evaluation(&self, tenant_id: &str) -> Result<Option<serde_json::Value>, StoreError> {
        let row = evaluation::Entity::find()
            .filter(evaluation::Column::TenantId.eq(tenant_id))
            .order_by_desc(evaluation::Column::CreatedAt)
            .one(&self.db)
            .await?;
        Ok(row.and_then(|r| serde_json::from_str(&r.summary).ok()))
    }
}
