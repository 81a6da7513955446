//! The report as one self-contained HTML file (inline CSS and SVG, no script, nothing fetched)
//! that a security lead can forward: the summary in plain words first, the detail after, and
//! print styles so it prints as a document.

use super::svg::{self, escape};
use super::{frameworks, path_line, vendor_name, Report};
use schemas::{ChangeKind, Finding, FindingStatus, Severity};
use std::fmt::Write;

const STYLE: &str = r#"
:root{--ink:#1d2330;--muted:#5b6475;--line:#dfe3ea;--soft:#f6f7f9;--accent:#2f5bd3}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:#fff}
main{max-width:980px;margin:0 auto;padding:32px 28px 64px}
header.cover{border-bottom:3px solid var(--ink);padding-bottom:14px;margin-bottom:26px}
header.cover h1{font-size:28px;margin:0 0 4px}
.muted{color:var(--muted)}
.small{font-size:12px}
.nowrap{white-space:nowrap}
h2{font-size:21px;margin:38px 0 10px;padding-top:6px;border-top:1px solid var(--line)}
h3{font-size:16px;margin:22px 0 8px}
.summary{display:grid;grid-template-columns:220px 1fr;gap:26px;align-items:start}
.cards{display:grid;grid-template-columns:repeat(4,1fr);gap:12px;margin:12px 0}
.card{background:var(--soft);border:1px solid var(--line);border-radius:8px;padding:12px 14px}
.card b{display:block;font-size:26px}
.two{display:grid;grid-template-columns:1fr 1fr;gap:26px}
table{border-collapse:collapse;width:100%;margin:8px 0 14px;font-size:13.5px}
th,td{text-align:left;vertical-align:top;padding:6px 8px;border-bottom:1px solid var(--line);overflow-wrap:anywhere}
th{background:var(--soft);font-weight:600}
.sev{display:inline-block;min-width:64px;text-align:center;border-radius:4px;padding:1px 6px;color:#fff;font-size:12px;font-weight:600;text-transform:uppercase}
.sev-critical{background:#b3261e}.sev-high{background:#d9631e}.sev-medium{background:#c99a06}.sev-low{background:#3d7fb8}.sev-info{background:#6b7280}
ol.top li{margin:6px 0}
.finding{border:1px solid var(--line);border-radius:8px;padding:12px 16px;margin:14px 0;break-inside:avoid}
.finding h3{margin:0 0 6px}
pre{background:var(--soft);border:1px solid var(--line);border-radius:6px;padding:8px 10px;font-size:12px;white-space:pre-wrap;word-break:break-word;margin:6px 0}
.path{max-width:520px;margin:6px 0 10px;break-inside:avoid}
.zero{color:var(--muted)}
.tag{display:inline-block;background:#eef1f6;border-radius:4px;padding:0 6px;margin:0 4px 2px 0;font-size:12px}
a{color:var(--accent)}
footer{margin-top:40px;font-size:12.5px;color:var(--muted)}
@media (max-width:720px){.summary,.two{grid-template-columns:1fr}.cards{grid-template-columns:repeat(2,1fr)}}
@media print{
 @page{size:A4;margin:16mm 14mm}
 body{font-size:11.5pt}
 main{max-width:none;padding:0}
 h2{break-after:avoid}
 .card,.finding,table,svg{break-inside:avoid}
 a{color:inherit;text-decoration:none}
}
"#;

fn badge(s: Severity) -> String {
    format!(r#"<span class="sev sev-{0}">{0}</span>"#, s.as_str())
}

fn day(t: &str) -> &str {
    t.get(..10).unwrap_or(t)
}

fn finding_link(f: &Finding) -> String {
    format!(
        r##"{} <a href="#f-{}">{}</a> — {}"##,
        badge(f.severity),
        escape(&f.fingerprint),
        escape(&f.title),
        escape(&f.resource.name)
    )
}

pub fn render(r: &Report) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>AI security posture: {tenant}</title><style>{STYLE}</style></head><body><main>"#,
        tenant = escape(&r.tenant)
    );
    let _ = write!(
        h,
        r#"<header class="cover"><h1>AI security posture report: {}</h1><div class="muted">Generated {} UTC by aispm {} · {} connection(s) · {} agent(s)</div></header>"#,
        escape(&r.tenant),
        escape(&r.generated_at.replace('T', " ").chars().take(16).collect::<String>()),
        escape(&r.aispm_version),
        r.connections.len(),
        r.agents.len()
    );
    summary(&mut h, r);
    changes(&mut h, r);
    charts(&mut h, r);
    paths(&mut h, r);
    frameworks_section(&mut h, r);
    agents(&mut h, r);
    coverage(&mut h, r);
    findings(&mut h, r);
    let _ = write!(
        h,
        r#"<footer>Findings come from aispm's rules over what the vendors' APIs returned, read-only. A finding's fingerprint stays the same across scans, so it can be tracked and suppressed elsewhere. Evidence shows the values each rule looked at.</footer></main></body></html>"#
    );
    h
}

fn summary(h: &mut String, r: &Report) {
    let _ = write!(
        h,
        r#"<section id="summary"><h2>Executive summary</h2><div class="summary"><div>"#
    );
    match &r.posture {
        Some(p) => {
            let _ = write!(
                h,
                r#"{}<p class="muted small">{}</p>"#,
                svg::score_gauge(p.score, &p.rating),
                escape(super::SCORE_EXPLAINED)
            );
        }
        None => h.push_str(r#"<p class="muted">No score yet: nothing has been evaluated.</p>"#),
    }
    h.push_str("</div><div>");
    for sentence in super::summary_sentences(r) {
        let _ = write!(h, "<p>{}</p>", escape(&sentence));
    }
    if !r.top_risks.is_empty() {
        h.push_str(r#"<h3>The risks that matter most</h3><ol class="top">"#);
        for print in &r.top_risks {
            if let Some(f) = r.finding(print) {
                let _ = write!(
                    h,
                    "<li>{}<br><span class=\"muted\">{}</span></li>",
                    finding_link(f),
                    escape(&f.remediation)
                );
            }
        }
        h.push_str("</ol>");
    }
    h.push_str("</div></div></section>");
}

fn changes(h: &mut String, r: &Report) {
    let Some(c) = &r.changes else { return };
    let _ = write!(
        h,
        r#"<section id="changes"><h2>What changed since {}</h2>"#,
        escape(&c.since_what)
    );
    let Some(since) = &c.since else {
        h.push_str("<p>This is the first scan of this tenant: it is the baseline. The next report lists new, resolved and reopened findings and the changes that widened exposure.</p></section>");
        return;
    };
    let _ = write!(
        h,
        r#"<p class="muted">Since {} UTC.</p><div class="cards"><div class="card"><b>{}</b>new findings</div><div class="card"><b>{}</b>reopened</div><div class="card"><b>{}</b>resolved</div><div class="card"><b>{}</b>risk changes</div></div>"#,
        escape(&since.replace('T', " ").chars().take(16).collect::<String>()),
        c.opened.len(),
        c.reopened.len(),
        c.resolved.len(),
        c.risk_changes.len()
    );
    for (title, prints) in [("New", &c.opened), ("Reopened", &c.reopened), ("Resolved", &c.resolved)] {
        let list: Vec<&Finding> = prints.iter().filter_map(|p| r.finding(p)).collect();
        if list.is_empty() {
            continue;
        }
        let _ = write!(h, "<h3>{title}</h3><ul>");
        for f in list {
            if f.status == FindingStatus::Resolved {
                let _ = write!(
                    h,
                    "<li>{} {} — {}</li>",
                    badge(f.severity),
                    escape(&f.title),
                    escape(&f.resource.name)
                );
            } else {
                let _ = write!(h, "<li>{}</li>", finding_link(f));
            }
        }
        h.push_str("</ul>");
    }
    if !c.risk_changes.is_empty() {
        h.push_str("<h3>Changes that widened exposure or flipped a rule</h3><table><tr><th>Resource</th><th>What changed</th><th>Why it matters</th><th>Findings</th></tr>");
        for ch in &c.risk_changes {
            let what = match ch.change {
                ChangeKind::Added => "added".to_string(),
                ChangeKind::Removed => "removed".to_string(),
                ChangeKind::Changed => ch
                    .fields
                    .iter()
                    .map(|f| {
                        format!(
                            "<code>{}</code>: {} → {}",
                            escape(&f.path),
                            escape(&cut(&f.old.to_string(), 60)),
                            escape(&cut(&f.new.to_string(), 60))
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("<br>"),
            };
            let _ = write!(
                h,
                "<tr><td>{}<br><span class=\"muted\">{} {}</span></td><td>{what}</td><td>{}</td><td class=\"nowrap\">{}</td></tr>",
                escape(&ch.resource_name),
                escape(vendor_name(&ch.provider)),
                escape(&ch.resource_kind.replace('_', " ")),
                escape(&ch.why(r)),
                escape(&ch.flipped(r)).replace("; ", "<br>")
            );
        }
        h.push_str("</table>");
    }
    if c.other_changes > 0 {
        let _ = write!(
            h,
            "<p class=\"muted\">{} other change(s) narrowed exposure or did not affect it (`aispm changes` lists every one).</p>",
            c.other_changes
        );
    }
    h.push_str("</section>");
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        text.chars().take(max - 1).collect::<String>() + "…"
    }
}

fn charts(h: &mut String, r: &Report) {
    let vendors: Vec<(String, usize)> = r
        .open_findings_by_vendor
        .iter()
        .map(|(v, n)| (vendor_name(v).to_string(), *n))
        .collect();
    let _ = write!(
        h,
        r#"<section id="charts"><h2>Open findings</h2><div class="two"><div><h3>By severity</h3>{}</div><div><h3>By vendor</h3>{}</div></div><h3>Trend over the last scans</h3>{}</section>"#,
        svg::severity_bars(&r.severity_counts()),
        if vendors.is_empty() {
            r#"<p class="muted">None.</p>"#.to_string()
        } else {
            svg::labelled_bars(&vendors, "#2f5bd3", "open findings by vendor")
        },
        svg::trend(
            &r.trend
                .iter()
                .map(|t| (t.at.clone(), t.failed, t.score))
                .collect::<Vec<_>>()
        )
    );
}

fn paths(h: &mut String, r: &Report) {
    let list: Vec<&Finding> = r.open_findings().filter(|f| f.path.is_some()).collect();
    h.push_str(r#"<section id="paths"><h2>Exposure paths</h2>"#);
    if list.is_empty() {
        h.push_str("<p>No exposure path was found: no untrusted input or outside audience reaches sensitive data or an outbound channel through an agent.</p></section>");
        return;
    }
    h.push_str("<p class=\"muted\">Each picture reads top to bottom: where the input or person comes from, the agent it reaches, and what the agent can read or send out.</p>");
    for f in list.iter().take(super::PATH_PICTURES) {
        let _ = write!(
            h,
            "<div class=\"finding\"><h3>{}</h3>{}</div>",
            finding_link(f),
            f.path.as_ref().map(svg::path).unwrap_or_default()
        );
    }
    if list.len() > super::PATH_PICTURES {
        let _ = write!(
            h,
            "<p>+{} more exposure paths, listed under findings.</p>",
            list.len() - super::PATH_PICTURES
        );
    }
    h.push_str("</section>");
}

fn frameworks_section(h: &mut String, r: &Report) {
    if r.frameworks.is_empty() {
        return;
    }
    h.push_str(r#"<section id="frameworks"><h2>By framework</h2><p class="muted">Which items of each framework have open findings. Items without findings are listed too: they are not a pass, only what aispm's rules check found nothing there.</p><div class="two">"#);
    for fw in &r.frameworks {
        let _ = write!(
            h,
            "<div><h3>{}</h3><table><tr><th>Item</th><th>Open</th></tr>",
            escape(&fw.name)
        );
        for item in &fw.items {
            let title = if item.title.is_empty() {
                frameworks::FRAMEWORKS
                    .iter()
                    .flat_map(|f| f.items.iter())
                    .find(|(id, _)| *id == item.id)
                    .map(|(_, t)| *t)
                    .unwrap_or("")
            } else {
                &item.title
            };
            let class = if item.findings.is_empty() {
                " class=\"zero\""
            } else {
                ""
            };
            let _ = write!(
                h,
                "<tr{class}><td><b>{}</b> {}</td><td>{}</td></tr>",
                escape(&item.id),
                escape(title),
                item.findings.len()
            );
        }
        h.push_str("</table></div>");
    }
    h.push_str("</div></section>");
}

fn agents(h: &mut String, r: &Report) {
    h.push_str(r#"<section id="agents"><h2>Agents</h2>"#);
    if r.agents.is_empty() {
        h.push_str("<p>No agents were read.</p></section>");
        return;
    }
    h.push_str("<table><tr><th>Agent</th><th>Who can invoke it</th><th>Runs as</th><th>What it reaches</th><th>Open findings</th></tr>");
    for a in &r.agents {
        let worst = a.findings.iter().filter_map(|p| r.finding(p)).map(|f| f.severity).max();
        let _ = write!(
            h,
            "<tr><td><b>{}</b><br><span class=\"muted\">{} · {}{}{}</span></td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td></tr>",
            escape(&a.name),
            escape(vendor_name(&a.provider)),
            escape(&a.kind.replace('_', " ")),
            if a.active { "" } else { " · inactive" },
            if a.autonomous { " · autonomous" } else { "" },
            escape(&cut(&a.invokers.join(", "), 160)),
            escape(&a.runs_as),
            escape(&cut(&a.reaches.join(", "), 220)),
            a.findings.len(),
            worst.map(|s| format!(" {}", badge(s))).unwrap_or_default()
        );
    }
    h.push_str("</table></section>");
}

fn coverage(h: &mut String, r: &Report) {
    h.push_str(r#"<section id="coverage"><h2>What we could not see, and why</h2>"#);
    if r.not_seen.is_empty() {
        h.push_str("<p>Every resource the connectors read was collected.</p>");
    } else {
        h.push_str("<p class=\"muted\">Rules that need these are reported as not assessed, never as passed.</p><table><tr><th>Resource</th><th>Status</th><th>Why</th></tr>");
        for g in &r.not_seen {
            let _ = write!(
                h,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                escape(&g.resource),
                escape(&format!("{:?}", g.status).to_lowercase()),
                escape(g.error.as_deref().unwrap_or("no detail"))
            );
        }
        h.push_str("</table>");
    }
    if let Some(e) = &r.evaluation {
        if !e.not_assessed_results.is_empty() {
            let _ = write!(
                h,
                "<h3>Checks not assessed ({})</h3><table><tr><th>Rule</th><th>Resource</th><th>Why</th></tr>",
                e.not_assessed_results.len()
            );
            for n in e.not_assessed_results.iter().take(40) {
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                    escape(&n.rule_id),
                    escape(&cut(&n.resource_id, 60)),
                    escape(n.reason.as_deref().unwrap_or(""))
                );
            }
            h.push_str("</table>");
            if e.not_assessed_results.len() > 40 {
                let _ = write!(h, "<p class=\"muted\">+{} more.</p>", e.not_assessed_results.len() - 40);
            }
        }
    }
    h.push_str("</section>");
}

fn findings(h: &mut String, r: &Report) {
    let open: Vec<&Finding> = r.open_findings().collect();
    let _ = write!(h, r#"<section id="findings"><h2>Findings ({})</h2>"#, open.len());
    for f in open {
        let fw = &f.frameworks;
        let tags: String = fw
            .owasp_llm_2025
            .iter()
            .chain(&fw.owasp_agentic)
            .chain(&fw.mitre_atlas)
            .chain(&fw.nist_ai_rmf)
            .map(|t| format!(r#"<span class="tag">{}</span>"#, escape(t)))
            .collect();
        let _ = write!(
            h,
            r#"<div class="finding" id="f-{print}"><h3>{badge} {title}</h3><div class="muted">{rule} · {kind} <b>{resource}</b> · {vendor} · first seen {first}, last seen {last}</div><p>{message}</p>"#,
            print = escape(&f.fingerprint),
            badge = badge(f.severity),
            title = escape(&f.title),
            rule = escape(&f.rule_id),
            kind = escape(&f.resource.kind.replace('_', " ")),
            resource = escape(&f.resource.name),
            vendor = escape(vendor_name(&f.resource.provider)),
            first = day(&f.first_seen),
            last = day(&f.last_seen),
            message = escape(&f.message)
        );
        if let Some(line) = path_line(f) {
            let _ = write!(h, "<p><b>Path:</b> {}</p>", escape(&line));
        }
        let _ = write!(
            h,
            "<b>Evidence</b><pre>{}</pre><p><b>Remediation:</b> {}</p><div>{tags}</div></div>",
            escape(&serde_json::to_string_pretty(&f.evidence).unwrap_or_default()),
            escape(&f.remediation)
        );
    }
    h.push_str("</section>");
}
