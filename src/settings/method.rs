//! How the stack rejects outliers and combines the survivors: soxspipe's way, and the
//! alternatives that suit small stacks better (spec/algorithms-and-anchors.md A4).

use serde::Serialize;

/// Per-pixel outlier rejection across the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rejection {
    /// soxspipe: median ± σ × 1.4826 × MAD of the pixel's own values. On a stack of five
    /// the MAD is so noisy that about a tenth of good samples go.
    MadSigma,
    /// IRAF `ccdclip` style: median ± σ × the read noise, measured once from frame
    /// differences; rejects cosmic rays and little else.
    NoiseModel,
}

/// How the surviving values of a pixel become the master's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Combine {
    /// soxspipe: the mean (the least noisy for Gaussian read noise).
    Mean,
    /// The median: robust when rejection is off or weak, √(π/2) noisier.
    Median,
}

impl Rejection {
    pub const ALL: [Rejection; 2] = [Rejection::MadSigma, Rejection::NoiseModel];

    pub fn name(self) -> &'static str {
        match self {
            Rejection::MadSigma => "mad-sigma",
            Rejection::NoiseModel => "noise-model",
        }
    }

    pub fn parse(text: &str) -> Option<Rejection> {
        Rejection::ALL
            .into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(text.trim()))
    }
}

impl Combine {
    pub const ALL: [Combine; 2] = [Combine::Mean, Combine::Median];

    pub fn name(self) -> &'static str {
        match self {
            Combine::Mean => "mean",
            Combine::Median => "median",
        }
    }

    pub fn parse(text: &str) -> Option<Combine> {
        Combine::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(text.trim()))
    }
}
