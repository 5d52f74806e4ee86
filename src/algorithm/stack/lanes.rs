//! soxspipe's per-pixel stack clip (median / MAD-std, astropy's rules) for [`LANES`]
//! neighbouring pixels at once, every round in SIMD lanes.
//!
//! A scalar clip of one pixel branches on its data at every step, and a fifth of the
//! pixels of a noisy stack need a second round, where the branch predictor loses. Here
//! each step is the same instruction for every lane: the survivors of a pixel's clip are
//! a contiguous run `first..end` of its sorted values, and medians are picked from the
//! runs by index. The arithmetic is that of
//! [`clip_stack_median_mad`](super::pixel_clip::clip_stack_median_mad) on the same
//! operands, so every lane gets the scalar clip's mask (and its bounds, save where a
//! round clipped everything: there the lane's bounds become an empty range).
//!
//! A [`BlockClip`] clips several groups: their first rounds group by group, the later
//! ones on the lanes still clipping, packed from every group into full vectors.
//!
//! Values that are not finite (soxspipe 0.19's masked inputs read as NaN) take no part:
//! they sort as +∞ behind a lane's finite values, and each lane's run starts as its
//! finite values only.

use super::super::network::{sort_branchless, sort_v_shaped};
use super::super::numerics::MAD_TO_STD;
use super::super::simd::{LANES, Simd};

/// The outcome of a group's clips: lane `l` keeps the values that are neither below
/// `lower[l]` nor above `upper[l]` (an empty range where a round clipped everything; NaN
/// bounds, as before any round, keep everything, as the scalar clip does).
#[derive(Debug, Clone, Copy)]
pub(super) struct GroupClip<S: Simd> {
    lower: S::F64,
    upper: S::F64,
    /// Every lane keeps every value (all finite, and no round clipped one): what most
    /// groups of a bias come to, and what the mean can take without testing each value.
    pub keeps_all: bool,
}

impl<S: Simd> GroupClip<S> {
    /// Lanes of `values` the final mask keeps (astropy: every finite value inside the
    /// last bounds, including values an earlier round removed).
    #[inline(always)]
    pub fn keeps(&self, s: S, values: S::F64) -> S::Mask {
        let outside = s.or(s.less(values, self.lower), s.less(self.upper, values));
        s.and_not(s.finite(values), outside)
    }
}

/// Where the clips of a group stand between rounds.
struct State<S: Simd> {
    /// Per lane, the surviving run `first..end` of the sorted values (as float64).
    first: S::F64,
    end: S::F64,
    lower: S::F64,
    upper: S::F64,
    /// Lanes whose clip goes on.
    active: S::Mask,
    /// Lanes where a round clipped every remaining value.
    everything: S::Mask,
}

impl<S: Simd> State<S> {
    /// The bounds of [`GroupClip`]: the last round's, or an empty range.
    #[inline(always)]
    fn bounds(&self, s: S) -> (S::F64, S::F64) {
        (
            s.select(self.everything, s.splat(f64::INFINITY), self.lower),
            s.select(self.everything, s.splat(f64::NEG_INFINITY), self.upper),
        )
    }
}

/// Groups a [`BlockClip`] takes at once.
pub(super) const BLOCK_GROUPS: usize = 16;

/// The clips of a block of groups. After the first round few lanes clip on (soxspipe's
/// σ 3 on 11 frames of 4096²: a fifth of the lanes go on to a second round, in 85 % of
/// the groups), so the lanes that do are packed from every group of the block into full
/// vectors for the later rounds, instead of each group running them with most lanes idle.
/// Each lane's arithmetic is its own, so packing changes no bit.
pub(super) struct BlockClip<S: Simd> {
    clip: LaneClip<S>,
    /// The lanes the next round clips, and those of the round after it.
    queue: Queue,
    next: Queue,
    /// Per pixel of the block, the bounds of [`GroupClip`]; per group, its `keeps_all`.
    lower: Vec<f64>,
    upper: Vec<f64>,
    keeps_all: Vec<bool>,
}

impl<S: Simd> BlockClip<S> {
    /// Scratch for blocks of up to [`BLOCK_GROUPS`] groups of `n` values per pixel.
    pub fn new(s: S, n: usize) -> BlockClip<S> {
        let pixels = BLOCK_GROUPS * LANES;
        BlockClip {
            clip: LaneClip::new(s, n),
            queue: Queue::new(n, pixels),
            next: Queue::new(n, pixels),
            lower: vec![0.0; pixels],
            upper: vec![0.0; pixels],
            keeps_all: vec![false; BLOCK_GROUPS],
        }
    }

    /// Clips each lane of each group of `values` (`n` rows a group, one per frame; at most
    /// [`BLOCK_GROUPS`] groups) as `clip_stack_median_mad` clips one pixel: at most
    /// `iterations` rounds over the lane's finite values. [`BlockClip::group`] then
    /// gives each group's outcome.
    #[inline(always)]
    pub fn clip(&mut self, s: S, values: &[S::F64], sigma: f64, iterations: u32) {
        let n = self.clip.sorted.len().max(1);
        self.queue.len = 0;
        for (g, rows) in values.chunks_exact(n).enumerate() {
            let (state, keeps_all) = self.clip.first_round(s, rows, sigma, iterations);
            self.keeps_all[g] = keeps_all;
            let (lower, upper) = state.bounds(s);
            put_lanes(&mut self.lower, g * LANES, s.store(lower));
            put_lanes(&mut self.upper, g * LANES, s.store(upper));
            if iterations > 1 && s.bits(state.active) != 0 {
                let pixels = std::array::from_fn(|l| (g * LANES + l) as f64);
                self.queue
                    .push(s, &self.clip.sorted, &state, s.load(&pixels));
            }
        }
        for round in 1..iterations {
            if self.queue.len == 0 {
                break;
            }
            std::mem::swap(&mut self.queue, &mut self.next);
            self.queue.len = 0;
            for at in (0..self.next.len).step_by(LANES) {
                let (mut state, pixels) = self.next.load(s, at, &mut self.clip.sorted);
                self.clip.round(s, &mut state, sigma, false);
                let (lower, upper) = state.bounds(s);
                let (lower, upper, pixels) = (s.store(lower), s.store(upper), s.store(pixels));
                for l in 0..(self.next.len - at).min(LANES) {
                    let p = pixels[l] as usize;
                    (self.lower[p], self.upper[p]) = (lower[l], upper[l]);
                }
                if round + 1 < iterations && s.bits(state.active) != 0 {
                    self.queue
                        .push(s, &self.clip.sorted, &state, s.load(&pixels));
                }
            }
        }
    }

    /// The outcome of group `g` of the last block clipped.
    #[inline(always)]
    pub fn group(&self, s: S, g: usize) -> GroupClip<S> {
        GroupClip {
            lower: s.load(&lanes(&self.lower, g * LANES)),
            upper: s.load(&lanes(&self.upper, g * LANES)),
            keeps_all: self.keeps_all[g],
        }
    }
}

/// Lanes packed for the next round: lane `j`'s sorted values (row `k` at
/// `rows[k · capacity + j]`), its surviving run and its pixel in the block. Room is kept
/// for a whole vector past the last lane, so a vector is always stored whole.
struct Queue {
    capacity: usize,
    len: usize,
    rows: Vec<f64>,
    first: Vec<f64>,
    end: Vec<f64>,
    pixel: Vec<f64>,
}

impl Queue {
    fn new(n: usize, lanes: usize) -> Queue {
        let capacity = lanes + LANES;
        Queue {
            capacity,
            len: 0,
            rows: vec![0.0; n * capacity],
            first: vec![0.0; capacity],
            end: vec![0.0; capacity],
            pixel: vec![0.0; capacity],
        }
    }

    /// Appends the lanes of `sorted` and `state` that are still active, with their
    /// `pixels`.
    #[inline(always)]
    fn push<S: Simd>(&mut self, s: S, sorted: &[S::F64], state: &State<S>, pixels: S::F64) {
        let (active, at) = (state.active, self.len);
        let packed = |x: S::F64| s.store(s.compress(active, x));
        for (row, &values) in self.rows.chunks_exact_mut(self.capacity).zip(sorted) {
            put_lanes(row, at, packed(values));
        }
        put_lanes(&mut self.first, at, packed(state.first));
        put_lanes(&mut self.end, at, packed(state.end));
        put_lanes(&mut self.pixel, at, packed(pixels));
        self.len += s.bits(active).count_ones() as usize;
    }

    /// Lanes `at..at + LANES` into `sorted`, with their state (active where a lane is
    /// present, an empty run where not) and their pixels.
    #[inline(always)]
    fn load<S: Simd>(&self, s: S, at: usize, sorted: &mut [S::F64]) -> (State<S>, S::F64) {
        for (values, row) in sorted.iter_mut().zip(self.rows.chunks_exact(self.capacity)) {
            *values = s.load(&lanes(row, at));
        }
        let lane = s.load(&std::array::from_fn(|l| l as f64));
        let present = s.less(lane, s.splat((self.len - at) as f64));
        let zero = s.splat(0.0);
        let state = State {
            first: s.select(present, s.load(&lanes(&self.first, at)), zero),
            end: s.select(present, s.load(&lanes(&self.end, at)), zero),
            lower: s.splat(f64::NAN),
            upper: s.splat(f64::NAN),
            active: present,
            everything: s.mask(false),
        };
        (state, s.load(&lanes(&self.pixel, at)))
    }
}

/// `values[at..at + LANES]`.
#[inline(always)]
fn lanes(values: &[f64], at: usize) -> [f64; LANES] {
    std::array::from_fn(|l| values[at + l])
}

/// Stores `x` at `values[at..at + LANES]`.
#[inline(always)]
fn put_lanes(values: &mut [f64], at: usize, x: [f64; LANES]) {
    values[at..at + LANES].copy_from_slice(&x);
}

/// Scratch rows for clipping groups of `n` values per pixel.
struct LaneClip<S: Simd> {
    sorted: Vec<S::F64>,
    deviations: Vec<S::F64>,
}

impl<S: Simd> LaneClip<S> {
    fn new(s: S, n: usize) -> LaneClip<S> {
        LaneClip {
            sorted: vec![s.splat(0.0); n],
            deviations: vec![s.splat(0.0); n],
        }
    }

    /// Sorts each lane's finite values of `values` (one row per frame) and runs the first
    /// of `iterations` rounds on them; says whether every lane keeps every value (then
    /// no lane goes on to another round).
    #[inline(always)]
    fn first_round(
        &mut self,
        s: S,
        values: &[S::F64],
        sigma: f64,
        iterations: u32,
    ) -> (State<S>, bool) {
        let (zero, one, infinity) = (s.splat(0.0), s.splat(1.0), s.splat(f64::INFINITY));
        let mut finite_count = zero;
        for (sorted, &row) in self.sorted.iter_mut().zip(values) {
            let finite = s.finite(row);
            finite_count = s.add(finite_count, s.select(finite, one, zero));
            *sorted = s.select(finite, row, infinity);
        }
        sort_branchless(&mut self.sorted);
        let all_finite = s.bits(s.equal(finite_count, s.splat(values.len() as f64))) == u8::MAX;
        let any = s.less(zero, finite_count);
        let mut state = State {
            first: zero,
            end: finite_count,
            lower: s.splat(f64::NAN),
            upper: s.splat(f64::NAN),
            active: any,
            // A lane without a finite value keeps nothing, as the scalar clip.
            everything: s.and_not(s.mask(true), any),
        };
        if iterations == 0 {
            return (state, all_finite);
        }
        if s.bits(state.active) != 0 {
            self.round(s, &mut state, sigma, all_finite);
        }
        // A lane that moved is active still, or clipped everything.
        let moved = s.bits(s.or(state.active, state.everything)) != 0;
        (state, all_finite && !moved)
    }

    /// One round on the active lanes: bounds at median ± σ·MAD-std of each run, then
    /// the runs cut to the values inside them. `whole`: every run is all the values.
    #[inline(always)]
    fn round(&mut self, s: S, state: &mut State<S>, sigma: f64, whole: bool) {
        let sorted = &self.sorted;
        let len = s.sub(state.end, state.first);
        let median = if whole {
            middle_rows(s, sorted)
        } else {
            s.middle(sorted, s.add(state.first, state.end))
        };
        // |sorted − median| falls, then rises; values outside the run become +∞ at
        // either end, which keeps that shape, so a merge network sorts the run's
        // deviations to the front.
        let infinity = s.splat(f64::INFINITY);
        for (k, (d, &row)) in self.deviations.iter_mut().zip(sorted).enumerate() {
            let deviation = s.abs(s.sub(row, median));
            *d = if whole {
                deviation
            } else {
                let k = s.splat(k as f64);
                let inside = s.and(s.less_equal(state.first, k), s.less(k, state.end));
                s.select(inside, deviation, infinity)
            };
        }
        sort_v_shaped(&mut self.deviations);
        let mad = if whole {
            middle_rows(s, &self.deviations)
        } else {
            s.middle(&self.deviations, len)
        };
        let std = s.mul(mad, s.splat(MAD_TO_STD));
        let spread = s.mul(s.splat(sigma), std);
        let (lower, upper) = (s.sub(median, spread), s.add(median, spread));
        // Sorted values below `lower` are a prefix, those not above `upper` another (all
        // of them for NaN bounds, which clip nothing, as in the scalar clip; the run never
        // grows past the finite values).
        let (one, zero) = (s.splat(1.0), s.splat(0.0));
        let (mut below, mut within) = (zero, zero);
        // Most rounds over all the values clip nothing: neither the least nor the largest
        // lies outside its bounds (nor, then, any value between them).
        let untouched = whole && {
            let (least, largest) = (sorted[0], sorted[sorted.len() - 1]);
            s.bits(s.or(s.less(least, lower), s.less(upper, largest))) == 0
        };
        if untouched {
            within = state.end;
        } else {
            for &row in sorted {
                below = s.add(below, s.select(s.less(row, lower), one, zero));
                within = s.add(within, s.select(s.less(upper, row), zero, one));
            }
        }
        let first = s.select(s.less(state.first, below), below, state.first);
        let end = s.select(s.less(within, state.end), within, state.end);
        let unmoved = s.and(s.equal(first, state.first), s.equal(end, state.end));
        // Bounds that cross (σ < 0) can leave `first` past `end`.
        let empty = s.and_not(s.mask(true), s.less(first, end));
        let active = state.active;
        state.lower = s.select(active, lower, state.lower);
        state.upper = s.select(active, upper, state.upper);
        state.first = s.select(active, first, state.first);
        state.end = s.select(active, end, state.end);
        let moved = s.and_not(active, unmoved);
        state.everything = s.or(state.everything, s.and(moved, empty));
        state.active = s.and_not(moved, empty);
    }
}

/// The median of whole sorted columns.
#[inline(always)]
fn middle_rows<S: Simd>(s: S, sorted: &[S::F64]) -> S::F64 {
    let m = sorted.len();
    let sum = s.add(sorted[(m - 1) / 2], sorted[m / 2]);
    s.mul(s.splat(0.5), sum)
}

#[cfg(test)]
mod tests {
    use super::super::pixel_clip::clip_stack_median_mad;
    use super::*;
    use crate::algorithm::dispatch::{Isa, Kernel, each_available};
    use rand::{Rng, SeedableRng};

    /// Every lane of a block's clips against the scalar clip, on implementation `s`
    /// (inlined, so compiled with the instruction set of the dispatch that runs it). The
    /// groups of a block differ in spread, so lanes of every kind are packed together for
    /// the later rounds.
    #[inline(always)]
    fn agrees_with_the_scalar_clip<S: Simd>(s: S) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        // Straight-line networks (up to 64 values; all of them up to 33), the comparator
        // lists above them (up to 128), and the sort for stacks deeper than the networks.
        for n in (1..34).chain([41, 48, 63, 64, 65, 101, 128, 129]) {
            let mut clip = BlockClip::new(s, n);
            for trial in 0..if n <= 33 { 100 } else { 10 } {
                let groups = [1, 3, BLOCK_GROUPS][trial % 3];
                let rows: Vec<[f32; LANES]> = (0..groups * n)
                    .map(|row| {
                        let spread: f32 = [0.5, 0.01, 3.0][(trial + row / n) % 3];
                        std::array::from_fn(|_| {
                            let outlier = match rng.random_range(0..25) {
                                0 => 40.0,
                                1 => -25.0,
                                // soxspipe 0.19's masked inputs, and values no clip keeps.
                                2 if trial % 2 == 1 => f32::NAN,
                                3 if trial % 4 == 1 => f32::NEG_INFINITY,
                                _ => 0.0,
                            };
                            rng.random_range(-6i16..6) as f32 * spread + outlier
                        })
                    })
                    .collect();
                let values: Vec<S::F64> = rows.iter().map(|r| s.widen(r)).collect();
                // σ below 0.675 can clip everything; negative, NaN and no rounds at all are
                // refused by the settings but must still match.
                for (sigma, iterations) in [
                    (3.0, 3),
                    (1.0, 5),
                    (0.3, 3),
                    (2.5, 1),
                    (-1.0, 3),
                    (f64::NAN, 3),
                    (3.0, 0),
                ] {
                    clip.clip(s, &values, sigma, iterations);
                    for (g, group_rows) in rows.chunks_exact(n).enumerate() {
                        let group = clip.group(s, g);
                        let kept: Vec<u8> = values[g * n..(g + 1) * n]
                            .iter()
                            .map(|&v| s.bits(group.keeps(s, v)))
                            .collect();
                        for l in 0..LANES {
                            let lane: Vec<f64> =
                                group_rows.iter().map(|r| f64::from(r[l])).collect();
                            let (mut scratch, mut clipped) = (vec![0.0; n], vec![false; n]);
                            clip_stack_median_mad(
                                &lane,
                                sigma,
                                iterations,
                                &mut scratch,
                                &mut clipped,
                                &mut (),
                            );
                            let lane_kept: Vec<bool> =
                                kept.iter().map(|b| b >> l & 1 == 1).collect();
                            let expected: Vec<bool> = clipped.iter().map(|c| !c).collect();
                            assert_eq!(
                                lane_kept,
                                expected,
                                "{} n={n} σ={sigma} group {g} lane {l}: {lane:?}",
                                std::any::type_name::<S>()
                            );
                        }
                    }
                }
            }
        }
    }

    /// [`agrees_with_the_scalar_clip`] as a kernel, to run on every instruction set.
    struct AgreesWithTheScalarClip;

    impl Kernel for AgreesWithTheScalarClip {
        type Output = ();
        const WIDEST: Isa = Isa::Avx512;

        #[inline(always)]
        fn run<S: Simd>(self, s: S) {
            agrees_with_the_scalar_clip(s);
        }
    }

    #[test]
    fn lanes_get_the_scalar_clip_on_every_instruction_set() {
        let ran = each_available(|| AgreesWithTheScalarClip);
        println!("ran on {:?}", ran.iter().map(|r| r.0).collect::<Vec<_>>());
    }
}
