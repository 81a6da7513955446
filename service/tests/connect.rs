//! Connecting through the service: the endpoint policy a tenant admin gets, and settings and
//! secrets checked against the vendor registry before anything is sent.

use service::{Caller, Config, EndpointPolicy, NewConnection, Role, Service, ServiceError, TenantScope};

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
        m365_app: None,
    };
    let svc = Service::open(config).await.unwrap();
    svc.create_tenant(&Caller::Local, "acme").await.unwrap();
    (svc, dir)
}

async fn acme(svc: &Service) -> TenantScope {
    svc.scope(&Caller::Local, "acme").await.unwrap()
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
    match svc.connect(&acme(&svc).await, servicenow(&sim)).await {
        Err(ServiceError::Invalid(reason)) => {
            assert!(reason.contains("instance_url") && reason.contains("https"), "{reason}")
        }
        other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
    }
    assert!(svc.connections(&acme(&svc).await).await.unwrap().is_empty());
    // The operator's policy allows the simulator.
    let (svc, _dir) = service(EndpointPolicy::AllowTestEndpoints).await;
    svc.connect(&acme(&svc).await, servicenow(&sim)).await.unwrap();
    assert_eq!(svc.connections(&acme(&svc).await).await.unwrap().len(), 1);
}

#[tokio::test]
async fn settings_and_secrets_are_checked_against_the_registry() {
    let sim = sandbox::servicenow::simulated_connection("clean").await.unwrap();
    let (svc, _dir) = service(EndpointPolicy::AllowTestEndpoints).await;
    let mut missing = servicenow(&sim);
    missing.settings.as_object_mut().unwrap().remove("client_id");
    let err = svc.connect(&acme(&svc).await, missing).await.unwrap_err().to_string();
    assert!(err.contains("client_id") && err.contains("required"), "{err}");
    let mut extra = servicenow(&sim);
    extra.secrets.insert("api_key".into(), "x".into());
    let err = svc.connect(&acme(&svc).await, extra).await.unwrap_err().to_string();
    assert!(err.contains("unknown secret"), "{err}");
    let mut unknown = servicenow(&sim);
    unknown.provider = "workday".into();
    let err = svc.connect(&acme(&svc).await, unknown).await.unwrap_err().to_string();
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

#[tokio::test]
async fn a_scope_is_the_one_door_to_a_tenant() {
    let sim = sandbox::servicenow::simulated_connection("clean").await.unwrap();
    let (svc, _dir) = service(EndpointPolicy::AllowTestEndpoints).await;
    svc.create_tenant(&Caller::Local, "globex").await.unwrap();
    let acme = acme(&svc).await;
    let globex = svc.scope(&Caller::Local, "globex").await.unwrap();
    // A viewer token of acme: reads acme, cannot change it, and globex does not exist for it.
    let viewer = svc.create_token(&acme, Role::Viewer, "dashboard").await.unwrap();
    assert!(viewer.token.starts_with("aispm_"));
    let caller = svc
        .authenticate_token(&viewer.token)
        .await
        .unwrap()
        .expect("a live token");
    let scope = svc.scope(&caller, "acme").await.unwrap();
    assert_eq!(scope.role, Role::Viewer);
    assert!(matches!(
        svc.connect(&scope, servicenow(&sim)).await,
        Err(ServiceError::Forbidden(_))
    ));
    assert!(matches!(svc.start_scan(&scope).await, Err(ServiceError::Forbidden(_))));
    assert!(matches!(
        svc.scope(&caller, "globex").await,
        Err(ServiceError::NotFound(_))
    ));
    // A tenant that does not exist reads the same as one that is not yours.
    let missing = svc.scope(&caller, "nope").await.unwrap_err().to_string();
    let foreign = svc.scope(&caller, "globex").await.unwrap_err().to_string();
    assert_eq!(missing.replace("nope", "X"), foreign.replace("globex", "X"));
    assert!(matches!(
        svc.create_tenant(&caller, "initech").await,
        Err(ServiceError::Forbidden(_))
    ));
    // An admin person of globex, and a revoked token.
    svc.add_user(&Caller::Local, "ana@globex.example", "correct horse battery", false)
        .await
        .unwrap();
    svc.grant(&globex, "ana@globex.example", Role::Admin).await.unwrap();
    let ana = svc
        .sign_in("ANA@globex.example", "correct horse battery")
        .await
        .unwrap()
        .expect("signs in");
    assert!(svc
        .sign_in("ana@globex.example", "wrong password!")
        .await
        .unwrap()
        .is_none());
    assert_eq!(svc.scope(&ana, "globex").await.unwrap().role, Role::Admin);
    assert!(matches!(svc.scope(&ana, "acme").await, Err(ServiceError::NotFound(_))));
    svc.revoke_token(&acme, &viewer.info.id).await.unwrap();
    assert!(svc.authenticate_token(&viewer.token).await.unwrap().is_none());
    // What was done is in each tenant's audit log, and only there.
    let log = svc.audit_log(&acme, None, 50).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["token.revoke", "token.create", "tenant.create"]);
    let log = svc.audit_log(&globex, None, 50).await.unwrap();
    assert!(log
        .iter()
        .any(|e| e.action == "member.grant" && e.object == "ana@globex.example as admin"));
    assert!(!log.iter().any(|e| e.action.starts_with("token.")));
}

fn finding(fingerprint: &str, status: schemas::FindingStatus) -> schemas::Finding {
    serde_json::from_value(serde_json::json!({
        "fingerprint": fingerprint, "rule_id": "R-1", "title": "t", "severity": "high",
        "status": status, "message": "", "evidence": {}, "path": null, "remediation": "",
        "resource": {"id": "a", "kind": "agent", "name": "A", "provider": "servicenow", "connection_id": "c"},
        "frameworks": {}, "first_seen": "2026-12-01T00:00:00Z", "last_seen": "2026-12-01T00:00:00Z"
    }))
    .unwrap()
}

#[tokio::test]
async fn findings_read_after_an_evaluation_are_that_evaluations() {
    let (svc, dir) = service(EndpointPolicy::AllowTestEndpoints).await;
    let store = store::Store::open(&service::sqlite_url(&dir.0.join("aispm.db")))
        .await
        .unwrap();
    let summary = store::EvaluationSummary {
        evaluated_at: store::now(),
        connections: vec![],
        fail: 1,
        pass: 0,
        not_assessed: 0,
        not_assessed_results: vec![],
        coverage_gaps: vec![],
        rules: 1,
        by_severity: Default::default(),
    };
    let tenant = acme(&svc).await.tenant;
    let open = schemas::FindingStatus::Open;
    assert!(store
        .save_evaluation(&tenant.id, 0, &[finding("f1", open)], &summary)
        .await
        .unwrap());
    let scope = acme(&svc).await;
    let first = svc.findings(&scope, service::FindingFilter::Open).await.unwrap();
    assert_eq!(first.len(), 1);
    // Another process evaluates: f1 resolved, f2 new. The next request sees exactly that.
    let resolved = schemas::FindingStatus::Resolved;
    let next = [finding("f1", resolved), finding("f2", open)];
    assert!(store.save_evaluation(&tenant.id, 1, &next, &summary).await.unwrap());
    let scope = acme(&svc).await;
    let open_now: Vec<String> = svc
        .findings(&scope, service::FindingFilter::Open)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.fingerprint)
        .collect();
    assert_eq!(open_now, ["f2"]);
    assert_eq!(svc.finding(&scope, "f1").await.unwrap().status, resolved);
}

#[tokio::test]
async fn a_schedule_fires_once_after_downtime_and_never_starts_a_second_scan() {
    use service::schedules::ScheduleKind;
    let sim = sandbox::servicenow::simulated_connection("clean").await.unwrap();
    let (svc, _dir) = service(EndpointPolicy::AllowTestEndpoints).await;
    let scope = acme(&svc).await;
    svc.connect(&scope, servicenow(&sim)).await.unwrap();
    let hourly = svc
        .set_schedule(&scope, ScheduleKind::Scan, "0 * * * *", "Europe/Berlin")
        .await
        .unwrap();
    assert!(hourly.last_fired_at.is_none());
    assert!(matches!(
        svc.set_schedule(&scope, ScheduleKind::Scan, "61 * * * *", "UTC").await,
        Err(ServiceError::Invalid(_))
    ));
    let now = chrono::Utc::now();
    assert_eq!(svc.run_due_schedules(now).await.unwrap(), 0, "not due yet");
    // Three hours of downtime: three slots missed, one firing.
    let later = now + chrono::Duration::hours(3);
    assert_eq!(svc.run_due_schedules(later).await.unwrap(), 1);
    assert_eq!(
        svc.run_due_schedules(later).await.unwrap(),
        0,
        "fired once, not per slot"
    );
    let view = &svc.schedules(&scope).await.unwrap()[0];
    assert!(view.next_due_at.as_str() > later.to_rfc3339().as_str(), "{view:?}");
    assert!(
        view.last_result.as_deref().unwrap().starts_with("1 scan(s) started"),
        "{view:?}"
    );
    // No worker runs here, so that scan is still queued when the next slot comes: it is left
    // to finish, not started twice.
    assert_eq!(
        svc.run_due_schedules(later + chrono::Duration::hours(1)).await.unwrap(),
        1
    );
    let view = &svc.schedules(&scope).await.unwrap()[0];
    assert!(
        view.last_result
            .as_deref()
            .unwrap()
            .starts_with("0 scan(s) started, 1 already running"),
        "{view:?}"
    );
    assert_eq!(svc.recent_scans(&scope, 10).await.unwrap().len(), 1);
    // Who did it is in the audit log.
    let log = svc.audit_log(&scope, None, 50).await.unwrap();
    assert!(
        log.iter().any(|e| e.actor == "schedule" && e.action == "scan.start"),
        "{log:?}"
    );
}
