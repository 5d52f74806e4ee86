//! Checks across the set: values that must agree between frames, and each image's plan.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;

use super::amplifiers;
use super::frame::{Candidate, list_images};
use super::{Collector, Finding, Plan, Problem, Severity};
use crate::detector::{Placement, Profile, Quantity, Section, SectionSpec, Window};
use crate::fits::FrameFile;

/// A per-frame value that must agree across the set.
pub(super) struct Agreement<'a> {
    pub problem: Problem,
    pub keyword: &'a str,
    pub what: &'a str,
}

/// The most common of the frames' values (the first seen among equals), and how they
/// spread when they differ, e.g. `1x1 ×5, 2x2 ×2`.
struct Tally {
    majority: String,
    spread: Option<String>,
}

fn tally(values: &[(&Path, String)]) -> Option<Tally> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut first_seen: Vec<&str> = Vec::new();
    for (_, v) in values {
        let count = counts.entry(v.as_str()).or_insert(0);
        if *count == 0 {
            first_seen.push(v.as_str());
        }
        *count += 1;
    }
    let majority = first_seen
        .iter()
        .copied()
        .max_by_key(|v| {
            (
                counts[v],
                std::cmp::Reverse(first_seen.iter().position(|x| x == v)),
            )
        })?
        .to_string();
    let spread = (counts.len() > 1).then(|| {
        let parts: Vec<String> = first_seen
            .iter()
            .map(|v| format!("{v} ×{}", counts[v]))
            .collect();
        parts.join(", ")
    });
    Some(Tally { majority, spread })
}

/// Checks frames whose values differ from the most common one; returns the agreed value.
pub(super) fn agree(
    out: &mut Collector,
    rule: Agreement<'_>,
    values: &[(&Path, String)],
) -> Option<String> {
    let Tally { majority, spread } = tally(values)?;
    if let Some(spread) = spread {
        out.summarise(format!("{} differs: {spread}", rule.what));
        for (file, v) in values.iter().filter(|(_, v)| *v != majority) {
            out.push(
                Finding::new(
                    Severity::Error,
                    rule.problem,
                    format!(
                        "{} is {v} but the rest of the set has {majority} ({})",
                        rule.what, rule.keyword
                    ),
                )
                .file(file)
                .keyword(rule.keyword)
                .seen(v.clone())
                .expected(majority.clone()),
            );
        }
    }
    Some(majority)
}

/// The extensions a multi-extension set stacks: those most frames have, in their file
/// order. A frame lacking one of them, or holding one the others lack, is an error naming
/// the file and the extension: its amplifiers could not be matched with the others'.
pub(super) fn agree_extensions(out: &mut Collector, frames: &[&Candidate]) -> Vec<String> {
    // Compared as sets: the order of the extensions in a file does not matter.
    let keys: Vec<(&Path, String)> = frames
        .iter()
        .map(|c| {
            let names: BTreeSet<&str> = c.image_names().collect();
            let names: Vec<&str> = names.into_iter().collect();
            (c.path.as_path(), names.join(", "))
        })
        .collect();
    let Some(Tally { majority, spread }) = tally(&keys) else {
        return Vec::new();
    };
    let Some(model) = frames.iter().zip(&keys).find(|(_, k)| k.1 == majority) else {
        return Vec::new();
    };
    let expected: Vec<&str> = model.0.image_names().collect();
    if let Some(spread) = spread {
        out.summarise(format!("image extensions differ: {spread}"));
    }
    for (candidate, _) in frames.iter().zip(&keys).filter(|(_, k)| k.1 != majority) {
        let has: Vec<&str> = candidate.image_names().collect();
        let listed = candidate.first().map(list_images).unwrap_or_default();
        for name in expected.iter().filter(|n| !has.contains(n)) {
            let mut finding = Finding::new(
                Severity::Error,
                Problem::NoSuchHdu,
                format!(
                    "has no extension {name}, which the rest of the set has (image HDUs: {listed})"
                ),
            )
            .file(&candidate.path)
            .keyword("EXTNAME")
            .seen(listed.clone())
            .expected(majority.clone());
            finding.hdu = Some(name.to_string());
            out.push(finding);
        }
        for name in has.iter().filter(|n| !expected.contains(n)) {
            let mut finding = Finding::new(
                Severity::Error,
                Problem::ExtensionsDiffer,
                format!("extension {name} is not in the rest of the set, which has {majority}"),
            )
            .file(&candidate.path)
            .keyword("EXTNAME")
            .seen(has.join(", "))
            .expected(majority.clone());
            finding.hdu = Some(name.to_string());
            out.push(finding);
        }
    }
    expected.into_iter().map(str::to_string).collect()
}

pub(super) fn number_text(v: f64) -> String {
    crate::fits::header::format_float(v)
}

/// Frames in observing order: by the first of the profile's `order_by` keywords that
/// every frame carries (stable, as soxspipe's argsort), else as given.
fn observing_order(frames: &[&FrameFile], profile: &Profile) -> Vec<FrameFile> {
    let headers: Vec<_> = frames.iter().map(|f| f.merged_header()).collect();
    let key = profile
        .order_by
        .iter()
        .find(|k| headers.iter().all(|h| h.get(k).is_some()));
    let mut order: Vec<usize> = (0..frames.len()).collect();
    if let Some(key) = key {
        let numbers: Option<Vec<f64>> = headers.iter().map(|h| h.number(key)).collect();
        match numbers {
            Some(numbers) => order.sort_by(|&a, &b| numbers[a].total_cmp(&numbers[b])),
            None => {
                let texts: Vec<String> = headers
                    .iter()
                    .map(|h| h.text(key).unwrap_or_default())
                    .collect();
                order.sort_by(|&a, &b| texts[a].cmp(&texts[b]));
            }
        }
    }
    order.into_iter().map(|i| frames[i].clone()).collect()
}

/// A plan before the set's verdict: the frames are only copied (in observing order) once
/// nothing in the set is an error, which in a browsed folder of thousands is rare.
pub(super) struct Draft<'a> {
    profile: &'a Profile,
    frames: Vec<&'a FrameFile>,
    plan: Plan,
}

impl Draft<'_> {
    pub fn into_plan(self) -> Plan {
        Plan {
            frames: observing_order(&self.frames, self.profile),
            ..self.plan
        }
    }
}

/// The checks across one image of the set's frames (binning, read-out speed, gain, read
/// noise, size, science window) and, when its window fits, its draft plan. Findings go to
/// `out`; the caller drops the draft if anything in the set is an error.
pub(super) fn plan_image<'a>(
    out: &mut Collector,
    profile: &'a Profile,
    frames: &[&'a FrameFile],
    extension: Option<String>,
) -> Option<Draft<'a>> {
    let headers: Vec<_> = frames
        .iter()
        .map(|f| (f.path.as_path(), f.merged_header()))
        .collect();
    let binnings: Vec<(&Path, String)> = headers
        .iter()
        .map(|(p, h)| {
            let (bx, by) = profile.binning.read(h);
            (*p, format!("{bx}x{by}"))
        })
        .collect();
    let binning_keyword = profile.binning.describe();
    let agreed_binning = agree(
        out,
        Agreement {
            problem: Problem::BinningDiffers,
            keyword: &binning_keyword,
            what: "binning",
        },
        &binnings,
    );
    let read_speed = match &profile.read_speed {
        Some(key) => {
            let speeds: Vec<(&Path, String)> = headers
                .iter()
                .filter_map(|(p, h)| h.text(key).map(|s| (*p, s)))
                .collect();
            agree(
                out,
                Agreement {
                    problem: Problem::ReadSpeedDiffers,
                    keyword: key,
                    what: "read-out speed",
                },
                &speeds,
            )
            .unwrap_or_default()
        }
        None => String::new(),
    };
    let mut agreed_quantity = |quantity: &Quantity, problem: Problem, what: &str| {
        let keyword = quantity.describe();
        let values: Vec<(&Path, String)> = headers
            .iter()
            .filter_map(|(p, h)| quantity.read(h).map(|v| (*p, number_text(v))))
            .collect();
        let agreed = agree(
            out,
            Agreement {
                problem,
                keyword: &keyword,
                what,
            },
            &values,
        );
        (agreed.and_then(|v| v.parse::<f64>().ok()), keyword)
    };
    let (gain, gain_keyword) = agreed_quantity(&profile.gain, Problem::GainDiffers, "gain");
    let (ron, ron_keyword) = agreed_quantity(&profile.ron, Problem::RonDiffers, "read noise");
    drop(headers);
    // Sizes and the window are only comparable among frames of the agreed binning; a frame
    // of another binning has already been reported for that.
    let same_binning: Vec<&FrameFile> = frames
        .iter()
        .zip(&binnings)
        .filter(|(_, (_, b))| Some(b) == agreed_binning.as_ref())
        .map(|(f, _)| *f)
        .collect();
    let shapes: Vec<(&Path, String)> = same_binning
        .iter()
        .map(|f| {
            (
                f.path.as_path(),
                format!("{}x{}", f.image.shape.1, f.image.shape.0),
            )
        })
        .collect();
    agree(
        out,
        Agreement {
            problem: Problem::ShapeDiffers,
            keyword: "NAXIS1/NAXIS2",
            what: "image size",
        },
        &shapes,
    );

    let mut fallback = |what: &str, keyword: &str, value: f64, fixed: bool| {
        if !fixed {
            out.push(
                Finding::new(
                    Severity::Note,
                    Problem::FallbackValue,
                    format!(
                        "no frame carries {keyword}; using the detector table's {what} {}",
                        number_text(value)
                    ),
                )
                .keyword(keyword)
                .expected(number_text(value)),
            );
        }
        value
    };
    // A quantity without a value has been required of every frame.
    let gain = gain.unwrap_or_else(|| {
        fallback(
            "gain",
            &gain_keyword,
            profile.gain.value.unwrap_or(1.0),
            profile.gain.keywords.is_empty(),
        )
    });
    let ron = ron.unwrap_or_else(|| {
        fallback(
            "read noise",
            &ron_keyword,
            profile.ron.value.unwrap_or(0.0),
            profile.ron.keywords.is_empty(),
        )
    });

    let binning = agreed_binning
        .as_deref()
        .and_then(|b| b.split_once('x'))
        .and_then(|(x, y)| Some((x.parse().ok()?, y.parse().ok()?)))
        .unwrap_or((1, 1));
    let mut window: Option<(Range<usize>, Range<usize>)> = None;
    for frame in &same_binning {
        let (h, w) = frame.image.shape;
        let found = match &profile.window {
            Window::Keyword(keyword) => match keyword_window(frame, keyword, profile.rotation) {
                Ok(found) => Some(found),
                Err(finding) => {
                    out.push(finding.file(&frame.path));
                    continue;
                }
            },
            _ => profile.window_in((h, w), binning),
        };
        match found {
            Some(fits) => match &window {
                Some(first) if *first != fits => out.push(
                    Finding::new(
                        Severity::Error,
                        Problem::WindowOutsideImage,
                        "the frames' science windows differ: a master needs the same pixels \
                         from every frame"
                            .to_string(),
                    )
                    .file(&frame.path)
                    .seen(section_text(&fits))
                    .expected(section_text(first)),
                ),
                Some(_) => {}
                None => window = Some(fits),
            },
            None => {
                let wanted = profile.describe_window(binning);
                out.push(
                    Finding::new(
                        Severity::Error,
                        Problem::WindowOutsideImage,
                        format!(
                            "image is {w}x{h} pixels, too small for the {} science window {wanted}",
                            profile.name
                        ),
                    )
                    .file(&frame.path)
                    .keyword("NAXIS1/NAXIS2")
                    .seen(format!("{w}x{h}"))
                    .expected(format!("an image holding {wanted}")),
                );
            }
        }
    }
    let (rows, cols) = window?;
    let amplifiers = match same_binning.first() {
        Some(first) => {
            amplifiers::plan_amplifiers(out, profile, first, (&rows, &cols), (gain, ron))
        }
        None => Vec::new(),
    };
    let placement = profile.assemble.as_ref().and_then(|keyword| {
        agreed_placement(out, &same_binning, keyword, (rows.len(), cols.len()))
    });
    Some(Draft {
        profile,
        frames: frames.to_vec(),
        plan: Plan {
            profile: profile.clone(),
            extension,
            frames: Vec::new(),
            gain,
            ron,
            binning,
            read_speed,
            rows,
            cols,
            amplifiers,
            placement,
        },
    })
}

/// A window as its FITS section.
fn section_text((rows, cols): &(Range<usize>, Range<usize>)) -> String {
    Section {
        rows: rows.clone(),
        cols: cols.clone(),
    }
    .to_string()
}

/// The text of a section keyword in a frame's header, parsed by `parse`; a finding of
/// `problem` for `what` ("the science window") when it is missing or not a section.
fn section_keyword<T>(
    frame: &FrameFile,
    keyword: &str,
    (problem, what): (Problem, &str),
    parse: impl FnOnce(&str) -> Result<T, crate::detector::SectionError>,
) -> Result<(T, String), Box<Finding>> {
    let finding = |message: String| {
        Box::new(Finding::new(Severity::Error, problem, message).keyword(keyword))
    };
    let text = frame.merged_header().text(keyword).ok_or_else(|| {
        finding(format!(
            "{what} is read from {keyword}, which the header lacks"
        ))
    })?;
    match parse(&text) {
        Ok(parsed) => Ok((parsed, text)),
        Err(e) => Err(Box::new(
            finding(format!("{what} in {keyword}: {e}")).seen(text),
        )),
    }
}

/// The science window a frame's header names in `keyword`, inside its image, in the
/// frame as the profile turns it (the header speaks of the stored image).
fn keyword_window(
    frame: &FrameFile,
    keyword: &str,
    rotation: u16,
) -> Result<(Range<usize>, Range<usize>), Box<Finding>> {
    let what = (Problem::WindowOutsideImage, "the science window");
    let (spec, text) = section_keyword(frame, keyword, what, SectionSpec::parse)?;
    let (h, w) = frame.image.shape;
    spec.within((h, w))
        .map(|s| match rotation {
            180 => s.half_turned((h, w)),
            _ => s,
        })
        .map(|s| (s.rows, s.cols))
        .ok_or_else(|| {
            Box::new(
                Finding::new(
                    Severity::Error,
                    Problem::WindowOutsideImage,
                    format!(
                        "the science window {keyword} = {spec} does not fit in the {w}x{h} image"
                    ),
                )
                .keyword(keyword)
                .seen(text)
                .expected(format!("a section inside [1:{w},1:{h}]")),
            )
        })
}

/// The place on the detector every frame's header gives (they must agree), or `None`
/// with the findings that say why not.
fn agreed_placement(
    out: &mut Collector,
    frames: &[&FrameFile],
    keyword: &str,
    window: (usize, usize),
) -> Option<Placement> {
    let mut agreed: Option<Placement> = None;
    let mut failed = false;
    for frame in frames {
        match placement(frame, keyword, window) {
            Ok(found) => match &agreed {
                Some(first) if *first != found => {
                    out.push(
                        Finding::new(
                            Severity::Error,
                            Problem::AmplifierSection,
                            format!("the frames' {keyword} differ: one detector place is needed"),
                        )
                        .file(&frame.path)
                        .keyword(keyword)
                        .seen(found.on_chip.to_string())
                        .expected(first.on_chip.to_string()),
                    );
                    failed = true;
                }
                Some(_) => {}
                None => agreed = Some(found),
            },
            Err(finding) => {
                out.push(finding.file(&frame.path));
                failed = true;
            }
        }
    }
    agreed.filter(|_| !failed)
}

/// Where a frame's header (`keyword`, e.g. `DETSEC`) places a science window of
/// `window` (rows, columns) on the detector: the section must cover it whole, or a whole
/// multiple of it (a binned window in unbinned detector pixels).
fn placement(
    frame: &FrameFile,
    keyword: &str,
    window: (usize, usize),
) -> Result<Placement, Box<Finding>> {
    let what = (Problem::AmplifierSection, "the detector section");
    let (placement, text) = section_keyword(frame, keyword, what, Placement::parse)?;
    let whole_multiple =
        |on_chip: usize, stacked: usize| stacked > 0 && on_chip.is_multiple_of(stacked);
    if !(whole_multiple(placement.on_chip.rows.len(), window.0)
        && whole_multiple(placement.on_chip.cols.len(), window.1))
    {
        return Err(Box::new(
            Finding::new(
                Severity::Error,
                Problem::AmplifierSection,
                format!(
                    "{keyword} = {text} does not fit the {}x{} science window: assembling \
                     needs the window's place on the detector",
                    window.1, window.0
                ),
            )
            .keyword(keyword)
            .seen(text.clone()),
        ));
    }
    Ok(placement)
}
