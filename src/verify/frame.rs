//! Checks of one frame on its own: a known detector, the profile's HDUs present, a bias,
//! the keywords the profile reads.

use std::path::{Path, PathBuf};

use super::{Collector, Finding, Problem, Severity};
use crate::detector::{BiasRule, BiasVerdict, Detectors, HduChoice, Profile};
use crate::fits::{FrameFile, Header, KeywordProblem};

/// A frame that passed its own checks, with the images it contributes: the profile's one
/// HDU, or each extension of a multi-extension profile (named as products name them).
pub(super) struct Candidate<'d> {
    pub path: PathBuf,
    pub profile: &'d Profile,
    images: Vec<(String, FrameFile)>,
}

impl Candidate<'_> {
    /// The frame read from its first (for single-image profiles, its only) image.
    pub fn first(&self) -> Option<&FrameFile> {
        self.images.first().map(|(_, f)| f)
    }

    /// The frame read from the extension called `name`.
    pub fn image(&self, name: &str) -> Option<&FrameFile> {
        self.images.iter().find(|(n, _)| n == name).map(|(_, f)| f)
    }

    pub fn image_names(&self) -> impl Iterator<Item = &str> {
        self.images.iter().map(|(n, _)| n.as_str())
    }
}

/// The image HDUs of a file as messages list them: `1 (AMP1), 2 (AMP2)`.
pub(super) fn list_images(frame: &FrameFile) -> String {
    let found: Vec<String> = frame
        .images
        .iter()
        .map(|i| match i.header.text("EXTNAME") {
            Some(name) => format!("{} ({name})", i.index),
            None => i.index.to_string(),
        })
        .collect();
    found.join(", ")
}

/// What a finding's `hdu` calls an HDU a multi-extension profile lists but a file lacks.
fn missing_name(choice: &HduChoice) -> String {
    match choice {
        HduChoice::Name(name) => name.clone(),
        HduChoice::Index(n) => format!("HDU{n}"),
        other => other.to_string(),
    }
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

/// The keywords the profile reads from one image's header (merged with the primary);
/// `false` when one is missing or mistyped.
fn keywords_present(out: &mut Collector, path: &Path, profile: &Profile, header: &Header) -> bool {
    let mut usable = true;
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
    // A quantity with a fallback value may be missing, but a value that is there and is
    // not a number is a damaged header, not an absent one.
    for quantity in [&profile.gain, &profile.ron] {
        for key in &quantity.keywords {
            match header.require_number(key) {
                Err(KeywordProblem::Missing) if quantity.value.is_some() => {}
                Err(problem) => {
                    out.keyword(path, key, problem);
                    usable = false;
                }
                Ok(_) => {}
            }
        }
    }
    usable
}

/// One frame's profile and checks; `None` (with findings) when it cannot be stacked.
pub(super) fn check_frame<'d>(
    out: &mut Collector,
    path: &Path,
    frame: &FrameFile,
    detectors: &'d Detectors,
) -> Option<Candidate<'d>> {
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
    drop(header);
    let multi = profile.hdu.is_multi();
    let chosen = profile.hdu.choose(&frame.images);
    let mut images: Vec<(String, FrameFile)> = Vec::with_capacity(chosen.len());
    let mut missing = 0;
    for chosen in chosen {
        match chosen {
            // A list naming one HDU twice (by number and by name) stacks it once.
            Ok(image) if images.iter().any(|(_, f)| f.image.index == image.index) => {}
            Ok(image) => {
                let image = frame.with_image(image);
                let name = image.image_name();
                images.push((name, image));
            }
            Err(choice) => {
                missing += 1;
                let found = list_images(frame);
                let mut finding = Finding::new(
                    Severity::Error,
                    Problem::NoSuchHdu,
                    format!(
                        "the {} profile reads {choice}, which this file does not have (image HDUs: {found})",
                        profile.name
                    ),
                )
                .file(path)
                .keyword("EXTNAME")
                .seen(found)
                .expected(choice.to_string());
                finding.hdu = multi.then(|| missing_name(choice));
                out.push(finding);
            }
        }
    }
    if missing > 0 {
        return None;
    }
    let mut usable = true;
    // Whether a frame is a bias is a property of the exposure, said once in the primary
    // header; judged on the first image so a multi-extension frame is not reported once
    // per amplifier.
    if let Some((_, first)) = images.first()
        && let Some(finding) = bias_finding(profile, &first.merged_header())
    {
        out.push(finding.file(path));
        usable = false;
    }
    for (name, image) in &images {
        out.extension = multi.then(|| name.clone());
        usable &= keywords_present(out, path, profile, &image.merged_header());
    }
    out.extension = None;
    usable.then(|| Candidate {
        path: path.to_path_buf(),
        profile,
        images,
    })
}
