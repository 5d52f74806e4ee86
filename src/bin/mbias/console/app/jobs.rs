//! The console's jobs as the model sees them: stacking (on `s`, and again after the
//! debounce when the selection or a parameter changes), cancelling, writing the product
//! and the settings, comparing the product with its set-up's reference, and the news the
//! workers send back.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use mbias::compare::Comparison;
use mbias::detector::Profile;
use mbias::history::Location;
use mbias::progress::Stage;
use mbias::settings::Resolved;

use super::{App, Job};
use crate::console::absolute;
use crate::console::msg::{
    Effect, JobEvent, JobId, StackResult, StackSource, TrendHistory, WriteFailure,
};
use crate::console::overlay::{Overlay, Pending, QuitRisk};
use crate::console::panes::results::{Tab, TrendLoad, setup_of};
use crate::console::text::file_name;

/// How long parameter changes settle before the automatic re-stack starts.
const RESTACK_DEBOUNCE: Duration = Duration::from_millis(60);
/// Name of the settings file `S` writes.
const SAVED_SETTINGS: &str = "mbias-settings.yaml";

impl App {
    /// The selection changed: a result on screen no longer shows it. Once frames are in
    /// memory it is re-stacked as a parameter change is (frames still selected are not
    /// read again), so `w` can only ever write what the screen shows.
    pub(super) fn selection_changed(&mut self) -> Vec<Effect> {
        if self.results.result.is_none() && !matches!(self.job, Job::Stacking { .. }) {
            return Vec::new();
        }
        self.results.stale = true;
        if self.files.selection_check.plans().is_empty() {
            // Nothing stackable: stop a re-stack of the old selection and keep the old
            // result on screen, marked stale; `w` refuses it.
            self.restack_at = None;
            if let Job::Stacking { id, .. } = self.job {
                self.job = Job::Idle;
                return vec![Effect::Cancel(id)];
            }
        } else {
            self.restack_at = Some(Instant::now() + RESTACK_DEBOUNCE);
        }
        Vec::new()
    }

    /// A parameter changed to `setting` (`key = value`): once frames are in memory,
    /// re-stack after the debounce.
    pub(super) fn params_changed(&mut self, setting: String) -> Vec<Effect> {
        if self.loaded.is_some() {
            self.results.stale = true;
            self.restack_at = Some(Instant::now() + RESTACK_DEBOUNCE);
            self.info(format!("{setting}; re-stacking"));
        } else {
            self.info(format!("{setting}; s stacks with it"));
        }
        Vec::new()
    }

    /// Time passes: the debounced re-stack starts once it is due.
    pub(super) fn on_tick(&mut self, now: Instant) -> Vec<Effect> {
        match self.restack_at {
            Some(due) if now >= due => {
                self.restack_at = None;
                self.start_stack(true)
            }
            _ => Vec::new(),
        }
    }

    /// The values a stack runs with: the pane's parameters, the settings' QC ranges for the
    /// plan's instrument.
    fn resolved_for(&mut self, profile: &Profile) -> Result<Resolved, String> {
        let defaults = self.settings.resolve(profile).map_err(|e| e.to_string())?;
        Ok(self.params.resolve(defaults))
    }

    /// Stacks the selection, from memory when its frames are loaded. A running stack is
    /// cancelled (the newest request wins); an `automatic` re-stack stays quiet when the
    /// selection cannot be stacked, where `s` says why.
    pub(super) fn start_stack(&mut self, automatic: bool) -> Vec<Effect> {
        let selection: Vec<PathBuf> = self.files.selected.iter().cloned().collect();
        let cached = self
            .loaded
            .as_ref()
            .filter(|(key, _)| *key == selection)
            .map(|(_, loaded)| loaded.clone());
        let plans = self.files.selection_check.plans();
        let cached_profile = cached
            .as_ref()
            .and_then(|l| l.first())
            .map(|l| l.set.plan.profile.clone());
        let (source, profile) = match (cached, cached_profile, plans.first()) {
            (Some(loaded), Some(profile), _) => (StackSource::Loaded(loaded), profile),
            (_, _, Some(first)) => (
                StackSource::Read {
                    plans: plans.iter().map(|p| (*p).clone()).collect(),
                    reuse: self
                        .loaded
                        .as_ref()
                        .map(|(_, loaded)| loaded.clone())
                        .unwrap_or_default(),
                },
                first.profile.clone(),
            ),
            _ => {
                if !automatic {
                    let (_, verdict) = self.files.verdict();
                    self.error(format!("cannot stack: {verdict}"));
                }
                return Vec::new();
            }
        };
        let resolved = match self.resolved_for(&profile) {
            Ok(r) => r,
            Err(e) => {
                self.error(e);
                return Vec::new();
            }
        };
        let mut effects = Vec::new();
        if let Job::Stacking { id, .. } = self.job {
            effects.push(Effect::Cancel(id));
        }
        let id = self.new_id();
        let total = selection.len();
        self.job = Job::Stacking {
            id,
            stage: Stage::Reading { done: 0, total },
        };
        self.results.failed = None;
        effects.push(Effect::Stack {
            id,
            source,
            resolved,
            selection,
        });
        effects
    }

    /// Esc: stops the running stack, and a re-stack still waiting for the debounce.
    pub(super) fn cancel(&mut self) -> Vec<Effect> {
        self.restack_at = None;
        match self.job {
            Job::Stacking { id, .. } => {
                self.job = Job::Idle;
                if self.results.result.is_some() && self.results.stale {
                    // The last finished result stays, and says it is not the panes' values.
                    self.info(
                        "re-stack cancelled: the result shown is the last finished one (stale); \
                         s stacks the panes' values, and so does the next change",
                    );
                } else {
                    self.info("stack cancelled");
                }
                vec![Effect::Cancel(id)]
            }
            Job::Idle => Vec::new(),
        }
    }

    /// `w`: the product of the result on screen, refused unless it is what the panes show.
    pub(super) fn write_product(&mut self, overwrite: bool) -> Vec<Effect> {
        let Some(result) = self.results.result.clone() else {
            self.error("nothing to write yet: select frames and press s to stack");
            return Vec::new();
        };
        if let Some(change) = self.result_differs(&result) {
            self.error(format!(
                "{change} since this result; wait for the re-stack (or press s), then write"
            ));
            return Vec::new();
        }
        let Some(first) = result.images.first() else {
            return Vec::new();
        };
        let name = mbias::product::product_name(&first.loaded.set.plan, self.files.sof.as_deref());
        let history = match &self.history {
            Some(location @ Location::File(_)) => {
                Some((location.clone(), self.settings.detectors()))
            }
            _ => None,
        };
        self.writing = Some(self.results.generation);
        vec![Effect::WriteProduct {
            folder: absolute(&self.output_dir),
            name,
            overwrite,
            result,
            history,
        }]
    }

    /// `C`: the product written of the result on screen against the reference the QC
    /// history certifies for its set-up. `compare` reads product files, so the master
    /// must be written first.
    pub(super) fn compare_reference(&mut self) -> Vec<Effect> {
        let Some(product) = self.results.written.clone() else {
            self.error("write the master first (w), then compare");
            return Vec::new();
        };
        let location = match &self.history {
            Some(location @ Location::File(_)) => location.clone(),
            Some(Location::Off) => {
                self.error("the QC history is off: no reference to compare with");
                return Vec::new();
            }
            None => {
                self.error(
                    "no QC history: no data folder to keep it in (name one with --history or mbias.history)",
                );
                return Vec::new();
            }
        };
        self.info(format!(
            "comparing {} with its set-up's reference …",
            file_name(&product)
        ));
        vec![Effect::Compare {
            location,
            product,
            limits: self.settings.compare_limits(),
            detectors: self.settings.detectors(),
        }]
    }

    /// A comparison back: shown on the Trend tab when it is of the product written of
    /// the result on screen (one of an earlier result is dropped).
    fn on_compared(&mut self, result: Result<Comparison, String>) {
        match result {
            Ok(comparison) if self.results.written.as_ref() == Some(&comparison.tonight) => {
                self.info(format!(
                    "{} against reference {}: {}",
                    file_name(&comparison.tonight),
                    file_name(&comparison.reference),
                    comparison.verdict
                ));
                self.results.comparison = Some(comparison);
                self.results.open_tab(Tab::Trend);
            }
            Ok(_) => {}
            Err(e) => self.error(format!("cannot compare: {e}")),
        }
    }

    /// `S`: the pane's values as a settings file that reproduces the run: resolved for
    /// the detector of the result (else of the selection, else SOXS), with that detector's
    /// definition when it is a generic one. Written beside the products, into a folder
    /// created as `w` creates it.
    pub(super) fn save_settings(&mut self, overwrite: bool) -> Vec<Effect> {
        let shown = self.results.result.as_ref().and_then(|r| r.images.first());
        let profile = match (shown, self.files.selection_check.plans().first()) {
            (Some(image), _) => image.loaded.set.plan.profile.clone(),
            (None, Some(plan)) => plan.profile.clone(),
            (None, None) => mbias::detector::soxs_vis().clone(),
        };
        match self.resolved_for(&profile) {
            Ok(resolved) => vec![Effect::SaveSettings {
                path: absolute(&self.output_dir.join(SAVED_SETTINGS)),
                overwrite,
                text: self.settings.to_soxspipe_yaml(&resolved, &profile),
            }],
            Err(e) => {
                self.error(e);
                Vec::new()
            }
        }
    }

    /// What makes `result` other than what the screen asks for now, if anything: its
    /// frames and its parameters are compared with the current ones, not only the stale
    /// flag, so no path through the console can write a master the screen does not show.
    fn result_differs(&self, result: &StackResult) -> Option<&'static str> {
        let selection: Vec<PathBuf> = self.files.selected.iter().cloned().collect();
        if result.selection != selection {
            Some("the selection changed")
        } else if self.params.differs(&result.resolved) {
            Some("the parameters changed")
        } else if self.results.stale {
            Some("a change is pending")
        } else {
            None
        }
    }

    /// What quitting now would lose, if anything: a running stack, or a master stacked
    /// with parameters other than the settings' and not written.
    pub(super) fn quit_risk(&mut self) -> Option<QuitRisk> {
        if matches!(self.job, Job::Stacking { .. }) {
            return Some(QuitRisk::Stacking);
        }
        let profile = self
            .results
            .result
            .as_ref()
            .filter(|_| self.unwritten)?
            .images
            .first()?
            .loaded
            .set
            .plan
            .profile
            .clone();
        let defaults = self.settings.resolve(&profile).ok()?;
        self.params
            .differs(&defaults)
            .then_some(QuitRisk::Unwritten)
    }

    fn is_current(&self, id: JobId) -> bool {
        matches!(self.job, Job::Stacking { id: current, .. } if current == id)
    }

    /// News from a worker; news of a job the user has moved on from changes nothing.
    pub(super) fn on_job(&mut self, event: JobEvent) -> Vec<Effect> {
        match event {
            JobEvent::Listed {
                id,
                dir,
                entries,
                select,
            } => {
                let request = self.files.on_listed(id, dir, entries, select);
                return self.apply(request);
            }
            JobEvent::Scanned { id, frames } => self.files.on_scanned(id, frames),
            JobEvent::ScanDone { id } => {
                let request = self.files.on_scan_done(id);
                return self.apply(request);
            }
            JobEvent::Progress { id, stage } => {
                if self.is_current(id) {
                    self.job = Job::Stacking { id, stage };
                }
            }
            JobEvent::Stacked { id, result } => {
                if !self.is_current(id) {
                    return Vec::new();
                }
                self.job = Job::Idle;
                // "A stack is running" is no longer true: the question goes.
                if self.overlay == Some(Overlay::ConfirmQuit(QuitRisk::Stacking)) {
                    self.overlay = None;
                }
                match result {
                    Ok(result) => {
                        self.loaded = Some((result.selection.clone(), result.loaded()));
                        self.unwritten = true;
                        // A change made while it ran is already waiting to re-stack.
                        let stale = self.restack_at.is_some();
                        self.notice = Some(self.results.show(result, stale));
                    }
                    Err(failure) => {
                        if let Some(file) = &failure.file {
                            self.files.stack_failed_on(file, failure.message.clone());
                        }
                        self.error(format!("stack failed: {}", failure.message));
                        self.results.failed = Some(failure.message);
                    }
                }
            }
            JobEvent::Wrote(result, note) => {
                self.on_written(result, Pending::Product);
                if let (Some(note), Some(notice)) = (note, self.notice.as_mut()) {
                    notice.text = format!("{} · {note}", notice.text);
                }
            }
            JobEvent::SavedSettings(result) => self.on_written(result, Pending::Settings),
            JobEvent::Trend(result) => self.on_trend(result),
            JobEvent::Compared(result) => self.on_compared(result),
        }
        Vec::new()
    }

    /// The Trend tab's history read: kept for the result it was asked for (a history of
    /// another setup, read for an older result, is dropped).
    fn on_trend(&mut self, result: Result<TrendHistory, String>) {
        let Some((generation, TrendLoad::Loading)) = &self.results.trend else {
            return;
        };
        let current = self
            .results
            .shown()
            .map(|image| setup_of(&image.loaded.set.plan));
        let load = match result {
            Ok(history) if Some(&history.setup) == current.as_ref() => TrendLoad::Loaded(history),
            Ok(_) => return,
            Err(e) => TrendLoad::Failed(format!("cannot read the QC history: {e}")),
        };
        self.results.trend = Some((*generation, load));
    }

    /// The history for the Trend tab, when it is on screen and has not been asked for
    /// since the result shown was stacked.
    pub(super) fn load_trend(&mut self) -> Option<Effect> {
        if self.results.current_tab() != Tab::Trend {
            return None;
        }
        let generation = self.results.generation;
        if self
            .results
            .trend
            .as_ref()
            .is_some_and(|(asked, _)| *asked == generation)
        {
            return None;
        }
        let setup = setup_of(&self.results.shown()?.loaded.set.plan);
        let recipe = self
            .results
            .result
            .as_ref()?
            .resolved
            .recipe
            .name()
            .to_string();
        let Some(location) = self.history.clone() else {
            self.results.trend = Some((
                generation,
                TrendLoad::Failed(
                    "no QC history: no data folder to keep it in (name one with --history or mbias.history)"
                        .into(),
                ),
            ));
            return None;
        };
        self.results.trend = Some((generation, TrendLoad::Loading));
        Some(Effect::LoadTrend {
            location,
            setup,
            recipe,
        })
    }

    fn on_written(&mut self, result: Result<PathBuf, WriteFailure>, what: Pending) {
        match result {
            Ok(path) => {
                if matches!(what, Pending::Product)
                    && self.writing.take() == Some(self.results.generation)
                {
                    self.results.written = Some(path.clone());
                }
                // Either keeps the tuning: the master itself, or the settings to make it.
                self.unwritten = false;
                let assembled = matches!(what, Pending::Product)
                    && self.results.result.as_ref().is_some_and(|r| {
                        mbias::verify::layout(r.images.iter().map(|i| &i.loaded.set.plan))
                            .is_ok_and(|layout| layout.is_some())
                    });
                if assembled {
                    // The product's path is long already: the assembled file is named
                    // by its suffix (it lies beside the product).
                    self.info(format!(
                        "wrote {} and its _ASSEMBLED.fits (the whole detector)",
                        path.display()
                    ))
                } else {
                    self.info(format!("wrote {}", path.display()))
                }
            }
            Err(WriteFailure::Exists(path)) => {
                self.overlay = Some(Overlay::ConfirmOverwrite { path, what })
            }
            Err(WriteFailure::Failed(e)) => self.error(e),
        }
    }
}
