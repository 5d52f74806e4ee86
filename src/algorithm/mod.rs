//! The master-bias algorithm of soxspipe's `soxs_mbias`, as 0.17.4 and 0.19.0 compute it
//! (spec/soxspipe-mbias.md §3–§4, spec/soxspipe-0.19-changes.md).
//!
//! It takes prepared [`Frame`]s (arrays; `load` reads them) and parameters, and returns
//! arrays and statistics. [`frame_levels`] clips each frame and measures its level;
//! [`stack_levels`] turns the frames and their levels into a master, and can be called
//! again with new stack parameters on the same frames (live tuning in the console).

mod block_means;
mod dispatch;
mod errs;
mod frame;
mod frame_clip;
mod frame_mask;
mod histogram;
mod inspect;
mod master;
mod network;
pub mod numerics;
mod raw_ron;
mod simd;
mod stack;
#[cfg(test)]
pub(crate) mod testing;
mod zeros;

pub use block_means::block_means;
pub use errs::Errs;
pub use frame::{ElectronTable, Frame, Samples, electron_table, electrons_of, image, standard};
pub use frame_clip::{
    ClipBounds, FrameLevel, frame_levels, levels_from_histograms, measure_frame, measure_frames,
};
pub use frame_mask::FrameMask;
pub use histogram::AduHistogram;
pub use inspect::{BadBecause, FrameAtPixel, PixelInspection, Verdict, inspect_pixel};
pub use master::{
    ClipMasks, Finish, FrameStats, MasterBias, StackRequest, StackedRows, raw_ron_of, stack_band,
    stack_levels, stack_levels_with,
};
pub use raw_ron::difference_ron;
pub use stack::{
    ClipRound, InputMasks, PixelStack, StackInput, StackMethod, StackSettings, Stacked,
    clip_and_stack, stacked_uncertainty, subtract_level,
};
