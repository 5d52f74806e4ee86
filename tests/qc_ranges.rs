//! QC ranges through the binary: a user's range replaces the range of that name only
//! (in a settings file, in its arm block, after `--set`), `stack` and `qc` judge alike, and
//! a key or range name nothing reads is refused with the known names.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{mbias, stderr, stdout};
use mbias::detector;
use mbias::simulate::{self, Spec};

fn soxs_biases(dir: &Path) -> PathBuf {
    let profile = detector::by_name("soxs-vis").unwrap();
    simulate::simulate(dir, &Spec::biases(profile, 5, 7)).unwrap();
    dir.to_path_buf()
}

fn json(run: &Output) -> serde_json::Value {
    serde_json::from_str(&stdout(run))
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(run), stderr(run)))
}

/// The range and verdict of QC `name` in a `stack --json` or `qc --json` document.
fn row(doc: &serde_json::Value, name: &str) -> (serde_json::Value, serde_json::Value) {
    let row = doc["qc"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {doc}"));
    (row["range"].clone(), row["pass"].clone())
}

fn range(low: f64, high: f64) -> serde_json::Value {
    serde_json::json!({ "low": low, "high": high })
}

#[test]
fn user_ranges_merge_with_the_built_in_ones_in_stack_and_qc() {
    let dir = tempfile::tempdir().unwrap();
    let raw = soxs_biases(&dir.path().join("raw"));
    let raw = raw.to_str().unwrap();
    let out = dir.path().join("out");
    let stack = |extra: &[&str]| {
        let args = [
            &["stack", raw, "-o", out.to_str().unwrap(), "--overwrite"][..],
            &["--json", "--fail-on-qc"],
            extra,
        ]
        .concat();
        mbias(&args)
    };

    // A violated user range fails; the built-in ranges it does not name still judge.
    let tight = stack(&[
        "--set",
        "qc-acceptable-ranges.master-ron=[0, 0.01]",
        "--set",
        "mbias.rejection=noise-model",
    ]);
    assert_eq!(tight.status.code(), Some(3), "{}", stderr(&tight));
    let doc = json(&tight);
    assert_eq!(doc["settings"]["rejection"], "noise-model");
    assert_eq!(row(&doc, "MASTER RON"), (range(0.0, 0.01), false.into()));
    assert_eq!(row(&doc, "STRUCTY"), (range(-0.8, 0.8), true.into()));
    assert_eq!(row(&doc, "RAW RON").0, range(0.0, 15.0));
    let product = doc["product"].as_str().unwrap().to_string();

    // A loose user range passes, and nothing else fails on these frames.
    let loose = stack(&["--set", "qc-acceptable-ranges.master-ron=[0, 100]"]);
    assert_eq!(loose.status.code(), Some(0), "{}", stderr(&loose));
    assert_eq!(row(&json(&loose), "MASTER RON").0, range(0.0, 100.0));

    // A settings file's top-level range survives its arm block's and a --set's.
    let settings = dir.path().join("ranges.yaml");
    std::fs::write(
        &settings,
        "soxs-mbias:\n    qc-acceptable-ranges:\n        master-ron: [0, 0.01]\n    vis:\n        qc-acceptable-ranges:\n            raw-ron: [0, 100]\n",
    )
    .unwrap();
    let settings = settings.to_str().unwrap();
    let from_file = stack(&[
        "--settings",
        settings,
        "--set",
        "qc-acceptable-ranges.structy=[-1, 1]",
    ]);
    assert_eq!(from_file.status.code(), Some(3), "{}", stderr(&from_file));
    let doc = json(&from_file);
    assert_eq!(row(&doc, "MASTER RON"), (range(0.0, 0.01), false.into()));
    assert_eq!(row(&doc, "RAW RON").0, range(0.0, 100.0));
    assert_eq!(row(&doc, "STRUCTY").0, range(-1.0, 1.0));
    assert_eq!(row(&doc, "MBIAS MEDIAN").0, range(0.0, 2000.0));

    // `mbias qc` reads the same ranges the same way.
    let qc =
        |extra: &[&str]| mbias(&[&["qc", &product, "--json", "--fail-on-qc"][..], extra].concat());
    let plain = qc(&[]);
    assert_eq!(plain.status.code(), Some(0), "{}", stdout(&plain));
    assert_eq!(row(&json(&plain), "STRUCTY").0, range(-0.8, 0.8));
    let tight = qc(&["--set", "qc-acceptable-ranges.master-ron=[0, 0.01]"]);
    assert_eq!(tight.status.code(), Some(3), "{}", stdout(&tight));
    assert_eq!(row(&json(&tight), "STRUCTY").0, range(-0.8, 0.8));
    let loose = qc(&["--set", "qc-acceptable-ranges.master-ron=[0, 100]"]);
    assert_eq!(loose.status.code(), Some(0), "{}", stdout(&loose));
    // As in the file, an arm's range is more specific than the top level's: a --set of
    // the top-level range leaves the arm's, a --set of the arm's replaces it.
    for (set, raw_ron) in [
        ("qc-acceptable-ranges.raw-ron=[0, 50]", range(0.0, 100.0)),
        ("vis.qc-acceptable-ranges.raw-ron=[0, 50]", range(0.0, 50.0)),
    ] {
        let from_file = qc(&["--settings", settings, "--set", set]);
        assert_eq!(from_file.status.code(), Some(3), "{}", stdout(&from_file));
        let doc = json(&from_file);
        assert_eq!(row(&doc, "MASTER RON"), (range(0.0, 0.01), false.into()));
        assert_eq!(row(&doc, "RAW RON").0, raw_ron, "{set}");
        assert_eq!(row(&doc, "STRUCTX").0, range(-5.0, 5.0));
    }

    // A product made as soxspipe 0.17 makes it is judged by 0.17's ranges, unless asked.
    let old = stack(&["--recipe", "soxspipe-0.17"]);
    let old_doc = json(&old);
    assert_eq!(row(&old_doc, "STRUCTY").0, range(-0.01, 0.6));
    let old_product = old_doc["product"].as_str().unwrap().to_string();
    let judged = mbias(&["qc", &old_product, "--json"]);
    assert_eq!(row(&json(&judged), "STRUCTY").0, range(-0.01, 0.6));
    let asked = mbias(&["qc", &old_product, "--json", "--recipe", "soxspipe-0.19"]);
    assert_eq!(row(&json(&asked), "STRUCTY").0, range(-0.8, 0.8));
}

#[test]
fn unknown_keys_and_range_names_are_refused_with_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let raw = soxs_biases(&dir.path().join("raw"));
    let raw = raw.to_str().unwrap();
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    for (set, unknown, known) in [
        (
            "qc-acceptable-ranges.mastr-ron=[0, 5]",
            "mastr-ron",
            "master-ron",
        ),
        ("mastr-ron=[0, 5]", "mastr-ron", "qc-acceptable-ranges"),
        ("mbias.rejecton=noise-model", "rejecton", "rejection"),
        ("soxs-mbias.vsi.frame-clipping-sigma=3", "vsi", "vis"),
    ] {
        for command in [
            vec!["stack", raw, "-o", out, "--fail-on-qc"],
            vec!["validate", raw],
        ] {
            let run = mbias(&[&command[..], &["--set", set]].concat());
            let e = stderr(&run);
            assert_eq!(run.status.code(), Some(1), "{command:?} --set {set}: {e}");
            assert!(e.contains(unknown) && e.contains(known), "{set}: {e}");
        }
    }
    assert!(!Path::new(out).exists(), "nothing stacked");

    // In a settings file an unknown range name is a warning: soxspipe ignores it, and a
    // file written for another soxspipe version must still load.
    let settings = dir.path().join("typo.yaml");
    std::fs::write(
        &settings,
        "soxs-mbias:\n    qc-acceptable-ranges:\n        mastr-ron: [0, 5]\n",
    )
    .unwrap();
    let run = mbias(&["validate", raw, "--settings", settings.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let e = stderr(&run);
    assert!(
        e.contains("warning") && e.contains("mastr-ron") && e.contains("master-ron"),
        "{e}"
    );
}
