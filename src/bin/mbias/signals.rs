//! The signals that ask mbias to stop, shared by both front ends: the command line ends
//! at once on them, the console turns them into messages and restores the terminal.

/// Ctrl-C outside raw mode, `kill`, a closed ssh session.
pub const STOP_SIGNALS: [i32; 3] = [SIGINT, SIGTERM, SIGHUP];

pub use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
