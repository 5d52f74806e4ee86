//! The image preview: two pixels per character cell with the upper half block `▀`
//! (foreground = upper pixel, background = lower). Works in any terminal; in monochrome it
//! falls back to an ASCII brightness ramp.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::widgets::Widget;

use crate::console::view::Preview;

const RAMP: &[u8] = b" .:-=+*#%@";

pub struct HalfBlock<'a> {
    pub preview: &'a Preview,
    pub mono: bool,
}

/// A sample of the preview at a point of a `width × height` grid, stretched to 0..=1;
/// `None` for a bad block.
fn sample(p: &Preview, x: usize, y: usize, width: usize, height: usize) -> Option<f32> {
    let col = (x * p.cols / width.max(1)).min(p.cols.saturating_sub(1));
    let row = (y * p.rows / height.max(1)).min(p.rows.saturating_sub(1));
    let i = row * p.cols + col;
    if p.bad.get(i).copied().unwrap_or(true) {
        return None;
    }
    let v = p.values.get(i).copied().unwrap_or(f32::NAN);
    let span = (p.high - p.low).max(f32::EPSILON);
    Some(((v - p.low) / span).clamp(0.0, 1.0))
}

/// A grey of the xterm 256-colour ramp (232–255), which terminals over ssh render.
fn grey(v: f32) -> Color {
    Color::Indexed(232 + (v * 23.0).round() as u8)
}

impl Widget for HalfBlock<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (w, h) = (usize::from(area.width), usize::from(area.height));
        if self.preview.values.is_empty() {
            return;
        }
        for cy in 0..h {
            for cx in 0..w {
                let top = sample(self.preview, cx, 2 * cy, w, 2 * h);
                let bottom = sample(self.preview, cx, 2 * cy + 1, w, 2 * h);
                let cell = &mut buf[(area.x + cx as u16, area.y + cy as u16)];
                if self.mono {
                    let symbol = match (top, bottom) {
                        (Some(a), Some(b)) => {
                            let level = ((a + b) / 2.0 * (RAMP.len() - 1) as f32).round() as usize;
                            char::from(RAMP[level.min(RAMP.len() - 1)])
                        }
                        _ => 'X',
                    };
                    cell.set_char(symbol);
                } else {
                    cell.set_char('▀');
                    cell.set_fg(top.map_or(Color::Red, grey));
                    cell.set_bg(bottom.map_or(Color::Red, grey));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preview() -> Preview {
        Preview {
            cols: 2,
            rows: 2,
            values: vec![0.0, 10.0, 5.0, 5.0],
            bad: vec![false, false, false, true],
            low: 0.0,
            high: 10.0,
        }
    }

    #[test]
    fn monochrome_ramp_and_bad_blocks() {
        let p = preview();
        let mut buf = Buffer::empty(Rect::new(0, 0, 2, 1));
        HalfBlock {
            preview: &p,
            mono: true,
        }
        .render(buf.area, &mut buf);
        // left: (0 + 0.5)/2 = 0.25 -> ':' ; right: lower block bad -> 'X'
        assert_eq!(buf, Buffer::with_lines([":X"]));
    }

    #[test]
    fn colour_uses_grey_ramp_and_red_for_bad() {
        let p = preview();
        let mut buf = Buffer::empty(Rect::new(0, 0, 2, 1));
        HalfBlock {
            preview: &p,
            mono: false,
        }
        .render(buf.area, &mut buf);
        assert_eq!(buf[(0, 0)].fg, Color::Indexed(232));
        assert_eq!(buf[(1, 0)].fg, Color::Indexed(255));
        assert_eq!(buf[(1, 0)].bg, Color::Red);
    }
}
