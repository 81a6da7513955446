//! Gemini and NotebookLM as agents, what they ground on and how outside content reaches them
//! (reference §0, §4.1). Gemini acts with the user's own access and no boundary of its own, so
//! its reach is the user's mail, Drive and calendar; its answers render links and images, an
//! outbound channel (the GeminiJack and Trifecta write-ups, §4.1). These are product facts,
//! not settings: they are recorded with that basis.

use super::{all_users, P};
use crate::Parts;
use schemas::*;
use serde_json::{json, Value};

pub const GEMINI_APP: &str = "google_workspace:agent:gemini_app";
pub const NOTEBOOKLM: &str = "google_workspace:agent:notebooklm";
pub const RENDERED_LINKS: &str = "google_workspace:tool:rendered_links";

fn value<'a>(settings: &'a [AiSetting], key: &str) -> Option<&'a Value> {
    settings
        .iter()
        .find(|s| s.key == format!("{P}.{key}"))
        .map(|s| &s.value)
}

fn store(name: &str) -> String {
    format!("{P}:{name}")
}

fn assistant(
    id: &str,
    kind: &str,
    name: &str,
    status: Option<&Value>,
    knowledge: Vec<String>,
    connection_id: &str,
) -> Agent {
    let flag = |k: &str| status.and_then(|s| s[k].as_bool());
    let everywhere = flag("on_everywhere") == Some(true);
    Agent {
        id: id.into(),
        kind: kind.into(),
        name: name.into(),
        owner: None,
        identity: RunIdentity::Invoker,
        run_as: None,
        role_mask: None,
        audience: if everywhere {
            vec![all_users(connection_id)]
        } else {
            Vec::new()
        },
        // Without the Policy API, who has it is not known.
        audience_unknown: status.is_none(),
        channels: vec!["workspace".into()],
        autonomy: Autonomy::Supervised,
        tools: vec![ToolBinding {
            tool_id: RENDERED_LINKS.into(),
            autonomy: Autonomy::Autonomous,
            active: true,
            attributes: Default::default(),
        }],
        knowledge,
        teams: Vec::new(),
        // Unknown status: assume on (Google's default) so paths are not hidden by a gap.
        active: flag("on_somewhere").unwrap_or(true),
        last_used: None,
        attributes: [
            (
                "on_everywhere",
                status.map(|s| s["on_everywhere"].clone()).unwrap_or(Value::Null),
            ),
            (
                "org_units_on",
                status.map(|s| s["org_units_on"].clone()).unwrap_or(Value::Null),
            ),
            (
                "groups_on",
                status.map(|s| s["groups_on"].clone()).unwrap_or(Value::Null),
            ),
            (
                "set_by_admin",
                status.map(|s| s["set_by_admin"].clone()).unwrap_or(Value::Null),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
    }
}

/// When Gemini was last used and in which apps, from the usage log's window (§2.3.3). Counts
/// are left out: they move with every scan and would read as drift.
fn usage(parts: &Parts, gemini: &mut Agent) {
    if !super::collected(parts, "gemini_events") {
        return;
    }
    let mut apps = std::collections::BTreeSet::new();
    let mut last: Option<&str> = None;
    for e in super::audit::events(parts, "gemini_events") {
        if e.name != "feature_utilization" || e.activity["isAgenticAction"].as_bool() == Some(true) {
            continue;
        }
        if let Some(app) = e.text("app_name") {
            apps.insert(app);
        }
        if last.is_none_or(|t| e.time > t) {
            last = Some(e.time);
        }
    }
    gemini.last_used = last.map(str::to_string);
    gemini.attributes.insert("apps_used".into(), json!(apps));
}

pub fn agents(settings: &[AiSetting], parts: &Parts, connection_id: &str) -> Vec<Agent> {
    let mut gemini = assistant(
        GEMINI_APP,
        "gemini_app",
        "Gemini app",
        value(settings, "gemini_app.service_status"),
        vec![store("drive"), store("gmail"), store("calendar")],
        connection_id,
    );
    let mut notebook = assistant(
        NOTEBOOKLM,
        "notebooklm",
        "NotebookLM",
        value(settings, "notebooklm.service_status"),
        vec![store("drive")],
        connection_id,
    );
    let public = if super::collected(parts, "notebook_events") {
        json!(super::audit::public_notebooks(parts))
    } else {
        Value::Null
    };
    notebook.attributes.insert("public_notebooks".into(), public);
    usage(parts, &mut gemini);
    vec![gemini, notebook]
}

pub fn tools() -> Vec<Tool> {
    vec![Tool {
        id: RENDERED_LINKS.into(),
        kind: "rendered_output".into(),
        name: "Links and images in Gemini answers".into(),
        capabilities: vec![Capability::SendExternal],
        capabilities_unknown: None,
        targets: Vec::new(),
        active: true,
        attributes: [("basis".to_string(), json!("product behaviour"))]
            .into_iter()
            .collect(),
    }]
}

pub fn data_stores(settings: &[AiSetting]) -> Vec<DataStore> {
    let sharing = value(settings, "drive_and_docs.external_sharing")
        .and_then(|v| v["root"]["externalSharingMode"].as_str())
        .map(str::to_lowercase);
    let make = |name: &str, kind: &str, label: &str, sensitivity: &str, sharing: Option<String>| DataStore {
        id: store(name),
        kind: kind.into(),
        name: label.into(),
        sensitivity: Some(sensitivity.into()),
        external_sharing: sharing,
        attributes: Default::default(),
    };
    vec![
        make("drive", "drive", "Drive files users can open", "confidential", sharing),
        make("gmail", "mailbox", "Gmail mailboxes", "confidential", None),
        make("calendar", "calendar", "Calendars", "internal", None),
    ]
}

/// Outside content that lands where Gemini reads (§4.1): mail from anyone, files shared in,
/// calendar invitations.
pub fn untrusted_inputs(settings: &[AiSetting], agents: &[Agent]) -> Vec<UntrustedInput> {
    let on = |id: &str| agents.iter().any(|a| a.id == id && a.active);
    let gemini: Vec<String> = if on(GEMINI_APP) {
        vec![GEMINI_APP.into()]
    } else {
        Vec::new()
    };
    let sharing = value(settings, "drive_and_docs.external_sharing");
    // Unknown (not read): files from outside may arrive, Google's default.
    let receives_files = sharing.is_none_or(|v| v["root"]["allowReceivingExternalFiles"].as_bool() != Some(false));
    let mut shared_reach = if receives_files { gemini.clone() } else { Vec::new() };
    if receives_files && on(NOTEBOOKLM) {
        shared_reach.push(NOTEBOOKLM.into());
    }
    let warn = value(settings, "calendar.external_invitations").and_then(|v| v["root"]["warnOnInvite"].as_bool());
    let input =
        |id: &str, kind: &str, name: &str, reaches: Vec<String>, unauthenticated: bool, attributes: Attributes| {
            UntrustedInput {
                id: format!("{P}:input:{id}"),
                kind: kind.into(),
                name: name.into(),
                reaches,
                unauthenticated,
                attributes,
            }
        };
    vec![
        input(
            "external_email",
            "inbound_email",
            "Email from outside the domain",
            gemini.clone(),
            true,
            Default::default(),
        ),
        input(
            "shared_documents",
            "shared_document",
            "Files shared into the domain from outside",
            shared_reach,
            false,
            Default::default(),
        ),
        input(
            "calendar_invites",
            "calendar_invite",
            "Calendar invitations from outside the domain",
            gemini,
            true,
            [("warn_on_invite".to_string(), json!(warn))].into_iter().collect(),
        ),
    ]
}
