//! `cargo bench --bench posture`: the figures the README quotes.
//!
//! 1. Rule evaluation (all built-in rules, resource and path) on a generated ServiceNow tenant
//!    of 50,000 users, 5,000 agents and 200,000 role assignments.
//! 2. A scan through the queue against the simulator with a set rate limit: wall time against
//!    the lower bound (requests made / allowed rate), and the number of requests.
//!
//! 3. A scan of a generated Google Workspace domain of 20,000 users through the queue (`--
//!    google` runs it alone): requests, wall time against requests / rate, progress, memory.
//!
//! Options (environment): AISPM_BENCH_USERS, AISPM_BENCH_AGENTS, AISPM_BENCH_ROLES_PER_USER,
//! AISPM_BENCH_SCAN_AGENTS, AISPM_BENCH_RPS, AISPM_BENCH_GW_USERS, AISPM_BENCH_GW_RPS.

use engine::{evaluate, Outcome, RuleSet};
use schemas::*;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l.to_string()))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn coverage(resource: &str) -> Coverage {
    Coverage {
        resource: format!("servicenow.{resource}"),
        status: CoverageStatus::Collected,
        evidence: Evidence::Api,
        requests: 1,
        records: 1,
        error: None,
    }
}

/// A large tenant in the normalized model, shaped like a ServiceNow instance.
fn large_tenant(users: usize, agents: usize, roles_per_user: usize) -> Inventory {
    const ROLES: &[&str] = &[
        "itil",
        "user",
        "snc_internal",
        "knowledge",
        "approver_user",
        "catalog",
        "admin",
        "security_admin",
    ];
    let mut inv = Inventory {
        provider: "servicenow".into(),
        connection_id: "bench".into(),
        collected_at: "2026-11-24T00:00:00Z".into(),
        ..Default::default()
    };
    inv.principals.push(Principal {
        id: "servicenow:anonymous".into(),
        kind: PrincipalKind::Anonymous,
        name: "Public".into(),
        privileged: false,
        roles: vec![],
        attributes: Default::default(),
    });
    inv.principals.push(Principal {
        id: "servicenow:authenticated_users".into(),
        kind: PrincipalKind::AuthenticatedUsers,
        name: "Any user".into(),
        privileged: false,
        roles: vec![],
        attributes: Default::default(),
    });
    for role in ROLES {
        inv.principals.push(Principal {
            id: format!("servicenow:role:{role}"),
            kind: PrincipalKind::Role,
            name: (*role).into(),
            privileged: role.contains("admin"),
            roles: vec![(*role).into()],
            attributes: Default::default(),
        });
    }
    inv.data_stores.push(DataStore {
        id: "servicenow:instance".into(),
        kind: "servicenow_instance".into(),
        name: "All records".into(),
        sensitivity: Some("restricted".into()),
        external_sharing: None,
        attributes: Default::default(),
    });
    for table in ["incident", "kb_knowledge", "sys_user", "sn_hr_core_case", "*"] {
        inv.data_stores.push(DataStore {
            id: format!("servicenow:table:{table}"),
            kind: "servicenow_table".into(),
            name: table.into(),
            sensitivity: Some(
                if table == "incident" || table == "kb_knowledge" {
                    "internal"
                } else {
                    "confidential"
                }
                .into(),
            ),
            external_sharing: None,
            attributes: [("user_written".to_string(), json!(table == "incident"))]
                .into_iter()
                .collect(),
        });
    }
    for u in 0..users {
        let roles: Vec<String> = (0..roles_per_user)
            .map(|k| ROLES[(u * 7 + k * 3) % ROLES.len()].to_string())
            .collect();
        let privileged = roles.iter().any(|r| r.contains("admin"));
        for role in &roles {
            inv.grants.push(Grant {
                holder: format!("u:{u}"),
                target: "servicenow:instance".into(),
                permission: role.clone(),
                level: if role.contains("admin") {
                    Level::Admin
                } else {
                    Level::Read
                },
                scope: "tenant".into(),
                consent: None,
            });
        }
        inv.principals.push(Principal {
            id: format!("u:{u}"),
            kind: if u % 50 == 0 {
                PrincipalKind::ServiceAccount
            } else {
                PrincipalKind::User
            },
            name: format!("user{u}"),
            privileged,
            roles,
            attributes: [
                ("web_service_access_only".to_string(), json!(u % 50 == 0)),
                (
                    "identity_type".to_string(),
                    json!(if u % 50 == 0 { "machine" } else { "human" }),
                ),
            ]
            .into_iter()
            .collect(),
        });
    }
    let tool_kinds = [
        ("crud", vec![Capability::Read], "incident"),
        ("crud", vec![Capability::Write], "incident"),
        ("action", vec![Capability::Write, Capability::SendExternal], ""),
        ("rag", vec![Capability::Read], "kb_knowledge"),
        (
            "script",
            vec![Capability::Read, Capability::Write, Capability::ExecuteCode],
            "",
        ),
        ("crud", vec![Capability::Write], "*"),
    ];
    let tools = agents / 2 + 1;
    for t in 0..tools {
        let (kind, caps, target) = &tool_kinds[t % tool_kinds.len()];
        inv.tools.push(Tool {
            id: format!("tool:{t}"),
            kind: (*kind).into(),
            name: format!("tool {t}"),
            capabilities: caps.clone(),
            capabilities_unknown: None,
            targets: if target.is_empty() {
                vec![]
            } else {
                vec![format!("servicenow:table:{target}")]
            },
            active: true,
            attributes: [("script_uses_glide_record".to_string(), json!(t % 11 == 0))]
                .into_iter()
                .collect(),
        });
    }
    for a in 0..agents {
        let fixed = a % 5 == 0;
        let bindings: Vec<ToolBinding> = (0..3)
            .map(|k| ToolBinding {
                tool_id: format!("tool:{}", (a * 3 + k) % tools),
                autonomy: if (a + k) % 4 == 0 {
                    Autonomy::Autonomous
                } else {
                    Autonomy::Supervised
                },
                active: true,
                attributes: [("max_auto_executions".to_string(), json!(((a + k) % 10) as i64))]
                    .into_iter()
                    .collect(),
            })
            .collect();
        let audience = match a % 20 {
            0 => vec!["servicenow:anonymous".to_string()],
            1..=5 => vec!["servicenow:authenticated_users".to_string()],
            n => vec![format!("servicenow:role:{}", ROLES[n % ROLES.len()])],
        };
        inv.agents.push(Agent {
            id: format!("agent:{a}"),
            kind: if a % 10 == 9 {
                "now_assist_workflow"
            } else {
                "now_assist_agent"
            }
            .into(),
            name: format!("agent {a}"),
            owner: None,
            identity: if fixed {
                RunIdentity::Fixed
            } else {
                RunIdentity::Invoker
            },
            run_as: fixed.then(|| format!("u:{}", (a * 13) % users)),
            role_mask: if a % 3 == 0 { None } else { Some(vec!["itil".into()]) },
            audience,
            audience_unknown: false,
            channels: vec!["now_assist_panel".into(), "virtual_agent".into()],
            autonomy: if a % 7 == 0 {
                Autonomy::Autonomous
            } else {
                Autonomy::Supervised
            },
            tools: bindings,
            knowledge: vec!["servicenow:table:incident".into()],
            teams: vec![format!("team:{}", a / 10)],
            active: a % 13 != 0,
            last_used: if a % 17 == 0 {
                None
            } else {
                Some("2026-11-20T00:00:00Z".into())
            },
            attributes: [
                ("public_flag".to_string(), json!(false)),
                ("has_own_acl".to_string(), json!(a % 9 != 0)),
                ("role_mask_has_elevated".to_string(), json!(a % 23 == 0)),
                ("reads_user_content".to_string(), json!(a % 2 == 0)),
            ]
            .into_iter()
            .collect(),
        });
    }
    for i in 0..(agents / 10) {
        inv.untrusted_inputs.push(UntrustedInput {
            id: format!("trigger:{i}"),
            kind: "record_trigger".into(),
            name: format!("trigger {i}"),
            reaches: vec![format!("agent:{}", i * 10 + 9)],
            unauthenticated: false,
            attributes: [("user_written_content".to_string(), json!(true))]
                .into_iter()
                .collect(),
        });
    }
    inv.untrusted_inputs.push(UntrustedInput {
        id: "records:incident".into(),
        kind: "end_user_ticket_field".into(),
        name: "incident text".into(),
        reaches: (0..agents).step_by(2).map(|a| format!("agent:{a}")).collect(),
        unauthenticated: false,
        attributes: Default::default(),
    });
    for (k, v) in [
        ("sn_aia.enable_usecase_tool_execution_mode_override", "true"),
        ("identity.agent.role_masking.enabled", "true"),
        ("com.glide.one_extend.include_default_roles_for_skill_acl", "false"),
        ("sn_aia.external_agent_guardian_check", "true"),
        ("mcp_guardian_check", "true"),
        ("sn_aia.external_agents.enabled", "false"),
        ("glide.basicauth.required.api", "true"),
        ("glide.oauth.inbound.ropc.grant_type.disabled", "true"),
        ("glide.ai_record_activity.validation.feature.enabled", "true"),
        ("sn_itsm_aia.office_365_group_member_approval.required", "true"),
        ("sn_aia.ltm.enable_long_term_memory", "false"),
        ("sn_aia.enable_episodic_memory", "true"),
        ("sn_aia.allow_context_sharing", "true"),
        ("com.sn.generative.ai.log_prompt", "true"),
        ("glide.voice.authenticate.mfa_mandatory", "true"),
        ("glide.voice.authenticate.allow_kba_as_only_factor", "false"),
        ("sn_aia.continuous_tool_execution_limit", "7"),
        ("sn_nowassist_va.router_redirect_va_agentic", "ROUTER_DECISION"),
        ("sn_aia_property.kill_switch.mode", "warn_only"),
    ] {
        inv.settings.push(AiSetting {
            key: format!("servicenow.{k}"),
            value: json!(v),
            scope: "instance".into(),
            source: SettingSource::Explicit,
            evidence: Evidence::Api,
            as_of: None,
        });
    }
    for (k, v) in [
        ("installed_apps", json!({"sn_aia": "5.2.19"})),
        ("acl.wildcard_gen_ai_permissive", json!(true)),
        (
            "llm_providers",
            json!([{"provider": "Now LLM Service", "external": false, "active": true}]),
        ),
        ("external_agent_configurations", json!(0)),
        ("va.public_web_client", json!(true)),
        ("mcp_tools_present", json!(false)),
    ] {
        inv.settings.push(AiSetting {
            key: format!("servicenow.{k}"),
            value: v,
            scope: "instance".into(),
            source: SettingSource::Explicit,
            evidence: Evidence::Api,
            as_of: None,
        });
    }
    inv.coverage = [
        "sys_store_app",
        "sys_properties",
        "sn_aia_property",
        "sn_aia_agent",
        "sn_aia_agent_config",
        "sn_aia_tool",
        "sn_aia_agent_tool_m2m",
        "sn_aia_usecase",
        "sn_aia_usecase_config_override",
        "sn_aia_team",
        "sn_aia_team_member",
        "sn_aia_trigger_configuration",
        "sys_agent_access_role_configuration",
        "sys_agent_access_role_mapping",
        "sn_aia_external_agent_configuration",
        "sys_security_acl",
        "sys_security_acl_role",
        "sys_user_role",
        "sys_user",
        "sys_user_has_role",
        "sys_generative_ai_provider_mapping",
        "sn_nowassist_skill_config",
        "sys_cs_provider",
        "sys_cs_provider_application",
        "sys_public",
        "sn_aia_execution_plan",
    ]
    .iter()
    .map(|r| coverage(r))
    .collect();
    inv
}

fn bench_engine() {
    let users = env_usize("AISPM_BENCH_USERS", 50_000);
    let agents = env_usize("AISPM_BENCH_AGENTS", 5_000);
    let roles_per_user = env_usize("AISPM_BENCH_ROLES_PER_USER", 4);
    let rules = RuleSet::builtin().expect("built-in rules");
    let started = Instant::now();
    let inv = large_tenant(users, agents, roles_per_user);
    let generated = started.elapsed();
    println!(
        "engine: {users} users, {agents} agents, {} role assignments, {} tools, {} rules (generated in {:.2} s)",
        inv.grants.len(),
        inv.tools.len(),
        rules.rules.len(),
        generated.as_secs_f64()
    );
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..3 {
        let t = Instant::now();
        let eval = evaluate(&rules, std::slice::from_ref(&inv), chrono::Utc::now());
        times.push(t.elapsed());
        last = Some(eval);
    }
    times.sort();
    let eval = last.unwrap();
    println!(
        "engine: evaluate min {:.2} s, median {:.2} s, max {:.2} s over 3 runs; {} results ({} fail, {} pass, {} not assessed), {} findings ({} with paths); peak RSS {:.0} MiB",
        times[0].as_secs_f64(),
        times[1].as_secs_f64(),
        times[2].as_secs_f64(),
        eval.results.len(),
        eval.count(Outcome::Fail),
        eval.count(Outcome::Pass),
        eval.count(Outcome::NotAssessed),
        eval.findings.len(),
        eval.findings.iter().filter(|f| f.path.is_some()).count(),
        peak_rss_mib()
    );
    // The one-line summary (median time; the peak is the whole process's so far).
    println!(
        "engine: {} principals, {} agents, {} grants, {} rules: {:.2} s, {:.0} MiB peak",
        inv.principals.len(),
        inv.agents.len(),
        inv.grants.len(),
        rules.rules.len(),
        times[1].as_secs_f64(),
        peak_rss_mib()
    );
}

/// A queue and store of their own in a temporary directory, with one tenant.
async fn bench_runtime(dir: &std::path::Path) -> (Arc<jobs::Runtime>, String) {
    std::fs::create_dir_all(dir).unwrap();
    let store = store::Store::open(&format!("sqlite://{}?mode=rwc", dir.join("bench.db").display()))
        .await
        .unwrap();
    let queue = jobs::Queue::for_store(&store).await.unwrap();
    let rt = Arc::new(jobs::Runtime {
        store,
        secrets: store::SecretBox::from_key([1; 32]),
        rules: Arc::new(RuleSet::builtin().unwrap()),
        queue,
    });
    let tenant = rt.store.add_tenant("bench").await.unwrap();
    (rt, tenant.id)
}

/// Connects `provider` with `settings` and `secrets`, scans it through the queue and waits for
/// the end; returns the scan, its wall time and how many times its request count moved while
/// it ran (the progress a person watching would see).
async fn queued_scan(
    rt: &Arc<jobs::Runtime>,
    tenant_id: &str,
    provider: &str,
    settings: &serde_json::Value,
    secrets: BTreeMap<String, String>,
) -> (store::entities::scan::Model, Duration, usize) {
    use store::ScanStatus;
    let id = store::new_id();
    let sealed = rt
        .secrets
        .seal(&store::SealContext::new(&id, tenant_id, provider, settings), &secrets);
    rt.store
        .add_connection(&id, tenant_id, provider, provider, settings, sealed)
        .await
        .unwrap();
    let scan = rt.store.create_scan(tenant_id, &id).await.unwrap();
    let started = Instant::now();
    rt.queue
        .push_collect(jobs::CollectJob {
            scan_id: scan.id.clone(),
        })
        .await
        .unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let workers = tokio::spawn(jobs::run_workers(rt.clone(), async {
        let _ = rx.await;
    }));
    let mut moves = 0;
    let mut last = 0;
    let done = loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let s = rt.store.scan(&scan.id).await.unwrap();
        if s.requests != last {
            moves += 1;
            last = s.requests;
        }
        if s.status == ScanStatus::Completed || s.status == ScanStatus::Failed {
            break s;
        }
    };
    let wall = started.elapsed();
    tx.send(()).unwrap();
    let _ = workers.await;
    (done, wall, moves)
}

async fn sim_stats(base: &str) -> serde_json::Value {
    reqwest::get(format!("{base}/__sandbox/stats"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A scan of a generated ServiceNow instance through the queue, against a simulator limited
/// to `AISPM_BENCH_RPS` requests a second, with the client paced at `client_rps`: above
/// the simulator's limit the instance answers 429 + Retry-After and the client must recover.
async fn bench_scan(client_rps: u32) {
    use sandbox::servicenow::{self, scenarios, RateLimit, SimConfig};
    let scan_agents = env_usize("AISPM_BENCH_SCAN_AGENTS", 2_000);
    let rps = env_usize("AISPM_BENCH_RPS", 10) as u32;
    let config = SimConfig {
        rate_limit: Some(RateLimit {
            limit: rps,
            window: Duration::from_secs(1),
        }),
        ..SimConfig::default()
    };
    let server = servicenow::start(config.clone(), scenarios::generated(scan_agents), 0)
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!("aispm-bench-{}-{client_rps}", std::process::id()));
    let (rt, tenant) = bench_runtime(&dir).await;
    let settings = json!({"instance_url": server.base_url, "client_id": config.client_id, "max_rps": client_rps as f64, "page_size": 500, "budget_share": 1.0});
    let secrets = BTreeMap::from([("client_secret".to_string(), config.client_secret.clone())]);
    let (done, wall, _) = queued_scan(&rt, &tenant, "servicenow", &settings, secrets).await;
    let stats = sim_stats(&server.base_url).await;
    // Refused requests cost nothing against the limit; the floor is the accepted ones / rate.
    let accepted = done.requests as f64 - stats["throttled"].as_f64().unwrap_or(0.0);
    let bound = accepted / rps as f64;
    println!(
        "scan: {scan_agents} generated agents, simulator limit {rps} requests/s, client --max-rps {client_rps}, status {}: {} requests ({} refused with 429), wall {:.2} s, lower bound {:.2} s (accepted requests / allowed rate), overhead {:+.0}%",
        done.status,
        done.requests,
        stats["throttled"],
        wall.as_secs_f64(),
        bound,
        (wall.as_secs_f64() / bound - 1.0) * 100.0
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A generated Google Workspace domain through the queue: the per-user token reads are the
/// heavy part (one request per active user, eight in flight under the client's pace).
async fn bench_google_scan() {
    use sandbox::google_workspace::{key_file, scenarios, start, SimConfig};
    let users = env_usize("AISPM_BENCH_GW_USERS", 20_000);
    let rps = env_usize("AISPM_BENCH_GW_RPS", 400) as f64;
    let server = start(SimConfig::default(), scenarios::generated(users), 0)
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!("aispm-bench-gw-{}", std::process::id()));
    let (rt, tenant) = bench_runtime(&dir).await;
    let settings =
        json!({"admin_email": sandbox::google_workspace::ADMIN_EMAIL, "api_base_url": server.base_url, "max_rps": rps});
    let secrets = BTreeMap::from([("service_account_key".to_string(), key_file(&server.base_url))]);
    let (done, wall, moves) = queued_scan(&rt, &tenant, "google_workspace", &settings, secrets).await;
    let stats = sim_stats(&server.base_url).await;
    println!(
        "google: {users} generated users, client --max-rps {rps}, status {}: {} requests ({} token requests, {} violations), wall {:.1} s, lower bound {:.1} s (requests / rate), progress moved {moves} times, peak RSS {:.0} MiB (simulator included)",
        done.status,
        done.requests,
        stats["token_requests"],
        stats["violations"].as_array().map(Vec::len).unwrap_or(0),
        wall.as_secs_f64(),
        done.requests as f64 / rps,
        peak_rss_mib()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing useful: run only under bench.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    println!(
        "machine: {} cores, {}",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        std::env::consts::ARCH
    );
    // `cargo bench --bench posture -- google` (or `-- engine`) runs that part alone.
    let only = |name: &str| std::env::args().skip(1).any(|a| a == name);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    if only("google") {
        runtime.block_on(bench_google_scan());
        return;
    }
    if only("engine") {
        bench_engine();
        return;
    }
    bench_engine();
    let rps = env_usize("AISPM_BENCH_RPS", 10) as u32;
    runtime.block_on(bench_scan(rps));
    runtime.block_on(bench_scan(rps * 2));
    runtime.block_on(bench_google_scan());
}
