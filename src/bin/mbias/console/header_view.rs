//! The header viewer (`i` on a frame): every card of the frame's HDUs, scrolled with the
//! arrows and searched with `/` (then `n` for the next match), over the whole screen.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::console::theme::Theme;

/// A header on screen: its lines, the first one shown, and the search.
#[derive(Debug, Clone, PartialEq)]
pub struct HeaderView {
    pub title: String,
    pub lines: Vec<String>,
    pub top: usize,
    /// The text being typed after `/`, while it is typed.
    pub typing: Option<String>,
    /// The last search, which `n` repeats.
    pub query: String,
    /// What the last search found (or did not).
    pub note: String,
}

/// Lines a page key moves.
const PAGE: usize = 20;

impl HeaderView {
    pub fn new(title: String, lines: Vec<String>) -> HeaderView {
        HeaderView {
            title,
            lines,
            top: 0,
            typing: None,
            query: String::new(),
            note: String::new(),
        }
    }

    /// A key; returns whether the viewer closes.
    pub fn on_key(&mut self, key: &KeyEvent) -> bool {
        if let Some(text) = self.typing.as_mut() {
            match key.code {
                KeyCode::Enter => {
                    self.query = self.typing.take().unwrap_or_default();
                    self.find_from(self.top);
                }
                KeyCode::Esc => self.typing = None,
                KeyCode::Backspace => {
                    text.pop();
                }
                KeyCode::Char(c) => text.push(c),
                _ => {}
            }
            return false;
        }
        let last = self.lines.len().saturating_sub(1);
        match key.code {
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('i') => return true,
            KeyCode::Up | KeyCode::Char('k') => self.top = self.top.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => self.top = (self.top + 1).min(last),
            KeyCode::PageUp => self.top = self.top.saturating_sub(PAGE),
            KeyCode::PageDown => self.top = (self.top + PAGE).min(last),
            KeyCode::Home | KeyCode::Char('g') => self.top = 0,
            KeyCode::End | KeyCode::Char('G') => self.top = last,
            KeyCode::Char('/') => self.typing = Some(String::new()),
            KeyCode::Char('n') => self.find_from(self.top + 1),
            _ => {}
        }
        false
    }

    /// Brings the first line from `start` on (wrapping round) that holds the query, case
    /// aside, to the top.
    fn find_from(&mut self, start: usize) {
        if self.query.is_empty() || self.lines.is_empty() {
            return;
        }
        let query = self.query.to_lowercase();
        let n = self.lines.len();
        let found = (0..n)
            .map(|k| (start + k) % n)
            .find(|&i| self.lines[i].to_lowercase().contains(&query));
        self.note = match found {
            Some(i) => {
                self.top = i;
                format!("'{}' on line {}", self.query, i + 1)
            }
            None => format!("no '{}' in this header", self.query),
        };
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        frame.render_widget(Clear, area);
        let block = Block::bordered()
            .border_style(theme.focused_border)
            .title(Line::styled(format!(" {} ", self.title), theme.title));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let [text_area, hint_area] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(inner);
        let height = usize::from(text_area.height);
        // The last page stays full: scrolling past the end shows the end.
        let top = self.top.min(self.lines.len().saturating_sub(height));
        let query = self.query.to_lowercase();
        let lines: Vec<Line> = self
            .lines
            .iter()
            .skip(top)
            .take(height)
            .map(|l| {
                if !query.is_empty() && l.to_lowercase().contains(&query) {
                    Line::styled(l.clone(), theme.selected)
                } else {
                    Line::raw(l.clone())
                }
            })
            .collect();
        frame.render_widget(Paragraph::new(lines), text_area);
        let hint = match &self.typing {
            Some(text) => Line::from(vec![
                Span::styled("search: ", theme.key),
                Span::raw(format!("{text}▏")),
                Span::styled("  Enter finds · Esc drops", theme.dim),
            ]),
            None => Line::styled(
                format!(
                    "lines {}–{} of {} · ↑↓ PgUp PgDn scroll · / search · n next · Esc closes  {}",
                    top + 1,
                    (top + height).min(self.lines.len()),
                    self.lines.len(),
                    self.note
                ),
                theme.dim,
            ),
        };
        frame.render_widget(Paragraph::new(hint), hint_area);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyModifiers;

    fn press(view: &mut HeaderView, code: KeyCode) -> bool {
        view.on_key(&KeyEvent::new(code, KeyModifiers::NONE))
    }

    #[test]
    fn scrolls_searches_and_closes() {
        let lines: Vec<String> = (0..50).map(|i| format!("KEY{i:02}   = {i}")).collect();
        let mut view = HeaderView::new("frame".into(), lines);
        press(&mut view, KeyCode::PageDown);
        assert_eq!(view.top, PAGE);
        press(&mut view, KeyCode::Home);
        for c in "/key3".chars() {
            press(&mut view, KeyCode::Char(c));
        }
        press(&mut view, KeyCode::Enter);
        assert_eq!(view.top, 30);
        press(&mut view, KeyCode::Char('n'));
        assert_eq!(view.top, 31);
        for c in "/nothing".chars() {
            press(&mut view, KeyCode::Char(c));
        }
        press(&mut view, KeyCode::Enter);
        assert_eq!(view.top, 31);
        assert!(view.note.contains("no 'nothing'"));
        assert!(!press(&mut view, KeyCode::Down));
        assert!(press(&mut view, KeyCode::Esc));
    }
}
