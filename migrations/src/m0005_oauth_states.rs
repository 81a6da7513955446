//! Browser connects in flight: the `state` of an authorization request (only its SHA-256),
//! bound to the person, the tenant and the vendor, with the PKCE verifier and the connection's
//! settings and client secret (sealed) until the vendor sends the person back. Single use;
//! ten minutes.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(Iden)]
enum OauthStates {
    Table,
    Id,
    UserId,
    TenantId,
    Provider,
    Sealed,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(OauthStates::Table)
                .if_not_exists()
                .col(ColumnDef::new(OauthStates::Id).string().not_null().primary_key())
                .col(ColumnDef::new(OauthStates::UserId).string().not_null())
                .col(ColumnDef::new(OauthStates::TenantId).string().not_null())
                .col(ColumnDef::new(OauthStates::Provider).string().not_null())
                .col(ColumnDef::new(OauthStates::Sealed).text().not_null())
                .col(ColumnDef::new(OauthStates::ExpiresAt).string().not_null())
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(OauthStates::Table).to_owned()).await
    }
}
