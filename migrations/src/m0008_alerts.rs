//! Alert channels (Slack incoming webhooks and generic signed webhooks, their URLs sealed) and
//! the alert outbox: one row per message, written in the transaction that stores the
//! evaluation it reports, delivered by a sender that paces, retries and marks broken channels.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(Iden)]
enum AlertChannels {
    Table,
    Id,
    TenantId,
    Kind,
    Name,
    MinSeverity,
    Mode,
    DigestCron,
    Timezone,
    NextDigestAt,
    Secret,
    LinkBase,
    Status,
    BrokenReason,
    LastSentAt,
    SentCount,
    CreatedAt,
}

#[derive(Iden)]
enum AlertOutbox {
    Table,
    Id,
    TenantId,
    ChannelId,
    Kind,
    Payload,
    Status,
    Attempts,
    NextAttemptAt,
    ClaimedUntil,
    Claim,
    LastError,
    CreatedAt,
    DeliveredAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(AlertChannels::Table)
                .if_not_exists()
                .col(ColumnDef::new(AlertChannels::Id).string().not_null().primary_key())
                .col(ColumnDef::new(AlertChannels::TenantId).string().not_null())
                .col(ColumnDef::new(AlertChannels::Kind).string().not_null())
                .col(ColumnDef::new(AlertChannels::Name).string().not_null())
                .col(ColumnDef::new(AlertChannels::MinSeverity).string().not_null())
                .col(ColumnDef::new(AlertChannels::Mode).string().not_null())
                .col(ColumnDef::new(AlertChannels::DigestCron).string().null())
                .col(ColumnDef::new(AlertChannels::Timezone).string().not_null())
                .col(ColumnDef::new(AlertChannels::NextDigestAt).string().null())
                .col(ColumnDef::new(AlertChannels::Secret).text().not_null())
                .col(ColumnDef::new(AlertChannels::LinkBase).string().null())
                .col(ColumnDef::new(AlertChannels::Status).string().not_null())
                .col(ColumnDef::new(AlertChannels::BrokenReason).text().null())
                .col(ColumnDef::new(AlertChannels::LastSentAt).string().null())
                .col(
                    ColumnDef::new(AlertChannels::SentCount)
                        .big_integer()
                        .not_null()
                        .default(0),
                )
                .col(ColumnDef::new(AlertChannels::CreatedAt).string().not_null())
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(AlertOutbox::Table)
                .if_not_exists()
                .col(ColumnDef::new(AlertOutbox::Id).string().not_null().primary_key())
                .col(ColumnDef::new(AlertOutbox::TenantId).string().not_null())
                .col(ColumnDef::new(AlertOutbox::ChannelId).string().not_null())
                .col(ColumnDef::new(AlertOutbox::Kind).string().not_null())
                .col(ColumnDef::new(AlertOutbox::Payload).text().not_null())
                .col(ColumnDef::new(AlertOutbox::Status).string().not_null())
                .col(ColumnDef::new(AlertOutbox::Attempts).integer().not_null().default(0))
                .col(ColumnDef::new(AlertOutbox::NextAttemptAt).string().not_null())
                .col(ColumnDef::new(AlertOutbox::ClaimedUntil).string().null())
                .col(ColumnDef::new(AlertOutbox::Claim).string().null())
                .col(ColumnDef::new(AlertOutbox::LastError).text().null())
                .col(ColumnDef::new(AlertOutbox::CreatedAt).string().not_null())
                .col(ColumnDef::new(AlertOutbox::DeliveredAt).string().null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("alert_outbox_due")
                .table(AlertOutbox::Table)
                .col(AlertOutbox::Status)
                .col(AlertOutbox::NextAttemptAt)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [AlertOutbox::Table.into_iden(), AlertChannels::Table.into_iden()] {
            m.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
