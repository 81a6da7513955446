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
