//! Token acquisition and refresh on top of the `oauth2` crate.
//!
//! A [`TokenSource`] hands the [`crate::http::ApiClient`] a bearer token, caches it until
//! shortly before expiry, and refreshes (refresh-token grant first, full grant if that fails)
//! when asked. Secrets live in `oauth2`'s redacting wrappers, so `Debug` never prints them.

use crate::http::redact_secrets;
use futures::future::BoxFuture;
use oauth2::basic::{BasicClient, BasicRequestTokenError};
use oauth2::{
    AuthType, ClientId, ClientSecret, RefreshToken, ResourceOwnerPassword, ResourceOwnerUsername, TokenResponse,
    TokenUrl,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The token endpoint refused the credentials (bad secret, locked user, disabled grant).
    #[error("the token endpoint refused the credentials: {0}")]
    Rejected(String),
    #[error("could not reach the token endpoint: {0}")]
    Unreachable(String),
    #[error("bad OAuth configuration: {0}")]
    Config(String),
}

/// Something that yields bearer tokens.
pub trait TokenSource: Send + Sync {
    /// A valid access token; `refresh` forces a new one (after a 401).
    fn token(&self, refresh: bool) -> BoxFuture<'_, Result<String, AuthError>>;
}

/// The OAuth grant a connection uses.
#[derive(Debug, Clone)]
pub enum Grant {
    ClientCredentials {
        scope: Option<String>,
    },
    Password {
        username: String,
        password: ResourceOwnerPassword,
    },
    /// A refresh token from an authorization code grant (an admin signed in at the vendor),
    /// held in a slot that token sources of one connection share: a vendor that rotates it
    /// (Entra does, with every use) gets the newest one from each of them, and the collector
    /// hands the rotated one to the store. `scope` asks for a token of one resource (Entra's
    /// refresh tokens serve several).
    RefreshToken {
        slot: RefreshSlot,
        scope: Option<String>,
    },
}

/// The refresh token a connection's token sources share, and whether the vendor rotated it.
#[derive(Clone)]
pub struct RefreshSlot(Arc<RefreshState>);

struct RefreshState {
    current: std::sync::Mutex<(RefreshToken, bool)>,
    /// One exchange at a time: a rotating vendor refuses the old token once it issued a new one.
    exchange: Mutex<()>,
}

impl std::fmt::Debug for RefreshSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshSlot(<redacted>)")
    }
}

impl RefreshSlot {
    pub fn new(refresh_token: &str) -> Self {
        RefreshSlot(Arc::new(RefreshState {
            current: std::sync::Mutex::new((RefreshToken::new(refresh_token.to_string()), false)),
            exchange: Mutex::new(()),
        }))
    }

    fn current(&self) -> RefreshToken {
        self.0.current.lock().unwrap_or_else(|e| e.into_inner()).0.clone()
    }

    fn replace(&self, token: &RefreshToken) {
        let mut current = self.0.current.lock().unwrap_or_else(|e| e.into_inner());
        if current.0.secret() != token.secret() {
            *current = (token.clone(), true);
        }
    }

    /// The refresh token to send now (for vendors whose token request is built by hand).
    pub fn current_secret(&self) -> String {
        self.current().secret().clone()
    }

    /// Keeps a refresh token the vendor issued in place of the one sent.
    pub fn replace_secret(&self, token: &str) {
        self.replace(&RefreshToken::new(token.to_string()));
    }

    /// The refresh token the vendor issued in place of the stored one, if it did.
    pub fn rotated(&self) -> Option<String> {
        let current = self.0.current.lock().unwrap_or_else(|e| e.into_inner());
        current.1.then(|| current.0.secret().clone())
    }
}

struct Cached {
    access: String,
    refresh: Option<RefreshToken>,
    expires: Instant,
}

/// OAuth 2.0 token source for form-encoded token endpoints (client id and secret in the body).
pub struct OAuthTokenSource {
    client_id: ClientId,
    client_secret: ClientSecret,
    token_url: TokenUrl,
    grant: Grant,
    http: reqwest::Client,
    cached: Mutex<Option<Cached>>,
    /// Token requests made, for the scan record.
    pub token_requests: Arc<AtomicU64>,
}

impl OAuthTokenSource {
    pub fn new(token_url: &str, client_id: &str, client_secret: ClientSecret, grant: Grant) -> Result<Self, AuthError> {
        let http = reqwest::Client::builder()
            // Following redirects from a token endpoint is an SSRF risk (oauth2 crate docs).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| AuthError::Config(e.to_string()))?;
        Ok(OAuthTokenSource {
            client_id: ClientId::new(client_id.to_string()),
            client_secret,
            token_url: TokenUrl::new(token_url.to_string())
                .map_err(|e| AuthError::Config(format!("token URL {token_url}: {e}")))?,
            grant,
            http,
            cached: Mutex::new(None),
            token_requests: Arc::new(AtomicU64::new(0)),
        })
    }

    fn client(
        &self,
    ) -> oauth2::Client<
        oauth2::basic::BasicErrorResponse,
        oauth2::basic::BasicTokenResponse,
        oauth2::basic::BasicTokenIntrospectionResponse,
        oauth2::StandardRevocableToken,
        oauth2::basic::BasicRevocationErrorResponse,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
    > {
        BasicClient::new(self.client_id.clone())
            .set_client_secret(self.client_secret.clone())
            .set_token_uri(self.token_url.clone())
            .set_auth_type(AuthType::RequestBody)
    }

    async fn fetch(&self, refresh: Option<&RefreshToken>) -> Result<Cached, AuthError> {
        self.token_requests.fetch_add(1, Ordering::Relaxed);
        let client = self.client();
        let response = match (refresh, &self.grant) {
            (Some(rt), _) => client.exchange_refresh_token(rt).request_async(&self.http).await,
            (None, Grant::ClientCredentials { scope }) => {
                let mut request = client.exchange_client_credentials();
                if let Some(scope) = scope {
                    request = request.add_scope(oauth2::Scope::new(scope.clone()));
                }
                request.request_async(&self.http).await
            }
            (None, Grant::RefreshToken { slot, scope }) => {
                let _one_at_a_time = slot.0.exchange.lock().await;
                let refresh_token = slot.current();
                let mut request = client.exchange_refresh_token(&refresh_token);
                for scope in scope.iter().flat_map(|s| s.split_whitespace()) {
                    request = request.add_scope(oauth2::Scope::new(scope.to_string()));
                }
                let answer = request.request_async(&self.http).await;
                if let Some(rotated) = answer.as_ref().ok().and_then(|r| r.refresh_token()) {
                    slot.replace(rotated);
                }
                answer
            }
            (None, Grant::Password { username, password }) => {
                let username = ResourceOwnerUsername::new(username.clone());
                client
                    .exchange_password(&username, password)
                    .request_async(&self.http)
                    .await
            }
        }
        .map_err(describe)?;
        // An absurd `expires_in` (u64::MAX) must not overflow the clock: a day at most, and
        // the token is renewed on a 401 anyway.
        let lifetime = response
            .expires_in()
            .unwrap_or(Duration::from_secs(1800))
            .min(MAX_TOKEN_LIFETIME);
        let now = Instant::now();
        Ok(Cached {
            access: response.access_token().secret().clone(),
            // A refresh answer may omit the refresh token: keep the one we had.
            refresh: response.refresh_token().cloned().or_else(|| refresh.cloned()),
            expires: now.checked_add(lifetime).unwrap_or(now),
        })
    }
}

/// The browser half of an authorization code grant with PKCE (S256): where to send the admin,
/// and the verifier to keep (server side) until the vendor sends them back with a code.
pub fn authorization_request(
    authorize_url: &str,
    client_id: &str,
    redirect_uri: &str,
    state: &str,
    scopes: &[String],
) -> Result<(String, String), AuthError> {
    let (challenge, verifier) = oauth2::PkceCodeChallenge::new_random_sha256();
    let client = BasicClient::new(ClientId::new(client_id.to_string()))
        .set_auth_uri(
            oauth2::AuthUrl::new(authorize_url.to_string())
                .map_err(|e| AuthError::Config(format!("authorize URL {authorize_url}: {e}")))?,
        )
        .set_redirect_uri(
            oauth2::RedirectUrl::new(redirect_uri.to_string())
                .map_err(|e| AuthError::Config(format!("redirect URI {redirect_uri}: {e}")))?,
        );
    let state = state.to_string();
    let (url, _) = client
        .authorize_url(move || oauth2::CsrfToken::new(state))
        .add_scopes(scopes.iter().map(|s| oauth2::Scope::new(s.clone())))
        .set_pkce_challenge(challenge)
        .url();
    Ok((url.to_string(), verifier.secret().clone()))
}

/// The server half: trades the code (with the PKCE verifier and the exact redirect URI) for
/// tokens; returns the refresh token, which is what a connection keeps.
pub async fn exchange_authorization_code(
    token_url: &str,
    client_id: &str,
    client_secret: &str,
    redirect_uri: &str,
    code: &str,
    verifier: &str,
) -> Result<String, AuthError> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| AuthError::Config(e.to_string()))?;
    let client = BasicClient::new(ClientId::new(client_id.to_string()))
        .set_client_secret(ClientSecret::new(client_secret.to_string()))
        .set_token_uri(
            TokenUrl::new(token_url.to_string())
                .map_err(|e| AuthError::Config(format!("token URL {token_url}: {e}")))?,
        )
        .set_redirect_uri(
            oauth2::RedirectUrl::new(redirect_uri.to_string())
                .map_err(|e| AuthError::Config(format!("redirect URI {redirect_uri}: {e}")))?,
        )
        .set_auth_type(AuthType::RequestBody);
    let response = client
        .exchange_code(oauth2::AuthorizationCode::new(code.to_string()))
        .set_pkce_verifier(oauth2::PkceCodeVerifier::new(verifier.to_string()))
        .request_async(&http)
        .await
        .map_err(describe)?;
    response.refresh_token().map(|t| t.secret().clone()).ok_or_else(|| {
        AuthError::Rejected("the vendor issued no refresh token (is the refresh token lifespan 0?)".into())
    })
}

/// The longest a token is cached, whatever the endpoint says.
const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// A token endpoint's failure in words. The endpoint's answer body is never echoed: an answer
/// that does not parse may still hold a live token (ServiceNow's starts with it).
fn describe(error: BasicRequestTokenError<oauth2::HttpClientError<reqwest::Error>>) -> AuthError {
    let short = |text: &str| -> String {
        redact_secrets(&text.chars().take(300).collect::<String>())
            .chars()
            .take(160)
            .collect()
    };
    match error {
        oauth2::RequestTokenError::ServerResponse(body) => {
            let detail = body
                .error_description()
                .cloned()
                .unwrap_or_else(|| body.error().to_string());
            AuthError::Rejected(format!("{} ({})", short(body.error().as_ref()), short(&detail)))
        }
        oauth2::RequestTokenError::Request(e) => AuthError::Unreachable(short(&e.to_string())),
        oauth2::RequestTokenError::Parse(e, body) => {
            let at = e.path().to_string();
            let at = if at.is_empty() || at == "." {
                String::new()
            } else {
                format!(" (at {})", short(&at))
            };
            AuthError::Rejected(format!(
                "the token endpoint's answer ({} bytes) is not a token response{at}; it is not shown because it may hold a token",
                body.len()
            ))
        }
        oauth2::RequestTokenError::Other(e) => AuthError::Rejected(short(&e)),
    }
}

impl TokenSource for OAuthTokenSource {
    fn token(&self, refresh: bool) -> BoxFuture<'_, Result<String, AuthError>> {
        Box::pin(async move {
            let mut cached = self.cached.lock().await;
            // Renew a little before expiry so a token never dies in flight.
            let margin = Duration::from_secs(5);
            if let Some(c) = cached.as_ref() {
                if !refresh && c.expires > Instant::now() + margin {
                    return Ok(c.access.clone());
                }
            }
            // A shared slot is the one place a signed-in grant's refresh token lives.
            let previous_refresh = match self.grant {
                Grant::RefreshToken { .. } => None,
                _ => cached.as_ref().and_then(|c| c.refresh.clone()),
            };
            let fresh = match previous_refresh {
                Some(rt) => match self.fetch(Some(&rt)).await {
                    Ok(t) => t,
                    // An expired or revoked refresh token: start over with the grant.
                    Err(AuthError::Rejected(_)) => self.fetch(None).await?,
                    Err(e) => return Err(e),
                },
                None => self.fetch(None).await?,
            };
            let access = fresh.access.clone();
            *cached = Some(fresh);
            Ok(access)
        })
    }
}
