//! Read noise from the differences of consecutive raw frames, the way ESO's CPL measures it
//! (`cpl_flux_get_noise_window`).
//!
//! A single-frame RON counts the detector's fixed pattern (gradients, column structure) as
//! noise; subtracting two frames cancels it, and dividing by √2 turns the difference back
//! into one frame's noise. Taking the median over many small random windows, rather than
//! one global std, keeps cosmic rays, hot pixels and bad columns from inflating the result.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::algorithm::numerics::median_in_place;

/// CPL's default window half size: 9×9 windows.
const HALF: usize = 4;
const SIDE: usize = 2 * HALF + 1;
/// CPL's default number of windows per difference image.
const WINDOWS_PER_PAIR: usize = 100;
/// Fixed so that the same frames give the same RON on every run and machine.
const SEED: u64 = 0x6D62_6961_735F_726E;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DifferenceRon {
    /// Median of the window stdevs, in the frames' units (e-).
    pub ron: f64,
    /// Population std of the window stdevs: how much the RON varies over the detector.
    pub ronerr: f64,
    /// Windows that survived (those containing a non-finite pixel are dropped).
    pub windows: usize,
}

impl DifferenceRon {
    /// The Gaussian σ this RON implies. The median of population standard deviations of
    /// n = 81 values is below σ: s² is σ²·χ²(n−1)/n, and the median of χ²(k) is about
    /// k(1 − 2/9k)³ (Wilson–Hilferty), so the median s is 0.9897 σ. The QC value keeps
    /// CPL's definition; clipping at "k × the read noise" needs σ itself, or on integer
    /// data its bounds slide across whole ADU steps.
    pub fn sigma(&self) -> f64 {
        let n = ((2 * HALF + 1) * (2 * HALF + 1)) as f64;
        let k = n - 1.0;
        let median_chi2_over_n = k * (1.0 - 2.0 / (9.0 * k)).powi(3) / n;
        self.ron / median_chi2_over_n.sqrt()
    }
}

/// RON of `frames` row-major `rows × cols` frames in observing order, pooled over the
/// N−1 consecutive pairs; `value(frame, pixel)` reads one pixel.
///
/// Consecutive pairs, not arbitrary ones, so that a slow drift of the bias level between
/// distant frames does not leak into the noise. Pixels are read through `value` because
/// only 100 windows per pair are visited: a caller whose frames are stored raw converts
/// those pixels alone, never whole frames. `value` must accept every pixel index below
/// `rows × cols`. `None` when there are fewer than two frames, the image is smaller than
/// one 9×9 window, or every window contained a non-finite pixel.
pub fn difference_ron(
    frames: usize,
    rows: usize,
    cols: usize,
    value: impl Fn(usize, usize) -> f32,
) -> Option<DifferenceRon> {
    if frames < 2 || rows < SIDE || cols < SIDE {
        return None;
    }
    // One generator for the whole call: each pair gets its own windows, yet the result
    // depends only on the frames.
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let mut stdevs = Vec::with_capacity((frames - 1) * WINDOWS_PER_PAIR);
    for first in 0..frames - 1 {
        for _ in 0..WINDOWS_PER_PAIR {
            // Centres at least HALF pixels from every edge, so the window lies inside.
            let top = rng.random_range(HALF..rows - HALF) - HALF;
            let left = rng.random_range(HALF..cols - HALF) - HALF;
            let pixel = |r: usize, c: usize| (top + r) * cols + left + c;
            let window = |r, c| (value(first, pixel(r, c)), value(first + 1, pixel(r, c)));
            if let Some(s) = window_std(window) {
                stdevs.push(s);
            }
        }
    }
    let windows = stdevs.len();
    let (_, ronerr) = mean_std(&stdevs)?;
    let ron = median_in_place(&mut stdevs)?;
    Some(DifferenceRon {
        ron,
        ronerr,
        windows,
    })
}

/// Population std (ddof = 0, as CPL) of (a − b)/√2 over one window, whose pixel pairs
/// `pair(row, col)` gives in window coordinates; `None` if any pixel is not finite.
fn window_std(pair: impl Fn(usize, usize) -> (f32, f32)) -> Option<f64> {
    let mut d = [0f64; SIDE * SIDE];
    for (r, out) in d.chunks_exact_mut(SIDE).enumerate() {
        for (c, o) in out.iter_mut().enumerate() {
            let (x, y) = pair(r, c);
            if !(x.is_finite() && y.is_finite()) {
                return None;
            }
            *o = (f64::from(x) - f64::from(y)) / std::f64::consts::SQRT_2;
        }
    }
    mean_std(&d).map(|(_, s)| s)
}

/// Two-pass mean and population std; `None` for no values.
fn mean_std(values: &[f64]) -> Option<(f64, f64)> {
    if values.is_empty() {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    Some((mean, var.sqrt()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_distr::{Distribution, Normal};

    /// The slice form the tests think in.
    fn ron(frames: &[&[f32]], rows: usize, cols: usize) -> Option<DifferenceRon> {
        difference_ron(frames.len(), rows, cols, |f, p| frames[f][p])
    }

    fn noisy_frame(rows: usize, cols: usize, sigma: f64, seed: u64) -> Vec<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let normal = Normal::new(1000.0, sigma).unwrap();
        (0..rows * cols)
            .map(|_| normal.sample(&mut rng) as f32)
            .collect()
    }

    #[test]
    fn only_the_windows_are_read() {
        let (rows, cols, frames) = (256, 256, 4);
        let reads = std::cell::Cell::new(0usize);
        let r = difference_ron(frames, rows, cols, |f, p| {
            reads.set(reads.get() + 1);
            (f * rows * cols + p) as f32
        })
        .unwrap();
        assert_eq!(r.windows, 300);
        // Two pixels per window pixel per pair: far from the 262 144 of whole frames.
        assert_eq!(reads.get(), 300 * 81 * 2);
    }

    #[test]
    fn nine_by_nine_has_one_window_with_the_population_std() {
        // Only one window fits, so all 100 draws see the same pixels.
        let a: Vec<f32> = (0..81).map(|p| 3.0 * (p % 2) as f32).collect();
        let b = vec![0f32; 81];
        let r = ron(&[&a, &b], 9, 9).unwrap();
        // 40 of the 81 values are 3/√2, the rest 0: std = 3/√2 · √(40·41)/81.
        let expected = 3.0 / 2f64.sqrt() * (40.0f64 * 41.0).sqrt() / 81.0;
        assert!((r.ron - expected).abs() < 1e-12, "{r:?}");
        assert!(r.ronerr.abs() < 1e-12, "{r:?}");
        assert_eq!(r.windows, 100);
    }

    #[test]
    fn gaussian_noise_gives_sigma() {
        let (rows, cols) = (512, 512);
        let a = noisy_frame(rows, cols, 5.0, 1);
        let b = noisy_frame(rows, cols, 5.0, 2);
        let r = ron(&[&a, &b], rows, cols).unwrap();
        assert!((r.ron - 5.0).abs() < 0.03 * 5.0, "{r:?}");
        // The std of an 81-sample std is about σ/√(2·81) ≈ 0.39.
        assert!(r.ronerr > 0.2 && r.ronerr < 0.6, "{r:?}");
        assert_eq!(r.windows, 100);
    }

    #[test]
    fn every_consecutive_pair_contributes() {
        let frames: Vec<Vec<f32>> = (0..4).map(|s| noisy_frame(32, 40, 2.0, s)).collect();
        let refs: Vec<&[f32]> = frames.iter().map(Vec::as_slice).collect();
        let r = ron(&refs, 32, 40).unwrap();
        assert_eq!(r.windows, 300);
    }

    #[test]
    fn fixed_pattern_cancels() {
        let (rows, cols) = (128, 96);
        let a = noisy_frame(rows, cols, 5.0, 3);
        let b = noisy_frame(rows, cols, 5.0, 4);
        let plain = ron(&[&a, &b], rows, cols).unwrap();
        let pattern = |p: usize| {
            let (i, j) = ((p / cols) as f32, (p % cols) as f32);
            0.5 * i + 0.3 * j + 20.0 * (j * 0.7).sin()
        };
        let a2: Vec<f32> = a.iter().enumerate().map(|(p, v)| v + pattern(p)).collect();
        let b2: Vec<f32> = b.iter().enumerate().map(|(p, v)| v + pattern(p)).collect();
        let patterned = ron(&[&a2, &b2], rows, cols).unwrap();
        // Only float32 rounding of the sums differs.
        assert!(
            (patterned.ron - plain.ron).abs() < 1e-4 * plain.ron,
            "{patterned:?} {plain:?}"
        );
        assert_eq!(patterned.windows, plain.windows);
    }

    #[test]
    fn hot_pixel_barely_moves_the_median() {
        let (rows, cols) = (64, 64);
        let a = noisy_frame(rows, cols, 5.0, 5);
        let b = noisy_frame(rows, cols, 5.0, 6);
        let plain = ron(&[&a, &b], rows, cols).unwrap();
        let mut hot = a.clone();
        hot[30 * cols + 30] = 60_000.0;
        let with_hot = ron(&[&hot, &b], rows, cols).unwrap();
        // Some window did see the hot pixel: its stdev is in the hundreds.
        assert!(
            with_hot.ronerr > 10.0 * plain.ronerr,
            "{with_hot:?} {plain:?}"
        );
        assert!(
            (with_hot.ron - plain.ron).abs() < 0.02 * plain.ron,
            "{with_hot:?} {plain:?}"
        );
    }

    #[test]
    fn too_few_frames_or_too_small_is_none() {
        let a = noisy_frame(16, 16, 1.0, 7);
        assert_eq!(ron(&[&a], 16, 16), None);
        assert_eq!(ron(&[], 16, 16), None);
        let small = vec![0f32; 8 * 16];
        assert_eq!(ron(&[&small, &small], 8, 16), None);
    }

    #[test]
    fn nan_windows_are_skipped_without_panic() {
        let (rows, cols) = (64, 64);
        let mut a = noisy_frame(rows, cols, 5.0, 8);
        let b = noisy_frame(rows, cols, 5.0, 9);
        a[30 * cols + 30] = f32::NAN;
        a[10 * cols + 50] = f32::INFINITY;
        let r = ron(&[&a, &b], rows, cols).unwrap();
        assert!(r.ron.is_finite() && r.ronerr.is_finite(), "{r:?}");
        assert!(r.windows < 100 && r.windows > 50, "{r:?}");
        let all_nan = vec![f32::NAN; rows * cols];
        assert_eq!(ron(&[&all_nan, &b], rows, cols), None);
    }
}
