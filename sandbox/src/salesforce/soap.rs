//! The Metadata API over SOAP (`POST /services/Soap/m/{NN.N}`): `readMetadata` and
//! `listMetadata`, written from reference §2.0 and §8.8.
//!
//! Requests are parsed with roxmltree by local name, so any namespace prefix works (DTDs are
//! refused: roxmltree's default). The session comes from `SessionHeader/sessionId`. Answers
//! use the captured envelope shape: prefix `soapenv`, the metadata namespace as the default
//! namespace, `xsi:type` on each `records`, and `<records xsi:nil="true"/>` for a name the
//! org does not have. Faults are HTTP 500 `soapenv:Fault` with `faultcode` `sf:<CODE>`;
//! session faults carry `detail/sf:UnexpectedErrorFault`, `INSUFFICIENT_ACCESS` has no
//! `detail` (as captured).
//!
//! Checks, in order: the envelope (`soapenv:Client`), the URL version
//! (`UNSUPPORTED_API_VERSION` outside 31.0..=`soap_max_version`), the session
//! (`INVALID_SESSION_ID`, also for a JWT-shaped token at 67.0 or lower, §9.1.1), the daily
//! allocation (SOAP calls count like REST ones), Modify Metadata (`INSUFFICIENT_ACCESS`), then
//! the type (`INVALID_TYPE` for a name the API 66.0 Metadata types lack) and, for
//! `readMetadata`, at most 10 names (`EXCEEDED_ID_LIMIT`).

use super::{live_session, lock, log_request, published, scenarios, Ctx, SimState};
use axum::{
    extract::{Path, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::{json, Value};
use std::fmt::Write as _;

pub const SOAPENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const METADATA_NS: &str = "http://soap.sforce.com/2006/04/metadata";
const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// What a request asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    Read {
        ty: String,
        full_names: Vec<String>,
    },
    List {
        types: Vec<String>,
    },
    /// Some other operation (its local name).
    Other(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub session_id: Option<String>,
    pub call: Call,
}

/// A SOAP fault: the code after `sf:` (or a `soapenv:` client fault) and its string.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    pub code: String,
    pub message: String,
    /// Whether to add `detail/sf:UnexpectedErrorFault`.
    pub detail: bool,
    /// `soapenv:Client` instead of `sf:…`.
    pub client: bool,
}

impl Fault {
    pub fn sf(code: &str, message: &str) -> Fault {
        Fault {
            code: code.into(),
            message: message.into(),
            detail: false,
            client: false,
        }
    }

    pub fn invalid_session() -> Fault {
        Fault {
            detail: true,
            ..Fault::sf(
                "INVALID_SESSION_ID",
                "Invalid Session ID found in SessionHeader: Illegal Session",
            )
        }
    }

    pub fn client(message: &str) -> Fault {
        Fault {
            code: "Client".into(),
            message: message.into(),
            detail: false,
            client: true,
        }
    }
}

fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    node.children().find(|c| c.is_element() && c.tag_name().name() == name)
}

/// Parses an envelope. Anything that is not a SOAP envelope with a body operation is a
/// client fault, never a panic.
pub fn parse(body: &[u8]) -> Result<Request, Fault> {
    let text = std::str::from_utf8(body).map_err(|_| Fault::client("Invalid byte sequence in request body"))?;
    let doc = roxmltree::Document::parse(text).map_err(|e| Fault::client(&format!("Unable to parse request: {e}")))?;
    let root = doc.root_element();
    if root.tag_name().name() != "Envelope" {
        return Err(Fault::client("The root element is not a SOAP Envelope"));
    }
    let session_id = child(root, "Header")
        .and_then(|h| child(h, "SessionHeader"))
        .and_then(|s| child(s, "sessionId"))
        .and_then(|n| n.text())
        .map(|t| t.trim().to_string());
    let body = child(root, "Body").ok_or_else(|| Fault::client("The envelope has no Body"))?;
    let op = body
        .children()
        .find(|c| c.is_element())
        .ok_or_else(|| Fault::client("The Body names no operation"))?;
    let texts = |node: roxmltree::Node<'_, '_>, name: &str| -> Vec<String> {
        node.children()
            .filter(|c| c.is_element() && c.tag_name().name() == name)
            .filter_map(|c| c.text())
            .map(|t| t.trim().to_string())
            .collect()
    };
    let call = match op.tag_name().name() {
        "readMetadata" => Call::Read {
            ty: texts(op, "type").into_iter().next().unwrap_or_default(),
            full_names: texts(op, "fullNames"),
        },
        "listMetadata" => Call::List {
            types: op
                .children()
                .filter(|c| c.is_element() && c.tag_name().name() == "queries")
                .flat_map(|q| texts(q, "type"))
                .collect(),
        },
        other => Call::Other(other.to_string()),
    };
    Ok(Request { session_id, call })
}

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn envelope(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{SOAPENV}" xmlns="{METADATA_NS}" xmlns:xsi="{XSI}"><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"#
    )
}

/// A fault envelope (sent with HTTP 500).
pub fn fault_envelope(fault: &Fault) -> String {
    let code = if fault.client {
        "soapenv:Client".to_string()
    } else {
        format!("sf:{}", fault.code)
    };
    let string = if fault.client {
        escape(&fault.message)
    } else {
        escape(&format!("{}: {}", fault.code, fault.message))
    };
    let detail = if fault.detail {
        format!(
            r#"<detail><sf:UnexpectedErrorFault xsi:type="sf:UnexpectedErrorFault"><sf:exceptionCode>{}</sf:exceptionCode><sf:exceptionMessage>{}</sf:exceptionMessage></sf:UnexpectedErrorFault></detail>"#,
            escape(&fault.code),
            escape(&fault.message)
        )
    } else {
        String::new()
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{SOAPENV}" xmlns:sf="{METADATA_NS}" xmlns:xsi="{XSI}"><soapenv:Body><soapenv:Fault><faultcode>{code}</faultcode><faultstring>{string}</faultstring>{detail}</soapenv:Fault></soapenv:Body></soapenv:Envelope>"#
    )
}

/// Renders a component's JSON as Metadata API XML: `fullName` first, then the other elements
/// in name order (the WSDL's sequences are alphabetical), arrays as repeated elements, nulls
/// and `@`-keys left out.
fn write_value(out: &mut String, name: &str, value: &Value) {
    match value {
        Value::Null => {}
        Value::Array(items) => {
            for item in items {
                write_value(out, name, item);
            }
        }
        Value::Object(map) => {
            let _ = write!(out, "<{name}>");
            write_fields(out, map);
            let _ = write!(out, "</{name}>");
        }
        Value::String(s) => {
            let _ = write!(out, "<{name}>{}</{name}>", escape(s));
        }
        Value::Bool(b) => {
            let _ = write!(out, "<{name}>{b}</{name}>");
        }
        Value::Number(n) => {
            let _ = write!(out, "<{name}>{n}</{name}>");
        }
    }
}

fn write_fields(out: &mut String, map: &serde_json::Map<String, Value>) {
    if let Some(full) = map.get("fullName") {
        write_value(out, "fullName", full);
    }
    for (k, v) in map {
        if k != "fullName" && !k.starts_with('@') {
            write_value(out, k, v);
        }
    }
}

/// `readMetadataResponse`: one `records` per requested name, in order.
pub fn read_response(ty: &str, found: &[Option<&Value>]) -> String {
    let mut records = String::new();
    for component in found {
        match component.and_then(Value::as_object) {
            Some(map) => {
                let _ = write!(records, r#"<records xsi:type="{}">"#, escape(ty));
                write_fields(&mut records, map);
                records.push_str("</records>");
            }
            None => records.push_str(r#"<records xsi:nil="true"/>"#),
        }
    }
    envelope(&format!(
        "<readMetadataResponse><result>{records}</result></readMetadataResponse>"
    ))
}

/// One `FileProperties` of a `listMetadata` answer.
#[derive(Debug, Clone)]
pub struct FileProperties {
    pub ty: String,
    pub full_name: String,
    pub id: String,
    pub file_name: String,
    pub created: String,
    pub modified: String,
    pub by_id: String,
    pub by_name: String,
}

pub fn list_response(files: &[FileProperties]) -> String {
    let mut out = String::new();
    for f in files {
        let _ = write!(
            out,
            "<result><createdById>{by}</createdById><createdByName>{name}</createdByName><createdDate>{c}</createdDate>\
             <fileName>{file}</fileName><fullName>{full}</fullName><id>{id}</id><lastModifiedById>{by}</lastModifiedById>\
             <lastModifiedByName>{name}</lastModifiedByName><lastModifiedDate>{m}</lastModifiedDate>\
             <manageableState>unmanaged</manageableState><type>{ty}</type></result>",
            by = escape(&f.by_id),
            name = escape(&f.by_name),
            c = escape(&f.created),
            m = escape(&f.modified),
            file = escape(&f.file_name),
            full = escape(&f.full_name),
            id = escape(&f.id),
            ty = escape(&f.ty),
        );
    }
    if out.is_empty() {
        envelope("<listMetadataResponse/>")
    } else {
        envelope(&format!("<listMetadataResponse>{out}</listMetadataResponse>"))
    }
}

/// Where a component lives in a retrieve (`fileName` of `listMetadata`).
pub fn file_name(ty: &str, full_name: &str) -> String {
    if ty.ends_with("Settings") {
        return format!("settings/{full_name}.settings");
    }
    let mut folder = ty.to_string();
    if let Some(first) = folder.get_mut(0..1) {
        first.make_ascii_lowercase();
    }
    format!("{folder}s/{full_name}.{folder}")
}

/// `POST /services/Soap/m/{version}`.
pub(super) async fn handle(State(ctx): State<Ctx>, Path(version): Path<String>, body: axum::body::Bytes) -> Response {
    let mut s = lock(&ctx.state);
    let (status, xml) = answer(&mut s, &version, &body);
    let mut response = (status, xml).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/xml;charset=UTF-8"),
    );
    response
}

/// One Metadata API call: parse, session, version, allocation, permission, then the work.
fn answer(s: &mut SimState, version: &str, body: &[u8]) -> (StatusCode, String) {
    s.stats.soap_requests += 1;
    let path = format!("/services/Soap/m/{version}");
    let fault = |f: Fault| (StatusCode::INTERNAL_SERVER_ERROR, fault_envelope(&f));
    let request = match parse(body) {
        Ok(r) => r,
        Err(f) => {
            log_request(s, json!({"method": "POST", "path": path, "soap": null}));
            return fault(f);
        }
    };
    let entry = match &request.call {
        Call::Read { ty, full_names } => {
            json!({"method": "POST", "path": path, "soap": "readMetadata", "type": ty, "fullNames": full_names})
        }
        Call::List { types } => json!({"method": "POST", "path": path, "soap": "listMetadata", "types": types}),
        Call::Other(op) => json!({"method": "POST", "path": path, "soap": op}),
    };
    log_request(s, entry);
    let number = version.parse::<f64>().ok().filter(|v| v.is_finite());
    if !number.is_some_and(|v| (31.0..=s.config.soap_max_version).contains(&v)) {
        return fault(Fault::sf(
            "UNSUPPORTED_API_VERSION",
            "Invalid Api version specified on URL",
        ));
    }
    let version_number = number.unwrap_or(0.0);
    let token = request.session_id.clone().unwrap_or_default();
    let Some(session) = live_session(s, &token).cloned() else {
        s.stats.unauthorized += 1;
        return fault(Fault::invalid_session());
    };
    // Reference §9.1.1: JWT-format access tokens only work with SOAP from 68.0.
    if session.jwt && version_number <= 67.0 {
        s.stats.unauthorized += 1;
        return fault(Fault::invalid_session());
    }
    // SOAP calls count against the same daily allocation as REST ones.
    if s.api_used >= s.config.daily_max {
        s.stats.limited += 1;
        return fault(Fault::sf("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."));
    }
    s.api_used += 1;
    if !s.config.metadata_access {
        return fault(Fault::sf(
            "INSUFFICIENT_ACCESS",
            "use of the Metadata API requires a user with the ModifyAllData or ModifyMetadata permissions",
        ));
    }
    match request.call {
        Call::Read { ty, full_names } => {
            if !published::is_metadata_type(&ty) {
                return fault(Fault::sf(
                    "INVALID_TYPE",
                    &format!("Unknown type name '{ty}' specified"),
                ));
            }
            if full_names.len() > 10 {
                return fault(Fault::sf(
                    "EXCEEDED_ID_LIMIT",
                    "record limit reached. cannot submit more than 10 records in this operation",
                ));
            }
            *s.stats.by_metadata_type.entry(ty.clone()).or_default() += 1;
            let components = s.org.metadata.get(&ty);
            let found: Vec<Option<&Value>> = full_names
                .iter()
                .map(|name| {
                    let all = components.map(Vec::as_slice).unwrap_or(&[]);
                    all.iter()
                        .find(|c| c["fullName"].as_str() == Some(name.as_str()))
                        .or_else(|| {
                            all.iter()
                                .find(|c| c["fullName"].as_str().is_some_and(|f| f.eq_ignore_ascii_case(name)))
                        })
                })
                .collect();
            (StatusCode::OK, read_response(&ty, &found))
        }
        Call::List { types } => {
            let mut files = Vec::new();
            for ty in &types {
                if !published::is_metadata_type(ty) {
                    return fault(Fault::sf(
                        "INVALID_TYPE",
                        &format!("Unknown type name '{ty}' specified"),
                    ));
                }
                *s.stats.by_metadata_type.entry(ty.clone()).or_default() += 1;
                for component in s.org.metadata.get(ty).into_iter().flatten() {
                    let full = component["fullName"].as_str().unwrap_or_default();
                    files.push(FileProperties {
                        ty: ty.clone(),
                        full_name: full.to_string(),
                        id: component["@id"].as_str().unwrap_or_default().to_string(),
                        file_name: file_name(ty, full),
                        created: soap_date(400),
                        modified: soap_date(20),
                        by_id: scenarios::USER_ADMIN.into(),
                        by_name: "Jane Admin".into(),
                    });
                }
            }
            (StatusCode::OK, list_response(&files))
        }
        Call::Other(op) => fault(Fault::client(&format!(
            "No operation available for request {{{}}}{op}",
            METADATA_NS
        ))),
    }
}

fn soap_date(days: i64) -> String {
    (scenarios::epoch() - chrono::Duration::days(days))
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_parse_by_local_name_with_any_prefix() {
        let body = r#"<?xml version="1.0"?>
<x:Envelope xmlns:x="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="http://soap.sforce.com/2006/04/metadata">
  <x:Header><m:SessionHeader><m:sessionId> 00D!AQtoken </m:sessionId></m:SessionHeader></x:Header>
  <x:Body><m:readMetadata><m:type>Bot</m:type><m:fullNames>A</m:fullNames><m:fullNames>B&amp;C</m:fullNames></m:readMetadata></x:Body>
</x:Envelope>"#;
        let request = parse(body.as_bytes()).unwrap();
        assert_eq!(request.session_id.as_deref(), Some("00D!AQtoken"));
        assert_eq!(
            request.call,
            Call::Read {
                ty: "Bot".into(),
                full_names: vec!["A".into(), "B&C".into()]
            }
        );
        let list = r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><listMetadata xmlns="http://soap.sforce.com/2006/04/metadata"><queries><type>ConnectedApp</type></queries></listMetadata></Body></Envelope>"#;
        let request = parse(list.as_bytes()).unwrap();
        assert_eq!(request.session_id, None);
        assert_eq!(
            request.call,
            Call::List {
                types: vec!["ConnectedApp".into()]
            }
        );
        for bad in [
            &b"not xml"[..],
            b"<a/>",
            b"<Envelope/>",
            b"<Envelope><Body/></Envelope>",
            b"\xff\xfe",
            b"<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><Envelope><Body><x>&e;</x></Body></Envelope>",
        ] {
            assert!(parse(bad).is_err());
        }
    }

    #[test]
    fn answers_have_the_captured_shape() {
        let component = json!({"enableEinsteinGptPlatform": true, "fullName": "EinsteinGpt", "@id": "x",
            "scopes": ["Api", "Full"], "nested": {"b": 1, "a": "x<y"}, "none": null});
        let xml = read_response("EinsteinGptSettings", &[Some(&component), None]);
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let records: Vec<_> = doc.descendants().filter(|n| n.tag_name().name() == "records").collect();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].tag_name().namespace(), Some(METADATA_NS));
        assert_eq!(records[0].attribute((XSI, "type")), Some("EinsteinGptSettings"));
        assert_eq!(records[1].attribute((XSI, "nil")), Some("true"));
        let first = records[0].children().find(|c| c.is_element()).unwrap();
        assert_eq!(first.tag_name().name(), "fullName");
        assert_eq!(
            records[0]
                .children()
                .filter(|c| c.tag_name().name() == "scopes")
                .count(),
            2
        );
        assert!(xml.contains("<nested><a>x&lt;y</a><b>1</b></nested>"));
        assert!(!xml.contains("none") && !xml.contains("@id"));
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope"));
        let fault = fault_envelope(&Fault::sf("INSUFFICIENT_ACCESS", "no"));
        let doc = roxmltree::Document::parse(&fault).unwrap();
        let code = doc.descendants().find(|n| n.tag_name().name() == "faultcode").unwrap();
        assert_eq!(code.text(), Some("sf:INSUFFICIENT_ACCESS"));
        assert!(doc.descendants().all(|n| n.tag_name().name() != "detail"));
        let session = fault_envelope(&Fault::invalid_session());
        assert!(roxmltree::Document::parse(&session)
            .unwrap()
            .descendants()
            .any(|n| n.tag_name().name() == "exceptionCode" && n.text() == Some("INVALID_SESSION_ID")));
        assert_eq!(file_name("ConnectedApp", "X"), "connectedApps/X.connectedApp");
        assert_eq!(
            file_name("EinsteinGptSettings", "EinsteinGpt"),
            "settings/EinsteinGpt.settings"
        );
    }
}
