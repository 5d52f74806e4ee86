//! Sigma clipping with astropy's semantics (`astropy.stats.sigma_clip`, 6.1).
//!
//! Bounds are inclusive (`lo <= x <= hi` survives); values are removed cumulatively; a
//! round that removes nothing ends the loop; the final mask is "outside the last bounds"
//! (or non-finite), applied to every original value.

use super::numerics::{bottleneck_mean_std_f32, mean_std_f64, median_in_place};
use crate::settings::Numerics;

/// astropy's `mad_std` scale: 1 / Φ⁻¹(3/4).
pub const MAD_TO_STD: f64 = 1.482602218505602;

/// Bounds of a clip and how many rounds it ran.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClipBounds {
    pub lower: f64,
    pub upper: f64,
    pub iterations: u32,
}

/// Whole-frame clip about the mean with the population std (soxspipe's per-frame level
/// clip and post-stack clip). Returns `mask[i] == true` for clipped or non-finite values.
///
/// In `Numerics::Soxspipe` the mean and std are bottleneck's float32 sums, which on a
/// multi-megapixel bias frame are far off the true values; that is what soxspipe does.
pub fn clip_frame_mean_std(
    data: &[f32],
    sigma: f64,
    max_iterations: u32,
    numerics: Numerics,
) -> (Vec<bool>, ClipBounds) {
    let mut work: Vec<f32> = data.iter().copied().filter(|v| v.is_finite()).collect();
    let mut bounds = ClipBounds {
        lower: f64::NAN,
        upper: f64::NAN,
        iterations: 0,
    };
    while bounds.iterations < max_iterations {
        bounds.iterations += 1;
        let stats = match numerics {
            Numerics::Soxspipe => {
                bottleneck_mean_std_f32(&work).map(|(m, s)| (f64::from(m), f64::from(s)))
            }
            Numerics::Exact => mean_std_f64(&work),
        };
        let Some((centre, std)) = stats else {
            break;
        };
        bounds.lower = centre - std * sigma;
        bounds.upper = centre + std * sigma;
        let before = work.len();
        work.retain(|&v| {
            let v = f64::from(v);
            v >= bounds.lower && v <= bounds.upper
        });
        if work.len() == before {
            break;
        }
    }
    let mask = data
        .iter()
        .map(|&v| {
            let v = f64::from(v);
            !v.is_finite() || v < bounds.lower || v > bounds.upper
        })
        .collect();
    (mask, bounds)
}

/// Per-pixel clip of one stack of values about the median with the MAD-based std
/// (astropy's C fast path, float64). `scratch` must hold at least `2 × values.len()`.
/// Writes `clipped[k]` for each value and returns the number clipped.
///
/// If a round clips every remaining value, astropy goes on to take the median of an empty
/// buffer (undefined); in practice it then reports everything clipped, which is what this
/// does. This can only happen for σ < 0.675 with an even count.
pub fn clip_stack_median_mad(
    values: &[f64],
    sigma: f64,
    max_iterations: u32,
    scratch: &mut [f64],
    clipped: &mut [bool],
) -> usize {
    let n = values.len();
    let (work, deviations) = scratch.split_at_mut(n);
    let mut count = 0;
    for &v in values {
        if v.is_finite() {
            work[count] = v;
            count += 1;
        }
    }
    let (mut lower, mut upper) = (f64::NAN, f64::NAN);
    let mut iteration = 0;
    let mut everything_clipped = count == 0;
    while iteration < max_iterations && !everything_clipped {
        let live = &mut work[..count];
        let Some(median) = median_in_place(live) else {
            break;
        };
        for (d, &v) in deviations.iter_mut().zip(live.iter()) {
            *d = (v - median).abs();
        }
        let mad = median_in_place(&mut deviations[..count]).unwrap_or(f64::NAN);
        let std = mad * MAD_TO_STD;
        lower = median - sigma * std;
        upper = median + sigma * std;
        let mut kept = 0;
        for i in 0..count {
            let v = work[i];
            if v >= lower && v <= upper {
                work[kept] = v;
                kept += 1;
            }
        }
        iteration += 1;
        if kept == count {
            break;
        }
        count = kept;
        everything_clipped = kept == 0;
    }
    let mut total = 0;
    for (c, &v) in clipped.iter_mut().zip(values) {
        *c = everything_clipped || !v.is_finite() || v < lower || v > upper;
        total += usize::from(*c);
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack_clip(values: &[f64], sigma: f64, iters: u32) -> Vec<bool> {
        let mut scratch = vec![0.0; 2 * values.len()];
        let mut clipped = vec![false; values.len()];
        clip_stack_median_mad(values, sigma, iters, &mut scratch, &mut clipped);
        clipped
    }

    #[test]
    fn stack_bounds_are_inclusive() {
        // median 3, |dev| = 2,1,0,1,2 -> MAD 1 -> std 1.4826; σ = 2/1.4826 puts 1 and 5 on the bounds.
        let sigma = 2.0 / MAD_TO_STD;
        assert_eq!(sigma * MAD_TO_STD, 2.0, "the bounds are exactly 1 and 5");
        let clipped = stack_clip(&[1.0, 2.0, 3.0, 4.0, 5.0], sigma, 3);
        assert_eq!(clipped, vec![false; 5]);
    }

    #[test]
    fn stack_clips_an_outlier_like_astropy() {
        // Checked with astropy 6.1.2: sigma_clip([1,2,3,4,100], 3, maxiters=1, median/mad_std)
        // gives bounds (-1.44780666, 7.44780666) and masks only 100.
        let clipped = stack_clip(&[1.0, 2.0, 3.0, 4.0, 100.0], 3.0, 1);
        assert_eq!(clipped, vec![false, false, false, false, true]);
    }

    #[test]
    fn stack_even_count_median_is_mean_of_middle_pair() {
        // |dev| from 2.5 = 1.5, .5, .5, 1.5 -> MAD 1 -> std 1.4826. σ = 1 gives [1.017, 3.983]:
        // both extremes clipped, which only a centre of 2.5 does (2 would keep 1, 3 keep 4).
        assert_eq!(
            stack_clip(&[1.0, 2.0, 3.0, 4.0], 1.0, 1),
            vec![true, false, false, true]
        );
        // σ = 1.02 gives [0.988, 4.012]: all kept.
        assert_eq!(stack_clip(&[1.0, 2.0, 3.0, 4.0], 1.02, 1), vec![false; 4]);
    }

    #[test]
    fn mad_zero_clips_everything_off_the_median() {
        // astropy 6.1.2: [5,5,5,6,4] -> bounds (5, 5), masks 6 and 4.
        assert_eq!(
            stack_clip(&[5.0, 5.0, 5.0, 6.0, 4.0], 3.0, 3),
            vec![false, false, false, true, true]
        );
    }

    #[test]
    fn everything_clipped_masks_the_whole_stack() {
        // astropy 6.1.2: sigma_clip([1, 2], sigma=0.1, median/mad_std) masks both.
        assert_eq!(stack_clip(&[1.0, 2.0], 0.1, 3), vec![true, true]);
    }

    #[test]
    fn maxiters_limits_the_rounds() {
        // Round 1 (median 4, MAD 2, σ 1 -> [1.03, 6.97]) clips 0 and 9; round 2 (median 4,
        // MAD 1 -> [2.52, 5.48]) would also clip 2 and 6.
        let v = [0.0, 2.0, 3.0, 4.0, 5.0, 6.0, 9.0];
        assert_eq!(
            stack_clip(&v, 1.0, 1),
            vec![true, false, false, false, false, false, true]
        );
        assert_eq!(
            stack_clip(&v, 1.0, 2),
            vec![true, true, false, false, false, true, true]
        );
    }

    #[test]
    fn non_finite_values_are_clipped_and_ignored() {
        let clipped = stack_clip(&[1.0, f64::NAN, 1.0, 1.0], 3.0, 3);
        assert_eq!(clipped, vec![false, true, false, false]);
    }

    #[test]
    fn frame_clip_mean_std_inclusive_and_cumulative() {
        // mean 0 std 1 over [-1, 1] * 50: σ = 1 keeps all (values on the bounds).
        let mut data: Vec<f32> = (0..100)
            .map(|i| if i % 2 == 0 { -1.0 } else { 1.0 })
            .collect();
        let (mask, b) = clip_frame_mean_std(&data, 1.0, 3, Numerics::Exact);
        assert!(mask.iter().all(|&m| !m));
        assert_eq!((b.lower, b.upper, b.iterations), (-1.0, 1.0, 1));
        data.push(1000.0);
        data.push(f32::INFINITY);
        let (mask, b) = clip_frame_mean_std(&data, 3.0, 3, Numerics::Soxspipe);
        assert!(mask[100] && mask[101]);
        assert_eq!(mask.iter().filter(|&&m| m).count(), 2);
        assert_eq!(b.iterations, 2);
    }

    #[test]
    fn frame_clip_stops_at_maxiters() {
        let mut data = vec![0.0f32; 1000];
        // Round 1: mean 0.105, std 3.16 -> clips 100 only; round 2 then clips 5.
        data[0] = 100.0;
        data[1] = 5.0;
        let (mask, b) = clip_frame_mean_std(&data, 3.0, 1, Numerics::Exact);
        assert_eq!(b.iterations, 1);
        assert!(mask[0] && !mask[1]);
        let (mask, _) = clip_frame_mean_std(&data, 3.0, 5, Numerics::Exact);
        assert!(mask[0] && mask[1]);
    }
}
