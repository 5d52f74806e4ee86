//! The results pane: which tab, which profile, and the last stack's result.

mod draw;
mod halfblock;
mod input;
mod tabs;

use std::sync::Arc;

use ratatui::widgets::TableState;

use crate::console::msg::{ImageResult, StackResult};
use crate::console::view::Axis;

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
