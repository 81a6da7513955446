//! Reports in every format from one model, through the real scan path: a baseline report is
//! kept, the simulated tenants drift (an agent now runs as an admin, an agent is made public,
//! an AI app gets write access to every file), and the next report says what changed. SARIF
//! is validated against the official 2.1.0 schema, OCSF lines are checked for the attributes
//! the Detection Finding class requires, CSV for its documented columns, the HTML for being
//! self-contained, and the PDF's pages are rendered to PNG (pdftoppm), decoded and read back.

use service::report::{csv::COLUMNS, Format, Report};
use service::{Caller, Config, EndpointPolicy, NewConnection, Service, TenantScope};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

struct TempDir(PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn scan(svc: &Service, scope: &TenantScope) {
    let started = svc.start_scan(scope).await.unwrap();
    let ids: Vec<String> = started.into_iter().map(|s| s.scan_id).collect();
    let outcome = svc
        .wait_for_scans(scope, &ids, Duration::from_secs(120), |_| {})
        .await
        .unwrap();
    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
}

async fn switch(sim: &sandbox::SimulatedConnection, scenario: &str) {
    let answer = reqwest::Client::new()
        .post(format!("{}/__sandbox/scenario/{scenario}", sim.server.base_url))
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success());
}

/// The official SARIF 2.1.0 schema, from the serde-sarif package cargo downloaded: found in
/// cargo's registry sources (`cargo metadata --offline` would need every platform's
/// dependencies downloaded, which a fresh machine does not have).
fn sarif_schema() -> serde_json::Value {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(&std::env::var_os("HOME").expect("HOME is set")).join(".cargo"));
    let registries = std::fs::read_dir(cargo_home.join("registry/src")).expect("cargo's registry sources");
    let path = registries
        .flatten()
        .flat_map(|registry| std::fs::read_dir(registry.path()).into_iter().flatten().flatten())
        .filter(|p| p.file_name().to_string_lossy().starts_with("serde-sarif-0.8"))
        .map(|p| p.path().join("src/schema.json"))
        .find(|p| p.exists())
        .expect("serde-sarif 0.8 (a dev-dependency) is in cargo's registry sources");
    let schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        schema["title"],
        "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema",
        "{}",
        path.display()
    );
    schema
}

/// CSV records (RFC 4180: quoted fields may hold commas, quotes and line breaks).
fn csv_records(text: &str) -> Vec<Vec<String>> {
    let (mut records, mut record, mut field) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    records
}

/// Whether the PDF tools are here; CI installs them and sets AISPM_REQUIRE_PDF_TOOLS.
fn pdf_tools() -> bool {
    let here = std::process::Command::new("pdftoppm").arg("-v").output().is_ok();
    if !here {
        assert!(
            std::env::var_os("AISPM_REQUIRE_PDF_TOOLS").is_none(),
            "AISPM_REQUIRE_PDF_TOOLS is set but pdftoppm (poppler-utils) is missing"
        );
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "skipped: pdftoppm (poppler-utils) is not installed, so the PDF pages were not rendered"
        );
    }
    here
}

/// Renders the PDF's pages to PNG (pdftoppm) and returns each page's share of dark pixels.
fn page_ink(pdf: &Path, dir: &Path) -> Vec<f64> {
    let out = std::process::Command::new("pdftoppm")
        .args(["-png", "-r", "30"])
        .arg(pdf)
        .arg(dir.join("page"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut pages: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    pages.sort();
    pages
        .iter()
        .map(|p| {
            let file = std::io::BufReader::new(std::fs::File::open(p).unwrap());
            let mut reader = png::Decoder::new(file).read_info().unwrap();
            let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
            let info = reader.next_frame(&mut pixels).unwrap();
            let channels = match info.color_type {
                png::ColorType::Grayscale => 1,
                png::ColorType::Rgb => 3,
                png::ColorType::Rgba => 4,
                other => panic!("{}: {other:?}", p.display()),
            };
            assert_eq!(info.bit_depth, png::BitDepth::Eight);
            assert!(info.width > 200 && info.height > info.width, "an A4 page: {info:?}");
            let pixels = &pixels[..info.buffer_size()];
            let dark = pixels
                .chunks(channels)
                .filter(|px| px.iter().take(3).map(|&v| v as u32).sum::<u32>() / (px.len().min(3) as u32) < 200)
                .count();
            dark as f64 / (pixels.len() / channels).max(1) as f64
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_format_renders_the_drifted_tenant_from_one_model() {
    let dir = TempDir(std::env::temp_dir().join(format!("aispm-reports-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    let svc = Service::open(Config {
        database_url: None,
        data_dir: dir.0.join("data"),
        master_key: None,
        rules_dirs: Vec::new(),
        endpoints: EndpointPolicy::AllowTestEndpoints,
        m365_app: None,
    })
    .await
    .unwrap();
    svc.create_tenant(&Caller::Local, "acme").await.unwrap();
    let scope = svc.scope(&Caller::Local, "acme").await.unwrap();
    let sims = [
        sandbox::servicenow::simulated_connection("clean").await.unwrap(),
        sandbox::m365::simulated_connection("clean").await.unwrap(),
    ];
    for sim in &sims {
        svc.connect(
            &scope,
            NewConnection {
                provider: sim.provider.into(),
                label: sim.label.clone(),
                settings: sim.settings.clone(),
                secrets: sim.secrets.clone(),
            },
        )
        .await
        .unwrap();
    }
    scan(&svc, &scope).await;
    let first = svc.report(&scope).await.unwrap();
    assert_eq!(
        first.changes.as_ref().unwrap().since,
        None,
        "the first scan is a baseline"
    );
    svc.keep_report(&scope, "manual").await.unwrap();
    for sim in &sims {
        switch(sim, "drifted").await;
    }
    scan(&svc, &scope).await;
    let out = dir.0.join("out");
    let written = svc.write_report(&scope, &out, &Format::ALL).await.unwrap();
    assert_eq!(written.len(), 7);

    // The model: what changed since the kept report.
    let report = Report::from_json(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let changes = report.changes.as_ref().unwrap();
    assert_eq!(changes.since_what, "the last report");
    let opened: BTreeSet<&str> = changes
        .opened
        .iter()
        .filter_map(|p| report.finding(p))
        .map(|f| f.rule_id.as_str())
        .collect();
    for rule in ["SNOW-001", "SNOW-006", "M365-APP-002"] {
        assert!(opened.contains(rule), "{rule} is new since the last report: {opened:?}");
    }
    assert!(changes.risk_changes.len() >= 3, "{:#?}", changes.risk_changes);
    let posture = report.posture.as_ref().unwrap();
    assert!(posture.score < 100 && posture.checks_failed > 0, "{posture:?}");
    let open: Vec<&schemas::Finding> = report.open_findings().collect();
    assert!(!open.is_empty());

    // SARIF 2.1.0, valid against the official schema, one result per open finding.
    let sarif: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("report.sarif")).unwrap()).unwrap();
    let mut schema = sarif_schema();
    // The official schema's two `language` patterns (run, toolComponent) have a stray ']'
    // that ECMA-262 regex syntax (which JSON Schema validators check patterns against)
    // rejects; we emit no `language`, so the intended pattern stands in and nothing else
    // changes.
    fn fix_language(v: &mut serde_json::Value, fixed: &mut usize) {
        match v {
            serde_json::Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    if key == "pattern" && child == "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$" {
                        *child = "^[a-zA-Z]{2}(-[a-zA-Z]{2})?$".into();
                        *fixed += 1;
                    } else {
                        fix_language(child, fixed);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|i| fix_language(i, fixed)),
            _ => {}
        }
    }
    let mut fixed = 0;
    fix_language(&mut schema, &mut fixed);
    assert_eq!(fixed, 2, "the schema as published");
    let validator = jsonschema::validator_for(&schema).expect("the SARIF schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF is valid against the 2.1.0 schema: {errors:#?}"
    );
    let typed: serde_sarif::sarif::Sarif = serde_json::from_value(sarif.clone()).expect("reads as typed SARIF");
    assert_eq!(typed.runs.len(), 1);
    let run = &sarif["runs"][0];
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), open.len());
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let rule_ids: BTreeSet<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(rule_ids.len(), rules.len(), "one rule per rule id");
    for r in rules {
        assert!(r["properties"]["security-severity"]
            .as_str()
            .unwrap()
            .parse::<f64>()
            .is_ok());
        assert!(!r["help"]["text"].as_str().unwrap().is_empty());
    }
    for res in results {
        let index = res["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], res["ruleId"]);
        assert!(res["locations"][0]["logicalLocations"][0]["name"].is_string());
    }

    // OCSF Detection Finding lines with the required attributes and the lifecycle.
    let lines = std::fs::read_to_string(out.join("findings.ocsf.jsonl")).unwrap();
    let events: Vec<serde_json::Value> = lines.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(events.len(), report.findings.len());
    for e in &events {
        for required in [
            "activity_id",
            "category_uid",
            "class_uid",
            "finding_info",
            "metadata",
            "severity_id",
            "time",
            "type_uid",
        ] {
            assert!(!e[required].is_null(), "{required} missing: {e}");
        }
        assert_eq!(
            (e["class_uid"].as_u64(), e["category_uid"].as_u64()),
            (Some(2004), Some(2))
        );
        assert_eq!(
            e["type_uid"].as_u64().unwrap(),
            200400 + e["activity_id"].as_u64().unwrap()
        );
        assert_eq!(e["metadata"]["version"], "1.3.0");
        assert!(e["metadata"]["product"]["name"].is_string());
        assert!(e["finding_info"]["title"].is_string());
        assert!(e["time"].as_i64().unwrap() > 1_700_000_000_000);
    }
    let uids: BTreeSet<&str> = events
        .iter()
        .map(|e| e["finding_info"]["uid"].as_str().unwrap())
        .collect();
    let prints: BTreeSet<&str> = report.findings.iter().map(|f| f.fingerprint.as_str()).collect();
    assert_eq!(uids, prints, "finding_info.uid is the fingerprint");
    for e in &events {
        let print = e["finding_info"]["uid"].as_str().unwrap();
        let new = changes.opened.iter().chain(&changes.reopened).any(|p| p == print);
        let expected = if new { (1, 1) } else { (2, 2) };
        assert_eq!(
            (e["activity_id"].as_u64().unwrap(), e["status_id"].as_u64().unwrap()),
            expected,
            "{e}"
        );
    }

    // CSV: the documented columns, one record per finding.
    let records = csv_records(&std::fs::read_to_string(out.join("findings.csv")).unwrap());
    assert_eq!(records[0], COLUMNS.map(String::from).to_vec());
    assert_eq!(records.len() - 1, report.findings.len());
    assert!(records[1..].iter().all(|r| r.len() == COLUMNS.len()));

    // HTML: self-contained, with the sections a reader needs.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    for needle in [
        "Executive summary",
        "The risks that matter most",
        "What changed since the last report",
        "now runs as jane.admin",
        "Exposure paths",
        "OWASP Top 10 for LLM Applications 2025",
        "OWASP Top 10 for Agentic Applications",
        "MITRE ATLAS",
        "NIST AI Risk Management Framework",
        "What we could not see, and why",
        "Record Operations Agent",
        "@media print",
    ] {
        assert!(html.contains(needle), "{needle:?} in the HTML report");
    }
    assert!(html.matches("<svg").count() >= 4, "charts drawn inline");
    for outside in ["<script", "<link", "src=\"http", "url(http", "@import"] {
        assert!(!html.contains(outside), "the HTML loads nothing: {outside}");
    }

    // PDF: the same content, its pages rendered and read back.
    let pdf = out.join("report.pdf");
    assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF-"));
    if pdf_tools() {
        let pages = dir.0.join("pages");
        std::fs::create_dir_all(&pages).unwrap();
        let ink = page_ink(&pdf, &pages);
        assert!(ink.len() >= 4, "{} pages", ink.len());
        assert!(ink.iter().all(|&i| i > 0.005), "no blank page: {ink:?}");
        let text = std::process::Command::new("pdftotext")
            .arg(&pdf)
            .arg("-")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&text.stdout);
        for needle in [
            "Executive summary",
            "What changed since the last report",
            "jane.admin",
            "Exposure paths",
        ] {
            assert!(text.contains(needle), "{needle:?} in the PDF");
        }
    }

    // For looking at them (the README's pictures come from here).
    if let Some(keep) = std::env::var_os("AISPM_KEEP_REPORTS") {
        std::fs::create_dir_all(&keep).unwrap();
        for path in &written {
            std::fs::copy(path, Path::new(&keep).join(path.file_name().unwrap())).unwrap();
        }
    }

    // A kept report renders in every format later, from its stored model.
    let id = svc.keep_report(&scope, "manual").await.unwrap();
    for format in Format::ALL {
        let (bytes, _, name) = svc.kept_report_as(&scope, &id, format).await.unwrap();
        assert!(!bytes.is_empty() && name.starts_with("aispm-acme-"), "{format:?}");
    }
}
