//! `exact` numerics' RAW RON of two 16-bit frames, without a frame-sized copy.
//!
//! The difference at a pixel is a function of the two ADU values there, and a bias
//! frame's values crowd into a narrow range. Counting the pairs in a grid over each
//! frame's crowded range (the few pairs outside it listed one by one) gives every
//! difference value with its multiplicity, and the clip's medians come off that short
//! sorted list: the same values a selection over all pixels finds. Only the standard
//! deviation of the survivors, whose float64 sums depend on the order of the pixels,
//! reads the frames again, in pixel order.

use super::{ROUNDS, SIGMA};
use crate::algorithm::AduHistogram;
use crate::algorithm::numerics::{MAD_TO_STD, mean_std_f64_of};

/// Width of each frame's crowded range, ADU: a grid of at most 1024² counts (4 MiB).
const GRID_SIDE: usize = 1024;

/// A 16-bit frame: its ADU values, their electrons and their histogram.
pub struct AduFrame<'a> {
    pub adu: &'a [u16],
    pub table: &'a [f32],
    pub histogram: &'a AduHistogram,
}

impl AduFrame<'_> {
    /// Electrons at `pixel` of the difference `self − other`, as float32.
    #[inline]
    fn minus(&self, other: &AduFrame<'_>, pixel: usize) -> f32 {
        self.table[usize::from(self.adu[pixel])] - other.table[usize::from(other.adu[pixel])]
    }
}

/// RAW RON of `first − second`, bit for bit what clipping a float64 copy of the
/// difference gives ([`super::clip_bounds_f64`] and `mean_std_f64`); `None` when the
/// frames' values are too spread for counting to pay (then the caller copies).
pub fn difference_ron(
    first: &AduFrame<'_>,
    second: &AduFrame<'_>,
    bad: Option<&[bool]>,
) -> Option<f64> {
    let values = counted_differences(first, second)?;
    let (low, high) = clip_bounds(values);
    let (low, high) = (low as f32, high as f32);
    let kept = || {
        (0..first.adu.len())
            .filter(move |&p| !bad.is_some_and(|b| b[p]))
            .map(|p| first.minus(second, p))
            .filter(move |&v| low <= v && v <= high)
    };
    Some(mean_std_f64_of(kept).map_or(f64::NAN, |(_, std)| std / std::f64::consts::SQRT_2))
}

/// Every finite value of the difference once, in increasing order, with how many pixels
/// hold it; `None` when more than one pixel in 16 lies outside the grid.
fn counted_differences(first: &AduFrame<'_>, second: &AduFrame<'_>) -> Option<Vec<(f64, u64)>> {
    let rows = first.histogram.densest_range(GRID_SIDE);
    let cols = second.histogram.densest_range(GRID_SIDE);
    let (low_row, low_col) = (rows.start as u16, cols.start as u16);
    let (height, width) = (rows.len(), cols.len());
    let mut grid = vec![0u32; height * width];
    let mut outside: Vec<f32> = Vec::new();
    let limit = first.adu.len() / 16;
    for (p, (&a, &b)) in first.adu.iter().zip(second.adu).enumerate() {
        let (row, col) = (
            usize::from(a.wrapping_sub(low_row)),
            usize::from(b.wrapping_sub(low_col)),
        );
        if row < height && col < width {
            grid[row * width + col] += 1;
        } else {
            outside.push(first.minus(second, p));
            if outside.len() > limit {
                return None;
            }
        }
    }
    let mut values: Vec<(f32, u64)> = outside.into_iter().map(|v| (v, 1)).collect();
    for (row, counts) in grid.chunks_exact(width.max(1)).enumerate() {
        let a = first.table[rows.start + row];
        for (col, &count) in counts.iter().enumerate() {
            if count != 0 {
                values.push((a - second.table[cols.start + col], u64::from(count)));
            }
        }
    }
    values.retain(|(v, _)| v.is_finite());
    values.sort_unstable_by(|x, y| x.0.total_cmp(&y.0));
    let mut merged: Vec<(f64, u64)> = Vec::with_capacity(values.len());
    for (v, count) in values {
        let v = f64::from(v);
        match merged.last_mut() {
            Some((last, total)) if last.to_bits() == v.to_bits() => *total += count,
            _ => merged.push((v, count)),
        }
    }
    Some(merged)
}

/// The median of counted values sorted in increasing (total) order, as
/// [`crate::algorithm::numerics::median_in_place`] finds it among the values spelled out.
fn median(values: &[(f64, u64)], total: u64) -> Option<f64> {
    let at = |rank: u64| {
        let mut seen = 0;
        values.iter().find_map(|&(v, count)| {
            seen += count;
            (seen > rank).then_some(v)
        })
    };
    match total {
        0 => None,
        n if n % 2 == 1 => at(n / 2),
        n => Some(0.5 * (at(n / 2)? + at(n / 2 - 1)?)),
    }
}

/// [`super::clip_bounds_f64`] on counted values.
fn clip_bounds(mut values: Vec<(f64, u64)>) -> (f64, f64) {
    let total = |values: &[(f64, u64)]| values.iter().map(|&(_, c)| c).sum::<u64>();
    let mut deviations: Vec<(f64, u64)> = Vec::with_capacity(values.len());
    let (mut low, mut high) = (f64::NAN, f64::NAN);
    for _ in 0..ROUNDS {
        let n = total(&values);
        let Some(centre) = median(&values, n) else {
            return (f64::NEG_INFINITY, f64::INFINITY);
        };
        deviations.clear();
        deviations.extend(values.iter().map(|&(v, c)| ((v - centre).abs(), c)));
        deviations.sort_unstable_by(|x, y| x.0.total_cmp(&y.0));
        let mad = median(&deviations, n).unwrap_or(f64::NAN);
        let half_width = mad * MAD_TO_STD * f64::from(SIGMA);
        (low, high) = (centre - half_width, centre + half_width);
        values.retain(|&(v, _)| low <= v && v <= high);
        if total(&values) == n {
            break;
        }
    }
    (low, high)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithm::{Frame, Samples, electron_table, image};
    use crate::params::Numerics;
    use rand::{Rng, SeedableRng};

    fn frame(adu: Vec<u16>, gain: f64) -> Frame {
        Frame {
            name: String::new(),
            samples: Samples::adu(image(1, adu.len(), adu), electron_table(gain)),
            non_finite: 0,
        }
    }

    /// A bias-like frame: `level` ± a few ADU, a few far-off values (hot pixels, zeros),
    /// and `spread` ADU of uniform values for a share `wide` of the pixels.
    fn bias(seed: u64, n: usize, level: u16, wide: f64, spread: u16) -> Vec<u16> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| match rng.random_range(0..1000) {
                0 => 65_000,
                1 => 0,
                _ if rng.random_bool(wide) => rng.random_range(0..spread),
                _ => level - 6 + (0..4).map(|_| rng.random_range(0..4u16)).sum::<u16>(),
            })
            .collect()
    }

    fn copied(a: &Frame, b: &Frame, bad: Option<&[bool]>) -> f64 {
        super::super::copied_difference_ron(a, b, bad, Numerics::Exact)
    }

    fn counted(a: &Frame, b: &Frame, bad: Option<&[bool]>) -> Option<f64> {
        let (a, b) = (super::super::adu_frame(a)?, super::super::adu_frame(b)?);
        difference_ron(&a, &b, bad)
    }

    #[test]
    fn counting_the_pairs_gives_the_copys_bits() {
        for (seed, n, wide, spread) in [
            (1, 20_001, 0.0, 1),
            (2, 20_000, 0.0, 1),
            (3, 30_000, 0.03, 5000),
            (4, 9_999, 0.05, 1500),
            (5, 7, 0.0, 1),
        ] {
            let a = frame(bias(seed, n, 1000, wide, spread), 1.37);
            let b = frame(bias(seed + 100, n, 1003, wide, spread), 1.41);
            let bad: Vec<bool> = (0..n).map(|p| p % 97 == 3).collect();
            for mask in [None, Some(&bad[..])] {
                let want = copied(&a, &b, mask);
                let got = counted(&a, &b, mask).expect("crowded enough to count");
                assert_eq!(got.to_bits(), want.to_bits(), "seed {seed}: {got} {want}");
            }
        }
    }

    #[test]
    fn equal_frames_and_spread_ones() {
        let flat = frame(vec![1200; 5000], 2.0);
        assert_eq!(
            counted(&flat, &flat, None).map(f64::to_bits),
            Some(copied(&flat, &flat, None).to_bits())
        );
        // More than one pixel in 16 outside the grid: left to the copy, same answer.
        let a = frame(bias(7, 20_000, 3000, 0.5, 20_000), 1.0);
        let b = frame(bias(8, 20_000, 3000, 0.5, 20_000), 1.0);
        assert_eq!(counted(&a, &b, None), None);
        assert_eq!(
            super::super::difference_ron(&a, &b, None, Numerics::Exact).to_bits(),
            copied(&a, &b, None).to_bits()
        );
    }

    #[test]
    fn densest_range_holds_the_crowd() {
        let adu: Vec<u16> = (0..1000u16)
            .map(|i| 500 + i % 10)
            .chain([7, 9000])
            .collect();
        let histogram = AduHistogram::of(&adu);
        assert_eq!(histogram.densest_range(10), 500..510);
        assert_eq!(histogram.densest_range(100_000), 7..9001);
    }
}
