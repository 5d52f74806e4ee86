//! A draft generic profile from one raw frame's headers (`mbias profile FILE`): what the
//! headers tell (the instrument, how a bias is marked, gain and read-noise keywords,
//! binning, the data section, amplifiers and overscan strips), written as a settings
//! block with a comment on every line that needs a human, and what could not be decided.

use std::path::Path;

use crate::detector::SectionSpec;
use crate::error::FitsError;
use crate::fits::{FrameFile, Header, Value, read_frame_header};

/// A draft profile: the settings text to paste, and what the headers left open.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub name: String,
    pub yaml: String,
    /// What a human must decide or check.
    pub open: Vec<String>,
}

const BIAS_KEYWORDS: [&str; 4] = ["IMAGETYP", "OBSTYPE", "OBJECT", "EXPTYPE"];
const GAIN_KEYWORDS: [&str; 4] = ["GAIN", "EGAIN", "CCDGAIN", "DETGAIN"];
const RON_KEYWORDS: [&str; 5] = ["RDNOISE", "RON", "READNOIS", "RDNOIS", "READNOISE"];
const EXPTIME_KEYWORDS: [&str; 3] = ["EXPTIME", "EXPOSURE", "ITIME"];

/// The first of `keys` the header holds, with its value.
fn first_of<'a>(header: &'a Header, keys: &[&'static str]) -> Option<(&'static str, &'a Value)> {
    keys.iter().find_map(|&k| header.get(k).map(|v| (k, v)))
}

/// A profile name from a header value: lower case, words joined by `-`.
fn slug(text: &str) -> String {
    let words: Vec<String> = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    if words.is_empty() {
        "my-ccd".to_string()
    } else {
        words.join("-")
    }
}

/// The section a keyword holds, if it parses and fits a `shape` (rows, columns) image.
fn fitting_section(header: &Header, key: &str, shape: (usize, usize)) -> Option<SectionSpec> {
    let spec = SectionSpec::parse(&header.text(key)?).ok()?;
    spec.within(shape).map(|_| spec)
}

/// The draft for the frame `file` (its first image HDU holding data).
pub fn draft(file: &Path) -> Result<Draft, FitsError> {
    let frame = read_frame_header(file)?;
    Ok(draft_of(&frame))
}

/// The draft for a frame whose headers are read.
pub fn draft_of(frame: &FrameFile) -> Draft {
    let header = frame.merged_header();
    let image = &frame.image;
    let (rows, cols) = image.shape;
    let mut open = Vec::new();
    let mut lines = Vec::new();
    // What names the camera: INSTRUME, else a VERSION or DETECTOR keyword.
    let (matcher, name) = match first_of(&header, &["INSTRUME", "VERSION", "DETECTOR"]) {
        Some((key, value)) => {
            let text = value.as_text().unwrap_or_default();
            (format!("match: {{{key}: {}}}", text.trim()), slug(&text))
        }
        None => {
            open.push(
                "no INSTRUME, VERSION or DETECTOR keyword: write a match: rule that only \
                 this camera's frames pass"
                    .to_string(),
            );
            (
                "match: {}    # CHECK: name a keyword only this camera writes".into(),
                "my-ccd".into(),
            )
        }
    };
    lines.push(matcher);
    if image.index > 0 {
        let hdu = image
            .header
            .text("EXTNAME")
            .map_or(image.index.to_string(), |n| n.trim().to_string());
        lines.push(format!("hdu: {hdu}    # the pixels are in this extension"));
    }
    // How a bias is marked: the keywords whose value here says bias or zero.
    let marks: Vec<(&str, String)> = BIAS_KEYWORDS
        .iter()
        .filter_map(|&k| {
            let text = header.text(k)?;
            let lower = text.trim().to_ascii_lowercase();
            (lower.contains("bias") || lower.contains("zero")).then(|| (k, text.trim().to_string()))
        })
        .collect();
    let exptime = first_of(&header, &EXPTIME_KEYWORDS).and_then(|(k, v)| Some((k, v.as_f64()?)));
    let mut bias = Vec::new();
    match marks.as_slice() {
        [] => open.push(format!(
            "no keyword among {} says bias or zero in this frame: is it a bias?",
            BIAS_KEYWORDS.join(", ")
        )),
        marks => {
            let keys: Vec<&str> = marks.iter().map(|m| m.0).collect();
            let mut values: Vec<String> = marks.iter().map(|m| m.1.clone()).collect();
            values.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
            bias.push(format!("keywords: [{}]", keys.join(", ")));
            bias.push(format!("values: [{}]", values.join(", ")));
        }
    }
    if let Some((key, t)) = exptime {
        // A shutter's shortest time, rounded up: frames a little longer are not biases.
        let limit = if t <= 0.0 {
            0.0
        } else {
            (t * 100.0).ceil() / 100.0
        };
        if key != "EXPTIME" {
            bias.push(format!("exptime-keyword: {key}"));
        }
        bias.push(format!("max-exptime: {limit}"));
    }
    if !bias.is_empty() {
        lines.push(format!("bias: {{{}}}", bias.join(", ")));
    }
    match first_of(&header, &GAIN_KEYWORDS) {
        Some((key, value)) => match value.as_f64() {
            Some(g) if g.fract() == 0.0 && g <= 4.0 => {
                lines.push(format!(
                    "gain: {g:.1}    # CHECK: {key} = {g} is a whole number, often a gain \
                     setting's index rather than e-/ADU; give the CCD's e-/ADU"
                ));
                open.push(format!("{key} = {g} may be an index, not e-/ADU"));
            }
            _ => lines.push(format!("gain: {key}")),
        },
        None => {
            lines.push("gain: 1.0    # CHECK: no gain keyword; give the CCD's e-/ADU".into());
            open.push("no gain keyword: the draft stacks in ADU (gain 1)".into());
        }
    }
    match first_of(&header, &RON_KEYWORDS) {
        Some((key, _)) => lines.push(format!("read-noise: {key}")),
        None => {
            lines.push("read-noise: 5.0    # CHECK: no read-noise keyword; give it in e-".into());
            open.push("no read-noise keyword: 5 e- is a placeholder".into());
        }
    }
    if header.get("CCDSUM").is_some() {
        lines.push("binning: CCDSUM".into());
    } else if let Some(pair) = [("BINX", "BINY"), ("XBINNING", "YBINNING"), ("CBIN", "RBIN")]
        .into_iter()
        .find(|(x, y)| header.get(x).is_some() && header.get(y).is_some())
    {
        lines.push(format!("binning: [{}, {}]", pair.0, pair.1));
    }
    // The data: DATASEC (or TRIMSEC) where it fits the image.
    let data = ["DATASEC", "TRIMSEC"]
        .into_iter()
        .find_map(|k| fitting_section(&header, k, (rows, cols)).map(|s| (k, s)));
    match data {
        Some((key, spec)) => lines.push(format!("window: '{spec}'    # {key}")),
        None => {
            lines.push("window: whole".into());
            for key in ["DATASEC", "TRIMSEC"] {
                if let Some(text) = header.text(key) {
                    open.push(format!(
                        "{key} = {} does not fit the {cols}x{rows} image (unbinned pixels?): \
                         the whole image is stacked",
                        text.trim()
                    ));
                }
            }
        }
    }
    lines.extend(amplifiers(
        &header,
        data.map(|d| d.1),
        (rows, cols),
        &mut open,
    ));
    let mut yaml = format!(
        "mbias:\n    detectors:\n        # Drafted by mbias profile from {}; CHECK marks what\n        \
         # the headers could not tell.\n        {name}:\n",
        frame.path.display()
    );
    for line in lines {
        yaml.push_str(&format!("            {line}\n"));
    }
    Draft { name, yaml, open }
}

/// The amplifiers the headers describe: Lick-style `AMPSROW`/`AMPSCOL` with `COVER`
/// overscan columns after the data, or one amplifier with a `BIASSEC` strip.
fn amplifiers(
    header: &Header,
    data: Option<SectionSpec>,
    (rows, cols): (usize, usize),
    open: &mut Vec<String>,
) -> Vec<String> {
    let whole = (1, cols);
    let (first, last) = data.and_then(|d| d.cols).unwrap_or(whole);
    let (top, bottom) = data.and_then(|d| d.rows).unwrap_or((1, rows));
    // Whole, positive and within the image, or not believed.
    let count = |key: &str, most: usize| {
        header
            .number(key)
            .filter(|v| v.fract() == 0.0 && *v >= 1.0 && *v <= most as f64)
            .map(|v| v as usize)
    };
    let across = count("AMPSROW", last + 1 - first).unwrap_or(1);
    let cover = count("COVER", cols);
    if across > 1 {
        let width = (last + 1 - first) / across;
        let mut out = vec!["amplifiers:".to_string()];
        for a in 0..across {
            let (x0, x1) = (first + a * width, first + (a + 1) * width - 1);
            let overscan = cover
                .map(|c| (last + 1 + a * c, last + (a + 1) * c))
                .filter(|&(_, end)| end <= cols)
                .map(|(o0, o1)| format!(", overscan: '[{o0}:{o1},{top}:{bottom}]'"))
                .unwrap_or_default();
            out.push(format!(
                "    - {{name: A{}, data: '[{x0}:{x1},{top}:{bottom}]'{overscan}}}",
                a + 1
            ));
        }
        open.push(format!(
            "AMPSROW = {across}: the data split into {across} amplifiers side by side, each \
             followed by COVER columns of overscan in order; check against the CCD's manual"
        ));
        return out;
    }
    match header.text("BIASSEC") {
        Some(text) => match SectionSpec::parse(&text)
            .ok()
            .filter(|s| s.within((rows, cols)).is_some())
        {
            Some(strip) => vec![
                "amplifiers:".to_string(),
                format!(
                    "    - {{name: A1, data: '[{first}:{last},{top}:{bottom}]', overscan: '{strip}'}}"
                ),
            ],
            None => {
                open.push(format!(
                    "BIASSEC = {} does not fit the {cols}x{rows} image: no overscan strip",
                    text.trim()
                ));
                Vec::new()
            }
        },
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fits::Card;
    use std::path::PathBuf;

    fn frame(cards: &[(&str, Value)], shape: (usize, usize)) -> FrameFile {
        let header = Header {
            cards: cards
                .iter()
                .map(|(k, v)| Card::new(k, v.clone(), ""))
                .collect(),
        };
        FrameFile::single(PathBuf::from("/raw/b14.fits"), header, shape)
    }

    #[test]
    fn absurd_amplifier_counts_are_not_believed() {
        let s = |v: &str| Value::Str(v.into());
        for (ampsrow, cover) in [(1e30, 32.0), (2.0, 1e30), (2.0, -3.0), (-2.0, 32.0)] {
            let d = draft_of(&frame(
                &[
                    ("VERSION", s("kastb")),
                    ("DATASEC", s("[1:2048,1:350]")),
                    ("AMPSROW", Value::Float(ampsrow)),
                    ("COVER", Value::Float(cover)),
                ],
                (350, 2112),
            ));
            assert!(
                crate::settings::Settings::parse(&d.yaml).is_ok(),
                "{}",
                d.yaml
            );
        }
    }

    #[test]
    fn a_lick_frame_drafts_two_amplifiers_and_doubts_its_gain_index() {
        let s = |v: &str| Value::Str(v.into());
        let d = draft_of(&frame(
            &[
                ("VERSION", s("kastb")),
                ("OBSTYPE", s("DARK")),
                ("OBJECT", s("Bias")),
                ("EXPTIME", Value::Int(0)),
                ("GAIN", Value::Int(1)),
                ("DATASEC", s("[1:2048,1:350]")),
                ("AMPSROW", Value::Int(2)),
                ("COVER", Value::Int(32)),
            ],
            (350, 2112),
        ));
        assert_eq!(d.name, "kastb");
        for line in [
            "match: {VERSION: kastb}",
            "bias: {keywords: [OBJECT], values: [Bias], max-exptime: 0}",
            "gain: 1.0    # CHECK",
            "read-noise: 5.0    # CHECK",
            "window: '[1:2048,1:350]'",
            "- {name: A1, data: '[1:1024,1:350]', overscan: '[2049:2080,1:350]'}",
            "- {name: A2, data: '[1025:2048,1:350]', overscan: '[2081:2112,1:350]'}",
        ] {
            assert!(d.yaml.contains(line), "{line}\n{}", d.yaml);
        }
        assert!(
            crate::settings::Settings::parse(&d.yaml).is_ok(),
            "{}",
            d.yaml
        );
    }
}
