//! The file browser table and the selection's verdict line, and where its rows are for
//! the mouse and the page keys.

use mbias::verify::Severity;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState, Wrap};

use super::{FilesPane, Mark};
use crate::console::msg::{Entry, EntryKind};
use crate::console::panes::{Draw, Surroundings};
use crate::console::text::middle;
use crate::console::theme::Theme;

impl FilesPane {
    /// Table rows visible in the pane drawn in `area` (border, header, detail and verdict
    /// lines excluded).
    pub fn page(&self, area: Rect) -> u16 {
        self.visible_rows(area).max(1)
    }

    fn visible_rows(&self, area: Rect) -> u16 {
        area.height
            .saturating_sub(4 + self.detail_lines(area.width.saturating_sub(2)))
    }

    /// The entry index under a click at `at` in the pane drawn in `area`.
    pub fn row_at(&self, area: Rect, at: Position) -> Option<usize> {
        let first = area.y + 2;
        let rows = self.visible_rows(area);
        (at.y >= first && at.y < first + rows)
            .then(|| self.table.offset() + usize::from(at.y - first))
    }

    /// Lines the cursor row's reason takes under the table, `width` wide (two at most).
    fn detail_lines(&self, width: u16) -> u16 {
        self.detail().map_or(0, |(_, text)| {
            text.chars()
                .count()
                .div_ceil(usize::from(width.max(1)))
                .min(2) as u16
        })
    }
}

/// Shortens a path from the left so its end (the folder name) stays visible.
fn tail(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        return text.to_string();
    }
    let keep: String = text.chars().skip(count + 1 - width).collect();
    format!("…{keep}")
}

impl Draw for FilesPane {
    fn draw(&mut self, frame: &mut Frame, area: Rect, around: &Surroundings) {
        let theme = around.theme;
        let focused = around.focused;
        let dir = self.dir.display().to_string();
        let scanning = if self.scanning.is_some() {
            " reading headers…"
        } else {
            ""
        };
        // Frames selected in another folder than the one shown are still the selection.
        let elsewhere = self
            .selected
            .iter()
            .filter(|p| p.parent() != Some(self.dir.as_path()))
            .count();
        let count = match elsewhere {
            0 => format!(" {} selected", self.selected.len()),
            n if n == self.selected.len() => format!(" {n} selected in another folder"),
            n => format!(" {} selected, {n} in another folder", self.selected.len()),
        };
        let room = usize::from(area.width).saturating_sub(12 + scanning.len() + count.len());
        let title = Line::from(vec![
            Span::styled(" Files ", theme.title),
            Span::raw(tail(&dir, room)),
            Span::styled(scanning, theme.warn),
            Span::styled(count, theme.selected),
            Span::raw(" "),
        ]);
        let block = around.block(title);
        let inner = block.inner(area);
        frame.render_widget(block, area);
        // The cursor row's whole reason, on as many lines as it takes (two at most).
        let detail = self.detail();
        let detail_lines = self.detail_lines(inner.width);
        let [table_area, detail_area, verdict_area] = Layout::vertical([
            Constraint::Fill(1),
            Constraint::Length(detail_lines),
            Constraint::Length(1),
        ])
        .areas(inner);

        let wide = inner.width >= 110;
        // Only the visible rows are built: a folder may hold thousands of frames.
        let page = usize::from(table_area.height.saturating_sub(1)).max(1);
        let cursor = self.cursor();
        let mut offset = self.table.offset().min(cursor);
        if cursor >= offset + page {
            offset = cursor + 1 - page;
        }
        *self.table.offset_mut() = offset;
        let rows: Vec<Row> = self
            .entries
            .iter()
            .skip(offset)
            .take(page)
            .map(|entry| self.row(entry, &theme, wide))
            .collect();
        let (header, widths) = columns(wide);
        let header = header.style(theme.header);
        let table = Table::new(rows, widths)
            .header(header)
            .row_highlight_style(if focused { theme.cursor } else { theme.title });
        let mut window = TableState::default().with_selected(Some(cursor - offset));
        frame.render_stateful_widget(table, table_area, &mut window);

        if let Some((error, text)) = detail {
            let style = if error { theme.error } else { theme.warn };
            frame.render_widget(
                Paragraph::new(Line::styled(text, style)).wrap(Wrap { trim: true }),
                detail_area,
            );
        }
        let (severity, verdict) = self.verdict();
        let style = match severity {
            Severity::Error => theme.error,
            Severity::Warning => theme.warn,
            Severity::Note => theme.pass,
        };
        frame.render_widget(Paragraph::new(Line::styled(verdict, style)), verdict_area);
    }
}

impl FilesPane {
    /// The cursor row's reason in full, for the detail line (the table cuts it): whether
    /// it is an error, and the text.
    fn detail(&self) -> Option<(bool, String)> {
        let entry = self.current().filter(|e| e.kind == EntryKind::Fits)?;
        let (error, reason) = match self.mark(&entry.path) {
            Mark::Warning(r) => (false, r),
            Mark::Error(r) => (true, r),
            Mark::Pending | Mark::Ok => return None,
        };
        Some((error, format!("{}: {reason}", entry.name)))
    }

    /// An entry's row: folders and SOFs by their sign, frames with their selection box,
    /// validation mark, header values and the reason for the mark.
    fn row(&self, entry: &Entry, theme: &Theme, wide: bool) -> Row<'static> {
        let name = middle(&entry.name, if wide { NAME_WIDE } else { NAME_NARROW });
        match entry.kind {
            EntryKind::Parent | EntryKind::Dir => {
                Row::new(vec![String::new(), "▸".into(), format!("{name}/")]).style(theme.title)
            }
            EntryKind::Sof => Row::new(vec![String::new(), "≡".into(), name, "SOF".into()]),
            EntryKind::Other => Row::new(vec![String::new(), String::new(), name]).style(theme.dim),
            EntryKind::Fits => {
                let selected = self.selected.contains(&entry.path);
                let (mark, reason, style) = match self.mark(&entry.path) {
                    Mark::Pending => ("·", "reading…".to_string(), theme.dim),
                    Mark::Ok => ("✓", String::new(), theme.pass),
                    Mark::Warning(r) => ("⚠", r, theme.warn),
                    Mark::Error(r) => ("✗", r, theme.error),
                };
                let info = self.row_info(&entry.path).unwrap_or_default();
                let mut cells = vec![
                    Span::styled(if selected { "[x]" } else { "[ ]" }, theme.selected),
                    Span::styled(mark, style),
                    Span::raw(name),
                    Span::raw(info.kind),
                ];
                if wide {
                    cells.push(Span::raw(info.arm));
                }
                cells.push(Span::raw(info.binning));
                if wide {
                    cells.push(Span::raw(info.exptime));
                    cells.push(Span::raw(info.shape));
                }
                cells.push(Span::styled(reason, style));
                let row = Row::new(cells);
                if selected {
                    row.style(theme.selected)
                } else {
                    row
                }
            }
        }
    }
}

/// The name column, wide and narrow: longer names lose their middle.
const NAME_WIDE: usize = 37;
const NAME_NARROW: usize = 33;

/// The header and the column widths of the table, `wide` or narrow.
fn columns(wide: bool) -> (Row<'static>, Vec<Constraint>) {
    // Narrow terminals keep the whole file name (it tells the frames apart) and drop
    // the columns the verdict line and the header scan make redundant.
    if wide {
        (
            Row::new([
                "sel", "", "name", "type", "arm", "bin", "exp s", "shape", "verdict",
            ]),
            vec![
                Constraint::Length(3),
                Constraint::Length(1),
                Constraint::Length(NAME_WIDE as u16),
                Constraint::Length(6),
                Constraint::Length(4),
                Constraint::Length(4),
                Constraint::Length(5),
                Constraint::Length(9),
                Constraint::Fill(1),
            ],
        )
    } else {
        (
            Row::new(["sel", "", "name", "type", "bin", "verdict"]),
            vec![
                Constraint::Length(3),
                Constraint::Length(1),
                Constraint::Length(NAME_NARROW as u16),
                Constraint::Length(5),
                Constraint::Length(3),
                Constraint::Fill(1),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_paths_keep_their_end() {
        assert_eq!(super::tail("/a/b/night", 20), "/a/b/night");
        assert_eq!(super::tail("/data/raw/2025-10-10", 8), "…5-10-10");
    }
}
