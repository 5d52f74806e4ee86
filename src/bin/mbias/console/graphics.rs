//! The Preview through the terminal's graphics protocol (kitty, iTerm2, sixel), via
//! `ratatui-image`: where the terminal has one, the image is drawn at its pixel
//! resolution instead of two half blocks a cell. The image is made and encoded on a worker
//! thread, only when the view or the data change; until it arrives the half blocks show.
//!
//! The terminal is asked what it can do only when its environment says it may have
//! graphics (kitty, WezTerm, iTerm2, foot, …): a terminal that does not answer the query
//! would leave a reader waiting on its input, which would swallow the first keys. Inside
//! tmux or over a plain ssh session that is half blocks, which always work.

use std::env;
use std::fmt;

use image::DynamicImage;
use mbias::settings::Graphics;
use ratatui::layout::{Rect, Size};
use ratatui_image::Resize;
use ratatui_image::picker::{Picker, ProtocolType};
use ratatui_image::protocol::Protocol;

use super::msg::ImageResult;
use super::panes::results::{ImageView, Look};

/// Whether the environment names a terminal that may draw images.
fn may_have_graphics() -> bool {
    let set = |name: &str| env::var(name).is_ok_and(|v| !v.is_empty());
    let term = env::var("TERM").unwrap_or_default();
    let program = env::var("TERM_PROGRAM").unwrap_or_default();
    set("KITTY_WINDOW_ID")
        || set("WEZTERM_EXECUTABLE")
        || set("KONSOLE_VERSION")
        || term.contains("kitty")
        || term.contains("foot")
        || term.contains("mlterm")
        || term.contains("ghostty")
        || ["iTerm.app", "WezTerm", "ghostty", "vscode", "rio"].contains(&program.as_str())
}

/// The picker for `choice`, asking the terminal where that is safe; `None` draws half
/// blocks. Call it after the terminal is in raw mode and before its input is read.
pub fn picker(choice: Graphics) -> Option<Picker> {
    let forced = match choice {
        Graphics::HalfBlocks => return None,
        Graphics::Auto => None,
        Graphics::Kitty => Some(ProtocolType::Kitty),
        Graphics::Iterm2 => Some(ProtocolType::Iterm2),
        Graphics::Sixel => Some(ProtocolType::Sixel),
    };
    let asked = (forced.is_some() || may_have_graphics())
        .then(|| Picker::from_query_stdio().ok())
        .flatten();
    match (forced, asked) {
        (Some(protocol), asked) => {
            // The font size from the answer if there was one, a common one if not.
            let mut picker = asked.unwrap_or_else(Picker::halfblocks);
            picker.set_protocol_type(protocol);
            Some(picker)
        }
        (None, Some(picker)) if picker.protocol_type() != ProtocolType::Halfblocks => Some(picker),
        _ => None,
    }
}

/// What a Preview image shows: which result and image, the look, and where (its size
/// in cells decides its size in pixels). A new key is a new image.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageKey {
    /// Which result (each one shown counts one up).
    pub generation: u64,
    pub extension: usize,
    pub look: Look,
    pub area: Rect,
}

/// A Preview image encoded for the terminal (`None` if the protocol could not encode it:
/// the half blocks stay).
pub struct Encoded {
    pub key: ImageKey,
    pub protocol: Option<Protocol>,
}

impl fmt::Debug for Encoded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encoded").field("key", &self.key).finish()
    }
}

/// The image of `look` at `result` for an image area `area`, at the terminal's pixel
/// resolution, encoded by `picker`; `None` if the protocol cannot encode it.
pub fn encode(picker: &Picker, result: &ImageResult, look: &Look, area: Rect) -> Option<Protocol> {
    let font = picker.font_size();
    let dots = (
        usize::from(area.width) * usize::from(font.width.max(1)),
        usize::from(area.height) * usize::from(font.height.max(1)),
    );
    if dots.0 == 0 || dots.1 == 0 {
        return None;
    }
    let raster = ImageView::of(result, look, area).raster(look, dots);
    picker
        .new_protocol(
            DynamicImage::ImageRgb8(raster),
            Size::new(area.width, area.height),
            Resize::Fit(None),
        )
        .ok()
}
