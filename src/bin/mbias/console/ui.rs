//! The screen: every part drawn where the layout puts it, as a function of the model
//! (the only state drawing touches is the tables' scroll offsets). Each pane draws
//! itself; this module decides what surrounds it, and what lies on top.

use ratatui::Frame;
use ratatui::style::Style;
use ratatui::widgets::{Paragraph, Wrap};

use super::app::{App, FOCUS_ORDER, Job};
use super::layout::{self, MIN_HEIGHT, MIN_WIDTH};
use super::panes::Surroundings;
use super::{overlay, status};

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
    let areas = layout::areas(area, app.maximised);
    let stage = match app.job {
        Job::Stacking { stage, .. } => Some(stage),
        Job::Idle => None,
    };
    for focus in FOCUS_ORDER {
        let pane_area = focus.area(&areas);
        if pane_area.is_empty() {
            continue;
        }
        let around = Surroundings {
            theme: app.theme,
            focused: app.focus == focus,
            stacking: stage.is_some(),
            restack_due: app.restack_at.is_some(),
        };
        app.pane(focus).draw(frame, pane_area, &around);
    }
    let hints = app.pane(app.focus).hints();
    status::draw(
        frame,
        areas.status,
        &app.theme,
        stage,
        app.notice.as_ref(),
        hints,
    );
    if let Some(overlay) = &app.overlay {
        overlay::draw(frame, area, &app.theme, overlay);
    }
}
