//! Multi-extension frames (one image per amplifier) through the binary: simulated, checked,
//! stacked extension by extension into one product, and read back.

mod common;

use std::path::{Path, PathBuf};

use common::{mbias, stderr, stdout};
use mbias::fits::{Card, ImageData, ImageWriter, Pixels, Value, read_frame_header, read_window};
use mbias::simulate::{GENERIC_SETTINGS, MEF_AMPLIFIERS, raw_shape};

/// `frames` simulated biases of the built-in `profile` in `dir/raw`.
fn simulated_night(dir: &Path, profile: &str, frames: usize, seed: u64) -> PathBuf {
    let raw = dir.join("raw");
    let sim = mbias(&[
        "simulate",
        "--out",
        raw.to_str().unwrap(),
        "--profile",
        profile,
        "--frames",
        &frames.to_string(),
        "--seed",
        &seed.to_string(),
    ]);
    assert!(sim.status.success(), "{}", stderr(&sim));
    raw
}

/// Simulated `sim-mef` biases in `dir/raw` and settings that define its profile.
fn mef_night(dir: &Path, frames: usize) -> (PathBuf, PathBuf) {
    let raw = simulated_night(dir, "sim-mef", frames, 11);
    // The profile is built in; these settings spell it out, as for a user's own CCD.
    let settings = dir.join("settings.yaml");
    std::fs::write(&settings, GENERIC_SETTINGS).unwrap();
    (raw, settings)
}

/// `mbias stack RAW --settings SETTINGS -o OUT FLAG`, which must succeed: what it printed.
fn stack_printing(raw: &str, settings: &str, out: &Path, flag: &str) -> String {
    let run = mbias(&[
        "stack",
        raw,
        "--settings",
        settings,
        "-o",
        out.to_str().unwrap(),
        flag,
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    stdout(&run)
}

/// [`stack_printing`] `--json`: its document.
fn stack_json(raw: &str, settings: &str, out: &Path) -> serde_json::Value {
    serde_json::from_str(&stack_printing(raw, settings, out, "--json")).unwrap()
}

fn qc_value(qc: &serde_json::Value, name: &str) -> f64 {
    qc.as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .and_then(|v| v["value"].as_f64())
        .unwrap_or_else(|| panic!("{name} in {qc}"))
}

#[test]
fn stack_writes_one_triple_per_extension_with_each_amplifiers_qc() {
    let dir = tempfile::tempdir().unwrap();
    let (raw, settings) = mef_night(dir.path(), 5);
    let (raw, settings) = (raw.to_str().unwrap(), settings.to_str().unwrap());
    let out = dir.path().join("out");

    let v = mbias(&["validate", raw, "--settings", settings]);
    assert!(v.status.success(), "{}", stdout(&v));
    assert!(stdout(&v).contains("ok: AMP1: 5 bias frame(s), sim-mef"));
    assert!(stdout(&v).contains("ok: AMP2: 5 bias frame(s), sim-mef"));
    let v = mbias(&["validate", raw, "--settings", settings, "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&v)).unwrap();
    assert_eq!(doc["extensions"], serde_json::json!(["AMP1", "AMP2"]));

    let doc = stack_json(raw, settings, &out);
    assert!(doc.get("qc").is_none(), "QC is per extension: {doc}");
    let extensions = doc["extensions"].as_array().unwrap();
    assert_eq!(extensions.len(), MEF_AMPLIFIERS.len());
    let mut levels = Vec::new();
    for (extension, amp) in extensions.iter().zip(&MEF_AMPLIFIERS) {
        assert_eq!(extension["name"], amp.name);
        assert_eq!(extension["frames"].as_array().unwrap().len(), 5);
        // The master's level is the amplifier's (plus a drift of 0.4 ADU per frame).
        let level = qc_value(&extension["qc"], "MBIAS MEDIAN");
        let expected = (amp.level + 0.8) * amp.gain;
        assert!(
            (level - expected).abs() < 0.002 * expected,
            "{}: level {level} e-, simulated {expected} e-",
            amp.name
        );
        let ron = qc_value(&extension["qc"], "RON DIFF");
        assert!(
            (ron - amp.ron).abs() < 0.05 * amp.ron,
            "{}: RON DIFF {ron} e-, simulated {} e-",
            amp.name,
            amp.ron
        );
        levels.push(level);
    }
    assert!(levels[1] - levels[0] > 50.0, "each amplifier its own level");

    // The product: an empty primary naming the detector, then FLUX/QUAL/ERRS per extension.
    let product = PathBuf::from(doc["product"].as_str().unwrap());
    let file = read_frame_header(&product).unwrap();
    assert_eq!(file.primary.number("NAXIS"), Some(0.0));
    assert_eq!(
        file.primary.text("INSTRUME").as_deref(),
        Some("MBIAS-SIM-MEF")
    );
    assert_eq!(
        file.primary.text("ESO PRO CATG").as_deref(),
        Some("MASTER_BIAS")
    );
    let names: Vec<String> = file
        .images
        .iter()
        .map(|i| i.header.text("EXTNAME").unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "AMP1.FLUX",
            "AMP1.QUAL",
            "AMP1.ERRS",
            "AMP2.FLUX",
            "AMP2.QUAL",
            "AMP2.ERRS"
        ]
    );
    let amp2 = &file.images[3].header;
    assert_eq!(amp2.text("DETSEC").as_deref(), Some("[1025:2048,1:2048]"));
    assert_eq!(amp2.number("ESO QC MBIAS MEDIAN"), Some(levels[1]));
    assert!(
        file.images
            .iter()
            .all(|i| i.shape == raw_shape(&mbias::simulate::MEF))
    );

    // `mbias qc` reads both back.
    let qc = mbias(&["qc", product.to_str().unwrap(), "--json"]);
    assert!(qc.status.success(), "{}", stderr(&qc));
    let back: serde_json::Value = serde_json::from_str(&stdout(&qc)).unwrap();
    let back = back["extensions"].as_array().unwrap();
    assert_eq!(back.len(), 2);
    for (read, written) in back.iter().zip(extensions) {
        assert_eq!(read["name"], written["name"]);
        assert_eq!(
            qc_value(&read["qc"], "RON DIFF"),
            qc_value(&written["qc"], "RON DIFF")
        );
        assert_eq!(read["frames"].as_array().unwrap().len(), 5);
    }
    let text = stdout(&mbias(&["qc", product.to_str().unwrap()]));
    assert!(text.contains("extension AMP1") && text.contains("extension AMP2"));

    // The text report has a QC table per extension, headed by its name.
    let text = stack_printing(raw, settings, &out, "--overwrite");
    assert!(text.contains("2 extensions (AMP1, AMP2)"), "{text}");
    let first = text.find("extension AMP1").unwrap();
    let second = text.find("extension AMP2").unwrap();
    assert!(first < second && text[first..second].contains("MBIAS MEDIAN"));
}

#[test]
fn a_frame_missing_an_amplifier_is_named_with_its_extension() {
    let dir = tempfile::tempdir().unwrap();
    let (raw, settings) = mef_night(dir.path(), 5);
    // A sixth frame holding AMP1 only.
    let model = read_frame_header(
        &raw.join(
            std::fs::read_dir(&raw)
                .unwrap()
                .next()
                .unwrap()
                .unwrap()
                .file_name(),
        ),
    )
    .unwrap();
    let (rows, cols) = model.images[0].shape;
    let Pixels::U16(pixels) = read_window(&model.path, 1, 0..rows, 0..cols, true).unwrap() else {
        panic!("16-bit raw")
    };
    let odd = raw.join("SIM.lost-amp2.fits");
    let text = |v: &str| Value::Str(v.into());
    let mut writer = ImageWriter::create(&odd).unwrap();
    writer
        .add_empty_primary(&[
            Card::new("INSTRUME", text("MBIAS-SIM-MEF"), ""),
            Card::new("IMAGETYP", text("BIAS"), ""),
            Card::new("EXPTIME", Value::Float(0.0), ""),
        ])
        .unwrap();
    writer
        .add_image(
            (rows, cols),
            ImageData::U16(&pixels),
            &[
                Card::new("EXTNAME", text("AMP1"), ""),
                Card::new("GAIN", Value::Float(1.4), ""),
                Card::new("RDNOISE", Value::Float(4.2), ""),
            ],
        )
        .unwrap();
    writer.finish();

    let v = mbias(&[
        "validate",
        raw.to_str().unwrap(),
        "--settings",
        settings.to_str().unwrap(),
    ]);
    assert_eq!(v.status.code(), Some(1));
    let text = stdout(&v);
    let line = text
        .lines()
        .find(|l| l.contains("SIM.lost-amp2.fits"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.starts_with("error: "), "{line}");
    assert!(
        line.contains("SIM.lost-amp2.fits, AMP2: has no extension AMP2"),
        "{line}"
    );
    let stack = mbias(&[
        "stack",
        raw.to_str().unwrap(),
        "--settings",
        settings.to_str().unwrap(),
        "-o",
        dir.path().join("out").to_str().unwrap(),
    ]);
    assert_eq!(stack.status.code(), Some(1));
    assert!(!dir.path().join("out").exists(), "nothing written");
}

/// Simulated `sim-quad` biases in `dir/raw` and the settings of the example's
/// four-extension camera (settings.example.yaml, uncommented).
fn quad_night(dir: &Path, frames: usize) -> (PathBuf, PathBuf) {
    let raw = simulated_night(dir, "sim-quad", frames, 3);
    let settings = dir.join("settings.yaml");
    std::fs::write(&settings, common::example_detectors()).unwrap();
    (raw, settings)
}

/// The column of `qual` (rows × cols, row-major) with the most bad pixels.
fn worst_column(qual: &[u8], cols: usize) -> usize {
    let mut counts = vec![0usize; cols];
    for (p, &q) in qual.iter().enumerate() {
        counts[p % cols] += usize::from(q != 0);
    }
    (0..cols).max_by_key(|&c| counts[c]).unwrap()
}

#[test]
fn a_four_extension_camera_is_corrected_by_its_overscan_and_assembled_as_on_the_chip() {
    use fitsio::FitsFile;
    let dir = tempfile::tempdir().unwrap();
    let (raw, settings) = quad_night(dir.path(), 3);
    let (raw, settings) = (raw.to_str().unwrap(), settings.to_str().unwrap());
    let out = dir.path().join("out");
    let doc = stack_json(raw, settings, &out);
    let images = doc["extensions"].as_array().unwrap();
    assert_eq!(images.len(), 4, "{doc}");
    for (k, image) in images.iter().enumerate() {
        let amp = &image["amplifiers"][0];
        // The overscan reads the amplifier's level (drifting 0.4 ADU a frame); its median,
        // taken out, leaves the data near zero.
        let expected = mbias::simulate::QUAD_AMPLIFIERS[k].level;
        let overscan = amp["overscan_level"].as_f64().unwrap();
        assert!((overscan - expected).abs() < 2.0, "{k}: {amp}");
        assert!(amp["level"].as_f64().unwrap().abs() < 1.0, "{k}: {amp}");
    }

    let product = out.join("20251010T091927_1X1_MBIAS_QUAD-CAMERA.fits");
    let assembled = out.join("20251010T091927_1X1_MBIAS_QUAD-CAMERA_ASSEMBLED.fits");
    let mut whole = FitsFile::open(&assembled).unwrap();
    // Each piece's level, and the step from the one before: all near zero here.
    let primary = whole.primary_hdu().unwrap();
    let step: f64 = primary
        .read_key(&mut whole, "HIERARCH MBIAS ASM2 STEP")
        .unwrap();
    assert!(step.abs() < 1.0, "{step}");
    let hdu = whole.hdu("QUAL").unwrap();
    let qual: Vec<u8> = hdu.read_image(&mut whole).unwrap();
    let mut masters = FitsFile::open(&product).unwrap();
    // Each amplifier's warm column lies where DETSEC puts it: the right-hand amplifiers
    // (Q2, Q4) read from the right, so their columns run backwards on the detector.
    for (k, name) in ["Q1", "Q2", "Q3", "Q4"].iter().enumerate() {
        let hdu = masters.hdu(format!("{name}.QUAL").as_str()).unwrap();
        let own: Vec<u8> = hdu.read_image(&mut masters).unwrap();
        let column = worst_column(&own, 512);
        let (top, left) = (512 * (k / 2), 512 * (k % 2));
        let quadrant: Vec<u8> = (top..top + 512)
            .flat_map(|r| qual[r * 1024 + left..r * 1024 + left + 512].to_vec())
            .collect();
        let placed = if k % 2 == 1 { 511 - column } else { column };
        assert_eq!(worst_column(&quadrant, 512), placed, "{name}");
    }
}

/// `mbias validate` of a `sim-quad` night whose headers have `from` rewritten as `to`:
/// refused, with `message` on one of its lines.
fn refused_with_header_rewritten(from: &[u8], to: &[u8], message: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (raw, settings) = quad_night(dir.path(), 2);
    rewrite_header(&raw, from, to);
    let v = mbias(&[
        "validate",
        raw.to_str().unwrap(),
        "--settings",
        settings.to_str().unwrap(),
    ]);
    assert_eq!(v.status.code(), Some(1), "{}{}", stdout(&v), stderr(&v));
    assert!(stdout(&v).contains(message), "{}", stdout(&v));
}

/// Every frame in `raw` with the first header text `from` replaced by `to` (as long).
fn rewrite_header(raw: &Path, from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    for entry in std::fs::read_dir(raw).unwrap() {
        let path = entry.unwrap().path();
        let mut bytes = std::fs::read(&path).unwrap();
        let at = bytes
            .windows(from.len())
            .position(|w| w == from)
            .unwrap_or_else(|| panic!("{} in {}", String::from_utf8_lossy(from), path.display()));
        bytes[at..at + to.len()].copy_from_slice(to);
        std::fs::write(&path, bytes).unwrap();
    }
}

#[test]
fn extensions_that_claim_the_same_detector_pixels_are_refused_before_stacking() {
    // Q2 claims Q1's place: its DETSEC card rewritten, same length.
    refused_with_header_rewritten(
        b"'[1024:513,1:512]'",
        b"'[1:512,1:512]'   ",
        "cannot be assembled into one detector: Q1 and Q2 claim the same detector pixels",
    );
}

#[test]
fn a_window_read_from_a_keyword_the_header_lacks_is_an_error_naming_it() {
    // The first extension's DATASEC card renamed.
    refused_with_header_rewritten(
        b"DATASEC =",
        b"DATASXC =",
        "Q1: the science window is read from DATASEC, which the header lacks",
    );
}
