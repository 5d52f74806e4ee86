//! soxspipe's own detectors: SOXS VIS and the two X-shooter CCD arms.

use std::sync::LazyLock;

use super::{
    BiasRule, Binning, DetectProblem, HduChoice, Instrument, Matcher, Profile, Quantity, Window,
};
use crate::fits::Header;
use crate::params::{Numerics, RecipeVersion};

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Keywords soxspipe requires of every frame, before the instrument's temperatures.
const ESO_REQUIRED_TEXT: [&str; 5] = [
    "DATE-OBS",
    "ESO DPR TYPE",
    "ESO DPR TECH",
    "ESO DPR CATG",
    "ESO SEQ ARM",
];

struct Table {
    name: &'static str,
    instrument: Instrument,
    arm: &'static str,
    rotation: u16,
    rows: (usize, usize),
    cols: (usize, usize),
    gain_fallback: f64,
    ron_fallback: f64,
}

fn eso_profile(t: Table, version: RecipeVersion) -> Profile {
    let soxs = t.instrument == Instrument::Soxs;
    // The names are QC names; a test in `qc::definitions` checks each one is defined
    // there (the detector layer sits below QC and does not import it).
    let temperatures: Vec<(&'static str, String)> = if soxs {
        vec![
            ("DETECTOR TEMP", "ESO INS TEMP104 VAL".into()),
            ("CPATH TEMP", "ESO INS TEMP301 VAL".into()),
        ]
    } else {
        Vec::new()
    };
    let mut required_numbers = strings(&["MJD-OBS", "EXPTIME"]);
    required_numbers.extend(temperatures.iter().map(|(_, k)| k.clone()));
    let (binning, read_speed, gain, ron) = if soxs {
        (
            Binning::Pair("ESO DET BINX".into(), "ESO DET BINY".into()),
            "ESO DET READ CURID",
            strings(&["ESO DET OUT1 CONAD", "ESO DET OUT1 GAIN"]),
            // soxspipe 0.19 reads SOXS's read noise where X-shooter keeps it.
            match version {
                RecipeVersion::Soxspipe017 => "ESO DET CHIP RON",
                RecipeVersion::Soxspipe019 => "ESO DET OUT1 RON",
            },
        )
    } else {
        (
            Binning::Pair("ESO DET WIN1 BINX".into(), "ESO DET WIN1 BINY".into()),
            "ESO DET READ SPEED",
            strings(&["ESO DET OUT1 CONAD"]),
            "ESO DET OUT1 RON",
        )
    };
    Profile {
        name: t.name.to_string(),
        instrument: Some(t.instrument),
        arm: t.arm.to_string(),
        matcher: Matcher::default(),
        hdu: HduChoice::FirstImage,
        rotation: t.rotation,
        window: Window::Unbinned {
            rows: t.rows,
            cols: t.cols,
        },
        bias: BiasRule::Eso,
        gain: Quantity {
            keywords: gain,
            value: Some(t.gain_fallback),
        },
        ron: Quantity {
            keywords: vec![ron.to_string()],
            value: Some(t.ron_fallback),
        },
        binning,
        read_speed: Some(read_speed.to_string()),
        temperatures,
        required_text: strings(&ESO_REQUIRED_TEXT),
        required_numbers,
        order_by: strings(&["MJD-OBS"]),
        default_numerics: Numerics::Soxspipe,
        bad_pixel_map: None,
        amplifiers: Vec::new(),
        overscan: super::OverscanMethod::None,
        assemble: None,
    }
}

/// soxspipe 0.17.4's detector tables.
pub static BUILT_IN: LazyLock<[Profile; 3]> =
    LazyLock::new(|| eso_profiles(RecipeVersion::Soxspipe017));

/// soxspipe 0.19.0's: the same but for where SOXS keeps its read noise.
static BUILT_IN_019: LazyLock<[Profile; 3]> =
    LazyLock::new(|| eso_profiles(RecipeVersion::Soxspipe019));

/// soxspipe's detector tables in the release `version`.
pub fn eso_table(version: RecipeVersion) -> &'static [Profile; 3] {
    match version {
        RecipeVersion::Soxspipe017 => &BUILT_IN,
        RecipeVersion::Soxspipe019 => &BUILT_IN_019,
    }
}

fn eso_profiles(version: RecipeVersion) -> [Profile; 3] {
    [
        eso_profile(
            Table {
                name: "soxs-vis",
                instrument: Instrument::Soxs,
                arm: "VIS",
                rotation: 0,
                rows: (0, 4096),
                cols: (50, 858),
                gain_fallback: 1.0,
                ron_fallback: 3.8,
            },
            version,
        ),
        eso_profile(
            Table {
                name: "xsh-uvb",
                instrument: Instrument::Xshooter,
                arm: "UVB",
                rotation: 180,
                rows: (0, 3000),
                cols: (48, 2096),
                gain_fallback: 1.61,
                ron_fallback: 2.6,
            },
            version,
        ),
        eso_profile(
            Table {
                name: "xsh-vis",
                instrument: Instrument::Xshooter,
                arm: "VIS",
                rotation: 0,
                rows: (0, 4000),
                cols: (10, 2058),
                gain_fallback: 1.4,
                ron_fallback: 5.3,
            },
            version,
        ),
    ]
}

/// The SOXS VIS profile, the one soxspipe's own recipe targets.
pub fn soxs_vis() -> &'static Profile {
    &BUILT_IN[0]
}

/// Every built-in profile: soxspipe's detectors, then the simulator's generic CCDs.
pub fn built_in() -> impl Iterator<Item = &'static Profile> {
    BUILT_IN.iter().chain(super::simulated::profiles())
}

/// The built-in profile named `name` (case-insensitive), simulated CCDs included.
pub fn by_name(name: &str) -> Option<&'static Profile> {
    built_in().find(|p| p.name.eq_ignore_ascii_case(name))
}

/// Picks the built-in profile from `INSTRUME` and `ESO SEQ ARM`, from the detector table
/// of soxspipe release `version`.
pub(super) fn detect(
    header: &Header,
    version: RecipeVersion,
) -> Result<&'static Profile, DetectProblem> {
    let instrume = header.text("INSTRUME");
    let instrument = match instrume.as_deref().map(str::to_ascii_uppercase).as_deref() {
        Some("SOXS") => Instrument::Soxs,
        Some("SHOOT" | "XSHOOTER" | "X-SHOOTER") => Instrument::Xshooter,
        _ => {
            return Err(DetectProblem::UnknownInstrument {
                instrume,
                generic: Vec::new(),
            });
        }
    };
    let name = instrument.product_tag().to_string();
    let arm = header.text("ESO SEQ ARM").map(|a| a.to_ascii_uppercase());
    if arm.as_deref() == Some("NIR") {
        return Err(DetectProblem::NirArm { instrument: name });
    }
    eso_table(version)
        .iter()
        .find(|p| p.instrument == Some(instrument) && Some(p.arm.as_str()) == arm.as_deref())
        .ok_or(DetectProblem::UnknownArm {
            instrument: name,
            arm,
        })
}
