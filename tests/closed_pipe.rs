//! Every command that prints, into a pipe whose reader has gone (`mbias qc P | head -1`):
//! it ends quietly, as a Unix tool that SIGPIPE ends, with status 141 (128 + SIGPIPE),
//! no panic and no backtrace, and leaves no half-written file.
//!
//! The pipe's read end is closed before the child starts, so every write the child makes
//! fails: the strict case, and one that does not depend on timing.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::testcam::{self, SETTINGS};

/// What a shell reports for a tool that SIGPIPE ended.
const CLOSED_PIPE: i32 = 141;

/// Runs mbias with its standard output into a pipe nobody reads.
fn into_closed_pipe(args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    Command::new(env!("CARGO_BIN_EXE_mbias"))
        .args(args)
        .env_remove("MBIAS_SETTINGS")
        .env("XDG_CONFIG_HOME", "/nonexistent-mbias-test-config")
        .env("MBIAS_HISTORY", "off")
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("the mbias binary runs")
}

/// Ended quietly with the closed pipe's status: nothing on stderr but `expected_stderr`.
fn assert_quiet(run: &Output, expected_stderr: &[&str]) {
    let stderr = common::stderr(run);
    assert_eq!(run.status.code(), Some(CLOSED_PIPE), "{stderr}");
    for line in stderr.lines() {
        assert!(
            expected_stderr.iter().any(|e| line.contains(e)),
            "unexpected on stderr: {line}\n{stderr}"
        );
    }
}

/// Five small frames of `testcam`, its settings file and an output folder.
struct Night {
    root: tempfile::TempDir,
}

impl Night {
    fn new() -> Night {
        let root = tempfile::tempdir().unwrap();
        let raw = root.path().join("raw");
        std::fs::create_dir(&raw).unwrap();
        for i in 0..5 {
            testcam::u16_frame(&raw, i);
        }
        std::fs::write(root.path().join("settings.yaml"), SETTINGS).unwrap();
        Night { root }
    }

    fn path(&self, name: &str) -> String {
        self.root.path().join(name).to_string_lossy().into_owned()
    }

    /// `mbias stack` with the settings, into `out`, with `extra` arguments.
    fn stack(&self, out: &str, extra: &[&str]) -> Output {
        let (raw, out, settings) = (self.path("raw"), self.path(out), self.path("settings.yaml"));
        let args = [&["stack", &raw, "-o", &out, "--settings", &settings], extra].concat();
        into_closed_pipe(&args)
    }

    /// A product written with stdout open, for `mbias qc`.
    fn product(&self) -> PathBuf {
        let run = common::mbias(&[
            "stack",
            &self.path("raw"),
            "-o",
            &self.path("product"),
            "--settings",
            &self.path("settings.yaml"),
        ]);
        assert!(run.status.success(), "{}", common::stderr(&run));
        only_file(&self.root.path().join("product"))
    }
}

/// The files in `dir`; none when it does not exist.
fn files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| entries.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default()
}

/// The one product in `dir`, beside at most its QC plot.
fn only_file(dir: &Path) -> PathBuf {
    let files = files(dir);
    let (products, others): (Vec<PathBuf>, Vec<PathBuf>) = files
        .iter()
        .cloned()
        .partition(|f| f.extension().is_some_and(|e| e == "fits"));
    assert_eq!(products.len(), 1, "{files:?}");
    assert!(others.iter().all(|f| is_plot(f)), "{files:?}");
    products[0].clone()
}

fn is_plot(path: &Path) -> bool {
    path.to_string_lossy()
        .ends_with("_BIAS_DISTRIBUTION_QC_PLOT.svg")
}

/// Every HDU of `path` passes its CHECKSUM and DATASUM: the file is complete.
fn assert_complete(path: &Path) {
    let mut file = fitsio::FitsFile::open(path).unwrap();
    let mut hdus = 0;
    while file.hdu(hdus).is_ok() {
        let (mut data_ok, mut hdu_ok, mut status) = (0, 0, 0);
        // SAFETY: the file is open and positioned on HDU `hdus` by `hdu()` above.
        unsafe { fitsio::sys::ffvcks(file.as_raw(), &mut data_ok, &mut hdu_ok, &mut status) };
        assert_eq!((status, data_ok, hdu_ok), (0, 1, 1), "HDU {hdus}");
        hdus += 1;
    }
    assert_eq!(hdus, 3, "FLUX, QUAL, ERRS");
}

#[test]
fn stack_text_stops_quietly_and_leaves_a_complete_product_or_none() {
    let night = Night::new();
    let run = night.stack("out", &[]);
    assert_quiet(&run, &[]);
    // Stopped before writing (at a finding) or after (at the QC table): never between.
    let written = files(Path::new(&night.path("out")));
    let products: Vec<&PathBuf> = written.iter().filter(|f| !is_plot(f)).collect();
    assert!(products.len() <= 1, "no temporary file left: {written:?}");
    products.iter().for_each(|product| assert_complete(product));
}

#[test]
fn stack_json_stops_quietly_after_writing_a_complete_product() {
    let night = Night::new();
    let run = night.stack("out", &["--json"]);
    assert_quiet(&run, &[]);
    assert_complete(&only_file(Path::new(&night.path("out"))));
}

#[test]
fn qc_text_and_json_stop_quietly() {
    let night = Night::new();
    let product = night.product();
    let product = product.to_str().unwrap();
    let settings = night.path("settings.yaml");
    for json in [&[][..], &["--json"]] {
        let args = [&["qc", product, "--settings", &settings], json].concat();
        assert_quiet(&into_closed_pipe(&args), &[]);
    }
}

#[test]
fn validate_text_and_json_stop_quietly() {
    let night = Night::new();
    let (raw, settings) = (night.path("raw"), night.path("settings.yaml"));
    for json in [&[][..], &["--json"]] {
        let args = [&["validate", &raw, "--settings", &settings], json].concat();
        assert_quiet(&into_closed_pipe(&args), &[]);
    }
}

#[test]
fn simulate_stops_quietly_with_its_frames_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sim");
    let run = into_closed_pipe(&[
        "simulate",
        "-o",
        out.to_str().unwrap(),
        "--profile",
        "sim-mef",
        "--frames",
        "1",
    ]);
    assert_quiet(&run, &[]);
    let frame = only_file(&out);
    assert!(mbias::fits::read_frame_header(&frame).is_ok(), "{frame:?}");
}

#[test]
fn headless_demo_stops_quietly_and_removes_its_folder() {
    let run = into_closed_pipe(&["demo"]);
    assert_quiet(&run, &["simulating a night"]);
    let stderr = common::stderr(&run);
    let folder = stderr
        .split_whitespace()
        .find(|w| w.contains("mbias-demo-"))
        .unwrap_or_else(|| panic!("the demo names its folder: {stderr}"));
    assert!(!Path::new(folder).exists(), "{folder} removed");
}

#[test]
fn bench_stops_quietly_before_any_workload() {
    let run = into_closed_pipe(&["bench", "--workload", "w1", "--repeats", "1"]);
    assert_quiet(&run, &[]);
}

#[test]
fn help_and_version_stop_quietly() {
    for flag in ["--help", "--version"] {
        let run = into_closed_pipe(&[flag]);
        let stderr = common::stderr(&run);
        assert!(!stderr.contains("panicked"), "{flag}: {stderr}");
        assert_eq!(run.status.code(), Some(CLOSED_PIPE), "{flag}: {stderr}");
    }
}
