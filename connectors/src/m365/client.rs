//! Microsoft wire conventions shared by Graph, BAP and Dataverse: OData collections paged by
//! `@odata.nextLink` (any key case), and Graph JSON `$batch` with per-item statuses.

use crate::http::{error_message, same_origin, wait_hint, ApiClient, ApiError, ApiHooks, MAX_PAGES};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// How Microsoft's APIs answer: `{"error": {"code", "message"}}` bodies, where `code` names
/// the failure (`Authorization_RequestDenied`); pacing by `Retry-After` alone.
pub const API_HOOKS: ApiHooks = ApiHooks {
    error_message: |body| {
        let error = body.get("error")?;
        let message = error.get("message").and_then(Value::as_str).or(error.as_str())?;
        Some(
            match error.get("code").and_then(Value::as_str).filter(|c| !c.is_empty()) {
                Some(code) => format!("{code}: {message}"),
                None => message.to_string(),
            },
        )
    },
    hourly_budget: |_| None,
    window_reset: |_| None,
    ..crate::http::PLAIN_HTTP
};

/// Graph's cap on requests in one `$batch` (reference §2.7).
pub const BATCH_LIMIT: usize = 20;

/// The next-page link of an OData answer. Graph and Dataverse spell it `@odata.nextLink`, the
/// Power Platform API `@odata.nextlink`, BAP may use `nextLink` (addendum A2/A3).
pub fn next_link(body: &Value) -> Option<String> {
    body.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("@odata.nextLink") || k.eq_ignore_ascii_case("nextLink"))
        .and_then(|(_, v)| v.as_str())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Every item of a collection: follows next links (with the same per-request headers, e.g.
/// Dataverse's `Prefer: odata.maxpagesize`) until there is none. Never follows a link to
/// another origin, and refuses a body without a `value` array.
pub async fn collection(api: &ApiClient, url: &str, headers: &[(&str, &str)]) -> Result<Vec<Value>, ApiError> {
    let mut items = Vec::new();
    let mut next = url.to_string();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..MAX_PAGES {
        if !seen.insert(next.clone()) {
            return Err(malformed(url, "the next link pointed back to a page already read"));
        }
        let body = api.send(Method::GET, &next, headers, None).await?.body;
        append_page(&mut items, &body, url)?;
        match next_link(&body) {
            Some(link) if same_origin(&link, url) => next = link,
            Some(_) => return Err(malformed(url, "the next link leaves the service's host")),
            None => return Ok(items),
        }
    }
    Err(malformed(url, &format!("more than {MAX_PAGES} pages")))
}

fn append_page(items: &mut Vec<Value>, body: &Value, url: &str) -> Result<(), ApiError> {
    match body.get("value") {
        Some(Value::Array(page)) => {
            items.extend(page.iter().cloned());
            Ok(())
        }
        _ => Err(malformed(url, "body has no \"value\" array")),
    }
}

fn malformed(url: &str, reason: &str) -> ApiError {
    ApiError::Malformed {
        url: crate::http::redact_query(url),
        reason: reason.into(),
    }
}

/// The error a non-2xx status means, as the client would have raised it for a plain request.
pub fn status_error(status: u16, body: &Value) -> ApiError {
    let message = error_message(body.to_string(), &API_HOOKS);
    match status {
        401 => ApiError::Unauthorized(message),
        403 => ApiError::Forbidden(message),
        404 => ApiError::NotFound(message),
        _ => ApiError::Status { status, message },
    }
}

/// The outcome of one request inside a batch: its JSON body, or why it failed.
pub type BatchResult = Result<Value, ApiError>;

/// GETs many Graph URLs (relative to `version_root`, e.g. `https://graph.microsoft.com/v1.0`)
/// through `$batch`, at most [`BATCH_LIMIT`] per request. Each item's status is handled on its
/// own: throttled items (429/503, outer 424) are retried alone after the longest `Retry-After`
/// among them; a collection answer with a next link is completed by plain GETs. Returns one
/// result per key. `Err` only when the whole batch cannot go on (credentials, throttled past
/// patience).
pub async fn batch_get(
    api: &ApiClient,
    version_root: &str,
    requests: &[(String, String)],
) -> Result<BTreeMap<String, BatchResult>, ApiError> {
    let mut results = BTreeMap::new();
    for chunk in requests.chunks(BATCH_LIMIT) {
        let mut pending: Vec<(usize, &(String, String))> = chunk.iter().enumerate().collect();
        let mut attempt = 0u32;
        while !pending.is_empty() {
            let body = json!({
                "requests": pending.iter().map(|(i, (_, url))| json!({
                    "id": i.to_string(), "method": "GET", "url": url,
                })).collect::<Vec<_>>()
            });
            let batch_url = format!("{version_root}/$batch");
            let answer = match api.send(Method::POST, &batch_url, &[], Some(&body)).await {
                Ok(a) => a.body,
                // An older Graph answers a batch with a throttled item with 424 as a whole
                // (addendum F3): retry every item of it.
                Err(ApiError::Status { status: 424, .. }) => json!({"responses": []}),
                Err(e) => return Err(e),
            };
            let responses = answer
                .get("responses")
                .and_then(Value::as_array)
                .ok_or_else(|| malformed(&batch_url, "batch answer has no \"responses\" array"))?;
            let mut retry: Vec<(usize, &(String, String))> = Vec::new();
            let mut wait: Option<Duration> = None;
            for (i, request) in &pending {
                let Some(item) = responses
                    .iter()
                    .find(|r| r.get("id").and_then(Value::as_str) == Some(i.to_string().as_str()))
                else {
                    retry.push((*i, *request));
                    continue;
                };
                let item_body = item.get("body").cloned().unwrap_or(Value::Null);
                // A status outside HTTP's range is a malformed item, not a number to truncate.
                let Some(status) = item
                    .get("status")
                    .and_then(Value::as_u64)
                    .filter(|s| (100..=599).contains(s))
                    .map(|s| s as u16)
                else {
                    results.insert(
                        request.0.clone(),
                        Err(malformed(&batch_url, "a batch item's status is not an HTTP status")),
                    );
                    continue;
                };
                match status {
                    200..=299 => match complete_collection(api, version_root, item_body).await {
                        // As for any request: refused credentials or patience spent stop the scan.
                        Err(e) if e.stops_scan() => return Err(e),
                        full => {
                            results.insert(request.0.clone(), full);
                        }
                    },
                    429 | 503 | 424 => {
                        if status != 424 {
                            api.stats.throttled.fetch_add(1, Ordering::Relaxed);
                        }
                        if let Some(hint) = item_headers(item).as_ref().and_then(|h| wait_hint(h, &API_HOOKS)) {
                            wait = Some(wait.map_or(hint, |w| w.max(hint)));
                        }
                        retry.push((*i, *request));
                    }
                    _ => {
                        results.insert(request.0.clone(), Err(status_error(status, &item_body)));
                    }
                }
            }
            if retry.is_empty() {
                break;
            }
            attempt += 1;
            // The same policy as a plain throttled request, on the longest item hint.
            let pause = api.throttle_wait(429, attempt, wait)?;
            api.stats.retries.fetch_add(retry.len() as u64, Ordering::Relaxed);
            tokio::time::sleep(pause).await;
            pending = retry;
        }
    }
    Ok(results)
}

/// A sub-response that is one page of a collection: fetch the rest with plain GETs.
async fn complete_collection(api: &ApiClient, version_root: &str, body: Value) -> BatchResult {
    let Some(link) = next_link(&body) else {
        return Ok(body);
    };
    if !same_origin(&link, version_root) {
        return Err(malformed(version_root, "a batch item's next link leaves Graph"));
    }
    let mut items: Vec<Value> = body.get("value").and_then(Value::as_array).cloned().unwrap_or_default();
    items.extend(collection(api, &link, &[]).await?);
    Ok(json!({ "value": items }))
}

/// A batch item's `headers` object as a header map (for `Retry-After`).
fn item_headers(item: &Value) -> Option<HeaderMap> {
    let mut map = HeaderMap::new();
    for (k, v) in item.get("headers")?.as_object()? {
        let value = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(k.as_str()), HeaderValue::from_str(&value)) {
            map.insert(name, value);
        }
    }
    Some(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_link_in_any_spelling() {
        assert_eq!(
            next_link(&json!({"@odata.nextLink": "https://g/x?$skiptoken=1"})).as_deref(),
            Some("https://g/x?$skiptoken=1")
        );
        assert_eq!(
            next_link(&json!({"@odata.nextlink": "https://p/e?$skip=2"})).as_deref(),
            Some("https://p/e?$skip=2")
        );
        assert_eq!(next_link(&json!({"value": []})), None);
        assert_eq!(next_link(&json!({"@odata.nextLink": ""})), None);
    }

    #[test]
    fn batch_item_retry_after_is_read_from_its_own_headers() {
        let item = json!({"id": "3", "status": 429, "headers": {"Retry-After": "2.5"}});
        let headers = item_headers(&item).unwrap();
        assert_eq!(wait_hint(&headers, &API_HOOKS), Some(Duration::from_millis(2500)));
    }

    #[test]
    fn status_errors_keep_graph_codes() {
        let body = json!({"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges"}});
        match status_error(403, &body) {
            ApiError::Forbidden(m) => assert_eq!(m, "Authorization_RequestDenied: Insufficient privileges"),
            other => panic!("{other:?}"),
        }
    }
}
