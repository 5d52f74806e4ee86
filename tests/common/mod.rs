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
