//! The privacy budget: zCDP accounting, its conversion to (ε, δ), and a record of every figure.
//!
//! **Guarantee.** Mechanisms that are ρ₁-, ρ₂-, … zCDP run on the same people (even when each
//! one is chosen after seeing the previous outputs) are together (Σρᵢ)-zCDP (Bun & Steinke 2016,
//! Lemma 2.3). A ρ-zCDP release is (ε, δ)-DP for every ε with
//! `δ = inf_{α>1} exp((α-1)(αρ - ε)) / (α-1) · (1 - 1/α)^α` (Canonne, Kamath & Steinke 2020,
//! Corollary 13), which is tighter than Bun & Steinke's `ε = ρ + 2√(ρ ln(1/δ))`. The chart is
//! configured in (ε, δ), the scale readers know; [`rho_for`] finds the largest ρ whose conversion
//! meets it. Mechanisms on *disjoint* groups of people (strata that depend only on a person's own
//! values) compose in parallel: the total is the largest, not the sum (McSherry 2009).
//!
//! Floating point is used here only to *choose* ρ, never to draw noise. Every α gives a valid
//! bound, so an imperfect search for the best α only costs tightness; the last step shrinks ρ by
//! a relative 10⁻⁹ to absorb rounding in the final evaluation.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// `ln δ` of the CKS conversion at one order α (the bound holds for every α > 1).
fn log_delta_at(rho: f64, epsilon: f64, alpha: f64) -> f64 {
    (alpha - 1.0) * (alpha * rho - epsilon) + alpha * (-1.0 / alpha).ln_1p() - (alpha - 1.0).ln()
}

/// The δ at which a ρ-zCDP mechanism is (ε, δ)-DP (CKS 2020, Corollary 13).
pub fn delta_for(rho: f64, epsilon: f64) -> f64 {
    if rho <= 0.0 {
        return 0.0;
    }
    // ln δ(α) is convex in α (a quadratic plus convex terms); golden-section search on a range
    // that holds its minimum: the optimum is no larger than (ε + 1)/(2ρ) + 1.
    let (mut low, mut high) = (1.0 + 1e-9, (epsilon + 1.0) / (2.0 * rho) + 2.0);
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..200 {
        let a = high - ratio * (high - low);
        let b = low + ratio * (high - low);
        if log_delta_at(rho, epsilon, a) < log_delta_at(rho, epsilon, b) {
            high = b;
        } else {
            low = a;
        }
    }
    log_delta_at(rho, epsilon, (low + high) / 2.0)
        .exp()
        .min(1.0)
}

/// The largest ρ (to 10⁻¹² relative) whose ρ-zCDP is (ε, δ)-DP.
pub fn rho_for(epsilon: f64, delta: f64) -> f64 {
    // δ grows with ρ, and a ρ-zCDP mechanism is never (ε, δ)-DP with small δ for ε below ρ, so
    // the answer lies in (0, ε]; bisection keeps `delta_for(low) ≤ delta`.
    let (low, _) = bisect(0.0, epsilon, |rho| delta_for(rho, epsilon) <= delta);
    low * (1.0 - 1e-9)
}

/// The smallest ε at which a ρ-zCDP mechanism is (ε, δ)-DP, for reports.
pub fn epsilon_for(rho: f64, delta: f64) -> f64 {
    // Bun & Steinke's ε is always enough, so the answer lies below it.
    let start = rho + 2.0 * (rho * (1.0 / delta).ln()).sqrt();
    let (_, high) = bisect(0.0, start, |epsilon| delta_for(rho, epsilon) > delta);
    high
}

/// Bisection of `[low, high]` for the point where `below` turns from true to false; returns the
/// final bracket (`below(low)` holds throughout, `below(high)` does not unless at the start).
fn bisect(mut low: f64, mut high: f64, below: impl Fn(f64) -> bool) -> (f64, f64) {
    for _ in 0..200 {
        let middle = (low + high) / 2.0;
        if below(middle) {
            low = middle;
        } else {
            high = middle;
        }
    }
    (low, high)
}

/// How a figure was noised.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mechanism {
    /// [`super::gaussian`]: ρ = Δ²/(2σ²).
    DiscreteGaussian,
    /// [`super::laplace`]: ε-DP, counted as ε²/2-zCDP.
    DiscreteLaplace,
    /// [`super::quantile`]: ε-DP exponential mechanism, counted as ε²/8-zCDP (it is ε-bounded
    /// range; Cesar & Rogers 2021, Lemma 3.2).
    ExponentialMechanism,
}

impl Mechanism {
    /// The mechanism's name as the report writes it (as serialized).
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::DiscreteGaussian => "discrete-gaussian",
            Mechanism::DiscreteLaplace => "discrete-laplace",
            Mechanism::ExponentialMechanism => "exponential-mechanism",
        }
    }
}

/// One figure's share of the budget.
#[derive(Debug, Clone, Serialize)]
pub struct Spend {
    /// What was measured, e.g. `chest P50`.
    pub figure: String,
    /// The mechanism that noised it, which fixes how its privacy loss is counted in ρ.
    pub mechanism: Mechanism,
    /// The zCDP cost.
    pub rho: f64,
}

/// A zCDP budget that refuses to be overspent, with the list of what it paid for.
#[derive(Debug, Clone, Serialize)]
pub struct Accountant {
    /// The ρ available: the spends (which compose by adding up) never exceed it.
    pub total_rho: f64,
    /// Every spend so far, in order: the record of what the budget paid for.
    pub spent: Vec<Spend>,
}

impl Accountant {
    /// An accountant with `total_rho` to spend and nothing spent yet.
    pub fn new(total_rho: f64) -> Self {
        Accountant {
            total_rho,
            spent: Vec::new(),
        }
    }

    /// The ρ spent so far (composition: the sum).
    pub fn spent_rho(&self) -> f64 {
        self.spent.iter().map(|s| s.rho).sum()
    }

    /// Records a figure's cost; refuses one that would exceed the total (a programming error in
    /// the budget split, reported rather than silently overspent).
    pub fn spend(&mut self, figure: String, mechanism: Mechanism, rho: f64) -> Result<f64> {
        if rho.is_nan() || rho <= 0.0 || self.spent_rho() + rho > self.total_rho {
            return Err(Error::InvalidArgument {
                name: "privacy budget",
                problem: format!(
                    "{figure} would spend ρ = {rho:e}, {:e} of {:e} is left",
                    self.total_rho - self.spent_rho(),
                    self.total_rho
                ),
            });
        }
        self.spent.push(Spend {
            figure,
            mechanism,
            rho,
        });
        Ok(rho)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversion_is_tighter_than_bun_steinke_and_consistent() {
        for delta in [1e-5, 1e-6, 1e-8] {
            let rho = rho_for(1.0, delta);
            let bun_steinke =
                ((1.0 + (1.0 / delta).ln()).sqrt() - (1.0 / delta).ln().sqrt()).powi(2);
            assert!(rho > bun_steinke, "{rho} vs {bun_steinke}");
            assert!(delta_for(rho, 1.0) <= delta);
            assert!(delta_for(rho * 1.01, 1.0) > delta);
            assert!((epsilon_for(rho, delta) - 1.0).abs() < 1e-6);
        }
        // A published figure: ε = 1, δ = 10⁻⁶ corresponds to ρ ≈ 0.0244.
        assert!((rho_for(1.0, 1e-6) - 0.02436).abs() < 5e-5);
    }

    #[test]
    fn pure_dp_conversion_agrees_on_a_known_point() {
        // ρ = ε²/2 at ε = 1 is (ε', δ)-DP with ε' ≥ ρ: the conversion never reports below ρ.
        assert!(epsilon_for(0.5, 1e-6) > 0.5);
        assert_eq!(delta_for(0.0, 1.0), 0.0);
    }

    #[test]
    fn accountant_refuses_to_overspend() {
        let mut budget = Accountant::new(1.0);
        budget
            .spend("a".into(), Mechanism::DiscreteGaussian, 0.6)
            .unwrap();
        let refused = budget.spend("b".into(), Mechanism::DiscreteLaplace, 0.5);
        assert!(refused.unwrap_err().to_string().contains("b would spend"));
        budget
            .spend("c".into(), Mechanism::ExponentialMechanism, 0.4)
            .unwrap();
        assert_eq!(budget.spent.len(), 2);
        assert!(budget
            .spend("d".into(), Mechanism::DiscreteGaussian, 0.0)
            .is_err());
    }
}
