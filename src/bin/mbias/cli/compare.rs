//! `mbias compare`: tonight's master bias against a reference master, and whether to use
//! it.

use std::path::PathBuf;

use mbias::compare::{Comparison, ImageComparison, QcDelta, Verdict};

use super::output::{format_value, out, outln};
use super::{CommandResult, SettingsArgs, Status};

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// Tonight's master-bias product (mbias's or soxspipe's).
    tonight: PathBuf,
    /// The reference master it should agree with (same detector set-up and layout);
    /// default: the reference of tonight's set-up certified in the QC history
    /// (`mbias history certify`).
    reference: Option<PathBuf>,
    #[command(flatten)]
    settings: SettingsArgs,
    /// The comparison as JSON: every statistic, the limits, the verdict and its reasons.
    #[arg(long)]
    json: bool,
    /// Exit with 3 when the verdict is reject; with `inspect`, also with 4 when it is
    /// inspect. The limits are the settings' mbias.compare-limits.
    #[arg(long, value_name = "VERDICT", value_enum)]
    fail_on: Option<FailOn>,
}

/// The least verdict that fails the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum FailOn {
    Inspect,
    Reject,
}

/// The exit status a verdict earns under `--fail-on`.
fn status(verdict: Verdict, fail_on: Option<FailOn>) -> Status {
    match (fail_on, verdict) {
        (Some(_), Verdict::Reject) => Status::QcOutOfRange,
        (Some(FailOn::Inspect), Verdict::Inspect) => Status::Inspect,
        _ => Status::Success,
    }
}

/// One line per image: how many pixels were compared and what their difference is.
fn difference_table(images: &[ImageComparison]) -> String {
    let mut out = format!(
        "{:<10} {:>10} {:>10} {:>10} {:>12} {:>12} {:>8} {:>8} {:>8} {:>8}\n",
        "image",
        "pixels",
        "mean e-",
        "std e-",
        "robust std",
        "max |diff|",
        "noise ×",
        "new bad",
        "gone bad",
        "growth"
    );
    for image in images {
        let d = &image.difference;
        out.push_str(&format!(
            "{:<10} {:>10} {:>10.3} {:>10.3} {:>12.3} {:>12.3} {:>8.3} {:>8} {:>8} {:>+7.1}%\n",
            image.name.as_deref().unwrap_or("FLUX"),
            d.count,
            d.mean,
            d.std,
            d.robust_std,
            d.max_abs,
            image.noise_ratio,
            image.new_bad_pixels,
            image.gone_bad_pixels,
            image.bad_pixel_growth * 100.0
        ));
    }
    out
}

/// The QC values both products carry: tonight's, the reference's, their difference.
fn qc_table(deltas: &[QcDelta]) -> String {
    let mut out = format!(
        "{:<16} {:>16} {:>16} {:>16}\n",
        "QC", "tonight", "reference", "difference"
    );
    for q in deltas {
        let integer = mbias::qc::definition(&q.name).is_some_and(|d| d.integer);
        out.push_str(&format!(
            "{:<16} {:>16} {:>16} {:>16}\n",
            q.name,
            format_value(q.tonight, integer),
            format_value(q.reference, integer),
            format_value(q.difference, integer)
        ));
    }
    out
}

fn print(comparison: &Comparison) -> std::io::Result<()> {
    outln!("tonight:   {}", comparison.tonight.display())?;
    outln!("reference: {}", comparison.reference.display())?;
    outln!()?;
    outln!("difference tonight − reference, over pixels good in both:")?;
    out!("{}", difference_table(&comparison.images))?;
    for image in comparison.images.iter().filter(|i| !i.qc.is_empty()) {
        outln!()?;
        match &image.name {
            Some(name) => outln!("ΔQC, extension {name}:")?,
            None => outln!("ΔQC:")?,
        }
        out!("{}", qc_table(&image.qc))?;
    }
    outln!()?;
    outln!("verdict: {}", comparison.verdict)?;
    for reason in &comparison.reasons {
        outln!("  {reason}")?;
    }
    Ok(())
}

pub fn run(args: &CompareArgs) -> CommandResult {
    let settings = args.settings.load()?;
    let reference = match &args.reference {
        Some(reference) => reference.clone(),
        None => {
            let history = super::history::location(&args.settings, &settings)?.open_existing()?;
            let detectors = settings.detectors();
            mbias::history::reference_for(&history, &args.tonight, &detectors)?
        }
    };
    let comparison =
        mbias::compare::compare(&args.tonight, &reference, &settings.compare_limits())?;
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&comparison).unwrap_or_default()
        )?;
    } else {
        print(&comparison)?;
    }
    Ok(status(comparison.verdict, args.fail_on))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_on_turns_verdicts_into_exit_statuses() {
        let cases = [
            (None, Verdict::Reject, Status::Success),
            (Some(FailOn::Reject), Verdict::Inspect, Status::Success),
            (Some(FailOn::Reject), Verdict::Reject, Status::QcOutOfRange),
            (Some(FailOn::Inspect), Verdict::Inspect, Status::Inspect),
            (Some(FailOn::Inspect), Verdict::Reject, Status::QcOutOfRange),
            (Some(FailOn::Inspect), Verdict::Accept, Status::Success),
        ];
        for (fail_on, verdict, expected) in cases {
            assert_eq!(status(verdict, fail_on), expected, "{fail_on:?} {verdict}");
        }
    }
}
