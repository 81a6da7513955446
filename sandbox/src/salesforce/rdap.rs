//! A registry's RDAP domain lookup (RFC 9082 query path, RFC 9083 answer), served on the
//! login host at `/rdap/domain/{domain}`. Domain expiry is not in Salesforce (reference §2.9):
//! the connector asks RDAP whether the registered domain of each Trusted URL host has lapsed
//! (the ForcedLeak weak link, §4.1).

use super::scenarios::{Org, Rdap};
use super::{lock, Ctx};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

const RDAP_JSON: &str = "application/rdap+json";

fn answer(status: StatusCode, body: Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, header::HeaderValue::from_static(RDAP_JSON));
    response
}

fn date(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The answer for `domain` (case-insensitive, a trailing dot ignored).
pub fn lookup(org: &Org, domain: &str) -> Response {
    let name = domain.trim_end_matches('.').to_ascii_lowercase();
    let valid = !name.is_empty()
        && name.len() <= 253
        && name
            .split('.')
            .all(|l| !l.is_empty() && l.len() <= 63 && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'));
    if !valid {
        return answer(
            StatusCode::BAD_REQUEST,
            json!({"errorCode": 400, "title": "Bad Request", "description": ["The domain name is not valid."],
                "rdapConformance": ["rdap_level_0"]}),
        );
    }
    let found = |events: Value, status: &str| {
        answer(
            StatusCode::OK,
            json!({"objectClassName": "domain", "rdapConformance": ["rdap_level_0"],
                "handle": format!("{}-SANDBOX", name.replace('.', "_").to_ascii_uppercase()),
                "ldhName": name, "status": [status], "events": events,
                "links": [{"value": format!("/rdap/domain/{name}"), "rel": "self",
                    "href": format!("/rdap/domain/{name}"), "type": RDAP_JSON}]}),
        )
    };
    match org.rdap.get(&name) {
        Some(Rdap::Registered { registered, expires }) => found(
            json!([{"eventAction": "registration", "eventDate": date(*registered)},
                {"eventAction": "expiration", "eventDate": date(*expires)}]),
            "active",
        ),
        Some(Rdap::PendingDelete { registered, expired }) => found(
            json!([{"eventAction": "registration", "eventDate": date(*registered)},
                {"eventAction": "expiration", "eventDate": date(*expired)}]),
            "pending delete",
        ),
        Some(Rdap::NotFound) | None => answer(
            StatusCode::NOT_FOUND,
            json!({"errorCode": 404, "title": "Not Found", "rdapConformance": ["rdap_level_0"]}),
        ),
    }
}

/// `GET /rdap/domain/{domain}` on the login host.
pub(super) async fn handle(State(ctx): State<Ctx>, Path(domain): Path<String>) -> Response {
    let mut s = lock(&ctx.state);
    s.stats.rdap_requests += 1;
    lookup(&s.org, &domain)
}
