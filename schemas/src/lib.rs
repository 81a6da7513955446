//! The normalized posture model: what every connector produces and what the engine reads.
//!
//! One [`Inventory`] per connection per scan. The typed core is deliberately small; vendor
//! detail that a rule may need lives in each record's `attributes` map.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Free-form vendor detail kept beside the typed core (values as JSON).
pub type Attributes = BTreeMap<String, serde_json::Value>;

/// Everything one connection exposed in one scan, after transformation.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Inventory {
    /// Vendor key, e.g. `servicenow`.
    pub provider: String,
    /// The connection this inventory was collected through.
    pub connection_id: String,
    /// RFC 3339 time the collection finished.
    pub collected_at: String,
    #[serde(default)]
    pub principals: Vec<Principal>,
    #[serde(default)]
    pub agents: Vec<Agent>,
    #[serde(default)]
    pub tools: Vec<Tool>,
    #[serde(default)]
    pub data_stores: Vec<DataStore>,
    #[serde(default)]
    pub grants: Vec<Grant>,
    #[serde(default)]
    pub settings: Vec<AiSetting>,
    #[serde(default)]
    pub untrusted_inputs: Vec<UntrustedInput>,
    /// Groups of agents that can hand work to each other (named by `Agent::teams`).
    #[serde(default)]
    pub teams: Vec<Team>,
    /// One record per resource the connector tried to read: what was seen and what was not.
    #[serde(default)]
    pub coverage: Vec<Coverage>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    User,
    Group,
    Role,
    ServiceAccount,
    AiIdentity,
    App,
    Guest,
    Anonymous,
    Everyone,
    AuthenticatedUsers,
    External,
}

/// Someone or something that can hold rights or invoke an agent.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Principal {
    pub id: String,
    pub kind: PrincipalKind,
    pub name: String,
    /// Holds an elevated (admin-like) right, as the connector judged from the vendor's roles.
    pub privileged: bool,
    /// Vendor role names held, directly or inherited.
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub attributes: Attributes,
}

/// Whose identity an agent uses when it acts.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RunIdentity {
    /// The invoking user's own rights (possibly narrowed by a role mask).
    Invoker,
    /// A fixed principal named by `run_as`.
    Fixed,
    /// Set by a script or otherwise not knowable statically.
    Unknown,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Autonomy {
    /// A human approves each action.
    Supervised,
    /// Actions run without approval.
    Autonomous,
}

/// An AI agent, copilot, workflow or app that acts on data.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Agent {
    pub id: String,
    /// e.g. `now_assist_agent`, `now_assist_workflow`, `copilot_studio_agent`.
    pub kind: String,
    pub name: String,
    pub owner: Option<String>,
    pub identity: RunIdentity,
    /// Principal id of the fixed run-as identity when `identity` is `fixed`.
    pub run_as: Option<String>,
    /// Roles the invoker's rights are narrowed to (role masking); `None` means no mask.
    pub role_mask: Option<Vec<String>>,
    /// Principal ids allowed to invoke the agent (may include the special
    /// `anonymous`, `everyone`, `authenticated_users` principals).
    #[serde(default)]
    pub audience: Vec<String>,
    /// True when the connector could not read who may invoke the agent.
    #[serde(default)]
    pub audience_unknown: bool,
    #[serde(default)]
    pub channels: Vec<String>,
    pub autonomy: Autonomy,
    #[serde(default)]
    pub tools: Vec<ToolBinding>,
    /// Data store ids the agent grounds on.
    #[serde(default)]
    pub knowledge: Vec<String>,
    /// Groups of agents that may recruit each other (multi-agent teams).
    #[serde(default)]
    pub teams: Vec<String>,
    pub active: bool,
    pub last_used: Option<String>,
    #[serde(default)]
    pub attributes: Attributes,
}

/// A multi-agent team: its members may recruit each other; its orchestrators (for example an
/// agentic workflow) hand work to the members but are not recruited by them.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Team {
    pub id: String,
    pub name: String,
    /// Agent ids that direct the team without being members.
    #[serde(default)]
    pub orchestrators: Vec<String>,
    #[serde(default)]
    pub attributes: Attributes,
}

/// An agent's use of a tool, with the per-binding execution mode.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct ToolBinding {
    pub tool_id: String,
    pub autonomy: Autonomy,
    pub active: bool,
    #[serde(default)]
    pub attributes: Attributes,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    Read,
    Write,
    SendExternal,
    ExecuteCode,
}

/// An action an agent can take.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Tool {
    pub id: String,
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub capabilities: Vec<Capability>,
    /// Set when what the tool can do could not be read (then `capabilities` is not the whole
    /// truth): why. Rules that depend on it are not assessed rather than passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities_unknown: Option<String>,
    /// Data store ids the tool reads or writes (`*` = any).
    #[serde(default)]
    pub targets: Vec<String>,
    pub active: bool,
    #[serde(default)]
    pub attributes: Attributes,
}

/// Somewhere data lives: a table, a site, a mailbox.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct DataStore {
    pub id: String,
    pub kind: String,
    pub name: String,
    /// `public`, `internal`, `confidential` or `restricted`; `None` when unknown.
    pub sensitivity: Option<String>,
    pub external_sharing: Option<String>,
    #[serde(default)]
    pub attributes: Attributes,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Read,
    Write,
    Admin,
}

/// A right held by a principal over a target (a data store, an agent, or the tenant).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Grant {
    pub holder: String,
    pub target: String,
    /// The vendor's own name for the permission.
    pub permission: String,
    pub level: Level,
    /// `tenant` or `resource`.
    pub scope: String,
    pub consent: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SettingSource {
    /// Read from the vendor.
    Explicit,
    /// Not set on the vendor side; the documented platform default applies.
    Default,
}

/// One AI-relevant tenant setting, with its effective value.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct AiSetting {
    /// Stable key, `<provider>.<vendor name>`.
    pub key: String,
    pub value: serde_json::Value,
    pub scope: String,
    pub source: SettingSource,
    /// How the value is known: read by API, inferred from the latest change in an audit log,
    /// attested by an admin (`manual`), or not knowable (`unavailable`, then `value` is null).
    #[serde(default = "Evidence::api")]
    pub evidence: Evidence,
    /// When the value was last known to be so (the audit event's time); `None` for API reads,
    /// which are as of the scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
}

/// A way content from outside the trust boundary reaches an agent.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct UntrustedInput {
    pub id: String,
    /// `inbound_email`, `record_trigger`, `public_chat`, `chat_channel`, `external_agent`, ...
    pub kind: String,
    pub name: String,
    /// Agent ids the input reaches.
    #[serde(default)]
    pub reaches: Vec<String>,
    /// True when no sign-in is needed to send content through it.
    pub unauthenticated: bool,
    #[serde(default)]
    pub attributes: Attributes,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CoverageStatus {
    Collected,
    Forbidden,
    NotFound,
    Unsupported,
    NotLicensed,
    /// Not readable with this connection's kind of credentials (e.g. an API Microsoft serves
    /// only to a signed-in admin); the reason says what would make it readable.
    Unavailable,
    /// Not read in this scan to stay within the vendor's API allowance (a share of the org's
    /// daily requests); the next scan reads it. Not a failure of the connection.
    Deferred,
    Failed,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    Api,
    AuditLogInferred,
    Manual,
    Unavailable,
}

impl Evidence {
    pub fn api() -> Evidence {
        Evidence::Api
    }
}

/// What happened when the connector tried to read one resource.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Coverage {
    /// `<provider>.<vendor resource>`, e.g. `servicenow.sn_aia_agent`.
    pub resource: String,
    pub status: CoverageStatus,
    pub evidence: Evidence,
    pub requests: u64,
    pub records: u64,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(&self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FindingStatus {
    Open,
    Resolved,
}

/// A node on an exposure path.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct PathNode {
    pub id: String,
    pub kind: String,
    pub name: String,
}

/// An edge on an exposure path: `from` and `to` index into `nodes`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct PathEdge {
    pub from: usize,
    pub to: usize,
    pub kind: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct ExposurePath {
    pub nodes: Vec<PathNode>,
    pub edges: Vec<PathEdge>,
}

/// Framework mappings of a rule.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Frameworks {
    #[serde(default)]
    pub owasp_llm_2025: Vec<String>,
    #[serde(default)]
    pub owasp_agentic: Vec<String>,
    #[serde(default)]
    pub mitre_atlas: Vec<String>,
    #[serde(default)]
    pub nist_ai_rmf: Vec<String>,
}

/// The resource a finding is about.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct FindingResource {
    pub id: String,
    /// `agent`, `tool`, `principal`, `tenant`, `untrusted_input`, `path`, ...
    pub kind: String,
    pub name: String,
    pub provider: String,
    pub connection_id: String,
}

/// A failed rule on one resource (or one exposure path), tracked over time.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Finding {
    /// Stable: the same rule on the same resource (or path) keeps its fingerprint across scans.
    pub fingerprint: String,
    pub rule_id: String,
    pub title: String,
    pub severity: Severity,
    pub status: FindingStatus,
    pub resource: FindingResource,
    pub message: String,
    /// The values the rule looked at.
    pub evidence: serde_json::Value,
    /// The exposure path, for path rules.
    pub path: Option<ExposurePath>,
    pub remediation: String,
    pub frameworks: Frameworks,
    pub first_seen: String,
    pub last_seen: String,
}

/// The kinds of record an inventory holds (coverage aside, which describes the scan).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecordKind {
    Principal,
    Agent,
    Tool,
    DataStore,
    Grant,
    Setting,
    UntrustedInput,
    Team,
}

impl RecordKind {
    pub const ALL: [RecordKind; 8] = [
        RecordKind::Principal,
        RecordKind::Agent,
        RecordKind::Tool,
        RecordKind::DataStore,
        RecordKind::Grant,
        RecordKind::Setting,
        RecordKind::UntrustedInput,
        RecordKind::Team,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Principal => "principal",
            RecordKind::Agent => "agent",
            RecordKind::Tool => "tool",
            RecordKind::DataStore => "data_store",
            RecordKind::Grant => "grant",
            RecordKind::Setting => "setting",
            RecordKind::UntrustedInput => "untrusted_input",
            RecordKind::Team => "team",
        }
    }

    pub fn parse(text: &str) -> Option<RecordKind> {
        RecordKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// One record of an inventory as JSON, with its kind and the key that identifies it across
/// snapshots (a grant, which has no id, is keyed by holder, target and permission).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub kind: RecordKind,
    pub key: String,
    pub name: String,
    pub body: serde_json::Value,
}

fn record<T: Serialize>(kind: RecordKind, key: &str, name: &str, item: &T) -> Record {
    Record {
        kind,
        key: key.to_string(),
        name: name.to_string(),
        body: serde_json::to_value(item).expect("inventory records serialize"),
    }
}

impl Inventory {
    /// Every record, in the inventory's order, kind by kind.
    pub fn records(&self) -> Vec<Record> {
        let mut out = Vec::new();
        out.extend(
            self.principals
                .iter()
                .map(|p| record(RecordKind::Principal, &p.id, &p.name, p)),
        );
        out.extend(self.agents.iter().map(|a| record(RecordKind::Agent, &a.id, &a.name, a)));
        out.extend(self.tools.iter().map(|t| record(RecordKind::Tool, &t.id, &t.name, t)));
        out.extend(
            self.data_stores
                .iter()
                .map(|d| record(RecordKind::DataStore, &d.id, &d.name, d)),
        );
        out.extend(self.grants.iter().map(|g| {
            let key = format!("{}|{}|{}", g.holder, g.target, g.permission);
            let name = format!("{} on {}", g.permission, g.target);
            record(RecordKind::Grant, &key, &name, g)
        }));
        out.extend(
            self.settings
                .iter()
                .map(|s| record(RecordKind::Setting, &s.key, &s.key, s)),
        );
        out.extend(
            self.untrusted_inputs
                .iter()
                .map(|i| record(RecordKind::UntrustedInput, &i.id, &i.name, i)),
        );
        out.extend(self.teams.iter().map(|t| record(RecordKind::Team, &t.id, &t.name, t)));
        out
    }

    /// Adds one record read back from storage (the inverse of [`Inventory::records`]).
    pub fn push_record(&mut self, kind: RecordKind, body: serde_json::Value) -> Result<(), serde_json::Error> {
        match kind {
            RecordKind::Principal => self.principals.push(serde_json::from_value(body)?),
            RecordKind::Agent => self.agents.push(serde_json::from_value(body)?),
            RecordKind::Tool => self.tools.push(serde_json::from_value(body)?),
            RecordKind::DataStore => self.data_stores.push(serde_json::from_value(body)?),
            RecordKind::Grant => self.grants.push(serde_json::from_value(body)?),
            RecordKind::Setting => self.settings.push(serde_json::from_value(body)?),
            RecordKind::UntrustedInput => self.untrusted_inputs.push(serde_json::from_value(body)?),
            RecordKind::Team => self.teams.push(serde_json::from_value(body)?),
        }
        Ok(())
    }
}

/// What happened to a resource between two snapshots of one connection.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

/// One field of a changed resource: its path (`audience`, `attributes.public`, `tools`) and
/// the values before and after (`null` when absent on that side).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct FieldChange {
    pub path: String,
    pub old: serde_json::Value,
    pub new: serde_json::Value,
}

/// A resource added, removed or changed between a connection's previous snapshot and its new
/// one. A risk change is one that widens exposure (an agent's audience, its run-as user's
/// roles, its tools or data reach, an AI app's permissions) or that opened or resolved
/// findings; `risks` says which, in words.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct ResourceChange {
    /// `agent`, `principal`, `tool`, `data_store`, `grant`, `setting`, `untrusted_input`, `team`.
    pub resource_kind: String,
    pub resource_id: String,
    pub resource_name: String,
    pub change: ChangeKind,
    /// For `changed`: the fields that differ. Empty for `added` and `removed`.
    #[serde(default)]
    pub fields: Vec<FieldChange>,
    pub risk: bool,
    #[serde(default)]
    pub risks: Vec<String>,
    /// Resource ids whose findings this change can open or resolve (itself, the agents that
    /// run as a principal or use a tool or data store, a grant's holder and target).
    #[serde(default)]
    pub related: Vec<String>,
    /// Fingerprints of findings the evaluation after this change opened or reopened.
    #[serde(default)]
    pub findings_opened: Vec<String>,
    /// Fingerprints of findings the evaluation after this change resolved.
    #[serde(default)]
    pub findings_resolved: Vec<String>,
}

/// A finding's change of state in one evaluation.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum FindingEvent {
    /// Seen for the first time.
    Opened,
    /// Seen again after it had been resolved.
    Reopened,
    /// No longer seen where its rule was assessed.
    Resolved,
}

impl FindingEvent {
    pub fn as_str(&self) -> &'static str {
        match self {
            FindingEvent::Opened => "opened",
            FindingEvent::Reopened => "reopened",
            FindingEvent::Resolved => "resolved",
        }
    }
}

/// The JSON Schema documents this crate publishes, by file name.
pub fn json_schemas() -> Vec<(&'static str, String)> {
    let inventory = schemars::schema_for!(Inventory);
    let finding = schemars::schema_for!(Vec<Finding>);
    vec![
        (
            "inventory.schema.json",
            serde_json::to_string_pretty(&inventory).expect("schema serializes") + "\n",
        ),
        (
            "finding.schema.json",
            serde_json::to_string_pretty(&finding).expect("schema serializes") + "\n",
        ),
    ]
}
