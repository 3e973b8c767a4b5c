//! Exact nearest-neighbour search with ties, for the linkage attack.
//!
//! The attacker of [`super::linkage`] compares each target with every distinct released row over
//! a handful of known measurements. A brute-force scan costs targets × rows (10¹⁰ distance terms
//! for 100k people against 20k distinct rows), so the rows go into a k-d tree (Bentley 1975):
//! balanced by median splits on the dimension of widest spread, stored implicitly in one array.
//! In five dimensions a query then visits a few dozen points instead of all of them.
//!
//! Ties matter for the attack's success figure (a tie is resolved uniformly at random, so the
//! expected success is shared among the tied rows), so a query returns *every* point at the
//! minimum distance, not one of them. Points with equal coordinates are merged when the tree is
//! built, so equal coordinates are one point that carries all their payloads, and distances are
//! compared exactly: two different points at exactly the same distance are tied only when the
//! arithmetic says so, which for continuous attacker noise happens with probability zero.

/// Ranges this short are scanned rather than split further.
const LEAF_SIZE: usize = 8;

/// A static k-d tree over points of one dimension, each carrying a list of payload ids.
#[derive(Debug, Clone)]
pub struct KdTree {
    dim: usize,
    /// Coordinates of point `i` at `coordinates[i * dim..(i + 1) * dim]`, in tree order.
    coordinates: Vec<f64>,
    /// Split dimension of the node whose median is point `i` (unused inside leaves).
    split: Vec<u8>,
    /// Payloads of point `i` at `payloads[payload_start[i]..payload_start[i + 1]]`.
    payload_start: Vec<usize>,
    payloads: Vec<u32>,
}

impl KdTree {
    /// Builds the tree from `(coordinates, payload)` pairs; every coordinate slice must have
    /// `dim` finite entries. Pairs with equal coordinates become one point.
    pub fn new(dim: usize, points: impl IntoIterator<Item = (Vec<f64>, u32)>) -> Self {
        assert!((1..=u8::MAX as usize).contains(&dim), "1 to 255 dimensions");
        let mut points: Vec<(Vec<f64>, u32)> = points.into_iter().collect();
        points.sort_by(|a, b| {
            a.0.iter()
                .zip(&b.0)
                .map(|(x, y)| x.total_cmp(y))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.1.cmp(&b.1))
        });
        let mut merged: Vec<(Vec<f64>, Vec<u32>)> = Vec::new();
        for (coordinates, payload) in points {
            debug_assert_eq!(coordinates.len(), dim);
            match merged.last_mut() {
                Some((last, payloads)) if *last == coordinates => payloads.push(payload),
                _ => merged.push((coordinates, vec![payload])),
            }
        }
        let mut split = vec![0u8; merged.len()];
        build(&mut merged, &mut split, dim);
        let mut tree = KdTree {
            dim,
            coordinates: Vec::with_capacity(merged.len() * dim),
            split,
            payload_start: Vec::with_capacity(merged.len() + 1),
            payloads: Vec::new(),
        };
        tree.payload_start.push(0);
        for (coordinates, payloads) in merged {
            tree.coordinates.extend_from_slice(&coordinates);
            tree.payloads.extend_from_slice(&payloads);
            tree.payload_start.push(tree.payloads.len());
        }
        tree
    }

    /// Number of distinct points.
    pub fn len(&self) -> usize {
        self.split.len()
    }

    /// Whether the tree holds no point.
    pub fn is_empty(&self) -> bool {
        self.split.is_empty()
    }

    /// The squared Euclidean distance from `query` to its nearest points and the payloads of
    /// all points at exactly that distance; `None` for an empty tree.
    pub fn nearest(&self, query: &[f64]) -> Option<(f64, Vec<u32>)> {
        debug_assert_eq!(query.len(), self.dim);
        if self.is_empty() {
            return None;
        }
        let mut best = Best {
            distance: f64::INFINITY,
            points: Vec::new(),
        };
        self.search(0, self.len(), query, &mut best);
        let payloads = best
            .points
            .iter()
            .flat_map(|&point| self.payloads_of(point).iter().copied())
            .collect();
        Some((best.distance, payloads))
    }

    fn point(&self, index: usize) -> &[f64] {
        &self.coordinates[index * self.dim..(index + 1) * self.dim]
    }

    fn payloads_of(&self, index: usize) -> &[u32] {
        &self.payloads[self.payload_start[index]..self.payload_start[index + 1]]
    }

    fn search(&self, low: usize, high: usize, query: &[f64], best: &mut Best) {
        if high - low <= LEAF_SIZE {
            for index in low..high {
                best.offer(index, squared_distance(self.point(index), query));
            }
            return;
        }
        let middle = low + (high - low) / 2;
        best.offer(middle, squared_distance(self.point(middle), query));
        let axis = self.split[middle] as usize;
        let offset = query[axis] - self.point(middle)[axis];
        let (near, far) = if offset < 0.0 {
            ((low, middle), (middle + 1, high))
        } else {
            ((middle + 1, high), (low, middle))
        };
        self.search(near.0, near.1, query, best);
        // `<=` keeps points exactly as far as the best in play, so no tie is pruned.
        if offset * offset <= best.distance {
            self.search(far.0, far.1, query, best);
        }
    }
}

/// Points found so far at the smallest distance.
struct Best {
    distance: f64,
    points: Vec<usize>,
}

impl Best {
    fn offer(&mut self, point: usize, distance: f64) {
        if distance < self.distance {
            self.distance = distance;
            self.points.clear();
            self.points.push(point);
        } else if distance == self.distance {
            self.points.push(point);
        }
    }
}

fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Arranges `points` so that every range's median splits it on the widest dimension.
fn build(points: &mut [(Vec<f64>, Vec<u32>)], split: &mut [u8], dim: usize) {
    if points.len() <= LEAF_SIZE {
        return;
    }
    let axis = (0..dim)
        .max_by(|&a, &b| spread(points, a).total_cmp(&spread(points, b)))
        .unwrap_or(0);
    let middle = points.len() / 2;
    points.select_nth_unstable_by(middle, |a, b| a.0[axis].total_cmp(&b.0[axis]));
    split[middle] = axis as u8;
    let (left, rest) = points.split_at_mut(middle);
    let (left_split, rest_split) = split.split_at_mut(middle);
    build(left, left_split, dim);
    build(&mut rest[1..], &mut rest_split[1..], dim);
}

fn spread(points: &[(Vec<f64>, Vec<u32>)], axis: usize) -> f64 {
    let (low, high) = points
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), p| {
            (l.min(p.0[axis]), h.max(p.0[axis]))
        });
    high - low
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn brute_force(points: &[(Vec<f64>, u32)], query: &[f64]) -> (f64, Vec<u32>) {
        let best = points
            .iter()
            .map(|(p, _)| squared_distance(p, query))
            .fold(f64::INFINITY, f64::min);
        let mut ids: Vec<u32> = points
            .iter()
            .filter(|(p, _)| squared_distance(p, query) == best)
            .map(|(_, id)| *id)
            .collect();
        ids.sort_unstable();
        (best, ids)
    }

    #[test]
    fn matches_brute_force_including_ties_and_duplicates() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        // Integer coordinates on a small grid make duplicates and exact ties common.
        let points: Vec<(Vec<f64>, u32)> = (0..2_000)
            .map(|id| {
                let p = (0..3).map(|_| f64::from(rng.gen_range(0..12))).collect();
                (p, id)
            })
            .collect();
        let tree = KdTree::new(3, points.clone());
        assert!(tree.len() < points.len(), "duplicates are merged");
        for _ in 0..500 {
            let query: Vec<f64> = (0..3).map(|_| f64::from(rng.gen_range(-2..14))).collect();
            let (distance, mut ids) = tree.nearest(&query).unwrap();
            ids.sort_unstable();
            assert_eq!((distance, ids), brute_force(&points, &query), "{query:?}");
        }
    }

    #[test]
    fn continuous_queries_match_brute_force() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let points: Vec<(Vec<f64>, u32)> = (0..5_000)
            .map(|id| ((0..5).map(|_| rng.gen_range(0.0..100.0)).collect(), id))
            .collect();
        let tree = KdTree::new(5, points.clone());
        for _ in 0..300 {
            let query: Vec<f64> = (0..5).map(|_| rng.gen_range(-10.0..110.0)).collect();
            let (distance, ids) = tree.nearest(&query).unwrap();
            assert_eq!((distance, ids), brute_force(&points, &query));
        }
    }

    #[test]
    fn empty_tree_has_no_neighbour() {
        let tree = KdTree::new(2, Vec::new());
        assert!(tree.is_empty());
        assert_eq!(tree.nearest(&[0.0, 0.0]), None);
    }
}
