//! The extract of Google's discovery documents the Google Workspace connector will be held to
//! (`connectors/src/google_workspace/published/discovery.json`, from google-api-python-client
//! 2.202.0; see `extract.py` and `FINDINGS.md` there) says what the reference's §9 read in them.
//! The connector's requests are checked against this file as they are written; this test keeps
//! the file itself honest: a re-extraction that lost a method, an enum value or a cap fails here.

use serde_json::Value;

fn discovery() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/google_workspace/published/discovery.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn method<'a>(d: &'a Value, api: &str, id: &str) -> &'a Value {
    let m = &d["apis"][api]["methods"][id];
    assert!(m.is_object(), "{api}: no method {id}");
    m
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[test]
fn the_extract_holds_what_section_9_of_the_reference_read() {
    let d = discovery();
    // §9.1.2–3: NotebookLM's audit application is gemini_notebook; Gemini usage is
    // gemini_in_workspace_apps; there is no "notebooklm".
    let apps =
        strings(&method(&d, "admin.reports_v1", "reports.activities.list")["parameters"]["applicationName"]["enum"]);
    assert!(apps.contains(&"gemini_notebook") && apps.contains(&"gemini_in_workspace_apps"));
    assert!(!apps.contains(&"notebooklm") && !apps.contains(&"gemini"));
    assert_eq!(apps.len(), 42, "{apps:?}");
    // §9.1.4: assigneeType is lowercase.
    assert_eq!(
        strings(&d["apis"]["admin.directory_v1"]["schemas"]["RoleAssignment"]["assigneeType"]["enum"]),
        ["user", "group"]
    );
    // §9.1.5: orgunits.list takes allIncludingParent.
    let types = strings(&method(&d, "admin.directory_v1", "directory.orgunits.list")["parameters"]["type"]["enum"]);
    assert!(types.contains(&"allIncludingParent") && !types.contains(&"all_including_parent"));
    // Page-size caps per method.
    for (api, id, cap) in [
        ("admin.directory_v1", "directory.users.list", "500"),
        ("admin.directory_v1", "directory.roleAssignments.list", "200"),
        ("admin.reports_v1", "reports.activities.list", "1000"),
    ] {
        assert_eq!(method(&d, api, id)["parameters"]["maxResults"]["maximum"], cap, "{id}");
    }
    // §9.1.8: quotaUser at most 40 characters.
    assert!(
        d["apis"]["admin.directory_v1"]["parameters"]["quotaUser"]["description"]
            .as_str()
            .unwrap()
            .contains("40 characters")
    );
    // §9.1.1: the tokens inventory's only scope is admin.directory.user.security, which has no
    // read-only variant and also allows signing users out.
    let tokens = method(&d, "admin.directory_v1", "directory.tokens.list");
    assert_eq!(
        strings(&tokens["scopes"]),
        ["https://www.googleapis.com/auth/admin.directory.user.security"]
    );
    let sign_out = method(&d, "admin.directory_v1", "directory.users.signOut");
    assert!(strings(&sign_out["scopes"]).contains(&"https://www.googleapis.com/auth/admin.directory.user.security"));
    assert!(!strings(&d["apis"]["admin.directory_v1"]["scopes"])
        .contains(&"https://www.googleapis.com/auth/admin.directory.user.security.readonly"));
    // §9.2: audit events carry AI-agent attribution.
    let activity = &d["apis"]["admin.reports_v1"]["schemas"];
    assert!(activity["Activity"]["isAgenticAction"].is_object());
    assert_eq!(
        activity["Activity.actor"]["agentAttributionInfo"]["$ref"],
        "AgentAttributionInfo"
    );
    // §9.1.6–7: the Policy API lists with filter and paging, read-only scope accepted.
    let policies = method(&d, "cloudidentity.v1", "cloudidentity.policies.list");
    for p in ["filter", "pageSize", "pageToken"] {
        assert!(policies["parameters"][p].is_object(), "{p}");
    }
    assert!(strings(&policies["scopes"]).contains(&"https://www.googleapis.com/auth/cloud-identity.policies.readonly"));
}

/// The discovery method a GET of `path` is: a template whose segments match, `{x}` standing for
/// one segment.
fn method_for<'a>(d: &'a Value, api: &str, path: &str) -> Option<(&'a str, &'a Value)> {
    let segments: Vec<&str> = path.split('/').collect();
    d["apis"][api]["methods"].as_object()?.iter().find_map(|(id, m)| {
        let template = m["flatPath"].as_str().or(m["path"].as_str())?;
        let parts: Vec<&str> = template.split('/').collect();
        let fits = m["httpMethod"] == "GET"
            && parts.len() == segments.len()
            && parts
                .iter()
                .zip(&segments)
                .all(|(t, s)| (t.starts_with('{') && t.ends_with('}') && !s.is_empty()) || t == s);
        fits.then_some((id.as_str(), m))
    })
}

/// Query parameters every Google API takes (the discovery documents' top-level `parameters`).
const STANDARD: &[&str] = &[
    "fields",
    "quotaUser",
    "prettyPrint",
    "alt",
    "key",
    "$.xgafv",
    "access_token",
    "callback",
    "oauth_token",
    "upload_protocol",
    "uploadType",
];

#[test]
fn every_request_the_connector_sends_is_one_google_describes() {
    use connectors::google_workspace::{plan, tokens_path, Read};
    let d = discovery();
    let now = chrono::Utc::now();
    let mut checked = Vec::new();
    for step in plan() {
        let request = step
            .path("my_customer", now)
            .unwrap_or_else(|| tokens_path("104729385610473829156"));
        let (path, query) = request.split_once('?').unwrap_or((&request, ""));
        let api = match (&step.read, path.split('/').nth(1)) {
            (Read::Policies, _) => "cloudidentity.v1",
            (_, Some("reports")) => "admin.reports_v1",
            _ => "admin.directory_v1",
        };
        let (id, m) =
            method_for(&d, api, path).unwrap_or_else(|| panic!("{}: GET {path} is not a method of {api}", step.name));
        let params = &m["parameters"];
        let mut sent = Vec::new();
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            sent.push(name.to_string());
            if STANDARD.contains(&name.as_ref()) {
                continue;
            }
            let p = &params[name.as_ref()];
            assert_eq!(p["location"], "query", "{id}: {name} is not a query parameter");
            if let Some(allowed) = p["enum"].as_array() {
                assert!(
                    allowed.iter().any(|a| a == value.as_ref()),
                    "{id}: {name}={value} is not one of {allowed:?}"
                );
            }
            if p["type"] == "integer" {
                let n: i64 = value
                    .parse()
                    .unwrap_or_else(|_| panic!("{id}: {name}={value} is not an integer"));
                let bound = |k: &str| p[k].as_str().and_then(|b| b.parse::<i64>().ok());
                assert!(
                    bound("minimum").is_none_or(|min| n >= min) && bound("maximum").is_none_or(|max| n <= max),
                    "{id}: {name}={n} out of range"
                );
            }
            if p["format"] == "date-time" || name == "startTime" {
                assert!(
                    chrono::DateTime::parse_from_rfc3339(&value).is_ok(),
                    "{id}: {name}={value} is not RFC 3339"
                );
            }
        }
        for (name, p) in params.as_object().unwrap() {
            if p["required"] == true && p["location"] == "query" {
                assert!(sent.contains(name), "{id}: required {name} not sent");
            }
        }
        let scopes = strings(&m["scopes"]);
        assert!(
            step.scopes().iter().any(|s| scopes.contains(s)),
            "{id}: none of {:?} is one of its scopes {scopes:?}",
            step.scopes()
        );
        checked.push(id.to_string());
    }
    assert_eq!(checked.len(), plan().len());
    assert!(checked.contains(&"directory.tokens.list".to_string()), "{checked:?}");
}
