//! The status bar: progress while a stack runs, else the last notice, else the focused
//! pane's key hints.

use mbias::progress::Stage;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{LineGauge, Paragraph};

use crate::console::theme::Theme;

/// The status bar's message: what the last action did, or why it could not.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub text: String,
    pub error: bool,
}

impl Notice {
    pub fn info(text: impl Into<String>) -> Notice {
        Notice {
            text: text.into(),
            error: false,
        }
    }

    pub fn error(text: impl Into<String>) -> Notice {
        Notice {
            text: text.into(),
            error: true,
        }
    }
}

/// Overall progress of a stack: reading is the slow part of a first stack.
fn overall(stage: Stage) -> f64 {
    match stage {
        Stage::Reading { .. } => 0.5 * stage.fraction(),
        Stage::FrameClip { .. } => 0.5 + 0.1 * stage.fraction(),
        Stage::Stacking { .. } => 0.6 + 0.3 * stage.fraction(),
        Stage::Qc | Stage::Writing => 0.95,
    }
}

/// Draws the bar: the running stack's `stage` outranks the `notice`, which outranks the
/// `hints`.
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
    stage: Option<Stage>,
    notice: Option<&Notice>,
    hints: &str,
) {
    if let Some(stage) = stage {
        let [gauge, text] =
            Layout::horizontal([Constraint::Fill(1), Constraint::Length(30)]).areas(area);
        // Without colour the filled part must differ in shape, not only in weight.
        let filled = if theme.mono { "█" } else { "━" };
        frame.render_widget(
            LineGauge::default()
                .ratio(overall(stage).clamp(0.0, 1.0))
                .label(format!("{stage} "))
                .filled_symbol(filled)
                .filled_style(theme.gauge),
            gauge,
        );
        frame.render_widget(
            Paragraph::new(Line::styled(" Esc cancels · q quits", theme.dim)),
            text,
        );
        return;
    }
    let line = match notice {
        Some(n) => Line::from(vec![
            Span::styled(
                n.text.clone(),
                if n.error { theme.error } else { theme.title },
            ),
            Span::styled("  (? help)", theme.dim),
        ]),
        None => Line::styled(hints, theme.dim),
    };
    frame.render_widget(Paragraph::new(line), area);
}
