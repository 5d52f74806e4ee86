//! The console as an operator uses it: the real binary in a pseudo-terminal, keys typed,
//! the screen read back through a terminal emulator (vt100).

mod common;

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

/// Generous: CI machines are loaded, and every wait ends as soon as its condition holds.
const LONG: Duration = Duration::from_secs(60);
const ROWS: NonZeroU16 = NonZeroU16::new(40).unwrap();
const COLS: NonZeroU16 = NonZeroU16::new(120).unwrap();

struct Console {
    screen: Arc<Mutex<vt100::Parser>>,
    output: Arc<Mutex<Vec<u8>>>,
    updates: Receiver<()>,
    input: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
}

impl Console {
    fn start(args: &[&str], cwd: &Path) -> Console {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: ROWS.get(),
                cols: COLS.get(),
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("a pseudo-terminal");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_mbias"));
        cmd.args(args);
        cmd.cwd(cwd);
        cmd.env("TERM", "xterm-256color");
        cmd.env("XDG_CONFIG_HOME", "/nonexistent-mbias-test-config");
        cmd.env("MBIAS_HISTORY", "off");
        cmd.env_remove("MBIAS_SETTINGS");
        cmd.env_remove("NO_COLOR");
        let child = pty.slave.spawn_command(cmd).expect("mbias starts");
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().unwrap();
        let input = pty.master.take_writer().unwrap();
        let screen = Arc::new(Mutex::new(vt100::Parser::new(ROWS, COLS, 0)));
        let output = Arc::new(Mutex::new(Vec::new()));
        let (tx, updates) = mpsc::channel();
        let (s, o) = (screen.clone(), output.clone());
        std::thread::spawn(move || {
            let _keep_master_open = pty.master;
            let mut buf = [0u8; 65536];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                s.lock().unwrap().process(&buf[..n]);
                o.lock().unwrap().extend_from_slice(&buf[..n]);
                if tx.send(()).is_err() {
                    break;
                }
            }
        });
        Console {
            screen,
            output,
            updates,
            input,
            child,
        }
    }

    fn text(&self) -> String {
        self.screen.lock().unwrap().screen().contents()
    }

    /// Waits until the screen satisfies `ready`, failing after `limit` with the screen shown.
    fn wait_for(&self, what: &str, limit: Duration, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let text = self.text();
            if ready(&text) {
                return text;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "timed out waiting for {what}; screen:\n{text}"
            );
            let _ = self
                .updates
                .recv_timeout(left.min(Duration::from_millis(200)));
        }
    }

    /// Waits for the console to end. Its exit closes the terminal: the reader sees the
    /// end of the output only after the last byte the console wrote (the restored
    /// screen), so the screen is complete when this returns.
    fn wait_exit(&mut self, limit: Duration) -> portable_pty::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.updates.recv_timeout(left) {
                Ok(()) => continue,
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    panic!("mbias did not quit; screen:\n{}", self.text())
                }
            }
        }
        // The terminal is closed; the process is ending or has ended.
        loop {
            if let Some(status) = self.child.try_wait().expect("the child's status") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "mbias closed its terminal but did not exit"
            );
            std::thread::yield_now();
        }
    }

    /// The screen is as the console found it: main screen, cursor, no mouse capture.
    fn assert_restored(&self) {
        let screen = self.screen.lock().unwrap();
        assert!(
            !screen.screen().alternate_screen(),
            "left the alternate screen"
        );
        assert!(!screen.screen().hide_cursor(), "cursor shown again");
        let output = String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned();
        assert!(
            output.contains("\x1b[?1000l") || output.contains("\x1b[?1006l"),
            "mouse capture released"
        );
    }

    fn keys(&mut self, keys: &str) {
        self.input.write_all(keys.as_bytes()).unwrap();
        self.input.flush().unwrap();
    }
}

/// The console on `dir/raw` (testcam frames, with `dir/settings.yaml` defining testcam),
/// writing into `out`.
fn testcam_console(dir: &Path, out: &Path) -> Console {
    let settings = dir.join("settings.yaml");
    std::fs::write(&settings, common::testcam::SETTINGS).unwrap();
    Console::start(
        &[
            dir.join("raw").to_str().unwrap(),
            "--settings",
            settings.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
        dir,
    )
}

/// Five testcam frames in `dir/raw`, and the console on them (writing into `out`) with
/// all five selected and stacked.
fn testcam_stacked(dir: &Path, out: &Path) -> Console {
    let raw = dir.join("raw");
    std::fs::create_dir(&raw).unwrap();
    for i in 0..5 {
        common::testcam::u16_frame(&raw, i);
    }
    let mut console = testcam_console(dir, out);
    console.wait_for("every row verified", LONG, |s| {
        s.matches('✓').count() == 5 && !s.contains("reading")
    });
    console.keys("a");
    console.wait_for("the selection", LONG, |s| s.contains("✓ 5 bias frame(s)"));
    console.keys("s");
    console.wait_for("the stack", LONG, |s| s.contains("stacked in"));
    console
}

fn qc_value(screen: &str, name: &str) -> String {
    let line = screen
        .lines()
        .find(|l| l.contains(name))
        .unwrap_or_default();
    let after = &line[line.find(name).map_or(0, |i| i + name.len())..];
    after
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
#[ignore = "needs ../shared (the soxspipe oracle data); .ci/run includes it when present"]
fn operator_session_on_the_oracle_frames() {
    let shared = common::shared();
    let raw = shared.join("oracle/soxs-vis-7/raw");
    let out = tempfile::tempdir().unwrap();
    let mut console = Console::start(
        &[raw.to_str().unwrap(), "-o", out.path().to_str().unwrap()],
        out.path(),
    );
    let long = LONG;

    console.wait_for("all seven frames validated", long, |s| {
        s.matches('✓').count() >= 7 && s.contains("SOXS.2025-10-10T09:21:45.000.fits.gz")
    });
    console.keys("a");
    console.wait_for("the selection verdict", long, |s| {
        s.contains("✓ 7 bias frame(s), soxs-vis 1x1")
    });
    console.keys("s");
    let screen = console.wait_for("the QC table", long, |s| {
        s.contains("stacked in") && s.contains("BADPIX NUM")
    });
    // soxspipe 0.19 wrote MBIAS MEDIAN = 1120.1291814813928 with its defaults; the console
    // shows four decimals.
    assert_eq!(qc_value(&screen, "MBIAS MEDIAN"), "1120.1292", "{screen}");
    let badpix = qc_value(&screen, "BADPIX NUM");
    assert_eq!(badpix, "19327", "{screen}");

    // Tab to the parameters (stack σ is first), one step up: the console re-stacks by itself.
    console.keys("\t");
    console.wait_for("the parameters pane focused", long, |s| {
        s.contains("▶ stack σ")
    });
    let pressed = Instant::now();
    console.keys("\x1b[C");
    let screen = console.wait_for("the re-stacked QC", long, |s| {
        s.contains("stack 4.1σ×3") && !s.contains("updating") && qc_value(s, "BADPIX NUM") != badpix
    });
    println!(
        "live re-stack: key press to redrawn QC in {} ms (BADPIX NUM {badpix} → {})",
        pressed.elapsed().as_millis(),
        qc_value(&screen, "BADPIX NUM")
    );

    console.keys("w");
    let product = out.path().join("20251010T091927_VIS_1X1_1_MBIAS_SOXS.fits");
    console.wait_for("the product written", long, |s| s.contains("wrote "));
    assert!(product.is_file());
    console.keys("S");
    console.wait_for("the settings saved", long, |s| {
        s.contains("wrote ") && s.contains("mbias-settings.yaml")
    });

    console.keys("q");
    assert!(console.wait_exit(long).success());
    console.assert_restored();

    // The saved settings reproduce the tuned product from the command line.
    let again = out.path().join("again");
    let run = common::mbias(&[
        "stack",
        raw.to_str().unwrap(),
        "--settings",
        out.path().join("mbias-settings.yaml").to_str().unwrap(),
        "-o",
        again.to_str().unwrap(),
        "--no-plot",
    ]);
    assert!(run.status.success(), "{}", common::stderr(&run));
    assert_eq!(
        cards_but_dates(&again.join(product.file_name().unwrap())),
        cards_but_dates(&product)
    );
}

#[test]
fn signals_and_ctrl_c_restore_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("empty.fits"), b"").unwrap();
    let long = LONG;
    for (signal, status) in [("TERM", 143), ("INT", 130), ("HUP", 129)] {
        let mut console = Console::start(&[dir.path().to_str().unwrap()], dir.path());
        console.wait_for("the folder listed", long, |s| {
            s.contains("empty.fits") && s.contains("empty file")
        });
        let pid = console.child.process_id().expect("the child's pid");
        let kill = std::process::Command::new("kill")
            .args([format!("-{signal}"), pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(kill.success());
        assert_eq!(console.wait_exit(long).exit_code(), status, "SIG{signal}");
        console.assert_restored();
    }
    // Ctrl-C in raw mode is a key, not a signal: the console quits on it at once, with
    // the status SIGINT would have given.
    let mut console = Console::start(&[dir.path().to_str().unwrap()], dir.path());
    console.wait_for("the folder listed", long, |s| s.contains("empty.fits"));
    console.keys("\x03");
    assert_eq!(console.wait_exit(long).exit_code(), 130, "Ctrl-C");
    console.assert_restored();
}

#[test]
fn bad_files_are_marked_in_their_rows_and_the_console_stays_usable() {
    use std::os::unix::ffi::OsStrExt;

    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    std::fs::create_dir(&raw).unwrap();
    for i in 0..5 {
        common::testcam::u16_frame(&raw, i);
    }
    std::fs::write(raw.join("empty.fits"), b"").unwrap();
    std::fs::write(raw.join("notes.fits"), "observing log\n").unwrap();
    std::os::unix::fs::symlink("loop.fits", raw.join("loop.fits")).unwrap();
    let bytes = std::fs::read(raw.join("bias0.fits")).unwrap();
    std::fs::write(raw.join("cut.fits"), &bytes[..4000]).unwrap();
    let odd = std::ffi::OsStr::from_bytes(b"odd-\xff.fits");
    std::fs::write(raw.join(odd), &bytes).unwrap();
    let fifo = std::process::Command::new("mkfifo")
        .arg(raw.join("pipe.fits"))
        .status()
        .is_ok_and(|s| s.success());
    // The output folder cannot be made: a file stands where its parent should be.
    std::fs::write(dir.path().join("blocked"), b"").unwrap();
    let mut console = testcam_console(dir.path(), &dir.path().join("blocked/out"));
    let long = LONG;
    let row = |screen: &str, name: &str| {
        screen
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_default()
            .to_string()
    };
    // The screen is read while the console writes it, so a wait names the whole state it
    // expects: a half-drawn frame never satisfies it. Rows without a verdict say
    // "reading…", and so does the title while the scan runs.
    let mut expected = vec![
        ("empty.fits", "empty file"),
        ("notes.fits", "not a FITS file"),
        ("loop.fits", "Too many levels"),
        ("cut.fits", "truncated"),
        ("odd-", "UTF-8"),
    ];
    if fifo {
        expected.push(("pipe.fits", "not a regular file"));
    }
    console.wait_for("every row's verdict", long, |s| {
        !s.contains("reading")
            && s.matches('✓').count() == 5
            && expected.iter().all(|(name, reason)| {
                let line = row(s, name);
                line.contains('✗') && line.contains(reason)
            })
    });

    console.keys("a");
    console.wait_for("the selection verdict", long, |s| {
        s.contains("✓ 5 bias frame(s)")
    });
    console.keys("s");
    console.wait_for("the stack", long, |s| s.contains("stacked in"));
    console.keys("w");
    console.wait_for("the write refused, naming the folder", long, |s| {
        row(s, "cannot create output folder").contains("blocked")
    });
    // Still usable: help opens and closes, and q quits cleanly.
    console.keys("?");
    console.wait_for("the help", long, |s| s.contains("Ctrl-C"));
    console.keys("\x1b");
    // Esc and q sent together would read as Alt-q.
    console.wait_for("the help closed", long, |s| !s.contains("Ctrl-C"));
    console.keys("q");
    assert!(console.wait_exit(long).success());
    console.assert_restored();
}

#[test]
fn the_master_written_is_the_selection_on_screen() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut console = testcam_stacked(dir.path(), &out);

    // Enter and → on a frame leave the selection alone; Space unselects bias0 (the first
    // entry after the parent folder), and w at once either refuses the old master or
    // writes the re-stacked one, never the old.
    console.keys("j");
    console.keys("\r");
    console.keys("\x1b[C");
    console.wait_for("the hint for Space", LONG, |s| s.contains("Space selects"));
    assert!(console.text().contains(" 5 selected"));
    console.keys(" ");
    console.keys("w");
    let screen = console.wait_for("the re-stack, or the write of it", LONG, |s| {
        s.contains(" 4 selected") && (s.contains("stacked in") || s.contains("wrote "))
    });
    if !screen.contains("wrote ") {
        console.keys("w");
        console.wait_for("the product written", LONG, |s| s.contains("wrote "));
    }
    let products: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "fits"))
        .collect();
    assert_eq!(products.len(), 1, "{products:?}");
    let header = mbias::fits::read_frame_header(&products[0])
        .unwrap()
        .primary;
    let raws: Vec<String> = (1..=5)
        .filter_map(|i| header.text(&format!("ESO PRO REC1 RAW{i} NAME")))
        .collect();
    assert_eq!(raws.len(), 4, "{raws:?}");
    assert!(raws.iter().all(|r| !r.contains("bias0")), "{raws:?}");

    console.keys("q");
    assert!(console.wait_exit(LONG).success());
    console.assert_restored();
}

#[test]
fn the_demo_writes_where_the_user_asked_and_says_what_it_removed() {
    let cwd = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut console = Console::start(&["demo", "-o", out.path().to_str().unwrap()], cwd.path());
    let long = LONG;
    console.wait_for("the night listed and verified", long, |s| {
        s.matches('✓').count() >= 3 && s.contains("nothing selected")
    });
    console.keys("a");
    console.wait_for("a stackable selection", long, |s| {
        s.contains("bias frame(s), soxs-vis")
    });
    console.keys("s");
    console.wait_for("the stack", long, |s| s.contains("stacked in"));
    console.keys("w");
    console.wait_for("the product written", long, |s| s.contains("wrote "));
    let written: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .ends_with("_MBIAS_SOXS.fits")
        })
        .collect();
    assert_eq!(written.len(), 1, "the product is in the -o folder");
    console.keys("q");
    assert!(console.wait_exit(long).success());
    console.assert_restored();
    let said = String::from_utf8_lossy(&console.output.lock().unwrap()).into_owned();
    assert!(
        said.contains("removed the demo's simulated frames")
            && said.contains(&out.path().display().to_string()),
        "{said}"
    );
    assert!(
        out.path().read_dir().unwrap().count() >= 1,
        "the output folder stays"
    );
}

/// The header cards of every HDU of a FITS file, but those that say when it was written
/// (DATE, SXSPRE, and the CHECKSUM that covers them): two runs on the same data compare
/// equal.
fn cards_but_dates(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap();
    bytes
        .chunks(80)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .filter(|c| c.starts_with(|ch: char| ch.is_ascii_uppercase()) && c.contains('='))
        .filter(|c| {
            !["DATE ", "SXSPRE ", "CHECKSUM"]
                .iter()
                .any(|k| c.starts_with(k))
        })
        .collect()
}

#[test]
fn settings_saved_with_capital_s_reproduce_the_product() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    // A folder that does not exist yet: `w` and `S` create it.
    let out = dir.path().join("night").join("out");
    let mut console = testcam_stacked(dir.path(), &out);
    // Tuned: stack σ one step down, frame σ one step up.
    console.keys("\t");
    console.wait_for("the parameters pane", LONG, |s| s.contains("▶ stack σ"));
    console.keys("\x1b[D");
    console.keys("jj\x1b[C");
    console.wait_for("the tuned re-stack", LONG, |s| {
        s.contains("stack 3.9σ×3 frame 3.1σ") && !s.contains("updating")
    });
    console.keys("w");
    console.wait_for("the product written", LONG, |s| s.contains("wrote "));
    console.keys("S");
    let saved = out.join("mbias-settings.yaml");
    let screen = console.wait_for("the settings saved", LONG, |s| {
        s.contains("mbias-settings.yaml")
    });
    assert!(
        screen.contains(&out.display().to_string()[..20]),
        "the path is shown absolute: {screen}"
    );
    assert!(saved.is_file());
    console.keys("q");
    assert!(console.wait_exit(LONG).success());

    let products: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "fits"))
        .collect();
    assert_eq!(products.len(), 1, "{products:?}");
    let again = dir.path().join("again");
    let run = common::mbias(&[
        "stack",
        raw.to_str().unwrap(),
        "--settings",
        saved.to_str().unwrap(),
        "-o",
        again.to_str().unwrap(),
        "--no-plot",
    ]);
    assert!(run.status.success(), "{}", common::stderr(&run));
    let name = products[0].file_name().unwrap();
    assert_eq!(
        cards_but_dates(&again.join(name)),
        cards_but_dates(&products[0]),
        "the saved settings give the same product, data sums and QC included"
    );
}

#[test]
fn the_pixel_stack_inspector_and_a_typed_pixel_in_a_real_session() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut console = testcam_stacked(dir.path(), &out);
    // To the results, the Preview, pixel (3, 4) typed, the inspector.
    console.keys("\t\t3g3 4\rp");
    let screen = console.wait_for("the inspector", LONG, |s| {
        s.contains("Pixel stack x 3 y 4") && s.contains("round 1: centre")
    });
    assert!(screen.contains("x 3 y 4 "), "{screen}");
    assert!(screen.matches(".fits").count() >= 5, "{screen}");
    // The Defects tab and back; q quits (the master is the untuned one).
    console.keys("6");
    console.wait_for("the defects tab", LONG, |s| {
        s.contains("bad pixels") || s.contains("no bad pixel")
    });
    console.keys("q");
    console.wait_exit(LONG);
    console.assert_restored();
}
