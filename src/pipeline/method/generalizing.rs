//! The generalizing methods of the anonymization engine, global recoding (optimal full-domain
//! generalization, Kohlmayer et al. 2012) and Mondrian (LeFevre, DeWitt & Ramakrishnan 2006),
//! on a person-keyed table whose schema carries hierarchies. Their algorithms and guarantees
//! live in `anonymize/method/` (each class of identical quasi-identifier cells holds at least k
//! distinct people and meets every privacy model asked for); [`crate::pipeline::generalize`]
//! runs the engine and measures the released rows.

use super::{Eligible, Groups, PublishMethod, Reads};
use crate::anonymize::engine::Method;
use crate::error::Result;
use crate::observe::Observer;
use crate::pipeline::{generalize, Plan, ReleaseKeys};

/// One of the engine's generalizing methods in the registry of [`super::METHODS`].
pub struct Generalizing {
    /// The engine's method.
    pub method: Method,
    /// Its name, as `[method] name` and `report.json` spell it.
    pub name: &'static str,
}

impl PublishMethod for Generalizing {
    fn name(&self) -> &'static str {
        self.name
    }

    fn method(&self) -> Method {
        self.method
    }

    fn reads(&self) -> Reads {
        Reads::Cells
    }

    fn groups(
        &self,
        eligible: Eligible<'_>,
        plan: &Plan,
        _: &ReleaseKeys,
        observer: &dyn Observer,
    ) -> Result<Groups> {
        let Eligible::Cells(cells) = eligible else {
            unreachable!("a generalizing method reads cells")
        };
        generalize::groups(cells, plan, observer)
    }
}
