//! Rendering: a function of the model. The only state `draw` touches is the tables'
//! scroll offsets. `layout` is shared with the mouse handler, so clicks hit what is drawn.

mod files;
mod halfblock;
mod overlay;
mod params;
mod results;
mod status;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, BorderType, Paragraph, Wrap};

use super::app::App;

pub use halfblock::HalfBlock;

/// The smallest terminal the layout is made for.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// Where each part of the screen is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub files: Rect,
    pub params: Rect,
    pub results: Rect,
    pub status: Rect,
}

pub fn layout(area: Rect) -> Areas {
    let [top, bottom, status] = Layout::vertical([
        Constraint::Percentage(42),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let [params, results] =
        Layout::horizontal([Constraint::Length(30), Constraint::Fill(1)]).areas(bottom);
    Areas {
        files: top,
        params,
        results,
        status,
    }
}

/// Table rows visible in the files pane (border, header and verdict line excluded).
pub fn files_page(area: Rect) -> u16 {
    layout(area).files.height.saturating_sub(4).max(1)
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
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
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
    let areas = layout(area);
    files::draw(frame, app, areas.files);
    params::draw(frame, app, areas.params);
    results::draw(frame, app, areas.results);
    status::draw(frame, app, areas.status);
    overlay::draw(frame, app, area);
}
