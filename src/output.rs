//! Tables for the terminal. (The report itself is built by the service.)

use schemas::{Finding, FindingStatus, Inventory};
use service::report::coverage_gaps;
use std::fmt::Write;

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let cut: String = text.chars().take(width.saturating_sub(1)).collect();
        format!("{cut}…")
    }
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

/// A JSON value in one short line, for a field's old and new values.
fn compact(value: &serde_json::Value) -> String {
    truncate(&value.to_string(), 70)
}

pub fn changes_table(changes: &[service::changes::ChangeView]) -> String {
    use schemas::ChangeKind;
    let mut out = String::new();
    if changes.is_empty() {
        out.push_str("no changes recorded (the first scan of a connection is its baseline)\n");
        return out;
    }
    for c in changes {
        let what = match c.change {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Changed => "changed",
        };
        let at = c.recorded_at.get(..16).unwrap_or(&c.recorded_at).replace('T', " ");
        let _ = writeln!(
            out,
            "{at}  {:<10} {:<15} {:<8} {}{}",
            c.provider,
            c.resource_kind,
            what,
            truncate(&c.resource_name, 60),
            if c.risk { "  [RISK]" } else { "" }
        );
        for f in &c.fields {
            let _ = writeln!(out, "    {}: {} -> {}", f.path, compact(&f.old), compact(&f.new));
        }
        for r in &c.risks {
            let _ = writeln!(out, "    risk: {r}");
        }
        for (label, list) in [("opened", &c.findings_opened), ("resolved", &c.findings_resolved)] {
            for f in list.iter() {
                let _ = writeln!(
                    out,
                    "    {label}: {} {} ({})",
                    f.rule_id,
                    truncate(&f.title, 80),
                    f.severity.as_str()
                );
            }
        }
        if !c.evaluated {
            let _ = writeln!(
                out,
                "    (not evaluated yet: the findings it opens follow the evaluation)"
            );
        }
    }
    out
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
