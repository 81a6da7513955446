//! Persistence: tenants, connections (secrets sealed), scans and their per-resource parts,
//! snapshots, findings, the outbox. SQLite by default, PostgreSQL with the same code;
//! migrations run at open. Usable without the job queue (a read-only API links only this).

mod access;
mod alerts;
pub mod crypto;
pub mod entities;
mod schedules;
mod snapshots;

pub use alerts::{AttemptResult, NewChannel, PlannedAlert};
pub use crypto::{CryptoError, SealContext, SecretBox};
pub use entities::scan::ScanStatus;
pub use schedules::ReportSummary;
pub use snapshots::{ChangeQuery, EvaluationDrift, FindingEventRecord, StoredChange};

use connectors::{Parts, ResourcePart};
use entities::*;
use migrations::{Migrator, MigratorTrait};
use schemas::{Finding, Inventory};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};
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
    /// The change clashes with what is stored (a user that exists, a running scan).
    #[error("{0}")]
    Conflict(String),
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

/// The advisory lock key migrations hold on PostgreSQL ("aispm" in ASCII).
const MIGRATION_LOCK: i64 = 0x0061_6973_706d;

/// The file path of a SQLite URL (`sqlite://PATH?…`), unless it is in memory.
fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && !path.contains(":memory:")).then(|| std::path::PathBuf::from(path))
}

/// Creates the database file readable by its owner only (0600), or tightens an existing one:
/// it holds live vendor data and sealed secrets. SQLite gives its `-wal` and `-shm` files the
/// same mode.
fn private_file(path: &std::path::Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    {
        std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    }
    Ok(())
}

#[derive(Clone)]
pub struct Store {
    pub db: DatabaseConnection,
}

/// What one evaluation of a tenant found, stored beside the findings it reconciled.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EvaluationSummary {
    pub evaluated_at: String,
    /// The connections whose latest snapshots were evaluated.
    pub connections: Vec<String>,
    pub fail: usize,
    pub pass: usize,
    pub not_assessed: usize,
    pub not_assessed_results: Vec<NotAssessed>,
    /// Resources that were not (fully) collected, from every evaluated snapshot.
    pub coverage_gaps: Vec<schemas::Coverage>,
    /// Rules loaded.
    pub rules: usize,
    /// The rule results per severity of their rule (the posture score weighs them).
    #[serde(default)]
    pub by_severity: std::collections::BTreeMap<String, CheckCounts>,
}

/// How many rule results failed, passed and could not be assessed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CheckCounts {
    pub fail: usize,
    pub pass: usize,
    pub not_assessed: usize,
}

/// A rule that could not decide on a resource, and why.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NotAssessed {
    pub rule_id: String,
    pub resource_id: String,
    pub reason: Option<String>,
}

/// What an outbox row of kind `evaluate` asks for.
pub const OUTBOX_EVALUATE: &str = "evaluate";

impl Store {
    /// Connects and applies migrations.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let mut options = ConnectOptions::new(url.to_string());
        options
            .max_connections(if url.starts_with("sqlite") { 4 } else { 10 })
            .connect_timeout(Duration::from_secs(10))
            .sqlx_logging(false);
        if let Some(path) = sqlite_path(url) {
            private_file(&path).map_err(|e| StoreError::Open {
                url: redact_url(url),
                reason: e.to_string(),
            })?;
        }
        let open_error = |e: DbErr| StoreError::Open {
            url: redact_url(url),
            reason: e.to_string(),
        };
        let db = Database::connect(options).await.map_err(open_error)?;
        if db.get_database_backend() == DbBackend::Sqlite {
            // Several writers (the CLI and its workers) share the file.
            db.execute_unprepared("PRAGMA journal_mode=WAL; PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON;")
                .await?;
            Migrator::up(&db, None).await?;
        } else {
            // Two processes starting on a fresh database at once: one migrates, the other
            // waits for it (a session-level advisory lock, so one dedicated connection).
            let mut single = ConnectOptions::new(url.to_string());
            single
                .max_connections(1)
                .min_connections(1)
                .connect_timeout(Duration::from_secs(10))
                .sqlx_logging(false);
            let session = Database::connect(single).await.map_err(open_error)?;
            session
                .execute_unprepared(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
                .await?;
            let migrated = Migrator::up(&session, None).await;
            let _ = session
                .execute_unprepared(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
                .await;
            let _ = session.close().await;
            migrated?;
        }
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
            evaluation_seq: Set(0),
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

    /// Re-seals every connection's secrets with `new` (opening them with `old`, or leaving
    /// those already sealed with `new`), in one transaction. Returns how many were re-sealed.
    pub async fn reseal_connections(&self, old: &SecretBox, new: &SecretBox) -> Result<usize, StoreError> {
        let txn = self.db.begin().await?;
        let mut resealed = 0;
        for conn in connection::Entity::find().all(&txn).await? {
            let settings: serde_json::Value =
                serde_json::from_str(&conn.settings).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let context = SealContext::new(&conn.id, &conn.tenant_id, &conn.provider, &settings);
            if new.open(&context, &conn.secrets).is_ok() {
                continue;
            }
            let secrets = old
                .open(&context, &conn.secrets)
                .map_err(|e| StoreError::Corrupt(format!("connection {} ({}): {e}", conn.label, conn.id)))?;
            let mut row: connection::ActiveModel = conn.into();
            row.secrets = Set(new.seal(&context, &secrets));
            row.update(&txn).await?;
            resealed += 1;
        }
        txn.commit().await?;
        Ok(resealed)
    }

    /// Replaces some of a connection's secrets (a refresh token the vendor rotated, a
    /// delegated sign-in added later), keeping the others. A compare-and-swap on the sealed
    /// value rather than a read-then-write transaction: SQLite cannot upgrade a read lock while
    /// a worker writes, and a concurrent change is merged, not lost. `false` when the
    /// connection is gone.
    pub async fn update_connection_secrets(
        &self,
        id: &str,
        sealer: &SecretBox,
        changes: &std::collections::BTreeMap<String, String>,
    ) -> Result<bool, StoreError> {
        for _ in 0..8 {
            let Some(conn) = connection::Entity::find_by_id(id.to_string()).one(&self.db).await? else {
                return Ok(false);
            };
            let settings: serde_json::Value =
                serde_json::from_str(&conn.settings).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let context = SealContext::new(&conn.id, &conn.tenant_id, &conn.provider, &settings);
            let mut secrets = sealer
                .open(&context, &conn.secrets)
                .map_err(|e| StoreError::Corrupt(format!("connection {} ({}): {e}", conn.label, conn.id)))?;
            secrets.extend(changes.iter().map(|(k, v)| (k.clone(), v.clone())));
            let done = connection::Entity::update_many()
                .col_expr(
                    connection::Column::Secrets,
                    sea_orm::sea_query::Expr::value(sealer.seal(&context, &secrets)),
                )
                .filter(connection::Column::Id.eq(id))
                .filter(connection::Column::Secrets.eq(conn.secrets))
                .exec(&self.db)
                .await?;
            if done.rows_affected == 1 {
                return Ok(true);
            }
        }
        Err(StoreError::Conflict(format!(
            "connection {id}: its secrets kept changing while being updated"
        )))
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
            status: Set(ScanStatus::Queued),
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
            .filter(scan::Column::Status.is_in([ScanStatus::Queued, ScanStatus::Running]))
            .all(&self.db)
            .await?)
    }

    /// Updates a scan that is still queued or running; `None` when it has finished meanwhile
    /// (a second delivery of the same job must not reopen or reset a finished scan).
    pub async fn update_unfinished_scan(&self, model: scan::ActiveModel) -> Result<Option<scan::Model>, StoreError> {
        let update = scan::Entity::update(model)
            .validate()?
            .filter(scan::Column::Status.is_in([ScanStatus::Queued, ScanStatus::Running]));
        match update.exec(&self.db).await {
            Ok(m) => Ok(Some(m)),
            Err(DbErr::RecordNotUpdated) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Fails a scan that is still queued or running, with the reason, and drops its stored
    /// parts (live vendor data that no snapshot will use). `false` when it had finished.
    pub async fn fail_scan(&self, scan_id: &str, reason: &str) -> Result<bool, StoreError> {
        let txn = self.db.begin().await?;
        let updated = scan::Entity::update_many()
            .col_expr(scan::Column::Status, ScanStatus::Failed.into())
            .col_expr(scan::Column::FinishedAt, now().into())
            .col_expr(scan::Column::Error, reason.into())
            .filter(scan::Column::Id.eq(scan_id))
            .filter(scan::Column::Status.is_in([ScanStatus::Queued, ScanStatus::Running]))
            .exec(&txn)
            .await?
            .rows_affected;
        scan_part::Entity::delete_many()
            .filter(scan_part::Column::ScanId.eq(scan_id))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(updated > 0)
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

    /// Drops the stored parts of a scan that has finished (a late delivery of its job may have
    /// stored some after the snapshot committed).
    pub async fn drop_parts_if_finished(&self, scan_id: &str) -> Result<(), StoreError> {
        let finished = self
            .scan(scan_id)
            .await
            .is_ok_and(|s| s.status == ScanStatus::Completed || s.status == ScanStatus::Failed);
        if finished {
            scan_part::Entity::delete_many()
                .filter(scan_part::Column::ScanId.eq(scan_id))
                .exec(&self.db)
                .await?;
        }
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

    /// Commits the snapshot, completes the scan, drops its raw parts and writes the outbox
    /// row that asks for the tenant's evaluation, in one transaction, with the change records
    /// since the connection's previous snapshot: until this commits, the
    /// previous complete snapshot stays the authoritative one, and once it has, the evaluation
    /// happens even if the process dies now. Returns the outbox row's id, or `None` when the
    /// scan had already finished (a second delivery of the job).
    pub async fn commit_snapshot(
        &self,
        scan: &scan::Model,
        inventory: &Inventory,
        changes: &[schemas::ResourceChange],
        requests: i64,
        throttled: i64,
    ) -> Result<Option<String>, StoreError> {
        let txn = self.db.begin().await?;
        let mut done: scan::ActiveModel = scan.clone().into();
        done.status = Set(ScanStatus::Completed);
        done.finished_at = Set(Some(now()));
        done.requests = Set(requests);
        done.throttled = Set(throttled);
        done.error = Set(None);
        let completed = scan::Entity::update(done)
            .validate()?
            .filter(scan::Column::Status.is_in([ScanStatus::Queued, ScanStatus::Running]))
            .exec(&txn)
            .await;
        match completed {
            Ok(_) => {}
            Err(DbErr::RecordNotUpdated) => {
                txn.rollback().await?;
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        }
        let snapshot_id = Store::insert_snapshot(&txn, scan, inventory).await?;
        snapshots::save_changes(&txn, &scan.tenant_id, &scan.connection_id, &snapshot_id, changes).await?;
        scan_part::Entity::delete_many()
            .filter(scan_part::Column::ScanId.eq(&scan.id))
            .exec(&txn)
            .await?;
        let outbox_id = new_id();
        outbox::ActiveModel {
            id: Set(outbox_id.clone()),
            kind: Set(OUTBOX_EVALUATE.into()),
            payload: Set(serde_json::json!({ "tenant_id": scan.tenant_id }).to_string()),
            created_at: Set(now()),
        }
        .insert(&txn)
        .await?;
        txn.commit().await?;
        Ok(Some(outbox_id))
    }

    // ---- outbox

    /// Outbox rows written before `before` (RFC 3339), oldest first.
    pub async fn outbox_before(&self, before: &str) -> Result<Vec<outbox::Model>, StoreError> {
        Ok(outbox::Entity::find()
            .filter(outbox::Column::CreatedAt.lt(before))
            .order_by_asc(outbox::Column::CreatedAt)
            .all(&self.db)
            .await?)
    }

    pub async fn outbox_done(&self, id: &str) -> Result<(), StoreError> {
        outbox::Entity::delete_by_id(id.to_string()).exec(&self.db).await?;
        Ok(())
    }

    // ---- snapshots

    /// The newest complete snapshot of each of the tenant's connections (one row read per
    /// connection, never the history).
    pub async fn latest_inventories(&self, tenant_id: &str) -> Result<Vec<Inventory>, StoreError> {
        let mut latest = Vec::new();
        for conn in self.connections(tenant_id).await? {
            let row = snapshot::Entity::find()
                .filter(snapshot::Column::ConnectionId.eq(&conn.id))
                .order_by_desc(snapshot::Column::CreatedAt)
                .order_by_desc(snapshot::Column::Id)
                .one(&self.db)
                .await?;
            if let Some(row) = row {
                latest.push(snapshots::load(&self.db, &row).await?);
            }
        }
        Ok(latest)
    }

    pub async fn snapshot_count(&self, connection_id: &str) -> Result<u64, StoreError> {
        Ok(snapshot::Entity::find()
            .filter(snapshot::Column::ConnectionId.eq(connection_id))
            .count(&self.db)
            .await?)
    }

    // ---- findings

    pub async fn findings(&self, tenant_id: &str) -> Result<Vec<Finding>, StoreError> {
        let rows = finding::Entity::find()
            .filter(finding::Column::TenantId.eq(tenant_id))
            .order_by_asc(finding::Column::Fingerprint)
            .all(&self.db)
            .await?;
        rows.into_iter()
            .map(|r| serde_json::from_str(&r.body).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect()
    }

    /// The tenant's evaluation sequence number, read before an evaluation starts.
    pub async fn evaluation_seq(&self, tenant_id: &str) -> Result<i64, StoreError> {
        tenant::Entity::find_by_id(tenant_id.to_string())
            .one(&self.db)
            .await?
            .map(|t| t.evaluation_seq)
            .ok_or_else(|| StoreError::Corrupt(format!("tenant {tenant_id} is gone")))
    }

    /// Writes the reconciled findings and the evaluation summary in one transaction, if no
    /// other evaluation of the tenant was stored since `seq` was read; `false` means one was,
    /// and this evaluation (computed from older findings) must be done again.
    pub async fn save_evaluation(
        &self,
        tenant_id: &str,
        seq: i64,
        findings: &[Finding],
        summary: &EvaluationSummary,
    ) -> Result<bool, StoreError> {
        self.save_evaluation_with_drift(tenant_id, seq, findings, summary, &EvaluationDrift::default())
            .await
    }

    /// [`Store::save_evaluation`], also storing the finding events the evaluation caused and
    /// the change records it attributed findings to, in the same transaction.
    pub async fn save_evaluation_with_drift(
        &self,
        tenant_id: &str,
        seq: i64,
        findings: &[Finding],
        summary: &EvaluationSummary,
        drift: &EvaluationDrift,
    ) -> Result<bool, StoreError> {
        use sea_orm::sea_query::Expr;
        let txn = self.db.begin().await?;
        // First statement a write: on SQLite it takes the write lock, on PostgreSQL the row's.
        let claimed = tenant::Entity::update_many()
            .col_expr(tenant::Column::EvaluationSeq, Expr::value(seq + 1))
            .filter(tenant::Column::Id.eq(tenant_id))
            .filter(tenant::Column::EvaluationSeq.eq(seq))
            .exec(&txn)
            .await?
            .rows_affected;
        if claimed == 0 {
            txn.rollback().await?;
            return Ok(false);
        }
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
        let evaluation_id = new_id();
        let created_at = now();
        evaluation::ActiveModel {
            id: Set(evaluation_id.clone()),
            tenant_id: Set(tenant_id.to_string()),
            created_at: Set(created_at.clone()),
            summary: Set(serde_json::to_string(summary).map_err(|e| StoreError::Corrupt(e.to_string()))?),
        }
        .insert(&txn)
        .await?;
        snapshots::save_drift(&txn, tenant_id, &evaluation_id, &created_at, drift).await?;
        txn.commit().await?;
        Ok(true)
    }

    /// The tenant's newest evaluation summary (`None` before the first, or when the stored one
    /// is from a version that wrote another shape).
    pub async fn latest_evaluation(&self, tenant_id: &str) -> Result<Option<EvaluationSummary>, StoreError> {
        let row = evaluation::Entity::find()
            .filter(evaluation::Column::TenantId.eq(tenant_id))
            .order_by_desc(evaluation::Column::CreatedAt)
            .one(&self.db)
            .await?;
        Ok(row.and_then(|r| serde_json::from_str(&r.summary).ok()))
    }
}
