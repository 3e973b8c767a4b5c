//! SSE-based information loss of numeric data: how far released values moved, relative to how much
//! the values vary.
//!
//! **Definition** (Domingo-Ferrer & Mateo-Sanz 2002, "Practical data-oriented microaggregation
//! for statistical disclosure control", IEEE TKDE 14(1)): `IL = SSE / SST` over standardized
//! values, where for every present original value `x` of column `c` with released value `x'`,
//! `SSE = Σ ((x − x') / s_c)²` and `SST = Σ ((x − m_c) / s_c)²`, with `m_c` and `s_c` the mean and
//! sample standard deviation of the column's original values. Standardizing makes every column
//! count equally whatever its unit or spread.
//!
//! A value that is not released (suppressed record, dropped measurement) counts as if replaced by
//! the column mean: it loses exactly its share of SST. So 0 means nothing changed and 1 means the
//! release says no more than the column means (means of microaggregation groups of everything, or
//! nothing released at all); noise can exceed 1.
//!
//! Precondition: both tables are row-major with `width` columns and the same rows; NaN marks a
//! missing original or an unreleased value. Columns without spread (fewer than two values or all
//! equal) are left out.

/// `SSE / SST` on standardized values; `None` when no column has any spread.
pub fn sse_information_loss(original: &[f64], released: &[f64], width: usize) -> Option<f64> {
    assert_eq!(
        original.len(),
        released.len(),
        "the tables must have the same shape"
    );
    if width == 0 {
        return None;
    }
    let rows = original.len() / width;
    let (mut sse, mut sst) = (0.0, 0.0);
    for column in 0..width {
        let values = (0..rows).map(|row| original[row * width + column]);
        let present: Vec<f64> = values.filter(|v| !v.is_nan()).collect();
        let n = present.len() as f64;
        if n < 2.0 {
            continue;
        }
        let mean = present.iter().sum::<f64>() / n;
        let squares: f64 = present.iter().map(|v| (v - mean) * (v - mean)).sum();
        if squares <= 0.0 {
            continue;
        }
        let variance = squares / (n - 1.0);
        for row in 0..rows {
            let x = original[row * width + column];
            if x.is_nan() {
                continue;
            }
            let y = released[row * width + column];
            let y = if y.is_nan() { mean } else { y };
            sse += (x - y) * (x - y) / variance;
        }
        sst += squares / variance;
    }
    (sst > 0.0).then(|| sse / sst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchanged_is_zero_and_means_are_one() {
        // Two columns with very different spreads.
        let original = [1.0, 100.0, 2.0, 300.0, 3.0, 500.0];
        assert_eq!(sse_information_loss(&original, &original, 2), Some(0.0));
        let means = [2.0, 300.0, 2.0, 300.0, 2.0, 300.0];
        assert_eq!(sse_information_loss(&original, &means, 2), Some(1.0));
        let withheld = [f64::NAN; 6];
        assert_eq!(sse_information_loss(&original, &withheld, 2), Some(1.0));
    }

    #[test]
    fn columns_weigh_equally_after_standardization() {
        let original = [1.0, 100.0, 3.0, 300.0];
        // Each column's two values replaced by their mean: both lose everything.
        let first_only = [2.0, 100.0, 2.0, 300.0];
        assert_eq!(sse_information_loss(&original, &first_only, 2), Some(0.5));
        let second_only = [1.0, 200.0, 3.0, 200.0];
        assert_eq!(sse_information_loss(&original, &second_only, 2), Some(0.5));
    }

    #[test]
    fn missing_originals_and_constant_columns_are_skipped() {
        let original = [1.0, 7.0, f64::NAN, 7.0, 3.0, 7.0];
        let released = [2.0, 0.0, 5.0, 0.0, 2.0, 0.0];
        assert_eq!(sse_information_loss(&original, &released, 2), Some(1.0));
        assert_eq!(sse_information_loss(&[7.0, 7.0], &[1.0, 1.0], 1), None);
    }
}
