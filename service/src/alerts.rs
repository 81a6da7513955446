//! Alert channels as callers manage them: a Slack incoming webhook or a generic webhook signed
//! with HMAC-SHA256, each with a minimum severity and a mode (immediate, or a digest on a cron).
//! The URL is a secret: sealed, never shown again, never returned. Tenant admins may name only
//! `https://hooks.slack.com/` for Slack (and public https for webhooks); the operator's CLI may
//! also name a loopback URL, which is how the demo and the tests reach the simulator.

use crate::{endpoints, EndpointPolicy, Result, Role, Service, ServiceError, TenantScope};
use jobs::alerts::deliver::{self, seal_context};
use std::collections::BTreeMap;

/// The kinds of channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    Slack,
    Webhook,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Slack => "slack",
            ChannelKind::Webhook => "webhook",
        }
    }
}

/// A channel to add.
#[derive(Debug, Clone)]
pub struct NewAlertChannel {
    pub kind: ChannelKind,
    pub url: String,
    pub name: Option<String>,
    /// `info`, `low`, `medium`, `high` (the default) or `critical`.
    pub min_severity: String,
    /// `immediate` (the default) or `digest`.
    pub mode: String,
    pub digest_cron: Option<String>,
    pub timezone: String,
    /// The service's public URL, for links to findings.
    pub link_base: Option<String>,
}

/// A channel as callers see it (never its URL).
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct AlertChannelView {
    pub id: String,
    pub tenant: String,
    pub kind: String,
    pub name: String,
    pub min_severity: String,
    pub mode: String,
    pub digest_cron: Option<String>,
    pub timezone: String,
    pub next_digest_at: Option<String>,
    /// `active` or `broken`.
    pub status: String,
    /// Why it is broken (what the receiver answered), until a test goes through.
    pub broken_reason: Option<String>,
    pub last_sent_at: Option<String>,
    pub sent: i64,
    /// Messages waiting (for the next attempt, or for a broken channel to be fixed).
    pub pending: u64,
    /// Messages refused for good (with the reason in the log).
    pub failed: u64,
}

/// What `add_alert_channel` returns: the channel, and for a webhook its signing key (shown
/// this once).
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct AddedChannel {
    pub channel: AlertChannelView,
    pub signing_key: Option<String>,
}

const SEVERITIES: [&str; 5] = ["info", "low", "medium", "high", "critical"];

fn check_url(kind: ChannelKind, url: &str, policy: EndpointPolicy) -> std::result::Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|_| "the webhook URL is not a URL".to_string())?;
    let loopback = matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if policy == EndpointPolicy::AllowTestEndpoints && loopback {
        return Ok(());
    }
    match kind {
        ChannelKind::Slack if url.starts_with("https://hooks.slack.com/") => Ok(()),
        ChannelKind::Slack => Err("a Slack webhook URL starts with https://hooks.slack.com/".into()),
        ChannelKind::Webhook => {
            endpoints::check(url, policy).map_err(|_| "the webhook URL must be https on a public address".to_string())
        }
    }
}

fn view(slug: &str, c: store::entities::alert_channel::Model, counts: &BTreeMap<String, u64>) -> AlertChannelView {
    AlertChannelView {
        id: c.id,
        tenant: slug.to_string(),
        kind: c.kind,
        name: c.name,
        min_severity: c.min_severity,
        mode: c.mode,
        digest_cron: c.digest_cron,
        timezone: c.timezone,
        next_digest_at: c.next_digest_at,
        status: c.status,
        broken_reason: c.broken_reason,
        last_sent_at: c.last_sent_at,
        sent: c.sent_count,
        pending: counts.get("pending").copied().unwrap_or(0) + counts.get("queued").copied().unwrap_or(0),
        failed: counts.get("failed").copied().unwrap_or(0),
    }
}

impl Service {
    /// Adds a channel; its URL is sealed and never shown again.
    pub async fn add_alert_channel(&self, scope: &TenantScope, new: NewAlertChannel) -> Result<AddedChannel> {
        scope.require(Role::Admin)?;
        check_url(new.kind, new.url.trim(), self.config.endpoints).map_err(ServiceError::Invalid)?;
        let min = new.min_severity.trim().to_ascii_lowercase();
        if !SEVERITIES.contains(&min.as_str()) {
            return Err(ServiceError::Invalid(format!(
                "minimum severity {min:?} is not one of info, low, medium, high, critical"
            )));
        }
        let next_digest_at = match (new.mode.as_str(), &new.digest_cron) {
            ("immediate", None) => None,
            ("immediate", Some(_)) => {
                return Err(ServiceError::Invalid("a digest cron needs --mode digest".into()));
            }
            ("digest", Some(cron)) => Some(
                crate::schedules::next_due(cron, &new.timezone, chrono::Utc::now())
                    .map_err(ServiceError::Invalid)?
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            ),
            ("digest", None) => {
                return Err(ServiceError::Invalid(
                    "a digest needs its cron, e.g. --digest-cron \"0 8 * * MON-FRI\"".into(),
                ));
            }
            (other, _) => {
                return Err(ServiceError::Invalid(format!(
                    "mode {other:?} is not immediate or digest"
                )))
            }
        };
        let id = store::new_id();
        let mut secrets = BTreeMap::from([("url".to_string(), new.url.trim().to_string())]);
        let signing_key = (new.kind == ChannelKind::Webhook).then(crate::new_form_token);
        if let Some(key) = &signing_key {
            secrets.insert("signing_key".into(), key.clone());
        }
        let sealed = self
            .rt
            .secrets
            .seal(&seal_context(&id, &scope.tenant.id, new.kind.as_str()), &secrets);
        let name = new.name.unwrap_or_else(|| format!("{} alerts", new.kind.as_str()));
        let row = self
            .store()
            .add_alert_channel(
                &scope.tenant.id,
                store::NewChannel {
                    id,
                    kind: new.kind.as_str().into(),
                    name: name.chars().take(80).collect(),
                    min_severity: min,
                    mode: new.mode,
                    digest_cron: new.digest_cron,
                    timezone: new.timezone,
                    next_digest_at,
                    sealed_secret: sealed,
                    link_base: new.link_base,
                },
            )
            .await?;
        self.record(scope, "alert.add", &format!("{} {} ({})", row.kind, row.id, row.name))
            .await?;
        Ok(AddedChannel {
            channel: view(&scope.tenant.slug, row, &BTreeMap::new()),
            signing_key,
        })
    }

    pub async fn alert_channels(&self, scope: &TenantScope) -> Result<Vec<AlertChannelView>> {
        let mut out = Vec::new();
        for c in self.store().alert_channels(Some(&scope.tenant.id)).await? {
            let counts = self.store().alert_counts(&c.id).await?;
            out.push(view(&scope.tenant.slug, c, &counts));
        }
        Ok(out)
    }

    pub async fn remove_alert_channel(&self, scope: &TenantScope, id: &str) -> Result<()> {
        scope.require(Role::Admin)?;
        if !self.store().remove_alert_channel(&scope.tenant.id, id).await? {
            return Err(ServiceError::NotFound(format!("no alert channel {id:?}")));
        }
        self.record(scope, "alert.remove", id).await
    }

    /// Queues a test message to the channel (and lets a broken channel try again). Returns
    /// the message's id.
    pub async fn test_alert_channel(&self, scope: &TenantScope, id: &str) -> Result<String> {
        scope.require(Role::Admin)?;
        let channel = self
            .store()
            .alert_channel(&scope.tenant.id, id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("no alert channel {id:?}")))?;
        let item = jobs::alerts::message::AlertItem {
            kind: "risk_change".into(),
            severity: None,
            title: "Test message".into(),
            rule_id: None,
            resource: format!("alert channel {}", channel.name),
            provider: "aispm".into(),
            path: None,
            fingerprint: None,
            why: Some("If you can read this, aispm's alerts reach this channel.".into()),
        };
        let message_id = store::new_id();
        let payload = jobs::alerts::render(&channel, &scope.tenant.slug, "test message", &[item], &message_id);
        self.store().channel_active(&channel.id).await?;
        let row = self
            .store()
            .queue_alert(
                &scope.tenant.id,
                &store::PlannedAlert {
                    channel_id: channel.id.clone(),
                    kind: "test".into(),
                    payload,
                },
            )
            .await?;
        self.record(scope, "alert.test", id).await?;
        Ok(row)
    }

    /// Runs the sender here until no message is waiting on a working channel (or `timeout`
    /// passes). Returns how many were delivered. (`serve` and `worker` run it all along.)
    pub async fn deliver_alerts(&self, timeout: std::time::Duration) -> Result<usize> {
        let client = deliver::client();
        let started = std::time::Instant::now();
        let mut delivered = 0;
        loop {
            delivered += deliver::deliver_due(&self.rt, &client)
                .await
                .map_err(|e| ServiceError::Other(e.to_string()))?;
            if !self.store().alerts_waiting().await? || started.elapsed() > timeout {
                return Ok(delivered);
            }
            tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        }
    }

    /// Runs the sender here until message `row_id` is delivered or refused, or `timeout`
    /// passes. Returns what happened, in words.
    pub async fn deliver_now(
        &self,
        row_id: &str,
        timeout: std::time::Duration,
    ) -> Result<std::result::Result<String, String>> {
        let client = deliver::client();
        let started = std::time::Instant::now();
        loop {
            deliver::deliver_due(&self.rt, &client)
                .await
                .map_err(|e| ServiceError::Other(e.to_string()))?;
            let Some(row) = self.store().alert_row(row_id).await? else {
                return Ok(Err("the message is gone (its channel was removed)".into()));
            };
            match row.status.as_str() {
                "delivered" => return Ok(Ok("delivered".into())),
                "failed" => return Ok(Err(row.last_error.unwrap_or_default())),
                _ => {}
            }
            let channel = self.store().alert_channels(Some(&row.tenant_id)).await?;
            if let Some(c) = channel.iter().find(|c| c.id == row.channel_id && c.status == "broken") {
                return Ok(Err(c
                    .broken_reason
                    .clone()
                    .unwrap_or_else(|| "the channel is broken".into())));
            }
            if started.elapsed() > timeout {
                return Ok(Err(format!(
                    "not delivered within {} s: {}",
                    timeout.as_secs(),
                    row.last_error.unwrap_or_else(|| "waiting".into())
                )));
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
}
