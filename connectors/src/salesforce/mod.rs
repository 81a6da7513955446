//! Salesforce Einstein / Agentforce connector (reference: shared/saas-apis/salesforce-einstein.md;
//! sections 8 and 9 correct the body and win where they disagree).
//!
//! get: [`plan`] lists each read (SOQL on the data or Tooling API, Metadata API SOAP calls, the
//! org's limits, domain registrations of its Trusted URLs); transform: [`transform::inventory`]
//! (pure). A scan spends at most a share of the org's remaining daily API requests
//! (`max_daily_share`, default 10 %); what it could not read within that share is recorded as
//! deferred coverage, not as a failure.

pub mod auth;
pub mod client;
pub mod rdap;
pub mod soap;
pub mod transform;

use crate::auth::RefreshSlot;
use crate::http::{ApiClient, ApiError, Pacing, RequestStats};
use crate::{Collector, ConnectError, ConnectionSpec, Parts, ResourcePart, Setting, SettingKind};
use auth::{Grant, SalesforceTokens};
use client::{Api, OrgClient, ReadError, ReadFailure};
use futures::future::BoxFuture;
use schemas::{CoverageStatus, Inventory};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

pub const PROVIDER: &str = "salesforce";

/// Salesforce has no per-second limit for short requests (§3); keep a gentle pace and at most
/// four in flight per org.
pub const DEFAULT_MAX_RPS: f64 = 10.0;
const MAX_CONCURRENCY: usize = 4;
/// Share of the org's remaining daily API requests one scan may spend (percent).
pub const DEFAULT_MAX_DAILY_SHARE: f64 = 10.0;
/// Characters per `IN (...)` list: with the rest of the condition it stays under the 4,000
/// characters Salesforce allows strings in a WHERE clause, even read as the whole clause (about
/// 170 ids per query), and the URL well under 16 KiB.
const IN_LIST_CHARS: usize = 3_800;

/// Where a read gets the values of its `IN (...)` filter: (column, values) lists from earlier
/// parts, or the reason they are unknown.
pub type Keys = fn(&Parts) -> Result<Vec<(&'static str, Vec<String>)>, String>;
/// Names for a Metadata API read, from earlier parts.
type Names = fn(&Parts) -> Result<Vec<String>, String>;

/// One read of the plan.
pub enum Read {
    /// The versions list and `/limits`: sets the scan's share of the daily allowance.
    Limits,
    Soql {
        api: Api,
        object: &'static str,
        fields: &'static str,
        filter: Filter,
    },
    /// `SELECT COUNT() FROM Lead WHERE LeadSource = 'Web'`: evidence that Web-to-Lead feeds
    /// the org (§2.6; the enablement flag itself is not readable).
    WebLeads,
    /// Tooling first; on `INVALID_TYPE` the Connect REST list (§8.3, §9.1.4).
    PromptTemplates,
    /// `readMetadata` of one type for names from earlier parts.
    Metadata { kind: &'static str, names: Names },
    /// `listMetadata` then `readMetadata` of one type.
    ListedMetadata { kind: &'static str },
    /// The Einstein settings (§2.4): one `readMetadata` per settings type.
    Settings,
    /// RDAP for the registered domains of the Trusted URLs (ForcedLeak's lapsed domain, §4.1).
    DomainRegistrations,
}

pub enum Filter {
    None,
    Fixed(&'static str),
    Keys(Keys),
    /// A fixed condition and `IN (...)` lists from earlier parts.
    KeysAnd(&'static str, Keys),
}

pub struct Step {
    pub name: &'static str,
    pub read: Read,
}

impl Step {
    pub fn resource(&self) -> String {
        format!("{PROVIDER}.{}", self.name)
    }
}

/// The collection plan, in dependency order (§2.10's plan, corrected by §8 and §9).
pub fn plan() -> Vec<Step> {
    use Api::*;
    use Read::*;
    let soql = |api, object, fields, filter| Soql {
        api,
        object,
        fields,
        filter,
    };
    vec![
        Step {
            name: "limits",
            read: Limits,
        },
        Step {
            name: "Organization",
            read: soql(
                Data,
                "Organization",
                "Id, Name, OrganizationType, IsSandbox, DefaultAccountAccess, DefaultContactAccess, DefaultOpportunityAccess, DefaultLeadAccess, DefaultCaseAccess",
                Filter::None,
            ),
        },
        Step {
            name: "web_leads",
            read: WebLeads,
        },
        Step {
            name: "BotDefinition",
            // What Salesforce's own @salesforce/agents library sends (§2.1), on the data API.
            read: soql(
                Data,
                "BotDefinition",
                "Id, DeveloperName, MasterLabel, Description, Type, AgentType, AgentTemplate, BotUserId, LastModifiedDate, (SELECT Id, Status, VersionNumber, DeveloperName FROM BotVersions ORDER BY VersionNumber)",
                Filter::None,
            ),
        },
        Step {
            name: "GenAiPlannerDefinition",
            // No LinkedBotVersionId: the object has none (§9.1.3).
            read: soql(Tooling, "GenAiPlannerDefinition", "Id, DeveloperName, MasterLabel, PlannerType, NamespacePrefix", Filter::None),
        },
        Step {
            name: "GenAiPluginDefinition",
            read: soql(
                Tooling,
                "GenAiPluginDefinition",
                "Id, DeveloperName, MasterLabel, Description, PlannerId, PluginType, Scope, NamespacePrefix",
                Filter::None,
            ),
        },
        Step {
            name: "GenAiPlannerFunctionDef",
            read: soql(Tooling, "GenAiPlannerFunctionDef", "Id, PlannerId, Plugin", Filter::None),
        },
        Step {
            name: "GenAiPluginFunctionDef",
            read: soql(Tooling, "GenAiPluginFunctionDef", "Id, PluginId, Function", Filter::None),
        },
        Step {
            name: "GenAiFunctionDefinition",
            read: soql(
                Tooling,
                "GenAiFunctionDefinition",
                "Id, DeveloperName, MasterLabel, Description, InvocationTargetType, InvocationTarget, IsConfirmationRequired, PluginId, PlannerId, NamespacePrefix",
                Filter::None,
            ),
        },
        Step {
            name: "FlowDefinition",
            // The run mode of the flows behind flow actions, through the active version (§9.3).
            read: soql(
                Tooling,
                "FlowDefinition",
                "Id, DeveloperName, ActiveVersionId, ActiveVersion.RunInMode, ActiveVersion.ProcessType, ActiveVersion.Status",
                Filter::Keys(transform::agents::flow_keys),
            ),
        },
        Step {
            name: "AiPlannerRelatedAgent",
            // Agents a planner delegates to, Agentforce or third-party A2A (§9.3).
            read: soql(
                Tooling,
                "AiPlannerRelatedAgent",
                "Id, PlannerId, AiAgentId, AiAgent.DeveloperName, AiAgent.MasterLabel, AiAgent.Provider, AiAgent.Url, AiAgent.Status",
                Filter::None,
            ),
        },
        Step {
            name: "GenAiPromptTemplate",
            read: PromptTemplates,
        },
        Step {
            name: "metadata.GenAiPromptTemplate",
            // listMetadata gives the `0hf` ids actions name templates by (§8.3).
            read: ListedMetadata { kind: "GenAiPromptTemplate" },
        },
        Step {
            name: "metadata.Bot",
            read: Metadata {
                kind: "Bot",
                names: |parts| names_from(parts, "BotDefinition", "DeveloperName"),
            },
        },
        Step {
            name: "ApexClass",
            read: soql(
                Data,
                "ApexClass",
                "Id, Name, NamespacePrefix, ApiVersion, Status, Body",
                Filter::Keys(transform::agents::apex_keys),
            ),
        },
        Step {
            name: "Site",
            read: soql(Data, "Site", "Id, Name, Status, UrlPathPrefix, GuestUserId", Filter::Fixed("Status = 'Active'")),
        },
        Step {
            name: "Network",
            read: soql(Data, "Network", "Id, Name, Status, UrlPathPrefix", Filter::None),
        },
        Step {
            name: "NetworkBotDefinition",
            read: soql(Tooling, "NetworkBotDefinition", "Id, NetworkId, BotDefinitionId", Filter::None),
        },
        Step {
            name: "EmbeddedServiceConfig",
            read: soql(
                Tooling,
                "EmbeddedServiceConfig",
                "Id, DeveloperName, MasterLabel, AreGuestUsersAllowed, AuthMethod, DeploymentType, IsEnabled, SiteId",
                Filter::None,
            ),
        },
        Step {
            name: "EmbeddedServiceMessagingChannel",
            read: soql(
                Tooling,
                "EmbeddedServiceMessagingChannel",
                "Id, EmbeddedServiceConfigId, MessagingChannelId, IsEnabled",
                Filter::None,
            ),
        },
        Step {
            name: "MessagingChannel",
            // The agent link is visible only here, on the data API (§8.4).
            read: soql(
                Data,
                "MessagingChannel",
                "Id, DeveloperName, MasterLabel, MessageType, PlatformType, IsActive, SessionHandlerId",
                Filter::None,
            ),
        },
        Step {
            name: "metadata.ConnectedApp",
            read: ListedMetadata { kind: "ConnectedApp" },
        },
        // External client apps (§2.8): scopes, then policies (permitted users, IP relaxation,
        // refresh tokens, client credentials and its Run As user).
        Step {
            name: "metadata.ExtlClntAppOauthSettings",
            read: ListedMetadata {
                kind: "ExtlClntAppOauthSettings",
            },
        },
        Step {
            name: "metadata.ExtlClntAppOauthConfigurablePolicies",
            read: ListedMetadata {
                kind: "ExtlClntAppOauthConfigurablePolicies",
            },
        },
        Step {
            name: "User",
            read: soql(
                Data,
                "User",
                "Id, Username, Name, IsActive, UserType, ProfileId, Profile.Name, LastLoginDate",
                Filter::Keys(transform::access::user_keys),
            ),
        },
        Step {
            name: "PermissionSetAssignment",
            read: soql(
                Data,
                "PermissionSetAssignment",
                transform::access::ASSIGNMENT_FIELDS,
                Filter::Keys(|parts| Ok(vec![("AssigneeId", ids_from(parts, "User", "Id")?)])),
            ),
        },
        Step {
            name: "ObjectPermissions",
            read: soql(
                Data,
                "ObjectPermissions",
                "Id, ParentId, SobjectType, PermissionsRead, PermissionsCreate, PermissionsEdit, PermissionsDelete, PermissionsViewAllRecords, PermissionsModifyAllRecords",
                Filter::Keys(|parts| Ok(vec![("ParentId", ids_from(parts, "PermissionSetAssignment", "PermissionSetId")?)])),
            ),
        },
        Step {
            name: "SetupEntityAccess",
            // Which Apex classes those users' permission sets let them run (§2.6).
            read: soql(
                Data,
                "SetupEntityAccess",
                "Id, ParentId, SetupEntityId, SetupEntityType",
                Filter::KeysAnd(
                    "SetupEntityType = 'ApexClass'",
                    |parts| Ok(vec![("ParentId", ids_from(parts, "PermissionSetAssignment", "PermissionSetId")?)]),
                ),
            ),
        },
        Step {
            name: "agent_builders",
            read: soql(
                Data,
                "PermissionSetAssignment",
                "AssigneeId, PermissionSet.Name",
                Filter::Fixed("PermissionSet.PermissionsEinsteinAgentPlatformBuilder = true OR PermissionSet.PermissionsManagePromptTemplates = true"),
            ),
        },
        Step {
            name: "CspTrustedSite",
            read: soql(
                Data,
                "CspTrustedSite",
                "Id, DeveloperName, EndpointUrl, IsActive, Context, IsApplicableToConnectSrc, IsApplicableToImgSrc, IsApplicableToFrameSrc, LastModifiedDate",
                Filter::None,
            ),
        },
        Step {
            name: "trusted_url_domains",
            read: DomainRegistrations,
        },
        Step {
            name: "ConnectedApplication",
            read: soql(
                Data,
                "ConnectedApplication",
                "Id, Name, OptionsAllowAdminApprovedUsersOnly, OptionsHasSessionLevelPolicy, RefreshTokenValidityPeriod, OptionsRefreshTokenValidityMetric",
                Filter::None,
            ),
        },
        Step {
            name: "OauthToken",
            read: soql(Data, "OauthToken", "Id, AppName, UserId, CreatedDate, LastUsedDate, UseCount", Filter::None),
        },
        Step {
            name: "metadata.settings",
            read: Settings,
        },
    ]
}

/// The settings types read with `readMetadata` and their full names (§2.4, §8.8).
pub const SETTINGS: &[(&str, &str)] = &[
    ("EinsteinGptSettings", "EinsteinGpt"),
    ("EinsteinAISettings", "EinsteinAI"),
    ("AgentPlatformSettings", "AgentPlatform"),
];

/// The records of an earlier resource (by its short name), or why they are unknown.
fn records<'a>(parts: &'a Parts, name: &str) -> Result<&'a [Value], String> {
    crate::needed(parts, &format!("{PROVIDER}.{name}"))
}

/// Distinct non-empty string values of `field` in an earlier resource.
pub fn ids_from(parts: &Parts, name: &str, field: &str) -> Result<Vec<String>, String> {
    let set: BTreeSet<String> = records(parts, name)?
        .iter()
        .filter_map(|r| r.get(field).and_then(Value::as_str))
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect();
    Ok(set.into_iter().collect())
}

fn names_from(parts: &Parts, name: &str, field: &str) -> Result<Vec<String>, String> {
    ids_from(parts, name, field)
}

/// A Salesforce connection's non-secret settings, as stored with the connection.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `https://login.salesforce.com`, `https://test.salesforce.com`, or the org's My Domain
    /// (required for client credentials, §8.1).
    pub login_url: String,
    /// The connected app's (or external client app's) consumer key.
    pub client_id: String,
    /// The integration user the JWT bearer assertion names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// `vNN.N`; default: the newest the org offers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rps: Option<f64>,
    /// Percent of the org's remaining daily API requests one scan may spend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_daily_share: Option<f64>,
    /// Rows per query page (`Sforce-Query-Options: batchSize`, 200–2000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
    /// RDAP service for domain registrations (default `https://rdap.org/`; `off` to skip).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rdap_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_wait_secs: Option<u64>,
}

impl Settings {
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("settings serialize")
    }
}

/// Names of the secrets a Salesforce connection holds.
pub const PRIVATE_KEY: &str = "private_key";
pub const CLIENT_SECRET: &str = "client_secret";
pub const REFRESH_TOKEN: &str = "refresh_token";

/// Where an admin signs in (web server flow, §1.2).
pub fn authorize_url(login_url: &str) -> String {
    format!("{}/services/oauth2/authorize", login_url.trim_end_matches('/'))
}

pub fn token_url(login_url: &str) -> String {
    format!("{}/services/oauth2/token", login_url.trim_end_matches('/'))
}

/// Salesforce in the vendor registry.
pub const VENDOR: crate::Vendor = crate::Vendor {
    id: PROVIDER,
    label: "Salesforce",
    settings: &[
        Setting {
            name: "login_url",
            label: "Login URL",
            kind: SettingKind::Url,
            required: true,
        },
        Setting {
            name: "client_id",
            label: "Consumer key",
            kind: SettingKind::Text,
            required: true,
        },
        Setting {
            name: "username",
            label: "Integration user (JWT bearer)",
            kind: SettingKind::Text,
            required: false,
        },
        Setting {
            name: "api_version",
            label: "API version",
            kind: SettingKind::Text,
            required: false,
        },
        Setting {
            name: "max_rps",
            label: "Requests per second",
            kind: SettingKind::Number,
            required: false,
        },
        Setting {
            name: "max_daily_share",
            label: "Share of the daily API requests (%)",
            kind: SettingKind::Number,
            required: false,
        },
        Setting {
            name: "page_size",
            label: "Rows per page",
            kind: SettingKind::Number,
            required: false,
        },
        Setting {
            name: "rdap_url",
            label: "RDAP service for domain checks",
            kind: SettingKind::Text,
            required: false,
        },
        Setting {
            name: "max_wait_secs",
            label: "Longest wait before parking",
            kind: SettingKind::Number,
            required: false,
        },
    ],
    secrets: &[PRIVATE_KEY, CLIENT_SECRET, REFRESH_TOKEN],
    default_max_rps: DEFAULT_MAX_RPS,
    destination_settings: &["login_url"],
    resources: || plan().iter().map(Step::resource).collect(),
    collector: |spec| Ok(Box::new(Salesforce::from_spec(spec)?)),
    verify: |spec| {
        Box::pin(async move {
            let connector = Salesforce::from_spec(&spec)?;
            connector.verify().await?;
            Ok(connector.rotated_secrets())
        })
    },
};

pub struct Salesforce {
    org: OrgClient,
    settings: Settings,
    rdap: rdap::Rdap,
    /// Parts read ahead in a `/composite` call, handed out when their resource's turn comes
    /// (a restarted scan has none and reads them again).
    read_ahead: std::sync::Mutex<BTreeMap<String, ResourcePart>>,
}

/// Queries one `/composite` call may carry (§8.5).
const COMPOSITE_QUERIES: usize = 5;

/// The statement of a read that needs nothing from earlier parts and goes to the data API:
/// what a `/composite` call may carry (Tooling queries are not documented there).
fn batchable(step: &Step) -> Option<String> {
    match &step.read {
        Read::Soql {
            api: Api::Data,
            object,
            fields,
            filter: Filter::None,
        } => Some(format!("SELECT {fields} FROM {object}")),
        Read::Soql {
            api: Api::Data,
            object,
            fields,
            filter: Filter::Fixed(condition),
        } => Some(format!("SELECT {fields} FROM {object} WHERE {condition}")),
        Read::WebLeads => Some(WEB_LEADS.to_string()),
        _ => None,
    }
}

const WEB_LEADS: &str = "SELECT COUNT() FROM Lead WHERE LeadSource = 'Web'";

/// The web-leads record from a `COUNT()` answer.
fn web_leads(total: Option<u64>) -> Vec<Value> {
    vec![json!({"LeadSource": "Web", "count": total})]
}

impl Salesforce {
    pub fn from_spec(spec: &ConnectionSpec) -> Result<Self, ConnectError> {
        let settings: Settings = serde_json::from_value(spec.settings.clone())
            .map_err(|e| ConnectError::Setting(format!("Salesforce settings: {e}")))?;
        let login_url = settings.login_url.trim_end_matches('/').to_string();
        let parsed =
            url::Url::parse(&login_url).map_err(|e| ConnectError::Setting(format!("login_url {login_url:?}: {e}")))?;
        if !matches!(parsed.scheme(), "https" | "http") {
            return Err(ConnectError::Setting(format!(
                "login_url {login_url:?}: not an http(s) URL"
            )));
        }
        if let Some(version) = &settings.api_version {
            let ok = version
                .strip_prefix('v')
                .is_some_and(|v| v.parse::<f64>().is_ok_and(|n| n.is_finite()) && v.contains('.'));
            if !ok {
                return Err(ConnectError::Setting(format!(
                    "api_version {version:?}: expected vNN.N, for example v66.0"
                )));
            }
        }
        if let Some(share) = settings.max_daily_share {
            if !(share.is_finite() && share > 0.0 && share <= 100.0) {
                return Err(ConnectError::Setting(format!(
                    "max_daily_share {share}: a percentage above 0 and at most 100"
                )));
            }
        }
        let grant = if let Some(token) = spec.secrets.get(REFRESH_TOKEN) {
            Grant::RefreshToken {
                slot: RefreshSlot::new(token),
                secret: spec.secrets.get(CLIENT_SECRET).cloned(),
            }
        } else if let Some(pem) = spec.secrets.get(PRIVATE_KEY) {
            let username = settings
                .username
                .clone()
                .ok_or_else(|| ConnectError::Setting("username is required with a private key (JWT bearer)".into()))?;
            let key = auth::private_key(pem).map_err(ConnectError::Setting)?;
            Grant::JwtBearer {
                username,
                key: Arc::new(key),
            }
        } else if let Some(secret) = spec.secrets.get(CLIENT_SECRET) {
            Grant::ClientCredentials { secret: secret.clone() }
        } else {
            return Err(ConnectError::Setting(
                "no credentials: give a private key and username (JWT bearer) or a client secret (client credentials)"
                    .into(),
            ));
        };
        let tokens = Arc::new(
            SalesforceTokens::new(&login_url, &settings.client_id, grant).map_err(|e| ConnectError::Api(e.into()))?,
        );
        let pacing = Pacing::from_settings(
            VENDOR.default_max_rps,
            MAX_CONCURRENCY,
            settings.max_rps,
            settings.max_wait_secs,
            None,
        );
        let api =
            ApiClient::new(tokens.clone() as Arc<dyn crate::auth::TokenSource>, pacing)?.with_hooks(&client::API_HOOKS);
        let page_size = settings.page_size.map(|n| n.clamp(200, 2000));
        let rdap = rdap::Rdap::new(settings.rdap_url.as_deref()).map_err(ConnectError::Setting)?;
        Ok(Salesforce {
            org: OrgClient::new(api, tokens, settings.api_version.clone(), page_size),
            settings,
            rdap,
            read_ahead: Default::default(),
        })
    }

    /// Reads `step` together with the next unread batchable steps in one `/composite` call;
    /// `None` when there is nothing to batch it with or the call failed (then it is read
    /// alone).
    async fn read_batched(&self, step: &Step, earlier: &Parts) -> Option<Result<ResourcePart, ApiError>> {
        let resource = step.resource();
        if let Some(part) = self
            .read_ahead
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&resource)
        {
            return Some(Ok(part));
        }
        let own = batchable(step)?;
        let steps = plan();
        let ahead = self
            .read_ahead
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect::<BTreeSet<_>>();
        let mut group: Vec<(String, String)> = vec![(resource.clone(), own)];
        let start = steps.iter().position(|s| s.resource() == resource)?;
        for later in &steps[start + 1..] {
            if group.len() == COMPOSITE_QUERIES {
                break;
            }
            let name = later.resource();
            if earlier.contains_key(&name) || ahead.contains(&name) {
                continue;
            }
            if let Some(statement) = batchable(later) {
                group.push((name, statement));
            }
        }
        if group.len() < 2 {
            return None;
        }
        let statements: Vec<String> = group.iter().map(|(_, s)| s.clone()).collect();
        let (outcomes, sent) = match self.org.composite_queries(&statements).await {
            Ok(answer) => answer,
            Err(ReadFailure {
                error: ReadError::Budget(spent),
                requests,
            }) => {
                return Some(Ok(ResourcePart::gap(
                    &resource,
                    CoverageStatus::Deferred,
                    spent.0,
                    Vec::new(),
                    requests,
                )))
            }
            Err(ReadFailure {
                error: ReadError::Api(e),
                ..
            }) if e.stops_scan() => return Some(Err(e)),
            // The org refused the composite call itself: read each query alone.
            Err(_) => return None,
        };
        let mut mine = None;
        for (i, ((name, statement), outcome)) in group.into_iter().zip(outcomes).enumerate() {
            // The call's one request is the first resource's.
            let spent = if i == 0 { sent } else { 0 };
            let part = match outcome {
                // A throttled item is read again alone, with the client's backoff.
                Err(ApiError::Throttled { .. }) => continue,
                Err(error) => part_for_failure(
                    &name,
                    ReadFailure {
                        error: ReadError::Api(error),
                        requests: spent,
                    },
                ),
                Ok(first) => match self.org.query_from(Api::Data, &statement, Some(first)).await {
                    Ok(read) => {
                        let records = if statement == WEB_LEADS {
                            web_leads(read.total_size)
                        } else {
                            read.records
                        };
                        Ok(ResourcePart::collected(&name, records, spent + read.requests))
                    }
                    Err(failure) => part_for_failure(&name, failure.after(spent)),
                },
            };
            if name == resource {
                mine = Some(part);
            } else if let Ok(part) = part {
                self.read_ahead
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(name, part);
            }
        }
        mine
    }

    /// Signs in and reads the versions list: proves the credentials and the instance.
    pub async fn verify(&self) -> Result<(), ConnectError> {
        self.org.version().await?;
        Ok(())
    }

    fn share(&self) -> f64 {
        self.settings.max_daily_share.unwrap_or(DEFAULT_MAX_DAILY_SHARE) / 100.0
    }

    async fn fetch_step(&self, step: &Step, earlier: &Parts) -> Result<ResourcePart, ApiError> {
        let resource = step.resource();
        if let Some(part) = self.read_batched(step, earlier).await {
            return part;
        }
        let outcome = match &step.read {
            Read::Limits => self.read_limits().await,
            Read::Soql {
                api,
                object,
                fields,
                filter,
            } => match filter {
                Filter::None => self.soql(*api, &format!("SELECT {fields} FROM {object}")).await,
                Filter::Fixed(condition) => {
                    self.soql(*api, &format!("SELECT {fields} FROM {object} WHERE {condition}"))
                        .await
                }
                Filter::Keys(keys) => match keys(earlier) {
                    Ok(keys) => self.soql_in(*api, object, fields, None, keys).await,
                    Err(reason) => return Ok(unmet(&resource, reason)),
                },
                Filter::KeysAnd(condition, keys) => match keys(earlier) {
                    Ok(keys) => self.soql_in(*api, object, fields, Some(condition), keys).await,
                    Err(reason) => return Ok(unmet(&resource, reason)),
                },
            },
            Read::WebLeads => self
                .org
                .query(Api::Data, WEB_LEADS)
                .await
                .map(|read| (web_leads(read.total_size), read.requests)),
            Read::PromptTemplates => self.read_prompt_templates().await,
            Read::Metadata { kind, names } => match names(earlier) {
                Ok(names) => self.read_metadata(kind, names).await,
                Err(reason) => return Ok(unmet(&resource, reason)),
            },
            Read::ListedMetadata { kind } => self.read_listed_metadata(kind).await,
            Read::Settings => self.read_settings().await,
            Read::DomainRegistrations => match records(earlier, "CspTrustedSite") {
                Ok(sites) => {
                    return Ok(self.rdap.registrations(&resource, sites).await);
                }
                Err(reason) => return Ok(unmet(&resource, reason)),
            },
        };
        match outcome {
            Ok((records, requests)) => Ok(ResourcePart::collected(&resource, records, requests)),
            Err(failure) => part_for_failure(&resource, failure),
        }
    }

    async fn read_limits(&self) -> Result<(Vec<Value>, u64), ReadFailure> {
        let base = self.org.data_base().await.map_err(api_failure)?;
        let (_, body, requests) = self.org.get(&format!("{base}/limits"), &[]).await?;
        let daily = body.get("DailyApiRequests").cloned().unwrap_or(Value::Null);
        let remaining = daily.get("Remaining").and_then(Value::as_u64);
        let max = daily.get("Max").and_then(Value::as_u64);
        if let Some(remaining) = remaining {
            self.org.set_allowance(remaining, self.share());
        }
        let version = self.org.version().await.map_err(api_failure)?;
        let session = self.org.tokens.session();
        Ok((
            vec![json!({
                "api_version": version,
                "DailyApiRequests": {"Max": max, "Remaining": remaining},
                "max_daily_share_percent": self.share() * 100.0,
                "allowance": *self.org.allowance.limit.lock().unwrap_or_else(|e| e.into_inner()),
                "org_id": session.as_ref().and_then(|s| s.org_id.clone()),
            })],
            requests,
        ))
    }

    async fn soql(&self, api: Api, statement: &str) -> Result<(Vec<Value>, u64), ReadFailure> {
        self.org
            .query(api, statement)
            .await
            .map(|read| (read.records, read.requests))
    }

    /// `WHERE [<condition> AND] <column> IN (...)` for each key list, in chunks; rows
    /// deduplicated by `Id`.
    async fn soql_in(
        &self,
        api: Api,
        object: &str,
        fields: &str,
        condition: Option<&str>,
        keys: Vec<(&'static str, Vec<String>)>,
    ) -> Result<(Vec<Value>, u64), ReadFailure> {
        let mut out: Vec<Value> = Vec::new();
        let mut seen = BTreeSet::new();
        let mut requests = 0;
        for (column, values) in keys {
            for list in client::soql_lists(values.iter().map(String::as_str), IN_LIST_CHARS) {
                let statement = match condition {
                    Some(condition) => {
                        format!("SELECT {fields} FROM {object} WHERE {condition} AND {column} IN {list}")
                    }
                    None => format!("SELECT {fields} FROM {object} WHERE {column} IN {list}"),
                };
                let read = self.org.query(api, &statement).await.map_err(|f| f.after(requests))?;
                requests += read.requests;
                for record in read.records {
                    let id = record.get("Id").and_then(Value::as_str).map(str::to_string);
                    if id.as_ref().is_none_or(|id| seen.insert(id.clone())) {
                        out.push(record);
                    }
                }
            }
        }
        Ok((out, requests))
    }

    async fn read_prompt_templates(&self) -> Result<(Vec<Value>, u64), ReadFailure> {
        let statement = "SELECT Id, DeveloperName, MasterLabel, Type, RelatedEntity, IsActive, ActiveVersionId, NamespacePrefix FROM GenAiPromptTemplate";
        match self.org.query(Api::Tooling, statement).await {
            Ok(read) => Ok((read.records, read.requests)),
            Err(ReadFailure {
                error: ReadError::Api(ApiError::Status { status: 400, message }),
                requests,
            }) if message.starts_with("INVALID_TYPE") => {
                // Not queryable in this org (§8.3): the Connect REST list, 50 per page.
                let base = self.org.data_base().await.map_err(api_failure)?;
                let mut out = Vec::new();
                let mut spent = requests;
                for page in 0..200 {
                    let url = format!(
                        "{base}/einstein/prompt-templates?isActive=false&offset={}&pageLimit=50",
                        page * 50
                    );
                    let (_, body, sent) = self.org.get(&url, &[]).await.map_err(|f| f.after(spent))?;
                    spent += sent;
                    let records = body
                        .get("promptRecords")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default();
                    let empty = records.is_empty();
                    out.extend(records.iter().map(transform::agents::prompt_record));
                    if empty || !body.get("hasMoreRecords").and_then(Value::as_bool).unwrap_or(false) {
                        return Ok((out, spent));
                    }
                }
                Ok((out, spent))
            }
            Err(failure) => Err(failure),
        }
    }

    async fn read_metadata(&self, kind: &str, names: Vec<String>) -> Result<(Vec<Value>, u64), ReadFailure> {
        let mut out = Vec::new();
        let mut requests = 0;
        for chunk in names.chunks(soap::READ_CHUNK) {
            let (answer, sent) = soap::call(&self.org, "readMetadata", &soap::read_body(kind, chunk))
                .await
                .map_err(|f| f.after(requests))?;
            requests += sent;
            out.extend(answer.records());
        }
        Ok((out, requests))
    }

    async fn read_listed_metadata(&self, kind: &str) -> Result<(Vec<Value>, u64), ReadFailure> {
        let (listed, requests) = soap::call(&self.org, "listMetadata", &soap::list_body(kind)).await?;
        // fullName → id, kept on each record as `@id` (the sObject id joins on it).
        let ids: BTreeMap<String, String> = listed
            .results
            .iter()
            .filter_map(|r| {
                let name = r.get("fullName").and_then(Value::as_str)?;
                Some((
                    name.to_string(),
                    r.get("id").and_then(Value::as_str).unwrap_or("").to_string(),
                ))
            })
            .collect();
        let (mut records, more) = self
            .read_metadata(kind, ids.keys().cloned().collect())
            .await
            .map_err(|f| f.after(requests))?;
        for record in &mut records {
            if let Some(id) = record.get("fullName").and_then(Value::as_str).and_then(|n| ids.get(n)) {
                record["@id"] = json!(id);
            }
        }
        Ok((records, requests + more))
    }

    async fn read_settings(&self) -> Result<(Vec<Value>, u64), ReadFailure> {
        let mut out = Vec::new();
        let mut requests = 0;
        for (kind, name) in SETTINGS {
            let (records, sent) = self
                .read_metadata(kind, vec![name.to_string()])
                .await
                .map_err(|f| f.after(requests))?;
            requests += sent;
            out.extend(records.into_iter().map(|mut r| {
                r["@type"] = json!(kind);
                r
            }));
        }
        Ok((out, requests))
    }
}

/// A read whose inputs are unknown because an earlier read did not complete.
fn unmet(resource: &str, reason: String) -> ResourcePart {
    ResourcePart::gap(resource, CoverageStatus::Failed, reason, Vec::new(), 0)
}

fn api_failure(error: ApiError) -> ReadFailure {
    ReadFailure {
        error: ReadError::Api(error),
        requests: 0,
    }
}

/// A failed read as a coverage record, or the error that stops the scan.
fn part_for_failure(resource: &str, failure: ReadFailure) -> Result<ResourcePart, ApiError> {
    match failure.error {
        ReadError::Budget(spent) => Ok(ResourcePart::gap(
            resource,
            CoverageStatus::Deferred,
            spent.0,
            Vec::new(),
            failure.requests,
        )),
        ReadError::Api(error) if error.stops_scan() => Err(error),
        ReadError::Api(error) => {
            let mut part = ResourcePart::failed(resource, &error, failure.requests);
            if let ApiError::Status { message, .. } = &error {
                // An object or field this org does not have (feature off, older release):
                // unsupported here, not a failure (§2.0).
                if message.starts_with("INVALID_TYPE")
                    || message.starts_with("INVALID_FIELD")
                    || message.starts_with("NOT_FOUND")
                {
                    part.coverage.status = CoverageStatus::Unsupported;
                }
                if message.starts_with("INSUFFICIENT_ACCESS") {
                    part.coverage.status = CoverageStatus::Forbidden;
                    part.coverage.error = Some(format!(
                        "{error} (the Metadata API needs Modify Metadata Through Metadata API Functions; see the README)"
                    ));
                }
            }
            Ok(part)
        }
    }
}

impl Collector for Salesforce {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn resources(&self) -> Vec<String> {
        (VENDOR.resources)()
    }

    fn fetch<'a>(&'a self, resource: &'a str, earlier: &'a Parts) -> BoxFuture<'a, Result<ResourcePart, ApiError>> {
        Box::pin(async move {
            let steps = plan();
            let step = steps
                .iter()
                .find(|s| s.resource() == resource)
                .ok_or_else(|| ApiError::Status {
                    status: 400,
                    message: format!("unknown Salesforce resource {resource}"),
                })?;
            // A scan resumed after a restart has no allowance yet: read the limits first.
            if !matches!(step.read, Read::Limits)
                && self
                    .org
                    .allowance
                    .limit
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .is_none()
            {
                if let Some(remaining) = earlier
                    .get(&format!("{PROVIDER}.limits"))
                    .and_then(|p| p.records.first())
                    .and_then(|r| r["DailyApiRequests"]["Remaining"].as_u64())
                {
                    self.org.set_allowance(remaining, self.share());
                    // What the scan spent before it was interrupted counts against the same share.
                    let spent: u64 = earlier.values().map(|p| p.coverage.requests).sum();
                    self.org
                        .allowance
                        .spent
                        .store(spent, std::sync::atomic::Ordering::Relaxed);
                }
            }
            self.fetch_step(step, earlier).await
        })
    }

    fn transform(&self, parts: &Parts, connection_id: &str, collected_at: &str) -> Inventory {
        transform::inventory(parts, connection_id, collected_at)
    }

    fn stats(&self) -> Arc<RequestStats> {
        self.org.api.stats.clone()
    }

    fn rotated_secrets(&self) -> BTreeMap<String, String> {
        self.org
            .tokens
            .rotated_refresh_token()
            .map(|t| BTreeMap::from([(REFRESH_TOKEN.to_string(), t)]))
            .unwrap_or_default()
    }
}
