//! Values typed on the results pane's last line: a pixel to go to (`g` on the Preview), a
//! row or column (`g` on the Profile), a band width (`a`). Numbers are FITS's, 1-based.

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use mbias::detector::Section;

use super::{ResultsPane, StatsOf};
use crate::console::panes::Request;
use crate::console::status::Notice;
use crate::console::view::{Axis, Limits};

/// What a prompt asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asks {
    /// A pixel, `x y`.
    Pixel,
    /// A row (or column) of the Profile's axis.
    Line,
    /// How many rows (or columns) the Profile averages.
    Band,
    /// A section for statistics, `[x1:x2,y1:y2]`.
    Section,
    /// The percentiles the Preview is stretched between, `0.5 99.5`.
    Percentiles,
}

/// A value being typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub asks: Asks,
    pub text: String,
}

impl Prompt {
    pub fn new(asks: Asks) -> Prompt {
        Prompt {
            asks,
            text: String::new(),
        }
    }
}

/// The whole numbers in `text`, whatever separates them (`632 88`, `632,88`, `[632:88]`);
/// `None` if anything else is in it.
fn numbers(text: &str) -> Option<Vec<usize>> {
    text.split(|c: char| c.is_whitespace() || matches!(c, ',' | '[' | ']' | ':'))
        .filter(|t| !t.is_empty())
        .map(|t| t.parse().ok())
        .collect()
}

/// Two percentiles `low high` (0 to 100, a tenth at most, low below high), in tenths of a
/// percent.
fn percentiles(text: &str) -> Option<(u16, u16)> {
    let values: Vec<f64> = text
        .split(|c: char| c.is_whitespace() || c == ',' || c == '%')
        .filter(|t| !t.is_empty())
        .map(|t| t.parse().ok())
        .collect::<Option<_>>()?;
    let tenths = |v: f64| {
        let t = (v * 10.0).round();
        ((0.0..=1000.0).contains(&t) && (v * 10.0 - t).abs() < 1e-6).then_some(t as u16)
    };
    match values.as_slice() {
        [low, high] => {
            let (low, high) = (tenths(*low)?, tenths(*high)?);
            (low < high).then_some((low, high))
        }
        _ => None,
    }
}

impl ResultsPane {
    /// What the prompt says before what is typed.
    pub fn prompt_label(&self, asks: Asks) -> String {
        let (cols, rows) = self.shown().map_or((0, 0), |i| {
            (i.outcome.master.cols(), i.outcome.master.rows())
        });
        let (line, len) = match self.axis() {
            Axis::Columns => ("row", rows),
            Axis::Rows => ("column", cols),
        };
        match asks {
            Asks::Pixel => format!("go to pixel x y (1–{cols}, 1–{rows})"),
            Asks::Line => format!("go to {line} (1–{len})"),
            Asks::Band => format!("{line}s to average about the cursor's (1–{len})"),
            Asks::Section => format!("statistics of section [x1:x2,y1:y2] (1–{cols}, 1–{rows})"),
            Asks::Percentiles => "stretch between percentiles low high (e.g. 0.5 99.5)".to_string(),
        }
    }

    /// A key while a value is typed: Enter takes it, Esc drops it, Backspace erases.
    pub fn on_prompt_key(&mut self, key: KeyEvent) -> Request {
        let Some(prompt) = self.prompt.as_mut() else {
            return Request::Nothing;
        };
        match key.code {
            KeyCode::Char(c) if !c.is_control() => prompt.text.push(c),
            KeyCode::Backspace => {
                prompt.text.pop();
            }
            KeyCode::Esc => {
                self.prompt = None;
                return Request::Notice(Notice::info("nothing changed"));
            }
            KeyCode::Enter => {
                if let Some(prompt) = self.prompt.take() {
                    return self.answer(&prompt);
                }
            }
            _ => {}
        }
        Request::Nothing
    }

    /// Carries out a typed value, or says why it cannot be.
    fn answer(&mut self, prompt: &Prompt) -> Request {
        let Some(master) = self.shown().map(|i| &i.outcome.master) else {
            return Request::Nothing;
        };
        let (cols, rows) = (master.cols(), master.rows());
        let across = match self.axis() {
            Axis::Columns => rows,
            Axis::Rows => cols,
        };
        let refuse = |why: String| Request::Notice(Notice::error(why));
        if prompt.asks == Asks::Percentiles {
            return match percentiles(&prompt.text) {
                Some((low, high)) => {
                    self.limits = Limits::Percentile { low, high };
                    Request::Nothing
                }
                None => refuse(format!(
                    "{:?} is not two percentiles, low below high, from 0 to 100 (to a tenth); \
                     nothing changed",
                    prompt.text
                )),
            };
        }
        let within = |v: usize, len: usize| (1..=len).contains(&v);
        match (prompt.asks, numbers(&prompt.text).as_deref()) {
            (Asks::Pixel, Some(&[x, y])) if within(x, cols) && within(y, rows) => {
                self.cursor = Some((x - 1, y - 1));
                Request::Notice(Notice::info(format!("cursor on x {x} y {y}")))
            }
            (Asks::Line, Some(&[i])) if within(i, across) => {
                self.go_to_line(i - 1);
                Request::Nothing
            }
            (Asks::Band, Some(&[width])) if within(width, across) => {
                self.band = width;
                self.line = true;
                Request::Nothing
            }
            (Asks::Section, Some(&[x0, x1, y0, y1]))
                if x0 <= x1
                    && y0 <= y1
                    && within(x0, cols)
                    && within(x1, cols)
                    && within(y0, rows)
                    && within(y1, rows) =>
            {
                let section = Section {
                    rows: y0 - 1..y1,
                    cols: x0 - 1..x1,
                };
                self.stats = Some(StatsOf::Fixed(section));
                self.cursor = Some(((x0 + x1) / 2 - 1, (y0 + y1) / 2 - 1));
                Request::Nothing
            }
            _ => refuse(format!(
                "{:?} is not {}; nothing changed",
                prompt.text,
                self.prompt_label(prompt.asks).trim_start_matches("go to ")
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::numbers;

    #[test]
    fn percentiles_are_two_tenths_in_order() {
        use super::percentiles;
        assert_eq!(percentiles("0.5 99.5"), Some((5, 995)));
        assert_eq!(percentiles("1, 99 %"), Some((10, 990)));
        for bad in ["99 1", "0.55 99", "-1 50", "5", "a b", "10 101"] {
            assert_eq!(percentiles(bad), None, "{bad}");
        }
    }

    #[test]
    fn numbers_take_any_separator_and_refuse_anything_else() {
        assert_eq!(numbers("632 88"), Some(vec![632, 88]));
        assert_eq!(numbers("[632,88]"), Some(vec![632, 88]));
        assert_eq!(numbers(" 7 "), Some(vec![7]));
        assert_eq!(numbers("3.5"), None);
        assert_eq!(numbers("-1"), None);
        assert_eq!(numbers(""), Some(vec![]));
    }
}
