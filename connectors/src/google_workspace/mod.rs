//! Google Workspace Gemini connector (reference: shared/saas-apis/google-workspace-gemini.md;
//! sections 8 and 9 correct the body and win where they disagree).
//!
//! get: [`plan`] lists each read: the Directory API (customer, org units, users, roles and
//! their assignments, groups, every user's third-party OAuth tokens), the Cloud Identity
//! Policy API, and the Reports API's audit applications (admin setting changes, OAuth grants,
//! Gemini use, NotebookLM, agent activity, domain-wide delegation in use). transform:
//! [`transform::inventory`] (pure). Sign-in is a service account with domain-wide delegation
//! ([`auth`]); every request is held against Google's discovery documents in `published/`.

pub mod auth;
pub mod client;
pub mod transform;

use crate::http::{ApiClient, ApiError, Pacing, RequestStats};
use crate::{Collector, ConnectError, ConnectionSpec, Parts, ResourcePart, Setting, SettingKind};
use auth::{GoogleTokens, ServiceAccount, READ_SCOPES, TOKENS_SCOPE};
use client::{encode, list_all, ListFailure};
use futures::future::BoxFuture;
use futures::StreamExt;
use schemas::{CoverageStatus, Inventory};
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

pub const PROVIDER: &str = "google_workspace";

/// The service account key file (JSON), the connection's one secret.
pub const SERVICE_ACCOUNT_KEY: &str = "service_account_key";

/// Directory and Reports allow 2,400 queries a minute per user and project (§3): a tenth of
/// it by default, leaving room for the tenant's other tools; eight in flight for the per-user
/// token reads.
pub const DEFAULT_MAX_RPS: f64 = 4.0;
const MAX_CONCURRENCY: usize = 8;
/// How far back the Reports API keeps events (§2.3): older changes are unknown, not absent.
pub const AUDIT_RETENTION_DAYS: i64 = 180;
/// Gemini use is read for a shorter window, and at most this many pages of 1,000 events:
/// the rules need who uses it and which agents act, not every prompt of half a year.
const USAGE_DAYS: i64 = 30;
const USAGE_PAGES: usize = 50;

const ADMIN_HOST: &str = "https://admin.googleapis.com";
const CLOUD_IDENTITY_HOST: &str = "https://cloudidentity.googleapis.com";

/// One read of the plan.
pub enum Read {
    /// One Directory object (`customers/{customer}`).
    Object(&'static str),
    /// A Directory list: path and query (`{customer}` filled in), and the answer's item key.
    List { path: &'static str, items: &'static str },
    /// Cloud Identity `policies.list`, all pages, no filter (§2.1: filter client-side).
    Policies,
    /// `users/{userKey}/tokens` for every user (§2.2), with a token of its own scope (§9.1.1).
    Tokens,
    /// Reports `activities.list` for one audit application (§2.3), `extra` query appended.
    Activities {
        application: &'static str,
        extra: &'static str,
        days: i64,
        max_pages: usize,
    },
}

pub struct Step {
    pub name: &'static str,
    pub read: Read,
}

impl Step {
    pub fn resource(&self) -> String {
        format!("{PROVIDER}.{}", self.name)
    }

    /// The request this step sends, relative to its API host (`None` for the per-user token
    /// reads: see [`tokens_path`]). Reports reads start `days` before `now`.
    pub fn path(&self, customer: &str, now: chrono::DateTime<chrono::Utc>) -> Option<String> {
        let customer = encode(customer);
        match &self.read {
            Read::Object(path) | Read::List { path, .. } => Some(path.replace("{customer}", &customer)),
            Read::Policies => Some("v1/policies?pageSize=100".into()),
            Read::Tokens => None,
            Read::Activities {
                application,
                extra,
                days,
                ..
            } => {
                let start = (now - chrono::Duration::days(*days)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                Some(format!(
                    "admin/reports/v1/activity/users/all/applications/{application}?maxResults=1000&startTime={}{extra}",
                    encode(&start)
                ))
            }
        }
    }

    /// The scopes of the token this step's requests carry.
    pub fn scopes(&self) -> &'static [&'static str] {
        match self.read {
            Read::Tokens => &[TOKENS_SCOPE],
            _ => READ_SCOPES,
        }
    }
}

/// One user's token list (`tokens.list`, §2.2).
pub fn tokens_path(user_id: &str) -> String {
    format!("admin/directory/v1/users/{}/tokens", encode(user_id))
}

/// The collection plan, in dependency order. Page sizes are each method's maximum (§9.1.11).
pub fn plan() -> Vec<Step> {
    use Read::*;
    let activities = |application, extra, days, max_pages| Activities {
        application,
        extra,
        days,
        max_pages,
    };
    vec![
        Step {
            name: "customer",
            read: Object("admin/directory/v1/customers/{customer}"),
        },
        Step {
            name: "orgunits",
            // `allIncludingParent`, not ScubaGoggles' `all_including_parent` (§9.1.5).
            read: List {
                path: "admin/directory/v1/customer/{customer}/orgunits?type=allIncludingParent",
                items: "organizationUnits",
            },
        },
        Step {
            name: "users",
            read: List {
                path: "admin/directory/v1/users?customer={customer}&maxResults=500&projection=basic",
                items: "users",
            },
        },
        Step {
            name: "roles",
            read: List {
                path: "admin/directory/v1/customer/{customer}/roles?maxResults=100",
                items: "items",
            },
        },
        Step {
            name: "role_assignments",
            read: List {
                path: "admin/directory/v1/customer/{customer}/roleassignments?maxResults=200",
                items: "items",
            },
        },
        Step {
            name: "groups",
            read: List {
                path: "admin/directory/v1/groups?customer={customer}&maxResults=200",
                items: "groups",
            },
        },
        Step {
            name: "policies",
            read: Policies,
        },
        Step {
            name: "tokens",
            read: Tokens,
        },
        Step {
            name: "admin_events",
            // Setting changes: the only source for several Gemini controls (§2.3.2, §8.4).
            read: activities("admin", "", AUDIT_RETENTION_DAYS, crate::http::MAX_PAGES),
        },
        Step {
            name: "token_events",
            read: activities("token", "&eventName=authorize", AUDIT_RETENTION_DAYS, 20),
        },
        Step {
            name: "gemini_events",
            read: activities("gemini_in_workspace_apps", "", USAGE_DAYS, USAGE_PAGES),
        },
        Step {
            name: "notebook_events",
            // NotebookLM's own audit application (§9.1.2).
            read: activities("gemini_notebook", "", AUDIT_RETENTION_DAYS, USAGE_PAGES),
        },
        Step {
            name: "agent_events",
            // Agents and flows built in Workspace Studio (§9.2; its events are not described).
            read: activities("workspace_studio", "", USAGE_DAYS, USAGE_PAGES),
        },
        Step {
            name: "dwd_events",
            // Service accounts actually acting through domain-wide delegation (§2.3.5).
            read: activities(
                "access_evaluation",
                "&eventName=allow_token_impersonation&filters=configuration_source%3D%3DDOMAIN_WIDE_DELEGATION",
                AUDIT_RETENTION_DAYS,
                20,
            ),
        },
    ]
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    admin_email: String,
    #[serde(default)]
    customer_id: Option<String>,
    #[serde(default)]
    api_base_url: Option<String>,
    /// `off` leaves the per-user token inventory (and its write-capable scope) out.
    #[serde(default)]
    tokens_inventory: Option<String>,
    #[serde(default)]
    max_rps: Option<f64>,
    #[serde(default)]
    max_wait_secs: Option<u64>,
}

/// Google Workspace in the vendor registry.
pub const VENDOR: crate::Vendor = crate::Vendor {
    id: PROVIDER,
    label: "Google Workspace",
    settings: &[
        Setting {
            name: "admin_email",
            label: "Super admin to act as",
            kind: SettingKind::Text,
            required: true,
        },
        Setting {
            name: "customer_id",
            label: "Customer ID",
            kind: SettingKind::Text,
            required: false,
        },
        Setting {
            name: "api_base_url",
            label: "API base URL (replaces the Google API hosts)",
            kind: SettingKind::Url,
            required: false,
        },
        Setting {
            name: "tokens_inventory",
            label: "Third-party app tokens inventory (on or off)",
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
            name: "max_wait_secs",
            label: "Longest wait before parking",
            kind: SettingKind::Number,
            required: false,
        },
    ],
    secrets: &[SERVICE_ACCOUNT_KEY],
    default_max_rps: DEFAULT_MAX_RPS,
    destination_settings: &["api_base_url"],
    resources: || plan().iter().map(Step::resource).collect(),
    collector: |spec| Ok(Box::new(GoogleWorkspace::from_spec(spec)?)),
    verify: |spec| {
        Box::pin(async move {
            GoogleWorkspace::from_spec(&spec)?.verify().await?;
            Ok(Default::default())
        })
    },
};

pub struct GoogleWorkspace {
    /// Read-only scopes: everything but the tokens inventory.
    api: ApiClient,
    /// The tokens scope alone (§9.1.1); `None` when the connection switched the inventory off.
    tokens_api: Option<ApiClient>,
    customer: String,
    admin_base: String,
    policy_base: String,
    /// The service account's OAuth client id (its own delegation grant shows in the log).
    client_id: String,
}

impl GoogleWorkspace {
    pub fn from_spec(spec: &ConnectionSpec) -> Result<Self, ConnectError> {
        let settings: Settings = serde_json::from_value(spec.settings.clone())
            .map_err(|e| ConnectError::Setting(format!("Google Workspace settings: {e}")))?;
        let admin = settings.admin_email.trim();
        if !admin.contains('@') || admin.contains(char::is_whitespace) {
            return Err(ConnectError::Setting(format!(
                "admin_email {admin:?}: expected the email address of a super admin"
            )));
        }
        let customer = settings
            .customer_id
            .as_deref()
            .unwrap_or("my_customer")
            .trim()
            .to_string();
        if customer.is_empty() || !customer.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(ConnectError::Setting(format!(
                "customer_id {customer:?}: expected my_customer or an id like C01abc234"
            )));
        }
        let tokens_on = match settings.tokens_inventory.as_deref().map(str::trim) {
            None | Some("on") => true,
            Some("off") => false,
            Some(other) => {
                return Err(ConnectError::Setting(format!(
                    "tokens_inventory {other:?}: expected on or off"
                )))
            }
        };
        let (admin_base, policy_base) = match &settings.api_base_url {
            Some(base) => {
                let base = base.trim_end_matches('/').to_string();
                let parsed =
                    url::Url::parse(&base).map_err(|e| ConnectError::Setting(format!("api_base_url {base:?}: {e}")))?;
                if !matches!(parsed.scheme(), "https" | "http") {
                    return Err(ConnectError::Setting(format!(
                        "api_base_url {base:?}: not an http(s) URL"
                    )));
                }
                (base.clone(), base)
            }
            None => (ADMIN_HOST.to_string(), CLOUD_IDENTITY_HOST.to_string()),
        };
        let key = spec
            .secrets
            .get(SERVICE_ACCOUNT_KEY)
            .ok_or_else(|| ConnectError::Setting("no service account key file".into()))?;
        let account = Arc::new(ServiceAccount::from_key_file(key).map_err(ConnectError::Setting)?);
        let pacing = Pacing::from_settings(
            VENDOR.default_max_rps,
            MAX_CONCURRENCY,
            settings.max_rps,
            settings.max_wait_secs,
            None,
        );
        let stats = Arc::new(RequestStats::default());
        let client = |scopes: &[&'static str]| -> Result<ApiClient, ConnectError> {
            let tokens = GoogleTokens::new(account.clone(), admin, scopes).map_err(|e| ConnectError::Api(e.into()))?;
            Ok(ApiClient::with_options(
                Arc::new(tokens) as Arc<dyn crate::auth::TokenSource>,
                pacing.clone(),
                stats.clone(),
                Default::default(),
            )?
            .with_hooks(&client::API_HOOKS))
        };
        Ok(GoogleWorkspace {
            api: client(READ_SCOPES)?,
            tokens_api: if tokens_on {
                Some(client(&[TOKENS_SCOPE])?)
            } else {
                None
            },
            customer,
            admin_base,
            policy_base,
            client_id: account.client_id.clone(),
        })
    }

    /// Signs in with both tokens and reads the customer and one user's tokens: proves the
    /// delegation of every scope a scan will use, before anything is stored.
    pub async fn verify(&self) -> Result<(), ConnectError> {
        self.api
            .get_json(&self.admin_url("admin/directory/v1/customers/{customer}"))
            .await?;
        let Some(tokens) = &self.tokens_api else {
            return Ok(());
        };
        let users = list_all(
            &self.api,
            &self.admin_url("admin/directory/v1/users?customer={customer}&maxResults=1&projection=basic"),
            "users",
        )
        .await
        .map_err(|f| f.error)?;
        if let Some(id) = users.items.first().and_then(|u| u["id"].as_str()) {
            tokens
                .get_json(&format!("{}/{}", self.admin_base, tokens_path(id)))
                .await?;
        }
        Ok(())
    }

    fn admin_url(&self, path: &str) -> String {
        format!(
            "{}/{}",
            self.admin_base,
            path.replace("{customer}", &encode(&self.customer))
        )
    }

    async fn fetch_step(&self, step: &Step, earlier: &Parts) -> Result<ResourcePart, ApiError> {
        let resource = step.resource();
        let url = || {
            let base = if matches!(step.read, Read::Policies) {
                &self.policy_base
            } else {
                &self.admin_base
            };
            format!(
                "{base}/{}",
                step.path(&self.customer, chrono::Utc::now()).unwrap_or_default()
            )
        };
        let listed = |read: Result<client::Listed, ListFailure>| match read {
            Ok(l) => Ok(ResourcePart::collected(&resource, l.items, l.requests)),
            Err(f) if f.error.stops_scan() => Err(f.error),
            Err(f) => Ok(ResourcePart::failed(&resource, &f.error, f.read.requests)),
        };
        match &step.read {
            Read::Object(_) => match self.api.get_json(&url()).await {
                Ok(answer) => Ok(ResourcePart::collected(&resource, vec![answer.body], 1)),
                Err(e) if e.stops_scan() => Err(e),
                Err(e) => Ok(ResourcePart::failed(&resource, &e, 1)),
            },
            Read::List { items, .. } => listed(list_all(&self.api, &url(), items).await),
            Read::Policies => {
                let mut part = listed(list_all(&self.api, &url(), "policies").await)?;
                if part.coverage.status == CoverageStatus::Forbidden {
                    part.coverage.error = part
                        .coverage
                        .error
                        .map(|e| format!("{e} (the Policy API answers super admins only: act as one)"));
                }
                Ok(part)
            }
            Read::Tokens => self.read_tokens(&resource, earlier).await,
            Read::Activities { days, max_pages, .. } => {
                let read = client::list_pages(&self.api, &url(), "items", *max_pages).await;
                let capped = read.as_ref().is_ok_and(|l| l.capped);
                let mut part = listed(read.map(|l| l.listed))?;
                if capped {
                    part.coverage.error = Some(format!(
                        "read the newest {} events of the last {days} days only",
                        part.records.len()
                    ));
                }
                Ok(part)
            }
        }
    }

    /// Every user's tokens, a bounded number at a time under the connection's pace (§3).
    async fn read_tokens(&self, resource: &str, earlier: &Parts) -> Result<ResourcePart, ApiError> {
        let Some(api) = &self.tokens_api else {
            return Ok(ResourcePart::gap(
                resource,
                CoverageStatus::Unavailable,
                "the tokens inventory is switched off for this connection (it needs a scope that can also \
                 sign users out; see the README)"
                    .into(),
                Vec::new(),
                0,
            ));
        };
        let users = match crate::needed(earlier, &format!("{PROVIDER}.users")) {
            Ok(users) => users,
            Err(reason) => {
                return Ok(ResourcePart::gap(
                    resource,
                    CoverageStatus::Failed,
                    reason,
                    Vec::new(),
                    0,
                ))
            }
        };
        let ids: Vec<String> = users
            .iter()
            .filter(|u| u["suspended"].as_bool() != Some(true))
            .filter_map(|u| u["id"].as_str().map(str::to_string))
            .collect();
        let reads: Vec<_> = ids
            .iter()
            .map(|id| user_tokens(api, format!("{}/{}", self.admin_base, tokens_path(id))))
            .collect();
        let mut answers = futures::stream::iter(reads).buffer_unordered(MAX_CONCURRENCY);
        let mut tokens = Vec::new();
        let mut requests = 0;
        let mut read = Ok(());
        while let Some(answer) = answers.next().await {
            requests += 1;
            match answer {
                Ok(items) => tokens.extend(items),
                Err(e) => {
                    read = Err(e);
                    break;
                }
            }
        }
        match read {
            Ok(()) => Ok(ResourcePart::collected(resource, tokens, requests)),
            Err(e) if e.stops_scan() => Err(e),
            Err(e) => Ok(ResourcePart::failed(resource, &e, requests)),
        }
    }
}

/// One user's tokens; a user deleted since the users were read has none.
async fn user_tokens(api: &ApiClient, url: String) -> Result<Vec<Value>, ApiError> {
    match api.get_json(&url).await {
        Ok(answer) => Ok(answer.body["items"].as_array().cloned().unwrap_or_default()),
        Err(ApiError::NotFound(_)) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

impl Collector for GoogleWorkspace {
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
                    message: format!("unknown Google Workspace resource {resource}"),
                })?;
            self.fetch_step(step, earlier).await
        })
    }

    fn transform(&self, parts: &Parts, connection_id: &str, collected_at: &str) -> Inventory {
        transform::inventory(parts, connection_id, collected_at, Some(&self.client_id))
    }

    fn stats(&self) -> Arc<RequestStats> {
        self.api.stats.clone()
    }
}

/// The value of a query parameter in an answer's record (used by transforms and tests).
pub fn text<'a>(record: &'a Value, field: &str) -> &'a str {
    record.get(field).and_then(Value::as_str).unwrap_or("")
}
