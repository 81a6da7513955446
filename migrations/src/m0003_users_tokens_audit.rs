//! People and access: users (argon2id password hashes), their role in each tenant, API tokens
//! (only a SHA-256 of the token is kept), and the audit log of who did what to which tenant.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(Iden)]
enum Users {
    Table,
    Id,
    Email,
    PasswordHash,
    Operator,
    CreatedAt,
}

#[derive(Iden)]
enum Memberships {
    Table,
    UserId,
    TenantId,
    Role,
    CreatedAt,
}

#[derive(Iden)]
enum ApiTokens {
    Table,
    Id,
    TenantId,
    Name,
    Role,
    TokenHash,
    CreatedBy,
    CreatedAt,
    RevokedAt,
}

#[derive(Iden)]
enum AuditLog {
    Table,
    Id,
    TenantId,
    Actor,
    Action,
    Object,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Users::Table)
                .if_not_exists()
                .col(ColumnDef::new(Users::Id).string().not_null().primary_key())
                .col(ColumnDef::new(Users::Email).string().not_null().unique_key())
                .col(ColumnDef::new(Users::PasswordHash).string().not_null())
                .col(ColumnDef::new(Users::Operator).boolean().not_null().default(false))
                .col(ColumnDef::new(Users::CreatedAt).string().not_null())
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Memberships::Table)
                .if_not_exists()
                .col(ColumnDef::new(Memberships::UserId).string().not_null())
                .col(ColumnDef::new(Memberships::TenantId).string().not_null())
                .col(ColumnDef::new(Memberships::Role).string().not_null())
                .col(ColumnDef::new(Memberships::CreatedAt).string().not_null())
                .primary_key(Index::create().col(Memberships::UserId).col(Memberships::TenantId))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ApiTokens::Table)
                .if_not_exists()
                .col(ColumnDef::new(ApiTokens::Id).string().not_null().primary_key())
                // Null: an operator token (creates tenants; no tenant of its own).
                .col(ColumnDef::new(ApiTokens::TenantId).string().null())
                .col(ColumnDef::new(ApiTokens::Name).string().not_null())
                .col(ColumnDef::new(ApiTokens::Role).string().not_null())
                .col(ColumnDef::new(ApiTokens::TokenHash).string().not_null().unique_key())
                .col(ColumnDef::new(ApiTokens::CreatedBy).string().not_null())
                .col(ColumnDef::new(ApiTokens::CreatedAt).string().not_null())
                .col(ColumnDef::new(ApiTokens::RevokedAt).string().null())
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(AuditLog::Table)
                .if_not_exists()
                .col(ColumnDef::new(AuditLog::Id).string().not_null().primary_key())
                .col(ColumnDef::new(AuditLog::TenantId).string().null())
                .col(ColumnDef::new(AuditLog::Actor).string().not_null())
                .col(ColumnDef::new(AuditLog::Action).string().not_null())
                .col(ColumnDef::new(AuditLog::Object).string().not_null())
                .col(ColumnDef::new(AuditLog::At).string().not_null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .if_not_exists()
                .name("audit_log_tenant_at")
                .table(AuditLog::Table)
                .col(AuditLog::TenantId)
                .col(AuditLog::At)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in ["audit_log", "api_tokens", "memberships", "users"] {
            m.drop_table(Table::drop().table(Alias::new(table)).to_owned()).await?;
        }
        Ok(())
    }
}
