//! The `aispm` command.

mod cli;
mod demo;
mod http;
mod output;

use anyhow::{anyhow, bail, Context, Result};
use clap::Parser;
use cli::*;
use connectors::{google_workspace, m365, salesforce, servicenow};
use service::schedules::ScheduleKind;
use service::{Caller, Config, EndpointPolicy, FindingFilter, NewConnection, Role, ScanProgress, Service};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
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
    let data_dir = cli.data_dir.clone().unwrap_or_else(service::default_data_dir);
    // The operator's command line may point connections at test endpoints (simulators).
    let config = Config::from_env(cli.database_url.clone(), data_dir, EndpointPolicy::AllowTestEndpoints);
    let open = || Service::open(config.clone());
    match cli.command {
        Command::Demo(args) => demo::run(&args).await,
        Command::Rules(cmd) => rules(cmd),
        Command::Tenant(TenantCommand::Add { slug }) => {
            let t = open().await?.create_tenant(&Caller::Local, &slug).await?;
            println!("{}", t.slug);
            eprintln!("created tenant {} ({})", t.slug, t.id);
            Ok(ExitCode::SUCCESS)
        }
        Command::Tenant(TenantCommand::List) => {
            for (t, _) in open().await?.visible_tenants(&Caller::Local).await? {
                println!("{}\t{}\t{}", t.slug, t.id, t.created_at);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Connect(ConnectCommand::Servicenow(a)) => {
            let svc = open().await?;
            let secret = read_secret(
                a.client_secret.client_secret_env.as_deref(),
                a.client_secret.client_secret_file.as_deref(),
                "client secret",
            )?;
            let mut secrets = BTreeMap::from([(servicenow::CLIENT_SECRET.to_string(), secret)]);
            if let Some(var) = &a.password_env {
                secrets.insert(servicenow::PASSWORD.into(), read_secret(Some(var), None, "password")?);
            }
            url::Url::parse(&a.instance_url)
                .with_context(|| format!("--instance-url {:?} is not a URL", a.instance_url))?;
            let instance_url = a.instance_url.trim_end_matches('/').to_string();
            let settings = servicenow::Settings {
                instance_url: instance_url.clone(),
                client_id: a.client_id.clone(),
                username: a.username.clone(),
                max_rps: a.max_rps,
                page_size: a.page_size.map(|n| n as usize),
                budget_share: a.budget_share,
                max_wait_secs: None,
            }
            .to_value();
            let new = NewConnection {
                provider: servicenow::PROVIDER.into(),
                label: instance_url,
                settings,
                secrets,
            };
            let id = svc.connect(&svc.scope(&Caller::Local, &a.tenant).await?, new).await?;
            println!("{id}");
            eprintln!("connected ServiceNow {} to tenant {}", a.instance_url, a.tenant);
            Ok(ExitCode::SUCCESS)
        }
        Command::Connect(ConnectCommand::M365(a)) => {
            let svc = open().await?;
            let secret = read_secret(
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
            let label = format!("Microsoft 365 {}", a.directory_id);
            let new = NewConnection {
                provider: m365::PROVIDER.into(),
                label: label.clone(),
                settings,
                secrets: BTreeMap::from([(m365::CLIENT_SECRET.to_string(), secret)]),
            };
            let id = svc.connect(&svc.scope(&Caller::Local, &a.tenant).await?, new).await?;
            println!("{id}");
            eprintln!("connected {label} to tenant {}", a.tenant);
            Ok(ExitCode::SUCCESS)
        }
        Command::Connect(ConnectCommand::Salesforce(a)) => {
            let svc = open().await?;
            url::Url::parse(&a.login_url).with_context(|| format!("--login-url {:?} is not a URL", a.login_url))?;
            let mut secrets = BTreeMap::new();
            if let Some(path) = &a.private_key_file {
                let pem = read_secret(None, Some(path), "private key")?;
                // Checked here so a wrong file is named now, not at the first scan.
                salesforce::auth::private_key(&pem)
                    .map_err(|e| anyhow!("--private-key-file {}: {e}", path.display()))?;
                secrets.insert(salesforce::PRIVATE_KEY.to_string(), pem);
            }
            if let Some(var) = &a.client_secret_env {
                secrets.insert(
                    salesforce::CLIENT_SECRET.to_string(),
                    read_secret(Some(var), None, "consumer secret")?,
                );
            }
            let login_url = a.login_url.trim_end_matches('/').to_string();
            let settings = salesforce::Settings {
                login_url: login_url.clone(),
                client_id: a.client_id.clone(),
                username: a.username.clone(),
                api_version: a.api_version.clone(),
                max_rps: a.max_rps,
                max_daily_share: a.max_daily_share,
                rdap_url: a.rdap_url.clone(),
                ..Default::default()
            }
            .to_value();
            let label = format!("Salesforce {login_url}");
            let new = NewConnection {
                provider: salesforce::PROVIDER.into(),
                label: label.clone(),
                settings,
                secrets,
            };
            let id = svc.connect(&svc.scope(&Caller::Local, &a.tenant).await?, new).await?;
            println!("{id}");
            eprintln!("connected {label} to tenant {}", a.tenant);
            Ok(ExitCode::SUCCESS)
        }
        Command::Connect(ConnectCommand::GoogleWorkspace(a)) => {
            let svc = open().await?;
            let path = &a.service_account_key;
            let key = read_secret(None, Some(path), "service account key")?;
            // Checked here so a wrong file is named now, not at the first scan.
            let account = google_workspace::auth::ServiceAccount::from_key_file(&key)
                .map_err(|e| anyhow!("--service-account-key {}: {e}", path.display()))?;
            if let Some(base) = &a.api_base_url {
                url::Url::parse(base).with_context(|| format!("--api-base-url {base:?} is not a URL"))?;
            }
            let mut settings = serde_json::json!({"admin_email": a.admin_email.trim()});
            for (name, value) in [("customer_id", &a.customer_id), ("api_base_url", &a.api_base_url)] {
                if let Some(v) = value {
                    settings[name] = serde_json::json!(v.trim().trim_end_matches('/'));
                }
            }
            if let Some(rps) = a.max_rps {
                settings["max_rps"] = serde_json::json!(rps);
            }
            if a.no_tokens_inventory {
                settings["tokens_inventory"] = serde_json::json!("off");
            }
            let domain = a.admin_email.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
            let label = format!("Google Workspace {domain}");
            let new = NewConnection {
                provider: google_workspace::PROVIDER.into(),
                label: label.clone(),
                settings,
                secrets: BTreeMap::from([(google_workspace::SERVICE_ACCOUNT_KEY.to_string(), key)]),
            };
            let id = svc.connect(&svc.scope(&Caller::Local, &a.tenant).await?, new).await?;
            println!("{id}");
            eprintln!(
                "connected {label} to tenant {} (service account {}, client id {})",
                a.tenant, account.client_email, account.client_id
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Connections(a) => {
            let svc = open().await?;
            for c in svc.connections(&svc.scope(&Caller::Local, &a.tenant).await?).await? {
                println!("{}\t{}\t{}\t{}", c.id, c.provider, c.label, c.created_at);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Scan(a) => {
            let svc = open().await?;
            let scope = svc.scope(&Caller::Local, &a.tenant).await?;
            let started = svc.start_scan(&scope).await?;
            for s in started.iter().filter(|s| s.resumed) {
                eprintln!(
                    "resuming unfinished scan {} of {} ({})",
                    s.scan_id, s.connection_label, s.status
                );
            }
            let ids: Vec<String> = started.iter().map(|s| s.scan_id.clone()).collect();
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
            let outcome = svc
                .wait_for_scans(&scope, &ids, Duration::from_secs(a.timeout), print_progress)
                .await?;
            for failure in &outcome.failed {
                eprintln!("scan failed: {failure}");
            }
            if outcome.completed == 0 {
                bail!("nothing could be collected for tenant {}", a.tenant);
            }
            let open_findings = svc.findings(&scope, FindingFilter::Open).await?.len();
            eprintln!(
                "scan complete: {} of {} connection(s), {} requests, {open_findings} open finding(s)",
                outcome.completed,
                ids.len(),
                outcome.requests
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Worker => {
            let svc = open().await?;
            eprintln!("aispm worker running (scans, evaluations, schedules, alerts); Ctrl-C or SIGTERM stops it");
            svc.run_workers(shutdown_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Findings(a) => {
            let filter = match a.status {
                StatusFilter::Open => FindingFilter::Open,
                StatusFilter::Resolved => FindingFilter::Resolved,
                StatusFilter::All => FindingFilter::All,
            };
            let svc = open().await?;
            let findings = svc
                .findings(&svc.scope(&Caller::Local, &a.tenant).await?, filter)
                .await?;
            match a.format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&findings)?),
                Format::Table => print!("{}", output::findings_table(&findings)),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Changes(a) => {
            let svc = open().await?;
            let filter = service::changes::ChangeFilter {
                since: a.since,
                risk_only: a.risk_only,
                cursor: None,
                limit: a.limit,
            };
            let page = svc
                .changes(&svc.scope(&Caller::Local, &a.tenant).await?, &filter)
                .await?;
            match a.format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&page.items)?),
                Format::Table => print!("{}", output::changes_table(&page.items)),
            }
            if page.next_cursor.is_some() {
                eprintln!("older changes not shown: raise --limit or narrow with --since");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Inventory(a) => {
            let svc = open().await?;
            let inventories = svc.inventories(&svc.scope(&Caller::Local, &a.tenant).await?).await?;
            match a.format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&inventories)?),
                Format::Table => print!("{}", output::inventory_table(&inventories)),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Key(KeyCommand::Rotate { new_key_env }) => {
            let svc = open().await?;
            let new_key = match &new_key_env {
                Some(var) => Some(
                    std::env::var(var).map_err(|_| anyhow!("environment variable {var} (the new key) is not set"))?,
                ),
                None => None,
            };
            let done = svc.rotate_key(&Caller::Local, new_key.as_deref()).await?;
            match &done.key_file {
                Some(file) => eprintln!(
                    "re-sealed {} connection(s) with key {} (was {}); {} replaced",
                    done.resealed,
                    done.new_key_id,
                    done.old_key_id,
                    file.display()
                ),
                None => eprintln!(
                    "re-sealed {} connection(s) with key {}; now set AISPM_MASTER_KEY to the new key on every host that shares this database",
                    done.resealed, done.new_key_id
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Schedule(ScheduleCommand::Set {
            tenant,
            scan,
            report,
            timezone,
        }) => {
            if scan.is_none() && report.is_none() {
                bail!("say what to schedule: --scan \"<cron>\" and/or --report \"<cron>\"");
            }
            let svc = open().await?;
            let scope = svc.scope(&Caller::Local, &tenant).await?;
            for (kind, cron) in [(ScheduleKind::Scan, scan), (ScheduleKind::Report, report)] {
                if let Some(cron) = cron {
                    let s = svc.set_schedule(&scope, kind, &cron, &timezone).await?;
                    eprintln!(
                        "{} {}: \"{}\" ({}), next {}",
                        s.tenant,
                        kind.as_str(),
                        s.cron,
                        s.timezone,
                        s.next_due_at
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Schedule(ScheduleCommand::List { tenant }) => {
            let svc = open().await?;
            let slugs: Vec<String> = match tenant {
                Some(t) => vec![t],
                None => svc
                    .visible_tenants(&Caller::Local)
                    .await?
                    .into_iter()
                    .map(|(t, _)| t.slug)
                    .collect(),
            };
            println!(
                "{:<16} {:<7} {:<20} {:<16} {:<25} LAST",
                "TENANT", "KIND", "CRON", "TIME ZONE", "NEXT DUE (UTC)"
            );
            for slug in slugs {
                for s in svc.schedules(&svc.scope(&Caller::Local, &slug).await?).await? {
                    println!(
                        "{:<16} {:<7} {:<20} {:<16} {:<25} {}",
                        s.tenant,
                        s.kind.as_str(),
                        s.cron,
                        s.timezone,
                        s.next_due_at,
                        s.last_result.as_deref().unwrap_or("not fired yet")
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Schedule(ScheduleCommand::Remove { tenant, kind }) => {
            let svc = open().await?;
            let kind = match kind {
                ScheduleKindArg::Scan => ScheduleKind::Scan,
                ScheduleKindArg::Report => ScheduleKind::Report,
            };
            svc.remove_schedule(&svc.scope(&Caller::Local, &tenant).await?, kind)
                .await?;
            eprintln!("removed {tenant}'s {} schedule", kind.as_str());
            Ok(ExitCode::SUCCESS)
        }
        Command::Alert(AlertCommand::Add {
            tenant,
            slack_webhook_env,
            webhook_url_env,
            name,
            min_severity,
            mode,
            digest_cron,
            timezone,
        }) => {
            let (kind, var) = match (slack_webhook_env, webhook_url_env) {
                (Some(var), _) => (service::alerts::ChannelKind::Slack, var),
                (None, Some(var)) => (service::alerts::ChannelKind::Webhook, var),
                (None, None) => bail!("name the webhook: --slack-webhook-env VAR or --webhook-url-env VAR"),
            };
            let url =
                std::env::var(&var).map_err(|_| anyhow!("environment variable {var} (the webhook URL) is not set"))?;
            let svc = open().await?;
            let scope = svc.scope(&Caller::Local, &tenant).await?;
            let added = svc
                .add_alert_channel(
                    &scope,
                    service::alerts::NewAlertChannel {
                        kind,
                        url,
                        name,
                        min_severity,
                        mode,
                        digest_cron,
                        timezone,
                        link_base: std::env::var("AISPM_PUBLIC_URL").ok(),
                    },
                )
                .await?;
            println!("{}", added.channel.id);
            if let Some(key) = added.signing_key {
                eprintln!("signing key (shown once; verify X-Aispm-Signature with it):");
                println!("{key}");
            }
            eprintln!(
                "{} channel {:?} added: {} alerts at {} or above; `aispm alert test --tenant {tenant} --id {}` sends a test",
                added.channel.kind, added.channel.name, added.channel.mode, added.channel.min_severity, added.channel.id
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Alert(AlertCommand::List { tenant }) => {
            let svc = open().await?;
            let slugs: Vec<String> = match tenant {
                Some(t) => vec![t],
                None => svc
                    .visible_tenants(&Caller::Local)
                    .await?
                    .into_iter()
                    .map(|(t, _)| t.slug)
                    .collect(),
            };
            println!(
                "{:<36} {:<12} {:<8} {:<9} {:<10} {:>5} {:>7} {:>6}  STATUS",
                "ID", "TENANT", "KIND", "MIN", "MODE", "SENT", "PENDING", "FAILED"
            );
            for slug in slugs {
                for c in svc.alert_channels(&svc.scope(&Caller::Local, &slug).await?).await? {
                    let status = match &c.broken_reason {
                        Some(why) => format!("broken: {why}"),
                        None => c.status.clone(),
                    };
                    println!(
                        "{:<36} {:<12} {:<8} {:<9} {:<10} {:>5} {:>7} {:>6}  {status}",
                        c.id, c.tenant, c.kind, c.min_severity, c.mode, c.sent, c.pending, c.failed
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Alert(AlertCommand::Test { tenant, id }) => {
            let svc = open().await?;
            let scope = svc.scope(&Caller::Local, &tenant).await?;
            let row = svc.test_alert_channel(&scope, &id).await?;
            match svc.deliver_now(&row, std::time::Duration::from_secs(30)).await? {
                Ok(_) => {
                    eprintln!("test message delivered");
                    Ok(ExitCode::SUCCESS)
                }
                Err(why) => bail!("test message not delivered: {why}"),
            }
        }
        Command::Alert(AlertCommand::Remove { tenant, id }) => {
            let svc = open().await?;
            svc.remove_alert_channel(&svc.scope(&Caller::Local, &tenant).await?, &id)
                .await?;
            eprintln!("removed alert channel {id}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve(a) => {
            let mut config = config.clone();
            if !a.allow_test_endpoints {
                config.endpoints = EndpointPolicy::PublicHttpsOnly;
            }
            config.m365_app = service::M365App::from_env().map_err(|e| anyhow!(e))?;
            serve(Service::open(config).await?, a, |_| {}).await
        }
        Command::User(UserCommand::Add {
            email,
            password_env,
            operator,
        }) => {
            let password = read_secret(Some(&password_env), None, "password")?;
            open()
                .await?
                .add_user(&Caller::Local, &email, &password, operator)
                .await?;
            eprintln!(
                "added {}{}",
                email.trim().to_lowercase(),
                if operator { " (operator)" } else { "" }
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::User(UserCommand::Grant { email, tenant, role }) => {
            let svc = open().await?;
            let scope = svc.scope(&Caller::Local, &tenant).await?;
            svc.grant(&scope, &email, role_of(role)).await?;
            eprintln!(
                "{} is now {} of tenant {tenant}",
                email.trim().to_lowercase(),
                role_of(role).as_str()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Token(TokenCommand::Create {
            tenant,
            role,
            operator,
            name,
        }) => {
            let svc = open().await?;
            let created = match (&tenant, operator) {
                (Some(slug), false) => {
                    let scope = svc.scope(&Caller::Local, slug).await?;
                    svc.create_token(&scope, role_of(role), &name).await?
                }
                _ => svc.create_operator_token(&Caller::Local, &name).await?,
            };
            println!("{}", created.token);
            eprintln!(
                "created token {} ({}{}); it is shown only now",
                created.info.name,
                created.info.role,
                tenant.map(|t| format!(" of tenant {t}")).unwrap_or_default()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Report(a) => {
            let svc = open().await?;
            let formats = service::report::Format::parse_list(&a.format).map_err(|e| anyhow!(e))?;
            let written = svc
                .write_report(&svc.scope(&Caller::Local, &a.tenant).await?, &a.out, &formats)
                .await?;
            for path in written {
                println!("{}", path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn role_of(role: RoleArg) -> Role {
    match role {
        RoleArg::Admin => Role::Admin,
        RoleArg::Viewer => Role::Viewer,
    }
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `aispm serve`: the API and, unless told otherwise, the queue's workers, until a signal.
/// In-flight requests finish; a running scan stops where it is and resumes from its stored
/// parts with the next worker.
pub async fn serve(svc: Service, a: ServeArgs, after_bind: impl FnOnce(&str)) -> Result<ExitCode> {
    let svc = Arc::new(svc);
    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .with_context(|| format!("cannot listen on {}", a.listen))?;
    let addr = listener.local_addr()?;
    let url = a
        .public_url
        .as_ref()
        .map(|u| u.as_str().trim_end_matches('/').to_string())
        .unwrap_or_else(|| format!("http://{addr}"));
    println!("aispm serving on {url} (listening on {addr})");
    if url.starts_with("http://") && http::secure_cookies(&url) {
        eprintln!(
            "note: sign-in cookies are Secure, so browsers send them only over https; serve behind https and pass --public-url https://…, or listen on loopback"
        );
    }
    match svc.m365_app() {
        Some(app) => eprintln!(
            "Microsoft 365 connects by admin consent to app {}; its redirect URI: {url}/oauth/callback",
            app.client_id
        ),
        None => eprintln!(
            "note: Microsoft 365 browser connect is off (set AISPM_M365_CLIENT_ID and AISPM_M365_CLIENT_SECRET_FILE to turn it on)"
        ),
    }
    after_bind(&url);
    let _ = std::io::stdout().flush();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let workers = (!a.no_workers).then(|| {
        let svc = svc.clone();
        let mut rx = stop_rx.clone();
        tokio::spawn(async move {
            svc.run_workers(async move {
                let _ = rx.wait_for(|stop| *stop).await;
            })
            .await
        })
    });
    let mut rx = stop_rx.clone();
    let server = http::serve(listener, svc.clone(), &url, async move {
        let _ = rx.wait_for(|stop| *stop).await;
    });
    let signal = async {
        shutdown_signal().await;
        eprintln!("shutting down: finishing requests in flight");
        let _ = stop_tx.send(true);
    };
    let (served, ()) = tokio::join!(server, signal);
    served.context("the HTTP server failed")?;
    if let Some(workers) = workers {
        workers.await.map_err(|e| anyhow!("worker task: {e}"))??;
    }
    eprintln!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// One line per change: every scan's state, and why a running one waits.
pub fn print_progress(scans: &[ScanProgress]) {
    let line = scans
        .iter()
        .map(|s| {
            format!(
                "{}: {} {}/{} resources, {} requests{}",
                s.connection_label,
                s.status,
                s.resources_done,
                s.resources_total,
                s.requests,
                match (&s.note, s.status) {
                    // A parked or retrying scan says why it is waiting.
                    (Some(note), service::ScanStatus::Running) => format!(" ({note})"),
                    _ if s.throttled > 0 => format!(", {} throttled", s.throttled),
                    _ => String::new(),
                }
            )
        })
        .collect::<Vec<_>>()
        .join(" | ");
    eprintln!("  {line}");
    let _ = std::io::stderr().flush();
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

fn rules(cmd: RulesCommand) -> Result<ExitCode> {
    match cmd {
        RulesCommand::List { rules_dir } => {
            let set = service::load_rules(&rules_dir)?;
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
        RulesCommand::Validate { dir } => match service::RuleSet::load_dir(&dir) {
            Ok(rules) => {
                // Ids must not clash with the built-in ones either.
                let mut set = service::RuleSet::builtin().map_err(|e| anyhow::anyhow!(join_errors(&e)))?;
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

fn join_errors(errors: &[service::RuleError]) -> String {
    errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ")
}
