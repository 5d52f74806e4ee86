//! Multi-extension frames (one image per amplifier) through the binary: simulated, checked,
//! stacked extension by extension into one product, and read back.

mod common;

use std::path::{Path, PathBuf};

use common::{mbias, stderr, stdout};
use mbias::fits::{Card, ImageData, ImageWriter, Pixels, Value, read_frame_header, read_window};
use mbias::simulate::{GENERIC_SETTINGS, MEF_AMPLIFIERS, raw_shape};

/// Simulated `sim-mef` biases in `dir/raw` and settings that define its profile.
fn mef_night(dir: &Path, frames: usize) -> (PathBuf, PathBuf) {
    let raw = dir.join("raw");
    let sim = mbias(&[
        "simulate",
        "--out",
        raw.to_str().unwrap(),
        "--profile",
        "sim-mef",
        "--frames",
        &frames.to_string(),
        "--seed",
        "11",
    ]);
    assert!(sim.status.success(), "{}", stderr(&sim));
    // The profile is built in; these settings spell it out, as for a user's own CCD.
    let settings = dir.join("settings.yaml");
    std::fs::write(&settings, GENERIC_SETTINGS).unwrap();
    (raw, settings)
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

    let run = mbias(&[
        "stack",
        raw,
        "--settings",
        settings,
        "-o",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&run)).unwrap();
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
    let run = mbias(&[
        "stack",
        raw,
        "--settings",
        settings,
        "-o",
        out.to_str().unwrap(),
        "--overwrite",
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let text = stdout(&run);
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
    writer.finish().unwrap();

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
