//! Detector profiles: which HDU holds the pixels, where the science window is, how to
//! rotate, how a bias is recognised, and where gain, read noise, binning and read-out
//! mode come from.
//!
//! The built-in profiles are soxspipe's (`soxs_detector_parameters.yaml`,
//! `xsh_detector_parameters.yaml`, its keyword tables); generic profiles for any other CCD
//! come from settings (`mbias.detectors`) and use the same type, so the rest of the engine
//! never asks which kind it has.

mod builtin;
mod section;
pub mod simulated;

use std::ops::Range;

pub use builtin::{BUILT_IN, built_in, by_name, eso_table, soxs_vis};
pub use section::{Placement, Section, SectionError, SectionSpec};

use crate::fits::{Header, ImageHdu, Value};
use crate::params::{Numerics, RecipeVersion};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Instrument {
    Soxs,
    Xshooter,
}

impl Instrument {
    /// The name soxspipe settings files use for the instrument (`instrument: soxs`).
    pub fn settings_name(self) -> &'static str {
        match self {
            Instrument::Soxs => "soxs",
            Instrument::Xshooter => "xsh",
        }
    }

    /// The instrument name soxspipe writes into product names (`…_MBIAS_SOXS`).
    pub fn product_tag(self) -> &'static str {
        match self {
            Instrument::Soxs => "SOXS",
            Instrument::Xshooter => "XSH",
        }
    }
}

/// Which HDU of a file holds the frame, or which HDUs when each extension of a
/// multi-extension frame (one image per amplifier) is stacked on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HduChoice {
    /// The first HDU with a 2-D image (what soxspipe reads).
    FirstImage,
    /// By number, 0 = primary.
    Index(usize),
    /// By `EXTNAME`, case-insensitive.
    Name(String),
    /// Every HDU holding a 2-D image, each stacked on its own.
    Each,
    /// These HDUs (each an `Index` or a `Name`), each stacked on its own.
    List(Vec<HduChoice>),
}

impl HduChoice {
    /// Whether each chosen HDU is stacked on its own, into a product holding one
    /// FLUX/QUAL/ERRS triple per extension.
    pub fn is_multi(&self) -> bool {
        matches!(self, HduChoice::Each | HduChoice::List(_))
    }

    /// The image HDUs this choice takes from a file, in its order: each found HDU, or the
    /// choice that found none (so a message can say what is missing).
    pub fn choose<'a, 'c>(
        &'c self,
        images: &'a [ImageHdu],
    ) -> Vec<Result<&'a ImageHdu, &'c HduChoice>> {
        match self {
            HduChoice::Each => images.iter().map(Ok).collect(),
            HduChoice::List(items) => items
                .iter()
                .map(|item| item.find(images).ok_or(item))
                .collect(),
            single => vec![single.find(images).ok_or(single)],
        }
    }

    /// The one HDU a single choice names.
    fn find<'a>(&self, images: &'a [ImageHdu]) -> Option<&'a ImageHdu> {
        match self {
            HduChoice::FirstImage => images.first(),
            HduChoice::Index(n) => images.iter().find(|i| i.index == *n),
            HduChoice::Name(name) => images.iter().find(|i| {
                i.header
                    .text("EXTNAME")
                    .is_some_and(|e| e.eq_ignore_ascii_case(name.trim()))
            }),
            HduChoice::Each | HduChoice::List(_) => None,
        }
    }
}

impl std::fmt::Display for HduChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HduChoice::FirstImage => write!(f, "the first image HDU"),
            HduChoice::Index(n) => write!(f, "HDU {n}"),
            HduChoice::Name(name) => write!(f, "the extension named '{name}'"),
            HduChoice::Each => write!(f, "every image HDU"),
            HduChoice::List(items) => {
                let items: Vec<String> = items.iter().map(ToString::to_string).collect();
                write!(f, "each of {}", items.join(", "))
            }
        }
    }
}

/// Where the science pixels are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Window {
    /// soxspipe's detector tables: limits for an unbinned frame after rotation, divided by
    /// the binning with `int()`; (start, end exclusive).
    Unbinned {
        rows: (usize, usize),
        cols: (usize, usize),
    },
    /// A FITS section of the stored (binned) image, e.g. `[1:2048,1:350]`.
    Section(SectionSpec),
    /// A FITS section of the stored image read from each frame's header (`DATASEC`,
    /// `TRIMSEC`): each extension of a multi-extension frame may name its own.
    Keyword(String),
}

/// How a frame is recognised as a bias.
#[derive(Debug, Clone, PartialEq)]
pub enum BiasRule {
    /// ESO: `ESO DPR TYPE` (or `ESO PRO TYPE`) is `BIAS`.
    Eso,
    Generic(GenericBias),
}

/// A bias by keyword, by exposure time, or both.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GenericBias {
    /// Tried in order; the first present decides (headers often lack one of them).
    pub keywords: Vec<String>,
    /// Accepted values, compared case-insensitively after trimming.
    pub values: Vec<String>,
    /// A frame is a bias only if its exposure time is at most this (seconds).
    pub max_exptime: Option<f64>,
    pub exptime_keyword: String,
}

/// What a generic bias rule says about one header.
#[derive(Debug, Clone, PartialEq)]
pub enum BiasVerdict {
    Bias,
    /// Not a bias: the keyword, what it holds, and what would have been accepted.
    Not {
        keyword: String,
        seen: String,
        expected: String,
    },
}

impl GenericBias {
    pub fn judge(&self, header: &Header) -> BiasVerdict {
        if !self.keywords.is_empty() {
            let found = self
                .keywords
                .iter()
                .find_map(|k| header.get(k).map(|v| (k, v)));
            let accepted = found.as_ref().is_some_and(|(_, value)| {
                value_text(value).is_some_and(|text| {
                    self.values
                        .iter()
                        .any(|v| v.trim().eq_ignore_ascii_case(text.trim()))
                })
            });
            if !accepted {
                let (keyword, seen) = match found {
                    Some((k, v)) => (k.clone(), v.to_string()),
                    None => (self.keywords.join(" / "), "(missing)".to_string()),
                };
                return BiasVerdict::Not {
                    keyword,
                    seen,
                    expected: self.values.join(" or "),
                };
            }
        }
        if let Some(limit) = self.max_exptime {
            let exptime = header.number(&self.exptime_keyword);
            if exptime.is_none_or(|t| t > limit) {
                return BiasVerdict::Not {
                    keyword: self.exptime_keyword.clone(),
                    seen: exptime.map_or("(missing)".to_string(), |t| t.to_string()),
                    expected: format!("at most {limit} s"),
                };
            }
        }
        BiasVerdict::Bias
    }
}

fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::Empty => None,
        other => other.as_text(),
    }
}

/// A number read from the header, or a fixed value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Quantity {
    /// All must be present; the value is their maximum (SOXS carries both `CONAD` and
    /// `GAIN`, and soxspipe takes the larger). Empty: always `value`.
    pub keywords: Vec<String>,
    /// Used when no frame carries the keywords; `None` makes them required.
    pub value: Option<f64>,
}

impl Quantity {
    pub fn fixed(value: f64) -> Quantity {
        Quantity {
            keywords: Vec::new(),
            value: Some(value),
        }
    }

    /// The value in one header, if every keyword is there.
    pub fn read(&self, header: &Header) -> Option<f64> {
        if self.keywords.is_empty() {
            return None;
        }
        self.keywords
            .iter()
            .map(|k| header.number(k))
            .try_fold(f64::NEG_INFINITY, |acc, v| Some(acc.max(v?)))
    }

    /// How messages name it, e.g. `max(ESO DET OUT1 CONAD, ESO DET OUT1 GAIN)`.
    pub fn describe(&self) -> String {
        match self.keywords.as_slice() {
            [] => "(fixed value)".to_string(),
            [one] => one.clone(),
            many => format!("max({})", many.join(", ")),
        }
    }
}

/// Where binning is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binning {
    /// Two keywords, x then y.
    Pair(String, String),
    /// One keyword holding "x y" (NOAO `CCDSUM`).
    Combined(String),
    /// Not recorded: frames are compared as unbinned.
    Absent,
}

impl Binning {
    pub fn read(&self, header: &Header) -> (usize, usize) {
        let whole = |v: f64| v.max(1.0) as usize;
        match self {
            Binning::Pair(x, y) => (
                header.number(x).map_or(1, whole),
                header.number(y).map_or(1, whole),
            ),
            Binning::Combined(key) => {
                let text = header.text(key).unwrap_or_default();
                let mut parts = text
                    .split(|c: char| c.is_whitespace() || c == 'x' || c == ',')
                    .filter(|p| !p.is_empty())
                    .map(|p| p.parse::<f64>().map_or(1, whole));
                (parts.next().unwrap_or(1), parts.next().unwrap_or(1))
            }
            Binning::Absent => (1, 1),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Binning::Pair(x, y) => format!("{x}/{}", y.rsplit(' ').next().unwrap_or(y)),
            Binning::Combined(key) => key.clone(),
            Binning::Absent => "(no binning keyword)".to_string(),
        }
    }
}

/// Which frames a generic profile claims: every listed keyword holds one of its values.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Matcher {
    pub rules: Vec<(String, Vec<String>)>,
}

impl Matcher {
    pub fn matches(&self, header: &Header) -> bool {
        self.rules.iter().all(|(key, values)| {
            header.get(key).and_then(value_text).is_some_and(|text| {
                values
                    .iter()
                    .any(|v| v.trim().eq_ignore_ascii_case(text.trim()))
            })
        })
    }
}

/// A detector profile, built in or from settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub name: String,
    /// The ESO instrument of a built-in profile; `None` for generic profiles.
    pub instrument: Option<Instrument>,
    /// `ESO SEQ ARM` of a built-in profile; empty for generic profiles.
    pub arm: String,
    /// Which frames a generic profile claims (built-ins go by `INSTRUME`/`ESO SEQ ARM`).
    pub matcher: Matcher,
    pub hdu: HduChoice,
    /// Clockwise rotation applied before trimming (0 or 180).
    pub rotation: u16,
    pub window: Window,
    pub bias: BiasRule,
    /// e-/ADU.
    pub gain: Quantity,
    /// e-.
    pub ron: Quantity,
    pub binning: Binning,
    pub read_speed: Option<String>,
    /// (QC name, keyword): temperatures reported (and, for SOXS, required).
    pub temperatures: Vec<(&'static str, String)>,
    /// Keywords every frame must carry, text and numeric.
    pub required_text: Vec<String>,
    pub required_numbers: Vec<String>,
    /// Observing order: the first keyword all frames carry (MJD, then date strings).
    pub order_by: Vec<String>,
    /// Numerics when settings do not choose: soxspipe's for the built-ins.
    pub default_numerics: Numerics,
    /// A static bad-pixel map of the science window (a generic profile's
    /// `bad-pixel-map`; built-in profiles take soxspipe's from `mbias.static-calibrations`).
    pub bad_pixel_map: Option<std::path::PathBuf>,
    /// The amplifiers read into the image, when a generic profile names them (built-in
    /// profiles: none, soxspipe treats the window as one).
    pub amplifiers: Vec<Amplifier>,
    /// What is subtracted from each amplifier's data, per frame, before stacking.
    pub overscan: OverscanMethod,
    /// The keyword (`DETSEC`) that says where each extension's science window sits on
    /// the detector: the masters of a multi-extension set are then also assembled into
    /// one image of the whole detector.
    pub assemble: Option<String>,
}

/// How each frame's overscan strip corrects its amplifier's data before stacking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OverscanMethod {
    /// Nothing subtracted: soxspipe's way (it has no overscan step for the bias).
    #[default]
    None,
    /// The strip's 3σ-clipped mean.
    Mean,
    /// The strip's median.
    Median,
    /// Line by line along the readout: each row's median across the strip, smoothed by a
    /// running median of nine rows (a slow drift during the readout is followed, one noisy
    /// row is not).
    Line,
}

impl OverscanMethod {
    pub const EXPECTED: &'static str = "none, mean, median or line";

    pub fn name(self) -> &'static str {
        match self {
            OverscanMethod::None => "none",
            OverscanMethod::Mean => "mean",
            OverscanMethod::Median => "median",
            OverscanMethod::Line => "line",
        }
    }

    pub fn from_name(name: &str) -> Option<OverscanMethod> {
        [
            OverscanMethod::None,
            OverscanMethod::Mean,
            OverscanMethod::Median,
            OverscanMethod::Line,
        ]
        .into_iter()
        .find(|m| m.name() == name)
    }
}

/// Where a section comes from: written in the profile, or read from a header keyword
/// (`DATASEC`, `BIASSEC`, …) of each frame's image HDU.
#[derive(Debug, Clone, PartialEq)]
pub enum SectionSource {
    Fixed(SectionSpec),
    Keyword(String),
}

impl std::fmt::Display for SectionSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SectionSource::Fixed(spec) => write!(f, "{spec}"),
            SectionSource::Keyword(keyword) => write!(f, "the section in {keyword}"),
        }
    }
}

/// One amplifier (output port) of a CCD read into the image: its data section and the
/// overscan and prescan strips read beside it, in the stored image's pixels (binned, as
/// the instrument writes `DATASEC`, before any rotation), and its own gain and read noise
/// where they differ from the profile's.
#[derive(Debug, Clone, PartialEq)]
pub struct Amplifier {
    pub name: String,
    pub data: SectionSource,
    pub overscan: Option<SectionSource>,
    pub prescan: Option<SectionSource>,
    pub gain: Option<Quantity>,
    pub ron: Option<Quantity>,
}

/// Why no profile fits a header.
#[derive(Debug, Clone, PartialEq)]
pub enum DetectProblem {
    /// NIR arms have no bias recipe in soxspipe.
    NirArm { instrument: String },
    UnknownInstrument {
        instrume: Option<String>,
        generic: Vec<String>,
    },
    UnknownArm {
        instrument: String,
        arm: Option<String>,
    },
    /// `mbias.profile` names a profile that does not exist.
    NoSuchProfile { name: String, known: Vec<String> },
}

impl DetectProblem {
    /// The keyword a finding about this problem names.
    pub fn keyword(&self) -> &'static str {
        match self {
            DetectProblem::UnknownInstrument { .. } => "INSTRUME",
            DetectProblem::NoSuchProfile { .. } => "mbias.profile",
            _ => "ESO SEQ ARM",
        }
    }
}

impl std::fmt::Display for DetectProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DetectProblem::NirArm { instrument } => write!(
                f,
                "{instrument} NIR frames have no master bias: the NIR arm is not biased like a CCD (soxspipe has no NIR mbias)"
            ),
            DetectProblem::UnknownInstrument { instrume, generic } => {
                let built_in: Vec<&str> = built_in().map(|p| p.name.as_str()).collect();
                write!(
                    f,
                    "INSTRUME = {} is not a built-in detector ({})",
                    instrume
                        .as_deref()
                        .map(|s| format!("'{s}'"))
                        .unwrap_or("(missing)".into()),
                    built_in.join(", ")
                )?;
                if generic.is_empty() {
                    write!(
                        f,
                        "; define a generic profile under mbias.detectors in settings (see settings.example.yaml)"
                    )
                } else {
                    write!(
                        f,
                        " and matches none of the settings' profiles ({})",
                        generic.join(", ")
                    )
                }
            }
            DetectProblem::UnknownArm { instrument, arm } => write!(
                f,
                "{instrument}: ESO SEQ ARM = {} is not a known arm",
                arm.as_deref()
                    .map(|s| format!("'{s}'"))
                    .unwrap_or("(missing)".into())
            ),
            DetectProblem::NoSuchProfile { name, known } => write!(
                f,
                "mbias.profile is '{name}', which is neither built in nor defined in settings (known: {})",
                known.join(", ")
            ),
        }
    }
}

/// The profiles a run may use: the built-ins plus those defined in settings.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Detectors {
    pub generic: Vec<Profile>,
    /// Use this profile for every frame instead of detecting (`mbias.profile`).
    pub forced: Option<String>,
    /// Whose detector tables the built-in profiles come from.
    pub recipe: RecipeVersion,
}

impl Detectors {
    pub fn find(&self, name: &str) -> Option<&Profile> {
        self.generic
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .or_else(|| {
                builtin::eso_table(self.recipe)
                    .iter()
                    .find(|p| p.name.eq_ignore_ascii_case(name))
            })
            .or_else(|| by_name(name))
    }

    /// The profile for a frame's header (primary and image keywords merged).
    pub fn detect(&self, header: &Header) -> Result<&Profile, DetectProblem> {
        if let Some(name) = &self.forced {
            return self.find(name).ok_or_else(|| DetectProblem::NoSuchProfile {
                name: name.clone(),
                known: built_in()
                    .map(|p| p.name.clone())
                    .chain(self.generic.iter().map(|p| p.name.clone()))
                    .collect(),
            });
        }
        match builtin::detect(header, self.recipe) {
            Err(DetectProblem::UnknownInstrument { instrume, .. }) => {
                // Settings' profiles first; a simulated CCD's unless settings redefine it.
                let redefined = |p: &&Profile| {
                    self.generic
                        .iter()
                        .any(|g| g.name.eq_ignore_ascii_case(&p.name))
                };
                let simulated = simulated::profiles().into_iter();
                self.generic
                    .iter()
                    .chain(simulated.filter(|p| !redefined(p)))
                    .find(|p| p.matcher.matches(header))
                    .ok_or_else(|| DetectProblem::UnknownInstrument {
                        instrume,
                        generic: self.generic.iter().map(|p| p.name.clone()).collect(),
                    })
            }
            other => other,
        }
    }
}

impl Profile {
    /// A profile for a CCD soxspipe does not know, with the defaults settings start from:
    /// the first image HDU, the whole array, a bias by `IMAGETYP`/`OBSTYPE` = BIAS or ZERO,
    /// gain 1 (ADU stay ADU), no read noise yet (settings must give one), observing order
    /// by `MJD-OBS` then `DATE-OBS`, and `exact` numerics.
    pub fn generic(name: &str) -> Profile {
        Profile {
            name: name.to_string(),
            instrument: None,
            arm: String::new(),
            matcher: Matcher::default(),
            hdu: HduChoice::FirstImage,
            rotation: 0,
            window: Window::Section(SectionSpec {
                cols: None,
                rows: None,
            }),
            bias: BiasRule::Generic(GenericBias {
                keywords: vec!["IMAGETYP".into(), "OBSTYPE".into()],
                values: vec!["BIAS".into(), "ZERO".into()],
                max_exptime: None,
                exptime_keyword: "EXPTIME".into(),
            }),
            gain: Quantity::fixed(1.0),
            ron: Quantity::default(),
            binning: Binning::Absent,
            read_speed: None,
            temperatures: Vec::new(),
            required_text: Vec::new(),
            required_numbers: Vec::new(),
            order_by: vec!["MJD-OBS".into(), "DATE-OBS".into()],
            default_numerics: Numerics::Exact,
            bad_pixel_map: None,
            amplifiers: Vec::new(),
            overscan: OverscanMethod::None,
            assemble: None,
        }
    }

    /// The science window of a stored image of `shape` and binning, in the rotated frame;
    /// `None` if it does not fit.
    pub fn window_in(
        &self,
        shape: (usize, usize),
        binning: (usize, usize),
    ) -> Option<(Range<usize>, Range<usize>)> {
        match &self.window {
            Window::Unbinned { rows, cols } => {
                let (bx, by) = (binning.0.max(1), binning.1.max(1));
                let window = (rows.0 / by..rows.1 / by, cols.0 / bx..cols.1 / bx);
                (window.0.end <= shape.0 && window.1.end <= shape.1).then_some(window)
            }
            Window::Section(spec) => spec.within(shape).map(|s| (s.rows, s.cols)),
            // Read per frame (`verify`), never from the profile alone.
            Window::Keyword(_) => None,
        }
    }

    /// The window as messages show it.
    pub fn describe_window(&self, binning: (usize, usize)) -> String {
        match &self.window {
            Window::Unbinned { rows, cols } => {
                let (bx, by) = (binning.0.max(1), binning.1.max(1));
                format!(
                    "[{}:{},{}:{}]",
                    cols.0 / bx + 1,
                    cols.1 / bx,
                    rows.0 / by + 1,
                    rows.1 / by
                )
            }
            Window::Section(spec) => spec.to_string(),
            Window::Keyword(keyword) => format!("from {keyword}"),
        }
    }

    /// The tag soxspipe puts into product names (`SOXS`, `XSH`) or the generic profile's
    /// name in capitals.
    pub fn product_tag(&self) -> String {
        match self.instrument {
            Some(i) => i.product_tag().to_string(),
            None => self
                .name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_uppercase()
                    } else {
                        '-'
                    }
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(cards: &[&str]) -> Header {
        Header::from_records(cards.iter().map(|s| s.to_string()))
    }

    fn generic(name: &str, instrume: &str) -> Profile {
        Profile {
            name: name.into(),
            matcher: Matcher {
                rules: vec![("INSTRUME".into(), vec![instrume.into()])],
            },
            ..soxs_vis().clone()
        }
    }

    #[test]
    fn detects_built_in_profiles_and_refuses_nir() {
        let none = Detectors::default();
        let soxs = header(&["INSTRUME= 'SOXS    '", "HIERARCH ESO SEQ ARM = 'VIS     '"]);
        assert_eq!(none.detect(&soxs).unwrap().name, "soxs-vis");
        let uvb = header(&["INSTRUME= 'SHOOT   '", "HIERARCH ESO SEQ ARM = 'UVB'"]);
        assert_eq!(none.detect(&uvb).unwrap().name, "xsh-uvb");
        let nir = header(&["INSTRUME= 'SOXS    '", "HIERARCH ESO SEQ ARM = 'NIR'"]);
        let e = none.detect(&nir).unwrap_err();
        assert!(matches!(e, DetectProblem::NirArm { .. }));
        assert!(e.to_string().contains("NIR"));
        let other = header(&["INSTRUME= 'ALFOSC_FASU'"]);
        let message = none.detect(&other).unwrap_err().to_string();
        assert!(message.contains("ALFOSC_FASU"), "{message}");
        assert!(message.contains("mbias.detectors"), "{message}");
    }

    #[test]
    fn generic_profiles_match_by_keyword_or_are_forced() {
        let detectors = Detectors {
            generic: vec![generic("alfosc", "alfosc_fasu")],
            forced: None,
            ..Detectors::default()
        };
        let alfosc = header(&["INSTRUME= 'ALFOSC_FASU'"]);
        assert_eq!(detectors.detect(&alfosc).unwrap().name, "alfosc");
        let other = header(&["INSTRUME= 'KAST'"]);
        assert!(
            detectors
                .detect(&other)
                .unwrap_err()
                .to_string()
                .contains("alfosc")
        );
        let forced = Detectors {
            forced: Some("ALFOSC".into()),
            ..detectors.clone()
        };
        assert_eq!(forced.detect(&other).unwrap().name, "alfosc");
        let unknown = Detectors {
            forced: Some("nope".into()),
            ..detectors
        };
        assert!(matches!(
            unknown.detect(&other),
            Err(DetectProblem::NoSuchProfile { .. })
        ));
    }

    #[test]
    fn simulated_ccds_are_built_in_unless_settings_redefine_them() {
        let sim = header(&["INSTRUME= 'MBIAS-SIM'"]);
        let mef = header(&["INSTRUME= 'MBIAS-SIM-MEF'"]);
        let none = Detectors::default();
        assert_eq!(none.detect(&sim).unwrap().name, "sim-4k");
        assert_eq!(none.detect(&mef).unwrap().name, "sim-mef");
        let mut own = simulated::GENERIC.clone();
        own.rotation = 180;
        let redefined = Detectors {
            generic: vec![own.clone()],
            forced: None,
            ..Detectors::default()
        };
        assert_eq!(redefined.detect(&sim), Ok(&own));
        assert_eq!(redefined.find("SIM-4K"), Some(&own));
        assert_eq!(redefined.detect(&mef).unwrap().name, "sim-mef");
    }

    #[test]
    fn binned_window_divides_limits() {
        let p = by_name("soxs-vis").unwrap();
        assert_eq!(p.window_in((4096, 2098), (1, 1)), Some((0..4096, 50..858)));
        assert_eq!(p.window_in((2048, 1049), (2, 2)), Some((0..2048, 25..429)));
        assert_eq!(p.window_in((2048, 400), (1, 1)), None);
        assert_eq!(p.describe_window((1, 1)), "[51:858,1:4096]");
    }

    #[test]
    fn generic_bias_rule_tries_keywords_in_order_and_checks_exposure() {
        let rule = GenericBias {
            keywords: vec!["IMAGETYP".into(), "OBJECT".into()],
            values: vec!["bias".into(), "zero".into()],
            max_exptime: Some(0.01),
            exptime_keyword: "EXPTIME".into(),
        };
        let bias = header(&["OBJECT  = 'Bias    '", "EXPTIME =                0.002"]);
        assert_eq!(rule.judge(&bias), BiasVerdict::Bias);
        let long = header(&["IMAGETYP= 'BIAS'", "EXPTIME =                 30.0"]);
        assert!(
            matches!(rule.judge(&long), BiasVerdict::Not { keyword, .. } if keyword == "EXPTIME")
        );
        let flat = header(&["IMAGETYP= 'FLAT'", "OBJECT  = 'Bias'", "EXPTIME = 0"]);
        assert!(
            matches!(rule.judge(&flat), BiasVerdict::Not { seen, .. } if seen.contains("FLAT"))
        );
        let nothing = header(&["EXPTIME = 0"]);
        assert!(
            matches!(rule.judge(&nothing), BiasVerdict::Not { seen, .. } if seen == "(missing)")
        );
    }

    #[test]
    fn quantities_and_binning_read_headers() {
        let h = header(&[
            "GAIN    =                 0.16",
            "CONAD   =                  0.2",
            "CCDSUM  = '1 2     '",
        ]);
        let gain = Quantity {
            keywords: vec!["GAIN".into(), "CONAD".into()],
            value: None,
        };
        assert_eq!(gain.read(&h), Some(0.2));
        assert_eq!(Quantity::fixed(4.3).read(&h), None);
        assert_eq!(Binning::Combined("CCDSUM".into()).read(&h), (1, 2));
        assert_eq!(Binning::Absent.read(&h), (1, 1));
        let pair = Binning::Pair("ESO DET BINX".into(), "ESO DET BINY".into());
        assert_eq!(pair.describe(), "ESO DET BINX/BINY");
    }
}
