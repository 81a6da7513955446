//! How outside content reaches agents (reference §2.3, §2.11, §4, §9.3, §9.4): triggers, the
//! user-written records agents read, Virtual Agent providers and the public web chat.

use super::settings::setting_value;
use super::{agent_id, effective, flag, records, text, workflow_id, P, USER_WRITTEN_TABLES};
use crate::Parts;
use schemas::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

/// Columns of a task record that hold the person who raised it: a trigger that runs as one of
/// them runs with whatever identity the record's author put there.
const AUTHOR_COLUMNS: &[&str] = &[
    "caller_id",
    "opened_by",
    "requested_for",
    "sys_created_by",
    "contact",
    "u_caller",
];

/// What a trigger's `trigger_flow_definition_type` makes it (§9.3): record changes, email,
/// schedules, or a person pressing a UI action.
fn trigger_kind(kind: &str) -> &'static str {
    match kind {
        "email" => "inbound_email",
        "record_create" | "record_update" | "record_create_or_update" => "record_trigger",
        "scheduled" | "daily" | "weekly" | "monthly" => "scheduled_trigger",
        "ui_action" => "ui_action_trigger",
        _ => "trigger",
    }
}

/// Active triggers and what each reaches: the workflow in `usecase`, and the agents (or
/// workflows) linked through `sn_aia_trigger_agent_usecase_m2m` (§9.4).
fn triggers(parts: &Parts) -> Vec<UntrustedInput> {
    let mut linked: HashMap<&str, Vec<String>> = HashMap::new();
    for link in effective(records(parts, "sn_aia_trigger_agent_usecase_m2m")) {
        if text(link, "active") == "false" && text(link, "related_resource_table") == "sn_aia_agent" {
            continue;
        }
        let record = text(link, "related_resource_record");
        let target = match text(link, "related_resource_table") {
            "sn_aia_agent" => agent_id(record),
            "sn_aia_usecase" => workflow_id(record),
            _ => continue,
        };
        linked
            .entry(text(link, "trigger_configuration"))
            .or_default()
            .push(target);
    }
    let mut out = Vec::new();
    for trigger in effective(records(parts, "sn_aia_trigger_configuration")) {
        if !flag(trigger, "active") {
            continue;
        }
        let sys_id = text(trigger, "sys_id");
        let table = text(trigger, "target_table");
        let definition = text(trigger, "trigger_flow_definition_type");
        let kind = trigger_kind(definition);
        let outside = USER_WRITTEN_TABLES.contains(&table) || kind == "inbound_email";
        let mut reaches: Vec<String> = linked.remove(sys_id).unwrap_or_default();
        let usecase = text(trigger, "usecase");
        if !usecase.is_empty() {
            reaches.push(workflow_id(usecase));
        }
        reaches.sort();
        reaches.dedup();
        let run_as_column = text(trigger, "run_as");
        out.push(UntrustedInput {
            id: format!("{P}:trigger:{sys_id}"),
            kind: kind.into(),
            name: format!("{} (on {table})", text(trigger, "name")),
            reaches,
            unauthenticated: false,
            attributes: [
                ("target_table".to_string(), json!(table)),
                ("trigger_type".to_string(), json!(definition)),
                ("trigger_strategy".to_string(), json!(text(trigger, "trigger_strategy"))),
                ("user_written_content".to_string(), json!(outside)),
                ("run_as_user".to_string(), json!(text(trigger, "run_as_user"))),
                ("run_as_column".to_string(), json!(run_as_column)),
                (
                    "runs_as_record_author".to_string(),
                    json!(AUTHOR_COLUMNS.contains(&run_as_column)),
                ),
                (
                    "run_as_script".to_string(),
                    json!(!text(trigger, "run_as_script").is_empty()),
                ),
            ]
            .into_iter()
            .collect(),
        });
    }
    out
}

/// How outside content reaches agents: record triggers, chat providers, public chat, tickets.
pub fn untrusted_inputs(parts: &Parts, agents: &[Agent], settings: &[AiSetting]) -> Vec<UntrustedInput> {
    let mut out = Vec::new();
    let active_agents: Vec<String> = agents
        .iter()
        .filter(|a| a.active && a.kind == "now_assist_agent")
        .map(|a| a.id.clone())
        .collect();

    out.extend(triggers(parts));
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
