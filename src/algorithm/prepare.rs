//! Frame preparation (soxspipe `prepare_frames`): rotate, trim to the science window,
//! convert ADU to electrons. There is no overscan subtraction: the bias level is the
//! point of a master bias.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use super::histogram::AduHistogram;
use crate::error::{Error, FitsError, Result};
use crate::fits::{FrameFile, Header, Pixels, read_window};
use crate::params::Numerics;
use crate::progress::{Progress, Stage};
use crate::verify::Plan;

/// The float32 electrons of every 16-bit ADU value at one gain.
pub type ElectronTable = Arc<[f32]>;

/// A frame's pixels as kept in memory.
#[derive(Debug, Clone)]
pub enum Samples {
    /// Electrons, as soxspipe holds them.
    Electrons(Vec<f32>),
    /// Raw 16-bit ADU: electrons are `table[adu]`, the very float32 values `Electrons`
    /// would hold, at half the memory; and a histogram makes whole-frame statistics
    /// independent of the frame size.
    Adu {
        adu: Vec<u16>,
        table: ElectronTable,
        histogram: AduHistogram,
    },
}

/// One frame, science window only, row-major.
#[derive(Debug, Clone)]
pub struct PreparedFrame {
    pub name: String,
    pub header: Header,
    pub samples: Samples,
    /// NaN and infinite pixels (float frames only): every clip leaves them out, and the
    /// user is told, since a frame full of them is damaged, not noisy.
    pub non_finite: usize,
}

impl PreparedFrame {
    /// One pixel in electrons, for code that visits a few windows of a frame.
    #[inline]
    pub fn value(&self, pixel: usize) -> f32 {
        match &self.samples {
            Samples::Electrons(data) => data[pixel],
            Samples::Adu { adu, table, .. } => table[usize::from(adu[pixel])],
        }
    }

    /// The frame in electrons: borrowed when stored so, converted otherwise.
    pub fn electrons(&self) -> Cow<'_, [f32]> {
        match &self.samples {
            Samples::Electrons(data) => Cow::Borrowed(data),
            Samples::Adu { adu, table, .. } => {
                Cow::Owned(adu.iter().map(|&a| table[usize::from(a)]).collect())
            }
        }
    }

    pub fn len(&self) -> usize {
        match &self.samples {
            Samples::Electrons(data) => data.len(),
            Samples::Adu { adu, .. } => adu.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `e- = ADU × gain` for every 16-bit value, rounded as [`to_electrons`] rounds.
fn electron_table(gain: f64) -> ElectronTable {
    (0..=u16::MAX)
        .map(|adu| (f64::from(adu) * gain) as f32)
        .collect()
}

/// All frames of a verified set, in memory, ready to be stacked again and again.
#[derive(Debug, Clone)]
pub struct PreparedSet {
    pub plan: Plan,
    /// Shared, so a set for another selection of the same frames reuses them in memory.
    pub frames: Vec<Arc<PreparedFrame>>,
    pub rows: usize,
    pub cols: usize,
    /// Time spent reading and converting, summed over frames (for `mbias bench`).
    pub read_time: Duration,
    pub convert_time: Duration,
}

/// `e- = ADU × gain` as soxspipe computes it: a float64 product stored as float32.
/// Float32 input is converted in place, with no second frame-sized buffer.
fn to_electrons(raw: Pixels, gain: f64, rotate_half: bool) -> Vec<f32> {
    let mut out = match raw {
        Pixels::U16(values) => values
            .iter()
            .map(|&v| (f64::from(v) * gain) as f32)
            .collect(),
        Pixels::F32(mut values) => {
            for v in &mut values {
                *v = (f64::from(*v) * gain) as f32;
            }
            values
        }
        Pixels::F64(values) => values.iter().map(|v| (v * gain) as f32).collect(),
    };
    if rotate_half {
        // A 180° turn of a row-major window is the window read backwards.
        out.reverse();
    }
    out
}

/// Keeps 16-bit raws as ADU, or converts to electrons.
fn to_samples(raw: Pixels, gain: f64, rotate_half: bool, table: &ElectronTable) -> Samples {
    match raw {
        Pixels::U16(mut adu) => {
            if rotate_half {
                adu.reverse();
            }
            let histogram = AduHistogram::of(&adu);
            Samples::Adu {
                adu,
                table: table.clone(),
                histogram,
            }
        }
        other => Samples::Electrons(to_electrons(other, gain, rotate_half)),
    }
}

/// Reads and prepares every frame of the plan, two at a time on the two cores.
///
/// Frames whose profile defaults to `exact` numerics keep 16-bit raws as ADU (half the
/// memory, histogram statistics); soxspipe's numerics work on float32 electrons, as
/// soxspipe does, so built-in profiles keep those.
pub fn prepare(plan: &Plan, progress: &dyn Progress) -> Result<PreparedSet> {
    prepare_reusing(plan, None, progress)
}

impl PreparedSet {
    /// This set's prepared copy of `frame` when a set for `plan` may take it as it is:
    /// the same profile, extension, gain and window decide every prepared value.
    fn reusable(&self, plan: &Plan, frame: &FrameFile) -> Option<Arc<PreparedFrame>> {
        let old = &self.plan;
        let same = old.profile.name == plan.profile.name
            && old.extension == plan.extension
            && old.gain.to_bits() == plan.gain.to_bits()
            && old.rows == plan.rows
            && old.cols == plan.cols;
        if !same {
            return None;
        }
        old.frames
            .iter()
            .position(|f| f.path == frame.path && f.image.index == frame.image.index)
            .and_then(|i| self.frames.get(i).cloned())
    }
}

/// [`prepare`], taking the frames `previous` already holds from it instead of reading
/// them again: the console's selection changes re-stack without re-reading what stays.
pub fn prepare_reusing(
    plan: &Plan,
    previous: Option<&PreparedSet>,
    progress: &dyn Progress,
) -> Result<PreparedSet> {
    let keep_adu = plan.profile.default_numerics == Numerics::Exact;
    let table = electron_table(plan.gain);
    let (rows, cols) = plan.shape();
    let total = plan.frames.len();
    let done = AtomicUsize::new(0);
    progress.report(Stage::Reading { done: 0, total });
    let half_turn = plan.profile.rotation == 180;
    let frames = plan
        .frames
        .par_iter()
        .map(|frame| {
            if progress.cancelled() {
                return Err(Error::Cancelled);
            }
            if let Some(kept) = previous.and_then(|p| p.reusable(plan, frame)) {
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                progress.report(Stage::Reading { done: n, total });
                return Ok((kept, Duration::ZERO, Duration::ZERO));
            }
            let (height, width) = frame.image.shape;
            // Window in raw coordinates: a half turn mirrors both ranges.
            let (raw_rows, raw_cols) = if half_turn {
                (
                    height - plan.rows.end..height - plan.rows.start,
                    width - plan.cols.end..width - plan.cols.start,
                )
            } else {
                (plan.rows.clone(), plan.cols.clone())
            };
            let started = Instant::now();
            let raw = read_window(&frame.path, frame.image.index, raw_rows, raw_cols, keep_adu)?;
            let read = started.elapsed();
            // Only float data (negative BITPIX; ZBITPIX when tile-compressed) can hold
            // NaN or infinities.
            let header = &frame.image.header;
            let integers = header
                .number("ZBITPIX")
                .or_else(|| header.number("BITPIX"))
                .is_some_and(|bitpix| bitpix > 0.0);
            let samples = to_samples(raw, plan.gain, half_turn, &table);
            let non_finite = match &samples {
                Samples::Electrons(data) if !integers => {
                    data.iter().filter(|v| !v.is_finite()).count()
                }
                _ => 0,
            };
            if non_finite == rows * cols {
                return Err(FitsError::Data {
                    path: frame.path.clone(),
                    hdu: frame.image.index,
                    message: "no finite pixel in the science window (all NaN or infinite)".into(),
                }
                .into());
            }
            let convert = started.elapsed() - read;
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            progress.report(Stage::Reading { done: n, total });
            let prepared = PreparedFrame {
                name: crate::fits::frame_name(&frame.path),
                header: frame.merged_header().into_owned(),
                samples,
                non_finite,
            };
            Ok((Arc::new(prepared), read, convert))
        })
        .collect::<Result<Vec<_>>>()?;
    let read_time = frames.iter().map(|f| f.1).sum();
    let convert_time = frames.iter().map(|f| f.2).sum();
    Ok(PreparedSet {
        plan: plan.clone(),
        frames: frames.into_iter().map(|f| f.0).collect(),
        rows,
        cols,
        read_time,
        convert_time,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn electrons_are_a_float64_product_rounded_once() {
        let expected = vec![(800.0f64 * 1.4) as f32, (801.0f64 * 1.4) as f32];
        assert_eq!(
            to_electrons(Pixels::F64(vec![800.0, 801.0]), 1.4, false),
            expected
        );
        assert_eq!(
            to_electrons(Pixels::F32(vec![800.0, 801.0]), 1.4, false),
            expected
        );
        let turned = to_electrons(Pixels::F32(vec![1.0, 2.0, 3.0]), 1.0, true);
        assert_eq!(turned, vec![3.0, 2.0, 1.0]);
    }
}
