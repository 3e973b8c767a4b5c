//! Optimal full-domain generalization (global recoding) with record suppression.
//!
//! Every quasi-identifier is generalized to one level of its hierarchy for all
//! records (Samarati 2001; Sweeney 2002); the candidate transformations form a
//! lattice of level vectors. Records in equivalence classes smaller than `k`, or
//! failing an extra [`ClassConstraint`], are suppressed, and a transformation
//! satisfies the model if at most ⌊limit · records⌋ records are suppressed.
//! Among those, the search returns one with minimal ARX Loss (`loss.rs`).
//!
//! Guarantee: the returned transformation has the smallest loss of all lattice
//! nodes that satisfy the model. The search follows Kohlmayer et al. (2012),
//! "Flash: efficient, stable and optimal k-anonymity", adapted to a loss that
//! is not monotone once suppression is allowed:
//!
//! - Nodes are visited best-first by a lower bound of their loss (the loss if
//!   nothing were suppressed), which never decreases upwards in the lattice and
//!   never exceeds the true loss; the search stops once the bound exceeds the
//!   best loss found, so no better node is skipped. Ties go to the node with
//!   the smallest sum of levels, as in ARX.
//! - Whether a node satisfies the model is decided with Flash's predictive
//!   tagging: k-anonymity with suppression is monotone (a node that satisfies it
//!   makes every more general node satisfy it, a node that fails makes every
//!   more specialised node fail), so from an undecided node the search walks
//!   a path upwards and binary-searches it, each check tagging a whole up- or
//!   down-set.
//! - A node's classes are rolled up from the classes of an already computed,
//!   more specialised node (the cached one with fewest classes) instead of
//!   rescanning all records.
//!
//! Preconditions: `columns[d]` holds base codes of `hierarchies[d]` (see
//! `Hierarchy::encode_column`), all columns have the same length, and the
//! hierarchies nest (which `Hierarchy` enforces).

use std::cmp::Ordering;
use std::collections::hash_map::Entry;
use std::collections::{BinaryHeap, HashMap};

use rayon::prelude::*;

use super::hierarchy::Hierarchy;
use super::loss::LossMetric;
use crate::fast_hash::FastMap;

/// The per-class constraint every method enforces, defined with the privacy models.
pub use super::model::ClassConstraint;

/// Largest lattice the search will index (one byte of state per node).
const MAX_LATTICE_NODES: usize = 1 << 28;

/// Class-list entries kept for roll-ups before the largest lists are evicted.
const CACHE_BUDGET: usize = 1 << 22;

/// What a published table must satisfy.
pub struct PrivacyModel<'c> {
    /// Smallest allowed equivalence class.
    pub k: usize,
    /// Largest fraction of records that may be suppressed, in `[0, 1]`.
    pub suppression_limit: f64,
    /// Further per-class requirements.
    pub constraints: Vec<&'c dyn ClassConstraint>,
}

impl PrivacyModel<'_> {
    /// Plain k-anonymity with the given suppression limit.
    pub fn k_anonymity(k: usize, suppression_limit: f64) -> Self {
        Self {
            k,
            suppression_limit,
            constraints: Vec::new(),
        }
    }
}

/// A lattice node and its figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Transformation {
    /// Generalization level per quasi-identifier, in column order.
    pub levels: Vec<usize>,
    /// ARX Loss, in `[0, 1]`.
    pub loss: f64,
    /// Number of suppressed records.
    pub suppressed: usize,
    /// Number of published (not suppressed) equivalence classes.
    pub classes: usize,
    /// Size of the smallest published class; 0 if every record is suppressed.
    pub smallest_class: usize,
}

/// A transformation applied to the table, ready to be written out.
#[derive(Debug, Clone)]
pub struct Anonymized {
    /// The applied lattice node and its figures.
    pub transformation: Transformation,
    /// `generalized[column][record]`: generalized code on the column's level.
    pub generalized: Vec<Vec<u32>>,
    /// `suppressed[record]`: the record is published as `*` in every column.
    pub suppressed: Vec<bool>,
}

impl Anonymized {
    /// The text to publish for one cell: the hierarchy label, or `*` for a
    /// suppressed record.
    pub fn label<'h>(&self, hierarchies: &'h [Hierarchy], column: usize, record: usize) -> &'h str {
        if self.suppressed[record] {
            "*"
        } else {
            let level = self.transformation.levels[column];
            hierarchies[column].label(level, self.generalized[column][record])
        }
    }
}

/// Why no anonymized table could be produced.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// k is 0.
    #[error("k must be at least 1")]
    InvalidK,
    /// The suppression limit is not in [0, 1].
    #[error("suppression limit {0} is not a fraction between 0 and 1")]
    InvalidSuppressionLimit(f64),
    /// There must be one hierarchy per column.
    #[error("{columns} columns but {hierarchies} hierarchies")]
    HierarchyCountMismatch {
        /// Columns given.
        columns: usize,
        /// Hierarchies given.
        hierarchies: usize,
    },
    /// The columns differ in length.
    #[error("column {column} has {found} records where the first column has {expected}")]
    RaggedColumns {
        /// The column's hierarchy name.
        column: String,
        /// Records of the first column.
        expected: usize,
        /// Records of this column.
        found: usize,
    },
    /// The records do not fit the search's 32-bit counters.
    #[error("more records than the search can count ({0})")]
    TooManyRecords(usize),
    /// A code lies outside its hierarchy's base level.
    #[error("column {column}, row {row}: code is not a value of the column's hierarchy")]
    CodeOutOfRange {
        /// The column's hierarchy name.
        column: String,
        /// The record (1-based).
        row: usize,
    },
    /// The packed class keys would overflow 128 bits.
    #[error("the quasi-identifiers have more than 2^128 value combinations")]
    DomainTooLarge,
    /// The lattice is too large to index.
    #[error("the generalization lattice has more than {MAX_LATTICE_NODES} nodes")]
    LatticeTooLarge,
    /// Levels given to [`apply`] that the hierarchies do not have.
    #[error("levels {levels:?} do not fit the hierarchies")]
    InvalidLevels {
        /// The levels asked for.
        levels: Vec<usize>,
    },
    /// Levels given to [`apply`] that need more suppression than allowed.
    #[error("levels {levels:?} need {suppressed} suppressed records, more than the limit {limit}")]
    LimitExceeded {
        /// The levels asked for.
        levels: Vec<usize>,
        /// Records they suppress.
        suppressed: usize,
        /// Records the limit allows.
        limit: usize,
    },
    /// No lattice node satisfies the model.
    #[error("no transformation satisfies the privacy model within the suppression limit")]
    NoSolution,
}

/// Finds a transformation with minimal loss among those satisfying `model`,
/// and applies it.
pub fn find_optimal(
    columns: &[Vec<u32>],
    hierarchies: &[Hierarchy],
    model: &PrivacyModel,
) -> Result<Anonymized, SearchError> {
    let engine = Engine::new(columns, hierarchies, model)?;
    let lattice = Lattice::new(hierarchies)?;
    let levels = Search::new(&engine, &lattice)
        .run()
        .ok_or(SearchError::NoSolution)?;
    Ok(engine.apply(&levels))
}

/// Applies the transformation `levels`, failing if it does not satisfy `model`.
pub fn apply(
    columns: &[Vec<u32>],
    hierarchies: &[Hierarchy],
    model: &PrivacyModel,
    levels: &[usize],
) -> Result<Anonymized, SearchError> {
    if levels.len() != hierarchies.len()
        || levels
            .iter()
            .zip(hierarchies)
            .any(|(&level, hierarchy)| level >= hierarchy.levels())
    {
        return Err(SearchError::InvalidLevels {
            levels: levels.to_vec(),
        });
    }
    let engine = Engine::new(columns, hierarchies, model)?;
    let anonymized = engine.apply(levels);
    let suppressed = anonymized.transformation.suppressed;
    if suppressed > engine.max_suppressed {
        return Err(SearchError::LimitExceeded {
            levels: levels.to_vec(),
            suppressed,
            limit: engine.max_suppressed,
        });
    }
    Ok(anonymized)
}

/// A set of records sharing one generalized tuple.
#[derive(Debug, Clone, Copy)]
struct Class {
    /// A distinct base tuple of one member, standing for the whole class.
    tuple: u32,
    size: u32,
}

/// The classes of one lattice node.
struct Partition {
    levels: Vec<usize>,
    classes: Vec<Class>,
}

/// Outcome of evaluating a node against the model.
struct Evaluation {
    classes: Vec<Class>,
    /// Per class: published (true) or suppressed.
    published: Vec<bool>,
    /// Records in classes smaller than `k`.
    undersized: usize,
    /// Records suppressed for any reason; only exact if `undersized` is within
    /// the limit or the evaluation was asked to be exact.
    suppressed: usize,
}

/// Generalized tuples packed into one integer: code · stride summed over
/// columns, with strides from the base domain sizes, so keys never collide.
type Key = u128;

/// Key → class index.
type KeyIndex = FastMap<Key, u32>;

/// The table, pre-grouped into distinct base tuples, plus everything needed to
/// evaluate nodes.
struct Engine<'a> {
    hierarchies: &'a [Hierarchy],
    model: &'a PrivacyModel<'a>,
    metric: LossMetric,
    max_suppressed: usize,
    dims: usize,
    /// Distinct base tuples, `dims` codes each.
    tuples: Vec<u32>,
    /// Tuple of each record.
    record_tuples: Vec<u32>,
    /// `key_parts[dim][level][base]`: generalized code of `base` times the stride of `dim`.
    key_parts: Vec<Vec<Vec<Key>>>,
    /// Every record in one class per distinct tuple: the lattice's bottom node.
    bottom: Vec<Class>,
}

impl<'a> Engine<'a> {
    fn new(
        columns: &[Vec<u32>],
        hierarchies: &'a [Hierarchy],
        model: &'a PrivacyModel<'a>,
    ) -> Result<Self, SearchError> {
        if model.k == 0 {
            return Err(SearchError::InvalidK);
        }
        if !(0.0..=1.0).contains(&model.suppression_limit) {
            return Err(SearchError::InvalidSuppressionLimit(
                model.suppression_limit,
            ));
        }
        if columns.len() != hierarchies.len() {
            return Err(SearchError::HierarchyCountMismatch {
                columns: columns.len(),
                hierarchies: hierarchies.len(),
            });
        }
        let records = columns.first().map_or(0, Vec::len);
        if u32::try_from(records).is_err() {
            return Err(SearchError::TooManyRecords(records));
        }
        for (column, hierarchy) in columns.iter().zip(hierarchies) {
            if column.len() != records {
                return Err(SearchError::RaggedColumns {
                    column: hierarchy.name().to_owned(),
                    expected: records,
                    found: column.len(),
                });
            }
            if let Some(row) = column
                .iter()
                .position(|&base| base as usize >= hierarchy.base_count())
            {
                return Err(SearchError::CodeOutOfRange {
                    column: hierarchy.name().to_owned(),
                    row: row + 1,
                });
            }
        }

        let mut strides = vec![1 as Key; hierarchies.len()];
        let mut stride: Key = 1;
        for (dim, hierarchy) in hierarchies.iter().enumerate().rev() {
            strides[dim] = stride;
            stride = stride
                .checked_mul(hierarchy.base_count() as Key)
                .ok_or(SearchError::DomainTooLarge)?;
        }
        let key_parts: Vec<Vec<Vec<Key>>> = hierarchies
            .iter()
            .zip(&strides)
            .map(|(hierarchy, &stride)| {
                (0..hierarchy.levels())
                    .map(|level| {
                        hierarchy
                            .level_map(level)
                            .iter()
                            .map(|&code| Key::from(code) * stride)
                            .collect()
                    })
                    .collect()
            })
            .collect();

        let dims = hierarchies.len();
        let mut index = KeyIndex::default();
        let mut tuples = Vec::new();
        let mut bottom: Vec<Class> = Vec::new();
        let mut record_tuples = Vec::with_capacity(records);
        for record in 0..records {
            let key: Key = columns
                .iter()
                .zip(&key_parts)
                .map(|(column, parts)| parts[0][column[record] as usize])
                .sum();
            let next = bottom.len() as u32;
            let tuple = *index.entry(key).or_insert(next);
            if tuple == next {
                tuples.extend(columns.iter().map(|column| column[record]));
                bottom.push(Class { tuple, size: 0 });
            }
            bottom[tuple as usize].size += 1;
            record_tuples.push(tuple);
        }

        let max_suppressed = (model.suppression_limit * records as f64).floor() as usize;
        Ok(Self {
            hierarchies,
            model,
            metric: LossMetric::new(hierarchies, columns),
            max_suppressed,
            dims,
            tuples,
            record_tuples,
            key_parts,
            bottom,
        })
    }

    fn tuple(&self, tuple: u32) -> &[u32] {
        let start = tuple as usize * self.dims;
        &self.tuples[start..start + self.dims]
    }

    fn key(&self, tuple: u32, parts: &[&[Key]]) -> Key {
        parts
            .iter()
            .zip(self.tuple(tuple))
            .map(|(parts, &base)| parts[base as usize])
            .sum()
    }

    fn parts(&self, levels: &[usize]) -> Vec<&[Key]> {
        self.key_parts
            .iter()
            .zip(levels)
            .map(|(parts, &level)| parts[level].as_slice())
            .collect()
    }

    /// Merges the classes of a more specialised node into the classes of the
    /// node `levels`; `index` is left mapping each key to its class.
    fn roll_up(&self, source: &[Class], levels: &[usize], index: &mut KeyIndex) -> Vec<Class> {
        let parts = self.parts(levels);
        index.clear();
        index.reserve(source.len());
        let mut classes: Vec<Class> = Vec::new();
        for class in source {
            match index.entry(self.key(class.tuple, &parts)) {
                Entry::Occupied(entry) => classes[*entry.get() as usize].size += class.size,
                Entry::Vacant(entry) => {
                    entry.insert(classes.len() as u32);
                    classes.push(*class);
                }
            }
        }
        classes
    }

    /// Computes the classes of `levels` from `source` and decides which are
    /// published; `index` is left mapping keys to classes. Unless `exact`,
    /// constraints are skipped when undersized classes alone already exceed
    /// the limit.
    fn evaluate(
        &self,
        source: &[Class],
        levels: &[usize],
        exact: bool,
        index: &mut KeyIndex,
    ) -> Evaluation {
        let classes = self.roll_up(source, levels, index);
        let k = self.model.k;
        let mut published: Vec<bool> = classes.iter().map(|c| c.size as usize >= k).collect();
        let undersized: usize = classes
            .iter()
            .filter(|class| (class.size as usize) < k)
            .map(|class| class.size as usize)
            .sum();
        let mut suppressed = undersized;
        if !self.model.constraints.is_empty() && (exact || undersized <= self.max_suppressed) {
            let (starts, members) = self.class_members(&classes, levels, index);
            published
                .par_iter_mut()
                .enumerate()
                .filter(|(_, published)| **published)
                .for_each(|(class, published)| {
                    let records = &members[starts[class]..starts[class + 1]];
                    *published = self
                        .model
                        .constraints
                        .iter()
                        .all(|constraint| constraint.accepts(records));
                });
            suppressed = classes
                .iter()
                .zip(&published)
                .filter(|(_, published)| !**published)
                .map(|(class, _)| class.size as usize)
                .sum();
        }
        Evaluation {
            classes,
            published,
            undersized,
            suppressed,
        }
    }

    /// Records of every class, bucketed by `bucket_records`.
    fn class_members(
        &self,
        classes: &[Class],
        levels: &[usize],
        index: &KeyIndex,
    ) -> (Vec<usize>, Vec<usize>) {
        let parts = self.parts(levels);
        let tuple_classes: Vec<u32> = (0..self.bottom.len() as u32)
            .map(|tuple| index[&self.key(tuple, &parts)])
            .collect();
        let record_classes: Vec<u32> = self
            .record_tuples
            .iter()
            .map(|&tuple| tuple_classes[tuple as usize])
            .collect();
        bucket_records(classes, &record_classes)
    }

    fn loss(&self, levels: &[usize], evaluation: &Evaluation) -> f64 {
        self.metric
            .loss(levels, self.suppressed_classes(evaluation))
    }

    fn suppressed_classes<'e>(
        &'e self,
        evaluation: &'e Evaluation,
    ) -> impl Iterator<Item = (&'e [u32], usize)> + 'e {
        evaluation
            .classes
            .iter()
            .zip(&evaluation.published)
            .filter(|(_, published)| !**published)
            .map(|(class, _)| (self.tuple(class.tuple), class.size as usize))
    }

    /// Generalizes and suppresses every record according to `levels`.
    fn apply(&self, levels: &[usize]) -> Anonymized {
        let mut index = KeyIndex::default();
        let evaluation = self.evaluate(&self.bottom, levels, true, &mut index);
        let parts = self.parts(levels);
        let tuple_suppressed: Vec<bool> = (0..self.bottom.len() as u32)
            .into_par_iter()
            .map(|tuple| !evaluation.published[index[&self.key(tuple, &parts)] as usize])
            .collect();
        let suppressed = self
            .record_tuples
            .par_iter()
            .map(|&tuple| tuple_suppressed[tuple as usize])
            .collect();
        let generalized = self
            .hierarchies
            .par_iter()
            .zip(levels)
            .enumerate()
            .map(|(dim, (hierarchy, &level))| {
                let map = hierarchy.level_map(level);
                self.record_tuples
                    .iter()
                    .map(|&tuple| map[self.tuple(tuple)[dim] as usize])
                    .collect()
            })
            .collect();
        let published_sizes = evaluation
            .classes
            .iter()
            .zip(&evaluation.published)
            .filter(|(_, published)| **published)
            .map(|(class, _)| class.size as usize);
        let transformation = Transformation {
            levels: levels.to_vec(),
            loss: self.loss(levels, &evaluation),
            suppressed: evaluation.suppressed,
            classes: published_sizes.clone().count(),
            smallest_class: published_sizes.min().unwrap_or(0),
        };
        Anonymized {
            transformation,
            generalized,
            suppressed,
        }
    }

    /// Whether the model's constraints allow pruning by predictive tagging
    /// when a node fails only because of them, or passes.
    fn constraints_monotone(&self) -> bool {
        self.model
            .constraints
            .iter()
            .all(|constraint| constraint.is_monotone())
    }
}

/// Groups item indices by their group number (`groups` gives each group's
/// size): returns start offsets per group (plus the end) and the items.
fn bucket_records(groups: &[Class], item_groups: &[u32]) -> (Vec<usize>, Vec<usize>) {
    let mut starts = Vec::with_capacity(groups.len() + 1);
    let mut offset = 0;
    for group in groups {
        starts.push(offset);
        offset += group.size as usize;
    }
    starts.push(offset);
    let mut next = starts.clone();
    let mut items = vec![0; offset];
    for (item, &group) in item_groups.iter().enumerate() {
        items[next[group as usize]] = item;
        next[group as usize] += 1;
    }
    (starts, items)
}

/// The generalization lattice: node ids are level vectors in mixed radix,
/// the last column varying fastest; 0 is the bottom.
struct Lattice {
    heights: Vec<usize>,
    strides: Vec<usize>,
    size: usize,
}

impl Lattice {
    fn new(hierarchies: &[Hierarchy]) -> Result<Self, SearchError> {
        let heights: Vec<usize> = hierarchies.iter().map(Hierarchy::levels).collect();
        let mut strides = vec![1; heights.len()];
        let mut size = 1usize;
        for (dim, &height) in heights.iter().enumerate().rev() {
            strides[dim] = size;
            size = size
                .checked_mul(height)
                .filter(|&size| size <= MAX_LATTICE_NODES)
                .ok_or(SearchError::LatticeTooLarge)?;
        }
        Ok(Self {
            heights,
            strides,
            size,
        })
    }

    fn level(&self, node: usize, dim: usize) -> usize {
        node / self.strides[dim] % self.heights[dim]
    }

    fn levels(&self, node: usize) -> Vec<usize> {
        (0..self.heights.len())
            .map(|dim| self.level(node, dim))
            .collect()
    }

    /// Nodes one level more general in one column.
    fn successors(&self, node: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.heights.len())
            .filter(move |&dim| self.level(node, dim) + 1 < self.heights[dim])
            .map(move |dim| node + self.strides[dim])
    }

    /// Nodes one level more specialised in one column.
    fn predecessors(&self, node: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.heights.len())
            .filter(move |&dim| self.level(node, dim) > 0)
            .map(move |dim| node - self.strides[dim])
    }
}

/// Node state bits. `FAILS` always marks a closed down-set (the node fails,
/// so every more specialised node fails) and `SATISFIES` a closed up-set when
/// all constraints are monotone, which lets `Search::tag` stop at marked
/// nodes. Otherwise `SATISFIES` and `REJECTED` (passes `k`, fails a
/// constraint) mark single checked nodes.
const QUEUED: u8 = 1;
const SATISFIES: u8 = 2;
const FAILS: u8 = 4;
const REJECTED: u8 = 8;
const DECIDED: u8 = SATISFIES | FAILS | REJECTED;

/// A node waiting in the best-first queue, ordered by lower bound (smallest
/// first), then by id so the order is deterministic.
struct Candidate {
    lower_bound: f64,
    node: usize,
}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .lower_bound
            .total_cmp(&self.lower_bound)
            .then(other.node.cmp(&self.node))
    }
}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Candidate {}

/// State of one search run.
struct Search<'e> {
    engine: &'e Engine<'e>,
    lattice: &'e Lattice,
    states: Vec<u8>,
    /// Loss of nodes checked and found to satisfy the model.
    known_losses: HashMap<usize, f64>,
    /// Class lists of checked nodes, to roll up from; the bottom stays first.
    cache: Vec<Partition>,
    cached_entries: usize,
    tag_passes: bool,
    /// Scratch key index reused by every check.
    index: KeyIndex,
}

impl<'e> Search<'e> {
    fn new(engine: &'e Engine<'e>, lattice: &'e Lattice) -> Self {
        Self {
            engine,
            lattice,
            states: vec![0; lattice.size],
            known_losses: HashMap::new(),
            cache: vec![Partition {
                levels: vec![0; lattice.heights.len()],
                classes: engine.bottom.clone(),
            }],
            cached_entries: engine.bottom.len(),
            tag_passes: engine.constraints_monotone(),
            index: KeyIndex::default(),
        }
    }

    /// Returns the levels of an optimal node, if any node satisfies the model.
    fn run(mut self) -> Option<Vec<usize>> {
        let metric = &self.engine.metric;
        let top = self.lattice.size - 1;
        self.check(top);
        // Best node so far as (loss, sum of levels, node): ties in loss go to
        // the least generalized node, as in ARX.
        let height = |node| self.lattice.levels(node).iter().sum::<usize>();
        let mut best = self
            .known_losses
            .get(&top)
            .map(|&loss| (loss, height(top), top));
        let mut queue = BinaryHeap::new();
        queue.push(Candidate {
            lower_bound: metric.lower_bound(&self.lattice.levels(0)),
            node: 0,
        });
        self.states[0] |= QUEUED;
        while let Some(Candidate { lower_bound, node }) = queue.pop() {
            if best.is_some_and(|(loss, _, _)| lower_bound > loss) {
                break;
            }
            for successor in self.lattice.successors(node) {
                if self.states[successor] & QUEUED == 0 {
                    self.states[successor] |= QUEUED;
                    queue.push(Candidate {
                        lower_bound: metric.lower_bound(&self.lattice.levels(successor)),
                        node: successor,
                    });
                }
            }
            let satisfies = match self.states[node] {
                state if state & SATISFIES != 0 => true,
                state if state & DECIDED != 0 => false,
                _ => self.probe(node),
            };
            if satisfies {
                let loss = self.loss(node, lower_bound);
                let candidate = (loss, height(node), node);
                if best.is_none_or(|best| (candidate.0, candidate.1) < (best.0, best.1)) {
                    best = Some(candidate);
                }
            }
        }
        best.map(|(_, _, node)| self.lattice.levels(node))
    }

    /// Loss of a node known to satisfy the model.
    fn loss(&mut self, node: usize, lower_bound: f64) -> f64 {
        if self.engine.max_suppressed == 0 {
            // Nothing is suppressed, so the bound is the loss.
            return lower_bound;
        }
        if !self.known_losses.contains_key(&node) {
            self.check(node);
        }
        self.known_losses[&node]
    }

    /// Decides an undecided node: walks upwards through undecided nodes, always
    /// to the successor with the smallest lower bound, then binary-searches the
    /// path for its lowest node passing a monotone test, so that each check
    /// tags a whole up- or down-set. The test is the full model when all
    /// constraints are monotone, and `k` alone otherwise.
    fn probe(&mut self, node: usize) -> bool {
        let metric = &self.engine.metric;
        let mut path = vec![node];
        while let Some(next) = self
            .lattice
            .successors(path[path.len() - 1])
            .filter(|&successor| self.states[successor] & DECIDED == 0)
            .min_by(|&a, &b| {
                let bound = |node| metric.lower_bound(&self.lattice.levels(node));
                bound(a).total_cmp(&bound(b))
            })
        {
            path.push(next);
        }
        let (mut low, mut high) = (0, path.len());
        while low < high {
            let middle = (low + high) / 2;
            if self.check(path[middle]) {
                high = middle;
            } else {
                low = middle + 1;
            }
        }
        // The search checked either `node` itself (lowest passing index 0) or
        // a failing path node above it, whose `FAILS` tag reached `node`.
        self.states[node] & SATISFIES != 0
    }

    /// Evaluates a node, records and tags what follows from the result, and
    /// caches its classes. Returns whether the node passes the monotone test
    /// `probe` searches with.
    fn check(&mut self, node: usize) -> bool {
        let levels = self.lattice.levels(node);
        let source = self
            .cache
            .iter()
            .filter(|partition| partition.levels.iter().zip(&levels).all(|(s, n)| s <= n))
            .min_by_key(|partition| partition.classes.len())
            .expect("the bottom node precedes every node");
        let engine = self.engine;
        let evaluation = engine.evaluate(&source.classes, &levels, false, &mut self.index);
        let satisfies = evaluation.suppressed <= engine.max_suppressed;
        let passes_k = evaluation.undersized <= engine.max_suppressed;
        if satisfies {
            self.known_losses
                .insert(node, engine.loss(&levels, &evaluation));
            if self.tag_passes {
                self.tag(node, SATISFIES);
            } else {
                self.states[node] |= SATISFIES;
            }
        } else if self.tag_passes || !passes_k {
            self.tag(node, FAILS);
        } else {
            self.states[node] |= REJECTED;
        }
        self.remember(levels, evaluation.classes);
        if self.tag_passes {
            satisfies
        } else {
            passes_k
        }
    }

    /// Marks `node` and everything above it (`SATISFIES`) or below it (`FAILS`).
    fn tag(&mut self, node: usize, tag: u8) {
        let mut pending = vec![node];
        while let Some(current) = pending.pop() {
            if self.states[current] & tag != 0 {
                continue;
            }
            self.states[current] |= tag;
            if tag == SATISFIES {
                pending.extend(self.lattice.successors(current));
            } else {
                pending.extend(self.lattice.predecessors(current));
            }
        }
    }

    /// Caches a node's classes, evicting the largest lists beyond the budget.
    fn remember(&mut self, levels: Vec<usize>, classes: Vec<Class>) {
        self.cached_entries += classes.len();
        self.cache.push(Partition { levels, classes });
        while self.cached_entries > CACHE_BUDGET && self.cache.len() > 1 {
            let largest = (1..self.cache.len())
                .max_by_key(|&position| self.cache[position].classes.len())
                .expect("cache holds more than the bottom");
            self.cached_entries -= self.cache.swap_remove(largest).classes.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const ADULT_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/arx-adult/");

    /// Adult with all nine attributes as quasi-identifiers: raw rows, encoded
    /// columns and hierarchies.
    fn adult() -> (Vec<Vec<String>>, Vec<Vec<u32>>, Vec<Hierarchy>) {
        let text = std::fs::read_to_string(Path::new(ADULT_DIR).join("adult.csv")).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(';').collect();
        let rows: Vec<Vec<String>> = lines
            .map(|line| line.split(';').map(str::to_owned).collect())
            .collect();
        let mut hierarchies = Vec::new();
        let mut columns = Vec::new();
        for (dim, name) in header.iter().enumerate() {
            let path = Path::new(ADULT_DIR).join(format!("adult_hierarchy_{name}.csv"));
            let hierarchy = Hierarchy::from_csv_file(&path, b';').unwrap();
            let values: Vec<&str> = rows.iter().map(|row| row[dim].as_str()).collect();
            columns.push(hierarchy.encode_column(name, &values).unwrap());
            hierarchies.push(hierarchy);
        }
        (rows, columns, hierarchies)
    }

    fn assert_figures(
        found: &Transformation,
        loss: f64,
        suppressed: usize,
        classes: usize,
        smallest: usize,
    ) {
        assert!(
            (found.loss - loss).abs() <= 0.0005,
            "loss {} vs {loss}",
            found.loss
        );
        assert_eq!(found.suppressed, suppressed);
        assert_eq!(found.classes, classes);
        assert_eq!(found.smallest_class, smallest);
    }

    #[test]
    fn adult_k5_without_suppression_matches_arx() {
        let (_, columns, hierarchies) = adult();
        let model = PrivacyModel::k_anonymity(5, 0.0);
        let arx_levels = [0, 4, 1, 1, 3, 2, 2, 1, 0];
        let arx = apply(&columns, &hierarchies, &model, &arx_levels).unwrap();
        assert_figures(&arx.transformation, 0.5732, 0, 24, 69);

        let optimal = find_optimal(&columns, &hierarchies, &model).unwrap();
        assert!(optimal.transformation.loss <= arx.transformation.loss);
        assert_eq!(optimal.transformation.levels, arx_levels);

        let expected =
            std::fs::read_to_string(Path::new(ADULT_DIR).join("adult_k5_supp0_arx_output.csv"))
                .unwrap();
        let mut expected_rows = expected.lines().skip(1);
        for record in 0..columns[0].len() {
            let row: Vec<&str> = (0..columns.len())
                .map(|column| optimal.label(&hierarchies, column, record))
                .collect();
            assert_eq!(
                row.join(";"),
                expected_rows.next().unwrap(),
                "record {record}"
            );
        }
        assert!(expected_rows.next().is_none());
    }

    /// One numeric attribute: widths 5 and 10 over 20, 21, 22, 27 span the
    /// domain [20,30), so a value covers 1/10, a width-5 interval 1/2.
    fn numeric_table() -> (Vec<Vec<u32>>, Vec<Hierarchy>) {
        let values = ["20", "21", "22", "27"];
        let hierarchy = Hierarchy::numeric_intervals("age", &values, &[5.0, 10.0]).unwrap();
        let column = hierarchy.encode_column("age", &values).unwrap();
        (vec![column], vec![hierarchy])
    }

    #[test]
    fn numeric_search_weighs_suppression_against_interval_width() {
        let (columns, hierarchies) = numeric_table();
        let strict =
            find_optimal(&columns, &hierarchies, &PrivacyModel::k_anonymity(2, 0.0)).unwrap();
        assert_eq!(strict.transformation.levels, [2]);
        assert_eq!(strict.transformation.loss, 1.0);

        // One record may go: [20,25) holds three, 27 is suppressed.
        // Raw loss 3 · 1/2 + 1 = 2.5, normalised (2.5 − 0.4) / (4 − 0.4).
        let relaxed =
            find_optimal(&columns, &hierarchies, &PrivacyModel::k_anonymity(2, 0.25)).unwrap();
        assert_eq!(relaxed.transformation.levels, [1]);
        assert!((relaxed.transformation.loss - 2.1 / 3.6).abs() < 1e-9);
        assert_eq!(relaxed.suppressed, [false, false, false, true]);
        assert_eq!(relaxed.label(&hierarchies, 0, 0), "[20,25)");
        assert_eq!(relaxed.label(&hierarchies, 0, 3), "*");
    }

    #[test]
    fn reports_invalid_input_and_infeasible_models() {
        let (columns, hierarchies) = numeric_table();
        let model = PrivacyModel::k_anonymity(2, 0.0);
        assert!(matches!(
            apply(&columns, &hierarchies, &model, &[1]),
            Err(SearchError::LimitExceeded {
                suppressed: 1,
                limit: 0,
                ..
            })
        ));
        assert!(matches!(
            apply(&columns, &hierarchies, &model, &[4]),
            Err(SearchError::InvalidLevels { .. })
        ));
        assert!(matches!(
            find_optimal(&columns, &hierarchies, &PrivacyModel::k_anonymity(5, 0.0)),
            Err(SearchError::NoSolution)
        ));
        assert!(matches!(
            find_optimal(&columns, &hierarchies, &PrivacyModel::k_anonymity(0, 0.0)),
            Err(SearchError::InvalidK)
        ));
        assert!(matches!(
            find_optimal(&columns, &hierarchies, &PrivacyModel::k_anonymity(2, 1.5)),
            Err(SearchError::InvalidSuppressionLimit(_))
        ));
        assert!(matches!(
            find_optimal(&[vec![0, 9]], &hierarchies, &model),
            Err(SearchError::CodeOutOfRange { row: 2, .. })
        ));
        let two = [hierarchies[0].clone(), hierarchies[0].clone()];
        assert!(matches!(
            find_optimal(&[vec![0, 1], vec![0]], &two, &model),
            Err(SearchError::RaggedColumns {
                expected: 2,
                found: 1,
                ..
            })
        ));
        assert!(matches!(
            find_optimal(&columns, &two, &model),
            Err(SearchError::HierarchyCountMismatch {
                columns: 1,
                hierarchies: 2
            })
        ));
    }

    #[test]
    fn adult_k5_two_percent_suppression_matches_arx() {
        let (_, columns, hierarchies) = adult();
        let model = PrivacyModel::k_anonymity(5, 0.02);
        let arx_levels = [0, 3, 0, 2, 2, 1, 1, 2, 0];
        let arx = apply(&columns, &hierarchies, &model, &arx_levels).unwrap();
        assert_figures(&arx.transformation, 0.3137, 506, 222, 5);

        let optimal = find_optimal(&columns, &hierarchies, &model).unwrap();
        assert!(optimal.transformation.loss <= arx.transformation.loss);
        assert!(optimal.transformation.suppressed <= 603);

        let expected =
            std::fs::read_to_string(Path::new(ADULT_DIR).join("adult_k5_supp2pct_arx_output.csv"))
                .unwrap();
        let mismatches = expected
            .lines()
            .skip(1)
            .enumerate()
            .filter(|(record, line)| {
                let row: Vec<&str> = (0..columns.len())
                    .map(|column| arx.label(&hierarchies, column, *record))
                    .collect();
                row.join(";") != *line
            })
            .count();
        assert_eq!(mismatches, 0);
    }
}

#[cfg(test)]
mod property_tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;
    use std::collections::HashSet;

    /// Rows of a random nested hierarchy with 2 or 3 levels over values `v0..`.
    fn hierarchy_rows() -> impl Strategy<Value = Vec<Vec<String>>> {
        (2usize..=6, 2usize..=3)
            .prop_flat_map(|(values, levels)| {
                (Just(levels), vec(0usize..3, values), vec(0usize..2, 3))
            })
            .prop_map(|(levels, groups, supergroups)| {
                groups
                    .iter()
                    .enumerate()
                    .map(|(value, &group)| {
                        let mut row = vec![format!("v{value}"), format!("g{group}")];
                        if levels == 3 {
                            row.push(format!("s{}", supergroups[group]));
                        }
                        row
                    })
                    .collect()
            })
    }

    /// Distinct l-diversity on a sensitive column: monotone, since a class
    /// containing an accepted class has at least as many distinct values.
    struct DistinctDiversity<'s> {
        sensitive: &'s [u8],
        l: usize,
    }

    impl ClassConstraint for DistinctDiversity<'_> {
        fn accepts(&self, records: &[usize]) -> bool {
            let distinct: HashSet<u8> = records.iter().map(|&r| self.sensitive[r]).collect();
            distinct.len() >= self.l
        }

        fn is_monotone(&self) -> bool {
            true
        }
    }

    /// Classes may hold at most `largest` records: the opposite of monotone,
    /// since merging classes breaks it, so wrong pruning shows up quickly.
    struct LargestClass {
        largest: usize,
    }

    impl ClassConstraint for LargestClass {
        fn accepts(&self, records: &[usize]) -> bool {
            records.len() <= self.largest
        }
    }

    /// Smallest loss over every lattice node, grouping records by their label
    /// strings independently of the engine; `None` if no node qualifies.
    fn brute_force_minimum(
        rows: &[Vec<Vec<String>>],
        data: &[Vec<usize>],
        columns: &[Vec<u32>],
        metric: &LossMetric,
        model: &PrivacyModel,
    ) -> Option<f64> {
        let heights: Vec<usize> = rows.iter().map(|hierarchy| hierarchy[0].len()).collect();
        let limit = (model.suppression_limit * data.len() as f64).floor() as usize;
        let mut best: Option<f64> = None;
        let mut levels = vec![0; heights.len()];
        loop {
            let mut classes: HashMap<Vec<&str>, Vec<usize>> = HashMap::new();
            for (record, values) in data.iter().enumerate() {
                let labels = values
                    .iter()
                    .zip(rows)
                    .zip(&levels)
                    .map(|((&value, hierarchy), &level)| hierarchy[value][level].as_str())
                    .collect();
                classes.entry(labels).or_default().push(record);
            }
            let failing: Vec<&Vec<usize>> = classes
                .values()
                .filter(|members| {
                    members.len() < model.k || !model.constraints.iter().all(|c| c.accepts(members))
                })
                .collect();
            let suppressed: usize = failing.iter().map(|members| members.len()).sum();
            if suppressed <= limit {
                let representatives: Vec<(Vec<u32>, usize)> = failing
                    .iter()
                    .map(|members| {
                        let member = members[0];
                        (
                            columns.iter().map(|column| column[member]).collect(),
                            members.len(),
                        )
                    })
                    .collect();
                let loss = metric.loss(
                    &levels,
                    representatives
                        .iter()
                        .map(|(codes, size)| (codes.as_slice(), *size)),
                );
                best = Some(best.map_or(loss, |best| best.min(loss)));
            }
            let Some(dim) = (0..levels.len())
                .rev()
                .find(|&dim| levels[dim] + 1 < heights[dim])
            else {
                return best;
            };
            levels[dim] += 1;
            levels[dim + 1..].iter_mut().for_each(|level| *level = 0);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn search_is_optimal_and_output_is_anonymous(
            rows in vec(hierarchy_rows(), 3),
            data in vec(vec(0usize..6, 3), 20..=200),
            sensitive in vec(0u8..4, 200),
            k in 1usize..=6,
            suppression_limit in prop_oneof![Just(0.0), 0.0..0.3f64],
            constraint_kind in 0u8..3,
            largest in 5usize..60,
        ) {
            let data: Vec<Vec<usize>> = data
                .iter()
                .map(|values| values.iter().zip(&rows).map(|(&v, h)| v % h.len()).collect())
                .collect();
            let hierarchies: Vec<Hierarchy> = rows
                .iter()
                .enumerate()
                .map(|(dim, rows)| Hierarchy::from_rows(rows.clone(), &format!("h{dim}")).unwrap())
                .collect();
            let columns: Vec<Vec<u32>> = hierarchies
                .iter()
                .enumerate()
                .map(|(dim, hierarchy)| {
                    let values: Vec<String> = data.iter().map(|values| format!("v{}", values[dim])).collect();
                    hierarchy.encode_column("c", &values).unwrap()
                })
                .collect();
            let diversity = DistinctDiversity { sensitive: &sensitive, l: 2 };
            let size_cap = LargestClass { largest };
            let mut model = PrivacyModel::k_anonymity(k, suppression_limit);
            match constraint_kind {
                1 => model.constraints.push(&diversity),
                2 => model.constraints.push(&size_cap),
                _ => {}
            }
            let metric = LossMetric::new(&hierarchies, &columns);
            let expected = brute_force_minimum(&rows, &data, &columns, &metric, &model);

            match find_optimal(&columns, &hierarchies, &model) {
                Err(SearchError::NoSolution) => prop_assert!(expected.is_none()),
                Err(other) => prop_assert!(false, "unexpected error {other}"),
                Ok(result) => {
                    let expected = expected.expect("brute force finds a solution too");
                    prop_assert!((result.transformation.loss - expected).abs() < 1e-9,
                        "loss {} but brute force {}", result.transformation.loss, expected);
                    let limit = (suppression_limit * data.len() as f64).floor() as usize;
                    let suppressed = result.suppressed.iter().filter(|&&s| s).count();
                    prop_assert_eq!(suppressed, result.transformation.suppressed);
                    prop_assert!(suppressed <= limit);
                    let mut classes: HashMap<Vec<&str>, Vec<usize>> = HashMap::new();
                    for record in (0..data.len()).filter(|&r| !result.suppressed[r]) {
                        let labels = (0..3).map(|c| result.label(&hierarchies, c, record)).collect();
                        classes.entry(labels).or_default().push(record);
                    }
                    for members in classes.values() {
                        prop_assert!(members.len() >= k);
                        prop_assert!(model.constraints.iter().all(|c| c.accepts(members)));
                    }
                    prop_assert_eq!(classes.len(), result.transformation.classes);
                    let smallest = classes.values().map(Vec::len).min().unwrap_or(0);
                    prop_assert_eq!(smallest, result.transformation.smallest_class);
                }
            }
        }
    }
}
