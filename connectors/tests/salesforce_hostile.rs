//! The Salesforce connector against a hostile org: a loopback server whose token answers name
//! an `instance_url` elsewhere, whose pages point off the instance or redirect, whose limits
//! and headers are absurd, and whose SOAP and JSON answers do not parse. Each must end in a
//! clear, bounded outcome: no panic, no hang, no token in any message, no request to a host
//! the org does not own.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use axum::Router;
use connectors::{collector, read_all, ConnectionSpec, Parts};
use sandbox::salesforce::TEST_PRIVATE_KEY_PEM;
use schemas::CoverageStatus;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const LEAKY_TOKEN: &str = "00DLEAK!AQ4tok7f3a9c1e5b";

#[derive(Clone, Copy, PartialEq, Debug)]
enum Mode {
    /// The token answer names `https://evil.example` as the instance.
    ForeignInstance,
    /// The token answer is not a token answer but holds the token.
    TokenUnparseable,
    /// Query pages point to another host.
    ForeignNextPage,
    /// Queries answer 302 elsewhere.
    Redirect,
    /// `/limits` with absurd numbers; SOAP answers that are not XML; records nested past any
    /// sane depth.
    Absurd,
    /// `Sforce-Limit-Info` saying the org used more than it may.
    OverUsed,
}

#[derive(Clone)]
struct Org {
    mode: Mode,
    base: Arc<Mutex<String>>,
    elsewhere: String,
    hits: Arc<AtomicU64>,
}

async fn token(State(o): State<Org>) -> Response {
    let base = o.base.lock().unwrap().clone();
    let body = match o.mode {
        Mode::ForeignInstance => {
            json!({"access_token": LEAKY_TOKEN, "instance_url": "https://evil.example", "token_type": "Bearer"})
        }
        Mode::TokenUnparseable => json!({"access_token": LEAKY_TOKEN, "instance_url": 42}),
        _ => json!({"access_token": LEAKY_TOKEN, "instance_url": base, "token_type": "Bearer",
                    "id": format!("{base}/id/00DHostile0000001AAA/005Hostile0000001AAA")}),
    };
    axum::Json(body).into_response()
}

async fn api(State(o): State<Org>, uri: axum::http::Uri) -> Response {
    o.hits.fetch_add(1, Ordering::Relaxed);
    let path = uri.path().to_string();
    let mut headers = HeaderMap::new();
    let usage = match o.mode {
        Mode::OverUsed => "api-usage=18446744073709551615/100000",
        _ => "api-usage=5/100000; api-bursts=x/y",
    };
    headers.insert("Sforce-Limit-Info", HeaderValue::from_static(usage));
    if path == "/services/data/" {
        return axum::Json(
            json!([{"version": "66.0", "url": "/services/data/v66.0"}, {"version": "NaN"}, {"version": 7}]),
        )
        .into_response();
    }
    if path.ends_with("/limits") {
        let remaining = if o.mode == Mode::Absurd {
            json!(u64::MAX)
        } else {
            json!(100000)
        };
        return (
            headers,
            axum::Json(json!({"DailyApiRequests": {"Max": u64::MAX, "Remaining": remaining}})),
        )
            .into_response();
    }
    if path.contains("/Soap/m/") {
        return (headers, "<not xml at all").into_response();
    }
    match o.mode {
        Mode::ForeignNextPage => axum::Json(json!({
            "totalSize": 4, "done": false, "records": [{"Id": "0Xx000000000001AAA"}],
            "nextRecordsUrl": format!("{}/services/data/v66.0/query/01g-2000", o.elsewhere),
        }))
        .into_response(),
        Mode::Redirect => {
            headers.insert(
                "Location",
                HeaderValue::from_str(&format!("{}/steal?x=1", o.elsewhere)).unwrap(),
            );
            (StatusCode::FOUND, headers, "").into_response()
        }
        Mode::Absurd => {
            // A record nested 10,000 levels deep.
            let deep = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
            (
                headers,
                format!(r#"{{"totalSize":1,"done":true,"records":[{{"Id":{deep}}}]}}"#),
            )
                .into_response()
        }
        _ => axum::Json(json!({"totalSize": 0, "done": true, "records": []})).into_response(),
    }
}

async fn start(mode: Mode, elsewhere: &str) -> (sandbox::RunningServer, Org) {
    let org = Org {
        mode,
        base: Arc::new(Mutex::new(String::new())),
        elsewhere: elsewhere.to_string(),
        hits: Arc::new(AtomicU64::new(0)),
    };
    let app = Router::new()
        .route("/services/oauth2/token", post(token))
        .fallback(any(api))
        .with_state(org.clone());
    let server = sandbox::serve(app, 0).await.unwrap();
    *org.base.lock().unwrap() = server.base_url.clone();
    (server, org)
}

fn spec(login: &str) -> ConnectionSpec {
    ConnectionSpec {
        id: "sf-hostile".into(),
        provider: "salesforce".into(),
        settings: json!({"login_url": login, "client_id": "key", "username": "u@acme.example", "rdap_url": "off", "max_rps": 500.0}),
        secrets: BTreeMap::from([("private_key".to_string(), TEST_PRIVATE_KEY_PEM.to_string())]),
    }
}

async fn read(login: &str) -> Result<Parts, connectors::ApiError> {
    let c = collector(&spec(login)).unwrap();
    tokio::time::timeout(Duration::from_secs(30), read_all(c.as_ref()))
        .await
        .expect("the read ends within 30 s")
}

#[tokio::test]
async fn an_instance_url_off_salesforce_is_refused_before_any_request() {
    let (server, org) = start(Mode::ForeignInstance, "").await;
    let error = connectors::verify(&spec(&server.base_url))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("evil.example") && error.contains("neither a Salesforce domain"),
        "{error}"
    );
    assert!(!error.contains("LEAK"), "{error}");
    assert!(read(&server.base_url).await.is_err(), "no scan on a foreign instance");
    assert_eq!(org.hits.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn an_unparseable_token_answer_is_never_echoed() {
    let (server, _org) = start(Mode::TokenUnparseable, "").await;
    let error = connectors::verify(&spec(&server.base_url))
        .await
        .unwrap_err()
        .to_string();
    assert!(!error.contains("LEAK"), "{error}");
    assert!(error.contains("not a Salesforce token answer"), "{error}");
}

#[tokio::test]
async fn pages_and_redirects_off_the_instance_are_gaps_and_are_not_followed() {
    for mode in [Mode::ForeignNextPage, Mode::Redirect] {
        let (elsewhere, elsewhere_org) = start(Mode::Absurd, "").await;
        let (server, _org) = start(mode, &elsewhere.base_url).await;
        let parts = read(&server.base_url)
            .await
            .expect("one resource's gap, not the scan's end");
        let bots = &parts["salesforce.BotDefinition"].coverage;
        assert_eq!(bots.status, CoverageStatus::Failed, "{mode:?}");
        let reason = bots.error.as_deref().unwrap();
        assert!(
            reason.contains("leaves the org's instance") || reason.contains("redirect"),
            "{mode:?}: {reason}"
        );
        assert!(!reason.contains("x=1") && !reason.contains("LEAK"), "{reason}");
        assert_eq!(
            elsewhere_org.hits.load(Ordering::Relaxed),
            0,
            "{mode:?}: nothing went elsewhere"
        );
    }
}

#[tokio::test]
async fn absurd_limits_and_unparseable_answers_end_in_bounded_gaps() {
    let (server, _org) = start(Mode::Absurd, "").await;
    let parts = read(&server.base_url).await.expect("the scan ends with gaps");
    let bots = &parts["salesforce.BotDefinition"].coverage;
    assert_eq!(bots.status, CoverageStatus::Failed);
    assert!(bots.error.as_deref().unwrap().contains("JSON"), "{bots:?}");
    let settings = &parts["salesforce.metadata.settings"].coverage;
    assert_eq!(settings.status, CoverageStatus::Failed);
    assert!(settings.error.as_deref().unwrap().contains("not XML"), "{settings:?}");
    let text = serde_json::to_string(&parts).unwrap();
    assert!(!text.contains("LEAK"));

    // An org that reports more used than its maximum leaves nothing for a scan to take.
    let (server, _org) = start(Mode::OverUsed, "").await;
    let parts = read(&server.base_url).await.expect("the scan ends with gaps");
    let deferred = parts
        .values()
        .filter(|p| p.coverage.status == CoverageStatus::Deferred)
        .count();
    assert!(deferred > 10, "{deferred} deferred");
    assert!(parts["salesforce.Organization"]
        .coverage
        .error
        .as_deref()
        .unwrap_or("")
        .contains("aispm leaves the last"));
}
