//! Where each part of the screen is. Drawing and mouse hit-testing both ask this module,
//! so a click lands on what was drawn there.

use ratatui::layout::{Constraint, Layout, Rect};

/// The smallest terminal the layout is made for.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// The rectangles of the panes and the status bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub files: Rect,
    pub params: Rect,
    pub results: Rect,
    pub status: Rect,
}

/// Whether the layout fits `area` (else the screen only asks for a larger terminal).
pub fn fits(area: Rect) -> bool {
    area.width >= MIN_WIDTH && area.height >= MIN_HEIGHT
}

/// The files pane on top, parameters and results side by side below, the status line last.
pub fn areas(area: Rect) -> Areas {
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
