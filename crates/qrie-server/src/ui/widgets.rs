//! Pieces every page uses: links with query strings, tables, pagination,
//! filter inputs, badges, times, JSON blocks and POST buttons.

use maud::{html, Markup};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use qrie_model::{Severity, Timestamp};

use super::Viewer;

/// `path?k=v&...` with the empty values left out.
pub fn href(path: &str, params: &[(&str, &str)]) -> String {
    let kept: Vec<(&str, &str)> = params.iter().copied().filter(|(_, v)| !v.is_empty()).collect();
    if kept.is_empty() {
        return path.to_string();
    }
    match serde_urlencoded::to_string(&kept) {
        Ok(q) => format!("{path}?{q}"),
        Err(_) => path.to_string(),
    }
}

/// What a path segment must encode: all but RFC 3986's unreserved characters.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// One path segment, percent-encoded.
pub fn path_segment(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

pub fn resource_href(arn: &str) -> String {
    href("/inventory/resource", &[("arn", arn)])
}

pub fn finding_href(arn: &str, policy: &str) -> String {
    href("/findings/detail", &[("arn", arn), ("policy", policy)])
}

pub fn policy_href(id: &str) -> String {
    format!("/policies/{}", path_segment(id))
}

pub fn time(t: &Timestamp) -> Markup {
    html! { time datetime=(t.to_rfc3339()) { (t.format("%Y-%m-%d %H:%M UTC")) } }
}

pub fn opt_time(t: Option<&Timestamp>) -> Markup {
    match t {
        Some(t) => time(t),
        None => html! { span.muted { "—" } },
    }
}

pub fn time_ms(ms: i64) -> Markup {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => time(&t),
        None => html! { span.muted { "—" } },
    }
}

/// A severity as its label and score, coloured by label.
pub fn severity(s: Severity) -> Markup {
    let label = s.label().as_str();
    html! { span class=(format!("badge sev-{label}")) { (label) " " span.score { (s.value()) } } }
}

pub fn state_badge(active: bool, text: &str) -> Markup {
    html! { span class=(if active { "badge state-active" } else { "badge state-resolved" }) { (text) } }
}

/// A table with a caption (for screen readers and people alike); wide tables
/// scroll sideways on small screens instead of breaking the layout.
pub fn table(caption: &str, headers: &[&str], rows: Vec<Markup>) -> Markup {
    html! {
        div.table-wrap {
            table {
                caption { (caption) }
                thead { tr { @for h in headers { th scope="col" { (h) } } } }
                tbody {
                    @if rows.is_empty() {
                        tr { td.muted colspan=(headers.len()) { "Nothing to show." } }
                    }
                    @for r in rows { (r) }
                }
            }
        }
    }
}

/// "First page" and "Next page" links of a cursor-paginated list. `params`
/// are the list's filters; the cursor travels as `next_token`.
pub fn pager(path: &str, params: &[(&str, &str)], current_token: Option<&str>, next: Option<&str>) -> Markup {
    let next_href = next.map(|n| {
        let mut with: Vec<(&str, &str)> = params.to_vec();
        with.push(("next_token", n));
        href(path, &with)
    });
    html! {
        nav.pager aria-label="Pages" {
            @if current_token.is_some() {
                a href=(href(path, params)) { "First page" }
            }
            @if let Some(n) = next_href {
                a href=(n) rel="next" { "Next page" }
            }
        }
    }
}

/// A labelled `<select>`; the first option is "any" (an empty value).
pub fn select(name: &str, label: &str, options: &[(String, String)], selected: Option<&str>) -> Markup {
    let id = format!("f-{name}");
    html! {
        div.field {
            label for=(id) { (label) }
            select id=(id) name=(name) {
                option value="" { "Any" }
                @for (value, text) in options {
                    option value=(value) selected[selected == Some(value.as_str())] { (text) }
                }
            }
        }
    }
}

/// A labelled `<select>` without an "any" choice.
pub fn choice(name: &str, label: &str, options: &[(&str, &str)], selected: &str) -> Markup {
    let id = format!("f-{name}");
    html! {
        div.field {
            label for=(id) { (label) }
            select id=(id) name=(name) {
                @for (value, text) in options {
                    option value=(value) selected[selected == *value] { (text) }
                }
            }
        }
    }
}

/// A labelled text input, with an optional hint under it.
pub fn text_input(name: &str, label: &str, value: &str, hint: Option<&str>) -> Markup {
    let id = format!("f-{name}");
    let hint_id = format!("{id}-hint");
    html! {
        div.field {
            label for=(id) { (label) }
            input id=(id) type="text" name=(name) value=(value) aria-describedby=[hint.map(|_| hint_id.as_str())];
            @if let Some(h) = hint { small id=(hint_id) .hint { (h) } }
        }
    }
}

pub fn csrf_field(v: &Viewer) -> Markup {
    html! { input type="hidden" name="csrf" value=(v.csrf); }
}

/// A one-button POST form (an action with no input besides the CSRF token).
pub fn post_button(v: &Viewer, action: &str, label: &str, class: &str) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            (csrf_field(v))
            button type="submit" class=(class) { (label) }
        }
    }
}

/// JSON, pretty-printed and escaped, in a scrollable block.
pub fn json_block(label: &str, value: &serde_json::Value) -> Markup {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
    html! { pre.json aria-label=(label) tabindex="0" { code { (text) } } }
}

/// A row of `key: value` facts.
pub fn facts(rows: Vec<(&str, Markup)>) -> Markup {
    html! {
        dl.facts {
            @for (k, v) in rows {
                div { dt { (k) } dd { (v) } }
            }
        }
    }
}

/// Comma- or whitespace-separated values of a form field.
pub fn split_list(s: Option<&str>) -> Vec<String> {
    s.unwrap_or_default()
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .map(String::from)
        .collect()
}

/// The reverse of [`split_list`], for pre-filling a form.
pub fn join_list<T: std::fmt::Display>(items: &[T]) -> String {
    items.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
}

/// A count of active findings linked to their list (`filter` narrows it),
/// with the suppressed ones beside it when there are any.
pub fn findings_count(active: u64, suppressed: u64, filter: (&str, &str)) -> Markup {
    html! {
        a href=(href("/findings", &[filter])) { (active) }
        @if suppressed > 0 {
            " " a.muted href=(href("/findings", &[filter, ("suppressed", "yes")])) { "+" (suppressed) " suppressed" }
        }
    }
}
