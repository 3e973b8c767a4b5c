//! `report.html`: the release at a glance, for people rather than tools.
//!
//! One self-contained page (inline CSS and SVG, no script, no network request) that opens from a
//! download folder or an archive: key figures, the release parameters, the re-identification risk
//! of the released rows, exclusions by reason (counts only) and a histogram of every released
//! measurement. Everything on it is computed from the released table and the report, never from
//! the private input. The charts are drawn with plotters' SVG backend, whose output depends only
//! on the data, so the page is byte-identical for the same release.

use std::fmt::Write;

use plotters::prelude::*;
use rayon::prelude::*;

use super::Release;
use crate::release::column_major;
use crate::risk::classes::ClassHistogram;
use crate::select::Exclusion;

/// Size of one measurement histogram, in CSS pixels.
const HISTOGRAM_SIZE: (u32, u32) = (340, 190);
/// At most this many bins per histogram; bin widths are 1, 2 or 5 times a power of ten.
const MAX_BINS: f64 = 24.0;
const BAR: RGBColor = RGBColor(62, 106, 160);
const GRID: RGBColor = RGBColor(226, 230, 236);
const AXIS: RGBColor = RGBColor(120, 126, 136);

/// Renders the page.
pub fn report_html(release: &Release<'_>) -> String {
    let report = release.provenance.report;
    let schema = release.provenance.schema;
    let title = schema.title.as_deref().unwrap_or(&schema.name);
    let mut page = String::with_capacity(1 << 18);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} {} — release report</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n",
        escape(title),
        escape(&release.provenance.config.version),
    );
    let _ = writeln!(
        page,
        "<header><h1>{}</h1><p class=\"sub\">Release {} · data as of {} · made with anonpub {}</p>\
         <p>{} records, each shared by at least {} distinct people: every row is the rounded mean \
         of a group, and the row's empty cells are part of what the group shares.</p></header>",
        escape(title),
        escape(&release.provenance.config.version),
        escape(&report.as_of),
        escape(&report.anonpub_version),
        thousands(report.anonymization.published_records as u64),
        report.k_requested,
    );
    key_figures(&mut page, release);
    parameters(&mut page, release);
    risk(&mut page, release);
    exclusions(&mut page, release);
    measurements(&mut page, release);
    page.push_str("</main>\n</body>\n</html>\n");
    page
}

fn key_figures(page: &mut String, release: &Release<'_>) {
    let report = release.provenance.report;
    let counts = &report.anonymization;
    let figures = [
        (
            thousands(counts.published_records as u64),
            "records published".to_string(),
        ),
        (
            thousands(report.selection.eligible_people),
            "people eligible".to_string(),
        ),
        (
            format!("{} / {}", report.k_achieved, report.k_requested),
            "k achieved / asked".to_string(),
        ),
        (thousands(counts.groups as u64), "groups formed".to_string()),
        (
            thousands(counts.suppressed_records as u64),
            format!("records suppressed ({})", percent(counts.suppressed_share)),
        ),
    ];
    page.push_str("<section class=\"figures\">");
    for (value, label) in figures {
        let _ = write!(
            page,
            "<div><b>{}</b><span>{}</span></div>",
            escape(&value),
            escape(&label)
        );
    }
    page.push_str("</section>\n");
}

fn parameters(page: &mut String, release: &Release<'_>) {
    let report = release.provenance.report;
    let config = release.provenance.config;
    let thresholds = &config.thresholds;
    let rows = [
        ("Method", format!("{} (microaggregation)", report.method)),
        ("k (distinct people per row)", config.k.to_string()),
        ("Release date (as of)", report.as_of.clone()),
        (
            "Retention window",
            format!("{} months before the release date", config.retention_months),
        ),
        (
            "Exact MDAV up to",
            format!("{} records per cell", config.mdav_exact_limit),
        ),
        (
            "Threshold: minimum k",
            thresholds
                .min_k
                .map_or("not set".to_string(), |k| k.to_string()),
        ),
        (
            "Threshold: largest suppressed share",
            thresholds
                .max_suppressed_share
                .map_or("not set".to_string(), percent),
        ),
        ("Licence", config.license.clone()),
        ("Dataset version", config.version.clone()),
        ("Seed (record ids only)", report.seed.to_string()),
        (
            "Configuration SHA-256",
            release.provenance.config_sha256.to_string(),
        ),
    ];
    page.push_str("<section><h2>Release parameters</h2><table class=\"kv\">");
    key_value_rows(page, &rows);
    page.push_str("</table></section>\n");
}

/// Table rows of a name and its value, both escaped.
fn key_value_rows(page: &mut String, rows: &[(&str, String)]) {
    for (name, value) in rows {
        let _ = write!(
            page,
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(name),
            escape(value)
        );
    }
}

fn risk(page: &mut String, release: &Release<'_>) {
    let risk = &release.provenance.report.risk;
    let prosecutor = risk.reidentification.prosecutor;
    let rows = [
        ("Released rows", thousands(risk.records)),
        ("Groups of identical rows", thousands(risk.classes)),
        (
            "Smallest group",
            risk.smallest_class
                .map_or("none".to_string(), |s| format!("{s} rows")),
        ),
        (
            "Highest re-identification probability",
            format!("{:.3}", prosecutor.highest),
        ),
        (
            "Average re-identification probability",
            format!("{:.3}", prosecutor.average),
        ),
        (
            "Rows above the acceptable probability",
            format!(
                "{} (threshold 1/k = {:.3})",
                percent(prosecutor.records_at_risk),
                risk.reidentification.threshold
            ),
        ),
        (
            "Rows unique in the release",
            thousands(risk.sample_uniqueness.unique_records),
        ),
    ];
    page.push_str(
        "<section><h2>Re-identification risk</h2><p>An attacker who knows every measurement of \
         someone in the release (the prosecutor model, as in ARX) can narrow them down to their \
         group of identical rows at best. Figures count rows; k counts people.</p>\
         <div class=\"pair\"><table class=\"kv\">",
    );
    key_value_rows(page, &rows);
    page.push_str("</table><figure>");
    page.push_str(&group_size_svg(release));
    page.push_str(
        "<figcaption>Groups by number of identical rows</figcaption></figure></div></section>\n",
    );
}

fn exclusions(page: &mut String, release: &Release<'_>) {
    let selection = &release.provenance.report.selection;
    let counts = &release.provenance.report.anonymization;
    page.push_str(
        "<section><h2>Where the sets went</h2><table class=\"counts\">\
         <tr><th>Step</th><th>Why</th><th>Sets</th></tr>",
    );
    let _ = write!(
        page,
        "<tr class=\"total\"><td>In the {}</td><td></td><td>{}</td></tr>",
        release.provenance.source.container,
        thousands(selection.sets_in_database)
    );
    let excluded = selection.exclusion_counts();
    exclusion_rows(page, &excluded.sets, release.catalog.is_freesewing());
    let _ = writeln!(
        page,
        "<tr class=\"total\"><td>Eligible</td><td>sets of {} people</td><td>{}</td></tr>\
         <tr><td>Suppressed</td><td>their measurement pattern could not be shared by k people</td><td>{}</td></tr>\
         <tr class=\"total\"><td>Published</td><td>{} of them with fewer measurements ({} values dropped)</td><td>{}</td></tr>\
         </table>",
        thousands(selection.eligible_people),
        thousands(selection.eligible_sets),
        thousands(counts.suppressed_records as u64),
        thousands(counts.coarsened_records as u64),
        thousands(counts.dropped_values as u64),
        thousands(counts.published_records as u64),
    );
    page.push_str(
        "<table class=\"counts\"><tr><th>Accounts</th><th>Why</th><th>Accounts</th></tr>",
    );
    exclusion_rows(page, &excluded.accounts, release.catalog.is_freesewing());
    let bad = selection.bad_rows;
    let _ = writeln!(
        page,
        "</table><p>Rows that cannot be read: {} of {} sets that could have been published \
         ({:.2}%; above {}% the {} is refused as damaged).</p></section>",
        thousands(bad.sets),
        thousands(bad.of_sets),
        bad.share * 100.0,
        bad.max_share * 100.0,
        release.provenance.source.container
    );
}

/// One table row per reason: its key, what it means, and how many were left out for it.
/// FreeSewing's words (`freesewing`) or any dataset's.
fn exclusion_rows(page: &mut String, rows: &[(Exclusion, u64)], freesewing: bool) {
    for &(reason, count) in rows {
        let _ = write!(
            page,
            "<tr><td>Excluded: {}</td><td>{}</td><td>{}</td></tr>",
            escape(reason.key()),
            escape(if freesewing {
                reason.description()
            } else {
                reason.plain_description()
            }),
            thousands(count)
        );
    }
}

fn measurements(page: &mut String, release: &Release<'_>) {
    page.push_str(
        "<section><h2>Released measurements</h2><p>Histograms of the published values (rows \
         with an empty cell are left out of that measurement's chart).</p><div class=\"grid\">",
    );
    // Each figure reads one column of up to a million values: the columns go in parallel.
    let figures: Vec<String> = column_major(release.table)
        .into_par_iter()
        .enumerate()
        .map(|(c, column)| measurement_figure(release, c, column))
        .collect();
    figures.iter().for_each(|figure| page.push_str(figure));
    page.push_str("</div></section>\n");
}

/// The histogram and summary of one released column, from its values (NaN: not published).
fn measurement_figure(release: &Release<'_>, c: usize, mut values: Vec<f64>) -> String {
    let table = release.table;
    let catalog = release.catalog;
    let name = &table.columns[c];
    let index = catalog
        .index_of(name)
        .expect("release columns come from the catalogue");
    let unit = catalog.unit(index);
    let step = catalog.rounding(index);
    values.retain(|v| !v.is_nan());
    let description = release
        .provenance
        .schema
        .position(name)
        .and_then(|p| release.provenance.schema.columns[p].description.as_deref())
        .unwrap_or_default();
    let mut figure = format!(
        "<figure class=\"hist\"><h3>{} <small>{}</small></h3><p>{}</p>",
        escape(name),
        escape(unit),
        escape(description)
    );
    if values.is_empty() {
        figure.push_str("<p class=\"none\">No value published.</p>");
    } else {
        // The median is the middle value of the sorted column, found without sorting it
        // (`total_cmp` is a total order: the same value a sort puts there).
        let range = values.iter().fold([values[0]; 2], |[low, high], &v| {
            [
                std::cmp::min_by(low, v, f64::total_cmp),
                std::cmp::max_by(high, v, f64::total_cmp),
            ]
        });
        figure.push_str(&histogram_svg(name, &values, range, unit, step));
        let middle = values.len() / 2;
        let (_, &mut median, _) = values.select_nth_unstable_by(middle, f64::total_cmp);
        let _ = write!(
            figure,
            "<figcaption>{} values · median {median} · range {}–{}</figcaption>",
            thousands(values.len() as u64),
            range[0],
            range[1]
        );
    }
    figure.push_str("</figure>");
    figure
}

/// Bins of a non-empty list of values whose smallest and largest are `[low, high]`: `(start,
/// width, counts)`. The width is the
/// smallest of 1, 2 or 5 times a power of ten that gives at most [`MAX_BINS`] bins and is not
/// finer than the rounding step; bins start at a multiple of the width.
fn bins(values: &[f64], [low, high]: [f64; 2], step: f64) -> (f64, f64, Vec<u32>) {
    let wanted = ((high - low) / MAX_BINS).max(step);
    let mut width = 10f64.powf(wanted.log10().floor());
    for factor in [1.0, 2.0, 5.0, 10.0] {
        if width * factor >= wanted - 1e-9 {
            width *= factor;
            break;
        }
    }
    let first = (low / width).floor();
    let count = ((high / width).floor() - first) as usize + 1;
    let mut counts = vec![0u32; count];
    for value in values {
        let bin = (((value / width).floor() - first) as usize).min(count - 1);
        counts[bin] += 1;
    }
    (first * width, width, counts)
}

/// One measurement's histogram as an inline SVG element.
fn histogram_svg(name: &str, values: &[f64], range: [f64; 2], unit: &str, step: f64) -> String {
    let (start, width, counts) = bins(values, range, step);
    let end = start + width * counts.len() as f64;
    let top = counts.iter().copied().max().unwrap_or(1).max(1);
    let decimals = usize::from(width < 1.0);
    let x_label = |v: &f64| format!("{v:.decimals$}");
    let y_label = |v: &u32| v.to_string();
    let unit_label = match unit {
        "deg" => "degrees",
        other => other,
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, HISTOGRAM_SIZE).into_drawing_area();
        let drawn = (|| {
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .margin(6)
                .x_label_area_size(34)
                .y_label_area_size(38)
                .build_cartesian_2d(start..end, 0u32..(top + top / 10 + 1))?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .light_line_style(WHITE)
                .bold_line_style(GRID)
                .axis_style(AXIS)
                .x_labels(6)
                .y_labels(4)
                .x_label_formatter(&x_label)
                .y_label_formatter(&y_label)
                .label_style(("sans-serif", 12).into_font().color(&AXIS))
                .x_desc(unit_label)
                .axis_desc_style(("sans-serif", 12).into_font().color(&AXIS))
                .draw()?;
            chart.draw_series(counts.iter().enumerate().map(|(i, &count)| {
                let left = start + width * i as f64;
                Rectangle::new([(left, 0), (left + width, count)], BAR.filled())
            }))?;
            root.present()
        })();
        drawn.expect("drawing into an in-memory SVG string does not fail");
    }
    label_svg(
        svg,
        &format!("Histogram of {name}: {} values", values.len()),
    )
}

/// The number of groups of each size of identical released rows, as an inline SVG bar chart.
fn group_size_svg(release: &Release<'_>) -> String {
    let groups: Vec<(u64, u64)> =
        ClassHistogram::from_rows(&release.table.values, release.table.columns.len().max(1))
            .iter()
            .collect();
    let largest = groups.last().map_or(1, |&(size, _)| size);
    let top = groups
        .iter()
        .map(|&(_, count)| count)
        .max()
        .unwrap_or(1)
        .max(1);
    let x_label = |v: &f64| {
        if v.fract() == 0.0 {
            format!("{v:.0}")
        } else {
            String::new()
        }
    };
    let y_label = |v: &u64| v.to_string();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (420, 220)).into_drawing_area();
        let drawn = (|| {
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .margin(8)
                .x_label_area_size(34)
                .y_label_area_size(42)
                .build_cartesian_2d(0.5..largest as f64 + 0.5, 0u64..(top + top / 10 + 1))?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .light_line_style(WHITE)
                .bold_line_style(GRID)
                .axis_style(AXIS)
                .x_labels(largest.min(20) as usize)
                .y_labels(5)
                .x_label_formatter(&x_label)
                .y_label_formatter(&y_label)
                .label_style(("sans-serif", 12).into_font().color(&AXIS))
                .x_desc("identical rows in the group")
                .y_desc("groups")
                .axis_desc_style(("sans-serif", 12).into_font().color(&AXIS))
                .draw()?;
            chart.draw_series(groups.iter().map(|&(size, count)| {
                let x = size as f64;
                Rectangle::new([(x - 0.4, 0), (x + 0.4, count)], BAR.filled())
            }))?;
            root.present()
        })();
        drawn.expect("drawing into an in-memory SVG string does not fail");
    }
    label_svg(svg, "Number of groups by their count of identical rows")
}

/// Gives an SVG element an accessible name.
fn label_svg(svg: String, label: &str) -> String {
    svg.replacen(
        "<svg ",
        &format!("<svg role=\"img\" aria-label=\"{}\" ", escape(label)),
        1,
    )
}

/// Escapes text for HTML (and XML) element content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// 12345 → "12,345".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// 0.0123 → "1.23%".
fn percent(share: f64) -> String {
    format!("{:.2}%", share * 100.0)
}

const STYLE: &str = "\
*{box-sizing:border-box}\
body{margin:0;background:#f5f6f8;color:#1d2430;font:15px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif}\
main{max-width:1120px;margin:0 auto;padding:28px 24px 48px}\
h1{margin:0;font-size:28px}h2{margin:0 0 10px;font-size:20px}\
h3{margin:0;font-size:15px}h3 small{color:#6b7480;font-weight:normal}\
.sub{margin:2px 0 10px;color:#6b7480}\
section{background:#fff;border:1px solid #e2e6ec;border-radius:8px;padding:18px 20px;margin-top:18px}\
.figures{display:grid;grid-template-columns:repeat(5,1fr);gap:12px;background:none;border:0;padding:0}\
.figures div{background:#fff;border:1px solid #e2e6ec;border-radius:8px;padding:12px 14px}\
.figures b{display:block;font-size:24px}.figures span{color:#6b7480;font-size:13px}\
table{border-collapse:collapse;width:100%}\
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eef0f3;vertical-align:top}\
.kv th{font-weight:normal;color:#6b7480;width:45%}\
.counts td:last-child,.counts th:last-child{text-align:right;font-variant-numeric:tabular-nums}\
.counts .total td{font-weight:600}\
.pair{display:grid;grid-template-columns:1fr 430px;gap:20px;align-items:start}\
figure{margin:0}figcaption{color:#6b7480;font-size:13px}\
.grid{display:grid;grid-template-columns:repeat(3,1fr);gap:14px}\
.hist{border:1px solid #eef0f3;border-radius:6px;padding:10px}\
.hist p{margin:2px 0 6px;color:#6b7480;font-size:13px;min-height:39px}\
.hist svg{display:block;max-width:100%;height:auto}\
.none{font-style:italic}\
@media (max-width:900px){.grid{grid-template-columns:1fr 1fr}.pair{grid-template-columns:1fr}.figures{grid-template-columns:repeat(2,1fr)}}\
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_cover_every_value_with_round_widths() {
        let values: Vec<f64> = (0..=100).map(|i| 800.0 + f64::from(i) * 3.0).collect();
        let (start, width, counts) = bins(&values, [800.0, 1100.0], 1.0);
        assert_eq!(width, 20.0);
        assert_eq!(start, 800.0);
        assert_eq!(counts.iter().sum::<u32>(), 101);
        assert!(counts.len() as f64 <= MAX_BINS);
        let (_, width, counts) = bins(&[18.0, 17.5, 17.5], [17.5, 18.0], 0.5);
        assert_eq!(width, 0.5);
        assert_eq!(counts, vec![2, 1]);
        let (_, _, counts) = bins(&[900.0], [900.0, 900.0], 1.0);
        assert_eq!(counts, vec![1]);
    }

    #[test]
    fn histogram_is_an_accessible_deterministic_svg() {
        let values = [900.0, 905.0, 905.0, 950.0];
        let svg = histogram_svg("chest", &values, [900.0, 950.0], "mm", 1.0);
        assert!(svg.starts_with("<svg role=\"img\" aria-label=\"Histogram of chest: 4 values\""));
        assert!(svg.contains("<rect"));
        assert_eq!(
            svg,
            histogram_svg("chest", &values, [900.0, 950.0], "mm", 1.0)
        );
    }

    #[test]
    fn page_is_self_contained_and_shows_every_part() {
        let owned = crate::publish::fixture::Owned::new();
        let page = report_html(&owned.release());
        assert!(page.starts_with("<!DOCTYPE html>"));
        for part in [
            "Release parameters",
            "Re-identification risk",
            "Where the sets went",
            "Released measurements",
            "Histogram of chest: 10 values",
            "Histogram of ankle: 5 values",
            "no_open_data_consent",
            "threshold 1/k = 0.200",
        ] {
            assert!(page.contains(part), "{part}");
        }
        assert_eq!(page.matches("<svg ").count(), owned.table.columns.len() + 1);
        for external in ["<script", "<link", "src=", "url(", "@import", "https://"] {
            assert!(!page.contains(external), "{external}");
        }
        assert!(!page.contains("id-0"), "no record id on the page");
        assert_eq!(page, report_html(&owned.release()));
    }

    #[test]
    fn text_helpers() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(percent(0.0123), "1.23%");
    }
}
