//! The product's ERRS image, held as its few distinct values.
//!
//! A pixel's uncertainty depends only on how its stack ended: masked (the RAW RON), a
//! single frame passed through (its read noise), or stacked from `n` surviving frames.
//! The master keeps QUAL and the counts anyway, so ERRS is looked up from them wherever
//! it is read (`MasterBias::errs_at`, `errs_into` and `errs_image`: the product's
//! writer, the console's pixel inspector) instead of being a frame-sized image of its
//! own: for a 4096² master that image was 64 MiB of fresh pages written once and read
//! once, and leaving it out took the peak memory of `mbias stack` on 11 such frames from
//! 414 to 350 MiB and its time by 3 % (farm-bench, 2026-12-06).

use super::stack::{StackMethod, stacked_uncertainty};
use crate::params::Numerics;

/// The ERRS value of a pixel, by how its stack ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Errs {
    /// A masked pixel: the RAW RON.
    masked: f32,
    /// A single frame passed through: its read noise.
    unstacked: f32,
    /// A stacked pixel, by how many frames survived its clip.
    by_count: Vec<f32>,
}

impl Errs {
    /// The values for a stack of `frames` frames with read noise `ron` (e-), whose RAW
    /// RON is `raw_ron`.
    pub fn new(
        frames: usize,
        ron: f64,
        raw_ron: f64,
        numerics: Numerics,
        method: StackMethod,
    ) -> Errs {
        let ron = ron as f32;
        Errs {
            masked: raw_ron as f32,
            unstacked: ron,
            by_count: (0..=frames as u16)
                .map(|n| stacked_uncertainty(ron, n, numerics, method.combine))
                .collect(),
        }
    }

    /// A pixel's value: `masked`, or kept by `used` frames (`None`: not stacked).
    #[inline(always)]
    fn of(&self, masked: bool, used: Option<u16>) -> f32 {
        match (masked, used) {
            (true, _) => self.masked,
            (false, Some(n)) => self.by_count[usize::from(n)],
            (false, None) => self.unstacked,
        }
    }

    /// The values of pixels with these `qual` flags and `used` counts (absent: a single
    /// frame), written into `out` (as long as `qual`).
    pub fn fill(&self, qual: &[u8], used: Option<&[u16]>, out: &mut [f32]) {
        match used {
            Some(used) => {
                for ((e, &q), &n) in out.iter_mut().zip(qual).zip(used) {
                    *e = self.of(q != 0, Some(n));
                }
            }
            None => {
                for (e, &q) in out.iter_mut().zip(qual) {
                    *e = self.of(q != 0, None);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pixels_errs_follows_how_its_stack_ended() {
        let method = StackMethod::SOXSPIPE;
        for numerics in [Numerics::Soxspipe, Numerics::Exact] {
            let errs = Errs::new(3, 4.0, 5.5, numerics, method);
            // Masked: the RAW RON, however many frames the stack kept.
            assert_eq!(errs.of(true, Some(2)), 5.5);
            assert_eq!(errs.of(true, None), 5.5);
            // Stacked: the read noise combined over the frames kept.
            for n in 0..=3 {
                let expected = stacked_uncertainty(4.0, n, numerics, method.combine);
                assert_eq!(errs.of(false, Some(n)).to_bits(), expected.to_bits());
            }
            // A single frame passed through: its read noise.
            assert_eq!(errs.of(false, None), 4.0);
            let mut out = [0f32; 3];
            errs.fill(&[0, 1, 0], Some(&[3, 3, 1]), &mut out);
            assert_eq!(out, [errs.of(false, Some(3)), 5.5, errs.of(false, Some(1))]);
            errs.fill(&[1, 0, 0], None, &mut out);
            assert_eq!(out, [5.5, 4.0, 4.0]);
        }
    }
}
