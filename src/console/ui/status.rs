//! The status bar: progress while a stack runs, else the last message, else key hints.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{LineGauge, Paragraph};

use crate::console::app::{App, Focus, Job};
use mbias::progress::Stage;

fn hints(focus: Focus) -> &'static str {
    match focus {
        Focus::Files => {
            "Space select · a all valid · s stack · Enter open · Tab pane · ? help · q quit"
        }
        Focus::Params => "↑↓ choose · ←→ change · Enter type · s stack · Tab pane · ? help",
        Focus::Results => "←→ tab · x rows/cols · ↑↓ row/col · w write · S save settings · ? help",
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

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let theme = app.theme;
    if let Job::Stacking { stage, .. } = app.job {
        let [gauge, text] =
            Layout::horizontal([Constraint::Fill(1), Constraint::Length(30)]).areas(area);
        frame.render_widget(
            LineGauge::default()
                .ratio(overall(stage).clamp(0.0, 1.0))
                .label(format!("{stage} "))
                .filled_style(theme.gauge),
            gauge,
        );
        frame.render_widget(
            Paragraph::new(Line::styled(" Esc cancels · q quits", theme.dim)),
            text,
        );
        return;
    }
    let line = match &app.notice {
        Some(n) => Line::from(vec![
            Span::styled(
                n.text.clone(),
                if n.error { theme.error } else { theme.title },
            ),
            Span::styled("  (? help)", theme.dim),
        ]),
        None => Line::styled(hints(app.focus), theme.dim),
    };
    frame.render_widget(Paragraph::new(line), area);
}
