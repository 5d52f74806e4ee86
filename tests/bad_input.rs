//! The bad-input corpus of `spec/product.md` §6, generated here (no binaries committed):
//! each case runs `mbias validate` and `mbias stack` as a user would, and checks the exit
//! code, that the message names the file and the problem, that nothing panicked, and
//! what the output folder holds afterwards (no product where it failed, never a
//! temporary file).
//!
//! The frames are small frames of a generic CCD (`common::testcam`), so the whole corpus
//! runs in seconds.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::testcam::{COLS, Data, SETTINGS, f32_frame, u16_frame, write_frame};
use common::{stderr, stdout};
use fitsio::FitsFile;

/// What a case must end in.
#[derive(Clone, Copy)]
struct Expect {
    validate: i32,
    stack: i32,
    /// In the output of both commands (validate's only when it fails).
    names: &'static str,
    /// The problem, in the output of the command that fails (or warns).
    says: &'static str,
}

const fn fails(names: &'static str, says: &'static str) -> Expect {
    Expect {
        validate: 1,
        stack: 1,
        names,
        says,
    }
}

const fn warns(names: &'static str, says: &'static str) -> Expect {
    Expect {
        validate: 0,
        stack: 0,
        names,
        says,
    }
}

/// Five good 16-bit frames.
fn good_set(dir: &Path) -> Vec<PathBuf> {
    (0..5).map(|i| u16_frame(dir, i)).collect()
}

/// Overwrites the header card of `key` in a written file with `card`.
fn edit_card(path: &Path, key: &str, card: &str) {
    let mut bytes = std::fs::read(path).unwrap();
    let at = (0..2880)
        .step_by(80)
        .find(|&at| bytes[at..at + 8] == *format!("{key:<8}").as_bytes())
        .unwrap_or_else(|| panic!("{key} in {}", path.display()));
    bytes[at..at + 80].copy_from_slice(format!("{card:<80}").as_bytes());
    std::fs::write(path, bytes).unwrap();
}

/// Replaces `frame` by its gzip (`gz`) or Unix-compressed (`Z`) copy, and returns the copy.
fn compressed(frame: PathBuf, suffix: &str) -> PathBuf {
    let bytes = std::fs::read(&frame).unwrap();
    let packed = match suffix {
        "gz" => {
            use std::io::Write;
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(&bytes).unwrap();
            encoder.finish().unwrap()
        }
        _ => common::unix_compress(&bytes),
    };
    let path = frame.with_extension(format!("fits.{suffix}"));
    std::fs::write(&path, packed).unwrap();
    std::fs::remove_file(&frame).unwrap();
    path
}

/// A case's folder: `raw/` for the frames, `out/` for the product, `settings.yaml`.
struct Case {
    root: tempfile::TempDir,
}

impl Case {
    fn new() -> Case {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("raw")).unwrap();
        std::fs::write(root.path().join("settings.yaml"), SETTINGS).unwrap();
        Case { root }
    }

    fn raw(&self) -> PathBuf {
        self.root.path().join("raw")
    }

    fn out(&self) -> PathBuf {
        self.root.path().join("out")
    }

    fn settings(&self) -> PathBuf {
        self.root.path().join("settings.yaml")
    }
}

/// Runs mbias with the test environment, optionally wrapped (`setpriv …`, `sh -c …`).
fn run(wrapper: &[&str], args: &[&OsStr]) -> Output {
    let binary = OsStr::new(env!("CARGO_BIN_EXE_mbias"));
    let mut command = match wrapper.split_first() {
        Some((program, rest)) => {
            let mut c = Command::new(program);
            c.args(rest).arg(binary);
            c
        }
        None => Command::new(binary),
    };
    command
        .args(args)
        .env_remove("MBIAS_SETTINGS")
        .env("XDG_CONFIG_HOME", "/nonexistent-mbias-test-config")
        .env("MBIAS_HISTORY", "off")
        .output()
        .expect("mbias runs")
}

/// `mbias validate` and `mbias stack` on `input`; returns every broken promise.
fn check(
    name: &str,
    case: &Case,
    input: &Path,
    extra: &[&str],
    wrapper: &[&str],
    expect: Expect,
) -> Vec<String> {
    let settings = case.settings();
    let out = case.out();
    let mut common: Vec<&OsStr> = vec![
        input.as_os_str(),
        OsStr::new("--settings"),
        settings.as_os_str(),
    ];
    common.extend(extra.iter().map(OsStr::new));
    let mut problems = Vec::new();
    for (command, code) in [("validate", expect.validate), ("stack", expect.stack)] {
        let mut args: Vec<&OsStr> = vec![OsStr::new(command)];
        args.extend(&common);
        if command == "stack" {
            args.extend([OsStr::new("-o"), out.as_os_str()]);
        }
        let output = run(wrapper, &args);
        let text = format!("{}{}", stdout(&output), stderr(&output));
        let mut fail =
            |what: String| problems.push(format!("{name}, mbias {command}: {what}\n{text}"));
        if output.status.code() != Some(code) {
            fail(format!("exit {:?}, expected {code}", output.status.code()));
        }
        if text.contains("panicked") || output.status.code() == Some(101) {
            fail("panicked".into());
        }
        // validate reads headers only: pixel problems are the stack's to tell.
        let speaks = command == "stack" || code != 0;
        if speaks && !text.contains(expect.names) {
            fail(format!("does not name {}", expect.names));
        }
        if speaks && !text.contains(expect.says) {
            fail(format!("does not say '{}'", expect.says));
        }
    }
    let left = common::listing(&out);
    if left.iter().any(|f| f.starts_with('.')) {
        problems.push(format!("{name}: a temporary file was left: {left:?}"));
    }
    let products = left.iter().filter(|f| f.ends_with(".fits")).count();
    let wanted = usize::from(expect.stack == 0);
    if products != wanted {
        problems.push(format!(
            "{name}: {products} product(s) written, expected {wanted}: {left:?}"
        ));
    }
    problems
}

/// A corpus case: its name, how to fill `raw/`, and what mbias must do with it.
type CorpusCase = (&'static str, fn(&Path), Expect);

fn corpus() -> Vec<CorpusCase> {
    vec![
        (
            "empty file",
            |raw| {
                good_set(raw);
                std::fs::write(raw.join("empty.fits"), b"").unwrap();
            },
            fails("empty.fits", "empty file"),
        ),
        (
            "truncated header",
            |raw| {
                let f = good_set(raw).remove(0);
                let bytes = std::fs::read(&f).unwrap();
                std::fs::write(raw.join("cut.fits"), &bytes[..1000]).unwrap();
            },
            fails("cut.fits", "truncated"),
        ),
        (
            "truncated data",
            |raw| {
                let f = good_set(raw).remove(0);
                let bytes = std::fs::read(&f).unwrap();
                std::fs::write(raw.join("cut.fits"), &bytes[..2880 + 1000]).unwrap();
            },
            fails("cut.fits", "truncated"),
        ),
        (
            "a gzip copy cut short",
            |raw| {
                let packed = compressed(good_set(raw).remove(0), "gz");
                let bytes = std::fs::read(&packed).unwrap();
                std::fs::write(&packed, &bytes[..bytes.len() / 2]).unwrap();
            },
            fails("bias0.fits.gz", "cannot decompress (gzip)"),
        ),
        (
            // Headers read from the start of the stream cannot see it: the stack can.
            "a corrupt gzip copy",
            |raw| {
                let packed = compressed(good_set(raw).remove(0), "gz");
                let mut bytes = std::fs::read(&packed).unwrap();
                let at = bytes.len() - 20;
                bytes[at] ^= 0x5a;
                std::fs::write(&packed, bytes).unwrap();
            },
            Expect {
                validate: 0,
                stack: 1,
                names: "bias0.fits.gz",
                says: "cannot decompress (gzip)",
            },
        ),
        (
            "a .Z copy cut short",
            |raw| {
                let packed = compressed(good_set(raw).remove(0), "Z");
                let bytes = std::fs::read(&packed).unwrap();
                std::fs::write(&packed, &bytes[..bytes.len() / 2]).unwrap();
            },
            fails("bias0.fits.Z", "truncated"),
        ),
        (
            "a corrupt .Z copy",
            |raw| {
                let packed = compressed(good_set(raw).remove(0), "Z");
                let mut bytes = std::fs::read(&packed).unwrap();
                let at = bytes.len() / 2;
                bytes[at..at + 4].fill(0xff);
                std::fs::write(&packed, bytes).unwrap();
            },
            fails("bias0.fits.Z", "cannot decompress (Unix compress)"),
        ),
        (
            "text file named .fits",
            |raw| {
                good_set(raw);
                std::fs::write(raw.join("notes.fits"), "observing log, not an image\n").unwrap();
            },
            fails("notes.fits", "not a FITS file"),
        ),
        (
            "FITS file with no image",
            |raw| {
                good_set(raw);
                let f = raw.join("header-only.fits");
                FitsFile::create(&f).open().unwrap();
            },
            fails("header-only.fits", "no HDU holds a 2-D image"),
        ),
        (
            "BITPIX nonsense",
            |raw| {
                let f = good_set(raw).remove(0);
                edit_card(&f, "BITPIX", "BITPIX  =                   17");
            },
            fails("bias0.fits", "BITPIX"),
        ),
        (
            "NAXIS nonsense",
            |raw| {
                let f = good_set(raw).remove(0);
                edit_card(&f, "NAXIS", "NAXIS   =                   -3");
            },
            fails("bias0.fits", "NAXIS"),
        ),
        (
            "NaN pixels in a float frame",
            |raw| {
                for i in 0..5 {
                    f32_frame(raw, i, |v| {
                        if i == 2 {
                            v[10] = f32::NAN;
                            v[300..356].fill(f32::NAN)
                        }
                    });
                }
            },
            warns("bias2.fits", "57 pixel(s) are NaN or infinite"),
        ),
        (
            "infinite pixels in a float frame",
            |raw| {
                for i in 0..5 {
                    f32_frame(raw, i, |v| {
                        if i == 3 {
                            v[5] = f32::INFINITY;
                            v[6] = f32::NEG_INFINITY
                        }
                    });
                }
            },
            warns("bias3.fits", "2 pixel(s) are NaN or infinite"),
        ),
        (
            "a float frame of NaN only",
            |raw| {
                for i in 0..5 {
                    f32_frame(raw, i, |v| {
                        if i == 1 {
                            v.fill(f32::NAN)
                        }
                    });
                }
            },
            Expect {
                validate: 0,
                stack: 1,
                names: "bias1.fits",
                says: "no finite pixel",
            },
        ),
        (
            "identical frames (MAD = 0)",
            |raw| {
                let f = u16_frame(raw, 0);
                for i in 1..5 {
                    let copy = raw.join(format!("copy{i}.fits"));
                    std::fs::copy(&f, &copy).unwrap();
                    edit_card(
                        &copy,
                        "MJD-OBS",
                        &format!("MJD-OBS =              6000{i}.0"),
                    );
                }
            },
            warns("copy1.fits", "same pixel data as"),
        ),
        (
            "one frame",
            |raw| {
                u16_frame(raw, 0);
            },
            warns("1 bias frame", "soxspipe recommends at least 5"),
        ),
        (
            "two frames",
            |raw| {
                u16_frame(raw, 0);
                u16_frame(raw, 1);
            },
            warns("2 bias frame", "soxspipe recommends at least 5"),
        ),
        (
            "mixed shapes",
            |raw| {
                good_set(raw);
                let values = vec![1000u16; 30 * COLS];
                write_frame(&raw.join("short.fits"), 7, Data::U16(values), (30, COLS));
            },
            fails("short.fits", "image size is"),
        ),
        (
            "a missing required keyword",
            |raw| {
                let f = good_set(raw).remove(0);
                edit_card(&f, "GAIN", "COMMENT gain removed");
            },
            fails("bias0.fits", "keyword GAIN is missing"),
        ),
        (
            "a keyword of the wrong type",
            |raw| {
                let f = good_set(raw).remove(0);
                edit_card(&f, "GAIN", "GAIN    = 'high'");
            },
            fails("bias0.fits", "keyword GAIN is a string"),
        ),
        (
            "a symlink loop",
            |raw| {
                good_set(raw);
                std::os::unix::fs::symlink("loop.fits", raw.join("loop.fits")).unwrap();
            },
            fails("loop.fits", "Too many levels of symbolic links"),
        ),
        (
            "a non-UTF-8 file name",
            |raw| {
                let f = good_set(raw).remove(0);
                let name = OsStr::from_bytes(b"bias-\xff.fits");
                std::fs::copy(&f, raw.join(name)).unwrap();
            },
            fails("bias-\u{fffd}.fits", "not valid UTF-8"),
        ),
        (
            "an empty folder",
            |_| {},
            fails("no bias frames", "no bias frames"),
        ),
    ]
}

#[test]
fn every_corpus_case_ends_in_a_clear_message_and_a_clean_folder() {
    let mut problems = Vec::new();
    for (name, setup, expect) in corpus() {
        let case = Case::new();
        setup(&case.raw());
        problems.extend(check(name, &case, &case.raw(), &[], &[], expect));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn a_sof_naming_missing_files_is_refused() {
    let case = Case::new();
    good_set(&case.raw());
    let sof = case.raw().join("night.sof");
    std::fs::write(&sof, "bias0.fits BIAS\ngone.fits BIAS\n").unwrap();
    let problems = check(
        "SOF",
        &case,
        &sof,
        &[],
        &[],
        fails("gone.fits", "does not exist"),
    );
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn bad_settings_and_parameters_are_refused_naming_the_file_or_key() {
    let cases: [(&str, &str, &[&str], Expect); 8] = [
        (
            "wrong type",
            "soxs-mbias:\n    frame-clipping-sigma: abc\n",
            &[],
            fails(
                "settings.yaml",
                "frame-clipping-sigma is 'abc', expected a number",
            ),
        ),
        (
            "unknown mbias key",
            "    numerix: exact\n",
            &[],
            fails("settings.yaml", "unknown key mbias.numerix"),
        ),
        (
            "zero sigma in the file",
            "soxs-mbias:\n    stacked-clipping-sigma: 0\n",
            &[],
            fails("settings.yaml", "expected a number greater than 0"),
        ),
        (
            "negative sigma in the file",
            "soxs-mbias:\n    frame-clipping-sigma: -3\n",
            &[],
            fails("settings.yaml", "expected a number greater than 0"),
        ),
        (
            "zero iterations in the file",
            "soxs-mbias:\n    stacked-clipping-iterations: 0\n",
            &[],
            fails("settings.yaml", "expected a whole number of at least 1"),
        ),
        (
            "zero sigma on the command line",
            "",
            &["--set", "stacked-clipping-sigma=0"],
            fails("stacked-clipping-sigma", "expected a number greater than 0"),
        ),
        (
            "zero iterations on the command line",
            "",
            &["--set", "frame-clipping-iterations=0"],
            fails(
                "frame-clipping-iterations",
                "expected a whole number of at least 1",
            ),
        ),
        // soxspipe ignores keys it does not know, so a file for a newer soxspipe loads;
        // the typo is still named.
        (
            "unknown soxs-mbias key",
            "soxs-mbias:\n    stacked-clipping-sigmaa: 4\n",
            &[],
            warns(
                "settings.yaml",
                "unknown key soxs-mbias.stacked-clipping-sigmaa is ignored",
            ),
        ),
    ];
    let mut problems = Vec::new();
    for (name, extra_settings, args, expect) in cases {
        let case = Case::new();
        good_set(&case.raw());
        std::fs::write(case.settings(), format!("{SETTINGS}{extra_settings}")).unwrap();
        problems.extend(check(name, &case, &case.raw(), args, &[], expect));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// A wrapper that runs mbias as an unprivileged user when the tests run as root (file
/// permissions do not stop root), or `None` after saying why the case is skipped.
fn unprivileged(case: &Case, test: &str) -> Option<Vec<&'static str>> {
    let probe = case.root.path().join("probe");
    std::fs::write(&probe, b"x").unwrap();
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&probe).is_err() {
        return Some(Vec::new());
    }
    let setpriv = ["--reuid=65534", "--regid=65534", "--clear-groups"];
    let works = Command::new("setpriv")
        .args(setpriv)
        .arg("true")
        .status()
        .is_ok_and(|s| s.success());
    if !works {
        println!("SKIPPED {test}: running as root and setpriv cannot drop privileges");
        return None;
    }
    // The unprivileged user must reach the case's folder.
    std::fs::set_permissions(case.root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    Some([vec!["setpriv"], setpriv.to_vec()].concat())
}

#[test]
fn unreadable_files_and_folders_are_named() {
    let case = Case::new();
    let Some(wrapper) = unprivileged(&case, "unreadable_files_and_folders_are_named") else {
        return;
    };
    let frames = good_set(&case.raw());
    for path in [case.raw(), case.settings()] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    for frame in &frames {
        std::fs::set_permissions(frame, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    std::fs::set_permissions(&frames[2], std::fs::Permissions::from_mode(0o000)).unwrap();
    let mut problems = check(
        "unreadable file",
        &case,
        &case.raw(),
        &[],
        &wrapper,
        fails("bias2.fits", "Permission denied"),
    );
    std::fs::set_permissions(&frames[2], std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(case.raw(), std::fs::Permissions::from_mode(0o000)).unwrap();
    problems.extend(check(
        "unreadable folder",
        &case,
        &case.raw(),
        &[],
        &wrapper,
        fails("raw", "Permission denied"),
    ));
    std::fs::set_permissions(case.raw(), std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

fn stack_into(case: &Case, wrapper: &[&str], extra: &[&str]) -> Output {
    let (raw, settings, out) = (case.raw(), case.settings(), case.out());
    let mut args: Vec<&OsStr> = vec![
        OsStr::new("stack"),
        raw.as_os_str(),
        OsStr::new("--settings"),
        settings.as_os_str(),
        OsStr::new("-o"),
        out.as_os_str(),
    ];
    args.extend(extra.iter().map(OsStr::new));
    run(wrapper, &args)
}

#[test]
fn a_read_only_output_folder_gets_nothing_and_says_why() {
    let case = Case::new();
    let Some(wrapper) = unprivileged(&case, "a_read_only_output_folder_gets_nothing_and_says_why")
    else {
        return;
    };
    good_set(&case.raw());
    std::fs::create_dir(case.out()).unwrap();
    std::fs::set_permissions(case.out(), std::fs::Permissions::from_mode(0o555)).unwrap();
    let output = stack_into(&case, &wrapper, &[]);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("cannot write into")
            && text.contains("Permission denied")
            && text.contains("out"),
        "{text}"
    );
    assert!(common::listing(&case.out()).is_empty());
}

#[test]
fn a_full_disk_leaves_no_partial_file_and_the_previous_product_untouched() {
    let case = Case::new();
    good_set(&case.raw());
    let first = stack_into(&case, &[], &[]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let product = case.out().join(&common::listing(&case.out())[0]);
    let before = std::fs::read(&product).unwrap();

    // The write fails part-way: a file-size limit of 8 KiB (the product is ~60 KiB) makes
    // cfitsio's writes fail as a full disk would; SIGXFSZ is ignored so the write
    // returns an error instead of killing the process.
    let limited = ["sh", "-c", "ulimit -f 16; trap '' XFSZ; exec \"$0\" \"$@\""];
    let output = stack_into(&case, &limited, &["--overwrite"]);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("the partial file was removed"), "{text}");
    assert_eq!(
        common::listing(&case.out()).len(),
        2,
        "the first run's product and QC plot only: {:?}",
        common::listing(&case.out())
    );
    assert_eq!(
        std::fs::read(&product).unwrap(),
        before,
        "the previous product is untouched"
    );

    // A real small file system, where mounting one is allowed: refused before writing.
    let small = case.root.path().join("small");
    std::fs::create_dir(&small).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=16k", "tmpfs"])
        .arg(&small)
        .output()
        .is_ok_and(|o| o.status.success());
    if !mounted {
        println!("SKIPPED the tmpfs half of the full-disk test: cannot mount a tmpfs here");
        return;
    }
    let (raw, settings) = (case.raw(), case.settings());
    let output = run(
        &[],
        &[
            OsStr::new("stack"),
            raw.as_os_str(),
            OsStr::new("--settings"),
            settings.as_os_str(),
            OsStr::new("-o"),
            small.as_os_str(),
        ],
    );
    let left = common::listing(&small);
    let _ = Command::new("umount").arg(&small).status();
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("not enough space"), "{text}");
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn header_values_cannot_move_the_product_out_of_its_folder() {
    let case = Case::new();
    for frame in good_set(&case.raw()) {
        edit_card(&frame, "DATE-OBS", "DATE-OBS= '25/02/23'");
    }
    let output = stack_into(&case, &[], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        common::listing(&case.out()),
        [
            "250223_1X1_MBIAS_TESTCAM.fits",
            "250223_1X1_MBIAS_TESTCAM_BIAS_DISTRIBUTION_QC_PLOT.svg"
        ]
    );
    assert_eq!(
        common::listing(case.root.path()),
        ["out", "raw", "settings.yaml"]
    );
}

#[test]
fn qc_of_something_that_is_not_a_product_is_refused() {
    let case = Case::new();
    let frame = u16_frame(&case.raw(), 0);
    let empty = case.raw().join("empty.fits");
    std::fs::write(&empty, b"").unwrap();
    for (path, says) in [
        (frame, "not a master-bias product"),
        (empty, "empty file"),
        (case.raw().join("gone.fits"), "No such file"),
    ] {
        let output = run(&[], &[OsStr::new("qc"), path.as_os_str()]);
        let text = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{text}");
        assert!(
            text.contains(path.file_name().unwrap().to_str().unwrap()) && text.contains(says),
            "{text}"
        );
    }
}
