//! Real raw biases from two non-ESO telescopes (../shared/realdata) through the detector
//! profiles that settings.example.yaml ships commented out, and the product read back.

mod common;

use std::path::{Path, PathBuf};

use fitsio::FitsFile;
use mbias::detector::{BiasRule, HduChoice, Quantity, Window};
use mbias::fits::Header;
use mbias::product::{ProductQc, read_qc};
use mbias::qc::QcOrigin;
use mbias::settings::Settings;

/// ALFOSC: e-/ADU from its header, and the README's (frame1 − frame2)/√2 read noise.
const ALFOSC_GAIN: f64 = 0.16;
const ALFOSC_RON_ADU: f64 = 31.8;
/// Kast blue: e-/ADU from PypeIt (the header's GAIN is an index).
const KAST_GAIN: f64 = 1.2;
/// The README's (b14 − b15)/√2 read noise of amplifier 2, ADU.
const KAST_AMP2_RON_ADU: f64 = 2.70;

/// One Kast amplifier as a profile of its own: both match every Kast frame, so a run
/// must force one with `--set profile=NAME`.
fn kast_amplifier(name: &str, window: &str) -> String {
    format!(
        "        {name}:
            match: {{VERSION: kastb}}
            bias: {{keyword: OBJECT, values: [Bias], max-exptime: 0}}
            gain: {KAST_GAIN}
            read-noise: 3.7
            window: '{window}'
"
    )
}

fn settings_file(dir: &Path) -> PathBuf {
    let text = common::example_detectors()
        + &kast_amplifier("kast-amp1", "[1:1024,1:350]")
        + &kast_amplifier("kast-amp2", "[1025:2048,1:350]");
    let path = dir.join("realdata.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `mbias stack --json` and returns the JSON and the product's QC read back.
fn stack(
    input: &Path,
    settings: &Path,
    out: &Path,
    extra: &[&str],
) -> (serde_json::Value, ProductQc) {
    let args = [
        &[
            "stack",
            input.to_str().unwrap(),
            "--settings",
            settings.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--json",
        ][..],
        extra,
    ]
    .concat();
    let run = common::mbias(&args);
    assert!(run.status.success(), "{}", common::stderr(&run));
    let doc: serde_json::Value = serde_json::from_str(&common::stdout(&run)).unwrap();
    let product = read_qc(Path::new(doc["product"].as_str().unwrap())).unwrap();
    (doc, product)
}

/// RON DIFF with its uncertainty, for the log.
fn ron_diff(product: &ProductQc) -> String {
    format!(
        "{:.4} ± {:.4} e-",
        mbias_qc(product, "RON DIFF"),
        mbias_qc(product, "RON DIFF ERR")
    )
}

fn mbias_qc(product: &ProductQc, name: &str) -> f64 {
    product
        .values
        .iter()
        .find(|(origin, n, _)| *origin == QcOrigin::Mbias && n == name)
        .map(|v| v.2)
        .unwrap_or_else(|| panic!("MBIAS QC {name} in the product"))
}

fn image<T: fitsio::images::ReadImage>(path: &Path, hdu: impl fitsio::hdu::DescribesHdu) -> T {
    let mut file = FitsFile::open(path).unwrap();
    let hdu = file.hdu(hdu).unwrap();
    hdu.read_image(&mut file).unwrap()
}

fn within(measured: f64, expected: f64, tolerance: f64) -> bool {
    (measured - expected).abs() <= tolerance * expected.abs()
}

#[test]
fn example_profiles_parse_once_uncommented() {
    let text = common::example_detectors();
    let settings = Settings::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let names: Vec<&str> = settings
        .detectors
        .iter()
        .map(|g| g.profile.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["not-alfosc", "lick-kast-blue", "quad-camera"],
        "{text}"
    );
    // Nothing after the block: "uncomment to the end of the file" picks up no stray text.
    let from_marker = mbias::settings::EXAMPLE
        .lines()
        .skip_while(|l| l.trim_start() != "# detectors:")
        .count();
    assert_eq!(text.lines().count() - 1, from_marker);

    let detectors = settings.detectors();
    let header = |cards: &[&str]| Header::from_records(cards.iter().map(|c| c.to_string()));
    let alfosc = detectors
        .detect(&header(&["INSTRUME= 'ALFOSC_FASU'"]))
        .unwrap();
    assert_eq!(alfosc.name, "not-alfosc");
    assert_eq!(alfosc.hdu, HduChoice::Name("im1".into()));
    assert_eq!(alfosc.gain.keywords, ["GAIN"]);
    assert_eq!(alfosc.ron.keywords, ["RDNOISE"]);
    let BiasRule::Generic(bias) = &alfosc.bias else {
        panic!("a generic bias rule")
    };
    assert_eq!(bias.keywords, ["IMAGETYP", "OBJECT"]);
    assert_eq!(bias.max_exptime, Some(0.01));

    // Kast's first OBSTYPE card says DARK; the profile goes by VERSION and OBJECT.
    let kast = detectors
        .detect(&header(&["VERSION = 'kastb   '", "OBSTYPE = 'DARK    '"]))
        .unwrap();
    assert_eq!(kast.name, "lick-kast-blue");
    assert_eq!(kast.gain, Quantity::fixed(KAST_GAIN));
    assert_eq!(kast.ron, Quantity::fixed(3.7));
    assert!(matches!(kast.window, Window::Section(_)));
    let amps: Vec<&str> = kast.amplifiers.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        amps,
        ["A1", "A2"],
        "the example names Kast's two amplifiers"
    );
}

#[test]
#[ignore = "needs ../shared/realdata (real raw frames); .ci/run includes it when present"]
fn alfosc_master_ron_drift_and_defects() {
    let realdata = common::realdata();
    let dir = tempfile::tempdir().unwrap();
    let settings = settings_file(dir.path());
    let (doc, product) = stack(
        &realdata.join("not-alfosc-1x2"),
        &settings,
        &dir.path().join("out"),
        &[],
    );
    assert_eq!(doc["profile"], "not-alfosc");
    assert_eq!(doc["frames"].as_array().unwrap().len(), 5);
    assert_eq!(product.frames.len(), 5);

    let ron = mbias_qc(&product, "RON DIFF");
    let expected = ALFOSC_RON_ADU * ALFOSC_GAIN;
    println!(
        "ALFOSC RON DIFF {} (README {expected:.4} e-)",
        ron_diff(&product)
    );
    assert!(within(ron, expected, 0.05), "{ron} vs {expected}");

    // The README's frame medians fall 11613 → 11585 ADU: the sequence had not settled.
    let drift = mbias_qc(&product, "LEVEL DRIFT");
    let levels: Vec<f64> = product.frames.iter().map(|f| f.level).collect();
    println!(
        "ALFOSC LEVEL DRIFT {drift:.4} e-/frame, LEVEL RANGE {:.4} e-, levels {levels:?}",
        mbias_qc(&product, "LEVEL RANGE")
    );
    assert!(drift < 0.0, "{drift}");
    assert!(levels.windows(2).all(|w| w[1] < w[0]), "{levels:?}");

    // The frames' clipped medians (astropy sigma_clip 4σ ×3 about the mean, then the
    // median of the kept pixels) are 11612, 11602, 11598, 11590, 11584 ADU: median 11598.
    let level = mbias_qc(&product, "LEVEL MEDIAN") / 0.16;
    println!("ALFOSC LEVEL MEDIAN {level:.3} ADU");
    assert!((level - 11598.0).abs() <= 0.5, "{level}");

    let path = Path::new(doc["product"].as_str().unwrap());
    let qual: Vec<u8> = image(path, "QUAL");
    let cols = 400;
    let rows = qual.len() / cols;
    let column_flagged = |c: usize| (0..rows).filter(|r| qual[r * cols + c] != 0).count();
    println!(
        "ALFOSC QUAL: pixel [0,0] = {}, flagged rows in columns 0..4: {:?} of {rows}, {} in all",
        qual[0],
        (0..4).map(column_flagged).collect::<Vec<_>>(),
        qual.iter().filter(|&&q| q != 0).count()
    );
    assert_eq!(qual[0], 1, "the wrapped pixel FITS (1,1)");
    assert_eq!(column_flagged(0), rows, "hot column 0");
    assert_eq!(column_flagged(1), rows, "hot column 1");
}

/// Std of (a − b)/√2 over columns `cols` of 2112-wide frames, leaving out `skip`.
fn difference_std(
    a: &[f64],
    b: &[f64],
    cols: std::ops::Range<usize>,
    skip: impl Fn(usize, usize) -> bool,
) -> f64 {
    let values: Vec<f64> = (0..a.len())
        .filter(|p| cols.contains(&(p % 2112)) && !skip(p / 2112, p % 2112))
        .map(|p| (a[p] - b[p]) / 2f64.sqrt())
        .collect();
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64).sqrt()
}

/// The cosmic-ray-like hit of b14 (0-based rows 86–88, columns 631–632).
fn in_hit(row: usize, col: usize) -> bool {
    (86..=88).contains(&row) && (631..=632).contains(&col)
}

#[test]
#[ignore = "needs ../shared/realdata (real raw frames); .ci/run includes it when present"]
fn kast_per_amplifier_ron_and_the_cosmic_hit() {
    let realdata = common::realdata();
    let raw = realdata.join("lick-kast-blue");
    let dir = tempfile::tempdir().unwrap();
    let settings = settings_file(dir.path());
    let run = |name: &str, extra: &[&str]| stack(&raw, &settings, &dir.path().join(name), extra);

    let (doc, both) = run("both", &[]);
    assert_eq!(doc["profile"], "lick-kast-blue");
    assert_eq!(doc["frames"].as_array().unwrap().len(), 10);
    assert_eq!(both.frames.len(), 10);
    // The frames' clipped medians in the window (astropy sigma_clip 4σ ×3): 953 for b14,
    // 954 for the nine others.
    let level = mbias_qc(&both, "LEVEL MEDIAN") / KAST_GAIN;
    println!("Kast LEVEL MEDIAN {level:.3} ADU");
    assert!((level - 954.0).abs() <= 0.5, "{level}");
    let (_, amp1) = run("amp1", &["--set", "profile=kast-amp1"]);
    let (_, amp2) = run("amp2", &["--set", "profile=kast-amp2"]);

    // The README's amplifier-1 figure, 3.15 ADU, is the plain std of (b14 − b15)/√2, and
    // b14's cosmic hit is in it: the same std without those six pixels is the reference.
    let b14: Vec<f64> = image(&raw.join("b14.fits"), 0);
    let b15: Vec<f64> = image(&raw.join("b15.fits"), 0);
    let plain = difference_std(&b14, &b15, 0..1024, |_, _| false);
    let clean = difference_std(&b14, &b15, 0..1024, in_hit);
    let (ron1, ron2) = (mbias_qc(&amp1, "RON DIFF"), mbias_qc(&amp2, "RON DIFF"));
    println!(
        "Kast RON DIFF: both amplifiers {}; amp 1 {} (b14−b15 std {:.4} e- with the hit, \
         {:.4} e- without); amp 2 {} (README {:.4} e-)",
        ron_diff(&both),
        ron_diff(&amp1),
        plain * KAST_GAIN,
        clean * KAST_GAIN,
        ron_diff(&amp2),
        KAST_AMP2_RON_ADU * KAST_GAIN
    );
    assert!(
        within(plain, 3.15, 0.01),
        "the README's amp 1 figure: {plain}"
    );
    assert!(within(ron1, clean * KAST_GAIN, 0.05), "{ron1} vs {clean}");
    assert!(within(ron2, KAST_AMP2_RON_ADU * KAST_GAIN, 0.05), "{ron2}");

    // The hit must not reach the master: there it stays within a few times the master's
    // per-pixel noise (a frame's RON over √10) of the pixels around it.
    let path = PathBuf::from(doc["product"].as_str().unwrap());
    let flux: Vec<f32> = image(&path, "FLUX");
    let cols = 2048;
    let mut around: Vec<f64> = (80..95)
        .flat_map(|r| (620..645).map(move |c| (r, c)))
        .filter(|&(r, c)| !in_hit(r, c))
        .map(|(r, c)| f64::from(flux[r * cols + c]))
        .collect();
    around.sort_by(f64::total_cmp);
    let median = around[around.len() / 2];
    let master_noise = mbias_qc(&both, "RON DIFF") / 10f64.sqrt();
    let worst = (86..=88)
        .flat_map(|r| (631..=632).map(move |c| (r, c)))
        .map(|(r, c)| (f64::from(flux[r * cols + c]) - median).abs())
        .fold(0.0, f64::max);
    println!(
        "Kast master at the b14 hit: largest offset {worst:.3} e- from the local median \
         {median:.3} e- (master noise {master_noise:.3} e-)"
    );
    assert!(worst < 4.0 * master_noise, "{worst} e-");
}

#[test]
#[ignore = "needs ../shared/realdata (real raw frames); .ci/run includes it when present"]
fn kast_amplifiers_have_their_own_levels_and_read_noise() {
    let realdata = common::realdata();
    let raw = realdata.join("lick-kast-blue");
    let dir = tempfile::tempdir().unwrap();
    let settings = settings_file(dir.path());
    let (doc, product) = stack(&raw, &settings, &dir.path().join("amps"), &[]);
    let amps = doc["amplifiers"].as_array().expect("per-amplifier QC");
    assert_eq!(amps.len(), 2);
    let b14: Vec<f64> = image(&raw.join("b14.fits"), 0);
    let b15: Vec<f64> = image(&raw.join("b15.fits"), 0);
    // (name, level ADU, data columns, overscan columns), 0-based.
    let expected = [
        ("A1", 944.0, 0..1024, 2048..2080),
        ("A2", 966.0, 1024..2048, 2080..2112),
    ];
    for (amp, (name, level, data, overscan)) in amps.iter().zip(expected) {
        let number = |key: &str| amp[key].as_f64().unwrap_or_else(|| panic!("{name} {key}"));
        assert_eq!(amp["name"], name);
        assert!(
            (number("level") - level).abs() <= 0.5,
            "{name} level {}",
            number("level")
        );
        // The reference: the std of (b14 − b15)/√2 from the raw pixels, without b14's
        // cosmic hit (six pixels of amplifier 1), which is not read noise.
        for (what, cols, key) in [
            ("data", data, "ron"),
            ("overscan", overscan, "overscan_ron"),
        ] {
            let reference = difference_std(&b14, &b15, cols, in_hit);
            let measured = number(key) / KAST_GAIN;
            println!("Kast {name} {what} RON {measured:.4} ADU, b14−b15 {reference:.4} ADU");
            assert!(
                within(measured, reference, 0.03),
                "{name} {what}: {measured} vs {reference}"
            );
        }
    }
    assert!((amps[1]["step"].as_f64().unwrap() - 22.0).abs() <= 0.5);
    // The product carries them as MBIAS QC OUTi.
    assert!((mbias_qc(&product, "OUT2 LEVEL") - 966.0).abs() <= 0.5);
    assert_eq!(
        product.header.text("MBIAS QC OUT1 NAME").as_deref(),
        Some("A1")
    );
}

/// The median of finite values.
fn median_of(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        0.5 * (values[n / 2 - 1] + values[n / 2])
    }
}

/// Columns `cols` of a 2112-wide Kast frame.
fn kast_columns(frame: &[f64], cols: std::ops::Range<usize>) -> Vec<f64> {
    (0..frame.len())
        .filter(|p| cols.contains(&(p % 2112)))
        .map(|p| frame[p])
        .collect()
}

#[test]
#[ignore = "needs ../shared/realdata (real raw frames); .ci/run includes it when present"]
fn overscan_correction_takes_each_amplifier_to_its_data_less_its_overscan() {
    let realdata = common::realdata();
    let raw = realdata.join("lick-kast-blue");
    let dir = tempfile::tempdir().unwrap();
    let settings = settings_file(dir.path());
    let set = ["--set", "detectors.lick-kast-blue.overscan=median"];
    let (doc, product) = stack(&raw, &settings, &dir.path().join("median"), &set);
    // An override of one key leaves the profile where it was: it still claims the frames
    // before the one-amplifier profiles that match them too.
    assert_eq!(doc["profile"], "lick-kast-blue");
    // The reference from the raw pixels: per frame, the data median less the overscan
    // median; their median over the ten frames.
    let frames: Vec<Vec<f64>> = (14..=23)
        .map(|i| image(&raw.join(format!("b{i}.fits")), 0))
        .collect();
    let amps = doc["amplifiers"].as_array().unwrap();
    assert_eq!(amps.len(), 2);
    for (amp, (data, overscan)) in amps
        .iter()
        .zip([(0..1024, 2048..2080), (1024..2048, 2080..2112)])
    {
        let reference = median_of(
            frames
                .iter()
                .map(|f| {
                    median_of(kast_columns(f, data.clone()))
                        - median_of(kast_columns(f, overscan.clone()))
                })
                .collect(),
        );
        let level = amp["level"].as_f64().unwrap();
        println!(
            "Kast {} corrected level {level:.3} ADU, data − overscan {reference:.3}",
            amp["name"]
        );
        assert!((level - reference).abs() <= 0.5, "{level} vs {reference}");
    }
    // The product names the method among the recipe's parameters.
    let named = (1..40).any(|n| {
        product
            .header
            .text(&format!("ESO PRO REC1 PARAM{n} NAME"))
            .as_deref()
            == Some("overscan")
            && product
                .header
                .text(&format!("ESO PRO REC1 PARAM{n} VALUE"))
                .as_deref()
                == Some("median")
    });
    assert!(named, "the overscan method is recorded");
}

#[test]
#[ignore = "needs ../shared/realdata (real raw frames); .ci/run includes it when present"]
fn alfosc_has_no_overscan_to_use_and_says_so() {
    let realdata = common::realdata();
    let dir = tempfile::tempdir().unwrap();
    let settings = settings_file(dir.path());
    let alfosc = realdata.join("not-alfosc-1x2");
    let (plain, _) = stack(&alfosc, &settings, &dir.path().join("none"), &[]);
    let out = dir.path().join("median");
    let args = [
        "stack",
        alfosc.to_str().unwrap(),
        "--settings",
        settings.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--json",
        "--set",
        "detectors.not-alfosc.overscan=median",
    ];
    let run = common::mbias(&args);
    assert!(run.status.success(), "{}", common::stderr(&run));
    assert!(
        common::stderr(&run).contains("names no overscan strip")
            && common::stderr(&run).contains("nothing was subtracted"),
        "{}",
        common::stderr(&run)
    );
    let doc: serde_json::Value = serde_json::from_str(&common::stdout(&run)).unwrap();
    let flux = |doc: &serde_json::Value| -> Vec<f32> {
        image(Path::new(doc["product"].as_str().unwrap()), 0)
    };
    assert_eq!(flux(&plain), flux(&doc), "the master is unchanged");
    // The drift the README describes is reported as before.
    assert!(
        doc["qc"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["name"] == "LEVEL DRIFT")
    );
}

#[test]
#[ignore = "needs ../shared/realdata (real raw frames); .ci/run includes it when present"]
fn a_drafted_profile_stacks_its_set_as_it_stands() {
    let realdata = common::realdata();
    for (set, first, name, frames) in [
        ("lick-kast-blue", "b14.fits", "kastb", 10),
        ("not-alfosc-1x2", "ALDc210004.fits", "alfosc-fasu", 5),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let raw = realdata.join(set);
        let run = common::mbias(&["profile", raw.join(first).to_str().unwrap()]);
        assert!(run.status.success(), "{}", common::stderr(&run));
        let draft = common::stdout(&run);
        let settings = dir.path().join("draft.yaml");
        std::fs::write(&settings, &draft).unwrap();
        let (doc, _) = stack(&raw, &settings, &dir.path().join("out"), &[]);
        assert_eq!(doc["profile"], name, "{draft}");
        assert_eq!(doc["frames"].as_array().unwrap().len(), frames, "{draft}");
    }
}
