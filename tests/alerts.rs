//! Slack alerts through the real path (scan → evaluation → outbox row in the same transaction →
//! sender → the Slack simulator, which checks every message against Slack's Block Kit rules):
//! a first scan alerts once, an identical rescan alerts nothing, a change alerts once; a 429
//! storm loses and duplicates nothing; `no_service` marks the channel broken and keeps its
//! messages until a test goes through.

use service::alerts::{ChannelKind, NewAlertChannel};
use service::{Caller, Config, EndpointPolicy, NewConnection, Service, TenantScope};
use std::path::PathBuf;
use std::time::Duration;

struct TempDir(PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn scan(svc: &Service, scope: &TenantScope) {
    let ids: Vec<String> = svc
        .start_scan(scope)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.scan_id)
        .collect();
    let outcome = svc
        .wait_for_scans(scope, &ids, Duration::from_secs(120), |_| {})
        .await
        .unwrap();
    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
}

async fn post(url: String, body: &str) {
    let answer = reqwest::Client::new()
        .post(url)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
}

async fn slack_state(slack: &sandbox::slack::SlackSim) -> serde_json::Value {
    reqwest::get(format!("{}/__sandbox/messages", slack.server.base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn delivered(state: &serde_json::Value) -> Vec<serde_json::Value> {
    state["delivered"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_hears_each_state_change_once_on_sqlite() {
    slack_hears_each_state_change_once(None, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_hears_each_state_change_once_on_postgres() {
    let Ok(server) = std::env::var("AISPM_TEST_POSTGRES_URL") else {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "skipped: AISPM_TEST_POSTGRES_URL is not set, so the PostgreSQL alert test did not run"
        );
        return;
    };
    use sea_orm::{ConnectionTrait, Database};
    let server = server.trim_end_matches('/').to_string();
    let name = format!("aispm_alerts_{}", std::process::id());
    let admin = Database::connect(format!("{server}/postgres")).await.unwrap();
    let _ = admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await;
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    slack_hears_each_state_change_once(Some(format!("{server}/{name}")), "postgres").await;
    let _ = admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await;
}

async fn slack_hears_each_state_change_once(database_url: Option<String>, tag: &str) {
    let dir = TempDir(std::env::temp_dir().join(format!("aispm-alerts-{tag}-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    let svc = Service::open(Config {
        database_url: database_url.clone(),
        data_dir: dir.0.join("data"),
        master_key: None,
        rules_dirs: Vec::new(),
        endpoints: EndpointPolicy::AllowTestEndpoints,
        m365_app: None,
    })
    .await
    .unwrap();
    svc.create_tenant(&Caller::Local, "acme").await.unwrap();
    let scope = svc.scope(&Caller::Local, "acme").await.unwrap();
    let sim = sandbox::servicenow::simulated_connection("drifted").await.unwrap();
    svc.connect(
        &scope,
        NewConnection {
            provider: sim.provider.into(),
            label: sim.label.clone(),
            settings: sim.settings.clone(),
            secrets: sim.secrets.clone(),
        },
    )
    .await
    .unwrap();
    let slack = sandbox::slack::start(0).await.unwrap();
    let hook = slack.webhook_url();
    let channel = |url: &str| NewAlertChannel {
        kind: ChannelKind::Slack,
        url: url.to_string(),
        name: Some("#secops".into()),
        min_severity: "high".into(),
        mode: "immediate".into(),
        digest_cron: None,
        timezone: "UTC".into(),
        link_base: Some("https://aispm.example.com".into()),
    };
    let added = svc.add_alert_channel(&scope, channel(&hook)).await.unwrap();
    let id = added.channel.id.clone();
    // A second Slack workspace hears a digest every second (six fields: seconds first).
    let digest_slack = sandbox::slack::start(0).await.unwrap();
    svc.add_alert_channel(
        &scope,
        NewAlertChannel {
            mode: "digest".into(),
            digest_cron: Some("* * * * * *".into()),
            min_severity: "medium".into(),
            ..channel(&digest_slack.webhook_url())
        },
    )
    .await
    .unwrap();
    let listed = serde_json::to_string(&svc.alert_channels(&scope).await.unwrap()).unwrap();
    assert!(
        !listed.contains("sandbox-webhook"),
        "the URL is never shown again: {listed}"
    );

    // A tenant admin (not the operator's CLI) may name only Slack's own host.
    let strict = Service::open(Config {
        database_url: database_url.clone(),
        data_dir: dir.0.join("data"),
        master_key: None,
        rules_dirs: Vec::new(),
        endpoints: EndpointPolicy::PublicHttpsOnly,
        m365_app: None,
    })
    .await
    .unwrap();
    let err = strict
        .add_alert_channel(&scope, channel(&hook))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("https://hooks.slack.com/"), "{err}");
    let err = strict
        .add_alert_channel(&scope, channel("https://hooks.slack.com.evil.example/x"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("https://hooks.slack.com/"), "{err}");

    // 1. The first scan: its new high findings, one message.
    scan(&svc, &scope).await;
    assert!(svc.deliver_alerts(Duration::from_secs(30)).await.unwrap() >= 1);
    let state = slack_state(&slack).await;
    let first = delivered(&state);
    assert_eq!(first.len(), 1, "{state:#}");
    let text = first[0].to_string();
    for needle in ["SNOW-001", "SNOW-006", "https://aispm.example.com/t/acme/findings/"] {
        assert!(text.contains(needle), "{needle} in {text}");
    }
    assert!(!text.contains("SNOW-026"), "medium is below the channel's bar: {text}");
    assert_eq!(first[0]["blocks"][0]["type"], "header");
    assert!(first[0]["text"].as_str().unwrap().contains("new finding(s)"));

    // The digest bundles the same evaluation into one message (medium findings too).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    svc.deliver_alerts(Duration::from_secs(10)).await.unwrap();
    let digests = delivered(&slack_state(&digest_slack).await);
    assert_eq!(digests.len(), 1);
    assert!(digests[0].to_string().contains("SNOW-026"), "{}", digests[0]);

    // 2. The same tenant again: nothing new, nothing sent.
    scan(&svc, &scope).await;
    assert_eq!(svc.deliver_alerts(Duration::from_secs(5)).await.unwrap(), 0);
    assert_eq!(
        delivered(&slack_state(&slack).await).len(),
        1,
        "an open finding is not sent twice"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    svc.deliver_alerts(Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        delivered(&slack_state(&digest_slack).await).len(),
        1,
        "an empty digest is not sent"
    );

    // 3. A change (the risky instance): one more message.
    post(format!("{}/__sandbox/scenario/risky", sim.server.base_url), "").await;
    scan(&svc, &scope).await;
    svc.deliver_alerts(Duration::from_secs(30)).await.unwrap();
    let after = delivered(&slack_state(&slack).await);
    assert_eq!(after.len(), 2);
    let blocks = after[1]["blocks"].as_array().unwrap();
    assert!(blocks.len() <= 50);

    // 4. A 429 storm: three test messages, each delivered exactly once in the end.
    post(format!("{}/__sandbox/mode", slack.server.base_url), "storm:6").await;
    for _ in 0..3 {
        svc.test_alert_channel(&scope, &id).await.unwrap();
    }
    svc.deliver_alerts(Duration::from_secs(60)).await.unwrap();
    let state = slack_state(&slack).await;
    assert_eq!(delivered(&state).len(), 5, "{state:#}");
    assert!(state["throttled"].as_u64().unwrap() >= 6);
    assert_eq!(state["rejected"], serde_json::json!([]), "Slack accepted every message");

    // 5. The webhook is removed at Slack: the channel is marked broken, the message kept.
    post(format!("{}/__sandbox/mode", slack.server.base_url), "no_service").await;
    svc.test_alert_channel(&scope, &id).await.unwrap();
    svc.deliver_alerts(Duration::from_secs(10)).await.unwrap();
    let view = svc.alert_channels(&scope).await.unwrap().remove(0);
    assert_eq!(view.status, "broken");
    assert!(
        view.broken_reason.as_deref().unwrap().contains("no_service"),
        "{view:?}"
    );
    assert_eq!(view.pending, 1, "the queued message is not lost");
    // Fixed at Slack: a test goes through and the kept message with it.
    post(format!("{}/__sandbox/mode", slack.server.base_url), "ok").await;
    let row = svc.test_alert_channel(&scope, &id).await.unwrap();
    assert_eq!(
        svc.deliver_now(&row, Duration::from_secs(30)).await.unwrap(),
        Ok("delivered".into())
    );
    svc.deliver_alerts(Duration::from_secs(10)).await.unwrap();
    let view = svc.alert_channels(&scope).await.unwrap().remove(0);
    assert_eq!(
        (view.status.as_str(), view.pending, view.sent),
        ("active", 0, 7),
        "{view:?}"
    );
    assert_eq!(delivered(&slack_state(&slack).await).len(), 7);

    // 6. Fixed at the vendor: the immediate channel hears nothing, the digest reports the
    //    resolved findings once.
    let digests_before = delivered(&slack_state(&digest_slack).await).len();
    post(format!("{}/__sandbox/scenario/clean", sim.server.base_url), "").await;
    scan(&svc, &scope).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    svc.deliver_alerts(Duration::from_secs(10)).await.unwrap();
    let immediate = delivered(&slack_state(&slack).await);
    assert!(
        immediate[7..].iter().all(|m| !m.to_string().contains("Resolved")),
        "resolved findings wait for a digest: {immediate:#?}"
    );
    let digests = delivered(&slack_state(&digest_slack).await);
    assert_eq!(digests.len(), digests_before + 1);
    let last = digests.last().unwrap().to_string();
    assert!(last.contains("Resolved") && last.contains("SNOW-001"), "{last}");
    scan(&svc, &scope).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    svc.deliver_alerts(Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        delivered(&slack_state(&digest_slack).await).len(),
        digests_before + 1,
        "reported once"
    );
}

/// Footer ids of the messages Slack accepted ("aispm message <id>").
fn message_ids(messages: &[serde_json::Value]) -> Vec<String> {
    messages
        .iter()
        .map(|m| {
            let blocks = m["blocks"].as_array().unwrap();
            let footer = blocks.last().unwrap()["elements"][0]["text"].as_str().unwrap();
            footer.rsplit("aispm message ").next().unwrap().to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_delivery_loses_and_repeats_nothing() {
    let dir = TempDir(std::env::temp_dir().join(format!("aispm-alerts-kill-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    let data = dir.0.join("data");
    let svc = Service::open(Config {
        database_url: None,
        data_dir: data.clone(),
        master_key: None,
        rules_dirs: Vec::new(),
        endpoints: EndpointPolicy::AllowTestEndpoints,
        m365_app: None,
    })
    .await
    .unwrap();
    svc.create_tenant(&Caller::Local, "acme").await.unwrap();
    let scope = svc.scope(&Caller::Local, "acme").await.unwrap();
    let slack = sandbox::slack::start(0).await.unwrap();
    let id = svc
        .add_alert_channel(
            &scope,
            NewAlertChannel {
                kind: ChannelKind::Slack,
                url: slack.webhook_url(),
                name: None,
                min_severity: "high".into(),
                mode: "immediate".into(),
                digest_cron: None,
                timezone: "UTC".into(),
                link_base: None,
            },
        )
        .await
        .unwrap()
        .channel
        .id;
    const MESSAGES: usize = 6;
    for _ in 0..MESSAGES {
        svc.test_alert_channel(&scope, &id).await.unwrap();
    }
    let worker = || {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_aispm"))
            .arg("worker")
            .env("AISPM_DATA_DIR", &data)
            .env_remove("AISPM_MASTER_KEY")
            .env_remove("AISPM_DATABASE_URL")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    };
    let wait_for = |n: usize, secs: u64| {
        let slack = &slack;
        async move {
            let deadline = std::time::Instant::now() + Duration::from_secs(secs);
            while slack.delivered().len() < n {
                assert!(
                    std::time::Instant::now() < deadline,
                    "{} of {n} delivered",
                    slack.delivered().len()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    // Killed (SIGKILL) as soon as the second message went out and was recorded, mid-way
    // through the queue (the sender paces a webhook, so the third is a second away). A kill
    // between Slack's answer and the record would resend that one message once its claim
    // lapses: delivery is at least once, and that window is a few milliseconds.
    let mut first = worker();
    wait_for(2, 60).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while svc.alert_channels(&scope).await.unwrap()[0].sent < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the second delivery was never recorded"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.start_kill().unwrap();
    first.wait().await.unwrap();
    let mut second = worker();
    wait_for(MESSAGES, 60).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    second.start_kill().unwrap();
    let ids = message_ids(&slack.delivered());
    let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(ids.len(), MESSAGES, "nothing lost, nothing twice: {ids:?}");
    assert_eq!(unique.len(), MESSAGES);
    let view = svc.alert_channels(&scope).await.unwrap().remove(0);
    assert_eq!((view.pending, view.sent), (0, MESSAGES as i64), "{view:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generic_webhook_is_signed_with_the_channels_key() {
    use hmac::{Hmac, Mac};
    use std::sync::{Arc, Mutex};
    type Seen = Arc<Mutex<Vec<(axum::http::HeaderMap, String)>>>;
    let seen: Seen = Arc::default();
    let app = axum::Router::new()
        .route(
            "/hook",
            axum::routing::post(
                |axum::extract::State(seen): axum::extract::State<Seen>,
                 headers: axum::http::HeaderMap,
                 body: String| async move {
                    seen.lock().unwrap().push((headers, body));
                    "ok"
                },
            ),
        )
        .with_state(seen.clone());
    let receiver = sandbox::serve(app, 0).await.unwrap();
    let dir = TempDir(std::env::temp_dir().join(format!("aispm-alerts-hook-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    let svc = Service::open(Config {
        database_url: None,
        data_dir: dir.0.join("data"),
        master_key: None,
        rules_dirs: Vec::new(),
        endpoints: EndpointPolicy::AllowTestEndpoints,
        m365_app: None,
    })
    .await
    .unwrap();
    svc.create_tenant(&Caller::Local, "acme").await.unwrap();
    let scope = svc.scope(&Caller::Local, "acme").await.unwrap();
    let added = svc
        .add_alert_channel(
            &scope,
            NewAlertChannel {
                kind: ChannelKind::Webhook,
                url: format!("{}/hook", receiver.base_url),
                name: Some("siem".into()),
                min_severity: "high".into(),
                mode: "immediate".into(),
                digest_cron: None,
                timezone: "UTC".into(),
                link_base: None,
            },
        )
        .await
        .unwrap();
    let key = added.signing_key.expect("a webhook's signing key, shown once");
    let row = svc.test_alert_channel(&scope, &added.channel.id).await.unwrap();
    assert_eq!(
        svc.deliver_now(&row, Duration::from_secs(20)).await.unwrap(),
        Ok("delivered".to_string())
    );
    let (headers, body) = seen.lock().unwrap().remove(0);
    let ts = headers["x-aispm-timestamp"].to_str().unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(format!("{ts}.{body}").as_bytes());
    let expected = format!("v1={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(headers["x-aispm-signature"].to_str().unwrap(), expected);
    assert_eq!(headers["x-aispm-message"].to_str().unwrap(), row);
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (body["source"].as_str(), body["tenant"].as_str()),
        (Some("aispm"), Some("acme"))
    );
    assert!(!serde_json::to_string(&svc.alert_channels(&scope).await.unwrap())
        .unwrap()
        .contains(&key));
}
