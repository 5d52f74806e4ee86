//! Modal overlays: the help (generated from the key map) and confirmations. An overlay
//! takes every key while it is up (Ctrl-C aside) and says what the key meant; the app
//! carries out a confirmed question.

use std::path::PathBuf;

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use crate::console::header_view::HeaderView;
use crate::console::keymap::{Context, help_sections};
use crate::console::theme::Theme;

/// What a confirmation is about.
#[derive(Debug, Clone, PartialEq)]
pub enum Pending {
    Product,
    Settings,
}

/// Why quitting needs a yes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuitRisk {
    /// A stack is running.
    Stacking,
    /// The master on screen ran with tuned parameters and has not been written.
    Unwritten,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    /// The key help, scrolled down this many lines (↑ ↓ where it is taller than the
    /// screen).
    Help(u16),
    ConfirmQuit(QuitRisk),
    ConfirmOverwrite {
        path: PathBuf,
        what: Pending,
    },
    /// A frame's header (`i`), which takes its own keys.
    Header(HeaderView),
}

/// What a key means to the overlay that is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// Nothing: the overlay stays.
    Keep,
    /// The help is closed, or the question declined.
    Close,
    /// The question is answered yes.
    Yes,
}

impl Overlay {
    /// The help closes with the keys that open it (and Esc, q) and scrolls with the
    /// arrows and pages (`Help::scroll`); a question takes y or n
    /// (Esc is no). Other keys are swallowed, so nothing happens behind a modal.
    pub fn reply(&self, key: &KeyEvent) -> Reply {
        let closes = match self {
            // The viewer's keys are its own (`HeaderView::on_key`).
            Overlay::Header(_) => false,
            Overlay::Help(_) => matches!(
                key.code,
                KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q') | KeyCode::F(1)
            ),
            Overlay::ConfirmQuit(_) | Overlay::ConfirmOverwrite { .. } => {
                if matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                    return Reply::Yes;
                }
                matches!(
                    key.code,
                    KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc
                )
            }
        };
        if closes { Reply::Close } else { Reply::Keep }
    }
}

/// Scrolls the help by the arrow or page key `key`; whether it was one. The drawing keeps
/// the scroll within the help's lines.
pub fn scroll_help(scroll: &mut u16, key: &KeyEvent) -> bool {
    let by: i32 = match key.code {
        KeyCode::Up | KeyCode::Char('k') => -1,
        KeyCode::Down | KeyCode::Char('j') => 1,
        KeyCode::PageUp => -10,
        KeyCode::PageDown => 10,
        _ => return false,
    };
    *scroll = (i32::from(*scroll) + by).clamp(0, i32::from(help_height())) as u16;
    true
}

/// Lines of the help's taller column.
fn help_height() -> u16 {
    let column = |contexts: &[Context]| -> usize {
        help_sections()
            .iter()
            .filter(|(c, _)| contexts.contains(c))
            .map(|(_, bindings)| 1 + bindings.len())
            .sum()
    };
    column(&[Context::Global, Context::Params]).max(column(&[Context::Files, Context::Results]))
        as u16
}

fn section_lines(theme: &Theme, contexts: &[Context]) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for (ctx, bindings) in help_sections()
        .into_iter()
        .filter(|(c, _)| contexts.contains(c))
    {
        lines.push(Line::styled(ctx.title(), theme.header));
        for b in bindings {
            lines.push(Line::from(vec![
                Span::styled(format!("{:<10}", b.label), theme.key),
                Span::raw(b.help),
            ]));
        }
    }
    lines
}

/// Draws `overlay` over the whole screen (`area`).
pub fn draw(frame: &mut Frame, area: Rect, theme: &Theme, overlay: &Overlay) {
    match overlay {
        Overlay::Help(scroll) => {
            frame.render_widget(Clear, area);
            let block = Block::bordered()
                .border_style(theme.focused_border)
                .title(Line::styled(
                    " mbias keys (Esc or ? closes, ↑↓ scroll) ",
                    theme.title,
                ));
            let inner = block.inner(area);
            frame.render_widget(block, area);
            let [left, right] =
                Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                    .areas(inner);
            let left_lines = section_lines(theme, &[Context::Global, Context::Params]);
            let right_lines = section_lines(theme, &[Context::Files, Context::Results]);
            // The longer column decides how far it scrolls: its last line at the bottom.
            let tallest = left_lines.len().max(right_lines.len()) as u16;
            let scroll = (*scroll).min(tallest.saturating_sub(inner.height));
            frame.render_widget(Paragraph::new(left_lines).scroll((scroll, 0)), left);
            frame.render_widget(Paragraph::new(right_lines).scroll((scroll, 0)), right);
        }
        Overlay::ConfirmQuit(risk) => confirm(
            frame,
            theme,
            area,
            match risk {
                QuitRisk::Stacking => "A stack is running. Quit anyway? (y/n)",
                QuitRisk::Unwritten => {
                    "The master on screen was stacked with tuned parameters and has not been \
                     written (w writes it, S saves the parameters). Quit anyway? (y/n)"
                }
            }
            .into(),
        ),
        Overlay::Header(view) => view.draw(frame, area, theme),
        Overlay::ConfirmOverwrite { path, what } => {
            let what = match what {
                Pending::Product => "product",
                Pending::Settings => "settings file",
            };
            confirm(
                frame,
                theme,
                area,
                format!("{} exists. Overwrite the {what}? (y/n)", path.display()),
            );
        }
    }
}

fn confirm(frame: &mut Frame, theme: &Theme, area: Rect, text: String) {
    let popup = area.centered(Constraint::Percentage(70), Constraint::Length(5));
    frame.render_widget(Clear, popup);
    let block = Block::bordered()
        .border_style(theme.focused_border)
        .title(Line::styled(" Confirm ", theme.title));
    frame.render_widget(
        Paragraph::new(text).wrap(Wrap { trim: true }).block(block),
        popup,
    );
}
