//! The size chart's place in a release: `sizechart.csv` and `sizechart.parquet`, its section of
//! the datasheet (with expected errors and why the chart is not byte-reproducible) and its
//! drawing in `report.html` (inline SVG: one bar per measurement from P5 to P95, a box from P25
//! to P75 and a tick at P50).

use std::fmt::Write as _;
use std::io::Write as _;

use crate::atomic::Staging;
#[cfg(test)]
use crate::dp::release::ChartRelease;
use crate::dp::release::{chart_columns, SizeChartReport};
use crate::dp::sizechart::{ChartRow, Figure, SizeChart, PERCENTILES};
use crate::error::{Error, Result};
use crate::release::plain::{write_plain_csv, write_plain_parquet};
use crate::release::{SIZECHART_CSV_FILE, SIZECHART_PARQUET_FILE};

use super::html::escape;

/// Writes `sizechart.csv` and `sizechart.parquet` into the staging directory.
pub fn write_chart_files(
    staging: &Staging,
    chart: &SizeChart,
    report: &SizeChartReport,
) -> Result<()> {
    let columns = chart_columns(chart);
    let csv_path = staging.path(SIZECHART_CSV_FILE);
    let mut csv = std::io::BufWriter::new(staging.create(SIZECHART_CSV_FILE)?);
    write_plain_csv(&columns, &mut csv, &csv_path)?;
    csv.into_inner()
        .map_err(|e| Error::io("write", &csv_path, e.into_error()))?
        .sync_all()
        .map_err(|e| Error::io("sync", &csv_path, e))?;
    let parquet_path = staging.path(SIZECHART_PARQUET_FILE);
    let mut parquet = staging.create(SIZECHART_PARQUET_FILE)?;
    let budget = &report.budget;
    let metadata = vec![
        (
            "anonpub:sizechart:epsilon".into(),
            budget.epsilon.to_string(),
        ),
        ("anonpub:sizechart:delta".into(), budget.delta.to_string()),
        ("anonpub:sizechart:rho".into(), budget.rho.to_string()),
    ];
    write_plain_parquet(&columns, metadata, &mut parquet, &parquet_path)?;
    parquet
        .flush()
        .and_then(|()| parquet.sync_all())
        .map_err(|e| Error::io("sync", &parquet_path, e))
}

/// `P50 ± error95` as text, or a dash.
fn figure_text(figure: Option<Figure>) -> String {
    figure.map_or_else(
        || "–".to_string(),
        |f| format!("{} ± {}", round(f.value), round(f.error95)),
    )
}

fn round(value: f64) -> String {
    let rounded = (value * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded:.1}")
    }
}

fn percentile(row: &ChartRow, p: u32) -> Option<Figure> {
    PERCENTILES
        .iter()
        .position(|&q| q == p)
        .and_then(|i| row.percentiles[i].ok())
}

/// The datasheet's section on the size chart.
pub fn datasheet_section(chart: &SizeChart, report: &SizeChartReport) -> String {
    let budget = &report.budget;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "## Size chart (differential privacy)\n\n\
         `{SIZECHART_CSV_FILE}` (and `{SIZECHART_PARQUET_FILE}`) gives n, mean, SD and the \
         percentiles P{} of {} key measurements{}, computed from the **selected sets before \
         anonymization** (not from the microaggregated rows, so without their shrinkage) under \
         differential privacy: (ε = {}, δ = {:e}) for the whole chart, ρ = {:.3e} in zero-\
         concentrated DP. The privacy unit is the person ({}); values are clamped to the \
         schema's plausible ranges, which are public. Whatever an attacker knows about everyone \
         else, the chart changes little whether any one person is in the data or not, and \
         charts of later releases add up in a private ledger kept by the data holder{}.\n",
        PERCENTILES
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", P"),
        report.measurements.len(),
        if report.strata.len() > 1 {
            format!(
                " in {} strata ({})",
                report.strata.len(),
                report.strata.join("; ")
            )
        } else {
            String::new()
        },
        budget.epsilon,
        budget.delta,
        budget.rho,
        report.set_choice,
        report
            .lifetime_epsilon
            .map(|l| format!(" (lifetime budget ε = {l})"))
            .unwrap_or_default(),
    );
    let _ = writeln!(
        text,
        "Mechanisms: n and the two sums behind mean and SD by the discrete Gaussian mechanism; \
         each percentile's centre by the exponential mechanism over a 1-step grid of the \
         plausible range, and its error bar by noisy counts of cells around that centre. The \
         spend and mechanism of every figure are in `report.json` (`sizechart.budget`). Every \
         figure has an `_error95` column: the half-width of an interval that holds the exact \
         value in at least 95 % of releases, whatever the shape of the data (it comes from the \
         noise's tail bound alone, not from an assumed distribution).\n"
    );
    let _ = writeln!(
        text,
        "**Empty cells.** A figure is published only when its 95 % error is at most {} times \
         its measurement's public reference SD (the tolerance; references: {}); a noisier figure \
         is worse than none for a size-chart maker. Which figures to compute is decided from the \
         noisy number of people and the mechanisms' parameters alone, never from the raw \
         values, and the budget goes to the figures that can meet the tolerance. Cells left \
         empty in this chart: {}.\n",
        report.tolerance_sd,
        references(report),
        if report.withheld.is_empty() {
            "none".to_string()
        } else {
            report
                .withheld
                .iter()
                .map(|w| format!("{} ({})", w.cells, w.reason))
                .collect::<Vec<_>>()
                .join("; ")
        }
    );
    let _ = writeln!(
        text,
        "**Not byte-reproducible.** The noise is drawn from the operating system's random number \
         generator, never from `--seed`: a published seed would let anyone regenerate the noise \
         and subtract it. Publishing the same data twice gives two different charts (and spends \
         the budget twice).\n"
    );
    let _ = writeln!(
        text,
        "| stratum | measurement | n | mean | P5 | P50 | P95 |\n|---|---|---|---|---|---|---|"
    );
    for row in &chart.rows {
        let _ = writeln!(
            text,
            "| {} | {} ({}) | {} | {} | {} | {} | {} |",
            row.stratum,
            row.measurement,
            row.unit,
            figure_text(Some(row.n)),
            figure_text(row.mean.ok()),
            figure_text(percentile(row, 5)),
            figure_text(percentile(row, 50)),
            figure_text(percentile(row, 95)),
        );
    }
    text.push('\n');
    text
}

/// The references of the chart's measurements, grouped by source.
fn references(report: &SizeChartReport) -> String {
    let mut by_source: Vec<(&str, Vec<String>)> = Vec::new();
    for m in &report.measurements {
        let entry = format!("{} {} {}", m.name, round(m.reference_sd), m.unit);
        match by_source
            .iter_mut()
            .find(|(source, _)| *source == m.reference)
        {
            Some((_, names)) => names.push(entry),
            None => by_source.push((&m.reference, vec![entry])),
        }
    }
    by_source
        .into_iter()
        .map(|(source, names)| format!("{} from {source}", names.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The report page's section: per stratum, one bar per measurement on a shared axis.
pub fn html_section(chart: &SizeChart) -> String {
    let mut page = String::from(
        "<section><h2>Size chart (differential privacy)</h2><p>Per measurement: the line runs \
         from P5 to P95, the box from P25 to P75, the tick marks P50; computed from the selected \
         sets before anonymization, with noise (see the datasheet for the budget). Figures \
         marked ± give the half-width of a 95 % interval.</p>",
    );
    for stratum in &chart.strata {
        let rows: Vec<&ChartRow> = chart
            .rows
            .iter()
            .filter(|r| &r.stratum == stratum)
            .collect();
        page.push_str(&chart_svg(stratum, &rows));
    }
    page.push_str("</section>\n");
    page
}

fn chart_svg(stratum: &str, rows: &[&ChartRow]) -> String {
    const LEFT: f64 = 190.0;
    const WIDTH: f64 = 720.0;
    const ROW: f64 = 26.0;
    let value = |row: &ChartRow, p| percentile(row, p).map(|f| f.value);
    let drawn: Vec<(&ChartRow, f64, f64)> = rows
        .iter()
        .filter_map(|row| Some((*row, value(row, 5)?, value(row, 95)?)))
        .collect();
    let mut svg = format!("<h3>{}</h3>", escape(stratum));
    if drawn.is_empty() {
        svg.push_str("<p class=\"none\">Too few people for percentiles.</p>");
        return svg;
    }
    let low = drawn.iter().map(|d| d.1).fold(f64::INFINITY, f64::min);
    let high = drawn.iter().map(|d| d.2).fold(f64::NEG_INFINITY, f64::max);
    let (low, high) = ((low / 100.0).floor() * 100.0, (high / 100.0).ceil() * 100.0);
    let span = (high - low).max(1.0);
    let x = |v: f64| LEFT + (v - low) / span * (WIDTH - LEFT - 20.0);
    let height = ROW * drawn.len() as f64 + 30.0;
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-label=\"size chart, {}\">",
        escape(stratum)
    );
    for (i, (row, p5, p95)) in drawn.iter().enumerate() {
        let y = ROW * i as f64 + 14.0;
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"end\">{} ({})</text>\
             <line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#3e6aa0\"/>",
            LEFT - 8.0,
            y + 4.0,
            escape(&row.measurement),
            escape(&row.unit),
            x(*p5),
            x(*p95),
        );
        if let (Some(p25), Some(p75)) = (value(row, 25), value(row, 75)) {
            let _ = write!(
                svg,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"12\" fill=\"#cfdcec\" \
                 stroke=\"#3e6aa0\"/>",
                x(p25),
                y - 6.0,
                (x(p75) - x(p25)).max(1.0)
            );
        }
        if let Some(p50) = percentile(row, 50) {
            let _ = write!(
                svg,
                "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{1:.1}\" y2=\"{2:.1}\" stroke=\"#1d3557\" \
                 stroke-width=\"2\"><title>P50 {3} ± {4}</title></line>",
                x(p50.value),
                y - 8.0,
                y + 8.0,
                round(p50.value),
                round(p50.error95)
            );
        }
    }
    let axis = ROW * drawn.len() as f64 + 4.0;
    let _ = write!(
        svg,
        "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{axis:.1}\" y2=\"{axis:.1}\" stroke=\"#787e88\"/>",
        WIDTH - 20.0
    );
    let step = if span > 1000.0 { 200.0 } else { 100.0 };
    let mut tick = low;
    while tick <= high + 0.5 {
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\">{tick:.0}</text>",
            x(tick),
            axis + 16.0
        );
        tick += step;
    }
    svg.push_str("</svg>");
    svg
}

/// A chart of 3 000 made-up people (chest only), for the tests of the files that hold it.
#[cfg(test)]
pub(crate) fn test_chart() -> ChartRelease {
    use crate::dp::release::chart_release;
    use crate::dp::sizechart::SizeChartConfig;
    use crate::extract::source::PersonStrata;
    use crate::measurements::Catalog;
    use crate::table::MeasurementTable;
    {
        let catalog = Catalog::freesewing();
        let mut table = MeasurementTable::new(catalog.names().to_vec());
        let chest = catalog.index_of("chest").unwrap();
        for person in 0..3000u32 {
            let mut set = vec![f64::NAN; catalog.len()];
            set[chest] = 800.0 + f64::from(person % 400);
            table.push(person, &set);
        }
        // A large ε, so that the drawing has every percentile it draws.
        let config = SizeChartConfig {
            measurements: vec!["chest".into()],
            epsilon: 8.0,
            ..SizeChartConfig::default()
        };
        chart_release(&table, (&catalog, &PersonStrata::default()), &config).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datasheet_and_page_show_the_chart_with_its_error() {
        let chart = test_chart();
        let section = datasheet_section(&chart.chart, &chart.report);
        assert!(
            section.contains("not byte-reproducible") || section.contains("Not byte-reproducible")
        );
        assert!(section.contains("| all | chest (mm) |"), "{section}");
        assert!(section.contains(" ± "), "{section}");
        let html = html_section(&chart.chart);
        assert!(html.contains("<svg"), "{html}");
        // The noise is fresh on every run and a percentile may be withheld (out of order with
        // its neighbour, or over the tolerance): each mark is drawn exactly when its figure is
        // published.
        let row = &chart.chart.rows[0];
        let published = |p| percentile(row, p).is_some();
        assert_eq!(
            html.contains("<rect"),
            published(5) && published(95) && published(25) && published(75),
            "{html}"
        );
        assert_eq!(
            html.contains("P50 "),
            published(5) && published(95) && published(50),
            "{html}"
        );
    }
}
