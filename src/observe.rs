//! How a running stage tells the outside world how far it got and how long it took.
//!
//! Library stages know nothing of terminals, progress bars or `--timings`: they report to an
//! [`Observer`], and whoever runs them decides what to show. The command line plugs in progress
//! bars and the timing lines (`cli::Console`); tests and library users pass [`Silent`]. Reports
//! carry stage names, step counts and durations only, never a value.

use std::time::{Duration, Instant};

/// Receives progress and timings from the stages of a run. Stages may run side by side on
/// several threads, hence `Sync`.
pub trait Observer: Sync {
    /// A stage (or one part of it) took `duration`; parts reported under one name add up.
    fn stage_took(&self, stage: &'static str, duration: Duration);

    /// A stage of `total` steps begins; it reports its steps to the returned handle, and ends
    /// when the handle is dropped.
    fn progress(&self, stage: &'static str, total: u64) -> Box<dyn Progress>;

    /// Whether progress is shown to anyone, so that a stage may skip counting its steps (which
    /// can cost a pass over the input) when nobody would see them.
    fn shows_progress(&self) -> bool {
        false
    }
}

impl dyn Observer + '_ {
    /// Runs `stage`, reporting how long it took under `name`.
    pub fn time<T>(&self, name: &'static str, stage: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let outcome = stage();
        self.stage_took(name, started.elapsed());
        outcome
    }
}

/// The progress of one stage.
pub trait Progress: Send + Sync {
    /// `steps` more steps are done.
    fn advance(&self, steps: u64);
}

/// An observer that shows nothing and keeps nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Observer for Silent {
    fn stage_took(&self, _stage: &'static str, _duration: Duration) {}

    fn progress(&self, _stage: &'static str, _total: u64) -> Box<dyn Progress> {
        Box::new(Silent)
    }
}

impl Progress for Silent {
    fn advance(&self, _steps: u64) {}
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Keeps what it is told, for the assertions.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<&'static str>>);

    impl Observer for Recorder {
        fn stage_took(&self, stage: &'static str, _duration: Duration) {
            self.0.lock().unwrap().push(stage);
        }

        fn progress(&self, _stage: &'static str, _total: u64) -> Box<dyn Progress> {
            Box::new(Silent)
        }
    }

    #[test]
    fn timed_stages_reach_the_observer_in_order() {
        let recorder = Recorder::default();
        let observer: &dyn Observer = &recorder;
        assert_eq!(
            observer.time("read", || 2) + observer.time("write", || 3),
            5
        );
        assert_eq!(*recorder.0.lock().unwrap(), ["read", "write"]);
        assert!(!observer.shows_progress());
        let silent: &dyn Observer = &Silent;
        silent.progress("stage", 10).advance(3);
        assert_eq!(silent.time("x", || 7), 7);
    }
}
