//! The `aispm` command.

mod app;
mod cli;
mod demo;
mod output;

use anyhow::{bail, Context, Result};
use clap::Parser;
use cli::*;
use connectors::{m365, servicenow};
use schemas::FindingStatus;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            // One line naming the problem, not a usage dump. Clap lists missing arguments on
            // indented lines after the first: they are the problem, so they stay.
            let text = e.to_string();
            let problem: Vec<&str> = text
                .lines()
                .take_while(|l| !l.trim().is_empty() && !l.starts_with("Usage:"))
                .map(str::trim)
                .collect();
            let problem = problem.join(" ");
            let problem = problem.trim_start_matches("error: ");
            let problem = if problem.is_empty() {
                "invalid arguments"
            } else {
                problem
            };
            eprintln!("error: {problem} (see `aispm --help`)");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("AISPM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let data_dir = cli.data_dir.clone().unwrap_or_else(app::default_data_dir);
    let db = cli.database_url.as_deref();
    match cli.command {
        Command::Demo(args) => demo::run(&args.out).await,
        Command::Rules(cmd) => rules(cmd),
        Command::Tenant(TenantCommand::Add { slug }) => {
            let slug = store::parse_slug(&slug).map_err(anyhow::Error::msg)?;
            let rt = app::open(db, &data_dir).await?;
            let t = rt.store.add_tenant(&slug).await?;
            println!("{}", t.slug);
            eprintln!("created tenant {} ({})", t.slug, t.id);
            Ok(ExitCode::SUCCESS)
        }
        Command::Tenant(TenantCommand::List) => {
            let rt = app::open(db, &data_dir).await?;
            for t in rt.store.tenants().await? {
                println!("{}\t{}\t{}", t.slug, t.id, t.created_at);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Connect(ConnectCommand::Servicenow(a)) => {
            let rt = app::open(db, &data_dir).await?;
            let secret = app::read_secret(
                a.client_secret.client_secret_env.as_deref(),
                a.client_secret.client_secret_file.as_deref(),
                "client secret",
            )?;
            let mut secrets = BTreeMap::from([(servicenow::CLIENT_SECRET.to_string(), secret)]);
            if let Some(var) = &a.password_env {
                secrets.insert(
                    servicenow::PASSWORD.into(),
                    app::read_secret(Some(var), None, "password")?,
                );
            }
            let settings = servicenow::Settings {
                instance_url: a.instance_url.trim_end_matches('/').to_string(),
                client_id: a.client_id.clone(),
                username: a.username.clone(),
                max_rps: a.max_rps,
                page_size: a.page_size.map(|n| n as usize),
                budget_share: a.budget_share,
                max_wait_secs: None,
            }
            .to_value();
            url::Url::parse(&a.instance_url)
                .with_context(|| format!("--instance-url {:?} is not a URL", a.instance_url))?;
            let id = app::connect(
                &rt,
                &a.tenant,
                "servicenow",
                a.instance_url.trim_end_matches('/'),
                settings,
                secrets,
            )
            .await?;
            println!("{id}");
            eprintln!("connected ServiceNow {} to tenant {}", a.instance_url, a.tenant);
            Ok(ExitCode::SUCCESS)
        }
        Command::Connect(ConnectCommand::M365(a)) => {
            let rt = app::open(db, &data_dir).await?;
            let secret = app::read_secret(
                a.client_secret.client_secret_env.as_deref(),
                a.client_secret.client_secret_file.as_deref(),
                "client secret",
            )?;
            for (flag, value) in [
                ("--login-url", &a.login_url),
                ("--graph-url", &a.graph_url),
                ("--bap-url", &a.bap_url),
                ("--powerplatform-url", &a.powerplatform_url),
            ] {
                url::Url::parse(value).with_context(|| format!("{flag} {value:?} is not a URL"))?;
            }
            let settings = m365::Settings {
                directory_id: a.directory_id.clone(),
                client_id: a.client_id.clone(),
                login_url: Some(a.login_url.clone()),
                graph_url: Some(a.graph_url.clone()),
                bap_url: Some(a.bap_url.clone()),
                powerplatform_url: Some(a.powerplatform_url.clone()),
                max_rps: a.max_rps,
                ..Default::default()
            }
            .to_value();
            let secrets = BTreeMap::from([(m365::CLIENT_SECRET.to_string(), secret)]);
            let label = format!("Microsoft 365 {}", a.directory_id);
            let id = app::connect(&rt, &a.tenant, m365::PROVIDER, &label, settings, secrets).await?;
            println!("{id}");
            eprintln!("connected {label} to tenant {}", a.tenant);
            Ok(ExitCode::SUCCESS)
        }
        Command::Connections(a) => {
            let rt = app::open(db, &data_dir).await?;
            let tenant = rt.store.tenant(&a.tenant).await?;
            for c in rt.store.connections(&tenant.id).await? {
                println!("{}\t{}\t{}\t{}", c.id, c.provider, c.label, c.created_at);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Scan(a) => {
            let rt = app::open(db, &data_dir).await?;
            let ids = app::start_scan(&rt, &a.tenant).await?;
            if !a.wait {
                for id in &ids {
                    println!("{id}");
                }
                eprintln!(
                    "queued {} scan(s); run `aispm worker` to process them, or use --wait",
                    ids.len()
                );
                return Ok(ExitCode::SUCCESS);
            }
            eprintln!("scanning tenant {} ({} connection(s))", a.tenant, ids.len());
            let outcome = app::wait_for_scans(rt.clone(), &a.tenant, &ids, Duration::from_secs(a.timeout)).await?;
            for failure in &outcome.failed {
                eprintln!("scan failed: {failure}");
            }
            if outcome.completed == 0 {
                bail!("nothing could be collected for tenant {}", a.tenant);
            }
            let tenant = rt.store.tenant(&a.tenant).await?;
            let findings = rt.store.findings(&tenant.id).await?;
            let open = findings.iter().filter(|f| f.status == FindingStatus::Open).count();
            eprintln!(
                "scan complete: {} of {} connection(s), {} requests, {open} open finding(s)",
                outcome.completed,
                ids.len(),
                outcome.requests
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Worker => {
            let rt = app::open(db, &data_dir).await?;
            eprintln!("aispm worker running; Ctrl-C to stop");
            jobs::run_workers(rt, async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Findings(a) => {
            let rt = app::open(db, &data_dir).await?;
            let tenant = rt.store.tenant(&a.tenant).await?;
            let mut findings: Vec<_> = rt
                .store
                .findings(&tenant.id)
                .await?
                .into_iter()
                .filter(|f| match a.status {
                    StatusFilter::Open => f.status == FindingStatus::Open,
                    StatusFilter::Resolved => f.status == FindingStatus::Resolved,
                    StatusFilter::All => true,
                })
                .collect();
            output::sort_findings(&mut findings);
            match a.format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&findings)?),
                Format::Table => print!("{}", output::findings_table(&findings)),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Inventory(a) => {
            let rt = app::open(db, &data_dir).await?;
            let tenant = rt.store.tenant(&a.tenant).await?;
            let inventories = rt.store.latest_inventories(&tenant.id).await?;
            match a.format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&inventories)?),
                Format::Table => print!("{}", output::inventory_table(&inventories)),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Key(KeyCommand::Rotate { new_key_env }) => {
            let rt = app::open(db, &data_dir).await?;
            app::rotate_key(&rt, &data_dir, new_key_env.as_deref()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Report(a) => {
            let rt = app::open(db, &data_dir).await?;
            let (json_path, md_path) = write_report(&rt, &a.tenant, &a.out).await?;
            println!("{}\n{}", json_path.display(), md_path.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Writes report.json and report.md for a tenant into `dir`.
pub async fn write_report(
    rt: &jobs::Runtime,
    slug: &str,
    dir: &std::path::Path,
) -> Result<(std::path::PathBuf, std::path::PathBuf)> {
    let tenant = rt.store.tenant(slug).await?;
    let mut findings = rt.store.findings(&tenant.id).await?;
    output::sort_findings(&mut findings);
    let inventories = rt.store.latest_inventories(&tenant.id).await?;
    let evaluation = rt.store.latest_evaluation(&tenant.id).await?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let json_path = dir.join("report.json");
    let md_path = dir.join("report.md");
    let report = output::report_json(slug, &findings, &inventories, evaluation.as_ref());
    std::fs::write(&json_path, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("cannot write {}", json_path.display()))?;
    std::fs::write(
        &md_path,
        output::report_markdown(slug, &findings, &inventories, evaluation.as_ref()),
    )
    .with_context(|| format!("cannot write {}", md_path.display()))?;
    Ok((json_path, md_path))
}

fn rules(cmd: RulesCommand) -> Result<ExitCode> {
    match cmd {
        RulesCommand::List { rules_dir } => {
            let mut set = engine::RuleSet::builtin().map_err(|e| anyhow::anyhow!(app::join_errors(&e)))?;
            for dir in rules_dir {
                let extra = engine::RuleSet::load_dir(&dir).map_err(|e| anyhow::anyhow!(app::join_errors(&e)))?;
                set.extend(extra).map_err(|e| anyhow::anyhow!(app::join_errors(&e)))?;
            }
            println!(
                "{:<14} {:<9} {:<11} {:<16} TITLE",
                "ID", "SEVERITY", "PROVIDER", "RESOURCE"
            );
            for r in &set.rules {
                println!(
                    "{:<14} {:<9} {:<11} {:<16} {}",
                    r.meta.id,
                    r.meta.severity.as_str(),
                    r.meta.provider,
                    r.meta.resource,
                    r.meta.title
                );
            }
            eprintln!("{} rules", set.rules.len());
            Ok(ExitCode::SUCCESS)
        }
        RulesCommand::Validate { dir } => match engine::RuleSet::load_dir(&dir) {
            Ok(rules) => {
                // Ids must not clash with the built-in ones either.
                let mut set = engine::RuleSet::builtin().map_err(|e| anyhow::anyhow!(app::join_errors(&e)))?;
                let n = rules.len();
                if let Err(errors) = set.extend(rules) {
                    for e in &errors {
                        eprintln!("{e}");
                    }
                    return Ok(ExitCode::FAILURE);
                }
                println!("{n} rule file(s) in {} are valid", dir.display());
                Ok(ExitCode::SUCCESS)
            }
            Err(errors) => {
                for e in &errors {
                    eprintln!("{e}");
                }
                eprintln!("{} problem(s) in {}", errors.len(), dir.display());
                Ok(ExitCode::FAILURE)
            }
        },
    }
}
