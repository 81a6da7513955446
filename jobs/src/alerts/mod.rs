//! Alerts: which state changes an evaluation reports to which channel (`plan`), what the
//! message says (`message`), and the sender that delivers the outbox (`deliver`).
//!
//! Only state changes are sent: a finding at or above the channel's minimum severity that is
//! new or reopened, and risk changes; a finding that stays open is never sent again. Resolved
//! findings go into digests (once, in the next one). One evaluation's alerts to one channel are
//! one message.

pub mod deliver;
pub mod message;

use message::AlertItem;
use schemas::{Finding, FindingEvent, Severity};
use store::entities::alert_channel;
use store::{PlannedAlert, StoredChange};

fn severity_rank(s: &str) -> Severity {
    match s {
        "critical" => Severity::Critical,
        "high" => Severity::High,
        "medium" => Severity::Medium,
        "low" => Severity::Low,
        _ => Severity::Info,
    }
}

fn finding_item(kind: &str, f: &Finding) -> AlertItem {
    AlertItem {
        kind: kind.into(),
        severity: Some(f.severity.as_str().into()),
        title: f.title.clone(),
        rule_id: Some(f.rule_id.clone()),
        resource: f.resource.name.clone(),
        provider: f.resource.provider.clone(),
        path: f
            .path
            .as_ref()
            .map(|p| p.nodes.iter().map(|n| n.name.as_str()).collect::<Vec<_>>().join(" → ")),
        fingerprint: Some(f.fingerprint.clone()),
        why: None,
    }
}

/// The items an evaluation gives one channel, most severe first.
pub fn items_for(
    channel: &alert_channel::Model,
    events: &[(FindingEvent, &Finding)],
    changes: &[StoredChange],
    providers: &std::collections::BTreeMap<String, String>,
    findings: &[Finding],
) -> Vec<AlertItem> {
    let min = severity_rank(&channel.min_severity);
    let digest = channel.mode == "digest";
    let mut items: Vec<(Severity, AlertItem)> = events
        .iter()
        .filter(|(_, f)| f.severity >= min)
        .filter_map(|(event, f)| match event {
            FindingEvent::Opened => Some((f.severity, finding_item("new", f))),
            FindingEvent::Reopened => Some((f.severity, finding_item("reopened", f))),
            FindingEvent::Resolved if digest => Some((f.severity, finding_item("resolved", f))),
            FindingEvent::Resolved => None,
        })
        .collect();
    for c in changes.iter().filter(|c| c.change.risk) {
        let opened: Vec<&Finding> = c
            .change
            .findings_opened
            .iter()
            .filter_map(|p| findings.iter().find(|f| &f.fingerprint == p))
            .collect();
        let worst = opened.iter().map(|f| f.severity).max();
        // A change that only opened findings below the channel's bar is not its business.
        if c.change.risks.is_empty() && worst.is_none_or(|s| s < min) {
            continue;
        }
        let why = if c.change.risks.is_empty() {
            let rules: Vec<&str> = opened.iter().map(|f| f.rule_id.as_str()).collect();
            format!("opened {}", rules.join(", "))
        } else {
            c.change.risks.join("; ")
        };
        items.push((
            worst.unwrap_or(Severity::Medium),
            AlertItem {
                kind: "risk_change".into(),
                severity: worst.map(|s| s.as_str().to_string()),
                title: format!(
                    "{} {} changed",
                    c.change.resource_kind.replace('_', " "),
                    c.change.resource_name
                ),
                rule_id: None,
                resource: c.change.resource_name.clone(),
                provider: providers.get(&c.connection_id).cloned().unwrap_or_default(),
                path: None,
                fingerprint: None,
                why: Some(why),
            },
        ));
    }
    items.sort_by_key(|i| std::cmp::Reverse(i.0));
    items.into_iter().map(|(_, i)| i).collect()
}

/// The messages one evaluation calls for, one per channel that has anything to hear.
pub fn plan(
    tenant: &str,
    channels: &[alert_channel::Model],
    events: &[(FindingEvent, &Finding)],
    changes: &[StoredChange],
    providers: &std::collections::BTreeMap<String, String>,
    findings: &[Finding],
) -> Vec<PlannedAlert> {
    channels
        .iter()
        .filter_map(|channel| {
            let items = items_for(channel, events, changes, providers, findings);
            if items.is_empty() {
                return None;
            }
            if channel.mode == "digest" {
                return Some(PlannedAlert {
                    channel_id: channel.id.clone(),
                    kind: "digest_item".into(),
                    payload: serde_json::json!({"items": items}),
                });
            }
            let id = uuid::Uuid::new_v4().to_string();
            let heading = message::summary(&items);
            Some(PlannedAlert {
                channel_id: channel.id.clone(),
                kind: "evaluation".into(),
                payload: render(channel, tenant, &heading, &items, &id),
            })
        })
        .collect()
}

/// The body for the channel's kind.
pub fn render(
    channel: &alert_channel::Model,
    tenant: &str,
    heading: &str,
    items: &[AlertItem],
    message_id: &str,
) -> serde_json::Value {
    if channel.kind == "slack" {
        message::slack(tenant, channel.link_base.as_deref(), heading, items, message_id)
    } else {
        message::webhook(tenant, heading, items, message_id)
    }
}
