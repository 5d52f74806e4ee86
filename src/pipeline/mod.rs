//! The whole recipe in a few calls, shared by the command line and the console.

mod stream;

pub use stream::{ONCE_BUDGET, ONCE_RESIDENT, budget, default_budget, resident_bytes, streams};

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use crate::algorithm::{self, MasterBias, PixelInspection, StackMethod, StackRequest, standard};
use crate::algorithm::{ClipMasks, Frame, FrameLevel};
use crate::error::{Error, Result};
use crate::inputs::{self, InputSet};
use crate::load::{self as loader, FrameSet, LoadOptions, Residency};
use crate::params::{Numerics, RecipeVersion};
use crate::progress::{Progress, Stage};
use crate::qc::{self, BiasDistribution, FrameQc, QcReport};
use crate::settings::{Resolved, Settings, Stacks};
use crate::verify::{self, Plan, Verification};

/// Collects the inputs and verifies their headers against the built-in profiles and the
/// settings' generic ones.
pub fn validate(paths: &[PathBuf], settings: &Settings) -> Result<(InputSet, Verification)> {
    let set = inputs::collect(paths)?;
    let scanned = verify::scan(&set.files);
    let verification = verify::verify(&scanned, &set.ignored, &settings.detectors());
    Ok((set, verification))
}

/// Settings resolved for a plan's profile.
pub fn resolve(settings: &Settings, plan: &Plan) -> Result<Resolved> {
    Ok(settings.resolve(&plan.profile)?)
}

/// Frames in memory plus the QC inputs that do not depend on parameters.
#[derive(Debug)]
pub struct Loaded {
    pub set: FrameSet,
    pub frame_qc: FrameQc,
    /// The last frame levels and what they were measured with: a re-stack that changes
    /// only the stack clip reuses them.
    levels: Mutex<Option<(LevelsKey, Arc<Vec<FrameLevel>>)>>,
    /// What the frames' clips at those levels masked, as soxspipe 0.19's stack takes it
    /// (resident sets), kept by re-stacks.
    clip_masks: Mutex<Option<(LevelsKey, Arc<ClipMasks>)>>,
    /// soxspipe 0.19's RAW RON by the numerics it was measured with (it depends on
    /// nothing else).
    difference_ron: Mutex<Option<(Numerics, f64)>>,
    /// The first frame's side of the distribution QC, measured with these levels when
    /// the first frame was read (a streamed set stacked once, which keeps no frame).
    first_raw: Option<(Arc<Vec<FrameLevel>>, qc::RawSide)>,
}

/// What frame levels depend on.
#[derive(Debug, Clone, Copy, PartialEq)]
struct LevelsKey {
    sigma: f64,
    iterations: u32,
    numerics: Numerics,
    version: RecipeVersion,
}

impl LevelsKey {
    fn of(resolved: &Resolved) -> LevelsKey {
        LevelsKey {
            sigma: resolved.params.frame_clipping_sigma,
            iterations: resolved.params.frame_clipping_iterations,
            numerics: resolved.numerics,
            version: resolved.recipe,
        }
    }
}

impl Loaded {
    pub fn new(set: FrameSet, frame_qc: FrameQc) -> Loaded {
        Loaded {
            set,
            frame_qc,
            levels: Mutex::new(None),
            clip_masks: Mutex::new(None),
            difference_ron: Mutex::new(None),
            first_raw: None,
        }
    }

    /// soxspipe 0.19's RAW RON of these frames, measured or reused; `None` for one frame.
    fn difference_ron(&self, numerics: Numerics) -> Option<f64> {
        if let Ok(cache) = self.difference_ron.lock()
            && let Some((cached, ron)) = *cache
            && cached == numerics
        {
            return Some(ron);
        }
        let (first, second) = self.set.first_two()?;
        let bad = self.set.bad_pixels.as_ref().map(|m| standard(&m.bad));
        let table = algorithm::electron_table(self.set.plan.gain);
        let ron = algorithm::difference_ron(first, second, bad, numerics, Some(&table));
        self.keep_difference_ron(numerics, ron);
        Some(ron)
    }

    /// Keeps soxspipe 0.19's RAW RON measured with `numerics` (a streamed set stacked
    /// once measures it while it reads the frames, and keeps only the first).
    pub(super) fn keep_difference_ron(&self, numerics: Numerics, ron: f64) {
        if let Ok(mut cache) = self.difference_ron.lock() {
            *cache = Some((numerics, ron));
        }
    }

    /// Frame levels for `resolved`, measured (a streamed set's frames read again) or
    /// reused.
    fn levels(&self, resolved: &Resolved, progress: &dyn Progress) -> Result<Arc<Vec<FrameLevel>>> {
        if let Some(levels) = self.kept_levels(resolved) {
            return Ok(levels);
        }
        let levels = Arc::new(match self.set.resident() {
            Some(frames) => {
                let total = frames.len();
                progress.report(Stage::FrameClip { done: 0, total });
                let levels = algorithm::frame_levels(
                    frames,
                    &resolved.params,
                    resolved.numerics,
                    resolved.recipe,
                );
                progress.report(Stage::FrameClip { done: total, total });
                levels
            }
            None => stream::levels(&self.set, resolved, progress)?,
        });
        self.keep_levels(LevelsKey::of(resolved), levels.clone());
        Ok(levels)
    }

    /// The levels `resolved` asks for, when they are known (kept from the load or a
    /// stack).
    fn kept_levels(&self, resolved: &Resolved) -> Option<Arc<Vec<FrameLevel>>> {
        let key = LevelsKey::of(resolved);
        let cache = self.levels.lock().ok()?;
        let (cached, levels) = cache.as_ref()?;
        (*cached == key).then(|| levels.clone())
    }

    /// The clip masks of resident `frames` at `levels` (measured for `resolved`): kept
    /// from an earlier stack, or, when they are to be kept (`keep`: the console's
    /// stacks), measured and kept. Otherwise the stack measures them beside the RAW
    /// RON and keeps nothing, so that a one-off stack, the command line's, holds no
    /// memory for them (about 100 MB for 41 frames of 4096²).
    fn clip_masks(
        &self,
        frames: &[Arc<Frame>],
        levels: &[FrameLevel],
        resolved: &Resolved,
        keep: bool,
    ) -> Option<Arc<ClipMasks>> {
        let key = LevelsKey::of(resolved);
        if let Some((cached, masks)) = self.clip_masks.lock().ok()?.as_ref()
            && *cached == key
        {
            return Some(masks.clone());
        }
        if !keep {
            return None;
        }
        let masks = Arc::new(ClipMasks::of(frames, levels));
        if let Ok(mut cache) = self.clip_masks.lock() {
            *cache = Some((key, masks.clone()));
        }
        Some(masks)
    }

    /// Keeps `levels`, measured for `key`, for the stacks that follow.
    fn keep_levels(&self, key: LevelsKey, levels: Arc<Vec<FrameLevel>>) {
        if let Ok(mut cache) = self.levels.lock() {
            *cache = Some((key, levels));
        }
    }
}

impl Loaded {
    /// What the pixels told that the headers could not: frames with NaN or infinite
    /// pixels, which every clip leaves out.
    pub fn warnings(&self) -> Vec<String> {
        let missing_map = self
            .set
            .bad_pixels
            .is_none()
            .then(|| loader::bad_pixel_map_note(&self.set.plan, None))
            .flatten();
        let plan = &self.set.plan;
        let no_strips = (plan.profile.overscan != crate::detector::OverscanMethod::None
            && plan.amplifiers.iter().all(|a| a.overscan.is_none()))
        .then(|| {
            format!(
                "overscan: {} was asked for, but profile {} names no overscan strip \
                 (amplifiers: … overscan:); nothing was subtracted",
                plan.profile.overscan.name(),
                plan.profile.name
            )
        });
        let streamed = match &self.set.frames {
            Residency::Streamed(streamed) => streamed.announced.map(|budget| {
                format!(
                    "the {} frames need {} in memory, more than the memory budget of {} \
                 (mbias.memory): each stack reads them again from disk, in bands of rows",
                    self.set.frame_count(),
                    bytesize::ByteSize::b(resident_bytes(&self.set.plan, self.set.storage))
                        .display()
                        .iec(),
                    bytesize::ByteSize::b(budget).display().iec(),
                )
            }),
            Residency::Resident(_) => None,
        };
        self.set
            .non_finite
            .iter()
            .zip(&self.set.plan.frames)
            .filter(|(non_finite, _)| **non_finite > 0)
            .map(|(non_finite, file)| {
                format!(
                    "{}: {non_finite} pixel(s) are NaN or infinite; they are left out like \
                     clipped ones",
                    file.path.display(),
                )
            })
            .chain(streamed)
            .chain(missing_map)
            .chain(no_strips)
            .chain(overscan_jumps(&self.set))
            .collect()
    }
}

/// A frame whose overscan level, on one amplifier, stands apart from the set's (MUSE's
/// `ovscsigma` check): more than 5 robust σ, and at least 1 ADU, from that amplifier's
/// median over the frames.
fn overscan_jumps(set: &loader::FrameSet) -> Vec<String> {
    let mut found = Vec::new();
    for (a, amp) in set.plan.amplifiers.iter().enumerate() {
        for (frame, level, centre) in jumps(&set.overscan_levels(a)) {
            found.push(format!(
                "{}: the overscan of amplifier {} reads {level:.1} ADU against {centre:.1} \
                 in the set ({:+.1} ADU): a jump in that readout",
                set.plan.frames[frame].path.display(),
                amp.name,
                level - centre
            ));
        }
    }
    found
}

/// The frames (index, level, the set's median) whose `levels` lie more than 5 robust σ,
/// and at least 1 ADU, from the median of all; none for fewer than three levels.
fn jumps(levels: &[Option<f64>]) -> Vec<(usize, f64, f64)> {
    let mut known: Vec<f64> = levels.iter().flatten().copied().collect();
    if known.len() < 3 {
        return Vec::new();
    }
    let Some(centre) = algorithm::numerics::median_in_place(&mut known) else {
        return Vec::new();
    };
    let mut deviations: Vec<f64> = known.iter().map(|v| (v - centre).abs()).collect();
    let spread = algorithm::numerics::median_in_place(&mut deviations).unwrap_or(0.0)
        * algorithm::numerics::MAD_TO_STD;
    let limit = (5.0 * spread).max(1.0);
    levels
        .iter()
        .enumerate()
        .filter_map(|(k, level)| level.map(|l| (k, l, centre)))
        .filter(|(_, level, centre)| (level - centre).abs() > limit)
        .collect()
}

/// How `resolved` asks for a set to be loaded.
pub fn load_options(resolved: &Resolved) -> LoadOptions<'_> {
    LoadOptions {
        numerics: resolved.numerics,
        static_calibrations: resolved.static_calibrations.as_deref(),
    }
}

/// Reads a plan's frames as `resolved` says, and measures their per-frame QC: into
/// memory, or, for a set larger than the memory budget, once through, to be read again
/// in bands by every stack.
pub fn load(plan: &Plan, resolved: &Resolved, progress: &dyn Progress) -> Result<Loaded> {
    load_reusing(plan, resolved, &[], progress)
}

/// [`load`], reusing the prepared frames of `previous` sets that `plan` shares with them
/// (the console's selection changes); the per-frame QC is measured again for the new set.
pub fn load_reusing(
    plan: &Plan,
    resolved: &Resolved,
    previous: &[Arc<Loaded>],
    progress: &dyn Progress,
) -> Result<Loaded> {
    if streams(plan, resolved) {
        return stream::load(plan, resolved, progress);
    }
    let same_image = previous
        .iter()
        .find(|l| l.set.plan.extension == plan.extension);
    let options = load_options(resolved);
    let set = loader::load_reusing(plan, options, same_image.map(|l| &l.set), progress)?;
    if progress.cancelled() {
        return Err(Error::Cancelled);
    }
    let frame_qc = qc::frame_qc(&set);
    Ok(Loaded::new(set, frame_qc))
}

/// A stacked master with its QC.
#[derive(Debug)]
pub struct Outcome {
    pub master: MasterBias,
    pub qc: QcReport,
    /// The frames' whole-frame clips: the bias-distribution QC shows the first one's, the
    /// pixel-stack inspector all.
    levels: Arc<Vec<FrameLevel>>,
}

impl Outcome {
    /// The bias-distribution QC of soxspipe 0.19's plot for the master stacked from
    /// `loaded` (`None` when the first frame or the master has no pixel to show).
    /// Measured when asked for, since a re-stack that only shows the QC table need not.
    pub fn distribution(&self, loaded: &Loaded) -> Option<BiasDistribution> {
        let raw_ron = (self.master.frames.len() > 1).then_some(self.master.raw_ron);
        if let Some((levels, raw)) = &loaded.first_raw
            && Arc::ptr_eq(levels, &self.levels)
        {
            return qc::bias_distribution_with(raw, &self.master, raw_ron);
        }
        let (first, level) = (loaded.set.first_frame()?, self.levels.first()?);
        let bad = loaded.set.bad_pixels.as_ref().map(|m| standard(&m.bad));
        let table = algorithm::electron_table(loaded.set.plan.gain);
        qc::bias_distribution(first, level, bad, &self.master, (raw_ron, Some(&table)))
    }

    /// Pixel (`col`, `row`) (0-based) of the master followed from `loaded`'s frames
    /// through the stack ([`algorithm::inspect_pixel`]); `None` for a set streamed from
    /// disk, whose frames are not in memory.
    pub fn inspect(&self, loaded: &Loaded, pixel: (usize, usize)) -> Option<PixelInspection> {
        let frames = loaded.set.resident()?;
        algorithm::inspect_pixel(frames, &self.levels, &self.master, pixel)
    }
}

/// Stacks `loaded` with `resolved`. A set stacked again and again (live tuning) keeps what
/// the next stack may reuse.
pub fn stack(loaded: &Loaded, resolved: &Resolved, progress: &dyn Progress) -> Result<Outcome> {
    if progress.cancelled() {
        return Err(Error::Cancelled);
    }
    // A set the front end stacks again and again keeps the clip masks for the stacks to
    // come, from its first (so that the first re-stack need not measure them).
    let keep_masks = resolved.stacks == Stacks::Repeatedly;
    let measure_difference_ron = || {
        resolved
            .recipe
            .is_019()
            .then(|| loaded.difference_ron(resolved.numerics))
            .flatten()
    };
    // 0.19's RAW RON takes one core while the frames' levels take the other. Levels read
    // off 16-bit histograms take milliseconds, though, and known ones none: such a set
    // measures it beside its stack instead (a streamed one beside its first band's read),
    // which would otherwise leave that core idle.
    let beside_stack = match loaded.set.resident() {
        Some(frames) => algorithm::levels_from_histograms(frames, resolved.numerics),
        None => loaded.kept_levels(resolved).is_some(),
    };
    let (levels, difference_ron) = if beside_stack {
        (loaded.levels(resolved, progress), None)
    } else {
        rayon::join(|| loaded.levels(resolved, progress), measure_difference_ron)
    };
    // The headers' (or the profile's) read noise; the noise model's is measured from
    // frame differences when the set has a pair.
    let ron = loaded.set.plan.read_noise(resolved.recipe);
    let read_noise = loaded.frame_qc.difference_ron.map_or(ron, |d| d.sigma());
    let method = StackMethod {
        rejection: resolved.rejection,
        combine: resolved.combine,
        read_noise,
    };
    let request = StackRequest {
        params: resolved.params,
        numerics: resolved.numerics,
        method,
        version: resolved.recipe,
        ron,
        difference_ron,
    };
    let levels = levels?;
    let master = match &loaded.set.frames {
        Residency::Resident(frames) => {
            let clip_masks = resolved
                .recipe
                .is_019()
                .then(|| loaded.clip_masks(frames, &levels, resolved, keep_masks))
                .flatten();
            algorithm::stack_levels_with(
                frames,
                &levels,
                &request,
                clip_masks.as_deref(),
                measure_difference_ron,
                progress,
            )?
        }
        Residency::Streamed(_) => stream::stack(
            &loaded.set,
            budget(&loaded.set.plan, resolved),
            (&levels, &request),
            measure_difference_ron,
            progress,
        )?,
    };
    progress.report(Stage::Qc);
    let qc = qc::report(&loaded.set, &master, &loaded.frame_qc, &resolved.qc_ranges);
    Ok(Outcome { master, qc, levels })
}

/// One image of a set (the frames' only one, or one extension) stacked: its frames in
/// memory and the master with its QC.
#[derive(Debug)]
pub struct StackedImage {
    pub loaded: Arc<Loaded>,
    pub outcome: Outcome,
}

impl StackedImage {
    /// The parts [`write()`] takes.
    pub fn parts(&self) -> (&Loaded, &Outcome) {
        (&self.loaded, &self.outcome)
    }
}

/// Where a run's frames come from.
#[derive(Debug, Clone, Copy)]
pub enum Frames<'a> {
    /// Read the frames of these plans (one per extension of multi-extension frames),
    /// taking those already prepared in `reuse` from memory.
    Read {
        plans: &'a [Plan],
        reuse: &'a [Arc<Loaded>],
    },
    /// Frames already in memory: a re-stack with other values. A set stored for other
    /// numerics than the run's is read again (see [`crate::load::Storage::for_numerics`]).
    InMemory(&'a [Arc<Loaded>]),
}

/// The recipe on every image of a set: the frames loaded (or reused), stacked with
/// `resolved`, measured. This is the one sequence every front end runs: the command line,
/// the demo, the benchmark and the console. Images go one after the other, since each
/// stack already keeps both cores busy; `progress` reports and cancels across all of them.
pub fn run(
    frames: Frames<'_>,
    resolved: &Resolved,
    progress: &dyn Progress,
) -> Result<Vec<StackedImage>> {
    let stack_one = |loaded: Arc<Loaded>| {
        let outcome = stack(&loaded, resolved, progress)?;
        Ok(StackedImage { loaded, outcome })
    };
    match frames {
        Frames::Read { plans, reuse } => plans
            .iter()
            .map(|plan| {
                let loaded = load_reusing(plan, resolved, reuse, progress)?;
                stack_one(Arc::new(loaded))
            })
            .collect(),
        Frames::InMemory(loaded) => loaded
            .iter()
            .map(|l| {
                // A set is kept as it was loaded while the settings ask for the same
                // storage, map and residency (a budget change may move it in or out of
                // memory).
                let residency_kept = streams(&l.set.plan, resolved) == l.set.resident().is_none();
                if l.set.fits(load_options(resolved)) && residency_kept {
                    stack_one(l.clone())
                } else {
                    // Frames kept in the storage the run needs are reused (only the
                    // bad-pixel map may have changed); the others are read again.
                    let reloaded =
                        load_reusing(&l.set.plan, resolved, std::slice::from_ref(l), progress)?;
                    stack_one(Arc::new(reloaded))
                }
            })
            .collect(),
    }
}

/// Writes the product of `images` into `folder` as `name`: a single image as soxspipe
/// lays it out, the extensions of a multi-extension set one FLUX/QUAL/ERRS triple each.
/// Every image comes from the same files, which are never written over. With `plot`,
/// each image's bias-distribution QC plot goes beside it ([`crate::qc_plot`]).
pub fn write(
    folder: &Path,
    name: &str,
    overwrite: bool,
    plot: bool,
    images: &[(&Loaded, &Outcome)],
    progress: &dyn Progress,
) -> Result<PathBuf> {
    progress.report(Stage::Writing);
    let inputs: Vec<PathBuf> = images
        .first()
        .into_iter()
        .flat_map(|(loaded, _)| &loaded.set.plan.frames)
        .map(|frame| frame.path.clone())
        .collect();
    let parts = images;
    let images: Vec<crate::product::Image> = images
        .iter()
        .map(|(loaded, outcome)| crate::product::Image {
            set: &loaded.set,
            master: &outcome.master,
            qc: &outcome.qc,
        })
        .collect();
    // The plots are measured while the product is written, which keeps one core busy.
    let several = parts.len() > 1;
    let (product, plots) = rayon::join(
        || {
            crate::product::write(
                &crate::product::WriteRequest {
                    folder,
                    name,
                    overwrite,
                    inputs: &inputs,
                },
                &images,
            )
        },
        || -> Vec<(Option<&str>, String)> {
            if !plot {
                return Vec::new();
            }
            parts
                .par_iter()
                .filter_map(|(loaded, outcome)| {
                    let distribution = outcome.distribution(loaded)?;
                    let extension = loaded.set.plan.extension.as_deref().filter(|_| several);
                    let arm = &loaded.set.plan.profile.arm;
                    Some((extension, crate::qc_plot::svg(&distribution, arm)))
                })
                .collect()
        },
    );
    let product = product?;
    let mut written = Vec::new();
    for (extension, svg) in plots {
        let path = crate::qc_plot::plot_path(&product, extension);
        crate::atomic::write_bytes(&path, true, svg.as_bytes())?;
        written.push(path);
    }
    // A plot left from a product this one replaced no longer describes what is there.
    for (loaded, _) in parts {
        let extension = loaded.set.plan.extension.as_deref().filter(|_| several);
        let path = crate::qc_plot::plot_path(&product, extension);
        if !written.contains(&path) {
            let _ = std::fs::remove_file(&path);
        }
    }
    write_assembled(parts, &product)?;
    Ok(product)
}

/// The masters of a multi-extension set assembled into the whole detector, beside
/// `product`, when the profile places its extensions; an assembled image left from a
/// product this one replaced is removed.
fn write_assembled(images: &[(&Loaded, &Outcome)], product: &Path) -> Result<()> {
    // Verification refused a set whose extensions cannot be put together.
    match crate::verify::layout(images.iter().map(|(l, _)| &l.set.plan))
        .ok()
        .flatten()
    {
        Some(layout) => {
            let masters: Vec<&MasterBias> = images.iter().map(|(_, o)| &o.master).collect();
            let assembled = crate::assemble::assemble(&layout, &masters);
            crate::assemble::write(&assembled, product).map(|_| ())
        }
        None => {
            let _ = std::fs::remove_file(crate::assemble::assembled_path(product));
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::jumps;

    #[test]
    fn an_overscan_level_that_jumps_against_the_set_is_found() {
        // Five readouts settle within a fraction of an ADU; the fourth jumps by 12.
        let levels = [
            Some(943.0),
            Some(943.2),
            Some(942.9),
            Some(955.0),
            None,
            Some(943.1),
        ];
        assert_eq!(jumps(&levels), vec![(3, 955.0, 943.1)]);
        // Within 1 ADU is never a jump, however quiet the rest.
        assert!(jumps(&[Some(943.0), Some(943.0), Some(943.0), Some(943.9)]).is_empty());
        assert!(
            jumps(&[Some(1.0), Some(50.0)]).is_empty(),
            "too few to judge"
        );
    }
}
