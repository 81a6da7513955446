//! Alert channels and the alert outbox. A message is planned (rendered) when the evaluation it
//! reports is stored, in the same transaction, so a crash loses none; a sender claims due rows
//! with a compare-and-swap, and a row marked delivered is never sent again.

use crate::entities::{alert_channel, alert_outbox};
use crate::{new_id, now, Store, StoreError};
use sea_orm::sea_query::{Condition, Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Set,
};

/// A channel to create.
#[derive(Debug, Clone)]
pub struct NewChannel {
    pub id: String,
    pub kind: String,
    pub name: String,
    pub min_severity: String,
    pub mode: String,
    pub digest_cron: Option<String>,
    pub timezone: String,
    pub next_digest_at: Option<String>,
    pub sealed_secret: String,
    pub link_base: Option<String>,
}

/// A message planned for a channel by an evaluation (or a test, or a digest).
#[derive(Debug, Clone)]
pub struct PlannedAlert {
    pub channel_id: String,
    /// `evaluation`, `digest_item`, `digest` or `test`.
    pub kind: String,
    pub payload: serde_json::Value,
}

/// Writes planned alerts (inside the caller's transaction): digest items wait, the rest are due.
pub(crate) async fn insert_alerts<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    alerts: &[PlannedAlert],
) -> Result<Vec<String>, StoreError> {
    let at = now();
    let mut ids = Vec::new();
    for a in alerts {
        let id = new_id();
        alert_outbox::ActiveModel {
            id: Set(id.clone()),
            tenant_id: Set(tenant_id.to_string()),
            channel_id: Set(a.channel_id.clone()),
            kind: Set(a.kind.clone()),
            payload: Set(a.payload.to_string()),
            status: Set(if a.kind == "digest_item" { "queued" } else { "pending" }.into()),
            attempts: Set(0),
            next_attempt_at: Set(at.clone()),
            claimed_until: Set(None),
            claim: Set(None),
            last_error: Set(None),
            created_at: Set(at.clone()),
            delivered_at: Set(None),
        }
        .insert(db)
        .await?;
        ids.push(id);
    }
    Ok(ids)
}

/// What became of one delivery attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum AttemptResult {
    Delivered,
    /// Try again at this time (RFC 3339); counts as a failed attempt unless throttled.
    Retry {
        at: String,
        error: String,
        counts: bool,
    },
    /// The channel refused for good: mark it broken, keep the row for when it is fixed.
    ChannelBroken {
        reason: String,
    },
    /// This message is refused for good (the rest of the channel is fine).
    Failed {
        error: String,
    },
}

impl Store {
    pub async fn add_alert_channel(&self, tenant_id: &str, c: NewChannel) -> Result<alert_channel::Model, StoreError> {
        Ok(alert_channel::ActiveModel {
            id: Set(c.id),
            tenant_id: Set(tenant_id.to_string()),
            kind: Set(c.kind),
            name: Set(c.name),
            min_severity: Set(c.min_severity),
            mode: Set(c.mode),
            digest_cron: Set(c.digest_cron),
            timezone: Set(c.timezone),
            next_digest_at: Set(c.next_digest_at),
            secret: Set(c.sealed_secret),
            link_base: Set(c.link_base),
            status: Set("active".into()),
            broken_reason: Set(None),
            last_sent_at: Set(None),
            sent_count: Set(0),
            created_at: Set(now()),
        }
        .insert(&self.db)
        .await?)
    }

    /// A tenant's channels (every tenant's with `None`), oldest first.
    pub async fn alert_channels(&self, tenant_id: Option<&str>) -> Result<Vec<alert_channel::Model>, StoreError> {
        let mut find = alert_channel::Entity::find();
        if let Some(t) = tenant_id {
            find = find.filter(alert_channel::Column::TenantId.eq(t));
        }
        Ok(find
            .order_by_asc(alert_channel::Column::CreatedAt)
            .all(&self.db)
            .await?)
    }

    pub async fn alert_channel(&self, tenant_id: &str, id: &str) -> Result<Option<alert_channel::Model>, StoreError> {
        Ok(alert_channel::Entity::find_by_id(id.to_string())
            .filter(alert_channel::Column::TenantId.eq(tenant_id))
            .one(&self.db)
            .await?)
    }

    /// Removes a channel and its undelivered messages. `false` when the tenant has no such one.
    pub async fn remove_alert_channel(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
        let gone = alert_channel::Entity::delete_many()
            .filter(alert_channel::Column::Id.eq(id))
            .filter(alert_channel::Column::TenantId.eq(tenant_id))
            .exec(&self.db)
            .await?
            .rows_affected;
        if gone > 0 {
            alert_outbox::Entity::delete_many()
                .filter(alert_outbox::Column::ChannelId.eq(id))
                .exec(&self.db)
                .await?;
        }
        Ok(gone > 0)
    }

    /// Marks a channel working again (a test went through).
    pub async fn channel_active(&self, id: &str) -> Result<(), StoreError> {
        alert_channel::Entity::update_many()
            .col_expr(alert_channel::Column::Status, Expr::value("active"))
            .col_expr(alert_channel::Column::BrokenReason, Expr::value(Option::<String>::None))
            .filter(alert_channel::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Queues a message now (a test).
    pub async fn queue_alert(&self, tenant_id: &str, alert: &PlannedAlert) -> Result<String, StoreError> {
        Ok(insert_alerts(&self.db, tenant_id, std::slice::from_ref(alert))
            .await?
            .remove(0))
    }

    /// Messages due at `now` on channels that are not broken, oldest first, at most one per
    /// channel (each channel gets one message at a time, in order).
    pub async fn due_alerts(&self, now: &str, limit: u64) -> Result<Vec<alert_outbox::Model>, StoreError> {
        let working: Vec<String> = alert_channel::Entity::find()
            .select_only()
            .column(alert_channel::Column::Id)
            .filter(alert_channel::Column::Status.eq("active"))
            .into_tuple()
            .all(&self.db)
            .await?;
        if working.is_empty() {
            return Ok(Vec::new());
        }
        let rows = alert_outbox::Entity::find()
            .filter(alert_outbox::Column::Status.eq("pending"))
            .filter(alert_outbox::Column::ChannelId.is_in(working))
            .order_by_asc(alert_outbox::Column::CreatedAt)
            .order_by_asc(alert_outbox::Column::Id)
            .limit(limit * 4)
            .all(&self.db)
            .await?;
        let mut seen = std::collections::BTreeSet::new();
        Ok(rows
            .into_iter()
            .filter(|r| seen.insert(r.channel_id.clone()))
            .filter(|r| r.next_attempt_at.as_str() <= now)
            .filter(|r| r.claimed_until.as_deref().is_none_or(|until| until < now))
            .take(limit as usize)
            .collect())
    }

    /// Claims a row for one delivery attempt until `until`; `None` when another sender has it.
    pub async fn claim_alert(
        &self,
        row: &alert_outbox::Model,
        now: &str,
        until: &str,
    ) -> Result<Option<String>, StoreError> {
        let claim = new_id();
        let mut free = Condition::any().add(alert_outbox::Column::ClaimedUntil.is_null());
        free = free.add(alert_outbox::Column::ClaimedUntil.lt(now));
        let done = alert_outbox::Entity::update_many()
            .col_expr(alert_outbox::Column::Claim, Expr::value(claim.clone()))
            .col_expr(alert_outbox::Column::ClaimedUntil, Expr::value(until))
            .filter(alert_outbox::Column::Id.eq(&row.id))
            .filter(alert_outbox::Column::Status.eq("pending"))
            .filter(free)
            .exec(&self.db)
            .await?;
        Ok((done.rows_affected == 1).then_some(claim))
    }

    /// Records what a claimed attempt did.
    pub async fn finish_alert(
        &self,
        row: &alert_outbox::Model,
        claim: &str,
        result: &AttemptResult,
    ) -> Result<(), StoreError> {
        let mut update = alert_outbox::Entity::update_many()
            .col_expr(alert_outbox::Column::ClaimedUntil, Expr::value(Option::<String>::None))
            .filter(alert_outbox::Column::Id.eq(&row.id))
            .filter(alert_outbox::Column::Claim.eq(claim))
            .filter(alert_outbox::Column::Status.eq("pending"));
        let at = now();
        match result {
            AttemptResult::Delivered => {
                update = update
                    .col_expr(alert_outbox::Column::Status, Expr::value("delivered"))
                    .col_expr(alert_outbox::Column::DeliveredAt, Expr::value(at.clone()))
                    .col_expr(alert_outbox::Column::Attempts, Expr::value(row.attempts + 1));
            }
            AttemptResult::Retry {
                at: next,
                error,
                counts,
            } => {
                update = update
                    .col_expr(alert_outbox::Column::NextAttemptAt, Expr::value(next.clone()))
                    .col_expr(alert_outbox::Column::LastError, Expr::value(error.clone()))
                    .col_expr(
                        alert_outbox::Column::Attempts,
                        Expr::value(row.attempts + i32::from(*counts)),
                    );
            }
            AttemptResult::ChannelBroken { reason } => {
                update = update.col_expr(alert_outbox::Column::LastError, Expr::value(reason.clone()));
            }
            AttemptResult::Failed { error } => {
                update = update
                    .col_expr(alert_outbox::Column::Status, Expr::value("failed"))
                    .col_expr(alert_outbox::Column::LastError, Expr::value(error.clone()));
            }
        }
        // The row and its channel's counters change together: a sender killed between the two
        // would otherwise leave a delivered message uncounted.
        use sea_orm::TransactionTrait;
        let txn = self.db.begin().await?;
        if update.exec(&txn).await?.rows_affected == 0 {
            return Ok(()); // the claim lapsed and another sender finished the row
        }
        let channel = alert_channel::Entity::update_many().filter(alert_channel::Column::Id.eq(&row.channel_id));
        match result {
            AttemptResult::Delivered => {
                channel
                    .col_expr(alert_channel::Column::LastSentAt, Expr::value(at))
                    .col_expr(
                        alert_channel::Column::SentCount,
                        Expr::col(alert_channel::Column::SentCount).add(1),
                    )
                    .exec(&txn)
                    .await?;
            }
            AttemptResult::ChannelBroken { reason } => {
                channel
                    .col_expr(alert_channel::Column::Status, Expr::value("broken"))
                    .col_expr(alert_channel::Column::BrokenReason, Expr::value(reason.clone()))
                    .exec(&txn)
                    .await?;
            }
            _ => {}
        }
        txn.commit().await?;
        Ok(())
    }

    /// How many of a channel's messages are in each status.
    pub async fn alert_counts(&self, channel_id: &str) -> Result<std::collections::BTreeMap<String, u64>, StoreError> {
        let mut counts = std::collections::BTreeMap::new();
        for status in ["pending", "queued", "delivered", "failed"] {
            let n = alert_outbox::Entity::find()
                .filter(alert_outbox::Column::ChannelId.eq(channel_id))
                .filter(alert_outbox::Column::Status.eq(status))
                .count(&self.db)
                .await?;
            counts.insert(status.to_string(), n);
        }
        Ok(counts)
    }

    /// Bundles a digest channel's queued items into one message when its digest is due: moves
    /// `next_digest_at` from `due` to `next` (a compare-and-swap, so one process bundles), and
    /// in the same transaction writes the message `render` makes of the items and marks them
    /// bundled. `false` when another process bundled this due time.
    pub async fn bundle_digest(
        &self,
        channel: &alert_channel::Model,
        due: &str,
        next: &str,
        render: impl FnOnce(Vec<serde_json::Value>) -> Option<serde_json::Value>,
    ) -> Result<bool, StoreError> {
        use sea_orm::TransactionTrait;
        let txn = self.db.begin().await?;
        let moved = alert_channel::Entity::update_many()
            .col_expr(alert_channel::Column::NextDigestAt, Expr::value(next))
            .filter(alert_channel::Column::Id.eq(&channel.id))
            .filter(alert_channel::Column::NextDigestAt.eq(due))
            .exec(&txn)
            .await?
            .rows_affected;
        if moved == 0 {
            txn.rollback().await?;
            return Ok(false);
        }
        let queued = alert_outbox::Entity::find()
            .filter(alert_outbox::Column::ChannelId.eq(&channel.id))
            .filter(alert_outbox::Column::Status.eq("queued"))
            .order_by_asc(alert_outbox::Column::CreatedAt)
            .all(&txn)
            .await?;
        let items: Vec<serde_json::Value> = queued
            .iter()
            .filter_map(|r| serde_json::from_str::<serde_json::Value>(&r.payload).ok())
            .flat_map(|p| p["items"].as_array().cloned().unwrap_or_default())
            .collect();
        if let Some(payload) = render(items) {
            insert_alerts(
                &txn,
                &channel.tenant_id,
                &[PlannedAlert {
                    channel_id: channel.id.clone(),
                    kind: "digest".into(),
                    payload,
                }],
            )
            .await?;
        }
        let ids: Vec<String> = queued.into_iter().map(|r| r.id).collect();
        alert_outbox::Entity::update_many()
            .col_expr(alert_outbox::Column::Status, Expr::value("bundled"))
            .filter(alert_outbox::Column::Id.is_in(ids))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(true)
    }

    /// Whether any message waits on a working channel.
    pub async fn alerts_waiting(&self) -> Result<bool, StoreError> {
        let working: Vec<String> = alert_channel::Entity::find()
            .select_only()
            .column(alert_channel::Column::Id)
            .filter(alert_channel::Column::Status.eq("active"))
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(!working.is_empty()
            && alert_outbox::Entity::find()
                .filter(alert_outbox::Column::Status.eq("pending"))
                .filter(alert_outbox::Column::ChannelId.is_in(working))
                .count(&self.db)
                .await?
                > 0)
    }

    /// One message row (for `alert test` to follow its delivery).
    pub async fn alert_row(&self, id: &str) -> Result<Option<alert_outbox::Model>, StoreError> {
        Ok(alert_outbox::Entity::find_by_id(id.to_string()).one(&self.db).await?)
    }

    /// The tenant's slug by id (alerts name the tenant).
    pub async fn tenant_slug(&self, tenant_id: &str) -> Result<String, StoreError> {
        crate::entities::tenant::Entity::find_by_id(tenant_id.to_string())
            .one(&self.db)
            .await?
            .map(|t| t.slug)
            .ok_or_else(|| StoreError::Corrupt(format!("tenant {tenant_id} is gone")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_late_answer_to_a_lapsed_claim_changes_nothing() {
        let file = std::env::temp_dir().join(format!("aispm-store-lapsed-claim-{}.db", std::process::id()));
        let _ = std::fs::remove_file(&file);
        let store = Store::open(&format!("sqlite://{}?mode=rwc", file.display()))
            .await
            .unwrap();
        let tenant = store.add_tenant("acme").await.unwrap();
        let channel = store
            .add_alert_channel(
                &tenant.id,
                NewChannel {
                    id: new_id(),
                    kind: "slack".into(),
                    name: "alerts".into(),
                    min_severity: "high".into(),
                    mode: "immediate".into(),
                    digest_cron: None,
                    timezone: "UTC".into(),
                    next_digest_at: None,
                    sealed_secret: "sealed".into(),
                    link_base: None,
                },
            )
            .await
            .unwrap();
        let planned = PlannedAlert {
            channel_id: channel.id.clone(),
            kind: "test".into(),
            payload: serde_json::json!({"text": "hello"}),
        };
        store.queue_alert(&tenant.id, &planned).await.unwrap();
        let row = store.due_alerts("9999", 10).await.unwrap().remove(0);
        // The first sender's claim lapses while its request hangs; a second sender delivers.
        let first = store
            .claim_alert(&row, "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z")
            .await
            .unwrap()
            .unwrap();
        let second = store
            .claim_alert(&row, "2026-01-01T00:02:00Z", "2026-01-01T00:03:00Z")
            .await
            .unwrap()
            .unwrap();
        store
            .finish_alert(&row, &second, &AttemptResult::Delivered)
            .await
            .unwrap();
        store
            .finish_alert(&row, &first, &AttemptResult::Delivered)
            .await
            .unwrap();
        let channel = store.alert_channel(&tenant.id, &channel.id).await.unwrap().unwrap();
        assert_eq!(channel.sent_count, 1, "one message, counted once");
        assert_eq!(store.alert_counts(&channel.id).await.unwrap()["delivered"], 1);
        drop(store);
        let _ = std::fs::remove_file(&file);
    }
}
