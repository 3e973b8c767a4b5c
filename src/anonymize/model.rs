//! Privacy models: what every published equivalence class must satisfy.
//!
//! A model is one file beside this one, carrying its guarantee and paper, the validation of its
//! parameters, its entry in the `anonymize` report and, where a release can be gated on it, its
//! threshold for [`crate::gates::GATES`]:
//!
//! - [`super::k_anonymity`]: every class holds at least k records, or k distinct **people** where
//!   a person may have several records (the `publish` model);
//! - [`super::ldiversity`]: every class holds well-represented sensitive values;
//! - [`super::tcloseness`]: every class's sensitive distribution is close to the table's.
//!
//! The size requirement (k) is enforced by every method itself, since it decides which records
//! can be grouped at all; every other model reaches the methods as a [`ClassConstraint`], so a
//! method that suppresses or refuses each class failing a constraint enforces any model.

/// A requirement on each equivalence class besides its size, such as l-diversity or t-closeness.
/// Classes failing it are suppressed (global recoding, MDAV) or never cut (Mondrian).
pub trait ClassConstraint: Sync {
    /// Whether the class made of these records (indices into the input columns) may be
    /// published.
    fn accepts(&self, records: &[usize]) -> bool;

    /// Return `true` only if every class that contains an accepted class is accepted too. The
    /// lattice search then also prunes by this constraint; otherwise it prunes by `k` alone,
    /// which is slower but still optimal.
    fn is_monotone(&self) -> bool {
        false
    }
}
