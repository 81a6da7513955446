//! `aispm demo`: simulated tenants on loopback, connected and scanned through the real queue,
//! then findings, exposure paths and a report. Uses its own database under --out, never the
//! user's default one.

use crate::output;
use anyhow::{Context, Result};
use service::report::{path_line, severity_counts};
use service::{Caller, Config, EndpointPolicy, FindingFilter, NewConnection, Service};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

pub async fn run(args: &crate::cli::DemoArgs) -> Result<ExitCode> {
    let out: &Path = &args.out;
    let started = Instant::now();
    if out.exists() {
        // Only ever remove what a previous demo wrote.
        let reports = service::report::Format::ALL.map(|f| f.file_name());
        for name in ["aispm.db", "aispm.db-wal", "aispm.db-shm", "master.key"]
            .iter()
            .chain(reports.iter())
        {
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

    // One simulated vendor of each kind, connected like any other: the demo knows no vendor.
    svc.create_tenant(&Caller::Local, "demo").await?;
    let tenant = &svc.scope(&Caller::Local, "demo").await?;
    let simulated = sandbox::start_all("risky")
        .await
        .context("cannot start the simulators")?;
    for sim in &simulated {
        eprintln!("{} simulator (scenario risky) on {}", sim.vendor, sim.server.base_url);
        let new = NewConnection {
            provider: sim.provider.into(),
            label: sim.label.clone(),
            settings: sim.settings.clone(),
            secrets: sim.secrets.clone(),
        };
        let id = svc.connect(tenant, new).await?;
        eprintln!("connected {} as connection {id}", sim.vendor);
    }

    // A simulated Slack channel hears what the scan finds (high and critical, one message).
    let slack = sandbox::slack::start(0)
        .await
        .context("cannot start the Slack simulator")?;
    svc.add_alert_channel(
        tenant,
        service::alerts::NewAlertChannel {
            kind: service::alerts::ChannelKind::Slack,
            url: slack.webhook_url(),
            name: Some("#secops (simulated)".into()),
            min_severity: "high".into(),
            mode: "immediate".into(),
            digest_cron: None,
            timezone: "UTC".into(),
            link_base: None,
        },
    )
    .await?;
    eprintln!("Slack simulator on {}", slack.server.base_url);

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
    let sent = svc.deliver_alerts(Duration::from_secs(30)).await?;
    println!("\nSlack: {sent} message(s) delivered to #secops (simulated):");
    for body in slack.delivered() {
        println!(
            "  {} ({} blocks)",
            body["text"].as_str().unwrap_or(""),
            body["blocks"].as_array().map(Vec::len).unwrap_or(0)
        );
    }
    let written = svc.write_report(tenant, out, &service::report::Format::ALL).await?;
    let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
    println!(
        "\nReports: {}\n{} requests, {:.1} s. Explore the demo's own database with: aispm --data-dir {} findings --tenant demo",
        names.join(", "),
        outcome.requests,
        started.elapsed().as_secs_f64(),
        out.display()
    );
    if !args.serve {
        drop(simulated);
        return Ok(ExitCode::SUCCESS);
    }
    // The web UI on the demo's database, with a person who is admin of the demo tenant and a
    // one-time link that signs them in. The simulators stay up for "Scan now".
    let email = "demo@aispm.localhost";
    let password = service::new_form_token();
    svc.add_user(&Caller::Local, email, &password, false).await?;
    svc.grant(tenant, email, service::Role::Admin).await?;
    let link = svc.create_sign_in_link(&Caller::Local, email).await?;
    let serve_args = crate::cli::ServeArgs {
        listen: args.listen,
        public_url: None,
        no_workers: false,
        allow_test_endpoints: true,
    };
    let code = crate::serve(svc, serve_args, |url| {
        println!("\nOpen {url}/login/link?token={link} to see the demo in a browser (the link works once, for 10 minutes). Ctrl-C stops it.");
    })
    .await?;
    drop(simulated);
    Ok(code)
}
