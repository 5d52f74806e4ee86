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

use crate::detector::{self, Profile};
use crate::error::FitsError;
use crate::fits::{FrameFile, KeywordProblem, read_frame_header};

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
    pub profile: &'static Profile,
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
    fn add(
        &mut self,
        severity: Severity,
        problem: Problem,
        file: Option<&Path>,
        keyword: Option<&str>,
        seen: Option<String>,
        expected: Option<String>,
        message: String,
    ) {
        self.findings.push(Finding {
            severity,
            problem,
            file: file.map(Path::to_path_buf),
            keyword: keyword.map(str::to_string),
            seen,
            expected,
            message,
        });
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
        self.add(
            Severity::Error,
            kind,
            Some(file),
            Some(key),
            seen,
            expected,
            format!("keyword {key} {problem}"),
        );
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
        .max_by_key(|v| (counts[v], std::cmp::Reverse(first_seen.iter().position(|x| x == v))))?
        .to_string();
    if counts.len() > 1 {
        let parts: Vec<String> = first_seen
            .iter()
            .map(|v| format!("{v} ×{}", counts[v]))
            .collect();
        summary.push(format!("{} differs: {}", rule.what, parts.join(", ")));
        for (file, v) in values.iter().filter(|(_, v)| *v != majority) {
            out.add(
                Severity::Error,
                rule.problem,
                Some(file),
                Some(rule.keyword),
                Some(v.clone()),
                Some(majority.clone()),
                format!(
                    "{} is {v} but the rest of the set has {majority} ({})",
                    rule.what, rule.keyword
                ),
            );
        }
    }
    Some(majority)
}

fn number_text(v: f64) -> String {
    crate::fits::header::format_float(v)
}

/// Verifies scanned frames. `ignored` are files skipped for their names (reported as notes).
pub fn verify(
    scanned: &[(PathBuf, Result<FrameFile, FitsError>)],
    ignored: &[PathBuf],
) -> Verification {
    let mut out = Collector {
        findings: Vec::new(),
    };
    let mut summary = Vec::new();
    for path in ignored {
        out.add(
            Severity::Warning,
            Problem::NotFitsName,
            Some(path),
            None,
            None,
            None,
            "not a FITS file name (.fits, .fits.gz, .fz); ignored".to_string(),
        );
    }

    // Per frame: readable, known detector, a bias, required keywords.
    let mut candidates: Vec<(&FrameFile, &'static Profile)> = Vec::new();
    for (path, scanned) in scanned {
        let frame = match scanned {
            Ok(frame) => frame,
            Err(e) => {
                let message = e.to_string();
                let message = message
                    .strip_prefix(&format!("{}: ", path.display()))
                    .unwrap_or(&message)
                    .to_string();
                out.add(Severity::Error, Problem::Unreadable, Some(path), None, None, None, message);
                continue;
            }
        };
        let header = frame.merged_header();
        let profile = match detector::detect(&header) {
            Ok(p) => p,
            Err(problem) => {
                let keyword = match problem {
                    detector::DetectProblem::UnknownInstrument { .. } => "INSTRUME",
                    _ => "ESO SEQ ARM",
                };
                out.add(
                    Severity::Error,
                    Problem::UnsupportedDetector,
                    Some(path),
                    Some(keyword),
                    header.text(keyword),
                    None,
                    problem.to_string(),
                );
                continue;
            }
        };
        let types: Vec<String> = ["ESO DPR TYPE", "ESO PRO TYPE"]
            .iter()
            .filter_map(|k| header.text(k))
            .filter(|t| !t.eq_ignore_ascii_case("REDUCED"))
            .collect();
        let is_bias = !types.is_empty() && types.iter().all(|t| t.eq_ignore_ascii_case("BIAS"));
        let mut usable = true;
        if !is_bias && !types.is_empty() {
            out.add(
                Severity::Error,
                Problem::NotBias,
                Some(path),
                Some("ESO DPR TYPE"),
                Some(types.join(", ")),
                Some("BIAS".to_string()),
                format!("not a bias frame: ESO DPR TYPE is '{}', expected 'BIAS'", types.join(", ")),
            );
            usable = false;
        }
        for key in profile.required_keywords() {
            let check = if matches!(key, "DATE-OBS" | "ESO DPR TYPE" | "ESO DPR TECH" | "ESO DPR CATG" | "ESO SEQ ARM") {
                header.require_text(key).map(drop)
            } else {
                header.require_number(key).map(drop)
            };
            if let Err(problem) = check {
                out.keyword(path, key, problem);
                usable = false;
            }
        }
        if usable {
            candidates.push((frame, profile));
        }
    }

    // Across the set: what soxspipe insists is unique, plus the image shape.
    let profile_names: Vec<(&Path, String)> = candidates
        .iter()
        .map(|(f, p)| (f.path.as_path(), format!("{} ({} {})", p.arm, p.instrument.product_tag(), p.name)))
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
    let profile = agreed_profile.and_then(|name| {
        candidates
            .iter()
            .find(|(f, _)| profile_names.iter().any(|(p, n)| *p == f.path.as_path() && *n == name))
            .map(|(_, p)| *p)
    });
    let frames: Vec<&FrameFile> = candidates
        .iter()
        .filter(|(_, p)| Some(*p) == profile)
        .map(|(f, _)| *f)
        .collect();

    let Some(profile) = profile else {
        if !out.findings.iter().any(|f| f.severity == Severity::Error) {
            out.add(Severity::Error, Problem::NoFrames, None, None, None, None, "no bias frames to stack".into());
        } else {
            out.add(Severity::Error, Problem::NoFrames, None, None, None, None, "no usable bias frames left to stack".into());
        }
        return Verification { findings: out.findings, summary, plan: None };
    };
    let kw = profile.keywords;
    let headers: Vec<_> = frames.iter().map(|f| (f.path.as_path(), f.merged_header())).collect();
    let binning_of = |h: &crate::fits::Header| {
        let bx = h.number(kw.binx).unwrap_or(1.0).max(1.0) as usize;
        let by = h.number(kw.biny).unwrap_or(1.0).max(1.0) as usize;
        (bx, by)
    };
    let binnings: Vec<(&Path, String)> = headers
        .iter()
        .map(|(p, h)| {
            let (bx, by) = binning_of(h);
            (*p, format!("{bx}x{by}"))
        })
        .collect();
    let binning_keyword = format!("{}/{}", kw.binx, kw.biny.rsplit(' ').next().unwrap_or(kw.biny));
    let agreed_binning = agree(
        &mut out,
        &mut summary,
        Agreement { problem: Problem::BinningDiffers, keyword: &binning_keyword, what: "binning" },
        &binnings,
    );
    let speeds: Vec<(&Path, String)> = headers
        .iter()
        .filter_map(|(p, h)| h.text(kw.read_speed).map(|s| (*p, s)))
        .collect();
    let read_speed = agree(
        &mut out,
        &mut summary,
        Agreement { problem: Problem::ReadSpeedDiffers, keyword: kw.read_speed, what: "read-out speed" },
        &speeds,
    )
    .unwrap_or_default();
    let gains: Vec<(&Path, String)> = headers
        .iter()
        .filter_map(|(p, h)| {
            let conad = h.number(kw.conad)?;
            let gain = match kw.gain {
                Some(key) => conad.max(h.number(key)?),
                None => conad,
            };
            Some((*p, number_text(gain)))
        })
        .collect();
    let gain_keyword = match kw.gain {
        Some(g) => format!("max({}, {g})", kw.conad),
        None => kw.conad.to_string(),
    };
    let gain = agree(
        &mut out,
        &mut summary,
        Agreement { problem: Problem::GainDiffers, keyword: &gain_keyword, what: "gain" },
        &gains,
    );
    let rons: Vec<(&Path, String)> = headers
        .iter()
        .filter_map(|(p, h)| h.number(kw.ron).map(|r| (*p, number_text(r))))
        .collect();
    let ron = agree(
        &mut out,
        &mut summary,
        Agreement { problem: Problem::RonDiffers, keyword: kw.ron, what: "read noise" },
        &rons,
    );
    let shapes: Vec<(&Path, String)> = frames
        .iter()
        .map(|f| (f.path.as_path(), format!("{}x{}", f.image.shape.1, f.image.shape.0)))
        .collect();
    agree(
        &mut out,
        &mut summary,
        Agreement { problem: Problem::ShapeDiffers, keyword: "NAXIS1/NAXIS2", what: "image size" },
        &shapes,
    );

    let mut fallback = |what: &str, keyword: &str, value: f64| {
        out.add(
            Severity::Note,
            Problem::FallbackValue,
            None,
            Some(keyword),
            None,
            Some(number_text(value)),
            format!("no frame carries {keyword}; using the detector table's {what} {}", number_text(value)),
        );
        value
    };
    let gain = match gain.and_then(|g| g.parse().ok()) {
        Some(g) => g,
        None => fallback("gain", &gain_keyword, profile.gain_fallback),
    };
    let ron = match ron.and_then(|r| r.parse().ok()) {
        Some(r) => r,
        None => fallback("read noise", kw.ron, profile.ron_fallback),
    };

    let binning = agreed_binning
        .as_deref()
        .and_then(|b| b.split_once('x'))
        .and_then(|(x, y)| Some((x.parse().ok()?, y.parse().ok()?)))
        .unwrap_or((1, 1));
    let (rows, cols) = profile.window(binning.0, binning.1);
    for frame in &frames {
        let (h, w) = frame.image.shape;
        if rows.end > h || cols.end > w {
            out.add(
                Severity::Error,
                Problem::WindowOutsideImage,
                Some(&frame.path),
                Some("NAXIS1/NAXIS2"),
                Some(format!("{w}x{h}")),
                Some(format!("at least {}x{}", cols.end, rows.end)),
                format!(
                    "image is {w}x{h} pixels, smaller than the {} science window [{}:{}, {}:{}]",
                    profile.name, cols.start + 1, cols.end, rows.start + 1, rows.end
                ),
            );
        }
    }

    if frames.len() < RECOMMENDED_FRAMES {
        out.add(
            Severity::Warning,
            Problem::FewFrames,
            None,
            None,
            Some(frames.len().to_string()),
            Some(format!("at least {RECOMMENDED_FRAMES}")),
            format!(
                "only {} bias frame(s); soxspipe recommends at least {RECOMMENDED_FRAMES}",
                frames.len()
            ),
        );
    }

    let has_errors = out.findings.iter().any(|f| f.severity == Severity::Error);
    let plan = (!has_errors).then(|| {
        let mut sorted: Vec<FrameFile> = frames.iter().map(|f| (*f).clone()).collect();
        sorted.sort_by(|a, b| {
            let mjd = |f: &FrameFile| f.merged_header().number("MJD-OBS").unwrap_or(f64::INFINITY);
            mjd(a).total_cmp(&mjd(b))
        });
        Plan {
            profile,
            frames: sorted,
            gain,
            ron,
            binning,
            read_speed,
            rows,
            cols,
        }
    });
    Verification {
        findings: out.findings,
        summary,
        plan,
    }
}
