//! The application layer: what aispm does, for every front end. The CLI calls it today; the
//! HTTP API, the web pages and the scheduler call the same functions. Nothing here prints:
//! progress is data handed to a callback, outcomes are typed values, failures are
//! [`ServiceError`]s whose messages name the problem.

mod access;
pub mod alerts;
mod browser;
pub mod changes;
pub mod endpoints;
mod queries;
pub mod report;
mod scans;
pub mod schedules;

pub use access::{
    new_form_token, AuditEntry, Caller, NewToken, Role, TenantScope, TokenInfo, WebSession, MIN_PASSWORD, SESSION_HOURS,
};
pub use browser::{Callback, M365App};
pub use queries::{AgentSummary, AgentView, FindingQuery, Page, ScanView, MAX_PAGE};

pub use endpoints::EndpointPolicy;
pub use engine::{RuleError, RuleSet};
pub use report::Report;
pub use scans::{ScanOutcome, ScanProgress, StartedScan};
pub use store::ScanStatus;

use jobs::{Queue, Runtime};
use schemas::{Finding, FindingStatus, Inventory};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use store::entities::{connection, tenant};
use store::{EvaluationSummary, SealContext, SecretBox, Store};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The caller's input is wrong (a slug, a URL, a provider); the message says how.
    #[error("{0}")]
    Invalid(String),
    /// The vendor refused or could not be reached while connecting.
    #[error("could not connect to {label}: {reason}")]
    Connect { label: String, reason: String },
    /// Not there, or not the caller's to see (the two are not told apart).
    #[error("{0}")]
    NotFound(String),
    /// The caller's role does not allow it.
    #[error("{0}")]
    Forbidden(String),
    /// It clashes with the current state (a user that exists, a scan still running).
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(store::StoreError),
    #[error(transparent)]
    Queue(#[from] jobs::queue::QueueError),
    #[error(transparent)]
    Crypto(#[from] store::CryptoError),
    #[error("{0}")]
    Rules(String),
    #[error("{0}")]
    Other(String),
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

impl From<store::StoreError> for ServiceError {
    fn from(e: store::StoreError) -> Self {
        match e {
            store::StoreError::Conflict(m) => ServiceError::Conflict(m),
            store::StoreError::TenantExists(slug) => ServiceError::Conflict(format!("tenant {slug:?} already exists")),
            other => ServiceError::Store(other),
        }
    }
}

/// Where the service keeps its data and how it treats what callers send it.
#[derive(Debug, Clone)]
pub struct Config {
    /// `sqlite://…` or `postgres://…`; `None`: `aispm.db` in the data directory.
    pub database_url: Option<String>,
    /// The default database and the key file live here (created 0700).
    pub data_dir: PathBuf,
    /// `AISPM_MASTER_KEY`; `None`: the key file in the data directory.
    pub master_key: Option<String>,
    /// Rule directories loaded beside the built-in rules.
    pub rules_dirs: Vec<PathBuf>,
    /// Which base URLs connections may use.
    pub endpoints: EndpointPolicy,
    /// The operator's multi-tenant Microsoft 365 app, for connecting from the browser.
    pub m365_app: Option<M365App>,
}

impl Config {
    /// The configuration from the environment (`AISPM_MASTER_KEY`, `AISPM_RULES_DIR`), with
    /// the database and data directory the caller chose.
    pub fn from_env(database_url: Option<String>, data_dir: PathBuf, endpoints: EndpointPolicy) -> Self {
        Config {
            database_url,
            data_dir,
            master_key: std::env::var("AISPM_MASTER_KEY").ok().filter(|k| !k.is_empty()),
            rules_dirs: std::env::var_os("AISPM_RULES_DIR")
                .map(|dirs| std::env::split_paths(&dirs).collect())
                .unwrap_or_default(),
            endpoints,
            m365_app: None,
        }
    }
}

/// The default data directory: $XDG_DATA_HOME/aispm or ~/.local/share/aispm.
pub fn default_data_dir() -> PathBuf {
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("aispm");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".local/share/aispm")
}

pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

/// The built-in rules plus every rule in `dirs`.
pub fn load_rules(dirs: &[PathBuf]) -> Result<RuleSet> {
    let join = |errors: Vec<engine::RuleError>| {
        ServiceError::Rules(errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))
    };
    let mut rules = RuleSet::builtin().map_err(join)?;
    for dir in dirs {
        rules.extend(RuleSet::load_dir(dir).map_err(join)?).map_err(join)?;
    }
    Ok(rules)
}

/// A connection to create: the vendor's settings and its secrets (already read by the caller
/// from wherever secrets come from; never logged).
pub struct NewConnection {
    pub provider: String,
    pub label: String,
    pub settings: serde_json::Value,
    pub secrets: BTreeMap<String, String>,
}

/// What a key rotation did.
#[derive(Debug)]
pub struct KeyRotation {
    pub resealed: usize,
    pub old_key_id: String,
    pub new_key_id: String,
    /// The key file that now holds the new key (`None` when keys come from the environment).
    pub key_file: Option<PathBuf>,
}

/// Which findings a query returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingFilter {
    Open,
    Resolved,
    All,
}

impl FindingFilter {
    pub fn admits(self, f: &Finding) -> bool {
        match self {
            FindingFilter::Open => f.status == FindingStatus::Open,
            FindingFilter::Resolved => f.status == FindingStatus::Resolved,
            FindingFilter::All => true,
        }
    }
}

/// The application: a store, a queue, the sealing key and the rules.
pub struct Service {
    rt: Arc<Runtime>,
    config: Config,
    /// Each tenant's findings, parsed and in report order, as of its evaluation number: every
    /// change to a tenant's findings moves that number (in the same transaction), so an entry
    /// is valid exactly while the number stands, in every process sharing the database.
    findings_cache: std::sync::Mutex<BTreeMap<String, CachedFindings>>,
}

/// A tenant's evaluation number and its findings in report order.
type CachedFindings = (i64, Arc<Vec<Finding>>);

/// Tenants whose findings are kept parsed (the rest are read again when asked for).
const CACHED_TENANTS: usize = 16;

impl Service {
    /// Opens (and migrates) the database, the queue, the key and the rules.
    pub async fn open(config: Config) -> Result<Service> {
        private_dir(&config.data_dir).map_err(|e| {
            ServiceError::Other(format!(
                "cannot create the data directory {}: {e}",
                config.data_dir.display()
            ))
        })?;
        let url = config
            .database_url
            .clone()
            .unwrap_or_else(|| sqlite_url(&config.data_dir.join("aispm.db")));
        let store = Store::open(&url).await?;
        let queue = Queue::for_store(&store).await?;
        let secrets = SecretBox::load(config.master_key.as_deref(), &config.data_dir.join("master.key"))?;
        let rules = Arc::new(load_rules(&config.rules_dirs)?);
        Ok(Service {
            rt: Arc::new(Runtime {
                store,
                secrets,
                rules,
                queue,
            }),
            config,
            findings_cache: Default::default(),
        })
    }

    /// The runtime the queue workers share.
    pub fn runtime(&self) -> Arc<Runtime> {
        self.rt.clone()
    }

    fn store(&self) -> &Store {
        &self.rt.store
    }

    // ---- tenants

    /// Creates a tenant; for callers already known to be operators (see `create_tenant`).
    pub(crate) async fn add_tenant(&self, slug: &str) -> Result<tenant::Model> {
        let slug = store::parse_slug(slug).map_err(ServiceError::Invalid)?;
        Ok(self.store().add_tenant(&slug).await?)
    }

    // ---- connections

    /// Checks the endpoints, verifies the credentials with the vendor, then stores the
    /// connection with its secrets sealed to it. Returns the connection id.
    pub async fn connect(&self, scope: &TenantScope, new: NewConnection) -> Result<String> {
        scope.require(Role::Admin)?;
        let tenant = &scope.tenant;
        let vendor = connectors::vendor(&new.provider).map_err(|e| ServiceError::Invalid(e.to_string()))?;
        vendor.check_settings(&new.settings).map_err(ServiceError::Invalid)?;
        if let Some(unknown) = new.secrets.keys().find(|k| !vendor.secrets.contains(&k.as_str())) {
            return Err(ServiceError::Invalid(format!(
                "{}: unknown secret {unknown:?}",
                vendor.label
            )));
        }
        for name in vendor.destination_settings {
            if let Some(url) = new
                .settings
                .get(*name)
                .and_then(|v| v.as_str())
                .filter(|v| v.contains("://"))
            {
                endpoints::check(url, self.config.endpoints)
                    .map_err(|e| ServiceError::Invalid(format!("{name}: {e}")))?;
            }
        }
        let id = store::new_id();
        let spec = connectors::ConnectionSpec {
            id: id.clone(),
            provider: new.provider.clone(),
            settings: new.settings.clone(),
            secrets: new.secrets.clone(),
        };
        let rotated = connectors::verify(&spec).await.map_err(|e| ServiceError::Connect {
            label: new.label.clone(),
            reason: e.to_string(),
        })?;
        let mut secrets = new.secrets.clone();
        secrets.extend(rotated);
        let context = SealContext::new(&id, &tenant.id, &new.provider, &new.settings);
        let sealed = self.rt.secrets.seal(&context, &secrets);
        self.store()
            .add_connection(&id, &tenant.id, &new.provider, &new.label, &new.settings, sealed)
            .await?;
        self.record(
            scope,
            "connection.add",
            &format!("{} {} ({id})", new.provider, new.label),
        )
        .await?;
        Ok(id)
    }

    pub async fn connections(&self, scope: &TenantScope) -> Result<Vec<connection::Model>> {
        Ok(self.store().connections(&scope.tenant.id).await?)
    }

    /// Removes a connection with its scans and snapshots; its findings are resolved by the
    /// evaluation this asks for.
    pub async fn remove_connection(&self, scope: &TenantScope, id: &str) -> Result<()> {
        scope.require(Role::Admin)?;
        if !self.store().remove_connection(&scope.tenant.id, id).await? {
            return Err(ServiceError::NotFound(format!("no connection {id:?}")));
        }
        self.record(scope, "connection.remove", id).await
    }

    // ---- results

    pub async fn findings(&self, scope: &TenantScope, filter: FindingFilter) -> Result<Vec<Finding>> {
        Ok(self
            .sorted_findings(scope)
            .await?
            .iter()
            .filter(|f| filter.admits(f))
            .cloned()
            .collect())
    }

    /// All the tenant's findings in report order, shared (see `findings_cache`).
    pub(crate) async fn sorted_findings(&self, scope: &TenantScope) -> Result<Arc<Vec<Finding>>> {
        let tenant = &scope.tenant;
        let cached = self
            .findings_cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&tenant.id)
            .filter(|(seq, _)| *seq == tenant.evaluation_seq)
            .map(|(_, list)| list.clone());
        if let Some(list) = cached {
            return Ok(list);
        }
        let mut findings = self.store().findings(&tenant.id).await?;
        report::sort_findings(&mut findings);
        let list = Arc::new(findings);
        let mut cache = self.findings_cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHED_TENANTS && !cache.contains_key(&tenant.id) {
            cache.clear();
        }
        cache.insert(tenant.id.clone(), (tenant.evaluation_seq, list.clone()));
        Ok(list)
    }

    /// The newest complete snapshot of each of the tenant's connections.
    pub async fn inventories(&self, scope: &TenantScope) -> Result<Vec<Inventory>> {
        Ok(self.store().latest_inventories(&scope.tenant.id).await?)
    }

    pub async fn latest_evaluation(&self, scope: &TenantScope) -> Result<Option<EvaluationSummary>> {
        Ok(self.store().latest_evaluation(&scope.tenant.id).await?)
    }

    /// The tenant's last evaluations, oldest first (posture over time).
    pub async fn evaluation_history(&self, scope: &TenantScope, limit: u64) -> Result<Vec<EvaluationSummary>> {
        let mut list = self.store().evaluations(&scope.tenant.id, limit).await?;
        list.reverse();
        Ok(list)
    }

    // ---- keys

    /// Re-seals every connection's secrets with a new master key. With keys from the
    /// environment, `new_key` is the new key's text (the caller sets `AISPM_MASTER_KEY` to it
    /// afterwards on every host); with a key file, a key is generated, written (fsynced) to
    /// `master.key.new` before anything is re-sealed, and renamed over the key file after the
    /// re-sealing transaction commits, so an interruption loses nothing: run it again.
    pub async fn rotate_key(&self, caller: &Caller, new_key: Option<&str>) -> Result<KeyRotation> {
        if !caller.is_operator() {
            return Err(ServiceError::Forbidden(
                "only an operator rotates the master key".into(),
            ));
        }
        let old_key_id = self.rt.secrets.key_id().to_string();
        if self.config.master_key.is_some() || new_key.is_some() {
            let text = new_key.ok_or_else(|| {
                ServiceError::Invalid("AISPM_MASTER_KEY is set: give the new key with --new-key-env VAR".into())
            })?;
            let new = SecretBox::from_text(text)?;
            let resealed = self.store().reseal_connections(&self.rt.secrets, &new).await?;
            return Ok(KeyRotation {
                resealed,
                old_key_id,
                new_key_id: new.key_id().to_string(),
                key_file: None,
            });
        }
        let dir = &self.config.data_dir;
        let key_file = dir.join("master.key");
        let pending = dir.join("master.key.new");
        let io = |what: &Path, e: std::io::Error| ServiceError::Other(format!("{}: {e}", what.display()));
        // A rotation interrupted after writing its key resumes with that key.
        let new = if pending.exists() {
            SecretBox::load(None, &pending)?
        } else {
            let (new, text) = SecretBox::generate();
            store::crypto::write_private(&pending, &text).map_err(|e| io(&pending, e))?;
            new
        };
        let resealed = self.store().reseal_connections(&self.rt.secrets, &new).await?;
        std::fs::rename(&pending, &key_file).map_err(|e| io(&key_file, e))?;
        std::fs::File::open(dir).and_then(|d| d.sync_all()).ok();
        Ok(KeyRotation {
            resealed,
            old_key_id,
            new_key_id: new.key_id().to_string(),
            key_file: Some(key_file),
        })
    }

    /// The queue's workers and the scheduler, until `stop` resolves. The scheduler looks for
    /// due schedules every `AISPM_SCHEDULE_TICK_SECS` (default 15) seconds.
    pub async fn run_workers(&self, stop: impl std::future::Future<Output = ()> + Send + 'static) -> Result<()> {
        let tick = std::env::var("AISPM_SCHEDULE_TICK_SECS")
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(|s| std::time::Duration::from_secs_f64(s.min(3600.0)))
            .unwrap_or(std::time::Duration::from_secs(15));
        let (stopped_tx, mut stopped) = tokio::sync::watch::channel(false);
        let stopped_tx = std::sync::Arc::new(stopped_tx);
        let on_stop = stopped_tx.clone();
        // The scheduler stops with the workers, whether asked to or because they failed.
        let workers = async move {
            let result = jobs::run_workers(self.rt.clone(), async move {
                stop.await;
                let _ = on_stop.send(true);
            })
            .await;
            let _ = stopped_tx.send(true);
            result
        };
        let mut sender_stopped = stopped.clone();
        let scheduler = self.run_scheduler(tick, async move {
            let _ = stopped.wait_for(|s| *s).await;
        });
        // The alert sender looks often: a message is due as soon as its evaluation is stored.
        let sender =
            jobs::alerts::deliver::run_sender(self.rt.clone(), std::time::Duration::from_millis(250), async move {
                let _ = sender_stopped.wait_for(|s| *s).await;
            });
        let (workers, (), ()) = tokio::join!(workers, scheduler, sender);
        Ok(workers?)
    }
}

/// Creates `dir` with mode 0700 (its parents as usual), or leaves an existing one as it is.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}
