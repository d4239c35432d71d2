//! Charts as inline SVG drawn on the server: markup, not script, so they work
//! under the strict CSP and without JavaScript. Colours come from classes in
//! the stylesheet; every chart has a title for assistive technology and
//! prints its numbers as text.

use maud::{html, Markup};

/// One bar: label, value, optional link, and a class for its colour.
pub struct Bar {
    pub label: String,
    pub value: u64,
    pub href: Option<String>,
    pub class: String,
}

const BAR_H: u32 = 22;
const GAP: u32 = 8;
const LABEL_W: u32 = 150;
const PLOT_W: u32 = 260;
const VALUE_W: u32 = 60;

/// Horizontal bars scaled to the largest value.
pub fn bars(title: &str, rows: &[Bar]) -> Markup {
    if rows.is_empty() {
        return html! { p.muted { (title) ": nothing yet." } };
    }
    let max = rows.iter().map(|r| r.value).max().unwrap_or(0).max(1);
    let height = rows.len() as u32 * (BAR_H + GAP);
    let width = LABEL_W + PLOT_W + VALUE_W;
    html! {
        svg.chart viewBox=(format!("0 0 {width} {height}")) role="img" aria-label=(title) xmlns="http://www.w3.org/2000/svg" {
            title { (title) }
            @for (i, r) in rows.iter().enumerate() {
                @let y = i as u32 * (BAR_H + GAP);
                @let w = (r.value as f64 / max as f64 * PLOT_W as f64).round().max(if r.value > 0 { 2.0 } else { 0.0 });
                @let body = html! {
                    text.label x=(LABEL_W - 8) y=(y + BAR_H / 2 + 5) text-anchor="end" { (truncate(&r.label, 22)) }
                    rect class=(format!("bar {}", r.class)) x=(LABEL_W) y=(y) width=(w) height=(BAR_H) rx="3" {}
                    text.value x=(LABEL_W as f64 + w + 6.0) y=(y + BAR_H / 2 + 5) { (r.value) }
                };
                @if let Some(h) = &r.href {
                    a href=(h) { title { (r.label) ": " (r.value) } (body) }
                } @else {
                    g { title { (r.label) ": " (r.value) } (body) }
                }
            }
        }
    }
}

/// A donut of parts of a whole, with a legend.
pub fn donut(title: &str, parts: &[(String, u64, String)]) -> Markup {
    let total: u64 = parts.iter().map(|p| p.1).sum();
    // A circle of circumference 100 lets dash lengths be percentages.
    let r = 100.0 / (2.0 * std::f64::consts::PI);
    let mut offset = 25.0;
    let mut arcs = Vec::new();
    for (label, value, class) in parts {
        let pct = if total == 0 { 0.0 } else { *value as f64 * 100.0 / total as f64 };
        arcs.push((label, *value, class, pct, offset));
        offset -= pct;
    }
    html! {
        figure.donut {
            svg.chart viewBox="0 0 42 42" role="img" aria-label=(title) xmlns="http://www.w3.org/2000/svg" {
                title { (title) }
                circle.ring cx="21" cy="21" r=(format!("{r:.4}")) fill="none" stroke-width="6" {}
                @for (label, value, class, pct, off) in &arcs {
                    @if *pct > 0.0 {
                        circle class=(format!("arc {class}")) cx="21" cy="21" r=(format!("{r:.4}")) fill="none" stroke-width="6"
                            stroke-dasharray=(format!("{pct:.3} {:.3}", 100.0 - pct)) stroke-dashoffset=(format!("{off:.3}")) {
                            title { (label) ": " (value) }
                        }
                    }
                }
                text.donut-total x="21" y="23" text-anchor="middle" { (total) }
            }
            figcaption {
                ul.legend {
                    @for (label, value, class, _, _) in &arcs {
                        li { span class=(format!("swatch {class}")) aria-hidden="true" {} (label) ": " strong { (value) } }
                    }
                }
            }
        }
    }
}

/// A line over time: `(timestamp_ms, value)` oldest first.
pub fn line(title: &str, points: &[(i64, u64)]) -> Markup {
    const W: f64 = 480.0;
    const H: f64 = 140.0;
    const PAD: f64 = 24.0;
    if points.is_empty() {
        return html! { p.muted { (title) ": no points yet; one is recorded each time the dashboard is recomputed." } };
    }
    let (t0, t1) = (points[0].0, points[points.len() - 1].0);
    let max = points.iter().map(|p| p.1).max().unwrap_or(0).max(1);
    let x = |t: i64| if t1 == t0 { W / 2.0 } else { PAD + (t - t0) as f64 / (t1 - t0) as f64 * (W - 2.0 * PAD) };
    let y = |v: u64| H - PAD - v as f64 / max as f64 * (H - 2.0 * PAD);
    let coords: Vec<String> = points.iter().map(|(t, v)| format!("{:.1},{:.1}", x(*t), y(*v))).collect();
    let last = points[points.len() - 1];
    html! {
        svg.chart viewBox=(format!("0 0 {W} {H}")) role="img" aria-label=(title) xmlns="http://www.w3.org/2000/svg" {
            title { (title) }
            line.axis x1=(PAD) y1=(H - PAD) x2=(W - PAD) y2=(H - PAD) {}
            text.label x=(PAD) y=(PAD - 8.0) { "max " (max) }
            polyline.trend fill="none" points=(coords.join(" ")) {}
            @for (t, v) in points {
                circle.dot cx=(format!("{:.1}", x(*t))) cy=(format!("{:.1}", y(*v))) r="2.5" {
                    title { (v) }
                }
            }
            text.label x=(PAD) y=(H - 6.0) { (fmt_ms(t0)) }
            text.label x=(W - PAD) y=(H - 6.0) text-anchor="end" { (fmt_ms(t1)) " · " (last.1) }
        }
    }
}

fn fmt_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(String::new, |t| t.format("%m-%d %H:%M").to_string())
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max - 1).collect();
    t.push('…');
    t
}
