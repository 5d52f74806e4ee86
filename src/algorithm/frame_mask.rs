//! Where a frame's whole-frame clip masked it: the final mask of the master takes the
//! pixels every frame masked, and soxspipe 0.19's stack clip leaves each frame's masked
//! values out.

use super::frame::{Frame, Samples, standard};
use super::frame_clip::ClipBounds;

/// Where one frame's whole-frame clip masked it, for the per-pixel test of the final
/// mask: a 16-bit frame looks its ADU value up in a table made once, a float frame
/// compares with the float32 range its bounds keep.
pub enum FrameMask<'a> {
    Adu {
        adu: &'a [u16],
        masked: Vec<bool>,
    },
    Electrons {
        data: &'a [f32],
        low: f32,
        high: f32,
    },
}

impl<'a> FrameMask<'a> {
    pub fn new(frame: &'a Frame, bounds: &ClipBounds) -> FrameMask<'a> {
        match &frame.samples {
            Samples::Adu { adu, table, .. } => FrameMask::Adu {
                adu: standard(adu),
                masked: table.iter().map(|&e| bounds.rejects(e)).collect(),
            },
            Samples::Electrons(data) => {
                let (low, high) = bounds.kept_range();
                FrameMask::Electrons {
                    data: standard(data),
                    low,
                    high,
                }
            }
        }
    }

    #[inline]
    pub fn masks(&self, p: usize) -> bool {
        match self {
            FrameMask::Adu { adu, masked } => masked[usize::from(adu[p])],
            FrameMask::Electrons { data, low, high } => !(*low <= data[p] && data[p] <= *high),
        }
    }

    /// The mask of pixels `range` eight at a time: `each(i, bits)` for the `i`-th eight
    /// (bit `j` for pixel `range.start + 8i + j`; the last may hold fewer).
    #[inline]
    pub fn bytes(&self, range: std::ops::Range<usize>, mut each: impl FnMut(usize, u8)) {
        match self {
            FrameMask::Adu { adu, masked } => {
                for (i, eight) in adu[range].chunks(8).enumerate() {
                    each(i, pack(eight.iter().map(|&a| masked[usize::from(a)])));
                }
            }
            FrameMask::Electrons { data, low, high } => {
                for (i, eight) in data[range].chunks(8).enumerate() {
                    each(i, pack(eight.iter().map(|v| !(low <= v && v <= high))));
                }
            }
        }
    }
}

/// Up to eight flags as the bits of a byte, the first the lowest.
#[inline(always)]
fn pack(flags: impl Iterator<Item = bool>) -> u8 {
    flags
        .enumerate()
        .fold(0u8, |b, (j, m)| b | u8::from(m) << j)
}
