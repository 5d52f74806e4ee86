//! From the frames' levels to the master bias: the stack, the final mask, the
//! uncertainties and the product images (soxspipe's `soxs_mbias` after
//! `subtract_mean_flux_level`). [`stack_levels`] reads as the list of these steps.

use std::sync::{Arc, OnceLock};

use ndarray::Array2;
use rayon::prelude::*;

use super::errs::Errs;
use super::frame::{ElectronTable, Frame, Samples, image, standard};
use super::frame_clip::{ClipBounds, FrameLevel, clip_frame_bounds};
use super::frame_mask::FrameMask;
use super::numerics::{self, median_in_place, numpy_masked_mean_std, numpy_std_f32};
use super::raw_ron::difference_ron;
use super::stack::{
    InputMasks, StackInput, StackMethod, StackSettings, clip_and_stack, subtract_level,
};
use crate::error::{Error, Result};
use crate::params::{ClipParams, Numerics, RecipeVersion};
use crate::progress::Progress;

/// What one frame contributed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FrameStats {
    pub name: String,
    /// Clipped mean level, e-.
    pub level: f64,
    /// Clipped standard deviation, e- (soxspipe's per-frame RON).
    pub noise: f64,
    /// Clipped median level, e-.
    pub median: f64,
    /// Pixels rejected by the whole-frame clip.
    pub frame_clipped: usize,
    /// Pixels rejected by the per-pixel stack clip.
    pub stack_rejected: usize,
}

/// The master bias and the intermediate values QC and the console need. Its images are
/// row-major arrays in standard layout ([`standard`] gives their pixels as a slice).
#[derive(Debug, Clone)]
pub struct MasterBias {
    /// Electrons; masked pixels carry the mean bias level.
    pub flux: Array2<f32>,
    /// 1 = bad.
    pub qual: Array2<u8>,
    /// ERRS, looked up from QUAL and `used` ([`MasterBias::errs_at`], [`MasterBias::errs_image`]).
    pub errs: Errs,
    /// Combined noise frame (mean level removed), NaN where every frame was clipped.
    pub combined: Array2<f32>,
    /// Per pixel, how many frames the stack kept (absent for a single frame, which is not
    /// clipped): the console's rejection map.
    pub used: Option<Array2<u16>>,
    pub frames: Vec<FrameStats>,
    pub mean_level: f64,
    pub median_level: f64,
    pub raw_ron: f64,
    /// The MASTER RON ([`MasterBias::master_ron`]): 0.17's, measured beside the post-stack
    /// clip; 0.19's, measured when first asked for.
    master_ron: OnceLock<f64>,
    /// Bounds of the post-stack clip (absent for a single frame, which soxspipe passes through).
    pub post_clip: Option<ClipBounds>,
    pub numerics: Numerics,
    pub params: ClipParams,
    pub method: StackMethod,
    pub version: RecipeVersion,
}

impl MasterBias {
    pub fn rows(&self) -> usize {
        self.flux.nrows()
    }

    pub fn cols(&self) -> usize {
        self.flux.ncols()
    }

    /// The MASTER RON. soxspipe 0.19's is a chain of float64 adds over the good pixels of
    /// the combined frame, about 18 ms of one core for a 4096² master, so it is left
    /// until asked for: the QC measures it while its FFTs take the other core.
    pub fn master_ron(&self) -> f64 {
        *self.master_ron.get_or_init(|| {
            let (combined, qual) = (standard(&self.combined), standard(&self.qual));
            master_ron_019(combined, |p| qual[p] != 0, self.numerics)
        })
    }

    /// ERRS of the pixel at row-major index `pixel`.
    pub fn errs_at(&self, pixel: usize) -> f32 {
        let mut value = [0f32];
        self.errs_into(pixel..pixel + 1, &mut value);
        value[0]
    }

    /// ERRS of the row-major `pixels`, written into `out` (as long as the range).
    pub fn errs_into(&self, pixels: std::ops::Range<usize>, out: &mut [f32]) {
        let qual = &standard(&self.qual)[pixels.clone()];
        let used = self.used.as_ref().map(|u| &standard(u)[pixels]);
        self.errs.fill(qual, used, out);
    }

    /// The whole ERRS image.
    pub fn errs_image(&self) -> Array2<f32> {
        let mut errs = Array2::zeros(self.qual.dim());
        if let Some(out) = errs.as_slice_mut() {
            self.errs_into(0..out.len(), out);
        }
        errs
    }

    /// Pixels QUAL flags, counted in 32-bit lanes on both cores (a count of a filter
    /// took 4.4 ms of one core for a 4096² master, in the middle of the QC).
    pub fn bad_pixels(&self) -> usize {
        standard(&self.qual)
            .par_chunks(1 << 16)
            .map(|piece| piece.iter().map(|&q| u32::from(q != 0)).sum::<u32>() as usize)
            .sum()
    }
}

/// What a stack is asked for besides its frames and their levels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StackRequest {
    pub params: ClipParams,
    pub numerics: Numerics,
    pub method: StackMethod,
    pub version: RecipeVersion,
    /// The read noise the headers (or the profile) give, e-: the uncertainty of one
    /// frame's pixel.
    pub ron: f64,
    /// soxspipe 0.19's RAW RON ([`difference_ron`] of the first two frames), when the
    /// caller has measured it: it depends on the frames and numerics only, so a re-stack
    /// need not measure it again. Measured here when absent.
    pub difference_ron: Option<f64>,
}

/// Stacks prepared frames whose [`frame_levels`](super::frame_levels) are known (for the
/// same parameters, numerics and version).
pub fn stack_levels(
    frames: &[Arc<Frame>],
    levels: &[FrameLevel],
    request: &StackRequest,
    progress: &dyn Progress,
) -> Result<MasterBias> {
    stack_levels_with(frames, levels, request, None, || None, progress)
}

/// [`stack_levels`], soxspipe 0.19's RAW RON (when the request has none) asked of
/// `difference_ron` while the frames stack: a caller that keeps the value for re-stacks
/// measures it on one core as the stack takes the other, instead of before it. Likewise
/// `clip_masks`, when given, are these frames' and levels' [`ClipMasks`], kept from an
/// earlier stack.
pub fn stack_levels_with(
    frames: &[Arc<Frame>],
    levels: &[FrameLevel],
    request: &StackRequest,
    clip_masks: Option<&ClipMasks>,
    difference_ron: impl FnOnce() -> Option<f64> + Send,
    progress: &dyn Progress,
) -> Result<MasterBias> {
    let summary = LevelSummary::of(levels);
    let (rows, cols) = frames.first().map_or((0, 0), |f| f.shape());
    let frame_masks = frame_masks(frames, levels);
    let stack = || match clip_masks {
        Some(known) => {
            let every = Some(known.every.clone());
            stack_rows(frames, levels, request, Some(&known.input), every, progress)
        }
        // 0.19's stack needs the pixels every frame masked first; 0.17's final mask takes
        // them beside the post-stack clip.
        None if request.version.is_019() => {
            let ClipMasks { input, every } = ClipMasks::measure(frames, &frame_masks);
            stack_rows(frames, levels, request, Some(&input), Some(every), progress)
        }
        None => stack_rows(frames, levels, request, None, None, progress),
    };
    let (stacked, raw_ron) = rayon::join(stack, || {
        match request.difference_ron.or_else(difference_ron) {
            Some(ron) if request.version.is_019() && frames.len() > 1 => ron,
            _ => raw_ron(frames, &summary, request.numerics, request.version),
        }
    });
    let names = frames.iter().map(|f| f.name.clone()).collect();
    let finish = Finish {
        shape: (rows, cols),
        names,
        levels,
        raw_ron,
        request,
    };
    finish.master(stacked?, &frame_masks, progress)
}

/// A band of rows of every frame stacked on its own, for a set too large to keep in
/// memory: what [`StackedRows::append`] gathers and [`Finish::master`] completes. Its
/// pixels are exactly those [`stack_levels`] gives these rows.
pub fn stack_band(
    frames: &[Arc<Frame>],
    levels: &[FrameLevel],
    request: &StackRequest,
    progress: &dyn Progress,
) -> Result<StackedRows> {
    let frame_masks = frame_masks(frames, levels);
    let ClipMasks { input, every } = ClipMasks::measure(frames, &frame_masks);
    stack_rows(frames, levels, request, Some(&input), Some(every), progress)
}

/// What each frame's whole-frame clip masked, as the stack takes it: soxspipe 0.19's
/// input masks, and the pixels every frame masked. They depend only on the frames and
/// their levels, so a re-stack that changes the stack clip alone reuses them (a pass over
/// every frame saved: 28 ms of a 4096² re-stack of 11 frames).
#[derive(Debug, Clone)]
pub struct ClipMasks {
    input: InputMasks,
    every: Vec<bool>,
}

impl ClipMasks {
    /// The masks of `frames` clipped at `levels`.
    pub fn of(frames: &[Arc<Frame>], levels: &[FrameLevel]) -> ClipMasks {
        ClipMasks::measure(frames, &frame_masks(frames, levels))
    }

    fn measure(frames: &[Arc<Frame>], frame_masks: &[FrameMask<'_>]) -> ClipMasks {
        let pixels = frames.first().map_or(0, |f| f.len());
        let (input, every) = InputMasks::measure(frame_masks, pixels);
        ClipMasks { input, every }
    }
}

/// Each frame's whole-frame clip as a mask over its pixels.
fn frame_masks<'a>(frames: &'a [Arc<Frame>], levels: &[FrameLevel]) -> Vec<FrameMask<'a>> {
    frames
        .iter()
        .zip(levels)
        .map(|(frame, level)| FrameMask::new(frame, &level.bounds))
        .collect()
}

/// The per-pixel part of a stack: the combined noise of `frames`' pixels, under 0.19's
/// input masks (given for 0.19), and the pixels `every` frame's clip masked, passed on
/// when known (the resident 0.17 stack finds them later, beside the post-stack clip).
fn stack_rows(
    frames: &[Arc<Frame>],
    levels: &[FrameLevel],
    request: &StackRequest,
    input_masks: Option<&InputMasks>,
    every: Option<Vec<bool>>,
    progress: &dyn Progress,
) -> Result<StackedRows> {
    let cols = frames.first().map_or(0, |f| f.shape().1);
    let input_masks = input_masks.filter(|_| request.version.is_019());
    let settings = StackSettings {
        sigma: request.params.stacked_clipping_sigma,
        iterations: request.params.stacked_clipping_iterations,
        numerics: request.numerics,
        method: request.method,
    };
    let noise = stack_noise(frames, levels, cols, settings, input_masks, progress)?;
    Ok(StackedRows { noise, every })
}

/// What the frames' pixels gave the stack over some rows: the combined noise, and the
/// pixels every frame's clip masked when they were measured with it.
pub struct StackedRows {
    noise: StackedNoise,
    every: Option<Vec<bool>>,
}

impl StackedRows {
    /// Nothing yet, with room for `pixels` pixels of `frames` frames.
    pub fn with_capacity(pixels: usize, frames: usize) -> StackedRows {
        StackedRows {
            noise: StackedNoise {
                noise: Vec::with_capacity(pixels),
                used: (frames > 1).then(|| Vec::with_capacity(pixels)),
                rejected: vec![0; frames],
            },
            every: Some(Vec::with_capacity(pixels)),
        }
    }

    /// `band`'s rows after these: a band of the same frames, stacked by [`stack_band`]
    /// (which always measures `every`).
    pub fn append(&mut self, band: StackedRows) {
        debug_assert_eq!(self.noise.used.is_some(), band.noise.used.is_some());
        debug_assert_eq!(self.every.is_some(), band.every.is_some());
        let (mine, theirs) = (&mut self.noise, band.noise);
        mine.noise.extend(theirs.noise);
        if let (Some(used), Some(more)) = (&mut mine.used, theirs.used) {
            used.extend(more);
        }
        for (total, r) in mine.rejected.iter_mut().zip(theirs.rejected) {
            *total += r;
        }
        if let (Some(every), Some(more)) = (&mut self.every, band.every) {
            every.extend(more);
        }
    }
}

/// What the last steps of a stack need besides its pixels.
pub struct Finish<'a> {
    /// (rows, columns) of the master.
    pub shape: (usize, usize),
    /// The frames' names, in the order of `levels`.
    pub names: Vec<String>,
    pub levels: &'a [FrameLevel],
    /// The RAW RON of the version asked for ([`raw_ron_of`]).
    pub raw_ron: f64,
    pub request: &'a StackRequest,
}

impl Finish<'_> {
    /// The final mask, the uncertainties and the product images of the stacked rows
    /// (every frame's rows, in order); `frame_masks` give the pixels every frame masked
    /// when the stack did not measure them.
    pub fn master(
        &self,
        stacked: StackedRows,
        frame_masks: &[FrameMask<'_>],
        progress: &dyn Progress,
    ) -> Result<MasterBias> {
        let Finish {
            shape: (rows, cols),
            levels,
            raw_ron,
            request,
            ..
        } = *self;
        let StackRequest {
            params,
            numerics,
            method,
            version,
            ron,
            ..
        } = *request;
        let summary = LevelSummary::of(levels);
        let StackedRows { mut noise, every } = stacked;
        let every = every.map_or(Every::Masked(frame_masks), Every::Known);
        let masked = mask_and_measure(every, rows * cols, &noise, request);
        if progress.cancelled() {
            return Err(Error::Cancelled);
        }
        if version.is_019() {
            // The stack counted each frame's masked values as rejected; they were the frame
            // clip's, not the stack's.
            let shared = masked.every_count;
            for (rejected, level) in noise.rejected.iter_mut().zip(levels) {
                *rejected = rejected.saturating_sub(level.clipped.saturating_sub(shared));
            }
        }
        let errs = Errs::new(levels.len(), ron, raw_ron, numerics, method);
        let images = product_images(&noise, &masked.mask, summary.mean);
        let master_ron = masked
            .all_pixels_ron
            .map_or_else(OnceLock::new, OnceLock::from);
        Ok(MasterBias {
            flux: image(rows, cols, images.flux),
            qual: image(rows, cols, images.qual),
            errs,
            combined: image(rows, cols, noise.noise),
            used: noise.used.map(|used| image(rows, cols, used)),
            frames: frame_stats(&self.names, levels, &noise.rejected),
            mean_level: summary.mean,
            median_level: summary.median,
            raw_ron,
            master_ron,
            post_clip: masked.post_clip,
            numerics,
            params,
            method,
            version,
        })
    }
}

/// soxspipe 0.17's RAW RON of frames with these `levels` (the mean of their clipped
/// standard deviations), or 0.19's `difference` of the first two frames when there are two
/// (which the caller must have measured: without it, 0.19 falls back to 0.17's value).
pub fn raw_ron_of(levels: &[FrameLevel], version: RecipeVersion, difference: Option<f64>) -> f64 {
    match difference {
        Some(ron) if version.is_019() && levels.len() > 1 => ron,
        _ => LevelSummary::of(levels).mean_noise,
    }
}

/// soxspipe's RAW RON: in 0.17 the mean of the frames' clipped standard deviations; in
/// 0.19 from the difference of the first two frames (a single frame keeps the mean).
fn raw_ron(
    frames: &[Arc<Frame>],
    summary: &LevelSummary,
    numerics: Numerics,
    version: RecipeVersion,
) -> f64 {
    match frames {
        [first, second, ..] if version.is_019() => {
            difference_ron(first, second, None, numerics, None)
        }
        _ => summary.mean_noise,
    }
}

/// The frames' levels summed up.
struct LevelSummary {
    /// soxspipe's mean bias level, which the master is put back on.
    mean: f64,
    median: f64,
    /// The mean of the frames' clipped standard deviations (soxspipe 0.17's RAW RON).
    mean_noise: f64,
}

impl LevelSummary {
    fn of(levels: &[FrameLevel]) -> LevelSummary {
        let mut values: Vec<f64> = levels.iter().map(|l| l.level).collect();
        let noises: Vec<f64> = levels.iter().map(|l| l.noise).collect();
        let mean_level = mean(&values);
        LevelSummary {
            mean: mean_level,
            median: median_in_place(&mut values).unwrap_or(f64::NAN),
            mean_noise: mean(&noises),
        }
    }
}

/// `np.mean` of a float64 list: numpy's pairwise sum divided by the count.
fn mean(values: &[f64]) -> f64 {
    numerics::numpy_sum(values) / values.len() as f64
}

/// The combined noise frame and what the stack counted.
struct StackedNoise {
    /// The frames less their levels, combined; NaN where every frame was clipped.
    noise: Vec<f32>,
    /// Per pixel, how many frames survived the stack clip; absent for a single frame,
    /// which is not clipped. The uncertainty follows from it, so no frame-sized
    /// uncertainty map is kept.
    used: Option<Vec<u16>>,
    /// Per frame, pixels the stack clip rejected.
    rejected: Vec<usize>,
}

/// The per-pixel stack clip and combination of the noise frames.
fn stack_noise(
    frames: &[Arc<Frame>],
    levels: &[FrameLevel],
    cols: usize,
    settings: StackSettings,
    masks: Option<&InputMasks>,
    progress: &dyn Progress,
) -> Result<StackedNoise> {
    if let ([frame], [level]) = (frames, levels) {
        // soxspipe's clip_and_stack hands a single frame back unchanged.
        return Ok(StackedNoise {
            noise: subtract_level(&frame.electrons(), level.level),
            used: None,
            rejected: vec![0],
        });
    }
    let level_values: Vec<f64> = levels.iter().map(|l| l.level).collect();
    let stacked = clip_and_stack(
        &stack_input(frames),
        &level_values,
        cols,
        settings,
        masks,
        progress,
    )?;
    Ok(StackedNoise {
        noise: stacked.mean,
        used: Some(stacked.used),
        rejected: stacked.rejected,
    })
}

/// The frames as the stack reads them.
fn stack_input(frames: &[Arc<Frame>]) -> StackInput<'_> {
    let adu: Option<(Vec<&[u16]>, &ElectronTable)> = frames
        .iter()
        .map(|f| match &f.samples {
            Samples::Adu { adu, table, .. } => Some((standard(adu), table)),
            Samples::Electrons(_) => None,
        })
        .collect::<Option<Vec<_>>>()
        .and_then(|frames| {
            let table = frames.first()?.1;
            Some((frames.into_iter().map(|f| f.0).collect(), table))
        });
    match adu {
        Some((adu, table)) => StackInput::Adu {
            adu,
            gain: table.gain(),
        },
        None => StackInput::Electrons(
            frames
                .iter()
                .map(|f| match &f.samples {
                    Samples::Electrons(data) => standard(data),
                    Samples::Adu { .. } => &[][..],
                })
                .collect(),
        ),
    }
}

/// The final bad-pixel mask and the statistics measured beside it.
struct Masked {
    /// `true` = bad.
    mask: Vec<bool>,
    /// How many pixels every frame's clip masked.
    every_count: usize,
    /// Bounds of the post-stack clip (absent for a single frame).
    post_clip: Option<ClipBounds>,
    /// soxspipe 0.17's master RON, over all pixels, measured beside the post-stack clip;
    /// 0.19's needs the mask, and is measured beside the product images.
    all_pixels_ron: Option<f64>,
}

/// Per pixel, whether every frame's whole-frame clip masked it.
fn every_frame_masks(frame_masks: &[FrameMask<'_>], pixels: usize) -> Vec<bool> {
    (0..pixels)
        .into_par_iter()
        .map(|p| frame_masks.iter().all(|m| m.masks(p)))
        .collect()
}

/// The pixels every frame's whole-frame clip masked: known, or to be found from the masks.
enum Every<'a> {
    Known(Vec<bool>),
    Masked(&'a [FrameMask<'a>]),
}

/// The final mask: pixels every frame's whole-frame clip masked (`every`, measured here
/// from the frames' masks when not known), pixels the stack clip left without a frame, and pixels the post-stack
/// clip rejects; with the master RON. The post-stack clip is one long chain of float32
/// adds (soxspipe numerics), so what does not depend on it runs beside it: the first
/// parts of the mask and, in 0.17 (over all pixels), the master RON.
fn mask_and_measure(
    every: Every<'_>,
    pixels: usize,
    stacked: &StackedNoise,
    request: &StackRequest,
) -> Masked {
    let StackRequest {
        params,
        numerics,
        version,
        ..
    } = *request;
    let noise = &stacked.noise;
    let unstacked = move || {
        let mut mask = match every {
            Every::Known(every) => every,
            Every::Masked(frame_masks) => every_frame_masks(frame_masks, pixels),
        };
        let every_count = mask.iter().filter(|&&m| m).count();
        if let Some(used) = &stacked.used {
            mask.par_iter_mut()
                .zip(used)
                .for_each(|(m, &n)| *m |= n == 0);
        }
        (mask, every_count)
    };
    let post_clip = || {
        // soxspipe passes a single frame through: no post-stack clip.
        stacked.used.as_ref().map(|_| {
            clip_frame_bounds(
                noise,
                params.frame_clipping_sigma,
                params.frame_clipping_iterations,
                numerics,
                version,
            )
        })
    };
    let ((mut mask, every_count), (post_clip, all_pixels_ron)) = if version.is_019() {
        rayon::join(unstacked, || (post_clip(), None))
    } else {
        rayon::join(unstacked, || {
            let (bounds, ron) = rayon::join(post_clip, || master_ron_017(noise, numerics));
            (bounds, Some(ron))
        })
    };
    if let Some(bounds) = post_clip {
        let (low, high) = bounds.kept_range();
        mask.par_iter_mut()
            .zip(noise)
            .for_each(|(m, &v)| *m |= !(low <= v && v <= high));
    }
    Masked {
        mask,
        every_count,
        post_clip,
        all_pixels_ron,
    }
}

/// soxspipe 0.17's `MASTER RON`: `np.std` of the combined noise frame over all pixels
/// (float32; NaN if any pixel lost every frame).
fn master_ron_017(combined: &[f32], numerics: Numerics) -> f64 {
    match numerics {
        Numerics::Soxspipe => f64::from(numpy_std_f32(combined)),
        Numerics::Exact => numerics::mean_std_f64(combined).map_or(f64::NAN, |(_, s)| s),
    }
}

/// soxspipe 0.19's `MASTER RON`: `np.ma.std` of the combined noise frame over the pixels
/// the final mask keeps.
fn master_ron_019(combined: &[f32], masked: impl Fn(usize) -> bool, numerics: Numerics) -> f64 {
    let std = match numerics {
        Numerics::Soxspipe => numpy_masked_mean_std(combined, masked),
        Numerics::Exact => numerics::mean_std_f64_of(|| {
            combined
                .iter()
                .enumerate()
                .filter(|&(p, _)| !masked(p))
                .map(|(_, &v)| v)
        }),
    };
    std.map_or(f64::NAN, |(_, s)| s)
}

/// The images of the product FLUX and QUAL (ERRS follows from QUAL and the counts:
/// [`Errs`]).
struct ProductImages {
    /// The noise frame put back on the mean level; masked pixels carry the mean level.
    flux: Vec<f32>,
    /// 1 = bad.
    qual: Vec<u8>,
}

/// The product images, each collected in parallel: every thread writes (and so faults
/// in) its own pages, and nothing is zeroed first (`vec!` would zero a 4096² image on one
/// thread, memory a re-stack gets back from the last one).
fn product_images(stacked: &StackedNoise, mask: &[bool], mean_level: f64) -> ProductImages {
    let flux = stacked
        .noise
        .par_iter()
        .zip(mask)
        .map(|(&v, &masked)| ((if masked { 0.0 } else { f64::from(v) }) + mean_level) as f32)
        .collect();
    let qual = mask.par_iter().map(|&masked| u8::from(masked)).collect();
    ProductImages { flux, qual }
}

/// What each frame contributed.
fn frame_stats(names: &[String], levels: &[FrameLevel], rejected: &[usize]) -> Vec<FrameStats> {
    names
        .iter()
        .zip(levels)
        .zip(rejected)
        .map(|((name, l), &r)| FrameStats {
            name: name.clone(),
            level: l.level,
            median: l.median,
            noise: l.noise,
            frame_clipped: l.clipped,
            stack_rejected: r,
        })
        .collect()
}
