//! The model and its `update`: every state transition of the console, pure and
//! non-blocking. Input, time and worker news come in as [`Msg`]; work goes out as
//! [`Effect`]s for the runtime. The panes change themselves and answer with a
//! [`Request`]; what ties them together is here: the focus, the overlays, which pane
//! takes a key or a click, and (in [`jobs`]) the stack, the automatic re-stack, and what
//! may be written.

mod jobs;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use mbias::history::Location;
use mbias::pipeline::Loaded;
use mbias::progress::Stage;
use mbias::settings::Settings;
use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};

use super::header_view::HeaderView;
use super::keymap::{self, Action};
use super::layout::{self, Areas};
use super::msg::{Effect, JobId, Msg};
use super::overlay::{self, Overlay, Pending, Reply};
use super::panes::files::FilesPane;
use super::panes::params::ParamsPane;
use super::panes::results::{ResultsPane, Tab};
use super::panes::{Pane, Request};
use super::status::Notice;
use super::theme::Theme;

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
    /// The QC history products are recorded in and the Trend tab reads; `None` when
    /// there is no data folder to keep one in.
    pub history: Option<Location>,
    /// The result on screen has not been written (`q` asks before losing a tuned one).
    pub unwritten: bool,
    /// The generation of the result whose product is being written: a write that ends
    /// after a newer result came does not make that one's master for `C`.
    writing: Option<u64>,
    /// The results pane has the whole screen (`z`).
    pub maximised: bool,
    /// Frames in memory for the current selection (per extension of multi-extension
    /// frames): re-stacks skip the reading.
    pub loaded: Option<(Vec<PathBuf>, Vec<Arc<Loaded>>)>,
    /// When the debounced automatic re-stack is due.
    pub restack_at: Option<Instant>,
    /// The terminal's size, for mouse hit-testing with the same layout `draw` uses.
    pub area: Rect,
    /// The terminal draws images with a graphics protocol (the runtime found one), so
    /// the Preview's image is encoded on a worker when its view changes.
    pub graphics: bool,
    next_id: JobId,
}

impl App {
    /// A new model and the effects that open its starting point.
    pub fn new(
        start: Start,
        settings: Settings,
        output_dir: PathBuf,
        history: Option<Location>,
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
            history,
            unwritten: false,
            writing: None,
            maximised: false,
            loaded: None,
            restack_at: None,
            area: Rect::new(0, 0, 120, 40),
            graphics: false,
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
        let mut effects = self.on_msg(msg);
        effects.extend(self.encode_image());
        effects.extend(self.load_trend());
        effects
    }

    /// A new Preview image to encode, when the terminal shows images and the one on
    /// screen is not the Preview's view (one at a time: a newer view waits for the one
    /// being made).
    fn encode_image(&mut self) -> Option<Effect> {
        if !self.graphics || self.results.graphic_pending.is_some() {
            return None;
        }
        let key = self.results.image_key(self.areas().results)?;
        if self.results.graphic.as_ref().map(|g| &g.key) == Some(&key) {
            return None;
        }
        let result = self.results.result.clone()?;
        self.results.graphic_pending = Some(key.clone());
        Some(Effect::EncodeImage { key, result })
    }

    fn on_msg(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Key(key) => self.on_key(key),
            Msg::Mouse(mouse) => self.on_mouse(mouse),
            Msg::Resize(width, height) => {
                self.area = Rect::new(0, 0, width, height);
                Vec::new()
            }
            Msg::Tick(now) => self.on_tick(now),
            Msg::Watch => self.look_for_new_files(),
            Msg::Job(event) => self.on_job(event),
            Msg::Signal(signal) => {
                self.signalled = Some(signal);
                vec![Effect::Quit]
            }
            Msg::Encoded(encoded) => {
                self.results.graphic_pending = None;
                self.results.graphic = Some(encoded);
                Vec::new()
            }
        }
    }

    fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            return self.on_action(Action::ForceQuit);
        }
        if let Some(Overlay::Header(view)) = self.overlay.as_mut() {
            // The viewer takes its own keys (and is not copied for each of them).
            if view.on_key(&key) {
                self.overlay = None;
            }
            return Vec::new();
        }
        if let Some(Overlay::Help(scroll)) = self.overlay.as_mut()
            && overlay::scroll_help(scroll, &key)
        {
            return Vec::new();
        }
        if let Some(overlay) = self.overlay.clone() {
            return self.on_overlay_key(overlay, key);
        }
        if self.params.editing.is_some() {
            let request = self.params.on_edit_key(key);
            return self.apply(request);
        }
        if self.results.prompt.is_some() {
            let request = self.results.on_prompt_key(key);
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
            (Reply::Keep, _) | (Reply::Yes, Overlay::Help(_) | Overlay::Header(_)) => Vec::new(),
            (Reply::Close, Overlay::ConfirmOverwrite { path, .. }) => {
                self.overlay = None;
                self.info(format!("nothing written: {} is as it was", path.display()));
                Vec::new()
            }
            (Reply::Close, _) => {
                self.overlay = None;
                Vec::new()
            }
            // The question stays up: the runtime ends before another frame is drawn.
            (Reply::Yes, Overlay::ConfirmQuit(_)) => vec![Effect::Quit],
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
                self.signalled = Some(crate::signals::SIGINT);
                vec![Effect::Quit]
            }
            Action::Quit => match self.quit_risk() {
                Some(risk) => {
                    self.overlay = Some(Overlay::ConfirmQuit(risk));
                    Vec::new()
                }
                None => vec![Effect::Quit],
            },
            Action::Help => {
                self.overlay = Some(Overlay::Help(0));
                Vec::new()
            }
            // With the results on the whole screen there is no other pane to go to.
            Action::NextPane | Action::PrevPane if self.maximised => Vec::new(),
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
            Action::Maximise => {
                self.maximised = !self.maximised;
                if self.maximised {
                    self.focus = Focus::Results;
                }
                Vec::new()
            }
            Action::Stack => self.start_stack(false),
            Action::Cancel => self.cancel(),
            Action::Write => self.write_product(false),
            Action::CompareReference => self.compare_reference(),
            Action::SaveSettings => self.save_settings(false),
            // The rest are the focused pane's.
            other => {
                let focus = self.focus;
                let area = focus.area(&self.areas());
                let request = self.pane(focus).on_action(other, area);
                self.apply(request)
            }
        }
    }

    /// Where everything is on the terminal, as drawn.
    pub fn areas(&self) -> layout::Areas {
        layout::areas(self.area, self.maximised)
    }

    /// The pane `focus` names, to draw it or give it input.
    pub fn pane(&mut self, focus: Focus) -> &mut dyn Pane {
        match focus {
            Focus::Files => &mut self.files,
            Focus::Params => &mut self.params,
            Focus::Results => &mut self.results,
        }
    }

    /// Lists a folder, or a SOF's folder with its frames selected; the browser heeds the
    /// news of this job only.
    fn open(&mut self, start: Start) -> Vec<Effect> {
        let id = self.new_id();
        self.files.scanning = Some(id);
        // A look for new files in the folder left behind has nothing to add here.
        self.files.refreshing = None;
        vec![match start {
            Start::Folder(dir) => Effect::OpenDir { id, dir },
            Start::Sof(sof) => Effect::OpenSof { id, sof },
        }]
    }

    /// Every few seconds: the folder shown is listed again and new frames' headers read,
    /// unless it is being read already (frames arrive during the night).
    fn look_for_new_files(&mut self) -> Vec<Effect> {
        if self.files.scanning.is_some()
            || self.files.refreshing.is_some()
            || self.files.dir.as_os_str().is_empty()
        {
            return Vec::new();
        }
        let id = self.new_id();
        self.files.refreshing = Some(id);
        vec![Effect::Refresh {
            id,
            dir: self.files.dir.clone(),
            // A file that could not be read (still being copied, perhaps) is read again.
            known: self
                .files
                .headers
                .iter()
                .filter(|(_, header)| header.is_ok())
                .map(|(path, _)| path.clone())
                .collect(),
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
            Request::ShowHeader { title, lines } => {
                self.overlay = Some(Overlay::Header(HeaderView::new(title, lines)));
                Vec::new()
            }
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

    fn on_mouse(&mut self, mouse: MouseEvent) -> Vec<Effect> {
        // A question on screen, or a value being typed, has the input until it is
        // answered: a click elsewhere must not move the focus from under it.
        if self.overlay.is_some() || self.params.editing.is_some() || self.results.prompt.is_some()
        {
            return Vec::new();
        }
        let areas = self.areas();
        let at = Position::new(mouse.column, mouse.row);
        let Some(pane) = FOCUS_ORDER
            .into_iter()
            .find(|focus| focus.area(&areas).contains(at))
        else {
            return Vec::new();
        };
        match mouse.kind {
            // The wheel moves as the arrows do, in the pane under the pointer; on the
            // Preview's image it zooms on the pixel under the pointer, as ds9's does.
            MouseEventKind::ScrollUp | MouseEventKind::ScrollDown => {
                self.focus = pane;
                let up = mouse.kind == MouseEventKind::ScrollUp;
                let zooms = pane == Focus::Results
                    && self.results.current_tab() == Tab::Preview
                    && self.results.point_at(at, pane.area(&areas));
                let action = match (zooms, up) {
                    (true, true) => Action::ZoomIn,
                    (true, false) => Action::ZoomOut,
                    (false, true) => Action::Up,
                    (false, false) => Action::Down,
                };
                self.on_action(action)
            }
            // Dragging on the Preview's image pans: the cursor follows the pointer.
            MouseEventKind::Drag(MouseButton::Left) if pane == Focus::Results => {
                self.results.point_at(at, pane.area(&areas));
                Vec::new()
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
