//! Named styles, in colour or (with `NO_COLOR`) in monochrome using only modifiers.

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Theme {
    pub mono: bool,
    pub border: Style,
    pub focused_border: Style,
    pub title: Style,
    pub header: Style,
    pub cursor: Style,
    pub selected: Style,
    pub dim: Style,
    pub pass: Style,
    pub fail: Style,
    pub warn: Style,
    pub error: Style,
    pub gauge: Style,
    pub key: Style,
}

impl Theme {
    pub fn colour() -> Theme {
        Theme {
            mono: false,
            border: Style::new().fg(Color::DarkGray),
            focused_border: Style::new().fg(Color::Cyan),
            title: Style::new().add_modifier(Modifier::BOLD),
            header: Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            cursor: Style::new()
                .bg(Color::Indexed(237))
                .add_modifier(Modifier::BOLD),
            selected: Style::new().fg(Color::Cyan),
            dim: Style::new().fg(Color::DarkGray),
            pass: Style::new().fg(Color::Green),
            fail: Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            warn: Style::new().fg(Color::Yellow),
            error: Style::new().fg(Color::Red),
            gauge: Style::new().fg(Color::Cyan),
            key: Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
        }
    }

    /// For `NO_COLOR`: everything is told apart by bold, reverse, underline and text.
    pub fn mono() -> Theme {
        let plain = Style::new();
        Theme {
            mono: true,
            border: plain,
            focused_border: plain.add_modifier(Modifier::BOLD),
            title: plain.add_modifier(Modifier::BOLD),
            header: plain.add_modifier(Modifier::UNDERLINED),
            cursor: plain.add_modifier(Modifier::REVERSED),
            selected: plain.add_modifier(Modifier::BOLD),
            dim: plain,
            pass: plain,
            fail: plain.add_modifier(Modifier::BOLD),
            warn: plain,
            error: plain.add_modifier(Modifier::BOLD),
            gauge: plain.add_modifier(Modifier::BOLD),
            key: plain.add_modifier(Modifier::BOLD),
        }
    }

    /// Monochrome when `NO_COLOR` is set to anything non-empty (no-color.org).
    pub fn from_env() -> Theme {
        match std::env::var_os("NO_COLOR") {
            Some(v) if !v.is_empty() => Theme::mono(),
            _ => Theme::colour(),
        }
    }
}
