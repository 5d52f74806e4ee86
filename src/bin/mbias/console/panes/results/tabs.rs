//! The bodies of the results tabs: QC table, profile chart, image preview, per-frame
//! table. Each draws one image of the result; none changes anything but a scroll state.

use mbias::detector::Section;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis as ChartAxis, Chart, Dataset, GraphType, Paragraph, Row, Sparkline, Table, TableState,
};

use super::draw::preview_split;
use super::halfblock::Plane;
use super::image_view::{ImageView, Look};
use super::stats::{StatsOf, box_about, pixels_of, stats};
use super::{inspector, magnification};
use crate::console::defects::DefectKind;
use crate::console::msg::ImageResult;
use crate::console::text::apart;
use crate::console::theme::Theme;
use crate::console::view::BadMarks;

/// A QC value as the table and the status bar show it.
pub(super) fn format_value(name: &str, v: f64, integer: bool) -> String {
    if integer {
        format!("{}", v as i64)
    } else if name == "BADPIX FRAC" {
        format!("{v:.6}")
    } else {
        format!("{v:.4}")
    }
}

/// The QC table; when it is taller than `area`, a window of it from `scroll` (clamped
/// here, where the height is known) and a last line saying what is out of sight.
pub fn qc(frame: &mut Frame, theme: &Theme, result: &ImageResult, scroll: &mut usize, area: Rect) {
    if area.height == 0 {
        return;
    }
    // soxspipe's and mbias's values, then each amplifier's.
    let qc = &result.outcome.qc;
    let mut values: Vec<Row> = qc
        .values
        .iter()
        .map(|v| {
            let range = v
                .range
                .map(|r| format!("({}, {})", r.low(), r.high()))
                .unwrap_or_else(|| "–".into());
            let (verdict, style) = match v.pass {
                Some(true) => ("pass", theme.pass),
                Some(false) => ("FAIL", theme.fail),
                None => ("", theme.dim),
            };
            let value = format!("{} {}", format_value(v.name, v.value, v.integer), v.unit);
            Row::new(vec![
                Span::raw(v.name),
                Span::raw(value),
                Span::styled(range, theme.dim),
                Span::styled(verdict, style),
            ])
        })
        .collect();
    for amp in &qc.amplifiers {
        for (tag, value, unit, _) in amp.fields() {
            values.push(Row::new(vec![
                Span::raw(format!("{} {tag}", amp.name)),
                Span::raw(format!("{value:.3} {unit}")),
                Span::styled("–", theme.dim),
                Span::raw(""),
            ]));
        }
    }
    let count = values.len();
    let capacity = usize::from(area.height.saturating_sub(1));
    let shown = if count > capacity {
        capacity.saturating_sub(1)
    } else {
        count
    };
    *scroll = (*scroll).min(count - shown);
    let rows: Vec<Row> = values.into_iter().skip(*scroll).take(shown).collect();
    let header = Row::new(["QC", "value", "range", ""]).style(theme.header);
    let table = Table::new(
        rows,
        [
            Constraint::Length(13),
            Constraint::Length(17),
            Constraint::Length(13),
            Constraint::Length(4),
        ],
    )
    .header(header);
    frame.render_widget(table, area);
    if shown < count {
        let below = count - *scroll - shown;
        let hint = format!("↑↓ scroll · {} above · {below} below", *scroll);
        let line = Rect {
            y: area.y + area.height.saturating_sub(1),
            height: 1,
            ..area
        };
        frame.render_widget(Paragraph::new(Line::styled(hint, theme.dim)), line);
    }
}

/// The bad-pixel map a stack used, by file name and count, or that it had none.
fn bad_pixel_map_caption(result: &ImageResult) -> String {
    match &result.loaded.set.bad_pixels {
        Some(map) => format!(
            "bad-pixel map {} ({} px)",
            map.path.file_name().map_or_else(
                || map.path.display().to_string(),
                |n| n.to_string_lossy().into_owned()
            ),
            map.count
        ),
        None => "no bad-pixel map".to_string(),
    }
}

/// soxspipe 0.19's bias-distribution QC: the first raw frame's and the master's pixel
/// fluxes on the same bins, log counts, and the table of mean, median and RON.
pub fn histogram(frame: &mut Frame, theme: &Theme, result: &ImageResult, area: Rect) {
    let Some(d) = &result.distribution else {
        frame.render_widget(
            Paragraph::new(Line::styled("no pixel to show", theme.dim)),
            area,
        );
        return;
    };
    let [table, chart_area] =
        Layout::vertical([Constraint::Length(4), Constraint::Fill(1)]).areas(area);
    let cells = |mean: f64, median: f64, ron: f64| format!("{mean:>9.2} {median:>9.2} {ron:>6.2}");
    let raw_ron_qc = d
        .raw_ron_qc
        .map_or("\u{2014}".to_string(), |v| format!("{v:.2}"));
    let (raw_mark, master_mark) = if theme.mono {
        ("•", "+")
    } else {
        ("▬", "▬")
    };
    frame.render_widget(
        Paragraph::new(vec![
            Line::styled(
                format!("{:<10}{:>9} {:>9} {:>6}", "", "mean", "median", "RON"),
                theme.dim,
            ),
            Line::from(vec![
                Span::styled(format!("{raw_mark} raw    "), theme.gauge),
                Span::raw(cells(d.raw_mean, d.raw_median, d.raw_ron)),
            ]),
            Line::from(vec![
                Span::styled(format!("{master_mark} master "), theme.warn),
                Span::raw(cells(d.master_mean, d.master_median, d.master_ron)),
            ]),
            Line::styled(
                format!("RAW RON (QC) {raw_ron_qc} e-; counts on a log scale"),
                theme.dim,
            ),
        ]),
        table,
    );
    let points = |counts: &[u64]| -> Vec<(f64, f64)> {
        counts
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                let centre = 0.5 * (d.edges[i] + d.edges[i + 1]);
                (centre, if c == 0 { 0.0 } else { (c as f64).log10() })
            })
            .collect()
    };
    let (raw, master) = (points(&d.raw_counts), points(&d.master_counts));
    let top = raw
        .iter()
        .chain(&master)
        .map(|p| p.1)
        .fold(1.0f64, f64::max)
        .ceil();
    let marker = if theme.mono {
        Marker::Dot
    } else {
        Marker::Braille
    };
    let datasets = vec![
        Dataset::default()
            .marker(marker)
            .graph_type(GraphType::Line)
            .style(theme.gauge)
            .data(&raw),
        Dataset::default()
            .marker(if theme.mono { Marker::Block } else { marker })
            .graph_type(GraphType::Line)
            .style(theme.warn)
            .data(&master),
    ];
    let (low, high) = (d.edges[0], d.edges[d.edges.len() - 1]);
    let chart = Chart::new(datasets)
        .x_axis(
            ChartAxis::default()
                .title("flux e-")
                .bounds([low, high])
                .labels([
                    format!("{low:.1}"),
                    format!("{:.1}", (low + high) / 2.0),
                    format!("{high:.1}"),
                ]),
        )
        .y_axis(
            ChartAxis::default()
                .title("log count")
                .bounds([0.0, top])
                .labels(["1".to_string(), format!("1e{top}")]),
        );
    frame.render_widget(chart, chart_area);
}

/// The areas the Preview's statistics are of, each with its label: the box about the
/// cursor, a typed section, or each amplifier's data section.
fn stats_areas(result: &ImageResult, look: &Look) -> Vec<(String, Section)> {
    let master = &result.outcome.master;
    match &look.stats {
        None => Vec::new(),
        Some(StatsOf::Cursor) => vec![(
            String::new(),
            box_about(look.cursor, (master.cols(), master.rows())),
        )],
        // A section typed for another image keeps to this one's pixels.
        Some(StatsOf::Fixed(section)) => {
            let within = Section {
                rows: section.rows.start.min(master.rows())..section.rows.end.min(master.rows()),
                cols: section.cols.start.min(master.cols())..section.cols.end.min(master.cols()),
            };
            vec![(String::new(), within)]
        }
        Some(StatsOf::Amplifiers) => result
            .loaded
            .set
            .plan
            .amplifiers
            .iter()
            .map(|amp| (format!("{} ", amp.name), amp.data.clone()))
            .collect(),
    }
}

/// Lines the Preview's statistics take.
pub fn stats_lines(result: &ImageResult, look: &Look) -> u16 {
    stats_areas(result, look).len().min(8) as u16
}

/// The image as ds9 shows it, whole or zoomed on the cursor, with the cursor's readout,
/// and the pixel-stack inspector of the cursor pixel when asked for.
pub fn preview(
    frame: &mut Frame,
    theme: &Theme,
    result: &ImageResult,
    look: Look,
    graphic: Option<&ratatui_image::protocol::Protocol>,
    area: Rect,
) {
    let master = &result.outcome.master;
    let (area, panel) = preview_split(area, look.inspect);
    if let Some(panel) = panel {
        inspector::draw(frame, theme, result, look.cursor, panel);
    }
    let [image, readout, stats_line, legend] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(stats_lines(result, &look)),
        Constraint::Length(1),
    ])
    .areas(area);
    let (cols, rows) = (master.cols(), master.rows());
    if cols == 0 || rows == 0 {
        return;
    }
    let (cx, cy) = look.cursor;
    let magnification = magnification(look.zoom);
    let frames = result.loaded.set.resident().unwrap_or_default();
    let view = ImageView::of(result, &look, image);
    let ImageView {
        plane,
        shown_frame,
        stretch,
        marks,
        hot_above,
        ..
    } = view;
    let (low, high, scale) = (stretch.low, stretch.high, view.window.scale);
    let raw = frames.get(shown_frame);
    match graphic {
        Some(protocol) => frame.render_widget(ratatui_image::Image::new(protocol), image),
        None => frame.render_widget(view.half_blocks(&look, theme.mono, image), image),
    }
    let value = plane.value(cy, cx);
    let bad = if plane.at(cy, cx).is_none() {
        " bad"
    } else {
        ""
    };
    let value = match plane {
        Plane::Rejections(_) => format!(
            "{value} of {} frames left out",
            result.loaded.set.frame_count()
        ),
        _ => format!(
            "{value:.3} e- ({:.1} ADU){bad}",
            f64::from(value) / result.loaded.set.plan.gain
        ),
    };
    let zoom = if look.zoom == 0 {
        "whole frame".to_string()
    } else if scale >= 1.0 {
        format!("zoom ×{magnification}, {scale:.1} px per dot")
    } else {
        format!("zoom ×{magnification}, {:.1} dots per px", 1.0 / scale)
    };
    let text = format!(
        "x {} y {}  {value}  QUAL {}  ERRS {:.3}  {zoom}",
        cx + 1,
        cy + 1,
        master.qual[[cy, cx]],
        master.errs_at(cy * master.cols() + cx),
    );
    frame.render_widget(Paragraph::new(Line::styled(text, theme.title)), readout);
    let areas = stats_areas(result, &look);
    let unit = match plane {
        Plane::Rejections(_) => "frames",
        _ => "e-",
    };
    let lines: Vec<Line> = areas
        .iter()
        .map(|(label, section)| {
            let (pixels, sampled) = pixels_of(section);
            let sampled = if sampled { ", sampled" } else { "" };
            let label = format!("{label}{section}");
            let text = match stats(pixels.map(|(r, c)| plane.at(r, c))) {
                Some(s) => format!(
                    "{label} {} px{sampled}: mean {:.3} median {:.3} σ {:.3} robust σ {:.3} min {:.3} max {:.3} {unit} · bad {}",
                    section.pixels(),
                    s.mean,
                    s.median,
                    s.std,
                    s.robust_std,
                    s.min,
                    s.max,
                    s.bad
                ),
                None => format!("{label}: no good pixel"),
            };
            Line::styled(text, theme.header)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), stats_line);
    let shown = match (plane, raw) {
        (Plane::Raw(_), Some(f)) => format!("raw {}/{} {}", shown_frame + 1, frames.len(), f.name),
        (Plane::MinusMaster(..), Some(f)) => {
            format!(
                "raw {}/{} {} − master",
                shown_frame + 1,
                frames.len(),
                f.name
            )
        }
        (Plane::Rejections(_), _) => "frames the stack left out (white: all)".to_string(),
        _ => "master".to_string(),
    };
    let shown = match plane {
        // Zoomed out, these views draw each dot's largest pixel, so one shows.
        Plane::MinusMaster(..) | Plane::Rejections(_) if scale > 1.0 => {
            format!("{shown}, dot = its highest pixel")
        }
        _ => shown,
    };
    let shown = match hot_above {
        Some(hot) => format!("{shown} · magenta > {hot:.1} e-"),
        None => shown,
    };
    let marked = match look.marks {
        BadMarks::Auto => format!("{} (auto, b)", marks.name()),
        _ => format!("{} (b)", marks.name()),
    };
    let marked = if theme.mono {
        marked.replace("red", "X")
    } else {
        marked
    };
    let limits = if view.regions.is_empty() {
        format!("{low:.1}–{high:.1} e-")
    } else {
        let each: Vec<String> = result
            .loaded
            .set
            .plan
            .amplifiers
            .iter()
            .zip(&view.regions)
            .map(|(amp, (_, s))| format!("{} {:.1}–{:.1}", amp.name, s.low, s.high))
            .collect();
        format!("per amplifier ({}) e-", each.join(", "))
    };
    let text = format!(
        "{shown} · {} {} {limits} · {marked} · {cols}×{rows}, row 1 at the bottom",
        look.limits.name(),
        look.transfer.name(),
    );
    frame.render_widget(Paragraph::new(Line::styled(text, theme.dim)), legend);
}

/// Each frame's level, noise, clipped and rejected pixels, and the level drift.
pub fn frames(
    frame: &mut Frame,
    theme: &Theme,
    result: &ImageResult,
    table_state: &mut TableState,
    area: Rect,
) {
    let master = &result.outcome.master;
    let pixels = (master.rows() * master.cols()).max(1) as f64;
    // The numbers' columns and the spaces between the five.
    let name_width = usize::from(area.width)
        .saturating_sub(9 + 8 + 7 + 8 + 4)
        .max(8);
    let names: Vec<&str> = master
        .frames
        .iter()
        .map(|f| f.name.trim_end_matches(".gz").trim_end_matches(".fits"))
        .collect();
    let rows: Vec<Row> = master
        .frames
        .iter()
        .zip(apart(&names, name_width))
        .map(|(f, name)| {
            Row::new(vec![
                name,
                format!("{:.3}", f.level),
                format!("{:.3}", f.noise),
                f.frame_clipped.to_string(),
                format!("{:.2} %", 100.0 * f.stack_rejected as f64 / pixels),
            ])
        })
        .collect();
    let [table_area, drift_area] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(5)]).areas(area);
    let header =
        Row::new(["frame", "level e-", "noise e-", "clipped", "rejected"]).style(theme.header);
    let table = Table::new(
        rows,
        [
            Constraint::Fill(1),
            Constraint::Length(9),
            Constraint::Length(8),
            Constraint::Length(7),
            Constraint::Length(8),
        ],
    )
    .header(header)
    .row_highlight_style(theme.cursor);
    frame.render_stateful_widget(table, table_area, table_state);

    let levels: Vec<f64> = master.frames.iter().map(|f| f.level).collect();
    let min = levels.iter().copied().fold(f64::INFINITY, f64::min);
    let max = levels.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    // The QC tab's LEVEL DRIFT and LEVEL RANGE, so both tabs tell the same story.
    let qc = &result.outcome.qc;
    let caption = match (qc.get("LEVEL DRIFT"), qc.get("LEVEL RANGE")) {
        (Some(drift), Some(range)) => format!(
            "level drift {:+.3} e-/frame, range {:.3} e-",
            drift.value, range.value
        ),
        _ => "level drift: needs two frames".to_string(),
    };

    let [map, label, scale, spark] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Fill(1),
    ])
    .areas(drift_area);
    let scale_text = format!("bars by frame, {min:.3} to {max:.3} e-");
    frame.render_widget(Paragraph::new(Line::styled(scale_text, theme.dim)), scale);
    // Which static bad-pixel map FPN FRACMAX and RAW RON left out: a QC that differs
    // from soxspipe's often differs for this.
    let map_caption = Line::styled(bad_pixel_map_caption(result), theme.dim);
    frame.render_widget(Paragraph::new(map_caption), map);
    frame.render_widget(Paragraph::new(Line::styled(caption, theme.dim)), label);
    // Each frame's bar is as wide as the frames share the width: the drift is read
    // across the pane, not in its first columns.
    let width = usize::from(spark.width).max(1);
    let data: Vec<u64> = (0..width)
        .filter_map(|x| levels.get(x * levels.len() / width))
        .map(|l| 1 + ((l - min) * 1000.0) as u64)
        .collect();
    frame.render_widget(Sparkline::default().data(&data).style(theme.gauge), spark);
}

/// The master's bad pixels grouped (columns, rows, clusters, single pixels), one line
/// each; Enter shows the chosen one in the Preview.
pub fn defects(
    frame: &mut Frame,
    theme: &Theme,
    result: &ImageResult,
    table_state: &mut TableState,
    area: Rect,
) {
    let defects = &result.view.defects;
    let count = |kind: DefectKind| defects.iter().filter(|d| d.kind == kind).count();
    let bad: usize = defects.iter().map(|d| d.count).sum();
    let [caption, table_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
    let text = if defects.is_empty() {
        "no bad pixel".to_string()
    } else {
        format!(
            "{bad} bad pixels: {} column(s), {} row(s), {} cluster(s), {} single · ↑↓ choose · Enter shows it",
            count(DefectKind::Column),
            count(DefectKind::Row),
            count(DefectKind::Cluster),
            count(DefectKind::Pixel),
        )
    };
    frame.render_widget(Paragraph::new(Line::styled(text, theme.title)), caption);
    if table_state.selected().is_none() && !defects.is_empty() {
        table_state.select(Some(0));
    }
    let rows: Vec<Row> = defects
        .iter()
        .map(|d| {
            let (x, y) = d.at;
            Row::new(vec![
                d.kind.name().to_string(),
                d.section.to_string(),
                format!("x {} y {}", x + 1, y + 1),
                d.count.to_string(),
            ])
        })
        .collect();
    let header = Row::new(["kind", "FITS section", "shown at", "pixels"]).style(theme.header);
    let table = Table::new(
        rows,
        [
            Constraint::Length(8),
            Constraint::Length(24),
            Constraint::Length(16),
            Constraint::Length(8),
        ],
    )
    .header(header)
    .row_highlight_style(theme.cursor);
    frame.render_stateful_widget(table, table_area, table_state);
}
