//! Every built-in rule against a hardened fixture (it must pass) and the same fixture with one
//! thing broken (it must fail). A rule without a case here fails `every_rule_has_a_case`.

use engine::{evaluate, Outcome, RuleSet};
use schemas::*;
use serde_json::json;

const PLAN: &[&str] = &[
    "sn_aia_trigger_agent_usecase_m2m",
    "sn_nowassist_skill_config_status",
    "sys_gen_ai_skill",
    "sys_gen_ai_skill_applicability",
    "sys_gen_ai_skill_config",
    "sys_store_app",
    "sys_properties",
    "sn_aia_property",
    "sn_aia_agent",
    "sn_aia_agent_config",
    "sn_aia_tool",
    "sn_aia_agent_tool_m2m",
    "sn_aia_usecase",
    "sn_aia_usecase_config_override",
    "sn_aia_team",
    "sn_aia_team_member",
    "sn_aia_trigger_configuration",
    "sys_agent_access_role_configuration",
    "sys_agent_access_role_mapping",
    "sn_aia_external_agent_configuration",
    "sys_security_acl",
    "sys_security_acl_role",
    "sys_user_role",
    "sys_user",
    "sys_user_has_role",
    "sys_generative_ai_provider_mapping",
    "sn_nowassist_skill_config",
    "sys_cs_provider",
    "sys_cs_provider_application",
    "sys_public",
    "sn_aia_execution_plan",
];

fn agent(
    id: &str,
    kind: &str,
    tools: serde_json::Value,
    teams: &[&str],
    reads_user_content: bool,
) -> serde_json::Value {
    json!({
        "id": id, "kind": kind, "name": id, "owner": null, "identity": "invoker", "run_as": null,
        "role_mask": ["itil"], "audience": ["servicenow:role:itil"], "audience_unknown": false,
        "channels": ["now_assist_panel"], "autonomy": "supervised", "tools": tools, "knowledge": [],
        "teams": teams, "active": true, "last_used": (chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339(),
        "attributes": {"public_flag": false, "has_own_acl": true, "role_mask_has_elevated": false, "reads_user_content": reads_user_content,
                       "external": false, "audience_possibly_public": false, "panel_open_to_all": false},
    })
}

fn binding(tool: &str, max: i64) -> serde_json::Value {
    json!({"tool_id": tool, "autonomy": "supervised", "active": true, "attributes": {"max_auto_executions": max}})
}

fn tool(id: &str, kind: &str, caps: &[&str], targets: &[&str]) -> serde_json::Value {
    json!({"id": id, "kind": kind, "name": id, "capabilities": caps, "targets": targets, "active": true,
           "attributes": {"script_uses_glide_record": false}})
}

fn setting(key: &str, value: serde_json::Value) -> serde_json::Value {
    json!({"key": format!("servicenow.{key}"), "value": value, "scope": "instance", "source": "explicit"})
}

/// A hardened instance: nothing should fail.
fn hardened() -> Inventory {
    let mut settings = vec![];
    for (k, v) in [
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
        ("sn_aia.continuous_tool_execution_limit", "7"),
        ("sn_nowassist_va.router_redirect_va_agentic", "NEVER"),
        ("sn_aia_property.kill_switch.mode", "enforce"),
    ] {
        settings.push(setting(k, json!(v)));
    }
    settings.push(setting(
        "installed_apps",
        json!({"sn_aia": "5.2.19", "sn_va_as_service": "4.0.4"}),
    ));
    settings.push(setting("acl.wildcard_gen_ai_permissive", json!(false)));
    settings.push(setting(
        "llm_providers",
        json!([{"provider": "Now LLM Service", "external": false, "active": true}]),
    ));
    settings.push(setting("external_agent_configurations", json!(0)));
    settings.push(setting("va.public_web_client", json!(false)));
    settings.push(setting("mcp_tools_present", json!(false)));
    let coverage: Vec<_> = PLAN
        .iter()
        .map(|t| json!({"resource": format!("servicenow.{t}"), "status": "collected", "evidence": "api", "requests": 1, "records": 1, "error": null}))
        .collect();
    // An agent that runs as a least-privilege, non-interactive AI identity.
    let mut fixed = agent("agent:fixed", "now_assist_agent", json!([]), &[], false);
    fixed["identity"] = json!("fixed");
    fixed["run_as"] = json!("u:svc");
    fixed["role_mask"] = json!(null);
    let inventory = json!({
        "provider": "servicenow",
        "connection_id": "c1",
        "collected_at": "2026-11-24T00:00:00Z",
        "principals": [
            {"id": "servicenow:anonymous", "kind": "anonymous", "name": "Public", "privileged": false, "roles": [], "attributes": {}},
            {"id": "servicenow:authenticated_users", "kind": "authenticated_users", "name": "Any authenticated user", "privileged": false, "roles": [], "attributes": {}},
            {"id": "servicenow:role:itil", "kind": "role", "name": "itil holders", "privileged": false, "roles": ["itil"], "attributes": {}},
            {"id": "u:svc", "kind": "service_account", "name": "svc.ai", "privileged": false, "roles": ["itil"],
             "attributes": {"web_service_access_only": true, "identity_type": "ai_agent"}},
            {"id": "u:admin", "kind": "user", "name": "admin.user", "privileged": true, "roles": ["admin"],
             "attributes": {"web_service_access_only": false, "identity_type": "unclassified"}},
        ],
        "agents": [
            agent("agent:writer", "now_assist_agent", json!([binding("tool:write", 3)]), &["team:w"], false),
            agent("agent:reader", "now_assist_agent", json!([binding("tool:read", 5)]), &["team:r"], true),
            fixed,
            agent("workflow:w", "now_assist_workflow", json!([]), &["team:r"], false),
            agent("skill:s", "now_assist_skill", json!([]), &[], false),
        ],
        "tools": [
            tool("tool:write", "crud", &["write"], &["servicenow:table:incident"]),
            tool("tool:read", "crud", &["read"], &["servicenow:table:incident"]),
            tool("tool:script", "script", &["read", "write", "execute_code"], &[]),
        ],
        "data_stores": [
            {"id": "servicenow:table:incident", "kind": "servicenow_table", "name": "incident", "sensitivity": "internal", "external_sharing": null, "attributes": {}},
            {"id": "servicenow:table:*", "kind": "servicenow_table", "name": "Any table", "sensitivity": "restricted", "external_sharing": null, "attributes": {}},
        ],
        "grants": [],
        "settings": settings,
        "untrusted_inputs": [
            {"id": "records:incident", "kind": "end_user_ticket_field", "name": "incident text", "reaches": ["agent:reader"], "unauthenticated": false, "attributes": {}},
            {"id": "trigger:p1", "kind": "record_trigger", "name": "P1", "reaches": ["workflow:w"], "unauthenticated": false,
             "attributes": {"user_written_content": true, "target_table": "incident", "runs_as_record_author": false}},
            {"id": "va:provider", "kind": "chat_channel", "name": "VA provider", "reaches": [], "unauthenticated": false,
             "attributes": {"auto_link_without_mfa": false, "shared_static_token": false, "token_readable": true, "applications": 1}},
        ],
        "coverage": coverage,
    });
    serde_json::from_value(inventory).expect("fixture matches the model")
}

fn agent_mut<'a>(inv: &'a mut Inventory, id: &str) -> &'a mut Agent {
    inv.agents.iter_mut().find(|a| a.id == id).unwrap()
}

fn set(inv: &mut Inventory, key: &str, value: serde_json::Value) {
    let key = format!("servicenow.{key}");
    inv.settings
        .iter_mut()
        .find(|s| s.key == key)
        .unwrap_or_else(|| panic!("no setting {key}"))
        .value = value;
}

fn input_mut<'a>(inv: &'a mut Inventory, id: &str) -> &'a mut UntrustedInput {
    inv.untrusted_inputs.iter_mut().find(|i| i.id == id).unwrap()
}

type Break = fn(&mut Inventory);

/// For each rule: how to break the hardened fixture so that it fails.
fn cases() -> Vec<(&'static str, Break)> {
    vec![
        ("SNOW-001", |i| {
            let a = agent_mut(i, "agent:writer");
            a.identity = RunIdentity::Fixed;
            a.run_as = Some("u:admin".into());
        }),
        ("SNOW-002", |i| {
            let a = agent_mut(i, "workflow:w");
            a.identity = RunIdentity::Fixed;
            a.run_as = Some("u:admin".into());
        }),
        ("SNOW-003", |i| agent_mut(i, "agent:reader").role_mask = None),
        ("SNOW-004", |i| {
            set(i, "identity.agent.role_masking.enabled", json!("false"))
        }),
        ("SNOW-005", |i| {
            agent_mut(i, "agent:writer")
                .attributes
                .insert("role_mask_has_elevated".into(), json!(true));
        }),
        ("SNOW-006", |i| {
            agent_mut(i, "agent:reader")
                .audience
                .push("servicenow:anonymous".into())
        }),
        ("SNOW-007", |i| {
            agent_mut(i, "agent:writer")
                .audience
                .push("servicenow:authenticated_users".into())
        }),
        ("SNOW-008", |i| agent_mut(i, "agent:writer").teams.push("team:r".into())),
        ("SNOW-009", |i| {
            set(i, "sn_aia.enable_usecase_tool_execution_mode_override", json!("true"))
        }),
        ("SNOW-010", |i| {
            agent_mut(i, "workflow:w").autonomy = Autonomy::Autonomous
        }),
        ("SNOW-011", |i| {
            agent_mut(i, "agent:writer").tools[0].autonomy = Autonomy::Autonomous
        }),
        ("SNOW-012", |i| {
            agent_mut(i, "agent:writer").tools[0]
                .attributes
                .insert("max_auto_executions".into(), json!(10));
        }),
        ("SNOW-013", |i| {
            set(i, "sn_aia.continuous_tool_execution_limit", json!("25"))
        }),
        ("SNOW-014", |i| set(i, "sn_aia_property.kill_switch.mode", json!("off"))),
        ("SNOW-015", |i| {
            agent_mut(i, "workflow:w").autonomy = Autonomy::Autonomous;
            agent_mut(i, "agent:writer").teams.push("team:r".into());
        }),
        ("SNOW-016", |i| {
            let t = i.tools.iter_mut().find(|t| t.id == "tool:script").unwrap();
            t.attributes.insert("script_uses_glide_record".into(), json!(true));
        }),
        ("SNOW-017", |i| {
            agent_mut(i, "agent:reader")
                .attributes
                .insert("has_own_acl".into(), json!(false));
            set(i, "acl.wildcard_gen_ai_permissive", json!(true));
        }),
        ("SNOW-018", |i| {
            set(
                i,
                "com.glide.one_extend.include_default_roles_for_skill_acl",
                json!("true"),
            )
        }),
        ("SNOW-019", |i| {
            set(
                i,
                "llm_providers",
                json!([{"provider": "OpenAI", "external": true, "active": true}]),
            );
        }),
        ("SNOW-020", |i| {
            set(i, "sn_aia.external_agent_guardian_check", json!("false"))
        }),
        ("SNOW-021", |i| set(i, "external_agent_configurations", json!(2))),
        ("SNOW-022", |i| {
            agent_mut(i, "agent:reader").channels.push("virtual_agent".into());
            set(i, "va.public_web_client", json!(true));
            set(
                i,
                "sn_nowassist_va.router_redirect_va_agentic",
                json!("ROUTER_DECISION"),
            );
        }),
        ("SNOW-023", |i| {
            input_mut(i, "va:provider")
                .attributes
                .insert("auto_link_without_mfa".into(), json!(true));
        }),
        ("SNOW-024", |i| {
            input_mut(i, "va:provider")
                .attributes
                .insert("shared_static_token".into(), json!(true));
        }),
        ("SNOW-025", |i| {
            set(
                i,
                "installed_apps",
                json!({"sn_aia": "5.1.10", "sn_va_as_service": "4.0.4"}),
            )
        }),
        ("SNOW-026", |i| {
            let p = i.principals.iter_mut().find(|p| p.id == "u:svc").unwrap();
            p.attributes.insert("web_service_access_only".into(), json!(false));
            p.attributes.insert("identity_type".into(), json!("unclassified"));
        }),
        ("SNOW-027", |i| agent_mut(i, "agent:writer").last_used = None),
        ("SNOW-028", |i| set(i, "glide.basicauth.required.api", json!("false"))),
        ("SNOW-029", |i| {
            set(i, "glide.oauth.inbound.ropc.grant_type.disabled", json!("false"))
        }),
        ("SNOW-030", |i| {
            set(i, "glide.ai_record_activity.validation.feature.enabled", json!("false"))
        }),
        ("SNOW-031", |i| {
            set(
                i,
                "sn_itsm_aia.office_365_group_member_approval.required",
                json!("false"),
            )
        }),
        ("SNOW-032", |i| {
            set(i, "sn_aia.ltm.enable_long_term_memory", json!("true"))
        }),
        ("SNOW-033", |i| set(i, "com.sn.generative.ai.log_prompt", json!("true"))),
        ("SNOW-034", |i| {
            set(i, "glide.voice.authenticate.mfa_mandatory", json!("false"))
        }),
        ("SNOW-035", |i| {
            input_mut(i, "trigger:p1")
                .attributes
                .insert("runs_as_record_author".into(), json!(true));
        }),
        ("SNOW-036", |i| {
            agent_mut(i, "agent:writer")
                .attributes
                .insert("external".into(), json!(true));
        }),
        ("SNOW-037", |i| {
            let s = agent_mut(i, "skill:s");
            s.attributes.insert("role_mask_has_elevated".into(), json!(true));
            s.attributes.insert("panel_open_to_all".into(), json!(true));
        }),
        ("SNOW-PATH-001", |i| {
            let p = input_mut(i, "va:provider");
            p.attributes.insert("auto_link_without_mfa".into(), json!(true));
            p.reaches.push("agent:writer".into());
            i.tools
                .iter_mut()
                .find(|t| t.id == "tool:write")
                .unwrap()
                .targets
                .push("servicenow:table:*".into());
        }),
        ("SNOW-PATH-002", |i| {
            agent_mut(i, "agent:writer").teams.push("team:r".into())
        }),
        ("XPATH-001", |i| {
            agent_mut(i, "agent:reader")
                .audience
                .push("servicenow:anonymous".into());
            i.data_stores[0].sensitivity = Some("confidential".into());
        }),
        ("XPATH-002", |i| {
            i.tools.push(
                serde_json::from_value(json!({"id": "tool:mail", "kind": "action", "name": "Send email",
                "capabilities": ["send_external"], "targets": [], "active": true, "attributes": {}}))
                .unwrap(),
            );
            let reader = agent_mut(i, "agent:reader");
            reader
                .tools
                .push(serde_json::from_value(binding("tool:mail", 1)).unwrap());
            i.data_stores[0].sensitivity = Some("confidential".into());
        }),
    ]
}

fn outcomes(rules: &RuleSet, inv: &Inventory, rule: &str) -> Vec<(String, Outcome, Option<String>)> {
    evaluate(rules, std::slice::from_ref(inv), chrono::Utc::now())
        .results
        .into_iter()
        .filter(|r| r.rule_id == rule)
        .map(|r| (r.resource_id, r.outcome, r.reason))
        .collect()
}

type Fixture = fn() -> Inventory;

/// Every case with the fixture it breaks.
fn all_cases() -> Vec<(&'static str, Fixture, Break)> {
    let servicenow = cases().into_iter().map(|(id, b)| (id, hardened as Fixture, b));
    let m365 = m365_cases()
        .into_iter()
        .map(|(id, b)| (id, hardened_m365 as Fixture, b));
    let salesforce = salesforce_cases()
        .into_iter()
        .map(|(id, b)| (id, hardened_salesforce as Fixture, b));
    let google = google_cases()
        .into_iter()
        .map(|(id, b)| (id, hardened_google as Fixture, b));
    servicenow.chain(m365).chain(salesforce).chain(google).collect()
}

#[test]
fn every_rule_has_a_case() {
    let rules = RuleSet::builtin().unwrap();
    let covered: Vec<&str> = all_cases().iter().map(|(id, _, _)| *id).collect();
    let missing: Vec<&str> = rules
        .rules
        .iter()
        .map(|r| r.meta.id.as_str())
        .filter(|id| !covered.contains(id))
        .collect();
    assert!(missing.is_empty(), "rules without a test case: {missing:?}");
    assert!(rules.rules.iter().filter(|r| r.meta.provider == "servicenow").count() >= 20);
    assert!(rules.rules.iter().filter(|r| r.meta.provider == "m365").count() >= 20);
    assert!(rules.rules.iter().filter(|r| r.meta.provider == "salesforce").count() >= 25);
    assert!(
        rules
            .rules
            .iter()
            .filter(|r| r.meta.provider == "google_workspace")
            .count()
            >= 25
    );
}

#[test]
fn each_rule_passes_when_hardened_and_fails_when_broken() {
    let rules = RuleSet::builtin().unwrap();
    let mut problems = Vec::new();
    for (rule, fixture, break_it) in all_cases() {
        let base = fixture();
        let before = outcomes(&rules, &base, rule);
        if before.iter().any(|(_, o, _)| *o != Outcome::Pass) || before.is_empty() {
            problems.push(format!("{rule} on the hardened fixture: {before:?}"));
        }
        let mut broken = base.clone();
        break_it(&mut broken);
        let after = outcomes(&rules, &broken, rule);
        if !after.iter().any(|(_, o, _)| *o == Outcome::Fail) {
            problems.push(format!("{rule} did not fail when broken: {after:?}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_rule_whose_resource_was_not_collected_is_not_assessed() {
    let rules = RuleSet::builtin().unwrap();
    let mut inv = hardened();
    // The properties table was refused: SNOW-004 cannot be judged, whatever the settings say.
    let c = inv
        .coverage
        .iter_mut()
        .find(|c| c.resource == "servicenow.sys_properties")
        .unwrap();
    c.status = CoverageStatus::Forbidden;
    c.error = Some("403 forbidden".into());
    let r = outcomes(&rules, &inv, "SNOW-004");
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].1, Outcome::NotAssessed);
    assert!(
        r[0].2.as_deref().unwrap().contains("servicenow.sys_properties"),
        "{r:?}"
    );
}

#[test]
fn a_rule_with_a_gap_that_applies_to_nothing_is_not_assessed_on_the_connection() {
    // The users were deferred by the API budget, so no principal is known to run an agent:
    // SF-AI-001 applies to nothing it can see, which must not read as "nothing to flag".
    let rules = RuleSet::builtin().unwrap();
    let mut inv = hardened_salesforce();
    let users = inv
        .coverage
        .iter_mut()
        .find(|c| c.resource == "salesforce.User")
        .unwrap();
    users.status = CoverageStatus::Deferred;
    users.error = Some("deferred to stay within 10% of the daily API allowance".into());
    inv.principals
        .retain(|p| matches!(p.kind, PrincipalKind::App | PrincipalKind::Guest));
    let r = outcomes(&rules, &inv, "SF-AI-001");
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].0, inv.connection_id);
    assert_eq!(r[0].1, Outcome::NotAssessed);
    assert!(r[0].2.as_deref().unwrap().contains("salesforce.User"), "{r:?}");
}

#[test]
fn an_unreadable_run_as_user_is_not_assessed_rather_than_passed() {
    let rules = RuleSet::builtin().unwrap();
    let mut inv = hardened();
    let a = agent_mut(&mut inv, "agent:writer");
    a.identity = RunIdentity::Fixed;
    a.run_as = Some("u:hidden-by-acl".into());
    let r = outcomes(&rules, &inv, "SNOW-001");
    let writer = r.iter().find(|(id, _, _)| id == "agent:writer").unwrap();
    assert_eq!(writer.1, Outcome::NotAssessed, "{r:?}");
}

#[test]
fn path_findings_carry_the_path() {
    let rules = RuleSet::builtin().unwrap();
    let mut inv = hardened();
    agent_mut(&mut inv, "agent:writer").teams.push("team:r".into());
    let eval = evaluate(&rules, &[inv], chrono::Utc::now());
    let f = eval.findings.iter().find(|f| f.rule_id == "SNOW-PATH-002").unwrap();
    let path = f.path.as_ref().unwrap();
    let names: Vec<&str> = path.nodes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(
        names,
        [
            "records:incident",
            "agent:reader",
            "team:r",
            "agent:writer",
            "tool:write"
        ]
    );
    let kinds: Vec<&str> = path.edges.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["ingests", "member_of", "recruits", "uses"]);
}

#[test]
fn broken_rule_files_are_reported_with_file_line_and_reason() {
    let dir = std::env::temp_dir().join(format!("aispm-rules-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("bad-yaml.yaml"), "id: X-1\ntitle: [unclosed\n").unwrap();
    std::fs::write(
        dir.join("bad-cel.yaml"),
        "id: X-2\ntitle: t\nseverity: low\nprovider: any\nresource: agent\nwhen: 'agent.active &&'\nrationale: r\nremediation: m\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("good.yaml"),
        "id: X-3\ntitle: t\nseverity: low\nprovider: any\nresource: agent\nwhen: 'agent.active'\nrationale: r\nremediation: m\n",
    )
    .unwrap();
    let errors = RuleSet::load_dir(&dir).err().expect("two broken files");
    assert_eq!(errors.len(), 2, "{errors:?}");
    let cel = errors.iter().find(|e| e.file.ends_with("bad-cel.yaml")).unwrap();
    assert_eq!(cel.line, Some(6));
    assert!(cel.reason.contains("when"), "{cel}");
    let yaml = errors.iter().find(|e| e.file.ends_with("bad-yaml.yaml")).unwrap();
    assert!(yaml.line.is_some(), "{yaml}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A well-configured Microsoft 365 tenant, as the connector's transform shapes it.
fn hardened_m365() -> Inventory {
    let recent = (chrono::Utc::now() - chrono::Duration::days(2)).to_rfc3339();
    let sp = |id: &str, kind: &str| {
        json!({"id": id, "kind": kind, "name": id, "privileged": false, "roles": ["Sites.Selected"], "attributes": {
            "ai": true, "ai_reasons": ["listed"], "microsoft": false, "third_party": true, "verified_publisher": true,
            "publisher": "Vendor", "app_roles_known": true, "app_permissions": ["Microsoft Graph: Sites.Selected"],
            "tenant_wide_scopes": [], "user_consent_scopes": ["User.Read"], "user_consent_count": 1,
            "owners_known": true, "owner_count": 1, "active_owner_count": 1, "multi_tenant": true,
            "assignment_required": true, "agent_identity": kind == "ai_identity"}})
    };
    let setting = |k: &str, v: serde_json::Value| json!({"key": format!("m365.{k}"), "value": v, "scope": "tenant", "source": "explicit"});
    let coverage: Vec<_> = [
        "subscribed_skus", "users", "copilot_packages", "agent_identities", "service_principals",
        "app_role_assignments", "oauth2_permission_grants", "service_principal_owners", "permission_catalog",
        "sharepoint_settings", "sensitivity_labels", "environments", "copilot_studio_bots",
        "copilot_studio_components", "copilot_studio_owners", "copilot_studio_activity",
        "copilot_policy_settings", "powerplatform_inventory",
    ]
    .iter()
    .map(|r| json!({"resource": format!("m365.{r}"), "status": "collected", "evidence": "api", "requests": 1, "records": 1, "error": null}))
    .collect();
    let inventory = json!({
        "provider": "m365", "connection_id": "m1", "collected_at": "2026-11-25T00:00:00Z",
        "principals": [
            {"id": "m365:user:u1", "kind": "user", "name": "adele", "privileged": false, "roles": [],
             "attributes": {"account_enabled": true, "user_type": "Member", "copilot_licensed": true}},
            {"id": "m365:anonymous", "kind": "anonymous", "name": "Anyone", "privileged": false, "roles": [], "attributes": {}},
            {"id": "m365:group:g", "kind": "group", "name": "g", "privileged": false, "roles": [], "attributes": {}},
            {"id": "m365:copilot_users", "kind": "authenticated_users", "name": "Copilot users", "privileged": false, "roles": [], "attributes": {}},
            sp("m365:sp:ai1", "app"),
            sp("m365:sp:agentid", "ai_identity"),
        ],
        "agents": [
            {"id": "m365:bot:b1", "kind": "copilot_studio_agent", "name": "Benefits", "owner": "m365:user:u1",
             "identity": "invoker", "run_as": null, "role_mask": null, "audience": ["m365:group:g"], "audience_unknown": false,
             "channels": ["Teams"], "autonomy": "autonomous",
             "tools": [{"tool_id": "m365:bot_action:a1", "autonomy": "autonomous", "active": true, "attributes": {}}],
             "knowledge": ["m365:site:benefits"], "teams": [], "active": true, "last_used": recent,
             "attributes": {"authentication": "entra", "access_policy": "groups", "published": true, "published_on": "2026-02-20T16:02:11Z",
                            "owner_state": "active", "components_known": true, "knowledge_kinds": ["SharePointSearchSource"],
                            "maker_credential_actions": [], "unknown_credential_actions": [], "activity_known": true,
                            "last_conversation": recent, "environment_name": "Default", "channels_known": true}},
            {"id": "m365:package:p1", "kind": "copilot_package_agent", "name": "Finance Q&A", "owner": null,
             "identity": "invoker", "run_as": null, "role_mask": null, "audience": ["m365:group:g"], "audience_unknown": false,
             "channels": ["copilot"], "autonomy": "supervised",
             "tools": [{"tool_id": "m365:plugin:p1", "autonomy": "supervised", "active": true, "attributes": {}}],
             "knowledge": ["m365:site:finance"], "teams": [], "active": true, "last_used": null,
             "attributes": {"package_type": "custom", "available_to": "some", "blocked": false, "publisher": "Contoso",
                            "capabilities": ["OneDriveAndSharePoint"], "web_search": false, "internal_knowledge": true}},
            {"id": "m365:copilot", "kind": "m365_copilot", "name": "Microsoft 365 Copilot", "owner": null,
             "identity": "invoker", "run_as": null, "role_mask": null, "audience": ["m365:copilot_users"], "audience_unknown": false,
             "channels": ["copilot"], "autonomy": "autonomous", "tools": [],
             "knowledge": ["m365:mailboxes"], "teams": [], "active": true, "last_used": null, "attributes": {}},
        ],
        "tools": [
            {"id": "m365:bot_action:a1", "kind": "connector_action", "name": "Send email", "capabilities": ["send_external"],
             "targets": ["m365:mailboxes"], "active": true, "attributes": {"credentials": "invoker"}},
            {"id": "m365:plugin:p1", "kind": "api_plugin", "name": "ERP", "capabilities": ["send_external", "read"],
             "targets": [], "active": true, "attributes": {"auth_type": "oauthpluginvault", "runtime": "OpenApi", "url": "https://erp", "data_handling": []}},
        ],
        "data_stores": [
            {"id": "m365:site:benefits", "kind": "sharepoint_site", "name": "Benefits", "sensitivity": "internal", "external_sharing": "none", "attributes": {}},
            {"id": "m365:site:finance", "kind": "sharepoint_site", "name": "Finance", "sensitivity": "internal", "external_sharing": "none", "attributes": {}},
            {"id": "m365:mailboxes", "kind": "mailboxes", "name": "Every mailbox", "sensitivity": "confidential", "external_sharing": null, "attributes": {}},
        ],
        "grants": [],
        "settings": [
            setting("copilot.licensed_seats", json!(5)),
            setting("sharepoint.sharingCapability", json!("existingExternalUserSharingOnly")),
            setting("sharepoint.sharingDomainRestrictionMode", json!("allowList")),
            setting("sharepoint.isResharingByExternalUsersEnabled", json!(false)),
            setting("sensitivity_labels.count", json!(2)),
            setting("sensitivity_labels.protecting", json!(1)),
            setting("copilot.web_search", json!("disabled")),
            setting("copilot.policy_group_scoped", json!([])),
        ],
        "untrusted_inputs": [
            {"id": "m365:inbound_email", "kind": "inbound_email", "name": "External email", "reaches": ["m365:copilot"],
             "unauthenticated": true, "attributes": {}},
        ],
        "coverage": coverage,
    });
    serde_json::from_value(inventory).expect("fixture matches the model")
}

fn m365_set(inv: &mut Inventory, key: &str, value: serde_json::Value) {
    let key = format!("m365.{key}");
    inv.settings.iter_mut().find(|s| s.key == key).unwrap().value = value;
}

fn principal_mut<'a>(inv: &'a mut Inventory, id: &str) -> &'a mut Principal {
    inv.principals.iter_mut().find(|p| p.id == id).unwrap()
}

fn attr(inv: &mut Inventory, agent: &str, key: &str, value: serde_json::Value) {
    agent_mut(inv, agent).attributes.insert(key.into(), value);
}

fn grant_role(inv: &mut Inventory, principal: &str, role: &str) {
    principal_mut(inv, principal).roles.push(role.into());
}

fn m365_cases() -> Vec<(&'static str, Break)> {
    vec![
        ("M365-APP-001", |i| grant_role(i, "m365:sp:ai1", "Sites.Read.All")),
        ("M365-APP-002", |i| grant_role(i, "m365:sp:ai1", "Files.ReadWrite.All")),
        ("M365-APP-003", |i| grant_role(i, "m365:sp:ai1", "Mail.Send")),
        ("M365-APP-004", |i| grant_role(i, "m365:sp:ai1", "Chat.Read.All")),
        ("M365-APP-005", |i| {
            grant_role(i, "m365:sp:ai1", "AppRoleAssignment.ReadWrite.All")
        }),
        ("M365-APP-006", |i| {
            principal_mut(i, "m365:sp:ai1")
                .attributes
                .insert("tenant_wide_scopes".into(), json!(["offline_access", "Mail.Read"]));
        }),
        ("M365-APP-007", |i| {
            principal_mut(i, "m365:sp:ai1")
                .attributes
                .insert("verified_publisher".into(), json!(false));
        }),
        ("M365-APP-008", |i| {
            principal_mut(i, "m365:sp:ai1")
                .attributes
                .insert("active_owner_count".into(), json!(0));
        }),
        ("M365-APP-009", |i| {
            principal_mut(i, "m365:sp:ai1")
                .attributes
                .insert("assignment_required".into(), json!(false));
        }),
        ("M365-AGT-001", |i| {
            attr(i, "m365:bot:b1", "authentication", json!("none"))
        }),
        ("M365-AGT-003", |i| {
            attr(i, "m365:bot:b1", "access_policy", json!("any"))
        }),
        ("M365-AGT-004", |i| {
            attr(i, "m365:bot:b1", "maker_credential_actions", json!(["Send email"]))
        }),
        ("M365-AGT-005", |i| {
            attr(i, "m365:package:p1", "web_search", json!(true))
        }),
        ("M365-AGT-006", |i| {
            i.tools[1].attributes.insert("auth_type".into(), json!("none"));
        }),
        ("M365-AGT-007", |i| {
            attr(i, "m365:package:p1", "package_type", json!("external"));
            attr(i, "m365:package:p1", "available_to", json!("all"));
        }),
        ("M365-AGT-008", |i| {
            attr(i, "m365:bot:b1", "owner_state", json!("disabled"))
        }),
        ("M365-AGT-009", |i| grant_role(i, "m365:sp:agentid", "Mail.Read")),
        ("M365-AGT-010", |i| {
            attr(i, "m365:package:p1", "available_to", json!("all"))
        }),
        ("M365-AGT-011", |i| {
            attr(
                i,
                "m365:bot:b1",
                "knowledge_kinds",
                json!(["SharePointSearchSource", "PublicSiteSearchSource"]),
            )
        }),
        ("M365-AGT-012", |i| agent_mut(i, "m365:bot:b1").last_used = None),
        ("M365-AGT-013", |i| {
            attr(i, "m365:bot:b1", "access_policy", json!("any_tenant"))
        }),
        ("M365-CFG-002", |i| {
            m365_set(i, "sharepoint.sharingCapability", json!("externalUserAndGuestSharing"))
        }),
        ("M365-CFG-003", |i| {
            m365_set(i, "sharepoint.isResharingByExternalUsersEnabled", json!(true))
        }),
        ("M365-CFG-006", |i| {
            m365_set(i, "sensitivity_labels.protecting", json!(0))
        }),
        ("M365-CFG-001", |i| {
            m365_set(i, "copilot.web_search", json!("not_configured"))
        }),
        ("M365-CFG-008", |i| {
            m365_set(
                i,
                "copilot.policy_group_scoped",
                json!(["microsoft.copilot.imagegeneration"]),
            )
        }),
        ("M365-AGT-002", |i| {
            attr(i, "m365:bot:b1", "authentication", json!("none"));
            agent_mut(i, "m365:bot:b1").channels.push("Direct Line".into());
        }),
        ("M365-LIC-001", |i| {
            principal_mut(i, "m365:user:u1")
                .attributes
                .insert("account_enabled".into(), json!(false));
        }),
        ("M365-PATH-001", |i| {
            agent_mut(i, "m365:bot:b1").audience.push("m365:anonymous".into())
        }),
        ("M365-PATH-002", |i| {
            i.tools.push(Tool {
                id: "m365:copilot:rendered_links".into(),
                kind: "response_rendering".into(),
                name: "Rendered links".into(),
                capabilities: vec![Capability::SendExternal],
                capabilities_unknown: None,
                targets: vec![],
                active: true,
                attributes: Default::default(),
            });
            agent_mut(i, "m365:copilot").tools.push(ToolBinding {
                tool_id: "m365:copilot:rendered_links".into(),
                autonomy: Autonomy::Autonomous,
                active: true,
                attributes: Default::default(),
            });
        }),
    ]
}

#[test]
fn m365_unknowns_are_not_assessed_rather_than_passed() {
    let rules = RuleSet::builtin().unwrap();
    let mut inv = hardened_m365();
    principal_mut(&mut inv, "m365:sp:ai1")
        .attributes
        .insert("owners_known".into(), json!(false));
    attr(&mut inv, "m365:bot:b1", "authentication", json!("unspecified"));
    attr(&mut inv, "m365:bot:b1", "activity_known", json!(false));
    m365_set(&mut inv, "sensitivity_labels.protecting", serde_json::Value::Null);
    // A package whose manifests could not be read: its capabilities are unknown.
    attr(&mut inv, "m365:package:p1", "available_to", json!("all"));
    attr(
        &mut inv,
        "m365:package:p1",
        "internal_knowledge",
        serde_json::Value::Null,
    );
    attr(&mut inv, "m365:package:p1", "web_search", serde_json::Value::Null);
    attr(
        &mut inv,
        "m365:package:p1",
        "detail_reason",
        json!("package element manifests could not be read: da-1"),
    );
    for rule in [
        "M365-APP-008",
        "M365-AGT-001",
        "M365-AGT-012",
        "M365-CFG-006",
        "M365-AGT-005",
        "M365-AGT-010",
    ] {
        let r = outcomes(&rules, &inv, rule);
        assert!(
            r.iter().any(|(_, o, _)| *o == Outcome::NotAssessed) && !r.iter().any(|(_, o, _)| *o == Outcome::Fail),
            "{rule}: {r:?}"
        );
    }
    // The reason is the collector's, not an evaluation error.
    let r = outcomes(&rules, &inv, "M365-AGT-010");
    let reason = r.iter().find_map(|(_, _, reason)| reason.clone()).unwrap();
    assert!(reason.contains("manifests could not be read: da-1"), "{reason}");
}

/// A hardened Salesforce org, in the shape the connector's transform produces: a service
/// agent on a dedicated agent user, an employee agent, actions that confirm and share, a
/// template on a non-sensitive object, one exact Trusted URL on a registered domain, an
/// admin-approved app, every Trust Layer defence on.
fn hardened_salesforce() -> Inventory {
    let plan = [
        "limits",
        "Organization",
        "web_leads",
        "BotDefinition",
        "GenAiPlannerDefinition",
        "GenAiPluginDefinition",
        "GenAiPlannerFunctionDef",
        "GenAiPluginFunctionDef",
        "GenAiFunctionDefinition",
        "FlowDefinition",
        "AiPlannerRelatedAgent",
        "GenAiPromptTemplate",
        "metadata.GenAiPromptTemplate",
        "metadata.Bot",
        "ApexClass",
        "Site",
        "Network",
        "NetworkBotDefinition",
        "EmbeddedServiceConfig",
        "EmbeddedServiceMessagingChannel",
        "MessagingChannel",
        "metadata.ConnectedApp",
        "User",
        "PermissionSetAssignment",
        "ObjectPermissions",
        "SetupEntityAccess",
        "agent_builders",
        "CspTrustedSite",
        "trusted_url_domains",
        "ConnectedApplication",
        "OauthToken",
        "metadata.settings",
    ];
    let coverage: Vec<_> = plan
        .iter()
        .map(|r| json!({"resource": format!("salesforce.{r}"), "status": "collected", "evidence": "api", "requests": 1, "records": 1, "error": null}))
        .collect();
    let setting = |k: &str, v: serde_json::Value| json!({"key": format!("salesforce.{k}"), "value": v, "scope": "tenant", "source": "explicit"});
    let user = |id: &str, kind: &str, profile: &str| {
        json!({"id": id, "kind": kind, "name": id, "privileged": false, "roles": ["AgentforceServiceAgentUser"], "attributes": {
            "profile": profile, "user_type": if kind == "guest" { "Guest" } else { "Standard" }, "last_login": null,
            "rights_known": true, "system_permissions": [], "modify_or_view_all_data": false, "admin_permissions": [],
            "object_permissions": [{"object": "Product2", "rights": ["Read"]}], "view_or_modify_all_records_on": [],
            "edit_or_delete_sensitive_objects": [], "permission_sets": ["AgentforceServiceAgentUser"]}})
    };
    let binding =
        |tool: &str, autonomy: &str| json!({"tool_id": tool, "autonomy": autonomy, "active": true, "attributes": {}});
    let agent = |id: &str, bot_type: &str, run_as: Option<&str>, audience: serde_json::Value| {
        json!({"id": id, "kind": "agentforce_agent", "name": id, "owner": null,
               "identity": if run_as.is_some() { "fixed" } else { "invoker" }, "run_as": run_as, "role_mask": null,
               "audience": audience, "audience_unknown": false, "channels": [], "autonomy": "supervised",
               "tools": [binding("sf:action:apex", "supervised"), binding("sf:action:prompt", "supervised"), binding("sf:trusted_url:docs", "autonomous"), binding("sf:action:flow", "supervised"), binding("sf:delegated:quotes", "autonomous")],
               "knowledge": ["salesforce:object:Product2"], "teams": [], "active": true, "last_used": null,
               "attributes": {"bot_type": bot_type, "developer_name": id, "run_as_human": run_as.map(|_| false), "run_as_profile": run_as.map(|_| "Einstein Agent User"),
                              "audience_possibly_public": false, "audience_possibly_public_reason": "", "log_private_conversation_data": false,
                              "guest_sites": [], "reach_evidence": []}})
    };
    let inventory = json!({
        "provider": "salesforce", "connection_id": "sf1", "collected_at": "2026-11-25T00:00:00Z",
        "principals": [
            user("salesforce:user:agent", "ai_identity", "Einstein Agent User"),
            user("salesforce:user:guest", "guest", "Help Center Profile"),
            {"id": "salesforce:sf1:org_users", "kind": "authenticated_users", "name": "Users of the org", "privileged": false, "roles": [], "attributes": {}},
            {"id": "salesforce:app:Reader", "kind": "app", "name": "Reader", "privileged": false, "roles": [], "attributes": {
                "scopes": ["Api"], "full_scope": false, "refresh_token_scope": false, "agent_api_scopes": [], "admin_approved_only": true,
                "session_policy": true, "ip_relaxation": "ENFORCE", "refresh_token_policy": "zero", "client_credentials": true,
                "run_as_user": "reader@acme.example", "run_as_modify_or_view_all_data": false, "dormant_tokens": []}},
        ],
        "agents": [
            agent("salesforce:agent:service", "ExternalCopilot", Some("salesforce:user:agent"), json!([])),
            agent("salesforce:agent:employee", "InternalCopilot", None, json!(["salesforce:sf1:org_users"])),
        ],
        "tools": [
            {"id": "sf:action:apex", "kind": "action.apex", "name": "Update case", "capabilities": ["execute_code", "read", "write"], "targets": ["salesforce:object:Product2"], "active": true,
             "attributes": {"apex_class": "CaseUpdater", "apex_sharing": "with", "apex_api_version": 67.0, "runs_without_sharing": false, "guests_with_class_access": [], "writes_data": true, "confirmation_required": true, "developer_name": "Update_Case", "invocation_target": "CaseUpdater"}},
            {"id": "sf:action:prompt", "kind": "action.generatePromptResponse", "name": "Summarise", "capabilities": ["read"], "targets": ["salesforce:object:Product2"], "active": true,
             "attributes": {"writes_data": false, "confirmation_required": false, "developer_name": "Summarise", "invocation_target": "Product_Overview"}},
            {"id": "sf:action:flow", "kind": "action.flow", "name": "Update stage", "capabilities": [], "capabilities_unknown": "what the flow does is not analysed", "targets": [], "active": true,
             "attributes": {"flow": "Update_Stage", "flow_run_mode": "SystemModeWithSharing", "flow_process_type": "AutoLaunchedFlow", "runs_without_sharing": false, "writes_data": null, "confirmation_required": true}},
            {"id": "sf:delegated:quotes", "kind": "delegated_agent", "name": "Quote agent", "capabilities": [], "capabilities_unknown": "judged on that agent", "targets": [], "active": true,
             "attributes": {"provider": "Agentforce", "url": "", "status": "Active", "third_party": false}},
            {"id": "sf:template:product", "kind": "prompt_template", "name": "Product overview", "capabilities": ["read"], "targets": ["salesforce:object:Product2"], "active": true,
             "attributes": {"sensitive_objects": [], "public_free_text_merged": [], "related_entity": "Product2", "provider_runs_without_sharing": false,
                            "data_providers": [{"definition": "apex://ProductCatalogProvider", "runs_without_sharing": false}]}},
            {"id": "sf:trusted_url:docs", "kind": "trusted_url", "name": "Trusted URL https://docs.acme.example", "capabilities": ["send_external"], "targets": [], "active": true,
             "attributes": {"endpoint": "https://docs.acme.example", "registered_domain": "acme.example", "wildcard": false, "insecure_http": false, "context": "LEX",
                            "img_src": true, "connect_src": false, "days_since_modified": 30, "domain_status": "registered", "domain_lapsed": false, "domain_expires": "2027-06-01T00:00:00Z"}},
        ],
        "data_stores": [{"id": "salesforce:object:Product2", "kind": "sobject", "name": "Product2", "sensitivity": "internal", "external_sharing": null, "attributes": {}},
                        {"id": "salesforce:object:Lead", "kind": "sobject", "name": "Lead", "sensitivity": "confidential", "external_sharing": null, "attributes": {}}],
        "grants": [],
        "settings": [
            setting("EinsteinGptSettings.enableEinsteinGptPlatform", json!(true)),
            setting("EinsteinGptSettings.disableAIProviderRegionFallback", json!(true)),
            setting("EinsteinAISettings.enableTrustPIIMasking", json!(true)),
            setting("EinsteinAISettings.enableAIFeedbackWithDC", json!(true)),
            setting("EinsteinAISettings.enableAITrustPromptInjectionDetection", json!(true)),
            setting("org.DefaultLeadAccess", json!("Private")),
            setting("org.DefaultCaseAccess", json!("Private")),
            setting("org.DefaultAccountAccess", json!("Read")),
            setting("agent_builders", json!({"count": 2, "users": ["a", "b"]})),
        ],
        "untrusted_inputs": [
            {"id": "salesforce:input:web_to_lead", "kind": "web_to_lead", "name": "Web-to-Lead", "reaches": [], "unauthenticated": true, "attributes": {"web_leads": 3}},
        ],
        "teams": [],
        "coverage": coverage,
    });
    serde_json::from_value(inventory).unwrap()
}

fn tool_mut<'a>(inv: &'a mut Inventory, id: &str) -> &'a mut Tool {
    inv.tools.iter_mut().find(|t| t.id == id).unwrap()
}

fn tool_attr(inv: &mut Inventory, tool: &str, key: &str, value: serde_json::Value) {
    tool_mut(inv, tool).attributes.insert(key.into(), value);
}

fn principal_attr(inv: &mut Inventory, principal: &str, key: &str, value: serde_json::Value) {
    principal_mut(inv, principal).attributes.insert(key.into(), value);
}

fn sf_set(inv: &mut Inventory, key: &str, value: serde_json::Value) {
    let key = format!("salesforce.{key}");
    inv.settings
        .iter_mut()
        .find(|s| s.key == key)
        .unwrap_or_else(|| panic!("no setting {key}"))
        .value = value;
}

fn salesforce_cases() -> Vec<(&'static str, Break)> {
    const AGENT_USER: &str = "salesforce:user:agent";
    const APP: &str = "salesforce:app:Reader";
    vec![
        ("SF-AI-001", |i| {
            principal_attr(i, AGENT_USER, "modify_or_view_all_data", json!(true))
        }),
        ("SF-AI-002", |i| {
            principal_attr(i, AGENT_USER, "view_or_modify_all_records_on", json!(["Lead"]))
        }),
        ("SF-AI-003", |i| {
            principal_attr(i, AGENT_USER, "edit_or_delete_sensitive_objects", json!(["Contact"]))
        }),
        ("SF-AI-004", |i| {
            principal_attr(i, AGENT_USER, "admin_permissions", json!(["PermissionsAuthorApex"]))
        }),
        ("SF-AI-005", |i| {
            attr(i, "salesforce:agent:service", "run_as_human", json!(true))
        }),
        ("SF-AI-006", |i| {
            agent_mut(i, "salesforce:agent:service")
                .audience
                .push("salesforce:user:guest".into())
        }),
        ("SF-AI-007", |i| {
            principal_attr(
                i,
                "salesforce:user:guest",
                "system_permissions",
                json!(["PermissionsApiEnabled"]),
            )
        }),
        ("SF-AI-008", |i| {
            tool_attr(i, "sf:action:apex", "runs_without_sharing", json!(true))
        }),
        ("SF-AI-009", |i| {
            tool_attr(i, "sf:action:apex", "confirmation_required", json!(false))
        }),
        ("SF-AI-010", |i| {
            tool_mut(i, "sf:action:prompt").kind = "action.externalService".into()
        }),
        ("SF-AI-011", |i| {
            tool_attr(i, "sf:template:product", "sensitive_objects", json!(["Lead"]))
        }),
        ("SF-AI-012", |i| {
            tool_attr(i, "sf:template:product", "provider_runs_without_sharing", json!(true))
        }),
        ("SF-AI-013", |i| {
            tool_attr(
                i,
                "sf:template:product",
                "public_free_text_merged",
                json!(["Lead.Description"]),
            )
        }),
        ("SF-AI-014", |i| {
            sf_set(i, "EinsteinAISettings.enableTrustPIIMasking", json!(false))
        }),
        ("SF-AI-015", |i| {
            sf_set(i, "EinsteinAISettings.enableAIFeedbackWithDC", json!(false))
        }),
        ("SF-AI-016", |i| {
            sf_set(
                i,
                "EinsteinAISettings.enableAITrustPromptInjectionDetection",
                json!(false),
            )
        }),
        ("SF-AI-017", |i| {
            sf_set(i, "EinsteinGptSettings.disableAIProviderRegionFallback", json!(false))
        }),
        ("SF-AI-018", |i| {
            tool_attr(i, "sf:trusted_url:docs", "domain_lapsed", json!(true))
        }),
        ("SF-AI-019", |i| {
            tool_attr(i, "sf:trusted_url:docs", "wildcard", json!(true))
        }),
        ("SF-AI-020", |i| {
            tool_attr(i, "sf:trusted_url:docs", "days_since_modified", json!(800))
        }),
        ("SF-AI-021", |i| {
            i.untrusted_inputs[0].reaches.push("salesforce:agent:employee".into())
        }),
        ("SF-AI-022", |i| {
            principal_attr(i, APP, "full_scope", json!(true));
            principal_attr(i, APP, "admin_approved_only", json!(false));
            principal_attr(i, APP, "ip_relaxation", json!("BYPASS"));
        }),
        ("SF-AI-023", |i| {
            principal_attr(i, APP, "run_as_modify_or_view_all_data", json!(true))
        }),
        ("SF-AI-024", |i| {
            principal_attr(i, APP, "agent_api_scopes", json!(["Chatbot"]))
        }),
        ("SF-AI-025", |i| {
            principal_attr(i, APP, "refresh_token_policy", json!("infinite"))
        }),
        ("SF-AI-026", |i| {
            principal_attr(
                i,
                APP,
                "dormant_tokens",
                json!([{"user": "005x", "last_used": "2025-01-01T00:00:00.000+0000"}]),
            )
        }),
        ("SF-AI-027", |i| {
            sf_set(i, "org.DefaultLeadAccess", json!("ReadEditTransfer"))
        }),
        ("SF-AI-028", |i| {
            sf_set(i, "agent_builders", json!({"count": 14, "users": []}))
        }),
        ("SF-AI-029", |i| {
            attr(
                i,
                "salesforce:agent:service",
                "log_private_conversation_data",
                json!(true),
            )
        }),
        ("SF-AI-031", |i| {
            tool_attr(
                i,
                "sf:action:apex",
                "guests_with_class_access",
                json!(["site@acme.example"]),
            )
        }),
        ("SF-AI-032", |i| {
            tool_attr(i, "sf:action:flow", "runs_without_sharing", json!(true))
        }),
        ("SF-AI-033", |i| {
            tool_attr(i, "sf:delegated:quotes", "third_party", json!(true))
        }),
        ("SF-PATH-001", |i| {
            i.untrusted_inputs[0].reaches.push("salesforce:agent:employee".into());
            agent_mut(i, "salesforce:agent:employee")
                .knowledge
                .push("salesforce:object:Lead".into());
            tool_attr(i, "sf:trusted_url:docs", "domain_lapsed", json!(true));
        }),
    ]
}

/// The Google Workspace coverage resources, in the connector's fetch order.
const GOOGLE_PLAN: &[&str] = &[
    "customer",
    "orgunits",
    "users",
    "roles",
    "role_assignments",
    "groups",
    "policies",
    "tokens",
    "admin_events",
    "token_events",
    "gemini_events",
    "notebook_events",
    "agent_events",
];

const GW_APP: &str = "google_workspace:app:418273650912-7kq2d9vbn3m5x8r1t4w6y0z2a4c6e8g0.apps.googleusercontent.com";
const GW_ADMIN: &str = "google_workspace:user:109876543210987654321";
const GW_DWD: &str = "google_workspace:dwd:118273650912345678901";
const GW_GEMINI: &str = "google_workspace:agent:gemini_app";
const GW_NOTEBOOKLM: &str = "google_workspace:agent:notebooklm";

/// A service status as the connector reports it.
fn gw_status(root: &str, everywhere: bool, org_units_on: &[&str]) -> serde_json::Value {
    json!({"root": root, "on_everywhere": everywhere, "on_somewhere": !org_units_on.is_empty(),
           "org_units_on": org_units_on, "groups_on": [], "set_by_admin": true})
}

/// A hardened Google Workspace domain in the connector's shape (contract of the Google
/// Workspace connector): the Gemini app off (with it on, external mail reaches it and the
/// indirect-injection path exists by product behaviour), NotebookLM on for one unit by an
/// admin's decision, third-party apps limited to sign-in, Drive and Gmail restricted, Drive
/// sharing to allowlisted domains, the audit-log settings' latest changes safe and the manual
/// Gemini settings attested with safe values.
fn hardened_google() -> Inventory {
    let coverage: Vec<_> = GOOGLE_PLAN
        .iter()
        .map(|r| json!({"resource": format!("google_workspace.{r}"), "status": "collected", "evidence": "api", "requests": 1, "records": 1, "error": null}))
        .collect();
    let api = |k: &str, v: serde_json::Value| json!({"key": format!("google_workspace.{k}"), "value": v, "scope": "customer", "source": "explicit", "evidence": "api", "as_of": null});
    let audit = |k: &str, v: serde_json::Value| {
        json!({"key": format!("google_workspace.{k}"), "value": v, "scope": "customer", "source": "explicit",
               "evidence": "audit_log_inferred", "as_of": "2026-10-01T09:00:00Z"})
    };
    let manual = |k: &str, v: serde_json::Value| {
        json!({"key": format!("google_workspace.{k}"), "value": v, "scope": "customer", "source": "explicit",
               "evidence": "manual", "as_of": "2026-11-01T00:00:00Z"})
    };
    let latest = |value: &str| json!({"org_unit": "Example Corp", "group": null, "value": value, "time": "2026-10-01T09:00:00Z"});
    let sharing = |mode: &str| {
        json!({"externalSharingMode": mode, "allowPublishingFiles": false, "allowNonGoogleInvites": false,
               "allowNonGoogleInvitesInAllowlistedDomains": false, "allowReceivingExternalFiles": false,
               "allowReceivingFilesOutsideAllowlistedDomains": false, "warnForExternalSharing": true,
               "warnForSharingOutsideAllowlistedDomains": true, "accessCheckerSuggestions": "RECIPIENTS_ONLY",
               "allowedPartiesForDistributingContent": "ELIGIBLE_INTERNAL_USERS"})
    };
    let mut legal_sharing = sharing("DISALLOWED");
    legal_sharing["org_unit"] = json!("/Legal");
    let user = |id: &str, email: &str, org_unit: &str, admin: bool, ai_apps: serde_json::Value| {
        json!({"id": id, "kind": "user", "name": email, "privileged": admin,
               "roles": if admin { json!(["Super Admin"]) } else { json!([]) },
               "attributes": {"email": email, "org_unit": org_unit, "is_admin": admin, "is_delegated_admin": false,
                              "super_admin": admin, "suspended": false,
                              "admin_roles": if admin { json!(["Super Admin"]) } else { json!([]) },
                              "ai_apps": ai_apps.clone(), "ai_apps_with_data_scopes": ai_apps, "tokens_read": true}})
    };
    let app = |id: &str, name: &str, ai: bool, scopes: serde_json::Value, full_drive: bool| {
        json!({"id": id, "kind": "app", "name": name, "privileged": false, "roles": [], "attributes": {
            "client_id": id.trim_start_matches("google_workspace:app:"), "ai": ai, "ai_match": if ai { json!("AI") } else { json!(null) },
            "anonymous": false, "native": false, "scopes": scopes, "full_gmail": false, "full_drive": full_drive,
            "data_scopes": true, "admin_scopes": false, "user_count": 1, "user_share": 0.02,
            "admin_holders": [], "holders": ["dana.ortiz@example.com"], "dwd": false}})
    };
    let agent = |id: &str,
                 kind: &str,
                 name: &str,
                 active: bool,
                 knowledge: serde_json::Value,
                 tools: serde_json::Value,
                 attributes: serde_json::Value| {
        json!({"id": id, "kind": kind, "name": name, "owner": null, "identity": "invoker", "run_as": null, "role_mask": null,
               "audience": [], "audience_unknown": false, "channels": ["workspace"], "autonomy": "supervised", "tools": tools,
               "knowledge": knowledge, "teams": [], "active": active, "last_used": null, "attributes": attributes})
    };
    // Both assistants render links and images in their answers (product behaviour).
    let rendered = json!([{"tool_id": "google_workspace:tool:rendered_links", "autonomy": "autonomous", "active": true, "attributes": {}}]);
    let inventory = json!({
        "provider": "google_workspace", "connection_id": "gw1", "collected_at": "2026-11-25T00:00:00Z",
        "principals": [
            user(GW_ADMIN, "it-admin@example.com", "/IT", true, json!([])),
            user("google_workspace:user:104729385610473829156", "dana.ortiz@example.com", "/Research", false, json!(["MeetNotes AI Assistant"])),
            app(GW_APP, "MeetNotes AI Assistant", true,
                json!(["https://www.googleapis.com/auth/calendar.readonly", "https://www.googleapis.com/auth/userinfo.email", "openid"]), false),
            // Not an AI app: the AI rules do not apply to it, whatever it holds.
            app("google_workspace:app:55501234567-diagrams.apps.googleusercontent.com", "Diagrams", false,
                json!(["https://www.googleapis.com/auth/drive"]), true),
            {"id": GW_DWD, "kind": "service_account", "name": "Domain-wide delegation client 118273650912345678901",
             "privileged": false, "roles": [],
             "attributes": {"client_id": "118273650912345678901", "dwd": true, "dwd_scopes": ["https://www.googleapis.com/auth/calendar"], "broad_scopes": false, "ai": false,
                            "granted_at": "2026-09-14T10:00:00Z", "granted_by": "it-admin@example.com", "seen_in_use": true}},
            {"id": "google_workspace:gw1:all_users", "kind": "authenticated_users", "name": "Every user in the domain",
             "privileged": false, "roles": [], "attributes": {}},
        ],
        "agents": [
            agent(GW_GEMINI, "gemini_app", "Gemini app", false,
                  json!(["google_workspace:drive", "google_workspace:gmail", "google_workspace:calendar"]),
                  rendered.clone(),
                  json!({"on_everywhere": false, "org_units_on": [], "groups_on": [], "set_by_admin": true})),
            agent(GW_NOTEBOOKLM, "notebooklm", "NotebookLM", true, json!(["google_workspace:drive"]), rendered.clone(),
                  json!({"on_everywhere": false, "org_units_on": ["/Research"], "groups_on": [], "set_by_admin": true, "public_notebooks": []})),
        ],
        "tools": [
            {"id": "google_workspace:tool:rendered_links", "kind": "rendered_output", "name": "Links and images in Gemini answers",
             "capabilities": ["send_external"], "targets": [], "active": true, "attributes": {"basis": "product behaviour"}},
        ],
        "data_stores": [
            {"id": "google_workspace:drive", "kind": "drive", "name": "Drive", "sensitivity": "confidential", "external_sharing": "allowlisted_domains", "attributes": {}},
            {"id": "google_workspace:gmail", "kind": "mailbox", "name": "Gmail", "sensitivity": "confidential", "external_sharing": null, "attributes": {}},
            {"id": "google_workspace:calendar", "kind": "calendar", "name": "Calendar", "sensitivity": "internal", "external_sharing": null, "attributes": {}},
        ],
        "grants": [
            {"holder": GW_APP, "target": "google_workspace:calendar", "permission": "https://www.googleapis.com/auth/calendar.readonly",
             "level": "read", "scope": "tenant", "consent": "user"},
        ],
        "settings": [
            api("gemini_app.service_status", gw_status("DISABLED", false, &[])),
            api("notebooklm.service_status", gw_status("DISABLED", false, &["/Research"])),
            api("ai_studio.service_status", gw_status("DISABLED", false, &[])),
            api("colab.service_status", gw_status("DISABLED", false, &[])),
            api("early_access_apps.service_status", gw_status("DISABLED", false, &[])),
            api("experimental_apps.service_status", gw_status("DISABLED", false, &[])),
            api("enterprise_service_restrictions.service_status", gw_status("ENABLED", true, &["/", "/IT", "/Legal", "/Research"])),
            api("search_and_assistant.service_status", gw_status("ENABLED", true, &["/", "/IT", "/Legal", "/Research"])),
            api("drive_and_docs.service_status", gw_status("ENABLED", true, &["/", "/IT", "/Legal", "/Research"])),
            api("drive_and_docs.external_sharing", json!({"root": sharing("ALLOWLISTED_DOMAINS"), "org_units": [legal_sharing], "groups": []})),
            api("drive_and_docs.general_access_default", json!({"root": {"defaultFileAccess": "PRIVATE_TO_OWNER"}, "org_units": [], "groups": []})),
            api("drive_and_docs.drive_sdk", json!({"root": {"enableDriveSdkApiAccess": false}, "org_units": [], "groups": []})),
            api("api_controls.unconfigured_third_party_apps", json!({
                "root": {"accessLevel": "SIGN_IN_ONLY", "accessLevelUnder18": "ACCESS_LEVEL_UNDER18_UNSPECIFIED"},
                "org_units": [{"org_unit": "/Legal", "accessLevel": "BLOCK_ALL", "accessLevelUnder18": "ACCESS_LEVEL_UNDER18_UNSPECIFIED"}],
                "groups": []})),
            api("api_controls.internal_apps", json!({"root": {"trustInternalApps": false}, "org_units": [], "groups": []})),
            api("api_controls.google_services", json!({"root": {
                "services": [{"scopesGroup": "DRIVE_ALL", "isEnabled": false}, {"scopesGroup": "GMAIL_ALL", "isEnabled": false}],
                "restricted": ["DRIVE", "GMAIL"], "high_risk_only": []}, "org_units": [], "groups": []})),
            api("api_controls.app_approval_requests", json!({"root": {"allowedForAll": "DISABLED"}, "org_units": [], "groups": []})),
            api("workspace_marketplace.apps_access_options", json!({"root": {"accessLevel": "ALLOW_LISTED_APPS", "allowAllInternalApps": false}, "org_units": [], "groups": []})),
            api("calendar.external_invitations", json!({"root": {"warnOnInvite": true}, "org_units": [], "groups": []})),
            audit("gemini_app.regardless_of_license", json!([latest("false")])),
            audit("gemini.beta_features", json!([latest("false")])),
            audit("gemini.multi_region_processing", json!([latest("DISABLED")])),
            audit("gemini_app.conversation_sharing", json!([latest("NONE"),
                {"org_unit": null, "group": "ai-pilot@example.com", "value": "ENTERPRISE_SHARING", "time": "2026-10-02T09:00:00Z"}])),
            audit("new_services_auto_enabled", json!([latest("false")])),
            manual("gemini_app.conversation_history", json!({"history_on": true, "retention_months": 18})),
            manual("gemini_app.temporary_chats", json!(false)),
        ],
        "untrusted_inputs": [
            {"id": "google_workspace:input:external_email", "kind": "inbound_email", "name": "Email from outside the domain",
             "reaches": [], "unauthenticated": true, "attributes": {}},
            {"id": "google_workspace:input:shared_documents", "kind": "shared_document", "name": "Files shared from outside the domain",
             "reaches": [], "unauthenticated": false, "attributes": {}},
            {"id": "google_workspace:input:calendar_invites", "kind": "calendar_invite", "name": "Calendar invitations from outside the domain",
             "reaches": [], "unauthenticated": true, "attributes": {"warn_on_invite": true}},
        ],
        "teams": [],
        "coverage": coverage,
    });
    serde_json::from_value(inventory).expect("fixture matches the model")
}

fn gw_setting<'a>(inv: &'a mut Inventory, key: &str) -> &'a mut AiSetting {
    let key = format!("google_workspace.{key}");
    inv.settings
        .iter_mut()
        .find(|s| s.key == key)
        .unwrap_or_else(|| panic!("no setting {key}"))
}

/// The value of a Google Workspace setting, to change in place.
fn gw_value<'a>(inv: &'a mut Inventory, key: &str) -> &'a mut serde_json::Value {
    &mut gw_setting(inv, key).value
}

/// The latest audit-log change of a setting, one entry for the top organisational unit.
fn gw_latest(inv: &mut Inventory, key: &str, value: &str) {
    *gw_value(inv, key) =
        json!([{"org_unit": "Example Corp", "group": null, "value": value, "time": "2026-11-20T09:00:00Z"}]);
}

/// Gemini app on for the Sales unit, as the connector models it: the agent is active and mail
/// from outside reaches it.
fn gw_gemini_on(inv: &mut Inventory) {
    *gw_value(inv, "gemini_app.service_status") = gw_status("DISABLED", false, &["/Sales"]);
    let gemini = agent_mut(inv, GW_GEMINI);
    gemini.active = true;
    gemini.attributes.insert("org_units_on".into(), json!(["/Sales"]));
    input_mut(inv, "google_workspace:input:external_email")
        .reaches
        .push(GW_GEMINI.into());
}

fn gw_workspace_agent(owner_in_domain: bool) -> Agent {
    serde_json::from_value(json!({
        "id": "google_workspace:agent:audit:agent-7f3a", "kind": "workspace_agent", "name": "Expense filer",
        "owner": if owner_in_domain { "dana.ortiz@example.com" } else { "builder@partner.example" },
        "identity": "unknown", "run_as": null, "role_mask": null, "audience": [], "audience_unknown": true,
        "channels": [], "autonomy": "autonomous", "tools": [], "knowledge": [], "teams": [], "active": true,
        "last_used": "2026-11-20T10:00:00Z",
        "attributes": {"agent_type": "WORKSPACE_FLOW", "owner_in_domain": owner_in_domain, "applications": ["drive", "gmail"],
                       "event_names": ["view", "send"], "events": 42, "resources_touched": ["Q3 expenses"]}}))
    .unwrap()
}

fn google_cases() -> Vec<(&'static str, Break)> {
    vec![
        ("GWS-AI-001", |i| {
            principal_attr(i, GW_APP, "full_drive", json!(true));
            principal_attr(
                i,
                GW_APP,
                "scopes",
                json!(["https://www.googleapis.com/auth/drive", "openid"]),
            );
        }),
        ("GWS-AI-026", |i| {
            principal_attr(i, GW_APP, "full_gmail", json!(true));
            principal_attr(i, GW_APP, "admin_holders", json!(["it-admin@example.com"]));
        }),
        ("GWS-AI-002", |i| principal_attr(i, GW_APP, "anonymous", json!(true))),
        ("GWS-AI-003", |i| {
            principal_attr(i, GW_APP, "native", json!(true));
            principal_attr(
                i,
                GW_APP,
                "scopes",
                json!(["https://www.googleapis.com/auth/drive.file"]),
            );
        }),
        ("GWS-AI-030", |i| principal_attr(i, GW_APP, "admin_scopes", json!(true))),
        ("GWS-AI-004", |i| {
            gw_value(i, "api_controls.unconfigured_third_party_apps")["org_units"]
                .as_array_mut()
                .unwrap()
                .push(json!({"org_unit": "/Contractors", "accessLevel": "ALLOW_ALL", "accessLevelUnder18": "ACCESS_LEVEL_UNDER18_UNSPECIFIED"}));
        }),
        ("GWS-AI-005", |i| {
            gw_value(i, "api_controls.google_services")["root"]["restricted"] = json!(["DRIVE"])
        }),
        ("GWS-AI-006", |i| {
            gw_value(i, "api_controls.google_services")["root"]["high_risk_only"] = json!(["DRIVE"])
        }),
        ("GWS-AI-007", |i| {
            // A group-scoped policy overrides the organisational units.
            gw_value(i, "api_controls.internal_apps")["groups"] =
                json!([{"group": "devs@example.com", "trustInternalApps": true}])
        }),
        ("GWS-AI-008", |i| {
            gw_value(i, "workspace_marketplace.apps_access_options")["root"]["accessLevel"] = json!("ALLOW_ALL")
        }),
        ("GWS-AI-009", |i| {
            principal_attr(i, GW_DWD, "broad_scopes", json!(true));
            principal_attr(i, GW_DWD, "dwd_scopes", json!(["https://mail.google.com/"]));
        }),
        ("GWS-AI-010", |i| {
            *gw_value(i, "gemini_app.service_status") = gw_status("ENABLED", true, &["/", "/IT", "/Legal", "/Research"])
        }),
        ("GWS-AI-011", |i| {
            gw_latest(i, "gemini_app.regardless_of_license", "true")
        }),
        ("GWS-AI-012", |i| gw_latest(i, "gemini.beta_features", "true")),
        ("GWS-AI-013", |i| {
            *gw_value(i, "experimental_apps.service_status") = gw_status("DISABLED", false, &["/Research"])
        }),
        ("GWS-AI-014", |i| {
            *gw_value(i, "enterprise_service_restrictions.service_status") = gw_status("DISABLED", false, &[])
        }),
        ("GWS-AI-015", |i| {
            let v = gw_value(i, "ai_studio.service_status");
            *v = gw_status("ENABLED", true, &["/", "/IT", "/Legal", "/Research"]);
            v["set_by_admin"] = json!(false);
        }),
        ("GWS-AI-016", |i| {
            gw_gemini_on(i);
            let root = &mut gw_value(i, "drive_and_docs.external_sharing")["root"];
            root["externalSharingMode"] = json!("ALLOWED");
            root["allowPublishingFiles"] = json!(true);
        }),
        ("GWS-AI-017", |i| {
            gw_latest(i, "gemini_app.conversation_sharing", "CONSUMER_SHARING")
        }),
        ("GWS-AI-018", |i| {
            *gw_value(i, "gemini_app.conversation_history") = json!({"history_on": true, "retention_months": 3})
        }),
        ("GWS-AI-019", |i| {
            gw_latest(i, "gemini.multi_region_processing", "ENABLED")
        }),
        ("GWS-AI-020", |i| {
            gw_value(i, "calendar.external_invitations")["root"]["warnOnInvite"] = json!(false)
        }),
        ("GWS-AI-021", |i| {
            gw_value(i, "drive_and_docs.drive_sdk")["root"]["enableDriveSdkApiAccess"] = json!(true)
        }),
        ("GWS-AI-022", |i| {
            principal_attr(i, GW_ADMIN, "ai_apps", json!(["MeetNotes AI Assistant"]))
        }),
        ("GWS-AI-024", |i| {
            gw_value(i, "api_controls.app_approval_requests")["root"]["allowedForAll"] = json!("ENABLED")
        }),
        ("GWS-AI-025", |i| gw_latest(i, "new_services_auto_enabled", "true")),
        ("GWS-AI-027", |i| i.agents.push(gw_workspace_agent(true))),
        ("GWS-AI-028", |i| i.agents.push(gw_workspace_agent(false))),
        ("GWS-AI-029", |i| {
            attr(
                i,
                GW_NOTEBOOKLM,
                "public_notebooks",
                json!([{"title": "Board pack Q3", "id": "nb-91", "visibility": "anyone_with_link",
                        "actor": "dana.ortiz@example.com", "time": "2026-11-02T12:00:00Z"}]),
            )
        }),
        ("GWS-AI-031", |i| {
            *gw_value(i, "gemini_app.temporary_chats") = json!(true)
        }),
        ("GWS-PATH-001", gw_gemini_on),
    ]
}

#[test]
fn unattested_manual_gemini_settings_are_not_assessed() {
    let rules = RuleSet::builtin().unwrap();
    let mut inv = hardened_google();
    for key in ["gemini_app.conversation_history", "gemini_app.temporary_chats"] {
        let s = gw_setting(&mut inv, key);
        s.value = serde_json::Value::Null;
        s.evidence = Evidence::Manual;
        s.as_of = None;
    }
    for rule in ["GWS-AI-018", "GWS-AI-031"] {
        let r = outcomes(&rules, &inv, rule);
        assert_eq!(r.len(), 1, "{rule}: {r:?}");
        assert_eq!(r[0].1, Outcome::NotAssessed, "{rule}: {r:?}");
        assert!(r[0].2.as_deref().unwrap().contains("Admin console"), "{rule}: {r:?}");
    }
}

#[test]
fn audit_log_settings_without_a_change_in_180_days_are_not_assessed() {
    let rules = RuleSet::builtin().unwrap();
    let mut inv = hardened_google();
    for key in [
        "gemini_app.regardless_of_license",
        "gemini.beta_features",
        "gemini_app.conversation_sharing",
        "gemini.multi_region_processing",
        "new_services_auto_enabled",
    ] {
        let s = gw_setting(&mut inv, key);
        s.value = serde_json::Value::Null;
        s.evidence = Evidence::Unavailable;
        s.as_of = None;
    }
    for rule in ["GWS-AI-011", "GWS-AI-012", "GWS-AI-017", "GWS-AI-019", "GWS-AI-025"] {
        let r = outcomes(&rules, &inv, rule);
        assert_eq!(r.len(), 1, "{rule}: {r:?}");
        assert_eq!(r[0].1, Outcome::NotAssessed, "{rule}: {r:?}");
        assert!(r[0].2.as_deref().unwrap().contains("180-day"), "{rule}: {r:?}");
    }
}

#[test]
fn google_policy_settings_that_were_not_read_are_not_assessed() {
    // The Policy API answered nothing (the coverage record says collected, e.g. a partial
    // read): no rule on a Policy API setting may pass on the absence.
    let rules = RuleSet::builtin().unwrap();
    let mut inv = hardened_google();
    inv.settings.retain(|s| s.evidence != Evidence::Api);
    for rule in [
        "GWS-AI-004",
        "GWS-AI-005",
        "GWS-AI-006",
        "GWS-AI-007",
        "GWS-AI-008",
        "GWS-AI-010",
        "GWS-AI-013",
        "GWS-AI-014",
        "GWS-AI-015",
        "GWS-AI-016",
        "GWS-AI-020",
        "GWS-AI-021",
        "GWS-AI-024",
    ] {
        let r = outcomes(&rules, &inv, rule);
        assert_eq!(r.len(), 1, "{rule}: {r:?}");
        assert_eq!(r[0].1, Outcome::NotAssessed, "{rule}: {r:?}");
        assert!(r[0].2.as_deref().unwrap().contains("Policy API"), "{rule}: {r:?}");
    }
}

#[test]
fn an_admin_whose_tokens_were_not_read_is_not_assessed() {
    let rules = RuleSet::builtin().unwrap();
    let mut inv = hardened_google();
    principal_attr(&mut inv, GW_ADMIN, "tokens_read", json!(false));
    let r = outcomes(&rules, &inv, "GWS-AI-022");
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].1, Outcome::NotAssessed, "{r:?}");
}

#[test]
fn the_gemini_injection_path_runs_from_external_mail_through_gemini_to_rendered_links() {
    let rules = RuleSet::builtin().unwrap();
    let mut inv = hardened_google();
    gw_gemini_on(&mut inv);
    let eval = evaluate(&rules, &[inv], chrono::Utc::now());
    let f = eval.findings.iter().find(|f| f.rule_id == "GWS-PATH-001").unwrap();
    let ids: Vec<&str> = f.path.as_ref().unwrap().nodes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "google_workspace:input:external_email",
            GW_GEMINI,
            "google_workspace:tool:rendered_links",
            "gw1:external"
        ]
    );
    assert!(
        f.evidence["also_reaches"].to_string().contains("google_workspace:"),
        "{}",
        f.evidence
    );
}

#[test]
fn files_shared_in_from_outside_reach_notebooklm_on_the_same_path() {
    let rules = RuleSet::builtin().unwrap();
    let mut inv = hardened_google();
    gw_value(&mut inv, "drive_and_docs.external_sharing")["root"]["allowReceivingExternalFiles"] = json!(true);
    input_mut(&mut inv, "google_workspace:input:shared_documents")
        .reaches
        .push(GW_NOTEBOOKLM.into());
    let eval = evaluate(&rules, &[inv], chrono::Utc::now());
    let f = eval.findings.iter().find(|f| f.rule_id == "GWS-PATH-001").unwrap();
    let ids: Vec<&str> = f.path.as_ref().unwrap().nodes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids[..2], ["google_workspace:input:shared_documents", GW_NOTEBOOKLM]);
}

#[test]
fn google_the_connections_own_delegation_grant_is_not_judged() {
    // aispm's service account shows in the admin log like any other delegated client.
    let rules = RuleSet::builtin().unwrap();
    let mut inv = hardened_google();
    principal_attr(&mut inv, GW_DWD, "broad_scopes", json!(true));
    principal_attr(&mut inv, GW_DWD, "this_connection", json!(true));
    let r = outcomes(&rules, &inv, "GWS-AI-009");
    assert!(!r.iter().any(|(_, o, _)| *o == Outcome::Fail), "{r:?}");
}
