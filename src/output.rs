//! Tables for the terminal and the JSON / Markdown posture report.

use schemas::{Finding, FindingStatus, Inventory, Severity};
use serde_json::{json, Value};
use std::fmt::Write;

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let cut: String = text.chars().take(width.saturating_sub(1)).collect();
        format!("{cut}…")
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

pub fn findings_table(findings: &[Finding]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<9} {:<14} {:<8} {:<46} TITLE",
        "SEVERITY", "RULE", "STATUS", "RESOURCE"
    );
    for f in findings {
        let status = match f.status {
            FindingStatus::Open => "open",
            FindingStatus::Resolved => "resolved",
        };
        let _ = writeln!(
            out,
            "{:<9} {:<14} {:<8} {:<46} {}",
            f.severity.as_str(),
            f.rule_id,
            status,
            truncate(&f.resource.name, 46),
            truncate(&f.title, 90)
        );
    }
    out
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

pub fn inventory_table(inventories: &[Inventory]) -> String {
    let mut out = String::new();
    for inv in inventories {
        let _ = writeln!(
            out,
            "{} connection {} (collected {})",
            inv.provider, inv.connection_id, inv.collected_at
        );
        let _ = writeln!(
            out,
            "  {} agents, {} tools, {} principals, {} data stores, {} settings, {} untrusted inputs",
            inv.agents.len(),
            inv.tools.len(),
            inv.principals.len(),
            inv.data_stores.len(),
            inv.settings.len(),
            inv.untrusted_inputs.len()
        );
        for a in &inv.agents {
            let _ = writeln!(
                out,
                "  agent {:<32} {:<20} identity={:?} active={} tools={} audience={}",
                truncate(&a.name, 32),
                a.kind,
                a.identity,
                a.active,
                a.tools.len(),
                if a.audience_unknown {
                    "unknown".to_string()
                } else {
                    a.audience.len().to_string()
                }
            );
        }
        let gaps = coverage_gaps(std::slice::from_ref(inv));
        let _ = writeln!(
            out,
            "  coverage: {} resources read, {} not",
            inv.coverage.len() - gaps.len(),
            gaps.len()
        );
        for gap in gaps {
            let _ = writeln!(
                out,
                "    not seen: {} ({:?}) {}",
                gap.resource,
                gap.status,
                gap.error.as_deref().unwrap_or("")
            );
        }
    }
    out
}

/// What the connectors tried to read and could not ("what we could not see").
fn coverage_gaps(inventories: &[Inventory]) -> Vec<&schemas::Coverage> {
    inventories
        .iter()
        .flat_map(|i| i.coverage.iter())
        .filter(|c| c.status != schemas::CoverageStatus::Collected)
        .collect()
}

/// The posture report as JSON.
pub fn report_json(tenant: &str, findings: &[Finding], inventories: &[Inventory], evaluation: Option<&Value>) -> Value {
    let counts: serde_json::Map<String, Value> = severity_counts(findings)
        .into_iter()
        .map(|(s, n)| (s.as_str().to_string(), json!(n)))
        .collect();
    let gaps = coverage_gaps(inventories);
    json!({
        "tenant": tenant,
        "generated_at": store::now(),
        "open_findings_by_severity": counts,
        "evaluation": evaluation,
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
pub fn report_markdown(
    tenant: &str,
    findings: &[Finding],
    inventories: &[Inventory],
    evaluation: Option<&Value>,
) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# AI security posture report: {tenant}\n");
    let _ = writeln!(
        md,
        "Generated {} by aispm {}.\n",
        store::now(),
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
            e["fail"], e["pass"], e["not_assessed"], e["rules"]
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
    if let Some(na) = evaluation.and_then(|e| e["not_assessed_results"].as_array()) {
        if !na.is_empty() {
            let _ = writeln!(md, "\nRules not assessed:\n");
            for r in na.iter().take(50) {
                let _ = writeln!(
                    md,
                    "- {} on `{}`: {}",
                    r["rule_id"].as_str().unwrap_or(""),
                    r["resource_id"].as_str().unwrap_or(""),
                    r["reason"].as_str().unwrap_or("")
                );
            }
        }
    }
    md
}
