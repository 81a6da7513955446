//! Vendor simulators: real HTTP servers on loopback that speak each vendor's wire format.
//!
//! They never import the connectors (and the connectors never import them): a simulator that
//! shared the connector's parsing would agree with its mistakes. Each simulator is written from
//! `shared/saas-apis/<vendor>.md`.

pub mod m365;
pub mod servicenow;

use std::net::SocketAddr;
use tokio::net::TcpListener;

/// A running simulator; dropping it stops the server.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub base_url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
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
