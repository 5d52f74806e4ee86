//! The master-bias algorithm of soxspipe 0.17.4 `soxs_mbias` (spec/soxspipe-mbias.md §3–§4).
//!
//! [`prepare`] reads frames once; [`stack`] turns prepared frames into a master and can be
//! called again with new parameters on the same frames (live tuning in the console).

mod dispatch;
mod frame_clip;
mod histogram;
mod network;
pub mod numerics;
mod prepare;
mod simd;
mod stack;

pub use frame_clip::{ClipBounds, FrameLevel, frame_levels, measure_frame, measure_frames};
pub use histogram::AduHistogram;
pub use prepare::{ElectronTable, PreparedFrame, PreparedSet, Samples, prepare, prepare_reusing};
pub use stack::{
    StackInput, StackMethod, StackSettings, Stacked, clip_and_stack, stacked_uncertainty,
    subtract_level,
};

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::settings::{ClipParams, Numerics};
use frame_clip::clip_frame_bounds;
use numerics::{median_in_place, numpy_std_f32};

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

/// The master bias and the intermediate values QC and the console need.
#[derive(Debug, Clone)]
pub struct MasterBias {
    pub rows: usize,
    pub cols: usize,
    /// Electrons; masked pixels carry the mean bias level.
    pub flux: Vec<f32>,
    /// 1 = bad.
    pub qual: Vec<u8>,
    pub errs: Vec<f32>,
    /// Combined noise frame (mean level removed), NaN where every frame was clipped.
    pub combined: Vec<f32>,
    pub frames: Vec<FrameStats>,
    pub mean_level: f64,
    pub median_level: f64,
    pub raw_ron: f64,
    pub master_ron: f64,
    /// Bounds of the post-stack clip (absent for a single frame, which soxspipe passes through).
    pub post_clip: Option<ClipBounds>,
    pub numerics: Numerics,
    pub params: ClipParams,
    pub method: StackMethod,
}

impl MasterBias {
    pub fn bad_pixels(&self) -> usize {
        self.qual.iter().filter(|&&q| q != 0).count()
    }

    /// The master as soxspipe measures its STRUCT QCs: float64, before the float32 cast.
    pub fn flux_f64(&self, index: usize) -> f64 {
        let noise = if self.qual[index] != 0 {
            0.0
        } else {
            f64::from(self.combined[index])
        };
        noise + self.mean_level
    }
}

/// `np.mean` of a float64 list: numpy's pairwise sum divided by the count.
fn mean(values: &[f64]) -> f64 {
    numerics::numpy_sum(values) / values.len() as f64
}

/// soxspipe's `MASTER RON`: `np.std` of the combined noise frame over all pixels (float32;
/// NaN if any pixel lost every frame).
fn master_ron(combined: &[f32], numerics: Numerics) -> f64 {
    match numerics {
        Numerics::Soxspipe => f64::from(numpy_std_f32(combined)),
        Numerics::Exact => numerics::mean_std_f64(combined).map_or(f64::NAN, |(_, s)| s),
    }
}

/// The frames as the stack reads them.
fn stack_input(set: &PreparedSet) -> StackInput<'_> {
    let adu: Option<(Vec<&[u16]>, &ElectronTable)> = set
        .frames
        .iter()
        .map(|f| match &f.samples {
            Samples::Adu { adu, table, .. } => Some((adu.as_slice(), table)),
            Samples::Electrons(_) => None,
        })
        .collect::<Option<Vec<_>>>()
        .and_then(|frames| {
            let table = frames.first()?.1;
            Some((frames.into_iter().map(|f| f.0).collect(), table))
        });
    match adu {
        Some((adu, table)) => StackInput::Adu { adu, table },
        None => StackInput::Electrons(
            set.frames
                .iter()
                .map(|f| match &f.samples {
                    Samples::Electrons(data) => data.as_slice(),
                    Samples::Adu { .. } => &[][..],
                })
                .collect(),
        ),
    }
}

/// Where one frame's whole-frame clip masked it, for the per-pixel test of the final
/// mask: a 16-bit frame looks its ADU value up in a table made once, a float frame
/// compares with the float32 range its bounds keep.
enum FrameMask<'a> {
    Adu {
        adu: &'a [u16],
        masked: Vec<bool>,
    },
    Electrons {
        data: &'a [f32],
        low: f32,
        high: f32,
    },
}

impl<'a> FrameMask<'a> {
    fn new(frame: &'a PreparedFrame, bounds: &ClipBounds) -> FrameMask<'a> {
        match &frame.samples {
            Samples::Adu { adu, table, .. } => FrameMask::Adu {
                adu,
                masked: table.iter().map(|&e| bounds.rejects(e)).collect(),
            },
            Samples::Electrons(data) => {
                let (low, high) = bounds.kept_range();
                FrameMask::Electrons { data, low, high }
            }
        }
    }

    #[inline]
    fn masks(&self, p: usize) -> bool {
        match self {
            FrameMask::Adu { adu, masked } => masked[usize::from(adu[p])],
            FrameMask::Electrons { data, low, high } => !(*low <= data[p] && data[p] <= *high),
        }
    }
}

/// The final mask before the post-stack clip: pixels every frame's clip masked, and
/// pixels where the stack clip kept no frame.
fn unstacked_mask(set: &PreparedSet, levels: &[FrameLevel], used: &[u16]) -> Vec<bool> {
    let frame_masks: Vec<FrameMask<'_>> = set
        .frames
        .iter()
        .zip(levels)
        .map(|(frame, level)| FrameMask::new(frame, &level.bounds))
        .collect();
    used.par_iter()
        .enumerate()
        .map(|(p, &n)| n == 0 || frame_masks.iter().all(|m| m.masks(p)))
        .collect()
}

/// Stacks prepared frames whose [`frame_levels`] are known (for the same `params`).
pub fn stack_levels(
    set: &PreparedSet,
    levels: &[FrameLevel],
    params: &ClipParams,
    numerics: Numerics,
    method: StackMethod,
    progress: &dyn Progress,
) -> Result<MasterBias> {
    crate::settings::check_params(params)?;
    let total = set.frames.len();
    let level_values: Vec<f64> = levels.iter().map(|l| l.level).collect();
    let mean_level = mean(&level_values);
    let median_level = median_in_place(&mut level_values.clone()).unwrap_or(f64::NAN);
    let raw_ron = mean(&levels.iter().map(|l| l.noise).collect::<Vec<_>>());
    let ron = set.plan.ron as f32;
    let pixels = set.rows * set.cols;

    // `used` is per pixel how many frames survived the stack clip (absent for one frame);
    // the uncertainty follows from it, so no frame-sized uncertainty map is kept.
    let (combined, mask, used, rejected, post_clip, master_ron) = if total == 1 {
        // soxspipe's clip_and_stack hands a single frame back unchanged.
        let data = set.frames[0].electrons();
        let mask: Vec<bool> = data.iter().map(|&v| levels[0].bounds.rejects(v)).collect();
        let noise = subtract_level(&data, level_values[0]);
        let master_ron = master_ron(&noise, numerics);
        (noise, mask, None, vec![0], None, master_ron)
    } else {
        let stacked = clip_and_stack(
            &stack_input(set),
            &level_values,
            set.cols,
            StackSettings {
                sigma: params.stacked_clipping_sigma,
                iterations: params.stacked_clipping_iterations,
                numerics,
                method,
            },
            progress,
        )?;
        // The post-stack clip is one long chain of float32 adds (soxspipe numerics); the
        // master RON and the parts of the mask that do not depend on it run beside it.
        let (bounds, (master_ron, mut mask)) = rayon::join(
            || {
                clip_frame_bounds(
                    &stacked.mean,
                    params.frame_clipping_sigma,
                    params.frame_clipping_iterations,
                    numerics,
                )
            },
            || {
                rayon::join(
                    || master_ron(&stacked.mean, numerics),
                    || unstacked_mask(set, levels, &stacked.used),
                )
            },
        );
        let (low, high) = bounds.kept_range();
        mask.par_iter_mut()
            .zip(&stacked.mean)
            .for_each(|(m, &v)| *m |= !(low <= v && v <= high));
        (
            stacked.mean,
            mask,
            Some(stacked.used),
            stacked.rejected,
            Some(bounds),
            master_ron,
        )
    };
    if progress.cancelled() {
        return Err(Error::Cancelled);
    }

    let raw_ron_f32 = raw_ron as f32;
    let by_count: Vec<f32> = (0..=total as u16)
        .map(|n| stacked_uncertainty(ron, n, numerics, method.combine))
        .collect();
    // The three product images in one parallel pass, each thread writing (and so
    // faulting in) its own pages.
    const CHUNK: usize = 1 << 16;
    let mut flux = vec![0f32; pixels];
    let mut errs = vec![0f32; pixels];
    let mut qual = vec![0u8; pixels];
    flux.par_chunks_mut(CHUNK)
        .zip(errs.par_chunks_mut(CHUNK))
        .zip(qual.par_chunks_mut(CHUNK))
        .enumerate()
        .for_each(|(chunk, ((flux, errs), qual))| {
            let start = chunk * CHUNK;
            for (i, ((f, e), q)) in flux.iter_mut().zip(errs).zip(qual).enumerate() {
                let p = start + i;
                let masked = mask[p];
                *f = ((if masked { 0.0 } else { f64::from(combined[p]) }) + mean_level) as f32;
                *e = match (masked, &used) {
                    (true, _) => raw_ron_f32,
                    (false, Some(used)) => by_count[usize::from(used[p])],
                    (false, None) => ron,
                };
                *q = u8::from(masked);
            }
        });
    drop(used);
    let frames = set
        .frames
        .iter()
        .zip(levels)
        .zip(&rejected)
        .map(|((f, l), &r)| FrameStats {
            name: f.name.clone(),
            level: l.level,
            median: l.median,
            noise: l.noise,
            frame_clipped: l.clipped,
            stack_rejected: r,
        })
        .collect();
    Ok(MasterBias {
        rows: set.rows,
        cols: set.cols,
        flux,
        qual,
        errs,
        combined,
        frames,
        mean_level,
        median_level,
        raw_ron,
        master_ron,
        post_clip,
        numerics,
        params: *params,
        method,
    })
}
