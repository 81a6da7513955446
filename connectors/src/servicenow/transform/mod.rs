//! Pure functions from ServiceNow Table API records to the normalized model, one module per
//! concern: [`access`] (roles, ACLs, masks, users), [`tools`] (tools and their bindings),
//! [`agents`] (agents, workflows, skills), [`inputs`] (how outside content reaches them) and
//! [`settings`].
//!
//! Reading rules that come from the reference: every scalar is a string; reference fields may
//! arrive as a plain sys_id, as `{link, value}` or as `{display_value, value}`; a property
//! without a `sys_properties` row has its platform default; an unknown enum value degrades to
//! "unknown" rather than failing. Where the reference and ServiceNow's own SDK disagree, the
//! SDK wins (§9; `published/` holds what was read from it).

pub mod access;
pub mod agents;
pub mod inputs;
pub mod settings;
pub mod tools;

pub use access::{ANONYMOUS, AUTHENTICATED, PRIVILEGED_QUERY};
pub use settings::{PROPERTIES, PROPERTY_QUERY};

use crate::Parts;
use access::{role_principal, special, user_principal, Acls, Roles};
use schemas::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub(super) const P: &str = "servicenow";

/// Tables whose records end users write (tickets, cases, articles, email): content from
/// outside the trust boundary (§4, SNAI-008/014).
pub(super) const USER_WRITTEN_TABLES: &[&str] = &[
    "incident",
    "sc_req_item",
    "sc_request",
    "sn_customerservice_case",
    "sn_hr_core_case",
    "kb_knowledge",
    "sys_email",
    "task",
    "interaction",
];

/// Tables holding identities, rights or personal data.
pub(super) const CONFIDENTIAL_TABLES: &[&str] = &[
    "sys_user",
    "sys_user_has_role",
    "sys_user_group",
    "sys_user_grmember",
    "sn_hr_core_case",
    "sn_hr_core_profile",
    "customer_account",
    "customer_contact",
    "sys_properties",
    "oauth_entity",
];

/// A field as text: a plain string, or the `value` of a reference / display-value object.
pub fn text<'a>(record: &'a Value, field: &str) -> &'a str {
    match record.get(field) {
        Some(Value::String(s)) => s,
        Some(Value::Object(o)) => o.get("value").and_then(Value::as_str).unwrap_or(""),
        _ => "",
    }
}

/// Whether a value is a sys_id: 32 hexadecimal characters, as every record key is.
pub fn is_sys_id(value: &str) -> bool {
    value.len() == 32 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(super) fn flag(record: &Value, field: &str) -> bool {
    text(record, field) == "true"
}

pub(super) fn records<'a>(parts: &'a Parts, table: &str) -> &'a [Value] {
    parts
        .get(&format!("{P}.{table}"))
        .map(|p| p.records.as_slice())
        .unwrap_or(&[])
}

pub(super) fn collected(parts: &Parts, table: &str) -> bool {
    parts
        .get(&format!("{P}.{table}"))
        .is_some_and(|p| p.coverage.status == CoverageStatus::Collected)
}

pub fn user_id(sys_id: &str) -> String {
    format!("{P}:user:{sys_id}")
}
pub fn agent_id(sys_id: &str) -> String {
    format!("{P}:agent:{sys_id}")
}
pub fn workflow_id(sys_id: &str) -> String {
    format!("{P}:workflow:{sys_id}")
}
pub(super) fn table_id(table: &str) -> String {
    format!("{P}:table:{table}")
}
/// The rows in effect: a row whose `sys_overrides` names another replaces that row (ServiceNow
/// writes an override as a whole row of the same table, §9.1).
pub(super) fn effective(rows: &[Value]) -> Vec<&Value> {
    let overridden: BTreeSet<&str> = rows
        .iter()
        .map(|r| text(r, "sys_overrides"))
        .filter(|id| !id.is_empty())
        .collect();
    rows.iter()
        .filter(|r| !overridden.contains(text(r, "sys_id")))
        .collect()
}

/// Builds the inventory from the collected parts. Pure: no I/O, no clock.
pub fn inventory(parts: &Parts, connection_id: &str, collected_at: &str) -> Inventory {
    let roles = Roles::new(parts);
    let acls = Acls::new(parts, &roles);
    let masks = access::role_masks(parts, &roles);
    let catalog = tools::Catalog::new(parts);
    let cx = agents::Context {
        parts,
        roles: &roles,
        acls: &acls,
        masks: &masks,
        catalog: &catalog,
    };
    let mut run_as_ids = BTreeSet::new();
    let mut agents = agents::agents(&cx, &mut run_as_ids);
    agents.extend(agents::workflows(&cx, &mut run_as_ids));
    let skills = agents::skills(&cx);
    let (principals, grants) = principals(parts, &roles, &agents, &skills, &run_as_ids);
    let mut settings = settings::settings(parts, &acls);
    if collected(parts, "sn_nowassist_skill_config") {
        let active = skills.iter().filter(|s| s.active).count();
        settings.push(AiSetting {
            key: format!("{P}.now_assist_skills_active"),
            value: json!(active),
            scope: "instance".into(),
            source: SettingSource::Explicit,
            evidence: Evidence::Api,
            as_of: None,
        });
    }
    agents.extend(skills);
    let mut data_stores = catalog.data_stores.clone();
    // Everything on the instance: what an elevated identity can read and write.
    if grants.iter().any(|g| g.level == Level::Admin) {
        data_stores.insert(
            format!("{P}:instance"),
            DataStore {
                id: format!("{P}:instance"),
                kind: "servicenow_instance".into(),
                name: "All records on the instance".into(),
                sensitivity: Some("restricted".into()),
                external_sharing: None,
                attributes: Default::default(),
            },
        );
    }
    let untrusted_inputs = inputs::untrusted_inputs(parts, &agents, &settings);
    let teams = effective(records(parts, "sn_aia_team"))
        .into_iter()
        .filter(|t| text(t, "active") != "false")
        .map(|t| {
            let sys_id = text(t, "sys_id");
            Team {
                id: format!("{P}:team:{sys_id}"),
                name: text(t, "name").to_string(),
                orchestrators: records(parts, "sn_aia_usecase")
                    .iter()
                    .filter(|w| text(w, "team") == sys_id)
                    .map(|w| workflow_id(text(w, "sys_id")))
                    .collect(),
                attributes: Default::default(),
            }
        })
        .collect();
    let mut coverage: Vec<Coverage> = parts.values().map(|p| p.coverage.clone()).collect();
    coverage.push(tool_targets_coverage(&catalog));
    Inventory {
        provider: P.into(),
        connection_id: connection_id.into(),
        collected_at: collected_at.into(),
        principals,
        agents,
        tools: catalog.tools,
        data_stores: data_stores.into_values().collect(),
        grants,
        settings,
        untrusted_inputs,
        teams,
        coverage,
    }
}

/// The records behind tools that this version does not read (flows, subflows, actions,
/// catalog items, topics), said as a coverage entry so the report lists them.
fn tool_targets_coverage(catalog: &tools::Catalog) -> Coverage {
    let unresolved: Vec<String> = catalog
        .unresolved_targets
        .iter()
        .map(|(table, n)| format!("{n} in {table}"))
        .collect();
    Coverage {
        resource: format!("{P}.tool_targets"),
        status: if unresolved.is_empty() {
            CoverageStatus::Collected
        } else {
            CoverageStatus::Unsupported
        },
        evidence: Evidence::Api,
        requests: 0,
        records: 0,
        error: (!unresolved.is_empty()).then(|| {
            format!(
                "not read by this version: the records behind tools ({}), so their own ACLs and run-as identities are not assessed",
                unresolved.join(", ")
            )
        }),
    }
}

/// Principals: the special audiences, the roles agents are granted to, run-as users and the
/// instance's holders of elevated roles, with a grant per role held.
fn principals(
    parts: &Parts,
    roles: &Roles,
    agents: &[Agent],
    skills: &[Agent],
    run_as_ids: &BTreeSet<String>,
) -> (Vec<Principal>, Vec<Grant>) {
    let mut user_roles: HashMap<&str, Vec<String>> = HashMap::new();
    for ur in records(parts, "sys_user_has_role") {
        user_roles
            .entry(text(ur, "user"))
            .or_default()
            .push(roles.name(text(ur, "role")));
    }
    let mut principals = vec![
        special(ANONYMOUS, PrincipalKind::Anonymous, "Public (no sign-in)"),
        special(
            AUTHENTICATED,
            PrincipalKind::AuthenticatedUsers,
            "Any authenticated user",
        ),
    ];
    let mut grants = Vec::new();
    let role_names: BTreeSet<String> = agents
        .iter()
        .chain(skills)
        .flat_map(|a| &a.audience)
        .filter_map(|p| p.strip_prefix("servicenow:role:"))
        .map(str::to_string)
        .collect();
    for role in role_names {
        principals.push(Principal {
            id: role_principal(&role),
            kind: PrincipalKind::Role,
            privileged: roles.elevated(&role),
            name: format!("Holders of role {role}"),
            roles: vec![role],
            attributes: Default::default(),
        });
    }
    for u in records(parts, "sys_user") {
        let sys_id = text(u, "sys_id");
        let held = user_roles.get(sys_id).cloned().unwrap_or_default();
        let (principal, held_grants) = user_principal(u, "", sys_id, held, roles, run_as_ids.contains(sys_id));
        principals.push(principal);
        grants.extend(held_grants);
    }
    // Holders of elevated roles who are not run-as users: the instance's admins.
    let mut privileged: BTreeMap<&str, (Vec<String>, &Value)> = BTreeMap::new();
    for row in records(parts, "privileged_role_holders") {
        let entry = privileged.entry(text(row, "user")).or_insert_with(|| (Vec::new(), row));
        entry.0.push(roles.name(text(row, "role")));
    }
    for (sys_id, (held, row)) in privileged {
        if principals.iter().any(|p| p.id == user_id(sys_id)) {
            continue;
        }
        // These rows carry the user's columns dot-walked as `user.<column>`.
        let (principal, held_grants) = user_principal(row, "user.", sys_id, held, roles, false);
        principals.push(principal);
        grants.extend(held_grants);
    }
    (principals, grants)
}

#[cfg(test)]
mod tests {
    //! Samples are the reference's own (§2.1–§2.11), in the shapes the Table API returns.
    use super::*;
    use crate::ResourcePart;

    fn part(table: &str, records: Value) -> (String, ResourcePart) {
        let name = format!("servicenow.{table}");
        let part = ResourcePart::collected(&name, records.as_array().unwrap().clone(), 1);
        (name, part)
    }

    fn sample() -> Parts {
        [
            part("sn_aia_agent", json!([
                {"sys_id":"1b2c3d4e5f60718293a4b5c6d7e8f90a","name":"Record Operations Agent","channel":"nap","agent_type":"internal","record_type":"custom","internal_name":"global.global.record_operations_agent"}
            ])),
            // Raw values with links, as sysparm_exclude_reference_link=false returns them.
            part("sn_aia_agent_config", json!([{
                "sys_id": "7c1d2e3f405162738495a6b7c8d9e0f1",
                "agent": {"link": "https://acme.service-now.com/api/now/table/sn_aia_agent/1b2c3d4e5f60718293a4b5c6d7e8f90a", "value": "1b2c3d4e5f60718293a4b5c6d7e8f90a"},
                "active": "true",
                "run_as_user": {"link": "https://acme.service-now.com/api/now/table/sys_user/5e6f708192a3b4c5d6e7f8091a2b3c4d", "value": "5e6f708192a3b4c5d6e7f8091a2b3c4d"},
                "public": "false", "agent_descriptor": "", "agent_learning": "false",
                "sys_domain": {"link": "https://acme.service-now.com/api/now/table/sys_user_group/global", "value": "global"},
                "sys_overrides": ""
            }])),
            part("sn_aia_tool", json!([
                {"sys_id":"c3d4e5f60718293a4b5c6d7e8f90a1b2","name":"Create the record","type":"crud","input_schema":"[{\"name\":\"table_name\",\"description\":\"Table\",\"mandatory\":true},{\"name\":\"crudInputs\",\"description\":\"CRUD Input Variables\",\"mandatory\":true}]","script":"","active":"true"},
                {"sys_id":"d4e5f60718293a4b5c6d7e8f90a1b2c3","name":"Send notification email","type":"action","input_schema":"","script":"","active":"true"}
            ])),
            part("sn_aia_agent_tool_m2m", json!([
                {"sys_id":"a0b1c2d3e4f5061728394a5b6c7d8e9f","agent":"1b2c3d4e5f60718293a4b5c6d7e8f90a","tool":"c3d4e5f60718293a4b5c6d7e8f90a1b2","tool.name":"Create the record","tool.type":"crud","execution_mode":"autopilot","max_auto_executions":"10","active":"true",
                 "inputs":"[{\"name\":\"table_name\",\"value\":\"\"},{\"name\":\"crudInputs\",\"value\":{\"operation\":\"create\",\"table\":{\"value\":\"{{table_name}}\",\"displayValue\":\"{{table_name}}\"}}}]"},
                {"sys_id":"b1c2d3e4f5061728394a5b6c7d8e9fa0","agent":"1b2c3d4e5f60718293a4b5c6d7e8f90a","tool":"d4e5f60718293a4b5c6d7e8f90a1b2c3","tool.name":"Send notification email","tool.type":"action","execution_mode":"copilot","max_auto_executions":"3","active":"true"}
            ])),
            part("sys_user", json!([
                {"sys_id":"5e6f708192a3b4c5d6e7f8091a2b3c4d","user_name":"svc.ai.recordops","active":"true","locked_out":"false","web_service_access_only":"false","internal_integration_user":"false","last_login_time":""}
            ])),
            part("sys_user_has_role", json!([
                {"user":"5e6f708192a3b4c5d6e7f8091a2b3c4d","role":"2831a114c611228501d4ea6c309d626d","inherited":"false"},
                {"user":"5e6f708192a3b4c5d6e7f8091a2b3c4d","role":"282bf1fac6112285017366cb5f867469","inherited":"true"}
            ])),
            part("sys_user_role", json!([
                {"sys_id":"2831a114c611228501d4ea6c309d626d","name":"admin","elevated_privilege":"false"},
                {"sys_id":"282bf1fac6112285017366cb5f867469","name":"itil","elevated_privilege":"false"}
            ])),
            part("sys_agent_access_role_configuration", json!([
                {"sys_id":"4b5c6d7e8f90a1b2c3d4e5f60718293a","agent":"e5f60718293a4b5c6d7e8f90a1b2c3d4","agent_table":"sn_aia_usecase","role_list":"","allow_all_session_roles":"true"}
            ])),
            part("sys_properties", json!([
                {"sys_id":"7e8f90a1b2c3d4e5f60718293a4b5c6d","name":"sn_aia.enable_usecase_tool_execution_mode_override","value":"true","type":"true_false"}
            ])),
            part("sys_generative_ai_provider_mapping", json!([
                {"sys_id":"a1b2c3d4e5f60718293a4b5c6d7e8f90","provider":"Now LLM Service","provider_implementation":"Now LLM Generic","external":"false","active":"true"},
                {"sys_id":"b2c3d4e5f60718293a4b5c6d7e8f90a1","provider":"Azure OpenAI","provider_implementation":"Azure OpenAI Chat Completion","external":"true","active":"true",
                 "gen_ai_provider":"c3d4e5f60718293a4b5c6d7e8f90a1b2","gen_ai_provider.gen_ai_provider":"Contoso Azure OpenAI","gen_ai_provider.integration_type":"BYOK"}
            ])),
            part("sys_cs_provider", json!([
                {"sys_id":"c5d6e7f8091a2b3c4d5e6f708192a3b4","name":"VA Bot to Bot Provider","link_account_enabled":"true","automatic_link_enabled":"true","account_link_type":"verification_question"}
            ])),
            part("sys_store_app", json!([
                {"sys_id":"e7f8091a2b3c4d5e6f708192a3b4c5d6","scope":"sn_aia","name":"Now Assist AI Agents","version":"5.2.12","active":"true"}
            ])),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn agent_joins_config_tools_and_run_as_identity() {
        let inv = inventory(&sample(), "c", "t");
        let agent = &inv.agents[0];
        assert_eq!(agent.id, "servicenow:agent:1b2c3d4e5f60718293a4b5c6d7e8f90a");
        assert_eq!(agent.identity, RunIdentity::Fixed);
        assert_eq!(
            agent.run_as.as_deref(),
            Some("servicenow:user:5e6f708192a3b4c5d6e7f8091a2b3c4d")
        );
        assert_eq!(agent.channels, ["now_assist_panel"]);
        assert_eq!(
            agent.autonomy,
            Autonomy::Autonomous,
            "one autopilot binding makes the agent autonomous"
        );
        assert_eq!(agent.tools.len(), 2);
        assert_eq!(agent.tools[0].attributes["max_auto_executions"], json!(10));
        // The ACL tables were not read: who may invoke is unknown, not "nobody".
        assert!(agent.audience_unknown);
        let user = inv
            .principals
            .iter()
            .find(|p| Some(&p.id) == agent.run_as.as_ref())
            .unwrap();
        assert!(user.privileged);
        assert_eq!(user.roles, ["admin", "itil"]);
        assert_eq!(user.attributes["identity_type"], json!("unclassified"));
        assert_eq!(user.attributes["run_as_for_agents"], json!(true));
    }

    #[test]
    fn tools_get_capabilities_and_targets() {
        let inv = inventory(&sample(), "c", "t");
        let create = inv
            .tools
            .iter()
            .find(|t| t.name.starts_with("Create the record"))
            .unwrap();
        assert_eq!(create.name, "Create the record (create *)");
        assert_eq!(create.capabilities, [Capability::Write]);
        assert_eq!(create.targets, ["servicenow:table:*"]);
        let email = inv.tools.iter().find(|t| t.name == "Send notification email").unwrap();
        assert!(email.capabilities.contains(&Capability::SendExternal));
        let any = inv.data_stores.iter().find(|d| d.id == "servicenow:table:*").unwrap();
        assert_eq!(any.sensitivity.as_deref(), Some("restricted"));
    }

    #[test]
    fn settings_fill_platform_defaults_only_when_the_table_was_read() {
        let inv = inventory(&sample(), "c", "t");
        let get = |k: &str| inv.settings.iter().find(|s| s.key == k).cloned();
        let explicit = get("servicenow.sn_aia.enable_usecase_tool_execution_mode_override").unwrap();
        assert_eq!(
            (explicit.value, explicit.source),
            (json!("true"), SettingSource::Explicit)
        );
        let default = get("servicenow.identity.agent.role_masking.enabled").unwrap();
        assert_eq!((default.value, default.source), (json!("true"), SettingSource::Default));
        assert_eq!(
            get("servicenow.installed_apps").unwrap().value,
            json!({"sn_aia": "5.2.12"})
        );
        let providers = get("servicenow.llm_providers").unwrap().value;
        assert_eq!(
            providers[1],
            json!({"provider": "Contoso Azure OpenAI", "mapping": "Azure OpenAI", "external": true, "active": true,
                   "integration_type": "BYOK", "byok": true}),
            "the display name and BYOK come from sys_gen_ai_provider (§9.4)"
        );
        // sn_aia_property was not collected: no invented defaults for it.
        assert!(get("servicenow.sn_aia_property.kill_switch.mode").is_none());
    }

    #[test]
    fn auto_linking_provider_reaches_active_agents() {
        let inv = inventory(&sample(), "c", "t");
        let provider = inv.untrusted_inputs.iter().find(|i| i.kind == "chat_channel").unwrap();
        assert_eq!(provider.attributes["auto_link_without_mfa"], json!(true));
        assert_eq!(provider.reaches, ["servicenow:agent:1b2c3d4e5f60718293a4b5c6d7e8f90a"]);
    }

    #[test]
    fn display_value_objects_and_unknown_values_degrade() {
        let record = json!({"a": {"display_value": "Admin", "value": "x1"}, "b": 3, "c": "plain"});
        assert_eq!(text(&record, "a"), "x1");
        assert_eq!(text(&record, "b"), "", "a non-string scalar is not trusted as text");
        assert_eq!(text(&record, "missing"), "");
        assert_eq!(
            tools::type_capabilities("brand_new_type", "x"),
            [Capability::Write],
            "unknown tool types count as writers"
        );
    }
}
