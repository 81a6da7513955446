use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(Iden)]
enum Tenants {
    Table,
    Id,
    Slug,
    CreatedAt,
}

#[derive(Iden)]
enum Connections {
    Table,
    Id,
    TenantId,
    Provider,
    Label,
    Settings,
    Secrets,
    CreatedAt,
}

#[derive(Iden)]
enum Scans {
    Table,
    Id,
    TenantId,
    ConnectionId,
    Status,
    CreatedAt,
    StartedAt,
    FinishedAt,
    ResourcesTotal,
    ResourcesDone,
    Requests,
    RequestsLost,
    Throttled,
    Error,
}

#[derive(Iden)]
enum ScanParts {
    Table,
    Id,
    ScanId,
    Resource,
    Status,
    Requests,
    Body,
}

#[derive(Iden)]
enum Snapshots {
    Table,
    Id,
    TenantId,
    ConnectionId,
    ScanId,
    Inventory,
    CreatedAt,
}

#[derive(Iden)]
enum Findings {
    Table,
    Id,
    TenantId,
    Fingerprint,
    RuleId,
    Severity,
    Status,
    FirstSeen,
    LastSeen,
    Body,
}

#[derive(Iden)]
enum Evaluations {
    Table,
    Id,
    TenantId,
    CreatedAt,
    Summary,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Tenants::Table)
                .if_not_exists()
                .col(ColumnDef::new(Tenants::Id).string().not_null().primary_key())
                .col(ColumnDef::new(Tenants::Slug).string().not_null().unique_key())
                .col(ColumnDef::new(Tenants::CreatedAt).string().not_null())
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Connections::Table)
                .if_not_exists()
                .col(ColumnDef::new(Connections::Id).string().not_null().primary_key())
                .col(ColumnDef::new(Connections::TenantId).string().not_null())
                .col(ColumnDef::new(Connections::Provider).string().not_null())
                .col(ColumnDef::new(Connections::Label).string().not_null())
                .col(ColumnDef::new(Connections::Settings).text().not_null())
                .col(ColumnDef::new(Connections::Secrets).text().not_null())
                .col(ColumnDef::new(Connections::CreatedAt).string().not_null())
                .foreign_key(
                    ForeignKey::create()
                        .from(Connections::Table, Connections::TenantId)
                        .to(Tenants::Table, Tenants::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Scans::Table)
                .if_not_exists()
                .col(ColumnDef::new(Scans::Id).string().not_null().primary_key())
                .col(ColumnDef::new(Scans::TenantId).string().not_null())
                .col(ColumnDef::new(Scans::ConnectionId).string().not_null())
                .col(ColumnDef::new(Scans::Status).string().not_null())
                .col(ColumnDef::new(Scans::CreatedAt).string().not_null())
                .col(ColumnDef::new(Scans::StartedAt).string().null())
                .col(ColumnDef::new(Scans::FinishedAt).string().null())
                .col(ColumnDef::new(Scans::ResourcesTotal).integer().not_null().default(0))
                .col(ColumnDef::new(Scans::ResourcesDone).integer().not_null().default(0))
                .col(ColumnDef::new(Scans::Requests).big_integer().not_null().default(0))
                .col(ColumnDef::new(Scans::RequestsLost).big_integer().not_null().default(0))
                .col(ColumnDef::new(Scans::Throttled).big_integer().not_null().default(0))
                .col(ColumnDef::new(Scans::Error).text().null())
                .foreign_key(
                    ForeignKey::create()
                        .from(Scans::Table, Scans::ConnectionId)
                        .to(Connections::Table, Connections::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_scans_connection")
                .table(Scans::Table)
                .col(Scans::ConnectionId)
                .col(Scans::CreatedAt)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ScanParts::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(ScanParts::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(ColumnDef::new(ScanParts::ScanId).string().not_null())
                .col(ColumnDef::new(ScanParts::Resource).string().not_null())
                .col(ColumnDef::new(ScanParts::Status).string().not_null())
                .col(ColumnDef::new(ScanParts::Requests).big_integer().not_null())
                .col(ColumnDef::new(ScanParts::Body).text().not_null())
                .foreign_key(
                    ForeignKey::create()
                        .from(ScanParts::Table, ScanParts::ScanId)
                        .to(Scans::Table, Scans::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_scan_parts_unique")
                .table(ScanParts::Table)
                .col(ScanParts::ScanId)
                .col(ScanParts::Resource)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Snapshots::Table)
                .if_not_exists()
                .col(ColumnDef::new(Snapshots::Id).string().not_null().primary_key())
                .col(ColumnDef::new(Snapshots::TenantId).string().not_null())
                .col(ColumnDef::new(Snapshots::ConnectionId).string().not_null())
                .col(ColumnDef::new(Snapshots::ScanId).string().not_null().unique_key())
                .col(ColumnDef::new(Snapshots::Inventory).text().not_null())
                .col(ColumnDef::new(Snapshots::CreatedAt).string().not_null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_snapshots_connection")
                .table(Snapshots::Table)
                .col(Snapshots::ConnectionId)
                .col(Snapshots::CreatedAt)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Findings::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(Findings::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(ColumnDef::new(Findings::TenantId).string().not_null())
                .col(ColumnDef::new(Findings::Fingerprint).string().not_null())
                .col(ColumnDef::new(Findings::RuleId).string().not_null())
                .col(ColumnDef::new(Findings::Severity).string().not_null())
                .col(ColumnDef::new(Findings::Status).string().not_null())
                .col(ColumnDef::new(Findings::FirstSeen).string().not_null())
                .col(ColumnDef::new(Findings::LastSeen).string().not_null())
                .col(ColumnDef::new(Findings::Body).text().not_null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_findings_fingerprint")
                .table(Findings::Table)
                .col(Findings::TenantId)
                .col(Findings::Fingerprint)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Evaluations::Table)
                .if_not_exists()
                .col(ColumnDef::new(Evaluations::Id).string().not_null().primary_key())
                .col(ColumnDef::new(Evaluations::TenantId).string().not_null())
                .col(ColumnDef::new(Evaluations::CreatedAt).string().not_null())
                .col(ColumnDef::new(Evaluations::Summary).text().not_null())
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Evaluations::Table.into_iden(),
            Findings::Table.into_iden(),
            Snapshots::Table.into_iden(),
            ScanParts::Table.into_iden(),
            Scans::Table.into_iden(),
            Connections::Table.into_iden(),
            Tenants::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
