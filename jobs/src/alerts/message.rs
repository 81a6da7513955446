//! What an alert says, rendered as a Slack Block Kit message or a generic webhook's JSON body.
//! Pure functions. Slack's limits are kept with room to spare: at most 50 blocks, a header of
//! at most 150 characters, section text of at most 3,000, and the whole message far under the
//! size Slack accepts; what does not fit is summarised as "+N more, see …".

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The most blocks a Slack message may carry.
pub const MAX_BLOCKS: usize = 50;
/// The most characters in a section's text.
pub const MAX_SECTION: usize = 3000;
/// The most characters in a header.
pub const MAX_HEADER: usize = 150;
/// Our own bound on a whole message (Slack's is far larger).
pub const MAX_MESSAGE_BYTES: usize = 32 * 1024;

/// One thing an alert reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertItem {
    /// `new`, `reopened`, `resolved` or `risk_change`.
    pub kind: String,
    pub severity: Option<String>,
    pub title: String,
    pub rule_id: Option<String>,
    pub resource: String,
    pub provider: String,
    /// The exposure path in one line.
    pub path: Option<String>,
    pub fingerprint: Option<String>,
    /// For a risk change: how it widens exposure or what it opened.
    pub why: Option<String>,
}

/// Slack's mrkdwn needs only these three escaped.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        text.chars().take(max.saturating_sub(1)).collect::<String>() + "…"
    }
}

fn vendor(provider: &str) -> &str {
    match provider {
        "servicenow" => "ServiceNow",
        "m365" => "Microsoft 365",
        other => other,
    }
}

/// "3 new findings (1 critical, 2 high), 1 resolved, 2 risk changes".
pub fn summary(items: &[AlertItem]) -> String {
    let count = |kind: &str| items.iter().filter(|i| i.kind == kind).count();
    let mut parts = Vec::new();
    let new = count("new") + count("reopened");
    if new > 0 {
        let mut by: Vec<String> = Vec::new();
        for s in ["critical", "high", "medium", "low", "info"] {
            let n = items
                .iter()
                .filter(|i| (i.kind == "new" || i.kind == "reopened") && i.severity.as_deref() == Some(s))
                .count();
            if n > 0 {
                by.push(format!("{n} {s}"));
            }
        }
        parts.push(format!("{new} new finding(s) ({})", by.join(", ")));
    }
    if count("resolved") > 0 {
        parts.push(format!("{} resolved", count("resolved")));
    }
    if count("risk_change") > 0 {
        parts.push(format!("{} risk change(s)", count("risk_change")));
    }
    if parts.is_empty() {
        "nothing new".into()
    } else {
        parts.join(", ")
    }
}

fn link(link_base: Option<&str>, tenant: &str, item: &AlertItem) -> Option<String> {
    let base = link_base?.trim_end_matches('/');
    Some(match &item.fingerprint {
        Some(print) => format!("{base}/t/{tenant}/findings/{print}"),
        None => format!("{base}/t/{tenant}/findings"),
    })
}

fn section(link_base: Option<&str>, tenant: &str, item: &AlertItem) -> Value {
    let word = match item.kind.as_str() {
        "new" => "New",
        "reopened" => "Reopened",
        "resolved" => "Resolved",
        _ => "Risk change",
    };
    let title = escape(&cut(&item.title, 200));
    let title = match link(link_base, tenant, item) {
        Some(url) if item.kind != "risk_change" => format!("<{url}|{title}>"),
        _ => format!("*{title}*"),
    };
    let severity = item
        .severity
        .as_deref()
        .map(|s| format!("*{}* · ", s.to_uppercase()))
        .unwrap_or_default();
    let rule = item
        .rule_id
        .as_deref()
        .map(|r| format!(" ({})", escape(r)))
        .unwrap_or_default();
    let mut text = format!(
        "{severity}{word}: {title}{rule}\n{} · {}",
        escape(&cut(&item.resource, 300)),
        vendor(&item.provider)
    );
    if let Some(why) = &item.why {
        text += &format!("\n{}", escape(&cut(why, 600)));
    }
    if let Some(path) = &item.path {
        // The path goes last and gives way first.
        let room = MAX_SECTION.saturating_sub(text.chars().count() + 8);
        text += &format!("\n`{}`", escape(&cut(path, room.min(1500))));
    }
    json!({"type": "section", "text": {"type": "mrkdwn", "text": cut(&text, MAX_SECTION)}})
}

/// One Slack message for `items` (one evaluation's alerts, a digest or a test).
pub fn slack(tenant: &str, link_base: Option<&str>, heading: &str, items: &[AlertItem], message_id: &str) -> Value {
    let summary = summary(items);
    let header = cut(&format!("aispm · {tenant}: {heading}"), MAX_HEADER);
    let mut blocks = vec![json!({"type": "header", "text": {"type": "plain_text", "text": header}})];
    let footer = json!({"type": "context", "elements": [{"type": "mrkdwn", "text": escape(&format!("{summary} · aispm message {message_id}"))}]});
    // Room for the header, a "+N more" section and the footer.
    let room = MAX_BLOCKS - 3;
    let mut size = header.len() + 600;
    let mut shown = 0;
    for item in items {
        if shown == room {
            break;
        }
        let block = section(link_base, tenant, item);
        let bytes = block.to_string().len();
        if size + bytes > MAX_MESSAGE_BYTES - 1024 {
            break;
        }
        size += bytes;
        blocks.push(block);
        shown += 1;
    }
    if shown < items.len() {
        let more = items.len() - shown;
        let see = match link_base {
            Some(base) => format!("<{}/t/{tenant}/findings|the findings page>", base.trim_end_matches('/')),
            None => format!("`aispm findings --tenant {tenant}`"),
        };
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("+{more} more, see {see}")}}));
    }
    blocks.push(footer);
    json!({"text": cut(&format!("aispm · {tenant}: {summary}"), MAX_SECTION), "blocks": blocks})
}

/// The generic webhook's body: the same items as data.
pub fn webhook(tenant: &str, heading: &str, items: &[AlertItem], message_id: &str) -> Value {
    json!({
        "source": "aispm",
        "message_id": message_id,
        "tenant": tenant,
        "heading": heading,
        "summary": summary(items),
        "items": items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(i: usize) -> AlertItem {
        AlertItem {
            kind: "new".into(),
            severity: Some("high".into()),
            title: format!("Finding <{i}> & more"),
            rule_id: Some("SNOW-001".into()),
            resource: "Ops agent".into(),
            provider: "servicenow".into(),
            path: Some("x".repeat(5000)),
            fingerprint: Some(format!("print{i}")),
            why: None,
        }
    }

    #[test]
    fn a_message_stays_within_slacks_limits_and_summarises_the_rest() {
        let items: Vec<AlertItem> = (0..120).map(item).collect();
        let m = slack("acme", Some("https://aispm.example.com/"), "120 new", &items, "m1");
        let blocks = m["blocks"].as_array().unwrap();
        assert!(blocks.len() <= MAX_BLOCKS, "{}", blocks.len());
        assert!(m.to_string().len() <= MAX_MESSAGE_BYTES);
        for b in blocks.iter().filter(|b| b["type"] == "section") {
            assert!(b["text"]["text"].as_str().unwrap().chars().count() <= MAX_SECTION);
        }
        let more = blocks[blocks.len() - 2]["text"]["text"].as_str().unwrap();
        assert!(
            more.starts_with('+') && more.contains("more, see <https://aispm.example.com/t/acme/findings|"),
            "{more}"
        );
        let first = blocks[1]["text"]["text"].as_str().unwrap();
        assert!(
            first.contains("<https://aispm.example.com/t/acme/findings/print0|Finding &lt;0&gt; &amp; more>"),
            "{first}"
        );
        assert!(m["text"].as_str().unwrap().contains("120 new finding(s) (120 high)"));
    }

    #[test]
    fn a_short_message_lists_every_item() {
        let m = slack("acme", None, "2 new", &[item(1), item(2)], "m2");
        assert_eq!(m["blocks"].as_array().unwrap().len(), 4, "header, two sections, footer");
    }
}
