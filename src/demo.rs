//! `aispm demo`: simulated tenants on loopback, connected and scanned through the real queue,
//! then findings, exposure paths and a report. Uses its own database under --out, never the
//! user's default one.

use crate::output;
use anyhow::{Context, Result};
use connectors::{m365, servicenow};
use sandbox::servicenow::{scenarios, SimConfig};
use service::report::{path_line, severity_counts};
use service::{Config, EndpointPolicy, FindingFilter, NewConnection, Service};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

pub async fn run(out: &Path) -> Result<ExitCode> {
    let started = Instant::now();
    if out.exists() {
        // Only ever remove what a previous demo wrote.
        for name in [
            "aispm.db",
            "aispm.db-wal",
            "aispm.db-shm",
            "master.key",
            "report.json",
            "report.md",
        ] {
            let _ = std::fs::remove_file(out.join(name));
        }
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut config = Config::from_env(
        Some(service::sqlite_url(&out.join("aispm.db"))),
        out.to_path_buf(),
        EndpointPolicy::AllowTestEndpoints,
    );
    config.master_key = None; // the demo's own key file, never the user's key
    let svc = Service::open(config).await?;

    let config = SimConfig::default();
    let sim = sandbox::servicenow::start(config.clone(), scenarios::risky(), 0)
        .await
        .context("cannot start the ServiceNow simulator")?;
    eprintln!("ServiceNow simulator (scenario risky) on {}", sim.base_url);

    let tenant = "demo";
    svc.add_tenant(tenant).await?;
    let secrets = BTreeMap::from([(servicenow::CLIENT_SECRET.to_string(), config.client_secret.clone())]);
    let settings = servicenow::Settings {
        instance_url: sim.base_url.clone(),
        client_id: config.client_id.clone(),
        max_rps: Some(50.0),
        ..Default::default()
    }
    .to_value();
    let new = NewConnection {
        provider: servicenow::PROVIDER.into(),
        label: sim.base_url.clone(),
        settings,
        secrets,
    };
    let id = svc.connect(tenant, new).await?;
    eprintln!("connected ServiceNow as connection {id}");

    // Microsoft 365: one simulator plays login, Graph, BAP, the Power Platform API and Dataverse.
    let ms_config = sandbox::m365::SimConfig::default();
    let ms = sandbox::m365::start(ms_config.clone(), sandbox::m365::scenarios::risky(), 0)
        .await
        .context("cannot start the Microsoft 365 simulator")?;
    eprintln!("Microsoft 365 simulator (scenario risky) on {}", ms.base_url);
    let base = &ms.base_url;
    let settings = m365::Settings {
        directory_id: ms_config.directory_id.clone(),
        client_id: ms_config.client_id.clone(),
        login_url: Some(format!("{base}/login")),
        graph_url: Some(format!("{base}/graph")),
        bap_url: Some(format!("{base}/bap")),
        powerplatform_url: Some(format!("{base}/pp")),
        max_rps: Some(50.0),
        ..Default::default()
    }
    .to_value();
    let secrets = BTreeMap::from([(m365::CLIENT_SECRET.to_string(), ms_config.client_secret.clone())]);
    let label = format!("Microsoft 365 {}", ms_config.directory_id);
    let new = NewConnection {
        provider: m365::PROVIDER.into(),
        label,
        settings,
        secrets,
    };
    let id = svc.connect(tenant, new).await?;
    eprintln!("connected Microsoft 365 as connection {id}");

    let scans: Vec<String> = svc.start_scan(tenant).await?.into_iter().map(|s| s.scan_id).collect();
    eprintln!("scanning through the queue:");
    let outcome = svc
        .wait_for_scans(tenant, &scans, Duration::from_secs(120), crate::print_progress)
        .await?;
    for failure in &outcome.failed {
        eprintln!("scan failed: {failure}");
    }

    let findings = svc.findings(tenant, FindingFilter::Open).await?;
    println!("\nOpen findings by severity:");
    for (severity, n) in severity_counts(&findings) {
        println!("  {:<9} {n}", severity.as_str());
    }
    println!("\n{}", output::findings_table(&findings));
    println!("Top exposure paths:");
    for f in findings.iter().filter(|f| f.path.is_some()).take(5) {
        println!(
            "  [{}] {}\n      {}",
            f.severity.as_str(),
            f.title,
            path_line(f).unwrap_or_default()
        );
    }
    let (json_path, md_path) = svc.write_report(tenant, out).await?;
    println!(
        "\nReports: {} and {}\n{} requests, {:.1} s. Explore the demo's own database with: aispm --data-dir {} findings --tenant demo",
        json_path.display(),
        md_path.display(),
        outcome.requests,
        started.elapsed().as_secs_f64(),
        out.display()
    );
    drop(sim);
    drop(ms);
    Ok(ExitCode::SUCCESS)
}
