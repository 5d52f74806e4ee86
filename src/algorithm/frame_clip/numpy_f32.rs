//! The whole-frame clip of soxspipe 0.19 with soxspipe numerics. soxspipe 0.19 requires
//! astropy 7.2, whose `sigma_clip` hands float32 data to numpy's `nanmean`/`nanstd`
//! (bottleneck only serves float64): each round sums the surviving values, compacted, with
//! numpy's float32 pairwise sum, and the bounds are float32.
//!
//! The pairwise tree depends on where each value sits in the compacted array, so the sums
//! must see the survivors compacted. They need not be stored, though: removing values
//! round after round keeps exactly the finite values inside every round's bounds, i.e.
//! inside one float32 range, so each pass streams the frame through that range into one
//! numpy-buffer-sized block and sums the block when it is full. A frame is read twice a
//! round and never copied.

use super::ClipBounds;
use crate::algorithm::numerics::{NUMPY_BUFFER, numpy_pairwise};

/// astropy 7.2's `sigma_clip(data, sigma, maxiters, cenfunc="mean", stdfunc="std")` on
/// float32 data: the final bounds and the rounds run. A value is masked where the bounds
/// [`ClipBounds::rejects`] it (non-finite, or outside the last bounds).
pub(super) fn clip(data: &[f32], sigma: f64, max_iterations: u32) -> ClipBounds {
    let sigma = sigma as f32;
    let mut bounds = ClipBounds::UNCLIPPED;
    // The survivors are the values in `kept`: at first every finite one.
    let mut kept = (f32::MIN, f32::MAX);
    let (mut sum, mut n) = kept_sum(data, kept);
    while bounds.iterations < max_iterations {
        bounds.iterations += 1;
        if n == 0 {
            // numpy's mean of nothing is NaN: the bounds then restrict nothing more.
            bounds.lower = f64::NAN;
            bounds.upper = f64::NAN;
            break;
        }
        // `np.nanmean`: the float32 sum divided by the count in float64, rounded to float32.
        let mean = (f64::from(sum) / n as f64) as f32;
        let variance = (f64::from(squares_sum(data, kept, mean)) / n as f64) as f32;
        let half_width = variance.sqrt() * sigma;
        let (low, high) = (mean - half_width, mean + half_width);
        bounds.lower = f64::from(low);
        bounds.upper = f64::from(high);
        kept = if low.is_nan() || high.is_nan() {
            // No value is inside a NaN bound.
            (f32::INFINITY, f32::NEG_INFINITY)
        } else {
            (kept.0.max(low), kept.1.min(high))
        };
        if bounds.iterations == max_iterations {
            break;
        }
        let (next_sum, next_n) = kept_sum(data, kept);
        if next_n == n {
            break; // the round removed nothing
        }
        (sum, n) = (next_sum, next_n);
    }
    bounds
}

/// numpy's float32 sum of the values of `data` inside `kept` as if they were compacted
/// into an array, and how many there are.
fn kept_sum(data: &[f32], kept: (f32, f32)) -> (f32, usize) {
    let mut total = 0f32;
    let count = for_each_kept_block(data, kept, |block| total += numpy_pairwise(block));
    (total, count)
}

/// numpy's float32 sum of `(v − mean)²` over the values of `data` inside `kept`, compacted.
fn squares_sum(data: &[f32], kept: (f32, f32), mean: f32) -> f32 {
    let mut squares = [0f32; NUMPY_BUFFER];
    let mut total = 0f32;
    for_each_kept_block(data, kept, |block| {
        let squares = &mut squares[..block.len()];
        for (out, &v) in squares.iter_mut().zip(block) {
            let d = v - mean;
            *out = d * d;
        }
        total += numpy_pairwise(squares);
    });
    total
}

/// Hands `each` the values of `data` inside `low..=high` in order, in the blocks numpy's
/// sum cuts a compacted array into (all of [`NUMPY_BUFFER`] values but the last), and
/// returns how many there were.
fn for_each_kept_block(data: &[f32], (low, high): (f32, f32), each: impl FnMut(&[f32])) -> usize {
    /// Values tested at once: runs that keep them all (nearly every run of a bias
    /// frame) are copied whole.
    const RUN: usize = 16;
    let inside = |v: f32| low <= v && v <= high;
    let mut blocks = Blocks {
        block: [0f32; NUMPY_BUFFER],
        filled: 0,
        handed: 0,
        each,
    };
    // While nothing has been left out, numpy's blocks are the frame's own: they are
    // handed on where they lie (the first round's sums, over every finite value, mostly).
    let mut whole = 0;
    for block in data.chunks_exact(NUMPY_BUFFER) {
        if !block.iter().fold(true, |all, &v| all & inside(v)) {
            break;
        }
        (blocks.each)(block);
        whole += NUMPY_BUFFER;
    }
    blocks.handed = whole;
    let data = &data[whole..];
    let mut runs = data.chunks_exact(RUN);
    for run in &mut runs {
        // A fold without short cut, so that the tests vectorise.
        let all_inside = run.iter().fold(true, |all, &v| all & inside(v));
        if all_inside && blocks.filled + RUN <= NUMPY_BUFFER {
            blocks.block[blocks.filled..blocks.filled + RUN].copy_from_slice(run);
            blocks.filled += RUN;
            blocks.hand_on_when_full();
        } else {
            for &v in run {
                blocks.push_if(v, inside(v));
            }
        }
    }
    for &v in runs.remainder() {
        blocks.push_if(v, inside(v));
    }
    let Blocks {
        block,
        filled,
        handed,
        mut each,
    } = blocks;
    if filled > 0 {
        each(&block[..filled]);
    }
    handed + filled
}

/// The compacted values being gathered into numpy-sized blocks.
struct Blocks<F: FnMut(&[f32])> {
    block: [f32; NUMPY_BUFFER],
    filled: usize,
    /// Values already handed on in full blocks.
    handed: usize,
    each: F,
}

impl<F: FnMut(&[f32])> Blocks<F> {
    /// Appends `v` if `keep` (written either way, without a branch on the data).
    #[inline(always)]
    fn push_if(&mut self, v: f32, keep: bool) {
        self.block[self.filled] = v;
        self.filled += usize::from(keep);
        self.hand_on_when_full();
    }

    #[inline(always)]
    fn hand_on_when_full(&mut self) {
        if self.filled == NUMPY_BUFFER {
            (self.each)(&self.block[..]);
            self.handed += NUMPY_BUFFER;
            self.filled = 0;
        }
    }
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

    /// astropy's loop as written: compact the survivors, sum them with numpy's sum.
    fn compacting_clip(data: &[f32], sigma: f64, max_iterations: u32) -> ClipBounds {
        use crate::algorithm::numerics::numpy_sum;
        let sigma = sigma as f32;
        let mut bounds = ClipBounds::UNCLIPPED;
        let mut work: Vec<f32> = data.iter().copied().filter(|v| v.is_finite()).collect();
        while bounds.iterations < max_iterations {
            bounds.iterations += 1;
            let n = work.len();
            if n == 0 {
                (bounds.lower, bounds.upper) = (f64::NAN, f64::NAN);
                break;
            }
            let mean = (f64::from(numpy_sum(&work)) / n as f64) as f32;
            let squares: Vec<f32> = work.iter().map(|v| (v - mean) * (v - mean)).collect();
            let variance = (f64::from(numpy_sum(&squares)) / n as f64) as f32;
            let half_width = variance.sqrt() * sigma;
            let (low, high) = (mean - half_width, mean + half_width);
            (bounds.lower, bounds.upper) = (f64::from(low), f64::from(high));
            work.retain(|v| low <= *v && *v <= high);
            if work.len() == n {
                break;
            }
        }
        bounds
    }

    #[test]
    fn streaming_equals_compacting() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        // Lengths across numpy's 8192-value blocks and the 16-value runs; skewed data,
        // so the mean moves and later bounds are not inside earlier ones everywhere.
        for len in [0, 7, 100, 8191, 8192, 8193, 40_000, 100_003] {
            let data: Vec<f32> = (0..len)
                .map(|_| match rng.random_range(0..200) {
                    0 => f32::NAN,
                    1 => f32::INFINITY,
                    2..=5 => rng.random_range(2000.0..9000.0),
                    _ => 1000.0 + rng.random_range(-30.0f32..30.0) * rng.random::<f32>(),
                })
                .collect();
            // The same values on whole ADU steps of a gain, as a bias frame holds them.
            let adu: Vec<f32> = data
                .iter()
                .map(|&v| {
                    if v.is_finite() {
                        (v / 0.6).round() * 0.6
                    } else {
                        v
                    }
                })
                .collect();
            for (sigma, rounds, data) in [(3.0, 3), (1.0, 10), (0.2, 5), (2.5, 1), (f64::NAN, 3)]
                .into_iter()
                .flat_map(|(sigma, rounds)| [(sigma, rounds, &data), (sigma, rounds, &adu)])
            {
                let (streamed, compacted) = (
                    clip(data, sigma, rounds),
                    compacting_clip(data, sigma, rounds),
                );
                let same = |a: f64, b: f64| a == b || (a.is_nan() && b.is_nan());
                assert!(
                    same(streamed.lower, compacted.lower)
                        && same(streamed.upper, compacted.upper)
                        && streamed.iterations == compacted.iterations,
                    "{len} values, σ {sigma} ×{rounds}: {streamed:?} vs {compacted:?}"
                );
            }
        }
    }

    #[test]
    fn nothing_finite_leaves_nan_bounds() {
        let bounds = clip(&[f32::NAN, f32::INFINITY], 3.0, 3);
        assert!(bounds.lower.is_nan() && bounds.upper.is_nan());
        assert!(bounds.rejects(f32::NAN) && !bounds.rejects(1.0));
    }
}
