//! Connecting through the service: the endpoint policy a tenant admin gets, and settings and
//! secrets checked against the vendor registry before anything is sent.

use service::{Config, EndpointPolicy, NewConnection, Service, ServiceError};

struct TempDir(std::path::PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn service(policy: EndpointPolicy) -> (Service, TempDir) {
    let dir = TempDir(std::env::temp_dir().join(format!("aispm-service-{}", uuid::Uuid::new_v4())));
    let config = Config {
        database_url: None,
        data_dir: dir.0.clone(),
        master_key: None,
        rules_dirs: Vec::new(),
        endpoints: policy,
    };
    let svc = Service::open(config).await.unwrap();
    svc.add_tenant("acme").await.unwrap();
    (svc, dir)
}

fn servicenow(sim: &sandbox::SimulatedConnection) -> NewConnection {
    NewConnection {
        provider: sim.provider.into(),
        label: sim.label.clone(),
        settings: sim.settings.clone(),
        secrets: sim.secrets.clone(),
    }
}

#[tokio::test]
async fn tenant_admins_cannot_point_a_connection_at_a_private_address() {
    let sim = sandbox::servicenow::simulated_connection("clean").await.unwrap();
    let (svc, _dir) = service(EndpointPolicy::PublicHttpsOnly).await;
    match svc.connect("acme", servicenow(&sim)).await {
        Err(ServiceError::Invalid(reason)) => {
            assert!(reason.contains("instance_url") && reason.contains("https"), "{reason}")
        }
        other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
    }
    assert!(svc.connections("acme").await.unwrap().is_empty());
    // The operator's policy allows the simulator.
    let (svc, _dir) = service(EndpointPolicy::AllowTestEndpoints).await;
    svc.connect("acme", servicenow(&sim)).await.unwrap();
    assert_eq!(svc.connections("acme").await.unwrap().len(), 1);
}

#[tokio::test]
async fn settings_and_secrets_are_checked_against_the_registry() {
    let sim = sandbox::servicenow::simulated_connection("clean").await.unwrap();
    let (svc, _dir) = service(EndpointPolicy::AllowTestEndpoints).await;
    let mut missing = servicenow(&sim);
    missing.settings.as_object_mut().unwrap().remove("client_id");
    let err = svc.connect("acme", missing).await.unwrap_err().to_string();
    assert!(err.contains("client_id") && err.contains("required"), "{err}");
    let mut extra = servicenow(&sim);
    extra.secrets.insert("api_key".into(), "x".into());
    let err = svc.connect("acme", extra).await.unwrap_err().to_string();
    assert!(err.contains("unknown secret"), "{err}");
    let mut unknown = servicenow(&sim);
    unknown.provider = "salesforce".into();
    let err = svc.connect("acme", unknown).await.unwrap_err().to_string();
    assert!(err.contains("unknown provider"), "{err}");
    let stats: serde_json::Value = reqwest_stats(&sim.server.base_url).await;
    assert_eq!(stats["token_requests"], 0, "nothing was sent for a refused connection");
}

async fn reqwest_stats(base: &str) -> serde_json::Value {
    reqwest::get(format!("{base}/__sandbox/stats"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
