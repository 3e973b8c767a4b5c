//! The rebuilding attacks, measured against the release method on a sample database.
//!
//! ```sh
//! cargo run --release -- sample --users 10000 --seed 1 --db /tmp/a.sqlite --key-file /tmp/a.key
//! cargo run --release --example attacks -- --db /tmp/a.sqlite --key-file /tmp/a.key \
//!     --as-of 2026-11-01 [--k 5] [--targets 50] [--public-share 0.2] [--seed 1] \
//!     [--guess-error 0.04] [--noise-scale 0] [--exclude-public] [--json]
//! ```
//!
//! Selects the eligible sets as `publish` does, then runs, against the publish method at k (the
//! default config: coverage planning, MDAV, spread restoration, rounding):
//! differencing (leavers and joiners), known members with `--public-share` of the eligible sets
//! drawn public at random, and fake accounts. Prints, per attack, the share of targets recovered
//! (every published measurement within 2 % or 5 mm) and the median error in standard deviations,
//! next to how often a person's own group mean is already that close. With `--noise-scale`, every
//! release carries the keyed group noise (`anonymize::group_noise`) of that many standard
//! deviations, keyed from the database's key, with person numbers as the stable person keys
//! (`anonymize::group_noise::add_group_noise`, as `publish` applies it). With `--exclude-public`,
//! the drawn public sets are left out before the release is made, as `publish` leaves them out.
//! The attacks run through `risk::attacks::run_attacks`, the code behind the internal report's
//! `attacks` section, on the whole eligible table.
//! These figures describe the private data: keep them with the internal report.

use std::path::PathBuf;
use std::time::Instant;

use anonpub::anonymize::group_noise::{add_group_noise, GROUP_NOISE_LABEL};
use anonpub::anonymize::microaggregation::{self, microaggregate};
use anonpub::config::ReleaseConfig;
use anonpub::dates::Date;
use anonpub::extract::crypto::{load_secret, FieldKey};
use anonpub::extract::freesewing_v3::{FreeSewingV3, V3Database};
use anonpub::measurements::Catalog;
use anonpub::observe::Silent;
use anonpub::risk::attacks::{run_attacks, AttackInput, AttackSettings};
use anonpub::risk::fake_accounts::FakeAccounts;
use anonpub::risk::known_members::known_members_attack;
use anonpub::risk::recovery::{GroupedRelease, RecoveryFigures, Scoring, Tolerance};
use anonpub::risk::utility::{numeric_utility, NumericUtility};
use anonpub::select::{select, SelectionPolicy};
use anonpub::table::MeasurementTable;
use clap::Parser;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde_json::json;
use zeroize::Zeroizing;

/// Domain separation of the draw of public sets.
const PUBLIC_STREAM: u64 = 0x7075_626c_6963_2121; // "public!!"

#[derive(Debug, Parser)]
struct Args {
    #[arg(long)]
    db: PathBuf,
    #[arg(long)]
    key_file: PathBuf,
    #[arg(long, value_parser = anonpub::cli::parse_date)]
    as_of: Date,
    #[arg(long, default_value_t = 5)]
    k: usize,
    /// Targets per attack (leavers, joiners and fake-account targets each).
    #[arg(long, default_value_t = 50)]
    targets: usize,
    /// Share of eligible sets drawn public for the known-members attack.
    #[arg(long, default_value_t = 0.2)]
    public_share: f64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Largest relative error of the fake-account attacker's guess of each measurement.
    #[arg(long, default_value_t = 0.04)]
    guess_error: f64,
    /// Keyed group noise of this many standard deviations on every released value (0: none).
    #[arg(long, default_value_t = 0.0)]
    noise_scale: f64,
    /// Leave the public sets out of the release, as `publish` does, before attacking it.
    #[arg(long)]
    exclude_public: bool,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

fn main() -> anonpub::Result<()> {
    let args = Args::parse();
    let catalog = Catalog::freesewing();
    let (all, noise_key) = eligible(&args, &catalog)?;
    let defaults = ReleaseConfig::default();
    let release_method = microaggregation::ReleaseMethod::for_catalog(
        &catalog,
        args.k,
        defaults.mdav_exact_limit,
        defaults.min_pattern_people,
    );
    let k = args.k;
    let mut rng = ChaCha20Rng::seed_from_u64(args.seed);
    rng.set_stream(PUBLIC_STREAM);
    let drawn_public: Vec<bool> = (0..all.len())
        .map(|_| rng.gen_bool(args.public_share))
        .collect();
    // Public sets left out, as `publish` leaves them out (counted as `public_set`): the release
    // and every attack then see only the private sets.
    let (table, public) = if args.exclude_public {
        let mut private = MeasurementTable::new(all.columns().to_vec());
        for r in (0..all.len()).filter(|&r| !drawn_public[r]) {
            private.push(all.person(r), all.row(r));
        }
        let none = vec![false; private.len()];
        (private, none)
    } else {
        (all, drawn_public)
    };
    let scoring = Scoring::new(Tolerance::for_catalog(&catalog), &table);
    // Person numbers stay the same across the simulated releases, so they serve as stable keys.
    let person_key = |person: u32| u64::from(person);
    let method = |table: &MeasurementTable| {
        let hidden = anonpub::observe::Silent;
        let mut released = microaggregate(table, &release_method, &hidden);
        add_group_noise(
            table,
            &mut released,
            &release_method,
            args.noise_scale,
            noise_key.clone(),
            &person_key,
        );
        GroupedRelease {
            values: released.values,
            source: released.source,
            group: released.group,
        }
    };
    let release = method(&table);
    let utility = numeric_utility(catalog.names(), table.values(), &release.values);
    let median_ks = median_ks(&utility);
    let group_mean_alone = known_members_attack(
        &table,
        release.rows(),
        &vec![false; table.len()],
        k,
        (&scoring, usize::MAX),
    );

    let settings = AttackSettings {
        targets: args.targets,
        // The whole table, with exactly `--targets` targets per attack.
        max_people: table.distinct_people().max(2),
        fake_accounts: FakeAccounts {
            guess_error: args.guess_error,
        },
        ..AttackSettings::default()
    };
    let input = AttackInput {
        table: &table,
        public: &public,
        member_key: &[],
        previous: None,
        k,
    };
    let started = Instant::now();
    let attacks = run_attacks(
        input,
        release.rows(),
        &method,
        &settings,
        args.seed,
        &scoring,
    );
    let seconds = started.elapsed().as_secs_f64();

    if args.json {
        let document = json!({
            "eligible_sets": table.len(),
            "eligible_people": table.distinct_people(),
            "k": k,
            "seed": args.seed,
            "noise_scale": args.noise_scale,
            "public_share": args.public_share,
            "public_excluded": args.exclude_public,
            "median_ks": median_ks,
            "group_mean_alone": group_mean_alone.rebuilt,
            "attacks": attacks.detail(),
            "seconds": seconds,
        });
        println!("{}", serde_json::to_string_pretty(&document).expect("JSON"));
        return Ok(());
    }
    println!(
        "{} eligible sets of {} people, k = {k}, seed {}, noise {} SD, median KS {median_ks:.4}",
        table.len(),
        table.distinct_people(),
        args.seed,
        args.noise_scale
    );
    println!(
        "{:<34} {:>8} {:>8} {:>10} {:>10}",
        "attack", "targets", "located", "recovered", "median SD"
    );
    print_line("group mean alone (no attack)", &group_mean_alone.rebuilt);
    for line in attacks.lines() {
        print_line(line.label, &line.figures);
    }
    println!(
        "(known members with {:.0} % of sets public{}; planted accounts guess within ±{:.0} %)",
        100.0 * args.public_share,
        if args.exclude_public {
            ", left out"
        } else {
            ""
        },
        100.0 * args.guess_error
    );
    for (_, outcome) in &attacks.outcomes {
        if let Some(note) = &outcome.note {
            println!("{note}");
        }
    }
    println!("time: {seconds:.1} s");
    Ok(())
}

fn print_line(name: &str, figures: &RecoveryFigures) {
    println!(
        "{name:<34} {:>8} {:>8} {:>9.1}% {:>10}",
        figures.targets,
        figures.located,
        100.0 * figures.recovered_share,
        figures
            .median_error_sd
            .map_or("-".into(), |e| format!("{e:.3}"))
    );
}

/// Median over columns of the Kolmogorov–Smirnov distance between raw and released values.
fn median_ks(utility: &NumericUtility) -> f64 {
    let mut ks: Vec<f64> = utility
        .columns
        .iter()
        .filter_map(|c| c.ks_distance)
        .collect();
    ks.sort_unstable_by(f64::total_cmp);
    ks[ks.len() / 2]
}

/// The eligible sets, selected as `publish` selects them with the default config, and the
/// group-noise key derived from the database's key.
fn eligible(
    args: &Args,
    catalog: &Catalog,
) -> anonpub::Result<(MeasurementTable, Zeroizing<[u8; 32]>)> {
    let database = V3Database::open(&args.db)?;
    let (secret, origin) = load_secret(Some(&args.key_file))?;
    let key = FieldKey::derive(&secret);
    let noise_key = key.subkey(GROUP_NOISE_LABEL);
    let source = FreeSewingV3::new(database, key, origin.into());
    let defaults = ReleaseConfig::default();
    let policy = SelectionPolicy {
        as_of: args.as_of,
        retention_months: defaults.retention_months,
        min_account_age_days: defaults.defences.min_account_age_days,
        max_malformed_share: defaults.max_malformed_share,
    };
    let (table, _) = select(&source, &policy, catalog, &Silent)?;
    Ok((table, noise_key))
}
