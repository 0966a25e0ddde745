//! Inline SVG charts for the admin pages: a sparkline per table cell, and larger charts on a
//! plugin's page. Server-rendered, no script, no fetch. Each chart carries its numbers in
//! `data-*` attributes (for scripts and tests) and a `<title>` (for a hover).
//!
//! Only numbers and the host's own labels reach the SVG: nothing a plugin chose.

use std::fmt::Write;

/// One line of a chart: its name (a CSS class too) and a value per minute (None: no data).
pub struct Line<'a> {
    pub name: &'static str,
    pub values: &'a [Option<f64>],
}

/// Where versions were loaded on the time axis: the minute's index, and the version number.
pub type Marks<'a> = &'a [(usize, u32)];

const COLORS: [&str; 4] = ["#2563eb", "#dc2626", "#9333ea", "#059669"];

fn max_of(lines: &[Line<'_>]) -> f64 {
    (lines.iter())
        .flat_map(|l| l.values.iter().flatten())
        .fold(0.0f64, |a, &b| a.max(b))
}

/// The numbers as `data-values`: `-` for a minute without data.
fn data_values(values: &[Option<f64>]) -> String {
    let shown: Vec<String> = (values.iter())
        .map(|v| match v {
            Some(v) => format!("{}", (v * 1000.0).round() / 1000.0),
            None => "-".into(),
        })
        .collect();
    shown.join(",")
}

/// Polylines for `values` within `w` x `h` (gaps where there is no data).
fn paths(out: &mut String, values: &[Option<f64>], max: f64, w: f64, h: f64, color: &str) {
    let n = values.len().max(2) - 1;
    let x = |i: usize| i as f64 * w / n as f64;
    let y = |v: f64| h - if max > 0.0 { v / max * (h - 2.0) } else { 0.0 } - 1.0;
    let mut run: Vec<String> = Vec::new();
    let flush = |run: &mut Vec<String>, out: &mut String| {
        match run.len() {
            0 => {}
            1 => {
                // A lone point: a dot, so a single minute of data still shows.
                let (px, py) = run[0].split_once(',').unwrap_or(("0", "0"));
                let _ = write!(
                    out,
                    r#"<circle cx="{px}" cy="{py}" r="1.5" fill="{color}"/>"#
                );
            }
            _ => {
                let _ = write!(
                    out,
                    r#"<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{}"/>"#,
                    run.join(" ")
                );
            }
        }
        run.clear();
    };
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => run.push(format!("{:.1},{:.1}", x(i), y(*v))),
            None => flush(&mut run, out),
        }
    }
    flush(&mut run, out);
}

fn marks_svg(out: &mut String, marks: Marks<'_>, points: usize, w: f64, h: f64, labels: bool) {
    let n = points.max(2) - 1;
    for &(i, version) in marks {
        let x = i as f64 * w / n as f64;
        let _ = write!(
            out,
            r##"<line class="reload" data-minute-index="{i}" data-version="{version}" x1="{x:.1}" x2="{x:.1}" y1="0" y2="{h}" stroke="#f59e0b" stroke-dasharray="2,2"><title>v{version} loaded</title></line>"##
        );
        if labels {
            let _ = write!(
                out,
                r##"<text x="{:.1}" y="10" font-size="10" fill="#b45309">v{version}</text>"##,
                x + 2.0
            );
        }
    }
}

/// A number with as many decimals as its size needs (`1234`, `12.3`, `0.042`).
fn short(v: f64) -> String {
    match v {
        v if v >= 100.0 => format!("{v:.0}"),
        v if v >= 1.0 => format!("{v:.1}"),
        v => format!("{v:.3}"),
    }
}

/// A small chart for a table cell: one line, the reload marks, its last value in the title.
pub fn sparkline(kind: &str, line: &Line<'_>, marks: Marks<'_>, unit: &str) -> String {
    let (w, h) = (120.0, 24.0);
    let max = max_of(std::slice::from_ref(line));
    let last = line.values.iter().rev().flatten().next();
    let title = match last {
        Some(v) => format!("{kind}: last {v:.1}{unit}, max {max:.1}{unit} over the hour"),
        None => format!("{kind}: no calls this hour"),
    };
    let mut svg = format!(
        r#"<svg class="spark {kind}" data-series="{kind}" data-values="{}" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img"><title>{title}</title>"#,
        data_values(line.values)
    );
    marks_svg(&mut svg, marks, line.values.len(), w, h, false);
    paths(&mut svg, line.values, max, w, h, COLORS[0]);
    svg.push_str("</svg>");
    svg
}

/// A chart for a plugin's page: several lines on one axis from 0 to their max, the time
/// axis from `-span` minutes to now, the reload marks labelled.
pub fn chart(id: &str, title: &str, unit: &str, lines: &[Line<'_>], marks: Marks<'_>) -> String {
    let (w, h, left, bottom) = (600.0, 150.0, 48.0, 18.0);
    let max = max_of(lines);
    let top = short(max);
    let points = lines.first().map_or(0, |l| l.values.len());
    let mut svg = format!(
        r#"<figure class="chart" id="{id}"><figcaption>{title}</figcaption><svg width="{}" height="{}" viewBox="0 0 {} {}" role="img"><title>{title}</title>"#,
        w + left,
        h + bottom,
        w + left,
        h + bottom
    );
    // Axes and their labels.
    let _ = write!(
        svg,
        r##"<text x="0" y="10" font-size="10">{top}{unit}</text><text x="0" y="{h}" font-size="10">0</text><text x="{left}" y="{}" font-size="10">-{} min</text><text x="{}" y="{}" font-size="10">now</text><g transform="translate({left},0)"><rect width="{w}" height="{h}" fill="none" stroke="#ddd"/>"##,
        h + 14.0,
        points.saturating_sub(1),
        left + w - 20.0,
        h + 14.0
    );
    marks_svg(&mut svg, marks, points, w, h, true);
    for (i, line) in lines.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let _ = write!(
            svg,
            r#"<g class="line {name}" data-series="{name}" data-values="{values}">"#,
            name = line.name,
            values = data_values(line.values)
        );
        paths(&mut svg, line.values, max, w, h, color);
        svg.push_str("</g>");
    }
    svg.push_str("</g></svg><p class=\"legend\">");
    for (i, line) in lines.iter().enumerate() {
        let _ = write!(
            svg,
            r#"<span style="color:{}">■ {}</span> "#,
            COLORS[i % COLORS.len()],
            line.name.replace('_', " ")
        );
    }
    svg.push_str("</p></figure>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_carries_its_values_and_marks() {
        let values = [None, Some(2.0), Some(4.0), None, Some(1.0)];
        let svg = sparkline(
            "calls",
            &Line {
                name: "calls",
                values: &values,
            },
            &[(2, 3)],
            "/min",
        );
        assert!(svg.contains(r#"data-values="-,2,4,-,1""#), "{svg}");
        assert!(
            svg.contains(r#"data-minute-index="2" data-version="3""#),
            "{svg}"
        );
        assert!(svg.contains("<polyline"), "{svg}");
        assert!(svg.contains("<circle"), "a lone point shows: {svg}");
        assert!(svg.contains("last 1.0/min, max 4.0/min"), "{svg}");
    }

    #[test]
    fn an_empty_chart_draws_axes_only() {
        let svg = chart(
            "x",
            "Calls",
            "",
            &[Line {
                name: "calls",
                values: &[None; 60],
            }],
            &[],
        );
        assert!(
            !svg.contains("<polyline") && svg.contains("-59 min"),
            "{svg}"
        );
    }
}
