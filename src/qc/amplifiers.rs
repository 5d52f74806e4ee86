//! QC per amplifier, where the profile names amplifiers: each one's level in the master,
//! its overscan level and how that moved through the set, its read noise from the
//! differences of consecutive frames in its data and in its overscan strip (the overscan
//! is the detector's noise without light or charge transfer from the data), their ratio,
//! the step from the amplifier before it, and its structure (the slopes of its column and
//! row means across its data). Written as `MBIAS QC OUTi …` (ESO's numbering of output
//! ports, from 1).

use serde::Serialize;

use super::difference_ron::difference_ron;
use crate::algorithm::numerics::finite_median as median;
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
    /// Slopes of the master's column means along x and of its row means along y over the
    /// amplifier's good pixels, e- per pixel: a gradient across the amplifier (soxspipe's
    /// STRUCTX/Y over the whole window, but per pixel rather than per column sum).
    pub gradient_x: Option<f64>,
    pub gradient_y: Option<f64>,
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
            (
                "GRADX",
                self.gradient_x,
                "e-/px",
                "Slope of the column means [e-/px]",
            ),
            (
                "GRADY",
                self.gradient_y,
                "e-/px",
                "Slope of the row means [e-/px]",
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
pub(super) fn in_section(section: &Section, cols: usize) -> impl Fn(usize) -> usize + '_ {
    let width = section.cols.len().max(1);
    move |i| (section.rows.start + i / width) * cols + section.cols.start + i % width
}

/// The slopes (e- per pixel) of the means of the good pixels of `section`'s columns and
/// of its rows, in a row-major master `cols` wide; `None` where fewer than two columns
/// (rows) have a good pixel.
fn gradients(
    section: &Section,
    cols: usize,
    flux: &[f32],
    qual: &[u8],
) -> (Option<f64>, Option<f64>) {
    let (height, width) = (section.rows.len(), section.cols.len());
    let mut by_col = vec![(0f64, 0usize); width];
    let mut by_row = vec![(0f64, 0usize); height];
    for (r, row) in by_row.iter_mut().enumerate() {
        let start = (section.rows.start + r) * cols + section.cols.start;
        for (c, col) in by_col.iter_mut().enumerate() {
            let p = start + c;
            if qual[p] == 0 && flux[p].is_finite() {
                let v = f64::from(flux[p]);
                *row = (row.0 + v, row.1 + 1);
                *col = (col.0 + v, col.1 + 1);
            }
        }
    }
    let slope_of = |means: &[(f64, usize)]| {
        let (x, y): (Vec<f64>, Vec<f64>) = means
            .iter()
            .enumerate()
            .filter(|(_, (_, n))| *n > 0)
            .map(|(i, (sum, n))| (i as f64, sum / *n as f64))
            .unzip();
        (x.len() > 1).then(|| super::slope(&x, &y))
    };
    (slope_of(&by_col), slope_of(&by_row))
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
                set.frame_count(),
                data.rows.len(),
                data.cols.len(),
                |k, i| set.value(k, at(i)),
                super::Cores::One,
            )
            .map(|d| d.sigma());
            let strips: Vec<&ndarray::Array2<f32>> = set
                .overscans
                .iter()
                .filter_map(|frame| frame.get(a)?.as_ref())
                .collect();
            let strip_levels: Vec<f64> = set.overscan_levels(a).into_iter().flatten().collect();
            let overscan_level = median(strip_levels.iter().copied());
            let overscan_drift = match strip_levels.as_slice() {
                [first, .., last] => Some(last - first),
                _ => None,
            };
            let overscan_ron = strips.first().and_then(|first| {
                let (rows, width) = first.dim();
                difference_ron(
                    strips.len(),
                    rows,
                    width,
                    |k, i| (f64::from(standard(strips[k])[i]) * gain) as f32,
                    super::Cores::One,
                )
                .map(|d| d.sigma())
            });
            let step = previous.map(|p| level - p);
            previous = Some(level);
            let (gradient_x, gradient_y) = gradients(data, cols, flux, qual);
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
                gradient_x,
                gradient_y,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradients_are_the_slopes_of_column_and_row_means_over_good_pixels() {
        // A 6 x 8 master; the amplifier is columns 2..7, rows 1..5, with 0.5 e- per
        // column and -0.25 e- per row, and one bad pixel far off the plane.
        let (rows, cols) = (6, 8);
        let mut flux: Vec<f32> = (0..rows * cols)
            .map(|p| 100.0 + 0.5 * (p % cols) as f32 - 0.25 * (p / cols) as f32)
            .collect();
        let mut qual = vec![0u8; rows * cols];
        flux[2 * cols + 3] = 5000.0;
        qual[2 * cols + 3] = 1;
        let section = Section {
            rows: 1..5,
            cols: 2..7,
        };
        // The bad pixel is left out (its row missing from one column mean moves that mean
        // by a fraction of a row step); counted, it would tilt both slopes by hundreds.
        let (x, y) = gradients(&section, cols, &flux, &qual);
        assert!((x.unwrap() - 0.5).abs() < 0.02, "{x:?}");
        assert!((y.unwrap() + 0.25).abs() < 0.02, "{y:?}");
        qual[2 * cols + 3] = 0;
        let (x, y) = gradients(&section, cols, &flux, &qual);
        assert!((x.unwrap() - 0.5).abs() > 10.0 && (y.unwrap() + 0.25).abs() > 10.0);
        let one_column = Section {
            rows: 0..6,
            cols: 4..5,
        };
        assert_eq!(gradients(&one_column, cols, &flux, &qual).0, None);
    }
}
