//! `cargo bench --bench service`: the web and API figures the README quotes.
//!
//! A tenant with 10,000 stored findings (a quarter with exposure paths), served by the release
//! `aispm serve` process on SQLite:
//! 1. page render: each main page requested 20 times in a row, median and slowest;
//! 2. API list latency: 50 concurrent clients each listing findings (100 per page) 20 times,
//!    p50 and p99 of the request time, and requests per second.
//!
//! Options (environment): AISPM_BENCH_FINDINGS, AISPM_BENCH_CLIENTS, AISPM_BENCH_REQUESTS.

use schemas::*;
use serde_json::json;
use service::{Caller, Config, EndpointPolicy, Role, Service};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn finding(i: usize) -> Finding {
    let severity = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Medium,
        Severity::Low,
    ][i % 5];
    let path = i.is_multiple_of(4).then(|| ExposurePath {
        nodes: (0..4)
            .map(|n| PathNode {
                id: format!("node:{i}:{n}"),
                kind: ["untrusted_input", "agent", "principal", "data_store"][n].into(),
                name: format!("Node {n} of finding {i}"),
            })
            .collect(),
        edges: (0..3)
            .map(|n| PathEdge {
                from: n,
                to: n + 1,
                kind: ["ingests", "runs_as", "has_access"][n].into(),
            })
            .collect(),
    });
    Finding {
        fingerprint: format!("{i:032x}"),
        rule_id: format!("BENCH-{:03}", i % 60),
        title: format!("Generated check {} failed", i % 60),
        severity,
        status: FindingStatus::Open,
        resource: FindingResource {
            id: format!("bench:agent:{i}"),
            kind: if path.is_some() { "path" } else { "agent" }.into(),
            name: format!("Agent {i}"),
            provider: if i.is_multiple_of(2) { "servicenow" } else { "m365" }.into(),
            connection_id: "bench-connection".into(),
        },
        message: format!("Agent {i} is reachable by more people than it should be"),
        evidence: json!({"audience": ["everyone"], "tools": i % 7}),
        path,
        remediation: "Restrict who may invoke the agent.".into(),
        frameworks: Frameworks {
            owasp_llm_2025: vec!["LLM06".into()],
            ..Default::default()
        },
        first_seen: "2026-12-01T00:00:00.000Z".into(),
        last_seen: "2026-12-01T00:00:00.000Z".into(),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n = env_usize("AISPM_BENCH_FINDINGS", 10_000);
    let clients = env_usize("AISPM_BENCH_CLIENTS", 50);
    let per_client = env_usize("AISPM_BENCH_REQUESTS", 20);
    let dir = std::env::temp_dir().join(format!("aispm-bench-service-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let data = dir.join("data");
    let config = Config {
        database_url: None,
        data_dir: data.clone(),
        master_key: None,
        rules_dirs: Vec::new(),
        endpoints: EndpointPolicy::AllowTestEndpoints,
        m365_app: None,
    };
    let svc = Service::open(config.clone()).await.unwrap();
    svc.create_tenant(&Caller::Local, "bench").await.unwrap();
    let scope = svc.scope(&Caller::Local, "bench").await.unwrap();
    let token = svc.create_token(&scope, Role::Viewer, "bench").await.unwrap().token;
    svc.add_user(&Caller::Local, "bench@aispm.localhost", "a long bench password", false)
        .await
        .unwrap();
    svc.grant(&scope, "bench@aispm.localhost", Role::Viewer).await.unwrap();
    let link = svc
        .create_sign_in_link(&Caller::Local, "bench@aispm.localhost")
        .await
        .unwrap();
    let findings: Vec<Finding> = (0..n).map(finding).collect();
    let store = store::Store::open(&service::sqlite_url(&data.join("aispm.db")))
        .await
        .unwrap();
    let summary = store::EvaluationSummary {
        evaluated_at: store::now(),
        connections: vec!["bench-connection".into()],
        fail: n,
        pass: 0,
        not_assessed: 0,
        not_assessed_results: vec![],
        coverage_gaps: vec![],
        rules: 60,
        by_severity: Default::default(),
    };
    assert!(store
        .save_evaluation(&scope.tenant.id, 0, &findings, &summary)
        .await
        .unwrap());
    drop((svc, store));

    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_aispm"))
        .args(["serve", "--listen", "127.0.0.1:0", "--no-workers"])
        .env("AISPM_DATA_DIR", &data)
        .env_remove("AISPM_DATABASE_URL")
        .env_remove("AISPM_MASTER_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let line = BufReader::new(server.stdout.take().unwrap())
        .lines()
        .next_line()
        .await
        .unwrap()
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_string();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let signed = http.get(format!("{url}/login/link?token={link}")).send().await.unwrap();
    let cookie = signed.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();

    println!(
        "service: {n} findings ({} with paths), SQLite, release build, 2 cores",
        n / 4
    );
    for (label, path) in [
        ("overview", "/t/bench".to_string()),
        ("findings, first page of 50", "/t/bench/findings".to_string()),
        ("findings, severity=low", "/t/bench/findings?severity=low".to_string()),
        ("finding with its path picture", format!("/t/bench/findings/{:032x}", 4)),
        ("agents", "/t/bench/agents".to_string()),
    ] {
        let mut times = Vec::new();
        for _ in 0..20 {
            let started = Instant::now();
            let r = http
                .get(format!("{url}{path}"))
                .header("cookie", &cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{path}");
            let _ = r.bytes().await.unwrap();
            times.push(started.elapsed());
        }
        times.sort();
        println!(
            "page {label}: median {:.1} ms, slowest {:.1} ms (20 requests)",
            percentile(&times, 0.5),
            percentile(&times, 1.0)
        );
    }

    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let http = http.clone();
        let url = url.clone();
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            for _ in 0..per_client {
                let t = Instant::now();
                let r = http
                    .get(format!("{url}/api/v1/tenants/bench/findings?limit=100"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                let _ = r.bytes().await.unwrap();
                times.push(t.elapsed());
            }
            times
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let wall = started.elapsed();
    all.sort();
    println!(
        "api GET /findings?limit=100 with {clients} concurrent clients: p50 {:.1} ms, p99 {:.1} ms, {} requests in {:.2} s ({:.0}/s)",
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        all.len(),
        wall.as_secs_f64(),
        all.len() as f64 / wall.as_secs_f64()
    );
    let _ = server.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
}
