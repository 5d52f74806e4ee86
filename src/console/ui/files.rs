//! The file browser table and the selection's verdict line.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState};

use crate::console::app::{App, Focus};
use crate::console::msg::EntryKind;
use crate::console::panes::files::Mark;
use mbias::verify::Severity;

/// Shortens a path from the left so its end (the folder name) stays visible.
fn tail(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        return text.to_string();
    }
    let keep: String = text.chars().skip(count + 1 - width).collect();
    format!("…{keep}")
}

pub fn draw(frame: &mut Frame, app: &mut App, area: Rect) {
    let theme = app.theme;
    let focused = app.focus == Focus::Files;
    let dir = app.files.dir.display().to_string();
    let scanning = if app.files.scanning.is_some() {
        " reading headers…"
    } else {
        ""
    };
    let count = format!(" {} selected", app.files.selected.len());
    let room = usize::from(area.width).saturating_sub(12 + scanning.len() + count.len());
    let title = Line::from(vec![
        Span::styled(" Files ", theme.title),
        Span::raw(tail(&dir, room)),
        Span::styled(scanning, theme.warn),
        Span::styled(count, theme.selected),
        Span::raw(" "),
    ]);
    let block = super::pane_block(app, title, focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [table_area, verdict_area] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(inner);

    let wide = inner.width >= 110;
    // Only the visible rows are built: a folder may hold thousands of frames.
    let page = usize::from(table_area.height.saturating_sub(1)).max(1);
    let cursor = app.files.cursor();
    let mut offset = app.files.table.offset().min(cursor);
    if cursor >= offset + page {
        offset = cursor + 1 - page;
    }
    *app.files.table.offset_mut() = offset;
    let rows: Vec<Row> = app
        .files
        .entries
        .iter()
        .skip(offset)
        .take(page)
        .map(|entry| {
            let name = entry.name.clone();
            match entry.kind {
                EntryKind::Parent | EntryKind::Dir => {
                    Row::new(vec![String::new(), "▸".into(), format!("{name}/")]).style(theme.title)
                }
                EntryKind::Sof => Row::new(vec![String::new(), "≡".into(), name, "SOF".into()]),
                EntryKind::Other => {
                    Row::new(vec![String::new(), String::new(), name]).style(theme.dim)
                }
                EntryKind::Fits => {
                    let selected = app.files.selected.contains(&entry.path);
                    let (mark, reason, style) = match app.files.mark(&entry.path) {
                        Mark::Pending => ("·", "reading…".to_string(), theme.dim),
                        Mark::Ok => ("✓", String::new(), theme.pass),
                        Mark::Warning(r) => ("⚠", r, theme.warn),
                        Mark::Error(r) => ("✗", r, theme.error),
                    };
                    let info = app.files.row_info(&entry.path).unwrap_or_default();
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
        })
        .collect();
    // Narrow terminals keep the whole file name (it tells the frames apart) and drop
    // the columns the verdict line and the header scan make redundant.
    let (header, widths) = if wide {
        (
            Row::new([
                "sel", "", "name", "type", "arm", "bin", "exp s", "shape", "verdict",
            ]),
            vec![
                Constraint::Length(3),
                Constraint::Length(1),
                Constraint::Length(37),
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
                Constraint::Length(33),
                Constraint::Length(5),
                Constraint::Length(3),
                Constraint::Fill(1),
            ],
        )
    };
    let header = header.style(theme.header);
    let table = Table::new(rows, widths)
        .header(header)
        .row_highlight_style(if focused { theme.cursor } else { theme.title });
    let mut window = TableState::default().with_selected(Some(cursor - offset));
    frame.render_stateful_widget(table, table_area, &mut window);

    let (severity, verdict) = app.files.verdict();
    let style = match severity {
        Severity::Error => theme.error,
        Severity::Warning => theme.warn,
        Severity::Note => theme.pass,
    };
    frame.render_widget(Paragraph::new(Line::styled(verdict, style)), verdict_area);
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_paths_keep_their_end() {
        assert_eq!(super::tail("/a/b/night", 20), "/a/b/night");
        assert_eq!(super::tail("/data/raw/2025-10-10", 8), "…5-10-10");
    }
}
