//! soxspipe's `clip_and_stack`: the noise frames (each frame less its level), the
//! per-pixel stack clip and the mean of the survivors.

use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

mod lanes;
mod pixel_clip;

use super::dispatch::{Isa, Kernel, dispatch};
use super::frame::electrons_of;
use super::frame_mask::FrameMask;
use super::network::MAX_NETWORK;
use super::numerics::median_in_place;
use super::simd::{LANES, Simd};
use super::zeros::zeros;
use crate::error::{Error, Result};
use crate::params::{Combine, Numerics, Rejection};
use crate::progress::{Progress, Stage};
use lanes::{BLOCK_GROUPS, BlockClip, GroupClip};
pub use pixel_clip::ClipRound;
use pixel_clip::{RoundLog, reject};

/// How the stack rejects and combines (soxspipe: `mad-sigma` and `mean`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StackMethod {
    pub rejection: Rejection,
    pub combine: Combine,
    /// e-, the noise the `noise-model` rejection scales its bounds with.
    pub read_noise: f64,
}

/// Everything the per-pixel stack clip is told.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StackSettings {
    pub sigma: f64,
    pub iterations: u32,
    pub numerics: Numerics,
    pub method: StackMethod,
}

impl StackMethod {
    pub const SOXSPIPE: StackMethod = StackMethod {
        rejection: Rejection::MadSigma,
        combine: Combine::Mean,
        read_noise: f64::NAN,
    };

    fn is_soxspipe(&self) -> bool {
        self.rejection == Rejection::MadSigma && self.combine == Combine::Mean
    }
}

/// `frame − level`, computed in float64 and stored as float32 (numpy's in-place `-=`).
pub fn subtract_level(data: &[f32], level: f64) -> Vec<f32> {
    data.iter().map(|&v| less_level(v, level)).collect()
}

/// One value of a noise frame: `electrons − level` in float64, rounded to float32.
#[inline(always)]
fn less_level(electrons: f32, level: f64) -> f32 {
    (f64::from(electrons) - level) as f32
}

/// Result of the per-pixel stack.
#[derive(Debug, Clone)]
pub struct Stacked {
    /// Mean of the surviving values; NaN where every frame was clipped.
    pub mean: Vec<f32>,
    /// How many frames survived at each pixel.
    pub used: Vec<u16>,
    /// Per frame: pixels the stack clip rejected.
    pub rejected: Vec<usize>,
}

const BAND_ROWS: usize = 64;
/// Bands a stack is cut into at least, where its rows allow: each reports its end.
const PROGRESS_STEPS: usize = 32;

/// The noise frames `frame − level`, computed where they are needed instead of stored:
/// one float64 subtraction rounded to float32, as numpy's in-place `-=` does.
trait Noise: Sync {
    /// Frame `k`'s noise value at pixel `p`.
    fn at(&self, k: usize, p: usize) -> f32;
    /// Every frame's noise values at pixels `p..p + LANES`, widened to float64: frame
    /// `k`'s in `rows[k]`. The frames are walked side by side with their levels rather
    /// than indexed one at a time, and masks are tested once for the whole group: read a
    /// frame at a call, with index checks and reloads in each, this was the most sampled
    /// code of a W2 re-stack (perf).
    fn group<S: Simd>(&self, s: S, p: usize, rows: &mut [S::F64]);
}

/// Frames in electrons.
struct ElectronNoise<'a> {
    frames: &'a [&'a [f32]],
    levels: &'a [f64],
}

impl Noise for ElectronNoise<'_> {
    #[inline(always)]
    fn at(&self, k: usize, p: usize) -> f32 {
        less_level(self.frames[k][p], self.levels[k])
    }

    #[inline(always)]
    fn group<S: Simd>(&self, s: S, p: usize, rows: &mut [S::F64]) {
        for ((row, frame), &level) in rows.iter_mut().zip(self.frames).zip(self.levels) {
            let mut out = [0f32; LANES];
            for (slot, &x) in out.iter_mut().zip(&frame[p..p + LANES]) {
                *slot = less_level(x, level);
            }
            *row = s.widen(&out);
        }
    }
}

/// Raw ADU frames at one gain: a value's noise is computed from its ADU as
/// [`ElectronNoise`] computes it from the converted frame ([`electrons_of`], then the
/// level off), the same IEEE operations in vector lanes. A table of each frame's noise
/// values gives the same numbers, but looking eight of them up is a gather, which took a
/// tenth of a 4096² stack's time.
struct AduNoise<'a> {
    frames: &'a [&'a [u16]],
    gain: f64,
    levels: &'a [f64],
}

impl Noise for AduNoise<'_> {
    #[inline(always)]
    fn at(&self, k: usize, p: usize) -> f32 {
        less_level(electrons_of(self.frames[k][p], self.gain), self.levels[k])
    }

    #[inline(always)]
    fn group<S: Simd>(&self, s: S, p: usize, rows: &mut [S::F64]) {
        let gain = self.gain;
        for ((row, frame), &level) in rows.iter_mut().zip(self.frames).zip(self.levels) {
            let mut out = [0f32; LANES];
            for (slot, &adu) in out.iter_mut().zip(&frame[p..p + LANES]) {
                *slot = less_level(electrons_of(adu, gain), level);
            }
            *row = s.widen(&out);
        }
    }
}

/// soxspipe 0.19's input masks: a frame's value at a pixel its own whole-frame clip
/// masked takes no part in that pixel's clip and mean (and counts as rejected there),
/// unless every frame masked the pixel, when all values take part. One bit a pixel per
/// frame, so eight lanes of the stack test theirs with one byte; the bytes of all frames
/// for the same eight pixels sit together, as the stack reads them.
#[derive(Debug, Clone)]
pub struct InputMasks {
    frames: usize,
    /// Byte `b · frames + k`: frame `k`'s excluded pixels among `8b..8b + 8`.
    excluded: Vec<u8>,
}

impl InputMasks {
    /// The values of `frames` their masks exclude at `pixels` pixels, and the pixels
    /// every frame masked (where no value is excluded), in one pass over the frames.
    /// A block of pixels is measured frame by frame into rows of bytes (contiguous
    /// loads and stores, at the speed memory gives), then its bytes are interleaved.
    pub fn measure(frames: &[FrameMask<'_>], pixels: usize) -> (InputMasks, Vec<bool>) {
        /// Bytes of each frame a task measures at once: 32 768 pixels.
        const BLOCK: usize = 4096;
        /// A frame's row of bytes and a cache line: rows a page apart would share the
        /// cache's sets, and interleaving reads all of them at once.
        const ROW: usize = BLOCK + 64;
        let n = frames.len();
        let mut excluded = zeros::<u8>(pixels.div_ceil(8) * n);
        let mut every = zeros::<bool>(pixels);
        excluded
            .par_chunks_mut(BLOCK * n.max(1))
            .zip(every.par_chunks_mut(8 * BLOCK))
            .enumerate()
            .for_each_init(
                || vec![0u8; ROW * n],
                |rows, (block, (excluded, every))| {
                    let start = block * 8 * BLOCK;
                    let bytes = every.len().div_ceil(8);
                    for (mask, row) in frames.iter().zip(rows.chunks_exact_mut(ROW)) {
                        mask.fill_bytes(start..start + every.len(), &mut row[..bytes]);
                    }
                    // Bits past the last pixel are clear in every frame's bytes.
                    let mut all = [u8::MAX; BLOCK];
                    let all = &mut all[..bytes];
                    for row in rows.chunks_exact(ROW) {
                        all.iter_mut().zip(row).for_each(|(a, &r)| *a &= r);
                    }
                    for (i, (eight, &all)) in
                        excluded.chunks_exact_mut(n.max(1)).zip(&*all).enumerate()
                    {
                        for (byte, row) in eight.iter_mut().zip(rows.chunks_exact(ROW)) {
                            *byte = row[i] & !all;
                        }
                    }
                    for (eight, &all) in every.chunks_mut(8).zip(&*all) {
                        for (i, shared) in eight.iter_mut().enumerate() {
                            *shared = all >> i & 1 != 0;
                        }
                    }
                },
            );
        (
            InputMasks {
                frames: n,
                excluded,
            },
            every,
        )
    }

    /// Whether frame `k`'s value at pixel `p` is left out.
    #[inline(always)]
    fn excludes(&self, k: usize, p: usize) -> bool {
        self.excluded[(p >> 3) * self.frames + k] >> (p & 7) & 1 != 0
    }

    /// Makes NaN the values of `rows` (every frame's at pixels `p..p + 8`, frame `k`'s in
    /// `rows[k]`) these masks leave out.
    #[inline(always)]
    fn leave_out<S: Simd>(&self, s: S, p: usize, rows: &mut [S::F64]) {
        if !p.is_multiple_of(8) {
            for (k, row) in rows.iter_mut().enumerate() {
                *row = left_out(s, *row, self.lane_bits(k, p));
            }
            return;
        }
        // The frames' bytes of these eight pixels sit together, and in most groups of a
        // bias none is set: one test for all of them.
        let at = p / 8 * self.frames;
        let bytes = &self.excluded[at..at + self.frames];
        if bytes.iter().fold(0, |any, &b| any | b) == 0 {
            return;
        }
        for (row, &excluded) in rows.iter_mut().zip(bytes) {
            *row = left_out(s, *row, excluded);
        }
    }

    /// Frame `k`'s excluded lanes among `p..p + 8`, one bit each.
    #[inline(always)]
    fn lane_bits(&self, k: usize, p: usize) -> u8 {
        let (byte, shift) = (p >> 3, p & 7);
        let low = u16::from(self.excluded[byte * self.frames + k]);
        if shift == 0 {
            return low as u8;
        }
        let high = self
            .excluded
            .get((byte + 1) * self.frames + k)
            .map_or(0, |&b| u16::from(b));
        ((low | high << 8) >> shift) as u8
    }
}

/// Noise frames under [`InputMasks`]: a masked value reads as NaN, which every clip
/// leaves out and marks clipped, exactly what astropy does with a masked input value.
struct MaskedNoise<'a, N> {
    inner: N,
    masks: &'a InputMasks,
}

impl<N: Noise> Noise for MaskedNoise<'_, N> {
    #[inline(always)]
    fn at(&self, k: usize, p: usize) -> f32 {
        if self.masks.excludes(k, p) {
            f32::NAN
        } else {
            self.inner.at(k, p)
        }
    }

    #[inline(always)]
    fn group<S: Simd>(&self, s: S, p: usize, rows: &mut [S::F64]) {
        self.inner.group(s, p, rows);
        self.masks.leave_out(s, p, rows);
    }
}

/// `values` with the lanes set in `excluded` made NaN.
#[inline(always)]
fn left_out<S: Simd>(s: S, values: S::F64, excluded: u8) -> S::F64 {
    if excluded == 0 {
        return values;
    }
    // A few lanes in a hundred: the vector is computed whole and those lanes set apart.
    let mut lanes = s.store(values);
    for (l, value) in lanes.iter_mut().enumerate() {
        if excluded >> l & 1 != 0 {
            *value = f64::NAN;
        }
    }
    s.load(&lanes)
}

/// Scratch space and settings for stacking one pixel at a time.
struct PixelKernel {
    sigma: f64,
    iterations: u32,
    numerics: Numerics,
    values: Vec<f64>,
    scratch: Vec<f64>,
    clipped: Vec<bool>,
    kept: Vec<f64>,
}

impl PixelKernel {
    fn new(n: usize, sigma: f64, iterations: u32, numerics: Numerics) -> PixelKernel {
        PixelKernel {
            sigma,
            iterations,
            numerics,
            values: vec![0.0; n],
            scratch: vec![0.0; n],
            clipped: vec![false; n],
            kept: Vec::with_capacity(n),
        }
    }

    /// The mean of the kept values of `noise` (one per frame), summed in frame order as
    /// soxspipe does. Only the sum the numerics use is kept: this runs for every pixel.
    fn mean(&self, noise: impl Iterator<Item = f32>, keep: impl Fn(usize) -> bool) -> (f32, u16) {
        let mut kept = 0u16;
        let mean = match self.numerics {
            Numerics::Soxspipe => {
                let mut sum = 0f32;
                for (k, value) in noise.enumerate() {
                    if keep(k) {
                        kept += 1;
                        sum += value;
                    }
                }
                sum / f32::from(kept)
            }
            Numerics::Exact => {
                let mut sum = 0f64;
                for (k, value) in noise.enumerate() {
                    if keep(k) {
                        kept += 1;
                        sum += f64::from(value);
                    }
                }
                (sum / f64::from(kept)) as f32
            }
        };
        (if kept == 0 { f32::NAN } else { mean }, kept)
    }

    /// One pixel's clip and combination, counting rejections per frame; the clip tells
    /// `log` its rounds.
    fn clip_pixel(
        &mut self,
        noise: &impl Noise,
        p: usize,
        rejected: &mut [usize],
        method: &StackMethod,
        log: &mut impl RoundLog,
    ) -> (f32, u16) {
        for (k, v) in self.values.iter_mut().enumerate() {
            *v = f64::from(noise.at(k, p));
        }
        reject(
            method,
            &self.values,
            self.sigma,
            self.iterations,
            &mut self.scratch,
            &mut self.clipped,
            log,
        );
        for (r, &c) in rejected.iter_mut().zip(&self.clipped) {
            *r += usize::from(c);
        }
        match method.combine {
            Combine::Mean => {
                let clipped = &self.clipped;
                self.mean(self.values.iter().map(|&v| v as f32), |k| !clipped[k])
            }
            Combine::Median => {
                self.kept.clear();
                self.kept.extend(
                    self.values
                        .iter()
                        .zip(&self.clipped)
                        .filter(|(_, c)| !**c)
                        .map(|(v, _)| *v),
                );
                let used = self.kept.len() as u16;
                let median = median_in_place(&mut self.kept).map_or(f32::NAN, |m| m as f32);
                (median, used)
            }
        }
    }
}

/// One pixel's stack as [`clip_and_stack`] clipped it, for the console's pixel-stack
/// inspector.
#[derive(Debug, Clone, PartialEq)]
pub struct PixelStack {
    /// Each frame's value less its level, e- (the value the clip saw); NaN where
    /// soxspipe 0.19's input mask left the frame out.
    pub values: Vec<f32>,
    /// Which values the clip rejected (left-out ones included).
    pub clipped: Vec<bool>,
    /// Every round the clip ran (none for `minmax`).
    pub rounds: Vec<ClipRound>,
    /// The combined value (mean or median of the kept values), e-; NaN if none was kept.
    pub combined: f32,
    pub used: u16,
}

/// Stacks one pixel: `electrons` holds each frame's value there, `levels` the frames'
/// levels, `excluded` which frames 0.19's input masks leave out. It runs the stack's own
/// per-pixel clip (the one the vector lanes are tested against bit for bit) on the very
/// noise values the stack computes, so it gives the stack's numbers.
pub fn stack_pixel(
    electrons: &[f32],
    levels: &[f64],
    excluded: &[bool],
    settings: StackSettings,
) -> PixelStack {
    let n = electrons.len();
    let frames: Vec<&[f32]> = electrons.iter().map(std::slice::from_ref).collect();
    let masks = InputMasks {
        frames: n,
        excluded: excluded.iter().map(|&e| u8::from(e)).collect(),
    };
    let noise = MaskedNoise {
        inner: ElectronNoise {
            frames: &frames,
            levels,
        },
        masks: &masks,
    };
    let mut kernel = PixelKernel::new(n, settings.sigma, settings.iterations, settings.numerics);
    let mut rounds = Vec::new();
    let (combined, used) =
        kernel.clip_pixel(&noise, 0, &mut vec![0; n], &settings.method, &mut rounds);
    PixelStack {
        values: (0..n).map(|k| noise.at(k, 0)).collect(),
        clipped: kernel.clipped,
        rounds,
        combined,
        used,
    }
}

/// What every band of a stack shares.
struct StackJob<N> {
    noise: N,
    frames: usize,
    sigma: f64,
    iterations: u32,
    numerics: Numerics,
    method: StackMethod,
}

impl<N> StackJob<N> {
    fn new(noise: N, frames: usize, settings: StackSettings) -> StackJob<N> {
        let StackSettings {
            sigma,
            iterations,
            numerics,
            method,
        } = settings;
        StackJob {
            noise,
            frames,
            sigma,
            iterations,
            numerics,
            method,
        }
    }
}

/// One band of rows: pixels `start..start + mean.len()` and where their results go.
struct Band<'a> {
    start: usize,
    mean: &'a mut [f32],
    used: &'a mut [u16],
    rejected: &'a mut [usize],
}

/// One band of the stack as a kernel: written against [`Simd`], so it runs on AVX-512
/// or AVX2 registers where the CPU has them (the same IEEE operations, so the same bits).
struct BandKernel<'a, N> {
    job: &'a StackJob<N>,
    band: Band<'a>,
}

impl<N: Noise> Kernel for BandKernel<'_, N> {
    type Output = ();
    const WIDEST: Isa = Isa::Avx512;

    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        stack_band(s, self.job, self.band);
    }
}

/// Stacks one band on the lanes of `s`.
#[inline(always)]
fn stack_band<S: Simd, N: Noise>(s: S, job: &StackJob<N>, band: Band<'_>) {
    let Band {
        start,
        mean,
        used,
        rejected,
    } = band;
    let noise = &job.noise;
    let (n, sigma) = (job.frames, job.sigma);
    let mut kernel = PixelKernel::new(n, sigma, job.iterations, job.numerics);
    if !job.method.is_soxspipe() {
        for (i, (mean, used)) in mean.iter_mut().zip(used.iter_mut()).enumerate() {
            (*mean, *used) = kernel.clip_pixel(noise, start + i, rejected, &job.method, &mut ());
        }
        return;
    }
    let mut i = 0;
    // Stacks deeper than the sorting networks (128 frames) sort faster one pixel at a
    // time (a comparison sort, O(n log n), against the networks' fallback, O(n²)).
    if (1..=MAX_NETWORK).contains(&n) {
        let mut clip = BlockClip::new(s, n);
        let mut block = vec![s.splat(0.0); n * BLOCK_GROUPS];
        while i + LANES <= mean.len() {
            let groups = ((mean.len() - i) / LANES).min(BLOCK_GROUPS);
            let values = &mut block[..groups * n];
            for (g, rows) in values.chunks_exact_mut(n).enumerate() {
                noise.group(s, start + i + g * LANES, rows);
            }
            clip.clip(s, values, sigma, job.iterations);
            for (g, rows) in values.chunks_exact(n).enumerate() {
                let group = clip.group(s, g);
                let (means, kept) = group_means(s, rows, &group, job.numerics, rejected);
                let at = i + g * LANES;
                mean[at..at + LANES].copy_from_slice(&means);
                used[at..at + LANES].copy_from_slice(&kept);
            }
            i += groups * LANES;
        }
    }
    while i < mean.len() {
        (mean[i], used[i]) = kernel.clip_pixel(noise, start + i, rejected, &job.method, &mut ());
        i += 1;
    }
}

/// The mean of each lane's kept values, summed in frame order as soxspipe sums them (a
/// clipped value leaves the sum untouched, as skipping it would), and how many were
/// kept; clipped values are counted per frame into `rejected`.
#[inline(always)]
fn group_means<S: Simd>(
    s: S,
    values: &[S::F64],
    group: &GroupClip<S>,
    numerics: Numerics,
    rejected: &mut [usize],
) -> ([f32; LANES], [u16; LANES]) {
    let (one, zero) = (s.splat(1.0), s.splat(0.0));
    let mut kept = zero;
    // Sums in float32 for soxspipe's numerics, in float64 for exact ones.
    let (mut sum32, mut sum64) = (s.zero32(), zero);
    if group.keeps_all {
        kept = s.splat(values.len() as f64);
        for &row in values {
            match numerics {
                Numerics::Soxspipe => sum32 = s.add32_where(s.mask(true), sum32, s.narrow(row)),
                Numerics::Exact => sum64 = s.add(sum64, row),
            }
        }
    } else {
        for (&row, r) in values.iter().zip(rejected.iter_mut()) {
            let keep = group.keeps(s, row);
            kept = s.add(kept, s.select(keep, one, zero));
            *r += LANES - s.bits(keep).count_ones() as usize;
            match numerics {
                Numerics::Soxspipe => sum32 = s.add32_where(keep, sum32, s.narrow(row)),
                Numerics::Exact => sum64 = s.select(keep, s.add(sum64, row), sum64),
            }
        }
    }
    let counts = s.store(kept);
    let means: [f32; LANES] = match numerics {
        Numerics::Soxspipe => {
            let sum = s.store32(sum32);
            std::array::from_fn(|l| sum[l] / counts[l] as f32)
        }
        Numerics::Exact => {
            let sum = s.store(sum64);
            std::array::from_fn(|l| (sum[l] / counts[l]) as f32)
        }
    };
    let kept = counts.map(|k| k as u16);
    let means = std::array::from_fn(|l| if kept[l] == 0 { f32::NAN } else { means[l] });
    (means, kept)
}

/// Frames as the stack reads them.
pub enum StackInput<'a> {
    /// Electrons.
    Electrons(Vec<&'a [f32]>),
    /// Raw ADU and the gain that turns them into electrons ([`electrons_of`]).
    Adu { adu: Vec<&'a [u16]>, gain: f64 },
}

impl StackInput<'_> {
    fn frames(&self) -> usize {
        match self {
            StackInput::Electrons(frames) => frames.len(),
            StackInput::Adu { adu, .. } => adu.len(),
        }
    }

    fn pixels(&self) -> usize {
        match self {
            StackInput::Electrons(frames) => frames.first().map_or(0, |f| f.len()),
            StackInput::Adu { adu, .. } => adu.first().map_or(0, |f| f.len()),
        }
    }
}

/// Per-pixel median/MAD clip of the noise frames, then the mean of the survivors
/// (soxspipe: bottleneck's float32 `nanmean`, frames summed in observing order), with
/// soxspipe 0.19's input masks when given.
pub fn clip_and_stack(
    input: &StackInput<'_>,
    levels: &[f64],
    cols: usize,
    settings: StackSettings,
    masks: Option<&InputMasks>,
    progress: &dyn Progress,
) -> Result<Stacked> {
    let n = input.frames();
    let pixels = input.pixels();
    let mut mean = zeros::<f32>(pixels);
    let mut used = zeros::<u16>(pixels);
    // Bands of rows, at most BAND_ROWS, and enough of them that the progress moves.
    let rows = pixels / cols.max(1);
    let band = (rows / PROGRESS_STEPS).clamp(1, BAND_ROWS) * cols.max(1);
    let bands = pixels.div_ceil(band);
    // The stage begins now, not when the first band is done.
    progress.report(Stage::Stacking {
        done: 0,
        total: bands,
    });
    let done = AtomicUsize::new(0);
    let mut run = |job: &(dyn Fn(Band<'_>) + Sync)| {
        mean.par_chunks_mut(band)
            .zip(used.par_chunks_mut(band))
            .enumerate()
            .map(|(b, (mean, used))| {
                if progress.cancelled() {
                    return Err(Error::Cancelled);
                }
                let mut rejected = vec![0usize; n];
                job(Band {
                    start: b * band,
                    mean,
                    used,
                    rejected: &mut rejected,
                });
                let finished = done.fetch_add(1, Ordering::Relaxed) + 1;
                progress.report(Stage::Stacking {
                    done: finished,
                    total: bands,
                });
                Ok(rejected)
            })
            .try_reduce(
                || vec![0usize; n],
                |mut a, b| {
                    a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                    Ok(a)
                },
            )
    };
    let rejected = match (input, masks) {
        (StackInput::Electrons(frames), None) => {
            let job = StackJob::new(ElectronNoise { frames, levels }, n, settings);
            run(&|band| dispatch(BandKernel { job: &job, band }))?
        }
        (StackInput::Adu { adu, gain }, None) => {
            let noise = AduNoise {
                frames: adu,
                gain: *gain,
                levels,
            };
            let job = StackJob::new(noise, n, settings);
            run(&|band| dispatch(BandKernel { job: &job, band }))?
        }
        (StackInput::Electrons(frames), Some(masks)) => {
            let inner = ElectronNoise { frames, levels };
            let job = StackJob::new(MaskedNoise { inner, masks }, n, settings);
            run(&|band| dispatch(BandKernel { job: &job, band }))?
        }
        (StackInput::Adu { adu, gain }, Some(masks)) => {
            let inner = AduNoise {
                frames: adu,
                gain: *gain,
                levels,
            };
            let job = StackJob::new(MaskedNoise { inner, masks }, n, settings);
            run(&|band| dispatch(BandKernel { job: &job, band }))?
        }
    };
    Ok(Stacked {
        mean,
        used,
        rejected,
    })
}

/// The combined uncertainty for `used` surviving frames of constant error `ron`
/// (soxspipe: float32 mean of the ERRS maps, divided by √n in float64). A median is
/// √(π/2) noisier than a mean for Gaussian noise; for one or two values the two agree
/// (HDRL's convention).
pub fn stacked_uncertainty(ron: f32, used: u16, numerics: Numerics, combine: Combine) -> f32 {
    if used == 0 {
        return f32::NAN;
    }
    if combine == Combine::Median && used > 2 {
        let mean = stacked_uncertainty(ron, used, Numerics::Exact, Combine::Mean);
        return (f64::from(mean) * std::f64::consts::FRAC_PI_2.sqrt()) as f32;
    }
    let root = f64::from(used).sqrt();
    match numerics {
        Numerics::Soxspipe => {
            let sum = (0..used).fold(0f32, |s, _| s + ron);
            (f64::from(sum / f32::from(used)) / root) as f32
        }
        Numerics::Exact => (f64::from(ron) / root) as f32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithm::dispatch::each_available;
    use crate::progress::Silent;

    /// soxspipe's stack clip (MAD-σ rejection, mean) at `sigma`, three rounds.
    fn soxspipe_clip(sigma: f64, numerics: Numerics) -> StackSettings {
        StackSettings {
            sigma,
            iterations: 3,
            numerics,
            method: StackMethod::SOXSPIPE,
        }
    }

    #[test]
    fn stack_rejects_a_cosmic_and_averages_the_rest() {
        let frames = [
            vec![11.0f32, 10.0],
            vec![12.0, 10.0],
            vec![13.0, 10.0],
            vec![12.0, 10.0],
            vec![510.0, 10.0],
        ];
        let slices: Vec<&[f32]> = frames.iter().map(Vec::as_slice).collect();
        let input = StackInput::Electrons(slices);
        let s = clip_and_stack(
            &input,
            &[10.0; 5],
            2,
            soxspipe_clip(3.0, Numerics::Soxspipe),
            None,
            &Silent,
        )
        .unwrap();
        assert_eq!(s.used, vec![4, 5]);
        assert_eq!(s.mean, vec![2.0, 0.0]);
        assert_eq!(s.rejected, vec![0, 0, 0, 0, 1]);
    }

    /// Records the stacking stages reported.
    struct Recorder(std::sync::Mutex<Vec<usize>>);

    impl Progress for Recorder {
        fn report(&self, stage: Stage) {
            if let Stage::Stacking { done, .. } = stage {
                self.0.lock().unwrap().push(done);
            }
        }
    }

    #[test]
    fn many_small_frames_stack_deep_and_report_as_they_go() {
        // 200 frames of 40 × 56 in ADU: deeper than the sorting networks; the same values
        // as in electrons, and the progress moves.
        let (rows, cols, n, gain) = (40, 56, 200, 1.5);
        let adu: Vec<Vec<u16>> = (0..n)
            .map(|k| {
                (0..rows * cols)
                    .map(|p| {
                        1000 + ((p * 7919 + k * 104_729) % 13) as u16
                            + u16::from(p == 77 && k == 5) * 900
                    })
                    .collect()
            })
            .collect();
        let electrons: Vec<Vec<f32>> = adu
            .iter()
            .map(|f| f.iter().map(|&a| electrons_of(a, gain)).collect())
            .collect();
        let levels = vec![1509.0; n];
        let settings = soxspipe_clip(3.0, Numerics::Soxspipe);
        let recorder = Recorder(std::sync::Mutex::new(Vec::new()));
        let by_adu = clip_and_stack(
            &StackInput::Adu {
                adu: adu.iter().map(Vec::as_slice).collect(),
                gain,
            },
            &levels,
            cols,
            settings,
            None,
            &recorder,
        )
        .unwrap();
        let by_electrons = clip_and_stack(
            &StackInput::Electrons(electrons.iter().map(Vec::as_slice).collect()),
            &levels,
            cols,
            settings,
            None,
            &Silent,
        )
        .unwrap();
        assert_eq!(by_adu.mean, by_electrons.mean);
        assert_eq!(by_adu.used, by_electrons.used);
        assert_eq!(by_adu.rejected[5], 1, "the hot value goes");
        let reports = recorder.0.into_inner().unwrap();
        assert!(reports.len() > 20, "{reports:?}");
    }

    #[test]
    fn vector_groups_agree_with_the_scalar_clip_pixel_by_pixel() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        // 8-pixel groups in a block of 16 and one of 4, then three single pixels. Hits
        // in the first 40 % of the pixels only, so that a wide σ leaves groups where no
        // value is clipped.
        let pixels = 8 * (BLOCK_GROUPS + 4) + 3;
        for n in [3, 5, 7, 11, 21] {
            let frames: Vec<Vec<f32>> = (0..n)
                .map(|_| {
                    (0..pixels)
                        .map(|p| {
                            let hit = if p * 5 < pixels * 2 && rng.random_range(0..15) == 0 {
                                300.0
                            } else {
                                0.0
                            };
                            100.0 + rng.random_range(-6i32..6) as f32 * 0.5 + hit
                        })
                        .collect()
                })
                .collect();
            let slices: Vec<&[f32]> = frames.iter().map(Vec::as_slice).collect();
            let levels = vec![100.25; n];
            for (sigma, numerics) in [
                (2.5, Numerics::Soxspipe),
                (6.0, Numerics::Soxspipe),
                (2.5, Numerics::Exact),
                (6.0, Numerics::Exact),
            ] {
                let stacked = clip_and_stack(
                    &StackInput::Electrons(slices.clone()),
                    &levels,
                    pixels,
                    soxspipe_clip(sigma, numerics),
                    None,
                    &Silent,
                )
                .unwrap();
                let mut rejected = vec![0; n];
                for p in 0..pixels {
                    let values: Vec<f64> = slices
                        .iter()
                        .map(|f| f64::from((f64::from(f[p]) - 100.25) as f32))
                        .collect();
                    let (mut scratch, mut clipped) = (vec![0.0; n], vec![false; n]);
                    pixel_clip::clip_stack_median_mad(
                        &values,
                        sigma,
                        3,
                        &mut scratch,
                        &mut clipped,
                        &mut (),
                    );
                    for (r, &c) in rejected.iter_mut().zip(&clipped) {
                        *r += usize::from(c);
                    }
                    let kept: Vec<f64> = values
                        .iter()
                        .zip(&clipped)
                        .filter(|(_, c)| !**c)
                        .map(|(v, _)| *v)
                        .collect();
                    let mean = match numerics {
                        Numerics::Soxspipe => {
                            kept.iter().fold(0f32, |s, &v| s + v as f32) / kept.len() as f32
                        }
                        Numerics::Exact => {
                            (kept.iter().fold(0f64, |s, &v| s + v) / kept.len() as f64) as f32
                        }
                    };
                    let case = format!("n={n} σ={sigma} {numerics:?} p={p}");
                    assert_eq!(stacked.used[p] as usize, kept.len(), "{case}");
                    assert_eq!(stacked.mean[p].to_bits(), mean.to_bits(), "{case}");
                }
                assert_eq!(stacked.rejected, rejected, "n={n} σ={sigma} {numerics:?}");
            }
        }
    }

    /// soxspipe 0.19's input masks, stacked in vector groups (bands of 13 pixels, so
    /// that groups start on and off a mask byte) and one pixel at a time, against the
    /// pixel-stack inspector's stack of each pixel.
    #[test]
    fn masked_groups_agree_with_each_pixels_stack() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(23);
        let (rows, cols, n) = (40, 13, 11);
        let pixels = rows * cols;
        let frames: Vec<Vec<f32>> = (0..n)
            .map(|_| {
                (0..pixels)
                    .map(|p| {
                        // Pixels 7 and 300 lie outside every frame's kept range.
                        let hot = if p == 7 || p == 300 { 50.0 } else { 0.0 };
                        100.0 + rng.random_range(-8i32..8) as f32 * 0.5 + hot
                    })
                    .collect()
            })
            .collect();
        let masks: Vec<FrameMask<'_>> = frames
            .iter()
            .map(|data| FrameMask::Electrons {
                data,
                low: 96.6,
                high: 103.4,
            })
            .collect();
        let (input, every) = InputMasks::measure(&masks, pixels);
        assert!(every[7] && every[300] && every.iter().filter(|&&e| e).count() < 20);
        let slices: Vec<&[f32]> = frames.iter().map(Vec::as_slice).collect();
        let levels = vec![100.25; n];
        let settings = soxspipe_clip(2.0, Numerics::Exact);
        let stacked = clip_and_stack(
            &StackInput::Electrons(slices.clone()),
            &levels,
            cols,
            settings,
            Some(&input),
            &Silent,
        )
        .unwrap();
        let mut left_out = 0;
        for p in 0..pixels {
            let electrons: Vec<f32> = slices.iter().map(|f| f[p]).collect();
            let excluded: Vec<bool> = (0..n).map(|k| input.excludes(k, p)).collect();
            left_out += excluded.iter().filter(|&&e| e).count();
            let alone = stack_pixel(&electrons, &levels, &excluded, settings);
            assert_eq!(stacked.mean[p].to_bits(), alone.combined.to_bits(), "p={p}");
            assert_eq!(stacked.used[p], alone.used, "p={p}");
        }
        assert!(left_out > pixels / 2, "{left_out} values left out");
    }

    /// `n` frames of 16-bit bias values with about one cosmic hit in twelve pixels, and
    /// their electrons at `gain`.
    fn adu_frames(
        rng: &mut impl rand::Rng,
        n: usize,
        pixels: usize,
        gain: f64,
    ) -> (Vec<Vec<u16>>, Vec<Vec<f32>>) {
        let adu: Vec<Vec<u16>> = (0..n)
            .map(|_| {
                (0..pixels)
                    .map(|_| {
                        let hit = if rng.random_range(0..12) == 0 { 900 } else { 0 };
                        1000 + rng.random_range(0..9u16) + hit
                    })
                    .collect()
            })
            .collect();
        let electrons = adu
            .iter()
            .map(|f| f.iter().map(|&a| electrons_of(a, gain)).collect())
            .collect();
        (adu, electrons)
    }

    /// Four 8-pixel groups and a tail of single pixels.
    const BAND_PIXELS: usize = 37;

    /// A band of [`BAND_PIXELS`] pixels stacked into buffers of its own, so it can run
    /// once per instruction set.
    struct OwnBand<'a, N>(&'a StackJob<N>);
    impl<N: Noise> Kernel for OwnBand<'_, N> {
        type Output = (Vec<u32>, Vec<u16>, Vec<usize>);
        const WIDEST: Isa = Isa::Avx512;
        #[inline(always)]
        fn run<S: Simd>(self, s: S) -> Self::Output {
            let job = self.0;
            let (mut mean, mut used) = (vec![0f32; BAND_PIXELS], vec![0u16; BAND_PIXELS]);
            let mut rejected = vec![0usize; job.frames];
            let band = Band {
                start: 0,
                mean: &mut mean,
                used: &mut used,
                rejected: &mut rejected,
            };
            stack_band(s, job, band);
            (mean.iter().map(|m| m.to_bits()).collect(), used, rejected)
        }
    }

    #[test]
    fn every_instruction_set_stacks_to_the_same_bits() {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(17);
        let gain = 1.37;
        for n in [2, 3, 7, 11, 21] {
            let (adu, electrons) = adu_frames(&mut rng, n, BAND_PIXELS, gain);
            let adu: Vec<&[u16]> = adu.iter().map(Vec::as_slice).collect();
            let electrons: Vec<&[f32]> = electrons.iter().map(Vec::as_slice).collect();
            let levels: Vec<f64> = (0..n).map(|k| 1372.5 + k as f64 * 0.25).collect();
            for numerics in [Numerics::Soxspipe, Numerics::Exact] {
                let settings = soxspipe_clip(2.5, numerics);
                let noise = ElectronNoise {
                    frames: &electrons,
                    levels: &levels,
                };
                let electron_job = StackJob::new(noise, n, settings);
                let adu_noise = AduNoise {
                    frames: &adu,
                    gain,
                    levels: &levels,
                };
                let adu_job = StackJob::new(adu_noise, n, settings);
                let from_electrons = each_available(|| OwnBand(&electron_job));
                let expected = from_electrons[0].1.clone();
                for (isa, result) in from_electrons {
                    assert_eq!(result, expected, "n={n} {numerics:?}, electrons on {isa}");
                }
                for (isa, result) in each_available(|| OwnBand(&adu_job)) {
                    assert_eq!(result, expected, "n={n} {numerics:?}, ADU on {isa}");
                }
            }
        }
    }

    #[test]
    fn adu_frames_stack_to_the_bits_of_their_electrons() {
        use crate::params::{Combine, Rejection};
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let gain = 1.37;
        // Bands of 8-pixel groups and single pixels.
        let (rows, cols) = (2, 4096 + 13);
        for n in [2, 5, 11] {
            let (adu, electrons) = adu_frames(&mut rng, n, rows * cols, gain);
            let levels: Vec<f64> = (0..n).map(|k| 1372.5 + k as f64 * 0.25).collect();
            let methods = [
                StackMethod::SOXSPIPE,
                StackMethod {
                    rejection: Rejection::NoiseModel,
                    combine: Combine::Median,
                    read_noise: 3.0,
                },
            ];
            for numerics in [Numerics::Soxspipe, Numerics::Exact] {
                for method in methods {
                    let settings = StackSettings {
                        sigma: 2.0,
                        iterations: 3,
                        numerics,
                        method,
                    };
                    let stack = |input: &StackInput<'_>| {
                        clip_and_stack(input, &levels, cols, settings, None, &Silent).unwrap()
                    };
                    let from_adu = stack(&StackInput::Adu {
                        adu: adu.iter().map(Vec::as_slice).collect(),
                        gain,
                    });
                    let from_electrons = stack(&StackInput::Electrons(
                        electrons.iter().map(Vec::as_slice).collect(),
                    ));
                    let bits = |s: &Stacked| s.mean.iter().map(|m| m.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&from_adu), bits(&from_electrons), "n={n} {numerics:?}");
                    assert_eq!(from_adu.used, from_electrons.used);
                    assert_eq!(from_adu.rejected, from_electrons.rejected);
                }
            }
        }
    }

    #[test]
    fn noise_frames_subtract_in_float64() {
        assert_eq!(
            subtract_level(&[1.0e6, 10.0], 10.0),
            vec![1.0e6 - 10.0, 0.0]
        );
    }

    #[test]
    fn uncertainty_is_ron_over_root_n() {
        let u = stacked_uncertainty(4.2, 7, Numerics::Exact, Combine::Mean);
        assert!((f64::from(u) - 4.2 / 7f64.sqrt()).abs() < 1e-6);
        assert!(stacked_uncertainty(4.2, 0, Numerics::Soxspipe, Combine::Mean).is_nan());
        let median = stacked_uncertainty(4.2, 7, Numerics::Exact, Combine::Median);
        assert!((f64::from(median / u) - 1.2533).abs() < 1e-4);
        assert_eq!(
            stacked_uncertainty(4.2, 2, Numerics::Exact, Combine::Median),
            stacked_uncertainty(4.2, 2, Numerics::Exact, Combine::Mean)
        );
    }
}
