//! The instance host's REST API under `/services/data/` (reference §1.9, §2.0, §2.10, §3,
//! §8.2, §8.3, §8.5, §8.6): versions, resources, limits, describe-global, data and Tooling
//! SOQL with `nextRecordsUrl` paging, the Connect prompt-template list, `/composite` and
//! `/composite/batch`.
//!
//! Accounting: every request but the versions list needs a live session (401
//! `INVALID_SESSION_ID`), counts one against the daily allocation (a `/composite` counts one,
//! a `/composite/batch` one per subrequest), and answers with `Sforce-Limit-Info`. An
//! exhausted allocation is 403 `TotalRequests Limit exceeded.`; a concurrency storm is 403
//! `ConcurrentPerOrgLongTxn Limit exceeded.`, both `REQUEST_LIMIT_EXCEEDED`.

use super::published::{self, Api};
use super::{lock, log_request, scenarios, session, soql, Ctx, Locator, SimState, LOCATOR_CAP};
use axum::{
    body::Bytes,
    extract::State,
    http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use serde_json::{json, Map, Value};

/// An answer before it becomes an HTTP response or a composite item.
struct Answer {
    status: StatusCode,
    body: Value,
}

impl Answer {
    fn ok(body: Value) -> Self {
        Answer {
            status: StatusCode::OK,
            body,
        }
    }

    /// Salesforce's error body: always an array.
    fn error(status: StatusCode, code: &str, message: &str) -> Self {
        Answer {
            status,
            body: json!([{"message": message, "errorCode": code}]),
        }
    }

    fn not_found() -> Self {
        Answer::error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The requested resource does not exist",
        )
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    response
}

/// `'62.0'` → `Winter '25` (three releases a year from Winter '25 = 62.0).
fn release_label(version: &str) -> String {
    let major = version
        .split('.')
        .next()
        .and_then(|m| m.parse::<i64>().ok())
        .unwrap_or(62);
    let n = major - 62;
    let season = ["Winter", "Spring", "Summer"][n.rem_euclid(3) as usize];
    format!("{season} '{}", 25 + n.div_euclid(3))
}

/// `GET /services/data/`: the versions list; no session needed, not counted, no
/// `Sforce-Limit-Info` (reference §1.9, §8.6).
pub(super) async fn versions(State(ctx): State<Ctx>) -> Response {
    let mut s = lock(&ctx.state);
    s.stats.rest_requests += 1;
    log_request(&mut s, json!({"method": "GET", "path": "/services/data/"}));
    let list: Vec<Value> = s
        .config
        .versions
        .iter()
        .map(|v| json!({"label": release_label(v), "url": format!("/services/data/v{v}"), "version": v}))
        .collect();
    json_response(StatusCode::OK, &Value::Array(list))
}

/// Every other `/services/data/...` request.
pub(super) async fn handle(
    State(ctx): State<Ctx>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut s = lock(&ctx.state);
    s.stats.rest_requests += 1;
    let path = uri.path().to_string();
    let params: Vec<(String, String)> = url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let mut entry = json!({"method": method.as_str(), "path": path});
    if let Some((_, q)) = params.iter().find(|(k, _)| k == "q") {
        entry["q"] = json!(q);
    }
    log_request(&mut s, entry);
    let rest = path.strip_prefix("/services/data/").unwrap_or("");
    let segments: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
    let is_batch = segments.len() == 3 && segments[1] == "composite" && segments[2] == "batch";
    let answer = match admit(&mut s, &headers, if is_batch { 0 } else { 1 }) {
        Err(refusal) => refusal,
        Ok(()) => route(&mut s, &method, &segments, &params, &headers, &body, false),
    };
    let mut response = json_response(answer.status, &answer.body);
    let usage = format!("api-usage={}/{}", s.api_used, s.config.daily_max);
    if let Ok(v) = HeaderValue::from_str(&usage) {
        response.headers_mut().insert("Sforce-Limit-Info", v);
    }
    response
}

/// The session, the concurrency storm and the daily allocation, in that order.
fn admit(s: &mut SimState, headers: &HeaderMap, cost: u64) -> Result<(), Answer> {
    if session(s, headers).is_none() {
        s.stats.unauthorized += 1;
        return Err(Answer::error(
            StatusCode::UNAUTHORIZED,
            "INVALID_SESSION_ID",
            "Session expired or invalid",
        ));
    }
    if s.storm > 0 {
        s.storm -= 1;
        s.stats.limited += 1;
        return Err(Answer::error(
            StatusCode::FORBIDDEN,
            "REQUEST_LIMIT_EXCEEDED",
            "ConcurrentPerOrgLongTxn Limit exceeded.",
        ));
    }
    if cost > 0 {
        charge(s)?;
    }
    Ok(())
}

/// Counts one request against the daily allocation, or refuses it.
fn charge(s: &mut SimState) -> Result<(), Answer> {
    if s.api_used >= s.config.daily_max {
        s.stats.limited += 1;
        return Err(Answer::error(
            StatusCode::FORBIDDEN,
            "REQUEST_LIMIT_EXCEEDED",
            "TotalRequests Limit exceeded.",
        ));
    }
    s.api_used += 1;
    Ok(())
}

fn method_not_allowed(method: &Method, allowed: &str) -> Answer {
    Answer::error(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        &format!("HTTP Method '{method}' not allowed. Allowed are {allowed}"),
    )
}

/// One admitted request: `segments` starts with `vNN.N`.
fn route(
    s: &mut SimState,
    method: &Method,
    segments: &[&str],
    params: &[(String, String)],
    headers: &HeaderMap,
    body: &[u8],
    nested: bool,
) -> Answer {
    let Some((first, rest)) = segments.split_first() else {
        return Answer::not_found();
    };
    let Some(version) = first
        .strip_prefix('v')
        .filter(|v| s.config.versions.iter().any(|known| known == v))
    else {
        return Answer::not_found();
    };
    let version = version.to_string();
    let param = |k: &str| params.iter().find(|(name, _)| name == k).map(|(_, v)| v.as_str());
    let get_only = |answer: &dyn Fn() -> Answer| {
        if method == Method::GET || method == Method::HEAD {
            answer()
        } else {
            method_not_allowed(method, "GET,HEAD")
        }
    };
    match rest {
        [] => get_only(&|| Answer::ok(resources(&version))),
        ["limits"] => get_only(&|| Answer::ok(limits(s))),
        ["sobjects"] => get_only(&|| Answer::ok(describe_global(s, Api::Data))),
        ["tooling", "sobjects"] => get_only(&|| Answer::ok(describe_global(s, Api::Tooling))),
        ["query"] | ["queryAll"] | ["tooling", "query"] | ["tooling", "queryAll"] if method == Method::GET => {
            let api = if rest[0] == "tooling" { Api::Tooling } else { Api::Data };
            let page = page_size(s, headers);
            run_query(s, api, &version, param("q"), page)
        }
        ["query", locator] | ["queryAll", locator] if method == Method::GET => {
            query_more(s, Api::Data, &version, locator)
        }
        ["tooling", "query", locator] | ["tooling", "queryAll", locator] if method == Method::GET => {
            query_more(s, Api::Tooling, &version, locator)
        }
        ["einstein", "prompt-templates"] if method == Method::GET => prompt_templates(s, &version, params),
        ["composite"] if !nested && method == Method::POST => composite(s, &version, headers, body),
        ["composite", "batch"] if !nested && method == Method::POST => batch(s, &version, headers, body),
        ["query"] | ["queryAll"] | ["tooling", "query"] | ["query", _] | ["tooling", "query", _] => {
            method_not_allowed(method, "GET,HEAD")
        }
        ["einstein", "prompt-templates"] => method_not_allowed(method, "GET,HEAD"),
        ["composite"] | ["composite", "batch"] if !nested => method_not_allowed(method, "POST"),
        _ => Answer::not_found(),
    }
}

fn resources(version: &str) -> Value {
    let base = format!("/services/data/v{version}");
    let mut out = Map::new();
    for name in [
        "tooling",
        "metadata",
        "query",
        "queryAll",
        "limits",
        "sobjects",
        "composite",
        "connect",
        "einstein",
        "actions",
        "search",
    ] {
        out.insert(name.into(), json!(format!("{base}/{name}")));
    }
    Value::Object(out)
}

fn limits(s: &SimState) -> Value {
    let max = s.config.daily_max;
    json!({
        "DailyApiRequests": {"Max": max, "Remaining": max.saturating_sub(s.api_used)},
        "DailyAsyncApexExecutions": {"Max": 250000, "Remaining": 249990},
        "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
        "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
        "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
        "DataStorageMB": {"Max": 5120, "Remaining": 4301},
        "FileStorageMB": {"Max": 20480, "Remaining": 19877},
    })
}

fn unsupported(s: &SimState, api: Api) -> Vec<&'static str> {
    if api == Api::Tooling && !s.config.prompt_templates_on_tooling {
        vec!["GenAiPromptTemplate"]
    } else {
        Vec::new()
    }
}

/// `GET .../sobjects` and `.../tooling/sobjects`: what each endpoint answers queries for.
fn describe_global(s: &SimState, api: Api) -> Value {
    let hidden = unsupported(s, api);
    let sobjects: Vec<Value> = published::objects(api)
        .into_iter()
        .filter(|o| !hidden.contains(&o.name.as_str()))
        .map(|o| json!({"name": o.name, "label": o.name, "queryable": true, "retrieveable": true, "custom": false}))
        .collect();
    json!({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects})
}

/// `Sforce-Query-Options: batchSize=N` (200..2000) lowers the configured page size.
fn page_size(s: &SimState, headers: &HeaderMap) -> usize {
    let configured = s.config.page_size.max(1);
    let asked = headers
        .get("sforce-query-options")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split([',', ';'])
                .find_map(|p| p.trim().strip_prefix("batchSize=").map(str::to_string))
        })
        .and_then(|n| n.trim().parse::<usize>().ok())
        .filter(|n| (200..=2000).contains(n));
    asked.map_or(configured, |n| n.min(configured))
}

fn run_query(s: &mut SimState, api: Api, version: &str, q: Option<&str>, page: usize) -> Answer {
    let Some(q) = q.filter(|q| !q.trim().is_empty()) else {
        return Answer::error(
            StatusCode::BAD_REQUEST,
            "MALFORMED_QUERY",
            "A query string has to be specified",
        );
    };
    if let Ok(parsed) = soql::parse(q) {
        let name = published::object(api, &parsed.from)
            .map(|o| o.name.clone())
            .unwrap_or(parsed.from);
        *s.stats.by_object.entry(name).or_default() += 1;
    }
    let hidden = unsupported(s, api);
    let outcome = soql::Ctx {
        api,
        version,
        tables: &s.org.tables,
        unsupported: &hidden,
    }
    .run(q);
    match outcome {
        Err(e) => Answer::error(StatusCode::BAD_REQUEST, e.code, &e.message),
        Ok(outcome) => {
            let total = outcome.total;
            if outcome.records.len() <= page {
                return Answer::ok(result_page(api, version, &outcome.object, total, outcome.records, None));
            }
            s.locator_seq += 1;
            let id = scenarios::with_suffix(&format!("01gSIM{:09}", s.locator_seq % 1_000_000_000));
            let first = outcome.records[..page].to_vec();
            if s.locators.len() >= LOCATOR_CAP {
                s.locators.pop_front();
            }
            s.locators.push_back((
                id.clone(),
                Locator {
                    api,
                    entity: outcome.object.clone(),
                    records: outcome.records,
                    page,
                },
            ));
            Answer::ok(result_page(
                api,
                version,
                &outcome.object,
                total,
                first,
                Some(format!("{id}-{page}")),
            ))
        }
    }
}

/// A QueryResult: `totalSize`, `done`, `records`, `nextRecordsUrl` while not done; Tooling
/// adds `size`, `entityTypeName` and `queryLocator` (null on the last page, §8.2).
fn result_page(
    api: Api,
    version: &str,
    entity: &str,
    total: usize,
    records: Vec<Value>,
    next: Option<String>,
) -> Value {
    let mut body = json!({"totalSize": total, "done": next.is_none(), "records": records});
    let prefix = match api {
        Api::Data => format!("/services/data/v{version}/query"),
        Api::Tooling => format!("/services/data/v{version}/tooling/query"),
    };
    if let Some(next) = &next {
        body["nextRecordsUrl"] = json!(format!("{prefix}/{next}"));
    }
    if api == Api::Tooling {
        body["size"] = json!(total);
        body["entityTypeName"] = json!(entity);
        body["queryLocator"] = next.map_or(Value::Null, Value::String);
    }
    body
}

fn query_more(s: &mut SimState, api: Api, version: &str, locator: &str) -> Answer {
    s.stats.query_more += 1;
    let invalid = || {
        Answer::error(
            StatusCode::BAD_REQUEST,
            "INVALID_QUERY_LOCATOR",
            "invalid query locator",
        )
    };
    let Some((id, offset)) = locator.rsplit_once('-') else {
        return invalid();
    };
    let Ok(offset) = offset.parse::<usize>() else {
        return invalid();
    };
    let Some((_, found)) = s.locators.iter().find(|(k, l)| k == id && l.api == api) else {
        return invalid();
    };
    if offset >= found.records.len() {
        return invalid();
    }
    let end = (offset + found.page).min(found.records.len());
    let next = (end < found.records.len()).then(|| format!("{id}-{end}"));
    Answer::ok(result_page(
        api,
        version,
        &found.entity,
        found.records.len(),
        found.records[offset..end].to_vec(),
        next,
    ))
}

/// Connect REST `GET .../einstein/prompt-templates` (reference §8.3): `isActive`, `offset`,
/// `pageLimit` (default 50), `relatedEntity`, `type`, `query`; records with `apiName` and
/// `fields.{DeveloperName,MasterLabel,IsActive}.value`.
fn prompt_templates(s: &SimState, version: &str, params: &[(String, String)]) -> Answer {
    if version
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok())
        .unwrap_or(0)
        < 62
    {
        return Answer::not_found();
    }
    let param = |k: &str| params.iter().find(|(name, _)| name == k).map(|(_, v)| v.as_str());
    let number = |k: &str, default: usize| -> Result<usize, Answer> {
        match param(k) {
            None | Some("") => Ok(default),
            Some(v) => v.parse::<usize>().map_err(|_| {
                Answer::error(
                    StatusCode::BAD_REQUEST,
                    "INVALID_API_INPUT",
                    &format!("Invalid value for {k}: {v}"),
                )
            }),
        }
    };
    let (offset, limit) = match (number("offset", 0), number("pageLimit", 50)) {
        (Ok(o), Ok(l)) if (1..=2000).contains(&l) => (o, l),
        (Err(e), _) | (_, Err(e)) => return e,
        _ => {
            return Answer::error(
                StatusCode::BAD_REQUEST,
                "INVALID_API_INPUT",
                "pageLimit must be between 1 and 2000",
            )
        }
    };
    let only_active = param("isActive").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let text = |r: &soql::Record, k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let mut rows: Vec<&soql::Record> = s
        .org
        .tables
        .rows("GenAiPromptTemplate")
        .iter()
        .filter(|r| !only_active || r.get("IsActive") == Some(&json!(true)))
        .filter(|r| param("relatedEntity").is_none_or(|e| text(r, "RelatedEntity").eq_ignore_ascii_case(e)))
        .filter(|r| param("type").is_none_or(|t| text(r, "Type").eq_ignore_ascii_case(t)))
        .filter(|r| {
            param("query").is_none_or(|q| {
                let q = q.to_lowercase();
                text(r, "DeveloperName").to_lowercase().contains(&q)
                    || text(r, "MasterLabel").to_lowercase().contains(&q)
            })
        })
        .collect();
    rows.sort_by_key(|r| text(r, "DeveloperName"));
    let total = rows.len();
    let records: Vec<Value> = rows
        .iter()
        .skip(offset)
        .take(limit)
        .map(|r| {
            json!({"apiName": text(r, "DeveloperName"), "childRelationships": {}, "fields": {
                "DeveloperName": {"value": r.get("DeveloperName")},
                "MasterLabel": {"value": r.get("MasterLabel")},
                "IsActive": {"value": r.get("IsActive").and_then(Value::as_bool).unwrap_or(false)},
            }})
        })
        .collect();
    Answer::ok(json!({
        "promptRecords": records,
        "hasMoreRecords": offset.saturating_add(limit) < total,
        "totalPromptRecords": total,
    }))
}

/// A subrequest URL's path segments (from `vNN.N`) and query parameters.
fn split_url(url: &str) -> (Vec<String>, Vec<(String, String)>) {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let path = path.trim_start_matches('/');
    let path = path.strip_prefix("services/data/").unwrap_or(path);
    let segments = path.split('/').filter(|p| !p.is_empty()).map(str::to_string).collect();
    let params = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    (segments, params)
}

fn is_query_url(segments: &[String]) -> bool {
    let rest: Vec<&str> = segments.iter().skip(1).map(String::as_str).collect();
    matches!(
        rest.as_slice(),
        ["query", ..]
            | ["queryAll", ..]
            | ["tooling", "query", ..]
            | ["tooling", "queryAll", ..]
            | ["composite", "sobjects", ..]
    )
}

/// Replaces `@{refId.path}` with a value from an earlier subrequest's body
/// (`@{bots.records[0].Id}`).
fn resolve_refs(url: &str, bodies: &Map<String, Value>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = url;
    while let Some(start) = rest.find("@{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            return Err("unterminated reference".into());
        };
        let expr = &rest[start + 2..start + end];
        let mut parts = expr.split('.');
        let reference = parts.next().unwrap_or("");
        let mut value = bodies
            .get(reference)
            .ok_or_else(|| format!("Invalid reference specified. No value for {expr} found in {reference}."))?;
        for part in parts {
            let (name, indexes) = part.split_once('[').map_or((part, ""), |(n, i)| (n, i));
            if !name.is_empty() {
                value = value.get(name).ok_or_else(|| format!("No value for {expr}"))?;
            }
            for index in indexes.split('[').filter(|i| !i.is_empty()) {
                let i: usize = index
                    .trim_end_matches(']')
                    .parse()
                    .map_err(|_| format!("Bad index in {expr}"))?;
                value = value.get(i).ok_or_else(|| format!("No value for {expr}"))?;
            }
        }
        match value {
            Value::String(v) => out.push_str(v),
            Value::Null => return Err(format!("No value for {expr}")),
            other => out.push_str(&other.to_string()),
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn parse_body(body: &[u8]) -> Result<Value, Answer> {
    serde_json::from_slice(body).map_err(|e| {
        Answer::error(
            StatusCode::BAD_REQUEST,
            "JSON_PARSER_ERROR",
            &format!("Unexpected character: {e}"),
        )
    })
}

fn sub_method(v: &Value) -> Method {
    v.get("method")
        .and_then(Value::as_str)
        .and_then(|m| Method::from_bytes(m.to_ascii_uppercase().as_bytes()).ok())
        .unwrap_or(Method::GET)
}

/// `POST .../composite` (reference §2.10, §8.5): up to 25 subrequests, at most 5 of them
/// queries; the whole call counts as one request.
fn composite(s: &mut SimState, version: &str, headers: &HeaderMap, body: &[u8]) -> Answer {
    let body = match parse_body(body) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let Some(subs) = body.get("compositeRequest").and_then(Value::as_array) else {
        return Answer::error(
            StatusCode::BAD_REQUEST,
            "INVALID_API_INPUT",
            "compositeRequest is required",
        );
    };
    if subs.len() > 25 {
        return Answer::error(
            StatusCode::BAD_REQUEST,
            "LIMIT_EXCEEDED",
            "Exceeded max limit of subrequests allowed. Max limit is 25",
        );
    }
    let queries = subs
        .iter()
        .filter(|r| is_query_url(&split_url(r.get("url").and_then(Value::as_str).unwrap_or("")).0))
        .count();
    if queries > 5 {
        return Answer::error(
            StatusCode::BAD_REQUEST,
            "LIMIT_EXCEEDED",
            "Exceeded max limit of query or sObject Collections subrequests allowed. Max limit is 5",
        );
    }
    let all_or_none = body.get("allOrNone").and_then(Value::as_bool).unwrap_or(false);
    let mut bodies = Map::new();
    let mut responses = Vec::new();
    let mut halted = false;
    for sub in subs {
        s.stats.composite_subrequests += 1;
        let reference = sub.get("referenceId").and_then(Value::as_str).unwrap_or("").to_string();
        let answer = if halted {
            Answer::error(
                StatusCode::BAD_REQUEST,
                "PROCESSING_HALTED",
                "The transaction was rolled back since another operation in the same transaction failed.",
            )
        } else if reference.is_empty() {
            Answer::error(StatusCode::BAD_REQUEST, "INVALID_API_INPUT", "referenceId is required")
        } else {
            let raw = sub.get("url").and_then(Value::as_str).unwrap_or("");
            match resolve_refs(raw, &bodies) {
                Err(message) => Answer::error(StatusCode::BAD_REQUEST, "INVALID_API_INPUT", &message),
                Ok(url) if !url.starts_with("/services/data/") => Answer::error(
                    StatusCode::BAD_REQUEST,
                    "INVALID_API_INPUT",
                    "The url must begin with /services/data/",
                ),
                Ok(url) => sub_request(s, &sub_method(sub), &url, version, headers, "composite"),
            }
        };
        if all_or_none && answer.status.as_u16() >= 400 {
            halted = true;
        }
        bodies.insert(reference.clone(), answer.body.clone());
        responses.push(
            json!({"body": answer.body, "httpHeaders": {}, "httpStatusCode": answer.status.as_u16(),
            "referenceId": reference}),
        );
    }
    Answer::ok(json!({ "compositeResponse": responses }))
}

/// One composite or batch item, dispatched like a top-level request but without admission.
fn sub_request(s: &mut SimState, method: &Method, url: &str, version: &str, headers: &HeaderMap, via: &str) -> Answer {
    let (segments, params) = split_url(url);
    let mut entry =
        json!({"method": method.as_str(), "path": format!("/services/data/{}", segments.join("/")), "via": via});
    if let Some((_, q)) = params.iter().find(|(k, _)| k == "q") {
        entry["q"] = json!(q);
    }
    log_request(s, entry);
    // Subrequest versions may not be newer than the call's own.
    let sub_version = segments
        .first()
        .and_then(|v| v.strip_prefix('v'))
        .and_then(|v| v.parse::<f64>().ok());
    let own = version.parse::<f64>().unwrap_or(0.0);
    if sub_version.is_none_or(|v| v > own || v < 34.0) {
        return Answer::error(
            StatusCode::BAD_REQUEST,
            "INVALID_BATCH_REQUEST",
            &format!("The subrequest URL {url} must use a version between 34.0 and {version}"),
        );
    }
    if method != Method::GET {
        return method_not_allowed(method, "GET,HEAD");
    }
    let refs: Vec<&str> = segments.iter().map(String::as_str).collect();
    route(s, method, &refs, &params, headers, &[], true)
}

/// `POST .../composite/batch` (reference §2.10, §8.5): up to 25 independent subrequests,
/// each counted; `haltOnError` answers later ones 412 `BATCH_PROCESSING_HALTED`.
fn batch(s: &mut SimState, version: &str, headers: &HeaderMap, body: &[u8]) -> Answer {
    let body = match parse_body(body) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let Some(subs) = body.get("batchRequests").and_then(Value::as_array) else {
        return Answer::error(
            StatusCode::BAD_REQUEST,
            "INVALID_API_INPUT",
            "batchRequests is required",
        );
    };
    if subs.len() > 25 {
        return Answer::error(
            StatusCode::BAD_REQUEST,
            "LIMIT_EXCEEDED",
            "A batch cannot contain more than 25 requests",
        );
    }
    let halt_on_error = body.get("haltOnError").and_then(Value::as_bool).unwrap_or(false);
    let mut halted = false;
    let mut has_errors = false;
    let mut results = Vec::new();
    for sub in subs {
        s.stats.batch_subrequests += 1;
        let answer = if halted {
            Answer {
                status: StatusCode::PRECONDITION_FAILED,
                body: json!([{"errorCode": "BATCH_PROCESSING_HALTED",
                    "message": "Batch processing halted per request"}]),
            }
        } else {
            match charge(s) {
                Err(refusal) => refusal,
                Ok(()) => {
                    let url = sub.get("url").and_then(Value::as_str).unwrap_or("");
                    sub_request(s, &sub_method(sub), url, version, headers, "batch")
                }
            }
        };
        if answer.status.as_u16() >= 400 {
            has_errors = true;
            if halt_on_error {
                halted = true;
            }
        }
        results.push(json!({"statusCode": answer.status.as_u16(), "result": answer.body}));
    }
    Answer::ok(json!({"hasErrors": has_errors, "results": results}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_labels_follow_the_three_a_year_cadence() {
        assert_eq!(release_label("62.0"), "Winter '25");
        assert_eq!(release_label("64.0"), "Summer '25");
        assert_eq!(release_label("66.0"), "Spring '26");
        assert_eq!(release_label("68.0"), "Winter '27");
        assert_eq!(release_label("61.0"), "Summer '24");
    }

    #[test]
    fn references_resolve_into_earlier_bodies() {
        let mut bodies = Map::new();
        bodies.insert("bots".into(), json!({"records": [{"Id": "0XxA"}], "totalSize": 1}));
        assert_eq!(
            resolve_refs(
                "/services/data/v66.0/query?q=x+@{bots.records[0].Id}+@{bots.totalSize}",
                &bodies
            )
            .unwrap(),
            "/services/data/v66.0/query?q=x+0XxA+1"
        );
        assert!(resolve_refs("@{nope.x}", &bodies).is_err());
        assert!(resolve_refs("@{bots.records[9].Id}", &bodies).is_err());
        assert!(resolve_refs("@{bots", &bodies).is_err());
    }
}
