//! What comes into the results pane: key-map actions, clicks on the tab line, and each
//! finished stack.

use std::sync::Arc;

use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Position, Rect};

use super::tabs::format_value;
use super::{Asks, Prompt, ResultsPane, StatsOf, TABS, Tab, draw};
use crate::console::defects::DefectKind;
use crate::console::keymap::{Action, Context};
use crate::console::msg::StackResult;
use crate::console::panes::{Input, Request};
use crate::console::status::Notice;
use crate::console::view::Axis;

impl Input for ResultsPane {
    fn context(&self) -> Context {
        Context::Results
    }

    fn hints(&self) -> &'static str {
        if self.current_tab() == Tab::Preview {
            return "←↑↓→ cursor · + - zoom · g go to · p pixel stack · m stats · v [ ] image · t f stretch · ? help";
        }
        if self.current_tab() == Tab::Trend {
            return "tonight's QC against the QC history · ←→ tab · ↑↓ scroll · w write (and record) · C against the reference · ? help";
        }
        "←→ tab · x rows/cols · ↑↓ row/col · w write · S save settings · ? help"
    }

    fn on_action(&mut self, action: Action, area: Rect) -> Request {
        let image = self.image_area(area);
        let (width, height) = (image.width, image.height);
        if self.current_tab() == Tab::Profile {
            // ← → move the cursor along the profile (the digits still pick a tab).
            match action {
                Action::Left => self.step_along(-1),
                Action::Right => self.step_along(1),
                Action::NextBadMarks => self.include_bad = !self.include_bad,
                Action::NextImage => self.profile_raw = !self.profile_raw,
                Action::GoTo => self.prompt = Some(Prompt::new(Asks::Line)),
                _ => return self.on_any_tab(action, width, height),
            }
            return Request::Nothing;
        }
        if self.current_tab() == Tab::Preview {
            // The arrows move the cursor on the image (the digits still pick a tab).
            let step = |d: isize| match action {
                Action::PageUp | Action::PageDown => 10 * d,
                _ => d,
            };
            match action {
                Action::Left => return self.cursor_moved(step(-1), 0, width, height),
                Action::Right => return self.cursor_moved(step(1), 0, width, height),
                Action::Up | Action::PageUp => return self.cursor_moved(0, step(1), width, height),
                Action::Down | Action::PageDown => {
                    return self.cursor_moved(0, step(-1), width, height);
                }
                Action::GoTo => self.prompt = Some(Prompt::new(Asks::Pixel)),
                Action::MeanProfile => {
                    // The box, then each amplifier where there are amplifiers, then none.
                    self.stats = match self.stats {
                        Some(StatsOf::Cursor) if self.has_amplifiers() => Some(StatsOf::Amplifiers),
                        Some(StatsOf::Cursor | StatsOf::Amplifiers) => None,
                        _ => Some(StatsOf::Cursor),
                    };
                }
                Action::Section => self.prompt = Some(Prompt::new(Asks::Section)),
                Action::TypePercentiles => self.prompt = Some(Prompt::new(Asks::Percentiles)),
                Action::PerAmplifier if !self.has_amplifiers() => {
                    return Request::Notice(Notice::info(
                        "this profile names no amplifiers (see amplifiers: in the settings)",
                    ));
                }
                Action::PerAmplifier => self.per_amplifier = !self.per_amplifier,
                _ => return self.on_any_tab(action, width, height),
            }
            return Request::Nothing;
        }
        self.on_any_tab(action, width, height)
    }

    fn on_click(&mut self, at: Position, area: Rect) {
        if let Some(t) = draw::tab_at(area, at) {
            self.tab = t;
        } else {
            self.point_at(at, area);
        }
    }
}

impl ResultsPane {
    /// An action every tab takes alike (or refuses alike).
    fn on_any_tab(&mut self, action: Action, width: u16, height: u16) -> Request {
        match action {
            Action::ZoomIn | Action::ZoomOut => {
                if self.current_tab() != Tab::Preview {
                    return Request::Notice(Notice::info("+ and - zoom the Preview tab (3)"));
                }
                self.zoom_by(if action == Action::ZoomIn { 1 } else { -1 }, width, height);
            }
            Action::NextImage => self.image_of = self.image_of.next(),
            Action::NextBadMarks => self.marks = self.marks.next(),
            Action::InspectPixel => {
                if self.current_tab() != Tab::Preview {
                    return Request::Notice(Notice::info(
                        "p shows the cursor pixel's stack in the Preview tab (3)",
                    ));
                }
                self.inspect = !self.inspect;
            }
            Action::PreviousFrame | Action::NextFrame => {
                let count = self
                    .shown()
                    .map_or(1, |i| i.loaded.set.frame_count())
                    .max(1);
                let step = if action == Action::NextFrame {
                    1
                } else {
                    count - 1
                };
                self.raw_frame = (self.raw_frame.min(count - 1) + step) % count;
            }
            Action::NextLimits => self.limits = self.limits.next(),
            Action::NextTransfer => self.transfer = self.transfer.next(),
            Action::Left => self.tab = (self.tab + TABS.len() - 1) % TABS.len(),
            Action::Right => self.tab = (self.tab + 1) % TABS.len(),
            Action::Up | Action::Down | Action::PageUp | Action::PageDown => {
                let delta = match action {
                    Action::Up => -1,
                    Action::Down => 1,
                    Action::PageUp => -100,
                    _ => 100,
                };
                self.scroll(delta);
            }
            Action::ToggleAxis => {
                self.axis = Some(match self.axis() {
                    Axis::Columns => Axis::Rows,
                    Axis::Rows => Axis::Columns,
                });
                self.line = false;
            }
            Action::MeanProfile => self.line = false,
            Action::Enter if self.current_tab() == Tab::Defects => self.show_defect(width, height),
            Action::Band => self.prompt = Some(Prompt::new(Asks::Band)),
            Action::Unit => self.adu = !self.adu,
            Action::GoTo => {
                return Request::Notice(Notice::info(
                    "g goes to a pixel in the Preview (3) and to a row or column in the Profile (2)",
                ));
            }
            Action::Section | Action::PerAmplifier | Action::TypePercentiles => {
                return Request::Notice(Notice::info(
                    "M (statistics of a section), A and T (stretches) work in the Preview (3)",
                ));
            }
            Action::NextExtension => return self.next_extension(),
            _ => {}
        }
        Request::Nothing
    }

    /// ds9's pan: the Preview pixel under `at` (in the pane drawn in `area`) becomes the
    /// cursor, and a zoomed view centres on it. Whether `at` was on the image.
    pub fn point_at(&mut self, at: Position, area: Rect) -> bool {
        if self.current_tab() != Tab::Preview {
            return false;
        }
        match self.pixel_at(at, self.image_area(area)) {
            Some(pixel) => {
                self.cursor = Some(pixel);
                true
            }
            None => false,
        }
    }

    /// Where the Preview's image lies in the pane drawn in `area`.
    pub fn image_area(&self, area: Rect) -> Rect {
        draw::image_rect(area, self.inspect, self.stats_lines())
    }

    fn cursor_moved(&mut self, dx: isize, dy: isize, width: u16, height: u16) -> Request {
        self.move_cursor(dx, dy, width, height);
        Request::Nothing
    }

    /// 1 to 7, which the key map gives every pane: that tab.
    pub fn show_tab(&mut self, key: &KeyEvent) {
        if let KeyCode::Char(digit @ '1'..='7') = key.code {
            self.tab = usize::from(digit as u8 - b'1');
        }
    }

    /// The arrows and pages move what the tab shows: QC rows, the profile's row or
    /// column, the frames table's line.
    fn scroll(&mut self, delta: isize) {
        match self.current_tab() {
            Tab::Qc => {
                // The drawing clamps it to the rows there are, so PgUp/PgDn
                // jump to the top and the bottom.
                self.qc_scroll = self.qc_scroll.saturating_add_signed(delta);
            }
            Tab::Profile => self.step_index(delta),
            Tab::Frames => {
                let i = self.frames_table.selected().unwrap_or(0) as isize + delta.signum();
                self.frames_table.select(Some(i.max(0) as usize));
            }
            Tab::Defects => {
                let count = self.shown().map_or(0, |i| i.view.defects.len());
                let i = self.defects_table.selected().unwrap_or(0) as isize + delta;
                self.defects_table
                    .select(Some(i.clamp(0, count.saturating_sub(1) as isize) as usize));
            }
            Tab::Trend => self.trend_scroll = self.trend_scroll.saturating_add_signed(delta),
            Tab::Preview | Tab::Histogram => {}
        }
    }

    /// Enter on the Defects tab: the chosen defect under the Preview's cursor, zoomed in
    /// (in an image area `width × height` cells) to two dots a pixel where it is small.
    fn show_defect(&mut self, width: u16, height: u16) {
        let Some(defect) = self
            .shown()
            .and_then(|i| {
                i.view
                    .defects
                    .get(self.defects_table.selected().unwrap_or(0))
            })
            .cloned()
        else {
            return;
        };
        self.cursor = Some(defect.at);
        if !matches!(defect.kind, DefectKind::Column | DefectKind::Row) {
            self.zoom_to_dots(2.0, width, height);
        }
        self.tab = TABS.iter().position(|t| *t == Tab::Preview).unwrap_or(0);
    }

    /// `e`: the next extension of a multi-extension result.
    fn next_extension(&mut self) -> Request {
        let count = self.result.as_ref().map_or(0, |r| r.images.len());
        if count <= 1 {
            return Request::Notice(Notice::info(
                "one image only: e switches between the extensions of multi-extension frames",
            ));
        }
        self.extension = (self.extension + 1) % count;
        // Rows and columns are the new extension's, of another size perhaps.
        self.line = false;
        match self.shown().and_then(|i| i.extension()) {
            Some(name) => Request::Notice(Notice::info(format!("showing {name}"))),
            None => Request::Nothing,
        }
    }

    /// A finished stack to show, `stale` when a change is already waiting to re-stack;
    /// returns what the status bar says of it.
    pub fn show(&mut self, result: Arc<StackResult>, stale: bool) -> Notice {
        let ms = result.elapsed.as_secs_f64() * 1e3;
        let extensions = result.images.len();
        let warnings: Vec<String> = result.loaded().iter().flat_map(|l| l.warnings()).collect();
        if self.extension >= extensions {
            self.extension = 0;
            self.line = false;
        }
        let shown = result
            .image(self.extension)
            .and_then(|i| i.extension())
            .map(str::to_string);
        let verdict = qc_verdict(&result);
        self.result = Some(result);
        self.generation += 1;
        self.written = None;
        self.comparison = None;
        self.stale = stale;
        let note = match shown {
            Some(name) => {
                format!(" · showing {name}; w writes all {extensions} extensions (e: next)")
            }
            None => String::new(),
        };
        match warnings.first() {
            // Pixels the user did not expect to lose outrank the timing.
            Some(first) => Notice::error(format!(
                "stacked: {verdict}; {first}{}",
                match warnings.len() {
                    1 => String::new(),
                    n => format!(" (and {} more frame(s))", n - 1),
                }
            )),
            None => Notice::info(format!("stacked in {ms:.0} ms: {verdict}{note}")),
        }
    }
}

/// What the QC of a stack says in one phrase: the first failing value named, with its
/// value and range; "all QC pass" only when values have ranges and all pass; else that
/// no range was set, so nothing was judged.
fn qc_verdict(result: &StackResult) -> String {
    let values: Vec<_> = result
        .images
        .iter()
        .flat_map(|i| &i.outcome.qc.values)
        .collect();
    let failing: Vec<_> = values.iter().filter(|v| v.pass == Some(false)).collect();
    match failing.first() {
        Some(first) => {
            let range = first
                .range
                .map(|r| format!(" outside ({}, {})", r.low(), r.high()))
                .unwrap_or_default();
            let more = match failing.len() {
                1 => String::new(),
                n => format!(" (and {} more)", n - 1),
            };
            let value = format!(
                "{} {}",
                format_value(first.name, first.value, first.integer),
                first.unit
            );
            format!("{} fails: {}{range}{more}", first.name, value.trim_end())
        }
        None if values.iter().any(|v| v.pass.is_some()) => "all QC pass".to_string(),
        None => "no QC ranges set".to_string(),
    }
}
