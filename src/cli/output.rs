//! Text rendering shared by the subcommands, and progress on stderr.

use std::io::IsTerminal;

use mbias::progress::{Reporter, Stage};
use mbias::qc::{FrameQcValues, QcReport};
use mbias::verify::Verification;

/// Progress on stderr, only when stderr is a terminal (scripts get clean output).
pub fn progress() -> Reporter<impl Fn(Stage) + Sync> {
    let tty = std::io::stderr().is_terminal();
    Reporter::new(move |stage: Stage| {
        if tty {
            eprint!("\r\x1b[2K{stage}");
            if matches!(stage, Stage::Writing) {
                eprint!("\r\x1b[2K");
            }
        }
    })
}

pub fn clear_progress() {
    if std::io::stderr().is_terminal() {
        eprint!("\r\x1b[2K");
    }
}

pub fn print_findings(v: &Verification) {
    for line in &v.summary {
        println!("set: {line}");
    }
    for finding in &v.findings {
        println!("{finding}");
    }
}

fn format_value(v: f64, integer: bool) -> String {
    if integer {
        format!("{}", v as i64)
    } else if v.is_finite() && v.abs() >= 1e-3 && v.abs() < 1e6 || v == 0.0 {
        format!("{v:.6}")
    } else {
        format!("{v:.6e}")
    }
}

/// The QC table: value, unit, acceptable range, verdict (words, not only colour).
pub fn qc_table(report: &QcReport) -> String {
    let mut out = format!(
        "{:<14} {:>16} {:<8} {:<16} {}\n",
        "QC", "value", "unit", "range", "status"
    );
    for v in &report.values {
        let range = v
            .range
            .map(|r| format!("({}, {})", r.low, r.high))
            .unwrap_or_else(|| "-".into());
        let status = match v.pass {
            Some(true) => "pass",
            Some(false) => "FAIL",
            None => "-",
        };
        out.push_str(&format!(
            "{:<14} {:>16} {:<8} {:<16} {}\n",
            v.name,
            format_value(v.value, v.integer),
            v.unit,
            range,
            status
        ));
    }
    out
}

/// Per-frame level and stack-rejected fraction, in observing order: a frame whose level
/// stands apart or whose rejected share is far above the others' is the one to look at.
pub fn frame_table(frames: &[FrameQcValues]) -> String {
    let width = frames
        .iter()
        .map(|f| f.name.len())
        .max()
        .unwrap_or(0)
        .max("frame".len());
    let mut out = format!(
        "{:<width$} {:>16} {:>10}\n",
        "frame", "level e-", "rejected"
    );
    for f in frames {
        out.push_str(&format!(
            "{:<width$} {:>16} {:>8.3} %\n",
            f.name,
            format_value(f.level, false),
            100.0 * f.rejected_fraction
        ));
    }
    out
}
