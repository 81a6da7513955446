//! `cargo bench --bench schedules`: what schedules cost a process (the README quotes it).
//!
//! 1,000 tenants (AISPM_BENCH_TENANTS), each with an hourly scan and a Monday report schedule,
//! in SQLite:
//! 1. an idle pass of the scheduler (nothing due), 200 times: median and slowest, and the
//!    share of one core that is at the default 15-second tick;
//! 2. the pass after downtime with every report schedule due at once: how long until all of
//!    them have fired (each keeps a report), and per schedule.

use chrono::Utc;
use service::schedules::ScheduleKind;
use service::{Caller, Config, EndpointPolicy, Service};
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() {
    let tenants: usize = std::env::var("AISPM_BENCH_TENANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let dir = std::env::temp_dir().join(format!("aispm-bench-schedules-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let svc = Service::open(Config {
        database_url: None,
        data_dir: dir.clone(),
        master_key: None,
        rules_dirs: Vec::new(),
        endpoints: EndpointPolicy::AllowTestEndpoints,
        m365_app: None,
    })
    .await
    .unwrap();
    let started = Instant::now();
    for i in 0..tenants {
        let slug = format!("t{i:04}");
        svc.create_tenant(&Caller::Local, &slug).await.unwrap();
        let scope = svc.scope(&Caller::Local, &slug).await.unwrap();
        svc.set_schedule(&scope, ScheduleKind::Scan, "0 * * * *", "Europe/Berlin")
            .await
            .unwrap();
        svc.set_schedule(&scope, ScheduleKind::Report, "0 7 * * MON", "America/New_York")
            .await
            .unwrap();
    }
    println!(
        "{tenants} tenants, {} schedules set up in {:.1} s",
        tenants * 2,
        started.elapsed().as_secs_f64()
    );

    // 1. Idle passes: the query finds nothing due.
    let now = Utc::now();
    let mut times: Vec<Duration> = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        assert_eq!(svc.run_due_schedules(now).await.unwrap(), 0);
        times.push(t.elapsed());
    }
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "idle scheduler pass: median {:.2} ms, slowest {:.2} ms; at a 15 s tick that is {:.4} % of one core",
        median.as_secs_f64() * 1e3,
        times.last().unwrap().as_secs_f64() * 1e3,
        median.as_secs_f64() / 15.0 * 100.0
    );

    // 2. A week of downtime: every schedule is due; each fires once.
    let later = now + chrono::Duration::days(8);
    let t = Instant::now();
    let mut fired = 0;
    loop {
        let n = svc.run_due_schedules(later).await.unwrap();
        if n == 0 {
            break;
        }
        fired += n;
    }
    let elapsed = t.elapsed();
    assert_eq!(fired, tenants * 2, "every schedule fired exactly once");
    println!(
        "after downtime: {fired} due schedules fired in {:.2} s ({:.2} ms each; scans of tenants without connections fail fast, reports are built and kept)",
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e3 / fired as f64
    );
    let _ = std::fs::remove_dir_all(&dir);
}
