//! The image preview: two pixels per character cell with the upper half block `▀`
//! (foreground = upper pixel, background = lower). Works in any terminal; in monochrome it
//! falls back to an ASCII brightness ramp.
//!
//! Drawn as ds9 draws a frame: FITS row 1 at the bottom, and square pixels (a half block
//! is about as wide as it is tall in a terminal cell). Each drawn pixel covers a rectangle
//! of preview blocks: its value is their mean, and it shows red by the [`BadMarks`] rule
//! (by default any bad pixel under it, so an isolated one shows however small the image
//! is drawn).

use mbias::algorithm::{Frame, MasterBias};
use mbias::detector::Section;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::widgets::Widget;

use crate::console::view::{
    Axis, BadMarks, Preview, StretchLimits, Transfer, ZSCALE_SAMPLES, sample_limits,
};

const RAMP: &[u8] = b" .:-=+*#%@";

/// What the image is drawn from: the whole frame's preview, or a window of the master
/// itself when zoomed in.
pub enum Source<'a> {
    Fit(&'a Preview),
    Window(&'a MasterWindow<'a>),
}

/// The pixels a window shows: the master (its bad pixels red), a raw frame of the set
/// (non-finite pixels red), a raw frame minus the master, or how many frames the stack
/// left out at each pixel.
#[derive(Clone, Copy)]
pub enum Plane<'a> {
    Master(&'a MasterBias),
    Raw(&'a Frame),
    MinusMaster(&'a Frame, &'a MasterBias),
    Rejections(&'a MasterBias),
}

impl Plane<'_> {
    /// (columns, rows).
    pub fn size(&self) -> (usize, usize) {
        let (rows, cols) = match self {
            Plane::Master(m) | Plane::Rejections(m) => (m.rows(), m.cols()),
            Plane::Raw(f) | Plane::MinusMaster(f, _) => f.shape(),
        };
        (cols, rows)
    }

    /// The value at (`row`, `col`) in e-, bad or not (for the readout).
    pub fn value(&self, row: usize, col: usize) -> f32 {
        match self {
            Plane::Master(m) => m.flux[[row, col]],
            Plane::Raw(f) => f.value(row * f.shape().1 + col),
            Plane::MinusMaster(f, m) => f.value(row * f.shape().1 + col) - m.flux[[row, col]],
            Plane::Rejections(m) => rejections(m, row, col),
        }
    }

    /// The value at (`row`, `col`) in e-, `None` where it is bad.
    pub fn at(&self, row: usize, col: usize) -> Option<f32> {
        let finite = |v: f32| v.is_finite().then_some(v);
        match self {
            Plane::Master(m) => (m.qual[[row, col]] == 0).then(|| m.flux[[row, col]]),
            Plane::Raw(f) => finite(f.value(row * f.shape().1 + col)),
            Plane::MinusMaster(f, m) => {
                let raw = finite(f.value(row * f.shape().1 + col))?;
                (m.qual[[row, col]] == 0).then(|| raw - m.flux[[row, col]])
            }
            Plane::Rejections(m) => Some(rejections(m, row, col)),
        }
    }

    /// Whether every pixel a drawn pixel covers is read (the master's bad pixels, every
    /// rejection and every cosmic ray must show); a raw frame reads a grid of at most
    /// 8 × 8 of them, so a whole frame draws fast.
    fn reads_all(&self) -> bool {
        !matches!(self, Plane::Raw(_))
    }

    /// How a drawn pixel sums up the pixels it covers.
    fn pool(&self) -> Pool {
        match self {
            Plane::Master(_) | Plane::Raw(_) => Pool::Mean,
            Plane::MinusMaster(..) | Plane::Rejections(_) => Pool::Max,
        }
    }
}

/// How a drawn pixel sums up the pixels it covers: the mean shows structure; a single
/// pixel where the stack dropped a frame, or a cosmic ray in a raw frame less the master,
/// must show however far the view is zoomed out, so those views take the largest value.
#[derive(Clone, Copy, PartialEq)]
enum Pool {
    Mean,
    Max,
}

/// How many frames the stack left out at (`row`, `col`) of `master` (none for a single
/// frame, which is not clipped).
fn rejections(master: &MasterBias, row: usize, col: usize) -> f32 {
    master.used.as_ref().map_or(0.0, |used| {
        master.frames.len() as f32 - f32::from(used[[row, col]])
    })
}

/// A window of a plane: `scale` pixels per drawn pixel (below 1 when magnified), from
/// pixel (`x0`, `y0`) at the bottom left.
pub struct MasterWindow<'a> {
    pub plane: Plane<'a>,
    pub x0: f64,
    pub y0: f64,
    pub scale: f64,
    /// The master pixel under the cursor: every drawn pixel on it is marked.
    pub cursor: (usize, usize),
}

impl MasterWindow<'_> {
    /// Whether drawn pixel (`x`, `y` from the top) of a window `h` tall shows the cursor.
    fn on_cursor(&self, x: usize, y: usize, h: usize) -> bool {
        let (on_column, on_row) = self.on_cursor_lines(x, y, h);
        on_column && on_row
    }

    /// Whether drawn pixel (`x`, `y` from the top) of a window `h` tall covers the
    /// cursor's column, and its row.
    fn on_cursor_lines(&self, x: usize, y: usize, h: usize) -> (bool, bool) {
        let (cx, cy) = self.cursor;
        let (cols, rows) = self.plane.size();
        let (c0, c1) = pixel_span(self.x0, self.scale, x, cols);
        let (r0, r1) = pixel_span(self.y0, self.scale, h - 1 - y, rows);
        ((c0..c1).contains(&cx), (r0..r1).contains(&cy))
    }
}

/// How values become grey levels: between `low` and `high`, by `transfer`.
#[derive(Debug, Clone, Copy)]
pub struct Stretch {
    pub low: f32,
    pub high: f32,
    pub transfer: Transfer,
}

impl Stretch {
    fn grey_level(&self, v: f32) -> f32 {
        let span = (self.high - self.low).max(f32::EPSILON);
        self.transfer.apply(((v - self.low) / span).clamp(0.0, 1.0))
    }
}

pub struct HalfBlock<'a> {
    pub source: Source<'a>,
    pub stretch: Stretch,
    /// Which drawn pixels show red for the bad pixels they cover.
    pub marks: BadMarks,
    pub mono: bool,
    /// The drawn pixel (`x`, `y` from the top) to mark as the cursor in a whole-frame
    /// view (a window marks its own).
    pub cursor: Option<(usize, usize)>,
    /// Drawn pixels above this value show magenta: in a raw frame less the master, a
    /// cosmic ray or a hot pixel far above the stretch, which white alone would not tell
    /// from the brightest noise.
    pub hot_above: Option<f32>,
    /// The Profile shows the cursor's row (`Axis::Columns`) or column: cyan ticks at the
    /// image's edges mark it.
    pub profile: Option<Axis>,
    /// Regions of the frame (amplifiers' data) with a stretch of their own.
    pub regions: Vec<(Section, Stretch)>,
}

/// The frame's size in pixels.
fn frame_size(source: &Source<'_>) -> (usize, usize) {
    match source {
        Source::Fit(p) => (p.width, p.height),
        Source::Window(w) => w.plane.size(),
    }
}

/// Where the image goes in `area`: its size in drawn pixels (half blocks) and the cell
/// it starts at, centred, keeping the frame's shape (a magnified window fills the area).
pub fn placement(source: &Source<'_>, area: Rect) -> (usize, usize, u16, u16) {
    let (aw, ah) = (usize::from(area.width), 2 * usize::from(area.height));
    if aw == 0 || ah == 0 {
        return (0, 0, area.x, area.y);
    }
    if let Source::Window(_) = source {
        return (aw, ah, area.x, area.y);
    }
    let (width, height) = frame_size(source);
    let (fw, fh) = (width.max(1) as f64, height.max(1) as f64);
    let (w, h) = if aw as f64 / ah as f64 > fw / fh {
        (((ah as f64 * fw / fh).round() as usize).clamp(1, aw), ah)
    } else {
        (aw, ((aw as f64 * fh / fw).round() as usize).clamp(1, ah))
    };
    let x = area.x + ((aw - w) / 2) as u16;
    let y = area.y + ((ah - h) / 4) as u16;
    (w, h, x, y)
}

/// What one drawn pixel covers: the mean of its good values (`None` when it has none),
/// and its bad pixels' largest and mean fraction over what it covers.
struct Covered {
    value: Option<f32>,
    most_bad: f32,
    mean_bad: f32,
}

/// The rule `marks` comes to for a frame whose whole-frame `preview` is drawn in `area`:
/// `Auto` is `Any` unless more than a third of that drawing would be red, then `Dense`.
/// Decided on the whole frame (cheap, from the preview), and kept at every zoom.
pub fn resolve_marks(marks: BadMarks, preview: &Preview, area: Rect) -> BadMarks {
    if marks != BadMarks::Auto || preview.values.is_empty() || area.is_empty() {
        return marks;
    }
    let (w, h, _, _) = placement(&Source::Fit(preview), area);
    let marked = (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .filter(|&(x, y)| sample_preview(preview, x, y, w, h).most_bad > 0.0)
        .count();
    if marked * 3 > w * h {
        BadMarks::Dense
    } else {
        BadMarks::Any
    }
}

/// Drawn pixel (`x`, `y` from the top) of a `w × h` image of the preview.
fn sample_preview(p: &Preview, x: usize, y: usize, w: usize, h: usize) -> Covered {
    let span = |i: usize, n: usize, of: usize| {
        let lo = (i * of / n).min(of.saturating_sub(1));
        (lo, ((i + 1) * of / n).clamp(lo + 1, of))
    };
    let (c0, c1) = span(x, w, p.cols);
    // Row 0 of the preview (FITS row 1) is drawn at the bottom.
    let (r0, r1) = span(h - 1 - y, h, p.rows);
    let (mut sum, mut n, mut blocks) = (0f32, 0u32, 0u32);
    let (mut most_bad, mut bad_sum) = (0f32, 0f32);
    for r in r0..r1 {
        for c in c0..c1 {
            let i = r * p.cols + c;
            let bad = p.bad.get(i).copied().unwrap_or(1.0);
            most_bad = most_bad.max(bad);
            bad_sum += bad;
            blocks += 1;
            let v = p.values.get(i).copied().unwrap_or(f32::NAN);
            if v.is_finite() {
                sum += v;
                n += 1;
            }
        }
    }
    Covered {
        value: (n > 0).then(|| sum / n as f32),
        most_bad,
        mean_bad: bad_sum / blocks.max(1) as f32,
    }
}

/// Master pixels `[start, end)` under drawn pixel `i` of a window from `origin`, `scale`
/// pixels each (at least one pixel), within `0..len`; empty past the frame's edge.
fn pixel_span(origin: f64, scale: f64, i: usize, len: usize) -> (usize, usize) {
    let (low, high) = (origin + i as f64 * scale, origin + (i + 1) as f64 * scale);
    if high <= 0.0 {
        return (len, len);
    }
    let start = low.floor().max(0.0) as usize;
    let end = (high.floor() as usize).max(start + 1);
    (start.min(len), end.min(len))
}

/// Drawn pixel (`x`, `y` from the top) of a window `h` drawn pixels tall; `None` past
/// the frame.
fn sample_window(w: &MasterWindow<'_>, x: usize, y: usize, h: usize) -> Option<Covered> {
    let (cols, rows) = w.plane.size();
    let (c0, c1) = pixel_span(w.x0, w.scale, x, cols);
    let (r0, r1) = pixel_span(w.y0, w.scale, h - 1 - y, rows);
    if c0 >= c1 || r0 >= r1 {
        return None;
    }
    let step = |span: usize| {
        if w.plane.reads_all() {
            1
        } else {
            span.div_ceil(8).max(1)
        }
    };
    let (mut sum, mut most, mut good, mut bad) = (0f64, f32::NEG_INFINITY, 0u32, 0u32);
    for r in (r0..r1).step_by(step(r1 - r0)) {
        for c in (c0..c1).step_by(step(c1 - c0)) {
            match w.plane.at(r, c) {
                Some(v) => {
                    sum += f64::from(v);
                    most = most.max(v);
                    good += 1;
                }
                None => bad += 1,
            }
        }
    }
    let fraction = bad as f32 / (good + bad).max(1) as f32;
    let value = match w.plane.pool() {
        Pool::Mean => (sum / f64::from(good.max(1))) as f32,
        Pool::Max => most,
    };
    Some(Covered {
        value: (good > 0).then_some(value),
        most_bad: fraction,
        mean_bad: fraction,
    })
}

/// The display limits of what `window` draws on `dots` (width, height): an even sample of at most
/// [`ZSCALE_SAMPLES`] of its drawn pixels, each the pool of the pixels it covers (a pooled
/// view's values are not its pixels': the largest of many noisy pixels sits well above
/// their mean).
pub fn drawn_limits(window: &MasterWindow<'_>, (w, h): (usize, usize)) -> StretchLimits {
    let stride = (w * h / ZSCALE_SAMPLES).max(1);
    sample_limits(
        (0..w * h)
            .step_by(stride)
            .filter_map(|i| sample_window(window, i % w, i / w, h)?.value)
            .collect(),
    )
}

/// A grey of the xterm 256-colour ramp (232–255), which terminals over ssh render.
fn grey(v: f32) -> Color {
    Color::Indexed(232 + (v * 23.0).round() as u8)
}

/// What one drawn pixel shows.
#[derive(Clone, Copy, PartialEq)]
enum Shade {
    Grey(f32),
    Bad,
    Hot,
    Profile,
    Cursor,
    Outside,
}

impl Shade {
    fn colour(self) -> Color {
        match self {
            Shade::Grey(v) => grey(v),
            Shade::Bad => Color::Red,
            Shade::Hot => Color::LightMagenta,
            Shade::Profile => Color::Cyan,
            Shade::Cursor => Color::Yellow,
            Shade::Outside => Color::Reset,
        }
    }
}

impl HalfBlock<'_> {
    /// What drawn pixel (`x`, `y`) covers; `None` past the frame.
    fn covered(&self, x: usize, y: usize, w: usize, h: usize) -> Option<Covered> {
        match &self.source {
            Source::Fit(p) => Some(sample_preview(p, x, y, w, h)),
            Source::Window(window) => sample_window(window, x, y, h),
        }
    }

    /// Whether drawn pixel (`x`, `y` from the top) of a `w × h` drawing is a tick at the
    /// image's edge marking the profiled row or column.
    fn on_profile_tick(&self, x: usize, y: usize, w: usize, h: usize) -> bool {
        let Some(axis) = self.profile else {
            return false;
        };
        let (on_column, on_row) = match (&self.source, self.cursor) {
            (Source::Window(window), _) => window.on_cursor_lines(x, y, h),
            (Source::Fit(_), Some((cx, cy))) => (x == cx, y == cy),
            (Source::Fit(_), None) => return false,
        };
        match axis {
            Axis::Columns => on_row && (x < (w / 30).max(2) || x + (w / 30).max(2) >= w),
            Axis::Rows => on_column && (y < (h / 30).max(2) || y + (h / 30).max(2) >= h),
        }
    }

    /// The stretch of drawn pixel (`x`, `y` from the top) of a `w × h` drawing: its
    /// region's where it lies in one.
    fn stretch_at(&self, x: usize, y: usize, w: usize, h: usize) -> &Stretch {
        if self.regions.is_empty() {
            return &self.stretch;
        }
        let (col, row) = match &self.source {
            Source::Fit(p) => (x * p.width / w.max(1), (h - 1 - y) * p.height / h.max(1)),
            Source::Window(window) => {
                let (cols, rows) = window.plane.size();
                (
                    pixel_span(window.x0, window.scale, x, cols).0,
                    pixel_span(window.y0, window.scale, h - 1 - y, rows).0,
                )
            }
        };
        self.regions
            .iter()
            .find(|(section, _)| section.rows.contains(&row) && section.cols.contains(&col))
            .map_or(&self.stretch, |(_, stretch)| stretch)
    }

    /// The colour of drawn pixel (`x`, `y` from the top) of a `w × h` drawing.
    pub fn colour_at(&self, x: usize, y: usize, w: usize, h: usize) -> Color {
        self.shade(x, y, w, h).colour()
    }

    fn shade(&self, x: usize, y: usize, w: usize, h: usize) -> Shade {
        let on_cursor = match &self.source {
            Source::Fit(_) => self.cursor == Some((x, y)),
            Source::Window(window) => window.on_cursor(x, y, h),
        };
        if on_cursor {
            return Shade::Cursor;
        }
        if self.on_profile_tick(x, y, w, h) {
            return Shade::Profile;
        }
        let Some(covered) = self.covered(x, y, w, h) else {
            return Shade::Outside;
        };
        match covered.value {
            Some(v) if !self.marks.marks(covered.most_bad, covered.mean_bad) => {
                if self.hot_above.is_some_and(|hot| v > hot) {
                    Shade::Hot
                } else {
                    Shade::Grey(self.stretch_at(x, y, w, h).grey_level(v))
                }
            }
            _ => Shade::Bad,
        }
    }
}

impl<'a> Source<'a> {
    /// Whether there is anything to draw.
    fn is_empty(&self) -> bool {
        match self {
            Source::Fit(p) => p.values.is_empty(),
            Source::Window(w) => {
                let (cols, rows) = w.plane.size();
                cols == 0 || rows == 0
            }
        }
    }
}

impl Widget for HalfBlock<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if self.source.is_empty() || area.is_empty() {
            return;
        }
        let (w, h, x0, y0) = placement(&self.source, area);
        for cy in 0..h.div_ceil(2) {
            for cx in 0..w {
                let top = self.shade(cx, 2 * cy, w, h);
                // An odd height leaves the last cell's lower half empty.
                let bottom = if 2 * cy + 1 < h {
                    self.shade(cx, 2 * cy + 1, w, h)
                } else {
                    Shade::Outside
                };
                let cell = &mut buf[(x0 + cx as u16, y0 + cy as u16)];
                if self.mono {
                    let symbol = match (top, bottom) {
                        (Shade::Cursor, _) | (_, Shade::Cursor) => '+',
                        (Shade::Bad, _) | (_, Shade::Bad) => 'X',
                        (Shade::Hot, _) | (_, Shade::Hot) => 'O',
                        (Shade::Profile, _) | (_, Shade::Profile) => '>',
                        (Shade::Grey(a), Shade::Grey(b)) => ramp((a + b) / 2.0),
                        (Shade::Grey(a), Shade::Outside) | (Shade::Outside, Shade::Grey(a)) => {
                            ramp(a)
                        }
                        (Shade::Outside, Shade::Outside) => ' ',
                    };
                    cell.set_char(symbol);
                } else {
                    // Past the frame the terminal's own background shows.
                    let (symbol, fg, bg) = match (top, bottom) {
                        (Shade::Outside, Shade::Outside) => (' ', Color::Reset, Color::Reset),
                        (Shade::Outside, lower) => ('▄', lower.colour(), Color::Reset),
                        (upper, lower) => ('▀', upper.colour(), lower.colour()),
                    };
                    cell.set_char(symbol);
                    cell.set_fg(fg);
                    cell.set_bg(bg);
                }
            }
        }
    }
}

/// The ASCII brightness of a stretched value.
fn ramp(v: f32) -> char {
    let level = (v * (RAMP.len() - 1) as f32).round() as usize;
    char::from(RAMP[level.min(RAMP.len() - 1)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::view::{Limits, Quantiles, StretchLimits};

    /// `p` drawn whole into `area`, every bad pixel marked, without a cursor.
    fn drawn(p: &Preview, area: Rect, mono: bool) -> Buffer {
        let mut buf = Buffer::empty(area);
        HalfBlock {
            source: Source::Fit(p),
            stretch: linear(p),
            marks: BadMarks::Any,
            mono,
            cursor: None,
            hot_above: None,
            profile: None,
            regions: Vec::new(),
        }
        .render(area, &mut buf);
        buf
    }

    /// The percentile limits, linear.
    fn linear(p: &Preview) -> Stretch {
        let (low, high) = Limits::PERCENTILE.of(&p.limits);
        Stretch {
            low,
            high,
            transfer: Transfer::Linear,
        }
    }

    /// Limits from `low` to `high` by every rule.
    fn between(low: f32, high: f32) -> StretchLimits {
        StretchLimits {
            quantiles: Quantiles::of_sorted(&[low, high, high]),
            min_max: (low, high),
            zscale: (low, high),
        }
    }

    fn preview() -> Preview {
        Preview {
            cols: 2,
            rows: 2,
            width: 2,
            height: 2,
            values: vec![0.0, 10.0, 5.0, 5.0],
            bad: vec![0.0, 0.0, 0.0, 1.0],
            limits: between(0.0, 10.0),
        }
    }

    #[test]
    fn monochrome_ramp_and_bad_blocks() {
        let p = preview();
        let buf = drawn(&p, Rect::new(0, 0, 2, 1), true);
        // left: (0.5 + 0)/2 = 0.25 -> ':' ; right: the upper (second) row's block is bad.
        assert_eq!(buf, Buffer::with_lines([":X"]));
    }

    #[test]
    fn colour_uses_grey_ramp_and_red_for_bad() {
        let p = preview();
        let buf = drawn(&p, Rect::new(0, 0, 2, 1), false);
        // FITS row 1 (values 0, 10) is the lower half; row 2 (5, bad) the upper.
        assert_eq!(buf[(0, 0)].bg, Color::Indexed(232));
        assert_eq!(buf[(1, 0)].bg, Color::Indexed(255));
        assert_eq!(buf[(0, 0)].fg, grey(0.5));
        assert_eq!(buf[(1, 0)].fg, Color::Red);
    }

    /// A 256 × 256 preview of a 1024 × 1024 frame: flat, a bright block at FITS (1, 1)
    /// and isolated bad blocks.
    fn marked() -> (Preview, Vec<(usize, usize)>) {
        let n = 256;
        let mut values = vec![100.0f32; n * n];
        values[0] = 200.0;
        let bad_at = vec![(7, 200), (130, 13), (255, 255), (60, 61)];
        let mut bad = vec![0f32; n * n];
        for &(r, c) in &bad_at {
            bad[r * n + c] = 1.0 / 16.0;
        }
        let preview = Preview {
            cols: n,
            rows: n,
            width: 1024,
            height: 1024,
            values,
            bad,
            limits: between(100.0, 200.0),
        };
        (preview, bad_at)
    }

    #[test]
    fn every_bad_block_shows_at_every_size_and_the_frame_is_square_and_upright() {
        let (p, bad_at) = marked();
        for (cols, rows) in [(300, 130), (120, 40), (80, 20), (30, 8), (9, 3)] {
            let area = Rect::new(0, 0, cols, rows);
            let buf = drawn(&p, area, false);
            let (w, h, x0, y0) = placement(&Source::Fit(&p), area);
            // Square: as many drawn pixels across as up.
            assert!(w.abs_diff(h) <= 1, "{cols}×{rows}: {w}×{h}");
            // Each bad block lies under a red half.
            // The drawn pixel whose span of blocks holds block `b` of `of` (as `sample`
            // cuts them).
            let covering = |b: usize, n: usize, of: usize| {
                (0..n)
                    .find(|&i| {
                        let lo = (i * of / n).min(of - 1);
                        let hi = ((i + 1) * of / n).clamp(lo + 1, of);
                        (lo..hi).contains(&b)
                    })
                    .unwrap()
            };
            for &(r, c) in &bad_at {
                let x = covering(c, w, 256);
                let y = h - 1 - covering(r, h, 256);
                let cell = &buf[(x0 + x as u16, y0 + (y / 2) as u16)];
                let colour = if y % 2 == 0 { cell.fg } else { cell.bg };
                assert_eq!(colour, Color::Red, "{cols}×{rows}: bad block ({r}, {c})");
            }
            // FITS (1, 1) is the bottom-left corner, and bright where it is not pooled
            // with the flat rest.
            if w >= 128 {
                let corner = &buf[(x0, y0 + ((h - 1) / 2) as u16)];
                assert_eq!(corner.bg, grey(1.0), "{cols}×{rows}");
            }
        }
    }
}
