//! A trend as an SVG chart: the nights' values in observing order, the history's median
//! with the near and outside bands about it, the QC's acceptable range, and tonight's
//! point coloured by its score. SVG, like the bias-distribution plot: every browser and
//! image viewer shows it, and no system library is needed to write it.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use super::trend::{Limits, Score, Trend};
use crate::qc_plot::escape;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 340.0;
const LEFT: f64 = 90.0;
const RIGHT: f64 = 700.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 290.0;

/// The file a trend's chart is written to in `folder`: setup, amplifier and QC name,
/// with anything but letters, digits and `.-` as `_`.
pub fn plot_path(folder: &Path, trend: &Trend) -> PathBuf {
    let s = &trend.series;
    let name = [
        s.setup.profile.as_str(),
        s.setup.binning.as_str(),
        s.setup.read_speed.as_str(),
        s.extension.as_str(),
        s.name.as_str(),
    ]
    .iter()
    .filter(|part| !part.is_empty())
    .map(|part| {
        part.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect::<String>()
    })
    .collect::<Vec<_>>()
    .join("_");
    folder.join(format!("TREND_{name}.svg"))
}

fn score_colour(score: Score) -> &'static str {
    match score {
        Score::Within => "#2e7d32",
        Score::Near => "#f9a825",
        Score::Outside => "#c62828",
        Score::New | Score::Missing | Score::Stale => "#455a64",
    }
}

/// The chart of `trend` as SVG text.
pub fn svg(trend: &Trend, limits: &Limits) -> String {
    let points: Vec<f64> = trend.series.points.iter().map(|p| p.value).collect();
    let band = match (trend.median, trend.spread) {
        (Some(m), Some(s)) => Some((m, s)),
        _ => None,
    };
    // The vertical scale holds every value, the outside band and a finite range.
    let mut span: Vec<f64> = points.iter().copied().filter(|v| v.is_finite()).collect();
    if let Some((m, s)) = band {
        span.extend([m - limits.outside * s, m + limits.outside * s]);
    }
    if let Some((low, high)) = trend.range {
        span.extend([low, high].into_iter().filter(|v| v.is_finite()));
    }
    let low = span.iter().copied().fold(f64::INFINITY, f64::min);
    let high = span.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (low, high) = if low.is_finite() && high > low {
        let pad = (high - low) * 0.05;
        (low - pad, high + pad)
    } else if low.is_finite() {
        (low - 1.0, low + 1.0)
    } else {
        (0.0, 1.0)
    };
    let y = |v: f64| BOTTOM - (v.clamp(low, high) - low) / (high - low) * (BOTTOM - TOP);
    let n = points.len().max(2) as f64;
    let x = |i: usize| LEFT + (i as f64 + 0.5) / n * (RIGHT - LEFT);
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        out,
        r#"<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>"#
    );
    let s = &trend.series;
    let amplifier = if s.extension.is_empty() {
        String::new()
    } else {
        format!(" {}", s.extension)
    };
    let _ = writeln!(
        out,
        r#"<text x="{LEFT}" y="24" font-size="15">{} — {}{}</text>"#,
        escape(&s.name),
        escape(&s.setup.to_string()),
        escape(&amplifier)
    );
    if let Some((m, sd)) = band {
        for (k, fill) in [(limits.outside, "#fdecea"), (limits.near, "#e8f5e9")] {
            let (top, bottom) = (y(m + k * sd), y(m - k * sd));
            let _ = writeln!(
                out,
                r#"<rect x="{LEFT}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="{fill}"/>"#,
                RIGHT - LEFT,
                (bottom - top).max(0.5)
            );
        }
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" x2="{RIGHT}" y1="{0:.1}" y2="{0:.1}" stroke="#2e7d32" stroke-width="1.5"/>"##,
            y(m)
        );
    }
    if let Some((low_limit, high_limit)) = trend.range {
        for v in [low_limit, high_limit]
            .into_iter()
            .filter(|v| v.is_finite())
        {
            let _ = writeln!(
                out,
                r##"<line x1="{LEFT}" x2="{RIGHT}" y1="{0:.1}" y2="{0:.1}" stroke="#c62828" stroke-dasharray="6 4"/>"##,
                y(v)
            );
        }
    }
    let _ = writeln!(
        out,
        r#"<rect x="{LEFT}" y="{TOP}" width="{:.1}" height="{:.1}" fill="none" stroke="black"/>"#,
        RIGHT - LEFT,
        BOTTOM - TOP
    );
    for (v, label) in [(low, low), (high, high)] {
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT - 6.0,
            y(v) + 4.0,
            short(label)
        );
    }
    let path: Vec<String> = points
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .map(|(i, &v)| format!("{:.1},{:.1}", x(i), y(v)))
        .collect();
    let _ = writeln!(
        out,
        r##"<polyline points="{}" fill="none" stroke="#1565c0" stroke-width="1"/>"##,
        path.join(" ")
    );
    let last = points.len().saturating_sub(1);
    for (i, &v) in points.iter().enumerate().filter(|(_, v)| v.is_finite()) {
        let (r, colour) = if i == last {
            (5.0, score_colour(trend.score))
        } else {
            (2.5, "#1565c0")
        };
        let _ = writeln!(
            out,
            r#"<circle cx="{:.1}" cy="{:.1}" r="{r}" fill="{colour}"/>"#,
            x(i),
            y(v)
        );
    }
    let nights = &trend.series.points;
    if let (Some(first), Some(final_point)) = (nights.first(), nights.last()) {
        let _ = writeln!(
            out,
            r#"<text x="{LEFT}" y="{:.1}">{}</text><text x="{RIGHT}" y="{:.1}" text-anchor="end">{}</text>"#,
            BOTTOM + 18.0,
            escape(&first.night),
            BOTTOM + 18.0,
            escape(&final_point.night)
        );
    }
    let summary = match (trend.median, trend.spread, &trend.tonight) {
        (Some(m), Some(sd), Some(t)) => format!(
            "median {} · robust σ {} · tonight {} ({}) · {}",
            short(m),
            short(sd),
            short(t.value),
            super::trend::deviation_text(trend.deviation),
            trend.score.name()
        ),
        (_, _, Some(t)) => format!("tonight {} · {}", short(t.value), trend.score.name()),
        _ => "no values".into(),
    };
    let _ = writeln!(
        out,
        r#"<text x="{LEFT}" y="{:.1}">{}</text>"#,
        BOTTOM + 40.0,
        escape(&summary)
    );
    out.push_str("</svg>\n");
    out
}

/// A value in at most about six significant digits.
fn short(v: f64) -> String {
    if v == 0.0 || (1e-3..1e6).contains(&v.abs()) {
        let text = format!("{v:.4}");
        let text = text.trim_end_matches('0').trim_end_matches('.');
        text.to_string()
    } else {
        format!("{v:.3e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Setup;
    use crate::history::trend::{Point, Series, judge};

    #[test]
    fn the_chart_marks_tonight_by_its_score() {
        let points = (0..8)
            .map(|i| Point {
                night: format!("2025-10-{:02}", i + 1),
                mjd: None,
                value: if i == 7 { 40.0 } else { 10.0 + (i % 3) as f64 },
                product: PathBuf::from("p.fits"),
            })
            .collect();
        let series = Series {
            recipe: "soxspipe-0.19".into(),
            setup: Setup {
                profile: "soxs-vis".into(),
                arm: "VIS".into(),
                binning: "1x1".into(),
                read_speed: "1".into(),
            },
            extension: String::new(),
            name: "MASTER RON".into(),
            points,
        };
        let limits = Limits::default();
        let trend = judge(series, crate::params::QcRange::new(0.0, 30.0), &limits);
        let svg = svg(&trend, &limits);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<circle").count(), 8);
        assert!(svg.contains(score_colour(Score::Outside)));
        assert!(svg.contains("outside"));
        assert_eq!(
            plot_path(Path::new("/t"), &trend),
            PathBuf::from("/t/TREND_soxs-vis_1x1_1_MASTER_RON.svg")
        );
    }
}
