//! Mondrian: strict multidimensional partitioning (local recoding) for k-anonymity, with optional
//! per-class constraints such as l-diversity and t-closeness.
//!
//! **Follows** LeFevre, DeWitt & Ramakrishnan (2006), "Mondrian multidimensional k-anonymity"
//! (ICDE), strict variant: the quasi-identifier space is cut recursively into non-overlapping
//! regions. A region is split on the quasi-identifier of widest normalised extent that can be
//! split *allowably* (every part keeps at least `k` records and satisfies every constraint),
//! trying narrower ones when it cannot; a region with no allowable split is a published class.
//!
//! - Numeric quasi-identifiers are cut at the median: the left part takes values ≤ the cut, the
//!   right part the larger ones. Ties at the median are kept on one side, so the boundary nearest
//!   to the median is used (then the next one on the other side of the median).
//! - Categorical quasi-identifiers are cut along their hierarchy: a region whose values meet at
//!   node `x` of the hierarchy (their lowest common ancestor) is split into one part per child of
//!   `x`, and only if every part is allowable, as in LeFevre et al.'s categorical splits.
//!
//! Each class is then described by the smallest region holding its records: a numeric range
//! `[min, max]` or the class mean ([`interval`]) and the label of the values' lowest common
//! ancestor in the hierarchy ([`common_ancestor`]).
//!
//! **Guarantee.** Every record is in exactly one class; every class has at least `k` records and
//! is accepted by every constraint. Classes' regions do not overlap, so two classes never publish
//! the same combination of ranges and labels.
//!
//! **Preconditions.** `k ≥ 1`; all columns have the same length; numeric values are finite;
//! categorical codes are base codes of their hierarchy. The whole table must itself satisfy the
//! model (at least `k` records, constraints accepting it), otherwise [`MondrianError::Infeasible`]
//! is returned: strict Mondrian never suppresses records.

use super::hierarchy::Hierarchy;
use super::model::ClassConstraint;

/// One quasi-identifier column as Mondrian sees it.
#[derive(Debug, Clone, Copy)]
pub enum QuasiIdentifier<'a> {
    /// Finite numbers, one per record.
    Numeric(&'a [f64]),
    /// Base codes of a hierarchy, one per record.
    Categorical {
        /// The column's hierarchy.
        hierarchy: &'a Hierarchy,
        /// Each record's base code in it.
        codes: &'a [u32],
    },
}

impl QuasiIdentifier<'_> {
    fn len(&self) -> usize {
        match self {
            QuasiIdentifier::Numeric(values) => values.len(),
            QuasiIdentifier::Categorical { codes, .. } => codes.len(),
        }
    }
}

/// The smallest range holding a class's values of a numeric quasi-identifier, and their mean.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
    /// The mean of the values.
    pub mean: f64,
}

/// Why no partition could be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MondrianError {
    /// k is 0.
    #[error("k must be at least 1")]
    InvalidK,
    /// The columns differ in length.
    #[error("the columns have different lengths")]
    RaggedColumns,
    /// A numeric value is NaN or infinite.
    #[error("column {column}, row {row}: value is not a finite number")]
    NotFinite {
        /// The quasi-identifier's position.
        column: usize,
        /// The record (1-based).
        row: usize,
    },
    /// Strict Mondrian never suppresses, so an infeasible table has no partition.
    #[error("the whole table ({records} records) does not satisfy the privacy model, so no partition can")]
    Infeasible {
        /// Records in the table.
        records: usize,
    },
}

/// The label published for `*`, above a hierarchy whose top level has several values.
pub const ROOT_LABEL: &str = "*";

/// Partitions the records into classes; each class is a sorted list of record indices, and classes
/// are ordered by their first record.
pub fn partition(
    attributes: &[QuasiIdentifier<'_>],
    k: usize,
    constraints: &[&dyn ClassConstraint],
) -> Result<Vec<Vec<usize>>, MondrianError> {
    if k == 0 {
        return Err(MondrianError::InvalidK);
    }
    let records = attributes.first().map_or(0, QuasiIdentifier::len);
    if attributes.iter().any(|a| a.len() != records) {
        return Err(MondrianError::RaggedColumns);
    }
    for (column, attribute) in attributes.iter().enumerate() {
        if let QuasiIdentifier::Numeric(values) = attribute {
            if let Some(row) = values.iter().position(|v| !v.is_finite()) {
                return Err(MondrianError::NotFinite {
                    column,
                    row: row + 1,
                });
            }
        }
    }
    let splitter = Splitter {
        attributes,
        k,
        constraints,
        spans: attributes
            .iter()
            .map(|attribute| match attribute {
                QuasiIdentifier::Numeric(values) => domain_span(values),
                QuasiIdentifier::Categorical { .. } => 0.0,
            })
            .collect(),
    };
    let all: Vec<usize> = (0..records).collect();
    if !splitter.allowable(&all) {
        return Err(MondrianError::Infeasible { records });
    }
    let mut classes = Vec::new();
    let mut pending = vec![all];
    while let Some(region) = pending.pop() {
        match splitter.split(&region) {
            Some(parts) => pending.extend(parts),
            None => classes.push(region),
        }
    }
    for class in &mut classes {
        class.sort_unstable();
    }
    classes.sort_unstable_by_key(|class| class[0]);
    Ok(classes)
}

/// The range and mean of a class's values of a numeric quasi-identifier.
pub fn interval(values: &[f64], class: &[usize]) -> Interval {
    let (min, max, sum) = numeric_summary(values, class);
    Interval {
        min,
        max,
        mean: sum / class.len() as f64,
    }
}

/// The hierarchy node where a class's values of a categorical quasi-identifier meet (their lowest
/// common ancestor) as (`level`, `code`); `level` equal to the number of hierarchy levels stands
/// for `*` above a top level that has several values.
pub fn common_ancestor(hierarchy: &Hierarchy, codes: &[u32], class: &[usize]) -> (usize, u32) {
    (0..hierarchy.levels())
        .find_map(|level| {
            let map = hierarchy.level_map(level);
            let first = map[codes[class[0]] as usize];
            class
                .iter()
                .all(|&r| map[codes[r] as usize] == first)
                .then_some((level, first))
        })
        .unwrap_or((hierarchy.levels(), 0))
}

/// The label of a hierarchy node from [`common_ancestor`].
pub fn node_label(hierarchy: &Hierarchy, level: usize, code: u32) -> &str {
    if level == hierarchy.levels() {
        ROOT_LABEL
    } else {
        hierarchy.label(level, code)
    }
}

/// Generalization loss of a partition, normalised like ARX's Loss metric (see `loss.rs`): per
/// quasi-identifier, each record counts the share of the domain its class's region covers
/// (numeric: range width over the column's range; categorical: the hierarchy node's extent), 0
/// for unchanged data and 1 when every record is generalized to the whole domain; attributes are
/// combined by the geometric mean of `1 + loss`, minus 1.
pub fn loss(attributes: &[QuasiIdentifier<'_>], classes: &[Vec<usize>]) -> f64 {
    let records: usize = classes.iter().map(Vec::len).sum();
    let losses: Vec<f64> = attributes
        .iter()
        .map(|attribute| {
            let (raw, untransformed): (f64, f64) = match attribute {
                QuasiIdentifier::Numeric(values) => {
                    let span = domain_span(values);
                    let raw = classes
                        .iter()
                        .map(|class| {
                            let (min, max, _) = numeric_summary(values, class);
                            if span > 0.0 {
                                (max - min) / span * class.len() as f64
                            } else {
                                0.0
                            }
                        })
                        .sum();
                    (raw, 0.0)
                }
                QuasiIdentifier::Categorical { hierarchy, codes } => {
                    let raw = classes
                        .iter()
                        .map(|class| {
                            let (level, code) = common_ancestor(hierarchy, codes, class);
                            node_share(hierarchy, level, code) * class.len() as f64
                        })
                        .sum();
                    let untransformed = classes
                        .iter()
                        .flatten()
                        .map(|&r| node_share(hierarchy, 0, codes[r]))
                        .sum();
                    (raw, untransformed)
                }
            };
            let range = records as f64 - untransformed;
            if range <= 0.0 {
                0.0
            } else {
                ((raw - untransformed) / range).clamp(0.0, 1.0)
            }
        })
        .collect();
    super::loss::geometric_mean_loss(&losses)
}

/// Share of the domain covered by a hierarchy node.
fn node_share(hierarchy: &Hierarchy, level: usize, code: u32) -> f64 {
    if level == hierarchy.levels() {
        1.0
    } else {
        hierarchy.extent(level, code) / hierarchy.domain_extent()
    }
}

/// Width of a numeric column's range.
fn domain_span(values: &[f64]) -> f64 {
    let (min, max) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if values.is_empty() {
        0.0
    } else {
        max - min
    }
}

/// Smallest value, largest value and sum of a class's values.
fn numeric_summary(values: &[f64], class: &[usize]) -> (f64, f64, f64) {
    class.iter().fold(
        (f64::INFINITY, f64::NEG_INFINITY, 0.0),
        |(min, max, sum), &r| (min.min(values[r]), max.max(values[r]), sum + values[r]),
    )
}

/// The model and the precomputed column spans (0 for categorical columns).
struct Splitter<'a> {
    attributes: &'a [QuasiIdentifier<'a>],
    k: usize,
    constraints: &'a [&'a dyn ClassConstraint],
    spans: Vec<f64>,
}

impl Splitter<'_> {
    fn allowable(&self, part: &[usize]) -> bool {
        part.len() >= self.k && self.constraints.iter().all(|c| c.accepts(part))
    }

    /// An allowable split of the region along the widest attribute that has one.
    fn split(&self, region: &[usize]) -> Option<Vec<Vec<usize>>> {
        if region.len() < 2 * self.k {
            return None;
        }
        let mut widths: Vec<(usize, f64)> = self
            .attributes
            .iter()
            .enumerate()
            .map(|(index, attribute)| (index, self.width(attribute, index, region)))
            .filter(|&(_, width)| width > 0.0)
            .collect();
        widths.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        widths
            .into_iter()
            .find_map(|(index, _)| match &self.attributes[index] {
                QuasiIdentifier::Numeric(values) => self.split_numeric(values, region),
                QuasiIdentifier::Categorical { hierarchy, codes } => {
                    self.split_categorical(hierarchy, codes, region)
                }
            })
    }

    /// Normalised extent of the region along one attribute: 0 when it cannot be split.
    fn width(&self, attribute: &QuasiIdentifier<'_>, index: usize, region: &[usize]) -> f64 {
        match attribute {
            QuasiIdentifier::Numeric(values) => {
                let (min, max, _) = numeric_summary(values, region);
                if self.spans[index] > 0.0 {
                    (max - min) / self.spans[index]
                } else {
                    0.0
                }
            }
            QuasiIdentifier::Categorical { hierarchy, codes } => {
                match common_ancestor(hierarchy, codes, region) {
                    (0, _) => 0.0,
                    (level, code) => node_share(hierarchy, level, code),
                }
            }
        }
    }

    fn split_numeric(&self, values: &[f64], region: &[usize]) -> Option<Vec<Vec<usize>>> {
        let mut sorted = region.to_vec();
        sorted.sort_unstable_by(|&a, &b| values[a].total_cmp(&values[b]).then(a.cmp(&b)));
        let middle = sorted.len() / 2;
        let boundary = |at: usize| values[sorted[at - 1]] < values[sorted[at]];
        let below = (1..=middle).rev().find(|&at| boundary(at));
        let above = (middle + 1..sorted.len()).find(|&at| boundary(at));
        let mut candidates: Vec<usize> = below.into_iter().chain(above).collect();
        candidates.sort_by_key(|&at| (at.abs_diff(middle), at));
        candidates.into_iter().find_map(|at| {
            let (left, right) = sorted.split_at(at);
            (self.allowable(left) && self.allowable(right))
                .then(|| vec![left.to_vec(), right.to_vec()])
        })
    }

    fn split_categorical(
        &self,
        hierarchy: &Hierarchy,
        codes: &[u32],
        region: &[usize],
    ) -> Option<Vec<Vec<usize>>> {
        let (level, _) = common_ancestor(hierarchy, codes, region);
        let child_map = hierarchy.level_map(level - 1);
        let mut children: Vec<(u32, usize)> = region
            .iter()
            .map(|&r| (child_map[codes[r] as usize], r))
            .collect();
        children.sort_unstable();
        let parts: Vec<Vec<usize>> = children
            .chunk_by(|a, b| a.0 == b.0)
            .map(|run| run.iter().map(|&(_, r)| r).collect())
            .collect();
        (parts.len() > 1 && parts.iter().all(|part| self.allowable(part))).then_some(parts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hierarchy(text: &str) -> Hierarchy {
        Hierarchy::from_csv_reader(text.as_bytes(), "h", b';').unwrap()
    }

    #[test]
    fn splits_numbers_at_the_median_into_k_sized_classes() {
        let ages = [20.0, 21.0, 22.0, 23.0, 40.0, 41.0, 42.0, 43.0];
        let attributes = [QuasiIdentifier::Numeric(&ages)];
        let classes = partition(&attributes, 2, &[]).unwrap();
        assert_eq!(
            classes,
            vec![vec![0, 1], vec![2, 3], vec![4, 5], vec![6, 7]]
        );
        let classes = partition(&attributes, 3, &[]).unwrap();
        assert_eq!(classes, vec![vec![0, 1, 2, 3], vec![4, 5, 6, 7]]);
        assert_eq!(
            interval(&ages, &classes[1]),
            Interval {
                min: 40.0,
                max: 43.0,
                mean: 41.5
            }
        );
    }

    #[test]
    fn ties_stay_on_one_side() {
        let values = [1.0, 5.0, 5.0, 5.0, 5.0, 9.0];
        let attributes = [QuasiIdentifier::Numeric(&values)];
        let classes = partition(&attributes, 1, &[]).unwrap();
        for class in &classes {
            let inside: Vec<f64> = class.iter().map(|&r| values[r]).collect();
            assert!(
                inside.iter().all(|&v| v == 5.0) || !inside.contains(&5.0),
                "{inside:?}"
            );
        }
    }

    #[test]
    fn categorical_splits_follow_the_hierarchy() {
        let h = hierarchy("a;ab;*\nb;ab;*\nc;cd;*\nd;cd;*\n");
        let codes = [0, 1, 2, 3, 0, 1, 2, 3];
        let attributes = [QuasiIdentifier::Categorical {
            hierarchy: &h,
            codes: &codes,
        }];
        // k = 3: {a,b} × 4 and {c,d} × 4; a and b alone have 2 records each.
        let classes = partition(&attributes, 3, &[]).unwrap();
        assert_eq!(classes, vec![vec![0, 1, 4, 5], vec![2, 3, 6, 7]]);
        let (level, code) = common_ancestor(&h, &codes, &classes[0]);
        assert_eq!(node_label(&h, level, code), "ab");
        // Loss: every record covers half the domain; baseline 1/4 per record.
        assert!((loss(&attributes, &classes) - (0.5 - 0.25) / 0.75).abs() < 1e-12);
        assert_eq!(
            loss(&attributes, &partition(&attributes, 2, &[]).unwrap()),
            0.0
        );
    }

    #[test]
    fn top_level_with_several_values_generalizes_to_star() {
        let h = hierarchy("a;x\nb;y\n");
        let codes = [0, 1, 0];
        let attributes = [QuasiIdentifier::Categorical {
            hierarchy: &h,
            codes: &codes,
        }];
        let classes = partition(&attributes, 2, &[]).unwrap();
        let (level, code) = common_ancestor(&h, &codes, &classes[0]);
        assert_eq!(node_label(&h, level, code), ROOT_LABEL);
    }

    #[test]
    fn infeasible_and_invalid_inputs() {
        let values = [1.0, 2.0];
        let attributes = [QuasiIdentifier::Numeric(&values)];
        assert_eq!(
            partition(&attributes, 3, &[]),
            Err(MondrianError::Infeasible { records: 2 })
        );
        assert_eq!(partition(&attributes, 0, &[]), Err(MondrianError::InvalidK));
        let nan = [1.0, f64::NAN];
        assert_eq!(
            partition(&[QuasiIdentifier::Numeric(&nan)], 1, &[]),
            Err(MondrianError::NotFinite { column: 0, row: 2 })
        );
        let short = [1.0];
        assert_eq!(
            partition(
                &[
                    QuasiIdentifier::Numeric(&values),
                    QuasiIdentifier::Numeric(&short)
                ],
                1,
                &[]
            ),
            Err(MondrianError::RaggedColumns)
        );
    }
}
