//! Schedules and the reports they keep. A schedule fires when a process moves its
//! `next_due_at` forward with a compare-and-swap ([`Store::claim_schedule`]): on one database,
//! however many processes look, exactly one wins each due time.

use crate::entities::*;
use crate::{new_id, now, Store, StoreError};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

/// A report without its body, for lists.
#[derive(Debug, Clone)]
pub struct ReportSummary {
    pub id: String,
    pub created_at: String,
    pub trigger: String,
}

impl Store {
    /// Creates or replaces the tenant's schedule of `kind`.
    pub async fn set_schedule(
        &self,
        tenant_id: &str,
        kind: &str,
        cron: &str,
        timezone: &str,
        next_due_at: &str,
    ) -> Result<schedule::Model, StoreError> {
        let existing = schedule::Entity::find()
            .filter(schedule::Column::TenantId.eq(tenant_id))
            .filter(schedule::Column::Kind.eq(kind))
            .one(&self.db)
            .await?;
        Ok(match existing {
            Some(row) => {
                let mut row: schedule::ActiveModel = row.into();
                row.cron = Set(cron.to_string());
                row.timezone = Set(timezone.to_string());
                row.next_due_at = Set(next_due_at.to_string());
                row.update(&self.db).await?
            }
            None => {
                schedule::ActiveModel {
                    id: Set(new_id()),
                    tenant_id: Set(tenant_id.to_string()),
                    kind: Set(kind.to_string()),
                    cron: Set(cron.to_string()),
                    timezone: Set(timezone.to_string()),
                    next_due_at: Set(next_due_at.to_string()),
                    last_fired_at: Set(None),
                    last_result: Set(None),
                    created_at: Set(now()),
                }
                .insert(&self.db)
                .await?
            }
        })
    }

    pub async fn remove_schedule(&self, tenant_id: &str, kind: &str) -> Result<bool, StoreError> {
        let done = schedule::Entity::delete_many()
            .filter(schedule::Column::TenantId.eq(tenant_id))
            .filter(schedule::Column::Kind.eq(kind))
            .exec(&self.db)
            .await?;
        Ok(done.rows_affected > 0)
    }

    /// A tenant's schedules, or every tenant's (`None`).
    pub async fn schedules(&self, tenant_id: Option<&str>) -> Result<Vec<schedule::Model>, StoreError> {
        let mut q = schedule::Entity::find().order_by_asc(schedule::Column::TenantId);
        if let Some(t) = tenant_id {
            q = q.filter(schedule::Column::TenantId.eq(t));
        }
        Ok(q.order_by_asc(schedule::Column::Kind).all(&self.db).await?)
    }

    /// Schedules due at `at` (UTC, RFC 3339), oldest first; at most `limit`.
    pub async fn due_schedules(&self, at: &str, limit: u64) -> Result<Vec<schedule::Model>, StoreError> {
        Ok(schedule::Entity::find()
            .filter(schedule::Column::NextDueAt.lte(at))
            .order_by_asc(schedule::Column::NextDueAt)
            .limit(limit)
            .all(&self.db)
            .await?)
    }

    /// Takes the firing of `id` for the due time `due`: moves it to `next` only if no other
    /// process did first. `true`: this caller fires it.
    pub async fn claim_schedule(&self, id: &str, due: &str, next: &str) -> Result<bool, StoreError> {
        let done = schedule::Entity::update_many()
            .col_expr(schedule::Column::NextDueAt, Expr::value(next))
            .col_expr(schedule::Column::LastFiredAt, Expr::value(now()))
            .filter(schedule::Column::Id.eq(id))
            .filter(schedule::Column::NextDueAt.eq(due))
            .exec(&self.db)
            .await?;
        Ok(done.rows_affected == 1)
    }

    pub async fn note_schedule_result(&self, id: &str, result: &str) -> Result<(), StoreError> {
        schedule::Entity::update_many()
            .col_expr(schedule::Column::LastResult, Expr::value(result))
            .filter(schedule::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Keeps a report (its model as JSON); returns its id.
    pub async fn add_report(&self, tenant_id: &str, trigger: &str, body: &str) -> Result<String, StoreError> {
        let id = new_id();
        report::ActiveModel {
            id: Set(id.clone()),
            tenant_id: Set(tenant_id.to_string()),
            created_at: Set(now()),
            trigger: Set(trigger.to_string()),
            body: Set(body.to_string()),
        }
        .insert(&self.db)
        .await?;
        Ok(id)
    }

    /// The tenant's reports, newest first, without their bodies.
    pub async fn reports(&self, tenant_id: &str, limit: u64) -> Result<Vec<ReportSummary>, StoreError> {
        let rows: Vec<(String, String, String)> = report::Entity::find()
            .select_only()
            .column(report::Column::Id)
            .column(report::Column::CreatedAt)
            .column(report::Column::Trigger)
            .filter(report::Column::TenantId.eq(tenant_id))
            .order_by_desc(report::Column::CreatedAt)
            .limit(limit)
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, created_at, trigger)| ReportSummary {
                id,
                created_at,
                trigger,
            })
            .collect())
    }

    /// One of the tenant's reports (another tenant's id finds nothing).
    pub async fn report(&self, tenant_id: &str, id: &str) -> Result<Option<report::Model>, StoreError> {
        Ok(report::Entity::find_by_id(id.to_string())
            .filter(report::Column::TenantId.eq(tenant_id))
            .one(&self.db)
            .await?)
    }
}
