//! The suite's own conventions, checked so they cannot quietly lapse.

use std::path::Path;

/// Every test that reads `../shared` is ignored with a reason naming it, so a plain
/// `cargo test` lists it as ignored instead of passing it silently; `.ci/run` includes
/// those tests whenever `../shared` is there.
#[test]
fn tests_that_need_shared_are_ignored_with_the_reason_and_ci_includes_them() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for entry in std::fs::read_dir(root.join("tests")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") || path.ends_with("suite.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if !(line.contains("common::shared()") || line.contains("common::realdata()")) {
                continue;
            }
            let start = lines[..i]
                .iter()
                .rposition(|l| l.starts_with("fn "))
                .unwrap_or_else(|| panic!("{}:{}: outside a test", path.display(), i + 1));
            assert!(
                start > 0 && lines[start - 1].starts_with("#[ignore = \"needs ../shared"),
                "{}:{}: a test reading ../shared must be #[ignore = \"needs ../shared …\"]",
                path.display(),
                start + 1
            );
            checked += 1;
        }
    }
    assert!(checked >= 6, "found only {checked} tests reading ../shared");
    let ci = std::fs::read_to_string(root.join(".ci/run")).unwrap();
    assert!(
        ci.contains("../shared") && ci.contains("--include-ignored"),
        ".ci/run runs the ignored tests when ../shared is present"
    );
}
