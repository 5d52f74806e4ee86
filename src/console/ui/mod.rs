//! Rendering: a function of the model. The only state `draw` touches is the tables'
//! scroll offsets. `layout` is shared with the mouse handler, so clicks hit what is drawn.

mod halfblock;
mod results;

use ratatui::Frame;
use ratatui::layout::Position;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::app::{App, Focus, Job};
use super::layout::{self, Areas, MIN_HEIGHT, MIN_WIDTH};
use super::panes::{Draw, Input, Surroundings};
use super::{overlay, status};

pub use halfblock::HalfBlock;

/// The results tab under a click on the tab line.
pub fn tab_at(areas: &Areas, at: Position) -> Option<usize> {
    if at.y != areas.results.y + 1 {
        return None;
    }
    results::tab_from_x(at.x.saturating_sub(areas.results.x + 1))
}

pub(super) fn pane_block<'a>(app: &App, title: Line<'a>, focused: bool) -> Block<'a> {
    Surroundings {
        theme: app.theme,
        focused,
    }
    .block(title)
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
    let around = Surroundings {
        theme: app.theme,
        focused: app.focus == Focus::Files,
    };
    app.files.draw(frame, areas.files, &around);
    let around = Surroundings {
        theme: app.theme,
        focused: app.focus == Focus::Params,
    };
    app.params.draw(frame, areas.params, &around);
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
        hints(app),
    );
    if let Some(overlay) = &app.overlay {
        overlay::draw(frame, area, &app.theme, overlay);
    }
}

fn hints(app: &App) -> &'static str {
    match app.focus {
        Focus::Files => app.files.hints(),
        Focus::Params => app.params.hints(),
        Focus::Results => "←→ tab · x rows/cols · ↑↓ row/col · w write · S save settings · ? help",
    }
}
