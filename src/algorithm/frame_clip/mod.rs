//! The whole-frame clip stage: each frame's level and noise inside an astropy sigma
//! clip about its mean (soxspipe's `subtract_mean_flux_level`), read top-down from
//! [`frame_levels`] to the clip's rounds. The same clip, on the combined frame, is the
//! post-stack clip.
//!
//! Sigma clipping with astropy's semantics (`astropy.stats.sigma_clip`, 6.1): bounds are
//! inclusive (`lo <= x <= hi` survives); values are removed cumulatively; a round that
//! removes nothing ends the loop; the final mask is "outside the last bounds" (or
//! non-finite), applied to every original value. The sums each round makes are in
//! [`sums`].

use std::sync::Arc;

use rayon::prelude::*;

mod numpy_f32;
mod sums;

use super::AduHistogram;
use super::dispatch::{Isa, Kernel, dispatch};
use super::frame::{ElectronTable, Frame, Samples};
use super::numerics::{kept_median, numpy_kept_sum};
use super::simd::Simd;
use crate::params::{ClipParams, Numerics, RecipeVersion};
use sums::{Accumulator, LANES, lane_sums};

/// A frame after its whole-frame clip: level and noise of the unclipped pixels.
#[derive(Debug, Clone)]
pub struct FrameLevel {
    /// Mean of the unclipped pixels, e-.
    pub level: f64,
    /// Standard deviation of the unclipped pixels, e- (soxspipe's per-frame "RON").
    pub noise: f64,
    /// The clip's final bounds: a pixel is masked where [`ClipBounds::rejects`] it.
    pub bounds: ClipBounds,
    /// Pixels the clip rejected.
    pub clipped: usize,
    /// Median of the unclipped pixels, e-: the level a skewed frame (hot columns, a
    /// gradient) really sits at, where the clipped mean is pulled away.
    pub median: f64,
}

/// Bounds of a clip and how many rounds it ran.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClipBounds {
    pub lower: f64,
    pub upper: f64,
    pub iterations: u32,
}

impl ClipBounds {
    /// The bounds before any round: NaN, which restrict nothing but finiteness.
    pub const UNCLIPPED: ClipBounds = ClipBounds {
        lower: f64::NAN,
        upper: f64::NAN,
        iterations: 0,
    };

    /// Whether the final mask holds `v`: non-finite, or outside the last bounds
    /// (astropy's rule: a value clipped in an early round but inside the final bounds is
    /// not masked).
    #[inline]
    pub fn rejects(&self, v: f32) -> bool {
        let v = f64::from(v);
        !v.is_finite() || v < self.lower || v > self.upper
    }

    /// The float32 range the final mask keeps: `!rejects(v)` ⇔ `low <= v && v <= high`.
    /// Two float32 comparisons vectorise where [`ClipBounds::rejects`] does not, which
    /// matters on passes over whole frames. (A NaN bound, as before any round, and an
    /// infinite one restrict nothing but finiteness.)
    pub fn kept_range(&self) -> (f32, f32) {
        // `max`/`min` take the number over a NaN, and bring infinite bounds in to the
        // largest finite ones, so that infinities stay rejected.
        f32_bounds(self.lower.max(f64::MIN), self.upper.min(f64::MAX))
    }
}

/// The whole-frame clip of every frame: level, noise and bounds. They depend only on the
/// frame-clipping parameters and the numerics, so a caller may keep them for re-stacks
/// that change the stack clip alone.
///
/// With `exact` numerics 16-bit frames are clipped on their ADU histograms (float64 sums
/// barely depend on their order, and a histogram's cost does not grow with the frame);
/// otherwise the clip runs over the pixels, in the order soxspipe's float32 sums need.
pub fn frame_levels(
    frames: &[Arc<Frame>],
    params: &ClipParams,
    numerics: Numerics,
    version: RecipeVersion,
) -> Vec<FrameLevel> {
    let (sigma, iterations) = (
        params.frame_clipping_sigma,
        params.frame_clipping_iterations,
    );
    if levels_from_histograms(frames, numerics) {
        // The frames are counted here, one per core, when they were not before.
        let histograms: Option<Vec<_>> = frames.par_iter().map(|f| histogram_of(f)).collect();
        if let Some(histograms) = histograms {
            return histograms
                .into_iter()
                .map(|(histogram, table)| histogram_level(histogram, table, sigma, iterations))
                .collect();
        }
    }
    let electrons: Vec<_> = frames.par_iter().map(|f| f.electrons()).collect();
    let data: Vec<&[f32]> = electrons.iter().map(|e| e.as_ref()).collect();
    measure_frames(&data, sigma, iterations, numerics, version)
}

/// Whether [`frame_levels`] reads these frames' levels off their ADU histograms (16-bit
/// frames, `exact` numerics): a matter of milliseconds whatever the frames' size.
pub fn levels_from_histograms(frames: &[Arc<Frame>], numerics: Numerics) -> bool {
    numerics == Numerics::Exact
        && frames
            .iter()
            .all(|f| matches!(f.samples, Samples::Adu { .. }))
}

/// A 16-bit frame's ADU histogram (counted now if it was not) and electron table.
fn histogram_of(frame: &Frame) -> Option<(&AduHistogram, &ElectronTable)> {
    match &frame.samples {
        Samples::Adu {
            adu,
            table,
            histogram,
        } => Some((histogram.counted(adu), table)),
        Samples::Electrons(_) => None,
    }
}

/// One 16-bit frame's clip and level from its ADU histogram (`exact` numerics).
fn histogram_level(
    histogram: &AduHistogram,
    table: &ElectronTable,
    sigma: f64,
    iterations: u32,
) -> FrameLevel {
    let bounds = histogram.clip(table, sigma, iterations);
    let (level, noise, clipped) = histogram.level(table, &bounds);
    FrameLevel {
        level,
        noise,
        bounds,
        clipped,
        median: histogram.median(table, &bounds).unwrap_or(f64::NAN),
    }
}

/// Clips prepared frames and measures their levels (soxspipe numerics: `np.ma.mean` is a
/// float32 numpy sum divided in float64; `np.ma.std` is then float64). All frames go to
/// the clip together so their float32 sums run side by side; soxspipe 0.19's clips sum
/// each frame alone, so there a frame's clip and level make one task.
///
/// A task is one frame (rayon would otherwise run a few as one piece of work): a core
/// that comes free, from soxspipe 0.19's RAW RON beside this or from its share of the
/// frames, takes the next frame rather than waiting while the other core works through
/// a piece (W1's 7 frames on 2 cores: the core the RAW RON freed waited 11 ms while the
/// other clipped the last two frames).
pub fn measure_frames(
    frames: &[&[f32]],
    sigma: f64,
    iterations: u32,
    numerics: Numerics,
    version: RecipeVersion,
) -> Vec<FrameLevel> {
    let measure = |data: &[f32], bounds: ClipBounds| {
        let (low, high) = bounds.kept_range();
        // The median takes a quarter of a frame's work and needs only the bounds: the
        // other core may take it while the sums run.
        let (moments, median) = rayon::join(
            || {
                dispatch(FrameMoments {
                    data,
                    kept: (low, high),
                    numerics,
                })
            },
            || kept_median(data, |v| low <= v && v <= high).unwrap_or(f64::NAN),
        );
        FrameLevel {
            level: moments.level,
            noise: moments.noise,
            bounds,
            clipped: data.len() - moments.kept,
            median,
        }
    };
    if numerics == Numerics::Soxspipe && version.is_019() {
        return frames
            .par_iter()
            .with_max_len(1)
            .map(|data| measure(data, numpy_f32::clip(data, sigma, iterations)))
            .collect();
    }
    clip_frames_bounds(frames, sigma, iterations, numerics, version)
        .into_par_iter()
        .zip(frames)
        .with_max_len(1)
        .map(|(bounds, data)| measure(data, bounds))
        .collect()
}

/// A frame's mean and standard deviation over the values inside `kept` (a float32
/// range, [`ClipBounds::kept_range`]), and how many there are.
#[derive(Debug)]
struct Moments {
    level: f64,
    noise: f64,
    kept: usize,
}

/// [`Moments`] of one frame: two passes over it, which vectorise, on AVX2 where the CPU
/// has it (every build makes the same IEEE operations, so the same bits).
struct FrameMoments<'a> {
    data: &'a [f32],
    kept: (f32, f32),
    numerics: Numerics,
}

impl Kernel for FrameMoments<'_> {
    type Output = Moments;
    const WIDEST: Isa = Isa::Avx2;

    #[inline(always)]
    fn run<S: Simd>(self, _: S) -> Moments {
        let FrameMoments {
            data,
            kept: (low, high),
            numerics,
        } = self;
        let keep = |v: f32| low <= v && v <= high;
        let (sum, kept) = match numerics {
            Numerics::Soxspipe => {
                let (s, k) = numpy_kept_sum(data, keep, |v| v);
                (f64::from(s), k)
            }
            Numerics::Exact => numpy_kept_sum(data, keep, f64::from),
        };
        let level = sum / kept as f64;
        let (squares, _) = numpy_kept_sum(data, keep, |v: f32| {
            let d = f64::from(v) - level;
            d * d
        });
        Moments {
            level,
            noise: (squares / kept as f64).sqrt(),
            kept,
        }
    }
}

/// [`measure_frames`] for one frame.
pub fn measure_frame(
    data: &[f32],
    sigma: f64,
    iterations: u32,
    numerics: Numerics,
    version: RecipeVersion,
) -> FrameLevel {
    let mut levels = measure_frames(&[data], sigma, iterations, numerics, version);
    levels.swap_remove(0)
}

/// Whole-frame clips about the mean with the population std (soxspipe's per-frame level
/// clip and post-stack clip), several frames at once. Returns per frame the bounds; a
/// value is masked where [`ClipBounds::rejects`] it (over whole frames,
/// [`ClipBounds::kept_range`] tests the same faster).
///
/// In `Numerics::Soxspipe` soxspipe 0.17's mean and std are bottleneck's float32 sums,
/// which on a multi-megapixel bias frame are far off the true values; soxspipe 0.19's are
/// numpy's float32 pairwise sums ([`numpy_f32`]), close to them.
pub fn clip_frames_bounds(
    frames: &[&[f32]],
    sigma: f64,
    max_iterations: u32,
    numerics: Numerics,
    version: RecipeVersion,
) -> Vec<ClipBounds> {
    if numerics == Numerics::Soxspipe && version.is_019() {
        return frames
            .par_iter()
            .map(|data| numpy_f32::clip(data, sigma, max_iterations))
            .collect();
    }
    // soxspipe's float32 sums are chains that run faster side by side; exact numerics'
    // float64 sums of a frame clipped alone are split across the cores instead, which is
    // how a streamed set clips each frame, so a resident set clips every frame alone too
    // and gets the same bits.
    let same_length = frames.windows(2).all(|w| w[0].len() == w[1].len());
    let side_by_side = if same_length && numerics == Numerics::Soxspipe {
        LANES
    } else {
        1
    };
    let groups: Vec<&[&[f32]]> = frames.chunks(side_by_side).collect();
    groups
        .par_iter()
        .flat_map_iter(|group| match numerics {
            Numerics::Soxspipe => clip_lanes::<f32>(group, sigma, max_iterations),
            Numerics::Exact => clip_lanes::<f64>(group, sigma, max_iterations),
        })
        .collect()
}

/// [`clip_frames_bounds`] for one frame.
pub fn clip_frame_bounds(
    data: &[f32],
    sigma: f64,
    max_iterations: u32,
    numerics: Numerics,
    version: RecipeVersion,
) -> ClipBounds {
    clip_frames_bounds(&[data], sigma, max_iterations, numerics, version)
        .pop()
        .unwrap_or(ClipBounds::UNCLIPPED)
}

/// [`clip_frame_bounds`] with the mask it implies (`true` = clipped or non-finite): the
/// tests' view of a clip.
#[cfg(test)]
pub fn clip_frame_mean_std(
    data: &[f32],
    sigma: f64,
    max_iterations: u32,
    numerics: Numerics,
) -> (Vec<bool>, ClipBounds) {
    let bounds = clip_frame_bounds(
        data,
        sigma,
        max_iterations,
        numerics,
        RecipeVersion::Soxspipe017,
    );
    (data.iter().map(|&v| bounds.rejects(v)).collect(), bounds)
}

/// One frame's clip in progress. Removing values cumulatively is the same as keeping
/// those inside every bound so far, i.e. inside [`keep_low`, `keep_high`]: the sums can
/// run over the original array, excluded values adding exactly zero, in the same order
/// as a sum over the compacted array.
#[derive(Clone, Copy)]
struct Lane {
    keep_low: f64,
    keep_high: f64,
    previous_count: Option<usize>,
    bounds: ClipBounds,
    active: bool,
}

/// astropy's clip loop for up to [`LANES`] frames of one length at once: each round
/// sums every active frame's kept values, then their squared deviations from the mean,
/// and narrows the frame's bounds to mean ± σ·std; a frame stops when a round removed
/// nothing or its rounds are used up.
fn clip_lanes<A: Accumulator>(
    frames: &[&[f32]],
    sigma: f64,
    max_iterations: u32,
) -> Vec<ClipBounds> {
    let mut lanes = vec![
        Lane {
            // f64::MAX rather than infinity: the first round must skip ±inf like NaN.
            keep_low: f64::MIN,
            keep_high: f64::MAX,
            previous_count: None,
            bounds: ClipBounds::UNCLIPPED,
            active: max_iterations > 0,
        };
        frames.len()
    ];
    while lanes.iter().any(|l| l.active) {
        let (sums, counts) = lane_sums::<A>(frames, &lanes, None);
        let mut means = [A::ZERO; LANES];
        for (k, lane) in lanes.iter_mut().enumerate().filter(|(_, l)| l.active) {
            if lane.previous_count == Some(counts[k]) {
                lane.active = false; // the last round removed nothing
                continue;
            }
            lane.bounds.iterations += 1;
            if counts[k] == 0 {
                // bottleneck returns NaN for an empty set: the bounds become NaN, nothing is left.
                lane.bounds.lower = f64::NAN;
                lane.bounds.upper = f64::NAN;
                lane.active = false;
                continue;
            }
            means[k] = sums[k].per(counts[k]);
            lane.previous_count = Some(counts[k]);
        }
        let (squares, _) = lane_sums::<A>(frames, &lanes, Some(means));
        for (k, lane) in lanes.iter_mut().enumerate().filter(|(_, l)| l.active) {
            let Some(count) = lane.previous_count else {
                continue;
            };
            let centre = means[k].centre();
            let std = A::std(squares[k].per(count));
            lane.bounds.lower = centre - std * sigma;
            lane.bounds.upper = centre + std * sigma;
            lane.keep_low = lane.keep_low.max(lane.bounds.lower);
            lane.keep_high = lane.keep_high.min(lane.bounds.upper);
            if lane.bounds.iterations >= max_iterations {
                lane.active = false;
            }
        }
    }
    lanes.iter().map(|l| l.bounds).collect()
}

/// The float32 bounds that keep exactly the values a float64 comparison keeps:
/// `f64(x) >= low` ⇔ `x >= low32` and `f64(x) <= high` ⇔ `x <= high32` (never infinite
/// for finite bounds, so infinities fall outside like NaN).
fn f32_bounds(low: f64, high: f64) -> (f32, f32) {
    let mut low32 = low as f32;
    if f64::from(low32) < low {
        low32 = low32.next_up();
    }
    let mut high32 = high as f32;
    if f64::from(high32) > high {
        high32 = high32.next_down();
    }
    (low32, high32)
}

#[cfg(test)]
mod tests {
    use super::super::dispatch::same_bits_everywhere;
    use super::*;

    #[test]
    fn every_instruction_set_measures_the_same_level() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        let data: Vec<f32> = (0..20_011)
            .map(|i| match i % 2003 {
                0 => f32::NAN,
                1 => 9000.0,
                _ => 1000.0 + rng.random_range(-30.0f32..30.0),
            })
            .collect();
        let bounds = ClipBounds {
            lower: 975.5,
            upper: 1025.25,
            iterations: 2,
        };
        for numerics in [Numerics::Soxspipe, Numerics::Exact] {
            same_bits_everywhere(|| FrameMoments {
                data: &data,
                kept: bounds.kept_range(),
                numerics,
            });
        }
    }

    #[test]
    fn lockstep_clip_equals_clipping_a_compacted_copy() {
        use crate::algorithm::numerics::bottleneck_mean_std_f32;
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let frames: Vec<Vec<f32>> = (0..6)
            .map(|k| {
                (0..20_000)
                    .map(|i| {
                        let spike = if i % 997 == k { 500.0 } else { 0.0 };
                        1000.0 + k as f32 + rng.random_range(-8.0f32..8.0) + spike
                    })
                    .collect()
            })
            .collect();
        let slices: Vec<&[f32]> = frames.iter().map(Vec::as_slice).collect();
        let clipped = clip_frames_bounds(
            &slices,
            2.0,
            4,
            Numerics::Soxspipe,
            RecipeVersion::Soxspipe017,
        );
        for (data, bounds) in frames.iter().zip(clipped) {
            // astropy's loop on an explicitly compacted copy, with bottleneck's sums.
            let mut work = data.clone();
            let (mut lower, mut upper, mut iterations) = (f64::NAN, f64::NAN, 0);
            while iterations < 4 {
                iterations += 1;
                let (mean, std) = bottleneck_mean_std_f32(&work).unwrap();
                lower = f64::from(mean) - f64::from(std) * 2.0;
                upper = f64::from(mean) + f64::from(std) * 2.0;
                let before = work.len();
                work.retain(|&v| f64::from(v) >= lower && f64::from(v) <= upper);
                if work.len() == before {
                    break;
                }
            }
            assert_eq!(
                (bounds.lower, bounds.upper, bounds.iterations),
                (lower, upper, iterations)
            );
        }
    }

    #[test]
    fn float32_bounds_keep_what_float64_comparisons_keep() {
        for (low, high) in [
            (955.8049926757812, 1218.6676635742188),
            (0.1, 0.2),
            (-1e-40, 1e-40),
        ] {
            let (l, h) = f32_bounds(low, high);
            for x in [l.next_down(), l, l.next_up(), h.next_down(), h, h.next_up()] {
                let wide = f64::from(x);
                assert_eq!(x >= l && x <= h, wide >= low && wide <= high, "{x}");
            }
        }
    }

    #[test]
    fn kept_range_keeps_what_rejects_does_not() {
        let values = [
            f32::NEG_INFINITY,
            f32::MIN,
            -1.0,
            -0.0,
            0.0,
            0.1,
            1.0,
            1.0f32.next_up(),
            f32::MAX,
            f32::INFINITY,
            f32::NAN,
        ];
        for (lower, upper) in [
            (-1.0, 1.0),
            (0.1, 0.1),
            (f64::NAN, f64::NAN),
            (f64::NAN, 0.0),
            (-1e300, 1e300),
            (0.3, -0.3),
            (f64::NEG_INFINITY, f64::INFINITY),
            (f64::NAN, f64::INFINITY),
            (1e300, f64::INFINITY),
        ] {
            let bounds = ClipBounds {
                lower,
                upper,
                iterations: 1,
            };
            let (low, high) = bounds.kept_range();
            for v in values {
                assert_eq!(
                    low <= v && v <= high,
                    !bounds.rejects(v),
                    "{v} in {lower}..{upper}"
                );
            }
        }
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

    /// A frame's level is the same measured with the others (a resident set) or alone (a
    /// streamed set), and its median, measured beside its sums, is that of the values
    /// its clip kept: on every path (a frame's clip and level one task, frames clipped
    /// side by side, exact numerics' split sums).
    #[test]
    fn a_frames_level_is_the_same_alone_and_its_median_that_of_its_kept_values() {
        let frames: Vec<Vec<f32>> = (0..5)
            .map(|k| {
                (0..2001)
                    .map(|i| {
                        // Distinct values, so that one more kept would move the median.
                        let hot = if i == 5 { 1.0e5 } else { 0.0 };
                        100.0 + ((i * 7919 + k * 13) % 2001) as f32 * 0.01 + hot
                    })
                    .collect()
            })
            .collect();
        let slices: Vec<&[f32]> = frames.iter().map(Vec::as_slice).collect();
        for (numerics, version) in [
            (Numerics::Soxspipe, RecipeVersion::Soxspipe019),
            (Numerics::Soxspipe, RecipeVersion::Soxspipe017),
            (Numerics::Exact, RecipeVersion::Soxspipe019),
        ] {
            let levels = measure_frames(&slices, 3.0, 3, numerics, version);
            for (data, level) in slices.iter().zip(&levels) {
                // A streamed set measures each frame alone.
                let alone = measure_frame(data, 3.0, 3, numerics, version);
                let context = format!("{numerics:?} {version:?}");
                assert_eq!(format!("{level:?}"), format!("{alone:?}"), "{context}");
                let mut kept: Vec<f32> = data
                    .iter()
                    .copied()
                    .filter(|&v| !level.bounds.rejects(v))
                    .collect();
                assert_eq!(kept.len(), data.len() - 1, "the hot pixel goes");
                kept.sort_by(f32::total_cmp);
                let n = kept.len();
                let median = 0.5 * (f64::from(kept[(n - 1) / 2]) + f64::from(kept[n / 2]));
                assert_eq!(level.median, median, "{context}");
            }
        }
    }

    #[test]
    fn frame_level_excludes_clipped_pixels() {
        let mut data = vec![10.0f32; 1000];
        data[0] = 1.0e6;
        let f = measure_frame(&data, 4.0, 3, Numerics::Exact, RecipeVersion::Soxspipe019);
        assert_eq!(f.level, 10.0);
        assert_eq!(f.noise, 0.0);
        assert_eq!(f.clipped, 1);
    }
}
