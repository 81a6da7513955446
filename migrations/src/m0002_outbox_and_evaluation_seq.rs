//! The outbox (work that must leave the process after a commit, written in the same
//! transaction: the Evaluate job after a snapshot) and a per-tenant evaluation sequence number
//! (two evaluations of one tenant cannot overwrite each other's findings: the second to
//! finish sees the number moved and evaluates again).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(Iden)]
enum Outbox {
    Table,
    Id,
    Kind,
    Payload,
    CreatedAt,
}

#[derive(Iden)]
enum Tenants {
    Table,
    EvaluationSeq,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Outbox::Table)
                .if_not_exists()
                .col(ColumnDef::new(Outbox::Id).string().not_null().primary_key())
                .col(ColumnDef::new(Outbox::Kind).string().not_null())
                .col(ColumnDef::new(Outbox::Payload).text().not_null())
                .col(ColumnDef::new(Outbox::CreatedAt).string().not_null())
                .to_owned(),
        )
        .await?;
        if !m.has_column("tenants", "evaluation_seq").await? {
            m.alter_table(
                Table::alter()
                    .table(Tenants::Table)
                    .add_column(
                        ColumnDef::new(Tenants::EvaluationSeq)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Outbox::Table).to_owned()).await
    }
}
