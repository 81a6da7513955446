//! A simulated Slack incoming-webhook endpoint. It checks every message against the Block Kit
//! rules aispm's alerts promise to keep (at most 50 blocks; a header's plain text 1 to 150
//! characters; section text 1 to 3,000; context elements 1 to 10; a `text` fallback or blocks)
//! and refuses what Slack refuses with Slack's own error words (`invalid_payload`, `no_text`,
//! `invalid_blocks`), answers `429` with `Retry-After` to a webhook posted to faster than once
//! a second, and can be told to answer `404 no_service` (a removed webhook) or a storm of 429s.
//!
//! `POST /services/{team}/{bot}/{secret}` is the webhook; `GET /__sandbox/messages` lists what
//! was delivered; `POST /__sandbox/mode` takes `ok`, `no_service`, `channel_not_found`,
//! `storm:<n>` (the next n posts get 429) or `fail:<n>` (the next n get 500).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the endpoint answers besides validating.
#[derive(Debug, Clone, PartialEq)]
enum Mode {
    Ok,
    Broken(&'static str),
    Storm(u32),
    Fail(u32),
}

#[derive(Debug)]
struct Sim {
    mode: Mode,
    delivered: Vec<Value>,
    last_accepted: std::collections::HashMap<String, Instant>,
    posts: u64,
    throttled: u64,
    rejected: Vec<String>,
}

type Shared = Arc<Mutex<Sim>>;

/// The least time between two accepted posts to one webhook.
const ONE_PER: Duration = Duration::from_secs(1);

fn text_len(v: &Value) -> Option<usize> {
    v.as_str().map(|s| s.chars().count())
}

/// Why Slack would refuse `body`, in its words, or `None`.
pub fn refusal(body: &Value) -> Option<&'static str> {
    let Some(object) = body.as_object() else {
        return Some("invalid_payload");
    };
    let text = object.get("text").and_then(text_len).unwrap_or(0);
    let Some(blocks) = object.get("blocks") else {
        return (text == 0).then_some("no_text");
    };
    let Some(blocks) = blocks.as_array() else {
        return Some("invalid_blocks");
    };
    if blocks.is_empty() && text == 0 {
        return Some("no_text");
    }
    if blocks.len() > 50 {
        return Some("invalid_blocks");
    }
    for block in blocks {
        let ok = match block["type"].as_str() {
            Some("header") => {
                block["text"]["type"] == "plain_text"
                    && text_len(&block["text"]["text"]).is_some_and(|n| (1..=150).contains(&n))
            }
            Some("section") => {
                let kind = block["text"]["type"].as_str();
                matches!(kind, Some("mrkdwn" | "plain_text"))
                    && text_len(&block["text"]["text"]).is_some_and(|n| (1..=3000).contains(&n))
            }
            Some("context") => block["elements"].as_array().is_some_and(|e| {
                (1..=10).contains(&e.len())
                    && e.iter()
                        .all(|el| text_len(&el["text"]).is_some_and(|n| (1..=3000).contains(&n)))
            }),
            Some("divider") => true,
            _ => false,
        };
        if !ok {
            return Some("invalid_blocks");
        }
    }
    None
}

async fn webhook(
    State(sim): State<Shared>,
    Path((team, bot, secret)): Path<(String, String, String)>,
    body: String,
) -> Response {
    let hook = format!("{team}/{bot}/{secret}");
    let mut sim = sim.lock().expect("simulator state");
    sim.posts += 1;
    match sim.mode.clone() {
        Mode::Broken(word) => return (StatusCode::NOT_FOUND, word).into_response(),
        Mode::Storm(n) if n > 0 => {
            sim.mode = if n > 1 { Mode::Storm(n - 1) } else { Mode::Ok };
            sim.throttled += 1;
            return too_many();
        }
        Mode::Fail(n) if n > 0 => {
            sim.mode = if n > 1 { Mode::Fail(n - 1) } else { Mode::Ok };
            return (StatusCode::INTERNAL_SERVER_ERROR, "internal_error").into_response();
        }
        _ => {}
    }
    if sim.last_accepted.get(&hook).is_some_and(|t| t.elapsed() < ONE_PER) {
        sim.throttled += 1;
        return too_many();
    }
    let parsed: Value = match serde_json::from_str(&body) {
        Ok(v) => v,
        Err(_) => {
            sim.rejected.push("invalid_payload".into());
            return (StatusCode::BAD_REQUEST, "invalid_payload").into_response();
        }
    };
    if let Some(word) = refusal(&parsed) {
        sim.rejected.push(word.into());
        return (StatusCode::BAD_REQUEST, word).into_response();
    }
    sim.last_accepted.insert(hook.clone(), Instant::now());
    sim.delivered.push(json!({"webhook": hook, "body": parsed}));
    (StatusCode::OK, "ok").into_response()
}

fn too_many() -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(axum::http::header::RETRY_AFTER, "1".parse().expect("a header value"));
    (StatusCode::TOO_MANY_REQUESTS, headers, "rate_limited").into_response()
}

async fn messages(State(sim): State<Shared>) -> Json<Value> {
    let sim = sim.lock().expect("simulator state");
    Json(json!({
        "delivered": sim.delivered,
        "posts": sim.posts,
        "throttled": sim.throttled,
        "rejected": sim.rejected,
    }))
}

async fn set_mode(State(sim): State<Shared>, body: String) -> StatusCode {
    let mode = match body.trim() {
        "ok" => Mode::Ok,
        "no_service" => Mode::Broken("no_service"),
        "channel_not_found" => Mode::Broken("channel_not_found"),
        other => match other.split_once(':') {
            Some(("storm", n)) => Mode::Storm(n.parse().unwrap_or(1)),
            Some(("fail", n)) => Mode::Fail(n.parse().unwrap_or(1)),
            _ => return StatusCode::BAD_REQUEST,
        },
    };
    sim.lock().expect("simulator state").mode = mode;
    StatusCode::NO_CONTENT
}

fn router(sim: Shared) -> Router {
    Router::new()
        .route("/services/{team}/{bot}/{secret}", post(webhook))
        .route("/__sandbox/messages", get(messages))
        .route("/__sandbox/mode", post(set_mode))
        .with_state(sim)
}

/// A running Slack simulator.
pub struct SlackSim {
    pub server: crate::RunningServer,
    sim: Shared,
}

impl SlackSim {
    /// The webhook URL to give aispm.
    pub fn webhook_url(&self) -> String {
        format!("{}/services/T0AISPM/B0ALERTS/sandbox-webhook", self.server.base_url)
    }

    /// The messages Slack accepted, oldest first.
    pub fn delivered(&self) -> Vec<Value> {
        let sim = self.sim.lock().expect("simulator state");
        sim.delivered.iter().map(|m| m["body"].clone()).collect()
    }
}

pub async fn start(port: u16) -> std::io::Result<SlackSim> {
    let sim: Shared = Arc::new(Mutex::new(Sim {
        mode: Mode::Ok,
        delivered: Vec::new(),
        last_accepted: Default::default(),
        posts: 0,
        throttled: 0,
        rejected: Vec::new(),
    }));
    let server = crate::serve(router(sim.clone()), port).await?;
    Ok(SlackSim { server, sim })
}

#[cfg(test)]
mod tests {
    use super::refusal;
    use serde_json::json;

    #[test]
    fn refuses_what_slack_refuses() {
        assert_eq!(refusal(&json!("hi")), Some("invalid_payload"));
        assert_eq!(refusal(&json!({})), Some("no_text"));
        assert_eq!(refusal(&json!({"text": "hi"})), None);
        let section = json!({"type": "section", "text": {"type": "mrkdwn", "text": "x"}});
        assert_eq!(
            refusal(&json!({"text": "t", "blocks": vec![section.clone(); 50]})),
            None
        );
        assert_eq!(
            refusal(&json!({"text": "t", "blocks": vec![section; 51]})),
            Some("invalid_blocks")
        );
        let long = json!({"type": "section", "text": {"type": "mrkdwn", "text": "x".repeat(3001)}});
        assert_eq!(refusal(&json!({"text": "t", "blocks": [long]})), Some("invalid_blocks"));
        let header = json!({"type": "header", "text": {"type": "mrkdwn", "text": "x"}});
        assert_eq!(
            refusal(&json!({"blocks": [header]})),
            Some("invalid_blocks"),
            "headers are plain text"
        );
    }
}
