//! The results pane: which tab, which profile, and the last stack's result.

mod draw;
mod halfblock;
mod image_view;
mod input;
mod inspector;
mod profile;
mod prompt;
mod stats;
mod tabs;
mod trend;

use std::path::PathBuf;
use std::sync::Arc;

use mbias::compare::Comparison;

use ratatui::layout::{Position, Rect};
use ratatui::widgets::TableState;

use halfblock::{Source, placement};
pub use image_view::{ImageView, Look};
pub use prompt::{Asks, Prompt};
pub use stats::StatsOf;
pub use trend::{TrendLoad, setup_of};

use crate::console::graphics::{Encoded, ImageKey};
use crate::console::msg::{ImageResult, StackResult};
use crate::console::view::{Axis, BadMarks, ImageOf, Limits, Transfer};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Qc,
    Profile,
    Preview,
    Frames,
    Histogram,
    Defects,
    /// Tonight's QC against the nights before, from the QC history.
    Trend,
}

pub const TABS: [Tab; 7] = [
    Tab::Qc,
    Tab::Profile,
    Tab::Preview,
    Tab::Frames,
    Tab::Histogram,
    Tab::Defects,
    Tab::Trend,
];

impl Tab {
    pub fn title(self) -> &'static str {
        match self {
            Tab::Qc => "QC",
            Tab::Profile => "Profile",
            Tab::Preview => "Preview",
            Tab::Histogram => "Histogram",
            Tab::Frames => "Frames",
            Tab::Defects => "Defects",
            Tab::Trend => "Trend",
        }
    }

    /// The title where the whole ones do not fit on the tab line.
    pub fn short_title(self) -> &'static str {
        match self {
            Tab::Profile => "Prof",
            Tab::Preview => "Prev",
            Tab::Histogram => "Hist",
            Tab::Frames => "Frms",
            Tab::Defects => "Defs",
            other => other.title(),
        }
    }
}

#[derive(Debug, Default)]
pub struct ResultsPane {
    pub tab: usize,
    pub axis: Option<Axis>,
    /// The Profile shows the cursor's row (or column), not the collapsed mean.
    pub line: bool,
    /// Rows (or columns) the Profile averages about the cursor's (`a`); 0 or 1: one.
    pub band: usize,
    /// The Profile shows bad pixels too (`b`), so that a hot column shows.
    pub include_bad: bool,
    /// The Profile is in ADU (`u`), not e-.
    pub adu: bool,
    /// The Profile draws the chosen raw frame over the master (`v`).
    pub profile_raw: bool,
    /// A value being typed on the pane's last line (`g`, `a`, `M`).
    pub prompt: Option<Prompt>,
    /// The Preview shows statistics of the box about the cursor (`m`) or of a section
    /// (`M`).
    pub stats: Option<StatsOf>,
    /// The last Preview image encoded for the terminal's graphics protocol, and the one
    /// being encoded (at most one at a time).
    pub graphic: Option<Encoded>,
    pub graphic_pending: Option<ImageKey>,
    pub result: Option<Arc<StackResult>>,
    /// How many results have been shown: a new one is a new image (an address could be
    /// reused by the next result).
    pub generation: u64,
    /// The last stack failed with this message (results, if any, are from before).
    pub failed: Option<String>,
    /// Parameters changed since `result` was computed.
    pub stale: bool,
    pub frames_table: TableState,
    /// The Defects tab's line.
    pub defects_table: TableState,
    /// First QC row shown when the table is taller than the pane (80×24 shows about ten
    /// of its rows); kept across re-stacks so a row being watched while tuning stays put.
    pub qc_scroll: usize,
    /// The Trend tab's history, for the result of the generation it was asked for.
    pub trend: Option<(u64, TrendLoad)>,
    /// First Trend row shown, as `qc_scroll`.
    pub trend_scroll: usize,
    /// The product `w` wrote of this result: `C` compares it (a product file, as
    /// `compare` reads one), and a new result has none until it is written.
    pub written: Option<PathBuf>,
    /// That product against its set-up's certified reference (`C`), shown under the
    /// Trend tab's table.
    pub comparison: Option<Comparison>,
    /// Which image of a multi-extension result the tabs show.
    pub extension: usize,
    /// The Preview's cursor, a master pixel (column, row; 0-based, row 0 = FITS row 1);
    /// `None` puts it in the middle of the frame.
    pub cursor: Option<(usize, usize)>,
    /// The Preview's magnification: 0 shows the whole frame, each step doubles.
    pub zoom: u32,
    /// The Preview's stretch: its limits (`t`) and transfer function (`f`).
    pub limits: Limits,
    pub transfer: Transfer,
    /// What the Preview shows (`v`), and which raw frame (`[`, `]`).
    pub image_of: ImageOf,
    pub raw_frame: usize,
    /// Which drawn pixels the Preview paints red (`b`).
    pub marks: BadMarks,
    /// Whether the pixel-stack inspector shows the cursor pixel (`p`).
    pub inspect: bool,
    /// The Preview stretches each amplifier on its own (`A`).
    pub per_amplifier: bool,
}

/// The Preview's deepest zoom: 8 screen pixels per master pixel.
const MAX_MAGNIFICATION: f64 = 8.0;

/// How many times the Preview at `zoom` magnifies the whole-frame view.
pub fn magnification(zoom: u32) -> f64 {
    2f64.powi(zoom.min(30) as i32)
}

/// The drawn pixels of an image area `width × height` cells in half blocks: one across a
/// cell, two down it (so that they are about square).
pub fn half_block_dots(width: u16, height: u16) -> (usize, usize) {
    (usize::from(width), 2 * usize::from(height))
}

/// Master pixels per drawn pixel for a frame of `cols × rows` shown whole on `dots`
/// (width, height) drawn pixels.
pub fn fit_scale(cols: usize, rows: usize, (width, height): (usize, usize)) -> f64 {
    let (w, h) = (width.max(1) as f64, height.max(1) as f64);
    (cols as f64 / w).max(rows as f64 / h)
}

/// The master pixels a view of the Preview shows: `scale` pixels per drawn pixel (below 1
/// when magnified) from pixel (`x0`, `y0`) at the bottom left of the image area.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub x0: f64,
    pub y0: f64,
    pub scale: f64,
}

impl Window {
    /// The window of a `cols × rows` frame that `dots` (width, height) drawn pixels show
    /// at `zoom`: centred on `cursor`, kept on the frame where the frame is larger, and
    /// the frame centred where it is smaller.
    pub fn new(
        (cols, rows): (usize, usize),
        cursor: (usize, usize),
        zoom: u32,
        dots: (usize, usize),
    ) -> Window {
        let scale = fit_scale(cols, rows, dots) / magnification(zoom);
        let (aw, ah) = (dots.0 as f64, dots.1 as f64);
        let origin = |at: usize, len: usize, span: f64| {
            if span >= len as f64 {
                (len as f64 - span) / 2.0
            } else {
                (at as f64 + 0.5 - span / 2.0).clamp(0.0, len as f64 - span)
            }
        };
        Window {
            x0: origin(cursor.0, cols, aw * scale),
            y0: origin(cursor.1, rows, ah * scale),
            scale,
        }
    }
}

impl ResultsPane {
    /// The master pixel under cell `at` of the Preview image drawn in `image`; `None` off
    /// the frame. Of a cell's two drawn pixels it takes the upper one.
    pub fn pixel_at(&self, at: Position, image: Rect) -> Option<(usize, usize)> {
        if !image.contains(at) {
            return None;
        }
        let shown = self.shown()?;
        let master = &shown.outcome.master;
        let (cols, rows) = (master.cols(), master.rows());
        if self.zoom == 0 && self.image_of == ImageOf::Master {
            // The whole master, drawn from its preview at the size `placement` gives it.
            let (w, h, x, y) = placement(&Source::Fit(&shown.view.preview), image);
            let (dx, dy) = (
                usize::from(at.x.checked_sub(x)?),
                2 * usize::from(at.y.checked_sub(y)?),
            );
            if dx >= w || dy >= h {
                return None;
            }
            return Some((dx * cols / w, (h - 1 - dy) * rows / h));
        }
        let window = Window::new(
            (cols, rows),
            self.cursor_pixel()?,
            self.zoom,
            half_block_dots(image.width, image.height),
        );
        let h = 2.0 * f64::from(image.height);
        let (dx, dy) = (f64::from(at.x - image.x), 2.0 * f64::from(at.y - image.y));
        // The first pixel under the drawn pixel, as the drawing marks the cursor.
        let col = (window.x0 + dx * window.scale).floor();
        let row = (window.y0 + (h - 1.0 - dy) * window.scale).floor();
        let inside = |v: f64, len: usize| v >= 0.0 && v < len as f64;
        (inside(col, cols) && inside(row, rows)).then_some((col as usize, row as usize))
    }

    pub fn current_tab(&self) -> Tab {
        TABS[self.tab % TABS.len()]
    }

    /// Brings `tab` to the front (news for it has come).
    pub fn open_tab(&mut self, tab: Tab) {
        if let Some(i) = TABS.iter().position(|t| *t == tab) {
            self.tab = i;
        }
    }

    pub fn axis(&self) -> Axis {
        self.axis.unwrap_or(Axis::Columns)
    }

    /// The image the tabs show.
    pub fn shown(&self) -> Option<&ImageResult> {
        self.result.as_ref()?.image(self.extension)
    }

    /// Where the Preview looks and how, for the shown result; `None` without one.
    pub fn look(&self) -> Option<Look> {
        Some(Look {
            cursor: self.cursor_pixel()?,
            zoom: self.zoom,
            limits: self.limits,
            transfer: self.transfer,
            image: self.image_of,
            frame: self.raw_frame,
            marks: self.marks,
            inspect: self.inspect,
            stats: self.stats.clone(),
            profile: self.line.then(|| self.axis()),
            per_amplifier: self.per_amplifier,
        })
    }

    /// What the Preview image in the pane drawn in `area` shows, when the Preview is the
    /// tab on screen: a graphics protocol's image is made for this key.
    pub fn image_key(&self, area: Rect) -> Option<ImageKey> {
        if self.current_tab() != Tab::Preview {
            return None;
        }
        self.shown()?;
        Some(ImageKey {
            generation: self.generation,
            extension: self.extension,
            look: self.look()?,
            area: self.image_area(area),
        })
    }

    /// The encoded image for the Preview in the pane drawn in `area`, if it is the one
    /// on screen.
    pub fn graphic_for(&self, area: Rect) -> Option<&ratatui_image::protocol::Protocol> {
        let encoded = self.graphic.as_ref()?;
        (Some(&encoded.key) == self.image_key(area).as_ref())
            .then_some(encoded.protocol.as_ref())
            .flatten()
    }

    /// Lines the Preview's statistics take under the image.
    pub fn stats_lines(&self) -> u16 {
        match (self.shown(), self.look()) {
            (Some(image), Some(look)) => tabs::stats_lines(image, &look),
            _ => 0,
        }
    }

    /// Whether the shown image's profile names amplifiers.
    pub fn has_amplifiers(&self) -> bool {
        self.shown()
            .is_some_and(|i| !i.loaded.set.plan.amplifiers.is_empty())
    }

    /// The Preview's cursor, clamped to the shown image (the middle when unset).
    pub fn cursor_pixel(&self) -> Option<(usize, usize)> {
        let master = &self.shown()?.outcome.master;
        let (cols, rows) = (master.cols(), master.rows());
        if cols == 0 || rows == 0 {
            return None;
        }
        let (x, y) = self.cursor.unwrap_or((cols / 2, rows / 2));
        Some((x.min(cols.saturating_sub(1)), y.min(rows.saturating_sub(1))))
    }

    /// Moves the Preview's cursor by (`dx`, `dy`) drawn pixels (up is +y, as in ds9) in
    /// an image area `width × height` cells.
    pub fn move_cursor(&mut self, dx: isize, dy: isize, width: u16, height: u16) {
        let Some((x, y)) = self.cursor_pixel() else {
            return;
        };
        let Some(master) = self.shown().map(|i| &i.outcome.master) else {
            return;
        };
        let (cols, rows) = (master.cols(), master.rows());
        let step = (fit_scale(cols, rows, half_block_dots(width, height))
            / magnification(self.zoom))
        .round()
        .max(1.0) as isize;
        let x = (x as isize + dx * step).clamp(0, cols as isize - 1) as usize;
        let y = (y as isize + dy * step).clamp(0, rows as isize - 1) as usize;
        self.cursor = Some((x, y));
    }

    /// Zooms the Preview in (`+1`) or out (`-1`), within whole-frame and
    /// [`MAX_MAGNIFICATION`].
    pub fn zoom_by(&mut self, step: i32, width: u16, height: u16) {
        let Some(master) = self.shown().map(|i| &i.outcome.master) else {
            return;
        };
        let fit = fit_scale(master.cols(), master.rows(), half_block_dots(width, height));
        let deepest = (fit * MAX_MAGNIFICATION).log2().ceil().max(0.0) as u32;
        self.zoom = self.zoom.saturating_add_signed(step).min(deepest);
    }

    /// The row (`Axis::Columns`) or column the Profile shows, 0-based; `None` for the
    /// collapsed mean.
    pub fn profile_line(&self) -> Option<usize> {
        let (x, y) = self.cursor_pixel()?;
        self.line.then_some(match self.axis() {
            Axis::Columns => y,
            Axis::Rows => x,
        })
    }

    /// Puts the cursor on row (or column) `i` of the Profile's axis, and profiles it.
    pub fn go_to_line(&mut self, i: usize) {
        let Some((x, y)) = self.cursor_pixel() else {
            return;
        };
        self.line = true;
        self.cursor = Some(match self.axis() {
            Axis::Columns => (x, i),
            Axis::Rows => (i, y),
        });
    }

    /// Zooms in until a pixel is at least `dots` drawn pixels wide (within the deepest
    /// zoom), in an image area `width × height` cells.
    pub fn zoom_to_dots(&mut self, dots: f64, width: u16, height: u16) {
        let Some(master) = self.shown().map(|i| &i.outcome.master) else {
            return;
        };
        let fit = fit_scale(master.cols(), master.rows(), half_block_dots(width, height));
        let wanted = (fit * dots).log2().ceil().max(0.0) as u32;
        self.zoom = self.zoom.max(wanted);
        self.zoom_by(0, width, height);
    }

    /// Steps the profiled row/column, starting from the first when showing the mean.
    pub fn step_index(&mut self, delta: isize) {
        let Some(image) = self.shown() else { return };
        let master = &image.outcome.master;
        let len = match self.axis() {
            Axis::Columns => master.rows(),
            Axis::Rows => master.cols(),
        };
        let next = match self.profile_line() {
            None if delta < 0 => len as isize - 1,
            None => 0,
            Some(i) => i as isize + delta,
        };
        self.go_to_line(next.clamp(0, len as isize - 1) as usize);
    }

    /// Moves the cursor along the Profile by `delta` pixels.
    pub fn step_along(&mut self, delta: isize) {
        let Some(master) = self.shown().map(|i| &i.outcome.master) else {
            return;
        };
        let (cols, rows) = (master.cols(), master.rows());
        let Some((x, y)) = self.cursor_pixel() else {
            return;
        };
        let moved =
            |at: usize, len: usize| (at as isize + delta).clamp(0, len as isize - 1) as usize;
        self.cursor = Some(match self.axis() {
            Axis::Columns => (moved(x, cols), y),
            Axis::Rows => (x, moved(y, rows)),
        });
    }
}
