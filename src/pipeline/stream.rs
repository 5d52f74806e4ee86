//! Sets larger than the memory budget: each frame is read whole once, for what needs a
//! whole frame (its clip and level, its FPN, the RAW RON of the first two), and then, for
//! every stack, the frames are read again in bands of rows, each band stacked as the
//! resident stack would stack those rows (HDRL's and ccdproc's blocks). The master is the
//! same, bit for bit; memory holds the master, one band of every frame and the first two
//! frames (none when the set is stacked once: what needs them is measured as they are
//! read).

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use rayon::prelude::*;

use super::{LevelsKey, Loaded};
use crate::algorithm::{
    self, ElectronTable, Finish, Frame, FrameLevel, MasterBias, StackRequest, StackedRows,
    electron_table, standard,
};
use crate::error::{Error, Result};
use crate::load::{self as loader, FrameSet, Residency, Storage, Streamed};
use crate::progress::{Progress, Stage};
use crate::qc;
use crate::settings::{Resolved, Stacks};
use crate::verify::Plan;

/// Without a budget in the settings: half the machine's memory (the console keeps a
/// result and its images beside the frames; other programs need the rest), and 4 GiB
/// where the machine does not say.
pub fn default_budget() -> u64 {
    const FALLBACK: u64 = 4 << 30;
    let total_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        });
    total_kib.map_or(FALLBACK, |kib| kib * 1024 / 2)
}

/// Bytes of memory a resident stack of `plan` stored as `storage` takes: its frames, and
/// about 40 bytes a pixel for the master's images and the stack's own (the combined
/// noise, the counts and masks, FLUX, QUAL, ERRS and the QC's copies).
pub fn resident_bytes(plan: &Plan, storage: Storage) -> u64 {
    let (rows, cols) = plan.shape();
    let pixels = (rows * cols) as u64;
    plan.frames.len() as u64 * pixels * sample_bytes(plan, storage) + 40 * pixels
}

/// Bytes a stored sample of `plan`'s frames takes: 2 for unsigned 8- and 16-bit data kept
/// as ADU, else 4 (float32 electrons, which overscan-corrected frames always are).
fn sample_bytes(plan: &Plan, storage: Storage) -> u64 {
    let corrected = plan.profile.overscan != crate::detector::OverscanMethod::None
        && plan.amplifiers.iter().any(|a| a.overscan.is_some());
    if corrected {
        return 4;
    }
    let header = plan.frames.first().map(|f| &f.image.header);
    let bitpix = header.and_then(|h| h.number("ZBITPIX").or_else(|| h.number("BITPIX")));
    let bzero = header.and_then(|h| h.number("BZERO")).unwrap_or(0.0);
    let unsigned = bitpix == Some(8.0) || (bitpix == Some(16.0) && bzero == 32768.0);
    if storage == Storage::Adu && unsigned {
        2
    } else {
        4
    }
}

/// The most a set of uncompressed frames stacked once keeps in memory, whatever the
/// budget (a budget is the most a set may hold, never the least): beyond it, a stack of
/// uncompressed frames read in bands takes no longer than one of the frames held in
/// memory, since it does not fault in fresh pages for every frame (about 2 µs a 4 KiB
/// page on the 2-core machine). Measured whole-process there, resident against streamed
/// (2026-12-06, medians of 9–15 paired runs): 11 frames of 4096² 0.716 against 0.689 s
/// (695 against 413 MiB); at stop 38, with `--memory 8GiB` against no budget, 0.622
/// against 0.584 s (608 against 256 MiB, n = 11). A quarter of it bounds the bands: for
/// 41 frames of 4096², bands from 256 MiB took 1.617 s against 1.562 s from 1 GiB in one
/// paired call, 1.566 s against 1.557 s from 512 MiB in another.
pub const ONCE_BUDGET: u64 = 512 << 20;

/// Within [`ONCE_BUDGET`], a set stacked once is still read in bands when holding it
/// would take more than this: reading the frames twice costs less than the fresh pages
/// they would take. 7 SOXS VIS frames (225 MB held), whole process on the 2-core machine
/// (2026-12-06, farm-bench, n = 21): 0.220 s in bands against 0.226 s held, 103 against
/// 168 MiB.
pub const ONCE_RESIDENT: u64 = 128 << 20;

/// The budget the user set (`mbias.memory`, `--memory`), else the machine's.
fn chosen_budget(resolved: &Resolved) -> u64 {
    resolved.memory.unwrap_or_else(default_budget)
}

/// The budget `resolved` gives `plan`: the chosen one, and for a set of uncompressed
/// frames stacked once at most [`ONCE_BUDGET`]. Compressed frames would be decompressed
/// again for every band, so they stay in memory when the budget has room.
pub fn budget(plan: &Plan, resolved: &Resolved) -> u64 {
    let chosen = chosen_budget(resolved);
    match once_straight(plan, resolved) {
        true => chosen.min(ONCE_BUDGET),
        false => chosen,
    }
}

/// Whether `plan` is a set of uncompressed frames stacked once.
fn once_straight(plan: &Plan, resolved: &Resolved) -> bool {
    resolved.stacks == Stacks::Once && read_straight(plan)
}

/// Whether every frame of `plan` is stored uncompressed, so that a band of its rows is
/// read without expanding the rest.
fn read_straight(plan: &Plan) -> bool {
    plan.frames
        .iter()
        .all(|f| f.image.header.get("ZIMAGE").is_none() && !crate::fits::is_packed(&f.path))
}

/// Whether the user is told that `plan`'s frames are read from disk: when the set is
/// larger than the budget they set or the machine's, not when only the smaller limits
/// of a set stacked once sent it there, which cost no time.
fn announced(plan: &Plan, resolved: &Resolved) -> bool {
    resident_bytes(plan, Storage::for_numerics(resolved.numerics)) > chosen_budget(resolved)
}

/// Whether `plan` is stacked from disk in bands under `resolved`'s budget (or, uncompressed
/// and stacked once, beyond [`ONCE_RESIDENT`]). A single frame is never: it is passed
/// through, not stacked.
pub fn streams(plan: &Plan, resolved: &Resolved) -> bool {
    let needed = resident_bytes(plan, Storage::for_numerics(resolved.numerics));
    let limit = match once_straight(plan, resolved) {
        true => budget(plan, resolved).min(ONCE_RESIDENT),
        false => budget(plan, resolved),
    };
    plan.frames.len() > 1 && needed > limit
}

/// soxspipe 0.19's RAW RON of a streamed set stacked once, measured as soon as its first
/// two frames are read, by whichever core reads the second of them: the second frame is
/// then not kept to be measured beside the stack (32 MiB of 11 frames of 4096², 34 MB of
/// 7 SOXS frames in soxspipe numerics, memory the frames read after it take over).
struct PairRon<'a> {
    /// The first of the two frames read, by its place in the set.
    waiting: Mutex<Option<(usize, Arc<Frame>)>>,
    ron: OnceLock<f64>,
    measure: &'a (dyn Fn(&Frame, &Frame) -> f64 + Sync),
}

impl PairRon<'_> {
    /// Frame `k` (0 or 1) is read: the second of the two measures the pair's RON.
    fn offer(&self, k: usize, frame: &Arc<Frame>) {
        // The slot holds a frame or none whatever another thread did: a poisoned lock
        // must not lose the pair (the second frame is not kept to measure it later).
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        let Some((other_k, other)) = waiting.take() else {
            *waiting = Some((k, frame.clone()));
            return;
        };
        drop(waiting);
        let (first, second) = if other_k < k {
            (&other, frame)
        } else {
            (frame, &other)
        };
        let _ = self.ron.set((self.measure)(first, second));
    }
}

/// What one frame's single whole read leaves behind.
struct FrameRead {
    frame: Option<Arc<Frame>>,
    /// The first frame's side of the distribution QC, when measured here.
    raw_side: Option<qc::RawSide>,
    overscans: Arc<loader::Overscans>,
    level: FrameLevel,
    fpn: f64,
    samples: Vec<f32>,
    non_finite: usize,
    read: std::time::Duration,
    convert: std::time::Duration,
}

/// Reads every frame of `plan` once, one at a time on each core, and keeps what the
/// stacks and the QC need of them (see the module's text), with their levels for
/// `resolved`. Each frame's level is measured alone, as the resident clip measures it
/// among the others, unless a set mixes 16-bit and float frames in `exact` numerics (the
/// resident clip then takes the pixel path for all).
pub fn load(plan: &Plan, resolved: &Resolved, progress: &dyn Progress) -> Result<Loaded> {
    let options = super::load_options(resolved);
    let storage = Storage::for_numerics(options.numerics);
    let table = electron_table(plan.gain);
    let pixels = qc::sampled_pixels(plan);
    let mut set = FrameSet {
        plan: plan.clone(),
        bad_pixels: loader::bad_pixel_map(plan, options, None)?,
        frames: Residency::Resident(Vec::new()),
        overscans: Vec::new(),
        non_finite: Vec::new(),
        storage,
        read_time: Default::default(),
        convert_time: Default::default(),
    };
    let total = plan.frames.len();
    let done = AtomicUsize::new(0);
    let bad = set.bad_pixels.as_ref().map(|m| standard(&m.bad));
    let measure = |first: &Frame, second: &Frame| {
        algorithm::difference_ron(first, second, bad, options.numerics, Some(&table))
    };
    // A set stacked once keeps no frame it can do without: 0.19's RAW RON is measured
    // here as soon as the first two are read (0.17 has no use for the second; a set
    // stacked again keeps it, since the console may turn to 0.19), and the first
    // frame's side of the distribution QC as soon as it is read.
    let once = resolved.stacks == Stacks::Once;
    let pair_ron = (once && resolved.recipe.is_019() && total > 1).then(|| PairRon {
        waiting: Mutex::new(None),
        ron: OnceLock::new(),
        measure: &measure,
    });
    progress.report(Stage::Reading { done: 0, total });
    let mut reads = plan
        .frames
        .par_iter()
        .zip(&pixels)
        .enumerate()
        .map(|(k, (file, pixels))| {
            if progress.cancelled() {
                return Err(Error::Cancelled);
            }
            let (overscans, frame, read, convert) =
                loader::read_frame(plan, file, (storage, &table))?;
            let frame = Arc::new(frame);
            // The frame's clip and its FFT side by side: the core that finds no frame
            // left to read takes the last frame's FFT.
            let (level, fpn) = rayon::join(
                || frame_level(&frame, resolved),
                || qc::frame_fpn(&set, &frame),
            );
            let samples = pixels.iter().map(|&p| frame.value(p)).collect();
            if let Some(pair) = pair_ron.as_ref().filter(|_| k < 2) {
                pair.offer(k, &frame);
            }
            let raw_side = (k == 0 && once)
                .then(|| qc::raw_side(&frame, &level, bad, Some(&table)))
                .flatten();
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            progress.report(Stage::Reading { done: n, total });
            Ok(FrameRead {
                non_finite: frame.non_finite,
                // The first stays for the distribution QC unless its side of it was
                // measured here; the second for 0.19's RAW RON (their difference) of the
                // stacks to come.
                frame: ((k == 0 && raw_side.is_none()) || (k == 1 && !once)).then_some(frame),
                raw_side,
                overscans,
                level,
                fpn,
                samples,
                read,
                convert,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let early_ron = pair_ron.and_then(|pair| pair.ron.into_inner());
    set.read_time = reads.iter().map(|r| r.read).sum();
    set.convert_time = reads.iter().map(|r| r.convert).sum();
    set.non_finite = reads.iter().map(|r| r.non_finite).collect();
    set.overscans = reads.iter().map(|r| r.overscans.clone()).collect();
    let levels = Arc::new(reads.iter().map(|r| r.level.clone()).collect::<Vec<_>>());
    let fpn_ratios = reads.iter().map(|r| r.fpn).collect();
    let Some(first_read) = reads.first_mut() else {
        // `streams` lets no set without frames here.
        return Err(Error::Verification(0));
    };
    let (first, raw_side) = (first_read.frame.take(), first_read.raw_side.take());
    let second = reads.get_mut(1).and_then(|r| r.frame.take());
    let samples = reads.into_iter().map(|r| r.samples).collect();
    set.frames = Residency::Streamed(Arc::new(Streamed::new(
        first,
        second,
        pixels,
        samples,
        announced(plan, resolved).then(|| chosen_budget(resolved)),
    )));
    let frame_qc = qc::frame_qc_of(&set, fpn_ratios);
    let mut loaded = Loaded::new(set, frame_qc);
    loaded.keep_levels(LevelsKey::of(resolved), levels.clone());
    loaded.first_raw = raw_side.map(|raw| (levels, raw));
    if let Some(ron) = early_ron {
        loaded.keep_difference_ron(options.numerics, ron);
    }
    Ok(loaded)
}

/// A frame's whole-frame clip and level, as [`algorithm::frame_levels`] measures it with
/// the other frames.
fn frame_level(frame: &Arc<Frame>, resolved: &Resolved) -> FrameLevel {
    let mut levels = algorithm::frame_levels(
        std::slice::from_ref(frame),
        &resolved.params,
        resolved.numerics,
        resolved.recipe,
    );
    levels.swap_remove(0)
}

/// The frames' levels for `resolved`, each frame read whole again (the frame clip's
/// parameters changed).
pub fn levels(
    set: &FrameSet,
    resolved: &Resolved,
    progress: &dyn Progress,
) -> Result<Vec<FrameLevel>> {
    let plan = &set.plan;
    let table = electron_table(plan.gain);
    let total = plan.frames.len();
    let done = AtomicUsize::new(0);
    progress.report(Stage::FrameClip { done: 0, total });
    plan.frames
        .par_iter()
        .zip(&set.overscans)
        .map(|(file, overscans)| {
            if progress.cancelled() {
                return Err(Error::Cancelled);
            }
            let rows = 0..plan.shape().0;
            let (frame, _, _) =
                loader::read_prepared(plan, file, overscans, (set.storage, &table), rows)?;
            let level = frame_level(&Arc::new(frame), resolved);
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            progress.report(Stage::FrameClip { done: n, total });
            Ok(level)
        })
        .collect()
}

/// Bands a streamed set is read in at least: a band's memory (two are held, one read
/// while the other is stacked) is taken fresh once and then reused, so smaller bands
/// fault in fewer pages, but each band has its own overhead. Whole processes on the
/// 2-core machine (farm-bench, n = 11–21): 7 SOXS VIS frames in 6 bands 2.5 % and in 8
/// bands 1 % slower than in 12, in 15 and 23 as fast; 11 frames of 4096² in 45 bands
/// 2.3 % and in 23 bands 1.9 % slower than in 6, in 12 within 1 %.
const FEWEST_BANDS: usize = 12;

/// Rows a band takes: every frame's share of a quarter of the budget, at most a
/// [`FEWEST_BANDS`]th of the rows, at least one row.
fn band_rows(set: &FrameSet, budget: u64) -> usize {
    let (rows, cols) = set.shape();
    let sample = sample_bytes(&set.plan, set.storage);
    // A band's frames, and their electrons where they are converted, live together.
    let row_bytes = (set.frame_count() * cols.max(1)) as u64 * sample * 2;
    let band_bytes = (budget / 4).clamp(64 << 10, 512 << 20);
    usize::try_from(band_bytes / row_bytes.max(1))
        .unwrap_or(rows)
        .min(rows.div_ceil(FEWEST_BANDS))
        .max(1)
}

/// Rows `rows` of every frame of `set`, prepared.
fn read_band(set: &FrameSet, table: &ElectronTable, rows: Range<usize>) -> Result<Vec<Arc<Frame>>> {
    set.plan
        .frames
        .par_iter()
        .zip(&set.overscans)
        .map(|(file, overscans)| {
            loader::read_prepared(
                &set.plan,
                file,
                overscans,
                (set.storage, table),
                rows.clone(),
            )
            .map(|(frame, _, _)| Arc::new(frame))
        })
        .collect()
}

/// Passes cancellation through and keeps a band's own progress to itself: the bands
/// report as one stack.
struct Quiet<'a>(&'a dyn Progress);

impl Progress for Quiet<'_> {
    fn report(&self, _: Stage) {}

    fn cancelled(&self) -> bool {
        self.0.cancelled()
    }
}

/// The master of a streamed `set` with these `levels`: band after band read and stacked
/// (the next band read while one is stacked), then finished as a resident stack is.
/// soxspipe 0.19's RAW RON, when the request has none, is asked of `difference_ron`
/// while the bands are stacked.
pub fn stack(
    set: &FrameSet,
    budget: u64,
    (levels, request): (&[FrameLevel], &StackRequest),
    difference_ron: impl FnOnce() -> Option<f64> + Send,
    progress: &dyn Progress,
) -> Result<MasterBias> {
    let (rows, cols) = set.shape();
    let table = electron_table(set.plan.gain);
    let band = band_rows(set, budget);
    let bands: Vec<Range<usize>> = (0..rows.div_ceil(band))
        .map(|b| b * band..((b + 1) * band).min(rows))
        .collect();
    progress.report(Stage::Stacking {
        done: 0,
        total: bands.len(),
    });
    // 0.19's RAW RON is one long chain of sums on one core: the bands take the other
    // core meanwhile, and both once it is done (beside the first band's read alone, the
    // chain outlasted it and left a core idle).
    let (stacked, difference_ron) = rayon::join(
        || stack_bands(set, (&table, &bands), (levels, request), progress),
        || request.difference_ron.or_else(difference_ron),
    );
    let finish = Finish {
        shape: (rows, cols),
        names: set.frame_names(),
        levels,
        raw_ron: algorithm::raw_ron_of(levels, request.version, difference_ron),
        request,
    };
    finish.master(stacked?, &[], progress)
}

/// Every band of `bands` read and stacked, the next band read while one is stacked.
fn stack_bands(
    set: &FrameSet,
    (table, bands): (&ElectronTable, &[Range<usize>]),
    (levels, request): (&[FrameLevel], &StackRequest),
    progress: &dyn Progress,
) -> Result<StackedRows> {
    let (rows, cols) = set.shape();
    let total = bands.len();
    let quiet = Quiet(progress);
    let mut stacked = StackedRows::with_capacity(rows * cols, set.frame_count());
    let mut next = bands.first().map(|r| read_band(set, table, r.clone()));
    for (b, _) in bands.iter().enumerate() {
        if progress.cancelled() {
            return Err(Error::Cancelled);
        }
        let frames = next.take().transpose()?.unwrap_or_default();
        let (rows_stacked, following) = rayon::join(
            || algorithm::stack_band(&frames, levels, request, &quiet),
            || bands.get(b + 1).map(|r| read_band(set, table, r.clone())),
        );
        drop(frames);
        stacked.append(rows_stacked?);
        next = following;
        progress.report(Stage::Stacking { done: b + 1, total });
    }
    Ok(stacked)
}
