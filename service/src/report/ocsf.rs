//! The report's findings as OCSF Detection Finding events (class 2004, schema 1.3.0), one JSON
//! object per line. Activity and status follow the finding's lifecycle in the report's window:
//! a finding new (or reopened) since the last report is Create / New, one still open is
//! Update / In Progress, one resolved is Close / Resolved.

use super::{path_line, Report};
use schemas::{FindingStatus, Severity};
use serde_json::{json, Value};

pub const OCSF_VERSION: &str = "1.3.0";
pub const CLASS_UID: u32 = 2004;

fn epoch_ms(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.timestamp_millis())
        .unwrap_or(0)
}

fn severity_id(s: Severity) -> (u8, &'static str) {
    match s {
        Severity::Info => (1, "Informational"),
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    }
}

/// One Detection Finding per finding in the report.
pub fn events(r: &Report) -> Vec<Value> {
    let fresh = |print: &str| {
        r.changes
            .as_ref()
            .is_some_and(|c| c.since.is_none() || c.opened.iter().chain(&c.reopened).any(|p| p == print))
    };
    r.findings
        .iter()
        .map(|f| {
            let ((activity_id, activity), (status_id, status)) = match f.status {
                FindingStatus::Resolved => ((3, "Close"), (4, "Resolved")),
                FindingStatus::Open if fresh(&f.fingerprint) => ((1, "Create"), (1, "New")),
                FindingStatus::Open => ((2, "Update"), (2, "In Progress")),
            };
            let (severity_id, severity) = severity_id(f.severity);
            let mut unmapped = json!({
                "provider": f.resource.provider,
                "connection_id": f.resource.connection_id,
                "evidence": f.evidence,
                "frameworks": f.frameworks,
            });
            if let Some(line) = path_line(f) {
                unmapped["exposure_path"] = json!(line);
            }
            json!({
                "activity_id": activity_id,
                "activity_name": activity,
                "category_uid": 2,
                "category_name": "Findings",
                "class_uid": CLASS_UID,
                "class_name": "Detection Finding",
                "type_uid": CLASS_UID * 100 + activity_id,
                "type_name": format!("Detection Finding: {activity}"),
                "severity_id": severity_id,
                "severity": severity,
                "status_id": status_id,
                "status": status,
                "time": epoch_ms(&f.last_seen),
                "message": f.message,
                "metadata": {
                    "version": OCSF_VERSION,
                    "product": {
                        "name": "aispm",
                        "vendor_name": "aispm",
                        "version": if r.aispm_version.is_empty() { env!("CARGO_PKG_VERSION") } else { &r.aispm_version },
                    },
                    "log_name": "posture-report",
                },
                "finding_info": {
                    "uid": f.fingerprint,
                    "title": f.title,
                    "desc": f.message,
                    "types": [f.rule_id],
                    "first_seen_time": epoch_ms(&f.first_seen),
                    "last_seen_time": epoch_ms(&f.last_seen),
                    "analytic": {"uid": f.rule_id, "name": f.title, "type_id": 1, "type": "Rule"},
                },
                "resources": [{
                    "uid": f.resource.id,
                    "name": f.resource.name,
                    "type": f.resource.kind,
                }],
                "remediation": {"desc": f.remediation},
                "unmapped": unmapped,
            })
        })
        .collect()
}

/// JSON Lines: one event per line.
pub fn render(r: &Report) -> String {
    events(r).iter().map(|e| e.to_string() + "\n").collect()
}
