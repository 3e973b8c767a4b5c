//! Measures the accuracy of the DP size chart against the exact figures of the same people.
//!
//! People come from anonpub's own generator (FreeSewing's size models, the sample's coverage
//! patterns, values typed to 1 mm), one set each; the default sizes are 1 500 (a first release)
//! and 10 000. The chart is drawn `--runs` times with fresh OS randomness, as a release
//! would draw it, and every figure's error is compared with the exact value of the same clamped
//! values, in units of the exact SD. With `--db FILE --key-file FILE --as-of DATE` the people are
//! those a release of that database would chart (selection with the default config, one set per
//! person as the release picks it). Run: `scripts/sizechart-accuracy.sh` (or
//! `cargo run --release --example sizechart_accuracy -- --people 10000 --runs 200`).

use std::path::PathBuf;
use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use anonpub::config::ReleaseConfig;
use anonpub::dates::Date;
use anonpub::dp::release::{chart_bounds, chart_people};
use anonpub::dp::sizechart::{
    size_chart, ChartPerson, ChartRow, Figure, MeasurementBounds, SizeChartConfig, PERCENTILES,
};
use anonpub::extract::crypto::{load_secret, FieldKey};
use anonpub::extract::freesewing_v3::{FreeSewingV3, V3Database};
use anonpub::extract::source::PersonStrata;
use anonpub::measurements::Catalog;
use anonpub::observe::Silent;
use anonpub::sample::people::{apply_coverage, as_typed, draw_body, draw_coverage, SizeModels};
use anonpub::select::{select, SelectionPolicy};

/// The accuracy targets at ε = 1 on 10 000 people (in SD units, for 95 % of (figure, run)
/// pairs, a withheld figure counting as a miss): P50, then P5 and P95.
const TARGETS: (usize, f64, f64) = (10_000, 0.1, 0.3);

/// At a first release's size (about 1 400 people) mean and P50 of these must be published, and
/// every published figure must lie within this many SDs of the exact one.
const FIRST_RELEASE: (usize, [&str; 3], f64) = (1_500, ["chest", "waist", "hips"], 0.5);

struct Options {
    people: Vec<usize>,
    runs: usize,
    epsilon: f64,
    /// The chart's measurements; the config's default when empty.
    measurements: Vec<String>,
    /// A FreeSewing v3 database, its key file and the release date: its selected people instead
    /// of generated ones.
    database: Option<(PathBuf, PathBuf, Date)>,
}

fn options() -> Options {
    let mut options = Options {
        people: vec![1_500, 10_000],
        runs: 100,
        epsilon: 1.0,
        measurements: Vec::new(),
        database: None,
    };
    let (mut db, mut key, mut as_of) = (None, None, None);
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).map(String::as_str).unwrap_or_default();
        match pair[0].as_str() {
            "--people" => {
                options.people = value
                    .split(',')
                    .map(|v| v.parse().expect("--people takes counts"))
                    .collect()
            }
            "--runs" => options.runs = value.parse().expect("--runs takes a count"),
            "--epsilon" => options.epsilon = value.parse().expect("--epsilon takes a number"),
            "--measurements" => {
                options.measurements = value.split(',').map(String::from).collect();
            }
            "--db" => db = Some(PathBuf::from(value)),
            "--key-file" => key = Some(PathBuf::from(value)),
            "--as-of" => as_of = Some(Date::parse(value).expect("--as-of takes YYYY-MM-DD")),
            other => panic!(
                "unknown option {other}; use --people N[,N…] --runs N --epsilon X [--measurements A,B…] \
                 [--db FILE --key-file FILE --as-of YYYY-MM-DD]"
            ),
        }
    }
    if let Some(db) = db {
        let key = key.expect("--db needs --key-file");
        options.database = Some((db, key, as_of.expect("--db needs --as-of")));
    }
    options
}

/// The people a release of the database would chart: selection as `publish` runs it (default
/// config), then one set per person as the release picks it ([`chart_people`]).
fn database_people(
    (db, key_file, as_of): &(PathBuf, PathBuf, Date),
    catalog: &Catalog,
    config: &SizeChartConfig,
) -> Vec<ChartPerson> {
    let defaults = ReleaseConfig::default();
    let database = V3Database::open(db).expect("the database opens");
    let (secret, origin) = load_secret(Some(key_file)).expect("the key file reads");
    let source = FreeSewingV3::new(database, FieldKey::derive(&secret), origin.into());
    let policy = SelectionPolicy {
        as_of: *as_of,
        retention_months: defaults.retention_months,
        min_account_age_days: defaults.defences.min_account_age_days,
        max_malformed_share: defaults.max_malformed_share,
    };
    let (table, _) = select(&source, &policy, catalog, &Silent).expect("selection runs");
    let (_, _, people) = chart_people(&table, (catalog, &PersonStrata::default()), config)
        .expect("the chart measurements exist");
    people
}

/// Synthetic people, one set each, with the chart measurements only.
fn people(count: usize, catalog: &Catalog, columns: &[usize]) -> Vec<ChartPerson> {
    let models = SizeModels::freesewing(catalog);
    let mut rng = ChaCha20Rng::seed_from_u64(count as u64);
    (0..count)
        .map(|_| {
            let body = draw_body(&models, catalog, &mut rng);
            let coverage = draw_coverage(body.breasts, &mut rng);
            let set = as_typed(
                &apply_coverage(&body, coverage, catalog, &mut rng),
                false,
                catalog,
            );
            ChartPerson {
                stratum: 0,
                values: columns.iter().map(|&i| set[i]).collect(),
            }
        })
        .collect()
}

/// The exact figures of one measurement: n, mean, SD, then the percentiles.
struct Exact {
    n: f64,
    mean: f64,
    sd: f64,
    percentiles: Vec<f64>,
}

/// Exact figures of the clamped values (nearest rank for percentiles: the smallest value with at
/// least q·n values at or below it).
fn exact(people: &[ChartPerson], column: usize, bounds: &MeasurementBounds) -> Exact {
    let mut values: Vec<f64> = people
        .iter()
        .map(|p| p.values[column])
        .filter(|v| !v.is_nan())
        .map(|v| v.clamp(bounds.lower, bounds.upper))
        .collect();
    values.sort_by(f64::total_cmp);
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    let percentiles = PERCENTILES
        .iter()
        .map(|&p| {
            let rank = (f64::from(p) / 100.0 * n).ceil().max(1.0) as usize;
            values[rank - 1]
        })
        .collect();
    Exact {
        n,
        mean,
        sd,
        percentiles,
    }
}

/// Errors of every figure of one row in SD units (n in people), and whether each lay within
/// its stated error95 (`None` when the figure was not published): (name, error, covered).
fn errors(row: &ChartRow, exact: &Exact) -> Vec<(String, f64, Option<bool>)> {
    let n_error = row.n.value - exact.n;
    let mut out = vec![(
        "n".to_string(),
        n_error,
        Some(n_error.abs() <= row.n.error95),
    )];
    let mut push = |name: String, figure: Result<Figure, _>, truth: f64| {
        out.push(match figure {
            Ok(f) => (
                name,
                (f.value - truth) / exact.sd,
                Some((f.value - truth).abs() <= f.error95),
            ),
            // Not published: counted as an unbounded error.
            Err(_) => (name, f64::INFINITY, None),
        });
    };
    push("mean".into(), row.mean, exact.mean);
    push("sd".into(), row.sd, exact.sd);
    for (j, &p) in PERCENTILES.iter().enumerate() {
        push(format!("P{p}"), row.percentiles[j], exact.percentiles[j]);
    }
    out
}

/// The q-quantile of |x| (nearest rank).
fn abs_quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted: Vec<f64> = values.iter().map(|v| v.abs()).collect();
    sorted.sort_by(f64::total_cmp);
    sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn main() {
    let options = options();
    let catalog = Catalog::freesewing();
    let defaults = SizeChartConfig::default();
    let config = SizeChartConfig {
        epsilon: options.epsilon,
        measurements: match options.measurements.is_empty() {
            true => defaults.measurements.clone(),
            false => options.measurements.clone(),
        },
        ..defaults
    };
    let (bounds, columns) =
        chart_bounds(&catalog, &config).expect("the default measurements are in the schema");
    println!(
        "ε = {}, δ = {}, {} measurements, {} runs per size; errors in SD units (n in people)\n",
        config.epsilon,
        config.delta,
        bounds.len(),
        options.runs
    );
    let mut inputs: Vec<(String, Vec<ChartPerson>)> = Vec::new();
    if let Some(database) = &options.database {
        let people = database_people(database, &catalog, &config);
        inputs.push((
            format!(
                "{} people selected from {}",
                people.len(),
                database.0.display()
            ),
            people,
        ));
    } else {
        for &count in &options.people {
            inputs.push((
                format!("{count} generated people"),
                people(count, &catalog, &columns),
            ));
        }
    }
    for (label, people) in inputs {
        let count = people.len();
        let truth: Vec<Exact> = (0..bounds.len())
            .map(|c| exact(&people, c, &bounds[c]))
            .collect();
        // errors[measurement][figure] = one error per run; covered likewise.
        let figure_count = 3 + PERCENTILES.len();
        let mut all = vec![vec![Vec::with_capacity(options.runs); figure_count]; bounds.len()];
        // (within error95, published) per measurement and figure.
        let mut covered = vec![vec![(0usize, 0usize); figure_count]; bounds.len()];
        let mut names = Vec::new();
        // Why a key figure of the first release (mean, P50) was withheld, by measurement.
        let mut key_withheld: std::collections::BTreeMap<String, usize> = Default::default();
        let started = Instant::now();
        for _ in 0..options.runs {
            let chart =
                size_chart(&config, &["all".into()], &bounds, &people).expect("the chart computes");
            for (m, row) in chart.rows.iter().enumerate() {
                if FIRST_RELEASE.1.contains(&row.measurement.as_str()) {
                    for (figure, value) in [("mean", &row.mean), ("P50", &row.percentiles[4])] {
                        if let Err(reason) = value {
                            *key_withheld
                                .entry(format!("{} {figure}: {reason:?}", row.measurement))
                                .or_default() += 1;
                        }
                    }
                }
                let figures = errors(row, &truth[m]);
                names = figures.iter().map(|(n, _, _)| n.clone()).collect();
                for (f, (_, error, inside)) in figures.into_iter().enumerate() {
                    all[m][f].push(error);
                    if let Some(inside) = inside {
                        covered[m][f].0 += usize::from(inside);
                        covered[m][f].1 += 1;
                    }
                }
            }
        }
        let seconds = started.elapsed().as_secs_f64() / options.runs as f64;
        println!("### {label} ({seconds:.2} s per chart)\n");
        println!(
            "95th percentile of |error| (n in people, others in SD units); coverage = share of published figures within their stated error95\n"
        );
        println!("| measurement | n (exact) | SD | {} |", names.join(" | "));
        println!("|---|---:|---:|{}", "---:|".repeat(names.len()));
        for (m, measurement) in bounds.iter().enumerate() {
            let cells: Vec<String> = all[m]
                .iter()
                .map(|errors| match abs_quantile(errors, 0.95) {
                    e if e.is_finite() => format!("{e:.3}"),
                    _ => "not published".into(),
                })
                .collect();
            println!(
                "| {} | {} | {:.1} | {} |",
                measurement.name,
                truth[m].n,
                truth[m].sd,
                cells.join(" | ")
            );
        }
        let coverage: Vec<String> = (0..figure_count)
            .map(|f| {
                let inside: usize = covered.iter().map(|c| c[f].0).sum();
                let published: usize = covered.iter().map(|c| c[f].1).sum();
                match published {
                    0 => "–".to_string(),
                    _ => format!("{:.0} %", 100.0 * inside as f64 / published as f64),
                }
            })
            .collect();
        println!("| coverage of error95 | | | {} |\n", coverage.join(" | "));
        report_targets(count, &bounds, &all);
        if !key_withheld.is_empty() {
            let reasons: Vec<String> = key_withheld
                .iter()
                .map(|(why, runs)| format!("{why} in {runs} runs"))
                .collect();
            println!("key figures withheld: {}\n", reasons.join("; "));
        }
    }
}

/// Prints whether the targets hold: at 10 000 people, the share of (measurement, run) pairs
/// with P5/P95 (and P50) within their targets; at the first release's size, how often mean and P50
/// of the key measurements were published and the largest error of any published figure.
fn report_targets(count: usize, bounds: &[MeasurementBounds], all: &[Vec<Vec<f64>>]) {
    // Figure positions: n, mean, sd, then P1, P5, P10, P25, P50, P75, P90, P95, P99.
    let (mean, p5, p50, p95) = (1, 4, 7, 10);
    let runs = all[0][0].len();
    let share = |figures: &[usize], target: f64| {
        let pairs = all.len() * figures.len() * runs;
        let within: usize = all
            .iter()
            .map(|m| {
                figures
                    .iter()
                    .map(|&f| m[f].iter().filter(|e| e.abs() <= target).count())
                    .sum::<usize>()
            })
            .sum();
        100.0 * within as f64 / pairs as f64
    };
    if count == TARGETS.0 {
        let (_, median, tails) = TARGETS;
        println!(
            "targets: P50 within {median} SD in {:.1} % of (figure, run) pairs, P5/P95 within \
             {tails} SD in {:.1} % (both must be ≥ 95 %; withheld counts as a miss)\n",
            share(&[p50], median),
            share(&[p5, p95], tails)
        );
    }
    if count == FIRST_RELEASE.0 {
        let (_, names, limit) = FIRST_RELEASE;
        let key: Vec<usize> = bounds
            .iter()
            .enumerate()
            .filter(|(_, b)| names.contains(&b.name.as_str()))
            .map(|(m, _)| m)
            .collect();
        let published_runs = (0..runs)
            .filter(|&r| {
                key.iter()
                    .all(|&m| all[m][mean][r].is_finite() && all[m][p50][r].is_finite())
            })
            .count();
        let worst = all
            .iter()
            .flat_map(|m| m[1..].iter().flatten())
            .filter(|e| e.is_finite())
            .fold(0f64, |a, e| a.max(e.abs()));
        println!(
            "first release: mean and P50 of {} published in {published_runs} of {runs} runs; \
             largest error of any published figure {worst:.3} SD (must be ≤ {limit})\n",
            names.join(", ")
        );
    }
}
