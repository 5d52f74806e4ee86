//! The results pane: which tab, which profile, and the last stack's result.

mod draw;
mod halfblock;
mod input;
mod tabs;

use std::sync::Arc;

use ratatui::widgets::TableState;

use crate::console::msg::{ImageResult, StackResult};
use crate::console::view::{Axis, BadMarks, ImageOf, Limits, Transfer};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Qc,
    Profile,
    Preview,
    Frames,
    Histogram,
}

pub const TABS: [Tab; 5] = [
    Tab::Qc,
    Tab::Profile,
    Tab::Preview,
    Tab::Frames,
    Tab::Histogram,
];

impl Tab {
    pub fn title(self) -> &'static str {
        match self {
            Tab::Qc => "QC",
            Tab::Profile => "Profile",
            Tab::Preview => "Preview",
            Tab::Histogram => "Histogram",
            Tab::Frames => "Frames",
        }
    }
}

#[derive(Debug, Default)]
pub struct ResultsPane {
    pub tab: usize,
    pub axis: Option<Axis>,
    /// `None`: the collapsed mean; `Some(i)`: row or column `i` alone.
    pub index: Option<usize>,
    pub result: Option<Arc<StackResult>>,
    /// The last stack failed with this message (results, if any, are from before).
    pub failed: Option<String>,
    /// Parameters changed since `result` was computed.
    pub stale: bool,
    pub frames_table: TableState,
    /// First QC row shown when the table is taller than the pane (80×24 shows about ten
    /// of its rows); kept across re-stacks so a row being watched while tuning stays put.
    pub qc_scroll: usize,
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
}

/// The Preview's deepest zoom: 8 screen pixels per master pixel.
const MAX_MAGNIFICATION: f64 = 8.0;

/// How many times the Preview at `zoom` magnifies the whole-frame view.
pub fn magnification(zoom: u32) -> f64 {
    2f64.powi(zoom.min(30) as i32)
}

/// Master pixels per drawn pixel for a frame of `cols × rows` shown whole in an image
/// area of `width × height` cells (two drawn pixels a cell, vertically).
pub fn fit_scale(cols: usize, rows: usize, width: u16, height: u16) -> f64 {
    let (w, h) = (f64::from(width.max(1)), 2.0 * f64::from(height.max(1)));
    (cols as f64 / w).max(rows as f64 / h)
}

impl ResultsPane {
    pub fn current_tab(&self) -> Tab {
        TABS[self.tab % TABS.len()]
    }

    pub fn axis(&self) -> Axis {
        self.axis.unwrap_or(Axis::Columns)
    }

    /// The image the tabs show.
    pub fn shown(&self) -> Option<&ImageResult> {
        self.result.as_ref()?.image(self.extension)
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
        let step = (fit_scale(cols, rows, width, height) / magnification(self.zoom))
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
        let fit = fit_scale(master.cols(), master.rows(), width, height);
        let deepest = (fit * MAX_MAGNIFICATION).log2().ceil().max(0.0) as u32;
        self.zoom = self.zoom.saturating_add_signed(step).min(deepest);
    }

    /// Steps the chosen row/column, starting from the first when showing the mean.
    pub fn step_index(&mut self, delta: isize) {
        let Some(image) = self.shown() else { return };
        let master = &image.outcome.master;
        let len = match self.axis() {
            Axis::Columns => master.rows(),
            Axis::Rows => master.cols(),
        };
        let next = match self.index {
            None if delta < 0 => len as isize - 1,
            None => 0,
            Some(i) => i as isize + delta,
        };
        self.index = Some(next.clamp(0, len as isize - 1) as usize);
    }
}
