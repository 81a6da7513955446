//! The report as Markdown: the same sections as the HTML, as text.

use super::{path_line, Report};
use std::fmt::Write;

/// Text for a Markdown table cell or line: no pipes or line breaks from vendor data.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

pub fn render(r: &Report) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# AI security posture report: {}\n", cell(&r.tenant));
    let _ = writeln!(
        md,
        "Generated {} by aispm {}.\n",
        r.generated_at,
        if r.aispm_version.is_empty() {
            env!("CARGO_PKG_VERSION")
        } else {
            &r.aispm_version
        }
    );
    let _ = writeln!(md, "## Summary\n");
    if let Some(p) = &r.posture {
        let _ = writeln!(
            md,
            "Posture score: **{} / 100** ({}). {}\n",
            p.score,
            p.rating,
            super::SCORE_EXPLAINED
        );
    }
    let _ = writeln!(md, "| Severity | Open findings |\n|---|---|");
    for (s, n) in r.severity_counts() {
        let _ = writeln!(md, "| {} | {n} |", s.as_str());
    }
    if let Some(e) = &r.evaluation {
        let _ = writeln!(
            md,
            "\nRule results: {} fail, {} pass, {} not assessed ({} rules).",
            e.fail, e.pass, e.not_assessed, e.rules
        );
    }
    if !r.top_risks.is_empty() {
        let _ = writeln!(md, "\n### The risks that matter most\n");
        for (i, print) in r.top_risks.iter().enumerate() {
            if let Some(f) = r.finding(print) {
                let _ = writeln!(
                    md,
                    "{}. **{}** {} — {} ({})",
                    i + 1,
                    f.severity.as_str(),
                    cell(&f.title),
                    cell(&f.resource.name),
                    f.rule_id
                );
            }
        }
    }
    if let Some(c) = &r.changes {
        let _ = writeln!(md, "\n## What changed since {}\n", c.since_what);
        if c.since.is_none() {
            let _ = writeln!(
                md,
                "This is the first scan: a baseline. The next report lists what changed."
            );
        } else {
            let list = |prints: &[String]| -> String {
                prints
                    .iter()
                    .filter_map(|p| r.finding(p))
                    .map(|f| format!("{} on {}", f.rule_id, cell(&f.resource.name)))
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            let _ = writeln!(md, "- New findings: {} {}", c.opened.len(), list(&c.opened));
            let _ = writeln!(md, "- Reopened: {} {}", c.reopened.len(), list(&c.reopened));
            let _ = writeln!(md, "- Resolved: {} {}", c.resolved.len(), list(&c.resolved));
            let _ = writeln!(
                md,
                "- Risk changes: {} (and {} other changes)",
                c.risk_changes.len(),
                c.other_changes
            );
            for ch in &c.risk_changes {
                let _ = writeln!(
                    md,
                    "  - {} {} **{}** ({:?}): {}",
                    ch.provider,
                    ch.resource_kind,
                    cell(&ch.resource_name),
                    ch.change,
                    cell(&ch.risks.join("; "))
                );
            }
        }
    }
    let _ = writeln!(md, "\n## Connections\n");
    for c in &r.connections {
        let _ = writeln!(
            md,
            "- **{}** `{}`: {} agents, {} tools, {} principals (collected {})",
            c.provider, c.connection_id, c.agents, c.tools, c.principals, c.collected_at
        );
    }
    let _ = writeln!(md, "\n## Exposure paths\n");
    let paths: Vec<_> = r.open_findings().filter(|f| f.path.is_some()).collect();
    if paths.is_empty() {
        let _ = writeln!(md, "None found.");
    }
    for f in paths.iter().take(20) {
        let _ = writeln!(
            md,
            "- **{}** {} ({})\n  - {}",
            f.severity.as_str(),
            cell(&f.title),
            f.rule_id,
            cell(&path_line(f).unwrap_or_default())
        );
    }
    if !r.agents.is_empty() {
        let _ = writeln!(
            md,
            "\n## Agents\n\n| Agent | Who can invoke it | Runs as | Reaches | Open findings |\n|---|---|---|---|---|"
        );
        for a in &r.agents {
            let _ = writeln!(
                md,
                "| {} ({}) | {} | {} | {} | {} |",
                cell(&a.name),
                a.provider,
                cell(&a.invokers.join(", ")),
                cell(&a.runs_as),
                cell(&a.reaches.join(", ")),
                a.findings.len()
            );
        }
    }
    let _ = writeln!(md, "\n## Findings\n");
    for f in r.open_findings() {
        let _ = writeln!(md, "### [{}] {} — {}\n", f.severity.as_str(), f.rule_id, cell(&f.title));
        let _ = writeln!(
            md,
            "- Resource: {} (`{}`, {})",
            cell(&f.resource.name),
            f.resource.id,
            f.resource.kind
        );
        let _ = writeln!(md, "- First seen {}, last seen {}", f.first_seen, f.last_seen);
        if let Some(line) = path_line(f) {
            let _ = writeln!(md, "- Path: {}", cell(&line));
        }
        let _ = writeln!(md, "- Evidence: `{}`", f.evidence.to_string().replace('`', "'"));
        let _ = writeln!(md, "- Remediation: {}", cell(&f.remediation));
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
    if r.not_seen.is_empty() {
        let _ = writeln!(md, "Every resource the connectors read was collected.");
    }
    for g in &r.not_seen {
        let _ = writeln!(
            md,
            "- `{}`: {:?} — {}",
            g.resource,
            g.status,
            cell(g.error.as_deref().unwrap_or("no detail"))
        );
    }
    if let Some(na) = r.evaluation.as_ref().map(|e| &e.not_assessed_results) {
        if !na.is_empty() {
            let _ = writeln!(md, "\nRules not assessed:\n");
            for n in na.iter().take(50) {
                let _ = writeln!(
                    md,
                    "- {} on `{}`: {}",
                    n.rule_id,
                    n.resource_id,
                    cell(n.reason.as_deref().unwrap_or(""))
                );
            }
        }
    }
    md
}
