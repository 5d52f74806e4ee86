//! The sums a round of the whole-frame clip makes: per frame the sum of the kept values
//! (or of their squared deviations from the mean) and their count, over the original
//! frame with the values outside the bounds adding exactly zero, in the order the
//! emulated library sums them.

use std::ops::{Add, Mul, Sub};

use rayon::prelude::*;

use super::super::dispatch::{Isa, Kernel, dispatch};
use super::super::simd::Simd;
use super::{Lane, f32_bounds};

/// A float type the whole-frame statistics accumulate in: `f32` reproduces bottleneck's
/// sequential float32 sums (soxspipe numerics), `f64` is the honest `exact` mode.
pub(super) trait Accumulator:
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
pub(super) const LANES: usize = 4;

/// Values per block when the lanes are interleaved: small enough to stay in L1/L2.
const BLOCK: usize = 4096;

/// One pass over up to `LANES` frames: per frame the sum of the kept values (or, given
/// `centre`, of the kept squared deviations from it) and their count.
///
/// Each block of the frames is interleaved so that value `i` of the lanes sits side by
/// side: the per-lane sequential sums then run as one SIMD vector, which rounds exactly
/// like the scalar adds it replaces. Missing lanes keep nothing.
pub(super) fn lane_sums<A: Accumulator>(
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

#[cfg(test)]
mod tests {
    use super::super::super::dispatch::same_bits_everywhere;
    use super::*;
    use crate::algorithm::frame_clip::ClipBounds;
    use rand::{Rng, SeedableRng};

    #[test]
    fn every_instruction_set_sums_to_the_same_bits() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        // Not a multiple of the block or of the accumulators, with values outside the
        // bounds and non-finite ones.
        let frames: Vec<Vec<f32>> = (0..3)
            .map(|_| {
                (0..10_007)
                    .map(|i| match i % 1009 {
                        0 => f32::NAN,
                        1 => f32::INFINITY,
                        _ => 1000.0 + rng.random_range(-30.0f32..30.0),
                    })
                    .collect()
            })
            .collect();
        let slices: Vec<&[f32]> = frames.iter().map(Vec::as_slice).collect();
        let lane = |active| Lane {
            keep_low: 980.25,
            keep_high: 1020.5,
            previous_count: None,
            bounds: ClipBounds::UNCLIPPED,
            active,
        };
        let lanes = [lane(true), lane(false), lane(true)];
        fn both<A: Accumulator + std::fmt::Debug>(frames: &[&[f32]], lanes: &[Lane], centre: A) {
            for centre in [None, Some([centre; LANES])] {
                same_bits_everywhere(|| LaneSums {
                    frames,
                    lanes,
                    centre,
                });
                same_bits_everywhere(|| LaneSums {
                    frames: &frames[..1],
                    lanes: &lanes[..1],
                    centre,
                });
            }
            for centre in [None, Some(centre)] {
                same_bits_everywhere(|| PieceSums {
                    piece: frames[0],
                    low: 980.25,
                    high: 1020.5,
                    centre,
                });
            }
        }
        both::<f32>(&slices, &lanes, 1000.5);
        both::<f64>(&slices, &lanes, 1000.5);
    }
}
