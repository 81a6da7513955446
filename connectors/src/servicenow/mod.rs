//! ServiceNow Now Assist / AI Agents connector (reference: shared/saas-apis/servicenow-now-assist.md).
//!
//! get: [`client::TableClient`] reads each table in [`plan`]; transform: [`transform::inventory`]
//! (pure); the jobs crate stores the parts and commits the snapshot.

pub mod client;
pub mod transform;

use crate::auth::{Grant, OAuthTokenSource, RefreshSlot, TokenSource};
use crate::http::{ApiClient, ApiError, Pacing, RequestStats};
use crate::{Collector, ConnectError, ConnectionSpec, Parts, ResourcePart, Setting, SettingKind};
use client::TableClient;
use futures::future::BoxFuture;
use oauth2::{ClientSecret, ResourceOwnerPassword};
use schemas::{CoverageStatus, Inventory};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

pub const PROVIDER: &str = "servicenow";

/// Default pacing (reference §3.4): at most 2 in flight per instance, a gentle sustained rate.
pub const DEFAULT_MAX_RPS: f64 = 5.0;
pub const DEFAULT_PAGE_SIZE: usize = 500;
/// `IN` lists are split so no URL grows past what proxies accept.
const IN_CHUNK: usize = 100;

/// One table read: which columns, which filter, and whose ids the filter needs.
pub struct TableSpec {
    /// The resource name when one table is read twice (else the table's name).
    pub alias: &'static str,
    pub table: &'static str,
    pub fields: &'static [&'static str],
    pub query: Query,
}

pub enum Query {
    Fixed(&'static str),
    /// `<column>IN<ids>` where the ids come from earlier parts.
    IdsFrom {
        column: &'static str,
        sources: &'static [(&'static str, &'static str)],
    },
    /// Rows created in the last `days` days.
    SinceDays {
        column: &'static str,
        days: i64,
    },
}

/// The collection plan, in the reference's suggested order (§2.13).
pub fn plan() -> Vec<TableSpec> {
    use Query::*;
    vec![
        TableSpec {
            alias: "",
            table: "sys_store_app",
            fields: &["sys_id", "scope", "name", "version", "active"],
            query: Fixed("scopeINsn_aia,sn_va_as_service,sn_nowassist_va"),
        },
        TableSpec {
            alias: "",
            table: "sys_properties",
            fields: &["sys_id", "name", "value", "type"],
            query: Fixed(transform::PROPERTY_QUERY),
        },
        TableSpec {
            alias: "",
            table: "sn_aia_property",
            fields: &["sys_id", "name", "value"],
            query: Fixed(""),
        },
        TableSpec {
            alias: "",
            table: "sn_aia_agent",
            fields: &[
                "sys_id",
                "name",
                "description",
                "agent_type",
                "channel",
                "record_type",
                "internal_name",
                "external_agent_configuration",
                "active",
                "external",
                "acl",
                "sys_created_on",
            ],
            query: Fixed(""),
        },
        TableSpec {
            alias: "",
            table: "sn_aia_agent_config",
            fields: &[
                "sys_id",
                "agent",
                "active",
                "run_as_user",
                "public",
                "agent_descriptor",
                "sys_domain",
                "sys_overrides",
            ],
            query: Fixed(""),
        },
        TableSpec {
            alias: "",
            table: "sn_aia_tool",
            fields: &[
                "sys_id",
                "name",
                "type",
                "script",
                "target_document",
                "target_document_table",
                "active",
                "sys_overrides",
            ],
            query: Fixed(""),
        },
        TableSpec {
            alias: "",
            table: "sn_aia_agent_tool_m2m",
            fields: &[
                "sys_id",
                "agent",
                "tool",
                "name",
                "active",
                "execution_mode",
                "max_auto_executions",
                // Where a CRUD tool's operation and table, and a search tool's sources, live (§9.1).
                "inputs",
                "sys_overrides",
            ],
            query: Fixed(""),
        },
        TableSpec {
            alias: "",
            table: "sn_aia_usecase",
            fields: &[
                "sys_id",
                "name",
                "execution_mode",
                "team",
                "internal_name",
                "active",
                "acl",
            ],
            query: Fixed(""),
        },
        TableSpec {
            alias: "",
            table: "sn_aia_usecase_config_override",
            fields: &["sys_id", "usecase_configuration", "run_as_user", "active"],
            query: Fixed(""),
        },
        TableSpec {
            alias: "",
            table: "sn_aia_team",
            fields: &["sys_id", "name", "active"],
            query: Fixed(""),
        },
        TableSpec {
            alias: "",
            table: "sn_aia_team_member",
            fields: &["sys_id", "team", "agent"],
            query: Fixed(""),
        },
        TableSpec {
            alias: "",
            table: "sn_aia_trigger_configuration",
            fields: &[
                "sys_id",
                "name",
                "active",
                "target_table",
                "trigger_flow_definition_type",
                "run_as",
                "run_as_user",
                "run_as_script",
                "usecase",
                "trigger_strategy",
                "sys_overrides",
            ],
            query: Fixed(""),
        },
        TableSpec {
            alias: "",
            table: "sn_aia_trigger_agent_usecase_m2m",
            fields: &[
                "sys_id",
                "trigger_configuration",
                "related_resource_table",
                "related_resource_record",
                "active",
                "sys_overrides",
            ],
            query: Fixed(""),
        },
        TableSpec {
            alias: "",
            table: "sys_agent_access_role_configuration",
            fields: &["sys_id", "agent", "agent_table", "role_list", "allow_all_session_roles"],
            query: Fixed(""),
        },
        TableSpec {
            alias: "",
            table: "sys_agent_access_role_mapping",
            fields: &["sys_id", "agent_access_config", "role"],
            query: Fixed(""),
        },
        TableSpec {
            alias: "",
            table: "sn_aia_external_agent_configuration",
            fields: &["sys_id", "name", "active"],
            query: Fixed(""),
        },
        TableSpec {
            alias: "",
            table: "sys_security_acl",
            fields: &[
                "sys_id",
                "name",
                // Raw sys_ids beside the dot-walked names: a refused dot-walk leaves the ids (§9.2).
                "type",
                "type.name",
                "operation.name",
                "active",
                "decision_type",
                "security_attribute",
                "security_attribute.name",
                "condition",
                "script",
                "advanced",
            ],
            query: Fixed(transform::access::ACL_QUERY),
        },
        TableSpec {
            alias: "",
            table: "sys_security_acl_role",
            fields: &["sys_id", "sys_security_acl", "sys_user_role"],
            query: IdsFrom {
                column: "sys_security_acl",
                sources: &[("sys_security_acl", "sys_id")],
            },
        },
        TableSpec {
            alias: "",
            table: "sys_user_role",
            fields: &["sys_id", "name", "elevated_privilege"],
            query: Fixed(""),
        },
        TableSpec {
            alias: "",
            table: "sys_user",
            fields: &[
                "sys_id",
                "user_name",
                "active",
                "locked_out",
                "web_service_access_only",
                "internal_integration_user",
                "identity_type",
                "last_login_time",
            ],
            query: IdsFrom {
                column: "sys_id",
                sources: RUN_AS_SOURCES,
            },
        },
        TableSpec {
            alias: "",
            table: "sys_user_has_role",
            fields: &["sys_id", "user", "role", "inherited"],
            query: IdsFrom {
                column: "user",
                sources: RUN_AS_SOURCES,
            },
        },
        TableSpec {
            alias: "privileged_role_holders",
            table: "sys_user_has_role",
            fields: &[
                "sys_id",
                "user",
                "role",
                "inherited",
                "user.user_name",
                "user.active",
                "user.web_service_access_only",
                "user.identity_type",
                "user.locked_out",
            ],
            query: Fixed(transform::PRIVILEGED_QUERY),
        },
        TableSpec {
            alias: "",
            table: "sys_generative_ai_provider_mapping",
            fields: &[
                "sys_id",
                "provider",
                "provider_implementation",
                "external",
                "active",
                "gen_ai_provider",
                "gen_ai_provider.gen_ai_provider",
                "gen_ai_provider.integration_type",
            ],
            query: Fixed(""),
        },
        TableSpec {
            alias: "",
            table: "sys_generative_ai_model_config",
            fields: &["sys_id", "model", "provider", "active"],
            query: Fixed(""),
        },
        TableSpec {
            alias: "",
            table: "sn_nowassist_skill_config",
            // No `active` here: ServiceNow activates a skill in its status row (§9.1).
            fields: &[
                "sys_id",
                "name",
                "skill_id",
                "state",
                "internal_name",
                "nap_skill_applicability",
                "sys_overrides",
            ],
            query: Fixed(""),
        },
        TableSpec {
            alias: "",
            table: "sn_nowassist_skill_config_status",
            fields: &["sys_id", "skill_config", "active", "status", "state"],
            query: Fixed(""),
        },
        TableSpec {
            alias: "",
            table: "sys_gen_ai_skill",
            fields: &["sys_id", "skill_name", "skill_document", "sys_overrides"],
            query: Fixed(""),
        },
        TableSpec {
            alias: "",
            table: "sys_gen_ai_skill_applicability",
            fields: &["sys_id", "skill_id", "roles", "condition_mode", "sys_overrides"],
            query: Fixed(""),
        },
        TableSpec {
            alias: "",
            table: "sys_gen_ai_skill_config",
            fields: &["sys_id", "skill_id", "discoverable", "visible", "sys_overrides"],
            query: Fixed(""),
        },
        TableSpec {
            alias: "",
            table: "sys_cs_provider",
            fields: &[
                "sys_id",
                "name",
                "link_account_enabled",
                "automatic_link_enabled",
                "account_link_type",
            ],
            query: Fixed(""),
        },
        TableSpec {
            alias: "",
            table: "sys_cs_provider_application",
            fields: &[
                "sys_id",
                "name",
                "provider",
                "inbound_id",
                "message_auth",
                "message_auth.inbound_message_verification.token",
            ],
            query: Fixed(""),
        },
        TableSpec {
            alias: "",
            table: "sys_public",
            fields: &["sys_id", "page", "active"],
            query: Fixed("pageSTARTSWITHsn_va_web_client^ORpageSTARTSWITH$sn-va-web-client"),
        },
        TableSpec {
            alias: "",
            table: "sn_aia_execution_plan",
            fields: &["sys_id", "agent", "sys_created_on"],
            query: SinceDays {
                column: "sys_created_on",
                days: 90,
            },
        },
    ]
}

/// Where the run-as user ids live.
const RUN_AS_SOURCES: &[(&str, &str)] = &[
    ("sn_aia_agent_config", "run_as_user"),
    ("sn_aia_usecase_config_override", "run_as_user"),
    ("sn_aia_trigger_configuration", "run_as_user"),
];

/// A ServiceNow connection's non-secret settings, as stored with the connection.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `https://<instance>.service-now.com`
    pub instance_url: String,
    pub client_id: String,
    /// Integration user for the password grant; absent means client credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rps: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_share: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_wait_secs: Option<u64>,
}

impl Settings {
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("settings serialize")
    }
}

/// Names of the secrets a ServiceNow connection holds.
pub const CLIENT_SECRET: &str = "client_secret";
pub const PASSWORD: &str = "password";
/// From an admin's sign-in at the instance (authorization code grant).
pub const REFRESH_TOKEN: &str = "refresh_token";

/// Where an admin signs in and consents (the instance's OAuth authorize endpoint).
pub fn authorize_url(instance_url: &str) -> String {
    format!("{}/oauth_auth.do", instance_url.trim_end_matches('/'))
}

/// The instance's token endpoint.
pub fn token_url(instance_url: &str) -> String {
    format!("{}/oauth_token.do", instance_url.trim_end_matches('/'))
}

/// ServiceNow in the vendor registry.
pub const VENDOR: crate::Vendor = crate::Vendor {
    id: PROVIDER,
    label: "ServiceNow",
    settings: &[
        Setting {
            name: "instance_url",
            label: "Instance URL",
            kind: SettingKind::Url,
            required: true,
        },
        Setting {
            name: "client_id",
            label: "OAuth client id",
            kind: SettingKind::Text,
            required: true,
        },
        Setting {
            name: "username",
            label: "Integration user (password grant)",
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
            name: "page_size",
            label: "Rows per page",
            kind: SettingKind::Number,
            required: false,
        },
        Setting {
            name: "budget_share",
            label: "Share of the hourly budget",
            kind: SettingKind::Number,
            required: false,
        },
        Setting {
            name: "max_wait_secs",
            label: "Longest wait before parking",
            kind: SettingKind::Number,
            required: false,
        },
    ],
    secrets: &[CLIENT_SECRET, PASSWORD, REFRESH_TOKEN],
    default_max_rps: DEFAULT_MAX_RPS,
    destination_settings: &["instance_url"],
    resources: || plan().iter().map(TableSpec::resource).collect(),
    collector: |spec| Ok(Box::new(ServiceNow::from_spec(spec)?)),
    verify: |spec| {
        Box::pin(async move {
            let connector = ServiceNow::from_spec(&spec)?;
            connector.verify().await?;
            Ok(connector.rotated_secrets())
        })
    },
};

pub struct ServiceNow {
    tables: TableClient,
    tokens: Arc<OAuthTokenSource>,
    /// The signed-in grant's refresh token, when the connection has one.
    refresh: Option<RefreshSlot>,
}

impl TableSpec {
    pub fn resource(&self) -> String {
        let name = if self.alias.is_empty() { self.table } else { self.alias };
        format!("{PROVIDER}.{name}")
    }
}

impl ServiceNow {
    pub fn from_spec(spec: &ConnectionSpec) -> Result<Self, ConnectError> {
        let settings: Settings = serde_json::from_value(spec.settings.clone())
            .map_err(|e| ConnectError::Setting(format!("ServiceNow settings: {e}")))?;
        let instance_url = settings.instance_url.trim_end_matches('/').to_string();
        url::Url::parse(&instance_url)
            .map_err(|e| ConnectError::Setting(format!("instance_url {instance_url:?}: {e}")))?;
        let secret = spec
            .secrets
            .get(CLIENT_SECRET)
            .ok_or_else(|| ConnectError::Setting("client_secret is missing".into()))?;
        let refresh = spec.secrets.get(REFRESH_TOKEN).map(|t| RefreshSlot::new(t));
        let grant = match (settings.username, spec.secrets.get(PASSWORD)) {
            _ if refresh.is_some() => Grant::RefreshToken {
                slot: refresh.clone().expect("checked"),
                scope: None,
            },
            (Some(username), Some(password)) => Grant::Password {
                username,
                password: ResourceOwnerPassword::new(password.clone()),
            },
            (Some(_), None) => {
                return Err(ConnectError::Setting(
                    "password is missing for the password grant".into(),
                ))
            }
            _ => Grant::ClientCredentials { scope: None },
        };
        let tokens = Arc::new(
            OAuthTokenSource::new(
                &token_url(&instance_url),
                &settings.client_id,
                ClientSecret::new(secret.clone()),
                grant,
            )
            .map_err(|e| ConnectError::Api(e.into()))?,
        );
        let pacing = Pacing::from_settings(
            VENDOR.default_max_rps,
            Pacing::default().max_concurrency,
            settings.max_rps,
            settings.max_wait_secs,
            settings.budget_share,
        );
        let api = ApiClient::new(tokens.clone() as Arc<dyn TokenSource>, pacing)?.with_hooks(&client::API_HOOKS);
        Ok(ServiceNow {
            tables: TableClient {
                api,
                instance_url,
                page_size: settings.page_size.unwrap_or(DEFAULT_PAGE_SIZE).max(1),
            },
            tokens,
            refresh,
        })
    }

    /// Obtains a token: proves the credentials without reading any table.
    pub async fn verify(&self) -> Result<(), ConnectError> {
        self.tokens.token(true).await.map_err(|e| ConnectError::Api(e.into()))?;
        Ok(())
    }

    async fn fetch_table(&self, spec: &TableSpec, earlier: &Parts) -> Result<ResourcePart, ApiError> {
        let resource = spec.resource();
        let mut skipped = 0;
        let queries: Vec<String> = match &spec.query {
            Query::Fixed(q) => vec![q.to_string()],
            Query::SinceDays { column, days } => {
                let since = chrono::Utc::now() - chrono::Duration::days(*days);
                vec![format!("{column}>={}", since.format("%Y-%m-%d %H:%M:%S"))]
            }
            Query::IdsFrom { column, sources } => {
                // Ids from a resource that was not read are unknown, not absent.
                let sources_read: Vec<String> =
                    sources.iter().map(|(table, _)| format!("{PROVIDER}.{table}")).collect();
                if let Some(reason) = crate::missing_dependencies(earlier, &sources_read) {
                    return Ok(ResourcePart::gap(
                        &resource,
                        CoverageStatus::Failed,
                        reason,
                        Vec::new(),
                        0,
                    ));
                }
                let mut ids: Vec<String> = sources
                    .iter()
                    .filter_map(|(table, field)| earlier.get(&format!("{PROVIDER}.{table}")).map(|p| (p, *field)))
                    .flat_map(|(part, field)| part.records.iter().map(move |r| transform::text(r, field).to_string()))
                    .filter(|id| !id.is_empty())
                    .collect();
                // A reference holds a sys_id; anything else in it (`x^NQsys_idISNOTEMPTY`) would
                // be read as query syntax, so it never goes into the query.
                let before = ids.len();
                ids.retain(|id| transform::is_sys_id(id));
                skipped = before - ids.len();
                ids.sort();
                ids.dedup();
                ids.chunks(IN_CHUNK)
                    .map(|chunk| format!("{column}IN{}", chunk.join(",")))
                    .collect()
            }
        };
        let mut records = Vec::new();
        let mut requests = 0;
        for query in queries {
            match self.tables.read(spec.table, spec.fields, &query).await {
                Ok(read) => {
                    requests += read.requests;
                    records.extend(read.records);
                }
                Err(failure) => {
                    requests += failure.requests;
                    // Credentials refused or throttled past patience: the scan cannot go on now.
                    if failure.error.stops_scan() {
                        return Err(failure.error);
                    }
                    // The mapping table arrived with a later release (§9.4): its absence means
                    // masks live in `role_list` alone, not that masks are unknown.
                    if spec.table == "sys_agent_access_role_mapping"
                        && matches!(
                            failure.error,
                            ApiError::NotFound(_) | ApiError::Status { status: 400, .. }
                        )
                    {
                        let mut part = ResourcePart::collected(&resource, Vec::new(), requests);
                        part.coverage.error = Some(
                            "the table does not exist on this release (it arrived with Zurich Patch 10 / AP3); role masks are read from role_list".into(),
                        );
                        return Ok(part);
                    }
                    let mut part = ResourcePart::failed(&resource, &failure.error, requests);
                    if matches!(failure.error, ApiError::Forbidden(_)) && !query.is_empty() {
                        // §8.7: a 403 on a filtered read can mean an unknown or unreadable
                        // filter column, not only an unreadable table.
                        part.coverage.error = Some(format!(
                            "{} (the table or a column in the filter is not readable by the integration user)",
                            failure.error
                        ));
                    }
                    return Ok(part);
                }
            }
        }
        let mut part = ResourcePart::collected(&resource, records, requests);
        if skipped > 0 {
            part.coverage.error = Some(format!(
                "{skipped} reference value(s) that are not sys_ids were not looked up"
            ));
        }
        Ok(part)
    }
}

impl Collector for ServiceNow {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn resources(&self) -> Vec<String> {
        (VENDOR.resources)()
    }

    fn fetch<'a>(&'a self, resource: &'a str, earlier: &'a Parts) -> BoxFuture<'a, Result<ResourcePart, ApiError>> {
        Box::pin(async move {
            let specs = plan();
            let spec = specs
                .iter()
                .find(|s| s.resource() == resource)
                .ok_or_else(|| ApiError::Status {
                    status: 400,
                    message: format!("unknown ServiceNow resource {resource}"),
                })?;
            self.fetch_table(spec, earlier).await
        })
    }

    fn transform(&self, parts: &Parts, connection_id: &str, collected_at: &str) -> Inventory {
        transform::inventory(parts, connection_id, collected_at)
    }

    fn stats(&self) -> Arc<RequestStats> {
        self.tables.api.stats.clone()
    }

    fn rotated_secrets(&self) -> BTreeMap<String, String> {
        self.refresh
            .as_ref()
            .and_then(RefreshSlot::rotated)
            .map(|t| BTreeMap::from([(REFRESH_TOKEN.to_string(), t)]))
            .unwrap_or_default()
    }
}
