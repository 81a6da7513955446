//! `aispm demo`: simulated tenants on loopback, connected and scanned through the real queue,
//! then findings, exposure paths and a report. Uses its own database under --out, never the
//! user's default one.

use crate::{app, output};
use anyhow::{Context, Result};
use connectors::{m365, servicenow};
use sandbox::servicenow::{scenarios, SimConfig};
use schemas::FindingStatus;
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
    let rt = app::open(Some(&app::sqlite_url(&out.join("aispm.db"))), out).await?;

    let config = SimConfig::default();
    let sim = sandbox::servicenow::start(config.clone(), scenarios::risky(), 0)
        .await
        .context("cannot start the ServiceNow simulator")?;
    eprintln!("ServiceNow simulator (scenario risky) on {}", sim.base_url);

    let tenant = "demo";
    rt.store.add_tenant(tenant).await?;
    let secrets = BTreeMap::from([(servicenow::CLIENT_SECRET.to_string(), config.client_secret.clone())]);
    let settings = servicenow::Settings {
        instance_url: sim.base_url.clone(),
        client_id: config.client_id.clone(),
        max_rps: Some(50.0),
        ..Default::default()
    }
    .to_value();
    let id = app::connect(&rt, tenant, "servicenow", &sim.base_url, settings, secrets).await?;
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
    let id = app::connect(&rt, tenant, m365::PROVIDER, &label, settings, secrets).await?;
    eprintln!("connected Microsoft 365 as connection {id}");

    let scans = app::start_scan(&rt, tenant).await?;
    eprintln!("scanning through the queue:");
    let outcome = app::wait_for_scans(rt.clone(), tenant, &scans, Duration::from_secs(120)).await?;
    for failure in &outcome.failed {
        eprintln!("scan failed: {failure}");
    }

    let tenant_row = rt.store.tenant(tenant).await?;
    let mut findings = rt.store.findings(&tenant_row.id).await?;
    findings.retain(|f| f.status == FindingStatus::Open);
    output::sort_findings(&mut findings);
    println!("\nOpen findings by severity:");
    for (severity, n) in output::severity_counts(&findings) {
        println!("  {:<9} {n}", severity.as_str());
    }
    println!("\n{}", output::findings_table(&findings));
    println!("Top exposure paths:");
    for f in findings.iter().filter(|f| f.path.is_some()).take(5) {
        println!(
            "  [{}] {}\n      {}",
            f.severity.as_str(),
            f.title,
            output::path_line(f).unwrap_or_default()
        );
    }
    let (json_path, md_path) = crate::write_report(&rt, tenant, out).await?;
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
