//! Google REST reads (reference §2, §3, §8.5): lists paged by `pageToken` / `nextPageToken`,
//! and Google's error envelope `{"error": {"code", "message", "errors": [{"reason"}], "status",
//! "details": [{"reason"}]}}`. Throttling comes as 429, 503, or a 403 whose reason is
//! `rateLimitExceeded` / `userRateLimitExceeded` / `quotaExceeded`; a 403 `forbidden` or
//! `insufficientPermissions` is a coverage gap, never retried.

use crate::http::{ApiClient, ApiError, ApiHooks, Disposition, MAX_PAGES};
use serde_json::Value;

pub const API_HOOKS: ApiHooks = ApiHooks {
    error_message,
    disposition,
    ..crate::http::PLAIN_HTTP
};

/// Reasons Google uses for "slow down" (§3, §8.5: both per-user spellings occur).
const THROTTLE_REASONS: &[&str] = &[
    "rateLimitExceeded",
    "userRateLimitExceeded",
    "quotaExceeded",
    "RATE_LIMIT_EXCEEDED",
    "RESOURCE_EXHAUSTED",
];

/// Every reason in an error envelope: `errors[].reason`, `details[].reason` and `status`.
fn reasons(body: &Value) -> Vec<String> {
    let error = &body["error"];
    let mut out: Vec<String> = ["errors", "details"]
        .iter()
        .flat_map(|k| error[*k].as_array().into_iter().flatten())
        .filter_map(|e| e["reason"].as_str().map(str::to_string))
        .collect();
    if let Some(status) = error["status"].as_str() {
        out.push(status.to_string());
    }
    out
}

fn error_message(body: &Value) -> Option<String> {
    let error = body.get("error")?;
    // The token endpoint's shape, should an API ever answer with it.
    if let Some(code) = error.as_str() {
        let description = body["error_description"].as_str().unwrap_or("");
        return Some(format!("{code}: {description}"));
    }
    let message = error["message"].as_str().unwrap_or("");
    match reasons(body).first() {
        Some(reason) => Some(format!("{reason}: {message}")),
        None => Some(message.to_string()),
    }
}

fn disposition(status: u16, body: &str) -> Option<Disposition> {
    match serde_json::from_str::<Value>(body) {
        Ok(parsed) => {
            let reasons = reasons(&parsed);
            (matches!(status, 403 | 429) && reasons.iter().any(|r| THROTTLE_REASONS.contains(&r.as_str())))
                .then_some(Disposition::Throttle)
        }
        // Plain-text or HTML quota answers occur (§8.5): judge them by their words.
        Err(_) => {
            let lower = body.to_ascii_lowercase();
            (status == 403 && (lower.contains("quota exceeded") || lower.contains("rate higher than configured")))
                .then_some(Disposition::Throttle)
        }
    }
}

/// One list read: its items and the requests it took.
#[derive(Debug, Default)]
pub struct Listed {
    pub items: Vec<Value>,
    pub requests: u64,
}

/// A list read that stopped part-way: the error, with what was read before it.
#[derive(Debug)]
pub struct ListFailure {
    pub error: ApiError,
    pub read: Listed,
}

/// Reads every page of `url` (which already carries its query), collecting the array under
/// `items_key`. Blank pages that still carry a token are followed (§2.1, §8.1); a token that
/// comes back unchanged ends the read as malformed rather than looping.
pub async fn list_all(api: &ApiClient, url: &str, items_key: &str) -> Result<Listed, ListFailure> {
    let read = list_pages(api, url, items_key, MAX_PAGES).await?;
    if read.capped {
        return Err(ListFailure {
            error: ApiError::Malformed {
                url: crate::http::redact_query(url),
                reason: format!("more than {MAX_PAGES} pages"),
            },
            read: read.listed,
        });
    }
    Ok(read.listed)
}

/// A read of at most `max_pages` pages, and whether more were left (newest first, for the
/// Reports API).
#[derive(Debug)]
pub struct Capped {
    pub listed: Listed,
    pub capped: bool,
}

pub async fn list_pages(api: &ApiClient, url: &str, items_key: &str, max_pages: usize) -> Result<Capped, ListFailure> {
    let mut read = Listed::default();
    let mut token: Option<String> = None;
    for _ in 0..max_pages {
        let page_url = match &token {
            Some(t) => format!("{url}{}pageToken={}", separator(url), encode(t)),
            None => url.to_string(),
        };
        read.requests += 1;
        let answer = match api.get_json(&page_url).await {
            Ok(a) => a,
            Err(error) => return Err(ListFailure { error, read }),
        };
        if !answer.body.is_object() {
            return Err(ListFailure {
                error: ApiError::Malformed {
                    url: crate::http::redact_query(url),
                    reason: "the answer is not a JSON object".into(),
                },
                read,
            });
        }
        if let Some(items) = answer.body.get(items_key).and_then(Value::as_array) {
            read.items.extend(items.iter().cloned());
        }
        let next = answer
            .body
            .get("nextPageToken")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        match next {
            None => {
                return Ok(Capped {
                    listed: read,
                    capped: false,
                })
            }
            Some(next) if Some(&next) == token.as_ref() => {
                return Err(ListFailure {
                    error: ApiError::Malformed {
                        url: crate::http::redact_query(url),
                        reason: "the same nextPageToken came back twice".into(),
                    },
                    read,
                })
            }
            Some(next) => token = Some(next),
        }
    }
    Ok(Capped {
        listed: read,
        capped: true,
    })
}

fn separator(url: &str) -> char {
    if url.contains('?') {
        '&'
    } else {
        '?'
    }
}

/// A query-string value, percent-encoded.
pub fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_is_told_from_refusals_by_the_reason() {
        let rate = r#"{"error":{"code":403,"message":"Quota exceeded for quota metric 'Queries'","errors":[{"message":"x","domain":"usageLimits","reason":"rateLimitExceeded"}]}}"#;
        let user_rate = rate.replace("\"rateLimitExceeded\"", "\"userRateLimitExceeded\"");
        let cloud = r#"{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"RATE_LIMIT_EXCEEDED"}]}}"#;
        for body in [rate, user_rate.as_str(), cloud] {
            assert_eq!(disposition(403, body), Some(Disposition::Throttle), "{body}");
        }
        let forbidden = r#"{"error":{"code":403,"message":"Not Authorized to access this resource/api","errors":[{"message":"Not Authorized","domain":"global","reason":"forbidden"}]}}"#;
        let scopes = r#"{"error":{"code":403,"message":"Request had insufficient authentication scopes.","errors":[{"message":"Insufficient Permission","domain":"global","reason":"insufficientPermissions"}],"status":"PERMISSION_DENIED"}}"#;
        assert_eq!(disposition(403, forbidden), None);
        assert_eq!(disposition(403, scopes), None);
        assert_eq!(
            disposition(403, "Request rate higher than configured."),
            Some(Disposition::Throttle)
        );
        assert_eq!(
            error_message(&serde_json::from_str(scopes).unwrap()).unwrap(),
            "insufficientPermissions: Request had insufficient authentication scopes."
        );
    }
}
