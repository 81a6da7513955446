//! Service account sign-in with domain-wide delegation (reference §1.1, §1.3, §9.1.1).
//!
//! The key file names the service account (`client_email`, `client_id`), holds its private key
//! and says where tokens come from (`token_uri`). Each token is bought with a fresh assertion:
//! `iss` = the service account, `sub` = the admin it acts as, `scope` = what it asks for, `aud` =
//! `token_uri`, valid for an hour. There is no refresh token for this grant.

use crate::auth::{AuthError, TokenSource};
use crate::http::redact_secrets;
use futures::future::BoxFuture;
use ring::signature::RsaKeyPair;
use serde::Deserialize;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::Mutex;

/// What a scan reads with (§1.3): read-only scopes only.
pub const READ_SCOPES: &[&str] = &[
    "https://www.googleapis.com/auth/cloud-identity.policies.readonly",
    "https://www.googleapis.com/auth/admin.directory.user.readonly",
    "https://www.googleapis.com/auth/admin.directory.rolemanagement.readonly",
    "https://www.googleapis.com/auth/admin.directory.orgunit.readonly",
    "https://www.googleapis.com/auth/admin.directory.customer.readonly",
    "https://www.googleapis.com/auth/admin.directory.group.readonly",
    "https://www.googleapis.com/auth/admin.directory.domain.readonly",
    "https://www.googleapis.com/auth/admin.reports.audit.readonly",
];

/// The one scope `tokens.list` accepts (§9.1.1). It is not read-only: it also lets its holder
/// delete tokens, sign users out and turn off 2-step verification, so it is asked for only in a
/// token of its own, for the tokens inventory, and only where the connection allows it.
pub const TOKENS_SCOPE: &str = "https://www.googleapis.com/auth/admin.directory.user.security";

/// How long an assertion (and the token it buys) lasts: Google's libraries use an hour.
const ASSERTION_SECS: u64 = 3600;
/// Renew a token this long before Google says it expires.
const EARLY_SECS: u64 = 120;

#[derive(Deserialize)]
struct KeyFile {
    #[serde(rename = "type")]
    kind: Option<String>,
    client_email: Option<String>,
    client_id: Option<String>,
    private_key: Option<String>,
    private_key_id: Option<String>,
    token_uri: Option<String>,
}

/// A service account from its JSON key file. The private key stays inside; `Debug` does not
/// show it.
pub struct ServiceAccount {
    pub client_email: String,
    /// The numeric OAuth client id an admin authorises for domain-wide delegation.
    pub client_id: String,
    pub token_uri: String,
    key_id: Option<String>,
    key: RsaKeyPair,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("client_email", &self.client_email)
            .field("client_id", &self.client_id)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

impl ServiceAccount {
    /// Reads a key file; a one-line reason names what is wrong with it, never its contents.
    pub fn from_key_file(json: &str) -> Result<ServiceAccount, String> {
        let file: KeyFile = serde_json::from_str(json).map_err(|_| {
            "the service account key file is not JSON (download a JSON key for the service account)".to_string()
        })?;
        if file.kind.as_deref() != Some("service_account") {
            return Err(format!(
                "the key file is not a service account key (its \"type\" is {:?}, expected \"service_account\")",
                file.kind.as_deref().unwrap_or("missing")
            ));
        }
        let field = |v: Option<String>, name: &str| {
            v.filter(|s| !s.trim().is_empty())
                .ok_or_else(|| format!("the service account key file has no \"{name}\""))
        };
        let client_email = field(file.client_email, "client_email")?;
        let client_id = field(file.client_id, "client_id")?;
        let token_uri = field(file.token_uri, "token_uri")?;
        check_token_uri(&token_uri)?;
        let key = crate::jwt::rsa_private_key(&field(file.private_key, "private_key")?)
            .map_err(|e| format!("the key file's private_key: {e}"))?;
        Ok(ServiceAccount {
            client_email,
            client_id,
            token_uri,
            key_id: file.private_key_id.filter(|k| !k.is_empty()),
            key,
        })
    }

    /// The signed assertion for `subject` and `scopes` at `now_secs` (§1.1).
    pub fn assertion(&self, subject: &str, scopes: &[&str], now_secs: u64) -> Result<String, String> {
        let mut header = serde_json::json!({"alg": "RS256", "typ": "JWT"});
        if let Some(kid) = &self.key_id {
            header["kid"] = serde_json::json!(kid);
        }
        let claims = serde_json::json!({
            "iss": self.client_email, "sub": subject, "scope": scopes.join(" "),
            "aud": self.token_uri, "iat": now_secs, "exp": now_secs + ASSERTION_SECS,
        });
        crate::jwt::sign_rs256(&self.key, &header, &claims)
    }
}

/// The token endpoint gets a signed assertion: https only, or plain http on loopback (the
/// simulator, a local proxy).
fn check_token_uri(uri: &str) -> Result<(), String> {
    let parsed = url::Url::parse(uri).map_err(|_| format!("the key file's token_uri {uri:?} is not a URL"))?;
    let loopback = matches!(parsed.host_str(), Some("127.0.0.1") | Some("localhost") | Some("[::1]"));
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(format!("the key file's token_uri {uri:?} is not https")),
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct TokenRefusal {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

struct Cached {
    access: String,
    renew_at: Instant,
}

/// Tokens for one admin and one set of scopes.
pub struct GoogleTokens {
    account: std::sync::Arc<ServiceAccount>,
    subject: String,
    scopes: Vec<&'static str>,
    http: reqwest::Client,
    cached: Mutex<Option<Cached>>,
}

impl GoogleTokens {
    pub fn new(
        account: std::sync::Arc<ServiceAccount>,
        subject: &str,
        scopes: &[&'static str],
    ) -> Result<GoogleTokens, AuthError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("aispm/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| AuthError::Config(e.to_string()))?;
        Ok(GoogleTokens {
            account,
            subject: subject.to_string(),
            scopes: scopes.to_vec(),
            http,
            cached: Mutex::new(None),
        })
    }

    async fn request_token(&self) -> Result<Cached, AuthError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let assertion = self
            .account
            .assertion(&self.subject, &self.scopes, now)
            .map_err(AuthError::Config)?;
        let answer = self
            .http
            .post(&self.account.token_uri)
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", assertion.as_str()),
            ])
            .send()
            .await
            .map_err(|e| AuthError::Unreachable(e.without_url().to_string()))?;
        let status = answer.status();
        if status.is_redirection() {
            return Err(AuthError::Rejected(format!(
                "the token endpoint answered HTTP {status} (a redirect); check the key file's token_uri"
            )));
        }
        let bytes = read_limited(answer, 64 * 1024).await?;
        if !status.is_success() {
            let refusal = serde_json::from_slice::<TokenRefusal>(&bytes).ok();
            return Err(AuthError::Rejected(match refusal {
                Some(r) => self.explain(&r, status.as_u16()),
                None => format!("the token endpoint answered HTTP {status}"),
            }));
        }
        let answer: TokenAnswer = serde_json::from_slice(&bytes).map_err(|_| {
            AuthError::Rejected(format!(
                "the token endpoint's answer ({} bytes) is not a Google token answer; it is not shown because it may hold a token",
                bytes.len()
            ))
        })?;
        // `expires_in` arrives as a number or a string (§1.1).
        let lifetime = match &answer.expires_in {
            Some(serde_json::Value::Number(n)) => n.as_u64(),
            Some(serde_json::Value::String(s)) => s.parse().ok(),
            _ => None,
        }
        .unwrap_or(ASSERTION_SECS)
        .clamp(EARLY_SECS + 1, ASSERTION_SECS);
        Ok(Cached {
            access: answer.access_token,
            renew_at: Instant::now() + Duration::from_secs(lifetime - EARLY_SECS),
        })
    }

    /// Google's refusal in its own words, and what the admin does about it.
    fn explain(&self, refusal: &TokenRefusal, status: u16) -> String {
        let short = |t: &str| redact_secrets(t).chars().take(200).collect::<String>();
        let words = match &refusal.error_description {
            Some(d) => format!("{}: {}", short(&refusal.error), short(d)),
            None => short(&refusal.error),
        };
        match refusal.error.as_str() {
            "unauthorized_client" => format!(
                "{words} (HTTP {status}). Domain-wide delegation is missing or incomplete: in the Admin console, \
                 Security → API controls → Domain-wide delegation, authorise client id {} for exactly these \
                 scopes: {} (a change can take up to 24 hours to apply)",
                self.account.client_id,
                self.scopes.join(",")
            ),
            "invalid_grant" => format!(
                "{words} (HTTP {status}). Google did not accept the assertion: the key may be deleted or \
                 disabled, the clock off, or {:?} not a user of the domain",
                self.subject
            ),
            _ => format!("{words} (HTTP {status})"),
        }
    }
}

async fn read_limited(mut answer: reqwest::Response, limit: usize) -> Result<Vec<u8>, AuthError> {
    let mut body = Vec::new();
    while let Some(chunk) = answer
        .chunk()
        .await
        .map_err(|e| AuthError::Unreachable(e.without_url().to_string()))?
    {
        if body.len() + chunk.len() > limit {
            return Err(AuthError::Rejected(format!(
                "the token endpoint's answer is larger than {limit} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

impl TokenSource for GoogleTokens {
    fn token(&self, refresh: bool) -> BoxFuture<'_, Result<String, AuthError>> {
        Box::pin(async move {
            let mut cached = self.cached.lock().await;
            if let Some(c) = cached.as_ref() {
                if !refresh && c.renew_at > Instant::now() {
                    return Ok(c.access.clone());
                }
            }
            let fresh = self.request_token().await?;
            let access = fresh.access.clone();
            *cached = Some(fresh);
            Ok(access)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_that_are_not_usable_are_named_not_quoted() {
        assert!(ServiceAccount::from_key_file("not json")
            .unwrap_err()
            .contains("not JSON"));
        let user = r#"{"type": "authorized_user", "client_id": "1", "client_secret": "s3cr3t"}"#;
        let e = ServiceAccount::from_key_file(user).unwrap_err();
        assert!(e.contains("authorized_user") && !e.contains("s3cr3t"), "{e}");
        let no_uri = r#"{"type": "service_account", "client_email": "a@p.iam.gserviceaccount.com", "client_id": "1", "private_key": "x"}"#;
        assert!(ServiceAccount::from_key_file(no_uri).unwrap_err().contains("token_uri"));
        let http = r#"{"type": "service_account", "client_email": "a@p.iam.gserviceaccount.com", "client_id": "1", "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", "token_uri": "http://oauth2.example/token"}"#;
        assert!(ServiceAccount::from_key_file(http).unwrap_err().contains("not https"));
        let bad_key = r#"{"type": "service_account", "client_email": "a@p.iam.gserviceaccount.com", "client_id": "1", "private_key": "-----BEGIN PRIVATE KEY-----\nQUJDRA==\n-----END PRIVATE KEY-----", "token_uri": "https://oauth2.googleapis.com/token"}"#;
        let e = ServiceAccount::from_key_file(bad_key).unwrap_err();
        assert!(e.contains("private_key") && !e.contains("QUJDRA"), "{e}");
    }
}
