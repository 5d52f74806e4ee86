//! The model and its `update`: every state transition of the console, pure and
//! non-blocking. Input, time and worker news come in as [`Msg`]; work goes out as
//! [`Effect`]s for the runtime. The panes change themselves and answer with a
//! [`Request`]; what ties them together is here: the focus, the overlays, the jobs, the
//! stack and the automatic re-stack, and whether a result may be written.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mbias::detector::Profile;
use mbias::pipeline::Loaded;
use mbias::progress::Stage;
use mbias::settings::{Resolved, Settings};
use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};

use super::keymap::{self, Action};
use super::layout::{self, Areas};
use super::msg::{Effect, JobEvent, JobId, Msg, StackResult, StackSource, WriteFailure};
use super::overlay::{Overlay, Pending, Reply};
use super::panes::files::FilesPane;
use super::panes::params::ParamsPane;
use super::panes::results::ResultsPane;
use super::panes::{Pane, Request};
use super::status::Notice;
use super::theme::Theme;

/// How long parameter changes settle before the automatic re-stack starts.
pub const RESTACK_DEBOUNCE: Duration = Duration::from_millis(60);
/// SIGINT's number, for the exit status of a Ctrl-C typed in raw mode.
const SIGINT: i32 = 2;
/// Name of the settings file `S` writes.
pub const SAVED_SETTINGS: &str = "mbias-settings.yaml";

/// The pane that has the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Files,
    Params,
    Results,
}

/// The panes in Tab order (and in drawing order).
pub const FOCUS_ORDER: [Focus; 3] = [Focus::Files, Focus::Params, Focus::Results];

impl Focus {
    /// Where the pane is on the screen.
    pub fn area(self, areas: &Areas) -> Rect {
        match self {
            Focus::Files => areas.files,
            Focus::Params => areas.params,
            Focus::Results => areas.results,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Job {
    Idle,
    Stacking { id: JobId, stage: Stage },
}

/// A folder or a SOF to open: where the console starts, and where the browser goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Start {
    Folder(PathBuf),
    Sof(PathBuf),
}

pub struct App {
    pub focus: Focus,
    pub overlay: Option<Overlay>,
    pub files: FilesPane,
    pub params: ParamsPane,
    pub results: ResultsPane,
    pub job: Job,
    pub notice: Option<Notice>,
    /// The signal that ended the session, for the exit status.
    pub signalled: Option<i32>,
    pub settings: Settings,
    pub theme: Theme,
    /// Where `w` and `S` write.
    pub output_dir: PathBuf,
    /// Frames in memory for the current selection (per extension of multi-extension
    /// frames): re-stacks skip the reading.
    pub loaded: Option<(Vec<PathBuf>, Vec<Arc<Loaded>>)>,
    /// When the debounced automatic re-stack is due.
    pub restack_at: Option<Instant>,
    /// The terminal's size, for mouse hit-testing with the same layout `draw` uses.
    pub area: Rect,
    next_id: JobId,
}

impl App {
    /// A new model and the effects that open its starting point.
    pub fn new(
        start: Start,
        settings: Settings,
        output_dir: PathBuf,
        theme: Theme,
    ) -> (App, Vec<Effect>) {
        // The status bar has one line: the first warning, and how many more the CLI shows.
        let notice = settings
            .warnings
            .first()
            .map(|first| match settings.warnings.len() {
                1 => Notice::error(first.clone()),
                n => Notice::error(format!("{first} (+{} more: see `mbias validate`)", n - 1)),
            });
        let mut app = App {
            focus: Focus::Files,
            overlay: None,
            files: FilesPane::new(settings.detectors()),
            params: ParamsPane::from_settings(&settings),
            results: ResultsPane::default(),
            job: Job::Idle,
            notice,
            signalled: None,
            settings,
            theme,
            output_dir,
            loaded: None,
            restack_at: None,
            area: Rect::new(0, 0, 120, 40),
            next_id: 0,
        };
        if let Start::Sof(sof) = &start {
            app.files.sof = Some(sof.clone());
        }
        let effects = app.open(start);
        (app, effects)
    }

    fn new_id(&mut self) -> JobId {
        self.next_id += 1;
        self.next_id
    }

    /// Whether the runtime should send ticks (a debounce is pending or a job animates).
    pub fn wants_ticks(&self) -> bool {
        self.restack_at.is_some() || matches!(self.job, Job::Stacking { .. })
    }

    fn info(&mut self, text: impl Into<String>) {
        self.notice = Some(Notice::info(text));
    }

    fn error(&mut self, text: impl Into<String>) {
        self.notice = Some(Notice::error(text));
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Key(key) => self.on_key(key),
            Msg::Mouse(mouse) => self.on_mouse(mouse),
            Msg::Resize(width, height) => {
                self.area = Rect::new(0, 0, width, height);
                Vec::new()
            }
            Msg::Tick(now) => self.on_tick(now),
            Msg::Job(event) => self.on_job(event),
            Msg::Signal(signal) => {
                self.signalled = Some(signal);
                vec![Effect::Quit]
            }
        }
    }

    fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            return self.on_action(Action::ForceQuit);
        }
        if let Some(overlay) = self.overlay.clone() {
            return self.on_overlay_key(overlay, key);
        }
        if self.params.editing.is_some() {
            let request = self.params.on_edit_key(key);
            return self.apply(request);
        }
        let context = self.pane(self.focus).context();
        match keymap::action(context, &key) {
            Some(Action::ShowTab) => {
                self.results.show_tab(&key);
                Vec::new()
            }
            Some(action) => self.on_action(action),
            None => Vec::new(),
        }
    }

    fn on_overlay_key(&mut self, overlay: Overlay, key: KeyEvent) -> Vec<Effect> {
        match (overlay.reply(&key), overlay) {
            (Reply::Keep, _) | (Reply::Yes, Overlay::Help) => Vec::new(),
            (Reply::Close, _) => {
                self.overlay = None;
                Vec::new()
            }
            // The question stays up: the runtime ends before another frame is drawn.
            (Reply::Yes, Overlay::ConfirmQuit) => vec![Effect::Quit],
            (Reply::Yes, Overlay::ConfirmOverwrite { what, .. }) => {
                self.overlay = None;
                match what {
                    Pending::Product => self.write_product(true),
                    Pending::Settings => self.save_settings(true),
                }
            }
        }
    }

    fn on_action(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::ForceQuit => {
                // In raw mode Ctrl-C is a key, not SIGINT; it ends the session as the
                // signal would, with the same exit status (130).
                self.signalled = Some(SIGINT);
                vec![Effect::Quit]
            }
            Action::Quit => {
                if matches!(self.job, Job::Stacking { .. }) {
                    self.overlay = Some(Overlay::ConfirmQuit);
                    Vec::new()
                } else {
                    vec![Effect::Quit]
                }
            }
            Action::Help => {
                self.overlay = Some(Overlay::Help);
                Vec::new()
            }
            Action::NextPane | Action::PrevPane => {
                let i = FOCUS_ORDER
                    .iter()
                    .position(|f| *f == self.focus)
                    .unwrap_or(0);
                let step = if action == Action::NextPane {
                    1
                } else {
                    FOCUS_ORDER.len() - 1
                };
                self.focus = FOCUS_ORDER[(i + step) % FOCUS_ORDER.len()];
                Vec::new()
            }
            Action::Stack => self.start_stack(false),
            Action::Cancel => self.cancel(),
            Action::Write => self.write_product(false),
            Action::SaveSettings => self.save_settings(false),
            // The rest are the focused pane's.
            other => {
                let focus = self.focus;
                let area = focus.area(&layout::areas(self.area));
                let request = self.pane(focus).on_action(other, area);
                self.apply(request)
            }
        }
    }

    /// The pane `focus` names, to draw it or give it input.
    pub fn pane(&mut self, focus: Focus) -> &mut dyn Pane {
        match focus {
            Focus::Files => &mut self.files,
            Focus::Params => &mut self.params,
            Focus::Results => &mut self.results,
        }
    }

    /// The selection changed: a result on screen no longer shows it. Once frames are in
    /// memory it is re-stacked as a parameter change is (frames still selected are not
    /// read again), so `w` can only ever write what the screen shows.
    fn selection_changed(&mut self) -> Vec<Effect> {
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

    /// Lists a folder, or a SOF's folder with its frames selected; the browser heeds the
    /// news of this job only.
    fn open(&mut self, start: Start) -> Vec<Effect> {
        let id = self.new_id();
        self.files.scanning = Some(id);
        vec![match start {
            Start::Folder(dir) => Effect::OpenDir { id, dir },
            Start::Sof(sof) => Effect::OpenSof { id, sof },
        }]
    }

    /// Carries out what a pane's input asks beyond the pane.
    fn apply(&mut self, request: Request) -> Vec<Effect> {
        match request {
            Request::Nothing => Vec::new(),
            Request::Notice(notice) => {
                self.notice = Some(notice);
                Vec::new()
            }
            Request::OpenDir(dir) => self.open(Start::Folder(dir)),
            Request::OpenSof(sof) => self.open(Start::Sof(sof)),
            Request::Selected(notice) => {
                if let Some(notice) = notice {
                    self.notice = Some(notice);
                }
                self.selection_changed()
            }
            Request::Tuned(setting) => self.params_changed(setting),
        }
    }

    /// A parameter changed to `setting` (`key = value`): once frames are in memory,
    /// re-stack after the debounce.
    fn params_changed(&mut self, setting: String) -> Vec<Effect> {
        if self.loaded.is_some() {
            self.results.stale = true;
            self.restack_at = Some(Instant::now() + RESTACK_DEBOUNCE);
            self.info(format!("{setting}; re-stacking"));
        } else {
            self.info(format!("{setting}; s stacks with it"));
        }
        Vec::new()
    }

    fn on_tick(&mut self, now: Instant) -> Vec<Effect> {
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

    fn start_stack(&mut self, automatic: bool) -> Vec<Effect> {
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

    fn cancel(&mut self) -> Vec<Effect> {
        self.restack_at = None;
        match self.job {
            Job::Stacking { id, .. } => {
                self.job = Job::Idle;
                self.info("stack cancelled");
                vec![Effect::Cancel(id)]
            }
            Job::Idle => Vec::new(),
        }
    }

    fn write_product(&mut self, overwrite: bool) -> Vec<Effect> {
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
        vec![Effect::WriteProduct {
            folder: self.output_dir.clone(),
            name,
            overwrite,
            result,
        }]
    }

    fn save_settings(&mut self, overwrite: bool) -> Vec<Effect> {
        let profile = match self.results.result.as_ref().and_then(|r| r.images.first()) {
            Some(image) => image.loaded.set.plan.profile.clone(),
            None => mbias::detector::soxs_vis().clone(),
        };
        match self.resolved_for(&profile) {
            Ok(resolved) => vec![Effect::SaveSettings {
                path: self.output_dir.join(SAVED_SETTINGS),
                overwrite,
                resolved,
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

    fn is_current(&self, id: JobId) -> bool {
        matches!(self.job, Job::Stacking { id: current, .. } if current == id)
    }

    fn on_job(&mut self, event: JobEvent) -> Vec<Effect> {
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
                match result {
                    Ok(result) => {
                        self.loaded = Some((result.selection.clone(), result.loaded()));
                        // A change made while it ran is already waiting to re-stack.
                        let stale = self.restack_at.is_some();
                        self.notice = Some(self.results.show(result, stale));
                    }
                    Err(e) => {
                        self.results.failed = Some(e.clone());
                        self.error(format!("stack failed: {e}"));
                    }
                }
            }
            JobEvent::Wrote(result) => self.on_written(result, Pending::Product),
            JobEvent::SavedSettings(result) => self.on_written(result, Pending::Settings),
        }
        Vec::new()
    }

    fn on_written(&mut self, result: Result<PathBuf, WriteFailure>, what: Pending) {
        match result {
            Ok(path) => self.info(format!("wrote {}", path.display())),
            Err(WriteFailure::Exists(path)) => {
                self.overlay = Some(Overlay::ConfirmOverwrite { path, what })
            }
            Err(WriteFailure::Failed(e)) => self.error(e),
        }
    }

    fn on_mouse(&mut self, mouse: MouseEvent) -> Vec<Effect> {
        if self.overlay.is_some() {
            return Vec::new();
        }
        let areas = layout::areas(self.area);
        let at = Position::new(mouse.column, mouse.row);
        let Some(pane) = FOCUS_ORDER
            .into_iter()
            .find(|focus| focus.area(&areas).contains(at))
        else {
            return Vec::new();
        };
        match mouse.kind {
            // The wheel moves as the arrows do, in the pane under the pointer.
            MouseEventKind::ScrollUp | MouseEventKind::ScrollDown => {
                self.focus = pane;
                let action = if mouse.kind == MouseEventKind::ScrollUp {
                    Action::Up
                } else {
                    Action::Down
                };
                self.on_action(action)
            }
            MouseEventKind::Down(MouseButton::Left) => {
                self.focus = pane;
                self.pane(pane).on_click(at, pane.area(&areas));
                Vec::new()
            }
            _ => Vec::new(),
        }
    }
}
