//! The master-bias algorithm of soxspipe 0.17.4 `soxs_mbias` (spec/soxspipe-mbias.md §3–§4).
//!
//! It takes prepared [`Frame`]s (arrays; `load` reads them) and parameters, and returns
//! arrays and statistics. [`frame_levels`] clips each frame and measures its level;
//! [`stack_levels`] turns the frames and their levels into a master, and can be called
//! again with new stack parameters on the same frames (live tuning in the console).

mod dispatch;
mod frame;
mod frame_clip;
mod histogram;
mod master;
mod network;
pub mod numerics;
mod simd;
mod stack;

pub use frame::{ElectronTable, Frame, Samples, electron_table, image, standard};
pub use frame_clip::{ClipBounds, FrameLevel, frame_levels, measure_frame, measure_frames};
pub use histogram::AduHistogram;
pub use master::{FrameStats, MasterBias, stack_levels};
pub use stack::{
    StackInput, StackMethod, StackSettings, Stacked, clip_and_stack, stacked_uncertainty,
    subtract_level,
};
