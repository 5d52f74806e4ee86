//! Where a frame's whole-frame clip masked it: the final mask of the master takes the
//! pixels every frame masked, and soxspipe 0.19's stack clip leaves each frame's masked
//! values out.

use super::frame::{Frame, Samples, standard};
use super::frame_clip::ClipBounds;

/// Where one frame's whole-frame clip masked it, for the per-pixel test of the final
/// mask: a 16-bit frame compares its ADU value with the run of values the clip keeps (or
/// looks it up in a table made once, should the kept values not be one run), a float
/// frame compares with the float32 range its bounds keep.
pub enum FrameMask<'a> {
    Adu {
        adu: &'a [u16],
        masked: Vec<bool>,
        /// The kept ADU values `first..=first + span` when they are one run (electrons
        /// grow with ADU, so they are unless nothing is kept): two instructions a pixel
        /// instead of a table look-up.
        kept_run: Option<(u16, u16)>,
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
            Samples::Adu { adu, table, .. } => {
                let masked: Vec<bool> = table.iter().map(|&e| bounds.rejects(e)).collect();
                FrameMask::Adu {
                    adu: standard(adu),
                    kept_run: kept_run(&masked),
                    masked,
                }
            }
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
            FrameMask::Adu { adu, masked, .. } => masked[usize::from(adu[p])],
            FrameMask::Electrons { data, low, high } => !(*low <= data[p] && data[p] <= *high),
        }
    }

    /// The mask of pixels `range` eight at a time: `each(i, bits)` for the `i`-th eight
    /// (bit `j` for pixel `range.start + 8i + j`; the last may hold fewer).
    #[inline]
    pub fn bytes(&self, range: std::ops::Range<usize>, mut each: impl FnMut(usize, u8)) {
        match self {
            FrameMask::Adu {
                adu,
                kept_run: Some((first, span)),
                ..
            } => {
                let (first, span) = (*first, *span);
                for (i, eight) in adu[range].chunks(8).enumerate() {
                    each(i, pack(eight.iter().map(|&a| a.wrapping_sub(first) > span)));
                }
            }
            FrameMask::Adu { adu, masked, .. } => {
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

/// The unmasked values of a 16-bit table as `(first, last − first)` when they are one run.
fn kept_run(masked: &[bool]) -> Option<(u16, u16)> {
    let first = masked.iter().position(|&m| !m)?;
    let last = masked.iter().rposition(|&m| !m)?;
    let one_run = masked[first..=last].iter().all(|&m| !m);
    one_run.then(|| (first as u16, (last - first) as u16))
}

/// Up to eight flags as the bits of a byte, the first the lowest.
#[inline(always)]
fn pack(flags: impl Iterator<Item = bool>) -> u8 {
    flags
        .enumerate()
        .fold(0u8, |b, (j, m)| b | u8::from(m) << j)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_run_masks_what_the_table_masks() {
        assert_eq!(
            kept_run(&[true, true, false, false, false, true]),
            Some((2, 2))
        );
        assert_eq!(kept_run(&[false, true, false]), None);
        assert_eq!(kept_run(&[true; 4]), None);
        let adu: Vec<u16> = (0..203u32).map(|i| (i * 7919 % 23) as u16).collect();
        let masked: Vec<bool> = (0..1 << 16).map(|a| !(5..=17).contains(&a)).collect();
        let bytes = |mask: &FrameMask<'_>| {
            let mut out = Vec::new();
            mask.bytes(3..adu.len(), |_, b| out.push(b));
            out
        };
        let table = FrameMask::Adu {
            adu: &adu,
            masked: masked.clone(),
            kept_run: None,
        };
        let run = FrameMask::Adu {
            adu: &adu,
            kept_run: kept_run(&masked),
            masked,
        };
        assert_eq!(bytes(&run), bytes(&table));
        assert!(bytes(&run).iter().any(|&b| b != 0 && b != 0xFF));
    }
}
