//! Who is calling, and what of which tenant they may touch. Every tenant-scoped function of
//! the service takes a [`TenantScope`], and [`Service::scope`] is the one place that makes
//! one: a caller without a role in the tenant gets [`ServiceError::NotFound`] (whether the
//! tenant exists is not disclosed), a caller with too small a role [`ServiceError::Forbidden`].

use crate::{Result, Service, ServiceError};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use store::entities::{api_token, audit, tenant};

/// A role in a tenant. Ordered: an admin may do what a viewer may.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads findings, inventory, agents and scans.
    Viewer,
    /// Also connects and removes apps, starts scans, manages tokens, reads the audit log.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Result<Role> {
        match text {
            "viewer" => Ok(Role::Viewer),
            "admin" => Ok(Role::Admin),
            other => Err(ServiceError::Invalid(format!(
                "role {other:?} is not one of admin, viewer"
            ))),
        }
    }
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The command line on a host that holds the database and the key: an operator.
    Local,
    /// A schedule firing inside `serve` or `worker` (acts as the tenant's admin).
    Schedule,
    /// A signed-in person.
    User { id: String, email: String, operator: bool },
    /// An API token: of one tenant with a role, or an operator token (no tenant).
    Token {
        id: String,
        name: String,
        tenant_id: Option<String>,
        role: Option<Role>,
    },
}

impl Caller {
    /// May create tenants and act in every tenant.
    pub fn is_operator(&self) -> bool {
        match self {
            Caller::Local | Caller::Schedule => true,
            Caller::User { operator, .. } => *operator,
            Caller::Token { tenant_id, .. } => tenant_id.is_none(),
        }
    }

    /// How the audit log names the caller.
    pub fn actor(&self) -> String {
        match self {
            Caller::Local => "cli".into(),
            Caller::Schedule => "schedule".into(),
            Caller::User { email, .. } => format!("user:{email}"),
            Caller::Token { name, .. } => format!("token:{name}"),
        }
    }
}

/// One tenant, as one caller may see it.
#[derive(Debug, Clone)]
pub struct TenantScope {
    pub tenant: tenant::Model,
    pub role: Role,
    pub actor: String,
}

impl TenantScope {
    /// Refuses what needs a larger role than the caller's.
    pub fn require(&self, role: Role) -> Result<()> {
        if self.role >= role {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(format!(
                "this needs the {} role in tenant {}",
                role.as_str(),
                self.tenant.slug
            )))
        }
    }
}

/// A token as listed (never the token itself).
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct TokenInfo {
    pub id: String,
    pub name: String,
    pub role: String,
    pub created_by: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

impl From<api_token::Model> for TokenInfo {
    fn from(t: api_token::Model) -> Self {
        TokenInfo {
            id: t.id,
            name: t.name,
            role: t.role,
            created_by: t.created_by,
            created_at: t.created_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// A token just created: the only time its text exists outside the caller's hands.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub info: TokenInfo,
    pub token: String,
}

/// An audit log entry.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct AuditEntry {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub object: String,
}

impl From<audit::Model> for AuditEntry {
    fn from(a: audit::Model) -> Self {
        AuditEntry {
            at: a.at,
            actor: a.actor,
            action: a.action,
            object: a.object,
        }
    }
}

const TOKEN_PREFIX: &str = "aispm_";

/// Marks a sessions row that is a one-time sign-in link, not a session.
const SIGN_IN_LINK: &str = "sign-in-link";

/// How long a web session lasts.
pub const SESSION_HOURS: i64 = 12;

/// A new web session: the cookie's value and the form token.
#[derive(Debug, Clone)]
pub struct WebSession {
    pub cookie: String,
    pub csrf: String,
}

/// An unguessable value for a form's double-submit check (the sign-in form).
pub fn new_form_token() -> String {
    random_text(18)
}

pub(crate) fn random_text(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// Tokens carry 256 random bits, so a fast hash is enough to store them (unlike passwords).
pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| ServiceError::Other(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::Other(format!("cannot hash the password: {e}")))
}

fn password_matches(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

fn parse_email(text: &str) -> Result<String> {
    let email = text.trim().to_lowercase();
    let valid = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(user, host)| !user.is_empty() && host.contains('.') && !host.starts_with('.'))
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(email)
    } else {
        Err(ServiceError::Invalid(format!("{text:?} is not an email address")))
    }
}

/// The shortest password accepted.
pub const MIN_PASSWORD: usize = 12;

impl Service {
    /// The tenant `slug` as `caller` may see it: `NotFound` when the caller has no role there.
    pub async fn scope(&self, caller: &Caller, slug: &str) -> Result<TenantScope> {
        let not_found = || ServiceError::NotFound(format!("no tenant {slug:?}"));
        let tenant = match self.store().tenant(slug).await {
            Ok(t) => t,
            Err(store::StoreError::NoTenant(_)) if !caller.is_operator() => return Err(not_found()),
            Err(e) => return Err(e.into()),
        };
        let role = match caller {
            _ if caller.is_operator() => Some(Role::Admin),
            Caller::User { id, .. } => self
                .store()
                .memberships(id)
                .await?
                .into_iter()
                .find(|m| m.tenant_id == tenant.id)
                .and_then(|m| Role::parse(&m.role).ok()),
            Caller::Token { tenant_id, role, .. } => role.filter(|_| tenant_id.as_deref() == Some(tenant.id.as_str())),
            Caller::Local | Caller::Schedule => unreachable!("operators are handled above"),
        };
        let role = role.ok_or_else(not_found)?;
        Ok(TenantScope {
            tenant,
            role,
            actor: caller.actor(),
        })
    }

    /// The tenants the caller may see.
    pub async fn visible_tenants(&self, caller: &Caller) -> Result<Vec<(tenant::Model, Role)>> {
        let all = self.store().tenants().await?;
        if caller.is_operator() {
            return Ok(all.into_iter().map(|t| (t, Role::Admin)).collect());
        }
        let mut visible = Vec::new();
        for t in all {
            if let Ok(scope) = self.scope(caller, &t.slug).await {
                visible.push((scope.tenant, scope.role));
            }
        }
        Ok(visible)
    }

    /// Creates a tenant (operators only).
    pub async fn create_tenant(&self, caller: &Caller, slug: &str) -> Result<tenant::Model> {
        if !caller.is_operator() {
            return Err(ServiceError::Forbidden("only an operator creates tenants".into()));
        }
        let tenant = self.add_tenant(slug).await?;
        self.store()
            .audit(Some(&tenant.id), &caller.actor(), "tenant.create", &tenant.slug)
            .await?;
        Ok(tenant)
    }

    // ---- people

    /// Adds a person who signs in with `password` (argon2id-hashed; at least 12 characters).
    pub async fn add_user(&self, caller: &Caller, email: &str, password: &str, operator: bool) -> Result<String> {
        if !caller.is_operator() {
            return Err(ServiceError::Forbidden("only an operator adds users".into()));
        }
        let email = parse_email(email)?;
        if password.chars().count() < MIN_PASSWORD {
            return Err(ServiceError::Invalid(format!(
                "the password must have at least {MIN_PASSWORD} characters"
            )));
        }
        let user = self
            .store()
            .add_user(&email, &hash_password(password)?, operator)
            .await?;
        self.store().audit(None, &caller.actor(), "user.add", &email).await?;
        Ok(user.id)
    }

    /// Gives the user `role` in the scope's tenant (tenant admins and operators).
    pub async fn grant(&self, scope: &TenantScope, email: &str, role: Role) -> Result<()> {
        scope.require(Role::Admin)?;
        let email = parse_email(email)?;
        let user = self
            .store()
            .user_by_email(&email)
            .await?
            .ok_or_else(|| ServiceError::Invalid(format!("no user {email} (add one with `aispm user add`)")))?;
        self.store()
            .set_membership(&user.id, &scope.tenant.id, role.as_str())
            .await?;
        self.store()
            .audit(
                Some(&scope.tenant.id),
                &scope.actor,
                "member.grant",
                &format!("{email} as {}", role.as_str()),
            )
            .await?;
        Ok(())
    }

    /// The person with this email and password, or `None` (the same for a wrong password and
    /// an unknown email, which also costs one hash so the two take as long).
    pub async fn sign_in(&self, email: &str, password: &str) -> Result<Option<Caller>> {
        let Ok(email) = parse_email(email) else { return Ok(None) };
        match self.store().user_by_email(&email).await? {
            Some(u) if password_matches(password, &u.password_hash) => Ok(Some(Caller::User {
                id: u.id,
                email: u.email,
                operator: u.operator,
            })),
            Some(_) => Ok(None),
            None => {
                let _ = hash_password(password);
                Ok(None)
            }
        }
    }

    // ---- web sessions

    /// Starts a web session for a signed-in person: the cookie value (only its hash is
    /// stored) and the session's form token. Sessions last [`SESSION_HOURS`].
    pub async fn start_session(&self, caller: &Caller) -> Result<WebSession> {
        let Caller::User { id, .. } = caller else {
            return Err(ServiceError::Invalid("only a person has a web session".into()));
        };
        let cookie = random_text(32);
        let csrf = random_text(24);
        let expires = (chrono::Utc::now() + chrono::Duration::hours(SESSION_HOURS))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        self.store()
            .add_session(&token_hash(&cookie), id, &csrf, &expires)
            .await?;
        Ok(WebSession { cookie, csrf })
    }

    /// The person and form token of a live session cookie.
    pub async fn session(&self, cookie: &str) -> Result<Option<(Caller, String)>> {
        if cookie.is_empty() || cookie.len() > 100 {
            return Ok(None);
        }
        let Some(session) = self.store().live_session(&token_hash(cookie), &store::now()).await? else {
            return Ok(None);
        };
        if session.csrf == SIGN_IN_LINK {
            return Ok(None); // a sign-in link is not a session
        }
        let Some(user) = self.store().user(&session.user_id).await? else {
            return Ok(None);
        };
        Ok(Some((
            Caller::User {
                id: user.id,
                email: user.email,
                operator: user.operator,
            },
            session.csrf,
        )))
    }

    /// A one-time sign-in link token for the person (operators only), valid ten minutes: what
    /// `aispm demo --serve` prints so a newcomer lands signed in.
    pub async fn create_sign_in_link(&self, caller: &Caller, email: &str) -> Result<String> {
        if !caller.is_operator() {
            return Err(ServiceError::Forbidden("only an operator makes sign-in links".into()));
        }
        let email = parse_email(email)?;
        let user = self
            .store()
            .user_by_email(&email)
            .await?
            .ok_or_else(|| ServiceError::Invalid(format!("no user {email}")))?;
        let token = random_text(32);
        let expires =
            (chrono::Utc::now() + chrono::Duration::minutes(10)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        self.store()
            .add_session(&token_hash(&token), &user.id, SIGN_IN_LINK, &expires)
            .await?;
        Ok(token)
    }

    /// Spends a sign-in link: a new session for its person, or `None` when the link is
    /// unknown, used or expired.
    pub async fn redeem_sign_in_link(&self, token: &str) -> Result<Option<WebSession>> {
        if token.is_empty() || token.len() > 100 {
            return Ok(None);
        }
        let hash = token_hash(token);
        let Some(link) = self.store().live_session(&hash, &store::now()).await? else {
            return Ok(None);
        };
        if link.csrf != SIGN_IN_LINK || !self.store().take_session(&hash).await? {
            return Ok(None);
        }
        let Some(user) = self.store().user(&link.user_id).await? else {
            return Ok(None);
        };
        let caller = Caller::User {
            id: user.id,
            email: user.email,
            operator: user.operator,
        };
        Ok(Some(self.start_session(&caller).await?))
    }

    pub async fn end_session(&self, cookie: &str) -> Result<()> {
        Ok(self.store().end_session(&token_hash(cookie), &store::now()).await?)
    }

    // ---- API tokens

    /// Creates a token with `role` in the scope's tenant; the text is returned once.
    pub async fn create_token(&self, scope: &TenantScope, role: Role, name: &str) -> Result<NewToken> {
        scope.require(Role::Admin)?;
        let token = new_token_text();
        let name = token_name(name)?;
        let model = self
            .store()
            .add_token(
                Some(&scope.tenant.id),
                &name,
                role.as_str(),
                &token_hash(&token),
                &scope.actor,
            )
            .await?;
        self.store()
            .audit(
                Some(&scope.tenant.id),
                &scope.actor,
                "token.create",
                &format!("{name} ({})", role.as_str()),
            )
            .await?;
        Ok(NewToken {
            info: model.into(),
            token,
        })
    }

    /// Creates an operator token (creates tenants, acts in all of them): operators only.
    pub async fn create_operator_token(&self, caller: &Caller, name: &str) -> Result<NewToken> {
        if !caller.is_operator() {
            return Err(ServiceError::Forbidden(
                "only an operator creates operator tokens".into(),
            ));
        }
        let token = new_token_text();
        let name = token_name(name)?;
        let model = self
            .store()
            .add_token(None, &name, "operator", &token_hash(&token), &caller.actor())
            .await?;
        self.store()
            .audit(None, &caller.actor(), "token.create", &format!("{name} (operator)"))
            .await?;
        Ok(NewToken {
            info: model.into(),
            token,
        })
    }

    pub async fn tokens(&self, scope: &TenantScope) -> Result<Vec<TokenInfo>> {
        scope.require(Role::Admin)?;
        Ok(self
            .store()
            .tokens(&scope.tenant.id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    pub async fn revoke_token(&self, scope: &TenantScope, id: &str) -> Result<()> {
        scope.require(Role::Admin)?;
        if !self.store().revoke_token(&scope.tenant.id, id).await? {
            return Err(ServiceError::NotFound(format!("no token {id:?}")));
        }
        self.store()
            .audit(Some(&scope.tenant.id), &scope.actor, "token.revoke", id)
            .await?;
        Ok(())
    }

    /// The caller a bearer token stands for, or `None` for an unknown or revoked one.
    pub async fn authenticate_token(&self, token: &str) -> Result<Option<Caller>> {
        if !token.starts_with(TOKEN_PREFIX) || token.len() > 200 {
            return Ok(None);
        }
        let Some(t) = self.store().live_token(&token_hash(token)).await? else {
            return Ok(None);
        };
        let role = Role::parse(&t.role).ok();
        if t.tenant_id.is_some() && role.is_none() {
            return Ok(None);
        }
        Ok(Some(Caller::Token {
            id: t.id,
            name: t.name,
            tenant_id: t.tenant_id,
            role,
        }))
    }

    // ---- audit log

    /// The tenant's newest audit entries (admins), at most `limit`, before `before`.
    pub async fn audit_log(&self, scope: &TenantScope, before: Option<&str>, limit: u64) -> Result<Vec<AuditEntry>> {
        scope.require(Role::Admin)?;
        Ok(self
            .store()
            .audit_log(&scope.tenant.id, before, limit)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    pub(crate) async fn record(&self, scope: &TenantScope, action: &str, object: &str) -> Result<()> {
        Ok(self
            .store()
            .audit(Some(&scope.tenant.id), &scope.actor, action, object)
            .await?)
    }
}

fn new_token_text() -> String {
    format!("{TOKEN_PREFIX}{}", random_text(32))
}

fn token_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 80 || name.chars().any(char::is_control) {
        return Err(ServiceError::Invalid(
            "a token name has 1 to 80 printable characters".into(),
        ));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_argon2id_and_verify() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(password_matches("correct horse battery", &hash));
        assert!(!password_matches("correct horse battery!", &hash));
        assert!(!password_matches("x", "not a hash"));
    }

    #[test]
    fn tokens_are_random_prefixed_and_stored_as_hashes() {
        let (a, b) = (new_token_text(), new_token_text());
        assert_ne!(a, b);
        assert!(a.starts_with("aispm_") && a.len() == 6 + 43, "{a}");
        assert_eq!(token_hash(&a).len(), 64);
        assert!(!token_hash(&a).contains(&a[6..]));
    }

    #[test]
    fn roles_and_emails_parse_or_say_why_not() {
        assert_eq!(Role::parse("admin").unwrap(), Role::Admin);
        assert!(Role::parse("root").unwrap_err().to_string().contains("admin, viewer"));
        assert_eq!(parse_email(" Ana@Example.COM ").unwrap(), "ana@example.com");
        assert!(parse_email("ana").is_err());
        assert!(Role::Admin > Role::Viewer);
    }
}
