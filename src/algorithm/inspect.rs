//! One pixel of a master followed through the recipe, for the console's pixel-stack
//! inspector: each frame's value and its whole-frame clip, the stack clip's rounds and
//! verdicts, the combined value and why the final mask took the pixel. Every number comes
//! from the functions the recipe itself runs ([`stack_pixel`] is the stack's per-pixel
//! clip), so the inspector cannot disagree with the product.

use std::sync::Arc;

use super::frame::Frame;
use super::frame_clip::{ClipBounds, FrameLevel};
use super::master::MasterBias;
use super::stack::{ClipRound, PixelStack, StackSettings, stack_pixel};
use crate::params::Rejection;

/// What the stack did with one frame's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Kept,
    /// Rejected for good by this clip round (1-based): outside its bounds and every later
    /// round's.
    Round(usize),
    /// One of the lowest or highest values `minmax` drops.
    Extreme,
    /// Left out before the clip: soxspipe 0.19 drops a frame's value its own whole-frame
    /// clip masked (unless every frame masked the pixel).
    LeftOut,
    /// NaN or infinite in the frame; no clip keeps it.
    NotFinite,
}

/// One frame at the inspected pixel.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameAtPixel {
    pub name: String,
    /// The frame's value, e-.
    pub electrons: f32,
    /// The value the stack clipped: the frame less its level, e-.
    pub noise: f32,
    /// Whether the frame's own whole-frame clip masked this pixel.
    pub frame_clipped: bool,
    pub verdict: Verdict,
}

/// Why the final mask took a pixel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BadBecause {
    /// Every frame's whole-frame clip masked it.
    EveryFrameMasked,
    /// The stack clip kept no frame.
    NoFrameKept,
    /// The post-stack clip of the combined frame rejected its value.
    PostClip(ClipBounds),
}

/// One pixel of a master, from its frames to its product values.
#[derive(Debug, Clone, PartialEq)]
pub struct PixelInspection {
    pub frames: Vec<FrameAtPixel>,
    /// The stack clip of the pixel; `None` for a single frame, which soxspipe passes
    /// through unclipped.
    pub stack: Option<PixelStack>,
    pub flux: f32,
    pub errs: f32,
    pub qual: u8,
    pub bad_because: Option<BadBecause>,
}

impl PixelInspection {
    /// The stack clip's rounds (none for one frame or `minmax`).
    pub fn rounds(&self) -> &[ClipRound] {
        self.stack.as_ref().map_or(&[], |s| &s.rounds)
    }
}

/// Follows pixel (`col`, `row`) (0-based) of `master` through the recipe that made it
/// from `frames` and their `levels`; `None` outside the image or when the frames are not
/// the master's.
pub fn inspect_pixel(
    frames: &[Arc<Frame>],
    levels: &[FrameLevel],
    master: &MasterBias,
    (col, row): (usize, usize),
) -> Option<PixelInspection> {
    let (rows, cols) = (master.rows(), master.cols());
    if row >= rows || col >= cols || frames.len() != levels.len() || frames.is_empty() {
        return None;
    }
    if frames.iter().any(|f| f.shape() != (rows, cols)) {
        return None;
    }
    let p = row * cols + col;
    let electrons: Vec<f32> = frames.iter().map(|f| f.value(p)).collect();
    let frame_clipped: Vec<bool> = electrons
        .iter()
        .zip(levels)
        .map(|(&e, level)| level.bounds.rejects(e))
        .collect();
    let every = frame_clipped.iter().all(|&m| m);
    let excluded: Vec<bool> = if master.version.is_019() {
        frame_clipped.iter().map(|&m| m && !every).collect()
    } else {
        vec![false; frames.len()]
    };
    let level_values: Vec<f64> = levels.iter().map(|l| l.level).collect();
    let stack = (frames.len() > 1).then(|| {
        let settings = StackSettings {
            sigma: master.params.stacked_clipping_sigma,
            iterations: master.params.stacked_clipping_iterations,
            numerics: master.numerics,
            method: master.method,
        };
        stack_pixel(&electrons, &level_values, &excluded, settings)
    });
    let frames_at = frames
        .iter()
        .enumerate()
        .map(|(k, frame)| {
            let noise = (f64::from(electrons[k]) - level_values[k]) as f32;
            FrameAtPixel {
                name: frame.name.clone(),
                electrons: electrons[k],
                noise,
                frame_clipped: frame_clipped[k],
                verdict: verdict(
                    stack.as_ref(),
                    k,
                    excluded[k],
                    noise,
                    master.method.rejection,
                ),
            }
        })
        .collect();
    let combined = stack
        .as_ref()
        .map_or((f64::from(electrons[0]) - level_values[0]) as f32, |s| {
            s.combined
        });
    let qual = master.qual[(row, col)];
    let bad_because = (qual != 0).then(|| {
        if every {
            BadBecause::EveryFrameMasked
        } else if stack.as_ref().is_some_and(|s| s.used == 0) {
            BadBecause::NoFrameKept
        } else {
            BadBecause::PostClip(master.post_clip.unwrap_or(ClipBounds::UNCLIPPED))
        }
    });
    debug_assert!(bad_because.is_some() || combined.is_finite());
    Some(PixelInspection {
        frames: frames_at,
        stack,
        flux: master.flux[(row, col)],
        errs: master.errs_at(row * master.cols() + col),
        qual,
        bad_because,
    })
}

/// What the stack did with frame `k`'s value `noise`.
fn verdict(
    stack: Option<&PixelStack>,
    k: usize,
    left_out: bool,
    noise: f32,
    rejection: Rejection,
) -> Verdict {
    let Some(stack) = stack else {
        return Verdict::Kept;
    };
    if left_out {
        return Verdict::LeftOut;
    }
    if !noise.is_finite() {
        return Verdict::NotFinite;
    }
    if !stack.clipped[k] {
        return Verdict::Kept;
    }
    if rejection != Rejection::MadSigma && rejection != Rejection::NoiseModel {
        return Verdict::Extreme;
    }
    // The round from which on every round's bounds exclude the value (the noise model's
    // later rounds can take a value back, so the first exclusion is not enough).
    let v = f64::from(noise);
    let last_in = stack.rounds.iter().rposition(|r| !r.excludes(v));
    Verdict::Round(last_in.map_or(1, |i| i + 2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithm::frame::{Samples, electron_table, image};
    use crate::algorithm::testing::stacked;
    use crate::params::RecipeVersion;

    /// Seven 6 × 5 ADU frames of bias with noise, a cosmic ray at (col 2, row 3) of frame
    /// 4, and pixel (col 4, row 0) far off in every frame (a dead pixel, masked by every
    /// frame's own clip).
    fn frames() -> Vec<Arc<Frame>> {
        let (rows, cols) = (5, 6);
        (0..7)
            .map(|k| {
                let adu: Vec<u16> = (0..rows * cols)
                    .map(|p| {
                        let noise = ((p * 7919 + k * 104_729) % 9) as u16;
                        match (p, k) {
                            (20, 4) => 3000,
                            (4, _) => 20,
                            _ => 1000 + noise,
                        }
                    })
                    .collect();
                Arc::new(Frame {
                    name: format!("b{}.fits", k + 1),
                    samples: Samples::adu(image(rows, cols, adu), electron_table(1.5)),
                    non_finite: 0,
                })
            })
            .collect()
    }

    #[test]
    fn the_inspector_gives_the_stacks_numbers_in_both_versions() {
        let frames = frames();
        for version in RecipeVersion::ALL {
            let (levels, master) = stacked(&frames, version);
            for row in 0..master.rows() {
                for col in 0..master.cols() {
                    let seen = inspect_pixel(&frames, &levels, &master, (col, row)).unwrap();
                    let stack = seen.stack.as_ref().unwrap();
                    let p = (row, col);
                    assert_eq!(
                        stack.combined.to_bits(),
                        master.combined[p].to_bits(),
                        "{version:?} {p:?}"
                    );
                    assert_eq!(seen.flux.to_bits(), master.flux[p].to_bits());
                    assert_eq!(seen.qual, master.qual[p]);
                    assert_eq!(Some(stack.used), master.used.as_ref().map(|u| u[p]));
                    assert_eq!(seen.bad_because.is_some(), master.qual[p] != 0);
                }
            }
            // The cosmic ray: frame 5 rejected in the first round, the others kept.
            let cosmic = inspect_pixel(&frames, &levels, &master, (2, 3)).unwrap();
            let verdicts: Vec<Verdict> = cosmic.frames.iter().map(|f| f.verdict).collect();
            let hit = if version.is_019() {
                // 0.19: the frame's own clip masked the hit, so the stack never saw it.
                Verdict::LeftOut
            } else {
                Verdict::Round(1)
            };
            assert_eq!(verdicts[4], hit, "{version:?}");
            assert!(cosmic.frames[4].frame_clipped);
            assert!(
                verdicts
                    .iter()
                    .enumerate()
                    .all(|(k, v)| k == 4 || *v == Verdict::Kept)
            );
            assert!(!cosmic.rounds().is_empty());
            assert_eq!(cosmic.qual, 0);
            // The dead pixel: every frame's clip masked it, so every value takes part and
            // the final mask takes the pixel.
            let dead = inspect_pixel(&frames, &levels, &master, (4, 0)).unwrap();
            assert!(dead.frames.iter().all(|f| f.frame_clipped));
            assert!(dead.frames.iter().all(|f| f.verdict != Verdict::LeftOut));
            assert_eq!(dead.bad_because, Some(BadBecause::EveryFrameMasked));
            assert_eq!(dead.qual, 1);
        }
    }

    #[test]
    fn a_round_is_the_one_after_which_the_value_stays_out() {
        let round = |lower, upper| ClipRound {
            centre: 0.0,
            spread: 1.0,
            lower,
            upper,
            kept: 0,
        };
        let stack = PixelStack {
            values: vec![5.0],
            clipped: vec![true],
            rounds: vec![round(-1.0, 1.0), round(-9.0, 9.0), round(-2.0, 2.0)],
            combined: 0.0,
            used: 0,
        };
        // Out in round 1, back in round 2, out again for good in round 3.
        assert_eq!(
            verdict(Some(&stack), 0, false, 5.0, Rejection::NoiseModel),
            Verdict::Round(3)
        );
        assert_eq!(
            verdict(Some(&stack), 0, true, 5.0, Rejection::NoiseModel),
            Verdict::LeftOut
        );
        assert_eq!(
            verdict(None, 0, false, 5.0, Rejection::MadSigma),
            Verdict::Kept
        );
    }
}
