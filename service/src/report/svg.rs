//! Pictures as SVG generated here (no JavaScript, no CDN), for the web pages and the reports:
//! an exposure path as boxes and arrows, open findings by severity or vendor as bars, failed
//! checks and the posture score after each evaluation, the score as a gauge. Every text is
//! escaped.

use schemas::{ExposurePath, Severity};
use std::fmt::Write;

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        text.chars().take(max - 1).collect::<String>() + "…"
    }
}

fn node_colour(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "untrusted_input" => ("#fdecea", "#b3261e"),
        "principal" => ("#fff4e5", "#d9631e"),
        "agent" => ("#e8eefc", "#2f5bd3"),
        "tool" => ("#eef7ee", "#2e7d32"),
        "data_store" | "sink" => ("#f3e8fd", "#7b3fb3"),
        _ => ("#f1f3f6", "#5b6475"),
    }
}

/// The path top to bottom: one box per node (kind and name), an arrow per edge labelled with
/// its kind. Stacked vertically so it reads the same on a phone and a desktop.
pub fn path(path: &ExposurePath) -> String {
    const W: i32 = 460;
    const BOX_H: i32 = 50;
    const GAP: i32 = 42;
    let n = path.nodes.len() as i32;
    let height = n * BOX_H + (n - 1).max(0) * GAP + 8;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg class="path" viewBox="0 0 {W} {height}" width="100%" role="img" aria-label="exposure path of {n} steps" xmlns="http://www.w3.org/2000/svg"><defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#5b6475"/></marker></defs>"##
    );
    let top = |i: i32| 4 + i * (BOX_H + GAP);
    for edge in &path.edges {
        let (from, to) = (edge.from as i32, edge.to as i32);
        if from >= n || to >= n {
            continue;
        }
        let (y1, y2) = if to > from {
            (top(from) + BOX_H, top(to) - 2)
        } else {
            (top(from), top(to) + BOX_H + 2)
        };
        let x = if (to - from).abs() == 1 { W / 2 } else { W - 24 };
        let _ = write!(
            svg,
            r##"<g class="edge"><line x1="{x}" y1="{y1}" x2="{x}" y2="{y2}" stroke="#5b6475" stroke-width="1.6" marker-end="url(#arrow)"/><text x="{}" y="{}" font-size="12" fill="#5b6475">{}</text></g>"##,
            x + 8,
            (y1 + y2) / 2 + 4,
            escape(&cut(&edge.kind.replace('_', " "), 28))
        );
    }
    for (i, node) in path.nodes.iter().enumerate() {
        let y = top(i as i32);
        let (fill, stroke) = node_colour(&node.kind);
        let _ = write!(
            svg,
            r##"<g class="node" data-kind="{}"><rect x="2" y="{y}" width="{}" height="{BOX_H}" rx="8" fill="{fill}" stroke="{stroke}" stroke-width="1.4"/><text x="14" y="{}" font-size="11" fill="{stroke}" font-weight="600">{}</text><text x="14" y="{}" font-size="14" fill="#1d2330">{}</text></g>"##,
            escape(&node.kind),
            W - 4,
            y + 17,
            escape(&node.kind.replace('_', " ").to_uppercase()),
            y + 37,
            escape(&cut(&node.name, 56))
        );
    }
    svg.push_str("</svg>");
    svg
}

pub fn severity_colour(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "#b3261e",
        Severity::High => "#d9631e",
        Severity::Medium => "#c99a06",
        Severity::Low => "#3d7fb8",
        Severity::Info => "#6b7280",
    }
}

/// Horizontal bars, one per severity, each with its count.
pub fn severity_bars(counts: &[(Severity, usize)]) -> String {
    const W: i32 = 420;
    const ROW: i32 = 30;
    let max = counts.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let height = counts.len() as i32 * ROW + 6;
    let mut svg = format!(
        r#"<svg class="chart severity" viewBox="0 0 {W} {height}" width="100%" role="img" aria-label="open findings by severity" xmlns="http://www.w3.org/2000/svg">"#
    );
    for (i, (severity, n)) in counts.iter().enumerate() {
        let y = 4 + i as i32 * ROW;
        let bar = ((W - 150) as f64 * *n as f64 / max as f64).round() as i32;
        let _ = write!(
            svg,
            r##"<g data-severity="{s}"><text x="0" y="{}" font-size="13" fill="#1d2330">{s}</text><rect x="80" y="{}" width="{}" height="18" rx="3" fill="{}"/><text x="{}" y="{}" font-size="13" fill="#1d2330">{n}</text></g>"##,
            y + 15,
            y + 2,
            bar.max(2),
            severity_colour(*severity),
            86 + bar.max(2),
            y + 15,
            s = severity.as_str()
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A line of failed checks after each evaluation (oldest first), with the first and last dates.
pub fn posture_line(points: &[(String, usize)]) -> String {
    const W: i32 = 420;
    const H: i32 = 140;
    if points.len() < 2 {
        return r#"<p class="muted small">The line appears after two evaluations.</p>"#.into();
    }
    let max = points.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1) as f64;
    let step = (W - 40) as f64 / (points.len() - 1) as f64;
    let xy: Vec<(f64, f64)> = points
        .iter()
        .enumerate()
        .map(|(i, (_, n))| {
            (
                20.0 + i as f64 * step,
                (H - 24) as f64 - (H - 44) as f64 * *n as f64 / max,
            )
        })
        .collect();
    let line: Vec<String> = xy.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
    let mut svg = format!(
        r##"<svg class="chart posture" viewBox="0 0 {W} {H}" width="100%" role="img" aria-label="failed checks after each evaluation" xmlns="http://www.w3.org/2000/svg"><line x1="20" y1="{b}" x2="{r}" y2="{b}" stroke="#dfe3ea"/><polyline points="{}" fill="none" stroke="#2f5bd3" stroke-width="2"/>"##,
        line.join(" "),
        b = H - 24,
        r = W - 20
    );
    for ((x, y), (_, n)) in xy.iter().zip(points) {
        let _ = write!(
            svg,
            r##"<circle cx="{x:.1}" cy="{y:.1}" r="3.5" fill="#2f5bd3"/><text x="{x:.1}" y="{:.1}" font-size="11" text-anchor="middle" fill="#1d2330">{n}</text>"##,
            y - 8.0
        );
    }
    let first = escape(points.first().map(|(t, _)| t.get(..10).unwrap_or(t)).unwrap_or(""));
    let last = escape(points.last().map(|(t, _)| t.get(..10).unwrap_or(t)).unwrap_or(""));
    let _ = write!(
        svg,
        r##"<text x="20" y="{H}" font-size="11" fill="#5b6475" dy="-6">{first}</text><text x="{}" y="{H}" font-size="11" fill="#5b6475" text-anchor="end" dy="-6">{last}</text></svg>"##,
        W - 20
    );
    svg
}

/// Horizontal bars with a label and a count each, in one colour.
pub fn labelled_bars(rows: &[(String, usize)], colour: &str, label: &str) -> String {
    const W: i32 = 420;
    const ROW: i32 = 30;
    const LABEL: i32 = 130;
    let max = rows.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let height = rows.len() as i32 * ROW + 6;
    let mut svg = format!(
        r#"<svg class="chart bars" viewBox="0 0 {W} {height}" width="100%" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        escape(label)
    );
    for (i, (name, n)) in rows.iter().enumerate() {
        let y = 4 + i as i32 * ROW;
        let bar = ((W - LABEL - 60) as f64 * *n as f64 / max as f64).round() as i32;
        let _ = write!(
            svg,
            r##"<g><text x="0" y="{}" font-size="13" fill="#1d2330">{}</text><rect x="{LABEL}" y="{}" width="{}" height="18" rx="3" fill="{colour}"/><text x="{}" y="{}" font-size="13" fill="#1d2330">{n}</text></g>"##,
            y + 15,
            escape(&cut(name, 18)),
            y + 2,
            bar.max(2),
            LABEL + 6 + bar.max(2),
            y + 15,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The posture score as a half-ring gauge with the number in the middle.
pub fn score_gauge(score: u32, rating: &str) -> String {
    let score = score.min(100);
    let colour = match score {
        90.. => "#2e7d32",
        70.. => "#c99a06",
        50.. => "#d9631e",
        _ => "#b3261e",
    };
    // A half circle of radius 80 from the left (180°) to the right (0°).
    let angle = std::f64::consts::PI * (1.0 - score as f64 / 100.0);
    let (x, y) = (100.0 + 80.0 * angle.cos(), 100.0 - 80.0 * angle.sin());
    format!(
        r##"<svg class="chart gauge" viewBox="0 0 200 120" width="200" height="120" role="img" aria-label="posture score {score} of 100" xmlns="http://www.w3.org/2000/svg"><path d="M20,100 A80,80 0 0 1 180,100" fill="none" stroke="#e6e9ef" stroke-width="18"/><path d="M20,100 A80,80 0 0 1 {x:.1},{y:.1}" fill="none" stroke="{colour}" stroke-width="18"/><text x="100" y="92" font-size="34" font-weight="700" text-anchor="middle" fill="#1d2330">{score}</text><text x="100" y="114" font-size="13" text-anchor="middle" fill="#5b6475">{}</text></svg>"##,
        escape(rating)
    )
}

/// Failed checks after each evaluation as bars, the posture score (0–100) as a line over them.
pub fn trend(points: &[(String, usize, Option<u32>)]) -> String {
    const W: i32 = 640;
    const H: i32 = 200;
    const BASE: i32 = H - 40;
    if points.len() < 2 {
        return r#"<p class="muted">The trend appears after two evaluations.</p>"#.into();
    }
    let max = points.iter().map(|(_, n, _)| *n).max().unwrap_or(0).max(1) as f64;
    let step = (W - 60) as f64 / points.len() as f64;
    let mut svg = format!(
        r##"<svg class="chart trend" viewBox="0 0 {W} {H}" width="100%" role="img" aria-label="failed checks and posture score after each evaluation" xmlns="http://www.w3.org/2000/svg"><line x1="30" y1="{BASE}" x2="{}" y2="{BASE}" stroke="#dfe3ea"/>"##,
        W - 30
    );
    let mut line = Vec::new();
    for (i, (_, failed, score)) in points.iter().enumerate() {
        let x = 30.0 + step * i as f64 + step * 0.2;
        let w = step * 0.6;
        let h = (BASE - 30) as f64 * *failed as f64 / max;
        let _ = write!(
            svg,
            r##"<rect x="{x:.1}" y="{:.1}" width="{w:.1}" height="{h:.1}" fill="#f3c9c4"/><text x="{:.1}" y="{}" font-size="11" text-anchor="middle" fill="#8a1c15">{failed} failed</text>"##,
            BASE as f64 - h,
            x + w / 2.0,
            BASE + 14
        );
        if let Some(score) = score {
            line.push((
                x + w / 2.0,
                BASE as f64 - (BASE - 30) as f64 * *score as f64 / 100.0,
                *score,
            ));
        }
    }
    if line.len() >= 2 {
        let pts: Vec<String> = line.iter().map(|(x, y, _)| format!("{x:.1},{y:.1}")).collect();
        let _ = write!(
            svg,
            r##"<polyline points="{}" fill="none" stroke="#2f5bd3" stroke-width="2"/>"##,
            pts.join(" ")
        );
    }
    for (x, y, score) in &line {
        let _ = write!(
            svg,
            r##"<circle cx="{x:.1}" cy="{y:.1}" r="3.5" fill="#2f5bd3"/><text x="{x:.1}" y="{:.1}" font-size="11" text-anchor="middle" fill="#2f5bd3">{score}</text>"##,
            y - 7.0
        );
    }
    let day = |t: &str| escape(t.get(..10).unwrap_or(t));
    let _ = write!(
        svg,
        r##"<text x="30" y="{H}" dy="-4" font-size="11" fill="#5b6475">{}</text><text x="{}" y="{H}" dy="-4" font-size="11" text-anchor="end" fill="#5b6475">{}</text><text x="{}" y="14" font-size="11" text-anchor="end" fill="#5b6475">bars: failed checks · line: posture score</text></svg>"##,
        day(&points[0].0),
        W - 30,
        day(&points[points.len() - 1].0),
        W - 30
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use schemas::{PathEdge, PathNode};

    #[test]
    fn a_path_picture_has_a_box_per_node_and_an_arrow_per_edge_and_escapes_names() {
        let p = ExposurePath {
            nodes: vec![
                PathNode {
                    id: "a".into(),
                    kind: "principal".into(),
                    name: "Public <script>".into(),
                },
                PathNode {
                    id: "b".into(),
                    kind: "agent".into(),
                    name: "Ops & \"co\"".into(),
                },
                PathNode {
                    id: "c".into(),
                    kind: "data_store".into(),
                    name: "All records".into(),
                },
            ],
            edges: vec![
                PathEdge {
                    from: 0,
                    to: 1,
                    kind: "invokes".into(),
                },
                PathEdge {
                    from: 1,
                    to: 2,
                    kind: "has_access".into(),
                },
                PathEdge {
                    from: 7,
                    to: 1,
                    kind: "bogus".into(),
                },
            ],
        };
        let svg = path(&p);
        assert_eq!(svg.matches(r#"<g class="node""#).count(), 3);
        assert_eq!(
            svg.matches(r#"<g class="edge">"#).count(),
            2,
            "an edge to no node is not drawn"
        );
        assert!(svg.contains("Public &lt;script&gt;") && !svg.contains("<script>"));
        assert!(svg.contains("Ops &amp; &quot;co&quot;"));
        assert!(svg.contains(">has access<"));
    }

    #[test]
    fn bars_scale_to_the_largest_count() {
        let svg = severity_bars(&[(Severity::Critical, 10), (Severity::Low, 5)]);
        assert!(svg.contains(r#"data-severity="critical""#) && svg.contains(">10<"));
        assert!(svg.contains(r#"width="270""#) && svg.contains(r#"width="135""#));
        assert!(posture_line(&[("2026-12-01".into(), 3)]).contains("two evaluations"));
        assert_eq!(
            posture_line(&[("a".into(), 3), ("b".into(), 5)])
                .matches("<circle")
                .count(),
            2
        );
    }
}
