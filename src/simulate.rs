//! Realistic raw frames for demos, tests and benchmarks: a bias level with a per-frame
//! drift, a gradient, a periodic pick-up pattern, read noise, fixed hot and cold pixels, a
//! warm column and cosmic-ray hits, with the headers soxspipe expects.

use std::f64::consts::TAU;
use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;

use std::sync::LazyLock;

use crate::detector::{BiasRule, GenericBias, Instrument, Matcher, Profile, Quantity, Window};
use crate::error::{FitsError, Result};
use crate::fits::{Card, ImageData, ImageWriter, Value};

/// What kind of exposure to simulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposure {
    Bias,
    Flat,
}

#[derive(Debug, Clone)]
pub struct Spec {
    pub profile: &'static Profile,
    pub frames: usize,
    pub seed: u64,
    pub exposure: Exposure,
    pub binning: (usize, usize),
    /// Seconds after 2025-10-10T09:19:27 UTC at which the first frame starts.
    pub start_offset_s: i64,
}

impl Spec {
    pub fn biases(profile: &'static Profile, frames: usize, seed: u64) -> Spec {
        Spec {
            profile,
            frames,
            seed,
            exposure: Exposure::Bias,
            binning: (1, 1),
            start_offset_s: 0,
        }
    }
}

/// Raw frame size (rows, cols) of an unbinned frame, prescan and overscan included.
pub fn raw_shape(profile: &Profile) -> (usize, usize) {
    match profile.name.as_str() {
        "xsh-uvb" => (3000, 2144),
        "xsh-vis" => (4000, 2106),
        GENERIC_NAME => (4096, 4096),
        _ => (4096, 2098),
    }
}

const GENERIC_NAME: &str = "sim-4k";

/// Settings that define the generic profile of simulated 4096×4096 frames; the benchmark
/// and `mbias simulate --profile sim-4k` users load them like any other settings.
pub const GENERIC_SETTINGS: &str = "\
mbias:
    detectors:
        sim-4k:
            match: {INSTRUME: MBIAS-SIM}
            bias: {keyword: IMAGETYP, values: [BIAS, ZERO], max-exptime: 0}
            gain: GAIN
            read-noise: RDNOISE
            window: whole
";

/// The profile [`GENERIC_SETTINGS`] defines (a test keeps the two equal).
pub static GENERIC: LazyLock<Profile> = LazyLock::new(|| Profile {
    matcher: Matcher {
        rules: vec![("INSTRUME".into(), vec!["MBIAS-SIM".into()])],
    },
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
    ..Profile::generic(GENERIC_NAME)
});

/// Every profile `simulate` can write frames for.
pub fn profile_by_name(name: &str) -> Option<&'static Profile> {
    crate::detector::by_name(name)
        .or_else(|| GENERIC.name.eq_ignore_ascii_case(name).then_some(&*GENERIC))
}

const CADENCE_S: i64 = 23;

fn timestamp(offset_s: i64) -> jiff::Timestamp {
    let start: jiff::Timestamp = "2025-10-10T09:19:27Z"
        .parse()
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    start
        .checked_add(jiff::SignedDuration::from_secs(offset_s))
        .unwrap_or(start)
}

fn mjd(t: jiff::Timestamp) -> f64 {
    t.as_millisecond() as f64 / 86_400_000.0 + 40_587.0
}

/// Fixed detector defects, the same in every frame of a night.
struct Defects {
    hot: Vec<(usize, f64)>,
    cold: Vec<(usize, f64)>,
    warm_column: usize,
}

fn defects(seed: u64, rows: usize, cols: usize, warm_column: usize) -> Defects {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xDEFEC7);
    let n = rows * cols;
    Defects {
        hot: (0..80)
            .map(|_| (rng.random_range(0..n), rng.random_range(100.0..3000.0)))
            .collect(),
        cold: (0..40)
            .map(|_| (rng.random_range(0..n), rng.random_range(100.0..300.0)))
            .collect(),
        warm_column,
    }
}

fn header_cards(spec: &Spec, index: usize, when: jiff::Timestamp, file_name: &str) -> Vec<Card> {
    let p = spec.profile;
    let date = when.strftime("%Y-%m-%dT%H:%M:%S%.3f").to_string();
    let s = |v: &str| Value::Str(v.to_string());
    let (dpr_type, catg, exptime) = match spec.exposure {
        Exposure::Bias => ("BIAS", "CALIB", 0.0),
        Exposure::Flat => ("FLAT", "CALIB", 5.0),
    };
    let Some(instrument) = p.instrument else {
        return generic_cards(spec, date, when, exptime, dpr_type);
    };
    let soxs = instrument == Instrument::Soxs;
    let number = |v: f64| Value::Float(v);
    let whole = |v: usize| Value::Int(v as i64);
    let (binx, biny, conad, ron, read_speed) = if soxs {
        (
            "ESO DET BINX",
            "ESO DET BINY",
            "ESO DET OUT1 CONAD",
            "ESO DET CHIP RON",
            "ESO DET READ CURID",
        )
    } else {
        (
            "ESO DET WIN1 BINX",
            "ESO DET WIN1 BINY",
            "ESO DET OUT1 CONAD",
            "ESO DET OUT1 RON",
            "ESO DET READ SPEED",
        )
    };
    let mut cards = vec![
        Card::new(
            "INSTRUME",
            s(if soxs { "SOXS" } else { "SHOOT" }),
            "Instrument used",
        ),
        Card::new(
            "TELESCOP",
            s(if soxs { "ESO-NTT" } else { "ESO-VLT-U2" }),
            "",
        ),
        Card::new("OBJECT", s(dpr_type), ""),
        Card::new("DATE-OBS", s(&date), "Date of observation"),
        Card::new("MJD-OBS", Value::Float(mjd(when)), "Obs start"),
        Card::new("EXPTIME", Value::Float(exptime), "Integration time"),
        Card::new("ARCFILE", s(file_name), "Archive File Name"),
        Card::new("ORIGFILE", s(file_name), "Original File Name"),
        Card::new("ESO DPR CATG", s(catg), "Observation category"),
        Card::new("ESO DPR TYPE", s(dpr_type), "Observation type"),
        Card::new("ESO DPR TECH", s("IMAGE"), "Observation technique"),
        Card::new("ESO SEQ ARM", s(&p.arm), "Arm"),
        Card::new(
            "ESO TPL NEXP",
            Value::Int(spec.frames as i64),
            "Number of exposures",
        ),
        Card::new(
            "ESO TPL EXPNO",
            Value::Int(index as i64 + 1),
            "Exposure number",
        ),
        Card::new(binx, whole(spec.binning.0), "Binning factor along X"),
        Card::new(biny, whole(spec.binning.1), "Binning factor along Y"),
        Card::new(conad, number(1.4), "Conversion from ADUs to electrons"),
        Card::new(ron, number(4.2), "Readout noise per output (e-)"),
    ];
    if soxs {
        cards.push(Card::new(read_speed, Value::Int(1), "Used readout mode id"));
        cards.push(Card::new(
            "ESO DET READ CURNAME",
            s("SLOW"),
            "Used readout mode name",
        ));
        cards.push(Card::new(
            "ESO DET OUT1 GAIN",
            Value::Float(0.7143),
            "Conversion from electrons to ADU",
        ));
        cards.push(Card::new(
            "ESO INS TEMP104 VAL",
            Value::Float(153.0),
            "VIS detector temperature",
        ));
        cards.push(Card::new(
            "ESO INS TEMP301 VAL",
            Value::Float(15.0),
            "Common path temperature",
        ));
    } else {
        cards.push(Card::new(read_speed, s("400k/1pt/hg"), "Readout speed"));
    }
    cards
}

/// Headers of a CCD outside ESO, as [`GENERIC_SETTINGS`] expects them.
fn generic_cards(
    spec: &Spec,
    date: String,
    when: jiff::Timestamp,
    exptime: f64,
    kind: &str,
) -> Vec<Card> {
    let s = |v: &str| Value::Str(v.to_string());
    vec![
        Card::new("INSTRUME", s("MBIAS-SIM"), "Simulated by mbias"),
        Card::new("IMAGETYP", s(kind), "Exposure type"),
        Card::new("OBJECT", s(kind), ""),
        Card::new("DATE-OBS", s(&date), "Date of observation"),
        Card::new("MJD-OBS", Value::Float(mjd(when)), "Obs start"),
        Card::new("EXPTIME", Value::Float(exptime), "Integration time"),
        Card::new("GAIN", Value::Float(1.4), "e-/ADU"),
        Card::new("RDNOISE", Value::Float(4.2), "e-"),
        Card::new(
            "CCDSUM",
            s(&format!("{} {}", spec.binning.0, spec.binning.1)),
            "",
        ),
    ]
}

fn render_frame(spec: &Spec, index: usize, shape: (usize, usize), defects: &Defects) -> Vec<u16> {
    let (rows, cols) = shape;
    let mut rng =
        ChaCha8Rng::seed_from_u64(spec.seed.wrapping_mul(1_000_003).wrapping_add(index as u64));
    let (level, noise) = match spec.exposure {
        Exposure::Bias => (
            800.0 + 0.4 * index as f64 + rng.random_range(-0.5..0.5),
            3.0,
        ),
        Exposure::Flat => (20000.0, 100.0),
    };
    let phase = rng.random_range(0.0..TAU);
    let mut values: Vec<f64> = (0..rows * cols)
        .map(|p| {
            let (r, c) = (p / cols, p % cols);
            level - 2e-4 * c as f64
                + 1e-4 * r as f64
                + 0.5 * (TAU * c as f64 / 16.0 + phase).sin()
                + noise * rng.sample::<f64, _>(StandardNormal)
        })
        .collect();
    for (p, amp) in &defects.hot {
        values[*p] += amp;
    }
    for (p, amp) in &defects.cold {
        values[*p] -= amp;
    }
    for r in 0..rows {
        values[r * cols + defects.warm_column % cols] += 15.0;
    }
    for _ in 0..350 {
        let (r, c) = (rng.random_range(0..rows), rng.random_range(0..cols));
        let energy = rng.random_range(50.0..5000.0);
        let length = rng.random_range(1..4);
        for k in 0..length {
            let cc = (c + k).min(cols - 1);
            values[r * cols + cc] += energy / (k + 1) as f64;
        }
    }
    values
        .iter()
        .map(|v| v.round().clamp(0.0, 65535.0) as u16)
        .collect()
}

/// Writes the frames of `spec` into `dir` and returns their paths.
pub fn simulate(dir: &Path, spec: &Spec) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| FitsError::Write {
        path: dir.to_path_buf(),
        message: e.to_string(),
    })?;
    let (rows, cols) = raw_shape(spec.profile);
    let shape = (rows / spec.binning.1.max(1), cols / spec.binning.0.max(1));
    // The warm column sits mid-window, where it leaves STRUCTX alone as in the oracle set.
    let middle = match &spec.profile.window {
        Window::Unbinned { cols, .. } => (cols.0 + cols.1) / 2,
        Window::Section(_) => cols / 2,
    };
    let warm_column = middle / spec.binning.0.max(1);
    let defects = defects(spec.seed, shape.0, shape.1, warm_column);
    let prefix = match spec.profile.instrument {
        Some(Instrument::Soxs) => "SOXS",
        Some(Instrument::Xshooter) => "XSHOO",
        None => "SIM",
    };
    (0..spec.frames)
        .into_par_iter()
        .map(|index| {
            let when = timestamp(spec.start_offset_s + CADENCE_S * index as i64);
            let file_name = format!("{prefix}.{}.fits", when.strftime("%Y-%m-%dT%H:%M:%S%.3f"));
            let path = dir.join(&file_name);
            let pixels = render_frame(spec, index, shape, &defects);
            let _ = std::fs::remove_file(&path);
            let mut writer = ImageWriter::create(&path)?;
            writer.add_image(
                shape,
                ImageData::U16(&pixels),
                &header_cards(spec, index, when, &file_name),
            )?;
            writer.finish()?;
            Ok(path)
        })
        .collect()
}

/// A night for the demo: a full bias set, plus the things validation must catch: a flat,
/// a bias of another binning and a corrupt file.
pub fn demo_night(dir: &Path, profile: &'static Profile, seed: u64) -> Result<Vec<PathBuf>> {
    let mut files = simulate(dir, &Spec::biases(profile, 7, seed))?;
    files.extend(simulate(
        dir,
        &Spec {
            exposure: Exposure::Flat,
            frames: 1,
            start_offset_s: 3600,
            ..Spec::biases(profile, 1, seed + 1)
        },
    )?);
    files.extend(simulate(
        dir,
        &Spec {
            binning: (2, 2),
            start_offset_s: 7200,
            ..Spec::biases(profile, 1, seed + 2)
        },
    )?);
    let corrupt = dir.join(format!("{}.corrupt.fits", profile.product_tag()));
    std::fs::write(
        &corrupt,
        b"SIMPLE  =                    T / truncated by a full disk",
    )
    .map_err(|e| FitsError::Write {
        path: corrupt.clone(),
        message: e.to_string(),
    })?;
    files.push(corrupt);
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generic_settings_define_the_generic_profile() {
        let settings = crate::settings::Settings::parse(GENERIC_SETTINGS).unwrap();
        assert_eq!(settings.detectors.len(), 1);
        assert_eq!(settings.detectors[0].profile, *GENERIC);
        assert_eq!(profile_by_name("SIM-4K"), Some(&*GENERIC));
        assert_eq!(raw_shape(&GENERIC), (4096, 4096));
    }
}
