//! Table API reads: `sysparm_fields`, `sysparm_limit`, stable order, and paging by the `Link`
//! header's `rel="next"` until it is absent (pages may be short: row ACLs apply after the
//! limit, so neither a short page nor `X-Total-Count` says the end is reached).

use crate::http::{header_number, origin, same_origin, ApiClient, ApiError, ApiHooks, MAX_PAGES};
use serde_json::Value;

/// How ServiceNow answers: `{"error": {"message", "detail"}}` bodies; the hourly budget of a
/// rate-limit rule in `X-RateLimit-Limit` and its window's end in `X-RateLimit-Reset`
/// (reference §3.4).
pub const API_HOOKS: ApiHooks = ApiHooks {
    error_message: |body| {
        let error = body.get("error")?;
        let message = error.get("message").and_then(Value::as_str).or(error.as_str())?;
        Some(
            match error.get("detail").and_then(Value::as_str).filter(|d| !d.is_empty()) {
                Some(detail) => format!("{message}: {detail}"),
                None => message.to_string(),
            },
        )
    },
    hourly_budget: |headers| header_number(headers, "x-ratelimit-limit"),
    window_reset: |headers| header_number(headers, "x-ratelimit-reset"),
    ..crate::http::PLAIN_HTTP
};

pub struct TableClient {
    pub api: ApiClient,
    /// `https://<instance>.service-now.com`, no trailing slash.
    pub instance_url: String,
    pub page_size: usize,
}

/// All rows one query returned, with what it cost.
#[derive(Debug, Default)]
pub struct TableRead {
    pub records: Vec<Value>,
    pub requests: u64,
}

/// Where a failed read stopped, and what it had spent.
pub struct ReadFailure {
    pub error: ApiError,
    pub requests: u64,
}

impl TableClient {
    pub fn first_page_url(&self, table: &str, fields: &[&str], query: &str) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        // A stable order keeps offset paging from skipping or repeating rows.
        let ordered = if query.is_empty() {
            "ORDERBYsys_id".to_string()
        } else {
            format!("{query}^ORDERBYsys_id")
        };
        q.append_pair("sysparm_query", &ordered);
        q.append_pair("sysparm_fields", &fields.join(","));
        q.append_pair("sysparm_limit", &self.page_size.to_string());
        q.append_pair("sysparm_offset", "0");
        q.append_pair("sysparm_exclude_reference_link", "true");
        q.append_pair("sysparm_display_value", "false");
        format!("{}/api/now/table/{table}?{}", self.instance_url, q.finish())
    }

    pub async fn read(&self, table: &str, fields: &[&str], query: &str) -> Result<TableRead, ReadFailure> {
        let mut out = TableRead::default();
        let mut url = self.first_page_url(table, fields, query);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..MAX_PAGES {
            if !seen.insert(url.clone()) {
                return Err(ReadFailure {
                    error: ApiError::Malformed {
                        url: table.to_string(),
                        reason: "the Link header pointed back to a page already read".into(),
                    },
                    requests: out.requests,
                });
            }
            // Count HTTP requests actually sent, retries after 429 or 401 included: that is
            // what the customer's API budget pays.
            let sent_before = self.api.stats.requests();
            let answer = self.api.get_json(&url).await;
            out.requests += self.api.stats.requests() - sent_before;
            let response = match answer {
                Ok(r) => r,
                Err(error) => {
                    return Err(ReadFailure {
                        error,
                        requests: out.requests,
                    })
                }
            };
            let Some(Value::Array(rows)) = response.body.get("result") else {
                return Err(ReadFailure {
                    error: ApiError::Malformed {
                        url: table.to_string(),
                        reason: "body has no \"result\" array".into(),
                    },
                    requests: out.requests,
                });
            };
            out.records.extend(rows.iter().cloned());
            let link = response
                .headers
                .get(reqwest::header::LINK)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            match next_link(link) {
                Some(next) if same_origin(&next, &self.instance_url) => url = next,
                Some(next) => {
                    // Never send the bearer token to a host other than the instance.
                    return Err(ReadFailure {
                        error: ApiError::Malformed {
                            url: table.to_string(),
                            reason: format!("next page link leaves the instance: {}", origin(&next)),
                        },
                        requests: out.requests,
                    });
                }
                None => return Ok(out),
            }
        }
        Err(ReadFailure {
            error: ApiError::Malformed {
                url: table.to_string(),
                reason: format!("more than {MAX_PAGES} pages"),
            },
            requests: out.requests,
        })
    }
}

/// The `rel="next"` target of a `Link` header. Lenient: accepts `<url>;rel="next"` (RFC 8288)
/// and the docs' bare `url;rel="next"`, and URLs that contain commas.
pub fn next_link(header: &str) -> Option<String> {
    let mut rest = header;
    while let Some(rel_at) = rest.find("rel=") {
        let (before, after) = rest.split_at(rel_at);
        let rel_value: String = after[4..]
            .trim_start_matches('"')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if rel_value == "next" {
            // The URL is the text between the previous entry's end and this `;rel=`.
            let entry = before.trim_end().trim_end_matches(';').trim_end();
            let start = entry
                .rfind(",<")
                .map(|i| i + 1)
                .or_else(|| entry.rfind(",http").map(|i| i + 1))
                .unwrap_or(0);
            let url = entry[start..].trim().trim_start_matches('<').trim_end_matches('>');
            return (!url.is_empty()).then(|| url.to_string());
        }
        rest = &after[4..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_link_from_rfc8288_header_with_commas_in_urls() {
        let h = r#"<https://acme.service-now.com/api/now/table/x?sysparm_fields=a,b&sysparm_offset=0>;rel="first",<https://acme.service-now.com/api/now/table/x?sysparm_fields=a,b&sysparm_offset=2>;rel="next",<https://acme.service-now.com/api/now/table/x?sysparm_fields=a,b&sysparm_offset=4>;rel="last""#;
        assert_eq!(
            next_link(h).as_deref(),
            Some("https://acme.service-now.com/api/now/table/x?sysparm_fields=a,b&sysparm_offset=2")
        );
    }

    #[test]
    fn next_link_from_bare_docs_style_header() {
        let h = r#"https://acme.service-now.com/api/now/table/x?sysparm_offset=0;rel="first",https://acme.service-now.com/api/now/table/x?sysparm_offset=2;rel="next""#;
        assert_eq!(
            next_link(h).as_deref(),
            Some("https://acme.service-now.com/api/now/table/x?sysparm_offset=2")
        );
    }

    #[test]
    fn no_next_on_last_page() {
        let h = r#"<https://a/x?o=0>;rel="first",<https://a/x?o=0>;rel="prev",<https://a/x?o=4>;rel="last""#;
        assert_eq!(next_link(h), None);
        assert_eq!(next_link(""), None);
    }

    #[test]
    fn error_envelope_and_rate_window_headers() {
        use crate::http::{error_message, wait_hint, MAX_VENDOR_WAIT};
        use reqwest::header::{HeaderMap, HeaderValue};
        use std::time::{Duration, SystemTime, UNIX_EPOCH};
        let body = r#"{"error":{"message":"Insufficient rights to query records","detail":"No permission"},"status":"failure"}"#;
        assert_eq!(
            error_message(body.into(), &API_HOOKS),
            "Insufficient rights to query records: No permission"
        );
        let mut h = HeaderMap::new();
        let reset = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + 40;
        h.insert("X-RateLimit-Reset", HeaderValue::from(reset));
        let wait = wait_hint(&h, &API_HOOKS).unwrap();
        assert!(
            wait >= Duration::from_secs(39) && wait <= Duration::from_secs(40),
            "{wait:?}"
        );
        h.insert("X-RateLimit-Reset", HeaderValue::from(u64::MAX));
        assert_eq!(
            wait_hint(&h, &API_HOOKS),
            Some(MAX_VENDOR_WAIT + Duration::from_secs(1))
        );
        h.insert("X-RateLimit-Limit", HeaderValue::from(1000));
        assert_eq!((API_HOOKS.hourly_budget)(&h), Some(1000));
    }

    #[test]
    fn origins_compare_scheme_host_port() {
        assert!(same_origin("http://127.0.0.1:8080/api?x", "http://127.0.0.1:8080"));
        assert!(!same_origin("http://evil.example/api", "http://127.0.0.1:8080"));
    }
}
