//! Salesforce REST reads (reference §2.0, §3, §8.2, §8.6): SOQL on `/query` and
//! `/tooling/query` paged by `nextRecordsUrl`, the versions list, `/limits`, and the daily
//! allowance read from `Sforce-Limit-Info` on every answer. Errors are JSON arrays of
//! `{message, errorCode}`; `REQUEST_LIMIT_EXCEEDED` (HTTP 403) is throttling, daily or
//! concurrent; `INVALID_SESSION_ID` on a 403 (or a SOAP fault) means refresh once.

use super::auth::SalesforceTokens;
use crate::auth::TokenSource;
use crate::http::{same_origin, ApiClient, ApiError, ApiHooks, Disposition, MAX_PAGES};
use reqwest::header::HeaderMap;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub const API_HOOKS: ApiHooks = ApiHooks {
    error_message: |body| first_error(body).map(|(code, message)| format!("{code}: {message}")),
    disposition,
    ..crate::http::PLAIN_HTTP
};

/// The first `{errorCode, message}` of a REST error array: only at the top level, never inside
/// records, where an Apex body may contain any text (§8.6).
fn first_error(body: &Value) -> Option<(String, String)> {
    let first = body.as_array()?.first()?;
    let code = first.get("errorCode")?.as_str()?.to_string();
    let message = first.get("message").and_then(Value::as_str).unwrap_or("").to_string();
    Some((code, message))
}

fn disposition(status: u16, body: &str) -> Option<Disposition> {
    if body.trim_start().starts_with('<') {
        return super::soap::fault_disposition(body);
    }
    let parsed: Value = serde_json::from_str(body).ok()?;
    let (code, message) = first_error(&parsed)?;
    match code.as_str() {
        // §8.6: the daily allowance is spent (`TotalRequests Limit exceeded.`): stop, retry
        // after the window rolls; the concurrency limit (`ConcurrentPerOrgLongTxn…`): back off.
        "REQUEST_LIMIT_EXCEEDED" if message.starts_with("TotalRequests") => Some(Disposition::Exhausted),
        "REQUEST_LIMIT_EXCEEDED" => Some(Disposition::Throttle),
        "INVALID_SESSION_ID" if status == 401 || status == 403 => Some(Disposition::Refresh),
        _ => None,
    }
}

/// `Sforce-Limit-Info: api-usage=<used>/<max>[; api-bursts=…]` (§3).
pub fn limit_info(headers: &HeaderMap) -> Option<(u64, u64)> {
    let value = headers.get("sforce-limit-info")?.to_str().ok()?;
    let usage = value
        .split(';')
        .map(str::trim)
        .find_map(|part| part.strip_prefix("api-usage="))?;
    let (used, max) = usage.split_once('/')?;
    Some((used.trim().parse().ok()?, max.trim().parse().ok()?))
}

/// Which query endpoint a SOQL statement goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Data,
    Tooling,
}

/// What a scan may spend of the org's daily allowance (issue: `--max-daily-share`, default
/// 10 % of what remains when the scan starts), and what it has spent.
#[derive(Debug, Default)]
pub struct Allowance {
    /// Requests this scan may send; unknown until `/limits` was read.
    pub limit: Mutex<Option<u64>>,
    /// Requests sent since the allowance was set.
    pub spent: AtomicU64,
    /// The newest `Sforce-Limit-Info` reading (used, max).
    pub usage: Mutex<Option<(u64, u64)>>,
}

/// Why a read was not made: the scan reached its share of the daily allowance.
#[derive(Debug, Clone)]
pub struct BudgetSpent(pub String);

pub struct OrgClient {
    pub api: ApiClient,
    pub tokens: Arc<SalesforceTokens>,
    /// `NN.N`, discovered (or configured) on first use.
    version: tokio::sync::OnceCell<String>,
    configured_version: Option<String>,
    pub allowance: Allowance,
    /// Stop before the org's whole usage reaches this share of its daily maximum, whatever
    /// our own allowance says (leave the rest to the customer's integrations, §3 step 1).
    pub org_ceiling: f64,
    pub page_size: Option<u32>,
}

/// The records one query returned and what it cost.
#[derive(Debug, Default)]
pub struct QueryRead {
    pub records: Vec<Value>,
    pub total_size: Option<u64>,
    pub requests: u64,
}

/// A failed read: the error and what it had spent.
pub struct ReadFailure {
    pub error: ReadError,
    pub requests: u64,
}

impl ReadFailure {
    /// The same failure, counting `requests` spent before it.
    pub fn after(mut self, requests: u64) -> Self {
        self.requests += requests;
        self
    }
}

#[derive(Debug)]
pub enum ReadError {
    Api(ApiError),
    Budget(BudgetSpent),
}

impl From<ApiError> for ReadError {
    fn from(e: ApiError) -> Self {
        ReadError::Api(e)
    }
}

impl OrgClient {
    pub fn new(
        api: ApiClient,
        tokens: Arc<SalesforceTokens>,
        configured_version: Option<String>,
        page_size: Option<u32>,
    ) -> Self {
        OrgClient {
            api,
            tokens,
            version: tokio::sync::OnceCell::new(),
            configured_version,
            allowance: Allowance::default(),
            org_ceiling: 0.9,
            page_size,
        }
    }

    /// The org's instance URL (signs in first if needed).
    pub async fn instance_url(&self) -> Result<String, ApiError> {
        if let Some(session) = self.tokens.session() {
            return Ok(session.instance_url);
        }
        self.tokens.token(false).await?;
        self.tokens
            .session()
            .map(|s| s.instance_url)
            .ok_or_else(|| ApiError::Malformed {
                url: "token endpoint".into(),
                reason: "no instance_url".into(),
            })
    }

    /// The API version: the configured one if the org offers it, else the newest it lists
    /// (§1.9), at least 62.0 (Agentforce objects).
    pub async fn version(&self) -> Result<String, ApiError> {
        self.version
            .get_or_try_init(|| async {
                let base = self.instance_url().await?;
                let listed = self.api.get_json(&format!("{base}/services/data/")).await?.body;
                let mut versions: Vec<(f64, String)> = listed
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.get("version")?.as_str().map(str::to_string))
                    .filter_map(|v| v.parse::<f64>().ok().filter(|n| n.is_finite()).map(|n| (n, v)))
                    .collect();
                versions.sort_by(|a, b| a.0.total_cmp(&b.0));
                if let Some(wanted) = &self.configured_version {
                    let wanted = wanted.trim_start_matches('v');
                    return if versions.iter().any(|(_, v)| v == wanted) {
                        Ok(wanted.to_string())
                    } else {
                        Err(ApiError::Status {
                            status: 400,
                            message: format!(
                                "API version v{wanted} is not offered by this org (it offers {})",
                                versions
                                    .iter()
                                    .map(|(_, v)| format!("v{v}"))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        })
                    };
                }
                match versions.last() {
                    Some((n, v)) if *n >= MIN_VERSION => Ok(v.clone()),
                    Some((_, v)) => Err(ApiError::Status {
                        status: 400,
                        message: format!(
                            "the org's newest API version is v{v}; Agentforce needs v{MIN_VERSION:.1} or later"
                        ),
                    }),
                    None => Err(ApiError::Malformed {
                        url: "/services/data/".into(),
                        reason: "the versions list is empty or not a list".into(),
                    }),
                }
            })
            .await
            .cloned()
    }

    /// `{instance}/services/data/vNN.N`
    pub async fn data_base(&self) -> Result<String, ApiError> {
        Ok(format!(
            "{}/services/data/v{}",
            self.instance_url().await?,
            self.version().await?
        ))
    }

    /// Sets the scan's allowance: `share` of what remains of the org's daily requests.
    pub fn set_allowance(&self, remaining: u64, share: f64) {
        let limit = ((remaining as f64) * share.clamp(0.0, 1.0)).floor() as u64;
        *self.allowance.limit.lock().unwrap_or_else(|e| e.into_inner()) = Some(limit);
        self.allowance.spent.store(0, Ordering::Relaxed);
    }

    /// Refuses a request the allowance has no room for.
    pub fn check_budget(&self) -> Result<(), BudgetSpent> {
        let limit = *self.allowance.limit.lock().unwrap_or_else(|e| e.into_inner());
        let spent = self.allowance.spent.load(Ordering::Relaxed);
        if let Some(limit) = limit {
            if spent >= limit {
                return Err(BudgetSpent(format!(
                    "not read: the scan reached its share of the org's daily API requests ({spent} of {limit} allowed); the next scan reads it"
                )));
            }
        }
        if let Some((used, max)) = *self.allowance.usage.lock().unwrap_or_else(|e| e.into_inner()) {
            if max > 0 && used as f64 >= max as f64 * self.org_ceiling {
                return Err(BudgetSpent(format!(
                    "not read: the org has used {used} of its {max} daily API requests; aispm leaves the last {:.0} % to the org's own integrations",
                    (1.0 - self.org_ceiling) * 100.0
                )));
            }
        }
        Ok(())
    }

    /// One GET under the allowance; counts what it sent and reads `Sforce-Limit-Info`.
    pub async fn get(&self, url: &str, headers: &[(&str, &str)]) -> Result<(HeaderMap, Value, u64), ReadFailure> {
        self.check_budget().map_err(|b| ReadFailure {
            error: ReadError::Budget(b),
            requests: 0,
        })?;
        let before = self.api.stats.requests();
        let answer = self.api.send(reqwest::Method::GET, url, headers, None).await;
        let sent = self.api.stats.requests() - before;
        self.allowance.spent.fetch_add(sent, Ordering::Relaxed);
        match answer {
            Ok(r) => {
                self.observe(&r.headers);
                Ok((r.headers, r.body, sent))
            }
            Err(error) => Err(ReadFailure {
                error: error.into(),
                requests: sent,
            }),
        }
    }

    /// Records the org's usage from an answer's `Sforce-Limit-Info`.
    pub fn observe(&self, headers: &HeaderMap) {
        if let Some(usage) = limit_info(headers) {
            *self.allowance.usage.lock().unwrap_or_else(|e| e.into_inner()) = Some(usage);
        }
    }

    /// Every record of one SOQL statement, following `nextRecordsUrl` on the instance only.
    pub async fn query(&self, api: Api, soql: &str) -> Result<QueryRead, ReadFailure> {
        self.query_from(api, soql, None).await
    }

    /// Like [`OrgClient::query`], starting from a first page already in hand (a `/composite`
    /// item's body), so only the further pages are fetched.
    pub async fn query_from(&self, api: Api, soql: &str, first: Option<Value>) -> Result<QueryRead, ReadFailure> {
        let fail = |error: ApiError, requests| ReadFailure {
            error: error.into(),
            requests,
        };
        let base = self.data_base().await.map_err(|e| fail(e, 0))?;
        let instance = self.instance_url().await.map_err(|e| fail(e, 0))?;
        let endpoint = match api {
            Api::Data => "query",
            Api::Tooling => "tooling/query",
        };
        let mut url = format!("{base}/{endpoint}?q={}", encode(soql));
        let batch = self.page_size.map(|n| format!("batchSize={n}"));
        let headers: Vec<(&str, &str)> = batch.iter().map(|b| ("Sforce-Query-Options", b.as_str())).collect();
        let mut out = QueryRead::default();
        let mut seen = std::collections::HashSet::new();
        let mut first = first;
        for _ in 0..MAX_PAGES {
            let body = match first.take() {
                Some(body) => body,
                None => {
                    let (_, body, sent) = self.get(&url, &headers).await.map_err(|f| f.after(out.requests))?;
                    out.requests += sent;
                    body
                }
            };
            let malformed = |reason: &str| ApiError::Malformed {
                url: format!("{endpoint} of {}", object_of(soql)),
                reason: reason.to_string(),
            };
            let Some(records) = body.get("records").and_then(Value::as_array) else {
                return Err(fail(malformed("the answer has no \"records\" list"), out.requests));
            };
            out.records.extend(records.iter().cloned());
            out.total_size = body.get("totalSize").and_then(Value::as_u64);
            let done = body.get("done").and_then(Value::as_bool).unwrap_or(true);
            let next = body.get("nextRecordsUrl").and_then(Value::as_str);
            match (done, next) {
                (true, _) | (false, None) => return Ok(out),
                (false, Some(next)) => {
                    // A root-relative path (§8.2), or an absolute URL on the instance; the
                    // token never travels anywhere else.
                    let next_url = if next.starts_with('/') {
                        format!("{instance}{next}")
                    } else {
                        next.to_string()
                    };
                    if !same_origin(&next_url, &instance) {
                        return Err(fail(
                            malformed("nextRecordsUrl leaves the org's instance"),
                            out.requests,
                        ));
                    }
                    if !seen.insert(next_url.clone()) {
                        return Err(fail(
                            malformed("nextRecordsUrl points back to a page already read"),
                            out.requests,
                        ));
                    }
                    url = next_url;
                }
            }
        }
        Err(fail(
            ApiError::Malformed {
                url: object_of(soql),
                reason: format!("more than {MAX_PAGES} pages"),
            },
            out.requests,
        ))
    }

    /// Several data-API queries in one `/composite` call, which counts as one request
    /// (§2.10, §8.5: at most five queries per call). Each item's outcome in order: its first
    /// page, or the error it answered. `Err` when the call itself failed; the caller then reads
    /// the queries one by one.
    pub async fn composite_queries(
        &self,
        statements: &[String],
    ) -> Result<(Vec<Result<Value, ApiError>>, u64), ReadFailure> {
        let base = self.data_base().await.map_err(|e| ReadFailure {
            error: e.into(),
            requests: 0,
        })?;
        let version = self.version().await.map_err(|e| ReadFailure {
            error: e.into(),
            requests: 0,
        })?;
        self.check_budget().map_err(|b| ReadFailure {
            error: ReadError::Budget(b),
            requests: 0,
        })?;
        let items: Vec<Value> = statements
            .iter()
            .enumerate()
            .map(|(i, soql)| {
                serde_json::json!({
                    "method": "GET",
                    "url": format!("/services/data/v{version}/query?q={}", encode(soql)),
                    "referenceId": format!("q{i}"),
                })
            })
            .collect();
        let body = serde_json::json!({"allOrNone": false, "compositeRequest": items});
        let before = self.api.stats.requests();
        let answer = self
            .api
            .send(reqwest::Method::POST, &format!("{base}/composite"), &[], Some(&body))
            .await;
        let sent = self.api.stats.requests() - before;
        self.allowance.spent.fetch_add(sent, Ordering::Relaxed);
        let answer = answer.map_err(|e| ReadFailure {
            error: e.into(),
            requests: sent,
        })?;
        self.observe(&answer.headers);
        let Some(responses) = answer.body.get("compositeResponse").and_then(Value::as_array).cloned() else {
            return Err(ReadFailure {
                error: ApiError::Malformed {
                    url: "composite".into(),
                    reason: "the answer has no \"compositeResponse\" list".into(),
                }
                .into(),
                requests: sent,
            });
        };
        let outcomes = (0..statements.len())
            .map(|i| {
                let reference = format!("q{i}");
                let item = responses
                    .iter()
                    .find(|r| r.get("referenceId").and_then(Value::as_str) == Some(reference.as_str()))
                    .ok_or_else(|| ApiError::Malformed {
                        url: "composite".into(),
                        reason: format!("no answer for subrequest {reference}"),
                    })?;
                let status = item.get("httpStatusCode").and_then(Value::as_u64).unwrap_or(0) as u16;
                let body = item.get("body").cloned().unwrap_or(Value::Null);
                if (200..300).contains(&status) {
                    return Ok(body);
                }
                Err(item_error(status, &body))
            })
            .collect();
        Ok((outcomes, sent))
    }
}

/// A `/composite` item's error as the error a plain request would have given.
fn item_error(status: u16, body: &Value) -> ApiError {
    let message = first_error(body)
        .map(|(code, message)| format!("{code}: {message}"))
        .unwrap_or_else(|| format!("HTTP {status}"));
    let message = crate::http::redact_secrets(&message)
        .chars()
        .take(200)
        .collect::<String>();
    match disposition(status, &body.to_string()) {
        Some(Disposition::Exhausted) | Some(Disposition::Throttle) => ApiError::Throttled {
            status,
            attempts: 1,
            retry_after: None,
        },
        _ => match status {
            401 => ApiError::Unauthorized(message),
            403 => ApiError::Forbidden(message),
            404 => ApiError::NotFound(message),
            _ => ApiError::Status { status, message },
        },
    }
}

/// Agentforce objects arrived with v60–62 (§1.9); older orgs cannot be read.
pub const MIN_VERSION: f64 = 62.0;

/// The FROM object of a statement, for messages.
pub fn object_of(soql: &str) -> String {
    let upper = soql.to_ascii_uppercase();
    // The last top-level FROM (a child subquery's FROM comes earlier, inside parentheses).
    let mut depth = 0i32;
    let mut found = None;
    let bytes = upper.as_bytes();
    for (i, c) in bytes.iter().enumerate() {
        match c {
            b'(' => depth += 1,
            b')' => depth -= 1,
            _ if depth == 0 && upper[i..].starts_with(" FROM ") => found = Some(i + 6),
            _ => {}
        }
    }
    found
        .map(|i| soql[i..].split_whitespace().next().unwrap_or("").to_string())
        .unwrap_or_default()
}

/// Percent-encodes a query string value.
fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A quoted SOQL list of values, for `IN (...)`: only ids and API names, which never need
/// quoting beyond the quotes themselves; anything else is not sent.
pub fn soql_list<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let quoted: Vec<String> = values
        .into_iter()
        .filter(|v| is_api_name(v))
        .map(|v| format!("'{v}'"))
        .collect();
    (!quoted.is_empty()).then(|| format!("({})", quoted.join(", ")))
}

/// The values as quoted `IN (...)` lists of at most `max_chars` characters each (a value longer
/// than that on its own gets a list of its own); what is not an id, API name or username is
/// left out.
pub fn soql_lists<'a>(values: impl IntoIterator<Item = &'a str>, max_chars: usize) -> Vec<String> {
    let mut lists = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut length = 2;
    for value in values.into_iter().filter(|v| is_api_name(v)) {
        let quoted = format!("'{value}'");
        let added = quoted.len() + if current.is_empty() { 0 } else { 2 };
        if !current.is_empty() && length + added > max_chars {
            lists.push(format!("({})", current.join(", ")));
            current.clear();
            length = 2;
        }
        length += quoted.len() + if current.is_empty() { 0 } else { 2 };
        current.push(quoted);
    }
    if !current.is_empty() {
        lists.push(format!("({})", current.join(", ")));
    }
    lists
}

/// A Salesforce id or API name (`LeadLookupController`, `ns__Class`, `0055g00000AgEnTAAV`),
/// or a username (`name@domain`): what may be placed in a SOQL literal.
pub fn is_api_name(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 255
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '@' | '.' | '-' | '+'))
}

/// Whether a value looks like a Salesforce record id (15 or 18 alphanumerics).
pub fn is_id(value: &str) -> bool {
    matches!(value.len(), 15 | 18) && value.chars().all(|c| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    #[test]
    fn in_lists_stay_within_their_length() {
        let ids: Vec<String> = (0..1000).map(|n| format!("005Dn0000A{n:05}IQE")).collect();
        let lists = super::soql_lists(ids.iter().map(String::as_str), 3800);
        assert!(
            lists.iter().all(|l| l.len() <= 3800),
            "{:?}",
            lists.iter().map(|l| l.len()).collect::<Vec<_>>()
        );
        let joined = lists.join("");
        assert!(
            ids.iter().all(|id| joined.contains(&format!("'{id}'"))),
            "every id is sent once"
        );
        assert_eq!(lists.len(), 1000_usize.div_ceil(3800 / 22));
        assert_eq!(super::soql_lists(["bad'value", "ok"], 3800), vec!["('ok')".to_string()]);
        assert!(super::soql_lists([], 3800).is_empty());
    }

    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn limit_info_header_is_read_with_and_without_bursts() {
        let mut h = HeaderMap::new();
        h.insert("Sforce-Limit-Info", HeaderValue::from_static("api-usage=10018/100000"));
        assert_eq!(limit_info(&h), Some((10018, 100000)));
        h.insert(
            "Sforce-Limit-Info",
            HeaderValue::from_static("api-usage=5/15000; api-bursts=1/750"),
        );
        assert_eq!(limit_info(&h), Some((5, 15000)));
        h.insert(
            "Sforce-Limit-Info",
            HeaderValue::from_static("per-app-api-usage=17/250(appName=x)"),
        );
        assert_eq!(limit_info(&h), None);
    }

    #[test]
    fn request_limit_errors_are_throttling_daily_or_concurrent() {
        let daily = r#"[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#;
        assert_eq!(disposition(403, daily), Some(Disposition::Exhausted));
        let concurrent =
            r#"[{"message":"ConcurrentPerOrgLongTxn Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#;
        assert_eq!(disposition(403, concurrent), Some(Disposition::Throttle));
        let session = r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#;
        assert_eq!(disposition(403, session), Some(Disposition::Refresh));
        let other = r#"[{"message":"sObject type 'X' is not supported.","errorCode":"INVALID_TYPE"}]"#;
        assert_eq!(disposition(400, other), None);
        assert_eq!(
            crate::http::error_message(other.into(), &API_HOOKS),
            "INVALID_TYPE: sObject type 'X' is not supported."
        );
    }

    #[test]
    fn only_ids_and_api_names_go_into_soql_literals() {
        assert_eq!(
            soql_list(["0055g00000AgEnTAAV", "a' OR Id != '", "LeadLookupController"]).as_deref(),
            Some("('0055g00000AgEnTAAV', 'LeadLookupController')")
        );
        assert_eq!(soql_list(["x y"]), None);
        assert!(is_id("0055g00000AgEnTAAV") && !is_id("0055g"));
    }

    #[test]
    fn the_top_level_from_names_the_object() {
        assert_eq!(
            object_of("SELECT Id, (SELECT Id FROM BotVersions) FROM BotDefinition"),
            "BotDefinition"
        );
        assert_eq!(object_of("SELECT COUNT() FROM Lead WHERE LeadSource = 'Web'"), "Lead");
    }
}
