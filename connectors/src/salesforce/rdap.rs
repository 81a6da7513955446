//! Whether the domains behind the org's Trusted URLs are still registered (ForcedLeak, §4.1:
//! an allowlisted domain whose registration lapsed could be bought by anyone and receive what
//! an agent's answer leaks). Salesforce does not know; RDAP (RFC 9082/9083) does. Only the
//! registered domain leaves aispm, never the org's data or a token; `rdap_url = off` skips it,
//! and an answer that cannot be read leaves the domain "unknown" (rules then do not assess it).

use crate::ResourcePart;
use schemas::CoverageStatus;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

pub const DEFAULT_RDAP_URL: &str = "https://rdap.org/";
/// Domains looked up per scan at most: the list is the customer's, its length is not ours.
const MAX_LOOKUPS: usize = 200;
const MAX_ANSWER_BYTES: usize = 256 * 1024;

pub struct Rdap {
    base: Option<String>,
    http: reqwest::Client,
}

impl Rdap {
    pub fn new(setting: Option<&str>) -> Result<Self, String> {
        let base = match setting.map(str::trim) {
            Some("off") | Some("none") => None,
            Some(url) => {
                let parsed = url::Url::parse(url).map_err(|e| format!("rdap_url {url:?}: {e}"))?;
                if !matches!(parsed.scheme(), "https" | "http") {
                    return Err(format!("rdap_url {url:?}: not an http(s) URL"));
                }
                Some(format!("{}/", url.trim_end_matches('/')))
            }
            None => Some(DEFAULT_RDAP_URL.to_string()),
        };
        let http = reqwest::Client::builder()
            // rdap.org answers with a redirect to the registry's own RDAP server.
            .redirect(reqwest::redirect::Policy::limited(3))
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("aispm/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Rdap { base, http })
    }

    /// One record per registered domain of the active Trusted URLs:
    /// `{domain, status: registered|lapsed|unregistered|unknown, expires, reason}`.
    pub async fn registrations(&self, resource: &str, sites: &[Value]) -> ResourcePart {
        let mut domains: BTreeMap<String, ()> = BTreeMap::new();
        for site in sites
            .iter()
            .filter(|s| s.get("IsActive").and_then(Value::as_bool).unwrap_or(false))
        {
            if let Some(domain) = site
                .get("EndpointUrl")
                .and_then(Value::as_str)
                .and_then(registered_domain)
            {
                domains.insert(domain, ());
            }
        }
        let Some(base) = &self.base else {
            return ResourcePart::gap(
                resource,
                CoverageStatus::Unavailable,
                "not checked: the connection's rdap_url is off".into(),
                Vec::new(),
                0,
            );
        };
        let mut records = Vec::new();
        let mut unknown = 0;
        for domain in domains.keys().take(MAX_LOOKUPS) {
            let record = self.lookup(base, domain).await;
            unknown += usize::from(record["status"] == "unknown");
            records.push(record);
        }
        let requests = records.len() as u64;
        let mut part = ResourcePart::collected(resource, records, requests);
        if domains.len() > MAX_LOOKUPS {
            part.coverage.error = Some(format!(
                "only the first {MAX_LOOKUPS} of {} domains were checked",
                domains.len()
            ));
        } else if unknown > 0 {
            part.coverage.error = Some(format!("{unknown} domain(s) could not be checked"));
        }
        part
    }

    async fn lookup(&self, base: &str, domain: &str) -> Value {
        let url = format!("{base}domain/{}", crate::http::path_segment(domain));
        let answer = match self
            .http
            .get(&url)
            .header("Accept", "application/rdap+json")
            .send()
            .await
        {
            Ok(a) => a,
            Err(e) => return unknown(domain, &format!("RDAP unreachable: {}", e.without_url())),
        };
        let status = answer.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return json!({"domain": domain, "status": "unregistered", "expires": null, "reason": "RDAP has no registration for it"});
        }
        if !status.is_success() {
            return unknown(domain, &format!("RDAP answered HTTP {status}"));
        }
        if answer.content_length().is_some_and(|n| n > MAX_ANSWER_BYTES as u64) {
            return unknown(domain, "the RDAP answer is too large");
        }
        match answer.bytes().await {
            Ok(bytes) if bytes.len() <= MAX_ANSWER_BYTES => match serde_json::from_slice::<Value>(&bytes) {
                Ok(body) => registration(domain, &body, chrono::Utc::now()),
                Err(_) => unknown(domain, "the RDAP answer is not JSON"),
            },
            _ => unknown(domain, "the RDAP answer could not be read"),
        }
    }
}

fn unknown(domain: &str, reason: &str) -> Value {
    json!({"domain": domain, "status": "unknown", "expires": null, "reason": reason})
}

/// Reads an RDAP domain object (RFC 9083 §5.3): lapsed when its expiration event is past or
/// its status says the registry is deleting it.
pub fn registration(domain: &str, body: &Value, now: chrono::DateTime<chrono::Utc>) -> Value {
    let expires = body
        .get("events")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|e| e.get("eventAction").and_then(Value::as_str) == Some("expiration"))
        .and_then(|e| e.get("eventDate").and_then(Value::as_str))
        .map(str::to_string);
    let statuses: Vec<String> = body
        .get("status")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_ascii_lowercase)
        .collect();
    let past = expires
        .as_deref()
        .and_then(|e| chrono::DateTime::parse_from_rfc3339(e).ok())
        .is_some_and(|e| e.with_timezone(&chrono::Utc) < now);
    let deleting = statuses
        .iter()
        .any(|s| s.contains("pending delete") || s.contains("redemption period"));
    let (status, reason) = match (past, deleting) {
        (true, _) => ("lapsed", "its registration expired"),
        (_, true) => ("lapsed", "the registry is deleting it"),
        _ => ("registered", "registered"),
    };
    json!({"domain": domain, "status": status, "expires": expires, "reason": reason})
}

/// The registered domain of a Trusted URL's host (`https://*.cdn.example.co.uk:8443/x` →
/// `example.co.uk`); `None` for IP addresses, single labels and Salesforce's own domains.
pub fn registered_domain(endpoint: &str) -> Option<String> {
    let text = endpoint.trim();
    let host_part = text.split("://").nth(1).unwrap_or(text);
    let host = host_part
        .split(['/', '?', '#'])
        .next()?
        .rsplit('@')
        .next()?
        .split(':')
        .next()?
        .trim_start_matches("*.")
        .trim_matches('.')
        .to_ascii_lowercase();
    if host.parse::<std::net::IpAddr>().is_ok() || !host.contains('.') || host.contains('*') {
        return None;
    }
    let labels: Vec<&str> = host.split('.').collect();
    // Country-code second levels (`co.uk`, `com.au`) keep a third label.
    let second_level = ["co", "com", "net", "org", "ac", "gov", "edu", "ne", "or"];
    let keep =
        if labels.len() >= 3 && labels[labels.len() - 1].len() == 2 && second_level.contains(&labels[labels.len() - 2])
        {
            3
        } else {
            2
        };
    let domain = labels[labels.len().saturating_sub(keep)..].join(".");
    let salesforce = ["salesforce.com", "force.com", "salesforce-sites.com", "sfdcstatic.com"];
    (!salesforce.contains(&domain.as_str())).then_some(domain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_domains_of_trusted_urls() {
        assert_eq!(
            registered_domain("https://cdn.old-campaign-site.example").as_deref(),
            Some("old-campaign-site.example")
        );
        assert_eq!(
            registered_domain("https://*.partner-portal.example").as_deref(),
            Some("partner-portal.example")
        );
        assert_eq!(
            registered_domain("https://img.shop.example.co.uk:8443/a?b").as_deref(),
            Some("example.co.uk")
        );
        assert_eq!(registered_domain("https://10.0.0.1"), None);
        assert_eq!(registered_domain("https://acme.my.salesforce.com"), None);
        assert_eq!(registered_domain("localhost"), None);
        assert_eq!(registered_domain("https://*"), None);
    }

    #[test]
    fn rdap_answers_say_registered_or_lapsed() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let live = json!({"objectClassName": "domain", "status": ["active"], "events": [{"eventAction": "expiration", "eventDate": "2027-05-01T00:00:00Z"}]});
        assert_eq!(registration("a.example", &live, now)["status"], "registered");
        let past = json!({"events": [{"eventAction": "expiration", "eventDate": "2025-05-01T00:00:00Z"}]});
        assert_eq!(registration("a.example", &past, now)["status"], "lapsed");
        let deleting = json!({"status": ["pending delete"], "events": []});
        assert_eq!(registration("a.example", &deleting, now)["status"], "lapsed");
    }
}
