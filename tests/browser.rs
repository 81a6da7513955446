//! The web pages in a real browser: Debian's Chromium driven headless through chromedriver
//! (W3C WebDriver over HTTP, spoken here with reqwest). A tenant admin signs in, connects both
//! simulated vendors, scans, opens a finding and its path picture; a viewer sees no Connect
//! buttons; another tenant's admin sees none of it. Screenshots of the main pages at 1280 and
//! 390 pixels wide land in `target/screenshots/`.
//!
//! Skipped (saying so) when chromedriver is not installed, unless AISPM_REQUIRE_BROWSER is set
//! (CI sets it), then it fails.

use base64::Engine;
use reqwest::Client;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const PASSWORD: &str = "correct horse battery";

fn chromedriver() -> Option<PathBuf> {
    let candidates = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"];
    candidates.iter().map(PathBuf::from).find(|p| p.exists()).or_else(|| {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join("chromedriver"))
                .find(|p| p.exists())
        })
    })
}

fn chromium() -> Option<PathBuf> {
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

struct Driver {
    http: Client,
    base: String,
    session: String,
    _process: Child,
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Driver {
    async fn start(driver: &Path, browser: &Path) -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let process = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let http = Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while http.get(format!("{base}/status")).send().await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver answers");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": browser,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"]
        }}}});
        let answer: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("a browser session: {answer}"))
            .to_string();
        Driver {
            http,
            base,
            session,
            _process: process,
        }
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut request = self.http.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request.send().await.unwrap().json().await.unwrap();
        answer["value"].clone()
    }

    async fn go(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    async fn source(&self) -> String {
        self.cmd(reqwest::Method::GET, "/source", None)
            .await
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    async fn current_url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    async fn find_all(&self, css: &str) -> Vec<String> {
        let found = self
            .cmd(
                reqwest::Method::POST,
                "/elements",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        if !found.is_array() {
            panic!("finding {css}: {found}");
        }
        found
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e[ELEMENT].as_str().map(str::to_string))
            .collect()
    }

    async fn find(&self, css: &str) -> String {
        self.find_all(css)
            .await
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no element {css}"))
    }

    async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.cmd(reqwest::Method::POST, &format!("/element/{e}/clear"), Some(json!({})))
            .await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{e}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.cmd(reqwest::Method::POST, &format!("/element/{e}/click"), Some(json!({})))
            .await;
    }

    async fn resize(&self, width: u32, height: u32) {
        self.cmd(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        )
        .await;
    }

    async fn screenshot(&self, name: &str) {
        let data = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap_or(""))
            .expect("a PNG");
        assert!(png.starts_with(b"\x89PNG"), "{name} is a PNG");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    async fn quit(&self) {
        self.cmd(reqwest::Method::DELETE, "", None).await;
    }

    /// Waits until the page source holds `text` (reloading every `reload` when set).
    async fn wait_for(&self, text: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let source = self.source().await;
            if source.contains(text) {
                return source;
            }
            assert!(
                Instant::now() < deadline,
                "waited for {text:?}; page: {}",
                &source[..source.len().min(3000)]
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

struct Env {
    dir: PathBuf,
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Env {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_aispm"));
        c.args(args)
            .env("AISPM_DATA_DIR", self.dir.join("data"))
            .env_remove("AISPM_MASTER_KEY")
            .env_remove("AISPM_DATABASE_URL")
            .env("PW", PASSWORD)
            .kill_on_drop(true);
        c
    }

    async fn run(&self, args: &[&str]) {
        let out = self.cmd(args).output().await.unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

async fn sign_in(d: &Driver, url: &str, email: &str) {
    d.go(&format!("{url}/login")).await;
    d.type_into("#email", email).await;
    d.type_into("#password", PASSWORD).await;
    d.click("#sign-in").await;
    d.wait_for("Sign out", Duration::from_secs(10)).await;
}

async fn sign_out(d: &Driver) {
    d.click("header form button").await;
    d.wait_for("Sign in to aispm", Duration::from_secs(10)).await;
}

/// Screenshots of the page at desktop and phone width.
async fn shoot(d: &Driver, name: &str) {
    d.resize(1280, 900).await;
    d.screenshot(&format!("{name}-1280")).await;
    d.resize(390, 844).await;
    d.screenshot(&format!("{name}-390")).await;
    d.resize(1280, 900).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_admin_connects_scans_and_reads_a_finding_in_a_real_browser() {
    let (Some(driver), Some(browser)) = (chromedriver(), chromium()) else {
        if std::env::var_os("AISPM_REQUIRE_BROWSER").is_some() {
            panic!("AISPM_REQUIRE_BROWSER is set but chromium/chromedriver are not installed");
        }
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "skipped: chromium and chromedriver are not installed, so the browser test did not run"
        );
        return;
    };
    let e = Env {
        dir: std::env::temp_dir().join(format!("aispm-browser-{}", std::process::id())),
    };
    let _ = std::fs::remove_dir_all(&e.dir);
    std::fs::create_dir_all(&e.dir).unwrap();
    for args in [
        &["tenant", "add", "acme"][..],
        &["tenant", "add", "globex"],
        &["user", "add", "ana@acme.example", "--password-env", "PW"],
        &["user", "add", "vic@acme.example", "--password-env", "PW"],
        &["user", "add", "gus@globex.example", "--password-env", "PW"],
        &[
            "user",
            "grant",
            "ana@acme.example",
            "--tenant",
            "acme",
            "--role",
            "admin",
        ],
        &[
            "user",
            "grant",
            "vic@acme.example",
            "--tenant",
            "acme",
            "--role",
            "viewer",
        ],
        &[
            "user",
            "grant",
            "gus@globex.example",
            "--tenant",
            "globex",
            "--role",
            "admin",
        ],
    ] {
        e.run(args).await;
    }
    // The operator's multi-tenant Microsoft app; the directory has not consented to it yet.
    let m365_config = sandbox::m365::SimConfig {
        consented: false,
        delegated_refresh_token: None,
        ..Default::default()
    };
    let m365 = sandbox::m365::start(m365_config.clone(), sandbox::m365::scenarios::risky(), 0)
        .await
        .unwrap();
    let base = m365.base_url.clone();
    let mut server = e
        .cmd(&["serve", "--listen", "127.0.0.1:0", "--allow-test-endpoints"])
        .env("AISPM_M365_CLIENT_ID", &m365_config.client_id)
        .env("AISPM_M365_CLIENT_SECRET", &m365_config.client_secret)
        .env("AISPM_M365_LOGIN_URL", format!("{base}/login"))
        .env("AISPM_M365_GRAPH_URL", format!("{base}/graph"))
        .env("AISPM_M365_BAP_URL", format!("{base}/bap"))
        .env("AISPM_M365_POWERPLATFORM_URL", format!("{base}/pp"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_string();
    // The instance's Application Registry entry lists this server's callback.
    let sn_config = sandbox::servicenow::SimConfig {
        redirect_uris: vec![format!("{url}/oauth/callback")],
        ..Default::default()
    };
    let sn = sandbox::servicenow::start(sn_config.clone(), sandbox::servicenow::scenarios::risky(), 0)
        .await
        .unwrap();
    // ...and the Salesforce org's external client app.
    let sf_config = sandbox::salesforce::SimConfig {
        redirect_uris: vec![format!("{url}/oauth/callback")],
        ..Default::default()
    };
    let sf = sandbox::salesforce::start(
        sf_config.clone(),
        sandbox::salesforce::scenarios::by_name("risky").unwrap(),
        0,
    )
    .await
    .unwrap();
    // ...and so does the Microsoft app registration.
    reqwest::Client::new()
        .post(format!("{base}/__sandbox/redirect_uris"))
        .json(&json!([format!("{url}/oauth/callback")]))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();

    let d = Driver::start(&driver, &browser).await;
    d.go(&format!("{url}/")).await;
    d.wait_for("Sign in to aispm", Duration::from_secs(10)).await;
    shoot(&d, "login").await;
    // A wrong password is refused.
    d.type_into("#email", "ana@acme.example").await;
    d.type_into("#password", "not the password").await;
    d.click("#sign-in").await;
    d.wait_for("Wrong email or password", Duration::from_secs(10)).await;

    // The tenant admin connects ServiceNow by signing in at the instance (authorization code
    // with PKCE), and Microsoft 365 by admin consent, then signs in as a Copilot admin.
    sign_in(&d, &url, "ana@acme.example").await;
    d.go(&format!("{url}/t/acme/connections")).await;
    let page = d
        .wait_for("Connect ServiceNow by signing in", Duration::from_secs(10))
        .await;
    assert!(
        page.contains(&format!("{url}/oauth/callback")),
        "the redirect URI to register is shown"
    );
    assert_eq!(
        d.find_all("button.connect").await.len(),
        connectors::VENDORS.len(),
        "a Connect form per vendor"
    );
    d.type_into("#sso-instance_url", &sn.base_url).await;
    d.type_into("#sso-client_id", &sn_config.client_id).await;
    d.type_into("#sso-client_secret", &sn_config.client_secret).await;
    d.click("#sign-in-servicenow").await;
    d.wait_for("Continue to ServiceNow", Duration::from_secs(10)).await;
    d.click("#continue").await;
    d.wait_for("Connect to aispm", Duration::from_secs(10)).await;
    shoot(&d, "servicenow-consent").await;
    d.type_into("#user_name", &sn_config.users[0].0).await;
    d.type_into("#user_password", &sn_config.users[0].1).await;
    d.click("#allow").await;
    d.wait_for("<td>ServiceNow", Duration::from_secs(20)).await;
    assert!(d.current_url().await.ends_with("/t/acme/connections"));
    d.click("#connect-m365").await;
    d.wait_for("Continue to Microsoft", Duration::from_secs(10)).await;
    d.click("#continue").await;
    d.wait_for("Permissions requested", Duration::from_secs(10)).await;
    shoot(&d, "m365-consent").await;
    let (admin, admin_password) = m365_config.admins[0].clone();
    d.type_into("#login", &admin).await;
    d.type_into("#passwd", &admin_password).await;
    d.click("#accept").await;
    let page = d.wait_for("<td>Microsoft 365", Duration::from_secs(30)).await;
    assert!(!page.contains(&sn_config.client_secret), "no secret on the page");
    assert!(!page.contains(&m365_config.client_secret), "no secret on the page");
    // The optional delegated sign-in, at the directory itself.
    d.click("button.admin-sign-in").await;
    d.wait_for("Continue to Microsoft", Duration::from_secs(10)).await;
    d.click("#continue").await;
    d.wait_for("Sign in to your account", Duration::from_secs(10)).await;
    d.type_into("#login", &admin).await;
    d.type_into("#passwd", &admin_password).await;
    d.click("#accept").await;
    d.wait_for("Copilot admin signed in", Duration::from_secs(20)).await;
    // Salesforce: the admin's own app, PKCE without a secret, signed in as the integration user.
    let page = d.source().await;
    assert!(page.contains("Connect Salesforce by signing in") && page.contains("Require Proof Key for Code Exchange"));
    d.type_into("#sfsso-login_url", &sf.login.base_url).await;
    d.type_into("#sfsso-client_id", &sf_config.consumer_key).await;
    d.click("#sign-in-salesforce").await;
    d.wait_for("Continue to Salesforce", Duration::from_secs(10)).await;
    shoot(&d, "salesforce-continue").await;
    d.click("#continue").await;
    d.wait_for("Allow Access?", Duration::from_secs(10)).await;
    d.type_into("#username", &sf_config.usernames[0]).await;
    d.type_into("#password", &sf_config.sign_in_password).await;
    d.click("#allow").await;
    let page = d
        .wait_for(
            &format!("<td>Salesforce {}", sf.instance.base_url),
            Duration::from_secs(30),
        )
        .await;
    assert!(!page.contains(&sf_config.consumer_secret), "no secret on the page");
    // Google Workspace: the admin picks the downloaded key file; the page reads it into the key
    // box (no upload of its own), and the connection is checked with Google before it is kept.
    let gw = sandbox::google_workspace::simulated_connection("risky").await.unwrap();
    let key_file = std::env::temp_dir().join(format!("aispm-browser-gw-key-{}.json", std::process::id()));
    std::fs::write(&key_file, &gw.secrets["service_account_key"]).unwrap();
    d.type_into(
        "#google_workspace-admin_email",
        gw.settings["admin_email"].as_str().unwrap(),
    )
    .await;
    d.type_into(
        "#google_workspace-api_base_url",
        gw.settings["api_base_url"].as_str().unwrap(),
    )
    .await;
    let picker = d.find("#google_workspace-keyfile").await;
    d.cmd(
        reqwest::Method::POST,
        &format!("/element/{picker}/value"),
        Some(json!({"text": key_file.to_str().unwrap()})),
    )
    .await;
    shoot(&d, "google-workspace-key").await;
    d.click("form:has(input[value=google_workspace]) button.connect").await;
    let page = d
        .wait_for("<td>Google Workspace example.com", Duration::from_secs(30))
        .await;
    let key_line = sandbox::google_workspace::TEST_PRIVATE_KEY_PEM.lines().nth(3).unwrap();
    assert!(!page.contains(key_line), "the key is not on the page");
    let _ = std::fs::remove_file(&key_file);
    shoot(&d, "connections").await;

    // Scan now: the progress page refreshes itself until the scan completes.
    d.click("#scan-now").await;
    d.wait_for("id=\"scan-status\">completed<", Duration::from_secs(120))
        .await;
    shoot(&d, "scan").await;

    // Findings appear after the evaluation; open one with an exposure path.
    let deadline = Instant::now() + Duration::from_secs(60);
    let source = loop {
        // The ServiceNow scan's evaluation is in once its critical paths are listed.
        d.go(&format!("{url}/t/acme/findings?severity=critical&provider=servicenow"))
            .await;
        let source = d.source().await;
        if source.contains("class=\"pill\">path<") {
            break source;
        }
        assert!(Instant::now() < deadline, "findings with paths appear");
        tokio::time::sleep(Duration::from_millis(700)).await;
    };
    shoot(&d, "findings").await;
    // What the Copilot admin's sign-in unlocked: the anonymous agent on Direct Line.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        d.go(&format!("{url}/t/acme/findings?provider=m365&severity=critical"))
            .await;
        if d.source()
            .await
            .contains("without authentication is on a public channel")
        {
            break;
        }
        assert!(Instant::now() < deadline, "the delegated read's finding appears");
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    let row = source
        .split("<tr>")
        .find(|r| r.contains("class=\"pill\">path<"))
        .unwrap();
    let href = row
        .split("href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    d.go(&format!("{url}{href}")).await;
    d.wait_for("Exposure path", Duration::from_secs(10)).await;
    let nodes = d.find_all("#path svg g.node").await;
    let edges = d.find_all("#path svg g.edge").await;
    assert!(nodes.len() >= 3, "the path picture has its nodes: {}", nodes.len());
    assert_eq!(edges.len(), nodes.len() - 1, "an arrow between each pair");
    shoot(&d, "finding").await;
    let finding_url = d.current_url().await;

    d.go(&format!("{url}/t/acme")).await;
    let overview = d.wait_for("Open findings by severity", Duration::from_secs(10)).await;
    assert!(overview.contains("data-severity=\"critical\""));
    shoot(&d, "overview").await;
    d.go(&format!("{url}/t/acme/agents")).await;
    d.wait_for("Record Operations Agent", Duration::from_secs(10)).await;
    shoot(&d, "agents").await;
    let agents = d.source().await;
    let ops = agents
        .split("<tr>")
        .find(|r| r.contains("Record Operations Agent"))
        .and_then(|r| r.split("href=\"").nth(1))
        .and_then(|r| r.split('"').next())
        .unwrap()
        .replace("&amp;", "&");
    d.go(&format!("{url}{ops}")).await;
    let reach = d.wait_for("Who may invoke it", Duration::from_secs(10)).await;
    assert!(
        reach.contains("Runs as") && reach.contains("sev sev-"),
        "the agent's findings are listed"
    );
    shoot(&d, "agent").await;
    d.go(&format!("{url}/t/acme/tokens")).await;
    d.type_into("#name", "grafana").await;
    d.click("form[action$='/tokens'] button").await;
    let tokens = d.wait_for("id=\"new-token\"", Duration::from_secs(10)).await;
    assert!(tokens.contains("aispm_"));
    shoot(&d, "tokens").await;
    d.go(&format!("{url}/t/acme/schedules")).await;
    d.wait_for("Set a schedule", Duration::from_secs(10)).await;
    d.type_into("#cron", "0 7 * * MON").await;
    let zone = d.find("#timezone").await;
    d.cmd(
        reqwest::Method::POST,
        &format!("/element/{zone}/clear"),
        Some(json!({})),
    )
    .await;
    d.type_into("#timezone", "Europe/Berlin").await;
    d.click("#set-schedule").await;
    let schedules = d.wait_for("not fired yet", Duration::from_secs(10)).await;
    assert!(
        schedules.contains("Berlin") && schedules.contains("not fired yet"),
        "{schedules}"
    );
    d.click("#keep-report").await;
    let schedules = d.wait_for(">manual<", Duration::from_secs(20)).await;
    assert!(
        schedules.contains(">JSON</a>") && schedules.contains(">PDF</a>") && schedules.contains(">SARIF</a>"),
        "a kept report to download in every format"
    );
    shoot(&d, "schedules").await;

    // Alerts: a Slack channel (the simulator, which the server may reach because it runs with
    // --allow-test-endpoints), its URL never shown again, and a test message that arrives.
    let slack = sandbox::slack::start(0).await.unwrap();
    d.go(&format!("{url}/t/acme/alerts")).await;
    d.wait_for("<h1>Alerts</h1>", Duration::from_secs(10)).await;
    d.type_into("#name", "secops channel").await;
    d.type_into("#url", &slack.webhook_url()).await;
    d.click("#add-alert").await;
    let page = d.wait_for("secops channel", Duration::from_secs(10)).await;
    assert!(!page.contains("sandbox-webhook"), "the webhook URL is never shown");
    d.click(".test-alert").await;
    d.wait_for("Test message queued", Duration::from_secs(10)).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        d.go(&format!("{url}/t/acme/alerts")).await;
        let page = d.wait_for("<h1>Alerts</h1>", Duration::from_secs(10)).await;
        if page.contains("1 sent") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the test message was not delivered: {page}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let delivered: serde_json::Value = reqwest::get(format!("{}/__sandbox/messages", slack.server.base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(delivered["delivered"].as_array().unwrap().len(), 1, "{delivered:#}");
    shoot(&d, "alerts").await;
    // A signed webhook: its signing key is shown on the answer to adding it, once.
    d.click("#kind option[value='webhook']").await;
    d.type_into("#name", "siem hook").await;
    d.type_into("#url", &format!("{}/siem", slack.server.base_url)).await;
    d.click("#add-alert").await;
    let page = d.wait_for("shown this once", Duration::from_secs(10)).await;
    let key = page
        .split_once(r#"id="signing-key">"#)
        .and_then(|(_, rest)| rest.split_once("</code>"))
        .map(|(key, _)| key.to_string())
        .unwrap_or_default();
    assert!(key.len() >= 20, "the key on the page: {key:?}");
    d.go(&format!("{url}/t/acme/alerts")).await;
    let page_again = d.wait_for("siem hook", Duration::from_secs(10)).await;
    assert!(!page_again.contains(&key), "the signing key is not shown again");
    assert!(page.contains("siem hook"));
    d.go(&format!("{url}/t/acme/audit")).await;
    let audit = d.wait_for("connection.add", Duration::from_secs(10)).await;
    assert!(audit.contains("user:ana@acme.example") && audit.contains("scan.start"));
    shoot(&d, "audit").await;
    sign_out(&d).await;

    // A viewer reads but gets no Connect form and no Scan button.
    sign_in(&d, &url, "vic@acme.example").await;
    d.go(&format!("{url}/t/acme/connections")).await;
    let page = d.wait_for("<h1>Connections</h1>", Duration::from_secs(10)).await;
    assert!(d.find_all("button.connect").await.is_empty(), "no Connect for a viewer");
    assert!(d
        .find_all("#connect-m365, button.admin-sign-in, #sign-in-servicenow, #sign-in-salesforce")
        .await
        .is_empty());
    d.go(&format!("{url}/t/acme/schedules")).await;
    let schedules = d.wait_for("not fired yet", Duration::from_secs(10)).await;
    assert!(
        !schedules.contains("set-schedule"),
        "a viewer reads schedules but sets none"
    );
    assert!(!page.contains("scan-now") && !page.contains("/tokens\">Tokens"));
    d.go(&finding_url).await;
    d.wait_for("Exposure path", Duration::from_secs(10)).await;
    sign_out(&d).await;

    // Another tenant's admin sees only their tenant, and acme's pages are not found.
    sign_in(&d, &url, "gus@globex.example").await;
    let home = d.source().await;
    assert!(home.contains("/t/globex") && !home.contains("/t/acme"));
    for path in ["/t/acme", "/t/acme/findings", "/t/acme/connections"] {
        d.go(&format!("{url}{path}")).await;
        let page = d.wait_for("Not found", Duration::from_secs(10)).await;
        assert!(!page.contains("Record Operations"), "{path}");
    }
    d.go(&finding_url.replace("/t/acme/", "/t/globex/")).await;
    d.wait_for("Not found", Duration::from_secs(10)).await;
    d.quit().await;
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &server.id().unwrap().to_string()])
        .status();
    let _ = tokio::time::timeout(Duration::from_secs(20), server.wait()).await;
}
