//! The connector framework and one folder per vendor.
//!
//! A connector is a [`Collector`]: an ordered list of resources, a `fetch` per resource (get),
//! and a pure `transform` from the fetched vendor JSON to the normalized [`schemas::Inventory`].
//! The jobs crate drives it resource by resource, storing each part as it lands, so a scan
//! killed half-way resumes where it stopped. Nothing outside this crate knows a vendor's API.

pub mod auth;
pub mod google_workspace;
pub mod http;
pub mod jwt;
pub mod m365;
pub mod salesforce;
pub mod servicenow;

use futures::future::BoxFuture;
use schemas::{Coverage, CoverageStatus, Evidence, Inventory};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

pub use http::{ApiClient, ApiError, Pacing, RequestStats};

/// What was read of one resource: raw vendor records and the coverage record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ResourcePart {
    pub records: Vec<serde_json::Value>,
    pub coverage: Coverage,
}

impl ResourcePart {
    /// A resource read completely.
    pub fn collected(resource: &str, records: Vec<serde_json::Value>, requests: u64) -> Self {
        ResourcePart {
            coverage: Coverage {
                resource: resource.to_string(),
                status: CoverageStatus::Collected,
                evidence: Evidence::Api,
                requests,
                records: records.len() as u64,
                error: None,
            },
            records,
        }
    }

    /// A resource not (or not completely) read, with the reason; keeps what was read.
    pub fn gap(
        resource: &str,
        status: CoverageStatus,
        reason: String,
        records: Vec<serde_json::Value>,
        requests: u64,
    ) -> Self {
        let mut part = Self::collected(resource, records, requests);
        part.coverage.status = status;
        part.coverage.evidence = Evidence::Unavailable;
        part.coverage.error = Some(reason);
        part
    }

    /// A part that could not be read, with the reason, mapped to a coverage status.
    pub fn failed(resource: &str, error: &ApiError, requests: u64) -> Self {
        let status = match error {
            ApiError::Forbidden(_) | ApiError::Unauthorized(_) => CoverageStatus::Forbidden,
            ApiError::NotFound(_) => CoverageStatus::NotFound,
            ApiError::Status { status: 400, .. } => CoverageStatus::Unsupported,
            _ => CoverageStatus::Failed,
        };
        Self::gap(resource, status, error.to_string(), Vec::new(), requests)
    }
}

/// The records of an earlier resource a read depends on, or the gap reason when it was not
/// (fully) collected: ids from a resource that was not read are unknown, not absent.
pub fn needed<'a>(earlier: &'a Parts, resource: &str) -> Result<&'a [serde_json::Value], String> {
    match earlier.get(resource) {
        Some(p) if p.coverage.status == CoverageStatus::Collected => Ok(&p.records),
        _ => Err(format!("not read: it needs {resource}, which was not collected")),
    }
}

/// Like [`needed`] for several resources at once: the gap reason naming every one missing.
pub fn missing_dependencies(earlier: &Parts, resources: &[String]) -> Option<String> {
    let missing: Vec<&str> = resources
        .iter()
        .filter(|r| needed(earlier, r).is_err())
        .map(String::as_str)
        .collect();
    (!missing.is_empty()).then(|| format!("not read: it needs {}, which was not collected", missing.join(", ")))
}

/// Reads every resource of a collector in order, without storing anything: for tests and
/// tools. (The jobs crate runs the same sequence but stores each part as it lands.)
pub async fn read_all(collector: &dyn Collector) -> Result<Parts, ApiError> {
    let mut parts = Parts::new();
    for resource in collector.resources() {
        let part = collector.fetch(&resource, &parts).await?;
        parts.insert(resource, part);
    }
    Ok(parts)
}

/// Parts fetched so far in a scan, by resource name.
pub type Parts = BTreeMap<String, ResourcePart>;

/// A vendor collector bound to one connection.
/// Secret values by name (a connection's, or those a vendor replaced).
pub type Secrets = BTreeMap<String, String>;

pub trait Collector: Send + Sync {
    fn provider(&self) -> &'static str;
    /// Resource names in fetch order (later ones may use earlier parts).
    fn resources(&self) -> Vec<String>;
    /// Fetches one resource. Errors confined to the resource come back as a part with a
    /// non-`collected` coverage record; `Err` means the whole scan cannot go on (for example
    /// the credentials were refused) or should be retried later (throttled past the wait cap).
    fn fetch<'a>(&'a self, resource: &'a str, earlier: &'a Parts) -> BoxFuture<'a, Result<ResourcePart, ApiError>>;
    /// Pure: vendor JSON to the normalized model.
    fn transform(&self, parts: &Parts, connection_id: &str, collected_at: &str) -> Inventory;
    /// Request accounting for this connection.
    fn stats(&self) -> Arc<RequestStats>;
    /// Secrets the vendor replaced during this collector's life (a rotated refresh token),
    /// for the store to keep in place of the old ones. Empty when nothing rotated.
    fn rotated_secrets(&self) -> BTreeMap<String, String> {
        BTreeMap::new()
    }
}

/// A stored connection, as the jobs crate hands it to a connector: non-secret settings and the
/// decrypted secrets (never logged, never serialized back out).
#[derive(Clone)]
pub struct ConnectionSpec {
    pub id: String,
    pub provider: String,
    pub settings: serde_json::Value,
    pub secrets: BTreeMap<String, String>,
}

impl std::fmt::Debug for ConnectionSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionSpec")
            .field("id", &self.id)
            .field("provider", &self.provider)
            .field("settings", &self.settings)
            .field("secrets", &format_args!("<{} redacted>", self.secrets.len()))
            .finish()
    }
}

/// How a vendor describes itself to the rest of aispm: the one place a vendor is wired in.
/// The CLI, the jobs and (later) the HTTP API reach a vendor only through its entry in
/// [`VENDORS`].
pub struct Vendor {
    /// The provider id stored with each connection (`servicenow`, `m365`).
    pub id: &'static str,
    /// What people call it.
    pub label: &'static str,
    /// The connection's non-secret settings (what a Connect form or an API body carries).
    pub settings: &'static [Setting],
    /// The names of the connection's secrets.
    pub secrets: &'static [&'static str],
    /// Requests per second when the connection does not say (the vendor's documented pace).
    pub default_max_rps: f64,
    /// The settings that say where the secrets are sent (base URLs, the directory): bound into
    /// the secrets' sealing, so a row edited to point elsewhere no longer opens them.
    pub destination_settings: &'static [&'static str],
    /// The resources its collector reads, in order (what rules may name in `needs:`).
    pub resources: fn() -> Vec<String>,
    /// The collector for a stored connection.
    pub collector: fn(&ConnectionSpec) -> Result<Box<dyn Collector>, ConnectError>,
    /// Proves a connection's credentials (obtains a token; reads no data).
    /// Proves the credentials without reading data; returns the secrets the vendor rotated
    /// meanwhile (a refresh token), which are what must be stored.
    pub verify: fn(ConnectionSpec) -> BoxFuture<'static, Result<Secrets, ConnectError>>,
}

/// One non-secret connection setting.
#[derive(Debug)]
pub struct Setting {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: SettingKind,
    pub required: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingKind {
    Url,
    Text,
    Number,
}

impl Vendor {
    /// Checks settings against the vendor's description: required ones present, URLs that
    /// parse, numbers that are numbers, nothing unknown. The error names the setting.
    pub fn check_settings(&self, settings: &serde_json::Value) -> Result<(), String> {
        let Some(map) = settings.as_object() else {
            return Err(format!("{} settings must be a JSON object", self.label));
        };
        for name in map.keys() {
            if !self.settings.iter().any(|s| s.name == name) {
                return Err(format!("{}: unknown setting {name:?}", self.label));
            }
        }
        for setting in self.settings {
            let value = map.get(setting.name).filter(|v| !v.is_null());
            let Some(value) = value else {
                if setting.required {
                    return Err(format!(
                        "{}: {} ({}) is required",
                        self.label, setting.label, setting.name
                    ));
                }
                continue;
            };
            let ok = match setting.kind {
                SettingKind::Number => value.as_f64().is_some_and(|n| n.is_finite() && n >= 0.0),
                SettingKind::Text => value.as_str().is_some_and(|t| !t.trim().is_empty()),
                SettingKind::Url => value.as_str().is_some_and(|u| url::Url::parse(u).is_ok()),
            };
            if !ok {
                let wanted = match setting.kind {
                    SettingKind::Number => "a number",
                    SettingKind::Text => "non-empty text",
                    SettingKind::Url => "a URL",
                };
                return Err(format!(
                    "{}: {} ({}) must be {wanted}",
                    self.label, setting.label, setting.name
                ));
            }
        }
        Ok(())
    }
}

/// Every vendor aispm can read. Adding one is a line here (and its folders).
pub static VENDORS: &[&Vendor] = &[
    &servicenow::VENDOR,
    &m365::VENDOR,
    &salesforce::VENDOR,
    &google_workspace::VENDOR,
];

/// The registry entry of a provider id.
pub fn vendor(provider: &str) -> Result<&'static Vendor, ConnectError> {
    VENDORS
        .iter()
        .copied()
        .find(|v| v.id == provider)
        .ok_or_else(|| ConnectError::UnknownProvider(provider.to_string()))
}

impl std::fmt::Debug for Vendor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vendor")
            .field("id", &self.id)
            .field("label", &self.label)
            .finish()
    }
}

fn known_providers() -> String {
    VENDORS.iter().map(|v| v.id).collect::<Vec<_>>().join(", ")
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("unknown provider {0:?} (known: {known})", known = known_providers())]
    UnknownProvider(String),
    #[error("connection setting {0}")]
    Setting(String),
    #[error(transparent)]
    Api(#[from] ApiError),
}

/// Builds the collector for a stored connection.
pub fn collector(spec: &ConnectionSpec) -> Result<Box<dyn Collector>, ConnectError> {
    (vendor(&spec.provider)?.collector)(spec)
}

/// Proves a connection's credentials by obtaining a token.
pub async fn verify(spec: &ConnectionSpec) -> Result<Secrets, ConnectError> {
    (vendor(&spec.provider)?.verify)(spec.clone()).await
}
