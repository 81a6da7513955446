//! The report's open findings as SARIF 2.1.0: one rule per rule id (its title, rationale and
//! remediation as help, `security-severity` for code-scanning tools), one result per open
//! finding, the resource as a logical location and our fingerprint as a partial fingerprint.

use super::{path_line, Report};
use schemas::Severity;
use serde_json::{json, Value};

/// The numbers code-scanning tools read as critical (9+), high (7+), medium (4+) and low.
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

pub fn render(r: &Report) -> Value {
    let open: Vec<&schemas::Finding> = r.open_findings().collect();
    let mut rule_ids: Vec<&str> = open.iter().map(|f| f.rule_id.as_str()).collect();
    rule_ids.sort_unstable();
    rule_ids.dedup();
    let rules: Vec<Value> = rule_ids
        .iter()
        .map(|id| {
            let info = r.rule(id);
            let first = open.iter().find(|f| f.rule_id == *id).expect("a finding of this rule");
            let title = info.map(|i| i.title.as_str()).unwrap_or(&first.title);
            let severity = info.map(|i| i.severity).unwrap_or(first.severity);
            let rationale = info.map(|i| i.rationale.as_str()).unwrap_or("");
            let remediation = info.map(|i| i.remediation.as_str()).unwrap_or(&first.remediation);
            let fw = &first.frameworks;
            let mut tags = vec!["security".to_string(), "ai".to_string()];
            tags.extend(
                fw.owasp_llm_2025
                    .iter()
                    .chain(&fw.owasp_agentic)
                    .chain(&fw.mitre_atlas)
                    .chain(&fw.nist_ai_rmf)
                    .cloned(),
            );
            let mut rule = json!({
                "id": id,
                "name": title,
                "shortDescription": {"text": title},
                "fullDescription": {"text": if rationale.is_empty() { title } else { rationale }},
                "help": {
                    "text": format!("{rationale}\n\nRemediation: {remediation}"),
                    "markdown": format!("{rationale}\n\n**Remediation:** {remediation}"),
                },
                "defaultConfiguration": {"level": level(severity)},
                "properties": {
                    "security-severity": security_severity(severity),
                    "severity": severity.as_str(),
                    "tags": tags,
                },
            });
            if let Some(uri) = info.and_then(|i| i.references.first()) {
                rule["helpUri"] = json!(uri);
            }
            rule
        })
        .collect();
    let results: Vec<Value> = open
        .iter()
        .map(|f| {
            let index = rule_ids.binary_search(&f.rule_id.as_str()).unwrap_or(0);
            let mut properties = json!({
                "severity": f.severity.as_str(),
                "provider": f.resource.provider,
                "connection_id": f.resource.connection_id,
                "first_seen": f.first_seen,
                "last_seen": f.last_seen,
                "evidence": f.evidence,
            });
            if let Some(line) = path_line(f) {
                properties["exposure_path"] = json!(line);
            }
            json!({
                "ruleId": f.rule_id,
                "ruleIndex": index,
                "level": level(f.severity),
                "message": {"text": format!("{}: {}", f.resource.name, f.message)},
                "locations": [{
                    "logicalLocations": [{
                        "name": f.resource.name,
                        "fullyQualifiedName": format!("{}/{}/{}/{}", f.resource.provider, f.resource.connection_id, f.resource.kind, f.resource.id),
                        "kind": "resource",
                    }],
                }],
                "partialFingerprints": {"aispmFingerprint/v1": f.fingerprint},
                "properties": properties,
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "aispm",
                "version": if r.aispm_version.is_empty() { env!("CARGO_PKG_VERSION") } else { &r.aispm_version },
                "rules": rules,
            }},
            "automationDetails": {"id": format!("aispm/{}/{}", r.tenant, r.generated_at)},
            "invocations": [{"executionSuccessful": true, "endTimeUtc": r.generated_at}],
            "results": results,
        }],
    })
}
