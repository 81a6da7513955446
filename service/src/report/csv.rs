//! The report's findings as CSV (RFC 4180), one row per finding, with stable columns: new
//! columns are only ever appended. Cells that a spreadsheet would run as a formula get a
//! leading apostrophe (vendor data is not trusted).

use super::{path_line, Report};

/// The columns, in order (documented in the README).
pub const COLUMNS: [&str; 19] = [
    "fingerprint",
    "status",
    "severity",
    "rule_id",
    "title",
    "provider",
    "connection_id",
    "resource_kind",
    "resource_id",
    "resource_name",
    "first_seen",
    "last_seen",
    "path",
    "owasp_llm_2025",
    "owasp_agentic",
    "mitre_atlas",
    "nist_ai_rmf",
    "message",
    "remediation",
];

fn field(text: &str) -> String {
    let text = match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_string(),
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

pub fn render(r: &Report) -> String {
    let mut out = COLUMNS.join(",") + "\r\n";
    for f in &r.findings {
        let status = match f.status {
            schemas::FindingStatus::Open => "open",
            schemas::FindingStatus::Resolved => "resolved",
        };
        let row = [
            f.fingerprint.as_str(),
            status,
            f.severity.as_str(),
            &f.rule_id,
            &f.title,
            &f.resource.provider,
            &f.resource.connection_id,
            &f.resource.kind,
            &f.resource.id,
            &f.resource.name,
            &f.first_seen,
            &f.last_seen,
            &path_line(f).unwrap_or_default(),
            &f.frameworks.owasp_llm_2025.join(" "),
            &f.frameworks.owasp_agentic.join(" "),
            &f.frameworks.mitre_atlas.join(" "),
            &f.frameworks.nist_ai_rmf.join(" "),
            &f.message,
            &f.remediation,
        ];
        out += &row.iter().map(|c| field(c)).collect::<Vec<_>>().join(",");
        out += "\r\n";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\"\nthere"), "\"say \"\"hi\"\"\nthere\"");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("-1"), "'-1");
    }
}
