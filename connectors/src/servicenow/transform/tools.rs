//! Tools and what each binding of a tool does (reference §2.2, §9.1, §9.4).
//!
//! A CRUD or RAG tool is generic: its operation, table and sources are set where it is bound
//! to an agent, in `sn_aia_agent_tool_m2m.inputs` (a string holding JSON). So those tools become
//! one [`Tool`] per binding; every other tool is one [`Tool`] shared by its bindings. A binding
//! whose inputs cannot be read is a tool with unknown capabilities, never a tool without target.

use super::{effective, records, table_id, text, CONFIDENTIAL_TABLES, P, USER_WRITTEN_TABLES};
use crate::Parts;
use schemas::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

/// Out-of-box tools, by sys_id (§9.1).
const WEB_SEARCH_TOOL: &str = "576cf8eaffd922101dbaffffffffff66";
const FILE_UPLOADER_TOOL: &str = "b064af48ffb822101dbaffffffffff20";

/// Tool types whose target is set per binding.
fn bound_per_binding(kind: &str) -> bool {
    matches!(kind, "crud" | "rag" | "search_retrieval")
}

/// What a tool type can do when the type alone decides (§2.2); unknown types count as writers.
pub(super) fn type_capabilities(kind: &str, name: &str) -> Vec<Capability> {
    let mut caps = match kind {
        "rag" | "search_retrieval" | "knowledge_graph" | "capability" | "file_upload" | "deep_research" => {
            vec![Capability::Read]
        }
        "web_search" | "web_automation" => vec![Capability::Read, Capability::SendExternal],
        "script" => vec![Capability::Read, Capability::Write, Capability::ExecuteCode],
        "mcp" => vec![Capability::Read, Capability::Write, Capability::SendExternal],
        _ => vec![Capability::Write],
    };
    let sends = {
        let n = name.to_lowercase();
        ["email", "notif", "send", "slack", "teams", "webhook", "sms"]
            .iter()
            .any(|w| n.contains(w))
    };
    if sends && !caps.contains(&Capability::SendExternal) {
        caps.push(Capability::SendExternal);
    }
    caps
}

/// What a binding's `inputs` say, as far as they could be read.
#[derive(Debug, Clone, PartialEq)]
pub enum BindingInputs {
    Crud {
        operation: String,
        table: String,
        query: String,
        fields: Vec<String>,
        return_fields: Vec<String>,
    },
    Rag {
        sources: Vec<String>,
    },
    /// The inputs cannot tell: why.
    Unreadable(String),
}

/// Reads `sn_aia_agent_tool_m2m.inputs` for a tool of `kind`. The column is a string holding
/// JSON: for CRUD an array whose entry named `crudInputs` carries the operation; for RAG either
/// the platform array (`sources`, `search_profile`, …) or the SDK's camelCase object.
pub fn binding_inputs(kind: &str, raw: &str) -> BindingInputs {
    if raw.trim().is_empty() {
        return BindingInputs::Unreadable("the binding has no inputs (column empty or not readable)".into());
    }
    let parsed: Value = match serde_json::from_str(raw) {
        Ok(v) => v,
        Err(e) => return BindingInputs::Unreadable(format!("the binding's inputs are not JSON ({e})")),
    };
    let entry = |name: &str| -> Option<&Value> {
        parsed
            .as_array()?
            .iter()
            .find(|e| e.get("name").and_then(Value::as_str) == Some(name))
            .and_then(|e| e.get("value"))
    };
    let strings = |v: Option<&Value>| -> Vec<String> {
        match v {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|i| match i {
                    Value::String(s) => Some(s.clone()),
                    Value::Object(o) => o
                        .get("value")
                        .or_else(|| o.get("name"))
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    _ => None,
                })
                .collect(),
            Some(Value::String(s)) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        }
    };
    if kind == "crud" {
        let Some(crud) = entry("crudInputs") else {
            return BindingInputs::Unreadable("the binding's inputs have no crudInputs entry".into());
        };
        let operation = crud.get("operation").and_then(Value::as_str).unwrap_or("");
        let table = match crud.get("table") {
            Some(Value::String(s)) => s.as_str(),
            Some(t) => t.get("value").and_then(Value::as_str).unwrap_or(""),
            None => "",
        };
        // A table filled in at run time (`{{table}}`) is any table the agent is told to use.
        let table = if table.contains("{{") { "*" } else { table };
        if operation.is_empty() || table.is_empty() {
            return BindingInputs::Unreadable("the binding's crudInputs name no operation or no table".into());
        }
        let fields = crud
            .get("fieldValues")
            .and_then(Value::as_array)
            .map(|fv| {
                fv.iter()
                    .filter_map(|f| f.pointer("/field/name").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        return BindingInputs::Crud {
            operation: operation.to_string(),
            table: table.to_string(),
            query: crud.get("query").and_then(Value::as_str).unwrap_or("").to_string(),
            fields,
            return_fields: strings(crud.get("returnFields")),
        };
    }
    // RAG: the platform array, or the SDK's object form for type `rag`.
    let sources = match &parsed {
        Value::Array(_) => strings(entry("sources")),
        Value::Object(o) => strings(o.get("sources")),
        _ => Vec::new(),
    };
    if sources.is_empty() {
        BindingInputs::Unreadable("the binding's inputs name no search sources".into())
    } else {
        BindingInputs::Rag { sources }
    }
}

/// Tools, the tables they touch, and each agent's bindings.
#[derive(Default)]
pub struct Catalog {
    pub tools: Vec<Tool>,
    pub data_stores: BTreeMap<String, DataStore>,
    /// tool id -> tables it reads (known ones)
    pub reads: HashMap<String, Vec<String>>,
    /// tool ids whose read targets are unknown
    pub reads_unknown: HashMap<String, String>,
    /// agent sys_id -> its bindings
    pub bindings: HashMap<String, Vec<ToolBinding>>,
    /// `target_document_table` of tools whose backing record is not read (flows, topics, …)
    pub unresolved_targets: BTreeMap<String, usize>,
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

fn table_store(table: &str) -> DataStore {
    DataStore {
        id: table_id(table),
        kind: "servicenow_table".into(),
        name: if table == "*" {
            "Any table (*)".to_string()
        } else {
            table.to_string()
        },
        sensitivity: Some(sensitivity(table).into()),
        external_sharing: None,
        attributes: [(
            "user_written".to_string(),
            json!(USER_WRITTEN_TABLES.contains(&table) || table == "*"),
        )]
        .into_iter()
        .collect(),
    }
}

fn autonomy(mode: &str) -> Autonomy {
    // `autopilot` runs without asking; the SDK writes it when a binding names no mode (§9.3).
    if mode == "autopilot" || mode.is_empty() {
        Autonomy::Autonomous
    } else {
        Autonomy::Supervised
    }
}

pub fn tool_id(sys_id: &str) -> String {
    format!("{P}:tool:{sys_id}")
}

impl Catalog {
    pub fn new(parts: &Parts) -> Self {
        let mut c = Catalog::default();
        let base: HashMap<&str, &Value> = effective(records(parts, "sn_aia_tool"))
            .into_iter()
            .map(|t| (text(t, "sys_id"), t))
            .collect();
        // Shared tools: every tool whose type alone says what it does.
        for t in effective(records(parts, "sn_aia_tool")) {
            if !bound_per_binding(text(t, "type")) {
                let tool = c.shared_tool(t);
                c.tools.push(tool);
            }
        }
        for b in effective(records(parts, "sn_aia_agent_tool_m2m")) {
            let tool_sys_id = text(b, "tool");
            let id = match base.get(tool_sys_id) {
                Some(t) if bound_per_binding(text(t, "type")) => {
                    let tool = c.bound_tool(t, b);
                    let id = tool.id.clone();
                    c.tools.push(tool);
                    id
                }
                Some(_) => tool_id(tool_sys_id),
                None => {
                    // The binding names a tool we cannot see: what it does is unknown.
                    let id = tool_id(tool_sys_id);
                    if !c.tools.iter().any(|t| t.id == id) {
                        c.tools.push(Tool {
                            id: id.clone(),
                            kind: "unknown".into(),
                            name: format!("Tool {tool_sys_id} (record not readable)"),
                            capabilities: vec![],
                            capabilities_unknown: Some(
                                "the tool record bound to this agent was not returned by sn_aia_tool".into(),
                            ),
                            targets: vec![],
                            active: true,
                            attributes: Default::default(),
                        });
                    }
                    id
                }
            };
            let max = text(b, "max_auto_executions");
            c.bindings
                .entry(text(b, "agent").to_string())
                .or_default()
                .push(ToolBinding {
                    tool_id: id,
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
        c
    }

    fn add_reads(&mut self, id: &str, tables: &[String]) {
        for table in tables {
            self.data_stores
                .entry(table_id(table))
                .or_insert_with(|| table_store(table));
        }
        self.reads.insert(id.to_string(), tables.to_vec());
    }

    /// A tool whose type decides what it does; its backing record is named by `target_document`.
    fn shared_tool(&mut self, t: &Value) -> Tool {
        let sys_id = text(t, "sys_id");
        let kind = match sys_id {
            WEB_SEARCH_TOOL => "web_search",
            FILE_UPLOADER_TOOL => "file_upload",
            _ => text(t, "type"),
        };
        let capabilities = type_capabilities(kind, text(t, "name"));
        let target_table = text(t, "target_document_table");
        if !text(t, "target_document").is_empty()
            && !matches!(target_table, "" | "sn_aia_tool" | "sn_nowassist_skill_config")
        {
            *self.unresolved_targets.entry(target_table.to_string()).or_default() += 1;
        }
        if capabilities.contains(&Capability::Read) {
            self.reads.insert(tool_id(sys_id), Vec::new());
        }
        let script = text(t, "script");
        Tool {
            id: tool_id(sys_id),
            kind: kind.to_string(),
            name: text(t, "name").to_string(),
            capabilities,
            capabilities_unknown: None,
            targets: vec![],
            active: text(t, "active") != "false",
            attributes: [
                ("target_document".to_string(), json!(text(t, "target_document"))),
                ("target_document_table".to_string(), json!(target_table)),
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
        }
    }

    /// One binding of a CRUD or RAG tool: what this binding's inputs make it do.
    fn bound_tool(&mut self, t: &Value, binding: &Value) -> Tool {
        let kind = text(t, "type");
        let id = format!("{}:binding:{}", tool_id(text(t, "sys_id")), text(binding, "sys_id"));
        let base_name = match text(binding, "name") {
            "" => text(t, "name"),
            name => name,
        };
        let inputs = binding_inputs(kind, text(binding, "inputs"));
        let mut attributes: BTreeMap<String, Value> = [
            ("tool_sys_id".to_string(), json!(text(t, "sys_id"))),
            ("binding_sys_id".to_string(), json!(text(binding, "sys_id"))),
        ]
        .into_iter()
        .collect();
        let (name, capabilities, unknown, targets) = match &inputs {
            BindingInputs::Crud {
                operation,
                table,
                query,
                fields,
                ..
            } => {
                attributes.insert("operation".into(), json!(operation));
                attributes.insert("query".into(), json!(query));
                attributes.insert("fields".into(), json!(fields));
                let (caps, unknown) = match operation.as_str() {
                    "lookup" | "read" => (vec![Capability::Read], None),
                    "create" | "update" | "delete" => (vec![Capability::Write], None),
                    other => (
                        vec![],
                        Some(format!("the CRUD operation {other:?} is not one ServiceNow documents")),
                    ),
                };
                let targets = vec![table.clone()];
                if caps.contains(&Capability::Read) {
                    self.add_reads(&id, &targets);
                } else {
                    self.data_stores
                        .entry(table_id(table))
                        .or_insert_with(|| table_store(table));
                }
                (format!("{base_name} ({operation} {table})"), caps, unknown, targets)
            }
            BindingInputs::Rag { sources } => {
                self.add_reads(&id, sources);
                (
                    format!("{base_name} (search {})", sources.join(", ")),
                    vec![Capability::Read],
                    None,
                    sources.clone(),
                )
            }
            BindingInputs::Unreadable(reason) if kind == "crud" => (
                format!("{base_name} (binding unreadable)"),
                vec![],
                Some(reason.clone()),
                vec![],
            ),
            BindingInputs::Unreadable(reason) => {
                // A search tool only reads, but what it reads is unknown.
                self.reads_unknown.insert(id.clone(), reason.clone());
                (
                    format!("{base_name} (sources unreadable)"),
                    vec![Capability::Read],
                    None,
                    vec![],
                )
            }
        };
        attributes.insert(
            "binding_read".into(),
            json!(unknown.is_none() && !matches!(inputs, BindingInputs::Unreadable(_))),
        );
        Tool {
            id,
            kind: kind.to_string(),
            name,
            capabilities,
            capabilities_unknown: unknown,
            targets: targets.iter().map(|t| table_id(t)).collect(),
            active: text(t, "active") != "false",
            attributes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As the SDK stores a lookup binding (published/sdk-tables.json, samples).
    const LOOKUP: &str = r#"[{"name":"incident_number","value":"","description":"Incident number or sys_id","mandatory":true,"invalidMessage":null},{"name":"crudInputs","value":{"operation":"lookup","table":{"value":"incident","displayValue":"incident"},"query":"number={{incident_number}}^ORsys_id={{incident_number}}","returnFields":[{"name":"sys_id","label":"sys_id","type":"string","id":"sys_id"}],"limit":"5","orderBy":"sys_created_on","sortType":"z_to_a"},"description":"Lookup operation configuration","mandatory":true,"invalidMessage":null}]"#;
    const CREATE: &str = r#"[{"name":"caller","value":"","mandatory":true},{"name":"crudInputs","value":{"operation":"create","table":{"value":"incident","displayValue":"incident"},"fieldValues":[{"field":{"id":"caller_id","name":"caller_id","type":"reference","referenceTable":"sys_user"},"value":{"fieldValue":"{{caller}}"}}]},"mandatory":true}]"#;
    const RAG_ARRAY: &str = r#"[{"name":"search_type","description":"Search type","value":"hybrid"},{"name":"search_profile","value":"quick_action_kb_search_profile","label":"Quick Action - KB Search Profile"},{"name":"sources","value":["kb_knowledge"],"label":["Knowledge Articles"]},{"name":"fields","value":["kb_knowledge.short_description","kb_knowledge.number"]}]"#;
    const RAG_OBJECT: &str = r#"{"searchType":"hybrid","searchProfile":"quick_action_kb_search_profile","sources":[{"value":"sn_customerservice_case","label":"Cases"}]}"#;

    #[test]
    fn crud_inputs_give_operation_table_and_fields() {
        match binding_inputs("crud", LOOKUP) {
            BindingInputs::Crud {
                operation,
                table,
                return_fields,
                ..
            } => {
                assert_eq!((operation.as_str(), table.as_str()), ("lookup", "incident"));
                assert_eq!(return_fields, ["sys_id"]);
            }
            other => panic!("{other:?}"),
        }
        match binding_inputs("crud", CREATE) {
            BindingInputs::Crud { operation, fields, .. } => {
                assert_eq!(operation, "create");
                assert_eq!(fields, ["caller_id"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rag_sources_in_both_stored_forms() {
        assert_eq!(
            binding_inputs("search_retrieval", RAG_ARRAY),
            BindingInputs::Rag {
                sources: vec!["kb_knowledge".into()]
            }
        );
        assert_eq!(
            binding_inputs("rag", RAG_OBJECT),
            BindingInputs::Rag {
                sources: vec!["sn_customerservice_case".into()]
            }
        );
    }

    #[test]
    fn unreadable_inputs_are_unknown_not_empty() {
        for raw in ["", "not json", r#"[{"name":"incident_number","value":""}]"#, "[]"] {
            assert!(
                matches!(binding_inputs("crud", raw), BindingInputs::Unreadable(_)),
                "{raw:?}"
            );
        }
        // The old guess: the operation in sn_aia_tool.input_schema. It is not there (§9.1).
        assert!(matches!(
            binding_inputs(
                "crud",
                r#"[{"name":"crudInputs","description":"CRUD Input Variables","mandatory":true}]"#
            ),
            BindingInputs::Unreadable(_)
        ));
    }
}
