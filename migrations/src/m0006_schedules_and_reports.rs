//! Schedules (a tenant's scan and report cron expressions, with the next due time that
//! processes claim by compare-and-swap, so one firing per due time however many run) and the
//! reports they keep (the report model as JSON; every format is rendered from it).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(Iden)]
enum Schedules {
    Table,
    Id,
    TenantId,
    Kind,
    Cron,
    Timezone,
    NextDueAt,
    LastFiredAt,
    LastResult,
    CreatedAt,
}

#[derive(Iden)]
enum Reports {
    Table,
    Id,
    TenantId,
    CreatedAt,
    Trigger,
    Body,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Schedules::Table)
                .if_not_exists()
                .col(ColumnDef::new(Schedules::Id).string().not_null().primary_key())
                .col(ColumnDef::new(Schedules::TenantId).string().not_null())
                .col(ColumnDef::new(Schedules::Kind).string().not_null())
                .col(ColumnDef::new(Schedules::Cron).string().not_null())
                .col(ColumnDef::new(Schedules::Timezone).string().not_null())
                .col(ColumnDef::new(Schedules::NextDueAt).string().not_null())
                .col(ColumnDef::new(Schedules::LastFiredAt).string().null())
                .col(ColumnDef::new(Schedules::LastResult).text().null())
                .col(ColumnDef::new(Schedules::CreatedAt).string().not_null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("schedules_one_per_kind")
                .table(Schedules::Table)
                .col(Schedules::TenantId)
                .col(Schedules::Kind)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("schedules_by_due")
                .table(Schedules::Table)
                .col(Schedules::NextDueAt)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Reports::Table)
                .if_not_exists()
                .col(ColumnDef::new(Reports::Id).string().not_null().primary_key())
                .col(ColumnDef::new(Reports::TenantId).string().not_null())
                .col(ColumnDef::new(Reports::CreatedAt).string().not_null())
                .col(ColumnDef::new(Reports::Trigger).string().not_null())
                .col(ColumnDef::new(Reports::Body).text().not_null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("reports_by_tenant")
                .table(Reports::Table)
                .col(Reports::TenantId)
                .col(Reports::CreatedAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Reports::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(Schedules::Table).to_owned()).await
    }
}
