//! The whole-frame clip of soxspipe 0.19 with soxspipe numerics. soxspipe 0.19 requires
//! astropy 7.2, whose `sigma_clip` hands float32 data to numpy's `nanmean`/`nanstd`
//! (bottleneck only serves float64): each round sums the surviving values, compacted, with
//! numpy's float32 pairwise sum, and the bounds are float32. The pairwise tree depends on
//! where each value sits in the compacted array, so the survivors are really compacted
//! here (the 0.17 clip can sum in place, since bottleneck adds from left to right).

use super::ClipBounds;
use crate::algorithm::numerics::numpy_sum;

/// astropy 7.2's `sigma_clip(data, sigma, maxiters, cenfunc="mean", stdfunc="std")` on
/// float32 data: the final bounds and the rounds run. A value is masked where the bounds
/// [`ClipBounds::rejects`] it (non-finite, or outside the last bounds).
pub(super) fn clip(data: &[f32], sigma: f64, max_iterations: u32) -> ClipBounds {
    let mut work: Vec<f32> = data.iter().copied().filter(|v| v.is_finite()).collect();
    let mut squares: Vec<f32> = Vec::with_capacity(work.len());
    let sigma = sigma as f32;
    let mut bounds = ClipBounds::UNCLIPPED;
    while bounds.iterations < max_iterations {
        bounds.iterations += 1;
        let n = work.len();
        if n == 0 {
            // numpy's mean of nothing is NaN: the bounds then restrict nothing more.
            bounds.lower = f64::NAN;
            bounds.upper = f64::NAN;
            break;
        }
        // `np.nanmean`: the float32 sum divided by the count in float64, rounded to float32.
        let mean = (f64::from(numpy_sum(&work)) / n as f64) as f32;
        squares.clear();
        squares.extend(work.iter().map(|&v| {
            let d = v - mean;
            d * d
        }));
        let variance = (f64::from(numpy_sum(&squares)) / n as f64) as f32;
        let half_width = variance.sqrt() * sigma;
        let (low, high) = (mean - half_width, mean + half_width);
        bounds.lower = f64::from(low);
        bounds.upper = f64::from(high);
        work.retain(|&v| low <= v && v <= high);
        if work.len() == n {
            break;
        }
    }
    bounds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outlier_goes_and_the_bounds_are_float32() {
        let mut data: Vec<f32> = (0..1000).map(|i| 100.0 + (i % 7) as f32).collect();
        data[10] = 5000.0;
        data[20] = f32::NAN;
        let bounds = clip(&data, 3.0, 3);
        assert!(bounds.rejects(5000.0) && bounds.rejects(f32::NAN));
        assert!(!bounds.rejects(100.0) && !bounds.rejects(106.0));
        assert_eq!(bounds.lower, f64::from(bounds.lower as f32));
        assert_eq!(bounds.upper, f64::from(bounds.upper as f32));
        // Round 1 removes the outlier, round 2 nothing.
        assert_eq!(bounds.iterations, 2);
    }

    #[test]
    fn nothing_finite_leaves_nan_bounds() {
        let bounds = clip(&[f32::NAN, f32::INFINITY], 3.0, 3);
        assert!(bounds.lower.is_nan() && bounds.upper.is_nan());
        assert!(bounds.rejects(f32::NAN) && !bounds.rejects(1.0));
    }
}
