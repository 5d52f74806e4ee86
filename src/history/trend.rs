//! Tonight against the nights before: each QC's series per setup and amplifier, its
//! long-term median and robust spread, tonight's deviation in units of that spread, and a
//! score in the manner of ESO's health check (within limits, near them, outside).

use std::path::PathBuf;

use serde::Serialize;

use super::entry::Setup;
use super::store::StoredValue;
use crate::algorithm::numerics::{MAD_TO_STD, median_in_place};
use crate::params::QcRange;

/// One product's value in a series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    pub night: String,
    pub mjd: Option<f64>,
    pub value: f64,
    pub product: PathBuf,
}

/// One QC of one setup's image (an amplifier of a multi-extension product, or the whole
/// image) over the nights, in observing order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    pub setup: Setup,
    /// The amplifier (extension) name; empty for a single-image product.
    pub extension: String,
    pub name: String,
    pub points: Vec<Point>,
}

/// The series of `values`, which come ordered by setup, extension, name, then night.
pub fn series(values: Vec<StoredValue>) -> Vec<Series> {
    let mut all: Vec<Series> = Vec::new();
    for v in values {
        let point = Point {
            night: v.product.night,
            mjd: v.product.mjd,
            value: v.value,
            product: v.product.path,
        };
        match all.last_mut() {
            Some(s) if s.setup == v.setup && s.extension == v.extension && s.name == v.name => {
                s.points.push(point)
            }
            _ => all.push(Series {
                setup: v.setup,
                extension: v.extension,
                name: v.name,
                points: vec![point],
            }),
        }
    }
    all
}

/// How tonight's value stands against the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Score {
    /// Within `near` robust σ of the long-term median, and inside the QC's range.
    Within,
    /// Between `near` and `outside` robust σ away.
    Near,
    /// More than `outside` robust σ away, or outside the QC's acceptable range.
    Outside,
    /// Too few earlier nights to say (and inside the QC's range, if it has one).
    New,
}

impl Score {
    pub fn name(self) -> &'static str {
        match self {
            Score::Within => "within",
            Score::Near => "near",
            Score::Outside => "outside",
            Score::New => "new",
        }
    }
}

/// Where the scores change, in robust σ of the history.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Limits {
    pub near: f64,
    pub outside: f64,
    /// Earlier values needed before a deviation means anything.
    pub minimum_history: usize,
}

impl Default for Limits {
    /// 3 σ and 5 σ: a normal QC value leaves 3 σ once in 370 nights, 5 σ practically never.
    fn default() -> Limits {
        Limits {
            near: 3.0,
            outside: 5.0,
            minimum_history: 3,
        }
    }
}

/// One series judged: tonight is its last point, the history every point before it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trend {
    #[serde(flatten)]
    pub series: Series,
    /// Median of the history's finite values.
    pub median: Option<f64>,
    /// 1.4826 × the history's median absolute deviation: its robust standard deviation.
    pub spread: Option<f64>,
    pub tonight: Option<Point>,
    /// (tonight − median) / spread; infinite when the history never varied and tonight does.
    pub deviation: Option<f64>,
    pub score: Score,
    /// The QC's acceptable range from the settings, if it has one.
    pub range: Option<(f64, f64)>,
}

/// Judges `series` (see [`Trend`]).
pub fn judge(series: Series, range: Option<QcRange>, limits: &Limits) -> Trend {
    let (history, tonight) = match series.points.split_last() {
        Some((last, earlier)) => (earlier, Some(last.clone())),
        None => (&series.points[..], None),
    };
    let mut values: Vec<f64> = history
        .iter()
        .map(|p| p.value)
        .filter(|v| v.is_finite())
        .collect();
    let known = values.len();
    let median = median_in_place(&mut values);
    let spread = median.and_then(|m| {
        let mut deviations: Vec<f64> = values.iter().map(|v| (v - m).abs()).collect();
        median_in_place(&mut deviations).map(|mad| mad * MAD_TO_STD)
    });
    let deviation = match (&tonight, median, spread) {
        (Some(t), Some(m), Some(s)) if t.value.is_finite() => Some(if s > 0.0 {
            (t.value - m) / s
        } else if t.value == m {
            0.0
        } else {
            f64::INFINITY.copysign(t.value - m)
        }),
        _ => None,
    };
    let outside_range = match (&tonight, range) {
        (Some(t), Some(r)) => !r.passes(t.value),
        _ => false,
    };
    let score = match deviation.map(f64::abs) {
        _ if outside_range => Score::Outside,
        Some(_) if known < limits.minimum_history => Score::New,
        Some(d) if d > limits.outside => Score::Outside,
        Some(d) if d > limits.near => Score::Near,
        Some(_) => Score::Within,
        None => Score::New,
    };
    Trend {
        series,
        median,
        spread,
        tonight,
        deviation,
        score,
        range: range.map(|r| (r.low(), r.high())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series_of(values: &[f64]) -> Series {
        Series {
            setup: Setup {
                profile: "soxs-vis".into(),
                arm: "VIS".into(),
                binning: "1x1".into(),
                read_speed: String::new(),
            },
            extension: String::new(),
            name: "MBIAS MEDIAN".into(),
            points: values
                .iter()
                .enumerate()
                .map(|(i, &value)| Point {
                    night: format!("2025-10-{:02}", i + 1),
                    mjd: None,
                    value,
                    product: PathBuf::from(format!("p{i}.fits")),
                })
                .collect(),
        }
    }

    #[test]
    fn tonight_is_scored_in_robust_sigma_of_the_nights_before() {
        // History 10, 11, 12, 13, 14: median 12, MAD 1, spread 1.4826.
        let limits = Limits::default();
        let judged = |tonight: f64| {
            judge(
                series_of(&[10.0, 11.0, 12.0, 13.0, 14.0, tonight]),
                None,
                &limits,
            )
        };
        let t = judged(12.0);
        assert_eq!(t.median, Some(12.0));
        assert_eq!(t.spread, Some(MAD_TO_STD));
        assert_eq!((t.deviation, t.score), (Some(0.0), Score::Within));
        let near = judged(12.0 + 4.0 * MAD_TO_STD);
        assert!((near.deviation.unwrap() - 4.0).abs() < 1e-12);
        assert_eq!(near.score, Score::Near);
        assert_eq!(judged(12.0 - 6.0 * MAD_TO_STD).score, Score::Outside);
    }

    #[test]
    fn the_qc_range_and_a_short_history_count() {
        let limits = Limits::default();
        let range = QcRange::new(0.0, 20.0);
        // Two earlier nights: too few to score, unless the range already fails.
        assert_eq!(
            judge(series_of(&[5.0, 6.0, 5.5]), range, &limits).score,
            Score::New
        );
        assert_eq!(
            judge(series_of(&[5.0, 6.0, 25.0]), range, &limits).score,
            Score::Outside
        );
        // A history that never varied: any change is infinitely far.
        let flat = judge(series_of(&[3.0, 3.0, 3.0, 3.0, 4.0]), None, &limits);
        assert_eq!(
            (flat.deviation, flat.score),
            (Some(f64::INFINITY), Score::Outside)
        );
        assert_eq!(judge(series_of(&[]), None, &limits).score, Score::New);
    }
}
