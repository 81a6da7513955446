//! The Salesforce connector against the simulated org (`sandbox::salesforce`): JWT bearer and
//! client-credentials sign-in, `instance_url` on another host, paging, Metadata SOAP (faults,
//! JWT-format tokens), the Connect fallback for prompt templates, the daily API share, and
//! `REQUEST_LIMIT_EXCEEDED` in both its forms.

use connectors::{collector, read_all, ApiError, ConnectionSpec, Parts, ResourcePart};
use sandbox::salesforce::{scenarios, start, Servers, SimConfig, TEST_PRIVATE_KEY_PEM};
use schemas::CoverageStatus;
use serde_json::{json, Value};

async fn org(config: SimConfig, scenario: &str) -> Servers {
    start(config, scenarios::by_name(scenario).unwrap(), 0).await.unwrap()
}

fn jwt_spec(servers: &Servers, config: &SimConfig, extra: Value) -> ConnectionSpec {
    let login = &servers.login.base_url;
    let mut settings = json!({
        "login_url": login, "client_id": config.consumer_key, "username": scenarios::USERNAME_READER,
        "rdap_url": format!("{login}/rdap/"), "max_rps": 500.0,
    });
    for (k, v) in extra.as_object().unwrap() {
        settings[k] = v.clone();
    }
    ConnectionSpec {
        id: "sf".into(),
        provider: "salesforce".into(),
        settings,
        secrets: [("private_key".to_string(), TEST_PRIVATE_KEY_PEM.to_string())].into(),
    }
}

async fn control(servers: &Servers, path: &str, body: Option<Value>) -> Value {
    let http = reqwest::Client::new();
    let url = format!("{}/__sandbox/{path}", servers.login.base_url);
    let answer = match body {
        Some(b) => http.post(url).json(&b).send().await.unwrap(),
        None if path.starts_with("stats") || path.starts_with("requests") => http.get(url).send().await.unwrap(),
        None => http.post(url).send().await.unwrap(),
    };
    assert!(answer.status().is_success(), "{path}: {}", answer.status());
    answer.json().await.unwrap_or(Value::Null)
}

fn status(parts: &Parts, resource: &str) -> CoverageStatus {
    parts[&format!("salesforce.{resource}")].coverage.status
}

#[tokio::test]
async fn the_risky_org_is_read_completely_through_jwt_bearer() {
    let config = SimConfig::default();
    let servers = org(config.clone(), "risky").await;
    assert_ne!(servers.login.addr.port(), servers.instance.addr.port());
    let spec = jwt_spec(&servers, &config, json!({}));
    let c = collector(&spec).unwrap();
    let parts = read_all(c.as_ref()).await.unwrap();
    let gaps: Vec<_> = parts
        .values()
        .filter(|p| p.coverage.status != CoverageStatus::Collected)
        .map(|p| (&p.coverage.resource, p.coverage.status, &p.coverage.error))
        .collect();
    assert!(gaps.is_empty(), "{gaps:#?}");
    let stats = control(&servers, "stats", None).await;
    eprintln!(
        "risky org: {} requests from the connector ({} REST, {} SOAP, {} token, {} RDAP at the simulator)",
        c.stats().requests(),
        stats["rest_requests"],
        stats["soap_requests"],
        stats["token_requests"],
        stats["rdap_requests"]
    );
    // The consumer secret readMetadata returns is dropped while parsing (§9.3).
    let text = serde_json::to_string(&parts).unwrap();
    assert!(
        !text.contains(scenarios::FAKE_CONSUMER_SECRET),
        "a consumer secret was kept"
    );
    // Prompt templates are not queryable here: the Connect list answered instead (§8.3).
    let log = control(&servers, "requests", None).await;
    let paths: Vec<String> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        paths.iter().any(|p| p.ends_with("/einstein/prompt-templates")),
        "{paths:?}"
    );
    // Every call went to the instance the token answer named, at the newest version.
    assert!(paths.iter().all(|p| !p.contains("/v62.0/")), "{paths:?}");
    let inv = c.transform(&parts, &spec.id, "2026-12-02T00:00:00Z");
    let support = inv.agents.iter().find(|a| a.name == "Customer Support Agent").unwrap();
    assert_eq!(
        support.run_as.as_deref(),
        Some(format!("salesforce:user:{}", scenarios::USER_AGENT).as_str())
    );
    assert!(support
        .audience
        .contains(&format!("salesforce:user:{}", scenarios::USER_GUEST)));
    assert_eq!(support.attributes["planner_link"], "bot_metadata");
    let lookup = inv.tools.iter().find(|t| t.name == "Lookup Lead Details").unwrap();
    assert_eq!(lookup.attributes["runs_without_sharing"], true);
    // The guest's permission set grants the class (SetupEntityAccess); the agent user's own
    // access is not a guest's.
    assert_eq!(
        lookup.attributes["guests_with_class_access"],
        json!([scenarios::USERNAME_GUEST])
    );
    let agent_user = inv
        .principals
        .iter()
        .find(|p| p.name == scenarios::USERNAME_AGENT)
        .unwrap();
    assert!(agent_user.attributes["apex_class_access"]
        .as_array()
        .unwrap()
        .contains(&json!(scenarios::CLASS_LEAD_LOOKUP)));
    assert!(support.tools.iter().any(|b| b.tool_id == lookup.id));
    let template = inv.tools.iter().find(|t| t.kind == "prompt_template").unwrap();
    assert_eq!(
        template.attributes["public_free_text_merged"],
        json!(["Lead.Description"])
    );
    let draft = inv.tools.iter().find(|t| t.name == "Draft Follow-up Email").unwrap();
    assert_eq!(
        draft.attributes["prompt_template"], "Lead_Triage_Summary",
        "the 0hf id resolved to its name"
    );
    let lapsed = inv
        .tools
        .iter()
        .find(|t| t.kind == "trusted_url" && t.attributes["registered_domain"] == scenarios::LAPSED_DOMAIN)
        .unwrap();
    assert_eq!(lapsed.attributes["domain_lapsed"], true);
    // The flow behind the flow action, through its active version (§9.3).
    let flow = inv.tools.iter().find(|t| t.name == "Update Opportunity").unwrap();
    assert_eq!(flow.attributes["flow_run_mode"], "SystemModeWithoutSharing");
    assert_eq!(flow.attributes["runs_without_sharing"], true);
    // The planner's third-party A2A agent is a way out of the org, bound to the support agent.
    let partner = inv.tools.iter().find(|t| t.kind == "delegated_agent").unwrap();
    assert_eq!(partner.attributes["third_party"], true);
    assert!(support.tools.iter().any(|b| b.tool_id == partner.id));
    // The external client app reads like a connected app, in its own spelling (§2.8).
    let bridge = inv.principals.iter().find(|p| p.name == "Partner Bot Bridge").unwrap();
    assert_eq!(bridge.attributes["app_kind"], "external_client_app");
    assert_eq!(bridge.attributes["agent_api_scopes"], json!(["Chatbot", "SFAP"]));
    assert_eq!(bridge.attributes["ip_relaxation"], "BYPASS");
    assert_eq!(bridge.attributes["admin_approved_only"], false);
    assert_eq!(bridge.attributes["run_as_modify_or_view_all_data"], true);
    let legacy = inv.principals.iter().find(|p| p.name == "Legacy Integration").unwrap();
    assert_eq!(legacy.attributes["full_scope"], true);
    assert_eq!(legacy.attributes["dormant_tokens"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn pages_follow_next_records_url_on_the_instance() {
    let config = SimConfig {
        page_size: 3,
        ..SimConfig::default()
    };
    let servers = org(config.clone(), "risky").await;
    let c = collector(&jwt_spec(&servers, &config, json!({}))).unwrap();
    let parts = read_all(c.as_ref()).await.unwrap();
    // Twelve builders arrive three to a page: the first with a /composite call, three more
    // pages after it.
    assert_eq!(parts["salesforce.agent_builders"].records.len(), 12);
    assert!(parts["salesforce.agent_builders"].coverage.requests >= 3);
    let stats = control(&servers, "stats", None).await;
    assert!(stats["query_more"].as_u64().unwrap() >= 3, "{stats}");
}

#[tokio::test]
async fn a_scan_stops_at_its_share_of_the_daily_allowance_and_says_so() {
    let config = SimConfig {
        daily_max: 200,
        daily_used: 100,
        ..SimConfig::default()
    };
    let servers = org(config.clone(), "risky").await;
    // 10 % of the 100 requests left: 10.
    let c = collector(&jwt_spec(&servers, &config, json!({}))).unwrap();
    let parts = read_all(c.as_ref()).await.expect("deferring is not a failure");
    let deferred: Vec<&str> = parts
        .values()
        .filter(|p| p.coverage.status == CoverageStatus::Deferred)
        .map(|p| p.coverage.resource.as_str())
        .collect();
    assert!(
        !deferred.is_empty(),
        "a share of 20 requests does not read the whole org"
    );
    assert_eq!(status(&parts, "limits"), CoverageStatus::Collected);
    let reason = parts["salesforce.metadata.settings"]
        .coverage
        .error
        .clone()
        .unwrap_or_default();
    assert!(reason.contains("share of the org's daily API requests"), "{reason}");
    let stats = control(&servers, "stats", None).await;
    let spent = stats["api_used"].as_u64().unwrap() - 100;
    assert!(spent <= 11, "the scan spent {spent} of a 10-request share (+ /limits)");
    // A larger share reads it all.
    let c = collector(&jwt_spec(&servers, &config, json!({"max_daily_share": 100.0}))).unwrap();
    let parts = read_all(c.as_ref()).await.unwrap();
    assert!(parts.values().all(|p| p.coverage.status != CoverageStatus::Deferred));
    // Whatever the share, the last 10 % of the org's allowance is left to its own integrations.
    control(&servers, "budget/1850/2000", None).await;
    let c = collector(&jwt_spec(&servers, &config, json!({"max_daily_share": 100.0}))).unwrap();
    let parts = read_all(c.as_ref()).await.unwrap();
    let reason = parts["salesforce.Organization"]
        .coverage
        .error
        .clone()
        .unwrap_or_default();
    assert!(reason.contains("leaves the last 10 %"), "{reason}");
}

#[tokio::test]
async fn an_exhausted_org_stops_the_scan_and_concurrency_refusals_are_retried() {
    let config = SimConfig::default();
    let servers = org(config.clone(), "clean").await;
    control(&servers, "concurrency_storm/2", None).await;
    let c = collector(&jwt_spec(&servers, &config, json!({}))).unwrap();
    let parts = read_all(c.as_ref()).await.unwrap();
    assert!(parts.values().all(|p| p.coverage.status == CoverageStatus::Collected));
    assert!(
        c.stats().throttled() >= 2,
        "ConcurrentPerOrgLongTxn is throttling, retried"
    );
    // TotalRequests Limit exceeded: the whole scan stops, to be retried later.
    control(&servers, "budget/15000/15000", None).await;
    let c = collector(&jwt_spec(&servers, &config, json!({}))).unwrap();
    match read_all(c.as_ref()).await {
        Err(ApiError::Throttled { status: 403, .. }) => {}
        other => panic!("expected the scan to stop throttled, got {:?}", other.map(|p| p.len())),
    }
}

#[tokio::test]
async fn metadata_faults_are_coverage_gaps_and_jwt_tokens_use_soap_68() {
    let config = SimConfig {
        metadata_access: false,
        ..SimConfig::default()
    };
    let servers = org(config.clone(), "risky").await;
    let c = collector(&jwt_spec(&servers, &config, json!({}))).unwrap();
    let parts = read_all(c.as_ref()).await.unwrap();
    for resource in ["metadata.settings", "metadata.Bot", "metadata.ConnectedApp"] {
        assert_eq!(status(&parts, resource), CoverageStatus::Forbidden, "{resource}");
    }
    let reason = parts["salesforce.metadata.settings"].coverage.error.clone().unwrap();
    assert!(
        reason.contains("INSUFFICIENT_ACCESS") && reason.contains("Modify Metadata"),
        "{reason}"
    );
    assert_eq!(
        status(&parts, "BotDefinition"),
        CoverageStatus::Collected,
        "REST reads go on"
    );

    // JWT-format access tokens: SOAP at v67.0 or lower refuses them (§9.1.1).
    let config = SimConfig {
        jwt_shaped_tokens: true,
        ..SimConfig::default()
    };
    let servers = org(config.clone(), "risky").await;
    let c = collector(&jwt_spec(&servers, &config, json!({}))).unwrap();
    let parts = read_all(c.as_ref()).await.unwrap();
    assert_eq!(status(&parts, "metadata.settings"), CoverageStatus::Collected);
    let log = control(&servers, "requests", None).await;
    let soap: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["path"].as_str())
        .filter(|p| p.contains("/Soap/m/"))
        .collect();
    assert!(
        !soap.is_empty() && soap.iter().all(|p| p.ends_with("/68.0")),
        "{soap:?}"
    );
}

#[tokio::test]
async fn client_credentials_work_on_my_domain_and_are_refused_on_the_login_host() {
    let config = SimConfig::default();
    let servers = org(config.clone(), "clean").await;
    let spec = |login: &str| ConnectionSpec {
        id: "sf".into(),
        provider: "salesforce".into(),
        settings: json!({"login_url": login, "client_id": config.consumer_key, "rdap_url": "off"}),
        secrets: [("client_secret".to_string(), config.consumer_secret.clone())].into(),
    };
    let refused = connectors::verify(&spec(&servers.login.base_url))
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("request not supported on this domain"), "{refused}");
    connectors::verify(&spec(&servers.instance.base_url)).await.unwrap();
    let mut wrong = spec(&servers.instance.base_url);
    wrong.secrets.insert("client_secret".into(), "nope".into());
    let refused = connectors::verify(&wrong).await.unwrap_err().to_string();
    assert!(refused.contains("invalid_client"), "{refused}");
    assert!(!refused.contains("nope"));
}

#[tokio::test]
async fn a_wrong_key_or_user_is_refused_in_the_orgs_words() {
    let config = SimConfig::default();
    let servers = org(config.clone(), "clean").await;
    let mut spec = jwt_spec(&servers, &config, json!({"username": "someone.else@acme.example"}));
    let refused = connectors::verify(&spec).await.unwrap_err().to_string();
    assert!(refused.contains("invalid_grant"), "{refused}");
    spec.secrets.insert(
        "private_key".into(),
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----".into(),
    );
    let err = collector(&spec).err().unwrap().to_string();
    assert!(err.contains("PKCS#8") && !err.contains("AAAA"), "{err}");
    let err = collector(&jwt_spec(&servers, &config, json!({"api_version": "66"})))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("api_version"), "{err}");
    let err = connectors::verify(&jwt_spec(&servers, &config, json!({"api_version": "v70.0"})))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("v70.0 is not offered"), "{err}");
}

#[tokio::test]
async fn tooling_prompt_templates_are_read_where_the_org_serves_them() {
    let config = SimConfig {
        prompt_templates_on_tooling: true,
        ..SimConfig::default()
    };
    let servers = org(config.clone(), "risky").await;
    let c = collector(&jwt_spec(&servers, &config, json!({}))).unwrap();
    let parts = read_all(c.as_ref()).await.unwrap();
    let templates = &parts["salesforce.GenAiPromptTemplate"].records;
    assert!(templates.iter().any(|t| t["DeveloperName"] == "Lead_Triage_Summary"));
    let log = control(&servers, "requests", None).await;
    assert!(!log
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["path"].as_str().unwrap_or("").ends_with("/einstein/prompt-templates")));
}

/// The fewest requests a complete read of `org` can take within what Salesforce documents:
/// 2,000 rows a query page; five data-API queries a `/composite` call (Tooling queries are not
/// documented there); ten components a `readMetadata` call, one type each; `IN` lists of about
/// 170 ids (strings in a WHERE clause stay under 4,000 characters). A lower bound written from
/// the org's records, independently of the connector's plan.
fn fewest_requests(org: &scenarios::Org) -> u64 {
    let pages = |rows: usize| rows.div_ceil(2000).max(1) as u64;
    let lists = |keys: usize| keys.div_ceil(170).max(1) as u64;
    let n = |object: &str| org.tables.rows(object).len();
    let text = |r: &serde_json::Map<String, Value>, f: &str| r.get(f).and_then(Value::as_str).unwrap_or("").to_string();
    let components = |ty: &str| org.metadata.get(ty).map_or(0, Vec::len);
    let distinct = |object: &str, field: &str| {
        org.tables
            .rows(object)
            .iter()
            .map(|r| text(r, field))
            .filter(|v| !v.is_empty())
            .collect::<std::collections::BTreeSet<_>>()
    };
    let builder_sets: Vec<String> = org
        .tables
        .rows("PermissionSet")
        .iter()
        .filter(|s| s.get("PermissionsEinsteinAgentPlatformBuilder") == Some(&json!(true)))
        .map(|s| text(s, "Id"))
        .collect();
    let builders = org
        .tables
        .rows("PermissionSetAssignment")
        .iter()
        .filter(|a| builder_sets.contains(&text(a, "PermissionSetId")))
        .count();
    let active_sites = org
        .tables
        .rows("Site")
        .iter()
        .filter(|s| text(s, "Status") == "Active")
        .count();
    // The versions list and /limits.
    let mut total = 2;
    // Data-API queries that need nothing earlier: one /composite call per five, then their
    // later pages.
    let independent = [
        n("Organization"),
        1, // SELECT COUNT() FROM Lead WHERE LeadSource = 'Web'
        n("BotDefinition"),
        active_sites,
        n("Network"),
        n("MessagingChannel"),
        builders,
        n("CspTrustedSite"),
        n("ConnectedApplication"),
        n("OauthToken"),
    ];
    total += independent.len().div_ceil(5) as u64 + independent.iter().map(|r| pages(*r) - 1).sum::<u64>();
    // Tooling queries, one request a page.
    for object in [
        "GenAiPlannerDefinition",
        "GenAiPluginDefinition",
        "GenAiPlannerFunctionDef",
        "GenAiPluginFunctionDef",
        "GenAiFunctionDefinition",
        "NetworkBotDefinition",
        "EmbeddedServiceConfig",
        "EmbeddedServiceMessagingChannel",
    ] {
        total += pages(n(object));
    }
    // The flows behind flow actions (with their active version, one relationship query), by
    // API name or id, and the agents planners delegate to.
    let flows: std::collections::BTreeSet<String> = org
        .tables
        .rows("GenAiFunctionDefinition")
        .iter()
        .filter(|f| text(f, "InvocationTargetType") == "flow")
        .map(|f| text(f, "InvocationTarget"))
        .collect();
    if !flows.is_empty() {
        total += lists(flows.len());
    }
    total += pages(n("AiPlannerRelatedAgent"));
    // Prompt templates: the Tooling probe that answers INVALID_TYPE, the Connect list (50 a
    // page), listMetadata and readMetadata of their bodies.
    let templates = components("GenAiPromptTemplate");
    total += 1 + templates.div_ceil(50).max(1) as u64 + 1 + templates.div_ceil(10) as u64;
    // Bot metadata and connected apps (listMetadata, then readMetadata), the three settings.
    total += components("Bot").div_ceil(10) as u64;
    for ty in [
        "ConnectedApp",
        "ExtlClntAppOauthSettings",
        "ExtlClntAppOauthConfigurablePolicies",
    ] {
        total += 1 + components(ty).div_ceil(10) as u64;
    }
    total += 3;
    // Apex behind actions by id, the prompt templates' data-provider classes by name.
    let apex_targets: std::collections::BTreeSet<String> = org
        .tables
        .rows("GenAiFunctionDefinition")
        .iter()
        .filter(|f| text(f, "InvocationTargetType") == "apex")
        .map(|f| text(f, "InvocationTarget"))
        .collect();
    total += lists(apex_targets.len()) + 1;
    // The users whose rights matter (agent users, site guests; the client-credentials Run As
    // users by name), their assignments, their sets' object permissions and class access.
    let users = distinct("BotDefinition", "BotUserId").len() + active_sites;
    let by_name = org.metadata.get("ConnectedApp").into_iter().flatten().any(|app| {
        app["oauthConfig"]["oauthClientCredentialUser"]
            .as_str()
            .is_some_and(|u| !u.is_empty())
    }) || org
        .metadata
        .get("ExtlClntAppOauthConfigurablePolicies")
        .into_iter()
        .flatten()
        .any(|p| p["clientCredentialsFlowUser"].as_str().is_some_and(|u| !u.is_empty()));
    total += lists(users) + u64::from(by_name);
    let user_ids = distinct("BotDefinition", "BotUserId");
    let assignments: Vec<&serde_json::Map<String, Value>> = org
        .tables
        .rows("PermissionSetAssignment")
        .iter()
        .filter(|a| user_ids.contains(&text(a, "AssigneeId")))
        .collect();
    total += lists(users).max(pages(assignments.len()));
    let sets: std::collections::BTreeSet<String> = assignments.iter().map(|a| text(a, "PermissionSetId")).collect();
    for object in ["ObjectPermissions", "SetupEntityAccess"] {
        let rows = org
            .tables
            .rows(object)
            .iter()
            .filter(|r| sets.contains(&text(r, "ParentId")))
            .count();
        total += lists(sets.len()).max(pages(rows));
    }
    total
}

/// Point 8: a scan reads an org near the fewest requests Salesforce's paging and batching allow,
/// for the `risky` org and for a generated one of 2,000 agents and 50,000 users.
#[tokio::test]
async fn scans_stay_near_the_fewest_requests_paging_and_batching_allow() {
    let generated = scenarios::generated(2000, 50_000);
    for (label, org) in [
        ("risky org", scenarios::by_name("risky").unwrap()),
        ("generated org (2,000 agents, 50,000 users)", generated),
    ] {
        let fewest = fewest_requests(&org);
        let agents = org.tables.rows("BotDefinition").len();
        let config = SimConfig::default();
        let servers = start(config.clone(), org, 0).await.unwrap();
        let spec = jwt_spec(&servers, &config, json!({}));
        let c = collector(&spec).unwrap();
        let parts = read_all(c.as_ref()).await.unwrap();
        let gaps: Vec<_> = parts
            .values()
            .filter(|p| {
                !matches!(
                    p.coverage.status,
                    CoverageStatus::Collected | CoverageStatus::Unsupported
                )
            })
            .map(|p| (&p.coverage.resource, p.coverage.status, &p.coverage.error))
            .collect();
        assert!(gaps.is_empty(), "{label}: {gaps:#?}");
        let stats = control(&servers, "stats", None).await;
        let api = stats["rest_requests"].as_u64().unwrap() + stats["soap_requests"].as_u64().unwrap();
        assert_eq!(
            api,
            c.stats().requests(),
            "the scan counts what the org counted: {stats}"
        );
        println!(
            "{label}: {api} API requests ({} REST, {} Metadata SOAP), fewest possible {fewest}",
            stats["rest_requests"], stats["soap_requests"]
        );
        assert!(api >= fewest, "{label}: the bound is wrong: {api} < {fewest}");
        assert!(
            api * 100 <= fewest * 110,
            "{label}: {api} requests, more than 10 % above the fewest ({fewest})"
        );
        let inv = c.transform(&parts, &spec.id, "2026-12-02T00:00:00Z");
        assert_eq!(inv.agents.len(), agents, "{label}: every agent read");
    }
}

/// A scan resumed after a restart (a new process, the parts read so far from the store) counts
/// what it spent before against the same share of the daily allowance.
#[tokio::test]
async fn a_resumed_scan_counts_what_it_spent_before_the_restart() {
    let config = SimConfig::default();
    let servers = org(config.clone(), "risky").await;
    let spec = jwt_spec(&servers, &config, json!({}));
    let earlier = |spent: u64| -> Parts {
        let limits = json!({"DailyApiRequests": {"Max": 115000, "Remaining": 100}});
        [
            (
                "salesforce.limits".to_string(),
                ResourcePart::collected("salesforce.limits", vec![limits], 1),
            ),
            (
                "salesforce.Organization".to_string(),
                ResourcePart::collected("salesforce.Organization", Vec::new(), spent),
            ),
        ]
        .into()
    };
    // 10 % of the 100 requests left is 10: the first process spent them all.
    let resumed = collector(&spec).unwrap();
    let part = resumed.fetch("salesforce.CspTrustedSite", &earlier(9)).await.unwrap();
    assert_eq!(part.coverage.status, CoverageStatus::Deferred, "{:?}", part.coverage);
    // Had it spent nothing, the same read goes through.
    let resumed = collector(&spec).unwrap();
    let part = resumed.fetch("salesforce.CspTrustedSite", &earlier(0)).await.unwrap();
    assert_eq!(part.coverage.status, CoverageStatus::Collected, "{:?}", part.coverage);
}
