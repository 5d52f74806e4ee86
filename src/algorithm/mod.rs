//! The master-bias algorithm of soxspipe 0.17.4 `soxs_mbias` (spec/soxspipe-mbias.md §3–§4).
//!
//! [`prepare`] reads frames once; [`frame_levels`] clips each frame and measures its level;
//! [`stack_levels`] turns the prepared frames and their levels into a master, and can be
//! called again with new stack parameters on the same frames (live tuning in the console).

mod dispatch;
mod frame_clip;
mod histogram;
mod master;
mod network;
pub mod numerics;
mod prepare;
mod simd;
mod stack;

pub use frame_clip::{ClipBounds, FrameLevel, frame_levels, measure_frame, measure_frames};
pub use histogram::AduHistogram;
pub use master::{FrameStats, MasterBias, stack_levels};
pub use prepare::{ElectronTable, PreparedFrame, PreparedSet, Samples, prepare, prepare_reusing};
pub use stack::{
    StackInput, StackMethod, StackSettings, Stacked, clip_and_stack, stacked_uncertainty,
    subtract_level,
};
