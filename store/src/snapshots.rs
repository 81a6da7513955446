//! Snapshots stored record by record, drift records between them, and finding events.
//!
//! A snapshot row keeps a manifest: the inventory's scan facts (provider, time, coverage) and
//! the ids of its records, in order. Each record (an agent, a principal, a grant, ...) is
//! stored once per connection and content in `snapshot_records`, its id a hash of both, so a
//! resource that did not change between scans is not stored again: a second identical scan
//! adds one manifest row and nothing else.

use crate::entities::{change, finding_event, snapshot, snapshot_record};
use crate::{new_id, now, Store, StoreError};
use schemas::{Coverage, FindingEvent, Inventory, RecordKind, ResourceChange, Severity};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// Ids per `IN (...)` list and rows per multi-row insert: well inside both databases' limits
/// on bound parameters.
const CHUNK: usize = 200;

#[derive(Serialize, Deserialize)]
struct Manifest {
    provider: String,
    connection_id: String,
    collected_at: String,
    #[serde(default)]
    coverage: Vec<Coverage>,
    /// `(kind, record id)` in the inventory's order.
    records: Vec<(String, String)>,
}

/// Inserts `rows` a chunk at a time.
async fn insert_all<C, A>(db: &C, rows: Vec<A>) -> Result<(), StoreError>
where
    C: ConnectionTrait,
    A: ActiveModelTrait + Send,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Vec<A> = rows.by_ref().take(CHUNK).collect();
        <A::Entity as EntityTrait>::insert_many(batch).exec(db).await?;
    }
    Ok(())
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn record_id(connection_id: &str, kind: RecordKind, body: &str) -> String {
    let mut hash = Sha256::new();
    for part in [connection_id, kind.as_str(), body] {
        hash.update(part.len().to_le_bytes());
        hash.update(part.as_bytes());
    }
    hex::encode(hash.finalize())
}

/// Stores the records of `inventory` that are not stored yet and returns the manifest.
pub(crate) async fn save_records<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    connection_id: &str,
    inventory: &Inventory,
) -> Result<String, StoreError> {
    let mut order = Vec::new();
    let mut bodies: BTreeMap<String, (RecordKind, String)> = BTreeMap::new();
    for record in inventory.records() {
        let body = serde_json::to_string(&record.body).map_err(corrupt)?;
        let id = record_id(connection_id, record.kind, &body);
        order.push((record.kind.as_str().to_string(), id.clone()));
        bodies.entry(id).or_insert((record.kind, body));
    }
    let ids: Vec<String> = bodies.keys().cloned().collect();
    let mut stored = BTreeSet::new();
    for chunk in ids.chunks(CHUNK) {
        let found: Vec<String> = snapshot_record::Entity::find()
            .select_only()
            .column(snapshot_record::Column::Id)
            .filter(snapshot_record::Column::Id.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        stored.extend(found);
    }
    let missing: Vec<snapshot_record::ActiveModel> = bodies
        .into_iter()
        .filter(|(id, _)| !stored.contains(id))
        .map(|(id, (kind, body))| snapshot_record::ActiveModel {
            id: Set(id),
            tenant_id: Set(tenant_id.to_string()),
            connection_id: Set(connection_id.to_string()),
            kind: Set(kind.as_str().to_string()),
            body: Set(body),
        })
        .collect();
    insert_all(db, missing).await?;
    let manifest = Manifest {
        provider: inventory.provider.clone(),
        connection_id: inventory.connection_id.clone(),
        collected_at: inventory.collected_at.clone(),
        coverage: inventory.coverage.clone(),
        records: order,
    };
    serde_json::to_string(&manifest).map_err(corrupt)
}

/// The inventory a snapshot row holds, from its manifest and records (or, for rows written
/// before records were kept apart, from its whole-inventory JSON).
pub(crate) async fn load<C: ConnectionTrait>(db: &C, row: &snapshot::Model) -> Result<Inventory, StoreError> {
    let Some(manifest) = &row.manifest else {
        return serde_json::from_str(&row.inventory).map_err(corrupt);
    };
    let manifest: Manifest = serde_json::from_str(manifest).map_err(corrupt)?;
    let ids: Vec<String> = manifest
        .records
        .iter()
        .map(|(_, id)| id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut bodies: BTreeMap<String, String> = BTreeMap::new();
    for chunk in ids.chunks(CHUNK) {
        let rows = snapshot_record::Entity::find()
            .filter(snapshot_record::Column::Id.is_in(chunk.to_vec()))
            .filter(snapshot_record::Column::ConnectionId.eq(&row.connection_id))
            .all(db)
            .await?;
        bodies.extend(rows.into_iter().map(|r| (r.id, r.body)));
    }
    let mut inventory = Inventory {
        provider: manifest.provider,
        connection_id: manifest.connection_id,
        collected_at: manifest.collected_at,
        coverage: manifest.coverage,
        ..Default::default()
    };
    for (kind, id) in &manifest.records {
        let kind = RecordKind::parse(kind).ok_or_else(|| corrupt(format!("snapshot record kind {kind:?}")))?;
        let body = bodies
            .get(id)
            .ok_or_else(|| corrupt(format!("snapshot {} lacks its record {id}", row.id)))?;
        let value: serde_json::Value = serde_json::from_str(body).map_err(corrupt)?;
        inventory.push_record(kind, value).map_err(corrupt)?;
    }
    Ok(inventory)
}

/// A change record as stored: where and when it was seen, and the change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredChange {
    pub id: String,
    pub connection_id: String,
    pub snapshot_id: String,
    pub created_at: String,
    /// Whether an evaluation has looked at it yet (until then it names no findings).
    pub evaluated: bool,
    pub change: ResourceChange,
}

fn stored_change(row: change::Model) -> Result<StoredChange, StoreError> {
    Ok(StoredChange {
        change: serde_json::from_str(&row.body).map_err(corrupt)?,
        id: row.id,
        connection_id: row.connection_id,
        snapshot_id: row.snapshot_id,
        created_at: row.created_at,
        evaluated: row.evaluated,
    })
}

/// Writes the change records of a new snapshot (inside the transaction that commits it).
pub(crate) async fn save_changes<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    connection_id: &str,
    snapshot_id: &str,
    changes: &[ResourceChange],
) -> Result<(), StoreError> {
    let created_at = now();
    let rows: Vec<change::ActiveModel> = changes
        .iter()
        .map(|c| {
            Ok(change::ActiveModel {
                id: Set(new_id()),
                tenant_id: Set(tenant_id.to_string()),
                connection_id: Set(connection_id.to_string()),
                snapshot_id: Set(snapshot_id.to_string()),
                created_at: Set(created_at.clone()),
                resource_kind: Set(c.resource_kind.clone()),
                resource_id: Set(c.resource_id.clone()),
                risk: Set(c.risk),
                evaluated: Set(false),
                body: Set(serde_json::to_string(c).map_err(corrupt)?),
            })
        })
        .collect::<Result<_, StoreError>>()?;
    insert_all(db, rows).await
}

/// A finding's change of state, as an evaluation stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingEventRecord {
    pub event: FindingEvent,
    pub fingerprint: String,
    pub rule_id: String,
    pub severity: Severity,
}

/// What an evaluation learned about change: the finding events it caused and the pending
/// change records it attributed findings to (stored with the evaluation, atomically).
#[derive(Debug, Clone, Default)]
pub struct EvaluationDrift {
    pub events: Vec<FindingEventRecord>,
    pub changes: Vec<StoredChange>,
    /// The alert messages this evaluation's events and risk changes call for.
    pub alerts: Vec<crate::alerts::PlannedAlert>,
}

/// Stores an evaluation's drift (inside the transaction that saves the evaluation); its events
/// carry the evaluation's own time, so "after evaluation E" selects exactly the later ones.
pub(crate) async fn save_drift<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    evaluation_id: &str,
    created_at: &str,
    drift: &EvaluationDrift,
) -> Result<(), StoreError> {
    let events: Vec<finding_event::ActiveModel> = drift
        .events
        .iter()
        .map(|e| finding_event::ActiveModel {
            tenant_id: Set(tenant_id.to_string()),
            evaluation_id: Set(evaluation_id.to_string()),
            fingerprint: Set(e.fingerprint.clone()),
            rule_id: Set(e.rule_id.clone()),
            severity: Set(e.severity.as_str().to_string()),
            event: Set(e.event.as_str().to_string()),
            created_at: Set(created_at.to_string()),
            ..Default::default()
        })
        .collect();
    insert_all(db, events).await?;
    crate::alerts::insert_alerts(db, tenant_id, &drift.alerts).await?;
    for stored in &drift.changes {
        change::Entity::update_many()
            .col_expr(change::Column::Evaluated, Expr::value(true))
            .col_expr(change::Column::Risk, Expr::value(stored.change.risk))
            .col_expr(
                change::Column::Body,
                Expr::value(serde_json::to_string(&stored.change).map_err(corrupt)?),
            )
            .filter(change::Column::Id.eq(&stored.id))
            .filter(change::Column::TenantId.eq(tenant_id))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Which change records to read.
#[derive(Debug, Clone, Default)]
pub struct ChangeQuery {
    /// RFC 3339: only changes recorded at or after it.
    pub since: Option<String>,
    /// RFC 3339: only changes recorded strictly after it.
    pub after: Option<String>,
    pub risk_only: bool,
    /// The last item of the previous page (`created_at|id`): older ones follow.
    pub cursor: Option<(String, String)>,
    pub limit: u64,
}

impl Store {
    /// The newest snapshot of a connection, with its inventory.
    pub async fn latest_snapshot(&self, connection_id: &str) -> Result<Option<(String, Inventory)>, StoreError> {
        let row = snapshot::Entity::find()
            .filter(snapshot::Column::ConnectionId.eq(connection_id))
            .order_by_desc(snapshot::Column::CreatedAt)
            .order_by_desc(snapshot::Column::Id)
            .one(&self.db)
            .await?;
        match row {
            Some(row) => Ok(Some((row.id.clone(), load(&self.db, &row).await?))),
            None => Ok(None),
        }
    }

    /// How many records the connection's snapshots hold between them (each stored once).
    pub async fn snapshot_record_count(&self, connection_id: &str) -> Result<u64, StoreError> {
        use sea_orm::PaginatorTrait;
        Ok(snapshot_record::Entity::find()
            .filter(snapshot_record::Column::ConnectionId.eq(connection_id))
            .count(&self.db)
            .await?)
    }

    /// Change records no evaluation has attributed findings to yet, oldest first. Read before
    /// the evaluation reads the snapshots, so each one's snapshot is among those it evaluates.
    pub async fn pending_changes(&self, tenant_id: &str) -> Result<Vec<StoredChange>, StoreError> {
        change::Entity::find()
            .filter(change::Column::TenantId.eq(tenant_id))
            .filter(change::Column::Evaluated.eq(false))
            .order_by_asc(change::Column::CreatedAt)
            .order_by_asc(change::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(stored_change)
            .collect()
    }

    /// The tenant's change records, newest first.
    pub async fn changes(&self, tenant_id: &str, q: &ChangeQuery) -> Result<Vec<StoredChange>, StoreError> {
        use sea_orm::sea_query::Condition;
        let mut find = change::Entity::find().filter(change::Column::TenantId.eq(tenant_id));
        if let Some(since) = &q.since {
            find = find.filter(change::Column::CreatedAt.gte(since.as_str()));
        }
        if let Some(after) = &q.after {
            find = find.filter(change::Column::CreatedAt.gt(after.as_str()));
        }
        if q.risk_only {
            find = find.filter(change::Column::Risk.eq(true));
        }
        if let Some((at, id)) = &q.cursor {
            find = find.filter(
                Condition::any().add(change::Column::CreatedAt.lt(at.as_str())).add(
                    Condition::all()
                        .add(change::Column::CreatedAt.eq(at.as_str()))
                        .add(change::Column::Id.lt(id.as_str())),
                ),
            );
        }
        find.order_by_desc(change::Column::CreatedAt)
            .order_by_desc(change::Column::Id)
            .limit(q.limit)
            .all(&self.db)
            .await?
            .into_iter()
            .map(stored_change)
            .collect()
    }

    /// Finding events of evaluations stored after `after` (RFC 3339), oldest first.
    pub async fn finding_events(
        &self,
        tenant_id: &str,
        after: Option<&str>,
    ) -> Result<Vec<finding_event::Model>, StoreError> {
        let mut find = finding_event::Entity::find().filter(finding_event::Column::TenantId.eq(tenant_id));
        if let Some(after) = after {
            find = find.filter(finding_event::Column::CreatedAt.gt(after));
        }
        Ok(find
            .order_by_asc(finding_event::Column::CreatedAt)
            .order_by_asc(finding_event::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// Inserts a snapshot row for `inventory` (records stored once) inside `db`'s transaction.
    pub(crate) async fn insert_snapshot<C: ConnectionTrait>(
        db: &C,
        scan: &crate::entities::scan::Model,
        inventory: &Inventory,
    ) -> Result<String, StoreError> {
        let manifest = save_records(db, &scan.tenant_id, &scan.connection_id, inventory).await?;
        let id = new_id();
        snapshot::ActiveModel {
            id: Set(id.clone()),
            tenant_id: Set(scan.tenant_id.clone()),
            connection_id: Set(scan.connection_id.clone()),
            scan_id: Set(scan.id.clone()),
            inventory: Set(String::new()),
            created_at: Set(now()),
            manifest: Set(Some(manifest)),
        }
        .insert(db)
        .await?;
        Ok(id)
    }
}
