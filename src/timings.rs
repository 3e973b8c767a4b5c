//! `--timings`: wall-clock time per pipeline stage, printed to stderr after a run.
//!
//! Benchmarks (scripts/bench.sh) read these lines to report each stage next to its physical floor;
//! they carry stage names and durations only.

use std::time::{Duration, Instant};

/// Stage durations in the order the stages ran.
#[derive(Debug, Default)]
pub struct Timings {
    stages: Vec<(&'static str, Duration)>,
}

impl Timings {
    /// Runs `stage`, recording how long it took under `name`.
    pub fn time<T>(&mut self, name: &'static str, stage: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let outcome = stage();
        self.record(name, started.elapsed());
        outcome
    }

    /// Adds a duration measured elsewhere (e.g. summed over chunks).
    pub fn record(&mut self, name: &'static str, duration: Duration) {
        match self.stages.iter_mut().find(|(n, _)| *n == name) {
            Some((_, total)) => *total += duration,
            None => self.stages.push((name, duration)),
        }
    }

    /// One line per stage, `timing <stage> <milliseconds> ms` (stage names have no spaces, for
    /// scripts), then the total.
    pub fn report(&self) -> String {
        let total: Duration = self.stages.iter().map(|(_, d)| *d).sum();
        self.stages
            .iter()
            .chain(std::iter::once(&("total", total)))
            .map(|(name, d)| format!("timing {name:<14} {:>9.1} ms\n", d.as_secs_f64() * 1000.0))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_sums_by_stage() {
        let mut timings = Timings::default();
        timings.record("read", Duration::from_millis(5));
        timings.record("read", Duration::from_millis(7));
        assert_eq!(timings.time("anonymize", || 3), 3);
        let report = timings.report();
        assert!(report.starts_with("timing read"), "{report}");
        assert!(report.contains("12.0 ms"), "{report}");
        assert!(report.lines().last().unwrap().starts_with("timing total"));
    }
}
