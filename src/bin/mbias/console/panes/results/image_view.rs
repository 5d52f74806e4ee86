//! What the Preview draws for a look at a result: the plane, the window of it, the
//! stretch and the marks, worked out once for both ways of drawing it — half blocks in
//! the cell buffer, or an RGB image for the terminal's graphics protocol (made on a
//! worker thread, at the terminal's pixel resolution).

use image::{Rgb, RgbImage};
use mbias::detector::Section;
use ratatui::layout::Rect;
use ratatui::style::Color;

use super::halfblock::{
    HalfBlock, MasterWindow, Plane, Source, Stretch, drawn_limits, placement, resolve_marks,
};
use super::stats::StatsOf;
use super::{Window, half_block_dots};
use crate::console::msg::ImageResult;
use crate::console::view::{
    Axis, BadMarks, ImageOf, Limits, Quantiles, StretchLimits, Transfer, ZSCALE_SAMPLES,
    sample_limits,
};

/// Where the Preview looks and how it shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Look {
    /// A master pixel (column, row; 0-based).
    pub cursor: (usize, usize),
    pub zoom: u32,
    pub limits: Limits,
    pub transfer: Transfer,
    pub image: ImageOf,
    /// The raw frame shown (an index into the set), for the raw views.
    pub frame: usize,
    pub marks: BadMarks,
    /// Whether the pixel-stack inspector shows beside the image.
    pub inspect: bool,
    /// What the statistics under the readout are of.
    pub stats: Option<StatsOf>,
    /// The Profile shows the cursor's row (`Axis::Columns`) or column, marked on the image.
    pub profile: Option<Axis>,
    /// Each amplifier stretched on its own (`A`), where the profile names amplifiers.
    pub per_amplifier: bool,
}

/// The Preview of one look in an image area, ready to draw.
pub struct ImageView<'a> {
    pub plane: Plane<'a>,
    /// The window at half-block resolution (the one the readout and the mouse use).
    pub window: MasterWindow<'a>,
    /// The raw frame the raw views show (an index into the set).
    pub shown_frame: usize,
    pub stretch: Stretch,
    /// Each amplifier's data and its own stretch, when asked for and there are some.
    pub regions: Vec<(Section, Stretch)>,
    /// The bad-pixel rule, `Auto` decided.
    pub marks: BadMarks,
    pub hot_above: Option<f32>,
    result: &'a ImageResult,
}

impl<'a> ImageView<'a> {
    /// The view of `result` for `look` in the image area `image` (cells).
    pub fn of(result: &'a ImageResult, look: &Look, image: Rect) -> ImageView<'a> {
        let master = &result.outcome.master;
        let frames = result.loaded.set.resident().unwrap_or_default();
        let shown_frame = look.frame.min(frames.len().saturating_sub(1));
        let plane = match (look.image, frames.get(shown_frame)) {
            (ImageOf::Raw, Some(raw)) => Plane::Raw(raw),
            (ImageOf::RawMinusMaster, Some(raw)) => Plane::MinusMaster(raw, master),
            (ImageOf::Rejections, _) => Plane::Rejections(master),
            _ => Plane::Master(master),
        };
        let dots = half_block_dots(image.width, image.height);
        let window = window(plane, look, dots);
        let (stretch, hot_above) = stretch(result, &window, look, dots);
        ImageView {
            plane,
            regions: amplifier_stretches(result, plane, look),
            window,
            shown_frame,
            stretch,
            marks: resolve_marks(look.marks, &result.view.preview, image),
            hot_above,
            result,
        }
    }

    /// The half-block drawing of the view in `image`: the whole master from its preview
    /// (whose blocks pool every bad pixel), anything else from the window.
    pub fn half_blocks(&'a self, look: &Look, mono: bool, image: Rect) -> HalfBlock<'a> {
        let master = &self.result.outcome.master;
        let (cols, rows) = (master.cols(), master.rows());
        let (source, cursor) = match self.plane {
            Plane::Master(_) if look.zoom == 0 => {
                let source = Source::Fit(&self.result.view.preview);
                let (w, h, _, _) = placement(&source, image);
                let (cx, cy) = look.cursor;
                let dx = (cx * w / cols.max(1)).min(w.saturating_sub(1));
                let dy = h.saturating_sub(1) - (cy * h / rows.max(1)).min(h.saturating_sub(1));
                (source, Some((dx, dy)))
            }
            _ => (Source::Window(&self.window), None),
        };
        HalfBlock {
            source,
            stretch: self.stretch,
            marks: self.marks,
            mono,
            cursor,
            hot_above: self.hot_above,
            profile: look.profile,
            regions: self.regions.clone(),
        }
    }

    /// The view as an RGB image of `dots` (width, height) pixels, every one of them a
    /// drawn pixel, for a graphics protocol: the same window of the same plane at the
    /// terminal's pixel resolution, with the same stretch and marks.
    pub fn raster(&self, look: &Look, dots: (usize, usize)) -> RgbImage {
        let window = window(self.plane, look, dots);
        // A pooled view's values depend on how many pixels a dot pools.
        let (stretch, hot_above) = stretch(self.result, &window, look, dots);
        let drawing = HalfBlock {
            source: Source::Window(&window),
            stretch,
            marks: self.marks,
            mono: false,
            cursor: None,
            hot_above,
            profile: look.profile,
            regions: self.regions.clone(),
        };
        let (w, h) = dots;
        let mut image = RgbImage::from_fn(w as u32, h as u32, |x, y| {
            rgb(drawing.colour_at(x as usize, y as usize, w, h))
        });
        widen_marks(&mut image);
        ring_cursor(&mut image, &window);
        image
    }
}

/// The stretch of `window` (of `result`) drawn on `dots` for `look`, and the value above
/// which a drawn pixel is marked hot.
fn stretch(
    result: &ImageResult,
    window: &MasterWindow<'_>,
    look: &Look,
    dots: (usize, usize),
) -> (Stretch, Option<f32>) {
    let plane = window.plane;
    let (cols, rows) = plane.size();
    let limits = match plane {
        Plane::Master(_) => result.view.preview.limits.clone(),
        // Counts: every stretch runs from none left out to all.
        Plane::Rejections(_) => {
            let all = (0.0, result.loaded.set.frame_count() as f32);
            StretchLimits {
                quantiles: Quantiles::of_sorted(&[all.0, all.1, all.1]),
                min_max: all,
                zscale: all,
            }
        }
        Plane::MinusMaster(..) => drawn_limits(window, dots),
        Plane::Raw(_) => {
            let stride = (rows * cols / ZSCALE_SAMPLES).max(1);
            sample_limits(
                (0..rows * cols)
                    .step_by(stride)
                    .filter_map(|i| plane.at(i / cols.max(1), i % cols.max(1)))
                    .collect(),
            )
        }
    };
    let (low, high) = look.limits.of(&limits);
    // In a frame less the master, what stands far above the stretch is what one looks for.
    let hot_above =
        matches!(plane, Plane::MinusMaster(..)).then(|| high + 2.0 * (high - low).max(0.0));
    let stretch = Stretch {
        low,
        high,
        transfer: look.transfer,
    };
    (stretch, hot_above)
}

/// Each amplifier's data section with a stretch of its own, when `look` asks for it: the
/// limits rule applied to a sample of that amplifier's pixels, so two amplifiers at
/// different levels both show their structure. Not for the rejection map (counts) or a
/// frame less the master (its dots pool many pixels, stretched as drawn).
fn amplifier_stretches(
    result: &ImageResult,
    plane: Plane<'_>,
    look: &Look,
) -> Vec<(Section, Stretch)> {
    if !look.per_amplifier || matches!(plane, Plane::Rejections(_) | Plane::MinusMaster(..)) {
        return Vec::new();
    }
    result
        .loaded
        .set
        .plan
        .amplifiers
        .iter()
        .map(|amp| {
            let data = &amp.data;
            let (width, pixels) = (data.cols.len().max(1), data.rows.len() * data.cols.len());
            let stride = (pixels / ZSCALE_SAMPLES).max(1);
            let limits = sample_limits(
                (0..pixels)
                    .step_by(stride)
                    .filter_map(|i| {
                        plane.at(data.rows.start + i / width, data.cols.start + i % width)
                    })
                    .collect(),
            );
            let (low, high) = look.limits.of(&limits);
            let stretch = Stretch {
                low,
                high,
                transfer: look.transfer,
            };
            (data.clone(), stretch)
        })
        .collect()
}

/// Bad and hot pixels three screen pixels wide: at a terminal's resolution one pixel of
/// colour would be lost.
fn widen_marks(image: &mut RgbImage) {
    let marks = [rgb(Color::Red), rgb(Color::LightMagenta)];
    let marked: Vec<(u32, u32, Rgb<u8>)> = image
        .enumerate_pixels()
        .filter(|(_, _, p)| marks.contains(p))
        .map(|(x, y, p)| (x, y, *p))
        .collect();
    let (w, h) = image.dimensions();
    for (x, y, colour) in marked {
        for ny in y.saturating_sub(1)..=(y + 1).min(h - 1) {
            for nx in x.saturating_sub(1)..=(x + 1).min(w - 1) {
                if !marks.contains(image.get_pixel(nx, ny)) {
                    image.put_pixel(nx, ny, colour);
                }
            }
        }
    }
}

/// The window of `plane` that `dots` drawn pixels show for `look`.
fn window<'a>(plane: Plane<'a>, look: &Look, dots: (usize, usize)) -> MasterWindow<'a> {
    let Window { x0, y0, scale } = Window::new(plane.size(), look.cursor, look.zoom, dots);
    MasterWindow {
        plane,
        x0,
        y0,
        scale,
        cursor: look.cursor,
    }
}

/// A square ring about the cursor pixel, some pixels out: at a terminal's resolution a
/// cursor one screen pixel wide would be lost.
fn ring_cursor(image: &mut RgbImage, window: &MasterWindow<'_>) {
    let (w, h) = (i64::from(image.width()), i64::from(image.height()));
    let (cx, cy) = window.cursor;
    let centre_x = ((cx as f64 + 0.5 - window.x0) / window.scale) as i64;
    let centre_y = h - 1 - ((cy as f64 + 0.5 - window.y0) / window.scale) as i64;
    let radius = ((0.5 / window.scale).ceil() as i64 + 4).max(6);
    let yellow = rgb(Color::Yellow);
    for d in -radius..=radius {
        for (x, y) in [
            (centre_x + d, centre_y - radius),
            (centre_x + d, centre_y + radius),
            (centre_x - radius, centre_y + d),
            (centre_x + radius, centre_y + d),
        ] {
            if (0..w).contains(&x) && (0..h).contains(&y) {
                image.put_pixel(x as u32, y as u32, yellow);
            }
        }
    }
}

/// A terminal colour as the graphics image paints it.
fn rgb(colour: Color) -> Rgb<u8> {
    Rgb(match colour {
        // The xterm grey ramp: 232 is 8, each step 10 brighter.
        Color::Indexed(i @ 232..=255) => {
            let v = 8 + 10 * (i - 232);
            [v, v, v]
        }
        Color::Red => [220, 40, 40],
        Color::Yellow => [250, 220, 40],
        Color::LightMagenta => [250, 90, 250],
        Color::Cyan => [40, 200, 220],
        _ => [0, 0, 0],
    })
}
