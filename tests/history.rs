//! The QC history end to end: nights of a small generic CCD stacked with `mbias stack`
//! into one history, the last night's detector worse; `mbias trend` scores it outside,
//! `mbias history import` adds a product once and skips what is not one.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::testcam::{COLS, ROWS, SETTINGS};
use fitsio::FitsFile;
use fitsio::images::{ImageDescription, ImageType};

const NIGHTS: usize = 8;
const FRAMES: usize = 3;

/// mbias with the test environment and the history in `history`.
fn mbias_with(history: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mbias"))
        .args(args)
        .env_remove("MBIAS_SETTINGS")
        .env("XDG_CONFIG_HOME", "/nonexistent-mbias-test-config")
        .env("MBIAS_HISTORY", history)
        .output()
        .expect("the mbias binary runs")
}

/// Frame `k` of night `night`: a level drifting by 0.2 ADU a night and noise of ±4 ADU;
/// on the last night the level jumps by 30 ADU and the noise triples.
fn write_night_frame(path: &Path, night: usize, k: usize) {
    let worse = night == NIGHTS - 1;
    let (jump, scale) = if worse { (30.0, 3.0) } else { (0.0, 1.0) };
    let values: Vec<u16> = (0..ROWS * COLS)
        .map(|p| {
            let noise =
                ((p * 7919 + (night * FRAMES + k) * 104_729) % 97) as f32 / 97.0 * 8.0 - 4.0;
            (1000.0 + night as f32 * 0.2 + jump + noise * scale).round() as u16
        })
        .collect();
    let description = ImageDescription {
        data_type: ImageType::UnsignedShort,
        dimensions: &[ROWS, COLS],
    };
    let mut file = FitsFile::create(path)
        .with_custom_primary(&description)
        .open()
        .unwrap();
    let hdu = file.primary_hdu().unwrap();
    let day = 10 + night;
    hdu.write_key(&mut file, "INSTRUME", "TESTCAM").unwrap();
    hdu.write_key(&mut file, "IMAGETYP", "BIAS").unwrap();
    hdu.write_key(&mut file, "EXPTIME", 0.0f64).unwrap();
    hdu.write_key(&mut file, "GAIN", 1.5f64).unwrap();
    hdu.write_key(&mut file, "RDNOISE", 4.5f64).unwrap();
    let date = format!("2025-10-{day:02}T23:0{k}:00.000");
    hdu.write_key(&mut file, "DATE-OBS", date.as_str()).unwrap();
    hdu.write_image(&mut file, &values).unwrap();
}

/// `mbias stack RAW -o OUT --settings SETTINGS --json` with the history in `history`:
/// its JSON document, once it has succeeded.
fn stack_json(history: &Path, raw: &Path, out: &Path, settings: &Path) -> serde_json::Value {
    let run = mbias_with(
        history,
        &[
            "stack",
            raw.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--settings",
            settings.to_str().unwrap(),
            "--json",
        ],
    );
    assert!(run.status.success(), "{}", common::stderr(&run));
    serde_json::from_slice(&run.stdout).unwrap()
}

/// Stacks every night into `products/night<N>/`, recording each in `history`.
fn stack_nights(dir: &Path, history: &Path) -> Vec<PathBuf> {
    let settings = dir.join("settings.yaml");
    std::fs::write(&settings, SETTINGS).unwrap();
    (0..NIGHTS)
        .map(|night| {
            let raw = dir.join(format!("raw/night{night}"));
            std::fs::create_dir_all(&raw).unwrap();
            for k in 0..FRAMES {
                write_night_frame(&raw.join(format!("bias{k}.fits")), night, k);
            }
            let out = dir.join(format!("products/night{night}"));
            let doc = stack_json(history, &raw, &out, &settings);
            assert_eq!(doc["history"]["recorded"], "added");
            assert_eq!(doc["history"]["file"].as_str(), history.to_str());
            PathBuf::from(doc["product"].as_str().unwrap())
        })
        .collect()
}

#[test]
fn a_worse_last_night_scores_outside_and_an_import_adds_each_product_once() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history.sqlite");
    let products = stack_nights(dir.path(), &history);
    let settings = dir.path().join("settings.yaml");
    let settings = settings.to_str().unwrap();

    let trend = mbias_with(
        &history,
        &[
            "trend",
            "--settings",
            settings,
            "--json",
            "--fail-on-outside",
        ],
    );
    assert_eq!(trend.status.code(), Some(3), "{}", common::stderr(&trend));
    let doc: serde_json::Value = serde_json::from_slice(&trend.stdout).unwrap();
    let score = |name: &str| {
        let trends = doc["trends"].as_array().unwrap();
        let t = trends.iter().find(|t| t["name"] == name).unwrap();
        assert_eq!(t["points"].as_array().unwrap().len(), NIGHTS);
        assert_eq!(t["setup"]["profile"], "testcam");
        t["score"].as_str().unwrap().to_string()
    };
    // The level jumped by 30 ADU (45 e-) against a drift of 0.3 e- a night.
    assert_eq!(score("MBIAS MEDIAN"), "outside");
    assert_eq!(score("MASTER RON"), "outside");

    // The table and the charts.
    let plots = dir.path().join("charts");
    let table = mbias_with(
        &history,
        &[
            "trend",
            "--settings",
            settings,
            "--qc",
            "master ron",
            "--plot",
            plots.to_str().unwrap(),
        ],
    );
    assert!(table.status.success(), "{}", common::stderr(&table));
    let text = common::stdout(&table);
    assert!(
        text.contains("testcam 1x1") && text.contains("MASTER RON"),
        "{text}"
    );
    assert!(text.contains("outside"), "{text}");
    assert_eq!(
        common::listing(&plots),
        ["TREND_testcam_1x1_MASTER_RON.svg"]
    );

    // Importing the same products (and what is no product) adds nothing.
    std::fs::write(
        dir.path().join("products/corrupt.fits"),
        b"SIMPLE  = not really",
    )
    .unwrap();
    let raw_frame = dir.path().join("raw/night0/bias0.fits");
    let import = mbias_with(
        &history,
        &[
            "history",
            "import",
            dir.path().join("products").to_str().unwrap(),
            raw_frame.to_str().unwrap(),
            "--settings",
            settings,
            "--json",
        ],
    );
    assert!(import.status.success(), "{}", common::stderr(&import));
    let doc: serde_json::Value = serde_json::from_slice(&import.stdout).unwrap();
    assert_eq!(doc["added"].as_array().unwrap().len(), 0);
    assert_eq!(doc["known"].as_array().unwrap().len(), NIGHTS);
    let skipped = doc["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    let stderr = common::stderr(&import);
    assert!(stderr.contains("corrupt.fits"), "{stderr}");
    assert!(stderr.contains("not a master-bias product"), "{stderr}");

    // A fresh history imports them all once, twice over.
    let fresh = dir.path().join("fresh.sqlite");
    for added in [NIGHTS, 0] {
        let import = mbias_with(
            &fresh,
            &[
                "history",
                "import",
                dir.path().join("products").to_str().unwrap(),
                "--settings",
                settings,
                "--json",
            ],
        );
        let doc: serde_json::Value = serde_json::from_slice(&import.stdout).unwrap();
        assert_eq!(doc["added"].as_array().unwrap().len(), added);
    }

    // Certifying the first night's master names it the setup's reference.
    let certify = mbias_with(
        &history,
        &[
            "history",
            "certify",
            products[0].to_str().unwrap(),
            "--settings",
            settings,
        ],
    );
    assert!(certify.status.success(), "{}", common::stderr(&certify));
    assert!(common::stdout(&certify).contains("reference of testcam 1x1"));

    // Against that reference (taken from the history), an ordinary night is accepted and
    // the worse last night rejected, with the exit code --fail-on documents.
    let compare = |product: &Path| {
        mbias_with(
            &history,
            &[
                "compare",
                product.to_str().unwrap(),
                "--settings",
                settings,
                "--fail-on",
                "reject",
                "--json",
            ],
        )
    };
    let ordinary = compare(&products[NIGHTS - 2]);
    assert_eq!(
        ordinary.status.code(),
        Some(0),
        "{}",
        common::stderr(&ordinary)
    );
    let doc: serde_json::Value = serde_json::from_slice(&ordinary.stdout).unwrap();
    assert_eq!(doc["verdict"], "accept", "{doc}");
    assert_eq!(doc["reference"].as_str(), products[0].to_str());
    let worse = compare(&products[NIGHTS - 1]);
    assert_eq!(worse.status.code(), Some(3), "{}", common::stderr(&worse));
    let doc: serde_json::Value = serde_json::from_slice(&worse.stdout).unwrap();
    assert_eq!(doc["verdict"], "reject");
    let reasons = doc["reasons"].to_string();
    assert!(
        reasons.contains("mean") && reasons.contains("noise-ratio"),
        "{reasons}"
    );

    // A history without a reference for the set-up says how to make one.
    let none = mbias_with(
        &dir.path().join("fresh.sqlite"),
        &[
            "compare",
            products[1].to_str().unwrap(),
            "--settings",
            settings,
        ],
    );
    assert_eq!(none.status.code(), Some(1));
    let stderr = common::stderr(&none);
    assert!(
        stderr.contains("no reference master of testcam 1x1"),
        "{stderr}"
    );
    assert!(stderr.contains("mbias history certify"), "{stderr}");
}

#[test]
fn an_off_history_records_nothing_and_a_missing_one_is_not_made() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    std::fs::create_dir_all(&raw).unwrap();
    for k in 0..FRAMES {
        write_night_frame(&raw.join(format!("bias{k}.fits")), 0, k);
    }
    let settings = dir.path().join("settings.yaml");
    std::fs::write(&settings, SETTINGS).unwrap();
    let out = dir.path().join("out");
    let doc = stack_json(Path::new("off"), &raw, &out, &settings);
    assert!(doc["history"].is_null(), "{doc}");
    assert_eq!(common::listing(dir.path()), ["out", "raw", "settings.yaml"]);

    let off = mbias_with(Path::new("off"), &["trend"]);
    assert_eq!(off.status.code(), Some(1));
    assert!(
        common::stderr(&off).contains("switched off"),
        "{}",
        common::stderr(&off)
    );
    // A mistyped history is reported, not created empty.
    let typo = dir.path().join("histroy.sqlite");
    let missing = mbias_with(&typo, &["trend"]);
    assert_eq!(missing.status.code(), Some(1));
    let stderr = common::stderr(&missing);
    assert!(stderr.contains("no QC history at"), "{stderr}");
    assert!(!typo.exists());
}

#[test]
#[ignore = "needs ../shared (the soxspipe oracle data); .ci/run includes it when present"]
fn soxspipes_own_masters_import_with_their_set_up_night_and_release() {
    let oracle = common::shared().join("oracle/soxs-vis-7");
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history.sqlite");
    let import = mbias_with(
        &history,
        &["history", "import", oracle.to_str().unwrap(), "--json"],
    );
    assert!(import.status.success(), "{}", common::stderr(&import));
    let doc: serde_json::Value = serde_json::from_slice(&import.stdout).unwrap();
    // The three masters (0.17.4, 0.19 default, 0.19 with 0.17's σ), compressed as they
    // are; the seven raw frames beside them are no products.
    assert_eq!(doc["added"].as_array().unwrap().len(), 3, "{doc}");
    assert_eq!(doc["skipped"].as_array().unwrap().len(), 7, "{doc}");
    let trend = mbias_with(&history, &["trend", "--qc", "raw ron", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&trend.stdout).unwrap();
    // 0.17.4's RAW RON is another quantity than 0.19's: each release is a series.
    let trends = doc["trends"].as_array().unwrap();
    let points = |recipe: &str| {
        let series = trends.iter().find(|t| t["recipe"] == recipe).unwrap();
        assert_eq!(series["setup"]["profile"], "soxs-vis");
        assert_eq!(series["setup"]["binning"], "1x1");
        assert_eq!(series["setup"]["read_speed"], "1");
        let points = series["points"].as_array().unwrap().clone();
        assert!(
            points.iter().all(|p| p["night"] == "2025-10-09"),
            "{points:?}"
        );
        points.len()
    };
    assert_eq!((points("soxspipe-0.17"), points("soxspipe-0.19")), (1, 2));
}
