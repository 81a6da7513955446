//! Users, their tenant roles, API tokens and the audit log; and removing a connection.
//! Nothing here decides who may do what: that is the application layer's scope check.

use crate::entities::*;
use crate::{new_id, now, Store, StoreError, OUTBOX_EVALUATE};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};

impl Store {
    // ---- users

    pub async fn add_user(&self, email: &str, password_hash: &str, operator: bool) -> Result<user::Model, StoreError> {
        if self.user_by_email(email).await?.is_some() {
            return Err(StoreError::Conflict(format!("user {email} already exists")));
        }
        Ok(user::ActiveModel {
            id: Set(new_id()),
            email: Set(email.to_string()),
            password_hash: Set(password_hash.to_string()),
            operator: Set(operator),
            created_at: Set(now()),
        }
        .insert(&self.db)
        .await?)
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<user::Model>, StoreError> {
        Ok(user::Entity::find()
            .filter(user::Column::Email.eq(email))
            .one(&self.db)
            .await?)
    }

    pub async fn user(&self, id: &str) -> Result<Option<user::Model>, StoreError> {
        Ok(user::Entity::find_by_id(id).one(&self.db).await?)
    }

    /// Sets the user's role in the tenant (replacing any earlier one).
    pub async fn set_membership(&self, user_id: &str, tenant_id: &str, role: &str) -> Result<(), StoreError> {
        let txn = self.db.begin().await?;
        membership::Entity::delete_many()
            .filter(membership::Column::UserId.eq(user_id))
            .filter(membership::Column::TenantId.eq(tenant_id))
            .exec(&txn)
            .await?;
        membership::ActiveModel {
            user_id: Set(user_id.to_string()),
            tenant_id: Set(tenant_id.to_string()),
            role: Set(role.to_string()),
            created_at: Set(now()),
        }
        .insert(&txn)
        .await?;
        txn.commit().await?;
        Ok(())
    }

    pub async fn memberships(&self, user_id: &str) -> Result<Vec<membership::Model>, StoreError> {
        Ok(membership::Entity::find()
            .filter(membership::Column::UserId.eq(user_id))
            .all(&self.db)
            .await?)
    }

    pub async fn tenant_by_id(&self, id: &str) -> Result<Option<tenant::Model>, StoreError> {
        Ok(tenant::Entity::find_by_id(id).one(&self.db).await?)
    }

    // ---- web sessions

    pub async fn add_session(
        &self,
        id_hash: &str,
        user_id: &str,
        csrf: &str,
        expires_at: &str,
    ) -> Result<(), StoreError> {
        session::ActiveModel {
            id: Set(id_hash.to_string()),
            user_id: Set(user_id.to_string()),
            csrf: Set(csrf.to_string()),
            created_at: Set(now()),
            expires_at: Set(expires_at.to_string()),
        }
        .insert(&self.db)
        .await?;
        Ok(())
    }

    /// The session with this hash that has not expired at `at`.
    pub async fn live_session(&self, id_hash: &str, at: &str) -> Result<Option<session::Model>, StoreError> {
        Ok(session::Entity::find_by_id(id_hash.to_string())
            .filter(session::Column::ExpiresAt.gt(at))
            .one(&self.db)
            .await?)
    }

    /// Deletes the row; `true` only for the one caller that deleted it (single use).
    pub async fn take_session(&self, id_hash: &str) -> Result<bool, StoreError> {
        let done = session::Entity::delete_by_id(id_hash.to_string())
            .exec(&self.db)
            .await?;
        Ok(done.rows_affected == 1)
    }

    /// Ends the session, and every session that expired before `at`.
    pub async fn end_session(&self, id_hash: &str, at: &str) -> Result<(), StoreError> {
        session::Entity::delete_many()
            .filter(
                sea_orm::Condition::any()
                    .add(session::Column::Id.eq(id_hash))
                    .add(session::Column::ExpiresAt.lte(at)),
            )
            .exec(&self.db)
            .await?;
        Ok(())
    }

    // ---- browser connects in flight

    pub async fn add_oauth_state(
        &self,
        id_hash: &str,
        user_id: &str,
        tenant_id: &str,
        provider: &str,
        sealed: &str,
        expires_at: &str,
    ) -> Result<(), StoreError> {
        oauth_state::ActiveModel {
            id: Set(id_hash.to_string()),
            user_id: Set(user_id.to_string()),
            tenant_id: Set(tenant_id.to_string()),
            provider: Set(provider.to_string()),
            sealed: Set(sealed.to_string()),
            expires_at: Set(expires_at.to_string()),
        }
        .insert(&self.db)
        .await?;
        Ok(())
    }

    /// Takes (reads and deletes) the state: only the first caller gets it.
    pub async fn take_oauth_state(&self, id_hash: &str) -> Result<Option<oauth_state::Model>, StoreError> {
        let Some(row) = oauth_state::Entity::find_by_id(id_hash.to_string())
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let done = oauth_state::Entity::delete_by_id(id_hash.to_string())
            .exec(&self.db)
            .await?;
        Ok((done.rows_affected == 1).then_some(row))
    }

    // ---- API tokens

    pub async fn add_token(
        &self,
        tenant_id: Option<&str>,
        name: &str,
        role: &str,
        token_hash: &str,
        created_by: &str,
    ) -> Result<api_token::Model, StoreError> {
        Ok(api_token::ActiveModel {
            id: Set(new_id()),
            tenant_id: Set(tenant_id.map(str::to_string)),
            name: Set(name.to_string()),
            role: Set(role.to_string()),
            token_hash: Set(token_hash.to_string()),
            created_by: Set(created_by.to_string()),
            created_at: Set(now()),
            revoked_at: Set(None),
        }
        .insert(&self.db)
        .await?)
    }

    /// The unrevoked token with this hash.
    pub async fn live_token(&self, token_hash: &str) -> Result<Option<api_token::Model>, StoreError> {
        Ok(api_token::Entity::find()
            .filter(api_token::Column::TokenHash.eq(token_hash))
            .filter(api_token::Column::RevokedAt.is_null())
            .one(&self.db)
            .await?)
    }

    pub async fn tokens(&self, tenant_id: &str) -> Result<Vec<api_token::Model>, StoreError> {
        Ok(api_token::Entity::find()
            .filter(api_token::Column::TenantId.eq(tenant_id))
            .order_by_asc(api_token::Column::CreatedAt)
            .all(&self.db)
            .await?)
    }

    /// Revokes the tenant's token `id`; `false` when the tenant has no such live token.
    pub async fn revoke_token(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
        let found = api_token::Entity::find_by_id(id)
            .filter(api_token::Column::TenantId.eq(tenant_id))
            .filter(api_token::Column::RevokedAt.is_null())
            .one(&self.db)
            .await?;
        let Some(token) = found else { return Ok(false) };
        let mut revoked: api_token::ActiveModel = token.into();
        revoked.revoked_at = Set(Some(now()));
        revoked.update(&self.db).await?;
        Ok(true)
    }

    // ---- audit log

    pub async fn audit(
        &self,
        tenant_id: Option<&str>,
        actor: &str,
        action: &str,
        object: &str,
    ) -> Result<(), StoreError> {
        audit::ActiveModel {
            id: Set(new_id()),
            tenant_id: Set(tenant_id.map(str::to_string)),
            actor: Set(actor.to_string()),
            action: Set(action.to_string()),
            object: Set(object.to_string()),
            at: Set(now()),
        }
        .insert(&self.db)
        .await?;
        Ok(())
    }

    /// The tenant's newest audit entries, at most `limit`, older than `before` when given.
    pub async fn audit_log(
        &self,
        tenant_id: &str,
        before: Option<&str>,
        limit: u64,
    ) -> Result<Vec<audit::Model>, StoreError> {
        let mut query = audit::Entity::find().filter(audit::Column::TenantId.eq(tenant_id));
        if let Some(before) = before {
            query = query.filter(audit::Column::At.lt(before));
        }
        Ok(query
            .order_by_desc(audit::Column::At)
            .order_by_desc(audit::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?)
    }

    // ---- scans, as the API shows them

    /// The tenant's newest scans, at most `limit`.
    pub async fn recent_scans(&self, tenant_id: &str, limit: u64) -> Result<Vec<scan::Model>, StoreError> {
        Ok(scan::Entity::find()
            .filter(scan::Column::TenantId.eq(tenant_id))
            .order_by_desc(scan::Column::CreatedAt)
            .limit(limit)
            .all(&self.db)
            .await?)
    }

    pub async fn find_scan(&self, id: &str) -> Result<Option<scan::Model>, StoreError> {
        Ok(scan::Entity::find_by_id(id.to_string()).one(&self.db).await?)
    }

    /// The inventory the scan committed, when it completed.
    pub async fn snapshot_of_scan(&self, scan_id: &str) -> Result<Option<schemas::Inventory>, StoreError> {
        let row = snapshot::Entity::find()
            .filter(snapshot::Column::ScanId.eq(scan_id))
            .one(&self.db)
            .await?;
        match row {
            Some(row) => Ok(Some(crate::snapshots::load(&self.db, &row).await?)),
            None => Ok(None),
        }
    }

    /// When the tenant's newest evaluations were stored, at most `limit`, newest first.
    pub async fn evaluation_times(&self, tenant_id: &str, limit: u64) -> Result<Vec<String>, StoreError> {
        Ok(evaluation::Entity::find()
            .select_only()
            .column(evaluation::Column::CreatedAt)
            .filter(evaluation::Column::TenantId.eq(tenant_id))
            .order_by_desc(evaluation::Column::CreatedAt)
            .limit(limit)
            .into_tuple()
            .all(&self.db)
            .await?)
    }

    /// The tenant's newest evaluation summaries, at most `limit`, newest first.
    pub async fn evaluations(&self, tenant_id: &str, limit: u64) -> Result<Vec<crate::EvaluationSummary>, StoreError> {
        let rows = evaluation::Entity::find()
            .filter(evaluation::Column::TenantId.eq(tenant_id))
            .order_by_desc(evaluation::Column::CreatedAt)
            .limit(limit)
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| serde_json::from_str(&r.summary).ok())
            .collect())
    }

    // ---- removing a connection

    /// Deletes the tenant's connection with its scans, parts and snapshots, and asks for the
    /// tenant's evaluation (its findings are resolved) in the same transaction. `false` when
    /// the tenant has no such connection; refused while a scan of it is unfinished.
    pub async fn remove_connection(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
        let txn = self.db.begin().await?;
        let found = connection::Entity::find_by_id(id)
            .filter(connection::Column::TenantId.eq(tenant_id))
            .one(&txn)
            .await?;
        if found.is_none() {
            return Ok(false);
        }
        let scans = scan::Entity::find()
            .filter(scan::Column::ConnectionId.eq(id))
            .all(&txn)
            .await?;
        if scans.iter().any(|s| !s.status.is_final()) {
            return Err(StoreError::Conflict(
                "a scan of this connection is still running; remove it when the scan has finished".into(),
            ));
        }
        let scan_ids: Vec<String> = scans.into_iter().map(|s| s.id).collect();
        scan_part::Entity::delete_many()
            .filter(scan_part::Column::ScanId.is_in(scan_ids))
            .exec(&txn)
            .await?;
        scan::Entity::delete_many()
            .filter(scan::Column::ConnectionId.eq(id))
            .exec(&txn)
            .await?;
        snapshot::Entity::delete_many()
            .filter(snapshot::Column::ConnectionId.eq(id))
            .exec(&txn)
            .await?;
        snapshot_record::Entity::delete_many()
            .filter(snapshot_record::Column::ConnectionId.eq(id))
            .exec(&txn)
            .await?;
        change::Entity::delete_many()
            .filter(change::Column::ConnectionId.eq(id))
            .exec(&txn)
            .await?;
        connection::Entity::delete_by_id(id).exec(&txn).await?;
        outbox::ActiveModel {
            id: Set(new_id()),
            kind: Set(OUTBOX_EVALUATE.into()),
            payload: Set(serde_json::json!({ "tenant_id": tenant_id }).to_string()),
            created_at: Set(now()),
        }
        .insert(&txn)
        .await?;
        txn.commit().await?;
        Ok(true)
    }
}
