//! The results pane's frame: its title (what the result is, whether it is current), the
//! tab line and the chosen tab's body (in `tabs.rs`); where the tabs are for the mouse.

use mbias::params::{Combine, Rejection};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Tabs, Wrap};

use super::{ResultsPane, TABS, Tab, inspector, profile, tabs, trend};
use crate::console::panes::{Draw, Surroundings};

/// The tabs' titles as a tab line `width` cells wide shows them: whole where they fit,
/// else shortened.
pub fn tab_titles(width: u16) -> Vec<&'static str> {
    let whole: u16 = TABS.iter().map(|t| t.title().len() as u16 + 3).sum();
    TABS.iter()
        .map(|t| {
            if whole <= width {
                t.title()
            } else {
                t.short_title()
            }
        })
        .collect()
}

/// The tab under column `x` of a tab line `width` cells wide (Tabs pads each title by one
/// space and separates them with a one-column divider).
fn tab_from_x(x: u16, width: u16) -> Option<usize> {
    let mut start = 0u16;
    for (i, title) in tab_titles(width).iter().enumerate() {
        let cells = title.chars().count() as u16 + 2;
        if x < start + cells {
            return Some(i);
        }
        start += cells + 1;
    }
    None
}

/// The tab under a click at `at` in the pane drawn in `area` (on its tab line).
pub fn tab_at(area: Rect, at: Position) -> Option<usize> {
    if at.y != area.y + 1 {
        return None;
    }
    tab_from_x(
        at.x.saturating_sub(area.x + 1),
        area.width.saturating_sub(2),
    )
}

/// Lines under the Preview's image: the cursor's readout and the legend.
pub const PREVIEW_TEXT_LINES: u16 = 2;

/// Where the Preview's image (with its readout and legend) and, when `inspect`, the
/// pixel-stack inspector go in the tab's `body`: side by side on a wide pane, one above
/// the other on a narrow one.
pub fn preview_split(body: Rect, inspect: bool) -> (Rect, Option<Rect>) {
    if !inspect {
        return (body, None);
    }
    let [image, panel] = if body.width >= 2 * inspector::WIDTH {
        Layout::horizontal([Constraint::Fill(1), Constraint::Length(inspector::WIDTH)]).areas(body)
    } else {
        Layout::vertical([Constraint::Fill(1), Constraint::Fill(1)]).areas(body)
    };
    (image, Some(panel))
}

/// Where the Preview image lies in the pane drawn in `area` (inside the border, under the
/// tab line, above the readout, the statistics if shown and the legend, beside the
/// inspector if shown).
pub fn image_rect(area: Rect, inspect: bool, stats_lines: u16) -> Rect {
    let body = Rect {
        x: area.x.saturating_add(1),
        y: area.y.saturating_add(2),
        width: area.width.saturating_sub(2),
        height: area.height.saturating_sub(3),
    };
    let (image, _) = preview_split(body, inspect);
    Rect {
        height: image
            .height
            .saturating_sub(PREVIEW_TEXT_LINES + stats_lines),
        ..image
    }
}

impl Draw for ResultsPane {
    fn draw(&mut self, frame: &mut Frame, area: Rect, around: &Surroundings) {
        let theme = around.theme;
        let block = around.block(self.title(around));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let [tabs_area, body] =
            Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(inner);
        let tabs = Tabs::new(tab_titles(tabs_area.width))
            .select(self.tab % TABS.len())
            .highlight_style(theme.cursor);
        frame.render_widget(tabs, tabs_area);

        let Some(result) = self.result.clone() else {
            let text = match (&self.failed, around.stacking) {
                (Some(e), _) => Line::styled(format!("The stack failed: {e}"), theme.error),
                (None, true) => Line::raw("Stacking…"),
                (None, false) => Line::raw(
                    "No master yet. Select frames in Files (a selects all valid biases), then press s to stack.",
                ),
            };
            frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), body);
            return;
        };
        let Some(image) = result.image(self.extension) else {
            return;
        };
        match self.current_tab() {
            Tab::Qc => tabs::qc(frame, &theme, image, &mut self.qc_scroll, body),
            Tab::Profile => {
                let look = profile::ProfileLook {
                    axis: self.axis(),
                    cursor: self.cursor_pixel().unwrap_or((0, 0)),
                    mean: !self.line,
                    band: self.band.max(1),
                    include_bad: self.include_bad,
                    adu: self.adu,
                    raw: self.profile_raw.then_some(self.raw_frame),
                };
                profile::draw(frame, &theme, image, look, body);
            }
            Tab::Preview => {
                let Some(look) = self.look() else {
                    return;
                };
                let graphic = self.graphic_for(area);
                tabs::preview(frame, &theme, image, look, graphic, body)
            }
            Tab::Histogram => tabs::histogram(frame, &theme, image, body),
            Tab::Frames => tabs::frames(frame, &theme, image, &mut self.frames_table, body),
            Tab::Defects => tabs::defects(frame, &theme, image, &mut self.defects_table, body),
            Tab::Trend => {
                let load = self.trend.as_ref().map(|(_, load)| load);
                let comparison = self.comparison.as_ref();
                trend::draw(
                    frame,
                    &theme,
                    image,
                    load,
                    comparison,
                    &mut self.trend_scroll,
                    body,
                )
            }
        }
        if let Some(prompt) = &self.prompt {
            // Over the tab's last line, where the readout is.
            let line = Rect {
                y: body.bottom().saturating_sub(1),
                height: body.height.min(1),
                ..body
            };
            frame.render_widget(Clear, line);
            frame.render_widget(
                Paragraph::new(Line::from(vec![
                    Span::styled(
                        format!("{}: ", self.prompt_label(prompt.asks)),
                        theme.header,
                    ),
                    Span::styled(format!("{}▏", prompt.text), theme.title),
                    Span::styled("  Enter goes · Esc drops", theme.dim),
                ])),
                line,
            );
        }
    }
}

impl ResultsPane {
    /// Which extension the tabs show, the values the result ran with, and whether it
    /// still is what the other panes show.
    fn title(&self, around: &Surroundings) -> Line<'static> {
        let theme = around.theme;
        // A re-stack is running or due; a stale result with neither waits for the user
        // (the selection cannot be stacked), and says so rather than "updating" for ever.
        let updating = around.stacking || around.restack_due;
        let mut title = vec![Span::styled(" Results ", theme.title)];
        if let Some(r) = &self.result {
            // Which extension the tabs show; the product holds them all.
            if let Some(name) = self.shown().and_then(|i| i.extension()) {
                let position = self.extension.min(r.images.len().saturating_sub(1)) + 1;
                title.push(Span::styled(
                    format!("{name} ({position}/{}) ", r.images.len()),
                    theme.title,
                ));
            }
            let p = &r.resolved.params;
            // soxspipe's mad-sigma and mean go unsaid; the alternatives are named.
            let mut method = String::new();
            if r.resolved.rejection != Rejection::MadSigma {
                method.push_str(r.resolved.rejection.name());
                method.push(' ');
            }
            if r.resolved.combine != Combine::Mean {
                method.push_str(r.resolved.combine.name());
                method.push(' ');
            }
            title.push(Span::styled(
                format!(
                    "stack {}σ×{} frame {}σ×{} {} {method}",
                    p.stacked_clipping_sigma,
                    p.stacked_clipping_iterations,
                    p.frame_clipping_sigma,
                    p.frame_clipping_iterations,
                    r.resolved.numerics.name()
                ),
                theme.dim,
            ));
        }
        if self.result.is_some() {
            if updating {
                title.push(Span::styled("(updating…) ", theme.warn));
            } else if self.stale {
                title.push(Span::styled(
                    "(stale: not what the panes show) ",
                    theme.error,
                ));
            }
        }
        Line::from(title)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tab_hit_test_follows_the_titles() {
        // " QC │ Profile │ Preview │ Frames "
        let wide = 120;
        assert_eq!(super::tab_from_x(0, wide), Some(0));
        assert_eq!(super::tab_from_x(3, wide), Some(0));
        assert_eq!(super::tab_from_x(5, wide), Some(1));
        assert_eq!(super::tab_from_x(30, wide), Some(3));
        assert_eq!(super::tab_from_x(50, wide), Some(5));
        assert_eq!(super::tab_from_x(60, wide), Some(6));
        assert_eq!(super::tab_from_x(70, wide), None);
        // " QC │ Prof │ Prev │ Frms │ Hist │ Defs │ Trend " where the whole titles do not
        // fit: all seven in the 48 cells of an 80-column terminal's pane.
        assert_eq!(super::tab_titles(48)[1], "Prof");
        assert_eq!(super::tab_from_x(37, 48), Some(5));
        assert_eq!(super::tab_from_x(45, 48), Some(6));
    }
}
