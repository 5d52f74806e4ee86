//! Overscan correction: each frame's amplifiers less the level their own overscan strip
//! read in the same readout, before anything is stacked — what ccdproc's
//! `subtract_overscan`, IRAF's ccdproc and PypeIt do, and soxspipe does not (its default,
//! `none`, leaves the frames as they are).

use ndarray::Array2;

use crate::algorithm::numerics::finite_median;
use crate::detector::OverscanMethod;
use crate::verify::AmplifierPlan;

/// Rows on each side of a row whose strip medians the line-by-line method smooths over.
const LINE_HALF_WINDOW: usize = 4;

/// σ of the mean method's clip, and its rounds at most.
const MEAN_CLIP_SIGMA: f64 = 3.0;
const MEAN_CLIP_ROUNDS: usize = 10;

fn median(values: impl Iterator<Item = f64>) -> f64 {
    finite_median(values).unwrap_or(f64::NAN)
}

/// The mean of `values` after rejecting, round by round, those more than 3σ from the mean
/// of the values kept so far.
fn clipped_mean(values: &[f64]) -> f64 {
    let mut kept: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    for _ in 0..MEAN_CLIP_ROUNDS {
        let n = kept.len() as f64;
        let mean = kept.iter().sum::<f64>() / n;
        let std = (kept.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
        let before = kept.len();
        kept.retain(|v| (v - mean).abs() <= MEAN_CLIP_SIGMA * std);
        if kept.len() == before || kept.is_empty() {
            return mean;
        }
    }
    kept.iter().sum::<f64>() / kept.len() as f64
}

/// The level (ADU) `method` takes from `strip` for each of its rows; `None` for `none`.
fn strip_levels(strip: &Array2<f32>, method: OverscanMethod) -> Option<Vec<f64>> {
    let rows = strip.nrows();
    let all = || strip.iter().map(|&v| f64::from(v));
    let constant = |level: f64| Some(vec![level; rows]);
    match method {
        OverscanMethod::None => None,
        OverscanMethod::Median => constant(median(all())),
        OverscanMethod::Mean => constant(clipped_mean(&all().collect::<Vec<_>>())),
        OverscanMethod::Line => {
            let lines: Vec<f64> = strip
                .rows()
                .into_iter()
                .map(|row| median(row.iter().map(|&v| f64::from(v))))
                .collect();
            Some(
                (0..rows)
                    .map(|r| {
                        let from = r.saturating_sub(LINE_HALF_WINDOW);
                        let to = (r + LINE_HALF_WINDOW + 1).min(rows);
                        median(lines[from..to].iter().copied())
                    })
                    .collect(),
            )
        }
    }
}

/// Subtracts from `electrons` (rows `held` of the science window, `cols` wide, whose
/// first row is row `window_top` of the turned frame) each amplifier's overscan level,
/// row by row, in electrons (`gain` e-/ADU, as the frame was converted). `strips[a]` is
/// amplifier `a`'s strip; an amplifier without one is left as it is.
pub fn subtract(
    electrons: &mut [f32],
    (cols, held): (usize, std::ops::Range<usize>),
    window_top: usize,
    amplifiers: &[AmplifierPlan],
    strips: &[Option<Array2<f32>>],
    (method, gain): (OverscanMethod, f64),
) {
    for (amp, strip) in amplifiers.iter().zip(strips) {
        let Some((strip, area)) = strip.as_ref().zip(amp.overscan.as_ref()) else {
            continue;
        };
        let Some(levels) = strip_levels(strip, method) else {
            continue;
        };
        let rows = amp.data.rows.start.max(held.start)..amp.data.rows.end.min(held.end);
        for r in rows {
            // The strip row read in the same line of the readout, where there is one.
            let frame_row = r + window_top;
            let line = frame_row
                .saturating_sub(area.rows.start)
                .min(levels.len().saturating_sub(1));
            let Some(&level) = levels.get(line) else {
                continue;
            };
            let offset = level * gain;
            let start = (r - held.start) * cols;
            for e in &mut electrons[start + amp.data.cols.start..start + amp.data.cols.end] {
                *e = (f64::from(*e) - offset) as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_method_takes_its_level_from_the_strip() {
        // Four rows of three: a ramp 100, 101, 102, 103 by row and one hot value.
        let mut strip = Array2::from_shape_fn((4, 3), |(r, _)| 100.0 + r as f32);
        strip[[2, 1]] = 500.0;
        assert_eq!(strip_levels(&strip, OverscanMethod::None), None);
        assert_eq!(
            strip_levels(&strip, OverscanMethod::Median).unwrap(),
            vec![101.5; 4]
        );
        let mean = strip_levels(&strip, OverscanMethod::Mean).unwrap()[0];
        // The hot value is clipped: the mean of the other eleven.
        assert!((mean - 1116.0 / 11.0).abs() < 1e-9, "{mean}");
        // Line by line: each row's median (100, 101, 102, 103), smoothed over ±4 rows.
        assert_eq!(
            strip_levels(&strip, OverscanMethod::Line).unwrap(),
            vec![101.5; 4]
        );
        // Twenty rows of a ramp 0, 1, … 19: the running median follows it, row by row,
        // where the window is whole, and holds at the ends.
        let ramp = Array2::from_shape_fn((20, 3), |(r, _)| r as f32);
        let line = strip_levels(&ramp, OverscanMethod::Line).unwrap();
        assert_eq!(line[10], 10.0);
        assert_eq!(line[4], 4.0);
        assert_eq!(line[0], 2.0, "rows 0–4");
        assert_eq!(line[19], 17.0, "rows 15–19");
    }
}
