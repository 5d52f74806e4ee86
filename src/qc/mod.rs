//! Quality-control values with soxspipe's definitions (spec/soxspipe-mbias.md §5), mbias's
//! own values beyond them, and the pass/fail check against `qc-acceptable-ranges`.

mod amplifiers;
mod bins;
mod definitions;
mod difference_ron;
mod distribution;
mod drift;
mod extra;
mod fpn;
mod pattern;

pub use amplifiers::{AmplifierQc, amplifier_qc};
pub use definitions::{DEFINITIONS, Definition, MBIAS_QC, SOXSPIPE_QC, definition, report_order};
pub use difference_ron::{Cores, DifferenceRon, difference_ron};
pub use distribution::{
    BiasDistribution, RawSide, bias_distribution, bias_distribution_with, raw_side,
};
pub use drift::{LevelDrift, level_drift};
pub use extra::{FrameField, FrameQcValues, frame_keyword, parse_frame_keyword};
pub use fpn::fpn_ratio;
pub use pattern::{PatternPeak, pattern_peak};

use rayon::prelude::*;
use serde::Serialize;

use crate::algorithm::numerics::numpy_sum;
use crate::algorithm::{Frame, MasterBias, Samples, electrons_of, standard};
use crate::load::FrameSet;
use crate::params::{QcRange, QcRanges, RecipeVersion};
use crate::verify::Plan;
use difference_ron::visited_pixels;

/// The name a QC value's acceptable range has in `qc-acceptable-ranges`: soxspipe's
/// kebab-case (`MASTER RON` → `master-ron`).
pub fn range_key(name: &str) -> String {
    name.to_ascii_lowercase().replace(' ', "-")
}

/// Every name a range can have: one per QC value mbias can report. A range under any
/// other name never applies, so settings name it as a likely typo.
pub fn range_names() -> Vec<String> {
    DEFINITIONS.iter().map(|d| range_key(d.name)).collect()
}

/// Who defines a QC value. The header namespace follows it, so that a value mbias adds is
/// never read by ESO tools as one of soxspipe's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum QcOrigin {
    /// Written as `HIERARCH ESO QC <name>`.
    Soxspipe,
    /// Written as `HIERARCH MBIAS QC <name>`.
    Mbias,
}

impl QcOrigin {
    /// The keyword prefix, without `HIERARCH`.
    pub fn prefix(self) -> &'static str {
        match self {
            QcOrigin::Soxspipe => "ESO QC ",
            QcOrigin::Mbias => "MBIAS QC ",
        }
    }
}

/// One QC value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QcValue {
    /// soxspipe's name for its values, mbias's own for the rest.
    pub name: &'static str,
    pub origin: QcOrigin,
    pub value: f64,
    pub unit: &'static str,
    /// The header comment (soxspipe's own for its values).
    pub comment: &'static str,
    /// Whether soxspipe writes it under `ESO QC` ([`Definition::in_header`]).
    pub in_header: bool,
    pub range: Option<QcRange>,
    /// `None` when no range applies.
    pub pass: Option<bool>,
    /// Integer-valued QCs are written without a decimal point.
    pub integer: bool,
}

impl QcValue {
    /// The header keyword, without `HIERARCH`: `ESO QC` for what soxspipe writes there,
    /// `MBIAS QC` for the rest (see [`Definition::in_header`]).
    pub fn keyword(&self) -> String {
        let namespace = if self.in_header {
            self.origin
        } else {
            QcOrigin::Mbias
        };
        format!("{}{}", namespace.prefix(), self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QcReport {
    pub values: Vec<QcValue>,
    /// Per raw frame, in observing order.
    pub frames: Vec<FrameQcValues>,
    /// Per amplifier, where the profile names amplifiers.
    pub amplifiers: Vec<AmplifierQc>,
}

impl QcReport {
    pub fn get(&self, name: &str) -> Option<&QcValue> {
        self.values.iter().find(|v| v.name == name)
    }

    pub fn failures(&self) -> impl Iterator<Item = &QcValue> {
        self.values.iter().filter(|v| v.pass == Some(false))
    }
}

/// Per-frame QC inputs that do not depend on the clipping parameters, computed once per
/// set so a re-stack does not pay for the FFTs again.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameQc {
    pub fpn_ratios: Vec<f64>,
    /// `None` for a single frame or a window smaller than 9×9.
    pub difference_ron: Option<DifferenceRon>,
}

pub fn frame_qc(set: &FrameSet) -> FrameQc {
    let Some(frames) = set.resident() else {
        return frame_qc_of(set, Vec::new());
    };
    // The difference RON reads its windows on one core while the FPN ratios take both:
    // after it, the last frames' FFTs would otherwise run with a core idle.
    let (fpn_ratios, difference_ron) = rayon::join(
        || frames.par_iter().map(|f| frame_fpn(set, f)).collect(),
        || set_difference_ron(set, Cores::One),
    );
    FrameQc {
        fpn_ratios,
        difference_ron,
    }
}

/// The frame QC of `set` whose frames' FPN ratios ([`frame_fpn`]) are known: a set too
/// large for memory measures them while it reads each frame once.
pub fn frame_qc_of(set: &FrameSet, fpn_ratios: Vec<f64>) -> FrameQc {
    FrameQc {
        fpn_ratios,
        difference_ron: set_difference_ron(set, Cores::All),
    }
}

/// The difference RON of `set`'s frames.
fn set_difference_ron(set: &FrameSet, cores: Cores) -> Option<DifferenceRon> {
    let (rows, cols) = set.shape();
    difference_ron(set.frame_count(), rows, cols, |f, p| set.value(f, p), cores)
}

/// One frame of `set`'s FPN ratio.
pub fn frame_fpn(set: &FrameSet, frame: &Frame) -> f64 {
    let (rows, cols) = set.shape();
    let bad = set.bad_pixels.as_ref().map(|m| standard(&m.bad));
    let row_of = |y: usize| y * cols..(y + 1) * cols;
    match &frame.samples {
        Samples::Electrons(data) if frame.non_finite > 0 => {
            // A NaN would spread through the whole FFT: such pixels count as the frame's
            // mean, which adds no pattern.
            let data = standard(data);
            let fill =
                crate::algorithm::numerics::mean_std_f64(data).map_or(0.0, |(m, _)| m as f32);
            let row = |y: usize, line: &mut [f32]| {
                for (e, &v) in line.iter_mut().zip(&data[row_of(y)]) {
                    *e = if v.is_finite() { v } else { fill };
                }
            };
            fpn_ratio(row, rows, cols, bad)
        }
        Samples::Electrons(data) => {
            let data = standard(data);
            let row = |y: usize, line: &mut [f32]| line.copy_from_slice(&data[row_of(y)]);
            fpn_ratio(row, rows, cols, bad)
        }
        Samples::Adu { adu, table, .. } => {
            let (adu, gain) = (standard(adu), table.gain());
            // The table's values, computed in vector lanes rather than looked up.
            let row = |y: usize, line: &mut [f32]| {
                for (e, &a) in line.iter_mut().zip(&adu[row_of(y)]) {
                    *e = electrons_of(a, gain);
                }
            };
            fpn_ratio(row, rows, cols, bad)
        }
    }
}

/// Per frame of `plan`, the pixels of the science window the frame QC and the amplifier
/// QC read (the random windows of the difference RONs), sorted: all a set too large for
/// memory keeps of each frame for them, beside its first frame.
pub fn sampled_pixels(plan: &Plan) -> Vec<Vec<usize>> {
    let frames = plan.frames.len();
    let (rows, cols) = plan.shape();
    let mut pixels = visited_pixels(frames, rows, cols);
    for amp in &plan.amplifiers {
        let at = amplifiers::in_section(&amp.data, cols);
        let local = visited_pixels(frames, amp.data.rows.len(), amp.data.cols.len());
        for (all, local) in pixels.iter_mut().zip(local) {
            all.extend(local.into_iter().map(&at));
        }
    }
    for frame in &mut pixels {
        frame.sort_unstable();
        frame.dedup();
    }
    pixels
}

/// Slope of a degree-1 least-squares fit (`np.polyfit(x, y, 1)[0]`).
fn slope(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
    }
    sxy / sxx
}

/// soxspipe's STRUCT axis: in 0.17 `np.linspace(0, n, n, dtype=int)`, i.e. 0, 1, …,
/// n−2, n; in 0.19 `np.arange(n)`.
fn struct_axis(n: usize, version: RecipeVersion) -> Vec<f64> {
    (0..n)
        .map(|i| {
            if i + 1 == n && n > 1 && !version.is_019() {
                n as f64
            } else {
                i as f64
            }
        })
        .collect()
}

/// (STRUCTX, STRUCTY): slopes of the column and row sums of the unmasked master pixels,
/// summed as numpy sums the zero-filled masked array: a column sum (`axis=0`) adds the
/// rows one after the other, a row sum (`axis=1`) is numpy's pairwise sum of the row.
pub fn structure(master: &MasterBias) -> (f64, f64) {
    let (rows, cols) = master.flux.dim();
    let (qual, combined) = (standard(&master.qual), standard(&master.combined));
    let mean_level = master.mean_level;
    // The master as soxspipe sums it: float64 before the float32 cast, bad pixels 0.
    let value = |quality: u8, noise: f32| {
        if quality == 0 {
            f64::from(noise) + mean_level
        } else {
            0.0
        }
    };
    // Row `r`'s pixels among `columns`, as (quality, combined noise) slices.
    let row = |r: usize, columns: std::ops::Range<usize>| {
        let pixels = r * cols + columns.start..r * cols + columns.end;
        (&qual[pixels.clone()], &combined[pixels])
    };
    // Columns in strips on both cores, each strip's rows in order.
    const STRIP: usize = 256;
    let col_sums: Vec<f64> = (0..cols.div_ceil(STRIP))
        .into_par_iter()
        .flat_map_iter(|strip| {
            let columns = strip * STRIP..((strip + 1) * STRIP).min(cols);
            let mut sums = vec![0f64; columns.len()];
            for r in 0..rows {
                let (quality, noise) = row(r, columns.clone());
                for ((sum, &q), &v) in sums.iter_mut().zip(quality).zip(noise) {
                    *sum += value(q, v);
                }
            }
            sums
        })
        .collect();
    let row_sums: Vec<f64> = (0..rows)
        .into_par_iter()
        .map_init(
            || vec![0f64; cols],
            |values, r| {
                let (quality, noise) = row(r, 0..cols);
                for ((slot, &q), &v) in values.iter_mut().zip(quality).zip(noise) {
                    *slot = value(q, v);
                }
                numpy_sum(values)
            },
        )
        .collect();
    (
        slope(&struct_axis(cols, master.version), &col_sums),
        slope(&struct_axis(rows, master.version), &row_sums),
    )
}

/// All QC values of a master, checked against `ranges`: soxspipe's first, in soxspipe's
/// order, then mbias's own.
pub fn report(
    set: &FrameSet,
    master: &MasterBias,
    frames: &FrameQc,
    ranges: &QcRanges,
) -> QcReport {
    // The pattern's FFT is the dearest QC of a re-stack; the STRUCT sums run beside it,
    // and so does 0.19's MASTER RON, a chain of adds that keeps one core alone.
    let (master_ron, ((structx, structy), pattern)) = rayon::join(
        || master.master_ron(),
        || rayon::join(|| structure(master), || extra::master_pattern(master)),
    );
    let bad = master.bad_pixels();
    let npix = master.flux.len().max(1);
    let fraction: f64 = format!("{:.6}", bad as f64 / npix as f64)
        .parse()
        .unwrap_or(f64::NAN);
    let fpn = frames.fpn_ratios.iter().copied().fold(f64::NAN, f64::max);
    let mut values = vec![
        QcValue::new("MBIAS MEDIAN", master.median_level),
        QcValue::new("RAW RON", master.raw_ron),
        QcValue::new("MASTER RON", master_ron),
        QcValue::new("FPN FRACMAX", fpn),
        QcValue::new("STRUCTX", structx),
        QcValue::new("STRUCTY", structy),
        QcValue::new("BADPIX NUM", bad as f64),
        QcValue::new("BADPIX FRAC", fraction),
    ];
    // soxspipe reads the temperatures of the last prepared frame.
    if let Some(last) = set.plan.frames.last() {
        let header = last.merged_header();
        for (name, keyword) in &set.plan.profile.temperatures {
            if let Some(t) = header.number(keyword) {
                values.push(QcValue::new(name, t));
            }
        }
    }
    if master.version.is_019() && master.frames.len() < 2 {
        // soxspipe 0.19 measures RAW RON from two frames; a single frame gets no card.
        values.retain(|v| v.name != "RAW RON");
    }
    values.extend(extra::values(master, frames.difference_ron, pattern));
    for v in &mut values {
        v.range = ranges.get(&range_key(v.name)).copied();
        v.pass = v.range.map(|r| r.passes(v.value));
    }
    QcReport {
        values,
        frames: extra::frame_values(master),
        amplifiers: amplifier_qc(set, master),
    }
}

impl QcValue {
    /// The value named `name`, as [`DEFINITIONS`] defines it, not yet checked against a
    /// range. A name missing from the table (a test catches that) is mbias's, unitless.
    fn new(name: &'static str, value: f64) -> QcValue {
        let d = definition(name).copied().unwrap_or(Definition {
            name,
            origin: QcOrigin::Mbias,
            unit: "",
            comment: "",
            in_header: true,
            integer: false,
        });
        QcValue {
            name,
            origin: d.origin,
            value,
            unit: d.unit,
            comment: d.comment,
            in_header: d.in_header,
            range: None,
            pass: None,
            integer: d.integer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn struct_axis_ends_at_n_like_numpy_linspace() {
        let old = RecipeVersion::Soxspipe017;
        assert_eq!(struct_axis(4, old), vec![0.0, 1.0, 2.0, 4.0]);
        assert_eq!(struct_axis(1, old), vec![0.0]);
        let new = RecipeVersion::Soxspipe019;
        assert_eq!(struct_axis(4, new), vec![0.0, 1.0, 2.0, 3.0]);
    }

    #[test]
    fn slope_of_a_line() {
        let x = [0.0, 1.0, 2.0, 3.0];
        let y = [1.0, 3.0, 5.0, 7.0];
        assert!((slope(&x, &y) - 2.0).abs() < 1e-12);
    }
}
