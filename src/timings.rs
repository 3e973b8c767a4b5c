//! `--timings`: wall-clock time per pipeline stage, printed to stderr after a run.
//!
//! Benchmarks (scripts/bench.sh) read these lines to report each stage next to its physical floor;
//! they carry stage names and durations only. Some stages run side by side (the input fingerprint
//! beside reading the database, the CSV beside the Parquet file), so the stages can add up to more
//! than `total`, which is the wall-clock time of the whole run.

use std::time::{Duration, Instant};

/// Stage durations in the order the stages ran, and when the run started.
#[derive(Debug)]
pub struct Timings {
    started: Instant,
    stages: Vec<(&'static str, Duration)>,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            started: Instant::now(),
            stages: Vec::new(),
        }
    }
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

    /// The stages recorded so far, in the order they first ran, with their durations.
    pub fn stages(&self) -> impl Iterator<Item = (&'static str, Duration)> + '_ {
        self.stages.iter().copied()
    }

    /// One line per stage, `timing <stage> <milliseconds> ms` (stage names have no spaces, for
    /// scripts), then `total`: the wall-clock time since the timings were created.
    pub fn report(&self) -> String {
        let total = self.started.elapsed();
        self.stages
            .iter()
            .chain(std::iter::once(&("total", total)))
            .map(|(name, d)| format!("timing {name:<14} {:>9.1} ms\n", d.as_secs_f64() * 1000.0))
            .collect()
    }
}

/// Runs `work` and returns its outcome with how long it took, for stages that run on other
/// threads and are recorded once they are joined.
pub fn timed<T>(work: impl FnOnce() -> T) -> (T, Duration) {
    let started = Instant::now();
    let outcome = work();
    (outcome, started.elapsed())
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
        let total = report.lines().last().unwrap();
        assert!(total.starts_with("timing total"), "{report}");
        // Recorded durations may overlap, so the total is the wall clock, not their sum.
        let total_ms: f64 = total.split_whitespace().nth(2).unwrap().parse().unwrap();
        assert!(total_ms < 12.0, "{report}");
    }
}
