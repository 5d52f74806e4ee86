//! The generic CCDs whose frames `mbias simulate` writes. Their profiles are built in, so
//! that simulated frames stack without a settings file; they are recognised by the
//! `INSTRUME` the simulator writes, as a profile from settings would be, and a profile
//! of the same name in settings replaces them.

use std::sync::LazyLock;

use super::{
    Amplifier, BiasRule, GenericBias, HduChoice, Matcher, OverscanMethod, Profile, Quantity,
    SectionSource, Window,
};

pub const GENERIC_NAME: &str = "sim-4k";
pub const MEF_NAME: &str = "sim-mef";
pub const QUAD_NAME: &str = "sim-quad";

/// A generic profile of simulated frames, as `simulate::GENERIC_SETTINGS` spells it out.
fn simulated(name: &str, instrume: &str, hdu: HduChoice) -> Profile {
    Profile {
        matcher: Matcher {
            rules: vec![("INSTRUME".into(), vec![instrume.into()])],
        },
        hdu,
        bias: BiasRule::Generic(GenericBias {
            keywords: vec!["IMAGETYP".into()],
            values: vec!["BIAS".into(), "ZERO".into()],
            max_exptime: Some(0.0),
            exptime_keyword: "EXPTIME".into(),
        }),
        gain: Quantity {
            keywords: vec!["GAIN".into()],
            value: None,
        },
        ron: Quantity {
            keywords: vec!["RDNOISE".into()],
            value: None,
        },
        ..Profile::generic(name)
    }
}

/// 4096×4096 frames of a generic CCD, the image in the primary HDU.
pub static GENERIC: LazyLock<Profile> =
    LazyLock::new(|| simulated(GENERIC_NAME, "MBIAS-SIM", HduChoice::FirstImage));

/// Multi-extension frames: an empty primary HDU, then one extension per amplifier.
pub static MEF: LazyLock<Profile> =
    LazyLock::new(|| simulated(MEF_NAME, "MBIAS-SIM-MEF", HduChoice::Each));

/// A four-amplifier camera, one extension per amplifier, each with its prescan, data and
/// overscan columns named by `PRESEC`, `DATASEC` and `BIASSEC` (on either side, as each
/// amplifier reads out) and its place on the detector by `DETSEC` (flipped for the
/// amplifiers that read from the right): each extension's overscan median is subtracted,
/// and the four masters are assembled into the whole detector.
pub static QUAD: LazyLock<Profile> = LazyLock::new(|| {
    let keyword = |k: &str| SectionSource::Keyword(k.into());
    Profile {
        window: Window::Keyword("DATASEC".into()),
        amplifiers: vec![Amplifier {
            name: "OUT1".into(),
            data: keyword("DATASEC"),
            overscan: Some(keyword("BIASSEC")),
            prescan: Some(keyword("PRESEC")),
            gain: None,
            ron: None,
        }],
        overscan: OverscanMethod::Median,
        assemble: Some("DETSEC".into()),
        ..simulated(QUAD_NAME, "MBIAS-SIM-QUAD", HduChoice::Each)
    }
});

/// All three, in the order messages list them.
pub fn profiles() -> [&'static Profile; 3] {
    [&GENERIC, &MEF, &QUAD]
}
