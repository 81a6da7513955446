//! The connectors against a hostile "vendor": a loopback server that answers the token
//! endpoint and the Table API with what a broken or malicious instance could send (absurd
//! waits, redirects, endless bodies, unparseable token answers, query injection through
//! reference values). Each must end in a clear, bounded outcome: no panic, no hang, no token in
//! any message.

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use connectors::{collector, read_all, ApiError, ConnectionSpec};
use sandbox::servicenow::{self, scenarios, SimConfig};
use schemas::CoverageStatus;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A token the hostile server hands out; it must never appear in an error.
const LEAKY_TOKEN: &str = "tok-LEAK-7f3a9c1e5b";

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// 429 with `Retry-After: 1e20`.
    RetryAfterHuge,
    /// 429 with `X-RateLimit-Reset: u64::MAX`.
    ResetHuge,
    /// A good token with `expires_in: u64::MAX`, then ordinary empty tables.
    ExpiresHuge,
    /// A token answer that does not parse but holds the token.
    TokenUnparseable,
    /// Every table answers 302 to another server.
    Redirect,
    /// Every table answers an endless body.
    EndlessBody,
    /// Tables answer with an hourly limit of 1 request.
    HourlyLimitOfOne,
}

#[derive(Clone)]
struct Hostile {
    mode: Mode,
    redirect_to: String,
    table_requests: Arc<AtomicU64>,
}

async fn token(State(h): State<Hostile>) -> Response {
    let body = match h.mode {
        Mode::TokenUnparseable => json!({"access_token": LEAKY_TOKEN, "token_type": 42, "expires_in": "soon"}),
        Mode::ExpiresHuge => json!({"access_token": LEAKY_TOKEN, "token_type": "Bearer", "expires_in": u64::MAX}),
        _ => json!({"access_token": LEAKY_TOKEN, "token_type": "Bearer", "expires_in": 1799}),
    };
    axum::Json(body).into_response()
}

async fn table(State(h): State<Hostile>, Query(_q): Query<HashMap<String, String>>) -> Response {
    h.table_requests.fetch_add(1, Ordering::Relaxed);
    let mut headers = HeaderMap::new();
    match h.mode {
        Mode::RetryAfterHuge => {
            headers.insert("Retry-After", HeaderValue::from_static("1e20"));
            (StatusCode::TOO_MANY_REQUESTS, headers, "{}").into_response()
        }
        Mode::ResetHuge => {
            headers.insert("X-RateLimit-Reset", HeaderValue::from(u64::MAX));
            (StatusCode::TOO_MANY_REQUESTS, headers, "{}").into_response()
        }
        Mode::Redirect => {
            headers.insert("Location", HeaderValue::from_str(&h.redirect_to).unwrap());
            (StatusCode::FOUND, headers, "").into_response()
        }
        Mode::EndlessBody => {
            // 1 MiB chunks, bounded at 64 MiB so the test cannot run away either.
            let chunk = bytes_of(1024 * 1024);
            let stream = futures::stream::iter((0..64).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
            (StatusCode::OK, Body::from_stream(stream)).into_response()
        }
        Mode::HourlyLimitOfOne => {
            headers.insert("X-RateLimit-Limit", HeaderValue::from_static("1"));
            (StatusCode::OK, headers, axum::Json(json!({"result": []}))).into_response()
        }
        _ => axum::Json(json!({"result": []})).into_response(),
    }
}

fn bytes_of(n: usize) -> axum::body::Bytes {
    axum::body::Bytes::from(vec![b' '; n])
}

async fn start(mode: Mode, redirect_to: &str) -> (sandbox::RunningServer, Hostile) {
    let state = Hostile {
        mode,
        redirect_to: redirect_to.to_string(),
        table_requests: Arc::new(AtomicU64::new(0)),
    };
    let app = Router::new()
        .route("/oauth_token.do", post(token))
        .route("/api/now/table/{table}", get(table))
        .with_state(state.clone());
    (sandbox::serve(app, 0).await.unwrap(), state)
}

fn spec(base_url: &str) -> ConnectionSpec {
    ConnectionSpec {
        id: "conn-hostile".into(),
        provider: "servicenow".into(),
        settings: json!({"instance_url": base_url, "client_id": "c", "max_rps": 200.0}),
        secrets: BTreeMap::from([("client_secret".to_string(), "s".to_string())]),
    }
}

/// Reads every resource, bounded in time: a hang is a failure, not a stuck test run.
async fn read(base: &str) -> Result<connectors::Parts, ApiError> {
    let c = collector(&spec(base)).expect("collector builds");
    tokio::time::timeout(Duration::from_secs(30), read_all(c.as_ref()))
        .await
        .expect("the read ends within 30 s")
}

#[tokio::test]
async fn an_absurd_retry_after_stops_the_scan_with_the_reason() {
    for mode in [Mode::RetryAfterHuge, Mode::ResetHuge] {
        let (server, state) = start(mode, "").await;
        let started = Instant::now();
        match read(&server.base_url).await {
            Err(e @ ApiError::WaitTooLong { .. }) => {
                assert!(e.to_string().contains("more than a day"), "{e}");
                assert!(e.stops_scan() && !e.is_retryable());
            }
            other => panic!("expected WaitTooLong, got {:?}", other.map(|p| p.len())),
        }
        // Stopped at the first refusal: no retries of a wait nobody would make.
        assert_eq!(state.table_requests.load(Ordering::Relaxed), 1);
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}

#[tokio::test]
async fn an_absurd_token_lifetime_does_not_panic() {
    let (server, state) = start(Mode::ExpiresHuge, "").await;
    let c = collector(&spec(&server.base_url)).unwrap();
    let parts = read_all(c.as_ref()).await.expect("reads");
    assert!(parts.values().all(|p| p.coverage.status == CoverageStatus::Collected));
    assert!(state.table_requests.load(Ordering::Relaxed) > 10);
    connectors::verify(&spec(&server.base_url)).await.expect("verifies");
}

#[tokio::test]
async fn an_unparseable_token_answer_is_never_echoed() {
    let (server, _state) = start(Mode::TokenUnparseable, "").await;
    let error = connectors::verify(&spec(&server.base_url))
        .await
        .unwrap_err()
        .to_string();
    assert!(!error.contains(LEAKY_TOKEN), "{error}");
    assert!(!error.contains("LEAK"), "{error}");
    assert!(error.contains("not a token response"), "{error}");
    let scan_error = read(&server.base_url).await.unwrap_err().to_string();
    assert!(!scan_error.contains("LEAK"), "{scan_error}");
}

#[tokio::test]
async fn a_redirect_is_a_gap_naming_the_target_and_is_not_followed() {
    let (elsewhere, elsewhere_state) = start(Mode::ExpiresHuge, "").await;
    let target = format!("{}/api/now/table/sys_user?stolen=1", elsewhere.base_url);
    let (server, _state) = start(Mode::Redirect, &target).await;
    let parts = read(&server.base_url).await.expect("a redirect is one resource's gap");
    let first = &parts["servicenow.sys_store_app"].coverage;
    assert_eq!(first.status, CoverageStatus::Failed);
    let reason = first.error.as_deref().unwrap();
    assert!(
        reason.contains("redirect") && reason.contains(&elsewhere.base_url),
        "{reason}"
    );
    assert!(!reason.contains("stolen"), "the target's query is not shown: {reason}");
    assert_eq!(elsewhere_state.table_requests.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn an_endless_body_is_a_gap_not_an_allocation() {
    let (server, _state) = start(Mode::EndlessBody, "").await;
    let parts = read(&server.base_url)
        .await
        .expect("an endless body is one resource's gap");
    let first = &parts["servicenow.sys_store_app"].coverage;
    assert_eq!(first.status, CoverageStatus::Failed);
    assert!(first.error.as_deref().unwrap().contains("larger than"), "{first:?}");
}

#[tokio::test]
async fn an_hourly_limit_of_one_parks_instead_of_sleeping() {
    let (server, state) = start(Mode::HourlyLimitOfOne, "").await;
    let started = Instant::now();
    match read(&server.base_url).await {
        Err(ApiError::Throttled {
            retry_after: Some(wait),
            ..
        }) => assert!(wait > Duration::from_secs(3000), "{wait:?}"),
        other => panic!("expected a park, got {:?}", other.map(|p| p.len())),
    }
    assert_eq!(state.table_requests.load(Ordering::Relaxed), 1);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_reference_value_cannot_inject_query_syntax() {
    // The instance's own data is hostile here: an agent's run-as reference holds query syntax
    // that, pasted into `sys_idIN…`, would read every user (`^NQ` starts a new query).
    let mut tables = scenarios::risky();
    let legit_users = {
        let c = servicenow::start(SimConfig::default(), tables.clone(), 0)
            .await
            .unwrap();
        let parts = read_sim(&c.base_url).await;
        parts["servicenow.sys_user"].records.len()
    };
    tables.get_mut("sn_aia_agent_config").row(&[
        ("sys_id", "0123456789abcdef0123456789abcdef"),
        ("run_as_user", "x^NQsys_idISNOTEMPTY"),
        ("active", "true"),
    ]);
    let sim = servicenow::start(SimConfig::default(), tables.clone(), 0)
        .await
        .unwrap();
    let parts = read_sim(&sim.base_url).await;
    let users = &parts["servicenow.sys_user"];
    assert_eq!(users.records.len(), legit_users, "the injected value read extra users");
    assert!(users.coverage.error.as_deref().unwrap_or("").contains("not sys_ids"));
    let total_users = tables.get("sys_user").unwrap().rows.len();
    assert!(total_users > legit_users, "the scenario has users no agent runs as");
}

async fn read_sim(base: &str) -> connectors::Parts {
    let config = SimConfig::default();
    let spec = ConnectionSpec {
        id: "conn-sim".into(),
        provider: "servicenow".into(),
        settings: json!({"instance_url": base, "client_id": config.client_id, "max_rps": 200.0}),
        secrets: BTreeMap::from([("client_secret".to_string(), config.client_secret.clone())]),
    };
    let c = collector(&spec).unwrap();
    read_all(c.as_ref()).await.unwrap()
}
