//! The alert sender: delivers due outbox rows, one message at a time per channel and at most
//! one a second per webhook, honours 429 `Retry-After`, retries 5xx and network errors with
//! backoff, and stops on answers that mean the webhook is gone (Slack's `no_service`,
//! `channel_not_found`, `invalid_token`, 410), marking the channel broken with the reason and
//! keeping its messages for when it is fixed. A row is marked delivered after the 2xx; a row
//! marked delivered is never sent again.

use crate::work::{Runtime, WorkError};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use std::time::Duration;
use store::entities::{alert_channel, alert_outbox};
use store::{AttemptResult, SealContext};

/// The least time between two messages to one webhook (Slack allows one a second).
pub const PACE: Duration = Duration::from_millis(1100);
/// How long a claim holds a row while it is being sent.
const CLAIM: Duration = Duration::from_secs(60);
/// Failed attempts (5xx, network) before a message is given up on.
const MAX_ATTEMPTS: i32 = 100;
/// The longest wait a `Retry-After` may ask for.
const MAX_RETRY_AFTER: u64 = 3600;

/// What seals a channel's URL (and a webhook's signing key): bound to the channel and tenant.
pub fn seal_context(channel_id: &str, tenant_id: &str, kind: &str) -> SealContext {
    SealContext::new(channel_id, tenant_id, &format!("alert-{kind}"), &serde_json::json!({}))
}

/// The HTTP client alerts use: short timeouts, no redirects (a webhook that redirects is not
/// followed anywhere).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`, the generic webhook's signature.
pub fn signature(key: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// What an answer means for the message and the channel.
pub fn classify(
    kind: &str,
    status: u16,
    body: &str,
    retry_after: Option<&str>,
    attempts: i32,
    now: DateTime<Utc>,
) -> AttemptResult {
    let word = body.trim().chars().take(80).collect::<String>();
    let backoff = |attempts: i32| {
        let secs = 2u64.saturating_pow(attempts.clamp(0, 10) as u32).min(600);
        rfc3339(now + chrono::Duration::seconds(secs as i64))
    };
    match status {
        200..=299 => AttemptResult::Delivered,
        429 => {
            let wait = retry_after
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(1)
                .clamp(1, MAX_RETRY_AFTER);
            AttemptResult::Retry {
                at: rfc3339(now + chrono::Duration::seconds(wait as i64)),
                error: format!("throttled (429), retrying after {wait} s"),
                counts: false,
            }
        }
        404 | 410 | 401 | 403 => AttemptResult::ChannelBroken {
            reason: if kind == "slack" {
                format!("Slack answered {status} {word}: the webhook was removed, disabled or its channel archived; add a new webhook and test it")
            } else {
                format!("the webhook answered {status} {word}: fix the endpoint, then `aispm alert test`")
            },
        },
        500..=599 | 408 if attempts + 1 < MAX_ATTEMPTS => AttemptResult::Retry {
            at: backoff(attempts),
            error: format!("answered {status} {word}"),
            counts: true,
        },
        500..=599 | 408 => AttemptResult::Failed {
            error: format!("gave up after {MAX_ATTEMPTS} attempts: {status} {word}"),
        },
        _ => AttemptResult::Failed {
            error: format!("refused with {status} {word}"),
        },
    }
}

/// One attempt at one claimed row.
async fn attempt(
    rt: &Runtime,
    client: &reqwest::Client,
    channel: &alert_channel::Model,
    row: &alert_outbox::Model,
) -> AttemptResult {
    let context = seal_context(&channel.id, &channel.tenant_id, &channel.kind);
    let secrets = match rt.secrets.open(&context, &channel.secret) {
        Ok(s) => s,
        Err(_) => {
            return AttemptResult::ChannelBroken {
                reason: "this worker's master key cannot open the channel's webhook URL".into(),
            }
        }
    };
    let Some(url) = secrets.get("url") else {
        return AttemptResult::ChannelBroken {
            reason: "the channel has no webhook URL".into(),
        };
    };
    let body = row.payload.as_bytes().to_vec();
    let mut request = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json");
    if channel.kind == "webhook" {
        let ts = Utc::now().timestamp();
        let key = secrets.get("signing_key").cloned().unwrap_or_default();
        request = request
            .header("X-Aispm-Timestamp", ts.to_string())
            .header("X-Aispm-Signature", signature(key.as_bytes(), ts, &body))
            .header("X-Aispm-Message", &row.id);
    }
    let now = Utc::now();
    match request.body(body).send().await {
        Ok(answer) => {
            let status = answer.status().as_u16();
            let retry_after = answer
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            // At most a few KiB of an answer is read: it is only ever an error word.
            let mut text = String::new();
            let mut answer = answer;
            while let Ok(Some(chunk)) = answer.chunk().await {
                text.push_str(&String::from_utf8_lossy(&chunk));
                if text.len() > 4096 {
                    break;
                }
            }
            classify(&channel.kind, status, &text, retry_after.as_deref(), row.attempts, now)
        }
        Err(e) => {
            let what = if e.is_timeout() {
                "timed out".to_string()
            } else if e.is_connect() {
                "could not connect".to_string()
            } else {
                "the request failed".to_string()
            };
            // The URL is a secret: never in the error.
            classify(&channel.kind, 503, &what, None, row.attempts, now)
        }
    }
}

/// Delivers what is due now, one row per channel, pacing each webhook. Returns how many
/// messages were delivered.
pub async fn deliver_due(rt: &Runtime, client: &reqwest::Client) -> Result<usize, WorkError> {
    let now = Utc::now();
    let now_text = rfc3339(now);
    let mut delivered = 0;
    let channels = rt.store.alert_channels(None).await?;
    for channel in channels.iter().filter(|c| c.mode == "digest") {
        if let (Some(due), Some(cron)) = (&channel.next_digest_at, &channel.digest_cron) {
            if due.as_str() <= now_text.as_str() {
                bundle_digest(rt, channel, due, cron, now).await?;
            }
        }
    }
    let rows = rt.store.due_alerts(&now_text, 50).await?;
    if rows.is_empty() {
        return Ok(0);
    }
    for row in rows {
        let Some(channel) = channels.iter().find(|c| c.id == row.channel_id) else {
            continue;
        };
        let paced = channel
            .last_sent_at
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .is_some_and(|t| now.signed_duration_since(t).to_std().unwrap_or_default() < PACE);
        if paced {
            continue;
        }
        let until = rfc3339(now + chrono::Duration::from_std(CLAIM).unwrap_or_default());
        let Some(claim) = rt.store.claim_alert(&row, &now_text, &until).await? else {
            continue; // another sender has it
        };
        let result = attempt(rt, client, channel, &row).await;
        if let AttemptResult::ChannelBroken { reason } = &result {
            tracing::warn!(channel = %channel.id, "alert channel broken: {reason}");
        }
        if result == AttemptResult::Delivered {
            delivered += 1;
        }
        rt.store.finish_alert(&row, &claim, &result).await?;
    }
    Ok(delivered)
}

/// Bundles what a digest channel collected since its last digest into one message. A finding
/// listed more than once (opened, then resolved) is reported in its last state.
async fn bundle_digest(
    rt: &Runtime,
    channel: &alert_channel::Model,
    due: &str,
    cron: &str,
    now: DateTime<Utc>,
) -> Result<(), WorkError> {
    let next = crate::cron::next_due(cron, &channel.timezone, now)
        .map(rfc3339)
        .unwrap_or_else(|_| rfc3339(now + chrono::Duration::days(3650)));
    let tenant = rt.store.tenant_slug(&channel.tenant_id).await?;
    rt.store
        .bundle_digest(channel, due, &next, |values| {
            let mut items: Vec<super::message::AlertItem> = Vec::new();
            for item in values
                .into_iter()
                .filter_map(|v| serde_json::from_value::<super::message::AlertItem>(v).ok())
            {
                if let Some(print) = &item.fingerprint {
                    items.retain(|i| i.fingerprint.as_ref() != Some(print));
                }
                items.push(item);
            }
            if items.is_empty() {
                return None;
            }
            let heading = format!("digest: {}", super::message::summary(&items));
            Some(super::render(channel, &tenant, &heading, &items, &store::new_id()))
        })
        .await?;
    Ok(())
}

/// Runs the sender every `tick` until `stop` resolves.
pub async fn run_sender(rt: std::sync::Arc<Runtime>, tick: Duration, stop: impl std::future::Future<Output = ()>) {
    let client = client();
    tokio::pin!(stop);
    loop {
        if let Err(e) = deliver_due(&rt, &client).await {
            tracing::warn!("alert sender: {e}");
        }
        tokio::select! {
            _ = &mut stop => return,
            _ = tokio::time::sleep(tick) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_decide_between_delivered_retry_broken_and_failed() {
        let now = Utc::now();
        assert_eq!(classify("slack", 200, "ok", None, 0, now), AttemptResult::Delivered);
        match classify("slack", 429, "rate_limited", Some("7"), 3, now) {
            AttemptResult::Retry { at, counts, .. } => {
                assert!(!counts, "throttling is not a failure");
                let at = DateTime::parse_from_rfc3339(&at).unwrap();
                let ms = at.signed_duration_since(now).num_milliseconds();
                assert!((6_990..=7_000).contains(&ms), "{ms}");
            }
            other => panic!("{other:?}"),
        }
        match classify("slack", 429, "", Some("99999999999"), 0, now) {
            AttemptResult::Retry { at, .. } => {
                let at = DateTime::parse_from_rfc3339(&at).unwrap();
                let ms = at.signed_duration_since(now).num_milliseconds();
                assert!((3_599_990..=3_600_000).contains(&ms), "capped: {ms}");
            }
            other => panic!("{other:?}"),
        }
        for (status, word) in [
            (404, "no_service"),
            (404, "channel_not_found"),
            (410, "channel_is_archived"),
            (403, "invalid_token"),
        ] {
            match classify("slack", status, word, None, 0, now) {
                AttemptResult::ChannelBroken { reason } => assert!(reason.contains(word), "{reason}"),
                other => panic!("{status} {word}: {other:?}"),
            }
        }
        assert!(matches!(
            classify("slack", 503, "", None, 2, now),
            AttemptResult::Retry { counts: true, .. }
        ));
        assert!(matches!(
            classify("slack", 400, "invalid_blocks", None, 0, now),
            AttemptResult::Failed { .. }
        ));
    }

    #[test]
    fn the_signature_is_hmac_sha256_over_timestamp_and_body() {
        // Checked against Python's hmac module: HMAC-SHA256("Jefe", "0.what do ya want for nothing?").
        let sig = signature(b"Jefe", 0, b"what do ya want for nothing?");
        assert_eq!(
            sig,
            "v1=37f471929915ccd2cbbe79feb84ffcff4f2bb25e15fc41c2506687331ae179cc"
        );
        assert_ne!(
            sig,
            signature(b"Jefe", 1, b"what do ya want for nothing?"),
            "the timestamp is signed"
        );
    }
}
