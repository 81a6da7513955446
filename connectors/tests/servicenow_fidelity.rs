//! The ServiceNow connector against a simulator that stores records as ServiceNow's own SDK
//! writes them (reference §9; `connectors/src/servicenow/published/`): CRUD operations in the
//! binding's `inputs`, ACL types, attributes and the public role by sys_id, overrides, agent
//! triggers through their m2m, skills activated by status rows. Each assertion below was false
//! with the connector that read the reference's earlier guesses.

use connectors::{collector, read_all, ConnectionSpec};
use sandbox::servicenow::{self, scenarios, SimConfig, Tables};
use schemas::{Agent, Capability, Inventory, RunIdentity};
use serde_json::json;

async fn inventory(tables: Tables) -> Inventory {
    let config = SimConfig::default();
    let server = servicenow::start(config.clone(), tables, 0).await.unwrap();
    let spec = ConnectionSpec {
        id: "conn".into(),
        provider: "servicenow".into(),
        settings: json!({"instance_url": server.base_url, "client_id": config.client_id, "max_rps": 500.0}),
        secrets: [("client_secret".to_string(), config.client_secret.clone())].into(),
    };
    let c = collector(&spec).unwrap();
    let parts = read_all(c.as_ref()).await.unwrap();
    c.transform(&parts, &spec.id, "2026-12-02T00:00:00Z")
}

fn agent<'a>(inv: &'a Inventory, name: &str) -> &'a Agent {
    inv.agents
        .iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("no agent {name}"))
}

#[tokio::test]
async fn crud_and_search_tools_are_read_from_their_bindings() {
    let inv = inventory(scenarios::risky()).await;
    let triage = agent(&inv, "Ticket Triage Agent");
    let lookup = inv
        .tools
        .iter()
        .find(|t| triage.tools.iter().any(|b| b.tool_id == t.id) && t.kind == "crud")
        .unwrap();
    assert_eq!(lookup.name, "Look up incident (lookup incident)");
    assert_eq!(lookup.capabilities, [Capability::Read], "a lookup binding reads");
    assert_eq!(lookup.targets, ["servicenow:table:incident"]);
    assert_eq!(triage.attributes["reads_user_content"], json!(true));
    let ops = agent(&inv, "Record Operations Agent");
    let create = inv
        .tools
        .iter()
        .find(|t| ops.tools.iter().any(|b| b.tool_id == t.id) && t.kind == "crud")
        .unwrap();
    assert_eq!(create.capabilities, [Capability::Write]);
    assert_eq!(
        create.targets,
        ["servicenow:table:*"],
        "a table filled in at run time is any table"
    );
    let helper = agent(&inv, "Knowledge Helper");
    assert_eq!(
        helper.knowledge,
        ["servicenow:table:kb_knowledge"],
        "search sources come from the binding"
    );
}

#[tokio::test]
async fn who_may_invoke_follows_the_sdk_acl_records() {
    let inv = inventory(scenarios::risky()).await;
    // The user_is_authenticated attribute by sys_id, no roles.
    assert_eq!(
        agent(&inv, "Record Operations Agent").audience,
        ["servicenow:authenticated_users"]
    );
    // The public role by sys_id.
    assert_eq!(agent(&inv, "Ticket Triage Agent").audience, ["servicenow:anonymous"]);
    // The workflow's ACL is named by its own `acl` column, under another name.
    let workflow = agent(&inv, "Incident resolution");
    assert_eq!(workflow.attributes["has_own_acl"], json!(true));
    assert_eq!(workflow.audience, ["servicenow:role:itil"]);
    // A condition-only ACL: unknown with the reason, never "nobody".
    let partner = agent(&inv, "Partner Escalation Agent");
    assert!(partner.audience_unknown);
    assert!(partner.attributes["audience_reason"]
        .as_str()
        .is_some_and(|r| r.contains("condition")));
}

#[tokio::test]
async fn overrides_activity_triggers_skills_and_providers_as_servicenow_keeps_them() {
    let inv = inventory(scenarios::risky()).await;
    // The override of the agent's config sets the fixed identity.
    let ops = agent(&inv, "Record Operations Agent");
    assert_eq!(ops.identity, RunIdentity::Fixed);
    // Off on the agent record although its config is on.
    assert!(!agent(&inv, "Retired Bulk Updater").active);
    assert_eq!(
        agent(&inv, "Partner Escalation Agent").attributes["external"],
        json!(true)
    );
    // Agent triggers reach their agent through the trigger m2m; schedules are not record triggers.
    let triage_trigger = inv
        .untrusted_inputs
        .iter()
        .find(|i| i.name.starts_with("Triage new incidents"))
        .unwrap();
    assert_eq!(triage_trigger.reaches, [agent(&inv, "Ticket Triage Agent").id.clone()]);
    assert_eq!(triage_trigger.attributes["run_as_column"], json!("caller_id"));
    let nightly = inv
        .untrusted_inputs
        .iter()
        .find(|i| i.name.starts_with("Nightly"))
        .unwrap();
    assert_eq!(nightly.kind, "scheduled_trigger");
    assert_eq!(nightly.reaches, std::slice::from_ref(&ops.id));
    // Skills: published and activated, or a draft; panel exposure from the applicability.
    let skill = agent(&inv, "Incident summarization");
    assert!(skill.active);
    assert_eq!(skill.attributes["panel_open_to_all"], json!(true));
    assert_eq!(skill.role_mask.as_deref(), Some(&["admin".to_string()][..]));
    assert!(
        !agent(&inv, "Draft resolution notes").active,
        "a draft skill is not active"
    );
    // BYOK and the provider's display name from sys_gen_ai_provider.
    let providers = &inv
        .settings
        .iter()
        .find(|s| s.key == "servicenow.llm_providers")
        .unwrap()
        .value;
    assert!(providers
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["byok"] == json!(true) && p["provider"] == json!("Acme OpenAI (own key)")));
    // The subflow behind a tool is a named gap.
    let gap = inv
        .coverage
        .iter()
        .find(|c| c.resource == "servicenow.tool_targets")
        .unwrap();
    assert!(
        gap.error.as_deref().is_some_and(|e| e.contains("sys_hub_flow")),
        "{gap:?}"
    );
}
