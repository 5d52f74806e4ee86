//! Rendering: a function of the model. The only state `draw` touches is the tables'
//! scroll offsets. `layout` is shared with the mouse handler, so clicks hit what is drawn.

mod files;
mod halfblock;
mod params;
mod results;

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, BorderType, Paragraph, Wrap};

use super::app::{App, Focus, Job};
use super::layout::{self, Areas, MIN_HEIGHT, MIN_WIDTH};
use super::{overlay, status};

pub use halfblock::HalfBlock;

/// Table rows visible in the files pane (border, header and verdict line excluded).
pub fn files_page(files: Rect) -> u16 {
    files.height.saturating_sub(4).max(1)
}

/// The entry index under a click in the files table.
pub fn files_row_at(areas: &Areas, offset: usize, at: Position) -> Option<usize> {
    let first = areas.files.y + 2;
    let page = areas.files.height.saturating_sub(4);
    (at.y >= first && at.y < first + page).then(|| offset + usize::from(at.y - first))
}

/// The parameter under a click.
pub fn params_row_at(areas: &Areas, at: Position) -> Option<usize> {
    let row = at.y.checked_sub(areas.params.y + 1)?;
    (usize::from(row) < params::ROWS).then_some(usize::from(row))
}

/// The results tab under a click on the tab line.
pub fn tab_at(areas: &Areas, at: Position) -> Option<usize> {
    if at.y != areas.results.y + 1 {
        return None;
    }
    results::tab_from_x(at.x.saturating_sub(areas.results.x + 1))
}

pub(super) fn pane_block<'a>(app: &App, title: Line<'a>, focused: bool) -> Block<'a> {
    let style = if focused {
        app.theme.focused_border
    } else {
        app.theme.border
    };
    Block::bordered()
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(style)
        .title(title)
}

pub fn draw(frame: &mut Frame, app: &mut App) {
    let area = frame.area();
    if !layout::fits(area) {
        let text = format!(
            "The terminal is {}×{}; mbias needs at least {MIN_WIDTH}×{MIN_HEIGHT}. Enlarge the window (q quits).",
            area.width, area.height
        );
        frame.render_widget(
            Paragraph::new(text)
                .wrap(Wrap { trim: true })
                .style(Style::new()),
            area,
        );
        return;
    }
    let areas = layout::areas(area);
    files::draw(frame, app, areas.files);
    params::draw(frame, app, areas.params);
    results::draw(frame, app, areas.results);
    let stage = match app.job {
        Job::Stacking { stage, .. } => Some(stage),
        Job::Idle => None,
    };
    status::draw(
        frame,
        areas.status,
        &app.theme,
        stage,
        app.notice.as_ref(),
        hints(app.focus),
    );
    if let Some(overlay) = &app.overlay {
        overlay::draw(frame, area, &app.theme, overlay);
    }
}

fn hints(focus: Focus) -> &'static str {
    match focus {
        Focus::Files => {
            "Space select · a all valid · s stack · Enter open · Tab pane · ? help · q quit"
        }
        Focus::Params => "↑↓ choose · ←→ change · Enter type · s stack · Tab pane · ? help",
        Focus::Results => "←→ tab · x rows/cols · ↑↓ row/col · w write · S save settings · ? help",
    }
}
