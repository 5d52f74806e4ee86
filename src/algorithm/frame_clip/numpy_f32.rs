//! The whole-frame clip of soxspipe 0.19 with soxspipe numerics. soxspipe 0.19 requires
//! astropy 7.2, whose `sigma_clip` hands float32 data to numpy's `nanmean`/`nanstd`
//! (bottleneck only serves float64): each round sums the surviving values, compacted, with
//! numpy's float32 pairwise sum, and the bounds are float32. The pairwise tree depends on
//! where each value sits in the compacted array, so the survivors are really compacted
//! here (the 0.17 clip can sum in place, since bottleneck adds from left to right).

use super::ClipBounds;
use crate::algorithm::numerics::{NUMPY_BUFFER, numpy_pairwise, numpy_sum};

/// astropy 7.2's `sigma_clip(data, sigma, maxiters, cenfunc="mean", stdfunc="std")` on
/// float32 data: the final bounds and the rounds run. A value is masked where the bounds
/// [`ClipBounds::rejects`] it (non-finite, or outside the last bounds).
///
/// The survivors are compacted into `work`: a caller clipping frame after frame passes
/// the same buffer, whose pages then need faulting in once, not once a frame.
pub(super) fn clip_with(
    work: &mut Vec<f32>,
    data: &[f32],
    sigma: f64,
    max_iterations: u32,
) -> ClipBounds {
    let sigma = sigma as f32;
    let mut bounds = ClipBounds::UNCLIPPED;
    // The survivors: the first round reads the frame itself when every value is finite.
    work.clear();
    let mut compacted = data.iter().any(|v| !v.is_finite());
    if compacted {
        work.extend(data.iter().copied().filter(|v| v.is_finite()));
    }
    while bounds.iterations < max_iterations {
        bounds.iterations += 1;
        let values = if compacted { &work[..] } else { data };
        let n = values.len();
        if n == 0 {
            // numpy's mean of nothing is NaN: the bounds then restrict nothing more.
            bounds.lower = f64::NAN;
            bounds.upper = f64::NAN;
            break;
        }
        // `np.nanmean`: the float32 sum divided by the count in float64, rounded to float32.
        let mean = (f64::from(numpy_sum(values)) / n as f64) as f32;
        let variance = (f64::from(squares_sum(values, mean)) / n as f64) as f32;
        let half_width = variance.sqrt() * sigma;
        let (low, high) = (mean - half_width, mean + half_width);
        bounds.lower = f64::from(low);
        bounds.upper = f64::from(high);
        let kept = |v: &f32| low <= *v && *v <= high;
        if compacted {
            work.retain(kept);
        } else {
            work.extend(data.iter().copied().filter(kept));
            compacted = true;
        }
        if work.len() == n {
            break;
        }
    }
    bounds
}

/// numpy's float32 sum of `(v − mean)²` over `values`, buffer by buffer, without a
/// frame-sized array of squares.
fn squares_sum(values: &[f32], mean: f32) -> f32 {
    let mut buffer = [0f32; NUMPY_BUFFER];
    let mut total = 0f32;
    for chunk in values.chunks(NUMPY_BUFFER) {
        let squares = &mut buffer[..chunk.len()];
        for (out, &v) in squares.iter_mut().zip(chunk) {
            let d = v - mean;
            *out = d * d;
        }
        total += numpy_pairwise(squares);
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outlier_goes_and_the_bounds_are_float32() {
        let mut data: Vec<f32> = (0..1000).map(|i| 100.0 + (i % 7) as f32).collect();
        data[10] = 5000.0;
        data[20] = f32::NAN;
        let bounds = clip_with(&mut Vec::new(), &data, 3.0, 3);
        assert!(bounds.rejects(5000.0) && bounds.rejects(f32::NAN));
        assert!(!bounds.rejects(100.0) && !bounds.rejects(106.0));
        assert_eq!(bounds.lower, f64::from(bounds.lower as f32));
        assert_eq!(bounds.upper, f64::from(bounds.upper as f32));
        // Round 1 removes the outlier, round 2 nothing.
        assert_eq!(bounds.iterations, 2);
    }

    #[test]
    fn nothing_finite_leaves_nan_bounds() {
        let bounds = clip_with(&mut Vec::new(), &[f32::NAN, f32::INFINITY], 3.0, 3);
        assert!(bounds.lower.is_nan() && bounds.upper.is_nan());
        assert!(bounds.rejects(f32::NAN) && !bounds.rejects(1.0));
    }
}
