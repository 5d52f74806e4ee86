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

/// The files pane on top, parameters and results side by side below, the status line
/// last; with `maximised`, the results take everything above the status line.
///
/// The files need a screenful of rows, not a share of a tall terminal: their height grows
/// slowly past 40 lines, and the results get the rest. The parameters get a fifth of the
/// width, within what their longest line needs and a little more.
pub fn areas(area: Rect, maximised: bool) -> Areas {
    let [body, status] = Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(area);
    if maximised {
        let none = Rect::new(body.x, body.y, 0, 0);
        return Areas {
            files: none,
            params: none,
            results: body,
            status,
        };
    }
    let files_height = (area.height * 42 / 100).min(12 + area.height / 8);
    let [top, bottom] =
        Layout::vertical([Constraint::Length(files_height), Constraint::Fill(1)]).areas(body);
    let params_width = (area.width / 5).clamp(PARAMS_WIDTH, PARAMS_WIDTH + 12);
    let [params, results] =
        Layout::horizontal([Constraint::Length(params_width), Constraint::Fill(1)]).areas(bottom);
    Areas {
        files: top,
        params,
        results,
        status,
    }
}

/// The narrowest Parameters pane: each label and its longest value on one line.
const PARAMS_WIDTH: u16 = 30;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_terminals_give_the_room_to_the_results() {
        let small = areas(Rect::new(0, 0, 80, 24), false);
        assert_eq!((small.params.width, small.files.height), (30, 10));
        let large = areas(Rect::new(0, 0, 200, 60), false);
        assert_eq!(large.params.width, 40);
        assert!(large.files.height <= 20, "{large:?}");
        assert!(
            large.results.height >= 39 && large.results.width >= 160,
            "{large:?}"
        );
        let zoomed = areas(Rect::new(0, 0, 200, 60), true);
        assert_eq!(zoomed.results, Rect::new(0, 0, 200, 59));
        assert_eq!(zoomed.files.area() + zoomed.params.area(), 0);
    }
}
