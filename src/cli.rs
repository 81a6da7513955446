//! Command-line definitions.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "aispm",
    version,
    about = "AI security posture for SaaS: reads AI agents, their permissions and data exposure through the vendors' APIs, and flags risky configurations and exposure paths.",
    long_about = None,
    after_help = "Start with `aispm demo` to see a full scan of simulated tenants.\nSecrets are read from environment variables or files you name (--client-secret-env, --password-env), never from the command line."
)]
pub struct Cli {
    /// Database URL: sqlite://PATH?mode=rwc or postgres://USER@HOST/DB.
    /// Default: a SQLite file in the data directory.
    #[arg(long, global = true, env = "AISPM_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Where the default database and the master key file live.
    /// Default: $XDG_DATA_HOME/aispm or ~/.local/share/aispm.
    #[arg(long, global = true, env = "AISPM_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run simulated tenants end to end: connect, scan through the queue, report.
    Demo(DemoArgs),
    /// Manage tenants (the organisations whose SaaS you assess).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Connect a SaaS app to a tenant with OAuth; checks the credentials first.
    #[command(subcommand)]
    Connect(ConnectCommand),
    /// List a tenant's connections.
    Connections(TenantArg),
    /// Queue a scan of every connection of a tenant; --wait runs it here and shows progress.
    Scan(ScanArgs),
    /// Run queue workers until interrupted (several may share a PostgreSQL database).
    Worker,
    /// Show a tenant's findings.
    Findings(FindingsArgs),
    /// Show what changed between scans: per resource, the fields with old and new values;
    /// risk changes say how they widen exposure and name the findings they opened or resolved.
    Changes(ChangesArgs),
    /// Show a tenant's latest collected inventory.
    Inventory(InventoryArgs),
    /// Write a tenant's posture report: HTML, PDF, JSON, Markdown, CSV, SARIF and/or OCSF.
    Report(ReportArgs),
    /// List or validate rules.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Manage the master key that seals connection secrets.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Run the HTTP API (and the queue's workers) until SIGTERM or Ctrl-C.
    Serve(ServeArgs),
    /// Manage the people who sign in.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens (`Authorization: Bearer aispm_…`).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Schedule scans and posture reports (they run inside `serve` and `worker`).
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// Send new findings and risk changes to Slack or a signed webhook (delivered by `serve`
    /// and `worker`).
    #[command(subcommand)]
    Alert(AlertCommand),
}

#[derive(Subcommand, Debug)]
pub enum AlertCommand {
    /// Add an alert channel; prints its id. The webhook URL is read from an environment
    /// variable, sealed, and never shown again.
    Add {
        #[arg(long)]
        tenant: String,
        /// The variable holding a Slack incoming-webhook URL (https://hooks.slack.com/...).
        #[arg(
            long,
            conflicts_with = "webhook_url_env",
            required_unless_present = "webhook_url_env"
        )]
        slack_webhook_env: Option<String>,
        /// The variable holding a generic webhook URL (JSON body, HMAC-SHA256 signature).
        #[arg(long)]
        webhook_url_env: Option<String>,
        /// A name for people.
        #[arg(long)]
        name: Option<String>,
        /// Findings below this severity are not sent: info, low, medium, high, critical.
        #[arg(long, default_value = "high")]
        min_severity: String,
        /// `immediate`: one message per evaluation that found something new. `digest`: one
        /// message on --digest-cron with everything since the last (resolved findings too).
        #[arg(long, value_parser = ["immediate", "digest"], default_value = "immediate")]
        mode: String,
        /// When digests go out, e.g. "0 8 * * MON-FRI" (with --mode digest).
        #[arg(long)]
        digest_cron: Option<String>,
        /// The IANA time zone the digest cron is read in.
        #[arg(long, default_value = "UTC")]
        timezone: String,
    },
    /// List alert channels: status (broken, and why), sent, pending and failed messages.
    List {
        /// One tenant; default: every tenant.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Send a test message now and say whether it arrived (a broken channel tries again).
    Test {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        id: String,
    },
    /// Remove an alert channel and its undelivered messages.
    Remove {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        id: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ScheduleCommand {
    /// Set a tenant's scan and/or report schedule: cron expressions (minute hour
    /// day-of-month month day-of-week, e.g. "0 7 * * MON") read in --timezone.
    Set {
        #[arg(long)]
        tenant: String,
        /// When to scan every connection, e.g. "0 */6 * * *" (every six hours).
        #[arg(long)]
        scan: Option<String>,
        /// When to build and keep a posture report, e.g. "0 7 * * MON".
        #[arg(long)]
        report: Option<String>,
        /// The IANA time zone the expressions are read in.
        #[arg(long, default_value = "UTC")]
        timezone: String,
    },
    /// List schedules with their next due time and what the last firing did.
    List {
        /// One tenant; default: every tenant.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Remove a tenant's scan or report schedule.
    Remove {
        #[arg(long)]
        tenant: String,
        #[arg(long, value_enum)]
        kind: ScheduleKindArg,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum ScheduleKindArg {
    Scan,
    Report,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free one; the URL is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// The URL people reach this server at (behind a proxy, the proxy's https URL).
    /// Default: http://<listen address>.
    #[arg(long, value_parser = parse_public_url)]
    pub public_url: Option<url::Url>,
    /// Serve only; run the queue's workers in separate `aispm worker` processes
    /// (on a shared PostgreSQL database).
    #[arg(long)]
    pub no_workers: bool,
    /// Let tenant admins point connections at plain-http or private addresses (the
    /// simulators, a lab). Off: only public https endpoints are accepted from the API.
    #[arg(long)]
    pub allow_test_endpoints: bool,
}

fn parse_public_url(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(format!("{text:?} is not an http(s) URL with a host"));
    }
    Ok(url)
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Add a person who signs in with an email and a password (argon2id-hashed).
    Add {
        email: String,
        /// Environment variable holding the password (at least 12 characters).
        #[arg(long, value_name = "VAR")]
        password_env: String,
        /// May create tenants and act in all of them.
        #[arg(long)]
        operator: bool,
    },
    /// Give a person a role in a tenant (replacing their earlier one there).
    Grant {
        email: String,
        #[arg(long)]
        tenant: String,
        #[arg(long, value_enum)]
        role: RoleArg,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create an API token and print it once (only its hash is stored).
    Create {
        /// The tenant it acts in; omit with --operator.
        #[arg(long, required_unless_present = "operator", conflicts_with = "operator")]
        tenant: Option<String>,
        #[arg(long, value_enum, default_value_t = RoleArg::Viewer)]
        role: RoleArg,
        /// An operator token: creates tenants and acts in every tenant.
        #[arg(long)]
        operator: bool,
        /// What it is for (shown in the token list and the audit log).
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum RoleArg {
    Admin,
    Viewer,
}

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Re-seal every connection's secrets with a new master key. With a key file, a new key
    /// is generated and replaces the file; with AISPM_MASTER_KEY, give the new key in another
    /// variable and set AISPM_MASTER_KEY to it on every host afterwards.
    Rotate {
        /// Environment variable holding the new key (64 hex characters or base64 of 32 bytes);
        /// required when AISPM_MASTER_KEY is set.
        #[arg(long, value_name = "VAR")]
        new_key_env: Option<String>,
    },
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Directory for the demo's database and reports (replaced on each run).
    #[arg(long, default_value = "aispm-demo")]
    pub out: PathBuf,
    /// Then keep the web UI up on loopback with the demo tenant, and print a one-time
    /// sign-in link. Ctrl-C stops it.
    #[arg(long)]
    pub serve: bool,
    /// Where --serve listens.
    #[arg(long, default_value = "127.0.0.1:8080", requires = "serve")]
    pub listen: std::net::SocketAddr,
}

#[derive(Subcommand, Debug)]
pub enum TenantCommand {
    /// Create a tenant.
    Add {
        /// Lowercase letters, digits and '-'.
        slug: String,
    },
    /// List tenants.
    List,
}

#[derive(Args, Debug)]
pub struct TenantArg {
    /// The tenant's slug (see `aispm tenant add`).
    #[arg(long)]
    pub tenant: String,
}

#[derive(Subcommand, Debug)]
pub enum ConnectCommand {
    /// ServiceNow (Now Assist, AI Agent Studio) through an OAuth app registry.
    Servicenow(ServiceNowArgs),
    /// Microsoft 365 Copilot, Copilot Studio and Entra apps through an app registration
    /// (client credentials, read-only application permissions; see the README).
    M365(M365Args),
    /// Salesforce Einstein and Agentforce through a connected app or external client app:
    /// the JWT bearer flow (an integration user and the app's private key) or client
    /// credentials (on the org's My Domain). See the README for the least-privilege set-up.
    Salesforce(SalesforceArgs),
    /// Google Workspace (Gemini, NotebookLM, third-party AI apps, sharing) through a service
    /// account with domain-wide delegation, acting as a super admin. See the README for the
    /// scopes to delegate.
    GoogleWorkspace(GoogleWorkspaceArgs),
}

#[derive(Args, Debug)]
pub struct GoogleWorkspaceArgs {
    /// The tenant's slug (see `aispm tenant add`).
    #[arg(long)]
    pub tenant: String,
    /// The service account's JSON key file (its token_uri says where tokens come from).
    #[arg(long)]
    pub service_account_key: PathBuf,
    /// The super admin the service account acts as (the Policy API answers super admins only).
    #[arg(long)]
    pub admin_email: String,
    /// The customer id, e.g. C01abc234 (default: my_customer, the admin's own).
    #[arg(long)]
    pub customer_id: Option<String>,
    /// Replaces https://admin.googleapis.com and https://cloudidentity.googleapis.com (a proxy,
    /// or the simulator).
    #[arg(long)]
    pub api_base_url: Option<String>,
    /// Requests per second (default 4).
    #[arg(long, value_parser = parse_rps)]
    pub max_rps: Option<f64>,
    /// Leave out the third-party app tokens inventory, and with it the one delegated scope
    /// that is not read-only (admin.directory.user.security, which can also sign users out).
    #[arg(long)]
    pub no_tokens_inventory: bool,
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("credentials").required(true).args(["private_key_file", "client_secret_env"])))]
pub struct SalesforceArgs {
    /// The tenant's slug (see `aispm tenant add`).
    #[arg(long)]
    pub tenant: String,
    /// https://login.salesforce.com, https://test.salesforce.com (sandboxes), or the org's My
    /// Domain (https://acme.my.salesforce.com; required for client credentials).
    #[arg(long)]
    pub login_url: String,
    /// The app's consumer key.
    #[arg(long)]
    pub client_id: String,
    /// The integration user the JWT bearer assertion names (with --private-key-file).
    #[arg(long, requires = "private_key_file")]
    pub username: Option<String>,
    /// PEM file with the app's RSA private key (unencrypted PKCS#8 or PKCS#1), for the JWT
    /// bearer flow.
    #[arg(long, requires = "username", conflicts_with = "client_secret_env")]
    pub private_key_file: Option<PathBuf>,
    /// Name of the environment variable holding the consumer secret (client credentials).
    #[arg(long)]
    pub client_secret_env: Option<String>,
    /// API version, e.g. v66.0 (default: the newest the org offers).
    #[arg(long, value_parser = parse_api_version)]
    pub api_version: Option<String>,
    /// Requests per second to the org (default 10).
    #[arg(long, value_parser = parse_rps)]
    pub max_rps: Option<f64>,
    /// Percent of the org's remaining daily API requests one scan may spend (default 10); what
    /// is left unread is reported as deferred coverage and read by the next scan.
    #[arg(long, value_parser = parse_percent)]
    pub max_daily_share: Option<f64>,
    /// RDAP service used to check whether Trusted URL domains are still registered (default
    /// https://rdap.org/; `off` skips the check). Only the domain names are sent.
    #[arg(long)]
    pub rdap_url: Option<String>,
}

fn parse_api_version(text: &str) -> Result<String, String> {
    let ok = text
        .strip_prefix('v')
        .and_then(|v| v.split_once('.'))
        .is_some_and(|(major, minor)| {
            !major.is_empty()
                && major.chars().all(|c| c.is_ascii_digit())
                && minor.chars().all(|c| c.is_ascii_digit())
                && !minor.is_empty()
        });
    if ok {
        Ok(text.to_string())
    } else {
        Err(format!("{text:?} is not an API version like v66.0"))
    }
}

fn parse_percent(text: &str) -> Result<f64, String> {
    match text.trim_end_matches('%').parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 100.0 => Ok(v),
        _ => Err(format!("{text:?} is not a percentage above 0 and at most 100")),
    }
}

/// Where a connection's client secret comes from (never the command line itself).
#[derive(Args, Debug)]
pub struct ClientSecretArgs {
    /// Name of the environment variable holding the client secret.
    #[arg(long, required_unless_present = "client_secret_file")]
    pub client_secret_env: Option<String>,
    /// File holding the client secret.
    #[arg(long, conflicts_with = "client_secret_env")]
    pub client_secret_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct M365Args {
    /// The tenant's slug (see `aispm tenant add`).
    #[arg(long)]
    pub tenant: String,
    /// The Entra tenant (directory) id, a GUID.
    #[arg(long, value_parser = parse_guid)]
    pub directory_id: String,
    /// The app registration's application (client) id.
    #[arg(long)]
    pub client_id: String,
    #[command(flatten)]
    pub client_secret: ClientSecretArgs,
    /// Entra sign-in host (sovereign clouds: https://login.microsoftonline.us, ...).
    #[arg(long, default_value = "https://login.microsoftonline.com")]
    pub login_url: String,
    /// Microsoft Graph host (GCC High: https://graph.microsoft.us, DoD: https://dod-graph.microsoft.us).
    #[arg(long, default_value = "https://graph.microsoft.com")]
    pub graph_url: String,
    /// Power Platform admin (BAP) API host; Dataverse environments are found through it.
    #[arg(long, default_value = "https://api.bap.microsoft.com")]
    pub bap_url: String,
    /// Power Platform API host (its inventory API needs a signed-in admin; reported as unavailable).
    #[arg(long, default_value = "https://api.powerplatform.com")]
    pub powerplatform_url: String,
    /// Graph requests per second (default 20; BAP and Dataverse never go faster than this).
    #[arg(long, value_parser = parse_rps)]
    pub max_rps: Option<f64>,
}

fn parse_guid(text: &str) -> Result<String, String> {
    let ok = text.len() == 36
        && text.chars().enumerate().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        });
    if ok {
        Ok(text.to_ascii_lowercase())
    } else {
        Err(format!(
            "{text:?} is not a directory id (a GUID like 8a1b2c3d-0000-4000-8000-00000000d1d1)"
        ))
    }
}

#[derive(Args, Debug)]
pub struct ServiceNowArgs {
    /// The tenant's slug (see `aispm tenant add`).
    #[arg(long)]
    pub tenant: String,
    /// e.g. https://acme.service-now.com
    #[arg(long)]
    pub instance_url: String,
    /// The app registry's client id.
    #[arg(long)]
    pub client_id: String,
    #[command(flatten)]
    pub client_secret: ClientSecretArgs,
    /// Integration user for the password grant (default: client-credentials grant).
    #[arg(long, requires = "password_env")]
    pub username: Option<String>,
    /// Name of the environment variable holding that user's password.
    #[arg(long, requires = "username")]
    pub password_env: Option<String>,
    /// Requests per second to this instance (default 5; the reference's pacing recipe).
    #[arg(long, value_parser = parse_rps)]
    pub max_rps: Option<f64>,
    /// Share (0-1] of the instance's advertised hourly API limit aispm may use (default 0.5:
    /// the integration user's budget is usually shared).
    #[arg(long, value_parser = parse_share)]
    pub budget_share: Option<f64>,
    /// Rows per Table API page (default 500).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10000))]
    pub page_size: Option<u64>,
}

fn parse_rps(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 1000.0 => Ok(v),
        _ => Err(format!("{text:?} is not a rate between 0 and 1000 requests per second")),
    }
}

fn parse_share(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 1.0 => Ok(v),
        _ => Err(format!("{text:?} is not a share between 0 (exclusive) and 1")),
    }
}

#[derive(Args, Debug)]
pub struct ScanArgs {
    /// The tenant's slug (see `aispm tenant add`).
    #[arg(long)]
    pub tenant: String,
    /// Run the queued jobs in this process and wait for the scan and evaluation to finish.
    #[arg(long)]
    pub wait: bool,
    /// Give up waiting after this many seconds.
    #[arg(long, default_value_t = 3600)]
    pub timeout: u64,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum StatusFilter {
    Open,
    Resolved,
    All,
}

#[derive(Args, Debug)]
pub struct FindingsArgs {
    /// The tenant's slug (see `aispm tenant add`).
    #[arg(long)]
    pub tenant: String,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    #[arg(long, value_enum, default_value_t = StatusFilter::Open)]
    pub status: StatusFilter,
}

#[derive(Args, Debug)]
pub struct ChangesArgs {
    /// The tenant's slug (see `aispm tenant add`).
    #[arg(long)]
    pub tenant: String,
    /// Only changes recorded since: a date (2026-11-30, from its start in UTC) or an RFC 3339
    /// time.
    #[arg(long)]
    pub since: Option<String>,
    /// Only risk changes.
    #[arg(long)]
    pub risk_only: bool,
    /// At most this many, newest first (1 to 500).
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Args, Debug)]
pub struct InventoryArgs {
    /// The tenant's slug (see `aispm tenant add`).
    #[arg(long)]
    pub tenant: String,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// The tenant's slug (see `aispm tenant add`).
    #[arg(long)]
    pub tenant: String,
    /// Directory to write the reports into (report.html, report.pdf, report.json, report.md,
    /// findings.csv, report.sarif, findings.ocsf.jsonl).
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
    /// Comma-separated formats: html, pdf, json, md, csv, sarif, ocsf.
    #[arg(long, default_value = "json,md")]
    pub format: String,
}

#[derive(Subcommand, Debug)]
pub enum RulesCommand {
    /// List the built-in rules (and those in --rules-dir).
    List {
        #[arg(long)]
        rules_dir: Vec<PathBuf>,
    },
    /// Check every rule file in a directory; reports file, line and reason for each problem.
    Validate { dir: PathBuf },
}
