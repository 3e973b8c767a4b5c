//! MDAV microaggregation, the default method for numeric quasi-identifiers (every FreeSewing
//! release): coverage planning (sets it would publish with fewer than
//! `min_published_measurements` values suppressed), then MDAV in groups of at least k distinct
//! people with the spread of each coverage pattern restored, then the keyed group noise
//! (`[defences] group_noise_sd`; see [`crate::anonymize::group_noise`] for why it is safe and
//! what it defeats). Its guarantee: every released row is its group's mean, shared by at least
//! k distinct people (Domingo-Ferrer & Torra 2005). Only this method's release carries the
//! simulated attacks, the linkage attack, the size chart and the ledger's membership: they
//! read group means.

use std::collections::HashSet;

use zeroize::Zeroizing;

use super::{Eligible, Groups, PublishMethod, Reads, Released};
use crate::anonymize::engine::Method;
use crate::anonymize::group_noise::add_group_noise;
use crate::anonymize::method::Microaggregation;
use crate::anonymize::microaggregation::Microaggregated;
use crate::deidentify::{deidentify, ReleaseTable};
use crate::error::{Error, Result};
use crate::observe::Observer;
use crate::pipeline::{parameters, Plan, ReleaseKeys, Selected};
use crate::release::report::{AnonymizationCounts, GroupNoiseParameters};
use crate::risk::ClassHistogram;
use crate::table::MeasurementTable;

/// MDAV microaggregation in the registry of [`super::METHODS`].
pub struct Mdav;

impl PublishMethod for Mdav {
    fn name(&self) -> &'static str {
        "mdav"
    }

    fn method(&self) -> Method {
        Method::Mdav
    }

    fn reads(&self) -> Reads {
        Reads::Measurements
    }

    fn groups(
        &self,
        eligible: Eligible<'_>,
        plan: &Plan,
        keys: &ReleaseKeys,
        observer: &dyn Observer,
    ) -> Result<Groups> {
        let Eligible::Measurements(selected) = eligible else {
            unreachable!("MDAV reads measurements")
        };
        let anonymized = anonymize(selected, plan, keys, observer)?;
        let released = &anonymized.released;
        // Counted on the de-identified rows, which are sorted: grouping identical rows is then
        // a pass over runs rather than a sort of the whole table.
        let table = &anonymized.table;
        Ok(Groups {
            k_achieved: released.smallest_group_people,
            counts: anonymized.counts.clone(),
            classes: observer.time("classes", || {
                ClassHistogram::from_rows(&table.values, table.columns.len().max(1))
            }),
            l: None,
            t: None,
            parameters: parameters(plan, anonymized.group_noise.clone()),
            generalization: None,
            released: Released::Measurements(Box::new(anonymized)),
        })
    }
}

/// The microaggregated records and what anonymization did to them.
pub struct Anonymized {
    /// Group means, the group of each row and the coverage plan.
    pub released: Microaggregated,
    /// The counts the report publishes.
    pub counts: AnonymizationCounts,
    /// The keyed group noise the released values carry, if any.
    pub group_noise: Option<GroupNoiseParameters>,
    /// The released rows de-identified: the measurement columns, rows sorted, a record id each
    /// ([`deidentify`]).
    pub table: ReleaseTable,
}

/// Coverage planning and MDAV in groups of at least k people, then the keyed group noise.
fn anonymize(
    selected: &Selected,
    plan: &Plan,
    keys: &ReleaseKeys,
    observer: &dyn Observer,
) -> Result<Anonymized> {
    let table = &selected.table;
    let mut released = {
        let progress = observer.progress("microaggregate", table.len() as u64);
        observer.time("anonymize", || {
            Microaggregation::release(table, &plan.method, &*progress)
        })
    };
    let group_noise = keys.group_noise.as_ref().and_then(|key| {
        observer.time("group-noise", || {
            noise(table, &mut released, plan, key.clone())
        })
    });
    let suppressed = released.coverage.suppressed_records;
    if released.rows() == 0 {
        return Err(Error::Unsatisfiable {
            problem: format!(
                "all {suppressed} eligible records were suppressed: no coverage pattern is shared \
                 by k = {} people, so the release would be empty",
                plan.config.k
            ),
        });
    }
    let counts = AnonymizationCounts {
        published_records: released.rows(),
        suppressed_records: suppressed,
        suppressed_share: if table.is_empty() {
            0.0
        } else {
            suppressed as f64 / table.len() as f64
        },
        coarsened_records: released.coverage.coarsened_records,
        dropped_values: released.coverage.dropped_values,
        groups: released.groups,
        coverage_patterns: released
            .coverage
            .pattern
            .iter()
            .flatten()
            .collect::<HashSet<_>>()
            .len(),
    };
    let table = observer.time("deidentify", || {
        deidentify(
            plan.catalog.names().to_vec(),
            &released.values,
            &selected.record_id_seed,
        )
    });
    Ok(Anonymized {
        released,
        counts,
        group_noise,
        table,
    })
}

/// The group noise of the plan on `released`. Selection numbers people afresh in every release,
/// so a member enters the draw by its set alone (person key 0): a group of the same sets draws
/// the same noise in every release, and a group whose sets changed draws anew.
pub(crate) fn noise(
    table: &MeasurementTable,
    released: &mut Microaggregated,
    plan: &Plan,
    key: Zeroizing<[u8; 32]>,
) -> Option<GroupNoiseParameters> {
    let scale = plan.config.defences.group_noise_sd;
    add_group_noise(table, released, &plan.method, scale, key, &|_| 0)
}
