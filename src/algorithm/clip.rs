//! Sigma clipping with astropy's semantics (`astropy.stats.sigma_clip`, 6.1).
//!
//! Bounds are inclusive (`lo <= x <= hi` survives); values are removed cumulatively; a
//! round that removes nothing ends the loop; the final mask is "outside the last bounds"
//! (or non-finite), applied to every original value.

use std::ops::{Add, Mul, Sub};

use super::dispatch::{Isa, Kernel, dispatch};
use super::network::sort_branchless;
use super::simd::Simd;
use crate::settings::Numerics;
use rayon::prelude::*;

/// astropy's `mad_std` scale: 1 / Φ⁻¹(3/4).
pub const MAD_TO_STD: f64 = 1.482602218505602;

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

/// A float type the whole-frame statistics accumulate in: `f32` reproduces bottleneck's
/// sequential float32 sums (soxspipe numerics), `f64` is the honest `exact` mode.
trait Accumulator:
    Copy + Send + Sync + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self>
{
    const ZERO: Self;
    /// soxspipe's float32 sums must run in pixel order; honest float64 sums may be split.
    const SEQUENTIAL: bool;
    fn lift(x: f32) -> Self;
    fn per(self, count: usize) -> Self;
    fn centre(self) -> f64;
    /// The standard deviation from a variance, rounded as the mode rounds it.
    fn std(variance: Self) -> f64;
}

impl Accumulator for f32 {
    const ZERO: Self = 0.0;
    const SEQUENTIAL: bool = true;
    fn lift(x: f32) -> Self {
        x
    }
    fn per(self, count: usize) -> Self {
        self / count as f32
    }
    fn centre(self) -> f64 {
        f64::from(self)
    }
    fn std(variance: Self) -> f64 {
        f64::from(f64::from(variance).sqrt() as f32)
    }
}

impl Accumulator for f64 {
    const ZERO: Self = 0.0;
    const SEQUENTIAL: bool = false;
    fn lift(x: f32) -> Self {
        f64::from(x)
    }
    fn per(self, count: usize) -> Self {
        self / count as f64
    }
    fn centre(self) -> f64 {
        self
    }
    fn std(variance: Self) -> f64 {
        variance.sqrt()
    }
}

/// Frames clipped side by side: their sequential sums are independent chains, so running
/// several at once keeps the floating-point adder busy instead of waiting on each add.
const LANES: usize = 4;

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

/// Values per block when the lanes are interleaved: small enough to stay in L1/L2.
const BLOCK: usize = 4096;

/// One pass over up to `LANES` frames: per frame the sum of the kept values (or, given
/// `centre`, of the kept squared deviations from it) and their count.
///
/// Each block of the frames is interleaved so that value `i` of the lanes sits side by
/// side: the per-lane sequential sums then run as one SIMD vector, which rounds exactly
/// like the scalar adds it replaces. Missing lanes keep nothing.
fn lane_sums<A: Accumulator>(
    frames: &[&[f32]],
    lanes: &[Lane],
    centre: Option<[A; LANES]>,
) -> ([A; LANES], [usize; LANES]) {
    if let ([frame], [lane, ..]) = (frames, lanes)
        && !A::SEQUENTIAL
    {
        let mut sums = [A::ZERO; LANES];
        let mut counts = [0; LANES];
        (sums[0], counts[0]) = split_sums(frame, lane, centre.map(|c| c[0]));
        return (sums, counts);
    }
    dispatch(LaneSums {
        frames,
        lanes,
        centre,
    })
}

/// [`lane_sums`] as a kernel: the per-lane sums vectorise, and on AVX2 they run twice
/// the lanes per instruction. The arithmetic is the same IEEE operations on every build
/// (Rust never fuses or reorders them), so the sums are bit-identical.
struct LaneSums<'a, A> {
    frames: &'a [&'a [f32]],
    lanes: &'a [Lane],
    centre: Option<[A; LANES]>,
}

impl<A: Accumulator> Kernel for LaneSums<'_, A> {
    type Output = ([A; LANES], [usize; LANES]);
    const WIDEST: Isa = Isa::Avx2;

    #[inline(always)]
    fn run<S: Simd>(self, _: S) -> Self::Output {
        let LaneSums {
            frames,
            lanes,
            centre,
        } = self;
        let n = frames.first().map_or(0, |f| f.len());
        let (mut low, mut high) = ([f32::INFINITY; LANES], [f32::NEG_INFINITY; LANES]);
        for (k, lane) in lanes.iter().enumerate().filter(|(_, l)| l.active) {
            (low[k], high[k]) = f32_bounds(lane.keep_low, lane.keep_high);
        }
        let mean = centre.unwrap_or([A::ZERO; LANES]);
        let squares = centre.is_some();
        let mut sums = [A::ZERO; LANES];
        let mut counts = [0u32; LANES];
        if let [frame] = frames {
            // One frame (the post-stack clip): the same sums without interleaving copies.
            for &x in *frame {
                let keep = x >= low[0] && x <= high[0];
                let term = if squares {
                    let d = A::lift(x) - mean[0];
                    d * d
                } else {
                    A::lift(x)
                };
                sums[0] = sums[0] + if keep { term } else { A::ZERO };
                counts[0] += u32::from(keep);
            }
            return (sums, counts.map(|c| c as usize));
        }
        // Missing lanes read the first frame again; they keep nothing.
        let data: [&[f32]; LANES] = std::array::from_fn(|k| {
            frames
                .get(k)
                .or(frames.first())
                .map_or(&[][..], |f| &f[..n])
        });
        let mut block = vec![[0f32; LANES]; BLOCK.min(n)];
        for start in (0..n).step_by(BLOCK) {
            let len = BLOCK.min(n - start);
            let block = &mut block[..len];
            let rows = data[0][start..start + len]
                .iter()
                .zip(&data[1][start..start + len])
                .zip(&data[2][start..start + len])
                .zip(&data[3][start..start + len]);
            for (slot, (((&a, &b), &c), &d)) in block.iter_mut().zip(rows) {
                *slot = [a, b, c, d];
            }
            for x in block.iter() {
                for k in 0..LANES {
                    let keep = x[k] >= low[k] && x[k] <= high[k];
                    let term = if squares {
                        let d = A::lift(x[k]) - mean[k];
                        d * d
                    } else {
                        A::lift(x[k])
                    };
                    sums[k] = sums[k] + if keep { term } else { A::ZERO };
                    counts[k] += u32::from(keep);
                }
            }
        }
        (sums, counts.map(|c| c as usize))
    }
}

/// One frame's kept sum (or sum of squared deviations from `centre`) in independent
/// pieces on both cores, each with several accumulators; the pieces are added in order,
/// so the result does not depend on thread timing.
fn split_sums<A: Accumulator>(frame: &[f32], lane: &Lane, centre: Option<A>) -> (A, usize) {
    const PIECE: usize = 1 << 16;
    let (low, high) = f32_bounds(lane.keep_low, lane.keep_high);
    let pieces: Vec<(A, usize)> = frame
        .par_chunks(PIECE)
        .map(|piece| {
            dispatch(PieceSums {
                piece,
                low,
                high,
                centre,
            })
        })
        .collect();
    pieces
        .iter()
        .fold((A::ZERO, 0), |(s, n), &(ps, pn)| (s + ps, n + pn))
}

/// One piece of [`split_sums`]: the sum of the piece in several accumulators, value `i`
/// going to accumulator `i % WAYS`, the accumulators then added in order. The
/// accumulators vectorise, on AVX2 where the CPU has it (the post-stack clip of a 4k
/// frame makes six passes over it); every build makes the same IEEE operations in the
/// same order, so the same bits.
struct PieceSums<'a, A> {
    piece: &'a [f32],
    low: f32,
    high: f32,
    centre: Option<A>,
}

impl<A: Accumulator> Kernel for PieceSums<'_, A> {
    type Output = (A, usize);
    const WIDEST: Isa = Isa::Avx2;

    #[inline(always)]
    fn run<S: Simd>(self, _: S) -> Self::Output {
        let PieceSums {
            piece,
            low,
            high,
            centre,
        } = self;
        const WAYS: usize = 8;
        let term = |x: f32| match centre {
            Some(c) => {
                let d = A::lift(x) - c;
                d * d
            }
            None => A::lift(x),
        };
        let mut sums = [A::ZERO; WAYS];
        let mut counts = [0u32; WAYS];
        let mut groups = piece.chunks_exact(WAYS);
        for group in &mut groups {
            for k in 0..WAYS {
                let keep = group[k] >= low && group[k] <= high;
                sums[k] = sums[k] + if keep { term(group[k]) } else { A::ZERO };
                counts[k] += u32::from(keep);
            }
        }
        for (k, &x) in groups.remainder().iter().enumerate() {
            let keep = x >= low && x <= high;
            sums[k] = sums[k] + if keep { term(x) } else { A::ZERO };
            counts[k] += u32::from(keep);
        }
        let sum = sums.iter().fold(A::ZERO, |s, &v| s + v);
        (sum, counts.iter().map(|&c| c as usize).sum())
    }
}

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

/// Whole-frame clips about the mean with the population std (soxspipe's per-frame level
/// clip and post-stack clip), several frames at once. Returns per frame the bounds; a
/// value is masked where [`ClipBounds::rejects`] it (over whole frames,
/// [`ClipBounds::kept_range`] tests the same faster).
///
/// In `Numerics::Soxspipe` the mean and std are bottleneck's float32 sums, which on a
/// multi-megapixel bias frame are far off the true values; that is what soxspipe does.
pub fn clip_frames_bounds(
    frames: &[&[f32]],
    sigma: f64,
    max_iterations: u32,
    numerics: Numerics,
) -> Vec<ClipBounds> {
    let same_length = frames.windows(2).all(|w| w[0].len() == w[1].len());
    let groups: Vec<&[&[f32]]> = if same_length {
        frames.chunks(LANES).collect()
    } else {
        frames.chunks(1).collect()
    };
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
) -> ClipBounds {
    clip_frames_bounds(&[data], sigma, max_iterations, numerics)
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
    let bounds = clip_frame_bounds(data, sigma, max_iterations, numerics);
    (data.iter().map(|&v| bounds.rejects(v)).collect(), bounds)
}

/// Sorts the finite values of one pixel's stack.
fn sort_small(values: &mut [f64]) {
    if values.len() <= 32 {
        sort_branchless(values);
    } else {
        values.sort_unstable_by(f64::total_cmp);
    }
}

fn middle(sorted: &[f64]) -> f64 {
    let m = sorted.len();
    if m % 2 == 1 {
        sorted[m / 2]
    } else {
        0.5 * (sorted[m / 2] + sorted[m / 2 - 1])
    }
}

/// Median of |x − centre| over sorted `values`, by merging the two runs of deviations
/// that walk outwards from `centre` (each already sorted): no second sort needed.
fn median_deviation(values: &[f64], centre: f64) -> f64 {
    let m = values.len();
    let split = values.partition_point(|&v| v < centre);
    let (mut left, mut right) = (split, split);
    let mut next = || {
        let take_left = match (left > 0, right < m) {
            (true, true) => (values[left - 1] - centre).abs() <= (values[right] - centre).abs(),
            (true, false) => true,
            _ => false,
        };
        if take_left {
            left -= 1;
            (values[left] - centre).abs()
        } else {
            right += 1;
            (values[right - 1] - centre).abs()
        }
    };
    let mut previous = f64::NAN;
    for _ in 0..m / 2 {
        previous = next();
    }
    let at = next();
    if m % 2 == 1 {
        at
    } else {
        0.5 * (at + previous)
    }
}

/// Per-pixel clip of one stack of values about the median with the MAD-based std
/// (astropy's C fast path, float64). `scratch` must hold at least `values.len()`.
/// Writes `clipped[k]` for each value and returns the number clipped.
///
/// The values are sorted once: the survivors of every round are then a contiguous run
/// of the sorted values, and the median and MAD are read off it. Median and MAD are
/// order statistics, so this gives exactly astropy's numbers.
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
    let (sorted, state) = Rounds::start(values, scratch);
    state
        .run(sorted, sigma, max_iterations)
        .mask(values, clipped)
}

/// The noise-model rejection of one pixel's stack: bounds at a centre ± a fixed half
/// width (σ × the read noise). The first round centres on the median, which a cosmic ray
/// cannot drag; later rounds centre on the mean of the survivors, which on clean values
/// scatters less than a median (so fewer good values fall outside), and re-admit any value
/// inside the new bounds. Stops when a round changes nothing.
pub fn clip_stack_fixed_width(
    values: &[f64],
    half_width: f64,
    max_iterations: u32,
    scratch: &mut [f64],
    clipped: &mut [bool],
) -> usize {
    let (sorted, mut state) = Rounds::start(values, scratch);
    for round in 0..max_iterations {
        if state.everything_clipped {
            break;
        }
        let live = &sorted[state.first..state.end];
        let centre = if round == 0 {
            middle(live)
        } else {
            live.iter().sum::<f64>() / live.len() as f64
        };
        state.lower = centre - half_width;
        state.upper = centre + half_width;
        let run = (
            sorted.partition_point(|&v| v < state.lower),
            sorted.partition_point(|&v| v <= state.upper),
        );
        if run == (state.first, state.end) {
            break;
        }
        (state.first, state.end) = run;
        state.everything_clipped = run.0 >= run.1;
    }
    state.mask(values, clipped)
}

/// Where a per-pixel clip stands: the surviving run `first..end` of the sorted values
/// and the last round's bounds.
#[derive(Debug, Clone, Copy)]
struct Rounds {
    first: usize,
    end: usize,
    lower: f64,
    upper: f64,
    everything_clipped: bool,
}

impl Rounds {
    /// The finite values sorted into `scratch`, and a clip that has not started.
    fn start<'s>(values: &[f64], scratch: &'s mut [f64]) -> (&'s [f64], Rounds) {
        let sorted_all = &mut scratch[..values.len()];
        let mut count = 0;
        for &v in values {
            if v.is_finite() {
                sorted_all[count] = v;
                count += 1;
            }
        }
        let sorted = &mut sorted_all[..count];
        sort_small(sorted);
        let state = Rounds {
            first: 0,
            end: count,
            lower: f64::NAN,
            upper: f64::NAN,
            everything_clipped: count == 0,
        };
        (sorted, state)
    }

    /// Runs up to `rounds` more rounds; stops early when a round removes nothing.
    fn run(mut self, sorted: &[f64], sigma: f64, rounds: u32) -> Rounds {
        for _ in 0..rounds {
            if self.everything_clipped {
                break;
            }
            let live = &sorted[self.first..self.end];
            let median = middle(live);
            let std = median_deviation(live, median) * MAD_TO_STD;
            self.lower = median - sigma * std;
            self.upper = median + sigma * std;
            let (old_first, old_end) = (self.first, self.end);
            while self.first < self.end && sorted[self.first] < self.lower {
                self.first += 1;
            }
            while self.end > self.first && sorted[self.end - 1] > self.upper {
                self.end -= 1;
            }
            if (self.first, self.end) == (old_first, old_end) {
                break;
            }
            self.everything_clipped = self.first == self.end;
        }
        self
    }

    /// The final mask over the original values; returns how many were clipped.
    fn mask(&self, values: &[f64], clipped: &mut [bool]) -> usize {
        let mut total = 0;
        for (c, &v) in clipped.iter_mut().zip(values) {
            *c = self.everything_clipped || !v.is_finite() || v < self.lower || v > self.upper;
            total += usize::from(*c);
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorting_networks_sort_every_zero_one_input() {
        // The 0-1 principle: a network that sorts all 2^n inputs of zeros and ones sorts
        // everything.
        for n in 0..=12 {
            for bits in 0u32..(1 << n) {
                let mut v: Vec<f64> = (0..n).map(|i| f64::from((bits >> i) & 1)).collect();
                sort_small(&mut v);
                assert!(
                    v.windows(2).all(|w| w[0] <= w[1]),
                    "n = {n}, input {bits:b}"
                );
            }
        }
        let mut big: Vec<f64> = (0..40).rev().map(f64::from).collect();
        sort_small(&mut big);
        assert!(big.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn noise_model_rejects_cosmic_rays_and_keeps_the_core() {
        let mut scratch = vec![0.0; 5];
        let mut clipped = vec![false; 5];
        let values = [1.0, -2.0, 0.5, 900.0, 1.5];
        assert_eq!(
            clip_stack_fixed_width(&values, 9.0, 3, &mut scratch, &mut clipped),
            1
        );
        assert_eq!(clipped, [false, false, false, true, false]);
        // Two hits in five: the median still stands on the clean values.
        let values = [1.0, 700.0, 0.5, 900.0, -1.5];
        assert_eq!(
            clip_stack_fixed_width(&values, 9.0, 3, &mut scratch, &mut clipped),
            2
        );
        // A value the median round rejected comes back inside the mean-centred bounds:
        // median 0, survivors {-8, 0, 0, 2, 9.5} minus 9.5 → mean -1.5, bounds [-10.5, 7.5]
        // keep -8 and reject 9.5 again; nothing else moves.
        let values = [-8.0, 0.0, 0.0, 2.0, 9.5];
        clip_stack_fixed_width(&values, 9.0, 3, &mut scratch, &mut clipped);
        assert_eq!(clipped, [false, false, false, false, true]);
    }

    #[test]
    fn median_deviation_matches_sorting_the_deviations() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for n in 1..30 {
            let mut v: Vec<f64> = (0..n)
                .map(|_| f64::from(rng.random_range(-5i32..5)))
                .collect();
            sort_small(&mut v);
            let centre = middle(&v);
            let mut d: Vec<f64> = v.iter().map(|x| (x - centre).abs()).collect();
            d.sort_by(f64::total_cmp);
            assert_eq!(median_deviation(&v, centre), middle(&d), "{v:?}");
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
        let clipped = clip_frames_bounds(&slices, 2.0, 4, Numerics::Soxspipe);
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

    fn stack_clip(values: &[f64], sigma: f64, iters: u32) -> Vec<bool> {
        let mut scratch = vec![0.0; values.len()];
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
