//! Connecting an app by signing in at the vendor: an authorization code grant with PKCE whose
//! `state` is single-use, expires in ten minutes and is bound to the person, the tenant and
//! the vendor. What the callback needs (the verifier, the settings, the client secret) waits
//! sealed in the database, so any process sharing it can finish the connect.
//!
//! - ServiceNow: the admin's own Application Registry entry, then the instance's sign-in.
//! - Microsoft 365: the operator's multi-tenant app ([`M365App`]); a directory admin grants
//!   admin consent and the connection is made for the directory Entra names; later, optionally,
//!   a Copilot or Power Platform admin signs in (code + PKCE) and the delegated refresh token
//!   joins that connection's secrets.
//! - Salesforce: the admin's own connected app or external client app (consumer key, and its
//!   secret when the app requires one for the web server flow), then the org's sign-in as the
//!   integration user; the org's `instance_url` comes from the token answer.

use crate::access::token_hash;
use crate::{endpoints, Caller, NewConnection, Result, Role, Service, ServiceError, TenantScope};
use connectors::{m365, salesforce, servicenow};
use std::collections::BTreeMap;
use store::SealContext;

/// How long a sign-in at the vendor may take.
const STATE_MINUTES: i64 = 10;

/// The install's one multi-tenant Entra app, configured by the operator
/// (`AISPM_M365_CLIENT_ID`, and `AISPM_M365_CLIENT_SECRET` or `AISPM_M365_CLIENT_SECRET_FILE`;
/// `AISPM_M365_{LOGIN,GRAPH,BAP,POWERPLATFORM}_URL` for a sovereign cloud).
#[derive(Clone)]
pub struct M365App {
    pub client_id: String,
    pub client_secret: String,
    pub login_url: String,
    pub graph_url: String,
    pub bap_url: Option<String>,
    pub powerplatform_url: Option<String>,
}

impl std::fmt::Debug for M365App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("M365App")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("login_url", &self.login_url)
            .finish()
    }
}

impl M365App {
    /// The app from the environment; `None` when no client id is set.
    pub fn from_env() -> std::result::Result<Option<M365App>, String> {
        let var = |k: &str| {
            std::env::var(k)
                .ok()
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let Some(client_id) = var("AISPM_M365_CLIENT_ID") else {
            return Ok(None);
        };
        let client_secret = match (var("AISPM_M365_CLIENT_SECRET"), var("AISPM_M365_CLIENT_SECRET_FILE")) {
            (Some(s), None) => s,
            (None, Some(path)) => std::fs::read_to_string(&path)
                .map(|s| s.trim().to_string())
                .map_err(|e| format!("AISPM_M365_CLIENT_SECRET_FILE {path}: {e}"))?,
            (Some(_), Some(_)) => {
                return Err("set AISPM_M365_CLIENT_SECRET or AISPM_M365_CLIENT_SECRET_FILE, not both".into())
            }
            (None, None) => return Err(
                "AISPM_M365_CLIENT_ID is set but neither AISPM_M365_CLIENT_SECRET nor AISPM_M365_CLIENT_SECRET_FILE is"
                    .into(),
            ),
        };
        if client_secret.is_empty() {
            return Err("the Microsoft 365 app's client secret is empty".into());
        }
        let url = |k: &str, default: Option<&str>| -> std::result::Result<Option<String>, String> {
            match var(k).or(default.map(str::to_string)) {
                Some(u) => {
                    let u = u.trim_end_matches('/').to_string();
                    url::Url::parse(&u).map_err(|e| format!("{k} {u:?}: {e}"))?;
                    Ok(Some(u))
                }
                None => Ok(None),
            }
        };
        Ok(Some(M365App {
            client_id,
            client_secret,
            login_url: url("AISPM_M365_LOGIN_URL", Some(m365::DEFAULT_LOGIN_URL))?.expect("defaulted"),
            graph_url: url("AISPM_M365_GRAPH_URL", Some(m365::DEFAULT_GRAPH_URL))?.expect("defaulted"),
            bap_url: url("AISPM_M365_BAP_URL", None)?,
            powerplatform_url: url("AISPM_M365_POWERPLATFORM_URL", None)?,
        }))
    }

    /// The connection settings for one consenting directory.
    fn settings(&self, directory_id: &str) -> m365::Settings {
        let custom = |url: &str, default: &str| (url != default).then(|| url.to_string());
        m365::Settings {
            directory_id: directory_id.to_string(),
            client_id: self.client_id.clone(),
            login_url: custom(&self.login_url, m365::DEFAULT_LOGIN_URL),
            graph_url: custom(&self.graph_url, m365::DEFAULT_GRAPH_URL),
            bap_url: self.bap_url.clone(),
            powerplatform_url: self.powerplatform_url.clone(),
            ..Default::default()
        }
    }
}

/// What the vendor sent back to `/oauth/callback`.
#[derive(Debug, Default)]
pub struct Callback {
    pub state: String,
    /// An authorization code (sign-in flows).
    pub code: Option<String>,
    /// Entra's admin-consent answer: `admin_consent=True&tenant=<guid>`.
    pub admin_consent: Option<String>,
    pub tenant: Option<String>,
}

fn state_context(id_hash: &str, tenant_id: &str) -> SealContext {
    SealContext::new(id_hash, tenant_id, "oauth_state", &serde_json::json!({}))
}

impl Service {
    /// Starts connecting ServiceNow through the instance's own sign-in: returns the URL to send
    /// the admin to. `redirect_uri` is this server's `/oauth/callback`, which the Application
    /// Registry entry must list exactly.
    pub async fn begin_servicenow_sign_in(
        &self,
        scope: &TenantScope,
        caller: &Caller,
        instance_url: &str,
        client_id: &str,
        client_secret: &str,
        redirect_uri: &str,
    ) -> Result<String> {
        scope.require(Role::Admin)?;
        let Caller::User { id: user_id, .. } = caller else {
            return Err(ServiceError::Invalid(
                "signing in at the vendor needs a signed-in person".into(),
            ));
        };
        let instance_url = instance_url.trim().trim_end_matches('/');
        url::Url::parse(instance_url)
            .map_err(|e| ServiceError::Invalid(format!("instance URL {instance_url:?}: {e}")))?;
        endpoints::check(instance_url, self.config.endpoints)
            .map_err(|e| ServiceError::Invalid(format!("instance_url: {e}")))?;
        if client_id.trim().is_empty() || client_secret.is_empty() {
            return Err(ServiceError::Invalid(
                "the client id and secret of the Application Registry entry are needed".into(),
            ));
        }
        let state = crate::access::random_text(32);
        let (url, verifier) = connectors::auth::authorization_request(
            &servicenow::authorize_url(instance_url),
            client_id.trim(),
            redirect_uri,
            &state,
            &[],
        )
        .map_err(|e| ServiceError::Invalid(e.to_string()))?;
        self.keep_state(
            &state,
            user_id,
            scope,
            servicenow::PROVIDER,
            BTreeMap::from([
                ("verifier".to_string(), verifier),
                ("instance_url".to_string(), instance_url.to_string()),
                ("client_id".to_string(), client_id.trim().to_string()),
                ("client_secret".to_string(), client_secret.to_string()),
                ("redirect_uri".to_string(), redirect_uri.to_string()),
            ]),
        )
        .await?;
        Ok(url)
    }

    /// Starts connecting a Salesforce org through its own sign-in (web server flow with PKCE,
    /// reference §1.2): returns the URL to send the admin to. `login_url` is
    /// `https://login.salesforce.com`, `https://test.salesforce.com` or the org's My Domain;
    /// `redirect_uri` must be the app's callback URL exactly.
    pub async fn begin_salesforce_sign_in(
        &self,
        scope: &TenantScope,
        caller: &Caller,
        login_url: &str,
        client_id: &str,
        client_secret: &str,
        redirect_uri: &str,
    ) -> Result<String> {
        scope.require(Role::Admin)?;
        let user_id = signed_in_person(caller)?;
        let login_url = login_url.trim().trim_end_matches('/');
        let parsed =
            url::Url::parse(login_url).map_err(|e| ServiceError::Invalid(format!("login URL {login_url:?}: {e}")))?;
        if parsed.path() != "/" || parsed.query().is_some() {
            return Err(ServiceError::Invalid(format!(
                "login URL {login_url:?}: give the host only, e.g. https://login.salesforce.com"
            )));
        }
        endpoints::check(login_url, self.config.endpoints)
            .map_err(|e| ServiceError::Invalid(format!("login_url: {e}")))?;
        let client_id = client_id.trim();
        if client_id.is_empty() || client_id.len() > 256 {
            return Err(ServiceError::Invalid(
                "the consumer key of the connected app (or external client app) is needed".into(),
            ));
        }
        let state = crate::access::random_text(32);
        let (url, verifier) = connectors::auth::authorization_request(
            &salesforce::authorize_url(login_url),
            client_id,
            redirect_uri,
            &state,
            &salesforce::auth::SIGN_IN_SCOPES.map(String::from),
        )
        .map_err(|e| ServiceError::Invalid(e.to_string()))?;
        self.keep_state(
            &state,
            user_id,
            scope,
            salesforce::PROVIDER,
            BTreeMap::from([
                ("verifier".to_string(), verifier),
                ("login_url".to_string(), login_url.to_string()),
                ("client_id".to_string(), client_id.to_string()),
                ("client_secret".to_string(), client_secret.trim().to_string()),
                ("redirect_uri".to_string(), redirect_uri.to_string()),
            ]),
        )
        .await?;
        Ok(url)
    }

    /// Keeps what the callback will need, sealed, under the state's hash, for ten minutes.
    async fn keep_state(
        &self,
        state: &str,
        user_id: &str,
        scope: &TenantScope,
        provider: &str,
        values: BTreeMap<String, String>,
    ) -> Result<()> {
        let hash = token_hash(state);
        let sealed = self.rt.secrets.seal(&state_context(&hash, &scope.tenant.id), &values);
        let expires = (chrono::Utc::now() + chrono::Duration::minutes(STATE_MINUTES))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        self.store()
            .add_oauth_state(&hash, user_id, &scope.tenant.id, provider, &sealed, &expires)
            .await?;
        Ok(())
    }

    /// Whether the operator configured the Microsoft 365 app (browser connect for M365).
    pub fn m365_app(&self) -> Option<&M365App> {
        self.config.m365_app.as_ref()
    }

    /// Starts connecting a Microsoft 365 directory through admin consent to the operator's app:
    /// returns the URL to send the admin to.
    pub async fn begin_m365_admin_consent(
        &self,
        scope: &TenantScope,
        caller: &Caller,
        redirect_uri: &str,
    ) -> Result<String> {
        scope.require(Role::Admin)?;
        let user_id = signed_in_person(caller)?;
        let app = self.m365_app().ok_or_else(|| {
            ServiceError::Invalid(
                "Microsoft 365 browser connect is not set up: the operator sets AISPM_M365_CLIENT_ID and its secret"
                    .into(),
            )
        })?;
        let state = crate::access::random_text(32);
        let url = m365::admin_consent_url(&app.login_url, &app.client_id, &app.graph_url, redirect_uri, &state);
        self.keep_state(
            &state,
            user_id,
            scope,
            m365::PROVIDER,
            BTreeMap::from([("flow".to_string(), "admin_consent".to_string())]),
        )
        .await?;
        Ok(url)
    }

    /// Starts the optional delegated sign-in of a Copilot or Power Platform admin for one
    /// Microsoft 365 connection (code + PKCE at the connection's own directory).
    pub async fn begin_m365_admin_sign_in(
        &self,
        scope: &TenantScope,
        caller: &Caller,
        connection_id: &str,
        redirect_uri: &str,
    ) -> Result<String> {
        scope.require(Role::Admin)?;
        let user_id = signed_in_person(caller)?;
        let (settings, _) = self.m365_connection(scope, connection_id).await?;
        let login = settings.login_url.as_deref().unwrap_or(m365::DEFAULT_LOGIN_URL);
        let graph = settings.graph_url.as_deref().unwrap_or(m365::DEFAULT_GRAPH_URL);
        let state = crate::access::random_text(32);
        let (url, verifier) = connectors::auth::authorization_request(
            &m365::authorize_url(login, &settings.directory_id),
            &settings.client_id,
            redirect_uri,
            &state,
            &m365::delegated_scopes(graph),
        )
        .map_err(|e| ServiceError::Invalid(e.to_string()))?;
        self.keep_state(
            &state,
            user_id,
            scope,
            m365::PROVIDER,
            BTreeMap::from([
                ("flow".to_string(), "admin_sign_in".to_string()),
                ("connection_id".to_string(), connection_id.to_string()),
                ("verifier".to_string(), verifier),
                ("redirect_uri".to_string(), redirect_uri.to_string()),
            ]),
        )
        .await?;
        Ok(url)
    }

    /// A Microsoft 365 connection of this tenant: its settings and opened secrets.
    async fn m365_connection(
        &self,
        scope: &TenantScope,
        id: &str,
    ) -> Result<(m365::Settings, BTreeMap<String, String>)> {
        let not_found = || ServiceError::NotFound(format!("no Microsoft 365 connection {id:?}"));
        let conn = self
            .store()
            .connections(&scope.tenant.id)
            .await?
            .into_iter()
            .find(|c| c.id == id && c.provider == m365::PROVIDER)
            .ok_or_else(not_found)?;
        let spec = jobs::work::connection_spec(&self.rt, &conn).map_err(|e| ServiceError::Other(e.to_string()))?;
        let settings: m365::Settings =
            serde_json::from_value(spec.settings).map_err(|e| ServiceError::Other(format!("stored settings: {e}")))?;
        Ok((settings, spec.secrets))
    }

    /// Whether a Microsoft 365 connection holds a delegated admin sign-in (the pages say so).
    pub async fn has_admin_sign_in(&self, scope: &TenantScope, connection_id: &str) -> Result<bool> {
        let (_, secrets) = self.m365_connection(scope, connection_id).await?;
        Ok(secrets.contains_key(m365::DELEGATED_REFRESH_TOKEN))
    }

    /// The vendor sent the admin back with `code` and `state`: checks the state (known, unused,
    /// unexpired, this person's), trades the code for a refresh token and stores the
    /// connection (verified like any other). Returns the tenant's slug and the connection id.
    pub async fn finish_sign_in(&self, caller: &Caller, back: &Callback) -> Result<(String, String)> {
        let refused =
            || ServiceError::Invalid("this sign-in is unknown, used or expired: start the connect again".into());
        let Caller::User { id: user_id, .. } = caller else {
            return Err(refused());
        };
        let state = back.state.as_str();
        if state.is_empty() || state.len() > 100 {
            return Err(refused());
        }
        let hash = token_hash(state);
        let row = self.store().take_oauth_state(&hash).await?.ok_or_else(refused)?;
        if row.expires_at.as_str() <= store::now().as_str() || &row.user_id != user_id {
            return Err(refused());
        }
        let tenant = self.store().tenant_by_id(&row.tenant_id).await?.ok_or_else(refused)?;
        let scope = self.scope(caller, &tenant.slug).await?;
        let values = self.rt.secrets.open(&state_context(&hash, &tenant.id), &row.sealed)?;
        if row.provider == m365::PROVIDER {
            return self.finish_m365(&scope, back, &values).await;
        }
        if row.provider == salesforce::PROVIDER {
            return self.finish_salesforce(&scope, back, &values).await;
        }
        let code = back
            .code
            .as_deref()
            .filter(|c| !c.is_empty() && c.len() <= 4096)
            .ok_or_else(refused)?;
        let value = |k: &str| values.get(k).cloned().unwrap_or_default();
        let refresh_token = connectors::auth::exchange_authorization_code(
            &servicenow::token_url(&value("instance_url")),
            &value("client_id"),
            &value("client_secret"),
            &value("redirect_uri"),
            code,
            &value("verifier"),
        )
        .await
        .map_err(|e| ServiceError::Connect {
            label: format!("ServiceNow {}", value("instance_url")),
            reason: e.to_string(),
        })?;
        let settings = servicenow::Settings {
            instance_url: value("instance_url"),
            client_id: value("client_id"),
            username: None,
            max_rps: None,
            page_size: None,
            budget_share: None,
            max_wait_secs: None,
        }
        .to_value();
        let new = NewConnection {
            provider: servicenow::PROVIDER.into(),
            label: format!("ServiceNow {}", value("instance_url")),
            settings,
            secrets: BTreeMap::from([
                (servicenow::CLIENT_SECRET.to_string(), value("client_secret")),
                (servicenow::REFRESH_TOKEN.to_string(), refresh_token),
            ]),
        };
        let id = self.connect(&scope, new).await?;
        Ok((tenant.slug, id))
    }

    async fn finish_salesforce(
        &self,
        scope: &TenantScope,
        back: &Callback,
        values: &BTreeMap<String, String>,
    ) -> Result<(String, String)> {
        let code = back
            .code
            .as_deref()
            .filter(|c| !c.is_empty() && c.len() <= 4096)
            .ok_or_else(|| ServiceError::Invalid("Salesforce sent no authorization code".into()))?;
        let value = |k: &str| values.get(k).cloned().unwrap_or_default();
        let secret = value("client_secret");
        let signed_in = salesforce::auth::exchange_code(
            &value("login_url"),
            &value("client_id"),
            Some(secret.as_str()).filter(|s| !s.is_empty()),
            &value("redirect_uri"),
            code,
            &value("verifier"),
        )
        .await
        .map_err(|e| ServiceError::Connect {
            label: format!("Salesforce {}", value("login_url")),
            reason: e.to_string(),
        })?;
        let settings = salesforce::Settings {
            login_url: value("login_url"),
            client_id: value("client_id"),
            ..Default::default()
        };
        let mut secrets = BTreeMap::from([(salesforce::REFRESH_TOKEN.to_string(), signed_in.refresh_token)]);
        if !secret.is_empty() {
            secrets.insert(salesforce::CLIENT_SECRET.to_string(), secret);
        }
        let new = NewConnection {
            provider: salesforce::PROVIDER.into(),
            // The org the admin signed in to, which the login URL alone does not say.
            label: format!("Salesforce {}", signed_in.session.instance_url),
            settings: settings.to_value(),
            secrets,
        };
        let id = self.connect(scope, new).await?;
        Ok((scope.tenant.slug.clone(), id))
    }

    async fn finish_m365(
        &self,
        scope: &TenantScope,
        back: &Callback,
        values: &BTreeMap<String, String>,
    ) -> Result<(String, String)> {
        // The role is checked again: it may have changed while the person was at Microsoft.
        scope.require(Role::Admin)?;
        let value = |k: &str| values.get(k).cloned().unwrap_or_default();
        let slug = scope.tenant.slug.clone();
        match value("flow").as_str() {
            "admin_consent" => {
                let app = self
                    .m365_app()
                    .ok_or_else(|| ServiceError::Invalid("Microsoft 365 browser connect is no longer set up".into()))?;
                if !back
                    .admin_consent
                    .as_deref()
                    .is_some_and(|c| c.eq_ignore_ascii_case("true"))
                {
                    return Err(ServiceError::Invalid(
                        "Microsoft did not confirm the admin consent".into(),
                    ));
                }
                // The directory id becomes part of the token URL: a GUID and nothing else.
                let directory = back.tenant.as_deref().unwrap_or("").to_ascii_lowercase();
                if !m365::is_directory_id(&directory) {
                    return Err(ServiceError::Invalid(
                        "Microsoft's answer named no directory (tenant) id".into(),
                    ));
                }
                let new = NewConnection {
                    provider: m365::PROVIDER.into(),
                    label: format!("Microsoft 365 {directory}"),
                    settings: app.settings(&directory).to_value(),
                    secrets: BTreeMap::from([(m365::CLIENT_SECRET.to_string(), app.client_secret.clone())]),
                };
                let id = self.connect(scope, new).await?;
                Ok((slug, id))
            }
            "admin_sign_in" => {
                let code = back
                    .code
                    .as_deref()
                    .filter(|c| !c.is_empty() && c.len() <= 4096)
                    .ok_or_else(|| ServiceError::Invalid("Microsoft sent no authorization code".into()))?;
                let id = value("connection_id");
                let (settings, secrets) = self.m365_connection(scope, &id).await?;
                let login = settings.login_url.as_deref().unwrap_or(m365::DEFAULT_LOGIN_URL);
                let refresh_token = connectors::auth::exchange_authorization_code(
                    &m365::token_url(login, &settings.directory_id),
                    &settings.client_id,
                    secrets.get(m365::CLIENT_SECRET).map(String::as_str).unwrap_or(""),
                    &value("redirect_uri"),
                    code,
                    &value("verifier"),
                )
                .await
                .map_err(|e| ServiceError::Connect {
                    label: format!("Microsoft 365 {}", settings.directory_id),
                    reason: e.to_string(),
                })?;
                self.store()
                    .update_connection_secrets(
                        &id,
                        &self.rt.secrets,
                        &BTreeMap::from([(m365::DELEGATED_REFRESH_TOKEN.to_string(), refresh_token)]),
                    )
                    .await?;
                self.record(scope, "connection.admin_sign_in", &format!("m365 ({id})"))
                    .await?;
                Ok((slug, id))
            }
            _ => Err(ServiceError::Invalid(
                "this sign-in is unknown, used or expired: start the connect again".into(),
            )),
        }
    }
}

fn signed_in_person(caller: &Caller) -> Result<&str> {
    match caller {
        Caller::User { id, .. } => Ok(id),
        _ => Err(ServiceError::Invalid(
            "signing in at the vendor needs a signed-in person".into(),
        )),
    }
}
