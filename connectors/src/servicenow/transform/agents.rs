//! The invokable AI units: agents (§2.1, §9.4), agentic workflows (§2.3) and Now Assist skills
//! (§2.8, §9.1, §9.4), each with who may invoke it, whose identity it uses and its role mask.

use super::access::{mask_has_elevated, AclKind, Acls, Audience, Roles};
use super::tools::Catalog;
use super::{agent_id, collected, effective, flag, records, text, user_id, workflow_id, P, USER_WRITTEN_TABLES};
use crate::Parts;
use schemas::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

type Masks = HashMap<String, Option<Vec<String>>>;

/// Roles that every signed-in user of the Now Assist panel holds, or that every internal user
/// holds: a skill shown to them is shown to everyone.
const PANEL_ROLES_FOR_ALL: &[&str] = &["now_assist_panel_user", "snc_internal", "public", "user"];

pub fn skill_id(sys_id: &str) -> String {
    format!("{P}:skill:{sys_id}")
}

/// The attributes every invokable unit reports about its audience and role mask.
fn access_attributes(
    audience: &Audience,
    masks: &Masks,
    masks_read: bool,
    sys_id: &str,
    roles: &Roles,
) -> Vec<(String, Value)> {
    vec![
        ("has_own_acl".into(), json!(audience.own_acl)),
        ("audience_reason".into(), json!(audience.unknown)),
        (
            "audience_possibly_public".into(),
            json!(audience.possibly_public.is_some()),
        ),
        (
            "audience_possibly_public_reason".into(),
            json!(audience.possibly_public),
        ),
        ("role_mask_read".into(), json!(masks_read)),
        ("role_mask_configured".into(), json!(masks.contains_key(sys_id))),
        (
            "role_mask_has_elevated".into(),
            json!(mask_has_elevated(masks, sys_id, roles)),
        ),
    ]
}

pub struct Context<'a> {
    pub parts: &'a Parts,
    pub roles: &'a Roles,
    pub acls: &'a Acls,
    pub masks: &'a Masks,
    pub catalog: &'a Catalog,
}

impl Context<'_> {
    fn masks_read(&self) -> bool {
        collected(self.parts, "sys_agent_access_role_configuration")
    }
}

/// `sn_aia_agent` joined with its (effective) config, bindings, teams, ACLs, mask and activity.
pub fn agents(cx: &Context, run_as_ids: &mut BTreeSet<String>) -> Vec<Agent> {
    let parts = cx.parts;
    let configs: HashMap<&str, &Value> = effective(records(parts, "sn_aia_agent_config"))
        .into_iter()
        .map(|c| (text(c, "agent"), c))
        .collect();
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
    let mut out = Vec::new();
    for a in records(parts, "sn_aia_agent") {
        let sys_id = text(a, "sys_id");
        let config = configs.get(sys_id);
        let run_as = config.map(|c| text(c, "run_as_user")).unwrap_or("");
        if !run_as.is_empty() {
            run_as_ids.insert(run_as.to_string());
        }
        let audience = cx
            .acls
            .audience(AclKind::Agent, text(a, "acl"), text(a, "internal_name"));
        let tool_bindings = cx.catalog.bindings.get(sys_id).cloned().unwrap_or_default();
        let channels = match text(a, "channel") {
            "nap" => vec!["now_assist_panel".to_string()],
            "" | "nap_and_va" => vec!["now_assist_panel".to_string(), "virtual_agent".to_string()],
            other => vec![other.to_string()],
        };
        let reads: Vec<&String> = tool_bindings
            .iter()
            .filter(|b| b.active)
            .filter_map(|b| cx.catalog.reads.get(&b.tool_id))
            .flatten()
            .collect();
        let reads_unknown = tool_bindings
            .iter()
            .filter(|b| b.active)
            .find_map(|b| cx.catalog.reads_unknown.get(&b.tool_id));
        let reads_user = reads.iter().any(|t| USER_WRITTEN_TABLES.contains(&t.as_str()));
        // Unknown sources: whether it reads user-written records is unknown, unless it surely does.
        let reads_user_content = if reads_user || reads_unknown.is_none() {
            json!(reads_user)
        } else {
            Value::Null
        };
        let knowledge: Vec<String> = reads
            .iter()
            .map(|t| super::table_id(t))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        // The SDK takes `active` from the agent; the config has its own. Both must be on.
        let active = text(a, "active") != "false" && config.is_none_or(|c| text(c, "active") != "false");
        let external = flag(a, "external")
            || text(a, "agent_type") == "external"
            || !text(a, "external_agent_configuration").is_empty();
        let mut attributes: BTreeMap<String, Value> = [
            ("agent_type".to_string(), json!(text(a, "agent_type"))),
            ("internal_name".to_string(), json!(text(a, "internal_name"))),
            ("external".to_string(), json!(external)),
            (
                "public_flag".to_string(),
                json!(config.is_some_and(|c| flag(c, "public"))),
            ),
            ("activity_read".to_string(), json!(activity_read)),
            ("reads_user_content".to_string(), reads_user_content),
            ("reads_user_content_reason".to_string(), json!(reads_unknown)),
            ("created_on".to_string(), json!(text(a, "sys_created_on"))),
        ]
        .into_iter()
        .collect();
        attributes.extend(access_attributes(
            &audience,
            cx.masks,
            cx.masks_read(),
            sys_id,
            cx.roles,
        ));
        out.push(Agent {
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
            role_mask: cx.masks.get(sys_id).cloned().flatten(),
            audience: audience.principals.clone(),
            audience_unknown: audience.unknown.is_some(),
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
            active,
            last_used: last_run.get(sys_id).cloned(),
            attributes,
        });
    }
    out
}

/// Agentic workflows: they orchestrate their team's agents.
pub fn workflows(cx: &Context, run_as_ids: &mut BTreeSet<String>) -> Vec<Agent> {
    let overrides: HashMap<&str, &Value> = records(cx.parts, "sn_aia_usecase_config_override")
        .iter()
        .filter(|o| text(o, "active") != "false")
        .map(|o| (text(o, "usecase_configuration"), o))
        .collect();
    let mut out = Vec::new();
    for w in records(cx.parts, "sn_aia_usecase") {
        let sys_id = text(w, "sys_id");
        let run_as = overrides.get(sys_id).map(|o| text(o, "run_as_user")).unwrap_or("");
        if !run_as.is_empty() {
            run_as_ids.insert(run_as.to_string());
        }
        let audience = cx
            .acls
            .audience(AclKind::Workflow, text(w, "acl"), text(w, "internal_name"));
        let mut attributes: BTreeMap<String, Value> = [
            ("internal_name".to_string(), json!(text(w, "internal_name"))),
            ("public_flag".to_string(), json!(false)),
            ("reads_user_content".to_string(), json!(false)),
            ("activity_read".to_string(), json!(false)),
        ]
        .into_iter()
        .collect();
        attributes.extend(access_attributes(
            &audience,
            cx.masks,
            cx.masks_read(),
            sys_id,
            cx.roles,
        ));
        out.push(Agent {
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
            role_mask: cx.masks.get(sys_id).cloned().flatten(),
            audience: audience.principals.clone(),
            audience_unknown: audience.unknown.is_some(),
            channels: vec![],
            autonomy: if text(w, "execution_mode") == "autopilot" {
                Autonomy::Autonomous
            } else {
                Autonomy::Supervised
            },
            tools: vec![],
            knowledge: vec![],
            // The workflow orchestrates its team (see `Team::orchestrators`); it is not a member.
            teams: vec![],
            active: text(w, "active") != "false",
            last_used: None,
            attributes,
        });
    }
    out
}

/// Whether a skill is switched on: published (`state` 1) and its status row active. The
/// activation column of `sn_nowassist_skill_config_status` is not in ServiceNow's SDK, so each
/// known spelling is tried and none found means unknown.
fn skill_activation(config: &Value, statuses: &[&Value]) -> Option<bool> {
    if text(config, "state") != "1" {
        return Some(false);
    }
    let mut known = None;
    for s in statuses {
        for column in ["active", "status", "state"] {
            match text(s, column) {
                "" => {}
                "true" | "1" | "active" | "published" => return Some(true),
                _ => known = Some(false),
            }
        }
    }
    known
}

/// Now Assist skills: published and activated, shown in the Now Assist panel to the roles of
/// its applicability, masked by a role mask like agents.
pub fn skills(cx: &Context) -> Vec<Agent> {
    let parts = cx.parts;
    if !collected(parts, "sn_nowassist_skill_config") {
        return Vec::new();
    }
    let mut statuses: HashMap<&str, Vec<&Value>> = HashMap::new();
    for s in records(parts, "sn_nowassist_skill_config_status") {
        statuses.entry(text(s, "skill_config")).or_default().push(s);
    }
    let status_read = collected(parts, "sn_nowassist_skill_config_status");
    let applicability: HashMap<&str, &Value> = effective(records(parts, "sys_gen_ai_skill_applicability"))
        .into_iter()
        .map(|r| (text(r, "sys_id"), r))
        .collect();
    // sys_gen_ai_skill links the panel records to the capability behind a skill config.
    let panel_skill: HashMap<&str, &str> = effective(records(parts, "sys_gen_ai_skill"))
        .into_iter()
        .map(|s| (text(s, "skill_document"), text(s, "sys_id")))
        .collect();
    let applicability_by_skill: HashMap<&str, &Value> =
        applicability.values().map(|r| (text(r, "skill_id"), *r)).collect();
    let panel_config: HashMap<&str, &Value> = effective(records(parts, "sys_gen_ai_skill_config"))
        .into_iter()
        .map(|r| (text(r, "skill_id"), r))
        .collect();
    let panel_read = collected(parts, "sys_gen_ai_skill_applicability") && collected(parts, "sys_gen_ai_skill");
    let mut out = Vec::new();
    for s in effective(records(parts, "sn_nowassist_skill_config")) {
        let sys_id = text(s, "sys_id");
        let activation = if status_read || text(s, "state") != "1" {
            skill_activation(s, statuses.get(sys_id).map(Vec::as_slice).unwrap_or(&[]))
        } else {
            None
        };
        let gen_ai_skill = panel_skill.get(text(s, "skill_id")).copied().unwrap_or("");
        let applies = applicability
            .get(text(s, "nap_skill_applicability"))
            .or_else(|| applicability_by_skill.get(gen_ai_skill))
            .copied();
        let panel = panel_config.get(gen_ai_skill).copied();
        // Shown in the panel unless its config hides it (both flags default to true).
        let shown = panel.is_none_or(|c| text(c, "discoverable") != "false" && text(c, "visible") != "false");
        let (panel_roles, open_to_all): (Vec<String>, Value) = match applies {
            Some(a) if text(a, "condition_mode") == "advanced" => (vec![], Value::Null),
            Some(a) => {
                let roles: Vec<String> = text(a, "roles")
                    .split(',')
                    .map(str::trim)
                    .filter(|r| !r.is_empty())
                    .map(str::to_string)
                    .collect();
                let all = roles.is_empty() || roles.iter().any(|r| PANEL_ROLES_FOR_ALL.contains(&r.as_str()));
                (roles, json!(shown && all))
            }
            None if panel_read => (vec![], json!(false)),
            None => (vec![], Value::Null),
        };
        let audience = cx.acls.audience(AclKind::Skill, "", text(s, "internal_name"));
        let mut attributes: BTreeMap<String, Value> = [
            ("internal_name".to_string(), json!(text(s, "internal_name"))),
            ("state".to_string(), json!(text(s, "state"))),
            ("published".to_string(), json!(text(s, "state") == "1")),
            ("activation_known".to_string(), json!(activation.is_some())),
            ("panel_roles".to_string(), json!(panel_roles)),
            ("panel_open_to_all".to_string(), open_to_all.clone()),
            ("public_flag".to_string(), json!(false)),
            ("reads_user_content".to_string(), json!(false)),
            ("activity_read".to_string(), json!(false)),
        ]
        .into_iter()
        .collect();
        attributes.extend(access_attributes(
            &audience,
            cx.masks,
            cx.masks_read(),
            sys_id,
            cx.roles,
        ));
        out.push(Agent {
            id: skill_id(sys_id),
            kind: "now_assist_skill".into(),
            name: text(s, "name").to_string(),
            owner: None,
            identity: RunIdentity::Invoker,
            run_as: None,
            role_mask: cx.masks.get(sys_id).cloned().flatten(),
            audience: audience.principals.clone(),
            audience_unknown: audience.unknown.is_some(),
            channels: if open_to_all == json!(true) || !panel_roles_empty(applies) {
                vec!["now_assist_panel".into()]
            } else {
                vec![]
            },
            autonomy: Autonomy::Supervised,
            tools: vec![],
            knowledge: vec![],
            teams: vec![],
            active: activation.unwrap_or(text(s, "state") == "1"),
            last_used: None,
            attributes,
        });
    }
    out
}

fn panel_roles_empty(applies: Option<&Value>) -> bool {
    applies.is_none_or(|a| text(a, "roles").trim().is_empty())
}
