//! The interactive console, in the Elm architecture: [`app`] holds the model and its pure
//! `update(Msg) -> Vec<Effect>`, [`ui`] draws it, [`runtime`] carries out the effects on
//! worker threads and feeds their news back as messages. Only this module and the
//! runtime touch the terminal.
//!
//! The screen is made of [`panes`] (files, parameters, results), each a folder with its
//! state, its drawing and its input, as gitui's components are. A key goes through the
//! [`keymap`], the one table of keys (the help and the README's key table come from it),
//! to an action. `App::update` handles the actions that concern the whole console (quit,
//! help, focus, stack, cancel, write, save) and gives the rest to the focused pane, which
//! changes itself and answers with a [`panes::Request`]; the app turns that into effects.
//! Around the panes: [`layout`] says where each part is (for drawing and the mouse
//! alike), [`status`] is the status bar, [`overlay`] the help, the confirmations and the
//! [`header_view`],
//! [`msg`] the messages and effects, [`view`] what the worker derives from a master for
//! drawing (with [`defects`], its bad pixels grouped), [`graphics`] the terminal's image
//! protocols, and [`theme`] the styles.

pub mod app;
pub mod defects;
pub mod graphics;
pub mod header_view;
pub mod keymap;
pub mod layout;
pub mod msg;
pub mod overlay;
pub mod panes;
pub mod runtime;
pub mod status;
pub mod text;
pub mod theme;
pub mod ui;
pub mod view;

#[cfg(test)]
mod terminal_tests;
#[cfg(test)]
mod tests;

use std::io::stdout;
use std::path::PathBuf;

use mbias::history::Location;
use mbias::settings::Settings;
use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::execute;

pub use app::Start;

/// `path` from the root: messages say where a file went, wherever mbias started.
pub fn absolute(path: &std::path::Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Runs the console until the user quits; the terminal is restored on every way out,
/// a panic and a signal included. Products written are recorded in `history` (none when
/// `None`). Returns the signal that ended it, if one did.
pub fn run(
    start: Start,
    settings: Settings,
    output_dir: PathBuf,
    history: Option<Location>,
) -> color_eyre::Result<Option<i32>> {
    let (app, effects) = app::App::new(
        start,
        settings,
        output_dir,
        history,
        theme::Theme::from_env(),
    );
    Ok(in_terminal(|terminal| {
        runtime::run(terminal, app, effects)
    })?)
}

/// Runs `body` with the terminal in raw mode on the alternate screen with mouse capture,
/// and puts it back however `body` ends: returning, failing or panicking.
fn in_terminal<T>(
    body: impl FnOnce(&mut DefaultTerminal) -> std::io::Result<T>,
) -> std::io::Result<T> {
    let mut terminal = ratatui::init();
    // ratatui's hook restores raw mode and the screen; mouse capture is ours to undo.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = execute!(stdout(), DisableMouseCapture);
        previous(info);
    }));
    let _ = execute!(stdout(), EnableMouseCapture);
    let result = body(&mut terminal);
    let _ = execute!(stdout(), DisableMouseCapture);
    ratatui::restore();
    result
}
