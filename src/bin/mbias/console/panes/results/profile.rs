//! The Profile tab, after IRAF's implot: the collapsed mean, or a row or column (a band of
//! them averaged), with bad pixels left out or shown, in e- or ADU, a raw frame drawn
//! over the master, and a cursor whose value is read out. Its row or column and its
//! cursor are the Preview's cursor, so the two tabs always look at the same pixel.

use mbias::algorithm::{Frame, MasterBias};
use ratatui::Frame as Screen;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis as ChartAxis, Chart, Dataset, GraphType, Paragraph};

use crate::console::msg::ImageResult;
use crate::console::theme::Theme;
use crate::console::view::Axis;

/// What the Profile tab shows.
#[derive(Debug, Clone, Copy)]
pub struct ProfileLook {
    pub axis: Axis,
    /// The cursor (column, row; 0-based): its row (or column) is profiled unless `mean`.
    pub cursor: (usize, usize),
    /// The collapsed mean of every row (or column) instead of the cursor's.
    pub mean: bool,
    /// Rows (or columns) averaged, centred on the cursor's.
    pub band: usize,
    pub include_bad: bool,
    pub adu: bool,
    /// The raw frame (an index into the set) drawn over the master.
    pub raw: Option<usize>,
}

/// The lines (0-based, `start..end`) a band of `band` centred on `at` covers in `0..len`.
pub fn band_lines(at: usize, band: usize, len: usize) -> (usize, usize) {
    let band = band.clamp(1, len.max(1));
    let start = at
        .saturating_sub((band - 1) / 2)
        .min(len.saturating_sub(band));
    (start, start + band)
}

/// One point per pixel along the profile (x 1-based, as FITS counts): the mean of the
/// band's values there, each read by `value` (`None` for a pixel left out).
fn band_profile(
    (cols, rows): (usize, usize),
    look: &ProfileLook,
    value: impl Fn(usize, usize) -> Option<f32>,
) -> Vec<(f64, f64)> {
    let (along, across) = match look.axis {
        Axis::Columns => (cols, rows),
        Axis::Rows => (rows, cols),
    };
    let lines = if look.mean {
        (0, across)
    } else {
        let at = match look.axis {
            Axis::Columns => look.cursor.1,
            Axis::Rows => look.cursor.0,
        };
        band_lines(at, look.band, across)
    };
    (0..along)
        .filter_map(|i| {
            let (mut sum, mut n) = (0f64, 0u32);
            for j in lines.0..lines.1 {
                let (col, row) = match look.axis {
                    Axis::Columns => (i, j),
                    Axis::Rows => (j, i),
                };
                if let Some(v) = value(row, col).filter(|v| v.is_finite()) {
                    sum += f64::from(v);
                    n += 1;
                }
            }
            (n > 0).then(|| ((i + 1) as f64, sum / f64::from(n)))
        })
        .collect()
}

/// The master's profile, bad pixels left out unless `look.include_bad`.
pub fn master_profile(master: &MasterBias, look: &ProfileLook) -> Vec<(f64, f64)> {
    band_profile((master.cols(), master.rows()), look, |row, col| {
        (look.include_bad || master.qual[[row, col]] == 0).then(|| master.flux[[row, col]])
    })
}

/// Points counted from 0 counted from 1, as FITS counts.
fn shifted(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    points.iter().map(|&(x, y)| (x + 1.0, y)).collect()
}

/// A raw frame's profile over the same lines.
fn raw_profile(raw: &Frame, look: &ProfileLook) -> Vec<(f64, f64)> {
    let (rows, cols) = raw.shape();
    band_profile((cols, rows), look, |row, col| {
        Some(raw.value(row * cols + col))
    })
}

/// `count` evenly spaced labels from `low` to `high`.
fn ticks(low: f64, high: f64, count: usize, digits: usize) -> Vec<String> {
    (0..count)
        .map(|i| {
            let v = low + (high - low) * i as f64 / (count - 1).max(1) as f64;
            format!("{v:.digits$}")
        })
        .collect()
}

/// The y range that holds the bulk of the points (0.1–99.9 %), padded.
fn bounds<'a>(series: impl Iterator<Item = &'a (f64, f64)>) -> [f64; 2] {
    let mut ys: Vec<f64> = series.map(|p| p.1).filter(|y| y.is_finite()).collect();
    if ys.is_empty() {
        return [0.0, 1.0];
    }
    ys.sort_unstable_by(f64::total_cmp);
    let at = |q: f64| ys[((ys.len() - 1) as f64 * q) as usize];
    let (low, high) = (at(0.001), at(0.999));
    let pad = ((high - low) * 0.05).max(0.01);
    [low - pad, high + pad]
}

/// The Profile tab: caption, chart and the cursor's readout.
pub fn draw(
    frame: &mut Screen,
    theme: &Theme,
    result: &ImageResult,
    look: ProfileLook,
    area: Rect,
) {
    let master = &result.outcome.master;
    let (cols, rows) = (master.cols(), master.rows());
    if cols == 0 || rows == 0 {
        return;
    }
    let gain = result.loaded.set.plan.gain;
    let scale = if look.adu { 1.0 / gain } else { 1.0 };
    let unit = if look.adu { "ADU" } else { "e-" };
    let in_unit = |points: Vec<(f64, f64)>| -> Vec<(f64, f64)> {
        points.into_iter().map(|(x, y)| (x, y * scale)).collect()
    };
    let points = match (look.mean, look.include_bad, look.axis) {
        // The collapsed means without bad pixels were measured with the stack.
        (true, false, Axis::Columns) => shifted(&result.view.along_columns),
        (true, false, Axis::Rows) => shifted(&result.view.along_rows),
        _ => master_profile(master, &look),
    };
    let points = in_unit(points);
    let frames = result.loaded.set.resident().unwrap_or_default();
    let raw = look.raw.and_then(|k| {
        let k = k.min(frames.len().checked_sub(1)?);
        Some((k, frames.get(k)?))
    });
    let raw_points = raw.map(|(_, f)| in_unit(raw_profile(f, &look)));
    let (cx, cy) = look.cursor;
    let (along, x_title, position) = match look.axis {
        Axis::Columns => (cols, "column (FITS x)", cx),
        Axis::Rows => (rows, "row (FITS y)", cy),
    };
    let lines = match look.axis {
        Axis::Columns => ("row", cy, rows),
        Axis::Rows => ("column", cx, cols),
    };
    let what = if look.mean {
        format!("mean of every {}", lines.0)
    } else {
        let (start, end) = band_lines(lines.1, look.band, lines.2);
        if end - start == 1 {
            format!("{} {}", lines.0, start + 1)
        } else {
            format!("{}s {}–{} averaged", lines.0, start + 1, end)
        }
    };
    let bad = if look.include_bad {
        "bad pixels shown"
    } else {
        "bad pixels left out"
    };
    let [caption, chart_area, readout] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let mut caption_spans = vec![Span::styled(format!("{what}, {bad}, {unit}"), theme.title)];
    if let Some((k, f)) = raw {
        caption_spans.push(Span::styled(
            format!(" · raw {}/{} {} over it", k + 1, frames.len(), f.name),
            theme.warn,
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(caption_spans)), caption);
    let [low, high] = bounds(points.iter().chain(raw_points.iter().flatten()));
    let x_max = along as f64;
    let cursor_x = (position + 1) as f64;
    let cursor_line = [(cursor_x, low), (cursor_x, high)];
    let marker = if theme.mono {
        Marker::Dot
    } else {
        Marker::Braille
    };
    let mut datasets = Vec::new();
    if let Some(raw_points) = &raw_points {
        datasets.push(
            Dataset::default()
                .marker(marker)
                .graph_type(GraphType::Line)
                .style(theme.warn)
                .data(raw_points),
        );
    }
    datasets.push(
        Dataset::default()
            .marker(marker)
            .graph_type(GraphType::Line)
            .style(theme.gauge)
            .data(&points),
    );
    datasets.push(
        Dataset::default()
            .marker(marker)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(ratatui::style::Color::LightMagenta))
            .data(&cursor_line),
    );
    let chart = Chart::new(datasets)
        .x_axis(
            ChartAxis::default()
                .title(x_title)
                .bounds([1.0, x_max.max(1.0)])
                .labels(ticks(1.0, x_max.max(1.0), 5, 0)),
        )
        .y_axis(
            ChartAxis::default()
                .title(unit)
                .bounds([low, high])
                .labels(ticks(low, high, 5, 1)),
        );
    frame.render_widget(chart, chart_area);
    let at = |series: &[(f64, f64)]| {
        series
            .iter()
            .find(|p| p.0 == cursor_x)
            .map_or("—".to_string(), |p| format!("{:.3} {unit}", p.1))
    };
    let mut text = format!("x {} y {}  profile {}", cx + 1, cy + 1, at(&points));
    if let Some(raw_points) = &raw_points {
        text.push_str(&format!("  raw {}", at(raw_points)));
    }
    text.push_str("  ←→ cursor · ↑↓ line · g go to · a band · b bad · u unit · v raw");
    frame.render_widget(Paragraph::new(Line::styled(text, theme.dim)), readout);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_band_is_centred_and_kept_on_the_frame() {
        assert_eq!(band_lines(10, 1, 100), (10, 11));
        assert_eq!(band_lines(10, 5, 100), (8, 13));
        assert_eq!(band_lines(0, 5, 100), (0, 5));
        assert_eq!(band_lines(99, 4, 100), (96, 100));
        assert_eq!(band_lines(3, 500, 10), (0, 10));
    }
}
