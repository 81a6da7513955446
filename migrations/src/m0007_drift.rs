//! Drift. Snapshot records stored once per content (a snapshot keeps a manifest of record
//! hashes, so an unchanged resource is not stored again), the change records between a
//! connection's consecutive snapshots, and the finding events of each evaluation (opened,
//! reopened, resolved), which reports and alerts read.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(Iden)]
enum SnapshotRecords {
    Table,
    Id,
    TenantId,
    ConnectionId,
    Kind,
    Body,
}

#[derive(Iden)]
enum Snapshots {
    Table,
    Manifest,
}

#[derive(Iden)]
enum Changes {
    Table,
    Id,
    TenantId,
    ConnectionId,
    SnapshotId,
    CreatedAt,
    ResourceKind,
    ResourceId,
    Risk,
    Evaluated,
    Body,
}

#[derive(Iden)]
enum FindingEvents {
    Table,
    Id,
    TenantId,
    EvaluationId,
    Fingerprint,
    RuleId,
    Severity,
    Event,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(SnapshotRecords::Table)
                .if_not_exists()
                .col(ColumnDef::new(SnapshotRecords::Id).string().not_null().primary_key())
                .col(ColumnDef::new(SnapshotRecords::TenantId).string().not_null())
                .col(ColumnDef::new(SnapshotRecords::ConnectionId).string().not_null())
                .col(ColumnDef::new(SnapshotRecords::Kind).string().not_null())
                .col(ColumnDef::new(SnapshotRecords::Body).text().not_null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("snapshot_records_by_connection")
                .table(SnapshotRecords::Table)
                .col(SnapshotRecords::ConnectionId)
                .to_owned(),
        )
        .await?;
        if !m.has_column("snapshots", "manifest").await? {
            m.alter_table(
                Table::alter()
                    .table(Snapshots::Table)
                    .add_column(ColumnDef::new(Snapshots::Manifest).text().null())
                    .to_owned(),
            )
            .await?;
        }
        m.create_table(
            Table::create()
                .table(Changes::Table)
                .if_not_exists()
                .col(ColumnDef::new(Changes::Id).string().not_null().primary_key())
                .col(ColumnDef::new(Changes::TenantId).string().not_null())
                .col(ColumnDef::new(Changes::ConnectionId).string().not_null())
                .col(ColumnDef::new(Changes::SnapshotId).string().not_null())
                .col(ColumnDef::new(Changes::CreatedAt).string().not_null())
                .col(ColumnDef::new(Changes::ResourceKind).string().not_null())
                .col(ColumnDef::new(Changes::ResourceId).text().not_null())
                .col(ColumnDef::new(Changes::Risk).boolean().not_null())
                .col(ColumnDef::new(Changes::Evaluated).boolean().not_null())
                .col(ColumnDef::new(Changes::Body).text().not_null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("changes_by_tenant_time")
                .table(Changes::Table)
                .col(Changes::TenantId)
                .col(Changes::CreatedAt)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("changes_pending")
                .table(Changes::Table)
                .col(Changes::TenantId)
                .col(Changes::Evaluated)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(FindingEvents::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(FindingEvents::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(ColumnDef::new(FindingEvents::TenantId).string().not_null())
                .col(ColumnDef::new(FindingEvents::EvaluationId).string().not_null())
                .col(ColumnDef::new(FindingEvents::Fingerprint).string().not_null())
                .col(ColumnDef::new(FindingEvents::RuleId).string().not_null())
                .col(ColumnDef::new(FindingEvents::Severity).string().not_null())
                .col(ColumnDef::new(FindingEvents::Event).string().not_null())
                .col(ColumnDef::new(FindingEvents::CreatedAt).string().not_null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("finding_events_by_tenant_time")
                .table(FindingEvents::Table)
                .col(FindingEvents::TenantId)
                .col(FindingEvents::CreatedAt)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            FindingEvents::Table.into_iden(),
            Changes::Table.into_iden(),
            SnapshotRecords::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
