//! Text rendering shared by the subcommands, the one way they write to standard output,
//! and progress on stderr.

use std::io::IsTerminal;

use mbias::params::QcRange;
use mbias::progress::{Reporter, Stage};
use mbias::qc::{AmplifierQc, FrameQcValues, QcOrigin, QcValue};
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

/// `print!` that returns the write's error instead of panicking, so that a reader gone
/// away (`| head -1`) ends the command quietly (see [`super::run`]).
macro_rules! out {
    ($($arg:tt)*) => {
        std::io::Write::write_fmt(&mut std::io::stdout().lock(), format_args!($($arg)*))
    };
}

/// `println!` that returns the write's error instead of panicking, as [`out!`].
macro_rules! outln {
    () => {
        $crate::cli::output::out!("\n")
    };
    ($($arg:tt)*) => {
        $crate::cli::output::out!("{}\n", format_args!($($arg)*))
    };
}

pub(crate) use {out, outln};

pub fn print_findings(v: &Verification) -> std::io::Result<()> {
    for line in &v.summary {
        outln!("set: {line}")?;
    }
    for finding in &v.findings {
        outln!("{finding}")?;
    }
    Ok(())
}

/// A value as the QC tables print it: integers whole, others to six places (in
/// scientific notation where that would hide them).
pub fn format_value(v: f64, integer: bool) -> String {
    if integer {
        format!("{}", v as i64)
    } else if v.is_finite() && v.abs() >= 1e-3 && v.abs() < 1e6 || v == 0.0 {
        format!("{v:.6}")
    } else {
        format!("{v:.6e}")
    }
}

/// One row of the QC table: a value computed now (`mbias stack`) or read back from a
/// product (`mbias qc`), with its acceptable range and verdict.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct QcRow<'a> {
    pub name: &'a str,
    pub origin: QcOrigin,
    pub value: f64,
    pub unit: &'a str,
    pub integer: bool,
    pub range: Option<QcRange>,
    pub pass: Option<bool>,
}

impl<'a> From<&'a QcValue> for QcRow<'a> {
    fn from(v: &'a QcValue) -> QcRow<'a> {
        QcRow {
            name: v.name,
            origin: v.origin,
            value: v.value,
            unit: v.unit,
            integer: v.integer,
            range: v.range,
            pass: v.pass,
        }
    }
}

/// The QC table: value, unit, acceptable range, verdict (words, not only colour). The
/// one rendering of it, so that `mbias stack` and `mbias qc` print the same lines.
pub fn qc_table<'a>(rows: impl IntoIterator<Item = QcRow<'a>>) -> String {
    let mut out = format!(
        "{:<14} {:>16} {:<8} {:<16} {}\n",
        "QC", "value", "unit", "range", "status"
    );
    for v in rows {
        let range = v
            .range
            .map(|r| format!("({}, {})", r.low(), r.high()))
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

/// `OUTi` and the amplifier's own name, once where the name is `OUTi` itself.
fn amplifier_label(a: &AmplifierQc) -> String {
    let out = format!("OUT{}", a.index);
    if a.name.eq_ignore_ascii_case(&out) {
        out
    } else {
        format!("{out} {}", a.name)
    }
}

/// Per amplifier: level, overscan level and drift (ADU), read noise in the data and the
/// overscan and their ratio (e-), the step from the amplifier before, the gradients along
/// x and y (e- per pixel). A dash where the
/// amplifier has no overscan strip or the set a single frame.
pub fn amplifier_table(amps: &[AmplifierQc]) -> String {
    let cell =
        |v: Option<f64>, digits: usize| v.map_or("—".to_string(), |v| format!("{v:.digits$}"));
    let slope = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:+.2e}"));
    let mut out = format!(
        "{:<8} {:>10} {:>10} {:>9} {:>8} {:>9} {:>6} {:>8} {:>10} {:>10}\n",
        "amp",
        "level ADU",
        "ovsc ADU",
        "drift",
        "RON e-",
        "ovsc RON",
        "ratio",
        "step",
        "grad x",
        "grad y"
    );
    for a in amps {
        out.push_str(&format!(
            "{:<8} {:>10} {:>10} {:>9} {:>8} {:>9} {:>6} {:>8} {:>10} {:>10}\n",
            amplifier_label(a),
            cell(Some(a.level), 2),
            cell(a.overscan_level, 2),
            cell(a.overscan_drift, 2),
            cell(a.ron, 3),
            cell(a.overscan_ron, 3),
            cell(a.ron_ratio, 2),
            cell(a.step, 2),
            slope(a.gradient_x),
            slope(a.gradient_y),
        ));
    }
    out
}
