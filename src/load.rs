//! Frame preparation (soxspipe `prepare_frames`): read each frame's science window, turn
//! it as the profile says, convert ADU to electrons. There is no overscan subtraction: the
//! bias level is the point of a master bias. What comes out is the algorithm's
//! [`Frame`]s; the plan they were read by stays here.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ndarray::Array2;
use rayon::prelude::*;

use crate::algorithm::{ElectronTable, Frame, Samples, electron_table};
use crate::detector::{Instrument, OverscanMethod, Section};
use crate::error::{Error, FitsError, Result};
use crate::fits::{FitsReader, FrameFile, Pixels, read_frame_header, read_window};
use crate::overscan;
use crate::params::Numerics;
use crate::progress::{Progress, Stage};
use crate::verify::Plan;

/// How 16-bit frames are kept in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// Float32 electrons, as soxspipe holds them: its float32 sums run over them.
    Electrons,
    /// Raw ADU with a table of electrons (half the memory) and a histogram, on which
    /// `exact` numerics clip a frame whatever its size.
    Adu,
}

impl Storage {
    /// The storage the numerics of a run work best on. The choice changes how `exact`
    /// numerics clip a frame (on its histogram or on its pixels, which may differ in the
    /// last bits), so a set is always loaded for the numerics that will stack it.
    pub fn for_numerics(numerics: Numerics) -> Storage {
        match numerics {
            Numerics::Soxspipe => Storage::Electrons,
            Numerics::Exact => Storage::Adu,
        }
    }
}

/// A static bad-pixel map of the science window, as soxspipe gives every prepared frame
/// as its QUAL: it never reaches the master's mask, but FPN FRACMAX's block means and
/// (soxspipe 0.19) RAW RON leave its pixels out.
#[derive(Debug, Clone, PartialEq)]
pub struct BadPixelMap {
    pub path: PathBuf,
    /// `true` = bad (any value other than 0 in the file).
    pub bad: Array2<bool>,
    pub count: usize,
}

/// The bad-pixel map soxspipe would take for `plan`: a generic profile's own, or for a
/// built-in profile `<static_calibrations>/<soxs|xsh>/BP_MAP_RP_<ARM>_<x>x<y>.fits` by
/// the frames' binning. `None` when there is none to take.
pub fn bad_pixel_map_file(plan: &Plan, static_calibrations: Option<&Path>) -> Option<PathBuf> {
    if let Some(own) = &plan.profile.bad_pixel_map {
        return Some(own.clone());
    }
    let folder = match plan.profile.instrument? {
        Instrument::Soxs => "soxs",
        Instrument::Xshooter => "xsh",
    };
    let (x, y) = plan.binning;
    let name = format!("BP_MAP_RP_{}_{x}x{y}.fits", plan.profile.arm);
    Some(static_calibrations?.join(folder).join(name))
}

/// What a plan's bad-pixel map will be, in the words of a report line: the file (and
/// whether it is missing), or for X-shooter without one the warning that FPN FRACMAX
/// will then differ from soxspipe's (SOXS's maps are empty, so SOXS needs none).
pub fn bad_pixel_map_note(plan: &Plan, static_calibrations: Option<&Path>) -> Option<String> {
    match bad_pixel_map_file(plan, static_calibrations) {
        Some(path) if path.is_file() => Some(format!("bad-pixel map: {}", path.display())),
        Some(path) => Some(format!("bad-pixel map: {} is missing", path.display())),
        None if plan.profile.instrument == Some(Instrument::Xshooter) => Some(format!(
            "no static bad-pixel map for {} (set mbias.static-calibrations to soxspipe's \
             resources/static_calibrations folder): FPN FRACMAX will not match soxspipe's",
            plan.profile.name
        )),
        None => None,
    }
}

/// Reads the bad-pixel map at `path`, which must cover a science window of `shape`.
pub fn read_bad_pixel_map(path: &Path, shape: (usize, usize)) -> Result<BadPixelMap> {
    let file = read_frame_header(path)?;
    let (rows, cols) = file.image.shape;
    if (rows, cols) != shape {
        return Err(FitsError::Data {
            path: path.to_path_buf(),
            hdu: file.image.index,
            message: format!(
                "the bad-pixel map is {rows}×{cols} pixels, the science window {}×{}",
                shape.0, shape.1
            ),
        }
        .into());
    }
    let values: Vec<bool> = match read_window(path, file.image.index, 0..rows, 0..cols, false)? {
        Pixels::U16(v) => v.iter().map(|&x| x != 0).collect(),
        Pixels::F32(v) => v.iter().map(|&x| x != 0.0).collect(),
        Pixels::F64(v) => v.iter().map(|&x| x != 0.0).collect(),
    };
    let count = values.iter().filter(|&&b| b).count();
    Ok(BadPixelMap {
        path: path.to_path_buf(),
        bad: window_array((path, file.image.index), shape, values)?,
        count,
    })
}

/// All frames of a verified set, ready to be stacked again and again: in memory, or,
/// when they would not fit the memory budget, read again in bands for every stack.
#[derive(Debug, Clone)]
pub struct FrameSet {
    pub plan: Plan,
    /// The static bad-pixel map of the science window, when one applies.
    pub bad_pixels: Option<Arc<BadPixelMap>>,
    pub frames: Residency,
    /// Per frame, in the plan's order, each amplifier's overscan strip in ADU (empty when
    /// the profile names no amplifiers).
    pub overscans: Vec<Arc<Overscans>>,
    /// Per frame, in the plan's order, its NaN and infinite pixels.
    pub non_finite: Vec<usize>,
    pub storage: Storage,
    /// Time spent reading and converting, summed over frames (for `mbias bench`).
    pub read_time: Duration,
    pub convert_time: Duration,
}

/// Where a set's frames are.
#[derive(Debug, Clone)]
pub enum Residency {
    /// In memory, in the plan's order. Shared, so a set for another selection of the same
    /// frames reuses them.
    Resident(Vec<Arc<Frame>>),
    /// On disk only: the set is larger than the memory budget.
    Streamed(Arc<Streamed>),
}

/// What a set too large for memory keeps of its frames: the first (which the
/// bias-distribution QC shows) and, of each, the pixels the QC reads
/// ([`crate::qc::sampled_pixels`]).
#[derive(Debug)]
pub struct Streamed {
    /// The first frame, for the distribution QC: a set stacked once measures the first
    /// frame's side of it as it reads the frames, and keeps none.
    pub first: Option<Arc<Frame>>,
    /// The second frame: soxspipe 0.19's RAW RON is the difference of the first two.
    pub second: Option<Arc<Frame>>,
    /// Per frame: sorted pixel indices and their electrons.
    samples: Vec<(Vec<usize>, Vec<f32>)>,
    /// The budget (bytes) the set did not fit, when the user is told the set is read
    /// from disk: not when only the smaller limits of a set stacked once sent it there
    /// (nothing is stacked twice).
    pub announced: Option<u64>,
}

impl Streamed {
    /// `samples[k]` holds, for frame `k`, the pixels at `pixels[k]` (sorted).
    pub fn new(
        first: Option<Arc<Frame>>,
        second: Option<Arc<Frame>>,
        pixels: Vec<Vec<usize>>,
        frames: Vec<Vec<f32>>,
        announced: Option<u64>,
    ) -> Streamed {
        Streamed {
            first,
            second,
            samples: pixels.into_iter().zip(frames).collect(),
            announced,
        }
    }
}

impl FrameSet {
    /// The frames in memory, in the plan's order; `None` for a streamed set.
    pub fn resident(&self) -> Option<&[Arc<Frame>]> {
        match &self.frames {
            Residency::Resident(frames) => Some(frames),
            Residency::Streamed(_) => None,
        }
    }

    /// How many frames the set has.
    pub fn frame_count(&self) -> usize {
        self.plan.frames.len()
    }

    /// The first frame, in memory whatever the residency.
    pub fn first_frame(&self) -> Option<&Arc<Frame>> {
        match &self.frames {
            Residency::Resident(frames) => frames.first(),
            Residency::Streamed(streamed) => streamed.first.as_ref(),
        }
    }

    /// The first two frames, in memory whatever the residency.
    pub fn first_two(&self) -> Option<(&Arc<Frame>, &Arc<Frame>)> {
        match &self.frames {
            Residency::Resident(frames) => match &frames[..] {
                [first, second, ..] => Some((first, second)),
                _ => None,
            },
            Residency::Streamed(streamed) => {
                Some((streamed.first.as_ref()?, streamed.second.as_ref()?))
            }
        }
    }

    /// The frames' names (as the per-frame statistics carry them), in the plan's order.
    pub fn frame_names(&self) -> Vec<String> {
        self.plan
            .frames
            .iter()
            .map(|f| crate::fits::frame_name(&f.path))
            .collect()
    }

    /// Frame `k`'s electrons at pixel `p`: any pixel of a resident set; of a streamed
    /// set, the pixels the QC reads (NaN elsewhere, which every QC leaves out).
    pub fn value(&self, k: usize, p: usize) -> f32 {
        match &self.frames {
            Residency::Resident(frames) => frames.get(k).map_or(f32::NAN, |f| f.value(p)),
            Residency::Streamed(streamed) => streamed
                .samples
                .get(k)
                .and_then(|(pixels, values)| Some(values[pixels.binary_search(&p).ok()?]))
                .unwrap_or(f32::NAN),
        }
    }

    /// Each frame's overscan level (median of its strip, ADU) on amplifier `amplifier`;
    /// `None` for a frame without that strip.
    pub fn overscan_levels(&self, amplifier: usize) -> Vec<Option<f64>> {
        self.overscans
            .iter()
            .map(|frame| {
                let strip = frame.get(amplifier)?.as_ref()?;
                crate::algorithm::numerics::finite_median(strip.iter().map(|&v| f64::from(v)))
            })
            .collect()
    }

    /// Whether this set is loaded as `options` ask: stored for their numerics, with the
    /// bad-pixel map they name.
    pub fn fits(&self, options: LoadOptions<'_>) -> bool {
        self.storage == Storage::for_numerics(options.numerics)
            && self.bad_pixels.as_ref().map(|m| m.path.clone())
                == bad_pixel_map_file(&self.plan, options.static_calibrations)
    }

    /// (rows, columns) of the science window.
    pub fn shape(&self) -> (usize, usize) {
        self.plan.shape()
    }

    /// This set's copy of `frame` and its overscan strips when a set for `plan` stored as
    /// `storage` may take them as they are: the same profile, overscan method, amplifiers,
    /// extension, gain, window and storage decide every value.
    fn reusable(
        &self,
        plan: &Plan,
        storage: Storage,
        frame: &FrameFile,
    ) -> Option<(Arc<Frame>, Arc<Overscans>)> {
        let old = &self.plan;
        let same = old.profile.name == plan.profile.name
            && old.profile.overscan == plan.profile.overscan
            && old.amplifiers == plan.amplifiers
            && old.extension == plan.extension
            && old.gain.to_bits() == plan.gain.to_bits()
            && old.rows == plan.rows
            && old.cols == plan.cols
            && self.storage == storage;
        if !same {
            return None;
        }
        let frames = self.resident()?;
        old.frames
            .iter()
            .position(|f| f.path == frame.path && f.image.index == frame.image.index)
            .and_then(|i| Some((frames.get(i)?.clone(), self.overscans.get(i)?.clone())))
    }
}

/// `samples` (rows `rows` of the science window) less each amplifier's overscan level by the profile's method, as electrons
/// (a level is not a whole number of ADU); unchanged when the method is `none` or no
/// amplifier has a strip.
fn corrected(plan: &Plan, samples: Samples, overscans: &Overscans, rows: Range<usize>) -> Samples {
    let method = plan.profile.overscan;
    let has_strips = overscans.iter().any(Option::is_some);
    if method == OverscanMethod::None || !has_strips {
        return samples;
    }
    let mut electrons = match samples {
        Samples::Electrons(data) => data,
        Samples::Adu { adu, table, .. } => adu.mapv(|a| table[usize::from(a)]),
    };
    let cols = electrons.ncols();
    // The array was made in standard layout, so its pixels are one slice.
    if let Some(data) = electrons.as_slice_mut() {
        overscan::subtract(
            data,
            (cols, rows),
            plan.rows.start,
            &plan.amplifiers,
            overscans,
            (method, plan.gain),
        );
    }
    Samples::Electrons(electrons)
}

/// One frame's overscan strips: for each amplifier of the plan (in its order), its strip
/// in ADU as it lies in the turned frame, or `None` for an amplifier without one.
pub type Overscans = Vec<Option<Array2<f32>>>;

/// The overscan strips of `frame` for `plan`'s amplifiers, read from `file` (they lie
/// outside the science window, so the frame's pixels do not hold them).
fn read_overscans(plan: &Plan, frame: &FrameFile, file: &mut FitsReader) -> Result<Overscans> {
    let (height, width) = frame.image.shape;
    let half_turn = plan.profile.rotation == 180;
    plan.amplifiers
        .iter()
        .map(|amp| {
            let Some(strip) = &amp.overscan else {
                return Ok(None);
            };
            let Section { rows, cols } = if half_turn {
                strip.half_turned((height, width))
            } else {
                strip.clone()
            };
            let shape = (rows.len(), cols.len());
            let mut adu: Vec<f32> = match file.window(frame.image.index, rows, cols, false)? {
                Pixels::U16(v) => v.iter().map(|&x| f32::from(x)).collect(),
                Pixels::F32(v) => v,
                Pixels::F64(v) => v.iter().map(|&x| x as f32).collect(),
            };
            if half_turn {
                adu.reverse();
            }
            Ok(Some(window_array(
                (&frame.path, frame.image.index),
                shape,
                adu,
            )?))
        })
        .collect()
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

/// A window's pixels as a `rows × cols` array, or the file's fault if they do not fill it.
fn window_array<T>(
    (path, hdu): (&Path, usize),
    (rows, cols): (usize, usize),
    values: Vec<T>,
) -> Result<Array2<T>> {
    let found = values.len();
    Array2::from_shape_vec((rows, cols), values).map_err(|_| {
        FitsError::Data {
            path: path.to_path_buf(),
            hdu,
            message: format!("{found} pixels read for a {rows}×{cols} science window"),
        }
        .into()
    })
}

/// The frame's pixels as stored: 16-bit raws as ADU (when asked), the rest as electrons.
/// A `whole` frame's ADU histogram is counted now; a band's never is.
fn to_samples(
    frame: &FrameFile,
    (shape, whole): ((usize, usize), bool),
    raw: Pixels,
    gain: f64,
    rotate_half: bool,
    table: &ElectronTable,
) -> Result<Samples> {
    let source = (frame.path.as_path(), frame.image.index);
    Ok(match raw {
        Pixels::U16(mut adu) => {
            if rotate_half {
                adu.reverse();
            }
            let adu = window_array(source, shape, adu)?;
            if whole {
                Samples::adu(adu, table.clone())
            } else {
                Samples::adu_uncounted(adu, table.clone())
            }
        }
        other => Samples::Electrons(window_array(
            source,
            shape,
            to_electrons(other, gain, rotate_half),
        )?),
    })
}

/// How a set is loaded: the numerics it will be stacked with, and soxspipe's static
/// calibrations folder (for its bad-pixel maps).
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions<'a> {
    pub numerics: Numerics,
    pub static_calibrations: Option<&'a Path>,
}

/// Reads and prepares every frame of the plan, two at a time on the two cores, and the
/// bad-pixel map that applies to it.
pub fn load(plan: &Plan, options: LoadOptions<'_>, progress: &dyn Progress) -> Result<FrameSet> {
    load_reusing(plan, options, None, progress)
}

/// [`load`], taking the frames `previous` already holds instead of reading them again:
/// the console's selection changes re-stack without re-reading what stays.
pub fn load_reusing(
    plan: &Plan,
    options: LoadOptions<'_>,
    previous: Option<&FrameSet>,
    progress: &dyn Progress,
) -> Result<FrameSet> {
    let storage = Storage::for_numerics(options.numerics);
    let bad_pixels = bad_pixel_map(plan, options, previous)?;
    let table = electron_table(plan.gain);
    let total = plan.frames.len();
    let done = AtomicUsize::new(0);
    progress.report(Stage::Reading { done: 0, total });
    let frames = plan
        .frames
        .par_iter()
        .map(|frame| {
            if progress.cancelled() {
                return Err(Error::Cancelled);
            }
            if let Some((kept, overscans)) = previous.and_then(|p| p.reusable(plan, storage, frame))
            {
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                progress.report(Stage::Reading { done: n, total });
                return Ok((kept, overscans, Duration::ZERO, Duration::ZERO));
            }
            let (overscans, prepared, read, convert) = read_frame(plan, frame, (storage, &table))?;
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            progress.report(Stage::Reading { done: n, total });
            Ok((Arc::new(prepared), overscans, read, convert))
        })
        .collect::<Result<Vec<_>>>()?;
    let read_time = frames.iter().map(|f| f.2).sum();
    let convert_time = frames.iter().map(|f| f.3).sum();
    let non_finite = frames.iter().map(|f| f.0.non_finite).collect();
    let (frames, overscans) = frames.into_iter().map(|f| (f.0, f.1)).unzip();
    Ok(FrameSet {
        plan: plan.clone(),
        bad_pixels,
        frames: Residency::Resident(frames),
        overscans,
        non_finite,
        storage,
        read_time,
        convert_time,
    })
}

/// The bad-pixel map `options` name for `plan`, kept from `previous` when it is the same
/// file.
pub fn bad_pixel_map(
    plan: &Plan,
    options: LoadOptions<'_>,
    previous: Option<&FrameSet>,
) -> Result<Option<Arc<BadPixelMap>>> {
    Ok(
        match bad_pixel_map_file(plan, options.static_calibrations) {
            Some(path) => match previous.and_then(|p| p.bad_pixels.as_ref()) {
                Some(kept) if kept.path == path => Some(kept.clone()),
                _ => Some(Arc::new(read_bad_pixel_map(&path, plan.shape())?)),
            },
            None => None,
        },
    )
}

/// The whole of `frame` for `plan`: its overscan strips and its science window prepared
/// (see [`read_prepared`]), read from one opening of the file, so a compressed frame is
/// decompressed once.
pub fn read_frame(
    plan: &Plan,
    frame: &FrameFile,
    stored: (Storage, &ElectronTable),
) -> Result<(Arc<Overscans>, Frame, Duration, Duration)> {
    let started = Instant::now();
    let mut file = FitsReader::open(&frame.path)?;
    let overscans = Arc::new(read_overscans(plan, frame, &mut file)?);
    let opened = started.elapsed();
    let (prepared, read, convert) =
        prepare(plan, frame, file, &overscans, stored, 0..plan.shape().0)?;
    Ok((overscans, prepared, opened + read, convert))
}

/// Rows `rows` of `frame`'s science window read and prepared as `plan` says (turned,
/// stored as `storage`, less its `overscans`), with the time spent reading and
/// converting. A whole frame (`0..rows` of the window) with no finite pixel is refused.
pub fn read_prepared(
    plan: &Plan,
    frame: &FrameFile,
    overscans: &Overscans,
    stored: (Storage, &ElectronTable),
    rows: Range<usize>,
) -> Result<(Frame, Duration, Duration)> {
    let started = Instant::now();
    let file = FitsReader::open(&frame.path)?;
    let opened = started.elapsed();
    let (prepared, read, convert) = prepare(plan, frame, file, overscans, stored, rows)?;
    Ok((prepared, opened + read, convert))
}

/// [`read_prepared`] from an open `file`, closed (its decompressed copy let go) before the
/// pixels are converted.
fn prepare(
    plan: &Plan,
    frame: &FrameFile,
    mut file: FitsReader,
    overscans: &Overscans,
    (storage, table): (Storage, &ElectronTable),
    rows: Range<usize>,
) -> Result<(Frame, Duration, Duration)> {
    let (height, width) = frame.image.shape;
    let half_turn = plan.profile.rotation == 180;
    // Window in raw coordinates: a half turn mirrors both ranges.
    let window = Section {
        rows: plan.rows.start + rows.start..plan.rows.start + rows.end,
        cols: plan.cols.clone(),
    };
    let Section {
        rows: raw_rows,
        cols: raw_cols,
    } = if half_turn {
        window.half_turned((height, width))
    } else {
        window
    };
    let started = Instant::now();
    let raw = file.window(
        frame.image.index,
        raw_rows,
        raw_cols,
        storage == Storage::Adu,
    )?;
    drop(file);
    let read = started.elapsed();
    // Only float data (negative BITPIX; ZBITPIX when tile-compressed) can hold NaN or
    // infinities.
    let header = &frame.image.header;
    let integers = header
        .number("ZBITPIX")
        .or_else(|| header.number("BITPIX"))
        .is_some_and(|bitpix| bitpix > 0.0);
    let shape = (rows.len(), plan.cols.len());
    let whole = rows.len() == plan.shape().0;
    let samples = to_samples(frame, (shape, whole), raw, plan.gain, half_turn, table)?;
    let samples = corrected(plan, samples, overscans, rows.clone());
    let non_finite = match &samples {
        Samples::Electrons(data) if !integers => data.iter().filter(|v| !v.is_finite()).count(),
        _ => 0,
    };
    if whole && non_finite == shape.0 * shape.1 {
        return Err(FitsError::Data {
            path: frame.path.clone(),
            hdu: frame.image.index,
            message: "no finite pixel in the science window (all NaN or infinite)".into(),
        }
        .into());
    }
    let prepared = Frame {
        name: crate::fits::frame_name(&frame.path),
        samples,
        non_finite,
    };
    Ok((prepared, read, started.elapsed() - read))
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
