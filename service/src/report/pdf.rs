//! The report as PDF, rendered in-process with typst: the template `report.typ` reads every
//! text from a JSON view of the model (so vendor data is data, never markup) and draws the same
//! SVG charts and path pictures as the HTML. Fonts come from typst-assets, compiled in: no
//! system font, file or network is read.

use super::{path_line, summary_sentences, svg, vendor_name, Report};
use schemas::{ChangeKind, FindingStatus};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::LazyLock;
use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};

const TEMPLATE: &str = include_str!("report.typ");

/// The fonts, parsed once per process.
static FONTS: LazyLock<(LazyHash<FontBook>, Vec<Font>)> = LazyLock::new(|| {
    let fonts: Vec<Font> = typst_assets::fonts()
        .flat_map(|data| Font::iter(Bytes::new(data)))
        .collect();
    (LazyHash::new(FontBook::from_fonts(&fonts)), fonts)
});

static LIBRARY: LazyLock<LazyHash<Library>> = LazyLock::new(|| LazyHash::new(Library::default()));

fn file_id(path: &str) -> FileId {
    FileId::new(RootedPath::new(
        VirtualRoot::Project,
        VirtualPath::new(path).expect("a valid virtual path"),
    ))
}

/// The template, its JSON view and its pictures, as typst's world.
struct ReportWorld {
    main: FileId,
    source: Source,
    files: HashMap<FileId, Bytes>,
}

impl World for ReportWorld {
    fn library(&self) -> &LazyHash<Library> {
        &LIBRARY
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &FONTS.0
    }

    fn main(&self) -> FileId {
        self.main
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main {
            Ok(self.source.clone())
        } else {
            Err(FileError::NotSource)
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        self.files
            .get(&id)
            .cloned()
            .ok_or_else(|| FileError::NotFound(id.vpath().get_without_slash().into()))
    }

    fn font(&self, index: usize) -> Option<Font> {
        FONTS.1.get(index).cloned()
    }

    fn today(&self, _offset: Option<typst::foundations::Duration>) -> Option<Datetime> {
        None
    }
}

/// SVG for typst: an explicit size from the viewBox instead of `width="100%"`.
fn fixed_size(svg: &str) -> String {
    let size = svg
        .split_once(r#"viewBox="0 0 "#)
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(wh, _)| wh.replace(' ', r#"" height=""#));
    match size {
        Some(wh) => svg.replacen(r#"width="100%""#, &format!(r#"width="{wh}""#), 1),
        None => svg.to_string(),
    }
}

/// Lets typst break long identifiers (GUIDs, URLs, dotted names) in narrow table cells: a
/// zero-width space after each separator.
fn breakable(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        out.push(c);
        if matches!(c, '-' | '/' | '_' | ':' | '.' | ',' | '=' | '"') {
            out.push('\u{200B}');
        }
    }
    out
}

fn day(t: &str) -> String {
    t.get(..10).unwrap_or(t).to_string()
}

/// What the template prints, with the pictures it embeds (path → SVG).
fn view(r: &Report) -> (Value, Vec<(String, String)>) {
    let mut pictures: Vec<(String, String)> = Vec::new();
    let mut picture = |name: String, svg: String| -> String {
        pictures.push((name.clone(), fixed_size(&svg)));
        name
    };
    let gauge = r
        .posture
        .as_ref()
        .map(|p| picture("/charts/gauge.svg".into(), svg::score_gauge(p.score, &p.rating)));
    let severity = picture("/charts/severity.svg".into(), svg::severity_bars(&r.severity_counts()));
    let vendors: Vec<(String, usize)> = r
        .open_findings_by_vendor
        .iter()
        .map(|(v, n)| (vendor_name(v).to_string(), *n))
        .collect();
    let vendor = (!vendors.is_empty()).then(|| {
        picture(
            "/charts/vendor.svg".into(),
            svg::labelled_bars(&vendors, "#2f5bd3", "by vendor"),
        )
    });
    let trend = (r.trend.len() >= 2).then(|| {
        let points: Vec<(String, usize, Option<u32>)> =
            r.trend.iter().map(|t| (t.at.clone(), t.failed, t.score)).collect();
        picture("/charts/trend.svg".into(), svg::trend(&points))
    });
    let path_findings: Vec<&schemas::Finding> = r.open_findings().filter(|f| f.path.is_some()).collect();
    let paths: Vec<Value> = path_findings
        .iter()
        .take(super::PATH_PICTURES)
        .enumerate()
        .filter_map(|(i, f)| {
            let image = picture(format!("/paths/{i}.svg"), svg::path(f.path.as_ref()?));
            Some(
                json!({"severity": f.severity.as_str(), "title": f.title, "resource": f.resource.name, "image": image}),
            )
        })
        .collect();
    let top: Vec<Value> = r
        .top_risks
        .iter()
        .filter_map(|p| r.finding(p))
        .map(|f| json!({"severity": f.severity.as_str(), "title": f.title, "resource": f.resource.name, "remediation": f.remediation}))
        .collect();
    let changes = match &r.changes {
        Some(c) => {
            let item = |p: &String| {
                r.finding(p).map(
                    |f| json!({"severity": f.severity.as_str(), "text": format!("{} — {}", f.title, f.resource.name)}),
                )
            };
            let lists: Vec<Value> = [("New", &c.opened), ("Reopened", &c.reopened), ("Resolved", &c.resolved)]
                .into_iter()
                .map(|(heading, prints)| (heading, prints.iter().filter_map(item).collect::<Vec<_>>()))
                .filter(|(_, items)| !items.is_empty())
                .map(|(heading, items)| json!({"heading": heading, "items": items}))
                .collect();
            let rows: Vec<Value> = c
                .risk_changes
                .iter()
                .map(|ch| {
                    let what: Vec<String> = match ch.change {
                        ChangeKind::Added => vec!["added".into()],
                        ChangeKind::Removed => vec!["removed".into()],
                        ChangeKind::Changed => ch
                            .fields
                            .iter()
                            .map(|f| {
                                breakable(&format!(
                                    "{}: {} → {}",
                                    f.path,
                                    cut(&f.old.to_string()),
                                    cut(&f.new.to_string())
                                ))
                            })
                            .collect(),
                    };
                    let findings: Vec<String> = ch.flipped(r).split("; ").map(str::to_string).collect();
                    json!({
                        "resource": breakable(&ch.resource_name),
                        "kind": format!("{} {}", vendor_name(&ch.provider), ch.resource_kind.replace('_', " ")),
                        "what": what,
                        "why": ch.why(r),
                        "findings": findings,
                    })
                })
                .collect();
            json!({
                "since_what": c.since_what,
                "baseline": c.since.is_none(),
                "baseline_text": "This is the first scan of this tenant: it is the baseline. The next report lists new, resolved and reopened findings and the changes that widened exposure.",
                "since_text": format!("Since {} UTC.", c.since.as_deref().unwrap_or("").replace('T', " ").chars().take(16).collect::<String>()),
                "cards": [
                    {"label": "new findings", "count": c.opened.len()},
                    {"label": "reopened", "count": c.reopened.len()},
                    {"label": "resolved", "count": c.resolved.len()},
                    {"label": "risk changes", "count": c.risk_changes.len()},
                ],
                "lists": lists,
                "risk_rows": rows,
                "other": c.other_changes,
            })
        }
        None => {
            json!({"since_what": "the last report", "baseline": true, "baseline_text": "This report was kept before aispm recorded changes.", "since_text": "", "cards": [], "lists": [], "risk_rows": [], "other": 0})
        }
    };
    let frameworks: Vec<Value> = r
        .frameworks
        .iter()
        .map(|fw| {
            json!({
                "name": fw.name,
                "items": fw.items.iter().map(|i| json!({"id": i.id, "title": i.title, "count": i.findings.len()})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let agents: Vec<Value> = r
        .agents
        .iter()
        .map(|a| {
            let worst = a.findings.iter().filter_map(|p| r.finding(p)).map(|f| f.severity).max();
            json!({
                "name": a.name,
                "meta": format!("{} · {}{}{}", vendor_name(&a.provider), a.kind.replace('_', " "),
                    if a.active { "" } else { " · inactive" }, if a.autonomous { " · autonomous" } else { "" }),
                "invokers": breakable(&a.invokers.join(", ")),
                "runs_as": breakable(&a.runs_as),
                "reaches": breakable(&a.reaches.join(", ")),
                "findings": a.findings.len().to_string(),
                "worst": worst.map(|s| s.as_str()),
            })
        })
        .collect();
    let gaps: Vec<Value> = r
        .not_seen
        .iter()
        .map(|g| json!({"resource": breakable(&g.resource), "status": format!("{:?}", g.status).to_lowercase(), "why": g.error.as_deref().unwrap_or("no detail")}))
        .collect();
    let not_assessed_all = r
        .evaluation
        .as_ref()
        .map(|e| e.not_assessed_results.as_slice())
        .unwrap_or(&[]);
    let not_assessed: Vec<Value> = not_assessed_all
        .iter()
        .take(40)
        .map(|n| json!({"rule": n.rule_id, "resource": breakable(&n.resource_id), "why": n.reason.as_deref().unwrap_or("")}))
        .collect();
    let findings: Vec<Value> = r
        .findings
        .iter()
        .filter(|f| f.status == FindingStatus::Open)
        .map(|f| {
            let fw = &f.frameworks;
            let tags: Vec<&String> = fw
                .owasp_llm_2025
                .iter()
                .chain(&fw.owasp_agentic)
                .chain(&fw.mitre_atlas)
                .chain(&fw.nist_ai_rmf)
                .collect();
            json!({
                "severity": f.severity.as_str(),
                "title": f.title,
                "meta": format!("{} · {} {} · {} · first seen {}, last seen {}", f.rule_id, f.resource.kind.replace('_', " "),
                    f.resource.name, vendor_name(&f.resource.provider), day(&f.first_seen), day(&f.last_seen)),
                "message": f.message,
                "path": path_line(f),
                "evidence": serde_json::to_string_pretty(&f.evidence).unwrap_or_default(),
                "remediation": f.remediation,
                "tags": tags.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(" · "),
            })
        })
        .collect();
    let view = json!({
        "title": format!("AI security posture report: {}", r.tenant),
        "subtitle": format!("Generated {} UTC by aispm {} · {} connection(s) · {} agent(s)",
            r.generated_at.replace('T', " ").chars().take(16).collect::<String>(), r.aispm_version, r.connections.len(), r.agents.len()),
        "gauge": gauge,
        "score_explained": if r.posture.is_some() { super::SCORE_EXPLAINED } else { "No score yet: nothing has been evaluated." },
        "summary": summary_sentences(r),
        "top": top,
        "changes": changes,
        "charts": {"severity": severity, "vendor": vendor, "trend": trend},
        "paths": paths,
        "paths_more": path_findings.len().saturating_sub(super::PATH_PICTURES),
        "frameworks": frameworks,
        "agents": agents,
        "gaps": gaps,
        "not_assessed": not_assessed,
        "not_assessed_total": not_assessed_all.len(),
        "findings": findings,
    });
    (view, pictures)
}

fn cut(text: &str) -> String {
    if text.chars().count() <= 60 {
        text.to_string()
    } else {
        text.chars().take(59).collect::<String>() + "…"
    }
}

/// Renders the report to PDF bytes.
pub fn render(r: &Report) -> Result<Vec<u8>, String> {
    let (view, pictures) = view(r);
    let main = file_id("/report.typ");
    let mut files = HashMap::new();
    files.insert(
        file_id("/view.json"),
        Bytes::new(serde_json::to_vec(&view).map_err(|e| e.to_string())?),
    );
    for (name, svg) in pictures {
        files.insert(file_id(&name), Bytes::new(svg.into_bytes()));
    }
    let world = ReportWorld {
        main,
        source: Source::new(main, TEMPLATE.to_string()),
        files,
    };
    let document = typst::compile::<typst_layout::PagedDocument>(&world)
        .output
        .map_err(|errors| {
            let first = errors.first().map(|e| e.message.to_string()).unwrap_or_default();
            format!("the PDF could not be laid out: {first}")
        })?;
    typst_pdf::pdf(&document, &typst_pdf::PdfOptions::default()).map_err(|errors| {
        let first = errors.first().map(|e| e.message.to_string()).unwrap_or_default();
        format!("the PDF could not be written: {first}")
    })
}
