//! Vendor simulators: real HTTP servers on loopback that speak each vendor's wire format.
//!
//! They never import the connectors (and the connectors never import them): a simulator that
//! shared the connector's parsing would agree with its mistakes. Each simulator is written from
//! `shared/saas-apis/<vendor>.md`; the only thing they share with a connector is the vendor's
//! own published description kept beside it (`connectors/src/<vendor>/published/`), which
//! both are held against.

pub mod google_workspace;
pub mod m365;
pub mod salesforce;
pub mod servicenow;
pub mod slack;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// A running simulated vendor and what a connection to it needs: the provider id, a label,
/// the connection settings (as the vendor's connector reads them) and the secrets. The demo
/// connects one of each without knowing any vendor.
pub struct SimulatedConnection {
    pub provider: &'static str,
    /// The vendor's name, for people.
    pub vendor: &'static str,
    pub label: String,
    pub settings: serde_json::Value,
    pub secrets: BTreeMap<String, String>,
    pub server: RunningServer,
}

/// Starts one simulator per vendor with scenario `scenario` (`risky` or `clean`).
pub async fn start_all(scenario: &str) -> std::io::Result<Vec<SimulatedConnection>> {
    Ok(vec![
        servicenow::simulated_connection(scenario).await?,
        m365::simulated_connection(scenario).await?,
        salesforce::simulated_connection(scenario).await?,
        google_workspace::simulated_connection(scenario).await?,
    ])
}

/// A running simulator; dropping it stops the server (and any companions it keeps alive).
pub struct RunningServer {
    pub addr: SocketAddr,
    pub base_url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// Servers that live and die with this one (a vendor that answers on two hosts).
    companions: Vec<RunningServer>,
}

impl RunningServer {
    /// Keeps `other` running for as long as this server runs.
    pub fn with_companion(mut self, other: RunningServer) -> RunningServer {
        self.companions.push(other);
        self
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Serves `app` on a free loopback port in the current tokio runtime.
pub async fn serve(app: axum::Router, port: u16) -> std::io::Result<RunningServer> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    Ok(RunningServer {
        addr,
        base_url: format!("http://{addr}"),
        shutdown: Some(tx),
        companions: Vec::new(),
    })
}

/// `http://<Host header>`: the base URL a client used, for links that point back at us.
pub(crate) fn host_base(headers: &axum::http::HeaderMap) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// An opaque random token (access or refresh).
pub(crate) fn new_token() -> String {
    use rand::Rng;
    let bytes: [u8; 24] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The PKCE S256 challenge of a verifier (RFC 7636): what a token endpoint compares.
pub(crate) fn pkce_s256(verifier: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

pub(crate) fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
