//! Tonight against the nights before: each QC's series per setup and amplifier, its
//! long-term median and robust spread, tonight's deviation in units of that spread, and a
//! score in the manner of ESO's health check (within limits, near them, outside).

use std::path::PathBuf;

use serde::Serialize;

use super::entry::Setup;
use super::store::StoredValue;
use crate::algorithm::numerics::median_and_robust_std;
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
    /// The soxspipe release the products followed: a QC of the same name can mean
    /// another thing in another release (RAW RON in 0.17.4 and 0.19), so releases make
    /// series of their own.
    pub recipe: String,
    /// The amplifier (extension) name; empty for a single-image product.
    pub extension: String,
    pub name: String,
    pub points: Vec<Point>,
}

/// The series of `values`, which come ordered by setup, release, extension, name, then
/// night.
pub fn series(values: Vec<StoredValue>) -> Vec<Series> {
    let mut all: Vec<Series> = Vec::new();
    for v in values {
        let point = Point {
            night: v.product.night.clone(),
            mjd: v.product.mjd,
            value: v.value,
            product: v.product.path.clone(),
        };
        let same = |s: &Series| {
            s.setup == v.setup
                && s.recipe == v.product.recipe
                && s.extension == v.extension
                && s.name == v.name
        };
        match all.last_mut() {
            Some(s) if same(s) => s.points.push(point),
            _ => all.push(Series {
                setup: v.setup,
                recipe: v.product.recipe,
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
    /// Tonight's value is not a number: the QC could not be measured.
    Missing,
    /// The series has no product of the latest night in the selection: its last
    /// product is not tonight's, and is not judged.
    Stale,
}

impl Score {
    pub fn name(self) -> &'static str {
        match self {
            Score::Within => "within",
            Score::Near => "near",
            Score::Outside => "outside",
            Score::New => "new",
            Score::Missing => "missing",
            Score::Stale => "stale",
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

/// One series judged: tonight is its last point, the history every point of an earlier
/// night (other products of tonight's night, such as an earlier stack of the same
/// frames, are no history of it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trend {
    #[serde(flatten)]
    pub series: Series,
    /// Median of the history's finite values.
    pub median: Option<f64>,
    /// 1.4826 × the history's median absolute deviation, its robust standard deviation;
    /// where more than half the history sits on one value (a regulated temperature, a
    /// pixel count), √(π/2) × the mean absolute deviation from the median instead.
    pub spread: Option<f64>,
    pub tonight: Option<Point>,
    /// (tonight − median) / spread; infinite when the history never varied and tonight
    /// does.
    #[serde(serialize_with = "crate::params::finite_or_text_option")]
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
    let tonight_night = tonight.as_ref().map(|t| t.night.as_str()).unwrap_or("");
    let mut values: Vec<f64> = history
        .iter()
        .filter(|p| tonight_night.is_empty() || p.night != tonight_night)
        .map(|p| p.value)
        .filter(|v| v.is_finite())
        .collect();
    let known = values.len();
    let (median, spread) = match spread_of(&mut values) {
        Some((m, s)) => (Some(m), Some(s)),
        None => (None, None),
    };
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
    let missing = tonight.as_ref().is_some_and(|t| t.value.is_nan());
    let score = match deviation.map(f64::abs) {
        _ if missing => Score::Missing,
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

/// The median of `values` and their spread (see [`Trend::spread`]), reordering and
/// overwriting them; `None` when empty.
fn spread_of(values: &mut [f64]) -> Option<(f64, f64)> {
    let (median, robust) = median_and_robust_std(values)?;
    if robust > 0.0 {
        return Some((median, robust));
    }
    // `values` now holds the absolute deviations from the median.
    let mean_deviation = values.iter().sum::<f64>() / values.len() as f64;
    Some((median, mean_deviation * std::f64::consts::FRAC_PI_2.sqrt()))
}

/// Marks as [`Score::Stale`] the trends whose last product is of an earlier night than
/// the latest in `trends`: a set-up not used tonight is not judged on an old night.
pub fn mark_stale(trends: &mut [Trend]) {
    let latest = trends
        .iter()
        .filter_map(|t| t.tonight.as_ref().map(|p| p.night.clone()))
        .max();
    let Some(latest) = latest else {
        return;
    };
    for trend in trends {
        if trend.tonight.as_ref().is_some_and(|t| t.night < latest) {
            trend.score = Score::Stale;
        }
    }
}

/// A deviation as the tables print it: `+1.2 σ`, `−∞ σ`, `—` when there is none.
pub fn deviation_text(deviation: Option<f64>) -> String {
    match deviation {
        None => "—".into(),
        Some(d) if d.is_finite() => format!("{d:+.1} σ").replace('-', "−"),
        Some(d) => format!("{}∞ σ", if d > 0.0 { "+" } else { "−" }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithm::numerics::MAD_TO_STD;

    fn series_of(values: &[f64]) -> Series {
        Series {
            recipe: "soxspipe-0.19".into(),
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
        // Tonight's QC could not be measured.
        assert_eq!(
            judge(series_of(&[5.0, 6.0, 5.5, 5.0, f64::NAN]), None, &limits).score,
            Score::Missing
        );
    }

    #[test]
    fn a_history_mostly_on_one_value_spreads_by_its_mean_deviation() {
        // 3, 3, 3, 4, 3, 3, 5: MAD 0; deviations 0, 0, 0, 1, 0, 0, 2 average 3/7.
        let t = judge(
            series_of(&[3.0, 3.0, 3.0, 4.0, 3.0, 3.0, 5.0, 4.0]),
            None,
            &Limits::default(),
        );
        let spread = 3.0 / 7.0 * std::f64::consts::FRAC_PI_2.sqrt();
        assert_eq!((t.median, t.spread), (Some(3.0), Some(spread)));
        assert_eq!(t.score, Score::Within, "a value seen before: {t:?}");
    }

    #[test]
    fn other_products_of_tonights_night_are_no_history() {
        // Five nights near 10, then two stacks of tonight's frames at 30.
        let mut series = series_of(&[10.0, 10.5, 9.5, 10.0, 10.2, 30.0, 30.0]);
        series.points[5].night = series.points[6].night.clone();
        let t = judge(series, None, &Limits::default());
        assert_eq!(t.median, Some(10.0));
        assert_eq!(t.score, Score::Outside);
    }

    #[test]
    fn a_set_up_not_used_tonight_is_stale() {
        let limits = Limits::default();
        let mut old = series_of(&[1.0, 1.0, 1.0, 9.0]);
        old.name = "RAW RON".into();
        let mut trends = vec![
            judge(series_of(&[1.0, 1.1, 0.9, 1.0, 1.0, 1.0]), None, &limits),
            judge(old, None, &limits),
        ];
        mark_stale(&mut trends);
        assert_eq!(trends[0].score, Score::Within);
        assert_eq!(trends[1].score, Score::Stale);
        assert_eq!(deviation_text(Some(-1.25)), "−1.2 σ");
        assert_eq!(deviation_text(Some(f64::NEG_INFINITY)), "−∞ σ");
        assert_eq!(deviation_text(None), "—");
    }
}
