//! The console's panes, in the manner of gitui's components. Each pane is a folder: its
//! state and the pure helpers over it (`mod.rs`), its drawing (`draw.rs`, a [`Draw`]) and
//! what comes into it (`input.rs`, an [`Input`]). A pane never sees the `App`: keys reach
//! it as key-map actions, clicks as positions in its area, and whatever reaches beyond
//! the pane goes back as a [`Request`], which `App::update` turns into effects. So a pane
//! can be read, and changed, on its own; what ties the panes together stays in `app`.

pub mod files;
pub mod params;
pub mod results;

use std::path::PathBuf;

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, BorderType};

use super::keymap::{Action, Context};
use super::status::Notice;
use super::theme::Theme;

/// What a pane's input asks of the app, once the pane has changed itself: the part of a
/// key press that reaches beyond the pane.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// Nothing beyond the pane.
    Nothing,
    /// A line for the status bar.
    Notice(Notice),
    /// List this folder (the browser heeds only the news of the job the app starts).
    OpenDir(PathBuf),
    /// Show a frame's header: the title and the header's lines.
    ShowHeader { title: String, lines: Vec<String> },
    /// Open this SOF: its folder is listed and its frames become the selection.
    OpenSof(PathBuf),
    /// The selection changed (with what to say about it): a result on screen no longer
    /// shows it.
    Selected(Option<Notice>),
    /// A parameter took a new value (`key = value`): a result on screen no longer shows
    /// the parameters.
    Tuned(String),
}

/// What a pane's drawing needs from outside the pane.
#[derive(Debug, Clone, Copy)]
pub struct Surroundings {
    pub theme: Theme,
    /// The pane has the keys: a thick border, and its cursor shown.
    pub focused: bool,
    /// A stack is running.
    pub stacking: bool,
    /// A re-stack waits for the debounce: the result shown is about to be replaced.
    pub restack_due: bool,
}

impl Surroundings {
    /// The pane's border with `title`, thick when it has the focus.
    pub fn block<'a>(&self, title: Line<'a>) -> Block<'a> {
        let (style, border) = if self.focused {
            (self.theme.focused_border, BorderType::Thick)
        } else {
            (self.theme.border, BorderType::Plain)
        };
        Block::bordered()
            .border_type(border)
            .border_style(style)
            .title(title)
    }
}

/// Drawing a pane: a function of its state and its surroundings. Only scroll offsets may
/// change, where the height that clamps them is known.
pub trait Draw {
    fn draw(&mut self, frame: &mut Frame, area: Rect, around: &Surroundings);
}

/// What comes into a pane from the user while it has the focus.
pub trait Input {
    /// The key map's section for the pane's keys.
    fn context(&self) -> Context;
    /// The status bar's key hints while the pane has the focus.
    fn hints(&self) -> &'static str;
    /// Carries out a key's action (from the key map) in the pane drawn in `area`.
    fn on_action(&mut self, action: Action, area: Rect) -> Request;
    /// A left click at `at` in the pane drawn in `area`.
    fn on_click(&mut self, at: Position, area: Rect);
}

/// A pane as the app holds it: drawn, and given the input while it has the focus.
pub trait Pane: Draw + Input {}

impl<T: Draw + Input> Pane for T {}
