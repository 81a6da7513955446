//! sea-orm entities for the tables `migrations` creates.

pub mod tenant {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "tenants")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub slug: String,
        pub created_at: String,
        /// Moves with every stored evaluation (optimistic concurrency between evaluations).
        pub evaluation_seq: i64,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod connection {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "connections")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: String,
        pub provider: String,
        pub label: String,
        /// Non-secret settings as JSON.
        pub settings: String,
        /// Secrets as one AEAD-sealed JSON object (see `crypto`).
        pub secrets: String,
        pub created_at: String,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod scan {
    use sea_orm::entity::prelude::*;

    /// Where a scan is. Only `Queued` and `Running` change; `Completed` and `Failed` are final.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
    pub enum ScanStatus {
        #[sea_orm(string_value = "queued")]
        Queued,
        #[sea_orm(string_value = "running")]
        Running,
        #[sea_orm(string_value = "completed")]
        Completed,
        #[sea_orm(string_value = "failed")]
        Failed,
    }

    impl ScanStatus {
        pub fn as_str(self) -> &'static str {
            match self {
                ScanStatus::Queued => "queued",
                ScanStatus::Running => "running",
                ScanStatus::Completed => "completed",
                ScanStatus::Failed => "failed",
            }
        }

        /// Completed or failed: nothing will change it again.
        pub fn is_final(self) -> bool {
            matches!(self, ScanStatus::Completed | ScanStatus::Failed)
        }
    }

    impl std::fmt::Display for ScanStatus {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.as_str())
        }
    }

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "scans")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: String,
        pub connection_id: String,
        pub status: ScanStatus,
        pub created_at: String,
        pub started_at: Option<String>,
        pub finished_at: Option<String>,
        pub resources_total: i32,
        pub resources_done: i32,
        /// All HTTP requests the scan made, including those of attempts that did not land.
        pub requests: i64,
        /// Requests spent by attempts whose resource part was not stored (throttled, parked).
        pub requests_lost: i64,
        pub throttled: i64,
        pub error: Option<String>,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod scan_part {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "scan_parts")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub scan_id: String,
        pub resource: String,
        pub status: String,
        pub requests: i64,
        /// The `connectors::ResourcePart` as JSON.
        pub body: String,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod snapshot {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "snapshots")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: String,
        pub connection_id: String,
        pub scan_id: String,
        /// The `schemas::Inventory` as JSON, for snapshots stored before records were kept
        /// once per content; empty when `manifest` is set.
        pub inventory: String,
        pub created_at: String,
        /// The inventory without its records, plus the ids of its records in
        /// `snapshot_records`, in order (see `snapshots`).
        pub manifest: Option<String>,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod finding {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "findings")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub tenant_id: String,
        pub fingerprint: String,
        pub rule_id: String,
        pub severity: String,
        pub status: String,
        pub first_seen: String,
        pub last_seen: String,
        /// The `schemas::Finding` as JSON.
        pub body: String,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod evaluation {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "evaluations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: String,
        pub created_at: String,
        pub summary: String,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod outbox {
    use sea_orm::entity::prelude::*;
    /// Work written in the same transaction as the change that calls for it, delivered after
    /// the commit (and again by a sweep if the process died in between).
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "outbox")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// What to do: `evaluate`.
        pub kind: String,
        /// Its argument as JSON (for `evaluate`: `{"tenant_id": …}`).
        pub payload: String,
        pub created_at: String,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod user {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// Lower-cased.
        pub email: String,
        /// argon2id, PHC string format.
        pub password_hash: String,
        /// May create tenants and grant roles in any of them.
        pub operator: bool,
        pub created_at: String,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod membership {
    use sea_orm::entity::prelude::*;
    /// A user's role in one tenant (`admin` or `viewer`).
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "memberships")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: String,
        pub role: String,
        pub created_at: String,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod api_token {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "api_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// `None`: an operator token.
        pub tenant_id: Option<String>,
        pub name: String,
        /// `admin`, `viewer` or `operator`.
        pub role: String,
        /// Hex SHA-256 of the token; the token itself is shown once and never stored.
        pub token_hash: String,
        pub created_by: String,
        pub created_at: String,
        pub revoked_at: Option<String>,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod audit {
    use sea_orm::entity::prelude::*;
    /// Who did what to which object of a tenant, and when.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_log")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: Option<String>,
        /// `user:<email>`, `token:<name>` or `cli`.
        pub actor: String,
        /// `tenant.create`, `connection.add`, `connection.remove`, `scan.start`, `token.create`,
        /// `token.revoke`, `member.grant`.
        pub action: String,
        pub object: String,
        pub at: String,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod session {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "sessions")]
    pub struct Model {
        /// Hex SHA-256 of the cookie value.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub user_id: String,
        /// The session's form token (sent back in every state-changing form).
        pub csrf: String,
        pub created_at: String,
        pub expires_at: String,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod oauth_state {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "oauth_states")]
    pub struct Model {
        /// Hex SHA-256 of the `state` sent to the vendor.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub user_id: String,
        pub tenant_id: String,
        pub provider: String,
        /// The PKCE verifier, settings and client secret, sealed.
        pub sealed: String,
        pub expires_at: String,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod schedule {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "schedules")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: String,
        /// `scan` or `report`.
        pub kind: String,
        pub cron: String,
        /// An IANA time zone (`Europe/Berlin`) the cron expression is read in.
        pub timezone: String,
        /// UTC, RFC 3339; a process fires the schedule by moving this forward (compare-and-swap).
        pub next_due_at: String,
        pub last_fired_at: Option<String>,
        /// What the last firing did, or why it failed.
        pub last_result: Option<String>,
        pub created_at: String,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod report {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "reports")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: String,
        pub created_at: String,
        /// `schedule` (with the due time it fired for) or `manual`.
        pub trigger: String,
        /// The report model as JSON.
        #[sea_orm(column_type = "Text")]
        pub body: String,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod snapshot_record {
    use sea_orm::entity::prelude::*;
    /// One inventory record, stored once per connection and content: its id is a hash of both.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "snapshot_records")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: String,
        pub connection_id: String,
        /// `schemas::RecordKind` as text.
        pub kind: String,
        #[sea_orm(column_type = "Text")]
        pub body: String,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod change {
    use sea_orm::entity::prelude::*;
    /// A resource added, removed or changed between two snapshots of one connection.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "changes")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: String,
        pub connection_id: String,
        pub snapshot_id: String,
        pub created_at: String,
        pub resource_kind: String,
        #[sea_orm(column_type = "Text")]
        pub resource_id: String,
        pub risk: bool,
        /// Set by the evaluation that named the findings the change opened or resolved.
        pub evaluated: bool,
        /// The `schemas::ResourceChange` as JSON.
        #[sea_orm(column_type = "Text")]
        pub body: String,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod finding_event {
    use sea_orm::entity::prelude::*;
    /// A finding opened, reopened or resolved by one evaluation.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "finding_events")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub tenant_id: String,
        pub evaluation_id: String,
        pub fingerprint: String,
        pub rule_id: String,
        pub severity: String,
        /// `opened`, `reopened` or `resolved`.
        pub event: String,
        pub created_at: String,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod alert_channel {
    use sea_orm::entity::prelude::*;
    /// Where alerts go: a Slack incoming webhook or a generic signed webhook.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "alert_channels")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: String,
        /// `slack` or `webhook`.
        pub kind: String,
        pub name: String,
        pub min_severity: String,
        /// `immediate` or `digest`.
        pub mode: String,
        pub digest_cron: Option<String>,
        pub timezone: String,
        pub next_digest_at: Option<String>,
        /// The URL (and a webhook's signing key), sealed.
        #[sea_orm(column_type = "Text")]
        pub secret: String,
        /// The service's public URL, for links to findings.
        pub link_base: Option<String>,
        /// `active` or `broken`.
        pub status: String,
        pub broken_reason: Option<String>,
        pub last_sent_at: Option<String>,
        pub sent_count: i64,
        pub created_at: String,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod alert_outbox {
    use sea_orm::entity::prelude::*;
    /// One message to one channel, rendered when planned.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "alert_outbox")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_id: String,
        pub channel_id: String,
        /// `evaluation`, `digest_item`, `digest` or `test`.
        pub kind: String,
        /// The message body as JSON (for a digest item: its items, bundled later).
        #[sea_orm(column_type = "Text")]
        pub payload: String,
        /// `pending`, `queued` (a digest item waiting for its digest), `bundled`, `delivered`
        /// or `failed` (refused for good, with the reason).
        pub status: String,
        pub attempts: i32,
        pub next_attempt_at: String,
        pub claimed_until: Option<String>,
        pub claim: Option<String>,
        #[sea_orm(column_type = "Text", nullable)]
        pub last_error: Option<String>,
        pub created_at: String,
        pub delivered_at: Option<String>,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}
