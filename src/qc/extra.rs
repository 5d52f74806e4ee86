//! mbias's QC values beyond soxspipe's (spec/product.md §2.5).
//!
//! They carry their own names and the `MBIAS QC` header namespace: soxspipe's `RAW RON`,
//! for instance, is a single-frame std that counts fixed pattern as noise, and a
//! difference RON under that name would silently change what ESO tools compare.

use serde::Serialize;

use super::{DifferenceRon, PatternPeak, QcOrigin, QcValue, level_drift, pattern_peak};
use crate::algorithm::numerics::median_in_place;
use crate::algorithm::{MasterBias, standard};

/// What one raw frame looked like in the stack.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameQcValues {
    pub name: String,
    /// Clipped mean level, e-.
    pub level: f64,
    /// Share of the frame's pixels the stack clip rejected: a frame far above the others
    /// is an outlier frame (a light leak, a bad readout) rather than noisy pixels.
    pub rejected_fraction: f64,
}

/// The per-frame values written to the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameField {
    Level,
    RejectedFraction,
}

impl FrameField {
    pub const ALL: [FrameField; 2] = [FrameField::Level, FrameField::RejectedFraction];

    fn tag(self) -> &'static str {
        match self {
            FrameField::Level => "LEVEL",
            FrameField::RejectedFraction => "REJFRAC",
        }
    }

    /// The header comment.
    pub fn comment(self) -> &'static str {
        match self {
            FrameField::Level => "[e-] Clipped mean level of raw frame",
            FrameField::RejectedFraction => "Fraction rejected by the stack clip",
        }
    }

    pub fn of(self, frame: &FrameQcValues) -> f64 {
        match self {
            FrameField::Level => frame.level,
            FrameField::RejectedFraction => frame.rejected_fraction,
        }
    }
}

/// `MBIAS QC FRAME<i> <field>` (no `HIERARCH`) for the frame at 0-based `position` in
/// observing order; `i` is 1-based like soxspipe's `ESO PRO REC1 RAW<i>`, so the two
/// keywords of one frame share their number.
pub fn frame_keyword(position: usize, field: FrameField) -> String {
    format!(
        "{}FRAME{} {}",
        QcOrigin::Mbias.prefix(),
        position + 1,
        field.tag()
    )
}

/// The inverse of [`frame_keyword`]: `(0-based position, field)`.
pub fn parse_frame_keyword(key: &str) -> Option<(usize, FrameField)> {
    let rest = key
        .strip_prefix(QcOrigin::Mbias.prefix())?
        .strip_prefix("FRAME")?;
    let (number, tag) = rest.split_once(' ')?;
    let position = number.parse::<usize>().ok()?.checked_sub(1)?;
    let field = FrameField::ALL.into_iter().find(|f| f.tag() == tag)?;
    Some((position, field))
}

/// The strongest periodic pattern of the master's noise frame, bad pixels left out.
pub(super) fn master_pattern(master: &MasterBias) -> Option<PatternPeak> {
    pattern_peak(
        standard(&master.combined),
        master.rows(),
        master.cols(),
        Some(standard(&master.qual)),
    )
}

/// mbias's values, in [`super::MBIAS_QC`] order; a value the set cannot give (one frame has no
/// difference and no trend) is left out rather than reported as a number.
pub(super) fn values(
    master: &MasterBias,
    ron: Option<DifferenceRon>,
    pattern: Option<PatternPeak>,
) -> Vec<QcValue> {
    let levels: Vec<f64> = master.frames.iter().map(|f| f.level).collect();
    let mut out = Vec::new();
    let mut medians: Vec<f64> = master.frames.iter().map(|f| f.median).collect();
    if let Some(m) = median_in_place(&mut medians).filter(|m| m.is_finite()) {
        // soxspipe's MBIAS MEDIAN is the median of clipped *means*; on a frame with hot
        // columns or a gradient the mean sits ADUs away from where most pixels are.
        out.push(QcValue::new("LEVEL MEDIAN", m));
    }
    // What the two mean, and why they are robust: `super::difference_ron`.
    if let Some(r) = ron {
        out.push(QcValue::new("RON DIFF", r.ron));
        out.push(QcValue::new("RON DIFF ERR", r.ronerr));
    }
    if let Some(d) = level_drift(&levels) {
        out.push(QcValue::new("LEVEL DRIFT", d.slope_per_frame));
        out.push(QcValue::new("LEVEL RANGE", d.range));
    }
    if let Some(p) = pattern {
        out.push(QcValue::new("PATTERN FREQX", p.freq_x));
        out.push(QcValue::new("PATTERN FREQY", p.freq_y));
        out.push(QcValue::new("PATTERN AMP", p.amplitude));
    }
    out
}

/// Per-frame level and rejected fraction, in observing order.
pub(super) fn frame_values(master: &MasterBias) -> Vec<FrameQcValues> {
    let pixels = master.flux.len().max(1) as f64;
    master
        .frames
        .iter()
        .map(|f| FrameQcValues {
            name: f.name.clone(),
            level: f.level,
            rejected_fraction: f.stack_rejected as f64 / pixels,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_keywords_round_trip_and_count_from_one() {
        assert_eq!(frame_keyword(0, FrameField::Level), "MBIAS QC FRAME1 LEVEL");
        assert_eq!(
            frame_keyword(9, FrameField::RejectedFraction),
            "MBIAS QC FRAME10 REJFRAC"
        );
        for position in [0, 4, 120] {
            for field in FrameField::ALL {
                let key = frame_keyword(position, field);
                assert_eq!(parse_frame_keyword(&key), Some((position, field)), "{key}");
            }
        }
    }

    #[test]
    fn other_keywords_are_not_frame_keywords() {
        for key in [
            "MBIAS QC RON DIFF",
            "MBIAS QC FRAME0 LEVEL",
            "MBIAS QC FRAMEx LEVEL",
            "MBIAS QC FRAME1 NOISE",
            "ESO QC FRAME1 LEVEL",
        ] {
            assert_eq!(parse_frame_keyword(key), None, "{key}");
        }
    }
}
