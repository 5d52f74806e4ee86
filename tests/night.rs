//! A night folder through the binary: biases of two setups beside a flat, a damaged frame,
//! a corrupt file and a note. Plain `stack` refuses it, as soxspipe would; `--select valid`
//! stacks what verification has nothing against and says what it left out; `--group`
//! makes one master per setup; `validate --group` checks each setup on its own.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::testcam::{self, Data};
use common::{mbias, stderr, stdout};

/// `testcam`, reading its binning and read-out mode from the header.
fn settings(dir: &Path) -> PathBuf {
    let path = dir.join("night.yaml");
    let text = format!(
        "{}            binning: CCDSUM\n            read-speed: READMODE\n",
        testcam::SETTINGS
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// Frame `index` of a setup: `binning` 1 or 2, with the read-out mode that goes with it.
fn frame(dir: &Path, name: &str, index: usize, binning: usize, rows: usize, kind: &str) {
    let (sum, mode) = if binning == 1 {
        ("1 1", "FAST")
    } else {
        ("2 2", "SLOW")
    };
    let cols = testcam::COLS / binning;
    let values = testcam::pixels(index)[..rows * cols]
        .iter()
        .map(|v| v.round() as u16)
        .collect();
    testcam::write_frame_with(
        &dir.join(name),
        index,
        Data::U16(values),
        (rows, cols),
        &[("IMAGETYP", kind), ("CCDSUM", sum), ("READMODE", mode)],
    );
}

/// Six 1x1 FAST biases, four 2x2 SLOW ones and a fifth 2x2 one two rows short, a flat, a
/// file that is not FITS inside and a note.
fn night(dir: &Path) -> PathBuf {
    let night = dir.join("night");
    std::fs::create_dir(&night).unwrap();
    for i in 0..6 {
        frame(
            &night,
            &format!("a-bias{i}.fits"),
            i,
            1,
            testcam::ROWS,
            "BIAS",
        );
    }
    for i in 0..4 {
        let rows = testcam::ROWS / 2;
        frame(&night, &format!("b-bias{i}.fits"), 6 + i, 2, rows, "BIAS");
    }
    frame(&night, "b-short.fits", 10, 2, testcam::ROWS / 2 - 2, "BIAS");
    frame(&night, "flat.fits", 11, 1, testcam::ROWS, "FLAT");
    std::fs::write(night.join("corrupt.fits"), "SIMPLE = this is not FITS").unwrap();
    std::fs::write(night.join("notes.txt"), "seeing 0.8").unwrap();
    night
}

/// The line of `text` naming `file`.
fn line_of<'a>(text: &'a str, file: &str) -> &'a str {
    text.lines()
        .find(|l| l.contains(&format!("/{file}:")))
        .unwrap_or_else(|| panic!("no line for {file} in\n{text}"))
}

fn json(run: &Output) -> serde_json::Value {
    serde_json::from_str(&stdout(run))
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(run), stderr(run)))
}

struct Night {
    _dir: tempfile::TempDir,
    root: PathBuf,
    night: String,
    settings: String,
}

impl Night {
    fn new() -> Night {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        Night {
            night: night(&root).to_string_lossy().into_owned(),
            settings: settings(&root).to_string_lossy().into_owned(),
            root,
            _dir: dir,
        }
    }

    fn run(&self, command: &str, out: &str, extra: &[&str]) -> (Output, PathBuf) {
        let out = self.root.join(out);
        let mut args = vec![command, &self.night, "--settings", &self.settings];
        if command == "stack" {
            args.extend(["-o", out.to_str().unwrap()]);
        }
        args.extend(extra);
        (mbias(&args), out)
    }
}

/// The products in `out` (each has its QC plot beside it).
fn products(out: &std::path::Path) -> Vec<String> {
    common::listing(out)
        .into_iter()
        .filter(|name| name.ends_with(".fits"))
        .collect()
}

#[test]
fn plain_stack_still_refuses_a_mixed_night() {
    let night = Night::new();
    let (run, out) = night.run("stack", "out", &[]);
    assert_eq!(run.status.code(), Some(1), "{}", stdout(&run));
    let text = stdout(&run);
    assert!(
        text.contains("set: binning differs: 1x1 ×6, 2x2 ×5"),
        "{text}"
    );
    assert!(
        line_of(&text, "flat.fits").contains("not a bias frame"),
        "{text}"
    );
    assert!(
        stderr(&run).contains("--select valid") && stderr(&run).contains("--group"),
        "the refusal says what else can be done: {}",
        stderr(&run)
    );
    assert!(common::listing(&out).is_empty());
}

#[test]
fn select_valid_stacks_the_valid_biases_and_says_what_it_left_out() {
    let night = Night::new();
    let (run, out) = night.run("stack", "out", &["--select", "valid"]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let text = stdout(&run);
    assert!(text.contains("left out 8 file(s):"), "{text}");
    assert!(line_of(&text, "flat.fits").contains("not a bias frame"));
    assert!(line_of(&text, "corrupt.fits").contains("FITS"), "{text}");
    assert!(line_of(&text, "notes.txt").contains("not a FITS file name"));
    for file in ["b-bias0.fits", "b-bias3.fits", "b-short.fits"] {
        assert!(line_of(&text, file).contains("binning is 2x2"), "{text}");
    }
    assert!(text.contains("6 frames, testcam"), "{text}");
    assert_eq!(
        products(&out),
        ["20230225T000000_1X1_FAST_MBIAS_TESTCAM.fits"]
    );

    let (run, out) = night.run("stack", "json", &["--select", "valid", "--json"]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let doc = json(&run);
    assert_eq!(doc["frames"].as_array().unwrap().len(), 6);
    let left_out: Vec<&str> = doc["left_out"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["file"].as_str().unwrap())
        .collect();
    assert_eq!(left_out.len(), 8);
    assert!(left_out.iter().any(|f| f.ends_with("/flat.fits")));
    assert_eq!(products(&out).len(), 1);
}

#[test]
fn group_makes_one_master_per_setup_and_exits_with_the_worst() {
    let night = Night::new();
    // The 2x2 group holds the short frame: refused, as a set of its own would be.
    let (run, out) = night.run("stack", "strict", &["--group"]);
    assert_eq!(run.status.code(), Some(1), "{}", stdout(&run));
    let text = stdout(&run);
    assert!(
        text.contains("== group 1 of 2: testcam 1x1, read-out FAST, gain 1.5 e-/ADU: 6 frame(s)"),
        "{text}"
    );
    assert!(
        text.contains("== group 2 of 2: testcam 2x2, read-out SLOW, gain 1.5 e-/ADU: 5 frame(s)"),
        "{text}"
    );
    assert!(
        line_of(&text, "b-short.fits").contains("image size"),
        "{text}"
    );
    assert!(
        line_of(&text, "flat.fits").contains("not a bias frame"),
        "{text}"
    );
    assert!(text.contains("2 group(s):"), "{text}");
    assert!(
        text.contains("testcam 2x2, read-out SLOW, gain 1.5 e-/ADU: not stacked"),
        "{text}"
    );
    assert_eq!(
        products(&out),
        ["20230225T000000_1X1_FAST_MBIAS_TESTCAM.fits"]
    );

    let (run, _) = night.run("stack", "strict-json", &["--group", "--json"]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let doc = json(&run);
    assert!(doc["groups"][0]["product"].is_string(), "{doc}");
    let refused = &doc["groups"][1];
    assert!(
        refused["error"].as_str().unwrap().contains("verification"),
        "{doc}"
    );
    assert_eq!(refused["findings"][0]["problem"], "shape-differs", "{doc}");

    // Valid frames only, group by group: both setups stack, each under its own name.
    let (run, out) = night.run("stack", "both", &["--group", "--select", "valid"]);
    assert_eq!(run.status.code(), Some(0), "{}", stdout(&run));
    let text = stdout(&run);
    let names = products(&out);
    assert_eq!(
        names,
        [
            "20230225T000000_1X1_FAST_MBIAS_TESTCAM.fits",
            "20230225T000600_2X2_SLOW_MBIAS_TESTCAM.fits"
        ]
    );
    assert!(
        line_of(&text, "b-short.fits").contains("image size"),
        "{text}"
    );
    assert_eq!(
        text.matches("\nQC ").count(),
        2,
        "one QC table per group: {text}"
    );
    for (setup, frames, name) in [
        ("1x1, read-out FAST", "6 frame(s)", &names[0]),
        ("2x2, read-out SLOW", "4 frame(s)", &names[1]),
    ] {
        let summary = text
            .lines()
            .find(|l| l.contains(setup) && l.contains(" → "))
            .unwrap_or_else(|| panic!("summary of {setup} in {text}"));
        assert!(
            summary.contains(frames) && summary.contains(name.as_str()),
            "{summary}"
        );
    }

    // JSON: one document per group; a QC range out of bounds in any group decides.
    let (run, _) = night.run(
        "stack",
        "json",
        &[
            "--group",
            "--select",
            "valid",
            "--json",
            "--fail-on-qc",
            "--set",
            "qc-acceptable-ranges.master-ron=[0, 0.001]",
        ],
    );
    assert_eq!(run.status.code(), Some(3), "{}", stderr(&run));
    let doc = json(&run);
    let groups = doc["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0]["setup"]["binning"], "1x1");
    assert_eq!(groups[1]["setup"]["read_speed"], "SLOW");
    for group in groups {
        assert!(group["qc_failures"].as_u64().unwrap() > 0, "{group}");
        assert!(Path::new(group["product"].as_str().unwrap()).is_file());
    }
    assert!(doc["left_out"].as_array().unwrap().len() >= 3);
}

#[test]
fn validate_group_reports_each_setup() {
    let night = Night::new();
    let (run, _) = night.run("validate", "", &["--group"]);
    assert_eq!(run.status.code(), Some(1), "{}", stdout(&run));
    let text = stdout(&run);
    assert!(text.contains("left out 3 file(s):"), "{text}");
    assert!(line_of(&text, "corrupt.fits").contains("FITS"), "{text}");
    let first = text.find("== group 1 of 2").expect("group 1");
    let second = text.find("== group 2 of 2").expect("group 2");
    assert!(
        text[first..second].contains("ok: 6 bias frame(s), testcam 1x1"),
        "{text}"
    );
    assert!(text[second..].contains("not stackable"), "{text}");
    assert!(line_of(&text[second..], "b-short.fits").contains("image size"));

    let (run, _) = night.run("validate", "", &["--group", "--json"]);
    assert_eq!(run.status.code(), Some(1));
    let doc = json(&run);
    assert_eq!(doc["ok"], false);
    let groups = doc["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(
        (groups[0]["ok"].clone(), groups[1]["ok"].clone()),
        (true.into(), false.into())
    );
    assert_eq!(groups[0]["frames"].as_array().unwrap().len(), 6);
    assert_eq!(groups[1]["setup"]["binning"], "2x2");
    assert_eq!(doc["left_out"].as_array().unwrap().len(), 3);
}
