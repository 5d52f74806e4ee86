//! The terminal after a panic, checked in a real pseudo-terminal: this test binary runs
//! itself again as the child, whose only test panics inside a terminal session.

use std::io::Read;

use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use rustix::termios::LocalModes;

const CHILD: &str = "console::terminal_tests::panic_inside_a_terminal_session";
const MARK: &str = "terminal after the panic:";

/// Set by [`a_panic_restores_the_terminal`] for its child alone.
const CHILD_ENV: &str = "MBIAS_TEST_PANIC_CHILD";

/// The child: panics inside [`super::in_terminal`], then reports the line discipline.
/// It needs the pseudo-terminal its parent gives it, so anywhere else (a plain
/// `cargo test`, or one with `--include-ignored`) it does nothing.
#[test]
fn panic_inside_a_terminal_session() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let outcome = std::panic::catch_unwind(|| {
        super::in_terminal(|terminal| -> std::io::Result<()> {
            // A drawn frame hides the cursor, as the console's first frame does.
            terminal.draw(|frame| frame.render_widget("drawn", frame.area()))?;
            panic!("forced panic for the test")
        })
    });
    assert!(outcome.is_err(), "the body panicked");
    let modes = rustix::termios::tcgetattr(std::io::stdin())
        .expect("stdin is the pseudo-terminal")
        .local_modes;
    println!(
        "{MARK} canonical={} echo={}",
        modes.contains(LocalModes::ICANON),
        modes.contains(LocalModes::ECHO)
    );
}

#[test]
fn a_panic_restores_the_terminal() {
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 24,
            cols: 80,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("a pseudo-terminal");
    let mut cmd = CommandBuilder::new(std::env::current_exe().expect("the test binary"));
    cmd.args([CHILD, "--exact", "--nocapture", "--test-threads=1"]);
    cmd.env("TERM", "xterm-256color");
    cmd.env(CHILD_ENV, "1");
    let mut child = pty.slave.spawn_command(cmd).expect("the child starts");
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().expect("a reader");
    let mut output = Vec::new();
    let mut buffer = [0u8; 4096];
    // Until the child's side closes (EOF or EIO, depending on the platform).
    while let Ok(n) = reader.read(&mut buffer) {
        if n == 0 {
            break;
        }
        output.extend_from_slice(&buffer[..n]);
    }
    child.wait().expect("the child ends");
    let text = String::from_utf8_lossy(&output);
    let entered = text
        .find("\x1b[?1049h")
        .expect("entered the alternate screen");
    let left = text
        .rfind("\x1b[?1049l")
        .expect("left the alternate screen");
    assert!(entered < left, "{text:?}");
    let hidden = text.rfind("\x1b[?25l").expect("the frame hid the cursor");
    assert!(
        text[hidden..].contains("\x1b[?25h"),
        "cursor shown again: {text:?}"
    );
    assert!(
        text[entered..].contains("\x1b[?1000l") || text[entered..].contains("\x1b[?1006l"),
        "mouse capture released"
    );
    assert!(
        text.contains("forced panic for the test"),
        "the panic message is shown: {text:?}"
    );
    assert!(
        text.contains(&format!("{MARK} canonical=true echo=true")),
        "raw mode is off again: {text:?}"
    );
}
