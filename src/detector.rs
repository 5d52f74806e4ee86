//! Detector profiles: where the science pixels are, how to rotate, which keywords carry
//! gain, read noise, binning and read-out mode, and the fallbacks soxspipe uses
//! (`soxs_detector_parameters.yaml`, `xsh_detector_parameters.yaml`, keyword tables).

use std::ops::Range;

use crate::fits::Header;

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

/// Header keywords a profile reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Keywords {
    pub binx: &'static str,
    pub biny: &'static str,
    pub read_speed: &'static str,
    /// Conversion factor e-/ADU.
    pub conad: &'static str,
    /// SOXS also carries `OUT1 GAIN`; soxspipe then uses max(CONAD, GAIN).
    pub gain: Option<&'static str>,
    pub ron: &'static str,
    /// (QC name, keyword): temperatures soxspipe reports and requires.
    pub temperatures: &'static [(&'static str, &'static str)],
}

/// A built-in detector profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub name: &'static str,
    pub instrument: Instrument,
    /// `ESO SEQ ARM` value.
    pub arm: &'static str,
    /// Clockwise rotation applied before trimming (0 or 180).
    pub rotation: u16,
    /// Science window of an unbinned frame, after rotation: rows, columns (end exclusive).
    pub rows: (usize, usize),
    pub cols: (usize, usize),
    /// Used when no frame carries the keyword.
    pub gain_fallback: f64,
    pub ron_fallback: f64,
    pub keywords: Keywords,
}

const SOXS_KEYWORDS: Keywords = Keywords {
    binx: "ESO DET BINX",
    biny: "ESO DET BINY",
    read_speed: "ESO DET READ CURID",
    conad: "ESO DET OUT1 CONAD",
    gain: Some("ESO DET OUT1 GAIN"),
    ron: "ESO DET CHIP RON",
    temperatures: &[
        ("DETECTOR TEMP", "ESO INS TEMP104 VAL"),
        ("CPATH TEMP", "ESO INS TEMP301 VAL"),
    ],
};

const XSH_KEYWORDS: Keywords = Keywords {
    binx: "ESO DET WIN1 BINX",
    biny: "ESO DET WIN1 BINY",
    read_speed: "ESO DET READ SPEED",
    conad: "ESO DET OUT1 CONAD",
    gain: None,
    ron: "ESO DET OUT1 RON",
    temperatures: &[],
};

pub const BUILT_IN: [Profile; 3] = [
    Profile {
        name: "soxs-vis",
        instrument: Instrument::Soxs,
        arm: "VIS",
        rotation: 0,
        rows: (0, 4096),
        cols: (50, 858),
        gain_fallback: 1.0,
        ron_fallback: 3.8,
        keywords: SOXS_KEYWORDS,
    },
    Profile {
        name: "xsh-uvb",
        instrument: Instrument::Xshooter,
        arm: "UVB",
        rotation: 180,
        rows: (0, 3000),
        cols: (48, 2096),
        gain_fallback: 1.61,
        ron_fallback: 2.6,
        keywords: XSH_KEYWORDS,
    },
    Profile {
        name: "xsh-vis",
        instrument: Instrument::Xshooter,
        arm: "VIS",
        rotation: 0,
        rows: (0, 4000),
        cols: (10, 2058),
        gain_fallback: 1.4,
        ron_fallback: 5.3,
        keywords: XSH_KEYWORDS,
    },
];

/// Why no profile fits a header.
#[derive(Debug, Clone, PartialEq)]
pub enum DetectProblem {
    /// NIR arms have no bias recipe in soxspipe.
    NirArm {
        instrument: String,
    },
    UnknownInstrument {
        instrume: Option<String>,
    },
    UnknownArm {
        instrument: String,
        arm: Option<String>,
    },
}

impl std::fmt::Display for DetectProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DetectProblem::NirArm { instrument } => write!(
                f,
                "{instrument} NIR frames have no master bias: the NIR arm is not biased like a CCD (soxspipe has no NIR mbias)"
            ),
            DetectProblem::UnknownInstrument { instrume } => write!(
                f,
                "INSTRUME = {} is not a built-in detector (soxs-vis, xsh-uvb, xsh-vis)",
                instrume
                    .as_deref()
                    .map(|s| format!("'{s}'"))
                    .unwrap_or("(missing)".into())
            ),
            DetectProblem::UnknownArm { instrument, arm } => write!(
                f,
                "{instrument}: ESO SEQ ARM = {} is not a known arm",
                arm.as_deref()
                    .map(|s| format!("'{s}'"))
                    .unwrap_or("(missing)".into())
            ),
        }
    }
}

/// The SOXS VIS profile, the one soxspipe's own recipe targets.
pub const SOXS_VIS: &Profile = &BUILT_IN[0];

pub fn by_name(name: &str) -> Option<&'static Profile> {
    BUILT_IN.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

/// Picks the built-in profile from `INSTRUME` and `ESO SEQ ARM`.
pub fn detect(header: &Header) -> Result<&'static Profile, DetectProblem> {
    let instrume = header.text("INSTRUME");
    let instrument = match instrume.as_deref().map(str::to_ascii_uppercase).as_deref() {
        Some("SOXS") => Instrument::Soxs,
        Some("SHOOT" | "XSHOOTER" | "X-SHOOTER") => Instrument::Xshooter,
        _ => return Err(DetectProblem::UnknownInstrument { instrume }),
    };
    let name = instrument.product_tag().to_string();
    let arm = header.text("ESO SEQ ARM").map(|a| a.to_ascii_uppercase());
    if arm.as_deref() == Some("NIR") {
        return Err(DetectProblem::NirArm { instrument: name });
    }
    BUILT_IN
        .iter()
        .find(|p| p.instrument == instrument && Some(p.arm) == arm.as_deref())
        .ok_or(DetectProblem::UnknownArm {
            instrument: name,
            arm,
        })
}

impl Profile {
    /// Science window for a binning (soxspipe divides the limits with `int()`).
    pub fn window(&self, binx: usize, biny: usize) -> (Range<usize>, Range<usize>) {
        let by = biny.max(1);
        let bx = binx.max(1);
        (
            self.rows.0 / by..self.rows.1 / by,
            self.cols.0 / bx..self.cols.1 / bx,
        )
    }

    /// Keywords every frame must carry for soxspipe to run.
    pub fn required_keywords(&self) -> Vec<&'static str> {
        let mut keys = vec![
            "MJD-OBS",
            "DATE-OBS",
            "EXPTIME",
            "ESO DPR TYPE",
            "ESO DPR TECH",
            "ESO DPR CATG",
            "ESO SEQ ARM",
        ];
        keys.extend(self.keywords.temperatures.iter().map(|(_, k)| *k));
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(cards: &[&str]) -> Header {
        Header::from_records(cards.iter().map(|s| s.to_string()))
    }

    #[test]
    fn detects_built_in_profiles_and_refuses_nir() {
        let soxs = header(&["INSTRUME= 'SOXS    '", "HIERARCH ESO SEQ ARM = 'VIS     '"]);
        assert_eq!(detect(&soxs).unwrap().name, "soxs-vis");
        let uvb = header(&["INSTRUME= 'SHOOT   '", "HIERARCH ESO SEQ ARM = 'UVB'"]);
        assert_eq!(detect(&uvb).unwrap().name, "xsh-uvb");
        let nir = header(&["INSTRUME= 'SOXS    '", "HIERARCH ESO SEQ ARM = 'NIR'"]);
        let e = detect(&nir).unwrap_err();
        assert!(matches!(e, DetectProblem::NirArm { .. }));
        assert!(e.to_string().contains("NIR"));
        let other = header(&["INSTRUME= 'ALFOSC_FASU'"]);
        assert!(
            detect(&other)
                .unwrap_err()
                .to_string()
                .contains("ALFOSC_FASU")
        );
    }

    #[test]
    fn binned_window_divides_limits() {
        let p = by_name("soxs-vis").unwrap();
        assert_eq!(p.window(1, 1), (0..4096, 50..858));
        assert_eq!(p.window(2, 2), (0..2048, 25..429));
    }
}
