//! The Metadata API (SOAP) calls the settings and metadata reads need (reference §2.0, §8.8,
//! §9.1.1): `readMetadata` (one type, at most ten names per call) and `listMetadata`. Answers
//! are parsed with a real XML parser by local name, whatever the prefixes. A `records` element
//! that is nil, empty or has no `fullName` means "not found or not readable". Secrets the
//! answer may carry (a connected app's `consumerSecret`, §9.3) are dropped while parsing.

use super::auth::is_jwt_shaped;
use super::client::{BudgetSpent, OrgClient, ReadError, ReadFailure};
use crate::auth::TokenSource;
use crate::http::{ApiError, Disposition, RawBody};
use serde_json::{Map, Value};
use std::sync::atomic::Ordering;

const METADATA_NS: &str = "http://soap.sforce.com/2006/04/metadata";
/// readMetadata takes at most ten names per call.
pub const READ_CHUNK: usize = 10;
/// Metadata SOAP refuses JWT-format access tokens at v67.0 and lower (§9.1.1).
const JWT_MIN_SOAP_VERSION: f64 = 68.0;

/// A SOAP fault as the client's disposition: its code and string, never retried as a server
/// error (a fault is the org's answer, not an outage).
pub fn fault_disposition(body: &str) -> Option<Disposition> {
    let (code, text) = fault(body)?;
    Some(Disposition::Fail(format!("{code}: {text}")))
}

/// `(code, faultstring)` of a SOAP fault, the `sf:` prefix removed.
pub fn fault(body: &str) -> Option<(String, String)> {
    let doc = roxmltree::Document::parse(body).ok()?;
    let fault = doc.descendants().find(|n| n.tag_name().name() == "Fault")?;
    let child = |name: &str| {
        fault
            .children()
            .find(|n| n.tag_name().name() == name)
            .and_then(|n| n.text())
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let code = child("faultcode");
    let code = code.rsplit(':').next().unwrap_or("").to_string();
    let text = child("faultstring");
    // The faultstring repeats the code ("INVALID_SESSION_ID: Invalid Session ID …").
    let text = text
        .strip_prefix(&format!("{code}:"))
        .map(str::trim)
        .unwrap_or(&text)
        .to_string();
    Some((code, text))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn envelope(session: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:met="{METADATA_NS}"><soapenv:Header><met:SessionHeader><met:sessionId>{}</met:sessionId></met:SessionHeader></soapenv:Header><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"#,
        escape(session)
    )
}

pub fn read_body(kind: &str, names: &[String]) -> String {
    let names: String = names
        .iter()
        .map(|n| format!("<met:fullNames>{}</met:fullNames>", escape(n)))
        .collect();
    format!(
        "<met:readMetadata><met:type>{}</met:type>{names}</met:readMetadata>",
        escape(kind)
    )
}

pub fn list_body(kind: &str) -> String {
    format!(
        "<met:listMetadata><met:queries><met:type>{}</met:type></met:queries></met:listMetadata>",
        escape(kind)
    )
}

/// One SOAP call: under the allowance, with the session in the envelope; an expired session
/// is refreshed and the call retried once (§9.1.1: never more, a JWT token at the wrong
/// version would loop).
pub async fn call(org: &OrgClient, action: &str, body: &str) -> Result<(roxmltree_owned::Answer, u64), ReadFailure> {
    let mut requests = 0;
    let fail = |error: ApiError, requests| ReadFailure {
        error: ReadError::Api(error),
        requests,
    };
    for attempt in 0..2 {
        if let Err(BudgetSpent(reason)) = org.check_budget() {
            return Err(ReadFailure {
                error: ReadError::Budget(BudgetSpent(reason)),
                requests,
            });
        }
        let token = org
            .tokens
            .token(attempt > 0)
            .await
            .map_err(|e| fail(e.into(), requests))?;
        let instance = org.instance_url().await.map_err(|e| fail(e, requests))?;
        let version = org.version().await.map_err(|e| fail(e, requests))?;
        let version = soap_version(&version, is_jwt_shaped(&token));
        let url = format!("{instance}/services/Soap/m/{version}");
        let xml = envelope(&token, body);
        let before = org.api.stats.requests();
        let answer = org
            .api
            .send_raw(
                reqwest::Method::POST,
                &url,
                &[("SOAPAction", action)],
                Some(RawBody {
                    content_type: "text/xml; charset=UTF-8",
                    bytes: xml.as_bytes(),
                }),
                "text/xml",
            )
            .await;
        let sent = org.api.stats.requests() - before;
        requests += sent;
        org.allowance.spent.fetch_add(sent, Ordering::Relaxed);
        match answer {
            Ok(raw) => {
                org.observe(&raw.headers);
                let text = String::from_utf8(raw.body).map_err(|_| {
                    fail(
                        ApiError::Malformed {
                            url: format!("Metadata API {action}"),
                            reason: "the answer is not UTF-8".into(),
                        },
                        requests,
                    )
                })?;
                return roxmltree_owned::Answer::parse(&text)
                    .map(|a| (a, requests))
                    .map_err(|reason| {
                        fail(
                            ApiError::Malformed {
                                url: format!("Metadata API {action}"),
                                reason,
                            },
                            requests,
                        )
                    });
            }
            Err(ApiError::Status { message, .. }) if attempt == 0 && message.starts_with("INVALID_SESSION_ID") => {
                org.api.stats.token_refreshes.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            Err(e) => return Err(fail(e, requests)),
        }
    }
    Err(fail(
        ApiError::Unauthorized("the Metadata API refused the session after a refresh (INVALID_SESSION_ID)".into()),
        requests,
    ))
}

/// The SOAP version to call: the REST one, raised to 68.0 for JWT-format tokens.
pub fn soap_version(rest_version: &str, jwt_token: bool) -> String {
    match rest_version.parse::<f64>() {
        Ok(v) if jwt_token && v < JWT_MIN_SOAP_VERSION => format!("{JWT_MIN_SOAP_VERSION:.1}"),
        _ => rest_version.to_string(),
    }
}

/// The answer tree, turned into JSON right away so nothing borrows the text.
pub mod roxmltree_owned {
    use super::*;

    /// The `result` elements of a readMetadata (their `records`) or listMetadata answer.
    #[derive(Debug, Default)]
    pub struct Answer {
        pub results: Vec<Value>,
    }

    impl Answer {
        pub fn parse(text: &str) -> Result<Answer, String> {
            let doc = roxmltree::Document::parse(text).map_err(|e| format!("not XML ({e})"))?;
            let body = doc
                .descendants()
                .find(|n| n.tag_name().name() == "Body")
                .ok_or("no SOAP Body")?;
            let response = body.children().find(|n| n.is_element()).ok_or("an empty SOAP Body")?;
            let results = response
                .children()
                .filter(|n| n.tag_name().name() == "result")
                .map(element_to_json)
                .collect();
            Ok(Answer { results })
        }

        /// readMetadata's records that were found (nil or nameless ones are not).
        pub fn records(&self) -> Vec<Value> {
            self.results
                .iter()
                .flat_map(|r| match r.get("records") {
                    Some(Value::Array(items)) => items.clone(),
                    Some(one) => vec![one.clone()],
                    None => Vec::new(),
                })
                .filter(|r| r.get("fullName").and_then(Value::as_str).is_some_and(|n| !n.is_empty()))
                .collect()
        }
    }

    /// Element names never kept: secrets a metadata answer may carry.
    fn is_secret(name: &str) -> bool {
        let lower = name.to_ascii_lowercase();
        lower.contains("secret") || lower.contains("password") || lower == "privatekey"
    }

    /// Children become keys (repeated ones a list), text becomes a string, `xsi:type` is kept
    /// as `@type`; an element with `xsi:nil="true"` is null.
    pub fn element_to_json(node: roxmltree::Node) -> Value {
        let xsi = "http://www.w3.org/2001/XMLSchema-instance";
        if node.attribute((xsi, "nil")) == Some("true") {
            return Value::Null;
        }
        let children: Vec<roxmltree::Node> = node.children().filter(|n| n.is_element()).collect();
        if children.is_empty() {
            return Value::String(node.text().unwrap_or("").trim().to_string());
        }
        let mut map = Map::new();
        if let Some(kind) = node.attribute((xsi, "type")) {
            map.insert(
                "@type".into(),
                Value::String(kind.rsplit(':').next().unwrap_or(kind).to_string()),
            );
        }
        for child in children {
            let name = child.tag_name().name();
            if is_secret(name) {
                continue;
            }
            let value = element_to_json(child);
            match map.get_mut(name) {
                Some(Value::Array(items)) => items.push(value),
                Some(existing) => {
                    let first = existing.take();
                    *existing = Value::Array(vec![first, value]);
                }
                None => {
                    map.insert(name.to_string(), value);
                }
            }
        }
        Value::Object(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_answers_parse_by_local_name_and_drop_secrets() {
        let text = r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body><readMetadataResponse><result>
  <records xsi:type="ConnectedApp"><fullName>Legacy_Integration</fullName>
   <oauthConfig><consumerKey>3MVG9key</consumerKey><consumerSecret>TOPSECRET</consumerSecret><scopes>Full</scopes><scopes>RefreshToken</scopes></oauthConfig>
  </records>
  <records xsi:nil="true"/>
 </result></readMetadataResponse></soapenv:Body></soapenv:Envelope>"#;
        let answer = roxmltree_owned::Answer::parse(text).unwrap();
        let records = answer.records();
        assert_eq!(records.len(), 1, "the nil record is not a record");
        assert_eq!(records[0]["@type"], "ConnectedApp");
        assert_eq!(
            records[0]["oauthConfig"]["scopes"],
            serde_json::json!(["Full", "RefreshToken"])
        );
        assert!(!records[0].to_string().contains("TOPSECRET"), "{}", records[0]);
    }

    #[test]
    fn faults_name_their_code_without_the_prefix() {
        let text = r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="http://soap.sforce.com/2006/04/metadata"><soapenv:Body><soapenv:Fault><faultcode>sf:INSUFFICIENT_ACCESS</faultcode><faultstring>INSUFFICIENT_ACCESS: use of the Metadata API requires a user with the ModifyAllData or ModifyMetadata permissions</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"#;
        let (code, message) = fault(text).unwrap();
        assert_eq!(code, "INSUFFICIENT_ACCESS");
        assert!(message.starts_with("use of the Metadata API"), "{message}");
        assert!(fault("<not xml").is_none());
    }

    #[test]
    fn jwt_tokens_raise_the_soap_version() {
        assert_eq!(soap_version("66.0", true), "68.0");
        assert_eq!(soap_version("66.0", false), "66.0");
        assert_eq!(soap_version("69.0", true), "69.0");
    }

    #[test]
    fn names_are_escaped_into_the_envelope() {
        let body = read_body("Bot", &["A&B<C>".to_string()]);
        assert!(body.contains("A&amp;B&lt;C&gt;"), "{body}");
        assert!(envelope("tok\"en", &body).contains("tok&quot;en"));
    }
}
