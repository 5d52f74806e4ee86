//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test crate uses a different subset

use std::path::PathBuf;
use std::process::{Command, Output};

/// `../shared` beside the project, or `None` after printing why the test is skipped.
pub fn shared(test: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if dir.join("oracle/soxs-vis-7/expected.json").is_file() {
        Some(dir)
    } else {
        println!("SKIPPED {test}: ../shared (the soxspipe oracle data) is not beside the project");
        None
    }
}

pub fn mbias(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mbias"))
        .args(args)
        .env_remove("MBIAS_SETTINGS")
        .env("XDG_CONFIG_HOME", "/nonexistent-mbias-test-config")
        .output()
        .expect("the mbias binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `../shared/realdata` beside the project, or `None` after printing why the test is skipped.
pub fn realdata(test: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/realdata");
    if dir.join("not-alfosc-1x2").is_dir() && dir.join("lick-kast-blue").is_dir() {
        Some(dir)
    } else {
        println!(
            "SKIPPED {test}: ../shared/realdata (the real raw frames) is not beside the project"
        );
        None
    }
}

/// Settings text holding the commented-out `detectors:` block of settings.example.yaml,
/// uncommented as the file tells a user to: "# " removed from every line from
/// `detectors:` to the end of the file.
pub fn example_detectors() -> String {
    let mut text = String::from("mbias:\n");
    let mut inside = false;
    for line in mbias::settings::EXAMPLE.lines() {
        let body = line.trim_start();
        inside |= body == "# detectors:";
        if !inside {
            continue;
        }
        let Some(rest) = body.strip_prefix("# ") else {
            break;
        };
        text.push_str(&line[..line.len() - body.len()]);
        text.push_str(rest);
        text.push('\n');
    }
    text
}
