//! The posture report: one model built once per request, rendered as JSON or Markdown (the
//! renderers later issues add, HTML, SARIF, OCSF and Slack, render the same model).

use schemas::{Finding, FindingStatus, Inventory, Severity};
use serde_json::{json, Value};
use std::fmt::Write;
use store::EvaluationSummary;

/// Everything a report says about a tenant.
#[derive(Debug, Clone)]
pub struct Report {
    pub tenant: String,
    pub generated_at: String,
    /// Sorted: most severe first.
    pub findings: Vec<Finding>,
    pub inventories: Vec<Inventory>,
    pub evaluation: Option<EvaluationSummary>,
}

impl Report {
    pub fn new(
        tenant: &str,
        mut findings: Vec<Finding>,
        inventories: Vec<Inventory>,
        evaluation: Option<EvaluationSummary>,
    ) -> Self {
        sort_findings(&mut findings);
        Report {
            tenant: tenant.to_string(),
            generated_at: store::now(),
            findings,
            inventories,
            evaluation,
        }
    }

    pub fn to_json(&self) -> Value {
        report_json(self)
    }

    pub fn to_markdown(&self) -> String {
        report_markdown(self)
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
pub fn coverage_gaps(inventories: &[Inventory]) -> Vec<&schemas::Coverage> {
    inventories
        .iter()
        .flat_map(|i| i.coverage.iter())
        .filter(|c| c.status != schemas::CoverageStatus::Collected)
        .collect()
}

/// The posture report as JSON.
fn report_json(r: &Report) -> Value {
    let (tenant, findings, inventories) = (&r.tenant, &r.findings, &r.inventories);
    let counts: serde_json::Map<String, Value> = severity_counts(findings)
        .into_iter()
        .map(|(s, n)| (s.as_str().to_string(), json!(n)))
        .collect();
    let gaps = coverage_gaps(inventories);
    json!({
        "tenant": tenant,
        "generated_at": r.generated_at,
        "open_findings_by_severity": counts,
        "evaluation": r.evaluation,
        "connections": inventories.iter().map(|i| json!({
            "provider": i.provider,
            "connection_id": i.connection_id,
            "collected_at": i.collected_at,
            "agents": i.agents.len(),
            "tools": i.tools.len(),
            "principals": i.principals.len(),
        })).collect::<Vec<_>>(),
        "not_seen": gaps,
        "findings": findings,
    })
}

/// The posture report as Markdown.
fn report_markdown(r: &Report) -> String {
    let (tenant, findings, inventories, evaluation) = (&r.tenant, &r.findings, &r.inventories, r.evaluation.as_ref());
    let mut md = String::new();
    let _ = writeln!(md, "# AI security posture report: {tenant}\n");
    let _ = writeln!(
        md,
        "Generated {} by aispm {}.\n",
        r.generated_at,
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(md, "## Summary\n\n| Severity | Open findings |\n|---|---|");
    for (s, n) in severity_counts(findings) {
        let _ = writeln!(md, "| {} | {n} |", s.as_str());
    }
    if let Some(e) = evaluation {
        let _ = writeln!(
            md,
            "\nRule results: {} fail, {} pass, {} not assessed ({} rules).",
            e.fail, e.pass, e.not_assessed, e.rules
        );
    }
    let _ = writeln!(md, "\n## Connections\n");
    for i in inventories {
        let _ = writeln!(
            md,
            "- **{}** `{}`: {} agents, {} tools, {} principals (collected {})",
            i.provider,
            i.connection_id,
            i.agents.len(),
            i.tools.len(),
            i.principals.len(),
            i.collected_at
        );
    }
    let paths: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.path.is_some() && f.status == FindingStatus::Open)
        .collect();
    let _ = writeln!(md, "\n## Exposure paths\n");
    if paths.is_empty() {
        let _ = writeln!(md, "None found.");
    }
    for f in paths.iter().take(20) {
        let _ = writeln!(
            md,
            "- **{}** {} ({})\n  - {}",
            f.severity.as_str(),
            f.title,
            f.rule_id,
            path_line(f).unwrap_or_default()
        );
    }
    let _ = writeln!(md, "\n## Findings\n");
    for f in findings.iter().filter(|f| f.status == FindingStatus::Open) {
        let _ = writeln!(md, "### [{}] {} — {}\n", f.severity.as_str(), f.rule_id, f.title);
        let _ = writeln!(
            md,
            "- Resource: {} (`{}`, {})",
            f.resource.name, f.resource.id, f.resource.kind
        );
        let _ = writeln!(md, "- First seen {}, last seen {}", f.first_seen, f.last_seen);
        if let Some(line) = path_line(f) {
            let _ = writeln!(md, "- Path: {line}");
        }
        let _ = writeln!(md, "- Evidence: `{}`", f.evidence);
        let _ = writeln!(md, "- Remediation: {}", f.remediation);
        let fw = &f.frameworks;
        let tags: Vec<String> = fw
            .owasp_llm_2025
            .iter()
            .chain(&fw.owasp_agentic)
            .chain(&fw.mitre_atlas)
            .chain(&fw.nist_ai_rmf)
            .cloned()
            .collect();
        let _ = writeln!(md, "- Frameworks: {}\n", tags.join(", "));
    }
    let _ = writeln!(md, "## What we could not see\n");
    let gaps = coverage_gaps(inventories);
    if gaps.is_empty() {
        let _ = writeln!(md, "Every resource the connectors read was collected.");
    }
    for g in gaps {
        let _ = writeln!(
            md,
            "- `{}`: {:?} — {}",
            g.resource,
            g.status,
            g.error.as_deref().unwrap_or("no detail")
        );
    }
    if let Some(na) = evaluation.map(|e| &e.not_assessed_results) {
        if !na.is_empty() {
            let _ = writeln!(md, "\nRules not assessed:\n");
            for r in na.iter().take(50) {
                let _ = writeln!(
                    md,
                    "- {} on `{}`: {}",
                    r.rule_id,
                    r.resource_id,
                    r.reason.as_deref().unwrap_or("")
                );
            }
        }
    }
    md
}
