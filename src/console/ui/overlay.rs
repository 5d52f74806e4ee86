//! Modal overlays: the help (generated from the key map) and confirmations.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use crate::console::app::{App, Overlay, Pending};
use crate::console::keymap::{Context, help_sections};
use crate::console::theme::Theme;

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

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let theme = app.theme;
    match &app.overlay {
        None => {}
        Some(Overlay::Help) => {
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
                Paragraph::new(section_lines(&theme, &[Context::Global, Context::Params])),
                left,
            );
            frame.render_widget(
                Paragraph::new(section_lines(&theme, &[Context::Files, Context::Results])),
                right,
            );
        }
        Some(Overlay::ConfirmQuit) => confirm(
            frame,
            &theme,
            area,
            "A stack is running. Quit anyway? (y/n)".into(),
        ),
        Some(Overlay::ConfirmOverwrite { path, what }) => {
            let what = match what {
                Pending::Product => "product",
                Pending::Settings => "settings file",
            };
            confirm(
                frame,
                &theme,
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
