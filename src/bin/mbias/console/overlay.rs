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
    Help,
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
    /// The help closes with the keys that open it (and Esc, q); a question takes y or n
    /// (Esc is no). Other keys are swallowed, so nothing happens behind a modal.
    pub fn reply(&self, key: &KeyEvent) -> Reply {
        let closes = match self {
            // The viewer's keys are its own (`HeaderView::on_key`).
            Overlay::Header(_) => false,
            Overlay::Help => matches!(
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
        Overlay::Help => {
            frame.render_widget(Clear, area);
            let block = Block::bordered()
                .border_style(theme.focused_border)
                .title(Line::styled(" mbias keys (Esc or ? closes) ", theme.title));
            let inner = block.inner(area);
            frame.render_widget(block, area);
            let [left, right] =
                Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                    .areas(inner);
            frame.render_widget(
                Paragraph::new(section_lines(theme, &[Context::Global, Context::Params])),
                left,
            );
            frame.render_widget(
                Paragraph::new(section_lines(theme, &[Context::Files, Context::Results])),
                right,
            );
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
