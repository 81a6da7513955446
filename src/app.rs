//! Opening the store and queue, and the commands that use them.

use anyhow::{anyhow, bail, Context, Result};
use engine::RuleSet;
use jobs::{CollectJob, Queue, Runtime};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::SecretBox;
use store::{ScanStatus, Store};

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

/// Built-in rules plus any directories named in AISPM_RULES_DIR (separated by ':').
pub fn load_rules() -> Result<RuleSet> {
    let mut rules = RuleSet::builtin().map_err(|errors| anyhow!(join_errors(&errors)))?;
    if let Some(dirs) = std::env::var_os("AISPM_RULES_DIR") {
        for dir in std::env::split_paths(&dirs) {
            let extra = RuleSet::load_dir(&dir).map_err(|errors| anyhow!(join_errors(&errors)))?;
            rules.extend(extra).map_err(|errors| anyhow!(join_errors(&errors)))?;
        }
    }
    Ok(rules)
}

pub fn join_errors(errors: &[engine::RuleError]) -> String {
    errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ")
}

/// Opens the database (migrating it), the queue, the secret box and the rules.
pub async fn open(database_url: Option<&str>, data_dir: &Path) -> Result<Arc<Runtime>> {
    let url = match database_url {
        Some(url) => url.to_string(),
        None => sqlite_url(&data_dir.join("aispm.db")),
    };
    // The data directory holds the database (live vendor data) and the key file: owner only.
    private_dir(data_dir).with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
    let store = Store::open(&url).await?;
    let queue = Queue::for_store(&store).await?;
    let env_key = std::env::var("AISPM_MASTER_KEY").ok().filter(|k| !k.is_empty());
    let secrets = SecretBox::load(env_key.as_deref(), &data_dir.join("master.key"))?;
    Ok(Arc::new(Runtime {
        store,
        secrets,
        rules: Arc::new(load_rules()?),
        queue,
    }))
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

/// Re-seals every connection's secrets with a new master key and, for a key file, replaces
/// the file. The new key is on disk (fsynced, `master.key.new`) before any secret is re-sealed
/// with it, and re-sealing is one transaction, so an interruption loses nothing: run it again.
pub async fn rotate_key(rt: &Runtime, data_dir: &Path, new_key_env: Option<&str>) -> Result<()> {
    let env_key = std::env::var("AISPM_MASTER_KEY").ok().filter(|k| !k.is_empty());
    if env_key.is_some() || new_key_env.is_some() {
        let var =
            new_key_env.ok_or_else(|| anyhow!("AISPM_MASTER_KEY is set: give the new key with --new-key-env VAR"))?;
        let text = std::env::var(var).map_err(|_| anyhow!("environment variable {var} (the new key) is not set"))?;
        let new = SecretBox::from_text(&text).map_err(|e| anyhow!("{var}: {e}"))?;
        let n = rt.store.reseal_connections(&rt.secrets, &new).await?;
        eprintln!(
            "re-sealed {n} connection(s) with key {}; now set AISPM_MASTER_KEY to the new key on every host that shares this database",
            new.key_id()
        );
        return Ok(());
    }
    let key_file = data_dir.join("master.key");
    let pending = data_dir.join("master.key.new");
    // A rotation interrupted after writing its key resumes with that key.
    let new = if pending.exists() {
        SecretBox::load(None, &pending)?
    } else {
        let (new, text) = SecretBox::generate();
        store::crypto::write_private(&pending, &text).with_context(|| format!("cannot write {}", pending.display()))?;
        new
    };
    let n = rt.store.reseal_connections(&rt.secrets, &new).await?;
    std::fs::rename(&pending, &key_file).with_context(|| format!("cannot replace {}", key_file.display()))?;
    std::fs::File::open(data_dir).and_then(|d| d.sync_all()).ok();
    eprintln!(
        "re-sealed {n} connection(s) with key {} (was {}); {} replaced",
        new.key_id(),
        rt.secrets.key_id(),
        key_file.display()
    );
    Ok(())
}

/// Reads a secret from the named environment variable or file.
pub fn read_secret(env_var: Option<&str>, file: Option<&Path>, what: &str) -> Result<String> {
    let value = match (env_var, file) {
        (Some(var), _) => {
            std::env::var(var).map_err(|_| anyhow!("environment variable {var} (the {what}) is not set"))?
        }
        (None, Some(path)) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the {what} from {}", path.display()))?
            .trim_end_matches(['\n', '\r'])
            .to_string(),
        (None, None) => bail!("no {what} given"),
    };
    if value.is_empty() {
        bail!("the {what} is empty");
    }
    Ok(value)
}

/// Verifies the credentials, then stores the connection with its secrets sealed.
pub async fn connect(
    rt: &Runtime,
    tenant_slug: &str,
    provider: &str,
    label: &str,
    settings: serde_json::Value,
    secrets: BTreeMap<String, String>,
) -> Result<String> {
    let tenant = rt.store.tenant(tenant_slug).await?;
    let id = store::new_id();
    let spec = connectors::ConnectionSpec {
        id: id.clone(),
        provider: provider.to_string(),
        settings: settings.clone(),
        secrets: secrets.clone(),
    };
    connectors::verify(&spec)
        .await
        .map_err(|e| anyhow!("could not connect to {label}: {e}"))?;
    let context = store::SealContext::new(&id, &tenant.id, provider, &settings);
    let sealed = rt.secrets.seal(&context, &secrets);
    rt.store
        .add_connection(&id, &tenant.id, provider, label, &settings, sealed)
        .await?;
    Ok(id)
}

/// Queues a scan per connection, or resumes the one already unfinished. Returns scan ids.
pub async fn start_scan(rt: &Runtime, tenant_slug: &str) -> Result<Vec<String>> {
    let tenant = rt.store.tenant(tenant_slug).await?;
    let connections = rt.store.connections(&tenant.id).await?;
    if connections.is_empty() {
        bail!("tenant {tenant_slug} has no connections (add one with `aispm connect`)");
    }
    let mut ids = Vec::new();
    for conn in connections {
        let unfinished = rt.store.unfinished_scans(&conn.id).await?;
        if let Some(scan) = unfinished.first() {
            if rt.queue.collect_job_alive(&scan.id).await? {
                // A scan interrupted by a crash: its job is still queued and resumes from its parts.
                eprintln!(
                    "resuming unfinished scan {} of {} ({})",
                    scan.id, conn.label, scan.status
                );
                ids.push(scan.id.clone());
                continue;
            }
            // Its job left the queue without finishing it (tries used up): it can never end
            // by itself, so it is failed and a new scan starts.
            rt.store.fail_scan(&scan.id, ORPHANED).await?;
        }
        let scan = rt.store.create_scan(&tenant.id, &conn.id).await?;
        rt.queue
            .push_collect(CollectJob {
                scan_id: scan.id.clone(),
            })
            .await?;
        ids.push(scan.id);
    }
    Ok(ids)
}

/// Why a scan whose queue job is gone was failed.
const ORPHANED: &str = "its queue job ended without finishing the scan (its tries were used up)";

pub struct ScanOutcome {
    pub completed: usize,
    pub failed: Vec<String>,
    pub requests: i64,
}

/// Runs the workers in this process until every scan is finished and the tenant has been
/// evaluated after them; prints progress to stderr.
pub async fn wait_for_scans(
    rt: Arc<Runtime>,
    tenant_slug: &str,
    scan_ids: &[String],
    timeout: Duration,
) -> Result<ScanOutcome> {
    let tenant = rt.store.tenant(tenant_slug).await?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let workers = tokio::spawn(jobs::run_workers(rt.clone(), async {
        let _ = stop_rx.await;
    }));
    let started = Instant::now();
    let labels: BTreeMap<String, String> = rt
        .store
        .connections(&tenant.id)
        .await?
        .into_iter()
        .map(|c| (c.id, c.label))
        .collect();
    let mut last_line = String::new();
    let mut last_liveness = Instant::now();
    let outcome = loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut scans = Vec::new();
        for id in scan_ids {
            scans.push(rt.store.scan(id).await?);
        }
        let line = scans
            .iter()
            .map(|s| {
                let label = labels.get(&s.connection_id).map(String::as_str).unwrap_or("?");
                format!(
                    "{label}: {} {}/{} resources, {} requests{}",
                    s.status,
                    s.resources_done,
                    s.resources_total,
                    s.requests,
                    match (&s.error, s.status) {
                        // A parked or retrying scan says why it is waiting.
                        (Some(note), ScanStatus::Running) => format!(" ({note})"),
                        _ if s.throttled > 0 => format!(", {} throttled", s.throttled),
                        _ => String::new(),
                    }
                )
            })
            .collect::<Vec<_>>()
            .join(" | ");
        if line != last_line {
            eprintln!("  {line}");
            let _ = std::io::stderr().flush();
            last_line = line;
        }
        let finished = scans
            .iter()
            .all(|s| s.status == ScanStatus::Completed || s.status == ScanStatus::Failed);
        if !finished && last_liveness.elapsed() > Duration::from_secs(5) {
            last_liveness = Instant::now();
            for s in scans
                .iter()
                .filter(|s| s.status == ScanStatus::Queued || s.status == ScanStatus::Running)
            {
                if !rt.queue.collect_job_alive(&s.id).await? {
                    rt.store.fail_scan(&s.id, ORPHANED).await?;
                }
            }
        }
        if finished {
            let completed: Vec<_> = scans.iter().filter(|s| s.status == ScanStatus::Completed).collect();
            let last_finish = completed.iter().filter_map(|s| s.finished_at.clone()).max();
            let evaluated = match (&last_finish, rt.store.latest_evaluation(&tenant.id).await?) {
                (None, _) => true, // nothing to evaluate
                (Some(done), Some(summary)) => summary["evaluated_at"].as_str().is_some_and(|at| at >= done.as_str()),
                (Some(_), None) => false,
            };
            if evaluated {
                break ScanOutcome {
                    completed: completed.len(),
                    failed: scans
                        .iter()
                        .filter(|s| s.status == ScanStatus::Failed)
                        .map(|s| {
                            let label = labels.get(&s.connection_id).map(String::as_str).unwrap_or("?");
                            format!("{label}: {}", s.error.as_deref().unwrap_or("failed"))
                        })
                        .collect(),
                    requests: scans.iter().map(|s| s.requests).sum(),
                };
            }
        }
        if workers.is_finished() {
            // The workers stopped on their own: a queue or database failure.
            let result = workers.await.context("worker task")?;
            result?;
            bail!("the queue workers stopped before the scan finished");
        }
        if started.elapsed() > timeout {
            let _ = stop_tx.send(());
            bail!("the scan did not finish within {} s; it stays queued and resumes with `aispm worker` or the next `aispm scan --wait`", timeout.as_secs());
        }
    };
    let _ = stop_tx.send(());
    workers.await.context("worker task")??;
    Ok(outcome)
}
