//! Connecting an app by signing in at the vendor: an authorization code grant with PKCE whose
//! `state` is single-use, expires in ten minutes and is bound to the person, the tenant and
//! the vendor. What the callback needs (the verifier, the settings, the client secret) waits
//! sealed in the database, so any process sharing it can finish the connect.

use crate::access::token_hash;
use crate::{endpoints, Caller, NewConnection, Result, Role, Service, ServiceError, TenantScope};
use connectors::servicenow;
use std::collections::BTreeMap;
use store::SealContext;

/// How long a sign-in at the vendor may take.
const STATE_MINUTES: i64 = 10;

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
        )
        .map_err(|e| ServiceError::Invalid(e.to_string()))?;
        let hash = token_hash(&state);
        let sealed = self.rt.secrets.seal(
            &state_context(&hash, &scope.tenant.id),
            &BTreeMap::from([
                ("verifier".to_string(), verifier),
                ("instance_url".to_string(), instance_url.to_string()),
                ("client_id".to_string(), client_id.trim().to_string()),
                ("client_secret".to_string(), client_secret.to_string()),
                ("redirect_uri".to_string(), redirect_uri.to_string()),
            ]),
        );
        let expires = (chrono::Utc::now() + chrono::Duration::minutes(STATE_MINUTES))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        self.store()
            .add_oauth_state(
                &hash,
                user_id,
                &scope.tenant.id,
                servicenow::PROVIDER,
                &sealed,
                &expires,
            )
            .await?;
        Ok(url)
    }

    /// The vendor sent the admin back with `code` and `state`: checks the state (known, unused,
    /// unexpired, this person's), trades the code for a refresh token and stores the
    /// connection (verified like any other). Returns the tenant's slug and the connection id.
    pub async fn finish_sign_in(&self, caller: &Caller, state: &str, code: &str) -> Result<(String, String)> {
        let refused =
            || ServiceError::Invalid("this sign-in is unknown, used or expired: start the connect again".into());
        let Caller::User { id: user_id, .. } = caller else {
            return Err(refused());
        };
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
}
