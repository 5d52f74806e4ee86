//! `mbias validate`: header checks only, as text or JSON.

use std::path::{Path, PathBuf};

use mbias::verify::Verification;

use super::output::outln;
use super::{CommandResult, Status, night, output};

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Folders, SOF files or frames.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Print the findings as JSON.
    #[arg(long)]
    json: bool,
    /// Check each setup (detector and arm, binning, read-out mode, gain) as a set of its
    /// own, as `stack --group` would stack it; files that are no bias are left out.
    #[arg(long)]
    group: bool,
    #[command(flatten)]
    settings: super::SettingsArgs,
}

fn status(verification: &Verification) -> Status {
    if verification.has_errors() {
        Status::InputError
    } else {
        Status::Success
    }
}

/// The JSON report of one set.
fn doc(files: &[PathBuf], verification: &Verification) -> serde_json::Value {
    let frames: Vec<_> = files
        .iter()
        .map(|f| {
            let worst = verification.for_file(f).map(|x| x.severity).max();
            serde_json::json!({ "file": f, "worst": worst })
        })
        .collect();
    let plans = verification.plans();
    let mut doc = serde_json::json!({
        "ok": !verification.has_errors(),
        "frames": frames,
        "summary": verification.summary,
        "findings": verification.findings,
        "profile": plans.first().map(|p| p.profile.name.as_str()),
    });
    if !verification.extensions.is_empty() {
        let names: Vec<_> = plans.iter().map(|p| &p.extension).collect();
        doc["extensions"] = serde_json::json!(names);
    }
    doc
}

/// The text report of one set, with the bad-pixel map each image would use.
fn print(verification: &Verification, static_calibrations: Option<&Path>) -> std::io::Result<()> {
    output::print_findings(verification)?;
    let plans = verification.plans();
    if plans.is_empty() {
        outln!("not stackable: {} problem(s)", verification.error_count())?;
    }
    for plan in plans {
        outln!("ok: {plan}")?;
        if let Some(note) = mbias::load::bad_pixel_map_note(plan, static_calibrations) {
            outln!("    {note}")?;
        }
    }
    Ok(())
}

pub fn run(args: &ValidateArgs) -> CommandResult {
    let choice = night::choice(night::Select::All, args.group);
    let settings = args.settings.load()?;
    let night = mbias::night::plan(&args.inputs, &settings, choice)?;
    let static_calibrations = settings.static_calibrations.as_deref();
    if !args.group {
        let Some(set) = night.batches.first() else {
            return Ok(Status::InputError);
        };
        if args.json {
            let doc = doc(&set.inputs.files, &set.verification);
            outln!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default())?;
        } else {
            print(&set.verification, static_calibrations)?;
        }
        return Ok(status(&set.verification));
    }
    // Grouped: each setup on its own; the worst group decides the exit status.
    let worst = night.batches.iter().map(|b| status(&b.verification)).fold(
        if night.batches.is_empty() {
            Status::InputError
        } else {
            Status::Success
        },
        night::worse,
    );
    if args.json {
        let groups: Vec<_> = night
            .batches
            .iter()
            .map(|b| {
                let mut doc = doc(&b.inputs.files, &b.verification);
                doc["setup"] = serde_json::json!(b.setup);
                doc
            })
            .collect();
        let doc = serde_json::json!({
            "ok": worst == Status::Success,
            "groups": groups,
            "left_out": night.left_out,
        });
        outln!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default())?;
        return Ok(worst);
    }
    night::print_left_out(&night.left_out)?;
    let total = night.batches.len();
    if total == 0 {
        outln!("no bias frames of any setup")?;
    }
    for (i, batch) in night.batches.iter().enumerate() {
        outln!("{}", night::group_heading(i, total, batch))?;
        print(&batch.verification, static_calibrations)?;
        outln!()?;
    }
    Ok(worst)
}
