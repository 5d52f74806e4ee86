//! Read noise from the differences of consecutive raw frames, the way ESO's CPL measures it
//! (`cpl_flux_get_noise_window`), made robust to single bad pixels, with its uncertainty.
//!
//! A single-frame RON counts the detector's fixed pattern (gradients, column structure) as
//! noise; subtracting two frames cancels it, and dividing by √2 turns the difference back
//! into one frame's noise. Taking the median over many small random windows, rather than
//! one global std, keeps cosmic rays, hot pixels and bad columns from inflating the result.
//!
//! Two steps beyond CPL, because one pixel that differs between the two frames (a cosmic, a
//! warm pixel with telegraph noise) makes its whole 9×9 window's std many times the noise:
//! - **RON DIFF** clips, inside each window, the differences more than 5 σ from the
//!   window's median before taking the std, σ being CPL's unclipped estimate. Gaussian read
//!   noise puts one value in 1.7 million beyond 5 σ, so on clean frames RON DIFF is CPL's
//!   value; on frames where many windows hold such a pixel, CPL's median of window stdevs
//!   climbs (a third of the windows hit puts it 5 % high), the clipped one does not.
//! - **RON DIFF ERR** is the uncertainty of RON DIFF: √(π/2) · 1.4826 · MAD of the window
//!   stdevs / √(windows), see [`median_error`]. CPL's `error` output is the plain std of
//!   the window stdevs, how much the noise varies from window to window, which one window
//!   with a cosmic makes larger than the RON itself; and it does not shrink with more
//!   frames, so it tells no one how well the RON is known.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

use crate::algorithm::numerics::{MAD_TO_STD, median_in_place};

/// CPL's default window half size: 9×9 windows.
const HALF: usize = 4;
const SIDE: usize = 2 * HALF + 1;
const AREA: usize = SIDE * SIDE;
/// CPL's default number of windows per difference image.
const WINDOWS_PER_PAIR: usize = 100;
/// Fixed so that the same frames give the same RON on every run and machine.
const SEED: u64 = 0x6D62_6961_735F_726E;
/// Differences farther than this many σ from their window's median are not read noise.
const CLIP_SIGMA: f64 = 5.0;

/// Where [`difference_ron`] reads its windows: on the calling thread (beside other work
/// that keeps the other core busy) or on all cores (alone: a set of 21 frames reads 2000
/// windows, and a streamed set looks each of their 324 000 pixels up among the few it
/// kept, 55 ms of one core).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cores {
    One,
    All,
}

/// One window's differences (a − b)/√2, row-major.
type Differences = [f64; AREA];

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DifferenceRon {
    /// Median over the windows of each window's population std of the differences / √2,
    /// after the 5 σ clip, in the frames' units (e-).
    pub ron: f64,
    /// Uncertainty (1σ) of `ron` from the finite sample of windows, in the same units.
    pub ronerr: f64,
    /// Windows that survived (those containing a non-finite pixel are dropped).
    pub windows: usize,
}

impl DifferenceRon {
    /// The Gaussian σ this RON implies. The median of population standard deviations of
    /// n = 81 values is below σ: s² is σ²·χ²(n−1)/n, and the median of χ²(k) is about
    /// k(1 − 2/9k)³ (Wilson–Hilferty), so the median s is 0.9897 σ. The QC value keeps
    /// CPL's definition (which the 5 σ clip leaves alone on Gaussian noise, so it needs
    /// no correction of its own); clipping at "k × the read noise" needs σ itself, or on
    /// integer data its bounds slide across whole ADU steps.
    pub fn sigma(&self) -> f64 {
        self.ron / median_std_over_sigma()
    }
}

/// The median of the population std of 81 Gaussian values, in units of σ (see
/// [`DifferenceRon::sigma`]).
fn median_std_over_sigma() -> f64 {
    let n = AREA as f64;
    let k = n - 1.0;
    (k * (1.0 - 2.0 / (9.0 * k)).powi(3) / n).sqrt()
}

/// RON of `frames` row-major `rows × cols` frames in observing order, pooled over the
/// N−1 consecutive pairs; `value(frame, pixel)` reads one pixel.
///
/// Consecutive pairs, not arbitrary ones, so that a slow drift of the bias level between
/// distant frames does not leak into the noise. Pixels are read through `value` because
/// only 100 windows per pair are visited: a caller whose frames are stored raw converts
/// those pixels alone, never whole frames. `value` must accept every pixel index below
/// `rows × cols`. `None` when there are fewer than two frames, the image is smaller than
/// one 9×9 window, or every window contained a non-finite pixel. `cores` says where the
/// windows are read; the result is the same.
pub fn difference_ron(
    frames: usize,
    rows: usize,
    cols: usize,
    value: impl Fn(usize, usize) -> f32 + Sync,
    cores: Cores,
) -> Option<DifferenceRon> {
    if frames < 2 || rows < SIDE || cols < SIDE {
        return None;
    }
    let origins: Vec<(usize, usize, usize)> = window_origins(frames, rows, cols).collect();
    let window = |&(first, top, left): &(usize, usize, usize)| {
        let pixel = |r: usize, c: usize| (top + r) * cols + left + c;
        differences(|r, c| (value(first, pixel(r, c)), value(first + 1, pixel(r, c))))
    };
    // Either way the windows come in the generator's order.
    let mut windows: Vec<Differences> = match cores {
        Cores::One => origins.iter().filter_map(window).collect(),
        Cores::All => origins.par_iter().filter_map(window).collect(),
    };
    // CPL's estimate, unclipped: the scale of the clip.
    let mut stdevs: Vec<f64> = windows.iter().map(|d| population_std(d)).collect();
    let sigma = median_in_place(&mut stdevs)? / median_std_over_sigma();
    let mut stdevs: Vec<f64> = windows
        .iter_mut()
        .map(|d| clipped_std(d, CLIP_SIGMA * sigma))
        .collect();
    let ron = median_in_place(&mut stdevs)?;
    Some(DifferenceRon {
        ron,
        ronerr: median_error(&mut stdevs, ron),
        windows: windows.len(),
    })
}

/// The windows [`difference_ron`] reads, in its order: (the pair's first frame, the
/// window's top row, its left column). They depend on the frames' number and size only
/// (one generator for the whole call: each pair gets its own windows, yet the result
/// depends only on the frames).
fn window_origins(
    frames: usize,
    rows: usize,
    cols: usize,
) -> impl Iterator<Item = (usize, usize, usize)> {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    (0..frames.saturating_sub(1)).flat_map(move |first| {
        (0..WINDOWS_PER_PAIR)
            .map(|_| {
                // Centres at least HALF pixels from every edge, so the window lies inside.
                let top = rng.random_range(HALF..rows - HALF) - HALF;
                let left = rng.random_range(HALF..cols - HALF) - HALF;
                (first, top, left)
            })
            .collect::<Vec<_>>()
    })
}

/// Per frame, the pixels (below `rows × cols`) that [`difference_ron`] of `frames` such
/// frames reads: a caller that cannot keep the frames keeps these values instead.
pub(super) fn visited_pixels(frames: usize, rows: usize, cols: usize) -> Vec<Vec<usize>> {
    let mut visited = vec![Vec::new(); frames];
    if frames < 2 || rows < SIDE || cols < SIDE {
        return visited;
    }
    for (first, top, left) in window_origins(frames, rows, cols) {
        for r in 0..SIDE {
            let start = (top + r) * cols + left;
            for k in [first, first + 1] {
                visited[k].extend(start..start + SIDE);
            }
        }
    }
    visited
}

/// (a − b)/√2 over one window, whose pixel pairs `pair(row, col)` gives in window
/// coordinates; `None` if any pixel is not finite.
fn differences(pair: impl Fn(usize, usize) -> (f32, f32)) -> Option<Differences> {
    let mut d = [0f64; AREA];
    for (r, out) in d.chunks_exact_mut(SIDE).enumerate() {
        for (c, o) in out.iter_mut().enumerate() {
            let (x, y) = pair(r, c);
            if !(x.is_finite() && y.is_finite()) {
                return None;
            }
            *o = (f64::from(x) - f64::from(y)) / std::f64::consts::SQRT_2;
        }
    }
    Some(d)
}

/// Population std (ddof = 0, as CPL) of the window's differences within `bound` of their
/// median, reordering them. 81 is odd, so the median is one of the values and at least
/// that one remains.
fn clipped_std(d: &mut Differences, bound: f64) -> f64 {
    let (_, &mut centre, _) = d.select_nth_unstable_by(AREA / 2, f64::total_cmp);
    let mut kept = [0f64; AREA];
    let mut n = 0;
    for &v in d.iter().filter(|v| (*v - centre).abs() <= bound) {
        kept[n] = v;
        n += 1;
    }
    population_std(&kept[..n])
}

/// Uncertainty of `median`, the median of `values` (which it overwrites), as a normal
/// approximation: √(π/2) · 1.4826 · MAD / √n.
///
/// The median of n draws from a normal distribution of std s scatters by √(π/2) · s/√n
/// (its asymptotic variance is 1/(4n f(m)²), f the density at the median). The window
/// stdevs are nearly normal (a χ with 80 degrees of freedom, skewness 0.08), and
/// 1.4826 · MAD is their s without the tail that windows holding a cosmic or a warm pixel
/// below the clip still add — a plain std is what made the old ERR larger than the RON.
/// Chosen over a bootstrap of the median: the same number within the bootstrap's own
/// noise (resampled medians of a hundred values take only a few dozen distinct values),
/// with no second random stream and no thousand re-sorts per stack. Over 300 simulated
/// pairs it matches the scatter of RON DIFF to 3 % (a test holds it to 15 %). The windows are assumed
/// independent, which holds while they rarely overlap (frames much larger than 100 9×9
/// windows); it is a statistical error only, not the 1 % by which the median of 81-value
/// stdevs sits below σ ([`DifferenceRon::sigma`] corrects that).
fn median_error(values: &mut [f64], median: f64) -> f64 {
    let n = values.len() as f64;
    for v in values.iter_mut() {
        *v = (*v - median).abs();
    }
    let mad = median_in_place(values).unwrap_or(0.0);
    (std::f64::consts::FRAC_PI_2).sqrt() * MAD_TO_STD * mad / n.sqrt()
}

/// Two-pass population std (0 for no values).
fn population_std(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    var.sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_distr::{Distribution, Normal};

    /// The slice form the tests think in.
    fn ron(frames: &[&[f32]], rows: usize, cols: usize) -> Option<DifferenceRon> {
        difference_ron(frames.len(), rows, cols, |f, p| frames[f][p], Cores::One)
    }

    fn noisy_frame(rows: usize, cols: usize, sigma: f64, seed: u64) -> Vec<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let normal = Normal::new(1000.0, sigma).unwrap();
        (0..rows * cols)
            .map(|_| normal.sample(&mut rng) as f32)
            .collect()
    }

    #[test]
    fn reading_the_windows_on_all_cores_gives_the_same_ron() {
        let (rows, cols) = (200, 150);
        let frames: Vec<Vec<f32>> = (0..5).map(|k| noisy_frame(rows, cols, 3.0, k)).collect();
        let ron = |cores| difference_ron(5, rows, cols, |f, p| frames[f][p], cores);
        assert_eq!(ron(Cores::One), ron(Cores::All));
        assert!(ron(Cores::One).is_some());
    }

    #[test]
    fn only_the_windows_are_read() {
        let (rows, cols, frames) = (256, 256, 4);
        let reads = std::sync::atomic::AtomicUsize::new(0);
        let r = difference_ron(
            frames,
            rows,
            cols,
            |f, p| {
                reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                (f * rows * cols + p) as f32
            },
            Cores::All,
        )
        .unwrap();
        assert_eq!(r.windows, 300);
        // Two pixels per window pixel per pair: far from the 262 144 of whole frames.
        assert_eq!(reads.into_inner(), 300 * 81 * 2);
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
        // The std of an 81-sample std is about σ/√(2·81) ≈ 0.39, the median of 100 of
        // them scatters by √(π/2) · 0.39/√100 ≈ 0.05.
        assert!(r.ronerr > 0.03 && r.ronerr < 0.07, "{r:?}");
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
    fn a_hot_pixel_in_one_frame_moves_neither_value() {
        let (rows, cols) = (64, 64);
        let a = noisy_frame(rows, cols, 5.0, 5);
        let b = noisy_frame(rows, cols, 5.0, 6);
        let plain = ron(&[&a, &b], rows, cols).unwrap();
        let mut hot = a.clone();
        hot[30 * cols + 30] = 60_000.0;
        let with_hot = ron(&[&hot, &b], rows, cols).unwrap();
        // Some window did see the hot pixel (its unclipped stdev is in the thousands), and
        // the clip took it out: the old ERR, a plain std of the stdevs, rose tenfold.
        assert!(
            (with_hot.ron - plain.ron).abs() < 0.01 * plain.ron,
            "{with_hot:?} {plain:?}"
        );
        assert!(
            (with_hot.ronerr - plain.ronerr).abs() < 0.1 * plain.ronerr,
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

    /// A night of bias frames read pixel by pixel, never stored, so that the tests can
    /// afford full-size detectors: only the windows' pixels are ever drawn.
    #[derive(Clone, Copy)]
    struct Night {
        cols: usize,
        /// Gaussian read noise, e-.
        sigma: f64,
        seed: u64,
        /// Share of pixels that are hot by the same amount in every frame.
        hot: f64,
        /// Share of pixels with telegraph noise: 20–60 σ high in a random half of the frames.
        telegraph: f64,
        /// Probability per pixel and frame that a cosmic's 2×2 footprint starts there.
        cosmics: f64,
    }

    impl Night {
        fn clean(cols: usize, sigma: f64, seed: u64) -> Night {
            Night {
                cols,
                sigma,
                seed,
                hot: 0.0,
                telegraph: 0.0,
                cosmics: 0.0,
            }
        }

        /// splitmix64 of (seed, frame, pixel, stream): a uniform number in [0, 1).
        fn uniform(&self, frame: usize, p: usize, stream: u64) -> f64 {
            let mut z = self.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
                ^ ((frame as u64) << 48)
                ^ (stream << 44)
                ^ p as u64;
            for _ in 0..2 {
                z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^= z >> 31;
            }
            (z >> 11) as f64 / (1u64 << 53) as f64
        }

        /// What the defects add to pixel `p` of `frame`.
        fn defect(&self, frame: usize, p: usize) -> f64 {
            let kind = self.uniform(0, p, 1);
            let mut v = if kind < self.hot {
                500.0 + 5000.0 * kind / self.hot
            } else if kind < self.hot + self.telegraph && self.uniform(frame, p, 2) < 0.5 {
                self.sigma * (20.0 + 40.0 * self.uniform(0, p, 3))
            } else {
                0.0
            };
            let (r, c) = (p / self.cols, p % self.cols);
            for (dr, dc) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                if r >= dr && c >= dc {
                    let start = p - dr * self.cols - dc;
                    if self.uniform(frame, start, 4) < self.cosmics {
                        v += 100.0 + 3000.0 * self.uniform(frame, start, 5);
                    }
                }
            }
            v
        }

        fn value(&self, frame: usize, p: usize) -> f32 {
            let (r, c) = ((p / self.cols) as f64, (p % self.cols) as f64);
            // Box–Muller; 1 − u keeps the logarithm finite.
            let u = 1.0 - self.uniform(frame, p, 6);
            let gauss = (-2.0 * u.ln()).sqrt() * (TAU * self.uniform(frame, p, 7)).cos();
            let pattern = 1000.0 + 0.01 * r + 3.0 * (0.3 * c).sin();
            (pattern + self.defect(frame, p) + self.sigma * gauss) as f32
        }

        fn ron(&self, frames: usize, rows: usize) -> DifferenceRon {
            difference_ron(frames, rows, self.cols, |f, p| self.value(f, p), Cores::One).unwrap()
        }

        /// Share of 9×9 windows in which some pixel's defects differ between consecutive
        /// frames, from 4000 windows of its own: what the clip and the median are up against.
        fn windows_hit(&self, frames: usize, rows: usize) -> f64 {
            let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
            let hit = (0..4000)
                .filter(|_| {
                    let f = rng.random_range(0..frames - 1);
                    let top = rng.random_range(0..rows - SIDE);
                    let left = rng.random_range(0..self.cols - SIDE);
                    (0..AREA).any(|k| {
                        let p = (top + k / SIDE) * self.cols + left + k % SIDE;
                        self.defect(f, p) != self.defect(f + 1, p)
                    })
                })
                .count();
            hit as f64 / 4000.0
        }
    }

    use std::f64::consts::TAU;

    /// (rows, cols, frames): one pair up to a full stack of a large detector.
    const SHAPES: [(usize, usize, usize); 4] = [
        (256, 256, 2),
        (1024, 2048, 5),
        (4096, 4096, 11),
        (2048, 3000, 21),
    ];

    fn assert_close(r: DifferenceRon, sigma: f64, what: &str) {
        assert!((r.ron - sigma).abs() < 0.03 * sigma, "{what}: {r:?}");
        assert!((r.sigma() - sigma).abs() < 0.03 * sigma, "{what}: {r:?}");
        assert!(r.ronerr > 0.0 && r.ronerr < 0.05 * sigma, "{what}: {r:?}");
    }

    #[test]
    fn clean_frames_give_the_read_noise_and_a_small_error() {
        for (k, &(rows, cols, frames)) in SHAPES.iter().enumerate() {
            let night = Night::clean(cols, 4.0, k as u64);
            let r = night.ron(frames, rows);
            assert_close(r, 4.0, &format!("{rows}×{cols}, {frames} frames"));
            // √(π/2) · σ/√(2·81) / √windows, within the MAD's own scatter.
            let expected = 1.2533 * 4.0 / (2.0f64 * 81.0).sqrt() / (r.windows as f64).sqrt();
            assert!(
                (r.ronerr / expected - 1.0).abs() < 0.35,
                "{rows}×{cols}: {r:?}, expected ERR {expected}"
            );
        }
    }

    #[test]
    fn hot_pixels_telegraph_noise_and_cosmics_leave_the_read_noise() {
        for (k, &(rows, cols, frames)) in SHAPES.iter().enumerate() {
            let night = Night {
                hot: 1e-3,
                telegraph: 3e-4,
                cosmics: 1.5e-4,
                ..Night::clean(cols, 4.0, 100 + k as u64)
            };
            let hit = night.windows_hit(frames, rows);
            let what = format!(
                "{rows}×{cols}, {frames} frames, {:.1} % of windows hit",
                100.0 * hit
            );
            assert!((0.02..0.10).contains(&hit), "{what}");
            assert_close(night.ron(frames, rows), 4.0, &what);
        }
    }

    #[test]
    fn a_third_of_the_windows_hit_still_gives_the_read_noise() {
        // Here CPL's median of unclipped window stdevs is 5 % high; the clip keeps it.
        for (k, &(rows, cols, frames)) in SHAPES.iter().enumerate() {
            let night = Night {
                hot: 5e-3,
                telegraph: 3e-3,
                cosmics: 1.5e-3,
                ..Night::clean(cols, 4.0, 200 + k as u64)
            };
            let hit = night.windows_hit(frames, rows);
            let what = format!(
                "{rows}×{cols}, {frames} frames, {:.1} % of windows hit",
                100.0 * hit
            );
            assert!(hit > 0.25, "{what}");
            assert_close(night.ron(frames, rows), 4.0, &what);
        }
    }

    #[test]
    fn the_error_is_the_scatter_of_the_ron_over_nights() {
        // 300 independent pairs of 2048×2048 frames, clean and with defects: the std of RON
        // DIFF over them is what RON DIFF ERR promises (to its 4 % sampling error here).
        for dirty in [false, true] {
            let (rons, errs): (Vec<f64>, Vec<f64>) = (0..300)
                .map(|seed| {
                    let clean = Night::clean(2048, 4.0, 1000 + seed);
                    let night = if dirty {
                        Night {
                            hot: 1e-3,
                            telegraph: 3e-4,
                            cosmics: 1.5e-4,
                            ..clean
                        }
                    } else {
                        clean
                    };
                    let r = night.ron(2, 2048);
                    (r.ron, r.ronerr)
                })
                .unzip();
            let scatter = population_std(&rons);
            let promised = errs.iter().sum::<f64>() / errs.len() as f64;
            assert!(
                (promised / scatter - 1.0).abs() < 0.15,
                "defects {dirty}: scatter {scatter}, mean ERR {promised}"
            );
        }
    }
}
