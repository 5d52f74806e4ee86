//! The parameters pane.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::console::app::{App, Focus};
use crate::console::panes::params::FIELDS;

/// Parameter rows, from the pane's first inner line (for mouse hit-testing).
pub const ROWS: usize = FIELDS.len();

pub fn draw(frame: &mut Frame, app: &mut App, area: Rect) {
    let theme = app.theme;
    let focused = app.focus == Focus::Params;
    let block = super::pane_block(app, Line::styled(" Parameters ", theme.title), focused);
    let pane = &app.params;
    let mut lines: Vec<Line> = FIELDS
        .iter()
        .enumerate()
        .map(|(i, field)| {
            let chosen = i == pane.cursor;
            let value = match (&pane.editing, chosen) {
                (Some(text), true) => format!("{text}▏"),
                _ => pane.value_text(*field),
            };
            let marker = if chosen && focused { "▶ " } else { "  " };
            let line = Line::from(vec![
                Span::raw(marker),
                Span::raw(format!("{:<17}", field.label())),
                Span::styled(value, theme.title),
            ]);
            if chosen && focused {
                line.style(theme.cursor)
            } else {
                line
            }
        })
        .collect();
    lines.push(Line::raw(""));
    let field = pane.field();
    lines.push(Line::styled(field.key(), theme.dim));
    let hint = if pane.editing.is_some() {
        "Enter keeps · Esc drops"
    } else {
        "←→ change · Enter type"
    };
    lines.push(Line::styled(hint, theme.dim));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
