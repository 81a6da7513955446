//! Seeded instances. `risky` makes every built-in ServiceNow rule fire at least once
//! (including the BodySnatcher and agent-discovery chains); `clean` makes none fire.
//! Both use the real out-of-box role sys_ids (reference §2.10).

use super::tables::{Table, Tables};
use chrono::{Duration, Utc};

pub const ROLE_ADMIN: &str = "2831a114c611228501d4ea6c309d626d";
pub const ROLE_ITIL: &str = "282bf1fac6112285017366cb5f867469";
pub const ROLE_USER: &str = "b05926fa0a0a0aa7000130023e0bde98";
/// Out-of-box sys_ids as ServiceNow's SDK writes them (reference §9.2).
pub const ROLE_PUBLIC: &str = "b0593b350a0a0aa7001d689e4542dc28";
pub const ACL_TYPE_AGENT: &str = "fc55e9f79f8222109570e67e8a0a1c34";
pub const ACL_TYPE_WORKFLOW: &str = "d9eb25b39fc222109570e67e8a0a1c6a";
pub const ACL_TYPE_SKILL: &str = "0d986410ffdd2210c0e9ffffffffffc9";
pub const ATTRIBUTE_AUTHENTICATED: &str = "239bdf0c47d23110ba46ff58936d4330";

/// A deterministic 32-hex sys_id from a readable label.
pub fn sid(label: &str) -> String {
    let mut a: u64 = 0xcbf29ce484222325;
    let mut b: u64 = 0x84222325cbf29ce4;
    for byte in label.bytes() {
        a = (a ^ byte as u64).wrapping_mul(0x100000001b3);
        b = (b ^ byte as u64).wrapping_mul(0x1000193).rotate_left(5);
    }
    format!("{a:016x}{b:016x}")
}

/// The moment this process first built a scenario: times are relative to it, so switching
/// scenarios does not move every record's timestamps (a real instance's stay put).
pub fn epoch() -> chrono::DateTime<Utc> {
    static EPOCH: std::sync::OnceLock<chrono::DateTime<Utc>> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Utc::now)
}

fn when(days_ago: i64) -> String {
    (epoch() - Duration::days(days_ago))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Every table the connector reads, empty, with the columns the reference documents.
pub fn empty_instance() -> Tables {
    let mut t = Tables::default();
    t.insert(Table::new(
        "sys_store_app",
        &["scope", "name", "version", "active", "latest_version"],
    ));
    t.insert(Table::new("sys_scope", &["scope", "name"]));
    t.insert(Table::new("sys_properties", &["name", "value", "type"]).refs(&[("sys_scope", "sys_scope")]));
    t.insert(Table::new("sn_aia_property", &["name", "value"]));
    t.insert(
        Table::new(
            "sn_aia_agent",
            &[
                "name",
                "description",
                "role",
                "agent_type",
                "channel",
                "record_type",
                "internal_name",
                "active",
                "external",
                "instructions",
                "strategy",
                "sys_created_on",
                "sys_updated_on",
            ],
        )
        .refs(&[
            ("acl", "sys_security_acl"),
            ("external_agent_configuration", "sn_aia_external_agent_configuration"),
            ("parent", "sn_aia_agent"),
            ("sys_scope", "sys_scope"),
        ]),
    );
    t.insert(
        Table::new(
            "sn_aia_agent_config",
            &["active", "public", "agent_descriptor", "agent_learning", "sys_domain"],
        )
        .refs(&[
            ("agent", "sn_aia_agent"),
            ("run_as_user", "sys_user"),
            ("sys_overrides", "sn_aia_agent_config"),
        ]),
    );
    t.insert(Table::new(
        "sn_aia_tool",
        &[
            "name",
            "description",
            "type",
            "script",
            "input_schema",
            "target_document",
            "target_document_table",
            "record_type",
            "active",
            "sys_overrides",
        ],
    ));
    t.insert(
        Table::new(
            "sn_aia_agent_tool_m2m",
            &[
                "name",
                "description",
                "active",
                "execution_mode",
                "max_auto_executions",
                "inputs",
                "transformation_instructions",
            ],
        )
        .refs(&[
            ("agent", "sn_aia_agent"),
            ("tool", "sn_aia_tool"),
            ("sys_overrides", "sn_aia_agent_tool_m2m"),
        ]),
    );
    t.insert(Table::new("sn_aia_team", &["name", "description", "active"]));
    t.insert(
        Table::new("sn_aia_team_member", &["memory_scope"]).refs(&[("team", "sn_aia_team"), ("agent", "sn_aia_agent")]),
    );
    t.insert(
        Table::new(
            "sn_aia_usecase",
            &[
                "name",
                "description",
                "execution_mode",
                "internal_name",
                "record_type",
                "active",
            ],
        )
        .refs(&[("team", "sn_aia_team"), ("acl", "sys_security_acl")]),
    );
    t.insert(
        Table::new("sn_aia_usecase_config_override", &["active"])
            .refs(&[("usecase_configuration", "sn_aia_usecase"), ("run_as_user", "sys_user")]),
    );
    t.insert(
        Table::new(
            "sn_aia_trigger_configuration",
            &[
                "name",
                "active",
                "target_table",
                "condition",
                "trigger_flow_definition_type",
                "run_as",
                "run_as_script",
                "enable_discovery",
                "usecase_discovery",
                "objective_template",
                "trigger_strategy",
                "channel",
            ],
        )
        .refs(&[
            ("run_as_user", "sys_user"),
            ("usecase", "sn_aia_usecase"),
            ("sys_overrides", "sn_aia_trigger_configuration"),
        ]),
    );
    // How a trigger reaches agents (reference §9.4); `related_resource_record` is a document id.
    t.insert(
        Table::new(
            "sn_aia_trigger_agent_usecase_m2m",
            &[
                "related_resource_table",
                "related_resource_record",
                "active",
                "objective_template",
            ],
        )
        .refs(&[
            ("trigger_configuration", "sn_aia_trigger_configuration"),
            ("sys_overrides", "sn_aia_trigger_agent_usecase_m2m"),
        ]),
    );
    t.insert(Table::new(
        "sys_agent_access_role_configuration",
        &[
            "agent",
            "agent_table",
            "action",
            "role_list",
            "allow_all_session_roles",
            "name",
            "description",
        ],
    ));
    t.insert(Table::new("sys_agent_access_role_mapping", &[]).refs(&[
        ("agent_access_config", "sys_agent_access_role_configuration"),
        ("role", "sys_user_role"),
    ]));
    t.insert(Table::new("sn_aia_external_agent_configuration", &["name", "active"]));
    t.insert(Table::new("sys_security_type", &["name"]));
    t.insert(Table::new("sys_security_operation", &["name"]));
    t.insert(Table::new("sys_security_attribute", &["name"]));
    t.insert(
        Table::new(
            "sys_security_acl",
            &[
                "name",
                "active",
                "admin_overrides",
                "decision_type",
                "condition",
                "script",
                "advanced",
            ],
        )
        .refs(&[
            ("type", "sys_security_type"),
            ("operation", "sys_security_operation"),
            ("security_attribute", "sys_security_attribute"),
        ]),
    );
    t.insert(Table::new("sys_security_acl_role", &[]).refs(&[
        ("sys_security_acl", "sys_security_acl"),
        ("sys_user_role", "sys_user_role"),
    ]));
    t.insert(Table::new(
        "sys_user",
        &[
            "user_name",
            "name",
            "email",
            "active",
            "locked_out",
            "web_service_access_only",
            "internal_integration_user",
            "identity_type",
            "last_login_time",
        ],
    ));
    t.insert(Table::new(
        "sys_user_role",
        &["name", "description", "elevated_privilege", "includes_roles"],
    ));
    t.insert(
        Table::new("sys_user_has_role", &["inherited", "state", "granted_by"])
            .refs(&[("user", "sys_user"), ("role", "sys_user_role")]),
    );
    t.insert(Table::new(
        "sys_gen_ai_provider",
        &["gen_ai_provider", "integration_type"],
    ));
    t.insert(
        Table::new(
            "sys_generative_ai_provider_mapping",
            &[
                "provider",
                "provider_api",
                "provider_implementation",
                "external",
                "active",
            ],
        )
        .refs(&[("gen_ai_provider", "sys_gen_ai_provider")]),
    );
    t.insert(
        Table::new("sys_generative_ai_model_config", &["model", "active"])
            .refs(&[("provider", "sys_generative_ai_provider_mapping")]),
    );
    // Skills as the SDK's skill plug-in writes them (§9.1): no `active`; `state` 0 draft, 1
    // published; activation in a status row. The status row's activation column is not in the
    // SDK: `active` here is this simulator's guess, and the connector reads it as unknown if absent.
    t.insert(
        Table::new(
            "sn_nowassist_skill_config",
            &[
                "name",
                "description",
                "skill_table",
                "skill_id",
                "state",
                "skill_family",
                "internal_name",
            ],
        )
        .refs(&[
            ("nap_skill_applicability", "sys_gen_ai_skill_applicability"),
            ("sys_overrides", "sn_nowassist_skill_config"),
        ]),
    );
    t.insert(
        Table::new("sn_nowassist_skill_config_status", &["active"])
            .refs(&[("skill_config", "sn_nowassist_skill_config")]),
    );
    t.insert(Table::new(
        "sys_gen_ai_skill",
        &["skill_name", "skill_document", "skill_table", "sys_overrides"],
    ));
    t.insert(
        Table::new(
            "sys_gen_ai_skill_applicability",
            &["roles", "condition_mode", "condition_script", "sys_overrides"],
        )
        .refs(&[("skill_id", "sys_gen_ai_skill")]),
    );
    t.insert(
        Table::new(
            "sys_gen_ai_skill_config",
            &["hint", "discoverable", "visible", "sys_overrides"],
        )
        .refs(&[("skill_id", "sys_gen_ai_skill")]),
    );
    t.insert(Table::new(
        "sys_cs_provider",
        &[
            "name",
            "link_account_enabled",
            "automatic_link_enabled",
            "account_link_type",
            "automatic_link_action",
        ],
    ));
    t.insert(Table::new("token_verification", &["name", "token"]));
    t.insert(Table::new("provider_auth", &["name"]).refs(&[("inbound_message_verification", "token_verification")]));
    t.insert(
        Table::new("sys_cs_provider_application", &["name", "inbound_id"])
            .refs(&[("provider", "sys_cs_provider"), ("message_auth", "provider_auth")]),
    );
    t.insert(Table::new("sys_public", &["page", "active"]));
    t.insert(Table::new("sn_aia_execution_plan", &["objective", "sys_created_on"]).refs(&[("agent", "sn_aia_agent")]));
    seed_platform(&mut t);
    t
}

/// Out-of-box records every instance has: roles, ACL types, operations, attributes.
fn seed_platform(t: &mut Tables) {
    let roles = t.get_mut("sys_user_role");
    roles.row(&[
        ("sys_id", ROLE_ADMIN),
        ("name", "admin"),
        ("elevated_privilege", "false"),
    ]);
    roles.row(&[("sys_id", ROLE_ITIL), ("name", "itil"), ("elevated_privilege", "false")]);
    roles.row(&[("sys_id", ROLE_USER), ("name", "user"), ("elevated_privilege", "false")]);
    let security_admin = sid("role:security_admin");
    roles.row(&[
        ("sys_id", &security_admin),
        ("name", "security_admin"),
        ("elevated_privilege", "true"),
    ]);
    roles.row(&[
        ("sys_id", ROLE_PUBLIC),
        ("name", "public"),
        ("elevated_privilege", "false"),
    ]);
    roles.row(&[
        ("sys_id", &sid("role:now_assist_panel_user")),
        ("name", "now_assist_panel_user"),
        ("elevated_privilege", "false"),
    ]);
    let snc = sid("role:snc_internal");
    roles.row(&[
        ("sys_id", &snc),
        ("name", "snc_internal"),
        ("elevated_privilege", "false"),
    ]);
    for (id, name) in [
        (ACL_TYPE_AGENT.to_string(), "gen_ai_agent"),
        (ACL_TYPE_WORKFLOW.to_string(), "gen_ai_agentic_usecase"),
        (ACL_TYPE_SKILL.to_string(), "gen_ai_skill"),
        (sid("type:flow_action"), "flow_action"),
    ] {
        t.get_mut("sys_security_type").row(&[("sys_id", &id), ("name", name)]);
    }
    // The SDK writes `operation` = execute (§9.2).
    t.get_mut("sys_security_operation")
        .row(&[("sys_id", &sid("op:execute")), ("name", "execute")]);
    for (id, name) in [
        (ATTRIBUTE_AUTHENTICATED.to_string(), "user_is_authenticated"),
        ("8637f144b732111074f706dd1e11a981".to_string(), "has_admin_role"),
        (sid("attr:Never"), "Never"),
    ] {
        t.get_mut("sys_security_attribute")
            .row(&[("sys_id", &id), ("name", name)]);
    }
    t.get_mut("sys_scope").row(&[
        ("sys_id", &sid("scope:global")),
        ("scope", "global"),
        ("name", "Global"),
    ]);
}

fn property(t: &mut Tables, name: &str, value: &str) {
    let id = sid(&format!("prop:{name}"));
    let scope = sid("scope:global");
    t.get_mut("sys_properties").row(&[
        ("sys_id", &id),
        ("name", name),
        ("value", value),
        (
            "type",
            if value == "true" || value == "false" {
                "boolean"
            } else {
                "string"
            },
        ),
        ("sys_scope", &scope),
    ]);
}

fn user(
    t: &mut Tables,
    label: &str,
    user_name: &str,
    interactive: bool,
    identity_type: &str,
    roles: &[&str],
) -> String {
    let id = sid(label);
    t.get_mut("sys_user").row(&[
        ("sys_id", &id),
        ("user_name", user_name),
        ("name", user_name),
        ("email", &format!("{user_name}@acme.example")),
        ("active", "true"),
        ("locked_out", "false"),
        ("web_service_access_only", if interactive { "false" } else { "true" }),
        ("internal_integration_user", "false"),
        ("identity_type", identity_type),
    ]);
    for role in roles {
        t.get_mut("sys_user_has_role").row(&[
            ("sys_id", &sid(&format!("{label}:{role}"))),
            ("user", &id),
            ("role", role),
            ("inherited", "false"),
            ("state", "active"),
        ]);
    }
    id
}

struct AgentSpec<'a> {
    label: &'a str,
    name: &'a str,
    channel: &'a str,
    run_as: &'a str,
    public: bool,
}

fn agent(t: &mut Tables, spec: AgentSpec) -> String {
    let id = sid(spec.label);
    let internal = format!("global.global.{}", spec.name.to_lowercase().replace(' ', "_"));
    t.get_mut("sn_aia_agent").row(&[
        ("sys_id", &id),
        ("name", spec.name),
        ("description", &format!("{} (seeded)", spec.name)),
        ("agent_type", "internal"),
        ("channel", spec.channel),
        ("record_type", "custom"),
        ("internal_name", &internal),
        ("active", "true"),
        ("external", "false"),
        ("strategy", "f0bff21f9f13c6108f431597d90a1c74"),
        ("sys_created_on", &when(200)),
    ]);
    t.get_mut("sn_aia_agent_config").row(&[
        ("sys_id", &sid(&format!("{}:config", spec.label))),
        ("agent", &id),
        ("active", "true"),
        ("run_as_user", spec.run_as),
        ("public", if spec.public { "true" } else { "false" }),
        ("sys_domain", "global"),
    ]);
    id
}

fn tool(t: &mut Tables, label: &str, name: &str, kind: &str, input_schema: &str, script: &str) -> String {
    let id = sid(label);
    t.get_mut("sn_aia_tool").row(&[
        ("sys_id", &id),
        ("name", name),
        ("type", kind),
        ("input_schema", input_schema),
        ("script", script),
        ("active", "true"),
        ("record_type", "custom"),
    ]);
    id
}

fn bind(t: &mut Tables, agent: &str, tool: &str, mode: &str, max: &str, inputs: &str) -> String {
    let id = sid(&format!("bind:{agent}:{tool}"));
    t.get_mut("sn_aia_agent_tool_m2m").row(&[
        ("sys_id", &id),
        ("agent", agent),
        ("tool", tool),
        ("active", "true"),
        ("execution_mode", mode),
        ("max_auto_executions", max),
        ("inputs", inputs),
    ]);
    id
}

/// A CRUD binding's `inputs` as the SDK stores them (§9.1): a string holding a JSON array of
/// the tool's inputs followed by the `crudInputs` entry.
pub fn crud_inputs(operation: &str, table: &str, fields: &[&str]) -> String {
    let field_values: Vec<serde_json::Value> = fields
        .iter()
        .map(|f| serde_json::json!({"field": {"id": f, "name": f, "type": "string"}, "value": {"fieldValue": format!("{{{{{f}}}}}")}}))
        .collect();
    let mut crud = serde_json::json!({
        "operation": operation,
        "table": {"value": table, "displayValue": table},
        "returnFields": [{"name": "sys_id", "label": "sys_id", "type": "string", "id": "sys_id"}],
    });
    if operation == "lookup" {
        crud["query"] = serde_json::json!("number={{number}}");
        crud["limit"] = serde_json::json!("5");
    } else {
        crud["fieldValues"] = serde_json::Value::Array(field_values);
    }
    serde_json::json!([
        {"name": "number", "value": "", "description": "Record number", "mandatory": true, "invalidMessage": null},
        {"name": "crudInputs", "value": crud, "description": format!("{operation} operation configuration"), "mandatory": true, "invalidMessage": null}
    ])
    .to_string()
}

/// A search binding's `inputs` in the platform's array form (§9.1).
pub fn rag_inputs(sources: &[&str]) -> String {
    serde_json::json!([
        {"name": "search_type", "description": "Search type", "value": "hybrid"},
        {"name": "search_profile", "value": "quick_action_kb_search_profile", "label": "Quick Action - KB Search Profile"},
        {"name": "sources", "value": sources, "label": sources},
        {"name": "search_results_limit", "value": "5"}
    ])
    .to_string()
}

/// `sn_aia_tool.input_schema`: the list of input names (§9.1), never the operation.
const CRUD_INPUT_SCHEMA: &str = r#"[{"name":"number","description":"Record number","mandatory":true},{"name":"crudInputs","description":"CRUD Input Variables, the values are pre-defined","mandatory":true}]"#;

/// An ACL on an agent, workflow or skill as the SDK writes it (§9.2): `type` and the security
/// attribute are sys_ids; `roles` required, or the attribute alone.
fn acl(t: &mut Tables, label: &str, name: &str, kind: &str, attribute: Option<&str>, roles: &[&str]) -> String {
    let id = sid(label);
    let attr = attribute.unwrap_or_default().to_string();
    t.get_mut("sys_security_acl").row(&[
        ("sys_id", &id),
        ("name", name),
        ("type", kind),
        ("operation", &sid("op:execute")),
        ("active", "true"),
        ("admin_overrides", "true"),
        ("decision_type", "allow"),
        ("security_attribute", &attr),
        ("advanced", "false"),
    ]);
    for role in roles {
        t.get_mut("sys_security_acl_role").row(&[
            ("sys_id", &sid(&format!("{label}:{role}"))),
            ("sys_security_acl", &id),
            ("sys_user_role", role),
        ]);
    }
    id
}

/// A Now Assist skill as the skill plug-in writes it (§9.1, §9.4): config, status row, the
/// panel's skill record, its applicability (role names) and an ACL of type skill.
fn skill(t: &mut Tables, label: &str, name: &str, published: bool, active: bool, panel_roles: &str) -> String {
    let id = sid(label);
    let capability = sid(&format!("{label}:capability"));
    let applicability = sid(&format!("{label}:applicability"));
    let panel_skill = sid(&format!("{label}:gen_ai_skill"));
    let internal = format!("{}.{id}", name.to_lowercase().replace(' ', "_"));
    t.get_mut("sys_gen_ai_skill").row(&[
        ("sys_id", &panel_skill),
        ("skill_name", name),
        ("skill_document", &capability),
        ("skill_table", "sys_one_extend_capability"),
    ]);
    t.get_mut("sys_gen_ai_skill_applicability").row(&[
        ("sys_id", &applicability),
        ("skill_id", &panel_skill),
        ("roles", panel_roles),
        ("condition_mode", "simple"),
    ]);
    t.get_mut("sn_nowassist_skill_config").row(&[
        ("sys_id", &id),
        ("name", name),
        ("skill_table", "sys_one_extend_capability"),
        ("skill_id", &capability),
        ("state", if published { "1" } else { "0" }),
        ("skill_family", "a5efaf1c93764210aa5730f16489186d"),
        ("internal_name", &internal),
        ("nap_skill_applicability", &applicability),
    ]);
    t.get_mut("sn_nowassist_skill_config_status").row(&[
        ("sys_id", &sid(&format!("{label}:status"))),
        ("skill_config", &id),
        ("active", if active { "true" } else { "false" }),
    ]);
    acl(
        t,
        &format!("{label}:acl"),
        &internal,
        ACL_TYPE_SKILL,
        None,
        &[ROLE_ITIL],
    );
    id
}

fn role_mask(t: &mut Tables, agent: &str, table: &str, roles: &[&str], allow_all: bool) {
    t.get_mut("sys_agent_access_role_configuration").row(&[
        ("sys_id", &sid(&format!("mask:{agent}"))),
        ("agent", agent),
        ("agent_table", table),
        ("action", "limit_to_roles"),
        ("role_list", &roles.join(",")),
        ("allow_all_session_roles", if allow_all { "true" } else { "false" }),
        ("name", agent),
    ]);
}

fn ran(t: &mut Tables, agent: &str, days_ago: i64) {
    t.get_mut("sn_aia_execution_plan").row(&[
        ("sys_id", &sid(&format!("plan:{agent}:{days_ago}"))),
        ("agent", agent),
        ("objective", "Resolve the ticket"),
        ("sys_created_on", &when(days_ago)),
    ]);
}

fn app(t: &mut Tables, scope: &str, name: &str, version: &str) {
    t.get_mut("sys_store_app").row(&[
        ("sys_id", &sid(&format!("app:{scope}"))),
        ("scope", scope),
        ("name", name),
        ("version", version),
        ("latest_version", version),
        ("active", "true"),
    ]);
}

/// An instance where every built-in ServiceNow rule fires at least once.
pub fn risky() -> Tables {
    let mut t = empty_instance();
    let security_admin = sid("role:security_admin");
    app(&mut t, "sn_aia", "Now Assist AI Agents", "5.1.10");
    app(&mut t, "sn_va_as_service", "Virtual Agent API", "4.0.2");
    for (name, value) in [
        ("sn_aia.enable_usecase_tool_execution_mode_override", "true"),
        ("identity.agent.role_masking.enabled", "false"),
        ("com.glide.one_extend.include_default_roles_for_skill_acl", "true"),
        ("sn_aia.external_agent_guardian_check", "false"),
        ("sn_aia.external_agents.enabled", "true"),
        ("glide.basicauth.required.api", "false"),
        ("sn_itsm_aia.office_365_group_member_approval.required", "false"),
        ("sn_aia.ltm.enable_long_term_memory", "true"),
        ("glide.voice.authenticate.mfa_mandatory", "false"),
        ("sn_aia.continuous_tool_execution_limit", "25"),
        ("sn_aia.agent_llm_provider", "openai"),
    ] {
        property(&mut t, name, value);
    }
    t.get_mut("sn_aia_property").row(&[
        ("sys_id", &sid("aiaprop:kill")),
        ("name", "kill_switch.mode"),
        ("value", "off"),
    ]);

    let ai_user = user(
        &mut t,
        "user:svc.ai.recordops",
        "svc.ai.recordops",
        true,
        "",
        &[ROLE_ADMIN, ROLE_ITIL],
    );
    let wf_admin = user(
        &mut t,
        "user:wf.runner",
        "wf.runner",
        true,
        "",
        &[ROLE_ADMIN, &security_admin],
    );
    let _reader = user(
        &mut t,
        "user:svc.aispm.reader",
        "svc.aispm.reader",
        false,
        "machine",
        &[ROLE_ITIL],
    );
    let _admin = user(&mut t, "user:jane.admin", "jane.admin", true, "human", &[ROLE_ADMIN]);

    // The BodySnatcher agent: fixed admin identity, autonomous "create any record" tool. The
    // identity is set by an override of the base config (§9.1 `sys_overrides`).
    let ops = agent(
        &mut t,
        AgentSpec {
            label: "agent:ops",
            name: "Record Operations Agent",
            channel: "nap_and_va",
            run_as: "",
            public: false,
        },
    );
    t.get_mut("sn_aia_agent_config").row(&[
        ("sys_id", &sid("agent:ops:config:override")),
        ("agent", &ops),
        ("active", "true"),
        ("run_as_user", &ai_user),
        ("public", "false"),
        ("sys_domain", "global"),
        ("sys_overrides", &sid("agent:ops:config")),
    ]);
    // A reader agent that anyone, even guests, can talk to; it reads user-written tickets.
    let triage = agent(
        &mut t,
        AgentSpec {
            label: "agent:triage",
            name: "Ticket Triage Agent",
            channel: "nap_and_va",
            run_as: "",
            public: true,
        },
    );
    // A dynamic-user agent with a mask that includes admin, no own ACL, a GlideRecord script.
    let helper = agent(
        &mut t,
        AgentSpec {
            label: "agent:helper",
            name: "Knowledge Helper",
            channel: "nap",
            run_as: "",
            public: false,
        },
    );
    // Hidden from the integration user by a row-level ACL: pages come back short.
    t.get_mut("sn_aia_agent")
        .hidden_row(&[("sys_id", &sid("agent:hidden")), ("name", "HR Case Agent")]);

    let create = tool(
        &mut t,
        "tool:create",
        "Create the record",
        "crud",
        CRUD_INPUT_SCHEMA,
        "",
    );
    let email = tool(&mut t, "tool:email", "Send notification email", "action", "", "");
    let lookup = tool(&mut t, "tool:lookup", "Look up incident", "crud", CRUD_INPUT_SCHEMA, "");
    let search = tool(&mut t, "tool:search", "Search knowledge", "search_retrieval", "", "");
    // A subflow behind a tool: its own ACL and run-as are not read (a named coverage gap).
    let subflow = tool(&mut t, "tool:subflow", "Reassign to on-call", "subflow", "", "");
    t.get_mut("sn_aia_tool")
        .set(&subflow, "target_document", &sid("flow:reassign"))
        .set(&subflow, "target_document_table", "sys_hub_flow");
    let script = tool(
        &mut t,
        "tool:script",
        "Bulk close stale records",
        "script",
        "",
        "var gr = new GlideRecord('incident'); gr.addQuery('active', true); gr.setWorkflow(false); gr.query();",
    );
    // The table is filled in at run time: any table (the BodySnatcher "create any record").
    bind(
        &mut t,
        &ops,
        &create,
        "autopilot",
        "10",
        &crud_inputs("create", "{{table_name}}", &["short_description"]),
    );
    bind(&mut t, &ops, &email, "autopilot", "3", "[]");
    bind(&mut t, &ops, &subflow, "copilot", "3", "[]");
    // The reader: its lookup on incident lives only in the binding's crudInputs (§9.1).
    bind(
        &mut t,
        &triage,
        &lookup,
        "copilot",
        "5",
        &crud_inputs("lookup", "incident", &[]),
    );
    bind(&mut t, &triage, &email, "copilot", "3", "[]");
    bind(&mut t, &helper, &search, "copilot", "5", &rag_inputs(&["kb_knowledge"]));
    bind(&mut t, &helper, &script, "copilot", "2", "[]");

    let team = sid("team:default");
    t.get_mut("sn_aia_team")
        .row(&[("sys_id", &team), ("name", "Now Assist default team")]);
    for (i, member) in [&ops, &triage].iter().enumerate() {
        t.get_mut("sn_aia_team_member").row(&[
            ("sys_id", &sid(&format!("member:{i}"))),
            ("team", &team),
            ("agent", member),
            ("memory_scope", "global"),
        ]);
    }
    let workflow = sid("usecase:incident");
    t.get_mut("sn_aia_usecase").row(&[
        ("sys_id", &workflow),
        ("name", "Incident resolution"),
        ("execution_mode", "autopilot"),
        ("team", &team),
        ("internal_name", "global.global.incident_resolution"),
        ("record_type", "custom"),
        ("active", "true"),
    ]);
    // Agents reached by record triggers link through the trigger m2m (§9.4); this one runs as
    // the incident's caller, a column the ticket's author fills in.
    t.get_mut("sn_aia_trigger_configuration").row(&[
        ("sys_id", &sid("trigger:triage")),
        ("name", "Triage new incidents"),
        ("active", "true"),
        ("target_table", "incident"),
        ("condition", "active=true"),
        ("trigger_flow_definition_type", "record_create"),
        ("trigger_strategy", "every"),
        ("run_as", "caller_id"),
        ("objective_template", "Triage ${number}"),
    ]);
    t.get_mut("sn_aia_trigger_agent_usecase_m2m").row(&[
        ("sys_id", &sid("trigger:triage:m2m")),
        ("trigger_configuration", &sid("trigger:triage")),
        ("related_resource_table", "sn_aia_agent"),
        ("related_resource_record", &triage),
        ("active", "true"),
    ]);
    // A schedule, not a record trigger (§9.3).
    t.get_mut("sn_aia_trigger_configuration").row(&[
        ("sys_id", &sid("trigger:nightly")),
        ("name", "Nightly stale-ticket sweep"),
        ("active", "true"),
        ("target_table", "incident"),
        ("trigger_flow_definition_type", "daily"),
        ("trigger_strategy", "every"),
        ("run_as_user", &ai_user),
    ]);
    t.get_mut("sn_aia_trigger_agent_usecase_m2m").row(&[
        ("sys_id", &sid("trigger:nightly:m2m")),
        ("trigger_configuration", &sid("trigger:nightly")),
        ("related_resource_table", "sn_aia_agent"),
        ("related_resource_record", &ops),
        ("active", "true"),
    ]);
    t.get_mut("sn_aia_usecase_config_override").row(&[
        ("sys_id", &sid("override:incident")),
        ("usecase_configuration", &workflow),
        ("run_as_user", &wf_admin),
        ("active", "true"),
    ]);
    t.get_mut("sn_aia_trigger_configuration").row(&[
        ("sys_id", &sid("trigger:p1")),
        ("name", "New P1 incident"),
        ("active", "true"),
        ("target_table", "incident"),
        ("condition", "priority=1^active=true"),
        ("trigger_flow_definition_type", "record_create"),
        ("run_as", "caller_id"),
        ("usecase", &workflow),
        ("objective_template", "Help me resolve ${number}"),
    ]);
    role_mask(&mut t, &helper, "sn_aia_agent", &[ROLE_ITIL, ROLE_ADMIN], false);
    role_mask(&mut t, &triage, "sn_aia_agent", &[], true);

    // "Any authenticated user": the attribute, no roles (§9.2).
    acl(
        &mut t,
        "acl:ops",
        "global.global.record_operations_agent",
        ACL_TYPE_AGENT,
        Some(ATTRIBUTE_AUTHENTICATED),
        &[],
    );
    // Public: one role row with the public role.
    acl(
        &mut t,
        "acl:triage",
        "global.global.ticket_triage_agent",
        ACL_TYPE_AGENT,
        None,
        &[ROLE_PUBLIC],
    );
    let wf_acl = acl(
        &mut t,
        "acl:wf",
        "Incident resolution access",
        ACL_TYPE_WORKFLOW,
        None,
        &[ROLE_ITIL],
    );
    // The workflow names its ACL in its own `acl` column (§9.2).
    t.get_mut("sn_aia_usecase").set(&workflow, "acl", &wf_acl);
    // A permissive wildcard: not yet reset to deny-by-default.
    acl(&mut t, "acl:wildcard", "*", ACL_TYPE_AGENT, None, &[]);

    // Retired: the agent record is off although its config is on; it must count as inactive.
    let retired = agent(
        &mut t,
        AgentSpec {
            label: "agent:retired",
            name: "Retired Bulk Updater",
            channel: "nap",
            run_as: &ai_user,
            public: true,
        },
    );
    t.get_mut("sn_aia_agent").set(&retired, "active", "false");
    bind(
        &mut t,
        &retired,
        &create,
        "autopilot",
        "50",
        &crud_inputs("update", "sys_user", &["active"]),
    );
    acl(
        &mut t,
        "acl:retired",
        "global.global.retired_bulk_updater",
        ACL_TYPE_AGENT,
        None,
        &[ROLE_PUBLIC],
    );

    // An external (A2A) agent that can write records, reachable by every signed-in user
    // through an ACL whose name differs from the agent's and is named by its `acl` column.
    let partner = agent(
        &mut t,
        AgentSpec {
            label: "agent:partner",
            name: "Partner Escalation Agent",
            channel: "nap",
            run_as: "",
            public: false,
        },
    );
    t.get_mut("sn_aia_agent")
        .set(&partner, "external", "true")
        .set(&partner, "agent_type", "external")
        .set(&partner, "external_agent_configuration", &sid("ext:1"));
    bind(
        &mut t,
        &partner,
        &create,
        "copilot",
        "3",
        &crud_inputs("update", "incident", &["state", "work_notes"]),
    );
    role_mask(&mut t, &partner, "sn_aia_agent", &[ROLE_ITIL], false);
    let partner_acl = acl(
        &mut t,
        "acl:partner",
        "Partner escalation access",
        ACL_TYPE_AGENT,
        None,
        &[],
    );
    t.get_mut("sys_security_acl")
        .set(&partner_acl, "condition", "active=true");
    t.get_mut("sn_aia_agent").set(&partner, "acl", &partner_acl);
    ran(&mut t, &partner, 4);

    t.get_mut("sn_aia_external_agent_configuration").row(&[
        ("sys_id", &sid("ext:1")),
        ("name", "Partner triage bot"),
        ("active", "true"),
    ]);
    t.get_mut("sys_generative_ai_provider_mapping")
        .row(&[
            ("sys_id", &sid("prov:now")),
            ("provider", "Now LLM Service"),
            ("provider_implementation", "Now LLM Generic"),
            ("external", "false"),
            ("active", "true"),
        ])
        .row(&[
            ("sys_id", &sid("prov:openai")),
            ("provider", "OpenAI"),
            ("provider_implementation", &sid("flow:openai")),
            ("external", "true"),
            ("active", "true"),
            ("gen_ai_provider", &sid("genai:byok-openai")),
        ]);
    t.get_mut("sys_gen_ai_provider").row(&[
        ("sys_id", &sid("genai:byok-openai")),
        ("gen_ai_provider", "Acme OpenAI (own key)"),
        ("integration_type", "BYOK"),
    ]);
    t.get_mut("sys_generative_ai_model_config").row(&[
        ("sys_id", &sid("model:gpt")),
        ("model", "gpt_large"),
        ("provider", &sid("prov:openai")),
        ("active", "true"),
    ]);
    // A published, activated skill in everyone's Now Assist panel, masked to admin.
    let summarize = skill(
        &mut t,
        "skill:summarize",
        "Incident summarization",
        true,
        true,
        "now_assist_panel_user",
    );
    role_mask(&mut t, &summarize, "sn_nowassist_skill_config", &[ROLE_ADMIN], false);
    // A draft: not active, whatever its status row says.
    skill(
        &mut t,
        "skill:draft",
        "Draft resolution notes",
        false,
        true,
        "now_assist_panel_user",
    );

    let provider = sid("csprov:external-agent");
    t.get_mut("sys_cs_provider").row(&[
        ("sys_id", &provider),
        ("name", "default-external-agent"),
        ("link_account_enabled", "true"),
        ("automatic_link_enabled", "true"),
        ("account_link_type", "basic"),
        (
            "automatic_link_action",
            "sn_va_as_service.virtual_agent__bot_to_bot_auto_link_account",
        ),
    ]);
    let token = sid("token:static");
    t.get_mut("token_verification").row(&[
        ("sys_id", &token),
        ("name", "AI Agent token"),
        ("token", "servicenowexternalagent"),
    ]);
    let auth = sid("pauth:external-agent");
    t.get_mut("provider_auth").row(&[
        ("sys_id", &auth),
        ("name", "AI Agent message auth"),
        ("inbound_message_verification", &token),
    ]);
    t.get_mut("sys_cs_provider_application").row(&[
        ("sys_id", &sid("csapp:external-agent")),
        ("name", "AI Agent channel"),
        ("provider", &provider),
        ("inbound_id", "external-agent"),
        ("message_auth", &auth),
    ]);
    t.get_mut("sys_public").row(&[
        ("sys_id", "04b1905473222300e985658b4cf6a7ef"),
        ("page", "sn_va_web_client_app_embed"),
        ("active", "true"),
    ]);

    ran(&mut t, &ops, 3);
    ran(&mut t, &triage, 1);
    // The helper last ran 200 days ago: dormant.
    ran(&mut t, &helper, 200);
    t
}

/// A hardened instance where no built-in ServiceNow rule fires.
pub fn clean() -> Tables {
    let mut t = empty_instance();
    app(&mut t, "sn_aia", "Now Assist AI Agents", "5.2.19");
    app(&mut t, "sn_va_as_service", "Virtual Agent API", "4.0.4");
    for (name, value) in [
        ("sn_aia.enable_usecase_tool_execution_mode_override", "false"),
        ("identity.agent.role_masking.enabled", "true"),
        ("com.glide.one_extend.include_default_roles_for_skill_acl", "false"),
        ("sn_aia.external_agent_guardian_check", "true"),
        ("mcp_guardian_check", "true"),
        ("sn_aia.external_agents.enabled", "false"),
        ("glide.basicauth.required.api", "true"),
        ("glide.oauth.inbound.ropc.grant_type.disabled", "true"),
        ("glide.ai_record_activity.validation.feature.enabled", "true"),
        ("sn_itsm_aia.office_365_group_member_approval.required", "true"),
        ("sn_aia.ltm.enable_long_term_memory", "false"),
        ("sn_aia.enable_episodic_memory", "false"),
        ("sn_aia.allow_context_sharing", "false"),
        ("com.sn.generative.ai.log_prompt", "false"),
        ("glide.voice.authenticate.mfa_mandatory", "true"),
        ("glide.voice.authenticate.allow_kba_as_only_factor", "false"),
        ("sn_aia.agent_llm_provider", "now_llm"),
        ("sn_nowassist_va.router_redirect_va_agentic", "NEVER"),
    ] {
        property(&mut t, name, value);
    }
    t.get_mut("sn_aia_property").row(&[
        ("sys_id", &sid("aiaprop:kill")),
        ("name", "kill_switch.mode"),
        ("value", "enforce"),
    ]);
    user(
        &mut t,
        "user:svc.aispm.reader",
        "svc.aispm.reader",
        false,
        "machine",
        &[ROLE_ITIL],
    );
    user(&mut t, "user:jane.admin", "jane.admin", true, "human", &[ROLE_ADMIN]);

    let ops = agent(
        &mut t,
        AgentSpec {
            label: "agent:ops",
            name: "Record Operations Agent",
            channel: "nap",
            run_as: "",
            public: false,
        },
    );
    let triage = agent(
        &mut t,
        AgentSpec {
            label: "agent:triage",
            name: "Ticket Triage Agent",
            channel: "nap",
            run_as: "",
            public: false,
        },
    );
    t.get_mut("sn_aia_agent")
        .hidden_row(&[("sys_id", &sid("agent:hidden")), ("name", "HR Case Agent")]);
    let create = tool(&mut t, "tool:create", "Create incident", "crud", CRUD_INPUT_SCHEMA, "");
    let lookup = tool(&mut t, "tool:lookup", "Look up incident", "crud", CRUD_INPUT_SCHEMA, "");
    let script = tool(
        &mut t,
        "tool:script",
        "Count open incidents",
        "script",
        "",
        "var gr = new GlideRecordSecure('incident'); gr.addActiveQuery(); gr.query();",
    );
    bind(
        &mut t,
        &ops,
        &create,
        "copilot",
        "3",
        &crud_inputs("create", "incident", &["short_description"]),
    );
    bind(&mut t, &ops, &script, "copilot", "2", "[]");
    bind(
        &mut t,
        &triage,
        &lookup,
        "copilot",
        "5",
        &crud_inputs("lookup", "incident", &[]),
    );
    // Separate teams: the reader cannot recruit the writer.
    for (label, member) in [("team:ops", &ops), ("team:triage", &triage)] {
        let team = sid(label);
        t.get_mut("sn_aia_team").row(&[("sys_id", &team), ("name", label)]);
        t.get_mut("sn_aia_team_member").row(&[
            ("sys_id", &sid(&format!("member:{label}"))),
            ("team", &team),
            ("agent", member),
            ("memory_scope", "global"),
        ]);
    }
    let workflow = sid("usecase:incident");
    t.get_mut("sn_aia_usecase").row(&[
        ("sys_id", &workflow),
        ("name", "Incident resolution"),
        ("execution_mode", "copilot"),
        ("team", &sid("team:triage")),
        ("internal_name", "global.global.incident_resolution"),
        ("record_type", "custom"),
        ("active", "true"),
    ]);
    t.get_mut("sn_aia_trigger_configuration").row(&[
        ("sys_id", &sid("trigger:p1")),
        ("name", "New P1 incident"),
        ("active", "false"),
        ("target_table", "incident"),
        ("trigger_flow_definition_type", "record_create"),
        ("usecase", &workflow),
    ]);
    role_mask(&mut t, &ops, "sn_aia_agent", &[ROLE_ITIL], false);
    role_mask(&mut t, &triage, "sn_aia_agent", &[ROLE_ITIL], false);
    role_mask(&mut t, &workflow, "sn_aia_usecase", &[ROLE_ITIL], false);
    acl(
        &mut t,
        "acl:ops",
        "global.global.record_operations_agent",
        ACL_TYPE_AGENT,
        None,
        &[ROLE_ITIL],
    );
    acl(
        &mut t,
        "acl:triage",
        "global.global.ticket_triage_agent",
        ACL_TYPE_AGENT,
        None,
        &[ROLE_ITIL],
    );
    acl(
        &mut t,
        "acl:wf",
        "global.global.incident_resolution",
        ACL_TYPE_WORKFLOW,
        None,
        &[ROLE_ITIL],
    );
    acl(
        &mut t,
        "acl:wildcard",
        "*",
        ACL_TYPE_AGENT,
        Some(&sid("attr:Never")),
        &[],
    );
    // A published skill shown in the panel only to itil holders, masked to itil.
    let summarize = skill(&mut t, "skill:summarize", "Incident summarization", true, true, "itil");
    role_mask(&mut t, &summarize, "sn_nowassist_skill_config", &[ROLE_ITIL], false);
    t.get_mut("sys_generative_ai_provider_mapping").row(&[
        ("sys_id", &sid("prov:now")),
        ("provider", "Now LLM Service"),
        ("provider_implementation", "Now LLM Generic"),
        ("external", "false"),
        ("active", "true"),
    ]);
    t.get_mut("sys_cs_provider").row(&[
        ("sys_id", &sid("csprov:va")),
        ("name", "VA Bot to Bot Provider"),
        ("link_account_enabled", "true"),
        ("automatic_link_enabled", "false"),
        ("account_link_type", "verification_question_and_mfa"),
    ]);
    t.get_mut("sys_public").row(&[
        ("sys_id", "04b1905473222300e985658b4cf6a7ef"),
        ("page", "sn_va_web_client_app_embed"),
        ("active", "false"),
    ]);
    ran(&mut t, &ops, 2);
    ran(&mut t, &triage, 1);
    t
}

/// `clean` after an afternoon of changes: the operations agent now runs as jane.admin (an
/// admin) and the triage agent is marked public. Tests of drift switch to it after a scan.
pub fn drifted() -> Tables {
    let mut t = clean();
    t.get_mut("sn_aia_agent_config")
        .set(&sid("agent:ops:config"), "run_as_user", &sid("user:jane.admin"))
        .set(&sid("agent:triage:config"), "public", "true");
    t
}

/// A scenario by name: `risky`, `clean` or `drifted`.
pub fn by_name(name: &str) -> Option<Tables> {
    match name {
        "risky" => Some(risky()),
        "clean" => Some(clean()),
        "drifted" => Some(drifted()),
        _ => None,
    }
}

/// The risky instance plus `agents` generated agents (each with a config, two tool bindings
/// and a team), for load and pacing benchmarks.
pub fn generated(agents: usize) -> Tables {
    let mut t = risky();
    let tools = [sid("tool:lookup"), sid("tool:create"), sid("tool:search")];
    let inputs = [
        crud_inputs("lookup", "incident", &[]),
        crud_inputs("create", "incident", &["short_description"]),
        rag_inputs(&["kb_knowledge"]),
    ];
    let teams: Vec<String> = (0..agents.div_ceil(10).max(1))
        .map(|i| sid(&format!("gen-team:{i}")))
        .collect();
    for (i, team) in teams.iter().enumerate() {
        t.get_mut("sn_aia_team")
            .row(&[("sys_id", team), ("name", &format!("Generated team {i}"))]);
    }
    for i in 0..agents {
        let id = agent(
            &mut t,
            AgentSpec {
                label: &format!("gen-agent:{i}"),
                name: &format!("Generated agent {i}"),
                channel: "nap",
                run_as: "",
                public: false,
            },
        );
        bind(&mut t, &id, &tools[i % 3], "copilot", "3", &inputs[i % 3]);
        bind(&mut t, &id, &tools[(i + 1) % 3], "copilot", "3", &inputs[(i + 1) % 3]);
        t.get_mut("sn_aia_team_member").row(&[
            ("sys_id", &sid(&format!("gen-member:{i}"))),
            ("team", &teams[i / 10]),
            ("agent", &id),
            ("memory_scope", "global"),
        ]);
        ran(&mut t, &id, (i % 30) as i64);
    }
    t
}
