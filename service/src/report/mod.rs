//! The posture report: one model, built once from the store ([`Service::report`]) and kept as
//! JSON for scheduled reports, rendered by every format from that model alone: HTML, PDF,
//! Markdown, CSV, SARIF 2.1.0, OCSF Detection Finding lines and JSON (the model itself).

pub mod csv;
pub mod frameworks;
pub mod html;
pub mod markdown;
pub mod ocsf;
pub mod pdf;
pub mod sarif;
pub mod svg;

use crate::{Result, Service, ServiceError, TenantScope};
use schemas::{ChangeKind, Coverage, FieldChange, Finding, FindingStatus, Inventory, Severity};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use store::EvaluationSummary;

/// The model's shape version (kept reports of older versions still render; missing parts are
/// left out).
pub const MODEL_VERSION: u32 = 2;

/// Everything a report says about a tenant. Findings are sorted most severe first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    #[serde(default)]
    pub model_version: u32,
    pub tenant: String,
    pub generated_at: String,
    #[serde(default)]
    pub aispm_version: String,
    /// `None` before the first evaluation.
    #[serde(default)]
    pub posture: Option<Posture>,
    #[serde(default)]
    pub open_findings_by_severity: BTreeMap<String, usize>,
    #[serde(default)]
    pub open_findings_by_vendor: BTreeMap<String, usize>,
    /// Fingerprints of the (at most five) open findings that matter most.
    #[serde(default)]
    pub top_risks: Vec<String>,
    #[serde(default)]
    pub changes: Option<WhatChanged>,
    /// The newest evaluations, oldest first.
    #[serde(default)]
    pub trend: Vec<TrendPoint>,
    #[serde(default)]
    pub connections: Vec<ConnectionSummary>,
    #[serde(default)]
    pub agents: Vec<AgentRow>,
    #[serde(default)]
    pub frameworks: Vec<FrameworkView>,
    /// Resources the connectors tried to read and could not.
    #[serde(default)]
    pub not_seen: Vec<Coverage>,
    #[serde(default)]
    pub evaluation: Option<EvaluationSummary>,
    /// The rules the findings come from.
    #[serde(default)]
    pub rules: Vec<RuleInfo>,
    /// Open findings, and findings resolved since the report this one is compared with.
    #[serde(default)]
    pub findings: Vec<Finding>,
}

/// The posture score and how it was computed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Posture {
    /// 0 to 100: the share of checks that passed, each weighted by its rule's severity.
    pub score: u32,
    /// `strong` (90+), `fair` (70+), `weak` (50+) or `poor`.
    pub rating: String,
    pub checks_passed: usize,
    pub checks_failed: usize,
    pub checks_not_assessed: usize,
}

/// Exposure paths drawn in a report (the rest are listed with the findings).
pub const PATH_PICTURES: usize = 8;

/// Severity weights of the posture score.
pub const WEIGHTS: [(Severity, u64); 5] = [
    (Severity::Critical, 10),
    (Severity::High, 5),
    (Severity::Medium, 2),
    (Severity::Low, 1),
    (Severity::Info, 0),
];

/// How the score is computed, in words (printed under it).
pub const SCORE_EXPLAINED: &str = "The share of checks that passed, each check weighted by the severity of its rule (critical 10, high 5, medium 2, low 1, info 0). Checks that could not be assessed are left out of the score and listed under coverage.";

/// The posture of one evaluation, or `None` when nothing was assessed (or the summary predates
/// per-severity counts).
pub fn posture(summary: &EvaluationSummary) -> Option<Posture> {
    let (mut passed, mut total) = (0u64, 0u64);
    for (severity, weight) in WEIGHTS {
        if let Some(c) = summary.by_severity.get(severity.as_str()) {
            passed += weight * c.pass as u64;
            total += weight * (c.pass + c.fail) as u64;
        }
    }
    if summary.by_severity.is_empty() || (summary.pass + summary.fail) == 0 {
        return None;
    }
    let score = if total == 0 {
        100
    } else {
        ((passed as f64 / total as f64) * 100.0).floor() as u32
    };
    let rating = match score {
        90.. => "strong",
        70.. => "fair",
        50.. => "weak",
        _ => "poor",
    };
    Some(Posture {
        score,
        rating: rating.into(),
        checks_passed: summary.pass,
        checks_failed: summary.fail,
        checks_not_assessed: summary.not_assessed,
    })
}

/// What changed since the report (or scan) this one is compared with.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct WhatChanged {
    /// When the comparison starts; `None`: this is the tenant's first evaluation (a baseline).
    pub since: Option<String>,
    /// "the last report" or "the previous scan".
    pub since_what: String,
    pub opened: Vec<String>,
    pub reopened: Vec<String>,
    pub resolved: Vec<String>,
    pub risk_changes: Vec<ChangeLine>,
    /// Changes recorded in the same time that were not risk changes.
    pub other_changes: usize,
}

/// A risk change, as a report lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChangeLine {
    pub recorded_at: String,
    pub provider: String,
    pub resource_kind: String,
    pub resource_name: String,
    pub change: ChangeKind,
    pub risks: Vec<String>,
    /// At most the first eight fields.
    pub fields: Vec<FieldChange>,
    pub findings_opened: Vec<String>,
    pub findings_resolved: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrendPoint {
    pub at: String,
    pub score: Option<u32>,
    pub failed: usize,
    pub passed: usize,
    pub not_assessed: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConnectionSummary {
    pub provider: String,
    pub connection_id: String,
    pub collected_at: String,
    pub agents: usize,
    pub tools: usize,
    pub principals: usize,
    /// Resources that were not (fully) read.
    #[serde(default)]
    pub gaps: usize,
}

/// One agent: who can invoke it, whom it runs as, what it reaches, its findings.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AgentRow {
    pub provider: String,
    pub connection_id: String,
    pub id: String,
    pub name: String,
    pub kind: String,
    pub active: bool,
    pub autonomous: bool,
    /// Names; "unknown" when the connector could not read it.
    pub invokers: Vec<String>,
    /// The fixed identity's name (with "(privileged)"), "the invoking user", or "unknown".
    pub runs_as: String,
    /// Tools (with what they can do) and knowledge.
    pub reaches: Vec<String>,
    /// Open findings about the agent or through it.
    pub findings: Vec<String>,
}

/// A framework and which of its items have open findings.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FrameworkView {
    pub id: String,
    pub name: String,
    pub items: Vec<FrameworkItem>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FrameworkItem {
    pub id: String,
    pub title: String,
    /// Open findings mapped to it.
    pub findings: Vec<String>,
}

/// A rule, as reports describe it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuleInfo {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub provider: String,
    pub rationale: String,
    pub remediation: String,
    #[serde(default)]
    pub references: Vec<String>,
}

/// The formats a report renders to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Format {
    Html,
    Pdf,
    Json,
    Markdown,
    Csv,
    Sarif,
    Ocsf,
}

impl Format {
    pub const ALL: [Format; 7] = [
        Format::Html,
        Format::Pdf,
        Format::Json,
        Format::Markdown,
        Format::Csv,
        Format::Sarif,
        Format::Ocsf,
    ];

    /// Reads `html`, `pdf`, `json`, `md` (or `markdown`), `csv`, `sarif`, `ocsf`.
    pub fn parse(text: &str) -> std::result::Result<Format, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "html" => Ok(Format::Html),
            "pdf" => Ok(Format::Pdf),
            "json" => Ok(Format::Json),
            "md" | "markdown" => Ok(Format::Markdown),
            "csv" => Ok(Format::Csv),
            "sarif" => Ok(Format::Sarif),
            "ocsf" => Ok(Format::Ocsf),
            other => Err(format!(
                "unknown report format {other:?} (html, pdf, json, md, csv, sarif, ocsf)"
            )),
        }
    }

    /// Reads a comma-separated list (`html,pdf`), each once.
    pub fn parse_list(text: &str) -> std::result::Result<Vec<Format>, String> {
        let formats: BTreeSet<Format> = text
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(Format::parse)
            .collect::<std::result::Result<_, _>>()?;
        if formats.is_empty() {
            return Err("name at least one report format (html, pdf, json, md, csv, sarif, ocsf)".into());
        }
        Ok(formats.into_iter().collect())
    }

    pub fn file_name(self) -> &'static str {
        match self {
            Format::Html => "report.html",
            Format::Pdf => "report.pdf",
            Format::Json => "report.json",
            Format::Markdown => "report.md",
            Format::Csv => "findings.csv",
            Format::Sarif => "report.sarif",
            Format::Ocsf => "findings.ocsf.jsonl",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Html => "text/html; charset=utf-8",
            Format::Pdf => "application/pdf",
            Format::Json => "application/json",
            Format::Markdown => "text/markdown; charset=utf-8",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Sarif => "application/sarif+json",
            Format::Ocsf => "application/x-ndjson",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Pdf => "pdf",
            Format::Json => "json",
            Format::Markdown => "md",
            Format::Csv => "csv",
            Format::Sarif => "sarif",
            Format::Ocsf => "ocsf",
        }
    }
}

impl Report {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("the report model serializes")
    }

    pub fn to_markdown(&self) -> String {
        markdown::render(self)
    }

    /// Reads a kept report's model.
    pub fn from_json(text: &str) -> std::result::Result<Report, String> {
        serde_json::from_str(text).map_err(|e| format!("the kept report cannot be read: {e}"))
    }

    /// The report in `format`.
    pub fn render(&self, format: Format) -> Result<Vec<u8>> {
        Ok(match format {
            Format::Html => html::render(self).into_bytes(),
            Format::Pdf => pdf::render(self).map_err(ServiceError::Other)?,
            Format::Json => serde_json::to_vec_pretty(self).map_err(|e| ServiceError::Other(e.to_string()))?,
            Format::Markdown => markdown::render(self).into_bytes(),
            Format::Csv => csv::render(self).into_bytes(),
            Format::Sarif => {
                serde_json::to_vec_pretty(&sarif::render(self)).map_err(|e| ServiceError::Other(e.to_string()))?
            }
            Format::Ocsf => ocsf::render(self).into_bytes(),
        })
    }

    pub fn open_findings(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.status == FindingStatus::Open)
    }

    pub fn finding(&self, fingerprint: &str) -> Option<&Finding> {
        self.findings.iter().find(|f| f.fingerprint == fingerprint)
    }

    pub fn rule(&self, id: &str) -> Option<&RuleInfo> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// Open findings per severity, most severe first (every severity listed).
    pub fn severity_counts(&self) -> Vec<(Severity, usize)> {
        severity_counts(&self.findings)
    }
}

/// A vendor's name for people.
pub fn vendor_name(provider: &str) -> &str {
    match provider {
        "servicenow" => "ServiceNow",
        "m365" => "Microsoft 365",
        "salesforce" => "Salesforce",
        "google_workspace" => "Google Workspace",
        other => other,
    }
}

/// The executive summary in plain words (the HTML and the PDF print the same sentences).
pub fn summary_sentences(r: &Report) -> Vec<String> {
    let mut vendors: Vec<&str> = r.connections.iter().map(|c| vendor_name(&c.provider)).collect();
    vendors.dedup();
    let open: Vec<&Finding> = r.open_findings().collect();
    let by_severity: Vec<String> = r
        .severity_counts()
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| format!("{n} {}", s.as_str()))
        .collect();
    let mut out = vec![format!(
        "aispm read the AI agents, their permissions and the AI settings of {} ({} agents) and ran its rules over them. {} finding(s) are open{}.",
        if vendors.is_empty() { "no connection".to_string() } else { vendors.join(" and ") },
        r.agents.len(),
        open.len(),
        if by_severity.is_empty() { String::new() } else { format!(": {}", by_severity.join(", ")) },
    )];
    let paths = open.iter().filter(|f| f.path.is_some()).count();
    if paths > 0 {
        out.push(format!(
            "{paths} of them are exposure paths: ways for untrusted input, or people outside an agent's intended audience, to reach sensitive data or send data out through an agent."
        ));
    }
    if let Some(p) = &r.posture {
        let mut line = format!(
            "Posture score {} / 100 ({}): {} of {} checks passed",
            p.score,
            p.rating,
            p.checks_passed,
            p.checks_passed + p.checks_failed
        );
        if p.checks_not_assessed > 0 {
            let _ = write!(line, "; {} could not be assessed (see coverage)", p.checks_not_assessed);
        }
        out.push(line + ".");
    }
    if r.top_risks.is_empty() {
        out.push("Nothing needs fixing right now.".into());
    }
    out
}

impl ChangeLine {
    /// Why the change matters, in words: how it widens exposure, or else what it opened or
    /// resolved.
    pub fn why(&self, r: &Report) -> String {
        if !self.risks.is_empty() {
            return self.risks.join("; ");
        }
        let titles = |prints: &[String]| -> Vec<String> {
            let mut t: Vec<String> = prints
                .iter()
                .filter_map(|p| r.finding(p))
                .map(|f| f.title.clone())
                .collect();
            t.dedup();
            t
        };
        let mut parts = Vec::new();
        let opened = titles(&self.findings_opened);
        if !opened.is_empty() {
            parts.push(format!("now: {}", opened.join("; ")));
        }
        let resolved = titles(&self.findings_resolved);
        if !resolved.is_empty() {
            parts.push(format!("no longer: {}", resolved.join("; ")));
        }
        parts.join(". ")
    }

    /// "opened SNOW-001, SNOW-026; resolved …" by rule id.
    pub fn flipped(&self, r: &Report) -> String {
        let ids = |prints: &[String]| -> Vec<String> {
            let mut ids: Vec<String> = prints
                .iter()
                .filter_map(|p| r.finding(p))
                .map(|f| f.rule_id.clone())
                .collect();
            ids.sort();
            ids.dedup();
            ids
        };
        let mut parts = Vec::new();
        let opened = ids(&self.findings_opened);
        if !opened.is_empty() {
            parts.push(format!("opened {}", opened.join(", ")));
        }
        let resolved = ids(&self.findings_resolved);
        if !resolved.is_empty() {
            parts.push(format!("resolved {}", resolved.join(", ")));
        }
        parts.join("; ")
    }
}

pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.rule_id.cmp(&b.rule_id))
            .then(a.resource.name.cmp(&b.resource.name))
    });
}

pub fn severity_counts(findings: &[Finding]) -> Vec<(Severity, usize)> {
    [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ]
    .into_iter()
    .map(|s| {
        (
            s,
            findings
                .iter()
                .filter(|f| f.severity == s && f.status == FindingStatus::Open)
                .count(),
        )
    })
    .collect()
}

/// "A → B → C" with edge kinds.
pub fn path_line(f: &Finding) -> Option<String> {
    let path = f.path.as_ref()?;
    let mut line = String::new();
    for (i, node) in path.nodes.iter().enumerate() {
        if i > 0 {
            let kind = path.edges.get(i - 1).map(|e| e.kind.as_str()).unwrap_or("");
            let _ = write!(line, " —{kind}→ ");
        }
        let _ = write!(line, "{} [{}]", node.name, node.kind);
    }
    Some(line)
}

/// What the connectors tried to read and could not ("what we could not see").
pub fn coverage_gaps(inventories: &[Inventory]) -> Vec<&Coverage> {
    inventories
        .iter()
        .flat_map(|i| i.coverage.iter())
        .filter(|c| c.status != schemas::CoverageStatus::Collected)
        .collect()
}

/// The five open findings that matter most: most severe first; among equals, exposure paths,
/// then the longest open.
fn top_risks(findings: &[Finding]) -> Vec<String> {
    let mut open: Vec<&Finding> = findings.iter().filter(|f| f.status == FindingStatus::Open).collect();
    open.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.path.is_some().cmp(&a.path.is_some()))
            .then(a.first_seen.cmp(&b.first_seen))
            .then(a.rule_id.cmp(&b.rule_id))
    });
    open.into_iter().take(5).map(|f| f.fingerprint.clone()).collect()
}

/// Agents with their reach, from the snapshots; findings named by fingerprint.
fn agent_rows(inventories: &[Inventory], findings: &[Finding]) -> Vec<AgentRow> {
    let mut rows = Vec::new();
    for inv in inventories {
        let principals: BTreeMap<&str, &schemas::Principal> =
            inv.principals.iter().map(|p| (p.id.as_str(), p)).collect();
        let tools: BTreeMap<&str, &schemas::Tool> = inv.tools.iter().map(|t| (t.id.as_str(), t)).collect();
        let stores: BTreeMap<&str, &schemas::DataStore> = inv.data_stores.iter().map(|d| (d.id.as_str(), d)).collect();
        for a in &inv.agents {
            let invokers = if a.audience_unknown {
                vec!["unknown".to_string()]
            } else {
                a.audience
                    .iter()
                    .map(|id| match id.as_str() {
                        "anonymous" => "anonymous users".to_string(),
                        "everyone" => "everyone".to_string(),
                        "authenticated_users" => "every signed-in user".to_string(),
                        id => principals
                            .get(id)
                            .map(|p| p.name.clone())
                            .unwrap_or_else(|| id.to_string()),
                    })
                    .collect()
            };
            let runs_as = match (a.identity, a.run_as.as_deref()) {
                (schemas::RunIdentity::Fixed, Some(id)) => match principals.get(id) {
                    Some(p) if p.privileged => format!("{} (privileged)", p.name),
                    Some(p) => p.name.clone(),
                    None => id.to_string(),
                },
                (schemas::RunIdentity::Invoker, _) => "the invoking user".into(),
                _ => "unknown".into(),
            };
            let mut reaches: Vec<String> = a
                .tools
                .iter()
                .filter(|b| b.active)
                .map(|b| match tools.get(b.tool_id.as_str()) {
                    Some(t) if !t.capabilities.is_empty() => {
                        let can: Vec<String> = t
                            .capabilities
                            .iter()
                            .map(|c| format!("{c:?}").to_lowercase().replace("sendexternal", "send out"))
                            .collect();
                        format!("{} ({})", t.name, can.join(", ").replace("executecode", "run code"))
                    }
                    Some(t) => t.name.clone(),
                    None => b.tool_id.clone(),
                })
                .collect();
            reaches.extend(a.knowledge.iter().map(|k| match stores.get(k.as_str()) {
                Some(d) => format!("{} (knowledge)", d.name),
                None => format!("{k} (knowledge)"),
            }));
            let about: Vec<String> = findings
                .iter()
                .filter(|f| f.status == FindingStatus::Open)
                .filter(|f| f.resource.connection_id.split('+').any(|c| c == inv.connection_id))
                .filter(|f| {
                    f.resource.id == a.id || f.path.as_ref().is_some_and(|p| p.nodes.iter().any(|n| n.id == a.id))
                })
                .map(|f| f.fingerprint.clone())
                .collect();
            rows.push(AgentRow {
                provider: inv.provider.clone(),
                connection_id: inv.connection_id.clone(),
                id: a.id.clone(),
                name: a.name.clone(),
                kind: a.kind.clone(),
                active: a.active,
                autonomous: a.autonomy == schemas::Autonomy::Autonomous,
                invokers,
                runs_as,
                reaches,
                findings: about,
            });
        }
    }
    // Agents with findings first, then by name.
    rows.sort_by(|a, b| b.findings.len().cmp(&a.findings.len()).then(a.name.cmp(&b.name)));
    rows
}

fn framework_views(findings: &[Finding]) -> Vec<FrameworkView> {
    frameworks::FRAMEWORKS
        .iter()
        .map(|fw| {
            let mapped = |f: &Finding| -> Vec<String> { (fw.of)(&f.frameworks).to_vec() };
            let mut items: Vec<FrameworkItem> = fw
                .items
                .iter()
                .map(|(id, title)| FrameworkItem {
                    id: id.to_string(),
                    title: title.to_string(),
                    findings: Vec::new(),
                })
                .collect();
            for f in findings.iter().filter(|f| f.status == FindingStatus::Open) {
                for id in mapped(f) {
                    match items.iter_mut().find(|i| i.id == id) {
                        Some(item) => item.findings.push(f.fingerprint.clone()),
                        None => items.push(FrameworkItem {
                            id: id.clone(),
                            title: String::new(),
                            findings: vec![f.fingerprint.clone()],
                        }),
                    }
                }
            }
            FrameworkView {
                id: fw.id.to_string(),
                name: fw.name.to_string(),
                items,
            }
        })
        .collect()
}

impl Service {
    /// The tenant's posture report now, compared with the last kept report (or, before any, with
    /// the previous scan).
    pub async fn report(&self, scope: &TenantScope) -> Result<Report> {
        let tenant = &scope.tenant;
        let store = self.store();
        let all = store.findings(&tenant.id).await?;
        let inventories = store.latest_inventories(&tenant.id).await?;
        let evaluation = store.latest_evaluation(&tenant.id).await?;
        let last_report = store.reports(&tenant.id, 1).await?.into_iter().next();
        let evaluation_times = store.evaluation_times(&tenant.id, 2).await?;
        // Without a kept report, compare with the evaluation before the newest, unless every
        // connection has been scanned only once (then everything is the baseline).
        let mut rescanned = false;
        for c in store.connections(&tenant.id).await? {
            rescanned |= store.snapshot_count(&c.id).await? > 1;
        }
        let (since, since_what) = match (&last_report, evaluation_times.get(1)) {
            (Some(r), _) => (Some(r.created_at.clone()), "the last report"),
            (None, Some(previous)) if rescanned => (Some(previous.clone()), "the previous scan"),
            _ => (None, "the first scan"),
        };
        let changes = match &since {
            None => WhatChanged {
                since: None,
                since_what: since_what.into(),
                ..Default::default()
            },
            Some(after) => self.changes_after(scope, after, since_what, &all).await?,
        };
        // Open findings, and those resolved in the window (the report says they were fixed).
        let mut findings: Vec<Finding> = all
            .into_iter()
            .filter(|f| f.status == FindingStatus::Open || changes.resolved.contains(&f.fingerprint))
            .collect();
        sort_findings(&mut findings);
        let rule_ids: BTreeSet<&str> = findings.iter().map(|f| f.rule_id.as_str()).collect();
        let rules = self
            .rt
            .rules
            .rules
            .iter()
            .filter(|r| rule_ids.contains(r.meta.id.as_str()))
            .map(|r| RuleInfo {
                id: r.meta.id.clone(),
                title: r.meta.title.clone(),
                severity: r.meta.severity,
                provider: r.meta.provider.clone(),
                rationale: r.meta.rationale.trim().to_string(),
                remediation: r.meta.remediation.trim().to_string(),
                references: r.meta.references.clone(),
            })
            .collect();
        let mut trend: Vec<TrendPoint> = store
            .evaluations(&tenant.id, 12)
            .await?
            .iter()
            .map(|e| TrendPoint {
                at: e.evaluated_at.clone(),
                score: posture(e).map(|p| p.score),
                failed: e.fail,
                passed: e.pass,
                not_assessed: e.not_assessed,
            })
            .collect();
        trend.reverse();
        let mut by_vendor: BTreeMap<String, usize> = BTreeMap::new();
        for f in findings.iter().filter(|f| f.status == FindingStatus::Open) {
            *by_vendor.entry(f.resource.provider.clone()).or_default() += 1;
        }
        Ok(Report {
            model_version: MODEL_VERSION,
            tenant: tenant.slug.clone(),
            generated_at: store::now(),
            aispm_version: env!("CARGO_PKG_VERSION").into(),
            posture: evaluation.as_ref().and_then(posture),
            open_findings_by_severity: severity_counts(&findings)
                .into_iter()
                .map(|(s, n)| (s.as_str().to_string(), n))
                .collect(),
            open_findings_by_vendor: by_vendor,
            top_risks: top_risks(&findings),
            changes: Some(changes),
            trend,
            connections: inventories
                .iter()
                .map(|i| ConnectionSummary {
                    provider: i.provider.clone(),
                    connection_id: i.connection_id.clone(),
                    collected_at: i.collected_at.clone(),
                    agents: i.agents.len(),
                    tools: i.tools.len(),
                    principals: i.principals.len(),
                    gaps: i
                        .coverage
                        .iter()
                        .filter(|c| c.status != schemas::CoverageStatus::Collected)
                        .count(),
                })
                .collect(),
            agents: agent_rows(&inventories, &findings),
            frameworks: framework_views(&findings),
            not_seen: coverage_gaps(&inventories).into_iter().cloned().collect(),
            evaluation,
            rules,
            findings,
        })
    }

    async fn changes_after(
        &self,
        scope: &TenantScope,
        after: &str,
        since_what: &str,
        findings: &[Finding],
    ) -> Result<WhatChanged> {
        let store = self.store();
        let mut changed = WhatChanged {
            since: Some(after.to_string()),
            since_what: since_what.into(),
            ..Default::default()
        };
        // The last event of each finding in the window decides where it is listed.
        let mut last: BTreeMap<String, String> = BTreeMap::new();
        let mut first: BTreeMap<String, String> = BTreeMap::new();
        for e in store.finding_events(&scope.tenant.id, Some(after)).await? {
            first.entry(e.fingerprint.clone()).or_insert_with(|| e.event.clone());
            last.insert(e.fingerprint, e.event);
        }
        let still =
            |print: &str, status: FindingStatus| findings.iter().any(|f| f.fingerprint == print && f.status == status);
        for (print, event) in &last {
            match event.as_str() {
                "resolved" if still(print, FindingStatus::Resolved) => changed.resolved.push(print.clone()),
                "opened" | "reopened" if still(print, FindingStatus::Open) => {
                    // Opened for the first time in the window, or back after being fixed.
                    if first.get(print).map(String::as_str) == Some("opened") {
                        changed.opened.push(print.clone());
                    } else {
                        changed.reopened.push(print.clone());
                    }
                }
                _ => {}
            }
        }
        let providers: BTreeMap<String, String> = store
            .connections(&scope.tenant.id)
            .await?
            .into_iter()
            .map(|c| (c.id, c.provider))
            .collect();
        let query = store::ChangeQuery {
            after: Some(after.to_string()),
            limit: 10_000,
            ..Default::default()
        };
        for c in store.changes(&scope.tenant.id, &query).await? {
            if !c.change.risk {
                changed.other_changes += 1;
                continue;
            }
            changed.risk_changes.push(ChangeLine {
                recorded_at: c.created_at,
                provider: providers.get(&c.connection_id).cloned().unwrap_or_default(),
                resource_kind: c.change.resource_kind,
                resource_name: c.change.resource_name,
                change: c.change.change,
                risks: c.change.risks,
                fields: c.change.fields.into_iter().take(8).collect(),
                findings_opened: c.change.findings_opened,
                findings_resolved: c.change.findings_resolved,
            });
        }
        Ok(changed)
    }

    /// Writes the report in each of `formats` into `dir`; returns the paths written.
    pub async fn write_report(
        &self,
        scope: &TenantScope,
        dir: &std::path::Path,
        formats: &[Format],
    ) -> Result<Vec<std::path::PathBuf>> {
        let report = self.report(scope).await?;
        let io = |what: &std::path::Path, e: std::io::Error| {
            ServiceError::Other(format!("cannot write {}: {e}", what.display()))
        };
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let mut written = Vec::new();
        for format in formats {
            let path = dir.join(format.file_name());
            let bytes = report.render(*format)?;
            std::fs::write(&path, bytes).map_err(|e| io(&path, e))?;
            written.push(path);
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_score_weighs_checks_by_severity_and_leaves_out_what_was_not_assessed() {
        let mut summary = EvaluationSummary {
            evaluated_at: "t".into(),
            connections: vec![],
            fail: 2,
            pass: 18,
            not_assessed: 5,
            not_assessed_results: vec![],
            coverage_gaps: vec![],
            rules: 10,
            by_severity: Default::default(),
        };
        assert_eq!(posture(&summary), None, "no per-severity counts: no score");
        summary.by_severity.insert(
            "critical".into(),
            store::CheckCounts {
                fail: 1,
                pass: 4,
                not_assessed: 5,
            },
        );
        summary.by_severity.insert(
            "low".into(),
            store::CheckCounts {
                fail: 1,
                pass: 14,
                not_assessed: 0,
            },
        );
        // (4×10 + 14×1) / (5×10 + 15×1) = 54 / 65 = 83 %.
        let p = posture(&summary).unwrap();
        assert_eq!((p.score, p.rating.as_str()), (83, "fair"));
        assert_eq!((p.checks_passed, p.checks_failed, p.checks_not_assessed), (18, 2, 5));
    }

    #[test]
    fn formats_are_read_from_a_list_and_a_wrong_one_is_named() {
        assert_eq!(
            Format::parse_list("pdf, html,md,pdf").unwrap(),
            vec![Format::Html, Format::Pdf, Format::Markdown]
        );
        let err = Format::parse_list("html,docx").unwrap_err();
        assert!(err.contains("\"docx\""), "{err}");
        assert!(Format::parse_list(" , ").is_err());
    }
}
