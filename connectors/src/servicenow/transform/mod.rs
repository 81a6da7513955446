//! Pure functions from ServiceNow Table API records to the normalized model.
//!
//! Reading rules that come from the reference: every scalar is a string; reference fields may
//! arrive as a plain sys_id, as `{link, value}` or as `{display_value, value}`; a property
//! without a `sys_properties` row has its platform default; an unknown enum value degrades to
//! "unknown" rather than failing.

use crate::Parts;
use schemas::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

const P: &str = "servicenow";

/// AI-relevant system properties and their platform defaults (§2.6, §8.1). `None`: no
/// documented default; the setting is reported only when the instance has a row.
pub const PROPERTIES: &[(&str, Option<&str>)] = &[
    ("sn_aia.enable_usecase_tool_execution_mode_override", Some("false")),
    ("sn_aia.agent_llm_provider", Some("azure_openai")),
    ("sn_aia.continuous_tool_execution_limit", Some("7")),
    ("sn_aia.external_agents.enabled", Some("false")),
    ("sn_aia.external_agent_guardian_check", Some("true")),
    ("mcp_guardian_check", Some("false")),
    ("identity.agent.role_masking.enabled", Some("true")),
    ("sn_aia.allow_context_sharing", Some("true")),
    ("sn_aia.ltm.enable_long_term_memory", Some("false")),
    ("sn_aia.enable_episodic_memory", Some("true")),
    ("sn_nowassist_va.router_redirect_va_agentic", Some("ROUTER_DECISION")),
    ("sn_aia.enable_aiagents_discovery", None),
    ("sn_aia.enable_va_conversation", None),
    ("glide.ai_record_activity.validation.feature.enabled", Some("false")),
    ("com.sn.generative.ai.log_prompt", Some("true")),
    (
        "com.glide.one_extend.include_default_roles_for_skill_acl",
        Some("false"),
    ),
    ("sn_itsm_aia.office_365_group_member_approval.required", Some("true")),
    ("glide.voice.authenticate.mfa_mandatory", Some("true")),
    ("glide.voice.authenticate.allow_kba_as_only_factor", Some("false")),
    ("glide.basicauth.required.api", Some("false")),
    ("glide.oauth.inbound.ropc.grant_type.disabled", Some("false")),
    (
        "glide.oauth.inbound.client.credential.grant_type.enabled",
        Some("false"),
    ),
];

/// The `sys_properties` filter for [`PROPERTIES`].
pub const PROPERTY_QUERY: &str = "nameINsn_aia.enable_usecase_tool_execution_mode_override,sn_aia.agent_llm_provider,sn_aia.continuous_tool_execution_limit,sn_aia.external_agents.enabled,sn_aia.external_agent_guardian_check,mcp_guardian_check,identity.agent.role_masking.enabled,sn_aia.allow_context_sharing,sn_aia.ltm.enable_long_term_memory,sn_aia.enable_episodic_memory,sn_nowassist_va.router_redirect_va_agentic,sn_aia.enable_aiagents_discovery,sn_aia.enable_va_conversation,glide.ai_record_activity.validation.feature.enabled,com.sn.generative.ai.log_prompt,com.glide.one_extend.include_default_roles_for_skill_acl,sn_itsm_aia.office_365_group_member_approval.required,glide.voice.authenticate.mfa_mandatory,glide.voice.authenticate.allow_kba_as_only_factor,glide.basicauth.required.api,glide.oauth.inbound.ropc.grant_type.disabled,glide.oauth.inbound.client.credential.grant_type.enabled";

/// `sn_aia_property` names and defaults (§2.6).
const AIA_PROPERTIES: &[(&str, &str)] = &[
    ("kill_switch.mode", "warn_only"),
    ("mcp_guardian_check", "false"),
    ("recursive_check.create_max_executions", "50"),
    ("recursive_check.update_max_executions", "5"),
];

/// Roles treated as elevated besides any with `elevated_privilege=true` (§4 preamble).
const ELEVATED_ROLES: &[&str] = &[
    "admin",
    "security_admin",
    "maint",
    "nobody",
    "oauth_admin",
    "user_admin",
    "sn_aia.admin",
    "agent_role_config_admin",
    "ai_user_admin",
    "sn_generative_ai.nsa_admin",
    "sn_nowassist_admin.nsa_admin",
    "rate_limit_admin",
];

/// `sys_user_has_role` rows granting an elevated role (directly or inherited).
pub const PRIVILEGED_QUERY: &str = "role.elevated_privilege=true^ORrole.nameINadmin,security_admin,oauth_admin,user_admin,sn_aia.admin,agent_role_config_admin,ai_user_admin,sn_generative_ai.nsa_admin,sn_nowassist_admin.nsa_admin,rate_limit_admin";

/// Tables whose records end users write (tickets, cases, articles, email): content from
/// outside the trust boundary (§4, SNAI-008/014).
const USER_WRITTEN_TABLES: &[&str] = &[
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
const CONFIDENTIAL_TABLES: &[&str] = &[
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

/// Tool types (§2.2) and what they can do; unknown types are treated as writers.
fn tool_capabilities(kind: &str, operation: &str, name: &str) -> Vec<Capability> {
    let sends = {
        let n = name.to_lowercase();
        ["email", "notif", "send", "slack", "teams", "webhook", "sms"]
            .iter()
            .any(|w| n.contains(w))
    };
    let mut caps = match kind {
        "crud" if operation == "lookup" || operation == "read" => vec![Capability::Read],
        "crud" => vec![Capability::Write],
        "rag" | "search_retrieval" | "knowledge_graph" | "capability" | "file_upload" | "deep_research" => {
            vec![Capability::Read]
        }
        "web_automation" => vec![Capability::Read, Capability::SendExternal],
        "script" => vec![Capability::Read, Capability::Write, Capability::ExecuteCode],
        "mcp" => vec![Capability::Read, Capability::Write, Capability::SendExternal],
        _ => vec![Capability::Write],
    };
    if sends && !caps.contains(&Capability::SendExternal) {
        caps.push(Capability::SendExternal);
    }
    caps
}

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

fn flag(record: &Value, field: &str) -> bool {
    text(record, field) == "true"
}

fn records<'a>(parts: &'a Parts, table: &str) -> &'a [Value] {
    parts
        .get(&format!("{P}.{table}"))
        .map(|p| p.records.as_slice())
        .unwrap_or(&[])
}

fn collected(parts: &Parts, table: &str) -> bool {
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
fn tool_id(sys_id: &str) -> String {
    format!("{P}:tool:{sys_id}")
}
fn table_id(table: &str) -> String {
    format!("{P}:table:{table}")
}
fn role_principal(name: &str) -> String {
    format!("{P}:role:{name}")
}
pub const ANONYMOUS: &str = "servicenow:anonymous";
pub const AUTHENTICATED: &str = "servicenow:authenticated_users";

struct Roles {
    by_id: HashMap<String, (String, bool)>,
}

impl Roles {
    fn new(parts: &Parts) -> Self {
        let by_id = records(parts, "sys_user_role")
            .iter()
            .map(|r| {
                let name = text(r, "name").to_string();
                let elevated = flag(r, "elevated_privilege") || ELEVATED_ROLES.contains(&name.as_str());
                (text(r, "sys_id").to_string(), (name, elevated))
            })
            .collect();
        Roles { by_id }
    }
    fn name(&self, id: &str) -> String {
        self.by_id
            .get(id)
            .map(|(n, _)| n.clone())
            .unwrap_or_else(|| id.to_string())
    }
    fn elevated(&self, name: &str) -> bool {
        ELEVATED_ROLES.contains(&name) || self.by_id.values().any(|(n, e)| n == name && *e)
    }
}

/// Who may invoke a record under its ACLs: `Some(audience)` when the ACLs were read.
struct Acls {
    read: bool,
    /// ACL name -> audience principal ids.
    by_name: HashMap<String, Vec<String>>,
    /// Wildcard ACLs by type: true when permissive (not deny-by-default).
    wildcard_permissive: BTreeMap<String, bool>,
}

impl Acls {
    fn new(parts: &Parts, roles: &Roles) -> Self {
        let mut acl_roles: HashMap<&str, Vec<String>> = HashMap::new();
        for r in records(parts, "sys_security_acl_role") {
            acl_roles
                .entry(text(r, "sys_security_acl"))
                .or_default()
                .push(roles.name(text(r, "sys_user_role")));
        }
        let mut by_name: HashMap<String, Vec<String>> = HashMap::new();
        let mut wildcard_permissive = BTreeMap::new();
        for acl in records(parts, "sys_security_acl") {
            if !flag(acl, "active") || text(acl, "decision_type") == "deny" {
                continue;
            }
            let role_names = acl_roles.get(text(acl, "sys_id")).cloned().unwrap_or_default();
            let attribute = text(acl, "security_attribute.name");
            let never = attribute.eq_ignore_ascii_case("never");
            let audience: Vec<String> = if never {
                vec![]
            } else if role_names.iter().any(|r| r == "public") {
                vec![ANONYMOUS.to_string()]
            } else if attribute == "LoggedIn"
                || attribute == "user_is_authenticated"
                || (role_names.is_empty()
                    && attribute.is_empty()
                    && text(acl, "condition").is_empty()
                    && text(acl, "script").is_empty())
            {
                vec![AUTHENTICATED.to_string()]
            } else {
                role_names.iter().map(|r| role_principal(r)).collect()
            };
            let name = text(acl, "name");
            if name == "*" {
                wildcard_permissive.insert(text(acl, "type.name").to_string(), !never && !audience.is_empty());
            } else {
                by_name.entry(name.to_string()).or_default().extend(audience);
            }
        }
        Acls {
            read: collected(parts, "sys_security_acl") && collected(parts, "sys_security_acl_role"),
            by_name,
            wildcard_permissive,
        }
    }

    /// (audience, has_own_acl, unknown)
    fn audience(&self, internal_name: &str, types: &[&str]) -> (Vec<String>, bool, bool) {
        if !self.read || internal_name.is_empty() {
            return (vec![], false, true);
        }
        match self.by_name.get(internal_name) {
            Some(a) => (a.clone(), true, false),
            None => {
                let open = types
                    .iter()
                    .any(|t| self.wildcard_permissive.get(*t).copied().unwrap_or(false));
                (
                    if open { vec![AUTHENTICATED.to_string()] } else { vec![] },
                    false,
                    false,
                )
            }
        }
    }
}

/// Role masks by the masked record's sys_id: `None` = allow all session roles.
fn role_masks(parts: &Parts, roles: &Roles) -> HashMap<String, Option<Vec<String>>> {
    let mut mapped: HashMap<&str, Vec<String>> = HashMap::new();
    for m in records(parts, "sys_agent_access_role_mapping") {
        mapped
            .entry(text(m, "agent_access_config"))
            .or_default()
            .push(roles.name(text(m, "role")));
    }
    let mut out = HashMap::new();
    for c in records(parts, "sys_agent_access_role_configuration") {
        let mask = if flag(c, "allow_all_session_roles") {
            None
        } else {
            let mut names: Vec<String> = text(c, "role_list")
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|id| roles.name(id))
                .collect();
            names.extend(mapped.get(text(c, "sys_id")).cloned().unwrap_or_default());
            names.sort();
            names.dedup();
            // A configuration that limits to no roles at all does not limit anything.
            if names.is_empty() {
                None
            } else {
                Some(names)
            }
        };
        out.insert(text(c, "agent").to_string(), mask);
    }
    out
}

fn mask_has_elevated(masks: &HashMap<String, Option<Vec<String>>>, sys_id: &str, roles: &Roles) -> bool {
    masks
        .get(sys_id)
        .and_then(|m| m.as_ref())
        .is_some_and(|names| names.iter().any(|n| roles.elevated(n)))
}

fn autonomy(mode: &str) -> Autonomy {
    if mode == "autopilot" {
        Autonomy::Autonomous
    } else {
        Autonomy::Supervised
    }
}

fn sensitivity(table: &str) -> &'static str {
    if table == "*" {
        "restricted"
    } else if CONFIDENTIAL_TABLES.contains(&table) {
        "confidential"
    } else {
        "internal"
    }
}

/// Builds the inventory from the collected parts. Pure: no I/O, no clock.
pub fn inventory(parts: &Parts, connection_id: &str, collected_at: &str) -> Inventory {
    let roles = Roles::new(parts);
    let acls = Acls::new(parts, &roles);
    let masks = role_masks(parts, &roles);
    let masks_read = collected(parts, "sys_agent_access_role_configuration");

    // Tools and the tables they touch.
    let mut data_stores: BTreeMap<String, DataStore> = BTreeMap::new();
    let mut tools = Vec::new();
    let mut tool_reads: HashMap<String, Vec<String>> = HashMap::new();
    for t in records(parts, "sn_aia_tool") {
        let kind = text(t, "type");
        let schema: Value = serde_json::from_str(text(t, "input_schema")).unwrap_or(Value::Null);
        let operation = schema.get("operationName").and_then(Value::as_str).unwrap_or("");
        let mut targets: Vec<String> = Vec::new();
        if let Some(table) = schema.get("table").and_then(Value::as_str) {
            targets.push(table.to_string());
        }
        if matches!(kind, "rag" | "search_retrieval" | "knowledge_graph") {
            targets.push("kb_knowledge".into());
        }
        let capabilities = tool_capabilities(kind, operation, text(t, "name"));
        for table in &targets {
            data_stores.entry(table_id(table)).or_insert_with(|| DataStore {
                id: table_id(table),
                kind: "servicenow_table".into(),
                name: if table == "*" {
                    "Any table (*)".to_string()
                } else {
                    table.clone()
                },
                sensitivity: Some(sensitivity(table).into()),
                external_sharing: None,
                attributes: [(
                    "user_written".to_string(),
                    json!(USER_WRITTEN_TABLES.contains(&table.as_str()) || table == "*"),
                )]
                .into_iter()
                .collect(),
            });
        }
        if capabilities.contains(&Capability::Read) {
            tool_reads.insert(text(t, "sys_id").to_string(), targets.clone());
        }
        let script = text(t, "script");
        tools.push(Tool {
            id: tool_id(text(t, "sys_id")),
            kind: kind.to_string(),
            name: text(t, "name").to_string(),
            capabilities,
            targets: targets.iter().map(|t| table_id(t)).collect(),
            active: text(t, "active") != "false",
            attributes: [
                ("operation".to_string(), json!(operation)),
                (
                    "script_uses_glide_record".to_string(),
                    json!(script.contains("new GlideRecord(")),
                ),
                (
                    "script_disables_workflow".to_string(),
                    json!(script.contains("setWorkflow(false)")),
                ),
            ]
            .into_iter()
            .collect(),
        });
    }

    // Agents: sn_aia_agent joined with its config, tool bindings, teams, masks, ACLs, activity.
    let configs: HashMap<&str, &Value> = records(parts, "sn_aia_agent_config")
        .iter()
        .filter(|c| text(c, "sys_overrides").is_empty())
        .map(|c| (text(c, "agent"), c))
        .collect();
    let mut bindings: HashMap<&str, Vec<ToolBinding>> = HashMap::new();
    for b in records(parts, "sn_aia_agent_tool_m2m") {
        let max = text(b, "max_auto_executions");
        bindings.entry(text(b, "agent")).or_default().push(ToolBinding {
            tool_id: tool_id(text(b, "tool")),
            autonomy: autonomy(text(b, "execution_mode")),
            active: text(b, "active") != "false",
            attributes: [(
                "max_auto_executions".to_string(),
                json!(max.parse::<i64>().unwrap_or(10)),
            )]
            .into_iter()
            .collect(),
        });
    }
    let mut teams: HashMap<&str, Vec<String>> = HashMap::new();
    for m in records(parts, "sn_aia_team_member") {
        teams
            .entry(text(m, "agent"))
            .or_default()
            .push(format!("{P}:team:{}", text(m, "team")));
    }
    let activity_read = collected(parts, "sn_aia_execution_plan");
    let mut last_run: HashMap<&str, String> = HashMap::new();
    for plan in records(parts, "sn_aia_execution_plan") {
        let when = text(plan, "sys_created_on");
        let entry = last_run.entry(text(plan, "agent")).or_default();
        if when > entry.as_str() {
            *entry = when.to_string();
        }
    }
    let mut agents = Vec::new();
    let mut run_as_ids = BTreeSet::new();
    for a in records(parts, "sn_aia_agent") {
        let sys_id = text(a, "sys_id");
        let config = configs.get(sys_id);
        let run_as = config.map(|c| text(c, "run_as_user")).unwrap_or("");
        if !run_as.is_empty() {
            run_as_ids.insert(run_as.to_string());
        }
        let (audience, own_acl, audience_unknown) = acls.audience(text(a, "internal_name"), &["gen_ai_agent"]);
        let tool_bindings = bindings.remove(sys_id).unwrap_or_default();
        let channels = match text(a, "channel") {
            "nap" => vec!["now_assist_panel".to_string()],
            "" | "nap_and_va" => vec!["now_assist_panel".to_string(), "virtual_agent".to_string()],
            other => vec![other.to_string()],
        };
        let reads_user_content = tool_bindings
            .iter()
            .filter(|b| b.active)
            .filter_map(|b| tool_reads.get(b.tool_id.trim_start_matches("servicenow:tool:")))
            .flatten()
            .any(|t| USER_WRITTEN_TABLES.contains(&t.as_str()));
        let knowledge: Vec<String> = tool_bindings
            .iter()
            .filter_map(|b| tool_reads.get(b.tool_id.trim_start_matches("servicenow:tool:")))
            .flatten()
            .map(|t| table_id(t))
            .collect();
        agents.push(Agent {
            id: agent_id(sys_id),
            kind: "now_assist_agent".into(),
            name: text(a, "name").to_string(),
            owner: None,
            identity: if run_as.is_empty() {
                RunIdentity::Invoker
            } else {
                RunIdentity::Fixed
            },
            run_as: (!run_as.is_empty()).then(|| user_id(run_as)),
            role_mask: masks.get(sys_id).cloned().flatten(),
            audience,
            audience_unknown,
            channels,
            autonomy: if tool_bindings
                .iter()
                .any(|b| b.active && b.autonomy == Autonomy::Autonomous)
            {
                Autonomy::Autonomous
            } else {
                Autonomy::Supervised
            },
            tools: tool_bindings,
            knowledge,
            teams: teams.remove(sys_id).unwrap_or_default(),
            active: config.is_some_and(|c| text(c, "active") != "false"),
            last_used: last_run.get(sys_id).cloned(),
            attributes: [
                ("agent_type".to_string(), json!(text(a, "agent_type"))),
                ("internal_name".to_string(), json!(text(a, "internal_name"))),
                (
                    "public_flag".to_string(),
                    json!(config.is_some_and(|c| flag(c, "public"))),
                ),
                ("has_own_acl".to_string(), json!(own_acl)),
                ("role_mask_read".to_string(), json!(masks_read)),
                ("role_mask_configured".to_string(), json!(masks.contains_key(sys_id))),
                (
                    "role_mask_has_elevated".to_string(),
                    json!(mask_has_elevated(&masks, sys_id, &roles)),
                ),
                ("activity_read".to_string(), json!(activity_read)),
                ("reads_user_content".to_string(), json!(reads_user_content)),
                ("created_on".to_string(), json!(text(a, "sys_created_on"))),
            ]
            .into_iter()
            .collect(),
        });
    }

    // Agentic workflows are invokable AI units too: they orchestrate their team's agents.
    let overrides: HashMap<&str, &Value> = records(parts, "sn_aia_usecase_config_override")
        .iter()
        .filter(|o| text(o, "active") != "false")
        .map(|o| (text(o, "usecase_configuration"), o))
        .collect();
    for w in records(parts, "sn_aia_usecase") {
        let sys_id = text(w, "sys_id");
        let run_as = overrides.get(sys_id).map(|o| text(o, "run_as_user")).unwrap_or("");
        if !run_as.is_empty() {
            run_as_ids.insert(run_as.to_string());
        }
        let (audience, own_acl, audience_unknown) =
            acls.audience(text(w, "internal_name"), &["gen_ai_agentic_usecase", "gen_ai_workflow"]);
        agents.push(Agent {
            id: workflow_id(sys_id),
            kind: "now_assist_workflow".into(),
            name: text(w, "name").to_string(),
            owner: None,
            identity: if run_as.is_empty() {
                RunIdentity::Invoker
            } else {
                RunIdentity::Fixed
            },
            run_as: (!run_as.is_empty()).then(|| user_id(run_as)),
            role_mask: masks.get(sys_id).cloned().flatten(),
            audience,
            audience_unknown,
            channels: vec![],
            autonomy: autonomy(text(w, "execution_mode")),
            tools: vec![],
            knowledge: vec![],
            // The workflow orchestrates its team (see `Team::orchestrators`); it is not a member.
            teams: vec![],
            active: text(w, "active") != "false",
            last_used: None,
            attributes: [
                ("internal_name".to_string(), json!(text(w, "internal_name"))),
                ("public_flag".to_string(), json!(false)),
                ("reads_user_content".to_string(), json!(false)),
                ("has_own_acl".to_string(), json!(own_acl)),
                ("role_mask_read".to_string(), json!(masks_read)),
                ("role_mask_configured".to_string(), json!(masks.contains_key(sys_id))),
                (
                    "role_mask_has_elevated".to_string(),
                    json!(mask_has_elevated(&masks, sys_id, &roles)),
                ),
                ("activity_read".to_string(), json!(false)),
            ]
            .into_iter()
            .collect(),
        });
    }

    // Identities: run-as users with their roles.
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
    let mut role_names: BTreeSet<String> = BTreeSet::new();
    for agent in &agents {
        for p in &agent.audience {
            if let Some(role) = p.strip_prefix("servicenow:role:") {
                role_names.insert(role.to_string());
            }
        }
    }
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
        let (principal, held_grants) = user_principal(u, "", sys_id, held, &roles, run_as_ids.contains(sys_id));
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
        let (principal, held_grants) = user_principal(row, "user.", sys_id, held, &roles, false);
        principals.push(principal);
        grants.extend(held_grants);
    }

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
    let settings = settings(parts);
    let untrusted_inputs = untrusted_inputs(parts, &agents, &settings);
    let teams = records(parts, "sn_aia_team")
        .iter()
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
    let coverage = parts.values().map(|p| p.coverage.clone()).collect();
    Inventory {
        provider: P.into(),
        connection_id: connection_id.into(),
        collected_at: collected_at.into(),
        principals,
        agents,
        tools,
        data_stores: data_stores.into_values().collect(),
        grants,
        settings,
        untrusted_inputs,
        teams,
        coverage,
    }
}

/// A `sys_user` record (columns under `prefix`, e.g. `user.` when dot-walked) as a principal,
/// with a grant per role it holds.
fn user_principal(
    record: &Value,
    prefix: &str,
    sys_id: &str,
    mut held: Vec<String>,
    roles: &Roles,
    runs_agents: bool,
) -> (Principal, Vec<Grant>) {
    let column = |name: &str| format!("{prefix}{name}");
    held.sort();
    held.dedup();
    let identity_type = text(record, &column("identity_type"));
    let web_service_only = flag(record, &column("web_service_access_only"));
    let kind = match identity_type {
        "ai_agent" | "ai_agents" => PrincipalKind::AiIdentity,
        "machine" => PrincipalKind::ServiceAccount,
        _ if web_service_only => PrincipalKind::ServiceAccount,
        _ => PrincipalKind::User,
    };
    let grants = held
        .iter()
        .map(|role| Grant {
            holder: user_id(sys_id),
            target: format!("{P}:instance"),
            permission: role.clone(),
            level: if roles.elevated(role) {
                Level::Admin
            } else {
                Level::Read
            },
            scope: "tenant".into(),
            consent: None,
        })
        .collect();
    let principal = Principal {
        id: user_id(sys_id),
        kind,
        name: text(record, &column("user_name")).to_string(),
        privileged: held.iter().any(|r| roles.elevated(r)),
        roles: held,
        attributes: [
            (
                "identity_type".to_string(),
                json!(if identity_type.is_empty() {
                    "unclassified"
                } else {
                    identity_type
                }),
            ),
            ("web_service_access_only".to_string(), json!(web_service_only)),
            ("active".to_string(), json!(text(record, &column("active")) != "false")),
            ("locked_out".to_string(), json!(flag(record, &column("locked_out")))),
            ("run_as_for_agents".to_string(), json!(runs_agents)),
        ]
        .into_iter()
        .collect(),
    };
    (principal, grants)
}

fn special(id: &str, kind: PrincipalKind, name: &str) -> Principal {
    Principal {
        id: id.into(),
        kind,
        name: name.into(),
        privileged: false,
        roles: vec![],
        attributes: Default::default(),
    }
}

fn setting(key: String, value: Value, source: SettingSource) -> AiSetting {
    AiSetting {
        key,
        value,
        scope: "instance".into(),
        source,
    }
}

/// Effective AI settings. Nothing is reported for a table that could not be read, so rules that
/// need it come out `not_assessed` instead of passing on defaults.
fn settings(parts: &Parts) -> Vec<AiSetting> {
    let mut out = Vec::new();
    if collected(parts, "sys_properties") {
        let rows: HashMap<&str, &str> = records(parts, "sys_properties")
            .iter()
            .map(|r| (text(r, "name"), text(r, "value")))
            .collect();
        for (name, default) in PROPERTIES {
            match (rows.get(name), default) {
                (Some(v), _) => out.push(setting(format!("{P}.{name}"), json!(v), SettingSource::Explicit)),
                (None, Some(d)) => out.push(setting(format!("{P}.{name}"), json!(d), SettingSource::Default)),
                (None, None) => {}
            }
        }
    }
    if collected(parts, "sn_aia_property") {
        let rows: HashMap<&str, &str> = records(parts, "sn_aia_property")
            .iter()
            .map(|r| (text(r, "name"), text(r, "value")))
            .collect();
        for (name, default) in AIA_PROPERTIES {
            let (value, source) = match rows.get(name) {
                Some(v) => (*v, SettingSource::Explicit),
                None => (*default, SettingSource::Default),
            };
            out.push(setting(format!("{P}.sn_aia_property.{name}"), json!(value), source));
        }
    }
    if collected(parts, "sys_store_app") {
        let apps: serde_json::Map<String, Value> = records(parts, "sys_store_app")
            .iter()
            .filter(|r| text(r, "active") != "false")
            .map(|r| (text(r, "scope").to_string(), json!(text(r, "version"))))
            .collect();
        out.push(setting(
            format!("{P}.installed_apps"),
            Value::Object(apps),
            SettingSource::Explicit,
        ));
    }
    if collected(parts, "sys_security_acl") {
        // Deny-by-default wildcard ACLs carry the "Never" security attribute (§2.5, §8.2).
        let permissive = records(parts, "sys_security_acl").iter().any(|acl| {
            text(acl, "name") == "*"
                && flag(acl, "active")
                && !text(acl, "security_attribute.name").eq_ignore_ascii_case("never")
        });
        out.push(setting(
            format!("{P}.acl.wildcard_gen_ai_permissive"),
            json!(permissive),
            SettingSource::Explicit,
        ));
    }
    if collected(parts, "sys_generative_ai_provider_mapping") {
        let providers: Vec<Value> = records(parts, "sys_generative_ai_provider_mapping")
            .iter()
            .map(|r| json!({"provider": text(r, "provider"), "external": flag(r, "external"), "active": text(r, "active") != "false"}))
            .collect();
        out.push(setting(
            format!("{P}.llm_providers"),
            Value::Array(providers),
            SettingSource::Explicit,
        ));
    }
    if collected(parts, "sys_generative_ai_model_config") {
        let models: Vec<Value> = records(parts, "sys_generative_ai_model_config")
            .iter()
            .map(|r| json!({"model": text(r, "model"), "provider": text(r, "provider"), "active": text(r, "active") != "false"}))
            .collect();
        out.push(setting(
            format!("{P}.llm_models"),
            Value::Array(models),
            SettingSource::Explicit,
        ));
    }
    if collected(parts, "sn_nowassist_skill_config") {
        let active = records(parts, "sn_nowassist_skill_config")
            .iter()
            .filter(|r| text(r, "active") != "false")
            .count();
        out.push(setting(
            format!("{P}.now_assist_skills_active"),
            json!(active),
            SettingSource::Explicit,
        ));
    }
    if collected(parts, "sn_aia_external_agent_configuration") {
        let active = records(parts, "sn_aia_external_agent_configuration")
            .iter()
            .filter(|r| text(r, "active") != "false")
            .count();
        out.push(setting(
            format!("{P}.external_agent_configurations"),
            json!(active),
            SettingSource::Explicit,
        ));
    }
    if collected(parts, "sys_public") {
        let public = records(parts, "sys_public").iter().any(|r| flag(r, "active"));
        out.push(setting(
            format!("{P}.va.public_web_client"),
            json!(public),
            SettingSource::Explicit,
        ));
    }
    if collected(parts, "sn_aia_tool") {
        let mcp = records(parts, "sn_aia_tool").iter().any(|t| text(t, "type") == "mcp");
        out.push(setting(
            format!("{P}.mcp_tools_present"),
            json!(mcp),
            SettingSource::Explicit,
        ));
    }
    out
}

fn setting_value<'a>(settings: &'a [AiSetting], key: &str) -> Option<&'a Value> {
    settings.iter().find(|s| s.key == key).map(|s| &s.value)
}

/// How outside content reaches agents: record triggers, chat providers, public chat, tickets.
fn untrusted_inputs(parts: &Parts, agents: &[Agent], settings: &[AiSetting]) -> Vec<UntrustedInput> {
    let mut out = Vec::new();
    let active_agents: Vec<String> = agents
        .iter()
        .filter(|a| a.active && a.kind == "now_assist_agent")
        .map(|a| a.id.clone())
        .collect();

    for trigger in records(parts, "sn_aia_trigger_configuration") {
        if !flag(trigger, "active") {
            continue;
        }
        let table = text(trigger, "target_table");
        let kind = text(trigger, "trigger_flow_definition_type");
        let outside = USER_WRITTEN_TABLES.contains(&table) || kind == "email";
        let usecase = text(trigger, "usecase");
        out.push(UntrustedInput {
            id: format!("{P}:trigger:{}", text(trigger, "sys_id")),
            kind: if kind == "email" {
                "inbound_email".into()
            } else {
                "record_trigger".into()
            },
            name: format!("{} (on {table})", text(trigger, "name")),
            reaches: if usecase.is_empty() {
                vec![]
            } else {
                vec![workflow_id(usecase)]
            },
            unauthenticated: false,
            attributes: [
                ("target_table".to_string(), json!(table)),
                ("trigger_type".to_string(), json!(kind)),
                ("user_written_content".to_string(), json!(outside)),
                ("run_as_user".to_string(), json!(text(trigger, "run_as_user"))),
                (
                    "run_as_script".to_string(),
                    json!(!text(trigger, "run_as_script").is_empty()),
                ),
            ]
            .into_iter()
            .collect(),
        });
    }

    // Tickets and other end-user-written records that agents read (second-order injection).
    let mut by_table: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for agent in agents.iter().filter(|a| a.active) {
        for store in &agent.knowledge {
            let table = store.trim_start_matches("servicenow:table:");
            if USER_WRITTEN_TABLES.contains(&table) {
                by_table.entry(table.to_string()).or_default().push(agent.id.clone());
            }
        }
    }
    for (table, readers) in by_table {
        out.push(UntrustedInput {
            id: format!("{P}:user_records:{table}"),
            kind: "end_user_ticket_field".into(),
            name: format!("End-user text in {table} records"),
            reaches: readers,
            unauthenticated: false,
            attributes: [("target_table".to_string(), json!(table))].into_iter().collect(),
        });
    }

    // Virtual Agent provider channels. An auto-linking provider lets whoever holds its token
    // act as any user; BodySnatcher reached every active agent through it (§4.1).
    let applications: Vec<&Value> = records(parts, "sys_cs_provider_application").iter().collect();
    for provider in records(parts, "sys_cs_provider") {
        let sys_id = text(provider, "sys_id");
        let link_type = text(provider, "account_link_type").to_lowercase();
        let auto_link = flag(provider, "link_account_enabled") && flag(provider, "automatic_link_enabled");
        let mfa = link_type.contains("mfa");
        let tokens: Vec<&str> = applications
            .iter()
            .filter(|a| text(a, "provider") == sys_id)
            .map(|a| text(a, "message_auth.inbound_message_verification.token"))
            .collect();
        // The shared default token shipped on every instance (§4.1 step 1).
        let shared_static_token = tokens.contains(&"servicenowexternalagent");
        out.push(UntrustedInput {
            id: format!("{P}:va_provider:{sys_id}"),
            kind: "chat_channel".into(),
            name: format!("Virtual Agent provider {}", text(provider, "name")),
            reaches: if auto_link && !mfa {
                active_agents.clone()
            } else {
                vec![]
            },
            unauthenticated: shared_static_token,
            attributes: [
                ("auto_link_without_mfa".to_string(), json!(auto_link && !mfa)),
                ("account_link_type".to_string(), json!(link_type)),
                ("shared_static_token".to_string(), json!(shared_static_token)),
                (
                    "token_readable".to_string(),
                    json!(tokens.iter().any(|t| !t.is_empty())),
                ),
                ("applications".to_string(), json!(tokens.len())),
            ]
            .into_iter()
            .collect(),
        });
    }

    // Public Virtual Agent web client: guests reach agents on the VA channel unless agentic
    // routing in VA is off.
    let public_chat = setting_value(settings, "servicenow.va.public_web_client") == Some(&json!(true));
    let router_off =
        setting_value(settings, "servicenow.sn_nowassist_va.router_redirect_va_agentic") == Some(&json!("NEVER"));
    if public_chat {
        let reaches = if router_off {
            vec![]
        } else {
            agents
                .iter()
                .filter(|a| a.active && a.channels.iter().any(|c| c == "virtual_agent"))
                .map(|a| a.id.clone())
                .collect()
        };
        out.push(UntrustedInput {
            id: format!("{P}:public_web_chat"),
            kind: "public_chat".into(),
            name: "Public Virtual Agent web client".into(),
            reaches,
            unauthenticated: true,
            attributes: Default::default(),
        });
    }
    out
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
                {"sys_id":"c3d4e5f60718293a4b5c6d7e8f90a1b2","name":"Create the record","type":"crud","input_schema":"{\"operationName\":\"create\",\"table\":\"*\"}","script":"","active":"true"},
                {"sys_id":"d4e5f60718293a4b5c6d7e8f90a1b2c3","name":"Send notification email","type":"action","input_schema":"","script":"","active":"true"}
            ])),
            part("sn_aia_agent_tool_m2m", json!([
                {"sys_id":"a0b1c2d3e4f5061728394a5b6c7d8e9f","agent":"1b2c3d4e5f60718293a4b5c6d7e8f90a","tool":"c3d4e5f60718293a4b5c6d7e8f90a1b2","tool.name":"Create the record","tool.type":"crud","execution_mode":"autopilot","max_auto_executions":"10","active":"true"},
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
                {"sys_id":"b2c3d4e5f60718293a4b5c6d7e8f90a1","provider":"Azure OpenAI","provider_implementation":"Azure OpenAI Chat Completion","external":"true","active":"true"}
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
        let create = inv.tools.iter().find(|t| t.name == "Create the record").unwrap();
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
            json!({"provider": "Azure OpenAI", "external": true, "active": true})
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
            tool_capabilities("brand_new_type", "", "x"),
            [Capability::Write],
            "unknown tool types count as writers"
        );
    }
}
