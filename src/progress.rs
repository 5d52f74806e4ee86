//! Progress reporting and cancellation for long engine work.
//!
//! The engine calls [`Progress::report`] between steps and checks
//! [`Progress::cancelled`] at the same points, so a console can show a gauge and stop a
//! stack with Esc while a command line prints to stderr and never cancels.

use std::sync::atomic::{AtomicBool, Ordering};

/// Where a long job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Reading { done: usize, total: usize },
    FrameClip { done: usize, total: usize },
    Stacking { done: usize, total: usize },
    Qc,
    Writing,
}

impl Stage {
    /// Fraction of this stage done, 0..=1.
    pub fn fraction(self) -> f64 {
        match self {
            Stage::Reading { done, total }
            | Stage::FrameClip { done, total }
            | Stage::Stacking { done, total } => done as f64 / total.max(1) as f64,
            Stage::Qc | Stage::Writing => 0.0,
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stage::Reading { done, total } => write!(f, "reading {done}/{total}"),
            Stage::FrameClip { done, total } => write!(f, "frame clipping {done}/{total}"),
            Stage::Stacking { done, total } => {
                write!(f, "stacking {}%", done * 100 / (*total).max(1))
            }
            Stage::Qc => write!(f, "QC"),
            Stage::Writing => write!(f, "writing"),
        }
    }
}

pub trait Progress: Sync {
    fn report(&self, stage: Stage);
    fn cancelled(&self) -> bool {
        false
    }
}

/// For callers that neither show progress nor cancel.
pub struct Silent;

impl Progress for Silent {
    fn report(&self, _: Stage) {}
}

/// A cancellation flag plus a reporting callback.
pub struct Reporter<F: Fn(Stage) + Sync> {
    pub on_stage: F,
    pub cancel: AtomicBool,
}

impl<F: Fn(Stage) + Sync> Reporter<F> {
    pub fn new(on_stage: F) -> Self {
        Reporter {
            on_stage,
            cancel: AtomicBool::new(false),
        }
    }
}

impl<F: Fn(Stage) + Sync> Progress for Reporter<F> {
    fn report(&self, stage: Stage) {
        (self.on_stage)(stage);
    }
    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}
