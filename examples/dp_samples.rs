//! Draws from anonpub's DP samplers, for `scripts/check_dp_samplers.py`, which compares their
//! distributions with OpenDP's samplers of the same parameters (CI, `.ci/run`).
//!
//! Prints three lines, each a name and `--draws` space-separated integers:
//! - `laplace`: the discrete Laplace with scale 3 (`dp::laplace`);
//! - `gaussian`: the discrete Gaussian with σ = 2 (`dp::gaussian`);
//! - `exponential`: the exponential mechanism for the median of the histogram
//!   [`HISTOGRAM`] at ε = 1 (`dp::quantile`), as grid indices.
//!
//! Run: `cargo run --release --example dp_samples -- --draws 20000`.

use anonpub::dp::exact::Fraction;
use anonpub::dp::gaussian::DiscreteGaussian;
use anonpub::dp::laplace::sample_discrete_laplace;
use anonpub::dp::os_rng;
use anonpub::dp::quantile::exponential_quantile;

/// People per grid point of the exponential mechanism's test (24 people: the median's rank, 12,
/// is a whole number, so every score is an integer).
const HISTOGRAM: [u64; 10] = [3, 0, 5, 2, 0, 0, 7, 1, 4, 2];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let draws: usize = match args.as_slice() {
        [flag, value] if flag == "--draws" => value.parse().expect("--draws takes a count"),
        [] => 20_000,
        _ => panic!("usage: dp_samples [--draws N]"),
    };
    let mut rng = os_rng();
    let print = |name: &str, values: Vec<String>| println!("{name} {}", values.join(" "));
    let laplace = Fraction::new(3u32, 1u32);
    print(
        "laplace",
        (0..draws)
            .map(|_| sample_discrete_laplace(&laplace, &mut rng).to_string())
            .collect(),
    );
    let gaussian = DiscreteGaussian {
        variance: Fraction::new(4u32, 1u32),
    };
    print(
        "gaussian",
        (0..draws)
            .map(|_| gaussian.sample(&mut rng).to_string())
            .collect(),
    );
    let epsilon = Fraction::new(1u32, 1u32);
    print(
        "exponential",
        (0..draws)
            .map(|_| exponential_quantile(&HISTOGRAM, 50, &epsilon, &mut rng).to_string())
            .collect(),
    );
}
