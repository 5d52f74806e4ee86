//! Agreement with the master biases soxspipe 0.17.4 and 0.19.0 themselves produced
//! (../shared/oracle).

mod common;

use std::path::Path;

use fitsio::FitsFile;
use mbias::params::{Numerics, RecipeVersion};
use mbias::progress::Silent;
use mbias::settings::Settings;

const ORACLE: &str = "oracle/soxs-vis-7";
const SOF: &str = "20251010T091927_VIS_1X1_1_MBIAS_SOXS.sof";

fn read_f32(file: &mut FitsFile, hdu: &str) -> Vec<f32> {
    let h = file.hdu(hdu).expect("HDU present");
    h.read_image(file).expect("image readable")
}

fn read_u8(file: &mut FitsFile, hdu: &str) -> Vec<u8> {
    let h = file.hdu(hdu).expect("HDU present");
    h.read_image(file).expect("image readable")
}

fn qc(file: &mut FitsFile, name: &str) -> f64 {
    let h = file.hdu(0).expect("primary");
    h.read_key::<f64>(file, &format!("HIERARCH ESO QC {name}"))
        .unwrap_or_else(|_| panic!("QC {name} present"))
}

fn bit_differences(a: &[f32], b: &[f32]) -> (usize, f64) {
    assert_eq!(a.len(), b.len());
    let mut n = 0;
    let mut largest = 0f64;
    for (x, y) in a.iter().zip(b) {
        if x.to_bits() != y.to_bits() {
            n += 1;
            largest = largest.max((f64::from(*x) - f64::from(*y)).abs());
        }
    }
    (n, largest)
}

/// Stacks the oracle SOF with `args` and checks the product against soxspipe's in
/// `folder` (below the oracle): FLUX, QUAL and ERRS bit for bit, the QC values equal
/// (STRUCTX/Y and FPN FRACMAX within 1e-11: numpy's `polyfit` solves the slope by SVD,
/// which carries 3e-12 of rounding against the exact least-squares slope mbias computes),
/// and the product keywords soxspipe writes.
fn assert_matches_soxspipe(shared: &Path, args: &[&str], folder: &str) -> FitsFile {
    let oracle = shared.join(ORACLE);
    let out = tempfile::tempdir().unwrap();
    let run = common::mbias(
        &[
            &[
                "stack",
                oracle.join(SOF).to_str().unwrap(),
                "-o",
                out.path().to_str().unwrap(),
            ][..],
            args,
        ]
        .concat(),
    );
    assert!(run.status.success(), "{}", common::stderr(&run));
    let product = out.path().join("20251010T091927_VIS_1X1_1_MBIAS_SOXS.fits");
    assert!(product.is_file(), "product named after the SOF");

    let mut ours = FitsFile::open(&product).unwrap();
    let mut theirs =
        FitsFile::open(oracle.join(folder).join(SOF.replace(".sof", ".fits.gz"))).unwrap();
    let (flux_n, flux_max) =
        bit_differences(&read_f32(&mut ours, "FLUX"), &read_f32(&mut theirs, "FLUX"));
    let (errs_n, errs_max) =
        bit_differences(&read_f32(&mut ours, "ERRS"), &read_f32(&mut theirs, "ERRS"));
    let qual_ours = read_u8(&mut ours, "QUAL");
    let qual_theirs = read_u8(&mut theirs, "QUAL");
    let qual_n = qual_ours
        .iter()
        .zip(&qual_theirs)
        .filter(|(a, b)| a != b)
        .count();
    println!(
        "{folder}: FLUX: {flux_n} pixels differ (largest {flux_max} e-); ERRS: {errs_n} (largest {errs_max}); QUAL: {qual_n}"
    );
    assert_eq!(
        (flux_n, errs_n, qual_n),
        (0, 0, 0),
        "FLUX/ERRS/QUAL bit-identical"
    );

    for name in mbias::qc::SOXSPIPE_QC {
        let (a, b) = (qc(&mut ours, name), qc(&mut theirs, name));
        let rel = (a - b).abs() / b.abs();
        println!("QC {name:<13} soxspipe {b:<22} mbias {a:<22} relative difference {rel:.2e}");
        let tolerance = if ["STRUCTX", "STRUCTY", "FPN FRACMAX"].contains(&name) {
            1e-11
        } else {
            0.0
        };
        assert!(rel <= tolerance, "{name}: {a} vs {b}");
    }
    for key in [
        "ESO PRO CATG",
        "ESO PRO TYPE",
        "ESO PRO TECH",
        "ESO SEQ ARM",
        "BUNIT",
        "DATE-OBS",
    ] {
        let h0 = ours.hdu(0).unwrap();
        let mine: String = h0.read_key(&mut ours, &format!("HIERARCH {key}")).unwrap();
        let h1 = theirs.hdu(0).unwrap();
        let soxs: String = h1
            .read_key(&mut theirs, &format!("HIERARCH {key}"))
            .unwrap();
        assert_eq!(mine.trim(), soxs.trim(), "{key}");
    }
    let h0 = ours.hdu(0).unwrap();
    let count: i64 = h0.read_key(&mut ours, "HIERARCH ESO PRO DATANCOM").unwrap();
    assert_eq!(count, 7, "ESO PRO DATANCOM");
    ours
}

/// The text of a header card's value as written.
fn card_text(file: &mut FitsFile, key: &str) -> String {
    let h = file.hdu(0).unwrap();
    h.read_key::<String>(file, &format!("HIERARCH {key}"))
        .unwrap_or_default()
}

#[test]
#[ignore = "needs ../shared (the soxspipe oracle data); .ci/run includes it when present"]
fn soxspipe_019_defaults_give_soxspipe_019s_product() {
    let mut ours = assert_matches_soxspipe(&common::shared(), &[], "soxspipe-0.19/default");
    // 0.19 writes its QC table's counts as floats.
    assert_eq!(card_text(&mut ours, "ESO QC BADPIX NUM"), "19327.0");
}

#[test]
#[ignore = "needs ../shared (the soxspipe oracle data); .ci/run includes it when present"]
fn soxspipe_019_with_017_sigmas_gives_that_product() {
    assert_matches_soxspipe(
        &common::shared(),
        &[
            "--set",
            "frame-clipping-sigma=4",
            "--set",
            "stacked-clipping-sigma=3",
        ],
        "soxspipe-0.19/sigmas-0.17",
    );
}

#[test]
#[ignore = "needs ../shared (the soxspipe oracle data); .ci/run includes it when present"]
fn soxspipe_017_recipe_still_gives_soxspipe_0174s_product() {
    let mut ours = assert_matches_soxspipe(
        &common::shared(),
        &["--recipe", "soxspipe-0.17"],
        "soxspipe",
    );
    assert_eq!(card_text(&mut ours, "ESO QC BADPIX NUM"), "5397");
}

#[test]
#[ignore = "needs ../shared (the soxspipe oracle data); .ci/run includes it when present"]
fn exact_numerics_qc_matches_the_float64_reference() {
    let shared = common::shared();
    let oracle = shared.join(ORACLE);
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(oracle.join("expected.json")).unwrap())
            .unwrap();
    let reference = &expected["exact_numerics_reference"];

    // The reference was made with soxspipe 0.17.4's clip values.
    let settings = Settings {
        numerics: Some(Numerics::Exact),
        recipe_version: Some(RecipeVersion::Soxspipe017),
        ..Settings::default()
    };
    let (_, verification) = mbias::pipeline::validate(&[oracle.join(SOF)], &settings).unwrap();
    let plan = verification.plan.as_ref().expect("oracle set verifies");
    let resolved = mbias::pipeline::resolve(&settings, plan).unwrap();
    let loaded = mbias::pipeline::load(plan, &resolved, &Silent).unwrap();
    let outcome = mbias::pipeline::stack(&loaded, &resolved, &Silent).unwrap();

    let clipped: Vec<u64> = outcome
        .master
        .frames
        .iter()
        .map(|f| f.frame_clipped as u64)
        .collect();
    let want: Vec<u64> = reference["per_frame_n_clipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(clipped, want, "per-frame clip counts");
    for (name, tolerance) in [
        ("MBIAS MEDIAN", 1e-5),
        ("RAW RON", 1e-5),
        ("MASTER RON", 1e-4),
        ("STRUCTX", 2e-2),
        ("STRUCTY", 2e-2),
        ("BADPIX NUM", 2e-3),
        ("FPN FRACMAX", 1e-4),
    ] {
        let ours = outcome.qc.get(name).unwrap().value;
        let theirs = reference["qc"][name].as_f64().unwrap();
        let rel = (ours - theirs).abs() / theirs.abs();
        println!(
            "exact QC {name:<13} reference {theirs:<22} mbias {ours:<22} relative difference {rel:.2e}"
        );
        assert!(rel <= tolerance, "{name}: {ours} vs {theirs}");
    }
}

#[test]
#[ignore = "needs ../shared (the soxspipe oracle data); .ci/run includes it when present"]
fn relative_sof_paths_resolve_from_another_folder() {
    let shared = common::shared();
    // The SOF's paths are relative to its own folder; run from elsewhere.
    let sof = shared.join(ORACLE).join(SOF);
    let run = common::mbias(&["validate", sof.to_str().unwrap()]);
    assert!(run.status.success(), "{}", common::stdout(&run));
    assert!(common::stdout(&run).contains("ok: 7 bias frame(s), soxs-vis 1x1, gain 1.4"));
    assert!(Path::new(&sof).is_file());
}
