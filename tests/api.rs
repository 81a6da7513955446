//! End-to-end: `aispm serve` as a separate process, driven over HTTP with API tokens, on
//! SQLite and (when AISPM_TEST_POSTGRES_URL names a server) PostgreSQL. Tenant isolation is
//! checked on every route that takes a tenant or an object id.

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

struct Env {
    dir: PathBuf,
    database_url: Option<String>,
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Env {
    fn new(tag: &str, database_url: Option<String>) -> Env {
        let dir = std::env::temp_dir().join(format!("aispm-api-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Env { dir, database_url }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_aispm"));
        c.args(args)
            .env("AISPM_DATA_DIR", self.dir.join("data"))
            .env_remove("AISPM_MASTER_KEY")
            .kill_on_drop(true);
        match &self.database_url {
            Some(url) => c.env("AISPM_DATABASE_URL", url),
            None => c.env_remove("AISPM_DATABASE_URL"),
        };
        c
    }

    async fn run(&self, args: &[&str]) -> String {
        let out = self.cmd(args).output().await.unwrap();
        assert!(
            out.status.success(),
            "aispm {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// Starts `aispm serve` on a free port; returns the process and its URL.
    async fn serve(&self) -> (Child, String) {
        self.serve_with(&[]).await
    }

    /// `aispm serve` with more environment (the operator's Microsoft 365 app).
    async fn serve_with(&self, vars: &[(&str, String)]) -> (Child, String) {
        let mut command = self.cmd(&["serve", "--listen", "127.0.0.1:0", "--allow-test-endpoints"]);
        for (k, v) in vars {
            command.env(k, v);
        }
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("serve prints its URL")
            .unwrap()
            .unwrap();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .expect("a URL in the first line")
            .to_string();
        (child, url)
    }
}

struct Api {
    client: Client,
    url: String,
}

impl Api {
    async fn call(&self, token: &str, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        self.call(token, Method::GET, path, None).await
    }
}

fn finding_schema() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/json/finding.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

async fn the_api_end_to_end(e: &Env) {
    let sim = sandbox::servicenow::simulated_connection("risky").await.unwrap();
    let secret = sim.secrets["client_secret"].clone();
    e.run(&["tenant", "add", "acme"]).await;
    e.run(&["tenant", "add", "globex"]).await;
    let admin = e
        .run(&["token", "create", "--tenant", "acme", "--role", "admin", "--name", "ci"])
        .await;
    let viewer = e
        .run(&["token", "create", "--tenant", "acme", "--role", "viewer"])
        .await;
    let other = e
        .run(&["token", "create", "--tenant", "globex", "--role", "admin"])
        .await;
    let operator = e.run(&["token", "create", "--operator", "--name", "ops"]).await;
    assert!(admin.starts_with("aispm_") && admin != viewer);
    let (mut server, url) = e.serve().await;
    let api = Api {
        client: Client::new(),
        url,
    };
    let mut bodies = String::new();

    // Connect ServiceNow through the API; the secret is taken, verified, and never returned.
    let mut settings = sim.settings.clone();
    settings["max_rps"] = json!(200.0);
    let body = json!({"provider": "servicenow", "settings": settings, "secrets": {"client_secret": secret}});
    let (status, created) = api
        .call(
            &admin,
            Method::POST,
            "/api/v1/tenants/acme/connections",
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let connection = created["id"].as_str().unwrap().to_string();
    let mut wrong = body.clone();
    wrong["secrets"]["client_secret"] = json!("not-the-secret");
    let (status, err) = api
        .call(&admin, Method::POST, "/api/v1/tenants/acme/connections", Some(wrong))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["error"]["code"], "connect_failed");
    let (_, list) = api.get(&admin, "/api/v1/tenants/acme/connections").await;
    assert_eq!(list.as_array().unwrap().len(), 1, "a refused connection is not stored");
    assert!(list[0].get("secrets").is_none());
    bodies += &list.to_string();

    // Scan through the queue of the serving process, and follow it.
    let (status, started) = api.call(&admin, Method::POST, "/api/v1/tenants/acme/scans", None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    let scan = started["scans"][0]["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(90);
    let view = loop {
        let (status, view) = api.get(&viewer, &format!("/api/v1/tenants/acme/scans/{scan}")).await;
        assert_eq!(status, StatusCode::OK, "{view}");
        if view["status"] == "completed" || view["status"] == "failed" {
            break view;
        }
        assert!(Instant::now() < deadline, "the scan finishes: {view}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(view["status"], "completed", "{view}");
    assert_eq!(view["resources_done"], view["resources_total"]);
    assert!(view["requests"].as_i64().unwrap() > 10);
    assert!(!view["coverage"].as_array().unwrap().is_empty());

    // Findings appear once the evaluation ran; page through them by cursor.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut all = Vec::new();
    while all.is_empty() {
        let mut cursor: Option<String> = None;
        all.clear();
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/tenants/acme/findings?limit=7&cursor={c}"),
                None => "/api/v1/tenants/acme/findings?limit=7".into(),
            };
            let (status, page) = api.get(&viewer, &path).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            assert!(page["items"].as_array().unwrap().len() <= 7);
            all.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        assert!(Instant::now() < deadline, "findings appear after the scan");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(all.len() > 20, "{}", all.len());
    let fingerprints: std::collections::BTreeSet<&str> =
        all.iter().map(|f| f["fingerprint"].as_str().unwrap()).collect();
    assert_eq!(fingerprints.len(), all.len(), "no finding twice across pages");
    let errors: Vec<String> = finding_schema()
        .iter_errors(&Value::Array(all.clone()))
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let (_, critical) = api
        .get(&viewer, "/api/v1/tenants/acme/findings?severity=critical&limit=500")
        .await;
    let critical = critical["items"].as_array().unwrap();
    assert!(!critical.is_empty() && critical.iter().all(|f| f["severity"] == "critical"));
    let (_, by_framework) = api
        .get(&viewer, "/api/v1/tenants/acme/findings?framework=LLM06&limit=500")
        .await;
    assert!(by_framework["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["frameworks"]["owasp_llm_2025"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x == "LLM06")));
    let (status, err) = api.get(&viewer, "/api/v1/tenants/acme/findings?severity=huge").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(err["error"]["message"].as_str().unwrap().contains("severity"));
    let fingerprint = all[0]["fingerprint"].as_str().unwrap().to_string();
    let (status, one) = api
        .get(&viewer, &format!("/api/v1/tenants/acme/findings/{fingerprint}"))
        .await;
    assert_eq!((status, &one["fingerprint"]), (StatusCode::OK, &json!(fingerprint)));

    // Agents with their reach.
    let (_, agents) = api.get(&viewer, "/api/v1/tenants/acme/agents?limit=500").await;
    let agents = agents["items"].as_array().unwrap().clone();
    let ops = agents.iter().find(|a| a["name"] == "Record Operations Agent").unwrap();
    let agent_id = ops["id"].as_str().unwrap().to_string();
    let (status, reach) = api
        .get(&viewer, &format!("/api/v1/tenants/acme/agents/{agent_id}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{reach}");
    assert_eq!(reach["agent"]["name"], "Record Operations Agent");
    assert!(reach["runs_as"]["name"].as_str().is_some(), "{}", reach["runs_as"]);
    assert!(!reach["tools"].as_array().unwrap().is_empty());
    assert!(!reach["findings"].as_array().unwrap().is_empty());
    let (status, inventory) = api.get(&viewer, "/api/v1/tenants/acme/inventory").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(inventory[0]["provider"], "servicenow");
    // Alert channels: only Slack's own host for Slack, the URL never returned.
    let (status, err) = api
        .call(
            &admin,
            Method::POST,
            "/api/v1/tenants/acme/alerts",
            Some(json!({"kind": "slack", "url": "https://example.com/hook"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert!(
        err["error"]["message"].as_str().unwrap().contains("hooks.slack.com"),
        "{err}"
    );
    let (status, added) = api
        .call(
            &admin,
            Method::POST,
            "/api/v1/tenants/acme/alerts",
            Some(json!({"kind": "slack", "url": "https://hooks.slack.com/services/T1/B1/secretpart", "min_severity": "critical"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    let (status, channels) = api.get(&viewer, "/api/v1/tenants/acme/alerts").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(channels[0]["min_severity"], "critical");
    assert!(!channels.to_string().contains("secretpart") && !added.to_string().contains("secretpart"));
    let (status, _) = api
        .call(
            &viewer,
            Method::POST,
            &format!(
                "/api/v1/tenants/acme/alerts/{}/test",
                added["channel"]["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "viewers do not send");
    let (status, _) = api
        .call(
            &admin,
            Method::DELETE,
            &format!(
                "/api/v1/tenants/acme/alerts/{}",
                added["channel"]["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // Drift: one scan is a baseline (no changes); a bad `since` is named.
    let (status, changes) = api.get(&viewer, "/api/v1/tenants/acme/changes?since=2026-01-01").await;
    assert_eq!(status, StatusCode::OK, "{changes}");
    assert_eq!(changes["items"], json!([]));
    let (status, err) = api.get(&viewer, "/api/v1/tenants/acme/changes?since=yesterday").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        err["error"]["message"].as_str().unwrap().contains("\"yesterday\""),
        "{err}"
    );
    bodies += &all.iter().map(Value::to_string).collect::<String>();
    bodies += &inventory.to_string();
    bodies += &reach.to_string();

    // Roles: a viewer reads but does not change; a tenant admin does not create tenants.
    for (method, path) in [
        (Method::POST, "/api/v1/tenants/acme/scans".to_string()),
        (Method::DELETE, format!("/api/v1/tenants/acme/connections/{connection}")),
        (Method::GET, "/api/v1/tenants/acme/tokens".to_string()),
        (Method::GET, "/api/v1/tenants/acme/audit".to_string()),
    ] {
        let (status, err) = api.call(&viewer, method.clone(), &path, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "viewer {method} {path}: {err}");
    }
    let (status, _) = api
        .call(
            &viewer,
            Method::POST,
            "/api/v1/tenants/acme/connections",
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = api
        .call(
            &admin,
            Method::POST,
            "/api/v1/tenants",
            Some(json!({"slug": "initech"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, t) = api
        .call(
            &operator,
            Method::POST,
            "/api/v1/tenants",
            Some(json!({"slug": "initech"})),
        )
        .await;
    assert_eq!((status, &t["slug"]), (StatusCode::CREATED, &json!("initech")));

    // Schedules and kept reports: admins set them, viewers read them.
    let (status, set) = api
        .call(
            &admin,
            Method::PUT,
            "/api/v1/tenants/acme/schedules/report",
            Some(json!({"cron": "0 7 * * MON", "timezone": "Europe/Berlin"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(
        (&set["kind"], &set["timezone"]),
        (&json!("report"), &json!("Europe/Berlin"))
    );
    let (status, bad) = api
        .call(
            &admin,
            Method::PUT,
            "/api/v1/tenants/acme/schedules/scan",
            Some(json!({"cron": "0 7 * * MON", "timezone": "Atlantis/Capital"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    assert!(bad["error"]["message"].as_str().unwrap().contains("time zone"), "{bad}");
    let (status, _) = api
        .call(
            &viewer,
            Method::PUT,
            "/api/v1/tenants/acme/schedules/scan",
            Some(json!({"cron": "0 7 * * MON"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, listed) = api.get(&viewer, "/api/v1/tenants/acme/schedules").await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    let (status, kept) = api
        .call(&admin, Method::POST, "/api/v1/tenants/acme/reports", None)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{kept}");
    let report_id = kept["id"].as_str().unwrap().to_string();
    let (status, report) = api
        .get(&viewer, &format!("/api/v1/tenants/acme/reports/{report_id}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["tenant"], "acme", "the kept report is the report model");
    let (_, reports) = api.get(&viewer, "/api/v1/tenants/acme/reports").await;
    assert_eq!(reports[0]["trigger"], "manual");
    // Every format renders from the kept model, as a download.
    for (format, content_type, starts) in [
        ("html", "text/html; charset=utf-8", "<!doctype html>"),
        ("pdf", "application/pdf", "%PDF-"),
        ("sarif", "application/sarif+json", "{"),
        ("csv", "text/csv; charset=utf-8", "fingerprint,status,severity"),
        (
            "md",
            "text/markdown; charset=utf-8",
            "# AI security posture report: acme",
        ),
    ] {
        let answer = api
            .client
            .get(format!(
                "{}/api/v1/tenants/acme/reports/{report_id}?format={format}",
                api.url
            ))
            .bearer_auth(&viewer)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::OK, "{format}");
        assert_eq!(answer.headers()["content-type"], content_type, "{format}");
        assert!(answer.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"aispm-acme-"));
        let bytes = answer.bytes().await.unwrap();
        assert!(
            bytes.starts_with(starts.as_bytes()),
            "{format}: {:?}",
            &bytes[..bytes.len().min(40)]
        );
    }
    let (status, err) = api
        .get(
            &viewer,
            &format!("/api/v1/tenants/acme/reports/{report_id}?format=docx"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(err["error"]["message"].as_str().unwrap().contains("\"docx\""), "{err}");

    // Isolation: globex's admin sees nothing of acme, by acme's slug or by acme's ids under
    // its own slug, and the answer is the one for something that does not exist.
    let (_, tokens) = api.get(&admin, "/api/v1/tenants/acme/tokens").await;
    let token_id = tokens[0]["id"].as_str().unwrap().to_string();
    let mut routes: Vec<(Method, String, Option<Value>)> = Vec::new();
    for tenant in ["acme", "globex"] {
        let base = format!("/api/v1/tenants/{tenant}");
        routes.extend([
            (Method::GET, format!("{base}/scans/{scan}"), None),
            (Method::GET, format!("{base}/findings/{fingerprint}"), None),
            (Method::GET, format!("{base}/agents/{agent_id}"), None),
            (Method::DELETE, format!("{base}/connections/{connection}"), None),
            (Method::DELETE, format!("{base}/tokens/{token_id}"), None),
            (Method::GET, format!("{base}/reports/{report_id}"), None),
        ]);
    }
    for path in [
        "connections",
        "scans",
        "findings",
        "inventory",
        "agents",
        "tokens",
        "audit",
        "schedules",
        "reports",
        "changes",
        "alerts",
    ] {
        routes.push((Method::GET, format!("/api/v1/tenants/acme/{path}"), None));
    }
    routes.push((Method::DELETE, "/api/v1/tenants/acme/schedules/report".into(), None));
    routes.push((Method::POST, "/api/v1/tenants/acme/reports".into(), None));
    routes.push((
        Method::PUT,
        "/api/v1/tenants/acme/schedules/scan".into(),
        Some(json!({"cron": "0 7 * * MON"})),
    ));
    routes.push((Method::POST, "/api/v1/tenants/acme/scans".into(), None));
    routes.push((
        Method::POST,
        "/api/v1/tenants/acme/connections".into(),
        Some(body.clone()),
    ));
    routes.push((
        Method::POST,
        "/api/v1/tenants/acme/tokens".into(),
        Some(json!({"role": "admin", "name": "x"})),
    ));
    for (method, path, body) in routes {
        let (status, err) = api.call(&other, method.clone(), &path, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "globex {method} {path}: {err}");
        assert_eq!(err["error"]["code"], "not_found", "{path}");
        bodies += &err.to_string();
    }
    let (_, theirs) = api.get(&other, "/api/v1/tenants").await;
    assert_eq!(theirs.as_array().unwrap().len(), 1);
    assert_eq!(theirs[0]["slug"], "globex");
    let (_, missing) = api.get(&other, "/api/v1/tenants/nope/findings").await;
    let (_, foreign) = api.get(&other, "/api/v1/tenants/acme/findings").await;
    assert_eq!(
        missing["error"]["message"].as_str().unwrap().replace("nope", "X"),
        foreign["error"]["message"].as_str().unwrap().replace("acme", "X")
    );

    // Tokens over the API: created once, listed without the token, revoked.
    let (status, made) = api
        .call(
            &admin,
            Method::POST,
            "/api/v1/tenants/acme/tokens",
            Some(json!({"role": "viewer", "name": "grafana"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let grafana = made["token"].as_str().unwrap().to_string();
    let (status, _) = api.get(&grafana, "/api/v1/tenants/acme/findings").await;
    assert_eq!(status, StatusCode::OK);
    let (_, tokens) = api.get(&admin, "/api/v1/tenants/acme/tokens").await;
    assert!(!tokens.to_string().contains(&grafana[6..]));
    let (status, _) = api
        .call(
            &admin,
            Method::DELETE,
            &format!("/api/v1/tenants/acme/tokens/{}", made["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, err) = api.get(&grafana, "/api/v1/tenants/acme/findings").await;
    assert_eq!(
        (status, &err["error"]["code"]),
        (StatusCode::UNAUTHORIZED, &json!("unauthenticated"))
    );

    // The audit log says who did what.
    let (_, log) = api.get(&admin, "/api/v1/tenants/acme/audit").await;
    let entries: Vec<(String, String)> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_string(),
                e["action"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (actor, action) in [
        ("token:ci", "connection.add"),
        ("token:ci", "scan.start"),
        ("token:ci", "token.create"),
        ("token:ci", "token.revoke"),
        ("cli", "tenant.create"),
    ] {
        assert!(
            entries.contains(&(actor.into(), action.into())),
            "{actor} {action} in {entries:?}"
        );
    }

    // Hostile bodies get the error shape; no route is a JSON 404 too.
    let huge = json!({"provider": "servicenow", "settings": {"x": "a".repeat(300 * 1024)}});
    let (status, err) = api
        .call(&admin, Method::POST, "/api/v1/tenants/acme/connections", Some(huge))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{err}");
    assert_eq!(err["error"]["code"], "invalid_body");
    let (status, err) = api
        .call(
            &admin,
            Method::POST,
            "/api/v1/tenants/acme/connections",
            Some(json!({"provider": 3})),
        )
        .await;
    assert_eq!(
        (status, &err["error"]["code"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("invalid_body"))
    );
    let (status, err) = api.get(&admin, "/api/v2/anything").await;
    assert_eq!(
        (status, &err["error"]["code"]),
        (StatusCode::NOT_FOUND, &json!("no_route"))
    );

    // Every documented operation is routed (none answers "no route" or a wrong method).
    let (_, doc) = api.get(&operator, "/api/openapi.json").await;
    assert_eq!(doc["openapi"], "3.1.0");
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, _) in item.as_object().unwrap() {
            operations += 1;
            let concrete = path.replace("{slug}", "initech").replace(['{', '}'], "");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let (status, answer) = api.call(&operator, method.clone(), &concrete, Some(json!({}))).await;
            assert_ne!(answer["error"]["code"], "no_route", "{method} {path}");
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        }
    }
    assert!(operations >= 17, "{operations}");
    let finding_ref = &doc["paths"]["/api/v1/tenants/{slug}/findings/{fingerprint}"]["get"]["responses"]["200"];
    assert_eq!(
        finding_ref["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Finding"
    );
    assert!(doc["components"]["schemas"]["Finding"]["properties"]["fingerprint"].is_object());

    // No secret or token in anything the API answered.
    for needle in [secret.as_str(), &admin[6..], &viewer[6..], &other[6..], &operator[6..]] {
        assert!(!bodies.contains(needle), "an answer held a secret");
    }

    // SIGTERM: the process stops cleanly.
    let pid = server.id().unwrap();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(20), server.wait())
        .await
        .expect("serve stops after SIGTERM")
        .unwrap();
    assert!(status.success(), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_on_sqlite() {
    the_api_end_to_end(&Env::new("sqlite", None)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_on_postgres() {
    let Ok(server) = std::env::var("AISPM_TEST_POSTGRES_URL") else {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "skipped: AISPM_TEST_POSTGRES_URL is not set, so the PostgreSQL API test did not run"
        );
        return;
    };
    use sea_orm::{ConnectionTrait, Database};
    let server = server.trim_end_matches('/').to_string();
    let name = format!("aispm_api_{}", std::process::id());
    let admin = Database::connect(format!("{server}/postgres")).await.unwrap();
    let _ = admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await;
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    the_api_end_to_end(&Env::new("pg", Some(format!("{server}/{name}")))).await;
    let _ = admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await;
}

/// The `name=value` of a `Set-Cookie` answer header, and the whole header.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<(String, String)> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| (v.split(';').next().unwrap().to_string(), v.to_string()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_keep_sessions_forms_and_sign_in_attempts_in_check() {
    let e = Env::new("pages", None);
    e.run(&["tenant", "add", "acme"]).await;
    let out = e
        .cmd(&["user", "add", "ana@acme.example", "--password-env", "PW"])
        .env("PW", "correct horse battery")
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    e.run(&[
        "user",
        "grant",
        "ana@acme.example",
        "--tenant",
        "acme",
        "--role",
        "admin",
    ])
    .await;
    let admin = e.run(&["token", "create", "--tenant", "acme", "--role", "admin"]).await;
    let (_server, url) = e.serve().await;
    let http = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // A user's text is escaped on every page it appears on.
    let api = Api {
        client: http.clone(),
        url: url.clone(),
    };
    let (status, _) = api
        .call(
            &admin,
            Method::POST,
            "/api/v1/tenants/acme/tokens",
            Some(json!({"role": "viewer", "name": "<script>alert(1)</script>"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // Pages need a session.
    let r = http.get(format!("{url}/t/acme")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/login");

    let sign_in = |password: &'static str| {
        let http = http.clone();
        let url = url.clone();
        async move {
            let form = http.get(format!("{url}/login")).send().await.unwrap();
            let (login_cookie, _) = set_cookie(&form, "aispm_login").expect("a sign-in form cookie");
            let html = form.text().await.unwrap();
            let csrf = html
                .split("name=\"csrf\" value=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .to_string();
            http.post(format!("{url}/login"))
                .header("cookie", login_cookie)
                .form(&[("email", "ana@acme.example"), ("password", password), ("csrf", &csrf)])
                .send()
                .await
                .unwrap()
        }
    };
    // A sign-in without the form's cookie is refused.
    let r = http
        .post(format!("{url}/login"))
        .form(&[
            ("email", "ana@acme.example"),
            ("password", "correct horse battery"),
            ("csrf", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert!(set_cookie(&r, "aispm_session").is_none());
    assert!(r.text().await.unwrap().contains("expired"));

    let ok = sign_in("correct horse battery").await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let (session, header) = set_cookie(&ok, "aispm_session").expect("a session cookie");
    assert!(
        header.contains("HttpOnly") && header.contains("SameSite=Lax"),
        "{header}"
    );
    assert!(!header.contains("Secure"), "plain-http loopback: not Secure ({header})");
    let page = http
        .get(format!("{url}/t/acme/tokens"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline") && csp.contains("frame-ancestors 'none'")
    );
    let html = page.text().await.unwrap();
    assert!(!html.contains("<script>alert"), "escaped");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;"),
        "{}",
        html.lines()
            .filter(|l| l.contains("alert"))
            .collect::<Vec<_>>()
            .join("\n")
    );

    // A state-changing form without the session's token is refused and changes nothing.
    let r = http
        .post(format!("{url}/t/acme/tokens"))
        .header("cookie", &session)
        .form(&[("name", "sneaky"), ("role", "admin")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let (_, tokens) = api.get(&admin, "/api/v1/tenants/acme/tokens").await;
    assert!(!tokens.to_string().contains("sneaky"));

    // Signing out ends the session in the database: the old cookie no longer works.
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let r = http
        .post(format!("{url}/logout"))
        .header("cookie", &session)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = http
        .get(format!("{url}/t/acme"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "signed out");

    // Failed sign-ins are limited: after five, even the right password waits.
    for _ in 0..5 {
        assert_eq!(sign_in("wrong password!!").await.status(), StatusCode::UNAUTHORIZED);
    }
    let locked = sign_in("correct horse battery").await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(set_cookie(&locked, "aispm_session").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_serve_prints_a_one_time_sign_in_link() {
    let e = Env::new("demo-serve", None);
    let out = e.dir.join("demo");
    let mut demo = e
        .cmd(&[
            "demo",
            "--out",
            out.to_str().unwrap(),
            "--serve",
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(demo.stdout.take().unwrap()).lines();
    let link = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(rest) = line.strip_prefix("Open http") {
                let rest = format!("http{rest}");
                return rest.split_whitespace().next().unwrap().to_string();
            }
        }
        panic!("the demo printed no link");
    })
    .await
    .expect("the demo finishes and serves");
    assert!(link.contains("/login/link?token="), "{link}");
    let http = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http.get(&link).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (session, _) = set_cookie(&r, "aispm_session").expect("signed in by the link");
    let base = link.split("/login/").next().unwrap();
    let home = http
        .get(format!("{base}/t/demo"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    assert!(home.text().await.unwrap().contains("Open findings by severity"));
    // The link works once.
    let again = http.get(&link).send().await.unwrap();
    assert!(set_cookie(&again, "aispm_session").is_none());
    assert!(again.text().await.unwrap().contains("used or has expired"));
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &demo.id().unwrap().to_string()])
        .status();
    let status = tokio::time::timeout(Duration::from_secs(20), demo.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
}

/// Signs in at aispm's sign-in page; returns the session cookie and a page's form token.
async fn web_session(http: &Client, url: &str, email: &str) -> (String, String) {
    let form = http.get(format!("{url}/login")).send().await.unwrap();
    let (login_cookie, _) = set_cookie(&form, "aispm_login").unwrap();
    let html = form.text().await.unwrap();
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let r = http
        .post(format!("{url}/login"))
        .header("cookie", login_cookie)
        .form(&[
            ("email", email),
            ("password", "correct horse battery"),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let (session, _) = set_cookie(&r, "aispm_session").expect("signed in");
    let page = http
        .get(format!("{url}/"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    (session, csrf)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_servicenow_by_signing_in_checks_state_pkce_and_redirect() {
    let e = Env::new("oauth", None);
    e.run(&["tenant", "add", "acme"]).await;
    for email in ["ana@acme.example", "bob@acme.example"] {
        let out = e
            .cmd(&["user", "add", email, "--password-env", "PW"])
            .env("PW", "correct horse battery")
            .output()
            .await
            .unwrap();
        assert!(out.status.success());
        e.run(&["user", "grant", email, "--tenant", "acme", "--role", "admin"])
            .await;
    }
    let admin = e.run(&["token", "create", "--tenant", "acme", "--role", "admin"]).await;
    let (_server, url) = e.serve().await;
    let config = sandbox::servicenow::SimConfig {
        redirect_uris: vec![format!("{url}/oauth/callback")],
        ..Default::default()
    };
    let sn = sandbox::servicenow::start(config.clone(), sandbox::servicenow::scenarios::clean(), 0)
        .await
        .unwrap();
    let http = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (ana, ana_csrf) = web_session(&http, &url, "ana@acme.example").await;
    let (bob, _) = web_session(&http, &url, "bob@acme.example").await;

    // Start: aispm answers with the link to the instance's authorize endpoint.
    let start = |session: String, csrf: String| {
        let http = http.clone();
        let url = url.clone();
        let (instance, client_id, secret) = (
            sn.base_url.clone(),
            config.client_id.clone(),
            config.client_secret.clone(),
        );
        async move {
            let page = http
                .post(format!("{url}/t/acme/connect/servicenow"))
                .header("cookie", session)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("instance_url", &instance),
                    ("client_id", &client_id),
                    ("client_secret", &secret),
                ])
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            page.split("id=\"continue\" href=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .replace("&#x2f;", "/")
                .replace("&amp;", "&")
        }
    };
    let authorize = start(ana.clone(), ana_csrf.clone()).await;
    let link = url::Url::parse(&authorize).unwrap();
    let q: std::collections::HashMap<String, String> = link.query_pairs().into_owned().collect();
    assert_eq!(link.path(), "/oauth_auth.do");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["redirect_uri"], format!("{url}/oauth/callback"));
    assert!(
        !authorize.contains(&config.client_secret),
        "the secret never goes to the browser"
    );

    // The instance refuses a redirect URI it does not have registered.
    let mut wrong = link.clone();
    wrong.query_pairs_mut().clear().extend_pairs(q.iter().map(|(k, v)| {
        (
            k.as_str(),
            if k == "redirect_uri" {
                "https://evil.example/cb"
            } else {
                v.as_str()
            },
        )
    }));
    assert_eq!(
        http.get(wrong.as_str()).send().await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );

    // Sign in at the instance and allow: back to the callback with code and state.
    let approve = |q: std::collections::HashMap<String, String>| {
        let http = http.clone();
        let base = sn.base_url.clone();
        let (user, password) = config.users[0].clone();
        async move {
            let r = http
                .post(format!("{base}/oauth_auth.do"))
                .form(&[
                    ("client_id", q["client_id"].as_str()),
                    ("redirect_uri", &q["redirect_uri"]),
                    ("state", &q["state"]),
                    ("code_challenge", &q["code_challenge"]),
                    ("user_name", &user),
                    ("user_password", &password),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::FOUND);
            r.headers()["location"].to_str().unwrap().to_string()
        }
    };
    let callback = approve(q.clone()).await;
    assert!(
        callback.starts_with(&format!("{url}/oauth/callback?code=")),
        "{callback}"
    );

    // Another person of the same tenant cannot finish ana's connect with her callback.
    let r = http.get(&callback).header("cookie", &bob).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("unknown, used or expired"));
    // ...and that attempt spent the state: ana's own callback is now refused too.
    let r = http.get(&callback).header("cookie", &ana).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let (_, list) = Api {
        client: http.clone(),
        url: url.clone(),
    }
    .get(&admin, "/api/v1/tenants/acme/connections")
    .await;
    assert_eq!(list.as_array().unwrap().len(), 0);

    // A fresh start, finished by ana: the connection is stored and scans with the refresh token.
    let authorize = start(ana.clone(), ana_csrf.clone()).await;
    let q: std::collections::HashMap<String, String> = url::Url::parse(&authorize)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    // The code is useless without the PKCE verifier (only aispm holds it).
    let callback = approve(q.clone()).await;
    let code: String = url::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let stolen = http
        .post(format!("{}/oauth_token.do", sn.base_url))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", &q["redirect_uri"]),
            ("code_verifier", "guessed-verifier-guessed-verifier-guessed-verifier"),
            ("client_id", &config.client_id),
            ("client_secret", &config.client_secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        stolen.status(),
        StatusCode::UNAUTHORIZED,
        "a wrong verifier gets no token"
    );
    // That attempt spent the code at the instance, so this callback fails; one more round.
    let r = http.get(&callback).header("cookie", &ana).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let why = r.text().await.unwrap();
    assert!(
        why.contains("Could not connect") && !why.contains(&config.client_secret),
        "{why}"
    );
    let authorize = start(ana.clone(), ana_csrf.clone()).await;
    let q: std::collections::HashMap<String, String> = url::Url::parse(&authorize)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let callback = approve(q).await;
    let r = http.get(&callback).header("cookie", &ana).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/t/acme/connections");
    let api = Api {
        client: http.clone(),
        url: url.clone(),
    };
    let (_, list) = api.get(&admin, "/api/v1/tenants/acme/connections").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains("refresh"), "no token in the answer");
    let (_, started) = api.call(&admin, Method::POST, "/api/v1/tenants/acme/scans", None).await;
    let scan = started["scans"][0]["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, view) = api.get(&admin, &format!("/api/v1/tenants/acme/scans/{scan}")).await;
        if view["status"] == "completed" {
            break;
        }
        assert_ne!(view["status"], "failed", "{view}");
        assert!(Instant::now() < deadline, "{view}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (_, log) = api.get(&admin, "/api/v1/tenants/acme/audit").await;
    assert!(log.to_string().contains("user:ana@acme.example") && log.to_string().contains("connection.add"));
}

/// The link on a "Continue to the vendor" page.
fn continue_link(page: &str) -> String {
    page.split("id=\"continue\" href=\"")
        .nth(1)
        .unwrap_or_else(|| panic!("no continue link in {page}"))
        .split('"')
        .next()
        .unwrap()
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}

fn query_of(link: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(link).unwrap().query_pairs().into_owned().collect()
}

/// Waits for a scan to complete; returns its view.
async fn completed_scan(api: &Api, token: &str, slug: &str) -> Value {
    let (status, started) = api
        .call(token, Method::POST, &format!("/api/v1/tenants/{slug}/scans"), None)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    let scan = started["scans"][0]["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (_, view) = api.get(token, &format!("/api/v1/tenants/{slug}/scans/{scan}")).await;
        if view["status"] == "completed" {
            return view;
        }
        assert_ne!(view["status"], "failed", "{view}");
        assert!(Instant::now() < deadline, "{view}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_microsoft_365_by_admin_consent_then_a_copilot_admin_sign_in() {
    connecting_microsoft_365(Env::new("m365-oauth", None)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_microsoft_365_on_postgres() {
    let Ok(server) = std::env::var("AISPM_TEST_POSTGRES_URL") else {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "skipped: AISPM_TEST_POSTGRES_URL is not set, so the PostgreSQL Microsoft connect test did not run"
        );
        return;
    };
    use sea_orm::{ConnectionTrait, Database};
    let server = server.trim_end_matches('/').to_string();
    let name = format!("aispm_m365_connect_{}", std::process::id());
    let admin = Database::connect(format!("{server}/postgres")).await.unwrap();
    let _ = admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await;
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    connecting_microsoft_365(Env::new("m365-oauth-pg", Some(format!("{server}/{name}")))).await;
    let _ = admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await;
}

/// Admin consent, a declined and a forged answer, the Copilot admin sign-in, and two scans in a
/// row with the rotated refresh token.
async fn connecting_microsoft_365(e: Env) {
    e.run(&["tenant", "add", "acme"]).await;
    let out = e
        .cmd(&["user", "add", "ana@acme.example", "--password-env", "PW"])
        .env("PW", "correct horse battery")
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    e.run(&[
        "user",
        "grant",
        "ana@acme.example",
        "--tenant",
        "acme",
        "--role",
        "admin",
    ])
    .await;
    let admin = e.run(&["token", "create", "--tenant", "acme", "--role", "admin"]).await;
    // The directory has not consented yet, and no sign-in happened before: the sim issues no
    // delegated token until an admin signs in here.
    let config = sandbox::m365::SimConfig {
        consented: false,
        delegated_refresh_token: None,
        ..Default::default()
    };
    let sim = sandbox::m365::start(config.clone(), sandbox::m365::scenarios::risky(), 0)
        .await
        .unwrap();
    let base = sim.base_url.clone();
    let secret_file = e.dir.join("m365-secret");
    std::fs::write(&secret_file, format!("{}\n", config.client_secret)).unwrap();
    let (_server, url) = e
        .serve_with(&[
            ("AISPM_M365_CLIENT_ID", config.client_id.clone()),
            ("AISPM_M365_CLIENT_SECRET_FILE", secret_file.display().to_string()),
            ("AISPM_M365_LOGIN_URL", format!("{base}/login")),
            ("AISPM_M365_GRAPH_URL", format!("{base}/graph")),
            ("AISPM_M365_BAP_URL", format!("{base}/bap")),
            ("AISPM_M365_POWERPLATFORM_URL", format!("{base}/pp")),
        ])
        .await;
    let http = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let callback_uri = format!("{url}/oauth/callback");
    let r = http
        .post(format!("{base}/__sandbox/redirect_uris"))
        .json(&json!([callback_uri]))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let (ana, csrf) = web_session(&http, &url, "ana@acme.example").await;
    let api = Api {
        client: http.clone(),
        url: url.clone(),
    };
    let page = |path: String| {
        let http = http.clone();
        let (url, ana, csrf) = (url.clone(), ana.clone(), csrf.clone());
        async move {
            let r = http
                .post(format!("{url}{path}"))
                .header("cookie", ana)
                .form(&[("csrf", csrf.as_str())])
                .send()
                .await
                .unwrap();
            r.text().await.unwrap()
        }
    };
    // Entra's consent page answers with a redirect to the callback; the admin declines first.
    let entra = |link: String, decision: &'static str| {
        let http = http.clone();
        let (login, password) = config.admins[0].clone();
        async move {
            let q = query_of(&link);
            let action = url::Url::parse(&link).unwrap();
            let mut fields: Vec<(String, String)> = q.into_iter().collect();
            fields.extend([
                ("login".to_string(), login),
                ("passwd".to_string(), password),
                ("decision".to_string(), decision.to_string()),
            ]);
            let r = http
                .post(format!("{}://{}{}", action.scheme(), action.authority(), action.path()))
                .form(&fields)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::FOUND, "{link}");
            r.headers()["location"].to_str().unwrap().to_string()
        }
    };

    let consent = continue_link(&page("/t/acme/connect/m365".into()).await);
    assert!(
        consent.starts_with(&format!("{base}/login/organizations/v2.0/adminconsent?")),
        "{consent}"
    );
    let q = query_of(&consent);
    assert_eq!(q["redirect_uri"], callback_uri);
    assert!(
        !consent.contains(&config.client_secret),
        "the secret never goes to the browser"
    );
    let declined = entra(consent, "cancel").await;
    assert!(declined.contains("error=access_denied"), "{declined}");
    let r = http.get(&declined).header("cookie", &ana).send().await.unwrap();
    let text = r.text().await.unwrap();
    assert!(text.contains("did not grant access"), "{text}");

    // Accepted: back with admin_consent=True and the directory; the connection is made for it.
    let consent = continue_link(&page("/t/acme/connect/m365".into()).await);
    let back = entra(consent, "accept").await;
    let q = query_of(&back);
    assert_eq!(q["admin_consent"], "True");
    assert_eq!(q["tenant"], config.directory_id);
    // A forged directory in the callback is refused (and spends nothing of value).
    let forged = back.replace(&config.directory_id, "../../evil");
    let r = http.get(&forged).header("cookie", &ana).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let consent = continue_link(&page("/t/acme/connect/m365".into()).await);
    let back = entra(consent, "accept").await;
    let r = http.get(&back).header("cookie", &ana).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
    let (_, list) = api.get(&admin, "/api/v1/tenants/acme/connections").await;
    let connection = list[0]["id"].as_str().unwrap().to_string();
    assert_eq!(list[0]["provider"], "m365");
    assert!(!list.to_string().contains(&config.client_secret));

    // App-only: the delegated-only reads are the reported gap.
    let view = completed_scan(&api, &admin, "acme").await;
    let status_of = |view: &Value, resource: &str| {
        view["coverage"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["resource"] == resource)
            .map(|c| c["status"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(status_of(&view, "m365.copilot_policy_settings"), "unavailable");

    // A Copilot admin signs in (code + PKCE at the directory itself).
    let connections = http
        .get(format!("{url}/t/acme/connections"))
        .header("cookie", &ana)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(connections.contains("Sign in as a Copilot admin"));
    let sign_in = continue_link(&page(format!("/t/acme/connections/{connection}/admin-sign-in")).await);
    assert!(
        sign_in.starts_with(&format!("{base}/login/{}/oauth2/v2.0/authorize?", config.directory_id)),
        "{sign_in}"
    );
    let q = query_of(&sign_in);
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(q["scope"].contains("offline_access") && q["scope"].contains("CopilotPolicySettings.Read"));
    let back = entra(sign_in, "accept").await;
    let r = http.get(&back).header("cookie", &ana).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
    let connections = http
        .get(format!("{url}/t/acme/connections"))
        .header("cookie", &ana)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(connections.contains("Copilot admin signed in"));

    // Now the delegated reads are collected and the rules they unlock fire. The simulator
    // retires each refresh token once used, so the second scan works only if the first one
    // stored the token Microsoft rotated.
    for round in 0..2 {
        let view = completed_scan(&api, &admin, "acme").await;
        for resource in [
            "m365.copilot_limited_mode",
            "m365.copilot_policy_settings",
            "m365.powerplatform_inventory",
        ] {
            assert_eq!(
                status_of(&view, resource),
                "collected",
                "round {round}: {resource}: {}",
                view["coverage"]
            );
        }
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, findings) = api.get(&admin, "/api/v1/tenants/acme/findings?rule=M365-AGT-002").await;
        if findings["items"].as_array().is_some_and(|i| !i.is_empty()) {
            assert_eq!(findings["items"][0]["resource"]["name"], "HR Helper");
            break;
        }
        assert!(Instant::now() < deadline, "{findings}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (_, log) = api.get(&admin, "/api/v1/tenants/acme/audit").await;
    assert!(log.to_string().contains("connection.admin_sign_in"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_salesforce_by_signing_in_with_pkce() {
    let e = Env::new("salesforce-oauth", None);
    e.run(&["tenant", "add", "acme"]).await;
    let out = e
        .cmd(&["user", "add", "ana@acme.example", "--password-env", "PW"])
        .env("PW", "correct horse battery")
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    e.run(&[
        "user",
        "grant",
        "ana@acme.example",
        "--tenant",
        "acme",
        "--role",
        "admin",
    ])
    .await;
    let admin = e.run(&["token", "create", "--tenant", "acme", "--role", "admin"]).await;
    let (_server, url) = e.serve().await;
    let config = sandbox::salesforce::SimConfig {
        redirect_uris: vec![format!("{url}/oauth/callback")],
        ..Default::default()
    };
    let org = sandbox::salesforce::scenarios::by_name("clean").unwrap();
    let sim = sandbox::salesforce::start(config.clone(), org, 0).await.unwrap();
    let login = sim.login.base_url.clone();
    let http = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (ana, csrf) = web_session(&http, &url, "ana@acme.example").await;
    let start = |login_url: String, secret: &'static str| {
        let (http, url, ana, csrf) = (http.clone(), url.clone(), ana.clone(), csrf.clone());
        let client_id = config.consumer_key.clone();
        async move {
            let r = http
                .post(format!("{url}/t/acme/connect/salesforce"))
                .header("cookie", ana)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("login_url", &login_url),
                    ("client_id", &client_id),
                    ("client_secret", secret),
                ])
                .send()
                .await
                .unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    // Signing in as the integration user and allowing: back to the callback with a code.
    let approve = |link: String| {
        let http = http.clone();
        let (user, password) = (config.usernames[0].clone(), config.sign_in_password.clone());
        async move {
            let q = query_of(&link);
            let page = http.get(&link).send().await.unwrap();
            assert_eq!(page.status(), StatusCode::OK, "the org accepts the request");
            let target = url::Url::parse(&link).unwrap();
            let r = http
                .post(format!(
                    "{}/services/oauth2/authorize",
                    target.origin().ascii_serialization()
                ))
                .form(&[
                    ("client_id", q["client_id"].as_str()),
                    ("redirect_uri", &q["redirect_uri"]),
                    ("state", &q["state"]),
                    ("code_challenge", &q["code_challenge"]),
                    ("scope", &q["scope"]),
                    ("username", &user),
                    ("pw", &password),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::FOUND);
            r.headers()["location"].to_str().unwrap().to_string()
        }
    };

    // A login URL with a path is refused with a line that says what to give.
    let (status, page) = start(format!("{login}/services/oauth2"), "").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("give the host only"), "{page}");

    // The link: Salesforce's authorize endpoint on the login host, code + PKCE S256, the
    // API and refresh-token scopes, this server's callback; no secret in it.
    let (status, page) = start(login.clone(), "wrong-secret").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let link = continue_link(&page);
    let q = query_of(&link);
    assert!(
        link.starts_with(&format!("{login}/services/oauth2/authorize?")),
        "{link}"
    );
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["scope"], "api refresh_token");
    assert_eq!(q["redirect_uri"], format!("{url}/oauth/callback"));
    assert_eq!(q["client_id"], config.consumer_key);
    assert!(!link.contains("wrong-secret"));

    // A wrong consumer secret: the org refuses the code exchange; the page says so in the
    // org's words and shows no secret; nothing is stored.
    let callback = approve(link).await;
    let r = http.get(&callback).header("cookie", &ana).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let why = r.text().await.unwrap();
    assert!(
        why.contains("invalid client credentials") && !why.contains("wrong-secret"),
        "{why}"
    );
    let api = Api {
        client: http.clone(),
        url: url.clone(),
    };
    let (_, list) = api.get(&admin, "/api/v1/tenants/acme/connections").await;
    assert_eq!(list.as_array().unwrap().len(), 0);

    // Without a secret (PKCE alone): connected, named after the org's instance, which the
    // token answer gave (another port than the login host), and scanned with the refresh token.
    let (_, page) = start(login.clone(), "").await;
    let callback = approve(continue_link(&page)).await;
    let r = http.get(&callback).header("cookie", &ana).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/t/acme/connections");
    let (_, list) = api.get(&admin, "/api/v1/tenants/acme/connections").await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_ne!(sim.instance.base_url, login);
    assert_eq!(
        list[0]["label"],
        format!("Salesforce {}", sim.instance.base_url),
        "{list}"
    );
    assert!(
        !list.to_string().contains("refresh_token\""),
        "no token in the answer: {list}"
    );
    let scan = completed_scan(&api, &admin, "acme").await;
    assert_eq!(scan["status"], "completed", "{scan}");
    // The scan read the org at its instance as the signed-in user.
    let stats: Value = http
        .get(format!("{login}/__sandbox/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(stats["rest_requests"].as_u64().unwrap() >= 10, "{stats}");
}
