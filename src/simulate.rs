//! Realistic raw frames for demos, tests and benchmarks: a bias level with a per-frame
//! drift, a gradient, a periodic pick-up pattern, read noise, fixed hot and cold pixels, a
//! warm column and cosmic-ray hits, with the headers soxspipe expects.

use std::f64::consts::TAU;
use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;

pub use crate::detector::simulated::{GENERIC, MEF, QUAD};
use crate::detector::simulated::{GENERIC_NAME, MEF_NAME, QUAD_NAME};
use crate::detector::{Instrument, Profile, Window};
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
/// For multi-extension profiles, of each amplifier's extension.
pub fn raw_shape(profile: &Profile) -> (usize, usize) {
    match profile.name.as_str() {
        "xsh-uvb" => (3000, 2144),
        "xsh-vis" => (4000, 2106),
        GENERIC_NAME => (4096, 4096),
        MEF_NAME => (2048, 1024),
        QUAD_NAME => (QUAD_DATA.0, QUAD_PRESCAN + QUAD_DATA.1 + QUAD_OVERSCAN),
        _ => (4096, 2098),
    }
}

/// One read-out amplifier: what its pixels look like.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Amplifier {
    /// `EXTNAME` of its extension (multi-extension frames only).
    pub name: &'static str,
    /// Bias level, ADU.
    pub level: f64,
    /// Read noise, e- (as `RDNOISE` and the master's difference RON report it).
    pub ron: f64,
    /// e-/ADU, as the headers say.
    pub gain: f64,
}

impl Amplifier {
    /// Read noise in ADU, as the pixels carry it.
    fn noise(&self) -> f64 {
        self.ron / self.gain
    }
}

/// The one amplifier of the single-image profiles (the SOXS headers' gain and read noise).
const SINGLE: Amplifier = Amplifier {
    name: "",
    level: 800.0,
    ron: 4.2,
    gain: 1.4,
};

/// The two amplifiers of `sim-mef` frames, each read into its own extension with a
/// level, noise and gain of its own, as real multi-amplifier CCDs differ.
pub const MEF_AMPLIFIERS: [Amplifier; 2] = [
    Amplifier {
        name: "AMP1",
        level: 800.0,
        ron: 4.2,
        gain: 1.4,
    },
    Amplifier {
        name: "AMP2",
        level: 1100.0,
        ron: 5.5,
        gain: 1.1,
    },
];

/// The four amplifiers of `sim-quad` frames: bottom left, bottom right, top left, top
/// right on the detector.
pub const QUAD_AMPLIFIERS: [Amplifier; 4] = [
    Amplifier {
        name: "Q1",
        level: 900.0,
        ron: 4.0,
        gain: 1.5,
    },
    Amplifier {
        name: "Q2",
        level: 1000.0,
        ron: 4.5,
        gain: 1.4,
    },
    Amplifier {
        name: "Q3",
        level: 1100.0,
        ron: 5.0,
        gain: 1.3,
    },
    Amplifier {
        name: "Q4",
        level: 1200.0,
        ron: 5.5,
        gain: 1.2,
    },
];

/// Unbinned data section (rows, columns) of one `sim-quad` amplifier, and its prescan
/// and overscan widths in columns.
const QUAD_DATA: (usize, usize) = (512, 512);
const QUAD_PRESCAN: usize = 16;
const QUAD_OVERSCAN: usize = 32;

/// Where `sim-quad` amplifier `k` keeps its columns (binned by `bx`) and where its data
/// sit on the detector.
struct QuadLayout {
    prescan: std::ops::Range<usize>,
    data: std::ops::Range<usize>,
    overscan: std::ops::Range<usize>,
    /// `DETSEC`, unbinned; the right-hand amplifiers read from the right, so their
    /// columns run backwards on the detector.
    detsec: String,
}

impl QuadLayout {
    fn of(k: usize, bx: usize) -> QuadLayout {
        let (pre, data, over) = (QUAD_PRESCAN / bx, QUAD_DATA.1 / bx, QUAD_OVERSCAN / bx);
        // The top amplifiers' controller writes the overscan first.
        let (prescan, data_cols, overscan) = if k < 2 {
            (0..pre, pre..pre + data, pre + data..pre + data + over)
        } else {
            (over + data..over + data + pre, over..over + data, 0..over)
        };
        let (w, h) = (QUAD_DATA.1, QUAD_DATA.0);
        let cols = if k.is_multiple_of(2) {
            format!("1:{w}")
        } else {
            format!("{}:{}", 2 * w, w + 1)
        };
        let rows = if k < 2 {
            format!("1:{h}")
        } else {
            format!("{}:{}", h + 1, 2 * h)
        };
        QuadLayout {
            prescan,
            data: data_cols,
            overscan,
            detsec: format!("[{cols},{rows}]"),
        }
    }
}

/// A column range as a FITS section over `rows` rows.
fn columns_section(cols: &std::ops::Range<usize>, rows: usize) -> String {
    format!("[{}:{},1:{rows}]", cols.start + 1, cols.end)
}

/// The amplifiers whose images a profile's frames hold.
pub fn amplifiers(profile: &Profile) -> &'static [Amplifier] {
    if profile.name == QUAD_NAME {
        &QUAD_AMPLIFIERS
    } else if profile.hdu.is_multi() {
        &MEF_AMPLIFIERS
    } else {
        std::slice::from_ref(&SINGLE)
    }
}

/// Settings that spell out the built-in profiles of simulated frames (4096×4096 `sim-4k`,
/// two-amplifier `sim-mef`) as a user spells out a profile for their own CCD. Such a
/// profile replaces the built-in one of its name; the benchmark loads these, so that it
/// times the path a user's own CCD takes.
pub const GENERIC_SETTINGS: &str = "\
mbias:
    detectors:
        sim-4k:
            match: {INSTRUME: MBIAS-SIM}
            bias: {keyword: IMAGETYP, values: [BIAS, ZERO], max-exptime: 0}
            gain: GAIN
            read-noise: RDNOISE
            window: whole
        sim-mef:
            match: {INSTRUME: MBIAS-SIM-MEF}
            # Every image extension (AMP1, AMP2) is stacked on its own; GAIN and RDNOISE
            # are read from each extension's header.
            hdu: each
            bias: {keyword: IMAGETYP, values: [BIAS, ZERO], max-exptime: 0}
            gain: GAIN
            read-noise: RDNOISE
            window: whole
        sim-quad:
            match: {INSTRUME: MBIAS-SIM-QUAD}
            # One extension per amplifier (Q1 to Q4), each read on its own.
            hdu: each
            bias: {keyword: IMAGETYP, values: [BIAS, ZERO], max-exptime: 0}
            gain: GAIN
            read-noise: RDNOISE
            # Each extension names its own data, overscan and prescan columns.
            window: {keyword: DATASEC}
            amplifiers:
                - {name: OUT1, data: {keyword: DATASEC}, overscan: {keyword: BIASSEC},
                   prescan: {keyword: PRESEC}}
            overscan: median
            # DETSEC places each extension on the detector: one assembled master.
            assemble: DETSEC
";

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

/// Headers of a CCD outside ESO, as [`GENERIC_SETTINGS`] expects them. Multi-extension
/// frames carry gain and read noise in each amplifier's extension instead
/// ([`extension_cards`]).
fn generic_cards(
    spec: &Spec,
    date: String,
    when: jiff::Timestamp,
    exptime: f64,
    kind: &str,
) -> Vec<Card> {
    let s = |v: &str| Value::Str(v.to_string());
    let instrume = match &spec.profile.matcher.rules[..] {
        [(_, values), ..] => values.first().map_or("MBIAS-SIM", String::as_str),
        [] => "MBIAS-SIM",
    };
    let mut cards = vec![
        Card::new("INSTRUME", s(instrume), "Simulated by mbias"),
        Card::new("IMAGETYP", s(kind), "Exposure type"),
        Card::new("OBJECT", s(kind), ""),
        Card::new("DATE-OBS", s(&date), "Date of observation"),
        Card::new("MJD-OBS", Value::Float(mjd(when)), "Obs start"),
        Card::new("EXPTIME", Value::Float(exptime), "Integration time"),
    ];
    if !spec.profile.hdu.is_multi() {
        cards.extend(amplifier_cards(&SINGLE));
    }
    cards.push(Card::new(
        "CCDSUM",
        s(&format!("{} {}", spec.binning.0, spec.binning.1)),
        "",
    ));
    cards
}

fn amplifier_cards(amplifier: &Amplifier) -> [Card; 2] {
    [
        Card::new("GAIN", Value::Float(amplifier.gain), "e-/ADU"),
        Card::new("RDNOISE", Value::Float(amplifier.ron), "e-"),
    ]
}

/// The header of amplifier `k`'s extension: its name, gain, read noise and where its
/// pixels sit on the detector (amplifiers side by side along x).
fn extension_cards(amplifier: &Amplifier, k: usize, shape: (usize, usize)) -> Vec<Card> {
    let (rows, cols) = shape;
    let section = format!("[{}:{},1:{rows}]", k * cols + 1, (k + 1) * cols);
    let mut cards = vec![
        Card::new(
            "EXTNAME",
            Value::Str(amplifier.name.to_string()),
            "Amplifier",
        ),
        Card::new("DETSEC", Value::Str(section.clone()), "Detector section"),
        Card::new("CCDSEC", Value::Str(section), "CCD section"),
    ];
    cards.extend(amplifier_cards(amplifier));
    cards
}

/// The header of `sim-quad` amplifier `k`'s extension: its name, gain and read noise,
/// and its sections.
fn quad_cards(amplifier: &Amplifier, layout: &QuadLayout, rows: usize) -> Vec<Card> {
    let s = |v: String| Value::Str(v);
    let mut cards = vec![
        Card::new("EXTNAME", s(amplifier.name.into()), "Amplifier"),
        Card::new(
            "DATASEC",
            s(columns_section(&layout.data, rows)),
            "Data section",
        ),
        Card::new(
            "BIASSEC",
            s(columns_section(&layout.overscan, rows)),
            "Overscan section",
        ),
        Card::new(
            "PRESEC",
            s(columns_section(&layout.prescan, rows)),
            "Prescan section",
        ),
        Card::new("DETSEC", s(layout.detsec.clone()), "Detector section"),
    ];
    cards.extend(amplifier_cards(amplifier));
    cards
}

/// A `sim-quad` amplifier's whole image: its `data` (rows of the data section) between
/// prescan and overscan strips that read the frame's bias `level` with read noise only.
fn with_strips(
    spec: &Spec,
    index: usize,
    (k, amplifier): (usize, &Amplifier),
    level: f64,
    data: &[u16],
    layout: &QuadLayout,
) -> Vec<u16> {
    let width = layout.data.len();
    let cols = layout.prescan.len() + width + layout.overscan.len();
    let rows = data.len() / width.max(1);
    let seed = spec.seed.wrapping_mul(7_919).wrapping_add(index as u64);
    let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_add((k as u64) << 44));
    let mut out = Vec::with_capacity(rows * cols);
    for row in data.chunks_exact(width.max(1)) {
        for c in 0..cols {
            out.push(if layout.data.contains(&c) {
                row[c - layout.data.start]
            } else {
                let v = level + amplifier.noise() * rng.sample::<f64, _>(StandardNormal);
                v.round().clamp(0.0, 65535.0) as u16
            });
        }
    }
    out
}

/// Frame `index` as amplifier `k` reads it, and the bias level (ADU) it read.
fn render_frame(
    spec: &Spec,
    index: usize,
    (k, amplifier): (usize, &Amplifier),
    shape: (usize, usize),
    defects: &Defects,
) -> (Vec<u16>, f64) {
    let (rows, cols) = shape;
    let seed = spec.seed.wrapping_mul(1_000_003).wrapping_add(index as u64);
    let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_add((k as u64) << 40));
    let (level, noise) = match spec.exposure {
        Exposure::Bias => (
            amplifier.level + 0.4 * index as f64 + rng.random_range(-0.5..0.5),
            amplifier.noise(),
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
    let pixels = values
        .iter()
        .map(|v| v.round().clamp(0.0, 65535.0) as u16)
        .collect();
    (pixels, level)
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
        Window::Section(_) | Window::Keyword(_) => cols / 2,
    };
    let warm_column = middle / spec.binning.0.max(1);
    let amplifiers = amplifiers(spec.profile);
    let quad = spec.profile.name == QUAD_NAME;
    let bx = spec.binning.0.max(1);
    // A quad amplifier's data are narrower than its image: its strips are drawn apart.
    let data_shape = if quad {
        (shape.0, QUAD_DATA.1 / bx)
    } else {
        shape
    };
    let defects: Vec<Defects> = (0..amplifiers.len())
        .map(|k| {
            defects(
                spec.seed ^ k as u64,
                data_shape.0,
                data_shape.1,
                warm_column,
            )
        })
        .collect();
    let prefix = match spec.profile.instrument {
        Some(Instrument::Soxs) => "SOXS",
        Some(Instrument::Xshooter) => "XSHOO",
        None => "SIM",
    };
    let multi = spec.profile.hdu.is_multi();
    (0..spec.frames)
        .into_par_iter()
        .map(|index| {
            let when = timestamp(spec.start_offset_s + CADENCE_S * index as i64);
            let file_name = format!("{prefix}.{}.fits", when.strftime("%Y-%m-%dT%H:%M:%S%.3f"));
            let path = dir.join(&file_name);
            let cards = header_cards(spec, index, when, &file_name);
            // Written whole under a temporary name, so a full disk leaves no torn frame;
            // an error names the frame, not the temporary file the user never sees.
            let temp = crate::atomic::TempFile::beside(&path);
            let named = |e: FitsError| match e {
                FitsError::Write { message, .. } => FitsError::Write {
                    path: path.clone(),
                    message,
                },
                other => other,
            };
            let mut writer = ImageWriter::create(temp.path()).map_err(named)?;
            if multi {
                writer.add_empty_primary(&cards).map_err(named)?;
            }
            for (k, amplifier) in amplifiers.iter().enumerate() {
                let (data, level) =
                    render_frame(spec, index, (k, amplifier), data_shape, &defects[k]);
                let (pixels, cards) = if quad {
                    let layout = QuadLayout::of(k, bx);
                    let pixels = with_strips(spec, index, (k, amplifier), level, &data, &layout);
                    (pixels, quad_cards(amplifier, &layout, shape.0))
                } else if multi {
                    (data, extension_cards(amplifier, k, shape))
                } else {
                    (data, cards.clone())
                };
                writer
                    .add_image(shape, ImageData::U16(&pixels), &cards)
                    .map_err(named)?;
            }
            writer.finish();
            Ok(temp.commit(true)?)
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
    use crate::settings::Settings;

    #[test]
    fn generic_settings_define_the_simulated_profiles() {
        let settings = Settings::parse(GENERIC_SETTINGS).unwrap();
        let defined = settings.detectors().generic;
        let simulated: Vec<Profile> = crate::detector::simulated::profiles()
            .into_iter()
            .cloned()
            .collect();
        assert_eq!(defined, simulated);
        assert_eq!(crate::detector::by_name("SIM-4K"), Some(&*GENERIC));
        assert_eq!(raw_shape(&GENERIC), (4096, 4096));
    }

    #[test]
    fn a_frame_that_cannot_be_written_is_named_not_its_temporary_file() {
        let spec = Spec::biases(&MEF, 1, 5);
        let first = tempfile::tempdir().unwrap();
        let written = simulate(first.path(), &spec).unwrap();
        let name = written[0]
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let dir = tempfile::tempdir().unwrap();
        // A folder where the frame's temporary file would go: it cannot be created.
        let temp = format!(".{name}.{}.tmp", std::process::id());
        std::fs::create_dir(dir.path().join(&temp)).unwrap();
        let message = simulate(dir.path(), &spec).unwrap_err().to_string();
        let frame = dir.path().join(&name);
        assert!(
            message.starts_with(&format!("{}: cannot write", frame.display())),
            "{message}"
        );
        assert!(!message.contains(&temp), "{message}");
    }

    #[test]
    fn multi_extension_frames_hold_one_image_per_amplifier() {
        let dir = tempfile::tempdir().unwrap();
        let files = simulate(dir.path(), &Spec::biases(&MEF, 1, 5)).unwrap();
        let frame = crate::fits::read_frame_header(&files[0]).unwrap();
        assert_eq!(
            frame.primary.text("INSTRUME").as_deref(),
            Some("MBIAS-SIM-MEF")
        );
        assert_eq!(frame.primary.get("GAIN"), None, "gain is per amplifier");
        let names: Vec<String> = frame
            .images
            .iter()
            .map(|i| frame.with_image(i).image_name())
            .collect();
        assert_eq!(names, ["AMP1", "AMP2"]);
        let amp2 = &frame.images[1];
        assert_eq!(amp2.shape, raw_shape(&MEF));
        assert_eq!(amp2.header.number("GAIN"), Some(1.1));
        assert_eq!(
            amp2.header.text("DETSEC").as_deref(),
            Some("[1025:2048,1:2048]")
        );
    }
}
