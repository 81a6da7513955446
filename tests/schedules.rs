//! Schedules across processes: three `aispm worker` processes on one database fire each due
//! time of a schedule exactly once (the claim is a compare-and-swap in the database).

use service::{Caller, Config, EndpointPolicy, Service};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;
use tokio::process::Command;

struct Env {
    dir: PathBuf,
    database_url: Option<String>,
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Env {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_aispm"));
        c.args(args)
            .env("AISPM_DATA_DIR", self.dir.join("data"))
            .env_remove("AISPM_MASTER_KEY")
            .env("AISPM_SCHEDULE_TICK_SECS", "0.2")
            .kill_on_drop(true);
        match &self.database_url {
            Some(url) => c.env("AISPM_DATABASE_URL", url),
            None => c.env_remove("AISPM_DATABASE_URL"),
        };
        c
    }

    async fn run(&self, args: &[&str]) -> String {
        let out = self.cmd(args).output().await.unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

async fn three_workers_fire_each_due_time_once(e: Env) {
    e.run(&["tenant", "add", "acme"]).await;
    // A report every two seconds (six fields: seconds first).
    e.run(&["schedule", "set", "--tenant", "acme", "--report", "*/2 * * * * *"])
        .await;
    let mut workers: Vec<_> = (0..3)
        .map(|_| {
            e.cmd(&["worker"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(9)).await;
    for w in &workers {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &w.id().unwrap().to_string()])
            .status();
    }
    for w in &mut workers {
        let status = tokio::time::timeout(Duration::from_secs(20), w.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(status.success(), "a worker stops cleanly on SIGTERM: {status}");
    }
    let mut config = Config::from_env(
        e.database_url.clone(),
        e.dir.join("data"),
        EndpointPolicy::AllowTestEndpoints,
    );
    config.master_key = None;
    let svc = Service::open(config).await.unwrap();
    let scope = svc.scope(&Caller::Local, "acme").await.unwrap();
    let reports = svc.kept_reports(&scope, 100).await.unwrap();
    let due: BTreeSet<&str> = reports.iter().map(|r| r.trigger.as_str()).collect();
    assert_eq!(due.len(), reports.len(), "one report per due time: {reports:#?}");
    // Nine seconds of an every-two-seconds schedule (less the workers' start).
    assert!((2..=5).contains(&reports.len()), "{reports:#?}");
    let listed = e.run(&["schedule", "list", "--tenant", "acme"]).await;
    assert!(listed.contains("*/2 * * * * *") && listed.contains("kept"), "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_on_sqlite_fire_each_due_time_once() {
    let dir = std::env::temp_dir().join(format!("aispm-schedules-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    three_workers_fire_each_due_time_once(Env {
        dir,
        database_url: None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_on_postgres_fire_each_due_time_once() {
    let Ok(server) = std::env::var("AISPM_TEST_POSTGRES_URL") else {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "skipped: AISPM_TEST_POSTGRES_URL is not set, so the PostgreSQL schedule test did not run"
        );
        return;
    };
    use sea_orm::{ConnectionTrait, Database};
    let server = server.trim_end_matches('/').to_string();
    let name = format!("aispm_schedules_{}", std::process::id());
    let admin = Database::connect(format!("{server}/postgres")).await.unwrap();
    let _ = admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await;
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!("aispm-schedules-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    three_workers_fire_each_due_time_once(Env {
        dir,
        database_url: Some(format!("{server}/{name}")),
    })
    .await;
    let _ = admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await;
}
