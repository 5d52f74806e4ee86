//! The per-pixel stack clip of one pixel: astropy's median / MAD-std clip (soxspipe's
//! `mad-sigma`), the fixed-width `noise-model` rejection and IRAF's `minmax`, on the scalar path
//! (`lanes.rs` clips eight pixels at once with the same arithmetic). [`reject`] picks
//! the method: a new one is a variant of [`Rejection`] and a clip in this file. Each clip
//! tells a [`RoundLog`] the centre and bounds of every round it runs: the stack passes
//! `()`, which compiles to nothing, and the pixel-stack inspector a list, so what the
//! console shows is what these very functions decided.

use super::super::network::sort_branchless;
use super::super::numerics::MAD_TO_STD;
use super::StackMethod;
use crate::params::Rejection;

/// One round of a per-pixel clip: where it centred, how wide it cut, and how many values
/// it kept.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClipRound {
    pub centre: f64,
    /// The σ of the round (MAD-based std for `mad-sigma`), or the fixed half width over σ
    /// (the read noise) for `noise-model`.
    pub spread: f64,
    pub lower: f64,
    pub upper: f64,
    /// Values inside the bounds after the round.
    pub kept: usize,
}

impl ClipRound {
    /// Whether `v` lies outside this round's bounds.
    pub fn excludes(&self, v: f64) -> bool {
        !v.is_finite() || v < self.lower || v > self.upper
    }
}

/// Where a clip reports its rounds.
pub trait RoundLog {
    fn round(&mut self, round: ClipRound);
}

/// The stack's log: nothing kept.
impl RoundLog for () {
    #[inline(always)]
    fn round(&mut self, _: ClipRound) {}
}

/// The inspector's log: every round.
impl RoundLog for Vec<ClipRound> {
    fn round(&mut self, round: ClipRound) {
        self.push(round);
    }
}

/// Rejects values of one pixel's stack by `method`: writes `clipped[k]` for each value
/// and returns the number clipped. `scratch` must hold at least `values.len()`.
pub(super) fn reject(
    method: &StackMethod,
    values: &[f64],
    sigma: f64,
    max_iterations: u32,
    scratch: &mut [f64],
    clipped: &mut [bool],
    log: &mut impl RoundLog,
) -> usize {
    match method.rejection {
        Rejection::MadSigma => {
            clip_stack_median_mad(values, sigma, max_iterations, scratch, clipped, log)
        }
        Rejection::NoiseModel => clip_stack_fixed_width(
            values,
            (sigma, method.read_noise),
            max_iterations,
            scratch,
            clipped,
            log,
        ),
        Rejection::MinMax { low, high } => reject_extremes(values, low, high, scratch, clipped),
    }
}

/// IRAF's `minmax` rejection of one pixel's stack: the `low` lowest and `high` highest
/// finite values go (non-finite ones always do), keeping at least one; of equal values
/// the earlier frames go first, so the choice does not depend on the sort.
fn reject_extremes(
    values: &[f64],
    low: u16,
    high: u16,
    scratch: &mut [f64],
    clipped: &mut [bool],
) -> usize {
    let (sorted, _) = Rounds::start(values, scratch);
    let finite = sorted.len();
    let (mut low, mut high) = (usize::from(low), usize::from(high));
    while low + high >= finite && low + high > 0 {
        if high >= low {
            high -= 1;
        } else {
            low -= 1;
        }
    }
    // Values below `low_cut` go, and the first `low_ties` equal to it; alike above.
    let (low_cut, high_cut) = match (low, high) {
        (0, 0) => (f64::NEG_INFINITY, f64::INFINITY),
        _ if finite == 0 => (f64::NEG_INFINITY, f64::INFINITY),
        _ => (
            if low == 0 {
                f64::NEG_INFINITY
            } else {
                sorted[low - 1]
            },
            if high == 0 {
                f64::INFINITY
            } else {
                sorted[finite - high]
            },
        ),
    };
    let mut low_ties = low - sorted.partition_point(|&v| v < low_cut).min(low);
    let mut high_ties = high - (finite - sorted.partition_point(|&v| v <= high_cut)).min(high);
    let mut total = 0;
    for (c, &v) in clipped.iter_mut().zip(values) {
        *c = if !v.is_finite() || v < low_cut || v > high_cut {
            true
        } else if v == low_cut && low_ties > 0 {
            low_ties -= 1;
            true
        } else if v == high_cut && high_ties > 0 {
            high_ties -= 1;
            true
        } else {
            false
        };
        total += usize::from(*c);
    }
    total
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
pub(super) fn clip_stack_median_mad(
    values: &[f64],
    sigma: f64,
    max_iterations: u32,
    scratch: &mut [f64],
    clipped: &mut [bool],
    log: &mut impl RoundLog,
) -> usize {
    let (sorted, state) = Rounds::start(values, scratch);
    state
        .run(sorted, sigma, max_iterations, log)
        .mask(values, clipped)
}

/// The noise-model rejection of one pixel's stack: bounds at a centre ± a fixed half
/// width (`sigma × read_noise`). The first round centres on the median, which a cosmic ray
/// cannot drag; later rounds centre on the mean of the survivors, which on clean values
/// scatters less than a median (so fewer good values fall outside), and re-admit any value
/// inside the new bounds. Stops when a round changes nothing.
pub(super) fn clip_stack_fixed_width(
    values: &[f64],
    (sigma, read_noise): (f64, f64),
    max_iterations: u32,
    scratch: &mut [f64],
    clipped: &mut [bool],
    log: &mut impl RoundLog,
) -> usize {
    let half_width = sigma * read_noise;
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
        log.round(ClipRound {
            centre,
            spread: read_noise,
            lower: state.lower,
            upper: state.upper,
            kept: run.1.saturating_sub(run.0),
        });
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
    fn run(mut self, sorted: &[f64], sigma: f64, rounds: u32, log: &mut impl RoundLog) -> Rounds {
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
            log.round(ClipRound {
                centre: median,
                spread: std,
                lower: self.lower,
                upper: self.upper,
                kept: self.end - self.first,
            });
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

/// Sorts the finite values of one pixel's stack.
fn sort_small(values: &mut [f64]) {
    if values.len() <= 32 {
        sort_branchless(values);
    } else {
        values.sort_unstable_by(f64::total_cmp);
    }
}

/// The median of sorted values (the mean of the middle two for an even count).
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

    fn minmax(values: &[f64], low: u16, high: u16) -> Vec<bool> {
        let mut scratch = vec![0.0; values.len()];
        let mut clipped = vec![false; values.len()];
        let n = reject_extremes(values, low, high, &mut scratch, &mut clipped);
        assert_eq!(n, clipped.iter().filter(|&&c| c).count());
        clipped
    }

    #[test]
    fn minmax_drops_the_extremes_whatever_they_are() {
        let values = [3.0, 1.0, 900.0, 2.0, -50.0, 4.0];
        assert_eq!(
            minmax(&values, 1, 1),
            [false, false, true, false, true, false]
        );
        assert_eq!(
            minmax(&values, 2, 0),
            [false, true, false, false, true, false]
        );
        assert_eq!(minmax(&values, 0, 0), [false; 6]);
    }

    #[test]
    fn minmax_takes_ties_in_frame_order_and_skips_non_finite_values() {
        assert_eq!(minmax(&[5.0; 5], 1, 1), [true, true, false, false, false]);
        assert_eq!(
            minmax(&[1.0, f64::NAN, 1.0, 7.0, 7.0], 1, 1),
            [true, true, false, true, false]
        );
    }

    #[test]
    fn minmax_keeps_one_value_of_a_short_stack() {
        // Three values, two low and two high asked: the larger count shrinks first.
        assert_eq!(minmax(&[1.0, 2.0, 3.0], 2, 2), [true, false, true]);
        assert_eq!(minmax(&[1.0, 2.0, 3.0], 3, 0), [true, true, false]);
        assert_eq!(minmax(&[4.0], 1, 1), [false]);
        assert_eq!(minmax(&[f64::NAN, f64::NAN], 1, 1), [true, true]);
    }

    #[test]
    fn noise_model_rejects_cosmic_rays_and_keeps_the_core() {
        let mut scratch = vec![0.0; 5];
        let mut clipped = vec![false; 5];
        let values = [1.0, -2.0, 0.5, 900.0, 1.5];
        assert_eq!(
            clip_stack_fixed_width(&values, (9.0, 1.0), 3, &mut scratch, &mut clipped, &mut ()),
            1
        );
        assert_eq!(clipped, [false, false, false, true, false]);
        // Two hits in five: the median still stands on the clean values.
        let values = [1.0, 700.0, 0.5, 900.0, -1.5];
        assert_eq!(
            clip_stack_fixed_width(&values, (9.0, 1.0), 3, &mut scratch, &mut clipped, &mut ()),
            2
        );
        // A value the median round rejected comes back inside the mean-centred bounds:
        // median 0, survivors {-8, 0, 0, 2, 9.5} minus 9.5 → mean -1.5, bounds [-10.5, 7.5]
        // keep -8 and reject 9.5 again; nothing else moves.
        let values = [-8.0, 0.0, 0.0, 2.0, 9.5];
        clip_stack_fixed_width(&values, (9.0, 1.0), 3, &mut scratch, &mut clipped, &mut ());
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

    fn stack_clip(values: &[f64], sigma: f64, iters: u32) -> Vec<bool> {
        let mut scratch = vec![0.0; values.len()];
        let mut clipped = vec![false; values.len()];
        clip_stack_median_mad(values, sigma, iters, &mut scratch, &mut clipped, &mut ());
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
}
