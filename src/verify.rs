//! Verification of a set of raw frames, as soxspipe does it and as it should have.
//!
//! The result is a value, a list of findings, so the console can mark each frame and the
//! command line can print text or JSON. When nothing blocks stacking it also carries the
//! [`Plan`]: the profile, gain, read noise and frames in observing order.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::detector::{BiasRule, BiasVerdict, Detectors, Profile, Quantity};
use crate::error::FitsError;
use crate::fits::{FrameFile, Header, KeywordProblem, read_frame_header};

/// soxspipe's documented minimum number of bias frames.
pub const RECOMMENDED_FRAMES: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Note,
    Warning,
    Error,
}

/// What kind of problem a finding reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
    FallbackValue,
    NoFrames,
    FewFrames,
}

/// One finding: which file, which keyword, what was seen and what was expected.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub problem: Problem,
    pub file: Option<PathBuf>,
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
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.severity {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        match &self.file {
            Some(file) => write!(f, "{label}: {}: {}", file.display(), self.message),
            None => write!(f, "{label}: {}", self.message),
        }
    }
}

/// Everything stacking needs to know about a verified set.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub profile: Profile,
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
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Verification {
    pub findings: Vec<Finding>,
    /// Set-level verdicts, e.g. "binning differs: 1x1 ×5, 2x2 ×2".
    pub summary: Vec<String>,
    pub plan: Option<Plan>,
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

struct Collector {
    findings: Vec<Finding>,
}

impl Collector {
    fn push(&mut self, finding: Finding) {
        self.findings.push(finding);
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
}

/// A per-frame value that must agree across the set.
struct Agreement<'a> {
    problem: Problem,
    keyword: &'a str,
    what: &'a str,
}

/// Checks frames whose values differ from the most common one; returns the agreed value.
fn agree(
    out: &mut Collector,
    summary: &mut Vec<String>,
    rule: Agreement<'_>,
    values: &[(&Path, String)],
) -> Option<String> {
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
    if counts.len() > 1 {
        let parts: Vec<String> = first_seen
            .iter()
            .map(|v| format!("{v} ×{}", counts[v]))
            .collect();
        summary.push(format!("{} differs: {}", rule.what, parts.join(", ")));
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

fn number_text(v: f64) -> String {
    crate::fits::header::format_float(v)
}

/// The bias check of a built-in (ESO) profile: `ESO DPR TYPE` (or a product's
/// `ESO PRO TYPE`) must say BIAS.
fn eso_bias_finding(header: &Header) -> Option<Finding> {
    let types: Vec<String> = ["ESO DPR TYPE", "ESO PRO TYPE"]
        .iter()
        .filter_map(|k| header.text(k))
        .filter(|t| !t.eq_ignore_ascii_case("REDUCED"))
        .collect();
    let is_bias = types.iter().all(|t| t.eq_ignore_ascii_case("BIAS"));
    (!is_bias).then(|| {
        Finding::new(
            Severity::Error,
            Problem::NotBias,
            format!(
                "not a bias frame: ESO DPR TYPE is '{}', expected 'BIAS'",
                types.join(", ")
            ),
        )
        .keyword("ESO DPR TYPE")
        .seen(types.join(", "))
        .expected("BIAS".to_string())
    })
}

fn bias_finding(profile: &Profile, header: &Header) -> Option<Finding> {
    match &profile.bias {
        BiasRule::Eso => eso_bias_finding(header),
        BiasRule::Generic(rule) => match rule.judge(header) {
            BiasVerdict::Bias => None,
            BiasVerdict::Not {
                keyword,
                seen,
                expected,
            } => Some(
                Finding::new(
                    Severity::Error,
                    Problem::NotBias,
                    format!(
                        "not a bias frame by the {} profile: {keyword} is {seen}, expected {expected}",
                        profile.name
                    ),
                )
                .keyword(&keyword)
                .seen(seen)
                .expected(expected),
            ),
        },
    }
}

/// One frame's profile and checks; `None` (with findings) when it cannot be stacked.
fn check_frame<'d>(
    out: &mut Collector,
    path: &Path,
    frame: &FrameFile,
    detectors: &'d Detectors,
) -> Option<(FrameFile, &'d Profile)> {
    let header = frame.merged_header();
    let profile = match detectors.detect(&header) {
        Ok(p) => p,
        Err(problem) => {
            let keyword = problem.keyword();
            out.push(
                Finding::new(
                    Severity::Error,
                    Problem::UnsupportedDetector,
                    problem.to_string(),
                )
                .file(path)
                .keyword(keyword)
                .seen(header.text(keyword).unwrap_or_else(|| "(missing)".into())),
            );
            return None;
        }
    };
    let Some(image) = profile.hdu.pick(&frame.images) else {
        let found: Vec<String> = frame
            .images
            .iter()
            .map(|i| match i.header.text("EXTNAME") {
                Some(name) => format!("{} ({name})", i.index),
                None => i.index.to_string(),
            })
            .collect();
        out.push(
            Finding::new(
                Severity::Error,
                Problem::NoSuchHdu,
                format!(
                    "the {} profile reads {}, which this file does not have (image HDUs: {})",
                    profile.name,
                    profile.hdu,
                    found.join(", ")
                ),
            )
            .file(path)
            .keyword("EXTNAME")
            .seen(found.join(", "))
            .expected(profile.hdu.to_string()),
        );
        return None;
    };
    let frame = frame.with_image(image);
    let header = frame.merged_header();
    let mut usable = true;
    if let Some(finding) = bias_finding(profile, &header) {
        out.push(finding.file(path));
        usable = false;
    }
    for key in &profile.required_text {
        if let Err(problem) = header.require_text(key) {
            out.keyword(path, key, problem);
            usable = false;
        }
    }
    for key in &profile.required_numbers {
        if let Err(problem) = header.require_number(key) {
            out.keyword(path, key, problem);
            usable = false;
        }
    }
    for quantity in [&profile.gain, &profile.ron] {
        if quantity.value.is_some() {
            continue;
        }
        for key in &quantity.keywords {
            if let Err(problem) = header.require_number(key) {
                out.keyword(path, key, problem);
                usable = false;
            }
        }
    }
    drop(header);
    usable.then_some((frame, profile))
}

/// Frames in observing order: by the first of the profile's `order_by` keywords that
/// every frame carries (stable, as soxspipe's argsort), else as given.
fn observing_order(frames: &[FrameFile], profile: &Profile) -> Vec<FrameFile> {
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

/// Verifies scanned frames. `ignored` are files skipped for their names (reported as
/// notes); `detectors` adds the settings' generic profiles to the built-in ones.
pub fn verify(
    scanned: &[(PathBuf, Result<FrameFile, FitsError>)],
    ignored: &[PathBuf],
    detectors: &Detectors,
) -> Verification {
    let mut out = Collector {
        findings: Vec::new(),
    };
    let mut summary = Vec::new();
    for path in ignored {
        out.push(
            Finding::new(
                Severity::Warning,
                Problem::NotFitsName,
                "not a FITS file name (.fits, .fits.gz, .fz); ignored".to_string(),
            )
            .file(path),
        );
    }

    // Per frame: readable, known detector, a bias, required keywords.
    let mut candidates: Vec<(FrameFile, &Profile)> = Vec::new();
    for (path, scanned) in scanned {
        match scanned {
            Ok(frame) => {
                if let Some(candidate) = check_frame(&mut out, path, frame, detectors) {
                    candidates.push(candidate);
                }
            }
            Err(e) => {
                let message = e.to_string();
                let message = message
                    .strip_prefix(&format!("{}: ", path.display()))
                    .unwrap_or(&message)
                    .to_string();
                out.push(Finding::new(Severity::Error, Problem::Unreadable, message).file(path));
            }
        }
    }

    // Across the set: what soxspipe insists is unique, plus the image shape.
    let profile_names: Vec<(&Path, String)> = candidates
        .iter()
        .map(|(f, p)| {
            let label = match p.instrument {
                Some(i) => format!("{} ({} {})", p.arm, i.product_tag(), p.name),
                None => p.name.clone(),
            };
            (f.path.as_path(), label)
        })
        .collect();
    let agreed_profile = agree(
        &mut out,
        &mut summary,
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
            .map(|i| candidates[i].1)
    });
    let frames: Vec<&FrameFile> = candidates
        .iter()
        .filter(|(_, p)| Some(*p) == profile)
        .map(|(f, _)| f)
        .collect();

    let Some(profile) = profile else {
        let message = if candidates.is_empty() && scanned.is_empty() {
            "no bias frames to stack"
        } else {
            "no usable bias frames left to stack"
        };
        out.push(Finding::new(Severity::Error, Problem::NoFrames, message));
        return Verification {
            findings: out.findings,
            summary,
            plan: None,
        };
    };
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
        &mut out,
        &mut summary,
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
                &mut out,
                &mut summary,
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
            &mut out,
            &mut summary,
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
        &mut out,
        &mut summary,
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
    // A quantity without a value has been required of every frame above.
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
    let mut window = None;
    for frame in &same_binning {
        let (h, w) = frame.image.shape;
        match profile.window_in((h, w), binning) {
            Some(fits) => window = window.or(Some(fits)),
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

    let has_errors = out.findings.iter().any(|f| f.severity == Severity::Error);
    let plan = match window {
        Some((rows, cols)) if !has_errors => {
            let frames: Vec<FrameFile> = frames.into_iter().cloned().collect();
            Some(Plan {
                profile: profile.clone(),
                frames: observing_order(&frames, profile),
                gain,
                ron,
                binning,
                read_speed,
                rows,
                cols,
            })
        }
        _ => None,
    };
    Verification {
        findings: out.findings,
        summary,
        plan,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fits::{Card, Header, Value};

    type Scanned = (PathBuf, Result<FrameFile, FitsError>);

    fn soxs_cards(i: usize) -> Vec<(String, Value)> {
        let s = |v: &str| Value::Str(v.into());
        vec![
            ("INSTRUME".into(), s("SOXS")),
            (
                "DATE-OBS".into(),
                s(&format!("2025-10-10T09:{:02}:00.000", 19 + i)),
            ),
            ("MJD-OBS".into(), Value::Float(60958.38 + i as f64 * 1e-3)),
            ("EXPTIME".into(), Value::Float(0.0)),
            ("ESO DPR TYPE".into(), s("BIAS")),
            ("ESO DPR TECH".into(), s("IMAGE")),
            ("ESO DPR CATG".into(), s("CALIB")),
            ("ESO SEQ ARM".into(), s("VIS")),
            ("ESO DET BINX".into(), Value::Int(1)),
            ("ESO DET BINY".into(), Value::Int(1)),
            ("ESO DET READ CURID".into(), Value::Int(1)),
            ("ESO DET OUT1 CONAD".into(), Value::Float(1.4)),
            ("ESO DET OUT1 GAIN".into(), Value::Float(0.7143)),
            ("ESO DET CHIP RON".into(), Value::Float(4.2)),
            ("ESO INS TEMP104 VAL".into(), Value::Float(153.0)),
            ("ESO INS TEMP301 VAL".into(), Value::Float(15.0)),
        ]
    }

    /// A SOXS VIS bias frame `i`, with `edit` applied to its cards.
    fn frame(i: usize, shape: (usize, usize), edit: impl Fn(&mut Vec<(String, Value)>)) -> Scanned {
        let mut cards = soxs_cards(i);
        edit(&mut cards);
        let header = Header {
            cards: cards
                .iter()
                .map(|(k, v)| Card::new(k, v.clone(), ""))
                .collect(),
        };
        let path = PathBuf::from(format!("/night/SOXS.{i}.fits"));
        (path.clone(), Ok(FrameFile::single(path, header, shape)))
    }

    fn good(i: usize) -> Scanned {
        frame(i, (4096, 2098), |_| {})
    }

    fn set(name: &str, value: Value) -> impl Fn(&mut Vec<(String, Value)>) {
        let name = name.to_string();
        move |cards| {
            cards.retain(|(k, _)| *k != name);
            cards.push((name.clone(), value.clone()));
        }
    }

    fn remove(name: &'static str) -> impl Fn(&mut Vec<(String, Value)>) {
        move |cards| cards.retain(|(k, _)| k != name)
    }

    fn run(frames: Vec<Scanned>) -> Verification {
        verify(&frames, &[], &Detectors::default())
    }

    fn only(v: &Verification, problem: Problem) -> &Finding {
        let hits: Vec<_> = v.findings.iter().filter(|f| f.problem == problem).collect();
        assert_eq!(hits.len(), 1, "{problem:?} in {:#?}", v.findings);
        hits[0]
    }

    #[test]
    fn a_clean_set_gives_a_plan_in_mjd_order() {
        let frames = vec![good(2), good(0), good(1), good(4), good(3)];
        let v = run(frames);
        assert!(v.findings.is_empty(), "{:#?}", v.findings);
        let plan = v.plan.unwrap();
        assert_eq!(plan.profile.name, "soxs-vis");
        assert_eq!((plan.gain, plan.ron), (1.4, 4.2), "gain = max(CONAD, GAIN)");
        let order: Vec<_> = plan.frames.iter().map(|f| f.path.clone()).collect();
        assert_eq!(order[0], PathBuf::from("/night/SOXS.0.fits"));
        assert_eq!(order[4], PathBuf::from("/night/SOXS.4.fits"));
        assert_eq!((plan.rows.clone(), plan.cols.clone()), (0..4096, 50..858));
    }

    #[test]
    fn unreadable_file_is_named() {
        let bad = PathBuf::from("/night/broken.fits");
        let error = FitsError::Open {
            path: bad.clone(),
            message: "not a FITS file, or truncated".into(),
        };
        let mut frames: Vec<Scanned> = (0..5).map(good).collect();
        frames.push((bad.clone(), Err(error)));
        let v = run(frames);
        let f = only(&v, Problem::Unreadable);
        assert_eq!(f.file.as_ref(), Some(&bad));
        assert!(f.message.contains("not a FITS file"));
        assert!(v.plan.is_none());
    }

    #[test]
    fn non_fits_names_are_reported_but_do_not_block() {
        let frames: Vec<Scanned> = (0..5).map(good).collect();
        let v = verify(
            &frames,
            &[PathBuf::from("/night/notes.txt")],
            &Detectors::default(),
        );
        assert_eq!(only(&v, Problem::NotFitsName).severity, Severity::Warning);
        assert!(v.plan.is_some());
    }

    #[test]
    fn flat_is_not_a_bias() {
        let mut frames: Vec<Scanned> = (0..5).map(good).collect();
        frames.push(frame(
            5,
            (4096, 2098),
            set("ESO DPR TYPE", Value::Str("FLAT".into())),
        ));
        let v = run(frames);
        let f = only(&v, Problem::NotBias);
        assert_eq!(f.keyword.as_deref(), Some("ESO DPR TYPE"));
        assert_eq!(
            (f.seen.as_deref(), f.expected.as_deref()),
            (Some("FLAT"), Some("BIAS"))
        );
        assert_eq!(f.file.as_deref(), Some(Path::new("/night/SOXS.5.fits")));
    }

    #[test]
    fn missing_and_mistyped_keywords() {
        let mut frames: Vec<Scanned> = (0..5).map(good).collect();
        frames.push(frame(5, (4096, 2098), remove("ESO INS TEMP301 VAL")));
        frames.push(frame(
            6,
            (4096, 2098),
            set("MJD-OBS", Value::Str("yesterday".into())),
        ));
        let v = run(frames);
        let missing = only(&v, Problem::MissingKeyword);
        assert_eq!(missing.keyword.as_deref(), Some("ESO INS TEMP301 VAL"));
        assert!(missing.message.contains("is missing"));
        let typed = only(&v, Problem::WrongKeywordType);
        assert_eq!(typed.keyword.as_deref(), Some("MJD-OBS"));
        assert_eq!(typed.seen.as_deref(), Some("'yesterday'"));
        assert_eq!(typed.expected.as_deref(), Some("a number"));
    }

    #[test]
    fn nir_and_unknown_instruments_are_refused() {
        let mut frames: Vec<Scanned> = (0..5).map(good).collect();
        frames.push(frame(
            5,
            (4096, 2098),
            set("ESO SEQ ARM", Value::Str("NIR".into())),
        ));
        let v = run(frames);
        let f = only(&v, Problem::UnsupportedDetector);
        assert!(f.message.contains("NIR"));
        assert_eq!(f.seen.as_deref(), Some("NIR"));
        let v = run(vec![frame(
            0,
            (4096, 2098),
            set("INSTRUME", Value::Str("ALFOSC".into())),
        )]);
        assert!(
            only(&v, Problem::UnsupportedDetector)
                .message
                .contains("ALFOSC")
        );
        only(&v, Problem::NoFrames);
    }

    #[test]
    fn arm_differs() {
        let mut frames: Vec<Scanned> = (0..5).map(good).collect();
        frames.push(frame(5, (3000, 2144), |c| {
            set("INSTRUME", Value::Str("SHOOT".into()))(c);
            set("ESO SEQ ARM", Value::Str("UVB".into()))(c);
        }));
        let v = run(frames);
        let f = only(&v, Problem::ArmDiffers);
        assert_eq!(f.file.as_deref(), Some(Path::new("/night/SOXS.5.fits")));
        assert!(v.summary[0].starts_with("arm differs"), "{:?}", v.summary);
    }

    #[test]
    fn binning_differs_names_the_odd_frames_and_summarises() {
        let mut frames: Vec<Scanned> = (0..5).map(good).collect();
        for i in 5..7 {
            frames.push(frame(i, (2048, 1049), |c| {
                set("ESO DET BINX", Value::Int(2))(c);
                set("ESO DET BINY", Value::Int(2))(c);
            }));
        }
        let v = run(frames);
        let hits: Vec<_> = v
            .findings
            .iter()
            .filter(|f| f.problem == Problem::BinningDiffers)
            .collect();
        assert_eq!(hits.len(), 2);
        assert_eq!(
            (hits[0].seen.as_deref(), hits[0].expected.as_deref()),
            (Some("2x2"), Some("1x1"))
        );
        assert!(
            v.summary
                .contains(&"binning differs: 1x1 ×5, 2x2 ×2".to_string()),
            "{:?}",
            v.summary
        );
    }

    #[test]
    fn read_speed_gain_and_ron_must_agree() {
        let mut frames: Vec<Scanned> = (0..5).map(good).collect();
        frames.push(frame(
            5,
            (4096, 2098),
            set("ESO DET READ CURID", Value::Int(2)),
        ));
        frames.push(frame(
            6,
            (4096, 2098),
            set("ESO DET OUT1 CONAD", Value::Float(2.0)),
        ));
        frames.push(frame(
            7,
            (4096, 2098),
            set("ESO DET CHIP RON", Value::Float(8.0)),
        ));
        let v = run(frames);
        assert_eq!(
            only(&v, Problem::ReadSpeedDiffers).seen.as_deref(),
            Some("2")
        );
        let gain = only(&v, Problem::GainDiffers);
        assert_eq!(
            (gain.seen.as_deref(), gain.expected.as_deref()),
            (Some("2.0"), Some("1.4"))
        );
        assert_eq!(
            only(&v, Problem::RonDiffers).keyword.as_deref(),
            Some("ESO DET CHIP RON")
        );
        assert!(v.plan.is_none());
    }

    #[test]
    fn image_size_must_agree_and_hold_the_window() {
        let mut frames: Vec<Scanned> = (0..5).map(good).collect();
        frames.push(frame(5, (4096, 800), |_| {}));
        let v = run(frames);
        assert_eq!(
            only(&v, Problem::ShapeDiffers).seen.as_deref(),
            Some("800x4096")
        );
        let w = only(&v, Problem::WindowOutsideImage);
        assert!(
            w.message
                .contains("too small for the soxs-vis science window [51:858,1:4096]"),
            "{}",
            w.message
        );
    }

    #[test]
    fn missing_gain_and_ron_fall_back_to_the_detector_table() {
        let frames: Vec<Scanned> = (0..5)
            .map(|i| {
                frame(i, (4096, 2098), |c| {
                    remove("ESO DET OUT1 CONAD")(c);
                    remove("ESO DET CHIP RON")(c);
                })
            })
            .collect();
        let v = run(frames);
        let notes: Vec<_> = v
            .findings
            .iter()
            .filter(|f| f.problem == Problem::FallbackValue)
            .collect();
        assert_eq!(notes.len(), 2);
        assert!(notes.iter().all(|n| n.severity == Severity::Note));
        let plan = v.plan.unwrap();
        assert_eq!((plan.gain, plan.ron), (1.0, 3.8));
    }

    #[test]
    fn no_frames_is_an_error_and_few_frames_a_warning() {
        let v = run(vec![]);
        assert_eq!(only(&v, Problem::NoFrames).severity, Severity::Error);
        let v = run((0..3).map(good).collect());
        let f = only(&v, Problem::FewFrames);
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(f.seen.as_deref(), Some("3"));
        assert!(v.plan.is_some(), "a warning does not block stacking");
    }
}
