//! Effective AI settings (reference §2.6, §2.8, §2.9, §2.12, §9.1, §9.4). Nothing is reported
//! for a table that could not be read, so rules that need it come out `not_assessed` instead of
//! passing on defaults.

use super::access::{AclKind, Acls};
use super::{collected, flag, records, text, P};
use crate::Parts;
use schemas::*;
use serde_json::{json, Value};
use std::collections::HashMap;

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

fn setting(key: String, value: Value, source: SettingSource) -> AiSetting {
    AiSetting {
        key,
        value,
        scope: "instance".into(),
        source,
        evidence: Evidence::Api,
        as_of: None,
    }
}

/// Effective AI settings. Nothing is reported for a table that could not be read, so rules that
/// need it come out `not_assessed` instead of passing on defaults.
pub fn settings(parts: &Parts, acls: &Acls) -> Vec<AiSetting> {
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
        let permissive = [AclKind::Agent, AclKind::Workflow]
            .into_iter()
            .any(|k| acls.wildcard_permissive(k));
        out.push(setting(
            format!("{P}.acl.wildcard_gen_ai_permissive"),
            json!(permissive),
            SettingSource::Explicit,
        ));
    }
    if collected(parts, "sys_generative_ai_provider_mapping") {
        // The display name and OEM/BYOK come from the referenced sys_gen_ai_provider (§9.4);
        // `provider` is only the mapping's own name.
        let providers: Vec<Value> = records(parts, "sys_generative_ai_provider_mapping")
            .iter()
            .map(|r| {
                let display = text(r, "gen_ai_provider.gen_ai_provider");
                let integration = text(r, "gen_ai_provider.integration_type");
                json!({
                    "provider": if display.is_empty() { text(r, "provider") } else { display },
                    "mapping": text(r, "provider"),
                    "external": flag(r, "external"),
                    "active": text(r, "active") != "false",
                    "integration_type": integration,
                    "byok": integration.to_ascii_lowercase().contains("byok"),
                })
            })
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

pub fn setting_value<'a>(settings: &'a [AiSetting], key: &str) -> Option<&'a Value> {
    settings.iter().find(|s| s.key == key).map(|s| &s.value)
}
