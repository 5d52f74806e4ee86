//! Verification of a set of raw frames, as soxspipe does it and as it should have.
//!
//! The result is a value, a list of findings, so the console can mark each frame and the
//! command line can print text or JSON. When nothing blocks stacking it also carries the
//! [`Plan`]: the profile, gain, read noise and frames in observing order; one plan per
//! extension when the profile stacks each extension of multi-extension frames on its own.

mod amplifiers;
mod frame;
mod group;
mod layout;
mod select;
mod set;

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::detector::{Detectors, Placement, Profile, Section};
use crate::error::FitsError;
use crate::fits::{FrameFile, KeywordProblem, read_frame_header};
use crate::params::RecipeVersion;
use frame::{Candidate, check_frame};
pub use group::{Group, Setup, group_by_setup};
pub use layout::{AssembleError, Layout, Piece, layout};
pub use select::{LeftOut, select_valid};
use set::{Agreement, Draft, agree, agree_extensions, plan_image};

/// soxspipe's documented minimum number of bias frames.
pub const RECOMMENDED_FRAMES: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Note,
    Warning,
    Error,
}

/// What kind of problem a finding reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Problem {
    Unreadable,
    NotFitsName,
    UnsupportedDetector,
    NotBias,
    MissingKeyword,
    WrongKeywordType,
    ArmDiffers,
    BinningDiffers,
    ReadSpeedDiffers,
    GainDiffers,
    RonDiffers,
    ShapeDiffers,
    WindowOutsideImage,
    NoSuchHdu,
    ExtensionsDiffer,
    FallbackValue,
    NoFrames,
    FewFrames,
    DuplicateFrame,
    /// An amplifier's section cannot be read, does not fit, or overlaps another's.
    AmplifierSection,
}

/// One finding: which file, which extension, which keyword, what was seen and what was
/// expected.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub problem: Problem,
    pub file: Option<PathBuf>,
    /// The extension(s) of multi-extension frames it is about (`AMP2`, `AMP1, AMP2`);
    /// `None` for single-image profiles and for findings about whole files.
    pub hdu: Option<String>,
    pub keyword: Option<String>,
    pub seen: Option<String>,
    pub expected: Option<String>,
    pub message: String,
}

impl Finding {
    fn new(severity: Severity, problem: Problem, message: impl Into<String>) -> Finding {
        Finding {
            severity,
            problem,
            file: None,
            hdu: None,
            keyword: None,
            seen: None,
            expected: None,
            message: message.into(),
        }
    }

    fn file(mut self, file: &Path) -> Finding {
        self.file = Some(file.to_path_buf());
        self
    }

    fn keyword(mut self, keyword: &str) -> Finding {
        self.keyword = Some(keyword.to_string());
        self
    }

    fn seen(mut self, seen: impl Into<String>) -> Finding {
        self.seen = Some(seen.into());
        self
    }

    fn expected(mut self, expected: impl Into<String>) -> Finding {
        self.expected = Some(expected.into());
        self
    }

    /// The message, after the extension(s) it is about when there are any: what a list
    /// of one file's findings shows.
    pub fn text(&self) -> String {
        match &self.hdu {
            Some(hdu) => format!("{hdu}: {}", self.message),
            None => self.message.clone(),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.severity {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        // As file errors name their HDU: "path, AMP2: message".
        let place: Vec<String> = self
            .file
            .iter()
            .map(|file| file.display().to_string())
            .chain(self.hdu.clone())
            .collect();
        if place.is_empty() {
            write!(f, "{label}: {}", self.message)
        } else {
            write!(f, "{label}: {}: {}", place.join(", "), self.message)
        }
    }
}

/// Everything stacking needs to know about one image of a verified set: the frames' only
/// image, or one extension of multi-extension frames.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub profile: Profile,
    /// The extension stacked (`EXTNAME`, else `HDU<n>`) when the profile stacks each
    /// extension on its own; `None` keeps soxspipe's single-image product layout.
    pub extension: Option<String>,
    /// Sorted by `MJD-OBS`: the order decides float32 sums and the product header.
    pub frames: Vec<FrameFile>,
    /// e-/ADU.
    pub gain: f64,
    /// e-.
    pub ron: f64,
    pub binning: (usize, usize),
    pub read_speed: String,
    /// Science window in the rotated raw frame.
    pub rows: Range<usize>,
    pub cols: Range<usize>,
    /// The profile's amplifiers, resolved for this set (none when it names none).
    pub amplifiers: Vec<AmplifierPlan>,
    /// Where the science window sits on the whole detector, when the profile assembles
    /// its extensions (from the first frame's `DETSEC`, or the keyword the profile names).
    pub placement: Option<Placement>,
}

/// One amplifier of a set: where its data lie in the master, its strips in the raw frame,
/// its gain and read noise.
#[derive(Debug, Clone, PartialEq)]
pub struct AmplifierPlan {
    pub name: String,
    /// Its data section in the master's pixels (rows, columns of the science window).
    pub data: Section,
    /// The same in the rotated raw frame.
    pub raw_data: Section,
    /// Its overscan and prescan strips in the rotated raw frame (outside the window).
    pub overscan: Option<Section>,
    pub prescan: Option<Section>,
    /// e-/ADU.
    pub gain: f64,
    /// e-.
    pub ron: f64,
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(extension) = &self.extension {
            write!(f, "{extension}: ")?;
        }
        write!(
            f,
            "{} bias frame(s), {} {}x{}, gain {} e-/ADU, RON {} e-",
            self.frames.len(),
            self.profile.name,
            self.binning.0,
            self.binning.1,
            self.gain,
            self.ron
        )
    }
}

impl Plan {
    pub fn shape(&self) -> (usize, usize) {
        (self.rows.len(), self.cols.len())
    }

    /// The read noise soxspipe release `version` takes for these frames, e-. The plan's
    /// own `ron` follows the detector table the frames were verified with; a built-in
    /// profile's table may keep the read noise under another keyword in another release
    /// (SOXS: `ESO DET CHIP RON` in 0.17, `ESO DET OUT1 RON` in 0.19), so the console can
    /// switch releases without verifying again.
    pub fn read_noise(&self, version: RecipeVersion) -> f64 {
        let table = crate::detector::eso_table(version)
            .iter()
            .find(|p| p.name == self.profile.name);
        let Some(profile) = table.filter(|p| p.ron != self.profile.ron) else {
            return self.ron;
        };
        self.frames
            .iter()
            .find_map(|f| profile.ron.read(&f.merged_header()))
            .or(profile.ron.value)
            .unwrap_or(self.ron)
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Verification {
    pub findings: Vec<Finding>,
    /// Set-level verdicts, e.g. "binning differs: 1x1 ×5, 2x2 ×2".
    pub summary: Vec<String>,
    /// The plan of a single-image set; `None` when errors block stacking or when the
    /// profile stacks each extension on its own (see `extensions`).
    pub plan: Option<Plan>,
    /// A multi-extension set's plans, one per extension in file order; empty for
    /// single-image profiles and when errors block stacking.
    pub extensions: Vec<Plan>,
}

impl Verification {
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    pub fn error_count(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count()
    }

    /// Every image to stack: the single image, or each extension.
    pub fn plans(&self) -> Vec<&Plan> {
        self.plan.iter().chain(&self.extensions).collect()
    }

    /// Findings about one file, worst first.
    pub fn for_file<'a>(&'a self, path: &'a Path) -> impl Iterator<Item = &'a Finding> + 'a {
        self.findings
            .iter()
            .filter(move |f| f.file.as_deref() == Some(path))
    }
}

/// Reads the headers of `files` (in parallel; header reads are small).
pub fn scan(files: &[PathBuf]) -> Vec<(PathBuf, Result<FrameFile, FitsError>)> {
    files
        .par_iter()
        .map(|path| (path.clone(), read_frame_header(path)))
        .collect()
}

/// Findings and set-level verdicts as they are found.
#[derive(Default)]
struct Collector {
    findings: Vec<Finding>,
    summary: Vec<(Option<String>, String)>,
    /// The extension the checks at hand are about: what is found is tagged with it.
    extension: Option<String>,
}

impl Collector {
    fn push(&mut self, mut finding: Finding) {
        if finding.hdu.is_none() {
            finding.hdu.clone_from(&self.extension);
        }
        self.findings.push(finding);
    }

    fn summarise(&mut self, line: String) {
        self.summary.push((self.extension.clone(), line));
    }

    fn keyword(&mut self, file: &Path, key: &str, problem: KeywordProblem) {
        let (kind, seen, expected) = match &problem {
            KeywordProblem::Missing => (Problem::MissingKeyword, None, None),
            KeywordProblem::WrongType { found, expected } => (
                Problem::WrongKeywordType,
                Some(found.to_string()),
                Some(expected.to_string()),
            ),
        };
        let mut finding = Finding::new(Severity::Error, kind, format!("keyword {key} {problem}"))
            .file(file)
            .keyword(key);
        finding.seen = seen;
        finding.expected = expected;
        self.push(finding);
    }

    fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// The findings and summary, with what several extensions share said once: a keyword
    /// of the primary header is missing from every extension's view of it, but one
    /// finding naming `AMP1, AMP2` says so better than one per extension.
    fn finish(self) -> (Vec<Finding>, Vec<String>) {
        let findings = merge_extensions(
            self.findings
                .into_iter()
                .map(|mut f| (f.hdu.take(), f))
                .collect(),
        )
        .into_iter()
        .map(|(hdu, f)| Finding { hdu, ..f })
        .collect();
        let summary = merge_extensions(self.summary)
            .into_iter()
            .map(|(extension, line)| match extension {
                Some(e) => format!("{e}: {line}"),
                None => line,
            })
            .collect();
        (findings, summary)
    }
}

/// Items equal but for their extension become one, naming every extension in order of
/// first appearance; untagged items pass through.
fn merge_extensions<T: Eq + std::hash::Hash + Clone>(
    items: Vec<(Option<String>, T)>,
) -> Vec<(Option<String>, T)> {
    let mut out: Vec<(Option<String>, T)> = Vec::with_capacity(items.len());
    let mut seen: HashMap<T, usize> = HashMap::new();
    for (extension, item) in items {
        let Some(extension) = extension else {
            out.push((None, item));
            continue;
        };
        match seen.get(&item) {
            Some(&i) => {
                if let Some(names) = out[i].0.as_mut() {
                    names.push_str(", ");
                    names.push_str(&extension);
                }
            }
            None => {
                seen.insert(item.clone(), out.len());
                out.push((Some(extension), item));
            }
        }
    }
    out
}

/// What is said of a file skipped for its name.
pub fn not_fits_name(path: &Path) -> Finding {
    Finding::new(
        Severity::Warning,
        Problem::NotFitsName,
        "not a FITS file name (.fits, .fits.gz, .fits.Z, .fz); ignored".to_string(),
    )
    .file(path)
}

/// What is said of a file whose header could not be read.
fn unreadable(path: &Path, error: &FitsError) -> Finding {
    // The finding names the file already: "path: msg" and "path, HDU 1: msg" become "msg"
    // and "HDU 1: msg".
    let message = error.to_string();
    let message = message
        .strip_prefix(&path.display().to_string())
        .and_then(|rest| rest.strip_prefix(": ").or(rest.strip_prefix(", ")))
        .unwrap_or(&message)
        .to_string();
    Finding::new(Severity::Error, Problem::Unreadable, message).file(path)
}

/// Verifies scanned frames. `ignored` are files skipped for their names (reported as
/// notes); `detectors` adds the settings' generic profiles to the built-in ones.
pub fn verify(
    scanned: &[(PathBuf, Result<FrameFile, FitsError>)],
    ignored: &[PathBuf],
    detectors: &Detectors,
) -> Verification {
    let mut out = Collector::default();
    for path in ignored {
        out.push(not_fits_name(path));
    }

    // Per frame: readable, known detector, a bias, required keywords.
    let mut candidates: Vec<Candidate> = Vec::new();
    for (path, scanned) in scanned {
        match scanned {
            Ok(frame) => {
                if let Some(candidate) = check_frame(&mut out, path, frame, detectors) {
                    candidates.push(candidate);
                }
            }
            Err(e) => out.push(unreadable(path, e)),
        }
    }

    // Across the set: what soxspipe insists is unique, then each image's own checks.
    let profile_names: Vec<(&Path, String)> = candidates
        .iter()
        .map(|c| {
            let p = c.profile;
            let label = match p.instrument {
                Some(i) => format!("{} ({} {})", p.arm, i.product_tag(), p.name),
                None => p.name.clone(),
            };
            (c.path.as_path(), label)
        })
        .collect();
    let agreed_profile = agree(
        &mut out,
        Agreement {
            problem: Problem::ArmDiffers,
            keyword: "ESO SEQ ARM",
            what: "arm",
        },
        &profile_names,
    );
    let profile: Option<&Profile> = agreed_profile.and_then(|name| {
        profile_names
            .iter()
            .position(|(_, n)| *n == name)
            .map(|i| candidates[i].profile)
    });
    let Some(profile) = profile else {
        let message = if candidates.is_empty() && scanned.is_empty() {
            "no bias frames to stack"
        } else {
            "no usable bias frames left to stack"
        };
        out.push(Finding::new(Severity::Error, Problem::NoFrames, message));
        let (findings, summary) = out.finish();
        return Verification {
            findings,
            summary,
            ..Verification::default()
        };
    };
    let frames: Vec<&Candidate> = candidates.iter().filter(|c| c.profile == profile).collect();

    let drafts: Vec<Draft> = if profile.hdu.is_multi() {
        agree_extensions(&mut out, &frames)
            .into_iter()
            .filter_map(|name| {
                let images: Vec<&FrameFile> =
                    frames.iter().filter_map(|c| c.image(&name)).collect();
                out.extension = Some(name.clone());
                let plan = plan_image(&mut out, profile, &images, Some(name));
                out.extension = None;
                plan
            })
            .collect()
    } else {
        let images: Vec<&FrameFile> = frames.iter().filter_map(|c| c.first()).collect();
        plan_image(&mut out, profile, &images, None)
            .into_iter()
            .collect()
    };

    if frames.len() < RECOMMENDED_FRAMES {
        out.push(
            Finding::new(
                Severity::Warning,
                Problem::FewFrames,
                format!(
                    "only {} bias frame(s); soxspipe recommends at least {RECOMMENDED_FRAMES}",
                    frames.len()
                ),
            )
            .seen(frames.len().to_string())
            .expected(format!("at least {RECOMMENDED_FRAMES}")),
        );
    }

    report_duplicates(&mut out, &frames);

    let mut plans: Vec<Plan> = if out.has_errors() {
        Vec::new()
    } else {
        drafts.into_iter().map(Draft::into_plan).collect()
    };
    if let Err(e) = layout(&plans) {
        out.push(Finding::new(
            Severity::Error,
            Problem::AmplifierSection,
            format!("the extensions cannot be assembled into one detector: {e}"),
        ));
        plans.clear();
    }
    let (findings, summary) = out.finish();
    let (plan, extensions) = if profile.hdu.is_multi() {
        (None, plans)
    } else {
        (plans.into_iter().next(), Vec::new())
    };
    Verification {
        findings,
        summary,
        plan,
        extensions,
    }
}

/// Frames whose image has the DATASUM of an earlier one: the same exposure copied twice
/// (RON DIFF then reads 0 and the stack is no quieter for it). A warning, because the
/// checksum compares the data without reading it and equal sums are not proof.
fn report_duplicates(out: &mut Collector, frames: &[&Candidate]) {
    let mut first_with: HashMap<String, &Path> = HashMap::new();
    for candidate in frames {
        let Some(image) = candidate.first() else {
            continue;
        };
        let Some(datasum) = image
            .image
            .header
            .text("DATASUM")
            .filter(|d| d.trim() != "0")
        else {
            continue;
        };
        match first_with.get(&datasum) {
            Some(original) => out.push(
                Finding::new(
                    Severity::Warning,
                    Problem::DuplicateFrame,
                    format!(
                        "same pixel data as {} (equal DATASUM {datasum}): a copy adds no information",
                        original.display()
                    ),
                )
                .file(&image.path)
                .keyword("DATASUM")
                .seen(datasum),
            ),
            None => {
                first_with.insert(datasum, &image.path);
            }
        }
    }
}

#[cfg(test)]
mod tests;
