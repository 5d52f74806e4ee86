//! mbias: build and vet CCD master-bias frames, faithfully to soxspipe's `soxs_mbias`.
//!
//! The library is the engine, with no user interface; the `mbias` binary puts a command
//! line and a console over it. A run goes
//! [`inputs`] → [`verify`] (headers only) → [`load`] (pixels, once) →
//! [`algorithm::stack_levels`] (as often as parameters change) → [`qc`] → [`product`];
//! [`pipeline`] strings these together. [`compare`] holds a finished master against a
//! reference master.

pub mod algorithm;
pub mod assemble;
pub mod atomic;
pub mod compare;
pub mod detector;
pub mod error;
pub mod fits;
pub mod history;
pub mod inputs;
pub mod load;
pub mod night;
pub mod overscan;
pub mod params;
pub mod pipeline;
pub mod product;
pub mod progress;
pub mod qc;
pub mod qc_plot;
pub mod settings;
pub mod simulate;
pub mod verify;
pub mod writeback;

pub use error::{Error, Result};
