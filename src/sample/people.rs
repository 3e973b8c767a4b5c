//! Synthetic people with realistic, correlated body measurements.
//!
//! A person is drawn from FreeSewing's adult size models (`data/size-models/`): a continuous size
//! interpolated between the model rows, then a height factor for lengths, a girth factor for
//! circumferences, and a small independent error per measurement, as a tape measure would give.
//! Measurements therefore correlate the way real ones do (chest with waist, inseam with
//! waistToFloor) instead of being independent columns. Sets follow a few common coverage patterns
//! (a full set, a top, trousers, a bra, the basics, or a full set with a few gaps), some users own
//! several sets (family members, or near-duplicates of themselves), and some sets are junk: doll or
//! giant scale (FreeSewing's own test models), values typed in cm or inches, or zeros.

use rand::seq::SliceRandom;
use rand::Rng;
use rand_distr::{Distribution, Normal};

use crate::measurements::{Catalog, MISSING};

/// One of FreeSewing's size models: rows of measurements (catalogue order) by size.
#[derive(Debug, Clone)]
pub struct SizeModel {
    sizes: Vec<f64>,
    rows: Vec<Vec<f64>>,
}

impl SizeModel {
    /// Parses a size-model CSV (`model,size,<measurement>...`), mapping columns to the catalogue.
    pub fn parse(text: &str, catalog: &Catalog) -> Self {
        let mut lines = text.lines();
        let header: Vec<&str> = lines
            .next()
            .expect("size model has a header")
            .split(',')
            .collect();
        let mut model = SizeModel {
            sizes: Vec::new(),
            rows: Vec::new(),
        };
        for line in lines.filter(|l| !l.trim().is_empty()) {
            let cells: Vec<&str> = line.split(',').collect();
            let mut row = vec![MISSING; catalog.len()];
            for (name, cell) in header.iter().zip(&cells).skip(2) {
                if let Some(index) = catalog.index_of(name) {
                    row[index] = cell.parse().expect("size models hold numbers");
                }
            }
            model
                .sizes
                .push(cells[1].parse().expect("size models hold numbers"));
            model.rows.push(row);
        }
        model
    }

    fn smallest(&self) -> f64 {
        self.sizes[0]
    }

    fn largest(&self) -> f64 {
        self.sizes[self.sizes.len() - 1]
    }

    /// Linear interpolation (and extrapolation past the ends) at a continuous size.
    fn at(&self, size: f64) -> Vec<f64> {
        let last = self.sizes.len() - 1;
        let upper = self
            .sizes
            .iter()
            .position(|&s| s >= size)
            .unwrap_or(last)
            .clamp(1, last);
        let (s0, s1) = (self.sizes[upper - 1], self.sizes[upper]);
        let t = (size - s0) / (s1 - s0);
        self.rows[upper - 1]
            .iter()
            .zip(&self.rows[upper])
            .map(|(a, b)| a + t * (b - a))
            .collect()
    }

    /// The model's values of one catalogue measurement, size by size (NaN where it has none).
    pub fn values(&self, index: usize) -> impl Iterator<Item = f64> + '_ {
        self.rows.iter().map(move |row| row[index])
    }

    /// A random row, for junk sets.
    fn random_row(&self, rng: &mut impl Rng) -> Vec<f64> {
        self.rows[rng.gen_range(0..self.rows.len())].clone()
    }
}

/// The size models the generator draws from.
pub struct SizeModels {
    /// Adults with breasts (FreeSewing's `cisFemaleAdult` model).
    pub with_breasts: SizeModel,
    /// Adults without breasts (`cisMaleAdult`).
    pub without_breasts: SizeModel,
    /// Doll-scale models, for junk sets.
    pub dolls: Vec<SizeModel>,
    /// Giant-scale models, for junk sets.
    pub giants: Vec<SizeModel>,
}

impl SizeModels {
    /// FreeSewing's models as embedded in the binary.
    pub fn freesewing(catalog: &Catalog) -> Self {
        let parse = |text| SizeModel::parse(text, catalog);
        SizeModels {
            with_breasts: parse(include_str!("../../data/size-models/cisFemaleAdult.csv")),
            without_breasts: parse(include_str!("../../data/size-models/cisMaleAdult.csv")),
            dolls: vec![
                parse(include_str!("../../data/size-models/cisFemaleDoll.csv")),
                parse(include_str!("../../data/size-models/cisMaleDoll.csv")),
            ],
            giants: vec![
                parse(include_str!("../../data/size-models/cisFemaleGiant.csv")),
                parse(include_str!("../../data/size-models/cisMaleGiant.csv")),
            ],
        }
    }
}

/// A synthetic body: every measurement, before a coverage pattern is applied.
#[derive(Debug, Clone)]
pub struct Body {
    /// Whether the body has breasts; breasts-only measurements exist only then.
    pub breasts: bool,
    /// Every catalogue measurement, in catalogue order, before rounding to what people type.
    pub values: Vec<f64>,
}

/// Lengths scale with height; everything else with girth.
const LENGTHS: [&str; 21] = [
    "bustPointToUnderbust",
    "crossSeam",
    "crossSeamFront",
    "crotchDepth",
    "hpsToBust",
    "hpsToWaistBack",
    "hpsToWaistFront",
    "inseam",
    "shoulderToElbow",
    "shoulderToShoulder",
    "shoulderToWrist",
    "waistToArmhole",
    "waistToFloor",
    "waistToHips",
    "waistToKnee",
    "waistToSeat",
    "waistToUnderbust",
    "waistToUpperLeg",
    "bustSpan",
    "head",
    "heel",
];

/// Draws a plausible adult body.
pub fn draw_body(models: &SizeModels, catalog: &Catalog, rng: &mut impl Rng) -> Body {
    let breasts = rng.gen_bool(0.56);
    let model = if breasts {
        &models.with_breasts
    } else {
        &models.without_breasts
    };
    let middle = (model.smallest() + model.largest()) / 2.0;
    let spread = (model.largest() - model.smallest()) / 4.0;
    let size = Normal::new(middle, spread)
        .expect("positive spread")
        .sample(rng)
        .clamp(model.smallest() - 3.0, model.largest() + 3.0);
    let height = Normal::new(1.0, 0.035).expect("valid").sample(rng);
    let girth = Normal::new(1.0, 0.05).expect("valid").sample(rng);
    let tape = Normal::new(0.0, 0.02).expect("valid");
    let slope = Normal::new(0.0, 2.5).expect("valid");
    let values = model
        .at(size)
        .iter()
        .enumerate()
        .map(|(index, &base)| {
            let name = catalog.names()[index].as_str();
            if catalog.unit(index) == "deg" {
                (base + slope.sample(rng)).clamp(5.0, 30.0)
            } else {
                let factor = if LENGTHS.contains(&name) {
                    height
                } else {
                    girth
                };
                base * factor * (1.0 + tape.sample(rng))
            }
        })
        .collect();
    Body { breasts, values }
}

/// How a person filled in their measurements set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// Every measurement the body has.
    Full,
    /// The twelve measurements of a top (chest, waist, hips, neck, shoulders, arms).
    Top,
    /// The fourteen measurements of trousers.
    Trousers,
    /// The eight measurements of a bra (drawn only for people with breasts).
    Bra,
    /// Chest, hips, neck and waist.
    Basics,
    /// A full set with one to three measurements left out.
    FullWithGaps,
}

const TOP: [&str; 12] = [
    "biceps",
    "chest",
    "hips",
    "hpsToWaistBack",
    "neck",
    "shoulderSlope",
    "shoulderToShoulder",
    "shoulderToWrist",
    "waist",
    "waistToArmhole",
    "waistToHips",
    "wrist",
];
const TROUSERS: [&str; 14] = [
    "ankle",
    "crossSeam",
    "crossSeamFront",
    "crotchDepth",
    "heel",
    "hips",
    "inseam",
    "knee",
    "seat",
    "seatBack",
    "upperLeg",
    "waist",
    "waistToFloor",
    "waistToKnee",
];
const BRA: [&str; 8] = [
    "bustFront",
    "bustPointToUnderbust",
    "bustSpan",
    "chest",
    "highBust",
    "highBustFront",
    "underbust",
    "waistToUnderbust",
];
const BASICS: [&str; 4] = ["chest", "hips", "neck", "waist"];

/// Picks a coverage pattern with the frequencies seen in sewing apps: mostly full sets and
/// garment-specific subsets.
pub fn draw_coverage(breasts: bool, rng: &mut impl Rng) -> Coverage {
    let roll: f64 = rng.gen();
    match roll {
        r if r < 0.38 => Coverage::Full,
        r if r < 0.62 => Coverage::Top,
        r if r < 0.80 => Coverage::Trousers,
        r if r < 0.86 && breasts => Coverage::Bra,
        r if r < 0.93 => Coverage::Basics,
        _ => Coverage::FullWithGaps,
    }
}

/// The values of `body` a set with this coverage holds (others [`MISSING`]).
pub fn apply_coverage(
    body: &Body,
    coverage: Coverage,
    catalog: &Catalog,
    rng: &mut impl Rng,
) -> Vec<f64> {
    let keep_names = |names: &[&str]| -> Vec<bool> {
        catalog
            .names()
            .iter()
            .map(|n| names.contains(&n.as_str()))
            .collect()
    };
    let mut keep: Vec<bool> = match coverage {
        Coverage::Full | Coverage::FullWithGaps => (0..catalog.len())
            .map(|i| body.breasts || !catalog.breasts_only(i))
            .collect(),
        Coverage::Top => keep_names(&TOP),
        Coverage::Trousers => keep_names(&TROUSERS),
        Coverage::Bra => keep_names(&BRA),
        Coverage::Basics => keep_names(&BASICS),
    };
    if coverage == Coverage::FullWithGaps {
        let mut present: Vec<usize> = (0..keep.len()).filter(|&i| keep[i]).collect();
        present.shuffle(rng);
        for &i in present.iter().take(rng.gen_range(1..=3)) {
            keep[i] = false;
        }
    }
    body.values
        .iter()
        .zip(keep)
        .map(|(&v, k)| if k { v } else { MISSING })
        .collect()
}

/// Rounds values the way people type them: whole mm, or eighths of an inch for imperial users.
pub fn as_typed(values: &[f64], imperial: bool, catalog: &Catalog) -> Vec<f64> {
    values
        .iter()
        .enumerate()
        .map(|(index, &v)| match () {
            _ if v.is_nan() => v,
            _ if catalog.unit(index) == "deg" => (v * 2.0).round() / 2.0,
            _ if imperial => ((v / 25.4 * 8.0).round() / 8.0 * 25.4 * 100.0).round() / 100.0,
            _ => v.round(),
        })
        .collect()
}

/// The kinds of junk found in real measurement databases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Junk {
    /// A row of a doll-scale model (FreeSewing's test models).
    Doll,
    /// A row of a giant-scale model (FreeSewing's test models).
    Giant,
    /// The values typed in centimetres instead of millimetres.
    Centimetres,
    /// The values typed in inches (to a quarter inch).
    Inches,
    /// Zeros where a form left fields blank: the first value always, the others at random.
    Zeros,
}

/// Turns a genuine set into junk of a random kind.
pub fn make_junk(values: &[f64], models: &SizeModels, rng: &mut impl Rng) -> (Junk, Vec<f64>) {
    let kind = [
        Junk::Doll,
        Junk::Giant,
        Junk::Centimetres,
        Junk::Inches,
        Junk::Zeros,
    ][rng.gen_range(0..5)];
    let mask = |row: Vec<f64>| -> Vec<f64> {
        row.iter()
            .zip(values)
            .map(|(&r, &v)| if v.is_nan() { v } else { r })
            .collect()
    };
    let junk = match kind {
        Junk::Doll => mask(models.dolls[rng.gen_range(0..models.dolls.len())].random_row(rng)),
        Junk::Giant => mask(models.giants[rng.gen_range(0..models.giants.len())].random_row(rng)),
        Junk::Centimetres => values
            .iter()
            .map(|v| (v / 10.0 * 10.0).round() / 10.0)
            .collect(),
        Junk::Inches => values
            .iter()
            .map(|v| (v / 25.4 * 4.0).round() / 4.0)
            .collect(),
        Junk::Zeros => {
            // Left blank in a form that stores 0: the first value always, others at random.
            let first = values.iter().position(|v| !v.is_nan());
            values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    if !v.is_nan() && (Some(i) == first || rng.gen_bool(0.5)) {
                        0.0
                    } else {
                        *v
                    }
                })
                .collect()
        }
    };
    (kind, junk)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::select::judge_values;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn genuine_bodies_are_plausible_and_junk_is_not() {
        let catalog = Catalog::freesewing();
        let models = SizeModels::freesewing(&catalog);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut implausible_genuine = 0;
        for _ in 0..2000 {
            let body = draw_body(&models, &catalog, &mut rng);
            let coverage = draw_coverage(body.breasts, &mut rng);
            let values = as_typed(
                &apply_coverage(&body, coverage, &catalog, &mut rng),
                rng.gen_bool(0.2),
                &catalog,
            );
            implausible_genuine += usize::from(judge_values(&values, &catalog).is_err());
            let (kind, junk) = make_junk(&values, &models, &mut rng);
            // A doll or giant set without a long length is a small or large but possible
            // person: ranges cannot tell. A leg, back or arm length gives the scale away.
            let has_length = [
                "inseam",
                "waistToFloor",
                "hpsToWaistBack",
                "shoulderToWrist",
                "crossSeam",
            ]
            .iter()
            .any(|n| !junk[catalog.index_of(n).unwrap()].is_nan());
            if !matches!(kind, Junk::Doll | Junk::Giant) || has_length {
                assert!(
                    judge_values(&junk, &catalog).is_err(),
                    "{kind:?} junk passed as plausible"
                );
            }
        }
        assert!(
            implausible_genuine <= 4,
            "{implausible_genuine} genuine sets rejected"
        );
    }

    #[test]
    fn measurements_are_correlated() {
        let catalog = Catalog::freesewing();
        let models = SizeModels::freesewing(&catalog);
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let (chest, waist) = (
            catalog.index_of("chest").unwrap(),
            catalog.index_of("waist").unwrap(),
        );
        let pairs: Vec<(f64, f64)> = (0..1000)
            .map(|_| draw_body(&models, &catalog, &mut rng))
            .map(|b| (b.values[chest], b.values[waist]))
            .collect();
        let n = pairs.len() as f64;
        let (mx, my) = (
            pairs.iter().map(|p| p.0).sum::<f64>() / n,
            pairs.iter().map(|p| p.1).sum::<f64>() / n,
        );
        let cov: f64 = pairs.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        let (vx, vy): (f64, f64) = (
            pairs.iter().map(|p| (p.0 - mx).powi(2)).sum(),
            pairs.iter().map(|p| (p.1 - my).powi(2)).sum(),
        );
        assert!(cov / (vx * vy).sqrt() > 0.7);
    }
}
