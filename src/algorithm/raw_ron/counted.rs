//! The RAW RON of two 16-bit frames, without a frame-sized copy.
//!
//! The difference at a pixel is a function of the two ADU values there, and a bias
//! frame's values crowd into a narrow range. Counting the pairs in a grid over each
//! frame's crowded range (the few pairs outside it listed one by one) gives every
//! difference value with its multiplicity, and the clip's medians come off that short
//! sorted list: the same values a selection over all pixels finds, in either numerics.
//! Only the standard deviation of the survivors, whose sums depend on the order of the
//! pixels, reads the frames again, in pixel order.
//!
//! A 16-bit frame kept as float32 electrons (soxspipe numerics keep them so) is counted
//! the same way: each pixel's ADU is found back from its electrons and taken only when
//! the table turns it into exactly those electrons. A pixel that is not is listed with
//! the others outside the grid, so the values counted are always the frames' own.

use std::ops::Range;

use super::{ROUNDS, SIGMA};
use crate::algorithm::numerics::{
    MAD_TO_STD, counted_middle, mean_std_f64_of, numpy_masked_mean_std_of, numpy_median_of_middle,
};
use crate::algorithm::{AduHistogram, ElectronTable};
use crate::params::Numerics;

/// Width of each frame's crowded range, ADU: a grid of at most 1024² counts (4 MiB).
const GRID_SIDE: usize = 1024;

/// Pixels a frame kept as electrons finds its crowded range from, spread over the frame.
const RANGE_SAMPLE: usize = 4096;

/// A frame whose pixels are, mostly, a table's electrons for 16-bit ADU values.
pub trait Tabled: Sync {
    fn len(&self) -> usize;
    /// Electrons at `pixel`.
    fn electrons(&self, pixel: usize) -> f32;
    /// The ADU value whose electrons `pixel` holds, exactly; `None` for any other value.
    fn adu(&self, pixel: usize) -> Option<u16>;
    /// The electrons of each ADU value.
    fn table(&self) -> &[f32];
    /// `width` consecutive ADU values that hold most of the pixels.
    fn crowded(&self, width: usize) -> Range<usize>;
}

/// A 16-bit frame: its ADU values, their electrons and their histogram.
pub struct AduFrame<'a> {
    pub adu: &'a [u16],
    pub table: &'a [f32],
    pub histogram: &'a AduHistogram,
}

impl Tabled for AduFrame<'_> {
    fn len(&self) -> usize {
        self.adu.len()
    }

    #[inline]
    fn electrons(&self, pixel: usize) -> f32 {
        self.table[usize::from(self.adu[pixel])]
    }

    #[inline]
    fn adu(&self, pixel: usize) -> Option<u16> {
        Some(self.adu[pixel])
    }

    fn table(&self) -> &[f32] {
        self.table
    }

    fn crowded(&self, width: usize) -> Range<usize> {
        self.histogram.densest_range(width)
    }
}

/// A frame kept as float32 electrons, and the table 16-bit values would have been turned
/// into electrons by.
pub struct ElectronFrame<'a> {
    pub electrons: &'a [f32],
    pub table: &'a ElectronTable,
}

impl Tabled for ElectronFrame<'_> {
    fn len(&self) -> usize {
        self.electrons.len()
    }

    #[inline]
    fn electrons(&self, pixel: usize) -> f32 {
        self.electrons[pixel]
    }

    #[inline]
    fn adu(&self, pixel: usize) -> Option<u16> {
        self.table.adu_of(self.electrons[pixel])
    }

    fn table(&self) -> &[f32] {
        self.table
    }

    fn crowded(&self, width: usize) -> Range<usize> {
        let step = (self.len() / RANGE_SAMPLE).max(1);
        let mut sample: Vec<u16> = (0..self.len())
            .step_by(step)
            .filter_map(|p| self.adu(p))
            .collect();
        let middle = sample.len() / 2;
        let centre = match sample.is_empty() {
            true => 0,
            false => usize::from(*sample.select_nth_unstable(middle).1),
        };
        let width = width.min(1 << 16);
        let start = centre.saturating_sub(width / 2).min((1 << 16) - width);
        start..start + width
    }
}

/// RAW RON of `first − second`, bit for bit what clipping a copy of the difference gives
/// in `numerics` ([`super::clip_bounds_f32`] and `numpy_masked_mean_std`, or
/// [`super::clip_bounds_f64`] and `mean_std_f64`); `None` when the frames' values are
/// too spread, or too few a table's, for counting to pay (then the caller copies).
pub fn difference_ron<F: Tabled>(
    first: &F,
    second: &F,
    bad: Option<&[bool]>,
    numerics: Numerics,
) -> Option<f64> {
    let values = counted_differences(first, second)?;
    let (low, high) = match numerics {
        Numerics::Soxspipe => clip_bounds_f32(&values),
        Numerics::Exact => {
            let values = values.into_iter().map(|(v, c)| (f64::from(v), c)).collect();
            let (low, high) = clip_bounds(values);
            (low as f32, high as f32)
        }
    };
    let good = move |p: usize| !bad.is_some_and(|b| b[p]);
    let minus = |p: usize| first.electrons(p) - second.electrons(p);
    let std = match numerics {
        Numerics::Soxspipe => numpy_masked_mean_std_of(first.len(), |p| {
            let v = minus(p);
            (good(p) && v.is_finite() && low <= v && v <= high).then_some(v)
        }),
        Numerics::Exact => mean_std_f64_of(|| {
            (0..first.len())
                .filter(move |&p| good(p))
                .map(minus)
                .filter(move |&v| low <= v && v <= high)
        }),
    };
    Some(std.map_or(f64::NAN, |(_, std)| std / std::f64::consts::SQRT_2))
}

/// Every finite value of the difference once, in increasing (total) order, with how many
/// pixels hold it; `None` when more than one pixel in 16 lies outside the grid.
fn counted_differences<F: Tabled>(first: &F, second: &F) -> Option<Vec<(f32, u64)>> {
    let rows = first.crowded(GRID_SIDE);
    let cols = second.crowded(GRID_SIDE);
    let (height, width) = (rows.len(), cols.len());
    let mut grid = vec![0u32; height * width];
    let mut outside: Vec<f32> = Vec::new();
    let limit = first.len() / 16;
    for p in 0..first.len() {
        let cell = first.adu(p).zip(second.adu(p)).and_then(|(a, b)| {
            let (row, col) = (
                usize::from(a).wrapping_sub(rows.start),
                usize::from(b).wrapping_sub(cols.start),
            );
            (row < height && col < width).then_some(row * width + col)
        });
        match cell {
            Some(cell) => grid[cell] += 1,
            None => {
                outside.push(first.electrons(p) - second.electrons(p));
                if outside.len() > limit {
                    return None;
                }
            }
        }
    }
    let mut values: Vec<(f32, u64)> = outside.into_iter().map(|v| (v, 1)).collect();
    let (first_table, second_table) = (first.table(), second.table());
    for (row, counts) in grid.chunks_exact(width.max(1)).enumerate() {
        let a = first_table[rows.start + row];
        for (col, &count) in counts.iter().enumerate() {
            if count != 0 {
                values.push((a - second_table[cols.start + col], u64::from(count)));
            }
        }
    }
    values.retain(|(v, _)| v.is_finite());
    Some(merged(values))
}

/// Counted values sorted in increasing (total) order, each value once.
fn merged(mut values: Vec<(f32, u64)>) -> Vec<(f32, u64)> {
    values.sort_unstable_by(|x, y| x.0.total_cmp(&y.0));
    let mut merged: Vec<(f32, u64)> = Vec::with_capacity(values.len());
    for (v, count) in values {
        match merged.last_mut() {
            Some((last, total)) if last.to_bits() == v.to_bits() => *total += count,
            _ => merged.push((v, count)),
        }
    }
    merged
}

/// [`super::clip_bounds_f32`] on counted values (finite, in increasing order): the same
/// float32 medians and MADs, read off the counts instead of selected among the pixels.
fn clip_bounds_f32(values: &[(f32, u64)]) -> (f32, f32) {
    let inside = |(low, high): (f32, f32)| {
        values
            .iter()
            .copied()
            .filter(move |&(v, _)| low <= v && v <= high)
    };
    super::clip_rounds_f32(
        |kept| counted_middle(&inside(kept).collect::<Vec<_>>()),
        |kept, median, count| {
            let deviations = merged(inside(kept).map(|(v, c)| ((v - median).abs(), c)).collect());
            counted_middle(&deviations).map_or(f32::NAN, |(lower, upper, _)| {
                numpy_median_of_middle(lower, upper, count)
            })
        },
    )
}

/// The median of counted values sorted in increasing (total) order, as
/// [`crate::algorithm::numerics::median_in_place`] finds it among the values spelled out.
fn median(values: &[(f64, u64)]) -> Option<f64> {
    let (lower, upper, n) = counted_middle(values)?;
    Some(if n % 2 == 1 {
        upper
    } else {
        0.5 * (upper + lower)
    })
}

/// [`super::clip_bounds_f64`] on counted values.
fn clip_bounds(mut values: Vec<(f64, u64)>) -> (f64, f64) {
    let total = |values: &[(f64, u64)]| values.iter().map(|&(_, c)| c).sum::<u64>();
    let mut deviations: Vec<(f64, u64)> = Vec::with_capacity(values.len());
    let (mut low, mut high) = (f64::NAN, f64::NAN);
    for _ in 0..ROUNDS {
        let n = total(&values);
        let Some(centre) = median(&values) else {
            return (f64::NEG_INFINITY, f64::INFINITY);
        };
        deviations.clear();
        deviations.extend(values.iter().map(|&(v, c)| ((v - centre).abs(), c)));
        deviations.sort_unstable_by(|x, y| x.0.total_cmp(&y.0));
        let mad = median(&deviations).unwrap_or(f64::NAN);
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

    const BOTH: [Numerics; 2] = [Numerics::Soxspipe, Numerics::Exact];

    fn copied(a: &Frame, b: &Frame, bad: Option<&[bool]>, numerics: Numerics) -> f64 {
        super::super::copied_difference_ron(a, b, bad, numerics)
    }

    fn counted(a: &Frame, b: &Frame, bad: Option<&[bool]>, numerics: Numerics) -> Option<f64> {
        let (a, b) = (super::super::adu_frame(a)?, super::super::adu_frame(b)?);
        difference_ron(&a, &b, bad, numerics)
    }

    #[test]
    fn counting_the_pairs_gives_the_copys_bits() {
        for (seed, n, wide, spread) in [
            (1, 20_001, 0.0, 1),
            (2, 20_000, 0.0, 1),
            (3, 30_000, 0.03, 5000),
            (4, 9_999, 0.05, 1500),
            (5, 7, 0.0, 1),
            (6, 20_000, 1.0, 1000),
            (7, 8, 1.0, 1000),
            (8, 10, 1.0, 1000),
        ] {
            let a = frame(bias(seed, n, 1000, wide, spread), 1.37);
            let b = frame(bias(seed + 100, n, 1003, wide, spread), 1.41);
            let bad: Vec<bool> = (0..n).map(|p| p % 97 == 3).collect();
            for (mask, numerics) in [None, Some(&bad[..])]
                .into_iter()
                .flat_map(|m| BOTH.map(|n| (m, n)))
            {
                let want = copied(&a, &b, mask, numerics);
                let got = counted(&a, &b, mask, numerics).expect("crowded enough to count");
                assert_eq!(
                    got.to_bits(),
                    want.to_bits(),
                    "seed {seed}, {numerics:?}: {got} {want}"
                );
            }
        }
    }

    /// `adu`'s electrons kept as float32 (as soxspipe numerics keep a 16-bit frame), with
    /// `touched` of every thousand pixels moved off the table's values.
    fn electrons(adu: &[u16], gain: f64, touched: usize) -> Frame {
        let table = electron_table(gain);
        let values: Vec<f32> = adu
            .iter()
            .enumerate()
            .map(|(p, &a)| match p % 1000 < touched {
                true => table[usize::from(a)] + 0.25,
                false => table[usize::from(a)],
            })
            .collect();
        Frame {
            name: String::new(),
            samples: Samples::Electrons(image(1, values.len(), values)),
            non_finite: 0,
        }
    }

    fn electron_frame<'a>(frame: &'a Frame, table: &'a ElectronTable) -> ElectronFrame<'a> {
        match &frame.samples {
            Samples::Electrons(e) => ElectronFrame {
                electrons: crate::algorithm::standard(e),
                table,
            },
            Samples::Adu { .. } => unreachable!("made as electrons"),
        }
    }

    #[test]
    fn frames_kept_as_electrons_count_as_their_adu_would() {
        let gain = 1.37;
        let table = electron_table(gain);
        for (seed, n, wide, spread) in [
            (11, 30_000, 0.03, 5000),
            (12, 9_999, 0.0, 1),
            (13, 20_000, 1.0, 1000),
        ] {
            let (adu_a, adu_b) = (
                bias(seed, n, 1000, wide, spread),
                bias(seed + 1, n, 1004, wide, spread),
            );
            let bad: Vec<bool> = (0..n).map(|p| p % 89 == 5).collect();
            // All on the table; a few pixels off it; too many off it to count.
            for touched in [0, 3, 100] {
                let (a, b) = (electrons(&adu_a, gain, touched), electrons(&adu_b, gain, 0));
                for (mask, numerics) in [None, Some(&bad[..])]
                    .into_iter()
                    .flat_map(|m| BOTH.map(|n| (m, n)))
                {
                    let want = copied(&a, &b, mask, numerics);
                    let (ea, eb) = (electron_frame(&a, &table), electron_frame(&b, &table));
                    let got = difference_ron(&ea, &eb, mask, numerics);
                    match touched {
                        100 => assert_eq!(got, None, "seed {seed}"),
                        _ => assert_eq!(
                            got.map(f64::to_bits),
                            Some(want.to_bits()),
                            "seed {seed}, {touched} ‰ off the table, {numerics:?}"
                        ),
                    }
                    let through =
                        super::super::difference_ron(&a, &b, mask, numerics, Some(&table));
                    assert_eq!(through.to_bits(), want.to_bits());
                }
            }
        }
    }

    #[test]
    fn counted_float32_bounds_are_the_selections() {
        // Spread values with ties, far-off ones the first round removes, and pairs whose
        // middle values differ (even counts), where a median's half sum shows.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(21);
        for n in [2usize, 8, 9, 10, 101, 5000] {
            let values: Vec<f32> = (0..n)
                .map(|_| match rng.random_range(0..50) {
                    0 => 1.0e6,
                    1 => -3.0e5,
                    _ => rng.random_range(-400..400) as f32 * 0.37,
                })
                .collect();
            let counted = merged(values.iter().map(|&v| (v, 1)).collect());
            let finite = crate::algorithm::numerics::TopCounts::of(values.iter().copied());
            let (low, high) = clip_bounds_f32(&counted);
            let (want_low, want_high) = super::super::clip_bounds_f32(&values, finite);
            assert_eq!(
                (low.to_bits(), high.to_bits()),
                (want_low.to_bits(), want_high.to_bits()),
                "n {n}"
            );
        }
    }

    #[test]
    fn equal_frames_and_spread_ones() {
        let flat = frame(vec![1200; 5000], 2.0);
        // More than one pixel in 16 outside the grid: left to the copy, same answer.
        let a = frame(bias(7, 20_000, 3000, 0.5, 20_000), 1.0);
        let b = frame(bias(8, 20_000, 3000, 0.5, 20_000), 1.0);
        for numerics in BOTH {
            assert_eq!(
                counted(&flat, &flat, None, numerics).map(f64::to_bits),
                Some(copied(&flat, &flat, None, numerics).to_bits())
            );
            assert_eq!(counted(&a, &b, None, numerics), None);
            assert_eq!(
                super::super::difference_ron(&a, &b, None, numerics, None).to_bits(),
                copied(&a, &b, None, numerics).to_bits()
            );
        }
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
