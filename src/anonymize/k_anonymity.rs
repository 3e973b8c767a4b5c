//! k-anonymity: every published row is shared by at least k records, and in a release of people's
//! measurement sets by at least k distinct **people**.
//!
//! **Follows** Samarati (2001) and Sweeney (2002), "k-anonymity: a model for protecting privacy"
//! (IJUFKS 10(5)): an attacker who knows all of a person's quasi-identifiers (here, for a release,
//! every measurement) and that the person is in the data can narrow them down to one class, and
//! then guesses with probability at most 1/k.
//!
//! **Why people, not rows.** When one person can own several records (FreeSewing users keep
//! several measurement sets; a person-keyed table has several rows per key), a class of k rows
//! may hold fewer than k people, and the attacker's chance is 1 / (people in the class). The
//! methods therefore count distinct people: MDAV never closes a group before it holds k people
//! (`mdav.rs`), and `k_achieved` in `report.json` is the number of people in the smallest group.
//! Tables without a person key count one person per row, which is plain k-anonymity.
//!
//! **Parameters**: a release's k ≥ 2, below 5 only when asked for ([`validate_release_k`], which
//! the release config's `KAnonymity` holds to). **Threshold**: `min_k` (`thresholds.min_k` in
//! [`crate::gates`]), judged on the
//! people in the smallest group at publish, and re-judged by `verify` on rows per class of
//! identical rows, which can only overstate the people per class (a failure there is certain).

use std::collections::HashSet;

use super::model::ClassConstraint;
use crate::fast_hash::FastBuildHasher;

/// The smallest k a release is published with unless its configuration says otherwise (by
/// lowering `[thresholds] min_k` to the k it asks for). Five is a usual smallest cell in
/// practice; El Emam & Dankar, "Protecting privacy using k-anonymity" (JAMIA 15(5), 2008), list
/// thresholds of 3 to 11 in use. Below it, the 1/k an attacker's guess succeeds with (a third, a
/// half) is a choice the data holder has to make in writing, never a typo's result.
pub const DEFAULT_SMALLEST_K: usize = 5;

/// Checks the k of a release: at least 2, since with k = 1 every record is published on its own,
/// and below [`DEFAULT_SMALLEST_K`] only when `min_k` (the `[thresholds]` gate on the achieved
/// k) is set at or below it, the configuration's explicit word that such a k is meant.
pub fn validate_release_k(k: usize, min_k: Option<usize>) -> Result<(), String> {
    if k < 2 {
        return Err(
            "must be at least 2: with k = 1 every record would be published on its own, \
                    protecting nobody"
                .into(),
        );
    }
    if k < DEFAULT_SMALLEST_K && min_k.is_none_or(|min| min > k) {
        return Err(format!(
            "k = {k} is below {DEFAULT_SMALLEST_K}, the smallest k published unless the \
             configuration says so: to publish it, set `[thresholds] min_k = {k}` in the config"
        ));
    }
    Ok(())
}

/// k counted over people, as a class constraint for methods that size classes in records
/// (global recoding, Mondrian): a class is accepted when its records belong to at least `k`
/// distinct people. Monotone: a class containing an accepted class holds those people too.
#[derive(Debug, Clone, Copy)]
pub struct DistinctPeople<'a> {
    persons: &'a [u32],
    k: usize,
}

impl<'a> DistinctPeople<'a> {
    /// `persons[r]` is the person of record `r`.
    pub fn new(persons: &'a [u32], k: usize) -> Self {
        Self { persons, k }
    }

    /// Number of distinct people in a list of people (with repeats).
    pub fn count(persons: impl IntoIterator<Item = u32>) -> usize {
        let people: HashSet<u32, FastBuildHasher> = persons.into_iter().collect();
        people.len()
    }
}

impl ClassConstraint for DistinctPeople<'_> {
    fn accepts(&self, records: &[usize]) -> bool {
        if records.len() < self.k {
            return false;
        }
        // Stops at the k-th person: classes are usually far larger than k.
        let mut people = HashSet::with_capacity_and_hasher(self.k, FastBuildHasher);
        self.k == 0
            || records
                .iter()
                .any(|&r| people.insert(self.persons[r]) && people.len() >= self.k)
    }

    fn is_monotone(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_release_k_below_five_needs_an_explicit_min_k() {
        assert!(validate_release_k(0, Some(1))
            .unwrap_err()
            .contains("at least 2"));
        assert!(validate_release_k(1, Some(1))
            .unwrap_err()
            .contains("at least 2"));
        let refused = validate_release_k(3, None).unwrap_err();
        assert!(refused.contains("`[thresholds] min_k = 3`"), "{refused}");
        assert!(validate_release_k(3, Some(4)).is_err());
        assert_eq!(validate_release_k(3, Some(3)), Ok(()));
        assert_eq!(validate_release_k(2, Some(2)), Ok(()));
        assert_eq!(validate_release_k(5, None), Ok(()));
        assert_eq!(validate_release_k(5, Some(50)), Ok(()));
    }

    #[test]
    fn people_not_records_make_k() {
        // Records 0..4 belong to people 7, 7, 8, 9.
        let persons = [7, 7, 8, 9];
        let k3 = DistinctPeople::new(&persons, 3);
        assert!(!k3.accepts(&[0, 1, 2]));
        assert!(k3.accepts(&[0, 1, 2, 3]));
        assert!(k3.accepts(&[1, 2, 3]));
        assert!(k3.is_monotone());
        assert_eq!(DistinctPeople::count([7, 7, 9]), 2);
    }
}
