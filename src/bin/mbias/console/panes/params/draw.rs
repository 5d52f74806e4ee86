//! The parameters, one a line, and a hint for the one chosen; where each line is for the
//! mouse.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{FIELDS, ParamsPane};
use crate::console::panes::{Draw, Surroundings};

/// The labels' column, where the values leave room for it.
const LABEL_WIDTH: usize = 17;

/// The parameter under a click at `at` in the pane drawn in `area`: one a line from the
/// pane's first inner line.
pub fn row_at(area: Rect, at: Position) -> Option<usize> {
    let row = at.y.checked_sub(area.y + 1)?;
    (usize::from(row) < FIELDS.len()).then_some(usize::from(row))
}

impl Draw for ParamsPane {
    fn draw(&mut self, frame: &mut Frame, area: Rect, around: &Surroundings) {
        let theme = around.theme;
        let focused = around.focused;
        let block = around.block(Line::styled(" Parameters ", theme.title));
        // The values are what the pane is for: where a line is short, the label gives way.
        let inner_width = usize::from(area.width.saturating_sub(2));
        let mut lines: Vec<Line> = FIELDS
            .iter()
            .enumerate()
            .map(|(i, field)| {
                let chosen = i == self.cursor;
                let value = match (&self.editing, chosen) {
                    (Some(text), true) => format!("{text}▏"),
                    _ => self.value_text(*field),
                };
                let marker = if chosen && focused { "▶ " } else { "  " };
                let room = inner_width.saturating_sub(2 + value.chars().count());
                let label: String = field.label().chars().take(room.saturating_sub(1)).collect();
                let line = Line::from(vec![
                    Span::raw(marker),
                    Span::raw(format!("{label:<width$}", width = room.min(LABEL_WIDTH))),
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
        let field = self.field();
        lines.push(Line::styled(field.key(), theme.dim));
        let hint = if self.editing.is_some() {
            "Enter keeps · Esc drops"
        } else {
            "←→ change · Enter type"
        };
        lines.push(Line::styled(hint, theme.dim));
        frame.render_widget(Paragraph::new(lines).block(block), area);
    }
}
