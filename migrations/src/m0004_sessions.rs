//! Web sessions: a SHA-256 of the cookie value (the value itself is only in the browser), the
//! person, the form (CSRF) token of the session, and when it ends.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(Iden)]
enum Sessions {
    Table,
    Id,
    UserId,
    Csrf,
    CreatedAt,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Sessions::Table)
                .if_not_exists()
                .col(ColumnDef::new(Sessions::Id).string().not_null().primary_key())
                .col(ColumnDef::new(Sessions::UserId).string().not_null())
                .col(ColumnDef::new(Sessions::Csrf).string().not_null())
                .col(ColumnDef::new(Sessions::CreatedAt).string().not_null())
                .col(ColumnDef::new(Sessions::ExpiresAt).string().not_null())
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Sessions::Table).to_owned()).await
    }
}
