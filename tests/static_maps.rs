//! soxspipe's static bad-pixel maps: found under `mbias.static-calibrations` by arm and
//! binning, used where soxspipe uses them (FPN FRACMAX's block means, 0.19's RAW RON),
//! named in the reports, and refused with a clear message when they do not fit.

mod common;

use std::path::Path;

use common::{mbias, stderr, stdout};
use fitsio::FitsFile;
use fitsio::images::{ImageDescription, ImageType};
use mbias::detector;
use mbias::simulate::{self, Spec};

/// A map of `rows × cols` with every 7th column of the first 100 rows bad.
fn write_map(path: &Path, rows: usize, cols: usize) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let description = ImageDescription {
        data_type: ImageType::UnsignedByte,
        dimensions: &[rows, cols],
    };
    let mut file = FitsFile::create(path)
        .with_custom_primary(&description)
        .open()
        .unwrap();
    let hdu = file.primary_hdu().unwrap();
    let values: Vec<u8> = (0..rows * cols)
        .map(|p| u8::from(p / cols < 100 && (p % cols).is_multiple_of(7)) * 128)
        .collect();
    hdu.write_image(&mut file, &values).unwrap();
}

fn qc(doc: &serde_json::Value, name: &str) -> f64 {
    doc["qc"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {doc}"))["value"]
        .as_f64()
        .unwrap()
}

#[test]
fn an_x_shooter_map_is_found_used_named_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    let profile = detector::by_name("xsh-vis").unwrap();
    simulate::simulate(&raw, &Spec::biases(profile, 3, 5)).unwrap();
    let raw = raw.to_str().unwrap();
    let calibrations = dir.path().join("static_calibrations");
    let set_calibrations = format!("mbias.static-calibrations={}", calibrations.display());
    let out = dir.path().join("out");
    let stack = |extra: &[&str]| {
        let args = [
            &["stack", raw, "-o", out.to_str().unwrap(), "--overwrite"][..],
            extra,
        ]
        .concat();
        mbias(&args)
    };

    // Without a map: a warning, in validate and in stack.
    let validate = mbias(&["validate", raw]);
    assert!(
        stdout(&validate).contains("no static bad-pixel map for xsh-vis"),
        "{}",
        stdout(&validate)
    );
    let plain = stack(&["--json"]);
    assert_eq!(plain.status.code(), Some(0), "{}", stderr(&plain));
    assert!(stderr(&plain).contains("FPN FRACMAX will not match soxspipe's"));
    let plain: serde_json::Value = serde_json::from_str(&stdout(&plain)).unwrap();

    // A named folder without the file: refused, naming the file soxspipe would take.
    let missing = stack(&["--set", &set_calibrations]);
    assert_eq!(missing.status.code(), Some(1), "{}", stderr(&missing));
    assert!(
        stderr(&missing).contains("BP_MAP_RP_VIS_1x1.fits"),
        "{}",
        stderr(&missing)
    );

    // A map of the wrong size: refused with both sizes.
    let map = calibrations.join("xsh/BP_MAP_RP_VIS_1x1.fits");
    write_map(&map, 100, 100);
    let wrong = stack(&["--set", &set_calibrations]);
    assert_eq!(wrong.status.code(), Some(1), "{}", stderr(&wrong));
    assert!(
        stderr(&wrong)
            .contains("the bad-pixel map is 100×100 pixels, the science window 4000×2048"),
        "{}",
        stderr(&wrong)
    );

    // The right map: named, and FPN FRACMAX and 0.19's RAW RON leave its pixels out,
    // while the master itself does not change (soxspipe's clip mask replaces the map).
    std::fs::remove_file(&map).unwrap();
    write_map(&map, 4000, 2048);
    let validate = mbias(&["validate", raw, "--set", &set_calibrations]);
    assert!(
        stdout(&validate).contains("bad-pixel map: "),
        "{}",
        stdout(&validate)
    );
    let text = stack(&["--set", &set_calibrations]);
    assert!(
        stdout(&text).contains("BP_MAP_RP_VIS_1x1.fits (29300 bad pixels)"),
        "{}",
        stdout(&text)
    );
    let mapped = stack(&["--json", "--set", &set_calibrations]);
    let mapped: serde_json::Value = serde_json::from_str(&stdout(&mapped)).unwrap();
    assert_ne!(qc(&mapped, "FPN FRACMAX"), qc(&plain, "FPN FRACMAX"));
    assert_ne!(qc(&mapped, "RAW RON"), qc(&plain, "RAW RON"));
    assert_eq!(qc(&mapped, "MASTER RON"), qc(&plain, "MASTER RON"));
    assert_eq!(qc(&mapped, "BADPIX NUM"), qc(&plain, "BADPIX NUM"));
    assert!(
        mapped["bad_pixel_map"]
            .as_str()
            .unwrap()
            .ends_with("BP_MAP_RP_VIS_1x1.fits")
    );
}
