//! Microsoft 365 Copilot connector (reference: shared/saas-apis/m365-copilot.md, read with its
//! §6 addendum): Microsoft Graph, the Power Platform admin (BAP) API, the Power Platform API
//! and each environment's Dataverse, app-only.
//!
//! get: one API client per surface, each with its own token audience and pace, all counting
//! into one [`RequestStats`]; collections paged by `@odata.nextLink`, per-object fan-out through
//! `$batch` ([`client`]). transform: [`transform::inventory`] (pure).

pub mod client;
pub mod transform;

use crate::auth::{Grant, OAuthTokenSource, RefreshSlot, TokenSource};
use crate::http::{path_segment, ApiClient, ApiError, Pacing, RequestStats};
use crate::{Collector, ConnectError, ConnectionSpec, Parts, ResourcePart, Setting, SettingKind};
use futures::future::BoxFuture;
use oauth2::ClientSecret;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::Method;
use schemas::{CoverageStatus, Inventory};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

pub const PROVIDER: &str = "m365";

pub const DEFAULT_LOGIN_URL: &str = "https://login.microsoftonline.com";
pub const DEFAULT_GRAPH_URL: &str = "https://graph.microsoft.com";
pub const DEFAULT_BAP_URL: &str = "https://api.bap.microsoft.com";
pub const DEFAULT_POWERPLATFORM_URL: &str = "https://api.powerplatform.com";
/// Graph identity reads cost 1–3 resource units of 3,500+ per 10 s (reference §3.2); 20 rps
/// stays far below and leaves room for the customer's other apps.
pub const DEFAULT_GRAPH_RPS: f64 = 20.0;
/// Dataverse allows 6,000 requests / 5 min and 52 concurrent per user; BAP is an admin API with
/// undocumented limits: both paced gently.
pub const DEFAULT_DATAVERSE_RPS: f64 = 10.0;
pub const DEFAULT_BAP_RPS: f64 = 2.0;
pub const DEFAULT_PAGE_SIZE: usize = 500;
/// Conversations older than this do not count as recent use of a Copilot Studio agent.
pub const ACTIVITY_DAYS: i64 = 90;

pub const CLIENT_SECRET: &str = "client_secret";
/// The refresh token of a Copilot or Power Platform admin who signed in (authorization code
/// with PKCE): what the APIs Microsoft serves only to signed-in admins are read with.
pub const DELEGATED_REFRESH_TOKEN: &str = "delegated_refresh_token";

/// Why some reads are not possible without the optional admin sign-in.
pub const NEEDS_DELEGATED: &str =
    "needs delegated admin sign-in: Microsoft serves this API only to a signed-in admin and refuses app-only tokens (sign in as a Copilot or Power Platform admin on the connection's page)";

/// The admin-consent URL of the operator's multi-tenant app (reference §1.2, v2 form): the
/// directory admin grants the app's configured permissions and comes back with
/// `admin_consent=True&tenant=<guid>&state=...`.
pub fn admin_consent_url(login_url: &str, client_id: &str, graph_url: &str, redirect_uri: &str, state: &str) -> String {
    let mut url = url::Url::parse(&format!(
        "{}/organizations/v2.0/adminconsent",
        login_url.trim_end_matches('/')
    ))
    .expect("the login URL was checked");
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("scope", &format!("{}/.default", graph_url.trim_end_matches('/')))
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("state", state);
    url.to_string()
}

pub fn authorize_url(login_url: &str, directory_id: &str) -> String {
    format!(
        "{}/{directory_id}/oauth2/v2.0/authorize",
        login_url.trim_end_matches('/')
    )
}

pub fn token_url(login_url: &str, directory_id: &str) -> String {
    format!("{}/{directory_id}/oauth2/v2.0/token", login_url.trim_end_matches('/'))
}

/// What the admin sign-in asks for: a refresh token, and the delegated Copilot admin scopes
/// (the Power Platform API's token is redeemed from the same refresh token).
pub fn delegated_scopes(graph_url: &str) -> Vec<String> {
    let graph = graph_url.trim_end_matches('/');
    vec![
        "offline_access".into(),
        format!("{graph}/CopilotSettings-LimitedMode.Read"),
        format!("{graph}/CopilotPolicySettings.Read"),
    ]
}

/// Whether `text` is a directory id as Entra returns it in `tenant=` (a GUID): it becomes a
/// path segment of the token URL.
pub fn is_directory_id(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// An M365 connection's non-secret settings, as stored with the connection.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The Entra tenant (directory) id.
    pub directory_id: String,
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bap_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub powerplatform_url: Option<String>,
    /// Graph requests per second (the other surfaces never go faster than this either).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rps: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_wait_secs: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<usize>,
}

impl Settings {
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("settings serialize")
    }
}

/// The token scope of the BAP API: a fixed first-party audience per cloud (addendum A2, A6),
/// else the host itself (a simulator, or a cloud this table does not know).
pub fn bap_scope(bap_url: &str) -> String {
    let host = url::Url::parse(bap_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    let audience = match host.as_str() {
        "api.bap.microsoft.com" => "https://service.powerapps.com",
        "gov.api.bap.microsoft.us" => "https://service.powerapps.us",
        "high.api.bap.microsoft.us" => "https://high.service.apps.appsplatform.us",
        "api.bap.appsplatform.us" => "https://service.apps.appsplatform.us",
        "api.bap.partner.microsoftonline.cn" => "https://service.powerapps.cn",
        _ => bap_url,
    };
    format!("{audience}/.default")
}

/// The resources read, in order (later ones use earlier parts).
pub const RESOURCES: &[&str] = &[
    "subscribed_skus",
    "users",
    "copilot_limited_mode",
    "copilot_policy_settings",
    "copilot_packages",
    "agent_identities",
    "service_principals",
    "app_role_assignments",
    "oauth2_permission_grants",
    "service_principal_owners",
    "permission_catalog",
    "sharepoint_settings",
    "sensitivity_labels",
    "powerplatform_inventory",
    "environments",
    "copilot_studio_bots",
    "copilot_studio_components",
    "copilot_studio_owners",
    "copilot_studio_activity",
    "copilot_audit",
];

pub fn resource_name(short: &str) -> String {
    format!("{PROVIDER}.{short}")
}

/// The Copilot policy settings Microsoft documents (reference §2.1.2); there is no list call.
pub const POLICY_SETTING_IDS: &[&str] = &[
    "microsoft.copilot.allowwebsearch",
    "microsoft.copilot.blockaccesstoopenfiles",
    "microsoft.copilot.imagegeneration",
    "microsoft.copilot.copilotchatpinning",
    "microsoft.copilot.allowinadmincenters",
];

/// Tenants Microsoft's own first-party apps are registered in (reference §1.5).
pub const MICROSOFT_TENANTS: &[&str] = &[
    "f8cdef31-a31e-4b4a-93e4-5f571e91255a",
    "72f988bf-86f1-41af-91ab-2d7cd011db47",
];

/// v1.0 `servicePrincipal` properties (no `publisherName`: that is beta only; Graph answers 400).
const SP_SELECT: &str = "id,appId,displayName,appDisplayName,homepage,servicePrincipalType,appOwnerOrganizationId,verifiedPublisher,accountEnabled,tags,appRoleAssignmentRequired,signInAudience";
const BOT_SELECT: &str = "botid,name,schemaname,authenticationmode,authenticationtrigger,accesscontrolpolicy,authorizedsecuritygroupids,publishedon,statecode,statuscode,_ownerid_value,_publishedby_value,createdon,modifiedon,runtimeprovider";
const COMPONENT_SELECT: &str =
    "botcomponentid,name,schemaname,componenttype,data,reusepolicy,statecode,_parentbotid_value";
/// Topics v2 (tools), custom GPT and knowledge sources (reference §2.4.3).
const COMPONENT_FILTER: &str = "componenttype eq 9 or componenttype eq 15 or componenttype eq 16";
/// Owner lookups per Dataverse request (`or`-joined `eq`), to keep URLs short.
const OWNER_CHUNK: usize = 40;

/// The base URLs of the four surfaces, without trailing slashes (defaults: commercial cloud).
struct Hosts {
    login: String,
    graph: String,
    bap: String,
    powerplatform: String,
}

impl Hosts {
    fn of(settings: &Settings) -> Result<Self, ConnectError> {
        let pick = |name: &str, value: &Option<String>, default: &str| -> Result<String, ConnectError> {
            let url = value.as_deref().unwrap_or(default).trim_end_matches('/').to_string();
            url::Url::parse(&url).map_err(|e| ConnectError::Setting(format!("{name} {url:?}: {e}")))?;
            Ok(url)
        };
        Ok(Hosts {
            login: pick("login_url", &settings.login_url, DEFAULT_LOGIN_URL)?,
            graph: pick("graph_url", &settings.graph_url, DEFAULT_GRAPH_URL)?,
            bap: pick("bap_url", &settings.bap_url, DEFAULT_BAP_URL)?,
            powerplatform: pick(
                "powerplatform_url",
                &settings.powerplatform_url,
                DEFAULT_POWERPLATFORM_URL,
            )?,
        })
    }
}

/// Microsoft 365 in the vendor registry.
pub const VENDOR: crate::Vendor = crate::Vendor {
    id: PROVIDER,
    label: "Microsoft 365",
    settings: &[
        Setting {
            name: "directory_id",
            label: "Directory (tenant) id",
            kind: SettingKind::Text,
            required: true,
        },
        Setting {
            name: "client_id",
            label: "Application (client) id",
            kind: SettingKind::Text,
            required: true,
        },
        Setting {
            name: "login_url",
            label: "Login URL",
            kind: SettingKind::Url,
            required: false,
        },
        Setting {
            name: "graph_url",
            label: "Graph URL",
            kind: SettingKind::Url,
            required: false,
        },
        Setting {
            name: "bap_url",
            label: "BAP URL",
            kind: SettingKind::Url,
            required: false,
        },
        Setting {
            name: "powerplatform_url",
            label: "Power Platform API URL",
            kind: SettingKind::Url,
            required: false,
        },
        Setting {
            name: "max_rps",
            label: "Graph requests per second",
            kind: SettingKind::Number,
            required: false,
        },
        Setting {
            name: "max_wait_secs",
            label: "Longest wait before parking",
            kind: SettingKind::Number,
            required: false,
        },
        Setting {
            name: "page_size",
            label: "Rows per page",
            kind: SettingKind::Number,
            required: false,
        },
    ],
    secrets: &[CLIENT_SECRET, DELEGATED_REFRESH_TOKEN],
    default_max_rps: DEFAULT_GRAPH_RPS,
    destination_settings: &["directory_id", "login_url", "graph_url", "bap_url", "powerplatform_url"],
    resources: || RESOURCES.iter().map(|r| resource_name(r)).collect(),
    collector: |spec| Ok(Box::new(M365::from_spec(spec)?)),
    verify: |spec| {
        Box::pin(async move {
            let connector = M365::from_spec(&spec)?;
            connector.verify().await?;
            Ok(connector.rotated_secrets())
        })
    },
};

pub struct M365 {
    settings: Settings,
    hosts: Hosts,
    graph: ApiClient,
    bap: ApiClient,
    powerplatform: ApiClient,
    /// Dataverse clients by environment URL, each with its own audience, made on first use.
    dataverse: Mutex<HashMap<String, Arc<ApiClient>>>,
    graph_tokens: Arc<OAuthTokenSource>,
    /// Graph and the Power Platform API as the admin who signed in, when one did.
    delegated: Option<Delegated>,
    /// Kept for the Dataverse audiences found during a scan (redacted by its `Debug`).
    secret: ClientSecret,
    stats: Arc<RequestStats>,
    page_size: usize,
    pacing: Pacing,
}

/// The clients that act as the signed-in admin; both redeem one (rotating) refresh token.
struct Delegated {
    graph: ApiClient,
    powerplatform: ApiClient,
    slot: RefreshSlot,
}

impl M365 {
    pub fn from_spec(spec: &ConnectionSpec) -> Result<Self, ConnectError> {
        let settings: Settings = serde_json::from_value(spec.settings.clone())
            .map_err(|e| ConnectError::Setting(format!("Microsoft 365 settings: {e}")))?;
        let secret = spec
            .secrets
            .get(CLIENT_SECRET)
            .ok_or_else(|| ConnectError::Setting("client_secret is missing".into()))?
            .clone();
        let hosts = Hosts::of(&settings)?;
        let pacing = Pacing::from_settings(
            VENDOR.default_max_rps,
            4,
            settings.max_rps,
            settings.max_wait_secs,
            None,
        );
        let graph_rps = pacing.max_rps;
        let stats = Arc::new(RequestStats::default());
        let graph_tokens = Arc::new(token_source(
            &settings,
            &hosts,
            &secret,
            &format!("{}/.default", hosts.graph),
        )?);
        // Background scans ask Graph to throttle them first (reference §3.3).
        let mut low_priority = HeaderMap::new();
        low_priority.insert("x-ms-throttle-priority", HeaderValue::from_static("Low"));
        let graph = ApiClient::with_options(
            graph_tokens.clone() as Arc<dyn TokenSource>,
            pacing.clone(),
            stats.clone(),
            low_priority,
        )?
        .with_hooks(&client::API_HOOKS);
        let slow = Pacing {
            max_rps: DEFAULT_BAP_RPS.min(graph_rps),
            max_concurrency: 2,
            ..pacing.clone()
        };
        let bap = ApiClient::with_options(
            Arc::new(token_source(&settings, &hosts, &secret, &bap_scope(&hosts.bap))?),
            slow.clone(),
            stats.clone(),
            HeaderMap::new(),
        )?
        .with_hooks(&client::API_HOOKS);
        let powerplatform = ApiClient::with_options(
            Arc::new(token_source(
                &settings,
                &hosts,
                &secret,
                &format!("{}/.default", hosts.powerplatform),
            )?),
            slow,
            stats.clone(),
            HeaderMap::new(),
        )?
        .with_hooks(&client::API_HOOKS);
        let delegated = match spec.secrets.get(DELEGATED_REFRESH_TOKEN) {
            Some(refresh_token) => {
                let slot = RefreshSlot::new(refresh_token);
                let as_admin = |scope: String, pacing: Pacing| -> Result<ApiClient, ConnectError> {
                    let tokens = OAuthTokenSource::new(
                        &token_url(&hosts.login, &settings.directory_id),
                        &settings.client_id,
                        ClientSecret::new(secret.clone()),
                        Grant::RefreshToken {
                            slot: slot.clone(),
                            scope: Some(format!("{scope} offline_access")),
                        },
                    )
                    .map_err(|e| ConnectError::Api(e.into()))?;
                    Ok(
                        ApiClient::with_options(Arc::new(tokens), pacing, stats.clone(), HeaderMap::new())?
                            .with_hooks(&client::API_HOOKS),
                    )
                };
                Some(Delegated {
                    graph: as_admin(format!("{}/.default", hosts.graph), pacing.clone())?,
                    powerplatform: as_admin(
                        format!("{}/.default", hosts.powerplatform),
                        Pacing {
                            max_rps: DEFAULT_BAP_RPS.min(graph_rps),
                            max_concurrency: 2,
                            ..pacing.clone()
                        },
                    )?,
                    slot,
                })
            }
            None => None,
        };
        Ok(M365 {
            delegated,
            page_size: settings.page_size.unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, 5000),
            settings,
            hosts,
            graph,
            bap,
            powerplatform,
            dataverse: Mutex::new(HashMap::new()),
            graph_tokens,
            secret: ClientSecret::new(secret),
            stats,
            pacing,
        })
    }

    /// Obtains a Graph token: proves the tenant, client id and secret without reading data.
    pub async fn verify(&self) -> Result<(), ConnectError> {
        self.graph_tokens
            .token(true)
            .await
            .map_err(|e| ConnectError::Api(e.into()))?;
        Ok(())
    }

    fn dataverse_client(&self, env_url: &str) -> Result<Arc<ApiClient>, ApiError> {
        let mut clients = self.dataverse.lock().expect("dataverse lock");
        if let Some(c) = clients.get(env_url) {
            return Ok(c.clone());
        }
        let tokens = token_source(
            &self.settings,
            &self.hosts,
            self.secret.secret(),
            &format!("{env_url}/.default"),
        )
        .map_err(|e| match e {
            ConnectError::Api(a) => a,
            other => ApiError::Malformed {
                url: env_url.into(),
                reason: other.to_string(),
            },
        })?;
        let pacing = Pacing {
            max_rps: DEFAULT_DATAVERSE_RPS.min(self.pacing.max_rps),
            ..self.pacing.clone()
        };
        let client = Arc::new(
            ApiClient::with_options(Arc::new(tokens), pacing, self.stats.clone(), HeaderMap::new())?
                .with_hooks(&client::API_HOOKS),
        );
        clients.insert(env_url.to_string(), client.clone());
        Ok(client)
    }

    async fn fetch_resource(&self, short: &str, earlier: &Parts) -> Result<Fetched, ApiError> {
        let v1 = format!("{}/v1.0", self.hosts.graph);
        let beta = format!("{}/beta", self.hosts.graph);
        match short {
            "subscribed_skus" => odata_list(
                &self.graph,
                &format!("{v1}/subscribedSkus?$select=id,skuId,skuPartNumber,capabilityStatus,consumedUnits,prepaidUnits,servicePlans,appliesTo"),
            )
            .await,
            "users" => odata_list(
                &self.graph,
                &format!("{v1}/users?$select=id,userPrincipalName,displayName,accountEnabled,userType,assignedPlans&$top=999"),
            )
            .await,
            "copilot_limited_mode" => match self
                .as_admin(|d| &d.graph, &self.graph)
                .get_json(&format!("{v1}/copilot/admin/settings/limitedMode"))
                .await
            {
                Ok(r) => Ok(Fetched::Records(vec![r.body])),
                Err(e) => self.delegated_only(e),
            },
            "copilot_policy_settings" => self.policy_settings(&beta).await,
            "copilot_packages" => self.packages(&v1).await,
            // v1.0 in Graph's published metadata (published/graph-metadata.json), no longer beta only.
            "agent_identities" => match odata_list(
                &self.graph,
                &format!("{v1}/servicePrincipals/microsoft.graph.agentIdentity?$select=id,appId,displayName,createdDateTime,createdByAppId,agentIdentityBlueprintId,accountEnabled,servicePrincipalType,tags"),
            )
            .await
            {
                Err(ApiError::NotFound(m)) => Ok(Fetched::Gap(
                    CoverageStatus::NotLicensed,
                    format!("feature unavailable: Entra Agent ID is not available in this tenant or cloud ({m})"),
                )),
                other => other,
            },
            "service_principals" => odata_list(
                &self.graph,
                &format!("{v1}/servicePrincipals?$select={SP_SELECT}&$top=999"),
            )
            .await,
            "app_role_assignments" => {
                self.per_principal(earlier, &v1, "appRoleAssignments", "").await
            }
            "oauth2_permission_grants" => odata_list(&self.graph, &format!("{v1}/oauth2PermissionGrants")).await,
            "service_principal_owners" => {
                self.per_principal(earlier, &v1, "owners", "?$select=id,displayName,userPrincipalName,accountEnabled")
                    .await
            }
            "permission_catalog" => self.permission_catalog(earlier, &v1).await,
            "sharepoint_settings" => match self.graph.get_json(&format!("{v1}/admin/sharepoint/settings")).await {
                Ok(r) => {
                    // The docs' example wraps the entity in "value" (reference §2.6.1).
                    let entity = match r.body.get("value") {
                        Some(Value::Object(_)) => r.body["value"].clone(),
                        _ => r.body,
                    };
                    Ok(Fetched::Records(vec![entity]))
                }
                Err(e) => Err(e),
            },
            "sensitivity_labels" => odata_list(
                &self.graph,
                &format!("{beta}/security/informationProtection/sensitivityLabels"),
            )
            .await,
            "powerplatform_inventory" => self.powerplatform_inventory().await,
            "environments" => {
                let bap = &self.hosts.bap;
                odata_list(
                    &self.bap,
                    &format!("{bap}/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments?api-version=2020-10-01"),
                )
                .await
            }
            "copilot_studio_bots" => {
                self.per_environment(earlier, |_| vec![format!("bots?$select={BOT_SELECT}")])
                    .await
            }
            "copilot_studio_components" => {
                self.per_environment(earlier, |_| {
                    vec![format!("botcomponents?$select={COMPONENT_SELECT}&$filter={COMPONENT_FILTER}")]
                })
                .await
            }
            "copilot_studio_owners" => self.owners(earlier).await,
            "copilot_studio_activity" => {
                let since = (chrono::Utc::now() - chrono::Duration::days(ACTIVITY_DAYS)).format("%Y-%m-%dT%H:%M:%SZ");
                // One aggregate per environment instead of every conversation (OData $apply).
                self.per_environment(earlier, |_| {
                    vec![format!(
                        "conversationtranscripts?$apply=filter(createdon gt {since})/groupby((_bot_conversationtranscriptid_value),aggregate(createdon with max as lastconversation))"
                    )]
                })
                .await
            }
            // Said in every scan, so the report lists it among what was not seen.
            "copilot_audit" => Ok(Fetched::Gap(
                CoverageStatus::Unsupported,
                "not read by this version: Copilot interaction audit events (Office 365 Management Activity API or Graph audit log queries)".into(),
            )),
            other => Err(ApiError::Status {
                status: 400,
                message: format!("unknown Microsoft 365 resource {other}"),
            }),
        }
    }

    /// Policy settings are delegated-only: the first refusal settles it for all of them.
    async fn policy_settings(&self, beta: &str) -> Result<Fetched, ApiError> {
        let mut records = Vec::new();
        for id in POLICY_SETTING_IDS {
            match self
                .as_admin(|d| &d.graph, &self.graph)
                .get_json(&format!("{beta}/copilot/admin/policySettings/{id}"))
                .await
            {
                Ok(r) => records.push(r.body),
                Err(e @ (ApiError::Forbidden(_) | ApiError::Unauthorized(_) | ApiError::Auth(_))) => {
                    return self.delegated_only(e)
                }
                // Group-scoped (422), unknown id (404) or preview errors: recorded per setting.
                Err(ApiError::NotFound(m)) => {
                    records.push(json!({"id": id, "@aispm.error": {"status": 404, "message": m}}))
                }
                Err(ApiError::Status { status, message }) if status < 500 || status == 502 => {
                    records.push(json!({"id": id, "@aispm.error": {"status": status, "message": message}}))
                }
                Err(e) => return Err(e),
            }
        }
        Ok(Fetched::Records(records))
    }

    /// The agent inventory: the list, then each package's detail (manifests, who may use it)
    /// through `$batch`. 403/404 mean no Agent 365 licence (addendum E2): feature unavailable.
    async fn packages(&self, v1: &str) -> Result<Fetched, ApiError> {
        let list = match client::collection(&self.graph, &format!("{v1}/copilot/admin/catalog/packages"), &[]).await {
            Ok(l) => l,
            Err(ApiError::Forbidden(m)) | Err(ApiError::NotFound(m)) => {
                return Ok(Fetched::Gap(
                    CoverageStatus::NotLicensed,
                    format!(
                        "feature unavailable: the package API needs a Microsoft Agent 365 licence (and CopilotPackages.Read.All) ({m})"
                    ),
                ))
            }
            Err(e) => return Err(e),
        };
        let requests: Vec<(String, String)> = list
            .iter()
            .filter_map(|p| p.get("id").and_then(Value::as_str))
            .map(|id| {
                (
                    id.to_string(),
                    format!("/copilot/admin/catalog/packages/{}", path_segment(id)),
                )
            })
            .collect();
        let details = client::batch_get(&self.graph, v1, &requests).await?;
        let mut records = Vec::new();
        let mut failures = Vec::new();
        for package in list {
            let id = package
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            match details.get(&id) {
                Some(Ok(detail)) => records.push(detail.clone()),
                Some(Err(e)) => {
                    failures.push(SubFailure::of(&id, e));
                    records.push(package);
                }
                None => records.push(package),
            }
        }
        Ok(Fetched::Partial(records, failures))
    }

    /// Service principals whose grants and owners matter: everything not published by
    /// Microsoft itself, and every agent identity.
    fn principals_of_interest(earlier: &Parts) -> Result<Vec<String>, String> {
        let sps = needed(earlier, "service_principals")?;
        let mut ids: BTreeSet<String> = sps
            .iter()
            .filter(|sp| {
                let owner = sp.get("appOwnerOrganizationId").and_then(Value::as_str).unwrap_or("");
                !MICROSOFT_TENANTS.contains(&owner)
            })
            .filter_map(|sp| sp.get("id").and_then(Value::as_str).map(str::to_string))
            .collect();
        if let Some(part) = earlier.get(&resource_name("agent_identities")) {
            ids.extend(
                part.records
                    .iter()
                    .filter_map(|a| a.get("id").and_then(Value::as_str).map(str::to_string)),
            );
        }
        Ok(ids.into_iter().collect())
    }

    /// `/servicePrincipals/{id}/{relation}` for each principal of interest, through `$batch`;
    /// each record is `{"servicePrincipalId": id, "value": [...]}`.
    async fn per_principal(&self, earlier: &Parts, v1: &str, relation: &str, query: &str) -> Result<Fetched, ApiError> {
        let ids = match Self::principals_of_interest(earlier) {
            Ok(ids) => ids,
            Err(gap) => return Ok(Fetched::Gap(CoverageStatus::Failed, gap)),
        };
        let requests: Vec<(String, String)> = ids
            .iter()
            .map(|id| {
                (
                    id.clone(),
                    format!("/servicePrincipals/{}/{relation}{query}", path_segment(id)),
                )
            })
            .collect();
        let answers = client::batch_get(&self.graph, v1, &requests).await?;
        Ok(partial(
            answers,
            |id, body| json!({"servicePrincipalId": id, "value": body.get("value").cloned().unwrap_or(json!([]))}),
        ))
    }

    /// Role and scope names of every API a principal holds app roles on, from the tenant's own
    /// copy of that API's service principal (GUIDs are never hard-coded, reference §2.5.4).
    async fn permission_catalog(&self, earlier: &Parts, v1: &str) -> Result<Fetched, ApiError> {
        let assignments = match needed(earlier, "app_role_assignments") {
            Ok(a) => a,
            Err(gap) => return Ok(Fetched::Gap(CoverageStatus::Failed, gap)),
        };
        let resource_ids: BTreeSet<String> = assignments
            .iter()
            .flat_map(|r| r.get("value").and_then(Value::as_array).cloned().unwrap_or_default())
            .filter_map(|a| a.get("resourceId").and_then(Value::as_str).map(str::to_string))
            .collect();
        let requests: Vec<(String, String)> = resource_ids
            .iter()
            .map(|id| {
                (
                    id.clone(),
                    format!(
                        "/servicePrincipals/{}?$select=id,appId,displayName,appRoles,oauth2PermissionScopes",
                        path_segment(id)
                    ),
                )
            })
            .collect();
        let answers = client::batch_get(&self.graph, v1, &requests).await?;
        Ok(partial(answers, |_, body| body))
    }

    /// The tenant-wide agent inventory refuses app-only tokens with 403 (addendum B1).
    async fn powerplatform_inventory(&self) -> Result<Fetched, ApiError> {
        let pp = &self.hosts.powerplatform;
        let body = json!({
            "TableName": "PowerPlatformResources",
            "Clauses": [
                {"$type": "where", "FieldName": "type", "Operator": "==", "Values": ["'microsoft.copilotstudio/agents'"]},
                {"$type": "project", "FieldList": ["id", "name", "type", "location", "properties"]}
            ],
            "Options": {"Top": 1000, "Skip": 0, "SkipToken": ""}
        });
        let url = format!("{pp}/resourcequery/resources/query?api-version=2024-10-01");
        let mut records = Vec::new();
        let mut request = body;
        loop {
            match self
                .as_admin(|d| &d.powerplatform, &self.powerplatform)
                .send(Method::POST, &url, &[], Some(&request))
                .await
            {
                Ok(r) => {
                    records.extend(
                        r.body
                            .get("data")
                            .and_then(Value::as_array)
                            .cloned()
                            .unwrap_or_default(),
                    );
                    match r
                        .body
                        .get("skipToken")
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty())
                    {
                        Some(token) => request["Options"]["SkipToken"] = json!(token),
                        None => return Ok(Fetched::Records(records)),
                    }
                }
                Err(e) => return self.delegated_only(e),
            }
        }
    }

    /// The client to read a delegated-only API with: the signed-in admin's when there is one,
    /// else the app-only one (Microsoft refuses it; the refusal is the recorded gap).
    fn as_admin<'a>(&'a self, pick: impl Fn(&'a Delegated) -> &'a ApiClient, app_only: &'a ApiClient) -> &'a ApiClient {
        match &self.delegated {
            Some(d) => pick(d),
            None => app_only,
        }
    }

    /// A refusal by an API Microsoft serves only to signed-in admins is a known gap, not a
    /// failure; with a sign-in on record, the gap says that sign-in no longer works. A refused
    /// delegated token never stops the app-only reads.
    fn delegated_only(&self, error: ApiError) -> Result<Fetched, ApiError> {
        let refused = matches!(
            error,
            ApiError::Forbidden(_) | ApiError::Unauthorized(_) | ApiError::Auth(crate::auth::AuthError::Rejected(_))
        );
        match (refused, &self.delegated) {
            (false, _) => Err(error),
            (true, None) => Ok(Fetched::Gap(CoverageStatus::Unavailable, NEEDS_DELEGATED.into())),
            (true, Some(_)) => Ok(Fetched::Gap(
                CoverageStatus::Forbidden,
                format!("the signed-in admin's access was refused ({error}); the admin may lack the Copilot or Power Platform admin role, or the sign-in expired: sign in again on the connection's page"),
            )),
        }
    }

    /// Reads the `paths` an environment asks for from its Dataverse; records carry the
    /// environment.
    async fn per_environment(
        &self,
        earlier: &Parts,
        paths: impl Fn(&Value) -> Vec<String>,
    ) -> Result<Fetched, ApiError> {
        let environments = match needed(earlier, "environments") {
            Ok(e) => e,
            Err(gap) => return Ok(Fetched::Gap(CoverageStatus::Failed, gap)),
        };
        let mut records = Vec::new();
        let mut failures = Vec::new();
        for env in environments {
            // No Dataverse database, no Copilot Studio agents (addendum A2).
            let Some(instance) = transform::environment_url(env) else {
                continue;
            };
            let env_id = env.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
            // The URL comes from a vendor answer: tokens go only to Dataverse's own domains
            // for this cloud (or to the BAP host itself, as a simulator or test instance is).
            if !dataverse_host_allowed(&instance, &self.hosts.bap) {
                failures.push(SubFailure {
                    forbidden: false,
                    text: format!(
                        "environment {env_id}: its Dataverse URL {} is not on a Dataverse domain of this cloud; not read",
                        crate::http::origin(&instance)
                    ),
                });
                continue;
            }
            let page = format!("odata.maxpagesize={}", self.page_size);
            for path in paths(env) {
                let api = self.dataverse_client(&instance)?;
                let url = format!("{instance}/api/data/v9.2/{path}");
                match client::collection(&api, &url, &[("Prefer", page.as_str())]).await {
                    Ok(rows) => records.extend(rows.into_iter().map(|mut row| {
                        row["@aispm.environment"] = json!(env_id);
                        row
                    })),
                    Err(e) if e.stops_scan() => return Err(e),
                    // A refused Dataverse audience or a missing application user is one
                    // environment's problem, reported by name.
                    Err(e) => {
                        failures.push(SubFailure::of(format!("environment {env_id}"), &e));
                        break;
                    }
                }
            }
        }
        Ok(Fetched::Partial(records, failures))
    }

    /// The Dataverse users who own the agents (owner ids are Dataverse ids, not Entra ids).
    async fn owners(&self, earlier: &Parts) -> Result<Fetched, ApiError> {
        let bots = match needed(earlier, "copilot_studio_bots") {
            Ok(b) => b,
            Err(gap) => return Ok(Fetched::Gap(CoverageStatus::Failed, gap)),
        };
        let mut by_env: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for bot in bots {
            let env = bot
                .get("@aispm.environment")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if let Some(owner) = bot.get("_ownerid_value").and_then(Value::as_str) {
                by_env.entry(env.to_string()).or_default().insert(owner.to_string());
            }
        }
        self.per_environment(earlier, |env| {
            let id = env.get("name").and_then(Value::as_str).unwrap_or_default();
            let owners: Vec<&String> = by_env.get(id).map(|o| o.iter().collect()).unwrap_or_default();
            owners
                .chunks(OWNER_CHUNK)
                .map(|chunk| {
                    let filter = chunk
                        .iter()
                        .map(|o| format!("systemuserid eq {}", url_value(o)))
                        .collect::<Vec<_>>()
                        .join(" or ");
                    format!(
                        "systemusers?$select=systemuserid,fullname,domainname,isdisabled,azureactivedirectoryobjectid&$filter={filter}"
                    )
                })
                .collect()
        })
        .await
    }
}

/// What one resource read produced before it becomes a part.
enum Fetched {
    Records(Vec<Value>),
    /// Records read, plus the sub-reads that failed (one environment, one batch item).
    Partial(Vec<Value>, Vec<SubFailure>),
    /// Nothing read, for a reason that is not an error of ours.
    Gap(CoverageStatus, String),
}

/// One sub-read that failed (an environment, a batch item), and whether the vendor refused it.
#[derive(Debug)]
struct SubFailure {
    forbidden: bool,
    text: String,
}

impl SubFailure {
    fn of(what: impl std::fmt::Display, e: &ApiError) -> Self {
        SubFailure {
            forbidden: matches!(e, ApiError::Forbidden(_)),
            text: format!("{what}: {e}"),
        }
    }
}

/// A partly read resource is `forbidden` only when every failed sub-read was refused by the
/// vendor (decided on the error, never on its text, which holds hosts and ports).
fn partial_status(failures: &[SubFailure]) -> CoverageStatus {
    if failures.iter().all(|f| f.forbidden) {
        CoverageStatus::Forbidden
    } else {
        CoverageStatus::Failed
    }
}

/// Batch answers as records (each made by `record` from its key and body) plus the items that
/// failed, named by key.
fn partial(answers: BTreeMap<String, client::BatchResult>, record: impl Fn(&str, Value) -> Value) -> Fetched {
    let mut records = Vec::new();
    let mut failures = Vec::new();
    for (key, answer) in answers {
        match answer {
            Ok(body) => records.push(record(&key, body)),
            Err(e) => failures.push(SubFailure::of(key, &e)),
        }
    }
    Fetched::Partial(records, failures)
}

/// Every item of an OData collection (Graph or BAP), as one resource's records.
async fn odata_list(api: &ApiClient, url: &str) -> Result<Fetched, ApiError> {
    client::collection(api, url, &[]).await.map(Fetched::Records)
}

/// The records of an earlier resource this one depends on; a dependency that was not
/// collected makes this read a gap, not an empty success.
/// A vendor value placed in an OData `$filter`: percent-encoded, so `&`, `#` or `'` in it
/// cannot end the filter or add parameters.
fn url_value(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// Whether a Dataverse environment URL named by BAP may receive a token: `https` on
/// Dataverse's documented domains for the cloud the BAP host belongs to, or the same origin as
/// the configured BAP URL.
pub fn dataverse_host_allowed(instance: &str, bap_url: &str) -> bool {
    let Ok(url) = url::Url::parse(instance) else {
        return false;
    };
    // A query, fragment or user name would change what the request asks for.
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return false;
    }
    if crate::http::same_origin(instance, bap_url) {
        return true;
    }
    let (Some(host), Some(bap_host)) = (
        url.host_str().map(str::to_ascii_lowercase),
        url::Url::parse(bap_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase)),
    ) else {
        return false;
    };
    if url.scheme() != "https" || url.port().is_some_and(|p| p != 443) {
        return false;
    }
    // Reference A6: one BAP host per cloud; Dataverse domains per cloud.
    let domains: &[&str] = match bap_host.as_str() {
        "api.bap.microsoft.com" => &["dynamics.com"],
        "gov.api.bap.microsoft.us" => &["crm9.dynamics.com"],
        "high.api.bap.microsoft.us" => &["crm.microsoftdynamics.us"],
        "api.bap.appsplatform.us" => &["crm.appsplatform.us"],
        "api.bap.partner.microsoftonline.cn" => &["crm.dynamics.cn"],
        _ => &[],
    };
    domains.iter().any(|domain| {
        let Some(org) = host.strip_suffix(domain).and_then(|h| h.strip_suffix('.')) else {
            return false;
        };
        if *domain != "dynamics.com" {
            return !org.is_empty();
        }
        // Commercial regions: <org>.crm.dynamics.com, <org>.crm4.dynamics.com, ... and the
        // `api.` form of each.
        let mut labels = org.rsplit('.');
        let region = labels.next().unwrap_or("");
        let is_crm = region
            .strip_prefix("crm")
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()));
        is_crm && labels.next().is_some_and(|l| !l.is_empty())
    })
}

fn needed<'a>(earlier: &'a Parts, short: &str) -> Result<&'a [Value], String> {
    crate::needed(earlier, &resource_name(short))
}

fn token_source(
    settings: &Settings,
    hosts: &Hosts,
    secret: &str,
    scope: &str,
) -> Result<OAuthTokenSource, ConnectError> {
    OAuthTokenSource::new(
        &token_url(&hosts.login, &settings.directory_id),
        &settings.client_id,
        ClientSecret::new(secret.to_string()),
        Grant::ClientCredentials {
            scope: Some(scope.to_string()),
        },
    )
    .map_err(|e| ConnectError::Api(e.into()))
}

impl Collector for M365 {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn resources(&self) -> Vec<String> {
        (VENDOR.resources)()
    }

    fn fetch<'a>(&'a self, resource: &'a str, earlier: &'a Parts) -> BoxFuture<'a, Result<ResourcePart, ApiError>> {
        Box::pin(async move {
            let short = resource.strip_prefix("m365.").unwrap_or(resource);
            let before = self.stats.requests();
            let fetched = self.fetch_resource(short, earlier).await;
            let requests = self.stats.requests() - before;
            match fetched {
                Ok(Fetched::Records(records)) => Ok(ResourcePart::collected(resource, records, requests)),
                Ok(Fetched::Partial(records, failures)) if failures.is_empty() => {
                    Ok(ResourcePart::collected(resource, records, requests))
                }
                // Some sub-reads failed: keep what was read, but do not call it complete.
                Ok(Fetched::Partial(records, failures)) => {
                    let status = partial_status(&failures);
                    let texts: Vec<&str> = failures.iter().map(|f| f.text.as_str()).collect();
                    let reason = format!("partly read: {}", texts.join("; "));
                    Ok(ResourcePart::gap(resource, status, reason, records, requests))
                }
                Ok(Fetched::Gap(status, reason)) => {
                    Ok(ResourcePart::gap(resource, status, reason, Vec::new(), requests))
                }
                // Credentials refused or throttled past patience: the scan cannot go on now.
                Err(e) if e.stops_scan() => Err(e),
                Err(e) => Ok(ResourcePart::failed(resource, &e, requests)),
            }
        })
    }

    fn transform(&self, parts: &Parts, connection_id: &str, collected_at: &str) -> Inventory {
        transform::inventory(parts, &self.settings.directory_id, connection_id, collected_at)
    }

    fn stats(&self) -> Arc<RequestStats> {
        self.stats.clone()
    }

    fn rotated_secrets(&self) -> BTreeMap<String, String> {
        self.delegated
            .as_ref()
            .and_then(|d| d.slot.rotated())
            .map(|t| BTreeMap::from([(DELEGATED_REFRESH_TOKEN.to_string(), t)]))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::dataverse_host_allowed;

    #[test]
    fn dataverse_urls_must_be_on_the_clouds_own_domains() {
        let commercial = "https://api.bap.microsoft.com";
        for ok in [
            "https://org0fadb1dd.crm.dynamics.com/",
            "https://contoso.crm4.dynamics.com",
            "https://contoso.api.crm11.dynamics.com",
        ] {
            assert!(dataverse_host_allowed(ok, commercial), "{ok}");
        }
        for bad in [
            "https://evil.example/",
            "https://crm.dynamics.com.evil.example",
            "http://org.crm.dynamics.com",
            "https://org.crm.dynamics.com:8443",
            "https://org.crm.dynamics.com/?x=1",
            "https://user@org.crm.dynamics.com",
            "https://dynamics.com",
            "https://org.notcrm.dynamics.com",
            "https://org.crm.microsoftdynamics.us",
        ] {
            assert!(!dataverse_host_allowed(bad, commercial), "{bad}");
        }
        assert!(dataverse_host_allowed(
            "https://org.crm.microsoftdynamics.us",
            "https://high.api.bap.microsoft.us"
        ));
        assert!(!dataverse_host_allowed(
            "https://org.crm.dynamics.com",
            "https://high.api.bap.microsoft.us"
        ));
        // A simulator or test instance: the BAP host itself.
        assert!(dataverse_host_allowed(
            "http://127.0.0.1:9000/org1/",
            "http://127.0.0.1:9000"
        ));
        assert!(!dataverse_host_allowed(
            "http://127.0.0.1:9001/org1/",
            "http://127.0.0.1:9000"
        ));
    }
}

#[cfg(test)]
mod partial_tests {
    use super::*;

    #[test]
    fn a_partial_read_is_forbidden_only_when_the_vendor_refused_every_part() {
        let refused = SubFailure::of("environment a", &ApiError::Forbidden("no role".into()));
        // A host and port in the text that happen to read "403" decide nothing.
        let elsewhere = SubFailure {
            forbidden: false,
            text: "environment b: its Dataverse URL http://127.0.0.1:40395 is not on a Dataverse domain".into(),
        };
        assert_eq!(partial_status(&[refused]), CoverageStatus::Forbidden);
        assert_eq!(partial_status(&[elsewhere]), CoverageStatus::Failed);
    }
}
