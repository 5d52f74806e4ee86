//! QC per amplifier, where the profile names amplifiers: each one's level in the master,
//! its overscan level and how that moved through the set, its read noise from the
//! differences of consecutive frames in its data and in its overscan strip (the overscan
//! is the detector's noise without light or charge transfer from the data), their ratio,
//! and the step from the amplifier before it. Written as `MBIAS QC OUTi …` (ESO's
//! numbering of output ports, from 1).

use serde::Serialize;

use super::difference_ron::difference_ron;
use crate::algorithm::numerics::median_in_place;
use crate::algorithm::{MasterBias, standard};
use crate::detector::Section;
use crate::load::FrameSet;

/// One amplifier's figures. Levels in ADU (as an instrument scientist reads them against
/// the controller), noise in e-.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AmplifierQc {
    pub name: String,
    /// 1-based, in the profile's order: the `i` of `OUTi`.
    pub index: usize,
    /// e-/ADU the profile gives this amplifier (reported; the frames are converted with
    /// the set's gain, which the ADU figures below use).
    pub gain: f64,
    /// Median of the master over the amplifier's good pixels, ADU.
    pub level: f64,
    /// Median over the frames of each frame's overscan median, ADU.
    pub overscan_level: Option<f64>,
    /// Last frame's overscan median less the first's, ADU: a bias still settling.
    pub overscan_drift: Option<f64>,
    /// Read noise from consecutive frame differences in the data section, e-.
    pub ron: Option<f64>,
    /// The same in the overscan strip, e-.
    pub overscan_ron: Option<f64>,
    /// `ron / overscan_ron`: above 1, the data carry noise the overscan does not.
    pub ron_ratio: Option<f64>,
    /// This amplifier's level less the previous amplifier's, ADU (none for the first).
    pub step: Option<f64>,
}

impl AmplifierQc {
    /// The figures as (keyword tag, value, unit, header comment), for the product header
    /// and the tables.
    pub fn fields(&self) -> Vec<(&'static str, f64, &'static str, &'static str)> {
        let mut out = vec![
            (
                "LEVEL",
                self.level,
                "ADU",
                "Amplifier master median level [ADU]",
            ),
            ("GAIN", self.gain, "e-/ADU", "Amplifier gain [e-/ADU]"),
        ];
        let optional = [
            (
                "OVSC LEVEL",
                self.overscan_level,
                "ADU",
                "Overscan median level [ADU]",
            ),
            (
                "OVSC DRIFT",
                self.overscan_drift,
                "ADU",
                "Overscan level last - first frame",
            ),
            (
                "RON",
                self.ron,
                "e-",
                "Amplifier RON from frame differences [e-]",
            ),
            (
                "OVSC RON",
                self.overscan_ron,
                "e-",
                "Overscan RON from frame differences",
            ),
            ("RON RATIO", self.ron_ratio, "", "Data RON / overscan RON"),
            (
                "STEP",
                self.step,
                "ADU",
                "Level less the previous amplifier's [ADU]",
            ),
        ];
        out.extend(
            optional
                .into_iter()
                .filter_map(|(tag, v, unit, comment)| Some((tag, v?, unit, comment))),
        );
        out
    }

    /// The header keyword of a field, without `HIERARCH`.
    pub fn keyword(&self, tag: &str) -> String {
        format!("MBIAS QC OUT{} {tag}", self.index)
    }
}

/// The pixels of `section` of a row-major image `cols` wide, by index within the section.
fn in_section(section: &Section, cols: usize) -> impl Fn(usize) -> usize + '_ {
    let width = section.cols.len().max(1);
    move |i| (section.rows.start + i / width) * cols + section.cols.start + i % width
}

/// The median of finite values.
fn median(values: impl Iterator<Item = f64>) -> Option<f64> {
    let mut values: Vec<f64> = values.filter(|v| v.is_finite()).collect();
    median_in_place(&mut values)
}

/// Per-amplifier QC of `master` stacked from `set` (empty when the profile names no
/// amplifiers).
pub fn amplifier_qc(set: &FrameSet, master: &MasterBias) -> Vec<AmplifierQc> {
    let cols = master.cols();
    // The frames hold ADU × the set's gain: that gain takes them back to ADU.
    let gain = set.plan.gain;
    let (flux, qual) = (standard(&master.flux), standard(&master.qual));
    let mut previous: Option<f64> = None;
    set.plan
        .amplifiers
        .iter()
        .enumerate()
        .map(|(a, amp)| {
            let data = &amp.data;
            let pixels = data.rows.len() * data.cols.len();
            let at = in_section(data, cols);
            let level = median(
                (0..pixels)
                    .map(&at)
                    .filter(|&p| qual[p] == 0)
                    .map(|p| f64::from(flux[p]) / gain),
            )
            .unwrap_or(f64::NAN);
            let ron = difference_ron(
                set.frames.len(),
                data.rows.len(),
                data.cols.len(),
                |k, i| set.frames[k].value(at(i)),
            )
            .map(|d| d.sigma());
            let strips: Vec<&ndarray::Array2<f32>> = set
                .overscans
                .iter()
                .filter_map(|frame| frame.get(a)?.as_ref())
                .collect();
            let strip_levels: Vec<f64> = strips
                .iter()
                .filter_map(|s| median(s.iter().map(|&v| f64::from(v))))
                .collect();
            let overscan_level = median(strip_levels.iter().copied());
            let overscan_drift = match strip_levels.as_slice() {
                [first, .., last] => Some(last - first),
                _ => None,
            };
            let overscan_ron = strips.first().and_then(|first| {
                let (rows, width) = first.dim();
                difference_ron(strips.len(), rows, width, |k, i| {
                    (f64::from(standard(strips[k])[i]) * gain) as f32
                })
                .map(|d| d.sigma())
            });
            let step = previous.map(|p| level - p);
            previous = Some(level);
            AmplifierQc {
                name: amp.name.clone(),
                index: a + 1,
                gain: amp.gain,
                level,
                overscan_level,
                overscan_drift,
                ron,
                overscan_ron,
                ron_ratio: ron.zip(overscan_ron).map(|(d, o)| d / o),
                step,
            }
        })
        .collect()
}
