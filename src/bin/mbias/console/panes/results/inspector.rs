//! The pixel-stack inspector beside the Preview (`p`): the cursor pixel followed through
//! the recipe — each frame's value, its own whole-frame clip, what the stack clip did with
//! it and in which round, every round's centre and bounds, and the master's value, error
//! and flag. The numbers are the engine's ([`mbias::algorithm::inspect_pixel`]), not
//! worked out again here.

use mbias::algorithm::{BadBecause, PixelInspection, Verdict};
use mbias::params::{Combine, Rejection};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::console::msg::ImageResult;
use crate::console::text::middle;
use crate::console::theme::Theme;

/// Columns the inspector takes beside the image on a wide pane.
pub const WIDTH: u16 = 70;

/// Draws the inspection of master pixel `cursor` (column, row; 0-based) in `area`.
pub fn draw(
    frame: &mut Frame,
    theme: &Theme,
    result: &ImageResult,
    cursor: (usize, usize),
    area: Rect,
) {
    let block = Block::new()
        .borders(Borders::LEFT | Borders::TOP)
        .border_style(theme.border)
        .title(Span::styled(
            format!(" Pixel stack x {} y {} ", cursor.0 + 1, cursor.1 + 1),
            theme.title,
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lines = match result.outcome.inspect(&result.loaded, cursor) {
        Some(seen) => lines(theme, result, &seen, inner),
        None => vec![Line::raw("no frames in memory for this pixel")],
    };
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The inspection as lines fitted to `area`: the frames (the ones the stack dropped
/// first when they do not all fit), the rounds, the result.
fn lines(
    theme: &Theme,
    result: &ImageResult,
    seen: &PixelInspection,
    area: Rect,
) -> Vec<Line<'static>> {
    let master = &result.outcome.master;
    let n = seen.frames.len();
    let mut out = Vec::new();
    let method = match master.method.rejection {
        Rejection::MinMax { low, high } => format!("minmax -{low} +{high}"),
        rejection => format!(
            "{} σ {} × {}",
            rejection.name(),
            master.params.stacked_clipping_sigma,
            master.params.stacked_clipping_iterations
        ),
    };
    out.push(Line::styled(
        format!(
            "{n} frames · {method} · {} {}",
            master.version.name(),
            master.numerics.name()
        ),
        theme.dim,
    ));
    // The result comes first: it is what the operator asked about.
    out.extend(result_lines(
        theme,
        seen,
        master.method.combine,
        master.mean_level,
    ));
    let rounds = rounds(seen, master.method.rejection);
    let width = usize::from(area.width);
    let name_width = width.saturating_sub(53).clamp(8, 24);
    let gain = result.loaded.set.plan.gain;
    out.push(Line::styled(
        format!(
            "{:>3} {:<name_width$} {:>10} {:>9} {:>9} {:>4} {}",
            "#", "frame", "e-", "ADU", "−level", "own", "stack"
        ),
        theme.header,
    ));
    let room = usize::from(area.height).saturating_sub(out.len() + rounds.len());
    // Dropped values first when they do not all fit: they are why one looks.
    let mut order: Vec<usize> = (0..n).collect();
    if n > room {
        order.sort_by_key(|&k| seen.frames[k].verdict == Verdict::Kept);
    }
    let shown = if n > room { room.saturating_sub(1) } else { n };
    for &k in order.iter().take(shown) {
        let f = &seen.frames[k];
        let (verdict, style) = verdict_text(theme, f.verdict, seen.stack.is_some());
        out.push(Line::from(vec![
            Span::raw(format!(
                "{:>3} {:<name_width$} {:>10} {:>9} {:>9} {:>4} ",
                k + 1,
                middle(&f.name, name_width),
                number(f64::from(f.electrons), 10, false),
                number(f64::from(f.electrons) / gain, 9, false),
                number(f64::from(f.noise), 9, true),
                if f.frame_clipped { "clip" } else { "" },
            )),
            Span::styled(verdict, style),
        ]));
    }
    if shown < n {
        let kept = order[shown..]
            .iter()
            .filter(|&&k| seen.frames[k].verdict == Verdict::Kept)
            .count();
        out.push(Line::styled(
            format!("… {} more ({kept} kept)", n - shown),
            theme.dim,
        ));
    }
    out.extend(rounds);
    out
}

/// The master's value at the pixel and how it came about.
fn result_lines(
    theme: &Theme,
    seen: &PixelInspection,
    combine: Combine,
    level: f64,
) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let combined = match &seen.stack {
        Some(stack) if stack.used > 0 => format!(
            "{} of {} kept {:+.3} e- + level {level:.3}",
            combine.name(),
            stack.used,
            stack.combined
        ),
        Some(_) => "no value kept".to_string(),
        None => "one frame, passed through unclipped".to_string(),
    };
    out.push(Line::raw(combined));
    let flag = match seen.qual {
        0 => Span::styled("QUAL 0".to_string(), theme.pass),
        q => Span::styled(format!("QUAL {q}"), theme.fail),
    };
    out.push(Line::from(vec![
        Span::styled(
            format!("FLUX {:.3} e-  ERRS {:.3}  ", seen.flux, seen.errs),
            theme.title,
        ),
        flag,
    ]));
    if let Some(why) = seen.bad_because {
        let why = match why {
            BadBecause::EveryFrameMasked => "every frame's own clip masked it".to_string(),
            BadBecause::NoFrameKept => "the stack kept no frame".to_string(),
            BadBecause::PostClip(b) => format!(
                "the post-stack clip ({} … {}) rejected it",
                number(b.lower, 0, true),
                number(b.upper, 0, true)
            ),
        };
        out.push(Line::styled(format!("bad: {why}"), theme.fail));
    }
    out
}

/// Each clip round: its centre, spread and bounds, and how many values it kept.
fn rounds(seen: &PixelInspection, rejection: Rejection) -> Vec<Line<'static>> {
    // The noise model's bounds are σ read noises wide; the median clip's σ MAD-stds.
    let spread = if rejection == Rejection::NoiseModel {
        "RON"
    } else {
        "σ"
    };
    seen.rounds()
        .iter()
        .enumerate()
        .map(|(i, r)| {
            Line::raw(format!(
                "round {}: centre {} {spread} {} → {} … {}, {} kept",
                i + 1,
                number(r.centre, 0, true),
                number(r.spread, 0, false),
                number(r.lower, 0, true),
                number(r.upper, 0, true),
                r.kept
            ))
        })
        .collect()
}

/// `v` in at most `width` characters where it can be (two decimals, or three significant
/// digits with an exponent for a value as large as a wrapped 32-bit pixel), with its sign
/// if `signed`.
fn number(v: f64, width: usize, signed: bool) -> String {
    let fixed = if signed {
        format!("{v:+.2}")
    } else {
        format!("{v:.2}")
    };
    if fixed.chars().count() <= width.max(9) {
        return fixed;
    }
    if signed {
        format!("{v:+.3e}")
    } else {
        format!("{v:.3e}")
    }
}

/// A verdict in words, and how it is drawn.
fn verdict_text(theme: &Theme, verdict: Verdict, stacked: bool) -> (String, Style) {
    match verdict {
        Verdict::Kept if !stacked => ("passed through".to_string(), Style::new()),
        Verdict::Kept => ("kept".to_string(), theme.pass),
        Verdict::Round(r) => (format!("✗ round {r}"), theme.fail),
        Verdict::Extreme => ("✗ min/max".to_string(), theme.fail),
        Verdict::LeftOut => ("✗ own clip".to_string(), theme.warn),
        Verdict::NotFinite => ("✗ not finite".to_string(), theme.fail),
    }
}
