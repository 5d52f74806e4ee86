//! The `mbias` binary as a user runs it: exit codes, messages, files left behind.

mod common;

use std::path::{Path, PathBuf};

use common::{mbias, stderr, stdout};
use mbias::detector;
use mbias::simulate::{self, Exposure, Spec};

fn soxs() -> &'static detector::Profile {
    detector::by_name("soxs-vis").unwrap()
}

fn bias_set(dir: &Path, frames: usize) -> Vec<PathBuf> {
    simulate::simulate(dir, &Spec::biases(soxs(), frames, 7)).unwrap()
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn validate_names_each_problem_in_a_mixed_folder() {
    let dir = tempfile::tempdir().unwrap();
    bias_set(dir.path(), 5);
    let flat = simulate::simulate(
        dir.path(),
        &Spec {
            exposure: Exposure::Flat,
            frames: 1,
            start_offset_s: 3600,
            ..Spec::biases(soxs(), 1, 8)
        },
    )
    .unwrap();
    let binned = simulate::simulate(
        dir.path(),
        &Spec {
            binning: (2, 2),
            frames: 1,
            start_offset_s: 7200,
            ..Spec::biases(soxs(), 1, 9)
        },
    )
    .unwrap();
    std::fs::write(dir.path().join("observing-log.txt"), "night notes").unwrap();
    std::fs::write(dir.path().join("SOXS.broken.fits"), "this is not FITS").unwrap();

    let run = mbias(&["validate", dir.path().to_str().unwrap()]);
    let out = stdout(&run);
    assert_eq!(run.status.code(), Some(1), "{out}");
    let line_with = |needle: &str| {
        out.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_default()
            .to_string()
    };
    let flat_name = flat[0].file_name().unwrap().to_str().unwrap();
    assert!(line_with(flat_name).contains("not a bias frame"), "{out}");
    assert!(line_with(flat_name).contains("FLAT"), "{out}");
    let binned_name = binned[0].file_name().unwrap().to_str().unwrap();
    assert!(line_with(binned_name).contains("binning is 2x2"), "{out}");
    assert!(out.contains("binning differs: 1x1 ×5, 2x2 ×1"), "{out}");
    assert!(line_with("SOXS.broken.fits").contains("error"), "{out}");
    assert!(
        line_with("observing-log.txt").contains("not a FITS file name"),
        "{out}"
    );

    let json = mbias(&["validate", "--json", dir.path().to_str().unwrap()]);
    assert_eq!(json.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(doc["ok"], false);
    let problems: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["problem"].as_str().unwrap())
        .collect();
    for p in ["not-bias", "binning-differs", "unreadable", "not-fits-name"] {
        assert!(problems.contains(&p), "{p} in {problems:?}");
    }
}

#[test]
fn stack_writes_once_and_never_overwrites_without_asking() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    bias_set(&raw, 5);
    let out = dir.path().join("out");
    let args = ["stack", raw.to_str().unwrap(), "-o", out.to_str().unwrap()];

    let first = mbias(&args);
    assert!(first.status.success(), "{}", stderr(&first));
    let name = "20251010T091927_VIS_1X1_1_MBIAS_SOXS.fits";
    assert!(stdout(&first).contains(name));
    assert!(stdout(&first).contains("MBIAS MEDIAN"));
    let plot = "20251010T091927_VIS_1X1_1_MBIAS_SOXS_BIAS_DISTRIBUTION_QC_PLOT.svg";
    assert_eq!(
        entries(&out),
        vec![name.to_string(), plot.to_string()],
        "the product and its QC plot, no temporary file left"
    );
    assert!(stdout(&first).contains(&format!("wrote {}", out.join(plot).display())));
    let before = std::fs::read(out.join(name)).unwrap();

    let second = mbias(&args);
    assert_eq!(second.status.code(), Some(1));
    assert!(
        stderr(&second).contains("already exists; overwrite not requested\nhint: use --overwrite"),
        "{}",
        stderr(&second)
    );
    assert_eq!(
        std::fs::read(out.join(name)).unwrap(),
        before,
        "existing product untouched"
    );
    assert_eq!(entries(&out), vec![name.to_string(), plot.to_string()]);

    let third = mbias(&[&args[..], &["--overwrite"]].concat());
    assert!(third.status.success(), "{}", stderr(&third));
    assert_eq!(entries(&out), vec![name.to_string(), plot.to_string()]);

    let qc = mbias(&["qc", "--json", out.join(name).to_str().unwrap()]);
    assert!(qc.status.success());
    let doc: serde_json::Value = serde_json::from_str(&stdout(&qc)).unwrap();
    let names: Vec<&str> = doc["qc"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["name"].as_str().unwrap())
        .collect();
    for q in mbias::qc::SOXSPIPE_QC {
        assert!(names.contains(&q), "{q} in {names:?}");
    }
}

#[test]
fn mbias_qc_values_have_their_own_keywords_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    bias_set(&raw, 5);
    let out = dir.path().join("out");
    let run = mbias(&[
        "stack",
        raw.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--json",
        "--set",
        "soxs-mbias.qc-acceptable-ranges={ron-diff: [0, 0.01]}",
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let stacked: serde_json::Value = serde_json::from_str(&stdout(&run)).unwrap();
    let product = PathBuf::from(stacked["product"].as_str().unwrap());
    let by_name = |doc: &serde_json::Value, name: &str| {
        doc["qc"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} in {doc}"))
    };
    let ron = by_name(&stacked, "RON DIFF");
    assert_eq!(ron["origin"], "mbias");
    assert_eq!(ron["pass"], false, "ron-diff names its range");
    assert_eq!(
        by_name(&stacked, "LEVEL DRIFT")["pass"],
        serde_json::Value::Null
    );
    let frames = stacked["frames"].as_array().unwrap();
    assert_eq!(frames.len(), 5);
    for f in frames {
        let fraction = f["rejected_fraction"].as_f64().unwrap();
        assert!((0.0..1.0).contains(&fraction), "{f}");
    }

    let mut fits = fitsio::FitsFile::open(&product).unwrap();
    let primary = fits.primary_hdu().unwrap();
    let key = |fits: &mut fitsio::FitsFile, k: &str| primary.read_key::<f64>(fits, k);
    assert!(key(&mut fits, "HIERARCH MBIAS QC RON DIFF").is_ok());
    assert!(key(&mut fits, "HIERARCH ESO QC RON DIFF").is_err());
    assert!(key(&mut fits, "HIERARCH MBIAS QC FRAME5 REJFRAC").is_ok());
    let level1 = key(&mut fits, "HIERARCH MBIAS QC FRAME1 LEVEL").unwrap();
    assert_eq!(level1, frames[0]["level"].as_f64().unwrap());

    let qc = mbias(&["qc", "--json", product.to_str().unwrap()]);
    assert!(qc.status.success(), "{}", stderr(&qc));
    let read: serde_json::Value = serde_json::from_str(&stdout(&qc)).unwrap();
    let names: Vec<&str> = read["qc"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["name"].as_str().unwrap())
        .collect();
    let reported: Vec<&str> = stacked["qc"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, reported, "every value stack reported, in its order");
    assert!(names.contains(&"DETECTOR TEMP"), "{names:?}");
    let temperature = key(&mut fits, "HIERARCH MBIAS QC DETECTOR TEMP");
    assert!(
        temperature.is_ok(),
        "soxspipe's table-only values under MBIAS QC"
    );
    assert!(key(&mut fits, "HIERARCH ESO QC DETECTOR TEMP").is_err());
    for name in mbias::qc::MBIAS_QC {
        let written = by_name(&stacked, name)["value"].as_f64().unwrap();
        assert_eq!(
            by_name(&read, name)["value"].as_f64().unwrap(),
            written,
            "{name}"
        );
    }
    let read_frames = read["frames"].as_array().unwrap();
    assert_eq!(read_frames.len(), 5);
    for (a, b) in read_frames.iter().zip(frames) {
        assert_eq!(a["name"], b["name"]);
        assert_eq!(a["level"], b["level"]);
        assert_eq!(a["rejected_fraction"], b["rejected_fraction"]);
    }

    let text = stdout(&mbias(&["qc", product.to_str().unwrap()]));
    assert!(
        text.contains("PATTERN AMP") && text.contains("rejected"),
        "{text}"
    );
    let first = frames[0]["name"].as_str().unwrap();
    assert!(text.lines().any(|l| l.starts_with(first)), "{text}");
}

/// The QC table and the frame table of a command's text output: each from its header
/// line to the blank line after it.
fn tables(out: &str) -> [Vec<&str>; 2] {
    ["QC ", "frame "].map(|header| {
        out.lines()
            .skip_while(|l| !l.starts_with(header))
            .take_while(|l| !l.is_empty())
            .collect()
    })
}

#[test]
fn qc_prints_the_lines_stack_printed_for_the_same_product() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    bias_set(&raw, 3);
    let out = dir.path().join("out");
    let stack = mbias(&["stack", raw.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert!(stack.status.success(), "{}", stderr(&stack));
    let product = out.join(&entries(&out)[0]);
    let qc = mbias(&["qc", product.to_str().unwrap()]);
    assert!(qc.status.success(), "{}", stderr(&qc));
    let (stacked, read) = (stdout(&stack), stdout(&qc));
    let [qc_table, frame_table] = tables(&stacked);
    for row in ["MBIAS MEDIAN", "BADPIX NUM", "DETECTOR TEMP", "PATTERN AMP"] {
        assert!(
            qc_table.iter().any(|l| l.starts_with(row)),
            "{row}: {stacked}"
        );
    }
    assert_eq!(frame_table.len(), 4, "{stacked}");
    assert_eq!(tables(&read), [qc_table, frame_table], "{read}");
}

#[test]
fn stack_json_settings_overrides_and_qc_failure_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    bias_set(&raw, 5);
    let out = dir.path().join("out");
    let run = mbias(&[
        "stack",
        raw.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--json",
        "--numerics",
        "exact",
        "--set",
        "stacked-clipping-sigma=4.5",
        "--set",
        "soxs-mbias.qc-acceptable-ranges={master-ron: [0, 0.01]}",
        "--fail-on-qc",
    ]);
    assert_eq!(run.status.code(), Some(3), "{}", stderr(&run));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&run)).unwrap();
    assert_eq!(doc["settings"]["numerics"], "exact");
    assert_eq!(doc["settings"]["params"]["stacked-clipping-sigma"], 4.5);
    assert_eq!(doc["frames"].as_array().unwrap().len(), 5);
    let master_ron = doc["qc"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"] == "MASTER RON")
        .unwrap();
    assert_eq!(master_ron["pass"], false);
    assert!(
        Path::new(doc["product"].as_str().unwrap()).is_file(),
        "product still written, as soxspipe does"
    );
}

#[test]
fn bad_settings_and_usage_errors_have_their_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    bias_set(dir.path(), 1);
    let d = dir.path().to_str().unwrap();
    let zero = mbias(&["stack", d, "-o", d, "--set", "stacked-clipping-sigma=0"]);
    assert_eq!(zero.status.code(), Some(1));
    assert!(
        stderr(&zero).contains("stacked-clipping-sigma is '0', expected a number greater than 0"),
        "{}",
        stderr(&zero)
    );

    let settings = dir.path().join("bad.yaml");
    std::fs::write(
        &settings,
        "soxs-mbias:\n    frame-clipping-iterations: lots\n",
    )
    .unwrap();
    let bad = mbias(&["stack", d, "--settings", settings.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(1));
    let e = stderr(&bad);
    assert!(
        e.contains("bad.yaml") && e.contains("soxs-mbias.frame-clipping-iterations"),
        "{e}"
    );

    assert_eq!(
        mbias(&["stack"]).status.code(),
        Some(2),
        "missing inputs is a usage error"
    );
    assert_eq!(
        mbias(&["stack", d, "--numerics", "fast"]).status.code(),
        Some(2)
    );
    let missing = mbias(&["validate", "/no/such/folder"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("/no/such/folder"));
    assert!(
        entries(dir.path())
            .iter()
            .all(|n| n.ends_with(".fits") || n == "bad.yaml")
    );
}

#[test]
fn one_frame_stacks_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    bias_set(dir.path(), 1);
    let out = dir.path().join("out");
    let run = mbias(&[
        "stack",
        dir.path().to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(
        stdout(&run).contains("warning: only 1 bias frame(s)"),
        "{}",
        stdout(&run)
    );
}

#[test]
fn simulate_then_validate() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("xsh");
    let sim = mbias(&[
        "simulate",
        "-o",
        d.to_str().unwrap(),
        "--profile",
        "xsh-uvb",
        "--frames",
        "3",
        "--seed",
        "4",
    ]);
    assert!(sim.status.success(), "{}", stderr(&sim));
    assert_eq!(stdout(&sim).lines().count(), 3);
    let v = mbias(&["validate", d.to_str().unwrap()]);
    assert!(v.status.success(), "{}", stdout(&v));
    assert!(stdout(&v).contains("xsh-uvb"), "{}", stdout(&v));
    assert_eq!(
        mbias(&["simulate", "--out", "x", "--profile", "xsh-nir"])
            .status
            .code(),
        Some(2)
    );
}

/// The codes of the README's exit-code table: its first column, and the numbers its
/// meanings name (130 for Ctrl-C …).
fn readme_exit_codes() -> Vec<String> {
    let readme = include_str!("../README.md");
    let rows = readme
        .lines()
        .skip_while(|l| !l.starts_with("| exit code"))
        .skip(2)
        .take_while(|l| l.starts_with('|'));
    let mut codes = Vec::new();
    for row in rows {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        codes.push(cells[1].to_string());
        let numbers = cells[2]
            .split(|c: char| !c.is_ascii_digit())
            .filter(|w| w.len() == 3);
        codes.extend(numbers.map(String::from));
    }
    codes
}

#[test]
fn top_level_help_lists_every_exit_code_the_readme_lists() {
    let codes = readme_exit_codes();
    for code in ["0", "1", "2", "3", "128 + N", "130", "143", "129"] {
        assert!(codes.iter().any(|c| c == code), "{code} in {codes:?}");
    }
    let help = stdout(&mbias(&["--help"]));
    let listed = help
        .split_once("Exit codes:")
        .map(|(_, list)| list)
        .unwrap_or_else(|| panic!("an exit-code list in {help}"));
    for code in codes {
        let at_line_start = listed.lines().any(|l| {
            l.trim_start()
                .strip_prefix(code.as_str())
                .is_some_and(|rest| rest.starts_with(' '))
        });
        assert!(
            at_line_start || listed.contains(&format!(" {code} ")),
            "exit code {code} in --help:\n{listed}"
        );
    }
}

#[test]
fn every_writing_command_takes_dash_o_output_and_simulate_still_takes_out() {
    for command in [&[][..], &["stack"], &["simulate"]] {
        let help = stdout(&mbias(&[command, &["--help"]].concat()));
        assert!(help.contains("-o, --output <DIR>"), "{command:?}: {help}");
        assert!(!help.contains("--out "), "{command:?}: --out stays hidden");
    }
    let dir = tempfile::tempdir().unwrap();
    for flag in ["--output", "--out"] {
        let d = dir.path().join(flag.trim_start_matches('-'));
        let sim = mbias(&["simulate", flag, d.to_str().unwrap(), "--frames", "1"]);
        assert!(sim.status.success(), "{flag}: {}", stderr(&sim));
        assert_eq!(entries(&d).len(), 1, "{flag}");
    }
}

#[test]
fn simulated_generic_frames_stack_without_a_settings_file() {
    let dir = tempfile::tempdir().unwrap();
    for (profile, tag) in [("sim-mef", "SIM-MEF"), ("sim-4k", "SIM-4K")] {
        let raw = dir.path().join(profile);
        let raw_dir = raw.to_str().unwrap();
        let sim = mbias(&[
            "simulate",
            "-o",
            raw_dir,
            "--profile",
            profile,
            "--frames",
            "2",
        ]);
        assert!(sim.status.success(), "{profile}: {}", stderr(&sim));
        assert_eq!(stderr(&sim), "", "{profile}: nothing to set up");
        let out = dir.path().join(format!("{profile}-out"));
        let run = mbias(&["stack", raw.to_str().unwrap(), "-o", out.to_str().unwrap()]);
        assert!(run.status.success(), "{profile}: {}", stderr(&run));
        assert!(
            stdout(&run).contains(&format!(", {profile}")),
            "{}",
            stdout(&run)
        );
        assert!(entries(&out)[0].ends_with(&format!("_MBIAS_{tag}.fits")));
    }
}

/// What the README shows of `mbias demo` without a terminal.
const DEMO_OUTPUT: &str = "assets/demo-output.txt";

/// `mbias demo` without a terminal prints what `assets/demo-output.txt` shows, its
/// temporary folder's name aside. `UPDATE_DEMO_OUTPUT=1` rewrites the file instead.
#[test]
fn demo_simulates_validates_and_stacks_as_its_asset_shows() {
    let run = mbias(&["demo"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let out = stdout(&run);
    assert!(out.contains("not a bias frame"), "{out}");
    assert!(out.contains("binning differs"), "{out}");
    assert!(out.contains("stacking the 7 valid bias frames"), "{out}");
    assert!(out.contains("MBIAS MEDIAN"), "{out}");

    let said = stderr(&run);
    let folder = said
        .split_whitespace()
        .find(|w| w.contains("mbias-demo-"))
        .unwrap_or_else(|| panic!("the demo names its folder: {said}"));
    let shown = out.replace(folder, "/tmp/mbias-demo-XXXXXX");
    let asset = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEMO_OUTPUT);
    if std::env::var_os("UPDATE_DEMO_OUTPUT").is_some() {
        std::fs::write(&asset, &shown).unwrap();
    }
    let expected = std::fs::read_to_string(&asset).unwrap();
    assert!(
        expected == shown,
        "{DEMO_OUTPUT} is not what `mbias demo` prints; UPDATE_DEMO_OUTPUT=1 \
         cargo test --release --test cli demo rewrites it.\n--- {DEMO_OUTPUT}\n{expected}\n--- mbias demo\n{shown}"
    );
}

fn stack_sigma(args: &[&str], env: &[(&str, &Path)]) -> f64 {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mbias"));
    cmd.args(args)
        .env_remove("MBIAS_SETTINGS")
        .env("XDG_CONFIG_HOME", "/nonexistent-mbias-test-config")
        .env("MBIAS_HISTORY", "off");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let run = cmd.output().unwrap();
    assert!(run.status.success(), "{}", stderr(&run));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&run)).unwrap();
    doc["settings"]["params"]["stacked-clipping-sigma"]
        .as_f64()
        .unwrap()
}

#[test]
fn settings_lookup_order_flag_then_env_then_config_folder() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    bias_set(&raw, 2);
    let config = dir.path().join("config");
    std::fs::create_dir_all(config.join("mbias")).unwrap();
    std::fs::write(
        config.join("mbias/settings.yaml"),
        "soxs-mbias:\n    stacked-clipping-sigma: 3.25\n",
    )
    .unwrap();
    let env_file = dir.path().join("env.yaml");
    std::fs::write(&env_file, "soxs-mbias:\n    stacked-clipping-sigma: 3.5\n").unwrap();
    let flag_file = dir.path().join("flag.yaml");
    std::fs::write(
        &flag_file,
        "soxs-mbias:\n    stacked-clipping-sigma: 3.75\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let base = [
        "stack",
        raw.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--json",
        "--overwrite",
    ];

    assert_eq!(
        stack_sigma(&base, &[]),
        4.0,
        "built-in default (soxspipe 0.19)"
    );
    assert_eq!(
        stack_sigma(&base, &[("XDG_CONFIG_HOME", &config)]),
        3.25,
        "user config folder"
    );
    let env = [
        ("XDG_CONFIG_HOME", config.as_path()),
        ("MBIAS_SETTINGS", env_file.as_path()),
    ];
    assert_eq!(
        stack_sigma(&base, &env),
        3.5,
        "MBIAS_SETTINGS beats the config folder"
    );
    let with_flag = [&base[..], &["--settings", flag_file.to_str().unwrap()]].concat();
    assert_eq!(
        stack_sigma(&with_flag, &env),
        3.75,
        "--settings beats everything"
    );
    let with_set = [&with_flag[..], &["--set", "stacked-clipping-sigma=2"]].concat();
    assert_eq!(
        stack_sigma(&with_set, &env),
        2.0,
        "--set overrides the file"
    );
}

#[test]
fn an_input_frame_is_never_written() {
    let dir = tempfile::tempdir().unwrap();
    let frames = bias_set(dir.path(), 2);
    // A raw frame that happens to carry the product's name, in the output folder.
    let name = "20251010T091927_VIS_1X1_1_MBIAS_SOXS.fits";
    let decoy = dir.path().join(name);
    std::fs::copy(&frames[0], &decoy).unwrap();
    let before = std::fs::read(&decoy).unwrap();
    let d = dir.path().to_str().unwrap();
    let run = mbias(&["stack", d, "-o", d, "--overwrite"]);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        stderr(&run).contains("is one of the input frames"),
        "{}",
        stderr(&run)
    );
    assert_eq!(std::fs::read(&decoy).unwrap(), before);
    assert_eq!(entries(dir.path()).len(), 3, "no temporary file left");
}

#[test]
fn the_console_needs_a_terminal_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let run = mbias(&[dir.path().to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        stderr(&run).contains("the console needs a terminal"),
        "{}",
        stderr(&run)
    );
    let missing = mbias(&["/no/such/night"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("/no/such/night"));
}
