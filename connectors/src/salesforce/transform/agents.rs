//! Agents and what they can do (reference §2.1–§2.3, §2.9, §8.3, §8.4, §8.7, §9.1, §9.3):
//! bots and their active versions; the planner each uses (from Bot metadata, §9.1.3); its
//! topics and actions; what each action runs (Apex and its sharing mode, a prompt template and
//! what it grounds on, a flow, an outbound service); where each agent is reachable (Experience
//! sites through `NetworkBotDefinition`, messaging channels through `SessionHandlerId`,
//! deployments that let guests in); the org's Trusted URLs, which every agent's answer may
//! load content from (ForcedLeak's exit, §4.1).

use super::access::{days_since, UserRights};
use super::{collected, flag, list, object_id, org_users, rows, text, user_id, P, SENSITIVE_OBJECTS};
use crate::Parts;
use schemas::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

pub fn agent_id(bot_id: &str) -> String {
    format!("{P}:agent:{bot_id}")
}

fn action_id(id: &str) -> String {
    format!("{P}:action:{id}")
}

fn template_id(name: &str) -> String {
    format!("{P}:prompt_template:{name}")
}

fn trusted_url_id(id: &str) -> String {
    format!("{P}:trusted_url:{id}")
}

fn external_agent_id(id: &str) -> String {
    format!("{P}:external_agent:{id}")
}

/// Apex saved at 67.0 or later without a sharing keyword runs with sharing; earlier, an entry
/// point without one runs without sharing (§8.7).
pub const WITH_SHARING_DEFAULT_FROM: f64 = 67.0;

/// Action types that send data out of the org (SF-AI-010, with §9.1.7's additions).
pub const OUTBOUND_ACTIONS: &[&str] = &[
    "externalService",
    "mcpTool",
    "platformMcpTool",
    "slack",
    "api",
    "apexRest",
    "externalConnector",
    "byot",
];

/// Long free-text fields that the public fills in (Web-to-Lead, Web-to-Case, Email-to-Case):
/// merged into a prompt they are instructions an attacker wrote (SF-AI-013, §4.1).
pub const PUBLIC_FREE_TEXT: &[&str] = &[
    "Lead.Description",
    "Case.Description",
    "Case.Subject",
    "EmailMessage.TextBody",
    "EmailMessage.HtmlBody",
    "Lead.Company",
];

/// A prompt template record from the Connect REST list (§8.3), in the Tooling shape.
pub fn prompt_record(record: &Value) -> Value {
    let field = |name: &str| record["fields"][name].get("value").cloned().unwrap_or(Value::Null);
    let active = match field("IsActive") {
        Value::String(s) => json!(s.eq_ignore_ascii_case("true")),
        other => other,
    };
    json!({
        "DeveloperName": field("DeveloperName").as_str().map(str::to_string).or_else(|| record.get("apiName").and_then(Value::as_str).map(str::to_string)),
        "MasterLabel": field("MasterLabel"),
        "IsActive": active,
        "source": "connect",
    })
}

/// The targets of one kind of action, split into record ids (Atlas planners store ids, with
/// the object's key prefix) and API names (ReAct planners store names), §8.4.
fn action_targets(parts: &Parts, kind: &str, id_prefix: &str) -> Result<(BTreeSet<String>, BTreeSet<String>), String> {
    let functions = crate::needed(parts, &format!("{P}.GenAiFunctionDefinition"))?;
    let mut ids = BTreeSet::new();
    let mut names = BTreeSet::new();
    for f in functions.iter().filter(|f| text(f, "InvocationTargetType") == kind) {
        let target = text(f, "InvocationTarget");
        if target.starts_with(id_prefix) && super::super::client::is_id(target) {
            ids.insert(target.to_string());
        } else if !target.is_empty() {
            names.insert(target.to_string());
        }
    }
    Ok((ids, names))
}

/// The flows behind flow actions: by `FlowDefinition` id (`300…`) or API name.
pub fn flow_keys(parts: &Parts) -> Result<Vec<(&'static str, Vec<String>)>, String> {
    let (ids, names) = action_targets(parts, "flow", "300")?;
    Ok(vec![
        ("Id", ids.into_iter().collect()),
        ("DeveloperName", names.into_iter().collect()),
    ])
}

/// Whether a flow's run mode (`Flow.RunInMode`, §9.3) bypasses sharing: `DefaultMode` depends
/// on how the flow is launched, so it is unknown.
pub fn flow_runs_without_sharing(run_in_mode: &str) -> Option<bool> {
    match run_in_mode {
        "SystemModeWithoutSharing" => Some(true),
        "SystemModeWithSharing" => Some(false),
        _ => None,
    }
}

/// Apex classes behind apex actions (by id or name) and template data providers (by name).
pub fn apex_keys(parts: &Parts) -> Result<Vec<(&'static str, Vec<String>)>, String> {
    let (ids, mut names) = action_targets(parts, "apex", "01p")?;
    for template in rows(parts, "metadata.GenAiPromptTemplate") {
        for provider in template_providers(template) {
            if let Some(class) = provider.strip_prefix("apex://") {
                names.insert(class.to_string());
            }
        }
    }
    Ok(vec![
        ("Id", ids.into_iter().collect()),
        ("Name", names.into_iter().collect()),
    ])
}

fn template_providers(template: &Value) -> Vec<String> {
    list(template.get("templateVersions"))
        .into_iter()
        .flat_map(|v| list(v.get("templateDataProviders")))
        .map(|p| text(p, "definition").to_string())
        .filter(|d| !d.is_empty())
        .collect()
}

/// How an Apex class shares: its declared keyword, or none.
pub fn sharing_keyword(body: &str) -> Option<&'static str> {
    // The class declaration: the text before the first `{` (comments aside, good enough).
    let head: String = body.split('{').next().unwrap_or("").to_ascii_lowercase();
    let head = head.split_whitespace().collect::<Vec<_>>().join(" ");
    ["without sharing", "inherited sharing", "with sharing"]
        .into_iter()
        .find(|k| head.contains(k))
        .map(|k| match k {
            "without sharing" => "without",
            "inherited sharing" => "inherited",
            _ => "with",
        })
}

/// What an Apex class does, read from its body: SOQL objects (`FROM X`), DML, callouts, email.
#[derive(Debug, Default)]
pub struct ApexFacts {
    pub reads: BTreeSet<String>,
    pub writes: bool,
    pub sends_out: bool,
}

pub fn apex_facts(body: &str) -> ApexFacts {
    use std::sync::OnceLock;
    static FROM: OnceLock<regex::Regex> = OnceLock::new();
    static DML: OnceLock<regex::Regex> = OnceLock::new();
    let from = FROM.get_or_init(|| regex::Regex::new(r"(?i)\bFROM\s+([A-Za-z][A-Za-z0-9_]*)").expect("pattern"));
    let dml = DML.get_or_init(|| {
        regex::Regex::new(
            r"(?i)\b(insert|update|upsert|delete|undelete|merge)\s+[A-Za-z_]|Database\.(insert|update|upsert|delete)",
        )
        .expect("pattern")
    });
    let lower = body.to_ascii_lowercase();
    ApexFacts {
        reads: from.captures_iter(body).map(|c| c[1].to_string()).collect(),
        writes: dml.is_match(body),
        sends_out: lower.contains("httprequest") || lower.contains("messaging.sendemail") || lower.contains("callout:"),
    }
}

/// The bot → planner → topic → action graph, read once.
pub struct AgentGraph<'a> {
    pub bots: &'a [Value],
    pub planners_of_bot: BTreeMap<String, (Vec<String>, &'static str)>,
    pub topics_of_planner: BTreeMap<String, Vec<&'a Value>>,
    pub actions_of_topic: BTreeMap<String, Vec<String>>,
    pub actions_of_planner: BTreeMap<String, Vec<String>>,
    /// Whether the links could be read (else an agent's actions are unknown).
    pub complete: bool,
}

impl<'a> AgentGraph<'a> {
    pub fn read(parts: &'a Parts) -> AgentGraph<'a> {
        let bots = rows(parts, "BotDefinition");
        let planners = rows(parts, "GenAiPlannerDefinition");
        let topics = rows(parts, "GenAiPluginDefinition");
        let functions = rows(parts, "GenAiFunctionDefinition");
        let planner_by_name: BTreeMap<&str, &str> = planners
            .iter()
            .map(|p| (text(p, "DeveloperName"), text(p, "Id")))
            .collect();
        let mut planners_of_bot = BTreeMap::new();
        for bot in bots {
            let name = text(bot, "DeveloperName");
            // §9.1.3: the Bot metadata's versions name their planners.
            let from_metadata: Vec<String> = rows(parts, "metadata.Bot")
                .iter()
                .filter(|m| text(m, "fullName") == name)
                .flat_map(|m| list(m.get("botVersions")))
                .flat_map(|v| list(v.get("conversationDefinitionPlanners")))
                .filter_map(|p| {
                    planner_by_name
                        .get(text(p, "genAiPlannerName"))
                        .map(|id| id.to_string())
                })
                .collect();
            let link = if !from_metadata.is_empty() {
                (from_metadata, "bot_metadata")
            } else if let Some(id) = planner_by_name.get(name) {
                // Agent Builder names the planner after the agent: a fallback, said as such.
                (vec![id.to_string()], "same_name")
            } else {
                (Vec::new(), "none")
            };
            planners_of_bot.insert(text(bot, "Id").to_string(), link);
        }
        let topic_by_key: BTreeMap<&str, &Value> = topics
            .iter()
            .flat_map(|t| [(text(t, "Id"), t), (text(t, "DeveloperName"), t)])
            .filter(|(k, _)| !k.is_empty())
            .collect();
        let mut topics_of_planner: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
        for t in topics {
            if !text(t, "PlannerId").is_empty() {
                topics_of_planner
                    .entry(text(t, "PlannerId").to_string())
                    .or_default()
                    .push(t);
            }
        }
        for link in rows(parts, "GenAiPlannerFunctionDef") {
            if let Some(t) = topic_by_key.get(text(link, "Plugin")) {
                let list = topics_of_planner
                    .entry(text(link, "PlannerId").to_string())
                    .or_default();
                if !list.iter().any(|x| text(x, "Id") == text(t, "Id")) {
                    list.push(t);
                }
            }
        }
        let function_by_key: BTreeMap<&str, &str> = functions
            .iter()
            .flat_map(|f| {
                [
                    (text(f, "Id"), text(f, "Id")),
                    (text(f, "DeveloperName"), text(f, "Id")),
                ]
            })
            .filter(|(k, _)| !k.is_empty())
            .collect();
        let mut actions_of_topic: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut actions_of_planner: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for f in functions {
            if !text(f, "PluginId").is_empty() {
                actions_of_topic
                    .entry(text(f, "PluginId").to_string())
                    .or_default()
                    .push(text(f, "Id").to_string());
            } else if !text(f, "PlannerId").is_empty() {
                actions_of_planner
                    .entry(text(f, "PlannerId").to_string())
                    .or_default()
                    .push(text(f, "Id").to_string());
            }
        }
        for link in rows(parts, "GenAiPluginFunctionDef") {
            let topic = topic_by_key
                .get(text(link, "PluginId"))
                .map(|t| text(t, "Id"))
                .unwrap_or(text(link, "PluginId"));
            if let Some(f) = function_by_key.get(text(link, "Function")) {
                let list = actions_of_topic.entry(topic.to_string()).or_default();
                if !list.iter().any(|x| x == f) {
                    list.push(f.to_string());
                }
            }
        }
        let complete = [
            "GenAiPlannerDefinition",
            "GenAiPluginDefinition",
            "GenAiFunctionDefinition",
        ]
        .iter()
        .all(|r| collected(parts, r));
        AgentGraph {
            bots,
            planners_of_bot,
            topics_of_planner,
            actions_of_topic,
            actions_of_planner,
            complete,
        }
    }

    /// The topics and action ids of one bot.
    pub fn reach(&self, bot_id: &str) -> (Vec<String>, Vec<String>) {
        let mut topics = Vec::new();
        let mut actions = Vec::new();
        let planners = self
            .planners_of_bot
            .get(bot_id)
            .map(|(p, _)| p.as_slice())
            .unwrap_or(&[]);
        for planner in planners {
            for t in self.topics_of_planner.get(planner).into_iter().flatten() {
                topics.push(text(t, "DeveloperName").to_string());
                actions.extend(self.actions_of_topic.get(text(t, "Id")).into_iter().flatten().cloned());
            }
            actions.extend(self.actions_of_planner.get(planner).into_iter().flatten().cloned());
        }
        actions.sort();
        actions.dedup();
        (topics, actions)
    }
}

/// A prompt template's facts: the objects it grounds on, public free text it merges, its
/// data providers and whether any runs without sharing.
struct TemplateFacts {
    objects: BTreeSet<String>,
    free_text: Vec<String>,
    providers: Vec<Value>,
    provider_without_sharing: bool,
}

fn template_facts(template: &Value, classes: &BTreeMap<String, &Value>) -> TemplateFacts {
    let mut objects = BTreeSet::new();
    let related = text(template, "relatedEntity");
    if !related.is_empty() {
        objects.insert(related.to_string());
    }
    let versions = list(template.get("templateVersions"));
    let mut free_text = BTreeSet::new();
    let mut providers = Vec::new();
    let mut provider_without_sharing = false;
    for v in &versions {
        for input in list(v.get("inputs")) {
            if let Some(object) = text(input, "definition").strip_prefix("SOBJECT://") {
                objects.insert(object.to_string());
            }
        }
        let content = text(v, "content");
        for field in PUBLIC_FREE_TEXT {
            if content.contains(&format!("$Input:{field}}}")) || content.contains(&format!("{field}}}")) {
                free_text.insert(field.to_string());
            }
        }
        for p in list(v.get("templateDataProviders")) {
            let definition = text(p, "definition");
            let class = definition.strip_prefix("apex://").and_then(|c| classes.get(c));
            let without = class.map(|c| class_runs_without_sharing(c));
            provider_without_sharing |= without == Some(Some(true));
            providers.push(json!({"definition": definition, "runs_without_sharing": without.flatten()}));
            for param in list(p.get("parameters")) {
                if let Some(object) = text(param, "definition").strip_prefix("SOBJECT://") {
                    objects.insert(object.to_string());
                }
            }
        }
    }
    TemplateFacts {
        objects,
        free_text: free_text.into_iter().collect(),
        providers,
        provider_without_sharing,
    }
}

/// `Some(true)` when the class runs without sharing (declared, or no keyword before 67.0),
/// `None` when its body is hidden (managed packages).
fn class_runs_without_sharing(class: &Value) -> Option<bool> {
    let body = class.get("Body").and_then(Value::as_str)?;
    if body.trim().is_empty() || body.contains("(hidden)") {
        return None;
    }
    let version = class
        .get("ApiVersion")
        .and_then(|v| v.as_f64().or_else(|| v.as_str()?.parse().ok()));
    Some(match sharing_keyword(body) {
        Some("without") => true,
        Some(_) => false,
        None => version.is_none_or(|v| v < WITH_SHARING_DEFAULT_FROM),
    })
}

/// The site guest users whose permission sets let them run the Apex class `class_id` (through
/// `SetupEntityAccess`), or `None` when a guest's class access was not read.
fn guests_with_class_access(users: &[UserRights], class_id: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for guest in users.iter().filter(|u| u.user_type == "Guest") {
        if guest.apex_classes.as_ref()?.contains(class_id) {
            out.push(guest.username.clone());
        }
    }
    Some(out)
}

/// Actions, prompt templates and Trusted URLs as tools.
pub fn tools(
    parts: &Parts,
    _graph: &AgentGraph,
    users: &[UserRights],
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<Tool> {
    let classes: BTreeMap<String, &Value> = rows(parts, "ApexClass")
        .iter()
        .flat_map(|c| [(text(c, "Id").to_string(), c), (text(c, "Name").to_string(), c)])
        .collect();
    let classes_read = collected(parts, "ApexClass");
    let flows: BTreeMap<&str, &Value> = rows(parts, "FlowDefinition")
        .iter()
        .flat_map(|f| [(text(f, "Id"), f), (text(f, "DeveloperName"), f)])
        .filter(|(k, _)| !k.is_empty())
        .collect();
    let flows_read = collected(parts, "FlowDefinition");
    let templates_read = collected(parts, "metadata.GenAiPromptTemplate");
    let mut out = Vec::new();
    // Prompt templates: by name, and by the 0hf id actions may use (from the Tooling rows).
    let mut template_names: BTreeMap<String, String> = BTreeMap::new();
    for t in rows(parts, "GenAiPromptTemplate") {
        let name = text(t, "DeveloperName").to_string();
        if let Some(id) = t.get("Id").and_then(Value::as_str) {
            template_names.insert(id.to_string(), name.clone());
        }
        template_names.insert(name.clone(), name);
    }
    for template in rows(parts, "metadata.GenAiPromptTemplate") {
        let name = text(template, "fullName");
        if !text(template, "@id").is_empty() {
            template_names.insert(text(template, "@id").to_string(), name.to_string());
        }
        template_names.insert(name.to_string(), name.to_string());
        let facts = template_facts(template, &classes);
        let sensitive: Vec<&String> = facts
            .objects
            .iter()
            .filter(|o| SENSITIVE_OBJECTS.contains(&o.as_str()))
            .collect();
        let mut attributes = BTreeMap::new();
        attributes.insert("template_type".into(), json!(text(template, "type")));
        attributes.insert("visibility".into(), json!(text(template, "visibility")));
        attributes.insert("related_entity".into(), json!(text(template, "relatedEntity")));
        attributes.insert("grounded_on".into(), json!(facts.objects));
        attributes.insert("sensitive_objects".into(), json!(sensitive));
        attributes.insert("public_free_text_merged".into(), json!(facts.free_text));
        attributes.insert("data_providers".into(), json!(facts.providers));
        attributes.insert(
            "provider_runs_without_sharing".into(),
            if classes_read {
                json!(facts.provider_without_sharing)
            } else {
                Value::Null
            },
        );
        out.push(Tool {
            id: template_id(name),
            kind: "prompt_template".into(),
            name: if text(template, "masterLabel").is_empty() {
                name.to_string()
            } else {
                text(template, "masterLabel").to_string()
            },
            capabilities: vec![Capability::Read],
            capabilities_unknown: None,
            targets: facts.objects.iter().map(|o| object_id(o)).collect(),
            active: true,
            attributes,
        });
    }
    let templates: BTreeMap<String, Tool> = out.iter().map(|t| (t.id.clone(), t.clone())).collect();
    for f in rows(parts, "GenAiFunctionDefinition") {
        let kind = text(f, "InvocationTargetType");
        let target = text(f, "InvocationTarget");
        let mut attributes = BTreeMap::new();
        attributes.insert("invocation_target_type".into(), json!(kind));
        attributes.insert("invocation_target".into(), json!(target));
        let confirmation = flag(f, "IsConfirmationRequired").unwrap_or(false);
        attributes.insert("confirmation_required".into(), json!(confirmation));
        attributes.insert("developer_name".into(), json!(text(f, "DeveloperName")));
        let mut capabilities = Vec::new();
        let mut unknown = None;
        let mut targets = Vec::new();
        match kind {
            "apex" => match classes.get(target) {
                Some(class) => {
                    let body = text(class, "Body");
                    let facts = apex_facts(body);
                    attributes.insert("apex_class".into(), json!(text(class, "Name")));
                    attributes.insert(
                        "apex_api_version".into(),
                        class.get("ApiVersion").cloned().unwrap_or(Value::Null),
                    );
                    attributes.insert("apex_sharing".into(), json!(sharing_keyword(body).unwrap_or("none")));
                    attributes.insert("runs_without_sharing".into(), json!(class_runs_without_sharing(class)));
                    attributes.insert(
                        "guests_with_class_access".into(),
                        json!(guests_with_class_access(users, text(class, "Id"))),
                    );
                    capabilities.push(Capability::ExecuteCode);
                    if !facts.reads.is_empty() {
                        capabilities.push(Capability::Read);
                    }
                    if facts.writes {
                        capabilities.push(Capability::Write);
                    }
                    if facts.sends_out {
                        capabilities.push(Capability::SendExternal);
                    }
                    targets.extend(facts.reads.iter().map(|o| object_id(o)));
                    attributes.insert("writes_data".into(), json!(facts.writes));
                }
                None => {
                    attributes.insert("runs_without_sharing".into(), Value::Null);
                    attributes.insert("guests_with_class_access".into(), Value::Null);
                    attributes.insert("writes_data".into(), Value::Null);
                    unknown = Some(if classes_read {
                        format!("the Apex class {target:?} was not found or its body is hidden")
                    } else {
                        "the Apex classes were not read".to_string()
                    });
                }
            },
            "generatePromptResponse" => {
                let name = template_names
                    .get(target)
                    .cloned()
                    .unwrap_or_else(|| target.to_string());
                attributes.insert("prompt_template".into(), json!(name));
                attributes.insert("writes_data".into(), json!(false));
                capabilities.push(Capability::Read);
                match templates.get(&template_id(&name)) {
                    Some(t) => {
                        targets.extend(t.targets.iter().cloned());
                        for key in [
                            "sensitive_objects",
                            "public_free_text_merged",
                            "provider_runs_without_sharing",
                        ] {
                            attributes.insert(key.into(), t.attributes[key].clone());
                        }
                    }
                    None if !templates_read => unknown = Some("the prompt templates' metadata was not read".into()),
                    None => unknown = Some(format!("the prompt template {name:?} was not readable")),
                }
            }
            "flow" => {
                attributes.insert("writes_data".into(), Value::Null);
                match flows.get(target) {
                    Some(flow) => {
                        let version = &flow["ActiveVersion"];
                        let mode = text(version, "RunInMode");
                        attributes.insert("flow".into(), json!(text(flow, "DeveloperName")));
                        attributes.insert("flow_run_mode".into(), json!(mode));
                        attributes.insert("flow_process_type".into(), json!(text(version, "ProcessType")));
                        attributes.insert("runs_without_sharing".into(), json!(flow_runs_without_sharing(mode)));
                        unknown = Some(format!(
                            "what the flow {:?} does is not analysed (it runs in {})",
                            text(flow, "DeveloperName"),
                            if mode.is_empty() { "an unknown mode" } else { mode }
                        ));
                    }
                    None => {
                        attributes.insert("runs_without_sharing".into(), Value::Null);
                        unknown = Some(if flows_read {
                            format!("the flow {target:?} was not found or has no active version")
                        } else {
                            "the flows behind flow actions were not read".to_string()
                        });
                    }
                }
            }
            k if OUTBOUND_ACTIONS.contains(&k) => {
                capabilities.push(Capability::SendExternal);
                attributes.insert("writes_data".into(), Value::Null);
            }
            "retriever" => {
                capabilities.push(Capability::Read);
                attributes.insert("writes_data".into(), json!(false));
            }
            other => {
                attributes.insert("writes_data".into(), Value::Null);
                unknown = Some(format!(
                    "what a {} action does is not read yet (its target {target:?} is not analysed)",
                    if other.is_empty() { "typeless" } else { other }
                ));
            }
        }
        out.push(Tool {
            id: action_id(text(f, "Id")),
            kind: format!("action.{}", if kind.is_empty() { "unknown" } else { kind }),
            name: text(f, "MasterLabel").to_string(),
            capabilities,
            capabilities_unknown: unknown,
            targets,
            active: true,
            attributes,
        });
    }
    // Agents a planner hands work to (§9.3): another Agentforce agent, or a third party over
    // A2A, which is where the conversation and what the agent read leave the org.
    let mut seen_agents = BTreeSet::new();
    for link in rows(parts, "AiPlannerRelatedAgent") {
        let agent = &link["AiAgent"];
        let id = text(link, "AiAgentId");
        if id.is_empty() || !seen_agents.insert(id) {
            continue;
        }
        let provider = text(agent, "Provider");
        let third_party = provider == "Third_Party_A2A";
        let mut attributes = BTreeMap::new();
        attributes.insert("provider".into(), json!(provider));
        attributes.insert("url".into(), json!(text(agent, "Url")));
        attributes.insert("status".into(), json!(text(agent, "Status")));
        attributes.insert("third_party".into(), json!(third_party));
        out.push(Tool {
            id: external_agent_id(id),
            kind: "delegated_agent".into(),
            name: if text(agent, "MasterLabel").is_empty() {
                text(agent, "DeveloperName").to_string()
            } else {
                text(agent, "MasterLabel").to_string()
            },
            capabilities: if third_party {
                vec![Capability::SendExternal]
            } else {
                Vec::new()
            },
            capabilities_unknown: (!third_party)
                .then(|| "what the delegated Agentforce agent does is judged on that agent".to_string()),
            targets: Vec::new(),
            active: text(agent, "Status") != "Inactive",
            attributes,
        });
    }
    let domains: BTreeMap<&str, &Value> = rows(parts, "trusted_url_domains")
        .iter()
        .map(|d| (text(d, "domain"), d))
        .collect();
    let domains_read = collected(parts, "trusted_url_domains");
    for site in rows(parts, "CspTrustedSite")
        .iter()
        .filter(|s| flag(s, "IsActive") == Some(true))
    {
        let endpoint = text(site, "EndpointUrl");
        let domain = super::super::rdap::registered_domain(endpoint);
        let registration = domain.as_deref().and_then(|d| domains.get(d));
        let status = match registration {
            Some(r) => text(r, "status").to_string(),
            None if domain.is_none() => "not_applicable".into(),
            None if domains_read => "unknown".into(),
            None => "unknown".into(),
        };
        let host = endpoint
            .split("://")
            .nth(1)
            .unwrap_or(endpoint)
            .split(['/', ':'])
            .next()
            .unwrap_or("");
        let mut attributes = BTreeMap::new();
        attributes.insert("endpoint".into(), json!(endpoint));
        attributes.insert("host".into(), json!(host));
        attributes.insert("registered_domain".into(), json!(domain));
        attributes.insert("wildcard".into(), json!(host.contains('*')));
        attributes.insert(
            "insecure_http".into(),
            json!(endpoint.to_ascii_lowercase().starts_with("http://")),
        );
        attributes.insert("context".into(), json!(text(site, "Context")));
        for (field, key) in [
            ("IsApplicableToImgSrc", "img_src"),
            ("IsApplicableToConnectSrc", "connect_src"),
            ("IsApplicableToFrameSrc", "frame_src"),
        ] {
            attributes.insert(key.into(), json!(flag(site, field)));
        }
        attributes.insert(
            "days_since_modified".into(),
            json!(site
                .get("LastModifiedDate")
                .and_then(Value::as_str)
                .and_then(|d| days_since(d, now))),
        );
        // Null when unknown, so a rule about lapsed domains is not assessed rather than passed.
        let lapsed = match status.as_str() {
            "lapsed" | "unregistered" => json!(true),
            "registered" | "not_applicable" => json!(false),
            _ => Value::Null,
        };
        attributes.insert("domain_status".into(), json!(status));
        attributes.insert("domain_lapsed".into(), lapsed);
        attributes.insert(
            "domain_expires".into(),
            registration.map(|r| r["expires"].clone()).unwrap_or(Value::Null),
        );
        out.push(Tool {
            id: trusted_url_id(text(site, "Id")),
            kind: "trusted_url".into(),
            name: format!("Trusted URL {endpoint}"),
            capabilities: vec![Capability::SendExternal],
            capabilities_unknown: None,
            targets: Vec::new(),
            active: true,
            attributes,
        });
    }
    out
}

/// Where one agent can be reached, and by whom without signing in.
#[derive(Debug, Default)]
struct Reach {
    channels: Vec<String>,
    /// Guest users of sites that reach the agent.
    guests: BTreeSet<String>,
    /// Sites (id → name) that reach it.
    sites: BTreeMap<String, String>,
    evidence: Vec<Value>,
}

fn reach(parts: &Parts, bot_id: &str) -> Reach {
    let mut out = Reach::default();
    let sites = rows(parts, "Site");
    let site_of_network = |network_id: &str| -> Option<&Value> {
        let network = rows(parts, "Network").iter().find(|n| text(n, "Id") == network_id)?;
        sites.iter().find(|s| {
            let (a, b) = (text(s, "UrlPathPrefix"), text(network, "UrlPathPrefix"));
            (!a.is_empty() && a == b) || text(s, "Name") == text(network, "Name")
        })
    };
    // Experience sites that embed the agent (§9.3).
    for link in rows(parts, "NetworkBotDefinition")
        .iter()
        .filter(|l| text(l, "BotDefinitionId") == bot_id)
    {
        let network = text(link, "NetworkId");
        out.channels.push(format!("experience_site:{network}"));
        if let Some(site) = site_of_network(network) {
            out.sites.insert(text(site, "Id").into(), text(site, "Name").into());
            if !text(site, "GuestUserId").is_empty() {
                out.guests.insert(text(site, "GuestUserId").to_string());
            }
            out.evidence.push(json!({"via": "NetworkBotDefinition", "network": network, "site": text(site, "Name"), "guest_user": text(site, "GuestUserId")}));
        }
    }
    // Messaging channels whose session handler is the agent (§8.4), and the deployments that
    // carry them (§9.3): a deployment that allows guests opens the agent to anyone.
    for channel in rows(parts, "MessagingChannel")
        .iter()
        .filter(|c| text(c, "SessionHandlerId") == bot_id && flag(c, "IsActive") != Some(false))
    {
        out.channels
            .push(format!("messaging:{}", text(channel, "DeveloperName")));
        for link in rows(parts, "EmbeddedServiceMessagingChannel")
            .iter()
            .filter(|l| text(l, "MessagingChannelId") == text(channel, "Id") && flag(l, "IsEnabled") != Some(false))
        {
            let Some(deployment) = rows(parts, "EmbeddedServiceConfig")
                .iter()
                .find(|d| text(d, "Id") == text(link, "EmbeddedServiceConfigId"))
            else {
                continue;
            };
            if flag(deployment, "IsEnabled") == Some(false) || flag(deployment, "AreGuestUsersAllowed") != Some(true) {
                continue;
            }
            let site = sites.iter().find(|s| text(s, "Id") == text(deployment, "SiteId"));
            if let Some(site) = site {
                out.sites.insert(text(site, "Id").into(), text(site, "Name").into());
                if !text(site, "GuestUserId").is_empty() {
                    out.guests.insert(text(site, "GuestUserId").to_string());
                }
            }
            out.evidence.push(json!({
                "via": "EmbeddedServiceConfig",
                "deployment": text(deployment, "DeveloperName"),
                "guests_allowed": true,
                "channel": text(channel, "DeveloperName"),
                "site": site.map(|s| text(s, "Name")),
            }));
        }
    }
    out.channels.sort();
    out.channels.dedup();
    out
}

pub fn agents(
    parts: &Parts,
    graph: &AgentGraph,
    users: &[UserRights],
    tools: &[Tool],
    connection_id: &str,
) -> Vec<Agent> {
    let tool_by_id: BTreeMap<&str, &Tool> = tools.iter().map(|t| (t.id.as_str(), t)).collect();
    let reach_read = [
        "NetworkBotDefinition",
        "MessagingChannel",
        "EmbeddedServiceConfig",
        "Site",
    ]
    .iter()
    .all(|r| collected(parts, r));
    let guest_deployments: Vec<&Value> = rows(parts, "EmbeddedServiceConfig")
        .iter()
        .filter(|d| flag(d, "AreGuestUsersAllowed") == Some(true) && flag(d, "IsEnabled") != Some(false))
        .collect();
    let trusted_urls: Vec<&Tool> = tools.iter().filter(|t| t.kind == "trusted_url").collect();
    graph
        .bots
        .iter()
        .map(|bot| {
            let id = text(bot, "Id");
            let bot_type = text(bot, "Type");
            let active = list(bot.get("BotVersions").and_then(|v| v.get("records")))
                .iter()
                .any(|v| text(v, "Status").eq_ignore_ascii_case("active"));
            let metadata = rows(parts, "metadata.Bot")
                .iter()
                .find(|m| text(m, "fullName") == text(bot, "DeveloperName"));
            let bot_user = text(bot, "BotUserId");
            let run_as_user = if !bot_user.is_empty() {
                users.iter().find(|u| u.id == bot_user)
            } else {
                metadata.and_then(|m| {
                    users
                        .iter()
                        .find(|u| u.username == text(m, "botUser") && !u.username.is_empty())
                })
            };
            let run_as = if !bot_user.is_empty() {
                Some(user_id(bot_user))
            } else {
                run_as_user.map(|u| user_id(&u.id))
            };
            let employee = bot_type == "InternalCopilot";
            let kind = match bot_type {
                "ExternalCopilot" => "agentforce_service_agent",
                "InternalCopilot" => "agentforce_employee_agent",
                "Bot" => "einstein_bot",
                "AgentforceOrchestrator" => "agentforce_orchestrator",
                _ => "agentforce_agent",
            };
            let (topics, actions) = graph.reach(id);
            let link = graph.planners_of_bot.get(id).map(|(_, how)| *how).unwrap_or("none");
            let mut bindings: Vec<ToolBinding> = actions
                .iter()
                .filter_map(|a| tool_by_id.get(action_id(a).as_str()))
                .map(|t| ToolBinding {
                    tool_id: t.id.clone(),
                    autonomy: if t.attributes.get("confirmation_required") == Some(&json!(true)) {
                        Autonomy::Supervised
                    } else {
                        Autonomy::Autonomous
                    },
                    active: true,
                    attributes: Default::default(),
                })
                .collect();
            let planners = graph.planners_of_bot.get(id).map(|(p, _)| p.as_slice()).unwrap_or(&[]);
            for link in rows(parts, "AiPlannerRelatedAgent")
                .iter()
                .filter(|l| planners.iter().any(|p| p == text(l, "PlannerId")))
            {
                if let Some(t) = tool_by_id.get(external_agent_id(text(link, "AiAgentId")).as_str()) {
                    bindings.push(ToolBinding {
                        tool_id: t.id.clone(),
                        autonomy: Autonomy::Autonomous,
                        active: t.active,
                        attributes: [("via".to_string(), json!("planner delegation"))].into(),
                    });
                }
            }
            // Actions reach prompt templates; the agent reads what those ground on.
            let mut knowledge: BTreeSet<String> = BTreeSet::new();
            for b in &bindings {
                if let Some(t) = tool_by_id.get(b.tool_id.as_str()) {
                    if t.capabilities.contains(&Capability::Read) {
                        knowledge.extend(t.targets.iter().cloned());
                    }
                }
            }
            // The agent's answers render in Lightning or on sites, where the org's Trusted URLs
            // may load images and scripts: each is a way out for what the answer carries.
            for t in &trusted_urls {
                let applies = t.attributes.get("img_src") == Some(&json!(true))
                    || t.attributes.get("connect_src") == Some(&json!(true));
                if applies {
                    bindings.push(ToolBinding {
                        tool_id: t.id.clone(),
                        autonomy: Autonomy::Autonomous,
                        active: true,
                        attributes: [("via".to_string(), json!("rendered answer"))].into(),
                    });
                }
            }
            let r = reach(parts, id);
            let mut audience: Vec<String> = r.guests.iter().map(|g| user_id(g)).collect();
            if employee {
                audience.push(org_users(connection_id));
            }
            let possibly_public = bot_type == "ExternalCopilot" && r.guests.is_empty() && !guest_deployments.is_empty();
            let mut attributes = BTreeMap::new();
            attributes.insert("bot_type".into(), json!(bot_type));
            attributes.insert("agent_type".into(), json!(text(bot, "AgentType")));
            attributes.insert("agent_template".into(), json!(text(bot, "AgentTemplate")));
            attributes.insert("developer_name".into(), json!(text(bot, "DeveloperName")));
            attributes.insert("topics".into(), json!(topics));
            attributes.insert("planner_link".into(), json!(link));
            attributes.insert("reach_evidence".into(), json!(r.evidence));
            attributes.insert("guest_sites".into(), json!(r.sites.values().collect::<Vec<_>>()));
            attributes.insert("audience_possibly_public".into(), json!(possibly_public));
            attributes.insert(
                "audience_possibly_public_reason".into(),
                json!(
                    "a service agent with a deployment that lets guests in, whose channel link could not be resolved"
                ),
            );
            attributes.insert(
                "log_private_conversation_data".into(),
                json!(metadata.and_then(|m| flag(m, "logPrivateConversationData"))),
            );
            attributes.insert("run_as_profile".into(), json!(run_as_user.map(|u| u.profile.clone())));
            attributes.insert(
                "run_as_human".into(),
                json!(run_as_user.map(|u| u.profile != "Einstein Agent User" || u.last_login.is_some())),
            );
            let actions_known = graph.complete && link != "none" || !active;
            attributes.insert("actions_known".into(), json!(actions_known));
            Agent {
                id: agent_id(id),
                kind: kind.into(),
                name: text(bot, "MasterLabel").to_string(),
                owner: None,
                identity: if run_as.is_some() {
                    RunIdentity::Fixed
                } else if employee {
                    RunIdentity::Invoker
                } else {
                    RunIdentity::Unknown
                },
                run_as,
                role_mask: None,
                audience,
                audience_unknown: !reach_read,
                channels: r.channels,
                autonomy: if bindings.iter().any(|b| b.autonomy == Autonomy::Autonomous) {
                    Autonomy::Autonomous
                } else {
                    Autonomy::Supervised
                },
                tools: bindings,
                knowledge: knowledge.into_iter().collect(),
                teams: Vec::new(),
                active,
                last_used: None,
                attributes,
            }
        })
        .collect()
}

/// Ways outside content reaches agents: guests on sites that embed them, and Web-to-Lead text
/// that agents reading leads take in (ForcedLeak's entry, §4.1).
pub fn untrusted_inputs(parts: &Parts, agents: &[Agent], tools: &[Tool]) -> Vec<UntrustedInput> {
    let mut out = Vec::new();
    let mut sites: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    for a in agents {
        for site in list(a.attributes.get("guest_sites")) {
            let name = site.as_str().unwrap_or("").to_string();
            sites
                .entry(name.clone())
                .or_insert((name, Vec::new()))
                .1
                .push(a.id.clone());
        }
    }
    for (name, (_, reaches)) in sites {
        out.push(UntrustedInput {
            id: format!("{P}:input:site_guests:{name}"),
            kind: "public_chat".into(),
            name: format!("Guests of the {name} site"),
            reaches,
            unauthenticated: true,
            attributes: Default::default(),
        });
    }
    let web_leads = rows(parts, "web_leads")
        .first()
        .and_then(|r| r.get("count"))
        .and_then(Value::as_u64);
    if web_leads.is_some_and(|n| n > 0) {
        let lead = object_id("Lead");
        let reads_lead = |a: &Agent| {
            a.knowledge.contains(&lead)
                || a.tools.iter().any(|b| {
                    tools.iter().any(|t| {
                        t.id == b.tool_id && t.capabilities.contains(&Capability::Read) && t.targets.contains(&lead)
                    })
                })
        };
        let reaches: Vec<String> = agents
            .iter()
            .filter(|a| a.active && reads_lead(a))
            .map(|a| a.id.clone())
            .collect();
        out.push(UntrustedInput {
            id: format!("{P}:input:web_to_lead"),
            kind: "web_to_lead".into(),
            name: "Web-to-Lead form submissions".into(),
            reaches,
            unauthenticated: true,
            attributes: [("web_leads".to_string(), json!(web_leads))].into(),
        });
    }
    out
}

/// The objects grants and tools name, with their sensitivity.
pub fn data_stores(grants: &[Grant], tools: &[Tool]) -> Vec<DataStore> {
    let prefix = format!("{P}:object:");
    let mut ids: BTreeSet<&str> = BTreeSet::new();
    ids.extend(
        grants
            .iter()
            .map(|g| g.target.as_str())
            .filter(|t| t.starts_with(&prefix)),
    );
    ids.extend(tools.iter().flat_map(|t| t.targets.iter().map(String::as_str)));
    ids.into_iter()
        .map(|id| {
            let object = id.trim_start_matches(&prefix);
            let sensitivity = if object == "*" {
                "restricted"
            } else if SENSITIVE_OBJECTS.contains(&object) {
                "confidential"
            } else {
                "internal"
            };
            DataStore {
                id: id.to_string(),
                kind: "sobject".into(),
                name: if object == "*" {
                    "Every object in the org".into()
                } else {
                    object.to_string()
                },
                sensitivity: Some(sensitivity.into()),
                external_sharing: None,
                attributes: Default::default(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sharing_keywords_are_read_from_the_declaration() {
        assert_eq!(
            sharing_keyword("public without sharing class LeadLookup {"),
            Some("without")
        );
        assert_eq!(
            sharing_keyword("public  with\nsharing class X { without sharing }"),
            Some("with")
        );
        assert_eq!(
            sharing_keyword("global inherited sharing class X {}"),
            Some("inherited")
        );
        assert_eq!(sharing_keyword("public class X { }"), None);
    }

    #[test]
    fn keywordless_classes_before_67_run_without_sharing() {
        let old = json!({"Body": "public class X { }", "ApiVersion": 58.0});
        let new = json!({"Body": "public class X { }", "ApiVersion": 67.0});
        let hidden = json!({"Body": "(hidden)", "ApiVersion": 58.0});
        assert_eq!(class_runs_without_sharing(&old), Some(true));
        assert_eq!(class_runs_without_sharing(&new), Some(false));
        assert_eq!(class_runs_without_sharing(&hidden), None);
    }

    #[test]
    fn apex_bodies_say_what_they_read_write_and_send() {
        let facts = apex_facts(
            "public without sharing class C { void f() { List<Lead> l = [SELECT Id FROM Lead]; update l; HttpRequest r = new HttpRequest(); } }",
        );
        assert_eq!(facts.reads.into_iter().collect::<Vec<_>>(), ["Lead"]);
        assert!(facts.writes && facts.sends_out);
        let quiet = apex_facts("public with sharing class C { }");
        assert!(quiet.reads.is_empty() && !quiet.writes && !quiet.sends_out);
    }

    #[test]
    fn connect_prompt_records_take_the_tooling_shape() {
        let r = prompt_record(
            &json!({"apiName": "Lead_Triage_Summary", "fields": {"DeveloperName": {"value": "Lead_Triage_Summary"}, "IsActive": {"value": "true"}}}),
        );
        assert_eq!(r["DeveloperName"], "Lead_Triage_Summary");
        assert_eq!(r["IsActive"], true);
    }
}
