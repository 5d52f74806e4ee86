//! The Trend tab: tonight's QC against the nights before of the same setup, from the QC
//! history, one line per value. The history is read on a worker (the model keeps what
//! came back); tonight's value is this stack's, not yet recorded. Under the table, the
//! written master against its set-up's certified reference (`C`), when compared.

use std::path::PathBuf;

use mbias::compare::{Comparison, Verdict};
use mbias::history::Setup;
use mbias::history::trend::{Limits, Point, Score, Series, Trend, deviation_text, judge};
use mbias::verify::Plan;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table};

use super::tabs::format_value;
use crate::console::msg::{ImageResult, TrendHistory};
use crate::console::text::file_name;
use crate::console::theme::Theme;

/// Where the Trend tab's history stands, for the result of one generation.
#[derive(Debug, Clone, PartialEq)]
pub enum TrendLoad {
    Loading,
    Loaded(TrendHistory),
    /// The history could not be read (or there is none to read), and why.
    Failed(String),
}

/// The setup a plan's master belongs to, as the history files it.
pub fn setup_of(plan: &Plan) -> Setup {
    let (x, y) = plan.binning;
    Setup {
        profile: plan.profile.name.clone(),
        arm: plan.profile.arm.clone(),
        binning: format!("{x}x{y}"),
        read_speed: plan.read_speed.clone(),
    }
}

/// Tonight's QC values of `image`, each judged against its series in `history` (the
/// stored nights with tonight's value appended as the last point).
pub fn judged(image: &ImageResult, history: &TrendHistory) -> Vec<Trend> {
    let extension = image.extension().unwrap_or("");
    // Tonight's night as the history files it: products of tonight already recorded
    // (an earlier stack of these frames) are no earlier night, shown or judged.
    let night = image
        .loaded
        .set
        .plan
        .frames
        .first()
        .and_then(|f| mbias::history::night_of(&f.merged_header()))
        .unwrap_or_else(|| "tonight".into());
    image
        .outcome
        .qc
        .values
        .iter()
        .map(|v| {
            let mut series = history
                .series
                .iter()
                .find(|s| s.extension == extension && s.name.eq_ignore_ascii_case(v.name))
                .cloned()
                .unwrap_or_else(|| Series {
                    setup: history.setup.clone(),
                    recipe: history.recipe.clone(),
                    extension: extension.to_string(),
                    name: v.name.to_string(),
                    points: Vec::new(),
                });
            series.points.retain(|p| p.night != night);
            series.points.push(Point {
                night: night.clone(),
                mjd: None,
                value: v.value,
                product: PathBuf::new(),
            });
            judge(series, v.range, &Limits::default())
        })
        .collect()
}

/// Eight heights of a bar, lowest first.
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The last `width` of `values` as bars from their lowest to their highest (a value
/// that is not a number is a space, a series that never varied a row of the lowest).
pub fn sparkline(values: &[f64], width: usize) -> String {
    let shown = &values[values.len().saturating_sub(width)..];
    let finite = shown.iter().copied().filter(|v| v.is_finite());
    let low = finite.clone().fold(f64::INFINITY, f64::min);
    let high = finite.fold(f64::NEG_INFINITY, f64::max);
    shown
        .iter()
        .map(|&v| {
            if !v.is_finite() {
                ' '
            } else if high > low {
                let step = ((v - low) / (high - low) * 7.0).round() as usize;
                BARS[step.min(7)]
            } else {
                BARS[0]
            }
        })
        .collect()
}

fn score_style(theme: &Theme, score: Score) -> Style {
    match score {
        Score::Within => theme.pass,
        Score::Near => theme.warn,
        Score::Outside => theme.fail,
        Score::New | Score::Missing | Score::Stale => theme.dim,
    }
}

/// Columns of the sparkline.
const SPARK: u16 = 16;

fn verdict_style(theme: &Theme, verdict: Verdict) -> Style {
    match verdict {
        Verdict::Accept => theme.pass,
        Verdict::Inspect => theme.warn,
        Verdict::Reject => theme.fail,
    }
}

/// Lines the comparison block takes: its heading, the table's header and images, and a
/// line per reason.
fn comparison_height(comparison: &Comparison) -> usize {
    2 + comparison.images.len() + comparison.reasons.len()
}

/// The written master against the reference: the verdict, one line per image with the
/// statistics the limits judge (as `mbias compare` prints them), and why.
fn draw_comparison(frame: &mut Frame, theme: &Theme, comparison: &Comparison, area: Rect) {
    let verdict = verdict_style(theme, comparison.verdict);
    let reference = file_name(&comparison.reference);
    let images = u16::try_from(comparison.images.len()).unwrap_or(u16::MAX);
    let [heading, table_area, reasons_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(images.saturating_add(1)),
        Constraint::Fill(1),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(
                format!("against reference {reference}: verdict "),
                theme.title,
            ),
            Span::styled(comparison.verdict.to_string().to_uppercase(), verdict),
        ])),
        heading,
    );
    let rows = comparison.images.iter().map(|image| {
        let d = &image.difference;
        Row::new(vec![
            image.name.clone().unwrap_or_else(|| "FLUX".into()),
            format!("{:+.3}", d.mean),
            format!("{:.3}", d.robust_std),
            format!("{:.3}", image.noise_ratio),
            image.new_bad_pixels.to_string(),
            image.gone_bad_pixels.to_string(),
            format!("{:+.1} %", image.bad_pixel_growth * 100.0),
        ])
    });
    let header = Row::new([
        "image",
        "mean e-",
        "robust σ e-",
        "noise ×",
        "new bad",
        "gone bad",
        "growth",
    ])
    .style(theme.header);
    let widths = [
        Constraint::Length(8),
        Constraint::Length(9),
        Constraint::Length(11),
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Length(9),
    ];
    frame.render_widget(Table::new(rows, widths).header(header), table_area);
    let reasons: Vec<Line> = comparison
        .reasons
        .iter()
        .map(|r| Line::styled(r.to_string(), verdict_style(theme, r.verdict)))
        .collect();
    frame.render_widget(Paragraph::new(reasons), reasons_area);
}

/// Whether any value has nights before tonight to be judged against (tonight is every
/// series' last point: earlier nights are the points before it).
fn has_earlier(trends: &[Trend]) -> bool {
    trends.iter().any(|t| t.series.points.len() > 1)
}

/// Lines the history takes drawn whole: one to say why there is no table, else the
/// caption, the header and a row per value.
fn history_height(image: &ImageResult, load: Option<&TrendLoad>) -> usize {
    match load {
        Some(TrendLoad::Loaded(history)) => {
            let trends = judged(image, history);
            if has_earlier(&trends) {
                2 + trends.len()
            } else {
                1
            }
        }
        _ => 1,
    }
}

/// Rows the history's table keeps when a comparison is shown under it: the caption, the
/// header and two values.
const TABLE_KEEPS: u16 = 4;

/// The tab's body: a line when there is nothing to compare with, else the table
/// (scrolled as the QC tab is); under it the comparison with the reference, if any.
pub fn draw(
    frame: &mut Frame,
    theme: &Theme,
    image: &ImageResult,
    load: Option<&TrendLoad>,
    comparison: Option<&Comparison>,
    scroll: &mut usize,
    area: Rect,
) {
    let area = match comparison {
        Some(comparison) => {
            let height = u16::try_from(comparison_height(comparison))
                .unwrap_or(u16::MAX)
                .min(area.height.saturating_sub(TABLE_KEEPS));
            // Right under the history, which scrolls when the pane is too short for both.
            let history_height = u16::try_from(history_height(image, load)).unwrap_or(u16::MAX);
            let [history, _, block, _] = Layout::vertical([
                Constraint::Max(history_height),
                Constraint::Length(1),
                Constraint::Length(height),
                Constraint::Fill(1),
            ])
            .areas(area);
            draw_comparison(frame, theme, comparison, block);
            history
        }
        None => area,
    };
    let setup = setup_of(&image.loaded.set.plan);
    let history = match load {
        None | Some(TrendLoad::Loading) => {
            let text = format!("reading the QC history of {setup} …");
            frame.render_widget(Paragraph::new(Line::styled(text, theme.dim)), area);
            return;
        }
        Some(TrendLoad::Failed(e)) => {
            frame.render_widget(Paragraph::new(Line::styled(e.clone(), theme.error)), area);
            return;
        }
        Some(TrendLoad::Loaded(history)) => history,
    };
    let trends = judged(image, history);
    if !has_earlier(&trends) {
        let text = match &history.file {
            Some(file) => format!(
                "no earlier nights of {setup} in the QC history {}",
                file.display()
            ),
            None => format!(
                "no earlier nights of {setup}: the QC history is off (--history, $MBIAS_HISTORY or mbias.history)"
            ),
        };
        frame.render_widget(Paragraph::new(Line::styled(text, theme.dim)), area);
        return;
    }
    let [caption, table_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
    let nights = trends
        .iter()
        .map(|t| t.series.points.len() - 1)
        .max()
        .unwrap_or(0);
    let file = history
        .file
        .as_ref()
        .map_or(String::new(), |f| format!(" in {}", f.display()));
    frame.render_widget(
        Paragraph::new(Line::styled(
            format!("{setup}: tonight against {nights} earlier night(s){file}"),
            theme.title,
        )),
        caption,
    );
    let number =
        |name: &str, v: Option<f64>| v.map_or("—".to_string(), |v| format_value(name, v, false));
    let rows: Vec<Row> = trends
        .iter()
        .map(|t| {
            let name = t.series.name.as_str();
            let stored: Vec<f64> = t.series.points[..t.series.points.len() - 1]
                .iter()
                .map(|p| p.value)
                .collect();
            Row::new(vec![
                Span::raw(name.to_string()),
                Span::styled(sparkline(&stored, usize::from(SPARK)), theme.gauge),
                Span::raw(number(name, t.median)),
                Span::raw(number(name, t.spread)),
                Span::raw(number(name, t.tonight.as_ref().map(|p| p.value))),
                Span::raw(deviation_text(t.deviation)),
                Span::styled(t.score.name(), score_style(theme, t.score)),
            ])
        })
        .collect();
    let count = rows.len();
    let capacity = usize::from(table_area.height.saturating_sub(1));
    *scroll = (*scroll).min(count.saturating_sub(capacity));
    let header = Row::new([
        "QC",
        "nights",
        "median",
        "robust σ",
        "tonight",
        "deviation",
        "score",
    ])
    .style(theme.header);
    let table = Table::new(
        rows.into_iter().skip(*scroll),
        [
            Constraint::Length(14),
            Constraint::Length(SPARK),
            Constraint::Length(10),
            Constraint::Length(9),
            Constraint::Length(10),
            Constraint::Length(9),
            Constraint::Length(7),
        ],
    )
    .header(header);
    frame.render_widget(table, table_area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sparkline_spans_lowest_to_highest_and_keeps_the_last() {
        assert_eq!(sparkline(&[1.0, 2.0, 3.0, 8.0], 10), "▁▂▃█");
        assert_eq!(sparkline(&[9.0, 1.0, f64::NAN, 8.0], 3), "▁ █");
        assert_eq!(sparkline(&[5.0, 5.0], 4), "▁▁");
        assert_eq!(sparkline(&[], 4), "");
    }
}
