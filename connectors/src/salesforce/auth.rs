//! Salesforce sign-in (reference §1): the JWT bearer flow (an RS256 assertion signed with the
//! connected app's key: `iss` consumer key, `sub` the integration user, `aud` the login URL),
//! client credentials (only on the org's My Domain, §8.1) and a refresh token from an admin's
//! browser sign-in. Every answer names the org's `instance_url`, where all API calls go; it is
//! accepted only on Salesforce's own domains or on the configured login host (§1.9, §9).
//!
//! The oauth2 crate has no JWT bearer grant and drops `instance_url`, so the token request is
//! a plain form POST here; redirects are refused and the answer body is never echoed.

use crate::auth::{AuthError, RefreshSlot, TokenSource};
use crate::http::redact_secrets;
use base64::Engine;
use futures::future::BoxFuture;
use ring::signature::RsaKeyPair;
use serde::Deserialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How the connection signs in.
pub enum Grant {
    /// Server to server, no secret on the wire (§1.4).
    JwtBearer { username: String, key: Arc<RsaKeyPair> },
    /// The app's Run As user (§1.5); the login URL must be the org's My Domain.
    ClientCredentials { secret: String },
    /// From an admin's sign-in (web server flow with PKCE, §1.2); the secret when the app
    /// requires one for the web server flow.
    RefreshToken { slot: RefreshSlot, secret: Option<String> },
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Grant::JwtBearer { .. } => "JwtBearer(<key redacted>)",
            Grant::ClientCredentials { .. } => "ClientCredentials(<secret redacted>)",
            Grant::RefreshToken { .. } => "RefreshToken(<redacted>)",
        })
    }
}

pub use crate::jwt::rsa_private_key as private_key;

/// The signed JWT bearer assertion (§1.4): header `{"alg":"RS256"}`, claims `iss`, `sub`,
/// `aud`, `exp` three minutes ahead.
pub fn assertion(
    key: &RsaKeyPair,
    client_id: &str,
    username: &str,
    audience: &str,
    now_secs: u64,
) -> Result<String, String> {
    let claims = serde_json::json!({"iss": client_id, "sub": username, "aud": audience, "exp": now_secs + 180});
    crate::jwt::sign_rs256(key, &serde_json::json!({"alg": "RS256"}), &claims)
}

/// The parts of a token answer aispm keeps (§1.2); all strings.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    instance_url: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
}

#[derive(Deserialize)]
struct TokenRefusal {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// Who the token speaks for, from the token answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub instance_url: String,
    /// From the identity URL's last two segments (never from a token prefix, §9.1.1).
    pub org_id: Option<String>,
    pub user_id: Option<String>,
}

/// Whether a host may serve the org's API: Salesforce's own domains (§1.1) over https, or the
/// host of the configured login URL (a test server, a proxy the admin chose).
pub fn instance_url_allowed(instance_url: &str, login_url: &str) -> Result<String, String> {
    let url = url::Url::parse(instance_url).map_err(|_| "the token answer's instance_url is not a URL".to_string())?;
    let host = url.host_str().unwrap_or("").to_ascii_lowercase();
    let login_host = url::Url::parse(login_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase));
    let salesforce = url.scheme() == "https" && SALESFORCE_DOMAINS.iter().any(|d| host.ends_with(&format!(".{d}")));
    if salesforce || login_host.as_deref() == Some(host.as_str()) {
        if url.path() != "/" && !url.path().is_empty() || url.query().is_some() {
            return Err("the token answer's instance_url carries a path or query".into());
        }
        return Ok(url.origin().ascii_serialization());
    }
    Err(format!(
        "the token answer names instance_url host {host:?}, which is neither a Salesforce domain nor the login host; not used"
    ))
}

/// Domains Salesforce serves orgs from (production, sandboxes, government cloud).
const SALESFORCE_DOMAINS: &[&str] = &["salesforce.com", "force.com", "cloudforce.com", "salesforce.mil"];

struct Cached {
    access: String,
    expires: Instant,
}

/// Salesforce access tokens carry no lifetime; a session lasts at least the shortest timeout
/// an admin can set (15 minutes), and a 401 renews it anyway.
const TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// Tokens for one Salesforce connection, and the session (instance URL) they open.
pub struct SalesforceTokens {
    login_url: String,
    client_id: String,
    grant: Grant,
    http: reqwest::Client,
    cached: Mutex<Option<Cached>>,
    session: std::sync::Mutex<Option<Session>>,
    pub token_requests: Arc<AtomicU64>,
}

impl SalesforceTokens {
    pub fn new(login_url: &str, client_id: &str, grant: Grant) -> Result<Self, AuthError> {
        let http = token_http()?;
        Ok(SalesforceTokens {
            login_url: login_url.trim_end_matches('/').to_string(),
            client_id: client_id.to_string(),
            grant,
            http,
            cached: Mutex::new(None),
            session: std::sync::Mutex::new(None),
            token_requests: Arc::new(AtomicU64::new(0)),
        })
    }

    /// The session of the newest token (after a first [`TokenSource::token`] call).
    pub fn session(&self) -> Option<Session> {
        self.session.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The refresh token the org issued in place of the stored one (rotation), if it did.
    pub fn rotated_refresh_token(&self) -> Option<String> {
        match &self.grant {
            Grant::RefreshToken { slot, .. } => slot.rotated(),
            _ => None,
        }
    }

    async fn request_token(&self) -> Result<Cached, AuthError> {
        self.token_requests.fetch_add(1, Ordering::Relaxed);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut form: Vec<(&str, String)> = Vec::new();
        match &self.grant {
            Grant::JwtBearer { username, key } => {
                let assertion =
                    assertion(key, &self.client_id, username, &self.login_url, now).map_err(AuthError::Config)?;
                form.push(("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer".into()));
                form.push(("assertion", assertion));
            }
            Grant::ClientCredentials { secret } => {
                form.push(("grant_type", "client_credentials".into()));
                form.push(("client_id", self.client_id.clone()));
                form.push(("client_secret", secret.clone()));
            }
            Grant::RefreshToken { slot, secret } => {
                form.push(("grant_type", "refresh_token".into()));
                form.push(("client_id", self.client_id.clone()));
                form.push(("refresh_token", slot.current_secret()));
                if let Some(secret) = secret {
                    form.push(("client_secret", secret.clone()));
                }
            }
        }
        let (answer, instance_url) = post_token(&self.http, &self.login_url, &form).await?;
        let (org_id, user_id) = identity_ids(answer.id.as_deref());
        if let (Grant::RefreshToken { slot, .. }, Some(rotated)) = (&self.grant, &answer.refresh_token) {
            slot.replace_secret(rotated);
        }
        *self.session.lock().unwrap_or_else(|e| e.into_inner()) = Some(Session {
            instance_url,
            org_id,
            user_id,
        });
        Ok(Cached {
            access: answer.access_token,
            expires: Instant::now() + TOKEN_LIFETIME,
        })
    }
}

fn token_http() -> Result<reqwest::Client, AuthError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("aispm/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| AuthError::Config(e.to_string()))
}

/// One token request: the answer and its checked `instance_url`.
async fn post_token(
    http: &reqwest::Client,
    login_url: &str,
    form: &[(&str, String)],
) -> Result<(TokenAnswer, String), AuthError> {
    let answer = http
        .post(format!("{login_url}/services/oauth2/token"))
        .header(reqwest::header::ACCEPT, "application/json")
        .form(form)
        .send()
        .await
        .map_err(|e| AuthError::Unreachable(e.without_url().to_string()))?;
    let status = answer.status();
    if status.is_redirection() {
        return Err(AuthError::Rejected(format!(
            "the token endpoint answered HTTP {status} (a redirect); is the login URL the org's login host?"
        )));
    }
    let bytes = read_limited(answer, 64 * 1024).await?;
    if !status.is_success() {
        // §8.1: show the org's own words (`invalid_grant: request not supported on this domain`).
        return Err(match serde_json::from_slice::<TokenRefusal>(&bytes) {
            Ok(refusal) => {
                let short = |t: &str| redact_secrets(t).chars().take(160).collect::<String>();
                AuthError::Rejected(match refusal.error_description {
                    Some(d) => format!("{}: {}", short(&refusal.error), short(&d)),
                    None => short(&refusal.error),
                })
            }
            Err(_) => AuthError::Rejected(format!("the token endpoint answered HTTP {status}")),
        });
    }
    let answer: TokenAnswer = serde_json::from_slice(&bytes).map_err(|_| {
        AuthError::Rejected(format!(
            "the token endpoint's answer ({} bytes) is not a Salesforce token answer; it is not shown because it may hold a token",
            bytes.len()
        ))
    })?;
    let instance_url = instance_url_allowed(&answer.instance_url, login_url).map_err(AuthError::Rejected)?;
    Ok((answer, instance_url))
}

/// The scopes an admin's sign-in asks for: the REST, Tooling and Metadata APIs, and a refresh
/// token so scans run without the admin (§1.2, §1.3). Nothing that grants more than the
/// signed-in user already has.
pub const SIGN_IN_SCOPES: [&str; 2] = ["api", "refresh_token"];

/// What an admin's browser sign-in leaves: the refresh token to keep (sealed) and the org it
/// opens.
pub struct SignedIn {
    pub refresh_token: String,
    pub session: Session,
}

/// Trades the web server flow's code (with its PKCE verifier) for tokens (§1.2 step 2). The
/// secret only when the app requires one for the web server flow.
pub async fn exchange_code(
    login_url: &str,
    client_id: &str,
    client_secret: Option<&str>,
    redirect_uri: &str,
    code: &str,
    verifier: &str,
) -> Result<SignedIn, AuthError> {
    let login_url = login_url.trim_end_matches('/');
    let mut form: Vec<(&str, String)> = vec![
        ("grant_type", "authorization_code".into()),
        ("code", code.into()),
        ("client_id", client_id.into()),
        ("redirect_uri", redirect_uri.into()),
        ("code_verifier", verifier.into()),
    ];
    if let Some(secret) = client_secret.filter(|s| !s.is_empty()) {
        form.push(("client_secret", secret.into()));
    }
    let (answer, instance_url) = post_token(&token_http()?, login_url, &form).await?;
    let refresh_token = answer.refresh_token.filter(|t| !t.is_empty()).ok_or_else(|| {
        AuthError::Rejected(
            "the org issued no refresh token: give the app the refresh_token (offline_access) scope".into(),
        )
    })?;
    let (org_id, user_id) = identity_ids(answer.id.as_deref());
    Ok(SignedIn {
        refresh_token,
        session: Session {
            instance_url,
            org_id,
            user_id,
        },
    })
}

/// Org and user ids from the identity URL `https://login…/id/{orgId}/{userId}`.
fn identity_ids(id: Option<&str>) -> (Option<String>, Option<String>) {
    let Some(id) = id else { return (None, None) };
    let segments: Vec<&str> = id.trim_end_matches('/').rsplit('/').take(2).collect();
    match segments.as_slice() {
        [user, org] if org.len() >= 15 && user.len() >= 15 => (Some(org.to_string()), Some(user.to_string())),
        _ => (None, None),
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

/// Whether an access token is JWT-shaped (three base64url parts, the first a JSON header):
/// the Metadata API at v67.0 or lower refuses those (§9.1.1).
pub fn is_jwt_shaped(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 3
        && base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[0])
            .ok()
            .and_then(|h| serde_json::from_slice::<serde_json::Value>(&h).ok())
            .is_some_and(|h| h.is_object())
}

impl TokenSource for SalesforceTokens {
    fn token(&self, refresh: bool) -> BoxFuture<'_, Result<String, AuthError>> {
        Box::pin(async move {
            let mut cached = self.cached.lock().await;
            if let Some(c) = cached.as_ref() {
                if !refresh && c.expires > Instant::now() {
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
    fn instance_urls_only_on_salesforce_domains_or_the_login_host() {
        let login = "https://login.salesforce.com";
        assert_eq!(
            instance_url_allowed("https://acme.my.salesforce.com", login).unwrap(),
            "https://acme.my.salesforce.com"
        );
        assert!(instance_url_allowed("https://acme--uat.sandbox.my.salesforce.com/", login).is_ok());
        assert!(
            instance_url_allowed("http://acme.my.salesforce.com", login).is_err(),
            "plain http"
        );
        assert!(instance_url_allowed("https://evil.example", login).is_err());
        assert!(instance_url_allowed("https://salesforce.com.evil.example", login).is_err());
        assert!(instance_url_allowed("https://evilsalesforce.com", login).is_err());
        assert!(instance_url_allowed("http://127.0.0.1:9001", "http://127.0.0.1:9000").is_ok());
        assert!(instance_url_allowed("https://acme.my.salesforce.com/x?y", login).is_err());
    }

    #[test]
    fn identity_url_names_org_and_user() {
        assert_eq!(
            identity_ids(Some(
                "https://login.salesforce.com/id/00D5g000004XyZaEAK/0055g00000AbCdEAAV"
            )),
            (Some("00D5g000004XyZaEAK".into()), Some("0055g00000AbCdEAAV".into()))
        );
        assert_eq!(identity_ids(Some("nonsense")), (None, None));
    }

    #[test]
    fn jwt_shaped_tokens_are_told_from_opaque_ones() {
        assert!(!is_jwt_shaped("00D5g000004XyZa!AQ4AQFakeAccessTokenValue.j1o2p3"));
        assert!(is_jwt_shaped("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"));
    }

    #[test]
    fn keys_that_are_not_usable_are_named_not_quoted() {
        let e = private_key("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIsecret\n-----END ENCRYPTED PRIVATE KEY-----")
            .unwrap_err();
        assert!(e.contains("encrypted") && !e.contains("MIIsecret"), "{e}");
        let e = private_key("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----").unwrap_err();
        assert!(e.contains("PKCS#8") && !e.contains("AAAA"), "{e}");
        assert!(private_key("hello").is_err());
    }
}
