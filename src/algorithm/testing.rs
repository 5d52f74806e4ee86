//! Small stacks for unit tests: soxspipe's recipe on a few frames, with 3σ clips.

use std::sync::Arc;

use super::{Frame, FrameLevel, MasterBias, StackMethod, StackRequest, frame_levels, stack_levels};
use crate::params::{ClipParams, ClipValues, Numerics, RecipeVersion};
use crate::progress::Silent;

/// `frames`' levels and their master, as `version` stacks them in soxspipe numerics
/// (3σ, three rounds, for the frames and the stack; read noise 4 e-).
pub fn stacked(frames: &[Arc<Frame>], version: RecipeVersion) -> (Vec<FrameLevel>, MasterBias) {
    let params = ClipParams::new(ClipValues {
        stacked_clipping_sigma: 3.0,
        stacked_clipping_iterations: 3,
        frame_clipping_sigma: 3.0,
        frame_clipping_iterations: 3,
    })
    .expect("3σ clips of three rounds are valid");
    let levels = frame_levels(frames, &params, Numerics::Soxspipe, version);
    let request = StackRequest {
        params,
        numerics: Numerics::Soxspipe,
        method: StackMethod::SOXSPIPE,
        version,
        ron: 4.0,
        difference_ron: None,
    };
    let master = stack_levels(frames, &levels, &request, &Silent).expect("the frames stack");
    (levels, master)
}
