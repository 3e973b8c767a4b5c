//! Coding of numeric columns before anonymization: top and bottom coding, and rounding to the
//! schema's step (its `bottom_code`, `top_code` and `rounding` keys).
//!
//! **Follows** the non-perturbative masking of Hundepool et al. (2012), *Statistical Disclosure
//! Control* (Wiley), §3.4: top/bottom coding of extreme values and rounding to a base.
//!
//! **Guarantees.**
//! - Top/bottom coding: afterwards no value lies above `top` or below `bottom`.
//! - Rounding: afterwards every present value is a multiple of the step; missing values (NaN)
//!   stay missing.
//!
//! These do not by themselves give k-anonymity; the engine applies them *before* the chosen
//! method, which then enforces its privacy model on the coded values, so the model holds for the
//! table as released. Both are deterministic, so they add no randomness to the release.

/// Replaces values below `bottom` by `bottom` and above `top` by `top`; returns how many values
/// were bottom- and top-coded.
pub fn top_bottom_code(
    column: &mut [f64],
    bottom: Option<f64>,
    top: Option<f64>,
) -> (usize, usize) {
    let (mut bottom_coded, mut top_coded) = (0, 0);
    for value in column.iter_mut() {
        if let Some(low) = bottom.filter(|low| *value < *low) {
            *value = low;
            bottom_coded += 1;
        }
        if let Some(high) = top.filter(|high| *value > *high) {
            *value = high;
            top_coded += 1;
        }
    }
    (bottom_coded, top_coded)
}

/// Rounds every present value to the nearest multiple of `step` (see `microaggregation::round_to`).
pub fn round_column(column: &mut [f64], step: f64) {
    for value in column.iter_mut().filter(|v| !v.is_nan()) {
        *value = super::microaggregation::round_to(*value, step);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coding_and_rounding() {
        let mut values = vec![1.0, 5.0, 12.0, f64::NAN];
        assert_eq!(top_bottom_code(&mut values, Some(2.0), Some(10.0)), (1, 1));
        assert_eq!(values[..3], [2.0, 5.0, 10.0]);
        round_column(&mut values, 4.0);
        assert_eq!(values[..3], [4.0, 4.0, 12.0]);
        assert!(values[3].is_nan());
    }
}
