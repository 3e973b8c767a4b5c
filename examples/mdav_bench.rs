//! Benchmark data and measurements for MDAV on synthetic FreeSewing measurements.
//!
//! ```sh
//! cargo run --release --example mdav_bench -- csv ROWS SEED OUT.csv   # complete 38-measurement rows
//! cargo run --release --example mdav_bench -- loss ROWS SEED K [LIMIT...]  # exact vs partitioned
//! ```
//!
//! `csv` writes ROWS synthetic people (FreeSewing's size models, as `anonpub sample` draws them)
//! with all 38 measurements in mm, rounded as people type them; `schemas/freesewing.toml`
//! describes the file. `loss` microaggregates ROWS such people with exact MDAV and with the
//! partition-then-MDAV used above LIMIT records (default 1,000, the default of `publish` and
//! `anonymize`), and prints the time and the SSE/SST information loss of each: once on complete
//! records and once with the coverage patterns real sets have.

use std::io::Write;
use std::time::Instant;

use anonpub::anonymize::microaggregation::microaggregate_constrained;
use anonpub::anonymize::sse::sse_information_loss;
use anonpub::measurements::Catalog;
use anonpub::sample::people::{apply_coverage, as_typed, draw_body, draw_coverage, SizeModels};
use anonpub::table::MeasurementTable;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// The partition threshold `publish` and `anonymize` use by default.
const DEFAULT_EXACT_LIMIT: usize = 1000;

fn people(rows: usize, seed: u64, coverage: bool) -> MeasurementTable {
    let catalog = Catalog::freesewing();
    let models = SizeModels::freesewing(&catalog);
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut table = MeasurementTable::new(catalog.names().to_vec());
    for person in 0..rows {
        let body = draw_body(&models, &catalog, &mut rng);
        let values = if coverage {
            let pattern = draw_coverage(body.breasts, &mut rng);
            apply_coverage(&body, pattern, &catalog, &mut rng)
        } else {
            body.values
        };
        let person = u32::try_from(person).expect("fewer than 2^32 rows");
        table.push(person, &as_typed(&values, false, &catalog));
    }
    table
}

fn write_csv(rows: usize, seed: u64, path: &str) -> std::io::Result<()> {
    let table = people(rows, seed, false);
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "{}", table.columns().join(","))?;
    for index in 0..table.len() {
        let cells: Vec<String> = table.row(index).iter().map(f64::to_string).collect();
        writeln!(out, "{}", cells.join(","))?;
    }
    out.flush()
}

fn compare(rows: usize, seed: u64, k: usize, limits: &[usize]) {
    let catalog = Catalog::freesewing();
    let rounding: Vec<f64> = (0..catalog.len()).map(|i| catalog.rounding(i)).collect();
    for coverage in [false, true] {
        let table = people(rows, seed, coverage);
        let mut figures = Vec::new();
        let runs = std::iter::once(("exact".to_string(), rows))
            .chain(limits.iter().map(|&l| (format!("limit {l}"), l)));
        for (name, limit) in runs {
            let start = Instant::now();
            let result = microaggregate_constrained(
                &table,
                k,
                limit,
                &rounding,
                &[],
                &anonpub::observe::Silent,
            );
            let seconds = start.elapsed().as_secs_f64();
            let width = table.width();
            let mut released = vec![f64::NAN; table.len() * width];
            for (index, &record) in result.source.iter().enumerate() {
                released[record * width..(record + 1) * width]
                    .copy_from_slice(&result.values[index * width..(index + 1) * width]);
            }
            let original: Vec<f64> = (0..table.len())
                .flat_map(|r| table.row(r).to_vec())
                .collect();
            let loss = sse_information_loss(&original, &released, width).expect("data has spread");
            println!(
                "{rows} records, k = {k}, {}: {name:<11} SSE/SST = {loss:.5}  groups = {:>5}  suppressed = {:>4}  time = {seconds:.2} s",
                if coverage { "coverage patterns" } else { "complete records " },
                result.groups,
                result.coverage.suppressed_records,
            );
            if let Some(exact) = figures.first() {
                println!(
                    "  relative to exact: {:+.2} %",
                    (loss / exact - 1.0) * 100.0
                );
            }
            figures.push(loss);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |index: usize| -> u64 {
        args.get(index)
            .and_then(|a| a.parse().ok())
            .expect("usage: mdav_bench csv ROWS SEED OUT | loss ROWS SEED K [LIMIT...]")
    };
    match args.first().map(String::as_str) {
        Some("csv") => {
            let path = args.get(3).expect("usage: mdav_bench csv ROWS SEED OUT");
            write_csv(number(1) as usize, number(2), path).expect("the CSV can be written");
        }
        Some("loss") => {
            let mut limits: Vec<usize> = (4..args.len()).map(|i| number(i) as usize).collect();
            if limits.is_empty() {
                limits.push(DEFAULT_EXACT_LIMIT);
            }
            compare(number(1) as usize, number(2), number(3) as usize, &limits)
        }
        _ => eprintln!("usage: mdav_bench csv ROWS SEED OUT | loss ROWS SEED K [LIMIT...]"),
    }
}
